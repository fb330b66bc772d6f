/* actuator.c - the back-end independent half of fp/actuator.h. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act_impl.h"
#include "fp/netlimit.h"

void fp_limits_unset(fp_limits *l)
{
    l->cpu_max_cores = l->cpu_weight_cores = FP_UNSET;
    l->mem_high_bytes = l->mem_max_bytes = FP_UNSET;
    l->io_read_Bps = l->io_write_Bps = FP_UNSET;
    l->pids_max = l->net_tx_Bps = FP_UNSET;
}

bool fp_limits_any_set(const fp_limits *l)
{
    return l->cpu_max_cores != FP_UNSET || l->cpu_weight_cores != FP_UNSET ||
           l->mem_high_bytes != FP_UNSET || l->mem_max_bytes != FP_UNSET ||
           l->io_read_Bps != FP_UNSET || l->io_write_Bps != FP_UNSET ||
           l->pids_max != FP_UNSET || l->net_tx_Bps != FP_UNSET;
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

/* Plain decimal digits (at most 19), the whole string, into *v. */
static bool digits(const char *s, double *v)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 19 || s[n]) return false;
    *v = strtod(s, NULL);
    return true;
}

/* Knobs whose 0 means "no limit" (Docker, Swarm). */
static bool zero_unlimited(const char *k)
{
    return !strcmp(k, "Memory") || !strcmp(k, "MemoryReservation") ||
           !strcmp(k, "Limits.MemoryBytes") || !strcmp(k, "Reservations.MemoryBytes") ||
           !strcmp(k, "MemorySwap") || !strcmp(k, "NanoCpus") || !strcmp(k, "CpuShares") ||
           !strcmp(k, "PidsLimit") || !strcmp(k, "CpuQuota");
}

int fp_plan_check_memory(const fp_plan *p, double usage, fp_err *err)
{
    for (int i = 0; i < p->n; i++) {
        const fp_change *c = &p->ch[i];
        if (!memory_knob(c->knob)) continue;
        double v;
        if (!strcmp(c->value, "max") || !strcmp(c->value, "infinity") || !strcmp(c->value, "-1"))
            continue;
        if (!digits(c->value, &v))
            return fp_err_set(err, FP_EINPUT, "refusing %s = \"%.60s\": not a number of bytes",
                              c->knob, c->value);
        if (v == 0 && zero_unlimited(c->knob)) continue;
        if (usage < 0)
            return fp_err_set(err, FP_EINPUT, "refusing %s = %.0f bytes: the current memory "
                              "usage cannot be read to check it against", c->knob, v);
        if (v < usage)
            return fp_err_set(err, FP_EINPUT, "refusing %s = %.0f bytes (%.1f MiB): below the "
                              "current usage of %.0f bytes (%.1f MiB)", c->knob, v,
                              v / 1048576, usage, usage / 1048576);
    }
    return 0;
}

/* ---- reverts ------------------------------------------------------------ */

typedef enum { RV_CPU, RV_MEM, RV_IO, RV_NET, RV_PIDS, RV_NONE } rv_kind;

/* One change's value as a limit: *kind, and *v in the resource's unit
 * (cores, bytes, bytes/s, tasks) or FP_UNLIMITED. period_us is the CPU
 * period a v1 quota is in. -1 (FP_EINPUT) for a knob fp does not write
 * or a value fp could not have written. */
static int revert_value(const fp_change *c, double period_us, rv_kind *kind, double *v,
                        fp_err *err)
{
    const char *k = c->knob, *s = c->value;
    double x, y;
    *v = FP_UNLIMITED;
    *kind = RV_NONE;
#define BAD() return fp_err_set(err, FP_EINPUT, "refusing %s = \"%.60s\": not a value fp writes " \
                                "there", k, s)
    if (!strcmp(k, "cpu.max")) {
        *kind = RV_CPU;
        const char *sp = strchr(s, ' ');
        char q[24];
        if (!sp || (size_t)(sp - s) >= sizeof q || !digits(sp + 1, &y) || y < 1000 || y > 1000000)
            BAD();
        memcpy(q, s, (size_t)(sp - s));
        q[sp - s] = 0;
        if (!strcmp(q, "max")) return 0;
        if (!digits(q, &x) || x < 1000) BAD();
        *v = x / y;
    } else if (!strcmp(k, "cpu.weight")) {
        *kind = RV_CPU;
        if (!digits(s, &x) || x < 1 || x > 10000) BAD();
        *v = x / 100;
    } else if (!strcmp(k, "cpu.cfs_period_us")) {
        if (!digits(s, &x) || x < 1000 || x > 1000000) BAD();
    } else if (!strcmp(k, "cpu.cfs_quota_us")) {
        *kind = RV_CPU;
        if (!strcmp(s, "-1")) return 0;
        if (!digits(s, &x) || x < 1000) BAD();
        *v = x / period_us;
    } else if (!strcmp(k, "cpu.shares")) {
        *kind = RV_CPU;
        if (!digits(s, &x) || x < 2 || x > 262144) BAD();
        *v = x / 1024;
    } else if (!strcmp(k, "memory.high") || !strcmp(k, "memory.max") ||
               !strcmp(k, "memory.soft_limit_in_bytes") || !strcmp(k, "memory.limit_in_bytes")) {
        *kind = RV_MEM;
        if (!strcmp(s, "max") && k[7] != 's' && k[7] != 'l') return 0;
        if (!strcmp(s, "-1") && (k[7] == 's' || k[7] == 'l')) return 0;
        if (!digits(s, &x)) BAD();
        if ((k[7] == 's' || k[7] == 'l') && x >= 4611686018427387904.0) return 0;  /* v1's none */
        *v = x;
    } else if (!strcmp(k, "pids.max")) {
        *kind = RV_PIDS;
        if (!strcmp(s, "max")) return 0;
        if (!digits(s, &x)) BAD();
        *v = x;
    } else if (!strncmp(k, "io.max:", 7)) {
        *kind = RV_IO;
        const char *dev = k + 7;
        size_t dl = strlen(dev);
        if (strncmp(s, dev, dl) || s[dl] != ' ') BAD();
        char buf[FP_VALUE_MAX];
        snprintf(buf, sizeof buf, "%s", s + dl + 1);
        bool any = false;
        for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq) BAD();
            *eq++ = 0;
            bool bps = !strcmp(tok, "rbps") || !strcmp(tok, "wbps");
            if (!bps && strcmp(tok, "riops") && strcmp(tok, "wiops")) BAD();
            any = true;
            if (!strcmp(eq, "max")) continue;
            if (!bps || !digits(eq, &x)) BAD();
            if (*v == FP_UNLIMITED || x < *v) *v = x;
        }
        if (!any) BAD();
    } else if (!strncmp(k, "blkio.throttle.read_bps_device:", 31) ||
               !strncmp(k, "blkio.throttle.write_bps_device:", 32)) {
        *kind = RV_IO;
        const char *dev = strchr(k, ':') + 1;
        size_t dl = strlen(dev);
        if (strncmp(s, dev, dl) || s[dl] != ' ' || !digits(s + dl + 1, &x)) BAD();
        if (x > 0) *v = x;
    } else if (!strncmp(k, "tc:", 3)) {
        *kind = RV_NET;
        if (fp_netlimit_rate(s, v) < 0) BAD();
    } else if (!strcmp(k, "MemoryHigh") || !strcmp(k, "MemoryMax") || !strcmp(k, "TasksMax") ||
               !strcmp(k, "CPUQuotaPerSecUSec") || !strcmp(k, "CPUWeight")) {
        *kind = k[0] == 'M' ? RV_MEM : k[0] == 'T' ? RV_PIDS : RV_CPU;
        if (!strcmp(s, "infinity")) return 0;
        if (!digits(s, &x)) BAD();
        if (!strcmp(k, "CPUQuotaPerSecUSec")) {
            if (x < 10000) BAD();
            x /= 1e6;
        } else if (!strcmp(k, "CPUWeight")) {
            if (x < 1 || x > 10000) BAD();
            x /= 100;
        }
        *v = x;
    } else if (!strcmp(k, "NanoCpus") || !strcmp(k, "CpuQuota") || !strcmp(k, "CpuShares") ||
               !strcmp(k, "Memory") || !strcmp(k, "MemorySwap") ||
               !strcmp(k, "MemoryReservation") || !strcmp(k, "PidsLimit")) {
        *kind = k[0] == 'N' || k[0] == 'C' ? RV_CPU : k[0] == 'P' ? RV_PIDS : RV_MEM;
        if (!strcmp(s, "-1") && strcmp(k, "NanoCpus") && strcmp(k, "CpuShares") &&
            strcmp(k, "Memory"))
            return 0;
        if (!digits(s, &x)) BAD();
        if (x == 0) return 0;                       /* Docker's "no limit" */
        if (!strcmp(k, "NanoCpus")) x /= 1e9;
        else if (!strcmp(k, "CpuQuota")) {
            if (x < 1000) BAD();
            x /= 100000;
        } else if (!strcmp(k, "CpuShares")) x /= 1024;
        *v = x;
    } else {
        return fp_err_set(err, FP_EINPUT, "refusing a change of %s: not a knob fp writes", k);
    }
#undef BAD
    return 0;
}

int fp_act_check_revert(fp_actuator *a, const fp_target *tg, const fp_plan *p,
                        const fp_revert_rules *r, fp_err *err)
{
    const char *name = a->ops->name;
    if (strcmp(p->backend, name) != 0)
        return fp_err_set(err, FP_EINPUT, "refusing a revert of a %s plan with the %s back-end",
                          p->backend, name);
    if (p->n < 0 || p->n > FP_CHANGES_MAX)
        return fp_err_set(err, FP_EINPUT, "plan has %d changes", p->n);
    fp_observed o;
    memset(&o, 0, sizeof o);
    o.mem_bytes = o.oom_kills = o.throttled_s = o.cpu_s = FP_UNSET;
    fp_limits_unset(&o.now);
    if (!a->ops->revert_check) {
        if (a->ops->observe(a, tg, &o, err) < 0) return -1;
        return fp_plan_check_memory(p, o.mem_bytes, err);
    }
    if (a->ops->revert_check(a, tg, p, &o, err) < 0) return -1;
    return fp_plan_check_revert_values(p, &o, r, err);
}

int fp_plan_check_revert_values(const fp_plan *p, const fp_observed *obs, const fp_revert_rules *r,
                                fp_err *err)
{
    fp_observed o = *obs;
    double period = 100000;                /* a v1 quota's period: the plan's, else fp's */
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->ch[i].knob, "cpu.cfs_period_us")) {
            double x;
            if (digits(p->ch[i].value, &x) && x >= 1000) period = x;
        }
    for (int i = 0; i < p->n; i++) {
        const fp_change *c = &p->ch[i];
        rv_kind kind;
        double v;
        if (revert_value(c, period, &kind, &v, err) < 0) return -1;
        if (v == FP_UNLIMITED || kind == RV_NONE) continue;
        double floor = 0;
        const char *what = "";
        char why[160] = "";
        switch (kind) {
        case RV_CPU: floor = r->cpu_min_cores; what = "cores"; break;
        case RV_IO: floor = r->io_min_Bps; what = "bytes/s"; break;
        case RV_NET: floor = r->net_min_Bps; what = "bytes/s"; break;
        case RV_PIDS: floor = r->pids_min; what = "tasks"; break;
        case RV_MEM:
            what = "bytes";
            if (o.mem_bytes < 0)
                return fp_err_set(err, FP_EINPUT, "refusing %s = %s: the target's memory usage "
                                  "cannot be read (%s), and a memory limit is checked against it",
                                  c->knob, c->value, o.why_mem ? o.why_mem : "unknown");
            floor = o.mem_bytes * (1 + r->mem_margin_frac) + r->mem_margin_bytes;
            if (v < o.mem_bytes)
                return fp_err_set(err, FP_EINPUT, "refusing %s = %.0f bytes (%.1f MiB): below the "
                                  "current usage of %.0f bytes (%.1f MiB)", c->knob, v,
                                  v / 1048576, o.mem_bytes, o.mem_bytes / 1048576);
            snprintf(why, sizeof why, " (usage %.0f bytes plus the policy's margin)", o.mem_bytes);
            if (floor < r->mem_min_bytes) {
                floor = r->mem_min_bytes;
                why[0] = 0;
            }
            break;
        default: break;
        }
        if (v < floor)
            return fp_err_set(err, FP_EINPUT, "refusing %s = %s: below the floor of %.10g %s%s "
                              "that a prediction's limit would pass", c->knob, c->value, floor,
                              what, why);
    }
    return 0;
}

/* A limit of an allocation record: null when left alone (FP_UNSET, NaN),
 * "unlimited" when removed, else its number (fp_json_num). */
static json_t *limit_json(double v)
{
    if (v == FP_UNSET || isnan(v)) return json_null();
    if (v == FP_UNLIMITED) return json_string("unlimited");
    return fp_json_num(v);
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
        "cpu_max_cores", limit_json(l->cpu_max_cores),
        "cpu_weight_cores", limit_json(l->cpu_weight_cores),
        "mem_high_bytes", limit_json(l->mem_high_bytes),
        "mem_max_bytes", limit_json(l->mem_max_bytes),
        "io_read_Bps", limit_json(l->io_read_Bps),
        "io_write_Bps", limit_json(l->io_write_Bps),
        "pids_max", limit_json(l->pids_max),
        "net_tx_Bps", limit_json(l->net_tx_Bps)));
    json_t *why = json_object();
    for (int i = 0; i < FP_RES_COUNT; i++)
        if (a->why[i] && a->why[i][0])
            json_object_set_new(why, fp_resource_name((fp_resource)i), json_string(a->why[i]));
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
