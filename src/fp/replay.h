/* fp/replay.h - recorded traces turned into samples.
 *
 * A replay source reads a trace and yields fp_sample values in time order,
 * so that fingerprints and actuals of recorded workloads go through exactly
 * the code live capture uses. Formats (detected from the content, gzip or
 * plain):
 *   FP_TRACE_FP        fp's own `sample` records (JSON lines); other record
 *                      types are skipped, and so are samples whose id differs
 *                      from the first record's; t is the record's own t;
 *   FP_TRACE_BITBRAINS GWA-T-12 Bitbrains per-VM CSV (`;`+TAB separated,
 *                      "Timestamp [ms]" holding Unix seconds); duplicate
 *                      timestamps are dropped (first kept);
 *   FP_TRACE_EAGER     nf-core/eager InfluxDB CSV triple
 *                      PREFIX_{cpu,memory,metadata}.csv[.gz]; any of the
 *                      three paths (or PREFIX itself) names the task. CPU and
 *                      memory series are merged on _time (a value is carried
 *                      forward until its series next reports). The series
 *                      are loaded on the first fp_replay_next (malformed
 *                      rows are reported there); a task with metadata only
 *                      opens fine and yields no samples.
 * Metadata the trace carries (requested CPUs and memory, input sizes, the
 * process name, the command) is returned as a JSON object for the
 * fingerprint's `meta`.
 *
 * Ownership: fp_replay is opaque, created by fp_replay_open and freed by
 * fp_replay_free; the meta object belongs to the replay (json_incref to
 * keep it).
 */
#ifndef FP_REPLAY_H
#define FP_REPLAY_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/metric.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FP_TRACE_FP, FP_TRACE_BITBRAINS, FP_TRACE_EAGER } fp_trace_format;

typedef struct fp_replay fp_replay;

/* Open path and detect its format. FP_ESYS if it cannot be read, FP_EINPUT
 * (naming the file) if it is no known format. "-" is standard input; it,
 * and any path that is not a regular file (a pipe, a FIFO, /dev/fd/N of a
 * process substitution), is read once into an unlinked temporary file
 * ($TMPDIR, else /tmp) that the replay reads from (an fp or Bitbrains trace
 * is read more than once). An eager task (three files) cannot come that way. */
fp_replay *fp_replay_open(const char *path, fp_err *err);
fp_trace_format fp_replay_format(const fp_replay *r);
/* Suggested workload id: the trace's own (fp), "bitbrains/" + the VM file's
 * stem (bitbrains), PROCESS/TASK (eager). */
const char *fp_replay_id(const fp_replay *r);
/* Metadata object (may be empty, never NULL). */
json_t *fp_replay_meta(const fp_replay *r);
/* What the trace knows only after the workload ran (eager: output_files,
 * output_bytes); kept apart from meta so it never leaks into a fingerprint.
 * May be empty, never NULL; belongs to the replay like meta. */
json_t *fp_replay_outcome(const fp_replay *r);
/* Next sample, t in seconds since the trace's first row: 1, 0 at end, -1
 * with err (FP_EINPUT "PATH:LINE: what is wrong") on a malformed row. For
 * an fp trace, 2 means a record of a type replay does not make (anything
 * but sample, fingerprint and actual): take it with fp_replay_take and pass
 * it on unchanged. */
int fp_replay_next(fp_replay *r, fp_sample *s, fp_err *err);
/* The record behind the last return of 2 (a new reference), or NULL. */
json_t *fp_replay_take(fp_replay *r);
/* With skip on, a malformed line of an fp or Bitbrains trace is skipped and
 * counted instead of ending the replay (eager tasks are read whole and still
 * fail). */
void fp_replay_skip_bad(fp_replay *r, bool skip);
long fp_replay_skipped(const fp_replay *r);
void fp_replay_free(fp_replay *r);

#ifdef __cplusplus
}
#endif

#endif
