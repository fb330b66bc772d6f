/* fp-predict - what each workload will need, from a model.
 *
 * Reads fingerprint and sample records and writes `prediction` records:
 * one per fingerprint (the lifetime target, or the model's horizon), and,
 * for sample streams, one every --every seconds of workload time from the
 * features of the samples so far (fingerprint models) or the model's
 * recommendation (history models, which observe every sample), or the
 * streaming state of sequence models (lstm, gru, transformer: one step per
 * sample; they refuse fingerprints). Every
 * record passes through unchanged (fingerprints and samples too, unless
 * --no-pass), so fp-capture | fp-predict | fp-apply | fp-diff composes.
 * See fp-predict(1).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fp.h"
#include "fp/dataset.h"
#include "fp/features.h"
#include "fp/model.h"
#include "fp/prediction.h"

#ifndef FP_PKGDATADIR
#define FP_PKGDATADIR "/usr/local/share/fp"
#endif
#define DEFAULT_MODEL FP_PKGDATADIR "/default-model.json"

typedef struct settings {
    const char *model;
    double every, first_at, horizon;   /* NAN: not given */
    bool explain, no_pass, skip_bad;
    bool no_cap, uncalibrated, no_prior;
    long max_live;
    char **inputs;
    int n_inputs;
} settings;

/* A workload whose samples are being followed. */
typedef struct live {
    char id[160];
    bool used;
    fp_window *w;                      /* fingerprint models */
    fp_model_stream *st;               /* sequence models */
    json_t *meta;                      /* of its latest fingerprint */
    double next_due;
    double last_oom;
    int prev, next;                    /* LRU list, most recent at head */
} live;

typedef struct run {
    const settings *S;
    fp_model *m;
    bool history, seq;
    fp_featmap *fm;
    fp_groupby *gb;
    double *x;
    char model_id[128];
    double fp_horizon, stream_horizon;
    live *lv;
    int n_live, head, tail, free_slot;
    json_t *index;                     /* id -> slot */
    json_t *metas;                     /* history models: id -> meta of its fingerprint */
    long evicted;
    FILE *out;
    int status;
    const char *input;
    long line;
    bool stop;                         /* a malformed record: stop this input */
    bool refused_fp, refused_stream;   /* said once per input */
    long n_refused;
} run;

static void usage(FILE *f)
{
    fputs("usage: fp-predict [-m MODEL] [options] [FILE...]\n"
          "Read fingerprint and sample records, write prediction records; every record\n"
          "passes through.\n"
          "  -m, --model FILE        the model (default: $FP_MODEL, else\n"
          "                          " DEFAULT_MODEL ")\n"
          "      --every S           samples: predict every S seconds of workload time (default 10)\n"
          "      --first-at S        samples: the first prediction once the window reaches S s\n"
          "      --horizon S         samples: horizon_s of stream predictions (default: the\n"
          "                          model's training horizon, 0 for lifetime models)\n"
          "  -e, --explain           add the nearest workloads or the weightiest features\n"
          "      --no-pass           do not pass fingerprints and samples through\n"
          "      --no-cap            do not lower predictions to the request in the metadata\n"
          "                          (req_mem_bytes, req_cpus; see capped_by in fp-records(5))\n"
          "      --uncalibrated      ignore the model's calibration (its raw quantiles)\n"
          "      --no-prior          ignore the model's per-key history (fp-train --prior)\n"
          "      --max-live N        follow at most N sample streams at once (default 256);\n"
          "                          the least recently seen is forgotten\n"
          "      --skip-bad          skip malformed lines and records instead of stopping\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: 0 ok, 2 usage or system error (no model), 3 bad input or a fingerprint\n"
          "the model cannot read.\n", f);
}

static int num_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
    return cli_number("fp-predict", opt, s, lo, hi, out);
}

static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_EVERY = 256, O_FIRST, O_HORIZON, O_NOPASS, O_MAXLIVE, O_SKIP, O_NOCAP, O_UNCAL,
           O_NOPRIOR };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"every", required_argument, 0, O_EVERY},
        {"first-at", required_argument, 0, O_FIRST}, {"horizon", required_argument, 0, O_HORIZON},
        {"explain", no_argument, 0, 'e'}, {"no-pass", no_argument, 0, O_NOPASS},
        {"max-live", required_argument, 0, O_MAXLIVE}, {"skip-bad", no_argument, 0, O_SKIP},
        {"no-cap", no_argument, 0, O_NOCAP}, {"uncalibrated", no_argument, 0, O_UNCAL},
        {"no-prior", no_argument, 0, O_NOPRIOR},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    S->every = S->first_at = S->horizon = NAN;
    S->max_live = 256;
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "m:ehV", opts, NULL)) != -1) {
        switch (c) {
        case 'm': S->model = optarg; break;
        case O_EVERY: if (num_arg("--every", optarg, 0.001, 1e9, &S->every) < 0) return -1; break;
        case O_FIRST: if (num_arg("--first-at", optarg, 0, 1e9, &S->first_at) < 0) return -1; break;
        case O_HORIZON: if (num_arg("--horizon", optarg, 0, 1e9, &S->horizon) < 0) return -1; break;
        case 'e': S->explain = true; break;
        case O_NOPASS: S->no_pass = true; break;
        case O_MAXLIVE:
            if (num_arg("--max-live", optarg, 1, 1e6, &v) < 0) return -1;
            if (v != floor(v)) {
                fprintf(stderr, "fp-predict: --max-live wants a whole number, not \"%s\"\n", optarg);
                return -1;
            }
            S->max_live = (long)v;
            break;
        case O_SKIP: S->skip_bad = true; break;
        case O_NOCAP: S->no_cap = true; break;
        case O_UNCAL: S->uncalibrated = true; break;
        case O_NOPRIOR: S->no_prior = true; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-predict (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    S->inputs = argv + optind;
    S->n_inputs = argc - optind;
    if (!(S->every > 0)) S->every = 10;
    return 0;
}

/* Worse statuses win: 2 over 3. */
static void set_status(run *R, int s)
{
    if (R->status != 2) R->status = s;
}

static void bad(run *R, const char *msg)
{
    fprintf(stderr, "fp-predict: %s:%ld: %s\n", R->input, R->line, msg);
    set_status(R, 3);
    R->stop = true;
}

static int emit(run *R, const json_t *rec)
{
    fp_err err = {0};
    int rc = fp_record_write(R->out, rec, &err);
    if (rc == 0 && fflush(R->out) != 0) rc = fp_err_sys(&err, "write");
    if (rc < 0) {
        fprintf(stderr, "fp-predict: %s\n", err.msg);
        R->status = 2;
    }
    return rc;
}

static double rec_num(const json_t *rec, const char *name)
{
    json_t *j = json_object_get(rec, name);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

/* ------------------------------------------------------------ live streams */

static void lru_unlink(run *R, int i)
{
    live *l = &R->lv[i];
    if (l->prev >= 0) R->lv[l->prev].next = l->next; else R->head = l->next;
    if (l->next >= 0) R->lv[l->next].prev = l->prev; else R->tail = l->prev;
    l->prev = l->next = -1;
}

static void lru_front(run *R, int i)
{
    live *l = &R->lv[i];
    l->prev = -1;
    l->next = R->head;
    if (R->head >= 0) R->lv[R->head].prev = i;
    R->head = i;
    if (R->tail < 0) R->tail = i;
}

static void forget(run *R, int i)
{
    live *l = &R->lv[i];
    lru_unlink(R, i);
    json_object_del(R->index, l->id);
    fp_window_free(l->w);
    fp_model_stream_free(l->st);
    json_decref(l->meta);
    memset(l, 0, sizeof *l);
    l->prev = R->free_slot;            /* free list through prev */
    R->free_slot = i;
    R->n_live--;
}

static live *find_live(run *R, const char *id, bool create)
{
    json_t *ix = json_object_get(R->index, id);
    if (ix) {
        int i = (int)json_integer_value(ix);
        if (R->head != i) {
            lru_unlink(R, i);
            lru_front(R, i);
        }
        return &R->lv[i];
    }
    if (!create) return NULL;
    if (R->n_live >= R->S->max_live) {
        forget(R, R->tail);
        R->evicted++;
    }
    int i = R->free_slot;
    R->free_slot = R->lv[i].prev;
    live *l = &R->lv[i];
    memset(l, 0, sizeof *l);
    snprintf(l->id, sizeof l->id, "%s", id);
    l->used = true;
    l->last_oom = NAN;
    l->next_due = NAN;                 /* set by the first sample */
    if (R->seq) {
        fp_err err = {0};
        if (!(l->st = fp_model_stream_new(R->m, &err))) return NULL;
    } else if (!R->history && !(l->w = fp_window_new())) {
        return NULL;
    }
    if (json_object_set_new(R->index, l->id, json_integer(i)) < 0) {
        fp_window_free(l->w);
        fp_model_stream_free(l->st);
        l->w = NULL;
        l->st = NULL;
        return NULL;
    }
    lru_front(R, i);
    R->n_live++;
    return l;
}

/* ------------------------------------------------------------ predictions */

static json_t *explain_json(const fp_explain *ex)
{
    json_t *o = json_object(), *a = json_array();
    bool nb = ex->kind == FP_EXPLAIN_NEIGHBOURS;
    for (int i = 0; i < ex->n; i++) {
        json_t *it = json_object();
        json_object_set_new(it, nb ? "id" : "name", json_string(ex->item[i].name));
        json_object_set_new(it, nb ? "distance" : "contribution",
                            isfinite(ex->item[i].value) ? json_real(ex->item[i].value) : json_null());
        json_array_append_new(a, it);
    }
    json_object_set_new(o, nb ? "nearest" : "features", a);
    return o;
}

/* The model's per-key prior (unless --no-prior) moves q toward the
 * history of the workload's identity key (id, meta); *use says what it
 * did. */
static void apply_prior(run *R, const char *id, const json_t *meta, fp_quantiles *q,
                        fp_prior_use *use)
{
    char kb[FP_PRIOR_KEY_MAX];
    const char *key = R->S->no_prior ? NULL : fp_model_prior_key(R->m, id, meta, kb, sizeof kb);
    fp_model_prior_apply(R->m, key, q, use);
}

/* Write the prediction for the workload of rec from quantiles q (moved by
 * the prior first, when id is not NULL), capped at the request in meta
 * (nullable) unless --no-cap. */
static void write_prediction(run *R, const json_t *rec, const json_t *meta, fp_quantiles *q,
                             double horizon, const fp_explain *ex, double novelty, const char *id)
{
    fp_prior_use use;
    memset(&use, 0, sizeof use);
    if (id) apply_prior(R, id, meta, q, &use);
    fp_prediction p;
    fp_err err = {0};
    memset(&p, 0, sizeof p);
    if (fp_target_from_json(rec, &p.target, &err) < 0) {
        bad(R, err.msg);
        return;
    }
    p.t = rec_num(rec, "t");
    if (!isfinite(p.t)) p.t = 0;
    double ts = rec_num(rec, "ts_ms");
    p.ts = isfinite(ts) ? ts / 1000 : 0;
    p.horizon_s = horizon;
    snprintf(p.model, sizeof p.model, "%s", R->model_id);
    memcpy(p.q, q, sizeof p.q);
    p.has_novelty = !isnan(novelty);
    p.novelty = novelty;
    fp_prior_note(&use, &p);
    if (!R->S->no_cap) fp_prediction_cap(&p, meta);
    json_t *j = fp_prediction_to_json(&p);
    if (ex && ex->kind != FP_EXPLAIN_NONE) {
        json_t *missing = json_incref(json_object_get(j, "missing"));
        json_object_del(j, "missing");
        json_object_set_new(j, "explain", explain_json(ex));
        json_object_set_new(j, "missing", missing);
    }
    emit(R, j);
    json_decref(j);
}

static double usage_ts(const json_t *rec)
{
    double ts = rec_num(rec, "ts_ms");
    return isfinite(ts) && ts > 0 ? ts / 1000 : rec_num(rec, "t");
}

static void recommend(run *R, const json_t *rec, const char *id, const json_t *meta, double horizon)
{
    char gbuf[512];
    const char *g = fp_groupby_key(R->gb, id, meta, gbuf, sizeof gbuf, NULL);
    fp_quantiles q[FP_RES_COUNT];
    fp_err err = {0};
    if (fp_model_recommend(R->m, g, usage_ts(rec), q, &err) < 0) {
        fprintf(stderr, "fp-predict: %s:%ld: %s\n", R->input, R->line, err.msg);
        set_status(R, fp_exit_code(&err));
        return;
    }
    write_prediction(R, rec, meta, q, horizon, NULL, NAN, NULL);
}

static void on_fingerprint(run *R, const json_t *rec, const char *id)
{
    const json_t *meta = json_object_get(rec, "meta");
    if (R->history) {
        if (json_is_object(meta)) json_object_set(R->metas, id, (json_t *)meta);
        recommend(R, rec, id, meta, R->fp_horizon);
        return;
    }
    if (R->seq) {
        R->n_refused++;
        set_status(R, 3);
        if (!R->refused_fp)
            fprintf(stderr, "fp-predict: %s:%ld: %s: a %s model reads the workload's samples, one "
                    "step per sample, not fingerprints (model %s; no prediction for fingerprints: "
                    "feed sample records, e.g. capture without --no-samples)\n", R->input, R->line,
                    id, fp_model_kind(R->m), R->S->model);
        R->refused_fp = true;
        return;
    }
    live *l = find_live(R, id, false);
    if (l && json_is_object(meta)) {
        json_decref(l->meta);
        l->meta = json_incref((json_t *)meta);
    }
    fp_err err = {0};
    if (fp_featmap_vector(R->fm, rec, R->x, &err) < 0) {
        R->n_refused++;
        set_status(R, 3);
        if (!R->refused_fp)
            fprintf(stderr, "fp-predict: %s:%ld: %s: %s (model %s; no prediction for such "
                    "fingerprints)\n", R->input, R->line, id, err.msg, R->S->model);
        R->refused_fp = true;
        return;
    }
    fp_quantiles q[FP_RES_COUNT];
    fp_explain ex;
    if (fp_model_predict(R->m, R->x, q, R->S->explain ? &ex : NULL, &err) < 0) {
        fprintf(stderr, "fp-predict: %s:%ld: %s\n", R->input, R->line, err.msg);
        set_status(R, 2);
        return;
    }
    write_prediction(R, rec, meta, q, R->fp_horizon, R->S->explain ? &ex : NULL, fp_model_novelty(R->m), id);
}

static void on_sample(run *R, const json_t *rec, const char *id)
{
    fp_sample smp;
    fp_err err = {0};
    if (fp_sample_from_json(rec, &smp, &err) < 0) {
        bad(R, err.msg);
        return;
    }
    live *l = find_live(R, id, true);
    if (!l) {
        fputs("fp-predict: out of memory\n", stderr);
        R->status = 2;
        return;
    }
    if (isnan(l->next_due))            /* the window starts at its first sample */
        l->next_due = smp.t + (isfinite(R->S->first_at) ? R->S->first_at : R->S->every);
    if (R->history) {
        const json_t *meta = json_object_get(R->metas, id);
        char gbuf[512];
        const char *g = fp_groupby_key(R->gb, id, meta, gbuf, sizeof gbuf, NULL);
        double ok = smp.why[FP_M_OOM_KILLS] ? NAN : smp.v[FP_M_OOM_KILLS];
        bool was_oom = isfinite(ok) && isfinite(l->last_oom) && ok > l->last_oom;
        if (isfinite(ok)) l->last_oom = ok;
        fp_usage u = { g, smp.ts > 0 ? smp.ts : smp.t,
                       smp.why[FP_M_CPU_CORES] ? NAN : smp.v[FP_M_CPU_CORES],
                       smp.why[FP_M_MEM_BYTES] ? NAN : smp.v[FP_M_MEM_BYTES], NAN, was_oom };
        if (fp_model_observe(R->m, &u, &err) < 0) {
            bad(R, err.msg);
            return;
        }
        if (smp.t >= l->next_due) {
            l->next_due = cli_next_due(l->next_due, smp.t, R->S->every);
            recommend(R, rec, id, meta, R->stream_horizon);
        }
        return;
    }
    if (R->seq) {                      /* one step per sample */
        fp_quantiles q[FP_RES_COUNT];
        fp_model_seq_row(R->m, &smp, R->x);
        if (fp_model_stream_step(l->st, R->x, q, &err) < 0) {
            fprintf(stderr, "fp-predict: %s:%ld: %s\n", R->input, R->line, err.msg);
            set_status(R, 2);
            return;
        }
        if (!(smp.t >= l->next_due)) return;
        l->next_due = cli_next_due(l->next_due, smp.t, R->S->every);
        write_prediction(R, rec, l->meta, q, R->stream_horizon, NULL, NAN, id);
        return;
    }
    fp_window_add(l->w, &smp);
    if (!(smp.t >= l->next_due)) return;
    l->next_due = cli_next_due(l->next_due, smp.t, R->S->every);
    if (fp_featmap_window(R->fm, l->w, l->meta, R->x, &err) < 0) {
        R->n_refused++;
        set_status(R, 3);
        if (!R->refused_stream)
            fprintf(stderr, "fp-predict: %s:%ld: %s: %s (model %s; no stream predictions)\n",
                    R->input, R->line, id, err.msg, R->S->model);
        R->refused_stream = true;
        return;
    }
    fp_quantiles q[FP_RES_COUNT];
    fp_explain ex;
    if (fp_model_predict(R->m, R->x, q, R->S->explain ? &ex : NULL, &err) < 0) {
        fprintf(stderr, "fp-predict: %s:%ld: %s\n", R->input, R->line, err.msg);
        set_status(R, 2);
        return;
    }
    write_prediction(R, rec, l->meta, q, R->stream_horizon, R->S->explain ? &ex : NULL, fp_model_novelty(R->m), id);
}


/* fp_read_records handlers. Every record is passed through (fingerprints
 * and samples not with --no-pass); fingerprints, samples and actuals need
 * an id (a record without one is bad input). */
static const char *rec_seen(run *R, const json_t *rec, long line, bool pass)
{
    R->line = line;
    R->stop = false;
    if (pass) emit(R, rec);
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
    const char *id = rec_seen(R, rec, line, !R->S->no_pass);
    if (id) on_fingerprint(R, rec, id);
    json_decref(rec);
    return 0;
}

static int rec_sample(void *arg, json_t *rec, long line)
{
    run *R = arg;
    const char *id = rec_seen(R, rec, line, !R->S->no_pass);
    if (id) on_sample(R, rec, id);
    json_decref(rec);
    return 0;
}

/* The workload ended: forget it. */
static int rec_actual(void *arg, json_t *rec, long line)
{
    run *R = arg;
    const char *id = rec_seen(R, rec, line, true);
    if (id) {
        json_t *ix = json_object_get(R->index, id);
        if (ix) forget(R, (int)json_integer_value(ix));
        json_object_del(R->metas, id);
    }
    json_decref(rec);
    return 0;
}

static int rec_other(void *arg, json_t *rec, long line)
{
    run *R = arg;
    R->line = line;
    R->stop = false;
    emit(R, rec);
    json_decref(rec);
    return 0;
}

/* Stop at a system error, or at a bad record without --skip-bad. */
static int rec_after(void *arg)
{
    run *R = arg;
    return R->status == 2 || (R->stop && !R->S->skip_bad);
}

static int read_input(run *R, FILE *f, const char *name)
{
    const settings *S = R->S;
    fp_reader *rd = fp_reader_new(f, name, S->skip_bad);
    if (!rd) {
        fputs("fp-predict: out of memory\n", stderr);
        R->status = 2;
        return -1;
    }
    R->input = strcmp(name, "-") == 0 ? "<stdin>" : name;
    R->refused_fp = R->refused_stream = false;
    R->n_refused = 0;
    static const fp_record_handler on[] = {
        {"fingerprint", rec_fingerprint}, {"sample", rec_sample}, {"actual", rec_actual},
        {NULL, rec_other}};
    const fp_read_loop L = {.on = on, .after = rec_after};
    fp_err err = {0};
    int rc = fp_read_records(rd, &L, R, &err);
    if (rc < 0) {
        fprintf(stderr, "fp-predict: %s\n", err.msg);
        set_status(R, fp_exit_code(&err));
    }
    rc = rc ? -1 : 0;
    if (R->n_refused > 1)
        fprintf(stderr, "fp-predict: %s: %ld record(s) the model could not read\n", R->input,
                R->n_refused);
    if (fp_reader_skipped(rd))
        fprintf(stderr, "fp-predict: %s: skipped %ld malformed line(s)\n", R->input,
                fp_reader_skipped(rd));
    fp_reader_free(rd);
    return rc;
}

static int read_cb(void *r, FILE *f, const char *name) { return read_input(r, f, name); }

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) return a > 0 ? 0 : 2;
    bool given = S.model != NULL;
    if (!S.model) {
        const char *env = getenv("FP_MODEL");
        S.model = env && *env ? env : DEFAULT_MODEL;
    }
    run R = { .S = &S, .out = stdout, .input = "<stdin>", .head = -1, .tail = -1 };
    fp_err err = {0};
    R.m = fp_model_load(S.model, &err);
    if (!R.m) {
        if (!given && !getenv("FP_MODEL") && err.cls == FP_ESYS && err.sys_errno == ENOENT)
            fprintf(stderr, "fp-predict: no model: the default model %s does not exist; train one "
                    "(fp-capture ... > runs.jsonl; fp-train runs.jsonl -o %s), or give -m MODEL "
                    "or FP_MODEL\n", S.model, S.model);
        else
            fprintf(stderr, "fp-predict: %s\n", err.msg);
        return fp_exit_code(&err);
    }
    R.history = fp_model_is_history(R.m);
    R.seq = fp_model_is_seq(R.m);
    if (S.uncalibrated) fp_model_calibration_enable(R.m, false);
    double mh;                     /* the model's horizon, 0: the workload's life */
    fp_model_describe(R.m, S.model, R.model_id, sizeof R.model_id, &mh, NULL);
    const json_t *prov = fp_model_provenance(R.m);
    R.fp_horizon = mh;
    R.stream_horizon = isfinite(S.horizon) ? S.horizon : mh;
    const char *gspec = R.history ? json_string_value(json_object_get(prov, "group_by")) : NULL;
    R.gb = fp_groupby_new(gspec ? gspec : "id", &err);
    if (!R.gb) R.gb = fp_groupby_new("id", &err);
    R.fm = fp_featmap_new(R.m);
    int dim = fp_model_dim(R.m);
    R.x = malloc((size_t)(dim > 0 ? dim : 1) * sizeof *R.x);
    R.lv = calloc((size_t)S.max_live, sizeof *R.lv);
    R.index = json_object();
    R.metas = json_object();
    int status = 0;
    if (!R.gb || !R.fm || !R.x || !R.lv || !R.index || !R.metas) {
        fputs("fp-predict: out of memory\n", stderr);
        status = 2;
    } else {
        for (long i = 0; i < S.max_live; i++) R.lv[i].prev = i + 1 < S.max_live ? (int)i + 1 : -1;
        R.free_slot = 0;
        if (cli_each_input("fp-predict", S.inputs, S.n_inputs, read_cb, &R) == -2) R.status = 2;
        status = R.status;
        if (R.evicted)
            fprintf(stderr, "fp-predict: forgot %ld live workload(s) to stay within --max-live %ld\n",
                    R.evicted, S.max_live);
    }
    if (R.lv)
        for (long i = 0; i < S.max_live; i++)
            if (R.lv[i].used) {
                fp_window_free(R.lv[i].w);
                fp_model_stream_free(R.lv[i].st);
                json_decref(R.lv[i].meta);
            }
    free(R.lv);
    free(R.x);
    json_decref(R.index);
    json_decref(R.metas);
    fp_featmap_free(R.fm);
    fp_groupby_free(R.gb);
    fp_model_free(R.m);
    if (fclose(stdout) != 0) {
        fprintf(stderr, "fp-predict: write: %s\n", strerror(errno));
        return 2;
    }
    return status;
}
