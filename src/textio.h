/* textio.h - inside libfp: reading text traces (not installed).
 *
 * A line reader over zlib (gzip and plain files alike, lines counted for
 * messages, at most FP_LINE_MAX_BYTES long) and the small field helpers the
 * trace readers (replay.c, tasktrace.c) share. Names start with fptx_.
 */
#ifndef FP_TEXTIO_H
#define FP_TEXTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <zlib.h>
#include "fp/error.h"

typedef struct fptx_lreader {
    gzFile gz;
    const char *path; /* borrowed, for messages */
    char *buf;
    size_t cap, len;
    long line;
} fptx_lreader;

/* Open src for line reading, naming it path in messages. Returns 0, or -1
 * with FP_ESYS (err may be NULL). */
int fptx_lr_open_as(fptx_lreader *lr, const char *src, const char *path, fp_err *err);
int fptx_lr_open(fptx_lreader *lr, const char *path, fp_err *err);
void fptx_lr_close(fptx_lreader *lr);
/* The stream's error state: 0, or -1 with FP_ESYS / FP_EINPUT. */
int fptx_lr_zerror(const fptx_lreader *lr, fp_err *err);
/* Next line into lr->buf without its line end: 1, 0 at end, -1 with err. */
int fptx_lr_next(fptx_lreader *lr, fp_err *err);

bool fptx_blank(const char *s);
/* Trim spaces and tabs around s in place; returns the trimmed start. */
char *fptx_trim(char *s);
/* A strict finite decimal number: 0, -1 when empty, -2 when not a number. */
int fptx_parse_num(const char *s, double *out);
/* FP_EINPUT for a field that failed fptx_parse_num (rc -1 or -2). */
int fptx_num_error(fp_err *err, const char *path, long line, const char *col, const char *val,
                   int rc);
/* A JSON integer when v is integral and exact, else a real. */
json_t *fptx_json_num(double v);
/* "123" from "dir/123.csv.gz" (malloc'd; "stdin" for "-"). */
char *fptx_file_stem(const char *path);
/* Split a CSV line in place (RFC 4180 quoting); the number of fields, or -1
 * for a malformed quoted field or more than max fields. */
int fptx_split_csv(char *line, char **f, int max);

#endif
