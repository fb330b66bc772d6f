/* fuzz-revert: what fp-apply --revert does with allocation records, in
 * libfp, against a fixture cgroup v2 tree in the harness's temporary
 * directory (fp_roots point there; nothing under /sys/fs/cgroup or /proc is
 * read or written): a cgroup v2 tree and a v1 tree (cpu,cpuacct, memory,
 * blkio, pids), the plan's backend choosing. The input is JSON lines: up
 * to 8 `allocation` records ("@CG@" in the input stands for the v2 tree's
 * cgroup root and "@CG1@" for the v1 tree's, so seeds can name knob files
 * there)
 * (other types skipped; records with ok false or dry_run true skipped as
 * fp-apply does), read with fp_reader; each plan is rebuilt
 * (fp_plan_from_allocation, fp_target_from_json), inverted, the target
 * observed at the cgroup the plan names, the memory check made
 * (fp_plan_check_memory) and the inverse committed (fp_act_commit), last
 * record first - the steps of bin/fp-apply.c's revert_all.
 *
 * Deviation, for safety: the plan's pid is cleared before commit, so a
 * "tc:IF" change is refused (it would run tc in that process's network
 * namespace). Every fixture file is put back after an input that reached a
 * commit, so each input starts from the same tree (determinism). */
#include "fuzz.h"
#include <dirent.h>
#include <fp/actuator.h>
#include <fp/roots.h>

#define FZ_MAXF 96
static struct { char path[600]; char text[256]; size_t len; } snap[FZ_MAXF];
static int nsnap;
static fp_roots roots, roots1;
static fp_actuator *act, *act1;

static void put(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        abort();
    }
    if (nsnap == FZ_MAXF) abort();
    snprintf(snap[nsnap].path, sizeof snap[nsnap].path, "%s", path);
    snprintf(snap[nsnap].text, sizeof snap[nsnap].text, "%s", text);
    snap[nsnap].len = strlen(snap[nsnap].text);
    nsnap++;
}

static void mk(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        perror(path);
        abort();
    }
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[700];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(sub);
            else unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static char top[600];
static void cleanup(void) { if (top[0]) rm_tree(top); }

/* The tree of tests/bats/helpers.bash's fp_v2_tree: cgroups /fp/w1 and
 * /fp/w2 using 50 MiB, every knob at the kernel's default, 2 CPUs, 4 GiB,
 * plus /fp/w1/sub and a symbolic link /fp/link -> w1. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(top, sizeof top, "%s/fp-fuzz-revert.XXXXXX", fz_base());
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        abort();
    }
    atexit(cleanup);
    char proc[650], cg[650], d[700];
    snprintf(proc, sizeof proc, "%s/proc", top);
    snprintf(cg, sizeof cg, "%s/cgroup", top);
    mk(proc);
    mk(cg);
    snprintf(d, sizeof d, "%s/self", proc);
    mk(d);
    put(d, "mountinfo", "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "30 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
    put(d, "cgroup", "0::/\n");
    snprintf(d, sizeof d, "%s/4242", proc);
    mk(d);
    put(d, "cgroup", "0::/fp/w2\n");
    put(d, "stat", "4242 (work) S 1 4242 4242 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 100 0 0\n");
    put(proc, "stat", "cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nintr 0\n");
    put(proc, "meminfo", "MemTotal:        4194304 kB\nMemFree:         2097152 kB\n");
    put(cg, "cgroup.controllers", "cpuset cpu io memory pids\n");
    put(cg, "cgroup.subtree_control", "cpu io memory pids\n");
    snprintf(d, sizeof d, "%s/fp", cg);
    mk(d);
    put(d, "cgroup.controllers", "cpu io memory pids\n");
    put(d, "cgroup.subtree_control", "cpu io memory pids\n");
    static const char *const w[] = {"fp/w1", "fp/w2", "fp/w1/sub"};
    for (int i = 0; i < 3; i++) {
        snprintf(d, sizeof d, "%s/%s", cg, w[i]);
        mk(d);
        put(d, "cgroup.controllers", "cpu io memory pids\n");
        put(d, "cgroup.procs", i == 1 ? "4242\n" : "");
        put(d, "cpu.max", "max 100000\n");
        put(d, "cpu.weight", "100\n");
        put(d, "cpu.stat", "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n"
            "nr_periods 10\nnr_throttled 1\nthrottled_usec 5000\n");
        put(d, "memory.current", "52428800\n");
        put(d, "memory.high", "max\n");
        put(d, "memory.max", "max\n");
        put(d, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        put(d, "memory.peak", "62914560\n");
        put(d, "pids.max", "max\n");
        put(d, "pids.current", "3\n");
        put(d, "io.max", "");
    }
    char link[700];
    snprintf(link, sizeof link, "%s/fp/link", cg);
    if (symlink("w1", link) < 0) {
        perror(link);
        abort();
    }
    /* a cgroup v1 tree: /fp/w1 in the cpu,cpuacct, memory, blkio and pids
     * hierarchies */
    char proc1[650], cg1[650];
    snprintf(proc1, sizeof proc1, "%s/proc1", top);
    snprintf(cg1, sizeof cg1, "%s/cgroup1", top);
    mk(proc1);
    mk(cg1);
    snprintf(d, sizeof d, "%s/self", proc1);
    mk(d);
    put(d, "mountinfo", "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n");
    put(d, "cgroup", "5:pids:/\n4:memory:/\n3:blkio:/\n2:cpu,cpuacct:/\n");
    put(proc1, "stat", "cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nintr 0\n");
    put(proc1, "meminfo", "MemTotal:        4194304 kB\nMemFree:         2097152 kB\n");
    static const char *const h1[] = {"cpu,cpuacct", "memory", "blkio", "pids"};
    for (int i = 0; i < 4; i++) {
        snprintf(d, sizeof d, "%s/%s", cg1, h1[i]);
        mk(d);
        snprintf(d, sizeof d, "%s/%s/fp", cg1, h1[i]);
        mk(d);
        snprintf(d, sizeof d, "%s/%s/fp/w1", cg1, h1[i]);
        mk(d);
        put(d, "cgroup.procs", "");
        if (i == 0) {
            put(d, "cpu.cfs_period_us", "100000\n");
            put(d, "cpu.cfs_quota_us", "-1\n");
            put(d, "cpu.shares", "1024\n");
            put(d, "cpu.stat", "nr_periods 10\nnr_throttled 1\nthrottled_time 5000000\n");
            put(d, "cpuacct.usage", "1000000000\n");
        } else if (i == 1) {
            put(d, "memory.usage_in_bytes", "52428800\n");
            put(d, "memory.limit_in_bytes", "9223372036854771712\n");
            put(d, "memory.soft_limit_in_bytes", "9223372036854771712\n");
            put(d, "memory.max_usage_in_bytes", "62914560\n");
            put(d, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        } else if (i == 2) {
            put(d, "blkio.throttle.read_bps_device", "");
            put(d, "blkio.throttle.write_bps_device", "");
        } else {
            put(d, "pids.max", "max\n");
            put(d, "pids.current", "3\n");
        }
    }
    memset(&roots1, 0, sizeof roots1);
    snprintf(roots1.proc, sizeof roots1.proc, "%s", proc1);
    snprintf(roots1.cgroup, sizeof roots1.cgroup, "%s", cg1);
    snprintf(roots1.run, sizeof roots1.run, "%s/run", top);
    snprintf(roots1.docker_sock, sizeof roots1.docker_sock, "%s/docker.sock", top);
    fp_err err1 = {0};
    act1 = fp_act_cgroup_new(&roots1, &err1);
    if (!act1) {
        fprintf(stderr, "fuzz-revert: v1: %s\n", err1.msg);
        abort();
    }
    memset(&roots, 0, sizeof roots);
    snprintf(roots.proc, sizeof roots.proc, "%s", proc);
    snprintf(roots.cgroup, sizeof roots.cgroup, "%s", cg);
    snprintf(roots.run, sizeof roots.run, "%s/run", top);
    snprintf(roots.docker_sock, sizeof roots.docker_sock, "%s/docker.sock", top);
    fp_err err = {0};
    act = fp_act_cgroup_new(&roots, &err);
    if (!act) {
        fprintf(stderr, "fuzz-revert: %s\n", err.msg);
        abort();
    }
    return 0;
}

/* Put back every fixture file a commit changed. */
static void restore(void)
{
    for (int i = 0; i < nsnap; i++) {
        char buf[300];
        int fd = open(snap[i].path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        if (fd >= 0) close(fd);
        if (n == (ssize_t)snap[i].len && memcmp(buf, snap[i].text, snap[i].len) == 0) continue;
        fd = open(snap[i].path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0 || write(fd, snap[i].text, snap[i].len) != (ssize_t)snap[i].len) {
            perror(snap[i].path);
            abort();
        }
        close(fd);
    }
}

#define FZ_ITEMS 8
static struct { fp_plan plan; fp_target tg; } items[FZ_ITEMS];

/* data with every "@CG@" replaced by the v2 tree's cgroup root and every
 * "@CG1@" by the v1 tree's: a new buffer (free it), its length in *len. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
    size_t rl = strlen(roots.cgroup), rl1 = strlen(roots1.cgroup);
    char *out = malloc(size * (rl > rl1 ? rl : rl1) / 4 + size + 1);
    fz_assert(out, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        if (i + 4 <= size && !memcmp(data + i, "@CG@", 4)) {
            memcpy(out + o, roots.cgroup, rl);
            o += rl;
            i += 4;
        } else if (i + 5 <= size && !memcmp(data + i, "@CG1@", 5)) {
            memcpy(out + o, roots1.cgroup, rl1);
            o += rl1;
            i += 5;
        } else {
            out[o++] = (char)data[i++];
        }
    }
    *len = o;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    char *text = expand(data, size, &len);
    const char *path = fz_input(text, len);
    free(text);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fp_reader *rd = fp_reader_new(f, "fuzz", false);
    fz_assert(rd, "out of memory");
    int n = 0;
    bool bad = false;
    while (n < FZ_ITEMS) {
        json_t *rec = NULL;
        fp_err err = {0};
        int k = fp_reader_next(rd, &rec, &err);
        if (k < 0) bad = true;
        if (k < 0 && getenv("FP_FUZZ_VERBOSE")) fprintf(stderr, "fuzz-revert: %s\n", err.msg);
        if (k <= 0) break;
        if (strcmp(fp_record_type(rec), "allocation") == 0 &&
            !json_is_false(json_object_get(rec, "ok")) && !json_is_true(json_object_get(rec, "dry_run"))) {
            if (fp_plan_from_allocation(rec, &items[n].plan, &err) < 0 ||
                fp_target_from_json(rec, &items[n].tg, &err) < 0)
                bad = true;
            else
                n++;
        }
        json_decref(rec);
        if (bad) break;
    }
    fp_reader_free(rd);
    fclose(f);
    if (bad) return 0;          /* fp-apply reverts nothing after a bad input */
    bool committed = false;
    for (int i = n - 1; i >= 0; i--) {
        static fp_plan inv;
        fp_plan_invert(&items[i].plan, &inv);
        inv.pid = 0;            /* no tc (see above) */
        fp_target where = items[i].tg;
        if (!where.cgroup[0]) snprintf(where.cgroup, sizeof where.cgroup, "%s", inv.object);
        fp_observed o;
        fp_err err = {0};
        fp_actuator *a = strcmp(inv.backend, "cgroup-v1") == 0 ? act1 : act;
        int rc = fp_act_observe(a, &where, &o, &err);
        if (rc == 0) rc = fp_plan_check_memory(&inv, o.mem_bytes, &err);
        if (rc == 0) {
            rc = fp_act_commit(a, &inv, &err);
            committed = true;
        }
        fz_assert(rc == 0 || err.msg[0], "an error without a message");
        if (getenv("FP_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz-revert: %s %s: %s\n", inv.backend, inv.object, rc == 0 ? "reverted" : err.msg);
        json_t *rec = NULL;
        fp_allocation al = { .target = items[i].tg, .t = 1, .ts = 0, .reason = "revert",
                             .horizon_s = -1, .prediction_t = -1, .ok = rc == 0,
                             .error = rc == 0 ? NULL : err.msg, .plan = &inv };
        fp_limits_unset(&al.limits);
        rec = fp_allocation_to_json(&al);
        fz_assert(rec, "fp_allocation_to_json failed");
        json_decref(rec);
    }
    if (committed) restore();
    return 0;
}
