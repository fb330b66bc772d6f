/* tests/fuzz/fuzz-model.h - the model loader (src/model.c and the kind's
 * own loader) for kind FZ_KIND, included by fuzz-model-KIND.c.
 *
 * The input is a model file. When it parses as a JSON object, its "kind"
 * is set to FZ_KIND first, so every input of this target reaches this
 * kind's loader; then it goes through fp_model_load from a file (as
 * fp-predict reads one). A model that loads is used: a prediction from a
 * vector of fixed values (fingerprint kinds), a short sequence and a
 * stream (sequence kinds), a recommendation (history kinds), and its
 * feature names are checked against themselves. Models too large to use
 * quickly (more than FZ_MAX_DIM features) are only loaded. */
#include "fuzz.h"
#include <math.h>
#include <fp/model.h>

#define FZ_MAX_DIM 4096

static void use(fp_model *m)
{
    fp_err err = {0};
    fp_quantiles q[FP_RES_COUNT];
    fp_explain ex;
    int dim = fp_model_dim(m);
    fz_assert(dim >= 0, "dim %d", dim);
    double lv[FP_QMAX];
    int nl = fp_model_levels(m, lv);
    fz_assert(nl >= 1 && nl <= FP_QMAX, "%d levels", nl);
    char id[256], stat[8];
    double h;
    fp_model_describe(m, "/x/model.json", id, sizeof id, &h, stat);
    fp_model_provenance(m);
    if (dim > FZ_MAX_DIM) return;
    const char **names = calloc(dim ? (size_t)dim : 1, sizeof *names);
    double *x = calloc((size_t)dim * 4 + 1, sizeof *x);
    fz_assert(names && x, "out of memory");
    for (int i = 0; i < dim; i++) {
        names[i] = fp_model_feature_name(m, i);
        fz_assert(names[i], "feature %d has no name", i);
        x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? 1.5 : 1e6;
    }
    int map[64];
    if (dim <= 64 && !fp_model_is_history(m) && !fp_model_is_seq(m))
        fz_assert(fp_model_check_features(m, names, (size_t)dim, map, &err) == 0,
                  "a model lacks its own features: %s", err.msg);
    if (fp_model_is_seq(m)) {
        for (int i = dim; i < dim * 4; i++) x[i] = (double)(i % 7);
        fp_model_predict_seq(m, x, 0, q, &err);
        fp_model_predict_seq(m, x, 4, q, &err);
        fp_model_stream *s = fp_model_stream_new(m, &err);
        if (s) {
            for (int i = 0; i < 3; i++) fp_model_stream_step(s, x + i * dim, q, &err);
            fp_model_stream_free(s);
        }
    } else if (fp_model_is_history(m)) {
        fp_model_recommend(m, "w", 1.7e9, q, &err);
        fp_model_recommend(m, "", 0, q, &err);
        fp_model_predict(m, x, q, &ex, &err);
    } else {
        fp_model_predict(m, x, q, &ex, &err);
        fp_model_novelty(m);
    }
    for (int r = 0; r < FP_RES_COUNT; r++)
        fz_assert(q[r].n >= 0 && q[r].n <= FP_QMAX, "%d quantiles", q[r].n);
    free(names);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path;
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(root)) {
        json_object_set_new(root, "kind", json_string(FZ_KIND));
        char *text = json_dumps(root, JSON_COMPACT);
        fz_assert(text, "json_dumps failed");
        path = fz_input(text, strlen(text));
        free(text);
    } else {
        path = fz_input(data, size);
    }
    json_decref(root);
    fp_err err = {0};
    fp_model *m = fp_model_load(path, &err);
    if (m) {
        fz_assert(strcmp(fp_model_kind(m), FZ_KIND) == 0, "loaded a %s model", fp_model_kind(m));
        use(m);
        fp_model_free(m);
    } else {
        fz_assert(err.msg[0], "a refused model without a message");
    }
    return 0;
}
