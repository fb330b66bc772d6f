/* prior.c - history as a prior (fp/model.h, "History as a prior"): the
 * identity key of a workload, the per-key summary of its peaks inside the
 * model, its blend into predictions, and its place in model files. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

static const char *const res_names[FP_RES_COUNT] = {
#define FP_X_RN(e, n, mm, u) n,
    FP_RESOURCES(FP_X_RN)
#undef FP_X_RN
};

#define AUTO_SPEC "meta.key,meta.cmd,meta.process,meta.image"

void fp_prior_opts_default(fp_prior_opts *o)
{
    memset(o, 0, sizeof *o);
    o->key = "auto";
    o->keep = 64;
    o->max_keys = 1000;
}

/* ------------------------------------------------------------ keys */

/* The value of meta[name] as text into buf: a string, a number (%.17g),
 * an array of strings and numbers joined with spaces. false when absent,
 * empty or of another type. */
static bool meta_text(const json_t *meta, const char *name, char *buf, size_t n)
{
    const json_t *v = json_object_get(meta, name);
    if (json_is_string(v)) {
        snprintf(buf, n, "%s", json_string_value(v));
    } else if (json_is_number(v)) {
        snprintf(buf, n, "%.17g", json_number_value(v));
    } else if (json_is_array(v)) {
        size_t at = 0;
        buf[0] = 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            char one[256];
            if (json_is_string(e)) snprintf(one, sizeof one, "%s", json_string_value(e));
            else if (json_is_number(e)) snprintf(one, sizeof one, "%.17g", json_number_value(e));
            else return false;
            int w = snprintf(buf + at, at < n ? n - at : 0, "%s%s", i ? " " : "", one);
            if (w < 0) return false;
            at += (size_t)w;
            if (at >= n) { at = n - 1; break; }
        }
    } else {
        return false;
    }
    return buf[0] != 0;
}

/* One source (len bytes of src): the key into buf, or false when absent.
 * *bad is set when the source is malformed. */
static bool one_source(const char *src, size_t len, const char *id, const json_t *meta, char *buf,
                       size_t n, bool *bad)
{
    char s[256];
    if (len == 0 || len >= sizeof s) { *bad = true; return false; }
    memcpy(s, src, len);
    s[len] = 0;
    if (strcmp(s, "id") == 0) {
        if (!id || !id[0]) return false;
        snprintf(buf, n, "id=%s", id);
        return true;
    }
    if (strncmp(s, "meta.", 5) != 0 || !s[5] || s[5] == '~') { *bad = true; return false; }
    char *name = s + 5, *tilde = strchr(name, '~');
    if (tilde) *tilde = 0;
    regex_t re;
    if (tilde && regcomp(&re, tilde + 1, REG_EXTENDED) != 0) { *bad = true; return false; }
    char val[FP_PRIOR_KEY_MAX * 2];
    bool have = meta_text(meta, name, val, sizeof val);
    if (have && tilde) {
        regmatch_t pm[2];
        if (regexec(&re, val, 2, pm, 0) == 0) {
            regmatch_t *mt = pm[1].rm_so >= 0 ? &pm[1] : &pm[0];
            memmove(val, val + mt->rm_so, (size_t)(mt->rm_eo - mt->rm_so));
            val[mt->rm_eo - mt->rm_so] = 0;
            have = val[0] != 0;
        } else {
            have = false;
        }
    }
    if (tilde) regfree(&re);
    if (!have) return false;
    snprintf(buf, n, "%s=%s", name, val);
    return true;
}

/* Walk spec: the first source present gives the key. *bad on a
 * malformed source (every source is checked when check is set). */
static const char *spec_key(const char *spec, const char *id, const json_t *meta, char *buf,
                            size_t n, bool check, bool *bad)
{
    *bad = false;
    if (!spec || !buf || n == 0) { *bad = !spec; return NULL; }
    const char *found = NULL;
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 4 && strncmp(p, "auto", 4) == 0) {
            if (!found) found = spec_key(AUTO_SPEC, id, meta, buf, n, false, bad);
        } else if (!found || check) {
            char tmp[FP_PRIOR_KEY_MAX];
            if (one_source(p, len, id, meta, tmp, sizeof tmp, bad) && !found) {
                snprintf(buf, n, "%s", tmp);
                found = buf;
            }
        }
        if (*bad) return NULL;
        if (!e) break;
        p = e + 1;
        if (!*p) { *bad = true; return NULL; }
    }
    return found;
}

const char *fp_prior_key(const char *spec, const char *id, const json_t *meta, char *buf, size_t n)
{
    bool bad;
    return spec_key(spec, id, meta, buf, n, false, &bad);
}

const char *fp_model_prior_key(const fp_model *m, const char *id, const json_t *meta, char *buf,
                               size_t n)
{
    return m->prior_spec ? fp_prior_key(m->prior_spec, id, meta, buf, n) : NULL;
}

/* ------------------------------------------------------------ the summary */

static void key_free(fp_prior_entry *k)
{
    free(k->key);
    free(k->peaks);
}

void fp_model_prior_disable(fp_model *m)
{
    for (size_t i = 0; i < m->prior_n; i++) key_free(&m->prior_keys[i]);
    free(m->prior_keys);
    free(m->prior_spec);
    m->prior_keys = NULL;
    m->prior_spec = NULL;
    m->prior_n = m->prior_cap = 0;
    m->prior_clock = 0;
    m->prior_keep = m->prior_max_keys = 0;
}

bool fp_model_prior_on(const fp_model *m, fp_prior_opts *o)
{
    if (o) {
        fp_prior_opts_default(o);
        if (m->prior_spec) {
            o->key = m->prior_spec;
            o->keep = m->prior_keep;
            o->max_keys = m->prior_max_keys;
        }
    }
    return m->prior_spec != NULL;
}

size_t fp_model_prior_keys(const fp_model *m) { return m->prior_n; }

/* The peaks of key k for resource r, oldest first, into v (k->k[r]). */
static int chrono(const fp_model *m, const fp_prior_entry *k, int r, double *v)
{
    int K = k->k[r], keep = m->prior_keep;
    int start = K < keep ? 0 : k->head[r];
    for (int i = 0; i < K; i++) v[i] = k->peaks[(size_t)r * (size_t)keep + (size_t)((start + i) % keep)];
    return K;
}

static int cmp_used(const void *a, const void *b)
{
    const fp_prior_entry *x = a, *y = b;
    return (x->used > y->used) - (x->used < y->used);
}

/* Re-lay the keys for a new keep (the newest peaks kept) and max_keys
 * (the most recently updated kept). */
static int relayout(fp_model *m, int keep, int max_keys, fp_err *err)
{
    qsort(m->prior_keys, m->prior_n, sizeof *m->prior_keys, cmp_used);
    size_t drop = m->prior_n > (size_t)max_keys ? m->prior_n - (size_t)max_keys : 0;
    for (size_t i = 0; i < drop; i++) key_free(&m->prior_keys[i]);
    memmove(m->prior_keys, m->prior_keys + drop, (m->prior_n - drop) * sizeof *m->prior_keys);
    m->prior_n -= drop;
    if (keep != m->prior_keep) {
        double v[FP_PRIOR_KEEP_MAX];
        for (size_t i = 0; i < m->prior_n; i++) {
            fp_prior_entry *k = &m->prior_keys[i];
            double *np = calloc((size_t)FP_RES_COUNT * (size_t)keep, sizeof *np);
            if (!np) return fp_err_sys(err, "prior");
            for (int r = 0; r < FP_RES_COUNT; r++) {
                int K = chrono(m, k, r, v), from = K > keep ? K - keep : 0;
                for (int j = from; j < K; j++) np[(size_t)r * (size_t)keep + (size_t)(j - from)] = v[j];
                k->k[r] = K - from;
                k->head[r] = k->k[r] % keep;
            }
            free(k->peaks);
            k->peaks = np;
        }
        m->prior_keep = keep;
    }
    m->prior_max_keys = max_keys;
    return 0;
}

int fp_model_prior_enable(fp_model *m, const fp_prior_opts *o, fp_err *err)
{
    fp_prior_opts d;
    if (!o) { fp_prior_opts_default(&d); o = &d; }
    const char *spec = o->key ? o->key : "auto";
    bool bad;
    char buf[FP_PRIOR_KEY_MAX];
    spec_key(spec, NULL, NULL, buf, sizeof buf, true, &bad);
    if (bad || !spec[0])
        return fp_err_set(err, FP_EUSAGE, "prior key \"%s\": a comma-separated list of auto, id, "
                          "meta.NAME or meta.NAME~REGEX", spec);
    if (o->keep < 1 || o->keep > FP_PRIOR_KEEP_MAX)
        return fp_err_set(err, FP_EUSAGE, "prior: keep %d, need 1 to %d", o->keep, FP_PRIOR_KEEP_MAX);
    if (o->max_keys < 1 || o->max_keys > 1000000)
        return fp_err_set(err, FP_EUSAGE, "prior: max_keys %d, need 1 to 1000000", o->max_keys);
    char *s = strdup(spec);
    if (!s) return fp_err_sys(err, "prior");
    if (m->prior_spec && strcmp(m->prior_spec, s) == 0) {
        free(s);
        return relayout(m, o->keep, o->max_keys, err);
    }
    fp_model_prior_disable(m);
    m->prior_spec = s;
    m->prior_keep = o->keep;
    m->prior_max_keys = o->max_keys;
    return 0;
}

static fp_prior_entry *find_key(const fp_model *m, const char *key)
{
    for (size_t i = 0; i < m->prior_n; i++)
        if (strcmp(m->prior_keys[i].key, key) == 0) return &m->prior_keys[i];
    return NULL;
}

/* A new key (the least recently updated evicted when full). */
static fp_prior_entry *add_key(fp_model *m, const char *key, fp_err *err)
{
    fp_prior_entry *k;
    if (m->prior_n >= (size_t)m->prior_max_keys) {
        size_t old = 0;
        for (size_t i = 1; i < m->prior_n; i++)
            if (m->prior_keys[i].used < m->prior_keys[old].used) old = i;
        k = &m->prior_keys[old];
        key_free(k);
    } else {
        if (m->prior_n == m->prior_cap) {
            size_t nc = m->prior_cap ? m->prior_cap * 2 : 16;
            fp_prior_entry *nk = realloc(m->prior_keys, nc * sizeof *nk);
            if (!nk) { fp_err_sys(err, "prior"); return NULL; }
            m->prior_keys = nk;
            m->prior_cap = nc;
        }
        k = &m->prior_keys[m->prior_n++];
    }
    memset(k, 0, sizeof *k);
    k->key = strndup(key, FP_PRIOR_KEY_MAX - 1);
    k->peaks = calloc((size_t)FP_RES_COUNT * (size_t)m->prior_keep, sizeof *k->peaks);
    if (!k->key || !k->peaks) {
        key_free(k);
        /* leave the slot consistent: the last one moves into it */
        *k = m->prior_keys[--m->prior_n];
        fp_err_sys(err, "prior");
        return NULL;
    }
    return k;
}

static void push(fp_model *m, fp_prior_entry *k, int r, double v)
{
    k->peaks[(size_t)r * (size_t)m->prior_keep + (size_t)k->head[r]] = v;
    k->head[r] = (k->head[r] + 1) % m->prior_keep;
    if (k->k[r] < m->prior_keep) k->k[r]++;
    k->n[r]++;
}

static double key_max(const fp_model *m, const fp_prior_entry *k, int r)
{
    double mx = -INFINITY;
    for (int i = 0; i < k->k[r]; i++) {
        double v = k->peaks[(size_t)r * (size_t)m->prior_keep + (size_t)i];
        if (v > mx) mx = v;
    }
    return mx;
}

int fp_model_prior_observe(fp_model *m, const char *key, const double *y, const double *censored,
                           fp_err *err)
{
    if (!m->prior_spec || !key || !key[0]) return 0;
    bool any = false;
    double v[FP_RES_COUNT];
    bool cens[FP_RES_COUNT] = {false};
    fp_prior_entry *k = find_key(m, key);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        v[r] = NAN;
        double c = censored ? censored[r] : NAN;
        if (c > 0 && isfinite(c)) {
            /* a lower bound: only when it raises the largest peak */
            if (!k || k->k[r] == 0 || c > key_max(m, k, r)) { v[r] = c; cens[r] = true; }
        } else if (y && isfinite(y[r]) && y[r] >= 0) {
            v[r] = y[r];
        }
        if (!isnan(v[r])) any = true;
    }
    if (!any) return 0;
    if (!k && !(k = add_key(m, key, err))) return -1;
    k->used = ++m->prior_clock;
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (!isnan(v[r])) push(m, k, r, v[r]);
    (void)cens;
    return 0;
}

int fp_model_prior_copy(fp_model *dst, const fp_model *src, fp_err *err)
{
    if (dst == src) return 0;
    fp_model_prior_disable(dst);
    if (!src->prior_spec) return 0;
    json_t *j = fp_model_prior_save(src);
    if (!j) return fp_err_sys(err, "prior");
    int rc = fp_model_prior_load(dst, j, "prior", err);
    json_decref(j);
    return rc;
}

/* ------------------------------------------------------------ prediction */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double g(double y) { return log1p(y > 0 ? y : 0); }
static double ginv(double t) { double y = expm1(t); return y > 0 ? y : 0; }

void fp_model_prior_apply(const fp_model *m, const char *key, fp_quantiles out[FP_RES_COUNT],
                          fp_prior_use *use)
{
    if (use) memset(use, 0, sizeof *use);
    if (!m->prior_spec || !key) return;
    const fp_prior_entry *k = find_key(m, key);
    if (!k) return;
    if (use) snprintf(use->key, sizeof use->key, "%s", key);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        int K = k->k[r];
        if (K < 1) continue;
        double p[FP_PRIOR_KEEP_MAX];
        for (int i = 0; i < K; i++) p[i] = k->peaks[(size_t)r * (size_t)m->prior_keep + (size_t)i];
        qsort(p, (size_t)K, sizeof *p, cmp_double);
        double s = g(p[K - 1]) - g(p[0]);
        /* never below the largest peak (rounding), exactly it when s = 0 */
        double hi = s > 0 ? fmax(p[K - 1], ginv(g(p[K - 1]) + s / sqrt((double)K))) : p[K - 1];
        fp_quantiles *q = &out[r];
        bool had = q->n > 0;
        if (!had) {             /* the model gave nothing: the key's own levels */
            q->n = m->o.nlevels;
            for (int j = 0; j < q->n; j++) q->level[j] = m->o.levels[j];
            q->why[0] = 0;
        }
        for (int j = 0; j < q->n; j++) {
            double h = (double)(K - 1) * q->level[j];
            int i = (int)h;
            double lo = i + 1 >= K ? p[K - 1] : p[i] + (h - (double)i) * (p[i + 1] - p[i]);
            double v = had ? q->value[j] : lo;
            if (v < lo) v = lo;
            if (v > hi) v = hi;
            q->value[j] = v;
            if (use && j < FP_QMAX) use->lo[r][j] = lo;
        }
        /* lo grows with the level and hi is one value: no crossing; kept
         * safe against a model's own crossing all the same */
        for (int j = 1; j < q->n; j++)
            if (q->value[j] < q->value[j - 1]) q->value[j] = q->value[j - 1];
        if (use) {
            use->used = true;
            use->n[r] = k->n[r];
            use->k[r] = K;
            use->hi[r] = hi;
        }
    }
}

/* ------------------------------------------------------------ files */

json_t *fp_model_prior_save(const fp_model *m)
{
    if (!m->prior_spec) return NULL;
    json_t *o = json_object(), *keys = json_array();
    if (!o || !keys) { json_decref(o); json_decref(keys); return NULL; }
    json_object_set_new(o, "key", json_string(m->prior_spec));
    json_object_set_new(o, "keep", json_integer(m->prior_keep));
    json_object_set_new(o, "max_keys", json_integer(m->prior_max_keys));
    json_object_set_new(o, "blend", json_string("q = min(max(model q, key's empirical q), "
                                                "key's max x exp(spread / sqrt(peaks))), log1p space"));
    /* oldest updated first: loading in this order restores the eviction order */
    size_t *ord = malloc((m->prior_n ? m->prior_n : 1) * sizeof *ord);
    if (!ord) { json_decref(o); json_decref(keys); return NULL; }
    for (size_t i = 0; i < m->prior_n; i++) ord[i] = i;
    for (size_t i = 1; i < m->prior_n; i++) {      /* insertion sort by used */
        size_t t = ord[i], j = i;
        while (j > 0 && m->prior_keys[ord[j - 1]].used > m->prior_keys[t].used) { ord[j] = ord[j - 1]; j--; }
        ord[j] = t;
    }
    double v[FP_PRIOR_KEEP_MAX];
    for (size_t i = 0; i < m->prior_n; i++) {
        const fp_prior_entry *k = &m->prior_keys[ord[i]];
        json_t *e = json_object(), *n = json_object(), *pk = json_object();
        json_object_set_new(e, "key", json_string(k->key));
        for (int r = 0; r < FP_RES_COUNT; r++) {
            if (!k->n[r]) continue;
            json_object_set_new(n, res_names[r], json_integer(k->n[r]));
            int K = chrono(m, k, r, v);
            json_object_set_new(pk, res_names[r], fp_jarr(v, (size_t)K));
        }
        json_object_set_new(e, "n", n);
        json_object_set_new(e, "peaks", pk);
        json_array_append_new(keys, e);
    }
    free(ord);
    json_object_set_new(o, "keys", keys);
    return o;
}

int fp_model_prior_load(fp_model *m, const json_t *pr, const char *path, fp_err *err)
{
    fp_model_prior_disable(m);
    if (!pr || json_is_null(pr)) return 0;
    if (!json_is_object(pr)) return fp_err_set(err, FP_EINPUT, "%s: prior is not an object", path);
    fp_prior_opts o;
    fp_prior_opts_default(&o);
    o.key = json_string_value(json_object_get(pr, "key"));
    const json_t *kp = json_object_get(pr, "keep"), *mk = json_object_get(pr, "max_keys");
    const json_t *keys = json_object_get(pr, "keys");
    if (!o.key || !json_is_integer(kp) || !json_is_integer(mk) || !json_is_array(keys))
        return fp_err_set(err, FP_EINPUT, "%s: prior needs key, keep, max_keys and keys", path);
    o.keep = (int)json_integer_value(kp);
    o.max_keys = (int)json_integer_value(mk);
    if (json_integer_value(kp) != o.keep || json_integer_value(mk) != o.max_keys ||
        fp_model_prior_enable(m, &o, err) < 0) {
        fp_model_prior_disable(m);
        return fp_err_set(err, FP_EINPUT, "%s: prior: key spec, keep or max_keys out of range", path);
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *e = json_array_get(keys, i);
        const char *key = json_string_value(json_object_get(e, "key"));
        const json_t *n = json_object_get(e, "n"), *pk = json_object_get(e, "peaks");
        if (!key || !key[0] || !json_is_object(n) || !json_is_object(pk)) {
            fp_model_prior_disable(m);
            return fp_err_set(err, FP_EINPUT, "%s: prior.keys[%zu] needs key, n and peaks", path, i);
        }
        if (find_key(m, key)) {
            fp_model_prior_disable(m);
            return fp_err_set(err, FP_EINPUT, "%s: prior.keys[%zu]: key \"%s\" twice", path, i, key);
        }
        fp_prior_entry *k = add_key(m, key, err);
        if (!k) { fp_model_prior_disable(m); return -1; }
        k->used = ++m->prior_clock;
        const char *rn;
        const json_t *a;
        json_object_foreach((json_t *)pk, rn, a) {
            fp_resource r = fp_resource_by_name(rn);
            const json_t *nn = json_object_get(n, rn);
            size_t na = json_is_array(a) ? json_array_size(a) : 0;
            if (r == FP_RES_COUNT || !json_is_integer(nn) || na < 1 || na > (size_t)m->prior_keep ||
                json_integer_value(nn) < (json_int_t)na || json_integer_value(nn) > 1000000000) {
                fp_model_prior_disable(m);
                return fp_err_set(err, FP_EINPUT, "%s: prior.keys[%zu].peaks.%s: a resource with "
                                  "1 to keep peaks and n >= their number", path, i, rn);
            }
            for (size_t j = 0; j < na; j++) {
                const json_t *x = json_array_get(a, j);
                if (!json_is_number(x) || !(json_number_value(x) >= 0) || !isfinite(json_number_value(x))) {
                    fp_model_prior_disable(m);
                    return fp_err_set(err, FP_EINPUT, "%s: prior.keys[%zu].peaks.%s[%zu] is not a "
                                      "number >= 0", path, i, rn, j);
                }
                push(m, k, r, json_number_value(x));
            }
            k->n[r] = (int)json_integer_value(nn);
        }
    }
    return 0;
}

void fp_prior_note(const fp_prior_use *use, fp_prediction *p)
{
    if (!use || !use->used) return;
    p->has_prior = true;
    snprintf(p->prior_key, sizeof p->prior_key, "%s", use->key);
    p->prior_n = 0;
    for (int r = 0; r < FP_RES_COUNT; r++)
        if (use->n[r] > p->prior_n) p->prior_n = use->n[r];
}
