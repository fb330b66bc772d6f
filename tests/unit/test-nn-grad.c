/* test-nn-grad.c - finite-difference gradient checks of every nn.h
 * operator, the LSTM and GRU cells through time, causal attention, the
 * Transformer encoder layer, the pinball head, and the whole sequence
 * models (lstm, gru, transformer: input to quantile loss), plus AdamW and
 * clipping against hand computations.
 *
 * Each check: a scalar loss L = sum_i r_i y_i of the operator's outputs
 * with fixed random weights r (so dL/dy = r), the analytic gradient from
 * the backward function, and central differences
 *     (L(p + h) - L(p - h)) / 2h,  h = 1e-5,  double precision,
 * for every input and parameter. The error of one component is
 *     |analytic - numeric| / max(|analytic|, |numeric|, 1e-3)
 * (relative, or absolute below 1e-3 where the roundoff of the difference
 * quotient, ~1e-11, would dominate a relative measure); every operator's
 * worst must be below 1e-6. The worst error of each is printed. */
#include <stdlib.h>
#include <string.h>
#include "fp/model.h"
#include "model_impl.h"
#include "nn.h"
#include "tap.h"
#include "model-util.h"

#define FD_H 1e-5
#define TOL 1e-6

static trng rng_g = {42};

static double *vec(size_t n, double a, double b)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = trng_unif(&rng_g, a, b);
    return v;
}
static double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* The loss as a function of the current values of all arrays. */
typedef double (*lossfn)(void *ctx);

/* Worst error of the analytic gradient g of loss f with respect to the n
 * values at p (perturbed in place and restored). */
static double fd(lossfn f, void *ctx, double *p, const double *g, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = p[i];
        p[i] = s + FD_H;
        double lp = f(ctx);
        p[i] = s - FD_H;
        double lm = f(ctx);
        p[i] = s;
        double num = (lp - lm) / (2 * FD_H), a = g[i];
        double den = fmax(fmax(fabs(a), fabs(num)), 1e-3);
        double e = fabs(a - num) / den;
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

static double worst_all;
static void report(const char *what, double e)
{
    if (e > worst_all) worst_all = e;
    ok(e < TOL, "%s: worst relative error %.2e", what, e);
}

/* ------------------------------------------------------------ elementwise */

typedef struct { int n, which; double *x, *y, *r; } ew;
static void ew_fwd(ew *c)
{
    switch (c->which) {
    case 0: fp_nn_sigmoid(c->n, c->x, c->y); break;
    case 1: fp_nn_tanh(c->n, c->x, c->y); break;
    case 2: fp_nn_relu(c->n, c->x, c->y); break;
    case 3: fp_nn_gelu(c->n, c->x, c->y); break;
    default: fp_nn_softmax(c->n, c->x, c->y); break;
    }
}
static double ew_loss(void *p) { ew *c = p; ew_fwd(c); return fp_nn_dot(c->r, c->y, c->n); }

static void check_elementwise(void)
{
    static const char *nm[] = {"sigmoid", "tanh", "relu", "gelu", "softmax"};
    for (int w = 0; w < 5; w++) {
        ew c = {17, w, vec(17, -3, 3), zeros(17), vec(17, -1, 1)};
        if (w == 2)             /* keep away from the kink at 0 */
            for (int i = 0; i < c.n; i++) if (fabs(c.x[i]) < 0.1) c.x[i] = 0.5;
        double *dx = zeros(17);
        ew_fwd(&c);
        switch (w) {
        case 0: fp_nn_sigmoid_bwd(c.n, c.y, c.r, dx); break;
        case 1: fp_nn_tanh_bwd(c.n, c.y, c.r, dx); break;
        case 2: fp_nn_relu_bwd(c.n, c.x, c.r, dx); break;
        case 3: fp_nn_gelu_bwd(c.n, c.x, c.r, dx); break;
        default: fp_nn_softmax_bwd(c.n, c.y, c.r, dx); break;
        }
        report(nm[w], fd(ew_loss, &c, c.x, dx, 17));
        free(c.x); free(c.y); free(c.r); free(dx);
    }
}

/* ------------------------------------------------------------ linear algebra */

typedef struct { int T, m, n; double *W, *b, *X, *Y, *r, a; } lin;
static double mv_loss(void *p) { lin *c = p; fp_nn_matvec(c->W, c->b, c->X, c->Y, c->m, c->n); return fp_nn_dot(c->r, c->Y, c->m); }
static double mm_loss(void *p)
{
    lin *c = p;
    fp_nn_matmul(c->X, c->W, c->b, c->Y, c->T, c->m, c->n);
    return fp_nn_dot(c->r, c->Y, c->T * c->m);
}
static double ax_loss(void *p)
{
    lin *c = p;
    for (int i = 0; i < c->n; i++) c->Y[i] = 0.25 * i;    /* y = y0 + a x, y0 fixed */
    fp_nn_axpy(c->n, c->a, c->X, c->Y);
    return fp_nn_dot(c->r, c->Y, c->n);
}

static void check_linear(void)
{
    int T = 3, m = 5, n = 7;
    lin c = {T, m, n, vec((size_t)m * n, -1, 1), vec((size_t)m, -1, 1), vec((size_t)T * n, -1, 1),
             zeros((size_t)T * m), vec((size_t)T * m, -1, 1), 0.7};
    double *dW = zeros((size_t)m * n), *db = zeros((size_t)m), *dX = zeros((size_t)T * n);
    fp_nn_matvec_bwd(c.W, c.X, c.r, dW, db, dX, m, n);
    double e = fd(mv_loss, &c, c.W, dW, (size_t)m * n);
    e = fmax(e, fd(mv_loss, &c, c.b, db, (size_t)m));
    e = fmax(e, fd(mv_loss, &c, c.X, dX, (size_t)n));
    report("matvec (W, b, x)", e);
    memset(dW, 0, (size_t)m * n * sizeof *dW); memset(db, 0, (size_t)m * sizeof *db);
    memset(dX, 0, (size_t)T * n * sizeof *dX);
    fp_nn_matmul_bwd(c.X, c.W, c.r, dW, db, dX, T, m, n);
    e = fd(mm_loss, &c, c.W, dW, (size_t)m * n);
    e = fmax(e, fd(mm_loss, &c, c.b, db, (size_t)m));
    e = fmax(e, fd(mm_loss, &c, c.X, dX, (size_t)T * n));
    report("matmul (W, b, X)", e);
    /* axpy: y = b + a x, gradient in x and a */
    double *dx = zeros((size_t)n), da = 0;
    fp_nn_axpy_bwd(n, c.a, c.X, c.r, dx, &da);
    e = fd(ax_loss, &c, c.X, dx, (size_t)n);
    e = fmax(e, fd(ax_loss, &c, &c.a, &da, 1));
    report("axpy (x, a)", e);
    free(c.W); free(c.b); free(c.X); free(c.Y); free(c.r); free(dW); free(db); free(dX); free(dx);
}

/* matvec_bwd works on four rows at a time; it, and matvec, must give,
 * bit for bit, the row-by-row reference (one fp_nn_dot per row; one axpy
 * per row with a non-zero gradient), tails (m, n not multiples of 4) and
 * blocks with a zero gradient included. */
static void check_blocked(void)
{
    int m = 11, n = 13;
    double *W = vec((size_t)m * n, -1, 1), *b = vec((size_t)m, -1, 1), *x = vec((size_t)n, -1, 1);
    double *dy = vec((size_t)m, -1, 1), y[11], yr[11];
    dy[5] = 0;                                          /* the second block has a zero */
    fp_nn_matvec(W, b, x, y, m, n);
    for (int i = 0; i < m; i++) yr[i] = b[i] + fp_nn_dot(W + (size_t)i * n, x, n);
    ok(memcmp(y, yr, sizeof y) == 0, "matvec: bit for bit the row-by-row dot products");
    double *dW = vec((size_t)m * n, -1, 1), *db = vec((size_t)m, -1, 1), *dx = vec((size_t)n, -1, 1);
    double *dWr = malloc((size_t)m * n * sizeof *dWr), dbr[11], dxr[13];
    memcpy(dWr, dW, (size_t)m * n * sizeof *dWr);
    memcpy(dbr, db, sizeof dbr);
    memcpy(dxr, dx, sizeof dxr);
    fp_nn_matvec_bwd(W, x, dy, dW, db, dx, m, n);
    for (int i = 0; i < m; i++) {
        if (dy[i] == 0) continue;
        fp_nn_axpy(n, dy[i], x, dWr + (size_t)i * n);
        dbr[i] += dy[i];
        fp_nn_axpy(n, dy[i], W + (size_t)i * n, dxr);
    }
    ok(memcmp(dW, dWr, (size_t)m * n * sizeof *dW) == 0 && memcmp(db, dbr, sizeof dbr) == 0 &&
       memcmp(dx, dxr, sizeof dxr) == 0, "matvec_bwd: bit for bit the row-by-row axpy form");
    memcpy(dxr, dx, sizeof dxr);
    fp_nn_matvec_bwd(W, x, dy, NULL, NULL, dx, m, n);   /* dx only */
    for (int i = 0; i < m; i++) if (dy[i] != 0) fp_nn_axpy(n, dy[i], W + (size_t)i * n, dxr);
    ok(memcmp(dx, dxr, sizeof dxr) == 0, "matvec_bwd without dW, db: the same dx");
    free(W); free(b); free(x); free(dy); free(dW); free(db); free(dx); free(dWr);
}

/* ------------------------------------------------------------ layernorm, dropout */

typedef struct { int n; double *x, *g, *b, *y, *r, mean, rstd; } lnc;
static double ln_loss(void *p)
{
    lnc *c = p;
    fp_nn_layernorm(c->n, c->x, c->g, c->b, c->y, &c->mean, &c->rstd);
    return fp_nn_dot(c->r, c->y, c->n);
}

static void check_layernorm(void)
{
    int n = 12;
    lnc c = {n, vec(n, -2, 3), vec(n, 0.5, 1.5), vec(n, -1, 1), zeros(n), vec(n, -1, 1), 0, 0};
    double *dx = zeros(n), *dg = zeros(n), *db = zeros(n);
    ln_loss(&c);
    fp_nn_layernorm_bwd(n, c.x, c.g, c.mean, c.rstd, c.r, dx, dg, db);
    double e = fd(ln_loss, &c, c.x, dx, n);
    e = fmax(e, fd(ln_loss, &c, c.g, dg, n));
    e = fmax(e, fd(ln_loss, &c, c.b, db, n));
    report("layernorm (x, gain, bias)", e);
    free(c.x); free(c.g); free(c.b); free(c.y); free(c.r); free(dx); free(dg); free(db);
}

typedef struct { int n; double p; uint64_t seed; double *x, *y, *mask, *r; } dropc;
static double drop_loss(void *q)
{
    dropc *c = q;
    uint64_t s = c->seed;           /* the same mask every time */
    fp_nn_dropout(c->n, c->p, &s, c->x, c->y, c->mask);
    return fp_nn_dot(c->r, c->y, c->n);
}

static void check_dropout(void)
{
    int n = 64;
    dropc c = {n, 0.3, 99, vec(n, -1, 1), zeros(n), zeros(n), vec(n, -1, 1)};
    double *dx = zeros(n);
    drop_loss(&c);
    fp_nn_dropout_bwd(n, c.mask, c.r, dx);
    report("dropout (x, fixed mask)", fd(drop_loss, &c, c.x, dx, n));
    int kept = 0;
    for (int i = 0; i < n; i++) kept += c.mask[i] != 0;
    ok(kept > 30 && kept < 60, "dropout keeps about 70%% (%d of %d)", kept, n);
    uint64_t s1 = 5, s2 = 5;
    double m1[8], m2[8], y[8];
    fp_nn_dropout(8, 0.5, &s1, c.x, y, m1);
    fp_nn_dropout(8, 0.5, &s2, c.x, y, m2);
    ok(memcmp(m1, m2, sizeof m1) == 0, "dropout is deterministic with the seed");
    fp_nn_dropout(8, 0, &s1, c.x, y, m1);
    ok(memcmp(y, c.x, sizeof y) == 0, "dropout 0 is the identity");
    free(c.x); free(c.y); free(c.mask); free(c.r); free(dx);
}

/* ------------------------------------------------------------ pinball head */

typedef struct { int H, R, Q; double *W, *b, *h, *u, *t, tau[3]; } headc;
static double head_loss(void *p)
{
    headc *c = p;
    fp_nn_matvec(c->W, c->b, c->h, c->u, c->R * c->Q, c->H);
    return fp_nn_pinball(c->u, c->t, c->tau, c->R, c->Q, NULL);
}

static void check_head(void)
{
    int H = 6, R = 3, Q = 3;
    headc c = {H, R, Q, vec((size_t)R * Q * H, -1, 1), vec((size_t)R * Q, -1, 1), vec(H, -1, 1),
               zeros((size_t)R * Q), vec(R, -2, 2), {0.5, 0.9, 0.99}};
    c.t[1] = NAN;               /* an unknown target contributes nothing */
    head_loss(&c);
    /* keep every residual away from the kink at 0 */
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++)
            if (!isnan(c.t[r]) && fabs(c.t[r] - c.u[r * Q + q]) < 0.05) c.b[r * Q + q] += 0.2;
    head_loss(&c);
    long nt = 0;
    fp_nn_pinball(c.u, c.t, c.tau, R, Q, &nt);
    is_int(nt, 6, "pinball counts the terms of known targets");
    double *du = zeros((size_t)R * Q), *dW = zeros((size_t)R * Q * H), *db = zeros((size_t)R * Q), *dh = zeros(H);
    fp_nn_pinball_bwd(c.u, c.t, c.tau, R, Q, 1.0, du);
    fp_nn_matvec_bwd(c.W, c.h, du, dW, db, dh, R * Q, H);
    double e = fd(head_loss, &c, c.W, dW, (size_t)R * Q * H);
    e = fmax(e, fd(head_loss, &c, c.b, db, (size_t)R * Q));
    e = fmax(e, fd(head_loss, &c, c.h, dh, H));
    report("pinball head (W, b, h)", e);
    double u1 = 1, t1 = 3, tau1 = 0.9;
    is_near(fp_nn_pinball(&u1, &t1, &tau1, 1, 1, NULL), 1.8, 1e-12, "pinball: under-prediction costs tau d");
    u1 = 5;
    is_near(fp_nn_pinball(&u1, &t1, &tau1, 1, 1, NULL), 0.2, 1e-12, "pinball: over-prediction costs (1 - tau) |d|");
    free(c.W); free(c.b); free(c.h); free(c.u); free(c.t); free(du); free(dW); free(db); free(dh);
}

/* ------------------------------------------------------------ recurrent cells */

typedef struct {
    int D, H, T, gru;
    double *p, *X, *h0, *c0, *Hs, *h, *c, *r, *rh, *rc, *scr;
} rnnc;

static double rnn_loss(void *q)
{
    rnnc *k = q;
    memcpy(k->h, k->h0, (size_t)k->H * sizeof *k->h);
    memcpy(k->c, k->c0, (size_t)k->H * sizeof *k->c);
    if (k->gru) fp_nn_gru_fwd(k->p, k->D, k->H, k->T, k->X, k->Hs, k->h, NULL, k->scr);
    else fp_nn_lstm_fwd(k->p, k->p + 4 * (size_t)k->H * (k->D + k->H), k->D, k->H, k->T, k->X, k->Hs,
                        k->h, k->c, NULL, k->scr);
    double L = fp_nn_dot(k->r, k->Hs, k->T * k->H) + fp_nn_dot(k->rh, k->h, k->H);
    if (!k->gru) L += fp_nn_dot(k->rc, k->c, k->H);
    return L;
}

static void check_rnn(int gru)
{
    int D = 3, H = 4, T = 6;
    size_t np = gru ? FP_NN_GRU_NPARAMS(D, H) : FP_NN_LSTM_NPARAMS(D, H);
    size_t cs = gru ? FP_NN_GRU_CACHE(D, H) : FP_NN_LSTM_CACHE(D, H);
    rnnc k = {D, H, T, gru, vec(np, -0.8, 0.8), vec((size_t)T * D, -1, 1), vec(H, -0.5, 0.5), vec(H, -0.5, 0.5),
              zeros((size_t)T * H), zeros(H), zeros(H), vec((size_t)T * H, -1, 1), vec(H, -1, 1), vec(H, -1, 1),
              zeros(FP_NN_RNN_SCRATCH(D, H))};
    double *cache = zeros((size_t)T * cs), *dp = zeros(np), *dX = zeros((size_t)T * D);
    double *dh = malloc((size_t)H * sizeof *dh), *dc = malloc((size_t)H * sizeof *dc);
    memcpy(k.h, k.h0, (size_t)H * sizeof *k.h);
    memcpy(k.c, k.c0, (size_t)H * sizeof *k.c);
    memcpy(dh, k.rh, (size_t)H * sizeof *dh);
    memcpy(dc, k.rc, (size_t)H * sizeof *dc);
    if (gru) {
        fp_nn_gru_fwd(k.p, D, H, T, k.X, k.Hs, k.h, cache, k.scr);
        fp_nn_gru_bwd(k.p, D, H, T, cache, k.r, dh, dp, dX, k.scr);
    } else {
        fp_nn_lstm_fwd(k.p, k.p + 4 * (size_t)H * (D + H), D, H, T, k.X, k.Hs, k.h, k.c, cache, k.scr);
        fp_nn_lstm_bwd(k.p, D, H, T, cache, k.r, dh, dc, dp, dp + 4 * (size_t)H * (D + H), dX, k.scr);
    }
    /* the same loss without caches: inference and training agree */
    double *Hs2 = malloc((size_t)T * H * sizeof *Hs2);
    memcpy(Hs2, k.Hs, (size_t)T * H * sizeof *Hs2);
    rnn_loss(&k);
    ok(memcmp(Hs2, k.Hs, (size_t)T * H * sizeof *Hs2) == 0, "%s: forward with and without caches agree", gru ? "GRU" : "LSTM");
    double e = fd(rnn_loss, &k, k.p, dp, np);
    e = fmax(e, fd(rnn_loss, &k, k.X, dX, (size_t)T * D));
    e = fmax(e, fd(rnn_loss, &k, k.h0, dh, H));
    if (!gru) e = fmax(e, fd(rnn_loss, &k, k.c0, dc, H));
    report(gru ? "GRU through 6 steps (params, inputs, h0)" : "LSTM through 6 steps (params, inputs, h0, c0)", e);
    free(k.p); free(k.X); free(k.h0); free(k.c0); free(k.Hs); free(k.h); free(k.c); free(k.r); free(k.rh);
    free(k.rc); free(k.scr); free(cache); free(dp); free(dX); free(dh); free(dc); free(Hs2);
}

/* ------------------------------------------------------------ attention, Transformer */

typedef struct { int T, d, nh, f; double *QKV, *P, *O, *r, *p, *X, *Y, *cache; } attc;
static double attn_loss(void *q)
{
    attc *a = q;
    fp_nn_attn_fwd(a->T, a->d, a->nh, a->QKV, a->P, a->O);
    return fp_nn_dot(a->r, a->O, a->T * a->d);
}
static double tf_loss(void *q)
{
    attc *a = q;
    fp_nn_tf_layer_fwd(a->p, a->d, a->nh, a->f, a->T, a->X, a->Y, a->cache);
    return fp_nn_dot(a->r, a->Y, a->T * a->d);
}

static void check_attention(void)
{
    int T = 5, d = 8, nh = 2;
    attc a = {T, d, nh, 0, vec((size_t)T * 3 * d, -1, 1), zeros((size_t)nh * T * T), zeros((size_t)T * d),
              vec((size_t)T * d, -1, 1), NULL, NULL, NULL, NULL};
    double *dQKV = zeros((size_t)T * 3 * d), *scr = zeros(T);
    attn_loss(&a);
    fp_nn_attn_bwd(T, d, nh, a.QKV, a.P, a.r, dQKV, scr);
    report("causal attention, 2 heads (q, k, v)", fd(attn_loss, &a, a.QKV, dQKV, (size_t)T * 3 * d));
    /* causality: position 0's output moves with nothing after it */
    double o0[8];
    memcpy(o0, a.O, sizeof o0);
    for (int j = 0; j < 3 * d; j++) a.QKV[(size_t)(T - 1) * 3 * d + j] += 1;
    attn_loss(&a);
    ok(memcmp(o0, a.O, sizeof o0) == 0, "attention is causal");
    free(a.QKV); free(a.P); free(a.O); free(a.r); free(dQKV); free(scr);
}

static void check_tf(int nh)
{
    int T = 4, d = 8, f = 16;
    size_t np = FP_NN_TF_NPARAMS(d, f);
    attc a = {T, d, nh, f, NULL, NULL, NULL, vec((size_t)T * d, -1, 1), vec(np, -0.5, 0.5), vec((size_t)T * d, -1, 1),
              zeros((size_t)T * d), zeros(FP_NN_TF_CACHE(T, d, nh, f))};
    /* layernorm gains near 1 */
    for (int i = 0; i < d; i++) { a.p[i] += 1; a.p[6 * d + 4 * d * d + i] += 1; }
    double *dp = zeros(np), *dX = zeros((size_t)T * d), *scr = zeros(FP_NN_TF_SCRATCH(T, d, f));
    tf_loss(&a);
    fp_nn_tf_layer_bwd(a.p, d, nh, f, T, a.X, a.cache, a.r, dp, dX, scr);
    double e = fd(tf_loss, &a, a.p, dp, np);
    e = fmax(e, fd(tf_loss, &a, a.X, dX, (size_t)T * d));
    char w[96];
    snprintf(w, sizeof w, "Transformer layer, %d head%s, 4 positions (all params, inputs)", nh, nh > 1 ? "s" : "");
    report(w, e);
    free(a.r); free(a.p); free(a.X); free(a.Y); free(a.cache); free(dp); free(dX); free(scr);
}

/* ------------------------------------------------------------ whole models */

typedef struct { fp_model *m; const double *Z; int T; const double *t; } modc;
static double mod_loss(void *q)
{
    modc *c = q;
    double *th, *g;
    size_t np;
    return fp_model_seq_debug(c->m, c->Z, c->T, c->t, false, &th, &g, &np);
}

static void check_model(const char *kind, bool prefix, int layers)
{
    static const char *const nm[] = {"a", "b", "c"};
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.seq_dim = 3;
    o.seq_names = nm;
    o.hidden = 8;
    o.layers = layers;
    o.heads = 2;
    o.ctx = 5;
    o.bptt = 100;
    o.prefix_loss = prefix;
    fp_err err = {0};
    fp_model *m = fp_model_new(kind, &o, &err);
    if (!m) { ok(0, "%s: %s", kind, err.msg); return; }
    int T = 7;
    double *Z = vec((size_t)T * 3, -1.5, 1.5), t[FP_RES_COUNT];
    /* targets away from the outputs (near 0): no kink within reach; small,
     * so the loss, and the roundoff of the difference quotient, stay small */
    for (int r = 0; r < FP_RES_COUNT; r++) t[r] = NAN;
    t[0] = 1.5;
    t[2] = -1.5;
    double *th, *g;
    size_t np;
    fp_model_seq_debug(m, Z, T, t, true, &th, &g, &np);
    double *ga = malloc(np * sizeof *ga);
    memcpy(ga, g, np * sizeof *ga);
    modc c = {m, Z, T, t};
    double e = fd(mod_loss, &c, th, ga, np);
    char w[128];
    snprintf(w, sizeof w, "%s model%s%s, 7 steps: input to quantile loss (%zu params)", kind,
             layers == 2 ? " (2 layers)" : "", prefix ? ", every prefix" : "", np);
    report(w, e);
    free(ga);
    free(Z);
    fp_model_free(m);
}

/* ------------------------------------------------------------ optimiser */

static void check_optimiser(void)
{
    double th[3] = {1, -2, 0.5}, g[3] = {0.1, -0.3, 2}, m[3] = {0}, v[3] = {0}, step = 0;
    unsigned char dec[3] = {1, 0, 1};
    fp_nn_adam(th, g, m, v, 3, &step, 0.01, 0.9, 0.999, 1e-8, 0.1, dec);
    /* first step: m/(1-b1) = g, v/(1-b2) = g^2, so the step is lr sign(g) (to eps) */
    is_near(th[0], 1 - 0.01 * (0.1 / (0.1 + 1e-8)) - 0.01 * 0.1 * 1, 1e-15, "AdamW step 1, decayed weight");
    is_near(th[1], -2 + 0.01 * (0.3 / (0.3 + 1e-8)), 1e-15, "AdamW step 1, undecayed parameter");
    ok(step == 1, "Adam counts its steps");
    double g2[3] = {0.2, 0.1, -0.05}, mm = 0.9 * m[0] + 0.1 * 0.2, vv = 0.999 * v[0] + 0.001 * 0.04;
    double want = th[0] - 0.01 * ((mm / (1 - 0.81)) / (sqrt(vv / (1 - 0.999 * 0.999)) + 1e-8)) - 0.01 * 0.1 * th[0];
    fp_nn_adam(th, g2, m, v, 3, &step, 0.01, 0.9, 0.999, 1e-8, 0.1, dec);
    is_near(th[0], want, 1e-15, "AdamW step 2 with bias correction");
    double c[4] = {3, 4, 0, 0};
    double nrm = fp_nn_clip(c, 4, 1);
    is_near(nrm, 5, 1e-15, "clip returns the norm before");
    is_near(c[0], 0.6, 1e-15, "clip scales to the maximum norm");
    is_near(c[1], 0.8, 1e-15, "clip keeps the direction");
    double d[2] = {0.3, 0.4};
    fp_nn_clip(d, 2, 1);
    ok(d[0] == 0.3 && d[1] == 0.4, "clip leaves a small gradient alone");
    double pe[4] = {0};
    fp_nn_posenc_add(3, 4, pe);
    is_near(pe[0], sin(3), 1e-15, "positional encoding, even index");
    is_near(pe[3], cos(3 / 100.0), 1e-15, "positional encoding, odd index");
}

int main(void)
{
    check_elementwise();
    check_linear();
    check_blocked();
    check_layernorm();
    check_dropout();
    check_head();
    check_rnn(0);
    check_rnn(1);
    check_attention();
    check_tf(1);
    check_tf(2);
    check_tf(4);
    check_model("lstm", false, 1);
    check_model("lstm", true, 1);
    check_model("gru", false, 1);
    check_model("gru", true, 1);
    check_model("transformer", false, 1);
    check_model("transformer", true, 2);
    check_optimiser();
    printf("# worst relative error over all gradient checks: %.2e\n", worst_all);
    return done_testing();
}
