/* fp/chart.h - SVG pictures: the predicted band against what a workload
 * used, and the slack / violation trade-off of allocation policies.
 *
 * Two kinds of chart, each a standalone SVG 1.1 document (UTF-8, 800 x 400
 * user units, no script, no external reference):
 *
 *   band      one workload and one resource over time (x: seconds since
 *             the workload started). The predicted band is shaded between
 *             a low and a high quantile, the middle quantile is a line;
 *             a prediction holds from its t until the next one (the last
 *             until the end of the chart), so both are steps. The applied
 *             limit (from allocation records) is a step line too, the
 *             usage (from samples) a line through its points.
 *   tradeoff  slack (x: share of the allocation left unused) against the
 *             violation rate (y: share of observations above the
 *             allocation), one labelled point per (series, label) - a
 *             series is a model, a label the quantile or policy that set
 *             the allocation - and the points of a series joined in the
 *             order given. Each series has a colour of its own (a
 *             palette, then generated hues); each point's label goes
 *             where its estimated box (0.62 em per character, the font
 *             size high) stays inside the plot and overlaps no other
 *             label and no point, or is left out (the point's <title>
 *             still names it).
 * Axes: bytes (unit "bytes", "bytes/s") in the binary unit the largest
 * value calls for (KiB, MiB, GiB, TiB), never SI's k, M, G; time in s,
 * then min or h when long; the trade-off's shares in percent.
 *
 * Each drawn series is one <path> (or group of <circle>) whose class names
 * it ("band", "mid", "limit", "use", "point") and whose data-points
 * attribute counts the input points drawn, so a test or a script can find
 * them. A value that is not finite is a gap: the line or band stops before
 * it and starts again after it. Every string taken from the caller (title,
 * unit, names, labels) is XML-escaped (& < > " ' as entities; control
 * characters XML 1.0 forbids and invalid UTF-8 bytes become '?'), so no
 * input can end the document or open an element. Numbers are written in
 * the C locale, at most 2 decimals for coordinates.
 *
 * Ownership: the chart structs borrow their arrays and strings for the
 * call. fp_chart_*_svg return a NUL-terminated string the caller frees
 * with free(); nothing here prints or exits.
 */
#ifndef FP_CHART_H
#define FP_CHART_H

#include <stddef.h>
#include "fp/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One prediction of the band chart: from t on, [low, high] and mid. */
typedef struct fp_chart_band_pt {
    double t, low, mid, high;
} fp_chart_band_pt;

/* A point of a line: value v at time t. */
typedef struct fp_chart_pt {
    double t, v;
} fp_chart_pt;

typedef struct fp_chart_band {
    const char *title;             /* "w1: cpu_cores" */
    const char *unit;              /* of the y axis: "cores", "bytes" */
    const char *low_name, *mid_name, *high_name;   /* legend: "p10", "p50", "p90" */
    const fp_chart_band_pt *pred;  /* ascending t */
    int n_pred;
    const fp_chart_pt *limit;      /* the limit from t on; NAN: none */
    int n_limit;
    const fp_chart_pt *use;        /* usage samples */
    int n_use;
    double t_end;                  /* right end of the x axis; NAN: the
                                      largest finite t given */
} fp_chart_band;

/* The band chart as an SVG document; *len (may be NULL) gets its length.
 * NULL with FP_ESYS when out of memory. Points with a non-finite t are
 * left out; a chart without any finite value says "no data". */
char *fp_chart_band_svg(const fp_chart_band *c, size_t *len, fp_err *err);

/* One policy of the trade-off chart. */
typedef struct fp_chart_tradeoff_pt {
    const char *series;            /* model; NULL or "" unnamed */
    const char *label;             /* "p90", "allocation" */
    double slack, violation;       /* shares in [0, 1]; not finite: not drawn */
} fp_chart_tradeoff_pt;

typedef struct fp_chart_tradeoff {
    const char *title;
    const fp_chart_tradeoff_pt *pts;
    int n;
} fp_chart_tradeoff;

/* The trade-off chart as an SVG document (see above); as
 * fp_chart_band_svg. */
char *fp_chart_tradeoff_svg(const fp_chart_tradeoff *c, size_t *len, fp_err *err);

/* Write len bytes of svg to path atomically (a temporary file in the same
 * directory, fsync, rename, fsync the directory): a reader sees the old
 * file or the new one. FP_ESYS naming path; the temporary file is removed
 * on failure. */
int fp_chart_save(const char *path, const char *svg, size_t len, fp_err *err);

/* The text s XML-escaped (see above) into a new string the caller frees;
 * NULL when out of memory. */
char *fp_xml_escape(const char *s);

#ifdef __cplusplus
}
#endif

#endif
