/* diff.c - scoring predictions against actuals, and comparing fingerprints.
 * See fp/diff.h for the definitions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fp/diff.h"

void fp_obs_init(fp_obs *o)
{
    o->q = NULL;
    o->alloc = o->hard = o->use = o->peak = o->mean = NAN;
    o->dt = 0;
    o->harm = NULL;
}

const char *fp_actual_harm(const json_t *actual, fp_resource r)
{
    if (r == FP_RES_MEM) {
        json_t *k = json_object_get(actual, "oom_kills");
        if (json_is_number(k) && json_number_value(k) > 0) return "OOM-killed under its memory limit";
    } else if (r == FP_RES_CPU) {
        json_t *th = json_object_get(actual, "cpu_throttled_s"), *d = json_object_get(actual, "duration_s");
        if (json_is_number(th) && json_is_number(d) && json_number_value(d) > 0 &&
            json_number_value(th) > FP_THROTTLE_FAIL * json_number_value(d))
            return "throttled by its CPU quota for more than a tenth of its run";
    }
    return NULL;
}

void fp_obs_eval(const fp_obs *o, fp_obs_result *out)
{
    memset(out, 0, sizeof *out);
    out->slack = NAN;
    double y = o->use;
    if (o->q && o->q->n > 0) {
        out->nl = o->q->n;
        for (int i = 0; i < o->q->n; i++) {
            out->level[i] = o->q->level[i];
            out->pinball[i] = fp_pinball(o->q->level[i], o->q->value[i], y);
            out->covered[i] = y <= o->q->value[i];
        }
    }
    if (isfinite(o->alloc)) {
        out->has_alloc = true;
        out->under = y > o->alloc;
        double spare = fmax(o->alloc - y, 0);
        if (o->alloc > 0) out->slack = spare / o->alloc;
        double m = isfinite(o->mean) ? o->mean : y;
        if (isfinite(o->dt) && o->dt > 0) out->wasted_h = fmax(o->alloc - m, 0) * o->dt / 3600;
    }
    double pk = isfinite(o->peak) ? o->peak : y;
    out->failed = (isfinite(o->hard) && pk > o->hard) || o->harm != NULL;
}

void fp_score_init(fp_score *s)
{
    memset(s, 0, sizeof *s);
}

/* The slot of level lv in r's table, kept ascending; NULL when full. */
static fp_score_level *level_slot(fp_score_res *r, double lv)
{
    int i = 0;
    while (i < r->nl && r->lv[i].level < lv - 1e-9) i++;
    if (i < r->nl && fabs(r->lv[i].level - lv) <= 1e-9) return &r->lv[i];
    if (r->nl == FP_SCORE_LEVELS) return NULL;
    memmove(&r->lv[i + 1], &r->lv[i], (size_t)(r->nl - i) * sizeof r->lv[0]);
    r->nl++;
    memset(&r->lv[i], 0, sizeof r->lv[i]);
    r->lv[i].level = lv;
    return &r->lv[i];
}

int fp_score_add(fp_score *s, fp_resource r, const fp_obs *o, fp_obs_result *out)
{
    fp_obs_result tmp;
    if (!out) out = &tmp;
    fp_obs_eval(o, out);
    bool has_q = o->q && o->q->n > 0;
    if (r < 0 || r >= FP_RES_COUNT || !isfinite(o->use) || (!has_q && !out->has_alloc)) return 0;
    fp_score_res *R = &s->r[r];
    R->n++;
    for (int i = 0; i < out->nl; i++) {
        fp_score_level *L = level_slot(R, out->level[i]);
        if (!L) {
            R->levels_dropped++;
            continue;
        }
        L->n++;
        L->covered += out->covered[i];
        L->pinball_sum += out->pinball[i];
        L->abs_use_sum += fabs(o->use);
    }
    if (out->has_alloc) {
        R->n_alloc++;
        R->under += out->under;
        R->alloc_sum += o->alloc;
        R->slack_sum += fmax(o->alloc - o->use, 0);
        R->wasted_h += out->wasted_h;
    }
    R->failed += out->failed;
    return 1;
}

void fp_score_merge(fp_score *dst, const fp_score *src)
{
    dst->n += src->n;
    dst->failed += src->failed;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        fp_score_res *D = &dst->r[r];
        const fp_score_res *S = &src->r[r];
        D->n += S->n;
        D->levels_dropped += S->levels_dropped;
        for (int i = 0; i < S->nl; i++) {
            fp_score_level *L = level_slot(D, S->lv[i].level);
            if (!L) {
                D->levels_dropped += S->lv[i].n;
                continue;
            }
            L->n += S->lv[i].n;
            L->covered += S->lv[i].covered;
            L->pinball_sum += S->lv[i].pinball_sum;
            L->abs_use_sum += S->lv[i].abs_use_sum;
        }
        D->n_alloc += S->n_alloc;
        D->under += S->under;
        D->alloc_sum += S->alloc_sum;
        D->slack_sum += S->slack_sum;
        D->wasted_h += S->wasted_h;
        D->failed += S->failed;
    }
}

/* The per-resource metrics; NAN when they do not apply. */
static double res_metric(const fp_score_res *R, const char *m)
{
    if (R->n == 0) return NAN;
    if (strcmp(m, "pinball") == 0 || strcmp(m, "pinball_rel") == 0 ||
        strcmp(m, "coverage_gap") == 0) {
        bool rel = strcmp(m, "pinball_rel") == 0, gap = strcmp(m, "coverage_gap") == 0;
        double acc = 0;
        int k = 0;
        for (int i = 0; i < R->nl; i++) {
            const fp_score_level *L = &R->lv[i];
            if (L->n == 0) continue;
            if (gap) {
                acc = fmax(acc, fabs((double)L->covered / (double)L->n - L->level));
            } else if (rel) {
                if (L->abs_use_sum <= 0) continue;
                acc += L->pinball_sum / L->abs_use_sum;
            } else {
                acc += L->pinball_sum / (double)L->n;
            }
            k++;
        }
        if (k == 0) return NAN;
        return gap ? acc : acc / k;
    }
    if (R->n_alloc == 0) return NAN;
    if (strcmp(m, "under_rate") == 0) return (double)R->under / (double)R->n_alloc;
    if (strcmp(m, "slack") == 0) return R->alloc_sum > 0 ? R->slack_sum / R->alloc_sum : NAN;
    if (strcmp(m, "wasted_h") == 0) return R->wasted_h;
    return NAN;
}

static const char *const metric_names[] = {
    "pinball", "pinball_rel", "coverage_gap", "under_rate", "slack", "wasted_h",
    "failed", "wasted_core_h", "wasted_gb_h", NULL
};

bool fp_score_metric_known(const char *name)
{
    for (int i = 0; metric_names[i]; i++)
        if (name && strcmp(name, metric_names[i]) == 0) return true;
    return false;
}

double fp_score_metric(const fp_score *s, const char *metric, fp_resource r, fp_resource *which)
{
    if (which) *which = FP_RES_COUNT;
    if (!fp_score_metric_known(metric)) return NAN;
    if (strcmp(metric, "wasted_core_h") == 0 || strcmp(metric, "wasted_gb_h") == 0) {
        bool cpu = metric[7] == 'c';
        fp_resource rr = cpu ? FP_RES_CPU : FP_RES_MEM;
        if (r != FP_RES_COUNT && r != rr) return NAN;
        if (which) *which = rr;
        double v = res_metric(&s->r[rr], "wasted_h");
        return cpu ? v : v / 1e9;
    }
    if (strcmp(metric, "failed") == 0) {
        if (r == FP_RES_COUNT) return (double)s->failed;
        if (which) *which = r;
        return s->r[r].n ? (double)s->r[r].failed : NAN;
    }
    if (r != FP_RES_COUNT) {
        if (which) *which = r;
        return r >= 0 && r < FP_RES_COUNT ? res_metric(&s->r[r], metric) : NAN;
    }
    double best = NAN;
    for (int i = 0; i < FP_RES_COUNT; i++) {
        double v = res_metric(&s->r[i], metric);
        if (isfinite(v) && !(v <= best)) {
            best = v;
            if (which) *which = (fp_resource)i;
        }
    }
    return best;
}

/* Set name to v when it is finite (integers as integers), else leave out. */
static void set_num(json_t *o, const char *name, double v)
{
    if (!isfinite(v)) return;
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        json_object_set_new(o, name, json_integer((json_int_t)v));
    else
        json_object_set_new(o, name, json_real(v));
}

json_t *fp_score_to_json(const fp_score *s)
{
    json_t *o = json_object(), *res = json_object();
    json_object_set_new(o, "n", json_integer(s->n));
    json_object_set_new(o, "failed", json_integer(s->failed));
    set_num(o, "wasted_core_h", fp_score_metric(s, "wasted_core_h", FP_RES_COUNT, NULL));
    set_num(o, "wasted_gb_h", fp_score_metric(s, "wasted_gb_h", FP_RES_COUNT, NULL));
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_score_res *R = &s->r[r];
        if (R->n == 0) continue;
        json_t *j = json_object();
        json_object_set_new(j, "n", json_integer(R->n));
        if (R->nl > 0) {
            json_t *lv = json_object();
            for (int i = 0; i < R->nl; i++) {
                const fp_score_level *L = &R->lv[i];
                char key[32];
                fp_quantile_key(L->level, key, sizeof key);
                json_t *e = json_object();
                json_object_set_new(e, "n", json_integer(L->n));
                set_num(e, "coverage", L->n ? (double)L->covered / (double)L->n : NAN);
                set_num(e, "pinball", L->n ? L->pinball_sum / (double)L->n : NAN);
                set_num(e, "pinball_rel", L->abs_use_sum > 0 ? L->pinball_sum / L->abs_use_sum : NAN);
                json_object_set_new(lv, key, e);
            }
            json_object_set_new(j, "levels", lv);
            set_num(j, "pinball", res_metric(R, "pinball"));
            set_num(j, "pinball_rel", res_metric(R, "pinball_rel"));
            set_num(j, "coverage_gap", res_metric(R, "coverage_gap"));
            if (R->levels_dropped)
                json_object_set_new(j, "levels_dropped", json_integer(R->levels_dropped));
        }
        if (R->n_alloc > 0) {
            json_object_set_new(j, "n_alloc", json_integer(R->n_alloc));
            json_object_set_new(j, "under", json_integer(R->under));
            set_num(j, "under_rate", res_metric(R, "under_rate"));
            set_num(j, "slack", res_metric(R, "slack"));
            set_num(j, "wasted_h", R->wasted_h);
        }
        json_object_set_new(j, "failed", json_integer(R->failed));
        json_object_set_new(res, fp_resource_name((fp_resource)r), j);
    }
    json_object_set_new(o, "resources", res);
    return o;
}

double fp_rel_change(double a, double b, double eps)
{
    if (a == b) return 0;
    return (b - a) / (fabs(a) + fabs(b) + eps);
}

/* Insert candidate (key |c|, index or name order) into the top-k list
 * kept largest first. */
typedef struct cand { double mag; int idx; const char *name; } cand;

static bool before(const cand *x, const cand *y)
{
    if (x->mag != y->mag) return x->mag > y->mag;
    if (x->name && y->name) return strcmp(x->name, y->name) < 0;
    return x->idx < y->idx;
}

static void top_insert(cand *top, int k, int *n, cand c)
{
    if (*n == k && !before(&c, &top[k - 1])) return;
    int i = *n < k ? (*n)++ : k - 1;
    while (i > 0 && before(&c, &top[i - 1])) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = c;
}

double fp_distance(const double *a, const double *b, int n, double eps, int *n_common,
                   int k, int *top, int *n_top)
{
    cand *tc = k > 0 && top ? malloc((size_t)k * sizeof *tc) : NULL;
    int nt = 0, nc = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) continue;
        double c = fp_rel_change(a[i], b[i], eps);
        sum += fabs(c);
        nc++;
        if (tc && c != 0) top_insert(tc, k, &nt, (cand){ fabs(c), i, NULL });
    }
    for (int i = 0; tc && i < nt; i++) top[i] = tc[i].idx;
    if (n_top) *n_top = tc ? nt : 0;
    free(tc);
    if (n_common) *n_common = nc;
    return nc ? sum / nc : NAN;
}

int fp_distance_json(const json_t *fa, const json_t *fb, double eps, int k, fp_moved *top,
                     int *n_top, double *dist, int *n_common, int *skipped, fp_err *err)
{
    if (!json_is_object(fa) || !json_is_object(fb))
        return fp_err_set(err, FP_EINPUT, "features are not an object");
    const char *key;
    json_t *va;
    json_object_foreach((json_t *)fb, key, va) {
        if (!json_is_number(va) && !json_is_null(va))
            return fp_err_set(err, FP_EINPUT, "feature \"%s\" is neither a number nor null", key);
    }
    cand *tc = k > 0 && top ? malloc((size_t)k * sizeof *tc) : NULL;
    if (k > 0 && top && !tc) return fp_err_set(err, FP_ESYS, "out of memory");
    int nt = 0, nc = 0, sk = 0;
    double sum = 0;
    json_object_foreach((json_t *)fa, key, va) {
        if (!json_is_number(va) && !json_is_null(va)) {
            free(tc);
            return fp_err_set(err, FP_EINPUT, "feature \"%s\" is neither a number nor null", key);
        }
        json_t *vb = json_object_get(fb, key);
        if (!json_is_number(va) || !json_is_number(vb)) {
            sk++;
            continue;
        }
        double a = json_number_value(va), b = json_number_value(vb);
        double c = fp_rel_change(a, b, eps);
        sum += fabs(c);
        nc++;
        if (tc && c != 0) top_insert(tc, k, &nt, (cand){ fabs(c), 0, key });
    }
    json_object_foreach((json_t *)fb, key, va)
        if (!json_object_get(fa, key)) sk++;
    for (int i = 0; tc && i < nt; i++) {
        fp_moved *m = &top[i];
        snprintf(m->name, sizeof m->name, "%s", tc[i].name);
        m->a = json_number_value(json_object_get(fa, tc[i].name));
        m->b = json_number_value(json_object_get(fb, tc[i].name));
        m->change = fp_rel_change(m->a, m->b, eps);
    }
    if (n_top) *n_top = tc ? nt : 0;
    free(tc);
    if (n_common) *n_common = nc;
    if (skipped) *skipped = sk;
    *dist = nc ? sum / nc : NAN;
    return 0;
}

double fp_validation_cost(fp_model *m, const fp_example *ex, size_t n, bool with_change,
                          double parts[3], double *pinball_rel)
{
    double over[FP_RES_COUNT] = {0}, under[FP_RES_COUNT] = {0}, sy[FP_RES_COUNT] = {0};
    double dq[FP_RES_COUNT] = {0}, prevq[FP_RES_COUNT] = {0};
    long ny[FP_RES_COUNT] = {0}, nd[FP_RES_COUNT] = {0};
    const char *prevg = NULL;
    bool seq = fp_model_is_seq(m);
    fp_score sc;
    fp_score_init(&sc);
    if (parts) parts[0] = parts[1] = parts[2] = NAN;
    if (pinball_rel) *pinball_rel = NAN;
    for (size_t i = 0; i < n; i++) {
        fp_quantiles q[FP_RES_COUNT];
        fp_err err = {0};
        int rc = seq ? fp_model_predict_seq(m, ex[i].seq, ex[i].seq_len, q, &err)
                     : fp_model_predict(m, ex[i].x, q, NULL, &err);
        if (rc < 0) return NAN;
        bool same = with_change && prevg && ex[i].group && strcmp(prevg, ex[i].group) == 0;
        for (int r = 0; r < FP_RES_COUNT; r++) {
            double qv = 0, y = ex[i].y[r];
            if (q[r].n > 0) {
                int best = 0;
                for (int j = 1; j < q[r].n; j++)
                    if (fabs(q[r].level[j] - FP_COST_LEVEL) < fabs(q[r].level[best] - FP_COST_LEVEL)) best = j;
                qv = q[r].value[best];
                if (pinball_rel && isfinite(y)) {
                    fp_obs o;
                    fp_obs_init(&o);
                    o.q = &q[r];
                    o.use = y;
                    fp_score_add(&sc, (fp_resource)r, &o, NULL);
                }
            }
            if (isfinite(y)) {
                over[r] += fmax(qv - y, 0);
                under[r] += fmax(y - qv, 0);
                sy[r] += fabs(y);
                ny[r]++;
            }
            if (same) {
                dq[r] += fabs(qv - prevq[r]);
                nd[r]++;
            }
            prevq[r] = qv;
        }
        prevg = ex[i].group;
    }
    if (pinball_rel) *pinball_rel = fp_score_metric(&sc, "pinball_rel", FP_RES_COUNT, NULL);
    double cost = 0, p[3] = {0, 0, 0};
    int nr = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!ny[r] || !(sy[r] > 0)) continue;
        double o = over[r] / sy[r], u = FP_COST_LAMBDA_UNDER * under[r] / sy[r];
        double c = nd[r] ? FP_COST_MU_CHANGE * (dq[r] / nd[r]) / (sy[r] / ny[r]) : 0;
        p[0] += o;
        p[1] += u;
        p[2] += c;
        cost += o + u + c;
        nr++;
    }
    if (parts)
        for (int k = 0; k < 3; k++) parts[k] = nr ? p[k] / nr : 0;
    return nr ? cost / nr : NAN;
}
