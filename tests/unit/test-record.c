/* test-record.c - envelope, writer, strict reader, sample round trip. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/record.h"
#include "tap.h"

static FILE *mem(const char *s) { return fmemopen((void *)s, strlen(s), "r"); }

/* A line of a record with a string of pad bytes: n bytes without the
 * newline. The caller frees it. */
static char *padded(size_t n, const char *type)
{
    char head[64];
    int h = snprintf(head, sizeof head, "{\"schema\":1,\"type\":\"%s\",\"p\":\"", type);
    char *s = malloc(n + 2);
    memcpy(s, head, (size_t)h);
    memset(s + h, 'a', n - (size_t)h - 2);
    memcpy(s + n - 2, "\"}\n", 4);
    return s;
}

/* Issue 14: every reader has one line limit, FP_LINE_MAX_BYTES, in both
 * modes; a line at the limit is read, a longer one is refused naming its
 * line (or skipped with skip_bad) and the next one still comes. */
/* fp_read_records: handlers by type, the rest to the NULL entry, after
 * each record, and a handler's stop. */
typedef struct { int fp, other, after; long last_line; int stop_at; } counts;
static int on_fp(void *arg, json_t *rec, long line)
{
    counts *c = arg;
    c->fp++;
    c->last_line = line;
    json_decref(rec);
    return c->stop_at && c->fp == c->stop_at ? 7 : 0;
}
static int on_other(void *arg, json_t *rec, long line)
{
    counts *c = arg;
    c->other++;
    c->last_line = line;
    json_decref(rec);
    return 0;
}
static int after_each(void *arg) { ((counts *)arg)->after++; return 0; }

static void read_loop(void)
{
    const char *text =
        "{\"schema\":1,\"type\":\"fingerprint\",\"id\":\"a\"}\n"
        "{\"schema\":1,\"type\":\"sample\",\"id\":\"a\"}\n"
        "\n"
        "{\"schema\":1,\"type\":\"fingerprint\",\"id\":\"b\"}\n"
        "{\"schema\":1,\"type\":\"score\"}\n";
    static const fp_record_handler on[] = {{"fingerprint", on_fp}, {NULL, on_other}};
    fp_read_loop L = {.on = on, .after = after_each};
    counts c = {0};
    fp_err err = {0};
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    fp_reader *rd = fp_reader_new(f, "in", false);
    is_int(fp_read_records(rd, &L, &c, &err), 0, "read to the end: 0");
    ok(c.fp == 2 && c.other == 2 && c.after == 4 && c.last_line == 5,
       "2 fingerprints, 2 others, after each of the 4, last line 5 (%d %d %d %ld)", c.fp, c.other,
       c.after, c.last_line);
    fp_reader_free(rd);
    fclose(f);
    /* a handler stops it: its value comes back, nothing more is read */
    c = (counts){.stop_at = 1};
    f = fmemopen((void *)text, strlen(text), "r");
    rd = fp_reader_new(f, "in", false);
    is_int(fp_read_records(rd, &L, &c, &err), 7, "a handler's stop (7) is returned");
    ok(c.fp == 1 && c.other == 0 && c.after == 0, "and nothing after it is read");
    fp_reader_free(rd);
    fclose(f);
    /* no handler for the rest: dropped; a malformed line: -1, named */
    static const fp_record_handler only_fp[] = {{"fingerprint", on_fp}, {NULL, NULL}};
    const char *bad = "{\"schema\":1,\"type\":\"sample\"}\n{\"schema\":1,\n";
    L = (fp_read_loop){.on = only_fp};
    c = (counts){0};
    f = fmemopen((void *)bad, strlen(bad), "r");
    rd = fp_reader_new(f, "in", false);
    ok(fp_read_records(rd, &L, &c, &err) == -1 && err.cls == FP_EINPUT && strstr(err.msg, "in:2:"),
       "a malformed line: -1, FP_EINPUT naming in:2 (%s)", err.msg);
    ok(c.fp == 0 && c.other == 0, "the sample before it dropped (no handler)");
    fp_reader_free(rd);
    fclose(f);
}

static void long_lines(void)
{
    size_t max = FP_LINE_MAX_BYTES;
    char *at = padded(max, "at"), *over = padded(max + 1, "over");
    const char *ok_line = "{\"schema\":1,\"type\":\"next\"}\n";
    for (int mode = 0; mode < 2; mode++) {
        for (int skip = 0; skip < 2; skip++) {
            char *all = NULL;
            size_t len = 0;
            FILE *w = open_memstream(&all, &len);
            fputs(at, w);
            fputs(over, w);
            fputs(ok_line, w);
            fclose(w);
            FILE *f = fmemopen(all, len, "r");
            int fd = -1;
            char tmpl[] = "/tmp/test-record-XXXXXX";
            if (mode) {
                fd = mkstemp(tmpl);
                unlink(tmpl);
                if (write(fd, all, len) != (ssize_t)len) fd = -1;
                lseek(fd, 0, SEEK_SET);
            }
            fp_reader *rd = mode ? fp_reader_new_fd(fd, "big", skip) : fp_reader_new(f, "big", skip);
            json_t *rec = NULL;
            fp_err err = {0};
            int rc = fp_reader_next(rd, &rec, &err);
            ok(rc == 1 && !strcmp(fp_record_type(rec), "at"), "%s mode: a line of exactly %zu bytes is read",
               mode ? "fd" : "FILE", max);
            json_decref(rec);
            rec = NULL;
            rc = fp_reader_next(rd, &rec, &err);
            if (!skip) {
                ok(rc == -1 && err.cls == FP_EINPUT && strstr(err.msg, "big:2: line longer than 16777216 bytes"),
                   "%s mode: one byte more is refused, naming the line: %s", mode ? "fd" : "FILE", err.msg);
            } else {
                ok(rc == 1 && !strcmp(fp_record_type(rec), "next") && fp_reader_skipped(rd) == 1 &&
                   fp_reader_line(rd) == 3, "%s mode, skip_bad: the long line is skipped, the next read",
                   mode ? "fd" : "FILE");
                json_decref(rec);
            }
            fp_reader_free(rd);
            if (fd >= 0) close(fd);
            fclose(f);
            free(all);
        }
    }
    free(at);
    free(over);
}

int main(void)
{
    fp_target tg = {.id = "job-1", .host = "h1", .cgroup = "/fp/job-1", .container = "", .pid = 7};
    json_t *r = fp_record_new("sample", &tg, 1.5, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fp_err err = {0};
    ok(fp_record_write(f, r, &err) == 0, "write");
    fclose(f);
    ok(len > 0 && buf[len - 1] == '\n' && memchr(buf, '\n', len - 1) == NULL, "one line, newline-terminated");
    ok(strncmp(buf, "{\"schema\":1,\"type\":\"sample\",\"id\":\"job-1\",\"t\":1.5", 48) == 0,
       "envelope first: schema, type, id, t (%.60s)", buf);
    json_error_t je;
    json_t *back = json_loads(buf, 0, &je);
    ok(json_is_null(json_object_get(json_object_get(back, "target"), "container")), "unknown container is null");
    is_int(json_integer_value(json_object_get(json_object_get(back, "target"), "pid")), 7, "pid");
    json_decref(back);
    free(buf);
    json_decref(r);

    /* Sample round trip: values, nulls with reasons, interfaces. */
    /* ts: integer milliseconds after t, left out when unknown */
    r = fp_record_new("sample", &tg, 2.0, 1795835832.2506);
    is_int(json_integer_value(json_object_get(r, "ts_ms")), 1795835832251LL, "ts_ms rounds to the millisecond");
    json_decref(r);
    r = fp_record_new("sample", &tg, 2.0, 0);
    ok(json_object_get(r, "ts_ms") == NULL, "unknown time: no ts_ms");
    json_decref(r);

    fp_sample s, t;
    fp_sample_init(&s, 0.25, "no PMU");
    s.ts = 1700000000.5;
    fp_sample_set(&s, FP_M_CPU_CORES, 0.5);
    fp_sample_set(&s, FP_M_MEM_BYTES, 123456789.0);
    s.n_if = 1;
    snprintf(s.ifs[0].name, sizeof s.ifs[0].name, "eth0");
    s.ifs[0].rx_bytes = 5000000000ULL;
    json_t *j = fp_sample_to_json(&s, &tg);
    ok(json_is_null(json_object_get(j, "cycles_ps")), "missing metric written as null");
    is_str(json_string_value(json_object_get(json_object_get(j, "missing"), "cycles_ps")), "no PMU", "with its reason");
    ok(json_object_get(json_object_get(j, "missing"), "cpu_cores") == NULL, "present metric has no reason");
    ok(fp_sample_from_json(j, &t, &err) == 0, "read back");
    is_near(t.t, 0.25, 0, "t");
    is_near(t.ts, 1700000000.5, 1e-6, "ts read back from ts_ms");
    is_near(t.v[FP_M_MEM_BYTES], 123456789.0, 0, "value exact");
    ok(t.why[FP_M_CYCLES_PS] != NULL, "null read back as missing");
    is_int(t.n_if, 1, "interfaces read back");
    is_int(t.ifs[0].rx_bytes, 5000000000LL, "64-bit counter");
    json_object_set_new(j, "cpu_cores", json_string("lots"));
    err.cls = FP_OK;
    ok(fp_sample_from_json(j, &t, &err) < 0 && err.cls == FP_EINPUT && strstr(err.msg, "cpu_cores"),
       "string where a number belongs: FP_EINPUT naming the field (%s)", err.msg);
    json_decref(j);

    /* The reusing writer gives the same records as fp_sample_to_json while
     * values change kind: real, integer, missing (two reasons), back. */
    fp_sample_writer *w = fp_sample_writer_new();
    int same = 0, steps = 0;
    for (int k = 0; k < 12; k++) {
        fp_sample_init(&s, 0.1 * k, k % 3 ? "no PMU" : "other reason");
        s.ts = k % 4 ? 1700000000.0 + k : 0;
        for (int m = 0; m < FP_M_COUNT; m++) {
            switch ((m + k) % 4) {
            case 0: fp_sample_set(&s, m, 0.5 * m + k); break;
            case 1: fp_sample_set(&s, m, (double)(m * 1000 + k)); break;
            case 2: break; /* missing */
            default: fp_sample_set(&s, m, k == 5 ? NAN : 1.25); break;
            }
        }
        s.n_if = k % 5 == 2 ? 1 : 0;
        snprintf(s.ifs[0].name, sizeof s.ifs[0].name, "eth0");
        s.ifs[0].rx_bytes = (unsigned long long)k;
        json_t *want = fp_sample_to_json(&s, &tg);
        const json_t *got = fp_sample_writer_json(w, &s, &tg);
        same += json_equal((json_t *)got, want);
        steps++;
        json_decref(want);
    }
    is_int(same, steps, "writer equals fp_sample_to_json at every step");
    fp_sample_writer_free(w);

    /* A NaN never reaches a record. */
    json_t *o = json_object(), *m = json_object();
    fp_record_set_num(o, m, "x", NAN, NULL);
    ok(json_is_null(json_object_get(o, "x")) && json_object_get(m, "x"), "NaN becomes null with a reason");
    json_decref(o);
    json_decref(m);

    /* Reader: blank lines skipped, errors name input and line. */
    const char *good = "{\"schema\":1,\"type\":\"sample\",\"t\":0}\n\n   \n{\"schema\":1,\"type\":\"x-custom\",\"extra\":[1,2]}\n";
    f = mem(good);
    fp_reader *rd = fp_reader_new(f, "in.jsonl", false);
    json_t *rec;
    is_int(fp_reader_next(rd, &rec, &err), 1, "first record");
    is_str(fp_record_type(rec), "sample", "its type");
    json_decref(rec);
    is_int(fp_reader_next(rd, &rec, &err), 1, "unknown type is still a record");
    is_str(fp_record_type(rec), "x-custom", "unknown type kept");
    json_decref(rec);
    is_int(fp_reader_next(rd, &rec, &err), 0, "end of input");
    is_int(fp_reader_line(rd), 4, "four lines read");
    fp_reader_free(rd);
    fclose(f);

    struct { const char *line, *want; } bad[] = {
        {"{\"schema\":1,\"type\":\"a\"\n", "malformed JSON"},
        {"[1,2]\n", "must be a JSON object"},
        {"{\"type\":\"a\"}\n", "no \"schema\""},
        {"{\"schema\":\"1\",\"type\":\"a\"}\n", "must be an integer"},
        {"{\"schema\":2,\"type\":\"a\"}\n", "unsupported schema"},
        {"{\"schema\":1}\n", "no string \"type\""},
        {"{\"schema\":1,\"type\":\"a\"} {\"schema\":1,\"type\":\"b\"}\n", "malformed JSON"},
        {"{\"schema\":1,\"type\":\"a\",\"type\":\"b\"}\n", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char in[256];
        snprintf(in, sizeof in, "{\"schema\":1,\"type\":\"ok\"}\n%s", bad[i].line);
        f = mem(in);
        rd = fp_reader_new(f, "-", false);
        fp_reader_next(rd, &rec, &err);
        json_decref(rec);
        err.cls = FP_OK;
        int rc = fp_reader_next(rd, &rec, &err);
        ok(rc == -1 && err.cls == FP_EINPUT && strstr(err.msg, "<stdin>:2: ") && strstr(err.msg, bad[i].want),
           "bad line %zu: %s", i, err.msg);
        fp_reader_free(rd);
        fclose(f);
    }
    /* skip_bad: malformed lines are counted, good ones still come. */
    f = mem("garbage\n{\"schema\":1,\"type\":\"a\"}\n{oops\n{\"schema\":1,\"type\":\"b\"}\n");
    rd = fp_reader_new(f, "x", true);
    int n = 0;
    while (fp_reader_next(rd, &rec, &err) == 1) { n++; json_decref(rec); }
    is_int(n, 2, "skip_bad: two good records");
    is_int(fp_reader_skipped(rd), 2, "skip_bad: two skipped");
    fp_reader_free(rd);
    fclose(f);
    long_lines();
    read_loop();

    /* fp_json_num: a whole number as an integer, others real, non-finite null */
    json_t *jn = fp_json_num(3);
    ok(json_is_integer(jn) && json_integer_value(jn) == 3, "fp_json_num(3) is the integer 3");
    json_decref(jn);
    jn = fp_json_num(2.5);
    ok(json_is_real(jn) && json_real_value(jn) == 2.5, "fp_json_num(2.5) is real");
    json_decref(jn);
    jn = fp_json_num(1e300);
    ok(json_is_real(jn) && json_real_value(jn) == 1e300, "fp_json_num(1e300) is real (past 2^53)");
    json_decref(jn);
    ok(json_is_null(fp_json_num(NAN)) && json_is_null(fp_json_num(INFINITY)), "fp_json_num: NaN, inf are null");

    /* fp_exit_code: fp(7)'s table */
    fp_err e = {0};
    is_int(fp_exit_code(&e), 0, "exit code of no error: 0");
    is_int(fp_exit_code(NULL), 0, "exit code of NULL: 0");
    fp_err_set(&e, FP_EUSAGE, "x");
    is_int(fp_exit_code(&e), 2, "usage error: 2");
    fp_err_set(&e, FP_ESYS, "x");
    is_int(fp_exit_code(&e), 2, "system error: 2");
    fp_err_set(&e, FP_EINPUT, "x");
    is_int(fp_exit_code(&e), 3, "bad input: 3");
    return done_testing();
}
