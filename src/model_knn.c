/* model_knn.c - nearest fingerprints.
 *
 * The model stores examples as normalised features z and standardised
 * transformed targets u (model.c). The distance between a query q and a
 * stored example s compares only the features present in both:
 *     d(q, s) = sqrt( (dim / c) * sum_{j present in both} (q_j - s_j)^2 )
 * where c is the number of features compared (the sum is rescaled to the
 * full dimension); an example sharing no feature with the query is never
 * a neighbour. For each resource the k nearest examples whose target is
 * known give the quantiles, from the distribution of their targets
 * (standardised transformed values v_i, weights w_i = 1 / (d_i + 1e-3)):
 * a weighted mixture of normal kernels centred on the v_i,
 *     F(u) = sum_i w_i Phi((u - v_i) / h) / sum_i w_i,
 *     h = max(1.06 sigma n_eff^(-1/5), KNN_HMIN)
 * (Silverman's bandwidth: sigma the weighted standard deviation of the
 * v_i, n_eff = (sum w)^2 / sum w^2), and the tau-quantile solves F(u) =
 * tau (bisection). So p50 sits among the nearest values, and p90 and p99
 * spread as far as the neighbours disagree (and at least KNN_HMIN): p99
 * exceeds p90 wherever the neighbours differ, instead of both being the
 * largest of k values. The calibration (fp/model.h) then corrects each
 * level on held-out groups. Ties in distance go to the example stored
 * first. The explanation is the k nearest examples overall
 * (group key and distance), nearest first.
 *
 * Novelty (of the last query predicted): the distance from it to its
 * nearest stored example over the typical such distance among the stored
 * examples themselves (typical_distance; computed when first needed after
 * a change of the store). 1 is as close as the model's examples are to
 * each other; 3 is three times farther.
 *
 * Store: at most max_store examples (default 100000) in a ring; when full,
 * a new example replaces the oldest (FIFO), so the model follows recent
 * workloads. Training stores every row (validation rows after they are
 * scored); update() stores one. Examples stored before the model's first
 * training would keep the identity normalisation, so training a knn model
 * that already holds examples but was never trained is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

#define KNN_EPS 1e-3
#define KNN_HMIN 0.05           /* least kernel width, standardised target units
                                   (IQRs of the transformed target) */
#define NOVELTY_SAMPLE 256
#define NOVELTY_OTHERS 8192

typedef struct {
    size_t n, cap, head;        /* count, allocated, oldest slot when full */
    double *z, *u;              /* cap * dim, cap * FP_RES_COUNT */
    char **group;
    double *dist;               /* cap scratch */
    double typical;             /* novelty's reference distance; 0: to compute */
    double last_nearest;        /* nearest distance of the last predict (NaN: none) */
} knn;

static int knn_init(fp_model *m, fp_err *err)
{
    (void)err;
    knn *K = calloc(1, sizeof(knn));
    if (K) K->last_nearest = NAN;
    m->impl = K;
    return K ? 0 : fp_err_sys(err, "knn model");
}

static void knn_destroy(fp_model *m)
{
    knn *K = m->impl;
    for (size_t i = 0; i < K->n; i++) free(K->group[i]);
    free(K->z); free(K->u); free(K->group); free(K->dist);
    free(K);
    m->impl = NULL;
}

static int grow(fp_model *m, knn *K, fp_err *err)
{
    size_t cap = K->cap ? K->cap * 2 : 64;
    if (cap > m->o.max_store) cap = m->o.max_store;
    double *z = realloc(K->z, cap * (size_t)m->dim * sizeof *z);
    if (z) K->z = z;
    double *u = realloc(K->u, cap * FP_RES_COUNT * sizeof *u);
    if (u) K->u = u;
    char **g = realloc(K->group, cap * sizeof *g);
    if (g) K->group = g;
    double *d = realloc(K->dist, cap * sizeof *d);
    if (d) K->dist = d;
    if (!z || !u || !g || !d) return fp_err_sys(err, "knn store");
    K->cap = cap;
    return 0;
}

/* Store normalised z and standardised targets u with its group key. */
static int store(fp_model *m, const double *z, const double *u, const char *group, fp_err *err)
{
    knn *K = m->impl;
    char *g = strdup(group ? group : "");
    if (!g) return fp_err_sys(err, "knn store");
    size_t slot;
    if (K->n < m->o.max_store) {
        if (K->n == K->cap && grow(m, K, err) < 0) { free(g); return -1; }
        slot = K->n++;
    } else {
        slot = K->head;
        K->head = (K->head + 1) % K->n;
        free(K->group[slot]);
    }
    K->typical = 0;
    K->last_nearest = NAN;
    memcpy(K->z + slot * (size_t)m->dim, z, (size_t)m->dim * sizeof *z);
    memcpy(K->u + slot * FP_RES_COUNT, u, FP_RES_COUNT * sizeof *u);
    K->group[slot] = g;
    return 0;
}

static int add_example(fp_model *m, const fp_example *e, fp_err *err)
{
    double u[FP_RES_COUNT];
    for (int r = 0; r < FP_RES_COUNT; r++) u[r] = fp_model_target(m, e, r);
    return store(m, fp_model_normalise(m, e->x), u, e->group, err);
}

static int knn_update(fp_model *m, const fp_example *e, fp_err *err) { return add_example(m, e, err); }

static int knn_train(fp_model *m, const fp_example *ex, const size_t *tr, size_t ntr,
                     const size_t *va, size_t nva, const fp_train_opts *o,
                     fp_train_report *rep, fp_err *err)
{
    (void)va; (void)nva; (void)o;
    for (size_t i = 0; i < ntr; i++)
        if (add_example(m, &ex[tr[i]], err) < 0) return -1;
    rep->epochs = rep->best_epoch = 1;
    return 0;
}

/* Slot of the i-th example in storage order (oldest first). */
static size_t slot_of(const knn *K, size_t i) { return (K->head + i) % K->n; }

/* Insert (slot, d) into the ascending top list (len *n, capacity k). */
static void top_insert(size_t *ts, double *td, int *n, int k, size_t slot, double d)
{
    int at = *n;
    while (at > 0 && td[at - 1] > d) at--;
    if (at >= k) return;
    int last = *n < k ? *n : k - 1;
    memmove(ts + at + 1, ts + at, (size_t)(last - at) * sizeof *ts);
    memmove(td + at + 1, td + at, (size_t)(last - at) * sizeof *td);
    ts[at] = slot;
    td[at] = d;
    if (*n < k) (*n)++;
}

/* The distance (see above) between two normalised vectors. */
static double dist2(const double *a, const double *b, int dim)
{
    double sum = 0;
    int c = 0;
    for (int j = 0; j < dim; j++) {
        if (isnan(a[j]) || isnan(b[j])) continue;
        double d = a[j] - b[j];
        sum += d * d;
        c++;
    }
    return c ? sqrt(sum * (double)dim / (double)c) : INFINITY;
}

/* The tau-quantile of the weighted normal-kernel mixture over the n
 * values v with weights w (see above). */
static double kernel_quantile(const double *v, const double *w, int n, double tau)
{
    double W = 0, W2 = 0, mu = 0, var = 0, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        W += w[i];
        W2 += w[i] * w[i];
        mu += w[i] * v[i];
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    mu /= W;
    for (int i = 0; i < n; i++) var += w[i] * (v[i] - mu) * (v[i] - mu);
    var /= W;
    double neff = W * W / W2, h = 1.06 * sqrt(var) * pow(neff, -0.2);
    if (!(h >= KNN_HMIN)) h = KNN_HMIN;
    double a = lo - 8 * h, b = hi + 8 * h;
    for (int it = 0; it < 100 && b - a > 1e-12 * (1 + fabs(a) + fabs(b)); it++) {
        double c = (a + b) / 2, F = 0;
        for (int i = 0; i < n; i++) F += w[i] * 0.5 * erfc(-(c - v[i]) / (h * M_SQRT2));
        if (F / W < tau) a = c; else b = c;
    }
    return (a + b) / 2;
}

static int knn_predict(fp_model *m, const double *z, double u[FP_RES_COUNT][FP_QMAX],
                       bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT], fp_explain *ex, fp_err *err)
{
    knn *K = m->impl;
    (void)err;
    int k = m->o.k, dim = m->dim;
    for (size_t i = 0; i < K->n; i++) {
        size_t s = slot_of(K, i);
        K->dist[s] = dist2(z, K->z + s * (size_t)dim, dim);
        if (i == 0 || K->dist[s] < K->last_nearest) K->last_nearest = K->dist[s];
    }
    if (!K->n) K->last_nearest = NAN;
    size_t ts[FP_EXPLAIN_MAX];
    double td[FP_EXPLAIN_MAX];
    int nt;
    if (ex) {
        nt = 0;
        for (size_t i = 0; i < K->n; i++) {
            size_t s = slot_of(K, i);
            if (isfinite(K->dist[s])) top_insert(ts, td, &nt, k, s, K->dist[s]);
        }
        ex->kind = FP_EXPLAIN_NEIGHBOURS;
        ex->n = nt;
        for (int i = 0; i < nt; i++) {
            snprintf(ex->item[i].name, sizeof ex->item[i].name, "%s", K->group[ts[i]]);
            ex->item[i].value = td[i];
        }
    }
    for (int r = 0; r < FP_RES_COUNT; r++) {
        nt = 0;
        for (size_t i = 0; i < K->n; i++) {
            size_t s = slot_of(K, i);
            if (isfinite(K->dist[s]) && !isnan(K->u[s * FP_RES_COUNT + r]))
                top_insert(ts, td, &nt, k, s, K->dist[s]);
        }
        if (!nt) {
            ok[r] = false;
            why[r] = K->n ? "no stored workload with this resource shares a feature with the fingerprint"
                          : "the model holds no workloads";
            continue;
        }
        double v[FP_EXPLAIN_MAX], w[FP_EXPLAIN_MAX];
        for (int i = 0; i < nt; i++) {
            v[i] = K->u[ts[i] * FP_RES_COUNT + r];
            w[i] = 1.0 / (td[i] + KNN_EPS);
        }
        for (int q = 0; q < m->o.nlevels; q++) u[r][q] = kernel_quantile(v, w, nt, m->o.levels[q]);
        ok[r] = true;
    }
    return 0;
}

static json_t *knn_save(const fp_model *m)
{
    const knn *K = m->impl;
    json_t *p = json_object(), *z = json_array(), *u = json_array(), *g = json_array();
    if (!p || !z || !u || !g) { json_decref(p); json_decref(z); json_decref(u); json_decref(g); return NULL; }
    for (size_t i = 0; i < K->n; i++) {
        size_t s = slot_of(K, i);
        for (int j = 0; j < m->dim; j++) json_array_append_new(z, fp_jnum(K->z[s * (size_t)m->dim + j]));
        for (int r = 0; r < FP_RES_COUNT; r++) json_array_append_new(u, fp_jnum(K->u[s * FP_RES_COUNT + r]));
        json_array_append_new(g, json_string(K->group[s]));
    }
    json_object_set_new(p, "layout", json_string("oldest first; z[i * dim + j] normalised features, "
                                                 "u[i * resources + r] standardised targets, null = missing"));
    json_object_set_new(p, "count", json_integer((json_int_t)K->n));
    json_object_set_new(p, "z", z);
    json_object_set_new(p, "u", u);
    json_object_set_new(p, "groups", g);
    return p;
}

static int knn_load(fp_model *m, const json_t *p, const char *path, fp_err *err)
{
    double cnt;
    if (fp_jget_num(p, "count", &cnt, path, err) < 0) return -1;
    if (!(cnt >= 0 && cnt <= (double)m->o.max_store && cnt == floor(cnt)))
        return fp_err_set(err, FP_EINPUT, "%s: params.count %g out of range", path, cnt);
    size_t n = (size_t)cnt, dim = (size_t)m->dim;
    const json_t *g = json_object_get(p, "groups");
    if (!json_is_array(g) || json_array_size(g) != n)
        return fp_err_set(err, FP_EINPUT, "%s: params.groups must hold %zu strings", path, n);
    double *z = malloc((n ? n : 1) * dim * sizeof *z), *u = malloc((n ? n : 1) * FP_RES_COUNT * sizeof *u);
    int rc = -1;
    if (!z || !u) { fp_err_sys(err, "%s", path); goto out; }
    if (fp_jget_arr(p, "z", z, n * dim, false, path, err) < 0 ||
        fp_jget_arr(p, "u", u, n * FP_RES_COUNT, false, path, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(g, i));
        if (!s) { fp_err_set(err, FP_EINPUT, "%s: params.groups[%zu] is not a string", path, i); goto out; }
        if (store(m, z + i * dim, u + i * FP_RES_COUNT, s, err) < 0) goto out;
    }
    if (n && !m->normalised) m->raw_updates = true;
    rc = 0;
out:
    free(z);
    free(u);
    return rc;
}


static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Novelty's reference: the median, over up to NOVELTY_SAMPLE stored
 * examples spread evenly through the store, of each one's distance to its
 * nearest other among up to NOVELTY_OTHERS others, also spread evenly (on
 * a larger store a bounded cost, and a slightly larger reference). 0 when
 * no two examples share a feature. */
static double typical_distance(const fp_model *m, const knn *K)
{
    int dim = m->dim;
    size_t ns = K->n < NOVELTY_SAMPLE ? K->n : NOVELTY_SAMPLE;
    size_t no = K->n < NOVELTY_OTHERS ? K->n : NOVELTY_OTHERS, nf = 0;
    double *near = malloc(ns * sizeof *near), typical = 0;
    if (!near) return 0;
    for (size_t a = 0; a < ns; a++) {
        size_t sa = slot_of(K, a * K->n / ns);
        double best = INFINITY;
        for (size_t i = 0; i < no; i++) {
            size_t s = slot_of(K, i * K->n / no);
            if (s == sa) continue;
            double d = dist2(K->z + sa * (size_t)dim, K->z + s * (size_t)dim, dim);
            if (d < best) best = d;
        }
        if (isfinite(best)) near[nf++] = best;
    }
    if (nf) {
        qsort(near, nf, sizeof *near, cmp_double);
        typical = nf % 2 ? near[nf / 2] : (near[nf / 2 - 1] + near[nf / 2]) / 2;
    }
    free(near);
    return typical > 0 ? typical : 0;
}

static double knn_novelty(fp_model *m)
{
    knn *K = m->impl;
    if (K->n < 2 || isnan(K->last_nearest)) return NAN;
    if (K->typical <= 0 && (K->typical = typical_distance(m, K)) <= 0) return NAN;
    return isfinite(K->last_nearest) ? K->last_nearest / K->typical : INFINITY;
}

const fp_model_ops fp_model_knn_ops = {
    .kind = "knn", .history = false,
    .init = knn_init, .destroy = knn_destroy, .train = knn_train, .update = knn_update,
    .predict = knn_predict, .save = knn_save, .load = knn_load, .novelty = knn_novelty,
};
