/* quantity.c - Kubernetes-style quantities (fp/quantity.h).
 *
 * The mantissa's digits are gathered into an integer and scaled once by a
 * power of ten (the exponent, the fraction's digits and a decimal suffix
 * together) and by a power of two (a binary suffix): both factors are
 * exact for the usual inputs, so the result is the correctly rounded
 * value, independent of the locale (strtod is not).
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fp/quantity.h"

const char *fp_qty_kind_name(fp_qty_kind kind)
{
    return kind == FP_QTY_BYTES ? "bytes" : kind == FP_QTY_BYTES_PER_S ? "bytes/s" : "cores";
}

static const struct {
    const char *s;
    int e10, e2;
    bool bytes, cores;         /* accepted for byte quantities, for cores */
} suffixes[] = {
    { "", 0, 0, true, true },
    { "n", -9, 0, false, true }, { "u", -6, 0, false, true }, { "m", -3, 0, false, true },
    { "k", 3, 0, true, false }, { "M", 6, 0, true, false }, { "G", 9, 0, true, false },
    { "T", 12, 0, true, false }, { "P", 15, 0, true, false }, { "E", 18, 0, true, false },
    { "Ki", 0, 10, true, false }, { "Mi", 0, 20, true, false }, { "Gi", 0, 30, true, false },
    { "Ti", 0, 40, true, false }, { "Pi", 0, 50, true, false }, { "Ei", 0, 60, true, false },
};

/* 10^k for k >= 0: exact up to 10^22, pow() beyond. */
static double pow10_(int k)
{
    static const double t[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    return k < (int)(sizeof t / sizeof t[0]) ? t[k] : pow(10, k);
}

/* Docker's spelling of a byte unit (case-insensitive b, k, kb, kib, m, mb,
 * mib, ... as `docker run --memory` takes them) -> the letter to write
 * before "i" here, or 0 when u is not one. */
static char docker_unit(const char *u)
{
    static const char letters[] = "kmgtp";
    char c = (char)tolower((unsigned char)u[0]);
    const char *l = c ? strchr(letters, c) : NULL;
    if (!l) return 0;
    const char *rest = u + 1;
    if (*rest == 0 || strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0) return (char)toupper(c);
    return 0;
}

int fp_quantity_parse(const char *s, fp_qty_kind kind, double *out, fp_err *err)
{
    const char *kn = fp_qty_kind_name(kind);
    if (!s || !*s) return fp_err_set(err, FP_EINPUT, "\"\" is not a quantity of %s: it is empty", kn);
    const char *p = s;
    if (*p == '-' || *p == '+')
        return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: %s", s, kn,
                          *p == '-' ? "it is negative" : "no sign is wanted");
    uint64_t mant = 0;
    int sig = 0, e10 = 0;
    bool digits = false;
    const char *num = p;
    for (; isdigit((unsigned char)*p); p++) {
        digits = true;
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant) sig++;
        } else {
            e10++;                 /* a digit past the 19th is dropped: its scale stays */
        }
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            digits = true;
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) sig++;
                e10--;
            }
        }
    }
    if (!digits)
        return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: it does not start with "
                          "a number (such as 512Mi, 2G, 1.5, 500m)", s, kn);
    size_t num_len = (size_t)(p - num);
    /* an exponent: e or E, an optional sign, digits (a bare "E" is exa) */
    if ((*p == 'e' || *p == 'E') &&
        (isdigit((unsigned char)p[1]) || ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
        p++;
        int sign = 1;
        if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
        long ex = 0;
        for (; isdigit((unsigned char)*p); p++)
            if (ex < 100000) ex = ex * 10 + (*p - '0');
        if (*p)
            return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: \"%.32s\" after the "
                              "exponent (a quantity has an exponent or a unit, not both)", s, kn, p);
        e10 += (int)(sign * ex);
    }
    const char *u = p;
    int k = -1;
    for (int i = 0; i < (int)(sizeof suffixes / sizeof suffixes[0]); i++)
        if (strcmp(u, suffixes[i].s) == 0) k = i;
    bool bytes = kind != FP_QTY_CORES;
    if (k < 0) {
        char d = bytes ? docker_unit(u) : 0;
        if (d)
            return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: unknown unit \"%.16s\" "
                              "(Docker's units are powers of 1024: write %.*s%ci; Kubernetes' %c is "
                              "10^%d)", s, kn, u, (int)num_len, num, d, d == 'K' ? 'k' : d,
                              3 * (int)(strchr("KMGTP", d) - "KMGTP" + 1));
        if (bytes && strcasecmp(u, "b") == 0)
            return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: write bytes as a "
                              "plain number (%.*s)", s, kn, (int)num_len, num);
        return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: unknown unit \"%.16s\" "
                          "(%s)", s, kn, u,
                          bytes ? "Ki Mi Gi Ti Pi Ei for powers of 1024, k M G T P E for powers of 1000"
                                : "cores are a plain number or milli-cores: 500m");
    }
    if (bytes && !suffixes[k].bytes) {
        if (strcmp(u, "m") == 0)
            return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: \"m\" is milli to "
                              "Kubernetes (0.001 byte) but MiB to Docker: write %.*sMi (or %.*sM, in "
                              "units of 10^6 bytes)", s, kn, (int)num_len, num, (int)num_len, num);
        return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: \"%s\" would make a "
                          "fraction of a byte", s, kn, u);
    }
    if (!bytes && !suffixes[k].cores)
        return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: \"%s\" is not a unit of "
                          "cores (a plain number, or milli-cores: 500m)", s, kn, u);
    e10 += suffixes[k].e10;
    double v = 0;
    if (mant) {
        v = (double)mant;
        if (e10 > 400) v = INFINITY;
        else if (e10 < -400) v = 0;
        else if (e10 >= 0) v *= pow10_(e10);
        else v /= pow10_(-e10);
        v = ldexp(v, suffixes[k].e2);
        if (!isfinite(v) || v == 0)
            return fp_err_set(err, FP_EINPUT, "\"%.64s\" is not a quantity of %s: out of range", s, kn);
    }
    *out = v;
    return 0;
}
