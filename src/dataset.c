/* dataset.c - from records to model rows (see fp/dataset.h). */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fp/dataset.h"

/* ------------------------------------------------------------ fp_featmap */

struct fp_featmap {
    const fp_model *m;
    int dim;
    /* the key layout of the last fingerprint that mapped */
    char **keys;
    size_t nkeys;
    int *map;                   /* dim: model feature i -> position in keys */
    double *vals;               /* values of the current fingerprint by position */
    size_t cap;
    /* windows: the standard features */
    int *std_map;               /* dim, or NULL until first used */
    bool std_ok;
    double std_vals[FP_FEATURE_COUNT];
    const char *std_why[FP_FEATURE_COUNT];
};

fp_featmap *fp_featmap_new(const fp_model *m)
{
    fp_featmap *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->m = m;
    f->dim = fp_model_dim(m);
    if (f->dim > 0 && !(f->map = calloc((size_t)f->dim, sizeof *f->map))) {
        free(f);
        return NULL;
    }
    return f;
}

static void drop_layout(fp_featmap *f)
{
    for (size_t i = 0; i < f->nkeys; i++) free(f->keys[i]);
    free(f->keys);
    f->keys = NULL;
    f->nkeys = 0;
}

void fp_featmap_free(fp_featmap *f)
{
    if (!f) return;
    drop_layout(f);
    free(f->map);
    free(f->vals);
    free(f->std_map);
    free(f);
}

/* Remember the keys of feats as the layout and map the model's features
 * onto it. */
static int new_layout(fp_featmap *f, const json_t *feats, size_t n, fp_err *err)
{
    drop_layout(f);
    const char **names = malloc((n ? n : 1) * sizeof *names);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!names || !keys) {
        free(names);
        free(keys);
        return fp_err_sys(err, "feature map");
    }
    size_t j = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)feats, key, v) {
        names[j] = key;
        if (!(keys[j] = strdup(key))) {
            for (size_t i = 0; i < j; i++) free(keys[i]);
            free(keys);
            free(names);
            return fp_err_sys(err, "feature map");
        }
        j++;
    }
    int rc = fp_model_check_features(f->m, names, n, f->map, err);
    free(names);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) free(keys[i]);
        free(keys);
        return -1;
    }
    f->keys = keys;
    f->nkeys = n;
    return 0;
}

int fp_featmap_vector(fp_featmap *f, const json_t *rec, double *x, fp_err *err)
{
    const json_t *feats = json_object_get(rec, "features");
    if (!json_is_object(feats))
        return fp_err_set(err, FP_EINPUT, "fingerprint has no \"features\" object");
    if (f->dim == 0) return 0;
    size_t n = json_object_size(feats);
    if (n > f->cap) {
        double *p = realloc(f->vals, n * sizeof *p);
        if (!p) return fp_err_sys(err, "feature map");
        f->vals = p;
        f->cap = n;
    }
    bool same = n == f->nkeys;
    size_t j = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)feats, key, v) {
        if (same && strcmp(key, f->keys[j]) != 0) same = false;
        if (json_is_number(v)) f->vals[j] = json_number_value(v);
        else if (json_is_null(v)) f->vals[j] = NAN;
        else return fp_err_set(err, FP_EINPUT, "features.%s is not a number or null", key);
        j++;
    }
    if (!same && new_layout(f, feats, n, err) < 0) return -1;
    for (int i = 0; i < f->dim; i++) x[i] = f->vals[f->map[i]];
    return 0;
}

int fp_featmap_window(fp_featmap *f, const fp_window *w, const json_t *meta, double *x,
                      fp_err *err)
{
    if (f->dim == 0) return 0;
    if (!f->std_map) {
        const char **names = malloc(FP_FEATURE_COUNT * sizeof *names);
        char (*buf)[96] = malloc(FP_FEATURE_COUNT * sizeof *buf);
        f->std_map = calloc((size_t)f->dim, sizeof *f->std_map);
        if (!names || !buf || !f->std_map) {
            free(names);
            free(buf);
            free(f->std_map);
            f->std_map = NULL;
            return fp_err_sys(err, "feature map");
        }
        for (int i = 0; i < FP_FEATURE_COUNT; i++) names[i] = fp_feature_name(i, buf[i], sizeof buf[i]);
        fp_err e2 = {0};
        f->std_ok = fp_model_check_features(f->m, names, FP_FEATURE_COUNT, f->std_map, &e2) == 0;
        free(names);
        free(buf);
    }
    if (!f->std_ok) {
        for (int i = 0; i < f->dim; i++)
            if (f->std_map[i] < 0)
                return fp_err_set(err, FP_EINPUT, "model needs feature %s, which is not computed "
                                  "from samples (train it on fingerprints of standard features)",
                                  fp_model_feature_name(f->m, i));
    }
    fp_features(w, meta, f->std_vals, f->std_why);
    for (int i = 0; i < f->dim; i++) {
        int k = f->std_map[i];
        x[i] = f->std_why[k] || !isfinite(f->std_vals[k]) ? NAN : f->std_vals[k];
    }
    return 0;
}

int fp_fingerprint_names(const json_t *rec, const char ***names, size_t *n, fp_err *err)
{
    const json_t *feats = json_object_get(rec, "features");
    if (!json_is_object(feats) || json_object_size(feats) == 0)
        return fp_err_set(err, FP_EINPUT, "fingerprint has no features");
    *n = json_object_size(feats);
    const char **a = malloc(*n * sizeof *a);
    if (!a) return fp_err_sys(err, "feature names");
    size_t j = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)feats, key, v) a[j++] = key;
    *names = a;
    return 0;
}

/* ------------------------------------------------------------ targets */

int fp_actual_targets(const json_t *actual, const char *stat, double y[FP_RES_COUNT], fp_err *err)
{
    if (!stat || (strcmp(stat, "peak") && strcmp(stat, "p95") && strcmp(stat, "p50") &&
                  strcmp(stat, "mean")))
        return fp_err_set(err, FP_EINPUT, "unknown actual statistic \"%s\"", stat ? stat : "");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", fp_resource_name((fp_resource)r), stat);
        json_t *v = json_object_get(actual, name);
        if (!v || json_is_null(v)) {
            y[r] = NAN;
        } else if (json_is_number(v)) {
            y[r] = json_number_value(v);
            if (!isfinite(y[r])) y[r] = NAN;
        } else {
            return fp_err_set(err, FP_EINPUT, "\"%s\" is not a number or null", name);
        }
    }
    return 0;
}

void fp_horizon_peaks(const double *t, const double *v, size_t n, const double *tc, size_t nc,
                      double h, double *out)
{
    /* Sliding maximum over (tc, tc + h]: both ends only move forward, so a
     * deque of indices with decreasing values gives each maximum in
     * amortised O(1). */
    size_t *dq = n ? malloc(n * sizeof *dq) : NULL;
    size_t head = 0, tail = 0, next = 0;     /* next sample to enter */
    for (size_t k = 0; k < nc; k++) {
        double lo = tc[k], hi = tc[k] + h;
        while (next < n && t[next] <= hi) {
            if (isfinite(v[next])) {
                if (dq) {
                    while (tail > head && v[dq[tail - 1]] <= v[next]) tail--;
                    dq[tail++] = next;
                }
            }
            next++;
        }
        while (tail > head && !(t[dq[head]] > lo)) head++;
        out[k] = dq && tail > head ? v[dq[head]] : NAN;
        if (!dq && n) {         /* out of memory: the slow way */
            double mx = NAN;
            for (size_t i = 0; i < n; i++)
                if (t[i] > lo && t[i] <= hi && isfinite(v[i]) && !(v[i] <= mx)) mx = v[i];
            out[k] = mx;
        }
    }
    free(dq);
}

/* ------------------------------------------------------------ groups */

struct fp_groupby {
    char *spec;
    char *key;                  /* meta key, NULL for "id" */
    bool has_re;
    regex_t re;
};

fp_groupby *fp_groupby_new(const char *spec, fp_err *err)
{
    if (!spec) spec = "id";
    fp_groupby *g = calloc(1, sizeof *g);
    if (!g || !(g->spec = strdup(spec))) {
        free(g);
        fp_err_sys(err, "group");
        return NULL;
    }
    if (strcmp(spec, "id") == 0) return g;
    if (strncmp(spec, "meta.", 5) != 0 || !spec[5] || spec[5] == '~') {
        fp_err_set(err, FP_EUSAGE, "group spec \"%s\": use id, meta.KEY or meta.KEY~REGEX", spec);
        fp_groupby_free(g);
        return NULL;
    }
    const char *tilde = strchr(spec + 5, '~');
    size_t kl = tilde ? (size_t)(tilde - spec - 5) : strlen(spec + 5);
    if (!(g->key = strndup(spec + 5, kl))) {
        fp_err_sys(err, "group");
        fp_groupby_free(g);
        return NULL;
    }
    if (tilde) {
        int rc = regcomp(&g->re, tilde + 1, REG_EXTENDED);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &g->re, msg, sizeof msg);
            fp_err_set(err, FP_EUSAGE, "group spec \"%s\": bad regular expression: %s", spec, msg);
            fp_groupby_free(g);
            return NULL;
        }
        g->has_re = true;
    }
    return g;
}

void fp_groupby_free(fp_groupby *g)
{
    if (!g) return;
    if (g->has_re) regfree(&g->re);
    free(g->key);
    free(g->spec);
    free(g);
}

const char *fp_groupby_spec(const fp_groupby *g) { return g->spec; }

const char *fp_groupby_key(const fp_groupby *g, const char *id, const json_t *meta, char *buf,
                           size_t n, bool *fallback)
{
    if (fallback) *fallback = false;
    if (g->key) {
        const json_t *v = json_object_get(meta, g->key);
        char val[512];
        bool have = true;
        if (json_is_string(v)) snprintf(val, sizeof val, "%s", json_string_value(v));
        else if (json_is_number(v)) snprintf(val, sizeof val, "%.17g", json_number_value(v));
        else have = false;
        if (have && !g->has_re) {
            snprintf(buf, n, "%s", val);
            return buf;
        }
        regmatch_t pm[2];
        if (have && regexec(&g->re, val, 2, pm, 0) == 0) {
            regmatch_t *m = pm[1].rm_so >= 0 ? &pm[1] : &pm[0];
            snprintf(buf, n, "%.*s", (int)(m->rm_eo - m->rm_so), val + m->rm_so);
            return buf;
        }
        if (fallback) *fallback = true;
    }
    snprintf(buf, n, "%s", id ? id : "");
    return buf;
}

/* ------------------------------------------------------------ fp_dataset */

struct fp_dataset {
    int dim;
    size_t n, cap;
    double *x;                  /* n * dim */
    fp_example *ex;             /* n, x pointers fixed up by _examples */
    char **groups;
};

fp_dataset *fp_dataset_new(int dim)
{
    if (dim < 0) return NULL;
    fp_dataset *d = calloc(1, sizeof *d);
    if (d) d->dim = dim;
    return d;
}

void fp_dataset_free(fp_dataset *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->groups[i]);
    free(d->groups);
    free(d->x);
    free(d->ex);
    free(d);
}

long fp_dataset_add(fp_dataset *d, const double *x, const double *y, const char *group,
                    double ts, bool oom, fp_err *err)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        fp_example *ex = realloc(d->ex, nc * sizeof *ex);
        if (!ex) return fp_err_sys(err, "dataset");
        d->ex = ex;
        char **g = realloc(d->groups, nc * sizeof *g);
        if (!g) return fp_err_sys(err, "dataset");
        d->groups = g;
        if (d->dim) {
            double *xs = realloc(d->x, nc * (size_t)d->dim * sizeof *xs);
            if (!xs) return fp_err_sys(err, "dataset");
            d->x = xs;
        }
        d->cap = nc;
    }
    char *gc = strdup(group ? group : "");
    if (!gc) return fp_err_sys(err, "dataset");
    size_t i = d->n;
    if (d->dim) {
        double *row = d->x + i * (size_t)d->dim;
        if (x) memcpy(row, x, (size_t)d->dim * sizeof *row);
        else for (int j = 0; j < d->dim; j++) row[j] = NAN;
    }
    fp_example *e = &d->ex[i];
    memset(e, 0, sizeof *e);
    for (int r = 0; r < FP_RES_COUNT; r++) e->y[r] = y ? y[r] : NAN;
    d->groups[i] = gc;
    e->ts = ts;
    e->oom = oom;
    d->n++;
    return (long)i;
}

double *fp_dataset_y(fp_dataset *d, size_t i) { return i < d->n ? d->ex[i].y : NULL; }
size_t fp_dataset_size(const fp_dataset *d) { return d->n; }

size_t fp_dataset_drop_untargeted(fp_dataset *d)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        bool any = false;
        for (int r = 0; r < FP_RES_COUNT; r++)
            if (isfinite(d->ex[i].y[r])) any = true;
        if (!any) {
            free(d->groups[i]);
            continue;
        }
        if (k != i) {
            d->ex[k] = d->ex[i];
            d->groups[k] = d->groups[i];
            if (d->dim)
                memmove(d->x + k * (size_t)d->dim, d->x + i * (size_t)d->dim,
                        (size_t)d->dim * sizeof *d->x);
        }
        k++;
    }
    size_t dropped = d->n - k;
    d->n = k;
    return dropped;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t fp_dataset_groups(const fp_dataset *d)
{
    if (!d->n) return 0;
    char **g = malloc(d->n * sizeof *g);
    if (!g) return 0;
    memcpy(g, d->groups, d->n * sizeof *g);
    qsort(g, d->n, sizeof *g, cmp_str);
    size_t c = 1;
    for (size_t i = 1; i < d->n; i++)
        if (strcmp(g[i], g[i - 1]) != 0) c++;
    free(g);
    return c;
}

const fp_example *fp_dataset_examples(fp_dataset *d, size_t *n)
{
    for (size_t i = 0; i < d->n; i++) {
        d->ex[i].x = d->dim ? d->x + i * (size_t)d->dim : NULL;
        d->ex[i].group = d->groups[i];
    }
    *n = d->n;
    return d->ex;
}
