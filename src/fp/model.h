/* fp/model.h - models that predict what a workload will need, one contract.
 *
 * Every model predicts, per resource (fp/prediction.h), quantiles of a
 * target. Kinds:
 *   "linear"     quantile linear regression on a fingerprint: one linear
 *                model per (resource, quantile level), pinball loss, Adam
 *                or SGD, L2; all parameters in one flat array.
 *   "knn"        nearest fingerprints: quantiles of the distribution of
 *                the k nearest stored workloads' targets (a distance-
 *                weighted kernel mixture, model_knn.c); the explanation
 *                names them.
 *   "vpa"        the Kubernetes VPA recommender (history baseline).
 *   "autopilot"  Google Autopilot's moving-window recommender (history).
 *   "lstm", "gru", "transformer"
 *                sequence models: read the SEQUENCE of a workload's samples
 *                (fp_example.seq) and predict from the last step's hidden
 *                state with a quantile (pinball) head per resource and
 *                level; see "Sequence models" below.
 *
 * Two families, one life cycle (new/load -> train/update -> predict ->
 * save -> free):
 *   fingerprint models (linear, knn) learn from fp_example rows: a feature
 *     vector x[dim] and targets y[FP_RES_COUNT]; they predict from x.
 *   history models (vpa, autopilot) learn the usage samples of each
 *     workload (group key) and recommend for a workload they have seen;
 *     they have nothing for a new workload. fp_model_observe() feeds one
 *     usage sample; fp_model_train()/fp_model_update() also accept
 *     fp_example rows and read them as samples (group, ts, y[FP_RES_CPU],
 *     y[FP_RES_MEM], oom), so one flag switches a comparison.
 *     fp_model_recommend() gives their quantiles; fp_model_predict() on a
 *     history model succeeds with every resource unpredicted (n == 0, why
 *     set), as they cannot size an unseen workload.
 *
 * Features (fingerprint models). A model is built for named features (by
 * default the FP_FEATURE_COUNT names of fp_feature_name(), in that order).
 * x[i] is NaN when feature i is missing. Each feature is first transformed
 * (opts.feature_tx: none, or signed log1p: sign(x) log(1 + |x|), the
 * default, which tames byte counts) and then normalised robustly with
 * statistics of the first training set:
 *     z = clamp((tx(x) - median) / scale, -FP_MODEL_ZCLIP, +FP_MODEL_ZCLIP)
 * where scale is the interquartile range; when the IQR is 0 the mean
 * absolute deviation from the median; when that is 0 too (a constant
 * feature) 1. A missing feature is imputed with the training median, i.e.
 * z = 0 (linear) or skipped (knn). Until a model is trained (an update-only
 * model) the normalisation is the identity (median 0, scale 1). Later
 * train() calls continue from the model and keep its normalisation.
 *
 * Targets. Each resource's target is transformed (opts.target_tx: log1p of
 * max(y, 0), the default, or none) and standardised with the training
 * median and IQR of the transformed values; quantiles are equivariant
 * under monotone maps, so a quantile learned in that space is the same
 * quantile of y. Predictions are mapped back (and, under log1p, kept >= 0),
 * after a clamp, in the transformed space, to the range of targets seen in
 * training and updates widened by FP_MODEL_TMARGIN of its span on each side
 * (saved as targets.lo/hi; a file without them is not clamped).
 *
 * Quantile levels: opts.levels (ascending, in (0,1), at most FP_QMAX),
 * default {0.5, 0.9, 0.99}. Predictions never cross: the values are sorted
 * at predict time. History models always give three levels, mapped as
 *     lower bound -> p50, target -> p90, upper bound -> p99
 * (see fp_model_recommend).
 *
 * Sequence models ("lstm", "gru", "transformer"). A third family, with
 * the fingerprint models' life cycle. Their "features" are the sample
 * metrics read at each step: opts.seq_dim names in opts.seq_names (NULL:
 * the default set, fp_model_seq_default_names()), and the model's
 * fp_model_dim()/fp_model_feature_name() report those. An example carries
 * seq_len steps of seq_dim values in seq (row-major, NaN = missing; x is
 * not read). Each metric is transformed (feature_tx) and normalised as a
 * fingerprint feature is, with the median and scale of all steps of the
 * training sequences, and a missing value is imputed as z = 0. Targets are
 * as above. Architecture (opts): "lstm" and "gru" are one recurrent layer
 * of `hidden` units; "transformer" projects each step to `hidden` wide,
 * adds a sinusoidal encoding of the step's position in its window and
 * applies `layers` (1-2) pre-layernorm encoder layers with causal
 * self-attention (`heads` heads, 1-4) and a GELU feed-forward block (2 x
 * hidden), then a final layernorm. The transformer reads a bounded window:
 * its output after step t is the encoder applied to steps max(0, t - ctx +
 * 1)..t alone, positions counted from the window's start. The head is a
 * linear map of the hidden state to the standardised quantiles, its
 * biases starting at the training quantiles.
 * Training: Adam (AdamW: decoupled weight_decay on weight matrices), the
 * gradient clipped to global norm `clip`, mini-batches of fp_train_opts
 * .batch sequences, truncated back-propagation through time (`bptt`
 * steps; the transformer back-propagates through its window), optional
 * dropout on the head's input, early stopping on the validation groups as
 * for linear, optional threads across the batch (fp_train_opts.threads;
 * the result is deterministic for a given seed and thread count).
 * prefix_loss trains on every prefix (the head on every step's state, the
 * same target) instead of on the last step only. Prediction: the last
 * step's state; fp_model_predict(m, x) reads x as a one-step sequence;
 * fp_model_predict_seq() takes a sequence; an EMPTY sequence (len 0)
 * gives the prior: the quantiles of the training targets, unconditioned.
 * Training rows with an empty sequence are skipped. fp_model_update takes
 * one optimiser step on one sequence (a model never trained starts from
 * seed 1, and its first training then starts afresh, as linear's does).
 * Streaming
 * (fp_model_stream_*): per-workload state, constant time and memory per
 * step (recurrent: the hidden state; transformer: the last ctx normalised
 * steps, O(ctx^2 hidden) time per step), the same numbers as
 * fp_model_predict_seq on the same prefix.
 *
 * Model files (fp_model_save / fp_model_load): one JSON object
 *   {"format": "fp-model", "version": 1, "kind": ..., "features": {names,
 *    transform, median, scale}, "targets": {resources, transform, center,
 *    scale, seen}, "levels": [...], "hyper": {...}, "params": {...},
 *    "provenance": {...}}
 * Doubles are written with 17 significant digits, so a loaded model
 * predicts bit for bit what the saved one did; non-finite numbers are null.
 * A file is written atomically: a temporary file in the same directory,
 * written, flushed and fsync()ed, renamed over the target, and the
 * directory fsync()ed; on failure the old file is untouched and the
 * temporary file removed.
 *
 * Determinism: training with the same data, options and seed gives the same
 * model bit for bit. libfp never prints: progress goes to a callback.
 * A model is not safe to use from two threads at once (predict uses
 * scratch space inside the model); distinct models are independent.
 *
 * Ownership: fp_model is opaque (fp_model_new / fp_model_load, freed by
 * fp_model_free). fp_example, fp_usage and all arrays passed in are
 * borrowed for the duration of the call (the model copies what it keeps).
 * fp_quantiles, fp_explain and fp_train_report are plain values filled by
 * the model. The provenance object is copied in and borrowed out.
 */
#ifndef FP_MODEL_H
#define FP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/prediction.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FP_MODEL_FORMAT_VERSION 1
#define FP_MODEL_ZCLIP 10.0     /* normalised features are clamped to +-this */
#define FP_MODEL_TMARGIN 0.25   /* predictions stay within the targets seen,
                                   widened by this share of their span */
#define FP_EXPLAIN_MAX 16       /* entries in an explanation */

typedef struct fp_model fp_model;

/* One training row. For fingerprint models x (dim values, NaN = missing)
 * and y (NaN = target unknown for that resource). group is the workload
 * key: validation splits never cut a group; knn returns it as the
 * explanation (NULL counts as the group ""). ts (Unix seconds) and oom are
 * read only by history models. */
typedef struct fp_example {
    const double *x;
    double y[FP_RES_COUNT];
    const char *group;
    double ts;
    bool oom;
    /* sequence models only (other kinds ignore them): seq_len steps of the
     * model's seq_dim metrics, row-major (seq[t * seq_dim + i]), NaN =
     * missing; seq may be NULL when seq_len is 0. */
    const double *seq;
    int seq_len;
    /* the per-key prior (see "History as a prior"; every kind): key is
     * the workload's identity key (fp_model_prior_key; NULL: none, the
     * prior learns nothing from the row). censored[r] > 0 says that the
     * run was killed under a limit with r at that value: its true peak is
     * at least censored[r] (y[r] is then normally NaN, so that the model
     * does not learn the cut-off value); the prior takes it only when it
     * raises the key's largest stored peak. 0 or NaN: not censored. */
    const char *key;
    double censored[FP_RES_COUNT];
} fp_example;

/* One usage sample of one workload, for history models. NaN = not
 * measured. cpu_request (cores) weighs the VPA's CPU sample: weight
 * max(request, 0.1), i.e. 0.1 when unknown. With oom set the sample reports
 * an out-of-memory kill: mem_bytes is the memory the workload had (its
 * limit or request) when killed. */
typedef struct fp_usage {
    const char *group;
    double ts;
    double cpu_cores;
    double mem_bytes;
    double cpu_request;
    bool oom;
} fp_usage;

typedef enum {
    FP_TX_NONE = 0,     /* identity */
    FP_TX_LOG1P = 1     /* targets: log1p(max(y,0)); features: signed log1p */
} fp_transform;

typedef enum { FP_OPT_ADAM = 0, FP_OPT_SGD = 1 } fp_optimizer;

typedef struct fp_model_opts {
    int dim;                    /* number of features */
    const char *const *names;   /* dim names; NULL: the fp_feature_name()
                                   list (dim must be FP_FEATURE_COUNT) */
    int nlevels;
    double levels[FP_QMAX];
    fp_transform feature_tx;    /* default FP_TX_LOG1P */
    fp_transform target_tx;     /* default FP_TX_LOG1P */
    /* Relative targets (fingerprint models, target_tx log1p only): when
     * relative[r] names a feature, resource r is learned and predicted as
     * log1p(y) - log1p(a), a = that feature's raw value (e.g. mem_bytes
     * relative to "mem_bytes_max", the most the window used), and mapped
     * back as expm1(t + log1p(a)) for the workload being predicted: a
     * workload's peak is learned as a multiple of what it already uses,
     * which carries across workloads of very different sizes where an
     * absolute amount does not. A row whose anchor feature is missing
     * does not train r; a prediction without it leaves r unpredicted (why
     * says so). NULL: absolute (the default). Borrowed; the model keeps
     * the feature's index, saved as targets.relative {resource: feature}. */
    const char *relative[FP_RES_COUNT];
    /* linear */
    fp_optimizer optimizer;     /* default Adam (beta1 0.9, beta2 0.999) */
    double lr;                  /* default 0.01 */
    double l2;                  /* on weights, not on biases; default 1e-4 */
    /* knn */
    int k;                      /* default 5, at most FP_EXPLAIN_MAX */
    size_t max_store;           /* default 100000; when full, the oldest
                                   stored example is replaced (FIFO) */
    /* sequence models (lstm, gru, transformer); dim and names are then
     * ignored. lr and optimizer apply (SGD: plain steps, no decay). */
    int seq_dim;                /* metrics per step; 0 with seq_names NULL:
                                   the default set */
    const char *const *seq_names; /* seq_dim sample metric names */
    int hidden;                 /* hidden units / model width, default 32 */
    int layers;                 /* transformer layers, 1-2, default 1 */
    int heads;                  /* transformer heads, 1-4, dividing hidden;
                                   default 2 */
    int ctx;                    /* transformer window in steps, default 64 */
    int bptt;                   /* truncated BPTT length in steps, default 64 */
    double dropout;             /* on the head's input, [0,1), default 0 */
    double weight_decay;        /* decoupled (AdamW), default 0 */
    double clip;                /* global gradient norm, default 1; 0 = off */
    bool prefix_loss;           /* train on every prefix; default false */
} fp_model_opts;

/* Progress of batch training, reported once per epoch. */
typedef struct fp_train_progress {
    int epoch, epochs;          /* 1-based epoch, maximum */
    double train_loss;          /* mean pinball loss, standardised targets */
    double val_loss;            /* the same on the validation groups, NaN
                                   when there is no validation set */
    int best_epoch;
} fp_train_progress;

/* Return non-zero to stop training (the best model so far is kept). */
typedef int (*fp_progress_fn)(void *arg, const fp_train_progress *p);

typedef struct fp_train_opts {
    int epochs;                 /* maximum, default 200 */
    int batch;                  /* mini-batch rows, default 32 */
    double val_frac;            /* share of groups held out, default 0.2;
                                   0 = no validation, no early stopping */
    int patience;               /* epochs without improvement, default 10 */
    uint64_t seed;              /* default 1 */
    fp_progress_fn progress;    /* nullable */
    void *progress_arg;
    int threads;                /* sequence models: threads across the
                                   batch, default 1 */
} fp_train_opts;

/* What training did, for logs and provenance. Coverage is the share of
 * validation actuals at or below the predicted quantile (NaN: none). */
typedef struct fp_train_report {
    size_t n_train, n_val;      /* rows */
    size_t g_train, g_val;      /* groups */
    int epochs, best_epoch;
    double train_loss, val_loss;
    double coverage[FP_RES_COUNT][FP_QMAX];
} fp_train_report;

/* Explanation of one prediction: for knn the nearest stored workloads
 * (name = group key, value = normalised distance, nearest first); for
 * linear the features that weighed most (name = feature name, value = its
 * signed contribution to the median-level prediction summed over the
 * predicted resources, in standardised target units; largest |value|
 * first). */
typedef enum { FP_EXPLAIN_NONE, FP_EXPLAIN_NEIGHBOURS, FP_EXPLAIN_FEATURES } fp_explain_kind;
typedef struct fp_explain {
    fp_explain_kind kind;
    int n;
    struct { char name[96]; double value; } item[FP_EXPLAIN_MAX];
} fp_explain;

void fp_model_opts_default(fp_model_opts *o);
void fp_train_opts_default(fp_train_opts *o);

/* A new, untrained model of kind "linear", "knn", "vpa", "autopilot",
 * "lstm", "gru" or "transformer".
 * opts NULL means fp_model_opts_default(). FP_EUSAGE for an unknown kind
 * or bad options (levels not ascending in (0,1), dim < 1, k out of range,
 * history models given levels other than the default). */
fp_model *fp_model_new(const char *kind, const fp_model_opts *opts, fp_err *err);
void fp_model_free(fp_model *m);

const char *fp_model_kind(const fp_model *m);
bool fp_model_is_history(const fp_model *m);
int fp_model_dim(const fp_model *m);
/* Name of feature i (0 <= i < dim), NULL out of range. */
const char *fp_model_feature_name(const fp_model *m, int i);
int fp_model_levels(const fp_model *m, double *levels /* FP_QMAX */);

/* Provenance: any JSON object (data, command, seed, time, metrics...),
 * deep-copied in; fp_model_provenance returns a borrowed reference (NULL
 * when none). */
int fp_model_set_provenance(fp_model *m, const json_t *prov, fp_err *err);
const json_t *fp_model_provenance(const fp_model *m);

/* How the tools name a model and read its target, from its provenance:
 * id (n bytes) receives "KIND:NAME", NAME being the provenance's "name",
 * else the base name of path without ".json" (path NULL: "KIND");
 * *horizon_s (nullable) the horizon of a "horizon_peak" model, else 0 (the
 * workload's life); stat (nullable, 8 bytes) the actual's statistic the
 * model predicts: "p95" for a "p95" target, else "peak". */
void fp_model_describe(const fp_model *m, const char *path, char *id, size_t n, double *horizon_s,
                       char *stat);

/* splitmix64, the one deterministic generator of libfp and the tools
 * (shuffles, dropout, seeds): advances *state and returns the next 64
 * random bits. Any state, 0 included, is a valid seed. */
uint64_t fp_splitmix64(uint64_t *state);

/* Batch training on n rows. Fingerprint models: the groups are shuffled
 * with the seed and ceil(val_frac * groups) of them (at least one, never
 * all; none with fewer than two groups) are held out for validation;
 * linear trains by mini-batches over the rest, keeps the parameters of the
 * best validation epoch and stops after `patience` epochs without
 * improvement; knn stores the training rows, is scored on the validation
 * rows and then stores those too. History models: the rows are observed
 * in the order given (which must be time order within each group). rep
 * (nullable) receives what happened. FP_EUSAGE when a row's x is NULL for
 * a fingerprint model or there is nothing to learn. */
int fp_model_train(fp_model *m, const fp_example *ex, size_t n,
                   const fp_train_opts *o, fp_train_report *rep, fp_err *err);

/* Online refinement with one example: linear takes one optimiser step on
 * it, knn stores it (evicting the oldest when full), history models
 * observe it as a usage sample. */
int fp_model_update(fp_model *m, const fp_example *e, fp_err *err);

/* Quantiles of each resource for feature vector x[dim] (model order;
 * NaN = missing). out[r].n == 0 with a reason in out[r].why when the model
 * cannot predict resource r. ex (nullable) receives the explanation. */
int fp_model_predict(fp_model *m, const double *x, fp_quantiles out[FP_RES_COUNT],
                     fp_explain *ex, fp_err *err);
/* How far the fingerprint of the last fp_model_predict lies from what the
 * model knows: for knn, the distance to its nearest stored workload over
 * the typical distance between the model's own workloads and their
 * nearest others (about 1: as close as they are to each other; above 3:
 * unlike anything it holds; computed once per change of the store;
 * features are clipped at +-FP_MODEL_ZCLIP, so it saturates). NAN
 * when the kind cannot tell (linear, history and sequence models) or
 * nothing was predicted since the last change. */
double fp_model_novelty(fp_model *m);

/* The feature resource r's target is relative to (fp_model_opts.relative;
 * owned by the model), or NULL for an absolute target. */
const char *fp_model_relative(const fp_model *m, int r);

/* History models: feed one usage sample. Out-of-order samples are ignored
 * as the VPA does. FP_EUSAGE on a fingerprint model or without a group. */
int fp_model_observe(fp_model *m, const fp_usage *u, fp_err *err);

/* History models: the recommendation for workload `group` at Unix time ts,
 * for cpu_cores and mem_bytes (other resources n == 0). A group never
 * seen, or expired, gives n == 0 with a reason. FP_EUSAGE on a fingerprint
 * model. */
int fp_model_recommend(fp_model *m, const char *group, double ts,
                       fp_quantiles out[FP_RES_COUNT], fp_err *err);

/* Write the model to path with fp_atomic_write (fp/atomic.h: a regular
 * file is replaced atomically, a symlink written through to its target, a
 * FIFO or character device written to, anything else refused). FP_ESYS on
 * I/O failure, the old file left intact. */
int fp_model_save(const fp_model *m, const char *path, fp_err *err);

/* Read a model file. FP_ESYS when it cannot be read; FP_EINPUT, with a
 * message that starts with the path, when it is not JSON, not an fp model,
 * of another format version, of an unknown kind, or malformed. */
fp_model *fp_model_load(const char *path, fp_err *err);

/* Check that a fingerprint with the n feature names given carries every
 * feature the model needs: FP_EINPUT "model needs feature X, which the
 * fingerprint lacks" (with a count when more are absent) otherwise. When
 * map is not NULL, map[i] (for i < dim) receives the index in names of
 * the model's feature i. History models need no features. */
int fp_model_check_features(const fp_model *m, const char *const *names, size_t n,
                            int *map, fp_err *err);

/* ------------------------------------------------------------ calibration */

/* Calibration: group-aware conformalised quantiles (split-conformal
 * quantile regression, CQR, one-sided per level, with cross-fitting over
 * workload groups).
 *
 * fp_model_calibrate() splits the distinct groups of the n rows into
 * `folds` folds (the sorted groups shuffled with the seed, dealt round
 * robin), trains for each fold a fresh model of m's kind and options on
 * the other folds (fp_model_train with the training options given, its
 * own validation split and normalisation) and predicts the fold's rows:
 * every row is predicted once by a model that never saw its group. Per
 * resource r and level tau the conformity score of a row is
 *     s = g(y) - g(q_tau)        g = log1p(max(., 0))   (method "log1p":
 *                                    a multiplicative correction)
 *                                g = identity            (method "add":
 *                                    an additive one, in the unit)
 * and the level's shift is the ceil((N + 1) tau)-th smallest of the N
 * scores (the largest when that exceeds N): with groups exchangeable, a
 * new group's y lies at or below g^-1(g(q_tau) + shift) with probability
 * at least tau. A negative shift lowers a quantile that covers more than
 * its level. The shifts are stored in m and applied by every prediction
 * (fp_model_predict, fp_model_predict_seq, streams) after the model's
 * own back-transform and clamp, quantiles re-sorted so that they never
 * cross. A resource with fewer than FP_CAL_MIN_ROWS scores is left
 * uncorrected. The model m itself is neither trained nor changed
 * otherwise (train it on all rows, before or after).
 *
 * Report: coverage of the held-out rows before (the fold models'
 * quantiles) and after, where "after" is cross-validated too: each fold's
 * rows corrected with shifts computed from the other folds' scores alone
 * (so it is what a new group can expect, not the in-sample coverage,
 * which is tau by construction). FP_CAL_AUTO computes both methods and
 * keeps the one of lower cross-validated pinball loss (summed over
 * levels, relative to sum |y|, averaged over the resources).
 *
 * The correction is a function of (resource, level) only; it is applied
 * in one place (model.c, calib_apply) which also receives the
 * prediction's novelty, so that a later widening by novelty can add its
 * term there without changing callers.
 *
 * Model files: a "calibration" object (method, shift per resource and
 * level, and provenance: folds, groups and rows held out, coverage
 * before/after); a file without one predicts uncorrected. History models
 * (vpa, autopilot: their levels are the recommender's bounds, not
 * quantiles) are not calibrated. */

typedef enum {
    FP_CAL_NONE = 0,
    FP_CAL_LOG1P = 1,           /* shift in log1p space: multiplicative */
    FP_CAL_ADD = 2,             /* shift in the unit: additive */
    FP_CAL_AUTO = 3             /* fp_model_calibrate: the better of both */
} fp_cal_method;

#define FP_CAL_MIN_ROWS 10

typedef struct fp_calib_opts {
    int folds;                  /* >= 2, default 5 (at most the groups) */
    fp_cal_method method;       /* default FP_CAL_LOG1P */
} fp_calib_opts;

typedef struct fp_calib_report {
    bool done;                  /* shifts stored */
    char why[160];              /* when not done: the reason */
    fp_cal_method method;       /* the method stored */
    int folds;
    size_t rows, groups;        /* rows predicted out of fold, groups */
    int nlevels;
    double level[FP_QMAX];
    long n[FP_RES_COUNT];       /* scores per resource (0: not calibrated) */
    double shift[FP_RES_COUNT][FP_QMAX];
    double before[FP_RES_COUNT][FP_QMAX];   /* held-out coverage, raw */
    double after[FP_RES_COUNT][FP_QMAX];    /* held-out coverage, corrected
                                               (cross-validated) */
    double loss[3];             /* cross-validated relative pinball loss by
                                   method index (0: raw, 1: log1p, 2: add) */
} fp_calib_report;

void fp_calib_opts_default(fp_calib_opts *o);

/* Calibrate m on rows ex[0..n) (see above); to: the training options of
 * the fold models (NULL: defaults; its progress callback is not called).
 * Returns 0 with rep->done false and rep->why set when there is nothing
 * to calibrate (a history model, fewer than two groups, too few rows);
 * FP_EUSAGE on bad options, FP_ESYS out of memory; a fold model that
 * fails to train with FP_EINPUT or FP_EUSAGE leaves its rows out. rep
 * may be NULL. A previous calibration of m is replaced (or, when not
 * done, kept). */
int fp_model_calibrate(fp_model *m, const fp_example *ex, size_t n, const fp_train_opts *to,
                       const fp_calib_opts *co, fp_calib_report *rep, fp_err *err);

/* The method of m's calibration (FP_CAL_NONE: none); shift (nullable,
 * FP_QMAX values) receives resource r's shifts (0 where none). */
fp_cal_method fp_model_calibration(const fp_model *m, int r, double *shift);
/* Turn the stored calibration off (predict raw) or on again; a file
 * saved keeps it either way. */
void fp_model_calibration_enable(fp_model *m, bool on);
/* Drop m's calibration. */
void fp_model_calibration_clear(fp_model *m);
/* "log1p", "add", "auto", "none"; fp_cal_method_by_name: -1 unknown. */
const char *fp_cal_method_name(fp_cal_method k);
int fp_cal_method_by_name(const char *s);

/* ------------------------------------------------------------ history as a prior */

/* History as a prior: a per-key summary of observed peaks, inside the
 * model, that moves the predictions of a workload fp has seen before
 * toward that workload's own history.
 *
 * Identity key. What makes two runs "the same workload" is a key spec,
 * stored in the model (so that every tool computes the same key); one
 * spec is a comma-separated list of sources tried in order, the first
 * present giving the key:
 *   meta.NAME        the value of NAME in the record's meta object: a
 *                    string, a number (%.17g), or an array of strings
 *                    joined with single spaces (meta.cmd, an argv);
 *   meta.NAME~ERE    the part of it matched by the POSIX extended regular
 *                    expression ERE (its first parenthesised subexpression
 *                    when it has one, else the whole match);
 *   id               the record's id (unique per run for fp-run and live
 *                    captures: such a key never repeats);
 *   auto             meta.key,meta.cmd,meta.process,meta.image: an
 *                    explicit key (fp-capture/fp-run --meta key=...), else
 *                    the command line of a live capture or fp-run, else
 *                    the process of a trace task (nf-core/eager's
 *                    "process"), else a container's image. The default.
 * The key is the source's name and value, "cmd=stress-ng --vm 1", so
 * that different sources never collide. No source present: no key, the
 * prior does nothing for that record. Keys are cut at FP_PRIOR_KEY_MAX - 1
 * bytes.
 *
 * Summary. Per key and resource: n, the runs observed, and the last
 * `keep` peaks (the target the model learns: the actual's peak or p95) in
 * a ring; at most `max_keys` keys, the least recently updated evicted
 * when a new key comes. A run killed under a limit (fp_example.censored)
 * says only that its peak is at least the value it was killed at: it is
 * stored (as a peak) only when it exceeds the largest stored peak, and
 * ignored otherwise, so it never lowers any order statistic of the key's
 * stored peaks.
 *
 * Prediction (fp_model_prior_apply, after the model's own quantiles and
 * calibration; the request cap of the tools comes after it). With the k
 * stored peaks of the key for resource r (k >= 1), sorted p(1) <= ... <=
 * p(k), in g = log1p space:
 *     lo_tau = Q_tau(p)          the key's own empirical quantile (type 7,
 *                                linear interpolation; k = 1: p(1))
 *     s      = g(p(k)) - g(p(1)) the key's spread
 *     hi     = g^-1(g(p(k)) + s / sqrt(k))
 * and the model's quantile M_tau is clamped into [lo_tau, hi]:
 *     q_tau = min(max(M_tau, lo_tau), hi)
 * (q_tau = lo_tau when the model gives nothing for r). The history sets
 * the range, the fingerprint picks within it: a key that always peaks at
 * the same value gets that value at every level (s = 0), one whose runs
 * vary gets the model's quantile within its own range, widened above its
 * largest peak by its spread over the square root of the number of peaks
 * (a next run above all k before it is the more likely the fewer they
 * are and the more they spread; 1/sqrt(k) rather than the 1/k of
 * uniform order statistics: chosen on nf-core/eager's held-out tasks,
 * where 1/k failed 2-3x the tasks the per-process history baseline
 * failed; README.md, "History as a prior"). The levels stay
 * non-decreasing.
 *
 * Model files: a "prior" object {"key": SPEC, "keep", "max_keys", "keys":
 * [{"key", "n": {RES: n}, "peaks": {RES: [oldest..newest]}}, oldest
 * updated first]}; a file without one has no prior (as before it
 * existed): fp_model_prior_apply does nothing and updates store no
 * peaks. A prior with no keys (fp-train --prior empty) is on and learns
 * from updates (fp-run --learn). Saving and loading gives the same
 * predictions bit for bit. */

#define FP_PRIOR_KEY_MAX 192
#define FP_PRIOR_KEEP_MAX 256

typedef struct fp_prior_opts {
    const char *key;            /* key spec, default "auto" */
    int keep;                   /* peaks kept per key and resource, default 64 */
    int max_keys;               /* default 1000 */
} fp_prior_opts;

void fp_prior_opts_default(fp_prior_opts *o);

/* Turn m's prior on with options o (NULL: defaults), keeping the keys it
 * has when the key spec is the same and dropping them otherwise (and the
 * oldest peaks or keys past a smaller keep or max_keys). FP_EUSAGE for a
 * malformed spec or keep/max_keys out of range (1..FP_PRIOR_KEEP_MAX,
 * 1..1000000). */
int fp_model_prior_enable(fp_model *m, const fp_prior_opts *o, fp_err *err);
/* Turn the prior off and drop its keys. */
void fp_model_prior_disable(fp_model *m);
/* Whether m has a prior (on); *o (nullable) receives its options (the
 * key spec borrowed from m). */
bool fp_model_prior_on(const fp_model *m, fp_prior_opts *o);
/* Number of keys held. */
size_t fp_model_prior_keys(const fp_model *m);
/* Copy src's prior (options and keys) into dst, replacing dst's. */
int fp_model_prior_copy(fp_model *dst, const fp_model *src, fp_err *err);

/* The identity key of a workload (id, meta nullable) under spec into
 * buf[n]; NULL when no source of the spec is present (or the spec is
 * malformed). fp_model_prior_key uses m's spec (NULL when m has no
 * prior). */
const char *fp_prior_key(const char *spec, const char *id, const json_t *meta, char *buf, size_t n);
const char *fp_model_prior_key(const fp_model *m, const char *id, const json_t *meta, char *buf,
                               size_t n);

/* Observe one run of key: y[r] its peaks (NaN: unknown), censored
 * (nullable) lower bounds of a run killed under a limit (see above).
 * Does nothing when m has no prior or key is NULL. fp_model_update calls
 * it with e->key, fp_model_train for every row with a key (in row
 * order). FP_ESYS out of memory. */
int fp_model_prior_observe(fp_model *m, const char *key, const double *y, const double *censored,
                           fp_err *err);

/* What the prior did to a prediction. */
typedef struct fp_prior_use {
    bool used;                  /* the key had history for some resource */
    char key[FP_PRIOR_KEY_MAX];
    int n[FP_RES_COUNT];        /* runs of the key per resource (0: none) */
    int k[FP_RES_COUNT];        /* peaks stored (what the blend used) */
    double lo[FP_RES_COUNT][FP_QMAX], hi[FP_RES_COUNT];
} fp_prior_use;

/* Blend the key's history into out (the model's quantiles of a workload
 * with identity key, NULL: none): see "Prediction" above. use (nullable)
 * says what was done. Nothing changes when m has no prior, key is NULL
 * or the key has no history. */
void fp_model_prior_apply(const fp_model *m, const char *key, fp_quantiles out[FP_RES_COUNT],
                          fp_prior_use *use);
/* Say in prediction p that the prior was used (its key, and the most runs
 * over the resources); nothing when use is NULL or not used. */
void fp_prior_note(const fp_prior_use *use, fp_prediction *p);

/* ------------------------------------------------------------ sequence models */

/* The default per-step metrics of a sequence model (*n receives their
 * number): cpu_cores, cpu_throttled_pct, mem_bytes, mem_anon_bytes,
 * mem_file_bytes, io_read_Bps, io_write_Bps, net_rx_Bps, net_tx_Bps,
 * threads, psi_cpu_some_pct, psi_mem_some_pct, psi_io_some_pct. */
const char *const *fp_model_seq_default_names(int *n);

/* Whether m is a sequence model. */
bool fp_model_is_seq(const fp_model *m);

/* One step's row for a sequence model from a sample: row[i] (i < dim) is
 * the sample's value of the model's metric i, NaN when missing (or not a
 * sample metric). */
void fp_model_seq_row(const fp_model *m, const fp_sample *s, double *row);

/* Quantiles of each resource after the len steps of seq (len x dim,
 * NaN = missing). len 0 gives the prior (see above). FP_EUSAGE on a model
 * that is not a sequence model or with len < 0. */
int fp_model_predict_seq(fp_model *m, const double *seq, int len, fp_quantiles out[FP_RES_COUNT],
                         fp_err *err);

/* Streaming inference for one workload: fp_model_stream_new() starts the
 * state (NULL with FP_EUSAGE when m is not a sequence model, FP_ESYS when
 * out of memory); fp_model_stream_step() feeds the next sample row
 * (fp_model_dim(m) values, NaN = missing) and gives the quantiles after
 * it, the same as fp_model_predict_seq on all rows fed so far (to
 * rounding; in practice bit for bit). The model is borrowed: it must
 * outlive the stream and not be trained or updated while the stream is
 * used. Constant time and memory per step. */
typedef struct fp_model_stream fp_model_stream;
fp_model_stream *fp_model_stream_new(fp_model *m, fp_err *err);
int fp_model_stream_step(fp_model_stream *s, const double *row, fp_quantiles out[FP_RES_COUNT],
                         fp_err *err);
/* Steps fed so far. */
long fp_model_stream_steps(const fp_model_stream *s);
void fp_model_stream_free(fp_model_stream *s);

#ifdef __cplusplus
}
#endif

#endif
