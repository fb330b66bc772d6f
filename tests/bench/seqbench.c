/* seqbench.c - the fp side of tests/bench/seq-vs-torch.sh: a synthetic
 * sequence data set, training of one sequence model on it through the
 * public API (fp_model_train), and streaming inference per step.
 *
 *   seqbench --kind lstm|gru|transformer [--n N] [--len T] [--epochs E]
 *            [--batch B] [--hidden H] [--threads K] [--seed S]
 *            [--stream-steps N] [--data FILE] [--model FILE] [--init FILE]
 *            [--verbose]
 *
 * The data (the same for every kind; a function of --n, --len and --seed
 * only): N workloads of T one-step samples of the 13 default metrics of a
 * sequence model (fp_model_seq_default_names). Workload i has a CPU level
 * c0, a growth rate, a periodic burst (amplitude A, period P) and a memory
 * leak; its targets are the peak CPU (cpu_cores) and peak memory
 * (mem_bytes) of the NEXT T steps, which the sequence determines up to
 * noise (a model must read the growth, the burst and the leak). The PSI
 * metrics are missing (NaN) in a third of the workloads. The last fifth
 * of the workloads is the validation set: fp_model_train's group split
 * holds out exactly those (see the probe below).
 *
 * --data FILE writes the data set for the PyTorch side as raw
 * little-endian doubles: a header [N, T, D, R], then per workload
 * [is_val, y[0..R), seq[0..T*D)] (NaN = missing).
 * --model FILE saves the trained model (its normalisation statistics are
 * what the Python side checks its own against).
 * --init FILE saves the model's initial parameters (an untimed extra run
 * of one epoch at learning rate 1e-300) for the Python side to start
 * from, and prints their validation loss as init_val.
 * --verbose prints each epoch's training and validation loss to stderr.
 *
 * Output, one line: kind=K train_s=S val_pinball=V epochs=E best_epoch=B
 * step_us=U n_train=N n_val=M (val_pinball: the report's validation loss,
 * the mean pinball loss of the last-step quantiles in standardised target
 * units at the best epoch; step_us: fp_model_stream_step per step,
 * single thread, over --stream-steps steps of the validation workloads).
 * Exit 0, 2 on usage or system error.
 */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fp/model.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct { uint64_t s; } rng;

static double unif(rng *r, double a, double b)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return a + (b - a) * ((double)(z >> 11) / 9007199254740992.0);
}

static double gauss(rng *r)
{
    double u = unif(r, 1e-12, 1), v = unif(r, 0, 1);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Metric columns (fp_model_seq_default_names order). */
enum { CPU, THR, MEM, ANON, FILEB, IOR, IOW, NRX, NTX, THREADS, PCPU, PMEM, PIO, NM };

/* Workload i's T steps into seq (T x NM) and its two targets. */
static void workload(rng *r, int T, double *seq, double *ycpu, double *ymem)
{
    double c0 = unif(r, 0.1, 2.0), grow = unif(r, -0.004, 0.012), A = unif(r, 0, 1.5) * c0;
    double P = floor(unif(r, 6, 20)), ph = unif(r, 0, 2 * M_PI);
    double m0 = unif(r, 5e7, 2e9), leak = unif(r, 0, 0.01), io = exp(unif(r, 8, 18));
    double net = exp(unif(r, 6, 16)), thr = floor(unif(r, 1, 64));
    int psi = unif(r, 0, 1) > 1.0 / 3;
    for (int t = 0; t < T; t++) {
        double *x = seq + (size_t)t * NM;
        double burst = A * fmax(0, sin(2 * M_PI * t / P + ph));
        double cpu = fmax(0, c0 * (1 + grow * t) + burst + 0.05 * c0 * gauss(r));
        double mem = m0 * (1 + leak * t) * (1 + 0.01 * gauss(r));
        x[CPU] = cpu;
        x[THR] = fmax(0, 100 * (cpu - 1.5) / 1.5 + 2 * gauss(r));
        x[MEM] = mem;
        x[ANON] = 0.8 * mem;
        x[FILEB] = 0.2 * mem * (1 + 0.1 * gauss(r));
        x[IOR] = io * (1 + burst) * fabs(1 + 0.2 * gauss(r));
        x[IOW] = 0.3 * io * fabs(1 + 0.2 * gauss(r));
        x[NRX] = net * (1 + burst) * fabs(1 + 0.2 * gauss(r));
        x[NTX] = 0.5 * net * fabs(1 + 0.2 * gauss(r));
        x[THREADS] = thr;
        x[PCPU] = psi ? fmax(0, 10 * (cpu - 1) + gauss(r)) : NAN;
        x[PMEM] = psi ? fmax(0, gauss(r)) : NAN;
        x[PIO] = psi ? fmax(0, 0.01 * io / 1e5 + gauss(r)) : NAN;
    }
    /* the next T steps' peaks (without their noise) */
    double pc = 0;
    for (int t = T; t < 2 * T; t++)
        pc = fmax(pc, c0 * (1 + grow * t) + A * fmax(0, sin(2 * M_PI * t / P + ph)));
    *ycpu = pc;
    *ymem = m0 * (1 + leak * (2 * T - 1));
}

/* --verbose: each epoch's losses to stderr */
static int progress(void *arg, const fp_train_progress *p)
{
    (void)arg;
    fprintf(stderr, "fp epoch %d train %.6f val %.6f\n", p->epoch, p->train_loss, p->val_loss);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: seqbench --kind lstm|gru|transformer [--n N] [--len T] [--epochs E] [--batch B]\n"
               "                [--hidden H] [--threads K] [--seed S] [--stream-steps N] [--data FILE]\n"
               "                [--model FILE] [--init FILE] [--verbose]\n");
}

int main(int argc, char **argv)
{
    const char *kind = NULL, *data = NULL, *mfile = NULL, *ifile = NULL;
    int verbose = 0, n = 3000, T = 48, epochs = 10, batch = 32, hidden = 32, threads = 1, steps = 2000;
    unsigned long seed = 1;
    static const struct option lo[] = {
        {"kind", 1, 0, 'k'}, {"n", 1, 0, 'n'}, {"len", 1, 0, 'T'}, {"epochs", 1, 0, 'e'},
        {"batch", 1, 0, 'b'}, {"hidden", 1, 0, 'H'}, {"threads", 1, 0, 'j'}, {"seed", 1, 0, 's'},
        {"stream-steps", 1, 0, 'S'}, {"data", 1, 0, 'd'}, {"model", 1, 0, 'm'}, {"init", 1, 0, 'i'}, {"verbose", 0, 0, 'v'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'k': kind = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'T': T = atoi(optarg); break;
        case 'e': epochs = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'H': hidden = atoi(optarg); break;
        case 'j': threads = atoi(optarg); break;
        case 's': seed = strtoul(optarg, NULL, 10); break;
        case 'S': steps = atoi(optarg); break;
        case 'd': data = optarg; break;
        case 'm': mfile = optarg; break;
        case 'i': ifile = optarg; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!kind || optind != argc || n < 10 || T < 1 || epochs < 1 || batch < 1 || hidden < 1 || threads < 1 ||
        steps < 1) {
        usage(stderr);
        return 2;
    }
    int D = NM, R = FP_RES_COUNT;
    int nval = n / 5, ntr = n - nval;
    double *seq = malloc((size_t)n * T * D * sizeof *seq);
    fp_example *ex = calloc((size_t)n, sizeof *ex);
    char (*g)[16] = malloc((size_t)n * sizeof *g);
    if (!seq || !ex || !g) { perror("seqbench"); return 2; }
    rng r = {seed * 0x2545F4914F6CDD1DULL + 7};
    for (int i = 0; i < n; i++) {
        double yc, ym;
        workload(&r, T, seq + (size_t)i * T * D, &yc, &ym);
        for (int k = 0; k < R; k++) ex[i].y[k] = NAN;
        ex[i].y[FP_RES_CPU] = yc;
        ex[i].y[FP_RES_MEM] = ym;
        ex[i].seq = seq + (size_t)i * T * D;
        ex[i].seq_len = T;
        ex[i].group = g[i];
    }
    /* Two groups, "a" and "b": with val_frac 0.2, fp_model_train holds
     * out one of them, the one the seed's shuffle picks. Find which with
     * a probe (a linear model, the same seed, group "a" of one row and
     * "b" of two: the held-out row count names it) and give the
     * validation workloads that name. */
    fp_train_opts to;
    fp_train_opts_default(&to);
    to.seed = seed;
    to.epochs = epochs;
    to.batch = batch;
    to.threads = threads;
    to.patience = epochs + 1;
    to.val_frac = 0.2;
    {
        static const char *const pn[] = {"cpu_cores"};
        double px[3] = {1, 2, 3};
        fp_example pe[3];
        memset(pe, 0, sizeof pe);
        for (int k = 0; k < 3; k++) {
            pe[k].x = &px[k];
            pe[k].group = k ? "b" : "a";
            for (int q = 0; q < R; q++) pe[k].y[q] = NAN;
            pe[k].y[FP_RES_CPU] = 1 + k;
        }
        fp_model_opts po;
        fp_model_opts_default(&po);
        po.dim = 1;
        po.names = pn;
        fp_err perr = {0};
        fp_model *pm = fp_model_new("linear", &po, &perr);
        fp_train_opts pt = to;
        pt.epochs = 1;
        pt.threads = 1;
        fp_train_report prep;
        if (!pm || fp_model_train(pm, pe, 3, &pt, &prep, &perr) < 0 || (prep.n_val != 1 && prep.n_val != 2)) {
            fprintf(stderr, "seqbench: split probe: %s\n", perr.msg);
            return 2;
        }
        const char *vn = prep.n_val == 1 ? "a" : "b", *tn = prep.n_val == 1 ? "b" : "a";
        for (int i = 0; i < n; i++) snprintf(g[i], sizeof g[i], "%s", i < ntr ? tn : vn);
        fp_model_free(pm);
    }

    if (data) {
        FILE *f = fopen(data, "wb");
        if (!f) { perror(data); return 2; }
        double h[4] = {n, T, D, R};
        fwrite(h, sizeof h, 1, f);
        for (int i = 0; i < n; i++) {
            double v = i >= ntr;
            fwrite(&v, sizeof v, 1, f);
            fwrite(ex[i].y, sizeof(double), (size_t)R, f);
            fwrite(ex[i].seq, sizeof(double), (size_t)T * D, f);
        }
        if (fclose(f) != 0) { perror(data); return 2; }
    }

    fp_model_opts mo;
    fp_model_opts_default(&mo);
    mo.hidden = hidden;
    mo.bptt = T;
    mo.ctx = T;
    fp_err err = {0};
    fp_model *m = fp_model_new(kind, &mo, &err);
    if (!m) { fprintf(stderr, "seqbench: %s\n", err.msg); return 2; }
    fp_train_report rep;
    double init_val = NAN;
    if (ifile) {
        /* the initial parameters: one epoch at a vanishing learning rate
         * (the same seed, data and prior as the timed run, so the same
         * initialisation; Adam moves nothing by more than 1e-300) */
        fp_model_opts io = mo;
        io.lr = 1e-300;
        fp_train_opts it = to;
        it.epochs = 1;
        fp_model *m0 = fp_model_new(kind, &io, &err);
        if (!m0 || fp_model_train(m0, ex, (size_t)n, &it, &rep, &err) < 0 || fp_model_save(m0, ifile, &err) < 0) {
            fprintf(stderr, "seqbench: %s\n", err.msg);
            return 2;
        }
        init_val = rep.val_loss;
        fp_model_free(m0);
    }
    if (verbose) to.progress = progress;
    double t0 = now_s();
    if (fp_model_train(m, ex, (size_t)n, &to, &rep, &err) < 0) {
        fprintf(stderr, "seqbench: %s\n", err.msg);
        return 2;
    }
    double train_s = now_s() - t0;
    if (rep.n_val != (size_t)nval) {
        fprintf(stderr, "seqbench: validation split has %zu rows, expected %d\n", rep.n_val, nval);
        return 2;
    }
    if (mfile && fp_model_save(m, mfile, &err) < 0) { fprintf(stderr, "seqbench: %s\n", err.msg); return 2; }

    /* streaming: the validation workloads one after another, each in a
     * fresh stream, until `steps` steps; the transformer's window slides
     * once a workload is longer than ctx, so feed each workload twice */
    fp_model_stream *s = fp_model_stream_new(m, &err);
    if (!s) { fprintf(stderr, "seqbench: %s\n", err.msg); return 2; }
    fp_quantiles out[FP_RES_COUNT];
    double sink = 0;
    int done = 0, w = ntr;
    t0 = now_s();
    while (done < steps) {
        const double *x = ex[w].seq;
        for (int t = 0; t < 2 * T && done < steps; t++, done++) {
            if (fp_model_stream_step(s, x + (size_t)(t % T) * D, out, &err) < 0) {
                fprintf(stderr, "seqbench: %s\n", err.msg);
                return 2;
            }
            sink += out[FP_RES_CPU].value[0];
        }
        if (++w == n) w = ntr;
        fp_model_stream_free(s);
        s = fp_model_stream_new(m, &err);
        if (!s) { fprintf(stderr, "seqbench: %s\n", err.msg); return 2; }
    }
    double step_us = (now_s() - t0) / done * 1e6;
    fp_model_stream_free(s);
    printf("kind=%s train_s=%.3f val_pinball=%.6f epochs=%d best_epoch=%d step_us=%.2f n_train=%zu n_val=%zu "
           "init_val=%.9g check=%.3g\n", kind, train_s, rep.val_loss, rep.epochs, rep.best_epoch, step_us, rep.n_train,
           rep.n_val, init_val, sink);
    fp_model_free(m);
    free(seq); free(ex); free(g);
    return 0;
}
