/* test-features.c - fingerprint features, embedding and actual records. */
#include <math.h>
#include <string.h>
#include "fp/features.h"
#include "tap.h"

static double feat(json_t *fpr, const char *name)
{
    json_t *v = json_object_get(json_object_get(fpr, "features"), name);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static double cosine(const double *a, const double *b)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < FP_EMBED_DIM; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return d / sqrt(na * nb);
}

static json_t *meta_cmd(const char *a0, const char *a1, const char *a2)
{
    return json_pack("{s:[sss]}", "cmd", a0, a1, a2);
}

int main(void)
{
    /* Names: stable, unique, complete. */
    char n1[96], n2[96];
    is_str(fp_feature_name(0, n1, sizeof n1), "cpu_cores_mean", "first feature");
    is_str(fp_feature_name(FP_FEATURE_COUNT - 1, n1, sizeof n1), "emb_31", "last feature");
    ok(fp_feature_name(FP_FEATURE_COUNT, n1, sizeof n1) == NULL, "no feature past the end");
    int dup = 0;
    for (int i = 0; i < FP_FEATURE_COUNT; i++)
        for (int j = i + 1; j < FP_FEATURE_COUNT; j++)
            if (!strcmp(fp_feature_name(i, n1, sizeof n1), fp_feature_name(j, n2, sizeof n2))) dup++;
    is_int(dup, 0, "feature names are unique");

    /* A window of 10 samples, 0.1 s apart: 1 core; memory grows 10 MiB/s;
     * instructions 2e9/s over 1e9 cycles/s; no network (reason given). */
    fp_window *w = fp_window_new();
    for (int i = 1; i <= 10; i++) {
        fp_sample s;
        fp_sample_init(&s, i * 0.1, "not in this test");
        fp_sample_set(&s, FP_M_CPU_CORES, 1.0);
        fp_sample_set(&s, FP_M_CPU_USER_CORES, 0.75);
        fp_sample_set(&s, FP_M_CPU_SYS_CORES, 0.25);
        fp_sample_set(&s, FP_M_MEM_BYTES, 1048576.0 * i);
        fp_sample_set(&s, FP_M_MEM_PEAK_BYTES, 1048576.0 * i + (i == 10 ? 4096 : 0));
        fp_sample_set(&s, FP_M_IO_WRITE_BPS, 1000);
        fp_sample_set(&s, FP_M_IO_READ_BPS, 0);
        fp_sample_set(&s, FP_M_INSTRUCTIONS_PS, 2e9);
        fp_sample_set(&s, FP_M_CYCLES_PS, 1e9);
        fp_sample_miss(&s, FP_M_NET_RX_BPS, "shares the host network namespace");
        fp_window_add(w, &s);
    }
    fp_target tg = {.id = "w1", .host = "h", .cgroup = "/fp/w1", .pid = 42};
    json_t *meta = json_pack("{s:[sss],s:i,s:s}", "cmd", "gzip", "-9", "big.tar", "req_cpus", 2, "image", "busybox:1.36");
    json_t *f = fp_fingerprint(w, &tg, meta, 1.0);
    is_str(json_string_value(json_object_get(f, "type")), "fingerprint", "type");
    is_int(json_integer_value(json_object_get(f, "schema")), 1, "schema 1");
    is_int(json_integer_value(json_object_get(f, "samples")), 10, "ten samples");
    is_int(json_object_size(json_object_get(f, "features")), FP_FEATURE_COUNT, "every feature present");
    is_near(feat(f, "cpu_cores_mean"), 1.0, 1e-12, "cpu mean");
    is_near(feat(f, "mem_bytes_slope"), 10485760, 1e-3, "memory slope 10 MiB/s");
    is_near(feat(f, "mem_bytes_max"), 10485760, 0, "memory max");
    is_near(feat(f, "mem_bytes_t_peak"), 0.9, 1e-9, "time to peak from the first sample");
    is_near(feat(f, "x_ipc"), 2.0, 1e-12, "IPC ratio");
    is_near(feat(f, "x_user_share"), 0.75, 1e-12, "user share");
    is_near(feat(f, "x_io_bytes_per_cpu_s"), 1000, 1e-9, "I/O bytes per CPU-second");
    is_near(feat(f, "x_mem_bytes_per_core"), 1048576.0 * 5.5, 1e-3, "memory per core");
    is_near(feat(f, "meta_req_cpus"), 2, 0, "metadata feature");
    ok(json_is_null(json_object_get(json_object_get(f, "features"), "net_rx_Bps_mean")), "missing metric: null");
    is_str(json_string_value(json_object_get(json_object_get(f, "missing"), "net_rx_Bps")),
           "shares the host network namespace", "missing metric: one reason under its name");
    ok(json_is_null(json_object_get(json_object_get(f, "features"), "meta_input_bytes")), "absent metadata: null");
    ok(json_object_get(json_object_get(f, "missing"), "meta_input_bytes") != NULL, "absent metadata: reason");
    ok(json_is_null(json_object_get(json_object_get(f, "features"), "cpu_cores_acf1")), "constant series: acf1 null");
    ok(json_object_get(json_object_get(f, "missing"), "cpu_cores_acf1") != NULL, "constant series: acf1 reason");
    double norm = 0;
    char nm[16];
    for (int k = 0; k < FP_EMBED_DIM; k++) {
        snprintf(nm, sizeof nm, "emb_%02d", k);
        norm += feat(f, nm) * feat(f, nm);
    }
    is_near(norm, 1.0, 1e-9, "embedding has unit length");
    is_str(json_string_value(json_object_get(json_object_get(f, "target"), "cgroup")), "/fp/w1", "target cgroup");
    ok(json_is_null(json_object_get(json_object_get(f, "target"), "container")), "unknown container is null");
    json_decref(f);

    /* Actual: integrals and peaks. */
    fp_exit ex = {.known = true, .code = 3};
    json_t *a = fp_actual(w, &tg, &ex, meta, NULL, 1.0);
    is_near(json_number_value(json_object_get(a, "cpu_s")), 1.0, 1e-12, "cpu_s: 10 x 1 core x 0.1 s");
    is_near(json_number_value(json_object_get(a, "io_write_bytes")), 1000, 1e-9, "io_write_bytes integral");
    is_near(json_number_value(json_object_get(a, "mem_bytes_peak")), 10485760 + 4096, 0, "peak takes the cgroup high-water mark");
    is_near(json_number_value(json_object_get(a, "mem_bytes_mean")), 1048576 * 5.5, 1e-6, "memory mean");
    is_near(json_number_value(json_object_get(a, "mem_bytes_p50")), 1048576 * 5.5, 1e-6, "memory median");
    is_int(json_integer_value(json_object_get(a, "exit_code")), 3, "exit code");
    ok(json_is_null(json_object_get(a, "exit_signal")), "no signal");
    ok(json_is_null(json_object_get(a, "net_rx_bytes")), "network total null without data");
    ok(json_object_get(json_object_get(a, "missing"), "net_rx_bytes") != NULL, "with a reason");
    json_decref(a);
    fp_exit sig = {.known = true, .signal = 9};
    a = fp_actual(w, &tg, &sig, NULL, NULL, 1.0);
    ok(json_is_null(json_object_get(a, "exit_code")), "killed: exit_code null");
    is_int(json_integer_value(json_object_get(a, "exit_signal")), 9, "killed: signal 9");
    json_decref(a);
    json_decref(meta);
    fp_window_free(w);

    /* Embedding: similar command lines land near each other. */
    double e1[FP_EMBED_DIM], e2[FP_EMBED_DIM], e3[FP_EMBED_DIM], e4[FP_EMBED_DIM];
    json_t *m1 = meta_cmd("/usr/bin/gzip", "-9", "run-17.tar");
    json_t *m2 = meta_cmd("gzip", "-9", "run-42.tar");
    json_t *m3 = meta_cmd("gzip", "-1", "other.tar");
    json_t *m4 = meta_cmd("python3", "train.py", "--epochs=5");
    fp_embed(m1, e1);
    fp_embed(m2, e2);
    fp_embed(m3, e3);
    fp_embed(m4, e4);
    is_near(cosine(e1, e2), 1.0, 1e-12, "paths and digits normalised: identical embeddings");
    ok(cosine(e1, e3) > cosine(e1, e4) + 0.2, "gzip variants closer (%.2f) than gzip vs python (%.2f)",
       cosine(e1, e3), cosine(e1, e4));
    json_t *empty = json_object();
    is_int(fp_embed(empty, e1), 0, "nothing to embed: zero tokens");
    w = fp_window_new();
    f = fp_fingerprint(w, &tg, empty, 0);
    ok(json_is_null(json_object_get(json_object_get(f, "features"), "emb_00")), "no metadata: embedding null");
    ok(json_object_get(json_object_get(f, "missing"), "emb") != NULL, "no metadata: one embedding reason");
    ok(json_is_null(json_object_get(json_object_get(f, "features"), "cpu_cores_mean")), "no samples: features null");
    json_decref(f);
    fp_window_free(w);
    json_decref(empty);
    json_decref(m1); json_decref(m2); json_decref(m3); json_decref(m4);
    return done_testing();
}
