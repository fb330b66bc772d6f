/* fp/features.h - fingerprints and actuals from a stream of samples.
 *
 * An fp_window accumulates samples of one workload from its start: one
 * fp_series per metric (bounded memory, see fp/series.h) plus the integral
 * of every metric over time. From it:
 *   fp_fingerprint  the features of the samples so far (the early window):
 *                   METRIC_STAT for every metric and statistic, cross-metric
 *                   ratios x_*, metadata meta_*, and a signed feature-hashing
 *                   embedding emb_00..emb_NN of the command line, image,
 *                   labels, process name, workflow and task tag;
 *   fp_actual       what the workload used over its life.
 * Feature names are stable: fp_feature_name() lists them in order, and a
 * fingerprint always carries every one of them (null plus a reason in
 * `missing` when it could not be computed).
 *
 * Ownership: fp_window is opaque (fp_window_new / fp_window_free). Records
 * returned are new jansson references owned by the caller. meta is borrowed.
 */
#ifndef FP_FEATURES_H
#define FP_FEATURES_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/metric.h"
#include "fp/record.h"
#include "fp/series.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FP_FEATURES_VERSION 1
#define FP_EMBED_DIM 32

/* Cross-metric ratios, from window means (X(enum, name, description)). */
#define FP_RATIOS(X) \
    X(IPC, "x_ipc", "instructions per cycle over the window") \
    X(CACHE_MISS_RATE, "x_cache_miss_rate", "cache misses per cache reference") \
    X(BRANCH_MPKI, "x_branch_misses_per_kinstr", "branch misses per thousand instructions") \
    X(LLC_MISS_RATE, "x_llc_miss_rate", "LLC load misses per LLC load") \
    X(IO_PER_CPU, "x_io_bytes_per_cpu_s", "block I/O bytes per CPU-second") \
    X(CHAR_PER_CPU, "x_rwchar_bytes_per_cpu_s", "read/write syscall bytes per CPU-second") \
    X(NET_PER_CPU, "x_net_bytes_per_cpu_s", "network bytes per CPU-second") \
    X(SYSC_PER_CPU, "x_syscalls_per_cpu_s", "read/write syscalls per CPU-second") \
    X(MEM_PER_CORE, "x_mem_bytes_per_core", "memory bytes per core used") \
    X(USER_SHARE, "x_user_share", "user share of CPU time") \
    X(MAJFLT_SHARE, "x_majflt_share", "major share of page faults") \
    X(ANON_SHARE, "x_anon_share", "anonymous share of cgroup memory")

typedef enum {
#define FP_X_RATIO(e, n, d) FP_R_##e,
    FP_RATIOS(FP_X_RATIO)
#undef FP_X_RATIO
    FP_R_COUNT
} fp_ratio;

/* Metadata features, read from the fingerprint's meta object. */
#define FP_META_FEATURES(X) \
    X(REQ_CPUS, "meta_req_cpus", "req_cpus") \
    X(REQ_MEM, "meta_req_mem_bytes", "req_mem_bytes") \
    X(INPUT_BYTES, "meta_input_bytes", "input_bytes") \
    X(INPUT_FILES, "meta_input_files", "input_files")

typedef enum {
#define FP_X_META(e, n, k) FP_MF_##e,
    FP_META_FEATURES(FP_X_META)
#undef FP_X_META
    FP_MF_COUNT
} fp_meta_feature;

#define FP_FEATURE_COUNT (FP_M_COUNT * FP_ST_COUNT + FP_R_COUNT + FP_MF_COUNT + FP_EMBED_DIM)

/* Name of feature i (0 <= i < FP_FEATURE_COUNT) written into buf. */
const char *fp_feature_name(int i, char *buf, size_t n);

typedef struct fp_window fp_window;

fp_window *fp_window_new(void);
void fp_window_free(fp_window *w);
/* Add one sample. A sparse sample (s->grid_s > 0, more than 1.5 grid
 * steps after the previous sample) is resampled onto its grid: its values
 * are added at each grid point of the span it closes (at most 4096), so
 * the per-value statistics (mean, quantiles, ...) stay comparable with a
 * capture sampled densely throughout; integrals are exact either way, and
 * fp_window_samples counts it once. */
void fp_window_add(fp_window *w, const fp_sample *s);
long fp_window_samples(const fp_window *w);
double fp_window_last_t(const fp_window *w);
/* The series of one metric (for tests and summaries). */
const fp_series *fp_window_series(const fp_window *w, fp_metric m);
/* Why metric m has no values (the first reason a sample gave), or NULL when
 * it has values. */
const char *fp_window_why(const fp_window *w, fp_metric m);
/* Integral of metric m over time so far (value x seconds). */
double fp_window_integral(const fp_window *w, fp_metric m);

/* Compute the feature vector: values[i] valid unless why[i] is set. */
void fp_features(const fp_window *w, const json_t *meta, double *values, const char **why);

/* Signed feature hashing of the command line (meta.cmd), image, labels,
 * process, source, workflow and tag (digits as 0) into out[FP_EMBED_DIM],
 * L2-normalised. Returns the
 * number of tokens hashed (0: nothing to embed, out is all zero). */
int fp_embed(const json_t *meta, double *out);

/* The `fingerprint` record at time t. */
json_t *fp_fingerprint(const fp_window *w, const fp_target *tg, const json_t *meta, double t);

/* The `actual` record: duration, exit, peak/p50/p95/mean per resource,
 * totals. outcome (borrowed, may be NULL) is copied in as `outcome`. */
json_t *fp_actual(const fp_window *w, const fp_target *tg, const fp_exit *ex,
                  const json_t *meta, const json_t *outcome, double t);

#ifdef __cplusplus
}
#endif

#endif
