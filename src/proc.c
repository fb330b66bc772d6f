/* proc.c - process-tree counters from <proc>/PID/{stat,status,io}. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/proc.h"

/* Parse <proc>/PID/stat. Fields after the command (which may hold spaces and
 * parentheses, so we start after the last ')') are numbered as in proc(5). */
typedef struct {
    int ppid;
    unsigned long long minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime, rss_pages;
    long threads;
    bool zombie;
} stat_line;

static int parse_stat(const char *buf, stat_line *st)
{
    const char *p = strrchr(buf, ')');
    if (!p) return -1;
    char state;
    long long cutime, cstime;
    int k = sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %llu %llu %llu %llu %llu %llu %lld %lld %*d %*d %ld %*d %*u %*u %llu",
                   &state, &st->ppid, &st->minflt, &st->cminflt, &st->majflt, &st->cmajflt,
                   &st->utime, &st->stime, &cutime, &cstime, &st->threads, &st->rss_pages);
    if (k != 12) return -1;
    st->cutime = cutime > 0 ? (unsigned long long)cutime : 0;
    st->cstime = cstime > 0 ? (unsigned long long)cstime : 0;
    st->zombie = state == 'Z' || state == 'X';
    return 0;
}

static int read_stat(const fp_roots *r, int pid, stat_line *st)
{
    char path[FP_PATH_MAX], buf[1024];
    if (fp_path(path, sizeof path, "%s/%d/stat", r->proc, pid) < 0) return -1;
    if (fp_read_file(path, buf, sizeof buf) <= 0) return -1;
    return parse_stat(buf, st);
}

int fp_proc_ppid(const fp_roots *r, int pid)
{
    char path[FP_PATH_MAX], buf[1024];
    if (fp_path(path, sizeof path, "%s/%d/stat", r->proc, pid) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    long n = fp_read_file(path, buf, sizeof buf);
    if (n < 0) return -1;
    const char *p = n > 0 ? strrchr(buf, ')') : NULL;
    char state;
    int ppid;
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || ppid < 0) {
        errno = EINVAL;
        return -1;
    }
    return ppid;
}

/* A full rescan (every process's stat read again) every FULL_EVERY
 * refreshes; in between only processes not seen before are read. */
#define FULL_EVERY 50

struct fp_proc_scan {
    fp_roots roots;
    long last_pid;     /* newest pid at the last scan (<proc>/loadavg), or -1 */
    int since_full;    /* refreshes since every stat was last read */
    size_t n, cap;
    int (*pp)[2]; /* (pid, ppid), sorted by pid */
};

fp_proc_scan *fp_proc_scan_new(const fp_roots *r)
{
    fp_proc_scan *sc = calloc(1, sizeof *sc);
    if (sc) {
        sc->roots = *r;
        sc->last_pid = -1;
    }
    return sc;
}

void fp_proc_scan_free(fp_proc_scan *sc)
{
    if (!sc) return;
    free(sc->pp);
    free(sc);
}

/* The most recently created pid, the last field of <proc>/loadavg, or -1. */
static long newest_pid(const fp_roots *r)
{
    char path[FP_PATH_MAX], buf[128];
    if (fp_path(path, sizeof path, "%s/loadavg", r->proc) < 0 || fp_read_file(path, buf, sizeof buf) <= 0)
        return -1;
    const char *p = strrchr(buf, ' ');
    return p ? strtol(p + 1, NULL, 10) : -1;
}

static int cmp_pid(const void *a, const void *b)
{
    int x = ((const int *)a)[0], y = ((const int *)b)[0];
    return (x > y) - (x < y);
}

/* Parent of pid in the (sorted) table old[0..n), or -1 when not there. */
static int known_ppid(int (*old)[2], size_t n, int pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (old[mid][0] == pid) return old[mid][1];
        if (old[mid][0] < pid) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int fp_proc_scan_refresh(fp_proc_scan *sc, fp_err *err)
{
    /* No process was created since the last scan: the table still holds
     * every parent link that matters (processes that exited are skipped by
     * the readers), so a system call replaces a read of every process. */
    long newest = newest_pid(&sc->roots);
    if (newest >= 0 && newest == sc->last_pid) return 0;
    sc->last_pid = newest;
    DIR *d = opendir(sc->roots.proc);
    if (!d) return fp_err_sys(err, "cannot read %s", sc->roots.proc);
    /* A process keeps its parent until that parent exits; it is then
     * adopted by init or a subreaper. A process whose old parent is gone
     * (no longer listed) is outside any tree the old links reach, so
     * reusing the links of processes listed before is exact but for the
     * adoption by a subreaper inside a tree (and pid reuse), which the
     * periodic full rescan catches. On a busy host, where processes are
     * created between most refreshes, this reads only the new ones. */
    bool full = sc->since_full >= FULL_EVERY || sc->n == 0;
    sc->since_full = full ? 0 : sc->since_full + 1;
    int (*old)[2] = full ? NULL : sc->pp;
    size_t nold = full ? 0 : sc->n;
    int (*fresh)[2] = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        int pid = atoi(e->d_name);
        int ppid = known_ppid(old, nold, pid);
        if (ppid < 0) {
            stat_line st;
            if (read_stat(&sc->roots, pid, &st) < 0) continue;
            ppid = st.ppid;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            void *np = realloc(fresh, ncap * sizeof *fresh);
            if (!np) break;
            fresh = np;
            cap = ncap;
        }
        fresh[n][0] = pid;
        fresh[n][1] = ppid;
        n++;
    }
    closedir(d);
    qsort(fresh, n, sizeof *fresh, cmp_pid);
    free(sc->pp);
    sc->pp = fresh;
    sc->n = n;
    sc->cap = cap;
    return 0;
}

int fp_proc_scan_tree(const fp_proc_scan *sc, int root, int *pids, int max)
{
    int found = 0;
    for (size_t i = 0; i < sc->n; i++)
        if (sc->pp[i][0] == root && found < max) pids[found++] = root;
    /* Breadth-first: pids[0..found) grows as children are found. */
    for (int head = 0; head < found; head++)
        for (size_t i = 0; i < sc->n && found < max; i++)
            if (sc->pp[i][1] == pids[head] && sc->pp[i][0] != pids[head]) pids[found++] = sc->pp[i][0];
    return found;
}

int fp_proc_tree(const fp_roots *r, int root, int *pids, int max, fp_err *err)
{
    fp_proc_scan *sc = fp_proc_scan_new(r);
    if (!sc) return fp_err_set(err, FP_ESYS, "out of memory");
    int n = fp_proc_scan_refresh(sc, err) < 0 ? -1 : fp_proc_scan_tree(sc, root, pids, max);
    fp_proc_scan_free(sc);
    return n;
}

/* Value of "key:" in a /proc status-like buffer, or -1 when absent. */
static long long field(const char *buf, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') return strtoll(p + kl + 1, NULL, 10);
    return -1;
}

/* Files of one process, kept open between samples by a cache. */
typedef struct entry {
    int pid;
    bool used;
    fp_slot stat, status, io;
} entry;

struct fp_proc_cache {
    fp_roots roots;
    int n, cap;
    entry *e;
};

fp_proc_cache *fp_proc_cache_new(const fp_roots *r)
{
    fp_proc_cache *c = calloc(1, sizeof *c);
    if (c) c->roots = *r;
    return c;
}

static void entry_close(entry *e)
{
    fp_slot_close(&e->stat);
    fp_slot_close(&e->status);
    fp_slot_close(&e->io);
}

void fp_proc_cache_free(fp_proc_cache *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) entry_close(&c->e[i]);
    free(c->e);
    free(c);
}

static entry *lookup(fp_proc_cache *c, int pid)
{
    for (int i = 0; i < c->n; i++)
        if (c->e[i].pid == pid) return &c->e[i];
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        entry *ne = realloc(c->e, (size_t)cap * sizeof *ne);
        if (!ne) return NULL;
        c->e = ne;
        c->cap = cap;
    }
    entry *e = &c->e[c->n++];
    e->pid = pid;
    e->stat = e->status = e->io = (fp_slot)FP_SLOT_INIT;
    return e;
}

static long slot_file(fp_proc_cache *c, fp_slot *sl, int pid, const char *file, char *buf, size_t n)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/%d/%s", c->roots.proc, pid, file) < 0) return -1;
    return fp_slot_read(sl, path, buf, n);
}

void fp_proc_cache_sum(fp_proc_cache *c, const int *pids, int n, fp_proc_totals *out)
{
    memset(out, 0, sizeof *out);
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[4096];
    for (int i = 0; i < c->n; i++) c->e[i].used = false;
    for (int i = 0; i < n; i++) {
        entry *e = lookup(c, pids[i]);
        if (!e) break;
        e->used = true;
        stat_line st;
        if (slot_file(c, &e->stat, pids[i], "stat", buf, sizeof buf) <= 0 || parse_stat(buf, &st) < 0)
            continue; /* gone */
        out->procs++;
        if (!st.zombie) out->live++;
        out->threads += (int)st.threads;
        out->cpu_user_s += (double)(st.utime + st.cutime) / (double)hz;
        out->cpu_sys_s += (double)(st.stime + st.cstime) / (double)hz;
        out->minflt += st.minflt + st.cminflt;
        out->majflt += st.majflt + st.cmajflt;
        out->rss_bytes += st.rss_pages * (unsigned long long)page;

        if (!out->why_ctx) {
            long long v = -1, nv = -1;
            if (slot_file(c, &e->status, pids[i], "status", buf, sizeof buf) > 0) {
                v = field(buf, "voluntary_ctxt_switches");
                nv = field(buf, "nonvoluntary_ctxt_switches");
            }
            if (v < 0 || nv < 0) out->why_ctx = "no context switch counts in /proc/PID/status";
            else out->ctxsw += (unsigned long long)(v + nv);
        }
        if (!out->why_io) {
            if (slot_file(c, &e->io, pids[i], "io", buf, sizeof buf) <= 0) {
                out->why_io = errno == EACCES || errno == EPERM
                                  ? "permission denied reading /proc/PID/io"
                                  : "cannot read /proc/PID/io";
                continue;
            }
            long long rc = field(buf, "rchar"), wc = field(buf, "wchar");
            long long sr = field(buf, "syscr"), sw = field(buf, "syscw");
            long long rb = field(buf, "read_bytes"), wb = field(buf, "write_bytes");
            long long cb = field(buf, "cancelled_write_bytes");
            if (rc < 0 || wc < 0 || sr < 0 || sw < 0 || rb < 0 || wb < 0) {
                out->why_io = "malformed /proc/PID/io";
                continue;
            }
            out->rchar += (unsigned long long)rc;
            out->wchar += (unsigned long long)wc;
            out->syscr += (unsigned long long)sr;
            out->syscw += (unsigned long long)sw;
            out->read_bytes += (unsigned long long)rb;
            out->write_bytes += (unsigned long long)(wb > cb && cb > 0 ? wb - cb : wb);
        }
    }
    /* Forget processes that left the list. */
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->e[i].used) c->e[k++] = c->e[i];
        else entry_close(&c->e[i]);
    }
    c->n = k;
}

void fp_proc_sum(const fp_roots *r, const int *pids, int n, fp_proc_totals *out)
{
    fp_proc_cache *c = fp_proc_cache_new(r);
    if (!c) {
        memset(out, 0, sizeof *out);
        out->why_io = out->why_ctx = "out of memory";
        return;
    }
    fp_proc_cache_sum(c, pids, n, out);
    fp_proc_cache_free(c);
}

int fp_proc_cmdline(const fp_roots *r, int pid, char *buf, size_t n, char **argv, int max)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/%d/cmdline", r->proc, pid) < 0) return -1;
    long len = fp_read_file(path, buf, n);
    if (len < 0) return -1;
    int argc = 0;
    for (long i = 0; i < len && argc < max; i += (long)strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    return argc;
}
