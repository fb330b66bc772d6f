/* fuzz-fingerprint: one `fingerprint` record through what reads it: its
 * feature names (fp_fingerprint_names, src/dataset.c), the feature vector a
 * model takes (fp_featmap_vector, for a model of the standard features and
 * one of a few named ones), the distance of fp-diff (fp_distance_json,
 * src/diff.c) against itself and against an empty fingerprint, and the
 * embedding of its meta (fp_embed, src/features.c). Invariant: a
 * fingerprint's distance to itself is 0 (or NaN: nothing in common). */
#include "fuzz.h"
#include <math.h>
#include <fp/dataset.h>
#include <fp/diff.h>
#include <fp/features.h>
#include <fp/model.h>

static fp_model *std_model, *small_model;
static fp_featmap *std_map, *small_map;
static double *xbuf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fp_err err = {0};
    std_model = fp_model_new("linear", NULL, &err);
    static const char *const names[] = {"cpu_cores_mean", "mem_bytes_max", "x"};
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 3;
    o.names = names;
    small_model = fp_model_new("knn", &o, &err);
    if (!std_model || !small_model) {
        fprintf(stderr, "fuzz-fingerprint: %s\n", err.msg);
        abort();
    }
    std_map = fp_featmap_new(std_model);
    small_map = fp_featmap_new(small_model);
    xbuf = calloc(FP_FEATURE_COUNT + 8, sizeof *xbuf);
    if (!std_map || !small_map || !xbuf) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!rec) return 0;
    fp_err err = {0};
    const char **names = NULL;
    size_t n = 0;
    if (fp_fingerprint_names(rec, &names, &n, &err) == 0) {
        fz_assert(n > 0, "no names");
        fp_model_check_features(small_model, names, n, NULL, &err);
        free(names);
    }
    fp_featmap_vector(std_map, rec, xbuf, &err);
    fp_featmap_vector(small_map, rec, xbuf, &err);
    json_t *feats = json_object_get(rec, "features");
    fp_moved top[8];
    int ntop = 0, common = 0, skipped = 0;
    double dist = 0;
    if (fp_distance_json(feats, feats, 1e-9, 8, top, &ntop, &dist, &common, &skipped, &err) == 0)
        fz_assert(isnan(dist) || dist == 0, "distance to itself %g", dist);
    json_t *empty = json_object();
    fp_distance_json(feats, empty, 1e-9, 8, top, &ntop, &dist, &common, &skipped, &err);
    fp_distance_json(empty, feats, 0, 0, NULL, NULL, &dist, NULL, NULL, &err);
    json_decref(empty);
    double emb[FP_EMBED_DIM];
    fp_embed(json_object_get(rec, "meta"), emb);
    fp_embed(rec, emb);
    json_decref(rec);
    return 0;
}
