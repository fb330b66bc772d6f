/* textio.c - the line reader and field helpers the trace readers share
 * (see textio.h). Moved out of replay.c unchanged. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fp/record.h"
#include "textio.h"

/* ---------------------------------------------------------------------------
 * Line reader over a gzFile. */


/* Open src for line reading, naming it path in messages. Returns 0, or -1
 * with FP_ESYS. */
int fptx_lr_open_as(fptx_lreader *lr, const char *src, const char *path, fp_err *err)
{
    memset(lr, 0, sizeof *lr);
    lr->path = path;
    errno = 0;
    lr->gz = gzopen(src, "rb");
    if (!lr->gz) {
        if (!errno) errno = ENOMEM;
        return fp_err_sys(err, "%s: cannot open", path);
    }
    return 0;
}

int fptx_lr_open(fptx_lreader *lr, const char *path, fp_err *err)
{
    return fptx_lr_open_as(lr, path, path, err);
}

void fptx_lr_close(fptx_lreader *lr)
{
    if (lr->gz) gzclose(lr->gz);
    free(lr->buf);
    memset(lr, 0, sizeof *lr);
}

/* The stream's error state: 0 when fine, else -1 with FP_ESYS for a read
 * error or FP_EINPUT for corrupt or truncated gzip data. */
int fptx_lr_zerror(const fptx_lreader *lr, fp_err *err)
{
    int zerr;
    const char *zmsg = gzerror(lr->gz, &zerr);
    if (zerr == Z_OK) return 0;
    if (zerr == Z_ERRNO) return fp_err_sys(err, "%s: read", lr->path);
    size_t n = strlen(lr->path);
    if (strncmp(zmsg, lr->path, n) == 0 && strncmp(zmsg + n, ": ", 2) == 0) zmsg += n + 2;
    return fp_err_set(err, FP_EINPUT, "%s:%ld: corrupt gzip data: %s", lr->path, lr->line + 1,
                      zmsg);
}

/* Read the next line into lr->buf (NUL-terminated, without its "\n" or
 * "\r\n"), counting lines. Returns 1, 0 at end of input, or -1 with err:
 * FP_ESYS for a read error, FP_EINPUT for corrupt gzip data or a line longer
 * than FP_LINE_MAX_BYTES. */
int fptx_lr_next(fptx_lreader *lr, fp_err *err)
{
    lr->len = 0;
    for (;;) {
        if (lr->cap - lr->len < 2) {
            /* room for the longest line, its "\r\n" and a NUL */
            size_t lim = (size_t)FP_LINE_MAX_BYTES + 3;
            size_t ncap = lr->cap ? lr->cap * 2 : 4096;
            if (ncap > lim) ncap = lim;
            if (lr->cap >= lim)
                return fp_err_set(err, FP_EINPUT, "%s:%ld: line longer than %d bytes",
                                  lr->path, lr->line + 1, FP_LINE_MAX_BYTES);
            char *nb = realloc(lr->buf, ncap);
            if (!nb) return fp_err_sys(err, "%s: out of memory", lr->path);
            lr->buf = nb;
            lr->cap = ncap;
        }
        int room = (int)(lr->cap - lr->len > INT_MAX ? INT_MAX : lr->cap - lr->len);
        if (!gzgets(lr->gz, lr->buf + lr->len, room)) {
            if (fptx_lr_zerror(lr, err) < 0) return -1;
            if (lr->len == 0) return 0;
            break; /* last line without a newline */
        }
        lr->len += strlen(lr->buf + lr->len);
        /* A truncated gzip stream hands out what it decoded with the error
         * already set: check before trusting the (partial) line. */
        if (fptx_lr_zerror(lr, err) < 0) return -1;
        if (lr->len > 0 && lr->buf[lr->len - 1] == '\n') break;
        if (gzeof(lr->gz)) break;
    }
    lr->line++;
    while (lr->len > 0 && (lr->buf[lr->len - 1] == '\n' || lr->buf[lr->len - 1] == '\r'))
        lr->buf[--lr->len] = 0;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Small helpers. */

bool fptx_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == 0;
}

/* Trim spaces and tabs around s in place; returns the trimmed start. */
char *fptx_trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

/* Parse s (already trimmed) as a finite decimal number, strictly: the whole
 * string must be consumed; hex floats, nan and inf are refused. Returns 0, or
 * -1 when s is empty, -2 when it is not a number. */
int fptx_parse_num(const char *s, double *out)
{
    if (!*s) return -1;
    if (strpbrk(s, "xXpP")) return -2;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || errno == ERANGE) return -2;
    *out = v;
    return 0;
}

/* FP_EINPUT for a field that failed parse_num (rc -1 or -2). */
int fptx_num_error(fp_err *err, const char *path, long line, const char *col,
                     const char *val, int rc)
{
    if (rc == -1)
        return fp_err_set(err, FP_EINPUT, "%s:%ld: empty value in column '%s'", path, line, col);
    return fp_err_set(err, FP_EINPUT, "%s:%ld: column '%s': '%.60s' is not a number",
                      path, line, col, val);
}

/* A JSON number: an integer when v is integral and exactly representable,
 * else a real. */
json_t *fptx_json_num(double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) return json_integer((json_int_t)v);
    return json_real(v);
}

/* The file's stem: the basename without ".gz" and then without its last
 * extension ("123" from "dir/123.csv.gz"). Returns a malloc'd string. */
char *fptx_file_stem(const char *path)
{
    if (strcmp(path, "-") == 0) return strdup("stdin");
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = strdup(b);
    if (!s) return NULL;
    size_t n = strlen(s);
    if (n > 3 && strcmp(s + n - 3, ".gz") == 0) s[n -= 3] = 0;
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

/* Split a CSV line in place (RFC 4180 quoting: "a,b" and "" inside quotes).
 * Returns the number of fields, or -1 for a malformed quoted field or more
 * than max fields. */
int fptx_split_csv(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n >= max) return -1;
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] == '"') { *w++ = '"'; p += 2; continue; }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            char *end = p;
            if (*p && *p != ',') return -1;
            *w = 0;
            if (!*end) break;
            p = end + 1;
        } else {
            f[n++] = p;
            char *e = strchr(p, ',');
            if (!e) break;
            *e = 0;
            p = e + 1;
        }
    }
    return n;
}

