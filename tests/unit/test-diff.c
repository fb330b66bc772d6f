/* test-diff.c - the scoring math and the fingerprint distance (fp/diff.h)
 * against hand-computed values. */
#include <stdlib.h>
#include "fp/diff.h"
#include "tap.h"

static fp_quantiles quant2(double l0, double v0, double l1, double v1)
{
    fp_quantiles q;
    memset(&q, 0, sizeof q);
    q.n = 2;
    q.level[0] = l0;
    q.value[0] = v0;
    q.level[1] = l1;
    q.value[1] = v1;
    return q;
}

static void test_pinball(void)
{
    /* q = 0.9, predicted 100: under-predicted by 20 costs 0.9 * 20 = 18,
     * over-predicted by 20 costs 0.1 * 20 = 2 */
    is_near(fp_pinball(0.9, 100, 120), 18, 1e-12, "pinball p90, actual above: 0.9 x 20");
    is_near(fp_pinball(0.9, 100, 80), 2, 1e-12, "pinball p90, actual below: 0.1 x 20");
    is_near(fp_pinball(0.9, 100, 100), 0, 0, "pinball exact: 0");
    is_near(fp_pinball(0.5, 10, 4), 3, 1e-12, "pinball p50 is half the absolute error");
    ok(isnan(fp_pinball(0.9, NAN, 1)), "pinball of a non-finite prediction is NAN");
}

static void test_obs(void)
{
    fp_quantiles q = quant2(0.5, 100, 0.9, 200);
    fp_obs o;
    fp_obs_init(&o);
    o.q = &q;
    o.alloc = 200;
    o.hard = 200;
    o.use = 150;
    o.peak = 250;
    o.mean = 100;
    o.dt = 7200;
    fp_obs_result r;
    fp_obs_eval(&o, &r);
    is_int(r.nl, 2, "two levels scored");
    is_near(r.pinball[0], 25, 1e-12, "p50: 0.5 x (150 - 100)");
    is_near(r.pinball[1], 5, 1e-12, "p90: 0.1 x (200 - 150)");
    ok(!r.covered[0] && r.covered[1], "150 above p50, at or below p90");
    ok(r.has_alloc && !r.under, "not under the allocation 200");
    is_near(r.slack, 0.25, 1e-12, "slack (200 - 150) / 200");
    is_near(r.wasted_h, 200, 1e-12, "waste (200 - mean 100) x 2 h");
    ok(r.failed, "peak 250 above the hard limit 200 fails");
    o.use = 200;
    fp_obs_eval(&o, &r);
    ok(r.covered[1] && !r.under, "at the quantile counts as covered, not under");
    o.use = 201;
    o.peak = NAN;
    fp_obs_eval(&o, &r);
    ok(r.under && r.failed, "use above: under, and failed with peak = use");
    is_near(r.slack, 0, 0, "no slack when under");
}

static void test_score(void)
{
    /* four workloads, p50/p90 of memory predicted as 10/20, allocation 20:
     * actuals 5, 15, 20, 30 */
    fp_quantiles q = quant2(0.5, 10, 0.9, 20);
    fp_score s;
    fp_score_init(&s);
    const double ys[] = { 5, 15, 20, 30 };
    for (int i = 0; i < 4; i++) {
        fp_obs o;
        fp_obs_init(&o);
        o.q = &q;
        o.alloc = 20;
        o.hard = 20;
        o.use = ys[i];
        o.dt = 3600;
        ok(fp_score_add(&s, FP_RES_MEM, &o, NULL) == 1, "observation %d added", i);
        s.n++;
    }
    const fp_score_res *R = &s.r[FP_RES_MEM];
    is_int(R->n, 4, "4 observations");
    is_int(R->nl, 2, "2 levels");
    /* coverage: p50 10 covers 5 -> 1/4; p90 20 covers 5, 15, 20 -> 3/4 */
    is_near((double)R->lv[0].covered / (double)R->lv[0].n, 0.25, 1e-12, "coverage p50 1/4");
    is_near((double)R->lv[1].covered / (double)R->lv[1].n, 0.75, 1e-12, "coverage p90 3/4");
    is_near(fp_score_metric(&s, "coverage_gap", FP_RES_MEM, NULL), 0.25, 1e-12,
            "coverage gap max(|0.25-0.5|, |0.75-0.9|) = 0.25");
    /* pinball p50: 0.5*5, 0.5*5, 0.5*10, 0.5*20 = 2.5+2.5+5+10 = 20 -> 5
     * pinball p90: 0.1*15, 0.1*5, 0, 0.9*10 = 1.5+0.5+0+9 = 11 -> 2.75 */
    is_near(R->lv[0].pinball_sum, 20, 1e-12, "pinball p50 sum 20");
    is_near(R->lv[1].pinball_sum, 11, 1e-12, "pinball p90 sum 11");
    is_near(fp_score_metric(&s, "pinball", FP_RES_MEM, NULL), (5 + 2.75) / 2, 1e-12,
            "pinball: mean over levels of the mean loss");
    is_near(fp_score_metric(&s, "pinball_rel", FP_RES_MEM, NULL), (20.0 / 70 + 11.0 / 70) / 2, 1e-12,
            "pinball_rel: sum loss / sum |y|, averaged over levels");
    /* under: 30 only; slack: (15 + 5 + 0 + 0) / 80; waste (mean = use):
     * (15 + 5) x 1 h = 20 byte-h */
    is_near(fp_score_metric(&s, "under_rate", FP_RES_MEM, NULL), 0.25, 1e-12, "under rate 1/4");
    is_near(fp_score_metric(&s, "slack", FP_RES_MEM, NULL), 20.0 / 80, 1e-12, "slack 20 / 80");
    is_near(fp_score_metric(&s, "wasted_h", FP_RES_MEM, NULL), 20, 1e-12, "waste 20 byte-h");
    is_near(fp_score_metric(&s, "wasted_gb_h", FP_RES_COUNT, NULL), 20e-9, 1e-20, "waste in GB-h");
    is_int(R->failed, 1, "30 above the hard limit: one failure");
    fp_resource which;
    is_near(fp_score_metric(&s, "under_rate", FP_RES_COUNT, &which), 0.25, 1e-12, "any resource");
    is_int(which, FP_RES_MEM, "... names memory");
    ok(isnan(fp_score_metric(&s, "under_rate", FP_RES_CPU, NULL)), "no CPU: NAN");
    ok(isnan(fp_score_metric(&s, "wasted_core_h", FP_RES_COUNT, NULL)), "no CPU waste: NAN");
    ok(!fp_score_metric_known("bogus") && fp_score_metric_known("coverage_gap"), "metric names");

    /* an observation without prediction or allocation is not added */
    fp_obs o;
    fp_obs_init(&o);
    o.use = 1;
    is_int(fp_score_add(&s, FP_RES_CPU, &o, NULL), 0, "nothing to score: not added");

    /* merge = adding the same observations twice: rates unchanged, sums double */
    fp_score m;
    fp_score_init(&m);
    fp_score_merge(&m, &s);
    fp_score_merge(&m, &s);
    is_int(m.n, 8, "merged n");
    is_int(m.r[FP_RES_MEM].lv[1].n, 8, "merged level counts");
    is_near(fp_score_metric(&m, "coverage_gap", FP_RES_MEM, NULL), 0.25, 1e-12, "merged coverage gap");
    is_near(fp_score_metric(&m, "wasted_h", FP_RES_MEM, NULL), 40, 1e-12, "merged waste doubles");

    /* levels: a third level in between is kept in order */
    fp_quantiles q3 = quant2(0.7, 12, 0.99, 40);
    fp_obs_init(&o);
    o.q = &q3;
    o.use = 1;
    fp_score_add(&m, FP_RES_MEM, &o, NULL);
    is_int(m.r[FP_RES_MEM].nl, 4, "levels 0.5, 0.7, 0.9, 0.99");
    ok(m.r[FP_RES_MEM].lv[1].level == 0.7 && m.r[FP_RES_MEM].lv[3].level == 0.99, "ascending");

    json_t *j = fp_score_to_json(&s);
    json_t *mem = json_object_get(json_object_get(j, "resources"), "mem_bytes");
    is_near(json_number_value(json_object_get(json_object_get(json_object_get(mem, "levels"), "p90"),
                                              "coverage")), 0.75, 1e-12, "JSON: levels.p90.coverage");
    is_near(json_number_value(json_object_get(mem, "under_rate")), 0.25, 1e-12, "JSON: under_rate");
    ok(!json_object_get(json_object_get(j, "resources"), "cpu_cores"), "JSON: no CPU entry");
    ok(!json_object_get(j, "wasted_core_h"), "JSON: no wasted_core_h without CPU");
    is_int(json_integer_value(json_object_get(j, "n")), 4, "JSON: n");
    json_decref(j);
}

static void test_waste_integration(void)
{
    /* samples of one workload, allocation 4 cores: use 1 for 30 min, 3 for
     * 30 min, 5 for 1 h: waste 3 x 0.5 + 1 x 0.5 + 0 = 2 core-h; slack
     * (3 + 1 + 0) / 12; under 1 of 3 */
    fp_score s;
    fp_score_init(&s);
    const double use[] = { 1, 3, 5 }, dt[] = { 1800, 1800, 3600 };
    for (int i = 0; i < 3; i++) {
        fp_obs o;
        fp_obs_init(&o);
        o.alloc = 4;
        o.use = use[i];
        o.dt = dt[i];
        fp_score_add(&s, FP_RES_CPU, &o, NULL);
    }
    is_near(fp_score_metric(&s, "wasted_core_h", FP_RES_COUNT, NULL), 2, 1e-12, "waste 2 core-h");
    is_near(fp_score_metric(&s, "slack", FP_RES_CPU, NULL), 4.0 / 12, 1e-12, "slack 4 / 12");
    is_near(fp_score_metric(&s, "under_rate", FP_RES_CPU, NULL), 1.0 / 3, 1e-12, "under 1/3");
    ok(isnan(fp_score_metric(&s, "coverage_gap", FP_RES_CPU, NULL)), "no quantiles: no coverage");
}

static void test_distance(void)
{
    is_near(fp_rel_change(10, 30, 0), 0.5, 1e-12, "change 10 -> 30: 20 / 40");
    is_near(fp_rel_change(5, 4, 0), -1.0 / 9, 1e-12, "change 5 -> 4: -1 / 9");
    is_near(fp_rel_change(0, 0, 0), 0, 0, "0 -> 0 is no change");
    is_near(fp_rel_change(0, 7, 1e-9), 1, 1e-9, "from 0: nearly 1");

    const double a[] = { 1, 10, NAN, 0, 5 }, b[] = { 1, 30, 2, 0, 4 };
    int nc, top[5], nt;
    double d = fp_distance(a, b, 5, 0, &nc, 3, top, &nt);
    is_int(nc, 4, "4 features in common");
    is_near(d, (0.5 + 1.0 / 9) / 4, 1e-12, "distance: mean |change|");
    is_int(nt, 2, "unchanged features are not listed");
    is_int(top[0], 1, "moved most: index 1");
    is_int(top[1], 4, "then index 4");

    json_error_t je;
    json_t *fa = json_loads("{\"x\":1,\"mem\":100,\"cpu\":2,\"gone\":3,\"nil\":null,\"same\":4}", 0, &je);
    json_t *fb = json_loads("{\"x\":1,\"mem\":300,\"cpu\":1,\"nil\":5,\"same\":4,\"new\":1}", 0, &je);
    fp_moved mv[2];
    int skipped;
    fp_err err = {0};
    ok(fp_distance_json(fa, fb, 0, 2, mv, &nt, &d, &nc, &skipped, &err) == 0, "json distance");
    is_int(nc, 4, "x, mem, cpu, same compared");
    is_int(skipped, 3, "gone, nil, new skipped");
    is_near(d, (0.5 + 1.0 / 3) / 4, 1e-12, "json distance value");
    is_int(nt, 2, "top 2");
    is_str(mv[0].name, "mem", "moved most: mem (0.5)");
    is_str(mv[1].name, "cpu", "then cpu (1/3)");
    is_near(mv[1].a, 2, 0, "a value");
    is_near(mv[1].b, 1, 0, "b value");
    is_near(mv[1].change, -1.0 / 3, 1e-12, "signed change");
    json_decref(fb);

    /* ties are broken by name */
    fb = json_loads("{\"x\":2,\"mem\":200,\"cpu\":4,\"same\":4}", 0, &je);
    ok(fp_distance_json(fa, fb, 0, 2, mv, &nt, &d, &nc, &skipped, &err) == 0, "ties");
    is_int(nt, 2, "x, mem and cpu all change by 1/3: k = 2 keeps two");
    is_str(mv[0].name, "cpu", "ties by name: cpu first");
    is_str(mv[1].name, "mem", "then mem (x left out)");
    json_decref(fb);

    fb = json_loads("{\"x\":\"1\"}", 0, &je);
    ok(fp_distance_json(fa, fb, 0, 2, mv, &nt, &d, &nc, &skipped, &err) < 0 && err.cls == FP_EINPUT,
       "a string feature is bad input");
    ok(strstr(err.msg, "\"x\"") != NULL, "the message names the feature: %s", err.msg);
    json_decref(fb);
    fb = json_loads("{\"other\":1}", 0, &je);
    ok(fp_distance_json(fa, fb, 0, 2, mv, &nt, &d, &nc, &skipped, &err) == 0 && nc == 0 && isnan(d),
       "nothing in common: NAN");
    json_decref(fb);
    json_decref(fa);
}

/* fp_validation_cost against the cost worked out here from the model's
 * own p90s: a 1-nearest-neighbour model of A (0,0) cpu 1 mem 100 and
 * B (10,10) cpu 2 mem 200; two held-out rows of one group at A and B that
 * used cpu 2, mem 100 both. With qa, qb the p90s predicted at A and B:
 *   over_r = max(qa - ya, 0) + max(qb - yb, 0), under_r likewise, per
 *   resource (over + 10 under) / sum y; the change term 0.1 |qb - qa| /
 *   mean y; the cost the mean over cpu and mem. */
static double p90_of(fp_model *m, double *x, int r)
{
    fp_quantiles q[FP_RES_COUNT];
    fp_err err = {0};
    if (fp_model_predict(m, x, q, NULL, &err) < 0) return NAN;
    bool exact;
    return fp_quantile_at(&q[r], 0.9, &exact);
}

static void test_validation_cost(void)
{
    static const char *const ab[] = {"a", "b"};
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = ab;
    o.feature_tx = FP_TX_NONE;
    o.target_tx = FP_TX_NONE;
    o.k = 1;
    fp_err err = {0};
    fp_model *m = fp_model_new("knn", &o, &err);
    ok(m != NULL, "a knn model (%s)", err.msg);
    if (!m) return;
    double xa[2] = {0, 0}, xb[2] = {10, 10};
    fp_example st[2] = {{.x = xa, .group = "A"}, {.x = xb, .group = "B"}};
    fp_example va[2] = {{.x = xa, .group = "g"}, {.x = xb, .group = "g"}};
    for (int i = 0; i < 2; i++)
        for (int r = 0; r < FP_RES_COUNT; r++) st[i].y[r] = va[i].y[r] = NAN;
    st[0].y[FP_RES_CPU] = 1; st[0].y[FP_RES_MEM] = 100;
    st[1].y[FP_RES_CPU] = 2; st[1].y[FP_RES_MEM] = 200;
    va[0].y[FP_RES_CPU] = 2; va[0].y[FP_RES_MEM] = 100;
    va[1].y[FP_RES_CPU] = 2; va[1].y[FP_RES_MEM] = 100;
    for (int i = 0; i < 2; i++) fp_model_update(m, &st[i], &err);
    double over = 0, under = 0, change = 0;
    int res[2] = {FP_RES_CPU, FP_RES_MEM};
    for (int k = 0; k < 2; k++) {
        int r = res[k];
        double qa = p90_of(m, xa, r), qb = p90_of(m, xb, r), sy = va[0].y[r] + va[1].y[r];
        over += (fmax(qa - va[0].y[r], 0) + fmax(qb - va[1].y[r], 0)) / sy / 2;
        under += 10 * (fmax(va[0].y[r] - qa, 0) + fmax(va[1].y[r] - qb, 0)) / sy / 2;
        change += 0.1 * fabs(qb - qa) / (sy / 2) / 2;
    }
    ok(over > 0 && under > 0 && change > 0, "the example has every term (%g %g %g)", over, under, change);
    double parts[3], prel = NAN;
    is_near(fp_validation_cost(m, va, 2, false, parts, &prel), over + under, 1e-12, "validation cost");
    is_near(parts[0], over, 1e-12, "over term");
    is_near(parts[1], under, 1e-12, "under term");
    is_near(parts[2], 0, 0, "no change term without with_change");
    ok(isfinite(prel) && prel > 0, "pinball_rel of the same predictions: %g", prel);
    is_near(fp_validation_cost(m, va, 2, true, parts, NULL), over + under + change, 1e-12,
            "with the change term");
    is_near(parts[2], change, 1e-12, "change term");
    va[1].group = "h";
    fp_validation_cost(m, va, 2, true, parts, NULL);
    is_near(parts[2], 0, 0, "no change between rows of different groups");
    fp_model_free(m);
}

int main(void)
{
    test_validation_cost();
    test_pinball();
    test_obs();
    test_score();
    test_waste_integration();
    test_distance();
    return done_testing();
}
