/* fp/perf.h - hardware and software counters of a workload.
 *
 * Two counter groups are opened with perf_event_open(2) on the workload's
 * first process, inherited by every child it starts afterwards:
 *   hardware: instructions, cycles, cache references, cache misses, branch
 *             misses, LLC loads, LLC load misses. Events are encoded by name
 *             through libpfm4 when it is available (else the generic
 *             PERF_TYPE_HARDWARE / HW_CACHE encodings are used);
 *   software: task clock, context switches, page faults, CPU migrations.
 * Each group is read with one read(2) on its leader (read_format
 * PERF_FORMAT_GROUP | ID | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING; the
 * kernel sums inherited children into group reads), members matched to
 * events by id and all scaled by the group's enabled/running when the
 * kernel multiplexed it. Where the kernel refuses group reads (EINVAL at
 * open), or the backend has none, or a member could only be opened alone,
 * counters are read one by one ({value, enabled, running}) and scaled each
 * by its own times. An event that cannot be opened (no PMU in a VM, perf
 * paranoia, an unknown event) is missing with a reason, one at a time; the
 * others still count.
 *
 * The system calls go through an fp_perf_backend so tests can inject
 * counter values (and failures) and exercise the scaling and the derived
 * metrics without a PMU.
 *
 * Ownership: fp_perf is opaque, created by fp_perf_open and freed (all
 * descriptors closed) by fp_perf_free. The backend pointer must outlive it.
 */
#ifndef FP_PERF_H
#define FP_PERF_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/perf_event.h>
#include "fp/error.h"
#include "fp/metric.h"

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

/* Cumulative counts, scaled by enabled/running. ok[e] is 0 and why[e] set
 * when event e is not available (or never ran). */
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

#endif
