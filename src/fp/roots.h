/* fp/roots.h - where libfp looks at the system.
 *
 * Every path libfp reads or writes under /proc, /sys/fs/cgroup or the Docker
 * socket is built from an fp_roots, so tests can point libfp at fixture trees.
 * fp_roots_default() fills the real locations, overridden by the environment
 * variables FP_PROC_ROOT, FP_CGROUP_ROOT, FP_RUN_ROOT and FP_DOCKER_SOCK (or DOCKER_HOST of
 * the form unix://PATH) when they are set.
 *
 * Ownership: an fp_roots is a value with fixed-size buffers, owned by the
 * caller; libfp objects copy what they need from it.
 */
#ifndef FP_ROOTS_H
#define FP_ROOTS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_PATH_MAX 4096

typedef struct fp_roots {
    char proc[FP_PATH_MAX];        /* default "/proc" */
    char cgroup[FP_PATH_MAX];      /* default "/sys/fs/cgroup" */
    char docker_sock[FP_PATH_MAX]; /* default "/var/run/docker.sock" */
    char run[FP_PATH_MAX];         /* default "/run" (FP_RUN_ROOT): where
                                      <run>/systemd/system says PID 1 is systemd */
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

/* A file read again and again (a cgroup or /proc counter file): opened on
 * first use, then re-read with pread at offset 0, which makes the kernel
 * generate fresh contents without another open. A failed open is
 * remembered (the file will not appear later) until fp_slot_close, except
 * when the process ran out of descriptors or memory.
 * Ownership: plain value owned by its holder; fp_slot_close releases it. */
typedef struct fp_slot {
    int fd;      /* valid when state == 1 */
    int state;   /* 0 not yet opened, 1 open, -1 open failed (errno kept) */
    int err;
} fp_slot;

#define FP_SLOT_INIT {-1, 0, 0}
/* Like fp_read_file through the slot. On a read error the slot is closed
 * (and reopened next time). Returns the length or -1 with errno. */
long fp_slot_read(fp_slot *s, const char *path, char *buf, size_t n);
void fp_slot_close(fp_slot *s);

#ifdef __cplusplus
}
#endif

#endif
