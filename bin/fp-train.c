/* fp-train - learn a model from fingerprints and actuals, or from samples.
 *
 * Fingerprint models (linear, knn): by default one row per workload id,
 * the features of its first fingerprint (or the one whose window is
 * closest to --window) and the lifetime --target of its actual; with
 * --from-samples one row per checkpoint of every sample stream (every
 * --every seconds), the features of the samples so far and the peak of
 * each resource over the next --horizon seconds. History models (vpa,
 * autopilot) observe every sample in order. The model is written
 * atomically, with its provenance. See fp-train(1).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fp.h"
#include "fp/dataset.h"
#include "fp/diff.h"
#include "fp/features.h"
#include "fp/model.h"

typedef struct settings {
    const char *kind;                  /* NULL: linear, or the --update model's */
    fp_model_opts mo;
    fp_train_opts to;
    bool levels_set, kind_set, hyper_set;
    const char *out, *update;
    const char *group_by;
    const char *target;                /* NULL: peak, or the --update model's */
    double window;                     /* NAN: the first fingerprint */
    double every, horizon;             /* NAN: defaults (10, 60) */
    bool from_samples, skip_bad, quiet;
    int progress;                      /* -1 auto (standard error a terminal), 0 off, 1 on */
    bool calibrate;                    /* --no-calibrate clears it */
    fp_calib_opts co;
    int max_steps;                     /* sequence models: steps per example */
    const char *nf_config;             /* --nextflow-config FILE */
    fp_nfc_opts nfo;
    bool nfo_set;
    const char *prior;                 /* --prior: train, empty, off; NULL: the default */
    fp_prior_opts po;
    bool prior_opts_set;               /* --prior-key, --prior-keep or --prior-keys */
    char **inputs;
    int n_inputs;
} settings;

/* A workload of fingerprint+actual training. */
typedef struct wl {
    char *id;
    double *x;                         /* the chosen fingerprint's features */
    double window_s, ts;
    double fp_t;                       /* the fingerprint's t (end of its window) */
    json_t *meta;
    bool has_fp, has_actual;
    double y[FP_RES_COUNT];
    double censored[FP_RES_COUNT];     /* memory of a run killed under a limit */
} wl;

/* A sample stream of --from-samples training, or a history workload. */
typedef struct stream {
    char *id;
    bool live;
    fp_window *w;
    json_t *meta;                      /* of the latest fingerprint of the id */
    double next_due;
    size_t n, cap;                     /* samples */
    double *col[1 + FP_RES_COUNT];     /* t, then each resource */
    size_t nc, ccap;                   /* checkpoints */
    double *ct, *cx;
    double last_oom;
    double *rows;                      /* sequence models: n x sdim sample rows */
    size_t *ck;                        /* samples seen at each checkpoint */
} stream;

/* A sequence example: the samples of stream s before index end. */
typedef struct sref {
    size_t s, end;
} sref;

typedef struct run {
    const settings *S;
    fp_model *m;
    fp_featmap *fm;
    fp_groupby *gb;
    bool history;
    const char *stat;
    double every, horizon;
    int res_metric[FP_RES_COUNT];
    fp_idtable wt;                     /* wl by id */
    fp_idtable st;                     /* stream by id */
    double *xbuf;
    fp_dataset *ds;
    bool feat, seq, autom;             /* features wanted, sample rows wanted, --model auto */
    fp_model *seqm;                    /* the model that maps samples to rows */
    bool own_seqm;
    int sdim;
    sref *sr;                          /* per dataset row (sequence models) */
    size_t nsr, capsr;
    json_t *auto_info;                 /* --model auto: the candidates' costs */
    char **keys;                       /* per dataset row: its prior key (NULL: none) */
    double *kcens;                     /* per dataset row: censored memory peak (NaN: none) */
    size_t nkeys, capkeys;
    long n_fp, n_actual, n_sample, n_other, n_bad, n_observed, n_fallback;
    int status;
    const char *input;
    long line;
} run;

static void usage(FILE *f)
{
    fputs("usage: fp-train [options] [FILE...] -o MODEL\n"
          "       fp-train --update MODEL [options] [FILE...] [-o NEW]\n"
          "       fp-train --nextflow-config FILE [--config-*] [TRACE|FILE...]\n"
          "Learn a model from fingerprint and actual records joined by id, or from sample\n"
          "streams; write it (JSON, atomically) with its provenance.\n"
          "  -o, --output FILE       the model file to write (-: standard output)\n"
          "  -M, --model-kind KIND   linear (default), knn, vpa, autopilot, lstm, gru,\n"
          "                          transformer, or auto (train the candidates, keep the\n"
          "                          one of lowest validation cost; see fp-train(1))\n"
          "  -u, --update MODEL      continue training MODEL with new records (writes back to\n"
          "                          MODEL unless -o)\n"
          "      --target STAT       lifetime target from actuals: peak (default) or p95\n"
          "      --relative RES=FEATURE  learn resource RES as a multiple of the fingerprint's\n"
          "                          FEATURE (e.g. mem_bytes=mem_bytes_max); repeatable\n"
          "      --window S          use the fingerprint whose window_s is closest to S\n"
          "                          (default: the first fingerprint of each id)\n"
          "      --from-samples      learn from sample streams: features of the samples so far\n"
          "                          at checkpoints, target the peak over the next horizon\n"
          "      --every S           seconds between checkpoints (default 10)\n"
          "      --horizon S         seconds ahead of a checkpoint (default 60)\n"
          "      --levels L,...      quantile levels (default 0.5,0.9,0.99)\n"
          "      --epochs N          at most N epochs (default 200)\n"
          "      --batch N           mini-batch rows (default 32)\n"
          "      --lr X              learning rate (default 0.01)\n"
          "      --l2 X              L2 penalty on weights (default 1e-4)\n"
          "      --k N               knn: neighbours (default 5, at most 16)\n"
          "      --val-frac F        share of workload groups held out (default 0.2; 0 none)\n"
          "      --patience N        stop after N epochs without improvement (default 10)\n"
          "      --seed N            random seed (default 1): same seed, same model\n"
          "      --hidden N          sequence models: hidden units (default 32)\n"
          "      --layers N          transformer layers, 1-2 (default 1)\n"
          "      --heads N           transformer heads, 1-4 dividing --hidden (default 2)\n"
          "      --ctx N             transformer window in steps (default 64)\n"
          "      --bptt N            truncated back-propagation length in steps (default 64)\n"
          "      --dropout F         dropout on the head's input, [0,1) (default 0)\n"
          "      --weight-decay X    decoupled weight decay (default 0)\n"
          "      --clip X            gradient norm clip, 0 off (default 1)\n"
          "      --threads N         threads across the batch (default 1)\n"
          "      --max-steps N       sequence models: at most the N most recent samples per\n"
          "                          example (default 512)\n"
          "      --no-calibrate      no calibration (by default the quantiles are corrected\n"
          "                          so that pNN covers NN% of held-out workload groups)\n"
          "      --calibrate-folds N folds of groups for the calibration (default 5)\n"
          "      --calibrate-method M  log1p (multiplicative, default), add or auto\n"
          "      --group-by G        validation groups: id (default), meta.KEY or\n"
          "                          meta.KEY~REGEX (e.g. meta.task~DA[0-9]+)\n"
          "      --prior MODE        per-key history inside the model: train (default: from\n"
          "                          the training examples), empty (on, no keys: filled by\n"
          "                          fp-run --learn), off (none); see fp-train(1)\n"
          "      --prior-key SPEC    the identity key: auto (default: meta.key, meta.cmd,\n"
          "                          meta.process, meta.image), or a comma-separated list of\n"
          "                          id, meta.KEY, meta.KEY~REGEX\n"
          "      --prior-keep N      peaks kept per key (default 64, at most 256)\n"
          "      --prior-keys N      keys kept, the least recently updated evicted (default 1000)\n"
          "      --skip-bad          skip malformed lines and records instead of stopping\n"
          "      --nextflow-config FILE  no model: write a Nextflow configuration (per process\n"
          "                          memory, cpus, retries) from task history: Nextflow or sacct\n"
          "                          traces, or actual records (-: standard output); a summary\n"
          "                          of what it would have saved on standard error\n"
          "      --config-quantile Q quantile of each process's peaks (default 0.99), or\n"
          "                          least-waste: the peak of least waste on the history\n"
          "      --config-margin F   headroom over it (default 0.05)\n"
          "      --config-retries N  retries with memory x attempt (default 2)\n"
          "      --config-min-tasks N  fewer completed tasks: process left out (default 3)\n"
          "      --progress          show the training's progress (epoch, loss, elapsed time,\n"
          "                          what remains) on standard error: redrawn in place on a\n"
          "                          terminal, a line per epoch elsewhere (default: only when\n"
          "                          standard error is a terminal); --no-progress: never\n"
          "  -q, --quiet             nothing on standard error but errors and warnings\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: 0 written, 2 usage or system error, 3 bad input or nothing to learn.\n", f);
}

static int num_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
    return cli_number("fp-train", opt, s, lo, hi, out);
}

static int int_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
    if (num_arg(opt, s, lo, hi, out) < 0) return -1;
    if (*out != floor(*out)) {
        fprintf(stderr, "fp-train: %s wants a whole number, not \"%s\"\n", opt, s);
        return -1;
    }
    return 0;
}

static int parse_levels(const char *s, fp_model_opts *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    o->nlevels = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double v = tok[0] == 'p' ? fp_quantile_level(tok) : strtod(tok, NULL);
        char *end = NULL;
        if (tok[0] != 'p') {
            errno = 0;
            v = strtod(tok, &end);
            if (errno || end == tok || *end) v = -1;
        }
        if (!(v > 0 && v < 1) || o->nlevels == FP_QMAX ||
            (o->nlevels && !(v > o->levels[o->nlevels - 1]))) {
            fprintf(stderr, "fp-train: --levels wants up to %d ascending levels in (0,1) such as "
                    "0.5,0.9,0.99, not \"%s\"\n", FP_QMAX, s);
            return -1;
        }
        o->levels[o->nlevels++] = v;
    }
    if (!o->nlevels) {
        fprintf(stderr, "fp-train: --levels wants at least one level\n");
        return -1;
    }
    return 0;
}

/* Options into S; 0, 1 for --help/--version, -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_TARGET = 256, O_WINDOW, O_SAMPLES, O_EVERY, O_HORIZON, O_LEVELS, O_EPOCHS, O_BATCH,
           O_LR, O_L2, O_K, O_VAL, O_PAT, O_SEED, O_GROUP, O_SKIP, O_HIDDEN, O_LAYERS, O_HEADS,
           O_CTX, O_BPTT, O_DROPOUT, O_WD, O_CLIP, O_THREADS, O_MAXSTEPS, O_NOCAL, O_CALFOLDS,
           O_CALMETHOD, O_NFCONFIG, O_CQ, O_CMARGIN, O_CRETRIES, O_CMIN, O_RELATIVE,
           O_PRIOR, O_PRIORKEY, O_PRIORKEEP, O_PRIORKEYS, O_PROGRESS, O_NOPROGRESS };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"model-kind", required_argument, 0, 'M'},
        {"model", required_argument, 0, 'M'},  /* the older spelling of --model-kind */
        {"update", required_argument, 0, 'u'}, {"target", required_argument, 0, O_TARGET},
        {"relative", required_argument, 0, O_RELATIVE},
        {"window", required_argument, 0, O_WINDOW}, {"from-samples", no_argument, 0, O_SAMPLES},
        {"every", required_argument, 0, O_EVERY}, {"horizon", required_argument, 0, O_HORIZON},
        {"levels", required_argument, 0, O_LEVELS}, {"epochs", required_argument, 0, O_EPOCHS},
        {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"l2", required_argument, 0, O_L2}, {"k", required_argument, 0, O_K},
        {"val-frac", required_argument, 0, O_VAL}, {"patience", required_argument, 0, O_PAT},
        {"seed", required_argument, 0, O_SEED}, {"group-by", required_argument, 0, O_GROUP},
        {"skip-bad", no_argument, 0, O_SKIP}, {"quiet", no_argument, 0, 'q'},
        {"hidden", required_argument, 0, O_HIDDEN}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS}, {"ctx", required_argument, 0, O_CTX},
        {"bptt", required_argument, 0, O_BPTT}, {"dropout", required_argument, 0, O_DROPOUT},
        {"weight-decay", required_argument, 0, O_WD}, {"clip", required_argument, 0, O_CLIP},
        {"threads", required_argument, 0, O_THREADS}, {"max-steps", required_argument, 0, O_MAXSTEPS},
        {"no-calibrate", no_argument, 0, O_NOCAL}, {"calibrate-folds", required_argument, 0, O_CALFOLDS},
        {"calibrate-method", required_argument, 0, O_CALMETHOD},
        {"nextflow-config", required_argument, 0, O_NFCONFIG}, {"config-quantile", required_argument, 0, O_CQ},
        {"config-margin", required_argument, 0, O_CMARGIN}, {"config-retries", required_argument, 0, O_CRETRIES},
        {"config-min-tasks", required_argument, 0, O_CMIN},
        {"prior", required_argument, 0, O_PRIOR}, {"prior-key", required_argument, 0, O_PRIORKEY},
        {"prior-keep", required_argument, 0, O_PRIORKEEP}, {"prior-keys", required_argument, 0, O_PRIORKEYS},
        {"progress", no_argument, 0, O_PROGRESS}, {"no-progress", no_argument, 0, O_NOPROGRESS},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    fp_model_opts_default(&S->mo);
    fp_train_opts_default(&S->to);
    S->window = S->every = S->horizon = NAN;
    S->group_by = "id";
    S->max_steps = 512;
    S->progress = -1;
    S->calibrate = true;
    fp_calib_opts_default(&S->co);
    fp_nfc_opts_default(&S->nfo);
    fp_prior_opts_default(&S->po);
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "o:M:u:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'o': S->out = optarg; break;
        case 'M': S->kind = optarg; S->kind_set = true; break;
        case 'u': S->update = optarg; break;
        case O_TARGET:
            if (strcmp(optarg, "peak") && strcmp(optarg, "p95")) {
                fprintf(stderr, "fp-train: --target wants peak or p95, not \"%s\"\n", optarg);
                return -1;
            }
            S->target = optarg;
            break;
        case O_WINDOW: if (num_arg("--window", optarg, 0, 1e9, &S->window) < 0) return -1; break;
        case O_SAMPLES: S->from_samples = true; break;
        case O_EVERY:
            if (num_arg("--every", optarg, 0.001, 1e9, &S->every) < 0) return -1;
            break;
        case O_HORIZON:
            if (num_arg("--horizon", optarg, 0.001, 1e9, &S->horizon) < 0) return -1;
            break;
        case O_LEVELS: if (parse_levels(optarg, &S->mo) < 0) return -1; S->levels_set = true; break;
        case O_RELATIVE: {
            /* RES=FEATURE: the feature name is argv's own storage */
            char *eq = strchr(optarg, '=');
            fp_resource r = FP_RES_COUNT;
            if (eq) {
                *eq = '\0';
                r = fp_resource_by_name(optarg);
                *eq = '=';
            }
            if (!eq || r == FP_RES_COUNT || !eq[1]) {
                fprintf(stderr, "fp-train: --relative wants RESOURCE=FEATURE (e.g. mem_bytes=mem_bytes_max), "
                        "not \"%s\"\n", optarg);
                return -1;
            }
            S->mo.relative[r] = eq + 1;
            break;
        }
        case O_EPOCHS: if (int_arg("--epochs", optarg, 1, 1e6, &v) < 0) return -1; S->to.epochs = (int)v; break;
        case O_BATCH: if (int_arg("--batch", optarg, 1, 1e7, &v) < 0) return -1; S->to.batch = (int)v; break;
        case O_LR:
            if (num_arg("--lr", optarg, 1e-12, 100, &S->mo.lr) < 0) return -1;
            S->hyper_set = true;
            break;
        case O_L2:
            if (num_arg("--l2", optarg, 0, 1e6, &S->mo.l2) < 0) return -1;
            S->hyper_set = true;
            break;
        case O_K:
            if (int_arg("--k", optarg, 1, FP_EXPLAIN_MAX, &v) < 0) return -1;
            S->mo.k = (int)v;
            S->hyper_set = true;
            break;
        case O_VAL: if (num_arg("--val-frac", optarg, 0, 0.95, &S->to.val_frac) < 0) return -1; break;
        case O_PAT: if (int_arg("--patience", optarg, 1, 1e6, &v) < 0) return -1; S->to.patience = (int)v; break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "fp-train: --seed wants a whole number >= 0, not \"%s\"\n", optarg);
                return -1;
            }
            S->to.seed = (uint64_t)s;
            break;
        }
        case O_GROUP: S->group_by = optarg; break;
        case O_HIDDEN: if (int_arg("--hidden", optarg, 1, 4096, &v) < 0) return -1; S->mo.hidden = (int)v; S->hyper_set = true; break;
        case O_LAYERS: if (int_arg("--layers", optarg, 1, 2, &v) < 0) return -1; S->mo.layers = (int)v; S->hyper_set = true; break;
        case O_HEADS: if (int_arg("--heads", optarg, 1, 4, &v) < 0) return -1; S->mo.heads = (int)v; S->hyper_set = true; break;
        case O_CTX: if (int_arg("--ctx", optarg, 1, 1e6, &v) < 0) return -1; S->mo.ctx = (int)v; S->hyper_set = true; break;
        case O_BPTT: if (int_arg("--bptt", optarg, 1, 1e6, &v) < 0) return -1; S->mo.bptt = (int)v; S->hyper_set = true; break;
        case O_DROPOUT: if (num_arg("--dropout", optarg, 0, 0.99, &S->mo.dropout) < 0) return -1; S->hyper_set = true; break;
        case O_WD: if (num_arg("--weight-decay", optarg, 0, 1e6, &S->mo.weight_decay) < 0) return -1; S->hyper_set = true; break;
        case O_CLIP: if (num_arg("--clip", optarg, 0, 1e9, &S->mo.clip) < 0) return -1; S->hyper_set = true; break;
        case O_THREADS: if (int_arg("--threads", optarg, 1, 256, &v) < 0) return -1; S->to.threads = (int)v; break;
        case O_MAXSTEPS: if (int_arg("--max-steps", optarg, 1, 1e7, &v) < 0) return -1; S->max_steps = (int)v; break;
        case O_NOCAL: S->calibrate = false; break;
        case O_CALFOLDS:
            if (int_arg("--calibrate-folds", optarg, 2, 1000, &v) < 0) return -1;
            S->co.folds = (int)v;
            break;
        case O_CALMETHOD: {
            int k = fp_cal_method_by_name(optarg);
            if (k != FP_CAL_LOG1P && k != FP_CAL_ADD && k != FP_CAL_AUTO) {
                fprintf(stderr, "fp-train: --calibrate-method wants log1p, add or auto, not \"%s\"\n", optarg);
                return -1;
            }
            S->co.method = (fp_cal_method)k;
            break;
        }
        case O_PRIOR:
            if (strcmp(optarg, "train") && strcmp(optarg, "empty") && strcmp(optarg, "off")) {
                fprintf(stderr, "fp-train: --prior wants train, empty or off, not \"%s\"\n", optarg);
                return -1;
            }
            S->prior = optarg;
            break;
        case O_PRIORKEY: {
            S->po.key = optarg;
            S->prior_opts_set = true;
            /* checked here: a malformed spec is a usage error */
            fp_err e = {0};
            fp_model *t = fp_model_new("vpa", NULL, &e);
            int bad = t ? fp_model_prior_enable(t, &S->po, &e) : -1;
            fp_model_free(t);
            if (bad < 0) { fprintf(stderr, "fp-train: --prior-key: %s\n", e.msg); return -1; }
            break;
        }
        case O_PRIORKEEP:
            if (int_arg("--prior-keep", optarg, 1, FP_PRIOR_KEEP_MAX, &v) < 0) return -1;
            S->po.keep = (int)v;
            S->prior_opts_set = true;
            break;
        case O_PRIORKEYS:
            if (int_arg("--prior-keys", optarg, 1, 1e6, &v) < 0) return -1;
            S->po.max_keys = (int)v;
            S->prior_opts_set = true;
            break;
        case O_SKIP: S->skip_bad = true; break;
        case O_NFCONFIG: S->nf_config = optarg; break;
        case O_CQ:
            if (!strcmp(optarg, "least-waste")) S->nfo.quantile = 0;
            else if (num_arg("--config-quantile", optarg, 1e-6, 1, &S->nfo.quantile) < 0) return -1;
            S->nfo_set = true;
            break;
        case O_CMARGIN: if (num_arg("--config-margin", optarg, 0, 10, &S->nfo.margin) < 0) return -1; S->nfo_set = true; break;
        case O_CRETRIES: if (int_arg("--config-retries", optarg, 0, 10, &v) < 0) return -1; S->nfo.max_retries = (int)v; S->nfo_set = true; break;
        case O_CMIN: if (int_arg("--config-min-tasks", optarg, 1, 1e9, &v) < 0) return -1; S->nfo.min_tasks = (int)v; S->nfo_set = true; break;
        case 'q': S->quiet = true; break;
        case O_PROGRESS: S->progress = 1; break;
        case O_NOPROGRESS: S->progress = 0; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-train (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    S->inputs = argv + optind;
    S->n_inputs = argc - optind;
    if (S->nf_config && (S->out || S->update || S->kind_set)) {
        fputs("fp-train: --nextflow-config writes a Nextflow configuration from task history, "
              "not a model (-o, --update and --model do not apply)\n", stderr);
        return -1;
    }
    if (S->nfo_set && !S->nf_config) {
        fputs("fp-train: --config-* options apply to --nextflow-config\n", stderr);
        return -1;
    }
    if (S->nf_config) return 0;
    if (!S->out && !S->update) {
        fputs("fp-train: say where the model goes: -o MODEL (or --update MODEL), or "
              "--nextflow-config FILE\n", stderr);
        return -1;
    }
    if (S->update && (S->kind_set || S->levels_set || S->hyper_set)) {
        fputs("fp-train: --update continues the model with its own kind, levels and "
              "hyper-parameters (--model, --levels, --lr, --l2, --k and the sequence model "
              "options do not apply)\n", stderr);
        return -1;
    }
    static const char *const kinds[] = {"linear", "knn", "vpa", "autopilot", "lstm", "gru",
                                        "transformer", "auto"};
    bool known = !S->kind_set;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (S->kind_set && strcmp(S->kind, kinds[i]) == 0) known = true;
    if (!known) {
        fprintf(stderr, "fp-train: --model wants linear, knn, vpa, autopilot, lstm, gru, transformer "
                "or auto, not \"%s\"\n", S->kind);
        return -1;
    }
    if (S->from_samples && S->target) {
        fputs("fp-train: --target is the lifetime target of fingerprint+actual training; with "
              "--from-samples the target is the peak over the next --horizon\n", stderr);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ state */

static void bad(run *R, const char *msg)
{
    fprintf(stderr, "fp-train: %s:%ld: %s\n", R->input, R->line, msg);
    if (R->status == 0) R->status = 3;
    R->n_bad++;
}

static void oom(run *R)
{
    fputs("fp-train: out of memory\n", stderr);
    R->status = 2;
}

#define WL(R, i) ((wl *)fp_idtable_at(&(R)->wt, (i)))
#define STREAM(R, i) ((stream *)fp_idtable_at(&(R)->st, (i)))

/* The workload of id, made on first sight (NULL: out of memory). */
static wl *find_wl(run *R, const char *id)
{
    bool created;
    wl *w = fp_idtable_add(&R->wt, id, &created);
    if (w && created) {
        for (int r = 0; r < FP_RES_COUNT; r++) w->y[r] = NAN;
        if (!(w->id = strdup(id))) return NULL;
    }
    return w;
}

static stream *find_stream(run *R, const char *id, bool create)
{
    if (!create) return fp_idtable_find(&R->st, id);
    bool created;
    stream *s = fp_idtable_add(&R->st, id, &created);
    if (!s || !created) return s;
    s->next_due = NAN;                 /* set by the first sample */
    s->last_oom = NAN;
    if (!(s->id = strdup(id))) return NULL;
    s->live = true;
    if (R->feat && R->S->from_samples && !(s->w = fp_window_new())) return NULL;
    return s;
}

static void free_stream_data(stream *s)
{
    fp_window_free(s->w);
    s->w = NULL;
    for (int i = 0; i <= FP_RES_COUNT; i++) { free(s->col[i]); s->col[i] = NULL; }
    free(s->ct);
    free(s->cx);
    free(s->ck);
    free(s->rows);
    s->ct = s->cx = s->rows = NULL;
    s->ck = NULL;
    s->n = s->cap = s->nc = s->ccap = 0;
}

/* The prior key (nullable, copied) and censored memory peak of the next
 * dataset row. */
static int add_key(run *R, const char *key, double cens)
{
    if (R->nkeys == R->capkeys) {
        size_t nc = R->capkeys ? R->capkeys * 2 : 256;
        char **nk = realloc(R->keys, nc * sizeof *nk);
        if (!nk) return -1;
        R->keys = nk;
        double *ncs = realloc(R->kcens, nc * sizeof *ncs);
        if (!ncs) return -1;
        R->kcens = ncs;
        R->capkeys = nc;
    }
    char *k = key ? strdup(key) : NULL;
    if (key && !k) return -1;
    R->keys[R->nkeys] = k;
    R->kcens[R->nkeys++] = cens;
    return 0;
}

/* The model's prior after training (--prior; fp/model.h, "History as a
 * prior"): "train" (the default for a new model) turns it on and feeds it
 * the n rows' keys and targets in input order, "empty" turns it on with no
 * keys, "off" drops it. An --update model keeps its prior (its key spec
 * unless --prior-key) and adds the rows to it, unless --prior says
 * otherwise. Models of sample streams (--from-samples: the peak over a
 * horizon, not a run's) and history models (already per workload) get
 * none. */
static int prior_after(run *R, const fp_example *ex, size_t n, fp_err *err)
{
    const settings *S = R->S;
    bool had = fp_model_prior_on(R->m, NULL);
    const char *mode = S->prior ? S->prior : S->update && !had ? "off" : "train";
    if (S->from_samples || R->history) {
        if (S->prior && strcmp(S->prior, "off") && !S->quiet)
            fprintf(stderr, "fp-train: --prior %s: a %s model gets no prior (%s)\n", S->prior,
                    R->history ? fp_model_kind(R->m) : "--from-samples",
                    R->history ? "it is per workload already" : "it predicts the peak over a "
                    "horizon, not a run's peak");
        mode = "off";
    }
    if (strcmp(mode, "off") == 0) {
        fp_model_prior_disable(R->m);
        return 0;
    }
    if (strcmp(mode, "empty") == 0) fp_model_prior_disable(R->m);
    fp_prior_opts po = S->po;
    if (had && !S->prior_opts_set && strcmp(mode, "train") == 0) fp_model_prior_on(R->m, &po);
    if (fp_model_prior_enable(R->m, &po, err) < 0) return -1;
    if (strcmp(mode, "empty") == 0) return 0;
    size_t used = 0;
    for (size_t i = 0; i < n && i < R->nkeys; i++) {
        double c[FP_RES_COUNT];
        for (int r = 0; r < FP_RES_COUNT; r++) c[r] = NAN;
        c[FP_RES_MEM] = R->kcens[i];
        double y[FP_RES_COUNT];
        memcpy(y, ex[i].y, sizeof y);
        if (isfinite(c[FP_RES_MEM])) y[FP_RES_MEM] = NAN;
        if (R->keys[i]) used++;
        if (fp_model_prior_observe(R->m, R->keys[i], y, c, err) < 0) return -1;
    }
    if (!S->quiet)
        fprintf(stderr, "fp-train: prior (key %s): %zu of %zu examples had a key; %zu keys held\n",
                po.key, used, n, fp_model_prior_keys(R->m));
    return 0;
}

/* Remember that dataset row i (just added) is the sequence of stream si
 * before sample `end`. */
static int add_sref(run *R, size_t si, size_t end)
{
    if (!R->seq) return 0;
    if (R->nsr == R->capsr) {
        size_t nc = R->capsr ? R->capsr * 2 : 256;
        sref *p = realloc(R->sr, nc * sizeof *p);
        if (!p) return -1;
        R->sr = p;
        R->capsr = nc;
    }
    R->sr[R->nsr++] = (sref){ si, end };
    return 0;
}

/* The model, made when the feature names are known (names NULL: the
 * standard features). */
static int make_model(run *R, const char *const *names, size_t n)
{
    const settings *S = R->S;
    fp_model_opts o = S->mo;
    if (names) {
        o.names = names;
        o.dim = (int)n;
    }
    fp_err err = {0};
    R->m = fp_model_new(S->kind && strcmp(S->kind, "auto") ? S->kind : "linear", &o, &err);
    if (!R->m) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        R->status = 2;
        return -1;
    }
    return 0;
}

static int model_ready(run *R)
{
    if (!R->fm && !(R->fm = fp_featmap_new(R->m))) { oom(R); return -1; }
    if (!R->xbuf && fp_model_dim(R->m) > 0 &&
        !(R->xbuf = malloc((size_t)fp_model_dim(R->m) * sizeof *R->xbuf))) { oom(R); return -1; }
    return 0;
}

static double rec_ts(const json_t *rec)
{
    json_t *j = json_object_get(rec, "ts_ms");
    return json_is_number(j) ? json_number_value(j) / 1000 : 0;
}

/* ------------------------------------------------------------ records */

static void on_fingerprint(run *R, const json_t *rec, const char *id)
{
    const settings *S = R->S;
    const json_t *meta = json_object_get(rec, "meta");
    if (R->history || S->from_samples) {       /* only the metadata counts */
        stream *s = find_stream(R, id, true);
        if (!s) { oom(R); return; }
        if (json_is_object(meta)) {
            json_decref(s->meta);
            s->meta = json_incref((json_t *)meta);
        }
        return;
    }
    fp_err err = {0};
    json_t *wj = json_object_get(rec, "window_s");
    double ws = json_is_number(wj) ? json_number_value(wj) : json_number_value(json_object_get(rec, "t"));
    json_t *tj = json_object_get(rec, "t");
    double ft = json_is_number(tj) ? json_number_value(tj) : ws;
    if (!R->feat) {                            /* a sequence model: the window's end */
        wl *w = find_wl(R, id);
        if (!w) { oom(R); return; }
        if (w->has_fp && (isnan(S->window) || !(fabs(ws - S->window) < fabs(w->window_s - S->window))))
            return;
        w->window_s = ws;
        w->fp_t = ft;
        w->ts = rec_ts(rec);
        json_decref(w->meta);
        w->meta = json_is_object(meta) ? json_incref((json_t *)meta) : NULL;
        w->has_fp = true;
        return;
    }
    if (!R->m) {
        const char **names;
        size_t n;
        if (fp_fingerprint_names(rec, &names, &n, &err) < 0) { bad(R, err.msg); return; }
        int rc = make_model(R, names, n);
        free(names);
        if (rc < 0) return;
    }
    if (model_ready(R) < 0) return;
    if (fp_featmap_vector(R->fm, rec, R->xbuf, &err) < 0) { bad(R, err.msg); return; }
    wl *w = find_wl(R, id);
    if (!w) { oom(R); return; }
    if (w->has_fp && (isnan(S->window) || !(fabs(ws - S->window) < fabs(w->window_s - S->window))))
        return;
    int dim = fp_model_dim(R->m);
    if (!w->x && !(w->x = malloc((size_t)dim * sizeof *w->x))) { oom(R); return; }
    memcpy(w->x, R->xbuf, (size_t)dim * sizeof *w->x);
    w->window_s = ws;
    w->fp_t = ft;
    w->ts = rec_ts(rec);
    json_decref(w->meta);
    w->meta = json_is_object(meta) ? json_incref((json_t *)meta) : NULL;
    w->has_fp = true;
}

/* A finished sample stream: its checkpoints become rows. */
static void finish_stream(run *R, stream *s)
{
    if (!s->live) return;
    s->live = false;
    if (!R->history && s->nc) {
        char gbuf[512];
        bool fb;
        const char *g = fp_groupby_key(R->gb, s->id, s->meta, gbuf, sizeof gbuf, &fb);
        if (fb) R->n_fallback++;
        double *peaks = malloc(s->nc * FP_RES_COUNT * sizeof *peaks);
        if (!peaks) { oom(R); free_stream_data(s); return; }
        for (int r = 0; r < FP_RES_COUNT; r++)
            fp_horizon_peaks(s->col[0], s->col[1 + r], s->n, s->ct, s->nc, R->horizon,
                             peaks + (size_t)r * s->nc);
        int dim = R->feat ? fp_model_dim(R->m) : 0;
        for (size_t k = 0; k < s->nc; k++) {
            double y[FP_RES_COUNT];
            bool any = false;
            for (int r = 0; r < FP_RES_COUNT; r++) {
                y[r] = peaks[(size_t)r * s->nc + k];
                if (isfinite(y[r])) any = true;
            }
            if (!any) continue;
            fp_err err = {0};
            if (fp_dataset_add(R->ds, R->feat ? s->cx + k * (size_t)dim : NULL, y, g, s->ct[k],
                               false, &err) < 0 ||
                add_sref(R, (size_t)(s - STREAM(R, 0)), s->ck[k]) < 0) {
                oom(R);
                break;
            }
        }
        free(peaks);
    }
    if (R->seq && !R->history) {               /* the rows stay for the examples */
        fp_window_free(s->w);
        s->w = NULL;
        for (int i = 0; i <= FP_RES_COUNT; i++) { free(s->col[i]); s->col[i] = NULL; }
        free(s->cx);
        s->cx = NULL;
    } else {
        free_stream_data(s);
    }
    json_decref(s->meta);
    s->meta = NULL;
}

static int grow_stream(const run *R, stream *s, bool checkpoint)
{
    if (!checkpoint) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 256;
            for (int i = 0; i <= FP_RES_COUNT; i++) {
                double *p = realloc(s->col[i], nc * sizeof *p);
                if (!p) return -1;
                s->col[i] = p;
            }
            if (R->seq) {
                double *p = realloc(s->rows, nc * (size_t)R->sdim * sizeof *p);
                if (!p) return -1;
                s->rows = p;
            }
            s->cap = nc;
        }
        return 0;
    }
    if (s->nc == s->ccap) {
        size_t nc = s->ccap ? s->ccap * 2 : 16;
        double *t = realloc(s->ct, nc * sizeof *t);
        if (!t) return -1;
        s->ct = t;
        size_t *k = realloc(s->ck, nc * sizeof *k);
        if (!k) return -1;
        s->ck = k;
        if (R->feat) {
            double *x = realloc(s->cx, nc * (size_t)fp_model_dim(R->m) * sizeof *x);
            if (!x) return -1;
            s->cx = x;
        }
        s->ccap = nc;
    }
    return 0;
}

static void on_sample(run *R, const json_t *rec, const char *id)
{
    fp_err err = {0};
    fp_sample smp;
    if (fp_sample_from_json(rec, &smp, &err) < 0) { bad(R, err.msg); return; }
    stream *s = find_stream(R, id, true);
    if (!s) { oom(R); return; }
    if (!s->live) return;                      /* its actual has passed */
    if (R->history) {
        double cpu = smp.why[FP_M_CPU_CORES] ? NAN : smp.v[FP_M_CPU_CORES];
        double mem = smp.why[FP_M_MEM_BYTES] ? NAN : smp.v[FP_M_MEM_BYTES];
        double ok = smp.why[FP_M_OOM_KILLS] ? NAN : smp.v[FP_M_OOM_KILLS];
        bool was_oom = isfinite(ok) && isfinite(s->last_oom) && ok > s->last_oom;
        if (isfinite(ok)) s->last_oom = ok;
        char gbuf[512];
        bool fb;
        const char *g = fp_groupby_key(R->gb, id, s->meta, gbuf, sizeof gbuf, &fb);
        fp_usage u = { g, smp.ts > 0 ? smp.ts : smp.t, cpu, mem, NAN, was_oom };
        if (fp_model_observe(R->m, &u, &err) < 0) { bad(R, err.msg); return; }
        R->n_observed++;
        return;
    }
    if (isnan(s->next_due)) s->next_due = smp.t + R->every;
    if (s->w) fp_window_add(s->w, &smp);
    if (grow_stream(R, s, false) < 0) { oom(R); return; }
    s->col[0][s->n] = smp.t;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        int mi = R->res_metric[r];
        s->col[1 + r][s->n] = mi >= 0 && !smp.why[mi] ? smp.v[mi] : NAN;
    }
    if (R->seq) fp_model_seq_row(R->seqm, &smp, s->rows + s->n * (size_t)R->sdim);
    s->n++;
    if (R->S->from_samples && smp.t >= s->next_due) {
        if (grow_stream(R, s, true) < 0) { oom(R); return; }
        if (R->feat) {
            int dim = fp_model_dim(R->m);
            if (fp_featmap_window(R->fm, s->w, s->meta, s->cx + s->nc * (size_t)dim, &err) < 0) {
                fprintf(stderr, "fp-train: %s\n", err.msg);
                R->status = 2;
                return;
            }
        }
        s->ck[s->nc] = s->n;
        s->ct[s->nc++] = smp.t;
        s->next_due = cli_next_due(s->next_due, smp.t, R->every);
    }
}

static void on_actual(run *R, const json_t *rec, const char *id)
{
    if (R->history || R->S->from_samples) {
        stream *s = find_stream(R, id, false);
        if (s) finish_stream(R, s);
        return;
    }
    fp_err err = {0};
    double y[FP_RES_COUNT];
    if (fp_actual_targets(rec, R->stat, y, &err) < 0) { bad(R, err.msg); return; }
    wl *w = find_wl(R, id);
    if (!w) { oom(R); return; }
    if (w->has_actual) return;
    memcpy(w->y, y, sizeof y);
    /* a run killed under fp's limit: its memory peak is where it was
     * killed, a lower bound (the model still learns it as given, as it
     * always has; the prior takes it as censored) */
    if (fp_actual_harm(rec, FP_RES_MEM) && isfinite(w->y[FP_RES_MEM]))
        w->censored[FP_RES_MEM] = w->y[FP_RES_MEM];
    w->has_actual = true;
}


/* fp_read_records handlers: fingerprints, actuals and samples need an id
 * (a record without one is bad input); other types are counted. */
static const char *rec_id(run *R, const json_t *rec, long line)
{
    R->line = line;
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (id && id[0]) return id;
    char msg[96];
    snprintf(msg, sizeof msg, "%s record without an \"id\"", fp_record_type(rec));
    bad(R, msg);
    return NULL;
}

static int rec_fingerprint(void *arg, json_t *rec, long line)
{
    run *R = arg;
    const char *id = rec_id(R, rec, line);
    if (id) {
        R->n_fp++;
        on_fingerprint(R, rec, id);
    }
    json_decref(rec);
    return 0;
}

static int rec_actual(void *arg, json_t *rec, long line)
{
    run *R = arg;
    const char *id = rec_id(R, rec, line);
    if (id) {
        R->n_actual++;
        on_actual(R, rec, id);
    }
    json_decref(rec);
    return 0;
}

static int rec_sample(void *arg, json_t *rec, long line)
{
    run *R = arg;
    const char *id = rec_id(R, rec, line);
    if (id) {
        R->n_sample++;
        if (R->history || R->S->from_samples || R->seq) on_sample(R, rec, id);
    }
    json_decref(rec);
    return 0;
}

static int rec_other(void *arg, json_t *rec, long line)
{
    run *R = arg;
    R->line = line;
    R->n_other++;
    json_decref(rec);
    return 0;
}

/* Stop at a system error, or at bad input without --skip-bad. */
static int rec_after(void *arg)
{
    run *R = arg;
    return R->status == 2 || (R->status == 3 && !R->S->skip_bad);
}

static int read_input(run *R, FILE *f, const char *name)
{
    const settings *S = R->S;
    fp_reader *rd = fp_reader_new(f, name, S->skip_bad);
    if (!rd) { oom(R); return -1; }
    R->input = strcmp(name, "-") == 0 ? "<stdin>" : name;
    static const fp_record_handler on[] = {
        {"fingerprint", rec_fingerprint}, {"actual", rec_actual}, {"sample", rec_sample},
        {NULL, rec_other}};
    const fp_read_loop L = {.on = on, .after = rec_after};
    fp_err err = {0};
    int rc = fp_read_records(rd, &L, R, &err);
    if (rc < 0) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        R->status = fp_exit_code(&err);
    }
    rc = rc ? -1 : 0;
    if (fp_reader_skipped(rd)) {
        fprintf(stderr, "fp-train: %s: skipped %ld malformed line(s)\n", R->input, fp_reader_skipped(rd));
        R->n_bad += fp_reader_skipped(rd);
    }
    fp_reader_free(rd);
    return rc;
}

static int read_cb(void *r, FILE *f, const char *name) { return read_input(r, f, name); }


/* ------------------------------------------------------------ --nextflow-config */

typedef struct nfc_run {
    const settings *S;
    fp_nfc *c;
    long added, skipped, n_bad;
    int status;
    const char *input;             /* the input being read, for messages */
} nfc_run;

/* fp_read_records handler of nfc_read_records: an actual record joins the
 * history (other records are dropped). */
static int nfc_actual(void *arg, json_t *rec, long line)
{
    nfc_run *N = arg;
    fp_err err = {0};
    int a = fp_nfc_add_actual(N->c, rec, &err);
    json_decref(rec);
    if (a < 0) {
        fprintf(stderr, "fp-train: %s:%ld: %s\n", N->input, line, err.msg);
        N->status = fp_exit_code(&err);
    }
    if (a > 0) N->added++;
    else N->skipped++;
    return a < 0;
}

/* A JSON-lines input: its actual records are the history. */
static int nfc_read_records(void *arg, FILE *f, const char *name)
{
    nfc_run *N = arg;
    fp_reader *rd = fp_reader_new(f, name, N->S->skip_bad);
    if (!rd) { fputs("fp-train: out of memory\n", stderr); N->status = 2; return -1; }
    N->input = strcmp(name, "-") ? name : "<stdin>";
    static const fp_record_handler on[] = {{"actual", nfc_actual}, {NULL, NULL}};
    const fp_read_loop L = {.on = on};
    fp_err err = {0};
    int rc = fp_read_records(rd, &L, N, &err);
    if (rc < 0) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        N->status = fp_exit_code(&err);
    }
    rc = rc ? -1 : 0;
    N->n_bad += fp_reader_skipped(rd);
    fp_reader_free(rd);
    return rc;
}

/* A task trace read directly (no fingerprints: fast). */
static int nfc_read_trace(nfc_run *N, const char *path)
{
    fp_err err = {0};
    fp_tasktrace *t = fp_tasktrace_open(path, NULL, &err);
    if (!t) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        N->status = fp_exit_code(&err);
        return -1;
    }
    fp_tasktrace_skip_bad(t, N->S->skip_bad);
    fp_task task;
    int rc;
    while ((rc = fp_tasktrace_next(t, &task, &err)) > 0) {
        int a = fp_nfc_add_task(N->c, &task, &err);
        fp_task_clear(&task);
        if (a < 0) { rc = -1; break; }
        if (a > 0) N->added++;
        else N->skipped++;
    }
    N->n_bad += fp_tasktrace_skipped(t);
    fp_tasktrace_free(t);
    if (rc < 0) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        N->status = fp_exit_code(&err);
        return -1;
    }
    return 0;
}

static const char *gbh(double v, char *buf, size_t n)
{
    snprintf(buf, n, v >= 100 ? "%.0f" : v >= 1 ? "%.1f" : "%.3f", v);
    return buf;
}

/* What the configuration would have done on its history, for people. */
static void nfc_summary(const nfc_run *N, const char *path)
{
    const fp_nfc_opts *o = &N->S->nfo;
    double req = 0, plan = 0;
    long retries = 0, unfit = 0;
    size_t planned = 0, compared = 0, tasks = 0;
    char how[96];
    if (o->quantile > 0) snprintf(how, sizeof how, "p%g of each process's peaks x %.2f", o->quantile * 100, 1 + o->margin);
    else snprintf(how, sizeof how, "the peak of least waste on each process's history");
    fprintf(stderr, "fp-train: %s: %ld completed task attempts; memory at the %s, retried on exit 137-140 "
            "with memory x attempt (at most %d)\n", path, N->added, how, o->max_retries);
    fprintf(stderr, "  %-40s %6s %10s %10s %5s %12s %12s %7s\n", "process", "tasks", "request",
            "memory", "cpus", "GB.h request", "GB.h config", "retries");
    char b1[32], b2[32];
    for (size_t i = 0; i < fp_nfc_processes(N->c); i++) {
        const fp_nfc_process *p = fp_nfc_process_at(N->c, i);
        const char *name = p->name;
        size_t nl = strlen(name);
        if (nl > 40) name += nl - 40;
        if (!p->planned) {
            fprintf(stderr, "  %-40s %6zu  (fewer than %d: left to the workflow's settings)\n", name,
                    p->tasks, o->min_tasks);
            continue;
        }
        planned++;
        tasks += p->tasks;
        char rq[32] = "-";
        if (isfinite(p->req_mem_bytes)) snprintf(rq, sizeof rq, "%.0f MiB", p->req_mem_bytes / 1048576);
        char mm[32];
        snprintf(mm, sizeof mm, "%.0f MiB", p->mem_bytes / 1048576);
        fprintf(stderr, "  %-40s %6zu %10s %10s %5d %12s %12s %7ld%s\n", name, p->tasks, rq, mm, p->cpus,
                p->compared ? gbh(p->waste_request_gbh, b1, sizeof b1) : "-",
                gbh(p->waste_plan_gbh, b2, sizeof b2), p->retries, p->unfit ? " (some never fit)" : "");
        if (p->compared == p->tasks) {
            req += p->waste_request_gbh;
            plan += p->waste_plan_gbh;
            compared += p->compared;
        }
        retries += p->retries;
        unfit += p->unfit;
    }
    if (compared)
        fprintf(stderr, "fp-train: on the %zu tasks whose request is known, the requests wasted %.1f GB.h "
                "and this configuration would have wasted %.1f GB.h (%.0f%% less), with %ld retries%s\n",
                compared, req, plan, req > 0 ? 100 * (1 - plan / req) : 0.0, retries,
                unfit ? " and tasks no retry would fit" : "");
    else
        fprintf(stderr, "fp-train: %zu processes, %zu tasks; no requests in the history to compare with\n",
                planned, tasks);
}

static int nextflow_config(const settings *S)
{
    nfc_run N = {.S = S, .c = fp_nfc_new()};
    if (!N.c) { fputs("fp-train: out of memory\n", stderr); return 2; }
    int status = 0;
    for (int i = 0; i < (S->n_inputs ? S->n_inputs : 1) && !N.status; i++) {
        const char *in = S->n_inputs ? S->inputs[i] : "-";
        fp_err err = {0};
        int tt = fp_tasktrace_probe(in, NULL, &err);
        if (tt < 0) {
            fprintf(stderr, "fp-train: %s\n", err.msg);
            N.status = 2;
        } else if (tt > 0) {
            nfc_read_trace(&N, in);
        } else {
            char *one[1] = {(char *)in};
            if (cli_each_input("fp-train", one, 1, nfc_read_records, &N) == -2) N.status = 2;
        }
    }
    if (N.status && !(N.status == 3 && S->skip_bad)) { status = N.status; goto out; }
    if (N.added == 0) {
        fputs("fp-train: --nextflow-config: no completed task attempt with a process, a peak and a "
              "runtime in the input\n", stderr);
        status = 3;
        goto out;
    }
    fp_err err = {0};
    if (fp_nfc_plan(N.c, &S->nfo, &err) < 0) {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        status = 2;
        goto out;
    }
    bool to_stdout = !strcmp(S->nf_config, "-");
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (!mf) { fputs("fp-train: out of memory\n", stderr); status = 2; goto out; }
    char comment[512], how[96];
    if (S->nfo.quantile > 0) snprintf(how, sizeof how, "the p%g of each process's peak_rss x %.2f", S->nfo.quantile * 100, 1 + S->nfo.margin);
    else snprintf(how, sizeof how, "the peak_rss of least waste on each process's history");
    snprintf(comment, sizeof comment,
             "Nextflow configuration written by fp-train --nextflow-config (%s %s) from %ld completed\n"
             "task attempts: memory is %s; a task killed\n"
             "for memory (exit 137-140) is retried with memory x attempt, at most %d times.",
             PACKAGE_NAME, PACKAGE_VERSION, N.added, how, S->nfo.max_retries);
    int wrc = fp_nfc_write(N.c, mf, comment, &err);
    fclose(mf);
    if (wrc == 0) {
        if (to_stdout) {
            if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
                fprintf(stderr, "fp-train: standard output: %s\n", strerror(errno));
                status = 2;
            }
        } else if (fp_atomic_write(S->nf_config, buf, len, &err) < 0) {
            fprintf(stderr, "fp-train: %s\n", err.msg);
            status = 2;
        }
    } else {
        fprintf(stderr, "fp-train: %s\n", err.msg);
        status = 2;
    }
    free(buf);
    if (!status && !S->quiet) nfc_summary(&N, to_stdout ? "standard output" : S->nf_config);
out:
    fp_nfc_free(N.c);
    return status;
}

/* ------------------------------------------------------------ --model auto */

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- progress
 * libfp reports each epoch through the fp_train_opts callback; the tool
 * times it and shows it: on a terminal one line redrawn in place (at
 * most 10 times a second, and the last epoch always), elsewhere (asked
 * for with --progress) one line per epoch. What remains is estimated
 * from the mean time per epoch so far, over the epochs that can remain:
 * the maximum, or fewer when early stopping (a validation set, patience)
 * would end training sooner, which is why it is "at most". */
typedef struct prog {
    bool tty;                          /* redraw in place */
    int patience;                      /* epochs without improvement before a stop */
    double t0, last_draw;              /* mono() at the start of the training, last redraw */
    bool open;                         /* a line drawn in place awaits its newline */
} prog;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A training starts (the clock of its elapsed time). */
static void prog_start(const fp_train_opts *to)
{
    prog *g = to->progress ? to->progress_arg : NULL;
    if (!g) return;
    g->t0 = mono();
    g->last_draw = -INFINITY;
}

/* End the line drawn in place, before anything else is written. */
static void prog_end(const fp_train_opts *to)
{
    prog *g = to->progress ? to->progress_arg : NULL;
    if (!g || !g->open) return;
    fputc('\n', stderr);
    g->open = false;
}

static int progress(void *arg, const fp_train_progress *p)
{
    prog *g = arg;
    double now = mono(), el = now - g->t0;
    bool last = p->epoch >= p->epochs;
    if (g->tty && !last && now - g->last_draw < 0.1) return 0;
    g->last_draw = now;
    int left = p->epochs - p->epoch;
    bool bounded = false;
    if (!isnan(p->val_loss) && g->patience > 0) {
        int stop = g->patience - (p->epoch - p->best_epoch);
        if (stop < left) left = stop > 0 ? stop : 0;
        bounded = true;
    }
    char e[32], r[32], v[96] = "";
    fp_fmt_duration(el, e, sizeof e);
    fp_fmt_duration(p->epoch > 0 ? el / p->epoch * left : NAN, r, sizeof r);
    if (!isnan(p->val_loss))
        snprintf(v, sizeof v, "  validation loss %.6f  best epoch %d", p->val_loss, p->best_epoch);
    fprintf(stderr, "%sfp-train: epoch %d/%d  train loss %.6f%s  elapsed %s, %s %s left%s",
            g->tty ? "\r" : "", p->epoch, p->epochs, p->train_loss, v, e, bounded ? "at most" : "about",
            r, g->tty ? "\033[K" : "\n");
    g->open = g->tty;
    fflush(stderr);
    return 0;
}

/* Train the candidates on the training groups of one seeded split and keep
 * the one of lowest cost on the held-out groups; *info receives the costs
 * for the provenance. R->m (the linear candidate) is trained in place;
 * the winner is returned (R->m or a new model; NULL: none could train). */
static fp_model *run_auto(run *R, const fp_example *ex, size_t n, fp_train_report *rep_out,
                          json_t **info)
{
    const settings *S = R->S;
    /* the split: groups sorted, shuffled with the seed */
    const char **gs = malloc((n ? n : 1) * sizeof *gs);
    bool *isval = calloc(n ? n : 1, sizeof *isval);
    fp_example *tr = malloc((n ? n : 1) * sizeof *tr), *va = malloc((n ? n : 1) * sizeof *va);
    fp_model *best = NULL;
    *info = NULL;
    if (!gs || !isval || !tr || !va) { oom(R); goto done; }
    size_t G = 0;
    for (size_t i = 0; i < n; i++) gs[i] = ex[i].group ? ex[i].group : "";
    qsort(gs, n, sizeof *gs, cmp_strp);
    for (size_t i = 0; i < n; i++)
        if (!G || strcmp(gs[i], gs[G - 1]) != 0) gs[G++] = gs[i];
    uint64_t st = S->to.seed;
    for (size_t i = G; i > 1; i--) {
        size_t j = (size_t)(fp_splitmix64(&st) % i);
        const char *t = gs[i - 1];
        gs[i - 1] = gs[j];
        gs[j] = t;
    }
    size_t nval = 0;
    if (G >= 2 && S->to.val_frac > 0) {
        nval = (size_t)ceil(S->to.val_frac * (double)G);
        if (nval < 1) nval = 1;
        if (nval > G - 1) nval = G - 1;
    }
    qsort(gs, nval, sizeof *gs, cmp_strp);
    size_t ntr = 0, nva = 0;
    for (size_t i = 0; i < n; i++) {
        const char *g = ex[i].group ? ex[i].group : "";
        isval[i] = nval && bsearch(&g, gs, nval, sizeof *gs, cmp_strp) != NULL;
        if (isval[i]) va[nva++] = ex[i]; else tr[ntr++] = ex[i];
    }
    if (!nva) {
        if (!S->quiet)
            fputs("fp-train: auto: fewer than two groups (or --val-frac 0): costs on the training "
                  "rows\n", stderr);
        memcpy(va, ex, n * sizeof *va);
        nva = n;
    }
    bool any_seq = false;
    for (size_t i = 0; i < n; i++)
        if (ex[i].seq_len > 0) any_seq = true;
    static const char *const kinds[] = {"linear", "knn", "lstm", "gru", "transformer"};
    json_t *cands = json_object();
    double best_cost = INFINITY;
    const char *best_kind = NULL;
    fp_train_report best_rep;
    memset(&best_rep, 0, sizeof best_rep);
    const char **names = NULL;
    int dim = R->feat && R->m ? fp_model_dim(R->m) : 0;
    if (dim && !(names = malloc((size_t)dim * sizeof *names))) { oom(R); json_decref(cands); goto done; }
    for (int i = 0; i < dim; i++) names[i] = fp_model_feature_name(R->m, i);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        bool isseq = k >= 2;
        if (isseq ? !(R->seq && any_seq) : !(R->feat && R->m)) {
            if (!S->quiet)
                fprintf(stderr, "fp-train: auto: %s skipped (%s)\n", kinds[k],
                        isseq ? "no sample records" : "no fingerprint features");
            continue;
        }
        fp_err err = {0};
        fp_model *m = R->m;
        if (k > 0) {
            fp_model_opts o = S->mo;
            if (!isseq) { o.names = names; o.dim = dim; }
            else for (int r = 0; r < FP_RES_COUNT; r++) o.relative[r] = NULL;   /* fingerprint models only */
            if (!(m = fp_model_new(kinds[k], &o, &err))) {
                fprintf(stderr, "fp-train: auto: %s: %s\n", kinds[k], err.msg);
                continue;
            }
        }
        if (!S->quiet) fprintf(stderr, "fp-train: auto: training %s\n", kinds[k]);
        fp_train_report rep;
        double parts[3] = {NAN, NAN, NAN}, cost = NAN;
        prog_start(&S->to);
        int trc = fp_model_train(m, tr, ntr, &S->to, &rep, &err);
        prog_end(&S->to);
        if (trc < 0)
            fprintf(stderr, "fp-train: auto: %s: %s\n", kinds[k], err.msg);
        else
            cost = fp_validation_cost(m, va, nva, S->from_samples, parts, NULL);
        json_t *c = json_object();
        json_object_set_new(c, "cost", isfinite(cost) ? json_real(cost) : json_null());
        json_object_set_new(c, "over", isfinite(parts[0]) ? json_real(parts[0]) : json_null());
        json_object_set_new(c, "under", isfinite(parts[1]) ? json_real(parts[1]) : json_null());
        json_object_set_new(c, "change", isfinite(parts[2]) ? json_real(parts[2]) : json_null());
        json_object_set_new(cands, kinds[k], c);
        fprintf(stderr, "fp-train: auto: %-11s validation cost %.6f  (over %.6f, under %.6f, "
                "change %.6f)\n", kinds[k], cost, parts[0], parts[1], parts[2]);
        if (isfinite(cost) && cost < best_cost) {
            if (best && best != R->m) fp_model_free(best);
            best = m;
            best_cost = cost;
            best_kind = kinds[k];
            best_rep = rep;
        } else if (m != R->m) {
            fp_model_free(m);
        }
    }
    free(names);
    if (best) {
        fprintf(stderr, "fp-train: auto: kept %s (validation cost %.6f)\n", best_kind, best_cost);
        *rep_out = best_rep;
        json_t *a = json_object();
        json_object_set_new(a, "winner", json_string(best_kind));
        json_object_set_new(a, "candidates", cands);
        json_t *def = json_object();
        json_object_set_new(def, "level", json_real(FP_COST_LEVEL));
        json_object_set_new(def, "lambda_under", json_real(FP_COST_LAMBDA_UNDER));
        json_object_set_new(def, "mu_change", json_real(FP_COST_MU_CHANGE));
        json_object_set_new(def, "validation_groups", json_integer((json_int_t)nval));
        json_object_set_new(def, "validation_rows", json_integer((json_int_t)nva));
        json_object_set_new(a, "cost", def);
        *info = a;
    } else {
        json_decref(cands);
    }
done:
    free(gs);
    free(isval);
    free(tr);
    free(va);
    return best;
}

/* ------------------------------------------------------------ training */



static json_t *num(double v)
{
    if (!isfinite(v)) return json_null();
    return json_real(v);
}

static json_t *report_json(const fp_model *m, const fp_train_report *rep)
{
    json_t *o = json_object();
    json_object_set_new(o, "n_train", json_integer((json_int_t)rep->n_train));
    json_object_set_new(o, "n_val", json_integer((json_int_t)rep->n_val));
    json_object_set_new(o, "groups_train", json_integer((json_int_t)rep->g_train));
    json_object_set_new(o, "groups_val", json_integer((json_int_t)rep->g_val));
    json_object_set_new(o, "epochs", json_integer(rep->epochs));
    json_object_set_new(o, "best_epoch", json_integer(rep->best_epoch));
    json_object_set_new(o, "train_loss", num(rep->train_loss));
    json_object_set_new(o, "val_loss", num(rep->val_loss));
    double lv[FP_QMAX];
    int nl = fp_model_levels(m, lv);
    json_t *cov = json_object();
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (isnan(rep->coverage[r][0])) continue;
        json_t *c = json_object();
        for (int j = 0; j < nl; j++) {
            char key[16];
            fp_quantile_key(lv[j], key, sizeof key);
            json_object_set_new(c, key, num(rep->coverage[r][j]));
        }
        json_object_set_new(cov, fp_resource_name((fp_resource)r), c);
    }
    json_object_set_new(o, "coverage", cov);
    return o;
}

static void print_report(const fp_model *m, const fp_train_report *rep)
{
    fprintf(stderr, "fp-train: %s model: %zu training rows (%zu groups), %zu validation rows "
            "(%zu groups)", fp_model_kind(m), rep->n_train, rep->g_train, rep->n_val, rep->g_val);
    if (rep->epochs)
        fprintf(stderr, "; %d epochs, best %d", rep->epochs, rep->best_epoch);
    if (!isnan(rep->val_loss)) fprintf(stderr, "; validation loss %.6f", rep->val_loss);
    fputc('\n', stderr);
    double lv[FP_QMAX];
    int nl = fp_model_levels(m, lv);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (isnan(rep->coverage[r][0])) continue;
        fprintf(stderr, "fp-train: validation coverage %-13s", fp_resource_name((fp_resource)r));
        for (int j = 0; j < nl; j++) {
            char key[16];
            fp_quantile_key(lv[j], key, sizeof key);
            fprintf(stderr, "  %s %.3f", key, rep->coverage[r][j]);
        }
        fputc('\n', stderr);
    }
}

/* Calibrate R->m on the n training rows ex (fp_model_calibrate) unless
 * --no-calibrate, or --update (the model keeps the calibration it has);
 * print what it did. 0, or -1 with err set. */
static int calibrate(run *R, const fp_example *ex, size_t n, fp_err *err)
{
    const settings *S = R->S;
    if (!S->calibrate) {
        fp_model_calibration_clear(R->m);
        if (!S->quiet) fputs("fp-train: calibration: off (--no-calibrate)\n", stderr);
        return 0;
    }
    if (S->update) {
        if (!S->quiet)
            fprintf(stderr, "fp-train: calibration: --update keeps the model's (%s)\n",
                    fp_cal_method_name(fp_model_calibration(R->m, 0, NULL)));
        return 0;
    }
    fp_calib_report cr;
    if (!S->quiet)
        fprintf(stderr, "fp-train: calibration: %d folds of workload groups, each predicted by a "
                "%s model trained on the others\n", S->co.folds, fp_model_kind(R->m));
    if (fp_model_calibrate(R->m, ex, n, &S->to, &S->co, &cr, err) < 0) return -1;
    if (!cr.done) {
        if (!S->quiet) fprintf(stderr, "fp-train: calibration: none: %s\n", cr.why);
        return 0;
    }
    if (S->quiet) return 0;
    fprintf(stderr, "fp-train: calibration: %s shift, %d folds over %zu groups, %zu held-out rows",
            fp_cal_method_name(cr.method), cr.folds, cr.groups, cr.rows);
    if (S->co.method == FP_CAL_AUTO)
        fprintf(stderr, " (auto: relative pinball loss raw %.4f, log1p %.4f, add %.4f)", cr.loss[0],
                cr.loss[1], cr.loss[2]);
    fputc('\n', stderr);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!cr.n[r]) continue;
        fprintf(stderr, "fp-train: held-out coverage %-13s", fp_resource_name((fp_resource)r));
        for (int j = 0; j < cr.nlevels; j++) {
            char key[16];
            fp_quantile_key(cr.level[j], key, sizeof key);
            fprintf(stderr, "  %s %.3f -> %.3f", key, cr.before[r][j], cr.after[r][j]);
        }
        fputs("  (before -> after)\n", stderr);
    }
    return 0;
}

static void iso_time(char *buf, size_t n)
{
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (!*end && v >= 0) now = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *provenance(run *R, json_t *cmd, const fp_train_report *rep,
                          size_t n_rows, size_t n_groups, const char *outpath)
{
    const settings *S = R->S;
    json_t *p = json_object();
    const char *base = strrchr(outpath, '/');
    base = base ? base + 1 : outpath;
    size_t bl = strlen(base);
    if (bl > 5 && strcmp(base + bl - 5, ".json") == 0) bl -= 5;
    json_object_set_new(p, "name", json_stringn(base, bl));
    json_object_set_new(p, "tool", json_string("fp-train"));
    json_object_set_new(p, "fp_version", json_string(PACKAGE_VERSION));
    char tbuf[32];
    iso_time(tbuf, sizeof tbuf);
    json_object_set_new(p, "time", json_string(tbuf));
    json_object_set(p, "command", cmd);
    json_t *in = json_array();
    for (int i = 0; i < S->n_inputs; i++)
        json_array_append_new(in, json_string(strcmp(S->inputs[i], "-") == 0 ? "<stdin>" : S->inputs[i]));
    if (!S->n_inputs) json_array_append_new(in, json_string("<stdin>"));
    json_object_set_new(p, "inputs", in);
    json_t *rc = json_object();
    json_object_set_new(rc, "fingerprint", json_integer(R->n_fp));
    json_object_set_new(rc, "actual", json_integer(R->n_actual));
    json_object_set_new(rc, "sample", json_integer(R->n_sample));
    json_object_set_new(rc, "other", json_integer(R->n_other));
    json_object_set_new(rc, "skipped", json_integer(R->n_bad));
    json_object_set_new(p, "records", rc);
    json_object_set_new(p, "examples", json_integer((json_int_t)n_rows));
    json_object_set_new(p, "groups", json_integer((json_int_t)n_groups));
    json_object_set_new(p, "seed", json_integer((json_int_t)S->to.seed));
    json_object_set_new(p, "group_by", json_string(fp_groupby_spec(R->gb)));
    if (R->history) {
        json_object_set_new(p, "target", json_string("history"));
        json_object_set_new(p, "observed", json_integer(R->n_observed));
    } else if (S->from_samples) {
        json_object_set_new(p, "target", json_string("horizon_peak"));
        json_object_set_new(p, "horizon_s", json_real(R->horizon));
        json_object_set_new(p, "every_s", json_real(R->every));
    } else {
        json_object_set_new(p, "target", json_string(R->stat));
        json_object_set_new(p, "horizon_s", json_real(0));
        json_object_set_new(p, "window_s", isnan(S->window) ? json_null() : json_real(S->window));
    }
    json_t *tr = json_object();
    json_object_set_new(tr, "epochs", json_integer(S->to.epochs));
    json_object_set_new(tr, "batch", json_integer(S->to.batch));
    json_object_set_new(tr, "val_frac", json_real(S->to.val_frac));
    json_object_set_new(tr, "patience", json_integer(S->to.patience));
    if (R->seq) json_object_set_new(tr, "max_steps", json_integer(S->max_steps));
    json_object_set_new(p, "training", tr);
    if (R->auto_info) json_object_set(p, "auto", R->auto_info);
    if (rep) json_object_set_new(p, "report", report_json(R->m, rep));
    const json_t *old = fp_model_provenance(R->m);
    if (S->update && old) {
        json_t *prev = json_deep_copy(old);
        json_object_del(prev, "previous");
        json_object_set_new(p, "previous", prev);
        json_t *created = json_object_get(old, "created");
        if (!created) created = json_object_get(old, "time");
        if (created) json_object_set(p, "created", created);
    }
    return p;
}

/* Settings an --update model carries: its target mode. */
static void from_provenance(run *R, settings *S)
{
    const json_t *p = fp_model_provenance(R->m);
    const char *t = json_string_value(json_object_get(p, "target"));
    if (!t) return;
    if (strcmp(t, "horizon_peak") == 0 && !S->from_samples) {
        S->from_samples = true;
        if (isnan(S->horizon)) S->horizon = json_number_value(json_object_get(p, "horizon_s"));
        if (isnan(S->every)) S->every = json_number_value(json_object_get(p, "every_s"));
    } else if ((strcmp(t, "peak") == 0 || strcmp(t, "p95") == 0) && !S->target && !S->from_samples) {
        S->target = strcmp(t, "peak") == 0 ? "peak" : "p95";
    }
    if (strcmp(S->group_by, "id") == 0) {
        const char *g = json_string_value(json_object_get(p, "group_by"));
        if (g) S->group_by = g;
    }
}

/* -o -: the model file's bytes on standard output (fp_model_save writes
 * files, atomically: it writes one in a private temporary directory, which
 * is copied out and removed). */
static int save_stdout(const fp_model *m, fp_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/fp-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return fp_err_sys(err, "-o -: a temporary directory");
    snprintf(path, sizeof path, "%s/model.json", dir);
    int rc = fp_model_save(m, path, err);
    FILE *f = rc == 0 ? fopen(path, "re") : NULL;
    if (rc == 0 && !f) rc = fp_err_sys(err, "%s", path);
    if (f) {
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            if (fwrite(buf, 1, k, stdout) != k) break;
        if (ferror(f)) rc = fp_err_sys(err, "%s", path);
        else if (ferror(stdout) || fflush(stdout) != 0) rc = fp_err_sys(err, "standard output");
        fclose(f);
    }
    unlink(path);
    rmdir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    /* the command line as given (getopt reorders argv) */
    json_t *cmd = json_array();
    json_array_append_new(cmd, json_string("fp-train"));
    for (int i = 1; i < argc; i++) json_array_append_new(cmd, json_string(argv[i]));
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) {
        json_decref(cmd);
        return a > 0 ? 0 : 2;
    }
    if (S.nf_config) {
        json_decref(cmd);
        return nextflow_config(&S);
    }
    run R = { .S = &S, .input = "<stdin>" };
    /* out of memory here shows at the first record (find_wl, find_stream) */
    fp_idtable_init(&R.wt, sizeof(wl));
    fp_idtable_init(&R.st, sizeof(stream));
    char *prior_spec = NULL;           /* an --update model's prior key spec, copied */
    fp_err err = {0};
    int status = 0;
    if (S.update) {
        R.m = fp_model_load(S.update, &err);
        if (!R.m) {
            fprintf(stderr, "fp-train: %s\n", err.msg);
            fp_idtable_clear(&R.wt);
            fp_idtable_clear(&R.st);
            json_decref(cmd);
            return fp_exit_code(&err);
        }
        S.kind = fp_model_kind(R.m);
        from_provenance(&R, &S);
        /* its prior's identity key, unless --prior-key */
        if (!S.prior_opts_set && fp_model_prior_on(R.m, NULL)) {
            fp_model_prior_on(R.m, &S.po);
            S.po.key = prior_spec = strdup(S.po.key);
            if (!prior_spec) S.po.key = "auto";
        }
    }
    R.gb = fp_groupby_new(S.group_by, &err);
    if (!R.gb) {
        fprintf(stderr, "fp-train: --group-by: %s\n", err.msg);
        fp_model_free(R.m);
        fp_idtable_clear(&R.wt);
        fp_idtable_clear(&R.st);
        json_decref(cmd);
        return 2;
    }
    R.history = S.kind && (strcmp(S.kind, "vpa") == 0 || strcmp(S.kind, "autopilot") == 0);
    bool seqkind = S.kind && (strcmp(S.kind, "lstm") == 0 || strcmp(S.kind, "gru") == 0 ||
                              strcmp(S.kind, "transformer") == 0);
    R.autom = S.kind && strcmp(S.kind, "auto") == 0;
    R.seq = seqkind || R.autom;
    R.feat = !R.history && !seqkind;
    R.stat = S.target ? S.target : "peak";
    R.every = isfinite(S.every) && S.every > 0 ? S.every : 10;
    R.horizon = isfinite(S.horizon) && S.horizon > 0 ? S.horizon : 60;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        R.res_metric[r] = -1;
        for (int mi = 0; mi < FP_M_COUNT; mi++)
            if (strcmp(fp_metric_name((fp_metric)mi), fp_resource_name((fp_resource)r)) == 0)
                R.res_metric[r] = mi;
    }
    /* models whose features are known before the first record */
    if (!R.m && (R.history || S.from_samples || seqkind) && make_model(&R, NULL, 0) < 0) status = 2;
    if (!status && R.m && model_ready(&R) < 0) status = 2;
    fp_model_opts seqo = S.mo;      /* a sequence model's targets are absolute */
    for (int r = 0; r < FP_RES_COUNT; r++) seqo.relative[r] = NULL;
    if (!status && R.seq) {
        if (seqkind) {
            R.seqm = R.m;
        } else if ((R.seqm = fp_model_new("gru", &seqo, &err)) != NULL) {
            R.own_seqm = true;
        } else {
            fprintf(stderr, "fp-train: %s\n", err.msg);
            status = 2;
        }
        if (R.seqm) R.sdim = fp_model_dim(R.seqm);
    }
    if (!status && !R.history && S.from_samples &&
        !(R.ds = fp_dataset_new(R.feat ? fp_model_dim(R.m) : 0))) { oom(&R); status = 2; }

    if (!status) {
        if (cli_each_input("fp-train", S.inputs, S.n_inputs, read_cb, &R) == -2) R.status = 2;
        status = R.status;
    }
    if (status && !(status == 3 && S.skip_bad)) goto out;
    status = 0;

    /* finish the streams still open, in the order they began */
    if (R.history || S.from_samples)
        for (size_t i = 0; i < R.st.n; i++) finish_stream(&R, STREAM(&R, i));
    if (R.status == 2) { status = 2; goto out; }

    fp_train_report rep;
    bool have_rep = false;
    size_t n_rows = 0, n_groups = 0;
    if (R.history) {
        if (R.n_observed == 0) {
            fprintf(stderr, "fp-train: a %s model is a history baseline: it learns from the usage "
                    "samples of each workload, and the input had %s (%ld fingerprints, %ld actuals); "
                    "capture without --no-samples, or use --model linear or knn\n", S.kind,
                    R.n_sample ? "no usable sample" : "no sample records", R.n_fp, R.n_actual);
            status = 2;
            goto out;
        }
        n_rows = (size_t)R.n_observed;
        n_groups = R.st.n;
        if (!S.quiet)
            fprintf(stderr, "fp-train: %s model: observed %ld samples of %zu workloads\n", S.kind,
                    R.n_observed, R.st.n);
    } else {
        if (!S.from_samples) {
            size_t joined = 0, unsampled = 0;
            int ddim = R.feat ? (R.m ? fp_model_dim(R.m) : -1) : 0;
            if (ddim >= 0 && !(R.ds = fp_dataset_new(ddim))) { oom(&R); status = 2; goto out; }
            for (size_t i = 0; R.ds && i < R.wt.n; i++) {
                wl *w = WL(&R, i);
                if (!w->has_fp || !w->has_actual) continue;
                joined++;
                bool any = false;
                for (int r = 0; r < FP_RES_COUNT; r++)
                    if (isfinite(w->y[r])) any = true;
                if (!any) continue;
                size_t si = 0, end = 0;
                if (R.seq) {           /* its samples up to the fingerprint's window */
                    stream *st = find_stream(&R, w->id, false);
                    if (st) {
                        si = (size_t)(st - STREAM(&R, 0));
                        while (end < st->n && st->col[0][end] <= w->fp_t) end++;
                    }
                    if (!end) unsampled++;
                }
                char gbuf[512];
                bool fb;
                const char *g = fp_groupby_key(R.gb, w->id, w->meta, gbuf, sizeof gbuf, &fb);
                if (fb) R.n_fallback++;
                char kbuf[FP_PRIOR_KEY_MAX];
                const char *key = fp_prior_key(S.po.key, w->id, w->meta, kbuf, sizeof kbuf);
                if (fp_dataset_add(R.ds, R.feat ? w->x : NULL, w->y, g, w->ts, false, &err) < 0 ||
                    add_sref(&R, si, end) < 0 ||
                    add_key(&R, key, w->censored[FP_RES_MEM] > 0 ? w->censored[FP_RES_MEM] : NAN) < 0) {
                    oom(&R);
                    status = 2;
                    goto out;
                }
            }
            if (R.seq && !R.autom && R.ds && fp_dataset_size(R.ds) && unsampled == fp_dataset_size(R.ds)) {
                fprintf(stderr, "fp-train: a %s model reads each workload's samples up to its "
                        "fingerprint's window, and the input has %s for the %zu workload(s) with a "
                        "fingerprint and an actual (%ld sample records in all): keep the sample "
                        "records in the input (capture without --no-samples), or train with "
                        "--from-samples\n", S.kind, R.n_sample ? "no samples" : "no sample records",
                        fp_dataset_size(R.ds), R.n_sample);
                status = 3;
                goto out;
            }
            if (R.seq && unsampled && !S.quiet)
                fprintf(stderr, "fp-train: %zu workload(s) without samples up to their fingerprint "
                        "(no sequence; skipped by sequence models)\n", unsampled);
            if (R.ds) fp_dataset_drop_untargeted(R.ds);
            if (!R.ds || fp_dataset_size(R.ds) == 0) {
                fprintf(stderr, "fp-train: no usable examples: %ld fingerprint and %ld actual records, "
                        "%zu joined by id%s (a row needs a fingerprint and an actual of the same id "
                        "with a %s value)\n", R.n_fp, R.n_actual, joined,
                        joined ? ", none with a target" : "", R.stat);
                status = 3;
                goto out;
            }
        } else {
            fp_dataset_drop_untargeted(R.ds);
            if (fp_dataset_size(R.ds) == 0) {
                fprintf(stderr, "fp-train: no usable examples: %ld sample records of %zu workloads "
                        "gave no checkpoint with a sample within --horizon %g s after it (checkpoints "
                        "every %g s)\n", R.n_sample, R.st.n, R.horizon, R.every);
                status = 3;
                goto out;
            }
        }
        if (R.n_fallback && strcmp(S.group_by, "id") != 0)
            fprintf(stderr, "fp-train: --group-by %s: %ld workload(s) without that key grouped by "
                    "their id\n", S.group_by, R.n_fallback);
        size_t n;
        const fp_example *ex0 = fp_dataset_examples(R.ds, &n);
        n_rows = n;
        n_groups = fp_dataset_groups(R.ds);
        fp_example *ex = malloc((n ? n : 1) * sizeof *ex);
        if (!ex) { oom(&R); status = 2; goto out; }
        memcpy(ex, ex0, n * sizeof *ex);
        for (size_t i = 0; R.seq && i < n && i < R.nsr; i++) {
            const stream *st = STREAM(&R, R.sr[i].s);
            size_t end = R.sr[i].end, start = end > (size_t)S.max_steps ? end - (size_t)S.max_steps : 0;
            ex[i].seq = end ? st->rows + start * (size_t)R.sdim : NULL;
            ex[i].seq_len = (int)(end - start);
        }
        if (!S.quiet) {
            if (R.feat && R.m)
                fprintf(stderr, "fp-train: %zu examples of %zu groups, %d features\n", n, n_groups,
                        fp_model_dim(R.m));
            if (R.seq)
                fprintf(stderr, "fp-train: %zu examples of %zu groups, sequences of %d metrics "
                        "(at most %d steps)\n", n, n_groups, R.sdim, S.max_steps);
        }
        prog pg = { .tty = isatty(STDERR_FILENO) == 1, .patience = S.to.patience };
        if (!S.quiet && (S.progress > 0 || (S.progress < 0 && pg.tty))) {
            S.to.progress = progress;
            S.to.progress_arg = &pg;
        }
        int trc;
        if (R.autom) {
            fp_model *win = run_auto(&R, ex, n, &rep, &R.auto_info);
            trc = win ? 0 : -1;
            if (!win && R.status != 2) fp_err_set(&err, FP_EINPUT, "auto: no candidate could be trained");
            if (win && win != R.m) {
                fp_featmap_free(R.fm);
                R.fm = NULL;
                fp_model_free(R.m);
                R.m = win;
            }
        } else {
            prog_start(&S.to);
            trc = fp_model_train(R.m, ex, n, &S.to, &rep, &err);
            prog_end(&S.to);
        }
        S.to.progress = NULL;              /* pg ends with this block */
        if (trc == 0 && !S.quiet) print_report(R.m, &rep);
        if (trc == 0) trc = calibrate(&R, ex, n, &err);
        if (trc == 0) trc = prior_after(&R, ex, n, &err);
        free(ex);
        if (trc < 0) {
            if (R.status != 2) fprintf(stderr, "fp-train: %s\n", err.msg);
            status = fp_exit_code(&err);
            goto out;
        }
        have_rep = true;
    }
    {
        const char *outpath = S.out ? S.out : S.update;
        json_t *prov = provenance(&R, cmd, have_rep ? &rep : NULL, n_rows, n_groups, outpath);
        int rc = fp_model_set_provenance(R.m, prov, &err);
        json_decref(prov);
        if (rc == 0) rc = strcmp(outpath, "-") == 0 ? save_stdout(R.m, &err) : fp_model_save(R.m, outpath, &err);
        if (rc < 0) {
            fprintf(stderr, "fp-train: %s\n", err.msg);
            status = 2;
            goto out;
        }
        if (!S.quiet) fprintf(stderr, "fp-train: wrote %s\n", strcmp(outpath, "-") ? outpath : "the model to standard output");
    }
out:
    for (size_t i = 0; i < R.wt.n; i++) {
        free(WL(&R, i)->id);
        free(WL(&R, i)->x);
        json_decref(WL(&R, i)->meta);
    }
    fp_idtable_clear(&R.wt);
    for (size_t i = 0; i < R.st.n; i++) {
        free_stream_data(STREAM(&R, i));
        json_decref(STREAM(&R, i)->meta);
        free(STREAM(&R, i)->id);
    }
    fp_idtable_clear(&R.st);
    free(R.sr);
    for (size_t i = 0; i < R.nkeys; i++) free(R.keys[i]);
    free(R.keys);
    free(R.kcens);
    free(prior_spec);
    if (R.own_seqm) fp_model_free(R.seqm);
    json_decref(R.auto_info);
    free(R.xbuf);
    fp_dataset_free(R.ds);
    fp_featmap_free(R.fm);
    fp_groupby_free(R.gb);
    fp_model_free(R.m);
    json_decref(cmd);
    return status;
}
