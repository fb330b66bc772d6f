/* sampler.c - combine the samplers into rates and levels. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include "fp/net.h"
#include "fp/proc.h"
#include "fp/sampler.h"

#define MAX_PIDS 4096
#define LIST_EVERY 10

typedef struct reading {
    double now;
    int procs;
    fp_proc_totals pt;
    fp_cg_totals cg;
    bool net_ok, own_ns;
    const char *why_net;
    unsigned long long rx, tx, rxp, txp;
    fp_perf_counts perf;
    fp_sample ifs; /* only n_if / ifs used */
} reading;

struct fp_sampler {
    fp_roots roots;
    fp_cgroup cg;
    fp_cg_reader *cgr;
    fp_proc_cache *pc;
    fp_proc_scan *scan, *own_scan;
    char self_ns[64], net_ns[64];
    int net_pid;
    fp_slot net_dev;
    char netbuf[16384];
    bool has_cg, tree_from_cg;
    const char *why_no_perf;   /* when counters were asked for but could not be opened */
    int nlisted, since_list;   /* the last cgroup process list: s->pids[0..nlisted) */
    double listed_tasks;       /* pids.current when it was taken (-1: unknown) */
    const char *why_no_cg;
    int pid;
    int slow_every, since_slow;       /* slow tier: every slow_every samples ... */
    double slow_mem;                  /* ... or when memory usage moved from this */
    unsigned long long slow_tree_io;  /* ... or the tree's storage I/O from this */
    int ns_every, since_ns, ns_pid;   /* namespace link: every ns_every samples or a new pid */
    fp_perf *perf;
    double start;
    reading prev, cur;
    int pids[MAX_PIDS];
};

fp_sampler *fp_sampler_new(const fp_roots *r, const fp_sampler_cfg *cfg, fp_err *err)
{
    fp_sampler *s = calloc(1, sizeof *s);
    if (!s) { fp_err_set(err, FP_ESYS, "out of memory"); return NULL; }
    s->roots = *r;
    if (cfg->cg) { s->cg = *cfg->cg; s->has_cg = true; }
    s->tree_from_cg = cfg->tree_from_cgroup && s->has_cg;
    s->why_no_cg = cfg->why_no_cgroup ? cfg->why_no_cgroup : "no cgroup";
    s->pid = cfg->pid;
    s->slow_every = cfg->slow_every > 0 ? cfg->slow_every : FP_SAMPLER_SLOW_EVERY;
    s->ns_every = s->slow_every;
    s->since_slow = s->since_ns = 0;
    s->net_dev = (fp_slot)FP_SLOT_INIT;
    if (fp_net_ns(r, 0, s->self_ns, sizeof s->self_ns) < 0) s->self_ns[0] = 0;
    s->pc = fp_proc_cache_new(r);
    if (s->has_cg) s->cgr = fp_cg_reader_new(&s->cg);
    s->scan = cfg->scan;
    if (!s->scan && !s->tree_from_cg && s->pid > 0) s->scan = s->own_scan = fp_proc_scan_new(r);
    if (!s->pc || (s->has_cg && !s->cgr) || (!s->tree_from_cg && s->pid > 0 && !s->scan)) {
        fp_sampler_free(s);
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    if (cfg->perf && cfg->perf_cgroup && s->has_cg) {
        const char *dir = s->cg.dir[FP_CTL_PERF_EVENT][0] ? s->cg.dir[FP_CTL_PERF_EVENT] : s->cg.dir[FP_CTL_UNIFIED];
        int fd = dir[0] ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
            s->perf = fp_perf_open_cgroup(fd, ncpus > 0 ? (int)ncpus : 1, cfg->perf_backend, err);
            close(fd);
            if (!s->perf) { fp_sampler_free(s); return NULL; }
        } else {
            s->why_no_perf = "no perf_event cgroup directory for this cgroup";
        }
    } else if (cfg->perf && cfg->pid > 0) {
        s->perf = fp_perf_open(cfg->pid, cfg->perf_backend, err);
        if (!s->perf) { fp_sampler_free(s); return NULL; }
    }
    return s;
}

void fp_sampler_free(fp_sampler *s)
{
    if (!s) return;
    fp_perf_free(s->perf);
    fp_cg_reader_free(s->cgr);
    fp_proc_cache_free(s->pc);
    fp_proc_scan_free(s->own_scan);
    fp_slot_close(&s->net_dev);
    free(s);
}

/* Network counters of the workload's namespace, when it has its own. The
 * net/dev file stays open while the namespace stays the same. */
static void take_net(fp_sampler *s, reading *rd, int netpid)
{
    char ns[64];
    /* rd still holds the previous reading: an exiting process has no
     * namespace left, and the earlier reason is the one that explains. */
    const char *earlier = rd->net_ok ? NULL : rd->why_net;
    rd->net_ok = false;
    rd->ifs.n_if = 0;
    if (rd->procs == 0) { rd->why_net = earlier ? earlier : "the workload has no process"; return; }
    if (fp_net_ns(&s->roots, netpid, ns, sizeof ns) < 0) {
        rd->why_net = earlier ? earlier : "cannot read /proc/PID/ns/net";
        return;
    }
    if (s->self_ns[0] && strcmp(ns, s->self_ns) == 0) {
        rd->why_net = "shares the host network namespace (counters would not be the workload's)";
        return;
    }
    if (netpid != s->net_pid || strcmp(ns, s->net_ns) != 0) {
        fp_slot_close(&s->net_dev);
        s->net_pid = netpid;
        snprintf(s->net_ns, sizeof s->net_ns, "%s", ns);
    }
    char path[FP_PATH_MAX];
    fp_path(path, sizeof path, "%s/%d/net/dev", s->roots.proc, netpid);
    int k = -1;
    if (fp_slot_read(&s->net_dev, path, s->netbuf, sizeof s->netbuf) >= 0)
        k = fp_net_parse(s->netbuf, path, rd->ifs.ifs, FP_NET_IF_MAX, NULL);
    if (k < 0) { rd->why_net = "cannot read /proc/PID/net/dev"; return; }
    rd->own_ns = true;
    rd->net_ok = true;
    rd->ifs.n_if = k;
    rd->rx = rd->tx = rd->rxp = rd->txp = 0;
    for (int i = 0; i < k; i++) {
        rd->rx += rd->ifs.ifs[i].rx_bytes;
        rd->tx += rd->ifs.ifs[i].tx_bytes;
        rd->rxp += rd->ifs.ifs[i].rx_packets;
        rd->txp += rd->ifs.ifs[i].tx_packets;
    }
}

/* Should the cgroup's slow tier be read at this reading? Every
 * slow_every-th reading, and at once when what it breaks down moved:
 * memory usage by more than 1 MiB or 1 % (memory.stat's anon and file),
 * the process tree's storage I/O (blkio / io.stat). */
static bool slow_due(fp_sampler *s, const reading *rd)
{
    if (++s->since_slow >= s->slow_every) return true;
    if (!rd->cg.why[FP_CGF_MEM]) {
        double d = fabs(rd->cg.mem_bytes - s->slow_mem);
        if (d > 1048576.0 || d > 0.01 * s->slow_mem) return true;
    }
    if (!rd->pt.why_io && rd->pt.read_bytes + rd->pt.write_bytes != s->slow_tree_io) return true;
    return false;
}

/* The namespace as at the last look: re-read net/dev through the open
 * slot (the counters move every reading). */
static void take_net_same(fp_sampler *s, reading *rd)
{
    char path[FP_PATH_MAX];
    fp_path(path, sizeof path, "%s/%d/net/dev", s->roots.proc, s->net_pid);
    int k = fp_slot_read(&s->net_dev, path, s->netbuf, sizeof s->netbuf) >= 0
                ? fp_net_parse(s->netbuf, path, rd->ifs.ifs, FP_NET_IF_MAX, NULL) : -1;
    if (k < 0) { take_net(s, rd, s->net_pid); return; }
    rd->own_ns = true;
    rd->net_ok = true;
    rd->ifs.n_if = k;
    rd->rx = rd->tx = rd->rxp = rd->txp = 0;
    for (int i = 0; i < k; i++) {
        rd->rx += rd->ifs.ifs[i].rx_bytes;
        rd->tx += rd->ifs.ifs[i].tx_bytes;
        rd->rxp += rd->ifs.ifs[i].rx_packets;
        rd->txp += rd->ifs.ifs[i].tx_packets;
    }
}

static void take(fp_sampler *s, reading *rd, double now)
{
    rd->now = now;
    if (s->has_cg) fp_cg_reader_read_tiered(s->cgr, &rd->cg, false);
    int n = 0;
    if (s->tree_from_cg) {
        /* Listing a cgroup's processes costs three system calls (v1 pid
         * lists must be reopened); while the task count is unchanged, the
         * last list stands, checked afresh every LIST_EVERY samples. */
        bool same = !rd->cg.why[FP_CGF_PIDS] && s->listed_tasks == rd->cg.pids && s->since_list < LIST_EVERY;
        if (same) {
            n = s->nlisted;
            s->since_list++;
        } else {
            n = fp_cg_reader_pids(s->cgr, s->pids, MAX_PIDS);
            s->nlisted = n < 0 ? 0 : n;
            s->listed_tasks = rd->cg.why[FP_CGF_PIDS] ? -1 : rd->cg.pids;
            s->since_list = 0;
        }
    } else if (s->pid > 0) {
        if (s->own_scan) fp_proc_scan_refresh(s->own_scan, NULL);
        n = fp_proc_scan_tree(s->scan, s->pid, s->pids, MAX_PIDS);
    }
    if (n < 0) n = 0;
    /* The root process leaves cgroup.procs when it exits, but until it is
     * reaped its counters (and those of the children it reaped) are still
     * readable: keep it, so the last reading has them. */
    if (s->tree_from_cg && s->pid > 0 && n < MAX_PIDS) {
        bool in = false;
        for (int i = 0; i < n && !in; i++) in = s->pids[i] == s->pid;
        if (!in) s->pids[n++] = s->pid;
    }
    fp_proc_cache_sum(s->pc, s->pids, n, &rd->pt);
    rd->procs = rd->pt.procs;
    if (s->has_cg && slow_due(s, rd)) {
        fp_cg_reader_read_slow(s->cgr, &rd->cg);
        s->since_slow = 0;
        s->slow_mem = rd->cg.mem_bytes;
        s->slow_tree_io = rd->pt.read_bytes + rd->pt.write_bytes;
    }
    /* While the workload has a namespace of its own, its link is read
     * again every ns_every readings or when the first process changes (in
     * between, net/dev is re-read through the open file); otherwise at
     * every reading (one system call: a workload that makes its own
     * namespace, as `unshare -n` does, is seen at once). */
    int netpid = n > 0 ? s->pids[0] : s->pid;
    bool due = netpid != s->ns_pid || ++s->since_ns >= s->ns_every || rd->procs == 0;
    if (!due && rd->net_ok) {
        take_net_same(s, rd);
    } else {
        s->ns_pid = netpid;
        s->since_ns = 0;
        take_net(s, rd, netpid);
    }
    if (s->perf) fp_perf_read(s->perf, &rd->perf);
}

void fp_sampler_start(fp_sampler *s, double now)
{
    s->start = now;
    take(s, &s->cur, now);
}

/* Non-negative rate of a cumulative counter (a counter that went backwards,
 * e.g. when a process left the tree, reads as zero). */
static double rate(double a, double b, double dt)
{
    double d = b - a;
    return d > 0 && dt > 0 ? d / dt : 0;
}

int fp_sampler_sample(fp_sampler *s, double now, fp_sample *o)
{
    s->prev = s->cur;
    take(s, &s->cur, now);
    const reading *p = &s->prev, *c = &s->cur;
    double dt = c->now - p->now;
    fp_sample_init(o, now - s->start, "not sampled");
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    o->ts = (double)wall.tv_sec + wall.tv_nsec / 1e9;

    /* Process tree */
    const fp_proc_totals *a = &p->pt, *b = &c->pt;
    /* An exited process holds no memory: its RSS reads 0, which says
     * nothing about what it used. */
    const char *why_rss = b->procs > 0 && b->live == 0 ? "the workload had exited (no resident memory left to read)" : NULL;
    if (why_rss) fp_sample_miss(o, FP_M_MEM_RSS_BYTES, why_rss);
    else fp_sample_set(o, FP_M_MEM_RSS_BYTES, (double)b->rss_bytes);
    fp_sample_set(o, FP_M_THREADS, b->threads);
    fp_sample_set(o, FP_M_PROCS, b->procs);
    fp_sample_set(o, FP_M_MINFLT_PS, rate((double)a->minflt, (double)b->minflt, dt));
    fp_sample_set(o, FP_M_MAJFLT_PS, rate((double)a->majflt, (double)b->majflt, dt));
    if (a->why_ctx || b->why_ctx) fp_sample_miss(o, FP_M_CTXSW_PS, b->why_ctx ? b->why_ctx : a->why_ctx);
    else fp_sample_set(o, FP_M_CTXSW_PS, rate((double)a->ctxsw, (double)b->ctxsw, dt));
    const char *wio = b->why_io ? b->why_io : a->why_io;
    if (wio) {
        fp_sample_miss(o, FP_M_RCHAR_BPS, wio);
        fp_sample_miss(o, FP_M_WCHAR_BPS, wio);
        fp_sample_miss(o, FP_M_SYSCR_PS, wio);
        fp_sample_miss(o, FP_M_SYSCW_PS, wio);
    } else {
        fp_sample_set(o, FP_M_RCHAR_BPS, rate((double)a->rchar, (double)b->rchar, dt));
        fp_sample_set(o, FP_M_WCHAR_BPS, rate((double)a->wchar, (double)b->wchar, dt));
        fp_sample_set(o, FP_M_SYSCR_PS, rate((double)a->syscr, (double)b->syscr, dt));
        fp_sample_set(o, FP_M_SYSCW_PS, rate((double)a->syscw, (double)b->syscw, dt));
    }

    /* cgroup, else process-tree CPU and RSS */
    static const int cg_metrics[] = {FP_M_CPU_THROTTLED_PCT, FP_M_MEM_ANON_BYTES, FP_M_MEM_FILE_BYTES,
        FP_M_MEM_PEAK_BYTES, FP_M_OOM_KILLS, FP_M_IO_READ_BPS, FP_M_IO_WRITE_BPS, FP_M_IO_READ_IOPS,
        FP_M_IO_WRITE_IOPS, FP_M_PIDS, FP_M_PSI_CPU_SOME_PCT, FP_M_PSI_MEM_SOME_PCT,
        FP_M_PSI_MEM_FULL_PCT, FP_M_PSI_IO_SOME_PCT, FP_M_PSI_IO_FULL_PCT};
    if (s->has_cg) {
        const fp_cg_totals *x = &p->cg, *y = &c->cg;
#define CGOK(f) (!x->why[f] && !y->why[f])
#define CGWHY(f) (y->why[f] ? y->why[f] : x->why[f])
        if (CGOK(FP_CGF_CPU)) fp_sample_set(o, FP_M_CPU_CORES, rate(x->cpu_s, y->cpu_s, dt));
        else fp_sample_miss(o, FP_M_CPU_CORES, CGWHY(FP_CGF_CPU));
        if (CGOK(FP_CGF_CPU_USER)) {
            fp_sample_set(o, FP_M_CPU_USER_CORES, rate(x->cpu_user_s, y->cpu_user_s, dt));
            fp_sample_set(o, FP_M_CPU_SYS_CORES, rate(x->cpu_sys_s, y->cpu_sys_s, dt));
        } else {
            fp_sample_miss(o, FP_M_CPU_USER_CORES, CGWHY(FP_CGF_CPU_USER));
            fp_sample_miss(o, FP_M_CPU_SYS_CORES, CGWHY(FP_CGF_CPU_USER));
        }
        if (CGOK(FP_CGF_THROTTLED)) fp_sample_set(o, FP_M_CPU_THROTTLED_PCT, 100 * rate(x->throttled_s, y->throttled_s, dt));
        else fp_sample_miss(o, FP_M_CPU_THROTTLED_PCT, CGWHY(FP_CGF_THROTTLED));
        if (!y->why[FP_CGF_MEM]) fp_sample_set(o, FP_M_MEM_BYTES, y->mem_bytes);
        else fp_sample_miss(o, FP_M_MEM_BYTES, y->why[FP_CGF_MEM]);
        if (!y->why[FP_CGF_MEM_PEAK]) fp_sample_set(o, FP_M_MEM_PEAK_BYTES, y->mem_peak_bytes);
        else fp_sample_miss(o, FP_M_MEM_PEAK_BYTES, y->why[FP_CGF_MEM_PEAK]);
        if (!y->why[FP_CGF_ANON]) fp_sample_set(o, FP_M_MEM_ANON_BYTES, y->anon_bytes);
        else fp_sample_miss(o, FP_M_MEM_ANON_BYTES, y->why[FP_CGF_ANON]);
        if (!y->why[FP_CGF_FILE]) fp_sample_set(o, FP_M_MEM_FILE_BYTES, y->file_bytes);
        else fp_sample_miss(o, FP_M_MEM_FILE_BYTES, y->why[FP_CGF_FILE]);
        if (!y->why[FP_CGF_OOM]) fp_sample_set(o, FP_M_OOM_KILLS, y->oom_kills);
        else fp_sample_miss(o, FP_M_OOM_KILLS, y->why[FP_CGF_OOM]);
        if (CGOK(FP_CGF_IO) && (s->cg.version == FP_CG_V2 || y->io_rbytes + y->io_wbytes > 0 ||
                                b->read_bytes + b->write_bytes == 0 || wio)) {
            fp_sample_set(o, FP_M_IO_READ_BPS, rate(x->io_rbytes, y->io_rbytes, dt));
            fp_sample_set(o, FP_M_IO_WRITE_BPS, rate(x->io_wbytes, y->io_wbytes, dt));
            fp_sample_set(o, FP_M_IO_READ_IOPS, rate(x->io_rios, y->io_rios, dt));
            fp_sample_set(o, FP_M_IO_WRITE_IOPS, rate(x->io_wios, y->io_wios, dt));
        } else {
            /* v1 blkio counts nothing while the tasks did storage I/O: recent
             * kernels keep blkio.throttle statistics only under a throttle
             * rule. The bytes then come from the process tree (below). */
            const char *w = CGOK(FP_CGF_IO) ? "cgroup v1 blkio is not counting (kept only under a throttle rule on this kernel)"
                                            : CGWHY(FP_CGF_IO);
            for (int m = FP_M_IO_READ_BPS; m <= FP_M_IO_WRITE_IOPS; m++) fp_sample_miss(o, m, w);
        }
        if (!y->why[FP_CGF_PIDS]) fp_sample_set(o, FP_M_PIDS, y->pids);
        else fp_sample_miss(o, FP_M_PIDS, y->why[FP_CGF_PIDS]);
        if (CGOK(FP_CGF_PSI_CPU)) fp_sample_set(o, FP_M_PSI_CPU_SOME_PCT, 100 * rate(x->psi_cpu_some_s, y->psi_cpu_some_s, dt));
        else fp_sample_miss(o, FP_M_PSI_CPU_SOME_PCT, CGWHY(FP_CGF_PSI_CPU));
        if (CGOK(FP_CGF_PSI_MEM)) {
            fp_sample_set(o, FP_M_PSI_MEM_SOME_PCT, 100 * rate(x->psi_mem_some_s, y->psi_mem_some_s, dt));
            fp_sample_set(o, FP_M_PSI_MEM_FULL_PCT, 100 * rate(x->psi_mem_full_s, y->psi_mem_full_s, dt));
        } else {
            fp_sample_miss(o, FP_M_PSI_MEM_SOME_PCT, CGWHY(FP_CGF_PSI_MEM));
            fp_sample_miss(o, FP_M_PSI_MEM_FULL_PCT, CGWHY(FP_CGF_PSI_MEM));
        }
        if (CGOK(FP_CGF_PSI_IO)) {
            fp_sample_set(o, FP_M_PSI_IO_SOME_PCT, 100 * rate(x->psi_io_some_s, y->psi_io_some_s, dt));
            fp_sample_set(o, FP_M_PSI_IO_FULL_PCT, 100 * rate(x->psi_io_full_s, y->psi_io_full_s, dt));
        } else {
            fp_sample_miss(o, FP_M_PSI_IO_SOME_PCT, CGWHY(FP_CGF_PSI_IO));
            fp_sample_miss(o, FP_M_PSI_IO_FULL_PCT, CGWHY(FP_CGF_PSI_IO));
        }
#undef CGOK
#undef CGWHY
    } else {
        for (size_t i = 0; i < sizeof cg_metrics / sizeof cg_metrics[0]; i++)
            fp_sample_miss(o, cg_metrics[i], s->why_no_cg);
    }
    /* Without the cgroup's CPU or memory, the process tree stands in. */
    if (!fp_sample_has(o, FP_M_CPU_CORES)) {
        fp_sample_set(o, FP_M_CPU_USER_CORES, rate(a->cpu_user_s, b->cpu_user_s, dt));
        fp_sample_set(o, FP_M_CPU_SYS_CORES, rate(a->cpu_sys_s, b->cpu_sys_s, dt));
        fp_sample_set(o, FP_M_CPU_CORES, o->v[FP_M_CPU_USER_CORES] + o->v[FP_M_CPU_SYS_CORES]);
    }
    if (!fp_sample_has(o, FP_M_MEM_BYTES)) {
        if (why_rss) fp_sample_miss(o, FP_M_MEM_BYTES, why_rss);
        else fp_sample_set(o, FP_M_MEM_BYTES, (double)b->rss_bytes);
    }
    if (!fp_sample_has(o, FP_M_IO_READ_BPS) && !wio) {
        fp_sample_set(o, FP_M_IO_READ_BPS, rate((double)a->read_bytes, (double)b->read_bytes, dt));
        fp_sample_set(o, FP_M_IO_WRITE_BPS, rate((double)a->write_bytes, (double)b->write_bytes, dt));
    }

    /* Network */
    if (p->net_ok && c->net_ok) {
        fp_sample_set(o, FP_M_NET_RX_BPS, rate((double)p->rx, (double)c->rx, dt));
        fp_sample_set(o, FP_M_NET_TX_BPS, rate((double)p->tx, (double)c->tx, dt));
        fp_sample_set(o, FP_M_NET_RX_PPS, rate((double)p->rxp, (double)c->rxp, dt));
        fp_sample_set(o, FP_M_NET_TX_PPS, rate((double)p->txp, (double)c->txp, dt));
    } else {
        const char *w = !c->net_ok ? c->why_net : "first reading in this network namespace";
        for (int m = FP_M_NET_RX_BPS; m <= FP_M_NET_TX_PPS; m++) fp_sample_miss(o, m, w);
    }
    if (c->net_ok) {
        o->n_if = c->ifs.n_if;
        memcpy(o->ifs, c->ifs.ifs, sizeof o->ifs[0] * (size_t)c->ifs.n_if);
    }

    /* Counters */
    if (s->perf) {
        fp_perf_rates(&p->perf, &c->perf, dt, o);
    } else {
        const char *w = s->why_no_perf ? s->why_no_perf
                      : s->pid > 0 || s->has_cg ? "counters not requested"
                      : "no process to count (attach by pid, container or command)";
        for (int m = FP_M_INSTRUCTIONS_PS; m <= FP_M_SW_MIGRATIONS_PS; m++) fp_sample_miss(o, m, w);
    }
    return c->procs;
}
