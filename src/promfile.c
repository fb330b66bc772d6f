/* promfile.c - Prometheus textfile-collector output (see fp/promfile.h).
 *
 * Families and samples are arrays; a jansson object maps "name{labels}"
 * (the rendered sample key) to the sample's position so that setting a
 * label set again is one lookup.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fp/atomic.h"
#include "fp/promfile.h"

typedef struct family {
    char *name, *type, *help;
} family;

typedef struct sample {
    int fam;
    char *key;          /* name{labels}, as written */
    double v;
} sample;

struct fp_promfile {
    family *fam;
    int n_fam, cap_fam;
    sample *s;
    int n, cap;
    json_t *index;      /* key -> position in s */
};

fp_promfile *fp_promfile_new(void)
{
    fp_promfile *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->index = json_object();
    if (!p->index) {
        free(p);
        return NULL;
    }
    return p;
}

void fp_promfile_clear(fp_promfile *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) free(p->s[i].key);
    p->n = 0;
    json_object_clear(p->index);
}

void fp_promfile_free(fp_promfile *p)
{
    if (!p) return;
    fp_promfile_clear(p);
    for (int i = 0; i < p->n_fam; i++) {
        free(p->fam[i].name);
        free(p->fam[i].type);
        free(p->fam[i].help);
    }
    free(p->fam);
    free(p->s);
    json_decref(p->index);
    free(p);
}

int fp_promfile_count(const fp_promfile *p) { return p ? p->n : 0; }

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label). */
static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s) return false;
    for (const char *c = s; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                  (colon && *c == ':') || (c > s && *c >= '0' && *c <= '9');
        if (!ok) return false;
    }
    return true;
}

static int find_family(const fp_promfile *p, const char *name)
{
    for (int i = 0; i < p->n_fam; i++)
        if (strcmp(p->fam[i].name, name) == 0) return i;
    return -1;
}

int fp_promfile_declare(fp_promfile *p, const char *name, const char *type, const char *help,
                        fp_err *err)
{
    if (!valid_name(name, true))
        return fp_err_set(err, FP_EUSAGE, "\"%s\" is not a Prometheus metric name", name ? name : "");
    if (!type || (strcmp(type, "gauge") && strcmp(type, "counter") && strcmp(type, "untyped")))
        return fp_err_set(err, FP_EUSAGE, "%s: type \"%s\" is not gauge, counter or untyped", name,
                          type ? type : "");
    /* what promtool check metrics refuses of these types */
    static const char *const reserved[] = { "_sum", "_count", "_bucket", NULL };
    size_t nl = strlen(name);
    for (int k = 0; reserved[k]; k++) {
        size_t sl = strlen(reserved[k]);
        if (nl >= sl && strcmp(name + nl - sl, reserved[k]) == 0)
            return fp_err_set(err, FP_EUSAGE, "%s: the suffix %s belongs to summaries and histograms",
                              name, reserved[k]);
    }
    if (strcmp(type, "counter") == 0 && (nl < 6 || strcmp(name + nl - 6, "_total") != 0))
        return fp_err_set(err, FP_EUSAGE, "%s: a counter's name ends in _total", name);
    int i = find_family(p, name);
    if (i >= 0) {
        if (strcmp(p->fam[i].type, type) != 0)
            return fp_err_set(err, FP_EUSAGE, "%s: declared as a %s, not a %s", name, p->fam[i].type,
                              type);
        return 0;
    }
    if (p->n_fam == p->cap_fam) {
        int nc = p->cap_fam ? p->cap_fam * 2 : 16;
        family *f = realloc(p->fam, (size_t)nc * sizeof *f);
        if (!f) return fp_err_set(err, FP_ESYS, "out of memory");
        p->fam = f;
        p->cap_fam = nc;
    }
    family *f = &p->fam[p->n_fam];
    f->name = strdup(name);
    f->type = strdup(type);
    f->help = help ? strdup(help) : NULL;
    if (!f->name || !f->type || (help && !f->help)) {
        free(f->name);
        free(f->type);
        free(f->help);
        return fp_err_set(err, FP_ESYS, "out of memory");
    }
    p->n_fam++;
    return 0;
}

/* s with backslash, newline and (quote) double quote escaped, into f. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
    for (; s && *s; s++) {
        if (*s == '\\') fputs("\\\\", f);
        else if (*s == '\n') fputs("\\n", f);
        else if (quote && *s == '"') fputs("\\\"", f);
        else fputc(*s, f);
    }
}

int fp_promfile_set(fp_promfile *p, const char *name, const char *const *labels, double v,
                    fp_err *err)
{
    int fi = find_family(p, name ? name : "");
    if (fi < 0) return fp_err_set(err, FP_EUSAGE, "metric %s was not declared", name ? name : "");
    /* check the label names */
    int nl = 0;
    if (labels)
        while (labels[2 * nl]) nl++;
    for (int i = 0; i < nl; i++) {
        const char *ln = labels[2 * i];
        if (!valid_name(ln, false) || strncmp(ln, "__", 2) == 0)
            return fp_err_set(err, FP_EUSAGE, "%s: \"%s\" is not a label name", name, ln);
        /* reserved for summaries and histograms (promtool check metrics) */
        if (strcmp(ln, "quantile") == 0 || strcmp(ln, "le") == 0)
            return fp_err_set(err, FP_EUSAGE, "%s: the label %s belongs to %s, not a %s", name, ln,
                              ln[0] == 'q' ? "summaries" : "histograms", p->fam[fi].type);
        for (int j = 0; j < i; j++)
            if (strcmp(labels[2 * j], ln) == 0)
                return fp_err_set(err, FP_EUSAGE, "%s: label %s given twice", name, ln);
    }
    char *key = NULL;
    size_t klen = 0;
    FILE *f = open_memstream(&key, &klen);
    if (!f) return fp_err_set(err, FP_ESYS, "out of memory");
    fputs(name, f);
    if (nl) {
        fputc('{', f);
        for (int i = 0; i < nl; i++) {
            fprintf(f, "%s%s=\"", i ? "," : "", labels[2 * i]);
            put_escaped(f, labels[2 * i + 1], true);
            fputc('"', f);
        }
        fputc('}', f);
    }
    if (ferror(f) | fclose(f)) {
        free(key);
        return fp_err_set(err, FP_ESYS, "out of memory");
    }
    json_t *ix = json_object_get(p->index, key);
    if (ix) {
        p->s[json_integer_value(ix)].v = v;
        free(key);
        return 0;
    }
    if (p->n == p->cap) {
        int nc = p->cap ? p->cap * 2 : 64;
        sample *s = realloc(p->s, (size_t)nc * sizeof *s);
        if (!s) {
            free(key);
            return fp_err_set(err, FP_ESYS, "out of memory");
        }
        p->s = s;
        p->cap = nc;
    }
    /* keys are valid UTF-8 when the labels are; hashing does not care */
    if (json_object_set_new_nocheck(p->index, key, json_integer(p->n)) < 0) {
        free(key);
        return fp_err_set(err, FP_ESYS, "out of memory");
    }
    p->s[p->n++] = (sample){ fi, key, v };
    return 0;
}

/* v with the fewest significant digits that read back to v. */
static void put_value(FILE *f, double v)
{
    if (isnan(v)) { fputs("NaN", f); return; }
    if (isinf(v)) { fputs(v > 0 ? "+Inf" : "-Inf", f); return; }
    char b[64];
    if (v == floor(v) && fabs(v) < 1e15) {   /* whole numbers in full: 100000000, not 1e+08 */
        fprintf(f, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v) break;
    }
    fputs(b, f);
}

char *fp_promfile_text(const fp_promfile *p, size_t *outlen, fp_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    for (int fi = 0; fi < p->n_fam; fi++) {
        const family *fm = &p->fam[fi];
        bool head = false;
        for (int i = 0; i < p->n; i++) {
            if (p->s[i].fam != fi) continue;
            if (!head) {
                if (fm->help) {
                    fprintf(f, "# HELP %s ", fm->name);
                    put_escaped(f, fm->help, false);
                    fputc('\n', f);
                }
                fprintf(f, "# TYPE %s %s\n", fm->name, fm->type);
                head = true;
            }
            fputs(p->s[i].key, f);
            fputc(' ', f);
            put_value(f, p->s[i].v);
            fputc('\n', f);
        }
    }
    if (ferror(f) | fclose(f)) {
        free(buf);
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    if (outlen) *outlen = len;
    return buf;
}

int fp_promfile_write(const fp_promfile *p, const char *path, fp_err *err)
{
    size_t len;
    char *t = fp_promfile_text(p, &len, err);
    if (!t) return -1;
    int rc = fp_atomic_write(path, t, len, err);
    free(t);
    return rc;
}
