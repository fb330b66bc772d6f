/* fp/prediction.h - what a workload will need: `prediction` records.
 *
 * A prediction gives, per resource, quantiles of the need over a horizon:
 *   "horizon_s": 600, "model": "linear-...",
 *   "quantiles": {"cpu_cores": {"p50":0.4,"p90":0.9,"p99":1.2},
 *                 "mem_bytes": {"p50":..., ...}, "disk_read_Bps": null, ...},
 *   "missing": {"disk_read_Bps": "no disk counters in the fingerprint"}
 * Resource names carry their units and match the sample metrics they predict
 * (cpu_cores, mem_bytes, io_read_Bps...). Quantile keys are "p" followed by
 * the level in percent ("p50", "p90", "p99", "p99.9"). A resource that is
 * not predicted is null with a reason in `missing` (or absent).
 * fp-predict writes these records, fp-apply and fp-diff read them; the
 * format is in fp-records(5).
 *
 * Ownership: fp_prediction is a plain value (no pointers); copy it freely.
 */
#ifndef FP_PREDICTION_H
#define FP_PREDICTION_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(enum, record name, sample metric it predicts, unit word) */
#define FP_RESOURCES(X) \
    X(CPU,        "cpu_cores",    "cpu_cores",    "cores") \
    X(MEM,        "mem_bytes",    "mem_bytes",    "bytes") \
    X(DISK_READ,  "io_read_Bps",  "io_read_Bps",  "bytes/s") \
    X(DISK_WRITE, "io_write_Bps", "io_write_Bps", "bytes/s") \
    X(NET_RX,     "net_rx_Bps",   "net_rx_Bps",   "bytes/s") \
    X(NET_TX,     "net_tx_Bps",   "net_tx_Bps",   "bytes/s")

typedef enum {
#define FP_X_RES(e, n, m, u) FP_RES_##e,
    FP_RESOURCES(FP_X_RES)
#undef FP_X_RES
    FP_RES_COUNT
} fp_resource;

const char *fp_resource_name(fp_resource r);
/* FP_RES_COUNT when name is not a resource. */
fp_resource fp_resource_by_name(const char *name);

#define FP_QMAX 8          /* quantiles per resource */

typedef struct fp_quantiles {
    int n;                     /* 0: not predicted */
    double level[FP_QMAX];     /* ascending, in (0,1): 0.5, 0.9, 0.99 */
    double value[FP_QMAX];     /* non-decreasing in level */
    char why[128];             /* when n == 0: the reason (from `missing`) */
} fp_quantiles;

typedef struct fp_prediction {
    fp_target target;          /* id, host, cgroup, container, pid */
    double t;                  /* seconds since the workload started */
    double ts;                 /* Unix time, 0 unknown */
    double horizon_s;          /* how long the quantiles hold; 0 = lifetime */
    char model[128];           /* model id, "" unknown */
    int priority;              /* from the record's "priority" (default 0) */
    bool has_novelty;          /* the model said how novel the workload is */
    double novelty;            /* fp_model_novelty: ~1 familiar, > 3 unlike
                                  anything the model holds */
    fp_quantiles q[FP_RES_COUNT];
    /* the metadata key ("req_mem_bytes") whose value capped resource r's
     * quantiles (fp_prediction_cap), "" when not capped; written as
     * "capped_by": {"mem_bytes": "meta.req_mem_bytes"} */
    char capped_by[FP_RES_COUNT][32];
    /* the model's per-key prior moved the quantiles (fp/model.h, "History
     * as a prior"): the workload's identity key and the runs of it the
     * model has seen (the largest over the resources); written as
     * "prior": {"key": ..., "n": ...}, absent when not used */
    bool has_prior;
    char prior_key[192];
    int prior_n;
} fp_prediction;

/* A prediction never exceeds what the workload is known to be allowed:
 * every quantile of mem_bytes is lowered to the metadata's req_mem_bytes
 * and of cpu_cores to req_cpus (the request or limit a workflow or trace
 * declared: Nextflow's memory/cpus, a VM's provisioned capacity, fp-capture
 * --meta), when that is a finite number > 0. capped_by[r] is set for each
 * resource lowered (its quantiles stay non-decreasing). meta may be NULL
 * or not an object (nothing capped). Returns the resources capped. */
int fp_prediction_cap(fp_prediction *p, const json_t *meta);

/* The value at level (e.g. 0.9) of one resource: exact when the level is
 * present, else linear interpolation between the neighbouring levels, else
 * the nearest end (and *exact is set false). Returns NAN when the resource
 * is not predicted. */
double fp_quantile_at(const fp_quantiles *q, double level, bool *exact);

/* Parse "p90" / "p99.9" into 0.9 / 0.999; -1 when malformed. Writes the
 * canonical key of a level into buf (fp_quantile_key(0.999) = "p99.9"). */
double fp_quantile_level(const char *key);
void fp_quantile_key(double level, char *buf, size_t n);

/* Pinball (quantile) loss of predicting q at level tau in (0,1) when y
 * happened: tau * (y - q) when y >= q, (1 - tau) * (q - y) when y < q.
 * NAN when an argument is not finite. The one definition: scoring
 * (fp/diff.h) and training (fp/model.h) both use it. */
double fp_pinball(double tau, double q, double y);

/* Read a `prediction` record. FP_EINPUT with a message naming the field
 * when it is malformed: not a prediction, a quantile that is not a finite
 * number >= 0, quantiles decreasing with level, a bad key. */
int fp_prediction_from_json(const json_t *rec, fp_prediction *p, fp_err *err);
/* Write one (a new reference). Resources with n == 0 become null with
 * their reason in `missing`. */
json_t *fp_prediction_to_json(const fp_prediction *p);

#ifdef __cplusplus
}
#endif

#endif
