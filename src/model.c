/* model.c - the model contract: options, normalisation, the validation
 * split, dispatch to the kinds, and model files (atomic save, strict load). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/atomic.h"
#include "fp/features.h"
#include "model_impl.h"

static const char *const res_names[FP_RES_COUNT] = {
#define FP_X_RN(e, n, mm, u) n,
    FP_RESOURCES(FP_X_RN)
#undef FP_X_RN
};

static const fp_model_ops *const kinds[] = {
    &fp_model_linear_ops, &fp_model_knn_ops, &fp_model_vpa_ops, &fp_model_autopilot_ops,
    &fp_model_lstm_ops, &fp_model_gru_ops, &fp_model_transformer_ops,
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const double default_levels[3] = {0.5, 0.9, 0.99};

void fp_model_opts_default(fp_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dim = FP_FEATURE_COUNT;
    o->names = NULL;
    o->nlevels = 3;
    memcpy(o->levels, default_levels, sizeof default_levels);
    o->feature_tx = FP_TX_LOG1P;
    o->target_tx = FP_TX_LOG1P;
    o->optimizer = FP_OPT_ADAM;
    o->lr = 0.01;
    o->l2 = 1e-4;
    o->k = 5;
    o->max_store = 100000;
    o->hidden = 32;
    o->layers = 1;
    o->heads = 2;
    o->ctx = 64;
    o->bptt = 64;
    o->clip = 1;
}

void fp_train_opts_default(fp_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 200;
    o->batch = 32;
    o->val_frac = 0.2;
    o->patience = 10;
    o->seed = 1;
    o->threads = 1;
}

static const fp_model_ops *find_kind(const char *kind)
{
    for (size_t i = 0; kind && i < NKINDS; i++)
        if (strcmp(kinds[i]->kind, kind) == 0) return kinds[i];
    return NULL;
}

/* Validate the options of a model of kind ops; FP_EUSAGE (or, when path is
 * set, FP_EINPUT naming the file) on the first problem. */
static int check_opts(const fp_model_ops *ops, const fp_model_opts *o, const char *path, fp_err *err)
{
    fp_errclass cls = path ? FP_EINPUT : FP_EUSAGE;
    const char *p = path ? path : "model";
    if (o->nlevels < 1 || o->nlevels > FP_QMAX)
        return fp_err_set(err, cls, "%s: %d quantile levels, need 1 to %d", p, o->nlevels, FP_QMAX);
    for (int i = 0; i < o->nlevels; i++) {
        if (!(o->levels[i] > 0 && o->levels[i] < 1) || (i && !(o->levels[i] > o->levels[i - 1])))
            return fp_err_set(err, cls, "%s: quantile levels must ascend strictly in (0,1) (level %d is %g)",
                              p, i, o->levels[i]);
    }
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (o->relative[r] && (ops->history || ops->seq || o->target_tx != FP_TX_LOG1P))
            return fp_err_set(err, cls, "%s: relative targets are for fingerprint models (linear, knn) "
                              "with log1p targets", p);
    if (ops->history) {
        if (o->nlevels != 3 || memcmp(o->levels, default_levels, sizeof default_levels) != 0)
            return fp_err_set(err, cls, "%s: a %s model gives levels 0.5, 0.9, 0.99 only", p, ops->kind);
        return 0;
    }
    if (o->dim < 1) return fp_err_set(err, cls, "%s: a model needs at least one feature", p);
    if (!o->names && !path && o->dim != FP_FEATURE_COUNT)
        return fp_err_set(err, cls, "%s: %d features without names (the standard set has %d)",
                          p, o->dim, FP_FEATURE_COUNT);
    if ((o->feature_tx != FP_TX_NONE && o->feature_tx != FP_TX_LOG1P) ||
        (o->target_tx != FP_TX_NONE && o->target_tx != FP_TX_LOG1P))
        return fp_err_set(err, cls, "%s: unknown transform", p);
    if (o->optimizer != FP_OPT_ADAM && o->optimizer != FP_OPT_SGD)
        return fp_err_set(err, cls, "%s: unknown optimizer", p);
    if (!(o->lr > 0 && isfinite(o->lr))) return fp_err_set(err, cls, "%s: learning rate %g must be > 0", p, o->lr);
    if (!(o->l2 >= 0 && isfinite(o->l2))) return fp_err_set(err, cls, "%s: L2 %g must be >= 0", p, o->l2);
    if (o->k < 1 || o->k > FP_EXPLAIN_MAX)
        return fp_err_set(err, cls, "%s: k = %d, need 1 to %d", p, o->k, FP_EXPLAIN_MAX);
    if (o->max_store < 1) return fp_err_set(err, cls, "%s: max_store must be >= 1", p);
    return 0;
}

/* Allocate a model of kind ops with options o (validated); names are
 * copied (or generated). */
static fp_model *alloc_model(const fp_model_ops *ops, const fp_model_opts *o, fp_err *err)
{
    fp_model *m = calloc(1, sizeof *m);
    if (!m) { fp_err_sys(err, "model"); return NULL; }
    m->ops = ops;
    m->o = *o;
    m->cal_on = true;
    m->o.names = NULL;
    m->o.seq_names = NULL;      /* a sequence model's metrics are its names */
    for (int r = 0; r < FP_RES_COUNT; r++) { m->rel[r] = -1; m->o.relative[r] = NULL; }
    if (ops->seq) m->o.seq_dim = o->dim;
    m->dim = ops->history ? 0 : o->dim;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        m->tcenter[r] = 0; m->tscale[r] = 1;
        m->tlo[r] = m->thi[r] = NAN;
    }
    if (m->dim) {
        m->names = calloc((size_t)m->dim, sizeof *m->names);
        m->median = calloc((size_t)m->dim, sizeof *m->median);
        m->scale = malloc((size_t)m->dim * sizeof *m->scale);
        m->z = calloc((size_t)m->dim, sizeof *m->z);
        if (!m->names || !m->median || !m->scale || !m->z) goto oom;
        for (int i = 0; i < m->dim; i++) {
            char buf[128];
            const char *nm = o->names ? o->names[i] : fp_feature_name(i, buf, sizeof buf);
            if (!nm) { fp_err_set(err, FP_EUSAGE, "model: feature %d has no name", i); goto fail; }
            if (!(m->names[i] = strdup(nm))) goto oom;
            m->scale[i] = 1;
        }
    }
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!o->relative[r]) continue;
        for (int i = 0; i < m->dim && m->rel[r] < 0; i++)
            if (strcmp(m->names[i], o->relative[r]) == 0) m->rel[r] = i;
        if (m->rel[r] < 0) {
            fp_err_set(err, FP_EUSAGE, "model: %s relative to \"%s\", which is not one of its features",
                       res_names[r], o->relative[r]);
            goto fail;
        }
    }
    return m;
oom:
    fp_err_sys(err, "model");
fail:
    fp_model_free(m);
    return NULL;
}

fp_model *fp_model_new(const char *kind, const fp_model_opts *opts, fp_err *err)
{
    const fp_model_ops *ops = find_kind(kind);
    if (!ops) {
        fp_err_set(err, FP_EUSAGE, "unknown model kind \"%s\" (linear, knn, vpa, autopilot, lstm, gru, transformer)", kind ? kind : "");
        return NULL;
    }
    fp_model_opts d;
    if (!opts) { fp_model_opts_default(&d); opts = &d; }
    fp_model_opts so;
    if (ops->seq) {
        /* a sequence model's features are its per-step metrics */
        so = *opts;
        if (so.seq_names) {
            so.dim = so.seq_dim;
            so.names = so.seq_names;
        } else if (so.seq_dim) {
            fp_err_set(err, FP_EUSAGE, "%s model: seq_dim %d without seq_names", kind, so.seq_dim);
            return NULL;
        } else {
            so.names = fp_model_seq_default_names(&so.dim);
        }
        opts = &so;
    }
    if (check_opts(ops, opts, NULL, err) < 0) return NULL;
    fp_model *m = alloc_model(ops, opts, err);
    if (!m) return NULL;
    if (ops->init(m, err) < 0) { fp_model_free(m); return NULL; }
    return m;
}

void fp_model_free(fp_model *m)
{
    if (!m) return;
    if (m->impl && m->ops->destroy) m->ops->destroy(m);
    for (int i = 0; m->names && i < m->dim; i++) free(m->names[i]);
    free(m->names);
    free(m->median);
    free(m->scale);
    free(m->z);
    json_decref(m->prov);
    json_decref(m->cal_info);
    fp_model_prior_disable(m);
    free(m);
}

const char *fp_model_kind(const fp_model *m) { return m->ops->kind; }
bool fp_model_is_history(const fp_model *m) { return m->ops->history; }
int fp_model_dim(const fp_model *m) { return m->dim; }
const char *fp_model_feature_name(const fp_model *m, int i)
{
    return i >= 0 && i < m->dim ? m->names[i] : NULL;
}
int fp_model_levels(const fp_model *m, double *levels)
{
    memcpy(levels, m->o.levels, (size_t)m->o.nlevels * sizeof *levels);
    return m->o.nlevels;
}

int fp_model_set_provenance(fp_model *m, const json_t *prov, fp_err *err)
{
    if (prov && !json_is_object(prov))
        return fp_err_set(err, FP_EUSAGE, "model provenance must be a JSON object");
    json_t *c = prov ? json_deep_copy(prov) : NULL;
    if (prov && !c) return fp_err_sys(err, "model provenance");
    json_decref(m->prov);
    m->prov = c;
    return 0;
}
const json_t *fp_model_provenance(const fp_model *m) { return m->prov; }

void fp_model_describe(const fp_model *m, const char *path, char *id, size_t n, double *horizon_s,
                       char *stat)
{
    const char *name = json_string_value(json_object_get(m->prov, "name"));
    if (name && name[0]) {
        snprintf(id, n, "%s:%s", fp_model_kind(m), name);
    } else if (path) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        size_t len = strlen(b);
        if (len > 5 && strcmp(b + len - 5, ".json") == 0) len -= 5;
        snprintf(id, n, "%s:%.*s", fp_model_kind(m), (int)len, b);
    } else {
        snprintf(id, n, "%s", fp_model_kind(m));
    }
    const char *target = json_string_value(json_object_get(m->prov, "target"));
    double h = json_number_value(json_object_get(m->prov, "horizon_s"));
    if (horizon_s) *horizon_s = target && strcmp(target, "horizon_peak") == 0 && h > 0 ? h : 0;
    if (stat) snprintf(stat, 8, "%s", target && strcmp(target, "p95") == 0 ? "p95" : "peak");
}

/* ------------------------------------------------------------ transforms */

static double ftx(const fp_model *m, double x)
{
    if (m->o.feature_tx == FP_TX_LOG1P) return x < 0 ? -log1p(-x) : log1p(x);
    return x;
}

static double ttx(const fp_model *m, double y)
{
    if (m->o.target_tx == FP_TX_LOG1P) return log1p(y > 0 ? y : 0);
    return y;
}

static double ttx_inv(const fp_model *m, double u)
{
    if (m->o.target_tx == FP_TX_LOG1P) { double y = expm1(u); return y > 0 ? y : 0; }
    return u;
}

/* log1p of a relative target's anchor in the row x (its raw feature
 * value, clamped at 0); 0 for an absolute target; NaN when the anchor is
 * missing (the row cannot train or be predicted for r). */
static double anchor_of(const fp_model *m, const double *x, int r)
{
    if (m->rel[r] < 0) return 0;
    double a = x ? x[m->rel[r]] : NAN;
    return isfinite(a) ? log1p(a > 0 ? a : 0) : NAN;
}

/* The transformed, unstandardised target of row e for resource r
 * (relative to its anchor when the target is relative); NaN when unknown. */
static double row_t(const fp_model *m, const fp_example *e, int r)
{
    double y = e->y[r];
    if (isnan(y)) return NAN;
    return ttx(m, y) - anchor_of(m, e->x, r);
}

/* Extend the transformed target range with the targets of row e. */
static void widen_range(fp_model *m, const fp_example *e)
{
    for (int r = 0; r < FP_RES_COUNT; r++) {
        double t = row_t(m, e, r);
        if (!isfinite(t)) continue;
        if (isnan(m->tlo[r]) || t < m->tlo[r]) m->tlo[r] = t;
        if (isnan(m->thi[r]) || t > m->thi[r]) m->thi[r] = t;
    }
}

double fp_model_target(const fp_model *m, const fp_example *e, int r)
{
    double t = row_t(m, e, r);
    if (isnan(t)) return NAN;
    return (t - m->tcenter[r]) / m->tscale[r];
}

/* Set the anchors of the row x being predicted (fp_model_to_quantiles
 * reads them); for each relative target whose anchor is missing, okr[r]
 * is cleared and why[r] says so. */
static void set_anchors(fp_model *m, const double *x, bool *okr, const char **why)
{
    for (int r = 0; r < FP_RES_COUNT; r++) {
        m->qanchor[r] = anchor_of(m, x, r);
        if (isnan(m->qanchor[r])) {
            m->qanchor[r] = 0;
            if (okr && okr[r]) {
                okr[r] = false;
                why[r] = "its target is relative to a feature this fingerprint does not have";
            }
        }
    }
}

void fp_model_normalise_seq(const fp_model *m, const double *seq, int len, double *Z)
{
    for (size_t k = 0; k < (size_t)len * (size_t)m->dim; k++) {
        int i = (int)(k % (size_t)m->dim);
        double v = seq[k];
        if (!isfinite(v)) { Z[k] = 0; continue; }
        v = (ftx(m, v) - m->median[i]) / m->scale[i];
        Z[k] = v > FP_MODEL_ZCLIP ? FP_MODEL_ZCLIP : v < -FP_MODEL_ZCLIP ? -FP_MODEL_ZCLIP : v;
    }
}

const double *fp_model_normalise(fp_model *m, const double *x)
{
    for (int i = 0; i < m->dim; i++) {
        double v = x[i];
        if (!isfinite(v)) { m->z[i] = NAN; continue; }
        v = (ftx(m, v) - m->median[i]) / m->scale[i];
        m->z[i] = v > FP_MODEL_ZCLIP ? FP_MODEL_ZCLIP : v < -FP_MODEL_ZCLIP ? -FP_MODEL_ZCLIP : v;
    }
    return m->z;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile (linear interpolation, type 7) of sorted v[0..n). */
static double sorted_q(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t i = (size_t)h;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* Robust centre and scale of v[0..n) (sorted in place): median and IQR,
 * else the mean absolute deviation from the median, else 1. NaN centre
 * (and scale 1) when n == 0. */
static void robust(double *v, size_t n, double *centre, double *scale)
{
    if (!n) { *centre = NAN; *scale = 1; return; }
    qsort(v, n, sizeof *v, cmp_double);
    double med = sorted_q(v, n, 0.5);
    double iqr = sorted_q(v, n, 0.75) - sorted_q(v, n, 0.25);
    if (!(iqr > 0)) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += fabs(v[i] - med);
        iqr = s / (double)n;
    }
    *centre = med;
    *scale = iqr > 0 && isfinite(iqr) ? iqr : 1;
}

/* Set the feature normalisation and target standardisation from rows
 * idx[0..n) of ex. A feature never seen gets median 0 (so z stays NaN ->
 * imputed), scale 1. */
static int fit_normalisation(fp_model *m, const fp_example *ex, const size_t *idx, size_t n, fp_err *err)
{
    size_t nb = n;
    if (m->ops->seq) {
        /* sequence models: statistics of every step of every sequence */
        nb = 0;
        for (size_t j = 0; j < n; j++) nb += (size_t)ex[idx[j]].seq_len;
        if (nb < n) nb = n;
    }
    double *buf = malloc((nb ? nb : 1) * sizeof *buf);
    if (!buf) return fp_err_sys(err, "model normalisation");
    for (int i = 0; i < m->dim; i++) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            const fp_example *e = &ex[idx[j]];
            if (m->ops->seq) {
                for (int t = 0; t < e->seq_len; t++) {
                    double v = e->seq[(size_t)t * (size_t)m->dim + (size_t)i];
                    if (isfinite(v)) buf[k++] = ftx(m, v);
                }
                continue;
            }
            double v = e->x[i];
            if (isfinite(v)) buf[k++] = ftx(m, v);
        }
        robust(buf, k, &m->median[i], &m->scale[i]);
        if (isnan(m->median[i])) m->median[i] = 0;
    }
    for (int r = 0; r < FP_RES_COUNT; r++) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            double t = row_t(m, &ex[idx[j]], r);
            if (isfinite(t)) buf[k++] = t;
        }
        robust(buf, k, &m->tcenter[r], &m->tscale[r]);
        if (isnan(m->tcenter[r])) m->tcenter[r] = 0;
    }
    for (size_t j = 0; j < n; j++) widen_range(m, &ex[idx[j]]);
    free(buf);
    m->normalised = true;
    return 0;
}

/* ------------------------------------------------------------ training */

typedef struct { const char *g; size_t row; } grow;

static int cmp_grow(const void *a, const void *b)
{
    const grow *x = a, *y = b;
    int c = strcmp(x->g, y->g);
    return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

long fp_groups_shuffled(const fp_example *ex, size_t n, uint64_t seed, size_t *gof, size_t *perm,
                        fp_err *err)
{
    grow *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) return fp_err_sys(err, "grouping rows");
    for (size_t i = 0; i < n; i++) { rows[i].g = ex[i].group ? ex[i].group : ""; rows[i].row = i; }
    qsort(rows, n, sizeof *rows, cmp_grow);
    size_t G = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(rows[i].g, rows[i - 1].g) != 0) G++;
        gof[rows[i].row] = G - 1;
    }
    free(rows);
    fp_rng rng = {seed};
    for (size_t g = 0; g < G; g++) perm[g] = g;
    for (size_t g = G; g > 1; g--) {
        size_t j = fp_rng_below(&rng, g);
        size_t t = perm[g - 1]; perm[g - 1] = perm[j]; perm[j] = t;
    }
    return (long)G;
}

/* Split rows by group: the distinct groups (in sorted order, so the split
 * does not depend on row order) are shuffled with the seed and the first
 * ceil(val_frac * G) go to validation. */
static int split_groups(const fp_example *ex, size_t n, const fp_train_opts *o,
                        size_t *tr, size_t *ntr, size_t *va, size_t *nva,
                        size_t *gtr, size_t *gva, fp_err *err)
{
    size_t *gof = malloc((n ? n : 1) * sizeof *gof), *perm = malloc((n ? n : 1) * sizeof *perm);
    unsigned char *isval = calloc(n ? n : 1, 1);
    long Gl = gof && perm && isval ? fp_groups_shuffled(ex, n, o->seed, gof, perm, err)
                                   : fp_err_sys(err, "model split");
    if (Gl < 0) {
        free(gof); free(perm); free(isval);
        return -1;
    }
    size_t G = (size_t)Gl, nv = 0;
    if (G >= 2 && o->val_frac > 0) {
        nv = (size_t)ceil(o->val_frac * (double)G);
        if (nv < 1) nv = 1;
        if (nv >= G) nv = G - 1;
    }
    for (size_t g = 0; g < nv; g++) isval[perm[g]] = 1;
    /* in row order on each side, so training order is stable */
    *ntr = *nva = 0;
    for (size_t i = 0; i < n; i++) {
        if (isval[gof[i]]) va[(*nva)++] = i;
        else tr[(*ntr)++] = i;
    }
    *gva = nv;
    *gtr = G - nv;
    free(gof); free(perm); free(isval);
    return 0;
}

/* Back-transform standardised values u into out (sorted: no crossing).
 * A value is first clamped, in the transformed space, to the range of
 * targets the model has seen widened by FP_MODEL_TMARGIN of its span on
 * each side: a linear model extrapolating far outside its data (a feature
 * ten IQRs out, a log-space target) would otherwise ask for absurd
 * amounts; with log1p targets the clamp allows at most about e^(0.25 x
 * span) beyond the largest target seen. The model's calibration, if
 * any, is applied last (calibrate.c). */
void fp_model_to_quantiles(const fp_model *m, int r, const double *u, fp_quantiles *q)
{
    memset(q, 0, sizeof *q);
    q->n = m->o.nlevels;
    double lo = m->tlo[r], hi = m->thi[r], pad = (hi - lo) * FP_MODEL_TMARGIN;
    for (int j = 0; j < q->n; j++) {
        q->level[j] = m->o.levels[j];
        double t = u[j] * m->tscale[r] + m->tcenter[r];
        if (!isnan(lo) && t < lo - pad) t = lo - pad;
        if (!isnan(hi) && t > hi + pad) t = hi + pad;
        q->value[j] = ttx_inv(m, t + (m->rel[r] >= 0 ? m->qanchor[r] : 0));
    }
    qsort(q->value, (size_t)q->n, sizeof q->value[0], cmp_double);
    fp_model_calib_apply(m, r, q, NAN);
}

void fp_model_not_predicted(fp_quantiles *q, const char *why)
{
    memset(q, 0, sizeof *q);
    snprintf(q->why, sizeof q->why, "%s", why ? why : "not predicted");
}

/* Pinball loss (standardised space) and coverage of the model on rows
 * va[0..nva): coverage against the back-transformed quantiles. */
static int evaluate(fp_model *m, const fp_example *ex, const size_t *va, size_t nva,
                    fp_train_report *rep, fp_err *err)
{
    long cov[FP_RES_COUNT][FP_QMAX] = {{0}}, cnt[FP_RES_COUNT] = {0};
    double loss = 0;
    long nl = 0;
    for (size_t i = 0; i < nva; i++) {
        const fp_example *e = &ex[va[i]];
        double u[FP_RES_COUNT][FP_QMAX];
        bool okr[FP_RES_COUNT] = {false};
        const char *why[FP_RES_COUNT] = {NULL};
        if (m->ops->seq) {
            if (e->seq_len <= 0) continue;      /* not trained on either */
            double *Z = malloc((size_t)e->seq_len * (size_t)m->dim * sizeof *Z);
            if (!Z) return fp_err_sys(err, "model evaluation");
            fp_model_normalise_seq(m, e->seq, e->seq_len, Z);
            int rc = m->ops->predict_seq(m, Z, e->seq_len, u, okr, why, err);
            free(Z);
            if (rc < 0) return -1;
        } else if (m->ops->predict(m, fp_model_normalise(m, e->x), u, okr, why, NULL, err) < 0) {
            return -1;
        }
        if (!m->ops->seq) set_anchors(m, e->x, okr, why);
        for (int r = 0; r < FP_RES_COUNT; r++) {
            double t = fp_model_target(m, e, r);
            if (!okr[r] || isnan(t)) continue;
            fp_quantiles q;
            fp_model_to_quantiles(m, r, u[r], &q);
            cnt[r]++;
            for (int j = 0; j < m->o.nlevels; j++) {
                loss += fp_pinball(m->o.levels[j], u[r][j], t);
                nl++;
                if (e->y[r] <= q.value[j]) cov[r][j]++;
            }
        }
    }
    for (int r = 0; r < FP_RES_COUNT; r++)
        for (int j = 0; j < FP_QMAX; j++)
            rep->coverage[r][j] = cnt[r] && j < m->o.nlevels ? (double)cov[r][j] / (double)cnt[r] : NAN;
    if (isnan(rep->val_loss)) rep->val_loss = nl ? loss / (double)nl : NAN;
    return 0;
}

static int history_feed(fp_model *m, const fp_example *e, fp_err *err)
{
    fp_usage u = {e->group ? e->group : "", e->ts, e->y[FP_RES_CPU], e->y[FP_RES_MEM], NAN, e->oom};
    return m->ops->observe(m, &u, err);
}

int fp_model_train(fp_model *m, const fp_example *ex, size_t n, const fp_train_opts *o,
                   fp_train_report *rep, fp_err *err)
{
    fp_train_opts d;
    fp_train_report rdummy;
    if (!o) { fp_train_opts_default(&d); o = &d; }
    if (!rep) rep = &rdummy;
    memset(rep, 0, sizeof *rep);
    rep->train_loss = rep->val_loss = NAN;
    for (int r = 0; r < FP_RES_COUNT; r++)
        for (int j = 0; j < FP_QMAX; j++) rep->coverage[r][j] = NAN;
    if (n == 0) return fp_err_set(err, FP_EUSAGE, "%s model: no training examples", m->ops->kind);
    if (o->epochs < 1 || o->batch < 1 || o->patience < 1 || !(o->val_frac >= 0 && o->val_frac < 1))
        return fp_err_set(err, FP_EUSAGE, "training options: epochs, batch, patience >= 1, val_frac in [0,1)");
    if (m->ops->history) {
        for (size_t i = 0; i < n; i++)
            if (history_feed(m, &ex[i], err) < 0 ||
                fp_model_prior_observe(m, ex[i].key, ex[i].y, ex[i].censored, err) < 0)
                return -1;
        rep->n_train = n;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (m->ops->seq) {
            if (ex[i].seq_len < 0 || (ex[i].seq_len > 0 && !ex[i].seq))
                return fp_err_set(err, FP_EUSAGE, "%s model: example %zu has no sequence", m->ops->kind, i);
        } else if (!ex[i].x) {
            return fp_err_set(err, FP_EUSAGE, "%s model: example %zu has no features", m->ops->kind, i);
        }
    }
    if (m->ops == &fp_model_knn_ops && !m->normalised && m->raw_updates)
        return fp_err_set(err, FP_EUSAGE, "knn model: it holds examples stored before any training "
                          "(identity normalisation); train a fresh model");
    size_t *tr = malloc(n * sizeof *tr), *va = malloc(n * sizeof *va);
    if (!tr || !va) { free(tr); free(va); return fp_err_sys(err, "model training"); }
    size_t ntr = 0, nva = 0;
    int rc = split_groups(ex, n, o, tr, &ntr, va, &nva, &rep->g_train, &rep->g_val, err);
    if (rc == 0 && !m->normalised) rc = fit_normalisation(m, ex, tr, ntr, err);
    if (rc == 0) {
        rep->n_train = ntr;
        rep->n_val = nva;
        for (size_t i = 0; i < ntr; i++)
            for (int r = 0; r < FP_RES_COUNT; r++)
                if (!isnan(ex[tr[i]].y[r])) m->seen[r]++;
        rc = m->ops->train(m, ex, tr, ntr, va, nva, o, rep, err);
    }
    if (rc == 0 && nva) rc = evaluate(m, ex, va, nva, rep, err);
    /* knn keeps the validation rows too, once scored (fp_model_update
     * would also feed them to the prior: they go there below) */
    if (rc == 0 && nva && m->ops == &fp_model_knn_ops)
        for (size_t i = 0; rc == 0 && i < nva; i++) {
            fp_example e = ex[va[i]];
            e.key = NULL;
            rc = fp_model_update(m, &e, err);
        }
    /* the prior: every row with a key, in row order */
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fp_model_prior_observe(m, ex[i].key, ex[i].y, ex[i].censored, err);
    free(tr);
    free(va);
    return rc;
}

int fp_model_update(fp_model *m, const fp_example *e, fp_err *err)
{
    if (m->ops->history)
        return history_feed(m, e, err) < 0 ? -1 : fp_model_prior_observe(m, e->key, e->y, e->censored, err);
    if (m->ops->seq ? e->seq_len < 0 || (e->seq_len > 0 && !e->seq) : !e->x)
        return fp_err_set(err, FP_EUSAGE, "%s model: update example has no %s", m->ops->kind,
                          m->ops->seq ? "sequence" : "features");
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (!isnan(e->y[r])) m->seen[r]++;
    widen_range(m, e);
    if (!m->normalised) m->raw_updates = true;
    if (m->ops->update(m, e, err) < 0) return -1;
    return fp_model_prior_observe(m, e->key, e->y, e->censored, err);
}

int fp_model_predict(fp_model *m, const double *x, fp_quantiles out[FP_RES_COUNT],
                     fp_explain *ex, fp_err *err)
{
    if (ex) { ex->kind = FP_EXPLAIN_NONE; ex->n = 0; }
    if (m->ops->history) {
        char why[128];
        snprintf(why, sizeof why, "%s is a history baseline: nothing for a workload it has not seen",
                 m->ops->kind);
        for (int r = 0; r < FP_RES_COUNT; r++) fp_model_not_predicted(&out[r], why);
        return 0;
    }
    if (!x) return fp_err_set(err, FP_EUSAGE, "%s model: no feature vector", m->ops->kind);
    double u[FP_RES_COUNT][FP_QMAX];
    bool okr[FP_RES_COUNT] = {false};
    const char *why[FP_RES_COUNT] = {NULL};
    if (m->ops->predict(m, fp_model_normalise(m, x), u, okr, why, ex, err) < 0) return -1;
    set_anchors(m, x, okr, why);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (okr[r]) fp_model_to_quantiles(m, r, u[r], &out[r]);
        else fp_model_not_predicted(&out[r], why[r]);
    }
    return 0;
}

const char *fp_model_relative(const fp_model *m, int r)
{
    return r >= 0 && r < FP_RES_COUNT && m->rel[r] >= 0 ? m->names[m->rel[r]] : NULL;
}

double fp_model_novelty(fp_model *m)
{
    if (!m->ops->novelty || m->ops->history || m->ops->seq) return NAN;
    return m->ops->novelty(m);
}

bool fp_model_is_seq(const fp_model *m) { return m->ops->seq; }

int fp_model_predict_seq(fp_model *m, const double *seq, int len, fp_quantiles out[FP_RES_COUNT],
                         fp_err *err)
{
    if (!m->ops->seq)
        return fp_err_set(err, FP_EUSAGE, "a %s model does not read sequences", m->ops->kind);
    if (len < 0 || (len > 0 && !seq))
        return fp_err_set(err, FP_EUSAGE, "%s model: no sequence (length %d)", m->ops->kind, len);
    double u[FP_RES_COUNT][FP_QMAX];
    bool okr[FP_RES_COUNT] = {false};
    const char *why[FP_RES_COUNT] = {NULL};
    double *Z = malloc(((size_t)len * (size_t)m->dim + 1) * sizeof *Z);
    if (!Z) return fp_err_sys(err, "%s model: prediction", m->ops->kind);
    fp_model_normalise_seq(m, seq, len, Z);
    int rc = m->ops->predict_seq(m, Z, len, u, okr, why, err);
    free(Z);
    if (rc < 0) return -1;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (okr[r]) fp_model_to_quantiles(m, r, u[r], &out[r]);
        else fp_model_not_predicted(&out[r], why[r]);
    }
    return 0;
}

int fp_model_observe(fp_model *m, const fp_usage *u, fp_err *err)
{
    if (!m->ops->history)
        return fp_err_set(err, FP_EUSAGE, "a %s model learns from fingerprints, not usage samples", m->ops->kind);
    if (!u || !u->group) return fp_err_set(err, FP_EUSAGE, "%s model: a usage sample needs a group", m->ops->kind);
    return m->ops->observe(m, u, err);
}

int fp_model_recommend(fp_model *m, const char *group, double ts,
                       fp_quantiles out[FP_RES_COUNT], fp_err *err)
{
    if (!m->ops->history)
        return fp_err_set(err, FP_EUSAGE, "a %s model predicts from fingerprints (fp_model_predict)", m->ops->kind);
    if (!group) return fp_err_set(err, FP_EUSAGE, "%s model: recommend needs a group", m->ops->kind);
    return m->ops->recommend(m, group, ts, out, err);
}

int fp_model_check_features(const fp_model *m, const char *const *names, size_t n,
                            int *map, fp_err *err)
{
    int absent = 0, first = -1;
    for (int i = 0; i < m->dim; i++) {
        int at = -1;
        /* fingerprints list features in the standard order: try i first */
        if ((size_t)i < n && names[i] && strcmp(names[i], m->names[i]) == 0) at = i;
        for (size_t j = 0; at < 0 && j < n; j++)
            if (names[j] && strcmp(names[j], m->names[i]) == 0) at = (int)j;
        if (at < 0 && absent++ == 0) first = i;
        if (map) map[i] = at;
    }
    if (!absent) return 0;
    if (absent == 1)
        return fp_err_set(err, FP_EINPUT, "model needs feature %s, which the fingerprint lacks", m->names[first]);
    return fp_err_set(err, FP_EINPUT, "model needs feature %s (and %d more), which the fingerprint lacks",
                      m->names[first], absent - 1);
}

/* ------------------------------------------------------------ JSON helpers */

json_t *fp_jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *fp_jarr(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, fp_jnum(v[i]));
    return a;
}

int fp_jget_arr(const json_t *obj, const char *key, double *v, size_t n, bool finite,
                const char *path, fp_err *err)
{
    const json_t *a = json_object_get(obj, key);
    if (!json_is_array(a))
        return fp_err_set(err, FP_EINPUT, "%s: \"%s\" is missing or not an array", path, key);
    if (json_array_size(a) != n)
        return fp_err_set(err, FP_EINPUT, "%s: \"%s\" has %zu values, expected %zu", path, key,
                          json_array_size(a), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (json_is_number(e)) v[i] = json_number_value(e);
        else if (json_is_null(e) && !finite) v[i] = NAN;
        else return fp_err_set(err, FP_EINPUT, "%s: \"%s\"[%zu] is not a number", path, key, i);
    }
    return 0;
}

int fp_jget_num(const json_t *obj, const char *key, double *v, const char *path, fp_err *err)
{
    const json_t *e = json_object_get(obj, key);
    if (!json_is_number(e))
        return fp_err_set(err, FP_EINPUT, "%s: \"%s\" is missing or not a number", path, key);
    *v = json_number_value(e);
    return 0;
}

/* ------------------------------------------------------------ save */

static const char *tx_name(fp_transform t) { return t == FP_TX_LOG1P ? "log1p" : "none"; }

static json_t *to_json(const fp_model *m)
{
    json_t *root = json_object(), *feat = json_object(), *tg = json_object(), *hyper = json_object();
    json_t *names = json_array(), *res = json_array(), *seen = json_array();
    json_t *params = m->ops->save(m);
    if (!root || !feat || !tg || !hyper || !names || !res || !seen || !params) goto fail;
    json_object_set_new(root, "format", json_string("fp-model"));
    json_object_set_new(root, "version", json_integer(FP_MODEL_FORMAT_VERSION));
    json_object_set_new(root, "kind", json_string(m->ops->kind));
    for (int i = 0; i < m->dim; i++) json_array_append_new(names, json_string(m->names[i]));
    json_object_set_new(feat, "names", names);
    names = NULL;
    json_object_set_new(feat, "transform", json_string(m->o.feature_tx == FP_TX_LOG1P ? "slog1p" : "none"));
    json_object_set_new(feat, "normalisation",
                        json_string("z = clamp((tx(x) - median) / scale, -10, 10); scale = IQR, "
                                    "else mean |x - median|, else 1; missing: z = 0 (linear) or skipped (knn)"));
    json_object_set_new(feat, "median", fp_jarr(m->median, (size_t)m->dim));
    json_object_set_new(feat, "scale", fp_jarr(m->scale, (size_t)m->dim));
    json_object_set_new(feat, "normalised", json_boolean(m->normalised));
    for (int r = 0; r < FP_RES_COUNT; r++) {
        json_array_append_new(res, json_string(res_names[r]));
        json_array_append_new(seen, json_integer(m->seen[r]));
    }
    json_object_set_new(tg, "resources", res);
    res = NULL;
    json_object_set_new(tg, "transform", json_string(tx_name(m->o.target_tx)));
    json_t *rel = NULL;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (m->rel[r] < 0) continue;
        if (!rel) rel = json_object();
        if (rel) json_object_set_new(rel, res_names[r], json_string(m->names[m->rel[r]]));
    }
    if (rel) json_object_set_new(tg, "relative", rel);
    json_object_set_new(tg, "center", fp_jarr(m->tcenter, FP_RES_COUNT));
    json_object_set_new(tg, "lo", fp_jarr(m->tlo, FP_RES_COUNT));
    json_object_set_new(tg, "hi", fp_jarr(m->thi, FP_RES_COUNT));
    json_object_set_new(tg, "scale", fp_jarr(m->tscale, FP_RES_COUNT));
    json_object_set_new(tg, "seen", seen);
    seen = NULL;
    json_object_set_new(hyper, "optimizer", json_string(m->o.optimizer == FP_OPT_SGD ? "sgd" : "adam"));
    json_object_set_new(hyper, "lr", json_real(m->o.lr));
    json_object_set_new(hyper, "beta1", json_real(0.9));
    json_object_set_new(hyper, "beta2", json_real(0.999));
    json_object_set_new(hyper, "l2", json_real(m->o.l2));
    json_object_set_new(hyper, "k", json_integer(m->o.k));
    json_object_set_new(hyper, "max_store", json_integer((json_int_t)m->o.max_store));
    json_object_set_new(root, "features", feat);
    json_object_set_new(root, "targets", tg);
    json_object_set_new(root, "levels", fp_jarr(m->o.levels, (size_t)m->o.nlevels));
    json_object_set_new(root, "hyper", hyper);
    json_object_set_new(root, "params", params);
    json_t *cal = fp_model_calib_save(m);
    if (cal) json_object_set_new(root, "calibration", cal);
    json_t *pr = fp_model_prior_save(m);
    if (pr) json_object_set_new(root, "prior", pr);
    json_object_set_new(root, "provenance", m->prov ? json_deep_copy(m->prov) : json_object());
    return root;
fail:
    json_decref(root); json_decref(feat); json_decref(tg); json_decref(hyper);
    json_decref(names); json_decref(res); json_decref(seen); json_decref(params);
    return NULL;
}

int fp_model_save(const fp_model *m, const char *path, fp_err *err)
{
    json_t *root = to_json(m);
    if (!root) return fp_err_set(err, FP_ESYS, "%s: out of memory encoding the model", path);
    char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!s) return fp_err_set(err, FP_ESYS, "%s: cannot encode the model", path);
    size_t len = strlen(s);
    s[len] = 0;
    /* end with a newline: a text file */
    char *t = realloc(s, len + 2);
    if (!t) { free(s); return fp_err_sys(err, "%s", path); }
    t[len] = '\n';
    t[len + 1] = 0;
    int rc = fp_atomic_write(path, t, len + 1, err);
    free(t);
    return rc;
}

/* ------------------------------------------------------------ load */

static int get_tx(const json_t *obj, const char *path, const char *what, fp_transform *t, fp_err *err)
{
    const char *s = json_string_value(json_object_get(obj, "transform"));
    if (!s) return fp_err_set(err, FP_EINPUT, "%s: %s.transform is missing", path, what);
    if (strcmp(s, "none") == 0) *t = FP_TX_NONE;
    else if (strcmp(s, "log1p") == 0 || strcmp(s, "slog1p") == 0) *t = FP_TX_LOG1P;
    else return fp_err_set(err, FP_EINPUT, "%s: %s.transform \"%s\" is unknown", path, what, s);
    return 0;
}

static fp_model *from_json(const json_t *root, const char *path, fp_err *err)
{
    if (!json_is_object(root)) { fp_err_set(err, FP_EINPUT, "%s: not an fp model (not a JSON object)", path); return NULL; }
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, "fp-model") != 0) {
        fp_err_set(err, FP_EINPUT, "%s: not an fp model (no \"format\": \"fp-model\")", path);
        return NULL;
    }
    const json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver)) { fp_err_set(err, FP_EINPUT, "%s: model format version is missing", path); return NULL; }
    if (json_integer_value(ver) != FP_MODEL_FORMAT_VERSION) {
        fp_err_set(err, FP_EINPUT, "%s: model format version %lld, this libfp reads version %d", path,
                   (long long)json_integer_value(ver), FP_MODEL_FORMAT_VERSION);
        return NULL;
    }
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const fp_model_ops *ops = find_kind(kind);
    if (!ops) {
        fp_err_set(err, FP_EINPUT, "%s: unknown model kind \"%s\"", path, kind ? kind : "(none)");
        return NULL;
    }
    const json_t *feat = json_object_get(root, "features"), *tg = json_object_get(root, "targets");
    const json_t *hyper = json_object_get(root, "hyper"), *params = json_object_get(root, "params");
    const json_t *prov = json_object_get(root, "provenance");
    if (!json_is_object(feat) || !json_is_object(tg) || !json_is_object(hyper) || !json_is_object(params)) {
        fp_err_set(err, FP_EINPUT, "%s: features, targets, hyper or params missing", path);
        return NULL;
    }
    if (prov && !json_is_object(prov) && !json_is_null(prov)) {
        fp_err_set(err, FP_EINPUT, "%s: provenance is not an object", path);
        return NULL;
    }
    fp_model_opts o;
    fp_model_opts_default(&o);
    const json_t *names = json_object_get(feat, "names");
    if (!json_is_array(names)) { fp_err_set(err, FP_EINPUT, "%s: features.names is not an array", path); return NULL; }
    size_t dim = json_array_size(names);
    const char **nm = calloc(dim ? dim : 1, sizeof *nm);
    if (!nm) { fp_err_sys(err, "%s", path); return NULL; }
    fp_model *m = NULL;
    for (size_t i = 0; i < dim; i++)
        if (!(nm[i] = json_string_value(json_array_get(names, i)))) {
            fp_err_set(err, FP_EINPUT, "%s: features.names[%zu] is not a string", path, i);
            goto fail;
        }
    if (ops->history && dim) { fp_err_set(err, FP_EINPUT, "%s: a %s model has no features", path, ops->kind); goto fail; }
    o.dim = (int)dim;
    o.names = nm;
    const json_t *lv = json_object_get(root, "levels");
    if (!json_is_array(lv) || json_array_size(lv) < 1 || json_array_size(lv) > FP_QMAX) {
        fp_err_set(err, FP_EINPUT, "%s: levels must be an array of 1 to %d numbers", path, FP_QMAX);
        goto fail;
    }
    o.nlevels = (int)json_array_size(lv);
    if (fp_jget_arr(root, "levels", o.levels, (size_t)o.nlevels, true, path, err) < 0) goto fail;
    if (get_tx(feat, path, "features", &o.feature_tx, err) < 0 || get_tx(tg, path, "targets", &o.target_tx, err) < 0)
        goto fail;
    const json_t *relj = json_object_get(tg, "relative");
    if (relj && !json_is_object(relj)) {
        fp_err_set(err, FP_EINPUT, "%s: targets.relative must be an object {resource: feature}", path);
        goto fail;
    }
    for (int r = 0; relj && r < FP_RES_COUNT; r++) {
        const json_t *v = json_object_get(relj, res_names[r]);
        if (!v) continue;
        if (!(o.relative[r] = json_string_value(v))) {
            fp_err_set(err, FP_EINPUT, "%s: targets.relative.%s must be a feature name", path, res_names[r]);
            goto fail;
        }
    }
    const char *opt = json_string_value(json_object_get(hyper, "optimizer"));
    if (!opt || (strcmp(opt, "adam") && strcmp(opt, "sgd"))) {
        fp_err_set(err, FP_EINPUT, "%s: hyper.optimizer must be \"adam\" or \"sgd\"", path);
        goto fail;
    }
    o.optimizer = strcmp(opt, "sgd") == 0 ? FP_OPT_SGD : FP_OPT_ADAM;
    double k, ms;
    if (fp_jget_num(hyper, "lr", &o.lr, path, err) < 0 || fp_jget_num(hyper, "l2", &o.l2, path, err) < 0 ||
        fp_jget_num(hyper, "k", &k, path, err) < 0 || fp_jget_num(hyper, "max_store", &ms, path, err) < 0)
        goto fail;
    if (!(k >= 1 && k <= FP_EXPLAIN_MAX) || !(ms >= 1 && ms < 1e12)) {
        fp_err_set(err, FP_EINPUT, "%s: hyper.k or hyper.max_store out of range", path);
        goto fail;
    }
    o.k = (int)k;
    o.max_store = (size_t)ms;
    if (check_opts(ops, &o, path, err) < 0) goto fail;
    m = alloc_model(ops, &o, err);
    if (!m) goto fail;
    if (ops->init(m, err) < 0) goto fail;
    if (fp_jget_arr(feat, "median", m->median, dim, true, path, err) < 0 ||
        fp_jget_arr(feat, "scale", m->scale, dim, true, path, err) < 0 ||
        fp_jget_arr(tg, "center", m->tcenter, FP_RES_COUNT, true, path, err) < 0 ||
        fp_jget_arr(tg, "scale", m->tscale, FP_RES_COUNT, true, path, err) < 0)
        goto fail;
    for (size_t i = 0; i < dim; i++)
        if (!(m->scale[i] > 0)) { fp_err_set(err, FP_EINPUT, "%s: features.scale[%zu] must be > 0", path, i); goto fail; }
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (!(m->tscale[r] > 0)) { fp_err_set(err, FP_EINPUT, "%s: targets.scale[%d] must be > 0", path, r); goto fail; }
    /* the target range: absent in files written before it existed */
    if (json_object_get(tg, "lo") &&
        (fp_jget_arr(tg, "lo", m->tlo, FP_RES_COUNT, false, path, err) < 0 ||
         fp_jget_arr(tg, "hi", m->thi, FP_RES_COUNT, false, path, err) < 0))
        goto fail;
    double seen[FP_RES_COUNT];
    if (fp_jget_arr(tg, "seen", seen, FP_RES_COUNT, true, path, err) < 0) goto fail;
    for (int r = 0; r < FP_RES_COUNT; r++) m->seen[r] = (long)seen[r];
    m->normalised = json_is_true(json_object_get(feat, "normalised"));
    if (ops->load(m, params, path, err) < 0) goto fail;
    if (fp_model_calib_load(m, json_object_get(root, "calibration"), path, err) < 0) goto fail;
    if (fp_model_prior_load(m, json_object_get(root, "prior"), path, err) < 0) goto fail;
    if (json_is_object(prov) && fp_model_set_provenance(m, prov, err) < 0) goto fail;
    free(nm);
    return m;
fail:
    free(nm);
    fp_model_free(m);
    return NULL;
}

fp_model *fp_model_load(const char *path, fp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) { fp_err_sys(err, "%s: cannot open model", path); return NULL; }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    int e = ferror(f);
    fclose(f);
    if (!root) {
        if (e) fp_err_set(err, FP_ESYS, "%s: cannot read model", path);
        else fp_err_set(err, FP_EINPUT, "%s: not an fp model: line %d: %s", path, je.line, je.text);
        return NULL;
    }
    fp_model *m = from_json(root, path, err);
    json_decref(root);
    return m;
}

uint64_t fp_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
