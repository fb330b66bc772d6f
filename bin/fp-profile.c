/* fp-profile - interactive profiling: fingerprint a workload, see what the
 * model predicts for it, which known workloads it resembles and how its past
 * runs went.
 *
 * A command interpreter. On a terminal it reads lines with GNU readline
 * (editing, a history file, completion of commands, executables, pids and
 * container ids); otherwise it reads commands from standard input, one a
 * line, without prompts, so that scripts can drive it. Commands:
 *   run CMD [ARGS]   start CMD in a cgroup of its own (fp/launch.h), sample
 *                    it (fp/sampler.h) for the window and show its
 *                    fingerprint (fp/features.h), its prediction (fp/model.h
 *                    through fp/dataset.h's feature map), the nearest
 *                    workloads of the history store (fp/history.h, by the
 *                    fingerprint distance of fp/diff.h) and the past runs of
 *                    the same command; then follow it to its end and score
 *                    the prediction against what it used;
 *   pid N            the same for a running process (its process tree);
 *   container ID     the same for a running Docker container (fp/docker.h);
 *   ps, history [PATTERN], set, json on|off, help, quit.
 * Nothing is limited unless `set apply on` (then the policy's limits go on
 * the cgroup of a workload started with `run`, as fp-run does). The history
 * store is only read. See fp-profile(1).
 *
 * Exit: 0 at the end of input or `quit`; 2 for a bad option at start-up or
 * when standard output could not be written.
 */
#include "config.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli.h"
#include "fp.h"
#include "fp/actuator.h"
#include "fp/dataset.h"
#include "fp/diff.h"
#include "fp/history.h"
#include "fp/model.h"
#include "fp/policy.h"
#include "fp/prediction.h"

#ifndef FP_PKGDATADIR
#define FP_PKGDATADIR "/usr/local/share/fp"
#endif
#define DEFAULT_MODEL FP_PKGDATADIR "/default-model.json"
#define NEAREST_MAX 20
#define HISTORY_LINES 1000
#define PS_MAX 15

typedef struct settings {
    double interval, window;
    const char *model, *history, *cmd_stdout;
    int cmd_stdout_fd;          /* fp_launch_cfg.stdout_fd of run CMD */
    bool no_history_file, json, apply, follow, no_perf;
    int nearest;
} settings;

typedef struct shell {
    settings S;
    fp_roots roots;
    fp_cg_layout *layout;
    bool tty, quit, out_failed;
    int runs;                       /* workloads started, for cgroup names */
    /* the model (NULL: none; model_why says why) */
    fp_model *m;
    fp_featmap *fm;
    double *x;
    char model_path[FP_PATH_MAX], model_id[128], model_why[600], stat[8];
    double horizon;
    char history_dir[FP_PATH_MAX];  /* "" none */
    char histfile[FP_PATH_MAX];     /* readline's history file, "" none */
    fp_docker *docker;              /* opened on first use */
    /* set apply on */
    fp_policy pol;
    fp_capacity cap;
    fp_actuator *act;
} shell;

/* One workload being profiled. */
typedef struct prof {
    const char *what;               /* "command", "process", "container" */
    fp_target tg;
    json_t *meta;
    fp_window *win;
    fp_sampler *smp;
    fp_cgroup *cg;                  /* attached container's cgroup (owned) */
    fp_launch launch;
    bool launched, ended;
    fp_exit exit;
    bool have_q;
    fp_quantiles q[FP_RES_COUNT];
} prof;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- printing --------------------------------------------------------------- */

/* A command's error: one line on standard error, the prompt goes on. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("fp-profile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* v with a binary prefix and unit ("6.7 MiB", "1.2 MiB/s"). */
static const char *human(double v, const char *unit, char *buf, size_t n)
{
    static const char *const pre[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    int i = 0;
    double a = fabs(v);
    while (a >= 1024 && i < 5) { a /= 1024; v /= 1024; i++; }
    if (i == 0) snprintf(buf, n, "%.0f %s", v, unit);
    else snprintf(buf, n, "%.*f %s%s", a < 10 ? 2 : a < 100 ? 1 : 0, v, pre[i], unit);
    return buf;
}

/* A value of resource r in its unit, for people. */
static const char *res_value(fp_resource r, double v, char *buf, size_t n)
{
    if (!isfinite(v)) snprintf(buf, n, "null");
    else if (r == FP_RES_CPU) snprintf(buf, n, "%.2f cores", v);
    else human(v, r == FP_RES_MEM ? "B" : "B/s", buf, n);
    return buf;
}

/* The words of a JSON array of strings joined by spaces (a command line). */
static void join_cmd(const json_t *a, char *buf, size_t n)
{
    size_t i, off = 0;
    json_t *v;
    buf[0] = 0;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!s || off >= n) continue;
        int w = snprintf(buf + off, n - off, "%s%s", i ? " " : "", s);
        if (w > 0) off += (size_t)w;
    }
    if (!buf[0] && json_is_string(a)) snprintf(buf, n, "%s", json_string_value(a));
}

static void write_json(shell *sh, const json_t *rec)
{
    fp_err err = {0};
    if (rec && fp_record_write(stdout, rec, &err) < 0) sh->out_failed = true;
}

/* ---- the model -------------------------------------------------------------- */

/* Load the model at path (a fingerprint model). A missing file is no error:
 * profiles then show no prediction, and model_why says why. Returns -1 for a
 * model that exists but cannot be used (message printed), with *code (if
 * not NULL) set to the exit code for it (fp_exit_code). */
static int model_open(shell *sh, const char *path, bool quiet_missing, int *code)
{
    fp_err err = {0};
    fp_model *m = fp_model_load(path, &err);
    if (!m) {
        if (err.cls == FP_ESYS && err.sys_errno == ENOENT && quiet_missing) {
            snprintf(sh->model_why, sizeof sh->model_why, "no model at %s (give --model FILE or set "
                     "FP_MODEL)", path);
            return 0;
        }
        if (code) *code = fp_exit_code(&err);
        return fail("%s", err.msg);
    }
    if (fp_model_is_seq(m) || fp_model_is_history(m)) {
        fail("%s: a %s model does not predict from a fingerprint; fp-profile needs a linear or "
             "knn model", path, fp_model_kind(m));
        fp_model_free(m);
        if (code) *code = FP_EXIT_ERROR;
        return -1;
    }
    int dim = fp_model_dim(m);
    fp_featmap *fm = fp_featmap_new(m);
    double *x = calloc((size_t)(dim > 0 ? dim : 1), sizeof *x);
    if (!fm || !x) {
        fp_featmap_free(fm);
        free(x);
        fp_model_free(m);
        return fail("out of memory");
    }
    fp_featmap_free(sh->fm);
    fp_model_free(sh->m);
    free(sh->x);
    sh->m = m;
    sh->fm = fm;
    sh->x = x;
    sh->model_why[0] = 0;
    snprintf(sh->model_path, sizeof sh->model_path, "%s", path);
    fp_model_describe(m, path, sh->model_id, sizeof sh->model_id, &sh->horizon, sh->stat);
    return 0;
}

/* ---- sampling ----------------------------------------------------------------- */

/* Release what a profile holds: its sampler, the cgroup of a started
 * workload (leftover processes move to the parent cgroup), its window. */
static void prof_free(prof *P)
{
    fp_err e = {0};
    fp_sampler_free(P->smp);
    if (P->launched && fp_launch_cleanup(&P->launch, &e) < 0) fail("warning: %s", e.msg);
    fp_window_free(P->win);
    json_decref(P->meta);
    free(P->cg);
    memset(P, 0, sizeof *P);
}

/* An empty profile of a `what` ("command", "process", "container"). */
static int prof_init(prof *P, const char *what)
{
    memset(P, 0, sizeof *P);
    P->what = what;
    gethostname(P->tg.host, sizeof P->tg.host - 1);
    P->meta = json_object();
    P->win = fp_window_new();
    if (!P->meta || !P->win) {
        prof_free(P);
        return fail("out of memory");
    }
    return 0;
}

/* The workload id fp-run would give: base name, time, our pid. */
static void default_id(char *buf, size_t n, const char *what)
{
    const char *base = strrchr(what, '/');
    base = base && base[1] ? base + 1 : what;
    snprintf(buf, n, "%.60s-%ld-%d", base, (long)time(NULL), (int)getpid());
}

/* The signals a profile catches: sent to fp-profile they go to the
 * workload fp-profile started (a terminal's ^C reaches it directly); they
 * end the sampling of an attached workload early. */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};

typedef struct sigs {
    sigset_t old;
    int fd;
} sigs;

static int sigs_block(sigs *g)
{
    sigset_t mask;
    sigemptyset(&mask);
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) sigaddset(&mask, caught[i]);
    sigprocmask(SIG_BLOCK, &mask, &g->old);
    g->fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (g->fd < 0) {
        sigprocmask(SIG_SETMASK, &g->old, NULL);
        return fail("signalfd: %s", strerror(errno));
    }
    return 0;
}

static void sigs_restore(sigs *g)
{
    /* signals still pending are consumed here, not delivered later */
    struct signalfd_siginfo si;
    while (read(g->fd, &si, sizeof si) == (ssize_t)sizeof si) {}
    close(g->fd);
    sigprocmask(SIG_SETMASK, &g->old, NULL);
}

enum { S_TIME = 0, S_ENDED = 1, S_STOPPED = 2 };

/* Handle what arrived on the signal descriptor: returns true when the
 * sampling of an attached workload should stop. */
static bool on_signals(shell *sh, prof *P, int fd)
{
    bool stop = false;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) continue;
        if (sig == SIGTERM || sig == SIGHUP) sh->quit = true;
        bool from_kill = si.ssi_pid != 0 || si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE;
        if (P->launched) {
            if (from_kill || sig == SIGTERM || sig == SIGHUP) kill(P->launch.pid, sig);
        } else {
            stop = true;
        }
    }
    return stop;
}

/* The last sample of a launched workload that exited, and its status. */
static void reap(prof *P)
{
    fp_sample s;
    fp_sampler_sample(P->smp, mono(), &s);      /* the zombie's counters, once */
    fp_window_add(P->win, &s);
    fp_launch_reap(&P->launch, &P->exit);
    P->ended = true;
}

/* Sample every interval until the workload's time reaches `until` (S_TIME),
 * it ends (S_ENDED) or a signal stops the sampling (S_STOPPED). */
static int sample_until(shell *sh, prof *P, double until, const sigs *g)
{
    double next = mono() + sh->S.interval;
    for (;;) {
        double wait = next - mono();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
            struct pollfd pfd = {.fd = g->fd, .events = POLLIN};
            if (ppoll(&pfd, 1, &ts, NULL) > 0 && on_signals(sh, P, g->fd)) return S_STOPPED;
            if (P->launched && fp_launch_exited(&P->launch)) {
                reap(P);
                return S_ENDED;
            }
            if (mono() < next) continue;
        }
        double now = mono();
        next += sh->S.interval;
        if (next < now) next = now + sh->S.interval;
        fp_sample s;
        int procs = fp_sampler_sample(P->smp, now, &s);
        if (!P->launched && procs == 0) {      /* gone: that sample has nothing */
            P->ended = true;
            return S_ENDED;
        }
        fp_window_add(P->win, &s);
        if (s.t + 1e-9 >= until) return S_TIME;
    }
}

/* ---- the history store ------------------------------------------------------ */

typedef struct near {
    double d;
    char id[160];
} near;

/* One pass over the store. Per workload id it keeps a small summary in
 * runs: {"cmd":[..], "image":"..", "actual":{..}, "error":{..}}, ids in the
 * order their actual was recorded in order, and, given features, the k
 * fingerprints nearest to them. */
typedef struct scan {
    const json_t *feat;
    const char *self_id;
    int k, n_near;
    near nearest[NEAREST_MAX];
    long n_fp;
    json_t *runs, *order;
} scan;

static json_t *run_of(scan *c, const char *id)
{
    json_t *r = json_object_get(c->runs, id);
    if (!r) {
        r = json_object();
        json_object_set_new(c->runs, id, r);
    }
    return r;
}

static void keep_meta(json_t *r, const json_t *rec)
{
    const json_t *meta = json_object_get(rec, "meta");
    const char *keys[] = {"cmd", "image", "name"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(meta, keys[i]);
        if (v && !json_object_get(r, keys[i])) json_object_set(r, keys[i], v);
    }
}

static int scan_rec(void *arg, json_t *rec)
{
    scan *c = arg;
    const char *type = fp_record_type(rec), *id = json_string_value(json_object_get(rec, "id"));
    if (!type || !id) return 0;
    if (strcmp(type, "fingerprint") == 0) {
        json_t *r = run_of(c, id);
        keep_meta(r, rec);
        const json_t *f = json_object_get(rec, "features");
        if (!c->feat || !f || (c->self_id && strcmp(id, c->self_id) == 0)) return 0;
        c->n_fp++;
        double d;
        int common = 0;
        fp_err err = {0};
        if (fp_distance_json(c->feat, f, FP_DIFF_EPS, 0, NULL, NULL, &d, &common, NULL, &err) < 0 ||
            !isfinite(d))
            return 0;
        /* one entry per id: its nearest fingerprint */
        for (int i = 0; i < c->n_near; i++)
            if (strcmp(c->nearest[i].id, id) == 0) {
                if (d >= c->nearest[i].d) return 0;
                memmove(c->nearest + i, c->nearest + i + 1, (size_t)(c->n_near - i - 1) * sizeof *c->nearest);
                c->n_near--;
                break;
            }
        int at = c->n_near;
        while (at > 0 && c->nearest[at - 1].d > d) at--;
        if (at >= c->k) return 0;
        if (c->n_near == c->k) c->n_near--;
        memmove(c->nearest + at + 1, c->nearest + at, (size_t)(c->n_near - at) * sizeof *c->nearest);
        c->nearest[at].d = d;
        snprintf(c->nearest[at].id, sizeof c->nearest[at].id, "%s", id);
        c->n_near++;
    } else if (strcmp(type, "actual") == 0) {
        json_t *r = run_of(c, id);
        keep_meta(r, rec);
        json_t *a = json_object();
        const char *keys[] = {"ts_ms", "duration_s", "exit_code", "exit_signal", "cpu_cores_peak",
                              "mem_bytes_peak", "cpu_cores_p95", "mem_bytes_p95"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(rec, keys[i]);
            if (v) json_object_set(a, keys[i], v);
        }
        if (!json_object_get(r, "actual")) json_array_append_new(c->order, json_string(id));
        json_object_set_new(r, "actual", a);
    } else if (strcmp(type, "error") == 0) {
        json_t *e = json_object();
        json_object_set(e, "model", json_object_get(rec, "model"));
        json_object_set(e, "resources", json_object_get(rec, "resources"));
        json_object_set(e, "failed", json_object_get(rec, "failed"));
        json_object_set_new(run_of(c, id), "error", e);
    }
    return 0;
}

/* Scan the history store into c (feat may be NULL). Returns -1 when it
 * cannot be read (message printed), 1 when there is none. */
static int scan_history(shell *sh, scan *c)
{
    c->runs = json_object();
    c->order = json_array();
    if (!sh->history_dir[0]) return 1;
    struct stat st;
    if (stat(sh->history_dir, &st) != 0) return 1;        /* nothing recorded yet */
    fp_err err = {0};
    fp_history *h = fp_history_new(sh->history_dir, NULL, &err);
    long bad = 0;
    int rc = h ? fp_history_scan(h, scan_rec, c, &bad, &err) : -1;
    fp_history_free(h);
    if (rc < 0) return fail("history %s: %s", sh->history_dir, err.msg);
    return 0;
}

static void scan_free(scan *c)
{
    json_decref(c->runs);
    json_decref(c->order);
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One line about a past run: when, id, how long, how it ended, its peaks,
 * and for each resource the prediction it had (p90) and whether it held. */
static void print_run(const char *id, const json_t *r, bool with_cmd)
{
    const json_t *a = json_object_get(r, "actual"), *e = json_object_get(r, "error");
    char when[32] = "?", b1[48], b2[48], cmd[200];
    double ts = num(a, "ts_ms");
    if (isfinite(ts)) {
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    }
    printf("  %s  %s  %.1f s", when, id, num(a, "duration_s"));
    double sig = num(a, "exit_signal"), code = num(a, "exit_code");
    if (isfinite(sig)) printf(", killed by signal %.0f", sig);
    else if (isfinite(code)) printf(", exit %.0f", code);
    printf("  cpu peak %s  mem peak %s", res_value(FP_RES_CPU, num(a, "cpu_cores_peak"), b1, sizeof b1),
           res_value(FP_RES_MEM, num(a, "mem_bytes_peak"), b2, sizeof b2));
    const json_t *res = json_object_get(e, "resources");
    for (int k = 0; k < 2 && res; k++) {
        fp_resource rr = k ? FP_RES_MEM : FP_RES_CPU;
        const json_t *x = json_object_get(res, fp_resource_name(rr));
        double p90 = num(json_object_get(x, "predicted"), "p90"), act = num(x, "actual");
        if (!isfinite(p90) || !isfinite(act)) continue;
        printf("  %s p90 %s %s", k ? "mem" : "cpu", res_value(rr, p90, b1, sizeof b1),
               act <= p90 ? "held" : "UNDER");
    }
    if (json_is_true(json_object_get(e, "failed"))) printf("  FAILED");
    if (with_cmd) {
        join_cmd(json_object_get(r, "cmd"), cmd, sizeof cmd);
        if (cmd[0]) printf("  [%s]", cmd);
    }
    putchar('\n');
}

/* Whether past run r is of the same workload: the same command line, or
 * for a container the same image. */
static bool same_workload(const json_t *r, const json_t *meta)
{
    const json_t *img = json_object_get(meta, "image");
    if (img) return json_equal(json_object_get(r, "image"), (json_t *)img);
    const json_t *cmd = json_object_get(meta, "cmd");
    return cmd && json_equal(json_object_get(r, "cmd"), (json_t *)cmd);
}

/* The nearest known workloads and the past runs of this one. */
static void show_known(shell *sh, const prof *P, const json_t *fpr)
{
    scan c;
    memset(&c, 0, sizeof c);
    c.feat = json_object_get(fpr, "features");
    c.self_id = P->tg.id;
    c.k = sh->S.nearest;
    int rc = scan_history(sh, &c);
    if (rc < 0) {
        scan_free(&c);
        return;
    }
    if (rc > 0) {
        printf("nearest known workloads: none (%s)\n",
               sh->history_dir[0] ? "the history store is empty" : "no history store");
    } else if (c.n_near == 0) {
        printf("nearest known workloads: none (no fingerprint in %s)\n", sh->history_dir);
    } else {
        printf("nearest known workloads (distance 0 = identical, 1 = opposite; %ld fingerprint%s in %s):\n",
               c.n_fp, c.n_fp == 1 ? "" : "s", sh->history_dir);
        for (int i = 0; i < c.n_near; i++) {
            const json_t *r = json_object_get(c.runs, c.nearest[i].id);
            const json_t *a = json_object_get(r, "actual");
            char cmd[200], b1[48], b2[48];
            join_cmd(json_object_get(r, "cmd"), cmd, sizeof cmd);
            if (!cmd[0]) join_cmd(json_object_get(r, "image"), cmd, sizeof cmd);
            printf("  %d. %.3f  %s  [%s]", i + 1, c.nearest[i].d, c.nearest[i].id, cmd);
            if (a) printf("  ran %.1f s, cpu peak %s, mem peak %s", num(a, "duration_s"),
                          res_value(FP_RES_CPU, num(a, "cpu_cores_peak"), b1, sizeof b1),
                          res_value(FP_RES_MEM, num(a, "mem_bytes_peak"), b2, sizeof b2));
            putchar('\n');
        }
    }
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(c.order, i, v)
        if (same_workload(json_object_get(c.runs, json_string_value(v)), P->meta)) n++;
    if (n == 0) {
        printf("past runs of this %s: none\n", json_object_get(P->meta, "image") ? "image" : "command");
    } else {
        printf("past runs of this %s (%zu):\n", json_object_get(P->meta, "image") ? "image" : "command", n);
        json_array_foreach(c.order, i, v) {
            const char *id = json_string_value(v);
            const json_t *r = json_object_get(c.runs, id);
            if (same_workload(r, P->meta)) print_run(id, r, false);
        }
    }
    scan_free(&c);
}

/* ---- the report ------------------------------------------------------------- */

/* One metric of the summary: "mean M, peak P" in its unit, or null and
 * why. */
static void metric_line(const fp_window *w, const char *label, fp_metric m, const char *unit)
{
    const fp_series *s = fp_window_series(w, m);
    char b1[48], b2[48];
    printf("  %-12s", label);
    if (s->n == 0) {
        const char *why = fp_window_why(w, m);
        printf("null (%s: %s)\n", fp_metric_name(m), why ? why : "no samples");
        return;
    }
    if (strcmp(unit, "cores") == 0) printf("%.2f cores mean, %.2f peak\n", s->mean, s->max);
    else if (strcmp(unit, "%") == 0) printf("%.1f%% mean, %.1f%% peak\n", s->mean, s->max);
    else if (strcmp(unit, "n") == 0) printf("%.0f peak\n", s->max);
    else printf("%s mean, %s peak\n", human(s->mean, unit, b1, sizeof b1), human(s->max, unit, b2, sizeof b2));
}

static void print_fingerprint(const prof *P, const json_t *fpr)
{
    const fp_window *w = P->win;
    char cmd[300];
    join_cmd(json_object_get(P->meta, "cmd"), cmd, sizeof cmd);
    printf("fingerprint of %s %s: %.2f s, %ld samples, %zu features (%zu null)\n", P->what, P->tg.id,
           fp_window_last_t(w), fp_window_samples(w), json_object_size(json_object_get(fpr, "features")),
           json_object_size(json_object_get(fpr, "missing")));
    if (cmd[0]) printf("  %-12s%s\n", "command", cmd);
    if (json_object_get(P->meta, "image"))
        printf("  %-12s%s\n", "image", json_string_value(json_object_get(P->meta, "image")));
    printf("  %-12s%d%s%s\n", "pid", P->tg.pid, P->tg.cgroup[0] ? ", cgroup " : "", P->tg.cgroup);
    metric_line(w, "cpu", FP_M_CPU_CORES, "cores");
    metric_line(w, "memory", FP_M_MEM_BYTES, "B");
    metric_line(w, "disk read", FP_M_IO_READ_BPS, "B/s");
    metric_line(w, "disk write", FP_M_IO_WRITE_BPS, "B/s");
    metric_line(w, "syscall rd", FP_M_RCHAR_BPS, "B/s");
    metric_line(w, "syscall wr", FP_M_WCHAR_BPS, "B/s");
    metric_line(w, "net rx", FP_M_NET_RX_BPS, "B/s");
    metric_line(w, "net tx", FP_M_NET_TX_BPS, "B/s");
    metric_line(w, "psi cpu", FP_M_PSI_CPU_SOME_PCT, "%");
    metric_line(w, "psi memory", FP_M_PSI_MEM_SOME_PCT, "%");
    metric_line(w, "psi io", FP_M_PSI_IO_SOME_PCT, "%");
    metric_line(w, "threads", FP_M_THREADS, "n");
    metric_line(w, "ipc", FP_M_IPC, "");
    if (fp_window_series(w, FP_M_IPC)->n == 0) metric_line(w, "task clock", FP_M_TASK_CLOCK_CORES, "cores");
}

/* The prediction for the window so far, printed; P->q keeps it. */
static json_t *predict(shell *sh, prof *P, double t)
{
    P->have_q = false;
    if (!sh->m) {
        printf("prediction: none (%s)\n", sh->model_why);
        return NULL;
    }
    fp_err err = {0};
    fp_explain ex;
    memset(&ex, 0, sizeof ex);
    if (fp_featmap_window(sh->fm, P->win, P->meta, sh->x, &err) < 0 ||
        fp_model_predict(sh->m, sh->x, P->q, &ex, &err) < 0) {
        printf("prediction: none (%s)\n", err.msg);
        return NULL;
    }
    P->have_q = true;
    /* the model's history of this workload's identity key, if any */
    char kb[FP_PRIOR_KEY_MAX];
    fp_prior_use use;
    fp_model_prior_apply(sh->m, fp_model_prior_key(sh->m, NULL, P->meta, kb, sizeof kb), P->q, &use);
    fp_prediction cap;                 /* never above a request in the metadata */
    memset(&cap, 0, sizeof cap);
    memcpy(cap.q, P->q, sizeof cap.q);
    if (fp_prediction_cap(&cap, P->meta)) memcpy(P->q, cap.q, sizeof cap.q);
    if (sh->horizon > 0)
        printf("prediction (%s, peak over the next %.0f s):\n", sh->model_id, sh->horizon);
    else
        printf("prediction (%s, %s over the workload's life):\n", sh->model_id, sh->stat);
    if (use.used) {
        int n = 0;
        for (int r = 0; r < FP_RES_COUNT; r++) if (use.n[r] > n) n = use.n[r];
        printf("  %-14s%s (%d run%s)\n", "prior", use.key, n, n == 1 ? "" : "s");
    }
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_quantiles *q = &P->q[r];
        printf("  %-14s", fp_resource_name((fp_resource)r));
        if (q->n == 0) {
            printf("null (%s)\n", q->why[0] ? q->why : "not predicted");
            continue;
        }
        for (int i = 0; i < q->n; i++) {
            char key[16], b[48];
            fp_quantile_key(q->level[i], key, sizeof key);
            printf("%s%s %s", i ? "  " : "", key, res_value((fp_resource)r, q->value[i], b, sizeof b));
        }
        putchar('\n');
    }
    if (ex.kind == FP_EXPLAIN_NEIGHBOURS && ex.n > 0) {
        printf("  %-14s", "model's knn");
        for (int i = 0; i < ex.n && i < 5; i++) printf("%s%s (%.3f)", i ? ", " : "", ex.item[i].name, ex.item[i].value);
        putchar('\n');
    } else if (ex.kind == FP_EXPLAIN_FEATURES && ex.n > 0) {
        printf("  %-14s", "weighed most");
        for (int i = 0; i < ex.n && i < 5; i++) printf("%s%s (%+.2f)", i ? ", " : "", ex.item[i].name, ex.item[i].value);
        putchar('\n');
    }
    fp_prediction p;
    memset(&p, 0, sizeof p);
    p.target = P->tg;
    p.t = t;
    p.ts = (double)time(NULL);
    p.horizon_s = sh->horizon;
    snprintf(p.model, sizeof p.model, "%s", sh->model_id);
    memcpy(p.q, P->q, sizeof p.q);
    memcpy(p.capped_by, cap.capped_by, sizeof p.capped_by);
    return fp_prediction_to_json(&p);
}

/* set apply on: the policy's limits on the cgroup of a started workload. */
static void apply_limits(shell *sh, prof *P, const json_t *predrec)
{
    fp_err err = {0};
    fp_prediction p;
    if (!P->launched || !P->launch.cg) {
        printf("limits: not applied (the workload has no cgroup of its own)\n");
        return;
    }
    if (!sh->act) {
        if (fp_capacity_read(&sh->roots, &sh->cap, &err) < 0 || !(sh->act = fp_act_cgroup_new(&sh->roots, &err))) {
            fail("apply: %s", err.msg);
            return;
        }
    }
    fp_observed o;
    fp_decision d;
    fp_apply_state ast;
    fp_apply_state_init(&ast);
    if (fp_prediction_from_json(predrec, &p, &err) < 0 || fp_act_observe(sh->act, &P->tg, &o, &err) < 0) {
        fail("apply: %s", err.msg);
        return;
    }
    fp_policy_decide(&sh->pol, &sh->cap, &p, &o, &ast, mono(), &d);
    fp_plan plan;
    memset(&plan, 0, sizeof plan);
    if (fp_act_plan(sh->act, &P->tg, &d.want, &plan, &err) < 0 || fp_act_commit(sh->act, &plan, &err) < 0) {
        fail("apply: %s", err.msg);
        return;
    }
    printf("limits applied (%s on %s):", plan.backend, plan.object);
    for (int i = 0; i < plan.n; i++) printf(" %s=%s", plan.ch[i].knob, plan.ch[i].value);
    printf(plan.n ? "\n" : " none needed\n");
}

/* The report at the end of the window: fingerprint, prediction, limits,
 * nearest workloads, past runs. */
static void report(shell *sh, prof *P, double t)
{
    json_t *fpr = fp_fingerprint(P->win, &P->tg, P->meta, t);
    if (!fpr) {
        fail("out of memory");
        return;
    }
    print_fingerprint(P, fpr);
    json_t *pred = predict(sh, P, t);
    if (pred && sh->S.apply && !P->ended) apply_limits(sh, P, pred);
    show_known(sh, P, fpr);
    if (sh->S.json) {
        write_json(sh, fpr);
        write_json(sh, pred);
    }
    json_decref(fpr);
    json_decref(pred);
    fflush(stdout);
}

/* After a workload ended: what it used against what was predicted. */
static void report_end(shell *sh, prof *P)
{
    double end = fp_window_last_t(P->win);
    json_t *actual = fp_actual(P->win, &P->tg, &P->exit, P->meta, NULL, end);
    if (!actual) return;
    double use[FP_RES_COUNT];
    fp_err err = {0};
    printf("this run: %.2f s", end);
    if (P->exit.known) {
        if (P->exit.signal) printf(", killed by signal %d", P->exit.signal);
        else printf(", exit %d", P->exit.code);
    }
    putchar('\n');
    if (fp_actual_targets(actual, sh->m ? sh->stat : "peak", use, &err) == 0) {
        for (int r = 0; r < FP_RES_COUNT; r++) {
            if (!isfinite(use[r])) continue;
            char b[48], b2[48];
            printf("  %-14s%s %s", fp_resource_name((fp_resource)r), sh->m ? sh->stat : "peak",
                   res_value((fp_resource)r, use[r], b, sizeof b));
            const fp_quantiles *q = &P->q[r];
            if (P->have_q && q->n > 0) {
                int i = 0;
                while (i < q->n && use[r] > q->value[i]) i++;
                char key[16];
                fp_quantile_key(q->level[i < q->n ? i : q->n - 1], key, sizeof key);
                if (i < q->n) printf("  within %s (%s)", key, res_value((fp_resource)r, q->value[i], b2, sizeof b2));
                else printf("  ABOVE %s (%s)", key, res_value((fp_resource)r, q->value[q->n - 1], b2, sizeof b2));
            }
            putchar('\n');
        }
    }
    if (sh->S.json) write_json(sh, actual);
    json_decref(actual);
    fflush(stdout);
}

/* ---- commands ------------------------------------------------------------------ */

/* Stop a started workload that is still running: SIGTERM to every process
 * of its cgroup, SIGKILL after 2 s. */
static void stop_workload(prof *P)
{
    for (int round = 0; round < 2 && !fp_launch_exited(&P->launch); round++) {
        int sig = round ? SIGKILL : SIGTERM, pids[1024], n = 0;
        fp_err e = {0};
        if (P->launch.cg) n = fp_cgroup_pids(P->launch.cg, pids, 1024, &e);
        for (int i = 0; i < n; i++) kill(pids[i], sig);
        kill(P->launch.pid, sig);
        for (int i = 0; i < 200 && !fp_launch_exited(&P->launch); i++) usleep(10000);
    }
    reap(P);
}

/* run CMD [ARGS]: start it in a cgroup of its own (stdin /dev/null when
 * fp-profile reads a script), sample the window, report, then follow it to
 * its end (or stop it) and score the prediction. */
static int cmd_run(shell *sh, int argc, char **argv)
{
    if (argc < 2) return fail("run: give a command: run CMD [ARGS]");
    prof P;
    if (prof_init(&P, "command") < 0) return -1;
    default_id(P.tg.id, sizeof P.tg.id, argv[1]);
    json_t *cmd = json_array();
    for (int i = 1; i < argc; i++) json_array_append_new(cmd, json_string(argv[i]));
    json_object_set_new(P.meta, "cmd", cmd);
    sigs g;
    if (sigs_block(&g) < 0) {
        prof_free(&P);
        return -1;
    }
    char name[64];
    snprintf(name, sizeof name, "fp-profile-%d-%d", (int)getpid(), ++sh->runs);
    fp_launch_cfg cfg = {.argv = argv + 1, .cgroup_name = name, .child_mask = &g.old,
                         .stdout_fd = sh->S.cmd_stdout_fd};
    fp_err err = {0};
    int rc = -1, exec_status = 0, in = -1;
    fflush(stdout);
    if (!sh->tty) {
        /* the workload must not read the commands that follow */
        int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
        in = dup(STDIN_FILENO);
        if (dn >= 0 && in >= 0) dup2(dn, STDIN_FILENO);
        if (dn >= 0) close(dn);
    }
    int prc = fp_launch_prepare(&sh->roots, sh->layout, &cfg, &P.launch, &err);
    if (in >= 0) {
        dup2(in, STDIN_FILENO);
        close(in);
    }
    if (prc < 0) {
        fail("run: %s", err.msg);
        goto out;
    }
    P.launched = true;
    P.tg.pid = P.launch.pid;
    if (P.launch.cg) snprintf(P.tg.cgroup, sizeof P.tg.cgroup, "%s", P.launch.cg->rel);
    else printf("note: no cgroup for the workload (%s)\n", P.launch.why_no_cgroup ? P.launch.why_no_cgroup : "unknown");
    fp_sampler_cfg scfg = {.pid = P.launch.pid, .cg = P.launch.cg, .why_no_cgroup = P.launch.why_no_cgroup,
                           .tree_from_cgroup = P.launch.cg != NULL, .perf = !sh->S.no_perf};
    P.smp = fp_sampler_new(&sh->roots, &scfg, &err);
    if (!P.smp) {
        fp_launch_abort(&P.launch);
        fail("run: %s", err.msg);
        goto out;
    }
    fp_sampler_start(P.smp, mono());
    if (fp_launch_release(&P.launch, &exec_status, &err) < 0) {
        fail("run: %s", err.msg);
        goto out;
    }
    sample_until(sh, &P, sh->S.window, &g);
    report(sh, &P, fp_window_last_t(P.win));
    if (!P.ended) {
        if (sh->S.follow && !sh->quit) {
            printf("following %s until it exits (^C stops it)...\n", P.tg.id);
            fflush(stdout);
            while (!P.ended) sample_until(sh, &P, INFINITY, &g);
        } else {
            stop_workload(&P);
            printf("stopped %s after the window (set follow on to let it finish)\n", P.tg.id);
        }
    }
    report_end(sh, &P);
    rc = 0;
out:
    sigs_restore(&g);
    prof_free(&P);
    return rc;
}

/* Sample an attached workload for the window and report. */
static int profile_attached(shell *sh, prof *P)
{
    sigs g;
    if (sigs_block(&g) < 0) return -1;
    fp_sampler_start(P->smp, mono());
    int st = sample_until(sh, P, sh->S.window, &g);
    sigs_restore(&g);
    if (fp_window_samples(P->win) == 0)
        return fail("the %s (pid %d) ended before a sample was taken", P->what, P->tg.pid);
    if (st == S_ENDED) printf("note: the %s ended during the window\n", P->what);
    if (st == S_STOPPED) printf("note: interrupted; the window is shorter\n");
    report(sh, P, fp_window_last_t(P->win));
    return 0;
}

static int parse_pid(const char *s, int *pid)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > 4194304) return -1;
    *pid = (int)v;
    return 0;
}

/* pid N: the process tree of N, sampled from /proc (no cgroup metrics:
 * its cgroup may hold other processes). */
static int cmd_pid(shell *sh, int argc, char **argv)
{
    int pid;
    if (argc != 2) return fail("pid: give one process id: pid N");
    if (parse_pid(argv[1], &pid) < 0) return fail("pid: '%s' is not a process id", argv[1]);
    char path[FP_PATH_MAX];
    fp_path(path, sizeof path, "%s/%d", sh->roots.proc, pid);
    if (access(path, F_OK) != 0) return fail("pid: no process %d", pid);
    prof P;
    if (prof_init(&P, "process") < 0) return -1;
    char buf[8192], *av[256];
    int ac = fp_proc_cmdline(&sh->roots, pid, buf, sizeof buf, av, 256);
    default_id(P.tg.id, sizeof P.tg.id, ac > 0 ? av[0] : "pid");
    if (ac > 0) {
        json_t *cmd = json_array();
        for (int i = 0; i < ac; i++) json_array_append_new(cmd, json_string(av[i]));
        json_object_set_new(P.meta, "cmd", cmd);
    }
    P.tg.pid = pid;
    fp_err err = {0};
    fp_sampler_cfg cfg = {.pid = pid, .why_no_cgroup = "attached by pid (its cgroup may hold other processes)",
                          .perf = !sh->S.no_perf};
    P.smp = fp_sampler_new(&sh->roots, &cfg, &err);
    int rc = P.smp ? profile_attached(sh, &P) : fail("pid: %s", err.msg);
    prof_free(&P);
    return rc;
}

/* The Docker client, opened on first use when the socket exists. */
static fp_docker *docker(shell *sh, fp_err *err)
{
    if (sh->docker) return sh->docker;
    if (access(sh->roots.docker_sock, F_OK) != 0) {
        fp_err_set(err, FP_ESYS, "no Docker socket at %s", sh->roots.docker_sock);
        return NULL;
    }
    sh->docker = fp_docker_new(&sh->roots, err);
    return sh->docker;
}

/* container ID|NAME: the container's cgroup, as fp-capture --docker
 * samples it. */
static int cmd_container(shell *sh, int argc, char **argv)
{
    if (argc != 2) return fail("container: give one container id or name: container ID");
    const char *ref = argv[1];
    if (!fp_docker_valid_ref(ref)) return fail("container: '%s' is not a valid container id or name", ref);
    fp_err err = {0};
    fp_docker *d = docker(sh, &err);
    if (!d) return fail("container: %s", err.msg);
    fp_container c;
    if (fp_docker_inspect(d, ref, &c, &err) < 0) return fail("container: %s", err.msg);
    if (!c.running || c.pid <= 0) {
        fp_container_clear(&c);
        return fail("container: %s is not running", ref);
    }
    prof P;
    if (prof_init(&P, "container") < 0) {
        fp_container_clear(&c);
        return -1;
    }
    snprintf(P.tg.id, sizeof P.tg.id, "%s", c.name[0] ? c.name : c.id);
    snprintf(P.tg.container, sizeof P.tg.container, "%s", c.id);
    P.tg.pid = c.pid;
    json_object_set_new(P.meta, "container", json_string(c.id));
    json_object_set_new(P.meta, "name", json_string(c.name));
    json_object_set_new(P.meta, "image", json_string(c.image));
    if (c.cmd) json_object_set(P.meta, "cmd", c.cmd);
    if (c.labels) json_object_set(P.meta, "labels", c.labels);
    fp_container_clear(&c);
    int rc = -1;
    if (!(P.cg = malloc(sizeof *P.cg))) {
        fail("out of memory");
        goto out;
    }
    if (fp_cgroup_of_pid(&sh->roots, sh->layout, P.tg.pid, P.cg, &err) < 0) {
        fail("container: %s", err.msg);
        goto out;
    }
    snprintf(P.tg.cgroup, sizeof P.tg.cgroup, "%s", P.cg->rel);
    fp_sampler_cfg cfg = {.pid = P.tg.pid, .cg = P.cg, .tree_from_cgroup = true,
                          .perf = !sh->S.no_perf, .perf_cgroup = true};
    if (!(P.smp = fp_sampler_new(&sh->roots, &cfg, &err))) {
        fail("container: %s", err.msg);
        goto out;
    }
    rc = profile_attached(sh, &P);
out:
    prof_free(&P);
    return rc;
}

/* ps: the processes that used the most CPU over a quarter second, and the
 * running containers when a Docker engine answers. */
typedef struct psrow {
    int pid;
    double cpu0, cores, rss;
} psrow;

static int cmp_cores(const void *a, const void *b)
{
    const psrow *x = a, *y = b;
    return x->cores < y->cores ? 1 : x->cores > y->cores ? -1 : x->pid - y->pid;
}

/* The pids in <proc>, into *out (malloc'ed); their number or -1. */
static int list_pids(const fp_roots *r, int **out)
{
    DIR *d = opendir(r->proc);
    if (!d) return -1;
    int n = 0, cap = 256, *v = malloc((size_t)cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        int pid;
        if (!isdigit((unsigned char)e->d_name[0]) || parse_pid(e->d_name, &pid) < 0) continue;
        if (n == cap) {
            int *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) { free(v); v = NULL; break; }
            v = nv;
        }
        v[n++] = pid;
    }
    closedir(d);
    *out = v;
    return v ? n : -1;
}

static int cmd_ps(shell *sh, int argc, char **argv)
{
    (void)argc; (void)argv;
    int *pids = NULL, n = list_pids(&sh->roots, &pids);
    if (n < 0) return fail("ps: cannot read %s", sh->roots.proc);
    psrow *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) { free(pids); return fail("out of memory"); }
    fp_proc_totals t;
    for (int i = 0; i < n; i++) {
        fp_proc_sum(&sh->roots, &pids[i], 1, &t);
        rows[i].pid = pids[i];
        rows[i].cpu0 = t.procs ? t.cpu_user_s + t.cpu_sys_s : NAN;
    }
    double t0 = mono();
    usleep(250000);
    double dt = mono() - t0;
    for (int i = 0; i < n; i++) {
        fp_proc_sum(&sh->roots, &rows[i].pid, 1, &t);
        rows[i].cores = t.procs && isfinite(rows[i].cpu0) ? (t.cpu_user_s + t.cpu_sys_s - rows[i].cpu0) / dt : -1;
        if (rows[i].cores < 0 && rows[i].cores > -1) rows[i].cores = 0;
        rows[i].rss = (double)t.rss_bytes;
    }
    qsort(rows, (size_t)n, sizeof *rows, cmp_cores);
    printf("%8s %6s %10s  %s\n", "PID", "CORES", "RSS", "COMMAND");
    for (int i = 0, shown = 0; i < n && shown < PS_MAX; i++) {
        if (rows[i].cores < 0) continue;
        char buf[4096], *av[64], cmd[120], b[48];
        int ac = fp_proc_cmdline(&sh->roots, rows[i].pid, buf, sizeof buf, av, 64);
        cmd[0] = 0;
        for (int k = 0, off = 0; k < ac && off < (int)sizeof cmd; k++)
            off += snprintf(cmd + off, sizeof cmd - (size_t)off, "%s%s", k ? " " : "", av[k]);
        if (ac <= 0) continue;                          /* kernel threads */
        printf("%8d %6.2f %10s  %s\n", rows[i].pid, rows[i].cores, human(rows[i].rss, "B", b, sizeof b), cmd);
        shown++;
    }
    free(rows);
    free(pids);
    fp_err err = {0};
    fp_docker *d = docker(sh, &err);
    json_t *ans = NULL;
    if (d && fp_docker_request(d, "GET", "/containers/json", NULL, NULL, &ans, &err) == 0) {
        printf("containers: %zu running\n", json_array_size(ans));
        size_t i;
        json_t *c;
        json_array_foreach(ans, i, c) {
            const char *id = json_string_value(json_object_get(c, "Id"));
            const char *nm = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
            printf("  %.12s  %-24s %-30s %s\n", id ? id : "?", nm ? nm + (nm[0] == '/') : "?",
                   json_string_value(json_object_get(c, "Image")) ?: "?",
                   json_string_value(json_object_get(c, "Status")) ?: "");
        }
    } else {
        printf("containers: none listed (%s)\n", err.msg);
    }
    json_decref(ans);
    return 0;
}

/* history [PATTERN]: the last 20 runs of the store whose id, command or
 * image contains PATTERN. */
static int cmd_history(shell *sh, int argc, char **argv)
{
    if (argc > 2) return fail("history: give at most one pattern");
    const char *pat = argc == 2 ? argv[1] : NULL;
    scan c;
    memset(&c, 0, sizeof c);
    int rc = scan_history(sh, &c);
    if (rc < 0) { scan_free(&c); return -1; }
    size_t i, n = 0;
    json_t *v;
    json_t *match = json_array();
    json_array_foreach(c.order, i, v) {
        const char *id = json_string_value(v);
        char cmd[600];
        join_cmd(json_object_get(json_object_get(c.runs, id), "cmd"), cmd, sizeof cmd);
        const char *img = json_string_value(json_object_get(json_object_get(c.runs, id), "image"));
        if (!pat || strstr(id, pat) || strstr(cmd, pat) || (img && strstr(img, pat)))
            json_array_append(match, v);
    }
    n = json_array_size(match);
    if (n == 0) {
        printf("history: no past runs%s%s%s in %s\n", pat ? " matching '" : "", pat ? pat : "", pat ? "'" : "",
               sh->history_dir[0] ? sh->history_dir : "(no history store)");
    } else {
        size_t from = n > 20 ? n - 20 : 0;
        printf("history: %zu past run%s%s%s%s in %s%s\n", n, n == 1 ? "" : "s", pat ? " matching '" : "",
               pat ? pat : "", pat ? "'" : "", sh->history_dir, from ? " (the last 20)" : "");
        for (i = from; i < n; i++) {
            const char *id = json_string_value(json_array_get(match, i));
            print_run(id, json_object_get(c.runs, id), true);
        }
    }
    json_decref(match);
    scan_free(&c);
    return 0;
}

static int on_off(const char *what, const char *s, bool *out)
{
    if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0) *out = true;
    else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0) *out = false;
    else return fail("%s: say on or off, not '%s'", what, s);
    return 0;
}

static int cmd_json(shell *sh, int argc, char **argv)
{
    if (argc != 2) return fail("json: say json on or json off");
    return on_off("json", argv[1], &sh->S.json);
}

static const char *const settings_names[] = {"window", "interval", "apply", "follow", "json",
                                             "nearest", "model", "history", NULL};

static void show_settings(const shell *sh)
{
    const settings *S = &sh->S;
    printf("window    %g s\ninterval  %g s\napply     %s\nfollow    %s\njson      %s\nnearest   %d\n",
           S->window, S->interval, S->apply ? "on" : "off", S->follow ? "on" : "off", S->json ? "on" : "off",
           S->nearest);
    if (sh->m) printf("model     %s (%s)\n", sh->model_path, sh->model_id);
    else printf("model     none (%s)\n", sh->model_why);
    printf("history   %s\n", sh->history_dir[0] ? sh->history_dir : "none");
}

static int cmd_set(shell *sh, int argc, char **argv)
{
    settings *S = &sh->S;
    if (argc == 1) {
        show_settings(sh);
        return 0;
    }
    if (argc != 3) return fail("set: set NAME VALUE (set alone shows them)");
    const char *k = argv[1], *v = argv[2];
    double d;
    if (strcmp(k, "window") == 0) {
        if (cli_seconds("fp-profile", "set window", v, 0, 86400, &d) < 0) return -1;
        S->window = d;
    } else if (strcmp(k, "interval") == 0) {
        if (cli_seconds("fp-profile", "set interval", v, 0.01, 3600, &d) < 0) return -1;
        S->interval = d;
    } else if (strcmp(k, "nearest") == 0) {
        if (cli_number("fp-profile", "set nearest", v, 0, NEAREST_MAX, &d) < 0 || d != floor(d)) return -1;
        S->nearest = (int)d;
    } else if (strcmp(k, "apply") == 0) {
        return on_off("set apply", v, &S->apply);
    } else if (strcmp(k, "follow") == 0) {
        return on_off("set follow", v, &S->follow);
    } else if (strcmp(k, "json") == 0) {
        return on_off("set json", v, &S->json);
    } else if (strcmp(k, "model") == 0) {
        return model_open(sh, v, false, NULL);
    } else if (strcmp(k, "history") == 0) {
        snprintf(sh->history_dir, sizeof sh->history_dir, "%s", v);
    } else {
        return fail("set: no setting '%s' (window, interval, apply, follow, json, nearest, model, history)", k);
    }
    return 0;
}

static int cmd_help(shell *sh, int argc, char **argv);
static int cmd_quit(shell *sh, int argc, char **argv)
{
    (void)argc; (void)argv;
    sh->quit = true;
    return 0;
}

typedef struct command {
    const char *name, *args, *help;
    int (*fn)(shell *, int, char **);
} command;

static const command commands[] = {
    {"run", "CMD [ARGS]", "start CMD, fingerprint its window, predict, compare; follow it to its end", cmd_run},
    {"pid", "N", "fingerprint running process N (and its children) for the window", cmd_pid},
    {"container", "ID|NAME", "fingerprint a running Docker container for the window", cmd_container},
    {"ps", "", "the processes using the most CPU now, and the running containers", cmd_ps},
    {"history", "[PATTERN]", "past runs in the history store (id, command or image containing PATTERN)", cmd_history},
    {"set", "[NAME VALUE]", "show or change a setting: window, interval, apply, follow, json, nearest, model, history", cmd_set},
    {"json", "on|off", "also print the records (fingerprint, prediction, actual) as JSON lines", cmd_json},
    {"help", "[COMMAND]", "this list", cmd_help},
    {"quit", "", "leave (also exit, or end of input)", cmd_quit},
    {"exit", "", NULL, cmd_quit},
    {NULL, NULL, NULL, NULL}};

static int cmd_help(shell *sh, int argc, char **argv)
{
    (void)sh;
    for (const command *c = commands; c->name; c++) {
        if (!c->help || (argc > 1 && strcmp(argv[1], c->name) != 0)) continue;
        char head[64];
        snprintf(head, sizeof head, "%s %s", c->name, c->args);
        printf("  %-22s %s\n", head, c->help);
    }
    if (argc > 1) {
        for (const command *c = commands; c->name; c++)
            if (strcmp(argv[1], c->name) == 0) return 0;
        return fail("help: no command '%s'", argv[1]);
    }
    return 0;
}

/* ---- lines into words ------------------------------------------------------- */

/* Split line into words as a shell would without expansions: blanks
 * separate, '...' and "..." quote, a backslash escapes the next character
 * (inside "..." only before " \ $ `), # starts a comment at a word's start.
 * *out is a NULL-terminated array of words, each malloc'ed (free_words).
 * Returns the number of words, or -1 with *why set (an unclosed quote). */
static int split_words(const char *line, char ***out, const char **why)
{
    size_t cap = 8, n = 0, len = strlen(line);
    char **v = calloc(cap, sizeof *v);
    char *w = malloc(len + 1);
    if (!v || !w) { free(v); free(w); *why = "out of memory"; return -1; }
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p || *p == '#') break;
        size_t k = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e) { *why = "unclosed '"; goto bad; }
                memcpy(w + k, p + 1, (size_t)(e - p - 1));
                k += (size_t)(e - p - 1);
                p = e + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1] && strchr("\"\\$`", p[1])) p++;
                    w[k++] = *p++;
                }
                if (*p != '"') { *why = "unclosed \""; goto bad; }
                p++;
            } else if (*p == '\\' && p[1]) {
                w[k++] = p[1];
                p += 2;
            } else {
                w[k++] = *p++;
            }
        }
        w[k] = 0;
        if (n + 2 > cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) { *why = "out of memory"; goto bad; }
            v = nv;
        }
        if (!(v[n++] = strdup(w))) { *why = "out of memory"; goto bad; }
        v[n] = NULL;
    }
    free(w);
    *out = v;
    return (int)n;
bad:
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    free(w);
    return -1;
}

static void free_words(char **v)
{
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* Run one line. Returns 0, or -1 when the command failed (its message
 * printed). */
static int execute(shell *sh, const char *line)
{
    char **av;
    const char *why = NULL;
    int ac = split_words(line, &av, &why);
    if (ac < 0) return fail("%s", why);
    int rc = 0;
    if (ac > 0) {
        const command *c = commands;
        while (c->name && strcmp(c->name, av[0]) != 0) c++;
        rc = c->name ? c->fn(sh, ac, av) : fail("unknown command '%s' (help lists them)", av[0]);
    }
    free_words(av);
    fflush(stdout);
    if (ferror(stdout)) sh->out_failed = true;
    return rc;
}

/* ---- readline --------------------------------------------------------------- */

/* Readline's completion and signal hooks take no argument: the shell and
 * the candidate list they work on are the only file-scope state. */
static shell *rl_sh;
static struct {
    char **v;
    size_t n, cap, i;
} cand;
static volatile sig_atomic_t got_sigint;

static void cand_clear(void)
{
    for (size_t i = 0; i < cand.n; i++) free(cand.v[i]);
    cand.n = cand.i = 0;
}

static void cand_add(const char *s)
{
    if (cand.n == cand.cap) {
        size_t nc = cand.cap ? cand.cap * 2 : 64;
        char **nv = realloc(cand.v, nc * sizeof *nv);
        if (!nv) return;
        cand.v = nv;
        cand.cap = nc;
    }
    char *d = strdup(s);
    if (d) cand.v[cand.n++] = d;
}

static char *cand_next(const char *text, int state)
{
    (void)text;
    if (state == 0) cand.i = 0;
    return cand.i < cand.n ? strdup(cand.v[cand.i++]) : NULL;
}

static void cands_commands(const char *text)
{
    for (const command *c = commands; c->name; c++)
        if (strncmp(c->name, text, strlen(text)) == 0) cand_add(c->name);
}

static void cands_path(const char *text)
{
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char *dup = strdup(path), *save = NULL;
    size_t tl = strlen(text);
    for (char *dir = dup ? strtok_r(dup, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(*dir ? dir : ".");
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strncmp(e->d_name, text, tl) != 0) continue;
            char full[FP_PATH_MAX];
            struct stat st;
            if (fp_path(full, sizeof full, "%s/%s", dir, e->d_name) == 0 && stat(full, &st) == 0 &&
                S_ISREG(st.st_mode) && access(full, X_OK) == 0)
                cand_add(e->d_name);
        }
        closedir(d);
    }
    free(dup);
}

static void cands_pids(const char *text)
{
    int *pids = NULL, n = list_pids(&rl_sh->roots, &pids);
    for (int i = 0; i < n; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", pids[i]);
        if (strncmp(b, text, strlen(text)) == 0) cand_add(b);
    }
    free(pids);
}

static void cands_containers(const char *text)
{
    fp_err err = {0};
    fp_docker *d = docker(rl_sh, &err);
    json_t *ans = NULL;
    if (!d || fp_docker_request(d, "GET", "/containers/json", NULL, NULL, &ans, &err) < 0) return;
    size_t i, tl = strlen(text);
    json_t *c;
    json_array_foreach(ans, i, c) {
        const char *id = json_string_value(json_object_get(c, "Id"));
        const char *nm = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        if (nm && nm[0] == '/') nm++;
        if (nm && strncmp(nm, text, tl) == 0) cand_add(nm);
        if (id && strncmp(id, text, tl) == 0) {
            char s[16];
            snprintf(s, sizeof s, "%.12s", id);
            cand_add(tl > 12 ? id : s);
        }
    }
    json_decref(ans);
}

static void cands_words(const char *text, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strncmp(words[i], text, strlen(text)) == 0) cand_add(words[i]);
}

/* Complete the word being typed from what comes before it. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    static const char *const on_off_words[] = {"on", "off", NULL};
    rl_attempted_completion_over = 1;
    cand_clear();
    /* the words before the one being completed */
    char *head = strndup(rl_line_buffer, (size_t)start);
    char **av = NULL;
    const char *why;
    int ac = head ? split_words(head, &av, &why) : -1;
    free(head);
    if (ac < 0) return NULL;
    if (ac == 0) cands_commands(text);
    else if (strcmp(av[0], "run") == 0) {
        if (ac == 1 && !strchr(text, '/')) cands_path(text);
        else rl_attempted_completion_over = 0;         /* arguments: file names */
    } else if (strcmp(av[0], "pid") == 0 && ac == 1) cands_pids(text);
    else if (strcmp(av[0], "container") == 0 && ac == 1) cands_containers(text);
    else if (strcmp(av[0], "help") == 0 && ac == 1) cands_commands(text);
    else if (strcmp(av[0], "json") == 0 && ac == 1) cands_words(text, on_off_words);
    else if (strcmp(av[0], "set") == 0 && ac == 1) cands_words(text, settings_names);
    else if (strcmp(av[0], "set") == 0 && ac == 2) {
        if (strcmp(av[1], "apply") == 0 || strcmp(av[1], "follow") == 0 || strcmp(av[1], "json") == 0)
            cands_words(text, on_off_words);
        else if (strcmp(av[1], "model") == 0 || strcmp(av[1], "history") == 0)
            rl_attempted_completion_over = 0;
    }
    free_words(av);
    if (cand.n == 0) return NULL;
    return rl_completion_matches(text, cand_next);
}

static void on_sigint(int sig)
{
    (void)sig;
    got_sigint = 1;
}

/* ^C at the prompt drops the line being typed, as shells do. */
static int sigint_hook(void)
{
    if (got_sigint) {
        got_sigint = 0;
        rl_crlf();
        rl_replace_line("", 0);
        rl_on_new_line();
        rl_redisplay();
    }
    return 0;
}

/* $XDG_STATE_HOME/fp/profile_history, else ~/.local/state/fp/profile_history,
 * its directory created. "" when neither variable is set. */
static void histfile_path(shell *sh)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[FP_PATH_MAX];
    sh->histfile[0] = 0;
    if (x && *x) {
        if (fp_path(dir, sizeof dir, "%s/fp", x) < 0) return;
    } else if (home && *home) {
        if (fp_path(dir, sizeof dir, "%s/.local/state/fp", home) < 0) return;
    } else {
        return;
    }
    /* mkdir -p */
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0700);
            *p = '/';
        }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fail("warning: history file: %s: %s (commands are not kept)", dir, strerror(errno));
        return;
    }
    fp_path(sh->histfile, sizeof sh->histfile, "%s/profile_history", dir);
}

static void rl_setup(shell *sh)
{
    rl_sh = sh;
    rl_readline_name = "fp-profile";
    rl_attempted_completion_function = complete;
    rl_completer_quote_characters = "'\"";
    rl_signal_event_hook = sigint_hook;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    stifle_history(HISTORY_LINES);
    if (!sh->S.no_history_file) histfile_path(sh);
    if (sh->histfile[0]) {
        int fd = open(sh->histfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) close(fd);
        if (read_history(sh->histfile) != 0 && errno != ENOENT)
            fail("warning: history file %s: %s", sh->histfile, strerror(errno));
    }
}

/* Keep a typed line, trailing blanks cut: in memory (not a repeat of the
 * last one, not one starting with a blank) and appended to the history
 * file at once. */
static void remember(shell *sh, char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
    if (!line[0] || line[0] == ' ') return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && strcmp(last->line, line) == 0) return;
    add_history(line);
    if (sh->histfile[0]) append_history(1, sh->histfile);
}

/* ---- options and main ---------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: fp-profile [options]\n"
          "Profile workloads interactively: type `run CMD`, `pid N` or `container ID` and see\n"
          "the fingerprint, the prediction with its quantiles, the nearest known workloads\n"
          "and how past runs went. Reads commands from standard input when it is not a\n"
          "terminal (no prompt). `help` lists the commands.\n\n"
          "  -w, --window SEC        sample workloads for SEC seconds (default 2)\n"
          "  -i, --interval SEC      time between samples (default 0.25, at least 0.01)\n"
          "  -m, --model FILE        the model (default $FP_MODEL, else " DEFAULT_MODEL ")\n"
          "      --history DIR       the history store read (default $XDG_DATA_HOME/fp)\n"
          "  -k, --nearest N         nearest known workloads shown (default 5, at most 20)\n"
          "      --apply             limit workloads started with run (set apply on)\n"
          "      --no-follow         stop a started workload after its window\n"
          "      --json              also print the records as JSON lines (json on)\n"
          "      --no-history-file   keep no history file of the commands typed\n"
          "      --no-perf           do not open performance counters\n"
          "      --cmd-stdout FILE   where run CMD's standard output goes (-: standard\n"
          "                          output, with the report; default: standard error)\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: 0; 2 for a bad option or when standard output fails.\n",
          f);
}

/* Options into sh: 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, shell *sh)
{
    enum { O_HISTORY = 256, O_APPLY, O_NO_FOLLOW, O_JSON, O_NOHISTFILE, O_NOPERF, O_CMDSTDOUT };
    static const struct option opts[] = {
        {"window", required_argument, 0, 'w'}, {"interval", required_argument, 0, 'i'},
        {"model", required_argument, 0, 'm'}, {"history", required_argument, 0, O_HISTORY},
        {"nearest", required_argument, 0, 'k'}, {"apply", no_argument, 0, O_APPLY},
        {"no-follow", no_argument, 0, O_NO_FOLLOW}, {"json", no_argument, 0, O_JSON},
        {"no-history-file", no_argument, 0, O_NOHISTFILE}, {"no-perf", no_argument, 0, O_NOPERF},
        {"cmd-stdout", required_argument, 0, O_CMDSTDOUT},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    settings *S = &sh->S;
    S->window = 2;
    S->interval = 0.25;
    S->follow = true;
    S->nearest = 5;
    int c;
    double d;
    while ((c = getopt_long(argc, argv, "w:i:m:k:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'w': if (cli_seconds("fp-profile", "--window", optarg, 0, 86400, &S->window) < 0) return -1; break;
        case 'i': if (cli_seconds("fp-profile", "--interval", optarg, 0.01, 3600, &S->interval) < 0) return -1; break;
        case 'm': S->model = optarg; break;
        case 'k':
            if (cli_number("fp-profile", "--nearest", optarg, 0, NEAREST_MAX, &d) < 0) return -1;
            S->nearest = (int)d;
            break;
        case O_HISTORY: S->history = optarg; break;
        case O_APPLY: S->apply = true; break;
        case O_NO_FOLLOW: S->follow = false; break;
        case O_JSON: S->json = true; break;
        case O_NOHISTFILE: S->no_history_file = true; break;
        case O_NOPERF: S->no_perf = true; break;
        case O_CMDSTDOUT: S->cmd_stdout = optarg; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-profile (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fp-profile: unexpected argument '%s' (commands are read from the input)\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    return 0;
}

static char *read_plain_line(void)
{
    char *line = NULL;
    size_t n = 0;
    ssize_t len = getline(&line, &n, stdin);
    if (len < 0) {
        free(line);
        return NULL;
    }
    if (len > 0 && line[len - 1] == '\n') line[len - 1] = 0;
    return line;
}

int main(int argc, char **argv)
{
    shell sh;
    memset(&sh, 0, sizeof sh);
    int a = parse_args(argc, argv, &sh);
    if (a != 0) return a > 0 ? 0 : FP_EXIT_ERROR;
    if ((sh.S.cmd_stdout_fd = cli_cmd_stdout("fp-profile", sh.S.cmd_stdout, true)) < 0) return FP_EXIT_ERROR;
    fp_roots_default(&sh.roots);
    fp_policy_default(&sh.pol);
    signal(SIGPIPE, SIG_IGN);
    int status = 0;
    fp_err err = {0};
    sh.layout = malloc(sizeof *sh.layout);
    if (!sh.layout || fp_cg_layout_read(&sh.roots, sh.layout, &err) < 0) {
        fprintf(stderr, "fp-profile: %s\n", sh.layout ? err.msg : "out of memory");
        free(sh.layout);
        return FP_EXIT_ERROR;
    }
    const char *mp = sh.S.model;
    if (!mp) {
        const char *env = getenv("FP_MODEL");
        mp = env && *env ? env : DEFAULT_MODEL;
    }
    if (model_open(&sh, mp, sh.S.model == NULL, &status) < 0) goto out;
    if (sh.S.history) snprintf(sh.history_dir, sizeof sh.history_dir, "%s", sh.S.history);
    else fp_history_default_dir(sh.history_dir, sizeof sh.history_dir);
    sh.tty = isatty(STDIN_FILENO);
    if (sh.tty) rl_setup(&sh);
    while (!sh.quit && !sh.out_failed) {
        char *line = sh.tty ? readline("fp> ") : read_plain_line();
        if (!line) {
            if (sh.tty) putchar('\n');
            break;
        }
        if (sh.tty) remember(&sh, line);
        execute(&sh, line);
        free(line);
    }
    if (sh.tty && sh.histfile[0]) history_truncate_file(sh.histfile, HISTORY_LINES);
out:
    cand_clear();
    free(cand.v);
    fp_docker_free(sh.docker);
    fp_act_free(sh.act);
    fp_featmap_free(sh.fm);
    fp_model_free(sh.m);
    free(sh.x);
    free(sh.layout);
    if (fclose(stdout) != 0 || sh.out_failed) {
        fprintf(stderr, "fp-profile: standard output: %s\n", strerror(errno ? errno : EIO));
        status = FP_EXIT_ERROR;
    }
    return status;
}
