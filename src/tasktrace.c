/* tasktrace.c - task-summary traces (Nextflow trace reports, Slurm sacct)
 * turned into per-task metadata and measurements (see fp/tasktrace.h).
 *
 * Findings in the real traces (../shared/data/nextflow-sizey) that shaped
 * this reader:
 *  - five files, five column sets: chipseq, mag and rnaseq have 40-odd
 *    scheduler columns after the standard ones, iwd has hostname and
 *    cpu_model first, eager has the standard set only; columns are found by
 *    name.
 *  - every value is raw (trace.raw): bytes, milliseconds, epoch
 *    milliseconds for submit/start/complete; "-" for what is not known
 *    (time in iwd, queue, module, disk); rnaseq quotes a field holding ';'.
 *  - realtime is 0 for tasks shorter than Nextflow's resolution (chipseq,
 *    mag): it is kept as 0 s, not missing.
 * Nextflow's human form (the default trace.txt) writes the same columns as
 * "4 GB", "2h 3m 4s", "12.5%" and dates as "2023-01-23 16:08:23.249" (read
 * as UTC: the report does not say its zone).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include "fp/features.h"
#include "fp/tasktrace.h"
#include "textio.h"

#define TT_MAX_FIELDS 512
#define NO_SAMPLES "task-summary trace: no samples before the task starts"


/* ---------------------------------------------------------------------------
 * Value parsers. */

/* s trimmed into buf (at most n bytes); returns buf, or NULL when too long. */
static char *trimmed(const char *s, char *buf, size_t n)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
    if (len >= n) return NULL;
    memcpy(buf, s, len);
    buf[len] = 0;
    return buf;
}

static bool is_missing(const char *s) { return !*s || strcmp(s, "-") == 0; }

/* A leading decimal number of s (no sign, no hex, no exponent letters
 * other than e/E followed by digits): its value and where it ends, or
 * NULL. */
static const char *lead_num(const char *s, double *v)
{
    const char *p = s;
    if (*p == '+') p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1]))) return NULL;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') { p++; while (isdigit((unsigned char)*p)) p++; }
    if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
                                     ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
        p += 2;
        while (isdigit((unsigned char)*p)) p++;
    }
    char tmp[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof tmp) return NULL;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    errno = 0;
    char *end;
    *v = strtod(tmp, &end);
    if (*end || errno == ERANGE || !isfinite(*v)) return NULL;
    return p;
}

int fp_parse_size_bytes(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf)) return 1;
    double v;
    const char *p = lead_num(buf, &v);
    if (!p) return -1;
    while (*p == ' ') p++;
    static const char *const units[] = {"", "K", "M", "G", "T", "P"};
    double mult = -1;
    if (!*p) mult = 1;
    else if (!strcasecmp(p, "B") || !strcasecmp(p, "bytes")) mult = 1;
    else
        for (int k = 1; k < 6 && mult < 0; k++) {
            if (toupper((unsigned char)p[0]) != units[k][0]) continue;
            const char *rest = p + 1;
            if (!*rest || !strcasecmp(rest, "B") || !strcasecmp(rest, "iB")) mult = pow(1024, k);
        }
    if (mult < 0) return -1;
    *out = round(v * mult); /* "29.8 MB" is a whole number of bytes */
    return isfinite(*out) ? 0 : -1;
}

int fp_parse_duration_s(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf)) return 1;
    double v;
    const char *p = lead_num(buf, &v);
    if (!p) return -1;
    if (!*p) { *out = v / 1000.0; return 0; } /* raw: milliseconds */
    static const struct { const char *name; double s; } units[] = {
        {"ms", 1e-3}, {"milli", 1e-3}, {"millis", 1e-3},
        {"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
        {"m", 60}, {"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
        {"h", 3600}, {"hour", 3600}, {"hours", 3600},
        {"d", 86400}, {"day", 86400}, {"days", 86400},
    };
    double total = 0;
    p = buf;
    int terms = 0;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *q = lead_num(p, &v);
        if (!q) return -1;
        while (*q == ' ') q++;
        const char *u = q;
        while (isalpha((unsigned char)*q)) q++;
        size_t ul = (size_t)(q - u);
        double mult = -1;
        for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
            if (strlen(units[k].name) == ul && !strncasecmp(u, units[k].name, ul)) mult = units[k].s;
        if (mult < 0) return -1;
        total += v * mult;
        terms++;
        p = q;
    }
    if (!terms || !isfinite(total)) return -1;
    *out = total;
    return 0;
}

int fp_parse_slurm_time_s(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf) || !strcasecmp(buf, "UNLIMITED") || !strcasecmp(buf, "Partition_Limit") ||
        !strcasecmp(buf, "INVALID") || !strcasecmp(buf, "Unknown"))
        return 1;
    const char *p = buf;
    double days = 0, v;
    const char *dash = strchr(p, '-');
    if (dash) {
        const char *q = lead_num(p, &days);
        if (q != dash || days != floor(days)) return -1;
        p = dash + 1;
    }
    /* up to three ':'-separated parts, the last may have a fraction */
    double part[3];
    int n = 0;
    for (;;) {
        if (n == 3) return -1;
        const char *q = lead_num(p, &v);
        if (!q) return -1;
        part[n++] = v;
        if (*q == ':') { p = q + 1; continue; }
        if (*q) return -1;
        break;
    }
    if (n == 1 && !dash) return -1; /* a bare number is no Slurm time */
    double sec;
    if (n == 1) sec = part[0] * 3600;                      /* D-HH */
    else if (n == 2) sec = dash ? part[0] * 3600 + part[1] * 60 : part[0] * 60 + part[1];
    else sec = part[0] * 3600 + part[1] * 60 + part[2];
    *out = days * 86400 + sec;
    return 0;
}

int fp_parse_percent(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf)) return 1;
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '%') {
        buf[--n] = 0;
        while (n && buf[n - 1] == ' ') buf[--n] = 0;
    }
    double v;
    const char *p = lead_num(buf, &v);
    if (!p || *p) return -1;
    *out = v;
    return 0;
}

/* A plain count or code: an optional sign and a decimal number. */
static int parse_count(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf)) return 1;
    const char *b = buf;
    bool neg = *b == '-';
    if (neg) b++;
    double v;
    const char *p = lead_num(b, &v);
    if (!p || *p) return -1;
    *out = neg ? -v : v;
    return 0;
}

/* A point in time: epoch milliseconds (raw) or "YYYY-MM-DD HH:MM:SS[.mmm]"
 * / "YYYY-MM-DDTHH:MM:SS" (read as UTC). Unix seconds. */
static int parse_when(const char *s, double *out)
{
    char buf[128];
    if (!trimmed(s, buf, sizeof buf)) return -1;
    if (is_missing(buf) || !strcasecmp(buf, "Unknown") || !strcasecmp(buf, "None")) return 1;
    double v;
    const char *p = lead_num(buf, &v);
    if (p && !*p) { *out = v / 1000.0; return 0; }
    struct tm tm = {0};
    int y, mo, d, h, mi;
    double sec;
    char sep;
    if (sscanf(buf, "%4d-%2d-%2d%c%2d:%2d:%lf", &y, &mo, &d, &sep, &h, &mi, &sec) != 7 ||
        (sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec < 0 || sec >= 61)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    *out = (double)timegm(&tm) + sec;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Columns. */

typedef enum { K_STR, K_SIZE, K_DUR, K_PCT, K_COUNT, K_WHEN, K_STIME, K_REQMEM, K_EXIT } kind;

/* Nextflow columns fp reads (the trace's field names). */
enum {
    NF_TASK_ID, NF_PROCESS, NF_TAG, NF_NAME, NF_STATUS, NF_EXIT, NF_ATTEMPT, NF_CPUS, NF_MEMORY,
    NF_TIME, NF_DISK, NF_QUEUE, NF_START, NF_SUBMIT, NF_DURATION, NF_REALTIME, NF_PCPU, NF_PEAK_RSS,
    NF_PEAK_VMEM, NF_RSS, NF_RCHAR, NF_WCHAR, NF_SYSCR, NF_SYSCW, NF_READ_BYTES, NF_WRITE_BYTES,
    NF_VOL_CTXT, NF_INV_CTXT, NF_INPUT_SIZE, NF_INPUT_BYTES, NF_NCOL
};
static const struct { const char *name; kind k; } nf_cols[NF_NCOL] = {
    {"task_id", K_STR}, {"process", K_STR}, {"tag", K_STR}, {"name", K_STR}, {"status", K_STR},
    {"exit", K_COUNT}, {"attempt", K_COUNT}, {"cpus", K_COUNT}, {"memory", K_SIZE},
    {"time", K_DUR}, {"disk", K_SIZE}, {"queue", K_STR}, {"start", K_WHEN}, {"submit", K_WHEN},
    {"duration", K_DUR}, {"realtime", K_DUR}, {"%cpu", K_PCT}, {"peak_rss", K_SIZE},
    {"peak_vmem", K_SIZE}, {"rss", K_SIZE}, {"rchar", K_SIZE}, {"wchar", K_SIZE},
    {"syscr", K_COUNT}, {"syscw", K_COUNT}, {"read_bytes", K_SIZE}, {"write_bytes", K_SIZE},
    {"vol_ctxt", K_COUNT}, {"inv_ctxt", K_COUNT}, {"input_size", K_SIZE}, {"input_bytes", K_SIZE},
};

/* sacct fields fp reads. */
enum {
    SL_JOBID, SL_JOBNAME, SL_PARTITION, SL_STATE, SL_EXITCODE, SL_ELAPSED, SL_ELAPSEDRAW,
    SL_MAXRSS, SL_MAXVMSIZE, SL_REQMEM, SL_REQCPUS, SL_ALLOCCPUS, SL_NCPUS, SL_TIMELIMIT,
    SL_TOTALCPU, SL_START, SL_SUBMIT, SL_MAXDISKREAD, SL_MAXDISKWRITE, SL_NCOL
};
static const struct { const char *name; kind k; } sl_cols[SL_NCOL] = {
    {"JobID", K_STR}, {"JobName", K_STR}, {"Partition", K_STR}, {"State", K_STR},
    {"ExitCode", K_STR}, {"Elapsed", K_STIME}, {"ElapsedRaw", K_COUNT}, {"MaxRSS", K_SIZE},
    {"MaxVMSize", K_SIZE}, {"ReqMem", K_REQMEM}, {"ReqCPUS", K_COUNT}, {"AllocCPUS", K_COUNT},
    {"NCPUS", K_COUNT}, {"Timelimit", K_STIME}, {"TotalCPU", K_STIME}, {"Start", K_WHEN},
    {"Submit", K_WHEN}, {"MaxDiskRead", K_SIZE}, {"MaxDiskWrite", K_SIZE},
};

struct fp_tasktrace {
    fp_tasks_format fmt;
    char *path, *workflow;
    fptx_lreader lr;
    char sep;                 /* '\t', ',' or '|' */
    int nfields;              /* header fields */
    char **hdr;               /* header names (copies) */
    int col[(int)NF_NCOL > (int)SL_NCOL ? (int)NF_NCOL : (int)SL_NCOL];
    int input_col;            /* fp_tasktrace_input_from, -1 none */
    long rows, skipped;
    bool skip_bad;
    /* sacct: a row read ahead (the next job's), waiting */
    char *pending;
    long pending_line;
};

/* Split line in place on sep (',' with RFC 4180 quoting). Returns the
 * number of fields, or -1 (malformed quoting, too many fields). */
static int split(char *line, char sep, char **f, int max)
{
    if (sep == ',') return fptx_split_csv(line, f, max);
    int n = 0;
    char *p = line;
    for (;;) {
        if (n >= max) return -1;
        f[n++] = p;
        char *e = strchr(p, sep);
        if (!e) break;
        *e = 0;
        p = e + 1;
    }
    return n;
}

/* The header's separator and format, or -1 when line is no task-trace
 * header. */
static int sniff(const char *line, char *sep, fp_tasks_format *fmt)
{
    char *copy = strdup(line);
    if (!copy) return -1;
    char *f[TT_MAX_FIELDS];
    int rc = -1;
    const char seps[] = {'|', '\t', ','};
    for (int k = 0; k < 3 && rc < 0; k++) {
        strcpy(copy, line);
        if (!strchr(copy, seps[k])) continue;
        int n = split(copy, seps[k], f, TT_MAX_FIELDS);
        bool jobid = false, process = false, other = false;
        for (int i = 0; i < n; i++) {
            const char *c = fptx_trim(f[i]);
            if (!strcmp(c, "JobID")) jobid = true;
            if (!strcmp(c, "process") || !strcmp(c, "name")) process = true;
            if (!strcmp(c, "task_id") || !strcmp(c, "hash") || !strcmp(c, "status") ||
                !strcmp(c, "realtime") || !strcmp(c, "peak_rss") || !strcmp(c, "exit"))
                other = true;
        }
        if (seps[k] == '|' && jobid) { *sep = '|'; *fmt = FP_TASKS_SLURM; rc = 0; }
        else if (seps[k] != '|' && process && other) { *sep = seps[k]; *fmt = FP_TASKS_NEXTFLOW; rc = 0; }
    }
    free(copy);
    return rc;
}

int fp_tasktrace_probe(const char *path, fp_tasks_format *fmt, fp_err *err)
{
    struct stat st;
    if (!strcmp(path, "-") || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    fptx_lreader lr;
    if (fptx_lr_open(&lr, path, err) < 0) return -1;
    int rc, found = 0;
    while ((rc = fptx_lr_next(&lr, NULL)) > 0 && fptx_blank(lr.buf)) {}
    char sep;
    fp_tasks_format fm;
    if (rc > 0 && sniff(lr.buf, &sep, &fm) == 0) {
        found = 1;
        if (fmt) *fmt = fm;
    }
    fptx_lr_close(&lr);
    return found;
}

void fp_tasktrace_free(fp_tasktrace *t)
{
    if (!t) return;
    fptx_lr_close(&t->lr);
    for (int i = 0; i < t->nfields; i++) free(t->hdr[i]);
    free(t->hdr);
    free(t->path);
    free(t->workflow);
    free(t->pending);
    free(t);
}

fp_tasks_format fp_tasktrace_format(const fp_tasktrace *t) { return t->fmt; }

static int header_index(const fp_tasktrace *t, const char *name)
{
    for (int i = 0; i < t->nfields; i++)
        if (!strcmp(t->hdr[i], name)) return i;
    return -1;
}

fp_tasktrace *fp_tasktrace_open(const char *path, const char *workflow, fp_err *err)
{
    fp_tasktrace *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        fp_err_sys(err, "%s: out of memory", path);
        return NULL;
    }
    t->input_col = -1;
    if (workflow) {
        t->workflow = strdup(workflow);
    } else {
        char *stem = fptx_file_stem(path);
        if (stem) {
            const char *w = stem;
            if (!strncmp(w, "trace_", 6) || !strncmp(w, "trace-", 6)) w += 6;
            t->workflow = strdup(*w ? w : stem);
            free(stem);
        }
    }
    if (!t->workflow) {
        fp_err_sys(err, "%s: out of memory", path);
        goto fail;
    }
    if (fptx_lr_open(&t->lr, path, err) < 0) goto fail;
    int rc;
    while ((rc = fptx_lr_next(&t->lr, err)) > 0 && fptx_blank(t->lr.buf)) {}
    if (rc < 0) goto fail;
    if (rc == 0) {
        fp_err_set(err, FP_EINPUT, "%s: empty file, not a task trace", path);
        goto fail;
    }
    char *line = t->lr.buf;
    if (!strncmp(line, "\xEF\xBB\xBF", 3)) line += 3;
    if (sniff(line, &t->sep, &t->fmt) < 0) {
        fp_err_set(err, FP_EINPUT,
                   "%s:%ld: not a task trace (a Nextflow trace's header names process or name and "
                   "task_id, status, exit, realtime or peak_rss; sacct's names JobID)",
                   path, t->lr.line);
        goto fail;
    }
    char *f[TT_MAX_FIELDS];
    int n = split(line, t->sep, f, TT_MAX_FIELDS);
    if (n < 0) {
        fp_err_set(err, FP_EINPUT, "%s:%ld: malformed header", path, t->lr.line);
        goto fail;
    }
    /* sacct --parsable ends every line with '|' */
    if (t->sep == '|' && n > 1 && !*fptx_trim(f[n - 1])) n--;
    t->hdr = calloc((size_t)n, sizeof *t->hdr);
    if (!t->hdr) {
        fp_err_sys(err, "%s: out of memory", path);
        goto fail;
    }
    t->nfields = n;
    for (int i = 0; i < n; i++)
        if (!(t->hdr[i] = strdup(fptx_trim(f[i])))) {
            fp_err_sys(err, "%s: out of memory", path);
            goto fail;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (*t->hdr[i] && !strcmp(t->hdr[i], t->hdr[j])) {
                fp_err_set(err, FP_EINPUT, "%s:%ld: column '%s' twice in the header", path,
                           t->lr.line, t->hdr[i]);
                goto fail;
            }
    int ncol = t->fmt == FP_TASKS_NEXTFLOW ? NF_NCOL : SL_NCOL;
    for (int c = 0; c < ncol; c++)
        t->col[c] = header_index(t, t->fmt == FP_TASKS_NEXTFLOW ? nf_cols[c].name : sl_cols[c].name);
    return t;
fail:
    fp_tasktrace_free(t);
    return NULL;
}

int fp_tasktrace_input_from(fp_tasktrace *t, const char *col, fp_err *err)
{
    int i = header_index(t, col);
    if (i < 0) return fp_err_set(err, FP_EUSAGE, "%s: no column '%s' in the trace", t->path, col);
    t->input_col = i;
    return 0;
}

void fp_task_clear(fp_task *task)
{
    json_decref(task->meta);
    json_decref(task->measured);
    json_decref(task->missing);
    json_decref(task->outcome);
    memset(task, 0, sizeof *task);
}

/* ---------------------------------------------------------------------------
 * Rows. */

/* Parse field s of column name as kind k: 0 with *v, 1 missing, or -1 with
 * FP_EINPUT naming the line, the column and the value. */
static int field(const fp_tasktrace *t, long line, const char *name, kind k, const char *s,
                 double *v, fp_err *err)
{
    int rc;
    const char *what;
    switch (k) {
    case K_SIZE: rc = fp_parse_size_bytes(s, v); what = "a size (bytes, or a number and B, KB, MB, GB, TB)"; break;
    case K_REQMEM: {
        /* old Slurm: 4000Mc (per CPU), 4000Mn (per node) */
        char buf[128];
        if (!trimmed(s, buf, sizeof buf)) { rc = -1; what = "a memory request"; break; }
        size_t n = strlen(buf);
        if (n > 1 && (buf[n - 1] == 'c' || buf[n - 1] == 'n') && isalpha((unsigned char)buf[n - 2]))
            buf[n - 1] = 0;
        rc = fp_parse_size_bytes(buf, v);
        what = "a memory request (e.g. 4G, 4000M, 4000Mc)";
        break;
    }
    case K_DUR:
        rc = fp_parse_duration_s(s, v);
        what = "a duration (milliseconds, or e.g. 2h 3m 4s)";
        /* a negative number of milliseconds (the eager trace has one: a
         * clock that went back) is no duration, but no malformed row */
        if (rc < 0 && parse_count(s, v) == 0 && *v < 0) rc = 1;
        break;
    case K_STIME: rc = fp_parse_slurm_time_s(s, v); what = "a Slurm time ([DD-][HH:]MM:SS)"; break;
    case K_PCT: rc = fp_parse_percent(s, v); what = "a percentage"; break;
    case K_WHEN: rc = parse_when(s, v); what = "a time (epoch milliseconds or YYYY-MM-DD HH:MM:SS)"; break;
    default: rc = parse_count(s, v); what = "a number"; break;
    }
    if (rc < 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", s);
        fp_err_set(err, FP_EINPUT, "%s:%ld: column '%s': '%s' is not %s", t->path, line, name,
                   fptx_trim(buf), what);
    }
    return rc;
}

/* A field's string, trimmed, or NULL when missing or the column absent. */
static const char *str_at(char **f, int col)
{
    if (col < 0) return NULL;
    const char *s = fptx_trim(f[col]);
    return is_missing(s) ? NULL : s;
}

/* meta[key] = the column's value (or null when absent or missing). Returns
 * 0, 1 when missing, -1 on a bad value. */
static int put_num(const fp_tasktrace *t, long line, char **f, int col, const char *colname,
                   kind k, json_t *obj, const char *key, double scale, double *out, fp_err *err)
{
    double v = NAN;
    int rc = col < 0 ? 1 : field(t, line, colname, k, f[col], &v, err);
    if (rc < 0) return -1;
    if (rc == 0) v *= scale;
    if (obj) json_object_set_new(obj, key, rc == 0 ? fptx_json_num(v) : json_null());
    if (out) *out = rc == 0 ? v : NAN;
    return rc;
}

/* Set measured[key] = v, or null with missing[key] = why when v is NaN. */
static void measure(fp_task *task, const char *key, double v, const char *why)
{
    fp_record_set_num(task->measured, task->missing, key, v, isfinite(v) ? NULL : why);
}

static int task_init(fp_task *task, const fp_tasktrace *t, fp_err *err)
{
    memset(task, 0, sizeof *task);
    task->meta = json_object();
    task->measured = json_object();
    task->missing = json_object();
    task->outcome = json_object();
    if (!task->meta || !task->measured || !task->missing || !task->outcome) {
        fp_task_clear(task);
        return fp_err_sys(err, "%s: out of memory", t->path);
    }
    return 0;
}

/* The last ':'-separated part of a Nextflow process name
 * ("NFCORE_CHIPSEQ:CHIPSEQ:FASTQC" -> "FASTQC"): what withName: matches
 * most simply. */
static const char *simple_name(const char *process)
{
    const char *c = strrchr(process, ':');
    return c && c[1] ? c + 1 : process;
}

static int nf_row(fp_tasktrace *t, char **f, long line, fp_task *task, fp_err *err)
{
    const int *c = t->col;
    if (task_init(task, t, err) < 0) return -1;
    json_t *m = task->meta;
    const char *process = str_at(f, c[NF_PROCESS]), *name = str_at(f, c[NF_NAME]);
    const char *tag = str_at(f, c[NF_TAG]), *tid = str_at(f, c[NF_TASK_ID]);
    /* a name "PROC (TAG)" gives the process when there is no process column */
    char pbuf[512], tbuf[512];
    if (!process && name) {
        snprintf(pbuf, sizeof pbuf, "%s", name);
        char *sp = strstr(pbuf, " (");
        if (sp) *sp = 0;
        process = pbuf;
    }
    /* and the tag, the part in parentheses */
    if (!tag && name) {
        const char *o = strstr(name, " (");
        size_t n = strlen(name);
        if (o && n > 0 && name[n - 1] == ')' && (size_t)(name + n - 1 - (o + 2)) < sizeof tbuf) {
            snprintf(tbuf, sizeof tbuf, "%.*s", (int)(name + n - 1 - (o + 2)), o + 2);
            tag = tbuf;
        }
    }
    if (tid) snprintf(task->id, sizeof task->id, "%.80s/%.70s", t->workflow, tid);
    else snprintf(task->id, sizeof task->id, "%.80s/row-%ld", t->workflow, t->rows);
    task->line = line;
    json_object_set_new(m, "source", json_string("nextflow"));
    json_object_set_new(m, "workflow", json_string(t->workflow));
    json_object_set_new(m, "process", process ? json_string(process) : json_null());
    json_object_set_new(m, "process_name", process ? json_string(simple_name(process)) : json_null());
    json_object_set_new(m, "tag", tag ? json_string(tag) : json_null());
    json_object_set_new(m, "name", name ? json_string(name) : json_null());
    const char *queue = str_at(f, c[NF_QUEUE]);
    json_object_set_new(m, "queue", queue ? json_string(queue) : json_null());
    double v;
#define NUM(COL, KEY, SCALE, OUT) \
    if (put_num(t, line, f, c[COL], nf_cols[COL].name, nf_cols[COL].k, m, KEY, SCALE, OUT, err) < 0) goto bad
    NUM(NF_ATTEMPT, "attempt", 1, NULL);
    NUM(NF_CPUS, "req_cpus", 1, NULL);
    NUM(NF_MEMORY, "req_mem_bytes", 1, NULL);
    NUM(NF_TIME, "req_time_s", 1, NULL);
    NUM(NF_DISK, "req_disk_bytes", 1, NULL);
    /* an input size the trace knows before the task starts */
    int in_col = c[NF_INPUT_BYTES] >= 0 ? NF_INPUT_BYTES : NF_INPUT_SIZE;
    NUM(in_col, "input_bytes", 1, NULL);
    if (t->input_col >= 0) {
        if (put_num(t, line, f, t->input_col, t->hdr[t->input_col], K_SIZE, m, "input_bytes", 1, NULL, err) < 0)
            goto bad;
        json_object_set_new(m, "input_from", json_string(t->hdr[t->input_col]));
    }
#undef NUM
    double start = NAN;
    if (put_num(t, line, f, c[NF_START], "start", K_WHEN, NULL, NULL, 1, &start, err) < 0) goto bad;
    task->start_ts = isfinite(start) ? start : 0;

    /* measured */
    const char *none = "not in trace";
#define GET(COL, OUT) \
    if (put_num(t, line, f, c[COL], nf_cols[COL].name, nf_cols[COL].k, NULL, NULL, 1, OUT, err) < 0) goto bad
    double realtime, duration, pcpu, peak, vmem, rb, wb, ex;
    GET(NF_REALTIME, &realtime);
    GET(NF_DURATION, &duration);
    GET(NF_PCPU, &pcpu);
    GET(NF_PEAK_RSS, &peak);
    GET(NF_PEAK_VMEM, &vmem);
    GET(NF_READ_BYTES, &rb);
    GET(NF_WRITE_BYTES, &wb);
    GET(NF_EXIT, &ex);
    double dur = isfinite(realtime) ? realtime : duration;
    measure(task, "duration_s", dur, c[NF_REALTIME] < 0 && c[NF_DURATION] < 0 ? none : "not reported for this task");
    /* 2147483647: Nextflow's "no exit status" */
    if (isfinite(ex) && ex != 2147483647.0) json_object_set_new(task->measured, "exit_code", json_integer((json_int_t)ex));
    else measure(task, "exit_code", NAN, c[NF_EXIT] < 0 ? none : "no exit status (task did not finish)");
    const char *status = str_at(f, c[NF_STATUS]);
    json_object_set_new(task->measured, "status", status ? json_string(status) : json_null());
    if (!status) json_object_set_new(task->missing, "status", json_string(c[NF_STATUS] < 0 ? none : "not reported for this task"));
    measure(task, "mem_bytes_peak", peak, c[NF_PEAK_RSS] < 0 ? none : "not reported for this task");
    double cores = isfinite(pcpu) ? pcpu / 100.0 : NAN;
    measure(task, "cpu_cores_mean", cores, c[NF_PCPU] < 0 ? none : "not reported for this task");
    measure(task, "cpu_s", isfinite(cores) && isfinite(dur) ? cores * dur : NAN,
            "needs %cpu and realtime (or duration)");
    measure(task, "io_read_bytes", rb, c[NF_READ_BYTES] < 0 ? none : "not reported for this task");
    measure(task, "io_write_bytes", wb, c[NF_WRITE_BYTES] < 0 ? none : "not reported for this task");
    /* known only after the run, never in meta */
    static const struct { int col; const char *key; } after[] = {
        {NF_RCHAR, "rchar_bytes"}, {NF_WCHAR, "wchar_bytes"}, {NF_PEAK_VMEM, "mem_vmem_bytes_peak"},
        {NF_RSS, "mem_rss_bytes"}, {NF_SYSCR, "syscr"}, {NF_SYSCW, "syscw"},
        {NF_VOL_CTXT, "ctxsw_vol"}, {NF_INV_CTXT, "ctxsw_invol"},
    };
    for (size_t k = 0; k < sizeof after / sizeof after[0]; k++) {
        int col = after[k].col;
        if (c[col] < 0) continue;
        if (put_num(t, line, f, c[col], nf_cols[col].name, nf_cols[col].k, task->outcome, after[k].key, 1, &v, err) < 0)
            goto bad;
    }
#undef GET
    return 1;
bad:
    fp_task_clear(task);
    return -1;
}

/* Read the next data row into f (n fields). Returns 1, 0 at end, -1. */
static int next_row(fp_tasktrace *t, char **f, long *line, fp_err *err)
{
    for (;;) {
        char *buf;
        if (t->pending) {
            /* move the read-ahead row into the reader's buffer */
            size_t n = strlen(t->pending);
            if (t->lr.cap < n + 1) {
                char *nb = realloc(t->lr.buf, n + 1);
                if (!nb) return fp_err_sys(err, "%s: out of memory", t->path);
                t->lr.buf = nb;
                t->lr.cap = n + 1;
            }
            memcpy(t->lr.buf, t->pending, n + 1);
            t->lr.len = n;
            *line = t->pending_line;
            free(t->pending);
            t->pending = NULL;
        } else {
            int rc = fptx_lr_next(&t->lr, err);
            if (rc <= 0) return rc;
            *line = t->lr.line;
        }
        buf = t->lr.buf;
        if (fptx_blank(buf)) continue;
        int n = split(buf, t->sep, f, TT_MAX_FIELDS);
        if (n < 0) return fp_err_set(err, FP_EINPUT, "%s:%ld: malformed row (quoting, or more than %d fields)",
                                     t->path, *line, TT_MAX_FIELDS);
        if (t->sep == '|' && n == t->nfields + 1 && !*fptx_trim(f[n - 1])) n--;
        if (n != t->nfields)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: expected %d fields, found %d", t->path, *line,
                              t->nfields, n);
        return 1;
    }
}

/* The job part of a sacct JobID: "123" of "123.batch", "123_4" of
 * "123_4.0". */
static size_t job_part(const char *id)
{
    const char *dot = strchr(id, '.');
    return dot ? (size_t)(dot - id) : strlen(id);
}

static int sl_task(fp_tasktrace *t, fp_task *task, fp_err *err)
{
    char *f[TT_MAX_FIELDS];
    long line;
    int rc = next_row(t, f, &line, err);
    if (rc <= 0) return rc;
    const int *c = t->col;
    if (c[SL_JOBID] < 0) return fp_err_set(err, FP_EINPUT, "%s: no JobID column", t->path);
    if (task_init(task, t, err) < 0) return -1;
    json_t *m = task->meta;
    const char *jobid = fptx_trim(f[c[SL_JOBID]]);
    char job[160];
    snprintf(job, sizeof job, "%.*s", (int)job_part(jobid), jobid);
    snprintf(task->id, sizeof task->id, "%.80s/%.70s", t->workflow, jobid);
    task->line = line;
    const char *name = str_at(f, c[SL_JOBNAME]), *part = str_at(f, c[SL_PARTITION]);
    json_object_set_new(m, "source", json_string("slurm"));
    json_object_set_new(m, "workflow", json_string(t->workflow));
    json_object_set_new(m, "process", name ? json_string(name) : json_null());
    json_object_set_new(m, "name", name ? json_string(name) : json_null());
    json_object_set_new(m, "queue", part ? json_string(part) : json_null());
    json_object_set_new(m, "attempt", json_integer(1));
    double cpus = NAN, reqmem = NAN, v;
#define NUM(COL, OBJ, KEY, OUT) \
    if (put_num(t, line, f, c[COL], sl_cols[COL].name, sl_cols[COL].k, OBJ, KEY, 1, OUT, err) < 0) goto bad
    NUM(SL_REQCPUS, NULL, NULL, &cpus);
    if (!isfinite(cpus)) NUM(SL_ALLOCCPUS, NULL, NULL, &cpus);
    if (!isfinite(cpus)) NUM(SL_NCPUS, NULL, NULL, &cpus);
    json_object_set_new(m, "req_cpus", isfinite(cpus) ? fptx_json_num(cpus) : json_null());
    NUM(SL_REQMEM, NULL, NULL, &reqmem);
    if (isfinite(reqmem) && c[SL_REQMEM] >= 0) {
        const char *s = fptx_trim(f[c[SL_REQMEM]]);
        size_t n = strlen(s);
        if (n > 1 && s[n - 1] == 'c' && isalpha((unsigned char)s[n - 2]) && isfinite(cpus)) reqmem *= cpus;
    }
    json_object_set_new(m, "req_mem_bytes", isfinite(reqmem) ? fptx_json_num(reqmem) : json_null());
    NUM(SL_TIMELIMIT, m, "req_time_s", NULL);
    json_object_set_new(m, "input_bytes", json_null());
    if (t->input_col >= 0) {
        if (put_num(t, line, f, t->input_col, t->hdr[t->input_col], K_SIZE, m, "input_bytes", 1, NULL, err) < 0)
            goto bad;
        json_object_set_new(m, "input_from", json_string(t->hdr[t->input_col]));
    }
    double start = NAN, elapsed = NAN, total = NAN, maxrss = NAN, maxvm = NAN, rd = NAN, wr = NAN;
    NUM(SL_START, NULL, NULL, &start);
    task->start_ts = isfinite(start) ? start : 0;
    NUM(SL_ELAPSED, NULL, NULL, &elapsed);
    if (!isfinite(elapsed)) NUM(SL_ELAPSEDRAW, NULL, NULL, &elapsed);
    NUM(SL_TOTALCPU, NULL, NULL, &total);
    NUM(SL_MAXRSS, NULL, NULL, &maxrss);
    NUM(SL_MAXVMSIZE, NULL, NULL, &maxvm);
    NUM(SL_MAXDISKREAD, NULL, NULL, &rd);
    NUM(SL_MAXDISKWRITE, NULL, NULL, &wr);
    const char *state = str_at(f, c[SL_STATE]), *exitcode = str_at(f, c[SL_EXITCODE]);
    char *statecopy = state ? strdup(state) : NULL;
    char *exitcopy = exitcode ? strdup(exitcode) : NULL;
    long steps = 0;
    /* fold the job's steps in */
    for (;;) {
        long sline;
        int src = next_row(t, f, &sline, err);
        if (src < 0) { free(statecopy); free(exitcopy); goto bad; }
        if (src == 0) break;
        const char *sid = fptx_trim(f[c[SL_JOBID]]);
        if (!strchr(sid, '.') || job_part(sid) != strlen(job) || strncmp(sid, job, strlen(job))) {
            /* the next job: keep its row for the next call (re-read from
             * the file's line: the buffer was split in place) */
            t->pending = malloc(t->lr.len + 1);
            if (!t->pending) { free(statecopy); free(exitcopy); fp_err_sys(err, "%s: out of memory", t->path); goto bad; }
            /* rebuild the line from its fields */
            size_t w = 0;
            for (int i = 0; i < t->nfields; i++) {
                size_t l = strlen(f[i]);
                if (w + l + 2 > t->lr.len + 1) {
                    char *np = realloc(t->pending, w + l + 2);
                    if (!np) { free(statecopy); free(exitcopy); fp_err_sys(err, "%s: out of memory", t->path); goto bad; }
                    t->pending = np;
                }
                memcpy(t->pending + w, f[i], l);
                w += l;
                if (i + 1 < t->nfields) t->pending[w++] = '|';
            }
            t->pending[w] = 0;
            t->pending_line = sline;
            break;
        }
        steps++;
        double s_rss = NAN, s_vm = NAN, s_rd = NAN, s_wr = NAN;
        if (put_num(t, sline, f, c[SL_MAXRSS], "MaxRSS", K_SIZE, NULL, NULL, 1, &s_rss, err) < 0 ||
            put_num(t, sline, f, c[SL_MAXVMSIZE], "MaxVMSize", K_SIZE, NULL, NULL, 1, &s_vm, err) < 0 ||
            put_num(t, sline, f, c[SL_MAXDISKREAD], "MaxDiskRead", K_SIZE, NULL, NULL, 1, &s_rd, err) < 0 ||
            put_num(t, sline, f, c[SL_MAXDISKWRITE], "MaxDiskWrite", K_SIZE, NULL, NULL, 1, &s_wr, err) < 0) {
            free(statecopy);
            free(exitcopy);
            goto bad;
        }
        if (isfinite(s_rss) && !(s_rss <= maxrss)) maxrss = s_rss;
        if (isfinite(s_vm) && !(s_vm <= maxvm)) maxvm = s_vm;
        if (isfinite(s_rd) && !(s_rd <= rd)) rd = s_rd;
        if (isfinite(s_wr) && !(s_wr <= wr)) wr = s_wr;
    }
#undef NUM
    const char *none = "not in trace";
    measure(task, "duration_s", elapsed, c[SL_ELAPSED] < 0 && c[SL_ELAPSEDRAW] < 0 ? none : "not reported for this job");
    int code = -1, sig = 0;
    if (exitcopy && sscanf(exitcopy, "%d:%d", &code, &sig) >= 1 && code >= 0) {
        if (sig > 0) {
            measure(task, "exit_code", NAN, "killed by a signal");
            json_object_set_new(task->measured, "exit_signal", json_integer(sig));
        } else {
            json_object_set_new(task->measured, "exit_code", json_integer(code));
        }
    } else if (exitcopy) {
        free(statecopy);
        char buf[64];
        snprintf(buf, sizeof buf, "%s", exitcopy);
        free(exitcopy);
        fp_err_set(err, FP_EINPUT, "%s:%ld: column 'ExitCode': '%s' is not CODE:SIGNAL", t->path, line, buf);
        goto bad;
    } else {
        measure(task, "exit_code", NAN, c[SL_EXITCODE] < 0 ? none : "not reported for this job");
    }
    json_object_set_new(task->measured, "status", statecopy ? json_string(statecopy) : json_null());
    if (!statecopy) json_object_set_new(task->missing, "status", json_string(none));
    free(statecopy);
    free(exitcopy);
    measure(task, "mem_bytes_peak", maxrss, c[SL_MAXRSS] < 0 ? none : "no MaxRSS on the job or its steps");
    double cores = isfinite(total) && isfinite(elapsed) && elapsed > 0 ? total / elapsed : NAN;
    measure(task, "cpu_cores_mean", cores, "needs TotalCPU and Elapsed");
    measure(task, "cpu_s", total, c[SL_TOTALCPU] < 0 ? none : "not reported for this job");
    measure(task, "io_read_bytes", rd, c[SL_MAXDISKREAD] < 0 ? none : "not reported for this job");
    measure(task, "io_write_bytes", wr, c[SL_MAXDISKWRITE] < 0 ? none : "not reported for this job");
    if (isfinite(maxvm)) json_object_set_new(task->outcome, "mem_vmem_bytes_peak", fptx_json_num(maxvm));
    json_object_set_new(task->outcome, "steps", json_integer(steps));
    (void)v;
    return 1;
bad:
    fp_task_clear(task);
    return -1;
}

static int next_task(fp_tasktrace *t, fp_task *task, fp_err *err)
{
    memset(task, 0, sizeof *task);
    if (t->fmt == FP_TASKS_SLURM) {
        int rc = sl_task(t, task, err);
        if (rc > 0) t->rows++;
        return rc;
    }
    char *f[TT_MAX_FIELDS];
    long line;
    int rc = next_row(t, f, &line, err);
    if (rc <= 0) return rc;
    t->rows++;
    return nf_row(t, f, line, task, err);
}

int fp_tasktrace_next(fp_tasktrace *t, fp_task *task, fp_err *err)
{
    for (;;) {
        long before = t->lr.line;
        bool had_pending = t->pending != NULL;
        int rc = next_task(t, task, err);
        /* skip a malformed row, never a failure that does not move on (a
         * corrupt gzip stream) */
        if (rc < 0 && t->skip_bad && err && err->cls == FP_EINPUT &&
            (t->lr.line > before || (had_pending && !t->pending))) {
            t->skipped++;
            continue;
        }
        return rc;
    }
}

void fp_tasktrace_skip_bad(fp_tasktrace *t, bool skip) { t->skip_bad = skip; }
long fp_tasktrace_skipped(const fp_tasktrace *t) { return t->skipped; }

/* ---------------------------------------------------------------------------
 * Records. */

/* A window holding one sample at t = 0 in which every metric is missing
 * with why (ts: the record's time). */
static fp_window *empty_window(double ts, const char *why)
{
    fp_window *w = fp_window_new();
    if (!w) return NULL;
    fp_sample s;
    fp_sample_init(&s, 0, why);
    s.ts = ts;
    fp_window_add(w, &s);
    return w;
}

json_t *fp_task_fingerprint(const fp_task *task, const fp_target *tg)
{
    fp_window *w = empty_window(task->start_ts, NO_SAMPLES);
    if (!w) return NULL;
    json_t *r = fp_fingerprint(w, tg, task->meta, 0);
    fp_window_free(w);
    if (r) json_object_set_new(r, "samples", json_integer(0));
    return r;
}

json_t *fp_task_actual(const fp_task *task, const fp_target *tg)
{
    double dur = json_number_value(json_object_get(task->measured, "duration_s"));
    bool has_dur = json_is_number(json_object_get(task->measured, "duration_s"));
    fp_window *w = empty_window(task->start_ts > 0 && has_dur ? task->start_ts + dur : task->start_ts,
                                 "task-summary trace: not in the summary");
    if (!w) return NULL;
    fp_exit ex = {0};
    json_t *code = json_object_get(task->measured, "exit_code"), *sig = json_object_get(task->measured, "exit_signal");
    if (json_is_integer(code)) { ex.known = true; ex.code = (int)json_integer_value(code); }
    if (json_is_integer(sig)) { ex.known = true; ex.signal = (int)json_integer_value(sig); }
    json_t *r = fp_actual(w, tg, &ex, task->meta, json_object_size(task->outcome) ? task->outcome : NULL,
                          has_dur ? dur : 0);
    fp_window_free(w);
    if (!r) return NULL;
    json_object_set_new(r, "samples", json_integer(0));
    json_t *miss = json_object_get(r, "missing");
    /* The summary has a peak and a mean, not the distribution. */
    static const char *const dist[] = {"cpu_cores_peak", "cpu_cores_p50", "cpu_cores_p95",
                                       "mem_bytes_p50", "mem_bytes_p95", "mem_bytes_mean"};
    for (size_t k = 0; k < sizeof dist / sizeof dist[0]; k++)
        if (json_object_get(miss, dist[k]))
            json_object_set_new(miss, dist[k], json_string("task-summary trace: a peak or mean only"));
    const char *key;
    json_t *v;
    json_object_foreach(task->measured, key, v) {
        if (!strcmp(key, "exit_code") || !strcmp(key, "exit_signal")) {
            /* the values came through fp_exit; a reason replaces fp_actual's */
            json_t *why = json_object_get(task->missing, key);
            if (json_is_null(v) && why) json_object_set(miss, key, why);
            continue;
        }
        json_object_set(r, key, v);
        json_t *why = json_object_get(task->missing, key);
        if (why) json_object_set(miss, key, why);
        else json_object_del(miss, key);
    }
    if (!has_dur) {
        json_t *why = json_object_get(task->missing, "duration_s");
        if (why) json_object_set(miss, "duration_s", why);
    }
    /* missing goes last, after the values it explains */
    json_incref(miss);
    json_object_del(r, "missing");
    json_object_set_new(r, "missing", miss);
    json_t *meta = json_incref(json_object_get(r, "meta"));
    json_object_del(r, "meta");
    json_object_set_new(r, "meta", meta);
    if (json_object_get(r, "outcome")) {
        json_t *o = json_incref(json_object_get(r, "outcome"));
        json_object_del(r, "outcome");
        json_object_set_new(r, "outcome", o);
    }
    return r;
}
