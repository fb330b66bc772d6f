/* model_impl.h - inside fp_model: the shared part and each kind's ops.
 *
 * model.c owns the shared part (options, feature names, normalisation,
 * target standardisation, provenance, file I/O, the validation split) and
 * dispatches to a kind through fp_model_ops. A kind keeps its own state
 * behind m->impl and (de)serialises it as the "params" object.
 */
#ifndef FP_MODEL_IMPL_H
#define FP_MODEL_IMPL_H

#include <math.h>
#include <stdint.h>
#include "fp/model.h"

typedef struct fp_model_ops {
    const char *kind;
    bool history;
    int (*init)(fp_model *m, fp_err *err);
    void (*destroy)(fp_model *m);
    /* Fingerprint models: rows tr[0..ntr) train, va[0..nva) validate; the
     * normalisation is set. Fill rep->epochs/best_epoch/losses. */
    int (*train)(fp_model *m, const fp_example *ex, const size_t *tr, size_t ntr,
                 const size_t *va, size_t nva, const fp_train_opts *o,
                 fp_train_report *rep, fp_err *err);
    int (*update)(fp_model *m, const fp_example *e, fp_err *err);
    /* z: normalised features (NaN = missing); u: standardised transformed
     * target values per resource and level, to be filled for resources
     * with ok[r] set (else why[r]). */
    int (*predict)(fp_model *m, const double *z, double u[FP_RES_COUNT][FP_QMAX],
                   bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT],
                   fp_explain *ex, fp_err *err);
    json_t *(*save)(const fp_model *m);
    int (*load)(fp_model *m, const json_t *params, const char *path, fp_err *err);
    int (*observe)(fp_model *m, const fp_usage *u, fp_err *err);
    int (*recommend)(fp_model *m, const char *group, double ts,
                     fp_quantiles out[FP_RES_COUNT], fp_err *err);
    /* Sequence models (seq set): Z holds len normalised, imputed steps of
     * dim values (len 0: the prior); fill u/ok/why as predict does. Their
     * train/update read ex->seq (normalise it with fp_model_normalise_seq). */
    /* How far the features of the last predict were from what the model
     * knows, relative to how far its own examples are from each other
     * (NULL: the kind cannot tell). */
    double (*novelty)(fp_model *m);
    bool seq;
    int (*predict_seq)(fp_model *m, const double *Z, int len, double u[FP_RES_COUNT][FP_QMAX],
                       bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT], fp_err *err);
} fp_model_ops;

struct fp_model {
    const fp_model_ops *ops;
    fp_model_opts o;            /* names pointer cleared; see names */
    int dim;
    char **names;               /* dim owned strings */
    double *median, *scale;     /* dim: feature normalisation */
    double *z;                  /* dim scratch */
    double tcenter[FP_RES_COUNT], tscale[FP_RES_COUNT];
    double tlo[FP_RES_COUNT], thi[FP_RES_COUNT];  /* transformed target range
                                   seen (NaN: none yet); predictions are
                                   clamped to it, widened by FP_MODEL_TMARGIN */
    long seen[FP_RES_COUNT];    /* training/update targets seen */
    int rel[FP_RES_COUNT];      /* relative targets: anchor feature index,
                                   -1 for an absolute target (opts.relative) */
    double qanchor[FP_RES_COUNT]; /* the anchor of the row being predicted,
                                   log1p(a) (0 when absolute), set before
                                   fp_model_to_quantiles */
    bool normalised;            /* set by the first train */
    bool raw_updates;           /* updated before any training */
    json_t *prov;
    /* calibration (fp_model_calibrate; calibrate.c): shift per resource
     * and level, applied by fp_model_to_quantiles when cal_on */
    fp_cal_method cal_method;   /* FP_CAL_NONE: none */
    bool cal_on;                /* false: predict raw (set by alloc_model) */
    bool cal_has[FP_RES_COUNT];
    double cal_shift[FP_RES_COUNT][FP_QMAX];
    json_t *cal_info;           /* its provenance, saved as is (owned) */
    /* history as a prior (prior.c): on when prior_spec is set */
    char *prior_spec;           /* key spec (owned), NULL: no prior */
    int prior_keep, prior_max_keys;
    struct fp_prior_entry *prior_keys;   /* prior_n keys, in no order */
    size_t prior_n, prior_cap;
    uint64_t prior_clock;       /* update counter: the least recent is evicted */
    void *impl;
};

/* One key of the prior: per resource the runs seen and a ring of the last
 * keep peaks (peaks[r * keep + i]; head[r]: where the next one goes). */
typedef struct fp_prior_entry {
    char *key;
    uint64_t used;
    int n[FP_RES_COUNT], k[FP_RES_COUNT], head[FP_RES_COUNT];
    double *peaks;
} fp_prior_entry;

/* The prior in model files (prior.c): the "prior" object, NULL without a
 * prior (a new reference); read it back (absent: no prior). */
json_t *fp_model_prior_save(const fp_model *m);
int fp_model_prior_load(fp_model *m, const json_t *pr, const char *path, fp_err *err);

extern const fp_model_ops fp_model_linear_ops, fp_model_knn_ops,
    fp_model_vpa_ops, fp_model_autopilot_ops,
    fp_model_lstm_ops, fp_model_gru_ops, fp_model_transformer_ops;

/* A generator state for fp_splitmix64 (fp/model.h). */
typedef struct { uint64_t s; } fp_rng;
static inline uint64_t fp_rng_next(fp_rng *r)
{
    return fp_splitmix64(&r->s);
}
/* uniform in [0, n) */
static inline size_t fp_rng_below(fp_rng *r, size_t n)
{
    return n ? (size_t)(fp_rng_next(r) % n) : 0;
}

/* Number the examples' groups (ex[i].group, NULL as ""): gof[i] = the
 * index of ex[i]'s group among the distinct groups in sorted order (so it
 * does not depend on row order); perm = the group indexes 0..G-1 shuffled
 * with seed. gof and perm hold n each. Returns G, or -1 with err. */
long fp_groups_shuffled(const fp_example *ex, size_t n, uint64_t seed, size_t *gof, size_t *perm,
                        fp_err *err);

/* Target of example e for resource r in the standardised transformed
 * space (NaN when unknown). */
double fp_model_target(const fp_model *m, const fp_example *e, int r);
/* Normalise x into m->z; returns m->z. */
const double *fp_model_normalise(fp_model *m, const double *x);
/* Sequence models: normalise len rows of dim values from seq into Z
 * (len x dim), missing values imputed as 0. */
void fp_model_normalise_seq(const fp_model *m, const double *seq, int len, double *Z);
/* Back-transform standardised values u[nlevels] of resource r into q
 * (sorted: no crossing). */
void fp_model_to_quantiles(const fp_model *m, int r, const double *u, fp_quantiles *q);
void fp_model_not_predicted(fp_quantiles *q, const char *why);
/* Calibration (calibrate.c): apply m's shifts to resource r's sorted
 * quantiles q in place (novelty of the prediction, NAN unknown: reserved
 * for a widening by novelty); the "calibration" object of a model file,
 * NULL without one (a new reference); read it back (absent: none). */
void fp_model_calib_apply(const fp_model *m, int r, fp_quantiles *q, double novelty);
json_t *fp_model_calib_save(const fp_model *m);
int fp_model_calib_load(fp_model *m, const json_t *cal, const char *path, fp_err *err);

/* Sequence models, for the gradient checks of the unit tests: the
 * training loss of one normalised sequence Z (T >= 1 steps of dim values)
 * with standardised targets t[FP_RES_COUNT] (sum of its pinball terms,
 * weight 1, or 1/T per step with prefix_loss; no dropout) at the current parameters, initialised from seed
 * 1 when the model has none. With want_grad, the model's gradient array is
 * cleared and receives its gradient (truncated BPTT as in training).
 * *theta and *grad receive the flat parameter and gradient arrays (np
 * values). */
double fp_model_seq_debug(fp_model *m, const double *Z, int T, const double *t, bool want_grad,
                          double **theta, double **grad, size_t *np);

/* JSON helpers for the kinds' params: finite doubles as reals, the rest
 * as null; arrays of n doubles. */
json_t *fp_jnum(double v);
json_t *fp_jarr(const double *v, size_t n);
/* Read array key of obj into v[n] (null -> NaN unless finite is set, then
 * an error). FP_EINPUT naming path and key. */
int fp_jget_arr(const json_t *obj, const char *key, double *v, size_t n, bool finite,
                const char *path, fp_err *err);
int fp_jget_num(const json_t *obj, const char *key, double *v, const char *path, fp_err *err);

#endif
