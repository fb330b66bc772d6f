/* fp/tasktrace.h - task-summary traces: one row per task attempt.
 *
 * Workflow managers and batch schedulers keep, for every task they ran, one
 * summary row: what was requested and what was used, no time series.
 * fp_tasktrace reads two such formats (detected from the header line, gzip
 * or plain, through zlib):
 *   FP_TASKS_NEXTFLOW  Nextflow's trace report: tab-separated (trace.txt,
 *                      the default) or comma-separated (CSV, RFC 4180
 *                      quoting), columns in any order and any subset, found
 *                      by name; the header must name `process` or `name`.
 *                      Values are raw numbers (the `trace.raw = true` form:
 *                      bytes, milliseconds, percent) or Nextflow's human
 *                      units ("4 GB", "2h 3m 4s", "12.5%"); "-" or an empty
 *                      field is missing.
 *   FP_TASKS_SLURM     `sacct --parsable2` (fields separated by '|', no
 *                      trailing '|'; `--parsable`'s trailing '|' is accepted
 *                      too). A job's step rows (JobID "ID.batch",
 *                      "ID.extern", "ID.0", ...) follow the job's own row
 *                      and are folded into it: MaxRSS and MaxVMSize are the
 *                      largest of its steps. Requests: ReqMem ("4G",
 *                      "4000M", with an old-Slurm "n" per-node or "c"
 *                      per-CPU suffix: per CPU is multiplied by the CPUs),
 *                      ReqCPUS (else AllocCPUS), Timelimit.
 *
 * Each task is returned in two parts that are never mixed:
 *   meta     what is known BEFORE the task starts, for its fingerprint:
 *            source ("nextflow"/"slurm"), workflow, process (a Nextflow
 *            process, a Slurm JobName), tag, name, attempt, req_cpus,
 *            req_mem_bytes, req_time_s, queue/partition, input_bytes when
 *            the trace has an input-size column (input_size, input_bytes);
 *            absent values are JSON null;
 *   measured what the task did (fields of the `actual` record), and
 *            outcome the rest of it (below):
 *            duration_s (realtime, else duration; Slurm Elapsed), exit_code,
 *            status, mem_bytes_peak (peak_rss; Slurm MaxRSS),
 *            mem_vmem_bytes_peak, cpu_cores_mean (%cpu / 100; Slurm
 *            TotalCPU / Elapsed), cpu_s, io_read_bytes, io_write_bytes
 *            (read_bytes / write_bytes), rchar_bytes, wchar_bytes,
 *            ctxsw_vol, ctxsw_invol; each number or null with a reason in
 *            the task's `missing` object.
 * Bytes read (rchar) is known only after a task ran: it is in measured,
 * never in meta, unless the caller asks for it with fp_tasktrace_input_from
 * (for like-with-like comparisons with methods that use it).
 *
 * Units. Sizes: a number with an optional unit B, KB, MB, GB, TB, PB (also
 * K, M, G, T, P, KiB..PiB, case-insensitive), each 1024 times the last, as
 * Nextflow's MemoryUnit and Slurm count; a bare number is bytes. Durations
 * (Nextflow): a bare number is milliseconds; else one or more terms
 * NUMBER UNIT with units d, h, m, s, ms (also day(s), hour(s), min(s),
 * sec(s)), e.g. "1d 2h", "2h 3m 4s", "3.5s", "120ms". Slurm times:
 * [DD-][HH:]MM:SS[.sss], "UNLIMITED" / "Partition_Limit" / "INVALID" are
 * missing. Percentages: a number with an optional "%".
 *
 * Ownership: fp_tasktrace is opaque (fp_tasktrace_open / _free). An
 * fp_task's json objects are new references owned by the task: release
 * them with fp_task_clear.
 */
#ifndef FP_TASKTRACE_H
#define FP_TASKTRACE_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FP_TASKS_NEXTFLOW, FP_TASKS_SLURM } fp_tasks_format;

/* Value parsers, each on one field (leading and trailing blanks ignored).
 * Return 0 with *out set, 1 when the field is missing ("-", empty, or for
 * Slurm times UNLIMITED, Partition_Limit, INVALID), -1 when it is not such
 * a value (a negative size, an unknown unit, trailing text, nan, inf). */
int fp_parse_size_bytes(const char *s, double *out);
int fp_parse_duration_s(const char *s, double *out);
int fp_parse_slurm_time_s(const char *s, double *out);
int fp_parse_percent(const char *s, double *out);

/* Is path a task-summary trace? Reads its first non-blank line: 1 (and
 * *fmt) when it is a Nextflow or sacct header, 0 when not, -1 with FP_ESYS
 * when path cannot be read. Anything but a regular file (standard input, a
 * pipe, which could be read once only; a path that does not exist) is not
 * probed: 0. */
int fp_tasktrace_probe(const char *path, fp_tasks_format *fmt, fp_err *err);

typedef struct fp_tasktrace fp_tasktrace;

/* Open path. workflow names the run in every task's meta (NULL: the file's
 * stem without a leading "trace_" / "trace-", e.g. "chipseq" from
 * trace_chipseq.csv.gz). FP_ESYS when it cannot be read, FP_EINPUT
 * "PATH:LINE: ..." when it is not a task trace (no header naming `process`
 * or `name`, or `JobID` for sacct) or the header is malformed. */
fp_tasktrace *fp_tasktrace_open(const char *path, const char *workflow, fp_err *err);
fp_tasks_format fp_tasktrace_format(const fp_tasktrace *t);
/* Also put the trace's column `col` (e.g. "rchar") into meta.input_bytes,
 * parsed as a size. FP_EUSAGE when the trace has no such column. */
int fp_tasktrace_input_from(fp_tasktrace *t, const char *col, fp_err *err);
void fp_tasktrace_free(fp_tasktrace *t);

typedef struct fp_task {
    char id[160];     /* WORKFLOW/TASK_ID (Nextflow task_id, else the row's
                         number; Slurm JobID) */
    long line;        /* the row's line in the file */
    double start_ts;  /* Unix seconds the task started (0: unknown) */
    json_t *meta;     /* before the start (see above) */
    json_t *measured; /* after the end, numbers or null */
    json_t *missing;  /* reasons for the nulls of measured */
    json_t *outcome;  /* the rest of what the task did (rchar_bytes,
                         wchar_bytes, mem_vmem_bytes_peak, mem_rss_bytes,
                         syscr, syscw, ctxsw_vol, ctxsw_invol; Slurm:
                         mem_vmem_bytes_peak, steps): only what the trace
                         has, for the actual's `outcome` */
} fp_task;

/* Next task: 1, 0 at end, -1 with FP_EINPUT "PATH:LINE: what is wrong"
 * (a wrong number of fields, a value that is not of its column's kind,
 * naming the column and the value) or FP_ESYS. */
int fp_tasktrace_next(fp_tasktrace *t, fp_task *task, fp_err *err);
void fp_task_clear(fp_task *task);
/* With skip on, a malformed row (FP_EINPUT that moved past it) is skipped
 * and counted instead of ending the read. */
void fp_tasktrace_skip_bad(fp_tasktrace *t, bool skip);
long fp_tasktrace_skipped(const fp_tasktrace *t);

/* The `fingerprint` record of a task: every feature fp_fingerprint makes,
 * from meta alone (every sample metric null, "task-summary trace: no
 * samples before the task starts"), t = 0. */
json_t *fp_task_fingerprint(const fp_task *task, const fp_target *tg);
/* Its `actual` record: every field fp_actual writes (null with a reason
 * where the trace has no such value: a summary has a peak or a mean, not
 * the distribution), the measured fields over them, `outcome`, meta. */
json_t *fp_task_actual(const fp_task *task, const fp_target *tg);

#ifdef __cplusplus
}
#endif

#endif
