/* replay.c - recorded traces (fp samples, Bitbrains, nf-core/eager) turned
 * into fp_sample values.
 *
 * Every file is read through zlib's gzopen/gzgets, which read gzip and plain
 * files alike. fp and Bitbrains traces are streamed row by row (bounded
 * memory); an eager task's two series are loaded whole (at most tens of
 * thousands of rows) to merge them on _time.
 *
 * Findings in the real traces (../shared/data) that shaped this reader:
 *  - Bitbrains: all 320 files are in time order; 9 have duplicate timestamps
 *    (thousands of them: a row with values followed by a row of zeros at the
 *    same time), the first is kept. "CPU cores", "CPU capacity provisioned"
 *    and "Memory capacity provisioned" vary within a file and are 0 in some
 *    rows (often the first ones, e.g. while the VM is off), so meta takes the
 *    first nonzero value of each (a bounded pre-scan at open) and a row with
 *    0 cores has cpu_cores missing. No CRLF, no empty fields.
 *  - eager: CRLF line ends; three '#' annotation lines, then the header; the
 *    metadata file orders its columns differently from the series files
 *    (columns are found by name). cpu and memory report at the same _time
 *    values in every task, in order, without duplicates (the merge does not
 *    rely on it). _time has 2 to 9 fraction digits. One cpu value is
 *    -0.0001 (bwa DA221): negative CPU usage is clamped to 0. One bwa task
 *    has metadata only.
 *  - eager memory unit: docker_used_memory_mb is MiB (2^20 bytes). Evidence:
 *    markduplicates tasks with max_mem = 17179869184 (16 GiB) plateau at
 *    exactly 16384.0 "MB" and no task of the 1,330 ever exceeds
 *    max_mem / 2^20 (the container limit), while with 10^6 the cap would be
 *    17179.9 "MB", a value no task approaches.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <zlib.h>
#include "fp/record.h"
#include "fp/replay.h"
#include "textio.h"

#define NOT_IN_TRACE "not in trace"
#define CSV_MAX_FIELDS 256

static const char UNKNOWN_FMT[] =
    "not a known trace format (fp samples, Bitbrains CSV, nf-core/eager CSV, Nextflow trace, sacct --parsable2)";

static bool file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* ---------------------------------------------------------------------------
 * The replay. */

enum {
    BB_TS, BB_CORES, BB_CAP, BB_MHZ, BB_PCT, BB_MEMCAP, BB_MEM,
    BB_RD, BB_WR, BB_RX, BB_TX, BB_NCOL
};
static const char *const bb_names[BB_NCOL] = {
    "Timestamp [ms]", "CPU cores", "CPU capacity provisioned [MHZ]", "CPU usage [MHZ]",
    "CPU usage [%]", "Memory capacity provisioned [KB]", "Memory usage [KB]",
    "Disk read throughput [KB/s]", "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]", "Network transmitted throughput [KB/s]",
};

typedef struct eg_point {
    int64_t sec;
    int32_t ns;
    long line;
    double v;
} eg_point;

typedef struct eg_series {
    char *path;        /* NULL when the task has no such file */
    eg_point *p;
    size_t n, i;       /* points, next to merge */
    bool have;         /* a value has been seen (carried forward) */
    double last;
} eg_series;

struct fp_replay {
    fp_trace_format fmt;
    bool skip_bad;
    long skipped;
    char *path;
    char *src;           /* what is opened: path, or a spool of it (see spool) */
    FILE *spool;         /* a pipe's or standard input's bytes, copied once */
    char *id;
    json_t *meta, *outcome;
    fptx_lreader lr;
    /* fp */
    json_t *pending;     /* first record, read at open */
    json_t *passthrough; /* a record of a type replay does not make, for the caller */
    long pending_line;
    bool id_from_record;
    /* bitbrains */
    int nfields, col[BB_NCOL];
    bool have_prev;
    double ts0, ts_prev;
    /* eager */
    bool loaded;
    eg_series cpu, mem;
    int64_t sec0;
    int32_t ns0;
};

fp_trace_format fp_replay_format(const fp_replay *r) { return r->fmt; }
const char *fp_replay_id(const fp_replay *r) { return r->id; }
json_t *fp_replay_meta(const fp_replay *r) { return r->meta; }
json_t *fp_replay_outcome(const fp_replay *r) { return r->outcome; }

void fp_replay_free(fp_replay *r)
{
    if (!r) return;
    fptx_lr_close(&r->lr);
    json_decref(r->pending);
    json_decref(r->passthrough);
    json_decref(r->meta);
    json_decref(r->outcome);
    free(r->cpu.path);
    free(r->cpu.p);
    free(r->mem.path);
    free(r->mem.p);
    free(r->path);
    free(r->src);
    if (r->spool) fclose(r->spool);
    free(r->id);
    free(r);
}

/* ---------------------------------------------------------------------------
 * fp's own JSON-lines samples. */

/* Parse the current line of r->lr as a record. Returns the record (a new
 * reference) or NULL with FP_EINPUT "PATH:LINE: ..." (jansson's text for
 * malformed JSON). */
static json_t *fp_parse_line(fp_replay *r, fp_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(r->lr.buf, r->lr.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        fp_err_set(err, FP_EINPUT, "%s:%ld: malformed JSON: %s (column %d)",
                   r->path, r->lr.line, je.text, je.column);
        return NULL;
    }
    const char *bad = fp_record_problem(j);
    if (bad) {
        json_decref(j);
        fp_err_set(err, FP_EINPUT, "%s:%ld: %s", r->path, r->lr.line, bad);
        return NULL;
    }
    return j;
}

/* Set up an fp trace whose first non-blank line is in r->lr.buf: parse it
 * (it gives the id) and keep it for the first fp_replay_next. */
static int fp_open(fp_replay *r, fp_err *err)
{
    r->pending = fp_parse_line(r, err);
    if (!r->pending) return -1;
    r->pending_line = r->lr.line;
    const char *id = json_string_value(json_object_get(r->pending, "id"));
    r->id_from_record = id && *id;
    r->id = r->id_from_record ? strdup(id) : fptx_file_stem(r->path);
    r->meta = json_object();
    if (!r->id) return fp_err_sys(err, "%s: out of memory", r->path);
    /* The workload's metadata (command line, labels, image...) is in its
     * first fingerprint, which comes after the samples of its window: look
     * ahead for it once, so the replayed fingerprint embeds the same. */
    fptx_lreader la;
    if (fptx_lr_open_as(&la, r->src, r->path, NULL) == 0) {
        while (fptx_lr_next(&la, NULL) > 0) {
            if (!strstr(la.buf, "\"fingerprint\"")) continue;
            json_t *j = json_loadb(la.buf, la.len, 0, NULL);
            const char *jid = json_string_value(json_object_get(j, "id"));
            json_t *meta = json_object_get(j, "meta");
            bool mine = !r->id_from_record || (jid && strcmp(jid, r->id) == 0);
            if (mine && json_is_object(meta) && !strcmp(fp_record_type(j) ? fp_record_type(j) : "", "fingerprint")) {
                json_object_update(r->meta, meta);
                json_decref(j);
                break;
            }
            json_decref(j);
        }
        fptx_lr_close(&la);
    }
    /* Without the original metadata, say where the samples came from; with
     * it, keep it exactly, so the replayed fingerprint equals the live one. */
    if (!json_object_size(r->meta)) json_object_set_new(r->meta, "source", json_string("fp"));
    return 0;
}

/* Next `sample` record of the trace's workload as a sample. Other record
 * types, and samples of another id, are skipped. */
static int fp_next(fp_replay *r, fp_sample *s, fp_err *err)
{
    for (;;) {
        json_t *j;
        long line;
        if (r->pending) {
            j = r->pending;
            line = r->pending_line;
            r->pending = NULL;
        } else {
            int rc = fptx_lr_next(&r->lr, err);
            if (rc <= 0) return rc;
            if (fptx_blank(r->lr.buf)) continue;
            j = fp_parse_line(r, err);
            if (!j) return -1;
            line = r->lr.line;
        }
        const char *type = fp_record_type(j);
        const char *id = json_string_value(json_object_get(j, "id"));
        /* Types replay makes again (fingerprint, actual) are dropped; types
         * it does not handle go to the caller unchanged. */
        if (strcmp(type, "sample") && strcmp(type, "fingerprint") && strcmp(type, "actual")) {
            json_decref(r->passthrough);
            r->passthrough = j;
            return 2;
        }
        if (strcmp(type, "sample") != 0 || (r->id_from_record && id && strcmp(id, r->id) != 0)) {
            json_decref(j);
            continue;
        }
        fp_err e = {0};
        int rc = fp_sample_from_json(j, s, &e);
        json_decref(j);
        if (rc < 0)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: %s", r->path, line, e.msg);
        return 1;
    }
}

/* ---------------------------------------------------------------------------
 * Bitbrains GWA-T-12 per-VM CSV. */

/* Split line in place on ';', trimming spaces and tabs around each field.
 * Returns the number of fields (at most max; more are counted but not
 * stored). */
static int split_semicolon(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *e = strchr(p, ';');
        if (e) *e = 0;
        if (n < max) f[n] = fptx_trim(p);
        n++;
        if (!e) break;
        p = e + 1;
    }
    return n;
}

/* Map the header in line to r->col; FP_EINPUT naming a missing column. */
static int bb_header(fp_replay *r, char *line, long lineno, fp_err *err)
{
    char *f[CSV_MAX_FIELDS];
    int n = split_semicolon(line, f, CSV_MAX_FIELDS);
    if (n > CSV_MAX_FIELDS)
        return fp_err_set(err, FP_EINPUT, "%s:%ld: more than %d columns", r->path, lineno,
                          CSV_MAX_FIELDS);
    r->nfields = n;
    for (int c = 0; c < BB_NCOL; c++) {
        r->col[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(f[i], bb_names[c]) == 0) { r->col[c] = i; break; }
        if (r->col[c] < 0)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: no column '%s' in the header",
                              r->path, lineno, bb_names[c]);
    }
    return 0;
}

/* Parse a data row (in place) into v[BB_NCOL]. Returns 0, or -1 with
 * FP_EINPUT "PATH:LINE: ..." for a wrong field count or a bad number. */
static int bb_row(const fp_replay *r, const char *path, char *line, long lineno,
                  double v[BB_NCOL], fp_err *err)
{
    char *f[CSV_MAX_FIELDS];
    int n = split_semicolon(line, f, CSV_MAX_FIELDS);
    if (n != r->nfields)
        return fp_err_set(err, FP_EINPUT, "%s:%ld: expected %d fields, found %d",
                          path, lineno, r->nfields, n);
    for (int c = 0; c < BB_NCOL; c++) {
        const char *s = f[r->col[c]];
        int rc = fptx_parse_num(s, &v[c]);
        if (rc < 0) return fptx_num_error(err, path, lineno, bb_names[c], s, rc);
    }
    return 0;
}

/* Meta of a Bitbrains VM. The provisioned values vary within a file and are
 * 0 in some rows, so each is the first nonzero value in the file (a second,
 * bounded pass over it, stopped at the first malformed row: fp_replay_next
 * reports that one). */
static int bb_meta(fp_replay *r, const char *stem, fp_err *err)
{
    double cores = 0, cap = 0, memcap = 0;
    fptx_lreader lr;
    if (fptx_lr_open_as(&lr, r->src, r->path, err) < 0) return -1;
    fp_err ignored = {0};
    bool header = true;
    while (!(cores > 0 && cap > 0 && memcap > 0) && fptx_lr_next(&lr, &ignored) > 0) {
        if (fptx_blank(lr.buf)) continue;
        if (header) { header = false; continue; }
        double v[BB_NCOL];
        if (bb_row(r, r->path, lr.buf, lr.line, v, &ignored) < 0) break;
        if (!(cores > 0) && v[BB_CORES] > 0) cores = v[BB_CORES];
        if (!(cap > 0) && v[BB_CAP] > 0) cap = v[BB_CAP];
        if (!(memcap > 0) && v[BB_MEMCAP] > 0) memcap = v[BB_MEMCAP];
    }
    fptx_lr_close(&lr);
    r->meta = json_pack("{s:s,s:s,s:o,s:o,s:o}", "source", "bitbrains", "vm", stem,
                        "req_cpus", cores > 0 ? fptx_json_num(cores) : json_null(),
                        "req_mem_bytes", memcap > 0 ? fptx_json_num(memcap * 1024) : json_null(),
                        "cpu_capacity_mhz", cap > 0 ? fptx_json_num(cap) : json_null());
    return r->meta ? 0 : fp_err_set(err, FP_ESYS, "%s: out of memory", r->path);
}

/* Set up a Bitbrains trace whose header line is in r->lr.buf. */
static int bb_open(fp_replay *r, fp_err *err)
{
    if (bb_header(r, r->lr.buf, r->lr.line, err) < 0) return -1;
    char *stem = fptx_file_stem(r->path);
    if (!stem) return fp_err_sys(err, "%s: out of memory", r->path);
    size_t n = strlen(stem) + sizeof "bitbrains/";
    r->id = malloc(n);
    if (r->id) snprintf(r->id, n, "bitbrains/%s", stem);
    int rc = r->id ? bb_meta(r, stem, err) : fp_err_sys(err, "%s: out of memory", r->path);
    free(stem);
    return rc;
}

/* Next row as a sample: t since the first row; duplicate timestamps skipped
 * (first kept); a timestamp going back is FP_EINPUT. cpu_cores is usage MHz
 * over the MHz of one core when cores and capacity are known, else usage %
 * times cores, else missing. KB and KB/s are 1024 bytes. */
static int bb_next(fp_replay *r, fp_sample *s, fp_err *err)
{
    for (;;) {
        int rc = fptx_lr_next(&r->lr, err);
        if (rc <= 0) return rc;
        if (fptx_blank(r->lr.buf)) continue;
        double v[BB_NCOL];
        if (bb_row(r, r->path, r->lr.buf, r->lr.line, v, err) < 0) return -1;
        double ts = v[BB_TS];
        if (r->have_prev) {
            if (ts == r->ts_prev) continue;
            if (ts < r->ts_prev)
                return fp_err_set(err, FP_EINPUT,
                                  "%s:%ld: timestamp %.0f is before the previous row's %.0f",
                                  r->path, r->lr.line, ts, r->ts_prev);
        } else {
            r->ts0 = ts;
            r->have_prev = true;
        }
        r->ts_prev = ts;
        fp_sample_init(s, ts - r->ts0, NOT_IN_TRACE);
        s->ts = ts; /* the trace's Unix seconds */
        double cores = v[BB_CORES], cap = v[BB_CAP];
        if (cores > 0 && cap > 0)
            fp_sample_set(s, FP_M_CPU_CORES, v[BB_MHZ] / (cap / cores));
        else if (cores > 0)
            fp_sample_set(s, FP_M_CPU_CORES, v[BB_PCT] / 100.0 * cores);
        else
            fp_sample_miss(s, FP_M_CPU_CORES, "no CPU capacity in trace");
        fp_sample_set(s, FP_M_MEM_BYTES, v[BB_MEM] * 1024.0);
        fp_sample_set(s, FP_M_IO_READ_BPS, v[BB_RD] * 1024.0);
        fp_sample_set(s, FP_M_IO_WRITE_BPS, v[BB_WR] * 1024.0);
        fp_sample_set(s, FP_M_NET_RX_BPS, v[BB_RX] * 1024.0);
        fp_sample_set(s, FP_M_NET_TX_BPS, v[BB_TX] * 1024.0);
        return 1;
    }
}

/* ---------------------------------------------------------------------------
 * nf-core/eager InfluxDB annotated CSV. */

/* Parse an RFC 3339 timestamp "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 * into Unix seconds and nanoseconds (fraction digits past 9 are dropped).
 * Returns 0, or -1 when s is not such a timestamp or names no real date. */
static int parse_rfc3339(const char *s, int64_t *sec, int32_t *ns)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? !isdigit((unsigned char)s[i])
                          : (pat[i] == 'T' ? (s[i] != 'T' && s[i] != 't') : s[i] != pat[i]))
            return -1;
    }
    struct tm tm = {0};
    if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    int y = tm.tm_year, mo = tm.tm_mon, d = tm.tm_mday;
    bool leap = tm.tm_sec == 60;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    const char *p = s + sizeof pat - 1;
    int32_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9) frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (!digits) return -1;
        for (; digits < 9; digits++) frac *= 10;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
               isdigit((unsigned char)p[5])) {
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
        if (oh > 23 || om > 59) return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    time_t t = timegm(&tm);
    /* timegm normalises 31 April to 1 May: refuse dates that moved (a leap
     * second, :60, may move to the next day). */
    if (!leap && (tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d))
        return -1;
    *sec = (int64_t)t - off;
    *ns = frac;
    return 0;
}

/* Column index of name among the n header fields, or -1. */
static int col_of(char **f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], name) == 0) return i;
    return -1;
}

/* Read an annotated CSV up to its header: '#' lines and blank lines are
 * skipped. Fills f/n with the header fields (pointing into lr->buf) and the
 * column indexes of the names in want (count k); FP_EINPUT for a missing
 * header or column. */
static int csv_header(fptx_lreader *lr, char **f, int *n, const char *const *want, int *idx,
                      int k, fp_err *err)
{
    for (;;) {
        int rc = fptx_lr_next(lr, err);
        if (rc < 0) return -1;
        if (rc == 0)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: no CSV header", lr->path, lr->line);
        if (lr->buf[0] == '#' || fptx_blank(lr->buf)) continue;
        *n = fptx_split_csv(lr->buf, f, CSV_MAX_FIELDS);
        if (*n < 0)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: malformed CSV header", lr->path,
                              lr->line);
        for (int i = 0; i < k; i++) {
            idx[i] = col_of(f, *n, want[i]);
            if (idx[i] < 0)
                return fp_err_set(err, FP_EINPUT, "%s:%ld: no column '%s' in the header",
                                  lr->path, lr->line, want[i]);
        }
        return 0;
    }
}

/* Read the next data row of an annotated CSV into f (n fields, which must be
 * nfields). Returns 1, 0 at end, -1 with err. */
static int csv_row(fptx_lreader *lr, char **f, int nfields, fp_err *err)
{
    for (;;) {
        int rc = fptx_lr_next(lr, err);
        if (rc <= 0) return rc;
        if (lr->buf[0] == '#' || fptx_blank(lr->buf)) continue;
        int n = fptx_split_csv(lr->buf, f, CSV_MAX_FIELDS);
        if (n < 0)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: malformed CSV row", lr->path, lr->line);
        if (n != nfields)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: expected %d fields, found %d",
                              lr->path, lr->line, nfields, n);
        return 1;
    }
}

/* Read PREFIX_metadata.csv: requested resources and input sizes into meta,
 * output sizes into outcome. Unknown fields are ignored, the first row of a
 * field counts. */
static int eg_metadata(fp_replay *r, const char *path, fp_err *err)
{
    static const char *const want[] = {"_field", "_value"};
    static const struct { const char *field, *key; bool outcome; } map[] = {
        {"max_cpus", "req_cpus", false},
        {"max_mem", "req_mem_bytes", false},
        {"files_input_num", "input_files", false},
        {"files_input_total_size", "input_bytes", false},
        {"files_output_num", "output_files", true},
        {"files_output_total_size", "output_bytes", true},
    };
    fptx_lreader lr;
    if (fptx_lr_open(&lr, path, err) < 0) return -1;
    char *f[CSV_MAX_FIELDS];
    int n, idx[2], rc;
    rc = csv_header(&lr, f, &n, want, idx, 2, err);
    while (rc == 0 && (rc = csv_row(&lr, f, n, err)) > 0) {
        rc = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (strcmp(f[idx[0]], map[i].field) != 0) continue;
            double v;
            const char *s = fptx_trim(f[idx[1]]);
            int prc = fptx_parse_num(s, &v);
            if (prc < 0) {
                char col[64];
                snprintf(col, sizeof col, "_value' of '%s", map[i].field);
                rc = fptx_num_error(err, path, lr.line, col, s, prc);
                break;
            }
            json_t *dst = map[i].outcome ? r->outcome : r->meta;
            json_t *old = json_object_get(dst, map[i].key);
            if (!old || json_is_null(old)) json_object_set_new(dst, map[i].key, fptx_json_num(v));
        }
    }
    fptx_lr_close(&lr);
    return rc < 0 ? -1 : 0;
}

/* Order of points: by time, then by line (so qsort is stable). */
static int eg_cmp(const void *a, const void *b)
{
    const eg_point *x = a, *y = b;
    if (x->sec != y->sec) return x->sec < y->sec ? -1 : 1;
    if (x->ns != y->ns) return x->ns < y->ns ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Load one series file into s->p: each row's _time and _value (every row's
 * _field must be field); sorted by time (stably) and deduplicated (first
 * kept). FP_EINPUT with the line for a bad row. */
static int eg_load(eg_series *s, const char *field, fp_err *err)
{
    static const char *const want[] = {"_time", "_value", "_field"};
    fptx_lreader lr;
    if (fptx_lr_open(&lr, s->path, err) < 0) return -1;
    char *f[CSV_MAX_FIELDS];
    int n, idx[3], rc;
    size_t cap = 0;
    bool sorted = true;
    rc = csv_header(&lr, f, &n, want, idx, 3, err);
    while (rc == 0 && (rc = csv_row(&lr, f, n, err)) > 0) {
        rc = 0;
        const char *fl = fptx_trim(f[idx[2]]);
        if (strcmp(fl, field) != 0) {
            rc = fp_err_set(err, FP_EINPUT, "%s:%ld: _field is '%.60s', expected '%s'",
                            s->path, lr.line, fl, field);
            break;
        }
        eg_point pt = {.line = lr.line};
        const char *ts = fptx_trim(f[idx[0]]);
        if (parse_rfc3339(ts, &pt.sec, &pt.ns) < 0) {
            rc = fp_err_set(err, FP_EINPUT,
                            "%s:%ld: column '_time': '%.60s' is not an RFC 3339 timestamp",
                            s->path, lr.line, ts);
            break;
        }
        const char *vs = fptx_trim(f[idx[1]]);
        int prc = fptx_parse_num(vs, &pt.v);
        if (prc < 0) {
            rc = fptx_num_error(err, s->path, lr.line, "_value", vs, prc);
            break;
        }
        if (s->n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            eg_point *np = realloc(s->p, ncap * sizeof *np);
            if (!np) { rc = fp_err_sys(err, "%s: out of memory", s->path); break; }
            s->p = np;
            cap = ncap;
        }
        if (s->n > 0) {
            const eg_point *q = &s->p[s->n - 1];
            if (pt.sec < q->sec || (pt.sec == q->sec && pt.ns < q->ns)) sorted = false;
        }
        s->p[s->n++] = pt;
    }
    fptx_lr_close(&lr);
    if (rc < 0) return -1;
    if (!sorted) qsort(s->p, s->n, sizeof *s->p, eg_cmp);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || s->p[i].sec != s->p[w - 1].sec || s->p[i].ns != s->p[w - 1].ns)
            s->p[w++] = s->p[i];
    s->n = w;
    return 0;
}

/* Which eager file path names: 0 cpu, 1 memory, 2 metadata, or -1. Sets
 * *plen to the length of PREFIX and *gz to whether it ends in ".gz". */
static int eg_kind(const char *path, size_t *plen, bool *gz)
{
    static const char *const suf[] = {"_cpu.csv", "_memory.csv", "_metadata.csv"};
    size_t n = strlen(path);
    *gz = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    if (*gz) n -= 3;
    for (int k = 0; k < 3; k++) {
        size_t m = strlen(suf[k]);
        if (n > m && strncmp(path + n - m, suf[k], m) == 0) {
            *plen = n - m;
            return k;
        }
    }
    return -1;
}

/* The existing file PREFIX_KIND.csv[.gz] (the compressed one first when gz),
 * malloc'd, or NULL. */
static char *eg_find(const char *prefix, const char *kind, bool gz)
{
    for (int pass = 0; pass < 2; pass++) {
        bool z = pass == 0 ? gz : !gz;
        size_t n = strlen(prefix) + strlen(kind) + 10;
        char *p = malloc(n);
        if (!p) return NULL;
        snprintf(p, n, "%s_%s.csv%s", prefix, kind, z ? ".gz" : "");
        if (file_exists(p)) return p;
        free(p);
    }
    return NULL;
}

/* Set up the eager task PREFIX: find its files, id PROCESS/TASK (the
 * directory's name and PREFIX's last component), meta and outcome from the
 * metadata file. The series are loaded by the first fp_replay_next. */
static int eg_open(fp_replay *r, const char *prefix, bool gz, fp_err *err)
{
    r->fmt = FP_TRACE_EAGER;
    char *meta_path = eg_find(prefix, "metadata", gz);
    r->cpu.path = eg_find(prefix, "cpu", gz);
    r->mem.path = eg_find(prefix, "memory", gz);
    if (!meta_path && !r->cpu.path && !r->mem.path) {
        errno = ENOENT;
        return fp_err_sys(err, "%s: no %s_{cpu,memory,metadata}.csv[.gz]", r->path, prefix);
    }

    char *dcopy = strdup(prefix), *bcopy = strdup(prefix), *dabs = NULL;
    int rc = -1;
    if (!dcopy || !bcopy) {
        fp_err_sys(err, "%s: out of memory", r->path);
        goto out;
    }
    const char *task = basename(bcopy);
    char *dir = dirname(dcopy);
    const char *process = basename(dir);
    if (!strcmp(process, ".") || !strcmp(process, "..") || !strcmp(process, "/")) {
        dabs = realpath(dir, NULL);
        process = dabs ? basename(dabs) : "";
    }
    size_t n = strlen(process) + strlen(task) + 2;
    r->id = malloc(n);
    if (!r->id) {
        fp_err_sys(err, "%s: out of memory", r->path);
        goto out;
    }
    snprintf(r->id, n, "%s/%s", process, task);
    r->meta = json_pack("{s:s,s:s,s:s,s:n,s:n,s:n,s:n}", "source", "eager", "process",
                        process, "task", task, "req_cpus", "req_mem_bytes", "input_files",
                        "input_bytes");
    r->outcome = json_object();
    if (!r->meta || !r->outcome) {
        fp_err_set(err, FP_ESYS, "%s: out of memory", r->path);
        goto out;
    }
    rc = meta_path ? eg_metadata(r, meta_path, err) : 0;
out:
    free(meta_path);
    free(dcopy);
    free(bcopy);
    free(dabs);
    return rc;
}

/* Load both series and find the task's first time. */
static int eg_load_all(fp_replay *r, fp_err *err)
{
    r->loaded = true;
    if (r->cpu.path && eg_load(&r->cpu, "docker_cpu_usage_pct", err) < 0) return -1;
    if (r->mem.path && eg_load(&r->mem, "docker_used_memory_mb", err) < 0) return -1;
    const eg_point *a = r->cpu.n ? &r->cpu.p[0] : NULL, *b = r->mem.n ? &r->mem.p[0] : NULL;
    if (!a || (b && eg_cmp(b, a) < 0)) a = b;
    if (a) {
        r->sec0 = a->sec;
        r->ns0 = a->ns;
    }
    return 0;
}

/* Next merged point: the earliest time not yet emitted among both series;
 * each series' latest value at or before it is carried forward (missing
 * before the series' first report, "not in trace" without the file). */
static int eg_next(fp_replay *r, fp_sample *s, fp_err *err)
{
    if (!r->loaded && eg_load_all(r, err) < 0) return -1;
    eg_series *ser[2] = {&r->cpu, &r->mem};
    const eg_point *next = NULL;
    for (int k = 0; k < 2; k++)
        if (ser[k]->i < ser[k]->n) {
            const eg_point *p = &ser[k]->p[ser[k]->i];
            if (!next || p->sec < next->sec || (p->sec == next->sec && p->ns < next->ns))
                next = p;
        }
    if (!next) return 0;
    int64_t sec = next->sec;
    int32_t ns = next->ns;
    for (int k = 0; k < 2; k++) {
        eg_series *e = ser[k];
        if (e->i < e->n && e->p[e->i].sec == sec && e->p[e->i].ns == ns) {
            e->last = e->p[e->i].v;
            e->have = true;
            e->i++;
        }
    }
    fp_sample_init(s, (double)(sec - r->sec0) + (double)(ns - r->ns0) * 1e-9, NOT_IN_TRACE);
    s->ts = (double)sec + (double)ns * 1e-9;
    /* docker_cpu_usage_pct is percent of one core; the trace has one -0.0001. */
    if (r->cpu.have)
        fp_sample_set(s, FP_M_CPU_CORES, r->cpu.last > 0 ? r->cpu.last / 100.0 : 0.0);
    else if (r->cpu.path)
        fp_sample_miss(s, FP_M_CPU_CORES, "not reported yet");
    /* MiB: see the evidence at the top of this file. */
    if (r->mem.have)
        fp_sample_set(s, FP_M_MEM_BYTES, r->mem.last * 1048576.0);
    else if (r->mem.path)
        fp_sample_miss(s, FP_M_MEM_BYTES, "not reported yet");
    return 1;
}

/* ---------------------------------------------------------------------------
 * Open and dispatch. */

/* An fp or Bitbrains trace is read more than once (a look-ahead for the
 * metadata, a pre-scan), which a pipe, a FIFO, a process substitution
 * (/dev/fd/N) or standard input ("-") cannot be: their bytes are copied
 * once into an unlinked temporary file ($TMPDIR, else /tmp), opened again
 * through /proc/self/fd as often as needed. Returns 0 (r->src set), or -1
 * with err. */
static int spool(fp_replay *r, fp_err *err)
{
    int in = strcmp(r->path, "-") == 0 ? STDIN_FILENO : open(r->path, O_RDONLY | O_CLOEXEC);
    if (in < 0) return fp_err_sys(err, "%s: cannot open", r->path);
    r->spool = tmpfile();
    if (!r->spool) {
        fp_err_sys(err, "%s: a temporary file for its copy", r->path);
        if (in != STDIN_FILENO) close(in);
        return -1;
    }
    char buf[65536];
    ssize_t k;
    int rc = 0;
    while ((k = read(in, buf, sizeof buf)) != 0) {
        if (k < 0) {
            if (errno == EINTR) continue;
            rc = fp_err_sys(err, "%s: read", r->path);
            break;
        }
        if (fwrite(buf, 1, (size_t)k, r->spool) != (size_t)k) {
            rc = fp_err_sys(err, "%s: copying it to a temporary file", r->path);
            break;
        }
    }
    if (in != STDIN_FILENO) close(in);
    if (rc == 0 && fflush(r->spool) != 0) rc = fp_err_sys(err, "%s: copying it to a temporary file", r->path);
    if (rc < 0) return -1;
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fileno(r->spool));
    free(r->src);
    if (!(r->src = strdup(src))) return fp_err_sys(err, "%s: out of memory", r->path);
    return 0;
}

/* Needs path a spool: standard input, or anything that is not a regular
 * file (a pipe, a FIFO, a character device). */
static bool needs_spool(const char *path)
{
    struct stat st;
    if (strcmp(path, "-") == 0) return true;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* Open path: an existing file is recognised by its first non-blank line
 * ('{' fp, "Timestamp [ms]" Bitbrains) or else by an eager name
 * (PREFIX_{cpu,memory,metadata}.csv[.gz]); a path that is no file names an
 * eager task when PREFIX_metadata.csv[.gz] exists. */
fp_replay *fp_replay_open(const char *path, fp_err *err)
{
    fp_replay *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || !(r->src = strdup(path))) {
        if (r) free(r->path);
        free(r);
        fp_err_sys(err, "%s: out of memory", path);
        return NULL;
    }
    if (needs_spool(path) && spool(r, err) < 0) {
        fp_replay_free(r);
        return NULL;
    }
    size_t plen = 0;
    bool gz = false;
    int kind = eg_kind(path, &plen, &gz);
    char *prefix = NULL;
    int rc = -1;

    if (!r->spool && !file_exists(path) && kind < 0) {
        char *m = eg_find(path, "metadata", true);
        if (m) {
            free(m);
            rc = eg_open(r, path, true, err);
            goto done;
        }
    }
    if (fptx_lr_open_as(&r->lr, r->src, r->path, err) < 0) goto done;
    int lrc;
    while ((lrc = fptx_lr_next(&r->lr, err)) > 0 && fptx_blank(r->lr.buf)) {}
    if (lrc < 0) goto done;
    if (lrc > 0 && strncmp(r->lr.buf, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->lr.buf, r->lr.buf + 3, r->lr.len - 2);
        r->lr.len -= 3;
    }
    const char *first = lrc > 0 ? r->lr.buf + strspn(r->lr.buf, " \t") : "";
    if (*first == '{') {
        r->fmt = FP_TRACE_FP;
        rc = fp_open(r, err);
    } else if (strstr(first, "Timestamp [ms]")) {
        r->fmt = FP_TRACE_BITBRAINS;
        rc = bb_open(r, err);
    } else if (kind >= 0 && !r->spool) {
        fptx_lr_close(&r->lr);
        prefix = strndup(path, plen);
        rc = prefix ? eg_open(r, prefix, gz, err) : fp_err_sys(err, "%s: out of memory", path);
    } else {
        fp_err_set(err, FP_EINPUT, "%s: %s%s", path, lrc == 0 ? "empty file, " : "",
                   UNKNOWN_FMT);
    }
done:
    free(prefix);
    if (rc < 0) {
        fp_replay_free(r);
        return NULL;
    }
    if (!r->outcome) r->outcome = json_object();
    if (!r->meta) r->meta = json_object();
    return r;
}

static int next_any(fp_replay *r, fp_sample *s, fp_err *err)
{
    switch (r->fmt) {
    case FP_TRACE_FP: return fp_next(r, s, err);
    case FP_TRACE_BITBRAINS: return bb_next(r, s, err);
    case FP_TRACE_EAGER: return eg_next(r, s, err);
    }
    return fp_err_set(err, FP_EUSAGE, "%s: unknown trace format", r->path);
}

int fp_replay_next(fp_replay *r, fp_sample *s, fp_err *err)
{
    for (;;) {
        long before = r->lr.line;
        int rc = next_any(r, s, err);
        /* Skip a malformed line of a line-by-line format, but never a
         * failure that does not move on (a corrupt gzip stream). */
        if (rc < 0 && r->skip_bad && err && err->cls == FP_EINPUT && r->fmt != FP_TRACE_EAGER &&
            r->lr.line > before && !r->pending) {
            r->skipped++;
            continue;
        }
        return rc;
    }
}

json_t *fp_replay_take(fp_replay *r)
{
    json_t *j = r->passthrough;
    r->passthrough = NULL;
    return j;
}

void fp_replay_skip_bad(fp_replay *r, bool skip) { r->skip_bad = skip; }
long fp_replay_skipped(const fp_replay *r) { return r->skipped; }
