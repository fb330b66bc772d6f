/* test-prior.c - history as a prior (fp/model.h): identity keys, the
 * per-key summary (ring, eviction, censored runs), the blend worked by
 * hand, training and updates, and model files (round trip bit for bit,
 * files without a prior). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/model.h"
#include "tap.h"

static const char *const ab[] = {"a", "b"};

static fp_model *new_knn(void)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 2;
    o.names = ab;
    o.feature_tx = FP_TX_NONE;
    o.target_tx = FP_TX_NONE;
    o.k = 2;
    fp_err err = {0};
    return fp_model_new("knn", &o, &err);
}

static int prior_on(fp_model *m, int keep, int max_keys, const char *spec)
{
    fp_prior_opts po;
    fp_prior_opts_default(&po);
    po.keep = keep;
    po.max_keys = max_keys;
    if (spec) po.key = spec;
    fp_err err = {0};
    int rc = fp_model_prior_enable(m, &po, &err);
    if (rc < 0) printf("# %s\n", err.msg);
    return rc;
}

/* one run of key: memory peak mem (NaN: none), censored memory cens (NaN: none) */
static int run(fp_model *m, const char *key, double mem, double cens)
{
    double y[FP_RES_COUNT], c[FP_RES_COUNT];
    for (int r = 0; r < FP_RES_COUNT; r++) y[r] = c[r] = NAN;
    y[FP_RES_MEM] = mem;
    c[FP_RES_MEM] = cens;
    fp_err err = {0};
    return fp_model_prior_observe(m, key, y, c, &err);
}

/* the model's quantiles of memory set by hand: levels 0.5, 0.9, 0.99 */
static void model_q(fp_quantiles out[FP_RES_COUNT], double a, double b, double c)
{
    memset(out, 0, sizeof(fp_quantiles) * FP_RES_COUNT);
    for (int r = 0; r < FP_RES_COUNT; r++) snprintf(out[r].why, sizeof out[r].why, "none");
    fp_quantiles *q = &out[FP_RES_MEM];
    q->n = 3;
    q->level[0] = 0.5; q->level[1] = 0.9; q->level[2] = 0.99;
    q->value[0] = a; q->value[1] = b; q->value[2] = c;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

int main(void)
{
    fp_err err = {0};
    char kb[FP_PRIOR_KEY_MAX];

    /* ---- identity keys */
    json_t *meta = json_pack("{s:[s,s,s],s:s,s:s}", "cmd", "python3", "-c", "x = 1", "process",
                             "bwa", "task", "bwa (DA123_L1)");
    is_str(fp_prior_key("auto", "run-1", meta, kb, sizeof kb), "cmd=python3 -c x = 1",
           "auto: the command line (an argv joined)");
    is_str(fp_prior_key("meta.process", "run-1", meta, kb, sizeof kb), "process=bwa", "meta.process");
    is_str(fp_prior_key("meta.task~DA[0-9]+", "run-1", meta, kb, sizeof kb), "task=DA123",
           "meta.task~ERE: the match");
    is_str(fp_prior_key("meta.image,meta.process", "run-1", meta, kb, sizeof kb), "process=bwa",
           "a list: the first source present");
    is_str(fp_prior_key("id", "run-1", meta, kb, sizeof kb), "id=run-1", "id");
    ok(fp_prior_key("meta.image", "run-1", meta, kb, sizeof kb) == NULL, "no source present: no key");
    json_object_set_new(meta, "key", json_string("nightly-build"));
    is_str(fp_prior_key("auto", "run-1", meta, kb, sizeof kb), "key=nightly-build",
           "auto: an explicit meta.key first");
    json_t *trace = json_pack("{s:s}", "process", "fastqc");
    is_str(fp_prior_key("auto", "t1", trace, kb, sizeof kb), "process=fastqc", "auto: a trace's process");
    ok(fp_prior_key("auto", "t1", NULL, kb, sizeof kb) == NULL, "auto without meta: no key");
    json_decref(trace);
    {
        fp_model *m = new_knn();
        fp_prior_opts po;
        fp_prior_opts_default(&po);
        const char *badspecs[] = {"foo", "meta.", "meta.x~(", "meta.a,", ""};
        for (size_t i = 0; i < sizeof badspecs / sizeof *badspecs; i++) {
            po.key = badspecs[i];
            fp_err e = {0};
            ok(fp_model_prior_enable(m, &po, &e) < 0 && e.cls == FP_EUSAGE, "spec \"%s\" refused",
               badspecs[i]);
        }
        ok(!fp_model_prior_on(m, NULL), "no prior after refusals");
        ok(fp_model_prior_key(m, "x", meta, kb, sizeof kb) == NULL, "a model without a prior: no key");
        fp_model_free(m);
    }

    /* ---- the blend, by hand: peaks 100, 200, 400 of key "k"
     *   lo_0.5 = 200, lo_0.9 = 200 + 0.8 x 200 = 360, lo_0.99 = 396
     *   s = log1p(400) - log1p(100), hi = expm1(log1p(400) + s / sqrt(3)) = 887.9452060574123 */
    fp_model *m = new_knn();
    ok(prior_on(m, 3, 2, NULL) == 0, "prior on (keep 3, 2 keys)");
    ok(run(m, "k", 100, NAN) == 0 && run(m, "k", 200, NAN) == 0 && run(m, "k", 400, NAN) == 0,
       "three runs of k");
    fp_quantiles out[FP_RES_COUNT];
    fp_prior_use use;
    model_q(out, 50, 500, 1000);
    fp_model_prior_apply(m, "k", out, &use);
    ok(use.used && use.n[FP_RES_MEM] == 3 && use.k[FP_RES_MEM] == 3, "used: 3 runs");
    is_str(use.key, "k", "the key said");
    is_near(use.hi[FP_RES_MEM], 887.9452060574123, 1e-9, "hi = max x exp(spread / sqrt 3), log1p space");
    is_near(out[FP_RES_MEM].value[0], 200, 1e-12, "p50: model 50 raised to the key's median 200");
    is_near(out[FP_RES_MEM].value[1], 500, 1e-12, "p90: model 500 within [360, 888] kept");
    is_near(out[FP_RES_MEM].value[2], 887.9452060574123, 1e-9, "p99: model 1000 lowered to hi");
    ok(out[FP_RES_CPU].n == 0, "cpu: no history, still not predicted");
    model_q(out, 250, 300, 350);
    fp_model_prior_apply(m, "k", out, NULL);
    is_near(out[FP_RES_MEM].value[0], 250, 1e-12, "p50 250 kept");
    is_near(out[FP_RES_MEM].value[1], 360, 1e-12, "p90 300 raised to lo 360");
    is_near(out[FP_RES_MEM].value[2], 396, 1e-12, "p99 350 raised to lo 396");
    model_q(out, 1, 2, 3);
    fp_model_prior_apply(m, "other", out, &use);
    ok(!use.used && out[FP_RES_MEM].value[2] == 3, "an unknown key changes nothing");
    fp_model_prior_apply(m, NULL, out, &use);
    ok(!use.used && out[FP_RES_MEM].value[2] == 3, "no key changes nothing");
    /* the model gave nothing for memory: the key's own quantiles */
    memset(out, 0, sizeof out);
    fp_model_prior_apply(m, "k", out, NULL);
    ok(out[FP_RES_MEM].n == 3, "no model quantiles: the key's levels");
    is_near(out[FP_RES_MEM].value[1], 360, 1e-12, "... p90 = the key's 360");
    /* one run: every level is that run's peak (spread 0) */
    ok(run(m, "one", 1000, NAN) == 0, "a key with one run");
    model_q(out, 10, 5000, 9000);
    fp_model_prior_apply(m, "one", out, NULL);
    ok(out[FP_RES_MEM].value[0] == 1000 && out[FP_RES_MEM].value[1] == 1000 &&
       out[FP_RES_MEM].value[2] == 1000, "one run: every level at its peak (1000)");

    /* ---- censored runs never lower it; the ring keeps the last 3 */
    ok(run(m, "k", NAN, 300) == 0, "k killed at 300 (below its max 400)");
    model_q(out, 250, 300, 350);
    fp_model_prior_apply(m, "k", out, &use);
    ok(use.n[FP_RES_MEM] == 3 && fabs(out[FP_RES_MEM].value[2] - 396) < 1e-12,
       "a censored 300 below the max is ignored (n 3, p99 396)");
    ok(run(m, "k", NAN, 500) == 0, "k killed at 500 (above its max)");
    /* peaks now 200, 400, 500 (100 fell out of the ring): lo_0.99 = 400 + 0.98 x 100 = 498,
     * hi = expm1(log1p(500) + (log1p(500) - log1p(200)) / sqrt(3)) = 847.8655328008067 */
    model_q(out, 250, 300, 350);
    fp_model_prior_apply(m, "k", out, &use);
    ok(use.n[FP_RES_MEM] == 4 && use.k[FP_RES_MEM] == 3, "a censored 500 above the max is stored (n 4, 3 kept)");
    is_near(out[FP_RES_MEM].value[0], 400, 1e-12, "p50 now the median of 200, 400, 500");
    is_near(out[FP_RES_MEM].value[2], 498, 1e-9, "p99 398 -> 498: raised, never lowered");
    is_near(use.hi[FP_RES_MEM], 847.8655328008067, 1e-9, "hi of 200, 400, 500");
    ok(run(m, "k", 100, NAN) == 0, "an uncensored 100: the newest run counts, the oldest (200) goes");
    model_q(out, 1, 1, 1);
    fp_model_prior_apply(m, "k", out, &use);
    is_near(out[FP_RES_MEM].value[0], 400, 1e-12, "median of 400, 500, 100");

    /* ---- at most 2 keys: the least recently updated goes */
    ok(fp_model_prior_keys(m) == 2, "2 keys held (k, one)");
    ok(run(m, "third", 7, NAN) == 0, "a third key");
    ok(fp_model_prior_keys(m) == 2, "still 2 keys");
    model_q(out, 1, 1, 1);
    fp_model_prior_apply(m, "one", out, &use);
    ok(!use.used, "\"one\" (least recently updated) evicted");
    fp_model_prior_apply(m, "k", out, &use);
    ok(use.used, "\"k\" kept");

    /* ---- model files: round trip bit for bit; files without a prior */
    char dir[] = "/tmp/fp-test-prior-XXXXXX";
    ok(mkdtemp(dir) != NULL, "temporary directory");
    char p1[128], p2[128], p3[128];
    snprintf(p1, sizeof p1, "%s/a.json", dir);
    snprintf(p2, sizeof p2, "%s/b.json", dir);
    snprintf(p3, sizeof p3, "%s/old.json", dir);
    {
        double x[2] = {1, 2};
        fp_example e = {.x = x, .group = "g", .key = "k"};
        for (int r = 0; r < FP_RES_COUNT; r++) e.y[r] = NAN;
        e.y[FP_RES_MEM] = 450;
        e.y[FP_RES_CPU] = 1.5;
        ok(fp_model_update(m, &e, &err) == 0, "fp_model_update feeds the prior (%s)", err.msg);
    }
    ok(fp_model_save(m, p1, &err) == 0, "save (%s)", err.msg);
    fp_model *l = fp_model_load(p1, &err);
    ok(l != NULL, "load (%s)", err.msg);
    ok(l && fp_model_save(l, p2, &err) == 0, "save again");
    char *s1 = slurp(p1), *s2 = slurp(p2);
    ok(s1 && s2 && strcmp(s1, s2) == 0, "saved, loaded and saved again: the same bytes");
    ok(s1 && strstr(s1, "\"prior\"") != NULL, "the file has a prior section");
    fp_prior_opts po;
    ok(l && fp_model_prior_on(l, &po) && po.keep == 3 && po.max_keys == 2 && strcmp(po.key, "auto") == 0,
       "options loaded");
    {
        fp_quantiles a[FP_RES_COUNT], b[FP_RES_COUNT];
        double xq[2] = {1, 2};
        fp_prior_use ua, ub;
        ok(fp_model_predict(m, xq, a, NULL, &err) == 0, "predict (saved model)");
        fp_model_prior_apply(m, "k", a, &ua);
        ok(l && fp_model_predict(l, xq, b, NULL, &err) == 0, "predict (loaded model)");
        if (l) fp_model_prior_apply(l, "k", b, &ub);
        ok(memcmp(a, b, sizeof a) == 0, "the same quantiles bit for bit");
        ok(ua.n[FP_RES_MEM] == ub.n[FP_RES_MEM] && ub.n[FP_RES_CPU] == 1, "the same runs (cpu 1, mem %d)",
           ub.n[FP_RES_MEM]);
    }
    /* a file written before the prior existed: no "prior" */
    {
        json_error_t je;
        json_t *root = json_load_file(p1, 0, &je);
        json_object_del(root, "prior");
        ok(root && json_dump_file(root, p3, JSON_REAL_PRECISION(17)) == 0, "an old file (no prior)");
        json_decref(root);
        fp_model *o = fp_model_load(p3, &err);
        ok(o != NULL, "it loads (%s)", err.msg);
        ok(o && !fp_model_prior_on(o, NULL), "without a prior");
        model_q(out, 1, 2, 3);
        if (o) fp_model_prior_apply(o, "k", out, &use);
        ok(!use.used && out[FP_RES_MEM].value[2] == 3, "its predictions are the model's");
        char kb2[FP_PRIOR_KEY_MAX];
        ok(o && fp_model_prior_key(o, "x", meta, kb2, sizeof kb2) == NULL, "and no key");
        if (o) {
            double x[2] = {1, 2};
            fp_example e = {.x = x, .group = "g", .key = "k"};
            for (int r = 0; r < FP_RES_COUNT; r++) e.y[r] = 5;
            ok(fp_model_update(o, &e, &err) == 0 && fp_model_prior_keys(o) == 0,
               "an update with a key stores nothing");
        }
        fp_model_free(o);
        /* malformed prior sections are refused */
        const char *bad[] = {
            "{\"key\":\"auto\",\"keep\":3,\"max_keys\":2}",
            "{\"key\":\"nope\",\"keep\":3,\"max_keys\":2,\"keys\":[]}",
            "{\"key\":\"auto\",\"keep\":3,\"max_keys\":2,\"keys\":[{\"key\":\"a\",\"n\":{\"mem_bytes\":1},"
            "\"peaks\":{\"mem_bytes\":[1,2]}}]}",
            "{\"key\":\"auto\",\"keep\":3,\"max_keys\":2,\"keys\":[{\"key\":\"a\",\"n\":{\"mem_bytes\":1},"
            "\"peaks\":{\"mem_bytes\":[-1]}}]}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            root = json_load_file(p1, 0, &je);
            json_object_set_new(root, "prior", json_loads(bad[i], 0, &je));
            json_dump_file(root, p3, JSON_REAL_PRECISION(17));
            json_decref(root);
            fp_err e2 = {0};
            fp_model *b = fp_model_load(p3, &e2);
            ok(!b && e2.cls == FP_EINPUT, "malformed prior %zu refused (%s)", i, e2.msg);
            fp_model_free(b);
        }
    }
    free(s1);
    free(s2);
    fp_model_free(l);
    fp_model_free(m);

    /* ---- training fills it from rows with keys, in row order */
    {
        fp_model *t = new_knn();
        ok(prior_on(t, 16, 1000, NULL) == 0, "prior on");
        fp_example ex[6];
        double xs[6][2];
        const char *keys[6] = {"a", "a", "b", NULL, "a", "b"};
        for (int i = 0; i < 6; i++) {
            xs[i][0] = i; xs[i][1] = 0;
            memset(&ex[i], 0, sizeof ex[i]);
            ex[i].x = xs[i];
            ex[i].key = keys[i];
            char g[8];
            snprintf(g, sizeof g, "g%d", i);
            ex[i].group = strdup(g);
            for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = NAN;
            ex[i].y[FP_RES_MEM] = 100 * (i + 1);
        }
        ok(fp_model_train(t, ex, 6, NULL, NULL, &err) == 0, "train (%s)", err.msg);
        ok(fp_model_prior_keys(t) == 2, "2 keys (a row without a key adds none)");
        model_q(out, 1, 1, 1);
        fp_model_prior_apply(t, "a", out, &use);
        ok(use.n[FP_RES_MEM] == 3, "a: 3 runs (validation rows counted once)");
        is_near(out[FP_RES_MEM].value[0], 200, 1e-12, "a: median of 100, 200, 500");
        for (int i = 0; i < 6; i++) free((char *)ex[i].group);
        fp_model_free(t);
    }
    /* ---- re-enabling: the same spec keeps the keys (the newest peaks
     * past a smaller keep, the most recently updated keys past a smaller
     * max_keys); another spec drops them */
    {
        fp_model *t = new_knn();
        ok(prior_on(t, 3, 10, NULL) == 0, "prior on (keep 3)");
        run(t, "x", 100, NAN); run(t, "x", 200, NAN); run(t, "x", 300, NAN); run(t, "x", 400, NAN);
        run(t, "y", 5, NAN);
        ok(prior_on(t, 2, 10, NULL) == 0, "keep 2");
        model_q(out, 1, 1, 1);
        fp_model_prior_apply(t, "x", out, &use);
        ok(use.k[FP_RES_MEM] == 2 && use.n[FP_RES_MEM] == 4, "x: 2 peaks kept of 4 runs");
        is_near(out[FP_RES_MEM].value[0], 350, 1e-12, "x: the newest two (300, 400): median 350");
        run(t, "x", 1000, NAN);
        model_q(out, 1, 1, 1);
        fp_model_prior_apply(t, "x", out, NULL);
        is_near(out[FP_RES_MEM].value[0], 700, 1e-12, "then 1000 pushes out 300: median of 400, 1000");
        ok(prior_on(t, 2, 1, NULL) == 0 && fp_model_prior_keys(t) == 1, "max_keys 1: one key left");
        fp_model_prior_apply(t, "x", out, &use);
        ok(use.used, "the most recently updated (x) kept");
        ok(prior_on(t, 2, 1, "meta.process") == 0 && fp_model_prior_keys(t) == 0,
           "another key spec: keys dropped");
        fp_model *c = new_knn();
        run(t, "z", 9, NAN);
        ok(fp_model_prior_copy(c, t, &err) == 0 && fp_model_prior_keys(c) == 1, "copy");
        fp_prior_opts po2;
        ok(fp_model_prior_on(c, &po2) && strcmp(po2.key, "meta.process") == 0 && po2.keep == 2,
           "the copy has the options");
        fp_model_prior_disable(c);
        ok(!fp_model_prior_on(c, NULL) && fp_model_prior_keys(c) == 0, "disable");
        fp_model_free(c);
        fp_model_free(t);
    }
    /* ---- the prediction record says so, and reads back */
    {
        fp_prior_use u;
        memset(&u, 0, sizeof u);
        u.used = true;
        snprintf(u.key, sizeof u.key, "process=bwa");
        u.n[FP_RES_CPU] = 3;
        u.n[FP_RES_MEM] = 5;
        fp_prediction pr, back;
        memset(&pr, 0, sizeof pr);
        snprintf(pr.target.id, sizeof pr.target.id, "w");
        model_q(pr.q, 1, 2, 3);
        fp_prior_note(&u, &pr);
        json_t *j = fp_prediction_to_json(&pr);
        char *txt = json_dumps(json_object_get(j, "prior"), JSON_COMPACT);
        is_str(txt, "{\"key\":\"process=bwa\",\"n\":5}", "\"prior\": key and the most runs");
        free(txt);
        ok(fp_prediction_from_json(j, &back, &err) == 0 && back.has_prior && back.prior_n == 5 &&
           strcmp(back.prior_key, "process=bwa") == 0, "read back");
        json_object_set_new(j, "prior", json_pack("{s:i}", "n", 2));
        fp_err e3 = {0};
        ok(fp_prediction_from_json(j, &back, &e3) < 0 && e3.cls == FP_EINPUT, "a prior without a key refused");
        json_decref(j);
        memset(&pr, 0, sizeof pr);
        snprintf(pr.target.id, sizeof pr.target.id, "w");
        model_q(pr.q, 1, 2, 3);
        u.used = false;
        fp_prior_note(&u, &pr);
        j = fp_prediction_to_json(&pr);
        ok(!json_object_get(j, "prior"), "not used: no \"prior\"");
        json_decref(j);
    }
    json_decref(meta);
    unlink(p1); unlink(p2); unlink(p3);
    rmdir(dir);
    return done_testing();
}
