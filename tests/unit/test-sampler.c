/* test-sampler.c - levels and per-second rates from two readings of a
 * temporary /proc and cgroup v2 tree whose counters the test advances. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/sampler.h"
#include "tap.h"

static char root[64];

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* One state of the workload: counters scaled by k (0 = baseline). */
static void state(int k, const char *self_ns, const char *pid_ns)
{
    long hz = sysconf(_SC_CLK_TCK);
    put("proc/self/mountinfo", "30 23 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put("proc/self/cgroup", "0::/\n");
    put("proc/self/ns/net", "%s\n", self_ns);
    put("proc/100/ns/net", "%s\n", pid_ns);
    put("proc/loadavg", "0.00 0.00 0.00 1/50 100\n");
    /* utime grows by hz/2 ticks (0.5 s) per step; 1000 minor faults */
    put("proc/100/stat", "100 (w) S 1 100 100 0 -1 0 %d 0 %d 0 %ld %ld 0 0 20 0 3 0 1 1 %d 0 0\n",
        1000 * k, 10 * k, (long)(hz / 2) * k, 0L, 2560);
    put("proc/100/status", "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", 50 * k, 50 * k);
    put("proc/100/io", "rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: %d\nwrite_bytes: %d\ncancelled_write_bytes: 0\n",
        4096 * k, 8192 * k, 4 * k, 8 * k, 0, 4096 * k);
    put("proc/100/net/dev", "h1\nh2\n    lo: %d %d 0 0 0 0 0 0 %d %d 0 0 0 0 0 0\n  eth0: %d %d 0 0 0 0 0 0 %d %d 0 0 0 0 0 0\n",
        1000 * k, 10 * k, 1000 * k, 10 * k, 50000 * k, 40 * k, 20000 * k, 20 * k);
    /* cgroup v2: 0.4 s CPU per step (0.3 user, 0.1 system), 0.05 s throttled */
    put("cg/work/cpu.stat", "usage_usec %d\nuser_usec %d\nsystem_usec %d\nthrottled_usec %d\n",
        400000 * k, 300000 * k, 100000 * k, 50000 * k);
    put("cg/work/memory.current", "%d\n", 1048576 * (k + 1));
    put("cg/work/memory.peak", "%d\n", 1048576 * (k + 2));
    put("cg/work/memory.stat", "anon %d\nfile %d\n", 786432 * (k + 1), 262144 * (k + 1));
    put("cg/work/memory.events", "oom_kill %d\n", k);
    put("cg/work/io.stat", "8:0 rbytes=%d wbytes=%d rios=%d wios=%d\n", 1000 * k, 2000 * k, 3 * k, 4 * k);
    put("cg/work/pids.current", "3\n");
    put("cg/work/cgroup.procs", "100\n");
    put("cg/work/cpu.pressure", "some avg10=0 avg60=0 avg300=0 total=%d\nfull avg10=0 avg60=0 avg300=0 total=0\n", 100000 * k);
    put("cg/work/memory.pressure", "some avg10=0 avg60=0 avg300=0 total=%d\nfull avg10=0 avg60=0 avg300=0 total=%d\n", 50000 * k, 25000 * k);
    put("cg/work/io.pressure", "some avg10=0 avg60=0 avg300=0 total=%d\nfull avg10=0 avg60=0 avg300=0 total=%d\n", 0, 0);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/fp-test-sampler-XXXXXX");
    if (!mkdtemp(root)) { ok(0, "temporary tree"); return done_testing(); }
    state(0, "net:[1]", "net:[2]");
    fp_roots r;
    fp_roots_default(&r);
    snprintf(r.proc, sizeof r.proc, "%s/proc", root);
    snprintf(r.cgroup, sizeof r.cgroup, "%s/cg", root);
    fp_err err = {0};
    fp_cg_layout *l = malloc(sizeof *l);
    fp_cgroup *cg = malloc(sizeof *cg);
    ok(fp_cg_layout_read(&r, l, &err) == 0 && l->version == FP_CG_V2, "v2 layout");
    ok(fp_cgroup_open(l, "/work", cg, &err) == 0, "open /work (%s)", err.msg);
    /* As for an attached cgroup: the processes are the cgroup's members (a
     * root pid would be kept while it is a zombie, which a plain file
     * standing in for /proc/PID/stat cannot end). */
    fp_sampler_cfg cfg = {.cg = cg, .tree_from_cgroup = true};
    fp_sampler *s = fp_sampler_new(&r, &cfg, &err);
    ok(s != NULL, "sampler");
    fp_sampler_start(s, 10.0);

    /* Half a second later the counters have advanced by one step. */
    state(1, "net:[1]", "net:[2]");
    fp_sample o;
    is_int(fp_sampler_sample(s, 10.5, &o), 1, "one process");
    long hz = sysconf(_SC_CLK_TCK);
    is_near(o.t, 0.5, 1e-12, "t since start");
    is_near(o.v[FP_M_CPU_CORES], 0.8, 1e-9, "cgroup CPU: 0.4 s in 0.5 s");
    is_near(o.v[FP_M_CPU_USER_CORES], 0.6, 1e-9, "user");
    is_near(o.v[FP_M_CPU_SYS_CORES], 0.2, 1e-9, "system");
    is_near(o.v[FP_M_CPU_THROTTLED_PCT], 10, 1e-9, "throttled 0.05 s of 0.5 s");
    is_near(o.v[FP_M_MEM_BYTES], 2097152, 0, "memory.current (a level)");
    is_near(o.v[FP_M_MEM_PEAK_BYTES], 3145728, 0, "memory.peak");
    is_near(o.v[FP_M_MEM_ANON_BYTES], 1572864, 0, "anon");
    is_near(o.v[FP_M_OOM_KILLS], 1, 0, "OOM kills (a count)");
    is_near(o.v[FP_M_IO_READ_BPS], 2000, 1e-9, "io.stat read rate");
    is_near(o.v[FP_M_IO_WRITE_BPS], 4000, 1e-9, "io.stat write rate");
    is_near(o.v[FP_M_IO_WRITE_IOPS], 8, 1e-9, "write iops");
    is_near(o.v[FP_M_RCHAR_BPS], 8192, 1e-9, "rchar rate");
    is_near(o.v[FP_M_SYSCW_PS], 16, 1e-9, "write syscalls per second");
    is_near(o.v[FP_M_MINFLT_PS], 2000, 1e-9, "minor faults per second");
    is_near(o.v[FP_M_MAJFLT_PS], 20, 1e-9, "major faults per second");
    is_near(o.v[FP_M_CTXSW_PS], 200, 1e-9, "context switches per second");
    is_near(o.v[FP_M_MEM_RSS_BYTES], 2560.0 * sysconf(_SC_PAGESIZE), 0, "RSS of the tree");
    is_near(o.v[FP_M_THREADS], 3, 0, "threads");
    is_near(o.v[FP_M_PIDS], 3, 0, "pids.current");
    is_near(o.v[FP_M_PSI_CPU_SOME_PCT], 20, 1e-9, "cpu pressure: 0.1 s of 0.5 s");
    is_near(o.v[FP_M_PSI_MEM_FULL_PCT], 5, 1e-9, "memory full pressure");
    is_near(o.v[FP_M_NET_RX_BPS], 102000, 1e-9, "rx bytes over lo and eth0");
    is_near(o.v[FP_M_NET_TX_PPS], 60, 1e-9, "tx packets");
    is_int(o.n_if, 2, "two interfaces in the sample");
    ok(!fp_sample_has(&o, FP_M_IPC) && strstr(o.why[FP_M_IPC], "counters not requested"), "no counters: reason (%s)", o.why[FP_M_IPC]);
    (void)hz;

    /* A counter that goes backwards (a process left) reads as 0, never < 0. */
    state(0, "net:[1]", "net:[2]");
    fp_sampler_sample(s, 11.0, &o);
    is_near(o.v[FP_M_CPU_CORES], 0, 0, "backwards counter: 0");
    is_near(o.v[FP_M_RCHAR_BPS], 0, 0, "backwards process counter: 0");

    /* Tiers: memory.stat is the slow tier. While memory usage and the
     * tree's storage I/O stand still, anon stands as last read; it is read
     * again within FP_SAMPLER_SLOW_EVERY samples. */
    double t = 11.0;
    fp_sampler_sample(s, t += 0.1, &o); /* the state after the backwards step, settled */
    put("cg/work/memory.stat", "anon %d\nfile %d\n", 500000, 262144);
    fp_sampler_sample(s, t += 0.1, &o);
    is_near(o.v[FP_M_MEM_ANON_BYTES], 786432, 0, "slow tier: anon carried forward while memory.current stands");
    int seen = 1;
    while (o.v[FP_M_MEM_ANON_BYTES] != 500000 && seen < 3 * FP_SAMPLER_SLOW_EVERY) {
        fp_sampler_sample(s, t += 0.1, &o);
        seen++;
    }
    ok(seen >= 2 && seen <= FP_SAMPLER_SLOW_EVERY, "slow tier read again within %d samples (at %d)", FP_SAMPLER_SLOW_EVERY, seen);
    /* A move of memory usage reads it at once. */
    put("cg/work/memory.stat", "anon %d\nfile %d\n", 4000000, 262144);
    fp_sampler_sample(s, t += 0.1, &o);
    is_near(o.v[FP_M_MEM_ANON_BYTES], 500000, 0, "still carried forward");
    put("cg/work/memory.current", "%d\n", 5000000);
    fp_sampler_sample(s, t += 0.1, &o);
    is_near(o.v[FP_M_MEM_ANON_BYTES], 4000000, 0, "memory.current moved 3.8 MiB: memory.stat read at once");
    /* As does the tree's storage I/O: a cgroup I/O counter carried forward
     * gives 0, and what it gained shows when the tree's bytes move. */
    put("cg/work/io.stat", "8:0 rbytes=%d wbytes=%d rios=%d wios=%d\n", 0, 10000, 0, 1); /* was all 0 */
    fp_sampler_sample(s, t += 0.1, &o);
    is_near(o.v[FP_M_IO_WRITE_BPS], 0, 0, "io.stat not read while the tree's I/O stands");
    put("proc/100/io", "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: %d\ncancelled_write_bytes: 0\n", 8192);
    fp_sampler_sample(s, t += 0.1, &o);
    is_near(o.v[FP_M_IO_WRITE_BPS], 100000, 1e-6, "the tree wrote: io.stat read, 10000 B in 0.1 s");

    /* Sharing our namespace: network missing with the reason, seen when
     * the namespace link is looked at again (every FP_SAMPLER_SLOW_EVERY
     * samples for the same process). */
    state(1, "net:[1]", "net:[1]");
    seen = 0;
    do {
        fp_sampler_sample(s, t += 0.1, &o);
        seen++;
    } while (fp_sample_has(&o, FP_M_NET_RX_BPS) && seen < 3 * FP_SAMPLER_SLOW_EVERY);
    ok(!fp_sample_has(&o, FP_M_NET_RX_BPS) && strstr(o.why[FP_M_NET_RX_BPS], "shares the host network namespace"),
       "host namespace: network missing (%s)", o.why[FP_M_NET_RX_BPS]);
    ok(seen <= FP_SAMPLER_SLOW_EVERY, "namespace looked at again within %d samples (at %d)", FP_SAMPLER_SLOW_EVERY, seen);
    is_int(o.n_if, 0, "no interfaces listed");

    /* The process is gone: 0 processes, which ends an attached capture. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/proc/100'", root);
    ok(system(cmd) == 0, "the process goes away");
    put("cg/work/cgroup.procs", "%s", "");
    put("cg/work/pids.current", "0\n");
    is_int(fp_sampler_sample(s, t += 0.1, &o), 0, "no process left");
    ok(!fp_sample_has(&o, FP_M_NET_RX_BPS), "no namespace to read");

    fp_sampler_free(s);
    free(cg);
    free(l);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ok(system(cmd) == 0, "cleanup");
    return done_testing();
}
