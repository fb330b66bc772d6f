/* perf.c - hardware and software counters through perf_event_open(2).
 *
 * See fp/perf.h for the contract. Two groups are opened on the target pid:
 * the hardware events (first one that opens leads, the others join it with
 * group_fd so they are scheduled together) and the software events
 * (likewise). Every counter has inherit=1. Each group is read with one
 * read(2) on its leader, PERF_FORMAT_GROUP|ID|TOTAL_TIME_ENABLED|
 * TOTAL_TIME_RUNNING: one system call per group and sample instead of one
 * per counter. Group reads work with inherit: perf_read_group() sums every
 * inherited child event (__perf_read_group_add walks the leader's
 * child_list, and exited children are folded into the parent's counts);
 * what the kernel refuses with inherit is PERF_SAMPLE_READ, which counting
 * does not use. A kernel that still refuses FORMAT_GROUP (EINVAL when the
 * leader opens) gets the counters opened without it and read one by one,
 * as does a member that could only be opened alone.
 *
 * Nothing here is global and mutable except libpfm4's own state, which
 * pfm_initialize() sets up once per process (later calls are no-ops).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fp/perf.h"

#ifdef HAVE_LIBPFM
#include <perfmon/pfmlib_perf_event.h>
#endif

#ifndef PERF_FLAG_FD_CLOEXEC
#define PERF_FLAG_FD_CLOEXEC (1UL << 3)
#endif

/* Reasons a counter is missing (static strings, see fp/metric.h). */
static const char R_NO_PMU[] = "no PMU";
static const char R_NOT_SUPPORTED[] = "event not supported";
static const char R_PARANOID[] = "perf_event_open: permission denied (perf_event_paranoid)";
static const char R_NO_PROC[] = "perf_event_open: no such process";
static const char R_NO_SYSCALL[] = "perf_event_open: not available (kernel or seccomp)";
static const char R_NO_FDS[] = "perf_event_open: too many open files";
static const char R_OPEN_FAILED[] = "perf_event_open failed";
static const char R_READ_FAILED[] = "perf counter read failed";
static const char R_MULTIPLEXED[] = "not counted (multiplexed out)";
static const char R_UNKNOWN[] = "unknown event";
static const char R_NOT_OPEN[] = "perf counters not opened";
static const char R_NO_PREV[] = "no previous reading";
static const char R_NO_TIME[] = "no time elapsed";
static const char R_NO_CYCLES[] = "no cycles counted";
static const char R_NO_REFS[] = "no cache references counted";

#define HW_CACHE_CONFIG(cache, op, result) \
    ((uint64_t)(cache) | ((uint64_t)(op) << 8) | ((uint64_t)(result) << 16))

/* Per event: its perf-style name, its libpfm4 name (in libpfm4's "perf"
 * pseudo-PMU, which maps to the generic kernel events; NULL for the
 * software events, which need no encoding help) and the generic encoding
 * used when libpfm4 is absent or cannot encode the name. */
static const struct ev_desc {
    const char *name;
    const char *pfm;
    uint32_t type;
    uint64_t config;
} evs[FP_EV_COUNT] = {
    [FP_EV_INSTRUCTIONS] = { "instructions", "perf::PERF_COUNT_HW_INSTRUCTIONS",
                             PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
    [FP_EV_CYCLES] = { "cycles", "perf::PERF_COUNT_HW_CPU_CYCLES",
                       PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
    [FP_EV_CACHE_REFS] = { "cache-references", "perf::PERF_COUNT_HW_CACHE_REFERENCES",
                           PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES },
    [FP_EV_CACHE_MISSES] = { "cache-misses", "perf::PERF_COUNT_HW_CACHE_MISSES",
                             PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
    [FP_EV_BRANCH_MISSES] = { "branch-misses", "perf::PERF_COUNT_HW_BRANCH_MISSES",
                              PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES },
    [FP_EV_LLC_LOADS] = { "LLC-loads", "perf::PERF_COUNT_HW_CACHE_LL:READ:ACCESS",
                          PERF_TYPE_HW_CACHE,
                          HW_CACHE_CONFIG(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                          PERF_COUNT_HW_CACHE_RESULT_ACCESS) },
    [FP_EV_LLC_MISSES] = { "LLC-load-misses", "perf::PERF_COUNT_HW_CACHE_LL:READ:MISS",
                           PERF_TYPE_HW_CACHE,
                           HW_CACHE_CONFIG(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                           PERF_COUNT_HW_CACHE_RESULT_MISS) },
    [FP_EV_TASK_CLOCK] = { "task-clock", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK },
    [FP_EV_CTXSW] = { "context-switches", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
    [FP_EV_FAULTS] = { "page-faults", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS },
    [FP_EV_MIGRATIONS] = { "cpu-migrations", NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
};

/* The read_format of counters read as a group, and the most 64-bit words
 * a group read returns: nr, time_enabled, time_running, {value, id} each. */
#define GROUP_FORMAT (PERF_FORMAT_GROUP | PERF_FORMAT_ID | \
                      PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING)
#define GROUP_WORDS (3 + 2 * FP_EV_COUNT)

/* The two groups: hardware events [0, FP_EV_FIRST_SW), software events
 * [FP_EV_FIRST_SW, FP_EV_COUNT). */
enum { N_GROUPS = 2 };
static const struct { int first, end; } groups[N_GROUPS] = {
    { 0, FP_EV_FIRST_SW }, { FP_EV_FIRST_SW, FP_EV_COUNT },
};

struct fp_perf {
    const fp_perf_backend *be;
    int fd[FP_EV_COUNT];           /* -1 when the event is not open */
    const char *why[FP_EV_COUNT];  /* reason when fd < 0 */
    int lead[N_GROUPS];            /* leader read as a group, or -1 */
    int in_group[FP_EV_COUNT];     /* 1: counted in its group's read */
    uint64_t id[FP_EV_COUNT];      /* the kernel's id, when in_group */
};

/* ---- the real system -------------------------------------------------- */

static int sys_open(void *ctx, struct perf_event_attr *attr, pid_t pid, int cpu,
                    int group_fd, unsigned long flags)
{
    (void)ctx;
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* Read the three words of a counter opened with TOTAL_TIME_ENABLED and
 * TOTAL_TIME_RUNNING; a short read is an error (EIO). */
static int sys_read(void *ctx, int fd, uint64_t out[3])
{
    (void)ctx;
    ssize_t n;
    do n = read(fd, out, 3 * sizeof out[0]);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n != 3 * sizeof out[0]) { errno = EIO; return -1; }
    return 0;
}

static int sys_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

/* One read(2) of a whole group; the caller checks the length. */
static int sys_read_group(void *ctx, int fd, uint64_t *buf, size_t size)
{
    (void)ctx;
    ssize_t n;
    do n = read(fd, buf, size);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : (int)n;
}

static const fp_perf_backend sys_backend = { sys_open, sys_read, sys_close, NULL, sys_read_group };

const fp_perf_backend *fp_perf_backend_sys(void) { return &sys_backend; }

/* ---- encoding --------------------------------------------------------- */

const char *fp_perf_event_name(fp_perf_event e)
{
    return (unsigned)e < FP_EV_COUNT ? evs[e].name : NULL;
}

#ifdef HAVE_LIBPFM
/* Encode event e by its libpfm4 name into attr (already zeroed, size set).
 * Returns 0 on success; -1 when libpfm4 cannot initialize or does not know
 * the name in this process (e.g. the "perf" pseudo-PMU is inactive because
 * LIBPFM_FORCE_PMU selected a single PMU), attr then left zeroed for the
 * generic fallback. pfm_initialize() is idempotent; its first call is not
 * thread-safe, which is libpfm4's rule, not ours. */
static int pfm_encode(fp_perf_event e, struct perf_event_attr *attr)
{
    if (!evs[e].pfm || pfm_initialize() != PFM_SUCCESS) return -1;
    pfm_perf_encode_arg_t arg;
    memset(&arg, 0, sizeof arg);
    arg.attr = attr;
    arg.size = sizeof arg;
    if (pfm_get_os_event_encoding(evs[e].pfm, PFM_PLM0 | PFM_PLM3,
                                  PFM_OS_PERF_EVENT_EXT, &arg) != PFM_SUCCESS) {
        memset(attr, 0, sizeof *attr);
        attr->size = sizeof *attr;
        return -1;
    }
    return 0;
}
#endif

/* Fill attr for event e: the libpfm4 encoding of its name when built with
 * libpfm4 and it succeeds, else the generic PERF_TYPE_* encoding. Either way
 * the attr then counts user, kernel and hypervisor, host and guest alike
 * (libpfm4's defaults, such as exclude_guest, are cleared so both paths
 * measure the same thing), inherits to children started later, starts
 * enabled and reads {value, time enabled, time running}. Returns -1 with
 * *why set only for an event outside the table. */
int fp_perf_encode(fp_perf_event e, struct perf_event_attr *attr, const char **why)
{
    if ((unsigned)e >= FP_EV_COUNT) {
        if (why) *why = R_UNKNOWN;
        return -1;
    }
    memset(attr, 0, sizeof *attr);
    attr->size = sizeof *attr;
    int done = 0;
#ifdef HAVE_LIBPFM
    done = pfm_encode(e, attr) == 0;
#endif
    if (!done) {
        attr->type = evs[e].type;
        attr->config = evs[e].config;
    }
    attr->size = sizeof *attr;
    attr->exclude_user = attr->exclude_kernel = attr->exclude_hv = 0;
    attr->exclude_guest = attr->exclude_host = 0;
    attr->disabled = 0;
    attr->inherit = 1;
    attr->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return 0;
}

/* ---- opening ---------------------------------------------------------- */

/* Open one counter through the backend (cpu -1: follow the task anywhere;
 * close-on-exec so the workload never inherits our descriptors). When the
 * kernel refuses for privilege (EACCES/EPERM, perf_event_paranoid >= 2 for
 * an unprivileged caller) the counter is retried counting user space only,
 * as perf stat does. Returns the descriptor, or -1 with *err set to the
 * errno of the last attempt. */
static int open_one(const fp_perf_backend *be, struct perf_event_attr *attr,
                    pid_t pid, int group_fd, int *err)
{
    errno = 0;
    int fd = be->open(be->ctx, attr, pid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM) && !attr->exclude_kernel) {
        attr->exclude_kernel = 1;
        attr->exclude_hv = 1;
        errno = 0;
        fd = be->open(be->ctx, attr, pid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
    }
    if (fd < 0) *err = errno ? errno : EIO;
    return fd;
}

/* Read group leader fd into buf (GROUP_WORDS words). Returns nr, the
 * number of {value, id} pairs, or -1 when the read fails or its length is
 * not exactly that of nr pairs. */
static int read_group(const fp_perf *p, int fd, uint64_t buf[GROUP_WORDS])
{
    int n = p->be->read_group(p->be->ctx, fd, buf, GROUP_WORDS * sizeof buf[0]);
    if (n < 3 * (int)sizeof buf[0] || buf[0] > FP_EV_COUNT ||
        (size_t)n != (3 + 2 * buf[0]) * sizeof buf[0])
        return -1;
    return (int)buf[0];
}

/* Learn the id of event e, just opened into group g (leader fd leader),
 * from a group read: it must list the members already known plus exactly
 * one new id. Matching by id does not rely on the kernel's member order.
 * Returns 0 (e is then in the group read) or -1. */
static int learn_id(fp_perf *p, int g, int leader, int e)
{
    uint64_t buf[GROUP_WORDS];
    int nr = read_group(p, leader, buf);
    if (nr < 0) return -1;
    int known = 0, matched = 0, fresh = -1;
    for (int x = groups[g].first; x < groups[g].end; x++)
        if (p->in_group[x]) known++;
    if (nr != known + 1) return -1;
    for (int k = 0; k < nr; k++) {
        uint64_t id = buf[3 + 2 * k + 1];
        int is_known = 0;
        for (int x = groups[g].first; x < groups[g].end; x++)
            if (p->in_group[x] && p->id[x] == id) is_known = 1;
        if (is_known) matched++;
        else if (fresh < 0) fresh = k;
        else return -1;
    }
    if (fresh < 0 || matched != known) return -1;
    p->id[e] = buf[3 + 2 * fresh + 1];
    p->in_group[e] = 1;
    return 0;
}

/* Encode event e for group g: read as the group (GROUP_FORMAT) or alone
 * (the per-counter format fp_perf_encode gives). */
static void encode_for(fp_perf_event e, struct perf_event_attr *attr, int grouped)
{
    fp_perf_encode(e, attr, NULL);
    if (grouped) attr->read_format = GROUP_FORMAT;
}

/* Open events of group g as one group on pid: the first event that opens
 * becomes the leader and each later one joins it (group_fd = leader). A
 * member the kernel will not take into the group (too many events for the
 * PMU's counters, say) is retried alone so it still counts, multiplexed on
 * its own, and is read alone. With a backend that reads groups, every
 * counter is opened with GROUP_FORMAT and its id learned; when the leader
 * is refused that format (EINVAL, where the plain format opens) or its id
 * cannot be read, the group is opened and read counter by counter. A member
 * whose id cannot be learned is reopened alone. Failures leave fd -1 and
 * the errno in errs[e]. */
static void open_group(fp_perf *p, pid_t pid, int g, int errs[])
{
    const fp_perf_backend *be = p->be;
    int leader = -1;
    int grouped = be->read_group != NULL;
    for (int e = groups[g].first; e < groups[g].end; e++) {
        struct perf_event_attr attr;
        const char *why = NULL;
        if (fp_perf_encode((fp_perf_event)e, &attr, &why) < 0) {
            p->why[e] = why;
            continue;
        }
        int fd;
        if (leader < 0) {
            if (grouped) {
                encode_for((fp_perf_event)e, &attr, 1);
                fd = open_one(be, &attr, pid, -1, &errs[e]);
                if (fd >= 0 && learn_id(p, g, fd, e) < 0) {
                    be->close(be->ctx, fd);
                    fd = -1;
                    grouped = 0;
                    errs[e] = EIO;
                } else if (fd < 0 && errs[e] == EINVAL) {
                    /* The format, or the event itself? Try without. */
                    encode_for((fp_perf_event)e, &attr, 0);
                    fd = open_one(be, &attr, pid, -1, &errs[e]);
                    if (fd >= 0) grouped = 0;
                } else if (fd < 0) {
                    continue;
                }
                if (fd < 0 && !grouped) {
                    encode_for((fp_perf_event)e, &attr, 0);
                    fd = open_one(be, &attr, pid, -1, &errs[e]);
                }
            } else {
                fd = open_one(be, &attr, pid, -1, &errs[e]);
            }
            if (fd >= 0) {
                leader = fd;
                if (grouped) p->lead[g] = fd;
            }
        } else {
            encode_for((fp_perf_event)e, &attr, grouped);
            fd = open_one(be, &attr, pid, leader, &errs[e]);
            if (fd >= 0 && grouped && learn_id(p, g, leader, e) < 0) {
                be->close(be->ctx, fd);
                fd = -1;
            }
            if (fd < 0) {
                encode_for((fp_perf_event)e, &attr, 0);
                fd = open_one(be, &attr, pid, -1, &errs[e]);
            }
        }
        p->fd[e] = fd;
    }
}

/* The reason for a counter that failed to open with errno err. "No such
 * event" errors on a hardware event mean there is no PMU at all when no
 * hardware event opened, else that this PMU lacks the event. */
static const char *open_reason(int err, int hw, int any_hw_open)
{
    switch (err) {
    case ENOENT: case ENODEV: case EOPNOTSUPP:
        return hw && !any_hw_open ? R_NO_PMU : R_NOT_SUPPORTED;
    case EACCES: case EPERM: return R_PARANOID;
    case ESRCH: return R_NO_PROC;
    case ENOSYS: return R_NO_SYSCALL;
    case EMFILE: case ENFILE: return R_NO_FDS;
    default: return R_OPEN_FAILED;
    }
}

/* Open the hardware group, then the software group, on pid through be (the
 * real system when NULL). Events that fail stay closed with a reason; the
 * "no PMU" versus "event not supported" choice is made once every hardware
 * open has been tried. Only running out of memory fails (NULL, FP_ESYS). */
fp_perf *fp_perf_open(pid_t pid, const fp_perf_backend *be, fp_err *err)
{
    fp_perf *p = calloc(1, sizeof *p);
    if (!p) {
        fp_err_sys(err, "perf: allocating the counter set");
        return NULL;
    }
    p->be = be ? be : &sys_backend;
    int errs[FP_EV_COUNT];
    for (int e = 0; e < FP_EV_COUNT; e++) { p->fd[e] = -1; errs[e] = 0; }
    for (int g = 0; g < N_GROUPS; g++) p->lead[g] = -1;

    for (int g = 0; g < N_GROUPS; g++) open_group(p, pid, g, errs);

    int any_hw = 0;
    for (int e = 0; e < FP_EV_FIRST_SW; e++)
        if (p->fd[e] >= 0) any_hw = 1;
    for (int e = 0; e < FP_EV_COUNT; e++)
        if (p->fd[e] < 0 && !p->why[e])
            p->why[e] = open_reason(errs[e], e < FP_EV_FIRST_SW, any_hw);
    return p;
}

/* ---- reading ---------------------------------------------------------- */

/* Event e counted value while enabled for enabled ns and running for
 * running ns. A counter that ran only part of the time it was enabled
 * (multiplexing) is scaled by enabled/running; one that was enabled but
 * never ran is missing ("not counted (multiplexed out)"). One that was
 * never even enabled (the task has not run since the counters were opened)
 * truthfully counted 0 and is present with 0. */
static void put(fp_perf_counts *out, int e, uint64_t value, uint64_t enabled, uint64_t running)
{
    if (running == 0) {
        if (enabled == 0) out->value[e] = 0;
        else out->why[e] = R_MULTIPLEXED;
    } else if (running < enabled) {
        out->value[e] = (double)value * ((double)enabled / (double)running);
    } else {
        out->value[e] = (double)value;
    }
}

/* Read every open counter: one read per group read as a group (its
 * members matched by id and scaled alike by the group's times, as the
 * kernel reports them for the leader), one per counter read alone. */
void fp_perf_read(fp_perf *p, fp_perf_counts *out)
{
    for (int e = 0; e < FP_EV_COUNT; e++) {
        out->value[e] = 0;
        out->why[e] = !p ? R_NOT_OPEN : p->fd[e] < 0 ? p->why[e] : NULL;
    }
    if (!p) return;
    for (int g = 0; g < N_GROUPS; g++) {
        if (p->lead[g] < 0) continue;
        uint64_t buf[GROUP_WORDS];
        int nr = read_group(p, p->lead[g], buf);
        for (int e = groups[g].first; e < groups[g].end; e++) {
            if (p->fd[e] < 0 || !p->in_group[e]) continue;
            int k = 0;
            while (k < nr && buf[3 + 2 * k + 1] != p->id[e]) k++;
            if (k >= nr) out->why[e] = R_READ_FAILED; /* read failed, or e not in it */
            else put(out, e, buf[3 + 2 * k], buf[1], buf[2]);
        }
    }
    for (int e = 0; e < FP_EV_COUNT; e++) {
        if (p->fd[e] < 0 || p->in_group[e]) continue;
        uint64_t v[3] = { 0, 0, 0 };
        if (p->be->read(p->be->ctx, p->fd[e], v) < 0) out->why[e] = R_READ_FAILED;
        else put(out, e, v[0], v[1], v[2]);
    }
}

/* ---- derived metrics --------------------------------------------------- */

/* Growth of event e between two readings, clamped at 0 (scaled counts can
 * step back a little). Returns NULL and sets *d, or the reason the growth
 * is unknown: the current reading's, no previous reading, the previous
 * reading's. */
static const char *delta(const fp_perf_counts *prev, const fp_perf_counts *cur,
                         fp_perf_event e, double *d)
{
    if (cur->why[e]) return cur->why[e];
    if (!prev) return R_NO_PREV;
    if (prev->why[e]) return prev->why[e];
    double x = cur->value[e] - prev->value[e];
    *d = x > 0 ? x : 0;
    return NULL;
}

/* Which metric is the per-second rate of which event; scale turns the
 * event's unit into the metric's (task clock ns -> cores). */
static const struct {
    fp_perf_event ev;
    fp_metric m;
    double scale;
} rate_map[] = {
    { FP_EV_INSTRUCTIONS, FP_M_INSTRUCTIONS_PS, 1 },
    { FP_EV_CYCLES, FP_M_CYCLES_PS, 1 },
    { FP_EV_CACHE_REFS, FP_M_CACHE_REFS_PS, 1 },
    { FP_EV_CACHE_MISSES, FP_M_CACHE_MISSES_PS, 1 },
    { FP_EV_BRANCH_MISSES, FP_M_BRANCH_MISSES_PS, 1 },
    { FP_EV_LLC_LOADS, FP_M_LLC_LOADS_PS, 1 },
    { FP_EV_LLC_MISSES, FP_M_LLC_MISSES_PS, 1 },
    { FP_EV_TASK_CLOCK, FP_M_TASK_CLOCK_CORES, 1e-9 },
    { FP_EV_CTXSW, FP_M_SW_CTXSW_PS, 1 },
    { FP_EV_FAULTS, FP_M_SW_FAULTS_PS, 1 },
    { FP_EV_MIGRATIONS, FP_M_SW_MIGRATIONS_PS, 1 },
};

/* Ratio num/den of two event growths into metric m, missing with the first
 * unknown growth's reason or zero_why when the denominator did not grow. */
static void ratio(const fp_perf_counts *prev, const fp_perf_counts *cur, fp_perf_event num,
                  fp_perf_event den, fp_metric m, const char *zero_why, fp_sample *s)
{
    double dn = 0, dd = 0;
    const char *why = delta(prev, cur, num, &dn);
    if (!why) why = delta(prev, cur, den, &dd);
    if (!why && dd <= 0) why = zero_why;
    if (why) fp_sample_miss(s, m, why);
    else fp_sample_set(s, m, dn / dd);
}

/* Rates are growth / dt (missing with "no time elapsed" unless dt > 0);
 * IPC and the cache miss rate are ratios of growths and need no dt. */
void fp_perf_rates(const fp_perf_counts *prev, const fp_perf_counts *cur,
                   double dt, fp_sample *s)
{
    for (size_t i = 0; i < sizeof rate_map / sizeof rate_map[0]; i++) {
        double d = 0;
        const char *why = delta(prev, cur, rate_map[i].ev, &d);
        if (!why && !(dt > 0 && isfinite(dt))) why = R_NO_TIME;
        if (why) fp_sample_miss(s, rate_map[i].m, why);
        else fp_sample_set(s, rate_map[i].m, d * rate_map[i].scale / dt);
    }
    ratio(prev, cur, FP_EV_INSTRUCTIONS, FP_EV_CYCLES, FP_M_IPC, R_NO_CYCLES, s);
    ratio(prev, cur, FP_EV_CACHE_MISSES, FP_EV_CACHE_REFS, FP_M_CACHE_MISS_RATE, R_NO_REFS, s);
}

/* ---- freeing ---------------------------------------------------------- */

/* Close members before their leaders (the kernel accepts either order; this
 * one never leaves a member pointing at a closed leader), then free. */
void fp_perf_free(fp_perf *p)
{
    if (!p) return;
    for (int e = FP_EV_COUNT - 1; e >= 0; e--)
        if (p->fd[e] >= 0) p->be->close(p->be->ctx, p->fd[e]);
    free(p);
}
