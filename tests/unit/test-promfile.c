/* test-promfile.c - the Prometheus textfile writer: exact text for small
 * inputs, escaping of hostile label values and help, value formatting,
 * name checks, atomic replace without leftovers. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/promfile.h"
#include "tap.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

int main(void)
{
    fp_err err = {0};
    fp_promfile *p = fp_promfile_new();
    ok(p != NULL, "new");

    /* empty: empty text */
    size_t len = 99;
    char *t = fp_promfile_text(p, &len, &err);
    is_str(t, "", "no family, no text");
    is_int((long long)len, 0, "length 0");
    free(t);

    ok(fp_promfile_declare(p, "fp_x", "gauge", "Help with \\ and\nnewline", &err) == 0, "declare gauge");
    ok(fp_promfile_declare(p, "fp_empty", "gauge", "never set", &err) == 0, "declare another");
    ok(fp_promfile_declare(p, "fp_c_total", "counter", NULL, &err) == 0, "declare counter without help");
    ok(fp_promfile_declare(p, "fp_x", "gauge", "other help", &err) == 0, "declaring again: no-op");
    ok(fp_promfile_declare(p, "fp_x", "counter", NULL, &err) < 0 && err.cls == FP_EUSAGE,
       "same name, other type: refused");
    ok(fp_promfile_declare(p, "1abc", "gauge", NULL, &err) < 0, "name starting with a digit refused");
    ok(fp_promfile_declare(p, "fp-x", "gauge", NULL, &err) < 0, "name with '-' refused");
    ok(fp_promfile_declare(p, "fp_y", "histogram", NULL, &err) < 0, "unknown type refused");
    ok(fp_promfile_declare(p, "ns:fp_y", "untyped", NULL, &err) == 0, "colon allowed in names");
    /* what promtool check metrics refuses */
    ok(fp_promfile_declare(p, "fp_c", "counter", NULL, &err) < 0 && strstr(err.msg, "_total"),
       "counter without _total refused");
    ok(fp_promfile_declare(p, "fp_y_sum", "gauge", NULL, &err) < 0, "_sum suffix refused");
    ok(fp_promfile_declare(p, "fp_y_count", "untyped", NULL, &err) < 0, "_count suffix refused");
    ok(fp_promfile_declare(p, "fp_y_bucket", "gauge", NULL, &err) < 0, "_bucket suffix refused");

    const char *l1[] = { "id", "w1", "resource", "cpu_cores", NULL };
    const char *l2[] = { "id", "a\"b\\c\nd</svg>", NULL };
    ok(fp_promfile_set(p, "fp_x", l1, 1.5, &err) == 0, "set");
    ok(fp_promfile_set(p, "fp_x", l2, 2, &err) == 0, "set hostile label value");
    ok(fp_promfile_set(p, "fp_x", l1, 3, &err) == 0, "set again: replaces");
    ok(fp_promfile_set(p, "fp_c_total", NULL, 42, &err) == 0, "no labels");
    is_int(fp_promfile_count(p), 3, "three samples");

    const char *bad1[] = { "__name", "x", NULL };
    const char *bad2[] = { "a-b", "x", NULL };
    const char *bad3[] = { "id", "x", "id", "y", NULL };
    ok(fp_promfile_set(p, "fp_x", bad1, 1, &err) < 0 && err.cls == FP_EUSAGE, "label __name refused");
    ok(fp_promfile_set(p, "fp_x", bad2, 1, &err) < 0, "label a-b refused");
    ok(fp_promfile_set(p, "fp_x", bad3, 1, &err) < 0 && strstr(err.msg, "twice"), "label twice refused");
    const char *bad4[] = { "id", "x", "quantile", "0.9", NULL };
    const char *bad5[] = { "le", "1", NULL };
    ok(fp_promfile_set(p, "fp_x", bad4, 1, &err) < 0 && strstr(err.msg, "summaries"),
       "label quantile refused on a gauge");
    ok(fp_promfile_set(p, "fp_x", bad5, 1, &err) < 0 && strstr(err.msg, "histograms"),
       "label le refused on a gauge");
    ok(fp_promfile_set(p, "fp_nope", NULL, 1, &err) < 0 && strstr(err.msg, "not declared"),
       "undeclared family refused");
    is_int(fp_promfile_count(p), 3, "refusals added nothing");

    t = fp_promfile_text(p, &len, &err);
    is_str(t,
           "# HELP fp_x Help with \\\\ and\\nnewline\n"
           "# TYPE fp_x gauge\n"
           "fp_x{id=\"w1\",resource=\"cpu_cores\"} 3\n"
           "fp_x{id=\"a\\\"b\\\\c\\nd</svg>\"} 2\n"
           "# TYPE fp_c_total counter\n"
           "fp_c_total 42\n",
           "exact text: order, escaping, replaced value, empty family left out");
    is_int((long long)len, (long long)strlen(t), "length");
    free(t);

    /* values: shortest round-trip form, non-finite spelled as Prometheus does */
    fp_promfile *v = fp_promfile_new();
    fp_promfile_declare(v, "fp_v", "gauge", NULL, &err);
    const double vals[] = { 0.1, 1.0 / 3, 123456789012.0, 1e-300, -2.5, NAN, INFINITY, -INFINITY, -0.0,
                           1e15, 1e8 };
    for (int i = 0; i < 11; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", i);
        const char *l[] = { "i", n, NULL };
        fp_promfile_set(v, "fp_v", l, vals[i], &err);
    }
    t = fp_promfile_text(v, NULL, &err);
    is_str(t,
           "# TYPE fp_v gauge\n"
           "fp_v{i=\"0\"} 0.1\n"
           "fp_v{i=\"1\"} 0.3333333333333333\n"
           "fp_v{i=\"2\"} 123456789012\n"
           "fp_v{i=\"3\"} 1e-300\n"
           "fp_v{i=\"4\"} -2.5\n"
           "fp_v{i=\"5\"} NaN\n"
           "fp_v{i=\"6\"} +Inf\n"
           "fp_v{i=\"7\"} -Inf\n"
           "fp_v{i=\"8\"} 0\n"
           "fp_v{i=\"9\"} 1e+15\n"
           "fp_v{i=\"10\"} 100000000\n",
           "values");
    free(t);
    fp_promfile_free(v);

    /* atomic write: content, replace, failures leave nothing behind */
    char dir[] = "/tmp/fp-promfile-XXXXXX";
    ok(mkdtemp(dir) != NULL, "temporary directory");
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/fp.prom", dir);
    ok(fp_promfile_write(p, path, &err) == 0, "write");
    t = fp_promfile_text(p, NULL, &err);
    is_str(slurp(path), t, "file holds the text");
    free(t);
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644");
    fp_promfile_clear(p);
    is_int(fp_promfile_count(p), 0, "clear drops the samples");
    const char *l3[] = { "id", "w2", NULL };
    ok(fp_promfile_set(p, "fp_x", l3, 7, &err) == 0, "families stay declared after clear");
    ok(fp_promfile_write(p, path, &err) == 0, "rewrite");
    is_str(slurp(path), "# HELP fp_x Help with \\\\ and\\nnewline\n# TYPE fp_x gauge\nfp_x{id=\"w2\"} 7\n",
           "file replaced");
    snprintf(sub, sizeof sub, "%s/adir.prom", dir);
    mkdir(sub, 0755);
    err = (fp_err){0};
    ok(fp_promfile_write(p, sub, &err) < 0 && err.cls == FP_ESYS, "a directory in the way: FP_ESYS");
    ok(strstr(err.msg, "adir.prom") != NULL, "message names the path: %s", err.msg);
    is_int(entries(dir), 2, "no temporary file left (fp.prom and adir.prom only)");
    is_str(slurp(path), "# HELP fp_x Help with \\\\ and\\nnewline\n# TYPE fp_x gauge\nfp_x{id=\"w2\"} 7\n",
           "other file untouched");
    ok(fp_promfile_write(p, "/nonexistent-fp-dir/x.prom", &err) < 0 && err.cls == FP_ESYS,
       "missing directory: FP_ESYS");
    rmdir(sub);
    unlink(path);
    rmdir(dir);
    fp_promfile_free(p);
    fp_promfile_free(NULL);
    return done_testing();
}
