/* fp/perf.h - hardware and software counters of a workload.
 *
 * Two counter groups are opened with perf_event_open(2):
 *   hardware: instructions, cycles, cache references, cache misses, branch
 *             misses, LLC loads, LLC load misses. Events are encoded by name
 *             through libpfm4 when it is available (else the generic
 *             PERF_TYPE_HARDWARE / HW_CACHE encodings are used);
 *   software: task clock, context switches, page faults, CPU migrations.
 * They are opened in one of two modes:
 *   a process (fp_perf_open): one set of the two groups on the workload's
 *     first process, any CPU (cpu -1), inherit=1, so that process and every
 *     child it starts afterwards count (not processes that already exist);
 *   a cgroup (fp_perf_open_cgroup): one set of the two groups per CPU
 *     0..ncpus-1, each opened with PERF_FLAG_PID_CGROUP (pid = the cgroup
 *     directory's descriptor, cpu = that CPU) and inherit=0, so every task
 *     in the cgroup counts whenever it runs on that CPU, including the
 *     tasks that were there before the counters were opened.
 * Each group is read with one read(2) on its leader (read_format
 * PERF_FORMAT_GROUP | ID | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING; the
 * kernel sums inherited children into group reads), members matched to
 * events by id and all scaled by the group's enabled/running when the
 * kernel multiplexed it. Where the kernel refuses group reads (EINVAL at
 * open), or the backend has none, or a member could only be opened alone,
 * counters are read one by one ({value, enabled, running}) and scaled each
 * by its own times. In cgroup mode each CPU's counts are scaled by that
 * CPU's own times and then summed over the CPUs; an event whose reading on
 * any one CPU is unknown (multiplexed out, a failed read) is missing rather
 * than a partial sum. An event that cannot be opened (no PMU in a VM, perf
 * paranoia, an unknown event, a cgroup without the perf_event controller)
 * is missing with a reason, one at a time; the others still count. In
 * cgroup mode an event is missing with the first CPU's reason when it
 * failed on every CPU, and with "not counted on every CPU" when it opened
 * on some CPUs only.
 *
 * The system calls go through an fp_perf_backend so tests can inject
 * counter values (and failures) and exercise the scaling and the derived
 * metrics without a PMU.
 *
 * Ownership: fp_perf is opaque, created by fp_perf_open or
 * fp_perf_open_cgroup and freed (all descriptors, of every CPU, closed) by
 * fp_perf_free. The backend pointer must outlive it. The cgroup directory's
 * descriptor stays the caller's: the kernel needs it only while opening,
 * and the caller may close it once fp_perf_open_cgroup returns.
 */
#ifndef FP_PERF_H
#define FP_PERF_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/perf_event.h>
#include "fp/error.h"
#include "fp/metric.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FP_EV_INSTRUCTIONS, FP_EV_CYCLES, FP_EV_CACHE_REFS, FP_EV_CACHE_MISSES,
    FP_EV_BRANCH_MISSES, FP_EV_LLC_LOADS, FP_EV_LLC_MISSES,
    FP_EV_TASK_CLOCK, FP_EV_CTXSW, FP_EV_FAULTS, FP_EV_MIGRATIONS,
    FP_EV_COUNT
} fp_perf_event;

#define FP_EV_FIRST_SW FP_EV_TASK_CLOCK

typedef struct fp_perf_backend {
    /* As perf_event_open(2): returns a descriptor or -1 with errno set. */
    int (*open)(void *ctx, struct perf_event_attr *attr, pid_t pid, int cpu,
                int group_fd, unsigned long flags);
    /* Reads {value, time_enabled, time_running} of a counter opened without
     * PERF_FORMAT_GROUP; returns 0 or -1/errno. */
    int (*read)(void *ctx, int fd, uint64_t out[3]);
    int (*close)(void *ctx, int fd);
    void *ctx;
    /* As read(2) of a group leader opened with PERF_FORMAT_GROUP | ID |
     * TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING, into buf of size bytes: the
     * kernel's layout {nr, time_enabled, time_running, {value, id} x nr}.
     * Returns the bytes read or -1/errno. NULL: no group reads, every
     * counter is opened without PERF_FORMAT_GROUP and read with read. Last
     * member, so initializers of the four above still compile. */
    int (*read_group)(void *ctx, int fd, uint64_t *buf, size_t size);
} fp_perf_backend;

/* The backend that makes the real system calls. */
const fp_perf_backend *fp_perf_backend_sys(void);

typedef struct fp_perf fp_perf;

/* Open the counters on pid (inherit=1: children started later count too).
 * Never fails for a missing event: it is recorded as missing. Returns NULL
 * (FP_ESYS) only when memory runs out. be NULL means the real system. */
fp_perf *fp_perf_open(pid_t pid, const fp_perf_backend *be, fp_err *err);

/* Open the counters on every task of a cgroup, one set per CPU 0..ncpus-1
 * (cgroup events are per CPU; pass e.g. sysconf(_SC_NPROCESSORS_ONLN)).
 * cgroup_fd is an open descriptor of the cgroup's directory: in the cgroup
 * v2 hierarchy, or in a v1 hierarchy that has the perf_event controller.
 * Missing events get reasons as fp_perf_open's, and: EACCES/EPERM "cgroup
 * counters need CAP_PERFMON or kernel.perf_event_paranoid <= 0"; a
 * descriptor that is not such a cgroup (EBADF, or EINVAL/ENOENT when not
 * even the software events open on any CPU) "no perf_event controller for
 * this cgroup"; opened on some CPUs only "not counted on every CPU".
 * Returns NULL with FP_EUSAGE when cgroup_fd < 0 or ncpus < 1, FP_ESYS
 * when memory runs out. be NULL means the real system. */
fp_perf *fp_perf_open_cgroup(int cgroup_fd, int ncpus, const fp_perf_backend *be, fp_err *err);

/* Cumulative counts, scaled by enabled/running (in cgroup mode, each CPU's
 * scaled count summed over the CPUs). why[e] is set (and value[e] 0) when
 * event e is not available (or never ran). */
typedef struct fp_perf_counts {
    double value[FP_EV_COUNT];
    const char *why[FP_EV_COUNT];
} fp_perf_counts;

void fp_perf_read(fp_perf *p, fp_perf_counts *out);

/* Fill the sample's counter metrics (rates, IPC, miss rate) from two
 * readings dt seconds apart. A metric whose events are missing gets the
 * reason. */
void fp_perf_rates(const fp_perf_counts *prev, const fp_perf_counts *cur,
                   double dt, fp_sample *s);

/* Encoding used for event e (for tests and --summary): returns 0 and fills
 * attr, or -1 with the reason in *why. Uses libpfm4 when built with it. */
int fp_perf_encode(fp_perf_event e, struct perf_event_attr *attr, const char **why);

const char *fp_perf_event_name(fp_perf_event e);
void fp_perf_free(fp_perf *p);

#ifdef __cplusplus
}
#endif

#endif
