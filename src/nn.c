/* nn.c - dense kernels, recurrent cells, causal attention, a Transformer
 * encoder layer, the pinball head and AdamW (see nn.h for the contracts). */
#include <math.h>
#include <string.h>
#include "fp/model.h"
#include "nn.h"

/* ------------------------------------------------------------ basics */

double fp_nn_dot(const double *restrict x, const double *restrict y, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++) s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
}

void fp_nn_axpy(int n, double a, const double *restrict x, double *restrict y)
{
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

void fp_nn_axpy_bwd(int n, double a, const double *x, const double *dy, double *dx, double *da)
{
    if (dx) fp_nn_axpy(n, a, dy, dx);
    if (da) *da += fp_nn_dot(dy, x, n);
}

void fp_nn_matvec(const double *restrict W, const double *restrict b, const double *restrict x,
                  double *restrict y, int m, int n)
{
    /* (a four-row blocked form sharing the loads of x measured slower at
     * -O2: the dot product's four partial sums vectorise as they are) */
    for (int i = 0; i < m; i++) y[i] = (b ? b[i] : 0) + fp_nn_dot(W + (size_t)i * n, x, n);
}

/* dx += W^T dy for W (m x n) stored with row stride ld (the columns of
 * a wider matrix): the dx part of fp_nn_matvec_bwd, with the same four-row
 * blocking and the same sums, bit for bit. */
static void matvec_bwd_dx(const double *restrict W, int ld, const double *restrict dy, double *restrict dx, int m,
                          int n)
{
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        double g0 = dy[i], g1 = dy[i + 1], g2 = dy[i + 2], g3 = dy[i + 3];
        const double *w0 = W + (size_t)i * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;
        if (g0 == 0 || g1 == 0 || g2 == 0 || g3 == 0) {
            for (int k = 0; k < 4; k++)
                if (dy[i + k] != 0) fp_nn_axpy(n, dy[i + k], W + (size_t)(i + k) * ld, dx);
            continue;
        }
        for (int j = 0; j < n; j++) dx[j] = dx[j] + g0 * w0[j] + g1 * w1[j] + g2 * w2[j] + g3 * w3[j];
    }
    for (; i < m; i++)
        if (dy[i] != 0) fp_nn_axpy(n, dy[i], W + (size_t)i * ld, dx);
}

/* dW and db row by row (rows with a zero gradient skipped, as the
 * reference form does), four rows per pass over x; dx by matvec_bwd_dx:
 * bit for bit the row-by-row form (one axpy per row). */
void fp_nn_matvec_bwd(const double *restrict W, const double *restrict x, const double *restrict dy,
                      double *restrict dW, double *restrict db, double *restrict dx, int m, int n)
{
    if (dW) {
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            double g0 = dy[i], g1 = dy[i + 1], g2 = dy[i + 2], g3 = dy[i + 3];
            double *restrict d0 = dW + (size_t)i * n, *restrict d1 = d0 + n, *restrict d2 = d1 + n,
                   *restrict d3 = d2 + n;
            if (g0 == 0 || g1 == 0 || g2 == 0 || g3 == 0) {
                for (int k = 0; k < 4; k++)
                    if (dy[i + k] != 0) fp_nn_axpy(n, dy[i + k], x, dW + (size_t)(i + k) * n);
                continue;
            }
            for (int j = 0; j < n; j++) {
                double xv = x[j];
                d0[j] += g0 * xv;
                d1[j] += g1 * xv;
                d2[j] += g2 * xv;
                d3[j] += g3 * xv;
            }
        }
        for (; i < m; i++)
            if (dy[i] != 0) fp_nn_axpy(n, dy[i], x, dW + (size_t)i * n);
    }
    if (db)
        for (int i = 0; i < m; i++)
            if (dy[i] != 0) db[i] += dy[i];
    if (dx) matvec_bwd_dx(W, n, dy, dx, m, n);
}

void fp_nn_matmul(const double *X, const double *W, const double *b, double *Y, int T, int m, int n)
{
    for (int t = 0; t < T; t++) fp_nn_matvec(W, b, X + (size_t)t * n, Y + (size_t)t * m, m, n);
}

void fp_nn_matmul_bwd(const double *X, const double *W, const double *dY, double *dW, double *db,
                      double *dX, int T, int m, int n)
{
    for (int t = 0; t < T; t++)
        fp_nn_matvec_bwd(W, X + (size_t)t * n, dY + (size_t)t * m, dW, db, dX ? dX + (size_t)t * n : NULL, m, n);
}

/* ------------------------------------------------------------ activations */

static inline double sigm(double x)
{
    /* stable for large |x| */
    if (x >= 0) return 1 / (1 + exp(-x));
    double e = exp(x);
    return e / (1 + e);
}

void fp_nn_sigmoid(int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++) y[i] = sigm(x[i]);
}

void fp_nn_sigmoid_bwd(int n, const double *restrict y, const double *restrict dy, double *restrict dx)
{
    for (int i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1 - y[i]);
}

void fp_nn_tanh(int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++) y[i] = tanh(x[i]);
}

void fp_nn_tanh_bwd(int n, const double *restrict y, const double *restrict dy, double *restrict dx)
{
    for (int i = 0; i < n; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
}

void fp_nn_relu(int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void fp_nn_relu_bwd(int n, const double *restrict x, const double *restrict dy, double *restrict dx)
{
    for (int i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0;
}

void fp_nn_gelu(int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++) y[i] = 0.5 * x[i] * (1 + erf(x[i] * M_SQRT1_2));
}

void fp_nn_gelu_bwd(int n, const double *restrict x, const double *restrict dy, double *restrict dx)
{
    const double k = 0.5 * M_2_SQRTPI * M_SQRT1_2;     /* 1 / sqrt(2 pi) */
    for (int i = 0; i < n; i++) {
        double v = x[i];
        dx[i] += dy[i] * (0.5 * (1 + erf(v * M_SQRT1_2)) + v * k * exp(-0.5 * v * v));
    }
}

void fp_nn_softmax(int n, const double *x, double *y)
{
    if (n <= 0) return;
    double mx = x[0];
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) { y[i] = exp(x[i] - mx); s += y[i]; }
    double inv = 1 / s;
    for (int i = 0; i < n; i++) y[i] *= inv;
}

void fp_nn_softmax_bwd(int n, const double *restrict y, const double *restrict dy, double *restrict dx)
{
    double s = fp_nn_dot(y, dy, n);
    for (int i = 0; i < n; i++) dx[i] += y[i] * (dy[i] - s);
}

void fp_nn_layernorm(int n, const double *x, const double *g, const double *b, double *y,
                     double *mean, double *rstd)
{
    double mu = 0, var = 0;
    for (int i = 0; i < n; i++) mu += x[i];
    mu /= n;
    for (int i = 0; i < n; i++) { double d = x[i] - mu; var += d * d; }
    var /= n;
    double rs = 1 / sqrt(var + FP_NN_LN_EPS);
    for (int i = 0; i < n; i++) y[i] = g[i] * (x[i] - mu) * rs + b[i];
    *mean = mu;
    *rstd = rs;
}

void fp_nn_layernorm_bwd(int n, const double *restrict x, const double *restrict g, double mean, double rstd,
                         const double *restrict dy, double *restrict dx, double *restrict dg,
                         double *restrict db)
{
    double m1 = 0, m2 = 0;      /* means of dxhat and dxhat * xhat */
    for (int i = 0; i < n; i++) {
        double xh = (x[i] - mean) * rstd, dxh = dy[i] * g[i];
        m1 += dxh;
        m2 += dxh * xh;
        if (dg) dg[i] += dy[i] * xh;
        if (db) db[i] += dy[i];
    }
    m1 /= n;
    m2 /= n;
    for (int i = 0; i < n; i++) {
        double xh = (x[i] - mean) * rstd;
        dx[i] += rstd * (dy[i] * g[i] - m1 - xh * m2);
    }
}

void fp_nn_dropout(int n, double p, uint64_t *rng, const double *x, double *y, double *mask)
{
    double keep = 1 / (1 - p);
    for (int i = 0; i < n; i++) {
        double mk = 1;
        if (p > 0) mk = (double)(fp_splitmix64(rng) >> 11) * (1.0 / 9007199254740992.0) >= p ? keep : 0;
        mask[i] = mk;
        y[i] = x[i] * mk;
    }
}

void fp_nn_dropout_bwd(int n, const double *restrict mask, const double *restrict dy, double *restrict dx)
{
    for (int i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}

void fp_nn_posenc_add(int pos, int d, double *x)
{
    for (int i = 0; 2 * i < d; i++) {
        double a = pos / pow(10000.0, (2.0 * i) / d);
        x[2 * i] += sin(a);
        if (2 * i + 1 < d) x[2 * i + 1] += cos(a);
    }
}

/* ------------------------------------------------------------ pinball head */

double fp_nn_pinball(const double *u, const double *t, const double *tau, int R, int Q, long *nterms)
{
    double s = 0;
    long k = 0;
    for (int r = 0; r < R; r++) {
        if (isnan(t[r])) continue;
        for (int q = 0; q < Q; q++) {
            double d = t[r] - u[r * Q + q];
            s += d >= 0 ? tau[q] * d : (tau[q] - 1) * d;
            k++;
        }
    }
    if (nterms) *nterms = k;
    return s;
}

void fp_nn_pinball_bwd(const double *u, const double *t, const double *tau, int R, int Q, double w,
                       double *du)
{
    for (int r = 0; r < R; r++) {
        if (isnan(t[r])) continue;
        for (int q = 0; q < Q; q++)
            du[r * Q + q] += w * (t[r] > u[r * Q + q] ? -tau[q] : 1 - tau[q]);
    }
}

/* ------------------------------------------------------------ LSTM */

void fp_nn_lstm_fwd(const double *W, const double *b, int D, int H, int T, const double *X,
                    double *Hs, double *h, double *c, double *cache, double *scratch)
{
    double *a = scratch, *xh = scratch + 4 * H;
    size_t cs = FP_NN_LSTM_CACHE(D, H);
    for (int t = 0; t < T; t++) {
        const double *x = X + (size_t)t * D;
        memcpy(xh, x, (size_t)D * sizeof *xh);
        memcpy(xh + D, h, (size_t)H * sizeof *xh);
        fp_nn_matvec(W, b, xh, a, 4 * H, D + H);
        fp_nn_sigmoid(2 * H, a, a);
        fp_nn_tanh(H, a + 2 * H, a + 2 * H);
        fp_nn_sigmoid(H, a + 3 * H, a + 3 * H);
        double *ca = cache ? cache + (size_t)t * cs : NULL;
        if (ca) {
            memcpy(ca, xh, (size_t)(D + H) * sizeof *ca);      /* x, h_prev */
            memcpy(ca + D + H, c, (size_t)H * sizeof *ca);     /* c_prev */
            memcpy(ca + D + 2 * H, a, 4 * (size_t)H * sizeof *ca);
        }
        const double *gi = a, *gf = a + H, *gg = a + 2 * H, *go = a + 3 * H;
        for (int j = 0; j < H; j++) {
            c[j] = gf[j] * c[j] + gi[j] * gg[j];
            double tc = tanh(c[j]);
            h[j] = go[j] * tc;
            if (ca) { ca[D + 6 * H + j] = c[j]; ca[D + 7 * H + j] = tc; }
        }
        if (Hs) memcpy(Hs + (size_t)t * H, h, (size_t)H * sizeof *h);
    }
}

void fp_nn_lstm_bwd(const double *W, int D, int H, int T, const double *cache, const double *dHs,
                    double *dh, double *dc, double *dW, double *db, double *dX, double *scratch)
{
    double *da = scratch, *dxh = scratch + 4 * H;
    size_t cs = FP_NN_LSTM_CACHE(D, H);
    for (int t = T - 1; t >= 0; t--) {
        const double *ca = cache + (size_t)t * cs;
        const double *xh = ca, *cp = ca + D + H, *g = ca + D + 2 * H, *tc = ca + D + 7 * H;
        const double *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
        const double *dht = dHs ? dHs + (size_t)t * H : NULL;
        for (int j = 0; j < H; j++) {
            double dhj = dh[j] + (dht ? dht[j] : 0);
            double dct = dc[j] + dhj * go[j] * (1 - tc[j] * tc[j]);
            da[j] = dct * gg[j] * gi[j] * (1 - gi[j]);
            da[H + j] = dct * cp[j] * gf[j] * (1 - gf[j]);
            da[2 * H + j] = dct * gi[j] * (1 - gg[j] * gg[j]);
            da[3 * H + j] = dhj * tc[j] * go[j] * (1 - go[j]);
            dc[j] = dct * gf[j];
        }
        memset(dxh, 0, (size_t)(D + H) * sizeof *dxh);
        if (dX) {
            fp_nn_matvec_bwd(W, xh, da, dW, db, dxh, 4 * H, D + H);
            fp_nn_axpy(D, 1, dxh, dX + (size_t)t * D);
        } else {
            /* the gradient w.r.t. h_prev only: the columns D.. of W */
            fp_nn_matvec_bwd(W, xh, da, dW, db, NULL, 4 * H, D + H);
            matvec_bwd_dx(W + D, D + H, da, dxh + D, 4 * H, H);
        }
        memcpy(dh, dxh + D, (size_t)H * sizeof *dh);
    }
}

/* ------------------------------------------------------------ GRU */

void fp_nn_gru_fwd(const double *p, int D, int H, int T, const double *X, double *Hs, double *h,
                   double *cache, double *scratch)
{
    const double *Wx = p, *Wh = p + 3 * (size_t)H * D, *bx = Wh + 3 * (size_t)H * H, *bh = bx + 3 * H;
    double *gx = scratch, *gh = scratch + 3 * H;
    size_t cs = FP_NN_GRU_CACHE(D, H);
    for (int t = 0; t < T; t++) {
        const double *x = X + (size_t)t * D;
        fp_nn_matvec(Wx, bx, x, gx, 3 * H, D);
        fp_nn_matvec(Wh, bh, h, gh, 3 * H, H);
        double *ca = cache ? cache + (size_t)t * cs : NULL;
        if (ca) {
            memcpy(ca, x, (size_t)D * sizeof *ca);
            memcpy(ca + D, h, (size_t)H * sizeof *ca);
        }
        for (int j = 0; j < H; j++) {
            double r = sigm(gx[j] + gh[j]), z = sigm(gx[H + j] + gh[H + j]);
            double n = tanh(gx[2 * H + j] + r * gh[2 * H + j]);
            if (ca) {
                ca[D + H + j] = r;
                ca[D + 2 * H + j] = z;
                ca[D + 3 * H + j] = n;
                ca[D + 4 * H + j] = gh[2 * H + j];
            }
            h[j] = (1 - z) * n + z * h[j];
        }
        if (Hs) memcpy(Hs + (size_t)t * H, h, (size_t)H * sizeof *h);
    }
}

void fp_nn_gru_bwd(const double *p, int D, int H, int T, const double *cache, const double *dHs,
                   double *dh, double *dp, double *dX, double *scratch)
{
    const double *Wx = p, *Wh = p + 3 * (size_t)H * D;
    double *dWx = dp, *dWh = dp + 3 * (size_t)H * D, *dbx = dWh + 3 * (size_t)H * H, *dbh = dbx + 3 * H;
    double *ax = scratch, *ah = scratch + 3 * H;
    size_t cs = FP_NN_GRU_CACHE(D, H);
    for (int t = T - 1; t >= 0; t--) {
        const double *ca = cache + (size_t)t * cs;
        const double *x = ca, *hp = ca + D, *r = ca + D + H, *z = ca + D + 2 * H, *n = ca + D + 3 * H,
                     *hn = ca + D + 4 * H;
        const double *dht = dHs ? dHs + (size_t)t * H : NULL;
        for (int j = 0; j < H; j++) {
            double dhj = dh[j] + (dht ? dht[j] : 0);
            double dn = dhj * (1 - z[j]), dz = dhj * (hp[j] - n[j]);
            double dan = dn * (1 - n[j] * n[j]);
            double ar = dan * hn[j] * r[j] * (1 - r[j]);
            double az = dz * z[j] * (1 - z[j]);
            ax[j] = ah[j] = ar;
            ax[H + j] = ah[H + j] = az;
            ax[2 * H + j] = dan;
            ah[2 * H + j] = dan * r[j];
            dh[j] = dhj * z[j];
        }
        fp_nn_matvec_bwd(Wx, x, ax, dWx, dbx, dX ? dX + (size_t)t * D : NULL, 3 * H, D);
        fp_nn_matvec_bwd(Wh, hp, ah, dWh, dbh, dh, 3 * H, H);
    }
}

/* ------------------------------------------------------------ attention */

void fp_nn_attn_fwd(int T, int d, int nh, const double *QKV, double *P, double *O)
{
    int dh = d / nh;
    double scale = 1 / sqrt((double)dh);
    size_t s3 = 3 * (size_t)d;
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < T; i++) {
            double *pr = P + ((size_t)h * T + i) * T;
            const double *q = QKV + i * s3 + (size_t)h * dh;
            for (int j = 0; j <= i; j++) pr[j] = scale * fp_nn_dot(q, QKV + j * s3 + d + (size_t)h * dh, dh);
            fp_nn_softmax(i + 1, pr, pr);
            for (int j = i + 1; j < T; j++) pr[j] = 0;
            double *o = O + (size_t)i * d + (size_t)h * dh;
            memset(o, 0, (size_t)dh * sizeof *o);
            for (int j = 0; j <= i; j++) fp_nn_axpy(dh, pr[j], QKV + j * s3 + 2 * (size_t)d + (size_t)h * dh, o);
        }
}

void fp_nn_attn_bwd(int T, int d, int nh, const double *QKV, const double *P, const double *dO,
                    double *dQKV, double *scratch)
{
    int dh = d / nh;
    double scale = 1 / sqrt((double)dh);
    size_t s3 = 3 * (size_t)d;
    double *dp = scratch;
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < T; i++) {
            const double *pr = P + ((size_t)h * T + i) * T;
            const double *doi = dO + (size_t)i * d + (size_t)h * dh;
            const double *q = QKV + i * s3 + (size_t)h * dh;
            double *dq = dQKV + i * s3 + (size_t)h * dh;
            double sdp = 0;
            for (int j = 0; j <= i; j++) {
                dp[j] = fp_nn_dot(doi, QKV + j * s3 + 2 * (size_t)d + (size_t)h * dh, dh);
                fp_nn_axpy(dh, pr[j], doi, dQKV + j * s3 + 2 * (size_t)d + (size_t)h * dh);
                sdp += pr[j] * dp[j];
            }
            for (int j = 0; j <= i; j++) {
                double ds = scale * pr[j] * (dp[j] - sdp);
                if (ds == 0) continue;
                fp_nn_axpy(dh, ds, QKV + j * s3 + d + (size_t)h * dh, dq);
                fp_nn_axpy(dh, ds, q, dQKV + j * s3 + d + (size_t)h * dh);
            }
        }
}

/* ------------------------------------------------------------ Transformer layer */

/* Slices of a layer's parameters. */
typedef struct {
    const double *g1, *b1, *Wqkv, *bqkv, *Wo, *bo, *g2, *b2, *W1, *bf1, *W2, *bf2;
} tfp;
typedef struct {
    double *g1, *b1, *Wqkv, *bqkv, *Wo, *bo, *g2, *b2, *W1, *bf1, *W2, *bf2;
} tfg;

#define TF_SLICES(S, p, d, f) do { \
    (S).g1 = (p); (S).b1 = (S).g1 + (d); (S).Wqkv = (S).b1 + (d); \
    (S).bqkv = (S).Wqkv + 3 * (size_t)(d) * (d); (S).Wo = (S).bqkv + 3 * (size_t)(d); \
    (S).bo = (S).Wo + (size_t)(d) * (d); (S).g2 = (S).bo + (d); (S).b2 = (S).g2 + (d); \
    (S).W1 = (S).b2 + (d); (S).bf1 = (S).W1 + (size_t)(f) * (d); (S).W2 = (S).bf1 + (f); \
    (S).bf2 = (S).W2 + (size_t)(d) * (f); } while (0)

/* Slices of a layer's cache for T positions. */
typedef struct { double *A, *m1, *r1, *QKV, *O, *X1, *B, *m2, *r2, *F1, *G, *P; } tfc;

static void tf_cache(tfc *c, double *base, int T, int d, int f)
{
    size_t t = (size_t)T;
    c->A = base;
    c->m1 = c->A + t * d;
    c->r1 = c->m1 + t;
    c->QKV = c->r1 + t;
    c->O = c->QKV + 3 * t * d;
    c->X1 = c->O + t * d;
    c->B = c->X1 + t * d;
    c->m2 = c->B + t * d;
    c->r2 = c->m2 + t;
    c->F1 = c->r2 + t;
    c->G = c->F1 + t * f;
    c->P = c->G + t * f;
}

void fp_nn_tf_layer_fwd(const double *p, int d, int nh, int f, int T, const double *X, double *Y,
                        double *cache)
{
    tfp S;
    TF_SLICES(S, p, d, f);
    tfc c;
    tf_cache(&c, cache, T, d, f);
    size_t sd = (size_t)d;
    for (int t = 0; t < T; t++)
        fp_nn_layernorm(d, X + t * sd, S.g1, S.b1, c.A + t * sd, &c.m1[t], &c.r1[t]);
    fp_nn_matmul(c.A, S.Wqkv, S.bqkv, c.QKV, T, 3 * d, d);
    fp_nn_attn_fwd(T, d, nh, c.QKV, c.P, c.O);
    fp_nn_matmul(c.O, S.Wo, S.bo, c.X1, T, d, d);
    for (size_t i = 0; i < (size_t)T * sd; i++) c.X1[i] += X[i];
    for (int t = 0; t < T; t++)
        fp_nn_layernorm(d, c.X1 + t * sd, S.g2, S.b2, c.B + t * sd, &c.m2[t], &c.r2[t]);
    fp_nn_matmul(c.B, S.W1, S.bf1, c.F1, T, f, d);
    fp_nn_gelu(T * f, c.F1, c.G);
    fp_nn_matmul(c.G, S.W2, S.bf2, Y, T, d, f);
    for (size_t i = 0; i < (size_t)T * sd; i++) Y[i] += c.X1[i];
}

void fp_nn_tf_layer_bwd(const double *p, int d, int nh, int f, int T, const double *X,
                        const double *cache, const double *dY, double *dp, double *dX, double *scratch)
{
    tfp S;
    TF_SLICES(S, p, d, f);
    tfg G;
    TF_SLICES(G, dp, d, f);
    tfc c;
    tf_cache(&c, (double *)cache, T, d, f);
    size_t sd = (size_t)d, n = (size_t)T * sd, nf = (size_t)T * f;
    double *dX1 = scratch, *dG = dX1 + n, *dF1 = dG + nf, *dB = dF1 + nf, *dO = dB + n,
           *dQKV = dO + n, *dA = dQKV + 3 * n, *as = dA + n;
    memcpy(dX1, dY, n * sizeof *dX1);
    memset(dG, 0, (2 * nf + 6 * n) * sizeof *dG);   /* dG .. dA */
    fp_nn_matmul_bwd(c.G, S.W2, dY, G.W2, G.bf2, dG, T, d, f);
    fp_nn_gelu_bwd(T * f, c.F1, dG, dF1);
    fp_nn_matmul_bwd(c.B, S.W1, dF1, G.W1, G.bf1, dB, T, f, d);
    for (int t = 0; t < T; t++)
        fp_nn_layernorm_bwd(d, c.X1 + t * sd, S.g2, c.m2[t], c.r2[t], dB + t * sd, dX1 + t * sd, G.g2, G.b2);
    fp_nn_matmul_bwd(c.O, S.Wo, dX1, G.Wo, G.bo, dO, T, d, d);
    fp_nn_attn_bwd(T, d, nh, c.QKV, c.P, dO, dQKV, as);
    fp_nn_matmul_bwd(c.A, S.Wqkv, dQKV, G.Wqkv, G.bqkv, dA, T, 3 * d, d);
    fp_nn_axpy((int)n, 1, dX1, dX);
    for (int t = 0; t < T; t++)
        fp_nn_layernorm_bwd(d, X + t * sd, S.g1, c.m1[t], c.r1[t], dA + t * sd, dX + t * sd, G.g1, G.b1);
}

/* ------------------------------------------------------------ optimiser */

double fp_nn_clip(double *g, size_t n, double maxnorm)
{
    double s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) { s0 += g[i] * g[i]; s1 += g[i + 1] * g[i + 1]; }
    for (; i < n; i++) s0 += g[i] * g[i];
    double norm = sqrt(s0 + s1);
    if (maxnorm > 0 && norm > maxnorm) {
        double k = maxnorm / norm;
        for (i = 0; i < n; i++) g[i] *= k;
    }
    return norm;
}

void fp_nn_adam(double *restrict theta, const double *restrict g, double *restrict m, double *restrict v,
                size_t n, double *step, double lr, double b1, double b2, double eps, double wd,
                const unsigned char *restrict decay)
{
    *step += 1;
    double c1 = 1 - pow(b1, *step), c2 = 1 - pow(b2, *step);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        double upd = (m[i] / c1) / (sqrt(v[i] / c2) + eps);
        if (wd > 0 && (!decay || decay[i])) upd += wd * theta[i];
        theta[i] -= lr * upd;
    }
}
