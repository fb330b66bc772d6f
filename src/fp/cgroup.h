/* fp/cgroup.h - cgroup v1, v2 and hybrid hierarchies.
 *
 * The layout comes from <proc>/self/mountinfo: each cgroup v1 mount with the
 * controllers it carries, and the cgroup2 mount. Mount points under
 * /sys/fs/cgroup are rebased onto fp_roots.cgroup, so a fixture tree can
 * stand in for the real one. Versions:
 *   v1      controllers on v1 mounts (this machine's case),
 *   v2      one unified hierarchy with controllers,
 *   hybrid  v1 controllers plus a cgroup2 mount without controllers, which
 *           still gives per-cgroup pressure (PSI).
 * A workload cgroup has one directory per controller (empty when that
 * controller is not available); readings degrade one field at a time.
 *
 * Ownership: fp_cg_layout and fp_cgroup are plain values (large: keep them
 * on the heap or in a struct). Nothing to free.
 */
#ifndef FP_CGROUP_H
#define FP_CGROUP_H

#include <stdbool.h>
#include "fp/error.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FP_CG_NONE = 0, FP_CG_V1 = 1, FP_CG_V2 = 2, FP_CG_HYBRID = 3 } fp_cg_version;

typedef enum {
    FP_CTL_CPU, FP_CTL_CPUACCT, FP_CTL_MEMORY, FP_CTL_BLKIO, FP_CTL_PIDS,
    FP_CTL_PERF_EVENT, /* v1 perf_event (else perf cgroup events use the cgroup2 hierarchy) */
    FP_CTL_UNIFIED, /* the cgroup2 hierarchy (v2 controllers, or PSI only in hybrid) */
    FP_CTL_COUNT
} fp_cg_ctl;

typedef struct fp_cg_layout {
    fp_cg_version version;
    char mnt[FP_CTL_COUNT][FP_PATH_MAX];  /* rebased mount point, "" if absent */
    char root[FP_CTL_COUNT][512];         /* hierarchy path mounted there */
} fp_cg_layout;

typedef struct fp_cgroup {
    fp_cg_version version;
    char rel[FP_PATH_MAX];                /* path shown in records */
    char dir[FP_CTL_COUNT][FP_PATH_MAX];  /* "" when not available */
    bool created;                         /* made by fp_cgroup_create */
    char parent_dir[FP_CTL_COUNT][FP_PATH_MAX]; /* where leftovers go on removal */
} fp_cgroup;

/* Cumulative counters of a cgroup; why[field] is NULL when it was read. */
typedef enum {
    FP_CGF_CPU, FP_CGF_CPU_USER, FP_CGF_THROTTLED, FP_CGF_MEM, FP_CGF_MEM_PEAK,
    FP_CGF_ANON, FP_CGF_FILE, FP_CGF_OOM, FP_CGF_IO, FP_CGF_PIDS,
    FP_CGF_PSI_CPU, FP_CGF_PSI_MEM, FP_CGF_PSI_IO, FP_CGF_COUNT
} fp_cg_field;

typedef struct fp_cg_totals {
    double cpu_s, cpu_user_s, cpu_sys_s, throttled_s;
    double mem_bytes, mem_peak_bytes, anon_bytes, file_bytes, oom_kills;
    double io_rbytes, io_wbytes, io_rios, io_wios, pids;
    /* PSI stall totals in seconds */
    double psi_cpu_some_s, psi_mem_some_s, psi_mem_full_s, psi_io_some_s, psi_io_full_s;
    const char *why[FP_CGF_COUNT];
} fp_cg_totals;

/* Find the hierarchies. FP_ESYS when mountinfo cannot be read; a system
 * without cgroups gives version FP_CG_NONE and returns 0. */
int fp_cg_layout_read(const fp_roots *r, fp_cg_layout *l, fp_err *err);

/* The cgroup of pid, per controller, from <proc>/PID/cgroup. */
int fp_cgroup_of_pid(const fp_roots *r, const fp_cg_layout *l, int pid, fp_cgroup *cg, fp_err *err);

/* An existing cgroup by its path (relative to each hierarchy's root, e.g.
 * "/docker/ID"). Path traversal ("..") is refused (FP_EINPUT); FP_EINPUT
 * also when no controller has such a directory. */
int fp_cgroup_open(const fp_cg_layout *l, const char *rel, fp_cgroup *cg, fp_err *err);

/* Create cgroup NAME under parent_rel (NULL: under the calling process's own
 * cgroup, per controller) in every available controller.
 *
 * v1 and hybrid: a directory per controller; fails (FP_ESYS) only if no
 * controller could be created.
 *
 * v2 obeys the no-internal-process rule: a cgroup other than the root can
 * give controllers to its children only while it holds no processes. So
 * the parent must be a domain cgroup (cgroup.type "domain", or the root)
 * and, unless it is the root, its cgroup.procs must be empty: else
 * FP_EINPUT, nothing written, and the message names the parent, the first
 * process found in it and the remedies (an empty delegated cgroup as
 * parent, a scope of its own with Delegate=yes, the systemd driver). Then
 * those of memory, io, cpu and pids that the parent's cgroup.controllers
 * offers and its cgroup.subtree_control lacks are enabled in one write
 * (domain controllers first; the kernel applies all or none, so a
 * threaded controller is never enabled alone); a refused write is FP_ESYS
 * naming the controllers, the file and the kernel's reason, and nothing is
 * created. A controller the parent does not offer is left out (its
 * readings and limits degrade with a reason). The directory is then made;
 * failing that is FP_ESYS naming it. */
int fp_cgroup_create(const fp_roots *r, const fp_cg_layout *l, const char *parent_rel,
                     const char *name, fp_cgroup *cg, fp_err *err);

/* Remove the cgroups that processes now gone left behind in a parent (a
 * kill -9 gives a tool no chance to remove its workload's cgroup): in
 * every controller directory of the parent (parent_rel; NULL: the
 * calling process's own cgroup, as fp_cgroup_create), each child named
 * PREFIX-N (N decimal digits: the pid of the tool that made it) whose
 * process N is gone (no <proc>/N), which is not the caller's own name,
 * and which holds no process (an empty cgroup.procs) and no child cgroup
 * (rmdir refuses those) is removed. The number of such cgroups removed
 * (each counted once across controllers), with the path of the first in
 * first (relative to the hierarchy, "" when none); -1 with err when the
 * parent cannot be opened. Nothing else is touched. */
int fp_cgroup_sweep(const fp_roots *r, const fp_cg_layout *l, const char *parent_rel,
                    const char *prefix, char *first, size_t nfirst, fp_err *err);

/* Move pid into the cgroup (every controller). */
int fp_cgroup_attach(const fp_cgroup *cg, int pid, fp_err *err);

/* Pids in the cgroup (first available controller's cgroup.procs; when that
 * is empty, those of its descendant cgroups); returns how many were
 * written, or -1. */
int fp_cgroup_pids(const fp_cgroup *cg, int *pids, int max, fp_err *err);

/* Does controller ctl's cgroup of cg, with its descendant cgroups, hold
 * nothing but pid and its descendants (by the parent links of
 * <proc>/PID/stat)? 1 yes; 0 no, with *other (when not NULL) the first
 * other process found; -1 with err (FP_ESYS) when a cgroup.procs cannot be
 * read or ctl has no directory in cg. A process that exits while it is
 * looked at counts as gone; one whose ancestry cannot be followed to pid
 * counts as another. */
int fp_cgroup_sole_tree(const fp_roots *r, const fp_cgroup *cg, int ctl, int pid, int *other,
                        fp_err *err);

/* v2: make the cgroup rel, which holds the calling process (and, for
 * this to be safe, nothing else: a scope delegated to the caller), a
 * place for workload cgroups: create its child leaf (one path component;
 * an existing one is used), move the calling process (all its threads)
 * into it, then enable in rel's cgroup.subtree_control each of memory, io,
 * cpu and pids that rel's cgroup.controllers offers and that is not on
 * yet, one write per controller, each checked. Afterwards rel holds no
 * processes and its children can have those controllers. FP_EUSAGE when
 * the hierarchy is not v2 or names are bad; FP_ESYS naming the file and
 * the kernel's reason for a failed mkdir or write (the process stays in
 * the leaf once moved). */
int fp_cgroup_enter_leaf(const fp_cg_layout *l, const char *rel, const char *leaf, fp_err *err);

/* v2: was the cgroup rel delegated by systemd (extended attribute
 * trusted.delegate or user.delegate "1" on its directory, systemd >= 251)? */
bool fp_cgroup_delegated(const fp_cg_layout *l, const char *rel);

/* Move any processes still inside a created cgroup to its parent and
 * remove its directories. */
int fp_cgroup_remove(fp_cgroup *cg, fp_err *err);

/* Read every counter; fields that cannot be read get a reason. */
void fp_cgroup_read(const fp_cgroup *cg, fp_cg_totals *t);

/* The same, for reading one cgroup again and again: the reader keeps the
 * counter files open and re-reads them with pread. Ownership: opaque,
 * fp_cg_reader_new copies the cgroup; fp_cg_reader_free closes the files. */
typedef struct fp_cg_reader fp_cg_reader;
fp_cg_reader *fp_cg_reader_new(const fp_cgroup *cg);
void fp_cg_reader_read(fp_cg_reader *rd, fp_cg_totals *t);
/* Tiered reading: the counters that drive decisions (CPU usage and
 * throttling, memory usage and high-water mark, OOM kills, pids, pressure)
 * are read every time; the slow tier (memory.stat's anon and file,
 * blkio / io.stat) only when slow is true or on the reader's first
 * reading, and otherwise copied, reasons included, from the last reading
 * that had it (the kernel's memory.stat and blkio files are the costliest
 * to read). fp_cg_reader_read is this with slow true. */
void fp_cg_reader_read_tiered(fp_cg_reader *rd, fp_cg_totals *t, bool slow);
/* Read the slow tier now (after a reading with slow false, when the caller
 * sees a change that calls for it) and overwrite its fields in t. */
void fp_cg_reader_read_slow(fp_cg_reader *rd, fp_cg_totals *t);
/* As fp_cgroup_pids; returns -1 when no cgroup.procs can be read. */
int fp_cg_reader_pids(fp_cg_reader *rd, int *pids, int max);
void fp_cg_reader_free(fp_cg_reader *rd);

#ifdef __cplusplus
}
#endif

#endif
