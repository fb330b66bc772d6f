/* test-model-seq.c - the sequence models (lstm, gru, transformer) behind
 * the model contract:
 *   - a task only a model that reads the sequence can solve: a ramp
 *     x_t = a + s t (t = 1..12, a ~ U(0,20), s ~ U(0.5,2), noise sd 0.05)
 *     whose slope sets the height of a later peak, y = 100 s (the target
 *     range is 50..200). LSTM and GRU must reach a held-out mean |p50 -
 *     y| below 15 (10% of the range); a model that sees only the last
 *     value (linear on x_12) cannot (its error is printed and must be
 *     above 15). The Transformer's error is printed and bounded likewise;
 *   - streaming agrees with the batch forward pass on every prefix (1e-5);
 *   - save/load gives bit-identical predictions;
 *   - a 5000-step input for every kind (prediction, streaming, one update);
 *   - an empty input gives the prior (the training targets' quantiles);
 *   - training is deterministic with the seed (also with 2 threads). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/model.h"
#include "tap.h"
#include "model-util.h"

#define K 12            /* ramp steps seen */

static const char *const mnames[] = {"cpu_cores"};

typedef struct {
    size_t n;
    double *seq;        /* n x K */
    double *last;       /* n: the last value */
    fp_example *ex, *lex;
    char (*g)[16];
} ramp;

static void make_ramp(ramp *d, size_t n, uint64_t seed)
{
    trng r = {seed};
    d->n = n;
    d->seq = malloc(n * K * sizeof *d->seq);
    d->last = malloc(n * sizeof *d->last);
    d->ex = calloc(n, sizeof *d->ex);
    d->lex = calloc(n, sizeof *d->lex);
    d->g = malloc(n * sizeof *d->g);
    for (size_t i = 0; i < n; i++) {
        double a = trng_unif(&r, 0, 20), s = trng_unif(&r, 0.5, 2);
        for (int t = 0; t < K; t++) d->seq[i * K + t] = a + s * (t + 1) + 0.05 * trng_norm(&r);
        d->last[i] = d->seq[i * K + K - 1];
        snprintf(d->g[i], sizeof d->g[i], "w%zu", i);
        for (int k = 0; k < FP_RES_COUNT; k++) d->ex[i].y[k] = NAN;
        d->ex[i].y[FP_RES_CPU] = 100 * s;
        d->ex[i].group = d->g[i];
        d->ex[i].seq = d->seq + i * K;
        d->ex[i].seq_len = K;
        d->lex[i] = d->ex[i];
        d->lex[i].x = &d->last[i];
    }
}

static void drop_ramp(ramp *d)
{
    free(d->seq); free(d->last); free(d->ex); free(d->lex); free(d->g);
}

static fp_model *new_seq(const char *kind, int hidden, double lr, int ctx)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.seq_dim = 1;
    o.seq_names = mnames;
    o.feature_tx = FP_TX_NONE;
    o.target_tx = FP_TX_NONE;
    o.hidden = hidden;
    o.lr = lr;
    o.ctx = ctx;
    o.heads = 2;
    fp_err err = {0};
    fp_model *m = fp_model_new(kind, &o, &err);
    if (!m) printf("# %s: %s\n", kind, err.msg);
    return m;
}

/* Mean |p50 - y| of m on d (sequences, or the last value with lastonly). */
static double mae(fp_model *m, const ramp *d, bool lastonly)
{
    double s = 0;
    fp_err err = {0};
    for (size_t i = 0; i < d->n; i++) {
        fp_quantiles out[FP_RES_COUNT];
        int rc = lastonly ? fp_model_predict(m, &d->last[i], out, NULL, &err)
                          : fp_model_predict_seq(m, d->seq + i * K, K, out, &err);
        if (rc < 0 || out[FP_RES_CPU].n < 1) return INFINITY;
        s += fabs(out[FP_RES_CPU].value[0] - d->ex[i].y[FP_RES_CPU]);
    }
    return s / (double)d->n;
}

/* Largest |a - b| / max(1, |b|) over all quantiles of two predictions;
 * *same is cleared unless they are bit-identical. */
static double qdiff(const fp_quantiles *a, const fp_quantiles *b, bool *same)
{
    double w = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (a[r].n != b[r].n) return INFINITY;
        for (int q = 0; q < a[r].n; q++) {
            double e = fabs(a[r].value[q] - b[r].value[q]) / fmax(1, fabs(b[r].value[q]));
            if (e > w) w = e;
            if (memcmp(&a[r].value[q], &b[r].value[q], sizeof(double))) *same = false;
        }
    }
    return w;
}

/* Streaming vs batch on every prefix of seq (len steps); returns the
 * worst difference. */
static double stream_vs_batch(fp_model *m, const double *seq, int len, int dim, bool *same)
{
    fp_err err = {0};
    fp_model_stream *s = fp_model_stream_new(m, &err);
    if (!s) return INFINITY;
    double worst = 0;
    for (int t = 0; t < len; t++) {
        fp_quantiles a[FP_RES_COUNT], b[FP_RES_COUNT];
        if (fp_model_stream_step(s, seq + (size_t)t * dim, a, &err) < 0 ||
            fp_model_predict_seq(m, seq, t + 1, b, &err) < 0) { worst = INFINITY; break; }
        double e = qdiff(a, b, same);
        if (e > worst) worst = e;
    }
    fp_model_stream_free(s);
    return worst;
}

static fp_model *train_kind(const char *kind, const ramp *d, uint64_t seed, int threads, fp_train_report *rep)
{
    bool tf = strcmp(kind, "transformer") == 0;
    fp_model *m = new_seq(kind, 16, tf ? 0.005 : 0.01, 16);
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.epochs = 60;
    to.patience = 10;
    to.seed = seed;
    to.threads = threads;
    fp_err err = {0};
    if (!m || fp_model_train(m, d->ex, d->n, &to, rep, &err) < 0) {
        printf("# train %s: %s\n", kind, err.msg);
        fp_model_free(m);
        return NULL;
    }
    return m;
}

int main(void)
{
    static const char *const kinds[] = {"lstm", "gru", "transformer"};
    fp_err err = {0};
    ramp tr, te;
    make_ramp(&tr, 1500, 1);
    make_ramp(&te, 400, 2);

    /* the baseline that sees only the last value */
    {
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.dim = 1;
        o.names = mnames;
        o.feature_tx = FP_TX_NONE;
        o.target_tx = FP_TX_NONE;
        o.l2 = 0;
        fp_model *lm = fp_model_new("linear", &o, &err);
        ok(lm && fp_model_train(lm, tr.lex, tr.n, NULL, NULL, &err) == 0, "train the last-value baseline (%s)", err.msg);
        double e = mae(lm, &te, true);
        ok(e > 15, "a model of the last value cannot solve the ramp: mean |err| %.2f > 15", e);
        fp_model_free(lm);
    }

    char path[] = "/tmp/fp-test-seq-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);

    for (int k = 0; k < 3; k++) {
        const char *kind = kinds[k];
        fp_train_report rep;
        fp_model *m = train_kind(kind, &tr, 7, 1, &rep);
        ok(m != NULL, "%s: trained (%d epochs, best %d, val loss %.4f)", kind, m ? rep.epochs : 0,
           m ? rep.best_epoch : 0, m ? rep.val_loss : NAN);
        if (!m) continue;
        ok(rep.g_val == 300 && rep.g_train == 1200, "%s: validation split by group (%zu/%zu)", kind, rep.g_val, rep.g_train);
        double e = mae(m, &te, false);
        ok(e < 15, "%s: held-out mean |p50 - peak| %.2f < 15 (10%% of the range 50..200)", kind, e);
        ok(fabs(rep.coverage[FP_RES_CPU][1] - 0.9) < 0.1, "%s: validation coverage at p90 %.3f", kind,
           rep.coverage[FP_RES_CPU][1]);
        fp_quantiles out[FP_RES_COUNT];
        fp_model_predict_seq(m, te.seq, K, out, &err);
        ok(out[FP_RES_MEM].n == 0 && out[FP_RES_MEM].why[0], "%s: resource without targets unpredicted", kind);

        /* streaming vs batch, on a ramp and on a 40-step sequence (longer
         * than the transformer's window of 16) with missing values */
        bool same = true;
        double w1 = stream_vs_batch(m, te.seq, K, 1, &same);
        double longer[40];
        for (int t = 0; t < 40; t++) longer[t] = t % 7 == 3 ? NAN : 5 + 0.7 * t;
        double w2 = stream_vs_batch(m, longer, 40, 1, &same);
        ok(w1 < 1e-5 && w2 < 1e-5, "%s: streaming = batch on every prefix (worst %.1e%s)", kind, fmax(w1, w2),
           same ? ", bit for bit" : "");

        /* save/load: bit-identical predictions */
        ok(fp_model_save(m, path, &err) == 0, "%s: saved (%s)", kind, err.msg);
        fp_model *l = fp_model_load(path, &err);
        ok(l && strcmp(fp_model_kind(l), kind) == 0 && fp_model_is_seq(l), "%s: loaded (%s)", kind, l ? "" : err.msg);
        if (l) {
            bool ident = true;
            for (size_t i = 0; i < 50; i++) {
                fp_quantiles a[FP_RES_COUNT], b[FP_RES_COUNT];
                fp_model_predict_seq(m, te.seq + i * K, K, a, &err);
                fp_model_predict_seq(l, te.seq + i * K, K, b, &err);
                qdiff(a, b, &ident);
            }
            fp_quantiles a[FP_RES_COUNT], b[FP_RES_COUNT];
            fp_model_predict_seq(m, NULL, 0, a, &err);
            fp_model_predict_seq(l, NULL, 0, b, &err);
            qdiff(a, b, &ident);
            ok(ident, "%s: the loaded model predicts bit for bit what the saved one did", kind);
            ok(fp_model_dim(l) == 1 && strcmp(fp_model_feature_name(l, 0), "cpu_cores") == 0,
               "%s: the per-step metrics are kept", kind);
        }
        fp_model_free(l);

        /* empty input: the prior, the training targets' quantiles */
        {
            fp_quantiles p[FP_RES_COUNT];
            int prc = fp_model_predict_seq(m, NULL, 0, p, &err);
            ok(prc == 0 && p[FP_RES_CPU].n == 3, "%s: empty input predicts", kind);
            /* the training p50 of 100 s, s ~ U(0.5, 2): about 125 */
            ok(fabs(p[FP_RES_CPU].value[0] - 125) < 8 && p[FP_RES_CPU].value[1] > 175,
               "%s: empty input gives the prior (p50 %.1f, p90 %.1f)", kind, p[FP_RES_CPU].value[0], p[FP_RES_CPU].value[1]);
        }

        /* a long input: 5000 steps */
        {
            int n = 5000;
            double *lg = malloc((size_t)n * sizeof *lg);
            for (int t = 0; t < n; t++) lg[t] = 10 + 5 * sin(t / 50.0);
            fp_quantiles a[FP_RES_COUNT];
            int prc = fp_model_predict_seq(m, lg, n, a, &err);
            ok(prc == 0 && isfinite(a[FP_RES_CPU].value[2]), "%s: predicts after 5000 steps (p50 %.1f)", kind,
               a[FP_RES_CPU].value[0]);
            fp_model_stream *s = fp_model_stream_new(m, &err);
            fp_quantiles b[FP_RES_COUNT];
            for (int t = 0; s && t < n; t++) fp_model_stream_step(s, lg + t, b, &err);
            bool sm = true;
            double e5 = qdiff(b, a, &sm);
            ok(s && fp_model_stream_steps(s) == n && e5 < 1e-5, "%s: streaming 5000 steps = batch (%.1e)", kind, e5);
            fp_model_stream_free(s);
            fp_example ex = {.group = "long", .seq = lg, .seq_len = n};
            for (int r = 0; r < FP_RES_COUNT; r++) ex.y[r] = NAN;
            ex.y[FP_RES_CPU] = 150;
            ok(fp_model_update(m, &ex, &err) == 0, "%s: one update on a 5000-step sequence (truncated BPTT)", kind);
            fp_model_predict_seq(m, lg, n, a, &err);
            ok(isfinite(a[FP_RES_CPU].value[0]), "%s: still finite after the update", kind);
            free(lg);
        }
        fp_model_free(m);
    }

    /* determinism: the same seed gives the same model bit for bit (also
     * across runs with 2 threads); another seed another model */
    {
        ramp sm;
        make_ramp(&sm, 300, 3);
        for (int k = 0; k < 3; k++) {
            fp_train_report r1, r2, r3;
            fp_model *a = train_kind(kinds[k], &sm, 11, 1, &r1), *b = train_kind(kinds[k], &sm, 11, 1, &r2);
            fp_model *c = train_kind(kinds[k], &sm, 11, 2, &r3), *d = train_kind(kinds[k], &sm, 11, 2, &r3);
            fp_model *e = train_kind(kinds[k], &sm, 12, 1, &r3);
            bool ab = true, cd = true, ae = true;
            for (size_t i = 0; a && b && c && d && e && i < 20; i++) {
                fp_quantiles qa[FP_RES_COUNT], qb[FP_RES_COUNT], qc[FP_RES_COUNT], qd[FP_RES_COUNT], qe[FP_RES_COUNT];
                fp_model_predict_seq(a, te.seq + i * K, K, qa, &err);
                fp_model_predict_seq(b, te.seq + i * K, K, qb, &err);
                fp_model_predict_seq(c, te.seq + i * K, K, qc, &err);
                fp_model_predict_seq(d, te.seq + i * K, K, qd, &err);
                fp_model_predict_seq(e, te.seq + i * K, K, qe, &err);
                qdiff(qa, qb, &ab);
                qdiff(qc, qd, &cd);
                qdiff(qa, qe, &ae);
            }
            ok(a && b && ab, "%s: same seed, same predictions bit for bit", kinds[k]);
            ok(c && d && cd, "%s: same seed with 2 threads, same predictions bit for bit", kinds[k]);
            ok(e && !ae, "%s: another seed, another model", kinds[k]);
            fp_model_free(a); fp_model_free(b); fp_model_free(c); fp_model_free(d); fp_model_free(e);
        }
        drop_ramp(&sm);
    }

    /* empty sequences in training are skipped; all empty is an error */
    {
        fp_example ex[3] = {{.group = "a"}, {.group = "b"}, {.group = "c"}};
        for (int i = 0; i < 3; i++) for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = 1;
        fp_model *m = new_seq("gru", 4, 0.01, 8);
        fp_err e2 = {0};
        ok(fp_model_train(m, ex, 3, NULL, NULL, &e2) < 0 && e2.cls == FP_EUSAGE,
           "only empty sequences: a clear error (%s)", e2.msg);
        fp_model_free(m);
    }

    /* bad use and strict load */
    {
        fp_err e2 = {0};
        fp_model *lm = fp_model_new("linear", NULL, &e2);
        fp_quantiles out[FP_RES_COUNT];
        ok(fp_model_predict_seq(lm, te.seq, K, out, &e2) < 0 && e2.cls == FP_EUSAGE,
           "predict_seq on a linear model refused (%s)", e2.msg);
        fp_err_clear(&e2);
        ok(!fp_model_stream_new(lm, &e2) && e2.cls == FP_EUSAGE, "stream on a linear model refused (%s)", e2.msg);
        fp_model_free(lm);
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.heads = 3;
        fp_err_clear(&e2);
        ok(!fp_model_new("transformer", &o, &e2) && e2.cls == FP_EUSAGE, "3 heads of 32 refused (%s)", e2.msg);
        o.heads = 2;
        o.layers = 3;
        fp_err_clear(&e2);
        ok(!fp_model_new("transformer", &o, &e2) && e2.cls == FP_EUSAGE, "3 layers refused (%s)", e2.msg);
        fp_model_opts_default(&o);
        fp_err_clear(&e2);
        fp_model *dm = fp_model_new("lstm", &o, &e2);
        int nd = 0;
        fp_model_seq_default_names(&nd);
        ok(dm && fp_model_dim(dm) == nd && nd == 13 && strcmp(fp_model_feature_name(dm, 2), "mem_bytes") == 0,
           "default per-step metrics (%d)", dm ? fp_model_dim(dm) : -1);
        fp_sample smp;
        fp_sample_init(&smp, 0, "absent");
        fp_sample_set(&smp, FP_M_MEM_BYTES, 1e9);
        double row[13];
        fp_model_seq_row(dm, &smp, row);
        ok(row[2] == 1e9 && isnan(row[0]), "a sample gives a row of the model's metrics");
        /* a model file whose params do not match its architecture */
        fp_model_save(dm, path, &e2);
        json_t *j = json_load_file(path, 0, NULL);
        json_object_set_new(json_object_get(json_object_get(j, "params"), "arch"), "hidden", json_integer(16));
        json_dump_file(j, path, 0);
        json_decref(j);
        fp_err_clear(&e2);
        ok(!fp_model_load(path, &e2) && e2.cls == FP_EINPUT, "a model file with mismatched params refused (%s)", e2.msg);
        fp_model_free(dm);
    }
    unlink(path);
    drop_ramp(&tr);
    drop_ramp(&te);
    return done_testing();
}
