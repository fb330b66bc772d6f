/* series.c - streaming per-metric statistics. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fp/series.h"

static const char *const stat_names[FP_ST_COUNT] = {
#define FP_X_SNAME(e, n) n,
    FP_STATS(FP_X_SNAME)
#undef FP_X_SNAME
};

const char *fp_stat_name(fp_stat st) { return (unsigned)st < FP_ST_COUNT ? stat_names[st] : 0; }

void fp_series_init(fp_series *s)
{
    /* Everything but the value buffer, which is written before it is read:
     * a window of idle series then costs no memory it does not use. */
    memset(s, 0, offsetof(fp_series, buf));
    s->tbuf0 = s->tbuf1 = 0;
    s->stride = 1;
}

void fp_series_add(fp_series *s, double t, double x)
{
    if (!isfinite(x) || !isfinite(t)) return;
    s->n++;
    double dx = x - s->mean, dt = t - s->tmean;
    s->mean += dx / (double)s->n;
    s->tmean += dt / (double)s->n;
    s->m2 += dx * (x - s->mean);
    s->tm2 += dt * (t - s->tmean);
    s->cxt += dt * (x - s->mean);
    if (s->n == 1) {
        s->min = s->max = x;
        s->t_first = s->t_max = t;
    } else {
        if (x < s->min) s->min = x;
        if (x > s->max) { s->max = x; s->t_max = t; }
    }
    s->last = x;
    /* Decimated buffer: value number i is kept when i % stride == 0. */
    long i = s->n - 1;
    if (i % s->stride) return;
    if (s->nbuf == FP_SERIES_CAP) {
        for (int k = 0; k < FP_SERIES_CAP / 2; k++) s->buf[k] = s->buf[2 * k];
        s->nbuf = FP_SERIES_CAP / 2;
        s->stride *= 2;
        if (i % s->stride) return;
    }
    if (s->nbuf == 0) s->tbuf0 = t;
    s->tbuf1 = t;
    s->buf[s->nbuf++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double fp_series_quantile(const fp_series *s, double q)
{
    if (s->nbuf == 0) return NAN;
    double v[FP_SERIES_CAP];
    memcpy(v, s->buf, (size_t)s->nbuf * sizeof v[0]);
    qsort(v, (size_t)s->nbuf, sizeof v[0], cmp_double);
    double h = (s->nbuf - 1) * q;
    int lo = (int)floor(h);
    if (lo >= s->nbuf - 1) return v[s->nbuf - 1];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/* Spectral summary of the demeaned buffer by a plain DFT (n <= 512: at
 * most a quarter million multiply-adds, once per fingerprint), with the
 * twiddle factors tabulated once (cos/sin of 2*pi*m/n, indexed by k*i mod n).
 * Returns -1 when too short or flat. */
int fp_series_spectrum(const fp_series *s, double *peak_hz, double *entropy)
{
    int n = s->nbuf;
    if (n < 8) return -1;
    double mean = 0, d[FP_SERIES_CAP], cs[FP_SERIES_CAP], sn[FP_SERIES_CAP];
    for (int i = 0; i < n; i++) mean += s->buf[i];
    mean /= n;
    for (int i = 0; i < n; i++) {
        d[i] = s->buf[i] - mean;
        cs[i] = cos(2 * M_PI * i / n);
        sn[i] = sin(2 * M_PI * i / n);
    }
    int half = n / 2;
    double pw[FP_SERIES_CAP / 2 + 1], total = 0, best = -1;
    int kbest = 0;
    for (int k = 1; k <= half; k++) {
        double re = 0, im = 0;
        for (int i = 0, m = 0; i < n; i++, m += k) {
            if (m >= n) m -= n;
            re += d[i] * cs[m];
            im -= d[i] * sn[m];
        }
        pw[k] = re * re + im * im;
        total += pw[k];
        if (pw[k] > best) best = pw[k];
    }
    if (total <= 0) return -1;
    /* the peak: the lowest frequency whose power is within a relative 1e-6
     * of the largest. Equal peaks are common (a series of a few distinct
     * values); a strict argmax would pick among them by rounding noise, so
     * the same samples written with 10 digits and read back (a replay)
     * could give another frequency. */
    for (int k = 1; k <= half; k++)
        if (pw[k] >= best * (1 - 1e-6)) { kbest = k; break; }
    double h = 0;
    for (int k = 1; k <= half; k++)
        if (pw[k] > 0) { double p = pw[k] / total; h -= p * log(p); }
    *entropy = half > 1 ? h / log(half) : 0;
    double span = s->tbuf1 - s->tbuf0;
    double dt = span > 0 ? span / (n - 1) : 0;
    if (dt <= 0) return -1;
    *peak_hz = kbest / (n * dt);
    return 0;
}

int fp_series_stat(const fp_series *s, fp_stat st, double *out, const char **why)
{
    if (s->n == 0) { *why = "no values"; return -1; }
    double sd = sqrt(s->m2 / (double)s->n);
    switch (st) {
    case FP_ST_MEAN: *out = s->mean; return 0;
    case FP_ST_STD: *out = sd; return 0;
    case FP_ST_MIN: *out = s->min; return 0;
    case FP_ST_MAX: *out = s->max; return 0;
    case FP_ST_P50: *out = fp_series_quantile(s, 0.50); return 0;
    case FP_ST_P90: *out = fp_series_quantile(s, 0.90); return 0;
    case FP_ST_P99: *out = fp_series_quantile(s, 0.99); return 0;
    case FP_ST_LAST: *out = s->last; return 0;
    case FP_ST_T_PEAK: *out = s->t_max - s->t_first; return 0;
    case FP_ST_SLOPE:
        if (s->n < 2 || s->tm2 <= 0) { *why = "fewer than two distinct times"; return -1; }
        *out = s->cxt / s->tm2;
        return 0;
    case FP_ST_BURST:
        *out = sd + s->mean == 0 ? -1 : (sd - s->mean) / (sd + s->mean);
        if (sd == 0) *out = -1;
        return 0;
    case FP_ST_ACF1: {
        if (s->nbuf < 3) { *why = "fewer than three values"; return -1; }
        double m = 0, num = 0, den = 0;
        for (int i = 0; i < s->nbuf; i++) m += s->buf[i];
        m /= s->nbuf;
        for (int i = 0; i < s->nbuf; i++) {
            den += (s->buf[i] - m) * (s->buf[i] - m);
            if (i) num += (s->buf[i] - m) * (s->buf[i - 1] - m);
        }
        if (den <= 0) { *why = "constant series"; return -1; }
        *out = num / den;
        return 0;
    }
    case FP_ST_SPEC_HZ:
    case FP_ST_SPEC_ENTROPY: {
        double hz, ent;
        if (fp_series_spectrum(s, &hz, &ent) < 0) { *why = "fewer than 8 values or a flat series"; return -1; }
        *out = st == FP_ST_SPEC_HZ ? hz : ent;
        return 0;
    }
    default: *why = "unknown statistic"; return -1;
    }
}
