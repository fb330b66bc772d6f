/* fp/dataset.h - from records to model rows, for fp-train and fp-predict.
 *
 *   fp_featmap   turns a fingerprint record's `features` object, or the
 *                features of an fp_window, into the feature vector a model
 *                expects (model order, NaN = missing). The key layout of the
 *                last fingerprint is remembered, so a stream of fingerprints
 *                with the same keys in the same order (what fp-capture
 *                writes) is mapped by name once and then read with no
 *                allocation and no lookup.
 *   fp_actual_targets   the lifetime target of each resource from an
 *                `actual` record (<res>_peak, <res>_p95, ...).
 *   fp_horizon_peaks    the peak over the next horizon after checkpoints
 *                of a series: the target of continuous predictions.
 *   fp_dataset   a growing set of training rows that owns their feature
 *                vectors and group keys, seen as an fp_example array.
 *
 * Ownership: fp_featmap and fp_dataset are opaque (_new / _free); the model
 * given to fp_featmap_new is borrowed and must outlive the map. Records are
 * borrowed for the duration of a call. Arrays returned by
 * fp_dataset_examples are owned by the dataset and valid until its next
 * add, drop or free.
 */
#ifndef FP_DATASET_H
#define FP_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/features.h"
#include "fp/model.h"
#include "fp/prediction.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_featmap fp_featmap;

/* A map for model m (a fingerprint model; a history model needs no
 * features and every call succeeds with nothing to fill). NULL when out of
 * memory. */
fp_featmap *fp_featmap_new(const fp_model *m);
void fp_featmap_free(fp_featmap *f);

/* x[fp_model_dim(m)] from the `features` object of fingerprint record rec.
 * A feature that is null is NaN. FP_EINPUT when rec has no features
 * object, a feature is neither a number nor null ("features.X is not a
 * number or null"), or the model needs a feature the fingerprint lacks
 * (fp_model_check_features' message, naming it). */
int fp_featmap_vector(fp_featmap *f, const json_t *rec, double *x, fp_err *err);

/* x from the features of window w so far (fp_features with meta, which
 * may be NULL). FP_EINPUT when the model needs a feature that is not one
 * of the standard fp_feature_name() features. */
int fp_featmap_window(fp_featmap *f, const fp_window *w, const json_t *meta, double *x,
                      fp_err *err);

/* The feature names of a fingerprint record, in its order: *names is a new
 * array (free() it) of pointers borrowed from rec. FP_EINPUT when rec has
 * no features object or it is empty. */
int fp_fingerprint_names(const json_t *rec, const char ***names, size_t *n, fp_err *err);

/* y[r] = the actual's "<res>_<stat>" (stat "peak", "p95", "p50" or
 * "mean"); NaN when absent or null. FP_EINPUT when one is not a number, or
 * stat is unknown. */
int fp_actual_targets(const json_t *actual, const char *stat, double y[FP_RES_COUNT], fp_err *err);

/* For each checkpoint tc[k] (ascending) the largest finite v[i] with
 * tc[k] < t[i] <= tc[k] + h (t ascending); NaN when there is none. O(n + nc). */
void fp_horizon_peaks(const double *t, const double *v, size_t n, const double *tc, size_t nc,
                      double h, double *out);

/* Workload groups: which rows a validation split keeps together, and the
 * key a history model keeps its state under. A spec is
 *   "id"              the record's id;
 *   "meta.KEY"        the value of KEY in the workload's meta object (a
 *                     string, or a number written with %.17g);
 *   "meta.KEY~ERE"    the part of that value matched by the POSIX extended
 *                     regular expression ERE: its first parenthesised
 *                     subexpression when it has one, else the whole match
 *                     (e.g. "meta.task~DA[0-9]+" for eager's input sample).
 * When the key is absent, not a string or number, or does not match, the
 * id is the group (fp_groupby_key says so through *fallback). */
typedef struct fp_groupby fp_groupby;
/* NULL with FP_EUSAGE when spec is malformed. */
fp_groupby *fp_groupby_new(const char *spec, fp_err *err);
void fp_groupby_free(fp_groupby *g);
const char *fp_groupby_spec(const fp_groupby *g);
/* The group of workload id with metadata meta (nullable) into buf. */
const char *fp_groupby_key(const fp_groupby *g, const char *id, const json_t *meta, char *buf,
                           size_t n, bool *fallback);

typedef struct fp_dataset fp_dataset;

/* Rows of dim features (dim 0: rows without features, for history
 * models). NULL when out of memory. */
fp_dataset *fp_dataset_new(int dim);
void fp_dataset_free(fp_dataset *d);
/* Append a row: x (dim values, copied; NULL = all missing), y (copied;
 * NULL = all NaN), group (copied; NULL = ""), ts, oom. Returns the row's
 * index, or -1 (FP_ESYS) when out of memory. */
long fp_dataset_add(fp_dataset *d, const double *x, const double *y, const char *group,
                    double ts, bool oom, fp_err *err);
/* The targets of row i, writable (for targets known later). */
double *fp_dataset_y(fp_dataset *d, size_t i);
size_t fp_dataset_size(const fp_dataset *d);
/* Drop rows whose targets are all NaN, keeping the order; returns how
 * many were dropped. */
size_t fp_dataset_drop_untargeted(fp_dataset *d);
/* Number of distinct groups. */
size_t fp_dataset_groups(const fp_dataset *d);
/* The rows as examples (x NULL when dim is 0). */
const fp_example *fp_dataset_examples(fp_dataset *d, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
