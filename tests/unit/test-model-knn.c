/* test-model-knn.c - nearest fingerprints on a hand-built set: exact
 * neighbours, distances, weighted quantiles, missing features, the bounded
 * store, and training with robust normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fp/model.h"
#include "tap.h"

static const char *const ab[] = {"a", "b"};

static fp_model *new_knn(int k, size_t max_store)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = ab;
    o.feature_tx = FP_TX_NONE;
    o.target_tx = FP_TX_NONE;
    o.k = k;
    o.max_store = max_store;
    fp_err err = {0};
    return fp_model_new("knn", &o, &err);
}

static void add(fp_model *m, double a, double b, double cpu, double mem, const char *g)
{
    double x[2] = {a, b};
    fp_example e = {.x = x, .group = g};
    for (int r = 0; r < FP_RES_COUNT; r++) e.y[r] = NAN;
    e.y[FP_RES_CPU] = cpu;
    e.y[FP_RES_MEM] = mem;
    fp_err err = {0};
    if (fp_model_update(m, &e, &err) < 0) printf("# %s\n", err.msg);
}

int main(void)
{
    fp_err err = {0};
    /* An update-only model keeps the identity normalisation, so distances
     * are plain Euclidean ones:
     *   A (0,0) cpu 1   B (1,0) cpu 2   C (0,2) cpu 3
     *   D (5,5) cpu 10  E (10,10) cpu 20; D has no memory target. */
    fp_model *m = new_knn(2, 100);
    add(m, 0, 0, 1, 100, "A");
    add(m, 1, 0, 2, 200, "B");
    add(m, 0, 2, 3, 300, "C");
    add(m, 5, 5, 10, NAN, "D");
    add(m, 10, 10, 20, 2000, "E");

    double q[2] = {0.2, 0};
    fp_quantiles out[FP_RES_COUNT];
    fp_explain ex;
    ok(fp_model_predict(m, q, out, &ex, &err) == 0, "predict");
    ok(ex.kind == FP_EXPLAIN_NEIGHBOURS && ex.n == 2, "two neighbours explained");
    /* novelty: nearest-other distances of the store are A 1, B 1, C 2,
     * D 5.83 (to C), E 7.07 (to D): median 2; the query is 0.2 from A */
    is_near(fp_model_novelty(m), 0.1, 1e-12, "novelty of a query near A: 0.2 / 2");
    {
        double far[2] = {0, -8};          /* within the z clip of 10 */
        fp_quantiles o2[FP_RES_COUNT];
        fp_model_predict(m, far, o2, NULL, &err);
        is_near(fp_model_novelty(m), 4, 1e-12, "novelty of (0,-8): 8 from A, / 2");
    }
    fp_model_predict(m, q, out, &ex, &err);
    is_str(ex.item[0].name, "A", "nearest is A");
    is_near(ex.item[0].value, 0.2, 1e-12, "d(A) = 0.2");
    is_str(ex.item[1].name, "B", "second is B");
    is_near(ex.item[1].value, 0.8, 1e-12, "d(B) = 0.8");
    /* weights 1/(0.2+0.001) = 4.975, 1/(0.8+0.001) = 1.248, sum 6.223;
     * values 1 and 2: weighted mean 1.2006, sd 0.4004, n_eff 1.4722, so
     * the kernel width is h = 1.06 x 0.4004 x 1.4722^-0.2 = 0.3929. The
     * quantiles solve 0.7995 Phi((u-1)/h) + 0.2005 Phi((u-2)/h) = tau. */
    {
        double w1 = 1 / 0.201, w2 = 1 / 0.801, W = w1 + w2, mu = (w1 + 2 * w2) / W;
        double sd = sqrt((w1 * (1 - mu) * (1 - mu) + w2 * (2 - mu) * (2 - mu)) / W);
        double h = 1.06 * sd * pow(W * W / (w1 * w1 + w2 * w2), -0.2);
        for (int j = 0; j < 3; j++) {
            double u = out[FP_RES_CPU].value[j];
            double F = (w1 * 0.5 * erfc(-(u - 1) / (h * M_SQRT2)) + w2 * 0.5 * erfc(-(u - 2) / (h * M_SQRT2))) / W;
            is_near(F, out[FP_RES_CPU].level[j], 1e-9, "kernel mixture at the p%g quantile is its level",
                    100 * out[FP_RES_CPU].level[j]);
        }
    }
    ok(out[FP_RES_CPU].value[0] > 1 && out[FP_RES_CPU].value[0] < 1.5, "p50 near A's cpu (%g)",
       out[FP_RES_CPU].value[0]);
    ok(out[FP_RES_CPU].value[1] > 1.5 && out[FP_RES_CPU].value[2] > 2.2, "p90 toward B, p99 beyond it");
    ok(out[FP_RES_CPU].value[2] > out[FP_RES_CPU].value[1] + 0.3, "p99 well above p90 when neighbours differ");
    ok(out[FP_RES_DISK_READ].n == 0 && out[FP_RES_DISK_READ].why[0], "no disk targets: unpredicted");

    /* Near D: memory comes from the nearest workloads that have it. */
    double qd[2] = {5, 5};
    fp_model_predict(m, qd, out, &ex, &err);
    is_str(ex.item[0].name, "D", "D is its own nearest");
    is_near(ex.item[0].value, 0, 0, "at distance 0");
    /* cpu: D (w 1000) and C (d = sqrt(25+9) = 5.83): p50 = 10 */
    is_near(out[FP_RES_CPU].value[0], 10, 1e-3, "cpu p50 from D");
    /* mem: D has none; the two nearest with memory are C (5.831) and
     * B (sqrt(16+25) = 6.403): weights 1/5.832 = 0.1715 and 1/6.404 =
     * 0.1562, sum 0.3276, p50 needs 0.1638. By value B (200) comes first:
     * 0.1562 < 0.1638, so p50 is C's 300. */
    ok(out[FP_RES_MEM].value[0] > 200 && out[FP_RES_MEM].value[0] < 300 &&
       fabs(out[FP_RES_MEM].value[0] - 252) < 5, "mem p50 skips D, weighs B and C (%g)",
       out[FP_RES_MEM].value[0]);

    /* Missing feature in the query: compare b only, distance rescaled by
     * sqrt(2/1): A and B tie at 0 (A stored first), C at 2 sqrt 2. */
    double qm[2] = {NAN, 0};
    fp_model_predict(m, qm, out, &ex, &err);
    ok(ex.n == 2 && strcmp(ex.item[0].name, "A") == 0 && strcmp(ex.item[1].name, "B") == 0,
       "missing feature: A, B by b alone");
    is_near(ex.item[0].value, 0, 0, "distance 0 on the shared feature");
    {
        fp_model *k3 = new_knn(3, 100);
        add(k3, 0, 0, 1, 1, "A");
        add(k3, 1, 0, 2, 2, "B");
        add(k3, 0, 2, 3, 3, "C");
        fp_model_predict(k3, qm, out, &ex, &err);
        is_near(ex.item[2].value, 2 * sqrt(2.0), 1e-12, "C at |2| * sqrt(2/1)");
        fp_model_free(k3);
    }

    /* A stored example missing a feature. */
    add(m, NAN, 0.1, 7, 7, "F");
    double qf[2] = {100, 0.1};
    fp_model_predict(m, qf, out, &ex, &err);
    is_str(ex.item[0].name, "F", "F compared on b only is nearest");

    /* Bounded store: 3 slots, the oldest go first. */
    fp_model *b = new_knn(1, 3);
    add(b, 0, 0, 1, 1, "A");
    add(b, 1, 0, 2, 2, "B");
    add(b, 2, 0, 3, 3, "C");
    add(b, 3, 0, 4, 4, "D");        /* evicts A */
    add(b, 4, 0, 5, 5, "E");        /* evicts B */
    double q0[2] = {0, 0};
    fp_model_predict(b, q0, out, &ex, &err);
    is_str(ex.item[0].name, "C", "after eviction the nearest to A's place is C");
    is_near(out[FP_RES_CPU].value[0], 3, 1e-6, "and it predicts C's value at p50");
    /* one neighbour: the least kernel width, p99 = 3 + 2.3263 x 0.05 */
    is_near(out[FP_RES_CPU].value[2], 3 + 2.326348 * 0.05, 1e-5, "p99 one least width above it");
    fp_model_free(b);

    /* Training normalises robustly: a far larger scale on b does not
     * drown a. 40 workloads on a grid, a in 0..9, b in 0..9000. */
    {
        fp_model *t = new_knn(1, 100);
        double x[40][2];
        char g[40][8];
        fp_example e[40];
        for (int i = 0; i < 40; i++) {
            x[i][0] = i % 10;
            x[i][1] = (i / 10) * 3000.0;
            snprintf(g[i], sizeof g[i], "w%d", i);
            memset(&e[i], 0, sizeof e[i]);
            e[i].x = x[i];
            e[i].group = g[i];
            for (int r = 0; r < FP_RES_COUNT; r++) e[i].y[r] = NAN;
            e[i].y[FP_RES_CPU] = i;
        }
        fp_train_report rep;
        ok(fp_model_train(t, e, 40, NULL, &rep, &err) == 0, "train knn (%s)", err.msg);
        ok(rep.n_train + rep.n_val == 40 && rep.g_val == 8, "8 of 40 workloads validate");
        double qq[2] = {7, 3000};
        fp_model_predict(t, qq, out, &ex, &err);
        is_str(ex.item[0].name, "w17", "nearest after training is the exact match (validation rows stored too)");
        is_near(out[FP_RES_CPU].value[0], 17, 1e-6, "exact match predicts its own value");
        fp_model_free(t);
    }

    /* A knn model that stored rows before any training refuses training. */
    {
        double x[2] = {0, 0};
        fp_example e = {.x = x, .group = "g"};
        for (int r = 0; r < FP_RES_COUNT; r++) e.y[r] = 1;
        fp_err e2 = {0};
        ok(fp_model_train(m, &e, 1, NULL, NULL, &e2) < 0 && e2.cls == FP_EUSAGE, "train after raw updates refused");
    }
    fp_model_free(m);
    return done_testing();
}
