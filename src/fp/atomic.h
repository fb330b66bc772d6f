/* fp/atomic.h - write a file so that a reader sees the old or the new one.
 *
 * The one way libfp and the tools write a whole file that others read
 * while it is rewritten (models, SVG charts, Prometheus textfiles, model
 * backups): fp_atomic_write.
 *
 * Ownership: plain values; nothing is kept between calls.
 */
#ifndef FP_ATOMIC_H
#define FP_ATOMIC_H

#include <stddef.h>
#include "fp/error.h"

/* Write len bytes of data to path. What happens depends on what path is
 * (lstat):
 *   - nothing, or a regular file: replaced atomically: a temporary file
 *     ".NAME.XXXXXX" in the same directory, written, fsync()ed, given the
 *     mode of the file it replaces (0644 for a new one), renamed over path,
 *     the directory fsync()ed; on failure the temporary file is removed and
 *     path is left as it was;
 *   - a character device or a FIFO (/dev/null, /dev/stdout, a pipe): opened
 *     and written through (not atomic: such a path is a stream, and
 *     replacing it would break it for everyone else);
 *   - a symbolic link: followed (to its final target, as a shell's ">" or
 *     an editor does), and the target is treated by the rules here: a
 *     regular file is replaced atomically in its own directory, the link
 *     stays; a link to nothing, or to a directory, is refused;
 *   - anything else (a directory, a block device, a socket): refused,
 *     never replaced.
 * FP_ESYS with a message naming path (and what it is, when refused). */
int fp_atomic_write(const char *path, const char *data, size_t len, fp_err *err);

#endif
