/* test-act-cgroup.c - the cgroup actuator: plans, commits, reverts and
 * refusals on a v2 tree built at run time in a temporary directory (knob
 * files are regular files there), then on the real cgroup v1/hybrid
 * hierarchy when running as root. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/actuator.h"
#include "fp/cgroup.h"
#include "tap.h"

static char top[FP_PATH_MAX];   /* the temporary tree */
static int rc_;                 /* result of the call a check looks at */

static void put(const char *content, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(const char *content, const char *fmt, ...)
{
    char p[FP_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    FILE *f = fopen(p, "w");
    if (!f) { printf("# cannot create %s\n", p); return; }
    fputs(content, f);
    fclose(f);
}

/* File content (static buffer, "<missing>" when unreadable). */
static const char *got(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *got(const char *fmt, ...)
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

static void mkdirf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirf(const char *fmt, ...)
{
    char p[FP_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    mkdir(p, 0755);
}

/* A cgroup directory of the fixture with default knob files. */
static void make_cgroup(const char *rel)
{
    mkdirf("%s/cg%s", top, rel);
    put("max 100000", "%s/cg%s/cpu.max", top, rel);
    put("100", "%s/cg%s/cpu.weight", top, rel);
    put("max", "%s/cg%s/memory.high", top, rel);
    put("max", "%s/cg%s/memory.max", top, rel);
    put("104857600\n", "%s/cg%s/memory.current", top, rel);
    put("", "%s/cg%s/io.max", top, rel);
    put("8:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n", "%s/cg%s/io.stat", top, rel);
    put("max", "%s/cg%s/pids.max", top, rel);
    put("usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnr_periods 0\n"
        "nr_throttled 0\nthrottled_usec 250000\n", "%s/cg%s/cpu.stat", top, rel);
    put("oom 0\noom_kill 3\n", "%s/cg%s/memory.events", top, rel);
    put("", "%s/cg%s/cgroup.procs", top, rel);
}

static void build_tree(fp_roots *r)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof top, "%s/fp-act-cgroup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(top)) { printf("# cannot make a temporary directory\n"); exit(1); }
    mkdirf("%s/proc", top);
    mkdirf("%s/proc/self", top);
    mkdirf("%s/proc/4242", top);
    mkdirf("%s/cg", top);
    put("22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "30 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n",
        "%s/proc/self/mountinfo", top);
    put("0::/\n", "%s/proc/self/cgroup", top);
    put("0::/fp/x\n", "%s/proc/4242/cgroup", top);
    put("major minor  #blocks  name\n\n"
        "   7        0     1024 loop0\n   1        0     4096 ram0\n 252        0     4096 zram0\n"
        "   8        0  1000000 sda\n   8        1   500000 sda1\n 259        0  1000000 nvme0n1\n"
        " 259        1   500000 nvme0n1p1\n 179        0  1000000 mmcblk0\n 179        1   1000 mmcblk0p1\n"
        "   9        0  1000000 md0\n 253        0  1000000 dm-0\n", "%s/proc/partitions", top);
    mkdirf("%s/cg/fp", top);
    make_cgroup("/fp/x");
    fp_roots_default(r);
    snprintf(r->proc, sizeof r->proc, "%s/proc", top);
    snprintf(r->cgroup, sizeof r->cgroup, "%s/cg", top);
}

static fp_target target(const char *cgroup, int pid)
{
    fp_target t;
    memset(&t, 0, sizeof t);
    snprintf(t.cgroup, sizeof t.cgroup, "%s", cgroup);
    t.pid = pid;
    return t;
}

/* index of knob in plan, or -1 */
static int find(const fp_plan *p, const char *knob)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->ch[i].knob, knob)) return i;
    return -1;
}

static void test_v2_plan_commit_revert(const fp_roots *r, fp_actuator *a)
{
    fp_err err = {0};
    is_str(fp_act_name(a), "cgroup-v2", "v2: back-end named by layout");
    fp_target tg = target("/fp/x", 0);

    fp_observed o;
    rc_ = fp_act_observe(a, &tg, &o, &err);
    ok(rc_ == 0, "v2: observe (%s)", err.msg);
    is_near(o.mem_bytes, 104857600, 0, "observe: memory usage");
    is_near(o.oom_kills, 3, 0, "observe: oom kills");
    is_near(o.cpu_s, 2.0, 1e-12, "observe: cpu seconds");
    is_near(o.throttled_s, 0.25, 1e-12, "observe: throttled seconds");
    is_near(o.now.cpu_max_cores, FP_UNLIMITED, 0, "observe: no cpu quota is unlimited");
    is_near(o.now.cpu_weight_cores, 1.0, 1e-12, "observe: weight 100 is one core");
    is_near(o.now.mem_max_bytes, FP_UNLIMITED, 0, "observe: memory.max max");
    is_near(o.now.io_read_Bps, FP_UNLIMITED, 0, "observe: empty io.max");
    is_near(o.now.pids_max, FP_UNLIMITED, 0, "observe: pids.max max");
    is_near(o.now.net_tx_Bps, FP_UNSET, 0, "observe: egress not read");

    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 0.5;
    w.cpu_weight_cores = 2;
    w.mem_high_bytes = 512.0 * 1048576;
    w.mem_max_bytes = 1024.0 * 1048576;
    w.io_read_Bps = 1048576;
    w.io_write_Bps = FP_UNLIMITED;
    w.pids_max = 100;
    fp_plan *p = malloc(sizeof *p), *inv = malloc(sizeof *inv);
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0, "v2: plan (%s)", err.msg);
    is_str(p->backend, "cgroup-v2", "plan backend");
    is_str(p->object, "/fp/x", "plan object is the cgroup path");
    is_int(p->n, 6, "six changes");
    is_int(p->n_unsupported, 0, "nothing unsupported");
    const char *want[][3] = {
        {"cpu.max", "50000 100000", "max 100000"},
        {"cpu.weight", "200", "100"},
        {"memory.high", "536870912", "max"},
        {"memory.max", "1073741824", "max"},
        {"io.max:8:0", "8:0 rbps=1048576 wbps=max", "8:0 rbps=max wbps=max"},
        {"pids.max", "100", "max"},
    };
    for (int i = 0; i < 6 && i < p->n; i++) {
        is_str(p->ch[i].knob, want[i][0], "change %d knob", i);
        is_str(p->ch[i].value, want[i][1], "change %d (%s) value", i, want[i][0]);
        is_str(p->ch[i].previous, want[i][2], "change %d (%s) previous", i, want[i][0]);
    }
    char path[FP_PATH_MAX];
    snprintf(path, sizeof path, "%s/cg/fp/x/cpu.max", top);
    is_str(p->ch[0].path, path, "change path is the absolute knob file");
    ok(find(p, "memory.high") < find(p, "memory.max"), "memory shrinking from max: high before max");

    rc_ = fp_act_commit(a, p, &err);

    ok(rc_ == 0, "v2: commit (%s)", err.msg);
    is_str(got("%s/cg/fp/x/cpu.max", top), "50000 100000", "cpu.max written exactly");
    is_str(got("%s/cg/fp/x/cpu.weight", top), "200", "cpu.weight written");
    is_str(got("%s/cg/fp/x/memory.high", top), "536870912", "memory.high written");
    is_str(got("%s/cg/fp/x/memory.max", top), "1073741824", "memory.max written");
    is_str(got("%s/cg/fp/x/io.max", top), "8:0 rbps=1048576 wbps=max", "io.max written");
    is_str(got("%s/cg/fp/x/pids.max", top), "100", "pids.max written");

    rc_ = fp_act_observe(a, &tg, &o, &err);

    ok(rc_ == 0, "observe after commit");
    is_near(o.now.cpu_max_cores, 0.5, 1e-12, "observe: cpu.max 0.5 cores");
    is_near(o.now.cpu_weight_cores, 2, 1e-12, "observe: weight 2 cores");
    is_near(o.now.mem_high_bytes, 536870912, 0, "observe: memory.high");
    is_near(o.now.io_read_Bps, 1048576, 0, "observe: io read limit");
    is_near(o.now.io_write_Bps, FP_UNLIMITED, 0, "observe: io write unlimited");
    is_near(o.now.pids_max, 100, 0, "observe: pids.max");

    fp_plan *again = malloc(sizeof *again);
    rc_ = fp_act_plan(a, &tg, &w, again, &err);
    ok(rc_ == 0 && again->n == 0,
       "same limits again: nothing to change (%d changes)", again->n);

    /* Revert through an allocation record, as fp-apply --revert does. */
    json_t *rec = fp_record_new("allocation", &tg, 0, 0);
    json_object_set_new(rec, "backend", json_string(p->backend));
    json_object_set_new(rec, "object", json_string(p->object));
    json_object_set_new(rec, "changes", fp_plan_changes_json(p));
    fp_plan *back = malloc(sizeof *back);
    rc_ = fp_plan_from_allocation(rec, back, &err);
    ok(rc_ == 0, "plan from the allocation record (%s)", err.msg);
    json_decref(rec);
    fp_plan_invert(back, inv);
    rc_ = fp_act_commit(a, inv, &err);
    ok(rc_ == 0, "revert commit (%s)", err.msg);
    is_str(got("%s/cg/fp/x/cpu.max", top), "max 100000", "revert: cpu.max restored");
    is_str(got("%s/cg/fp/x/cpu.weight", top), "100", "revert: cpu.weight restored");
    is_str(got("%s/cg/fp/x/memory.high", top), "max", "revert: memory.high restored");
    is_str(got("%s/cg/fp/x/memory.max", top), "max", "revert: memory.max restored");
    is_str(got("%s/cg/fp/x/io.max", top), "8:0 rbps=max wbps=max", "revert: io.max restored");
    is_str(got("%s/cg/fp/x/pids.max", top), "max", "revert: pids.max restored");

    /* Growing memory: the hard limit first. */
    put("1073741824", "%s/cg/fp/x/memory.max", top);
    put("536870912", "%s/cg/fp/x/memory.high", top);
    fp_limits_unset(&w);
    w.mem_high_bytes = 1024.0 * 1048576;
    w.mem_max_bytes = 2048.0 * 1048576;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 2, "grow memory: two changes (%s)", err.msg);
    is_str(p->ch[0].knob, "memory.max", "grow: memory.max first");
    is_str(p->ch[1].knob, "memory.high", "grow: memory.high second");
    is_str(p->ch[0].previous, "1073741824", "grow: previous value read");

    /* Shrinking from a finite limit: the soft one first. */
    fp_limits_unset(&w);
    w.mem_high_bytes = 200.0 * 1048576;
    w.mem_max_bytes = 300.0 * 1048576;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 2, "shrink memory: two changes");
    is_str(p->ch[0].knob, "memory.high", "shrink: memory.high first");

    /* Memory limits are rounded down to pages. */
    long page = sysconf(_SC_PAGESIZE);
    fp_limits_unset(&w);
    w.mem_max_bytes = 300.0 * 1048576 + 1;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 1, "unaligned memory.max planned");
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)((300LL * 1048576 + 1) / page * page));
    is_str(p->n ? p->ch[0].value : "", num, "memory.max rounded down to whole pages");

    /* Unlimited where already unlimited, unset fields: no change. */
    fp_limits_unset(&w);
    w.cpu_max_cores = FP_UNLIMITED;
    w.pids_max = FP_UNLIMITED;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 0, "unlimited over unlimited: no change");
    w.cpu_max_cores = 0.001;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 1, "tiny quota planned");
    is_str(p->ch[0].value, "1000 100000", "quota clamped to the kernel's 1 ms minimum");

    /* A target by pid. */
    fp_target bypid = target("", 4242);
    fp_limits_unset(&w);
    w.pids_max = 7;
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ == 0, "plan by pid (%s)", err.msg);
    is_str(p->object, "/fp/x", "pid resolved to its cgroup");
    is_int(p->pid, 4242, "plan keeps the pid");
    is_str(p->n ? p->ch[0].value : "", "7", "pids by pid");

    /* Whitespace of the current value is normalised for the previous one. */
    put("  20000\t 100000 \n", "%s/cg/fp/x/cpu.max", top);
    fp_limits_unset(&w);
    w.cpu_max_cores = 1;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 1, "plan over an odd-spaced cpu.max");
    is_str(p->ch[0].previous, "20000 100000", "previous value normalised");
    put("max 100000", "%s/cg/fp/x/cpu.max", top);
    put("max", "%s/cg/fp/x/memory.max", top);
    put("max", "%s/cg/fp/x/memory.high", top);

    free(again);
    free(back);
    free(p);
    free(inv);
}

static void test_v2_refusals(const fp_roots *r, fp_actuator *a)
{
    fp_err err = {0};
    fp_target tg = target("/fp/x", 0);
    fp_plan *p = malloc(sizeof *p);
    fp_limits w;

    /* Memory below the usage (100 MiB). */
    fp_limits_unset(&w);
    w.cpu_max_cores = 1;
    w.mem_max_bytes = 50.0 * 1048576;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "memory.max below usage refused");
    ok(strstr(err.msg, "52428800") && strstr(err.msg, "104857600") && strstr(err.msg, "MiB"),
       "refusal gives both numbers: %s", err.msg);
    fp_limits_unset(&w);
    w.mem_high_bytes = 50.0 * 1048576;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "memory.high"),
       "memory.high below usage refused too");
    is_str(got("%s/cg/fp/x/memory.max", top), "max", "refusal: memory.max unchanged");
    is_str(got("%s/cg/fp/x/cpu.max", top), "max 100000", "refusal: cpu.max unchanged");

    /* Neither cgroup nor pid. */
    fp_target none = target("", 0);
    fp_limits_unset(&w);
    w.pids_max = 5;
    rc_ = fp_act_plan(a, &none, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "neither a cgroup nor a pid"), "target without cgroup or pid: %s", err.msg);

    /* "..": in the target, and in a plan's path. */
    fp_target dots = target("/fp/../fp/x", 0);
    rc_ = fp_act_plan(a, &dots, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "'..' in the target refused");
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "cgroup-v2");
    p->n = 1;
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "pids.max");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1");
    snprintf(p->ch[0].previous, sizeof p->ch[0].previous, "max");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/fp/../fp/x/pids.max", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, ".."),
       "'..' in a change path refused: %s", err.msg);
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/proc/pids.max", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "not below"),
       "a path outside the cgroup mount refused: %s", err.msg);
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/fp/x/cgroup.procs", top);
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "cgroup.procs");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "not a cgroup-v2 knob"),
       "a file that is no knob refused: %s", err.msg);
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/fp/x/pids.max", top);
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "cpu.max");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "knob not matching its file refused");
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "pids.max");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1\nmax");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "multi-line value refused");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1");
    snprintf(p->backend, sizeof p->backend, "cgroup-v1");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "plan of another back-end refused");
    is_str(got("%s/cg/fp/x/pids.max", top), "max", "refused commits wrote nothing");

    /* Symlinks: a symlinked cgroup directory, and a symlinked knob file. */
    make_cgroup("/real");
    char lp[FP_PATH_MAX];
    snprintf(lp, sizeof lp, "%s/cg/fp/link", top);
    ok(symlink("../real", lp) == 0, "made a symlinked cgroup");
    fp_target link = target("/fp/link", 0);
    rc_ = fp_act_plan(a, &link, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "refusing symlinked cgroup path"), "symlinked cgroup refused: %s", err.msg);
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "cgroup-v2");
    p->n = 1;
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "pids.max");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1");
    snprintf(p->ch[0].previous, sizeof p->ch[0].previous, "max");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/fp/link/pids.max", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "symlink"),
       "commit through a symlinked directory refused: %s", err.msg);
    is_str(got("%s/cg/real/pids.max", top), "max", "nothing written through the symlink");
    mkdirf("%s/cg/fp/y", top);
    make_cgroup("/fp/y");
    snprintf(lp, sizeof lp, "%s/cg/fp/y/pids.max", top);
    unlink(lp);
    ok(symlink("../../real/pids.max", lp) == 0, "made a symlinked knob file");
    fp_target y = target("/fp/y", 0);
    rc_ = fp_act_plan(a, &y, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "symlink"),
       "symlinked knob file refused at plan: %s", err.msg);
    p->n = 1;
    snprintf(p->backend, sizeof p->backend, "cgroup-v2");
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "pids.max");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1");
    snprintf(p->ch[0].previous, sizeof p->ch[0].previous, "max");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s", lp);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "symlink"),
       "symlinked knob file refused at commit: %s", err.msg);
    is_str(got("%s/cg/real/pids.max", top), "max", "symlink target untouched");

    /* A cgroup without cpu files (controller not enabled): unsupported. */
    mkdirf("%s/cg/fp/nocpu", top);
    put("max", "%s/cg/fp/nocpu/pids.max", top);
    put("", "%s/cg/fp/nocpu/io.stat", top);
    fp_target nocpu = target("/fp/nocpu", 0);
    fp_limits_unset(&w);
    w.cpu_max_cores = 1;
    w.pids_max = 9;
    w.net_tx_Bps = 1e6;
    fp_err_clear(&err);
    rc_ = fp_act_plan(a, &nocpu, &w, p, &err);
    ok(rc_ == 0, "plan on a cgroup without cpu files (%s)", err.msg);
    is_int(p->n, 1, "only pids.max planned");
    is_int(p->n_unsupported, 2, "cpu and net unsupported");
    is_str(p->unsupported[0].limit, "cpu_max_cores", "cpu_max_cores unsupported");
    ok(strstr(p->unsupported[0].why, "cpu.max") != NULL, "reason names the file: %s", p->unsupported[0].why);
    is_str(p->unsupported[1].limit, "net_tx_Bps", "net without a pid unsupported");

    /* io devices from <proc>/partitions when the cgroup has no io stats. */
    put("", "%s/cg/fp/nocpu/io.max", top);
    fp_limits_unset(&w);
    w.io_write_Bps = 2000000;
    fp_err_clear(&err);
    rc_ = fp_act_plan(a, &nocpu, &w, p, &err);
    ok(rc_ == 0, "io plan from partitions (%s)", err.msg);
    const char *disks[] = {"8:0", "259:0", "179:0", "9:0", "253:0"};
    is_int(p->n, 5, "whole disks only: sda nvme0n1 mmcblk0 md0 dm-0");
    for (int i = 0; i < 5 && i < p->n; i++) {
        char k[64], v[64];
        snprintf(k, sizeof k, "io.max:%s", disks[i]);
        snprintf(v, sizeof v, "%s wbps=2000000", disks[i]);
        is_str(p->ch[i].knob, k, "disk %d knob", i);
        is_str(p->ch[i].value, v, "disk %d value (only wbps)", i);
    }
    put("major minor  #blocks  name\n\n   7        0     1024 loop0\n   1        0     4096 ram0\n",
        "%s/proc/partitions", top);
    rc_ = fp_act_plan(a, &nocpu, &w, p, &err);
    ok(rc_ == 0 && p->n == 0 && p->n_unsupported == 1,
       "no disk at all: io unsupported");
    is_str(p->unsupported[0].limit, "io_write_Bps", "unsupported io limit named");
    free(p);
}

/* A failing write in the middle rolls back the earlier ones. */
static void test_v2_rollback(const fp_roots *r, fp_actuator *a)
{
    fp_err err = {0};
    fp_target tg = target("/fp/x", 0);
    fp_plan *p = malloc(sizeof *p);
    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 2;
    w.cpu_weight_cores = 3;
    w.mem_max_bytes = 1024.0 * 1048576;
    w.pids_max = 50;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 4, "rollback: four changes planned");
    char mp[FP_PATH_MAX];
    snprintf(mp, sizeof mp, "%s/cg/fp/x/memory.max", top);
    unlink(mp);
    mkdir(mp, 0755);   /* open(O_WRONLY) now fails with EISDIR */
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_ESYS, "commit fails on the directory");
    ok(strstr(err.msg, "memory.max") != NULL, "error names the knob: %s", err.msg);
    ok(strstr(err.msg, "rolled back") != NULL, "error says earlier writes were rolled back");
    is_int(err.sys_errno, EISDIR, "errno kept");
    is_str(got("%s/cg/fp/x/cpu.max", top), "max 100000", "rollback: cpu.max has its old content");
    is_str(got("%s/cg/fp/x/cpu.weight", top), "100", "rollback: cpu.weight has its old content");
    is_str(got("%s/cg/fp/x/pids.max", top), "max", "rollback: later pids.max never written");
    rmdir(mp);
    put("max", "%s", mp);

    /* The first write failing: nothing was changed. */
    fp_limits_unset(&w);
    w.pids_max = 50;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 1, "one change planned");
    snprintf(mp, sizeof mp, "%s/cg/fp/x/pids.max", top);
    unlink(mp);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && strstr(err.msg, "nothing was changed") && strstr(err.msg, "pids.max"),
       "missing knob file: %s", err.msg);
    put("max", "%s", mp);
    free(p);
}

/* <proc>/PID/stat with parent ppid (the fields the check reads). */
static void proc_stat(int pid, int ppid)
{
    mkdirf("%s/proc/%d", top, pid);
    char line[256];
    snprintf(line, sizeof line, "%d (sh x) S %d %d %d 0 -1 4194560 10 0 0 0 1 1 0 0 20 0 1 0 "
             "100 1000 50 18446744073709551615\n", pid, ppid, pid, pid);
    put(line, "%s/proc/%d/stat", top, pid);
}

/* A target given by pid: limited only when its cgroup holds nothing but
 * its process tree, or with fp_act_cgroup_whole. */
static void test_v2_sharing(const fp_roots *r, fp_actuator *a)
{
    fp_err err = {0};
    fp_plan *p = malloc(sizeof *p);
    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 0.5;
    w.pids_max = 9;
    proc_stat(4242, 1);
    proc_stat(4243, 4242);      /* its child */
    proc_stat(4244, 4243);      /* its grandchild */
    proc_stat(4300, 1);         /* a stranger */
    fp_target bypid = target("", 4242);

    put("4242\n4243\n4244\n", "%s/cg/fp/x/cgroup.procs", top);
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ == 0 && p->n == 2, "by pid, alone with its descendants: planned (%s)", err.msg);
    is_str(p->object, "/fp/x", "on its own cgroup");

    put("4242\n4300\n4243\n", "%s/cg/fp/x/cgroup.procs", top);
    err.cls = FP_OK;
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "by pid, sharing its cgroup with another process: refused (FP_EINPUT)");
    ok(strstr(err.msg, "refusing to limit pid 4242 through its cgroup2 cgroup /fp/x: that cgroup also holds pid 4300") != NULL,
       "the refusal names the cgroup and the other process: %s", err.msg);
    ok(strstr(err.msg, "--whole-cgroup") && strstr(err.msg, "--cgroup-parent") && strstr(err.msg, "Delegate=yes"),
       "the refusal says what to do");
    fp_observed o;
    err.cls = FP_OK;
    rc_ = fp_act_observe(a, &bypid, &o, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "observe refuses it as well");
    is_str(got("%s/cg/fp/x/cpu.max", top), "max 100000", "cpu.max untouched");

    /* a process in a descendant cgroup counts */
    put("4242\n", "%s/cg/fp/x/cgroup.procs", top);
    mkdirf("%s/cg/fp/x/inner", top);
    put("4300\n", "%s/cg/fp/x/inner/cgroup.procs", top);
    err.cls = FP_OK;
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "pid 4300"),
       "another process in a descendant cgroup: refused (%s)", err.msg);
    put("4243\n", "%s/cg/fp/x/inner/cgroup.procs", top);
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ == 0, "its own child in a descendant cgroup: planned (%s)", err.msg);

    /* a child given by pid does not own its parent's cgroup */
    fp_target child = target("", 4243);
    put("0::/fp/x\n", "%s/proc/4243/cgroup", top);
    put("4242\n4243\n", "%s/cg/fp/x/cgroup.procs", top);
    err.cls = FP_OK;
    rc_ = fp_act_plan(a, &child, &w, p, &err);
    ok(rc_ < 0 && strstr(err.msg, "also holds pid 4242"), "pid 4243 is not alone: its parent 4242 is there (%s)", err.msg);

    /* --whole-cgroup */
    put("4242\n4300\n", "%s/cg/fp/x/cgroup.procs", top);
    ok(fp_act_cgroup_whole(a, true, &err) == 0, "whole cgroup allowed");
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ == 0 && p->n == 2 && !strcmp(p->object, "/fp/x"), "with whole: the shared cgroup is planned (%s)", err.msg);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ == 0, "and committed (%s)", err.msg);
    is_str(got("%s/cg/fp/x/cpu.max", top), "50000 100000", "cpu.max written");
    fp_plan *inv = malloc(sizeof *inv);
    fp_plan_invert(p, inv);
    ok(fp_act_commit(a, inv, &err) == 0, "reverted");
    free(inv);
    fp_act_cgroup_whole(a, false, NULL);
    err.cls = FP_OK;
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "whole switched off: refused again");

    /* a named cgroup is the caller's choice */
    fp_target named = target("/fp/x", 4242);
    rc_ = fp_act_plan(a, &named, &w, p, &err);
    ok(rc_ == 0 && !strcmp(p->object, "/fp/x"), "a target with a cgroup path is that cgroup (%s)", err.msg);

    fp_actuator *k = fp_act_k8s_new(NULL, "default", &err);
    err.cls = FP_OK;
    ok(k && fp_act_cgroup_whole(k, true, &err) < 0 && err.cls == FP_EUSAGE, "whole on another back-end: FP_EUSAGE");
    fp_act_free(k);

    char inner[FP_PATH_MAX];
    snprintf(inner, sizeof inner, "%s/cg/fp/x/inner/cgroup.procs", top);
    unlink(inner);
    snprintf(inner, sizeof inner, "%s/cg/fp/x/inner", top);
    rmdir(inner);
    put("", "%s/cg/fp/x/cgroup.procs", top);
    free(p);
    (void)r;
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

static void test_v2(void)
{
    fp_roots r;
    build_tree(&r);
    fp_err err = {0};
    fp_actuator *a = fp_act_cgroup_new(&r, &err);
    ok(a != NULL, "v2 actuator created (%s)", err.msg);
    if (a) {
        test_v2_plan_commit_revert(&r, a);
        test_v2_refusals(&r, a);
        test_v2_rollback(&r, a);
        test_v2_sharing(&r, a);
    }
    fp_act_free(a);

    /* No cgroups at all. */
    put("22 1 0:21 / /proc rw,nosuid - proc proc rw\n", "%s/proc/self/mountinfo", top);
    fp_actuator *none = fp_act_cgroup_new(&r, &err);
    ok(none == NULL && err.cls == FP_ESYS, "no cgroup mount: %s", err.msg);
    fp_act_free(none);
    rm_tree(top);
}

/* ---- v1 (hybrid) on a fixture tree --------------------------------------- */

static void test_v1_fixture(void)
{
    fp_roots r;
    build_tree(&r);
    put("22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
        "%s/proc/self/mountinfo", top);
    const char *ctl[] = {"cpu,cpuacct", "memory", "blkio", "pids", "unified"};
    for (int i = 0; i < 5; i++) {
        mkdirf("%s/cg/%s", top, ctl[i]);
        mkdirf("%s/cg/%s/w", top, ctl[i]);
    }
    const char *unlim = "9223372036854771712";
    put("50000", "%s/cg/cpu,cpuacct/w/cpu.cfs_period_us", top);
    put("-1", "%s/cg/cpu,cpuacct/w/cpu.cfs_quota_us", top);
    put("1024", "%s/cg/cpu,cpuacct/w/cpu.shares", top);
    put(unlim, "%s/cg/memory/w/memory.soft_limit_in_bytes", top);
    put(unlim, "%s/cg/memory/w/memory.limit_in_bytes", top);
    put(unlim, "%s/cg/memory/w/memory.memsw.limit_in_bytes", top);
    put("10485760\n", "%s/cg/memory/w/memory.usage_in_bytes", top);
    put("8:0 Read 10\n8:0 Write 0\n8:0 Total 10\nTotal 10\n", "%s/cg/blkio/w/blkio.throttle.io_service_bytes", top);
    put("", "%s/cg/blkio/w/blkio.throttle.read_bps_device", top);
    put("8:0 2097152", "%s/cg/blkio/w/blkio.throttle.write_bps_device", top);
    put("max", "%s/cg/pids/w/pids.max", top);

    fp_err err = {0};
    fp_actuator *a = fp_act_cgroup_new(&r, &err);
    ok(a != NULL, "v1: actuator (%s)", err.msg);
    if (!a) { rm_tree(top); return; }
    is_str(fp_act_name(a), "cgroup-v1", "v1: hybrid layout is cgroup-v1");
    fp_target tg = target("/w", 0);
    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 1.5;
    w.cpu_weight_cores = 0.001;
    w.mem_high_bytes = 64.0 * 1048576;
    w.mem_max_bytes = 128.0 * 1048576;
    w.io_read_Bps = 1048576;
    w.io_write_Bps = FP_UNLIMITED;
    w.pids_max = FP_UNLIMITED;
    fp_plan *p = malloc(sizeof *p), *inv = malloc(sizeof *inv);
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0, "v1: plan (%s)", err.msg);
    const char *want[][3] = {
        {"cpu.cfs_period_us", "100000", "50000"},
        {"cpu.cfs_quota_us", "150000", "-1"},
        {"cpu.shares", "2", "1024"},
        {"memory.soft_limit_in_bytes", "67108864", "9223372036854771712"},
        {"memory.limit_in_bytes", "134217728", "9223372036854771712"},
        {"blkio.throttle.read_bps_device:8:0", "8:0 1048576", "8:0 0"},
        {"blkio.throttle.write_bps_device:8:0", "8:0 0", "8:0 2097152"},
    };
    is_int(p->n, 7, "v1: seven changes (pids already unlimited)");
    for (int i = 0; i < 7 && i < p->n; i++) {
        is_str(p->ch[i].knob, want[i][0], "v1 change %d knob", i);
        is_str(p->ch[i].value, want[i][1], "v1 change %d (%s) value", i, want[i][0]);
        is_str(p->ch[i].previous, want[i][2], "v1 change %d (%s) previous", i, want[i][0]);
    }
    char path[FP_PATH_MAX];
    snprintf(path, sizeof path, "%s/cg/memory/w/memory.limit_in_bytes", top);
    is_str(p->n > 4 ? p->ch[4].path : "", path, "v1: knob file in its controller's hierarchy");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ == 0, "v1: commit (%s)", err.msg);
    is_str(got("%s/cg/cpu,cpuacct/w/cpu.cfs_quota_us", top), "150000", "v1: quota written");
    is_str(got("%s/cg/memory/w/memory.limit_in_bytes", top), "134217728", "v1: hard limit written");
    is_str(got("%s/cg/blkio/w/blkio.throttle.write_bps_device", top), "8:0 0", "v1: write limit removed");
    fp_observed o;
    rc_ = fp_act_observe(a, &tg, &o, &err);
    ok(rc_ == 0, "v1: observe (%s)", err.msg);
    is_near(o.now.cpu_max_cores, 1.5, 1e-12, "v1: observed quota/period");
    is_near(o.now.cpu_weight_cores, 2 / 1024.0, 1e-12, "v1: observed shares");
    is_near(o.now.mem_high_bytes, 67108864, 0, "v1: observed soft limit");
    is_near(o.now.io_read_Bps, 1048576, 0, "v1: observed read limit");
    is_near(o.now.pids_max, FP_UNLIMITED, 0, "v1: observed pids");
    is_near(o.mem_bytes, 10485760, 0, "v1: observed usage");
    fp_plan_invert(p, inv);
    rc_ = fp_act_commit(a, inv, &err);
    ok(rc_ == 0, "v1: revert (%s)", err.msg);
    is_str(got("%s/cg/cpu,cpuacct/w/cpu.cfs_period_us", top), "50000", "v1 revert: period");
    is_str(got("%s/cg/cpu,cpuacct/w/cpu.cfs_quota_us", top), "-1", "v1 revert: quota");
    is_str(got("%s/cg/cpu,cpuacct/w/cpu.shares", top), "1024", "v1 revert: shares");
    is_str(got("%s/cg/memory/w/memory.soft_limit_in_bytes", top), unlim, "v1 revert: soft limit");
    is_str(got("%s/cg/memory/w/memory.limit_in_bytes", top), unlim, "v1 revert: hard limit");
    is_str(got("%s/cg/blkio/w/blkio.throttle.read_bps_device", top), "8:0 0", "v1 revert: read limit removed");
    is_str(got("%s/cg/blkio/w/blkio.throttle.write_bps_device", top), "8:0 2097152", "v1 revert: write limit");

    /* Refusals particular to v1. */
    put("104857600", "%s/cg/memory/w/memory.memsw.limit_in_bytes", top);
    fp_limits_unset(&w);
    w.mem_max_bytes = 128.0 * 1048576;
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "memsw"), "v1: limit above memsw refused: %s", err.msg);
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "cgroup-v1");
    p->n = 1;
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "memory.limit_in_bytes");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "1");
    snprintf(p->ch[0].previous, sizeof p->ch[0].previous, "-1");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/cpu,cpuacct/w/memory.limit_in_bytes", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "memory cgroup mount"),
       "v1: knob under another controller's mount refused: %s", err.msg);
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "cpu.max");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/cpu,cpuacct/w/cpu.max", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "v1: a v2 knob refused: %s", err.msg);
    snprintf(p->ch[0].knob, sizeof p->ch[0].knob, "blkio.throttle.read_bps_device:8:0");
    snprintf(p->ch[0].value, sizeof p->ch[0].value, "8:1 5");
    snprintf(p->ch[0].previous, sizeof p->ch[0].previous, "8:0 0");
    snprintf(p->ch[0].path, sizeof p->ch[0].path, "%s/cg/blkio/w/blkio.throttle.read_bps_device", top);
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "v1: per-device value naming another device refused");

    /* v1, a target by pid whose cgroups differ per controller: its memory,
     * blkio and pids cgroups are its own, its cpu cgroup is the root,
     * shared with pid 1: refused, naming the cpu controller. */
    proc_stat(4242, 1);
    proc_stat(1, 0);
    put("5:blkio:/w\n4:memory:/w\n3:pids:/w\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n",
        "%s/proc/4242/cgroup", top);
    const char *v1ctl[] = {"memory/w", "blkio/w", "pids/w", "cpu,cpuacct/w", "unified/w"};
    for (int i = 0; i < 5; i++) put("4242\n", "%s/cg/%s/cgroup.procs", top, v1ctl[i]);
    put("1\n4242\n", "%s/cg/cpu,cpuacct/cgroup.procs", top);
    put("1\n", "%s/cg/unified/cgroup.procs", top);
    fp_target bypid = target("", 4242);
    fp_limits_unset(&w);
    w.pids_max = 9;
    err.cls = FP_OK;
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "through its cpu cgroup /: ") &&
       strstr(err.msg, "also holds pid 1,"), "v1 by pid: a shared cpu cgroup refuses the target: %s", err.msg);
    put("5:blkio:/w\n4:memory:/w\n3:pids:/w\n2:cpu,cpuacct:/w\n1:name=systemd:/\n0::/\n",
        "%s/proc/4242/cgroup", top);
    rc_ = fp_act_plan(a, &bypid, &w, p, &err);
    ok(rc_ == 0 && p->n == 1 && !strcmp(p->ch[0].value, "9"),
       "v1 by pid: own cgroup in every controller that takes limits (the cgroup2 root is not one): planned (%s)", err.msg);
    /* a named cgroup missing in one controller does not borrow the pid's
     * cgroup there when other processes share it */
    put("2:cpu,cpuacct:/\n4:memory:/w\n", "%s/proc/4242/cgroup", top);
    char pd[FP_PATH_MAX];
    fp_target named = target("/w", 4242);
    fp_limits_unset(&w);
    w.cpu_max_cores = 1;
    rc_ = fp_act_plan(a, &named, &w, p, &err);
    ok(rc_ == 0 && find(p, "cpu.cfs_quota_us") >= 0 && strstr(p->ch[find(p, "cpu.cfs_quota_us")].path, "/cpu,cpuacct/w/"),
       "v1 named: cpu from the named cgroup (%s)", err.msg);
    snprintf(pd, sizeof pd, "%s/cg/cpu,cpuacct/w", top);
    char cmd[FP_PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "%s.gone", pd);
    rename(pd, cmd);
    rc_ = fp_act_plan(a, &named, &w, p, &err);
    ok(rc_ == 0 && p->n == 0 && p->n_unsupported == 1 && !strcmp(p->unsupported[0].limit, "cpu_max_cores"),
       "v1 named, no cpu cgroup of its own: the root's cpu cgroup (shared) is not borrowed; cpu unsupported (%d changes)", p->n);
    free(p);
    free(inv);
    fp_act_free(a);
    rm_tree(top);
}

/* ---- the real hierarchy -------------------------------------------------- */

static bool ci(void)
{
    const char *c = getenv("CI");
    return c && *c;
}

static void skip_live(const char *why)
{
    printf("# skipped: live cgroup test: %s\n", why);
    if (ci()) ok(0, "live cgroup test cannot run under CI: %s", why);
    else ok(1, "live cgroup # SKIP %s", why);
}

/* Content of a knob file, whitespace trimmed. */
static const char *knob(const char *dir, const char *file)
{
    static char b[512];
    char p[FP_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    long n = fp_read_file(p, b, sizeof b);
    if (n < 0) return "<missing>";
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' ')) b[--n] = 0;
    return b;
}

static void test_live(void)
{
    if (geteuid() != 0) { skip_live("not root"); return; }
    fp_roots r;
    fp_roots_default(&r);
    fp_err err = {0};
    fp_cg_layout *l = malloc(sizeof *l);
    if (fp_cg_layout_read(&r, l, &err) < 0 || (l->version != FP_CG_V1 && l->version != FP_CG_HYBRID) ||
        !l->mnt[FP_CTL_CPU][0] || !l->mnt[FP_CTL_MEMORY][0] || !l->mnt[FP_CTL_PIDS][0]) {
        skip_live("no cgroup v1 cpu, memory and pids controllers mounted");
        free(l);
        return;
    }
    fp_cgroup *cg = malloc(sizeof *cg);
    char name[64];
    snprintf(name, sizeof name, "fp-test-act-%d", (int)getpid());
    if (fp_cgroup_create(&r, l, NULL, name, cg, &err) < 0) {
        skip_live(err.msg);
        free(cg);
        free(l);
        return;
    }
    ok(cg->dir[FP_CTL_CPU][0] && cg->dir[FP_CTL_MEMORY][0] && cg->dir[FP_CTL_PIDS][0],
       "live: cgroup made in cpu, memory and pids");
    int gate[2];
    if (pipe(gate) < 0) { ok(0, "pipe"); return; }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(gate[1]);
        char c;
        while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(gate[0]);
    rc_ = fp_cgroup_attach(cg, child, &err);
    ok(rc_ == 0, "live: child moved in (%s)", err.msg);

    fp_actuator *a = fp_act_cgroup_new(&r, &err);
    ok(a != NULL, "live: actuator (%s)", err.msg);
    if (!a) goto out;
    is_str(fp_act_name(a), "cgroup-v1", "live: hybrid/v1 is cgroup-v1");
    const char *cpu = cg->dir[FP_CTL_CPU], *mem = cg->dir[FP_CTL_MEMORY], *pids = cg->dir[FP_CTL_PIDS];
    const char *blk = cg->dir[FP_CTL_BLKIO];
    const char *files[][2] = {
        {cpu, "cpu.cfs_period_us"}, {cpu, "cpu.cfs_quota_us"}, {cpu, "cpu.shares"},
        {mem, "memory.soft_limit_in_bytes"}, {mem, "memory.limit_in_bytes"}, {pids, "pids.max"},
        {blk, "blkio.throttle.read_bps_device"},
    };
    enum { NF = sizeof files / sizeof files[0] };
    char before[NF][512];
    for (int i = 0; i < NF; i++)
        snprintf(before[i], sizeof before[i], "%s", files[i][0][0] ? knob(files[i][0], files[i][1]) : "");

    fp_target tg = target("", child);
    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 0.5;
    w.cpu_weight_cores = 0.5;
    w.mem_high_bytes = 256.0 * 1048576;
    w.mem_max_bytes = 512.0 * 1048576;
    w.pids_max = 64;
    if (blk[0]) w.io_read_Bps = 1048576;
    fp_plan *p = malloc(sizeof *p), *inv = malloc(sizeof *inv);
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0, "live: plan (%s)", err.msg);
    for (int i = 0; i < p->n; i++)
        printf("#   %s: %s -> %s\n", p->ch[i].knob, p->ch[i].previous, p->ch[i].value);
    for (int i = 0; i < p->n_unsupported; i++)
        printf("#   unsupported %s: %s\n", p->unsupported[i].limit, p->unsupported[i].why);
    ok(find(p, "cpu.cfs_quota_us") >= 0 && find(p, "cpu.shares") >= 0 &&
       find(p, "memory.limit_in_bytes") >= 0 && find(p, "pids.max") >= 0, "live: changes planned");
    ok(find(p, "cpu.cfs_period_us") < find(p, "cpu.cfs_quota_us"), "live: period (if any) before quota");
    ok(find(p, "memory.soft_limit_in_bytes") < find(p, "memory.limit_in_bytes"),
       "live: shrinking from unlimited: soft limit first");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ == 0, "live: commit (%s)", err.msg);
    is_str(knob(cpu, "cpu.cfs_period_us"), "100000", "live: period");
    is_str(knob(cpu, "cpu.cfs_quota_us"), "50000", "live: quota 0.5 cores");
    is_str(knob(cpu, "cpu.shares"), "512", "live: shares");
    is_str(knob(mem, "memory.soft_limit_in_bytes"), "268435456", "live: soft limit");
    is_str(knob(mem, "memory.limit_in_bytes"), "536870912", "live: hard limit");
    is_str(knob(pids, "pids.max"), "64", "live: pids.max");
    if (blk[0]) {
        int k = -1;
        for (int i = 0; i < p->n; i++)
            if (!strncmp(p->ch[i].knob, "blkio.throttle.read_bps_device:", 31)) k = i;
        if (k >= 0)
            ok(strstr(knob(blk, "blkio.throttle.read_bps_device"), p->ch[k].value) != NULL,
               "live: blkio read limit %s in place", p->ch[k].value);
        else
            ok(p->n_unsupported > 0, "live: blkio limit planned or unsupported with a reason");
    }
    fp_observed o;
    rc_ = fp_act_observe(a, &tg, &o, &err);
    ok(rc_ == 0, "live: observe (%s)", err.msg);
    is_near(o.now.cpu_max_cores, 0.5, 1e-9, "live: observed quota");
    is_near(o.now.mem_max_bytes, 536870912, 0, "live: observed hard limit");
    is_near(o.now.pids_max, 64, 0, "live: observed pids.max");
    ok(o.mem_bytes >= 0, "live: observed memory usage %.0f", o.mem_bytes);
    fp_plan *again = malloc(sizeof *again);
    rc_ = fp_act_plan(a, &tg, &w, again, &err);
    ok(rc_ == 0 && again->n == 0,
       "live: second plan finds nothing to change (%d)", again->n);
    free(again);

    fp_plan_invert(p, inv);
    rc_ = fp_act_commit(a, inv, &err);
    ok(rc_ == 0, "live: revert (%s)", err.msg);
    for (int i = 0; i < NF; i++)
        if (files[i][0][0])
            is_str(knob(files[i][0], files[i][1]), before[i], "live: %s restored", files[i][1]);
    free(p);
    free(inv);
    fp_act_free(a);
out:
    close(gate[1]);
    waitpid(child, NULL, 0);
    rc_ = fp_cgroup_remove(cg, &err);
    ok(rc_ == 0, "live: cgroup removed (%s)", err.msg);
    free(cg);
    free(l);
}

int main(void)
{
    test_v2();
    test_v1_fixture();
    test_live();
    return done_testing();
}
