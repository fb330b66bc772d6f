/* test-launch.c - starting a command stopped, releasing, aborting, reaping.
 * Uses a layout without cgroups, so it runs anywhere, and the cgroup v2
 * fixture (whose caller's cgroup holds processes) for the refusals; the
 * cgroup side is tested live in tests/bats/fp-capture-live.bats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/launch.h"
#include "fixture.h"
#include "tap.h"

int main(void)
{
    fp_roots r;
    fp_roots_default(&r);
    fp_cg_layout *l = calloc(1, sizeof *l); /* version FP_CG_NONE */
    fp_err err = {0};
    char mark[] = "/tmp/fp-launch-XXXXXX";
    int fd = mkstemp(mark);
    close(fd);
    unlink(mark);
    char script[600];
    snprintf(script, sizeof script, "echo ran > '%s'; exit 3", mark);
    char *argv[] = {"sh", "-c", script, NULL};
    fp_launch_cfg cfg = {.argv = argv, .cgroup_name = "fp-test"};

    fp_launch w;
    ok(fp_launch_prepare(&r, l, &cfg, &w, &err) == 0, "prepare (%s)", err.msg);
    is_str(w.why_no_cgroup, "no cgroup hierarchy mounted", "no cgroup, with the reason");
    usleep(100000);
    ok(access(mark, F_OK) != 0, "the child waits until released");
    ok(!fp_launch_exited(&w), "not exited while waiting");
    int xs = 0;
    ok(fp_launch_release(&w, &xs, &err) == 0, "released");
    for (int i = 0; i < 200 && !fp_launch_exited(&w); i++) usleep(10000);
    ok(fp_launch_exited(&w), "exited (seen without reaping)");
    fp_exit ex;
    fp_launch_reap(&w, &ex);
    ok(ex.known && ex.code == 3 && ex.signal == 0, "exit status 3 (got %d, signal %d)", ex.code, ex.signal);
    ok(access(mark, F_OK) == 0, "the command ran");
    unlink(mark);
    fp_launch_cleanup(&w, &err);

    /* Abort: the prepared child never runs the command. */
    ok(fp_launch_prepare(&r, l, &cfg, &w, &err) == 0, "prepare again");
    fp_launch_abort(&w);
    ok(w.reaped, "aborted child reaped");
    ok(access(mark, F_OK) != 0, "an aborted command never ran");
    fp_launch_cleanup(&w, &err);

    /* Commands that cannot run */
    char *nf[] = {"/nonexistent/fp-cmd", NULL};
    cfg.argv = nf;
    ok(fp_launch_prepare(&r, l, &cfg, &w, &err) == 0, "prepare a missing command");
    err.cls = FP_OK;
    ok(fp_launch_release(&w, &xs, &err) < 0 && err.cls == FP_ESYS, "release reports it");
    is_int(xs, 127, "not found: 127");
    ok(strstr(err.msg, "cannot run /nonexistent/fp-cmd: No such file or directory") != NULL, "message: %s", err.msg);
    fp_launch_cleanup(&w, &err);
    char plain[] = "/tmp/fp-launch-plain-XXXXXX";
    fd = mkstemp(plain); /* mode 0600: not executable */
    close(fd);
    char *nx[] = {plain, NULL};
    cfg.argv = nx;
    fp_launch_prepare(&r, l, &cfg, &w, &err);
    ok(fp_launch_release(&w, &xs, &err) < 0, "a file that is not executable");
    is_int(xs, 126, "not executable: 126");
    fp_launch_cleanup(&w, &err);
    unlink(plain);

    /* An explicit cgroup parent is required, not optional. */
    fp_cg_layout *v1 = calloc(1, sizeof *v1);
    v1->version = FP_CG_V1;
    snprintf(v1->mnt[FP_CTL_MEMORY], sizeof v1->mnt[0], "/nonexistent-cgroup-mount");
    cfg.argv = argv;
    cfg.cgroup_parent = "/nowhere";
    err.cls = FP_OK;
    ok(fp_launch_prepare(&r, v1, &cfg, &w, &err) < 0 && err.cls != FP_OK, "a missing --cgroup-parent fails: %s", err.msg);
    free(v1);

    /* cgroup v2, the caller's cgroup holds processes: no cgroup of its own. */
    fp_roots fx;
    fixture_roots(&fx, "proc-v2", "cgroup-v2");
    fp_cg_layout *v2 = calloc(1, sizeof *v2);
    ok(fp_cg_layout_read(&fx, v2, &err) == 0 && v2->version == FP_CG_V2, "v2 fixture layout");
    cfg.cgroup_parent = NULL;
    cfg.argv = argv;
    cfg.require_cgroup = true;
    err.cls = FP_OK;
    ok(fp_launch_prepare(&fx, v2, &cfg, &w, &err) < 0 && err.cls == FP_EINPUT,
       "require_cgroup: the launch fails with the cgroup's refusal (%d)", err.cls);
    ok(strstr(err.msg, "/user.slice/session-1.scope: that cgroup holds processes") != NULL, "and says why: %s", err.msg);
    is_int(w.pid, 0, "no child was started");
    usleep(100000);
    ok(access(mark, F_OK) != 0, "the command never ran");
    cfg.require_cgroup = false;
    err.cls = FP_OK;
    ok(fp_launch_prepare(&fx, v2, &cfg, &w, &err) == 0, "without require_cgroup it launches (%s)", err.msg);
    ok(w.cg == NULL, "without a cgroup");
    is_str(w.why_no_cgroup, "cgroup v2 allows no limitable cgroup of its own here", "the short reason");
    ok(w.cgroup_err.cls == FP_EINPUT && strstr(w.cgroup_err.msg, "pid 1200 among them"),
       "cgroup_err holds the error in full: %s", w.cgroup_err.msg);
    ok(fp_launch_release(&w, &xs, &err) == 0, "released");
    fp_launch_reap(&w, &ex);
    ok(ex.known && ex.code == 3, "it ran (exit 3)");
    unlink(mark);
    fp_launch_cleanup(&w, &err);
    free(v2);
    free(l);
    return done_testing();
}
