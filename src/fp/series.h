/* fp/series.h - streaming statistics of one metric over time.
 *
 * Moments, extremes, the least-squares slope and the time of the peak are
 * exact and updated in O(1) per value (Welford's updates). Quantiles, the
 * lag-1 autocorrelation and the spectral summary come from a bounded buffer
 * of FP_SERIES_CAP values: exact while the series is shorter, and from an
 * evenly decimated copy after that (when the buffer fills, every second
 * value is dropped and from then on only every 2^k-th value is kept), so
 * memory stays bounded whatever the duration.
 *
 * Statistics (names are suffixes of feature names):
 *   mean std min max p50 p90 p99 last  - as usual (std is the population sd;
 *                                        quantiles interpolate linearly)
 *   slope      least-squares slope of value against time, per second
 *   acf1       lag-1 autocorrelation of the buffered values
 *   t_peak     seconds from the first value to the first maximum
 *   burst      (sd - mean) / (sd + mean), -1 for a constant series
 *   spec_hz    frequency of the largest DFT peak of the demeaned buffer
 *   spec_entropy  normalised spectral entropy in [0,1] (1 = white noise)
 *
 * Ownership: fp_series is a plain value (about 8 KiB); copy freely.
 */
#ifndef FP_SERIES_H
#define FP_SERIES_H

#ifdef __cplusplus
extern "C" {
#endif

#define FP_SERIES_CAP 512

#define FP_STATS(X) \
    X(MEAN, "mean") X(STD, "std") X(MIN, "min") X(MAX, "max") \
    X(P50, "p50") X(P90, "p90") X(P99, "p99") X(LAST, "last") \
    X(SLOPE, "slope") X(ACF1, "acf1") X(T_PEAK, "t_peak") X(BURST, "burst") \
    X(SPEC_HZ, "spec_hz") X(SPEC_ENTROPY, "spec_entropy")

typedef enum {
#define FP_X_STAT(e, n) FP_ST_##e,
    FP_STATS(FP_X_STAT)
#undef FP_X_STAT
    FP_ST_COUNT
} fp_stat;

typedef struct fp_series {
    long n;                    /* values seen */
    double mean, m2;           /* Welford */
    double tmean, tm2, cxt;    /* time mean, time M2, co-moment (slope) */
    double min, max, last, t_first, t_max;
    long stride;               /* decimation: every stride-th value is kept */
    int nbuf;
    double buf[FP_SERIES_CAP];
    double tbuf0, tbuf1;       /* times of the first and last buffered values */
} fp_series;

void fp_series_init(fp_series *s);
void fp_series_add(fp_series *s, double t, double x);
/* Value of a statistic; returns 0, or -1 with *why set when it is undefined
 * for this series (no values, too few values, zero variance for acf1...). */
int fp_series_stat(const fp_series *s, fp_stat st, double *out, const char **why);
const char *fp_stat_name(fp_stat st);
/* Both spectral statistics at once (as FP_ST_SPEC_HZ, FP_ST_SPEC_ENTROPY);
 * returns -1 when undefined (fewer than 8 values or a flat series). */
int fp_series_spectrum(const fp_series *s, double *peak_hz, double *entropy);
/* Quantile q in [0,1] of the buffered values (type 7 interpolation). */
double fp_series_quantile(const fp_series *s, double q);

#ifdef __cplusplus
}
#endif

#endif
