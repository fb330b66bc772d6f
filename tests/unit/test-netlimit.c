/* test-netlimit.c - tc egress limits in a network namespace of our own: a
 * child process unshares its network namespace and gets a veth pair; the
 * limits are planned, put in place, checked with tc, and removed. Needs
 * root, ip, tc and nsenter (skipped otherwise, failed when CI is set). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/actuator.h"
#include "fp/netlimit.h"
#include "tap.h"

static int rc_;   /* result of the call a check looks at */

static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char f[4096];
    for (const char *p = path ? path : "/bin:/usr/bin"; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(f, sizeof f, "%.*s/%s", (int)len, p, prog);
        if (len && access(f, X_OK) == 0) return true;
        p += len;
        if (*p) p++;
    }
    return false;
}

/* Run argv, stdout and stderr into out; returns the exit status. */
static int run(char *const argv[], char *out, size_t n)
{
    int pp[2];
    if (pipe(pp) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pp[1], 1);
        dup2(pp[1], 2);
        close(pp[0]);
        close(pp[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pp[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(pp[0], out + len, n - 1 - len)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0) len += (size_t)r;
    out[len] = 0;
    close(pp[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* `tc qdisc show dev IF root` inside pid's namespace. */
static const char *qdisc(int pid, const char *ifname)
{
    static char out[2048];
    char ns[64];
    snprintf(ns, sizeof ns, "--net=/proc/%d/ns/net", pid);
    char *argv[] = {"nsenter", ns, "tc", "qdisc", "show", "dev", (char *)ifname, "root", NULL};
    run(argv, out, sizeof out);
    return out;
}

static void skip_all(const char *why)
{
    const char *ci = getenv("CI");
    printf("# skipped: netlimit tests: %s\n", why);
    if (ci && *ci) ok(0, "netlimit tests cannot run under CI: %s", why);
    else ok(1, "netlimit # SKIP %s", why);
}

static fp_change change(const char *knob, const char *value, const char *previous)
{
    fp_change c;
    memset(&c, 0, sizeof c);
    snprintf(c.knob, sizeof c.knob, "%s", knob);
    snprintf(c.value, sizeof c.value, "%s", value);
    snprintf(c.previous, sizeof c.previous, "%s", previous);
    return c;
}

static void test_refusals(const fp_roots *r, int child)
{
    fp_err err = {0};
    fp_plan *p = calloc(1, sizeof *p);
    rc_ = fp_netlimit_plan(r, getpid(), 1e6, p, &err);
    ok(rc_ == 0 && p->n == 0 && p->n_unsupported == 1, "host namespace: unsupported, no change");
    is_str(p->unsupported[0].limit, "net_tx_Bps", "unsupported limit named");
    ok(strstr(p->unsupported[0].why, "host's network namespace") != NULL, "reason: %s",
       p->unsupported[0].why);
    memset(p, 0, sizeof *p);
    rc_ = fp_netlimit_plan(r, 0, 1e6, p, &err);
    ok(rc_ == 0 && p->n_unsupported == 1, "no pid: unsupported (%s)", p->unsupported[0].why);
    memset(p, 0, sizeof *p);
    rc_ = fp_netlimit_plan(r, child, FP_UNSET, p, &err);
    ok(rc_ == 0 && p->n == 0 && p->n_unsupported == 0, "unset: nothing planned");
    rc_ = fp_netlimit_plan(r, 999999999, 1e6, p, &err);
    ok(rc_ < 0 && err.cls == FP_ESYS, "no such pid: FP_ESYS (%s)", err.msg);

    fp_change c = change("tc:fpv0", "tbf rate 8000000bit burst 100000 latency 50ms", "none");
    rc_ = fp_netlimit_apply(r, getpid(), &c, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT && strstr(err.msg, "host"), "apply in the host namespace refused: %s",
       err.msg);
    const char *bad_knobs[] = {"tc:", "tc:../x", "tc:-x", "tc:a b", "tc:waytoolongname01", "cpu.max"};
    for (size_t i = 0; i < sizeof bad_knobs / sizeof *bad_knobs; i++) {
        c = change(bad_knobs[i], "none", "none");
        rc_ = fp_netlimit_apply(r, child, &c, &err);
        ok(rc_ < 0 && err.cls == FP_EINPUT, "bad knob \"%s\" refused", bad_knobs[i]);
    }
    const char *bad_values[] = {"tbf rate 8000000bit burst 100000 latency 50ms; reboot",
                                "tbf rate -8bit burst 1 latency 1ms", "htb", ""};
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
        c = change("tc:fpv0", bad_values[i], "none");
        rc_ = fp_netlimit_apply(r, child, &c, &err);
        ok(rc_ < 0 && err.cls == FP_EINPUT, "bad value \"%s\" refused", bad_values[i]);
    }
    c = change("tc:nosuch0", "tbf rate 8000000bit burst 100000 latency 50ms", "none");
    rc_ = fp_netlimit_apply(r, child, &c, &err);
    ok(rc_ < 0 && err.cls == FP_ESYS && strstr(err.msg, "nosuch0") && strstr(err.msg, "exit"),
       "tc failure reported with its message: %s", err.msg);

    /* Without tc and nsenter in PATH. */
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    setenv("PATH", "/nonexistent", 1);
    memset(p, 0, sizeof *p);
    rc_ = fp_netlimit_plan(r, child, 1e6, p, &err);
    ok(rc_ == 0 && p->n == 0 && p->n_unsupported == 1 && strstr(p->unsupported[0].why, "not found in PATH"),
       "missing tools: unsupported (%s)", p->unsupported[0].why);
    if (old) setenv("PATH", old, 1);
    free(old);
    free(p);
}

static void test_limits(const fp_roots *r, int child)
{
    fp_err err = {0};
    fp_plan *p = calloc(1, sizeof *p), *inv = calloc(1, sizeof *inv), *again = calloc(1, sizeof *again);
    rc_ = fp_netlimit_plan(r, child, 1e6, p, &err);
    ok(rc_ == 0, "plan 1 MB/s (%s)", err.msg);
    is_int(p->n, 2, "one change per interface but lo");
    ok(p->n == 2 && ((!strcmp(p->ch[0].knob, "tc:fpv0") && !strcmp(p->ch[1].knob, "tc:fpv1")) ||
                     (!strcmp(p->ch[0].knob, "tc:fpv1") && !strcmp(p->ch[1].knob, "tc:fpv0"))),
       "knobs tc:fpv0 and tc:fpv1");
    for (int i = 0; i < p->n; i++) {
        is_str(p->ch[i].value, "tbf rate 8000000bit burst 100000 latency 50ms", "%s value", p->ch[i].knob);
        is_str(p->ch[i].previous, "none", "%s previous: no tbf", p->ch[i].knob);
        is_str(p->ch[i].path, "", "%s has no path", p->ch[i].knob);
    }
    for (int i = 0; i < p->n; i++) {
        rc_ = fp_netlimit_apply(r, child, &p->ch[i], &err);
        ok(rc_ == 0, "apply %s (%s)", p->ch[i].knob, err.msg);
    }
    const char *q = qdisc(child, "fpv0");
    ok(strstr(q, "qdisc tbf") && strstr(q, "rate 8Mbit") && strstr(q, "burst 100000b"),
       "tc shows the tbf on fpv0: %.*s", (int)strcspn(q, "\n"), q);
    rc_ = fp_netlimit_plan(r, child, 1e6, again, &err);
    ok(rc_ == 0 && again->n == 0, "same limit again: nothing to change (%d)", again->n);

    /* A new limit: the previous value is the canonical form of the old. */
    memset(again, 0, sizeof *again);
    rc_ = fp_netlimit_plan(r, child, 250000, again, &err);
    ok(rc_ == 0 && again->n == 2, "plan 250 kB/s");
    is_str(again->ch[0].value, "tbf rate 2000000bit burst 25000 latency 50ms", "value at 250 kB/s");
    is_str(again->ch[0].previous, "tbf rate 8000000bit burst 100000 latency 50ms",
           "previous read back from tc");
    memset(again, 0, sizeof *again);
    rc_ = fp_netlimit_plan(r, child, 10000, again, &err);
    is_str(again->n ? again->ch[0].value : "", "tbf rate 80000bit burst 16384 latency 50ms",
           "burst at least 16 KiB");

    /* Revert: value and previous swapped, removes the qdisc. */
    fp_plan_invert(p, inv);
    for (int i = 0; i < inv->n; i++) {
        rc_ = fp_netlimit_apply(r, child, &inv->ch[i], &err);
        ok(rc_ == 0, "revert %s (%s)", inv->ch[i].knob, err.msg);
    }
    q = qdisc(child, "fpv0");
    ok(!strstr(q, "tbf"), "after revert no tbf on fpv0: %.*s", (int)strcspn(q, "\n"), q);
    q = qdisc(child, "fpv1");
    ok(!strstr(q, "tbf"), "after revert no tbf on fpv1");
    if (inv->n) {
        rc_ = fp_netlimit_apply(r, child, &inv->ch[0], &err);
        ok(rc_ == 0, "removing a limit that is not there is a no-op (%s)", err.msg);
    }
    memset(again, 0, sizeof *again);
    rc_ = fp_netlimit_plan(r, child, FP_UNLIMITED, again, &err);
    ok(rc_ == 0 && again->n == 0, "unlimited without a limit: nothing to change");
    free(p);
    free(inv);
    free(again);
}

/* Through the cgroup actuator: plan, commit, a rollback, a revert. */
static void test_actuator(const fp_roots *r, int child)
{
    fp_err err = {0};
    fp_actuator *a = fp_act_cgroup_new(r, &err);
    if (!a) {
        printf("# no cgroup actuator: %s\n", err.msg);
        ok(1, "actuator # SKIP no cgroup hierarchy");
        return;
    }
    /* the child shares the test's cgroup, which a pid target may limit only
     * when the caller says so (only tc is written here, no cgroup knob) */
    ok(fp_act_cgroup_whole(a, true, &err) == 0, "whole-cgroup mode for a pid that shares its cgroup");
    fp_target tg;
    memset(&tg, 0, sizeof tg);
    tg.pid = child;
    fp_limits w;
    fp_limits_unset(&w);
    w.net_tx_Bps = 500000;
    fp_plan *p = calloc(1, sizeof *p), *inv = calloc(1, sizeof *inv);
    rc_ = fp_act_plan(a, &tg, &w, p, &err);
    ok(rc_ == 0 && p->n == 2, "actuator plans the tc changes (%s)", err.msg);
    is_int(p->pid, child, "plan keeps the pid");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ == 0, "actuator commit (%s)", err.msg);
    ok(strstr(qdisc(child, "fpv1"), "rate 4Mbit") != NULL, "tbf at 4 Mbit/s on fpv1");
    fp_plan_invert(p, inv);
    rc_ = fp_act_commit(a, inv, &err);
    ok(rc_ == 0, "actuator revert (%s)", err.msg);
    ok(!strstr(qdisc(child, "fpv1"), "tbf"), "reverted");

    /* A tc change failing after one that worked: the first is undone. */
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "%s", fp_act_name(a));
    p->pid = child;
    p->n = 2;
    p->ch[0] = change("tc:fpv0", "tbf rate 8000000bit burst 100000 latency 50ms", "none");
    p->ch[1] = change("tc:nosuch0", "tbf rate 8000000bit burst 100000 latency 50ms", "none");
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && strstr(err.msg, "tc:nosuch0") && strstr(err.msg, "rolled back"),
       "failing tc change: %s", err.msg);
    ok(!strstr(qdisc(child, "fpv0"), "tbf"), "the earlier tc change was rolled back");
    p->pid = 0;
    p->n = 1;
    rc_ = fp_act_commit(a, p, &err);
    ok(rc_ < 0 && err.cls == FP_EINPUT, "tc change without a pid refused");
    free(p);
    free(inv);
    fp_act_free(a);
}

int main(void)
{
    if (geteuid() != 0) {
        skip_all("not root (network namespaces and tc need it)");
        return done_testing();
    }
    const char *tools[] = {"ip", "tc", "nsenter"};
    for (int i = 0; i < 3; i++)
        if (!in_path(tools[i])) {
            char why[64];
            snprintf(why, sizeof why, "%s not found in PATH", tools[i]);
            skip_all(why);
            return done_testing();
        }
    int ready[2], gate[2];
    if (pipe(ready) < 0 || pipe(gate) < 0) {
        ok(0, "pipes");
        return done_testing();
    }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        close(gate[1]);
        char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(ready[1]);
    close(gate[0]);
    char c = 'n';
    if (read(ready[0], &c, 1) != 1 || c != 'y') {
        close(gate[1]);
        waitpid(child, NULL, 0);
        skip_all("cannot make a network namespace (unshare)");
        return done_testing();
    }
    char ns[64], out[1024];
    snprintf(ns, sizeof ns, "--net=/proc/%d/ns/net", (int)child);
    char *add[] = {"nsenter", ns, "ip", "link", "add", "fpv0", "type", "veth", "peer", "name", "fpv1", NULL};
    char *up0[] = {"nsenter", ns, "ip", "link", "set", "fpv0", "up", NULL};
    char *up1[] = {"nsenter", ns, "ip", "link", "set", "fpv1", "up", NULL};
    if (run(add, out, sizeof out) != 0) {
        close(gate[1]);
        waitpid(child, NULL, 0);
        char why[300];
        snprintf(why, sizeof why, "cannot make a veth pair: %.*s", (int)strcspn(out, "\n"), out);
        skip_all(why);
        return done_testing();
    }
    ok(run(up0, out, sizeof out) == 0 && run(up1, out, sizeof out) == 0, "veth pair up in the namespace");

    fp_roots r;
    fp_roots_default(&r);
    test_refusals(&r, child);
    test_limits(&r, child);
    test_actuator(&r, child);

    /* The namespace and its veth pair go with the child. */
    close(gate[1]);
    int st = 0;
    waitpid(child, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "namespace holder exited");
    return done_testing();
}
