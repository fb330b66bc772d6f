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
 * Tiers: CPU usage, memory usage and high-water mark, OOM kills, pids,
 * pressure, the process tree's stat and io files and the counters are read
 * at every sample. The cgroup's slow tier (memory.stat: anon and file
 * bytes; blkio or io.stat: the cgroup's storage I/O) is read every
 * slow_every samples, and at once at a sample where memory usage moved by
 * more than 1 MiB or 1 % since its last reading or where the process
 * tree's storage I/O (read_bytes + write_bytes) moved; in between, its
 * values stand as last read (levels carried forward; a cumulative I/O
 * counter that did not move gives a rate of 0, and what accumulated
 * unseen, e.g. writeback after the tree's write, shows at the next
 * reading, so the I/O integral stays exact). The link of a workload's
 * own network namespace is looked at again every slow_every samples or
 * when the first process changes (a workload in the host's namespace is
 * looked at every sample: it may make its own at any time). /proc/PID/status is read at every sample even when the
 * counters give sw_ctxsw_ps: ctxsw_ps (each process's main thread) is
 * another quantity, and models use it.
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

/* Default of fp_sampler_cfg.slow_every. */
#define FP_SAMPLER_SLOW_EVERY 10

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
    int slow_every;                /* read the cgroup's slow tier (fp_cg_reader_read_tiered)
                                      and the namespace link every this many samples, or
                                      sooner on a change (see below); 0: FP_SAMPLER_SLOW_EVERY */
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
