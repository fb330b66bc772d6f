/* nn.h - dense neural-network kernels for the sequence models (internal,
 * not installed; like model_impl.h).
 *
 * Conventions (kann style). Every operator is a pair: a forward function
 * that computes its output (and, where the backward pass needs more than
 * the inputs and outputs, a cache the caller provides), and a backward
 * function that ADDS the gradient of a scalar loss with respect to the
 * operator's inputs and parameters, given the gradient with respect to its
 * output. "Add" everywhere: gradient buffers are accumulated into and
 * cleared by the caller, so an operator used at several time steps sums
 * its parameter gradient naturally. A NULL gradient pointer means "not
 * wanted" wherever documented.
 *
 * Parameters are slices of ONE flat array theta (fp_nn_params); the
 * gradient and the two Adam moments are arrays of the same length, and an
 * operator's parameter gradient is the same slice of the gradient array.
 * Matrices are row-major: W (m x n) holds W[i * n + j].
 *
 * All arithmetic is double precision. The loops are plain, unit-stride and
 * restrict-qualified so that the compiler can vectorise them at -O2/-O3;
 * reductions use four partial sums (a fixed order, so results are
 * deterministic and do not depend on the thread count of the caller).
 * Nothing here allocates, prints or keeps state: deterministic functions
 * of their arguments (dropout takes its random state explicitly).
 */
#ifndef FP_NN_H
#define FP_NN_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ basics */

/* Dot product of x[0..n) and y[0..n) (four partial sums). */
double fp_nn_dot(const double *x, const double *y, int n);

/* y[i] += a * x[i]. Backward: dx[i] += a * dy[i]; *da += sum dy[i] x[i]
 * (dx, da nullable). */
void fp_nn_axpy(int n, double a, const double *x, double *y);
void fp_nn_axpy_bwd(int n, double a, const double *x, const double *dy, double *dx, double *da);

/* y = W x + b, W (m x n), b nullable (no bias). Backward: dW += dy x^T,
 * db += dy, dx += W^T dy (each nullable). */
void fp_nn_matvec(const double *W, const double *b, const double *x, double *y, int m, int n);
void fp_nn_matvec_bwd(const double *W, const double *x, const double *dy, double *dW, double *db,
                      double *dx, int m, int n);

/* Rows at once: Y[t] = W X[t] + b for t < T; X (T x n), Y (T x m), W
 * (m x n), b nullable. Backward: dW += sum_t dY[t] X[t]^T, db += sum_t
 * dY[t], dX[t] += W^T dY[t] (each nullable). */
void fp_nn_matmul(const double *X, const double *W, const double *b, double *Y, int T, int m, int n);
void fp_nn_matmul_bwd(const double *X, const double *W, const double *dY, double *dW, double *db,
                      double *dX, int T, int m, int n);

/* Elementwise activations y = f(x) (y may alias x). Backward adds dy f'
 * to dx, computed from y (sigmoid, tanh) or from x (relu, gelu). gelu is
 * the exact form x Phi(x). */
void fp_nn_sigmoid(int n, const double *x, double *y);
void fp_nn_sigmoid_bwd(int n, const double *y, const double *dy, double *dx);
void fp_nn_tanh(int n, const double *x, double *y);
void fp_nn_tanh_bwd(int n, const double *y, const double *dy, double *dx);
void fp_nn_relu(int n, const double *x, double *y);
void fp_nn_relu_bwd(int n, const double *x, const double *dy, double *dx);
void fp_nn_gelu(int n, const double *x, double *y);
void fp_nn_gelu_bwd(int n, const double *x, const double *dy, double *dx);

/* y = softmax(x) over n values (max-shifted; y may alias x). Backward
 * from y: dx[i] += y[i] (dy[i] - sum_j y[j] dy[j]). */
void fp_nn_softmax(int n, const double *x, double *y);
void fp_nn_softmax_bwd(int n, const double *y, const double *dy, double *dx);

/* Layer normalisation of one row of n values: y = g * (x - mean) * rstd
 * + b with rstd = 1 / sqrt(var + 1e-5) (biased variance); mean and rstd
 * are written to *mean, *rstd for the backward pass. Backward adds to dx,
 * dg, db (dg, db nullable). */
#define FP_NN_LN_EPS 1e-5
void fp_nn_layernorm(int n, const double *x, const double *g, const double *b, double *y,
                     double *mean, double *rstd);
void fp_nn_layernorm_bwd(int n, const double *x, const double *g, double mean, double rstd,
                         const double *dy, double *dx, double *dg, double *db);

/* Inverted dropout: with keep probability 1 - p, mask[i] = 1 / (1 - p) or
 * 0, drawn from the splitmix64 state *rng (advanced); y = x * mask. p = 0
 * gives mask 1 and draws nothing. Backward: dx += dy * mask. */
void fp_nn_dropout(int n, double p, uint64_t *rng, const double *x, double *y, double *mask);
void fp_nn_dropout_bwd(int n, const double *mask, const double *dy, double *dx);

/* Sinusoidal positional encoding of position pos added to x[0..d):
 * x[2i] += sin(pos / 10000^(2i/d)), x[2i+1] += cos(same). No parameters;
 * its gradient is the identity. */
void fp_nn_posenc_add(int pos, int d, double *x);

/* ------------------------------------------------------------ quantile head */

/* Pinball loss of predictions u[r * Q + q] for targets t[r] (NaN: no
 * target for resource r, skipped) at levels tau[q], R resources:
 *     sum_{r,q} rho_tau(t_r - u_rq),  rho_tau(d) = d (tau - [d < 0]).
 * *nterms (nullable) receives the number of terms. Backward adds
 * w * d loss / d u to du (the subgradient at d == 0 is tau - 1). */
double fp_nn_pinball(const double *u, const double *t, const double *tau, int R, int Q, long *nterms);
void fp_nn_pinball_bwd(const double *u, const double *t, const double *tau, int R, int Q, double w,
                       double *du);

/* ------------------------------------------------------------ recurrent cells */

/* LSTM (gate order i, f, g, o) over T steps: with [x; h] the input and
 * the previous hidden state (D + H values),
 *     a = W [x; h_prev] + b,  W (4H x (D+H)), b (4H)
 *     i = sig(a_i), f = sig(a_f), g = tanh(a_g), o = sig(a_o)
 *     c = f c_prev + i g,  h = o tanh(c).
 * X (T x D) in, Hs (T x H) out, h and c (H each) the state: read as the
 * initial state and overwritten with the final one. cache (T x
 * FP_NN_LSTM_CACHE(D, H)) receives what the backward pass needs; NULL
 * for inference. scratch: FP_NN_RNN_SCRATCH(D, H) doubles (all cells,
 * both directions). */
#define FP_NN_RNN_SCRATCH(D, H) (2 * (size_t)(D) + 8 * (size_t)(H))
#define FP_NN_LSTM_CACHE(D, H) ((size_t)(D) + 8 * (size_t)(H))
#define FP_NN_LSTM_NPARAMS(D, H) (4 * (size_t)(H) * ((size_t)(D) + (H)) + 4 * (size_t)(H))
void fp_nn_lstm_fwd(const double *W, const double *b, int D, int H, int T, const double *X,
                    double *Hs, double *h, double *c, double *cache, double *scratch);
/* Back-propagation through the T cached steps: dHs (T x H) is the
 * gradient w.r.t. each step's output h_t; dh, dc (H each) in: the gradient
 * w.r.t. the final state (zero for none), out: w.r.t. the initial state.
 * Adds to dW, db and dX (T x D, nullable). */
void fp_nn_lstm_bwd(const double *W, int D, int H, int T, const double *cache, const double *dHs,
                    double *dh, double *dc, double *dW, double *db, double *dX, double *scratch);

/* GRU (PyTorch's form), gate order r, z, n:
 *     gx = Wx x + bx,  gh = Wh h_prev + bh   (3H each)
 *     r = sig(gx_r + gh_r), z = sig(gx_z + gh_z)
 *     n = tanh(gx_n + r * gh_n),  h = (1 - z) n + z h_prev.
 * Parameters p: Wx (3H x D), Wh (3H x H), bx (3H), bh (3H), in that
 * order. Otherwise as the LSTM, with the state h only. */
#define FP_NN_GRU_CACHE(D, H) ((size_t)(D) + 5 * (size_t)(H))
#define FP_NN_GRU_NPARAMS(D, H) (3 * (size_t)(H) * ((size_t)(D) + (H)) + 6 * (size_t)(H))
void fp_nn_gru_fwd(const double *p, int D, int H, int T, const double *X, double *Hs, double *h,
                   double *cache, double *scratch);
void fp_nn_gru_bwd(const double *p, int D, int H, int T, const double *cache, const double *dHs,
                   double *dh, double *dp, double *dX, double *scratch);

/* ------------------------------------------------------------ attention, Transformer */

/* Causal multi-head self-attention core over T positions of width d with
 * nh heads (d % nh == 0, dh = d / nh): QKV (T x 3d) holds q, k, v of each
 * position ([q | k | v], head h at columns h*dh..), and
 *     P_h = softmax_row(mask(Q_h K_h^T / sqrt(dh))),  j <= i only,
 *     O[:, h*dh..] = P_h V_h.
 * P (nh x T x T) is kept for the backward pass (entries j > i are 0).
 * Backward adds to dQKV (T x 3d). scratch (backward): T doubles. */
void fp_nn_attn_fwd(int T, int d, int nh, const double *QKV, double *P, double *O);
void fp_nn_attn_bwd(int T, int d, int nh, const double *QKV, const double *P, const double *dO,
                    double *dQKV, double *scratch);

/* A pre-layernorm Transformer encoder layer of width d, nh heads and a
 * feed-forward block of width f (GELU), causal, over T positions:
 *     A = LN1(X),  X1 = X + (Attn(A Wqkv^T + bqkv)) Wo^T + bo
 *     B = LN2(X1), Y  = X1 + gelu(B W1^T + b1) W2^T + b2.
 * Parameters (FP_NN_TF_NPARAMS(d, f) values) in this order: ln1 g, b
 * (d each), Wqkv (3d x d), bqkv (3d), Wo (d x d), bo (d), ln2 g, b (d
 * each), W1 (f x d), b1 (f), W2 (d x f), b2 (d). cache: FP_NN_TF_CACHE(T,
 * d, nh, f) doubles, filled by the forward pass (always: the layer is
 * cheap to cache). Backward adds to dp and dX (T x d) given dY (T x d);
 * scratch: FP_NN_TF_SCRATCH(T, d, f) doubles. */
#define FP_NN_TF_NPARAMS(d, f) (4 * (size_t)(d) * (d) + 9 * (size_t)(d) + 2 * (size_t)(d) * (f) + (size_t)(f))
#define FP_NN_TF_CACHE(T, d, nh, f) ((size_t)(T) * (7 * (size_t)(d) + 2 * (size_t)(f) + 4) + \
                                     (size_t)(nh) * (T) * (T))
#define FP_NN_TF_SCRATCH(T, d, f) ((size_t)(T) * (7 * (size_t)(d) + 2 * (size_t)(f)) + (size_t)(T))
void fp_nn_tf_layer_fwd(const double *p, int d, int nh, int f, int T, const double *X, double *Y,
                        double *cache);
void fp_nn_tf_layer_bwd(const double *p, int d, int nh, int f, int T, const double *X,
                        const double *cache, const double *dY, double *dp, double *dX, double *scratch);

/* ------------------------------------------------------------ optimiser */

/* Global L2 norm of g[0..n); when maxnorm > 0 and the norm exceeds it, g
 * is scaled by maxnorm / norm. Returns the norm before clipping. */
double fp_nn_clip(double *g, size_t n, double maxnorm);

/* One AdamW step (bias-corrected, decoupled weight decay) on theta[0..n)
 * with gradient g and moments m, v; *step is the number of steps taken
 * before this one and is incremented. decay (NULL: all) marks the
 * parameters that decay (weights, not biases or layernorm gains):
 *     m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
 *     theta -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *     theta -= lr wd theta          (where decay[i])                  */
void fp_nn_adam(double *theta, const double *g, double *m, double *v, size_t n, double *step,
                double lr, double b1, double b2, double eps, double wd, const unsigned char *decay);

#endif
