/* actuator.c - the back-end independent half of fp/actuator.h. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act_impl.h"

void fp_limits_unset(fp_limits *l)
{
    l->cpu_max_cores = l->cpu_weight_cores = FP_UNSET;
    l->mem_high_bytes = l->mem_max_bytes = FP_UNSET;
    l->io_read_Bps = l->io_write_Bps = FP_UNSET;
    l->pids_max = l->net_tx_Bps = FP_UNSET;
}

void fp_act_free(fp_actuator *a)
{
    if (a) a->ops->free(a);
}

const char *fp_act_name(const fp_actuator *a)
{
    return a->ops->name;
}

int fp_act_observe(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err)
{
    memset(o, 0, sizeof *o);
    o->mem_bytes = o->oom_kills = o->throttled_s = o->cpu_s = FP_UNSET;
    fp_limits_unset(&o->now);
    return a->ops->observe(a, tg, o, err);
}

int fp_act_plan(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                fp_plan *plan, fp_err *err)
{
    memset(plan, 0, sizeof *plan);
    snprintf(plan->backend, sizeof plan->backend, "%s", a->ops->name);
    return a->ops->plan(a, tg, want, plan, err);
}

int fp_act_commit(fp_actuator *a, const fp_plan *plan, fp_err *err)
{
    return a->ops->commit(a, plan, err);
}

int fp_plan_add(fp_plan *p, const char *knob, const char *value, const char *previous,
                const char *path, fp_err *err)
{
    if (p->n >= FP_CHANGES_MAX)
        return fp_err_set(err, FP_EUSAGE, "too many changes for one target (at most %d)",
                          FP_CHANGES_MAX);
    fp_change *c = &p->ch[p->n];
    memset(c, 0, sizeof *c);
    if ((size_t)snprintf(c->knob, sizeof c->knob, "%s", knob) >= sizeof c->knob ||
        (size_t)snprintf(c->value, sizeof c->value, "%s", value) >= sizeof c->value ||
        (size_t)snprintf(c->previous, sizeof c->previous, "%s", previous ? previous : "") >=
            sizeof c->previous ||
        (size_t)snprintf(c->path, sizeof c->path, "%s", path ? path : "") >= sizeof c->path)
        return fp_err_set(err, FP_EUSAGE, "change of %s does not fit a plan", knob);
    p->n++;
    return 0;
}

void fp_plan_unsupported(fp_plan *p, const char *limit, const char *fmt, ...)
{
    if (p->n_unsupported >= (int)(sizeof p->unsupported / sizeof *p->unsupported)) return;
    int i = p->n_unsupported++;
    snprintf(p->unsupported[i].limit, sizeof p->unsupported[i].limit, "%s", limit);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->unsupported[i].why, sizeof p->unsupported[i].why, fmt, ap);
    va_end(ap);
}

void fp_plan_invert(const fp_plan *p, fp_plan *out)
{
    fp_plan tmp = *p;          /* p and out may be the same */
    *out = tmp;
    out->n_unsupported = 0;
    /* the version a swarm plan was made against is stale once it is
     * applied: the inverse is checked against each change's previous value
     * (the value the plan set) instead */
    if (strcmp(tmp.backend, "swarm") == 0) out->token[0] = 0;
    for (int i = 0; i < tmp.n; i++) {
        const fp_change *src = &tmp.ch[tmp.n - 1 - i];
        fp_change *dst = &out->ch[i];
        *dst = *src;
        memcpy(dst->value, src->previous, sizeof dst->value);
        memcpy(dst->previous, src->value, sizeof dst->previous);
    }
}

json_t *fp_plan_changes_json(const fp_plan *p)
{
    json_t *a = json_array();
    for (int i = 0; a && i < p->n; i++) {
        const fp_change *c = &p->ch[i];
        json_t *o = json_pack("{s:s,s:s,s:s}", "knob", c->knob, "value", c->value,
                              "previous", c->previous);
        if (o && c->path[0]) json_object_set_new(o, "path", json_string(c->path));
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int copy_field(char *dst, size_t n, const json_t *o, const char *key, bool need,
                      fp_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (need) return fp_err_set(err, FP_EINPUT, "allocation record has no \"%s\"", key);
        dst[0] = 0;
        return 0;
    }
    if (!json_is_string(v))
        return fp_err_set(err, FP_EINPUT, "allocation field \"%s\" is not a string", key);
    if ((size_t)snprintf(dst, n, "%s", json_string_value(v)) >= n)
        return fp_err_set(err, FP_EINPUT, "allocation field \"%s\" is too long", key);
    return 0;
}

int fp_plan_from_allocation(const json_t *rec, fp_plan *p, fp_err *err)
{
    memset(p, 0, sizeof *p);
    const char *type = fp_record_type(rec);
    if (!type || strcmp(type, "allocation") != 0)
        return fp_err_set(err, FP_EINPUT, "not an allocation record");
    if (copy_field(p->backend, sizeof p->backend, rec, "backend", true, err) < 0 ||
        copy_field(p->object, sizeof p->object, rec, "object", true, err) < 0 ||
        copy_field(p->token, sizeof p->token, rec, "token", false, err) < 0)
        return -1;
    json_t *tg = json_object_get(rec, "target");
    json_t *pid = tg ? json_object_get(tg, "pid") : NULL;
    if (pid && json_is_integer(pid) && json_integer_value(pid) > 0 &&
        json_integer_value(pid) < 1 << 30)
        p->pid = (int)json_integer_value(pid);
    json_t *ch = json_object_get(rec, "changes");
    if (!json_is_array(ch))
        return fp_err_set(err, FP_EINPUT, "allocation record has no \"changes\" array");
    size_t i;
    json_t *c;
    json_array_foreach(ch, i, c) {
        if (!json_is_object(c))
            return fp_err_set(err, FP_EINPUT, "changes[%zu] is not an object", i);
        if (p->n >= FP_CHANGES_MAX)
            return fp_err_set(err, FP_EINPUT, "more than %d changes", FP_CHANGES_MAX);
        fp_change *d = &p->ch[p->n];
        char where[32];
        snprintf(where, sizeof where, "changes[%zu]", i);
        if (copy_field(d->knob, sizeof d->knob, c, "knob", true, err) < 0 ||
            copy_field(d->value, sizeof d->value, c, "value", true, err) < 0 ||
            copy_field(d->previous, sizeof d->previous, c, "previous", true, err) < 0 ||
            copy_field(d->path, sizeof d->path, c, "path", false, err) < 0) {
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", err->msg);
            return fp_err_set(err, FP_EINPUT, "%s: %s", where, m);
        }
        p->n++;
    }
    return 0;
}

/* Knobs that hold a memory size in bytes, for every back-end. */
static bool memory_knob(const char *k)
{
    static const char *const names[] = {
        "memory.max", "memory.high", "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
        "Memory", "MemoryReservation", "Limits.MemoryBytes", "Reservations.MemoryBytes",
        "MemoryHigh", "MemoryMax", NULL };
    for (int i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0) return true;
    return false;
}

int fp_plan_check_memory(const fp_plan *p, double usage, fp_err *err)
{
    if (!(usage > 0)) return 0;
    for (int i = 0; i < p->n; i++) {
        const fp_change *c = &p->ch[i];
        if (!memory_knob(c->knob)) continue;
        char *end;
        double v = strtod(c->value, &end);
        if (end == c->value || *end) continue;          /* "max" and the like */
        if (v > 0 && v < usage)
            return fp_err_set(err, FP_EINPUT, "refusing %s = %.0f bytes (%.1f MiB): below the "
                              "current usage of %.0f bytes (%.1f MiB)", c->knob, v,
                              v / 1048576, usage, usage / 1048576);
    }
    return 0;
}

static json_t *num_or_null(double v)
{
    if (v == FP_UNSET || isnan(v)) return json_null();
    if (v == FP_UNLIMITED) return json_string("unlimited");
    return v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
}

json_t *fp_allocation_to_json(const fp_allocation *a)
{
    json_t *r = fp_record_new("allocation", &a->target, a->t, a->ts);
    const fp_plan *p = a->plan;
    json_object_set_new(r, "reason", json_string(a->reason ? a->reason : "prediction"));
    json_object_set_new(r, "backend", p && p->backend[0] ? json_string(p->backend) : json_null());
    json_object_set_new(r, "object", p && p->object[0] ? json_string(p->object) : json_null());
    if (p && p->token[0]) json_object_set_new(r, "token", json_string(p->token));
    json_object_set_new(r, "dry_run", json_boolean(a->dry_run));
    json_object_set_new(r, "ok", json_boolean(a->ok));
    json_object_set_new(r, "error", a->error ? json_string(a->error) : json_null());
    json_object_set_new(r, "model", a->model && a->model[0] ? json_string(a->model) : json_null());
    json_object_set_new(r, "prediction_t", a->prediction_t >= 0 ? json_real(a->prediction_t)
                                                                 : json_null());
    json_object_set_new(r, "horizon_s", a->horizon_s >= 0 ? json_real(a->horizon_s) : json_null());
    const fp_limits *l = &a->limits;
    json_object_set_new(r, "limits", json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
        "cpu_max_cores", num_or_null(l->cpu_max_cores),
        "cpu_weight_cores", num_or_null(l->cpu_weight_cores),
        "mem_high_bytes", num_or_null(l->mem_high_bytes),
        "mem_max_bytes", num_or_null(l->mem_max_bytes),
        "io_read_Bps", num_or_null(l->io_read_Bps),
        "io_write_Bps", num_or_null(l->io_write_Bps),
        "pids_max", num_or_null(l->pids_max),
        "net_tx_Bps", num_or_null(l->net_tx_Bps)));
    json_t *why = json_object();
    static const char *const res[] = { "cpu_cores", "mem_bytes", "io_read_Bps", "io_write_Bps",
                                       "net_rx_Bps", "net_tx_Bps", NULL, NULL };
    for (int i = 0; i < 8 && res[i]; i++)
        if (a->why[i] && a->why[i][0]) json_object_set_new(why, res[i], json_string(a->why[i]));
    json_object_set_new(r, "why", why);
    json_object_set_new(r, "capacity", a->capacity ? json_string(a->capacity) : json_null());
    json_object_set_new(r, "changes", p ? fp_plan_changes_json(p) : json_array());
    if (p && strcmp(p->backend, "k8s") == 0 && p->n > 0) {
        json_t *patch = fp_k8s_patch(p);
        json_object_set_new(r, "patch", patch ? patch : json_null());
    }
    json_t *un = json_object();
    for (int i = 0; p && i < p->n_unsupported; i++)
        json_object_set_new(un, p->unsupported[i].limit, json_string(p->unsupported[i].why));
    json_object_set_new(r, "unsupported", un);
    return r;
}

unsigned long long fp_act_mem_pages(double v)
{
    long ps = sysconf(_SC_PAGESIZE);
    unsigned long long page = ps > 0 ? (unsigned long long)ps : 4096;
    unsigned long long b = v >= 4e18 ? 4000000000000000000ULL : (unsigned long long)v;
    b = b / page * page;
    return b < page ? page : b;
}
