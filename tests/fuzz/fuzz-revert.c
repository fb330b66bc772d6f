/* fuzz-revert: what fp-apply --revert does with allocation records, in
 * libfp, against a fixture cgroup v2 tree in the harness's temporary
 * directory (fp_roots point there; nothing under /sys/fs/cgroup or /proc is
 * read or written). The input is JSON lines: up to 8 `allocation` records
 * ("@CG@" in the input stands for the fixture tree's cgroup root, so seeds
 * can name knob files there)
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

#define FZ_MAXF 64
static struct { char path[600]; char text[256]; size_t len; } snap[FZ_MAXF];
static int nsnap;
static fp_roots roots;
static fp_actuator *act;

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

/* data with every "@CG@" replaced by the fixture cgroup root: a new
 * buffer (free it), its length in *len. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
    size_t rl = strlen(roots.cgroup), k = 0;
    for (size_t i = 0; i + 4 <= size; i++)
        if (!memcmp(data + i, "@CG@", 4)) k++;
    char *out = malloc(size + k * rl + 1);
    fz_assert(out, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        if (i + 4 <= size && !memcmp(data + i, "@CG@", 4)) {
            memcpy(out + o, roots.cgroup, rl);
            o += rl;
            i += 4;
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
        int rc = fp_act_observe(act, &where, &o, &err);
        if (rc == 0) rc = fp_plan_check_memory(&inv, o.mem_bytes, &err);
        if (rc == 0) {
            rc = fp_act_commit(act, &inv, &err);
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
