/* fp-diff - score predictions and allocations against what workloads used,
 * flag anomalies, and compare two runs or fingerprints.
 *
 * Join mode (the default): reads records, keeps per workload id the
 * prediction and the allocation in effect, and scores every `actual` and
 * `sample` of that id against them (fp/diff.h): one `error` record per
 * actual, `anomaly` records for values outside the predicted band, and one
 * `score` record at the end. Other record types pass through.
 * Compare mode (two files, or --compare): the last fingerprint (or actual)
 * of each file, their distance and the features that moved most, as one
 * `comparison` record. See fp-diff(1).
 *
 * Pictures and dashboards (join mode): --svg draws one chart at the end of
 * the input (fp/chart.h): the band of one workload and resource over time,
 * or the slack / violation trade-off of the models' quantile levels;
 * --textfile keeps a Prometheus textfile (fp/promfile.h) of the latest
 * predictions, allocations, usage and scores, rewritten at most every
 * --textfile-interval seconds while records arrive, and at the end. Its
 * series stay bounded on an endless stream: a finished workload (its
 * actual read) leaves the file --textfile-expire seconds later, and at
 * most --textfile-max workloads are listed (the most recently seen; those
 * still running before finished ones).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fp.h"
#include "fp/chart.h"
#include "fp/diff.h"
#include "fp/prediction.h"
#include "fp/promfile.h"

enum { ST_PEAK, ST_P95, ST_MEAN };
static const char *const stat_names[] = { "peak", "p95", "mean" };

#define MAX_FAIL 32
/* Points a band chart keeps per series (predictions, limits, usage): past
 * it a series keeps every 2nd point, then every 4th..., so memory stays
 * bounded on an endless stream. */
#define CHART_MAX_POINTS 20000
/* (model, level) points of a trade-off chart; more are dropped. */
#define TRADEOFF_MAX 128
/* Points taken from input score records; more are dropped. */
#define SCORE_PTS_MAX 64

enum { CH_NONE, CH_BAND, CH_TRADEOFF };

typedef struct fail_rule {
    char metric[32];
    fp_resource res;               /* FP_RES_COUNT: any resource */
    double limit;
} fail_rule;

typedef struct settings {
    int stat;                      /* ST_* */
    double level;                  /* allocation quantile from predictions; < 0 highest */
    double tolerance;
    bool first, no_pass, table, skip_bad, compare, join;
    fail_rule fail[MAX_FAIL];
    int n_fail;
    const char *id;                /* compare, --chart band: the workload to pick */
    int top;
    double threshold;              /* compare: NAN none */
    const char *svg;               /* --svg: the chart's file; NULL none */
    int chart;                     /* CH_*: --chart (CH_BAND with --svg alone) */
    fp_resource chart_res;         /* --resource (cpu_cores) */
    const char *textfile;          /* --textfile: a .prom file; NULL none */
    double textfile_every;         /* --textfile-interval, seconds */
    double textfile_expire;        /* --textfile-expire, seconds */
    int textfile_max;              /* --textfile-max, workloads */
    char **inputs;
    int n_inputs;
} settings;

/* What fp-diff knows of one workload. Limits are NAN when none or
 * unlimited. */
typedef struct wl {
    char id[160];
    bool has_pred, has_alloc;
    fp_quantiles q[FP_RES_COUNT];  /* the prediction's */
    double pred_t;
    char model[128];
    double cpu_max, cpu_weight, mem_high, mem_max, io_read, io_write, net_tx;
    double alloc_t;
    char alloc_model[128];
    double last_sample_t;
    bool seen_sample, failed_sample;
    signed char band[FP_RES_COUNT];   /* samples: -1 below, 0 inside, 1 above */
    /* for the textfile: the last observation (sample or actual) */
    double last_use[FP_RES_COUNT];    /* the last sample's value; NAN none */
    double last_err[FP_RES_COUNT];    /* (use - allocation) / allocation; NAN */
    signed char pos[FP_RES_COUNT];    /* band position -1, 0, 1; 2 unknown */
    double seen_at;                   /* monotonic s of its last joined record */
    double finished_at;               /* ... of its actual; NAN while running */
} wl;

/* A bounded series of chart points (see CHART_MAX_POINTS). */
typedef struct cseries {
    fp_chart_band_pt *p;
    int n, cap;
    long stride, seen;             /* keep one point of every stride */
} cseries;

/* The slack and violations of one (model, level) policy of the chart's
 * resource, per section (0 actuals, 1 samples); level < 0: the limit
 * applied by allocation records. */
typedef struct tpolicy {
    char model[128];
    double level;
    long n[2], under[2];
    double alloc_sum[2], slack_sum[2];
} tpolicy;

/* A point read from an input score record. */
typedef struct spoint {
    char series[64];               /* the record's model (else row), or "score records" */
    char label[48];
    double level;                  /* the quantile as a number, for ordering */
    double slack, violation;
} spoint;

typedef struct chart_data {
    cseries pred, limit, use;
    char low[32], mid[32], high[32];   /* level keys of the last prediction */
    double t_end;                  /* the largest t of the workload's records */
    tpolicy *tp;                   /* [TRADEOFF_MAX] */
    int n_tp;
    long tp_dropped;
    spoint sp[SCORE_PTS_MAX];
    int n_sp;
    long sp_dropped;
} chart_data;

typedef struct run {
    const settings *S;
    FILE *out;
    int status;                    /* worst so far: 2, then 3, then 1 */
    const char *input;
    long line;
    fp_idtable wt;                 /* wl by id, in the order first seen */
    fp_score actuals, samples;
    long unmatched_actuals, unmatched_samples, anomalies, errors;
    double t_max;
    chart_data ch;                 /* --svg */
    fp_promfile *prom;             /* --textfile */
    long forgotten;                /* workloads expired and forgotten (prom_forget) */
    bool prom_dirty;
    bool rec_joined;               /* the record being read is one fp-diff joins */
    double prom_last;              /* monotonic seconds of the last write */
} run;

static void prom_write(run *R, bool force);

static void usage(FILE *f)
{
    fputs("usage: fp-diff [options] [FILE...]\n"
          "       fp-diff [options] A B          (or --compare A B)\n"
          "Join prediction and allocation records with actual and sample records by id,\n"
          "write error, anomaly and score records (other records pass through); or compare\n"
          "the last fingerprint (or actual) of two files.\n"
          "  -a, --actual STAT         score an actual's peak (default), p95 or mean\n"
          "      --quantile pNN        allocation from predictions: this quantile\n"
          "                            (default: each resource's highest)\n"
          "      --first               keep the first prediction/allocation of an id, not the latest\n"
          "      --tolerance F         anomaly when above the highest quantile x (1+F) or below\n"
          "                            the lowest / (1+F) (default 0.2)\n"
          "      --fail-above M[.RES]=V  exit 1 when metric M exceeds V: under_rate, coverage_gap,\n"
          "                            pinball, pinball_rel, slack, wasted_h, wasted_core_h,\n"
          "                            wasted_gb_h, failed (repeatable)\n"
          "      --no-pass             do not pass other records through\n"
          "      --table               print the scores (or the comparison) on stderr\n"
          "      --skip-bad            skip malformed lines instead of stopping\n"
          "      --join                with two files, join them (do not compare)\n"
          "  -c, --compare             compare two files (the default with exactly two)\n"
          "      --top N               compare: features listed (default 10)\n"
          "      --threshold D         compare: exit 1 when the distance exceeds D\n"
          "      --svg FILE            join: draw a chart into FILE at the end (atomically;\n"
          "                            -: on standard output, in place of the records)\n"
          "      --chart band|tradeoff the chart: predicted band, limit and usage over time of\n"
          "                            one workload (default), or slack against violation rate\n"
          "                            per model and quantile level\n"
          "      --resource R          the chart's resource (default cpu_cores)\n"
          "      --id ID               compare, or --chart band: the workload (default: the first)\n"
          "      --textfile F.prom     join: keep a Prometheus textfile of predictions, limits,\n"
          "                            usage and scores (node_exporter's textfile collector)\n"
          "      --textfile-interval S rewrite it at most every S seconds (default 10; 0: after\n"
          "                            every record), and at the end\n"
          "      --textfile-expire S   a finished workload (its actual read) leaves the\n"
          "                            textfile S seconds later (default 300)\n"
          "      --textfile-max N      list at most N workloads in it, the most recently seen\n"
          "                            (default 500; running ones before finished ones)\n"
          "  -h, --help                this help;  -V, --version  the version\n"
          "Exit: 0 ok, 1 a threshold exceeded, 2 usage or system error, 3 bad input,\n"
          "4 --svg had nothing to draw (no samples, no scored points; the chart is written).\n", f);
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    return cli_number("fp-diff", opt, s, lo, hi, out);
}

/* "METRIC[.RES]=VALUE" into r. */
static int parse_fail(const char *s, fail_rule *r)
{
    const char *eq = strchr(s, '=');
    char name[96];
    if (!eq || (size_t)(eq - s) >= sizeof name) {
        fprintf(stderr, "fp-diff: --fail-above wants METRIC[.RESOURCE]=VALUE, not \"%s\"\n", s);
        return -1;
    }
    memcpy(name, s, (size_t)(eq - s));
    name[eq - s] = 0;
    r->res = FP_RES_COUNT;
    char *dot = strchr(name, '.');
    if (dot) {
        *dot = 0;
        r->res = fp_resource_by_name(dot + 1);
        if (r->res == FP_RES_COUNT) {
            fprintf(stderr, "fp-diff: --fail-above: unknown resource \"%s\" (cpu_cores, mem_bytes, "
                    "io_read_Bps, io_write_Bps, net_rx_Bps, net_tx_Bps)\n", dot + 1);
            return -1;
        }
    }
    if (!fp_score_metric_known(name) || strlen(name) >= sizeof r->metric) {
        fprintf(stderr, "fp-diff: --fail-above: unknown metric \"%s\" (under_rate, coverage_gap, "
                "pinball, pinball_rel, slack, wasted_h, wasted_core_h, wasted_gb_h, failed)\n", name);
        return -1;
    }
    snprintf(r->metric, sizeof r->metric, "%s", name);
    char opt[128];
    snprintf(opt, sizeof opt, "--fail-above %s", name);
    return parse_double(opt, eq + 1, 0, INFINITY, &r->limit);
}

/* Options into S; returns 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_FIRST = 256, O_QUANTILE, O_TOL, O_FAIL, O_NOPASS, O_TABLE, O_SKIP, O_JOIN, O_ID, O_TOP, O_THR,
           O_SVG, O_CHART, O_RES, O_TEXTFILE, O_TEXTFILE_EVERY, O_TEXTFILE_EXPIRE, O_TEXTFILE_MAX };
    static const struct option opts[] = {
        {"actual", required_argument, 0, 'a'}, {"quantile", required_argument, 0, O_QUANTILE},
        {"first", no_argument, 0, O_FIRST}, {"tolerance", required_argument, 0, O_TOL},
        {"fail-above", required_argument, 0, O_FAIL}, {"no-pass", no_argument, 0, O_NOPASS},
        {"table", no_argument, 0, O_TABLE}, {"skip-bad", no_argument, 0, O_SKIP},
        {"join", no_argument, 0, O_JOIN}, {"compare", no_argument, 0, 'c'},
        {"id", required_argument, 0, O_ID}, {"top", required_argument, 0, O_TOP},
        {"threshold", required_argument, 0, O_THR},
        {"svg", required_argument, 0, O_SVG}, {"chart", required_argument, 0, O_CHART},
        {"resource", required_argument, 0, O_RES}, {"textfile", required_argument, 0, O_TEXTFILE},
        {"textfile-interval", required_argument, 0, O_TEXTFILE_EVERY},
        {"textfile-expire", required_argument, 0, O_TEXTFILE_EXPIRE},
        {"textfile-max", required_argument, 0, O_TEXTFILE_MAX},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    S->level = -1;
    S->tolerance = 0.2;
    S->top = 10;
    S->threshold = NAN;
    S->chart_res = FP_RES_CPU;
    S->textfile_every = 10;
    S->textfile_expire = 300;
    S->textfile_max = 500;
    bool compare_opt = false, id_opt = false, res_opt = false, every_opt = false;
    int c;
    while ((c = getopt_long(argc, argv, "a:q:chV", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            S->stat = -1;
            for (int i = 0; i < 3; i++)
                if (strcmp(optarg, stat_names[i]) == 0) S->stat = i;
            if (S->stat < 0) {
                fprintf(stderr, "fp-diff: --actual wants peak, p95 or mean, not \"%s\"\n", optarg);
                return -1;
            }
            break;
        case 'q':
            /* -q is --quiet in fp-train and fp-retrain (fp(7), OPTION LETTERS) */
            fputs("fp-diff: warning: -q is deprecated: use --quantile (-q means --quiet in the "
                  "other fp tools)\n", stderr);
            /* fall through */
        case O_QUANTILE:
            S->level = fp_quantile_level(optarg);
            if (S->level <= 0) {
                fprintf(stderr, "fp-diff: --quantile wants a level such as p90 or p99.9, not \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case O_FIRST: S->first = true; break;
        case O_TOL:
            if (parse_double("--tolerance", optarg, 0, 1000, &S->tolerance) < 0) return -1;
            break;
        case O_FAIL:
            if (S->n_fail == MAX_FAIL) {
                fprintf(stderr, "fp-diff: at most %d --fail-above\n", MAX_FAIL);
                return -1;
            }
            if (parse_fail(optarg, &S->fail[S->n_fail]) < 0) return -1;
            S->n_fail++;
            break;
        case O_NOPASS: S->no_pass = true; break;
        case O_TABLE: S->table = true; break;
        case O_SKIP: S->skip_bad = true; break;
        case O_JOIN: S->join = true; break;
        case 'c': S->compare = true; break;
        case O_ID: S->id = optarg; id_opt = true; break;
        case O_SVG: S->svg = optarg; break;
        case O_CHART:
            if (strcmp(optarg, "band") == 0) S->chart = CH_BAND;
            else if (strcmp(optarg, "tradeoff") == 0) S->chart = CH_TRADEOFF;
            else {
                fprintf(stderr, "fp-diff: --chart wants band or tradeoff, not \"%s\"\n", optarg);
                return -1;
            }
            break;
        case O_RES:
            S->chart_res = fp_resource_by_name(optarg);
            if (S->chart_res == FP_RES_COUNT) {
                fprintf(stderr, "fp-diff: --resource: unknown resource \"%s\" (cpu_cores, mem_bytes, "
                        "io_read_Bps, io_write_Bps, net_rx_Bps, net_tx_Bps)\n", optarg);
                return -1;
            }
            res_opt = true;
            break;
        case O_TEXTFILE: {
            size_t n = strlen(optarg);
            if (n < 6 || strcmp(optarg + n - 5, ".prom") != 0 || optarg[n - 6] == '/') {
                fprintf(stderr, "fp-diff: --textfile wants a file name ending in .prom (node_exporter "
                        "reads only those), not \"%s\"\n", optarg);
                return -1;
            }
            S->textfile = optarg;
            break;
        }
        case O_TEXTFILE_EVERY:
            if (cli_seconds("fp-diff", "--textfile-interval", optarg, 0, 86400, &S->textfile_every) < 0)
                return -1;
            every_opt = true;
            break;
        case O_TEXTFILE_EXPIRE:
            if (cli_seconds("fp-diff", "--textfile-expire", optarg, 0, 30 * 86400, &S->textfile_expire) < 0)
                return -1;
            every_opt = true;
            break;
        case O_TEXTFILE_MAX: {
            double v;
            if (parse_double("--textfile-max", optarg, 1, 1000000, &v) < 0) return -1;
            if (v != floor(v)) {
                fprintf(stderr, "fp-diff: --textfile-max wants a whole number, not \"%s\"\n", optarg);
                return -1;
            }
            S->textfile_max = (int)v;
            every_opt = true;
            break;
        }
        case O_TOP: {
            double v;
            if (parse_double("--top", optarg, 1, 10000, &v) < 0) return -1;
            if (v != floor(v)) {
                fprintf(stderr, "fp-diff: --top wants a whole number, not \"%s\"\n", optarg);
                return -1;
            }
            S->top = (int)v;
            compare_opt = true;
            break;
        }
        case O_THR:
            if (parse_double("--threshold", optarg, 0, 1, &S->threshold) < 0) return -1;
            compare_opt = true;
            break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-diff (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    S->inputs = argv + optind;
    S->n_inputs = argc - optind;
    if (S->compare && S->join) {
        fputs("fp-diff: --compare and --join exclude each other\n", stderr);
        return -1;
    }
    if (S->compare && S->n_inputs != 2) {
        fputs("fp-diff: --compare wants two files\n", stderr);
        return -1;
    }
    if (S->n_inputs == 2 && !S->join) S->compare = true;
    if (S->chart && !S->svg) {
        fputs("fp-diff: --chart wants --svg FILE\n", stderr);
        return -1;
    }
    if (S->svg && !S->chart) S->chart = CH_BAND;
    if (res_opt && !S->svg) {
        fputs("fp-diff: --resource applies to a chart (--svg)\n", stderr);
        return -1;
    }
    if (every_opt && !S->textfile) {
        fputs("fp-diff: --textfile-interval, --textfile-expire and --textfile-max want --textfile\n",
              stderr);
        return -1;
    }
    if (S->compare && (S->svg || S->textfile)) {
        fputs("fp-diff: --svg and --textfile apply to a join, not a comparison\n", stderr);
        return -1;
    }
    if (!S->compare && id_opt && S->chart != CH_BAND) compare_opt = true;
    if (!S->compare && compare_opt) {
        fputs("fp-diff: --id, --top and --threshold apply to a comparison of two files "
              "(--id also to --chart band)\n", stderr);
        return -1;
    }
    if (S->compare && S->n_fail) {
        fputs("fp-diff: --fail-above applies to a join; a comparison takes --threshold\n", stderr);
        return -1;
    }
    return 0;
}

/* Worse statuses win: 2 (system) over 3 (input) over 1 (threshold). */
/* The exit status, the gravest kept: 2, then 3, then 4 (a chart with
 * nothing to draw), then 1. */
static void set_status(run *R, int s)
{
    if (R->status == 2) return;
    if (s == 2 || (s == 3 && R->status != 2) || (s == 4 && (R->status == 0 || R->status == 1)) ||
        (s == 1 && R->status == 0))
        R->status = s;
}

static int emit(run *R, json_t *rec)
{
    fp_err err = {0};
    int rc = fp_record_write(R->out, rec, &err);
    json_decref(rec);
    if (rc == 0 && fflush(R->out) != 0) rc = fp_err_sys(&err, "write");
    if (rc < 0) {
        fprintf(stderr, "fp-diff: %s\n", err.msg);
        set_status(R, 2);
    }
    return rc;
}

static void bad(run *R, const char *msg)
{
    fprintf(stderr, "fp-diff: %s:%ld: %s\n", R->input, R->line, msg);
    set_status(R, 3);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define WL(R, i) ((wl *)fp_idtable_at(&(R)->wt, (i)))

/* The workload of id, made on first use (NULL: out of memory). */
static wl *find_wl(run *R, const char *id)
{
    bool created;
    wl *w = fp_idtable_add(&R->wt, id, &created);
    if (!w || !created) return w;
    snprintf(w->id, sizeof w->id, "%s", id);
    w->cpu_max = w->cpu_weight = w->mem_high = w->mem_max = NAN;
    w->io_read = w->io_write = w->net_tx = NAN;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        w->last_use[r] = w->last_err[r] = NAN;
        w->pos[r] = 2;
    }
    w->finished_at = NAN;
    return w;
}

static const char *record_id(const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    return id && id[0] ? id : NULL;
}

/* The workload a record is about, or NULL after complaining. */
static wl *record_wl(run *R, const json_t *rec, const char *type)
{
    const char *id = record_id(rec);
    if (!id) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s record without an \"id\"", type);
        bad(R, msg);
        return NULL;
    }
    wl *w = find_wl(R, id);
    if (!w) {
        fputs("fp-diff: out of memory\n", stderr);
        set_status(R, 2);
        return NULL;
    }
    /* for the textfile's expiry: an actual finishes the workload, any
     * other record of its id says it runs (again) */
    w->seen_at = mono_s();
    w->finished_at = strcmp(type, "actual") == 0 ? w->seen_at : NAN;
    return w;
}

/* ---------------------------------------------------------------- chart data */

/* Whether w is the band chart's workload: --id's, else the first seen. */
static bool charted(const run *R, const wl *w)
{
    if (R->S->chart != CH_BAND) return false;
    return R->S->id ? strcmp(w->id, R->S->id) == 0 : w == WL(R, 0);
}

/* Add v to s, keeping at most CHART_MAX_POINTS: when full, every other
 * point is dropped and from then on one point of every 2 (4, 8...)
 * arriving is kept. -1 out of memory. */
static int cs_add(cseries *s, fp_chart_band_pt v)
{
    if (s->stride < 1) s->stride = 1;
    if (s->seen++ % s->stride != 0) return 0;
    if (s->n == s->cap) {
        if (s->cap >= CHART_MAX_POINTS) {
            for (int i = 0; i < s->n / 2; i++) s->p[i] = s->p[2 * i];
            s->n /= 2;
            s->stride *= 2;
        } else {
            int nc = s->cap ? s->cap * 4 : 256;
            if (nc > CHART_MAX_POINTS) nc = CHART_MAX_POINTS;
            fp_chart_band_pt *p = realloc(s->p, (size_t)nc * sizeof *p);
            if (!p) return -1;
            s->p = p;
            s->cap = nc;
        }
    }
    s->p[s->n++] = v;
    return 0;
}

static void chart_add(run *R, cseries *s, fp_chart_band_pt v)
{
    if (v.t > R->ch.t_end || !isfinite(R->ch.t_end)) R->ch.t_end = v.t;
    if (cs_add(s, v) < 0) {
        fputs("fp-diff: out of memory\n", stderr);
        set_status(R, 2);
    }
}

/* A record's t, else the largest t read so far. */
static double record_t(const run *R, const json_t *rec)
{
    json_t *tj = json_object_get(rec, "t");
    return json_is_number(tj) ? json_number_value(tj) : R->t_max;
}

/* The limit the allocation records put on resource r of w (the one that
 * caps it: cpu.max before cpu.weight, memory.max before memory.high);
 * NAN none or unlimited. */
static double alloc_of(const wl *w, fp_resource r)
{
    if (!w->has_alloc) return NAN;
    switch (r) {
    case FP_RES_CPU: return isfinite(w->cpu_max) ? w->cpu_max : w->cpu_weight;
    case FP_RES_MEM: return isfinite(w->mem_max) ? w->mem_max : w->mem_high;
    case FP_RES_DISK_READ: return w->io_read;
    case FP_RES_DISK_WRITE: return w->io_write;
    case FP_RES_NET_TX: return w->net_tx;
    default: return NAN;
    }
}

/* The band chart's point for w's prediction: the lowest and highest level
 * as the band (with two levels or more), the level nearest 0.5 as the
 * middle line. */
static void chart_prediction(run *R, const wl *w)
{
    const fp_quantiles *q = &w->q[R->S->chart_res];
    fp_chart_band_pt p = { w->pred_t, NAN, NAN, NAN };
    if (q->n > 0) {
        int m = 0;
        for (int i = 1; i < q->n; i++)
            if (fabs(q->level[i] - 0.5) < fabs(q->level[m] - 0.5)) m = i;
        p.mid = q->value[m];
        fp_quantile_key(q->level[m], R->ch.mid, sizeof R->ch.mid);
        if (q->n >= 2) {
            p.low = q->value[0];
            p.high = q->value[q->n - 1];
            fp_quantile_key(q->level[0], R->ch.low, sizeof R->ch.low);
            fp_quantile_key(q->level[q->n - 1], R->ch.high, sizeof R->ch.high);
        }
    }
    chart_add(R, &R->ch.pred, p);
}

/* Add one observation to the (model, level) policy; level < 0: the
 * applied limit. */
static void tp_add(run *R, const char *model, double level, int sec, double alloc, double use)
{
    chart_data *C = &R->ch;
    tpolicy *t = NULL;
    for (int i = 0; i < C->n_tp && !t; i++)
        if (C->tp[i].level == level && strcmp(C->tp[i].model, model) == 0) t = &C->tp[i];
    if (!t) {
        if (!C->tp) C->tp = calloc(TRADEOFF_MAX, sizeof *C->tp);
        if (!C->tp || C->n_tp == TRADEOFF_MAX) {
            C->tp_dropped++;
            return;
        }
        t = &C->tp[C->n_tp++];
        memset(t, 0, sizeof *t);
        snprintf(t->model, sizeof t->model, "%s", model);
        t->level = level;
    }
    t->n[sec]++;
    if (use > alloc) t->under[sec]++;
    t->alloc_sum[sec] += alloc;
    t->slack_sum[sec] += alloc > use ? alloc - use : 0;
}

/* The trade-off chart's policies for one observation (section sec: 0
 * actuals, 1 samples) of w: each predicted level taken as the allocation,
 * and the limit applied. */
static void chart_tradeoff(run *R, const wl *w, int sec, double use)
{
    fp_resource r = R->S->chart_res;
    if (R->S->chart != CH_TRADEOFF || !isfinite(use)) return;
    if (w->has_pred)
        for (int i = 0; i < w->q[r].n; i++) tp_add(R, w->model, w->q[r].level[i], sec, w->q[r].value[i], use);
    double a = alloc_of(w, r);
    if (isfinite(a)) tp_add(R, w->alloc_model[0] ? w->alloc_model : w->model, -1, sec, a, use);
}

/* A point from an input score record: its samples' slack and under_rate
 * of the chart's resource (else its actuals'), labelled by its quantile,
 * in the series named by the record's "model" (else "row"; a member that
 * tests/bench/report.sh adds), else "score records". */
static void chart_score(run *R, const json_t *rec)
{
    chart_data *C = &R->ch;
    if (C->n_sp == SCORE_PTS_MAX) {
        C->sp_dropped++;
        return;
    }
    const char *rn = fp_resource_name(R->S->chart_res);
    static const char *const sec[] = { "samples", "actuals" };
    for (int k = 0; k < 2; k++) {
        json_t *x = json_object_get(json_object_get(json_object_get(rec, sec[k]), "resources"), rn);
        json_t *sl = json_object_get(x, "slack"), *ur = json_object_get(x, "under_rate");
        if (!json_is_number(sl) || !json_is_number(ur)) continue;
        spoint *p = &C->sp[C->n_sp++];
        const char *q = json_string_value(json_object_get(rec, "quantile"));
        snprintf(p->label, sizeof p->label, "%s", q ? q : "score");
        p->level = q && q[0] == 'p' ? atof(q + 1) : 0;
        const char *m = json_string_value(json_object_get(rec, "model"));
        if (!m) m = json_string_value(json_object_get(rec, "row"));
        snprintf(p->series, sizeof p->series, "%s", m && *m ? m : "score records");
        p->slack = json_number_value(sl);
        p->violation = json_number_value(ur);
        return;
    }
}

static void on_prediction(run *R, const json_t *rec)
{
    fp_err err = {0};
    fp_prediction p;
    if (fp_prediction_from_json(rec, &p, &err) < 0) {
        bad(R, err.msg);
        return;
    }
    wl *w = record_wl(R, rec, "prediction");
    if (!w || (w->has_pred && R->S->first)) return;
    memcpy(w->q, p.q, sizeof w->q);
    w->pred_t = p.t;
    snprintf(w->model, sizeof w->model, "%s", p.model);
    w->has_pred = true;
    if (charted(R, w)) chart_prediction(R, w);
}

/* One limit of an allocation record: a number >= 0 sets it, "unlimited"
 * removes it (NAN), null or absent leaves it. -1 when malformed. */
static int limit(run *R, const json_t *limits, const char *name, double *v)
{
    json_t *j = json_object_get(limits, name);
    if (!j || json_is_null(j)) return 0;
    if (json_is_string(j) && strcmp(json_string_value(j), "unlimited") == 0) {
        *v = NAN;
        return 0;
    }
    if (json_is_number(j) && json_number_value(j) >= 0) {
        *v = json_number_value(j);
        return 0;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "limits.%s is not a number >= 0, null or \"unlimited\"", name);
    bad(R, msg);
    return -1;
}

static void on_allocation(run *R, const json_t *rec)
{
    json_t *limits = json_object_get(rec, "limits");
    if (limits && !json_is_object(limits) && !json_is_null(limits)) {
        bad(R, "allocation \"limits\" is not an object");
        return;
    }
    wl *w = record_wl(R, rec, "allocation");
    if (!w) return;
    if (json_is_false(json_object_get(rec, "ok"))) return;   /* nothing was put in place */
    const char *reason = json_string_value(json_object_get(rec, "reason"));
    if (reason && strcmp(reason, "revert") == 0) {
        /* back to limits the record does not state: unknown from here on */
        w->has_alloc = false;
        w->cpu_max = w->cpu_weight = w->mem_high = w->mem_max = NAN;
        w->io_read = w->io_write = w->net_tx = NAN;
        if (charted(R, w)) chart_add(R, &R->ch.limit, (fp_chart_band_pt){ record_t(R, rec), NAN, NAN, NAN });
        return;
    }
    if (w->has_alloc && R->S->first) return;
    wl t = *w;
    if (limit(R, limits, "cpu_max_cores", &t.cpu_max) < 0 ||
        limit(R, limits, "cpu_weight_cores", &t.cpu_weight) < 0 ||
        limit(R, limits, "mem_high_bytes", &t.mem_high) < 0 ||
        limit(R, limits, "mem_max_bytes", &t.mem_max) < 0 ||
        limit(R, limits, "io_read_Bps", &t.io_read) < 0 ||
        limit(R, limits, "io_write_Bps", &t.io_write) < 0 ||
        limit(R, limits, "net_tx_Bps", &t.net_tx) < 0)
        return;
    w->cpu_max = t.cpu_max;
    w->cpu_weight = t.cpu_weight;
    w->mem_high = t.mem_high;
    w->mem_max = t.mem_max;
    w->io_read = t.io_read;
    w->io_write = t.io_write;
    w->net_tx = t.net_tx;
    w->has_alloc = true;
    json_t *tj = json_object_get(rec, "t");
    w->alloc_t = json_is_number(tj) ? json_number_value(tj) : NAN;
    const char *m = json_string_value(json_object_get(rec, "model"));
    snprintf(w->alloc_model, sizeof w->alloc_model, "%s", m ? m : "");
    if (charted(R, w))
        chart_add(R, &R->ch.limit,
                  (fp_chart_band_pt){ record_t(R, rec), NAN, alloc_of(w, R->S->chart_res), NAN });
}

/* What workload w has for resource r: quantiles (or NULL), the allocation
 * and where it came from, the hard limit. Returns false when nothing. */
typedef struct basis {
    const fp_quantiles *q;
    double alloc, hard;
    char from[32];                 /* "allocation", "p99" */
} basis;

static bool basis_of(const run *R, const wl *w, fp_resource r, basis *b)
{
    b->q = w->has_pred && w->q[r].n > 0 ? &w->q[r] : NULL;
    b->alloc = b->hard = NAN;
    b->from[0] = 0;
    if (w->has_alloc) {
        b->alloc = alloc_of(w, r);
        if (r == FP_RES_MEM) b->hard = w->mem_max;
        if (isfinite(b->alloc)) snprintf(b->from, sizeof b->from, "allocation");
    }
    if (!isfinite(b->alloc) && b->q) {
        double lv = R->S->level > 0 ? R->S->level : b->q->level[b->q->n - 1];
        b->alloc = fp_quantile_at(b->q, lv, NULL);
        fp_quantile_key(lv, b->from, sizeof b->from);
        if (r == FP_RES_MEM) b->hard = b->alloc;
    }
    return b->q || isfinite(b->alloc);
}

/* The band of resource r: [low, high], from the quantiles, else [NAN,
 * allocation]. Returns 0 inside, 1 above, -1 below; *bound the end crossed. */
static int band_check(const run *R, const basis *b, double v, double *low, double *high, double *bound)
{
    double tol = 1 + R->S->tolerance;
    *low = b->q ? b->q->value[0] : NAN;
    *high = b->q ? b->q->value[b->q->n - 1] : b->alloc;
    if (isfinite(*high) && v > *high * tol) {
        *bound = *high;
        return 1;
    }
    if (isfinite(*low) && v < *low / tol) {
        *bound = *low;
        return -1;
    }
    return 0;
}

/* A record's Unix time in seconds from its ts_ms; 0 unknown. */
static double record_ts(const json_t *rec)
{
    json_t *j = json_object_get(rec, "ts_ms");
    return json_is_number(j) ? json_number_value(j) / 1000 : 0;
}

static void anomaly(run *R, const wl *w, const json_t *rec, const char *source, fp_resource r,
                    double v, double low, double high, double bound, int dir)
{
    fp_target tg;
    fp_err err = {0};
    if (fp_target_from_json(rec, &tg, &err) < 0) snprintf(tg.id, sizeof tg.id, "%s", w->id);
    json_t *tj = json_object_get(rec, "t");
    json_t *a = fp_record_new("anomaly", &tg, json_is_number(tj) ? json_number_value(tj) : 0,
                              record_ts(rec));
    const char *model = w->has_pred && w->model[0] ? w->model : w->alloc_model;
    json_object_set_new(a, "model", model[0] ? json_string(model) : json_null());
    json_object_set_new(a, "source", json_string(source));
    json_object_set_new(a, "resource", json_string(fp_resource_name(r)));
    json_object_set_new(a, "observed", fp_json_num(v));
    json_object_set_new(a, "band", json_pack("[o,o]", fp_json_num(low), fp_json_num(high)));
    json_object_set_new(a, "direction", json_string(dir > 0 ? "above" : "below"));
    json_object_set_new(a, "bound", fp_json_num(bound));
    json_object_set_new(a, "ratio", fp_json_num(bound > 0 ? v / bound : NAN));
    json_object_set_new(a, "tolerance", fp_json_num(R->S->tolerance));
    json_object_set_new(a, "missing", json_object());
    R->anomalies++;
    emit(R, a);
}

static void on_sample(run *R, const json_t *rec)
{
    json_t *tj = json_object_get(rec, "t");
    if (!json_is_number(tj)) {
        bad(R, "sample without a numeric \"t\"");
        return;
    }
    wl *w = record_wl(R, rec, "sample");
    if (!w) return;
    double t = json_number_value(tj);
    double dt = w->seen_sample ? t - w->last_sample_t : t;
    if (!(dt >= 0)) dt = 0;
    w->seen_sample = true;
    w->last_sample_t = t;
    bool scored = false, failed = false;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        json_t *vj = json_object_get(rec, fp_resource_name((fp_resource)r));
        if (vj && !json_is_number(vj) && !json_is_null(vj)) {
            char msg[96];
            snprintf(msg, sizeof msg, "\"%s\" is not a number", fp_resource_name((fp_resource)r));
            bad(R, msg);
            return;
        }
    }
    if (charted(R, w)) {
        json_t *vj = json_object_get(rec, fp_resource_name(R->S->chart_res));
        chart_add(R, &R->ch.use, (fp_chart_band_pt){ t, NAN, json_is_number(vj) ? json_number_value(vj) : NAN, NAN });
    }
    for (int r = 0; r < FP_RES_COUNT; r++) {
        json_t *vj = json_object_get(rec, fp_resource_name((fp_resource)r));
        w->last_use[r] = json_is_number(vj) ? json_number_value(vj) : NAN;
        if (json_is_number(vj) && r == (int)R->S->chart_res) chart_tradeoff(R, w, 1, w->last_use[r]);
        basis b;
        if (!json_is_number(vj) || !basis_of(R, w, (fp_resource)r, &b)) continue;
        fp_obs o;
        fp_obs_init(&o);
        o.q = b.q;
        o.alloc = b.alloc;
        o.hard = b.hard;
        o.use = json_number_value(vj);
        o.dt = dt;
        fp_obs_result res;
        if (fp_score_add(&R->samples, (fp_resource)r, &o, &res)) scored = true;
        failed |= res.failed;
        double low, high, bound;
        int dir = band_check(R, &b, o.use, &low, &high, &bound);
        if (dir != 0 && dir != w->band[r])
            anomaly(R, w, rec, "sample", (fp_resource)r, o.use, low, high, bound, dir);
        w->band[r] = (signed char)dir;
        w->pos[r] = (signed char)dir;
        w->last_err[r] = b.alloc > 0 ? (o.use - b.alloc) / b.alloc : NAN;
    }
    if (scored) R->samples.n++;
    else R->unmatched_samples++;
    if (failed && !w->failed_sample) {
        w->failed_sample = true;
        R->samples.failed++;
    }
}

/* A number field of rec: NAN when absent or null, -2 (and a complaint)
 * when of another type. */
static int get_num(run *R, const json_t *rec, const char *name, double *v)
{
    json_t *j = json_object_get(rec, name);
    *v = NAN;
    if (!j || json_is_null(j)) return 0;
    if (!json_is_number(j)) {
        char msg[128];
        snprintf(msg, sizeof msg, "\"%s\" is not a number", name);
        bad(R, msg);
        return -1;
    }
    *v = json_number_value(j);
    return 0;
}

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

static void on_actual(run *R, const json_t *rec)
{
    const settings *S = R->S;
    wl *w = record_wl(R, rec, "actual");
    if (!w) return;
    double use[FP_RES_COUNT], peak[FP_RES_COUNT], mean[FP_RES_COUNT], dur;
    char name[64];
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const char *rn = fp_resource_name((fp_resource)r);
        snprintf(name, sizeof name, "%s_%s", rn, stat_names[S->stat]);
        if (get_num(R, rec, name, &use[r]) < 0) return;
        snprintf(name, sizeof name, "%s_peak", rn);
        if (get_num(R, rec, name, &peak[r]) < 0) return;
        snprintf(name, sizeof name, "%s_mean", rn);
        if (get_num(R, rec, name, &mean[r]) < 0) return;
    }
    if (get_num(R, rec, "duration_s", &dur) < 0) return;
    if (!isfinite(dur)) {
        json_t *tj = json_object_get(rec, "t");
        dur = json_is_number(tj) ? json_number_value(tj) : 0;
    }
    fp_target tg;
    fp_err err = {0};
    if (fp_target_from_json(rec, &tg, &err) < 0) {
        bad(R, err.msg);
        return;
    }
    json_t *tj = json_object_get(rec, "t");
    double t = json_is_number(tj) ? json_number_value(tj) : dur;
    if (charted(R, w) && isfinite(t) && (t > R->ch.t_end || !isfinite(R->ch.t_end))) R->ch.t_end = t;
    chart_tradeoff(R, w, 0, use[R->S->chart_res]);
    json_t *e = fp_record_new("error", &tg, t, record_ts(rec));
    const char *model = w->has_pred && w->model[0] ? w->model : w->alloc_model;
    json_object_set_new(e, "model", model[0] ? json_string(model) : json_null());
    json_object_set_new(e, "prediction_t", w->has_pred ? fp_json_num(w->pred_t) : json_null());
    json_object_set_new(e, "allocation_t", w->has_alloc ? fp_json_num(w->alloc_t) : json_null());
    json_object_set_new(e, "actual_stat", json_string(stat_names[S->stat]));
    json_object_set_new(e, "duration_s", fp_json_num(dur));
    json_t *res = json_object(), *missing = json_object();
    json_t *amiss = json_object_get(rec, "missing");
    bool scored = false, failed = false;
    typedef struct { fp_resource r; double v, low, high, bound; int dir; } pending;
    pending an[FP_RES_COUNT];
    int n_an = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        basis b;
        if (!basis_of(R, w, (fp_resource)r, &b)) continue;
        const char *rn = fp_resource_name((fp_resource)r);
        if (!isfinite(use[r])) {
            snprintf(name, sizeof name, "%s_%s", rn, stat_names[S->stat]);
            const char *why = json_string_value(json_object_get(amiss, name));
            char msg[200];
            snprintf(msg, sizeof msg, "not in the actual (%s: %s)", name, why ? why : "absent");
            json_object_set_new(res, rn, json_null());
            json_object_set_new(missing, rn, json_string(msg));
            continue;
        }
        fp_obs o;
        fp_obs_init(&o);
        o.q = b.q;
        o.alloc = b.alloc;
        o.hard = b.hard;
        o.use = use[r];
        o.peak = peak[r];
        o.mean = mean[r];
        o.dt = dur;
        /* harm counts against a limit: memory's hard one, a CPU quota */
        if (isfinite(b.hard) || (r == FP_RES_CPU && isfinite(b.alloc)))
            o.harm = fp_actual_harm(rec, (fp_resource)r);
        fp_obs_result x;
        if (fp_score_add(&R->actuals, (fp_resource)r, &o, &x)) scored = true;
        json_t *j = json_object();
        if (b.q) json_object_set_new(j, "predicted", levels_json(b.q, NULL));
        json_object_set_new(j, "allocated", fp_json_num(b.alloc));
        json_object_set_new(j, "allocated_from", b.from[0] ? json_string(b.from) : json_null());
        json_object_set_new(j, "actual", fp_json_num(o.use));
        if (b.q) json_object_set_new(j, "pinball", levels_json(b.q, x.pinball));
        if (x.has_alloc) {
            json_object_set_new(j, "under", json_boolean(x.under));
            json_object_set_new(j, "slack", fp_json_num(x.slack));
            json_object_set_new(j, "wasted_h", fp_json_num(x.wasted_h));
        }
        if (isfinite(b.hard) || o.harm) {
            json_object_set_new(j, "failed", json_boolean(x.failed));
            if (o.harm) json_object_set_new(j, "failed_why", json_string(o.harm));
            failed |= x.failed;
        }
        json_object_set_new(res, rn, j);
        double low, high, bound;
        int dir = band_check(R, &b, o.use, &low, &high, &bound);
        if (dir) an[n_an++] = (pending){ (fp_resource)r, o.use, low, high, bound, dir };
        w->pos[r] = (signed char)dir;
        w->last_err[r] = b.alloc > 0 ? (o.use - b.alloc) / b.alloc : NAN;
    }
    if (!scored && json_object_size(res) == 0) {
        R->unmatched_actuals++;
        json_decref(res);
        json_decref(missing);
        json_decref(e);
        return;
    }
    json_object_set_new(e, "resources", res);
    json_object_set_new(e, "failed", json_boolean(failed));
    json_object_set_new(e, "missing", missing);
    if (scored) R->actuals.n++;
    if (failed) R->actuals.failed++;
    R->errors++;
    emit(R, e);
    for (int i = 0; i < n_an; i++)
        anomaly(R, w, rec, "actual", an[i].r, an[i].v, an[i].low, an[i].high, an[i].bound, an[i].dir);
}

/* Read one input to its end (join mode). -1 when reading must stop. */

/* The records fp-diff joins (fp_read_records handlers): each is seen (its
 * line, the latest t), handled, and marks the textfile dirty. */
static void rec_seen(run *R, const json_t *rec, long line, bool joined)
{
    R->line = line;
    json_t *tj = json_object_get(rec, "t");
    if (json_is_number(tj) && json_number_value(tj) > R->t_max) R->t_max = json_number_value(tj);
    R->rec_joined = joined;
}

#define FP_DIFF_JOINED(name)                                   \
    static int rec_##name(void *arg, json_t *rec, long line)   \
    {                                                          \
        rec_seen(arg, rec, line, true);                        \
        on_##name(arg, rec);                                   \
        json_decref(rec);                                      \
        return 0;                                              \
    }
FP_DIFF_JOINED(prediction)
FP_DIFF_JOINED(allocation)
FP_DIFF_JOINED(sample)
FP_DIFF_JOINED(actual)
#undef FP_DIFF_JOINED

/* Any other record: a score may go on the trade-off chart; passed through
 * unless --no-pass. */
static int rec_other(void *arg, json_t *rec, long line)
{
    run *R = arg;
    rec_seen(R, rec, line, false);
    if (R->S->chart == CH_TRADEOFF && strcmp(fp_record_type(rec), "score") == 0) chart_score(R, rec);
    if (!R->S->no_pass) emit(R, rec);
    else json_decref(rec);
    return 0;
}

/* After each record: the textfile, and stop at a system error, or at bad
 * input without --skip-bad. */
static int rec_after(void *arg)
{
    run *R = arg;
    if (R->prom && R->status != 2) {
        R->prom_dirty |= R->rec_joined;
        prom_write(R, false);
    }
    if (R->status == 2) return 1;
    if (R->status == 3 && !R->S->skip_bad) return 1;
    return 0;
}

static int read_input(run *R, FILE *f, const char *name)
{
    const settings *S = R->S;
    fp_reader *rd = fp_reader_new(f, name, S->skip_bad);
    if (!rd) {
        fputs("fp-diff: out of memory\n", stderr);
        set_status(R, 2);
        return -1;
    }
    R->input = strcmp(name, "-") == 0 ? "<stdin>" : name;
    static const fp_record_handler on[] = {
        {"prediction", rec_prediction}, {"allocation", rec_allocation},
        {"sample", rec_sample}, {"actual", rec_actual}, {NULL, rec_other}};
    const fp_read_loop L = {.on = on, .after = rec_after};
    fp_err err = {0};
    int rc = fp_read_records(rd, &L, R, &err);
    if (rc < 0) {
        fprintf(stderr, "fp-diff: %s\n", err.msg);
        set_status(R, fp_exit_code(&err));
    }
    rc = rc ? -1 : 0;
    if (fp_reader_skipped(rd))
        fprintf(stderr, "fp-diff: %s: skipped %ld malformed line(s)\n", R->input, fp_reader_skipped(rd));
    fp_reader_free(rd);
    return rc;
}

static int read_cb(void *r, FILE *f, const char *name) { return read_input(r, f, name); }

static void print_section(const char *title, const fp_score *s, long unmatched, const char *unit)
{
    fprintf(stderr, "%s: %ld scored (%s), %ld unmatched, %ld failed\n", title, s->n, unit,
            unmatched, s->failed);
    if (s->n == 0) return;
    fprintf(stderr, "  %-13s %6s %10s %8s %14s %11s  %s\n", "resource", "n", "under_rate", "slack",
            "wasted", "pinball_rel", "coverage by level");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const fp_score_res *X = &s->r[r];
        if (X->n == 0) continue;
        char cov[256] = "", num[4][32];
        size_t k = 0;
        for (int i = 0; i < X->nl && k < sizeof cov - 40; i++) {
            char key[32];
            fp_quantile_key(X->lv[i].level, key, sizeof key);
            char pc[32];
            fp_fmt(X->lv[i].n ? (double)X->lv[i].covered / (double)X->lv[i].n : NAN, FP_UNIT_SHARE, pc,
                   sizeof pc);
            k += (size_t)snprintf(cov + k, sizeof cov - k, "%s%s %s", i ? "  " : "", key, pc);
        }
        /* shares in percent, the waste in core-h or byte-h with a binary
         * prefix (fp_fmt), the relative pinball loss as a plain number */
        const char *m[4] = { "under_rate", "slack", "wasted_h", "pinball_rel" };
        const fp_unit u[4] = { FP_UNIT_SHARE, FP_UNIT_SHARE, fp_resource_waste_unit((fp_resource)r),
                               FP_UNIT_NONE };
        for (int i = 0; i < 4; i++)
            fp_fmt(fp_score_metric(s, m[i], (fp_resource)r, NULL), u[i], num[i], sizeof num[i]);
        fprintf(stderr, "  %-13s %6ld %10s %8s %14s %11s  %s\n", fp_resource_name((fp_resource)r),
                X->n, num[0], num[1], num[2], num[3], cov[0] ? cov : "-");
    }
}

/* --fail-above over both sections; the exceeded ones into arr. */
static void check_fail(run *R, json_t *arr)
{
    const settings *S = R->S;
    const struct { const char *name; const fp_score *s; } sec[2] = {
        { "actuals", &R->actuals }, { "samples", &R->samples } };
    for (int i = 0; i < S->n_fail; i++) {
        const fail_rule *f = &S->fail[i];
        for (int k = 0; k < 2; k++) {
            if (sec[k].s->n == 0) continue;
            fp_resource which;
            double v = fp_score_metric(sec[k].s, f->metric, f->res, &which);
            if (!(v > f->limit)) continue;
            const char *rn = which < FP_RES_COUNT ? fp_resource_name(which) : NULL;
            fprintf(stderr, "fp-diff: %s %.6g (%s%s%s) is above %.6g\n", f->metric, v, sec[k].name,
                    rn ? ", " : "", rn ? rn : "", f->limit);
            json_t *e = json_object();
            json_object_set_new(e, "metric", json_string(f->metric));
            json_object_set_new(e, "section", json_string(sec[k].name));
            json_object_set_new(e, "resource", rn ? json_string(rn) : json_null());
            json_object_set_new(e, "value", fp_json_num(v));
            json_object_set_new(e, "limit", fp_json_num(f->limit));
            json_array_append_new(arr, e);
            set_status(R, 1);
        }
    }
}

/* ---------------------------------------------------------------- textfile */

/* The metric families of --textfile (documented in fp-diff(1)). */
static const struct { const char *name, *type, *help; } prom_families[] = {
    { "fp_prediction_cores", "gauge", "Latest predicted CPU need of the workload at the quantile, in cores" },
    { "fp_prediction_bytes", "gauge", "Latest predicted memory need of the workload at the quantile, in bytes" },
    { "fp_prediction_bytes_per_second", "gauge",
      "Latest predicted I/O or network rate of the workload at the quantile, in bytes per second" },
    { "fp_allocation_limit_cores", "gauge", "CPU limit in effect from allocation records, in cores" },
    { "fp_allocation_limit_bytes", "gauge", "Memory limit in effect from allocation records, in bytes" },
    { "fp_allocation_limit_bytes_per_second", "gauge",
      "I/O or network limit in effect from allocation records, in bytes per second" },
    { "fp_usage_cores", "gauge", "CPU used at the workload's last sample, in cores" },
    { "fp_usage_bytes", "gauge", "Memory used at the workload's last sample, in bytes" },
    { "fp_usage_bytes_per_second", "gauge", "I/O or network rate at the workload's last sample, in bytes per second" },
    { "fp_under_provisioned", "gauge", "1 when the workload's last observation was above its allocation, else 0" },
    { "fp_allocation_error_ratio", "gauge",
      "(used - allocated) / allocated at the workload's last observation: > 0 short, < 0 slack" },
    { "fp_outside_band", "gauge", "The workload's last observation against the predicted band: -1 below, 0 inside, 1 above" },
    { "fp_scored_total", "counter", "Items scored: workloads (actuals) or samples" },
    { "fp_unmatched_total", "counter", "Items without a prediction or allocation to score against" },
    { "fp_failed_total", "counter", "Workloads (actuals) or samples above a hard limit" },
    { "fp_under_ratio", "gauge", "Share of the observations with an allocation that were above it" },
    { "fp_slack_ratio", "gauge", "Unused share of the allocations: sum max(allocation - use, 0) / sum allocation" },
    { "fp_coverage_ratio", "gauge", "Share of the observations at or below the predicted quantile" },
    { "fp_pinball_loss_ratio", "gauge", "Pinball loss relative to the use (sum of losses / sum of |use|), mean over the levels" },
    { "fp_wasted_core_seconds_total", "counter", "CPU allocated but not used, in core-seconds" },
    { "fp_wasted_byte_seconds_total", "counter", "Memory allocated but not used, in byte-seconds" },
    { "fp_errors_total", "counter", "error records written" },
    { "fp_anomalies_total", "counter", "anomaly records written" },
    { "fp_workloads_listed", "gauge", "Workloads whose series are in this file" },
    { "fp_workloads_unlisted", "gauge",
      "Workloads seen but left out of this file: finished longer than --textfile-expire ago, or past --textfile-max" },
};

/* The unit part of a per-resource metric name. */
static const char *prom_unit(fp_resource r)
{
    return r == FP_RES_CPU ? "cores" : r == FP_RES_MEM ? "bytes" : "bytes_per_second";
}

/* The level label: the quantile's level as a number ("0.9"). (Not
 * "quantile": Prometheus keeps that label for summaries, and promtool
 * check metrics refuses it on a gauge.) */
static void prom_level(double level, char *b, size_t n) { snprintf(b, n, "%.6g", level); }

/* A workload in the running for the textfile. */
typedef struct prom_pick {
    int i;
    bool running;
    double seen;
} prom_pick;

/* Running before finished, then the most recently seen first (of two
 * seen at the same instant, the later one). */
static int prom_pick_cmp(const void *a, const void *b)
{
    const prom_pick *x = a, *y = b;
    if (x->running != y->running) return x->running ? -1 : 1;
    if (x->seen != y->seen) return x->seen > y->seen ? -1 : 1;
    return (y->i > x->i) - (y->i < x->i);
}

/* Which workloads the textfile lists (listed[i], R->wt.n of them): not those
 * finished --textfile-expire seconds or more before now, and of the others
 * at most --textfile-max (prom_pick_cmp's first). The number listed, or -1
 * out of memory. */
static int prom_listed(const run *R, double now, bool *listed)
{
    prom_pick *pk = malloc((R->wt.n + 1) * sizeof *pk);
    if (!pk) return -1;
    int n = 0;
    for (size_t i = 0; i < R->wt.n; i++) {
        const wl *w = WL(R, i);
        listed[i] = false;
        bool running = isnan(w->finished_at);
        if (!running && now - w->finished_at >= R->S->textfile_expire) continue;
        pk[n++] = (prom_pick){ (int)i, running, w->seen_at };
    }
    if (n > R->S->textfile_max) {
        qsort(pk, (size_t)n, sizeof *pk, prom_pick_cmp);
        n = R->S->textfile_max;
    }
    for (int k = 0; k < n; k++) listed[pk[k].i] = true;
    free(pk);
    return n;
}

/* Forget the workloads that have expired from the textfile (finished
 * --textfile-expire seconds or more before now), so that fp-diff's memory
 * stays bounded on an endless stream too: their scores are in the
 * aggregates already, and a later record of the id starts afresh. Not
 * while a band chart may need them (--svg). -1 out of memory (nothing
 * forgotten then). */
static int prom_forget(run *R, double now)
{
    if (R->S->svg) return 0;
    bool *keep = malloc((R->wt.n + 1) * sizeof *keep);
    if (!keep) return -1;
    for (size_t i = 0; i < R->wt.n; i++) {
        const wl *w = WL(R, i);
        keep[i] = !(!isnan(w->finished_at) && now - w->finished_at >= R->S->textfile_expire);
    }
    long dropped = fp_idtable_keep(&R->wt, keep);
    free(keep);
    if (dropped < 0) return -1;
    R->forgotten += dropped;
    return 0;
}

/* R's state into R->prom (cleared first). */
static int prom_fill(run *R, fp_err *err)
{
    fp_promfile *P = R->prom;
    char name[96], ql[32];
    int rc = 0;
    fp_promfile_clear(P);
    double now = mono_s();
    if (prom_forget(R, now) < 0) return fp_err_set(err, FP_ESYS, "out of memory");
    bool *listed = malloc((R->wt.n + 1) * sizeof *listed);
    int n_listed = listed ? prom_listed(R, now, listed) : -1;
    if (n_listed < 0) {
        free(listed);
        return fp_err_set(err, FP_ESYS, "out of memory");
    }
    for (size_t i = 0; i < R->wt.n && rc == 0; i++) {
        if (!listed[i]) continue;
        const wl *w = WL(R, i);
        for (int r = 0; r < FP_RES_COUNT && rc == 0; r++) {
            const char *rn = fp_resource_name((fp_resource)r), *u = prom_unit((fp_resource)r);
            for (int k = 0; w->has_pred && k < w->q[r].n && rc == 0; k++) {
                prom_level(w->q[r].level[k], ql, sizeof ql);
                const char *l[] = { "id", w->id, "resource", rn, "level", ql, NULL };
                snprintf(name, sizeof name, "fp_prediction_%s", u);
                rc = fp_promfile_set(P, name, l, w->q[r].value[k], err);
            }
            const char *l[] = { "id", w->id, "resource", rn, NULL };
            snprintf(name, sizeof name, "fp_usage_%s", u);
            if (rc == 0 && isfinite(w->last_use[r])) rc = fp_promfile_set(P, name, l, w->last_use[r], err);
            if (rc == 0 && isfinite(w->last_err[r]))
                rc = fp_promfile_set(P, "fp_under_provisioned", l, w->last_err[r] > 0, err);
            if (rc == 0 && isfinite(w->last_err[r]))
                rc = fp_promfile_set(P, "fp_allocation_error_ratio", l, w->last_err[r], err);
            if (rc == 0 && w->pos[r] != 2) rc = fp_promfile_set(P, "fp_outside_band", l, w->pos[r], err);
        }
        const struct { const char *knob; fp_resource r; double v; } lim[] = {
            { "cpu_max", FP_RES_CPU, w->cpu_max }, { "cpu_weight", FP_RES_CPU, w->cpu_weight },
            { "mem_high", FP_RES_MEM, w->mem_high }, { "mem_max", FP_RES_MEM, w->mem_max },
            { "io_read", FP_RES_DISK_READ, w->io_read }, { "io_write", FP_RES_DISK_WRITE, w->io_write },
            { "net_tx", FP_RES_NET_TX, w->net_tx } };
        for (size_t k = 0; w->has_alloc && k < sizeof lim / sizeof lim[0] && rc == 0; k++) {
            if (!isfinite(lim[k].v)) continue;
            const char *l[] = { "id", w->id, "resource", fp_resource_name(lim[k].r), "knob", lim[k].knob, NULL };
            snprintf(name, sizeof name, "fp_allocation_limit_%s", prom_unit(lim[k].r));
            rc = fp_promfile_set(P, name, l, lim[k].v, err);
        }
    }
    const struct { const char *name; const fp_score *s; long unmatched; } sec[2] = {
        { "actuals", &R->actuals, R->unmatched_actuals }, { "samples", &R->samples, R->unmatched_samples } };
    for (int k = 0; k < 2 && rc == 0; k++) {
        const fp_score *s = sec[k].s;
        const char *l[] = { "section", sec[k].name, NULL };
        rc = fp_promfile_set(P, "fp_scored_total", l, (double)s->n, err);
        if (rc == 0) rc = fp_promfile_set(P, "fp_unmatched_total", l, (double)sec[k].unmatched, err);
        if (rc == 0) rc = fp_promfile_set(P, "fp_failed_total", l, (double)s->failed, err);
        if (rc == 0 && s->r[FP_RES_CPU].n_alloc)
            rc = fp_promfile_set(P, "fp_wasted_core_seconds_total", l, s->r[FP_RES_CPU].wasted_h * 3600, err);
        if (rc == 0 && s->r[FP_RES_MEM].n_alloc)
            rc = fp_promfile_set(P, "fp_wasted_byte_seconds_total", l, s->r[FP_RES_MEM].wasted_h * 3600, err);
        for (int r = 0; r < FP_RES_COUNT && rc == 0; r++) {
            const fp_score_res *X = &s->r[r];
            if (X->n == 0) continue;
            const char *rl[] = { "section", sec[k].name, "resource", fp_resource_name((fp_resource)r), NULL };
            static const struct { const char *metric, *name; } m[] = {
                { "under_rate", "fp_under_ratio" }, { "slack", "fp_slack_ratio" },
                { "pinball_rel", "fp_pinball_loss_ratio" } };
            for (size_t j = 0; j < sizeof m / sizeof m[0] && rc == 0; j++) {
                double v = fp_score_metric(s, m[j].metric, (fp_resource)r, NULL);
                if (isfinite(v)) rc = fp_promfile_set(P, m[j].name, rl, v, err);
            }
            for (int j = 0; j < X->nl && rc == 0; j++) {
                if (!X->lv[j].n) continue;
                prom_level(X->lv[j].level, ql, sizeof ql);
                const char *cl[] = { "section", sec[k].name, "resource", fp_resource_name((fp_resource)r),
                                     "level", ql, NULL };
                rc = fp_promfile_set(P, "fp_coverage_ratio", cl, (double)X->lv[j].covered / (double)X->lv[j].n,
                                     err);
            }
        }
    }
    if (rc == 0) rc = fp_promfile_set(P, "fp_errors_total", NULL, (double)R->errors, err);
    if (rc == 0) rc = fp_promfile_set(P, "fp_anomalies_total", NULL, (double)R->anomalies, err);
    if (rc == 0) rc = fp_promfile_set(P, "fp_workloads_listed", NULL, n_listed, err);
    if (rc == 0)
        rc = fp_promfile_set(P, "fp_workloads_unlisted", NULL, ((double)R->wt.n - n_listed + R->forgotten), err);
    free(listed);
    return rc;
}

/* Rewrite the textfile: when force, or when records changed it and
 * --textfile-interval has passed since the last write. */
static void prom_write(run *R, bool force)
{
    if (!R->prom) return;
    double now = mono_s();
    if (!force && (!R->prom_dirty || now - R->prom_last < R->S->textfile_every)) return;
    fp_err err = {0};
    if (prom_fill(R, &err) < 0 || fp_promfile_write(R->prom, R->S->textfile, &err) < 0) {
        fprintf(stderr, "fp-diff: --textfile %s\n", err.msg);
        set_status(R, 2);
        return;
    }
    R->prom_last = now;
    R->prom_dirty = false;
}

/* ---------------------------------------------------------------- chart */

static const char *unit_word(fp_resource r)
{
    return r == FP_RES_CPU ? "cores" : r == FP_RES_MEM ? "bytes" : "bytes/s";
}

static char *band_svg(run *R, size_t *len, fp_err *err)
{
    const chart_data *C = &R->ch;
    const wl *w = NULL;
    for (size_t i = 0; i < R->wt.n && !w; i++)
        if (charted(R, WL(R, i))) w = WL(R, i);
    char title[256];
    snprintf(title, sizeof title, "%s: %s", w ? w->id : R->S->id ? R->S->id : "no workload",
             fp_resource_name(R->S->chart_res));
    fp_chart_pt *lim = malloc(((size_t)C->limit.n + 1) * sizeof *lim);
    fp_chart_pt *use = malloc(((size_t)C->use.n + 1) * sizeof *use);
    char *svg = NULL;
    if (!lim || !use) {
        fp_err_set(err, FP_ESYS, "out of memory");
    } else {
        for (int i = 0; i < C->limit.n; i++) lim[i] = (fp_chart_pt){ C->limit.p[i].t, C->limit.p[i].mid };
        for (int i = 0; i < C->use.n; i++) use[i] = (fp_chart_pt){ C->use.p[i].t, C->use.p[i].mid };
        fp_chart_band b = {
            .title = title, .unit = unit_word(R->S->chart_res),
            .low_name = C->low[0] ? C->low : NULL, .mid_name = C->mid[0] ? C->mid : NULL,
            .high_name = C->high[0] ? C->high : NULL,
            .pred = C->pred.p, .n_pred = C->pred.n, .limit = lim, .n_limit = C->limit.n,
            .use = use, .n_use = C->use.n, .t_end = C->t_end };
        svg = fp_chart_band_svg(&b, len, err);
    }
    free(lim);
    free(use);
    return svg;
}

static char *tradeoff_svg(run *R, size_t *len, fp_err *err)
{
    const chart_data *C = &R->ch;
    int sec = 0;
    for (int i = 0; i < C->n_tp; i++)
        if (C->tp[i].n[1] > 0) sec = 1;
    int n = 0, cap = C->n_tp + C->n_sp + 1;
    fp_chart_tradeoff_pt *pts = calloc((size_t)cap, sizeof *pts);
    char (*lab)[48] = calloc((size_t)cap, sizeof *lab);
    char (*ser)[160] = calloc((size_t)cap, sizeof *ser);
    double *key = calloc((size_t)cap * 2, sizeof *key);   /* series order, level */
    char *svg = NULL;
    if (!pts || !lab || !ser || !key) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto done;
    }
    /* the policies of this run: a model's levels ascending, its applied
     * limit as a series of its own; series in the order first seen */
    for (int i = 0; i < C->n_tp; i++) {
        const tpolicy *t = &C->tp[i];
        if (t->n[sec] == 0) continue;
        const char *m = t->model[0] ? t->model : "(unnamed)";
        if (t->level < 0) {
            snprintf(ser[n], sizeof ser[n], "%s (applied limit)", m);
            snprintf(lab[n], sizeof lab[n], "limit");
        } else {
            snprintf(ser[n], sizeof ser[n], "%s", m);
            fp_quantile_key(t->level, lab[n], sizeof lab[n]);
        }
        key[2 * n] = n;
        for (int k = 0; k < n; k++)
            if (strcmp(ser[k], ser[n]) == 0) { key[2 * n] = key[2 * k]; break; }
        key[2 * n + 1] = t->level;
        pts[n] = (fp_chart_tradeoff_pt){ NULL, NULL,
                                         /* nothing allocated: nothing unused */
                                         t->alloc_sum[sec] > 0 ? t->slack_sum[sec] / t->alloc_sum[sec] : 0,
                                         (double)t->under[sec] / (double)t->n[sec] };
        n++;
    }
    /* sort by (series order, level); labels and names move with the points */
    int *ord = calloc((size_t)cap, sizeof *ord);
    if (!ord) {
        fp_err_set(err, FP_ESYS, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) ord[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            const double *a = &key[2 * ord[j - 1]], *b = &key[2 * ord[j]];
            if (a[0] < b[0] || (a[0] == b[0] && a[1] <= b[1])) break;
            int t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t;
        }
    fp_chart_tradeoff_pt *sorted = calloc((size_t)cap, sizeof *sorted);
    if (!sorted) {
        free(ord);
        fp_err_set(err, FP_ESYS, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        sorted[i] = pts[ord[i]];
        sorted[i].series = ser[ord[i]];
        sorted[i].label = lab[ord[i]];
    }
    free(ord);
    free(pts);
    pts = sorted;
    /* score points: by series (in order of first appearance), then level,
     * so that each series' line joins its levels in order */
    spoint sp[SCORE_PTS_MAX];
    int first[SCORE_PTS_MAX];
    memcpy(sp, C->sp, (size_t)C->n_sp * sizeof *sp);
    for (int i = 0; i < C->n_sp; i++) {
        first[i] = i;
        for (int j = 0; j < i; j++)
            if (strcmp(sp[j].series, sp[i].series) == 0) { first[i] = first[j]; break; }
    }
    for (int i = 1; i < C->n_sp; i++)          /* insertion sort: stable, n <= 64 */
        for (int j = i; j > 0; j--) {
            if (first[j - 1] < first[j] || (first[j - 1] == first[j] && sp[j - 1].level <= sp[j].level))
                break;
            spoint t = sp[j - 1]; sp[j - 1] = sp[j]; sp[j] = t;
            int f = first[j - 1]; first[j - 1] = first[j]; first[j] = f;
        }
    for (int i = 0; i < C->n_sp; i++) {
        pts[n] = (fp_chart_tradeoff_pt){ sp[i].series, sp[i].label, sp[i].slack, sp[i].violation };
        n++;
    }
    char title[160];
    snprintf(title, sizeof title, "slack against violations: %s (%s)", fp_resource_name(R->S->chart_res),
             C->n_tp ? (sec ? "samples" : "actuals") : "score records");
    fp_chart_tradeoff tc = { .title = title, .pts = pts, .n = n };
    svg = fp_chart_tradeoff_svg(&tc, len, err);
done:
    free(pts);
    free(lab);
    free(ser);
    free(key);
    return svg;
}

/* Draw the chart into --svg. */
/* Whether the chart has what it is for: the band chart the samples of
 * its resource (the use it sets the prediction against), the trade-off
 * chart at least one point. Says what is missing when not. */
static bool chart_has_data(run *R)
{
    const chart_data *C = &R->ch;
    const char *rn = fp_resource_name(R->S->chart_res);
    if (R->S->chart == CH_TRADEOFF) {
        int pts = C->n_sp;
        for (int i = 0; i < C->n_tp; i++) pts += C->tp[i].n[0] + C->tp[i].n[1] > 0;
        if (pts > 0) return true;
        fprintf(stderr, "fp-diff: --svg %s: nothing to draw: no %s observation was scored against a "
                "prediction or an allocation, and no score record has %s (the chart says \"no data\")\n",
                R->S->svg, rn, rn);
        return false;
    }
    for (int i = 0; i < C->use.n; i++)
        if (isfinite(C->use.p[i].mid)) return true;
    fprintf(stderr, "fp-diff: --svg %s: no sample of %s%s%s in the input: no usage to draw (capture with "
            "samples: fp-capture without --no-samples, fp-run --samples)\n", R->S->svg, rn,
            R->S->id ? " for id " : "", R->S->id ? R->S->id : "");
    return false;
}

static void write_svg(run *R)
{
    fp_err err = {0};
    if (!chart_has_data(R)) set_status(R, 4);
    size_t len = 0;
    char *svg = R->S->chart == CH_TRADEOFF ? tradeoff_svg(R, &len, &err) : band_svg(R, &len, &err);
    if (svg && strcmp(R->S->svg, "-") == 0) {
        /* the chart is the output (the records went nowhere) */
        if (fwrite(svg, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "fp-diff: --svg -: standard output: %s\n", strerror(errno));
            set_status(R, 2);
        }
    } else if (!svg || fp_chart_save(R->S->svg, svg, len, &err) < 0) {
        fprintf(stderr, "fp-diff: --svg %s\n", err.msg);
        set_status(R, 2);
    }
    if (R->ch.tp_dropped)
        fprintf(stderr, "fp-diff: --chart tradeoff: %ld observation(s) of policies beyond the first %d "
                "not drawn\n", R->ch.tp_dropped, TRADEOFF_MAX);
    if (R->ch.sp_dropped)
        fprintf(stderr, "fp-diff: --chart tradeoff: %ld score record(s) beyond the first %d not drawn\n",
                R->ch.sp_dropped, SCORE_PTS_MAX);
    free(svg);
}

/* Whether path can be written (its directory is writable and it is not a
 * directory), before any input is read; prints why not. */
static int check_writable(const char *opt, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat st;
    if (!*(slash ? slash + 1 : path)) {
        fprintf(stderr, "fp-diff: %s %s: not a file name\n", opt, path);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "fp-diff: %s %s: cannot write in %s: %s\n", opt, path, dir, strerror(errno));
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fp-diff: %s %s: is a directory\n", opt, path);
        return -1;
    }
    return 0;
}

static int join_mode(const settings *S)
{
    run R = { .S = S, .out = stdout, .input = "<stdin>", .prom_last = -INFINITY };
    fp_idtable_init(&R.wt, sizeof(wl));   /* out of memory shows at the first record */
    R.ch.t_end = NAN;
    fp_score_init(&R.actuals);
    fp_score_init(&R.samples);
    /* --svg -: the chart on standard output, in place of the records */
    FILE *devnull = NULL;
    if (S->svg && strcmp(S->svg, "-") == 0) {
        if (!(devnull = fopen("/dev/null", "we"))) {
            fprintf(stderr, "fp-diff: /dev/null: %s\n", strerror(errno));
            fp_idtable_clear(&R.wt);
            return 2;
        }
        R.out = devnull;
    }
    if ((S->svg && strcmp(S->svg, "-") != 0 && check_writable("--svg", S->svg) < 0) ||
        (S->textfile && check_writable("--textfile", S->textfile) < 0)) {
        fp_idtable_clear(&R.wt);
        return 2;
    }
    if (S->textfile) {
        fp_err err = {0};
        R.prom = fp_promfile_new();
        for (size_t i = 0; R.prom && i < sizeof prom_families / sizeof prom_families[0]; i++)
            if (fp_promfile_declare(R.prom, prom_families[i].name, prom_families[i].type,
                                    prom_families[i].help, &err) < 0) {
                fprintf(stderr, "fp-diff: %s\n", err.msg);   /* a bug: names are fixed */
                fp_promfile_free(R.prom);
                fp_idtable_clear(&R.wt);
                return 2;
            }
        if (!R.prom) {
            fputs("fp-diff: out of memory\n", stderr);
            fp_idtable_clear(&R.wt);
            return 2;
        }
    }
    int rc = 0;
    rc = cli_each_input("fp-diff", S->inputs, S->n_inputs, read_cb, &R);
    if (rc == -2) {
        set_status(&R, 2);
        rc = -1;
    }
    if (rc == 0) {
        json_t *sum = fp_record_new("score", NULL, R.t_max, 0);
        json_object_set_new(sum, "actual_stat", json_string(stat_names[S->stat]));
        if (S->level > 0) {
            char key[32];
            fp_quantile_key(S->level, key, sizeof key);
            json_object_set_new(sum, "quantile", json_string(key));
        } else {
            json_object_set_new(sum, "quantile", json_string("highest"));
        }
        json_object_set_new(sum, "tolerance", fp_json_num(S->tolerance));
        json_t *a = fp_score_to_json(&R.actuals), *s = fp_score_to_json(&R.samples);
        json_object_set_new(a, "unmatched", json_integer(R.unmatched_actuals));
        json_object_set_new(s, "unmatched", json_integer(R.unmatched_samples));
        json_object_set_new(sum, "actuals", a);
        json_object_set_new(sum, "samples", s);
        json_object_set_new(sum, "errors", json_integer(R.errors));
        json_object_set_new(sum, "anomalies", json_integer(R.anomalies));
        json_t *ex = json_array();
        check_fail(&R, ex);
        json_object_set_new(sum, "exceeded", ex);
        emit(&R, sum);
        if (S->table) {
            print_section("actuals", &R.actuals, R.unmatched_actuals, "workloads");
            print_section("samples", &R.samples, R.unmatched_samples, "samples");
            fprintf(stderr, "anomalies: %ld\n", R.anomalies);
        }
        if (S->svg) write_svg(&R);
        if (R.prom && R.status != 2) prom_write(&R, true);
    }
    fp_idtable_clear(&R.wt);
    free(R.ch.pred.p);
    free(R.ch.limit.p);
    free(R.ch.use.p);
    free(R.ch.tp);
    fp_promfile_free(R.prom);
    if (devnull) fclose(devnull);
    return R.status;
}

/* ---------------------------------------------------------------- compare */

typedef struct side {
    const char *file;
    json_t *fp, *actual;           /* the last of each (matching --id) */
} side;

/* fp_read_records handlers of read_side: keep the last fingerprint and
 * the last actual (of --id when given); drop the rest. */
typedef struct side_reading {
    const settings *S;
    side *sd;
} side_reading;

static int keep_last(const side_reading *g, json_t **slot, json_t *rec)
{
    const char *id = record_id(rec);
    if (!g->S->id || (id && strcmp(id, g->S->id) == 0)) {
        json_decref(*slot);
        *slot = rec;
    } else {
        json_decref(rec);
    }
    return 0;
}

static int side_fp(void *arg, json_t *rec, long line)
{
    side_reading *g = arg;
    return keep_last(g, &g->sd->fp, rec);
}

static int side_actual(void *arg, json_t *rec, long line)
{
    side_reading *g = arg;
    return keep_last(g, &g->sd->actual, rec);
}

/* Read file into sd. 0, or the exit status. */
static int read_side(const settings *S, side *sd)
{
    FILE *f = strcmp(sd->file, "-") == 0 ? stdin : fopen(sd->file, "r");
    if (!f) {
        fprintf(stderr, "fp-diff: %s: %s\n", sd->file, strerror(errno));
        return 2;
    }
    fp_reader *rd = fp_reader_new(f, sd->file, S->skip_bad);
    int status = 0;
    if (!rd) {
        fputs("fp-diff: out of memory\n", stderr);
        status = 2;
    }
    static const fp_record_handler on[] = {
        {"fingerprint", side_fp}, {"actual", side_actual}, {NULL, NULL}};
    const fp_read_loop L = {.on = on};
    side_reading g = {S, sd};
    fp_err err = {0};
    if (rd && fp_read_records(rd, &L, &g, &err) < 0) {
        fprintf(stderr, "fp-diff: %s\n", err.msg);
        status = fp_exit_code(&err);
    }
    fp_reader_free(rd);
    if (f != stdin) fclose(f);
    return status;
}

static json_t *side_json(const side *sd, const json_t *rec)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(sd->file));
    json_t *id = json_object_get(rec, "id"), *t = json_object_get(rec, "t");
    json_object_set(o, "id", id ? id : json_null());
    json_object_set(o, "t", t ? t : json_null());
    return o;
}

/* The peak and p95 of every resource of an actual, as name -> value. */
static json_t *actual_features(const json_t *rec)
{
    json_t *o = json_object();
    static const char *const st[] = { "peak", "p95" };
    for (int r = 0; r < FP_RES_COUNT; r++)
        for (int k = 0; k < 2; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", fp_resource_name((fp_resource)r), st[k]);
            json_t *v = json_object_get(rec, name);
            json_object_set(o, name, json_is_number(v) ? v : json_null());
        }
    return o;
}

static int compare_mode(const settings *S)
{
    side sd[2] = { { .file = S->inputs[0] }, { .file = S->inputs[1] } };
    int status = 0;
    for (int i = 0; i < 2 && !status; i++) status = read_side(S, &sd[i]);
    const char *kind = NULL;
    json_t *fa = NULL, *fb = NULL, *ra = NULL, *rb = NULL;
    if (!status) {
        if (sd[0].fp && sd[1].fp) {
            kind = "fingerprint";
            ra = sd[0].fp;
            rb = sd[1].fp;
            fa = json_incref(json_object_get(ra, "features"));
            fb = json_incref(json_object_get(rb, "features"));
        } else if (sd[0].actual && sd[1].actual) {
            kind = "actual";
            ra = sd[0].actual;
            rb = sd[1].actual;
            fa = actual_features(ra);
            fb = actual_features(rb);
        } else {
            /* name the file that lacks what the other has */
            int i = (sd[1].fp && !sd[0].fp) || (sd[1].actual && !sd[0].actual) ? 0 : 1;
            if (!sd[0].fp && !sd[0].actual) i = 0;
            const side *o = &sd[1 - i];
            fprintf(stderr, "fp-diff: %s: no %s record%s%s%s to compare with %s (to join predictions "
                    "with actuals from two files, use --join)\n", sd[i].file,
                    o->fp ? "fingerprint" : o->actual ? "actual" : "fingerprint or actual",
                    S->id ? " of id \"" : "", S->id ? S->id : "", S->id ? "\"" : "", o->file);
            status = 3;
        }
    }
    int k = S->top, n_top = 0, n_common = 0, skipped = 0;
    fp_moved *top = NULL;
    double dist = NAN;
    if (!status) {
        top = calloc((size_t)k, sizeof *top);
        fp_err err = {0};
        if (!top) {
            fputs("fp-diff: out of memory\n", stderr);
            status = 2;
        } else if (fp_distance_json(fa, fb, FP_DIFF_EPS, k, top, &n_top, &dist, &n_common, &skipped,
                                    &err) < 0) {
            fprintf(stderr, "fp-diff: %s: %s\n", sd[0].file, err.msg);
            status = fp_exit_code(&err);
        } else if (n_common == 0) {
            fprintf(stderr, "fp-diff: %s and %s have no %s value in common\n", sd[0].file, sd[1].file,
                    kind);
            status = 3;
        }
    }
    if (!status) {
        json_t *c = fp_record_new("comparison", NULL, 0, 0);
        json_object_del(c, "t");
        json_object_set_new(c, "kind", json_string(kind));
        json_object_set_new(c, "a", side_json(&sd[0], ra));
        json_object_set_new(c, "b", side_json(&sd[1], rb));
        json_object_set_new(c, "method", json_string("relative"));
        json_object_set_new(c, "distance", fp_json_num(dist));
        json_object_set_new(c, "compared", json_integer(n_common));
        json_object_set_new(c, "skipped", json_integer(skipped));
        bool exceeded = isfinite(S->threshold) && dist > S->threshold;
        if (isfinite(S->threshold)) {
            json_object_set_new(c, "threshold", fp_json_num(S->threshold));
            json_object_set_new(c, "exceeded", json_boolean(exceeded));
        }
        json_t *arr = json_array();
        for (int i = 0; i < n_top; i++) {
            json_t *m = json_object();
            json_object_set_new(m, "name", json_string(top[i].name));
            json_object_set_new(m, "a", fp_json_num(top[i].a));
            json_object_set_new(m, "b", fp_json_num(top[i].b));
            json_object_set_new(m, "delta", fp_json_num(top[i].b - top[i].a));
            json_object_set_new(m, "change", fp_json_num(top[i].change));
            json_array_append_new(arr, m);
        }
        json_object_set_new(c, "top", arr);
        fp_err err = {0};
        if (fp_record_write(stdout, c, &err) < 0 || fflush(stdout) != 0) {
            fprintf(stderr, "fp-diff: write: %s\n", strerror(errno));
            status = 2;
        }
        json_decref(c);
        if (S->table) {
            fprintf(stderr, "%s distance %.4g over %d values (%d skipped)\n", kind, dist, n_common,
                    skipped);
            fprintf(stderr, "  %-40s %14s %14s %9s\n", "name", "a", "b", "change");
            for (int i = 0; i < n_top; i++) {
                /* in the unit the name says (mem_bytes_peak: MiB, GiB) */
                char va[48], vb[48];
                fp_unit u = fp_fmt_unit_of(top[i].name);
                fprintf(stderr, "  %-40s %14s %14s %+9.4f\n", top[i].name,
                        fp_fmt(top[i].a, u, va, sizeof va), fp_fmt(top[i].b, u, vb, sizeof vb),
                        top[i].change);
            }
        }
        if (exceeded && !status) {
            fprintf(stderr, "fp-diff: distance %.6g is above the threshold %.6g (moved most: %s)\n",
                    dist, S->threshold, n_top ? top[0].name : "-");
            status = 1;
        }
    }
    free(top);
    json_decref(fa);
    json_decref(fb);
    for (int i = 0; i < 2; i++) {
        json_decref(sd[i].fp);
        json_decref(sd[i].actual);
    }
    return status;
}

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) return a > 0 ? 0 : 2;
    int status = S.compare ? compare_mode(&S) : join_mode(&S);
    if (fclose(stdout) != 0) {
        fprintf(stderr, "fp-diff: write: %s\n", strerror(errno));
        return 2;
    }
    return status;
}
