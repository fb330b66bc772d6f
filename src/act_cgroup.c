/* act_cgroup.c - the cgroup back-end of fp/actuator.h (v1, v2 and hybrid).
 *
 * Knob files, by layout (hybrid uses the v1 controllers, backend "cgroup-v1"):
 *   v2  cpu.max, cpu.weight, memory.high, memory.max, io.max, pids.max
 *   v1  cpu.cfs_period_us, cpu.cfs_quota_us, cpu.shares,
 *       memory.soft_limit_in_bytes, memory.limit_in_bytes,
 *       blkio.throttle.read_bps_device, blkio.throttle.write_bps_device,
 *       pids.max
 * Per-device knobs are named "FILE:MAJ:MIN" (one change per device).
 *
 * Every knob file is reached from its controller's mount point (from the
 * mountinfo layout) one directory at a time with openat(O_NOFOLLOW), so a
 * symlink or ".." anywhere on the way is refused, and there is no window
 * between a check and the open that a rename could exploit.
 *
 * Memory limits are rounded down to whole pages, as the kernel keeps them,
 * so that a second plan reads back what the first wrote and finds nothing to
 * change. CPU quotas use a period of 100000 us.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "act_impl.h"
#include "fp/cgroup.h"
#include "fp/netlimit.h"

#define PERIOD_US 100000LL
#define QUOTA_MIN_US 1000LL          /* the kernel's smallest cfs quota */
#define MEM_UNLIM ULLONG_MAX
#define MEM_UNLIM_V1 (1ULL << 62)    /* v1 reads "no limit" as ~2^63 */
#define MAX_DEV 8
#define KNOB_BUF 16384               /* multi-line knob files (io.max, blkio) */

typedef struct cg_act {
    fp_actuator base;
    fp_roots roots;
    fp_cg_layout layout;
    bool v2;
    bool whole;            /* a pid's cgroup may hold other processes */
} cg_act;

typedef struct knob_def {
    const char *file;
    int ctl;
    bool per_device;
} knob_def;

static const knob_def knobs_v2[] = {
    {"cpu.max", FP_CTL_UNIFIED, false},     {"cpu.weight", FP_CTL_UNIFIED, false},
    {"memory.high", FP_CTL_UNIFIED, false}, {"memory.max", FP_CTL_UNIFIED, false},
    {"io.max", FP_CTL_UNIFIED, true},       {"pids.max", FP_CTL_UNIFIED, false},
};
static const knob_def knobs_v1[] = {
    {"cpu.cfs_period_us", FP_CTL_CPU, false},
    {"cpu.cfs_quota_us", FP_CTL_CPU, false},
    {"cpu.shares", FP_CTL_CPU, false},
    {"memory.soft_limit_in_bytes", FP_CTL_MEMORY, false},
    {"memory.limit_in_bytes", FP_CTL_MEMORY, false},
    {"blkio.throttle.read_bps_device", FP_CTL_BLKIO, true},
    {"blkio.throttle.write_bps_device", FP_CTL_BLKIO, true},
    {"pids.max", FP_CTL_PIDS, false},
};

static const char *const ctl_label[FP_CTL_COUNT] = {"cpu",  "cpuacct",    "memory", "blkio",
                                                    "pids", "perf_event", "cgroup2"};

/* The knob definition of file name `file` for this back-end, or NULL when
 * it is not one of its knob files. */
static const knob_def *knob_of(const cg_act *a, const char *file)
{
    const knob_def *k = a->v2 ? knobs_v2 : knobs_v1;
    size_t n = a->v2 ? sizeof knobs_v2 / sizeof *knobs_v2 : sizeof knobs_v1 / sizeof *knobs_v1;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k[i].file, file)) return &k[i];
    return NULL;
}

/* ---- reaching knob files safely ---------------------------------------- */

/* When `name` in directory dfd is a symlink, set err (FP_EINPUT, naming
 * path) and return 1; else 0. */
static int refuse_link(int dfd, const char *name, const char *path, fp_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        fp_err_set(err, FP_EINPUT, "refusing symlinked cgroup path %s (%s is a symbolic link)",
                   path, name);
        return 1;
    }
    return 0;
}

/* Walk from the mount point of controller ctl down to the directory that
 * holds the last component of `path`, opening each directory with
 * O_NOFOLLOW. Returns that directory's descriptor and points *last at the
 * file name inside path. -1 with err: FP_EINPUT when path is not below the
 * mount, has an empty, "." or ".." component, or meets a symlink (the mount
 * point included); FP_ESYS (errno kept) when a directory cannot be opened. */
static int open_parent(const cg_act *a, int ctl, const char *path, const char **last,
                       fp_err *err)
{
    const char *mnt = a->layout.mnt[ctl];
    size_t ml = strlen(mnt);
    if (!ml)
        return fp_err_set(err, FP_EINPUT, "refusing %s: no %s cgroup hierarchy is mounted", path,
                          ctl_label[ctl]);
    if (strncmp(path, mnt, ml) != 0 || (path[ml] != '/' && mnt[ml - 1] != '/'))
        return fp_err_set(err, FP_EINPUT, "refusing %s: not below the %s cgroup mount %s", path,
                          ctl_label[ctl], mnt);
    const char *p = path + ml;
    while (*p == '/') p++;
    int dfd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        struct stat st;
        if (lstat(mnt, &st) == 0 && S_ISLNK(st.st_mode))
            return fp_err_set(err, FP_EINPUT,
                              "refusing symlinked cgroup path %s (the mount point %s is a symbolic link)",
                              path, mnt);
        errno = e;
        return fp_err_sys(err, "cannot open the cgroup mount %s", mnt);
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char comp[NAME_MAX + 1];
        if (len == 0 || len > NAME_MAX) {
            close(dfd);
            return fp_err_set(err, FP_EINPUT, "refusing cgroup path %s: empty or overlong component",
                              path);
        }
        memcpy(comp, p, len);
        comp[len] = 0;
        if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
            close(dfd);
            return fp_err_set(err, FP_EINPUT, "refusing cgroup path %s: it contains '%s'", path, comp);
        }
        if (!slash) {
            *last = p;
            return dfd;
        }
        int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            int e = errno;
            int link = refuse_link(dfd, comp, path, err);
            close(dfd);
            if (link) return -1;
            errno = e;
            return fp_err_sys(err, "cannot open %.*s", (int)(slash - path), path);
        }
        close(dfd);
        dfd = nfd;
        p = slash + 1;
    }
}

/* Open knob file `path` below controller ctl's mount with flags (plus
 * O_NOFOLLOW and O_CLOEXEC). Returns the descriptor, or -1 with err as
 * open_parent, or FP_ESYS "cannot open PATH" with errno kept. */
static int open_knob(const cg_act *a, int ctl, const char *path, int flags, fp_err *err)
{
    const char *last;
    int dfd = open_parent(a, ctl, path, &last, err);
    if (dfd < 0) return -1;
    int fd = openat(dfd, last, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        int link = refuse_link(dfd, last, path, err);
        close(dfd);
        if (link) return -1;
        errno = e;
        return fp_err_sys(err, "cannot open %s", path);
    }
    close(dfd);
    return fd;
}

/* Read the whole of a file below controller ctl's mount (at most n-1 bytes)
 * into buf, NUL-terminated. Returns the length or -1 with err as
 * open_knob (FP_ESYS with sys_errno ENOENT when it does not exist). */
static long read_knob(const cg_act *a, int ctl, const char *path, char *buf, size_t n, fp_err *err)
{
    int fd = open_knob(a, ctl, path, O_RDONLY, err);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < n) {
        ssize_t r = read(fd, buf + len, n - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return fp_err_sys(err, "cannot read %s", path);
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    return (long)len;
}

/* Write value to knob file `path` with one write() (the file is truncated
 * first, which cgroupfs ignores and which makes a regular file hold exactly
 * the value). FP_ESYS "cannot write "VALUE" to PATH: why" on failure;
 * FP_EINPUT for a refused path. */
static int write_knob(const cg_act *a, int ctl, const char *path, const char *value, fp_err *err)
{
    int fd = open_knob(a, ctl, path, O_WRONLY | O_TRUNC, err);
    if (fd < 0) {
        if (err && err->cls == FP_ESYS) {
            errno = err->sys_errno;
            fp_err_sys(err, "cannot write \"%s\" to %s", value, path);
        }
        return -1;
    }
    size_t len = strlen(value);
    ssize_t w;
    do w = write(fd, value, len);
    while (w < 0 && errno == EINTR);
    int e = w < 0 ? errno : (size_t)w != len ? EIO : 0;
    if (close(fd) < 0 && !e) e = errno;
    if (e) {
        errno = e;
        return fp_err_sys(err, "cannot write \"%s\" to %s", value, path);
    }
    return 0;
}

/* ---- text of knob files ------------------------------------------------ */

/* Collapse each run of blanks in s to one space and trim each line; empty
 * lines are dropped. Lines stay separated by '\n' when keep_lines, else
 * they are joined with one space. */
static void normalise(char *s, bool keep_lines)
{
    char *w = s;
    bool space = false, newline = false;
    for (const char *r = s; *r; r++) {
        if (*r == '\n' && keep_lines) {
            if (w != s) newline = true;
            space = false;
        } else if (isspace((unsigned char)*r)) {
            if (w != s && !newline) space = true;
        } else {
            if (newline) *w++ = '\n';
            else if (space) *w++ = ' ';
            newline = space = false;
            *w++ = *r;
        }
    }
    *w = 0;
}

/* Copy the line of normalised multi-line text whose first word is dev into
 * out; false when there is none. */
static bool dev_line(const char *text, const char *dev, char *out, size_t n)
{
    size_t dl = strlen(dev);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (!strncmp(p, dev, dl) && (p[dl] == ' ' || p[dl] == '\n' || !p[dl])) {
            size_t len = strcspn(p, "\n");
            snprintf(out, n, "%.*s", (int)len, p);
            return true;
        }
    return false;
}

/* Value of "key=value" in a normalised io.max line ("max" when absent). */
static void io_key(const char *line, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = line; p; p = strchr(p, ' '), p = p ? p + 1 : p)
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            snprintf(out, n, "%.*s", (int)strcspn(p + kl + 1, " \n"), p + kl + 1);
            return;
        }
    snprintf(out, n, "max");
}

/* Strict decimal integer (optional '-'), the whole string. */
static bool parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno) return false;
    *out = v;
    return true;
}

/* A memory limit as read: "max" (v2), a number, or v1's huge "no limit". */
static bool parse_mem(const char *s, unsigned long long *out)
{
    if (!strcmp(s, "max") || !strcmp(s, "-1")) {
        *out = MEM_UNLIM;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-') return false;
    *out = v >= MEM_UNLIM_V1 ? MEM_UNLIM : v;
    return true;
}


static bool unset(double v) { return v < 0 && v != FP_UNLIMITED; }

/* ---- planning ----------------------------------------------------------- */

typedef struct plan_ctx {
    const cg_act *a;
    const fp_cgroup *cg;
    fp_plan *plan;
    fp_err *err;
} plan_ctx;

static int knob_path(const plan_ctx *pc, int ctl, const char *file, char *path)
{
    if (fp_path(path, FP_PATH_MAX, "%s/%s", pc->cg->dir[ctl], file) < 0)
        return fp_err_set(pc->err, FP_EINPUT, "cgroup path too long: %s", pc->cg->dir[ctl]);
    return 0;
}

/* Current content of knob `file` in the cgroup's ctl directory, normalised
 * (see normalise). Returns 0; 1 when the cgroup has no such controller or
 * file, recorded as unsupported for limit (and limit2 when not NULL); or -1
 * with err (a refused path, an unreadable file). */
static int current(const plan_ctx *pc, int ctl, const char *file, const char *limit,
                   const char *limit2, bool lines, char *buf, size_t n)
{
    const char *why = NULL;
    char path[FP_PATH_MAX];
    if (!pc->cg->dir[ctl][0]) {
        why = "no controller";
    } else {
        if (knob_path(pc, ctl, file, path) < 0) return -1;
        fp_err e = {0};
        if (read_knob(pc->a, ctl, path, buf, n, &e) >= 0) {
            normalise(buf, lines);
            return 0;
        }
        if (e.cls != FP_ESYS || e.sys_errno != ENOENT) {
            *pc->err = e;
            return -1;
        }
        why = "no file";
    }
    for (int i = 0; i < 2; i++) {
        const char *l = i ? limit2 : limit;
        if (!l) continue;
        if (!strcmp(why, "no controller"))
            fp_plan_unsupported(pc->plan, l, "cgroup %s has no %s controller", pc->cg->rel,
                                ctl_label[ctl]);
        else
            fp_plan_unsupported(pc->plan, l, "cgroup %s has no %s (%s controller not enabled)",
                                pc->cg->rel, file, ctl == FP_CTL_UNIFIED ? "its" : ctl_label[ctl]);
    }
    return 1;
}

static int add(const plan_ctx *pc, int ctl, const char *file, const char *knob, const char *value,
               const char *previous)
{
    char path[FP_PATH_MAX];
    if (knob_path(pc, ctl, file, path) < 0) return -1;
    return fp_plan_add(pc->plan, knob ? knob : file, value, previous, path, pc->err);
}

static int bad_content(const plan_ctx *pc, const char *file, const char *s)
{
    return fp_err_set(pc->err, FP_ESYS, "unexpected content of %s in cgroup %s: \"%s\"", file,
                      pc->cg->rel, s);
}

static long long quota_us(double cores)
{
    if (cores > 1e6) cores = 1e6;
    long long q = llround(cores * (double)PERIOD_US);
    return q < QUOTA_MIN_US ? QUOTA_MIN_US : q;
}

/* cpu.max and cpu.weight (v2). */
static int plan_cpu_v2(const plan_ctx *pc, const fp_limits *want)
{
    char cur[128], val[64];
    int rc;
    if (!unset(want->cpu_max_cores)) {
        rc = current(pc, FP_CTL_UNIFIED, "cpu.max", "cpu_max_cores", NULL, false, cur, sizeof cur);
        if (rc < 0) return -1;
        if (rc == 0) {
            bool same;
            if (want->cpu_max_cores == FP_UNLIMITED) {
                snprintf(val, sizeof val, "max %lld", PERIOD_US);
                same = !strncmp(cur, "max", 3) && (cur[3] == ' ' || !cur[3]);
            } else {
                snprintf(val, sizeof val, "%lld %lld", quota_us(want->cpu_max_cores), PERIOD_US);
                same = !strcmp(val, cur);
            }
            if (!same && add(pc, FP_CTL_UNIFIED, "cpu.max", NULL, val, cur) < 0) return -1;
        }
    }
    if (!unset(want->cpu_weight_cores)) {
        rc = current(pc, FP_CTL_UNIFIED, "cpu.weight", "cpu_weight_cores", NULL, false, cur,
                     sizeof cur);
        if (rc < 0) return -1;
        if (rc == 0) {
            long long w = 100, old;
            if (want->cpu_weight_cores != FP_UNLIMITED) {
                double c = fmin(want->cpu_weight_cores, 1e4);
                w = llround(c * 100);
                w = w < 1 ? 1 : w > 10000 ? 10000 : w;
            }
            if (!parse_ll(cur, &old)) return bad_content(pc, "cpu.weight", cur);
            snprintf(val, sizeof val, "%lld", w);
            if (w != old && add(pc, FP_CTL_UNIFIED, "cpu.weight", NULL, val, cur) < 0) return -1;
        }
    }
    return 0;
}

/* cpu.cfs_period_us + cpu.cfs_quota_us (period first) and cpu.shares (v1). */
static int plan_cpu_v1(const plan_ctx *pc, const fp_limits *want)
{
    char cur[128], per[128], val[64];
    int rc;
    long long old, oldp;
    if (!unset(want->cpu_max_cores)) {
        rc = current(pc, FP_CTL_CPU, "cpu.cfs_quota_us", "cpu_max_cores", NULL, false, cur, sizeof cur);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (!parse_ll(cur, &old)) return bad_content(pc, "cpu.cfs_quota_us", cur);
            if (want->cpu_max_cores == FP_UNLIMITED) {
                if (old >= 0 && add(pc, FP_CTL_CPU, "cpu.cfs_quota_us", NULL, "-1", cur) < 0) return -1;
            } else {
                rc = current(pc, FP_CTL_CPU, "cpu.cfs_period_us", "cpu_max_cores", NULL, false, per,
                             sizeof per);
                if (rc < 0) return -1;
                if (rc == 0) {
                    if (!parse_ll(per, &oldp)) return bad_content(pc, "cpu.cfs_period_us", per);
                    snprintf(val, sizeof val, "%lld", PERIOD_US);
                    if (oldp != PERIOD_US && add(pc, FP_CTL_CPU, "cpu.cfs_period_us", NULL, val, per) < 0)
                        return -1;
                    long long q = quota_us(want->cpu_max_cores);
                    snprintf(val, sizeof val, "%lld", q);
                    if (q != old && add(pc, FP_CTL_CPU, "cpu.cfs_quota_us", NULL, val, cur) < 0)
                        return -1;
                }
            }
        }
    }
    if (!unset(want->cpu_weight_cores)) {
        rc = current(pc, FP_CTL_CPU, "cpu.shares", "cpu_weight_cores", NULL, false, cur, sizeof cur);
        if (rc < 0) return -1;
        if (rc == 0) {
            long long s = 1024;
            if (want->cpu_weight_cores != FP_UNLIMITED) {
                s = llround(fmin(want->cpu_weight_cores, 1e4) * 1024);
                s = s < 2 ? 2 : s > 262144 ? 262144 : s;
            }
            if (!parse_ll(cur, &old)) return bad_content(pc, "cpu.shares", cur);
            snprintf(val, sizeof val, "%lld", s);
            if (s != old && add(pc, FP_CTL_CPU, "cpu.shares", NULL, val, cur) < 0) return -1;
        }
    }
    return 0;
}

/* Soft and hard memory limits: refused below the current usage; the soft
 * one is written first when the hard one shrinks, last when it grows. */
static int plan_memory(const plan_ctx *pc, const fp_limits *want)
{
    bool v2 = pc->a->v2;
    int ctl = v2 ? FP_CTL_UNIFIED : FP_CTL_MEMORY;
    struct {
        const char *file, *limit;
        double want;
        bool on, change;
        char cur[128];
        unsigned long long old, neu;
    } k[2] = {
        {v2 ? "memory.high" : "memory.soft_limit_in_bytes", "mem_high_bytes", want->mem_high_bytes,
         false, false, "", 0, 0},
        {v2 ? "memory.max" : "memory.limit_in_bytes", "mem_max_bytes", want->mem_max_bytes, false,
         false, "", 0, 0},
    };
    bool any = false;
    for (int i = 0; i < 2; i++) {
        if (unset(k[i].want)) continue;
        int rc = current(pc, ctl, k[i].file, k[i].limit, NULL, false, k[i].cur, sizeof k[i].cur);
        if (rc < 0) return -1;
        if (rc > 0) continue;
        if (!parse_mem(k[i].cur, &k[i].old)) return bad_content(pc, k[i].file, k[i].cur);
        k[i].on = true;
        k[i].neu = k[i].want == FP_UNLIMITED ? MEM_UNLIM : fp_act_mem_pages(k[i].want);
        k[i].change = k[i].neu != k[i].old;
        if (k[i].change && k[i].neu != MEM_UNLIM) any = true;
    }
    if (any) {
        const char *fuse = v2 ? "memory.current" : "memory.usage_in_bytes";
        char path[FP_PATH_MAX], buf[128];
        unsigned long long usage;
        if (knob_path(pc, ctl, fuse, path) < 0) return -1;
        if (read_knob(pc->a, ctl, path, buf, sizeof buf, pc->err) < 0) {
            size_t l = strlen(pc->err->msg);
            snprintf(pc->err->msg + l, sizeof pc->err->msg - l,
                     " (needed to check a memory limit against the usage)");
            return -1;
        }
        normalise(buf, false);
        if (!parse_mem(buf, &usage) || usage == MEM_UNLIM) return bad_content(pc, fuse, buf);
        for (int i = 0; i < 2; i++)
            if (k[i].change && k[i].neu != MEM_UNLIM && k[i].neu < usage)
                return fp_err_set(pc->err, FP_EINPUT,
                                  "refusing %s = %llu bytes (%.1f MiB) for cgroup %s: below its "
                                  "current memory usage of %llu bytes (%.1f MiB)",
                                  k[i].file, k[i].neu, k[i].neu / 1048576.0, pc->cg->rel, usage,
                                  usage / 1048576.0);
    }
    if (!v2 && k[1].change) {
        /* v1 wants limit_in_bytes <= memsw.limit_in_bytes when swap
         * accounting is on; say so rather than fail half-way. */
        char path[FP_PATH_MAX], buf[128];
        unsigned long long sw;
        fp_err e = {0};
        if (knob_path(pc, ctl, "memory.memsw.limit_in_bytes", path) < 0) return -1;
        if (read_knob(pc->a, ctl, path, buf, sizeof buf, &e) >= 0) {
            normalise(buf, false);
            if (parse_mem(buf, &sw) && sw != MEM_UNLIM && k[1].neu > sw) {
                char what[64];
                if (k[1].neu == MEM_UNLIM) snprintf(what, sizeof what, "unlimited");
                else snprintf(what, sizeof what, "%llu bytes (%.1f MiB)", k[1].neu, k[1].neu / 1048576.0);
                return fp_err_set(pc->err, FP_EINPUT,
                                  "refusing memory.limit_in_bytes = %s for cgroup %s: above its "
                                  "memory.memsw.limit_in_bytes of %llu bytes (%.1f MiB), which the "
                                  "kernel refuses", what, pc->cg->rel, sw, sw / 1048576.0);
            }
        }
    }
    bool shrink = k[1].change && k[1].neu < k[1].old;
    int order[2] = {shrink ? 0 : 1, shrink ? 1 : 0};
    for (int j = 0; j < 2; j++) {
        int i = order[j];
        if (!k[i].on || !k[i].change) continue;
        char val[32];
        if (k[i].neu == MEM_UNLIM) snprintf(val, sizeof val, "%s", v2 ? "max" : "-1");
        else snprintf(val, sizeof val, "%llu", k[i].neu);
        if (add(pc, ctl, k[i].file, NULL, val, k[i].cur) < 0) return -1;
    }
    return 0;
}

static int plan_pids(const plan_ctx *pc, const fp_limits *want)
{
    if (unset(want->pids_max)) return 0;
    int ctl = pc->a->v2 ? FP_CTL_UNIFIED : FP_CTL_PIDS;
    char cur[128], val[32];
    int rc = current(pc, ctl, "pids.max", "pids_max", NULL, false, cur, sizeof cur);
    if (rc != 0) return rc < 0 ? -1 : 0;
    if (want->pids_max == FP_UNLIMITED) snprintf(val, sizeof val, "max");
    else snprintf(val, sizeof val, "%lld", llround(fmin(want->pids_max, 4194304)));
    if (strcmp(val, cur) && add(pc, ctl, "pids.max", NULL, val, cur) < 0) return -1;
    return 0;
}

/* true for "MAJ:MIN" */
static bool is_dev(const char *s)
{
    unsigned ma, mi;
    int end = 0;
    return sscanf(s, "%u:%u%n", &ma, &mi, &end) == 2 && !s[end] && isdigit((unsigned char)s[0]);
}

/* Whole disks from <proc>/partitions: not ram*, loop*, zram*, and not a
 * partition, that is a name made of another listed name plus digits
 * (sda1, vda2) or plus "p" and digits (nvme0n1p1, mmcblk0p1). */
static int disks_from_partitions(const fp_roots *r, char devs[][24], int n, int max)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/partitions", r->proc) < 0) return n;
    FILE *f = fopen(path, "re");
    if (!f) return n;
    struct { char name[64]; unsigned ma, mi; } *e = calloc(256, sizeof *e);
    int ne = 0;
    char line[256];
    while (e && ne < 256 && fgets(line, sizeof line, f))
        if (sscanf(line, "%u %u %*u %63s", &e[ne].ma, &e[ne].mi, e[ne].name) == 3) ne++;
    fclose(f);
    for (int i = 0; i < ne && n < max; i++) {
        const char *nm = e[i].name;
        if (!strncmp(nm, "ram", 3) || !strncmp(nm, "loop", 4) || !strncmp(nm, "zram", 4)) continue;
        bool part = false;
        for (int j = 0; j < ne && !part; j++) {
            size_t l = strlen(e[j].name);
            if (j == i || strncmp(nm, e[j].name, l) || !nm[l]) continue;
            const char *rest = nm + l;
            if (*rest == 'p' && isdigit((unsigned char)e[j].name[l - 1])) rest++;
            part = *rest && strspn(rest, "0123456789") == strlen(rest);
        }
        if (!part) snprintf(devs[n++], 24, "%u:%u", e[i].ma, e[i].mi);
    }
    free(e);
    return n;
}

/* Block devices to limit: those in the cgroup's io statistics, else the
 * whole disks of the system. */
static int io_devices(const plan_ctx *pc, int ctl, char devs[][24], int max)
{
    const char *file = pc->a->v2 ? "io.stat" : "blkio.throttle.io_service_bytes";
    char path[FP_PATH_MAX];
    int n = 0;
    char *buf = malloc(KNOB_BUF);
    fp_err e = {0};
    if (buf && knob_path(pc, ctl, file, path) == 0 &&
        read_knob(pc->a, ctl, path, buf, KNOB_BUF, &e) >= 0) {
        normalise(buf, true);
        for (char *l = buf; l && *l && n < max; l = strchr(l, '\n'), l = l ? l + 1 : l) {
            char w[24];
            int len = (int)strcspn(l, " \n");
            if (len >= (int)sizeof w) continue;
            snprintf(w, sizeof w, "%.*s", len, l);
            bool dup = false;
            for (int i = 0; i < n; i++)
                if (!strcmp(devs[i], w)) dup = true;
            if (!dup && is_dev(w)) snprintf(devs[n++], 24, "%s", w);
        }
    }
    free(buf);
    if (n == 0) n = disks_from_partitions(&pc->a->roots, devs, 0, max);
    return n;
}

static void io_value(double v, char *out, size_t n, bool v1)
{
    if (v == FP_UNLIMITED) snprintf(out, n, "%s", v1 ? "0" : "max");
    else {
        long long b = llround(fmin(v, 1e15));
        snprintf(out, n, "%lld", b < 1 ? 1 : b);
    }
}

static int plan_io(const plan_ctx *pc, const fp_limits *want)
{
    bool wr = !unset(want->io_read_Bps), ww = !unset(want->io_write_Bps);
    if (!wr && !ww) return 0;
    bool v2 = pc->a->v2;
    int ctl = v2 ? FP_CTL_UNIFIED : FP_CTL_BLKIO;
    const char *l1 = wr ? "io_read_Bps" : "io_write_Bps", *l2 = wr && ww ? "io_write_Bps" : NULL;
    if (!pc->cg->dir[ctl][0]) {
        char dummy[8];
        current(pc, ctl, v2 ? "io.max" : "blkio.throttle.read_bps_device", l1, l2, false, dummy,
                sizeof dummy);
        return 0;
    }
    char devs[MAX_DEV][24];
    int nd = io_devices(pc, ctl, devs, MAX_DEV);
    if (nd == 0) {
        if (wr)
            fp_plan_unsupported(pc->plan, "io_read_Bps",
                                "no block device found for cgroup %s (none in its io statistics "
                                "nor in %s/partitions)", pc->cg->rel, pc->a->roots.proc);
        if (ww)
            fp_plan_unsupported(pc->plan, "io_write_Bps", "no block device found for cgroup %s",
                                pc->cg->rel);
        return 0;
    }
    char *cur = malloc(KNOB_BUF);
    if (!cur) return fp_err_set(pc->err, FP_ESYS, "out of memory");
    int rc = 0;
    if (v2) {
        rc = current(pc, ctl, "io.max", l1, l2, true, cur, KNOB_BUF);
        for (int d = 0; rc == 0 && d < nd; d++) {
            char line[FP_VALUE_MAX], oldr[32], oldw[32], r[32], w[32], val[FP_VALUE_MAX], knob[64];
            if (!dev_line(cur, devs[d], line, sizeof line))
                snprintf(line, sizeof line, "%s rbps=max wbps=max", devs[d]);
            io_key(line, "rbps", oldr, sizeof oldr);
            io_key(line, "wbps", oldw, sizeof oldw);
            io_value(want->io_read_Bps, r, sizeof r, false);
            io_value(want->io_write_Bps, w, sizeof w, false);
            if (!((wr && strcmp(r, oldr)) || (ww && strcmp(w, oldw)))) continue;
            snprintf(val, sizeof val, "%s%s%s%s%s", devs[d], wr ? " rbps=" : "", wr ? r : "",
                     ww ? " wbps=" : "", ww ? w : "");
            snprintf(knob, sizeof knob, "io.max:%s", devs[d]);
            if (add(pc, ctl, "io.max", knob, val, line) < 0) rc = -1;
        }
    } else {
        for (int dir = 0; rc == 0 && dir < 2; dir++) {
            if (!(dir ? ww : wr)) continue;
            const char *file = dir ? "blkio.throttle.write_bps_device" : "blkio.throttle.read_bps_device";
            int c = current(pc, ctl, file, dir ? "io_write_Bps" : "io_read_Bps", NULL, true, cur,
                            KNOB_BUF);
            if (c != 0) {
                rc = c < 0 ? -1 : 0;
                continue;
            }
            for (int d = 0; rc == 0 && d < nd; d++) {
                char line[FP_VALUE_MAX], v[32], val[FP_VALUE_MAX], knob[FP_KNOB_MAX];
                long long old = 0;
                if (dev_line(cur, devs[d], line, sizeof line)) {
                    const char *sp = strchr(line, ' ');
                    if (!sp || !parse_ll(sp + 1, &old)) {
                        rc = bad_content(pc, file, line);
                        break;
                    }
                } else {
                    snprintf(line, sizeof line, "%s 0", devs[d]);
                }
                io_value(dir ? want->io_write_Bps : want->io_read_Bps, v, sizeof v, true);
                long long neu = strtoll(v, NULL, 10);
                if (neu == old) continue;
                snprintf(val, sizeof val, "%s %s", devs[d], v);
                snprintf(knob, sizeof knob, "%s:%s", file, devs[d]);
                if (add(pc, ctl, file, knob, val, line) < 0) rc = -1;
            }
        }
    }
    free(cur);
    return rc;
}

/* The controllers whose knobs this back-end writes. */
static bool knob_ctl(const cg_act *a, int c)
{
    if (a->v2) return c == FP_CTL_UNIFIED;
    return c == FP_CTL_CPU || c == FP_CTL_MEMORY || c == FP_CTL_BLKIO || c == FP_CTL_PIDS;
}

/* Is controller c's cgroup of byp the workload's own, that is does it hold
 * nothing but pid's process tree (or may the whole cgroup be limited)?
 * 1 yes, 0 no (err says why and what to do), -1 with err. */
static int own_cgroup(const cg_act *a, const fp_cgroup *byp, int c, int pid, fp_err *err)
{
    if (a->whole) return 1;
    int other = 0;
    int rc = fp_cgroup_sole_tree(&a->roots, byp, c, pid, &other, err);
    if (rc != 0) return rc;
    /* the path in that controller's hierarchy (v1: it may differ from rel) */
    const char *in = byp->dir[c] + strlen(a->layout.mnt[c]);
    fp_err_set(err, FP_EINPUT,
               "refusing to limit pid %d through its %s cgroup %s: that cgroup also holds pid %d, "
               "which is not pid %d or one of its descendants, and its limits would apply to "
               "every process in it. Give the workload a cgroup of its own (fp-run "
               "--cgroup-parent with an empty delegated cgroup, or systemd-run --scope -p "
               "Delegate=yes), name the cgroup in the target, or pass --whole-cgroup to limit "
               "the whole cgroup", pid, ctl_label[c], *in ? in : "/", other, pid);
    return 0;
}

/* The cgroup of a target: its path, else the cgroup of its pid provided
 * that cgroup is the workload's own (own_cgroup) in every controller this
 * back-end writes to. With both, controllers where the path does not exist
 * take the pid's cgroup, provided the pid is in the named cgroup in some
 * controller and the pid's cgroup there is its own: on a v1 host a
 * process's cgroups may differ per controller (fp-capture records one
 * path; the cpu hierarchy may hold the same workload cgroup under another
 * parent). Never a cgroup that holds other processes, unless whole. */
static int resolve(const cg_act *a, const fp_target *tg, fp_cgroup *cg, fp_err *err)
{
    if (tg->cgroup[0]) {
        if (fp_cgroup_open(&a->layout, tg->cgroup, cg, err) < 0) return -1;
        if (tg->pid <= 0) return 0;
        fp_cgroup *byp = malloc(sizeof *byp);
        fp_err e2 = {0};
        if (byp && fp_cgroup_of_pid(&a->roots, &a->layout, tg->pid, byp, &e2) == 0) {
            bool member = false;
            for (int c = 0; c < FP_CTL_COUNT; c++)
                if (cg->dir[c][0] && byp->dir[c][0] && strcmp(cg->dir[c], byp->dir[c]) == 0)
                    member = true;
            for (int c = 0; member && c < FP_CTL_COUNT; c++)
                if (!cg->dir[c][0] && byp->dir[c][0] &&
                    (!knob_ctl(a, c) || own_cgroup(a, byp, c, tg->pid, &e2) == 1))
                    memcpy(cg->dir[c], byp->dir[c], sizeof cg->dir[c]);
        }
        free(byp);
        return 0;
    }
    if (tg->pid <= 0) return fp_err_set(err, FP_EINPUT, "target has neither a cgroup nor a pid");
    if (fp_cgroup_of_pid(&a->roots, &a->layout, tg->pid, cg, err) < 0) return -1;
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!cg->dir[c][0] || !knob_ctl(a, c)) continue;
        int rc = own_cgroup(a, cg, c, tg->pid, err);
        if (rc <= 0) {
            if (rc < 0 && err) {   /* cannot tell: refuse as well */
                char m[sizeof err->msg];
                snprintf(m, sizeof m, "%s", err->msg);
                fp_err_set(err, FP_EINPUT, "refusing to limit pid %d through cgroup %s: cannot "
                           "tell whether it holds other processes (%s)", tg->pid, cg->rel, m);
            }
            return -1;
        }
    }
    return 0;
}

static int check_limits(const fp_limits *w, fp_err *err)
{
    const struct { const char *name; double v; } l[] = {
        {"cpu_max_cores", w->cpu_max_cores},   {"cpu_weight_cores", w->cpu_weight_cores},
        {"mem_high_bytes", w->mem_high_bytes}, {"mem_max_bytes", w->mem_max_bytes},
        {"io_read_Bps", w->io_read_Bps},       {"io_write_Bps", w->io_write_Bps},
        {"pids_max", w->pids_max},             {"net_tx_Bps", w->net_tx_Bps},
    };
    for (size_t i = 0; i < sizeof l / sizeof *l; i++)
        if (!isfinite(l[i].v))
            return fp_err_set(err, FP_EUSAGE, "limit %s is not a finite number", l[i].name);
    return 0;
}

/* Plan: read every knob the limits touch and list the writes that differ,
 * in a safe order (cpu, memory, io, pids, then tc). */
static int cg_plan(fp_actuator *base, const fp_target *tg, const fp_limits *want, fp_plan *plan,
                   fp_err *err)
{
    const cg_act *a = (const cg_act *)base;
    if (check_limits(want, err) < 0) return -1;
    fp_cgroup *cg = malloc(sizeof *cg);
    if (!cg) return fp_err_set(err, FP_ESYS, "out of memory");
    if (resolve(a, tg, cg, err) < 0) {
        free(cg);
        return -1;
    }
    int rc = 0;
    if ((size_t)snprintf(plan->object, sizeof plan->object, "%s", cg->rel) >= sizeof plan->object)
        rc = fp_err_set(err, FP_EINPUT, "cgroup path too long for a plan: %s", cg->rel);
    plan->pid = tg->pid > 0 ? tg->pid : 0;
    plan_ctx pc = {a, cg, plan, err};
    if (rc == 0) rc = a->v2 ? plan_cpu_v2(&pc, want) : plan_cpu_v1(&pc, want);
    if (rc == 0) rc = plan_memory(&pc, want);
    if (rc == 0) rc = plan_io(&pc, want);
    if (rc == 0) rc = plan_pids(&pc, want);
    if (rc == 0 && !unset(want->net_tx_Bps)) {
        if (tg->pid > 0)
            rc = fp_netlimit_plan(&a->roots, tg->pid, want->net_tx_Bps, plan, err);
        else
            fp_plan_unsupported(plan, "net_tx_Bps",
                                "no process of the target is known (tc needs its network namespace)");
    }
    free(cg);
    return rc;
}

/* ---- commit ------------------------------------------------------------- */

static bool one_line(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

/* Check one change before anything is written: either "tc:IF" (with the
 * plan's pid), or a known knob file of this back-end below its
 * controller's mount, reached without "..", "." or symlinks, whose knob
 * names that file (and device), with one-line values. Sets *ctl (-1 for a
 * tc change). FP_EINPUT otherwise. */
static int check_change(const cg_act *a, const fp_plan *p, const fp_change *c, int *ctl,
                        fp_err *err)
{
    if (!one_line(c->value) || !one_line(c->previous))
        return fp_err_set(err, FP_EINPUT, "refusing change of %s: empty or multi-line value", c->knob);
    if (!strncmp(c->knob, "tc:", 3)) {
        if (c->path[0])
            return fp_err_set(err, FP_EINPUT, "refusing change of %s: a tc change has no path", c->knob);
        if (p->pid <= 0)
            return fp_err_set(err, FP_EINPUT, "refusing change of %s: the plan names no pid", c->knob);
        *ctl = -1;
        return 0;
    }
    if (!c->path[0])
        return fp_err_set(err, FP_EINPUT, "refusing change of %s: no knob file path", c->knob);
    const char *file = strrchr(c->path, '/');
    file = file ? file + 1 : c->path;
    const knob_def *k = knob_of(a, file);
    if (!k)
        return fp_err_set(err, FP_EINPUT, "refusing %s: %s is not a %s knob file", c->path, file,
                          a->base.ops->name);
    size_t fl = strlen(file);
    if (strncmp(c->knob, file, fl) != 0 || (c->knob[fl] && c->knob[fl] != ':'))
        return fp_err_set(err, FP_EINPUT, "refusing change: knob %s does not match its file %s",
                          c->knob, c->path);
    if (k->per_device) {
        const char *dev = c->knob + fl + (c->knob[fl] == ':');
        size_t dl = strlen(dev);
        if (!c->knob[fl] || !is_dev(dev) || strncmp(c->value, dev, dl) || c->value[dl] != ' ' ||
            strncmp(c->previous, dev, dl) || c->previous[dl] != ' ')
            return fp_err_set(err, FP_EINPUT,
                              "refusing change of %s: a per-device knob and its values must name "
                              "one device MAJ:MIN", c->knob);
    } else if (c->knob[fl]) {
        return fp_err_set(err, FP_EINPUT, "refusing change: knob %s does not match its file %s",
                          c->knob, c->path);
    }
    const char *last;
    int dfd = open_parent(a, k->ctl, c->path, &last, err);
    if (dfd < 0) return -1;
    int link = refuse_link(dfd, last, c->path, err);
    close(dfd);
    if (link) return -1;
    *ctl = k->ctl;
    return 0;
}

/* Write value (c's value or previous) for change c. */
static int apply_one(const cg_act *a, const fp_plan *p, const fp_change *c, int ctl,
                     const char *value, fp_err *err)
{
    if (ctl < 0) {
        fp_change t = *c;
        snprintf(t.value, sizeof t.value, "%s", value);
        return fp_netlimit_apply(&a->roots, p->pid, &t, err);
    }
    return write_knob(a, ctl, c->path, value, err);
}

/* Commit: validate every change, then write them in order; on a failure
 * write back the previous values of those already written, newest first,
 * and report the failing knob and the outcome of the rollback. */
static int cg_commit(fp_actuator *base, const fp_plan *p, fp_err *err)
{
    const cg_act *a = (const cg_act *)base;
    if (strcmp(p->backend, a->base.ops->name) != 0)
        return fp_err_set(err, FP_EINPUT, "plan is for back-end \"%s\"; this system's cgroups need %s",
                          p->backend, a->base.ops->name);
    if (p->n < 0 || p->n > FP_CHANGES_MAX)
        return fp_err_set(err, FP_EINPUT, "plan has %d changes", p->n);
    int ctl[FP_CHANGES_MAX];
    for (int i = 0; i < p->n; i++)
        if (check_change(a, p, &p->ch[i], &ctl[i], err) < 0) return -1;
    for (int i = 0; i < p->n; i++) {
        if (apply_one(a, p, &p->ch[i], ctl[i], p->ch[i].value, err) == 0) continue;
        fp_err first = err ? *err : (fp_err){0};
        char undo[256] = "";
        int failed = 0;
        for (int j = i - 1; j >= 0; j--) {
            fp_err e = {0};
            if (apply_one(a, p, &p->ch[j], ctl[j], p->ch[j].previous, &e) == 0) continue;
            if (!failed++) snprintf(undo, sizeof undo, "%s", e.msg);
        }
        if (i == 0)
            fp_err_set(err, first.cls, "knob %s: %s; nothing was changed", p->ch[i].knob, first.msg);
        else if (!failed)
            fp_err_set(err, first.cls, "knob %s: %s; the %d earlier write%s rolled back",
                       p->ch[i].knob, first.msg, i, i == 1 ? " was" : "s were");
        else
            fp_err_set(err, first.cls,
                       "knob %s: %s; rolling back the %d earlier writes failed for %d of them (%s)",
                       p->ch[i].knob, first.msg, i, failed, undo);
        if (err) err->sys_errno = first.sys_errno;
        return -1;
    }
    return 0;
}

/* ---- observe ------------------------------------------------------------ */

/* Knob text of the cgroup's ctl directory into buf (normalised). 0 when
 * read; 1 when absent (the limit stays unknown); -1 with err for a refused
 * path. */
static int read_now(const cg_act *a, const fp_cgroup *cg, int ctl, const char *file, bool lines,
                    char *buf, size_t n, fp_err *err)
{
    char path[FP_PATH_MAX];
    if (!cg->dir[ctl][0] || fp_path(path, sizeof path, "%s/%s", cg->dir[ctl], file) < 0) return 1;
    fp_err e = {0};
    if (read_knob(a, ctl, path, buf, n, &e) < 0) {
        if (e.cls == FP_EINPUT) {
            if (err) *err = e;
            return -1;
        }
        return 1;
    }
    normalise(buf, lines);
    return 0;
}

static double mem_now(const char *s)
{
    unsigned long long v;
    if (!parse_mem(s, &v)) return FP_UNSET;
    return v == MEM_UNLIM ? FP_UNLIMITED : (double)v;
}

/* Tightest per-device limit in io.max (key rbps/wbps) or a v1 throttle
 * file (key NULL: "DEV BPS" lines); FP_UNLIMITED when none. */
static double io_now(const char *text, const char *key)
{
    double best = FP_UNLIMITED;
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
        char line[FP_VALUE_MAX], v[32];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(l, "\n"), l);
        if (key) io_key(line, key, v, sizeof v);
        else {
            const char *sp = strchr(line, ' ');
            snprintf(v, sizeof v, "%s", sp ? sp + 1 : "max");
        }
        long long b;
        if (!parse_ll(v, &b) || b <= 0) continue;
        if (best == FP_UNLIMITED || b < best) best = (double)b;
    }
    return best;
}

static int observe_now_v2(const cg_act *a, const fp_cgroup *cg, fp_limits *now, char *buf,
                          fp_err *err)
{
    const int U = FP_CTL_UNIFIED;
    int rc;
    long long q, p;
    if ((rc = read_now(a, cg, U, "cpu.max", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) {
        char qs[32];
        if (sscanf(buf, "%31s %lld", qs, &p) == 2 && p > 0) {
            if (!strcmp(qs, "max")) now->cpu_max_cores = FP_UNLIMITED;
            else if (parse_ll(qs, &q)) now->cpu_max_cores = (double)q / (double)p;
        }
    }
    if ((rc = read_now(a, cg, U, "cpu.weight", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0 && parse_ll(buf, &q)) now->cpu_weight_cores = q / 100.0;
    if ((rc = read_now(a, cg, U, "memory.high", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) now->mem_high_bytes = mem_now(buf);
    if ((rc = read_now(a, cg, U, "memory.max", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) now->mem_max_bytes = mem_now(buf);
    if ((rc = read_now(a, cg, U, "io.max", true, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) {
        now->io_read_Bps = io_now(buf, "rbps");
        now->io_write_Bps = io_now(buf, "wbps");
    }
    if ((rc = read_now(a, cg, U, "pids.max", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) now->pids_max = !strcmp(buf, "max") ? FP_UNLIMITED : parse_ll(buf, &q) ? (double)q : FP_UNSET;
    return 0;
}

static int observe_now_v1(const cg_act *a, const fp_cgroup *cg, fp_limits *now, char *buf,
                          fp_err *err)
{
    int rc;
    long long q, p;
    if ((rc = read_now(a, cg, FP_CTL_CPU, "cpu.cfs_quota_us", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0 && parse_ll(buf, &q)) {
        if (q < 0) now->cpu_max_cores = FP_UNLIMITED;
        else if ((rc = read_now(a, cg, FP_CTL_CPU, "cpu.cfs_period_us", false, buf, KNOB_BUF, err)) < 0)
            return -1;
        else if (rc == 0 && parse_ll(buf, &p) && p > 0)
            now->cpu_max_cores = (double)q / (double)p;
    }
    if ((rc = read_now(a, cg, FP_CTL_CPU, "cpu.shares", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0 && parse_ll(buf, &q)) now->cpu_weight_cores = q / 1024.0;
    if ((rc = read_now(a, cg, FP_CTL_MEMORY, "memory.soft_limit_in_bytes", false, buf, KNOB_BUF, err)) < 0)
        return -1;
    if (rc == 0) now->mem_high_bytes = mem_now(buf);
    if ((rc = read_now(a, cg, FP_CTL_MEMORY, "memory.limit_in_bytes", false, buf, KNOB_BUF, err)) < 0)
        return -1;
    if (rc == 0) now->mem_max_bytes = mem_now(buf);
    if ((rc = read_now(a, cg, FP_CTL_BLKIO, "blkio.throttle.read_bps_device", true, buf, KNOB_BUF, err)) < 0)
        return -1;
    if (rc == 0) now->io_read_Bps = io_now(buf, NULL);
    if ((rc = read_now(a, cg, FP_CTL_BLKIO, "blkio.throttle.write_bps_device", true, buf, KNOB_BUF, err)) < 0)
        return -1;
    if (rc == 0) now->io_write_Bps = io_now(buf, NULL);
    if ((rc = read_now(a, cg, FP_CTL_PIDS, "pids.max", false, buf, KNOB_BUF, err)) < 0) return -1;
    if (rc == 0) now->pids_max = !strcmp(buf, "max") ? FP_UNLIMITED : parse_ll(buf, &q) ? (double)q : FP_UNSET;
    return 0;
}

/* Observe: usage counters from fp_cgroup_read, limits from the knob files
 * (a file that cannot be read leaves its limit FP_UNSET; the egress rate
 * is not read here and stays FP_UNSET). */
static int cg_observe(fp_actuator *base, const fp_target *tg, fp_observed *o, fp_err *err)
{
    const cg_act *a = (const cg_act *)base;
    fp_cgroup *cg = malloc(sizeof *cg);
    char *buf = malloc(KNOB_BUF);
    int rc = -1;
    if (!cg || !buf) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto out;
    }
    if (resolve(a, tg, cg, err) < 0) goto out;
    fp_cg_totals t;
    fp_cgroup_read(cg, &t);
    o->why_mem = t.why[FP_CGF_MEM];
    o->mem_bytes = o->why_mem ? FP_UNSET : t.mem_bytes;
    o->why_oom = t.why[FP_CGF_OOM];
    o->oom_kills = o->why_oom ? FP_UNSET : t.oom_kills;
    o->why_throttled = t.why[FP_CGF_THROTTLED];
    o->throttled_s = o->why_throttled ? FP_UNSET : t.throttled_s;
    o->why_cpu = t.why[FP_CGF_CPU];
    o->cpu_s = o->why_cpu ? FP_UNSET : t.cpu_s;
    rc = a->v2 ? observe_now_v2(a, cg, &o->now, buf, err) : observe_now_v1(a, cg, &o->now, buf, err);
out:
    free(buf);
    free(cg);
    return rc;
}

/* A revert's plan against the record's target (act_impl.h): the target's
 * cgroup resolved as a plan resolves it, but with the whole cgroup of a
 * pid allowed (the record says it was limited; the pid must still be in
 * it), else the plan's object when the target names neither cgroup nor
 * pid. The plan's object must be that cgroup, every knob file one of its
 * own (the path a plan would write: that controller's directory of the
 * cgroup and the knob's file), a tc change that of the target's pid. */
static int cg_revert_check(fp_actuator *base, const fp_target *tg, const fp_plan *p,
                           fp_observed *o, fp_err *err)
{
    const cg_act *a0 = (const cg_act *)base;
    cg_act *a = malloc(sizeof *a);
    fp_cgroup *cg = malloc(sizeof *cg);
    int rc = -1;
    if (!a || !cg) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto out;
    }
    *a = *a0;
    a->whole = true;
    fp_target t = *tg;
    if (!t.cgroup[0] && t.pid <= 0) snprintf(t.cgroup, sizeof t.cgroup, "%s", p->object);
    if (resolve(a, &t, cg, err) < 0) goto out;
    if (strcmp(p->object, cg->rel) != 0) {
        fp_err_set(err, FP_EINPUT, "refusing a revert of cgroup %.300s: the record's target is "
                   "cgroup %.300s", p->object, cg->rel);
        goto out;
    }
    for (int i = 0; i < p->n; i++) {
        const fp_change *c = &p->ch[i];
        if (!strncmp(c->knob, "tc:", 3)) {
            if (p->pid <= 0 || p->pid != tg->pid) {
                fp_err_set(err, FP_EINPUT, "refusing change of %s: its pid %d is not the record's "
                           "target pid %d", c->knob, p->pid, tg->pid);
                goto out;
            }
            continue;
        }
        const char *file = strrchr(c->path, '/');
        file = file ? file + 1 : c->path;
        const knob_def *k = knob_of(a, file);
        char want[FP_PATH_MAX];
        if (!k || !cg->dir[k->ctl][0] ||
            fp_path(want, sizeof want, "%s/%s", cg->dir[k->ctl], file) < 0 ||
            strcmp(want, c->path) != 0) {
            fp_err_set(err, FP_EINPUT, "refusing change of %s: %.300s is not a knob file of the "
                       "record's target cgroup %.300s", c->knob, c->path, cg->rel);
            goto out;
        }
    }
    rc = fp_act_observe(&a->base, &t, o, err);     /* the usage, as the plan resolved it */
out:
    free(a);
    free(cg);
    return rc;
}

static void cg_free(fp_actuator *base)
{
    free(base);
}

static const fp_act_ops ops_v1 = {"cgroup-v1", cg_observe, cg_plan, cg_commit, cg_free,
                                  cg_revert_check};
static const fp_act_ops ops_v2 = {"cgroup-v2", cg_observe, cg_plan, cg_commit, cg_free,
                                  cg_revert_check};

int fp_act_cgroup_whole(fp_actuator *base, bool whole, fp_err *err)
{
    if (!base || (base->ops != &ops_v1 && base->ops != &ops_v2))
        return fp_err_set(err, FP_EUSAGE, "--whole-cgroup applies to the cgroup back-end only");
    ((cg_act *)base)->whole = whole;
    return 0;
}

fp_actuator *fp_act_cgroup_new(const fp_roots *roots, fp_err *err)
{
    cg_act *a = calloc(1, sizeof *a);
    if (!a) {
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    a->roots = *roots;
    if (fp_cg_layout_read(roots, &a->layout, err) < 0) {
        free(a);
        return NULL;
    }
    if (a->layout.version == FP_CG_NONE) {
        fp_err_set(err, FP_ESYS, "no cgroup hierarchy is mounted (%s/self/mountinfo)", roots->proc);
        free(a);
        return NULL;
    }
    a->v2 = a->layout.version == FP_CG_V2;
    a->base.ops = a->v2 ? &ops_v2 : &ops_v1;
    return &a->base;
}
