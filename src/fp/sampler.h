/* fp/sampler.h - one workload's samples, from every sampler at once.
 *
 * A sampler reads the workload's process tree (fp/proc.h), its cgroup
 * (fp/cgroup.h), its network namespace (fp/net.h) and its counters
 * (fp/perf.h), and turns two consecutive readings into an fp_sample of
 * levels and per-second rates. Each metric degrades on its own: what cannot
 * be read is missing with the reason, the rest is still sampled.
 *
 * Processes: the members of the cgroup when `tree_from_cgroup` is set (a
 * workload fp started or a container: cheap, no /proc scan), else the root
 * pid and its descendants (a scan of <proc> per sample).
 *
 * Counters: on the root pid, inherited by the children it starts (a
 * workload fp started), or for an attached cgroup or container on the whole
 * cgroup, per CPU (its perf_event directory: the v1 perf_event hierarchy,
 * else the cgroup2 one).
 *
 * Files read at every sample are kept open between samples (see
 * fp_cg_reader and fp_proc_cache); the network counters are read only while
 * the workload has a network namespace of its own.
 *
 * Ownership: fp_sampler is opaque (fp_sampler_new / fp_sampler_free). It
 * copies the roots and the cgroup given in the configuration; a shared scan
 * is borrowed and must outlive the sampler.
 */
#ifndef FP_SAMPLER_H
#define FP_SAMPLER_H

#include <stdbool.h>
#include "fp/cgroup.h"
#include "fp/error.h"
#include "fp/metric.h"
#include "fp/perf.h"
#include "fp/proc.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_sampler_cfg {
    int pid;                       /* root process (0: none known) */
    const fp_cgroup *cg;           /* NULL: no cgroup */
    const char *why_no_cgroup;     /* reason shown for cgroup metrics when cg is NULL */
    bool tree_from_cgroup;         /* processes = cgroup members */
    bool perf;                     /* open perf counters: on pid (inherited by the
                                      children it starts), or with perf_cgroup ... */
    bool perf_cgroup;              /* ... on the whole cgroup (every task already in it;
                                      per-CPU cgroup events, which need CAP_PERFMON) */
    const fp_perf_backend *perf_backend; /* NULL: the real system calls */
    fp_proc_scan *scan;            /* shared /proc snapshot for pid trees, refreshed by
                                      the caller before each round; NULL: the sampler
                                      scans /proc itself at each sample */
} fp_sampler_cfg;

typedef struct fp_sampler fp_sampler;

fp_sampler *fp_sampler_new(const fp_roots *r, const fp_sampler_cfg *cfg, fp_err *err);
/* Take the baseline reading at monotonic time now (seconds). */
void fp_sampler_start(fp_sampler *s, double now);
/* Read again at monotonic time now and fill out (t = now - start). Returns
 * the number of processes the workload has (0 when all are gone). */
int fp_sampler_sample(fp_sampler *s, double now, fp_sample *out);
void fp_sampler_free(fp_sampler *s);

#ifdef __cplusplus
}
#endif

#endif
