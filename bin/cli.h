/* bin/cli.h - the little pieces every tool's main needs, once.
 *
 * Header-only (static functions), for the tools in bin/ only: option
 * numbers with their messages, the loop over input files, and the record
 * output of a tool that follows workloads. libfp has none of this: it
 * never prints.
 */
#ifndef FP_CLI_H
#define FP_CLI_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/record.h"

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

/* When a stream of workload time is next due (a prediction, a
 * checkpoint) once time t has reached due: the first due + k x every
 * (k = 1, 2, ...) past t. Computed, not stepped to, so a jump in t costs
 * nothing; t before due leaves due as it is. every > 0. */
static inline double cli_next_due(double due, double t, double every)
{
    if (!(t >= due)) return due;
    double n = due + (floor((t - due) / every) + 1) * every;
    return n > t ? n : t + every;      /* rounding at large t */
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

/* The record output of a tool that follows workloads to their end (fp-run,
 * fp-capture): after the first failed write (a closed pipe, a full disk)
 * nothing more is written and err says why, but the tool carries on with
 * its workloads. Start it as {.f = stdout}. */
typedef struct cli_out {
    FILE *f;
    bool failed;
    fp_err err;
} cli_out;

/* Write rec (borrowed; NULL is skipped) as one line. */
static inline void cli_emit_borrowed(cli_out *o, const json_t *rec)
{
    if (rec && !o->failed && fp_record_write(o->f, rec, &o->err) < 0) o->failed = true;
}

/* Write rec and drop the caller's reference. */
static inline void cli_emit(cli_out *o, json_t *rec)
{
    cli_emit_borrowed(o, rec);
    json_decref(rec);
}

static inline void cli_flush(cli_out *o)
{
    if (!o->failed && fflush(o->f) != 0) {
        fp_err_sys(&o->err, "write");
        o->failed = true;
    }
}

/* Close the output; 0, or -1 after "PROG: NAME: why" on stderr when a
 * write or the close failed (the caller then exits 2 if it would exit 0). */
static inline int cli_out_close(cli_out *o, const char *prog, const char *name)
{
    bool close_failed = fclose(o->f) != 0;
    if (!o->failed && !close_failed) return 0;
    if (!o->failed) fp_err_sys(&o->err, "write");
    fprintf(stderr, "%s: %s: %s\n", prog, name, o->err.msg);
    return -1;
}

#endif
