/* test-chart.c - the SVG charts: well-formed documents (a small checker of
 * the XML subset they use), exact coordinates for a known input, gaps for
 * non-finite values, escaping of hostile titles and labels, empty inputs,
 * atomic save. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/chart.h"
#include "tap.h"

/* Well-formedness of the subset the charts use: an XML declaration, then
 * elements with double-quoted attributes, text, and the five predefined
 * entities; every element closed in order; one root. 1 when well formed,
 * else 0 and *why. */
static int well_formed(const char *s, const char **why)
{
    const char *stack[64];
    size_t slen[64];
    int depth = 0, roots = 0;
    *why = "";
    if (strncmp(s, "<?xml ", 6) == 0) {
        s = strstr(s, "?>");
        if (!s) { *why = "unterminated declaration"; return 0; }
        s += 2;
    }
    while (*s) {
        if (*s == '&') {
            static const char *const ent[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
            int k = 0;
            for (int i = 0; i < 5 && !k; i++)
                if (strncmp(s, ent[i], strlen(ent[i])) == 0) k = (int)strlen(ent[i]);
            if (!k) { *why = "bare &"; return 0; }
            s += k;
            continue;
        }
        if (*s == '>') { *why = "bare >"; return 0; }
        if (*s != '<') {
            if (depth == 0 && !isspace((unsigned char)*s)) { *why = "text outside the root"; return 0; }
            s++;
            continue;
        }
        s++;
        bool close = *s == '/';
        if (close) s++;
        const char *name = s;
        while (isalnum((unsigned char)*s) || *s == '-' || *s == ':' || *s == '_') s++;
        size_t nlen = (size_t)(s - name);
        if (!nlen) { *why = "bad element name"; return 0; }
        if (close) {
            if (!depth || slen[depth - 1] != nlen || strncmp(stack[depth - 1], name, nlen)) {
                *why = "mismatched end tag";
                return 0;
            }
            depth--;
            if (*s != '>') { *why = "bad end tag"; return 0; }
            s++;
            continue;
        }
        /* attributes */
        for (;;) {
            while (isspace((unsigned char)*s)) s++;
            if (*s == '>' || (*s == '/' && s[1] == '>')) break;
            const char *an = s;
            while (isalnum((unsigned char)*s) || *s == '-' || *s == ':' || *s == '_') s++;
            if (s == an || *s != '=' || s[1] != '"') { *why = "bad attribute"; return 0; }
            s += 2;
            while (*s && *s != '"') {
                if (*s == '<') { *why = "< in an attribute"; return 0; }
                if (*s == '&' && strncmp(s, "&amp;", 5) && strncmp(s, "&lt;", 4) && strncmp(s, "&gt;", 4) &&
                    strncmp(s, "&quot;", 6) && strncmp(s, "&apos;", 6)) {
                    *why = "bare & in an attribute";
                    return 0;
                }
                s++;
            }
            if (!*s) { *why = "unterminated attribute"; return 0; }
            s++;
        }
        if (depth == 0 && ++roots > 1) { *why = "two roots"; return 0; }
        if (*s == '/') {
            s += 2;
            continue;
        }
        s++;
        if (depth == 64) { *why = "too deep"; return 0; }
        stack[depth] = name;
        slen[depth++] = nlen;
    }
    if (depth) { *why = "unclosed element"; return 0; }
    if (roots != 1) { *why = "no root"; return 0; }
    return 1;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* The d attribute of the path of class cls, into buf. */
static const char *path_d(const char *svg, const char *cls, char *buf, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "class=\"%s\"", cls);
    const char *p = strstr(svg, key);
    buf[0] = 0;
    if (!p) return buf;
    p = strstr(p, " d=\"");
    if (!p) return buf;
    p += 4;
    const char *e = strchr(p, '"');
    size_t k = (size_t)(e - p) < n - 1 ? (size_t)(e - p) : n - 1;
    memcpy(buf, p, k);
    buf[k] = 0;
    return buf;
}

/* Neither nan nor inf printed anywhere. */
static int all_finite(const char *s)
{
    for (const char *p = s; *p; p++)
        if (strncasecmp(p, "nan", 3) == 0 || strncasecmp(p, "inf", 3) == 0) return 0;
    return 1;
}

int main(void)
{
    fp_err err = {0};
    const char *why = "";
    char d[4096];

    /* escaping */
    char *e = fp_xml_escape("a<b>&\"' \x01\xff\xc3\xa9\n");
    is_str(e, "a&lt;b&gt;&amp;&quot;&apos; ??\xc3\xa9\n", "xml escape: entities, control and invalid bytes");
    free(e);
    e = fp_xml_escape("\xed\xa0\x80|\xef\xbf\xbf|\xf0\x9f\x98\x80|\xc3");
    is_str(e, "???|???|\xf0\x9f\x98\x80|?", "surrogates, U+FFFF, a truncated sequence replaced; emoji kept");
    free(e);

    /* a known band chart: x 0..20 s (ticks of 5), y 0..2.5 (ticks of 0.5):
     * x = 90 + t / 20 * 690, y = 350 - v / 2.5 * 280 */
    fp_chart_band_pt pred[] = { { 0, 0.5, 1, 1.5 }, { 10, NAN, 1.2, 2 }, { 15, 0.5, 1, 2 } };
    fp_chart_pt lim[] = { { 0, 2 }, { 10, NAN }, { 15, 1.5 } };
    fp_chart_pt use[] = { { 0, 0 }, { 5, 1 }, { 10, NAN }, { 15, 1 }, { 20, 2 }, { NAN, 1 } };
    fp_chart_band b = { .title = "w1: cpu_cores", .unit = "cores", .low_name = "p10", .mid_name = "p50",
                        .high_name = "p90", .pred = pred, .n_pred = 3, .limit = lim, .n_limit = 3,
                        .use = use, .n_use = 6, .t_end = NAN };
    size_t len = 0;
    char *svg = fp_chart_band_svg(&b, &len, &err);
    ok(svg != NULL, "band chart");
    is_int((long long)len, (long long)strlen(svg), "length");
    ok(well_formed(svg, &why), "band chart well formed %s", why);
    ok(all_finite(svg), "no nan or inf printed");
    is_str(path_d(svg, "use", d, sizeof d), "M90 350 L262.5 238 M607.5 238 L780 126 ",
           "usage line: exact points, a gap at the NaN, the point without a time left out");
    ok(strstr(svg, "class=\"use\" data-points=\"4\"") != NULL, "4 usage points");
    is_int(count(svg, "class=\"use-dot\""), 0, "no lone point, no dot");
    is_str(path_d(svg, "mid", d, sizeof d),
           "M90 238 L435 238 L435 215.6 L607.5 215.6 L607.5 238 L780 238 ", "p50 steps");
    is_str(path_d(svg, "limit", d, sizeof d), "M90 126 L435 126 M607.5 182 L780 182 ",
           "limit steps with the unlimited gap");
    ok(strstr(svg, "class=\"band\" data-points=\"2\"") != NULL, "band over 2 predictions");
    is_str(path_d(svg, "band", d, sizeof d),
           "M90 182 L435 182 L435 294 L90 294 Z M607.5 126 L780 126 L780 294 L607.5 294 Z ",
           "band: two closed runs around the prediction without a low end");
    ok(strstr(svg, ">predicted p10..p90</text>") && strstr(svg, ">p50</text>") &&
       strstr(svg, ">limit</text>") && strstr(svg, ">used</text>"), "legend");
    ok(strstr(svg, ">cores</text>") != NULL, "y axis unit");
    ok(strstr(svg, ">2.5</text>") && strstr(svg, ">20</text>"), "tick labels");
    free(svg);

    /* t_end extends the last steps; a lone usage point is a dot */
    fp_chart_pt lone[] = { { 5, 1 } };
    fp_chart_band b2 = { .title = "t", .unit = "bytes", .pred = pred, .n_pred = 1, .use = lone, .n_use = 1,
                         .t_end = 40 };
    svg = fp_chart_band_svg(&b2, NULL, &err);
    ok(svg && well_formed(svg, &why), "band chart 2 well formed %s", why);
    ok(strstr(svg, "class=\"use\" data-points=\"1\"") && count(svg, "class=\"use-dot\"") == 1,
       "a lone point is a dot");
    /* x 0..40, y 0..2: the p50 1 at 210 from 0 to 40 */
    is_str(path_d(svg, "mid", d, sizeof d), "M90 210 L780 210 ", "the last prediction holds to t_end");
    ok(!strstr(svg, "class=\"limit\""), "no limit series without limits");
    free(svg);

    /* big values: binary units as the rest of fp (GiB, never SI's G), still finite */
    fp_chart_pt big[] = { { 0, 1e9 }, { 1, 4e9 }, { 2, 1e308 }, { 3, -1e308 } };
    fp_chart_band b3 = { .title = "big", .unit = "bytes", .use = big, .n_use = 2, .t_end = NAN };
    svg = fp_chart_band_svg(&b3, NULL, &err);
    ok(svg && strstr(svg, ">GiB</text>") && strstr(svg, ">1</text>") && strstr(svg, ">4</text>") &&
       !strstr(svg, "G</text>"), "binary tick labels (GiB)");
    free(svg);
    b3.n_use = 4;
    svg = fp_chart_band_svg(&b3, NULL, &err);
    ok(svg && well_formed(svg, &why) && all_finite(svg), "extreme values: well formed and finite %s", why);
    free(svg);

    /* hostile strings */
    const char *evil = "</svg><script>alert(1)</script>\"\n&x;";
    fp_chart_band b4 = { .title = evil, .unit = evil, .low_name = evil, .mid_name = evil, .high_name = evil,
                         .pred = pred, .n_pred = 3, .t_end = NAN };
    svg = fp_chart_band_svg(&b4, NULL, &err);
    ok(svg && well_formed(svg, &why), "hostile title well formed %s", why);
    ok(!strstr(svg, "<script") && !strstr(svg, "&x;"), "nothing of it unescaped");
    ok(strstr(svg, "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;\n&amp;x;") != NULL,
       "escaped text present");
    is_int(count(svg, "</svg>"), 1, "one end of document");
    free(svg);

    /* empty */
    fp_chart_band b5 = { .title = NULL, .t_end = NAN };
    svg = fp_chart_band_svg(&b5, NULL, &err);
    ok(svg && well_formed(svg, &why) && strstr(svg, ">no data</text>"), "empty band chart: no data %s", why);
    ok(!strstr(svg, "class=\"use\"") && !strstr(svg, "class=\"band\""), "no series");
    free(svg);
    fp_chart_pt gaps[] = { { 0, NAN }, { 1, INFINITY } };
    fp_chart_band b6 = { .title = "gaps", .use = gaps, .n_use = 2, .t_end = NAN };
    svg = fp_chart_band_svg(&b6, NULL, &err);
    ok(svg && well_formed(svg, &why) && strstr(svg, "no data"), "only gaps: no data %s", why);
    free(svg);

    /* trade-off */
    fp_chart_tradeoff_pt tp[] = {
        { "knn", "p50", 0.1, 0.4 }, { "lin<ear>", "p90", 0.3, 0.1 }, { "knn", "p90", 0.3, 0.05 },
        { "knn", "p99", NAN, 0.01 }, { "knn", "p99.9", 0.5, 0 }, { NULL, "x\"y", 0.2, 0.2 } };
    fp_chart_tradeoff tc = { .title = "slack vs violations", .pts = tp, .n = 6 };
    svg = fp_chart_tradeoff_svg(&tc, &len, &err);
    ok(svg && well_formed(svg, &why), "trade-off well formed %s", why);
    is_int(count(svg, "<g class=\"series\""), 3, "three series");
    is_int(count(svg, "<circle class=\"point\""), 5, "five points (the NaN one left out)");
    ok(strstr(svg, "data-series=\"knn\" data-points=\"3\"") != NULL, "knn: 3 points");
    ok(strstr(svg, "data-series=\"lin&lt;ear&gt;\" data-points=\"1\"") != NULL, "escaped series name");
    ok(strstr(svg, "data-series=\"(unnamed)\"") != NULL, "unnamed series");
    ok(strstr(svg, ">x&quot;y</text>") != NULL, "escaped label");
    /* x 0..0.6 (ticks 0.2): 90 + s / 0.6 * 690; y 0..0.5: 350 - v / 0.5 * 280 */
    is_str(path_d(svg, "frontier", d, sizeof d), "M205 126 L435 322 L665 350 ",
           "knn frontier joins its points in order");
    is_int(count(svg, "class=\"frontier\""), 1, "single-point series have no line");
    free(svg);
    fp_chart_tradeoff te = { .title = "none", .pts = NULL, .n = 0 };
    svg = fp_chart_tradeoff_svg(&te, NULL, &err);
    ok(svg && well_formed(svg, &why) && strstr(svg, "no data"), "empty trade-off: no data %s", why);
    free(svg);

    /* the checker catches what it must */
    ok(!well_formed("<svg><a></svg>", &why), "checker: mismatched tags caught");
    ok(!well_formed("<svg>&x;</svg>", &why), "checker: bare & caught");
    ok(!well_formed("<svg a=\"<\"/>", &why), "checker: < in attribute caught");

    /* save: atomic, nothing left behind on failure */
    char dir[] = "/tmp/fp-chart-XXXXXX", path[256], sub[256];
    ok(mkdtemp(dir) != NULL, "temporary directory");
    snprintf(path, sizeof path, "%s/c.svg", dir);
    ok(fp_chart_save(path, "<svg/>\n", 7, &err) == 0, "save");
    struct stat st;
    ok(stat(path, &st) == 0 && st.st_size == 7, "saved 7 bytes");
    snprintf(sub, sizeof sub, "%s/d.svg", dir);
    mkdir(sub, 0755);
    ok(fp_chart_save(sub, "<svg/>\n", 7, &err) < 0 && err.cls == FP_ESYS, "directory in the way: FP_ESYS");
    DIR *dd = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dd)))
        if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))) n++;
    closedir(dd);
    is_int(n, 2, "no temporary file left");
    rmdir(sub);
    unlink(path);
    rmdir(dir);
    return done_testing();
}
