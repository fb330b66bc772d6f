/* fp/promfile.h - metrics for dashboards: a Prometheus text-format file
 * for node_exporter's textfile collector.
 *
 * An fp_promfile holds metric families (name, type, help) and their
 * samples (label set -> value), and writes them in the Prometheus text
 * exposition format 0.0.4:
 *     # HELP fp_prediction_cores Predicted CPU need ...
 *     # TYPE fp_prediction_cores gauge
 *     fp_prediction_cores{id="w1",resource="cpu_cores",level="0.9"} 1.5
 * Families come out in the order they were declared (a family without a
 * sample is left out), samples in the order their label set was first
 * set. Setting a label set again replaces its value (a gauge's "latest").
 * Label values are escaped as the format wants: backslash as \\, double
 * quote as \", newline as \n (HELP text: backslash and newline); they
 * should be UTF-8 (strings read by jansson are). Values are written with
 * the fewest digits that read back to the same double ("NaN", "+Inf",
 * "-Inf" for the non-finite ones). No timestamps: the collector stamps
 * the scrape.
 *
 * node_exporter reads every *.prom file of its --collector.textfile.directory
 * at each scrape, so the file must be replaced atomically:
 * fp_promfile_write writes a temporary file ".NAME.XXXXXX" (not *.prom) in
 * the same directory, fsyncs it and renames it over the path.
 *
 * Ownership: an fp_promfile owns copies of every string given to it; free
 * it with fp_promfile_free. fp_promfile_text returns a string the caller
 * frees with free(). Nothing here prints or exits.
 */
#ifndef FP_PROMFILE_H
#define FP_PROMFILE_H

#include <stddef.h>
#include "fp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_promfile fp_promfile;

/* A new, empty set; NULL when out of memory. */
fp_promfile *fp_promfile_new(void);
void fp_promfile_free(fp_promfile *p);
/* Drop every sample; the families stay declared. */
void fp_promfile_clear(fp_promfile *p);

/* Declare family name ([a-zA-Z_:][a-zA-Z0-9_:]*) of type "gauge",
 * "counter" or "untyped", with a help text (NULL: none). Declaring a name
 * again with the same type does nothing. FP_EUSAGE for a bad name or type,
 * or the same name with another type; and, as `promtool check metrics`
 * would refuse them, for a name ending in _sum, _count or _bucket (the
 * series of summaries and histograms) and a counter whose name does not
 * end in _total. */
int fp_promfile_declare(fp_promfile *p, const char *name, const char *type, const char *help,
                        fp_err *err);

/* Set the sample of family name (declared) with the labels to v. labels
 * is NULL or a NULL-terminated array of name, value pairs: {"id", "w1",
 * "resource", "cpu_cores", NULL}; label names are [a-zA-Z_][a-zA-Z0-9_]*
 * and do not start with "__", at most once each; a NULL value is "".
 * "quantile" and "le" are refused: Prometheus reserves them for summaries
 * and histograms (promtool: non-summary metrics should not have "quantile"
 * label). FP_EUSAGE for an undeclared family or a bad label name; FP_ESYS
 * out of memory. */
int fp_promfile_set(fp_promfile *p, const char *name, const char *const *labels, double v,
                    fp_err *err);

/* Samples held. */
int fp_promfile_count(const fp_promfile *p);

/* The text of the file (see above); *len (may be NULL) its length. NULL
 * with FP_ESYS when out of memory. */
char *fp_promfile_text(const fp_promfile *p, size_t *len, fp_err *err);

/* Write the text to path atomically (see above). FP_ESYS naming path; the
 * temporary file is removed on failure and path keeps its old content. */
int fp_promfile_write(const fp_promfile *p, const char *path, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
