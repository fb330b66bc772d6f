/* atomic.c - fp/atomic.h: write a whole file, atomically when it is one. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fp/atomic.h"

/* Split path into its directory (dir) and base name (*base). -1 when too
 * long or without a base name. */
static int split(const char *path, char *dir, size_t n, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!**base) return -1;
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else if ((size_t)(slash - path) < n) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = 0;
    } else
        return -1;
    return 0;
}

/* Write all of data to fd. 0, or -1 with errno. */
static int write_all(int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, data + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO;
            return -1;
        }
        off += (size_t)k;
    }
    return 0;
}

/* A character device or a FIFO: written through, never replaced.
 * shown is the path the caller gave (for messages). */
static int write_through(const char *path, const char *shown, const char *data, size_t len,
                         fp_err *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return fp_err_sys(err, "%s: cannot open", shown);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) rc = fp_err_sys(err, "%s", shown);
    else if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))   /* changed since lstat */
        rc = fp_err_set(err, FP_ESYS, "%s: changed while it was opened: not written", shown);
    else if (write_all(fd, data, len) != 0) rc = fp_err_sys(err, "%s: cannot write", shown);
    if (close(fd) != 0 && rc == 0 && errno != EINTR) rc = fp_err_sys(err, "%s: cannot close", shown);
    return rc;
}

/* A regular file (or none) at path: temp + fsync + rename + fsync dir. */
static int replace(const char *path, const char *shown, mode_t mode, const char *data, size_t len,
                   fp_err *err)
{
    char dir[4096], tmp[4096 + 300];
    const char *base;
    if (split(path, dir, sizeof dir, &base) < 0)
        return fp_err_set(err, FP_ESYS, "%s: not a file name", shown);
    if (snprintf(tmp, sizeof tmp, "%s/.%.200s.XXXXXX", dir, base) >= (int)sizeof tmp)
        return fp_err_set(err, FP_ESYS, "%s: path too long", shown);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return fp_err_sys(err, "%s: cannot create a temporary file in %s", shown, dir);
    int rc = 0;
    if (write_all(fd, data, len) != 0) rc = fp_err_sys(err, "%s: cannot write %s", shown, tmp);
    if (rc == 0 && fchmod(fd, mode) != 0) rc = fp_err_sys(err, "%s: cannot chmod %s", shown, tmp);
    if (rc == 0 && fsync(fd) != 0) rc = fp_err_sys(err, "%s: cannot fsync %s", shown, tmp);
    if (close(fd) != 0 && rc == 0) rc = fp_err_sys(err, "%s: cannot close %s", shown, tmp);
    if (rc == 0 && rename(tmp, path) != 0) rc = fp_err_sys(err, "%s: cannot rename %s over it", shown, tmp);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return fp_err_sys(err, "%s: cannot open directory %s", shown, dir);
    if (fsync(dfd) != 0 && errno != EINVAL) rc = fp_err_sys(err, "%s: cannot fsync directory %s", shown, dir);
    close(dfd);
    return rc;
}

static const char *kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket"
                                                                        : "not a regular file";
}

int fp_atomic_write(const char *path, const char *data, size_t len, fp_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) return fp_err_sys(err, "%s", path);
        return replace(path, path, 0644, data, len, err);
    }
    if (S_ISREG(st.st_mode)) return replace(path, path, st.st_mode & 07777, data, len, err);
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return write_through(path, path, data, len, err);
    if (!S_ISLNK(st.st_mode))
        return fp_err_set(err, FP_ESYS, "%s: %s: refusing to replace it", path, kind(st.st_mode));
    /* a symbolic link: its final target, by the same rules */
    char *real = realpath(path, NULL);
    if (!real) {
        if (errno == ENOENT)
            return fp_err_set(err, FP_ESYS, "%s: a symbolic link to nothing: refusing to write "
                              "through it", path);
        return fp_err_sys(err, "%s: cannot resolve the symbolic link", path);
    }
    int rc;
    if (stat(real, &st) != 0) rc = fp_err_sys(err, "%s (-> %s)", path, real);
    else if (S_ISREG(st.st_mode)) rc = replace(real, path, st.st_mode & 07777, data, len, err);
    else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) rc = write_through(real, path, data, len, err);
    else rc = fp_err_set(err, FP_ESYS, "%s: a symbolic link to %s, %s: refusing to replace it",
                         path, real, kind(st.st_mode));
    free(real);
    return rc;
}
