/* launch.c - start a command in a cgroup of its own, stopped until ready. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/launch.h"
#include "fp/systemd.h"

const char *fp_cg_driver_name(fp_cg_driver d)
{
    return d == FP_CGD_SYSTEMD ? "systemd" : d == FP_CGD_CGROUPFS ? "cgroupfs" : "auto";
}

int fp_cg_driver_parse(const char *s, fp_cg_driver *d)
{
    if (!strcmp(s, "auto")) *d = FP_CGD_AUTO;
    else if (!strcmp(s, "cgroupfs")) *d = FP_CGD_CGROUPFS;
    else if (!strcmp(s, "systemd")) *d = FP_CGD_SYSTEMD;
    else return -1;
    return 0;
}

/* Does cgroup v2 dir rel hold no process (self: none but the caller)? */
static bool holds_only(const fp_cg_layout *l, const char *rel, bool self)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s%s/cgroup.procs", l->mnt[FP_CTL_UNIFIED],
                strcmp(rel, "/") ? rel : "") < 0)
        return false;
    FILE *f = fopen(path, "re");
    if (!f) return false;
    int p, n = 0;
    bool ok = true;
    while (fscanf(f, "%d", &p) == 1) {
        n++;
        if (!self || p != (int)getpid()) ok = false;
    }
    fclose(f);
    return ok && (!self || n == 1);
}

/* Where the workload's cgroup goes (see fp/launch.h): 1 with w->place set,
 * 0 for cfg->cgroup_parent or the caller's own cgroup (cgroupfs as ever),
 * -1 with err. Sets w->driver. */
static int choose_place(const fp_roots *r, const fp_cg_layout *l, const fp_launch_cfg *cfg,
                        fp_launch *w, fp_err *err)
{
    fp_cg_driver d = cfg->driver;
    w->driver = FP_CGD_CGROUPFS;
    if (d == FP_CGD_SYSTEMD) {
        w->driver = FP_CGD_SYSTEMD;
        if (cfg->cgroup_parent)
            return fp_err_set(err, FP_EUSAGE, "the systemd cgroup driver makes the workload's cgroup "
                              "in a scope of its own: a cgroup parent does not go with it");
    } else if (cfg->cgroup_parent || l->version != FP_CG_V2) {
        return 0;
    }
    if (l->version == FP_CG_V2) {
        fp_cgroup *own = malloc(sizeof *own);
        if (!own) return fp_err_set(err, FP_ESYS, "out of memory");
        if (fp_cgroup_of_pid(r, l, 0, own, err) < 0) {
            free(own);
            return -1;
        }
        /* already in a supervisor leaf (an earlier launch): the same place */
        size_t ol = strlen(own->rel);
        static const char sup[] = "/supervisor";
        if (ol > sizeof sup - 1 && !strcmp(own->rel + ol - (sizeof sup - 1), sup)) {
            char parent[FP_PATH_MAX], tail[64];
            snprintf(parent, sizeof parent, "%.*s", (int)(ol - (sizeof sup - 1)), own->rel);
            const char *base = strrchr(parent, '/');
            base = base ? base + 1 : parent;
            snprintf(tail, sizeof tail, "-%d.scope", (int)getpid());
            size_t bl = strlen(base), tl = strlen(tail);
            bool ours = bl > tl && !strcmp(base + bl - tl, tail);
            if ((ours || fp_cgroup_delegated(l, parent)) && holds_only(l, parent, false)) {
                snprintf(w->place, sizeof w->place, "%s", parent);
                if (ours) {
                    w->driver = FP_CGD_SYSTEMD;
                    snprintf(w->scope_unit, sizeof w->scope_unit, "%s", base);
                }
                free(own);
                return 1;
            }
        }
        /* a cgroup delegated to the caller, the caller alone in it */
        if (d != FP_CGD_SYSTEMD && fp_cgroup_delegated(l, own->rel) && holds_only(l, own->rel, true)) {
            int rc = fp_cgroup_enter_leaf(l, own->rel, "supervisor", err);
            if (rc == 0) snprintf(w->place, sizeof w->place, "%s", own->rel);
            free(own);
            return rc < 0 ? -1 : 1;
        }
        free(own);
    }
    if (d == FP_CGD_CGROUPFS || (d == FP_CGD_AUTO && !fp_systemd_booted(r))) return 0;
    w->driver = FP_CGD_SYSTEMD;
    fp_sd_scope sc;
    int rc = fp_systemd_delegate(r, l, cfg->scope_prefix ? cfg->scope_prefix : "fp", 60, &sc, err);
    snprintf(w->scope_unit, sizeof w->scope_unit, "%s", sc.unit);
    if (rc < 0) return -1;
    snprintf(w->place, sizeof w->place, "%s", sc.rel);
    return 1;
}

int fp_launch_prepare(const fp_roots *r, const fp_cg_layout *l, const fp_launch_cfg *cfg,
                      fp_launch *w, fp_err *err)
{
    memset(w, 0, sizeof *w);
    w->go_fd = w->fail_fd = -1;
    if (!cfg->argv || !cfg->argv[0]) return fp_err_set(err, FP_EUSAGE, "no command to run");
    snprintf(w->cmd, sizeof w->cmd, "%s", cfg->argv[0]);
    /* The cgroup: fresh; without one, the workload still runs. */
    bool need = cfg->cgroup_parent || cfg->require_cgroup || cfg->driver == FP_CGD_SYSTEMD;
    if (l->version == FP_CG_NONE && cfg->driver != FP_CGD_SYSTEMD) {
        w->why_no_cgroup = "no cgroup hierarchy mounted";
        fp_err_set(&w->cgroup_err, FP_ESYS, "no cgroup hierarchy is mounted");
        if (need) {
            if (err) *err = w->cgroup_err;
            return -1;
        }
    } else {
        fp_err *cgerr = &w->cgroup_err;
        const char *parent = cfg->cgroup_parent;
        int pl = choose_place(r, l, cfg, w, cgerr);
        if (pl > 0) parent = w->place;
        if (pl >= 0 && cfg->sweep_prefix) {
            fp_err ignored = {0};        /* a parent that cannot be read: nothing swept */
            int n = fp_cgroup_sweep(r, l, parent, cfg->sweep_prefix, w->swept_first,
                                    sizeof w->swept_first, &ignored);
            w->swept = n > 0 ? n : 0;
        }
        if (pl >= 0) {
            w->cg = malloc(sizeof *w->cg);
            if (!w->cg) fp_err_set(cgerr, FP_ESYS, "out of memory");
        }
        if (!w->cg || fp_cgroup_create(r, l, parent, cfg->cgroup_name, w->cg, cgerr) < 0) {
            free(w->cg);
            w->cg = NULL;
            if (need) { /* the caller asked for a cgroup (or this place) */
                if (err) *err = *cgerr;
                return -1;
            }
            w->why_no_cgroup = pl < 0 ? (w->driver == FP_CGD_SYSTEMD
                                             ? "the systemd cgroup driver could not make a scope of its own"
                                             : "could not use the delegated cgroup")
                               : cgerr->cls == FP_EINPUT ? "cgroup v2 allows no limitable cgroup of its own here"
                               : cgerr->sys_errno == EACCES || cgerr->sys_errno == EPERM || cgerr->sys_errno == EROFS
                                   ? "no permission to create a cgroup" : "could not create a cgroup";
        } else if (w->place[0] && l->version == FP_CG_V2) {
            /* leftovers go to the supervisor leaf: the place holds no processes */
            fp_path(w->cg->parent_dir[FP_CTL_UNIFIED], FP_PATH_MAX, "%s%s/supervisor",
                    l->mnt[FP_CTL_UNIFIED], strcmp(w->place, "/") ? w->place : "");
        }
    }
    int go[2], fail[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        fp_err_sys(err, "pipe");
        fp_launch_cleanup(w, NULL);
        return -1;
    }
    if (pipe2(fail, O_CLOEXEC) < 0) {
        fp_err_sys(err, "pipe");
        close(go[0]);
        close(go[1]);
        fp_launch_cleanup(w, NULL);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fp_err_sys(err, "fork");
        close(go[0]); close(go[1]); close(fail[0]); close(fail[1]);
        fp_launch_cleanup(w, NULL);
        return -1;
    }
    if (pid == 0) {
        /* The child: wait for the go, then become the command. A read of 0
         * bytes is the go; a byte means "do not run" (an abort). */
        char c;
        ssize_t k;
        close(go[1]);
        close(fail[0]);
        while ((k = read(go[0], &c, 1)) < 0 && errno == EINTR) {}
        if (k != 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        if (cfg->stdout_fd > 0 && cfg->stdout_fd != STDOUT_FILENO &&
            dup2(cfg->stdout_fd, STDOUT_FILENO) < 0) {
            int e = errno;
            ssize_t wr = write(fail[1], &e, sizeof e);
            (void)wr;
            _exit(127);
        }
        if (cfg->child_mask) sigprocmask(SIG_SETMASK, (const sigset_t *)cfg->child_mask, NULL);
        execvp(cfg->argv[0], cfg->argv);
        int e = errno;
        ssize_t wr = write(fail[1], &e, sizeof e);
        (void)wr;
        _exit(127);
    }
    close(go[0]);
    close(fail[1]);
    w->pid = pid;
    w->go_fd = go[1];
    w->fail_fd = fail[0];
    if (w->cg && fp_cgroup_attach(w->cg, pid, &w->cgroup_err) < 0) {
        /* e.g. EOPNOTSUPP: a v2 cgroup that is "domain invalid" */
        fp_cgroup_remove(w->cg, NULL);
        free(w->cg);
        w->cg = NULL;
        w->why_no_cgroup = "could not move the workload into its cgroup";
        if (need) {
            if (err) *err = w->cgroup_err;
            fp_launch_abort(w);
            return -1;
        }
    }
    return 0;
}

int fp_launch_release(fp_launch *w, int *exec_status, fp_err *err)
{
    close(w->go_fd);
    w->go_fd = -1;
    int e = 0;
    ssize_t k;
    while ((k = read(w->fail_fd, &e, sizeof e)) < 0 && errno == EINTR) {}
    close(w->fail_fd);
    w->fail_fd = -1;
    if (k != (ssize_t)sizeof e) return 0; /* exec closed the pipe: it runs */
    fp_exit ex;
    fp_launch_reap(w, &ex);
    errno = e;
    if (exec_status) *exec_status = e == ENOENT ? 127 : 126;
    return fp_err_sys(err, "cannot run %s", w->cmd);
}

void fp_launch_abort(fp_launch *w)
{
    if (w->go_fd >= 0) {
        ssize_t k = write(w->go_fd, "x", 1); /* "do not run" */
        (void)k;
        close(w->go_fd);
        w->go_fd = -1;
    } else if (w->pid > 0 && !w->reaped) {
        kill(w->pid, SIGKILL);
    }
    if (w->fail_fd >= 0) {
        close(w->fail_fd);
        w->fail_fd = -1;
    }
    fp_exit ex;
    fp_launch_reap(w, &ex);
}

int fp_launch_exited(const fp_launch *w)
{
    if (w->reaped) return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == w->pid;
}

void fp_launch_reap(fp_launch *w, fp_exit *ex)
{
    memset(ex, 0, sizeof *ex);
    if (w->pid <= 0 || w->reaped) return;
    int st;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR) {}
    w->reaped = true;
    ex->known = true;
    if (WIFSIGNALED(st)) ex->signal = WTERMSIG(st);
    else ex->code = WEXITSTATUS(st);
}

int fp_launch_cleanup(fp_launch *w, fp_err *err)
{
    int rc = 0;
    if (w->cg) {
        rc = fp_cgroup_remove(w->cg, err);
        free(w->cg);
        w->cg = NULL;
    }
    return rc;
}
