/* test-model-linear.c - quantile linear regression on data with known
 * answers: a linear target is recovered, quantiles cover their levels on
 * held-out data, online updates follow a shifted distribution, training is
 * deterministic. */
#include <stdlib.h>
#include <string.h>
#include "fp/model.h"
#include "tap.h"
#include "model-util.h"

static const char *const names2[] = {"x1", "x2"};

/* n rows of y = a + 2 x1 - x2 + sd * N(0,1), x ~ U(-2,2), groups of 10 rows. */
typedef struct { double *x; fp_example *ex; char (*g)[16]; size_t n; } dataset;

static void make(dataset *d, size_t n, double a, double sd, uint64_t seed)
{
    trng r = {seed};
    d->n = n;
    d->x = malloc(n * 2 * sizeof *d->x);
    d->ex = calloc(n, sizeof *d->ex);
    d->g = malloc(n * sizeof *d->g);
    for (size_t i = 0; i < n; i++) {
        double x1 = trng_unif(&r, -2, 2), x2 = trng_unif(&r, -2, 2);
        d->x[2 * i] = x1;
        d->x[2 * i + 1] = x2;
        snprintf(d->g[i], sizeof d->g[i], "w%zu", i / 10);
        d->ex[i].x = d->x + 2 * i;
        d->ex[i].group = d->g[i];
        for (int k = 0; k < FP_RES_COUNT; k++) d->ex[i].y[k] = NAN;
        d->ex[i].y[FP_RES_CPU] = a + 2 * x1 - x2 + sd * trng_norm(&r);
    }
}

static void drop(dataset *d) { free(d->x); free(d->ex); free(d->g); }

static fp_model *new_linear(fp_optimizer opt, double lr)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = names2;
    o.feature_tx = FP_TX_NONE;
    o.target_tx = FP_TX_NONE;
    o.optimizer = opt;
    o.lr = lr;
    o.l2 = 0;
    fp_err err = {0};
    fp_model *m = fp_model_new("linear", &o, &err);
    if (!m) printf("# %s\n", err.msg);
    return m;
}

static double p_at(fp_model *m, double x1, double x2, int q)
{
    double x[2] = {x1, x2};
    fp_quantiles out[FP_RES_COUNT];
    fp_err err = {0};
    if (fp_model_predict(m, x, out, NULL, &err) < 0 || out[FP_RES_CPU].n <= q) return NAN;
    return out[FP_RES_CPU].value[q];
}

static int calls;
static int count_progress(void *arg, const fp_train_progress *p)
{
    (void)arg;
    calls++;
    return !(p->train_loss >= 0);     /* keep going while sane */
}

int main(void)
{
    fp_err err = {0};
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.seed = 7;
    to.progress = count_progress;

    /* 1. Recovery: y = 3 + 2 x1 - x2, noise sd 0.1. */
    dataset d;
    make(&d, 3000, 3, 0.1, 11);
    fp_model *m = new_linear(FP_OPT_ADAM, 0.01);
    fp_train_report rep;
    ok(m && fp_model_train(m, d.ex, d.n, &to, &rep, &err) == 0, "train linear (%s)", err.msg);
    ok(calls == rep.epochs && rep.epochs >= 1, "progress called once per epoch (%d, %d)", calls, rep.epochs);
    ok(rep.g_val == 60 && rep.g_train == 240 && rep.n_val == 600, "split by group: 60 of 300 groups held out (%zu/%zu rows %zu)",
       rep.g_val, rep.g_train, rep.n_val);
    ok(rep.best_epoch >= 1 && rep.best_epoch <= rep.epochs, "best epoch %d of %d", rep.best_epoch, rep.epochs);
    double base = p_at(m, 0, 0, 0);
    is_near(base, 3, 0.05, "p50 intercept 3");
    is_near(p_at(m, 1, 0, 0) - base, 2, 0.05, "p50 slope of x1 is 2");
    is_near(p_at(m, 0, 1, 0) - base, -1, 0.05, "p50 slope of x2 is -1");
    double worst = 0;
    for (double a = -2; a <= 2; a += 0.5)
        for (double b = -2; b <= 2; b += 0.5) {
            double e = fabs(p_at(m, a, b, 0) - (3 + 2 * a - b));
            if (e > worst) worst = e;
        }
    ok(worst < 0.1, "p50 predictions within 0.1 of the truth on a grid (worst %.4f)", worst);
    {
        double x[2] = {1, 1};
        fp_quantiles out[FP_RES_COUNT];
        fp_explain ex;
        fp_model_predict(m, x, out, &ex, &err);
        ok(out[FP_RES_MEM].n == 0 && out[FP_RES_MEM].why[0], "resource without targets unpredicted (%s)", out[FP_RES_MEM].why);
        ok(out[FP_RES_CPU].n == 3 && out[FP_RES_CPU].value[0] <= out[FP_RES_CPU].value[1] &&
           out[FP_RES_CPU].value[1] <= out[FP_RES_CPU].value[2], "three non-decreasing quantiles");
        ok(ex.kind == FP_EXPLAIN_FEATURES && ex.n == 2 && strcmp(ex.item[0].name, "x1") == 0,
           "explanation: x1 weighs most (%s %.3f)", ex.n ? ex.item[0].name : "-", ex.n ? ex.item[0].value : 0);
    }

    /* 2. Determinism: the same seed gives the same model bit for bit. */
    {
        fp_model *m2 = new_linear(FP_OPT_ADAM, 0.01);
        fp_train_opts t2 = to;
        t2.progress = NULL;
        fp_model_train(m2, d.ex, d.n, &t2, NULL, &err);
        double a[3], b[3];
        for (int q = 0; q < 3; q++) { a[q] = p_at(m, 0.3, -1.2, q); b[q] = p_at(m2, 0.3, -1.2, q); }
        ok(memcmp(a, b, sizeof a) == 0, "same seed, same predictions bit for bit");
        fp_model_free(m2);
    }

    /* 3. Online updates follow a shift of +5 in the intercept. */
    {
        dataset s, h;
        make(&s, 1500, 8, 0.1, 99);
        make(&h, 500, 8, 0.0, 98);
        double before = 0, after = 0;
        for (size_t i = 0; i < h.n; i++) before += fabs(p_at(m, h.x[2 * i], h.x[2 * i + 1], 0) - h.ex[i].y[FP_RES_CPU]);
        for (size_t i = 0; i < s.n; i++)
            if (fp_model_update(m, &s.ex[i], &err) < 0) break;
        for (size_t i = 0; i < h.n; i++) after += fabs(p_at(m, h.x[2 * i], h.x[2 * i + 1], 0) - h.ex[i].y[FP_RES_CPU]);
        before /= (double)h.n;
        after /= (double)h.n;
        ok(before > 4.5, "before updates the shifted data is far off (MAE %.3f)", before);
        ok(after < 0.3, "after 1500 updates it is close (MAE %.3f)", after);
        drop(&s);
        drop(&h);
    }
    fp_model_free(m);
    drop(&d);

    /* 4. Coverage on held-out data, noise N(0,1). */
    {
        dataset tr, te;
        make(&tr, 4000, 3, 1.0, 21);
        make(&te, 4000, 3, 1.0, 22);
        fp_model *c = new_linear(FP_OPT_ADAM, 0.01);
        fp_train_opts t2 = to;
        t2.progress = NULL;
        ok(fp_model_train(c, tr.ex, tr.n, &t2, &rep, &err) == 0, "train for coverage");
        int below[3] = {0};
        for (size_t i = 0; i < te.n; i++)
            for (int q = 0; q < 3; q++)
                if (te.ex[i].y[FP_RES_CPU] <= p_at(c, te.x[2 * i], te.x[2 * i + 1], q)) below[q]++;
        double c50 = below[0] / 4000.0, c90 = below[1] / 4000.0, c99 = below[2] / 4000.0;
        ok(c50 >= 0.45 && c50 <= 0.55, "held-out share below p50 %.3f in [0.45,0.55]", c50);
        ok(c90 >= 0.85 && c90 <= 0.95, "held-out share below p90 %.3f in [0.85,0.95]", c90);
        ok(c99 >= 0.975 && c99 <= 1.0, "held-out share below p99 %.3f in [0.975,1]", c99);
        ok(fabs(rep.coverage[FP_RES_CPU][1] - 0.9) < 0.06, "validation coverage at p90 reported (%.3f)",
           rep.coverage[FP_RES_CPU][1]);
        ok(isnan(rep.coverage[FP_RES_MEM][0]), "no coverage for a resource without targets");
        fp_model_free(c);
        drop(&tr);
        drop(&te);
    }

    /* 5. Plain SGD is selectable and also recovers the target. */
    {
        make(&d, 3000, 3, 0.1, 31);
        fp_model *s = new_linear(FP_OPT_SGD, 0.05);
        fp_train_opts t2 = to;
        t2.progress = NULL;
        ok(s && fp_model_train(s, d.ex, d.n, &t2, NULL, &err) == 0, "train with SGD");
        double b0 = p_at(s, 0, 0, 0);
        is_near(b0, 3, 0.1, "SGD: intercept");
        is_near(p_at(s, 1, 0, 0) - b0, 2, 0.1, "SGD: slope of x1");
        fp_model_free(s);
        drop(&d);
    }

    /* 6. Log-space targets (the default) for bytes: mem = 1e9 e^(0.5 x1). */
    {
        trng r = {5};
        size_t n = 2000;
        double *x = malloc(n * 2 * sizeof *x);
        fp_example *ex = calloc(n, sizeof *ex);
        char (*g)[16] = malloc(n * sizeof *g);
        for (size_t i = 0; i < n; i++) {
            x[2 * i] = trng_unif(&r, -2, 2);
            x[2 * i + 1] = NAN;               /* always missing: imputed */
            snprintf(g[i], 16, "g%zu", i / 5);
            ex[i].x = x + 2 * i;
            ex[i].group = g[i];
            for (int k = 0; k < FP_RES_COUNT; k++) ex[i].y[k] = NAN;
            ex[i].y[FP_RES_MEM] = 1e9 * exp(0.5 * x[2 * i] + 0.02 * trng_norm(&r));
        }
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.dim = 2;
        o.names = names2;
        o.feature_tx = FP_TX_NONE;
        fp_model *lm = fp_model_new("linear", &o, &err);
        ok(lm && fp_model_train(lm, ex, n, NULL, NULL, &err) == 0, "train in log1p space (%s)", err.msg);
        double q[2] = {1, NAN};
        fp_quantiles out[FP_RES_COUNT];
        fp_model_predict(lm, q, out, NULL, &err);
        is_near(out[FP_RES_MEM].value[0] / (1e9 * exp(0.5)), 1, 0.03, "p50 of bytes within 3%% at x1 = 1");
        ok(out[FP_RES_MEM].value[0] > 0, "bytes predictions are positive");
        fp_model_free(lm);
        free(x); free(ex); free(g);
    }

    /* 7. Bad use. */
    {
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.nlevels = 2;
        o.levels[0] = 0.9;
        o.levels[1] = 0.5;
        fp_err e2 = {0};
        ok(!fp_model_new("linear", &o, &e2) && e2.cls == FP_EUSAGE, "descending levels refused (%s)", e2.msg);
        fp_err_clear(&e2);
        ok(!fp_model_new("forest", NULL, &e2) && e2.cls == FP_EUSAGE, "unknown kind refused (%s)", e2.msg);
        fp_model *lm = new_linear(FP_OPT_ADAM, 0.01);
        fp_err_clear(&e2);
        ok(fp_model_train(lm, NULL, 0, NULL, NULL, &e2) < 0 && e2.cls == FP_EUSAGE, "no examples refused");
        fp_usage u = {"g", 1, 1, 1, NAN, false};
        fp_err_clear(&e2);
        ok(fp_model_observe(lm, &u, &e2) < 0 && e2.cls == FP_EUSAGE, "observe on linear refused (%s)", e2.msg);
        fp_model_free(lm);
    }
    /* Far outside the data, predictions stay within the targets seen,
     * widened by a quarter of their span: y = 3 + 2 x1 - x2 on x in
     * [-2, 2] spans about [-3, 9] (+-noise); at x1 = 1e6 an unclamped model
     * would say 2e6. */
    {
        dataset dc;
        make(&dc, 400, 3, 0.1, 77);
        fp_model *mc = new_linear(FP_OPT_ADAM, 0.05);
        fp_train_opts tc;
        fp_train_opts_default(&tc);
        fp_err e = {0};
        ok(mc && fp_model_train(mc, dc.ex, dc.n, &tc, NULL, &e) == 0, "clamp: trained (%s)", e.msg);
        double ymax = -1e9, ymin = 1e9;
        for (size_t i2 = 0; i2 < dc.n; i2++) {
            if (dc.ex[i2].y[FP_RES_CPU] > ymax) ymax = dc.ex[i2].y[FP_RES_CPU];
            if (dc.ex[i2].y[FP_RES_CPU] < ymin) ymin = dc.ex[i2].y[FP_RES_CPU];
        }
        double far = p_at(mc, 1e6, 0, 1);
        ok(far <= ymax + 0.25 * (ymax - ymin) + 1e-9 && far >= ymax,
           "clamp: p90 at x1 = 1e6 is %.3f, within [max %.3f, max + span/4]", far, ymax);
        double lowv = p_at(mc, -1e6, 0, 0);
        ok(lowv >= ymin - 0.25 * (ymax - ymin) - 1e-9, "clamp: p50 at x1 = -1e6 is %.3f, not below min - span/4", lowv);
        is_near(p_at(mc, 1, 0.5, 0), 4.5, 0.1, "clamp: inside the data nothing changes");
        fp_model_free(mc);
        drop(&dc);
    }
    return done_testing();
}
