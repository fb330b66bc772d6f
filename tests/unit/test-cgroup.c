/* test-cgroup.c - layout discovery and counters on v1/hybrid and v2 fixture trees. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/cgroup.h"
#include "fixture.h"
#include "tap.h"

static void test_hybrid(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v1", "cgroup-v1");
    fp_cg_layout *l = malloc(sizeof *l);
    fp_err err = {0};
    ok(fp_cg_layout_read(&r, l, &err) == 0, "hybrid: layout read (%s)", err.msg);
    is_int(l->version, FP_CG_HYBRID, "hybrid: v1 controllers plus cgroup2 is hybrid");
    char want[FP_PATH_MAX];
    snprintf(want, sizeof want, "%s/cpu,cpuacct", r.cgroup);
    is_str(l->mnt[FP_CTL_CPU], want, "hybrid: co-mounted cpu is rebased onto the root");
    is_str(l->mnt[FP_CTL_CPUACCT], want, "hybrid: cpuacct shares the mount");
    snprintf(want, sizeof want, "%s/unified", r.cgroup);
    is_str(l->mnt[FP_CTL_UNIFIED], want, "hybrid: cgroup2 mount found");
    snprintf(want, sizeof want, "%s/perf_event", r.cgroup);
    is_str(l->mnt[FP_CTL_PERF_EVENT], want, "hybrid: v1 perf_event mount found");

    fp_cgroup *cg = malloc(sizeof *cg);
    ok(fp_cgroup_open(l, "/work", cg, &err) == 0, "open /work (%s)", err.msg);
    fp_cg_totals t;
    fp_cgroup_read(cg, &t);
    for (int f = 0; f < FP_CGF_COUNT; f++) ok(t.why[f] == NULL, "v1 field %d read (%s)", f, t.why[f] ? t.why[f] : "");
    long hz = sysconf(_SC_CLK_TCK);
    is_near(t.cpu_s, 2.5, 1e-12, "v1 cpuacct.usage ns -> 2.5 s");
    is_near(t.cpu_user_s, 150.0 / hz, 1e-12, "v1 user ticks");
    is_near(t.cpu_sys_s, 50.0 / hz, 1e-12, "v1 system ticks");
    is_near(t.throttled_s, 0.3, 1e-12, "v1 throttled_time");
    is_near(t.mem_bytes, 104857600, 0, "v1 memory.usage_in_bytes");
    is_near(t.mem_peak_bytes, 209715200, 0, "v1 max_usage_in_bytes is the peak");
    is_near(t.anon_bytes, 73400320, 0, "v1 total_rss preferred over rss");
    is_near(t.file_bytes, 31457280, 0, "v1 total_cache preferred over cache");
    is_near(t.oom_kills, 2, 0, "v1 oom_kill from memory.oom_control");
    is_near(t.io_rbytes, 5096, 0, "v1 blkio Read summed over devices, Total ignored");
    is_near(t.io_wbytes, 8192, 0, "v1 blkio Write");
    is_near(t.io_rios, 4, 0, "v1 read ops");
    is_near(t.io_wios, 6, 0, "v1 write ops");
    is_near(t.pids, 3, 0, "pids.current");
    is_near(t.psi_cpu_some_s, 1.5, 1e-12, "hybrid: cpu pressure from the cgroup2 directory");
    is_near(t.psi_mem_some_s, 0.25, 1e-12, "memory some");
    is_near(t.psi_mem_full_s, 0.125, 1e-12, "memory full");
    is_near(t.psi_io_some_s, 2.0, 1e-12, "io some");
    is_near(t.psi_io_full_s, 1.0, 1e-12, "io full");

    int pids[8];
    is_int(fp_cgroup_pids(cg, pids, 8, &err), 3, "three pids in cgroup.procs");
    is_int(pids[2], 102, "pids in order");

    /* A cgroup only the cpu hierarchy has: the rest degrades field by field. */
    ok(fp_cgroup_open(l, "/partial", cg, &err) == 0, "open /partial");
    fp_cgroup_read(cg, &t);
    ok(t.why[FP_CGF_CPU] == NULL, "partial: cpu read");
    is_near(t.cpu_s, 1.0, 1e-12, "partial: cpu value");
    is_str(t.why[FP_CGF_MEM], "no memory controller", "partial: memory missing with reason");
    is_str(t.why[FP_CGF_IO], "no blkio controller", "partial: io missing with reason");
    is_str(t.why[FP_CGF_PSI_CPU], "no cgroup2 hierarchy: cgroup v1 has no per-cgroup pressure", "partial: no PSI reason");

    /* Refusals */
    err.cls = FP_OK;
    ok(fp_cgroup_open(l, "/work/../../etc", cg, &err) < 0 && err.cls == FP_EINPUT, "'..' refused: %s", err.msg);
    ok(fp_cgroup_open(l, "work", cg, &err) < 0 && err.cls == FP_EINPUT, "relative path refused");
    ok(fp_cgroup_open(l, "/nonexistent", cg, &err) < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "/nonexistent"), "missing cgroup named in the error: %s", err.msg);

    /* The cgroup of a pid, per controller. */
    ok(fp_cgroup_of_pid(&r, l, 100, cg, &err) == 0, "cgroup of pid 100");
    is_str(cg->rel, "/work", "pid 100 is in /work");
    snprintf(want, sizeof want, "%s/memory/work", r.cgroup);
    is_str(cg->dir[FP_CTL_MEMORY], want, "memory directory of pid 100");
    ok(fp_cgroup_of_pid(&r, l, 99999, cg, &err) < 0 && err.cls == FP_ESYS, "no such pid: FP_ESYS");
    free(cg);
    free(l);
}

static void test_v2(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v2", "cgroup-v2");
    fp_cg_layout *l = malloc(sizeof *l);
    fp_err err = {0};
    ok(fp_cg_layout_read(&r, l, &err) == 0, "v2: layout read");
    is_int(l->version, FP_CG_V2, "v2: unified only");
    is_str(l->mnt[FP_CTL_MEMORY], "", "v2: no v1 memory mount");
    fp_cgroup *cg = malloc(sizeof *cg);
    ok(fp_cgroup_of_pid(&r, l, 100, cg, &err) == 0, "v2: cgroup of pid 100 (%s)", err.msg);
    is_str(cg->rel, "/system.slice/work.service", "v2: path from the 0:: line");
    fp_cg_totals t;
    fp_cgroup_read(cg, &t);
    for (int f = 0; f < FP_CGF_COUNT; f++) ok(t.why[f] == NULL, "v2 field %d read (%s)", f, t.why[f] ? t.why[f] : "");
    is_near(t.cpu_s, 4.0, 1e-12, "v2 usage_usec");
    is_near(t.cpu_user_s, 3.0, 1e-12, "v2 user_usec");
    is_near(t.cpu_sys_s, 1.0, 1e-12, "v2 system_usec");
    is_near(t.throttled_s, 0.25, 1e-12, "v2 throttled_usec");
    is_near(t.mem_bytes, 52428800, 0, "v2 memory.current");
    is_near(t.mem_peak_bytes, 62914560, 0, "v2 memory.peak");
    is_near(t.anon_bytes, 41943040, 0, "v2 anon");
    is_near(t.file_bytes, 10485760, 0, "v2 file");
    is_near(t.oom_kills, 1, 0, "v2 oom_kill from memory.events (not oom or max)");
    is_near(t.io_rbytes, 1024, 0, "v2 rbytes summed");
    is_near(t.io_wbytes, 2048, 0, "v2 wbytes summed");
    is_near(t.io_rios, 11, 0, "v2 rios");
    is_near(t.io_wios, 22, 0, "v2 wios");
    is_near(t.pids, 5, 0, "v2 pids.current");
    is_near(t.psi_cpu_some_s, 0.5, 1e-12, "v2 cpu pressure");
    is_near(t.psi_io_full_s, 2.0, 1e-12, "v2 io full pressure");

    ok(fp_cgroup_open(l, "/nomem", cg, &err) == 0, "v2: open /nomem");
    fp_cgroup_read(cg, &t);
    ok(!t.why[FP_CGF_CPU], "v2 nomem: cpu still read");
    is_near(t.cpu_s, 0.001, 1e-12, "v2 nomem: cpu value");
    is_str(t.why[FP_CGF_MEM], "memory controller not enabled for this cgroup", "v2 nomem: memory reason");
    is_str(t.why[FP_CGF_THROTTLED], "cpu controller not enabled for this cgroup", "v2 nomem: no throttling without the cpu controller");
    ok(t.why[FP_CGF_PSI_CPU] != NULL, "v2 nomem: no pressure files: reason given");
    free(cg);
    free(l);
}

/* A file's content (static buffer; "<missing>" when it cannot be read). */
static const char *content(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *content(const char *fmt, ...)
{
    static char b[4096];
    char p[FP_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    if (fp_read_file(p, b, sizeof b) < 0) snprintf(b, sizeof b, "<missing>");
    return b;
}

static void put(const char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *s, const char *fmt, ...)
{
    char p[FP_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    FILE *f = fopen(p, "w");
    if (!f) { printf("# cannot create %s\n", p); return; }
    fputs(s, f);
    fclose(f);
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
    char p[FP_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    return access(p, F_OK) == 0;
}

static void rm_tree(const char *dir)
{
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    if (pid > 0) waitpid(pid, &st, 0);
}

/* cgroup v2's no-internal-process rule on the fixture: the caller's own
 * cgroup (/user.slice/session-1.scope) holds processes, so no workload
 * cgroup is made below it and nothing there is written. */
static void test_v2_create_refusals(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v2", "cgroup-v2");
    fp_cg_layout *l = malloc(sizeof *l);
    fp_cgroup *cg = malloc(sizeof *cg);
    fp_err err = {0};
    ok(fp_cg_layout_read(&r, l, &err) == 0, "v2 create: layout");
    int rc = fp_cgroup_create(&r, l, NULL, "fp-test", cg, &err);
    ok(rc < 0 && err.cls == FP_EINPUT, "v2 create under a cgroup with processes: refused with FP_EINPUT (%d)", err.cls);
    ok(strstr(err.msg, "under /user.slice/session-1.scope: that cgroup holds processes (pid 1200 among them)") != NULL,
       "the message names the cgroup and a process in it: %s", err.msg);
    ok(strstr(err.msg, "--cgroup-parent") && strstr(err.msg, "systemd-run --scope -p Delegate=yes"),
       "the message names the remedies");
    is_str(content("%s/user.slice/session-1.scope/cgroup.subtree_control", r.cgroup), "",
           "no controller was written into the populated parent");
    ok(!exists("%s/user.slice/session-1.scope/fp-test", r.cgroup), "no child cgroup was made");

    err.cls = FP_OK;
    rc = fp_cgroup_create(&r, l, "/threaded", "fp-test", cg, &err);
    ok(rc < 0 && err.cls == FP_EINPUT && strstr(err.msg, "type \"threaded\""),
       "a threaded parent is refused: %s", err.msg);
    is_str(content("%s/threaded/cgroup.subtree_control", r.cgroup), "", "nothing written into the threaded parent");
    ok(!exists("%s/threaded/fp-test", r.cgroup), "no child under the threaded parent");

    /* whose tree is a cgroup? 1201 is 1200's child, 1250 is gone */
    ok(fp_cgroup_of_pid(&r, l, 1200, cg, &err) == 0, "cgroup of pid 1200 (%s)", err.msg);
    int other = -7;
    is_int(fp_cgroup_sole_tree(&r, cg, FP_CTL_UNIFIED, 1200, &other, &err), 1,
           "session-1.scope holds only pid 1200's tree (a child, a process gone)");
    is_int(other, -7, "no other process reported");
    is_int(fp_cgroup_sole_tree(&r, cg, FP_CTL_UNIFIED, 1201, &other, &err), 0,
           "for pid 1201 it does not: its parent is there too");
    is_int(other, 1200, "the other process is named");
    err.cls = FP_OK;
    ok(fp_cgroup_sole_tree(&r, cg, FP_CTL_MEMORY, 1200, &other, &err) < 0 && err.cls == FP_ESYS,
       "a controller the cgroup lacks: FP_ESYS");
    free(cg);
    free(l);
}

/* On a writable copy: an empty delegated parent gets the controllers it
 * lacks in one write (domain ones first), a refused write creates nothing,
 * the root may hold processes. */
static void test_v2_create(void)
{
    char top[FP_PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof top, "%s/fp-test-cgroup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(top)) { ok(0, "mkdtemp"); return; }
    fp_roots r;
    fp_roots_default(&r);
    snprintf(r.proc, sizeof r.proc, "%s/proc", top);
    snprintf(r.cgroup, sizeof r.cgroup, "%s/cg", top);
    mkdir(r.proc, 0755);
    char d[FP_PATH_MAX];
    snprintf(d, sizeof d, "%s/self", r.proc);
    mkdir(d, 0755);
    mkdir(r.cgroup, 0755);
    put(content("%s/proc-v2/self/mountinfo", fixtures()), "%s/self/mountinfo", r.proc);
    put("0::/deleg\n", "%s/self/cgroup", r.proc);
    put("cpuset cpu io memory pids\n", "%s/cgroup.controllers", r.cgroup);
    put("1\n2\n", "%s/cgroup.procs", r.cgroup);
    snprintf(d, sizeof d, "%s/deleg", r.cgroup);
    mkdir(d, 0755);
    put("domain\n", "%s/deleg/cgroup.type", r.cgroup);
    put("", "%s/deleg/cgroup.procs", r.cgroup);
    put("cpu io memory pids\n", "%s/deleg/cgroup.controllers", r.cgroup);
    put("cpu\n", "%s/deleg/cgroup.subtree_control", r.cgroup);

    fp_cg_layout *l = malloc(sizeof *l);
    fp_cgroup *cg = malloc(sizeof *cg);
    fp_err err = {0};
    ok(fp_cg_layout_read(&r, l, &err) == 0 && l->version == FP_CG_V2, "v2 copy: layout");
    int rc = fp_cgroup_create(&r, l, NULL, "fp-1", cg, &err);
    ok(rc == 0, "created under an empty delegated cgroup (%s)", err.msg);
    is_str(content("%s/deleg/cgroup.subtree_control", r.cgroup), "+memory +io +pids",
           "the missing controllers in one write, domain ones first");
    ok(exists("%s/deleg/fp-1", r.cgroup), "the workload's cgroup exists");
    is_str(cg->rel, "/deleg/fp-1", "its path");
    ok(fp_cgroup_attach(cg, 4321, &err) == 0, "attach (%s)", err.msg);
    is_str(content("%s/deleg/fp-1/cgroup.procs", r.cgroup), "4321", "the pid written to cgroup.procs");
    fp_cgroup_remove(cg, NULL); /* regular files: the rmdir fails here */
    is_str(content("%s/deleg/cgroup.procs", r.cgroup), "4321", "remove moves a leftover process to the parent");
    put("", "%s/deleg/cgroup.procs", r.cgroup);

    /* every controller already enabled: nothing to write */
    put("cpu io memory pids\n", "%s/deleg/cgroup.subtree_control", r.cgroup);
    rc = fp_cgroup_create(&r, l, NULL, "fp-2", cg, &err);
    ok(rc == 0, "created when every controller is enabled already");
    is_str(content("%s/deleg/cgroup.subtree_control", r.cgroup), "cpu io memory pids\n",
           "subtree_control left as it was");

    /* the kernel refuses the write (here: it cannot be opened for writing) */
    snprintf(d, sizeof d, "%s/deleg/cgroup.subtree_control", r.cgroup);
    unlink(d);
    mkdir(d, 0755);
    err.cls = FP_OK;
    rc = fp_cgroup_create(&r, l, NULL, "fp-3", cg, &err);
    ok(rc < 0 && err.cls == FP_ESYS, "a refused subtree_control write fails the creation");
    ok(strstr(err.msg, "cannot enable \"+memory +io +cpu +pids\" in ") &&
       strstr(err.msg, "cgroup.subtree_control") && strstr(err.msg, "Is a directory"),
       "the message names the controllers, the file and the reason: %s", err.msg);
    ok(!exists("%s/deleg/fp-3", r.cgroup), "nothing created");

    /* the root cgroup may hold processes */
    put("0::/\n", "%s/self/cgroup", r.proc);
    rc = fp_cgroup_create(&r, l, NULL, "fp-4", cg, &err);
    ok(rc == 0, "created under the root, which holds processes (%s)", err.msg);
    is_str(cg->rel, "/fp-4", "below the root");
    is_str(content("%s/cgroup.subtree_control", r.cgroup), "+memory +io +cpu +pids", "root: controllers enabled");
    /* a populated cgroup named as the parent is refused as well */
    put("77\n", "%s/deleg/cgroup.procs", r.cgroup);
    err.cls = FP_OK;
    rc = fp_cgroup_create(&r, l, "/deleg", "fp-5", cg, &err);
    ok(rc < 0 && err.cls == FP_EINPUT && strstr(err.msg, "pid 77"), "--cgroup-parent with processes: refused (%s)", err.msg);
    /* a delegated cgroup holding the caller: it moves into the leaf, then
     * each controller is enabled in a write of its own */
    snprintf(d, sizeof d, "%s/sc", r.cgroup);
    mkdir(d, 0755);
    put("", "%s/sc/cgroup.procs", r.cgroup);
    put("cpu io memory pids\n", "%s/sc/cgroup.controllers", r.cgroup);
    put("io\n", "%s/sc/cgroup.subtree_control", r.cgroup);
    err.cls = FP_OK;
    rc = fp_cgroup_enter_leaf(l, "/sc", "supervisor", &err);
    ok(rc == 0, "enter the leaf supervisor (%s)", err.msg);
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    is_str(content("%s/sc/supervisor/cgroup.procs", r.cgroup), self, "the caller's pid written to the leaf");
    is_str(content("%s/sc/cgroup.subtree_control", r.cgroup), "+pids",
           "one write per controller (the fixture keeps the last: +pids)");
    err.cls = FP_OK;
    ok(fp_cgroup_enter_leaf(l, "/sc", "../x", &err) < 0 && err.cls == FP_EUSAGE, "a bad leaf name: refused");
    ok(!fp_cgroup_delegated(l, "/sc"), "no trusted.delegate attribute: not delegated");
    fp_cg_layout hl = *l;
    hl.version = FP_CG_HYBRID;
    err.cls = FP_OK;
    ok(fp_cgroup_enter_leaf(&hl, "/sc", "supervisor", &err) < 0 && err.cls == FP_EUSAGE, "not v2: refused");
    free(cg);
    free(l);
    rm_tree(top);
}

static void test_no_cgroups(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v1", "cgroup-v1");
    snprintf(r.proc, sizeof r.proc, "%s/does-not-exist", fixtures());
    fp_cg_layout *l = malloc(sizeof *l);
    fp_err err = {0};
    ok(fp_cg_layout_read(&r, l, &err) < 0 && err.cls == FP_ESYS && strstr(err.msg, "mountinfo"),
       "unreadable mountinfo: FP_ESYS naming the file (%s)", err.msg);
    free(l);
}

int main(void)
{
    test_hybrid();
    test_v2();
    test_v2_create_refusals();
    test_v2_create();
    test_no_cgroups();
    return done_testing();
}
