/* fp-retrain - retrain the installed model from the history store, and
 * install the new one only when it does no worse on recent runs.
 *
 * For cron or a systemd timer (share/fp/fp-retrain.{service,timer,cron}).
 * It reads the runs fp-run appended to the history store (fp/history.h):
 * the first fingerprint and the actual of each workload id. The newest runs
 * (by the order their actuals were appended) are held back; a candidate
 * model is trained on the others (fp/dataset.h, fp/model.h); the candidate
 * and the installed model are scored on the held-back runs with one cost;
 * the candidate replaces the installed model (atomically, the previous one
 * kept as MODEL.1 ... MODEL.N) only when its cost is no more than the
 * installed model's times (1 + tolerance). Otherwise it refuses, with both
 * costs on standard error, and exits 1. One `retrain` record (fp-records(5))
 * goes to standard output. Two fp-retrain on one MODEL do not interleave:
 * each holds an exclusive flock on MODEL.lock from reading the installed
 * model to installing the new one. See fp-retrain(1).
 *
 * Exit: 0 installed (or, with --dry-run, would install), 1 refused (worse
 * on the held-back runs), 2 usage or system error, 3 bad input: the model
 * file is not a model, or the history has too few usable runs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fp.h"
#include "fp/dataset.h"
#include "fp/diff.h"
#include "fp/atomic.h"
#include "fp/history.h"
#include "fp/model.h"



typedef struct settings {
    const char *model, *history, *kind;
    double holdout_frac, tolerance;
    long holdout_last;          /* 0: use holdout_frac */
    long min_runs;
    int keep;
    uint64_t seed;
    bool dry_run, quiet;
} settings;

/* One workload id of the history: its first fingerprint and first actual. */
typedef struct hrun {
    char *id;
    json_t *fp, *actual;        /* owned references */
    long seq;                   /* order of its actual in the store */
} hrun;

typedef struct scan {
    fp_idtable runs;            /* hrun by id */
    long n_actual, n_fp, n_other;
    bool oom;
} scan;

static void usage(FILE *f)
{
    fputs("usage: fp-retrain [options] MODEL\n"
          "Retrain MODEL from the history store; install the new model (atomically, keeping\n"
          "the previous one as MODEL.1) only when it does no worse than MODEL on the most\n"
          "recent runs, held back from its training.\n\n"
          "      --history DIR       the history store (default $XDG_DATA_HOME/fp)\n"
          "  -M, --model-kind KIND   linear or knn (default: MODEL's kind; linear when MODEL\n"
          "                          does not exist)\n"
          "      --holdout FRAC      hold back the newest FRAC of the runs (default 0.2, at\n"
          "                          least one run)\n"
          "      --holdout-last N    hold back the newest N runs\n"
          "      --min-runs N        fewer usable runs: do nothing, exit 3 (default 10)\n"
          "      --tolerance X       install when cost(new) <= cost(old) * (1 + X) (default 0)\n"
          "      --keep N            previous models kept, MODEL.1 (newest) .. MODEL.N\n"
          "                          (default 1)\n"
          "      --seed N            random seed of the training (default 1)\n"
          "  -n, --dry-run           decide and report, change nothing\n"
          "  -q, --quiet             no summary on standard error\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: 0 installed (or would be), 1 refused: the new model is worse on the held-back\n"
          "runs, 2 usage or system error, 3 bad input (MODEL not a model, too few runs).\n",
          f);
}

static int int_arg(const char *opt, const char *s, double lo, double hi, long *out)
{
    double v;
    if (cli_number("fp-retrain", opt, s, lo, hi, &v) < 0) return -1;
    if (v != floor(v)) {
        fprintf(stderr, "fp-retrain: %s wants a whole number, not \"%s\"\n", opt, s);
        return -1;
    }
    *out = (long)v;
    return 0;
}

/* Options into S: 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_HISTORY = 256, O_HOLDOUT, O_HOLDLAST, O_MINRUNS, O_TOL, O_KEEP, O_SEED };
    static const struct option opts[] = {
        {"history", required_argument, 0, O_HISTORY}, {"model-kind", required_argument, 0, 'M'},
        {"holdout", required_argument, 0, O_HOLDOUT}, {"holdout-last", required_argument, 0, O_HOLDLAST},
        {"min-runs", required_argument, 0, O_MINRUNS}, {"tolerance", required_argument, 0, O_TOL},
        {"keep", required_argument, 0, O_KEEP}, {"seed", required_argument, 0, O_SEED},
        {"dry-run", no_argument, 0, 'n'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    S->holdout_frac = 0.2;
    S->min_runs = 10;
    S->keep = 1;
    S->seed = 1;
    bool frac_set = false;
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "M:nqhV", opts, NULL)) != -1) {
        switch (c) {
        case O_HISTORY: S->history = optarg; break;
        case 'M':
            if (strcmp(optarg, "linear") && strcmp(optarg, "knn")) {
                fprintf(stderr, "fp-retrain: --model-kind wants linear or knn (the models fp-run "
                        "uses), not \"%s\"\n", optarg);
                return -1;
            }
            S->kind = optarg;
            break;
        case O_HOLDOUT:
            if (cli_number("fp-retrain", "--holdout", optarg, 0.01, 0.9, &S->holdout_frac) < 0) return -1;
            frac_set = true;
            break;
        case O_HOLDLAST:
            if (int_arg("--holdout-last", optarg, 1, 1e9, &S->holdout_last) < 0) return -1;
            break;
        case O_MINRUNS: if (int_arg("--min-runs", optarg, 2, 1e9, &S->min_runs) < 0) return -1; break;
        case O_TOL: if (cli_number("fp-retrain", "--tolerance", optarg, 0, 1e6, &S->tolerance) < 0) return -1; break;
        case O_KEEP: if (int_arg("--keep", optarg, 1, 99, &v) < 0) return -1; S->keep = (int)v; break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "fp-retrain: --seed wants a whole number >= 0, not \"%s\"\n", optarg);
                return -1;
            }
            S->seed = (uint64_t)s;
            break;
        }
        case 'n': S->dry_run = true; break;
        case 'q': S->quiet = true; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-retrain (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (frac_set && S->holdout_last) {
        fputs("fp-retrain: give --holdout or --holdout-last, not both\n", stderr);
        return -1;
    }
    if (optind != argc - 1) {
        fputs(optind >= argc ? "fp-retrain: no MODEL: give the installed model's path\n"
                             : "fp-retrain: one MODEL only\n", stderr);
        usage(stderr);
        return -1;
    }
    S->model = argv[optind];
    return 0;
}

/* ---- reading the history ---------------------------------------------------- */

/* The run of id, made on first sight (NULL: out of memory). */
static hrun *find_run(scan *sc, const char *id)
{
    bool created;
    hrun *r = fp_idtable_add(&sc->runs, id, &created);
    if (r && created) {
        r->seq = -1;
        if (!(r->id = strdup(id))) return NULL;
    }
    return r;
}

/* fp_history_scan callback: keep each id's first fingerprint and first
 * actual; other types are counted and passed over. */
static int on_record(void *arg, json_t *rec)
{
    scan *sc = arg;
    const char *type = fp_record_type(rec);
    bool isfp = strcmp(type, "fingerprint") == 0, isact = strcmp(type, "actual") == 0;
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!(isfp || isact) || !id) {
        sc->n_other++;
        return 0;
    }
    hrun *r = find_run(sc, id);
    if (!r) { sc->oom = true; return 1; }
    if (isfp) {
        sc->n_fp++;
        if (!r->fp) r->fp = json_incref(rec);
    } else {
        if (!r->actual) {
            r->actual = json_incref(rec);
            r->seq = sc->n_actual;
        }
        sc->n_actual++;
    }
    return 0;
}

static int cmp_seq(const void *a, const void *b)
{
    const hrun *x = *(const hrun *const *)a, *y = *(const hrun *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- installing ---------------------------------------------------------------- */

/* The whole of file path, for keeping it as the previous model once the
 * new one is in place. 0 with *data (malloc'd) and *len, or -1 with err. */
static int slurp(const char *path, char **data, size_t *len, fp_err *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fp_err_sys(err, "%s", path);
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        if (*len == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            char *p = realloc(*data, nc);
            if (!p) { rc = fp_err_sys(err, "%s: out of memory", path); break; }
            *data = p;
            cap = nc;
        }
        ssize_t k = read(fd, *data + *len, cap - *len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { rc = fp_err_sys(err, "%s", path); break; }
        if (k == 0) break;
        *len += (size_t)k;
    }
    close(fd);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* Keep the model that was installed, now that the new one is in place:
 * MODEL.(k-1) -> MODEL.k for k = keep .. 2, then its bytes (old, read
 * before the install) to MODEL.1 with fp_atomic_write. Called only after
 * the install succeeded, so a failed install leaves every backup as it
 * was. */
static int keep_previous(const char *model, int keep, const char *old, size_t len, char *prev,
                         size_t np, fp_err *err)
{
    char a[FP_PATH_MAX + 8], b[FP_PATH_MAX + 8];
    for (int k = keep; k >= 2; k--) {
        snprintf(a, sizeof a, "%s.%d", model, k - 1);
        snprintf(b, sizeof b, "%s.%d", model, k);
        if (rename(a, b) < 0 && errno != ENOENT) return fp_err_sys(err, "%s", a);
    }
    snprintf(prev, np, "%s.1", model);
    return fp_atomic_write(prev, old, len, err);
}

/* ---- the run --------------------------------------------------------------------- */

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


/* The model's name as fp-run shows it: its provenance's, else MODEL's base
 * name without ".json". */
static json_t *model_name(const fp_model *cur, const char *path)
{
    const char *name = cur ? json_string_value(json_object_get(fp_model_provenance(cur), "name")) : NULL;
    if (name && *name) return json_string(name);
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".json") == 0) n -= 5;
    return json_stringn(b, n);
}

static json_t *provenance(const settings *S, const fp_model *cur, const char *hdir, const char *tstat,
                          size_t n_train, size_t n_hold, double c_new, double c_old)
{
    json_t *p = json_object();
    json_object_set_new(p, "name", model_name(cur, S->model));
    json_object_set_new(p, "tool", json_string("fp-retrain"));
    json_object_set_new(p, "fp_version", json_string(PACKAGE_VERSION));
    char tbuf[32];
    iso_time(tbuf, sizeof tbuf);
    json_object_set_new(p, "time", json_string(tbuf));
    json_object_set_new(p, "history", json_string(hdir));
    json_object_set_new(p, "target", json_string(tstat));
    json_object_set_new(p, "horizon_s", json_real(0));
    json_object_set_new(p, "examples", json_integer((json_int_t)n_train));
    json_object_set_new(p, "held_back", json_integer((json_int_t)n_hold));
    json_object_set_new(p, "seed", json_integer((json_int_t)S->seed));
    json_object_set_new(p, "group_by", json_string("id"));
    json_object_set_new(p, "cost_new", fp_json_num(c_new));
    json_object_set_new(p, "cost_previous", fp_json_num(c_old));
    const json_t *old = cur ? fp_model_provenance(cur) : NULL;
    if (old) {
        json_t *prev = json_deep_copy(old);
        json_object_del(prev, "previous");
        json_object_set_new(p, "previous", prev);
    }
    return p;
}

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) return a > 0 ? 0 : FP_EXIT_ERROR;
    int status = FP_EXIT_ERROR;
    fp_err err = {0};
    char hdir[FP_PATH_MAX], prev_path[FP_PATH_MAX + 8] = "";
    scan sc = {0};
    bool sc_ok = fp_idtable_init(&sc.runs, sizeof(hrun)) == 0;
    fp_history *h = NULL;
    fp_model *cur = NULL, *cand = NULL;
    fp_featmap *fm_new = NULL, *fm_old = NULL;
    fp_dataset *ds = NULL;
    double *xo = NULL;
    hrun **use = NULL;
    json_t *rec = NULL;
    int lockfd = -1;
    long bad_lines = 0, unusable = 0, bad_records = 0;
    const char *decision = NULL, *kind = NULL;
    double c_new = NAN, c_old = NAN, p_new = NAN, p_old = NAN;
    size_t n_train = 0, n_hold = 0, n_rows = 0;

    if (!sc_ok) {
        fputs("fp-retrain: out of memory\n", stderr);
        goto out;
    }
    if (S.history) snprintf(hdir, sizeof hdir, "%s", S.history);
    else if (fp_history_default_dir(hdir, sizeof hdir) < 0) {
        fputs("fp-retrain: history: neither XDG_DATA_HOME nor HOME is set (give --history DIR)\n", stderr);
        goto out;
    }
    struct stat st;
    int src = stat(hdir, &st);
    if (src < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "fp-retrain: history %s: %s\n", hdir,
                src < 0 ? strerror(errno) : "not a directory");
        goto out;
    }

    /* one fp-retrain at a time per MODEL, from reading it to replacing it */
    if (!S.dry_run) {
        char lp[FP_PATH_MAX + 8];
        snprintf(lp, sizeof lp, "%s.lock", S.model);
        lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
            fprintf(stderr, "fp-retrain: %s: %s\n", lp, strerror(errno));
            goto out;
        }
    }

    /* the installed model (absent: the candidate is installed if it trains) */
    cur = fp_model_load(S.model, &err);
    if (!cur) {
        if (!(err.cls == FP_ESYS && err.sys_errno == ENOENT)) {
            fprintf(stderr, "fp-retrain: %s\n", err.msg);
            status = fp_exit_code(&err);
            goto out;
        }
        if (!S.quiet) fprintf(stderr, "fp-retrain: no model at %s yet: the new one is installed "
                              "if it trains\n", S.model);
    } else if (fp_model_is_history(cur) || fp_model_is_seq(cur)) {
        fprintf(stderr, "fp-retrain: %s: a %s model cannot be retrained from the history store, "
                "which keeps each run's fingerprint and actual (fp-run uses linear or knn models)\n",
                S.model, fp_model_kind(cur));
        goto out;
    }
    kind = S.kind ? S.kind : cur ? fp_model_kind(cur) : "linear";
    const char *tstat = "peak";
    if (cur) {
        const char *t = json_string_value(json_object_get(fp_model_provenance(cur), "target"));
        if (t && strcmp(t, "p95") == 0) tstat = "p95";
    }

    /* the history */
    if (!(h = fp_history_new(hdir, NULL, &err)) || fp_history_scan(h, on_record, &sc, &bad_lines, &err) < 0) {
        fprintf(stderr, "fp-retrain: history: %s\n", err.msg);
        goto out;
    }
    if (sc.oom) { fputs("fp-retrain: out of memory\n", stderr); goto out; }
    if (bad_lines && !S.quiet)
        fprintf(stderr, "fp-retrain: history %s: skipped %ld line(s) that are not records\n", hdir,
                bad_lines);

    /* usable runs in the order of their actuals; their rows */
    if (!(use = malloc((sc.runs.n ? sc.runs.n : 1) * sizeof *use))) { fputs("fp-retrain: out of memory\n", stderr); goto out; }
    size_t nu = 0;
    for (size_t i = 0; i < sc.runs.n; i++) {
        hrun *r = fp_idtable_at(&sc.runs, i);
        if (r->fp && r->actual) use[nu++] = r;
        else unusable++;
    }
    qsort(use, nu, sizeof *use, cmp_seq);
    {
        fp_model_opts mo;
        fp_model_opts_default(&mo);
        if (cur) mo.nlevels = fp_model_levels(cur, mo.levels);
        for (int r = 0; cur && r < FP_RES_COUNT; r++) mo.relative[r] = fp_model_relative(cur, r);
        for (size_t i = 0; i < nu && !cand; i++) {       /* features: the first fingerprint's */
            const char **names;
            size_t n;
            if (fp_fingerprint_names(use[i]->fp, &names, &n, &err) < 0) continue;
            mo.names = names;
            mo.dim = (int)n;
            cand = fp_model_new(kind, &mo, &err);
            free(names);
            if (!cand) {
                fprintf(stderr, "fp-retrain: %s\n", err.msg);
                goto out;
            }
        }
    }
    if (cand) {
        int dim = fp_model_dim(cand);
        if (!(fm_new = fp_featmap_new(cand)) || !(ds = fp_dataset_new(dim)) ||
            !(xo = malloc((size_t)dim * sizeof *xo))) {
            fputs("fp-retrain: out of memory\n", stderr);
            goto out;
        }
        for (size_t i = 0; i < nu; i++) {
            double y[FP_RES_COUNT];
            bool any = false;
            if (fp_actual_targets(use[i]->actual, tstat, y, &err) < 0 ||
                fp_featmap_vector(fm_new, use[i]->fp, xo, &err) < 0) {
                if (!S.quiet) fprintf(stderr, "fp-retrain: history: run %s: %s (skipped)\n", use[i]->id, err.msg);
                bad_records++;
                continue;
            }
            /* a run OOM-killed under a limit: its memory peak is censored
             * (a lower bound), not a target */
            if (fp_actual_harm(use[i]->actual, FP_RES_MEM)) y[FP_RES_MEM] = NAN;
            for (int r = 0; r < FP_RES_COUNT; r++) any |= isfinite(y[r]);
            if (!any) { unusable++; continue; }
            json_t *tsj = json_object_get(use[i]->actual, "ts_ms");
            double ts = json_is_number(tsj) ? json_number_value(tsj) / 1000 : 0;
            if (fp_dataset_add(ds, xo, y, use[i]->id, ts, false, &err) < 0) {
                fputs("fp-retrain: out of memory\n", stderr);
                goto out;
            }
            use[n_rows++] = use[i];                      /* row k is run use[k] */
        }
    }
    n_hold = S.holdout_last ? (size_t)S.holdout_last : (size_t)ceil(S.holdout_frac * (double)n_rows);
    if (n_hold < 1) n_hold = 1;
    if (n_rows < (size_t)S.min_runs || n_hold >= n_rows) {
        fprintf(stderr, "fp-retrain: history %s has %zu usable run(s) (a fingerprint and an actual "
                "with a %s value), fewer than %s: %s left as it is\n", hdir, n_rows, tstat,
                n_rows < (size_t)S.min_runs ? "--min-runs" : "the held-back ones plus one",
                S.model);
        decision = "too_few_runs";
        status = FP_EXIT_INPUT;
        n_hold = 0;
        goto record;
    }
    n_train = n_rows - n_hold;

    /* train on the older runs, score both on the newest */
    {
        size_t n;
        const fp_example *ex = fp_dataset_examples(ds, &n);
        fp_train_opts to;
        fp_train_opts_default(&to);
        to.seed = S.seed;
        fp_train_report rep;
        if (fp_model_train(cand, ex, n_train, &to, &rep, &err) < 0) {
            fprintf(stderr, "fp-retrain: training: %s\n", err.msg);
            status = fp_exit_code(&err);
            goto out;
        }
        /* calibrated as fp-train does (fp/model.h, "Calibration"), on the
         * rows it trained on; none (and said nowhere) with too few groups */
        fp_calib_report crep;
        if (fp_model_calibrate(cand, ex, n_train, &to, NULL, &crep, &err) < 0) {
            fprintf(stderr, "fp-retrain: calibration: %s\n", err.msg);
            status = FP_EXIT_ERROR;
            goto out;
        }
        c_new = fp_validation_cost(cand, ex + n_train, n_hold, false, NULL, &p_new);
        if (cur) {
            /* the installed model reads the held-back fingerprints its way */
            int dim = fp_model_dim(cur);
            fp_dataset *dso = NULL;
            double *x = NULL;
            bool ok = (fm_old = fp_featmap_new(cur)) && (dso = fp_dataset_new(dim)) &&
                      (x = malloc((size_t)(dim > 0 ? dim : 1) * sizeof *x));
            if (!ok) {
                fputs("fp-retrain: out of memory\n", stderr);
                fp_dataset_free(dso);
                free(x);
                goto out;
            }
            for (size_t i = n_train; ok && i < n_rows; i++) {
                if (fp_featmap_vector(fm_old, use[i]->fp, x, &err) < 0 ||
                    fp_dataset_add(dso, x, ex[i].y, ex[i].group, ex[i].ts, false, &err) < 0) {
                    fprintf(stderr, "fp-retrain: %s cannot be scored on run %s: %s\n", S.model,
                            use[i]->id, err.msg);
                    ok = false;
                }
            }
            if (ok) {
                size_t no;
                const fp_example *eo = fp_dataset_examples(dso, &no);
                c_old = fp_validation_cost(cur, eo, no, false, NULL, &p_old);
            }
            fp_dataset_free(dso);
            free(x);
        }
    }
    if (!isfinite(c_new)) {
        fprintf(stderr, "fp-retrain: the new model could not be scored on the %zu held-back runs\n", n_hold);
        status = FP_EXIT_INPUT;
        goto out;
    }
    bool better = !isfinite(c_old) || c_new <= c_old * (1 + S.tolerance);
    if (!better) {
        fprintf(stderr, "fp-retrain: refused: the new %s model does worse on the %zu most recent "
                "run(s): cost %.6g against %.6g for %s (tolerance %g); %s left as it is\n", kind,
                n_hold, c_new, c_old, S.model, S.tolerance, S.model);
        decision = "refused";
        status = FP_EXIT_THRESHOLD;
        goto record;
    }
    if (S.dry_run) {
        decision = "would_install";
        if (!S.quiet)
            fprintf(stderr, "fp-retrain: dry run: would install the new %s model: cost %.6g against "
                    "%.6g on the %zu most recent run(s)\n", kind, c_new, c_old, n_hold);
        status = 0;
        goto record;
    }
    {
        /* the installed model's per-key history goes on with the new one
         * (fp/model.h, "History as a prior") */
        if (cur && fp_model_prior_copy(cand, cur, &err) < 0) {
            fprintf(stderr, "fp-retrain: %s\n", err.msg);
            goto out;
        }
        json_t *prov = provenance(&S, cur, hdir, tstat, n_train, n_hold, c_new, c_old);
        int rc = fp_model_set_provenance(cand, prov, &err);
        json_decref(prov);
        /* the installed model's bytes, read now (under the lock), kept as
         * MODEL.1 only once the new model is in place */
        char *old = NULL;
        size_t old_len = 0;
        if (rc == 0 && cur && S.keep > 0) rc = slurp(S.model, &old, &old_len, &err);
        if (rc == 0) rc = fp_model_save(cand, S.model, &err);
        if (rc < 0) {
            fprintf(stderr, "fp-retrain: %s; nothing installed, %s and its backups left as they "
                    "were\n", err.msg, S.model);
            free(old);
            goto out;
        }
        status = 0;
        if (old && keep_previous(S.model, S.keep, old, old_len, prev_path, sizeof prev_path, &err) < 0) {
            fprintf(stderr, "fp-retrain: the new model is installed at %s, but keeping the previous "
                    "one failed: %s\n", S.model, err.msg);
            prev_path[0] = 0;
            status = FP_EXIT_ERROR;
        }
        free(old);
    }
    decision = "installed";
    if (!S.quiet)
        fprintf(stderr, "fp-retrain: installed a new %s model at %s, trained on %zu run(s): cost "
                "%.6g on the %zu most recent against %s%.6g%s%s%s\n", kind, S.model, n_train, c_new,
                n_hold, cur ? "" : "(no previous model) ", cur ? c_old : NAN,
                cur ? " for the previous model" : "", prev_path[0] ? ", kept as " : "", prev_path);

record:
    rec = fp_record_new("retrain", NULL, 0, (double)time(NULL));
    json_object_set_new(rec, "model", json_string(S.model));
    json_object_set_new(rec, "history", json_string(hdir));
    json_object_set_new(rec, "kind", json_string(kind));
    json_object_set_new(rec, "previous_kind", cur ? json_string(fp_model_kind(cur)) : json_null());
    json_object_set_new(rec, "actual_stat", json_string(tstat));
    json_object_set_new(rec, "runs", json_integer((json_int_t)n_rows));
    json_object_set_new(rec, "n_train", json_integer((json_int_t)n_train));
    json_object_set_new(rec, "n_holdout", json_integer((json_int_t)n_hold));
    json_object_set_new(rec, "skipped_lines", json_integer(bad_lines));
    json_object_set_new(rec, "skipped_records", json_integer(bad_records));
    json_object_set_new(rec, "incomplete_runs", json_integer(unusable));
    json_object_set_new(rec, "cost_new", fp_json_num(c_new));
    json_object_set_new(rec, "cost_current", fp_json_num(c_old));
    json_object_set_new(rec, "pinball_rel_new", fp_json_num(p_new));
    json_object_set_new(rec, "pinball_rel_current", fp_json_num(p_old));
    json_object_set_new(rec, "tolerance", json_real(S.tolerance));
    json_object_set_new(rec, "decision", json_string(decision));
    json_object_set_new(rec, "dry_run", json_boolean(S.dry_run));
    json_object_set_new(rec, "previous", prev_path[0] ? json_string(prev_path) : json_null());
    if (fp_record_write(stdout, rec, &err) < 0) {
        fprintf(stderr, "fp-retrain: standard output: %s\n", err.msg);
        status = FP_EXIT_ERROR;
    }

out:
    json_decref(rec);
    if (lockfd >= 0) close(lockfd);
    for (size_t i = 0; i < sc.runs.n; i++) {
        hrun *r = fp_idtable_at(&sc.runs, i);
        free(r->id);
        json_decref(r->fp);
        json_decref(r->actual);
    }
    fp_idtable_clear(&sc.runs);
    free(use);
    free(xo);
    fp_dataset_free(ds);
    fp_featmap_free(fm_new);
    fp_featmap_free(fm_old);
    fp_model_free(cand);
    fp_model_free(cur);
    fp_history_free(h);
    if (fclose(stdout) != 0 && status != FP_EXIT_ERROR) {
        fprintf(stderr, "fp-retrain: standard output: %s\n", strerror(errno));
        status = FP_EXIT_ERROR;
    }
    return status;
}
