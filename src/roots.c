/* roots.c - file system roots and small file readers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fp/roots.h"

static void set_from_env(char *dst, const char *var, const char *def)
{
    const char *v = getenv(var);
    snprintf(dst, FP_PATH_MAX, "%s", v && *v ? v : def);
}

void fp_roots_default(fp_roots *r)
{
    set_from_env(r->proc, "FP_PROC_ROOT", "/proc");
    set_from_env(r->cgroup, "FP_CGROUP_ROOT", "/sys/fs/cgroup");
    set_from_env(r->run, "FP_RUN_ROOT", "/run");
    const char *dh = getenv("DOCKER_HOST");
    if (dh && strncmp(dh, "unix://", 7) == 0)
        snprintf(r->docker_sock, FP_PATH_MAX, "%s", dh + 7);
    else
        snprintf(r->docker_sock, FP_PATH_MAX, "%s", "/var/run/docker.sock");
    const char *s = getenv("FP_DOCKER_SOCK");
    if (s && *s) snprintf(r->docker_sock, FP_PATH_MAX, "%s", s);
}

int fp_path(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n) {
        if (n) buf[0] = 0;
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

long fp_read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t k = read(fd, buf + got, n - 1 - got);
        if (k < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = 0;
    return (long)got;
}

int fp_read_u64(const char *path, unsigned long long *out)
{
    char b[64];
    if (fp_read_file(path, b, sizeof b) < 0) return -1;
    if (strncmp(b, "max", 3) == 0) { *out = (unsigned long long)-1; return 1; }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(b, &end, 10);
    if (errno || end == b) { errno = EINVAL; return -1; }
    *out = v;
    return 0;
}

long fp_slot_read(fp_slot *s, const char *path, char *buf, size_t n)
{
    if (s->state < 0) { errno = s->err; return -1; }
    if (s->state == 0) {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            /* Out of descriptors or memory is not the file's fault: try
             * again next time instead of remembering the failure. */
            if (errno != EMFILE && errno != ENFILE && errno != ENOMEM && errno != EINTR) {
                s->state = -1;
                s->err = errno;
            }
            return -1;
        }
        s->state = 1;
    }
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t k = pread(s->fd, buf + got, n - 1 - got, (off_t)got);
        if (k < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            fp_slot_close(s);
            errno = e;
            return -1;
        }
        got += (size_t)k;
        /* The kernel fills a read as far as the file goes: a short read is
         * the end, which saves the second call that would return 0. */
        if (k == 0 || (size_t)k < n - 1 - (got - (size_t)k)) break;
    }
    buf[got] = 0;
    return (long)got;
}

void fp_slot_close(fp_slot *s)
{
    if (s->state == 1) close(s->fd);
    s->fd = -1;
    s->state = 0;
    s->err = 0;
}
