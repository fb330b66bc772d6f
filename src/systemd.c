/* systemd.c - limits on systemd units over D-Bus (see fp/systemd.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "act_impl.h"
#include "fp/systemd.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-bus.h>
#endif

#define SD_INF ULLONG_MAX
#define QUOTA_MIN_USEC 10000ULL      /* systemd's smallest CPUQuota: 1 % */

const char *const fp_systemd_prop_names[FP_SD_NPROPS] = {
    "MemoryHigh", "MemoryMax", "CPUQuotaPerSecUSec", "CPUWeight", "TasksMax"};

bool fp_systemd_booted(const fp_roots *r)
{
    char path[FP_PATH_MAX];
    struct stat st;
    return fp_path(path, sizeof path, "%s/systemd/system", r->run) == 0 && lstat(path, &st) == 0 &&
           S_ISDIR(st.st_mode);
}

bool fp_systemd_built(void)
{
#ifdef HAVE_SYSTEMD
    return true;
#else
    return false;
#endif
}

bool fp_systemd_valid_unit(const char *name)
{
    static const char *const suffix[] = {".service", ".scope", ".slice", ".socket", ".mount", ".swap"};
    size_t len = strlen(name);
    if (len == 0 || len > 255 || name[0] == '.' || name[0] == '-') return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(":_.@-\\", *p)))
            return false;
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        size_t sl = strlen(suffix[i]);
        if (len > sl && strcmp(name + len - sl, suffix[i]) == 0) return true;
    }
    return false;
}

int fp_systemd_unit_of_cgroup(const char *rel, char *unit, size_t n, fp_err *err)
{
    const char *last = strrchr(rel, '/');
    last = last ? last + 1 : rel;
    if (!fp_systemd_valid_unit(last))
        return fp_err_set(err, FP_EINPUT, "cgroup %s is not a systemd unit's (its last component "
                          "is no unit name); name the unit with --unit", rel);
    if ((size_t)snprintf(unit, n, "%s", last) >= n)
        return fp_err_set(err, FP_EINPUT, "unit name too long: %s", last);
    return 0;
}

void fp_systemd_format(unsigned long long v, char *buf, size_t n)
{
    if (v == SD_INF) snprintf(buf, n, "infinity");
    else snprintf(buf, n, "%llu", v);
}

int fp_systemd_parse(const char *s, unsigned long long *v)
{
    if (!strcmp(s, "infinity")) {
        *v = SD_INF;
        return 0;
    }
    if (!*s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *v = x;
    return 0;
}

static bool unset(double v) { return v < 0 && v != FP_UNLIMITED; }


/* The property value that stands for limit v of property i. */
static unsigned long long prop_value(int i, double v)
{
    if (v == FP_UNLIMITED) return SD_INF;
    switch (i) {
    case FP_SD_MEMORY_HIGH:
    case FP_SD_MEMORY_MAX: return fp_act_mem_pages(v);
    case FP_SD_CPU_QUOTA: {
        double us = fmin(v, 1e6) * 1e6;
        unsigned long long q = (unsigned long long)llround(us);
        return q < QUOTA_MIN_USEC ? QUOTA_MIN_USEC : q;
    }
    case FP_SD_CPU_WEIGHT: {
        long long w = llround(fmin(v, 1e4) * 100);
        return (unsigned long long)(w < 1 ? 1 : w > 10000 ? 10000 : w);
    }
    default: return (unsigned long long)llround(fmin(v, 4194304));
    }
}

int fp_systemd_plan_limits(const fp_unit_state *now, const fp_limits *want, fp_plan *plan,
                           fp_err *err)
{
    const double w[FP_SD_NPROPS] = {want->mem_high_bytes, want->mem_max_bytes, want->cpu_max_cores,
                                    want->cpu_weight_cores, want->pids_max};
    static const char *const limit[FP_SD_NPROPS] = {"mem_high_bytes", "mem_max_bytes",
                                                    "cpu_max_cores", "cpu_weight_cores", "pids_max"};
    for (int i = 0; i < FP_SD_NPROPS; i++)
        if (!isfinite(w[i]))
            return fp_err_set(err, FP_EUSAGE, "limit %s is not a finite number", limit[i]);
    unsigned long long neu[FP_SD_NPROPS];
    bool change[FP_SD_NPROPS] = {false};
    for (int i = 0; i < FP_SD_NPROPS; i++) {
        if (unset(w[i])) continue;
        if (!now->known[i]) {
            fp_plan_unsupported(plan, limit[i], "unit %s: property %s could not be read",
                                plan->object, fp_systemd_prop_names[i]);
            continue;
        }
        neu[i] = prop_value(i, w[i]);
        change[i] = neu[i] != now->value[i];
        if (change[i] && (i == FP_SD_MEMORY_HIGH || i == FP_SD_MEMORY_MAX) && neu[i] != SD_INF &&
            now->memory_current != SD_INF && neu[i] < now->memory_current)
            return fp_err_set(err, FP_EINPUT,
                              "refusing %s = %llu bytes (%.1f MiB) for unit %s: below its current "
                              "memory usage of %llu bytes (%.1f MiB)", fp_systemd_prop_names[i],
                              neu[i], neu[i] / 1048576.0, plan->object, now->memory_current,
                              now->memory_current / 1048576.0);
    }
    bool shrink = change[FP_SD_MEMORY_MAX] && neu[FP_SD_MEMORY_MAX] < now->value[FP_SD_MEMORY_MAX];
    int order[FP_SD_NPROPS] = {FP_SD_CPU_QUOTA, FP_SD_CPU_WEIGHT,
                               shrink ? FP_SD_MEMORY_HIGH : FP_SD_MEMORY_MAX,
                               shrink ? FP_SD_MEMORY_MAX : FP_SD_MEMORY_HIGH, FP_SD_TASKS_MAX};
    for (int j = 0; j < FP_SD_NPROPS; j++) {
        int i = order[j];
        if (!change[i]) continue;
        char v[32], prev[32];
        fp_systemd_format(neu[i], v, sizeof v);
        fp_systemd_format(now->value[i], prev, sizeof prev);
        if (fp_plan_add(plan, fp_systemd_prop_names[i], v, prev, NULL, err) < 0) return -1;
    }
    if (!unset(want->io_read_Bps))
        fp_plan_unsupported(plan, "io_read_Bps", "the systemd back-end does not set I/O limits");
    if (!unset(want->io_write_Bps))
        fp_plan_unsupported(plan, "io_write_Bps", "the systemd back-end does not set I/O limits");
    if (!unset(want->net_tx_Bps))
        fp_plan_unsupported(plan, "net_tx_Bps", "the systemd back-end does not set network limits");
    return 0;
}

/* ---- the back-end -------------------------------------------------------- */

#ifdef HAVE_SYSTEMD

typedef struct sd_act {
    fp_actuator base;
    sd_bus *bus;
    char unit[256];            /* fixed unit, "" none */
} sd_act;

static const char *const DEST = "org.freedesktop.systemd1";

/* D-Bus interface of a unit's type, from its suffix. */
static const char *unit_iface(const char *unit)
{
    static const struct { const char *suffix, *iface; } t[] = {
        {".service", "org.freedesktop.systemd1.Service"}, {".scope", "org.freedesktop.systemd1.Scope"},
        {".slice", "org.freedesktop.systemd1.Slice"},     {".socket", "org.freedesktop.systemd1.Socket"},
        {".mount", "org.freedesktop.systemd1.Mount"},     {".swap", "org.freedesktop.systemd1.Swap"}};
    size_t len = strlen(unit);
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        size_t sl = strlen(t[i].suffix);
        if (len > sl && !strcmp(unit + len - sl, t[i].suffix)) return t[i].iface;
    }
    return NULL;
}

static int bus_err(fp_err *err, const sd_bus_error *e, int r, const char *what, const char *unit)
{
    if (e && sd_bus_error_is_set(e)) {
        bool missing = sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit");
        return fp_err_set(err, missing ? FP_EINPUT : FP_ESYS, "%s %s: %s", what, unit, e->message);
    }
    errno = r < 0 ? -r : EIO;
    return fp_err_sys(err, "%s %s", what, unit);
}

/* The unit of a target: the fixed one, else from its cgroup path. */
static int target_unit(const sd_act *a, const fp_target *tg, char *unit, size_t n, fp_err *err)
{
    if (a->unit[0]) {
        snprintf(unit, n, "%s", a->unit);
        return 0;
    }
    if (!tg->cgroup[0])
        return fp_err_set(err, FP_EINPUT, "the systemd back-end needs a unit: name it with --unit "
                          "or give the target the unit's cgroup");
    return fp_systemd_unit_of_cgroup(tg->cgroup, unit, n, err);
}

/* The unit's object path (the unit must be loaded). */
static int unit_path(sd_act *a, const char *unit, char **path, fp_err *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(a->bus, DEST, "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &e, &reply, "s", unit);
    if (r < 0) {
        bus_err(err, &e, r, "no loaded unit", unit);
        sd_bus_error_free(&e);
        return -1;
    }
    const char *p;
    r = sd_bus_message_read(reply, "o", &p);
    if (r >= 0) *path = strdup(p);
    sd_bus_message_unref(reply);
    if (r < 0 || !*path) return fp_err_set(err, FP_ESYS, "unexpected GetUnit answer for %s", unit);
    return 0;
}

static int get_u64(sd_act *a, const char *path, const char *iface, const char *prop,
                   unsigned long long *v)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    uint64_t x = 0;
    int r = sd_bus_get_property_trivial(a->bus, DEST, path, iface, prop, &e, 't', &x);
    sd_bus_error_free(&e);
    if (r < 0) return -1;
    *v = x;
    return 0;
}

/* The unit's limits, usage and CPU time. */
static int unit_state(sd_act *a, const char *unit, fp_unit_state *st, unsigned long long *cpu_ns,
                      fp_err *err)
{
    const char *iface = unit_iface(unit);
    if (!iface) return fp_err_set(err, FP_EINPUT, "%s is not a unit fp can limit", unit);
    char *path = NULL;
    if (unit_path(a, unit, &path, err) < 0) return -1;
    memset(st, 0, sizeof *st);
    for (int i = 0; i < FP_SD_NPROPS; i++)
        st->known[i] = get_u64(a, path, iface, fp_systemd_prop_names[i], &st->value[i]) == 0;
    if (get_u64(a, path, iface, "MemoryCurrent", &st->memory_current) < 0) st->memory_current = SD_INF;
    if (cpu_ns && get_u64(a, path, iface, "CPUUsageNSec", cpu_ns) < 0) *cpu_ns = SD_INF;
    free(path);
    return 0;
}

static double limit_of(unsigned long long v, double scale)
{
    return v == SD_INF ? FP_UNLIMITED : (double)v / scale;
}

static int sd_observe(fp_actuator *base, const fp_target *tg, fp_observed *o, fp_err *err)
{
    sd_act *a = (sd_act *)base;
    char unit[256];
    if (target_unit(a, tg, unit, sizeof unit, err) < 0) return -1;
    fp_unit_state st;
    unsigned long long cpu_ns;
    if (unit_state(a, unit, &st, &cpu_ns, err) < 0) return -1;
    fp_limits_unset(&o->now);
    o->why_mem = st.memory_current == SD_INF ? "no MemoryCurrent (MemoryAccounting off?)" : NULL;
    o->mem_bytes = o->why_mem ? FP_UNSET : (double)st.memory_current;
    o->why_cpu = cpu_ns == SD_INF ? "no CPUUsageNSec (CPUAccounting off?)" : NULL;
    o->cpu_s = o->why_cpu ? FP_UNSET : cpu_ns / 1e9;
    o->oom_kills = FP_UNSET;
    o->why_oom = "not read through systemd";
    o->throttled_s = FP_UNSET;
    o->why_throttled = "not read through systemd";
    if (st.known[FP_SD_MEMORY_HIGH]) o->now.mem_high_bytes = limit_of(st.value[FP_SD_MEMORY_HIGH], 1);
    if (st.known[FP_SD_MEMORY_MAX]) o->now.mem_max_bytes = limit_of(st.value[FP_SD_MEMORY_MAX], 1);
    if (st.known[FP_SD_CPU_QUOTA]) o->now.cpu_max_cores = limit_of(st.value[FP_SD_CPU_QUOTA], 1e6);
    if (st.known[FP_SD_CPU_WEIGHT]) o->now.cpu_weight_cores = limit_of(st.value[FP_SD_CPU_WEIGHT], 100);
    if (st.known[FP_SD_TASKS_MAX]) o->now.pids_max = limit_of(st.value[FP_SD_TASKS_MAX], 1);
    return 0;
}

static int sd_plan(fp_actuator *base, const fp_target *tg, const fp_limits *want, fp_plan *plan,
                   fp_err *err)
{
    sd_act *a = (sd_act *)base;
    char unit[256];
    if (target_unit(a, tg, unit, sizeof unit, err) < 0) return -1;
    snprintf(plan->object, sizeof plan->object, "%s", unit);
    fp_unit_state st;
    if (unit_state(a, unit, &st, NULL, err) < 0) return -1;
    return fp_systemd_plan_limits(&st, want, plan, err);
}

/* One SetUnitProperties call: property prop = value (runtime). */
static int set_prop(sd_act *a, const char *unit, const char *prop, const char *value, fp_err *err)
{
    unsigned long long v;
    if (fp_systemd_parse(value, &v) < 0)
        return fp_err_set(err, FP_EINPUT, "property %s: \"%s\" is not a number or infinity", prop, value);
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_message_new_method_call(a->bus, &m, DEST, "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "SetUnitProperties");
    if (r >= 0) r = sd_bus_message_append(m, "sb", unit, 1);
    if (r >= 0) r = sd_bus_message_append(m, "a(sv)", 1, prop, "t", (uint64_t)v);
    if (r >= 0) r = sd_bus_call(a->bus, m, 0, &e, &reply);
    int rc = 0;
    if (r < 0) {
        char what[160];
        snprintf(what, sizeof what, "cannot set %s=%s on", prop, value);
        rc = bus_err(err, &e, r, what, unit);
    }
    sd_bus_error_free(&e);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    return rc;
}

static int sd_commit(fp_actuator *base, const fp_plan *p, fp_err *err)
{
    sd_act *a = (sd_act *)base;
    if (strcmp(p->backend, "systemd") != 0)
        return fp_err_set(err, FP_EINPUT, "plan is for back-end \"%s\", not systemd", p->backend);
    if (!fp_systemd_valid_unit(p->object))
        return fp_err_set(err, FP_EINPUT, "plan object \"%s\" is not a unit name", p->object);
    if (p->n < 0 || p->n > FP_CHANGES_MAX) return fp_err_set(err, FP_EINPUT, "plan has %d changes", p->n);
    for (int i = 0; i < p->n; i++) {
        bool known = false;
        unsigned long long v;
        for (int k = 0; k < FP_SD_NPROPS; k++)
            if (!strcmp(p->ch[i].knob, fp_systemd_prop_names[k])) known = true;
        if (!known) return fp_err_set(err, FP_EINPUT, "unknown unit property %s", p->ch[i].knob);
        if (fp_systemd_parse(p->ch[i].value, &v) < 0 || fp_systemd_parse(p->ch[i].previous, &v) < 0)
            return fp_err_set(err, FP_EINPUT, "property %s: value or previous value is not a number "
                              "or infinity", p->ch[i].knob);
    }
    for (int i = 0; i < p->n; i++) {
        if (set_prop(a, p->object, p->ch[i].knob, p->ch[i].value, err) == 0) continue;
        fp_err first = err ? *err : (fp_err){0};
        int failed = 0;
        for (int j = i - 1; j >= 0; j--)
            if (set_prop(a, p->object, p->ch[j].knob, p->ch[j].previous, NULL) < 0) failed++;
        if (i == 0) fp_err_set(err, first.cls, "%s; nothing was changed", first.msg);
        else if (!failed)
            fp_err_set(err, first.cls, "%s; the %d earlier change%s rolled back", first.msg, i,
                       i == 1 ? " was" : "s were");
        else
            fp_err_set(err, first.cls, "%s; rolling back the %d earlier changes failed for %d of them",
                       first.msg, i, failed);
        return -1;
    }
    return 0;
}

static void sd_free(fp_actuator *base)
{
    sd_act *a = (sd_act *)base;
    sd_bus_flush_close_unref(a->bus);
    free(a);
}

/* A revert's plan against the record's target (act_impl.h): the plan's
 * object must be the target's unit: --unit, else the unit of the
 * target's cgroup (a cgroup that is no unit's needs --unit), else, when
 * the target names no cgroup, the object itself. Its usage goes in *o. */
static int sd_revert_check(fp_actuator *base, const fp_target *tg, const fp_plan *p,
                           fp_observed *o, fp_err *err)
{
    sd_act *a = (sd_act *)base;
    char unit[256];
    fp_err e = {0};
    if (a->unit[0]) snprintf(unit, sizeof unit, "%s", a->unit);
    else if (!tg->cgroup[0]) snprintf(unit, sizeof unit, "%.255s", p->object);
    else if (fp_systemd_unit_of_cgroup(tg->cgroup, unit, sizeof unit, &e) < 0)
        return fp_err_set(err, FP_EINPUT, "refusing a revert of unit %.250s: the record's target "
                          "cgroup %.300s is not a unit's (name the unit with --unit)", p->object,
                          tg->cgroup);
    if (strcmp(unit, p->object) != 0)
        return fp_err_set(err, FP_EINPUT, "refusing a revert of unit %.250s: the record's target "
                          "is unit %.250s", p->object, unit);
    for (int i = 0; i < p->n; i++)
        if (p->ch[i].path[0])
            return fp_err_set(err, FP_EINPUT, "refusing change of %s: a unit property has no path",
                              p->ch[i].knob);
    fp_target t = *tg;
    snprintf(t.cgroup, sizeof t.cgroup, "/%.250s", unit);
    return sd_observe(base, &t, o, err);
}

static const fp_act_ops ops_sd = {"systemd", sd_observe, sd_plan, sd_commit, sd_free,
                                  sd_revert_check};

fp_actuator *fp_act_systemd_new(const fp_roots *roots, fp_err *err)
{
    if (!fp_systemd_booted(roots)) {
        fp_err_set(err, FP_ESYS, "the systemd back-end needs systemd as PID 1 (no %s/systemd/system "
                   "on this host)", roots->run);
        return NULL;
    }
    sd_act *a = calloc(1, sizeof *a);
    if (!a) {
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    int r = sd_bus_open_system(&a->bus);
    if (r < 0) {
        errno = -r;
        fp_err_sys(err, "cannot connect to the system bus");
        free(a);
        return NULL;
    }
    a->base.ops = &ops_sd;
    return &a->base;
}

int fp_act_systemd_unit(fp_actuator *base, const char *unit, fp_err *err)
{
    if (!base || base->ops != &ops_sd)
        return fp_err_set(err, FP_EUSAGE, "--unit applies to the systemd back-end only");
    if (!fp_systemd_valid_unit(unit))
        return fp_err_set(err, FP_EINPUT, "\"%s\" is not a unit name (NAME.service, .scope, "
                          ".slice, .socket, .mount or .swap)", unit);
    snprintf(((sd_act *)base)->unit, sizeof ((sd_act *)base)->unit, "%s", unit);
    return 0;
}

static int get_str(sd_act *a, const char *path, const char *iface, const char *prop, char *buf,
                   size_t n)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char *v = NULL;
    int r = sd_bus_get_property_string(a->bus, DEST, path, iface, prop, &e, &v);
    sd_bus_error_free(&e);
    if (r < 0) return -1;
    snprintf(buf, n, "%s", v);
    free(v);
    return 0;
}

static int get_i32(sd_act *a, const char *path, const char *iface, const char *prop, char type,
                   int *v)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int32_t x = 0;   /* "i" and "u" are both 32 bits */
    int r = sd_bus_get_property_trivial(a->bus, DEST, path, iface, prop, &e, type, &x);
    sd_bus_error_free(&e);
    if (r < 0) return -1;
    *v = x;
    return 0;
}

int fp_systemd_unit_info(fp_actuator *base, fp_unit_info *out, fp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!base || base->ops != &ops_sd)
        return fp_err_set(err, FP_EUSAGE, "unit information needs the systemd back-end");
    sd_act *a = (sd_act *)base;
    if (!a->unit[0]) return fp_err_set(err, FP_EINPUT, "no unit named");
    const char *iface = unit_iface(a->unit);
    if (!iface) return fp_err_set(err, FP_EINPUT, "%s is not a unit fp can follow", a->unit);
    char *path = NULL;
    if (unit_path(a, a->unit, &path, err) < 0) return -1;
    int rc = 0;
    if (get_str(a, path, "org.freedesktop.systemd1.Unit", "ActiveState", out->active,
                sizeof out->active) < 0) {
        rc = fp_err_set(err, FP_ESYS, "cannot read the ActiveState of %s", a->unit);
        goto done;
    }
    if (get_str(a, path, iface, "ControlGroup", out->cgroup, sizeof out->cgroup) < 0) out->cgroup[0] = 0;
    if (!strcmp(iface, "org.freedesktop.systemd1.Service")) {
        int pid = 0, code = 0, status = 0;
        if (get_i32(a, path, iface, "MainPID", 'u', &pid) == 0 && pid > 0) out->main_pid = pid;
        /* ExecMainCode: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3; 0 none yet */
        if (out->main_pid == 0 && get_i32(a, path, iface, "ExecMainCode", 'i', &code) == 0 &&
            get_i32(a, path, iface, "ExecMainStatus", 'i', &status) == 0 && code >= 1 && code <= 3) {
            out->exit.known = true;
            out->exit.code = code == 1 ? status & 0xff : 0;
            out->exit.signal = code == 1 ? 0 : status;
        }
    }
done:
    free(path);
    return rc;
}

/* ---- the systemd cgroup driver ------------------------------------------- */

typedef struct job_wait {
    const char *job;           /* the job's object path, NULL until known */
    char seen[8][256];         /* paths of jobs removed before it was known */
    char seen_result[8][32];
    int nseen;
    char result[32];
    bool done;
} job_wait;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    job_wait *w = userdata;
    uint32_t id;
    const char *path, *unit, *result;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0) return 0;
    if (w->job) {
        if (!strcmp(path, w->job)) {
            snprintf(w->result, sizeof w->result, "%s", result);
            w->done = true;
        }
    } else if (w->nseen < 8) {
        snprintf(w->seen[w->nseen], sizeof w->seen[0], "%s", path);
        snprintf(w->seen_result[w->nseen++], sizeof w->seen_result[0], "%s", result);
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int fp_systemd_delegate(const fp_roots *r, const fp_cg_layout *l, const char *prefix,
                        double timeout_s, fp_sd_scope *out, fp_err *err)
{
    memset(out, 0, sizeof *out);
    if (l->version != FP_CG_V2)
        return fp_err_set(err, FP_EUSAGE, "the systemd cgroup driver needs a pure cgroup v2 host "
                          "(this one has %s)", l->version == FP_CG_HYBRID ? "the hybrid layout"
                          : l->version == FP_CG_V1 ? "cgroup v1" : "no cgroups");
    if (!fp_systemd_booted(r))
        return fp_err_set(err, FP_ESYS, "the systemd cgroup driver needs systemd as PID 1 (no "
                          "%s/systemd/system on this host)", r->run);
    if (!prefix || !*prefix || strlen(prefix) > 200)
        return fp_err_set(err, FP_EUSAGE, "bad scope name prefix");
    int pid = (int)getpid();
    snprintf(out->unit, sizeof out->unit, "%s-%d.scope", prefix, pid);
    if (!fp_systemd_valid_unit(out->unit))
        return fp_err_set(err, FP_EUSAGE, "\"%s\" is not a unit name", out->unit);
    bool system = geteuid() == 0;
    fp_cgroup *own = malloc(sizeof *own);
    if (!own) return fp_err_set(err, FP_ESYS, "out of memory");
    if (fp_cgroup_of_pid(r, l, 0, own, err) < 0) {
        free(own);
        return -1;
    }
    if (system) snprintf(out->slice, sizeof out->slice, "%s", FP_SD_SLICE);
    sd_bus *bus = NULL;
    sd_bus_slot *slot = NULL;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    job_wait w;
    memset(&w, 0, sizeof w);
    char *job = NULL;
    int rc = -1;
    int q = system ? sd_bus_open_system(&bus) : sd_bus_open_user(&bus);
    if (q < 0) {
        errno = -q;
        fp_err_sys(err, "the systemd cgroup driver cannot connect to the %s bus",
                   system ? "system" : "user's");
        goto done;
    }
    /* the match first: the job may end as soon as it is queued */
    q = sd_bus_match_signal(bus, &slot, DEST, "/org/freedesktop/systemd1",
                            "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
    if (q >= 0)
        q = sd_bus_message_new_method_call(bus, &m, DEST, "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
    char desc[512];
    snprintf(desc, sizeof desc, "fp: %s (pid %d) and its workloads", prefix, pid);
    if (q >= 0) q = sd_bus_message_append(m, "ss", out->unit, "fail");
    if (q >= 0) q = sd_bus_message_open_container(m, 'a', "(sv)");
    if (q >= 0) q = sd_bus_message_append(m, "(sv)", "Description", "s", desc);
    if (q >= 0) q = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
    if (q >= 0) q = sd_bus_message_append(m, "(sv)", "Delegate", "b", 1);
    /* only what fp uses: no cpuset switched on along the way */
    if (q >= 0) q = sd_bus_message_append(m, "(sv)", "DelegateControllers", "as", 4, "cpu", "io", "memory", "pids");
    if (q >= 0) q = sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
    if (q >= 0 && out->slice[0]) q = sd_bus_message_append(m, "(sv)", "Slice", "s", out->slice);
    if (q >= 0) q = sd_bus_message_close_container(m);
    if (q >= 0) q = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (q < 0) {
        errno = -q;
        fp_err_sys(err, "cannot build the StartTransientUnit call for %s", out->unit);
        goto done;
    }
    q = sd_bus_call(bus, m, (uint64_t)(timeout_s * 1e6), &e, &reply);
    if (q < 0) {
        bus_err(err, &e, q, "systemd refused the delegated scope", out->unit);
        goto done;
    }
    const char *jp;
    if (sd_bus_message_read(reply, "o", &jp) < 0 || !(job = strdup(jp))) {
        fp_err_set(err, FP_ESYS, "unexpected StartTransientUnit answer for %s", out->unit);
        goto done;
    }
    w.job = job;
    for (int i = 0; i < w.nseen; i++)
        if (!strcmp(w.seen[i], job)) {
            snprintf(w.result, sizeof w.result, "%s", w.seen_result[i]);
            w.done = true;
        }
    double deadline = now_s() + timeout_s;
    while (!w.done) {
        q = sd_bus_process(bus, NULL);
        if (q < 0) {
            errno = -q;
            fp_err_sys(err, "waiting for systemd's job %s (scope %s)", job, out->unit);
            goto done;
        }
        if (q > 0) continue;
        double left = deadline - now_s();
        if (left <= 0) {
            fp_err_set(err, FP_ESYS, "systemd did not finish the job for scope %s (%s) within %.0f s",
                       out->unit, job, timeout_s);
            goto done;
        }
        q = sd_bus_wait(bus, (uint64_t)(left * 1e6));
        if (q < 0 && q != -EINTR) {
            errno = -q;
            fp_err_sys(err, "waiting for systemd's job %s (scope %s)", job, out->unit);
            goto done;
        }
    }
    if (strcmp(w.result, "done") != 0) {
        fp_err_set(err, FP_ESYS, "systemd's job for the delegated scope %s ended \"%s\", not "
                   "\"done\" (journalctl -u %s)", out->unit, w.result, out->unit);
        goto done;
    }
    /* systemd moved us: where to? */
    if (fp_cgroup_of_pid(r, l, 0, own, err) < 0) goto done;
    size_t ol = strlen(own->rel), ul = strlen(out->unit);
    if (ol <= ul || strcmp(own->rel + ol - ul, out->unit) != 0 || own->rel[ol - ul - 1] != '/') {
        fp_err_set(err, FP_ESYS, "systemd started scope %s, but fp (pid %d) is in cgroup %s", out->unit,
                   pid, own->rel);
        goto done;
    }
    snprintf(out->rel, sizeof out->rel, "%s", own->rel);
    if (fp_path(out->leaf, sizeof out->leaf, "%s/supervisor", out->rel) < 0) {
        fp_err_set(err, FP_EUSAGE, "cgroup path too long: %s", out->rel);
        goto done;
    }
    if (fp_cgroup_enter_leaf(l, out->rel, "supervisor", err) < 0) goto done;
    rc = 0;
done:
    free(job);
    free(own);
    sd_bus_error_free(&e);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    sd_bus_slot_unref(slot);
    sd_bus_flush_close_unref(bus);
    return rc;
}

#else /* !HAVE_SYSTEMD */

fp_actuator *fp_act_systemd_new(const fp_roots *roots, fp_err *err)
{
    (void)roots;
    fp_err_set(err, FP_EUSAGE, "fp was built without systemd support (libsystemd-dev; configure "
               "--with-systemd)");
    return NULL;
}

int fp_act_systemd_unit(fp_actuator *a, const char *unit, fp_err *err)
{
    (void)a;
    (void)unit;
    return fp_err_set(err, FP_EUSAGE, "fp was built without systemd support");
}

int fp_systemd_unit_info(fp_actuator *a, fp_unit_info *out, fp_err *err)
{
    (void)a;
    memset(out, 0, sizeof *out);
    return fp_err_set(err, FP_EUSAGE, "fp was built without systemd support");
}

int fp_systemd_delegate(const fp_roots *r, const fp_cg_layout *l, const char *prefix,
                        double timeout_s, fp_sd_scope *out, fp_err *err)
{
    (void)r; (void)l; (void)prefix; (void)timeout_s;
    memset(out, 0, sizeof *out);
    return fp_err_set(err, FP_EUSAGE, "the systemd cgroup driver needs fp built with systemd "
                      "support (libsystemd-dev; configure --with-systemd)");
}

#endif
