/* summary.c - human quantities and run summaries (see fp/summary.h).
 *
 * The collector is a small array of workloads, each holding references to
 * the records that matter for its summary; the text is printed into a
 * memory stream (open_memstream), never to a tool's stream.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp/record.h"
#include "fp/summary.h"

/* ------------------------------------------------------------ quantities */

/* v scaled by 1024 while it is at least 1024, with the prefix reached. */
static const char *binary(double *v)
{
    static const char *const p[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int k = 0;
    while (fabs(*v) >= 1024 && k < 6) {
        *v /= 1024;
        k++;
    }
    return p[k];
}

/* A plain number: up to 4 significant digits, never an exponent below
 * 1e15 (so 327000, not 3.27e+05). */
static void plain(double v, char *buf, size_t n)
{
    double a = fabs(v);
    if (a >= 1e15 || (a > 0 && a < 1e-4)) snprintf(buf, n, "%.3g", v);
    else if (a >= 1000) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.4g", v);
}

/* Contract: fp/summary.h. Rounding is to what a person compares: cores
 * to 2 decimals, bytes to one decimal of their binary prefix, shares to
 * whole percent (below 1 %, one decimal). */
const char *fp_fmt(double v, fp_unit u, char *buf, size_t n)
{
    if (n == 0) return buf;
    if (!isfinite(v)) {
        snprintf(buf, n, "-");
        return buf;
    }
    const char *pre;
    switch (u) {
    case FP_UNIT_BYTES:
    case FP_UNIT_BYTES_PS:
    case FP_UNIT_BYTE_H: {
        const char *suffix = u == FP_UNIT_BYTES ? "B" : u == FP_UNIT_BYTES_PS ? "B/s" : "B-h";
        pre = binary(&v);
        snprintf(buf, n, pre[0] ? "%.1f %s%s" : "%.0f %s%s", v, pre, suffix);
        break;
    }
    case FP_UNIT_CORES:
        snprintf(buf, n, "%.2f cores", v);
        break;
    case FP_UNIT_CORE_H:
        if (fabs(v) >= 1000) snprintf(buf, n, "%.0f core-h", v);
        else snprintf(buf, n, "%.3g core-h", v);
        break;
    case FP_UNIT_HOURS:
        return fp_fmt_duration(v * 3600, buf, n);
    case FP_UNIT_SECONDS:
        return fp_fmt_duration(v, buf, n);
    case FP_UNIT_SHARE:
        v *= 100;
        /* fall through */
    case FP_UNIT_PCT:
        snprintf(buf, n, fabs(v) < 1 && v != 0 ? "%.1f %%" : "%.0f %%", v);
        break;
    default:
        plain(v, buf, n);
        break;
    }
    return buf;
}

const char *fp_fmt_bytes(double v, char *buf, size_t n) { return fp_fmt(v, FP_UNIT_BYTES, buf, n); }

const char *fp_fmt_resource(fp_resource r, double v, char *buf, size_t n)
{
    return fp_fmt(v, fp_resource_unit(r), buf, n);
}

/* Contract: fp/summary.h. Below a minute the seconds (ms below one),
 * then minutes and seconds, hours and minutes, and days from 4 d on. */
const char *fp_fmt_duration(double s, char *buf, size_t n)
{
    if (n == 0) return buf;
    if (!isfinite(s)) {
        snprintf(buf, n, "-");
        return buf;
    }
    const char *sign = s < 0 ? "-" : "";
    double a = fabs(s);
    if (a < 1 && a > 0) snprintf(buf, n, "%s%.0f ms", sign, a * 1000);
    else if (a < 60) snprintf(buf, n, "%s%.1f s", sign, a);
    else if (a < 3600) {
        long t = lround(a);
        snprintf(buf, n, "%s%ld min %02ld s", sign, t / 60, t % 60);
    } else if (a < 4 * 86400) {
        long m = lround(a / 60);
        snprintf(buf, n, "%s%ld h %02ld min", sign, m / 60, m % 60);
    } else {
        snprintf(buf, n, "%s%.1f d", sign, a / 86400);
    }
    return buf;
}

fp_unit fp_resource_unit(fp_resource r)
{
    switch (r) {
    case FP_RES_CPU: return FP_UNIT_CORES;
    case FP_RES_MEM: return FP_UNIT_BYTES;
    case FP_RES_COUNT: return FP_UNIT_NONE;
    default: return FP_UNIT_BYTES_PS;
    }
}

fp_unit fp_resource_waste_unit(fp_resource r)
{
    return r == FP_RES_CPU ? FP_UNIT_CORE_H : r == FP_RES_COUNT ? FP_UNIT_NONE : FP_UNIT_BYTE_H;
}

const char *fp_resource_label(fp_resource r)
{
    static const char *const l[FP_RES_COUNT] = { "cpu", "memory", "disk read", "disk write",
                                                 "net receive", "net send" };
    return r >= 0 && r < FP_RES_COUNT ? l[r] : "?";
}

/* Does name contain word as one of its '_'-separated parts? */
static bool has_part(const char *name, const char *word)
{
    size_t w = strlen(word);
    for (const char *p = name; (p = strstr(p, word)) != NULL; p++) {
        bool start = p == name || p[-1] == '_';
        bool end = p[w] == 0 || p[w] == '_';
        if (start && end) return true;
    }
    return false;
}

/* Contract: fp/summary.h. The first unit word found among the name's
 * parts decides: bytes, Bps (bytes/s), cores, pct; a name ending in _s
 * (cpu_s, duration_s) is seconds, _h hours. */
fp_unit fp_fmt_unit_of(const char *name)
{
    if (!name) return FP_UNIT_NONE;
    if (has_part(name, "Bps")) return FP_UNIT_BYTES_PS;
    if (has_part(name, "bytes")) return FP_UNIT_BYTES;
    if (has_part(name, "cores")) return FP_UNIT_CORES;
    if (has_part(name, "pct")) return FP_UNIT_PCT;
    size_t n = strlen(name);
    if (n > 2 && name[n - 2] == '_' && name[n - 1] == 's') return FP_UNIT_SECONDS;
    if (n > 2 && name[n - 2] == '_' && name[n - 1] == 'h') return FP_UNIT_HOURS;
    return FP_UNIT_NONE;
}

/* ------------------------------------------------------------ collector */

typedef struct entry {
    char *id;
    json_t *pred;                  /* the first prediction */
    json_t *alloc;                 /* the first allocation that set limits */
    json_t *last;                  /* the latest allocation that changed them */
    int changes;                   /* allocations that changed limits after the first */
    int holds;                     /* allocations that kept them */
    json_t *fail;                  /* the latest allocation that failed */
    json_t *hold;                  /* the first that kept the limits as they were */
    json_t *actual, *error;        /* the latest of each */
} entry;

struct fp_summary {
    entry *e;
    int n, cap;
};

fp_summary *fp_summary_new(void) { return calloc(1, sizeof(fp_summary)); }

static void entry_clear(entry *e)
{
    free(e->id);
    json_decref(e->pred);
    json_decref(e->alloc);
    json_decref(e->last);
    json_decref(e->fail);
    json_decref(e->hold);
    json_decref(e->actual);
    json_decref(e->error);
}

void fp_summary_free(fp_summary *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) entry_clear(&s->e[i]);
    free(s->e);
    free(s);
}

static entry *find(const fp_summary *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->e[i].id, id) == 0) return &s->e[i];
    return NULL;
}

/* Keep a reference to rec in *slot, dropping the one there. */
static void keep(json_t **slot, const json_t *rec)
{
    json_t *r = json_incref((json_t *)rec);
    json_decref(*slot);
    *slot = r;
}

/* Did the allocation (one that did not fail) set limits, not hold them? */
static bool sets_limits(const json_t *rec)
{
    const char *reason = json_string_value(json_object_get(rec, "reason"));
    if (reason && strcmp(reason, "hold") == 0) return false;
    return !json_is_false(json_object_get(rec, "ok"));
}

int fp_summary_add(fp_summary *s, const json_t *rec)
{
    if (!s || !json_is_object(rec)) return 0;
    const char *type = json_string_value(json_object_get(rec, "type"));
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!type || !id) return 0;
    bool p = strcmp(type, "prediction") == 0, a = strcmp(type, "allocation") == 0,
         ac = strcmp(type, "actual") == 0, er = strcmp(type, "error") == 0;
    if (!p && !a && !ac && !er) return 0;
    entry *e = find(s, id);
    if (!e) {
        if (s->n == s->cap) {
            int nc = s->cap ? s->cap * 2 : 4;
            entry *ne = realloc(s->e, (size_t)nc * sizeof *ne);
            if (!ne) return -1;
            s->e = ne;
            s->cap = nc;
        }
        e = &s->e[s->n];
        memset(e, 0, sizeof *e);
        if (!(e->id = strdup(id))) return -1;
        s->n++;
    }
    if (p && !e->pred) keep(&e->pred, rec);
    else if (a) {
        if (json_is_false(json_object_get(rec, "ok"))) keep(&e->fail, rec);
        else if (!sets_limits(rec)) {
            e->holds++;
            if (!e->hold) keep(&e->hold, rec);
        }
        else if (!e->alloc) keep(&e->alloc, rec);
        else if (json_equal(json_object_get(rec, "limits"),
                            json_object_get(e->last ? e->last : e->alloc, "limits")))
            e->holds++;                /* the same limits again (a dry run plans anew) */
        else {
            keep(&e->last, rec);
            e->changes++;
        }
    } else if (ac) keep(&e->actual, rec);
    else if (er) keep(&e->error, rec);
    return 0;
}

int fp_summary_count(const fp_summary *s) { return s ? s->n : 0; }

const char *fp_summary_id(const fp_summary *s, int i)
{
    return s && i >= 0 && i < s->n ? s->e[i].id : NULL;
}

void fp_summary_forget(fp_summary *s, const char *id)
{
    if (!s || !id) return;
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].id, id) != 0) continue;
        entry_clear(&s->e[i]);
        memmove(&s->e[i], &s->e[i + 1], (size_t)(s->n - i - 1) * sizeof *s->e);
        s->n--;
        return;
    }
}

/* ------------------------------------------------------------ the text */

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

#define LABEL "    %-12s "

/* "p50 1.08 cores, p90 1.59 cores, p99 2.02 cores" of a quantiles object. */
static void put_quantiles(FILE *f, fp_resource r, const json_t *q)
{
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach((json_t *)q, k, v) {
        char b[48];
        if (!json_is_number(v)) continue;
        fprintf(f, "%s%s %s", i++ ? ", " : "", k, fp_fmt_resource(r, json_number_value(v), b, sizeof b));
    }
}

static void put_prediction(FILE *f, const json_t *p)
{
    char b[48];
    fprintf(f, "  predicted at %s", fp_fmt_duration(num(p, "t"), b, sizeof b));
    if (str(p, "model")) fprintf(f, " by %s", str(p, "model"));
    double nov = num(p, "novelty");
    if (isfinite(nov))
        fprintf(f, " (novelty %.2g: %s)", nov, nov > 1 ? "unlike the workloads it knows"
                                                       : "like workloads it knows");
    fputs("\n", f);
    json_t *qs = json_object_get(p, "quantiles");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        json_t *q = json_object_get(qs, fp_resource_name((fp_resource)r));
        if (!json_is_object(q) || json_object_size(q) == 0) continue;
        fprintf(f, LABEL, fp_resource_label((fp_resource)r));
        put_quantiles(f, (fp_resource)r, q);
        fputs("\n", f);
    }
}

/* The knobs of each resource in an allocation's limits, and what a
 * person calls them. */
static const struct knob {
    fp_resource r;
    const char *key, *name;
    fp_unit u;
} knobs[] = {
    { FP_RES_CPU, "cpu_max_cores", "quota", FP_UNIT_CORES },
    { FP_RES_CPU, "cpu_weight_cores", "weight", FP_UNIT_CORES },
    { FP_RES_MEM, "mem_high_bytes", "high", FP_UNIT_BYTES },
    { FP_RES_MEM, "mem_max_bytes", "max", FP_UNIT_BYTES },
    { FP_RES_DISK_READ, "io_read_Bps", "max", FP_UNIT_BYTES_PS },
    { FP_RES_DISK_WRITE, "io_write_Bps", "max", FP_UNIT_BYTES_PS },
    { FP_RES_NET_TX, "net_tx_Bps", "max", FP_UNIT_BYTES_PS },
};
#define N_KNOBS (int)(sizeof knobs / sizeof knobs[0])

/* One line per resource with a limit (or a reason for none); resources
 * the policy leaves alone are named together on one line. */
static void put_limits(FILE *f, const json_t *a)
{
    json_t *lim = json_object_get(a, "limits"), *why = json_object_get(a, "why"),
           *uns = json_object_get(a, "unsupported");
    char off[160] = "";
    size_t n_off = 0;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        char line[512] = "";
        size_t k = 0;
        const char *unsup = NULL;
        for (int i = 0; i < N_KNOBS; i++) {
            if (knobs[i].r != (fp_resource)r) continue;
            double v = num(lim, knobs[i].key);
            if (!isfinite(v)) continue;
            char b[48];
            k += (size_t)snprintf(line + k, k < sizeof line ? sizeof line - k : 0, "%s%s %s",
                                  k ? ", " : "", knobs[i].name, fp_fmt(v, knobs[i].u, b, sizeof b));
            if (!unsup) unsup = str(uns, knobs[i].key);
        }
        const char *w = str(why, fp_resource_name((fp_resource)r));
        if (k == 0) {
            if (!w) continue;
            if (strcmp(w, "disabled by policy") == 0) {
                n_off += (size_t)snprintf(off + n_off, n_off < sizeof off ? sizeof off - n_off : 0,
                                          "%s%s", n_off ? ", " : "", fp_resource_label((fp_resource)r));
                continue;
            }
            fprintf(f, LABEL "no limit (%s)\n", fp_resource_label((fp_resource)r), w);
            continue;
        }
        fprintf(f, LABEL "%s", fp_resource_label((fp_resource)r), line);
        if (w) fprintf(f, " (%s)", w);
        if (unsup) fprintf(f, "; not set: %s", unsup);
        fputs("\n", f);
    }
    if (n_off) fprintf(f, LABEL "%s (disabled by policy)\n", "not limited", off);
}

static void put_allocation(FILE *f, const json_t *a, int changes, int holds, const json_t *last)
{
    char b[48];
    const char *reason = str(a, "reason");
    fprintf(f, "  limits at %s", fp_fmt_duration(num(a, "t"), b, sizeof b));
    if (reason) fprintf(f, ", reason: %s", reason);
    if (json_is_true(json_object_get(a, "dry_run"))) fputs(" (dry run: planned, not set)", f);
    if (str(a, "backend")) fprintf(f, ", on %s", str(a, "backend"));
    fputs("\n", f);
    put_limits(f, a);
    if (changes > 0 && last) {
        fprintf(f, "  then %d change%s, the last at %s (reason: %s)", changes, changes == 1 ? "" : "s",
                fp_fmt_duration(num(last, "t"), b, sizeof b), str(last, "reason") ? str(last, "reason") : "?");
        if (holds) fprintf(f, "; %d look%s kept the limits", holds, holds == 1 ? "" : "s");
        fputs(":\n", f);
        put_limits(f, last);
    } else if (holds) {
        fprintf(f, "  then %d later prediction%s kept these limits\n", holds, holds == 1 ? "" : "s");
    }
}

/* Limits that were left as they were (an allocation with reason "hold"
 * and no limits of its own): the policy's reason per resource. */
static void put_hold(FILE *f, const json_t *h, int holds)
{
    char b[48];
    fprintf(f, "  limits: left as they were (reason: %s) at %s", str(h, "reason") ? str(h, "reason") : "?",
            fp_fmt_duration(num(h, "t"), b, sizeof b));
    if (holds > 1) fprintf(f, " and %d time%s after", holds - 1, holds == 2 ? "" : "s");
    fputs("\n", f);
    json_t *why = json_object_get(h, "why");
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const char *w = str(why, fp_resource_name((fp_resource)r));
        if (w && strcmp(w, "disabled by policy") != 0)
            fprintf(f, LABEL "%s\n", fp_resource_label((fp_resource)r), w);
    }
}

static void put_actual(FILE *f, const json_t *ac)
{
    char b1[48], b2[48], b3[48];
    fputs("  used\n", f);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const char *rn = fp_resource_name((fp_resource)r);
        char key[64];
        snprintf(key, sizeof key, "%s_peak", rn);
        double peak = num(ac, key);
        if (!isfinite(peak)) continue;
        snprintf(key, sizeof key, "%s_mean", rn);
        double mean = num(ac, key);
        fprintf(f, LABEL "peak %s", fp_resource_label((fp_resource)r),
                fp_fmt_resource((fp_resource)r, peak, b1, sizeof b1));
        if (isfinite(mean)) fprintf(f, ", mean %s", fp_fmt_resource((fp_resource)r, mean, b2, sizeof b2));
        if (r == FP_RES_CPU) {
            double cs = num(ac, "cpu_s"), thr = num(ac, "cpu_throttled_s");
            if (isfinite(cs)) fprintf(f, ", %s of CPU time", fp_fmt_duration(cs, b3, sizeof b3));
            if (isfinite(thr))
                fprintf(f, thr > 0 ? ", throttled %s" : ", never throttled",
                        fp_fmt_duration(thr, b3, sizeof b3));
        } else if (r == FP_RES_MEM) {
            double oom = num(ac, "oom_kills");
            if (isfinite(oom)) {
                if (oom > 0) fprintf(f, ", %.0f OOM kill%s", oom, oom == 1 ? "" : "s");
                else fputs(", no OOM kill", f);
            }
        }
        fputs("\n", f);
    }
}

/* The verdict of one resource of an error record: 2 under, 1 over, 0 fits,
 * -1 not scored (no allocation). A resource without a limit is scored
 * against a predicted quantile (allocated_from names it). */
static int verdict_of(const json_t *x)
{
    double slack = num(x, "slack");
    if (json_is_true(json_object_get(x, "failed")) || json_is_true(json_object_get(x, "under")))
        return 2;
    if (!isfinite(num(x, "allocated"))) return -1;
    return slack > FP_SUMMARY_OVER ? 1 : 0;
}

static void put_verdict(FILE *f, const json_t *er, const json_t *ac)
{
    static const char *const word[] = { "fits", "over-provisioned", "under-provisioned" };
    json_t *res = json_object_get(er, "resources");
    /* the worst over the resources that had a limit; when none had, over
     * those scored against a quantile */
    int worst = -1, worst_q = -1;
    for (int r = 0; r < FP_RES_COUNT; r++) {
        json_t *x = json_object_get(res, fp_resource_name((fp_resource)r));
        int v = verdict_of(x);
        const char *from = str(x, "allocated_from");
        int *w = from && strcmp(from, "allocation") == 0 ? &worst : &worst_q;
        if (v > *w) *w = v;
    }
    bool limited = worst >= 0;
    if (!limited) worst = worst_q;
    bool harmed = json_is_true(json_object_get(er, "harmed"));
    if (harmed) worst = 2;
    fprintf(f, "  verdict: %s%s", worst < 0 ? "not scored" : word[worst],
            worst >= 0 && !limited ? " (against the prediction: nothing was limited)" : "");
    if (harmed) fprintf(f, ", HARMED by its limit (%s)", str(er, "harmed_why") ? str(er, "harmed_why") : "?");
    else if (json_is_false(json_object_get(er, "harmed"))) fputs(", not harmed", f);
    fputs("\n", f);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        const char *rn = fp_resource_name((fp_resource)r);
        json_t *x = json_object_get(res, rn);
        int v = verdict_of(x);
        if (v < 0) continue;
        char b1[48], b2[48], b3[48];
        double use = num(x, "actual"), alloc = num(x, "allocated"), slack = num(x, "slack");
        const char *from = str(x, "allocated_from");
        fprintf(f, LABEL "%s: %s of %s %s", fp_resource_label((fp_resource)r),
                v == 2 ? "UNDER" : v == 1 ? "over" : "fits",
                fp_fmt_resource((fp_resource)r, use, b1, sizeof b1),
                fp_fmt_resource((fp_resource)r, alloc, b2, sizeof b2),
                from && strcmp(from, "allocation") == 0 ? "allocated" : "predicted");
        if (from && strcmp(from, "allocation") != 0) fprintf(f, " (%s; not limited)", from);
        if (isfinite(slack)) fprintf(f, ", slack %s", fp_fmt(slack, FP_UNIT_SHARE, b3, sizeof b3));
        if (json_is_true(json_object_get(x, "failed")))
            fprintf(f, ", FAILED (%s)", str(x, "failed_why") ? str(x, "failed_why")
                                                           : "above the hard limit");
        if (r == FP_RES_MEM) {
            double oom = num(ac, "oom_kills");
            if (oom > 0) fprintf(f, ", OOM-killed %.0f time%s", oom, oom == 1 ? "" : "s");
        } else if (r == FP_RES_CPU) {
            double thr = num(ac, "cpu_throttled_s"), dur = num(ac, "duration_s");
            if (thr > 0) fprintf(f, ", throttled %s", fp_fmt_duration(thr, b3, sizeof b3));
            if (thr > 0 && dur > 0) fprintf(f, " (%.0f %% of the run)", 100 * thr / dur);
        }
        fputs("\n", f);
    }
}

static void put_exit(FILE *f, const json_t *ac)
{
    char b[48];
    double code = num(ac, "exit_code"), sig = num(ac, "exit_signal"), dur = num(ac, "duration_s");
    if (isfinite(sig)) fprintf(f, "  ended: killed by signal %.0f", sig);
    else if (isfinite(code)) fprintf(f, "  ended: exit status %.0f", code);
    else fputs("  ended: exit not known", f);
    if (isfinite(dur)) fprintf(f, " after %s", fp_fmt_duration(dur, b, sizeof b));
    fputs("\n", f);
}

/* Contract: fp/summary.h. The sections appear as their records were
 * noted: prediction, limits, use (with the exit), verdict. */
char *fp_summary_text(const fp_summary *s, const char *id, const char *tool)
{
    if (!s || !id) return NULL;
    const entry *e = find(s, id);
    if (!e) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "%s%ssummary: %s\n", tool ? tool : "", tool ? " " : "", id);
    if (e->actual) put_exit(f, e->actual);
    if (e->pred) put_prediction(f, e->pred);
    else fputs("  predicted: nothing (no prediction was made)\n", f);
    if (e->alloc) put_allocation(f, e->alloc, e->changes, e->holds, e->last);
    else if (e->fail)
        fprintf(f, "  limits: none set: %s\n", str(e->fail, "error") ? str(e->fail, "error") : "failed");
    else if (e->hold) put_hold(f, e->hold, e->holds);
    else if (e->pred) fputs("  limits: none set\n", f);
    if (e->alloc && e->fail)
        fprintf(f, "  a later change failed: %s\n", str(e->fail, "error") ? str(e->fail, "error") : "?");
    if (e->actual) put_actual(f, e->actual);
    if (e->error) put_verdict(f, e->error, e->actual);
    if (ferror(f) | fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}
