/* fp/roots.h - where libfp looks at the system.
 *
 * Every path libfp reads or writes under /proc, /sys/fs/cgroup or the Docker
 * socket is built from an fp_roots, so tests can point libfp at fixture trees.
 * fp_roots_default() fills the real locations, overridden by the environment
 * variables FP_PROC_ROOT, FP_CGROUP_ROOT and FP_DOCKER_SOCK (or DOCKER_HOST of
 * the form unix://PATH) when they are set.
 *
 * Ownership: an fp_roots is a value with fixed-size buffers, owned by the
 * caller; libfp objects copy what they need from it.
 */
#ifndef FP_ROOTS_H
#define FP_ROOTS_H

#include <stddef.h>

#define FP_PATH_MAX 4096

typedef struct fp_roots {
    char proc[FP_PATH_MAX];        /* default "/proc" */
    char cgroup[FP_PATH_MAX];      /* default "/sys/fs/cgroup" */
    char docker_sock[FP_PATH_MAX]; /* default "/var/run/docker.sock" */
} fp_roots;

void fp_roots_default(fp_roots *r);

/* Join printf-style path parts into buf; returns 0, or -1 when it would not
 * fit (the buffer then holds an empty string). */
int fp_path(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a whole small file (at most n-1 bytes) into buf, NUL-terminated.
 * Returns the length, or -1 with errno set. */
long fp_read_file(const char *path, char *buf, size_t n);

/* Read one unsigned decimal integer from a file ("max" reads as -1 and
 * returns 1). Returns 0 on success, -1 with errno on failure. */
int fp_read_u64(const char *path, unsigned long long *out);

#endif
