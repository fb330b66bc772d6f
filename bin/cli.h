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
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* Where a launched command's standard output goes (fp_launch_cfg.stdout_fd),
 * from --cmd-stdout SPEC: NULL (not given) is the tool's standard error
 * when the tool's own output is on its standard output (records_on_stdout),
 * else standard output; "-" is the tool's standard output (shared with
 * whatever the tool writes there); anything else is a file, created or
 * truncated. Returns the descriptor (0 for "inherit"), or -1 after
 * "PROG: --cmd-stdout FILE: why" on stderr. */
static inline int cli_cmd_stdout(const char *prog, const char *spec, bool records_on_stdout)
{
    if (!spec) return records_on_stdout ? STDERR_FILENO : 0;
    if (strcmp(spec, "-") == 0) return 0;
    int fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) fprintf(stderr, "%s: --cmd-stdout %s: %s\n", prog, spec, strerror(errno));
    return fd;
}

/* The record output of a tool that follows workloads to their end (fp-run,
 * fp-capture): after the first failed write (a closed pipe, a full disk)
 * nothing more is written and err says why, but the tool carries on with
 * its workloads. Start it as {.f = stdout}. */
typedef struct cli_out {
    FILE *f;
    bool failed;
    bool gone;                  /* the reader went away (EPIPE, or POLLERR/POLLHUP) */
    fp_err err;
} cli_out;

/* ---- the reader going away
 * A tool's output that is a pipe or a socket tells it that its reader has
 * gone at the next write (EPIPE: the tools ignore SIGPIPE to say why) and,
 * between writes, to poll(): the write end reports POLLERR (a pipe) or
 * POLLHUP (a socket) with no events asked for. A tool that waits between
 * samples polls that descriptor too, so that `fp-capture -p PID | head -1`
 * ends when head does, however long the interval. */

/* fd when it is a pipe or a socket (worth polling for its reader), else -1. */
static inline int cli_watch_fd(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return -1;
    return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ? fd : -1;
}

/* Has the reader of fd (a cli_watch_fd) gone? Does not wait. */
static inline bool cli_fd_gone(int fd)
{
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

/* The poll() answer for the output's cli_watch_fd: POLLERR or POLLHUP mark
 * it failed and gone (as a write would have, with EPIPE). Returns o->gone. */
static inline bool cli_out_polled(cli_out *o, short revents)
{
    if ((revents & (POLLERR | POLLHUP)) && !o->gone) {
        o->gone = true;
        if (!o->failed) {
            errno = EPIPE;
            fp_err_sys(&o->err, "write");
            o->failed = true;
        }
    }
    return o->gone;
}

/* Write rec (borrowed; NULL is skipped) as one line. */
static inline void cli_emit_borrowed(cli_out *o, const json_t *rec)
{
    if (rec && !o->failed && fp_record_write(o->f, rec, &o->err) < 0) {
        o->failed = true;
        if (o->err.sys_errno == EPIPE) o->gone = true;
    }
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
        if (errno == EPIPE) o->gone = true;
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
