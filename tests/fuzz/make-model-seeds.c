/* tests/fuzz/make-model-seeds.c - writes the model seeds of
 * tests/fuzz/corpus/fuzz-model-KIND/: one small model of each kind (three
 * features or metrics, a few workloads), trained on fixed synthetic data,
 * so the fuzzer starts from files every loader accepts. Run by
 * tests/fuzz/make-seeds.sh; not part of make check.
 *   cc -std=c11 -D_GNU_SOURCE -Isrc -I. tests/fuzz/make-model-seeds.c \
 *      src/.libs/libfp.so -ljansson -lm -o mms && ./mms OUTDIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fp/model.h>

static int save(fp_model *m, const char *dir, const char *kind, fp_err *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz-model-%s/%s.json", dir, kind, kind);
    json_t *prov = json_pack("{s:s,s:s}", "name", "seed", "data", "synthetic");
    fp_model_set_provenance(m, prov, err);
    json_decref(prov);
    return fp_model_save(m, path, err);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make-model-seeds OUTDIR\n");
        return 2;
    }
    static const char *const kinds[] = {"linear", "knn", "vpa", "autopilot", "lstm", "gru", "transformer"};
    static const char *const names[] = {"cpu_cores_mean", "mem_bytes_max", "threads_mean"};
    static const char *const seq_names[] = {"cpu_cores", "mem_bytes", "io_read_Bps"};
    enum { N = 12, STEPS = 5 };
    static double x[N][3], seq[N][STEPS * 3];
    fp_example ex[N];
    char groups[N][16];
    for (int i = 0; i < N; i++) {
        memset(&ex[i], 0, sizeof ex[i]);
        x[i][0] = 0.1 * (i + 1);
        x[i][1] = 1048576.0 * (i + 1);
        x[i][2] = i % 4 + 1;
        for (int t = 0; t < STEPS; t++) {
            seq[i][t * 3 + 0] = 0.1 * (i + t);
            seq[i][t * 3 + 1] = 1048576.0 * (i + t + 1);
            seq[i][t * 3 + 2] = t % 2 ? NAN : 1000.0 * i;
        }
        for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = r < 2 ? (r ? 2097152.0 * (i + 1) : 0.2 * (i + 1)) : NAN;
        snprintf(groups[i], sizeof groups[i], "w%d", i % 5);
        ex[i].x = x[i];
        ex[i].group = groups[i];
        ex[i].ts = 1.7e9 + 60 * i;
        ex[i].oom = i == 7;
        ex[i].seq = seq[i];
        ex[i].seq_len = STEPS;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        fp_err err = {0};
        fp_model_opts o;
        fp_model_opts_default(&o);
        o.dim = 3;
        o.names = names;
        o.seq_dim = 3;
        o.seq_names = seq_names;
        o.hidden = 4;
        o.heads = 2;
        o.ctx = 4;
        o.bptt = 4;
        o.k = 3;
        fp_train_opts t;
        fp_train_opts_default(&t);
        t.epochs = 3;
        t.batch = 4;
        fp_model *m = fp_model_new(kinds[k], &o, &err);
        if (!m || fp_model_train(m, ex, N, &t, NULL, &err) < 0 || save(m, argv[1], kinds[k], &err) < 0) {
            fprintf(stderr, "make-model-seeds: %s: %s\n", kinds[k], err.msg);
            return 1;
        }
        fp_model_free(m);
    }
    return 0;
}
