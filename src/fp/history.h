/* fp/history.h - the history store: records of past runs, kept safely.
 *
 * A history is a directory of JSON-lines files (by default
 * $XDG_DATA_HOME/fp, else ~/.local/share/fp): `history.jsonl`, the file
 * appended to, and `history.1.jsonl` ... `history.N.jsonl`, older ones
 * (1 the newest). Appends are safe between processes and against a kill:
 *   - fp_history_append takes an exclusive flock on the directory's
 *     `.lock` file, repairs a torn tail (a last line without its newline,
 *     left by a writer killed mid-write, is cut off), writes the records
 *     with one write(2) on an O_APPEND descriptor, fsyncs, and unlocks;
 *   - when the file would pass max_bytes, it is rotated first (renames
 *     under the same lock; the oldest beyond `keep` is removed), so the
 *     store's size is bounded by about (keep + 1) x max_bytes.
 * Readers (fp_history_open) take a shared lock while they read a file and
 * ignore a torn last line, so they never see half a record.
 * The store is trusted only as ssh trusts ~/.ssh: its directory and every
 * file of it (the live one, the rotated ones, .lock) must be owned by the
 * caller (effective uid) or root and not be writable by group or others,
 * and no file is opened through a symbolic link (O_NOFOLLOW): a symlinked
 * history.jsonl would have its "torn tail" cut off whatever file it
 * points to. Otherwise fp_history_new, _append and _scan fail with
 * FP_ESYS naming the path and the reason.
 *
 * Ownership: fp_history is opaque (fp_history_new / fp_history_free); it
 * holds the directory path and the lock descriptor. Records passed in are
 * borrowed.
 */
#ifndef FP_HISTORY_H
#define FP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "fp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_history fp_history;

typedef struct fp_history_opts {
    size_t max_bytes;   /* rotate the live file beyond this; default 64 MiB */
    int keep;           /* rotated files kept; default 4 */
} fp_history_opts;

void fp_history_opts_default(fp_history_opts *o);

/* The default directory: $XDG_DATA_HOME/fp, else $HOME/.local/share/fp,
 * written into buf. -1 when neither variable is set. */
int fp_history_default_dir(char *buf, size_t n);

/* Open (creating the directory, mode 0700, if needed) a history. */
fp_history *fp_history_new(const char *dir, const fp_history_opts *o, fp_err *err);
void fp_history_free(fp_history *h);
const char *fp_history_dir(const fp_history *h);

/* Append n records (each one line) atomically with respect to other
 * writers and readers; durable when it returns 0. */
int fp_history_append(fp_history *h, json_t *const *recs, size_t n, fp_err *err);

/* Call fn for every whole record of the store, oldest file first, in file
 * order. Lines that are not valid records, or longer than
 * FP_LINE_MAX_BYTES (fp/record.h), are counted in *bad (nullable) and
 * skipped. fn returns non-zero to stop. */
typedef int (*fp_history_fn)(void *arg, json_t *rec);
int fp_history_scan(fp_history *h, fp_history_fn fn, void *arg, long *bad, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
