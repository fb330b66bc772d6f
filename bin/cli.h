/* bin/cli.h - the little pieces every tool's main needs, once.
 *
 * Header-only (static functions), for the tools in bin/ only: option
 * numbers with their messages, and the loop over input files. libfp has
 * none of this: it never prints.
 */
#ifndef FP_CLI_H
#define FP_CLI_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse option opt's value s as a number in [lo, hi] into *out. On error
 * prints "PROG: OPT wants a number in [LO, HI], not "S"" and returns -1. */
static inline int cli_number(const char *prog, const char *opt, const char *s,
                             double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "%s: %s wants a number in [%g, %g], not \"%s\"\n", prog, opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse a number of seconds in [min, max] (finite). On error prints
 * "PROG: OPT: 'S' is not a number of seconds >= MIN" and returns -1. */
static inline int cli_seconds(const char *prog, const char *opt, const char *s,
                              double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "%s: %s: '%s' is not a number of seconds >= %g\n", prog, opt, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

/* Call fn(arg, f, name) for each of the n inputs ("-" is stdin; no inputs:
 * stdin alone), closing what it opened, and stop at the first call that
 * returns < 0. Returns 0, that call's value, or -2 after printing
 * "PROG: NAME: reason" when an input cannot be opened. */
typedef int (*cli_input_fn)(void *arg, FILE *f, const char *name);
static inline int cli_each_input(const char *prog, char *const *inputs, int n,
                                 cli_input_fn fn, void *arg)
{
    if (n == 0) return fn(arg, stdin, "-");
    for (int i = 0; i < n; i++) {
        const char *name = inputs[i];
        FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
        if (!f) {
            fprintf(stderr, "%s: %s: %s\n", prog, name, strerror(errno));
            return -2;
        }
        int rc = fn(arg, f, name);
        if (f != stdin) fclose(f);
        if (rc < 0) return rc;
    }
    return 0;
}

#endif
