/* nfc-online.c - fp's side of tests/bench/sizey-eval.sh: the online Sizey
 * protocol for fp's allocations, through libfp (make tests/bench/nfc-online).
 *
 * Reads groups (task types) on standard input:
 *   G NAME
 *   H PEAK_BYTES RUNTIME_MS RCHAR_BYTES      history (the 30%), any number
 *   T PEAK_BYTES RUNTIME_MS RCHAR_BYTES      online tasks (the 70%), in order
 *   E
 * (H and T lines may go on with REQ_MEM_BYTES REQ_CPUS PROCESS_NAME, which
 * the fp-lowo method reads) and writes per group and method one line
 *   R NAME METHOD WASTE_GBH FAILURES
 * Methods:
 *   fp-prestart  what is known before a task starts (the process only, as
 *                every task of a type in these traces has the same request
 *                and attempt 1): fp_nfc's least-waste first allocation M
 *                over the history so far (fp/nfconfig.h, quantile 0: cross-validated), the
 *                retry model of the configuration fp writes (attempt k gets
 *                k x M), re-planned after each task;
 *   fp-rchar     the same retry model, the first allocation a quantile of
 *                libfp's knn model (one feature: the bytes read, rchar,
 *                known only after the task ran: like with like with the
 *                published methods) at the level (0.5 ... 0.99) whose
 *                waste on the tasks seen so far is least (0.9 before any),
 *                each task stored after it ran;
 *   fp-lowo      (a group "L NAME" instead of "G NAME": leave one workflow
 *                out) no history of the workflow: libfp's knn model on
 *                what is known before a task starts - the embedding of its
 *                process name (fp_embed: the last part, without the
 *                workflow's prefix), its requested memory and cpus -
 *                trained on the other workflows' tasks (H), then the
 *                workflow's tasks (T) online, each stored after it ran, the
 *                level chosen online as for fp-rchar; the first task of a
 *                process in the workflow gets its request.
 * A failed attempt costs its allocation for the task's whole runtime;
 * waste is GB.h (1e9 bytes x hours). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fp.h"

typedef struct row { double peak, rt_ms, rchar, req_mem, req_cpus; char name[128]; } row;

#define GBH(b, ms) ((b) * 1e-9 * (ms) / 3600000.0)
#define NLEV 6
static const double levels[NLEV] = {0.5, 0.75, 0.85, 0.9, 0.95, 0.99};

/* Waste and failures of a task under first allocation m and k x m retries. */
static double attempt_cost(const row *r, double m, long *fail)
{
    double w = 0;
    if (!(m > 0)) m = 1048576;
    for (int k = 1;; k++) {
        double a = m * k;
        if (r->peak <= a) return w + GBH(a - r->peak, r->rt_ms);
        w += GBH(a, r->rt_ms);
        if (fail) (*fail)++;
    }
}

static void run_prestart(const char *name, const row *h, size_t nh, const row *t, size_t nt)
{
    fp_err e = {0};
    fp_nfc *c = fp_nfc_new();
    fp_nfc_opts o;
    fp_nfc_opts_default(&o);
    o.quantile = 0;
    o.max_retries = 10;
    o.min_tasks = 1;
    for (size_t i = 0; i < nh; i++) fp_nfc_add(c, "p", h[i].peak, h[i].rt_ms / 1000, NAN, NAN, NAN, &e);
    double waste = 0;
    long fail = 0;
    for (size_t i = 0; i < nt; i++) {
        if (fp_nfc_plan(c, &o, &e) < 0) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
        double m = fp_nfc_process_at(c, 0)->mem_bytes;
        waste += attempt_cost(&t[i], m, &fail);
        fp_nfc_add(c, "p", t[i].peak, t[i].rt_ms / 1000, NAN, NAN, NAN, &e);
    }
    printf("R %s fp-prestart %.6f %ld\n", name, waste, fail);
    fp_nfc_free(c);
}

static void run_rchar(const char *name, const row *h, size_t nh, const row *t, size_t nt)
{
    fp_err e = {0};
    fp_model_opts mo;
    fp_model_opts_default(&mo);
    static const char *const names[] = {"meta_input_bytes"};
    mo.dim = 1;
    mo.names = names;
    mo.nlevels = NLEV;
    for (int l = 0; l < NLEV; l++) mo.levels[l] = levels[l];
    fp_model *m = fp_model_new("knn", &mo, &e);
    if (!m) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.val_frac = 0;
    fp_example *ex = calloc(nh ? nh : 1, sizeof *ex);
    double *xs = calloc(nh ? nh : 1, sizeof *xs);
    for (size_t i = 0; i < nh; i++) {
        xs[i] = h[i].rchar;
        ex[i].x = &xs[i];
        for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = NAN;
        ex[i].y[FP_RES_MEM] = h[i].peak;
        ex[i].group = "h";
    }
    if (fp_model_train(m, ex, nh, &to, NULL, &e) < 0) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    double seen[NLEV] = {0}, waste = 0;
    long fail = 0;
    for (size_t i = 0; i < nt; i++) {
        double x = t[i].rchar;
        fp_quantiles q[FP_RES_COUNT];
        if (fp_model_predict(m, &x, q, NULL, &e) < 0 || q[FP_RES_MEM].n != NLEV) {
            fprintf(stderr, "nfc-online: %s\n", e.msg[0] ? e.msg : "no memory quantiles");
            exit(2);
        }
        int best = 3;
        if (i > 0)
            for (int l = 0; l < NLEV; l++)
                if (seen[l] < seen[best]) best = l;
        waste += attempt_cost(&t[i], q[FP_RES_MEM].value[best], &fail);
        for (int l = 0; l < NLEV; l++) seen[l] += attempt_cost(&t[i], q[FP_RES_MEM].value[l], NULL);
        fp_example u = {.x = &x, .group = "t"};
        for (int r = 0; r < FP_RES_COUNT; r++) u.y[r] = NAN;
        u.y[FP_RES_MEM] = t[i].peak;
        if (fp_model_update(m, &u, &e) < 0) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    }
    printf("R %s fp-rchar %.6f %ld\n", name, waste, fail);
    free(ex);
    free(xs);
    fp_model_free(m);
}

#define LDIM (FP_EMBED_DIM + 2)

/* The pre-start features of a row: the embedding of its process name,
 * log of its memory request, its cpus (NaN when unknown). */
static void lowo_x(const row *r, double *x)
{
    json_t *meta = json_pack("{s:s,s:s}", "source", "nextflow", "process", r->name);
    fp_embed(meta, x);
    json_decref(meta);
    x[FP_EMBED_DIM] = r->req_mem > 0 ? r->req_mem : NAN;
    x[FP_EMBED_DIM + 1] = r->req_cpus > 0 ? r->req_cpus : NAN;
}

static void run_lowo(const char *name, const row *h, size_t nh, const row *t, size_t nt)
{
    fp_err e = {0};
    fp_model_opts mo;
    fp_model_opts_default(&mo);
    static char nbuf[LDIM][16];
    static const char *names[LDIM];
    for (int i = 0; i < LDIM; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], i < FP_EMBED_DIM ? "emb_%02d" : i == FP_EMBED_DIM ? "meta_req_mem_bytes" : "meta_req_cpus", i);
        names[i] = nbuf[i];
    }
    mo.dim = LDIM;
    mo.names = names;
    mo.nlevels = NLEV;
    for (int l = 0; l < NLEV; l++) mo.levels[l] = levels[l];
    fp_model *m = fp_model_new("knn", &mo, &e);
    if (!m) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.val_frac = 0;
    fp_example *ex = calloc(nh ? nh : 1, sizeof *ex);
    double *xs = calloc((nh ? nh : 1) * LDIM, sizeof *xs);
    for (size_t i = 0; i < nh; i++) {
        lowo_x(&h[i], &xs[i * LDIM]);
        ex[i].x = &xs[i * LDIM];
        for (int r = 0; r < FP_RES_COUNT; r++) ex[i].y[r] = NAN;
        ex[i].y[FP_RES_MEM] = h[i].peak;
        ex[i].group = h[i].name;
    }
    if (fp_model_train(m, ex, nh, &to, NULL, &e) < 0) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    double seen[NLEV] = {0}, waste = 0, x[LDIM];
    long fail = 0;
    for (size_t i = 0; i < nt; i++) {
        lowo_x(&t[i], x);
        fp_quantiles q[FP_RES_COUNT];
        if (fp_model_predict(m, x, q, NULL, &e) < 0 || q[FP_RES_MEM].n != NLEV) {
            fprintf(stderr, "nfc-online: %s\n", e.msg[0] ? e.msg : "no memory quantiles");
            exit(2);
        }
        int best = 3;
        if (i > 0)
            for (int l = 0; l < NLEV; l++)
                if (seen[l] < seen[best]) best = l;
        /* a process of this workflow not seen yet gets its request: the
         * neighbours from other workflows are a guess, the request is what
         * the workflow's author meant */
        bool known = false;
        for (size_t j = 0; j < i && !known; j++) known = !strcmp(t[j].name, t[i].name);
        double first = known || !(t[i].req_mem > 0) ? q[FP_RES_MEM].value[best] : t[i].req_mem;
        waste += attempt_cost(&t[i], first, &fail);
        for (int l = 0; l < NLEV; l++) seen[l] += attempt_cost(&t[i], q[FP_RES_MEM].value[l], NULL);
        fp_example u = {.x = x, .group = t[i].name};
        for (int r = 0; r < FP_RES_COUNT; r++) u.y[r] = NAN;
        u.y[FP_RES_MEM] = t[i].peak;
        if (fp_model_update(m, &u, &e) < 0) { fprintf(stderr, "nfc-online: %s\n", e.msg); exit(2); }
    }
    printf("R %s fp-lowo %.6f %ld\n", name, waste, fail);
    free(ex);
    free(xs);
    fp_model_free(m);
}

int main(void)
{
    char line[4096], name[4096] = "";
    bool lowo = false;
    row *h = NULL, *t = NULL;
    size_t nh = 0, nt = 0, ch = 0, ct = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if ((line[0] == 'G' || line[0] == 'L') && line[1] == ' ') {
            snprintf(name, sizeof name, "%s", line + 2);
            lowo = line[0] == 'L';
            nh = nt = 0;
        } else if ((line[0] == 'H' || line[0] == 'T') && line[1] == ' ') {
            row r = {.req_mem = NAN, .req_cpus = NAN};
            int got = sscanf(line + 2, "%lf %lf %lf %lf %lf %127s", &r.peak, &r.rt_ms, &r.rchar, &r.req_mem,
                             &r.req_cpus, r.name);
            if (got < 3) {
                fprintf(stderr, "nfc-online: bad line: %s\n", line);
                return 3;
            }
            row **a = line[0] == 'H' ? &h : &t;
            size_t *n = line[0] == 'H' ? &nh : &nt, *c = line[0] == 'H' ? &ch : &ct;
            if (*n == *c) {
                *c = *c ? *c * 2 : 256;
                *a = realloc(*a, *c * sizeof **a);
                if (!*a) return 2;
            }
            (*a)[(*n)++] = r;
        } else if (line[0] == 'E' && lowo) {
            run_lowo(name, h, nh, t, nt);
            fflush(stdout);
        } else if (line[0] == 'E') {
            run_prestart(name, h, nh, t, nt);
            run_rchar(name, h, nh, t, nt);
            fflush(stdout);
        }
    }
    free(h);
    free(t);
    return 0;
}
