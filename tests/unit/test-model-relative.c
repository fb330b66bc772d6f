/* test-model-relative.c - relative targets (fp_model_opts.relative): a
 * resource learned as log1p(y) - log1p(anchor feature) and mapped back with
 * the anchor of the workload predicted; worked by hand on knn (k = 1, one
 * neighbour: its value exactly) and linear (a constant ratio), saved and
 * loaded, a missing anchor, and the options refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/model.h"
#include "model_impl.h"   /* fp_model_target: the stored target */
#include "tap.h"

static const char *const ab[] = {"a", "b"};

static fp_model *new_model(const char *kind, const char *rel, fp_err *err)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = ab;
    o.feature_tx = FP_TX_NONE;
    o.k = 1;
    o.relative[FP_RES_MEM] = rel;
    return fp_model_new(kind, &o, err);
}

static fp_example row(double *x, double a, double b, double mem, const char *g)
{
    x[0] = a;
    x[1] = b;
    fp_example e = {.x = x, .group = g};
    for (int r = 0; r < FP_RES_COUNT; r++) e.y[r] = NAN;
    e.y[FP_RES_MEM] = mem;
    return e;
}

int main(void)
{
    fp_err err = {0};
    /* knn, k = 1, update-only (identity normalisation: plain distances).
     * A: a = 100, b = 0, peak 200 (twice what it used);
     * B: a = 1000, b = 10, peak 1000 (what it used). */
    fp_model *m = new_model("knn", "a", &err);
    ok(m != NULL, "a knn model with mem_bytes relative to feature a: %s", m ? "" : err.msg);
    is_str(fp_model_relative(m, FP_RES_MEM), "a", "fp_model_relative names the anchor");
    ok(fp_model_relative(m, FP_RES_CPU) == NULL, "cpu stays absolute");
    double xa[2], xb[2];
    fp_example ea = row(xa, 100, 0, 200, "A"), eb = row(xb, 1000, 10, 1000, "B");
    ok(fp_model_update(m, &ea, &err) == 0 && fp_model_update(m, &eb, &err) == 0, "two rows stored");
    /* the stored target of A is log1p(200) - log1p(100) = log(201/101) */
    is_near(fp_model_target(m, &ea, FP_RES_MEM), log(201.0 / 101.0), 1e-12, "A's target: log(201/101)");
    is_near(fp_model_target(m, &eb, FP_RES_MEM), 0, 1e-12, "B's target: 0 (used its peak)");

    /* a workload using 50 next to A: A's ratio applied to 50, i.e.
     * expm1(log(201/101) + log1p(50)) = 201 x 51 / 101 - 1 = 100.4950... */
    double q[2] = {50, 0};
    fp_quantiles out[FP_RES_COUNT];
    ok(fp_model_predict(m, q, out, NULL, &err) == 0, "predict");
    is_int(out[FP_RES_MEM].n, 3, "three levels");
    /* the median is the neighbour's own value; p90 and p99 add the
     * kernel's width (model_knn.c), in the ratio's space */
    is_near(out[FP_RES_MEM].value[0], 201.0 * 51.0 / 101.0 - 1, 1e-9, "p50: A's ratio x 50 -> 100.495");
    ok(out[FP_RES_MEM].value[1] >= out[FP_RES_MEM].value[0] && out[FP_RES_MEM].value[1] < 150 &&
       out[FP_RES_MEM].value[2] >= out[FP_RES_MEM].value[1] && out[FP_RES_MEM].value[2] < 200,
       "p90 %.1f and p99 %.1f: above p50, near 100, not A's 200", out[FP_RES_MEM].value[1], out[FP_RES_MEM].value[2]);
    /* the same from an absolute model would be A's 200 */
    {
        fp_model *abs_m = new_model("knn", NULL, &err);
        fp_model_update(abs_m, &ea, &err);
        fp_model_update(abs_m, &eb, &err);
        fp_model_predict(abs_m, q, out, NULL, &err);
        is_near(out[FP_RES_MEM].value[0], 200, 1e-9, "an absolute model says A's 200");
        fp_model_free(abs_m);
    }
    /* next to B, using 3000: B's ratio 1 -> 3000 */
    double qb[2] = {1200, 10};
    fp_model_predict(m, qb, out, NULL, &err);
    is_near(out[FP_RES_MEM].value[0], 1200, 1e-6, "next to B (ratio 1), using 1200: 1200");

    /* no anchor in the fingerprint: memory is not predicted, and says why */
    double qn[2] = {NAN, 0};
    ok(fp_model_predict(m, qn, out, NULL, &err) == 0, "predict without the anchor");
    is_int(out[FP_RES_MEM].n, 0, "memory not predicted without its anchor");
    ok(strstr(out[FP_RES_MEM].why, "relative") != NULL, "why: %s", out[FP_RES_MEM].why);
    /* a row without its anchor trains nothing for memory */
    double xn[2];
    fp_example en = row(xn, NAN, 0, 500, "N");
    ok(isnan(fp_model_target(m, &en, FP_RES_MEM)), "a row without the anchor has no memory target");

    /* saved and loaded: the same answer, the anchor kept */
    char path[] = "/tmp/fp-test-rel-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ok(fp_model_save(m, path, &err) == 0, "save: %s", err.msg);
    fp_model *l = fp_model_load(path, &err);
    ok(l != NULL, "load: %s", l ? "" : err.msg);
    if (l) {
        is_str(fp_model_relative(l, FP_RES_MEM), "a", "loaded: still relative to a");
        fp_model_predict(l, q, out, NULL, &err);
        double p50 = out[FP_RES_MEM].value[0];
        is_near(p50, 201.0 * 51.0 / 101.0 - 1, 1e-9, "loaded: the same prediction");
        fp_model_free(l);
    }
    unlink(path);
    fp_model_free(m);

    /* linear: every row peaks at 3x what it used (ratio constant); the
     * model learns the ratio, whatever the size: a workload of 7 -> ~21,
     * one of 7e6 -> ~2.1e7 (an absolute model could not do both). */
    m = new_model("linear", "a", &err);
    ok(m != NULL, "a linear model with a relative target");
    enum { N = 60 };
    double X[N][2];
    fp_example E[N];
    char gname[N][8];
    for (int i = 0; i < N; i++) {
        double a = pow(10, 1 + 5.0 * i / (N - 1));
        snprintf(gname[i], sizeof gname[i], "g%d", i);
        E[i] = row(X[i], a, (double)(i % 7), 3 * a + 2, gname[i]);
    }
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.epochs = 400;
    to.val_frac = 0;
    fp_train_report rep;
    ok(fp_model_train(m, E, N, &to, &rep, &err) == 0, "train: %s", err.msg);
    double s1[2] = {7, 3}, s2[2] = {7e6, 3};
    fp_model_predict(m, s1, out, NULL, &err);
    is_near(out[FP_RES_MEM].value[0] / 21, 1, 0.15, "linear p50 of a workload using 7: ~21 (3x)");
    fp_model_predict(m, s2, out, NULL, &err);
    is_near(out[FP_RES_MEM].value[0] / 2.1e7, 1, 0.15, "linear p50 of a workload using 7e6: ~2.1e7 (3x)");
    fp_model_free(m);

    /* refused: an unknown anchor, a sequence or history model, targets
     * without log1p */
    fp_model *bad = new_model("knn", "nope", &err);
    ok(bad == NULL && strstr(err.msg, "nope"), "an unknown anchor is refused: %s", err.msg);
    bad = new_model("vpa", "a", &err);
    ok(bad == NULL, "a history model cannot be relative: %s", err.msg);
    {
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.dim = 2;
        o.names = ab;
        o.target_tx = FP_TX_NONE;
        o.relative[FP_RES_MEM] = "a";
        bad = fp_model_new("knn", &o, &err);
        ok(bad == NULL, "relative needs log1p targets: %s", err.msg);
        o.target_tx = FP_TX_LOG1P;
        bad = fp_model_new("gru", &o, &err);
        ok(bad == NULL, "a sequence model cannot be relative: %s", err.msg);
    }
    return done_testing();
}
