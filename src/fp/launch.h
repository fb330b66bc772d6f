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
 * Where the cgroup goes: the cgroup driver (cfg->driver).
 *   cgroupfs  under cfg->cgroup_parent, else under the caller's own cgroup
 *             (fp/cgroup.h, fp_cgroup_create). On cgroup v2, when the
 *             caller's own cgroup was delegated to it (fp_cgroup_delegated)
 *             and holds no process but the caller, the caller first moves
 *             itself into its leaf "supervisor" (fp_cgroup_enter_leaf) and
 *             the workload's cgroup is made next to it.
 *   systemd   a transient scope of the caller's own with Delegate=yes
 *             (fp/systemd.h, fp_systemd_delegate, unit
 *             "<scope_prefix>-<pid>.scope"); the caller moves into
 *             <scope>/supervisor, the workload's cgroup is <scope>/NAME.
 *             Needs systemd as PID 1, cgroup v2 and no cgroup_parent
 *             (FP_EUSAGE). Failing, the launch fails (the cgroup is
 *             required).
 *   auto      systemd on a pure cgroup v2 host whose PID 1 is systemd, when
 *             no cgroup_parent is given and the caller's own cgroup is not
 *             one delegated to it holding only the caller; cgroupfs
 *             otherwise (every v1 or hybrid host). A failed systemd step is
 *             then the cgroup's failure (cgroup_err), required or not as
 *             with cgroupfs.
 * Once the caller is in a supervisor leaf (a second launch in the same
 * process), the same place is used again. Leftover processes of a
 * workload's cgroup in a delegated place move to the supervisor leaf on
 * cleanup (the place itself may hold none).
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

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FP_CGD_AUTO = 0, FP_CGD_CGROUPFS, FP_CGD_SYSTEMD } fp_cg_driver;

/* "auto", "cgroupfs", "systemd" and back (0, or -1 for other text). */
const char *fp_cg_driver_name(fp_cg_driver d);
int fp_cg_driver_parse(const char *s, fp_cg_driver *d);

typedef struct fp_launch_cfg {
    char *const *argv;          /* the command; argv[0] is looked up in PATH */
    const char *cgroup_parent;  /* NULL: under the caller's own cgroup */
    const char *cgroup_name;    /* name of the new cgroup (one path component) */
    const void *child_mask;     /* a const sigset_t *: the signal mask the command
                                   starts with (NULL: the caller's); void so that
                                   this header needs no POSIX feature macro */
    bool require_cgroup;        /* no cgroup of its own fails the launch */
    fp_cg_driver driver;        /* see above; 0 is auto */
    const char *scope_prefix;   /* systemd driver: unit name prefix (NULL: "fp") */
    const char *sweep_prefix;   /* before the cgroup is made, remove the empty
                                   cgroups named PREFIX-PID of processes gone
                                   from its parent (fp_cgroup_sweep); NULL: no */
    int stdout_fd;              /* the command's standard output: 0 (the default)
                                   inherits the caller's; a descriptor > 0 (such as
                                   2, the caller's standard error, or an open file)
                                   becomes the command's fd 1. The caller keeps it. */
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
    fp_cg_driver driver;        /* the driver used (cgroupfs or systemd; auto when no cgroup was tried) */
    char scope_unit[256];       /* systemd driver: the scope's unit name, else "" */
    char place[FP_PATH_MAX];    /* the parent of the workload's cgroup when fp chose a
                                   delegated place (scope or own cgroup), else "" */
    int swept;                  /* cgroups of processes gone removed (sweep_prefix) */
    char swept_first[FP_PATH_MAX];  /* the first of them, for a note */
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

#ifdef __cplusplus
}
#endif

#endif
