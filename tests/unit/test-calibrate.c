/* test-calibrate.c - group-aware conformalised quantiles (fp/model.h,
 * "Calibration"): on synthetic workloads whose groups differ by more than
 * the model can tell, the raw quantiles under-cover new groups and the
 * calibrated ones cover them at their levels; the shifts survive a save
 * and load; calibration can be turned off; what is not calibrated says
 * why. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/model.h"
#include "model-util.h"
#include "tap.h"

static const char *const ab[] = {"a", "b"};

/* G groups of R rows: feature a = the group's signature (a uniform
 * draw), b = noise; memory = exp(12 + a + e_g + 0.3 n) bytes, where the
 * group effect e_g ~ N(0, 0.8) is invisible in the features: a model
 * that matches a new group to a seen one inherits that one's effect. */
typedef struct {
    size_t n;
    double *x;
    char (*g)[16];
    fp_example *e;
} set;

static void make_set(set *s, trng *r, int G, int R, const char *prefix)
{
    s->n = (size_t)G * (size_t)R;
    s->x = malloc(s->n * 2 * sizeof *s->x);
    s->g = malloc(s->n * sizeof *s->g);
    s->e = calloc(s->n, sizeof *s->e);
    size_t i = 0;
    for (int g = 0; g < G; g++) {
        double a = trng_unif(r, 0, 3), eg = 0.8 * trng_norm(r);
        for (int k = 0; k < R; k++, i++) {
            s->x[2 * i] = a + 0.01 * trng_norm(r);
            s->x[2 * i + 1] = trng_unif(r, 0, 1);
            snprintf(s->g[i], sizeof s->g[i], "%s%d", prefix, g);
            s->e[i].x = s->x + 2 * i;
            s->e[i].group = s->g[i];
            for (int q = 0; q < FP_RES_COUNT; q++) s->e[i].y[q] = NAN;
            s->e[i].y[FP_RES_MEM] = exp(12 + a + eg + 0.3 * trng_norm(r));
        }
    }
}

static void free_set(set *s) { free(s->x); free(s->g); free(s->e); }

/* Coverage per level of the memory quantiles of m on s. */
static void coverage(fp_model *m, const set *s, double cov[3])
{
    long c[3] = {0};
    for (size_t i = 0; i < s->n; i++) {
        fp_quantiles q[FP_RES_COUNT];
        fp_err err = {0};
        fp_model_predict(m, s->e[i].x, q, NULL, &err);
        for (int j = 0; j < 3; j++)
            if (s->e[i].y[FP_RES_MEM] <= q[FP_RES_MEM].value[j]) c[j]++;
    }
    for (int j = 0; j < 3; j++) cov[j] = (double)c[j] / (double)s->n;
}

static fp_model *new_model(const char *kind)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = ab;
    o.k = 1;
    fp_err err = {0};
    return fp_model_new(kind, &o, &err);
}

int main(void)
{
    trng r = {42};
    set tr, te;
    make_set(&tr, &r, 80, 5, "t");          /* training: 80 groups */
    make_set(&te, &r, 400, 5, "n");         /* new groups, never seen */
    fp_err err = {0};

    /* knn with one neighbour: its quantiles are one seen workload's value
     * widened by the least kernel width, far too narrow for a new group */
    fp_model *m = new_model("knn");
    ok(fp_model_train(m, tr.e, tr.n, NULL, NULL, &err) == 0, "train knn (%s)", err.msg);
    double raw[3], cal[3];
    coverage(m, &te, raw);
    ok(raw[1] < 0.75 && raw[2] < 0.85, "raw knn under-covers new groups: p90 %.3f, p99 %.3f", raw[1], raw[2]);
    fp_calib_report rep;
    fp_calib_opts co;
    fp_calib_opts_default(&co);
    ok(fp_model_calibrate(m, tr.e, tr.n, NULL, &co, &rep, &err) == 0 && rep.done,
       "calibrate (%s%s)", err.msg, rep.why);
    ok(rep.method == FP_CAL_LOG1P && rep.folds == 5 && rep.groups == 80 && rep.rows == tr.n,
       "log1p, 5 folds over 80 groups, every row held out once");
    ok(rep.n[FP_RES_MEM] == (long)tr.n && rep.n[FP_RES_CPU] == 0, "scores for memory only");
    ok(rep.before[FP_RES_MEM][1] < 0.8, "held-out coverage before: p90 %.3f", rep.before[FP_RES_MEM][1]);
    ok(fabs(rep.after[FP_RES_MEM][1] - 0.9) < 0.05, "cross-validated coverage after: p90 %.3f",
       rep.after[FP_RES_MEM][1]);
    ok(rep.shift[FP_RES_MEM][1] > 0 && rep.shift[FP_RES_MEM][2] > rep.shift[FP_RES_MEM][1],
       "shifts widen, p99 more than p90 (%g, %g)", rep.shift[FP_RES_MEM][1], rep.shift[FP_RES_MEM][2]);
    coverage(m, &te, cal);
    ok(fabs(cal[0] - 0.5) < 0.06, "new groups: p50 covers %.3f (0.5)", cal[0]);
    ok(fabs(cal[1] - 0.9) < 0.04, "new groups: p90 covers %.3f (0.9)", cal[1]);
    ok(cal[2] >= 0.97 && cal[2] <= 1.0, "new groups: p99 covers %.3f (0.99)", cal[2]);

    /* the shift is exactly the conformal quantile: log1p(q') - log1p(q) */
    {
        fp_quantiles qr[FP_RES_COUNT], qc[FP_RES_COUNT];
        fp_model_calibration_enable(m, false);
        fp_model_predict(m, te.e[0].x, qr, NULL, &err);
        fp_model_calibration_enable(m, true);
        fp_model_predict(m, te.e[0].x, qc, NULL, &err);
        double sh[FP_QMAX];
        ok(fp_model_calibration(m, FP_RES_MEM, sh) == FP_CAL_LOG1P, "method readable");
        for (int j = 0; j < 3; j++)
            is_near(log1p(qc[FP_RES_MEM].value[j]) - log1p(qr[FP_RES_MEM].value[j]), sh[j], 1e-9,
                    "level %d moved by its shift in log1p space", j);
    }

    /* save and load: the same predictions, bit for bit */
    {
        char path[] = "/tmp/fp-test-cal-XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        ok(fp_model_save(m, path, &err) == 0, "save (%s)", err.msg);
        fp_model *l = fp_model_load(path, &err);
        ok(l != NULL, "load (%s)", err.msg);
        double lc[3];
        if (l) {
            coverage(l, &te, lc);
            ok(lc[0] == cal[0] && lc[1] == cal[1] && lc[2] == cal[2], "loaded model covers the same");
            fp_model_calibration_clear(l);
            coverage(l, &te, lc);
            ok(lc[1] == raw[1], "cleared: raw again");
            fp_model_free(l);
        }
        unlink(path);
    }

    /* additive: also near its levels; auto keeps log1p on multiplicative
     * noise (lower cross-validated pinball loss) */
    {
        fp_calib_opts ca = co;
        ca.method = FP_CAL_AUTO;
        ok(fp_model_calibrate(m, tr.e, tr.n, NULL, &ca, &rep, &err) == 0 && rep.done, "auto");
        /* the loss is in the unit, so the largest workloads weigh most:
         * here the additive shift serves them better */
        ok(rep.method == (rep.loss[1] <= rep.loss[2] ? FP_CAL_LOG1P : FP_CAL_ADD) &&
           rep.loss[1] < rep.loss[0] && rep.loss[2] < rep.loss[0],
           "auto keeps the lower pinball loss, both below raw (raw %.4f, log1p %.4f, add %.4f)",
           rep.loss[0], rep.loss[1], rep.loss[2]);
        ca.method = FP_CAL_ADD;
        ok(fp_model_calibrate(m, tr.e, tr.n, NULL, &ca, &rep, &err) == 0 && rep.method == FP_CAL_ADD, "add");
        coverage(m, &te, cal);
        ok(fabs(cal[1] - 0.9) < 0.05, "add: new groups p90 covers %.3f", cal[1]);
    }
    fp_model_free(m);

    /* linear: the same data; it cannot see the group effect either */
    m = new_model("linear");
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.epochs = 60;
    ok(fp_model_train(m, tr.e, tr.n, &to, NULL, &err) == 0, "train linear");
    ok(fp_model_calibrate(m, tr.e, tr.n, &to, &co, &rep, &err) == 0 && rep.done, "calibrate linear");
    coverage(m, &te, cal);
    ok(fabs(cal[1] - 0.9) < 0.05 && cal[2] >= 0.97, "linear, new groups: p90 %.3f, p99 %.3f", cal[1], cal[2]);
    fp_model_free(m);

    /* nothing to calibrate */
    m = new_model("knn");
    fp_model_train(m, tr.e, 5, NULL, NULL, &err);      /* one group */
    int crc = fp_model_calibrate(m, tr.e, 5, NULL, &co, &rep, &err);
    ok(crc == 0 && !rep.done && strstr(rep.why, "1 group(s)"), "one group: not calibrated (%s)", rep.why);
    ok(fp_model_calibration(m, FP_RES_MEM, NULL) == FP_CAL_NONE, "and no calibration stored");
    fp_model_free(m);
    m = fp_model_new("vpa", NULL, &err);
    crc = fp_model_calibrate(m, tr.e, tr.n, NULL, &co, &rep, &err);
    ok(crc == 0 && !rep.done && strstr(rep.why, "bounds"), "vpa: not calibrated (%s)", rep.why);
    fp_model_free(m);
    co.folds = 1;
    m = new_model("knn");
    ok(fp_model_calibrate(m, tr.e, tr.n, NULL, &co, &rep, &err) < 0 && err.cls == FP_EUSAGE, "one fold refused");
    fp_model_free(m);

    free_set(&tr);
    free_set(&te);
    return done_testing();
}
