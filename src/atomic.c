/* atomic.c - replace a file atomically: temp + fsync + rename + fsync dir. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_impl.h"

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

int fp_atomic_write(const char *path, const char *data, size_t len, fp_err *err)
{
    char dir[4096], tmp[4096 + 300];
    const char *base;
    if (split(path, dir, sizeof dir, &base) < 0)
        return fp_err_set(err, FP_ESYS, "%s: not a file name", path);
    if (snprintf(tmp, sizeof tmp, "%s/.%.200s.XXXXXX", dir, base) >= (int)sizeof tmp)
        return fp_err_set(err, FP_ESYS, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return fp_err_sys(err, "%s: cannot create a temporary file in %s", path, dir);
    int rc = 0;
    size_t off = 0;
    while (off < len && rc == 0) {
        ssize_t k = write(fd, data + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) rc = fp_err_sys(err, "%s: cannot write %s", path, tmp);
        else off += (size_t)k;
    }
    if (rc == 0 && fchmod(fd, 0644) != 0) rc = fp_err_sys(err, "%s: cannot chmod %s", path, tmp);
    if (rc == 0 && fsync(fd) != 0) rc = fp_err_sys(err, "%s: cannot fsync %s", path, tmp);
    if (close(fd) != 0 && rc == 0) rc = fp_err_sys(err, "%s: cannot close %s", path, tmp);
    if (rc == 0 && rename(tmp, path) != 0) rc = fp_err_sys(err, "%s: cannot rename %s over it", path, tmp);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) return fp_err_sys(err, "%s: cannot open directory %s", path, dir);
    if (fsync(dfd) != 0 && errno != EINVAL) rc = fp_err_sys(err, "%s: cannot fsync directory %s", path, dir);
    close(dfd);
    return rc;
}
