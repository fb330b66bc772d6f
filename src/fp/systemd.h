/* fp/systemd.h - limits on systemd units, through the service manager.
 *
 * On a host whose PID 1 is systemd, the cgroup of a unit (a service, a
 * scope, a slice) belongs to systemd: it writes the unit's cgroup files
 * from the unit's properties and writes them again on a daemon-reload, so
 * a limit written behind its back into such a cgroup does not last, and
 * systemctl shows values the kernel does not have. Limits on a unit that
 * fp does not own therefore go through systemd itself:
 * org.freedesktop.systemd1.Manager.SetUnitProperties over the system bus
 * (sd-bus), with runtime=true (the change lasts until reboot, kept in
 * /run/systemd/system.control, and survives a daemon-reload).
 *
 * fp_limits map to unit properties, all of D-Bus type "t" (uint64), where
 * UINT64_MAX (written "infinity" in plans) means no limit / not set:
 *   mem_high_bytes    MemoryHigh          bytes, rounded down to whole pages
 *   mem_max_bytes     MemoryMax           bytes, rounded down to whole pages
 *   cpu_max_cores     CPUQuotaPerSecUSec  cores x 1000000 (CPU us per second;
 *                                         at least 10000, systemd's 1 %)
 *   cpu_weight_cores  CPUWeight           cores x 100, in 1..10000 (unset:
 *                                         "infinity", i.e. the default 100)
 *   pids_max          TasksMax            a count
 * io_read_Bps, io_write_Bps and net_tx_Bps are not set by this back-end
 * (they are listed as unsupported with the reason).
 *
 * This is the actuator back-end "systemd" of fp/actuator.h (plan, commit,
 * observe; revert through fp_plan_invert): knobs are the property names,
 * values their decimal text or "infinity", the plan's object is the unit
 * name. The unit is the one set with fp_act_systemd_unit, else the last
 * component of the target's cgroup path when it is a unit name
 * ("/system.slice/nginx.service" -> nginx.service). A memory limit below
 * the unit's MemoryCurrent is refused (FP_EINPUT). Each change is one
 * SetUnitProperties call; when one fails the earlier ones are set back in
 * reverse order.
 *
 * Without systemd as PID 1 (no <roots.run>/systemd/system) the back-end
 * cannot be made: FP_ESYS saying so. A build without libsystemd
 * (configure --without-systemd, or no libsystemd-dev) has the pure parts
 * below but no back-end: FP_EUSAGE saying so.
 *
 * Ownership: plain values; the actuator is owned by its creator
 * (fp_act_free). Nothing here keeps global state.
 */
#ifndef FP_SYSTEMD_H
#define FP_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include "fp/actuator.h"
#include "fp/cgroup.h"
#include "fp/error.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Is PID 1 systemd (does <r->run>/systemd/system exist)? */
bool fp_systemd_booted(const fp_roots *r);

/* Was libfp built with sd-bus? */
bool fp_systemd_built(void);

/* A unit name fp accepts: 1..255 characters of [A-Za-z0-9:_.@\-], not
 * starting with '.' or '-', ending in .service, .scope, .slice, .socket,
 * .mount or .swap. */
bool fp_systemd_valid_unit(const char *name);

/* The unit whose cgroup is rel (its last component when that is a valid
 * unit name): 0, or -1 with FP_EINPUT. */
int fp_systemd_unit_of_cgroup(const char *rel, char *unit, size_t n, fp_err *err);

/* The properties of fp_limits, in the order a plan writes them. */
enum { FP_SD_MEMORY_HIGH, FP_SD_MEMORY_MAX, FP_SD_CPU_QUOTA, FP_SD_CPU_WEIGHT, FP_SD_TASKS_MAX,
       FP_SD_NPROPS };
extern const char *const fp_systemd_prop_names[FP_SD_NPROPS];

/* What a unit has now: each property's value (UINT64_MAX: infinity / not
 * set) when known[i], and its MemoryCurrent (UINT64_MAX: unknown). */
typedef struct fp_unit_state {
    unsigned long long value[FP_SD_NPROPS];
    bool known[FP_SD_NPROPS];
    unsigned long long memory_current;
} fp_unit_state;

/* The changes that put want in place on a unit in state now (the pure part
 * of the back-end's plan): appended to plan, whose backend and object the
 * caller sets. A property whose value would not change is left out; a
 * property not known is listed as unsupported. Memory shrinking: MemoryHigh
 * before MemoryMax; growing: MemoryMax first. FP_EINPUT for a memory limit
 * below memory_current; FP_EUSAGE for a limit that is not a finite number. */
int fp_systemd_plan_limits(const fp_unit_state *now, const fp_limits *want, fp_plan *plan,
                           fp_err *err);

/* "infinity" or the decimal value, and back (0, or -1 for other text). */
void fp_systemd_format(unsigned long long v, char *buf, size_t n);
int fp_systemd_parse(const char *s, unsigned long long *v);

/* The back-end (see above). */
fp_actuator *fp_act_systemd_new(const fp_roots *roots, fp_err *err);
/* Limit this unit whatever the target says (fp-apply --unit NAME).
 * FP_EINPUT for a name fp_systemd_valid_unit refuses, FP_EUSAGE when a is
 * not a systemd back-end. */
int fp_act_systemd_unit(fp_actuator *a, const char *unit, fp_err *err);

/* What the service manager says about a unit fp follows (fp-run --unit):
 * its ActiveState ("active", "reloading", "activating", "deactivating",
 * "inactive", "failed", ...), its cgroup (ControlGroup, relative to the
 * hierarchy root; "" when it has none), its main process (MainPID, 0 when
 * none or not a service) and, for a service whose main process has exited,
 * how it exited (ExecMainCode: exited or killed; ExecMainStatus). */
typedef struct fp_unit_info {
    char active[32];
    char cgroup[FP_PATH_MAX];
    int main_pid;
    fp_exit exit;              /* known only once the main process ended */
} fp_unit_info;

/* Read info about the unit a (a systemd back-end) was fixed to with
 * fp_act_systemd_unit. 0, or -1 with err: FP_EINPUT when the unit is not
 * loaded (or a is not fixed to a unit), FP_ESYS when the bus fails. */
int fp_systemd_unit_info(fp_actuator *a, fp_unit_info *out, fp_err *err);

/* ---- the systemd cgroup driver: a delegated scope of fp's own ------------
 *
 * fp_systemd_delegate asks the service manager for a transient scope unit
 * "<prefix>-<pid>.scope" (pid: the caller's) holding the calling process,
 * with Delegate=yes (the subtree below the scope's cgroup is the caller's
 * to manage), CollectMode=inactive-or-failed and a Description: one
 * org.freedesktop.systemd1.Manager.StartTransientUnit call, mode "fail",
 * DelegateControllers cpu io memory pids, over the system bus when the
 * caller is root (Slice: FP_SD_SLICE, "fp.slice", a slice of fp's own
 * below the root: systemd switches on the delegated controllers along the
 * path to the scope, for every cgroup below each slice on it, so a scope
 * in the caller's slice would change the files of the caller's own cgroup;
 * in fp.slice the login session's or service's cgroup is left as it was),
 * else over the caller's user bus (the user manager's default slice). It then waits (at most timeout_s seconds) for the job's
 * JobRemoved signal and requires its result "done"; systemd has then moved
 * the process into the scope's cgroup, which is checked in
 * <roots.proc>/self/cgroup.
 *
 * Then, in cgroupfs (fp_cgroup_enter_leaf), the caller moves itself into
 * the leaf "<scope>/supervisor" and enables the controllers memory, io,
 * cpu and pids the scope offers in its cgroup.subtree_control, one write
 * per controller, each checked. The scope's cgroup is then an empty domain
 * with its controllers on: the place for workload cgroups (fp_cgroup_create
 * with parent_rel = out->rel). Nothing is written outside the scope.
 *
 * The scope goes away by itself: when its last process exits systemd stops
 * it and removes its cgroup with everything below it. (Processes the
 * workload leaves behind keep it alive until they end.)
 *
 * Needs cgroup v2 (FP_EUSAGE otherwise), systemd as PID 1 (FP_ESYS), sd-bus
 * (FP_EUSAGE in a build without it). Errors: FP_ESYS for a bus that cannot
 * be reached, a refused call (the bus error's text is in the message), a
 * job whose result is not "done", no JobRemoved in time, a process not in
 * the scope afterwards, or a failed cgroupfs step. When the scope was made
 * but a later step failed, the scope holds the caller and goes away with
 * it; out->unit is set even then.
 *
 * Ownership: out is the caller's plain value; the bus connection is opened
 * and closed inside. */
#define FP_SD_SLICE "fp.slice"

typedef struct fp_sd_scope {
    char unit[256];            /* "<prefix>-<pid>.scope" */
    char slice[256];           /* the Slice asked for, "" none (the manager's default) */
    char rel[FP_PATH_MAX];     /* the scope's cgroup, e.g. /fp.slice/fp-run-812.scope */
    char leaf[FP_PATH_MAX];    /* the caller's leaf: rel + "/supervisor" */
} fp_sd_scope;

int fp_systemd_delegate(const fp_roots *r, const fp_cg_layout *l, const char *prefix,
                        double timeout_s, fp_sd_scope *out, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
