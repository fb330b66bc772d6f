/* test-nfconfig.c - the Nextflow configuration planned from task history.
 *
 * The plan against hand-worked values (the order statistic, the margin,
 * whole MiB, cpus from the mean cores, waste of the request and of the
 * plan with its retries, in GB.h); tasks that did not complete are not
 * learned from; the written configuration is parsed back by a
 * recursive-descent reader of the grammar documented in fp/nfconfig.h
 * (and fp-train(1)), which must accept it whole and give back the planned
 * values; a name with a quote survives the round trip. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fp/nfconfig.h"
#include "tap.h"

/* ---- a reader of the documented grammar ---------------------------------- */

typedef struct parsed {
    int n;
    struct { char name[256]; long cpus, mem_mb, retries; } sel[64];
} parsed;

typedef struct lex {
    const char *p;
    char tok[512];
} lex;

/* Next token: a quoted name (without its quotes, escapes undone), a word
 * ([A-Za-z0-9_.:']+ as one run, so "task.attempt", "137..140", "withName:",
 * "2688.MB", "'retry'" are one token each), or one of { } = * ? :. Comments
 * and whitespace are skipped. Returns 0 at the end, -1 on a bad character. */
static int next(lex *L)
{
    for (;;) {
        while (isspace((unsigned char)*L->p)) L->p++;
        if (L->p[0] == '/' && L->p[1] == '/') {
            while (*L->p && *L->p != '\n') L->p++;
            continue;
        }
        break;
    }
    if (!*L->p) return 0;
    size_t n = 0;
    if (*L->p == '\'' && !(isalpha((unsigned char)L->p[1]) && strchr(L->p + 1, '\'') &&
                           (!strncmp(L->p, "'retry'", 7) || !strncmp(L->p, "'terminate'", 11)))) {
        L->p++;
        L->tok[n++] = '"'; /* marks a quoted name */
        while (*L->p && *L->p != '\'') {
            if (*L->p == '\\' && L->p[1]) L->p++;
            if (n < sizeof L->tok - 1) L->tok[n++] = *L->p;
            L->p++;
        }
        if (*L->p != '\'') return -1;
        L->p++;
        L->tok[n] = 0;
        return 1;
    }
    if (strchr("{}=*?", *L->p) || (*L->p == ':' && L->p[1] == ' ')) {
        L->tok[0] = *L->p++;
        L->tok[1] = 0;
        return 1;
    }
    while (isalnum((unsigned char)*L->p) || strchr("_.:'", *L->p)) {
        if (n < sizeof L->tok - 1) L->tok[n++] = *L->p;
        L->p++;
    }
    L->tok[n] = 0;
    return n ? 1 : -1;
}

static bool expect(lex *L, const char *t) { return next(L) == 1 && strcmp(L->tok, t) == 0; }

static bool integer(lex *L, long *v)
{
    if (next(L) != 1) return false;
    char *end;
    *v = strtol(L->tok, &end, 10);
    return end != L->tok && !*end;
}

/* config = "process" "{" { selector } "}" ; returns whether the whole text
 * is one config. */
static bool parse_config(const char *text, parsed *out)
{
    lex L = {.p = text};
    out->n = 0;
    if (!expect(&L, "process") || !expect(&L, "{")) return false;
    for (;;) {
        if (next(&L) != 1) return false;
        if (!strcmp(L.tok, "}")) break;
        if (strcmp(L.tok, "withName:") || out->n == 64) return false;
        if (next(&L) != 1 || L.tok[0] != '"') return false;
        snprintf(out->sel[out->n].name, sizeof out->sel[0].name, "%s", L.tok + 1);
        long mb;
        if (!expect(&L, "{") || !expect(&L, "cpus") || !expect(&L, "=") || !integer(&L, &out->sel[out->n].cpus))
            return false;
        if (!expect(&L, "memory") || !expect(&L, "=") || !expect(&L, "{") || next(&L) != 1) return false;
        size_t tl = strlen(L.tok);
        if (tl < 4 || strcmp(L.tok + tl - 3, ".MB")) return false;
        L.tok[tl - 3] = 0;
        char *end;
        mb = strtol(L.tok, &end, 10);
        if (end == L.tok || *end) return false;
        out->sel[out->n].mem_mb = mb;
        if (!expect(&L, "*") || !expect(&L, "task.attempt") || !expect(&L, "}")) return false;
        if (!expect(&L, "errorStrategy") || !expect(&L, "=") || !expect(&L, "{") ||
            !expect(&L, "task.exitStatus") || !expect(&L, "in") || !expect(&L, "137..140") ||
            !expect(&L, "?") || !expect(&L, "'retry'") || !expect(&L, ":") || !expect(&L, "'terminate'") ||
            !expect(&L, "}"))
            return false;
        if (!expect(&L, "maxRetries") || !expect(&L, "=") || !integer(&L, &out->sel[out->n].retries) ||
            !expect(&L, "}"))
            return false;
        out->n++;
    }
    return next(&L) == 0; /* nothing after the scope */
}

/* ---- the tests --------------------------------------------------------- */

static char *write_config(const fp_nfc *c, const char *comment)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fp_err e = {0};
    int rc = fp_nfc_write(c, f, comment, &e);
    fclose(f);
    ok(rc == 0, "write: %s", rc ? e.msg : "ok");
    return buf;
}

int main(void)
{
    fp_err e = {0};
    const double MiB = 1048576.0, GiB = 1073741824.0;
    fp_nfc *c = fp_nfc_new();
    /* ALIGN: ten tasks of 1..10 GiB, 1 h each, 16 GiB requested, 3.5 cores */
    for (int i = 1; i <= 10; i++)
        ok(fp_nfc_add(c, "WF:ALIGN", i * GiB, 3600, 16 * GiB, 3.5, 4, &e) == 0, "add ALIGN %d", i);
    /* QC: two tasks only */
    fp_nfc_add(c, "WF:QC", 100 * MiB, 60, GiB, 0.5, 1, &e);
    fp_nfc_add(c, "WF:QC", 120 * MiB, 60, GiB, 0.5, 1, &e);
    ok(fp_nfc_add(c, "WF:X", NAN, 1, NAN, NAN, NAN, &e) < 0 && e.cls == FP_EINPUT, "a NaN peak: FP_EINPUT");
    ok(fp_nfc_add(c, "", 1, 1, NAN, NAN, NAN, &e) < 0, "no process name: refused");

    fp_nfc_opts o;
    fp_nfc_opts_default(&o);
    ok(o.quantile == 0.99 && o.margin == 0.05 && o.max_retries == 2 && o.min_tasks == 3, "defaults");
    char *before = NULL;
    {
        size_t len = 0;
        FILE *f = open_memstream(&before, &len);
        ok(fp_nfc_write(c, f, NULL, &e) < 0 && e.cls == FP_EUSAGE, "write before plan: FP_EUSAGE");
        fclose(f);
        free(before);
    }
    o.quantile = 0.8; /* the 8th smallest of 10: 8 GiB */
    o.margin = 0.1;
    ok(fp_nfc_plan(c, &o, &e) == 0, "plan");
    ok(fp_nfc_processes(c) == 2, "two processes");
    const fp_nfc_process *a = fp_nfc_process_at(c, 0), *q = fp_nfc_process_at(c, 1);
    ok(a && !strcmp(a->name, "WF:ALIGN") && a->planned && a->tasks == 10, "ALIGN planned");
    is_near(a->mem_bytes, ceil(8 * GiB * 1.1 / MiB) * MiB, 0.5, "memory: p80 x 1.1, whole MiB");
    is_int(a->cpus, 4, "cpus: ceil(3.5) = 4, within the request");
    /* 8.8 GiB: tasks 9 and 10 fail once (8.8 GiB x 1 h each) and fit at
     * 17.6 GiB; the others fit at once */
    double M = a->mem_bytes, plan = 0;
    for (int i = 1; i <= 10; i++)
        plan += i * GiB <= M ? (M - i * GiB) : M + (2 * M - i * GiB);
    is_near(a->waste_plan_gbh, plan * 1e-9, 1e-6, "plan waste, GB.h");
    double req = 0;
    for (int i = 1; i <= 10; i++) req += 16 * GiB - i * GiB;
    is_near(a->waste_request_gbh, req * 1e-9, 1e-6, "request waste, GB.h");
    is_int(a->retries, 2, "two retries");
    is_int(a->unfit, 0, "all fit");
    is_int((long)a->compared, 10, "all compared");
    ok(q && !q->planned && q->tasks == 2, "QC: two tasks, fewer than 3: left out");

    char *text = write_config(c, "a comment\nover two lines");
    ok(text && !strncmp(text, "// a comment\n// over two lines\nprocess {", 40), "comment lines, then the scope");
    parsed P;
    ok(parse_config(text, &P), "the configuration parses against the documented grammar");
    ok(P.n == 1 && !strcmp(P.sel[0].name, "WF:ALIGN"), "one selector, withName: 'WF:ALIGN'");
    is_int(P.sel[0].mem_mb, (long)(a->mem_bytes / MiB), "memory read back");
    is_int(P.sel[0].cpus, 4, "cpus read back");
    is_int(P.sel[0].retries, 2, "maxRetries read back");
    ok(!parse_config("process { withName: 'x' { cpus = 1 } }", &P), "the reader refuses an incomplete selector");
    ok(!parse_config("process { } extra", &P), "and trailing text");
    free(text);

    /* unfit: the retries cannot reach a task 5x the others */
    fp_nfc *d = fp_nfc_new();
    for (int i = 0; i < 9; i++) fp_nfc_add(d, "P", GiB, 3600, NAN, NAN, NAN, &e);
    fp_nfc_add(d, "P", 5 * GiB, 3600, NAN, NAN, NAN, &e);
    /* and a name that needs escaping */
    for (int i = 0; i < 3; i++) fp_nfc_add(d, "it's \\odd", MiB / 2, 1, NAN, NAN, NAN, &e);
    fp_nfc_opts_default(&o);
    o.quantile = 0.5;
    o.margin = 0;
    ok(fp_nfc_plan(d, &o, &e) == 0, "plan 2");
    const fp_nfc_process *p = fp_nfc_process_at(d, 0);
    is_near(p->mem_bytes, GiB, 0.5, "median 1 GiB, no margin");
    is_int(p->unfit, 1, "the 5 GiB task never fits in 3 attempts (1, 2, 3 GiB)");
    is_int(p->retries, 3, "its three failed attempts count");
    is_int((long)p->compared, 0, "no request known");
    is_int(p->cpus, 1, "no cores known: 1 cpu");
    const fp_nfc_process *odd = fp_nfc_process_at(d, 1);
    is_near(odd->mem_bytes, MiB, 0.5, "at least 1 MiB");
    text = write_config(d, NULL);
    ok(strstr(text, "withName: 'it\\'s \\\\odd'") != NULL, "quote and backslash escaped");
    ok(parse_config(text, &P) && P.n == 2 && !strcmp(P.sel[1].name, "it's \\odd"), "and read back");
    free(text);
    o.quantile = -0.5;
    ok(fp_nfc_plan(d, &o, &e) < 0 && e.cls == FP_EUSAGE, "quantile -0.5: FP_EUSAGE");
    /* least waste, left one out: nine tasks of 1 GiB and one of 5 GiB, 1 h
     * each. Ranks 1..8 of the others cost 11 GiB.h (the 5 GiB task fails at
     * 1, 2 and 3 GiB and is run again), rank 9 costs 47 (nine tasks get
     * 5 GiB); the tie goes to rank 8 of 9, rank ceil(8 x 10 / 9) = 9 of all
     * ten: 1 GiB. */
    o.quantile = 0;
    ok(fp_nfc_plan(d, &o, &e) == 0, "plan by least waste");
    is_near(fp_nfc_process_at(d, 0)->mem_bytes, GiB, 0.5, "least waste: 1 GiB, the 5 GiB task retried");
    fp_nfc *two = fp_nfc_new();
    fp_nfc_add(two, "Q", 2 * GiB, 3600, NAN, NAN, NAN, &e);
    fp_nfc_add(two, "Q", 2 * GiB, 3600, NAN, NAN, NAN, &e);
    fp_nfc_add(two, "Q", 8 * GiB, 3600, NAN, NAN, NAN, &e);
    o.min_tasks = 1;
    ok(fp_nfc_plan(two, &o, &e) == 0, "plan 3");
    /* rank 1 of the others costs 0 + 0 + 20 GiB.h (the 8 GiB task fails
     * at 2, 4 and 6 GiB and is run again), rank 2 costs 6 + 6 + 20; rank 1
     * of 2 is rank ceil(1 x 3 / 2) = 2 of all three: 2 GiB */
    is_near(fp_nfc_process_at(two, 0)->mem_bytes, 2 * GiB, 0.5, "least waste of 2, 2, 8 GiB: 2 GiB");
    fp_nfc_free(two);

    /* from records: only completed attempts count */
    fp_nfc *r = fp_nfc_new();
    json_t *ok1 = json_pack("{s:s,s:f,s:f,s:s,s:i,s:{s:s,s:f}}", "type", "actual", "mem_bytes_peak", 1e9,
                            "duration_s", 10.0, "status", "COMPLETED", "exit_code", 0, "meta", "process",
                            "P", "req_mem_bytes", 4e9);
    json_t *failed = json_pack("{s:s,s:f,s:f,s:s,s:i,s:{s:s}}", "type", "actual", "mem_bytes_peak", 3e9,
                               "duration_s", 10.0, "status", "FAILED", "exit_code", 137, "meta", "process", "P");
    json_t *noproc = json_pack("{s:s,s:f,s:f}", "type", "actual", "mem_bytes_peak", 1e9, "duration_s", 1.0);
    ok(fp_nfc_add_actual(r, ok1, &e) == 1, "a completed actual is learned");
    ok(fp_nfc_add_actual(r, failed, &e) == 0, "a failed attempt is not");
    ok(fp_nfc_add_actual(r, noproc, &e) == 0, "nor one without a process");
    json_decref(ok1);
    json_decref(failed);
    json_decref(noproc);
    fp_nfc_opts_default(&o);
    o.min_tasks = 1;
    fp_nfc_plan(r, &o, &e);
    ok(fp_nfc_process_at(r, 0)->tasks == 1 && fp_nfc_process_at(r, 0)->req_mem_bytes == 4e9, "one task, its request");

    fp_nfc_free(r);
    fp_nfc_free(d);
    fp_nfc_free(c);
    return done_testing();
}
