/* error.c - fp_err helpers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "fp/error.h"

static int vset(fp_err *err, fp_errclass cls, int e, const char *fmt, va_list ap)
{
    if (!err) return -1;
    err->cls = cls;
    err->sys_errno = e;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (e) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(e));
    }
    return -1;
}

int fp_err_set(fp_err *err, fp_errclass cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(err, cls, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int fp_err_sys(fp_err *err, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vset(err, FP_ESYS, e, fmt, ap);
    va_end(ap);
    errno = e;
    return -1;
}

void fp_err_clear(fp_err *err)
{
    if (err) { err->cls = FP_OK; err->sys_errno = 0; err->msg[0] = 0; }
}

int fp_exit_code(const fp_err *err)
{
    if (!err) return FP_EXIT_OK;
    switch (err->cls) {
    case FP_OK: return FP_EXIT_OK;
    case FP_EINPUT: return FP_EXIT_INPUT;
    case FP_ESYS:
    case FP_EUSAGE:
    default: return FP_EXIT_ERROR;
    }
}
