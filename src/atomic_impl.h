/* atomic_impl.h - replace a file atomically (internal to libfp).
 *
 * Used by the writers whose files are read while they are rewritten (SVG
 * charts, Prometheus textfiles): a reader sees the old file or the new one,
 * never a part.
 */
#ifndef FP_ATOMIC_IMPL_H
#define FP_ATOMIC_IMPL_H

#include <stddef.h>
#include "fp/error.h"

/* Write len bytes of data to path: a temporary file ".NAME.XXXXXX" in the
 * same directory, write, fsync, chmod 0644, rename over path, fsync the
 * directory. On failure the temporary file is removed and path is left as
 * it was; FP_ESYS with a message naming path. */
int fp_atomic_write(const char *path, const char *data, size_t len, fp_err *err);

#endif
