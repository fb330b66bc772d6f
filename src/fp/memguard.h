/* fp/memguard.h - hear at once when a workload presses against its memory
 * limits.
 *
 * Sampling every half second is too slow for a program that touches a GiB
 * in a fraction of one: the kernel kills it before the next look. The guard
 * asks the kernel to say so itself, through the notification interfaces
 * each cgroup version documents:
 *   v1  an eventfd on memory.oom_control (the cgroup reached its hard limit
 *       and reclaim failed) and an eventfd on a memory.usage_in_bytes
 *       threshold (usage crossed `warn` bytes; the caller arms it at the
 *       soft limit and again after every change), both registered through
 *       cgroup.event_control. With `pause`, memory.oom_control's
 *       oom_kill_disable is set: a task of the cgroup at its hard limit then
 *       waits in the kernel instead of being killed, until the limit is
 *       raised (the kernel wakes it) or memory is freed. This is the
 *       userspace OOM handling of the kernel's cgroup-v1 memory document;
 *       its price is that a workload at its limit waits for whoever holds
 *       the guard: fp_memguard_free clears oom_kill_disable again, so a
 *       guard that goes away (the tool exits) leaves the kernel's default.
 *       The pause covers the workload's own page faults; memory the kernel
 *       charges inside a system call (read(2) into a fresh buffer) fails
 *       with EFAULT or ENOMEM at the limit instead of waiting. So the
 *       usage threshold, answered before the hard limit is reached, is the
 *       first line, and the pause the second;
 *   v2  memory.events, which the kernel marks changed (POLLPRI) at every
 *       high, max, oom and oom_kill event, and a PSI trigger on the
 *       cgroup's memory.pressure ("some" stall of stall_s within
 *       window_s). memory.high itself throttles a workload above it (the
 *       kernel reclaims and slows its allocations instead of killing), so
 *       the soft limit is the signal and the hard limit a backstop.
 * Each notification the kernel cannot give degrades alone: the guard opens
 * what it can and says in `why` what it could not (permissions, a kernel
 * without the file); with none at all, fp_memguard_open fails.
 *
 * The caller polls the guard's descriptors (fp_memguard_fds) beside its own
 * and, when one is readable, calls fp_memguard_read, which drains them and
 * says what happened since the last read. Nothing here decides limits: the
 * policy does (fp_policy_press in fp/policy.h).
 *
 * Ownership: fp_memguard is opaque, created by fp_memguard_open (which
 * copies what it needs of the cgroup) and released by fp_memguard_free,
 * which closes its descriptors. fp_memguard_event is a plain value.
 */
#ifndef FP_MEMGUARD_H
#define FP_MEMGUARD_H

#include <stdbool.h>
#include "fp/cgroup.h"
#include "fp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_memguard_cfg {
    bool pause;            /* v1: set oom_kill_disable while the guard is held */
    double psi_stall_s;    /* v2 PSI trigger: this much "some" stall ... */
    double psi_window_s;   /* ... within this window (the kernel wants 0.5-10 s) */
} fp_memguard_cfg;

typedef struct fp_memguard fp_memguard;

/* What the kernel said since the last read. */
typedef struct fp_memguard_event {
    bool any;              /* one of the below */
    bool threshold;        /* v1: usage crossed the armed threshold */
    bool oom;              /* v1: the cgroup is at its hard limit (an OOM);
                              v2: memory.events max/oom grew */
    bool high;             /* v2: memory.events high grew (throttled above
                              memory.high) */
    bool pressure;         /* v2: the PSI trigger fired */
    bool paused;           /* v1 with pause: tasks wait at the limit now
                              (under_oom 1) */
} fp_memguard_event;

/* Open the guard on cg's memory cgroup (v1: the memory controller's
 * directory; v2: the unified one). FP_ESYS when not one notification could
 * be set up (the message says why for each); *why (may be NULL) gets a
 * static note on what was left out, or NULL when everything is in place. */
fp_memguard *fp_memguard_open(const fp_cgroup *cg, const fp_memguard_cfg *cfg, const char **why,
                              fp_err *err);

/* v1: (re)arm the usage threshold at warn_bytes (the previous threshold is
 * dropped); a warn of 0 or less drops it. v2: nothing to arm (memory.high
 * raises its own events); returns 0. */
int fp_memguard_arm(fp_memguard *g, double warn_bytes, fp_err *err);

/* The descriptors to poll and the events to poll them for; returns how many
 * (at most max). */
int fp_memguard_fds(const fp_memguard *g, int *fds, short *events, int max);

/* Tell the guard what the caller's poll reported for one of its
 * descriptors (revents), before fp_memguard_read. Needed for the PSI
 * trigger: the kernel consumes a trigger's event in the poll that reports
 * it, so a second poll inside fp_memguard_read would not see it again. */
void fp_memguard_polled(fp_memguard *g, int fd, short revents);

/* Drain what is pending (never blocks) into ev, with what
 * fp_memguard_polled was told since the last read; returns 1 when
 * something happened, 0 when nothing did. */
int fp_memguard_read(fp_memguard *g, fp_memguard_event *ev);

/* Does the guard pause (v1 oom_kill_disable in effect)? */
/* Whether the guard can hold the workload at limits below what it will
 * use without harming it, so that a caller may start a workload's memory
 * from its own usage (the policy's novel_anchor): v1 with the pause in
 * place and the usage threshold open (a task at the hard limit waits only
 * until the caller raises it; the kernel's dirty page cache is throttled
 * machine-wide on v1, not per cgroup). Not v2: there memory.high and
 * memory.max also size the cgroup's own dirty page-cache window, so a low
 * limit slows a writer through the page cache without it ever pressing on
 * the limit (a 512 MiB dd ran 7x slower in the test VM, no event came). */
bool fp_memguard_holds(const fp_memguard *g);
bool fp_memguard_pausing(const fp_memguard *g);

/* Close the descriptors; clear oom_kill_disable if the guard set it. */
void fp_memguard_free(fp_memguard *g);

#ifdef __cplusplus
}
#endif

#endif
