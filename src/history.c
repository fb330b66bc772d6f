/* history.c - the history store (fp/history.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fp/history.h"
#include "fp/record.h"
#include "fp/roots.h"

struct fp_history {
    char dir[FP_PATH_MAX];
    int lock_fd;
    fp_history_opts o;
};

void fp_history_opts_default(fp_history_opts *o)
{
    o->max_bytes = (size_t)64 << 20;
    o->keep = 4;
}

int fp_history_default_dir(char *buf, size_t n)
{
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (x && x[0] == '/') return fp_path(buf, n, "%s/fp", x);
    if (home && home[0]) return fp_path(buf, n, "%s/.local/share/fp", home);
    return -1;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir, fp_err *err)
{
    char p[FP_PATH_MAX];
    if (fp_path(p, sizeof p, "%s", dir) < 0)
        return fp_err_set(err, FP_EUSAGE, "history directory path too long");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0700) < 0 && errno != EEXIST) return fp_err_sys(err, "%s", p);
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST) return fp_err_sys(err, "%s", p);
    return 0;
}

/* Is st (of path, what: "directory" or "file") safe to trust, as ssh
 * trusts ~/.ssh: owned by the caller or root, not writable by group or
 * others, and of the right kind? 0, or -1 with err naming path and why. */
static int trusted(const struct stat *st, const char *path, bool dir, fp_err *err)
{
    if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return fp_err_set(err, FP_ESYS, "%s: refusing the history %s: not a %s", path,
                          dir ? "directory" : "file", dir ? "directory" : "regular file");
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return fp_err_set(err, FP_ESYS, "%s: refusing the history %s: it is owned by uid %ld, "
                          "neither you (uid %ld) nor root", path, dir ? "directory" : "file",
                          (long)st->st_uid, (long)geteuid());
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return fp_err_set(err, FP_ESYS, "%s: refusing the history %s: it is writable by %s (mode "
                          "%04o; chmod go-w it)", path, dir ? "directory" : "file",
                          (st->st_mode & S_IWOTH) ? "others" : "its group",
                          (unsigned)(st->st_mode & 07777));
    return 0;
}

/* Open a file of the store: never through a symlink (O_NOFOLLOW), and
 * only a trusted one (see trusted). The descriptor, or -1 with err (errno
 * ENOENT kept for an absent file opened without O_CREAT). */
static int open_store_file(const char *path, int flags, fp_err *err)
{
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd < 0) {
        if (errno == ELOOP)
            return fp_err_set(err, FP_ESYS, "%s: refusing the history file: it is a symbolic link",
                              path);
        return fp_err_sys(err, "%s", path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || trusted(&st, path, false, err) < 0) {
        if (err && err->cls == FP_OK) fp_err_sys(err, "%s", path);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

fp_history *fp_history_new(const char *dir, const fp_history_opts *o, fp_err *err)
{
    if (!dir || !dir[0]) {
        fp_err_set(err, FP_EUSAGE, "no history directory");
        return NULL;
    }
    if (make_dirs(dir, err) < 0) return NULL;
    struct stat st;
    if (stat(dir, &st) < 0) {
        fp_err_sys(err, "%s", dir);
        return NULL;
    }
    if (trusted(&st, dir, true, err) < 0) return NULL;
    fp_history *h = calloc(1, sizeof *h);
    if (!h) {
        fp_err_sys(err, "cannot allocate a history");
        return NULL;
    }
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    if (o) h->o = *o;
    else fp_history_opts_default(&h->o);
    if (h->o.keep < 0) h->o.keep = 0;
    char p[FP_PATH_MAX];
    fp_path(p, sizeof p, "%s/.lock", dir);
    h->lock_fd = open_store_file(p, O_RDWR | O_CREAT, err);
    if (h->lock_fd < 0) {
        free(h);
        return NULL;
    }
    return h;
}

void fp_history_free(fp_history *h)
{
    if (!h) return;
    close(h->lock_fd);
    free(h);
}

const char *fp_history_dir(const fp_history *h) { return h->dir; }

static void file_name(const fp_history *h, int i, char *buf, size_t n)
{
    if (i == 0) fp_path(buf, n, "%s/history.jsonl", h->dir);
    else fp_path(buf, n, "%s/history.%d.jsonl", h->dir, i);
}

static int lock(fp_history *h, int how, fp_err *err)
{
    while (flock(h->lock_fd, how) < 0)
        if (errno != EINTR) return fp_err_sys(err, "%s: lock", h->dir);
    return 0;
}

/* Cut a torn last line (no newline at the end) off the live file fd. */
static int repair_tail(int fd, const char *path, fp_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return fp_err_sys(err, "%s", path);
    if (st.st_size == 0) return 0;
    char c;
    if (pread(fd, &c, 1, st.st_size - 1) != 1) return fp_err_sys(err, "%s", path);
    if (c == '\n') return 0;
    /* find the last newline, reading backwards in blocks */
    char buf[4096];
    off_t end = st.st_size;
    while (end > 0) {
        off_t start = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
        ssize_t k = pread(fd, buf, (size_t)(end - start), start);
        if (k < 0) return fp_err_sys(err, "%s", path);
        for (ssize_t i = k - 1; i >= 0; i--)
            if (buf[i] == '\n') {
                if (ftruncate(fd, start + i + 1) < 0) return fp_err_sys(err, "%s: truncate", path);
                return 0;
            }
        end = start;
    }
    if (ftruncate(fd, 0) < 0) return fp_err_sys(err, "%s: truncate", path);
    return 0;
}

/* Rotate: history.(keep-1) -> history.keep ... history -> history.1; the
 * file beyond keep is removed. Called under the exclusive lock. */
static int rotate(fp_history *h, fp_err *err)
{
    char a[FP_PATH_MAX], b[FP_PATH_MAX];
    if (h->o.keep == 0) {
        file_name(h, 0, a, sizeof a);
        if (unlink(a) < 0 && errno != ENOENT) return fp_err_sys(err, "%s", a);
        return 0;
    }
    file_name(h, h->o.keep, a, sizeof a);
    if (unlink(a) < 0 && errno != ENOENT) return fp_err_sys(err, "%s", a);
    for (int i = h->o.keep - 1; i >= 0; i--) {
        file_name(h, i, a, sizeof a);
        file_name(h, i + 1, b, sizeof b);
        if (rename(a, b) < 0 && errno != ENOENT) return fp_err_sys(err, "rename %s", a);
    }
    int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int fp_history_append(fp_history *h, json_t *const *recs, size_t n, fp_err *err)
{
    /* serialise first, outside the lock */
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(recs[i], JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!s) {
            free(buf);
            return fp_err_set(err, FP_EINPUT, "a history record cannot be serialised");
        }
        size_t k = strlen(s);
        if (len + k + 1 > cap) {
            size_t nc = (len + k + 1) * 2;
            char *p = realloc(buf, nc);
            if (!p) {
                free(s);
                free(buf);
                return fp_err_sys(err, "history: out of memory");
            }
            buf = p;
            cap = nc;
        }
        memcpy(buf + len, s, k);
        buf[len + k] = '\n';
        len += k + 1;
        free(s);
    }
    if (!len) return 0;
    if (lock(h, LOCK_EX, err) < 0) {
        free(buf);
        return -1;
    }
    char path[FP_PATH_MAX];
    file_name(h, 0, path, sizeof path);
    int rc = -1, fd = -1;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (size_t)st.st_size + len > h->o.max_bytes &&
        rotate(h, err) < 0)
        goto out;
    fd = open_store_file(path, O_RDWR | O_APPEND | O_CREAT, err);
    if (fd < 0) goto out;
    if (repair_tail(fd, path, err) < 0) goto out;
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, buf + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            fp_err_sys(err, "%s: write", path);
            goto out;
        }
        off += (size_t)k;
    }
    if (fsync(fd) < 0) {
        fp_err_sys(err, "%s: fsync", path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) close(fd);
    flock(h->lock_fd, LOCK_UN);
    free(buf);
    return rc;
}

/* The next line of f into *line (grown as needed, at most
 * FP_LINE_MAX_BYTES plus its newline): its length, 0 at the end, -2 for a
 * longer line (skipped to its end), -1 on a read error. */
static ssize_t store_line(FILE *f, char **line, size_t *cap)
{
    size_t n = 0;
    int c = 0;
    bool over = false;
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        if (over) {
            if (c == '\n') break;
            continue;
        }
        if (n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            char *p = realloc(*line, nc);
            if (!p) {
                funlockfile(f);
                return -1;
            }
            *line = p;
            *cap = nc;
        }
        (*line)[n++] = (char)c;
        if (c == '\n') break;
        if (n > FP_LINE_MAX_BYTES) over = true;
    }
    bool failed = c == EOF && ferror_unlocked(f);
    funlockfile(f);
    if (failed) return -1;
    if (over) return -2;
    if (n) (*line)[n] = 0;
    return (ssize_t)n;
}

int fp_history_scan(fp_history *h, fp_history_fn fn, void *arg, long *bad, fp_err *err)
{
    if (bad) *bad = 0;
    if (lock(h, LOCK_SH, err) < 0) return -1;
    int rc = 0;
    bool stop = false;
    for (int i = h->o.keep; i >= 0 && !stop && rc == 0; i--) {
        char path[FP_PATH_MAX];
        file_name(h, i, path, sizeof path);
        fp_err e = {0};
        int fd = open_store_file(path, O_RDONLY, &e);
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (!f) {
            if (fd >= 0) {
                rc = fp_err_sys(err, "%s", path);
                close(fd);
            } else if (!(e.cls == FP_ESYS && e.sys_errno == ENOENT)) {
                if (err) *err = e;
                rc = -1;
            }
            continue;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t k = 0;
        while (!stop && (k = store_line(f, &line, &cap)) != 0 && k != -1) {
            if (k == -2) {                              /* longer than any record */
                if (bad) (*bad)++;
                continue;
            }
            if (line[k - 1] != '\n') break;            /* a torn tail: not a record */
            json_t *rec = json_loadb(line, (size_t)k, 0, NULL);
            if (!rec || fp_record_problem(rec)) {
                json_decref(rec);
                if (bad) (*bad)++;
                continue;
            }
            if (fn(arg, rec)) stop = true;
            json_decref(rec);
        }
        if (k == -1 || ferror(f)) rc = fp_err_sys(err, "%s: read", path);
        free(line);
        fclose(f);
    }
    flock(h->lock_fd, LOCK_UN);
    return rc;
}
