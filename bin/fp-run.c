/* fp-run - run a workload under the loop: capture, predict, apply, learn.
 *
 * fp-run starts CMD stopped in a cgroup of its own (fp/launch.h), samples
 * it (fp/sampler.h), fingerprints its first window (fp/features.h),
 * predicts what it will need with a model (fp/model.h), decides limits with
 * the policy (fp/policy.h) and puts them in place on its cgroup through the
 * cgroup actuator (fp/actuator.h), all before the workload ramps up. While
 * it runs, every --every seconds it predicts again from all the samples so
 * far and adjusts (the policy's hysteresis and gentle shrinking apply), and
 * at every sample it looks for OOM kills and throttling (raises at once).
 * At the end: the actual, an `error` record scoring the first prediction
 * and allocation against it (fp/diff.h, the format fp-diff writes), one
 * append of fingerprint + actual + error to the history store
 * (fp/history.h) and, with --learn, one online update of the model saved
 * back atomically. See fp-run(1).
 *
 * Exit: the workload's status (128+N when signal N killed it; 126/127 when
 * it could not be run); 2 for fp-run's own usage or system errors (also
 * when the workload succeeded but its records could not be written, the
 * history appended or the learned model saved).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

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
#define EXIT_USAGE 2

typedef struct settings {
    double interval, window, every;
    const char *model, *policy, *history, *id, *cgroup_parent;
    bool samples, dry_run, no_history, learn, no_perf;
    char **cmd;
} settings;

typedef struct run {
    const settings *S;
    fp_roots roots;
    fp_cg_layout *layout;
    fp_capacity cap;
    fp_policy pol;
    fp_actuator *act;
    /* the model (NULL: none, run without limits) */
    fp_model *m;
    fp_featmap *fm;
    char model_id[128], stat[8];
    double horizon;
    double *x, *x_first;           /* features now / of the first fingerprint */
    bool have_x_first;
    /* the workload */
    fp_target tg;
    json_t *meta;
    fp_launch launch;
    bool launched;
    fp_sampler *smp;
    fp_window *win;
    fp_sample_writer *sw;
    fp_exit exit;
    double next_predict;
    /* what was decided */
    fp_apply_state ast;
    json_t *fp_first;              /* the first fingerprint record */
    bool have_pred, have_alloc;
    fp_prediction pred_first;
    fp_limits alloc_first;         /* the first allocation's limits */
    double alloc_first_t;
    /* output */
    FILE *out;
    bool out_failed;
    fp_err out_err;
} run;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fputs("usage: fp-run [options] -- CMD [ARGS...]\n"
          "Run CMD in a cgroup of its own, predict what it needs from its first seconds,\n"
          "limit it before it ramps up, keep adjusting, and learn from the run.\n\n"
          "  -i, --interval SEC      time between samples (default 0.5, at least 0.01)\n"
          "  -w, --window SEC        first prediction after SEC seconds (default 2)\n"
          "      --every SEC         predict and adjust again every SEC seconds (default 10;\n"
          "                          0: only once)\n"
          "  -m, --model FILE        the model (default $FP_MODEL, else " DEFAULT_MODEL ")\n"
          "  -P, --policy FILE       policy overrides (JSON; see fp-apply(1))\n"
          "  -n, --dry-run           decide and plan, change nothing\n"
          "      --samples           also write the sample records\n"
          "      --history DIR       the history store (default $XDG_DATA_HOME/fp)\n"
          "      --no-history        do not append to the history store\n"
          "      --learn             refine the model with this run and save it back\n"
          "      --id ID             workload id (default: command name, time and pid)\n"
          "      --cgroup-parent PATH  create the workload's cgroup under PATH\n"
          "      --no-perf           do not open performance counters\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: the workload's status (128+N: killed by signal N; 126/127: could not run);\n"
          "2 usage or system error.\n",
          f);
}

static int parse_seconds(const char *opt, const char *s, double min, double *out)
{
    return cli_seconds("fp-run", opt, s, min, 1e9, out);
}

/* Options into S: 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_EVERY = 256, O_SAMPLES, O_HISTORY, O_NOHISTORY, O_LEARN, O_ID, O_CGPARENT, O_NOPERF };
    static const struct option opts[] = {
        {"interval", required_argument, 0, 'i'}, {"window", required_argument, 0, 'w'},
        {"every", required_argument, 0, O_EVERY}, {"model", required_argument, 0, 'm'},
        {"policy", required_argument, 0, 'P'}, {"dry-run", no_argument, 0, 'n'},
        {"samples", no_argument, 0, O_SAMPLES}, {"history", required_argument, 0, O_HISTORY},
        {"no-history", no_argument, 0, O_NOHISTORY}, {"learn", no_argument, 0, O_LEARN},
        {"id", required_argument, 0, O_ID}, {"cgroup-parent", required_argument, 0, O_CGPARENT},
        {"no-perf", no_argument, 0, O_NOPERF},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    S->interval = 0.5;
    S->window = 2;
    S->every = 10;
    int c;
    while ((c = getopt_long(argc, argv, "+i:w:m:P:nhV", opts, NULL)) != -1) {
        switch (c) {
        case 'i': if (parse_seconds("--interval", optarg, 0.01, &S->interval) < 0) return -1; break;
        case 'w': if (parse_seconds("--window", optarg, 0, &S->window) < 0) return -1; break;
        case O_EVERY: if (parse_seconds("--every", optarg, 0, &S->every) < 0) return -1; break;
        case 'm': S->model = optarg; break;
        case 'P': S->policy = optarg; break;
        case 'n': S->dry_run = true; break;
        case O_SAMPLES: S->samples = true; break;
        case O_HISTORY: S->history = optarg; break;
        case O_NOHISTORY: S->no_history = true; break;
        case O_LEARN: S->learn = true; break;
        case O_ID:
            if (!*optarg || strlen(optarg) >= sizeof ((fp_target *)0)->id) {
                fprintf(stderr, "fp-run: --id: must be 1 to %zu characters\n",
                        sizeof ((fp_target *)0)->id - 1);
                return -1;
            }
            S->id = optarg;
            break;
        case O_CGPARENT: S->cgroup_parent = optarg; break;
        case O_NOPERF: S->no_perf = true; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-run (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind >= argc) {
        fputs("fp-run: no command: give -- CMD [ARGS...]\n", stderr);
        usage(stderr);
        return -1;
    }
    if (S->history && S->no_history) {
        fputs("fp-run: --history and --no-history contradict each other\n", stderr);
        return -1;
    }
    S->cmd = argv + optind;
    return 0;
}

/* ---- output ---------------------------------------------------------------- */

/* After the first failure (a closed pipe, a full disk) nothing more is
 * written, but the workload is still run to its end. */
static void emit_borrowed(run *R, const json_t *rec)
{
    if (rec && !R->out_failed && fp_record_write(R->out, rec, &R->out_err) < 0) R->out_failed = true;
}

static void emit(run *R, json_t *rec)
{
    emit_borrowed(R, rec);
    json_decref(rec);
}

static void flush_out(run *R)
{
    if (!R->out_failed && fflush(R->out) != 0) {
        fp_err_sys(&R->out_err, "write");
        R->out_failed = true;
    }
}

/* ---- the model --------------------------------------------------------------- */

/* Load the model; a missing file is not an error (the run goes on without
 * limits, with one warning). Returns -1 only for a model that exists but
 * cannot be used. */
static int model_open(run *R, const char *path)
{
    fp_err err = {0};
    R->m = fp_model_load(path, &err);
    if (!R->m) {
        if (err.cls == FP_ESYS && err.sys_errno == ENOENT) {
            fprintf(stderr, "fp-run: warning: no model at %s: running without limits (train one: "
                    "fp-capture ... > runs.jsonl; fp-train runs.jsonl -o %s)\n", path, path);
            return 0;
        }
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return -1;
    }
    if (fp_model_is_seq(R->m)) {
        fprintf(stderr, "fp-run: %s: a %s model reads sample sequences; fp-run needs a "
                "fingerprint model (linear or knn)\n", path, fp_model_kind(R->m));
        return -1;
    }
    /* KIND:NAME, as fp-predict names it */
    const json_t *prov = fp_model_provenance(R->m);
    const char *name = json_string_value(json_object_get(prov, "name"));
    char buf[100];
    if (!name || !name[0]) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        size_t n = strlen(b);
        if (n > 5 && strcmp(b + n - 5, ".json") == 0) n -= 5;
        snprintf(buf, sizeof buf, "%.*s", (int)n, b);
        name = buf;
    }
    snprintf(R->model_id, sizeof R->model_id, "%s:%s", fp_model_kind(R->m), name);
    const char *target = json_string_value(json_object_get(prov, "target"));
    double mh = json_number_value(json_object_get(prov, "horizon_s"));
    R->horizon = target && strcmp(target, "horizon_peak") == 0 && mh > 0 ? mh : 0;
    snprintf(R->stat, sizeof R->stat, "%s", target && strcmp(target, "p95") == 0 ? "p95" : "peak");
    int dim = fp_model_dim(R->m);
    R->fm = fp_featmap_new(R->m);
    R->x = calloc((size_t)(dim > 0 ? dim : 1), sizeof *R->x);
    R->x_first = calloc((size_t)(dim > 0 ? dim : 1), sizeof *R->x_first);
    if (!R->fm || !R->x || !R->x_first) {
        fputs("fp-run: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

/* ---- deciding and applying ------------------------------------------------- */

static bool any_set(const fp_limits *l)
{
    const double *v = (const double *)l;
    for (size_t i = 0; i < sizeof *l / sizeof(double); i++)
        if (v[i] != FP_UNSET) return true;
    return false;
}

/* Plan and (unless --dry-run) commit d's limits; write the allocation. */
static void apply(run *R, const fp_decision *d, const fp_prediction *p, double t)
{
    fp_err err = {0};
    fp_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = fp_act_plan(R->act, &R->tg, &d->want, &plan, &err);
    if (rc == 0 && !R->S->dry_run) rc = fp_act_commit(R->act, &plan, &err);
    fp_allocation al = {
        .target = R->tg, .t = t, .ts = wall(), .reason = d->reason,
        .model = R->model_id, .horizon_s = p ? p->horizon_s : -1, .prediction_t = p ? p->t : -1,
        .dry_run = R->S->dry_run, .ok = rc == 0, .error = rc == 0 ? NULL : err.msg,
        .limits = d->want, .plan = &plan };
    for (int i = 0; i < FP_RES_COUNT; i++) al.why[i] = d->why[i];
    if (rc < 0) fprintf(stderr, "fp-run: %s: %s\n", R->tg.id, err.msg);
    else if (!R->S->dry_run) fp_apply_state_commit(&R->ast, &d->want, mono());
    if (rc == 0 && !R->have_alloc && p) {
        R->have_alloc = true;
        R->alloc_first = d->want;
        R->alloc_first_t = t;
    }
    emit(R, fp_allocation_to_json(&al));
}

/* Observe the cgroup and decide: p a prediction, or NULL for the look at
 * every sample (OOM kills, throttling: raises only). */
static void decide(run *R, const fp_prediction *p, double t)
{
    fp_err err = {0};
    fp_observed o;
    if (fp_act_observe(R->act, &R->tg, &o, &err) < 0) {
        if (!p) return;                /* gone: the exit is near */
        fprintf(stderr, "fp-run: %s: %s\n", R->tg.id, err.msg);
        fp_allocation al = { .target = R->tg, .t = t, .ts = wall(), .reason = "prediction",
                             .model = R->model_id, .horizon_s = p->horizon_s, .prediction_t = p->t,
                             .dry_run = R->S->dry_run, .ok = false, .error = err.msg };
        fp_limits_unset(&al.limits);
        emit(R, fp_allocation_to_json(&al));
        return;
    }
    fp_decision d;
    fp_policy_decide(&R->pol, &R->cap, p, &o, &R->ast, mono(), &d);
    if (strcmp(d.reason, "hold") == 0 && !any_set(&d.want)) {
        if (!p) return;
        fp_allocation al = { .target = R->tg, .t = t, .ts = wall(), .reason = "hold",
                             .model = R->model_id, .horizon_s = p->horizon_s, .prediction_t = p->t,
                             .dry_run = R->S->dry_run, .ok = true, .limits = d.want };
        for (int i = 0; i < FP_RES_COUNT; i++) al.why[i] = d.why[i];
        emit(R, fp_allocation_to_json(&al));
        return;
    }
    apply(R, &d, p, t);
}

/* A fingerprint of the samples so far, its prediction and (when act) the
 * limits it calls for. */
static void predict(run *R, double t, bool act)
{
    json_t *fpr = fp_fingerprint(R->win, &R->tg, R->meta, t);
    emit_borrowed(R, fpr);
    if (!R->fp_first) R->fp_first = json_incref(fpr);
    json_decref(fpr);
    if (!R->m) return;
    fp_err err = {0};
    fp_quantiles q[FP_RES_COUNT];
    if (fp_featmap_window(R->fm, R->win, R->meta, R->x, &err) < 0 ||
        fp_model_predict(R->m, R->x, q, NULL, &err) < 0) {
        fprintf(stderr, "fp-run: %s: no prediction: %s\n", R->tg.id, err.msg);
        return;
    }
    fp_prediction p;
    memset(&p, 0, sizeof p);
    p.target = R->tg;
    p.t = t;
    p.ts = wall();
    p.horizon_s = R->horizon;
    snprintf(p.model, sizeof p.model, "%s", R->model_id);
    memcpy(p.q, q, sizeof p.q);
    emit(R, fp_prediction_to_json(&p));
    if (!R->have_pred) {
        R->have_pred = true;
        R->pred_first = p;
        memcpy(R->x_first, R->x, (size_t)fp_model_dim(R->m) * sizeof *R->x);
        R->have_x_first = true;
    }
    if (act) decide(R, &p, t);
}

/* ---- the end of the run ------------------------------------------------------ */

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *levels_json(const fp_quantiles *q, const double *v)
{
    json_t *o = json_object();
    for (int i = 0; i < q->n; i++) {
        char key[32];
        fp_quantile_key(q->level[i], key, sizeof key);
        json_object_set_new(o, key, num_or_null(v ? v[i] : q->value[i]));
    }
    return o;
}

static double limit_or_nan(double v) { return v >= 0 ? v : NAN; }

/* The `error` record of fp-records(5) (as fp-diff writes it): the first
 * prediction and the first allocation against the actual's R->stat. */
static json_t *error_record(run *R, const json_t *actual, double t)
{
    double use[FP_RES_COUNT], peak[FP_RES_COUNT], mean[FP_RES_COUNT];
    fp_err err = {0};
    if (fp_actual_targets(actual, R->stat, use, &err) < 0 ||
        fp_actual_targets(actual, "peak", peak, &err) < 0 ||
        fp_actual_targets(actual, "mean", mean, &err) < 0)
        return NULL;
    double dur = json_number_value(json_object_get(actual, "duration_s"));
    json_t *e = fp_record_new("error", &R->tg, t, wall());
    json_object_set_new(e, "model", json_string(R->model_id));
    json_object_set_new(e, "prediction_t", num_or_null(R->pred_first.t));
    json_object_set_new(e, "allocation_t", R->have_alloc ? num_or_null(R->alloc_first_t) : json_null());
    json_object_set_new(e, "actual_stat", json_string(R->stat));
    json_object_set_new(e, "duration_s", num_or_null(dur));
    json_t *res = json_object(), *missing = json_object();
    bool failed = false;
    fp_score score;
    fp_score_init(&score);
    const fp_limits *l = &R->alloc_first;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_quantiles *q = R->pred_first.q[r].n > 0 ? &R->pred_first.q[r] : NULL;
        double alloc = NAN, hard = NAN;
        char from[32] = "";
        if (R->have_alloc) {
            switch (r) {
            case FP_RES_CPU:
                alloc = limit_or_nan(l->cpu_max_cores);
                if (isnan(alloc)) alloc = limit_or_nan(l->cpu_weight_cores);
                break;
            case FP_RES_MEM:
                hard = limit_or_nan(l->mem_max_bytes);
                alloc = isfinite(hard) ? hard : limit_or_nan(l->mem_high_bytes);
                break;
            case FP_RES_DISK_READ: alloc = limit_or_nan(l->io_read_Bps); break;
            case FP_RES_DISK_WRITE: alloc = limit_or_nan(l->io_write_Bps); break;
            case FP_RES_NET_TX: alloc = limit_or_nan(l->net_tx_Bps); break;
            default: break;
            }
            if (isfinite(alloc)) snprintf(from, sizeof from, "allocation");
        }
        if (!isfinite(alloc) && q) {
            alloc = q->value[q->n - 1];
            fp_quantile_key(q->level[q->n - 1], from, sizeof from);
            if (r == FP_RES_MEM) hard = alloc;
        }
        if (!q && !isfinite(alloc)) continue;
        const char *rn = fp_resource_name((fp_resource)r);
        if (!isfinite(use[r])) {
            json_object_set_new(res, rn, json_null());
            json_object_set_new(missing, rn, json_string("not in the actual"));
            continue;
        }
        fp_obs o;
        fp_obs_init(&o);
        o.q = q;
        o.alloc = alloc;
        o.hard = hard;
        o.use = use[r];
        o.peak = peak[r];
        o.mean = mean[r];
        o.dt = dur;
        fp_obs_result x;
        memset(&x, 0, sizeof x);
        fp_score_add(&score, (fp_resource)r, &o, &x);
        json_t *j = json_object();
        if (q) json_object_set_new(j, "predicted", levels_json(q, NULL));
        json_object_set_new(j, "allocated", num_or_null(alloc));
        json_object_set_new(j, "allocated_from", from[0] ? json_string(from) : json_null());
        json_object_set_new(j, "actual", num_or_null(use[r]));
        if (q) json_object_set_new(j, "pinball", levels_json(q, x.pinball));
        if (x.has_alloc) {
            json_object_set_new(j, "under", json_boolean(x.under));
            json_object_set_new(j, "slack", num_or_null(x.slack));
            json_object_set_new(j, "wasted_h", num_or_null(x.wasted_h));
        }
        if (isfinite(hard)) {
            json_object_set_new(j, "failed", json_boolean(x.failed));
            failed |= x.failed;
        }
        json_object_set_new(res, rn, j);
    }
    json_object_set_new(e, "resources", res);
    json_object_set_new(e, "failed", json_boolean(failed));
    json_object_set_new(e, "missing", missing);
    return e;
}

/* Append the run to the history store: one append, so concurrent runs and
 * a kill leave whole records. */
static int record_history(run *R, json_t *actual, json_t *error)
{
    const settings *S = R->S;
    char dir[FP_PATH_MAX];
    if (S->history) snprintf(dir, sizeof dir, "%s", S->history);
    else if (fp_history_default_dir(dir, sizeof dir) < 0) {
        fputs("fp-run: history: neither XDG_DATA_HOME nor HOME is set (give --history DIR or "
              "--no-history)\n", stderr);
        return -1;
    }
    fp_err err = {0};
    fp_history *h = fp_history_new(dir, NULL, &err);
    json_t *recs[3];
    size_t n = 0;
    if (R->fp_first) recs[n++] = R->fp_first;
    recs[n++] = actual;
    if (error) recs[n++] = error;
    int rc = h ? fp_history_append(h, recs, n, &err) : -1;
    if (rc < 0) fprintf(stderr, "fp-run: history: %s\n", err.msg);
    fp_history_free(h);
    return rc;
}

/* --learn: one online update with (first fingerprint, actual), saved back
 * atomically over the model file. */
static int learn(run *R, const json_t *actual, const char *path)
{
    if (!R->m) {
        fputs("fp-run: --learn: no model to refine\n", stderr);
        return 0;
    }
    if (!R->have_x_first) {
        fputs("fp-run: --learn: the run had no fingerprint the model could read\n", stderr);
        return 0;
    }
    fp_err err = {0};
    fp_example e;
    memset(&e, 0, sizeof e);
    if (fp_actual_targets(actual, R->stat, e.y, &err) < 0) {
        fprintf(stderr, "fp-run: --learn: %s\n", err.msg);
        return -1;
    }
    e.x = R->x_first;
    e.group = R->tg.id;
    e.ts = wall();
    e.oom = json_number_value(json_object_get(actual, "oom_kills")) > 0;
    if (fp_model_update(R->m, &e, &err) < 0 || fp_model_save(R->m, path, &err) < 0) {
        fprintf(stderr, "fp-run: --learn: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The workload ended: the fingerprint if the window was never reached,
 * the actual, the error, the history, the learning. Returns -1 when a
 * record could not be kept. */
static int finish(run *R, const char *model_path)
{
    double end = fp_window_last_t(R->win);
    if (!R->fp_first) predict(R, end, false);    /* a short workload: scored, not limited */
    json_t *actual = fp_actual(R->win, &R->tg, &R->exit, R->meta, NULL, end);
    emit_borrowed(R, actual);
    json_t *error = R->have_pred ? error_record(R, actual, end) : NULL;
    emit_borrowed(R, error);
    flush_out(R);
    int rc = 0;
    if (!R->S->no_history && record_history(R, actual, error) < 0) rc = -1;
    if (R->S->learn && learn(R, actual, model_path) < 0) rc = -1;
    json_decref(actual);
    json_decref(error);
    return rc;
}

/* ---- the workload ------------------------------------------------------------ */

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* Start the command: its cgroup, its sampler (whose counters must see the
 * first instruction), then let it run. *exec_status is 126/127 when the
 * command could not be run. */
static int launch(run *R, const sigset_t *oldmask, fp_err *err, int *exec_status)
{
    const settings *S = R->S;
    char name[64];
    if (S->id) snprintf(R->tg.id, sizeof R->tg.id, "%s", S->id);
    else {
        const char *base = strrchr(S->cmd[0], '/');
        base = base ? base + 1 : S->cmd[0];
        snprintf(R->tg.id, sizeof R->tg.id, "%.60s-%ld-%d", base, (long)time(NULL), (int)getpid());
    }
    json_t *cmd = json_array();
    for (int i = 0; S->cmd[i]; i++) json_array_append_new(cmd, json_string(S->cmd[i]));
    json_object_set_new(R->meta, "cmd", cmd);
    snprintf(name, sizeof name, "fp-%d", (int)getpid());
    fp_launch_cfg cfg = {.argv = S->cmd, .cgroup_parent = S->cgroup_parent, .cgroup_name = name,
                         .child_mask = oldmask};
    if (fp_launch_prepare(&R->roots, R->layout, &cfg, &R->launch, err) < 0) return -1;
    R->launched = true;
    R->tg.pid = R->launch.pid;
    if (R->launch.cg) snprintf(R->tg.cgroup, sizeof R->tg.cgroup, "%s", R->launch.cg->rel);
    else fprintf(stderr, "fp-run: warning: no cgroup for the workload (%s): it cannot be limited\n",
                 R->launch.why_no_cgroup ? R->launch.why_no_cgroup : "unknown");
    fp_sampler_cfg scfg = {.pid = R->launch.pid, .cg = R->launch.cg,
                           .why_no_cgroup = R->launch.why_no_cgroup,
                           .tree_from_cgroup = R->launch.cg != NULL, .perf = !S->no_perf};
    R->smp = fp_sampler_new(&R->roots, &scfg, err);
    if (!R->smp) {
        fp_launch_abort(&R->launch);
        return -1;
    }
    fp_sampler_start(R->smp, mono());
    return fp_launch_release(&R->launch, exec_status, err);
}

/* One sample: its record, the window, and what is due. */
static void feed(run *R, const fp_sample *s)
{
    if (R->S->samples) emit_borrowed(R, fp_sample_writer_json(R->sw, s, &R->tg));
    fp_window_add(R->win, s);
    if (s->t + 1e-9 >= R->next_predict) {
        predict(R, s->t, true);
        R->next_predict = R->S->every > 0 ? R->next_predict + R->S->every : INFINITY;
        if (R->next_predict <= s->t) R->next_predict = s->t + R->S->every;
    } else if (R->ast.applied) {
        decide(R, NULL, s->t);          /* OOM kills, throttling */
    }
}

/* Sample until the workload exits; signals sent to fp-run go to it.
 * Returns the workload's exit status. */
static int loop(run *R, int sfd)
{
    double next = mono() + R->S->interval;
    for (;;) {
        double wait = next - mono();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
            struct pollfd pfd = {.fd = sfd, .events = POLLIN};
            if (ppoll(&pfd, 1, &ts, NULL) > 0) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    int sig = (int)si.ssi_signo;
                    /* a terminal's ^C already reached the workload's group */
                    if (sig != SIGCHLD && (si.ssi_pid != 0 || si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE))
                        kill(R->launch.pid, sig);
                }
            }
            if (fp_launch_exited(&R->launch)) {
                /* the zombie's counters can still be read once */
                fp_sample s;
                fp_sampler_sample(R->smp, mono(), &s);
                fp_launch_reap(&R->launch, &R->exit);
                if (R->S->samples) emit_borrowed(R, fp_sample_writer_json(R->sw, &s, &R->tg));
                fp_window_add(R->win, &s);
                return R->exit.signal ? 128 + R->exit.signal : R->exit.code;
            }
            if (mono() < next) continue;
        }
        double now = mono();
        next += R->S->interval;
        if (next < now) next = now + R->S->interval;
        fp_sample s;
        fp_sampler_sample(R->smp, now, &s);
        feed(R, &s);
        flush_out(R);
    }
}

static void run_free(run *R)
{
    fp_err e = {0};
    fp_sampler_free(R->smp);
    if (R->launched && fp_launch_cleanup(&R->launch, &e) < 0) fprintf(stderr, "fp-run: warning: %s\n", e.msg);
    fp_window_free(R->win);
    fp_sample_writer_free(R->sw);
    json_decref(R->meta);
    json_decref(R->fp_first);
    fp_featmap_free(R->fm);
    fp_model_free(R->m);
    free(R->x);
    free(R->x_first);
    fp_act_free(R->act);
    free(R->layout);
}

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) return a > 0 ? 0 : EXIT_USAGE;
    run R;
    memset(&R, 0, sizeof R);
    R.S = &S;
    R.out = stdout;
    R.ast.oom_seen = R.ast.throttled_seen = -1;
    R.next_predict = S.window;
    fp_roots_default(&R.roots);
    gethostname(R.tg.host, sizeof R.tg.host - 1);
    signal(SIGPIPE, SIG_IGN);
    fp_err err = {0};
    int status = EXIT_USAGE;
    const char *model_path = S.model;
    if (!model_path) {
        const char *env = getenv("FP_MODEL");
        model_path = env && *env ? env : DEFAULT_MODEL;
    }
    fp_policy_default(&R.pol);
    R.meta = json_object();
    R.win = fp_window_new();
    R.sw = fp_sample_writer_new();
    R.layout = malloc(sizeof *R.layout);
    if (!R.meta || !R.win || !R.sw || !R.layout) {
        fputs("fp-run: out of memory\n", stderr);
        goto out;
    }
    if (S.policy && fp_policy_load(&R.pol, S.policy, &err) < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        goto out;
    }
    if (model_open(&R, model_path) < 0) goto out;
    if (fp_capacity_read(&R.roots, &R.cap, &err) < 0 || fp_cg_layout_read(&R.roots, R.layout, &err) < 0 ||
        !(R.act = fp_act_cgroup_new(&R.roots, &err))) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        goto out;
    }
    sigset_t mask, old;
    sigemptyset(&mask);
    for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++) sigaddset(&mask, fwd_signals[i]);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, &old);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        fprintf(stderr, "fp-run: signalfd: %s\n", strerror(errno));
        goto out;
    }
    int exec_status = 0;
    if (launch(&R, &old, &err, &exec_status) < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        status = exec_status ? exec_status : EXIT_USAGE;
        close(sfd);
        goto out;
    }
    status = loop(&R, sfd);
    close(sfd);
    if (finish(&R, model_path) < 0 && status == 0) status = EXIT_USAGE;
out:
    run_free(&R);
    bool close_failed = fclose(stdout) != 0;
    if (R.out_failed || close_failed) {
        if (!R.out_failed) fp_err_sys(&R.out_err, "write");
        fprintf(stderr, "fp-run: standard output: %s\n", R.out_err.msg);
        if (status == 0) status = EXIT_USAGE;
    }
    return status;
}
