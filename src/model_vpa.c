/* model_vpa.c - history baselines: the Kubernetes VPA recommender and
 * Google Autopilot's moving-window recommender.
 *
 * Both keep per-workload state in a small hash map keyed by the group
 * string (insertion order is kept, so saved files are stable).
 *
 * Decaying exponential histogram (VPA pkg/recommender/util): bucket i
 * starts at first * (ratio^i - 1) / (ratio - 1) (bucket 0 at 0), ratio
 * 1.05, buckets up to max (1000 cores, 1e12 bytes: 176 buckets); a value
 * goes to bucket floor(log(v (ratio-1)/first + 1) / log ratio), clamped.
 * A sample at time t weighs weight * 2^((t - ref) / half_life); when t
 * passes ref + 100 half-lives, ref moves to t rounded to a multiple of the
 * half-life and all weights are scaled down to match. Buckets lighter than
 * epsilon (1e-4) do not count. Percentile(p) walks the buckets from the
 * lightest non-empty one until the running weight reaches p * total and
 * returns the END of that bucket (the start of the next), as the VPA does.
 *
 * VPA, faithfully (recommender/model, logic):
 *   CPU    every sample (value truncated to whole millicores) is added to
 *          a decaying histogram (first bucket 0.01 core, half-life 24 h)
 *          with weight max(cpu_request, 0.1) (minSampleWeight; 0.1 when
 *          the request is unknown, as in fp's traces). Samples not
 *          strictly after the last CPU sample are dropped.
 *   memory one peak per 24 h interval: the first sample opens the interval
 *          [ts, ts + 24h); a larger sample inside it replaces the
 *          interval's peak in the histogram (subtract old, add new); a
 *          sample past its end moves the window end forward by whole
 *          intervals and starts a new peak. Peaks go to a decaying
 *          histogram (first bucket 1e7 bytes, half-life 24 h, weight 1,
 *          time stamp = the interval end). Out-of-order samples dropped.
 *   OOM    an OOM sample (usage = the memory the workload had) records
 *          max(used + 100 MiB, used * 1.2), used = max(that, the interval
 *          peak), as a memory sample; an OOM older than the current
 *          interval's start is dropped.
 *   estimate  target = CPU p90 / memory-peaks p90, lower = p50 / p50,
 *          upper = p95 / p95; each x 1.15 (safety margin); upper x
 *          (1 + 1/c), lower x (1 + 0.001/c)^-2, with the confidence
 *          c = min(lifespan in days, CPU samples / 1440), lifespan = last
 *          minus first CPU sample time; then at least 25 millicores and
 *          250 MiB (the VPA's flag says MB but multiplies by 1024*1024).
 *          As in the VPA every amount is truncated to whole millicores or
 *          bytes after each step and capped at 1e14 units (so with c = 0
 *          the upper bound is 1e14 millicores / bytes).
 *   expiry a workload with no CPU sample for 8 x 24 h (the memory
 *          aggregation window; since creation when it never had one) is
 *          forgotten, as the VPA's garbage collector does.
 * Output: lower -> p50, target -> p90, upper -> p99 (cpu_cores, mem_bytes).
 *
 * Autopilot (Rzadca et al., EuroSys 2020, moving window): CPU samples (no
 * truncation, weight 1) go to a decaying histogram with a 12 h half-life
 * and the same buckets; memory keeps the peak of each 5-minute window
 * (window = floor(ts / 300)) for the last 48 h (576 windows). An OOM
 * sample counts as an ordinary memory sample (the paper gives no bump).
 * Output: cpu p50 / p90 / p99 = histogram p50 / p95 (the recommendation)
 * / p99; memory p50 = the median window peak, p90 = p99 = the maximum
 * window peak of the 48 h before the recommendation time.
 */
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"

#define DAY 86400.0
#define HB_RATIO 1.05
#define HB_EPS 1e-4                 /* 0.001 * minSampleWeight */
#define HB_MAXDECAY 100.0
#define VPA_MIN_WEIGHT 0.1
#define VPA_MEM_INTERVAL DAY
#define VPA_MEM_COUNT 8
#define VPA_MAX_AMOUNT 1e14
#define AP_WINDOW 300.0
#define AP_NWIN 576                 /* 48 h of 5-minute windows */
#define NB_MAX 256

/* ------------------------------------------------------------ histogram */

typedef struct {
    double first;               /* first bucket size */
    int nb;
    double half_life;
    double w[NB_MAX];
    double total, ref;
    int minb, maxb;
} dhist;

static void dh_init(dhist *h, double first, double max, double half_life)
{
    memset(h, 0, sizeof *h);
    h->first = first;
    h->nb = (int)ceil(log(max * (HB_RATIO - 1) / first + 1) / log(HB_RATIO)) + 1;
    if (h->nb > NB_MAX) h->nb = NB_MAX;
    h->half_life = half_life;
    h->minb = h->nb - 1;
    h->maxb = 0;
}

static double dh_start(const dhist *h, int b)
{
    return b == 0 ? 0 : h->first * (pow(HB_RATIO, b) - 1) / (HB_RATIO - 1);
}

static int dh_bucket(const dhist *h, double v)
{
    if (v < h->first) return 0;
    int b = (int)(log(v * (HB_RATIO - 1) / h->first + 1) / log(HB_RATIO));
    return b >= h->nb ? h->nb - 1 : b;
}

static void dh_minmax(dhist *h)
{
    while (h->w[h->minb] < HB_EPS && h->minb < h->nb - 1) h->minb++;
    while (h->w[h->maxb] < HB_EPS && h->maxb > 0) h->maxb--;
}

static double dh_decay(dhist *h, double t)
{
    if (t > h->ref + h->half_life * HB_MAXDECAY) {
        double nref = floor(t / h->half_life + 0.5) * h->half_life;
        double e = floor((h->ref - nref) / h->half_life + 0.5);
        double f = ldexp(1.0, (int)e);
        for (int b = h->minb; b <= h->maxb; b++) h->w[b] *= f;
        h->total *= f;
        dh_minmax(h);
        h->ref = nref;
    }
    return exp2((t - h->ref) / h->half_life);
}

static void dh_add(dhist *h, double v, double weight, double t)
{
    weight *= dh_decay(h, t);
    int b = dh_bucket(h, v);
    h->w[b] += weight;
    h->total += weight;
    if (b < h->minb && h->w[b] >= HB_EPS) h->minb = b;
    if (b > h->maxb && h->w[b] >= HB_EPS) h->maxb = b;
}

static double safe_sub(double v, double s) { v -= s; return v < HB_EPS ? 0 : v; }

static void dh_sub(dhist *h, double v, double weight, double t)
{
    weight *= dh_decay(h, t);
    int b = dh_bucket(h, v);
    h->total = safe_sub(h->total, weight);
    h->w[b] = safe_sub(h->w[b], weight);
    dh_minmax(h);
}

static bool dh_empty(const dhist *h) { return h->w[h->minb] < HB_EPS; }

static double dh_percentile(const dhist *h, double p)
{
    if (dh_empty(h)) return 0;
    double part = 0, thr = p * h->total;
    int b = h->minb;
    for (; b < h->maxb; b++) {
        part += h->w[b];
        if (part >= thr) break;
    }
    return b < h->nb - 1 ? dh_start(h, b + 1) : dh_start(h, b);
}

static json_t *dh_save(const dhist *h)
{
    json_t *o = json_object(), *b = json_array();
    if (!o || !b) { json_decref(o); json_decref(b); return NULL; }
    for (int i = 0; i < h->nb; i++)
        if (h->w[i] != 0) {
            json_t *pair = json_array();
            json_array_append_new(pair, json_integer(i));
            json_array_append_new(pair, json_real(h->w[i]));
            json_array_append_new(b, pair);
        }
    json_object_set_new(o, "ref", json_real(h->ref));
    json_object_set_new(o, "total", json_real(h->total));
    json_object_set_new(o, "min", json_integer(h->minb));
    json_object_set_new(o, "max", json_integer(h->maxb));
    json_object_set_new(o, "buckets", b);
    return o;
}

static int dh_load(dhist *h, const json_t *o, const char *path, const char *what, fp_err *err)
{
    double mn, mx;
    if (!json_is_object(o)) return fp_err_set(err, FP_EINPUT, "%s: %s histogram missing", path, what);
    if (fp_jget_num(o, "ref", &h->ref, path, err) < 0 || fp_jget_num(o, "total", &h->total, path, err) < 0 ||
        fp_jget_num(o, "min", &mn, path, err) < 0 || fp_jget_num(o, "max", &mx, path, err) < 0)
        return -1;
    if (!(mn >= 0 && mn < h->nb && mx >= 0 && mx < h->nb))
        return fp_err_set(err, FP_EINPUT, "%s: %s histogram min/max bucket out of range", path, what);
    h->minb = (int)mn;
    h->maxb = (int)mx;
    const json_t *b = json_object_get(o, "buckets");
    if (!json_is_array(b)) return fp_err_set(err, FP_EINPUT, "%s: %s histogram buckets missing", path, what);
    for (size_t i = 0; i < json_array_size(b); i++) {
        const json_t *p = json_array_get(b, i);
        const json_t *ix = json_array_get(p, 0), *wv = json_array_get(p, 1);
        if (!json_is_integer(ix) || !json_is_number(wv) || json_integer_value(ix) < 0 ||
            json_integer_value(ix) >= h->nb || !(json_number_value(wv) >= 0))
            return fp_err_set(err, FP_EINPUT, "%s: %s histogram bucket %zu is malformed", path, what, i);
        h->w[json_integer_value(ix)] = json_number_value(wv);
    }
    return 0;
}

/* ------------------------------------------------------------ group map */

typedef struct {
    size_t n, cap;              /* entries */
    char **key;
    void **val;
    size_t *slot, nslot;        /* open addressing: entry index + 1, 0 empty */
} gmap;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void *gm_get(const gmap *g, const char *key)
{
    if (!g->nslot) return NULL;
    for (size_t i = hash(key) & (g->nslot - 1);; i = (i + 1) & (g->nslot - 1)) {
        if (!g->slot[i]) return NULL;
        if (strcmp(g->key[g->slot[i] - 1], key) == 0) return g->val[g->slot[i] - 1];
    }
}

static int gm_rehash(gmap *g, size_t nslot)
{
    size_t *s = calloc(nslot, sizeof *s);
    if (!s) return -1;
    for (size_t e = 0; e < g->n; e++) {
        size_t i = hash(g->key[e]) & (nslot - 1);
        while (s[i]) i = (i + 1) & (nslot - 1);
        s[i] = e + 1;
    }
    free(g->slot);
    g->slot = s;
    g->nslot = nslot;
    return 0;
}

/* Add key -> val (key copied; key must be absent). */
static int gm_put(gmap *g, const char *key, void *val)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        char **k = realloc(g->key, cap * sizeof *k);
        if (k) g->key = k;
        void **v = realloc(g->val, cap * sizeof *v);
        if (v) g->val = v;
        if (!k || !v) return -1;
        g->cap = cap;
    }
    if ((g->n + 1) * 10 > g->nslot * 7 && gm_rehash(g, g->nslot ? g->nslot * 2 : 32) < 0) return -1;
    char *k = strdup(key);
    if (!k) return -1;
    g->key[g->n] = k;
    g->val[g->n] = val;
    size_t i = hash(key) & (g->nslot - 1);
    while (g->slot[i]) i = (i + 1) & (g->nslot - 1);
    g->slot[i] = ++g->n;
    return 0;
}

static void gm_free(gmap *g)
{
    for (size_t i = 0; i < g->n; i++) { free(g->key[i]); free(g->val[i]); }
    free(g->key); free(g->val); free(g->slot);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------ VPA */

typedef struct {
    dhist cpu, mem;
    double created;             /* time of the first sample */
    double first_cpu, last_cpu; /* NaN until a CPU sample */
    double samples;             /* CPU samples */
    double window_end;          /* NaN until a memory sample */
    double last_mem;            /* NaN until a memory sample */
    double mem_peak, oom_peak;
} vpa_state;

static void vpa_reset(vpa_state *s, double ts)
{
    dh_init(&s->cpu, 0.01, 1000, DAY);
    dh_init(&s->mem, 1e7, 1e12, DAY);
    s->created = ts;
    s->first_cpu = s->last_cpu = s->window_end = s->last_mem = NAN;
    s->samples = s->mem_peak = s->oom_peak = 0;
}

/* resourceAmountFromFloat: truncate to a whole amount, clamp [0, 1e14]. */
static double amount(double a)
{
    if (!(a >= 0)) return 0;
    if (a > VPA_MAX_AMOUNT) return VPA_MAX_AMOUNT;
    return trunc(a);
}

static bool vpa_expired(const vpa_state *s, double now)
{
    double window = VPA_MEM_INTERVAL * VPA_MEM_COUNT;
    if (!isfinite(now)) return false;
    if (s->samples == 0) return now - s->created >= window;
    return now - s->last_cpu >= window;
}

static double max_peak(const vpa_state *s) { return s->mem_peak > s->oom_peak ? s->mem_peak : s->oom_peak; }

/* ContainerState.addMemorySample: usage in whole bytes. */
static void vpa_mem(vpa_state *s, double ts, double usage, bool oom)
{
    if (!(usage >= 0)) return;
    if (!oom && !isnan(s->last_mem) && ts < s->last_mem) return;
    s->last_mem = ts;
    if (isnan(s->window_end)) s->window_end = ts;
    bool add = false;
    if (ts < s->window_end) {
        double old = max_peak(s);
        if (old != 0 && usage > old) {
            dh_sub(&s->mem, old, 1.0, s->window_end);
            add = true;
        }
    } else {
        double shift = floor((ts - s->window_end) / VPA_MEM_INTERVAL) * VPA_MEM_INTERVAL + VPA_MEM_INTERVAL;
        s->window_end += shift;
        s->mem_peak = s->oom_peak = 0;
        add = true;
    }
    if (oom) { if (usage > s->oom_peak) s->oom_peak = usage; }
    else if (usage > s->mem_peak) s->mem_peak = usage;
    if (add) dh_add(&s->mem, max_peak(s), 1.0, s->window_end);
}

static int vpa_observe(fp_model *m, const fp_usage *u, fp_err *err)
{
    gmap *g = m->impl;
    if (!isfinite(u->ts)) return fp_err_set(err, FP_EINPUT, "vpa: sample of %s without a time", u->group);
    vpa_state *s = gm_get(g, u->group);
    if (s && vpa_expired(s, u->ts)) vpa_reset(s, u->ts);
    if (!s) {
        if (!(s = malloc(sizeof *s))) return fp_err_sys(err, "vpa");
        vpa_reset(s, u->ts);
        if (gm_put(g, u->group, s) < 0) { free(s); return fp_err_sys(err, "vpa"); }
    }
    double cpu = u->cpu_cores;
    if (isfinite(cpu) && cpu >= 0 && (isnan(s->last_cpu) || u->ts > s->last_cpu)) {
        double mc = amount(cpu * 1000);          /* CPUAmountFromCores */
        double req = isfinite(u->cpu_request) ? amount(u->cpu_request * 1000) / 1000 : 0;
        dh_add(&s->cpu, mc / 1000, req > VPA_MIN_WEIGHT ? req : VPA_MIN_WEIGHT, u->ts);
        s->last_cpu = u->ts;
        if (isnan(s->first_cpu) || u->ts < s->first_cpu) s->first_cpu = u->ts;
        s->samples++;
    }
    double mem = u->mem_bytes;
    if (isfinite(mem) && mem >= 0) {
        if (u->oom) {
            /* RecordOOM: drop OOMs before the current interval */
            if (!isnan(s->window_end) && u->ts < s->window_end - VPA_MEM_INTERVAL) return 0;
            double used = amount(mem);
            if (s->mem_peak > used) used = s->mem_peak;
            double a = used + 100.0 * 1024 * 1024, b = amount(used * 1.2);
            vpa_mem(s, u->ts, a > b ? a : b, true);
        } else {
            vpa_mem(s, u->ts, amount(mem), false);
        }
    }
    return 0;
}

static void set_q(fp_quantiles *q, double lo, double mid, double hi)
{
    memset(q, 0, sizeof *q);
    q->n = 3;
    q->level[0] = 0.5; q->level[1] = 0.9; q->level[2] = 0.99;
    q->value[0] = lo; q->value[1] = mid; q->value[2] = hi;
    /* never crossing */
    if (q->value[1] < q->value[0]) q->value[1] = q->value[0];
    if (q->value[2] < q->value[1]) q->value[2] = q->value[1];
}

static void none(fp_quantiles *q, const char *why)
{
    memset(q, 0, sizeof *q);
    snprintf(q->why, sizeof q->why, "%s", why);
}

static int vpa_recommend(fp_model *m, const char *group, double ts, fp_quantiles out[FP_RES_COUNT], fp_err *err)
{
    (void)err;
    gmap *g = m->impl;
    vpa_state *s = gm_get(g, group);
    for (int r = 0; r < FP_RES_COUNT; r++) none(&out[r], "the VPA recommends cpu and memory only");
    if (!s || (ts > 0 && vpa_expired(s, ts))) {
        const char *why = s ? "vpa: no CPU sample of this workload for 8 days (expired)"
                            : "vpa: no samples of this workload yet";
        none(&out[FP_RES_CPU], why);
        none(&out[FP_RES_MEM], why);
        return 0;
    }
    double life = s->samples ? (s->last_cpu - s->first_cpu) / DAY : 0;
    double conf = life < s->samples / 1440.0 ? life : s->samples / 1440.0;
    const double pc[3] = {0.5, 0.9, 0.95};      /* lower, target, upper */
    double v[2][3];
    for (int i = 0; i < 3; i++) {
        double c = amount(dh_percentile(&s->cpu, pc[i]) * 1000);    /* millicores */
        double b = amount(dh_percentile(&s->mem, pc[i]));
        c = amount(c * 1.15);
        b = amount(b * 1.15);
        if (i == 0) {
            double f = pow(1 + 0.001 / conf, -2.0);
            c = amount(c * f);
            b = amount(b * f);
        } else if (i == 2) {
            double f = pow(1 + 1.0 / conf, 1.0);
            c = amount(c * f);
            b = amount(b * f);
        }
        if (c < 25) c = 25;
        if (b < 250.0 * 1024 * 1024) b = 250.0 * 1024 * 1024;
        v[0][i] = c / 1000;
        v[1][i] = b;
    }
    set_q(&out[FP_RES_CPU], v[0][0], v[0][1], v[0][2]);
    set_q(&out[FP_RES_MEM], v[1][0], v[1][1], v[1][2]);
    if (s->samples == 0) none(&out[FP_RES_CPU], "vpa: no CPU samples of this workload yet");
    if (dh_empty(&s->mem)) none(&out[FP_RES_MEM], "vpa: no memory samples of this workload yet");
    return 0;
}

static int gm_init(fp_model *m, fp_err *err)
{
    m->impl = calloc(1, sizeof(gmap));
    return m->impl ? 0 : fp_err_sys(err, "history model");
}

static void gm_destroy(fp_model *m)
{
    gm_free(m->impl);
    free(m->impl);
    m->impl = NULL;
}

static json_t *vpa_save(const fp_model *m)
{
    const gmap *g = m->impl;
    json_t *p = json_object(), *arr = json_array();
    if (!p || !arr) { json_decref(p); json_decref(arr); return NULL; }
    for (size_t i = 0; i < g->n; i++) {
        const vpa_state *s = g->val[i];
        json_t *o = json_object();
        json_object_set_new(o, "group", json_string(g->key[i]));
        json_object_set_new(o, "created", fp_jnum(s->created));
        json_object_set_new(o, "first_cpu", fp_jnum(s->first_cpu));
        json_object_set_new(o, "last_cpu", fp_jnum(s->last_cpu));
        json_object_set_new(o, "samples", json_real(s->samples));
        json_object_set_new(o, "window_end", fp_jnum(s->window_end));
        json_object_set_new(o, "last_mem", fp_jnum(s->last_mem));
        json_object_set_new(o, "mem_peak", json_real(s->mem_peak));
        json_object_set_new(o, "oom_peak", json_real(s->oom_peak));
        json_object_set_new(o, "cpu", dh_save(&s->cpu));
        json_object_set_new(o, "mem", dh_save(&s->mem));
        json_array_append_new(arr, o);
    }
    json_object_set_new(p, "groups", arr);
    return p;
}

/* A number or null (NaN). */
static int get_num_or_null(const json_t *o, const char *key, double *v, const char *path, fp_err *err)
{
    const json_t *e = json_object_get(o, key);
    if (json_is_null(e)) { *v = NAN; return 0; }
    return fp_jget_num(o, key, v, path, err);
}

static int vpa_load(fp_model *m, const json_t *p, const char *path, fp_err *err)
{
    const json_t *arr = json_object_get(p, "groups");
    if (!json_is_array(arr)) return fp_err_set(err, FP_EINPUT, "%s: params.groups is not an array", path);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        const char *key = json_string_value(json_object_get(o, "group"));
        if (!key) return fp_err_set(err, FP_EINPUT, "%s: params.groups[%zu].group is not a string", path, i);
        if (gm_get(m->impl, key)) return fp_err_set(err, FP_EINPUT, "%s: group \"%s\" twice", path, key);
        vpa_state *s = malloc(sizeof *s);
        if (!s) return fp_err_sys(err, "%s", path);
        vpa_reset(s, 0);
        if (get_num_or_null(o, "created", &s->created, path, err) < 0 ||
            get_num_or_null(o, "first_cpu", &s->first_cpu, path, err) < 0 ||
            get_num_or_null(o, "last_cpu", &s->last_cpu, path, err) < 0 ||
            fp_jget_num(o, "samples", &s->samples, path, err) < 0 ||
            get_num_or_null(o, "window_end", &s->window_end, path, err) < 0 ||
            get_num_or_null(o, "last_mem", &s->last_mem, path, err) < 0 ||
            fp_jget_num(o, "mem_peak", &s->mem_peak, path, err) < 0 ||
            fp_jget_num(o, "oom_peak", &s->oom_peak, path, err) < 0 ||
            dh_load(&s->cpu, json_object_get(o, "cpu"), path, "cpu", err) < 0 ||
            dh_load(&s->mem, json_object_get(o, "mem"), path, "mem", err) < 0) {
            free(s);
            return -1;
        }
        if (gm_put(m->impl, key, s) < 0) { free(s); return fp_err_sys(err, "%s", path); }
    }
    return 0;
}

/* ------------------------------------------------------------ Autopilot */

typedef struct {
    dhist cpu;
    double last_ts;             /* latest sample time */
    double win[AP_NWIN];        /* window index of each slot, NaN empty */
    double peak[AP_NWIN];
} ap_state;

static void ap_reset(ap_state *s)
{
    dh_init(&s->cpu, 0.01, 1000, DAY / 2);
    s->last_ts = NAN;
    for (int i = 0; i < AP_NWIN; i++) { s->win[i] = NAN; s->peak[i] = 0; }
}

static int ap_observe(fp_model *m, const fp_usage *u, fp_err *err)
{
    gmap *g = m->impl;
    if (!isfinite(u->ts)) return fp_err_set(err, FP_EINPUT, "autopilot: sample of %s without a time", u->group);
    ap_state *s = gm_get(g, u->group);
    if (!s) {
        if (!(s = malloc(sizeof *s))) return fp_err_sys(err, "autopilot");
        ap_reset(s);
        if (gm_put(g, u->group, s) < 0) { free(s); return fp_err_sys(err, "autopilot"); }
    }
    if (isnan(s->last_ts) || u->ts > s->last_ts) s->last_ts = u->ts;
    if (isfinite(u->cpu_cores) && u->cpu_cores >= 0) dh_add(&s->cpu, u->cpu_cores, 1.0, u->ts);
    if (isfinite(u->mem_bytes) && u->mem_bytes >= 0) {
        double w = floor(u->ts / AP_WINDOW);
        int i = (int)fmod(fmod(w, AP_NWIN) + AP_NWIN, AP_NWIN);
        if (s->win[i] != w) {
            if (!isnan(s->win[i]) && s->win[i] > w) return 0;   /* older than the ring */
            s->win[i] = w;
            s->peak[i] = u->mem_bytes;
        } else if (u->mem_bytes > s->peak[i]) {
            s->peak[i] = u->mem_bytes;
        }
    }
    return 0;
}

static int ap_recommend(fp_model *m, const char *group, double ts, fp_quantiles out[FP_RES_COUNT], fp_err *err)
{
    (void)err;
    ap_state *s = gm_get(m->impl, group);
    for (int r = 0; r < FP_RES_COUNT; r++) none(&out[r], "autopilot recommends cpu and memory only");
    if (!s) {
        none(&out[FP_RES_CPU], "autopilot: no samples of this workload yet");
        none(&out[FP_RES_MEM], "autopilot: no samples of this workload yet");
        return 0;
    }
    if (dh_empty(&s->cpu)) none(&out[FP_RES_CPU], "autopilot: no CPU samples of this workload yet");
    else set_q(&out[FP_RES_CPU], dh_percentile(&s->cpu, 0.5), dh_percentile(&s->cpu, 0.95),
               dh_percentile(&s->cpu, 0.99));
    double now = ts > 0 ? ts : s->last_ts, w = floor(now / AP_WINDOW);
    double v[AP_NWIN];
    int n = 0;
    for (int i = 0; i < AP_NWIN; i++)
        if (!isnan(s->win[i]) && s->win[i] <= w && s->win[i] > w - AP_NWIN) {
            /* insertion sort: at most 576 values */
            int at = n++;
            while (at > 0 && v[at - 1] > s->peak[i]) { v[at] = v[at - 1]; at--; }
            v[at] = s->peak[i];
        }
    if (!n) none(&out[FP_RES_MEM], "autopilot: no memory samples of this workload in the last 48 h");
    else set_q(&out[FP_RES_MEM], v[(n - 1) / 2], v[n - 1], v[n - 1]);
    return 0;
}

static json_t *ap_save(const fp_model *m)
{
    const gmap *g = m->impl;
    json_t *p = json_object(), *arr = json_array();
    if (!p || !arr) { json_decref(p); json_decref(arr); return NULL; }
    for (size_t i = 0; i < g->n; i++) {
        const ap_state *s = g->val[i];
        json_t *o = json_object(), *wins = json_array();
        json_object_set_new(o, "group", json_string(g->key[i]));
        json_object_set_new(o, "last_ts", fp_jnum(s->last_ts));
        json_object_set_new(o, "cpu", dh_save(&s->cpu));
        for (int k = 0; k < AP_NWIN; k++)
            if (!isnan(s->win[k])) {
                json_t *pair = json_array();
                json_array_append_new(pair, json_real(s->win[k]));
                json_array_append_new(pair, json_real(s->peak[k]));
                json_array_append_new(wins, pair);
            }
        json_object_set_new(o, "windows", wins);
        json_array_append_new(arr, o);
    }
    json_object_set_new(p, "window_s", json_real(AP_WINDOW));
    json_object_set_new(p, "groups", arr);
    return p;
}

static int ap_load(fp_model *m, const json_t *p, const char *path, fp_err *err)
{
    const json_t *arr = json_object_get(p, "groups");
    if (!json_is_array(arr)) return fp_err_set(err, FP_EINPUT, "%s: params.groups is not an array", path);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i), *wins = json_object_get(o, "windows");
        const char *key = json_string_value(json_object_get(o, "group"));
        if (!key || !json_is_array(wins))
            return fp_err_set(err, FP_EINPUT, "%s: params.groups[%zu] needs group and windows", path, i);
        if (gm_get(m->impl, key)) return fp_err_set(err, FP_EINPUT, "%s: group \"%s\" twice", path, key);
        ap_state *s = malloc(sizeof *s);
        if (!s) return fp_err_sys(err, "%s", path);
        ap_reset(s);
        if (get_num_or_null(o, "last_ts", &s->last_ts, path, err) < 0 ||
            dh_load(&s->cpu, json_object_get(o, "cpu"), path, "cpu", err) < 0) { free(s); return -1; }
        for (size_t k = 0; k < json_array_size(wins); k++) {
            const json_t *pair = json_array_get(wins, k);
            const json_t *a = json_array_get(pair, 0), *b = json_array_get(pair, 1);
            if (!json_is_number(a) || !json_is_number(b)) {
                free(s);
                return fp_err_set(err, FP_EINPUT, "%s: params.groups[%zu].windows[%zu] is malformed", path, i, k);
            }
            double w = json_number_value(a);
            int at = (int)fmod(fmod(w, AP_NWIN) + AP_NWIN, AP_NWIN);
            s->win[at] = w;
            s->peak[at] = json_number_value(b);
        }
        if (gm_put(m->impl, key, s) < 0) { free(s); return fp_err_sys(err, "%s", path); }
    }
    return 0;
}

const fp_model_ops fp_model_vpa_ops = {
    .kind = "vpa", .history = true,
    .init = gm_init, .destroy = gm_destroy, .save = vpa_save, .load = vpa_load,
    .observe = vpa_observe, .recommend = vpa_recommend,
};

const fp_model_ops fp_model_autopilot_ops = {
    .kind = "autopilot", .history = true,
    .init = gm_init, .destroy = gm_destroy, .save = ap_save, .load = ap_load,
    .observe = ap_observe, .recommend = ap_recommend,
};
