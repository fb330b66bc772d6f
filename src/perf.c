/* perf.c - hardware and software counters through perf_event_open(2).
 *
 * See fp/perf.h for the contract. Two groups are opened on the target pid
 * (or, for a cgroup, on each CPU): the hardware events (first one that
 * opens leads, the others join it with group_fd so they are scheduled
 * together) and the software events (likewise). Every counter on a pid has
 * inherit=1; cgroup counters have inherit=0 (a cgroup event follows the
 * cgroup's tasks, children included, by itself). Each group is read with one
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
 * One struct pcpu holds a set of the two groups: a pid has one (cpu -1), a
 * cgroup one per CPU. Every set is opened, grouped and read on its own;
 * readings are scaled per set and summed.
 *
 * Nothing here is global and mutable except libpfm4's own state, which
 * pfm_initialize() sets up once per process (later calls are no-ops).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
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
#ifndef PERF_FLAG_PID_CGROUP
#define PERF_FLAG_PID_CGROUP (1UL << 2)
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
static const char R_CG_PARANOID[] = "cgroup counters need CAP_PERFMON or kernel.perf_event_paranoid <= 0";
static const char R_NO_CGROUP[] = "no perf_event controller for this cgroup";
static const char R_NOT_EVERY_CPU[] = "not counted on every CPU";

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

/* One set of the two groups: on the pid (cpu -1), or on one CPU. */
struct pcpu {
    int fd[FP_EV_COUNT];           /* -1 when the event is not open here */
    int lead[N_GROUPS];            /* leader read as a group, or -1 */
    int in_group[FP_EV_COUNT];     /* 1: counted in its group's read */
    uint64_t id[FP_EV_COUNT];      /* the kernel's id, when in_group */
};

/* Where a set is opened: perf_event_open's pid, cpu and flags, the attr's
 * inherit, and whether EACCES/EPERM is worth a user-only retry (not for
 * CPU-wide cgroup counters: the kernel wants perf_event_paranoid <= 0 or
 * CAP_PERFMON for those whatever they exclude). */
typedef struct {
    pid_t pid;
    int cpu;
    unsigned long flags;
    int inherit, retry_user;
} target;

struct fp_perf {
    const fp_perf_backend *be;
    const char *why[FP_EV_COUNT];  /* reason when the event is missing */
    int n;                         /* sets: 1 for a pid, ncpus for a cgroup */
    struct pcpu set[];             /* n of them */
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

/* Open one counter through the backend on t (a pid with cpu -1: follow
 * the task anywhere; a cgroup on one CPU; always close-on-exec so the
 * workload never inherits our descriptors). When the kernel refuses a pid's
 * counter for privilege (EACCES/EPERM, perf_event_paranoid >= 2 for an
 * unprivileged caller) the counter is retried counting user space only, as
 * perf stat does. Returns the descriptor, or -1 with *err set to the errno
 * of the last attempt. */
static int open_one(const fp_perf_backend *be, struct perf_event_attr *attr,
                    const target *t, int group_fd, int *err)
{
    errno = 0;
    int fd = be->open(be->ctx, attr, t->pid, t->cpu, group_fd, t->flags);
    if (fd < 0 && (errno == EACCES || errno == EPERM) && !attr->exclude_kernel && t->retry_user) {
        attr->exclude_kernel = 1;
        attr->exclude_hv = 1;
        errno = 0;
        fd = be->open(be->ctx, attr, t->pid, t->cpu, group_fd, t->flags);
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

/* Learn the id of event e, just opened into group g of set c (leader fd
 * leader), from a group read: it must list the members already known plus
 * exactly one new id. Matching by id does not rely on the kernel's member
 * order. Returns 0 (e is then in the group read) or -1. */
static int learn_id(const fp_perf *p, struct pcpu *c, int g, int leader, int e)
{
    uint64_t buf[GROUP_WORDS];
    int nr = read_group(p, leader, buf);
    if (nr < 0) return -1;
    int known = 0, matched = 0, fresh = -1;
    for (int x = groups[g].first; x < groups[g].end; x++)
        if (c->in_group[x]) known++;
    if (nr != known + 1) return -1;
    for (int k = 0; k < nr; k++) {
        uint64_t id = buf[3 + 2 * k + 1];
        int is_known = 0;
        for (int x = groups[g].first; x < groups[g].end; x++)
            if (c->in_group[x] && c->id[x] == id) is_known = 1;
        if (is_known) matched++;
        else if (fresh < 0) fresh = k;
        else return -1;
    }
    if (fresh < 0 || matched != known) return -1;
    c->id[e] = buf[3 + 2 * fresh + 1];
    c->in_group[e] = 1;
    return 0;
}

/* Encode event e for target t: read as the group (GROUP_FORMAT) or alone
 * (the per-counter format fp_perf_encode gives), inherit as t says.
 * Returns -1 with *why set for an event outside the table. */
static int encode_for(fp_perf_event e, struct perf_event_attr *attr, int grouped,
                      const target *t, const char **why)
{
    if (fp_perf_encode(e, attr, why) < 0) return -1;
    if (grouped) attr->read_format = GROUP_FORMAT;
    attr->inherit = t->inherit ? 1 : 0;
    return 0;
}

/* Open events of group g as one group of set c on target t: the first
 * event that opens becomes the leader and each later one joins it
 * (group_fd = leader). A member the kernel will not take into the group
 * (too many events for the PMU's counters, say) is retried alone so it
 * still counts, multiplexed on its own, and is read alone. With a backend
 * that reads groups, every counter is opened with GROUP_FORMAT and its id
 * learned; when the leader is refused that format (EINVAL, where the plain
 * format opens) or its id cannot be read, the group is opened and read
 * counter by counter. A member whose id cannot be learned is reopened
 * alone. Failures leave fd -1 and the errno in errs[e]. */
static void open_group(fp_perf *p, struct pcpu *c, const target *t, int g, int errs[])
{
    const fp_perf_backend *be = p->be;
    int leader = -1;
    int grouped = be->read_group != NULL;
    for (int e = groups[g].first; e < groups[g].end; e++) {
        struct perf_event_attr attr;
        const char *why = NULL;
        if (encode_for((fp_perf_event)e, &attr, grouped, t, &why) < 0) {
            p->why[e] = why;
            continue;
        }
        int fd;
        if (leader < 0) {
            if (grouped) {
                fd = open_one(be, &attr, t, -1, &errs[e]);
                if (fd >= 0 && learn_id(p, c, g, fd, e) < 0) {
                    be->close(be->ctx, fd);
                    fd = -1;
                    grouped = 0;
                    errs[e] = EIO;
                } else if (fd < 0 && errs[e] == EINVAL) {
                    /* The format, or the event itself? Try without. */
                    encode_for((fp_perf_event)e, &attr, 0, t, NULL);
                    fd = open_one(be, &attr, t, -1, &errs[e]);
                    if (fd >= 0) grouped = 0;
                } else if (fd < 0) {
                    continue;
                }
                if (fd < 0 && !grouped) {
                    encode_for((fp_perf_event)e, &attr, 0, t, NULL);
                    fd = open_one(be, &attr, t, -1, &errs[e]);
                }
            } else {
                fd = open_one(be, &attr, t, -1, &errs[e]);
            }
            if (fd >= 0) {
                leader = fd;
                if (grouped) c->lead[g] = fd;
            }
        } else {
            fd = open_one(be, &attr, t, leader, &errs[e]);
            if (fd >= 0 && grouped && learn_id(p, c, g, leader, e) < 0) {
                be->close(be->ctx, fd);
                fd = -1;
            }
            if (fd < 0) {
                encode_for((fp_perf_event)e, &attr, 0, t, NULL);
                fd = open_one(be, &attr, t, -1, &errs[e]);
            }
        }
        c->fd[e] = fd;
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

/* The reason for a cgroup counter that failed on every CPU, the first
 * with errno err: permissions are the cgroup's (CPU-wide counters need
 * CAP_PERFMON or perf_event_paranoid <= 0); EBADF is the cgroup descriptor
 * (the kernel's answer for a directory outside cgroupfs), as are EINVAL
 * (no CONFIG_CGROUP_PERF, a bad descriptor) and ENOENT (a v1 hierarchy
 * without perf_event) when bad_cgroup says not even a software event
 * opened anywhere; the rest as for a pid. */
static const char *cgroup_reason(int err, int hw, int any_hw_open, int bad_cgroup)
{
    switch (err) {
    case EACCES: case EPERM: return R_CG_PARANOID;
    case EBADF: return R_NO_CGROUP;
    case EINVAL: case ENOENT:
        if (bad_cgroup) return R_NO_CGROUP;
        break;
    default: break;
    }
    return open_reason(err, hw, any_hw_open);
}

/* An fp_perf of n sets, every descriptor -1, or NULL (FP_ESYS). */
static fp_perf *perf_new(const fp_perf_backend *be, int n, fp_err *err)
{
    fp_perf *p = calloc(1, sizeof *p + (size_t)n * sizeof p->set[0]);
    if (!p) {
        fp_err_sys(err, "perf: allocating the counter set");
        return NULL;
    }
    p->be = be ? be : &sys_backend;
    p->n = n;
    for (int k = 0; k < n; k++) {
        for (int e = 0; e < FP_EV_COUNT; e++) p->set[k].fd[e] = -1;
        for (int g = 0; g < N_GROUPS; g++) p->set[k].lead[g] = -1;
    }
    return p;
}

/* How many sets event e is open in. */
static int open_count(const fp_perf *p, int e)
{
    int n = 0;
    for (int k = 0; k < p->n; k++)
        if (p->set[k].fd[e] >= 0) n++;
    return n;
}

/* Open the hardware group, then the software group, on pid through be (the
 * real system when NULL). Events that fail stay closed with a reason; the
 * "no PMU" versus "event not supported" choice is made once every hardware
 * open has been tried. Only running out of memory fails (NULL, FP_ESYS). */
fp_perf *fp_perf_open(pid_t pid, const fp_perf_backend *be, fp_err *err)
{
    fp_perf *p = perf_new(be, 1, err);
    if (!p) return NULL;
    const target t = { pid, -1, PERF_FLAG_FD_CLOEXEC, 1, 1 };
    int errs[FP_EV_COUNT] = { 0 };
    for (int g = 0; g < N_GROUPS; g++) open_group(p, &p->set[0], &t, g, errs);

    int any_hw = 0;
    for (int e = 0; e < FP_EV_FIRST_SW; e++)
        if (p->set[0].fd[e] >= 0) any_hw = 1;
    for (int e = 0; e < FP_EV_COUNT; e++)
        if (p->set[0].fd[e] < 0 && !p->why[e])
            p->why[e] = open_reason(errs[e], e < FP_EV_FIRST_SW, any_hw);
    return p;
}

/* Open both groups on every CPU 0..ncpus-1 for the cgroup of cgroup_fd. An
 * event open on every CPU counts; one open nowhere gets the reason of the
 * first CPU's failure; one open on some CPUs only is missing ("not counted
 * on every CPU") but its descriptors stay open, still in their groups,
 * until fp_perf_free. */
fp_perf *fp_perf_open_cgroup(int cgroup_fd, int ncpus, const fp_perf_backend *be, fp_err *err)
{
    if (cgroup_fd < 0 || ncpus < 1) {
        fp_err_set(err, FP_EUSAGE,
                   "perf: cgroup counters need a cgroup descriptor and ncpus >= 1 (fd %d, ncpus %d)",
                   cgroup_fd, ncpus);
        return NULL;
    }
    if ((size_t)ncpus > (SIZE_MAX - sizeof(fp_perf)) / sizeof(struct pcpu)) {
        fp_err_set(err, FP_EUSAGE, "perf: %d CPUs is too many", ncpus);
        return NULL;
    }
    fp_perf *p = perf_new(be, ncpus, err);
    if (!p) return NULL;
    int first_err[FP_EV_COUNT] = { 0 };
    for (int cpu = 0; cpu < ncpus; cpu++) {
        const target t = { cgroup_fd, cpu, PERF_FLAG_FD_CLOEXEC | PERF_FLAG_PID_CGROUP, 0, 0 };
        int errs[FP_EV_COUNT] = { 0 };
        for (int g = 0; g < N_GROUPS; g++) open_group(p, &p->set[cpu], &t, g, errs);
        for (int e = 0; e < FP_EV_COUNT; e++)
            if (p->set[cpu].fd[e] < 0 && !first_err[e]) first_err[e] = errs[e] ? errs[e] : EIO;
    }

    /* The cgroup itself is refused when nothing opened anywhere and every
     * software event (which needs no PMU) failed as a bad cgroup does. */
    int any_hw = 0, any = 0, sw_cgroup_err = 1;
    for (int e = 0; e < FP_EV_COUNT; e++) {
        if (open_count(p, e) > 0) {
            any = 1;
            if (e < FP_EV_FIRST_SW) any_hw = 1;
        }
        if (e >= FP_EV_FIRST_SW && first_err[e] != EBADF && first_err[e] != EINVAL &&
            first_err[e] != ENOENT)
            sw_cgroup_err = 0;
    }
    int bad_cgroup = !any && sw_cgroup_err;
    for (int e = 0; e < FP_EV_COUNT; e++) {
        if (p->why[e]) continue;
        int n = open_count(p, e);
        if (n == ncpus) continue;
        p->why[e] = n > 0 ? R_NOT_EVERY_CPU
                  : cgroup_reason(first_err[e], e < FP_EV_FIRST_SW, any_hw, bad_cgroup);
    }
    return p;
}

/* ---- reading ---------------------------------------------------------- */

/* A counter's value while enabled for enabled ns and running for running
 * ns, into *v. A counter that ran only part of the time it was enabled
 * (multiplexing) is scaled by enabled/running; one that was enabled but
 * never ran is unknown: returns "not counted (multiplexed out)". One that
 * was never even enabled (the task, or the cgroup on this CPU, has not run
 * since the counters were opened) truthfully counted 0. */
static const char *scale(uint64_t value, uint64_t enabled, uint64_t running, double *v)
{
    *v = 0;
    if (running == 0) return enabled == 0 ? NULL : R_MULTIPLEXED;
    *v = (double)value;
    if (running < enabled) *v *= (double)enabled / (double)running;
    return NULL;
}

/* Add one set's reading of event e (reason why, else value v) to out: the
 * first unknown reading makes the event missing, never a partial sum. */
static void add(fp_perf_counts *out, int e, const char *why, double v)
{
    if (out->why[e]) return;
    if (why) {
        out->why[e] = why;
        out->value[e] = 0;
    } else {
        out->value[e] += v;
    }
}

/* Read every set's open counters: one read per group read as a group (its
 * members matched by id and scaled alike by the group's times, as the
 * kernel reports them for the leader), one per counter read alone; each
 * set's scaled counts summed. Events already missing are not read. */
void fp_perf_read(fp_perf *p, fp_perf_counts *out)
{
    for (int e = 0; e < FP_EV_COUNT; e++) {
        out->value[e] = 0;
        out->why[e] = !p ? R_NOT_OPEN : p->why[e];
    }
    if (!p) return;
    for (int k = 0; k < p->n; k++) {
        const struct pcpu *c = &p->set[k];
        for (int g = 0; g < N_GROUPS; g++) {
            if (c->lead[g] < 0) continue;
            int need = 0;
            for (int e = groups[g].first; e < groups[g].end; e++)
                if (c->fd[e] >= 0 && c->in_group[e] && !out->why[e]) need = 1;
            if (!need) continue;
            uint64_t buf[GROUP_WORDS];
            int nr = read_group(p, c->lead[g], buf);
            for (int e = groups[g].first; e < groups[g].end; e++) {
                if (c->fd[e] < 0 || !c->in_group[e] || out->why[e]) continue;
                int i = 0;
                while (i < nr && buf[3 + 2 * i + 1] != c->id[e]) i++;
                double v = 0;
                const char *why = i >= nr ? R_READ_FAILED /* read failed, or e not in it */
                                : scale(buf[3 + 2 * i], buf[1], buf[2], &v);
                add(out, e, why, v);
            }
        }
        for (int e = 0; e < FP_EV_COUNT; e++) {
            if (c->fd[e] < 0 || c->in_group[e] || out->why[e]) continue;
            uint64_t r[3] = { 0, 0, 0 };
            double v = 0;
            const char *why = p->be->read(p->be->ctx, c->fd[e], r) < 0 ? R_READ_FAILED
                            : scale(r[0], r[1], r[2], &v);
            add(out, e, why, v);
        }
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

/* Close every set's members before their leaders (the kernel accepts
 * either order; this one never leaves a member pointing at a closed
 * leader), then free. */
void fp_perf_free(fp_perf *p)
{
    if (!p) return;
    for (int k = 0; k < p->n; k++)
        for (int e = FP_EV_COUNT - 1; e >= 0; e--)
            if (p->set[k].fd[e] >= 0) p->be->close(p->be->ctx, p->set[k].fd[e]);
    free(p);
}
