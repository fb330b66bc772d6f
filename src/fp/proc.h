/* fp/proc.h - the workload's process tree, from <proc root>.
 *
 * A workload is a set of processes: the descendants of a root pid, or the
 * members of a cgroup. fp_proc_sum adds up their counters. CPU time and page
 * faults include children that were already reaped (cutime/cstime,
 * cminflt/cmajflt of the live members), and /proc/PID/io includes reaped
 * children too, so the totals are continuous while processes come and go.
 * Context switches are those of each process's main thread. read_bytes and
 * write_bytes are what the tasks made the storage layer fetch or dirty
 * (write_bytes less cancelled_write_bytes), direct I/O included.
 *
 * Ownership: plain values; the caller owns the pid arrays.
 */
#ifndef FP_PROC_H
#define FP_PROC_H

#include "fp/error.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_proc_totals {
    double cpu_user_s, cpu_sys_s;
    unsigned long long rss_bytes, minflt, majflt, ctxsw;
    unsigned long long rchar, wchar, syscr, syscw;
    unsigned long long read_bytes, write_bytes; /* storage layer (write minus cancelled) */
    int threads, procs;
    int live;             /* processes that have not exited (not zombies) */
    const char *why_io;   /* why rchar..syscw are unknown, or NULL */
    const char *why_ctx;  /* why ctxsw is unknown, or NULL */
} fp_proc_totals;

/* The pids of root and all its descendants, found by scanning <proc>/[0-9]*
 * for parent links. Writes at most max pids; returns how many (0 when root
 * is gone), or -1 (FP_ESYS) when <proc> cannot be read. */
int fp_proc_tree(const fp_roots *r, int root, int *pids, int max, fp_err *err);

/* Sum the counters of the n processes in pids. Processes that vanished
 * between listing and reading are skipped. Never fails: fields that cannot
 * be read are reported through the why_* members. */
void fp_proc_sum(const fp_roots *r, const int *pids, int n, fp_proc_totals *out);

/* A snapshot of every process's parent, shared by many trees: refresh it
 * once per sampling round, then ask for each root's descendants. A refresh
 * rescans <proc> only when a process was created since the last one (the
 * newest pid in <proc>/loadavg changed), and then reads the stat of only
 * the processes it has not seen before (a parent link does not change
 * until the parent exits); every 50th rescan reads every process's stat
 * again (adoption by a subreaper, pid reuse).
 * Ownership: opaque; fp_proc_scan_new copies the roots. */
typedef struct fp_proc_scan fp_proc_scan;
fp_proc_scan *fp_proc_scan_new(const fp_roots *r);
int fp_proc_scan_refresh(fp_proc_scan *sc, fp_err *err);
int fp_proc_scan_tree(const fp_proc_scan *sc, int root, int *pids, int max);
void fp_proc_scan_free(fp_proc_scan *sc);

/* fp_proc_sum for repeated sampling: each process's files stay open between
 * calls (re-read with pread); processes that left the list are forgotten.
 * Ownership: opaque; fp_proc_cache_free closes the files. */
typedef struct fp_proc_cache fp_proc_cache;
fp_proc_cache *fp_proc_cache_new(const fp_roots *r);
void fp_proc_cache_sum(fp_proc_cache *c, const int *pids, int n, fp_proc_totals *out);
void fp_proc_cache_free(fp_proc_cache *c);

/* The parent of pid from <proc>/PID/stat: its pid (0 for the root of a
 * pid namespace), or -1 with errno when pid is gone or its stat cannot be
 * parsed (EINVAL). */
int fp_proc_ppid(const fp_roots *r, int pid);

/* The command line of pid as a JSON-ready argv (NUL-separated in /proc).
 * Fills argv (pointers into buf) and returns argc, or -1 with errno. */
int fp_proc_cmdline(const fp_roots *r, int pid, char *buf, size_t n, char **argv, int max);

#ifdef __cplusplus
}
#endif

#endif
