/* fp/launch.h - start a command as a measured workload.
 *
 * The command is forked stopped behind a pipe, moved into a fresh cgroup of
 * its own, and only then allowed to exec, so the cgroup and any counters
 * the caller opens in between (they are inherited) see its very first
 * instruction. Without a cgroup (none mounted, no permission, a cgroup v2
 * parent that holds processes, a move the kernel refused) the launch still
 * happens: why_no_cgroup says why in a few words and cgroup_err holds the
 * error in full. With an explicit parent, or require_cgroup, the cgroup is
 * required: its failure (creating it or moving the child into it) fails
 * the launch with that error, and the child never runs.
 *
 *   fp_launch_prepare   cgroup, fork, attach; the child waits
 *   (caller: open counters, take a baseline reading)
 *   fp_launch_release   let it exec; reports a command that cannot run
 *   fp_launch_exited    has it exited? (without reaping it, so its counters
 *                       can still be read one last time)
 *   fp_launch_reap      collect the exit status
 *   fp_launch_cleanup   move leftover processes out, remove the cgroup
 *
 * Ownership: fp_launch is a value owned by the caller; it owns the heap
 * cgroup it points to, which fp_launch_cleanup releases (also after a failed
 * release or an abort).
 */
#ifndef FP_LAUNCH_H
#define FP_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include "fp/cgroup.h"
#include "fp/error.h"
#include "fp/record.h"
#include "fp/roots.h"

typedef struct fp_launch_cfg {
    char *const *argv;          /* the command; argv[0] is looked up in PATH */
    const char *cgroup_parent;  /* NULL: under the caller's own cgroup */
    const char *cgroup_name;    /* name of the new cgroup (one path component) */
    const sigset_t *child_mask; /* signal mask the command starts with (NULL: the caller's) */
    bool require_cgroup;        /* no cgroup of its own fails the launch */
} fp_launch_cfg;

typedef struct fp_launch {
    pid_t pid;
    fp_cgroup *cg;              /* NULL when the workload has no cgroup of its own */
    const char *why_no_cgroup;  /* static reason when cg is NULL */
    fp_err cgroup_err;          /* when cg is NULL: the error in full (cls
                                   FP_OK when no cgroup was tried) */
    int go_fd, fail_fd;         /* the pipes to the waiting child (-1 when released) */
    char cmd[256];              /* argv[0], for messages */
    bool reaped;
} fp_launch;

int fp_launch_prepare(const fp_roots *r, const fp_cg_layout *l, const fp_launch_cfg *cfg,
                      fp_launch *out, fp_err *err);
/* Returns 0 once the command runs, or -1: err says "cannot run CMD: why"
 * (FP_ESYS) and *exec_status is 127 (not found) or 126 (not runnable); the
 * child is then reaped. */
int fp_launch_release(fp_launch *w, int *exec_status, fp_err *err);
/* Kill and reap a prepared child without letting it run. */
void fp_launch_abort(fp_launch *w);
/* 1 when the command has exited (not yet reaped), 0 while it runs. */
int fp_launch_exited(const fp_launch *w);
/* Wait for the command and fill ex. */
void fp_launch_reap(fp_launch *w, fp_exit *ex);
/* Remove the workload's cgroup; leftover processes move to its parent.
 * Returns -1 with err when a directory could not be removed. */
int fp_launch_cleanup(fp_launch *w, fp_err *err);

#endif
