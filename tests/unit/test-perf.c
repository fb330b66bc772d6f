/* test-perf.c - fp/perf: counter groups, group reads, scaling, reasons, rates.
 *
 * Most checks run against an injected fp_perf_backend: a fake kernel that
 * records every perf_event_open call, hands out descriptors and ids, serves
 * {value, enabled, running} per descriptor or a whole group in the kernel's
 * PERF_FORMAT_GROUP layout, counts the reads and fails opens by rule. Then
 * the real system is measured on a child whose own child (inherited
 * counters) burns CPU (the hardware path is chosen by what the kernel
 * allows: this works with and without a PMU), and,
 * with libpfm4, the encodings are checked, including libpfm4's forced-PMU
 * mode in a re-executed child (libpfm4's state is process-wide).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fp/perf.h"
#include "tap.h"

#ifdef HAVE_LIBPFM
#include <perfmon/pfmlib_perf_event.h>
#endif

static const char R_PARANOID[] = "perf_event_open: permission denied (perf_event_paranoid)";
#define RF (PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING)
#define GF (RF | PERF_FORMAT_GROUP | PERF_FORMAT_ID)
#define LL(op, res) ((uint64_t)PERF_COUNT_HW_CACHE_LL | ((uint64_t)(op) << 8) | ((uint64_t)(res) << 16))

/* The generic encoding every event must end up with (libpfm4's "perf"
 * pseudo-PMU maps to exactly these). */
static const struct { uint32_t type; uint64_t config; } want_enc[FP_EV_COUNT] = {
    [FP_EV_INSTRUCTIONS] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
    [FP_EV_CYCLES] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
    [FP_EV_CACHE_REFS] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES },
    [FP_EV_CACHE_MISSES] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
    [FP_EV_BRANCH_MISSES] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES },
    [FP_EV_LLC_LOADS] = { PERF_TYPE_HW_CACHE, LL(PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_ACCESS) },
    [FP_EV_LLC_MISSES] = { PERF_TYPE_HW_CACHE, LL(PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS) },
    [FP_EV_TASK_CLOCK] = { PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK },
    [FP_EV_CTXSW] = { PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
    [FP_EV_FAULTS] = { PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
    [FP_EV_MIGRATIONS] = { PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
};

static const fp_metric hw_metrics[] = {
    FP_M_INSTRUCTIONS_PS, FP_M_CYCLES_PS, FP_M_CACHE_REFS_PS, FP_M_CACHE_MISSES_PS,
    FP_M_BRANCH_MISSES_PS, FP_M_LLC_LOADS_PS, FP_M_LLC_MISSES_PS, FP_M_IPC, FP_M_CACHE_MISS_RATE,
};

/* ---- the fake kernel --------------------------------------------------- */

enum { FAKE_MAX = 64, FAKE_RULES = 8 };

typedef struct {
    int fd, closed;
    struct perf_event_attr attr;
    pid_t pid;
    int cpu, group_fd;
    unsigned long flags;
    uint64_t val[3];  /* value, enabled, running (a group read: the leader's times) */
    uint64_t id;
} fake_ev;

/* An open fails with err when its attr matches: hw_any matches every
 * non-software type, group_fmt every attr with PERF_FORMAT_GROUP (a kernel
 * that refuses group reads with inherit), else type (and config unless
 * any_config) must match; in_group_only restricts to opens with a
 * group_fd; user_ok lets the open through when it excludes the kernel
 * (perf_event_paranoid 2); cpu1 restricts it to one CPU. */
typedef struct {
    int hw_any, group_fmt;
    uint32_t type;
    uint64_t config;
    int any_config, in_group_only, user_ok, err;
    int cpu1; /* 0: any CPU; else only opens on CPU cpu1 - 1 */
} fake_rule;

/* reads/group_reads count the calls; bad_read counts per-fd reads of a
 * group-format counter, bad_group_read group reads of one that is not.
 * Group reads fail all (fail_group_reads) or the nth (fail_group_read_at,
 * counted by group_reads), list the members in reverse (reverse_group),
 * leave out drop_fd, or report a wrong nr (corrupt_nr). */
typedef struct {
    fake_ev ev[FAKE_MAX];
    int n;
    fake_rule rule[FAKE_RULES];
    int n_rule;
    int attempts, saw_excl_kernel_try, bad_close, bad_group_fd, fail_reads;
    int reads, group_reads, bad_read, bad_group_read;
    int fail_group_reads, fail_group_read_at, reverse_group, drop_fd, corrupt_nr;
} fake;

static int fake_open(void *ctx, struct perf_event_attr *attr, pid_t pid, int cpu,
                     int group_fd, unsigned long flags)
{
    fake *f = ctx;
    f->attempts++;
    if (attr->exclude_kernel) f->saw_excl_kernel_try = 1;
    for (int i = 0; i < f->n_rule; i++) {
        const fake_rule *r = &f->rule[i];
        int match = r->hw_any ? attr->type != PERF_TYPE_SOFTWARE
                  : r->group_fmt ? (attr->read_format & PERF_FORMAT_GROUP) != 0
                  : attr->type == r->type && (r->any_config || attr->config == r->config);
        if (r->in_group_only && group_fd == -1) match = 0;
        if (r->user_ok && attr->exclude_kernel) match = 0;
        if (r->cpu1 && cpu != r->cpu1 - 1) match = 0;
        if (match) { errno = r->err; return -1; }
    }
    if (group_fd != -1) {
        int found = 0;
        for (int i = 0; i < f->n; i++)
            if (f->ev[i].fd == group_fd && !f->ev[i].closed) found = 1;
        if (!found) { f->bad_group_fd++; errno = EBADF; return -1; }
    }
    if (f->n == FAKE_MAX) { errno = EMFILE; return -1; }
    fake_ev *e = &f->ev[f->n];
    memset(e, 0, sizeof *e);
    e->fd = 100 + f->n++;
    e->attr = *attr;
    e->pid = pid;
    e->cpu = cpu;
    e->group_fd = group_fd;
    e->flags = flags;
    e->id = 5000 + (uint64_t)((f->n * 37) % 101); /* unique, not in open order */
    return e->fd;
}

static fake_ev *fake_by_fd(fake *f, int fd)
{
    for (int i = 0; i < f->n; i++)
        if (f->ev[i].fd == fd) return &f->ev[i];
    return NULL;
}

static int fake_read(void *ctx, int fd, uint64_t out[3])
{
    fake *f = ctx;
    f->reads++;
    fake_ev *e = fake_by_fd(f, fd);
    if (!e || e->closed || f->fail_reads) { errno = EBADF; return -1; }
    if (e->attr.read_format & PERF_FORMAT_GROUP) { f->bad_read++; errno = EINVAL; return -1; }
    memcpy(out, e->val, sizeof e->val);
    return 0;
}

/* The kernel's group read (perf_read_group): nr, the leader's enabled and
 * running, then {value, id} per open member, leader first, in the order
 * they joined (reversed with reverse_group). ENOSPC when size is short. */
static int fake_read_group(void *ctx, int fd, uint64_t *buf, size_t size)
{
    fake *f = ctx;
    f->group_reads++;
    fake_ev *e = fake_by_fd(f, fd);
    if (!e || e->closed || f->fail_group_reads || f->group_reads == f->fail_group_read_at) {
        errno = EBADF;
        return -1;
    }
    if ((e->attr.read_format & GF) != GF) { f->bad_group_read++; errno = EINVAL; return -1; }
    fake_ev *lead = e->group_fd == -1 ? e : fake_by_fd(f, e->group_fd);
    fake_ev *m[FAKE_MAX];
    int nr = 0;
    m[nr++] = lead;
    for (int i = 0; i < f->n; i++)
        if (!f->ev[i].closed && f->ev[i].group_fd == lead->fd) m[nr++] = &f->ev[i];
    size_t need = (3 + 2 * (size_t)nr) * sizeof buf[0];
    if (size < need) { errno = ENOSPC; return -1; }
    int k = 0;
    for (int j = 0; j < nr; j++) {
        fake_ev *x = m[f->reverse_group ? nr - 1 - j : j];
        if (x->fd == f->drop_fd) continue;
        buf[3 + 2 * k] = x->val[0];
        buf[3 + 2 * k + 1] = x->id;
        k++;
    }
    buf[0] = (uint64_t)k + (f->corrupt_nr ? 1 : 0);
    buf[1] = lead->val[1];
    buf[2] = lead->val[2];
    return (int)((3 + 2 * (size_t)k) * sizeof buf[0]);
}

static int fake_close(void *ctx, int fd)
{
    fake *f = ctx;
    fake_ev *e = fake_by_fd(f, fd);
    if (!e || e->closed) { f->bad_close++; errno = EBADF; return -1; }
    e->closed = 1;
    return 0;
}

static void fake_init(fake *f, fp_perf_backend *be)
{
    memset(f, 0, sizeof *f);
    be->open = fake_open;
    be->read = fake_read;
    be->close = fake_close;
    be->ctx = f;
    be->read_group = fake_read_group;
    f->drop_fd = -1;
}

static void fake_rule_add(fake *f, fake_rule r) { f->rule[f->n_rule++] = r; }

/* The recorded (successful) open of event e, found by its encoding: the
 * latest one still open (an fd closed and reopened at open time is stale),
 * else the latest. */
static fake_ev *fake_ev_of(fake *f, fp_perf_event e)
{
    fake_ev *last = NULL;
    for (int i = f->n - 1; i >= 0; i--)
        if (f->ev[i].attr.type == want_enc[e].type && f->ev[i].attr.config == want_enc[e].config) {
            if (!f->ev[i].closed) return &f->ev[i];
            if (!last) last = &f->ev[i];
        }
    return last;
}

static void fake_set(fake *f, fp_perf_event e, uint64_t v, uint64_t enabled, uint64_t running)
{
    fake_ev *x = fake_ev_of(f, e);
    if (!x) return;
    x->val[0] = v; x->val[1] = enabled; x->val[2] = running;
}

/* Like fake_ev_of, among the opens on one CPU (cgroup counters). */
static fake_ev *fake_ev_cpu(fake *f, fp_perf_event e, int cpu)
{
    fake_ev *last = NULL;
    for (int i = f->n - 1; i >= 0; i--)
        if (f->ev[i].cpu == cpu && f->ev[i].attr.type == want_enc[e].type &&
            f->ev[i].attr.config == want_enc[e].config) {
            if (!f->ev[i].closed) return &f->ev[i];
            if (!last) last = &f->ev[i];
        }
    return last;
}

static void fake_set_cpu(fake *f, fp_perf_event e, int cpu, uint64_t v, uint64_t enabled, uint64_t running)
{
    fake_ev *x = fake_ev_cpu(f, e, cpu);
    if (!x) return;
    x->val[0] = v; x->val[1] = enabled; x->val[2] = running;
}

static int fake_all_closed_once(const fake *f)
{
    for (int i = 0; i < f->n; i++)
        if (!f->ev[i].closed) return 0;
    return f->bad_close == 0;
}

/* ---- fake-kernel tests ------------------------------------------------- */

/* A backend without group reads: every counter opened and read alone. */
static void test_wiring(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    be.read_group = NULL;
    fp_err err;
    fp_err_clear(&err);
    fp_perf *p = fp_perf_open(4242, &be, &err);
    ok(p != NULL, "wiring: fp_perf_open with a working fake");
    is_int(f.n, FP_EV_COUNT, "wiring: every event opened once");
    is_int(f.attempts, FP_EV_COUNT, "wiring: no retries when all opens succeed");
    is_int(f.bad_group_fd, 0, "wiring: no open named a group_fd that was not an open leader");

    fake_ev *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS), *sl = fake_ev_of(&f, FP_EV_TASK_CLOCK);
    ok(hl && hl->group_fd == -1, "wiring: instructions leads the hardware group (group_fd -1)");
    ok(sl && sl->group_fd == -1, "wiring: task-clock leads the software group (group_fd -1)");
    int members_ok = 1, inherit_ok = 1, attr_ok = 1, enc_ok = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) {
        fake_ev *x = fake_ev_of(&f, (fp_perf_event)e);
        if (!x) { enc_ok = 0; continue; }
        fake_ev *leader = e < FP_EV_FIRST_SW ? hl : sl;
        if (x != leader && (!leader || x->group_fd != leader->fd)) members_ok = 0;
        if (x->attr.inherit != 1) inherit_ok = 0;
        if (x->attr.read_format != RF || x->attr.size != sizeof x->attr || x->attr.disabled ||
            x->attr.exclude_kernel || x->attr.exclude_user || x->attr.exclude_hv ||
            x->pid != 4242 || x->cpu != -1 || !(x->flags & PERF_FLAG_FD_CLOEXEC))
            attr_ok = 0;
    }
    ok(enc_ok, "wiring: each event opened with its expected type/config");
    ok(members_ok, "wiring: every member opened with its group leader's fd");
    ok(inherit_ok, "wiring: inherit=1 on every attr");
    ok(attr_ok, "wiring: read_format enabled|running, size, enabled, nothing excluded, pid, cpu -1, cloexec");

    /* scaling */
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 7, 10, 10);
    fake_set(&f, FP_EV_INSTRUCTIONS, 1000, 2000000, 1000000);
    fake_set(&f, FP_EV_CYCLES, 500, 1000000, 1000000);
    fake_set(&f, FP_EV_CACHE_REFS, 900, 3000000, 1000000);
    fake_set(&f, FP_EV_CACHE_MISSES, 123, 500000, 0);
    fake_set(&f, FP_EV_BRANCH_MISSES, 0, 0, 0);
    fp_perf_counts c;
    f.reads = 0;
    fp_perf_read(p, &c);
    is_int(f.reads, FP_EV_COUNT, "no group reads: one read per counter");
    is_int(f.group_reads, 0, "no group reads: read_group never called");
    ok(c.why[FP_EV_INSTRUCTIONS] == NULL, "scale: instructions present");
    is_near(c.value[FP_EV_INSTRUCTIONS], 2000, 0, "scale: 1000 over enabled 2e6 / running 1e6 = 2000");
    is_near(c.value[FP_EV_CYCLES], 500, 0, "scale: running == enabled -> unscaled");
    is_near(c.value[FP_EV_CACHE_REFS], 2700, 0, "scale: 900 * 3 = 2700");
    is_str(c.why[FP_EV_CACHE_MISSES], "not counted (multiplexed out)", "scale: running 0 -> missing");
    ok(c.why[FP_EV_BRANCH_MISSES] == NULL, "scale: never enabled (task not run yet) -> present");
    is_near(c.value[FP_EV_BRANCH_MISSES], 0, 0, "scale: never enabled counts 0");
    is_near(c.value[FP_EV_TASK_CLOCK], 7, 0, "scale: software counter read");

    f.fail_reads = 1;
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_FAULTS], "perf counter read failed", "read error -> missing with reason");
    f.fail_reads = 0;

    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "free: every opened fd closed exactly once via the backend");
}

static void test_no_pmu(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = ENOENT });
    fp_perf *p = fp_perf_open(1, &be, NULL);
    ok(p != NULL, "no PMU: open still succeeds");
    is_int(f.n, FP_EV_COUNT - FP_EV_FIRST_SW, "no PMU: only the 4 software counters opened");
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 50, 1, 1);
    fp_perf_counts c0, c1;
    fp_perf_read(p, &c0);
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 150, 2, 2);
    f.reads = f.group_reads = 0;
    fp_perf_read(p, &c1);
    ok(f.group_reads == 1 && f.reads == 0, "no PMU: one read per sample (the software group)");
    int hw_ok = 1, sw_ok = 1;
    for (int e = 0; e < FP_EV_FIRST_SW; e++)
        if (!c1.why[e] || strcmp(c1.why[e], "no PMU")) hw_ok = 0;
    for (int e = FP_EV_FIRST_SW; e < FP_EV_COUNT; e++)
        if (c1.why[e] || c1.value[e] != 150) sw_ok = 0;
    ok(hw_ok, "no PMU: all 7 hardware counters missing with \"no PMU\"");
    ok(sw_ok, "no PMU: software counters present");
    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&c0, &c1, 2.0, &s);
    int m_ok = 1;
    for (size_t i = 0; i < sizeof hw_metrics / sizeof hw_metrics[0]; i++)
        if (!s.why[hw_metrics[i]] || strcmp(s.why[hw_metrics[i]], "no PMU")) m_ok = 0;
    ok(m_ok, "no PMU: every hardware metric (rates, ipc, miss rate) missing with \"no PMU\"");
    is_near(s.v[FP_M_SW_FAULTS_PS], 50, 1e-12, "no PMU: sw_faults_ps = 100 / 2 s");
    is_near(s.v[FP_M_TASK_CLOCK_CORES], 50e-9, 1e-20, "no PMU: task_clock_cores = 100 ns / 2 s");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "no PMU: free closes the software fds");
}

static void test_paranoid(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = EACCES });
    fp_perf *p = fp_perf_open(1, &be, NULL);
    fp_perf_counts c;
    fp_perf_read(p, &c);
    int hw_ok = 1;
    for (int e = 0; e < FP_EV_FIRST_SW; e++)
        if (!c.why[e] || strcmp(c.why[e], R_PARANOID)) hw_ok = 0;
    ok(hw_ok, "EACCES: every hardware counter missing with the perf_event_paranoid reason");
    ok(f.saw_excl_kernel_try, "EACCES: a user-only (exclude_kernel) retry was tried");
    ok(c.why[FP_EV_TASK_CLOCK] == NULL, "EACCES on hardware only: software still counts");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "EACCES: free closes what opened");

    /* perf_event_paranoid 2 as a user: only user-space counting allowed */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .user_ok = 1, .err = EACCES });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .any_config = 1, .user_ok = 1, .err = EPERM });
    p = fp_perf_open(1, &be, NULL);
    fp_perf_read(p, &c);
    int all = 1, user_only = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) if (c.why[e]) all = 0;
    for (int i = 0; i < f.n; i++) if (!f.ev[i].attr.exclude_kernel) user_only = 0;
    ok(all, "paranoid 2: every counter opens once retried user-only");
    ok(f.n == FP_EV_COUNT && user_only, "paranoid 2: every opened attr has exclude_kernel=1");
    fake_ev *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS), *m = fake_ev_of(&f, FP_EV_LLC_MISSES);
    ok(hl && m && m->group_fd == hl->fd, "paranoid 2: grouping intact after the retry");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "paranoid 2: free closes all");
}

static void test_partial(void)
{
    /* a PMU without LLC events: ENOENT for HW_CACHE only */
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HW_CACHE, .any_config = 1, .err = ENOENT });
    fp_perf *p = fp_perf_open(1, &be, NULL);
    fp_perf_counts c;
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_LLC_LOADS], "event not supported", "PMU without LLC: llc loads unsupported (not \"no PMU\")");
    is_str(c.why[FP_EV_LLC_MISSES], "event not supported", "PMU without LLC: llc misses unsupported");
    ok(!c.why[FP_EV_INSTRUCTIONS] && !c.why[FP_EV_BRANCH_MISSES], "PMU without LLC: the rest counts");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "PMU without LLC: free closes all");

    /* a member the group cannot take (EINVAL in group) counts alone */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HW_CACHE, .config = want_enc[FP_EV_LLC_MISSES].config,
                                   .in_group_only = 1, .err = EINVAL });
    p = fp_perf_open(1, &be, NULL);
    fp_perf_read(p, &c);
    fake_ev *m = fake_ev_of(&f, FP_EV_LLC_MISSES), *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS);
    ok(c.why[FP_EV_LLC_MISSES] == NULL, "group full: llc misses still counted");
    ok(m && m->group_fd == -1, "group full: llc misses reopened alone (group_fd -1)");
    fake_ev *ll = fake_ev_of(&f, FP_EV_LLC_LOADS);
    ok(hl && ll && ll->group_fd == hl->fd, "group full: the others stay grouped");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "group full: free closes all");

    /* the leader fails: the next event that opens leads */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HARDWARE, .config = PERF_COUNT_HW_INSTRUCTIONS, .err = EOPNOTSUPP });
    p = fp_perf_open(1, &be, NULL);
    fp_perf_read(p, &c);
    fake_ev *cy = fake_ev_of(&f, FP_EV_CYCLES);
    is_str(c.why[FP_EV_INSTRUCTIONS], "event not supported", "leader fails: instructions unsupported");
    ok(cy && cy->group_fd == -1, "leader fails: cycles opened as the new leader");
    int grouped = cy != NULL;
    for (int e = FP_EV_CACHE_REFS; e < FP_EV_FIRST_SW; e++) {
        fake_ev *x = fake_ev_of(&f, (fp_perf_event)e);
        if (!x || !cy || x->group_fd != cy->fd) grouped = 0;
    }
    ok(grouped, "leader fails: remaining hardware events join the cycles leader");
    fp_sample s;
    fp_sample_init(&s, 0, NULL);
    fp_perf_rates(&c, &c, 1, &s);
    is_str(s.why[FP_M_IPC], "event not supported", "leader fails: ipc missing with the instructions reason");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "leader fails: free closes all");

    /* the process is gone */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = ESRCH });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .any_config = 1, .err = ESRCH });
    p = fp_perf_open(1, &be, NULL);
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_TASK_CLOCK], "perf_event_open: no such process", "ESRCH -> no such process");
    fp_perf_free(p);
    is_int(f.n, 0, "ESRCH: nothing opened");
}

/* ---- group reads (the fake's default: a backend with read_group) ------- */

/* Every counter in events [first, end) opened with read format fmt. */
static int all_fmt(fake *f, int first, int end, uint64_t fmt)
{
    for (int e = first; e < end; e++) {
        fake_ev *x = fake_ev_of(f, (fp_perf_event)e);
        if (!x || x->attr.read_format != fmt) return 0;
    }
    return 1;
}

static void test_group(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fp_perf *p = fp_perf_open(4242, &be, NULL);
    ok(p != NULL, "group: open");
    is_int(f.attempts, FP_EV_COUNT, "group: one open per event");
    ok(all_fmt(&f, 0, FP_EV_COUNT, GF), "group: every counter opened GROUP|ID|enabled|running");
    fake_ev *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS), *sl = fake_ev_of(&f, FP_EV_TASK_CLOCK);
    int grouped = hl && sl && hl->group_fd == -1 && sl->group_fd == -1, inherit = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) {
        fake_ev *x = fake_ev_of(&f, (fp_perf_event)e), *l = e < FP_EV_FIRST_SW ? hl : sl;
        if (!x || (x != l && x->group_fd != l->fd)) grouped = 0;
        if (!x || x->attr.inherit != 1) inherit = 0;
    }
    ok(grouped, "group: two groups, members joined to their leaders");
    ok(inherit, "group: inherit=1 kept with FORMAT_GROUP");

    /* The leader's times scale every member; each member's own are ignored.
     * The fake lists members in reverse: they are matched by id. */
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 100 + (uint64_t)e, 5, 5);
    fake_set(&f, FP_EV_INSTRUCTIONS, 1000, 2000000, 1000000);
    fake_set(&f, FP_EV_TASK_CLOCK, 7, 10, 10);
    f.reverse_group = 1;
    f.reads = f.group_reads = 0;
    fp_perf_counts c;
    fp_perf_read(p, &c);
    is_int(f.group_reads, 2, "group: one read per group per sample");
    is_int(f.reads, 0, "group: no per-counter reads");
    ok(f.bad_read == 0 && f.bad_group_read == 0, "group: each fd read in its own format");
    is_near(c.value[FP_EV_INSTRUCTIONS], 2000, 0, "group: leader scaled by its enabled/running (1000 * 2)");
    int hw_ok = 1, sw_ok = 1;
    for (int e = FP_EV_CYCLES; e < FP_EV_FIRST_SW; e++)
        if (c.why[e] || c.value[e] != 2.0 * (100 + e)) hw_ok = 0;
    for (int e = FP_EV_FIRST_SW + 1; e < FP_EV_COUNT; e++)
        if (c.why[e] || c.value[e] != 100 + e) sw_ok = 0;
    ok(hw_ok, "group: every hardware member matched by id (reverse order) and scaled x2 like its leader");
    ok(sw_ok, "group: software members matched, unscaled (running == enabled)");
    is_near(c.value[FP_EV_TASK_CLOCK], 7, 0, "group: software leader read");

    fake_set(&f, FP_EV_INSTRUCTIONS, 1000, 5, 0);
    fp_perf_read(p, &c);
    int mux = 1;
    for (int e = 0; e < FP_EV_FIRST_SW; e++)
        if (!c.why[e] || strcmp(c.why[e], "not counted (multiplexed out)")) mux = 0;
    ok(mux, "group: leader enabled but never ran -> every member multiplexed out");
    ok(c.why[FP_EV_CTXSW] == NULL, "group: the other group unaffected");
    fake_set(&f, FP_EV_INSTRUCTIONS, 0, 0, 0);
    fp_perf_read(p, &c);
    ok(c.why[FP_EV_CYCLES] == NULL && c.value[FP_EV_CYCLES] == 0,
       "group: never enabled -> present with 0");

    fake_set(&f, FP_EV_INSTRUCTIONS, 1000, 1, 1);
    f.drop_fd = fake_ev_of(&f, FP_EV_CACHE_MISSES)->fd;
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_CACHE_MISSES], "perf counter read failed", "group: a member absent from the read -> missing");
    ok(!c.why[FP_EV_CACHE_REFS] && c.value[FP_EV_BRANCH_MISSES] == 100 + FP_EV_BRANCH_MISSES,
       "group: ... the others still matched");
    f.drop_fd = -1;

    f.corrupt_nr = 1;
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_LLC_LOADS], "perf counter read failed", "group: nr disagreeing with the length -> missing");
    f.corrupt_nr = 0;
    f.fail_group_reads = 1;
    fp_perf_read(p, &c);
    int failed = 1;
    for (int e = 0; e < FP_EV_COUNT; e++)
        if (!c.why[e] || strcmp(c.why[e], "perf counter read failed")) failed = 0;
    ok(failed, "group: failed group reads -> every counter missing with the read reason");
    f.fail_group_reads = 0;

    /* readings into rates */
    fp_perf_counts c0, c1;
    fake_set(&f, FP_EV_INSTRUCTIONS, 1000000000ull, 1000000, 1000000);
    fake_set(&f, FP_EV_CYCLES, 1000000000ull, 0, 0);
    fp_perf_read(p, &c0);
    fake_set(&f, FP_EV_INSTRUCTIONS, 2000000000ull, 4000000, 2000000); /* scaled x2: 4e9 */
    fake_set(&f, FP_EV_CYCLES, 1250000000ull, 0, 0);                   /* scaled x2: 2.5e9 */
    fp_perf_read(p, &c1);
    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&c0, &c1, 0.5, &s);
    is_near(s.v[FP_M_INSTRUCTIONS_PS], 6e9, 1e-3, "group end to end: (4e9 - 1e9) / 0.5 s");
    is_near(s.v[FP_M_IPC], 2.0, 1e-12, "group end to end: ipc 3e9 / 1.5e9 = 2");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "group: free closes all");
}

/* A member the group will not take is opened alone and read alone. */
static void test_group_alone(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HW_CACHE, .config = want_enc[FP_EV_LLC_MISSES].config,
                                   .in_group_only = 1, .err = EINVAL });
    fp_perf *p = fp_perf_open(1, &be, NULL);
    fake_ev *m = fake_ev_of(&f, FP_EV_LLC_MISSES);
    ok(m && m->group_fd == -1 && m->attr.read_format == RF, "alone: llc misses reopened alone, per-counter format");
    ok(all_fmt(&f, 0, FP_EV_LLC_MISSES, GF) && all_fmt(&f, FP_EV_FIRST_SW, FP_EV_COUNT, GF),
       "alone: the others keep the group format");
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 10, 4, 2);
    fake_set(&f, FP_EV_LLC_MISSES, 100, 3000000, 1000000);
    f.reads = f.group_reads = 0;
    fp_perf_counts c;
    fp_perf_read(p, &c);
    ok(f.group_reads == 2 && f.reads == 1, "alone: 2 group reads + 1 single read per sample (%d + %d)",
       f.group_reads, f.reads);
    ok(f.bad_read == 0 && f.bad_group_read == 0, "alone: each fd read in its own format");
    is_near(c.value[FP_EV_LLC_MISSES], 300, 0, "alone: scaled by its own times (100 * 3)");
    is_near(c.value[FP_EV_LLC_LOADS], 20, 0, "alone: group members by the leader's (10 * 2)");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "alone: free closes all");
}

/* A kernel that refuses FORMAT_GROUP (with inherit): EINVAL at open. */
static void test_group_refused(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .group_fmt = 1, .err = EINVAL });
    fp_perf *p = fp_perf_open(1, &be, NULL);
    is_int(f.n, FP_EV_COUNT, "refused: every counter still opens");
    is_int(f.attempts, FP_EV_COUNT + 2, "refused: only the two leaders tried with FORMAT_GROUP");
    ok(all_fmt(&f, 0, FP_EV_COUNT, RF), "refused: all opened with the per-counter format");
    fake_ev *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS), *m = fake_ev_of(&f, FP_EV_LLC_MISSES);
    ok(hl && m && hl->group_fd == -1 && m->group_fd == hl->fd, "refused: still scheduled as a group");
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 10, 1, 1);
    fake_set(&f, FP_EV_INSTRUCTIONS, 1000, 2000000, 1000000);
    fake_set(&f, FP_EV_CYCLES, 500, 1000000, 1000000);
    f.reads = f.group_reads = 0;
    fp_perf_counts c;
    fp_perf_read(p, &c);
    ok(f.reads == FP_EV_COUNT && f.group_reads == 0, "refused: one read per counter (%d + %d)",
       f.reads, f.group_reads);
    is_int(f.bad_read, 0, "refused: no group-format fd read alone");
    is_near(c.value[FP_EV_INSTRUCTIONS], 2000, 0, "refused: instructions scaled by its own times");
    is_near(c.value[FP_EV_CYCLES], 500, 0, "refused: cycles by its own (unscaled)");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "refused: free closes all");

    /* EINVAL that is the event's, not the format's: group reads stay on */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HARDWARE, .config = PERF_COUNT_HW_INSTRUCTIONS, .err = EINVAL });
    p = fp_perf_open(1, &be, NULL);
    fake_ev *cy = fake_ev_of(&f, FP_EV_CYCLES);
    ok(cy && cy->group_fd == -1 && all_fmt(&f, FP_EV_CYCLES, FP_EV_COUNT, GF),
       "leader EINVAL alone: cycles leads, group reads kept");
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_INSTRUCTIONS], "perf_event_open failed", "leader EINVAL alone: instructions missing");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "leader EINVAL alone: free closes all");
}

/* An id that cannot be learned at open (a failed group read). */
static void test_group_id(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    f.fail_group_read_at = 1; /* the hardware leader's */
    fp_perf *p = fp_perf_open(1, &be, NULL);
    f.fail_group_read_at = 0;
    ok(all_fmt(&f, 0, FP_EV_FIRST_SW, RF) && all_fmt(&f, FP_EV_FIRST_SW, FP_EV_COUNT, GF),
       "leader id unknown: hardware group reopened per counter, software group kept");
    fake_ev *hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS), *m = fake_ev_of(&f, FP_EV_LLC_MISSES);
    ok(hl && m && hl->group_fd == -1 && m->group_fd == hl->fd, "leader id unknown: hardware still grouped");
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 10, 1, 1);
    f.reads = f.group_reads = 0;
    fp_perf_counts c;
    fp_perf_read(p, &c);
    ok(f.reads == FP_EV_FIRST_SW && f.group_reads == 1, "leader id unknown: 7 single + 1 group read (%d + %d)",
       f.reads, f.group_reads);
    int all = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) if (c.why[e] || c.value[e] != 10) all = 0;
    ok(all, "leader id unknown: every counter read");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "leader id unknown: free closes all, the closed leader once");

    fake_init(&f, &be);
    f.fail_group_read_at = 2; /* cycles' */
    p = fp_perf_open(1, &be, NULL);
    f.fail_group_read_at = 0;
    fake_ev *cy = fake_ev_of(&f, FP_EV_CYCLES);
    hl = fake_ev_of(&f, FP_EV_INSTRUCTIONS);
    fake_ev *cr = fake_ev_of(&f, FP_EV_CACHE_REFS);
    ok(cy && cy->group_fd == -1 && cy->attr.read_format == RF, "member id unknown: cycles reopened alone");
    ok(hl && cr && cr->group_fd == hl->fd && cr->attr.read_format == GF, "member id unknown: the rest grouped");
    for (int e = 0; e < FP_EV_COUNT; e++) fake_set(&f, (fp_perf_event)e, 10 + (uint64_t)e, 1, 1);
    f.reads = f.group_reads = 0;
    fp_perf_read(p, &c);
    ok(f.reads == 1 && f.group_reads == 2, "member id unknown: 1 single + 2 group reads");
    all = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) if (c.why[e] || c.value[e] != 10 + e) all = 0;
    ok(all, "member id unknown: every counter read with its own value");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "member id unknown: free closes all");
}

static void set_counts(fp_perf_counts *c, const double v[FP_EV_COUNT])
{
    for (int e = 0; e < FP_EV_COUNT; e++) { c->value[e] = v[e]; c->why[e] = NULL; }
}

static void test_rates(void)
{
    static const double pv[FP_EV_COUNT] = { 1e9, 2e9, 4e6, 1e6, 1e5, 1e6, 2e5, 1e9, 10, 100, 3 };
    static const double cv[FP_EV_COUNT] = { 4e9, 3.5e9, 5e6, 1.25e6, 1.5e5, 1.5e6, 2.2e5, 1.25e9, 15, 300, 2 };
    fp_perf_counts prev, cur;
    set_counts(&prev, pv);
    set_counts(&cur, cv);
    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&prev, &cur, 0.5, &s);
    is_near(s.v[FP_M_INSTRUCTIONS_PS], 6e9, 1e-3, "rates: 3e9 instructions / 0.5 s = 6e9/s");
    is_near(s.v[FP_M_CYCLES_PS], 3e9, 1e-3, "rates: 1.5e9 cycles / 0.5 s = 3e9/s");
    is_near(s.v[FP_M_IPC], 2.0, 1e-12, "rates: ipc = 3e9 / 1.5e9 = 2");
    is_near(s.v[FP_M_CACHE_REFS_PS], 2e6, 1e-6, "rates: cache refs 1e6 / 0.5 s");
    is_near(s.v[FP_M_CACHE_MISSES_PS], 5e5, 1e-6, "rates: cache misses 2.5e5 / 0.5 s");
    is_near(s.v[FP_M_CACHE_MISS_RATE], 0.25, 1e-12, "rates: miss rate 2.5e5 / 1e6");
    is_near(s.v[FP_M_BRANCH_MISSES_PS], 1e5, 1e-6, "rates: branch misses 5e4 / 0.5 s");
    is_near(s.v[FP_M_LLC_LOADS_PS], 1e6, 1e-6, "rates: llc loads 5e5 / 0.5 s");
    is_near(s.v[FP_M_LLC_MISSES_PS], 4e4, 1e-6, "rates: llc misses 2e4 / 0.5 s");
    is_near(s.v[FP_M_TASK_CLOCK_CORES], 0.5, 1e-12, "rates: task clock 2.5e8 ns / 0.5 s = 0.5 cores");
    is_near(s.v[FP_M_SW_CTXSW_PS], 10, 1e-12, "rates: 5 context switches / 0.5 s");
    is_near(s.v[FP_M_SW_FAULTS_PS], 400, 1e-12, "rates: 200 faults / 0.5 s");
    ok(s.why[FP_M_SW_MIGRATIONS_PS] == NULL, "rates: a counter that went back is present");
    is_near(s.v[FP_M_SW_MIGRATIONS_PS], 0, 0, "rates: ... clamped to 0");
    is_str(s.why[FP_M_CPU_CORES], "unset", "rates: non-counter metrics untouched");

    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(NULL, &cur, 0.5, &s);
    is_str(s.why[FP_M_INSTRUCTIONS_PS], "no previous reading", "no prev: rate missing");
    is_str(s.why[FP_M_IPC], "no previous reading", "no prev: ipc missing");
    is_str(s.why[FP_M_TASK_CLOCK_CORES], "no previous reading", "no prev: task clock missing");

    fp_perf_counts p2 = prev;
    p2.why[FP_EV_CYCLES] = "not counted (multiplexed out)";
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&p2, &cur, 0.5, &s);
    is_str(s.why[FP_M_CYCLES_PS], "not counted (multiplexed out)", "prev missing: cycles rate carries the reason");
    is_str(s.why[FP_M_IPC], "not counted (multiplexed out)", "prev missing: ipc carries the cycles reason");
    ok(s.why[FP_M_INSTRUCTIONS_PS] == NULL, "prev missing one event: the others present");

    fp_perf_counts c2 = cur;
    c2.why[FP_EV_INSTRUCTIONS] = "no PMU";
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&prev, &c2, 0.5, &s);
    is_str(s.why[FP_M_IPC], "no PMU", "cur missing instructions: ipc missing with its reason");

    c2 = cur;
    c2.value[FP_EV_CYCLES] = prev.value[FP_EV_CYCLES];
    c2.value[FP_EV_CACHE_REFS] = prev.value[FP_EV_CACHE_REFS];
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&prev, &c2, 0.5, &s);
    is_str(s.why[FP_M_IPC], "no cycles counted", "dCycles 0: ipc missing");
    is_near(s.v[FP_M_CYCLES_PS], 0, 0, "dCycles 0: cycles_ps is 0");
    is_str(s.why[FP_M_CACHE_MISS_RATE], "no cache references counted", "dRefs 0: miss rate missing");

    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&prev, &cur, 0, &s);
    is_str(s.why[FP_M_INSTRUCTIONS_PS], "no time elapsed", "dt 0: rates missing");
    is_near(s.v[FP_M_IPC], 2.0, 1e-12, "dt 0: ipc still computed");
}

/* Readings through the fake kernel, scaled, into rates. */
static void test_end_to_end(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    be.read_group = NULL;
    fp_perf *p = fp_perf_open(7, &be, NULL);
    fake_set(&f, FP_EV_INSTRUCTIONS, 1000000000ull, 1000000, 1000000);
    fake_set(&f, FP_EV_CYCLES, 1000000000ull, 1000000, 1000000);
    fake_set(&f, FP_EV_TASK_CLOCK, 100000000ull, 100000000ull, 100000000ull);
    fp_perf_counts c0, c1;
    fp_perf_read(p, &c0);
    fake_set(&f, FP_EV_INSTRUCTIONS, 2000000000ull, 4000000, 2000000); /* scaled: 4e9 */
    fake_set(&f, FP_EV_CYCLES, 2500000000ull, 2000000, 2000000);
    fake_set(&f, FP_EV_TASK_CLOCK, 350000000ull, 350000000ull, 350000000ull);
    fp_perf_read(p, &c1);
    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&c0, &c1, 0.5, &s);
    is_near(s.v[FP_M_INSTRUCTIONS_PS], 6e9, 1e-3, "end to end: (4e9 scaled - 1e9) / 0.5 s = 6e9");
    is_near(s.v[FP_M_IPC], 2.0, 1e-12, "end to end: ipc 2.0");
    is_near(s.v[FP_M_TASK_CLOCK_CORES], 0.5, 1e-12, "end to end: task clock 0.25 s / 0.5 s");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "end to end: free closes all");
}

static void test_encode(void)
{
    int all = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) {
        struct perf_event_attr a;
        const char *why = "unset";
        int r = fp_perf_encode((fp_perf_event)e, &a, &why);
        if (r != 0 || a.size != sizeof a || a.inherit != 1 || a.read_format != RF || a.disabled ||
            a.type != want_enc[e].type || a.config != want_enc[e].config || a.exclude_guest ||
            a.exclude_kernel) {
            all = 0;
            printf("# encode %s: r=%d type=%u config=%#llx size=%u\n", fp_perf_event_name((fp_perf_event)e),
                   r, a.type, (unsigned long long)a.config, a.size);
        }
    }
    ok(all, "encode: every event -> 0, its generic type/config, size, inherit, read_format");
    struct perf_event_attr a;
    const char *why = NULL;
    is_int(fp_perf_encode(FP_EV_COUNT, &a, &why), -1, "encode: out-of-range event -> -1");
    is_str(why, "unknown event", "encode: ... with a reason");
    is_str(fp_perf_event_name(FP_EV_LLC_MISSES), "LLC-load-misses", "event name: LLC-load-misses");
    is_str(fp_perf_event_name(FP_EV_TASK_CLOCK), "task-clock", "event name: task-clock");
    ok(fp_perf_event_name(FP_EV_COUNT) == NULL, "event name: out of range -> NULL");

#ifdef HAVE_LIBPFM
    /* libpfm4 itself must know the "perf" pseudo-PMU names we rely on, so the
     * encodings above came from libpfm4 and not from the fallback. */
    static const char *const names[FP_EV_FIRST_SW] = {
        "perf::PERF_COUNT_HW_INSTRUCTIONS", "perf::PERF_COUNT_HW_CPU_CYCLES",
        "perf::PERF_COUNT_HW_CACHE_REFERENCES", "perf::PERF_COUNT_HW_CACHE_MISSES",
        "perf::PERF_COUNT_HW_BRANCH_MISSES", "perf::PERF_COUNT_HW_CACHE_LL:READ:ACCESS",
        "perf::PERF_COUNT_HW_CACHE_LL:READ:MISS",
    };
    is_int(pfm_initialize(), PFM_SUCCESS, "libpfm4: pfm_initialize");
    is_int(pfm_initialize(), PFM_SUCCESS, "libpfm4: pfm_initialize again (idempotent)");
    for (int e = 0; e < FP_EV_FIRST_SW; e++) {
        struct perf_event_attr pa;
        memset(&pa, 0, sizeof pa);
        pa.size = sizeof pa;
        pfm_perf_encode_arg_t arg;
        memset(&arg, 0, sizeof arg);
        arg.attr = &pa;
        arg.size = sizeof arg;
        int r = pfm_get_os_event_encoding(names[e], PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
        ok(r == PFM_SUCCESS && pa.type == want_enc[e].type && pa.config == want_enc[e].config,
           "libpfm4: %s -> type %u config %#llx", names[e], want_enc[e].type,
           (unsigned long long)want_enc[e].config);
    }
#endif
}

/* ---- cgroup counters (fake kernel, 2 CPUs) ------------------------------ */

static const char R_CG_PARANOID[] = "cgroup counters need CAP_PERFMON or kernel.perf_event_paranoid <= 0";
static const char R_NO_CGROUP[] = "no perf_event controller for this cgroup";
enum { CG_FD = 9, CG_CPUS = 2 };

/* Every event missing with reason why (hardware events [first, end)). */
static int all_why(const fp_perf_counts *c, int first, int end, const char *why)
{
    for (int e = first; e < end; e++)
        if (!c->why[e] || strcmp(c->why[e], why) || c->value[e] != 0) return 0;
    return 1;
}

static void test_cgroup_wiring(void)
{
    fake f;
    fp_perf_backend be;
    fake_init(&f, &be);
    fp_err err;
    fp_err_clear(&err);
    fp_perf *p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, &err);
    ok(p != NULL, "cgroup: fp_perf_open_cgroup with a working fake");
    is_int(f.n, CG_CPUS * FP_EV_COUNT, "cgroup: every event opened once per CPU");
    is_int(f.attempts, CG_CPUS * FP_EV_COUNT, "cgroup: no retries when all opens succeed");
    int args_ok = 1, inherit_ok = 1, fmt_ok = 1, per_cpu[CG_CPUS] = { 0, 0 };
    for (int i = 0; i < f.n; i++) {
        fake_ev *x = &f.ev[i];
        if (x->pid != CG_FD || x->cpu < 0 || x->cpu >= CG_CPUS || !(x->flags & PERF_FLAG_PID_CGROUP) ||
            !(x->flags & PERF_FLAG_FD_CLOEXEC))
            args_ok = 0;
        else
            per_cpu[x->cpu]++;
        if (x->attr.inherit != 0) inherit_ok = 0;
        if (x->attr.read_format != GF || x->attr.exclude_kernel) fmt_ok = 0;
    }
    ok(args_ok, "cgroup: every open got pid = the cgroup fd, cpu 0 or 1, PERF_FLAG_PID_CGROUP | cloexec");
    ok(per_cpu[0] == FP_EV_COUNT && per_cpu[1] == FP_EV_COUNT, "cgroup: %d opens on CPU 0 and %d on CPU 1",
       per_cpu[0], per_cpu[1]);
    ok(inherit_ok, "cgroup: inherit=0 on every attr");
    ok(fmt_ok, "cgroup: group read format, kernel not excluded");
    int grouped = 1;
    for (int cpu = 0; cpu < CG_CPUS; cpu++) {
        fake_ev *hl = fake_ev_cpu(&f, FP_EV_INSTRUCTIONS, cpu), *sl = fake_ev_cpu(&f, FP_EV_TASK_CLOCK, cpu);
        if (!hl || !sl || hl->group_fd != -1 || sl->group_fd != -1) { grouped = 0; continue; }
        for (int e = 0; e < FP_EV_COUNT; e++) {
            fake_ev *x = fake_ev_cpu(&f, (fp_perf_event)e, cpu), *l = e < FP_EV_FIRST_SW ? hl : sl;
            if (!x || (x != l && x->group_fd != l->fd)) grouped = 0;
        }
    }
    ok(grouped, "cgroup: two groups per CPU, each member joined to its own CPU's leader");

    /* Per-CPU scaling by each CPU's leader's times, then the sum:
     *   instructions: CPU 0 1000 * (2e6 / 1e6) = 2000, CPU 1 500 * (3e6 / 1e6) = 1500 -> 3500
     *   cycles:       CPU 0  300 * 2 = 600,            CPU 1 100 * 3 = 300             ->  900
     *   task clock:   CPU 0 3e8 (unscaled),            CPU 1 2e8 * (4e8 / 2e8) = 4e8   -> 7e8
     *   ctxsw:        CPU 0 5,                         CPU 1 7 * 2 = 14                -> 19
     *   faults:       CPU 0 11,                        CPU 1 0                         -> 11 */
    for (int e = 0; e < FP_EV_COUNT; e++)
        for (int cpu = 0; cpu < CG_CPUS; cpu++) fake_set_cpu(&f, (fp_perf_event)e, cpu, 1, 1, 1);
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 0, 1000, 2000000, 1000000);
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 1, 500, 3000000, 1000000);
    fake_set_cpu(&f, FP_EV_CYCLES, 0, 300, 1, 1);
    fake_set_cpu(&f, FP_EV_CYCLES, 1, 100, 1, 1);
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 0, 300000000, 300000000, 300000000);
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 1, 200000000, 400000000, 200000000);
    fake_set_cpu(&f, FP_EV_CTXSW, 0, 5, 1, 1);
    fake_set_cpu(&f, FP_EV_CTXSW, 1, 7, 1, 1);
    fake_set_cpu(&f, FP_EV_FAULTS, 0, 11, 1, 1);
    fake_set_cpu(&f, FP_EV_FAULTS, 1, 0, 1, 1);
    fp_perf_counts c0, c1;
    f.reads = f.group_reads = 0;
    fp_perf_read(p, &c0);
    is_int(f.group_reads, 2 * CG_CPUS, "cgroup: one group read per group per CPU");
    is_int(f.reads, 0, "cgroup: no per-counter reads");
    is_near(c0.value[FP_EV_INSTRUCTIONS], 3500, 0, "cgroup: instructions 1000*2 + 500*3 = 3500");
    is_near(c0.value[FP_EV_CYCLES], 900, 0, "cgroup: cycles 300*2 + 100*3 = 900 (members by their CPU's leader)");
    is_near(c0.value[FP_EV_TASK_CLOCK], 7e8, 0, "cgroup: task clock 3e8 + 2e8*2 = 7e8");
    is_near(c0.value[FP_EV_CTXSW], 19, 0, "cgroup: ctxsw 5 + 7*2 = 19");
    is_near(c0.value[FP_EV_FAULTS], 11, 0, "cgroup: faults 11 + 0 = 11");
    is_near(c0.value[FP_EV_LLC_LOADS], 2 + 3, 0, "cgroup: llc loads 1*2 + 1*3 = 5");

    /* A CPU where the cgroup never ran (enabled 0) adds 0. */
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 0, 500000000, 500000000, 500000000);
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 1, 0, 0, 0);
    fp_perf_read(p, &c1);
    ok(c1.why[FP_EV_TASK_CLOCK] == NULL && c1.value[FP_EV_TASK_CLOCK] == 5e8 && c1.value[FP_EV_CTXSW] == 5,
       "cgroup: a CPU whose group was never enabled adds 0 to every member");
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 0, 700000000, 700000000, 700000000);
    fake_set_cpu(&f, FP_EV_TASK_CLOCK, 1, 400000000, 400000000, 400000000);
    fp_perf_read(p, &c1);
    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    fp_perf_rates(&c0, &c1, 2.0, &s);
    is_near(s.v[FP_M_TASK_CLOCK_CORES], 0.2, 1e-12, "cgroup rates: sums 7e8 -> 7e8 + 4e8 ns in 2 s = 0.2 cores");

    /* Multiplexed out on one CPU: missing, not a partial sum. */
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 1, 500, 3000000, 0);
    fp_perf_read(p, &c1);
    ok(all_why(&c1, 0, FP_EV_FIRST_SW, "not counted (multiplexed out)"),
       "cgroup: hardware group multiplexed out on CPU 1 -> every hardware event missing, value 0");
    ok(c1.why[FP_EV_TASK_CLOCK] == NULL, "cgroup: ... the software group unaffected");
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 1, 500, 3000000, 1000000);

    /* A member absent from CPU 1's group read: missing, not CPU 0's part. */
    f.drop_fd = fake_ev_cpu(&f, FP_EV_CACHE_MISSES, 1)->fd;
    fp_perf_read(p, &c1);
    is_str(c1.why[FP_EV_CACHE_MISSES], "perf counter read failed", "cgroup: a read failing on one CPU -> missing");
    is_near(c1.value[FP_EV_CACHE_MISSES], 0, 0, "cgroup: ... with no partial sum");
    is_near(c1.value[FP_EV_INSTRUCTIONS], 3500, 0, "cgroup: ... the others still summed");
    f.drop_fd = -1;

    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup: free closes all %d fds exactly once", f.n);

    /* Without group reads: each CPU's counter scaled by its own times.
     *   instructions: CPU 0 1000 * 2 = 2000, CPU 1 1000 (unscaled) -> 3000
     *   cycles:       CPU 0 never enabled -> 0, CPU 1 700 * 3 = 2100 -> 2100 */
    fake_init(&f, &be);
    be.read_group = NULL;
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    ok(all_fmt(&f, 0, FP_EV_COUNT, RF) && f.n == CG_CPUS * FP_EV_COUNT,
       "cgroup, no group reads: every counter on both CPUs opened with the per-counter format");
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 0, 1000, 2000000, 1000000);
    fake_set_cpu(&f, FP_EV_INSTRUCTIONS, 1, 1000, 1000000, 1000000);
    fake_set_cpu(&f, FP_EV_CYCLES, 0, 0, 0, 0);
    fake_set_cpu(&f, FP_EV_CYCLES, 1, 700, 3000000, 1000000);
    f.reads = 0;
    fp_perf_read(p, &c1);
    is_int(f.reads, CG_CPUS * FP_EV_COUNT, "cgroup, no group reads: one read per counter per CPU");
    is_near(c1.value[FP_EV_INSTRUCTIONS], 3000, 0, "cgroup, no group reads: instructions 1000*2 + 1000 = 3000");
    is_near(c1.value[FP_EV_CYCLES], 2100, 0, "cgroup, no group reads: cycles 0 + 700*3 = 2100");
    fake_set_cpu(&f, FP_EV_CYCLES, 0, 9, 5, 0);
    fp_perf_read(p, &c1);
    is_str(c1.why[FP_EV_CYCLES], "not counted (multiplexed out)", "cgroup, no group reads: one CPU multiplexed out -> missing");
    ok(c1.why[FP_EV_INSTRUCTIONS] == NULL, "cgroup, no group reads: ... alone");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup, no group reads: free closes all");

    /* Arguments */
    fp_err_clear(&err);
    ok(fp_perf_open_cgroup(CG_FD, 0, &be, &err) == NULL && err.cls == FP_EUSAGE, "cgroup: ncpus 0 -> NULL, usage");
    fp_err_clear(&err);
    ok(fp_perf_open_cgroup(-1, 2, &be, &err) == NULL && err.cls == FP_EUSAGE, "cgroup: fd -1 -> NULL, usage");
}

static void test_cgroup_missing(void)
{
    fake f;
    fp_perf_backend be;
    fp_perf_counts c;

    /* No PMU: hardware fails on every CPU */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = ENOENT });
    fp_perf *p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    for (int e = FP_EV_FIRST_SW; e < FP_EV_COUNT; e++)
        for (int cpu = 0; cpu < CG_CPUS; cpu++) fake_set_cpu(&f, (fp_perf_event)e, cpu, 10, 1, 1);
    fp_perf_read(p, &c);
    ok(all_why(&c, 0, FP_EV_FIRST_SW, "no PMU"), "cgroup no PMU: every hardware event missing with \"no PMU\"");
    ok(c.why[FP_EV_TASK_CLOCK] == NULL && c.value[FP_EV_TASK_CLOCK] == 20, "cgroup no PMU: software summed (10 + 10)");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup no PMU: free closes all");

    /* LLC events unsupported on every CPU: "event not supported" */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HW_CACHE, .any_config = 1, .err = ENOENT });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    fp_perf_read(p, &c);
    ok(all_why(&c, FP_EV_LLC_LOADS, FP_EV_LLC_MISSES + 1, "event not supported"),
       "cgroup: LLC failing on every CPU -> \"event not supported\"");
    ok(c.why[FP_EV_INSTRUCTIONS] == NULL, "cgroup: ... the other hardware events count");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup LLC: free closes all");

    /* Failing on every CPU, differently: CPU 0's reason */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HARDWARE, .config = PERF_COUNT_HW_BRANCH_MISSES,
                                   .cpu1 = 1, .err = EOPNOTSUPP });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HARDWARE, .config = PERF_COUNT_HW_BRANCH_MISSES,
                                   .cpu1 = 2, .err = EMFILE });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_BRANCH_MISSES], "event not supported", "cgroup: failing on every CPU -> the first CPU's reason");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup first reason: free closes all");

    /* Failing on one CPU only */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HW_CACHE, .config = want_enc[FP_EV_LLC_MISSES].config,
                                   .cpu1 = 2, .err = ENOENT });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_HARDWARE, .config = PERF_COUNT_HW_INSTRUCTIONS,
                                   .cpu1 = 2, .err = EOPNOTSUPP });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_MIGRATIONS,
                                   .cpu1 = 1, .err = ENODEV });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    for (int e = 0; e < FP_EV_COUNT; e++)
        for (int cpu = 0; cpu < CG_CPUS; cpu++) fake_set_cpu(&f, (fp_perf_event)e, cpu, 10, 1, 1);
    fp_perf_read(p, &c);
    is_str(c.why[FP_EV_LLC_MISSES], "not counted on every CPU", "cgroup: llc misses failing on CPU 1 only -> missing");
    is_str(c.why[FP_EV_INSTRUCTIONS], "not counted on every CPU", "cgroup: the leader failing on CPU 1 only -> missing");
    is_str(c.why[FP_EV_MIGRATIONS], "not counted on every CPU", "cgroup: migrations failing on CPU 0 only -> missing");
    ok(c.value[FP_EV_LLC_MISSES] == 0 && c.value[FP_EV_INSTRUCTIONS] == 0, "cgroup: ... no partial sums");
    fake_ev *cy1 = fake_ev_cpu(&f, FP_EV_CYCLES, 1), *l1 = fake_ev_cpu(&f, FP_EV_LLC_LOADS, 1);
    ok(cy1 && l1 && cy1->group_fd == -1 && l1->group_fd == cy1->fd, "cgroup: cycles leads CPU 1's hardware group");
    ok(c.why[FP_EV_CYCLES] == NULL && c.value[FP_EV_CYCLES] == 20 && c.value[FP_EV_LLC_LOADS] == 20 &&
       c.value[FP_EV_TASK_CLOCK] == 20, "cgroup: the events open on both CPUs summed (10 + 10)");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup partial: free closes all, the partial events' fds too");

    /* EACCES: no user-only retry (CPU-wide counters need paranoid <= 0) */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = EACCES });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .any_config = 1, .err = EPERM });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    fp_perf_read(p, &c);
    ok(all_why(&c, 0, FP_EV_COUNT, R_CG_PARANOID), "cgroup EACCES/EPERM: every event missing with the CAP_PERFMON reason");
    ok(!f.saw_excl_kernel_try, "cgroup EACCES: no user-only retry");
    is_int(f.n, 0, "cgroup EACCES: nothing opened");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup EACCES: free");

    /* EACCES on hardware only */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = EACCES });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    fp_perf_read(p, &c);
    ok(all_why(&c, 0, FP_EV_FIRST_SW, R_CG_PARANOID) && c.why[FP_EV_TASK_CLOCK] == NULL,
       "cgroup EACCES on hardware: hardware missing with the CAP_PERFMON reason, software counts");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup EACCES on hardware: free closes all");

    /* Not a perf_event cgroup: EBADF (not a cgroupfs directory), ENOENT (a
     * v1 hierarchy without perf_event), EINVAL (no CONFIG_CGROUP_PERF) */
    static const int bad[] = { EBADF, ENOENT, EINVAL };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_init(&f, &be);
        fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = bad[i] });
        fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .any_config = 1, .err = bad[i] });
        p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
        ok(p != NULL, "cgroup %s: open still succeeds", strerror(bad[i]));
        fp_perf_read(p, &c);
        ok(all_why(&c, 0, FP_EV_COUNT, R_NO_CGROUP), "cgroup %s: every event missing, \"%s\"", strerror(bad[i]),
           R_NO_CGROUP);
        fp_perf_free(p);
        ok(fake_all_closed_once(&f) && f.n == 0, "cgroup %s: nothing opened, nothing to close", strerror(bad[i]));
    }
    /* ... no PMU (ENOENT) on a good cgroup stays "no PMU" */
    fake_init(&f, &be);
    fake_rule_add(&f, (fake_rule){ .hw_any = 1, .err = ENOENT });
    fake_rule_add(&f, (fake_rule){ .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_PAGE_FAULTS, .err = EINVAL });
    p = fp_perf_open_cgroup(CG_FD, CG_CPUS, &be, NULL);
    fp_perf_read(p, &c);
    ok(all_why(&c, 0, FP_EV_FIRST_SW, "no PMU"), "cgroup ENOENT with software open: \"no PMU\"");
    is_str(c.why[FP_EV_FAULTS], "perf_event_open failed", "cgroup EINVAL of one event on a good cgroup: not the cgroup's");
    fp_perf_free(p);
    ok(fake_all_closed_once(&f), "cgroup ENOENT hardware: free closes all");
}

/* ---- libpfm4's forced-PMU mode (re-executed child) ---------------------- */

#ifdef HAVE_LIBPFM
/* Intel Skylake raw encodings, IA32_PERFEVTSEL layout (event select in bits
 * 0-7, unit mask in bits 8-15); these are the architectural events of the
 * Intel SDM (vol. 3B, table "UMask and Event Select Encodings for
 * Pre-Defined Architectural Performance Events") plus one model event. With
 * PFM_OS_PERF_EVENT the USR/OS/INT/EN bits are left to the kernel, so the
 * perf config is umask<<8 | event. */
static const struct { const char *name; uint64_t config; } forced[] = {
    { "INST_RETIRED:ANY_P", 0xc0 },                /* instructions retired: C0H/00H */
    { "CPU_CLK_UNHALTED:THREAD_P", 0x3c },         /* unhalted core cycles: 3CH/00H */
    { "LONGEST_LAT_CACHE:REFERENCE", 0x4f2e },     /* LLC reference: 2EH/4FH */
    { "LONGEST_LAT_CACHE:MISS", 0x412e },          /* LLC misses: 2EH/41H */
    { "BR_MISP_RETIRED:ALL_BRANCHES", 0xc5 },      /* branch misses retired: C5H/00H */
};
#define N_FORCED (sizeof forced / sizeof forced[0])

/* The child: LIBPFM_FORCE_PMU is already in its environment and libpfm4 is
 * untouched in this fresh image. Prints one line per fact for the parent. */
static int forced_pmu_child(void)
{
    int r = pfm_initialize();
    printf("init %d\n", r);
    int i, present = 0;
    pfm_for_all_pmus(i) {
        pfm_pmu_info_t pi;
        memset(&pi, 0, sizeof pi);
        pi.size = sizeof pi;
        if (pfm_get_pmu_info(i, &pi) == PFM_SUCCESS && pi.is_present) {
            present++;
            printf("pmu %s\n", pi.name);
        }
    }
    printf("present %d\n", present);
    for (size_t k = 0; k < N_FORCED; k++) {
        for (int user = 0; user < 2; user++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", forced[k].name, user ? ":u" : "");
            struct perf_event_attr a;
            memset(&a, 0, sizeof a);
            a.size = sizeof a;
            pfm_perf_encode_arg_t arg;
            memset(&arg, 0, sizeof arg);
            arg.attr = &a;
            arg.size = sizeof arg;
            r = pfm_get_os_event_encoding(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
            printf("enc %s %d %u %#llx %d %d\n", name, r, a.type, (unsigned long long)a.config,
                   (int)a.exclude_user, (int)a.exclude_kernel);
        }
    }
    uint64_t *codes = NULL;
    pfm_pmu_encode_arg_t raw;
    memset(&raw, 0, sizeof raw);
    raw.codes = codes;
    raw.size = sizeof raw;
    r = pfm_get_os_event_encoding("INST_RETIRED:ANY_P", PFM_PLM0 | PFM_PLM3, PFM_OS_NONE, &raw);
    printf("raw %d %d %#llx\n", r, raw.count, raw.count > 0 ? (unsigned long long)raw.codes[0] : 0ull);
    free(raw.codes);
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    pfm_perf_encode_arg_t arg;
    memset(&arg, 0, sizeof arg);
    arg.attr = &a;
    arg.size = sizeof arg;
    r = pfm_get_os_event_encoding("perf::PERF_COUNT_HW_INSTRUCTIONS", PFM_PLM0 | PFM_PLM3,
                                  PFM_OS_PERF_EVENT_EXT, &arg);
    printf("perfpmu %d\n", r);
    for (int e = 0; e < FP_EV_FIRST_SW; e++) {
        const char *why = NULL;
        r = fp_perf_encode((fp_perf_event)e, &a, &why);
        printf("fp %d %d %u %#llx\n", e, r, a.type, (unsigned long long)a.config);
    }
    fflush(stdout);
    return 0;
}

/* Run this binary again with LIBPFM_FORCE_PMU=pmu and collect its output. */
static int run_forced_child(const char *pmu, char *buf, size_t n)
{
    int fds[2];
    if (pipe(fds) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("LIBPFM_FORCE_PMU", pmu, 1);
        execl("/proc/self/exe", "test-perf", "--forced-pmu-child", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < n && (k = read(fds[0], buf + got, n - 1 - got)) != 0) {
        if (k < 0) { if (errno == EINTR) continue; break; }
        got += (size_t)k;
    }
    buf[got] = 0;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The value of the line starting with key (up to the newline) in out. */
static const char *line_after(const char *out, const char *key)
{
    size_t kl = strlen(key);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, kl) == 0) return l + kl;
    return NULL;
}

static void test_forced_pmu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    char out[8192];
    int rc = run_forced_child("skl", out, sizeof out);
    is_int(rc, 0, "forced PMU: child ran");
    const char *v;
    int r = -99, present = -1;
    if ((v = line_after(out, "init "))) sscanf(v, "%d", &r);
    is_int(r, PFM_SUCCESS, "forced PMU: pfm_initialize with LIBPFM_FORCE_PMU=skl");
    if ((v = line_after(out, "present "))) sscanf(v, "%d", &present);
    ok(line_after(out, "pmu skl\n") != NULL, "forced PMU: skl (Intel Skylake) is the present PMU");
    if (present != 1) printf("# present PMUs: %d (forcing makes it the only one)\n", present);
    is_int(present, 1, "forced PMU: exactly one PMU active");
    for (size_t k = 0; k < N_FORCED; k++) {
        for (int user = 0; user < 2; user++) {
            char key[160];
            snprintf(key, sizeof key, "enc %s%s ", forced[k].name, user ? ":u" : "");
            int rr = -99, eu = -1, ek = -1;
            unsigned type = 0;
            unsigned long long cfg = 0;
            if ((v = line_after(out, key))) sscanf(v, "%d %u %llx %d %d", &rr, &type, &cfg, &eu, &ek);
            ok(rr == PFM_SUCCESS && type == PERF_TYPE_RAW && cfg == forced[k].config && eu == 0 && ek == user,
               "forced PMU: skl::%s%s -> PERF_TYPE_RAW config %#llx%s", forced[k].name, user ? ":u" : "",
               (unsigned long long)forced[k].config, user ? ", exclude_kernel" : "");
            if (!(rr == PFM_SUCCESS && type == PERF_TYPE_RAW && cfg == forced[k].config))
                printf("#   child said: r=%d type=%u config=%#llx\n", rr, type, cfg);
        }
    }
    int cnt = 0;
    unsigned long long code = 0;
    r = -99;
    if ((v = line_after(out, "raw "))) sscanf(v, "%d %d %llx", &r, &cnt, &code);
    /* PFM_OS_NONE: the full IA32_PERFEVTSEL value, USR(16) OS(17) INT(20) EN(22) set */
    ok(r == PFM_SUCCESS && cnt == 1 && code == 0x5300c0,
       "forced PMU: INST_RETIRED:ANY_P as a raw PERFEVTSEL code = 0x5300c0 (got %#llx)", code);
    r = -99;
    if ((v = line_after(out, "perfpmu "))) sscanf(v, "%d", &r);
    is_int(r, PFM_ERR_NOTFOUND, "forced PMU: the perf pseudo-PMU is inactive (perf:: names not found)");
    int fb = 1;
    for (int e = 0; e < FP_EV_FIRST_SW; e++) {
        char key[32];
        snprintf(key, sizeof key, "fp %d ", e);
        int rr = -99;
        unsigned type = 99;
        unsigned long long cfg = 0;
        if ((v = line_after(out, key))) sscanf(v, "%d %u %llx", &rr, &type, &cfg);
        if (rr != 0 || type != want_enc[e].type || cfg != want_enc[e].config) fb = 0;
    }
    ok(fb, "forced PMU: fp_perf_encode falls back to the generic encodings");
#else
    printf("# forced PMU: the skl check needs an x86 libpfm4 build\n");
    ok(1, "forced PMU # SKIP not x86");
#endif
}
#endif

/* ---- the real system --------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { BURN_PAGES = 2048 };

/* Touch BURN_PAGES fresh 4 KiB pages (no huge pages: one fault each), then
 * spin until this thread has used 200 ms of CPU. */
static void burn(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)BURN_PAGES * (size_t)pg;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
        madvise(m, len, MADV_NOHUGEPAGE);
        for (size_t i = 0; i < len; i += (size_t)pg) m[i] = 1;
    }
    double t0 = cpu_now();
    volatile unsigned long x = 1;
    while (cpu_now() - t0 < 0.2)
        for (int i = 0; i < 100000; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
    if (m != MAP_FAILED) munmap(m, len);
}

/* A PMU that counts CPU instructions registers as PERF_TYPE_RAW (4). */
static int have_core_pmu(void)
{
    DIR *d = opendir("/sys/bus/event_source/devices");
    if (!d) return -1;
    struct dirent *de;
    int found = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[512], b[32] = "";
        snprintf(path, sizeof path, "/sys/bus/event_source/devices/%s/type", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(b, sizeof b, f) && atoi(b) == PERF_TYPE_RAW) found = 1;
        fclose(f);
    }
    closedir(d);
    return found;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* The real system calls, counted. */
typedef struct { const fp_perf_backend *sys; int reads, group_reads; } counting;

static int cnt_open(void *ctx, struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                    unsigned long flags)
{
    const fp_perf_backend *b = ((counting *)ctx)->sys;
    return b->open(b->ctx, attr, pid, cpu, group_fd, flags);
}

static int cnt_read(void *ctx, int fd, uint64_t out[3])
{
    counting *c = ctx;
    c->reads++;
    return c->sys->read(c->sys->ctx, fd, out);
}

static int cnt_read_group(void *ctx, int fd, uint64_t *buf, size_t size)
{
    counting *c = ctx;
    c->group_reads++;
    return c->sys->read_group(c->sys->ctx, fd, buf, size);
}

static int cnt_close(void *ctx, int fd)
{
    const fp_perf_backend *b = ((counting *)ctx)->sys;
    return b->close(b->ctx, fd);
}

/* The counters are opened on a child, which then forks a grandchild that
 * burns: every count below is inherited. c1 is read while the grandchild
 * lives (the kernel sums its child events into the read), c2 once it has
 * exited (its counts folded into the child's counters). */
static void test_real(void)
{
    int fds_before = count_fds();
    int go[2], done[2], quit[2];
    if (pipe(go) < 0 || pipe(done) < 0 || pipe(quit) < 0) { ok(0, "real: pipes"); return; }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { ok(0, "real: fork"); return; }
    if (pid == 0) {
        close(go[1]);
        close(done[0]);
        char b;
        if (read(go[0], &b, 1) != 1) _exit(1);
        pid_t g = fork();
        if (g < 0) _exit(1);
        if (g == 0) {
            close(quit[1]);
            burn();
            if (write(done[1], "b", 1) != 1) _exit(1);
            while (read(quit[0], &b, 1) > 0) {} /* until the parent closes quit */
            _exit(0);
        }
        close(quit[0]);
        close(quit[1]);
        int gst;
        while (waitpid(g, &gst, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(gst) || WEXITSTATUS(gst) != 0) _exit(1);
        if (write(done[1], "x", 1) != 1) _exit(1);
        while (read(go[0], &b, 1) > 0) {} /* until the parent closes go */
        _exit(0);
    }
    close(go[0]);
    close(done[1]);
    close(quit[0]);

    counting cnt = { fp_perf_backend_sys(), 0, 0 };
    fp_perf_backend cbe = { cnt_open, cnt_read, cnt_close, &cnt, cnt_read_group };
    ok(fp_perf_backend_sys()->read_group != NULL, "real: the system backend reads groups");
    fp_err err;
    fp_err_clear(&err);
    fp_perf *p = fp_perf_open(pid, &cbe, &err);
    ok(p != NULL, "real: fp_perf_open on a child (%.100s)", p ? "ok" : err.msg);
    fp_perf_counts c0, c1, c2;
    fp_perf_read(p, &c0);
    double t0 = now();
    char b = 'g';
    if (write(go[1], &b, 1) != 1 || read(done[0], &b, 1) != 1 || b != 'b') ok(0, "real: grandchild handshake");
    double t1 = now();
    cnt.reads = cnt.group_reads = 0;
    fp_perf_read(p, &c1);
    int sample_reads = cnt.reads, sample_group_reads = cnt.group_reads;
    close(quit[1]);
    if (read(done[0], &b, 1) != 1 || b != 'x') ok(0, "real: child handshake");
    fp_perf_read(p, &c2);
    close(go[1]);
    close(done[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "real: grandchild burned, both exited");

    fp_sample s;
    fp_sample_init(&s, 0, "unset");
    double dt = t1 - t0;
    fp_perf_rates(&c0, &c1, dt, &s);

    if (c1.why[FP_EV_TASK_CLOCK] && (!strcmp(c1.why[FP_EV_TASK_CLOCK], R_PARANOID) ||
                                     strstr(c1.why[FP_EV_TASK_CLOCK], "not available"))) {
        printf("# real system: perf_event_open refused here (%s)\n", c1.why[FP_EV_TASK_CLOCK]);
        ok(1, "real system # SKIP perf_event_open not permitted");
        fp_perf_free(p);
        return;
    }
    int sw_ok = 1;
    for (int e = FP_EV_FIRST_SW; e < FP_EV_COUNT; e++)
        if (c0.why[e] || c1.why[e]) sw_ok = 0;
    ok(sw_ok, "real: software counters present");
    int open_n = 0;
    for (int e = 0; e < FP_EV_COUNT; e++) if (!c1.why[e]) open_n++;
    printf("# real: one sample of %d counters = %d group read(s) + %d single read(s)\n", open_n,
           sample_group_reads, sample_reads);
    ok(sample_group_reads + sample_reads >= 1 && sample_group_reads + sample_reads <= open_n,
       "real: at most one read per counter per sample");
    double task_s = (c1.value[FP_EV_TASK_CLOCK] - c0.value[FP_EV_TASK_CLOCK]) / 1e9;
    printf("# real: dt %.3f s, task clock %.3f s, faults %.0f, ctxsw %.0f, migrations %.0f\n", dt, task_s,
           c1.value[FP_EV_FAULTS] - c0.value[FP_EV_FAULTS], c1.value[FP_EV_CTXSW] - c0.value[FP_EV_CTXSW],
           c1.value[FP_EV_MIGRATIONS] - c0.value[FP_EV_MIGRATIONS]);
    ok(task_s >= 0.15 && task_s <= 0.4,
       "real: task clock includes the live grandchild's 200 ms burn: [0.15, 0.4] s (%.3f, %s)", task_s,
       sample_group_reads ? "group read" : "single reads");
    double task2_s = (c2.value[FP_EV_TASK_CLOCK] - c0.value[FP_EV_TASK_CLOCK]) / 1e9;
    ok(!c2.why[FP_EV_TASK_CLOCK] && task2_s >= task_s - 1e-6 && task2_s <= 0.45,
       "real: ... and once it exited (%.3f s)", task2_s);
    double faults = c1.value[FP_EV_FAULTS] - c0.value[FP_EV_FAULTS];
    ok(faults >= BURN_PAGES && faults <= BURN_PAGES + 4000,
       "real: page faults cover the %d touched pages (%.0f)", BURN_PAGES, faults);
    ok(!s.why[FP_M_TASK_CLOCK_CORES] && s.v[FP_M_TASK_CLOCK_CORES] > 0 && s.v[FP_M_TASK_CLOCK_CORES] <= 1.05,
       "real: task_clock_cores of one thread in (0, 1.05] (%.3f)", s.v[FP_M_TASK_CLOCK_CORES]);
    is_near(s.v[FP_M_TASK_CLOCK_CORES] * dt, task_s, 1e-9, "real: task_clock_cores * dt = task clock");
    is_near(s.v[FP_M_SW_FAULTS_PS] * dt, faults, 1e-6, "real: sw_faults_ps * dt = faults");

    if (!c1.why[FP_EV_INSTRUCTIONS]) {
        double ins = c1.value[FP_EV_INSTRUCTIONS] - c0.value[FP_EV_INSTRUCTIONS];
        printf("# real: hardware counters opened (PMU path): %.0f instructions, ipc %.3f\n", ins, s.v[FP_M_IPC]);
        ok(ins > 1e7, "real PMU: instructions of a 200 ms burn > 1e7 (%.0f)", ins);
        ok(!s.why[FP_M_IPC] && s.v[FP_M_IPC] > 0.05 && s.v[FP_M_IPC] < 10, "real PMU: ipc in (0.05, 10)");
        ok(!s.why[FP_M_INSTRUCTIONS_PS] && s.v[FP_M_INSTRUCTIONS_PS] > 0, "real PMU: instructions_ps > 0");
    } else {
        const char *why = c1.why[FP_EV_INSTRUCTIONS];
        printf("# real: hardware counters missing (no-PMU path): %s\n", why);
        int same = 1;
        for (int e = 0; e < FP_EV_FIRST_SW; e++)
            if (!c1.why[e] || strcmp(c1.why[e], why)) same = 0;
        ok(same, "real no-PMU: all hardware counters missing for the same reason");
        if (have_core_pmu() == 0)
            is_str(why, "no PMU", "real no-PMU: no core PMU in sysfs -> \"no PMU\"");
        else
            ok(!strcmp(why, "no PMU") || !strcmp(why, R_PARANOID) ||
                   !strcmp(why, "not counted (multiplexed out)"),
               "real no-PMU: a known reason (%s)", why);
        is_str(s.why[FP_M_INSTRUCTIONS_PS], why, "real no-PMU: instructions_ps missing with it");
        is_str(s.why[FP_M_IPC], why, "real no-PMU: ipc missing with it");
    }
    fp_perf_free(p);
    is_int(count_fds(), fds_before, "real: fp_perf_free closed every descriptor");
}

/* The mount point of the first cgroup2 hierarchy in /proc/self/mountinfo
 * (field 5; the file system type follows the " - " separator), or 0. */
static int cgroup2_mount(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - ");
        char mnt[1024], fstype[64];
        if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2")) continue;
        if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 || strchr(mnt, '\\')) continue;
        snprintf(out, n, "%s", mnt);
        found = 1;
    }
    fclose(f);
    return found;
}

/* A child moves itself into a fresh cgroup2 cgroup and waits; the counters
 * are then opened on the cgroup (the child already in it: counted although
 * it existed first) and read before and after it burns 0.3 s of CPU. */
static void test_cgroup_real(void)
{
    char mnt[1024], dir[1200];
    if (geteuid() != 0) {
        printf("# skipped: cgroup counters on the real system need root (to create a cgroup)\n");
        ok(1, "real cgroup # SKIP not root");
        return;
    }
    if (!cgroup2_mount(mnt, sizeof mnt)) {
        printf("# skipped: no cgroup2 hierarchy mounted (/proc/self/mountinfo)\n");
        ok(1, "real cgroup # SKIP no cgroup2 mount");
        return;
    }
    snprintf(dir, sizeof dir, "%s/fp-test-perf-%ld", mnt, (long)getpid());
    if (mkdir(dir, 0755) < 0) {
        if (errno == EROFS) {
            printf("# skipped: %s is read-only\n", mnt);
            ok(1, "real cgroup # SKIP read-only cgroup2 mount");
        } else {
            ok(0, "real cgroup: mkdir %s: %s", dir, strerror(errno));
        }
        return;
    }
    int fds_before = count_fds();
    char procs[1300];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    int in[2], go[2];
    if (pipe(in) < 0 || pipe(go) < 0) { ok(0, "real cgroup: pipes"); rmdir(dir); return; }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { ok(0, "real cgroup: fork"); rmdir(dir); return; }
    if (pid == 0) {
        close(in[0]);
        close(go[1]);
        char b = 'i';
        FILE *pf = fopen(procs, "w");
        if (!pf || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) b = 'f';
        if (write(in[1], &b, 1) != 1 || b != 'i') _exit(1);
        if (read(go[0], &b, 1) != 1) _exit(1);
        double t0 = cpu_now();
        volatile unsigned long x = 1;
        while (cpu_now() - t0 < 0.3)
            for (int i = 0; i < 100000; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
        _exit(0);
    }
    close(in[1]);
    close(go[0]);
    char b = 0;
    int moved = read(in[0], &b, 1) == 1 && b == 'i';
    ok(moved, "real cgroup: the child moved itself into %s", dir);

    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    counting cnt = { fp_perf_backend_sys(), 0, 0 };
    fp_perf_backend cbe = { cnt_open, cnt_read, cnt_close, &cnt, cnt_read_group };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fp_err err;
    fp_err_clear(&err);
    fp_perf *p = dfd >= 0 ? fp_perf_open_cgroup(dfd, (int)ncpus, &cbe, &err) : NULL;
    ok(p != NULL, "real cgroup: fp_perf_open_cgroup on %ld CPUs (%.100s)", ncpus, p ? "ok" : err.msg);
    if (dfd >= 0) close(dfd); /* the counters do not need it once open */
    fp_perf_counts c0, c1;
    fp_perf_read(p, &c0);
    if (write(go[1], "g", 1) != 1) ok(0, "real cgroup: go");
    close(go[1]);
    close(in[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "real cgroup: the child burned 0.3 s and exited");
    cnt.reads = cnt.group_reads = 0;
    fp_perf_read(p, &c1);
    printf("# real cgroup: one sample = %d group read(s) + %d single read(s) on %ld CPUs\n", cnt.group_reads,
           cnt.reads, ncpus);
    int open_n = 0;
    for (int e = 0; e < FP_EV_COUNT; e++) if (!c1.why[e]) open_n++;
    ok(cnt.group_reads + cnt.reads >= 1 && cnt.group_reads + cnt.reads <= open_n * ncpus,
       "real cgroup: at most one read per counter per CPU");

    double task_s = (c1.value[FP_EV_TASK_CLOCK] - c0.value[FP_EV_TASK_CLOCK]) / 1e9;
    printf("# real cgroup: task clock %.3f s, faults %.0f, ctxsw %.0f, migrations %.0f\n", task_s,
           c1.value[FP_EV_FAULTS] - c0.value[FP_EV_FAULTS], c1.value[FP_EV_CTXSW] - c0.value[FP_EV_CTXSW],
           c1.value[FP_EV_MIGRATIONS] - c0.value[FP_EV_MIGRATIONS]);
    ok(!c0.why[FP_EV_TASK_CLOCK] && !c1.why[FP_EV_TASK_CLOCK], "real cgroup: task clock present (%s)",
       c1.why[FP_EV_TASK_CLOCK] ? c1.why[FP_EV_TASK_CLOCK] : "ok");
    ok(task_s >= 0.2 && task_s <= 0.5, "real cgroup: task clock of the 0.3 s burn in [0.2, 0.5] s (%.3f)", task_s);
    int sw_ok = 1;
    for (int e = FP_EV_FIRST_SW; e < FP_EV_COUNT; e++)
        if (c1.why[e]) sw_ok = 0;
    ok(sw_ok, "real cgroup: every software counter present");
    if (!c1.why[FP_EV_INSTRUCTIONS]) {
        double ins = c1.value[FP_EV_INSTRUCTIONS] - c0.value[FP_EV_INSTRUCTIONS];
        printf("# real cgroup: hardware counters opened: %.0f instructions\n", ins);
        ok(ins > 1e7, "real cgroup PMU: instructions of a 0.3 s burn > 1e7 (%.0f)", ins);
    } else {
        const char *why = c1.why[FP_EV_INSTRUCTIONS];
        printf("# real cgroup: hardware counters missing: %s\n", why);
        if (have_core_pmu() == 0)
            ok(all_why(&c1, 0, FP_EV_FIRST_SW, "no PMU"), "real cgroup: no core PMU -> every hardware event \"no PMU\"");
        else
            ok(1, "real cgroup: hardware counters missing with a reason (%s)", why);
    }
    fp_perf_free(p);
    is_int(count_fds(), fds_before, "real cgroup: fp_perf_free closed every descriptor (of every CPU)");
    int rc = -1;
    for (int i = 0; i < 100 && (rc = rmdir(dir)) < 0 && errno == EBUSY; i++) usleep(10000);
    ok(rc == 0, "real cgroup: removed %s (%s)", dir, rc == 0 ? "ok" : strerror(errno));

    /* A directory outside cgroupfs: the kernel says EBADF */
    dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    p = fp_perf_open_cgroup(dfd, (int)ncpus, NULL, NULL);
    close(dfd);
    fp_perf_read(p, &c1);
    is_str(c1.why[FP_EV_TASK_CLOCK], R_NO_CGROUP, "real cgroup: / is no cgroup -> \"%s\"", R_NO_CGROUP);
    fp_perf_free(p);
}

int main(int argc, char **argv)
{
#ifdef HAVE_LIBPFM
    if (argc > 1 && strcmp(argv[1], "--forced-pmu-child") == 0) return forced_pmu_child();
    unsetenv("LIBPFM_FORCE_PMU"); /* the parent's libpfm4 must see the real machine */
#else
    (void)argc;
    (void)argv;
#endif
    test_wiring();
    test_no_pmu();
    test_paranoid();
    test_partial();
    test_group();
    test_group_alone();
    test_group_refused();
    test_group_id();
    test_rates();
    test_end_to_end();
    test_encode();
    test_cgroup_wiring();
    test_cgroup_missing();
#ifdef HAVE_LIBPFM
    test_forced_pmu();
#endif
    test_real();
    test_cgroup_real();
    return done_testing();
}
