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
 * The same loop runs for containers that others start: --docker ID
 * attaches to one running container, --watch-docker to every container
 * that starts (many at once, in one event loop). Their samples come from
 * the container's cgroups, their limits go through the docker actuator
 * (one POST /containers/{id}/update per change), and their end is seen
 * when the cgroup empties and the engine reports the container stopped.
 * One `wl` (workload) value drives each of them and the launched command
 * alike; what all workloads share (model, policy, actuators, output) is
 * the `ctx`.
 *
 * Exit: the workload's status (128+N when signal N killed it; 126/127 when
 * it could not be run); with --docker the container's exit code; with
 * --watch-docker 0 once INT/TERM/HUP ends the watch; 2 for fp-run's own
 * usage or system errors (also when the workload succeeded but its records
 * could not be written, the history appended or the learned model saved).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fp.h"
#include "fp/actuator.h"
#include "fp/dataset.h"
#include "fp/diff.h"
#include "fp/docker.h"
#include "fp/history.h"
#include "fp/memguard.h"
#include "fp/model.h"
#include "fp/policy.h"
#include "fp/prediction.h"
#include "fp/summary.h"
#include "fp/systemd.h"

#ifndef FP_PKGDATADIR
#define FP_PKGDATADIR "/usr/local/share/fp"
#endif
#define DEFAULT_MODEL FP_PKGDATADIR "/default-model.json"
#define MAX_FILTERS 16

typedef struct settings {
    double interval, window, every;
    const char *model, *policy, *history, *id, *cgroup_parent, *docker, *unit;
    fp_cg_driver cgroup_driver;    /* --cgroup-driver (auto) */
    bool samples, dry_run, no_history, learn, no_perf, watch_docker;
    int oom_pause;                 /* -1 auto (a launched command), 0 off, 1 on */
    int summary;                   /* -1 auto (standard error a terminal), 0 off, 1 on */
    int nlabel, nname;
    const char *label_key[MAX_FILTERS], *label_val[MAX_FILTERS];  /* val NULL: any */
    regex_t name_re[MAX_FILTERS];
    char **cmd;
    const char *cmd_stdout;        /* --cmd-stdout FILE|- */
    int cmd_stdout_fd;             /* fp_launch_cfg.stdout_fd */
    json_t *meta;                  /* --meta KEY=VALUE (owned) */
} settings;

/* What every workload of one fp-run shares. */
typedef struct ctx {
    const settings *S;
    const char *model_path;
    struct stat model_st;          /* the model file as loaded or last saved */
    unsigned model_gen;            /* bumped when --learn reloads a replaced model */
    fp_roots roots;
    fp_cg_layout *layout;
    fp_capacity cap;
    fp_policy pol;
    fp_actuator *act_cg;           /* for the launched command */
    fp_actuator *act_dk;           /* for containers (NULL until one is followed) */
    fp_docker *docker;             /* inspect, state and the event watch */
    fp_actuator *act_sd;           /* for --unit (the systemd back-end, fixed to it) */
    /* the model (NULL: none, run without limits) */
    fp_model *m;
    fp_featmap *fm;
    char model_id[128], stat[8];
    double horizon;
    double *x;                     /* features of the fingerprint at hand */
    char host[256];
    /* output */
    cli_out out;
    fp_summary *sum;               /* the records for the human summary; NULL: none */
} ctx;

/* One workload: the launched command or a container. */
typedef struct wl {
    ctx *C;
    fp_actuator *act;              /* borrowed: C->act_cg, C->act_dk or C->act_sd */
    fp_target tg;
    json_t *meta;
    bool launched;                 /* the command fp-run started */
    fp_launch launch;
    bool container;
    bool unit;                     /* a systemd unit (--unit) */
    fp_cgroup *cg;                 /* a container's or unit's cgroup (owned), else NULL */
    bool ending;                   /* container: its cgroup emptied, the engine's
                                      word on its exit is awaited */
    fp_sampler *smp;
    fp_window *win;
    fp_sample_writer *sw;
    fp_exit exit;
    const char *exit_why;          /* why the exit is unknown (NULL: the default) */
    double next_predict;
    /* what was decided */
    fp_apply_state ast;
    json_t *fp_first;              /* the first fingerprint record */
    bool have_pred, have_alloc, have_x_first;
    fp_prediction pred_first;
    fp_limits alloc_first;         /* the first allocation's limits */
    double alloc_first_t;
    double *x_first;               /* features of the first fingerprint */
    unsigned x_gen;                /* the model generation x_first was made for */
    /* the kernel's word on memory pressure (fp/memguard.h) */
    fp_memguard *guard;            /* NULL: none (why in guard_why) */
    const char *guard_why;
    bool guard_tried;
    double armed;                  /* v1 usage threshold armed at (bytes), 0 none */
    int presses, pauses;           /* raises answering the kernel; times found
                                      waiting at the hard limit */
    double t0;                     /* mono() at t = 0 of the workload's samples */
} wl;

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
          "       fp-run [options] --docker ID|NAME\n"
          "       fp-run [options] --watch-docker [--filter label=K[=V] | --filter name=REGEX]...\n"
          "       fp-run [options] --unit NAME.service\n"
          "Run CMD in a cgroup of its own (or follow containers others start), predict what\n"
          "it needs from its first seconds, limit it before it ramps up, keep adjusting,\n"
          "and learn from the run.\n\n"
          "  -i, --interval SEC      time between samples (default 0.5, at least 0.01)\n"
          "  -w, --window SEC        first prediction after SEC seconds (default 2)\n"
          "      --every SEC         predict and adjust again every SEC seconds (default 10;\n"
          "                          0: only once)\n"
          "  -m, --model FILE        the model (default $FP_MODEL, else " DEFAULT_MODEL ")\n"
          "  -P, --policy FILE       policy overrides (JSON; see fp-apply(1))\n"
          "      --meta KEY=VALUE    the workload's metadata (a number or a string; repeatable),\n"
          "                          e.g. req_mem_bytes=4e9: its request, which caps predictions\n"
          "  -n, --dry-run           decide and plan, change nothing\n"
          "      --samples           also write the sample records\n"
          "      --history DIR       the history store (default $XDG_DATA_HOME/fp)\n"
          "      --no-history        do not append to the history store\n"
          "      --learn             refine the model with this run and save it back\n"
          "      --id ID             workload id (default: command name, time and pid;\n"
          "                          a container's name)\n"
          "      --cgroup-parent PATH  create the workload's cgroup under PATH\n"
          "      --cmd-stdout FILE   the command's standard output goes to FILE (-: standard\n"
          "                          output, shared with the records; default: standard error)\n"
          "      --cgroup-driver D   systemd (a transient scope of fp-run's own, Delegate=yes),\n"
          "                          cgroupfs, or auto (default: systemd on a cgroup v2 host\n"
          "                          whose PID 1 is systemd, else cgroupfs)\n"
          "      --docker ID|NAME    follow a running container instead of running CMD\n"
          "      --watch-docker      follow every container that starts, until INT/TERM\n"
          "      --unit NAME         follow a running systemd unit (service, scope or slice);\n"
          "                          its limits are set through systemd (unit properties)\n"
          "      --filter F          with --watch-docker: only containers with label K\n"
          "                          (=V), or whose name matches REGEX (repeatable: all must hold)\n"
          "      --oom-pause         a workload at its hard memory limit waits for fp-run to\n"
          "                          raise it instead of being killed (cgroup v1; default for\n"
          "                          a command fp-run starts)\n"
          "      --no-oom-pause      let the kernel's OOM killer act at the hard limit\n"
          "      --no-perf           do not open performance counters\n"
          "  -s, --summary           a human summary of each workload on standard error at\n"
          "                          its end (default when standard error is a terminal)\n"
          "      --no-summary        no summary, even on a terminal\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: the workload's status (128+N: killed by signal N; 126/127: could not run);\n"
          "--docker: the container's exit code; --unit: its main process's exit status;\n"
          "--watch-docker: 0 when stopped by a signal;\n"
          "2 usage or system error.\n",
          f);
}

static int parse_seconds(const char *opt, const char *s, double min, double *out)
{
    return cli_seconds("fp-run", opt, s, min, 1e9, out);
}

/* One --filter: label=K, label=K=V or name=REGEX (extended POSIX, unanchored). */
static int parse_filter(settings *S, char *f)
{
    if (S->nlabel + S->nname >= MAX_FILTERS) {
        fprintf(stderr, "fp-run: --filter: at most %d filters\n", MAX_FILTERS);
        return -1;
    }
    if (strncmp(f, "label=", 6) == 0 && f[6] && f[6] != '=') {
        char *k = f + 6, *eq = strchr(k, '=');
        if (eq) *eq = 0;
        S->label_key[S->nlabel] = k;
        S->label_val[S->nlabel++] = eq ? eq + 1 : NULL;
        return 0;
    }
    if (strncmp(f, "name=", 5) == 0 && f[5]) {
        int rc = regcomp(&S->name_re[S->nname], f + 5, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char m[160];
            regerror(rc, &S->name_re[S->nname], m, sizeof m);
            fprintf(stderr, "fp-run: --filter %s: %s\n", f, m);
            return -1;
        }
        S->nname++;
        return 0;
    }
    fprintf(stderr, "fp-run: --filter wants label=KEY, label=KEY=VALUE or name=REGEX, not \"%s\"\n", f);
    return -1;
}

static void settings_free(settings *S)
{
    for (int i = 0; i < S->nname; i++) regfree(&S->name_re[i]);
    S->nname = 0;
    json_decref(S->meta);
    S->meta = NULL;
}

/* Options into S: 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_EVERY = 256, O_SAMPLES, O_HISTORY, O_NOHISTORY, O_LEARN, O_ID, O_CGPARENT, O_NOPERF,
           O_DOCKER, O_WATCH, O_FILTER, O_PAUSE, O_NOPAUSE, O_CGDRIVER, O_UNIT, O_CMDSTDOUT, O_NOSUMMARY, O_META };
    static const struct option opts[] = {
        {"interval", required_argument, 0, 'i'}, {"window", required_argument, 0, 'w'},
        {"every", required_argument, 0, O_EVERY}, {"model", required_argument, 0, 'm'},
        {"policy", required_argument, 0, 'P'}, {"dry-run", no_argument, 0, 'n'},
        {"samples", no_argument, 0, O_SAMPLES}, {"history", required_argument, 0, O_HISTORY},
        {"no-history", no_argument, 0, O_NOHISTORY}, {"learn", no_argument, 0, O_LEARN},
        {"id", required_argument, 0, O_ID}, {"cgroup-parent", required_argument, 0, O_CGPARENT},
        {"cgroup-driver", required_argument, 0, O_CGDRIVER}, {"no-perf", no_argument, 0, O_NOPERF}, {"docker", required_argument, 0, O_DOCKER},
        {"watch-docker", no_argument, 0, O_WATCH}, {"filter", required_argument, 0, O_FILTER},
        {"unit", required_argument, 0, O_UNIT}, {"cmd-stdout", required_argument, 0, O_CMDSTDOUT},
        {"oom-pause", no_argument, 0, O_PAUSE}, {"no-oom-pause", no_argument, 0, O_NOPAUSE},
        {"summary", no_argument, 0, 's'}, {"no-summary", no_argument, 0, O_NOSUMMARY},
        {"meta", required_argument, 0, O_META},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    S->interval = 0.5;
    S->window = 2;
    S->every = 10;
    S->oom_pause = -1;
    S->summary = -1;
    int c;
    while ((c = getopt_long(argc, argv, "+i:w:m:P:nshV", opts, NULL)) != -1) {
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
        case O_CGDRIVER:
            if (fp_cg_driver_parse(optarg, &S->cgroup_driver) < 0) {
                fprintf(stderr, "fp-run: --cgroup-driver: '%s' is not systemd, cgroupfs or auto\n", optarg);
                return -1;
            }
            break;
        case O_NOPERF: S->no_perf = true; break;
        case O_CMDSTDOUT: S->cmd_stdout = optarg; break;
        case O_DOCKER:
            if (S->docker) {
                fputs("fp-run: --docker follows one container (use --watch-docker for many)\n", stderr);
                return -1;
            }
            S->docker = optarg;
            break;
        case O_WATCH: S->watch_docker = true; break;
        case O_UNIT:
            if (S->unit) {
                fputs("fp-run: --unit follows one unit\n", stderr);
                return -1;
            }
            S->unit = optarg;
            break;
        case O_FILTER: if (parse_filter(S, optarg) < 0) return -1; break;
        case O_PAUSE: S->oom_pause = 1; break;
        case O_NOPAUSE: S->oom_pause = 0; break;
        case O_META: {
            fp_err merr = {0};
            if ((!S->meta && !(S->meta = json_object())) || fp_meta_set(S->meta, optarg, &merr) < 0) {
                fprintf(stderr, "fp-run: %s\n", S->meta ? merr.msg : "out of memory");
                return -1;
            }
            break;
        }
        case 's': S->summary = 1; break;
        case O_NOSUMMARY: S->summary = 0; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-run (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    bool containers = S->docker || S->watch_docker || S->unit;
    if (optind >= argc && !containers) {
        fputs("fp-run: no command: give -- CMD [ARGS...], --docker ID, --watch-docker or --unit NAME\n",
              stderr);
        usage(stderr);
        return -1;
    }
    if (optind < argc && containers) {
        fprintf(stderr, "fp-run: %s follows a %s that others started: give no command\n",
                S->docker ? "--docker" : S->unit ? "--unit" : "--watch-docker",
                S->unit ? "unit" : "container");
        return -1;
    }
    if (S->unit && (S->docker || S->watch_docker)) {
        fputs("fp-run: --unit and --docker/--watch-docker exclude each other\n", stderr);
        return -1;
    }
    if (S->unit && !fp_systemd_valid_unit(S->unit)) {
        fprintf(stderr, "fp-run: --unit: '%s' is not a unit name (NAME.service, .scope or .slice)\n",
                S->unit);
        return -1;
    }
    if (S->docker && S->watch_docker) {
        fputs("fp-run: --docker and --watch-docker exclude each other\n", stderr);
        return -1;
    }
    if (S->docker && !fp_docker_valid_ref(S->docker)) {
        fprintf(stderr, "fp-run: --docker: '%s' is not a valid container id or name\n", S->docker);
        return -1;
    }
    if (S->nlabel + S->nname && !S->watch_docker) {
        fputs("fp-run: --filter applies to --watch-docker\n", stderr);
        return -1;
    }
    if (S->id && S->watch_docker) {
        fputs("fp-run: --id names one workload; --watch-docker follows many (each is named "
              "after its container)\n", stderr);
        return -1;
    }
    if (S->cmd_stdout && containers) {
        fputs("fp-run: --cmd-stdout applies to a command fp-run starts\n", stderr);
        return -1;
    }
    if (S->cgroup_parent && containers) {
        fputs("fp-run: --cgroup-parent applies to a command fp-run starts, not to containers\n", stderr);
        return -1;
    }
    if (S->cgroup_parent && S->cgroup_driver == FP_CGD_SYSTEMD) {
        fputs("fp-run: --cgroup-parent and --cgroup-driver systemd exclude each other (the systemd "
              "driver makes the workload's cgroup in a scope of fp-run's own)\n", stderr);
        return -1;
    }
    if (S->cgroup_driver != FP_CGD_AUTO && containers) {
        fputs("fp-run: --cgroup-driver applies to a command fp-run starts, not to containers\n", stderr);
        return -1;
    }
    if (S->history && S->no_history) {
        fputs("fp-run: --history and --no-history contradict each other\n", stderr);
        return -1;
    }
    S->cmd = optind < argc ? argv + optind : NULL;
    return 0;
}

/* ---- output ---------------------------------------------------------------- */

/* After the first failure (a closed pipe, a full disk) nothing more is
 * written, but the workloads are still followed to their end. */
static void emit_borrowed(ctx *C, const json_t *rec)
{
    fp_summary_add(C->sum, rec);       /* a summary short of memory only shows less */
    cli_emit_borrowed(&C->out, rec);
}
static void emit(ctx *C, json_t *rec)
{
    fp_summary_add(C->sum, rec);
    cli_emit(&C->out, rec);
}
static void flush_out(ctx *C) { cli_flush(&C->out); }

/* ---- the human summary --------------------------------------------------------- */

/* Whether to show summaries: --summary, --no-summary, else when standard
 * error is a terminal (a person is watching; the records on standard
 * output stay as they are). */
static bool summary_wanted(const settings *S)
{
    return S->summary >= 0 ? S->summary > 0 : isatty(STDERR_FILENO) == 1;
}

/* The summary of workload id on standard error, then forget it (a
 * --watch-docker run keeps nothing of workloads that ended). */
static void summary_show(ctx *C, const char *id)
{
    if (!C->sum) return;
    char *text = fp_summary_text(C->sum, id, "fp-run");
    if (text) fprintf(stderr, "\n%s", text);    /* the records were flushed (finish) */
    free(text);
    fp_summary_forget(C->sum, id);
}

/* ---- the model --------------------------------------------------------------- */

/* Load the model; a missing file is not an error (the run goes on without
 * limits, with one warning). Returns 0, or the exit code (fp_exit_code) for
 * a model that exists but cannot be used, its message printed. */
static int model_open(ctx *C, const char *path)
{
    fp_err err = {0};
    C->m = fp_model_load(path, &err);
    if (!C->m) {
        if (err.cls == FP_ESYS && err.sys_errno == ENOENT) {
            fprintf(stderr, "fp-run: warning: no model at %s: running without limits (train one: "
                    "fp-capture ... > runs.jsonl; fp-train runs.jsonl -o %s)\n", path, path);
            return 0;
        }
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return fp_exit_code(&err);
    }
    if (fp_model_is_seq(C->m)) {
        fprintf(stderr, "fp-run: %s: a %s model reads sample sequences; fp-run needs a "
                "fingerprint model (linear or knn)\n", path, fp_model_kind(C->m));
        return FP_EXIT_ERROR;
    }
    /* KIND:NAME, the horizon and the statistic, as fp-predict names them */
    fp_model_describe(C->m, path, C->model_id, sizeof C->model_id, &C->horizon, C->stat);
    if (stat(path, &C->model_st) < 0) memset(&C->model_st, 0, sizeof C->model_st);
    int dim = fp_model_dim(C->m);
    C->fm = fp_featmap_new(C->m);
    C->x = calloc((size_t)(dim > 0 ? dim : 1), sizeof *C->x);
    if (!C->fm || !C->x) {
        fputs("fp-run: out of memory\n", stderr);
        return FP_EXIT_ERROR;
    }
    return 0;
}

/* ---- one workload ------------------------------------------------------------ */

/* A new workload with its window, sample writer and feature buffer, its
 * first prediction due after --window; NULL when out of memory. */
static wl *wl_new(ctx *C)
{
    wl *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->C = C;
    w->act = C->act_cg;
    fp_apply_state_init(&w->ast);
    w->next_predict = C->S->window;
    snprintf(w->tg.host, sizeof w->tg.host, "%s", C->host);
    w->meta = json_object();
    if (w->meta && C->S->meta) json_object_update(w->meta, C->S->meta);   /* --meta */
    w->win = fp_window_new();
    w->sw = fp_sample_writer_new();
    int dim = C->m ? fp_model_dim(C->m) : 0;
    w->x_first = calloc((size_t)(dim > 0 ? dim : 1), sizeof *w->x_first);
    if (!w->meta || !w->win || !w->sw || !w->x_first) {
        json_decref(w->meta);
        fp_window_free(w->win);
        fp_sample_writer_free(w->sw);
        free(w->x_first);
        free(w);
        return NULL;
    }
    return w;
}

/* Free w; a launched workload's cgroup is removed (a warning when that
 * fails). Limits put on a container stay. */
static void wl_free(wl *w)
{
    if (!w) return;
    fp_err e = {0};
    fp_sampler_free(w->smp);
    fp_memguard_free(w->guard);       /* clears oom_kill_disable first */
    if (w->launched && fp_launch_cleanup(&w->launch, &e) < 0) fprintf(stderr, "fp-run: warning: %s\n", e.msg);
    free(w->cg);
    fp_window_free(w->win);
    fp_sample_writer_free(w->sw);
    json_decref(w->meta);
    json_decref(w->fp_first);
    free(w->x_first);
    free(w);
}

/* ---- deciding and applying ------------------------------------------------- */

/* The workload's cgroup, for the guard: NULL when it has none. */
static const fp_cgroup *wl_cgroup(const wl *w)
{
    return w->launched ? w->launch.cg : w->cg;
}

/* Before fp-run's first limits: ask the kernel to tell it when the
 * workload presses against its memory limits (fp/memguard.h). Whether the
 * guard can hold the workload there (fp_memguard_holds) is what lets the
 * policy start a novel workload's memory from its own usage. */
static void guard_open(wl *w)
{
    const settings *S = w->C->S;
    if (S->dry_run) return;
    if (!w->guard && !w->guard_tried) {
        w->guard_tried = true;
        const fp_cgroup *cg = wl_cgroup(w);
        fp_err err = {0};
        fp_memguard_cfg cfg = {.pause = S->oom_pause == 1 || (S->oom_pause < 0 && w->launched),
                               .psi_stall_s = 0.1, .psi_window_s = 1};
        const char *why = NULL;
        if (cg) w->guard = fp_memguard_open(cg, &cfg, &why, &err);
        if (!w->guard) {
            w->guard_why = cg ? "the kernel's memory notifications could not be had" : "no cgroup";
            fprintf(stderr, "fp-run: %s: warning: %s%s%s: memory pressure is seen only at each "
                    "sample\n", w->tg.id, w->guard_why, cg ? ": " : "", cg ? err.msg : "");
        } else if (why) {
            w->guard_why = why;
            fprintf(stderr, "fp-run: %s: warning: %s\n", w->tg.id, why);
        }
    }
    w->ast.watched = fp_memguard_holds(w->guard);
}

/* Once fp-run has put memory limits in place: (v1) arm the guard's usage
 * threshold at the soft limit in place, or 90% of the hard one. */
static void guard_limits(wl *w)
{
    const fp_limits *g = &w->ast.granted;
    if (w->C->S->dry_run || (g->mem_high_bytes < 0 && g->mem_max_bytes < 0)) return;
    guard_open(w);
    if (!w->guard) return;
    double warn = g->mem_high_bytes >= 0 ? g->mem_high_bytes
                : g->mem_max_bytes >= 0 ? 0.9 * g->mem_max_bytes : 0;
    if (warn == w->armed) return;
    fp_err err = {0};
    if (fp_memguard_arm(w->guard, warn, &err) < 0) {
        if (err.sys_errno != ENODEV && err.sys_errno != ENOENT)   /* not when the cgroup is gone */
            fprintf(stderr, "fp-run: %s: warning: %s\n", w->tg.id, err.msg);
    }
    else
        w->armed = warn;
}

static void apply(wl *w, const fp_decision *d, const fp_prediction *p, double t);

/* The guard said something: raise at once when the workload presses
 * against its limits (a threshold crossed downwards is not pressure). */
static void press(wl *w)
{
    ctx *C = w->C;
    fp_memguard_event ev;
    if (!w->guard || fp_memguard_read(w->guard, &ev) <= 0) return;
    fp_err err = {0};
    fp_observed o;
    if (fp_act_observe(w->act, &w->tg, &o, &err) < 0) return;
    double high = w->ast.granted.mem_high_bytes;
    if (!ev.oom && !ev.high && o.mem_bytes >= 0) {
        /* a threshold or pressure event with usage below the soft limit */
        double bar = w->armed > 0 ? w->armed : high;
        if (bar > 0 && o.mem_bytes < 0.95 * bar) return;
    }
    if (ev.paused) w->pauses++;
    fp_decision d;
    fp_policy_press(&C->pol, &C->cap, &o, &w->ast, mono(), ev.oom, &d);
    if (strcmp(d.reason, "hold") == 0) {
        if (ev.paused) {
            /* nothing left to raise to (a ceiling of the user's policy):
             * the kernel's OOM handling, as without the guard */
            fprintf(stderr, "fp-run: %s: at its memory ceiling and waiting: the kernel's OOM "
                    "killer may act (%s)\n", w->tg.id, d.why[FP_RES_MEM]);
            fp_memguard_free(w->guard);
            w->guard = NULL;
            w->guard_why = "released at the policy's memory ceiling";
            w->ast.watched = false;
        }
        return;
    }
    w->presses++;
    apply(w, &d, NULL, mono() - w->t0);
}

/* Plan and (unless --dry-run) commit d's limits on w's cgroup or container;
 * write the allocation. */
static void apply(wl *w, const fp_decision *d, const fp_prediction *p, double t)
{
    ctx *C = w->C;
    fp_err err = {0};
    fp_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = fp_act_plan(w->act, &w->tg, &d->want, &plan, &err);
    if (rc == 0 && !C->S->dry_run) rc = fp_act_commit(w->act, &plan, &err);
    fp_allocation al = {
        .target = w->tg, .t = t, .ts = wall(), .reason = d->reason,
        .model = C->model_id, .horizon_s = p ? p->horizon_s : -1, .prediction_t = p ? p->t : -1,
        .dry_run = C->S->dry_run, .ok = rc == 0, .error = rc == 0 ? NULL : err.msg,
        .limits = d->want, .plan = &plan };
    for (int i = 0; i < FP_RES_COUNT; i++) al.why[i] = d->why[i];
    if (rc < 0) fprintf(stderr, "fp-run: %s: %s\n", w->tg.id, err.msg);
    else if (!C->S->dry_run) {
        fp_apply_state_commit(&w->ast, &d->want, mono());
        guard_limits(w);
    }
    if (rc == 0 && !w->have_alloc && p) {
        w->have_alloc = true;
        w->alloc_first = d->want;
        w->alloc_first_t = t;
    }
    emit(C, fp_allocation_to_json(&al));
}

/* Observe the workload and decide: p a prediction, or NULL for the look at
 * a sample (OOM kills, throttling: raises only; before the first limits
 * the look only tells the policy where the workload's CPU time started). */
static void decide(wl *w, const fp_prediction *p, double t)
{
    ctx *C = w->C;
    fp_err err = {0};
    fp_observed o;
    if (fp_act_observe(w->act, &w->tg, &o, &err) < 0) {
        if (!p) return;                /* gone: the exit is near */
        fprintf(stderr, "fp-run: %s: %s\n", w->tg.id, err.msg);
        fp_allocation al = { .target = w->tg, .t = t, .ts = wall(), .reason = "prediction",
                             .model = C->model_id, .horizon_s = p->horizon_s, .prediction_t = p->t,
                             .dry_run = C->S->dry_run, .ok = false, .error = err.msg };
        fp_limits_unset(&al.limits);
        emit(C, fp_allocation_to_json(&al));
        return;
    }
    fp_decision d;
    if (p) guard_open(w);
    fp_policy_decide(&C->pol, &C->cap, p, &o, &w->ast, mono(), &d);
    /* a look before the first limits only learns (the CPU time): raises
     * are for limits fp-run put in place */
    if (!p && !w->ast.applied) return;
    if (strcmp(d.reason, "hold") == 0 && !fp_limits_any_set(&d.want)) {
        if (!p) return;
        fp_allocation al = { .target = w->tg, .t = t, .ts = wall(), .reason = "hold",
                             .model = C->model_id, .horizon_s = p->horizon_s, .prediction_t = p->t,
                             .dry_run = C->S->dry_run, .ok = true, .limits = d.want };
        for (int i = 0; i < FP_RES_COUNT; i++) al.why[i] = d.why[i];
        emit(C, fp_allocation_to_json(&al));
        return;
    }
    apply(w, &d, p, t);
}

/* A fingerprint of the samples so far, its prediction and (when act) the
 * limits it calls for. */
static void predict(wl *w, double t, bool act)
{
    ctx *C = w->C;
    json_t *fpr = fp_fingerprint(w->win, &w->tg, w->meta, t);
    emit_borrowed(C, fpr);
    if (!w->fp_first) w->fp_first = json_incref(fpr);
    json_decref(fpr);
    if (!C->m) return;
    fp_err err = {0};
    fp_quantiles q[FP_RES_COUNT];
    if (fp_featmap_window(C->fm, w->win, w->meta, C->x, &err) < 0 ||
        fp_model_predict(C->m, C->x, q, NULL, &err) < 0) {
        fprintf(stderr, "fp-run: %s: no prediction: %s\n", w->tg.id, err.msg);
        return;
    }
    fp_prediction p;
    memset(&p, 0, sizeof p);
    p.target = w->tg;
    p.t = t;
    p.ts = wall();
    p.horizon_s = C->horizon;
    snprintf(p.model, sizeof p.model, "%s", C->model_id);
    /* the model's history of this workload's identity key, if any
     * (fp/model.h, "History as a prior"), then the request cap */
    char kb[FP_PRIOR_KEY_MAX];
    fp_prior_use use;
    fp_model_prior_apply(C->m, fp_model_prior_key(C->m, w->tg.id, w->meta, kb, sizeof kb), q, &use);
    memcpy(p.q, q, sizeof p.q);
    fp_prior_note(&use, &p);
    p.novelty = fp_model_novelty(C->m);
    p.has_novelty = !isnan(p.novelty);
    fp_prediction_cap(&p, w->meta);    /* never above a request it declared (--meta) */
    emit(C, fp_prediction_to_json(&p));
    if (!w->have_pred) {
        w->have_pred = true;
        w->pred_first = p;
        memcpy(w->x_first, C->x, (size_t)fp_model_dim(C->m) * sizeof *C->x);
        w->have_x_first = true;
        w->x_gen = C->model_gen;
    }
    if (act) decide(w, &p, t);
}

/* ---- the end of the run ------------------------------------------------------ */


static json_t *levels_json(const fp_quantiles *q, const double *v)
{
    json_t *o = json_object();
    for (int i = 0; i < q->n; i++) {
        char key[32];
        fp_quantile_key(q->level[i], key, sizeof key);
        json_object_set_new(o, key, fp_json_num(v ? v[i] : q->value[i]));
    }
    return o;
}

static double limit_or_nan(double v) { return v >= 0 ? v : NAN; }

/* The `error` record of fp-records(5) (as fp-diff writes it): the first
 * prediction and the first allocation against the actual's peak (or p95). */
static json_t *error_record(wl *w, const json_t *actual, double t)
{
    double use[FP_RES_COUNT], peak[FP_RES_COUNT], mean[FP_RES_COUNT];
    fp_err err = {0};
    if (fp_actual_targets(actual, w->C->stat, use, &err) < 0 ||
        fp_actual_targets(actual, "peak", peak, &err) < 0 ||
        fp_actual_targets(actual, "mean", mean, &err) < 0)
        return NULL;
    double dur = json_number_value(json_object_get(actual, "duration_s"));
    json_t *e = fp_record_new("error", &w->tg, t, wall());
    json_object_set_new(e, "model", json_string(w->C->model_id));
    json_object_set_new(e, "prediction_t", fp_json_num(w->pred_first.t));
    json_object_set_new(e, "allocation_t", w->have_alloc ? fp_json_num(w->alloc_first_t) : json_null());
    json_object_set_new(e, "actual_stat", json_string(w->C->stat));
    json_object_set_new(e, "duration_s", fp_json_num(dur));
    json_t *res = json_object(), *missing = json_object();
    bool failed = false;
    fp_score score;
    fp_score_init(&score);
    const fp_limits *l = &w->alloc_first;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_quantiles *q = w->pred_first.q[r].n > 0 ? &w->pred_first.q[r] : NULL;
        double alloc = NAN, hard = NAN;
        char from[32] = "";
        if (w->have_alloc) {
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
        if (w->have_alloc && (isfinite(hard) || r == FP_RES_CPU))
            o.harm = fp_actual_harm(actual, (fp_resource)r);
        fp_obs_result x;
        memset(&x, 0, sizeof x);
        fp_score_add(&score, (fp_resource)r, &o, &x);
        json_t *j = json_object();
        if (q) json_object_set_new(j, "predicted", levels_json(q, NULL));
        json_object_set_new(j, "allocated", fp_json_num(alloc));
        json_object_set_new(j, "allocated_from", from[0] ? json_string(from) : json_null());
        json_object_set_new(j, "actual", fp_json_num(use[r]));
        if (q) json_object_set_new(j, "pinball", levels_json(q, x.pinball));
        if (x.has_alloc) {
            json_object_set_new(j, "under", json_boolean(x.under));
            json_object_set_new(j, "slack", fp_json_num(x.slack));
            json_object_set_new(j, "wasted_h", fp_json_num(x.wasted_h));
        }
        if (isfinite(hard) || o.harm) {
            json_object_set_new(j, "failed", json_boolean(x.failed));
            if (o.harm) json_object_set_new(j, "failed_why", json_string(o.harm));
            failed |= x.failed;
        }
        json_object_set_new(res, rn, j);
    }
    json_object_set_new(e, "resources", res);
    json_object_set_new(e, "failed", json_boolean(failed));
    json_object_set_new(e, "missing", missing);
    /* what fp-run did between its looks, and whether its limits harmed */
    const char *harm = w->have_alloc ? fp_actual_harm(actual, FP_RES_MEM) : NULL;
    if (!harm && w->have_alloc) harm = fp_actual_harm(actual, FP_RES_CPU);
    json_object_set_new(e, "harmed", json_boolean(harm != NULL));
    if (harm) json_object_set_new(e, "harmed_why", json_string(harm));
    json_t *g = json_object();
    json_object_set_new(g, "pressure_raises", json_integer(w->presses));
    json_object_set_new(g, "oom_pauses", json_integer(w->pauses));
    json_object_set_new(g, "oom_pause", json_boolean(fp_memguard_pausing(w->guard)));
    json_object_set_new(g, "notifications", json_string(w->guard ? (w->guard_why ? w->guard_why : "all")
                                                        : w->guard_why ? w->guard_why : "none"));
    json_object_set_new(e, "memguard", g);
    return e;
}

/* Append the run to the history store: one append, so concurrent runs and
 * a kill leave whole records. */
static int record_history(wl *w, json_t *actual, json_t *error)
{
    const settings *S = w->C->S;
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
    if (w->fp_first) recs[n++] = w->fp_first;
    recs[n++] = actual;
    if (error) recs[n++] = error;
    int rc = h ? fp_history_append(h, recs, n, &err) : -1;
    if (rc < 0) fprintf(stderr, "fp-run: history: %s\n", err.msg);
    fp_history_free(h);
    return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* --learn: one online update with (first fingerprint, actual), saved back
 * atomically over the model file.
 *
 * Other writers of the same model (another fp-run --learn, fp-retrain
 * installing a new one) are serialised by an exclusive flock on MODEL.lock,
 * the lock fp-retrain(1) takes. Under it, when the file is no longer the
 * one this process loaded or last saved, the model is loaded again first,
 * so that this run's update goes on top of the other writer's instead of
 * overwriting it; the run's features are then recomputed from its first
 * fingerprint record for the model now loaded. */
static int learn(wl *w, const json_t *actual)
{
    ctx *C = w->C;
    if (!C->m) {
        fprintf(stderr, "fp-run: %s: --learn: no model to refine\n", w->tg.id);
        return 0;
    }
    if (!w->have_x_first) {
        fprintf(stderr, "fp-run: %s: --learn: the run had no fingerprint the model could read\n", w->tg.id);
        return 0;
    }
    char lp[FP_PATH_MAX + 8];
    snprintf(lp, sizeof lp, "%s.lock", C->model_path);
    int lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
        fprintf(stderr, "fp-run: --learn: %s: %s\n", lp, strerror(errno));
        if (lockfd >= 0) close(lockfd);
        return -1;
    }
    int rc = -1;
    double *xr = NULL;
    fp_err err = {0};
    struct stat now;
    if (stat(C->model_path, &now) == 0 && !same_file(&now, &C->model_st)) {
        /* replaced since loaded: adopt the new model */
        fp_model_free(C->m);
        fp_featmap_free(C->fm);
        free(C->x);
        C->m = NULL;
        C->fm = NULL;
        C->x = NULL;
        C->model_gen++;
        if (model_open(C, C->model_path) < 0 || !C->m) {
            fprintf(stderr, "fp-run: --learn: %s changed and could not be loaded again\n", C->model_path);
            goto out;
        }
    }
    const double *x = w->x_first;
    if (w->x_gen != C->model_gen) {
        xr = calloc((size_t)fp_model_dim(C->m) + 1, sizeof *xr);
        if (!xr || fp_featmap_vector(C->fm, w->fp_first, xr, &err) < 0) {
            fprintf(stderr, "fp-run: %s: --learn: %s\n", w->tg.id, xr ? err.msg : "out of memory");
            goto out;
        }
        x = xr;
    }
    fp_example e;
    memset(&e, 0, sizeof e);
    if (fp_actual_targets(actual, C->stat, e.y, &err) < 0) {
        fprintf(stderr, "fp-run: --learn: %s\n", err.msg);
        goto out;
    }
    const char *harm = fp_actual_harm(actual, FP_RES_MEM);
    if (harm) {
        /* censored: the peak it reached is where it was killed, not what
         * it needed; learning it would teach the model to kill it again */
        fprintf(stderr, "fp-run: %s: --learn: memory not learned: %s (its peak is only a lower "
                "bound)\n", w->tg.id, harm);
        /* the prior takes it as what it is, a lower bound: only when it
         * raises the key's largest peak */
        e.censored[FP_RES_MEM] = e.y[FP_RES_MEM];
        e.y[FP_RES_MEM] = NAN;
    }
    char kb[FP_PRIOR_KEY_MAX];
    e.key = fp_model_prior_key(C->m, w->tg.id, w->meta, kb, sizeof kb);
    e.x = x;
    e.group = w->tg.id;
    e.ts = wall();
    e.oom = json_number_value(json_object_get(actual, "oom_kills")) > 0;
    if (fp_model_update(C->m, &e, &err) < 0 || fp_model_save(C->m, C->model_path, &err) < 0) {
        fprintf(stderr, "fp-run: --learn: %s\n", err.msg);
        goto out;
    }
    if (stat(C->model_path, &C->model_st) < 0) memset(&C->model_st, 0, sizeof C->model_st);
    rc = 0;
out:
    free(xr);
    close(lockfd);          /* releases the lock */
    return rc;
}

/* The workload ended: the fingerprint if the window was never reached,
 * the actual, the error, the history, the learning. With partial (a
 * reason), fp-run stops following a workload that still runs: the actual
 * and the error cover what was seen and say why the exit is unknown, but
 * nothing goes to the history or the model (a partial life would teach
 * them too small a need). Returns -1 when a record could not be kept. */
static int finish(wl *w, const char *partial)
{
    ctx *C = w->C;
    double end = fp_window_last_t(w->win);
    if (!w->fp_first) predict(w, end, false);    /* a short workload: scored, not limited */
    json_t *actual = fp_actual(w->win, &w->tg, &w->exit, w->meta, NULL, end);
    const char *why = partial ? partial : w->exit_why;
    json_t *miss = json_object_get(actual, "missing");
    if (why && !w->exit.known && json_is_object(miss)) {
        json_object_set_new(miss, "exit_code", json_string(why));
        json_object_set_new(miss, "exit_signal", json_string(why));
    }
    emit_borrowed(C, actual);
    json_t *error = w->have_pred ? error_record(w, actual, end) : NULL;
    emit_borrowed(C, error);
    flush_out(C);
    summary_show(C, w->tg.id);
    int rc = 0;
    if (!partial) {
        /* a history that cannot take the run is said (record_history),
         * but does not turn a workload's success into a failure: the
         * records went out, the workload did what it did */
        if (!C->S->no_history && record_history(w, actual, error) < 0)
            fputs("fp-run: warning: this run was not added to the history store (the exit "
                  "status is the workload's)\n", stderr);
        if (C->S->learn && learn(w, actual) < 0) rc = -1;
    }
    json_decref(actual);
    json_decref(error);
    return rc;
}

/* One sample: its record, the window, and (when look) what is due: a
 * prediction at its time, else the look for OOM kills and throttling. */
static void feed(wl *w, const fp_sample *s, bool look)
{
    ctx *C = w->C;
    if (C->S->samples) emit_borrowed(C, fp_sample_writer_json(w->sw, s, &w->tg));
    fp_window_add(w->win, s);
    if (!look) return;
    if (s->t + 1e-9 >= w->next_predict) {
        predict(w, s->t, true);
        w->next_predict = C->S->every > 0 ? w->next_predict + C->S->every : INFINITY;
        if (w->next_predict <= s->t) w->next_predict = s->t + C->S->every;
    } else if (w->ast.applied || !w->ast.looked) {
        /* after the first limits: OOM kills, throttling; before them one
         * look at the start, so the first decision knows the CPU demand
         * over the window */
        decide(w, NULL, s->t);
    }
}

/* ---- the launched command ---------------------------------------------------- */

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* Start the command: its cgroup, its sampler (whose counters must see the
 * first instruction), then let it run. *exec_status is 126/127 when the
 * command could not be run. */
static int launch(wl *w, const sigset_t *oldmask, fp_err *err, int *exec_status)
{
    ctx *C = w->C;
    const settings *S = C->S;
    char name[64];
    if (S->id) snprintf(w->tg.id, sizeof w->tg.id, "%s", S->id);
    else {
        const char *base = strrchr(S->cmd[0], '/');
        base = base ? base + 1 : S->cmd[0];
        snprintf(w->tg.id, sizeof w->tg.id, "%.60s-%ld-%d", base, (long)time(NULL), (int)getpid());
    }
    json_t *cmd = json_array();
    for (int i = 0; S->cmd[i]; i++) json_array_append_new(cmd, json_string(S->cmd[i]));
    json_object_set_new(w->meta, "cmd", cmd);
    snprintf(name, sizeof name, "fp-%d", (int)getpid());
    /* Limits go on the workload's own cgroup or nowhere: without one,
     * fp-run runs the workload only when it would limit nothing anyway
     * (--dry-run, or no model). */
    fp_launch_cfg cfg = {.argv = S->cmd, .cgroup_parent = S->cgroup_parent, .cgroup_name = name,
                         .child_mask = oldmask, .require_cgroup = !S->dry_run && C->m,
                         .driver = S->cgroup_driver, .scope_prefix = "fp-run",
                         .sweep_prefix = "fp-", .stdout_fd = S->cmd_stdout_fd};
    int prc = fp_launch_prepare(&C->roots, C->layout, &cfg, &w->launch, err);
    if (w->launch.swept)
        fprintf(stderr, "fp-run: note: removed %d empty cgroup%s left behind by fp processes that "
                "are gone (%s%s)\n", w->launch.swept, w->launch.swept == 1 ? "" : "s",
                w->launch.swept_first, w->launch.swept > 1 ? ", ..." : "");
    if (prc < 0) {
        if (w->launch.cgroup_err.cls != FP_OK)
            fprintf(stderr, "fp-run: the workload cannot have a cgroup of its own, and fp-run puts "
                    "limits nowhere else: not running %s (-n/--dry-run runs it without limits)\n",
                    S->cmd[0]);
        return -1;
    }
    w->launched = true;
    w->tg.pid = w->launch.pid;
    if (w->launch.driver != FP_CGD_AUTO)
        json_object_set_new(w->meta, "cgroup_driver", json_string(fp_cg_driver_name(w->launch.driver)));
    if (w->launch.scope_unit[0]) json_object_set_new(w->meta, "scope", json_string(w->launch.scope_unit));
    if (w->launch.cg) snprintf(w->tg.cgroup, sizeof w->tg.cgroup, "%s", w->launch.cg->rel);
    else fprintf(stderr, "fp-run: warning: no cgroup for the workload (%s): it will not be "
                 "limited%s%s\n", w->launch.why_no_cgroup ? w->launch.why_no_cgroup : "unknown",
                 w->launch.cgroup_err.cls ? ": " : "", w->launch.cgroup_err.msg);
    fp_sampler_cfg scfg = {.pid = w->launch.pid, .cg = w->launch.cg,
                           .why_no_cgroup = w->launch.why_no_cgroup,
                           .tree_from_cgroup = w->launch.cg != NULL, .perf = !S->no_perf};
    w->smp = fp_sampler_new(&C->roots, &scfg, err);
    if (!w->smp) {
        fp_launch_abort(&w->launch);
        return -1;
    }
    w->t0 = mono();
    fp_sampler_start(w->smp, w->t0);
    return fp_launch_release(&w->launch, exec_status, err);
}

#define GUARD_FDS 4
#define POLL_MAX 256

/* Sleep on the signalfd and the workloads' memory guards until it is time
 * to sample (at most until deadline, monotonic seconds). A guard that
 * speaks is answered at once (press). Returns the signals that arrived as
 * a bit set (1 << signo), with their senders in *user (1 << signo when
 * sent by a process, not by the terminal's ^C). The records' reader going
 * away meanwhile (out a pipe that reports it) marks out gone. */
static unsigned long long wait_signals(int sfd, double deadline, unsigned long long *user,
                                       wl *const *ws, int nws, cli_out *out)
{
    unsigned long long got = 0;
    double wait = deadline - mono();
    if (wait < 0) wait = 0;    /* late: still look, without waiting */
    struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
    struct pollfd pfd[POLL_MAX + 1];   /* + the records' output */
    wl *owner[POLL_MAX];
    int n = 1;
    pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < nws; i++) {
        if (!ws[i]->guard || n + GUARD_FDS > POLL_MAX) continue;
        int fds[GUARD_FDS];
        short ev[GUARD_FDS];
        int k = fp_memguard_fds(ws[i]->guard, fds, ev, GUARD_FDS);
        for (int j = 0; j < k; j++) {
            pfd[n] = (struct pollfd){.fd = fds[j], .events = ev[j]};
            owner[n++] = ws[i];
        }
    }
    int out_fd = out->gone ? -1 : cli_watch_fd(fileno(out->f));
    if (out_fd >= 0) pfd[n] = (struct pollfd){.fd = out_fd, .events = 0};
    if (ppoll(pfd, (nfds_t)(n + (out_fd >= 0)), &ts, NULL) <= 0) return 0;
    if (out_fd >= 0) cli_out_polled(out, pfd[n].revents);
    for (int i = 1; i < n; i++)
        if (pfd[i].revents) fp_memguard_polled(owner[i]->guard, pfd[i].fd, pfd[i].revents);
    wl *last = NULL;
    for (int i = 1; i < n; i++)
        if (pfd[i].revents && owner[i] != last) {
            last = owner[i];
            press(owner[i]);         /* reads all of its guard's descriptors */
        }
    if (pfd[0].revents) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            int sig = (int)si.ssi_signo;
            if (sig <= 0 || sig >= 64) continue;
            got |= 1ULL << sig;
            if (si.ssi_pid != 0 || si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE) *user |= 1ULL << sig;
        }
    }
    return got;
}

/* Send sig to every process of the workload fp-run started. */
static void signal_workload(wl *w, int sig)
{
    int pids[1024], n = 0;
    fp_err e = {0};
    if (w->launch.cg) n = fp_cgroup_pids(w->launch.cg, pids, 1024, &e);
    for (int i = 0; i < n; i++) kill(pids[i], sig);
    kill(w->launch.pid, sig);
}

/* Seconds the workload has between SIGTERM and SIGKILL once the reader of
 * the records has gone. */
#define GONE_GRACE_S 5.0

/* Sample the command until it exits; signals sent to fp-run go to it.
 * When the reader of the records goes away (fp-run -- CMD | head -1), the
 * workload is sent SIGTERM, SIGKILL GONE_GRACE_S later, as a pipeline's
 * writer is ended by SIGPIPE. Returns the workload's exit status. */
static int loop_command(wl *w, int sfd)
{
    const settings *S = w->C->S;
    double next = mono() + S->interval, gone_at = 0;
    bool killed = false;
    for (;;) {
        /* every round, even when sampling fell behind (a slow machine):
         * signals, the memory guard and the workload's exit */
        {
            if (w->C->out.gone && gone_at == 0) {
                gone_at = mono();
                signal_workload(w, SIGTERM);
            } else if (gone_at > 0 && !killed && mono() - gone_at >= GONE_GRACE_S) {
                killed = true;
                signal_workload(w, SIGKILL);
            }
            double until = gone_at > 0 && next > mono() + 0.1 ? mono() + 0.1 : next;
            unsigned long long user = 0, got = wait_signals(sfd, until, &user, &w, 1, &w->C->out);
            /* a terminal's ^C already reached the workload's group */
            for (int sig = 1; sig < 64; sig++)
                if (sig != SIGCHLD && (got & user & (1ULL << sig))) kill(w->launch.pid, sig);
            if (fp_launch_exited(&w->launch)) {
                /* the zombie's counters can still be read once */
                fp_sample s;
                fp_sampler_sample(w->smp, mono(), &s);
                fp_launch_reap(&w->launch, &w->exit);
                feed(w, &s, false);
                return w->exit.signal ? 128 + w->exit.signal : w->exit.code;
            }
            if (mono() < next) continue;
        }
        double now = mono();
        next += S->interval;
        if (next < now) next = now + S->interval;
        fp_sample s;
        fp_sampler_sample(w->smp, now, &s);
        feed(w, &s, true);
        flush_out(w->C);
    }
}

/* Run CMD under the loop; returns fp-run's exit status. */
static int run_command(ctx *C, int sfd, const sigset_t *oldmask)
{
    fp_err err = {0};
    if (!(C->act_cg = fp_act_cgroup_new(&C->roots, &err))) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return fp_exit_code(&err);
    }
    wl *w = wl_new(C);
    if (!w) {
        fputs("fp-run: out of memory\n", stderr);
        return FP_EXIT_ERROR;
    }
    int exec_status = 0, status;
    if (launch(w, oldmask, &err, &exec_status) < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        /* not started: the host refused (no cgroup of its own included,
         * fp-run(1)), whatever class libfp gave the refusal */
        status = exec_status ? exec_status : FP_EXIT_ERROR;
    } else {
        status = loop_command(w, sfd);
        if (finish(w, NULL) < 0 && status == 0) status = FP_EXIT_ERROR;
    }
    wl_free(w);
    return status;
}

/* ---- containers -------------------------------------------------------------- */

/* The engine's word on container id: 1 running, 0 stopped (ex gets
 * State.ExitCode), -1 with err (FP_EINPUT: the container is gone). */
static int container_state(ctx *C, const char *id, fp_exit *ex, fp_err *err)
{
    char path[160];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    long status = 0;
    json_t *j = NULL;
    if (fp_docker_request(C->docker, "GET", path, NULL, &status, &j, err) < 0) return -1;
    json_t *st = json_object_get(j, "State");
    json_t *running = json_object_get(st, "Running"), *code = json_object_get(st, "ExitCode");
    int r;
    if (!json_is_boolean(running) || (!json_is_true(running) && !json_is_integer(code))) {
        r = fp_err_set(err, FP_ESYS, "unexpected inspect answer for container %.12s", id);
    } else if (json_is_true(running)) {
        r = 1;
    } else {
        json_int_t c = json_integer_value(code);
        ex->known = true;
        ex->code = c >= 0 && c <= 255 ? (int)c : 255;
        ex->signal = 0;
        r = 0;
    }
    json_decref(j);
    return r;
}

/* Does container c pass every --filter? */
static bool filters_pass(const settings *S, const fp_container *c)
{
    for (int i = 0; i < S->nlabel; i++) {
        json_t *v = json_object_get(c->labels, S->label_key[i]);
        if (!json_is_string(v)) return false;
        if (S->label_val[i] && strcmp(json_string_value(v), S->label_val[i]) != 0) return false;
    }
    for (int i = 0; i < S->nname; i++)
        if (regexec(&S->name_re[i], c->name, 0, NULL, 0) != 0) return false;
    return true;
}

/* Start sampling a workload fp-run follows (a container or a unit): its
 * process tree read from its cgroup w->cg, t = 0 at now. 0, or -1 with err. */
static int follow_start(wl *w, double now, fp_err *err)
{
    fp_sampler_cfg cfg = {.pid = w->tg.pid, .cg = w->cg, .tree_from_cgroup = true,
                          .perf = !w->C->S->no_perf, .perf_cgroup = true};
    if (!(w->smp = fp_sampler_new(&w->C->roots, &cfg, err))) return -1;
    w->t0 = now;
    fp_sampler_start(w->smp, now);
    return 0;
}

/* Follow the running container ref from now on: its metadata, its cgroup
 * (found from its init process), its sampler started at now (t = 0 is when
 * fp-run attached), the docker actuator for its limits. NULL with err:
 * FP_EINPUT for a container that does not exist or does not run; NULL with
 * err cleared (cls 0) when --filter leaves it out. */
static wl *attach_container(ctx *C, const char *ref, double now, fp_err *err)
{
    const settings *S = C->S;
    fp_container c;
    if (fp_docker_inspect(C->docker, ref, &c, err) < 0) return NULL;
    if (!c.running || c.pid <= 0) {
        fp_err_set(err, FP_EINPUT, "container %s is not running", ref);
        fp_container_clear(&c);
        return NULL;
    }
    if (!filters_pass(S, &c)) {
        fp_container_clear(&c);
        memset(err, 0, sizeof *err);
        return NULL;
    }
    wl *w = wl_new(C);
    if (!w) {
        fp_container_clear(&c);
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    w->container = true;
    w->act = C->act_dk;
    snprintf(w->tg.id, sizeof w->tg.id, "%s", S->id ? S->id : c.name[0] ? c.name : c.id);
    snprintf(w->tg.container, sizeof w->tg.container, "%s", c.id);
    w->tg.pid = c.pid;
    json_object_set_new(w->meta, "container", json_string(c.id));
    json_object_set_new(w->meta, "name", json_string(c.name));
    json_object_set_new(w->meta, "image", json_string(c.image));
    if (c.cmd) json_object_set(w->meta, "cmd", c.cmd);
    if (c.labels) json_object_set(w->meta, "labels", c.labels);
    fp_container_clear(&c);
    w->cg = malloc(sizeof *w->cg);
    if (!w->cg) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto fail;
    }
    if (fp_cgroup_of_pid(&C->roots, C->layout, w->tg.pid, w->cg, err) < 0) goto fail;
    snprintf(w->tg.cgroup, sizeof w->tg.cgroup, "%s", w->cg->rel);
    if (follow_start(w, now, err) < 0) goto fail;
    return w;
fail:
    wl_free(w);
    return NULL;
}

/* Is a unit in this ActiveState still running (or about to)? */
static bool unit_running(const char *active)
{
    return !strcmp(active, "active") || !strcmp(active, "reloading") || !strcmp(active, "activating") ||
           !strcmp(active, "refreshing");
}

/* Follow the running systemd unit S->unit from now on: its cgroup (the
 * unit's ControlGroup), its main process (services), its sampler started
 * at now, and C->act_sd fixed to it, so that every limit goes through the
 * service manager (unit properties, as systemctl set-property --runtime
 * does) and none is undone by a daemon-reload. NULL with err: FP_EINPUT
 * for a unit that is not loaded, not running or has no cgroup. */
static wl *attach_unit(ctx *C, double now, fp_err *err)
{
    const settings *S = C->S;
    fp_unit_info ui;
    if (fp_systemd_unit_info(C->act_sd, &ui, err) < 0) return NULL;
    if (!unit_running(ui.active)) {
        fp_err_set(err, FP_EINPUT, "unit %s is not running (ActiveState %s)", S->unit, ui.active);
        return NULL;
    }
    if (!ui.cgroup[0]) {
        fp_err_set(err, FP_EINPUT, "unit %s has no cgroup", S->unit);
        return NULL;
    }
    wl *w = wl_new(C);
    if (!w) {
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    w->unit = true;
    w->act = C->act_sd;
    snprintf(w->tg.id, sizeof w->tg.id, "%s", S->id ? S->id : S->unit);
    snprintf(w->tg.cgroup, sizeof w->tg.cgroup, "%s", ui.cgroup);
    json_object_set_new(w->meta, "unit", json_string(S->unit));
    json_object_set_new(w->meta, "name", json_string(S->unit));
    w->cg = malloc(sizeof *w->cg);
    if (!w->cg) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto fail;
    }
    if (fp_cgroup_open(C->layout, ui.cgroup, w->cg, err) < 0) goto fail;
    w->tg.pid = ui.main_pid;
    if (w->tg.pid <= 0) {
        int pids[1];
        if (fp_cgroup_pids(w->cg, pids, 1, err) < 1) {
            if (!err->cls) fp_err_set(err, FP_EINPUT, "unit %s has no process in %s", S->unit, ui.cgroup);
            goto fail;
        }
        w->tg.pid = pids[0];
    }
    if (follow_start(w, now, err) < 0) goto fail;
    return w;
fail:
    wl_free(w);
    return NULL;
}

/* The service manager's word on a followed unit: 1 still running, 0 ended
 * (w->exit from its main process when systemd knows it). */
static int unit_state(wl *w)
{
    fp_unit_info ui;
    fp_err err = {0};
    if (fp_systemd_unit_info(w->C->act_sd, &ui, &err) < 0) {
        /* unloaded (garbage-collected) after it stopped */
        w->exit.known = false;
        w->exit_why = "the unit was unloaded before fp-run read its exit status";
        return 0;
    }
    if (unit_running(ui.active) && ui.main_pid > 0) return 1;
    if (unit_running(ui.active) && !ui.exit.known) return 1;
    w->exit = ui.exit;
    if (!ui.exit.known) w->exit_why = "the unit has no main process whose exit systemd records";
    return 0;
}

/* One sample of a followed container. Its end: the cgroup has no process
 * left and the engine says it stopped (its exit code) or no longer knows
 * it. While the engine still reports it running, the empty samples after
 * the first are not counted. Returns true when the container has ended. */
static bool container_step(wl *w, double now)
{
    fp_sample s;
    int procs = fp_sampler_sample(w->smp, now, &s);
    if (procs > 0) {
        w->ending = false;
        feed(w, &s, true);
        return false;
    }
    if (!w->ending) feed(w, &s, false);     /* its last counters */
    w->ending = true;
    if (w->unit) return unit_state(w) == 0;
    fp_err err = {0};
    int r = container_state(w->C, w->tg.container, &w->exit, &err);
    if (r == 1) return false;
    if (r < 0) {
        w->exit.known = false;
        w->exit_why = err.cls == FP_EINPUT
            ? "the container was removed before fp-run read its exit code"
            : "the Docker engine did not say how the container exited";
        fprintf(stderr, "fp-run: %s: %s\n", w->tg.id, err.msg);
    }
    return true;
}

typedef struct fleet {
    wl **w;
    int n, cap;
} fleet;

static int fleet_add(fleet *f, wl *w)
{
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 8;
        wl **p = realloc(f->w, (size_t)cap * sizeof *p);
        if (!p) return -1;
        f->w = p;
        f->cap = cap;
    }
    f->w[f->n++] = w;
    return 0;
}

static bool fleet_has(const fleet *f, const char *id)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->w[i]->tg.container, id) == 0) return true;
    return false;
}

/* Attach to the containers whose start events have arrived. Returns -1
 * (message printed) when the event stream broke. */
static int watch_events(ctx *C, fleet *f)
{
    char ids[64][80];
    fp_err err = {0};
    int n = fp_docker_watch_poll(C->docker, 0, ids, 64, &err);
    if (n < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (fleet_has(f, ids[i])) continue;
        fp_err ae = {0};
        wl *w = attach_container(C, ids[i], mono(), &ae);
        if (!w) {
            if (ae.cls) fprintf(stderr, "fp-run: container %.12s: not followed: %s\n", ids[i], ae.msg);
            continue;
        }
        if (fleet_add(f, w) < 0) {
            fprintf(stderr, "fp-run: container %.12s: not followed: out of memory\n", ids[i]);
            wl_free(w);
        }
    }
    return n;
}

/* Follow the containers (--docker: the one in f; --watch-docker: every
 * one that starts) in one loop: one sample round every --interval, the
 * event stream looked at every 50 ms, signals on the signalfd. INT, TERM
 * and HUP stop it: what each open container has is written, partial.
 * *last_exit gets the exit code of the last container that ended (-1:
 * none known), *stopped whether a signal ended the loop. Returns 0, or -1
 * when a record could not be kept or the event stream broke. */
static int loop_containers(ctx *C, fleet *f, int sfd, int *last_exit, bool *stopped)
{
    const settings *S = C->S;
    const unsigned long long stop_sigs = 1ULL << SIGINT | 1ULL << SIGTERM | 1ULL << SIGHUP;
    double next = mono() + S->interval;
    const char *partial = NULL;
    int rc = 0;
    *last_exit = -1;
    for (;;) {
        double now = mono();
        if (next - now > 0) {
            double until = S->watch_docker && next - now > 0.05 ? now + 0.05 : next;
            unsigned long long user = 0;
            if (wait_signals(sfd, until, &user, f->w, f->n, &C->out) & stop_sigs) {
                partial = "fp-run stopped before the container exited";
                *stopped = true;
                break;
            }
            if (C->out.gone) {
                partial = "the reader of fp-run's records went away before the container exited";
                break;
            }
            if (S->watch_docker && watch_events(C, f) < 0) {
                partial = "the Docker event stream broke before the container exited";
                rc = -1;
                break;
            }
            if (mono() < next) continue;
        }
        now = mono();
        next += S->interval;
        if (next < now) next = now + S->interval;
        for (int i = 0; i < f->n;) {
            wl *w = f->w[i];
            if (!container_step(w, now)) {
                i++;
                continue;
            }
            if (finish(w, NULL) < 0) rc = -1;
            *last_exit = !w->exit.known ? -1 : w->exit.signal ? 128 + w->exit.signal : w->exit.code;
            wl_free(w);
            f->w[i] = f->w[--f->n];
        }
        flush_out(C);
        if (!S->watch_docker && f->n == 0) break;
        if (C->out.gone) {
            partial = "the reader of fp-run's records went away before the container exited";
            break;
        }
    }
    for (int i = 0; i < f->n; i++) {
        if (finish(f->w[i], partial) < 0) rc = -1;
        wl_free(f->w[i]);
    }
    f->n = 0;
    flush_out(C);
    return rc;
}

/* --docker ID or --watch-docker; returns fp-run's exit status: the
 * container's exit code (0 when it is unknown or fp-run was stopped
 * first), 0 for a watch ended by a signal, 2 on errors. */
static int run_containers(ctx *C, int sfd)
{
    const settings *S = C->S;
    fp_err err = {0};
    if (!S->unit && (!(C->docker = fp_docker_new(&C->roots, &err)) ||
                     !(C->act_dk = fp_act_docker_new(&C->roots, &err)))) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return fp_exit_code(&err);
    }
    fleet f = {0};
    if (S->unit) {
        wl *w = NULL;
        if (!(C->act_sd = fp_act_systemd_new(&C->roots, &err)) ||
            fp_act_systemd_unit(C->act_sd, S->unit, &err) < 0 || !(w = attach_unit(C, mono(), &err)) ||
            fleet_add(&f, w) < 0) {
            fprintf(stderr, "fp-run: %s\n", w ? "out of memory" : err.msg);
            wl_free(w);
            free(f.w);
            return w ? FP_EXIT_ERROR : fp_exit_code(&err);
        }
    } else if (S->docker) {
        wl *w = attach_container(C, S->docker, mono(), &err);
        if (!w || fleet_add(&f, w) < 0) {
            fprintf(stderr, "fp-run: %s\n", w ? "out of memory" : err.msg);
            wl_free(w);
            free(f.w);
            return w ? FP_EXIT_ERROR : fp_exit_code(&err);
        }
    } else {
        /* every container keeps its counter files open: allow what the
         * hard limit allows (one that cannot be opened is not followed) */
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
            nofile.rlim_cur = nofile.rlim_max;
            setrlimit(RLIMIT_NOFILE, &nofile);
        }
        if (fp_docker_watch_start(C->docker, &err) < 0) {
            fprintf(stderr, "fp-run: %s\n", err.msg);
            return fp_exit_code(&err);
        }
    }
    int last_exit = -1;
    bool stopped = false;
    int rc = loop_containers(C, &f, sfd, &last_exit, &stopped);
    free(f.w);
    const char *one = S->docker ? S->docker : S->unit;
    if (one && last_exit < 0 && rc == 0 && !stopped)
        fprintf(stderr, "fp-run: %s: exit code unknown: exiting 0\n", one);
    int status = one && last_exit > 0 ? last_exit : 0;
    if (rc < 0 && status == 0) status = FP_EXIT_ERROR;
    return status;
}

/* ---- main -------------------------------------------------------------------- */

/* What every workload shares: policy, model, capacity, cgroup layout.
 * Returns 0, or the exit code (fp_exit_code; message printed) when one
 * cannot be had. */
static int ctx_open(ctx *C)
{
    const settings *S = C->S;
    fp_err err = {0};
    fp_policy_default(&C->pol);
    C->layout = malloc(sizeof *C->layout);
    if (!C->layout) {
        fputs("fp-run: out of memory\n", stderr);
        return FP_EXIT_ERROR;
    }
    if (S->policy && fp_policy_load(&C->pol, S->policy, &err) < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return FP_EXIT_ERROR; /* a policy is configuration: a bad one is a usage error, as in fp-apply */
    }
    int rc = model_open(C, C->model_path);
    if (rc != 0) return rc;
    if (fp_capacity_read(&C->roots, &C->cap, &err) < 0 || fp_cg_layout_read(&C->roots, C->layout, &err) < 0) {
        fprintf(stderr, "fp-run: %s\n", err.msg);
        return fp_exit_code(&err);
    }
    return 0;
}

static void ctx_close(ctx *C)
{
    fp_featmap_free(C->fm);
    fp_model_free(C->m);
    free(C->x);
    fp_act_free(C->act_cg);
    fp_act_free(C->act_dk);
    fp_act_free(C->act_sd);
    fp_docker_free(C->docker);
    free(C->layout);
}

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) {
        settings_free(&S);
        return a > 0 ? 0 : FP_EXIT_ERROR;
    }
    ctx C;
    memset(&C, 0, sizeof C);
    C.S = &S;
    C.out.f = stdout;
    fp_roots_default(&C.roots);
    gethostname(C.host, sizeof C.host - 1);
    signal(SIGPIPE, SIG_IGN);
    if (summary_wanted(&S) && !(C.sum = fp_summary_new())) fputs("fp-run: out of memory: no summary\n", stderr);
    C.model_path = S.model;
    if (!C.model_path) {
        const char *env = getenv("FP_MODEL");
        C.model_path = env && *env ? env : DEFAULT_MODEL;
    }
    int status = FP_EXIT_ERROR;
    if (S.cmd && (S.cmd_stdout_fd = cli_cmd_stdout("fp-run", S.cmd_stdout, true)) < 0) {
        settings_free(&S);
        return FP_EXIT_ERROR;
    }
    if ((status = ctx_open(&C)) == 0) {
        status = FP_EXIT_ERROR;
        sigset_t mask, old;
        sigemptyset(&mask);
        for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++) sigaddset(&mask, fwd_signals[i]);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, &old);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) fprintf(stderr, "fp-run: signalfd: %s\n", strerror(errno));
        else {
            status = S.cmd ? run_command(&C, sfd, &old) : run_containers(&C, sfd);
            close(sfd);
        }
    }
    ctx_close(&C);
    fp_summary_free(C.sum);
    settings_free(&S);
    if (cli_out_close(&C.out, "fp-run", "standard output") < 0 && status == 0) status = FP_EXIT_ERROR;
    return status;
}
