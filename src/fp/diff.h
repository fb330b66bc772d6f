/* fp/diff.h - scoring predictions and allocations against what workloads
 * used, and comparing fingerprints.
 *
 * Scoring. One observation is one value a workload used (an actual's peak,
 * p95 or mean, or one sample's value) of one resource, beside what was
 * predicted or allocated for it:
 *   pinball loss  per quantile level tau, predicted q, used y:
 *                   tau * (y - q)        when y >= q
 *                   (1 - tau) * (q - y)  when y <  q
 *                 in the resource's unit;
 *   coverage      per level, the share of observations with y <= q (a
 *                 calibrated pXX covers XX%);
 *   under         y > allocation (the workload or sample was short);
 *   slack         sum max(alloc - y, 0) / sum alloc;
 *   waste         sum max(alloc - use, 0) * dt, where use is the average
 *                 over dt (an actual's mean over its duration, or a
 *                 sample's value over the time since the previous sample),
 *                 reported in resource-unit hours (core-h, byte-h);
 *   failed        the peak above a hard limit (memory: the workload would
 *                 have been OOM-killed), or a workload harmed by the limit
 *                 it had (fp_actual_harm: killed by the kernel's OOM
 *                 killer, or throttled by a CPU quota more than
 *                 FP_THROTTLE_FAIL of its run), whatever its peak: the
 *                 kernel never lets a peak pass a hard memory limit, it
 *                 kills instead.
 * An fp_score accumulates observations per resource; scores of several
 * runs merge by adding; fp_score_to_json writes the aggregate and
 * fp_score_metric reads one number from it (for thresholds).
 *
 * Comparing. Two fingerprints (or any two name -> number maps) are compared
 * feature by feature with the normalised change
 *     c = (b - a) / (|a| + |b| + eps)        (0 when both are 0)
 * which lies in (-1, 1) whatever the feature's unit; the distance is the
 * mean of |c| over the features both have (non-null in both), so 0 is
 * identical and 1 is as different as can be. The features with the
 * largest |c| are returned as the ones that moved most. (A robust z
 * distance needs the spread of a population of fingerprints; with two, the
 * normalised change is what can be computed.)
 *
 * Ownership: fp_obs, fp_obs_result, fp_score and fp_moved are plain values
 * (no pointers but fp_obs.q, which is borrowed for the call) owned by the
 * caller; a function returning json_t * gives the caller one reference
 * (json_decref it). Nothing here prints or exits.
 */
#ifndef FP_DIFF_H
#define FP_DIFF_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/model.h"
#include "fp/prediction.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default eps of the normalised change. */
#define FP_DIFF_EPS 1e-9
/* Distinct quantile levels an fp_score keeps per resource. */
#define FP_SCORE_LEVELS 16

/* One observation (see above). Fields that do not apply are NAN; set them
 * with fp_obs_init first. */
typedef struct fp_obs {
    const fp_quantiles *q;   /* predicted quantiles; NULL or n == 0: none */
    double alloc;            /* the allocation: a limit, or the quantile
                                chosen as one; NAN none (or unlimited) */
    double hard;             /* a hard limit whose excess fails the workload;
                                NAN none */
    double use;              /* the value scored (must be finite) */
    double peak;             /* the highest use, compared with hard; NAN: use */
    double mean;             /* average use over dt, for the waste; NAN: use */
    double dt;               /* seconds use lasted; 0 or NAN: no waste */
    const char *harm;        /* the limit harmed the workload (fp_actual_harm);
                                NULL: not known to */
} fp_obs;

/* Share of a run's wall time throttled by a CPU quota above which the
 * quota counts as having failed the workload. */
#define FP_THROTTLE_FAIL 0.10

/* Was the workload of this `actual` harmed in resource r by a limit? Memory:
 * an OOM kill (oom_kills > 0); CPU: cpu_throttled_s above FP_THROTTLE_FAIL
 * of duration_s. Returns a static reason, or NULL. Whether the limit was
 * fp's is the caller's to know (it had an allocation). */
const char *fp_actual_harm(const json_t *actual, fp_resource r);

/* What one observation scored. */
typedef struct fp_obs_result {
    int nl;                         /* levels of q */
    double level[FP_QMAX];
    double pinball[FP_QMAX];
    bool covered[FP_QMAX];          /* use <= q at that level */
    bool has_alloc;                 /* alloc was finite */
    bool under;                     /* use > alloc */
    double slack;                   /* max(alloc - use, 0) / alloc; NAN when
                                       no allocation or alloc == 0 */
    double wasted_h;                /* max(alloc - mean, 0) * dt / 3600; 0
                                       without dt or allocation */
    bool failed;                    /* peak > hard */
} fp_obs_result;

/* Per level of one resource: observations, covered ones, sum of pinball
 * losses, sum of |use| (for the relative loss). */
typedef struct fp_score_level {
    double level;
    long n, covered;
    double pinball_sum, abs_use_sum;
} fp_score_level;

typedef struct fp_score_res {
    long n;                         /* observations of this resource */
    int nl;                         /* levels seen, ascending */
    fp_score_level lv[FP_SCORE_LEVELS];
    long levels_dropped;            /* observations of levels beyond the table */
    long n_alloc, under;            /* observations with an allocation; short */
    double alloc_sum, slack_sum;    /* sum alloc, sum max(alloc - use, 0) */
    double wasted_h;                /* sum of the results' wasted_h */
    long failed;                    /* observations above the hard limit */
} fp_score_res;

/* An accumulator. n and failed count items (workloads or samples; a
 * workload or sample scores several resources) and are kept by the caller,
 * who knows what an item is: fp_score_add only fills r[]. */
typedef struct fp_score {
    long n;                         /* items scored */
    long failed;                    /* workloads that failed (caller's count) */
    fp_score_res r[FP_RES_COUNT];
} fp_score;

void fp_obs_init(fp_obs *o);
/* Score one observation into *out (see above). */
void fp_obs_eval(const fp_obs *o, fp_obs_result *out);

void fp_score_init(fp_score *s);
/* Score observation o of resource r and add it to s; *out (may be NULL)
 * receives what it scored. An observation whose use is not finite, or
 * with neither quantiles nor an allocation, is not added (returns 0);
 * else returns 1. Levels beyond FP_SCORE_LEVELS distinct ones are counted
 * in levels_dropped, not aggregated. */
int fp_score_add(fp_score *s, fp_resource r, const fp_obs *o, fp_obs_result *out);
/* Add src into dst (levels matched by value). */
void fp_score_merge(fp_score *dst, const fp_score *src);

/* The aggregate as a JSON object:
 *   {"n":N, "failed":F, "wasted_core_h":W, "wasted_gb_h":W,
 *    "resources":{"mem_bytes":{"n":..,
 *       "levels":{"p50":{"n":..,"coverage":..,"pinball":..}, ...},
 *       "pinball":.., "pinball_rel":.., "coverage_gap":..,
 *       "n_alloc":.., "under":.., "under_rate":.., "slack":..,
 *       "wasted_h":.., "failed":..}, ...}}
 * Resources without observations are left out, and so are the fields that
 * do not apply (no quantiles: no levels, pinball, coverage_gap; no
 * allocation: no under_rate, slack, wasted_h; wasted_core_h and
 * wasted_gb_h only when CPU / memory had allocations). */
json_t *fp_score_to_json(const fp_score *s);

/* One number of the aggregate, by name:
 *   pinball       mean over levels of the mean pinball loss (resource unit)
 *   pinball_rel   mean over levels of sum pinball / sum |use| (no unit)
 *   coverage_gap  max over levels of |coverage - level|
 *   under_rate    under / n_alloc
 *   slack         slack_sum / alloc_sum
 *   wasted_h      waste in resource-unit hours
 *   failed        with a resource, its observations above the hard limit;
 *                 without (r == FP_RES_COUNT), s->failed
 *   wasted_core_h the CPU's wasted_h;  wasted_gb_h the memory's / 1e9
 * With r == FP_RES_COUNT a per-resource metric is the largest over the
 * resources that have it, and *which (may be NULL) names that resource.
 * NAN when the metric does not apply or nothing was observed. */
double fp_score_metric(const fp_score *s, const char *metric, fp_resource r, fp_resource *which);
/* Whether name is one of the metrics above. */
bool fp_score_metric_known(const char *name);

/* The normalised change of one feature, (b - a) / (|a| + |b| + eps);
 * 0 when a == b. */
double fp_rel_change(double a, double b, double eps);

/* Distance between two vectors of n values (NAN: the feature is missing
 * there): the mean |fp_rel_change| over the indices where both are finite.
 * *n_common (may be NULL) receives how many; NAN when none. When k > 0 and
 * top is not NULL, top[0..*n_top) receives the indices that moved most,
 * largest |change| first, ties by lower index; features that did not move
 * (change 0) are not listed. */
double fp_distance(const double *a, const double *b, int n, double eps, int *n_common,
                   int k, int *top, int *n_top);

/* A feature that moved. */
typedef struct fp_moved {
    char name[128];
    double a, b;        /* the values */
    double change;      /* fp_rel_change(a, b, eps) */
} fp_moved;

/* The same for two JSON objects name -> number or null (a fingerprint's
 * "features"): features compared are those numeric in both; ties in the
 * top list are broken by name. *skipped (may be NULL) counts the names
 * present in only one, or null in either. FP_EINPUT when fa or fb is not
 * an object, or a value is neither a number nor null (the message names
 * the feature). On success *dist is NAN when no feature is in common. */
int fp_distance_json(const json_t *fa, const json_t *fb, double eps, int k, fp_moved *top,
                     int *n_top, double *dist, int *n_common, int *skipped, fp_err *err);

/* The validation cost of a model, the one that fp-train's --model auto
 * minimises and fp-retrain compares the new and the installed model by.
 * Over the n rows ex (in stream order), per resource with targets:
 *   (sum over + FP_COST_LAMBDA_UNDER sum under) / sum |y|
 *   + FP_COST_MU_CHANGE mean |change| / mean |y|
 * with over = max(q - y, 0), under = max(y - q, 0), q the prediction at
 * the level nearest FP_COST_LEVEL (0 when the resource is not predicted),
 * change = q's step between consecutive rows of one group, counted only
 * with with_change (rows that are checkpoints of one workload; lifetime
 * rows of a group are different workloads); the mean over the resources.
 * parts (may be NULL) receives the over, under and change terms (means
 * over the resources; 0 when no resource has a target, NAN when m cannot
 * predict a row); *pinball_rel (may be NULL) fp_score_metric's
 * "pinball_rel" (largest over the resources) of the same predictions.
 * Sequence models predict from ex[i].seq, the others from ex[i].x. NAN
 * when m cannot predict a row or no resource has a target. */
#define FP_COST_LEVEL 0.9
#define FP_COST_LAMBDA_UNDER 10.0
#define FP_COST_MU_CHANGE 0.1
double fp_validation_cost(fp_model *m, const fp_example *ex, size_t n, bool with_change,
                          double parts[3], double *pinball_rel);

#ifdef __cplusplus
}
#endif

#endif
