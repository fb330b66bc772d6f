/* prediction.c - `prediction` records (fp/prediction.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp/prediction.h"

static const char *const res_names[FP_RES_COUNT] = {
#define FP_X_NAME(e, n, m, u) n,
    FP_RESOURCES(FP_X_NAME)
#undef FP_X_NAME
};

const char *fp_resource_name(fp_resource r)
{
    return (unsigned)r < FP_RES_COUNT ? res_names[r] : "?";
}

fp_resource fp_resource_by_name(const char *name)
{
    for (int i = 0; i < FP_RES_COUNT; i++)
        if (name && strcmp(name, res_names[i]) == 0) return (fp_resource)i;
    return FP_RES_COUNT;
}

/* "p" then a percentage in (0,100) with at most 3 decimals: "p50",
 * "p99.9". Anything else (a sign, an exponent, "p100") is malformed. */
double fp_quantile_level(const char *key)
{
    if (!key || key[0] != 'p' || !key[1]) return -1;
    const char *s = key + 1;
    int digits = 0, decimals = 0;
    bool dot = false;
    for (const char *c = s; *c; c++) {
        if (*c == '.') {
            if (dot || !digits) return -1;
            dot = true;
        } else if (*c >= '0' && *c <= '9') {
            if (dot) decimals++; else digits++;
        } else {
            return -1;
        }
    }
    if (digits > 2 || decimals > 3 || (dot && !decimals)) return -1;
    double pct = strtod(s, NULL);
    if (!(pct > 0 && pct < 100)) return -1;
    return pct / 100;
}

void fp_quantile_key(double level, char *buf, size_t n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.3f", level * 100);
    char *e = tmp + strlen(tmp) - 1;       /* drop trailing zeros and dot */
    while (*e == '0') *e-- = 0;
    if (*e == '.') *e = 0;
    snprintf(buf, n, "p%s", tmp);
}

double fp_quantile_at(const fp_quantiles *q, double level, bool *exact)
{
    if (exact) *exact = false;
    if (q->n <= 0) return NAN;
    for (int i = 0; i < q->n; i++)
        if (fabs(q->level[i] - level) < 1e-9) {
            if (exact) *exact = true;
            return q->value[i];
        }
    if (level <= q->level[0]) return q->value[0];
    if (level >= q->level[q->n - 1]) return q->value[q->n - 1];
    int i = 1;
    while (q->level[i] < level) i++;
    double f = (level - q->level[i - 1]) / (q->level[i] - q->level[i - 1]);
    return q->value[i - 1] + f * (q->value[i] - q->value[i - 1]);
}

/* Parse one resource's quantile object into q: keys pNN, values finite
 * numbers >= 0, non-decreasing with the level. */
static int parse_quantiles(const char *res, const json_t *o, fp_quantiles *q, fp_err *err)
{
    const char *key;
    json_t *v;
    q->n = 0;
    json_object_foreach((json_t *)o, key, v) {
        double level = fp_quantile_level(key);
        if (level < 0)
            return fp_err_set(err, FP_EINPUT, "quantiles.%s: \"%s\" is not a quantile key "
                              "(p50, p90, p99.9)", res, key);
        if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0)
            return fp_err_set(err, FP_EINPUT, "quantiles.%s.%s is not a finite number >= 0",
                              res, key);
        if (q->n >= FP_QMAX)
            return fp_err_set(err, FP_EINPUT, "quantiles.%s has more than %d levels",
                              res, FP_QMAX);
        /* insertion by level */
        int i = q->n++;
        while (i > 0 && q->level[i - 1] > level) {
            q->level[i] = q->level[i - 1];
            q->value[i] = q->value[i - 1];
            i--;
        }
        if (i > 0 && q->level[i - 1] == level)
            return fp_err_set(err, FP_EINPUT, "quantiles.%s repeats level %s", res, key);
        q->level[i] = level;
        q->value[i] = json_number_value(v);
    }
    for (int i = 1; i < q->n; i++)
        if (q->value[i] < q->value[i - 1]) {
            char a[16], b[16];
            fp_quantile_key(q->level[i - 1], a, sizeof a);
            fp_quantile_key(q->level[i], b, sizeof b);
            return fp_err_set(err, FP_EINPUT, "quantiles.%s: %s (%g) is below %s (%g)",
                              res, b, q->value[i], a, q->value[i - 1]);
        }
    if (q->n == 0) snprintf(q->why, sizeof q->why, "no quantiles given");
    return 0;
}

int fp_prediction_from_json(const json_t *rec, fp_prediction *p, fp_err *err)
{
    memset(p, 0, sizeof *p);
    const char *type = fp_record_type(rec);
    if (!type || strcmp(type, "prediction") != 0)
        return fp_err_set(err, FP_EINPUT, "not a prediction record");
    if (fp_target_from_json(rec, &p->target, err) < 0) return -1;
    json_t *t = json_object_get(rec, "t");
    if (t && !json_is_null(t) && !json_is_number(t))
        return fp_err_set(err, FP_EINPUT, "\"t\" is not a number");
    p->t = json_number_value(t);
    json_t *ts = json_object_get(rec, "ts_ms");
    if (ts && !json_is_null(ts) && !json_is_number(ts))
        return fp_err_set(err, FP_EINPUT, "\"ts_ms\" is not a number");
    p->ts = json_number_value(ts) / 1000;
    json_t *h = json_object_get(rec, "horizon_s");
    if (h && !json_is_null(h) &&
        (!json_is_number(h) || !isfinite(json_number_value(h)) || json_number_value(h) < 0))
        return fp_err_set(err, FP_EINPUT, "\"horizon_s\" is not a number >= 0");
    p->horizon_s = json_number_value(h);
    json_t *m = json_object_get(rec, "model");
    if (m && !json_is_null(m)) {
        if (!json_is_string(m)) return fp_err_set(err, FP_EINPUT, "\"model\" is not a string");
        snprintf(p->model, sizeof p->model, "%s", json_string_value(m));
    }
    json_t *pr = json_object_get(rec, "priority");
    if (pr && !json_is_null(pr)) {
        if (!json_is_integer(pr) || json_integer_value(pr) < -1000 ||
            json_integer_value(pr) > 1000)
            return fp_err_set(err, FP_EINPUT, "\"priority\" is not an integer in -1000..1000");
        p->priority = (int)json_integer_value(pr);
    }
    json_t *nv = json_object_get(rec, "novelty");
    if (nv && !json_is_null(nv)) {
        if (!json_is_number(nv) || !(json_number_value(nv) >= 0))
            return fp_err_set(err, FP_EINPUT, "\"novelty\" is not a number >= 0");
        p->has_novelty = true;
        p->novelty = json_number_value(nv);
    }
    json_t *pj = json_object_get(rec, "prior");
    if (pj && !json_is_null(pj)) {
        const char *k = json_string_value(json_object_get(pj, "key"));
        json_t *n = json_object_get(pj, "n");
        if (!json_is_object(pj) || !k || !json_is_integer(n) || json_integer_value(n) < 0 ||
            json_integer_value(n) > 1000000000)
            return fp_err_set(err, FP_EINPUT, "\"prior\" is not an object with a string key and an integer n >= 0");
        p->has_prior = true;
        snprintf(p->prior_key, sizeof p->prior_key, "%s", k);
        p->prior_n = (int)json_integer_value(n);
    }
    json_t *qs = json_object_get(rec, "quantiles");
    if (!json_is_object(qs))
        return fp_err_set(err, FP_EINPUT, "prediction has no \"quantiles\" object");
    json_t *missing = json_object_get(rec, "missing");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        fp_quantiles *q = &p->q[r];
        json_t *o = json_object_get(qs, res_names[r]);
        if (!o || json_is_null(o)) {
            const char *why = json_string_value(json_object_get(missing, res_names[r]));
            snprintf(q->why, sizeof q->why, "%s", why ? why : o ? "null" : "not predicted");
            continue;
        }
        if (!json_is_object(o))
            return fp_err_set(err, FP_EINPUT, "quantiles.%s is not an object", res_names[r]);
        if (parse_quantiles(res_names[r], o, q, err) < 0) return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(qs, key, v) {
        if (fp_resource_by_name(key) == FP_RES_COUNT)
            return fp_err_set(err, FP_EINPUT, "quantiles.%s: unknown resource", key);
    }
    json_t *cb = json_object_get(rec, "capped_by");
    if (cb && !json_is_null(cb)) {
        if (!json_is_object(cb)) return fp_err_set(err, FP_EINPUT, "\"capped_by\" is not an object");
        json_object_foreach(cb, key, v) {
            fp_resource r = fp_resource_by_name(key);
            const char *s = json_string_value(v);
            if (r == FP_RES_COUNT) return fp_err_set(err, FP_EINPUT, "capped_by.%s: unknown resource", key);
            if (!s) return fp_err_set(err, FP_EINPUT, "capped_by.%s is not a string", key);
            if (strncmp(s, "meta.", 5) == 0) s += 5;
            snprintf(p->capped_by[r], sizeof p->capped_by[r], "%s", s);
        }
    }
    return 0;
}

int fp_prediction_cap(fp_prediction *p, const json_t *meta)
{
    static const struct { fp_resource r; const char *key; } caps[] = {
        { FP_RES_MEM, "req_mem_bytes" }, { FP_RES_CPU, "req_cpus" } };
    if (!json_is_object(meta)) return 0;
    int n = 0;
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        const json_t *v = json_object_get(meta, caps[i].key);
        double lim = json_is_number(v) ? json_number_value(v) : NAN;
        fp_quantiles *q = &p->q[caps[i].r];
        if (!(lim > 0 && isfinite(lim)) || q->n <= 0) continue;
        bool capped = false;
        for (int k = 0; k < q->n; k++)
            if (q->value[k] > lim) { q->value[k] = lim; capped = true; }
        if (capped) {
            snprintf(p->capped_by[caps[i].r], sizeof p->capped_by[caps[i].r], "%s", caps[i].key);
            n++;
        }
    }
    return n;
}

json_t *fp_prediction_to_json(const fp_prediction *p)
{
    json_t *r = fp_record_new("prediction", &p->target, p->t, p->ts);
    json_object_set_new(r, "model", p->model[0] ? json_string(p->model) : json_null());
    json_object_set_new(r, "horizon_s", json_real(p->horizon_s));
    if (p->priority) json_object_set_new(r, "priority", json_integer(p->priority));
    json_t *qs = json_object(), *missing = json_object();
    for (int i = 0; i < FP_RES_COUNT; i++) {
        const fp_quantiles *q = &p->q[i];
        if (q->n <= 0) {
            json_object_set_new(qs, res_names[i], json_null());
            json_object_set_new(missing, res_names[i],
                                json_string(q->why[0] ? q->why : "not predicted"));
            continue;
        }
        json_t *o = json_object();
        for (int k = 0; k < q->n; k++) {
            char key[16];
            fp_quantile_key(q->level[k], key, sizeof key);
            double v = q->value[k];
            json_object_set_new(o, key, v == floor(v) && fabs(v) < 9e15
                                            ? json_integer((json_int_t)v) : json_real(v));
        }
        json_object_set_new(qs, res_names[i], o);
    }
    json_object_set_new(r, "quantiles", qs);
    json_t *cb = NULL;
    for (int i = 0; i < FP_RES_COUNT; i++) {
        if (!p->capped_by[i][0] || p->q[i].n <= 0) continue;
        if (!cb) cb = json_object();
        char v[48];
        snprintf(v, sizeof v, "meta.%s", p->capped_by[i]);
        json_object_set_new(cb, res_names[i], json_string(v));
    }
    if (cb) json_object_set_new(r, "capped_by", cb);
    if (p->has_prior)
        json_object_set_new(r, "prior", json_pack("{s:s,s:i}", "key", p->prior_key, "n", p->prior_n));
    if (p->has_novelty && isfinite(p->novelty)) {
        json_object_set_new(r, "novelty", json_real(p->novelty));
    } else {
        json_object_set_new(r, "novelty", json_null());
        json_object_set_new(missing, "novelty", json_string(p->has_novelty
            ? "shares no feature with the model's workloads" : "the model's kind does not tell"));
    }
    json_object_set_new(r, "missing", missing);
    return r;
}

double fp_pinball(double tau, double q, double y)
{
    if (!isfinite(tau) || !isfinite(q) || !isfinite(y)) return NAN;
    return y >= q ? tau * (y - q) : (1 - tau) * (q - y);
}
