/* calibrate.c - group-aware conformalised quantiles (fp/model.h,
 * "Calibration"): cross-fitted conformity scores over workload groups, the
 * shifts they give, their application at prediction time, and their place
 * in model files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

static const char *const res_names[FP_RES_COUNT] = {
#define FP_X_RN(e, n, mm, u) n,
    FP_RESOURCES(FP_X_RN)
#undef FP_X_RN
};

void fp_calib_opts_default(fp_calib_opts *o)
{
    memset(o, 0, sizeof *o);
    o->folds = 5;
    o->method = FP_CAL_LOG1P;
}

const char *fp_cal_method_name(fp_cal_method k)
{
    switch (k) {
    case FP_CAL_LOG1P: return "log1p";
    case FP_CAL_ADD: return "add";
    case FP_CAL_AUTO: return "auto";
    default: return "none";
    }
}

int fp_cal_method_by_name(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "log1p") == 0 || strcmp(s, "log") == 0) return FP_CAL_LOG1P;
    if (strcmp(s, "add") == 0) return FP_CAL_ADD;
    if (strcmp(s, "auto") == 0) return FP_CAL_AUTO;
    if (strcmp(s, "none") == 0) return FP_CAL_NONE;
    return -1;
}

/* g of a method: the space in which scores and shifts live. */
static double cal_fwd(fp_cal_method k, double y)
{
    return k == FP_CAL_LOG1P ? log1p(y > 0 ? y : 0) : y;
}

static double cal_inv(fp_cal_method k, double t)
{
    double y = k == FP_CAL_LOG1P ? expm1(t) : t;
    return y > 0 ? y : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The conformal shift of level tau from the n scores s (sorted in place):
 * the ceil((n + 1) tau)-th smallest, the largest when that passes n. */
static double conformal_shift(double *s, size_t n, double tau)
{
    qsort(s, n, sizeof *s, cmp_double);
    double k = ceil((double)(n + 1) * tau);
    if (k < 1) k = 1;
    if (k > (double)n) k = (double)n;
    return s[(size_t)k - 1];
}

void fp_model_calib_apply(const fp_model *m, int r, fp_quantiles *q, double novelty)
{
    (void)novelty;              /* reserved: a widening by novelty adds its term here */
    if (m->cal_method == FP_CAL_NONE || !m->cal_on || !m->cal_has[r] || q->n <= 0) return;
    for (int j = 0; j < q->n && j < m->o.nlevels; j++)
        q->value[j] = cal_inv(m->cal_method, cal_fwd(m->cal_method, q->value[j]) + m->cal_shift[r][j]);
    /* no crossing: the shifts of neighbouring levels may cross */
    for (int j = 1; j < q->n; j++)
        if (q->value[j] < q->value[j - 1]) q->value[j] = q->value[j - 1];
}

fp_cal_method fp_model_calibration(const fp_model *m, int r, double *shift)
{
    if (shift)
        for (int j = 0; j < FP_QMAX; j++)
            shift[j] = m->cal_method != FP_CAL_NONE && r >= 0 && r < FP_RES_COUNT && m->cal_has[r] &&
                       j < m->o.nlevels ? m->cal_shift[r][j] : 0;
    return m->cal_method;
}

void fp_model_calibration_enable(fp_model *m, bool on) { m->cal_on = on; }

void fp_model_calibration_clear(fp_model *m)
{
    m->cal_method = FP_CAL_NONE;
    memset(m->cal_has, 0, sizeof m->cal_has);
    memset(m->cal_shift, 0, sizeof m->cal_shift);
    json_decref(m->cal_info);
    m->cal_info = NULL;
}

/* ------------------------------------------------------------ files */

json_t *fp_model_calib_save(const fp_model *m)
{
    if (m->cal_method == FP_CAL_NONE) return NULL;
    json_t *c = json_object(), *sh = json_object();
    if (!c || !sh) { json_decref(c); json_decref(sh); return NULL; }
    json_object_set_new(c, "method", json_string(fp_cal_method_name(m->cal_method)));
    json_object_set_new(c, "rule", json_string(
        m->cal_method == FP_CAL_LOG1P
            ? "q' = expm1(log1p(q) + shift[resource][level]), after the model's clamp; quantiles re-sorted"
            : "q' = max(q + shift[resource][level], 0), after the model's clamp; quantiles re-sorted"));
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (m->cal_has[r])
            json_object_set_new(sh, res_names[r], fp_jarr(m->cal_shift[r], (size_t)m->o.nlevels));
    json_object_set_new(c, "shift", sh);
    if (m->cal_info) json_object_set(c, "provenance", m->cal_info);
    return c;
}

int fp_model_calib_load(fp_model *m, const json_t *cal, const char *path, fp_err *err)
{
    fp_model_calibration_clear(m);
    if (!cal || json_is_null(cal)) return 0;
    if (!json_is_object(cal)) return fp_err_set(err, FP_EINPUT, "%s: calibration is not an object", path);
    const char *meth = json_string_value(json_object_get(cal, "method"));
    int k = fp_cal_method_by_name(meth);
    if (k != FP_CAL_LOG1P && k != FP_CAL_ADD)
        return fp_err_set(err, FP_EINPUT, "%s: calibration.method \"%s\" is unknown (log1p, add)", path,
                          meth ? meth : "(none)");
    const json_t *sh = json_object_get(cal, "shift");
    if (!json_is_object(sh)) return fp_err_set(err, FP_EINPUT, "%s: calibration.shift is not an object", path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sh, key, v) {
        int r = 0;
        while (r < FP_RES_COUNT && strcmp(res_names[r], key) != 0) r++;
        if (r == FP_RES_COUNT)
            return fp_err_set(err, FP_EINPUT, "%s: calibration.shift.%s: unknown resource", path, key);
        if (fp_jget_arr(sh, key, m->cal_shift[r], (size_t)m->o.nlevels, true, path, err) < 0) return -1;
        m->cal_has[r] = true;
    }
    const json_t *pv = json_object_get(cal, "provenance");
    if (json_is_object(pv) && !(m->cal_info = json_deep_copy(pv)))
        return fp_err_sys(err, "%s: calibration", path);
    m->cal_method = (fp_cal_method)k;
    return 0;
}

/* ------------------------------------------------------------ calibrate */

/* A fresh, untrained model of m's kind with m's options and names. */
static fp_model *clone_empty(const fp_model *m, fp_err *err)
{
    fp_model_opts o = m->o;
    const char **names = malloc((size_t)(m->dim ? m->dim : 1) * sizeof *names);
    if (!names) { fp_err_sys(err, "calibration"); return NULL; }
    for (int i = 0; i < m->dim; i++) names[i] = m->names[i];
    if (m->ops->seq) {
        o.seq_dim = m->dim;
        o.seq_names = names;
    } else if (!m->ops->history) {
        o.dim = m->dim;
        o.names = names;
    }
    for (int r = 0; r < FP_RES_COUNT; r++) o.relative[r] = fp_model_relative(m, r);
    fp_model *c = fp_model_new(m->ops->kind, &o, err);
    free(names);
    return c;
}

/* Per row predicted out of fold: its fold and, per resource and level,
 * the raw quantile (NAN: not predicted). */
typedef struct {
    int fold;
    double q[FP_RES_COUNT][FP_QMAX];
} oof;

/* Shifts per fold left out (f = 0..K-1: from the other folds' scores; K:
 * from all), coverage and relative pinball loss of the corrected
 * held-out quantiles, for method k, resource r, level j. NAN shift: no
 * scores. Returns the number of scores. */
static size_t score_level(fp_cal_method k, const fp_example *ex, size_t n, const oof *P, int K,
                          int r, int j, double tau, double *buf, double *shift_all,
                          long *cov_raw, long *cov_cal, double *pin, double *absy)
{
    size_t N = 0;
    for (size_t i = 0; i < n; i++) {
        double y = ex[i].y[r], q = P[i].q[r][j];
        if (P[i].fold < 0 || !isfinite(y) || !isfinite(q)) continue;
        buf[N++] = cal_fwd(k, y) - cal_fwd(k, q);
    }
    *shift_all = N >= FP_CAL_MIN_ROWS ? conformal_shift(buf, N, tau) : NAN;
    *cov_raw = *cov_cal = 0;
    *pin = *absy = 0;
    if (N < FP_CAL_MIN_ROWS) return N;
    for (int f = 0; f < K; f++) {
        size_t M = 0;
        for (size_t i = 0; i < n; i++) {
            double y = ex[i].y[r], q = P[i].q[r][j];
            if (P[i].fold < 0 || P[i].fold == f || !isfinite(y) || !isfinite(q)) continue;
            buf[M++] = cal_fwd(k, y) - cal_fwd(k, q);
        }
        double c = M >= FP_CAL_MIN_ROWS ? conformal_shift(buf, M, tau) : 0;
        for (size_t i = 0; i < n; i++) {
            double y = ex[i].y[r], q = P[i].q[r][j];
            if (P[i].fold != f || !isfinite(y) || !isfinite(q)) continue;
            double qc = cal_inv(k, cal_fwd(k, q) + c);
            if (y <= q) (*cov_raw)++;
            if (y <= qc) (*cov_cal)++;
            double d = y - qc;
            *pin += d >= 0 ? tau * d : (tau - 1) * d;
            *absy += fabs(y);
        }
    }
    return N;
}

int fp_model_calibrate(fp_model *m, const fp_example *ex, size_t n, const fp_train_opts *to,
                       const fp_calib_opts *co, fp_calib_report *rep, fp_err *err)
{
    fp_calib_report rdummy;
    fp_calib_opts cd;
    fp_train_opts td;
    if (!rep) rep = &rdummy;
    if (!co) { fp_calib_opts_default(&cd); co = &cd; }
    if (!to) { fp_train_opts_default(&td); to = &td; }
    memset(rep, 0, sizeof *rep);
    rep->nlevels = m->o.nlevels;
    memcpy(rep->level, m->o.levels, (size_t)m->o.nlevels * sizeof *rep->level);
    for (int r = 0; r < FP_RES_COUNT; r++)
        for (int j = 0; j < FP_QMAX; j++) rep->shift[r][j] = rep->before[r][j] = rep->after[r][j] = NAN;
    for (int i = 0; i < 3; i++) rep->loss[i] = NAN;
    if (co->folds < 2 || co->folds > 1000)
        return fp_err_set(err, FP_EUSAGE, "calibration: folds %d, need 2 to 1000", co->folds);
    if (co->method != FP_CAL_LOG1P && co->method != FP_CAL_ADD && co->method != FP_CAL_AUTO)
        return fp_err_set(err, FP_EUSAGE, "calibration: unknown method");
    if (m->ops->history) {
        snprintf(rep->why, sizeof rep->why, "a %s model's levels are the recommender's bounds, "
                 "not quantiles: not calibrated", m->ops->kind);
        return 0;
    }
    /* groups, sorted, shuffled with the seed, dealt round robin to folds */
    size_t *perm = malloc((n ? n : 1) * sizeof *perm), *gof = malloc((n ? n : 1) * sizeof *gof);
    oof *P = malloc((n ? n : 1) * sizeof *P);
    fp_example *tr = malloc((n ? n : 1) * sizeof *tr);
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    int rc = 0;
    if (!perm || !gof || !P || !tr || !buf) { rc = fp_err_sys(err, "calibration"); goto out; }
    long Gl = fp_groups_shuffled(ex, n, to->seed ^ 0xC0FFEE5EEDULL, gof, perm, err);
    if (Gl < 0) { rc = -1; goto out; }
    size_t G = (size_t)Gl;
    rep->groups = G;
    if (G < 2) {
        snprintf(rep->why, sizeof rep->why, "%zu group(s): calibration holds out whole groups and "
                 "needs at least two", G);
        goto out;
    }
    int K = co->folds < (int)G ? co->folds : (int)G;
    rep->folds = K;
    /* perm[pos] = group: group perm[pos] goes to fold pos % K */
    size_t *fold_of_group = malloc(G * sizeof *fold_of_group);
    if (!fold_of_group) { rc = fp_err_sys(err, "calibration"); goto out; }
    for (size_t pos = 0; pos < G; pos++) fold_of_group[perm[pos]] = pos % (size_t)K;
    for (size_t i = 0; i < n; i++) {
        P[i].fold = -1;
        for (int r = 0; r < FP_RES_COUNT; r++)
            for (int j = 0; j < FP_QMAX; j++) P[i].q[r][j] = NAN;
    }
    fp_train_opts fo = *to;
    fo.progress = NULL;
    fo.progress_arg = NULL;
    for (int f = 0; f < K && rc == 0; f++) {
        size_t ntr = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)fold_of_group[gof[i]] != f) tr[ntr++] = ex[i];
        fp_err ferr = {0};
        fp_model *fm = clone_empty(m, &ferr);
        if (!fm) { rc = -1; *err = ferr; break; }
        if (fp_model_train(fm, tr, ntr, &fo, NULL, &ferr) < 0) {
            fp_model_free(fm);
            if (ferr.cls == FP_ESYS) { *err = ferr; rc = -1; }
            continue;                   /* this fold's rows stay unscored */
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            if ((int)fold_of_group[gof[i]] != f) continue;
            fp_quantiles q[FP_RES_COUNT];
            int prc;
            if (m->ops->seq) {
                if (ex[i].seq_len <= 0) continue;   /* not trained on either */
                prc = fp_model_predict_seq(fm, ex[i].seq, ex[i].seq_len, q, &ferr);
            } else {
                prc = fp_model_predict(fm, ex[i].x, q, NULL, &ferr);
            }
            if (prc < 0) { *err = ferr; rc = -1; break; }
            P[i].fold = f;
            rep->rows++;
            for (int r = 0; r < FP_RES_COUNT; r++)
                for (int j = 0; j < q[r].n && j < m->o.nlevels; j++) P[i].q[r][j] = q[r].value[j];
        }
        fp_model_free(fm);
    }
    free(fold_of_group);
    if (rc < 0) goto out;
    /* scores, shifts and the cross-validated coverage of both methods */
    double shift[3][FP_RES_COUNT][FP_QMAX];
    long cov[3][FP_RES_COUNT][FP_QMAX], cnt[FP_RES_COUNT] = {0};
    double pin[3][FP_RES_COUNT], absy[3][FP_RES_COUNT];
    memset(pin, 0, sizeof pin);
    memset(absy, 0, sizeof absy);
    bool any = false;
    for (int k = FP_CAL_LOG1P; k <= FP_CAL_ADD; k++) {
        if (co->method != FP_CAL_AUTO && co->method != (fp_cal_method)k) continue;
        for (int r = 0; r < FP_RES_COUNT; r++)
            for (int j = 0; j < m->o.nlevels; j++) {
                long cr, cc;
                double p, a;
                size_t N = score_level((fp_cal_method)k, ex, n, P, K, r, j, m->o.levels[j], buf,
                                       &shift[k][r][j], &cr, &cc, &p, &a);
                cov[0][r][j] = cr;
                cov[k][r][j] = cc;
                pin[k][r] += p;
                absy[k][r] += a;
                if (j == 0) cnt[r] = N >= FP_CAL_MIN_ROWS ? (long)N : 0;
                if (N >= FP_CAL_MIN_ROWS) any = true;
            }
    }
    /* the raw loss, for the report */
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!cnt[r]) continue;
        for (int j = 0; j < m->o.nlevels; j++) {
            double tau = m->o.levels[j];
            for (size_t i = 0; i < n; i++) {
                double y = ex[i].y[r], q = P[i].q[r][j];
                if (P[i].fold < 0 || !isfinite(y) || !isfinite(q)) continue;
                double d = y - q;
                pin[0][r] += d >= 0 ? tau * d : (tau - 1) * d;
                absy[0][r] += fabs(y);
            }
        }
    }
    if (!any) {
        snprintf(rep->why, sizeof rep->why, "fewer than %d held-out rows with a target for every "
                 "resource (%zu rows predicted out of fold)", FP_CAL_MIN_ROWS, rep->rows);
        goto out;
    }
    for (int k = 0; k < 3; k++) {
        if (k && co->method != FP_CAL_AUTO && co->method != (fp_cal_method)k) continue;
        double s = 0;
        int nr = 0;
        for (int r = 0; r < FP_RES_COUNT; r++)
            if (cnt[r] && absy[k][r] > 0) { s += pin[k][r] / absy[k][r]; nr++; }
        rep->loss[k] = nr ? s / nr : NAN;
    }
    fp_cal_method best = co->method;
    if (best == FP_CAL_AUTO)
        best = !(rep->loss[FP_CAL_ADD] < rep->loss[FP_CAL_LOG1P]) ? FP_CAL_LOG1P : FP_CAL_ADD;
    /* store */
    json_t *info = json_object(), *jb = json_object(), *ja = json_object(), *jn = json_object();
    if (!info || !jb || !ja || !jn) {
        json_decref(info); json_decref(jb); json_decref(ja); json_decref(jn);
        rc = fp_err_sys(err, "calibration");
        goto out;
    }
    fp_model_calibration_clear(m);
    m->cal_method = best;
    rep->method = best;
    rep->done = true;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        rep->n[r] = cnt[r];
        if (!cnt[r]) continue;
        m->cal_has[r] = true;
        json_t *b = json_object(), *a = json_object();
        for (int j = 0; j < m->o.nlevels; j++) {
            m->cal_shift[r][j] = rep->shift[r][j] = shift[best][r][j];
            rep->before[r][j] = (double)cov[0][r][j] / (double)cnt[r];
            rep->after[r][j] = (double)cov[best][r][j] / (double)cnt[r];
            char key[16];
            fp_quantile_key(m->o.levels[j], key, sizeof key);
            json_object_set_new(b, key, fp_jnum(rep->before[r][j]));
            json_object_set_new(a, key, fp_jnum(rep->after[r][j]));
        }
        json_object_set_new(jb, res_names[r], b);
        json_object_set_new(ja, res_names[r], a);
        json_object_set_new(jn, res_names[r], json_integer(cnt[r]));
    }
    json_object_set_new(info, "method", json_string(
        "group-aware conformalised quantiles: per resource and level, the ceil((N+1) tau)-th "
        "smallest score g(y) - g(q) of N rows, each predicted by a model of the same kind and "
        "options trained on the other folds of workload groups"));
    json_object_set_new(info, "chosen", json_string(co->method == FP_CAL_AUTO ? "auto" : "given"));
    json_object_set_new(info, "folds", json_integer(K));
    json_object_set_new(info, "groups", json_integer((json_int_t)G));
    json_object_set_new(info, "rows", json_integer((json_int_t)rep->rows));
    json_object_set_new(info, "scores", jn);
    json_object_set_new(info, "coverage_before", jb);
    json_object_set_new(info, "coverage_after", ja);
    json_object_set_new(info, "coverage_after_note", json_string(
        "cross-validated: each fold corrected with the shifts of the other folds' scores"));
    json_t *jl = json_object();
    for (int k = 0; k < 3; k++)
        if (isfinite(rep->loss[k]))
            json_object_set_new(jl, k ? fp_cal_method_name((fp_cal_method)k) : "raw", json_real(rep->loss[k]));
    json_object_set_new(info, "pinball_rel", jl);
    json_object_set_new(info, "seed", json_integer((json_int_t)to->seed));
    m->cal_info = info;
out:
    free(perm); free(gof); free(P); free(tr); free(buf);
    return rc;
}
