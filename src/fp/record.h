/* fp/record.h - the JSON-lines record envelope, reader and writer.
 *
 * Every record is one JSON object on one line:
 *   {"schema":1,"type":"sample","id":"...","t":1.5,"ts_ms":1795835832250,"host":"...",
 *    "target":{"cgroup":"/fp/x","container":null,"pid":123}, ...}
 * `schema` is FP_SCHEMA; a reader accepts records whose schema is at most
 * FP_SCHEMA. Types are named in fp-records(5); tools pass through types they
 * do not handle, unchanged.
 *
 * Ownership: records are jansson json_t values with jansson's reference
 * counting; a function returning json_t * gives the caller one reference
 * (json_decref it). An fp_reader does not own the FILE it reads; close the
 * reader with fp_reader_free and the FILE yourself.
 */
#ifndef FP_RECORD_H
#define FP_RECORD_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/metric.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FP_SCHEMA 1

/* The largest time a record may carry, in seconds: `t` (workload time) at
 * most FP_TIME_MAX_S in magnitude, `ts_ms` (Unix time) at most
 * FP_TIME_MAX_S x 1000 (about the year 2286). Readers refuse a sample past
 * it (FP_EINPUT): a far-future time is a corrupt record, not a workload. */
#define FP_TIME_MAX_S 1e10

/* Who a record is about. Empty strings and pid 0 mean unknown and are
 * written as null. */
typedef struct fp_target {
    char id[160];          /* workload id (unique per capture) */
    char host[256];
    char cgroup[4096];     /* cgroup path relative to the hierarchy root */
    char container[80];    /* full Docker container id */
    int pid;               /* the workload's first process */
} fp_target;

/* How a workload ended, for `actual` records. */
typedef struct fp_exit {
    bool known;      /* false: attached workload, exit not observed */
    int code;        /* exit status when it exited */
    int signal;      /* signal that killed it, or 0 */
} fp_exit;

/* New record of the given type with the envelope filled from tg (tg may be
 * NULL: id, host and target are then left out). ts is the Unix time the
 * record describes, in seconds (written as integer milliseconds `ts_ms`
 * after `t`; left out when 0: unknown). */
json_t *fp_record_new(const char *type, const fp_target *tg, double t, double ts);

/* Read the envelope's id, host and target of a record into tg (absent or
 * null fields stay empty). FP_EINPUT when one has the wrong JSON type or
 * does not fit. */
int fp_target_from_json(const json_t *rec, fp_target *tg, fp_err *err);

/* Write rec as one compact line. Does not flush. Returns 0 or -1 (FP_ESYS). */
int fp_record_write(FILE *f, const json_t *rec, fp_err *err);

/* What is wrong with the envelope of a parsed record (not an object, no
 * integer schema in 1..FP_SCHEMA, no string type), or NULL when it is
 * valid. Every reader of records applies this check. */
const char *fp_record_problem(const json_t *rec);

/* Type of a record (NULL if it has none). */
const char *fp_record_type(const json_t *rec);

/* A user's KEY=VALUE for a workload's metadata (the tools' --meta): set
 * meta[KEY] to VALUE as a number when all of it parses as a finite one,
 * else as a string. FP_EUSAGE naming kv when it is not KEY=VALUE, its
 * value is not UTF-8, or KEY is one the tools set themselves ("cmd",
 * "labels"). */
int fp_meta_set(json_t *meta, const char *kv, fp_err *err);

/* Set field name of obj to v, or to null with missing[name] = why when why is
 * not NULL (a non-finite v also counts as missing). Records attach their
 * `missing` object last, so it follows the values it explains. */
void fp_record_set_num(json_t *obj, json_t *missing, const char *name,
                       double v, const char *why);
/* v as a JSON number (an integer when whole), or null when not finite: a
 * new reference (NULL only when out of memory). */
json_t *fp_json_num(double v);

/* sample <-> JSON. fp_sample_to_json writes every metric (null + reason when
 * missing) and the per-interface network counters. fp_sample_from_json reads
 * a `sample` record back (unknown metric names are ignored, absent ones are
 * missing with reason "absent from record"); returns -1 (FP_EINPUT) when a
 * field has the wrong JSON type or `t` / `ts_ms` is past FP_TIME_MAX_S. */
json_t *fp_sample_to_json(const fp_sample *s, const fp_target *tg);
int fp_sample_from_json(const json_t *rec, fp_sample *s, fp_err *err);

/* Samples of one workload, one after another, as records that reuse the
 * previous sample's JSON values: numbers are updated in place, and only a
 * value whose kind changes (number, integer, null) is replaced, so a steady
 * stream costs no allocation. Ownership: opaque (fp_sample_writer_new /
 * _free); the record returned is borrowed and valid until the next call. */
typedef struct fp_sample_writer fp_sample_writer;
fp_sample_writer *fp_sample_writer_new(void);
const json_t *fp_sample_writer_json(fp_sample_writer *w, const fp_sample *s, const fp_target *tg);
void fp_sample_writer_free(fp_sample_writer *w);

/* The longest line any reader of records or traces accepts, newline not
 * counted: 16 MiB. A longer one is bad input (FP_EINPUT naming the line),
 * read no further than the limit, so memory stays bounded. */
#define FP_LINE_MAX_BYTES (16 << 20)

/* Streaming, strict reader of JSON-lines records. Lines are read in
 * linear time and at most FP_LINE_MAX_BYTES long. */
typedef struct fp_reader fp_reader;

/* name is used in messages ("-" for stdin is shown as "<stdin>"). With
 * skip_bad, malformed lines are skipped and counted instead of failing. */
fp_reader *fp_reader_new(FILE *f, const char *name, bool skip_bad);
/* The same, reading descriptor fd directly (not owned: close it yourself),
 * so a caller can wait for input with a timeout: fp_reader_wait returns 1
 * when input is waiting (a whole buffered line, new bytes, or the end of
 * input: fp_reader_next then blocks at most for the rest of a line), 0 when timeout_ms passed first, -1 with errno on error. A reader
 * made by fp_reader_new always reports 1. */
fp_reader *fp_reader_new_fd(int fd, const char *name, bool skip_bad);
int fp_reader_wait(fp_reader *r, int timeout_ms);
/* Next record: returns 1 and sets *out (a new reference), 0 at end of input,
 * or -1 with err set (FP_EINPUT: "NAME:LINE: message", a line longer than
 * FP_LINE_MAX_BYTES included; FP_ESYS for read errors). Blank lines are
 * ignored; with skip_bad a malformed or too long line is skipped. A valid record is a JSON object with an
 * integer `schema` in 1..FP_SCHEMA and a string `type`. */
int fp_reader_next(fp_reader *r, json_t **out, fp_err *err);
long fp_reader_line(const fp_reader *r);
long fp_reader_skipped(const fp_reader *r);
void fp_reader_free(fp_reader *r);

/* The read-dispatch loop every tool that reads records runs. A handler
 * gets each record of its type with the line it was read from, and owns
 * the reference (json_decref it or keep it); it returns 0 to go on and a
 * positive value to stop the reading. */
typedef int (*fp_record_fn)(void *arg, json_t *rec, long line);
typedef struct fp_record_handler {
    const char *type;          /* a record type; NULL ends the table */
    fp_record_fn fn;           /* with type NULL: every other type (a
                                  tool passes such records through); NULL
                                  there: they are dropped */
} fp_record_handler;
typedef struct fp_read_loop {
    const fp_record_handler *on;   /* by type, ended by the NULL type */
    int (*after)(void *arg);       /* NULL, or called after each record;
                                      positive stops the reading */
    int idle_ms;                   /* > 0 (a reader of fp_reader_new_fd):
                                      call idle when no record came for
                                      that long; positive stops */
    int (*idle)(void *arg);
} fp_read_loop;
/* Read rd to its end, handing each record to L's handler of its type, in
 * order. Returns 0 at the end of input; -1 with err when a line cannot be
 * read (fp_reader_next: FP_EINPUT naming NAME:LINE unless rd skips bad
 * lines, FP_ESYS); else the positive value that stopped it. */
int fp_read_records(fp_reader *rd, const fp_read_loop *L, void *arg, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
