/* test-model-vpa.c - the VPA and Autopilot baselines against histogram
 * percentiles and confidence bounds worked out by hand.
 *
 * Buckets (first 0.01 core or 1e7 bytes, ratio 1.05): bucket i starts at
 * first * (1.05^i - 1) / 0.05; value v is in bucket
 * floor(log(v * 0.05 / first + 1) / log 1.05). A percentile is the END of
 * the bucket where the running weight reaches p * total.
 *   cpu 0.1  -> log(1.5)/log(1.05)  = 8.31  -> bucket 8,  end 0.2(1.05^9 - 1)  = 0.1102656
 *   cpu 0.5  -> log(3.5)/log(1.05)  = 25.68 -> bucket 25, end 0.2(1.05^26 - 1) = 0.5111345
 *   cpu 1.0  -> log(6)/log(1.05)    = 36.72 -> bucket 36, end 0.2(1.05^37 - 1) = 1.0162814
 *   mem 3e8  -> log(2.5)/log(1.05)  = 18.78 -> bucket 18, end 2e8(1.05^19 - 1) = 305390039.08
 *   mem 604857600 -> log(4.024)/log(1.05) = 28.54 -> bucket 28, end 2e8(1.05^29 - 1) = 623227119.08
 */
#include <stdlib.h>
#include <string.h>
#include "fp/model.h"
#include "tap.h"

static void obs(fp_model *m, const char *g, double ts, double cpu, double mem, bool oom)
{
    fp_usage u = {g, ts, cpu, mem, NAN, oom};
    fp_err err = {0};
    if (fp_model_observe(m, &u, &err) < 0) printf("# %s\n", err.msg);
}

int main(void)
{
    fp_err err = {0};
    fp_quantiles q[FP_RES_COUNT];
    fp_model *v = fp_model_new("vpa", NULL, &err);
    ok(v && fp_model_is_history(v) && fp_model_dim(v) == 0, "vpa model (%s)", err.msg);

    /* Ten samples a minute apart (t = 60..600): cpu 0.1 x6 then 1.0 x4,
     * memory 100 MB x5 then 300 MB x5. */
    for (int i = 1; i <= 10; i++) obs(v, "w", 60.0 * i, i <= 6 ? 0.1 : 1.0, i <= 5 ? 1e8 : 3e8, false);
    ok(fp_model_recommend(v, "w", 600, q, &err) == 0, "recommend");
    /* CPU weights 0.1 * 2^(t/24h) grow slowly; the six 0.1-core samples
     * hold ~60% of the weight, so p50 is the end of bucket 8 (0.1102656),
     * p90 and p95 the end of bucket 36 (1.0162814).
     * Confidence c = min(lifespan 540 s = 0.00625 d, 10 samples / 1440 =
     * 0.00694) = 0.00625.
     *   lower  110 mc (trunc) * 1.15 = 126.5 -> 126; * (1 + 0.001/c)^-2 =
     *          126 / 1.16^2 = 93.64 -> 93 mc
     *   target 1016 mc * 1.15 = 1168.4 -> 1168 mc
     *   upper  1016 * 1.15 -> 1168; * (1 + 1/c) = * 161 = 188048 mc */
    is_int(q[FP_RES_CPU].n, 3, "cpu: three quantiles");
    is_near(q[FP_RES_CPU].value[0], 0.093, 1e-12, "cpu lower (p50 slot) 93 mc");
    is_near(q[FP_RES_CPU].value[1], 1.168, 1e-12, "cpu target (p90 slot) 1168 mc");
    is_near(q[FP_RES_CPU].value[2], 188.048, 1e-9, "cpu upper (p99 slot) 188048 mc");
    is_near(q[FP_RES_CPU].level[1], 0.9, 0, "target sits at level 0.9");
    /* Memory: one 24 h interval; its peak became 300 MB (the 100 MB peak
     * was subtracted), so every percentile is the end of bucket 18:
     * 305390039 * 1.15 = 351198544.9 -> 351198544 (target);
     * lower 351198544 / 1.16^2 = 260997728 < 250 MiB -> 262144000;
     * upper 351198544 * 161 = 56542965584. */
    is_near(q[FP_RES_MEM].value[0], 262144000, 0, "mem lower raised to the 250 MiB minimum");
    is_near(q[FP_RES_MEM].value[1], 351198544, 0, "mem target: p90 of daily peaks x 1.15");
    is_near(q[FP_RES_MEM].value[2], 56542965584.0, 0, "mem upper x (1 + 1/c)");
    ok(q[FP_RES_NET_RX].n == 0 && q[FP_RES_NET_RX].why[0], "no network recommendation (%s)", q[FP_RES_NET_RX].why);

    /* The same history 1.7e9 s later (the histogram reference moves by
     * whole half-lives) gives the same recommendation. */
    for (int i = 1; i <= 10; i++) obs(v, "late", 1.7e9 + 60.0 * i, i <= 6 ? 0.1 : 1.0, i <= 5 ? 1e8 : 3e8, false);
    fp_quantiles q2[FP_RES_COUNT];
    fp_model_recommend(v, "late", 1.7e9 + 600, q2, &err);
    ok(memcmp(q2[FP_RES_CPU].value, q[FP_RES_CPU].value, sizeof q[0].value) == 0 &&
       memcmp(q2[FP_RES_MEM].value, q[FP_RES_MEM].value, sizeof q[0].value) == 0,
       "Unix-time history: same recommendation");

    /* Decay: 1.0 core at t = 0 and t = 1, 0.1 core two days later, whose
     * weight is 2^2 = 4 times: weights 0.1, 0.1, 0.4; p50 threshold 0.3 is
     * reached in bucket 8 -> 0.1102656 -> 110 mc * 1.15 = 126 mc. Without
     * decay it would be bucket 36. Lifespan 2 d, 3 samples: c = 3/1440. */
    obs(v, "decay", 0, 1.0, NAN, false);
    obs(v, "decay", 1, 1.0, NAN, false);
    obs(v, "decay", 2 * 86400.0, 0.1, NAN, false);
    fp_model_recommend(v, "decay", 2 * 86400.0, q, &err);
    is_near(q[FP_RES_CPU].value[1], 1.168, 1e-12, "decay: p90 still the 1.0-core bucket");
    /* lower: 126 * (1 + 0.001 * 1440/3)^-2 = 126 / 1.48^2 = 57.52 -> 57 mc */
    is_near(q[FP_RES_CPU].value[0], 0.057, 1e-12, "decay: p50 from the recent 0.1-core sample");
    ok(q[FP_RES_MEM].n == 0, "no memory samples: memory unpredicted (%s)", q[FP_RES_MEM].why);

    /* Confidence over two days at one sample a minute, constant 0.5 core:
     * c = min(2879 min = 1.99931 d, 2880/1440 = 2) = 1.99931.
     * target 511 mc * 1.15 = 587.65 -> 587; upper 587 * (1 + 1/c) =
     * 880.6 -> 880; lower 587 * (1 + 0.001/c)^-2 = 586.41 -> 586. */
    for (int i = 0; i < 2880; i++) obs(v, "long", 60.0 * i, 0.5, NAN, false);
    fp_model_recommend(v, "long", 60.0 * 2879, q, &err);
    is_near(q[FP_RES_CPU].value[0], 0.586, 1e-12, "2 days: lower 586 mc");
    is_near(q[FP_RES_CPU].value[1], 0.587, 1e-12, "2 days: target 587 mc");
    is_near(q[FP_RES_CPU].value[2], 0.880, 1e-12, "2 days: upper 880 mc");

    /* Minimums: 1 mc and 1 MB -> first bucket, end 0.01 core / 1e7 B,
     * x 1.15 -> 11 mc / 11.5 MB, raised to 25 mc and 250 MiB. */
    obs(v, "tiny", 0, 0.001, 1e6, false);
    obs(v, "tiny", 60, 0.001, 1e6, false);
    fp_model_recommend(v, "tiny", 60, q, &err);
    is_near(q[FP_RES_CPU].value[1], 0.025, 1e-12, "minimum 25 millicores");
    is_near(q[FP_RES_MEM].value[1], 262144000, 0, "minimum 250 MiB");

    /* OOM: 500 MB in use, killed: max(500 MB + 100 MiB, 500 MB * 1.2) =
     * 604857600 -> bucket 28, end 623227119 * 1.15 = 716711186.9. */
    obs(v, "oom", 0, 0.5, 2e8, false);
    obs(v, "oom", 60, 0.5, 5e8, true);
    fp_model_recommend(v, "oom", 60, q, &err);
    is_near(q[FP_RES_MEM].value[1], 716711186, 0, "OOM bump max(+100 MiB, x1.2)");
    /* a second OOM below the recorded one changes nothing */
    obs(v, "oom", 120, 0.5, 1e8, true);
    fp_model_recommend(v, "oom", 120, q2, &err);
    is_near(q2[FP_RES_MEM].value[1], 716711186, 0, "a smaller OOM does not lower the peak");

    /* Daily peaks: a second interval adds a second peak. */
    obs(v, "days", 0, 0.1, 3e8, false);
    obs(v, "days", 86400 + 10, 0.1, 6.04857600e8, false);
    fp_model_recommend(v, "days", 86400 + 10, q, &err);
    /* two peaks, weights 2^1 and 2^2 (stamped at the interval ends, 24 h
     * and 48 h): p90 threshold 5.4, bucket 18 holds only 2 -> bucket 28 */
    is_near(q[FP_RES_MEM].value[1], 716711186, 0, "two daily peaks: p90 is the larger");

    /* Expiry: no CPU sample for 8 days. */
    fp_model_recommend(v, "w", 600 + 8 * 86400.0, q, &err);
    ok(q[FP_RES_CPU].n == 0 && strstr(q[FP_RES_CPU].why, "expired"), "expired after 8 days (%s)", q[FP_RES_CPU].why);
    fp_model_recommend(v, "nobody", 0, q, &err);
    ok(q[FP_RES_CPU].n == 0 && q[FP_RES_MEM].n == 0, "unknown workload: nothing (%s)", q[FP_RES_CPU].why);
    double x[1] = {0};
    fp_model_predict(v, x, q, NULL, &err);
    ok(q[FP_RES_CPU].n == 0 && q[FP_RES_CPU].why[0], "predict from a fingerprint: nothing (%s)", q[FP_RES_CPU].why);

    /* Examples feed history models too (one flag switches a comparison). */
    {
        fp_model *v2 = fp_model_new("vpa", NULL, &err);
        fp_example ex[10];
        for (int i = 0; i < 10; i++) {
            memset(&ex[i], 0, sizeof ex[i]);
            for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = NAN;
            ex[i].group = "w";
            ex[i].ts = 60.0 * (i + 1);
            ex[i].y[FP_RES_CPU] = i < 6 ? 0.1 : 1.0;
            ex[i].y[FP_RES_MEM] = i < 5 ? 1e8 : 3e8;
        }
        ok(fp_model_train(v2, ex, 10, NULL, NULL, &err) == 0, "train a vpa model from examples");
        fp_model_recommend(v2, "w", 600, q2, &err);
        is_near(q2[FP_RES_CPU].value[1], 1.168, 1e-12, "same target as observed samples");
        fp_model_free(v2);
    }
    fp_model_free(v);

    /* Autopilot: CPU p95 of a 12 h half-life histogram, memory the max of
     * 5-minute window peaks over 48 h. */
    fp_model *a = fp_model_new("autopilot", NULL, &err);
    ok(a != NULL, "autopilot model");
    /* 40 CPU samples at t = 0 (weight 1 each): 21 x 0.1, 18 x 0.5, 1 x 1.0.
     * p50: threshold 20 -> 21 in bucket 8 -> 0.1102656
     * p95: threshold 38 -> 21, 39 -> bucket 25 -> 0.5111345
     * p99: threshold 39.6 -> 39 < 39.6 -> bucket 36 -> 1.0162814 */
    for (int i = 0; i < 40; i++) obs(a, "j", 0, i < 21 ? 0.1 : i < 39 ? 0.5 : 1.0, NAN, false);
    /* memory: window 0 (t 0..299): 1e8, 3e8, 2e8 -> peak 3e8;
     * window 1 (t 400): 5e8 */
    obs(a, "j", 0, NAN, 1e8, false);
    obs(a, "j", 100, NAN, 3e8, false);
    obs(a, "j", 200, NAN, 2e8, false);
    obs(a, "j", 400, NAN, 5e8, false);
    fp_model_recommend(a, "j", 1000, q, &err);
    is_near(q[FP_RES_CPU].value[0], 0.2 * (pow(1.05, 9) - 1), 1e-12, "autopilot cpu p50 slot: p50");
    is_near(q[FP_RES_CPU].value[1], 0.2 * (pow(1.05, 26) - 1), 1e-12, "autopilot cpu p90 slot: p95 recommendation");
    is_near(q[FP_RES_CPU].value[2], 0.2 * (pow(1.05, 37) - 1), 1e-12, "autopilot cpu p99 slot: p99");
    is_near(q[FP_RES_MEM].value[1], 5e8, 0, "memory: max of window peaks");
    is_near(q[FP_RES_MEM].value[0], 3e8, 0, "memory p50 slot: median window peak (lower of two)");
    /* 50 h later only a new window counts: the old peaks left the 48 h. */
    obs(a, "j", 50 * 3600.0, NAN, 2e8, false);
    fp_model_recommend(a, "j", 50 * 3600.0, q, &err);
    is_near(q[FP_RES_MEM].value[1], 2e8, 0, "peaks older than 48 h are forgotten");
    fp_model_recommend(a, "j", 47 * 3600.0 + 400, q, &err);
    /* at t = 47 h + 400 s (window 565) windows 0 and 1 are 565 and 564
     * windows old, still within 576; the 50 h sample is in the future. */
    is_near(q[FP_RES_MEM].value[1], 5e8, 0, "within 48 h the old peak still counts");
    /* Half-life 12 h: 0.1 core at t = 0 and 1.0 core 24 h later weigh 1
     * and 4: p50 threshold 2.5 -> bucket 36. */
    obs(a, "h", 0, 0.1, NAN, false);
    obs(a, "h", 86400, 1.0, NAN, false);
    fp_model_recommend(a, "h", 86400, q, &err);
    is_near(q[FP_RES_CPU].value[0], 0.2 * (pow(1.05, 37) - 1), 1e-12, "12 h half-life: the recent sample weighs 4x");
    fp_model_free(a);

    fp_model_opts o;
    fp_model_opts_default(&o);
    o.levels[2] = 0.95;
    fp_err e2 = {0};
    ok(!fp_model_new("vpa", &o, &e2) && e2.cls == FP_EUSAGE, "vpa with other levels refused (%s)", e2.msg);
    return done_testing();
}
