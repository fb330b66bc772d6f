/* fp/error.h - how libfp reports failure.
 *
 * libfp never prints and never exits. A function that can fail takes a
 * `fp_err *` as its last argument, returns -1 (or NULL) on failure and fills
 * the error with a class and a message; on success it leaves the error
 * untouched. The caller (a tool's main) maps the class to an exit code.
 *
 * Ownership: fp_err is a plain value owned by the caller, usually on its
 * stack; it holds no pointers and needs no cleanup.
 */
#ifndef FP_ERROR_H
#define FP_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FP_OK = 0,
    FP_ESYS = 2,   /* the system refused: I/O, permissions, a missing daemon */
    FP_EINPUT = 3, /* the input was malformed: a record, a trace, an id */
    FP_EUSAGE = 4  /* the caller asked for something impossible */
} fp_errclass;

typedef struct fp_err {
    fp_errclass cls;
    int sys_errno;       /* errno when cls == FP_ESYS, else 0 */
    char msg[512];
} fp_err;

/* Set err (if not NULL) to class cls with a printf-style message. Returns -1
 * so a failing function can `return fp_err_set(...)`. */
int fp_err_set(fp_err *err, fp_errclass cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like fp_err_set with FP_ESYS, appending ": strerror(errno)". */
int fp_err_sys(fp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fp_err_clear(fp_err *err);

/* The tools' exit codes (fp(7), EXIT STATUS). A tool may add its own above
 * FP_EXIT_INPUT (fp-diff's 4) or pass a workload's status through. */
enum {
    FP_EXIT_OK = 0,
    FP_EXIT_THRESHOLD = 1, /* a score, a comparison or a retraining refused */
    FP_EXIT_ERROR = 2,     /* a usage error or a system error */
    FP_EXIT_INPUT = 3      /* bad input */
};

/* The exit code for an error of err's class: FP_ESYS and FP_EUSAGE give
 * FP_EXIT_ERROR, FP_EINPUT gives FP_EXIT_INPUT; FP_OK (or err NULL) gives
 * FP_EXIT_OK. An unknown class counts as FP_EXIT_ERROR. libfp computes the
 * number; only a tool's main exits with it. */
int fp_exit_code(const fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
