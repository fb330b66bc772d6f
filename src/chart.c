/* chart.c - SVG band and trade-off charts (see fp/chart.h).
 *
 * The document is printed into a memory stream (open_memstream) with
 * fprintf; every number printed goes through num(), which never prints a
 * non-finite value, and every caller string through put_text(), which
 * escapes it. Layout is fixed: 800 x 400, the plot in [L, W-R] x [T, H-B].
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp/atomic.h"
#include "fp/chart.h"

#define W 800
#define H 400
#define ML 90    /* margins: left, right, top, bottom */
#define MR 20
#define MT 70
#define MB 50

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#ad494a"
};
#define N_PALETTE (int)(sizeof palette / sizeof palette[0])

/* The colour of the i-th series: the palette, then hues a golden angle
 * apart at two lightnesses, so that no two series of a chart share one. */
static void series_color(int i, char *buf, size_t n)
{
    if (i < N_PALETTE) {
        snprintf(buf, n, "%s", palette[i]);
        return;
    }
    int k = i - N_PALETTE;
    double h = fmod(k * 137.508 + 15, 360) / 60, l = k % 2 ? 0.35 : 0.5, c = 0.75 * (1 - fabs(2 * l - 1));
    double x = c * (1 - fabs(fmod(h, 2) - 1)), m = l - c / 2, r = 0, g = 0, b = 0;
    switch ((int)h) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
    }
    snprintf(buf, n, "#%02x%02x%02x", (int)lround((r + m) * 255), (int)lround((g + m) * 255),
             (int)lround((b + m) * 255));
}

/* ------------------------------------------------------------ text */

/* Length of the valid UTF-8 sequence at s that XML 1.0 allows as a
 * character, or 0 when the byte at s must be replaced. */
static int xml_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
    int n;
    unsigned lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }       /* no surrogates */
    else if (c == 0xEE || c == 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)) return 0;   /* U+FFFE, U+FFFF */
    return n;
}

/* s escaped for XML text and attribute values into f (NULL: nothing). */
static void put_text(FILE *f, const char *s)
{
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        switch (*p) {
        case '&': fputs("&amp;", f); p++; continue;
        case '<': fputs("&lt;", f); p++; continue;
        case '>': fputs("&gt;", f); p++; continue;
        case '"': fputs("&quot;", f); p++; continue;
        case '\'': fputs("&apos;", f); p++; continue;
        default: break;
        }
        int n = xml_char_len(p);
        if (n == 0) {
            fputc('?', f);
            p++;
        } else {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        }
    }
}

char *fp_xml_escape(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    put_text(f, s);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* A coordinate or size: finite, 2 decimals, no trailing zeros. */
static void num(FILE *f, double v)
{
    if (!isfinite(v)) v = 0;
    if (v > 1e6) v = 1e6;
    if (v < -1e6) v = -1e6;
    char b[64];
    snprintf(b, sizeof b, "%.2f", v);
    char *e = b + strlen(b) - 1;
    while (*e == '0') *e-- = 0;
    if (*e == '.') *e = 0;
    fputs(strcmp(b, "-0") == 0 ? "0" : b, f);
}

/* A tick value in the axis's unit (v / scale): up to 6 digits (45000,
 * not 4.5e+04). */
static void tick_label(double v, double scale, char *b, size_t n)
{
    v /= scale;
    if (fabs(v) < 1e-9) v = 0;
    snprintf(b, n, "%.6g", v);
}

/* The unit an axis of values up to vmax in unit shows them in, and the
 * scale that turns a value into it: bytes in KiB, MiB, GiB or TiB (as the
 * rest of fp writes them, never SI's k, M, G), bytes/s the same per
 * second, seconds in minutes or hours when long; anything else as it is. */
static double axis_unit(const char *unit, double vmax, char *name, size_t n)
{
    bool bytes = unit && strcmp(unit, "bytes") == 0, rate = unit && strcmp(unit, "bytes/s") == 0;
    if (bytes || rate) {
        static const char *const pre[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        int k = 0;
        double scale = 1;
        while (k < 5 && fabs(vmax) >= scale * 1024) {
            scale *= 1024;
            k++;
        }
        snprintf(name, n, "%s%s", pre[k], rate ? "/s" : "");
        return scale;
    }
    if (unit && strcmp(unit, "s") == 0) {
        double scale = vmax >= 3 * 3600 ? 3600 : vmax >= 600 ? 60 : 1;
        snprintf(name, n, "%s", scale == 3600 ? "h" : scale == 60 ? "min" : "s");
        return scale;
    }
    snprintf(name, n, "%s", unit ? unit : "");
    return 1;
}

/* ------------------------------------------------------------ axes */

typedef struct axis {
    double lo, hi, step;           /* value range and tick step */
    double p0, p1;                 /* pixel ends (p0 for lo) */
    double scale;                  /* ticks are whole steps of the unit shown
                                      (axis_unit): a value / scale */
} axis;

/* 1, 2 or 5 times a power of ten, the nearest to x (> 0). */
static double nice(double x)
{
    double e = pow(10, floor(log10(x)));
    double f = x / e;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * e;
}

/* An axis over [lo, hi] widened to whole ticks (about ticks of them),
 * ticks nice in the unit shown (value / scale; scale > 0). */
static void axis_fit(axis *a, double lo, double hi, int ticks, double p0, double p1, double scale)
{
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo) || hi < lo) { lo = 0; hi = 1; }
    if (hi == lo) hi = lo == 0 ? 1 : lo + fabs(lo) * 0.1;
    a->scale = scale > 0 && isfinite(scale) ? scale : 1;
    a->step = nice((hi - lo) / ticks / a->scale) * a->scale;
    if (!isfinite(a->step) || a->step <= 0) a->step = (hi - lo) / ticks;
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    if (!(a->hi > a->lo)) a->hi = a->lo + a->step;
    a->p0 = p0;
    a->p1 = p1;
}

/* The pixel of value v on a (NAN when v is not finite). */
static double px(const axis *a, double v)
{
    if (!isfinite(v)) return NAN;
    double p = a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
    return isfinite(p) ? p : NAN;
}

/* The frame, grid, ticks and axis labels. */
static void draw_axes(FILE *f, const axis *x, const axis *y, const char *x_label, const char *y_label,
                      const char *y_unit)
{
    fputs("<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n", f);
    int nt = (int)floor((x->hi - x->lo) / x->step + 0.5);
    for (int i = 0; i <= nt && i <= 50; i++) {
        double v = x->lo + i * x->step, p = px(x, v);
        char b[48];
        tick_label(v, x->scale, b, sizeof b);
        fputs("<line x1=\"", f); num(f, p); fputs("\" x2=\"", f); num(f, p);
        fprintf(f, "\" y1=\"%d\" y2=\"%d\" stroke=\"#e5e5e5\"/>", MT, H - MB);
        fputs("<text x=\"", f); num(f, p);
        fprintf(f, "\" y=\"%d\" text-anchor=\"middle\">", H - MB + 15);
        put_text(f, b);
        fputs("</text>\n", f);
    }
    nt = (int)floor((y->hi - y->lo) / y->step + 0.5);
    for (int i = 0; i <= nt && i <= 50; i++) {
        double v = y->lo + i * y->step, p = px(y, v);
        char b[48];
        tick_label(v, y->scale, b, sizeof b);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"", ML, W - MR); num(f, p);
        fputs("\" y2=\"", f); num(f, p); fputs("\" stroke=\"#e5e5e5\"/>", f);
        fprintf(f, "<text x=\"%d\" y=\"", ML - 6); num(f, p + 4);
        fputs("\" text-anchor=\"end\">", f);
        put_text(f, b);
        fputs("</text>\n", f);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n",
            ML, MT, W - ML - MR, H - MT - MB);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">", (ML + W - MR) / 2,
            H - 12);
    put_text(f, x_label);
    fputs("</text>\n", f);
    int yc = (MT + H - MB) / 2;
    fprintf(f, "<g transform=\"translate(20 %d) rotate(-90)\"><text x=\"0\" y=\"0\" "
            "text-anchor=\"middle\" font-size=\"12\">", yc);
    put_text(f, y_label);
    if (y_unit && y_unit[0]) {
        fputs(" (", f);
        put_text(f, y_unit);
        fputs(")", f);
    }
    fputs("</text></g>\n</g>\n", f);
}

static void begin(FILE *f, const char *title)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H, W, H);
    fputs("<title>", f);
    put_text(f, title);
    fputs("</title>\n", f);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">", W / 2);
    put_text(f, title);
    fputs("</text>\n", f);
}

/* Legend entries, left to right under the title, wrapping to a second row
 * (the space above the plot holds two; a third would overlap the plot and
 * goes on at the second row's end, clipped by the frame). */
typedef struct legend {
    FILE *f;
    double x;
    int row;
} legend;

static void legend_item(legend *lg, const char *kind, const char *color, const char *text,
                        const char *suffix)
{
    FILE *f = lg->f;
    size_t n = (text ? strlen(text) : 0) + (suffix ? strlen(suffix) : 0);
    if (n > 40) n = 40;
    double wd = 34 + 6.5 * (double)n;
    if (lg->x > ML && lg->x + wd - 12 > W - MR && lg->row == 0) {
        lg->row = 1;
        lg->x = ML;
    }
    double dy = lg->row ? 15 : 0;
    fputs("<g class=\"legend\">", f);
    if (dy > 0) fputs("<g transform=\"translate(0 15)\">", f);
    if (strcmp(kind, "area") == 0) {
        fputs("<rect x=\"", f); num(f, lg->x);
        fprintf(f, "\" y=\"44\" width=\"18\" height=\"10\" fill=\"%s\" fill-opacity=\"0.25\"/>", color);
    } else if (strcmp(kind, "dot") == 0) {
        fputs("<circle cx=\"", f); num(f, lg->x + 9);
        fprintf(f, "\" cy=\"49\" r=\"4\" fill=\"%s\"/>", color);
    } else {
        fputs("<line x1=\"", f); num(f, lg->x); fputs("\" x2=\"", f); num(f, lg->x + 18);
        fprintf(f, "\" y1=\"49\" y2=\"49\" stroke=\"%s\" stroke-width=\"2\"%s/>", color,
                strcmp(kind, "dash") == 0 ? " stroke-dasharray=\"6 3\"" : "");
    }
    fputs("<text x=\"", f); num(f, lg->x + 22);
    fputs("\" y=\"53\" font-size=\"11\">", f);
    put_text(f, text);
    put_text(f, suffix);
    fputs(dy > 0 ? "</text></g></g>\n" : "</text></g>\n", f);
    lg->x += wd;
}

/* End the document and close the memory stream f, whose buffer and
 * length are *buf and *len (valid only after the close). */
static char *finish(FILE *f, char **buf, size_t *len, size_t *outlen, fp_err *err)
{
    fputs("</svg>\n", f);
    if (ferror(f) | fclose(f)) {
        free(*buf);
        fp_err_set(err, FP_ESYS, "out of memory writing the chart");
        return NULL;
    }
    if (outlen) *outlen = *len;
    return *buf;
}

static void no_data(FILE *f)
{
    fprintf(f, "<text class=\"nodata\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" "
            "fill=\"#888\">no data</text>\n", (ML + W - MR) / 2, (MT + H - MB) / 2);
}

/* ------------------------------------------------------------ band */

/* Where a step starting at t stops holding: at the next step's time
 * next, else (the last step) at end; never before t. */
static double hold_end(double t, double next, double end)
{
    double e = isfinite(next) ? next : end;
    return e > t ? e : t;
}

static void pt(FILE *f, char cmd, double x, double y)
{
    fputc(cmd, f);
    num(f, x);
    fputc(' ', f);
    num(f, y);
    fputc(' ', f);
}

/* A step line through (t[i], v[i]) held until t[i+1] (the last until
 * end); class cls. Non-finite v: a gap. */
static void step_line(FILE *f, const axis *X, const axis *Y, const double *t, const double *v, int n,
                      double end, const char *cls, const char *color, const char *dash)
{
    int drawn = 0;
    for (int i = 0; i < n; i++) drawn += isfinite(px(Y, v[i]));
    if (!drawn) return;
    fprintf(f, "<path class=\"%s\" data-points=\"%d\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
            "d=\"", cls, drawn, color, dash ? dash : "");
    bool on = false;
    for (int i = 0; i < n; i++) {
        double y = px(Y, v[i]);
        if (!isfinite(y)) { on = false; continue; }
        double e = hold_end(t[i], i + 1 < n ? t[i + 1] : NAN, end);
        pt(f, on ? 'L' : 'M', px(X, t[i]), y);
        pt(f, 'L', px(X, e), y);
        on = true;
    }
    fputs("\"/>\n", f);
}

char *fp_chart_band_svg(const fp_chart_band *c, size_t *outlen, fp_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        fp_err_set(err, FP_ESYS, "out of memory writing the chart");
        return NULL;
    }
    /* the points with a finite t, as arrays */
    int np = 0, nl = 0, nu = 0;
    int cap = (c->n_pred > 0 ? c->n_pred : 0) + (c->n_limit > 0 ? c->n_limit : 0) +
              (c->n_use > 0 ? c->n_use : 0) + 1;
    double *mem = malloc((size_t)cap * 6 * sizeof *mem);
    if (!mem) {
        fclose(f);
        free(buf);
        fp_err_set(err, FP_ESYS, "out of memory writing the chart");
        return NULL;
    }
    double *pt_ = mem, *plo = pt_ + cap, *pmid = plo + cap, *phi = pmid + cap;
    double *lt = phi + cap, *lv = lt + cap;
    double *ut = mem, *uv = mem;   /* set below, after the limits */
    double tmin = INFINITY, tmax = -INFINITY, vmin = 0, vmax = -INFINITY;
#define SEEN_V(v) do { if (isfinite(v)) { if ((v) > vmax) vmax = (v); if ((v) < vmin) vmin = (v); } } while (0)
    for (int i = 0; i < c->n_pred; i++) {
        const fp_chart_band_pt *p = &c->pred[i];
        if (!isfinite(p->t)) continue;
        pt_[np] = p->t; plo[np] = p->low; pmid[np] = p->mid; phi[np] = p->high;
        /* a band needs both ends */
        if (!isfinite(p->low) || !isfinite(p->high)) plo[np] = phi[np] = NAN;
        SEEN_V(plo[np]); SEEN_V(pmid[np]); SEEN_V(phi[np]);
        if (p->t < tmin) tmin = p->t;
        if (p->t > tmax) tmax = p->t;
        np++;
    }
    for (int i = 0; i < c->n_limit; i++) {
        if (!isfinite(c->limit[i].t)) continue;
        lt[nl] = c->limit[i].t;
        lv[nl] = c->limit[i].v;
        SEEN_V(lv[nl]);
        if (lt[nl] < tmin) tmin = lt[nl];
        if (lt[nl] > tmax) tmax = lt[nl];
        nl++;
    }
    /* usage reuses the tail of the limit arrays' block: cap - nl >= n_use */
    ut = lt + nl;
    uv = lv + nl;
    for (int i = 0; i < c->n_use; i++) {
        if (!isfinite(c->use[i].t)) continue;
        ut[nu] = c->use[i].t;
        uv[nu] = c->use[i].v;
        SEEN_V(uv[nu]);
        if (ut[nu] < tmin) tmin = ut[nu];
        if (ut[nu] > tmax) tmax = ut[nu];
        nu++;
    }
#undef SEEN_V
    double end = isfinite(c->t_end) ? c->t_end : tmax;
    if (isfinite(end) && end > tmax) tmax = end;
    begin(f, c->title);
    bool any = isfinite(vmax) && isfinite(tmin);
    axis X, Y;
    char xu[16], yu[32], xl[64];
    double xs = axis_unit("s", any ? tmax : 1, xu, sizeof xu);
    double ys = axis_unit(c->unit, any ? fmax(vmax, -vmin) : 1, yu, sizeof yu);
    axis_fit(&X, any ? (tmin < 0 ? tmin : 0) : 0, any ? tmax : 1, 8, ML, W - MR, xs);
    axis_fit(&Y, vmin, any ? vmax * 1.05 : 1, 5, H - MB, MT, ys);
    snprintf(xl, sizeof xl, "time since start (%s)", xu);
    draw_axes(f, &X, &Y, xl, yu[0] ? yu : "value", NULL);
    if (!any) {
        no_data(f);
        free(mem);
        return finish(f, &buf, &len, outlen, err);
    }
    if (!isfinite(end)) end = tmax;
    legend lg = { f, ML, 0 };
    fprintf(f, "<clipPath id=\"plot\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath>\n",
            ML, MT, W - ML - MR, H - MT - MB);
    fputs("<g clip-path=\"url(#plot)\">\n", f);
    /* the band: one closed subpath per run of predictions with both ends */
    int nb = 0;
    for (int i = 0; i < np; i++) nb += isfinite(px(&Y, plo[i])) && isfinite(px(&Y, phi[i]));
    if (nb) {
        fprintf(f, "<path class=\"band\" data-points=\"%d\" fill=\"%s\" fill-opacity=\"0.25\" "
                "stroke=\"none\" d=\"", nb, palette[0]);
        for (int i = 0; i < np;) {
            if (!isfinite(px(&Y, plo[i])) || !isfinite(px(&Y, phi[i]))) { i++; continue; }
            int j = i;
            while (j + 1 < np && isfinite(px(&Y, plo[j + 1])) && isfinite(px(&Y, phi[j + 1]))) j++;
            for (int k = i; k <= j; k++) {
                double e = hold_end(pt_[k], k + 1 < np ? pt_[k + 1] : NAN, end);
                pt(f, k == i ? 'M' : 'L', px(&X, pt_[k]), px(&Y, phi[k]));
                pt(f, 'L', px(&X, e), px(&Y, phi[k]));
            }
            for (int k = j; k >= i; k--) {
                double e = hold_end(pt_[k], k + 1 < np ? pt_[k + 1] : NAN, end);
                pt(f, 'L', px(&X, e), px(&Y, plo[k]));
                pt(f, 'L', px(&X, pt_[k]), px(&Y, plo[k]));
            }
            fputs("Z ", f);
            i = j + 1;
        }
        fputs("\"/>\n", f);
    }
    step_line(f, &X, &Y, pt_, pmid, np, end, "mid", palette[0], NULL);
    step_line(f, &X, &Y, lt, lv, nl, end, "limit", palette[1], " stroke-dasharray=\"6 3\"");
    /* usage: a polyline through the points, broken at gaps; a lone point
     * (gaps on both sides) is also drawn as a dot */
    int nd = 0;
    for (int i = 0; i < nu; i++) nd += isfinite(px(&Y, uv[i]));
    if (nd) {
        fprintf(f, "<path class=\"use\" data-points=\"%d\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"1.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\" d=\"",
                nd, palette[2]);
        bool on = false;
        for (int i = 0; i < nu; i++) {
            double y = px(&Y, uv[i]);
            if (!isfinite(y)) { on = false; continue; }
            pt(f, on ? 'L' : 'M', px(&X, ut[i]), y);
            on = true;
        }
        fputs("\"/>\n", f);
        for (int i = 0; i < nu; i++) {
            double y = px(&Y, uv[i]);
            bool prev = i > 0 && isfinite(px(&Y, uv[i - 1])), next = i + 1 < nu && isfinite(px(&Y, uv[i + 1]));
            if (!isfinite(y) || prev || next) continue;
            fputs("<circle class=\"use-dot\" cx=\"", f); num(f, px(&X, ut[i]));
            fputs("\" cy=\"", f); num(f, y);
            fprintf(f, "\" r=\"2.5\" fill=\"%s\"/>\n", palette[2]);
        }
    }
    fputs("</g>\n", f);
    char b[300];
    if (nb) {
        snprintf(b, sizeof b, "predicted %s..%s", c->low_name ? c->low_name : "low",
                 c->high_name ? c->high_name : "high");
        legend_item(&lg, "area", palette[0], b, NULL);
    }
    {
        int n = 0;
        for (int i = 0; i < np; i++) n += isfinite(px(&Y, pmid[i]));
        if (n) legend_item(&lg, "line", palette[0], c->mid_name ? c->mid_name : "middle", NULL);
        n = 0;
        for (int i = 0; i < nl; i++) n += isfinite(px(&Y, lv[i]));
        if (n) legend_item(&lg, "dash", palette[1], "limit", NULL);
    }
    if (nd) legend_item(&lg, "line", palette[2], "used", NULL);
    free(mem);
    return finish(f, &buf, &len, outlen, err);
}

/* ------------------------------------------------------------ tradeoff */

/* A rectangle in pixels, x0 <= x1, y0 <= y1. */
typedef struct box {
    double x0, y0, x1, y1;
} box;

/* Point labels: font size, and the box of a text estimated as a person's
 * eye (and a test) would: LABEL_EM x font size per character wide, the
 * font size high, LABEL_DESC of it below the baseline. */
#define LABEL_FS 10
#define LABEL_EM 0.62
#define LABEL_DESC 0.25

static bool overlaps(const box *a, const box *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* The UTF-8 characters of s (not its bytes). */
static size_t text_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Where the label of the point at (x, y) goes: the first place, nearest
 * first, beside the point (right, left, above, below, then the corners)
 * at growing distances, whose box stays inside the plot and overlaps none
 * of the n boxes taken (other labels, the points). Returns false when
 * none is free within 60 px. */
static bool label_place(double x, double y, const char *text, const box *taken, int n, box *out)
{
    double w = LABEL_EM * LABEL_FS * (double)text_chars(text) + 2, h = LABEL_FS + 2;
    static const double dir[][2] = { { 1, -1 }, { 1, 1 }, { -1, -1 }, { -1, 1 },
                                      { 0, -1 }, { 0, 1 }, { 1, 0 }, { -1, 0 } };
    for (double d = 6; d <= 60; d += 5) {
        for (size_t k = 0; k < sizeof dir / sizeof dir[0]; k++) {
            /* the box's anchor corner or side at distance d from the point */
            double cx = x + dir[k][0] * d, cy = y + dir[k][1] * d;
            box b;
            b.x0 = dir[k][0] > 0 ? cx : dir[k][0] < 0 ? cx - w : cx - w / 2;
            b.y0 = dir[k][1] > 0 ? cy : dir[k][1] < 0 ? cy - h : cy - h / 2;
            b.x1 = b.x0 + w;
            b.y1 = b.y0 + h;
            if (b.x0 < ML + 2 || b.x1 > W - MR - 2 || b.y0 < MT + 2 || b.y1 > H - MB - 2) continue;
            bool free_ = true;
            for (int i = 0; i < n && free_; i++) free_ = !overlaps(&b, &taken[i]);
            if (free_) {
                *out = b;
                return true;
            }
        }
    }
    return false;
}

char *fp_chart_tradeoff_svg(const fp_chart_tradeoff *c, size_t *outlen, fp_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int n = c->n > 0 ? c->n : 0;
    /* series index of each point: the first point with the same name */
    int *ser = malloc(((size_t)n + 1) * sizeof *ser);
    if (!f || !ser) {
        if (f) fclose(f);
        free(buf);
        free(ser);
        fp_err_set(err, FP_ESYS, "out of memory writing the chart");
        return NULL;
    }
    double xmax = 0, ymax = 0;
    int drawn = 0;
    for (int i = 0; i < n; i++) {
        const fp_chart_tradeoff_pt *p = &c->pts[i];
        const char *s = p->series ? p->series : "";
        ser[i] = i;
        for (int j = 0; j < i; j++)
            if (strcmp(c->pts[j].series ? c->pts[j].series : "", s) == 0) { ser[i] = ser[j]; break; }
        if (!isfinite(p->slack) || !isfinite(p->violation)) continue;
        drawn++;
        if (p->slack > xmax) xmax = p->slack;
        if (p->violation > ymax) ymax = p->violation;
    }
    begin(f, c->title);
    axis X, Y;
    /* 10 % of room beyond the largest share, but not past 1 */
    double xhi = xmax * 1.1, yhi = ymax * 1.1;
    if (xmax <= 1 && xhi > 1) xhi = 1;
    if (ymax <= 1 && yhi > 1) yhi = 1;
    axis_fit(&X, 0, xmax > 0 ? xhi : 0.1, 5, ML, W - MR, 0.01);
    axis_fit(&Y, 0, ymax > 0 ? yhi : 0.1, 5, H - MB, MT, 0.01);
    draw_axes(f, &X, &Y, "slack (% of the allocation unused)",
              "violations (% above the allocation)", NULL);
    if (!drawn) {
        no_data(f);
        free(ser);
        return finish(f, &buf, &len, outlen, err);
    }
    legend lg = { f, ML, 0 };
    int color = 0;
    /* the boxes labels must stay clear of: the labels placed so far and
     * every point */
    box *taken = malloc(((size_t)n * 2 + 1) * sizeof *taken);
    if (!taken) {
        fclose(f);
        free(buf);
        free(ser);
        fp_err_set(err, FP_ESYS, "out of memory writing the chart");
        return NULL;
    }
    int n_taken = 0;
    for (int i = 0; i < n; i++) {
        double x = px(&X, c->pts[i].slack), y = px(&Y, c->pts[i].violation);
        if (isfinite(x) && isfinite(y)) taken[n_taken++] = (box){ x - 4, y - 4, x + 4, y + 4 };
    }
    for (int s = 0; s < n; s++) {
        if (ser[s] != s) continue;
        int k = 0;
        for (int i = s; i < n; i++)
            k += ser[i] == s && isfinite(c->pts[i].slack) && isfinite(c->pts[i].violation);
        if (!k) continue;
        char col[16];
        series_color(color++, col, sizeof col);
        const char *name = c->pts[s].series && c->pts[s].series[0] ? c->pts[s].series : "(unnamed)";
        fputs("<g class=\"series\" data-series=\"", f);
        put_text(f, name);
        fprintf(f, "\" data-points=\"%d\">\n", k);
        if (k > 1) {
            fprintf(f, "<path class=\"frontier\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"", col);
            bool on = false;
            for (int i = s; i < n; i++) {
                if (ser[i] != s) continue;
                double x = px(&X, c->pts[i].slack), y = px(&Y, c->pts[i].violation);
                if (!isfinite(x) || !isfinite(y)) continue;   /* joined across the gap */
                pt(f, on ? 'L' : 'M', x, y);
                on = true;
            }
            fputs("\"/>\n", f);
        }
        for (int i = s; i < n; i++) {
            if (ser[i] != s) continue;
            const fp_chart_tradeoff_pt *p = &c->pts[i];
            double x = px(&X, p->slack), y = px(&Y, p->violation);
            if (!isfinite(x) || !isfinite(y)) continue;
            fputs("<circle class=\"point\" cx=\"", f); num(f, x);
            fputs("\" cy=\"", f); num(f, y);
            fprintf(f, "\" r=\"4\" fill=\"%s\"><title>", col);
            put_text(f, name);
            fputs(" ", f);
            put_text(f, p->label);
            char v[96];
            snprintf(v, sizeof v, ": slack %.3g, violations %.3g", p->slack, p->violation);
            put_text(f, v);
            fputs("</title></circle>\n", f);
            /* the label where it overlaps nothing (label_place); when
             * every place near the point is taken it is left out, and the
             * point's title still names it */
            box lb;
            if (label_place(x, y, p->label, taken, n_taken, &lb)) {
                taken[n_taken++] = lb;
                fputs("<text class=\"label\" x=\"", f); num(f, lb.x0);
                fputs("\" y=\"", f); num(f, lb.y1 - LABEL_FS * LABEL_DESC);
                fprintf(f, "\" font-size=\"%d\">", LABEL_FS);
                put_text(f, p->label);
                fputs("</text>\n", f);
            }
        }
        fputs("</g>\n", f);
        legend_item(&lg, "dot", col, name, NULL);
    }
    free(taken);
    free(ser);
    return finish(f, &buf, &len, outlen, err);
}

int fp_chart_save(const char *path, const char *svg, size_t len, fp_err *err)
{
    return fp_atomic_write(path, svg, len, err);
}
