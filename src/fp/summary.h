/* fp/summary.h - numbers for people, and the human summary of a run.
 *
 * Quantities. Every tool that shows a number to a person (fp-capture
 * --summary, fp-diff --table, the summaries of fp-run and fp-apply)
 * writes it the same way, through fp_fmt_*:
 *   bytes        binary prefixes, as the rest of fp and the kernel's
 *                cgroup files do: "512 B", "1.5 KiB", "300.0 MiB",
 *                "2.5 GiB" (one decimal from KiB on);
 *   bytes/s      the same with "/s": "12.0 MiB/s";
 *   byte-hours   "GiB-h" etc. (wasted memory over time);
 *   cores        "1.37 cores", core-hours "0.25 core-h";
 *   seconds      "850 ms", "2.0 s", "3 min 20 s", "1 h 05 min", "3.2 d";
 *   hours        as seconds (a wasted_h of a CPU is core-h, see above);
 *   shares       "96 %";
 *   plain        counts and unknown units: "%.4g" without an exponent
 *                up to 1e15 ("327000", "0.1528").
 * A value that is not finite is written "-". The unit of a name is read
 * from its suffix by fp_fmt_unit_of ("mem_bytes_peak" bytes,
 * "io_read_Bps_mean" bytes/s, "cpu_cores_p95" cores, "duration_s"
 * seconds, "*_pct" a share in percent points), so tables of features
 * (fp-diff --compare) carry units too.
 *
 * Summaries. An fp_summary collects, per workload id, the records a tool
 * wrote or passed on (prediction, allocation, actual, error; others are
 * ignored), and fp_summary_text turns one workload's into a few lines of
 * text for a person: what was predicted (the first prediction, the one
 * the error record scores), the limits set and why (the first
 * allocation's limits with the policy's reason per resource, what the
 * back-end could not set, and how many changes followed), what the
 * workload really used (from its actual), and the verdict per resource
 * (from the error record: under, over, fits; OOM kill, throttling):
 *   under   the use was above the allocation, or the workload failed
 *           (above a hard limit) or was harmed (fp_actual_harm);
 *   over    slack above FP_SUMMARY_OVER (most of the allocation unused);
 *   fits    otherwise.
 * The overall verdict is the worst of them (under, then over, then fits).
 * Without an error record (fp-apply, which sees no actual) the text stops
 * at the limits.
 *
 * Ownership: the fp_fmt_* functions write into the caller's buffer (of n
 * bytes, truncating) and return it. An fp_summary keeps a reference to the
 * records it was given (json_incref) until fp_summary_forget or
 * fp_summary_free; fp_summary_text returns a string the caller frees.
 * Nothing here prints or exits.
 */
#ifndef FP_SUMMARY_H
#define FP_SUMMARY_H

#include <stddef.h>
#include <jansson.h>
#include "fp/prediction.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Slack (share of the allocation unused at the peak) above which a
 * resource's verdict is "over". */
#define FP_SUMMARY_OVER 0.5

typedef enum {
    FP_UNIT_NONE,          /* a plain number */
    FP_UNIT_BYTES,
    FP_UNIT_BYTES_PS,      /* bytes per second */
    FP_UNIT_BYTE_H,        /* byte-hours */
    FP_UNIT_CORES,
    FP_UNIT_CORE_H,        /* core-hours */
    FP_UNIT_SECONDS,
    FP_UNIT_HOURS,         /* a duration given in hours */
    FP_UNIT_SHARE,         /* a share in [0, 1], shown in percent */
    FP_UNIT_PCT            /* already in percent points */
} fp_unit;

/* v in unit u (see above) into buf. */
const char *fp_fmt(double v, fp_unit u, char *buf, size_t n);
/* Shorthands: bytes; a value of resource r (its unit); seconds. */
const char *fp_fmt_bytes(double v, char *buf, size_t n);
const char *fp_fmt_resource(fp_resource r, double v, char *buf, size_t n);
const char *fp_fmt_duration(double seconds, char *buf, size_t n);
/* The unit of a resource, and the unit a name's suffix says (see above;
 * FP_UNIT_NONE when it says none). */
fp_unit fp_resource_unit(fp_resource r);
fp_unit fp_fmt_unit_of(const char *name);
/* The waste unit of resource r: core-h for CPU, byte-h for the others. */
fp_unit fp_resource_waste_unit(fp_resource r);
/* A short human name of resource r: "cpu", "memory", "disk read", ... */
const char *fp_resource_label(fp_resource r);

typedef struct fp_summary fp_summary;

/* A new, empty collector; NULL when out of memory. */
fp_summary *fp_summary_new(void);
void fp_summary_free(fp_summary *s);

/* Note rec (borrowed; a reference is kept when it is used) under its id.
 * Records without an id, or of another type, are ignored. 0, or -1 when
 * out of memory (the record is then not kept). */
int fp_summary_add(fp_summary *s, const json_t *rec);

/* Workloads noted so far, in the order first seen: count, and the id of
 * the i-th (NULL past the end). */
int fp_summary_count(const fp_summary *s);
const char *fp_summary_id(const fp_summary *s, int i);

/* The summary of workload id, headed "TOOL summary: ID" (tool may be
 * NULL), as lines of text ending in '\n'; the caller frees it. NULL when
 * nothing was noted for id, or out of memory. */
char *fp_summary_text(const fp_summary *s, const char *id, const char *tool);

/* Drop what was noted for id (after its summary was shown). */
void fp_summary_forget(fp_summary *s, const char *id);

#ifdef __cplusplus
}
#endif

#endif
