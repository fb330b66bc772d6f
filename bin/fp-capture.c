/* fp-capture - stream samples, fingerprints and actuals of workloads.
 *
 * The main is thin: parse options into a settings struct, set up the
 * targets through libfp, then loop (sample every target, write its records,
 * flush) until the workloads end. Exit codes: the workload's own status when
 * fp-capture started it (128+N when a signal N killed it; 127/126 when it
 * could not be run), else 0; 2 usage or system error; 3 bad input.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "fp.h"

#define MAX_TARGETS 1024
/* Sampling plan: the default --steady-interval, and how long sampling
 * stays at --interval after a change (at least FAST_HOLD_N intervals). */
#define STEADY_DEFAULT_S 5.0
#define CHANGE_SPAN_S 1.0
/* The rates a change is told from, averaged over spans of CHANGE_SPAN_S. */
static const fp_metric span_metric[] = {FP_M_CPU_CORES, FP_M_PSI_CPU_SOME_PCT, FP_M_PSI_MEM_SOME_PCT,
                                        FP_M_PSI_IO_SOME_PCT, FP_M_CPU_THROTTLED_PCT};
#define NSPAN 5
/* A -p target's process tree is looked for new members at most this often
 * (a scan of /proc; a busy host creates processes between most samples). */
#define SCAN_EVERY_S 1.0
#define FAST_HOLD_S 10.0
#define FAST_HOLD_N 10

typedef struct settings {
    double interval, window, refine, duration;
    double steady;              /* --steady-interval (<= interval: never back off) */
    const char *output, *id, *cgroup_parent, *cmd_stdout, *input_from;
    int cmd_stdout_fd;          /* fp_launch_cfg.stdout_fd */
    fp_cg_driver cgroup_driver;
    bool no_samples, summary, no_perf, watch_docker, skip_bad;
    fp_roots roots;
    char **cmd;                 /* argv after "--" */
    int npid, ncgroup, ndocker, nreplay;
    int pids[MAX_TARGETS];
    const char *cgroups[MAX_TARGETS], *dockers[MAX_TARGETS], *replays[MAX_TARGETS];
    json_t *labels;             /* --label KEY=VALUE */
    json_t *meta;               /* --meta KEY=VALUE */
} settings;

typedef struct target {
    fp_target tg;
    fp_sampler *smp;
    fp_window *win;
    fp_cgroup *cg;              /* heap; NULL when none */
    json_t *meta;
    double start, next_fp;
    double next_due;            /* monotonic time of its next sample */
    double step;                /* seconds planned between its last sample and the next */
    double fast_until;          /* t until which it is sampled at --interval */
    double base_mem;            /* steady level (moving average) a change is told from */
    double span_t0, span_dt, span_sum[5], base_span[5]; /* spans of rates and their steady levels (see changed) */
    bool have_span;
    double last_procs, last_oom;
    bool have_base;
    bool ended, fp_sent, launched;
    fp_launch launch;           /* the command fp-capture started (launched) */
    fp_sample_writer *sw;       /* its sample records, reused */
    fp_exit exit;
    const char *label;          /* what --summary calls it */
} target;

typedef struct run {
    settings *st;
    cli_out out;
    target *t[MAX_TARGETS];
    int nt;
    char host[256];
    fp_cg_layout *layout;
    fp_docker *docker;
    fp_proc_scan *scan;         /* one /proc snapshot per round for -p targets */
    double scan_at;             /* monotonic time of its last refresh */
} run;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fputs("usage: fp-capture [options] -- CMD [ARGS...]\n"
          "       fp-capture [options] -p PID | --cgroup PATH | --docker ID|NAME | --watch-docker\n"
          "       fp-capture [options] --replay FILE\n"
          "Capture a workload's samples, fingerprint and actual as JSON lines (see fp-records(5)).\n\n"
          "  -i, --interval SEC      time between samples (default 0.1, at least 0.01)\n"
          "  -w, --window SEC        fingerprint after SEC seconds (default 10)\n"
          "      --refine SEC        emit the fingerprint again every SEC seconds after that\n"
          "      --steady-interval SEC  after the window, sample every SEC seconds while\n"
          "                          nothing changes (default 5; --interval or less: never\n"
          "                          back off); back to --interval for 10 s after a change\n"
          "  -d, --duration SEC      stop after SEC seconds (attach and watch modes)\n"
          "  -o, --output FILE       write records to FILE instead of standard output (-: stdout)\n"
          "      --cmd-stdout FILE   the command's standard output goes to FILE (-: standard\n"
          "                          output, shared with the records); default: standard\n"
          "                          error while the records are on standard output\n"
          "      --no-samples        write only fingerprint and actual records\n"
          "  -s, --summary           print a human summary on standard error at the end\n"
          "      --id ID             workload id (default: command name, time and pid)\n"
          "  -l, --label KEY=VALUE   metadata label for the fingerprint (repeatable)\n"
          "      --cgroup-parent PATH  create the workload's cgroup under PATH\n"
          "      --cgroup-driver D   systemd, cgroupfs or auto (see fp-run(1))\n"
          "      --no-perf           do not open performance counters\n"
          "  -p, --pid PID           attach to PID and its descendants (repeatable)\n"
          "      --cgroup PATH       attach to an existing cgroup (repeatable)\n"
          "      --docker ID|NAME    attach to a running container (repeatable)\n"
          "      --watch-docker      fingerprint every container that starts\n"
          "      --replay FILE       turn a recorded trace into records (repeatable)\n"
          "      --skip-bad          skip malformed lines of a trace (counted on stderr)\n"
          "      --input-from COL    task traces: meta.input_bytes from column COL (e.g. rchar,\n"
          "                          known only after the task ran: for comparisons, not for\n"
          "                          deployment)\n"
          "      --meta KEY=VALUE    metadata for the fingerprint: a number or a string\n"
          "                          (e.g. input_bytes=123, req_mem_bytes=4e9; repeatable)\n"
          "      --proc-root DIR, --cgroup-root DIR, --docker-socket PATH\n"
          "                          read the system from elsewhere (tests, containers)\n"
          "  -h, --help              this help;  -V, --version  the version\n",
          f);
}

static int parse_seconds(const char *opt, const char *s, double min, double *out)
{
    return cli_seconds("fp-capture", opt, s, min, INFINITY, out);
}

static int parse_args(int argc, char **argv, settings *st)
{
    enum { O_STEADY = 200, O_REFINE = 256, O_NOSAMPLES, O_ID, O_CGPARENT, O_NOPERF, O_CGROUP, O_DOCKER,
           O_WATCH, O_REPLAY, O_SKIPBAD, O_PROCROOT, O_CGROOT, O_DOCKSOCK, O_CGDRIVER, O_CMDSTDOUT, O_META, O_INPUTFROM};
    static const struct option opts[] = {
        {"interval", required_argument, 0, 'i'}, {"window", required_argument, 0, 'w'},
        {"refine", required_argument, 0, O_REFINE}, {"steady-interval", required_argument, 0, O_STEADY}, {"duration", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'}, {"no-samples", no_argument, 0, O_NOSAMPLES},
        {"summary", no_argument, 0, 's'}, {"id", required_argument, 0, O_ID},
        {"label", required_argument, 0, 'l'}, {"cgroup-parent", required_argument, 0, O_CGPARENT},
        {"cgroup-driver", required_argument, 0, O_CGDRIVER}, {"cmd-stdout", required_argument, 0, O_CMDSTDOUT},
        {"no-perf", no_argument, 0, O_NOPERF}, {"pid", required_argument, 0, 'p'},
        {"cgroup", required_argument, 0, O_CGROUP}, {"docker", required_argument, 0, O_DOCKER},
        {"watch-docker", no_argument, 0, O_WATCH}, {"replay", required_argument, 0, O_REPLAY},
        {"meta", required_argument, 0, O_META}, {"skip-bad", no_argument, 0, O_SKIPBAD}, {"input-from", required_argument, 0, O_INPUTFROM}, {"proc-root", required_argument, 0, O_PROCROOT},
        {"cgroup-root", required_argument, 0, O_CGROOT}, {"docker-socket", required_argument, 0, O_DOCKSOCK},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    st->interval = 0.1;
    st->window = 10;
    st->steady = STEADY_DEFAULT_S;
    fp_roots_default(&st->roots);
    st->labels = json_object();
    st->meta = json_object();
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "+i:w:d:o:sl:m:p:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'i': if (parse_seconds("--interval", optarg, 0.01, &st->interval) < 0) return -1; break;
        case 'w': if (parse_seconds("--window", optarg, 0, &st->window) < 0) return -1; break;
        case O_STEADY: if (parse_seconds("--steady-interval", optarg, 0.01, &st->steady) < 0) return -1; break;
        case O_REFINE: if (parse_seconds("--refine", optarg, 0.01, &st->refine) < 0) return -1; break;
        case 'd': if (parse_seconds("--duration", optarg, 0.01, &st->duration) < 0) return -1; break;
        case 'o': st->output = optarg; break;
        case O_NOSAMPLES: st->no_samples = true; break;
        case 's': st->summary = true; break;
        case O_ID:
            if (!*optarg || strlen(optarg) >= sizeof ((fp_target *)0)->id) {
                fprintf(stderr, "fp-capture: --id: must be 1 to %zu characters\n", sizeof ((fp_target *)0)->id - 1);
                return -1;
            }
            st->id = optarg;
            break;
        case 'l': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "fp-capture: --label: '%s' is not KEY=VALUE\n", optarg);
                return -1;
            }
            *eq = 0;
            json_object_set_new(st->labels, optarg, json_string(eq + 1));
            *eq = '=';
            break;
        }
        case O_CGPARENT: st->cgroup_parent = optarg; break;
        case O_CMDSTDOUT: st->cmd_stdout = optarg; break;
        case O_CGDRIVER:
            if (fp_cg_driver_parse(optarg, &st->cgroup_driver) < 0) {
                fprintf(stderr, "fp-capture: --cgroup-driver: '%s' is not systemd, cgroupfs or auto\n", optarg);
                return -1;
            }
            break;
        case O_NOPERF: st->no_perf = true; break;
        case 'p': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v <= 0 || v > INT_MAX) {
                fprintf(stderr, "fp-capture: --pid: '%s' is not a process id\n", optarg);
                return -1;
            }
            if (st->npid == MAX_TARGETS) { fprintf(stderr, "fp-capture: too many targets\n"); return -1; }
            st->pids[st->npid++] = (int)v;
            break;
        }
        case O_CGROUP:
            if (st->ncgroup == MAX_TARGETS) { fprintf(stderr, "fp-capture: too many targets\n"); return -1; }
            st->cgroups[st->ncgroup++] = optarg;
            break;
        case O_DOCKER:
            if (st->ndocker == MAX_TARGETS) { fprintf(stderr, "fp-capture: too many targets\n"); return -1; }
            st->dockers[st->ndocker++] = optarg;
            break;
        case O_WATCH: st->watch_docker = true; break;
        case O_REPLAY:
            if (st->nreplay == MAX_TARGETS) { fprintf(stderr, "fp-capture: too many traces\n"); return -1; }
            st->replays[st->nreplay++] = optarg;
            break;
        case O_SKIPBAD: st->skip_bad = true; break;
        case O_INPUTFROM: st->input_from = optarg; break;
        case 'm':
            /* -m is --model in fp-predict, fp-run and fp-profile (fp(7), OPTION LETTERS) */
            fputs("fp-capture: warning: -m is deprecated: use --meta (-m means --model in the "
                  "other fp tools)\n", stderr);
            /* fall through */
        case O_META: {
            fp_err merr = {0};
            if (fp_meta_set(st->meta, optarg, &merr) < 0) {
                fprintf(stderr, "fp-capture: %s\n", merr.msg);
                return -1;
            }
            break;
        }
        case O_PROCROOT: snprintf(st->roots.proc, FP_PATH_MAX, "%s", optarg); break;
        case O_CGROOT: snprintf(st->roots.cgroup, FP_PATH_MAX, "%s", optarg); break;
        case O_DOCKSOCK: snprintf(st->roots.docker_sock, FP_PATH_MAX, "%s", optarg); break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("fp-capture (fp) %s\n", PACKAGE_VERSION); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) st->cmd = argv + optind;
    int modes = (st->cmd != NULL) + (st->npid + st->ncgroup + st->ndocker > 0 || st->watch_docker) +
                (st->nreplay > 0);
    if (modes != 1) {
        fprintf(stderr, modes ? "fp-capture: give a command, attach targets or --replay, not several\n"
                              : "fp-capture: nothing to capture: give -- CMD, -p, --cgroup, --docker, --watch-docker or --replay\n");
        usage(stderr);
        return -1;
    }
    if (st->cmd && st->duration > 0) {
        fprintf(stderr, "fp-capture: --duration applies to attach modes; a command runs until it exits\n");
        return -1;
    }
    if (st->nreplay && st->duration > 0) {
        fprintf(stderr, "fp-capture: --duration does not apply to --replay (a trace ends where it ends)\n");
        return -1;
    }
    if (st->input_from && !st->nreplay) {
        fprintf(stderr, "fp-capture: --input-from applies to --replay of a task trace\n");
        return -1;
    }
    if (st->skip_bad && !st->nreplay) {
        fprintf(stderr, "fp-capture: --skip-bad applies to --replay\n");
        return -1;
    }
    if (st->cgroup_parent && st->cgroup_driver == FP_CGD_SYSTEMD) {
        fprintf(stderr, "fp-capture: --cgroup-parent and --cgroup-driver systemd exclude each other\n");
        return -1;
    }
    if (st->cgroup_driver != FP_CGD_AUTO && !st->cmd) {
        fprintf(stderr, "fp-capture: --cgroup-driver applies to a command fp-capture starts\n");
        return -1;
    }
    if (st->cmd_stdout && !st->cmd) {
        fprintf(stderr, "fp-capture: --cmd-stdout applies to a command fp-capture starts\n");
        return -1;
    }
    if (st->cgroup_parent && !st->cmd) {
        fprintf(stderr, "fp-capture: --cgroup-parent applies to a command fp-capture starts\n");
        return -1;
    }
    if (st->id && st->watch_docker) {
        fprintf(stderr, "fp-capture: --id names one workload; --watch-docker follows many\n");
        return -1;
    }
    if (st->id && st->npid + st->ncgroup + st->ndocker + st->nreplay + (st->cmd ? 1 : 0) > 1) {
        fprintf(stderr, "fp-capture: --id names one workload; several were given\n");
        return -1;
    }
    return 0;
}

/* Open files a capture needs: about 24 counter files per target, plus
 * perf events (11 per target with inherit; 11 per CPU per cgroup target). */
static long files_needed(const settings *st, long cgroup_targets, long pid_targets)
{
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    long perf_cg = st->no_perf ? 0 : 11 * (ncpus > 0 ? ncpus : 1), perf_pid = st->no_perf ? 0 : 11;
    return 64 + cgroup_targets * (24 + perf_cg) + pid_targets * (24 + perf_pid);
}

/* ---- output ---------------------------------------------------------------- */

/* Write a record and drop our reference. After the first failure (a closed
 * pipe, a full disk) nothing more is written, but the workload is still
 * supervised to its end. */
static void emit_borrowed(run *R, const json_t *rec) { cli_emit_borrowed(&R->out, rec); }
static void emit(run *R, json_t *rec) { cli_emit(&R->out, rec); }
static void flush_out(run *R) { cli_flush(&R->out); }

/* ---- summary --------------------------------------------------------------- */


static void summary(const run *R, const target *t)
{
    const fp_window *w = t->win;
    double dur = fp_window_last_t(w);
    char b1[64], b2[64], b3[64];
    fprintf(stderr, "\n fp-capture summary: %s\n", t->label);
    fprintf(stderr, "   %-22s %s\n", "id", t->tg.id);
    if (t->tg.cgroup[0]) fprintf(stderr, "   %-22s %s\n", "cgroup", t->tg.cgroup);
    if (t->exit.known) {
        if (t->exit.signal) fprintf(stderr, "   %-22s %.2f s, killed by signal %d\n", "elapsed", dur, t->exit.signal);
        else fprintf(stderr, "   %-22s %.2f s, exit status %d\n", "elapsed", dur, t->exit.code);
    } else {
        fprintf(stderr, "   %-22s %.2f s\n", "elapsed", dur);
    }
    const fp_series *s;
#define HAS(m) (fp_window_series(w, m)->n > 0)
    if (HAS(FP_M_CPU_CORES)) {
        s = fp_window_series(w, FP_M_CPU_CORES);
        fprintf(stderr, "   %-22s %.2f cores mean, %.2f peak, %.2f s total", "cpu", s->mean, s->max,
                fp_window_integral(w, FP_M_CPU_CORES));
        if (HAS(FP_M_CPU_USER_CORES))
            fprintf(stderr, " (user %.2f s, system %.2f s)", fp_window_integral(w, FP_M_CPU_USER_CORES),
                    fp_window_integral(w, FP_M_CPU_SYS_CORES));
        fputc('\n', stderr);
    }
    if (HAS(FP_M_MEM_BYTES)) {
        s = fp_window_series(w, FP_M_MEM_BYTES);
        fprintf(stderr, "   %-22s %s peak, %s mean", "memory", fp_fmt_bytes(s->max, b1, sizeof b1),
                fp_fmt_bytes(s->mean, b2, sizeof b2));
        if (HAS(FP_M_MEM_PEAK_BYTES))
            fprintf(stderr, ", cgroup high-water %s", fp_fmt_bytes(fp_window_series(w, FP_M_MEM_PEAK_BYTES)->max, b3, sizeof b3));
        fputc('\n', stderr);
    }
    if (HAS(FP_M_MEM_RSS_BYTES))
        fprintf(stderr, "   %-22s %s peak\n", "resident set (tree)", fp_fmt_bytes(fp_window_series(w, FP_M_MEM_RSS_BYTES)->max, b1, sizeof b1));
    if (HAS(FP_M_MINFLT_PS))
        fprintf(stderr, "   %-22s %.0f minor, %.0f major\n", "page faults", fp_window_integral(w, FP_M_MINFLT_PS),
                fp_window_integral(w, FP_M_MAJFLT_PS));
    if (HAS(FP_M_CTXSW_PS))
        fprintf(stderr, "   %-22s %.0f\n", "context switches", fp_window_integral(w, FP_M_CTXSW_PS));
    if (HAS(FP_M_IO_READ_BPS))
        fprintf(stderr, "   %-22s read %s, written %s\n", "block I/O", fp_fmt_bytes(fp_window_integral(w, FP_M_IO_READ_BPS), b1, sizeof b1),
                fp_fmt_bytes(fp_window_integral(w, FP_M_IO_WRITE_BPS), b2, sizeof b2));
    if (HAS(FP_M_RCHAR_BPS))
        fprintf(stderr, "   %-22s read %s in %.0f calls, written %s in %.0f calls\n", "syscall I/O",
                fp_fmt_bytes(fp_window_integral(w, FP_M_RCHAR_BPS), b1, sizeof b1), fp_window_integral(w, FP_M_SYSCR_PS),
                fp_fmt_bytes(fp_window_integral(w, FP_M_WCHAR_BPS), b2, sizeof b2), fp_window_integral(w, FP_M_SYSCW_PS));
    if (HAS(FP_M_NET_RX_BPS))
        fprintf(stderr, "   %-22s received %s, sent %s\n", "network", fp_fmt_bytes(fp_window_integral(w, FP_M_NET_RX_BPS), b1, sizeof b1),
                fp_fmt_bytes(fp_window_integral(w, FP_M_NET_TX_BPS), b2, sizeof b2));
    if (HAS(FP_M_PSI_CPU_SOME_PCT))
        fprintf(stderr, "   %-22s cpu %.1f%%, memory %.1f%%, io %.1f%% of the time (some, mean)\n", "pressure stalls",
                fp_window_series(w, FP_M_PSI_CPU_SOME_PCT)->mean, fp_window_series(w, FP_M_PSI_MEM_SOME_PCT)->mean,
                fp_window_series(w, FP_M_PSI_IO_SOME_PCT)->mean);
    if (HAS(FP_M_THREADS))
        fprintf(stderr, "   %-22s %.0f threads, %.0f processes (peak)\n", "tasks", fp_window_series(w, FP_M_THREADS)->max,
                fp_window_series(w, FP_M_PROCS)->max);
    if (HAS(FP_M_TASK_CLOCK_CORES))
        fprintf(stderr, "   %-22s task-clock %.2f s, %.0f context-switches, %.0f page-faults, %.0f cpu-migrations\n",
                "software counters", fp_window_integral(w, FP_M_TASK_CLOCK_CORES), fp_window_integral(w, FP_M_SW_CTXSW_PS),
                fp_window_integral(w, FP_M_SW_FAULTS_PS), fp_window_integral(w, FP_M_SW_MIGRATIONS_PS));
    if (HAS(FP_M_INSTRUCTIONS_PS)) {
        double ins = fp_window_integral(w, FP_M_INSTRUCTIONS_PS), cyc = fp_window_integral(w, FP_M_CYCLES_PS);
        fprintf(stderr, "   %-22s %.0f instructions, %.0f cycles", "hardware counters", ins, cyc);
        if (cyc > 0) fprintf(stderr, ", %.2f insn per cycle", ins / cyc);
        fputc('\n', stderr);
    }
    /* What could not be measured, grouped by reason. */
    bool done[FP_M_COUNT] = {0};
    for (int m = 0; m < FP_M_COUNT; m++) {
        if (HAS(m) || done[m]) continue;
        const char *why = fp_window_why(w, m);
        fprintf(stderr, "   %-22s", "not measured");
        for (int k = m; k < FP_M_COUNT; k++)
            if (!HAS(k) && !done[k] && strcmp(fp_window_why(w, k), why) == 0) {
                fprintf(stderr, " %s", fp_metric_name(k));
                done[k] = true;
            }
        fprintf(stderr, ": %s\n", why);
    }
#undef HAS
    if (R->st->nreplay) fprintf(stderr, "   %-22s %ld\n", "samples", fp_window_samples(w));
    else if (R->st->steady > 1.5 * R->st->interval)
        fprintf(stderr, "   %-22s %ld every %.3f s (%.3f s while steady)\n", "samples", fp_window_samples(w),
                R->st->interval, R->st->interval * floor(R->st->steady / R->st->interval + 0.5));
    else fprintf(stderr, "   %-22s %ld every %.3f s\n", "samples", fp_window_samples(w), R->st->interval);
}

/* ---- targets --------------------------------------------------------------- */

static void target_free(target *t)
{
    if (!t) return;
    fp_sampler_free(t->smp);
    fp_window_free(t->win);
    fp_sample_writer_free(t->sw);
    fp_err e = {0};
    if (t->launched && fp_launch_cleanup(&t->launch, &e) < 0) fprintf(stderr, "fp-capture: warning: %s\n", e.msg);
    free(t->cg);
    json_decref(t->meta);
    free(t);
}

static target *target_new(run *R, const char *id, const char *label)
{
    target *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->win = fp_window_new();
    t->sw = fp_sample_writer_new();
    if (!t->win || !t->sw) {
        fp_window_free(t->win);
        fp_sample_writer_free(t->sw);
        free(t);
        return NULL;
    }
    snprintf(t->tg.id, sizeof t->tg.id, "%s", id);
    snprintf(t->tg.host, sizeof t->tg.host, "%s", R->host);
    t->meta = json_object();
    if (json_object_size(R->st->labels)) json_object_set(t->meta, "labels", R->st->labels);
    json_object_update(t->meta, R->st->meta);
    t->label = label;
    t->next_fp = R->st->window;
    return t;
}

static void default_id(char *buf, size_t n, const char *what, int pid)
{
    const char *base = strrchr(what, '/');
    base = base ? base + 1 : what;
    snprintf(buf, n, "%.60s-%ld-%d", base, (long)time(NULL), pid);
}

/* Emit the records due at sample s for target t. */
static void feed(run *R, target *t, const fp_sample *s)
{
    if (!R->st->no_samples) emit_borrowed(R, fp_sample_writer_json(t->sw, s, &t->tg));
    fp_window_add(t->win, s);
    if (s->t + 1e-9 >= t->next_fp) {
        emit(R, fp_fingerprint(t->win, &t->tg, t->meta, s->t));
        t->fp_sent = true;
        t->next_fp = R->st->refine > 0 ? t->next_fp + R->st->refine : INFINITY;
    }
}

/* Close a target: a fingerprint if the window was never reached (a short
 * workload still gets one), then the actual. */
static void finish(run *R, target *t, const json_t *outcome)
{
    if (t->ended) return;
    t->ended = true;
    double end = fp_window_last_t(t->win);
    if (!t->fp_sent) emit(R, fp_fingerprint(t->win, &t->tg, t->meta, end));
    emit(R, fp_actual(t->win, &t->tg, &t->exit, t->meta, outcome, end));
    if (R->st->summary) summary(R, t);
}

static int add_target(run *R, target *t)
{
    if (R->nt == MAX_TARGETS) { target_free(t); return -1; }
    R->t[R->nt++] = t;
    return 0;
}

static json_t *cmd_json(char **argv, int argc)
{
    json_t *a = json_array();
    for (int i = 0; i < argc; i++) json_array_append_new(a, json_string(argv[i]));
    return a;
}

static int attach_pid(run *R, int pid, fp_err *err)
{
    char path[FP_PATH_MAX];
    fp_path(path, sizeof path, "%s/%d", R->st->roots.proc, pid);
    if (access(path, F_OK) != 0) return fp_err_set(err, FP_EINPUT, "no process %d", pid);
    char buf[8192], *argv[256], id[160];
    int argc = fp_proc_cmdline(&R->st->roots, pid, buf, sizeof buf, argv, 256);
    default_id(id, sizeof id, argc > 0 ? argv[0] : "pid", pid);
    target *t = target_new(R, R->st->id ? R->st->id : id, "attached process");
    if (!t) return fp_err_set(err, FP_ESYS, "out of memory");
    t->tg.pid = pid;
    if (argc > 0) json_object_set_new(t->meta, "cmd", cmd_json(argv, argc));
    if (!R->scan && !(R->scan = fp_proc_scan_new(&R->st->roots))) {
        target_free(t);
        return fp_err_set(err, FP_ESYS, "out of memory");
    }
    fp_sampler_cfg cfg = {.pid = pid, .why_no_cgroup = "attached by pid: use --cgroup for cgroup metrics",
                          .perf = !R->st->no_perf, .scan = R->scan};
    t->smp = fp_sampler_new(&R->st->roots, &cfg, err);
    if (!t->smp) { target_free(t); return -1; }
    return add_target(R, t);
}

static int attach_cgroup(run *R, const char *rel, int pid_hint, target *t, fp_err *err)
{
    t->cg = malloc(sizeof *t->cg);
    if (!t->cg) return fp_err_set(err, FP_ESYS, "out of memory");
    int rc = pid_hint > 0 ? fp_cgroup_of_pid(&R->st->roots, R->layout, pid_hint, t->cg, err)
                          : fp_cgroup_open(R->layout, rel, t->cg, err);
    if (rc < 0) return -1;
    snprintf(t->tg.cgroup, sizeof t->tg.cgroup, "%s", t->cg->rel);
    fp_sampler_cfg cfg = {.pid = pid_hint, .cg = t->cg, .tree_from_cgroup = true,
                          .perf = !R->st->no_perf, .perf_cgroup = true};
    t->smp = fp_sampler_new(&R->st->roots, &cfg, err);
    return t->smp ? 0 : -1;
}

static int attach_cgroup_path(run *R, const char *rel, fp_err *err)
{
    char id[160];
    default_id(id, sizeof id, rel, getpid());
    target *t = target_new(R, R->st->id ? R->st->id : id, "attached cgroup");
    if (!t) return fp_err_set(err, FP_ESYS, "out of memory");
    json_object_set_new(t->meta, "cgroup", json_string(rel));
    if (attach_cgroup(R, rel, 0, t, err) < 0) { target_free(t); return -1; }
    return add_target(R, t);
}

static int attach_docker(run *R, const char *ref, fp_err *err)
{
    if (!fp_docker_valid_ref(ref))
        return fp_err_set(err, FP_EINPUT, "'%s' is not a valid container id or name", ref);
    if (!R->docker && !(R->docker = fp_docker_new(&R->st->roots, err))) return -1;
    fp_container c;
    if (fp_docker_inspect(R->docker, ref, &c, err) < 0) return -1;
    if (!c.running || c.pid <= 0) {
        fp_err_set(err, FP_EINPUT, "container %s is not running", ref);
        fp_container_clear(&c);
        return -1;
    }
    char id[160];
    snprintf(id, sizeof id, "%s", R->st->id ? R->st->id : c.name[0] ? c.name : c.id);
    target *t = target_new(R, id, "container");
    if (!t) { fp_container_clear(&c); return fp_err_set(err, FP_ESYS, "out of memory"); }
    snprintf(t->tg.container, sizeof t->tg.container, "%s", c.id);
    t->tg.pid = c.pid;
    json_object_set_new(t->meta, "container", json_string(c.id));
    json_object_set_new(t->meta, "name", json_string(c.name));
    json_object_set_new(t->meta, "image", json_string(c.image));
    if (c.cmd) json_object_set(t->meta, "cmd", c.cmd);
    json_t *labels = json_deep_copy(c.labels ? c.labels : json_object_get(t->meta, "labels"));
    if (labels) {
        json_object_update(labels, R->st->labels);
        json_object_set_new(t->meta, "labels", labels);
    }
    fp_container_clear(&c);
    if (attach_cgroup(R, NULL, t->tg.pid, t, err) < 0) { target_free(t); return -1; }
    t->start = mono();
    fp_sampler_start(t->smp, t->start);
    return add_target(R, t);
}

/* ---- the command mode ------------------------------------------------------ */

static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* Start the command as a workload (fp/launch.h): its cgroup, then its
 * sampler (whose counters must see the first instruction), then let it
 * run. Returns the target, or NULL with err set; *exec_status is 126/127
 * when the command could not be run. */
static target *launch(run *R, const sigset_t *oldmask, fp_err *err, int *exec_status)
{
    settings *st = R->st;
    char id[160], name[64];
    default_id(id, sizeof id, st->cmd[0], getpid());
    target *t = target_new(R, st->id ? st->id : id, st->cmd[0]);
    if (!t) { fp_err_set(err, FP_ESYS, "out of memory"); return NULL; }
    int argc = 0;
    while (st->cmd[argc]) argc++;
    json_object_set_new(t->meta, "cmd", cmd_json(st->cmd, argc));
    snprintf(name, sizeof name, "fp-%d", (int)getpid());
    fp_launch_cfg cfg = {.argv = st->cmd, .cgroup_parent = st->cgroup_parent, .cgroup_name = name,
                         .child_mask = oldmask, .driver = st->cgroup_driver,
                         .scope_prefix = "fp-capture", .sweep_prefix = "fp-",
                         .stdout_fd = st->cmd_stdout_fd};
    int prc = fp_launch_prepare(&st->roots, R->layout, &cfg, &t->launch, err);
    if (t->launch.swept)
        fprintf(stderr, "fp-capture: note: removed %d empty cgroup%s left behind by fp processes "
                "that are gone (%s%s)\n", t->launch.swept, t->launch.swept == 1 ? "" : "s",
                t->launch.swept_first, t->launch.swept > 1 ? ", ..." : "");
    if (prc < 0) {
        target_free(t);
        return NULL;
    }
    t->launched = true;
    t->tg.pid = t->launch.pid;
    if (t->launch.cg) snprintf(t->tg.cgroup, sizeof t->tg.cgroup, "%s", t->launch.cg->rel);
    else if (t->launch.cgroup_err.cls == FP_EINPUT) /* cgroup v2 refused: say why */
        fprintf(stderr, "fp-capture: warning: no cgroup for the workload: %s; its metrics come "
                "from its process tree\n", t->launch.cgroup_err.msg);
    fp_sampler_cfg scfg = {.pid = t->launch.pid, .cg = t->launch.cg, .why_no_cgroup = t->launch.why_no_cgroup,
                           .tree_from_cgroup = t->launch.cg != NULL, .perf = !st->no_perf};
    t->smp = fp_sampler_new(&st->roots, &scfg, err);
    if (!t->smp) {
        fp_launch_abort(&t->launch);
        target_free(t);
        return NULL;
    }
    t->start = mono();
    fp_sampler_start(t->smp, t->start);
    if (fp_launch_release(&t->launch, exec_status, err) < 0) {
        target_free(t);
        return NULL;
    }
    return t;
}

/* ---- the loop -------------------------------------------------------------- */

/* Did sample s show a change that calls for dense sampling again: a
 * process started or ended, an OOM kill, pressure or throttling (5 % or
 * more), or CPU or memory away from its steady level (by 25 % and 0.1
 * cores, by 10 % and 32 MiB)? Updates the steady levels. */
static bool changed(target *t, const fp_sample *s)
{
    bool ch = false;
#define V(m) (fp_sample_has(s, m) ? s->v[m] : NAN)
    double procs = V(FP_M_PROCS), oom = V(FP_M_OOM_KILLS), mem = V(FP_M_MEM_BYTES);
    if (t->have_base) {
        ch |= isfinite(procs) && procs != t->last_procs;
        ch |= isfinite(oom) && oom > t->last_oom;
        ch |= isfinite(mem) && fabs(mem - t->base_mem) > fmax(32.0 * 1048576, 0.1 * t->base_mem);
    }
    if (isfinite(procs)) t->last_procs = procs;
    if (isfinite(oom)) t->last_oom = oom;
    if (isfinite(mem) && (!t->have_base || ch)) t->base_mem = mem;
    else if (isfinite(mem)) t->base_mem += 0.2 * (mem - t->base_mem);
    /* Rates are judged over spans of at least CHANGE_SPAN_S: a workload
     * that alternates work and sleep within a second is steady at its
     * mean, not changing at every sample. */
    double dt = s->t - t->span_t0;
    for (int k = 0; k < NSPAN; k++) {
        double v = V(span_metric[k]);
        if (isfinite(v)) t->span_sum[k] += v * (dt - t->span_dt);
    }
    t->span_dt = dt;
    if (dt >= CHANGE_SPAN_S) {
        double m[NSPAN];
        for (int k = 0; k < NSPAN; k++) m[k] = t->span_sum[k] / dt;
        /* a pressure event: stalls (waiting for CPU, memory or I/O) or
         * throttling up by 10 points of time (CPU waits) or 5 (the rest)
         * over their steady level; a loaded host's steady CPU wait is not
         * one */
        static const double rise[NSPAN] = {0, 10, 5, 5, 5};
        if (t->have_span)
            for (int k = 1; k < NSPAN; k++) ch |= m[k] > t->base_span[k] + rise[k];
        double cpu = m[0];
        if (t->have_span) ch |= fabs(cpu - t->base_span[0]) > fmax(0.1, 0.25 * t->base_span[0]);
        for (int k = 0; k < NSPAN; k++) {
            if (!isfinite(m[k])) continue;
            if (!t->have_span || ch) t->base_span[k] = m[k];
            else t->base_span[k] += 0.3 * (m[k] - t->base_span[k]);
        }
        t->have_span = true;
        t->span_t0 = s->t;
        t->span_dt = 0;
        memset(t->span_sum, 0, sizeof t->span_sum);
    }
    t->have_base = true;
#undef V
    return ch;
}

/* The time of t's next sample after one at now (t seconds into the
 * workload): --interval until its fingerprint is out and while a change
 * is recent, else the steady interval, kept on the --interval grid. */
static void plan_next(run *R, target *t, const fp_sample *s, double now)
{
    const settings *st = R->st;
    if (changed(t, s)) t->fast_until = s->t + fmax(FAST_HOLD_S, FAST_HOLD_N * st->interval);
    double step = st->interval;
    if (st->steady > st->interval * 1.5 && t->fp_sent && s->t >= t->fast_until)
        step = st->interval * floor(st->steady / st->interval + 0.5);
    /* --refine's fingerprints come at their times, whatever the plan */
    if (st->refine > 0) step = fmin(step, st->interval * fmax(1, floor(st->refine / st->interval + 0.5)));
    t->step = step;
    t->next_due += step;
    if (t->next_due < now) t->next_due = now + step;
}

/* Sample every live target that is due (all of them when last: the end
 * of --duration) and emit what is due. */
static void tick(run *R, double now, bool last)
{
    bool due = last;
    for (int i = 0; i < R->nt && !due; i++) due = !R->t[i]->ended && now + 1e-3 >= R->t[i]->next_due;
    if (R->scan && due && now - R->scan_at >= SCAN_EVERY_S - 1e-3) {
        fp_proc_scan_refresh(R->scan, NULL);
        R->scan_at = now;
    }
    for (int i = 0; i < R->nt; i++) {
        target *t = R->t[i];
        if (t->ended || (!last && now + 1e-3 < t->next_due)) continue;
        fp_sample s;
        int procs = fp_sampler_sample(t->smp, now, &s);
        /* A sample after a backed-off span stands for the grid points of
         * that span (fp_window_add resamples it; the record says so). */
        if (t->step > 1.5 * R->st->interval) s.grid_s = R->st->interval;
        feed(R, t, &s);
        plan_next(R, t, &s, now);
        /* An attached workload ends when its processes are gone; the one
         * fp-capture started ends when it is reaped (see loop). */
        if (procs == 0 && !t->launched) finish(R, t, NULL);
    }
    flush_out(R);
}

static int live_targets(const run *R)
{
    int n = 0;
    for (int i = 0; i < R->nt; i++) n += !R->t[i]->ended;
    return n;
}

/* Send sig to every process of the launched workload. */
static void signal_workload(target *ct, int sig)
{
    int pids[1024], n = 0;
    fp_err e = {0};
    if (ct->launch.cg) n = fp_cgroup_pids(ct->launch.cg, pids, 1024, &e);
    for (int i = 0; i < n; i++) kill(pids[i], sig);
    kill(ct->launch.pid, sig);
}

/* Seconds a launched workload has between SIGTERM and SIGKILL once the
 * reader of the records has gone. */
#define GONE_GRACE_S 5.0

/* Main loop for live targets: sleep until the next tick on a signalfd, so
 * signals are handled between samples. child > 0 is the launched workload.
 * When the reader of the records goes away (a write fails with EPIPE, or
 * the pipe reports it between samples), attach and watch modes stop at
 * once, and a launched workload is sent SIGTERM (SIGKILL GONE_GRACE_S
 * later), as a pipeline's writer is ended by SIGPIPE. Returns the exit
 * status for main. */
static int loop(run *R, int sfd, pid_t child, target *ct)
{
    settings *st = R->st;
    double t0 = mono(), next = t0 + st->interval, gone_at = 0;
    bool stop = false, killed = false;
    int status_out = 0;
    int out_fd = cli_watch_fd(fileno(R->out.f));
    while (!stop) {
        double now = mono();
        double wait = next - now;
        if (wait < 0) wait = 0;  /* late (a slow machine): still look at signals and the exit */
        if (gone_at > 0 && wait > 0.1) wait = 0.1; /* the workload's exit, or the grace's end */
        {
            struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
            struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = out_fd, .events = 0}};
            int pr = ppoll(pfd, R->out.gone || out_fd < 0 ? 1 : 2, &ts, NULL);
            if (pr > 0 && out_fd >= 0) cli_out_polled(&R->out, pfd[1].revents);
            if (R->out.gone) {
                if (child <= 0) break;
                if (gone_at == 0) {
                    gone_at = mono();
                    signal_workload(ct, SIGTERM);
                } else if (!killed && mono() - gone_at >= GONE_GRACE_S) {
                    killed = true;
                    signal_workload(ct, SIGKILL);
                }
            }
            if (pr > 0 && (pfd[0].revents & POLLIN)) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    int sig = (int)si.ssi_signo;
                    if (sig == SIGCHLD) continue;
                    if (child > 0) {
                        /* A terminal's ^C already reached the workload's
                         * process group; forward only what was sent to us. */
                        if (si.ssi_pid != 0 || si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE) kill(child, sig);
                    } else if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
                        stop = true;
                    }
                }
            }
            if (child > 0) {
                /* Notice the exit without reaping: the zombie's counters
                 * are still readable for one last sample. */
                if (fp_launch_exited(&ct->launch)) {
                    fp_sample s;
                    fp_sampler_sample(ct->smp, mono(), &s);
                    if (ct->step > 1.5 * st->interval) s.grid_s = st->interval; /* after a backed-off span */
                    fp_launch_reap(&ct->launch, &ct->exit);
                    status_out = ct->exit.signal ? 128 + ct->exit.signal : ct->exit.code;
                    feed(R, ct, &s);
                    finish(R, ct, NULL);
                    flush_out(R);
                    /* Processes the workload left behind are not ours to
                     * wait for; the cgroup is removed in cleanup. */
                    break;
                }
            }
            if (!stop && mono() < next) continue;
        }
        if (stop) break;
        now = mono();
        if (R->docker && st->watch_docker) {
            char ids[64][80];
            fp_err e = {0};
            int n = fp_docker_watch_poll(R->docker, 0, ids, 64, &e);
            if (n < 0) { fprintf(stderr, "fp-capture: %s\n", e.msg); status_out = FP_EXIT_ERROR; break; }
            for (int i = 0; i < n; i++) {
                fp_err ae = {0};
                struct rlimit lim;
                if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
                    files_needed(st, R->nt + 1, 0) > (long)lim.rlim_cur)
                    fprintf(stderr, "fp-capture: container %.12s: not followed: the open-file limit (%ld) is reached\n",
                            ids[i], (long)lim.rlim_cur);
                else if (attach_docker(R, ids[i], &ae) < 0)
                    fprintf(stderr, "fp-capture: container %.12s: %s\n", ids[i], ae.msg);
            }
        }
        bool last = st->duration > 0 && now - t0 >= st->duration - 1e-3;
        tick(R, now, last);
        if (last) break;
        if (child <= 0 && !st->watch_docker && live_targets(R) == 0) break;
        /* Wake for the first target due (each keeps to its own plan), the
         * end of --duration, or, with no target, the next interval. */
        next = INFINITY;
        for (int i = 0; i < R->nt; i++)
            if (!R->t[i]->ended && R->t[i]->next_due < next) next = R->t[i]->next_due;
        if (!isfinite(next)) next = now + st->interval;
        if (st->duration > 0 && t0 + st->duration < next) next = t0 + st->duration;
        /* Catch up without bursts if we were late (e.g. suspended). */
        if (next < now) next = now;
    }
    for (int i = 0; i < R->nt; i++) finish(R, R->t[i], NULL);
    flush_out(R);
    return status_out;
}

/* ---- replay ---------------------------------------------------------------- */

static int replay_one(run *R, const char *path, fp_err *err)
{
    fp_replay *rp = fp_replay_open(path, err);
    if (!rp) return -1;
    fp_replay_skip_bad(rp, R->st->skip_bad);
    target *t = target_new(R, R->st->id ? R->st->id : fp_replay_id(rp), path);
    if (!t) { fp_replay_free(rp); return fp_err_set(err, FP_ESYS, "out of memory"); }
    t->tg.host[0] = 0;
    /* The trace's metadata, with --meta keys and --label labels winning
     * (labels merge key by key, as for containers). */
    json_t *own = json_deep_copy(t->meta), *labels = json_deep_copy(json_object_get(fp_replay_meta(rp), "labels"));
    json_object_update(t->meta, fp_replay_meta(rp));
    json_object_update(t->meta, own);
    if (json_is_object(labels) && json_object_size(R->st->labels)) {
        json_object_update(labels, R->st->labels);
        json_object_set(t->meta, "labels", labels);
    }
    json_decref(labels);
    json_decref(own);
    fp_sample s;
    int rc;
    while ((rc = fp_replay_next(rp, &s, err)) > 0) {
        if (rc == 2) emit(R, fp_replay_take(rp)); /* a type fp-capture does not make */
        else feed(R, t, &s);
    }
    if (rc == 0) finish(R, t, fp_replay_outcome(rp));
    if (fp_replay_skipped(rp))
        fprintf(stderr, "fp-capture: %s: skipped %ld malformed line%s\n", path, fp_replay_skipped(rp),
                fp_replay_skipped(rp) == 1 ? "" : "s");
    flush_out(R);
    fp_replay_free(rp);
    target_free(t);
    return rc;
}

/* A task-summary trace (Nextflow, Slurm sacct; fp/tasktrace.h): per task
 * a fingerprint of what was known before it started and its actual. The
 * workflow is --meta workflow=NAME, else the file's stem. --meta keys and
 * --label labels win over the trace's, as for the other traces. */
static int replay_tasks(run *R, const char *path, fp_err *err)
{
    settings *st = R->st;
    if (st->id) return fp_err_set(err, FP_EUSAGE, "%s: --id names one workload; a task trace holds many", path);
    const char *wf = json_string_value(json_object_get(st->meta, "workflow"));
    fp_tasktrace *tt = fp_tasktrace_open(path, wf, err);
    if (!tt) return -1;
    if (st->input_from && fp_tasktrace_input_from(tt, st->input_from, err) < 0) {
        fp_tasktrace_free(tt);
        return -1;
    }
    fp_target tg;
    memset(&tg, 0, sizeof tg);
    fp_tasktrace_skip_bad(tt, st->skip_bad);
    fp_task task;
    long n = 0;
    int rc;
    while ((rc = fp_tasktrace_next(tt, &task, err)) > 0) {
        json_object_update(task.meta, st->meta);
        if (json_object_size(st->labels)) json_object_set(task.meta, "labels", st->labels);
        snprintf(tg.id, sizeof tg.id, "%s", task.id);
        emit(R, fp_task_fingerprint(&task, &tg));
        emit(R, fp_task_actual(&task, &tg));
        fp_task_clear(&task);
        n++;
    }
    flush_out(R);
    long skipped = fp_tasktrace_skipped(tt);
    if (skipped)
        fprintf(stderr, "fp-capture: %s: skipped %ld malformed line%s\n", path, skipped, skipped == 1 ? "" : "s");
    if (st->summary && rc == 0)
        fprintf(stderr, "\n fp-capture summary: %s\n   %-22s %s\n   %-22s %ld\n", path, "trace",
                fp_tasktrace_format(tt) == FP_TASKS_NEXTFLOW ? "Nextflow trace" : "Slurm sacct", "tasks", n);
    fp_tasktrace_free(tt);
    return rc;
}

/* ---- main ------------------------------------------------------------------ */


/* Live targets (a command, or attach modes): set them up, run the loop,
 * tear them down. Returns the exit status for main. */
static int capture_live(run *R)
{
    settings *st = R->st;
    int status = 0;
    fp_err err = {0};
    R->layout = malloc(sizeof *R->layout);
    if (!R->layout || fp_cg_layout_read(&st->roots, R->layout, &err) < 0) {
        fprintf(stderr, "fp-capture: %s\n", R->layout ? err.msg : "out of memory");
        free(R->layout);
        return FP_EXIT_ERROR;
    }
    sigset_t mask, old;
    sigemptyset(&mask);
    for (size_t i = 0; i < sizeof fwd_signals / sizeof fwd_signals[0]; i++) sigaddset(&mask, fwd_signals[i]);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, &old);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        fprintf(stderr, "fp-capture: signalfd: %s\n", strerror(errno));
        free(R->layout);
        return FP_EXIT_ERROR;
    }
    pid_t child = 0;
    target *ct = NULL;
    int setup_failed = 0;
    if (st->cmd) {
        int exec_status = 0;
        ct = launch(R, &old, &err, &exec_status);
        if (!ct) {
            fprintf(stderr, "fp-capture: %s\n", err.msg);
            setup_failed = exec_status ? exec_status : fp_exit_code(&err);
        } else {
            child = ct->tg.pid;
            add_target(R, ct);
        }
    } else {
        for (int i = 0; i < st->npid && !setup_failed; i++)
            if (attach_pid(R, st->pids[i], &err) < 0) setup_failed = fp_exit_code(&err);
        for (int i = 0; i < st->ncgroup && !setup_failed; i++)
            if (attach_cgroup_path(R, st->cgroups[i], &err) < 0) setup_failed = fp_exit_code(&err);
        for (int i = 0; i < st->ndocker && !setup_failed; i++)
            if (attach_docker(R, st->dockers[i], &err) < 0) setup_failed = fp_exit_code(&err);
        if (!setup_failed && st->watch_docker) {
            if ((!R->docker && !(R->docker = fp_docker_new(&st->roots, &err))) ||
                fp_docker_watch_start(R->docker, &err) < 0)
                setup_failed = fp_exit_code(&err);
        }
        if (setup_failed) fprintf(stderr, "fp-capture: %s\n", err.msg);
        double now = mono();
        if (R->scan) fp_proc_scan_refresh(R->scan, NULL);
        R->scan_at = now;
        for (int i = 0; i < R->nt; i++)
            if (R->t[i]->start == 0) { R->t[i]->start = now; fp_sampler_start(R->t[i]->smp, now); }
    }
    if (!setup_failed) status = loop(R, sfd, child, ct);
    else status = setup_failed;
    close(sfd);
    for (int i = 0; i < R->nt; i++) target_free(R->t[i]);
    fp_docker_free(R->docker);
    fp_proc_scan_free(R->scan);
    free(R->layout);
    return status;
}

static void settings_free(settings *st)
{
    json_decref(st->labels);
    json_decref(st->meta);
}

int main(int argc, char **argv)
{
    settings st = {0};
    if (parse_args(argc, argv, &st) < 0) {
        settings_free(&st);
        return FP_EXIT_ERROR;
    }
    run R = {.st = &st, .out = {.f = stdout}};
    gethostname(R.host, sizeof R.host - 1);
    if (st.output && strcmp(st.output, "-") == 0) st.output = NULL;
    if (st.output && !(R.out.f = fopen(st.output, "we"))) {
        fprintf(stderr, "fp-capture: cannot open %s: %s\n", st.output, strerror(errno));
        settings_free(&st);
        return FP_EXIT_ERROR;
    }
    if (st.cmd && (st.cmd_stdout_fd = cli_cmd_stdout("fp-capture", st.cmd_stdout, !st.output)) < 0) {
        settings_free(&st);
        return FP_EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Every target keeps about twenty counter files open, and cgroup
     * counters one descriptor per event and CPU: allow what the hard limit
     * allows. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    /* Running out of descriptors mid-capture would turn readings into
     * missing values, or end targets early: refuse up front instead. */
    long need = files_needed(&st, st.ncgroup + st.ndocker, st.npid + (st.cmd ? 1 : 0));
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY && need > (long)nofile.rlim_cur) {
        fprintf(stderr, "fp-capture: these targets need about %ld open files, more than the limit of %ld"
                " (raise ulimit -n, follow fewer targets, or use --no-perf)\n", need, (long)nofile.rlim_cur);
        settings_free(&st);
        return FP_EXIT_ERROR;
    }
    int status = 0;
    fp_err err = {0};

    if (st.nreplay) {
        for (int i = 0; i < st.nreplay && status == 0; i++) {
            int tasks = fp_tasktrace_probe(st.replays[i], NULL, &err);
            if (st.input_from && tasks == 0) {
                fprintf(stderr, "fp-capture: %s: --input-from applies to a task trace (Nextflow, Slurm sacct)\n", st.replays[i]);
                status = FP_EXIT_ERROR;
                break;
            }
            if (tasks < 0 || (tasks > 0 ? replay_tasks(&R, st.replays[i], &err) : replay_one(&R, st.replays[i], &err)) < 0) {
                fprintf(stderr, "fp-capture: %s\n", err.msg);
                status = fp_exit_code(&err);
            }
        }
    } else {
        status = capture_live(&R);
    }
    settings_free(&st);
    if (cli_out_close(&R.out, "fp-capture", st.output ? st.output : "standard output") < 0 && status == 0)
        status = FP_EXIT_ERROR;
    return status;
}
