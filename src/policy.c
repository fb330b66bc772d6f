/* policy.c - the allocation policy (fp/policy.h). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp/policy.h"
#include "fp/quantity.h"
#include "fp/summary.h"

#define MiB (1024.0 * 1024.0)

void fp_policy_default(fp_policy *p)
{
    memset(p, 0, sizeof *p);
    /* CPU: p90 x 1.2, hundredths of a core, at least 0.05 core */
    p->res[FP_RES_CPU] = (fp_res_policy){ true, 0.90, 1.2, 0.05, 0, 0.01, 0.10, 0.25 };
    /* memory: p99 x 1.15 (the VPA's margin), MiB, at least 64 MiB */
    p->res[FP_RES_MEM] = (fp_res_policy){ true, 0.99, 1.15, 64 * MiB, 0, MiB, 0.10, 0.25 };
    /* bandwidths: off unless asked for (a wrong limit starves a workload);
     * when on: p99 x 2, at least 10 MiB/s (1 MiB/s for the network) */
    p->res[FP_RES_DISK_READ] = (fp_res_policy){ false, 0.99, 2.0, 10 * MiB, 0, MiB, 0.20, 0.25 };
    p->res[FP_RES_DISK_WRITE] = p->res[FP_RES_DISK_READ];
    p->res[FP_RES_NET_RX] = (fp_res_policy){ false, 0.99, 2.0, MiB, 0, 65536, 0.20, 0.25 };
    p->res[FP_RES_NET_TX] = p->res[FP_RES_NET_RX];
    p->min_interval_s = 10;
    p->mem_margin_bytes = 32 * MiB;
    p->mem_margin_frac = 0.10;
    p->mem_max_over_high = 1.25;
    p->mem_react_s = 2;
    p->mem_rate_tau_s = 10;
    p->agree = 3;
    p->novel_above = 3;
    p->novel_mem_frac = 0;
    p->novel_anchor = 1;
    p->cpu_margin_frac = 0.25;
    p->oom_bump_bytes = 100 * MiB;
    p->oom_bump_factor = 1.2;
    p->throttle_frac = 0.25;
    p->throttle_streak = 2;
    p->throttle_bump = 1.5;
    p->cpu_hard = true;
    p->over = FP_OVER_SCALE;
    p->reserve_cpu_cores = 0;
    p->reserve_mem_bytes = 256 * MiB;
}

static const char *const over_names[] = { "scale", "priority", "refuse", "allow" };

const char *fp_overcommit_name(fp_overcommit o)
{
    return (unsigned)o < 4 ? over_names[o] : "?";
}

int fp_overcommit_parse(const char *s, fp_overcommit *o)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, over_names[i]) == 0) {
            *o = (fp_overcommit)i;
            return 0;
        }
    return -1;
}

/* A number member of a policy object, checked against [lo, hi]. Returns 1
 * when set, 0 when absent, -1 (FP_EINPUT naming file and key) when bad. */
static int num(const json_t *o, const char *key, double lo, double hi, double *out,
               const char *name, const char *where, fp_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!v) return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
        json_number_value(v) < lo || json_number_value(v) > hi)
        return fp_err_set(err, FP_EINPUT, "%s: %s%s must be a number in [%g, %g]",
                          name, where, key, lo, hi);
    *out = json_number_value(v);
    return 1;
}

/* Like num, for a quantity of kind: a JSON number, or a string as people
 * write it for Kubernetes and Docker ("512Mi", "2G", "500m" cores; see
 * fp/quantity.h). Messages name the file and the key. */
static int qty(const json_t *o, const char *key, fp_qty_kind kind, double lo, double hi, double *out,
               const char *name, const char *where, fp_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_number(v)) return num(o, key, lo, hi, out, name, where, err);
    if (!json_is_string(v))
        return fp_err_set(err, FP_EINPUT, "%s: %s%s must be a number or a quantity such as \"%s\"",
                          name, where, key, kind == FP_QTY_CORES ? "500m" : "512Mi");
    fp_err qe = {0};
    double x;
    if (fp_quantity_parse(json_string_value(v), kind, &x, &qe) < 0)
        return fp_err_set(err, FP_EINPUT, "%s: %s%s: %s", name, where, key, qe.msg);
    if (x < lo || x > hi)
        return fp_err_set(err, FP_EINPUT, "%s: %s%s: \"%.64s\" is %g %s, not in [%g, %g]", name, where,
                          key, json_string_value(v), x, fp_qty_kind_name(kind), lo, hi);
    *out = x;
    return 1;
}

static int check_keys(const json_t *o, const char *const *keys, const char *name,
                      const char *where, fp_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        bool known = false;
        for (int i = 0; keys[i]; i++) known |= strcmp(k, keys[i]) == 0;
        if (!known) return fp_err_set(err, FP_EINPUT, "%s: unknown policy key %s%s", name, where, k);
    }
    return 0;
}

int fp_policy_from_json(fp_policy *p, const json_t *o, const char *name, fp_err *err)
{
    static const char *const top[] = {
        "overcommit", "min_interval_s", "mem_margin_bytes", "mem_margin_frac",
        "mem_max_over_high", "mem_react_s", "mem_rate_tau_s", "agree", "novel_above",
        "novel_mem_frac", "novel_anchor", "cpu_margin_frac", "oom_bump_bytes", "oom_bump_factor", "throttle_frac",
        "throttle_streak", "throttle_bump", "cpu_hard", "reserve_cpu_cores",
        "reserve_mem_bytes", "pids_max", "resources", NULL };
    static const char *const per[] = {
        "enabled", "quantile", "headroom", "floor", "ceiling", "step", "hysteresis",
        "max_down", NULL };
    if (!json_is_object(o)) return fp_err_set(err, FP_EINPUT, "%s: a policy is a JSON object", name);
    if (check_keys(o, top, name, "", err) < 0) return -1;
    fp_policy q = *p;
    double streak = q.throttle_streak, agree = q.agree;
    if (num(o, "min_interval_s", 0, 1e9, &q.min_interval_s, name, "", err) < 0 ||
        qty(o, "mem_margin_bytes", FP_QTY_BYTES, 0, 1e15, &q.mem_margin_bytes, name, "", err) < 0 ||
        num(o, "mem_margin_frac", 0, 10, &q.mem_margin_frac, name, "", err) < 0 ||
        num(o, "mem_max_over_high", 1, 100, &q.mem_max_over_high, name, "", err) < 0 ||
        num(o, "mem_react_s", 0, 3600, &q.mem_react_s, name, "", err) < 0 ||
        num(o, "mem_rate_tau_s", 0.1, 1e6, &q.mem_rate_tau_s, name, "", err) < 0 ||
        num(o, "agree", 1, FP_AGREE_MAX, &agree, name, "", err) < 0 ||
        num(o, "novel_above", 0, 1e6, &q.novel_above, name, "", err) < 0 ||
        num(o, "novel_mem_frac", 0, 1, &q.novel_mem_frac, name, "", err) < 0 ||
        num(o, "novel_anchor", 0, 100, &q.novel_anchor, name, "", err) < 0 ||
        num(o, "cpu_margin_frac", 0, 10, &q.cpu_margin_frac, name, "", err) < 0 ||
        qty(o, "oom_bump_bytes", FP_QTY_BYTES, 0, 1e15, &q.oom_bump_bytes, name, "", err) < 0 ||
        num(o, "oom_bump_factor", 1, 100, &q.oom_bump_factor, name, "", err) < 0 ||
        num(o, "throttle_frac", 0, 1, &q.throttle_frac, name, "", err) < 0 ||
        num(o, "throttle_streak", 1, 1000, &streak, name, "", err) < 0 ||
        num(o, "throttle_bump", 1, 100, &q.throttle_bump, name, "", err) < 0 ||
        qty(o, "reserve_cpu_cores", FP_QTY_CORES, 0, 1e6, &q.reserve_cpu_cores, name, "", err) < 0 ||
        qty(o, "reserve_mem_bytes", FP_QTY_BYTES, 0, 1e18, &q.reserve_mem_bytes, name, "", err) < 0 ||
        num(o, "pids_max", 0, 4194304, &q.pids_max, name, "", err) < 0)
        return -1;
    q.throttle_streak = (int)streak;
    q.agree = (int)agree;
    json_t *v = json_object_get(o, "cpu_hard");
    if (v) {
        if (!json_is_boolean(v)) return fp_err_set(err, FP_EINPUT, "%s: cpu_hard must be true or false", name);
        q.cpu_hard = json_is_true(v);
    }
    v = json_object_get(o, "overcommit");
    if (v && fp_overcommit_parse(json_string_value(v), &q.over) < 0)
        return fp_err_set(err, FP_EINPUT, "%s: overcommit must be scale, priority, refuse or allow",
                          name);
    json_t *res = json_object_get(o, "resources");
    if (res) {
        if (!json_is_object(res))
            return fp_err_set(err, FP_EINPUT, "%s: resources must be an object", name);
        const char *k;
        json_t *r;
        json_object_foreach(res, k, r) {
            fp_resource i = fp_resource_by_name(k);
            char where[64];
            snprintf(where, sizeof where, "resources.%s.", k);
            if (i == FP_RES_COUNT)
                return fp_err_set(err, FP_EINPUT, "%s: unknown resource resources.%s", name, k);
            if (!json_is_object(r))
                return fp_err_set(err, FP_EINPUT, "%s: resources.%s must be an object", name, k);
            if (check_keys(r, per, name, where, err) < 0) return -1;
            fp_res_policy *rp = &q.res[i];
            fp_qty_kind kind = i == FP_RES_CPU ? FP_QTY_CORES : i == FP_RES_MEM ? FP_QTY_BYTES
                                                                                : FP_QTY_BYTES_PER_S;
            if (num(r, "quantile", 0.01, 0.999, &rp->quantile, name, where, err) < 0 ||
                num(r, "headroom", 1, 100, &rp->headroom, name, where, err) < 0 ||
                qty(r, "floor", kind, 0, 1e18, &rp->floor, name, where, err) < 0 ||
                qty(r, "ceiling", kind, 0, 1e18, &rp->ceiling, name, where, err) < 0 ||
                qty(r, "step", kind, 0, 1e12, &rp->step, name, where, err) < 0 ||
                num(r, "hysteresis", 0, 10, &rp->hysteresis, name, where, err) < 0 ||
                num(r, "max_down", 0.01, 1, &rp->max_down, name, where, err) < 0)
                return -1;
            json_t *e = json_object_get(r, "enabled");
            if (e) {
                if (!json_is_boolean(e))
                    return fp_err_set(err, FP_EINPUT, "%s: %senabled must be true or false",
                                      name, where);
                rp->enabled = json_is_true(e);
            }
            if (rp->ceiling > 0 && rp->ceiling < rp->floor)
                return fp_err_set(err, FP_EINPUT, "%s: %sceiling is below its floor", name, where);
        }
    }
    *p = q;
    return 0;
}

int fp_policy_load(fp_policy *p, const char *path, fp_err *err)
{
    json_error_t je;
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "%s: cannot open policy", path);
    json_t *o = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!o) return fp_err_set(err, FP_EINPUT, "%s:%d: %s", path, je.line, je.text);
    int rc = fp_policy_from_json(p, o, path, err);
    json_decref(o);
    return rc;
}

json_t *fp_policy_to_json(const fp_policy *p)
{
    json_t *res = json_object();
    for (int i = 0; i < FP_RES_COUNT; i++) {
        const fp_res_policy *r = &p->res[i];
        json_object_set_new(res, fp_resource_name(i),
            json_pack("{s:b,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "enabled", r->enabled,
                      "quantile", r->quantile, "headroom", r->headroom, "floor", r->floor,
                      "ceiling", r->ceiling, "step", r->step, "hysteresis", r->hysteresis,
                      "max_down", r->max_down));
    }
    return json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:f,s:b,s:f,s:f,s:f,s:o}",
                     "overcommit", fp_overcommit_name(p->over),
                     "min_interval_s", p->min_interval_s,
                     "mem_margin_bytes", p->mem_margin_bytes,
                     "mem_margin_frac", p->mem_margin_frac,
                     "mem_max_over_high", p->mem_max_over_high,
                     "mem_react_s", p->mem_react_s,
                     "mem_rate_tau_s", p->mem_rate_tau_s,
                     "agree", p->agree,
                     "novel_above", p->novel_above,
                     "novel_mem_frac", p->novel_mem_frac,
                     "novel_anchor", p->novel_anchor,
                     "cpu_margin_frac", p->cpu_margin_frac,
                     "oom_bump_bytes", p->oom_bump_bytes,
                     "oom_bump_factor", p->oom_bump_factor,
                     "throttle_frac", p->throttle_frac,
                     "throttle_streak", p->throttle_streak,
                     "throttle_bump", p->throttle_bump,
                     "cpu_hard", p->cpu_hard,
                     "reserve_cpu_cores", p->reserve_cpu_cores,
                     "reserve_mem_bytes", p->reserve_mem_bytes,
                     "pids_max", p->pids_max,
                     "resources", res);
}

/* Online CPUs (cpuN lines of <proc>/stat) and MemTotal. */
int fp_capacity_read(const fp_roots *r, fp_capacity *c, fp_err *err)
{
    char path[FP_PATH_MAX], line[512];
    memset(c, 0, sizeof *c);
    if (fp_path(path, sizeof path, "%s/stat", r->proc) < 0)
        return fp_err_set(err, FP_EUSAGE, "proc root too long");
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "%s", path);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') c->cpu_cores++;
    fclose(f);
    if (fp_path(path, sizeof path, "%s/meminfo", r->proc) < 0)
        return fp_err_set(err, FP_EUSAGE, "proc root too long");
    f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "%s", path);
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) break;
    fclose(f);
    c->mem_bytes = (double)kb * 1024;
    if (c->cpu_cores <= 0 || c->mem_bytes <= 0)
        return fp_err_set(err, FP_ESYS, "cannot read the machine's CPUs and memory from %s",
                          r->proc);
    return 0;
}

static double round_up(double v, double step)
{
    return step > 0 ? ceil(v / step - 1e-9) * step : v;
}

/* A finite limit currently in effect or granted, else NAN. */
static double current(const fp_apply_state *st, const fp_observed *o, size_t off)
{
    double g = st->applied ? *(const double *)((const char *)&st->granted + off) : FP_UNSET;
    double n = *(const double *)((const char *)&o->now + off);
    if (g >= 0) return g;
    if (n >= 0) return n;
    return NAN;
}
#define CUR(st, o, field) current(st, o, offsetof(fp_limits, field))

/* Gentle change from cur to v: hysteresis, rate limit of decreases, and at
 * most max_down per change. Returns the value to set, or FP_UNSET to leave
 * the limit as it is; explains itself in why. */
static double settle(const fp_res_policy *rp, fp_resource r, double cur, double v, bool may_shrink,
                     char *why, size_t n)
{
    char hb[48];                       /* cur for a person (fp_fmt: MiB, cores) */
    if (isnan(cur)) return v;
    fp_fmt_resource(r, cur, hb, sizeof hb);
    if (cur > 0 && fabs(v - cur) / cur < rp->hysteresis) {
        size_t k = strlen(why);
        snprintf(why + k, n - k, "; within hysteresis of %s, unchanged", hb);
        return FP_UNSET;
    }
    if (v < cur) {
        if (!may_shrink) {
            size_t k = strlen(why);
            snprintf(why + k, n - k, "; shrink deferred (min interval)");
            return FP_UNSET;
        }
        double lo = cur * (1 - rp->max_down);
        if (v < lo) {
            size_t k = strlen(why);
            snprintf(why + k, n - k, "; shrink limited to -%g%% of %s", rp->max_down * 100, hb);
            v = lo;
        }
    }
    return v;
}

static void add_why(char *why, size_t n, const char *fmt, double a)
{
    size_t k = strlen(why);
    snprintf(why + k, n - k, fmt, a);
}

/* Append what and the text t (a quantity from fp_fmt) to why. */
static void add_text(char *why, size_t n, const char *what, const char *t)
{
    size_t k = strlen(why);
    snprintf(why + k, n - k, "%s%s", what, t);
}

/* Follow the usage: its peak and its recent growth rate (the fastest rise
 * between two looks, decaying once it stops). */
static void watch_growth(const fp_policy *pol, const fp_observed *o, fp_apply_state *st,
                         double now)
{
    if (o->mem_bytes < 0) return;
    if (o->mem_bytes > st->mem_peak) st->mem_peak = o->mem_bytes;
    if (st->mem_at > 0 && now > st->mem_at) {
        double dt = now - st->mem_at, inst = (o->mem_bytes - st->mem_seen) / dt;
        double decayed = st->mem_rate * exp(-dt / (pol->mem_rate_tau_s > 0 ? pol->mem_rate_tau_s : 10));
        st->mem_rate = inst > decayed ? inst : decayed;
    }
    st->mem_seen = o->mem_bytes;
    st->mem_at = now > 0 ? now : 1e-9;
}

/* The growth-aware memory floor of fp/policy.h; 0 when usage is unknown. */
static double mem_floor_of(const fp_policy *pol, const fp_observed *o, const fp_apply_state *st)
{
    if (o->mem_bytes < 0) return 0;
    double base = o->mem_bytes > st->mem_peak ? o->mem_bytes : st->mem_peak;
    /* the growth term is at most the usage itself: a burst (one large
     * allocation) says little about how much more will come, and the
     * kernel's notifications answer between looks */
    double grow = st->mem_rate > 0 ? st->mem_rate * pol->mem_react_s : 0;
    if (grow > base) grow = base;
    return base * (1 + pol->mem_margin_frac) + pol->mem_margin_bytes + grow;
}

/* Agreement: v is this prediction's value for resource r (already in the
 * ring); cur the value in place. A v below cur stands only when the last
 * `agree` predictions all asked for less, and then the largest of them
 * does; otherwise cur stays. */
static double agreed(const fp_policy *pol, const fp_apply_state *st, int r, double v, double cur,
                     char *why, size_t n)
{
    if (isnan(cur) || v >= cur || pol->agree <= 1) return v;
    int k = pol->agree > FP_AGREE_MAX ? FP_AGREE_MAX : pol->agree;
    if (st->nrecent + 1 < k) {
        add_why(why, n, "; lower only after %g predictions agree", k);
        return cur;
    }
    double m = v;
    for (int i = 0; i < k; i++)
        if (st->recent[r][i] > m) m = st->recent[r][i];
    if (m >= cur) {
        add_why(why, n, "; the last %g predictions do not all agree to lower", k);
        return cur;
    }
    if (m > v) add_why(why, n, "; lowered to the largest of the last %g predictions", k);
    return m;
}

/* The memory limits a raise goes to (growth between predictions, or the
 * kernel's word, fp_policy_press): soft = max(floor, soft now x
 * oom_bump_factor), hard = soft x mem_max_over_high and, at the hard limit,
 * at least max(hard now + oom_bump_bytes, hard now x oom_bump_factor); both
 * rounded up to the step and capped at ceil_, soft never above hard. */
static void mem_raise(const fp_policy *pol, double floor_, double cur_high, double cur_max,
                      bool at_limit, double ceil_, double *high, double *max)
{
    const fp_res_policy *rp = &pol->res[FP_RES_MEM];
    double h = floor_;
    if (!isnan(cur_high) && cur_high * pol->oom_bump_factor > h) h = cur_high * pol->oom_bump_factor;
    h = round_up(h, rp->step);
    double m = round_up(h * pol->mem_max_over_high, rp->step);
    if (at_limit && !isnan(cur_max)) {
        double bump = round_up(fmax(cur_max + pol->oom_bump_bytes, cur_max * pol->oom_bump_factor),
                               rp->step);
        if (bump > m) m = bump;
    }
    if (h > ceil_) h = ceil_;
    if (m > ceil_) m = ceil_;
    *high = h > m ? m : h;
    *max = m;
}

void fp_policy_decide(const fp_policy *pol, const fp_capacity *cap, const fp_prediction *p,
                      const fp_observed *o, fp_apply_state *st, double now, fp_decision *d)
{
    memset(d, 0, sizeof *d);
    fp_limits_unset(&d->want);
    for (int i = 0; i < FP_RES_COUNT; i++) d->wanted[i] = NAN;
    bool may_shrink = !st->applied || now - st->last_change >= pol->min_interval_s;
    const char *reason = NULL;

    /* events since the last look */
    bool oom = st->looked && o->oom_kills >= 0 && st->oom_seen >= 0 && o->oom_kills > st->oom_seen;
    bool throttled = false, interval_throttled = false;
    if (o->throttled_s >= 0) {
        if (st->looked && st->throttled_seen >= 0 && now > st->throttled_at) {
            double share = (o->throttled_s - st->throttled_seen) / (now - st->throttled_at);
            interval_throttled = share > pol->throttle_frac;
            st->throttle_streak = share > pol->throttle_frac ? st->throttle_streak + 1 : 0;
            if (st->throttle_streak >= pol->throttle_streak) {
                throttled = true;
                st->throttle_streak = 0;
            }
        }
        st->throttled_seen = o->throttled_s;
        st->throttled_at = now;
    } else {
        st->throttled_seen = -1;
    }
    /* CPU demand: the rate over the interval since the last look, when
     * that interval was not throttled (else it says only what the quota
     * let through; the throttling rule raises then) */
    if (o->cpu_s >= 0) {
        if (st->looked && st->cpu_at > 0 && now > st->cpu_at && o->cpu_s >= st->cpu_seen &&
            !interval_throttled)
            st->cpu_demand = (o->cpu_s - st->cpu_seen) / (now - st->cpu_at);
        st->cpu_seen = o->cpu_s;
        st->cpu_at = now > 0 ? now : 1e-9;
    }
    st->oom_seen = o->oom_kills;
    st->looked = true;

    /* memory safety floor: usage or peak, margins, and growth */
    watch_growth(pol, o, st, now);
    double mem_floor = mem_floor_of(pol, o, st);
    int slot = pol->agree > 0 ? st->nrecent % (pol->agree > FP_AGREE_MAX ? FP_AGREE_MAX : pol->agree) : 0;

    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_res_policy *rp = &pol->res[r];
        char *why = d->why[r];
        if (!rp->enabled) {
            snprintf(why, FP_WHY_MAX, "disabled by policy");
            continue;
        }
        if (!p) continue;
        const fp_quantiles *q = &p->q[r];
        if (q->n <= 0) {
            snprintf(why, FP_WHY_MAX, "not predicted: %s", q->why[0] ? q->why : "no quantiles");
            continue;
        }
        char key[16];
        fp_quantile_key(rp->quantile, key, sizeof key);
        bool exact;
        double v = fp_quantile_at(q, rp->quantile, &exact) * rp->headroom;
        snprintf(why, FP_WHY_MAX, "%s%s x %g", key, exact ? "" : " (interpolated)", rp->headroom);
        double ceil_ = rp->ceiling > 0 ? rp->ceiling
                     : r == FP_RES_CPU ? cap->cpu_cores
                     : r == FP_RES_MEM ? cap->mem_bytes : 0;
        char hb[48];
        if (v < rp->floor) {
            v = rp->floor;
            fp_fmt_resource((fp_resource)r, rp->floor, hb, sizeof hb);
            add_text(why, FP_WHY_MAX, "; floor ", hb);
        }
        v = round_up(v, rp->step);
        if (ceil_ > 0 && v > ceil_) {
            v = ceil_;
            fp_fmt_resource((fp_resource)r, ceil_, hb, sizeof hb);
            add_text(why, FP_WHY_MAX, "; ceiling ", hb);
        }
        if (r == FP_RES_MEM && st->watched && p->has_novelty && p->novelty > pol->novel_above &&
            !p->has_prior && pol->novel_anchor > 0 && !(pol->novel_mem_frac > 0) && mem_floor > 0) {
            /* nothing known of this workload: its own usage is the evidence */
            double a = round_up(fmax(mem_floor * pol->novel_anchor, rp->floor), rp->step);
            if (a < v) {
                char nb[120], ab[32];
                v = a;
                snprintf(nb, sizeof nb, "; novel (%.3g > %g), no history: from its own usage, "
                         "growth floor x %g = %s", p->novelty, pol->novel_above, pol->novel_anchor,
                         fp_fmt_bytes(a, ab, sizeof ab));
                add_text(why, FP_WHY_MAX, nb, "");
            }
        }
        d->wanted[r] = v;
        st->recent[r][slot] = v;
        {
            double cur_r = r == FP_RES_CPU ? (pol->cpu_hard ? CUR(st, o, cpu_max_cores)
                                                            : CUR(st, o, cpu_weight_cores))
                         : r == FP_RES_MEM ? CUR(st, o, mem_high_bytes)
                         : r == FP_RES_DISK_READ ? CUR(st, o, io_read_Bps)
                         : r == FP_RES_DISK_WRITE ? CUR(st, o, io_write_Bps)
                         : r == FP_RES_NET_TX ? CUR(st, o, net_tx_Bps) : NAN;
            if (st->applied) v = agreed(pol, st, r, v, cur_r, why, FP_WHY_MAX);
        }
        switch (r) {
        case FP_RES_CPU: {
            /* weight and quota settle each against its own value in place */
            char tmp[FP_WHY_MAX];
            snprintf(tmp, sizeof tmp, "%s", why);
            size_t base = strlen(tmp);     /* what the quota's own why adds to */
            d->want.cpu_weight_cores = settle(rp, (fp_resource)r, CUR(st, o, cpu_weight_cores), v, may_shrink,
                                              why, FP_WHY_MAX);
            if (pol->cpu_hard) {
                /* CPU safety floor on the quota */
                double qv = v, cfloor = st->cpu_demand * (1 + pol->cpu_margin_frac);
                if (st->cpu_demand > 0 && qv < cfloor) {
                    qv = round_up(cfloor, rp->step);
                    if (ceil_ > 0 && qv > ceil_) qv = ceil_;
                    char qb[32];
                    add_text(tmp, sizeof tmp, "; quota raised to demand + margin ",
                             fp_fmt(qv, FP_UNIT_CORES, qb, sizeof qb));
                }
                double m = settle(rp, (fp_resource)r, CUR(st, o, cpu_max_cores), qv, may_shrink, tmp, sizeof tmp);
                /* a shrink limited by max_down, or a quota kept by
                 * hysteresis, must still respect the floor */
                double cm = CUR(st, o, cpu_max_cores);
                if (st->cpu_demand > 0 && m >= 0 && m < qv) m = qv;
                if (st->cpu_demand > 0 && m < 0 && !isnan(cm) && cm < qv) m = qv;
                d->want.cpu_max_cores = m;
                /* the quota binds: its why, when it says more than the
                 * base (not whichever text is longer: the units make
                 * the weight's longer) */
                if (strlen(tmp) > base) snprintf(why, FP_WHY_MAX, "%s", tmp);
            }
            break;
        }
        case FP_RES_MEM: {
            /* the generous way: the request when the workload declared one
             * (the quantiles were capped at it), else a share of the machine */
            if (!st->applied && p->has_novelty && p->novelty > pol->novel_above &&
                pol->novel_mem_frac > 0 && !p->capped_by[FP_RES_MEM][0] &&
                cap->mem_bytes * pol->novel_mem_frac > v) {
                v = round_up(cap->mem_bytes * pol->novel_mem_frac, rp->step);
                if (ceil_ > 0 && v > ceil_) v = ceil_;
                char nb[96];
                snprintf(nb, sizeof nb, "; novel (%.3g > %g): generous first limit", p->novelty,
                         pol->novel_above);
                size_t k = strlen(why);
                char vb[32];
                snprintf(why + k, FP_WHY_MAX - k, "%s %s", nb, fp_fmt_bytes(v, vb, sizeof vb));
            }
            double high = v, max;
            if (high < mem_floor) {
                char fb[32];
        add_text(why, FP_WHY_MAX, "; raised to usage + margin + growth ", fp_fmt_bytes(mem_floor, fb, sizeof fb));
                high = round_up(mem_floor, rp->step);
            }
            max = round_up(high * pol->mem_max_over_high, rp->step);
            if (ceil_ > 0 && max > ceil_ && high <= ceil_) max = ceil_ > high ? ceil_ : high;
            double sh = settle(rp, (fp_resource)r, CUR(st, o, mem_high_bytes), high, may_shrink, why, FP_WHY_MAX);
            double sm = settle(rp, (fp_resource)r, CUR(st, o, mem_max_bytes), max, may_shrink, why, FP_WHY_MAX);
            /* a shrink limited by max_down must still respect safety */
            if (sh >= 0 && sh < mem_floor) sh = round_up(mem_floor, rp->step);
            if (sm >= 0 && sm < mem_floor) sm = round_up(mem_floor, rp->step);
            /* and so must a limit left in place by hysteresis or a deferred
             * shrink: the safety floor always wins */
            double ch = CUR(st, o, mem_high_bytes), cm = CUR(st, o, mem_max_bytes);
            if (sh < 0 && ch < mem_floor) sh = round_up(mem_floor, rp->step);
            if (sm < 0 && cm < mem_floor) sm = round_up(mem_floor, rp->step);
            d->want.mem_high_bytes = sh;
            d->want.mem_max_bytes = sm;
            /* soft never above hard */
            double hard = sm >= 0 ? sm : CUR(st, o, mem_max_bytes);
            if (sh >= 0 && !isnan(hard) && sh > hard) d->want.mem_high_bytes = hard;
            break;
        }
        case FP_RES_DISK_READ:
            d->want.io_read_Bps = settle(rp, (fp_resource)r, CUR(st, o, io_read_Bps), v, may_shrink, why, FP_WHY_MAX);
            break;
        case FP_RES_DISK_WRITE:
            d->want.io_write_Bps = settle(rp, (fp_resource)r, CUR(st, o, io_write_Bps), v, may_shrink, why, FP_WHY_MAX);
            break;
        case FP_RES_NET_TX:
            d->want.net_tx_Bps = settle(rp, (fp_resource)r, CUR(st, o, net_tx_Bps), v, may_shrink, why, FP_WHY_MAX);
            break;
        case FP_RES_NET_RX:
            snprintf(why, FP_WHY_MAX, "ingress is not limited (egress only, with tc)");
            d->wanted[r] = NAN;
            break;
        default:
            break;
        }
        if (!reason) reason = "prediction";
    }

    if (p) st->nrecent++;

    /* a fixed task limit, when the policy has one */
    if (p && pol->pids_max > 0) {
        double cur = CUR(st, o, pids_max);
        if (isnan(cur) || cur != pol->pids_max) {
            d->want.pids_max = pol->pids_max;
            if (!reason) reason = "prediction";
        }
    }

    /* between predictions, a look keeps memory above the growth-aware
     * floor: raises only */
    if (!p && st->applied && pol->res[FP_RES_MEM].enabled && mem_floor > 0) {
        const fp_res_policy *rp = &pol->res[FP_RES_MEM];
        double ch = CUR(st, o, mem_high_bytes), cm = CUR(st, o, mem_max_bytes);
        double ceil_ = rp->ceiling > 0 ? rp->ceiling : cap->mem_bytes;
        double fl = round_up(mem_floor, rp->step);
        if (fl > ceil_) fl = ceil_;
        if ((!isnan(ch) && fl > ch) || (!isnan(cm) && fl > cm)) {
            /* at least x oom_bump_factor, so a steady grower is raised in
             * a few steps, not at every look */
            double high, max;
            mem_raise(pol, fl, ch, cm, false, ceil_, &high, &max);
            if (!isnan(ch) && high > ch) d->want.mem_high_bytes = high;
            if (!isnan(cm) && max > cm) d->want.mem_max_bytes = max;
            char b1[32], b2[32], b3[32], b4[32];
            snprintf(d->why[FP_RES_MEM], FP_WHY_MAX, "usage %s growing %s passed the "
                     "growth floor %s: soft raised to %s", fp_fmt_bytes(o->mem_bytes, b1, sizeof b1),
                     fp_fmt(st->mem_rate > 0 ? st->mem_rate : 0, FP_UNIT_BYTES_PS, b2, sizeof b2),
                     fp_fmt_bytes(fl, b3, sizeof b3), fp_fmt_bytes(high, b4, sizeof b4));
            reason = "growth";
        }
    }

    /* raises after an OOM kill or sustained throttling override the rest */
    if (oom && pol->res[FP_RES_MEM].enabled) {
        double cur_max = CUR(st, o, mem_max_bytes), cur_high = CUR(st, o, mem_high_bytes);
        if (isnan(cur_max)) cur_max = o->mem_bytes > 0 ? o->mem_bytes : 0;
        double bump = fmax(cur_max + pol->oom_bump_bytes, cur_max * pol->oom_bump_factor);
        bump = round_up(bump, pol->res[FP_RES_MEM].step);
        if (d->want.mem_max_bytes < bump) d->want.mem_max_bytes = bump;
        if (!isnan(cur_high)) {
            double bh = round_up(fmax(cur_high + pol->oom_bump_bytes,
                                      cur_high * pol->oom_bump_factor), pol->res[FP_RES_MEM].step);
            if (bh > bump) bh = bump;
            if (d->want.mem_high_bytes < bh) d->want.mem_high_bytes = bh;
        }
        char b1[32], b2[32];
        snprintf(d->why[FP_RES_MEM], FP_WHY_MAX,
                 "OOM kill (%g -> %g): memory raised to max(+%s, x%g) = %s",
                 st->oom_seen >= 0 ? o->oom_kills - 1 : 0, o->oom_kills,
                 fp_fmt_bytes(pol->oom_bump_bytes, b1, sizeof b1), pol->oom_bump_factor,
                 fp_fmt_bytes(bump, b2, sizeof b2));
        reason = "oom";
    }
    if (throttled && pol->res[FP_RES_CPU].enabled && pol->cpu_hard) {
        double cur = CUR(st, o, cpu_max_cores);
        if (!isnan(cur)) {
            double v = round_up(cur * pol->throttle_bump, pol->res[FP_RES_CPU].step);
            if (v > cap->cpu_cores) v = cap->cpu_cores;
            if (v > cur && d->want.cpu_max_cores < v) {
                d->want.cpu_max_cores = v;
                if (d->want.cpu_weight_cores < v) d->want.cpu_weight_cores = v;
                char b1[32];
                snprintf(d->why[FP_RES_CPU], FP_WHY_MAX,
                         "throttled more than %g%% of the time for %d looks: quota x%g = %s",
                         pol->throttle_frac * 100, pol->throttle_streak, pol->throttle_bump,
                         fp_fmt(v, FP_UNIT_CORES, b1, sizeof b1));
                if (!reason || strcmp(reason, "prediction") == 0) reason = "throttling";
            }
        }
    }
    bool any = d->want.cpu_max_cores >= 0 || d->want.cpu_weight_cores >= 0 ||
               d->want.mem_high_bytes >= 0 || d->want.mem_max_bytes >= 0 ||
               d->want.io_read_Bps >= 0 || d->want.io_write_Bps >= 0 ||
               d->want.net_tx_Bps >= 0 || d->want.pids_max >= 0;
    snprintf(d->reason, sizeof d->reason, "%s", any && reason ? reason : "hold");
}

void fp_apply_state_init(fp_apply_state *st)
{
    memset(st, 0, sizeof *st);   /* granted is read only once applied */
    st->oom_seen = st->throttled_seen = -1;
}

void fp_apply_state_commit(fp_apply_state *st, const fp_limits *g, double now)
{
    fp_limits *dst = &st->granted;
    if (!st->applied) fp_limits_unset(dst);
#define FP_TAKE(f) if (g->f != FP_UNSET) dst->f = g->f
    FP_TAKE(cpu_max_cores); FP_TAKE(cpu_weight_cores);
    FP_TAKE(mem_high_bytes); FP_TAKE(mem_max_bytes);
    FP_TAKE(io_read_Bps); FP_TAKE(io_write_Bps);
    FP_TAKE(pids_max); FP_TAKE(net_tx_Bps);
#undef FP_TAKE
    st->applied = true;
    st->last_change = now;
}

const char *fp_policy_share(const fp_policy *pol, const fp_capacity *cap, fp_share *s, int n,
                            char *buf, size_t bufn)
{
    static const char *const what[2] = { "cpu", "memory" };
    double capv[2] = { cap->cpu_cores - pol->reserve_cpu_cores,
                       cap->mem_bytes - pol->reserve_mem_bytes };
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        s[i].note[0] = 0;
        s[i].grant[0] = s[i].want[0];
        s[i].grant[1] = s[i].want[1];
    }
    for (int k = 0; k < 2; k++) {
        double sum = 0, floors = 0;
        for (int i = 0; i < n; i++)
            if (s[i].want[k] >= 0) {
                sum += s[i].want[k];
                floors += fmax(s[i].floor[k], 0);
            }
        size_t len = strlen(buf);
        if (sum <= capv[k]) continue;
        if (pol->over == FP_OVER_ALLOW) {
            snprintf(buf + len, bufn - len, "%s%s overcommitted x%.2f (allowed)",
                     len ? "; " : "", what[k], sum / capv[k]);
            continue;
        }
        if (floors >= capv[k]) {
            /* safety first: everyone gets exactly its floor */
            for (int i = 0; i < n; i++)
                if (s[i].want[k] >= 0) s[i].grant[k] = fmax(s[i].floor[k], 0);
            snprintf(buf + len, bufn - len, "%s%s: safety floors alone exceed the capacity "
                     "(%.4g > %.4g); granted floors", len ? "; " : "", what[k], floors, capv[k]);
            continue;
        }
        if (pol->over == FP_OVER_SCALE) {
            double f = (capv[k] - floors) / (sum - floors);
            for (int i = 0; i < n; i++) {
                if (s[i].want[k] < 0) continue;
                double fl = fmax(s[i].floor[k], 0);
                s[i].grant[k] = fl + (fmax(s[i].want[k], fl) - fl) * f;
                snprintf(s[i].note, sizeof s[i].note, "%s scaled x%.3f to fit the machine",
                         what[k], f);
            }
            snprintf(buf + len, bufn - len, "%s%s scaled x%.3f (proportional): wanted %.4g, "
                     "capacity %.4g", len ? "; " : "", what[k], f, sum, capv[k]);
        } else if (pol->over == FP_OVER_PRIORITY) {
            /* order by priority, highest first (stable: input order) */
            int idx[n > 0 ? n : 1];
            for (int i = 0; i < n; i++) idx[i] = i;
            for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && s[idx[j]].priority > s[idx[j - 1]].priority; j--) {
                    int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t;
                }
            double left = capv[k] - floors;
            for (int j = 0; j < n; j++) {
                fp_share *x = &s[idx[j]];
                if (x->want[k] < 0) continue;
                double fl = fmax(x->floor[k], 0), extra = fmax(x->want[k] - fl, 0);
                double got = extra < left ? extra : left;
                left -= got;
                x->grant[k] = fl + got;
                if (got < extra)
                    snprintf(x->note, sizeof x->note, "%s cut to %.4g by priority %d",
                             what[k], x->grant[k], x->priority);
            }
            snprintf(buf + len, bufn - len, "%s%s shared by priority: wanted %.4g, capacity %.4g",
                     len ? "; " : "", what[k], sum, capv[k]);
        } else { /* refuse: raises that do not fit keep the previous limits */
            double total = 0;
            for (int i = 0; i < n; i++)
                if (s[i].want[k] >= 0)
                    total += s[i].prev[k] >= 0 && s[i].want[k] > s[i].prev[k] ? s[i].prev[k]
                           : s[i].prev[k] < 0 ? 0 : s[i].want[k];
            for (int i = 0; i < n; i++) {
                if (s[i].want[k] < 0) continue;
                double base = s[i].prev[k] >= 0 ? fmin(s[i].prev[k], s[i].want[k]) : 0;
                double inc = s[i].want[k] - base;
                if (inc <= 0) continue;
                if (total + inc <= capv[k]) {
                    total += inc;
                    continue;
                }
                s[i].grant[k] = s[i].prev[k] >= 0 ? s[i].prev[k] : FP_UNSET;
                snprintf(s[i].note, sizeof s[i].note, "%s raise refused: would overcommit "
                         "(%.4g wanted, capacity %.4g)", what[k], sum, capv[k]);
            }
            snprintf(buf + len, bufn - len, "%s%s: raises that would overcommit refused",
                     len ? "; " : "", what[k]);
        }
    }
    if (!buf[0]) snprintf(buf, bufn, "fits");
    return buf;
}

void fp_policy_press(const fp_policy *pol, const fp_capacity *cap, const fp_observed *o,
                     fp_apply_state *st, double now, bool at_limit, fp_decision *d)
{
    memset(d, 0, sizeof *d);
    fp_limits_unset(&d->want);
    for (int i = 0; i < FP_RES_COUNT; i++) d->wanted[i] = NAN;
    snprintf(d->reason, sizeof d->reason, "hold");
    watch_growth(pol, o, st, now);
    const fp_res_policy *rp = &pol->res[FP_RES_MEM];
    char *why = d->why[FP_RES_MEM];
    double cur_high = CUR(st, o, mem_high_bytes), cur_max = CUR(st, o, mem_max_bytes);
    if (!rp->enabled || !st->applied || (isnan(cur_high) && isnan(cur_max))) {
        snprintf(why, FP_WHY_MAX, "memory is not limited by fp");
        return;
    }
    double ceil_ = rp->ceiling > 0 ? rp->ceiling : cap->mem_bytes;
    double use = o->mem_bytes >= 0 ? o->mem_bytes : 0;
    if (ceil_ < use) ceil_ = use;
    double high, max;
    mem_raise(pol, mem_floor_of(pol, o, st), cur_high, cur_max, at_limit, ceil_, &high, &max);
    bool up_h = !isnan(cur_high) && high > cur_high, up_m = !isnan(cur_max) && max > cur_max;
    if (at_limit && !up_m && rp->ceiling <= 0 && !isnan(cur_max)) {
        /* at its hard limit at the machine's memory: no limit of fp's may
         * be what kills it; the kernel's own OOM handling applies, as
         * without fp */
        if (up_h) d->want.mem_high_bytes = high;
        d->want.mem_max_bytes = FP_UNLIMITED;
        char cb[32];
        snprintf(why, FP_WHY_MAX, "at its hard limit at the machine's memory (%s): "
                 "hard limit removed", fp_fmt_bytes(ceil_, cb, sizeof cb));
        snprintf(d->reason, sizeof d->reason, "pressure");
        return;
    }
    if (!up_h && !up_m) {
        char cb[32];
        snprintf(why, FP_WHY_MAX, "pressed against its limits at the %s (%s)",
                 rp->ceiling > 0 ? "policy's ceiling" : "machine's memory", fp_fmt_bytes(ceil_, cb, sizeof cb));
        return;
    }
    if (up_h) d->want.mem_high_bytes = high;
    if (up_m) d->want.mem_max_bytes = max;
    d->wanted[FP_RES_MEM] = high;
    char bu[32], br[32], bh0[32], bh1[32], bm0[32], bm1[32];
    snprintf(why, FP_WHY_MAX, "%s at %s (growing %s): soft %s -> %s, hard %s -> %s",
             at_limit ? "at its hard limit" : "pressing on its soft limit", fp_fmt_bytes(use, bu, sizeof bu),
             fp_fmt(st->mem_rate > 0 ? st->mem_rate : 0, FP_UNIT_BYTES_PS, br, sizeof br),
             isnan(cur_high) ? "none" : fp_fmt_bytes(cur_high, bh0, sizeof bh0),
             fp_fmt_bytes(up_h ? high : cur_high, bh1, sizeof bh1),
             isnan(cur_max) ? "none" : fp_fmt_bytes(cur_max, bm0, sizeof bm0),
             fp_fmt_bytes(up_m ? max : cur_max, bm1, sizeof bm1));
    snprintf(d->reason, sizeof d->reason, "pressure");
}
