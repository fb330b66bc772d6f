/* features.c - fingerprint features, embedding and actuals. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fp/features.h"

struct fp_window {
    long n;
    double t_last, ts_last;
    fp_series s[FP_M_COUNT];
    double integral[FP_M_COUNT];
    const char *why_first[FP_M_COUNT]; /* reason of the first missing value */
    bool why_seen[FP_M_COUNT];
};

static const char *const ratio_names[FP_R_COUNT] = {
#define FP_X_RN(e, n, d) n,
    FP_RATIOS(FP_X_RN)
#undef FP_X_RN
};
static const char *const meta_names[FP_MF_COUNT] = {
#define FP_X_MN(e, n, k) n,
    FP_META_FEATURES(FP_X_MN)
#undef FP_X_MN
};
static const char *const meta_keys[FP_MF_COUNT] = {
#define FP_X_MK(e, n, k) k,
    FP_META_FEATURES(FP_X_MK)
#undef FP_X_MK
};

const char *fp_feature_name(int i, char *buf, size_t n)
{
    if (i < 0 || i >= FP_FEATURE_COUNT) return NULL;
    if (i < FP_M_COUNT * FP_ST_COUNT)
        snprintf(buf, n, "%s_%s", fp_metric_name(i / FP_ST_COUNT), fp_stat_name(i % FP_ST_COUNT));
    else if ((i -= FP_M_COUNT * FP_ST_COUNT) < FP_R_COUNT)
        snprintf(buf, n, "%s", ratio_names[i]);
    else if ((i -= FP_R_COUNT) < FP_MF_COUNT)
        snprintf(buf, n, "%s", meta_names[i]);
    else
        snprintf(buf, n, "emb_%02d", i - FP_MF_COUNT);
    return buf;
}

fp_window *fp_window_new(void)
{
    fp_window *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    for (int m = 0; m < FP_M_COUNT; m++) {
        fp_series_init(&w->s[m]);
        w->why_first[m] = "no samples";
    }
    return w;
}

void fp_window_free(fp_window *w) { free(w); }
long fp_window_samples(const fp_window *w) { return w->n; }
double fp_window_last_t(const fp_window *w) { return w->t_last; }
const fp_series *fp_window_series(const fp_window *w, fp_metric m) { return &w->s[m]; }
const char *fp_window_why(const fp_window *w, fp_metric m) { return w->s[m].n ? NULL : w->why_first[m]; }
double fp_window_integral(const fp_window *w, fp_metric m) { return w->integral[m]; }

/* A sample's rates describe the interval since the previous sample (or
 * since the start for the first), so the integral uses that interval. */
/* Most grid points one sparse sample stands for. */
#define GRID_MAX 4096

void fp_window_add(fp_window *w, const fp_sample *s)
{
    double dt = s->t - (w->n ? w->t_last : 0);
    if (dt < 0) dt = 0;
    /* A sparse sample (grid_s > 0) stands for every point of its grid
     * since the previous sample: its values are added at each (a rate is
     * the mean over the span; a level is the one read at its end), so the
     * statistics weigh time as a dense capture's do. The integral is the
     * same either way. */
    long k = 1;
    if (s->grid_s > 0 && w->n && dt > 1.5 * s->grid_s) {
        double q = floor(dt / s->grid_s + 0.5);
        k = q > GRID_MAX ? GRID_MAX : (long)q;
    }
    for (int m = 0; m < FP_M_COUNT; m++) {
        if (s->why[m]) {
            /* The first reason is the telling one: by the last sample the
             * workload may be gone, which explains nothing. */
            if (!w->why_seen[m]) { w->why_first[m] = s->why[m]; w->why_seen[m] = true; }
            continue;
        }
        for (long j = k - 1; j >= 1; j--) fp_series_add(&w->s[m], s->t - (double)j * dt / (double)k, s->v[m]);
        fp_series_add(&w->s[m], s->t, s->v[m]);
        if (isfinite(s->v[m])) w->integral[m] += s->v[m] * dt;
    }
    w->t_last = s->t;
    if (s->ts > 0) w->ts_last = s->ts;
    w->n++;
}

/* ---- embedding ----------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    /* final avalanche (splitmix64) so close strings spread over buckets */
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL; h ^= h >> 27; h *= 0x94d049bb133111ebULL; h ^= h >> 31;
    return h;
}

static void add_token(double *out, const char *prefix, const char *tok, size_t n, double weight)
{
    char buf[512];
    int k = snprintf(buf, sizeof buf, "%s:%.*s", prefix, (int)(n < 400 ? n : 400), tok);
    uint64_t h = fnv1a(buf, (size_t)k);
    out[h % FP_EMBED_DIM] += (h >> 63) ? -weight : weight;
}

/* Normalise an argument: digits become 0 so "run-17" and "run-42" agree,
 * paths keep their last component. */
static void norm_arg(const char *a, char *out, size_t n)
{
    const char *slash = strrchr(a, '/');
    if (slash && slash[1]) a = slash + 1;
    size_t j = 0;
    for (; *a && j + 1 < n; a++) out[j++] = isdigit((unsigned char)*a) ? '0' : (char)tolower((unsigned char)*a);
    out[j] = 0;
}

int fp_embed(const json_t *meta, double *out)
{
    memset(out, 0, FP_EMBED_DIM * sizeof *out);
    int tokens = 0;
    char a[256], line[2048];
    size_t ll = 0;
    json_t *cmd = json_object_get(meta, "cmd");
    size_t i;
    json_t *v;
    json_array_foreach(cmd, i, v) {
        const char *s = json_string_value(v);
        if (!s) continue;
        norm_arg(s, a, sizeof a);
        add_token(out, i == 0 ? "exe" : "arg", a, strlen(a), i == 0 ? 2.0 : 1.0);
        tokens++;
        const char *dot = strrchr(a, '.');
        if (i > 0 && dot && dot != a && strlen(dot) <= 6) { add_token(out, "ext", dot, strlen(dot), 0.5); tokens++; }
        ll += (size_t)snprintf(line + ll, ll < sizeof line ? sizeof line - ll : 0, "%s%s", i ? " " : "", a);
        if (ll >= sizeof line) ll = sizeof line - 1;
    }
    /* Character trigrams of the normalised command line: similar command
     * lines share most of them. Their total weight equals one token's. */
    if (ll >= 3) {
        double w = 1.0 / sqrt((double)(ll - 2));
        for (size_t k = 0; k + 3 <= ll; k++) add_token(out, "tri", line + k, 3, w);
        tokens++;
    }
    const char *image = json_string_value(json_object_get(meta, "image"));
    if (image && *image) {
        const char *colon = strrchr(image, ':'), *slash = strrchr(image, '/');
        size_t repo = colon && (!slash || colon > slash) ? (size_t)(colon - image) : strlen(image);
        add_token(out, "image", image, repo, 2.0);
        if (repo < strlen(image)) add_token(out, "tag", image + repo + 1, strlen(image + repo + 1), 0.5);
        tokens++;
    }
    json_t *labels = json_object_get(meta, "labels");
    const char *key;
    json_object_foreach(labels, key, v) {
        char kv[400];
        int k = snprintf(kv, sizeof kv, "%s=%s", key, json_string_value(v) ? json_string_value(v) : "");
        add_token(out, "label", kv, (size_t)k, 1.0);
        add_token(out, "labelkey", key, strlen(key), 0.5);
        tokens++;
    }
    const char *keys[] = {"process", "source", "workflow"};
    for (int k = 0; k < 3; k++) {
        const char *s = json_string_value(json_object_get(meta, keys[k]));
        if (s && *s) { add_token(out, keys[k], s, strlen(s), k == 0 ? 2.0 : 0.5); tokens++; }
    }
    /* A task-trace tag (the input sample, a chunk), normalised as an
     * argument is: "DA188_L1" and "DA42_L2" agree. */
    const char *tag = json_string_value(json_object_get(meta, "tag"));
    if (tag && *tag) {
        norm_arg(tag, a, sizeof a);
        add_token(out, "tag", a, strlen(a), 1.0);
        tokens++;
    }
    double norm = 0;
    for (int k = 0; k < FP_EMBED_DIM; k++) norm += out[k] * out[k];
    if (norm > 0)
        for (int k = 0; k < FP_EMBED_DIM; k++) out[k] /= sqrt(norm);
    return tokens;
}

/* ---- features ------------------------------------------------------------ */

/* Window mean of a metric, or -1 with *why when it has no values. */
static int wmean(const fp_window *w, fp_metric m, double *out, const char **why)
{
    if (w->s[m].n == 0) { *why = w->why_first[m]; return -1; }
    *out = w->s[m].mean;
    return 0;
}

/* ratio = (sum of means of a[]) / (sum of means of b[]), with reasons. */
static void ratio(const fp_window *w, const fp_metric *a, int na, const fp_metric *b, int nb,
                  double *out, const char **why)
{
    double x = 0, y = 0, v;
    for (int i = 0; i < na; i++) { if (wmean(w, a[i], &v, why) < 0) return; x += v; }
    for (int i = 0; i < nb; i++) { if (wmean(w, b[i], &v, why) < 0) return; y += v; }
    if (y <= 0) { *why = "denominator is zero over the window"; return; }
    *out = x / y;
    *why = NULL;
}

void fp_features(const fp_window *w, const json_t *meta, double *val, const char **why)
{
    int i = 0;
    for (int m = 0; m < FP_M_COUNT; m++)
        for (int st = 0; st < FP_ST_COUNT; st++, i++) {
            if (st == FP_ST_SPEC_ENTROPY && w->s[m].n) continue; /* filled with SPEC_HZ */
            why[i] = NULL;
            val[i] = 0;
            if (w->s[m].n == 0) why[i] = w->why_first[m];
            else if (st == FP_ST_SPEC_HZ) {
                if (fp_series_spectrum(&w->s[m], &val[i], &val[i + 1]) < 0) {
                    val[i] = val[i + 1] = 0;
                    why[i] = why[i + 1] = "fewer than 8 values or a flat series";
                } else {
                    why[i + 1] = NULL;
                }
            } else if (fp_series_stat(&w->s[m], st, &val[i], &why[i]) < 0) val[i] = 0;
        }
#define R(id, A, B) do { why[i + FP_R_##id] = "not computed"; \
        ratio(w, A, (int)(sizeof A / sizeof A[0]), B, (int)(sizeof B / sizeof B[0]), &val[i + FP_R_##id], &why[i + FP_R_##id]); } while (0)
    {
        static const fp_metric instr[] = {FP_M_INSTRUCTIONS_PS}, cyc[] = {FP_M_CYCLES_PS},
            cmiss[] = {FP_M_CACHE_MISSES_PS}, cref[] = {FP_M_CACHE_REFS_PS},
            bmiss[] = {FP_M_BRANCH_MISSES_PS}, lmiss[] = {FP_M_LLC_MISSES_PS}, lld[] = {FP_M_LLC_LOADS_PS},
            io[] = {FP_M_IO_READ_BPS, FP_M_IO_WRITE_BPS}, cpu[] = {FP_M_CPU_CORES},
            rw[] = {FP_M_RCHAR_BPS, FP_M_WCHAR_BPS}, net[] = {FP_M_NET_RX_BPS, FP_M_NET_TX_BPS},
            sysc[] = {FP_M_SYSCR_PS, FP_M_SYSCW_PS}, mem[] = {FP_M_MEM_BYTES},
            user[] = {FP_M_CPU_USER_CORES}, us[] = {FP_M_CPU_USER_CORES, FP_M_CPU_SYS_CORES},
            maj[] = {FP_M_MAJFLT_PS}, flt[] = {FP_M_MINFLT_PS, FP_M_MAJFLT_PS},
            anon[] = {FP_M_MEM_ANON_BYTES}, af[] = {FP_M_MEM_ANON_BYTES, FP_M_MEM_FILE_BYTES};
        R(IPC, instr, cyc);
        R(CACHE_MISS_RATE, cmiss, cref);
        R(BRANCH_MPKI, bmiss, instr);
        if (!why[i + FP_R_BRANCH_MPKI]) val[i + FP_R_BRANCH_MPKI] *= 1000;
        R(LLC_MISS_RATE, lmiss, lld);
        R(IO_PER_CPU, io, cpu);
        R(CHAR_PER_CPU, rw, cpu);
        R(NET_PER_CPU, net, cpu);
        R(SYSC_PER_CPU, sysc, cpu);
        R(MEM_PER_CORE, mem, cpu);
        R(USER_SHARE, user, us);
        R(MAJFLT_SHARE, maj, flt);
        R(ANON_SHARE, anon, af);
    }
#undef R
    i += FP_R_COUNT;
    for (int k = 0; k < FP_MF_COUNT; k++, i++) {
        json_t *v = json_object_get(meta, meta_keys[k]);
        if (json_is_number(v)) { val[i] = json_number_value(v); why[i] = NULL; }
        else { val[i] = 0; why[i] = "not in the workload's metadata"; }
    }
    if (fp_embed(meta, val + i) == 0)
        for (int k = 0; k < FP_EMBED_DIM; k++) why[i + k] = "no command line or metadata to embed";
    else
        for (int k = 0; k < FP_EMBED_DIM; k++) why[i + k] = NULL;
}

json_t *fp_fingerprint(const fp_window *w, const fp_target *tg, const json_t *meta, double t)
{
    double *val = malloc(FP_FEATURE_COUNT * sizeof *val);
    const char **why = malloc(FP_FEATURE_COUNT * sizeof *why);
    if (!val || !why) { free(val); free(why); return NULL; }
    fp_features(w, meta, val, why);
    json_t *r = fp_record_new("fingerprint", tg, t, w->ts_last);
    json_object_set_new(r, "window_s", json_real(t));
    json_object_set_new(r, "samples", json_integer(w->n));
    json_object_set_new(r, "features_version", json_integer(FP_FEATURES_VERSION));
    json_t *f = json_object(), *miss = json_object();
    char name[96];
    for (int i = 0; i < FP_FEATURE_COUNT; i++) {
        fp_feature_name(i, name, sizeof name);
        if (!why[i] && isfinite(val[i])) {
            json_object_set_new(f, name, json_real(val[i]));
            continue;
        }
        json_object_set_new(f, name, json_null());
        /* One reason per metric when the whole metric is missing. */
        if (i < FP_M_COUNT * FP_ST_COUNT && w->s[i / FP_ST_COUNT].n == 0) {
            json_object_set_new(miss, fp_metric_name(i / FP_ST_COUNT), json_string(why[i]));
        } else if (i >= FP_FEATURE_COUNT - FP_EMBED_DIM) {
            json_object_set_new(miss, "emb", json_string(why[i] ? why[i] : "not finite"));
        } else {
            json_object_set_new(miss, name, json_string(why[i] ? why[i] : "not finite"));
        }
    }
    json_object_set_new(r, "features", f);
    json_object_set_new(r, "missing", miss);
    json_object_set_new(r, "meta", meta ? json_deep_copy(meta) : json_object());
    free(val);
    free(why);
    return r;
}

/* Resources of an actual: METRIC_{peak,p50,p95,mean}, and the total name
 * for the integral (NULL: none). */
static const struct { fp_metric m; const char *total; } resources[] = {
    {FP_M_CPU_CORES, "cpu_s"},
    {FP_M_MEM_BYTES, NULL},
    {FP_M_IO_READ_BPS, "io_read_bytes"},
    {FP_M_IO_WRITE_BPS, "io_write_bytes"},
    {FP_M_NET_RX_BPS, "net_rx_bytes"},
    {FP_M_NET_TX_BPS, "net_tx_bytes"},
};

json_t *fp_actual(const fp_window *w, const fp_target *tg, const fp_exit *ex,
                  const json_t *meta, const json_t *outcome, double t)
{
    json_t *r = fp_record_new("actual", tg, t, w->ts_last), *miss = json_object();
    json_object_set_new(r, "duration_s", json_real(t));
    json_object_set_new(r, "samples", json_integer(w->n));
    if (ex && ex->known && ex->signal) {
        fp_record_set_num(r, miss, "exit_code", 0, "killed by a signal");
        json_object_set_new(r, "exit_signal", json_integer(ex->signal));
    } else if (ex && ex->known) {
        json_object_set_new(r, "exit_code", json_integer(ex->code));
        fp_record_set_num(r, miss, "exit_signal", 0, "exited normally");
    } else {
        fp_record_set_num(r, miss, "exit_code", 0, "exit not observed (attached workload or trace)");
        fp_record_set_num(r, miss, "exit_signal", 0, "exit not observed (attached workload or trace)");
    }
    static const char *const sfx[] = {"peak", "p50", "p95", "mean"};
    char name[96];
    for (size_t k = 0; k < sizeof resources / sizeof resources[0]; k++) {
        fp_metric m = resources[k].m;
        const fp_series *s = &w->s[m];
        for (int q = 0; q < 4; q++) {
            snprintf(name, sizeof name, "%s_%s", fp_metric_name(m), sfx[q]);
            double v = q == 0 ? s->max : q == 1 ? fp_series_quantile(s, 0.5)
                     : q == 2 ? fp_series_quantile(s, 0.95) : s->mean;
            /* The cgroup's own high-water mark can exceed every sample. */
            if (m == FP_M_MEM_BYTES && q == 0 && w->s[FP_M_MEM_PEAK_BYTES].n &&
                w->s[FP_M_MEM_PEAK_BYTES].max > v)
                v = w->s[FP_M_MEM_PEAK_BYTES].max;
            fp_record_set_num(r, miss, name, v, s->n ? NULL : w->why_first[m]);
        }
        if (resources[k].total)
            fp_record_set_num(r, miss, resources[k].total, w->integral[m], s->n ? NULL : w->why_first[m]);
    }
    const fp_series *th = &w->s[FP_M_CPU_THROTTLED_PCT];
    fp_record_set_num(r, miss, "cpu_throttled_s", w->integral[FP_M_CPU_THROTTLED_PCT] / 100,
                      th->n ? NULL : w->why_first[FP_M_CPU_THROTTLED_PCT]);
    const fp_series *oom = &w->s[FP_M_OOM_KILLS];
    fp_record_set_num(r, miss, "oom_kills", oom->n ? oom->max : 0, oom->n ? NULL : w->why_first[FP_M_OOM_KILLS]);
    json_object_set_new(r, "missing", miss);
    json_object_set_new(r, "meta", meta ? json_deep_copy(meta) : json_object());
    if (json_object_size(outcome)) json_object_set_new(r, "outcome", json_deep_copy(outcome));
    return r;
}
