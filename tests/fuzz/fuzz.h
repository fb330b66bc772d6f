/* tests/fuzz/fuzz.h - shared by the fuzz harnesses (tests/fuzz/README.md).
 *
 * Each harness is one libFuzzer entry point, LLVMFuzzerTestOneInput, over
 * one libfp parser. Rules every harness keeps:
 *   - deterministic: the same input takes the same path (no clocks, no
 *     randomness, no state carried from one input to the next except the
 *     fixtures built once by the harness's init);
 *   - no leaks: everything allocated for an input is freed before return
 *     (libFuzzer runs with ASan's leak detection on);
 *   - nothing outside its own temporary directory is written or run (the
 *     revert harness points libfp at a fixture cgroup tree there, never at
 *     /sys/fs/cgroup, and never runs tc);
 *   - an input libfp refuses is fine; only a crash, a sanitizer report, a
 *     hang or a broken invariant (fz_assert) is a finding.
 * Built with libFuzzer (clang -fsanitize=fuzzer) or, to replay files only,
 * with any C compiler and tests/fuzz/standalone.c as main().
 */
#ifndef FP_FUZZ_H
#define FP_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant of libfp (not a refused input): report and abort, so
 * libFuzzer saves the input. */
#define fz_assert(cond, ...) do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
            abort(); \
        } \
    } while (0)

/* Where a harness keeps its files: $FP_FUZZ_TMPDIR, else /dev/shm (a
 * tmpfs: files on a disk file system cost several times the executions),
 * else $TMPDIR, else /tmp. */
static const char *fz_base(void)
{
    const char *t = getenv("FP_FUZZ_TMPDIR");
    if (t && *t) return t;
    if (access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
    t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* The harness's own temporary directory (made on first use under
 * fz_base(); removed at exit with what fz_file made in it). */
static char fz_dir_buf[512];
static char fz_files[8][600];
static int fz_nfiles;

static void fz_cleanup(void)
{
    for (int i = 0; i < fz_nfiles; i++) unlink(fz_files[i]);
    if (fz_dir_buf[0]) rmdir(fz_dir_buf);
}

static const char *fz_dir(void)
{
    if (!fz_dir_buf[0]) {
        snprintf(fz_dir_buf, sizeof fz_dir_buf, "%s/fp-fuzz.XXXXXX", fz_base());
        if (!mkdtemp(fz_dir_buf)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fz_cleanup);
    }
    return fz_dir_buf;
}

static void fz_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            perror("fuzz: write");
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Write data[0..n) to the file NAME in the harness's directory (replacing
 * it) and return its path (static storage per name slot). */
static const char *fz_file(const char *name, const void *data, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    int slot = -1;
    for (int i = 0; i < fz_nfiles; i++)
        if (strcmp(fz_files[i], path) == 0) slot = i;
    if (slot < 0) {
        if (fz_nfiles == 8) abort();
        slot = fz_nfiles++;
        snprintf(fz_files[slot], sizeof fz_files[slot], "%s", path);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    fz_write_all(fd, data, n);
    close(fd);
    return fz_files[slot];
}

/* The input as a file whose name does not matter: a memfd, opened again by
 * its path /proc/self/fd/N (no directory entry to make); a file in the
 * harness's directory when memfds or /proc are not there. */
static const char *fz_input(const void *data, size_t n)
{
    static int fd = -2;
    static char path[64];
    if (fd == -2) {
        fd = memfd_create("fp-fuzz-input", MFD_CLOEXEC);
        if (fd >= 0) {
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            if (access(path, R_OK) != 0) {
                close(fd);
                fd = -1;
            }
        }
    }
    if (fd < 0) return fz_file("input", data, n);
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        perror("fuzz: memfd");
        abort();
    }
    fz_write_all(fd, data, n);
    return path;
}

/* Remove the file NAME written by fz_file (absent is fine). */
static void fz_unlink(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    unlink(path);
}

#endif
