/* nfconfig.c - a sized Nextflow configuration from task history (see
 * fp/nfconfig.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fp/nfconfig.h"

typedef struct attempt {
    double peak, runtime, req, cores, req_cpus;
} attempt;

typedef struct proc {
    fp_nfc_process view;
    char *name;
    attempt *a;
    size_t n, cap;
} proc;

struct fp_nfc {
    proc *p;
    size_t n, cap;
    bool planned;
    fp_nfc_opts o;
};

void fp_nfc_opts_default(fp_nfc_opts *o)
{
    o->quantile = 0.99;
    o->margin = 0.05;
    o->max_retries = 2;
    o->min_tasks = 3;
}

fp_nfc *fp_nfc_new(void) { return calloc(1, sizeof(fp_nfc)); }

void fp_nfc_free(fp_nfc *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->p[i].name);
        free(c->p[i].a);
    }
    free(c->p);
    free(c);
}

size_t fp_nfc_processes(const fp_nfc *c) { return c->n; }

const fp_nfc_process *fp_nfc_process_at(const fp_nfc *c, size_t i)
{
    return i < c->n ? &c->p[i].view : NULL;
}

/* The process named name, created when new; NULL out of memory. Linear:
 * workflows have tens of processes. */
static proc *find(fp_nfc *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->p[i].name, name)) return &c->p[i];
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        proc *np = realloc(c->p, ncap * sizeof *np);
        if (!np) return NULL;
        c->p = np;
        c->cap = ncap;
    }
    proc *p = &c->p[c->n];
    memset(p, 0, sizeof *p);
    if (!(p->name = strdup(name))) return NULL;
    p->view.name = p->name;
    c->n++;
    return p;
}

int fp_nfc_add(fp_nfc *c, const char *process, double peak, double runtime, double req,
               double cores, double req_cpus, fp_err *err)
{
    if (!process || !*process) return fp_err_set(err, FP_EINPUT, "a task without a process name");
    if (!isfinite(peak) || peak < 0 || !isfinite(runtime) || runtime < 0)
        return fp_err_set(err, FP_EINPUT, "%s: peak %g bytes and runtime %g s must be finite and >= 0",
                          process, peak, runtime);
    proc *p = find(c, process);
    if (!p) return fp_err_sys(err, "out of memory");
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        attempt *na = realloc(p->a, ncap * sizeof *na);
        if (!na) return fp_err_sys(err, "out of memory");
        p->a = na;
        p->cap = ncap;
    }
    p->a[p->n++] = (attempt){peak, runtime, req > 0 ? req : NAN, cores >= 0 ? cores : NAN,
                             req_cpus > 0 ? req_cpus : NAN};
    p->view.tasks = p->n;
    c->planned = false;
    return 0;
}

static double num_or_nan(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Add one attempt from meta (process, requests) and m (the measured or
 * actual fields). */
static int add_from(fp_nfc *c, const json_t *meta, const json_t *m, fp_err *err)
{
    const char *process = json_string_value(json_object_get(meta, "process"));
    double peak = num_or_nan(m, "mem_bytes_peak"), rt = num_or_nan(m, "duration_s");
    const char *status = json_string_value(json_object_get(m, "status"));
    json_t *ex = json_object_get(m, "exit_code");
    if (!process || !*process || !isfinite(peak) || !isfinite(rt)) return 0;
    if (status && strcmp(status, "COMPLETED") != 0 && strcmp(status, "CACHED") != 0) return 0;
    if (json_is_integer(ex) && json_integer_value(ex) != 0) return 0;
    if (json_is_integer(json_object_get(m, "exit_signal"))) return 0;
    if (fp_nfc_add(c, process, peak, rt, num_or_nan(meta, "req_mem_bytes"), num_or_nan(m, "cpu_cores_mean"),
                   num_or_nan(meta, "req_cpus"), err) < 0)
        return -1;
    return 1;
}

int fp_nfc_add_task(fp_nfc *c, const fp_task *task, fp_err *err)
{
    return add_from(c, task->meta, task->measured, err);
}

int fp_nfc_add_actual(fp_nfc *c, const json_t *actual, fp_err *err)
{
    return add_from(c, json_object_get(actual, "meta"), actual, err);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The ceil(q n)-th smallest of v[0..n) (sorted in place). */
static double order_stat(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)ceil(q * (double)n);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

#define GBH(bytes, s) ((bytes) * 1e-9 * (s) / 3600.0)

/* What attempt a of the history costs under first allocation m (byte x
 * seconds): the failed attempts' allocations for the whole runtime, then
 * the last one's slack; a task that no attempt fits also pays its own
 * peak once more (it has to be run again by hand). */
static double cost(const attempt *a, double m, int max_retries)
{
    double w = 0;
    for (int k = 1; k <= max_retries + 1; k++) {
        double alloc = m * k;
        if (a->peak <= alloc) return w + (alloc - a->peak) * a->runtime;
        w += alloc * a->runtime;
    }
    return w + a->peak * a->runtime;
}

/* The first allocation of least waste, cross-validated: for each rank k
 * of the n - 1 other peaks, each attempt of the history is given the k-th
 * smallest peak of the OTHER attempts (leave one out), and the rank whose
 * total cost is least (ties: the larger) is then taken of all n peaks, at
 * the same share, rank ceil(k n / (n - 1)). In-sample, the least-waste
 * allocation over a few peaks is too tight for the next task (it fits the
 * history it was chosen on); leaving each task out prices that in, and
 * with many tasks the two agree. sorted: scratch of p->n values, the
 * peaks. O(n^2). */
static double least_waste(const proc *p, double *sorted, int max_retries)
{
    size_t n = p->n;
    qsort(sorted, n, sizeof *sorted, cmp_double);
    if (n < 2) return sorted[n - 1] > 0 ? sorted[n - 1] : 1;
    /* rank of each attempt's peak in sorted (any one of equal peaks: the
     * k-th smallest of the others is the same whichever is left out) */
    size_t *rank = malloc(n * sizeof *rank);
    if (!rank) return sorted[n - 1];
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < p->a[i].peak) lo = mid + 1;
            else hi = mid;
        }
        rank[i] = lo;
    }
    size_t best_k = n - 1;
    double best_w = INFINITY;
    for (size_t k = 1; k <= n - 1; k++) {
        double w = 0;
        for (size_t i = 0; i < n && w <= best_w; i++) {
            /* the k-th smallest (1-based) of the peaks without attempt i */
            double m = k - 1 < rank[i] ? sorted[k - 1] : sorted[k];
            w += cost(&p->a[i], m > 0 ? m : 1, max_retries);
        }
        if (w <= best_w) { best_w = w; best_k = k; }
    }
    free(rank);
    size_t r = (size_t)ceil((double)best_k * (double)n / (double)(n - 1));
    if (r < 1) r = 1;
    if (r > n) r = n;
    return sorted[r - 1] > 0 ? sorted[r - 1] : 1;
}

static int plan_one(proc *p, const fp_nfc_opts *o, fp_err *err)
{
    fp_nfc_process *v = &p->view;
    v->planned = p->n >= (size_t)o->min_tasks && p->n > 0;
    v->req_mem_bytes = NAN;
    v->compared = 0;
    v->waste_request_gbh = v->waste_plan_gbh = 0;
    v->retries = v->unfit = 0;
    double maxcpus = NAN;
    for (size_t i = 0; i < p->n; i++) {
        if (isfinite(p->a[i].req) && !(p->a[i].req <= v->req_mem_bytes)) v->req_mem_bytes = p->a[i].req;
        if (isfinite(p->a[i].req_cpus) && !(p->a[i].req_cpus <= maxcpus)) maxcpus = p->a[i].req_cpus;
    }
    if (!v->planned) return 0;
    double *tmp = malloc(p->n * sizeof *tmp);
    if (!tmp) return fp_err_sys(err, "out of memory");
    for (size_t i = 0; i < p->n; i++) tmp[i] = p->a[i].peak;
    double mib = 1048576.0;
    if (o->quantile > 0)
        v->mem_bytes = ceil(order_stat(tmp, p->n, o->quantile) * (1 + o->margin) / mib) * mib;
    else
        v->mem_bytes = ceil(least_waste(p, tmp, o->max_retries) / mib) * mib;
    if (v->mem_bytes < mib) v->mem_bytes = mib;
    size_t nc = 0;
    for (size_t i = 0; i < p->n; i++)
        if (isfinite(p->a[i].cores)) tmp[nc++] = p->a[i].cores;
    double cores = nc ? order_stat(tmp, nc, o->quantile) : (isfinite(maxcpus) ? maxcpus : 1);
    free(tmp);
    /* 1.02 cores is a busy single-threaded task, not two cores' worth */
    int cpus = (int)ceil(cores - 0.05);
    if (isfinite(maxcpus) && cpus > (int)maxcpus) cpus = (int)maxcpus;
    v->cpus = cpus < 1 ? 1 : cpus;
    /* score on the history */
    for (size_t i = 0; i < p->n; i++) {
        const attempt *a = &p->a[i];
        double w = 0;
        bool fit = false;
        for (int k = 1; k <= o->max_retries + 1; k++) {
            double alloc = v->mem_bytes * k;
            if (a->peak <= alloc) { w += GBH(alloc - a->peak, a->runtime); fit = true; break; }
            w += GBH(alloc, a->runtime);
            v->retries++;
        }
        if (!fit) v->unfit++;
        v->waste_plan_gbh += w;
        if (isfinite(a->req)) {
            v->compared++;
            v->waste_request_gbh += GBH(a->req > a->peak ? a->req - a->peak : 0, a->runtime);
        }
    }
    return 0;
}

int fp_nfc_plan(fp_nfc *c, const fp_nfc_opts *o, fp_err *err)
{
    fp_nfc_opts d;
    if (!o) { fp_nfc_opts_default(&d); o = &d; }
    if (!(o->quantile >= 0 && o->quantile <= 1) || !(o->margin >= 0 && o->margin <= 10) ||
        o->max_retries < 0 || o->max_retries > 10 || o->min_tasks < 1)
        return fp_err_set(err, FP_EUSAGE, "quantile must be in [0, 1] (0: least waste), margin in [0, 10], "
                          "retries in 0..10, min_tasks at least 1");
    c->o = *o;
    for (size_t i = 0; i < c->n; i++)
        if (plan_one(&c->p[i], o, err) < 0) return -1;
    c->planned = true;
    return 0;
}

/* name single-quoted, ' and \ escaped */
static void put_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

int fp_nfc_write(const fp_nfc *c, FILE *f, const char *comment, fp_err *err)
{
    if (!c->planned) return fp_err_set(err, FP_EUSAGE, "fp_nfc_write before fp_nfc_plan");
    if (comment) {
        const char *p = comment;
        while (*p) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            fprintf(f, "// %.*s\n", (int)n, p);
            p += n + (e ? 1 : 0);
        }
    }
    fputs("process {\n", f);
    for (size_t i = 0; i < c->n; i++) {
        const fp_nfc_process *v = &c->p[i].view;
        if (!v->planned) continue;
        fputs("    withName: ", f);
        put_quoted(f, v->name);
        fprintf(f, " {\n        cpus = %d\n        memory = { %.0f.MB * task.attempt }\n", v->cpus,
                v->mem_bytes / 1048576.0);
        fputs("        errorStrategy = { task.exitStatus in 137..140 ? 'retry' : 'terminate' }\n", f);
        fprintf(f, "        maxRetries = %d\n    }\n", c->o.max_retries);
    }
    fputs("}\n", f);
    if (fflush(f) != 0 || ferror(f)) return fp_err_sys(err, "writing the configuration");
    return 0;
}
