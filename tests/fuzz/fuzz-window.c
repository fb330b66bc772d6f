/* fuzz-window: a stream of `sample` records (fp_reader, skip_bad) into a
 * feature window, then the fingerprint and actual records built from it
 * and the feature vector a model reads from the window (src/features.c,
 * src/series.c, src/dataset.c): fuzzed metric values and times reach
 * every statistic. The fingerprint built must read back through the
 * fingerprint readers. */
#include "fuzz.h"
#include <fp/dataset.h>
#include <fp/diff.h>
#include <fp/features.h>
#include <fp/model.h>

static fp_model *model;
static fp_featmap *map;
static double *xbuf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fp_err err = {0};
    model = fp_model_new("linear", NULL, &err);
    if (!model || !(map = fp_featmap_new(model)) || !(xbuf = calloc(FP_FEATURE_COUNT, sizeof *xbuf))) {
        fprintf(stderr, "fuzz-window: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input(data, size);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fp_reader *r = fp_reader_new(f, "fuzz", true);
    fp_window *w = fp_window_new();
    fz_assert(r && w, "out of memory");
    fp_target tg;
    memset(&tg, 0, sizeof tg);
    json_t *meta = NULL;
    static fp_sample s;
    double last_t = 0;
    for (int i = 0; i < 4096; i++) {
        json_t *rec = NULL;
        fp_err err = {0};
        if (fp_reader_next(r, &rec, &err) <= 0) break;
        const char *type = fp_record_type(rec);
        if (strcmp(type, "sample") == 0 && fp_sample_from_json(rec, &s, &err) == 0) {
            if (fp_window_samples(w) == 0) fp_target_from_json(rec, &tg, &err);
            fp_window_add(w, &s);
            last_t = s.t;
        } else if (strcmp(type, "meta") == 0 && !meta && json_is_object(json_object_get(rec, "meta"))) {
            meta = json_incref(json_object_get(rec, "meta"));   /* fp_fingerprint takes an object */
        }
        json_decref(rec);
    }
    fp_reader_free(r);
    fclose(f);
    fp_err err = {0};
    json_t *fpr = fp_fingerprint(w, &tg, meta, last_t);
    fz_assert(fpr, "fp_fingerprint failed");
    const char **names = NULL;
    size_t n = 0;
    if (fp_fingerprint_names(fpr, &names, &n, &err) == 0) free(names);
    fp_featmap_vector(map, fpr, xbuf, &err);
    fp_featmap_window(map, w, meta, xbuf, &err);
    json_decref(fpr);
    fp_exit ex = { .known = true, .code = 0, .signal = 0 };
    json_t *act = fp_actual(w, &tg, &ex, meta, NULL, last_t);
    fz_assert(act, "fp_actual failed");
    double y[FP_RES_COUNT];
    fz_assert(fp_actual_targets(act, "peak", y, &err) == 0, "own actual unreadable: %s", err.msg);
    for (int res = 0; res < FP_RES_COUNT; res++) fp_actual_harm(act, (fp_resource)res);
    json_decref(act);
    json_decref(meta);
    fp_window_free(w);
    return 0;
}
