/* memguard.c - kernel notifications of memory pressure (fp/memguard.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fp/memguard.h"

struct fp_memguard {
    bool v2;
    char dir[FP_PATH_MAX];         /* the memory cgroup's directory */
    /* v1 */
    int ctl_fd;                    /* cgroup.event_control (write-only) */
    int oomctl_fd;                 /* memory.oom_control */
    int usage_fd;                  /* memory.usage_in_bytes */
    int oom_efd, thr_efd;          /* eventfds: OOM, usage threshold (-1 none) */
    bool paused;                   /* we set oom_kill_disable */
    /* v2 */
    int events_fd;                 /* memory.events (POLLPRI) */
    int psi_fd;                    /* memory.pressure trigger (POLLPRI) */
    bool psi_seen;                 /* the caller's poll reported the trigger */
    unsigned long long high, max, oom;   /* memory.events counters last read */
};

static int open_in(const char *dir, const char *file, int flags)
{
    char path[FP_PATH_MAX + 64];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, flags | O_CLOEXEC | O_NOFOLLOW);
}

static int write_fd(int fd, const char *s)
{
    size_t n = strlen(s);
    ssize_t w = write(fd, s, n);
    return w == (ssize_t)n ? 0 : -1;
}

/* v1: register eventfd efd for control file cfd (args: "" or a threshold). */
static int v1_register(fp_memguard *g, int efd, int cfd, const char *args)
{
    char line[96];
    snprintf(line, sizeof line, "%d %d%s%s", efd, cfd, *args ? " " : "", args);
    return write_fd(g->ctl_fd, line);
}

/* Parse memory.events: high/max/oom counters. */
static void v2_counters(int fd, unsigned long long *high, unsigned long long *max,
                        unsigned long long *oom)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    buf[n] = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
        unsigned long long v;
        if (sscanf(l, "high %llu", &v) == 1) *high = v;
        else if (sscanf(l, "max %llu", &v) == 1) *max = v;
        else if (sscanf(l, "oom_kill %llu", &v) == 1) { if (v > *oom) *oom = v; }
        else if (sscanf(l, "oom %llu", &v) == 1) { if (v > *oom) *oom = v; }
    }
}

static fp_memguard *guard_new(void)
{
    fp_memguard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->ctl_fd = g->oomctl_fd = g->usage_fd = g->oom_efd = g->thr_efd = -1;
    g->events_fd = g->psi_fd = -1;
    return g;
}

static int open_v1(fp_memguard *g, const fp_memguard_cfg *cfg, const char **why, fp_err *err)
{
    g->ctl_fd = open_in(g->dir, "cgroup.event_control", O_WRONLY);
    if (g->ctl_fd < 0) return fp_err_sys(err, "%s/cgroup.event_control", g->dir);
    g->oomctl_fd = open_in(g->dir, "memory.oom_control", O_RDWR);
    if (g->oomctl_fd < 0) g->oomctl_fd = open_in(g->dir, "memory.oom_control", O_RDONLY);
    g->usage_fd = open_in(g->dir, "memory.usage_in_bytes", O_RDONLY);
    if (g->oomctl_fd >= 0) {
        g->oom_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->oom_efd >= 0 && v1_register(g, g->oom_efd, g->oomctl_fd, "") < 0) {
            close(g->oom_efd);
            g->oom_efd = -1;
        }
    }
    if (g->oom_efd < 0 && g->usage_fd < 0)
        return fp_err_sys(err, "%s: neither memory.oom_control nor memory.usage_in_bytes "
                          "notifications can be had", g->dir);
    if (g->oom_efd < 0 && why) *why = "no OOM notification (memory.oom_control)";
    if (cfg && cfg->pause) {
        if (g->oom_efd >= 0 && write_fd(g->oomctl_fd, "1") == 0) g->paused = true;
        else if (why) *why = "oom_kill_disable could not be set: an OOM at the hard limit kills";
    }
    return 0;
}

static int open_v2(fp_memguard *g, const fp_memguard_cfg *cfg, const char **why, fp_err *err)
{
    g->events_fd = open_in(g->dir, "memory.events", O_RDONLY);
    if (g->events_fd >= 0) v2_counters(g->events_fd, &g->high, &g->max, &g->oom);
    double stall = cfg && cfg->psi_stall_s > 0 ? cfg->psi_stall_s : 0.1;
    double window = cfg && cfg->psi_window_s > 0 ? cfg->psi_window_s : 1.0;
    g->psi_fd = open_in(g->dir, "memory.pressure", O_RDWR | O_NONBLOCK);
    if (g->psi_fd >= 0) {
        char trig[64];
        snprintf(trig, sizeof trig, "some %ld %ld", (long)(stall * 1e6), (long)(window * 1e6));
        if (write(g->psi_fd, trig, strlen(trig) + 1) < 0) {
            close(g->psi_fd);
            g->psi_fd = -1;
        }
    }
    if (g->events_fd < 0 && g->psi_fd < 0)
        return fp_err_sys(err, "%s: neither memory.events nor a memory.pressure trigger can be "
                          "had", g->dir);
    if (why && g->events_fd < 0) *why = "no memory.events notifications";
    else if (why && g->psi_fd < 0) *why = "no PSI trigger on memory.pressure";
    return 0;
}

fp_memguard *fp_memguard_open(const fp_cgroup *cg, const fp_memguard_cfg *cfg, const char **why,
                              fp_err *err)
{
    if (why) *why = NULL;
    bool v2 = cg->version == FP_CG_V2;
    const char *dir = v2 ? cg->dir[FP_CTL_UNIFIED] : cg->dir[FP_CTL_MEMORY];
    if (!dir[0]) {
        fp_err_set(err, FP_ESYS, "cgroup %s has no memory controller", cg->rel);
        return NULL;
    }
    fp_memguard *g = guard_new();
    if (!g) {
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    g->v2 = v2;
    snprintf(g->dir, sizeof g->dir, "%s", dir);
    if ((v2 ? open_v2(g, cfg, why, err) : open_v1(g, cfg, why, err)) < 0) {
        fp_memguard_free(g);
        return NULL;
    }
    return g;
}

int fp_memguard_arm(fp_memguard *g, double warn_bytes, fp_err *err)
{
    if (g->v2) return 0;
    if (g->thr_efd >= 0) {          /* closing the eventfd drops its registration */
        close(g->thr_efd);
        g->thr_efd = -1;
    }
    if (warn_bytes <= 0 || g->usage_fd < 0) return 0;
    g->thr_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (g->thr_efd < 0) return fp_err_sys(err, "eventfd");
    char args[32];
    snprintf(args, sizeof args, "%.0f", warn_bytes);
    if (v1_register(g, g->thr_efd, g->usage_fd, args) < 0) {
        int e = errno;
        close(g->thr_efd);
        g->thr_efd = -1;
        errno = e;
        return fp_err_sys(err, "%s/cgroup.event_control: usage threshold %s", g->dir, args);
    }
    return 0;
}

int fp_memguard_fds(const fp_memguard *g, int *fds, short *events, int max)
{
    int n = 0;
    const struct { int fd; short ev; } all[] = {
        {g->oom_efd, POLLIN}, {g->thr_efd, POLLIN}, {g->events_fd, POLLPRI}, {g->psi_fd, POLLPRI}};
    for (size_t i = 0; i < sizeof all / sizeof *all && n < max; i++)
        if (all[i].fd >= 0) {
            fds[n] = all[i].fd;
            events[n++] = all[i].ev;
        }
    return n;
}

static bool drain(int efd)
{
    unsigned long long v;
    bool got = false;
    while (efd >= 0 && read(efd, &v, sizeof v) == (ssize_t)sizeof v) got = true;
    return got;
}

static bool pending(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (ev | POLLERR));
}

void fp_memguard_polled(fp_memguard *g, int fd, short revents)
{
    if (g && fd >= 0 && fd == g->psi_fd && (revents & (POLLPRI | POLLERR))) g->psi_seen = true;
}

int fp_memguard_read(fp_memguard *g, fp_memguard_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (!g->v2) {
        ev->oom = drain(g->oom_efd);
        ev->threshold = drain(g->thr_efd);
        if (g->oomctl_fd >= 0) {
            char buf[256];
            ssize_t n = pread(g->oomctl_fd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = 0;
                const char *u = strstr(buf, "under_oom ");
                if (u && u[10] == '1') ev->paused = ev->oom = true;
            }
        }
    } else {
        if (pending(g->events_fd, POLLPRI)) {
            unsigned long long h = g->high, m = g->max, o = g->oom;
            v2_counters(g->events_fd, &h, &m, &o);
            ev->high = h > g->high;
            ev->oom = m > g->max || o > g->oom;
            g->high = h;
            g->max = m;
            g->oom = o;
        }
        if (g->psi_seen || pending(g->psi_fd, POLLPRI)) ev->pressure = true;
        g->psi_seen = false;
    }
    ev->any = ev->oom || ev->threshold || ev->high || ev->pressure;
    return ev->any ? 1 : 0;
}

bool fp_memguard_holds(const fp_memguard *g)
{
    if (!g) return false;
    /* v1: the threshold is armed later (fp_memguard_arm); what it needs is
     * open. v2: see the header (per-cgroup dirty throttling) */
    return !g->v2 && g->paused && g->oom_efd >= 0 && g->usage_fd >= 0 && g->ctl_fd >= 0;
}

bool fp_memguard_pausing(const fp_memguard *g)
{
    return g && g->paused;
}

void fp_memguard_free(fp_memguard *g)
{
    if (!g) return;
    if (g->paused && g->oomctl_fd >= 0) write_fd(g->oomctl_fd, "0");
    const int fds[] = {g->thr_efd, g->oom_efd, g->usage_fd, g->oomctl_fd, g->ctl_fd,
                       g->events_fd, g->psi_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(g);
}
