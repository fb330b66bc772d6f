/* fp/nfconfig.h - a sized Nextflow configuration from task history.
 *
 * An fp_nfc collects completed task attempts per process (from a task
 * trace, fp/tasktrace.h, or from `actual` records whose meta names the
 * process) and plans, per process with at least opts.min_tasks attempts:
 *   memory M   the opts.quantile order statistic of the peaks (the
 *              ceil(q n)-th smallest: at least a share q of the history fit
 *              in M) times 1 + opts.margin, rounded up to whole MiB; with
 *              quantile 0, the peak of least waste under the retry model
 *              below, cross-validated: for each rank k, every attempt is
 *              given the k-th smallest peak of the OTHER attempts; the rank
 *              of least total waste (ties: the larger) is taken of all n
 *              peaks at the same share, rank ceil(k n / (n - 1)) (no
 *              margin: the retries are the margin; a task no attempt fits
 *              costs its failed attempts and its own peak once more),
 *              rounded up to whole MiB;
 *   cpus       the ceil of the same quantile of the mean cores used, at
 *              least 1 and at most the largest request seen (when known);
 *   retries    attempt k gets k x M (Nextflow's `task.attempt`), on an
 *              exit status of 137-140 (killed: out of memory), at most
 *              opts.max_retries times.
 * What the plan would have cost on the history it learned from, with that
 * retry model (a failed attempt costs its allocation for the task's whole
 * runtime, as the Sizey protocol counts it): waste = sum over successful
 * attempts of (allocation - peak) x runtime + sum over failed attempts of
 * allocation x runtime, in GB.h (1e9 bytes x hours), against the waste of
 * each task's own request, (request - peak) x runtime, over the same tasks.
 *
 * The written configuration follows this grammar (whitespace between
 * tokens, `//` comments to the end of a line; names are single-quoted, a
 * quote or backslash in a name escaped with a backslash):
 *   config   = "process" "{" { selector } "}"
 *   selector = "withName:" QUOTED "{" cpus memory strategy retries "}"
 *   cpus     = "cpus" "=" INTEGER
 *   memory   = "memory" "=" "{" INTEGER ".MB" "*" "task.attempt" "}"
 *   strategy = "errorStrategy" "=" "{" "task.exitStatus" "in" "137..140"
 *              "?" "'retry'" ":" "'terminate'" "}"
 *   retries  = "maxRetries" "=" INTEGER
 * which is Nextflow's own configuration syntax (process scope, withName
 * selectors, dynamic directives as closures).
 *
 * Ownership: fp_nfc is opaque (fp_nfc_new / fp_nfc_free); the process
 * views returned by fp_nfc_process_at belong to it and are valid until the
 * next add, plan or free. libfp never prints: fp_nfc_write writes to the
 * FILE it is given.
 */
#ifndef FP_NFCONFIG_H
#define FP_NFCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/tasktrace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_nfc_opts {
    double quantile;   /* of the peaks, (0, 1]; 0: least waste; default 0.99 */
    double margin;     /* headroom over it, >= 0; default 0.05 */
    int max_retries;   /* 0..10; default 2 */
    int min_tasks;     /* fewer: left to the workflow's own settings; default 3 */
} fp_nfc_opts;

void fp_nfc_opts_default(fp_nfc_opts *o);

typedef struct fp_nfc_process {
    const char *name;
    size_t tasks;            /* completed attempts learned from */
    bool planned;            /* enough tasks: in the configuration */
    double mem_bytes;        /* M (planned) */
    int cpus;                /* (planned) */
    double req_mem_bytes;    /* the largest request seen, NaN when none */
    /* on the history, over the tasks whose request is known (all tasks
     * for the plan's own columns when none is) */
    size_t compared;         /* tasks with a known request */
    double waste_request_gbh, waste_plan_gbh;
    long retries;            /* failed attempts under the plan */
    long unfit;              /* tasks no attempt would have fit */
} fp_nfc_process;

typedef struct fp_nfc fp_nfc;

fp_nfc *fp_nfc_new(void);
void fp_nfc_free(fp_nfc *c);

/* One completed attempt of process: its peak memory and runtime (both
 * finite, >= 0), requested memory, mean cores used and requested cpus (NaN
 * when unknown). FP_EINPUT for a bad value, FP_ESYS out of memory. */
int fp_nfc_add(fp_nfc *c, const char *process, double peak_bytes, double runtime_s,
               double req_mem_bytes, double cores_mean, double req_cpus, fp_err *err);
/* The same from a task of a task trace, or from an `actual` record
 * (meta.process, mem_bytes_peak, duration_s, meta.req_mem_bytes,
 * cpu_cores_mean, meta.req_cpus). Returns 1 when added, 0 when the
 * attempt is not one to learn from (no process, no peak or runtime, or it
 * did not complete: status other than COMPLETED or a nonzero exit), -1
 * with err. */
int fp_nfc_add_task(fp_nfc *c, const fp_task *task, fp_err *err);
int fp_nfc_add_actual(fp_nfc *c, const json_t *actual, fp_err *err);

/* Plan every process and score the plan on the history. FP_EUSAGE for bad
 * options. */
int fp_nfc_plan(fp_nfc *c, const fp_nfc_opts *o, fp_err *err);
size_t fp_nfc_processes(const fp_nfc *c);
/* Process i (in the order first seen), or NULL. */
const fp_nfc_process *fp_nfc_process_at(const fp_nfc *c, size_t i);

/* Write the planned configuration to f: a comment block (comment, may be
 * NULL, each line prefixed with "// "), then the process scope. FP_EUSAGE
 * before fp_nfc_plan, FP_ESYS on a write error. */
int fp_nfc_write(const fp_nfc *c, FILE *f, const char *comment, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
