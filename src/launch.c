/* launch.c - start a command in a cgroup of its own, stopped until ready. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/launch.h"

int fp_launch_prepare(const fp_roots *r, const fp_cg_layout *l, const fp_launch_cfg *cfg,
                      fp_launch *w, fp_err *err)
{
    memset(w, 0, sizeof *w);
    w->go_fd = w->fail_fd = -1;
    if (!cfg->argv || !cfg->argv[0]) return fp_err_set(err, FP_EUSAGE, "no command to run");
    snprintf(w->cmd, sizeof w->cmd, "%s", cfg->argv[0]);
    /* The cgroup: fresh; without one, the workload still runs. */
    bool need = cfg->cgroup_parent || cfg->require_cgroup;
    if (l->version == FP_CG_NONE) {
        w->why_no_cgroup = "no cgroup hierarchy mounted";
        fp_err_set(&w->cgroup_err, FP_ESYS, "no cgroup hierarchy is mounted");
        if (need) {
            if (err) *err = w->cgroup_err;
            return -1;
        }
    } else {
        fp_err *cgerr = &w->cgroup_err;
        w->cg = malloc(sizeof *w->cg);
        if (!w->cg) fp_err_set(cgerr, FP_ESYS, "out of memory");
        if (!w->cg || fp_cgroup_create(r, l, cfg->cgroup_parent, cfg->cgroup_name, w->cg, cgerr) < 0) {
            free(w->cg);
            w->cg = NULL;
            if (need) { /* the caller asked for a cgroup (or this place) */
                if (err) *err = *cgerr;
                return -1;
            }
            w->why_no_cgroup = cgerr->cls == FP_EINPUT ? "cgroup v2 allows no limitable cgroup of its own here"
                               : cgerr->sys_errno == EACCES || cgerr->sys_errno == EPERM || cgerr->sys_errno == EROFS
                                   ? "no permission to create a cgroup" : "could not create a cgroup";
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
        if (cfg->child_mask) sigprocmask(SIG_SETMASK, cfg->child_mask, NULL);
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
