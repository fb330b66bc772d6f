/* test-series.c - streaming statistics against values worked out by hand. */
#include <math.h>
#include "fp/series.h"
#include "tap.h"

static double st(const fp_series *s, fp_stat k)
{
    double v = NAN;
    const char *why = NULL;
    if (fp_series_stat(s, k, &v, &why) < 0) return NAN;
    return v;
}

int main(void)
{
    fp_series s;
    fp_series_init(&s);
    const char *why = NULL;
    double v;
    ok(fp_series_stat(&s, FP_ST_MEAN, &v, &why) < 0 && why, "empty series: no mean, with a reason");

    /* x = 1 2 3 4 10 at t = 0..4 */
    double x[] = {1, 2, 3, 4, 10};
    for (int i = 0; i < 5; i++) fp_series_add(&s, i, x[i]);
    is_near(st(&s, FP_ST_MEAN), 4.0, 1e-12, "mean 20/5");
    is_near(st(&s, FP_ST_STD), sqrt(10.0), 1e-12, "population sd sqrt(50/5)");
    is_near(st(&s, FP_ST_MIN), 1, 0, "min");
    is_near(st(&s, FP_ST_MAX), 10, 0, "max");
    is_near(st(&s, FP_ST_P50), 3, 1e-12, "median");
    is_near(st(&s, FP_ST_P90), 7.6, 1e-12, "p90: h=3.6 -> 4 + 0.6*6");
    is_near(st(&s, FP_ST_P99), 9.76, 1e-12, "p99: h=3.96 -> 4 + 0.96*6");
    is_near(st(&s, FP_ST_LAST), 10, 0, "last");
    is_near(st(&s, FP_ST_SLOPE), 2.0, 1e-12, "slope 20/10 per second");
    is_near(st(&s, FP_ST_ACF1), 8.0 / 50.0, 1e-12, "lag-1 autocorrelation 8/50");
    is_near(st(&s, FP_ST_T_PEAK), 4, 0, "peak at t=4");
    is_near(st(&s, FP_ST_BURST), (sqrt(10.0) - 4) / (sqrt(10.0) + 4), 1e-12, "burstiness (sd-mean)/(sd+mean)");
    ok(isnan(st(&s, FP_ST_SPEC_HZ)), "spectrum needs 8 values");

    /* Time of the peak counts from the first value, not from zero. */
    fp_series_init(&s);
    fp_series_add(&s, 10, 1);
    fp_series_add(&s, 11, 5);
    fp_series_add(&s, 12, 5);
    is_near(st(&s, FP_ST_T_PEAK), 1, 0, "first maximum, relative to the first value");

    /* Constant series */
    fp_series_init(&s);
    for (int i = 0; i < 10; i++) fp_series_add(&s, i * 0.1, 7);
    is_near(st(&s, FP_ST_STD), 0, 1e-12, "constant: sd 0");
    is_near(st(&s, FP_ST_BURST), -1, 0, "constant: burstiness -1 (regular)");
    ok(fp_series_stat(&s, FP_ST_ACF1, &v, &why) < 0 && why, "constant: acf1 undefined with reason (%s)", why);
    is_near(st(&s, FP_ST_SLOPE), 0, 1e-12, "constant: slope 0");

    /* A sine of period 8 samples, dt 0.5 s: 0.25 Hz, all power in one bin. */
    fp_series_init(&s);
    for (int i = 0; i < 64; i++) fp_series_add(&s, i * 0.5, 3 + sin(2 * M_PI * i / 8.0));
    is_near(st(&s, FP_ST_SPEC_HZ), 0.25, 1e-9, "dominant frequency of a sine");
    is_near(st(&s, FP_ST_SPEC_ENTROPY), 0, 1e-6, "pure tone: spectral entropy 0");
    is_near(st(&s, FP_ST_ACF1), cos(2 * M_PI / 8) * 63 / 64, 0.02, "sine acf1 near cos(2pi/8)");

    /* Alternating +-1 has its peak at the Nyquist frequency. */
    fp_series_init(&s);
    for (int i = 0; i < 32; i++) fp_series_add(&s, i * 0.1, i % 2 ? 1 : -1);
    is_near(st(&s, FP_ST_SPEC_HZ), 5.0, 1e-9, "alternation: Nyquist 5 Hz at dt 0.1");
    is_near(st(&s, FP_ST_ACF1), -31.0 / 32.0, 1e-12, "alternation: acf1 -31/32");

    /* Two tones of equal power (periods 8 and 4 samples, dt 0.5 s: 0.25
     * and 0.5 Hz): the lower one, and still the lower one when rounding
     * noise (1e-9 relative, as 10-digit records give) favours the other. */
    for (int tilt = 0; tilt < 2; tilt++) {
        fp_series_init(&s);
        for (int i = 0; i < 64; i++)
            fp_series_add(&s, i * 0.5, 3 + sin(2 * M_PI * i / 8.0) + (1 + tilt * 1e-9) * sin(2 * M_PI * i / 4.0));
        is_near(st(&s, FP_ST_SPEC_HZ), 0.25, 1e-9, "equal peaks%s: the lower frequency, 0.25 Hz",
                tilt ? " (the higher one 1e-9 stronger)" : "");
    }

    /* Pseudo-random noise spreads its power: entropy high. */
    fp_series_init(&s);
    unsigned long long z = 88172645463325252ULL;
    for (int i = 0; i < 256; i++) {
        z ^= z << 13; z ^= z >> 7; z ^= z << 17;
        fp_series_add(&s, i, (double)(z % 1000));
    }
    ok(st(&s, FP_ST_SPEC_ENTROPY) > 0.85, "noise: spectral entropy %.3f > 0.85", st(&s, FP_ST_SPEC_ENTROPY));

    /* Long series: moments exact, buffer bounded, quantiles close. */
    fp_series_init(&s);
    for (int i = 0; i < 100000; i++) fp_series_add(&s, i * 0.01, i);
    is_int(s.n, 100000, "all values counted");
    ok(s.nbuf <= FP_SERIES_CAP, "buffer bounded (%d)", s.nbuf);
    is_near(st(&s, FP_ST_MEAN), 49999.5, 1e-6, "mean exact after decimation");
    is_near(st(&s, FP_ST_MAX), 99999, 0, "max exact");
    is_near(st(&s, FP_ST_SLOPE), 100, 1e-6, "slope exact (100 per second)");
    is_near(st(&s, FP_ST_P50), 50000, 300, "median within decimation stride");
    is_near(st(&s, FP_ST_P99), 99000, 600, "p99 within decimation stride");
    is_near(st(&s, FP_ST_T_PEAK), 999.99, 1e-6, "time to peak exact");

    /* Non-finite values are ignored. */
    fp_series_init(&s);
    fp_series_add(&s, 0, NAN);
    fp_series_add(&s, 1, INFINITY);
    fp_series_add(&s, 2, 5);
    is_int(s.n, 1, "NaN and inf ignored");
    return done_testing();
}
