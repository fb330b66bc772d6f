/* record.c - JSON-lines envelope, writer and strict streaming reader. */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/record.h"

json_t *fp_record_new(const char *type, const fp_target *tg, double t, double ts)
{
    json_t *r = json_object();
    json_object_set_new(r, "schema", json_integer(FP_SCHEMA));
    json_object_set_new(r, "type", json_string(type));
    if (tg) {
        json_object_set_new(r, "id", json_string(tg->id));
        json_object_set_new(r, "t", json_real(t));
        if (ts > 0) json_object_set_new(r, "ts_ms", json_integer((json_int_t)llround(ts * 1000)));
        json_object_set_new(r, "host", tg->host[0] ? json_string(tg->host) : json_null());
        json_t *g = json_object();
        json_object_set_new(g, "cgroup", tg->cgroup[0] ? json_string(tg->cgroup) : json_null());
        json_object_set_new(g, "container", tg->container[0] ? json_string(tg->container) : json_null());
        json_object_set_new(g, "pid", tg->pid > 0 ? json_integer(tg->pid) : json_null());
        json_object_set_new(r, "target", g);
    } else {
        json_object_set_new(r, "t", json_real(t));
        if (ts > 0) json_object_set_new(r, "ts_ms", json_integer((json_int_t)llround(ts * 1000)));
    }
    return r;
}

/* Copy string member key of o into dst; null or absent leaves dst empty. */
static int target_str(const json_t *o, const char *key, char *dst, size_t n, fp_err *err)
{
    json_t *v = json_object_get(o, key);
    dst[0] = 0;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return fp_err_set(err, FP_EINPUT, "\"%s\" is not a string", key);
    if (json_string_length(v) >= n || strlen(json_string_value(v)) != json_string_length(v))
        return fp_err_set(err, FP_EINPUT, "\"%s\" is too long or holds a NUL byte", key);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int fp_target_from_json(const json_t *rec, fp_target *tg, fp_err *err)
{
    memset(tg, 0, sizeof *tg);
    if (target_str(rec, "id", tg->id, sizeof tg->id, err) < 0 ||
        target_str(rec, "host", tg->host, sizeof tg->host, err) < 0)
        return -1;
    json_t *g = json_object_get(rec, "target");
    if (!g || json_is_null(g)) return 0;
    if (!json_is_object(g)) return fp_err_set(err, FP_EINPUT, "\"target\" is not an object");
    if (target_str(g, "cgroup", tg->cgroup, sizeof tg->cgroup, err) < 0 ||
        target_str(g, "container", tg->container, sizeof tg->container, err) < 0)
        return -1;
    json_t *pid = json_object_get(g, "pid");
    if (pid && !json_is_null(pid)) {
        if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
            json_integer_value(pid) > 0x3fffffff)
            return fp_err_set(err, FP_EINPUT, "\"target.pid\" is not a process id");
        tg->pid = (int)json_integer_value(pid);
    }
    return 0;
}

/* A record's text, built by one json_dump_callback pass: in the stack
 * buffer while it fits, else on the heap. */
typedef struct dumpbuf {
    char *p;
    size_t n, cap;
    bool heap;
    char stack[16384];
} dumpbuf;

static int dump_append(const char *buf, size_t size, void *data)
{
    dumpbuf *d = data;
    if (d->n + size + 1 > d->cap) {
        size_t cap = d->cap * 2;
        while (d->n + size + 1 > cap) cap *= 2;
        char *np = d->heap ? realloc(d->p, cap) : malloc(cap);
        if (!np) return -1;
        if (!d->heap) memcpy(np, d->p, d->n);
        d->p = np;
        d->cap = cap;
        d->heap = true;
    }
    memcpy(d->p + d->n, buf, size);
    d->n += size;
    return 0;
}

int fp_record_write(FILE *f, const json_t *rec, fp_err *err)
{
    /* JSON_REAL_PRECISION(10): enough for counters, compact for floats.
     * Dumped into a buffer in one pass and written with one call:
     * json_dumpf writes each token through the stream, which costs more
     * than the dump. */
    dumpbuf *d = malloc(sizeof *d);
    if (!d) return fp_err_set(err, FP_ESYS, "out of memory writing a record");
    d->p = d->stack;
    d->n = 0;
    d->cap = sizeof d->stack;
    d->heap = false;
    int rc = 0;
    if (json_dump_callback(rec, dump_append, d, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0) {
        rc = fp_err_set(err, FP_ESYS, "cannot encode a record as JSON (out of memory)");
    } else {
        d->p[d->n++] = '\n';
        if (fwrite(d->p, 1, d->n, f) != d->n) rc = fp_err_sys(err, "write");
    }
    if (d->heap) free(d->p);
    free(d);
    return rc;
}

const char *fp_record_type(const json_t *rec)
{
    return json_string_value(json_object_get(rec, "type"));
}

/* Whole numbers (bytes, counts) are written as integers: exact, and far
 * cheaper to print than a %.10g real. */
static bool is_whole(double v) { return v == floor(v) && fabs(v) < 9007199254740992.0; }

/* The per-interface counters of a sample as a JSON object. */
static json_t *net_if_json(const fp_sample *s)
{
    json_t *ifs = json_object();
    for (int i = 0; i < s->n_if; i++) {
        const fp_net_if *n = &s->ifs[i];
        json_object_set_new(ifs, n->name, json_pack("{s:I,s:I,s:I,s:I}",
            "rx_bytes", (json_int_t)n->rx_bytes, "tx_bytes", (json_int_t)n->tx_bytes,
            "rx_packets", (json_int_t)n->rx_packets, "tx_packets", (json_int_t)n->tx_packets));
    }
    return ifs;
}

void fp_record_set_num(json_t *obj, json_t *missing, const char *name, double v, const char *why)
{
    if (!why && !isfinite(v)) why = "not a finite number";
    if (why) {
        json_object_set_new(obj, name, json_null());
        json_object_set_new(missing, name, json_string(why));
    } else if (is_whole(v)) {
        json_object_set_new(obj, name, json_integer((json_int_t)v));
    } else {
        json_object_set_new(obj, name, json_real(v));
    }
}

json_t *fp_json_num(double v)
{
    if (!isfinite(v)) return json_null();
    return is_whole(v) ? json_integer((json_int_t)v) : json_real(v);
}

json_t *fp_sample_to_json(const fp_sample *s, const fp_target *tg)
{
    json_t *r = fp_record_new("sample", tg, s->t, s->ts), *missing = json_object();
    for (int i = 0; i < FP_M_COUNT; i++)
        fp_record_set_num(r, missing, fp_metric_name(i), s->v[i], s->why[i]);
    if (s->n_if > 0) json_object_set_new(r, "net_if", net_if_json(s));
    if (s->grid_s > 0) json_object_set_new(r, "grid_s", json_real(s->grid_s));
    json_object_set_new(r, "missing", missing);
    return r;
}

int fp_sample_from_json(const json_t *rec, fp_sample *s, fp_err *err)
{
    json_t *t = json_object_get(rec, "t");
    if (!json_is_number(t))
        return fp_err_set(err, FP_EINPUT, "sample without a numeric \"t\"");
    if (!(fabs(json_number_value(t)) <= FP_TIME_MAX_S))
        return fp_err_set(err, FP_EINPUT, "sample time \"t\" %g is out of range (at most %g s)",
                          json_number_value(t), FP_TIME_MAX_S);
    fp_sample_init(s, json_number_value(t), "absent from record");
    json_t *ts = json_object_get(rec, "ts_ms");
    if (ts && !json_is_number(ts)) return fp_err_set(err, FP_EINPUT, "\"ts_ms\" is not a number");
    if (ts && !(fabs(json_number_value(ts)) <= FP_TIME_MAX_S * 1000))
        return fp_err_set(err, FP_EINPUT, "sample time \"ts_ms\" %g is out of range (at most %g ms)",
                          json_number_value(ts), FP_TIME_MAX_S * 1000);
    if (ts) s->ts = json_number_value(ts) / 1000;
    json_t *grid = json_object_get(rec, "grid_s");
    if (grid && !(json_is_number(grid) && json_number_value(grid) >= 0 && json_number_value(grid) <= FP_TIME_MAX_S))
        return fp_err_set(err, FP_EINPUT, "\"grid_s\" is not a number of seconds >= 0");
    if (grid) s->grid_s = json_number_value(grid);
    const json_t *missing = json_object_get(rec, "missing");
    for (int i = 0; i < FP_M_COUNT; i++) {
        const char *name = fp_metric_name(i);
        json_t *v = json_object_get(rec, name);
        if (!v) continue;
        if (json_is_number(v)) {
            fp_sample_set(s, i, json_number_value(v));
        } else if (json_is_null(v)) {
            /* The reason is in the record; samples keep static strings only,
             * so the replayed reason is the generic one. */
            s->why[i] = json_object_get(missing, name) ? "missing in recorded sample"
                                                       : "null in recorded sample";
        } else {
            return fp_err_set(err, FP_EINPUT, "field \"%s\" is not a number or null", name);
        }
    }
    json_t *ifs = json_object_get(rec, "net_if");
    if (json_is_object(ifs)) {
        const char *k;
        json_t *o;
        json_object_foreach(ifs, k, o) {
            if (s->n_if >= FP_NET_IF_MAX) break;
            fp_net_if *n = &s->ifs[s->n_if++];
            snprintf(n->name, sizeof n->name, "%s", k);
            n->rx_bytes = (unsigned long long)json_integer_value(json_object_get(o, "rx_bytes"));
            n->tx_bytes = (unsigned long long)json_integer_value(json_object_get(o, "tx_bytes"));
            n->rx_packets = (unsigned long long)json_integer_value(json_object_get(o, "rx_packets"));
            n->tx_packets = (unsigned long long)json_integer_value(json_object_get(o, "tx_packets"));
        }
    }
    return 0;
}

struct fp_sample_writer {
    json_t *rec, *missing, *t, *ts, *grid;
    json_t *val[FP_M_COUNT];        /* borrowed from rec */
    const char *why[FP_M_COUNT];
    bool had_ifs;
};

fp_sample_writer *fp_sample_writer_new(void) { return calloc(1, sizeof(fp_sample_writer)); }

void fp_sample_writer_free(fp_sample_writer *w)
{
    if (!w) return;
    json_decref(w->rec);
    free(w);
}

/* Build the record afresh and remember where its values are. */
static void writer_rebuild(fp_sample_writer *w, const fp_sample *s, const fp_target *tg)
{
    json_decref(w->rec);
    w->rec = fp_sample_to_json(s, tg);
    w->missing = json_object_get(w->rec, "missing");
    w->t = json_object_get(w->rec, "t");
    w->ts = json_object_get(w->rec, "ts_ms");
    w->grid = json_object_get(w->rec, "grid_s");
    for (int m = 0; m < FP_M_COUNT; m++) {
        w->val[m] = json_object_get(w->rec, fp_metric_name(m));
        w->why[m] = json_is_null(w->val[m]) ? json_string_value(json_object_get(w->missing, fp_metric_name(m))) : NULL;
    }
    w->had_ifs = s->n_if > 0;
}

const json_t *fp_sample_writer_json(fp_sample_writer *w, const fp_sample *s, const fp_target *tg)
{
    /* A change of shape (interfaces, a known time appearing) rebuilds. */
    if (!w->rec || (s->n_if > 0) != w->had_ifs || (s->ts > 0) != (w->ts != NULL) || !w->t ||
        (s->grid_s > 0) != (w->grid != NULL)) {
        writer_rebuild(w, s, tg);
        return w->rec;
    }
    json_real_set(w->t, s->t);
    if (w->ts) json_integer_set(w->ts, (json_int_t)llround(s->ts * 1000));
    if (w->grid) json_real_set(w->grid, s->grid_s);
    for (int m = 0; m < FP_M_COUNT; m++) {
        const char *name = fp_metric_name(m);
        double v = s->v[m];
        const char *why = s->why[m] ? s->why[m] : isfinite(v) ? NULL : "not a finite number";
        json_t *cur = w->val[m];
        if (why) {
            if (json_is_null(cur) && w->why[m] && strcmp(w->why[m], why) == 0) continue;
            json_object_set_new(w->rec, name, json_null());
            json_object_set_new(w->missing, name, json_string(why));
            w->val[m] = json_object_get(w->rec, name);
            w->why[m] = json_string_value(json_object_get(w->missing, name));
            continue;
        }
        if (json_is_null(cur)) json_object_del(w->missing, name);
        w->why[m] = NULL;
        bool whole = is_whole(v);
        if (whole && json_is_integer(cur)) json_integer_set(cur, (json_int_t)v);
        else if (!whole && json_is_real(cur)) json_real_set(cur, v);
        else {
            json_object_set_new(w->rec, name, whole ? json_integer((json_int_t)v) : json_real(v));
            w->val[m] = json_object_get(w->rec, name);
        }
    }
    if (s->n_if > 0) /* counters per interface: rebuilt, they are few */
        json_object_set_new(w->rec, "net_if", net_if_json(s));
    return w->rec;
}

struct fp_reader {
    FILE *f;               /* FILE mode; NULL in descriptor mode */
    int fd;                /* descriptor mode: read with read(2) */
    char name[256];
    bool skip_bad;
    long line, skipped;
    char *buf;             /* the current line, NUL-terminated */
    size_t cap;
    /* descriptor mode: bytes read but not yet returned are in in[ipos, ilen);
     * the first `scanned` of them are known to hold no newline */
    char *in;
    size_t ipos, ilen, icap, scanned;
    bool eof;
};

fp_reader *fp_reader_new(FILE *f, const char *name, bool skip_bad)
{
    fp_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->f = f;
    r->fd = -1;
    snprintf(r->name, sizeof r->name, "%s", !name || strcmp(name, "-") == 0 ? "<stdin>" : name);
    r->skip_bad = skip_bad;
    return r;
}

fp_reader *fp_reader_new_fd(int fd, const char *name, bool skip_bad)
{
    fp_reader *r = fp_reader_new(NULL, name, skip_bad);
    if (r) r->fd = fd;
    return r;
}

/* Descriptor mode: one more read(2) into the input buffer (growing it when
 * full). Returns bytes read, 0 at end of input, -1 with errno. */
static ssize_t fill(fp_reader *r)
{
    if (r->ipos > 0) {                 /* move the unread part to the front */
        memmove(r->in, r->in + r->ipos, r->ilen - r->ipos);
        r->ilen -= r->ipos;
        r->ipos = 0;
    }
    if (r->ilen == r->icap) {
        size_t cap = r->icap ? r->icap * 2 : 65536;
        char *p = realloc(r->in, cap);
        if (!p) return -1;
        r->in = p;
        r->icap = cap;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->in + r->ilen, r->icap - r->ilen);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) r->ilen += (size_t)n;
        if (n == 0) r->eof = true;
        return n;
    }
}

/* Make room for n bytes and a NUL in r->buf. -1 with errno when out of
 * memory. */
static int buf_room(fp_reader *r, size_t n)
{
    if (n + 1 <= r->cap) return 0;
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < n + 1) cap *= 2;
    char *p = realloc(r->buf, cap);
    if (!p) return -1;
    r->buf = p;
    r->cap = cap;
    return 0;
}

/* Descriptor mode: the next line (with its newline, if any) into r->buf,
 * its length in *len. Each byte is looked at once (the part of a line
 * already searched for its newline is not searched again after a read).
 * Returns 1, 0 at end of input, -1 on error (errno), -2 for a line longer
 * than FP_LINE_MAX_BYTES (nothing of it kept). */
static int fd_line(fp_reader *r, size_t *len)
{
    for (;;) {
        size_t avail = r->ilen - r->ipos;
        char *nl = r->scanned < avail
                       ? memchr(r->in + r->ipos + r->scanned, '\n', avail - r->scanned) : NULL;
        if (!nl) r->scanned = avail;
        size_t n = nl ? (size_t)(nl - (r->in + r->ipos)) + 1 : avail;
        if (n - (nl != NULL) > FP_LINE_MAX_BYTES) return -2;
        if (nl || (r->eof && avail > 0)) {
            if (buf_room(r, n) < 0) return -1;
            memcpy(r->buf, r->in + r->ipos, n);
            r->buf[n] = 0;
            r->ipos += n;
            r->scanned = 0;
            *len = n;
            return 1;
        }
        if (r->eof) return 0;
        if (fill(r) < 0) return -1;
    }
}

/* Descriptor mode: drop input up to and including the next newline (the
 * rest of a line too long to keep). 0, or -1 on a read error (errno). */
static int fd_skip_line(fp_reader *r)
{
    for (;;) {
        size_t avail = r->ilen - r->ipos;
        char *nl = avail ? memchr(r->in + r->ipos, '\n', avail) : NULL;
        r->scanned = 0;
        if (nl) {
            r->ipos = (size_t)(nl - r->in) + 1;
            return 0;
        }
        r->ipos = r->ilen;
        if (r->eof) return 0;
        if (fill(r) < 0) return -1;
    }
}

/* FILE mode: the same as fd_line, a byte at a time from the FILE's buffer
 * (getline has no bound). */
static int file_line(fp_reader *r, size_t *len)
{
    size_t n = 0;
    int c = 0, rc = 1;
    flockfile(r->f);
    while ((c = getc_unlocked(r->f)) != EOF) {
        if (c != '\n' && n >= FP_LINE_MAX_BYTES) {
            rc = -2;
            break;
        }
        if (n + 1 >= r->cap && buf_room(r, n + 1) < 0) {
            rc = -1;
            break;
        }
        r->buf[n++] = (char)c;
        if (c == '\n') break;
    }
    if (rc == 1 && c == EOF) rc = ferror_unlocked(r->f) ? -1 : n > 0 ? 1 : 0;
    funlockfile(r->f);
    if (rc == 1) {
        r->buf[n] = 0;
        *len = n;
    }
    return rc;
}

/* FILE mode: drop input up to and including the next newline. */
static int file_skip_line(fp_reader *r)
{
    int c;
    flockfile(r->f);
    while ((c = getc_unlocked(r->f)) != EOF && c != '\n') {}
    int rc = c == EOF && ferror_unlocked(r->f) ? -1 : 0;
    funlockfile(r->f);
    return rc;
}

/* The next line into r->buf (counted in r->line), its length in *len: 1,
 * 0 at end of input, -1 with err (FP_ESYS for a read error, FP_EINPUT for
 * a line longer than FP_LINE_MAX_BYTES; with skip_bad such a line is
 * dropped and counted instead). */
static int next_line(fp_reader *r, size_t *len, fp_err *err)
{
    for (;;) {
        errno = 0;
        int rc = r->f ? file_line(r, len) : fd_line(r, len);
        if (rc == -1) {
            if (!errno) errno = EIO;
            return fp_err_sys(err, "%s: read", r->name);
        }
        if (rc >= 0) {
            r->line += rc;
            return rc;
        }
        r->line++;
        if (!r->skip_bad)
            return fp_err_set(err, FP_EINPUT, "%s:%ld: line longer than %d bytes (the most a "
                              "record may have)", r->name, r->line, FP_LINE_MAX_BYTES);
        r->skipped++;
        if ((r->f ? file_skip_line(r) : fd_skip_line(r)) < 0)
            return fp_err_sys(err, "%s: read", r->name);
    }
}

int fp_reader_wait(fp_reader *r, int timeout_ms)
{
    if (r->fd < 0 || r->eof) return 1;
    size_t avail = r->ilen - r->ipos;
    if (r->scanned < avail && memchr(r->in + r->ipos + r->scanned, '\n', avail - r->scanned))
        return 1;
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    int k = poll(&p, 1, timeout_ms);
    if (k < 0) return errno == EINTR ? 0 : -1;
    return k > 0;
}

const char *fp_record_problem(const json_t *j)
{
    if (!json_is_object(j)) return "a record must be a JSON object";
    json_t *s = json_object_get(j, "schema");
    if (!s) return "no \"schema\" field";
    if (!json_is_integer(s)) return "\"schema\" must be an integer";
    if (json_integer_value(s) < 1 || json_integer_value(s) > FP_SCHEMA)
        return "unsupported schema version (this fp reads schema 1)";
    json_t *t = json_object_get(j, "type");
    if (!json_is_string(t) || !json_string_length(t)) return "no string \"type\" field";
    return NULL;
}

int fp_reader_next(fp_reader *r, json_t **out, fp_err *err)
{
    for (;;) {
        size_t n = 0;
        int got = next_line(r, &n, err);
        if (got <= 0) return got;
        size_t k = strspn(r->buf, " \t\r\n");
        if (k == n) continue;
        json_error_t je;
        json_t *j = json_loadb(r->buf, n, JSON_REJECT_DUPLICATES, &je);
        const char *bad = NULL;
        char what[300];
        if (!j) {
            snprintf(what, sizeof what, "malformed JSON: %s (column %d)", je.text, je.column);
            bad = what;
        } else {
            bad = fp_record_problem(j);
        }
        if (!bad) {
            *out = j;
            return 1;
        }
        json_decref(j);
        if (r->skip_bad) {
            r->skipped++;
            continue;
        }
        return fp_err_set(err, FP_EINPUT, "%s:%ld: %s", r->name, r->line, bad);
    }
}

long fp_reader_line(const fp_reader *r) { return r->line; }
long fp_reader_skipped(const fp_reader *r) { return r->skipped; }

void fp_reader_free(fp_reader *r)
{
    if (!r) return;
    free(r->buf);
    free(r->in);
    free(r);
}

int fp_meta_set(json_t *meta, const char *kv, fp_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return fp_err_set(err, FP_EUSAGE, "--meta: '%s' is not KEY=VALUE", kv);
    size_t kn = (size_t)(eq - kv);
    if ((kn == 3 && !strncmp(kv, "cmd", 3)) || (kn == 6 && !strncmp(kv, "labels", 6)))
        return fp_err_set(err, FP_EUSAGE, "--meta: '%.*s' is set by the tool itself", (int)kn, kv);
    char *key = strndup(kv, kn);
    if (!key) return fp_err_sys(err, "--meta");
    char *end;
    errno = 0;
    double v = strtod(eq + 1, &end);
    json_t *val = !errno && end != eq + 1 && !*end && isfinite(v) ? json_real(v) : json_string(eq + 1);
    int rc = 0;
    if (!val) rc = fp_err_set(err, FP_EUSAGE, "--meta: the value of '%s' is not UTF-8", key);
    else if (json_object_set_new(meta, key, val) < 0) rc = fp_err_set(err, FP_ESYS, "--meta: out of memory");
    free(key);
    return rc;
}

int fp_read_records(fp_reader *rd, const fp_read_loop *L, void *arg, fp_err *err)
{
    for (;;) {
        if (L->idle_ms > 0 && L->idle) {
            int w = fp_reader_wait(rd, L->idle_ms);
            if (w == 0) {
                int s = L->idle(arg);
                if (s) return s;
                continue;
            }
        }
        json_t *rec = NULL;
        int k = fp_reader_next(rd, &rec, err);
        if (k == 0) return 0;
        if (k < 0) return -1;
        const char *type = fp_record_type(rec);
        const fp_record_handler *h = L->on;
        while (h->type && strcmp(h->type, type) != 0) h++;
        int s = 0;
        if (h->fn) s = h->fn(arg, rec, fp_reader_line(rd));
        else json_decref(rec);
        if (!s && L->after) s = L->after(arg);
        if (s) return s;
    }
}
