/* proc.c - process-tree counters from <proc>/PID/{stat,status,io}. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
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
} stat_line;

static int read_stat(const fp_roots *r, int pid, stat_line *st)
{
    char path[FP_PATH_MAX], buf[1024];
    if (fp_path(path, sizeof path, "%s/%d/stat", r->proc, pid) < 0) return -1;
    if (fp_read_file(path, buf, sizeof buf) <= 0) return -1;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char state;
    long long cutime, cstime;
    int k = sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %llu %llu %llu %llu %llu %llu %lld %lld %*d %*d %ld %*d %*u %*u %llu",
                   &state, &st->ppid, &st->minflt, &st->cminflt, &st->majflt, &st->cmajflt,
                   &st->utime, &st->stime, &cutime, &cstime, &st->threads, &st->rss_pages);
    if (k != 12) return -1;
    st->cutime = cutime > 0 ? (unsigned long long)cutime : 0;
    st->cstime = cstime > 0 ? (unsigned long long)cstime : 0;
    return 0;
}

int fp_proc_tree(const fp_roots *r, int root, int *pids, int max, fp_err *err)
{
    DIR *d = opendir(r->proc);
    if (!d) return fp_err_sys(err, "cannot read %s", r->proc);
    /* Collect (pid, ppid) pairs, then close over descendants of root. */
    size_t cap = 256, n = 0;
    int (*pp)[2] = malloc(cap * sizeof *pp);
    if (!pp) { closedir(d); return fp_err_set(err, FP_ESYS, "out of memory"); }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        int pid = atoi(e->d_name);
        stat_line st;
        if (read_stat(r, pid, &st) < 0) continue;
        if (n == cap) {
            void *np = realloc(pp, 2 * cap * sizeof *pp);
            if (!np) break;
            pp = np;
            cap *= 2;
        }
        pp[n][0] = pid;
        pp[n][1] = st.ppid;
        n++;
    }
    closedir(d);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (pp[i][0] == root && found < max) pids[found++] = root;
    /* Breadth-first: pids[0..found) grows as children are found. */
    for (int head = 0; head < found; head++)
        for (size_t i = 0; i < n && found < max; i++)
            if (pp[i][1] == pids[head] && pp[i][0] != pids[head]) pids[found++] = pp[i][0];
    free(pp);
    return found;
}

/* Value of "key:" in a /proc status-like buffer, or -1 when absent. */
static long long field(const char *buf, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') return strtoll(p + kl + 1, NULL, 10);
    return -1;
}

void fp_proc_sum(const fp_roots *r, const int *pids, int n, fp_proc_totals *out)
{
    memset(out, 0, sizeof *out);
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char path[FP_PATH_MAX], buf[4096];
    for (int i = 0; i < n; i++) {
        stat_line st;
        if (read_stat(r, pids[i], &st) < 0) continue; /* gone */
        out->procs++;
        out->threads += (int)st.threads;
        out->cpu_user_s += (double)(st.utime + st.cutime) / (double)hz;
        out->cpu_sys_s += (double)(st.stime + st.cstime) / (double)hz;
        out->minflt += st.minflt + st.cminflt;
        out->majflt += st.majflt + st.cmajflt;
        out->rss_bytes += st.rss_pages * (unsigned long long)page;

        if (!out->why_ctx) {
            long long v = -1, nv = -1;
            if (fp_path(path, sizeof path, "%s/%d/status", r->proc, pids[i]) == 0 &&
                fp_read_file(path, buf, sizeof buf) > 0) {
                v = field(buf, "voluntary_ctxt_switches");
                nv = field(buf, "nonvoluntary_ctxt_switches");
            }
            if (v < 0 || nv < 0) out->why_ctx = "no context switch counts in /proc/PID/status";
            else out->ctxsw += (unsigned long long)(v + nv);
        }
        if (!out->why_io) {
            if (fp_path(path, sizeof path, "%s/%d/io", r->proc, pids[i]) < 0 ||
                fp_read_file(path, buf, sizeof buf) <= 0) {
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
