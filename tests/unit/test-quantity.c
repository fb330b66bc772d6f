/* test-quantity - fp_quantity_parse (fp/quantity.h): Kubernetes' units,
 * Docker's spellings refused with the one to use, bad input of every
 * kind, and exactness. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fp/quantity.h"
#include "tap.h"

#define Ki 1024.0
#define Mi (1024.0 * 1024.0)
#define Gi (1024.0 * 1024.0 * 1024.0)

static void good(const char *s, fp_qty_kind k, double want)
{
    fp_err err = {0};
    double v = -1;
    int rc = fp_quantity_parse(s, k, &v, &err);
    ok(rc == 0 && v == want, "%s \"%s\" = %.17g (got %.17g%s%s)", fp_qty_kind_name(k), s, want, v,
       rc ? ": " : "", rc ? err.msg : "");
}

/* Within a relative 1e-15 of want: past exact doubles. */
static void near(const char *s, fp_qty_kind k, double want)
{
    fp_err err = {0};
    double v = -1;
    int rc = fp_quantity_parse(s, k, &v, &err);
    ok(rc == 0 && fabs(v - want) <= 1e-15 * want, "%s \"%s\" ~ %.17g (got %.17g)", fp_qty_kind_name(k), s,
       want, v);
}

/* Refused with FP_EINPUT, the message quoting s and containing frag. */
static void bad(const char *s, fp_qty_kind k, const char *frag)
{
    fp_err err = {0};
    double v = 42;
    int rc = fp_quantity_parse(s, k, &v, &err);
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", s ? s : "");
    ok(rc < 0 && err.cls == FP_EINPUT && v == 42 && strstr(err.msg, quoted) && strstr(err.msg, frag),
       "%s \"%s\" refused: %s", fp_qty_kind_name(k), s ? s : "(null)", err.msg);
}

int main(void)
{
    const fp_qty_kind B = FP_QTY_BYTES, R = FP_QTY_BYTES_PER_S, C = FP_QTY_CORES;

    /* plain numbers */
    good("0", B, 0);
    good("1073741824", B, 1073741824.0);
    good("0.5", C, 0.5);
    good("2", C, 2);
    good(".5", C, 0.5);
    good("1.", C, 1);
    good("007", B, 7);
    /* binary suffixes, exact */
    good("512Mi", B, 512 * Mi);
    good("1.5Gi", B, 1610612736.0);
    good("1Ki", B, Ki);
    good("2Ti", B, 2 * Gi * 1024);
    good("1Pi", B, ldexp(1, 50));
    good("1Ei", B, ldexp(1, 60));
    good("0.5Ki", R, 512);
    good("10Mi", R, 10 * Mi);
    /* decimal suffixes */
    good("2G", B, 2e9);
    good("100M", R, 1e8);
    good("1k", B, 1000);
    good("1.5T", B, 1.5e12);
    good("3P", B, 3e15);
    good("1E", B, 1e18);
    good("0.1G", B, 1e8);
    /* exponents (E followed by digits is an exponent, alone it is exa) */
    good("1e3", B, 1000);
    good("1E3", B, 1000);
    good("1e+3", B, 1000);
    good("5e-1", C, 0.5);
    good("1.5e9", B, 1.5e9);
    /* cores */
    good("500m", C, 0.5);
    good("1500m", C, 1.5);
    good("250000000n", C, 0.25);
    good("100u", C, 1e-4);
    good("0.1", C, 0.1);   /* the double nearest 0.1, as a JSON number would be */
    good("0m", C, 0);
    /* more digits than a 64-bit mantissa (dropped past the 19th), powers
     * of ten past 10^22: within an ulp or two */
    near("123456789012345678900000", B, 1.234567890123456789e23);
    near("0.0000000000000000000000000001", C, 1e-28);
    near("1e300", B, 1e300);

    /* bad input */
    bad("", B, "empty");
    bad(NULL, B, "empty");
    bad("12Q", B, "unknown unit \"Q\"");
    bad("-1G", B, "negative");
    bad("-1", C, "negative");
    bad("+1G", B, "sign");
    bad("1e400", B, "out of range");
    bad("1e-400", C, "out of range");
    bad("1e99999999999", B, "out of range");
    bad("G", B, "does not start with a number");
    bad("Mi", B, "does not start with a number");
    bad(".", B, "does not start with a number");
    bad("inf", B, "does not start with a number");
    bad("nan", C, "does not start with a number");
    bad(" 1G", B, "does not start with a number");
    bad("1 G", B, "unknown unit \" G\"");
    bad("1G ", B, "unknown unit \"G \"");
    bad("1.5.5G", B, "unknown unit");
    bad("0x10", B, "unknown unit");
    bad("1e", B, "unknown unit \"e\"");
    bad("1e5Mi", B, "after the exponent");
    bad("1mi", B, "unknown unit");
    bad("1Gib", B, "unknown unit");
    /* a fraction of a byte, and the one unit Kubernetes and Docker read apart */
    bad("512m", B, "write 512Mi (or 512M");
    bad("100m", R, "Mi");
    bad("1n", B, "fraction of a byte");
    bad("1u", R, "fraction of a byte");
    /* Docker's spellings: the Kubernetes one named */
    bad("2g", B, "write 2Gi");
    bad("512mb", B, "write 512Mi");
    bad("1GB", B, "write 1Gi");
    bad("1KiB", B, "write 1Ki");
    bad("100K", R, "write 100Ki");
    bad("1b", B, "plain number (1)");
    /* byte units are not cores, and cores only take n u m */
    bad("1Gi", C, "not a unit of cores");
    bad("2G", C, "not a unit of cores");
    bad("1k", C, "not a unit of cores");
    bad("500mc", C, "unknown unit");
    bad("1Q", C, "milli-cores");

    is_str(fp_qty_kind_name(B), "bytes", "kind name bytes");
    is_str(fp_qty_kind_name(R), "bytes/s", "kind name bytes/s");
    is_str(fp_qty_kind_name(C), "cores", "kind name cores");
    return done_testing();
}
