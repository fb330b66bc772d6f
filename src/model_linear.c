/* model_linear.c - quantile linear regression.
 *
 * For every resource r and quantile level tau_q, a linear model
 *     u_{r,q}(z) = b_{r,q} + sum_j w_{r,q,j} z_j
 * of the standardised transformed target, z the normalised features with
 * missing ones imputed as 0 (the training median). Loss: the pinball loss
 * rho_tau(t - u) averaged over the rows of a mini-batch, plus
 * (l2 / 2) |w|^2 on the weights (not the biases). Optimiser: Adam (beta1
 * 0.9, beta2 0.999, eps 1e-8, bias-corrected) or plain SGD, step lr.
 *
 * All trainable parameters live in one flat array theta of length
 * FP_RES_COUNT * nlevels * (dim + 1), laid out (r, q, [w_0..w_{dim-1}, b]);
 * the gradient and the two Adam moments are arrays of the same length.
 * On the first training the biases start at the empirical tau-quantile of
 * the training targets and the weights at 0, so training begins from the
 * best constant model. Quantile crossing is removed at predict time by
 * sorting (model.c).
 */
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

#define B1 0.9
#define B2 0.999
#define AEPS 1e-8

typedef struct {
    size_t np;                  /* parameters */
    double *theta, *grad, *am, *av;
    double step;                /* Adam steps taken */
    bool initialised;           /* biases set from data */
} linear;

static int lin_init(fp_model *m, fp_err *err)
{
    linear *L = calloc(1, sizeof *L);
    if (!L) return fp_err_sys(err, "linear model");
    L->np = (size_t)FP_RES_COUNT * (size_t)m->o.nlevels * (size_t)(m->dim + 1);
    L->theta = calloc(L->np, sizeof *L->theta);
    L->grad = calloc(L->np, sizeof *L->grad);
    L->am = calloc(L->np, sizeof *L->am);
    L->av = calloc(L->np, sizeof *L->av);
    m->impl = L;
    if (!L->theta || !L->grad || !L->am || !L->av) return fp_err_sys(err, "linear model");
    return 0;
}

static void lin_destroy(fp_model *m)
{
    linear *L = m->impl;
    free(L->theta); free(L->grad); free(L->am); free(L->av);
    free(L);
    m->impl = NULL;
}

static double *block(const fp_model *m, double *a, int r, int q)
{
    return a + ((size_t)r * (size_t)m->o.nlevels + (size_t)q) * (size_t)(m->dim + 1);
}

/* z with missing values imputed (0 = the training median). */
static void impute(const double *z, double *out, int dim)
{
    for (int j = 0; j < dim; j++) out[j] = isnan(z[j]) ? 0 : z[j];
}

static double dot(const double *w, const double *z, int dim)
{
    double s = w[dim];          /* bias */
    for (int j = 0; j < dim; j++) s += w[j] * z[j];
    return s;
}

/* Add the pinball gradient of one row (features z, standardised targets
 * t[r]) scaled by 1/nb to L->grad; returns the row's summed loss and adds
 * the number of terms to *nterms. */
static double accumulate(const fp_model *m, linear *L, const double *z, const double *t,
                         double nb, long *nterms)
{
    double loss = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (isnan(t[r])) continue;
        for (int q = 0; q < m->o.nlevels; q++) {
            double tau = m->o.levels[q];
            double *w = block(m, L->theta, r, q), *g = block(m, L->grad, r, q);
            double u = dot(w, z, m->dim);
            loss += fp_pinball(tau, u, t[r]);
            (*nterms)++;
            double d = (t[r] > u ? -tau : 1 - tau) / nb;
            for (int j = 0; j < m->dim; j++) g[j] += d * z[j];
            g[m->dim] += d;
        }
    }
    return loss;
}

/* One optimiser step with L->grad (plus L2 on weights), then clear it. */
static void step(const fp_model *m, linear *L)
{
    size_t stride = (size_t)(m->dim + 1);
    if (m->o.l2 > 0)
        for (size_t i = 0; i < L->np; i++)
            if (i % stride != (size_t)m->dim) L->grad[i] += m->o.l2 * L->theta[i];
    if (m->o.optimizer == FP_OPT_SGD) {
        for (size_t i = 0; i < L->np; i++) L->theta[i] -= m->o.lr * L->grad[i];
    } else {
        L->step += 1;
        double c1 = 1 - pow(B1, L->step), c2 = 1 - pow(B2, L->step);
        for (size_t i = 0; i < L->np; i++) {
            double g = L->grad[i];
            L->am[i] = B1 * L->am[i] + (1 - B1) * g;
            L->av[i] = B2 * L->av[i] + (1 - B2) * g * g;
            L->theta[i] -= m->o.lr * (L->am[i] / c1) / (sqrt(L->av[i] / c2) + AEPS);
        }
    }
    memset(L->grad, 0, L->np * sizeof *L->grad);
}

/* Rows idx[0..n) as imputed normalised features Z (n x dim) and
 * standardised targets T (n x FP_RES_COUNT). */
static int prepare(fp_model *m, const fp_example *ex, const size_t *idx, size_t n,
                   double **Z, double **T, fp_err *err)
{
    *Z = malloc((n ? n : 1) * (size_t)m->dim * sizeof **Z);
    *T = malloc((n ? n : 1) * FP_RES_COUNT * sizeof **T);
    if (!*Z || !*T) { free(*Z); free(*T); *Z = *T = NULL; return fp_err_sys(err, "linear training"); }
    for (size_t i = 0; i < n; i++) {
        impute(fp_model_normalise(m, ex[idx[i]].x), *Z + i * (size_t)m->dim, m->dim);
        for (int r = 0; r < FP_RES_COUNT; r++) (*T)[i * FP_RES_COUNT + r] = fp_model_target(m, &ex[idx[i]], r);
    }
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Biases at the empirical quantiles of the training targets. */
static int init_biases(fp_model *m, linear *L, const double *T, size_t n, fp_err *err)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return fp_err_sys(err, "linear training");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(T[i * FP_RES_COUNT + r])) v[k++] = T[i * FP_RES_COUNT + r];
        if (!k) continue;
        qsort(v, k, sizeof *v, cmpd);
        for (int q = 0; q < m->o.nlevels; q++) {
            size_t at = (size_t)floor(m->o.levels[q] * (double)(k - 1) + 0.5);
            block(m, L->theta, r, q)[m->dim] = v[at];
        }
    }
    free(v);
    L->initialised = true;
    return 0;
}
/* The first training starts afresh: parameters learned online before it
 * were learned under the identity normalisation. */
static void reset(linear *L)
{
    memset(L->theta, 0, L->np * sizeof *L->theta);
    memset(L->am, 0, L->np * sizeof *L->am);
    memset(L->av, 0, L->np * sizeof *L->av);
    L->step = 0;
}

static double mean_loss(const fp_model *m, const linear *L, const double *Z, const double *T, size_t n)
{
    double s = 0;
    long k = 0;
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < FP_RES_COUNT; r++) {
            double t = T[i * FP_RES_COUNT + r];
            if (isnan(t)) continue;
            for (int q = 0; q < m->o.nlevels; q++) {
                s += fp_pinball(m->o.levels[q], dot(block(m, L->theta, r, q), Z + i * (size_t)m->dim, m->dim), t);
                k++;
            }
        }
    return k ? s / (double)k : NAN;
}

/* Mini-batch training with early stopping on the validation loss; the
 * parameters (and Adam state) of the best epoch are kept. */
static int lin_train(fp_model *m, const fp_example *ex, const size_t *tr, size_t ntr,
                     const size_t *va, size_t nva, const fp_train_opts *o,
                     fp_train_report *rep, fp_err *err)
{
    linear *L = m->impl;
    double *Z = NULL, *T = NULL, *Zv = NULL, *Tv = NULL, *best = NULL;
    size_t *order = NULL;
    int rc = -1;
    if (!ntr) return fp_err_set(err, FP_EUSAGE, "linear model: no training rows after the split");
    if (prepare(m, ex, tr, ntr, &Z, &T, err) < 0) goto out;
    if (prepare(m, ex, va, nva, &Zv, &Tv, err) < 0) goto out;
    order = malloc(ntr * sizeof *order);
    best = malloc(3 * L->np * sizeof *best + sizeof(double));
    if (!order || !best) { fp_err_sys(err, "linear training"); goto out; }
    if (!L->initialised) {
        reset(L);
        if (init_biases(m, L, T, ntr, err) < 0) goto out;
    }
    for (size_t i = 0; i < ntr; i++) order[i] = i;
    fp_rng rng = {o->seed ^ 0x6C696E6561720000ULL};
    double best_loss = INFINITY;
    int best_epoch = 0;
    size_t nb = (size_t)o->batch;
    memset(L->grad, 0, L->np * sizeof *L->grad);
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        for (size_t i = ntr; i > 1; i--) {
            size_t j = fp_rng_below(&rng, i), t = order[i - 1];
            order[i - 1] = order[j]; order[j] = t;
        }
        double tl = 0;
        long tn = 0;
        for (size_t b = 0; b < ntr; b += nb) {
            size_t e = b + nb < ntr ? b + nb : ntr;
            for (size_t i = b; i < e; i++)
                tl += accumulate(m, L, Z + order[i] * (size_t)m->dim, T + order[i] * FP_RES_COUNT,
                                 (double)(e - b), &tn);
            step(m, L);
        }
        fp_train_progress p = {epoch, o->epochs, tn ? tl / (double)tn : NAN, NAN, best_epoch};
        bool improved = false;
        if (nva) {
            p.val_loss = mean_loss(m, L, Zv, Tv, nva);
            if (p.val_loss < best_loss - 1e-12) improved = true;
        } else {
            improved = true;    /* no validation: the last epoch is the best */
        }
        if (improved) {
            best_loss = nva ? p.val_loss : p.train_loss;
            best_epoch = epoch;
            memcpy(best, L->theta, L->np * sizeof *best);
            memcpy(best + L->np, L->am, L->np * sizeof *best);
            memcpy(best + 2 * L->np, L->av, L->np * sizeof *best);
            best[3 * L->np] = L->step;
        }
        p.best_epoch = best_epoch;
        rep->epochs = epoch;
        rep->train_loss = p.train_loss;
        if (o->progress && o->progress(o->progress_arg, &p)) break;
        if (nva && epoch - best_epoch >= o->patience) break;
    }
    if (best_epoch) {
        memcpy(L->theta, best, L->np * sizeof *best);
        memcpy(L->am, best + L->np, L->np * sizeof *best);
        memcpy(L->av, best + 2 * L->np, L->np * sizeof *best);
        L->step = best[3 * L->np];
    }
    rep->best_epoch = best_epoch;
    rep->val_loss = nva ? best_loss : NAN;
    rc = 0;
out:
    free(Z); free(T); free(Zv); free(Tv); free(order); free(best);
    return rc;
}

static int lin_update(fp_model *m, const fp_example *e, fp_err *err)
{
    linear *L = m->impl;
    double *z = malloc((size_t)m->dim * sizeof *z), t[FP_RES_COUNT];
    if (!z) return fp_err_sys(err, "linear update");
    impute(fp_model_normalise(m, e->x), z, m->dim);
    for (int r = 0; r < FP_RES_COUNT; r++) t[r] = fp_model_target(m, e, r);
    long nt = 0;
    memset(L->grad, 0, L->np * sizeof *L->grad);
    accumulate(m, L, z, t, 1.0, &nt);
    if (nt) step(m, L);
    free(z);
    return 0;
}

static int lin_predict(fp_model *m, const double *z, double u[FP_RES_COUNT][FP_QMAX],
                       bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT], fp_explain *ex, fp_err *err)
{
    linear *L = m->impl;
    (void)err;
    /* z is m->z (scratch): impute in place */
    double *zz = m->z;
    if (z != zz) return fp_err_set(err, FP_EUSAGE, "linear predict: unexpected buffer");
    for (int j = 0; j < m->dim; j++) if (isnan(zz[j])) zz[j] = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!m->seen[r]) { ok[r] = false; why[r] = "the model saw no values of this resource"; continue; }
        ok[r] = true;
        for (int q = 0; q < m->o.nlevels; q++) u[r][q] = dot(block(m, L->theta, r, q), zz, m->dim);
    }
    if (ex) {
        /* the level nearest the median */
        int qm = 0;
        for (int q = 1; q < m->o.nlevels; q++)
            if (fabs(m->o.levels[q] - 0.5) < fabs(m->o.levels[qm] - 0.5)) qm = q;
        ex->kind = FP_EXPLAIN_FEATURES;
        ex->n = 0;
        for (int j = 0; j < m->dim; j++) {
            double c = 0;
            for (int r = 0; r < FP_RES_COUNT; r++)
                if (ok[r]) c += block(m, L->theta, r, qm)[j] * zz[j];
            if (c == 0) continue;
            /* insertion into the top list by |c| */
            int at = ex->n < FP_EXPLAIN_MAX ? ex->n : FP_EXPLAIN_MAX;
            while (at > 0 && fabs(ex->item[at - 1].value) < fabs(c)) at--;
            if (at >= FP_EXPLAIN_MAX) continue;
            int last = ex->n < FP_EXPLAIN_MAX ? ex->n : FP_EXPLAIN_MAX - 1;
            memmove(&ex->item[at + 1], &ex->item[at], (size_t)(last - at) * sizeof ex->item[0]);
            snprintf(ex->item[at].name, sizeof ex->item[at].name, "%s", m->names[j]);
            ex->item[at].value = c;
            if (ex->n < FP_EXPLAIN_MAX) ex->n++;
        }
    }
    return 0;
}

static json_t *lin_save(const fp_model *m)
{
    const linear *L = m->impl;
    json_t *p = json_object();
    if (!p) return NULL;
    json_object_set_new(p, "layout", json_string("theta[(r * nlevels + q) * (dim + 1) + j], j = dim: bias"));
    json_object_set_new(p, "initialised", json_boolean(L->initialised));
    json_object_set_new(p, "step", json_real(L->step));
    json_object_set_new(p, "theta", fp_jarr(L->theta, L->np));
    json_object_set_new(p, "adam_m", fp_jarr(L->am, L->np));
    json_object_set_new(p, "adam_v", fp_jarr(L->av, L->np));
    return p;
}

static int lin_load(fp_model *m, const json_t *p, const char *path, fp_err *err)
{
    linear *L = m->impl;
    if (fp_jget_arr(p, "theta", L->theta, L->np, true, path, err) < 0 ||
        fp_jget_arr(p, "adam_m", L->am, L->np, true, path, err) < 0 ||
        fp_jget_arr(p, "adam_v", L->av, L->np, true, path, err) < 0 ||
        fp_jget_num(p, "step", &L->step, path, err) < 0)
        return -1;
    L->initialised = json_is_true(json_object_get(p, "initialised"));
    return 0;
}

const fp_model_ops fp_model_linear_ops = {
    .kind = "linear", .history = false,
    .init = lin_init, .destroy = lin_destroy, .train = lin_train, .update = lin_update,
    .predict = lin_predict, .save = lin_save, .load = lin_load,
};
