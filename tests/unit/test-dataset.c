/* test-dataset.c - fingerprint feature maps, actual targets, horizon peaks,
 * groups and the dataset (fp/dataset.h). */
#include <math.h>
#include <stdlib.h>
#include "fp/dataset.h"
#include "tap.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    return json_loads(text, 0, &je);
}

int main(void)
{
    fp_err err = {0};
    const char *names[] = { "b", "a" };
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = names;
    fp_model *m = fp_model_new("linear", &o, &err);
    ok(m != NULL, "a linear model of features b, a");
    fp_featmap *fm = fp_featmap_new(m);
    double x[2];

    json_t *r1 = parse("{\"features\":{\"a\":1,\"b\":2,\"c\":null}}");
    ok(fp_featmap_vector(fm, r1, x, &err) == 0 && x[0] == 2 && x[1] == 1,
       "features mapped by name into model order");
    json_t *r2 = parse("{\"features\":{\"a\":5,\"b\":null,\"c\":3}}");
    ok(fp_featmap_vector(fm, r2, x, &err) == 0 && isnan(x[0]) && x[1] == 5,
       "same layout: null is NaN");
    json_t *r3 = parse("{\"features\":{\"c\":1,\"b\":7,\"a\":8}}");
    ok(fp_featmap_vector(fm, r3, x, &err) == 0 && x[0] == 7 && x[1] == 8, "a new layout is remapped");
    json_t *r4 = parse("{\"features\":{\"c\":1,\"a\":8}}");
    fp_err_clear(&err);
    ok(fp_featmap_vector(fm, r4, x, &err) < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "model needs feature b"), "a lacking feature is named (%s)", err.msg);
    json_t *r5 = parse("{\"features\":{\"a\":\"x\",\"b\":1}}");
    ok(fp_featmap_vector(fm, r5, x, &err) < 0 && strstr(err.msg, "features.a is not a number or null"),
       "a string feature is refused");
    json_t *r6 = parse("{\"id\":\"x\"}");
    ok(fp_featmap_vector(fm, r6, x, &err) < 0 && strstr(err.msg, "no \"features\""), "no features object");
    ok(fp_featmap_vector(fm, r1, x, &err) == 0 && x[0] == 2 && x[1] == 1, "back to the first layout");

    const char **fn;
    size_t n;
    ok(fp_fingerprint_names(r3, &fn, &n, &err) == 0 && n == 3 && strcmp(fn[0], "c") == 0 &&
       strcmp(fn[2], "a") == 0, "fingerprint names in record order");
    free(fn);
    /* windows: a model of non-standard names cannot read them */
    fp_window *w = fp_window_new();
    ok(fp_featmap_window(fm, w, NULL, x, &err) < 0 && strstr(err.msg, "not computed from samples"),
       "non-standard features from a window are refused");
    fp_featmap_free(fm);
    fp_model_free(m);

    const char *std[] = { "cpu_cores_max", "mem_bytes_mean" };
    o.names = std;
    m = fp_model_new("knn", &o, &err);
    fm = fp_featmap_new(m);
    for (int i = 0; i < 5; i++) {
        fp_sample s;
        fp_sample_init(&s, i, "absent");
        fp_sample_set(&s, FP_M_CPU_CORES, i);
        fp_window_add(w, &s);
    }
    int wrc = fp_featmap_window(fm, w, NULL, x, &err);
    ok(wrc == 0 && x[0] == 4 && isnan(x[1]), "window features: cpu max 4, memory missing");
    fp_window_free(w);
    fp_featmap_free(fm);
    fp_model_free(m);

    double y[FP_RES_COUNT];
    json_t *a = parse("{\"cpu_cores_peak\":3,\"cpu_cores_p95\":2,\"mem_bytes_peak\":null}");
    ok(fp_actual_targets(a, "peak", y, &err) == 0 && y[FP_RES_CPU] == 3 && isnan(y[FP_RES_MEM]) &&
       isnan(y[FP_RES_NET_TX]), "actual peaks");
    ok(fp_actual_targets(a, "p95", y, &err) == 0 && y[FP_RES_CPU] == 2, "actual p95");
    ok(fp_actual_targets(a, "max", y, &err) < 0, "unknown statistic refused");
    json_t *a2 = parse("{\"cpu_cores_peak\":\"3\"}");
    ok(fp_actual_targets(a2, "peak", y, &err) < 0 && strstr(err.msg, "cpu_cores_peak"), "a string target refused");

    double t[] = { 0, 1, 2, 3, 4, 5, 6 }, v[] = { 5, 1, 4, NAN, 2, 9, 0 };
    double tc[] = { 0, 1, 2, 4, 6 }, out[5];
    fp_horizon_peaks(t, v, 7, tc, 5, 2, out);
    ok(out[0] == 4 && out[1] == 4 && out[2] == 2 && out[3] == 9 && isnan(out[4]),
       "horizon peaks over (tc, tc+2]: %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4]);

    fp_groupby *g = fp_groupby_new("meta.task~DA[0-9]+", &err);
    json_t *meta = parse("{\"task\":\"bwa (DA101) (711)\",\"n\":3}");
    char buf[64];
    bool fb;
    is_str(fp_groupby_key(g, "id1", meta, buf, sizeof buf, &fb), "DA101", "regex group");
    ok(!fb, "no fallback");
    json_t *meta2 = parse("{\"task\":\"fastqc\"}");
    is_str(fp_groupby_key(g, "id1", meta2, buf, sizeof buf, &fb), "id1", "no match: the id");
    ok(fb, "fallback reported");
    fp_groupby_free(g);
    g = fp_groupby_new("meta.n", &err);
    is_str(fp_groupby_key(g, "id1", meta, buf, sizeof buf, NULL), "3", "a number key");
    fp_groupby_free(g);
    ok(fp_groupby_new("host", &err) == NULL && err.cls == FP_EUSAGE, "bad spec refused");
    ok(fp_groupby_new("meta.x~(", &err) == NULL && strstr(err.msg, "regular expression"), "bad regex refused");

    fp_dataset *d = fp_dataset_new(2);
    double xr[2] = { 1, 2 }, yr[FP_RES_COUNT];
    for (int r = 0; r < FP_RES_COUNT; r++) yr[r] = NAN;
    int added = 0;
    for (int i = 0; i < 100; i++) {
        xr[0] = i;
        yr[FP_RES_CPU] = i % 3 == 0 ? NAN : i;
        if (fp_dataset_add(d, xr, yr, i % 2 ? "odd" : "even", i, false, &err) == i) added++;
    }
    is_int(added, 100, "rows added with their indices");
    is_int((long long)fp_dataset_size(d), 100, "100 rows");
    is_int((long long)fp_dataset_drop_untargeted(d), 34, "34 rows without a target dropped");
    size_t ne;
    const fp_example *ex = fp_dataset_examples(d, &ne);
    ok(ne == 66 && ex[0].x[0] == 1 && ex[0].y[FP_RES_CPU] == 1 && strcmp(ex[0].group, "odd") == 0 &&
       ex[65].x[0] == 98 && ex[65].x[1] == 2 && ex[65].ts == 98, "rows kept in order with their x, y, group");
    is_int((long long)fp_dataset_groups(d), 2, "two groups");
    fp_dataset_y(d, 0)[FP_RES_MEM] = 5;
    ex = fp_dataset_examples(d, &ne);
    ok(ex[0].y[FP_RES_MEM] == 5, "targets writable");
    fp_dataset_free(d);

    json_decref(r1); json_decref(r2); json_decref(r3); json_decref(r4); json_decref(r5);
    json_decref(r6); json_decref(a); json_decref(a2); json_decref(meta); json_decref(meta2);
    return done_testing();
}
