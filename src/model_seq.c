/* model_seq.c - sequence models: "lstm", "gru" and "transformer" over the
 * sample sequence of a workload, with a quantile (pinball) head per
 * resource and level (the contract is in fp/model.h, "Sequence models";
 * the kernels in nn.h).
 *
 * Parameters. One flat array theta of np values with its gradient and
 * Adam moments (same length), laid out as
 *   lstm:         W (4H x (D+H)), b (4H)                     [nn.h]
 *   gru:          Wx (3H x D), Wh (3H x H), bx (3H), bh (3H) [nn.h]
 *   transformer:  Win (H x D), bin (H), then `layers` encoder layers
 *                 (FP_NN_TF_NPARAMS(H, 2H) each), then the final
 *                 layernorm gain and bias (H each)
 * followed by the head: Wq (RQ x H), bq (RQ), with RQ = FP_RES_COUNT x
 * nlevels and output index r * nlevels + q. D = the model's metrics, H =
 * hidden. decay[] marks the weight matrices (weight decay applies to them
 * only).
 *
 * Training of one sequence of T steps (normalised, imputed):
 *   recurrent: the sequence is cut into chunks of bptt steps aligned to
 *     its END (the first chunk is the short one). Chunks with no loss
 *     (all but the last, unless prefix_loss) are run forward only; the
 *     others forward with caches and backward within the chunk: the
 *     gradient is not carried into the previous chunk (truncated BPTT),
 *     so memory is O(bptt) whatever T.
 *   transformer: the window of the last min(T, ctx) steps, with the loss
 *     on its last position; with prefix_loss, windows of ctx steps aligned
 *     to the end, the loss on every position of each (a position sees the
 *     steps of its window up to itself).
 * The loss of a batch is sum over its sequences of the pinball terms of
 * the trained steps, each sequence weighing 1 / batch (a prefix_loss
 * sequence spreads that weight over its steps); then the global gradient
 * norm is clipped and one AdamW (or SGD) step taken.
 *
 * Threads: fp_train_opts.threads > 1 splits each batch into that many
 * contiguous parts, each worker with its own workspace and gradient; the
 * gradients are summed in worker order, so training is deterministic for
 * a given seed and thread count. Dropout masks are drawn from a stream
 * keyed by (seed, optimiser step, row, position), so they do not depend on
 * the thread count either. The per-epoch validation loss is computed over
 * the same workers, each row's loss kept and summed in row order (so it
 * does not depend on the thread count at all).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "model_impl.h"
#include "nn.h"

#define B1 0.9
#define B2 0.999
#define AEPS 1e-8

typedef enum { K_LSTM, K_GRU, K_TF } skind;

/* A worker's buffers for one sequence (or window) at a time. */
typedef struct ws {
    int Tmax;                   /* steps per chunk (bptt) or window (ctx) */
    double *cache;              /* recurrent: Tmax x cache per step;
                                   transformer: the layers' caches */
    double *Hs, *dHs;           /* Tmax x H */
    double *X;                  /* transformer: (layers + 1) x Tmax x H */
    double *dXa, *dXb;          /* transformer: Tmax x H each */
    double *lnm, *lnr;          /* transformer: final layernorm stats */
    double *h, *c, *dh, *dc;    /* H each */
    double *scr;                /* kernel scratch */
    double *u, *du;             /* RQ */
    double *hd, *mask, *dhd;    /* H: dropout */
    double *grad;               /* np: this worker's gradient */
    bool own_grad;
} ws;

typedef struct seq {
    skind kind;
    int D, H, L, nh, ff, ctx, bptt, R, Q, RQ;
    double dropout, wd, clip;
    bool prefix;
    size_t o_in, o_layer[2], o_lnf, o_head, np;
    double *theta, *grad, *am, *av;
    unsigned char *decay;
    double step;
    bool initialised;
    bool from_updates;          /* initialised by an update before any
                                   training (identity normalisation) */
    uint64_t seed;
    double prior[FP_RES_COUNT * FP_QMAX];
    double tau[FP_QMAX];
    ws *w;                      /* predict/update workspace, lazily made */
} seq;

static const char *const default_names[] = {
    "cpu_cores", "cpu_throttled_pct", "mem_bytes", "mem_anon_bytes", "mem_file_bytes",
    "io_read_Bps", "io_write_Bps", "net_rx_Bps", "net_tx_Bps", "threads",
    "psi_cpu_some_pct", "psi_mem_some_pct", "psi_io_some_pct",
};

const char *const *fp_model_seq_default_names(int *n)
{
    if (n) *n = (int)(sizeof default_names / sizeof default_names[0]);
    return default_names;
}

void fp_model_seq_row(const fp_model *m, const fp_sample *s, double *row)
{
    for (int i = 0; i < m->dim; i++) {
        int k = fp_metric_lookup(m->names[i]);
        row[i] = k >= 0 && fp_sample_has(s, (fp_metric)k) ? s->v[k] : NAN;
    }
}

/* A hash of z: the first output of fp_splitmix64 seeded with z. */
static uint64_t mix(uint64_t z)
{
    return fp_splitmix64(&z);
}

/* ------------------------------------------------------------ layout */

static skind kind_of(const fp_model *m)
{
    return m->ops == &fp_model_lstm_ops ? K_LSTM : m->ops == &fp_model_gru_ops ? K_GRU : K_TF;
}

/* Check the sequence options of m->o; FP_EUSAGE (or FP_EINPUT naming
 * path) on the first problem. */
static int check_arch(const fp_model *m, const char *path, fp_err *err)
{
    const fp_model_opts *o = &m->o;
    fp_errclass cls = path ? FP_EINPUT : FP_EUSAGE;
    const char *p = path ? path : m->ops->kind;
    if (o->hidden < 1 || o->hidden > 1024) return fp_err_set(err, cls, "%s: hidden %d, need 1 to 1024", p, o->hidden);
    if (o->bptt < 1) return fp_err_set(err, cls, "%s: bptt %d must be >= 1", p, o->bptt);
    if (!(o->dropout >= 0 && o->dropout < 1)) return fp_err_set(err, cls, "%s: dropout %g not in [0,1)", p, o->dropout);
    if (!(o->weight_decay >= 0 && isfinite(o->weight_decay)))
        return fp_err_set(err, cls, "%s: weight_decay %g must be >= 0", p, o->weight_decay);
    if (!(o->clip >= 0 && isfinite(o->clip))) return fp_err_set(err, cls, "%s: clip %g must be >= 0", p, o->clip);
    if (kind_of(m) == K_TF) {
        if (o->layers < 1 || o->layers > 2) return fp_err_set(err, cls, "%s: layers %d, need 1 or 2", p, o->layers);
        if (o->heads < 1 || o->heads > 4 || o->hidden % o->heads)
            return fp_err_set(err, cls, "%s: heads %d, need 1 to 4 dividing hidden %d", p, o->heads, o->hidden);
        if (o->ctx < 1 || o->ctx > 4096) return fp_err_set(err, cls, "%s: ctx %d, need 1 to 4096", p, o->ctx);
    }
    return 0;
}

static void ws_free(ws *w)
{
    if (!w) return;
    free(w->cache); free(w->Hs); free(w->dHs); free(w->X); free(w->dXa); free(w->dXb);
    free(w->lnm); free(w->lnr); free(w->h); free(w->c); free(w->dh); free(w->dc);
    free(w->scr); free(w->u); free(w->du); free(w->hd); free(w->mask); free(w->dhd);
    if (w->own_grad) free(w->grad);
    free(w);
}

/* A workspace for S; grad NULL: a gradient of its own. A stream's
 * workspace (stream set) does inference only: one step of a recurrent
 * cell, or the transformer's window, and no gradient. */
static ws *ws_new(const seq *S, double *grad, bool stream)
{
    ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    int H = S->H, D = S->D;
    size_t T = (size_t)(S->kind == K_TF ? S->ctx : stream ? 1 : S->bptt);
    w->Tmax = (int)T;
    size_t cs, ss;
    if (S->kind == K_TF) {
        cs = (size_t)S->L * FP_NN_TF_CACHE(T, H, S->nh, S->ff);
        ss = FP_NN_TF_SCRATCH(T, H, S->ff);
        w->X = malloc(((size_t)S->L + 1) * T * H * sizeof *w->X);
        w->dXa = malloc(T * H * sizeof *w->dXa);
        w->dXb = malloc(T * H * sizeof *w->dXb);
        w->lnm = malloc(T * sizeof *w->lnm);
        w->lnr = malloc(T * sizeof *w->lnr);
        if (!w->X || !w->dXa || !w->dXb || !w->lnm || !w->lnr) goto fail;
    } else {
        cs = T * (S->kind == K_LSTM ? FP_NN_LSTM_CACHE(D, H) : FP_NN_GRU_CACHE(D, H));
        ss = FP_NN_RNN_SCRATCH(D, H);
    }
    w->cache = malloc(cs * sizeof *w->cache);
    w->scr = malloc(ss * sizeof *w->scr);
    w->Hs = malloc(T * H * sizeof *w->Hs);
    w->dHs = malloc(T * H * sizeof *w->dHs);
    w->h = malloc((size_t)H * sizeof *w->h);
    w->c = malloc((size_t)H * sizeof *w->c);
    w->dh = malloc((size_t)H * sizeof *w->dh);
    w->dc = malloc((size_t)H * sizeof *w->dc);
    w->u = malloc((size_t)S->RQ * sizeof *w->u);
    w->du = malloc((size_t)S->RQ * sizeof *w->du);
    w->hd = malloc((size_t)H * sizeof *w->hd);
    w->mask = malloc((size_t)H * sizeof *w->mask);
    w->dhd = malloc((size_t)H * sizeof *w->dhd);
    if (grad) w->grad = grad;
    else if (!stream) { w->grad = calloc(S->np, sizeof *w->grad); w->own_grad = true; }
    if (!w->cache || !w->scr || !w->Hs || !w->dHs || !w->h || !w->c || !w->dh || !w->dc || !w->u ||
        !w->du || !w->hd || !w->mask || !w->dhd || (!stream && !w->grad))
        goto fail;
    return w;
fail:
    ws_free(w);
    return NULL;
}

static void seq_release(seq *S)
{
    free(S->theta); free(S->grad); free(S->am); free(S->av); free(S->decay);
    ws_free(S->w);
    S->theta = S->grad = S->am = S->av = NULL;
    S->decay = NULL;
    S->w = NULL;
}

/* Size and allocate S for m->o (validated). Parameters zero until the
 * first training or update initialises them. */
static int seq_build(fp_model *m, seq *S, fp_err *err)
{
    seq_release(S);
    const fp_model_opts *o = &m->o;
    S->kind = kind_of(m);
    S->D = m->dim;
    S->H = o->hidden;
    S->L = S->kind == K_TF ? o->layers : 1;
    S->nh = o->heads;
    S->ff = 2 * o->hidden;
    S->ctx = o->ctx;
    S->bptt = o->bptt;
    S->R = FP_RES_COUNT;
    S->Q = o->nlevels;
    S->RQ = S->R * S->Q;
    S->dropout = o->dropout;
    S->wd = o->weight_decay;
    S->clip = o->clip;
    S->prefix = o->prefix_loss;
    for (int q = 0; q < S->Q; q++) S->tau[q] = o->levels[q];
    size_t D = (size_t)S->D, H = (size_t)S->H, n = 0;
    if (S->kind == K_LSTM) n = FP_NN_LSTM_NPARAMS(D, H);
    else if (S->kind == K_GRU) n = FP_NN_GRU_NPARAMS(D, H);
    else {
        S->o_in = 0;
        n = H * D + H;
        for (int l = 0; l < S->L; l++) { S->o_layer[l] = n; n += FP_NN_TF_NPARAMS(H, (size_t)S->ff); }
        S->o_lnf = n;
        n += 2 * H;
    }
    S->o_head = n;
    n += (size_t)S->RQ * H + (size_t)S->RQ;
    S->np = n;
    S->theta = calloc(n, sizeof *S->theta);
    S->grad = calloc(n, sizeof *S->grad);
    S->am = calloc(n, sizeof *S->am);
    S->av = calloc(n, sizeof *S->av);
    S->decay = calloc(n, 1);
    if (!S->theta || !S->grad || !S->am || !S->av || !S->decay) return fp_err_sys(err, "%s model", m->ops->kind);
    /* weight matrices decay */
    if (S->kind == K_LSTM) memset(S->decay, 1, 4 * H * (D + H));
    else if (S->kind == K_GRU) memset(S->decay, 1, 3 * H * (D + H));
    else {
        memset(S->decay, 1, H * D);
        for (int l = 0; l < S->L; l++) {
            size_t b = S->o_layer[l], f = (size_t)S->ff;
            memset(S->decay + b + 2 * H, 1, 3 * H * H);                          /* Wqkv */
            memset(S->decay + b + 2 * H + 3 * H * H + 3 * H, 1, H * H);         /* Wo */
            memset(S->decay + b + 8 * H + 4 * H * H, 1, f * H);                 /* W1 */
            memset(S->decay + b + 8 * H + 4 * H * H + f * H + f, 1, H * f);     /* W2 */
        }
    }
    memset(S->decay + S->o_head, 1, (size_t)S->RQ * H);
    S->step = 0;
    S->initialised = false;
    return 0;
}

/* Initial parameters from the seed (uniform +-1/sqrt(fan_in); layernorm
 * gains 1; LSTM forget-gate biases 1; the head small with its biases at
 * the prior). */
static void init_params(seq *S, uint64_t seed)
{
    fp_rng rng = {seed ^ 0x7365712D696E6974ULL};
    size_t D = (size_t)S->D, H = (size_t)S->H, f = (size_t)S->ff;
#define UNIF(p, cnt, a) do { for (size_t k_ = 0; k_ < (cnt); k_++) \
        (p)[k_] = (a) * (2.0 * (double)(fp_rng_next(&rng) >> 11) / 9007199254740992.0 - 1); } while (0)
    double *t = S->theta;
    memset(t, 0, S->np * sizeof *t);
    double a = 1 / sqrt((double)H);
    if (S->kind == K_LSTM) {
        UNIF(t, 4 * H * (D + H) + 4 * H, a);
        for (size_t j = 0; j < H; j++) t[4 * H * (D + H) + H + j] += 1;
    } else if (S->kind == K_GRU) {
        UNIF(t, 3 * H * (D + H) + 6 * H, a);
    } else {
        UNIF(t, H * D, 1 / sqrt((double)D));
        for (int l = 0; l < S->L; l++) {
            double *p = t + S->o_layer[l];
            for (size_t j = 0; j < H; j++) p[j] = 1;                            /* ln1 g */
            UNIF(p + 2 * H, 3 * H * H, a);                                       /* Wqkv */
            UNIF(p + 2 * H + 3 * H * H + 3 * H, H * H, a);                      /* Wo */
            double *g2 = p + 2 * H + 4 * H * H + 4 * H;
            for (size_t j = 0; j < H; j++) g2[j] = 1;                           /* ln2 g */
            UNIF(p + 8 * H + 4 * H * H, f * H, a);                              /* W1 */
            UNIF(p + 8 * H + 4 * H * H + f * H + f, H * f, 1 / sqrt((double)f)); /* W2 */
        }
        for (size_t j = 0; j < H; j++) t[S->o_lnf + j] = 1;
    }
    UNIF(t + S->o_head, (size_t)S->RQ * H, 0.1 * a);
#undef UNIF
    memcpy(t + S->o_head + (size_t)S->RQ * H, S->prior, (size_t)S->RQ * sizeof *t);
    memset(S->am, 0, S->np * sizeof *S->am);
    memset(S->av, 0, S->np * sizeof *S->av);
    S->step = 0;
    S->seed = seed;
    S->initialised = true;
}

static int seq_init(fp_model *m, fp_err *err)
{
    if (check_arch(m, NULL, err) < 0) return -1;
    seq *S = calloc(1, sizeof *S);
    if (!S) return fp_err_sys(err, "%s model", m->ops->kind);
    m->impl = S;
    return seq_build(m, S, err);
}

static void seq_destroy(fp_model *m)
{
    seq *S = m->impl;
    seq_release(S);
    free(S);
    m->impl = NULL;
}

/* ------------------------------------------------------------ forward, backward */

/* The head on hidden state h: u = Wq drop(h) + bq into w->u. With targets
 * t (training), also the pinball loss (returned; terms added to *nt) and
 * its gradient, weight wgt, added to the head's parameters in w->grad and
 * to dh. rng NULL: no dropout. */
static double head(const seq *S, ws *w, const double *h, const double *t, double wgt, double *dh,
                   uint64_t *rng, long *nt)
{
    int H = S->H, RQ = S->RQ;
    const double *W = S->theta + S->o_head, *b = W + (size_t)RQ * H;
    const double *hin = h;
    bool drop = rng && S->dropout > 0;
    if (drop) {
        fp_nn_dropout(H, S->dropout, rng, h, w->hd, w->mask);
        hin = w->hd;
    }
    fp_nn_matvec(W, b, hin, w->u, RQ, H);
    if (!t) return 0;
    long k = 0;
    double loss = fp_nn_pinball(w->u, t, S->tau, S->R, S->Q, &k);
    *nt += k;
    if (!k) return 0;
    memset(w->du, 0, (size_t)RQ * sizeof *w->du);
    fp_nn_pinball_bwd(w->u, t, S->tau, S->R, S->Q, wgt, w->du);
    double *gW = w->grad + S->o_head, *gb = gW + (size_t)RQ * H;
    if (drop) {
        memset(w->dhd, 0, (size_t)H * sizeof *w->dhd);
        fp_nn_matvec_bwd(W, hin, w->du, gW, gb, w->dhd, RQ, H);
        fp_nn_dropout_bwd(H, w->mask, w->dhd, dh);
    } else {
        fp_nn_matvec_bwd(W, hin, w->du, gW, gb, dh, RQ, H);
    }
    return loss;
}

/* Run the cell over T steps of Z from the state in w->h (w->c), with
 * caches and outputs when train is set. */
static void rnn_fwd(const seq *S, ws *w, const double *Z, int T, bool train)
{
    const double *p = S->theta;
    if (S->kind == K_LSTM)
        fp_nn_lstm_fwd(p, p + 4 * (size_t)S->H * (size_t)(S->D + S->H), S->D, S->H, T, Z,
                       train ? w->Hs : NULL, w->h, w->c, train ? w->cache : NULL, w->scr);
    else
        fp_nn_gru_fwd(p, S->D, S->H, T, Z, train ? w->Hs : NULL, w->h, train ? w->cache : NULL, w->scr);
}

static void rnn_bwd(const seq *S, ws *w, const double *Z, int T)
{
    int H = S->H;
    memset(w->dh, 0, (size_t)H * sizeof *w->dh);
    memset(w->dc, 0, (size_t)H * sizeof *w->dc);
    (void)Z;
    if (S->kind == K_LSTM) {
        double *gW = w->grad, *gb = gW + 4 * (size_t)H * (size_t)(S->D + H);
        fp_nn_lstm_bwd(S->theta, S->D, H, T, w->cache, w->dHs, w->dh, w->dc, gW, gb, NULL, w->scr);
    } else {
        fp_nn_gru_bwd(S->theta, S->D, H, T, w->cache, w->dHs, w->dh, w->grad, NULL, w->scr);
    }
}

/* Transformer forward over a window Zw of T <= ctx steps: the final
 * layernorm's output of every position goes to w->Hs. */
static void tf_fwd(const seq *S, ws *w, const double *Zw, int T)
{
    int H = S->H;
    size_t TH = (size_t)T * H, lc = FP_NN_TF_CACHE(T, H, S->nh, S->ff);
    const double *p = S->theta;
    double *X0 = w->X;
    fp_nn_matmul(Zw, p + S->o_in, p + S->o_in + (size_t)H * S->D, X0, T, H, S->D);
    for (int t = 0; t < T; t++) fp_nn_posenc_add(t, H, X0 + (size_t)t * H);
    for (int l = 0; l < S->L; l++)
        fp_nn_tf_layer_fwd(p + S->o_layer[l], H, S->nh, S->ff, T, w->X + l * TH, w->X + (l + 1) * TH,
                           w->cache + l * lc);
    const double *XL = w->X + (size_t)S->L * TH, *g = p + S->o_lnf;
    for (int t = 0; t < T; t++)
        fp_nn_layernorm(H, XL + (size_t)t * H, g, g + H, w->Hs + (size_t)t * H, &w->lnm[t], &w->lnr[t]);
}

/* Transformer backward from w->dHs over the window of tf_fwd. */
static void tf_bwd(const seq *S, ws *w, const double *Zw, int T)
{
    int H = S->H;
    size_t TH = (size_t)T * H, lc = FP_NN_TF_CACHE(T, H, S->nh, S->ff);
    const double *p = S->theta, *g = p + S->o_lnf;
    double *G = w->grad, *dA = w->dXa, *dB = w->dXb;
    const double *XL = w->X + (size_t)S->L * TH;
    memset(dA, 0, TH * sizeof *dA);
    for (int t = 0; t < T; t++)
        fp_nn_layernorm_bwd(H, XL + (size_t)t * H, g, w->lnm[t], w->lnr[t], w->dHs + (size_t)t * H,
                            dA + (size_t)t * H, G + S->o_lnf, G + S->o_lnf + H);
    for (int l = S->L - 1; l >= 0; l--) {
        memset(dB, 0, TH * sizeof *dB);
        fp_nn_tf_layer_bwd(p + S->o_layer[l], H, S->nh, S->ff, T, w->X + l * TH, w->cache + l * lc, dA,
                           G + S->o_layer[l], dB, w->scr);
        double *tmp = dA; dA = dB; dB = tmp;
    }
    fp_nn_matmul_bwd(Zw, p + S->o_in, dA, G + S->o_in, G + S->o_in + (size_t)H * S->D, NULL, T, H, S->D);
}

/* Forward and backward of one training sequence Z (T steps) with
 * standardised targets t: gradients added to w->grad with weight wgt
 * (the sequence's share of the batch). key seeds its dropout masks.
 * Returns the summed pinball loss; *nt counts its terms. */
static double seq_fb(const seq *S, ws *w, const double *Z, int T, const double *t, double wgt,
                     uint64_t key, long *nt)
{
    int H = S->H, D = S->D;
    double loss = 0;
    uint64_t rng = key, *rp = S->dropout > 0 ? &rng : NULL;
    if (S->kind == K_TF) {
        int ctx = S->ctx;
        int nwin = S->prefix ? (T + ctx - 1) / ctx : 1;
        for (int k = 0; k < nwin; k++) {
            int e = T - k * ctx, s = e - ctx > 0 ? e - ctx : 0, n = e - s;
            const double *Zw = Z + (size_t)s * D;
            tf_fwd(S, w, Zw, n);
            memset(w->dHs, 0, (size_t)n * H * sizeof *w->dHs);
            double ws_ = S->prefix ? wgt / T : wgt;
            for (int j = S->prefix ? 0 : n - 1; j < n; j++)
                loss += head(S, w, w->Hs + (size_t)j * H, t, ws_, w->dHs + (size_t)j * H, rp, nt);
            tf_bwd(S, w, Zw, n);
        }
        return loss;
    }
    memset(w->h, 0, (size_t)H * sizeof *w->h);
    memset(w->c, 0, (size_t)H * sizeof *w->c);
    int B = S->bptt, nch = (T + B - 1) / B, first = T - (nch - 1) * B;
    int s = 0;
    for (int k = 0; k < nch; k++) {
        int n = k == 0 ? first : B, e = s + n;
        const double *Zc = Z + (size_t)s * D;
        if (!S->prefix && e != T) {
            rnn_fwd(S, w, Zc, n, false);
            s = e;
            continue;
        }
        rnn_fwd(S, w, Zc, n, true);
        memset(w->dHs, 0, (size_t)n * H * sizeof *w->dHs);
        double ws_ = S->prefix ? wgt / T : wgt;
        for (int j = S->prefix ? 0 : n - 1; j < n; j++)
            loss += head(S, w, w->Hs + (size_t)j * H, t, ws_, w->dHs + (size_t)j * H, rp, nt);
        rnn_bwd(S, w, Zc, n);
        s = e;
    }
    return loss;
}

/* Forward only: the head's output after the T steps of Z into w->u
 * (T >= 1). */
static void seq_forward(const seq *S, ws *w, const double *Z, int T)
{
    int H = S->H;
    if (S->kind == K_TF) {
        int n = T < S->ctx ? T : S->ctx;
        tf_fwd(S, w, Z + (size_t)(T - n) * S->D, n);
        head(S, w, w->Hs + (size_t)(n - 1) * H, NULL, 0, NULL, NULL, NULL);
        return;
    }
    memset(w->h, 0, (size_t)H * sizeof *w->h);
    memset(w->c, 0, (size_t)H * sizeof *w->c);
    rnn_fwd(S, w, Z, T, false);
    head(S, w, w->h, NULL, 0, NULL, NULL, NULL);
}

/* ------------------------------------------------------------ training */

/* Training data: the normalised steps of the usable rows, concatenated. */
typedef struct {
    size_t n;                   /* rows */
    double *Z;                  /* all steps */
    size_t *off;                /* row i: steps off[i] .. off[i] + len[i] */
    int *len;
    double *T;                  /* n x FP_RES_COUNT standardised targets */
} seqdata;

static void data_free(seqdata *d)
{
    free(d->Z); free(d->off); free(d->len); free(d->T);
    memset(d, 0, sizeof *d);
}

/* Rows idx[0..n) with a non-empty sequence and at least one target. */
static int prepare(fp_model *m, const fp_example *ex, const size_t *idx, size_t n, seqdata *d, fp_err *err)
{
    memset(d, 0, sizeof *d);
    size_t steps = 0;
    for (size_t i = 0; i < n; i++) steps += (size_t)ex[idx[i]].seq_len;
    d->Z = malloc((steps ? steps : 1) * (size_t)m->dim * sizeof *d->Z);
    d->off = malloc((n ? n : 1) * sizeof *d->off);
    d->len = malloc((n ? n : 1) * sizeof *d->len);
    d->T = malloc((n ? n : 1) * FP_RES_COUNT * sizeof *d->T);
    if (!d->Z || !d->off || !d->len || !d->T) { data_free(d); return fp_err_sys(err, "%s training", m->ops->kind); }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const fp_example *e = &ex[idx[i]];
        if (e->seq_len <= 0) continue;
        bool any = false;
        double *t = d->T + d->n * FP_RES_COUNT;
        for (int r = 0; r < FP_RES_COUNT; r++) { t[r] = fp_model_target(m, e, r); any |= !isnan(t[r]); }
        if (!any) continue;
        fp_model_normalise_seq(m, e->seq, e->seq_len, d->Z + at * (size_t)m->dim);
        d->off[d->n] = at;
        d->len[d->n] = e->seq_len;
        at += (size_t)e->seq_len;
        d->n++;
    }
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The prior: empirical quantiles of the training targets per resource. */
static int set_prior(fp_model *m, seq *S, const seqdata *d, fp_err *err)
{
    double *v = malloc((d->n ? d->n : 1) * sizeof *v);
    if (!v) return fp_err_sys(err, "%s training", m->ops->kind);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++)
            if (!isnan(d->T[i * FP_RES_COUNT + r])) v[k++] = d->T[i * FP_RES_COUNT + r];
        if (!k) continue;
        qsort(v, k, sizeof *v, cmpd);
        for (int q = 0; q < S->Q; q++)
            S->prior[r * S->Q + q] = v[(size_t)floor(S->tau[q] * (double)(k - 1) + 0.5)];
    }
    free(v);
    return 0;
}

typedef struct {
    const seq *S;
    ws *w;
    const seqdata *d;
    const size_t *rows;
    size_t a, b;
    double wgt;
    uint64_t key;
    double loss;
    long nt;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->loss = 0;
    j->nt = 0;
    for (size_t i = j->a; i < j->b; i++) {
        size_t r = j->rows[i];
        uint64_t key = mix(j->key ^ mix((uint64_t)r + 1));
        j->loss += seq_fb(j->S, j->w, j->d->Z + j->d->off[r] * (size_t)j->S->D, j->d->len[r],
                          j->d->T + r * FP_RES_COUNT, j->wgt, key, &j->nt);
    }
    return NULL;
}

/* One optimiser step with S->grad, then clear it. */
static void opt_step(const fp_model *m, seq *S)
{
    fp_nn_clip(S->grad, S->np, S->clip);
    if (m->o.optimizer == FP_OPT_SGD) {
        S->step += 1;
        for (size_t i = 0; i < S->np; i++) S->theta[i] -= m->o.lr * S->grad[i];
    } else {
        fp_nn_adam(S->theta, S->grad, S->am, S->av, S->np, &S->step, m->o.lr, B1, B2, AEPS, S->wd, S->decay);
    }
    memset(S->grad, 0, S->np * sizeof *S->grad);
}

/* Gradient of rows[a..b) into S->grad over nw workers (summed in worker
 * order); returns the loss, *nt its terms. */
static double batch_grad(seq *S, ws **W, int nw, const seqdata *d, const size_t *rows, size_t a, size_t b,
                         long *nt)
{
    job jobs[64];
    pthread_t th[64];
    bool started[64] = {false};
    size_t n = b - a;
    if ((size_t)nw > n) nw = (int)n;
    if (nw < 1) nw = 1;
    uint64_t key = mix(S->seed ^ mix((uint64_t)S->step + 0x5EED));
    for (int k = 0; k < nw; k++) {
        jobs[k] = (job){S, W[k], d, rows, a + n * (size_t)k / (size_t)nw, a + n * (size_t)(k + 1) / (size_t)nw,
                        1.0 / (double)n, key, 0, 0};
        if (k > 0) {
            memset(W[k]->grad, 0, S->np * sizeof *W[k]->grad);
            started[k] = pthread_create(&th[k], NULL, run_job, &jobs[k]) == 0;
            if (!started[k]) run_job(&jobs[k]);
        }
    }
    run_job(&jobs[0]);
    double loss = jobs[0].loss;
    *nt += jobs[0].nt;
    for (int k = 1; k < nw; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        fp_nn_axpy((int)S->np, 1, W[k]->grad, S->grad);
        loss += jobs[k].loss;
        *nt += jobs[k].nt;
    }
    return loss;
}

/* Validation: rows a..b of d forward only, each row's pinball loss and
 * term count into loss[i], nt[i]. */
typedef struct {
    const seq *S;
    ws *w;
    const seqdata *d;
    size_t a, b;
    double *loss;
    long *nt;
} vjob;

static void *run_vjob(void *arg)
{
    vjob *j = arg;
    const seq *S = j->S;
    for (size_t i = j->a; i < j->b; i++) {
        seq_forward(S, j->w, j->d->Z + j->d->off[i] * (size_t)S->D, j->d->len[i]);
        j->nt[i] = 0;
        j->loss[i] = fp_nn_pinball(j->w->u, j->d->T + i * FP_RES_COUNT, S->tau, S->R, S->Q, &j->nt[i]);
    }
    return NULL;
}

/* Mean pinball loss of the last-step predictions on d, the rows split
 * over nw workers (workspaces W); the per-row losses (buffers loss, nt:
 * d->n each) are summed in row order, so the result does not depend on
 * nw. */
static double data_loss(const seq *S, ws **W, int nw, const seqdata *d, double *loss, long *nt)
{
    vjob jobs[64];
    pthread_t th[64];
    bool started[64] = {false};
    size_t n = d->n;
    if ((size_t)nw > n) nw = (int)n;
    if (nw < 1) nw = 1;
    for (int k = 0; k < nw; k++) {
        jobs[k] = (vjob){S, W[k], d, n * (size_t)k / (size_t)nw, n * (size_t)(k + 1) / (size_t)nw, loss, nt};
        if (k > 0) {
            started[k] = pthread_create(&th[k], NULL, run_vjob, &jobs[k]) == 0;
            if (!started[k]) run_vjob(&jobs[k]);
        }
    }
    run_vjob(&jobs[0]);
    for (int k = 1; k < nw; k++)
        if (started[k]) pthread_join(th[k], NULL);
    double s = 0;
    long c = 0;
    for (size_t i = 0; i < n; i++) { s += loss[i]; c += nt[i]; }
    return c ? s / (double)c : NAN;
}

static ws *own_ws(seq *S)
{
    if (!S->w) S->w = ws_new(S, S->grad, false);
    return S->w;
}

static int seq_train(fp_model *m, const fp_example *ex, const size_t *tr, size_t ntr, const size_t *va,
                     size_t nva, const fp_train_opts *o, fp_train_report *rep, fp_err *err)
{
    seq *S = m->impl;
    seqdata dt = {0}, dv = {0};
    double *best = NULL, *vloss = NULL;
    size_t *order = NULL;
    long *vnt = NULL;
    ws *W[64] = {NULL};
    int nw = o->threads < 1 ? 1 : o->threads > 64 ? 64 : o->threads, rc = -1;
    if (prepare(m, ex, tr, ntr, &dt, err) < 0 || prepare(m, ex, va, nva, &dv, err) < 0) goto out;
    if (!dt.n) { fp_err_set(err, FP_EUSAGE, "%s model: no training sequences (non-empty, with a target)", m->ops->kind); goto out; }
    order = malloc(dt.n * sizeof *order);
    best = malloc((3 * S->np + 1) * sizeof *best);
    vloss = malloc((dv.n ? dv.n : 1) * sizeof *vloss);
    vnt = malloc((dv.n ? dv.n : 1) * sizeof *vnt);
    if (!order || !best || !vloss || !vnt || !own_ws(S)) { fp_err_sys(err, "%s training", m->ops->kind); goto out; }
    W[0] = S->w;
    for (int k = 1; k < nw; k++)
        if (!(W[k] = ws_new(S, NULL, false))) { fp_err_sys(err, "%s training", m->ops->kind); goto out; }
    if (!S->initialised || S->from_updates) {
        /* the first training starts afresh: parameters learned online
         * before it were learned under the identity normalisation */
        if (set_prior(m, S, &dt, err) < 0) goto out;
        init_params(S, o->seed);
        S->from_updates = false;
    }
    S->seed = o->seed;
    for (size_t i = 0; i < dt.n; i++) order[i] = i;
    fp_rng rng = {o->seed ^ 0x7365717472616E00ULL};
    double best_loss = INFINITY;
    int best_epoch = 0;
    size_t nb = (size_t)o->batch;
    memset(S->grad, 0, S->np * sizeof *S->grad);
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        for (size_t i = dt.n; i > 1; i--) {
            size_t j = fp_rng_below(&rng, i), t = order[i - 1];
            order[i - 1] = order[j]; order[j] = t;
        }
        double tl = 0;
        long tn = 0;
        for (size_t b = 0; b < dt.n; b += nb) {
            size_t e = b + nb < dt.n ? b + nb : dt.n;
            tl += batch_grad(S, W, nw, &dt, order, b, e, &tn);
            opt_step(m, S);
        }
        fp_train_progress p = {epoch, o->epochs, tn ? tl / (double)tn : NAN, NAN, best_epoch};
        bool improved = true;
        if (dv.n) {
            p.val_loss = data_loss(S, W, nw, &dv, vloss, vnt);
            improved = p.val_loss < best_loss - 1e-12;
        }
        if (improved) {
            best_loss = dv.n ? p.val_loss : p.train_loss;
            best_epoch = epoch;
            memcpy(best, S->theta, S->np * sizeof *best);
            memcpy(best + S->np, S->am, S->np * sizeof *best);
            memcpy(best + 2 * S->np, S->av, S->np * sizeof *best);
            best[3 * S->np] = S->step;
        }
        p.best_epoch = best_epoch;
        rep->epochs = epoch;
        rep->train_loss = p.train_loss;
        if (o->progress && o->progress(o->progress_arg, &p)) break;
        if (dv.n && epoch - best_epoch >= o->patience) break;
    }
    if (best_epoch) {
        memcpy(S->theta, best, S->np * sizeof *best);
        memcpy(S->am, best + S->np, S->np * sizeof *best);
        memcpy(S->av, best + 2 * S->np, S->np * sizeof *best);
        S->step = best[3 * S->np];
    }
    rep->best_epoch = best_epoch;
    rep->val_loss = dv.n ? best_loss : NAN;
    rc = 0;
out:
    for (int k = 1; k < nw; k++) ws_free(W[k]);
    data_free(&dt);
    data_free(&dv);
    free(order);
    free(best);
    free(vloss);
    free(vnt);
    return rc;
}

/* One optimiser step on one example (nothing for an empty sequence or
 * one without targets). A model never trained is first initialised with
 * seed 1 and the prior at 0 (the target centre). */
static int seq_update(fp_model *m, const fp_example *e, fp_err *err)
{
    seq *S = m->impl;
    if (e->seq_len <= 0) return 0;
    double t[FP_RES_COUNT];
    bool any = false;
    for (int r = 0; r < FP_RES_COUNT; r++) { t[r] = fp_model_target(m, e, r); any |= !isnan(t[r]); }
    if (!any) return 0;
    ws *w = own_ws(S);
    double *Z = malloc((size_t)e->seq_len * (size_t)m->dim * sizeof *Z);
    if (!w || !Z) { free(Z); return fp_err_sys(err, "%s update", m->ops->kind); }
    if (!S->initialised) {
        init_params(S, 1);
        S->from_updates = !m->normalised;
    }
    fp_model_normalise_seq(m, e->seq, e->seq_len, Z);
    long nt = 0;
    memset(S->grad, 0, S->np * sizeof *S->grad);
    seq_fb(S, w, Z, e->seq_len, t, 1.0, mix(S->seed ^ mix((uint64_t)S->step + 0x5EED)), &nt);
    if (nt) opt_step(m, S);
    free(Z);
    return 0;
}

double fp_model_seq_debug(fp_model *m, const double *Z, int T, const double *t, bool want_grad,
                          double **theta, double **grad, size_t *np)
{
    seq *S = m->impl;
    ws *w = own_ws(S);
    if (!w || T < 1) return NAN;
    if (!S->initialised) init_params(S, 1);
    *theta = S->theta;
    *grad = S->grad;
    *np = S->np;
    double save = S->dropout;
    S->dropout = 0;
    memset(S->grad, 0, S->np * sizeof *S->grad);
    long nt = 0;
    double loss = seq_fb(S, w, Z, T, t, 1.0, 0, &nt);
    if (S->prefix) loss /= T;   /* the weight of each step's terms */
    if (!want_grad) memset(S->grad, 0, S->np * sizeof *S->grad);
    S->dropout = save;
    return loss;
}

/* ------------------------------------------------------------ prediction */

static void fill(const fp_model *m, const seq *S, const double *u, double out[FP_RES_COUNT][FP_QMAX],
                 bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT])
{
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (!m->seen[r]) { ok[r] = false; why[r] = "the model saw no values of this resource"; continue; }
        ok[r] = true;
        for (int q = 0; q < S->Q; q++) out[r][q] = u[r * S->Q + q];
    }
}

static int seq_predict_seq(fp_model *m, const double *Z, int len, double u[FP_RES_COUNT][FP_QMAX],
                           bool ok[FP_RES_COUNT], const char *why[FP_RES_COUNT], fp_err *err)
{
    seq *S = m->impl;
    if (len == 0) { fill(m, S, S->prior, u, ok, why); return 0; }
    ws *w = own_ws(S);
    if (!w) return fp_err_sys(err, "%s predict", m->ops->kind);
    seq_forward(S, w, Z, len);
    fill(m, S, w->u, u, ok, why);
    return 0;
}

/* x as a one-step sequence (z = m->z, NaN imputed as 0 in place). */
static int seq_predict(fp_model *m, const double *z, double u[FP_RES_COUNT][FP_QMAX], bool ok[FP_RES_COUNT],
                       const char *why[FP_RES_COUNT], fp_explain *ex, fp_err *err)
{
    (void)ex;
    double *zz = m->z;
    if (z != zz) return fp_err_set(err, FP_EUSAGE, "%s predict: unexpected buffer", m->ops->kind);
    for (int j = 0; j < m->dim; j++) if (isnan(zz[j])) zz[j] = 0;
    return seq_predict_seq(m, zz, 1, u, ok, why, err);
}

/* ------------------------------------------------------------ streaming */

struct fp_model_stream {
    fp_model *m;
    ws *w;                      /* its own workspace (gradient unused) */
    long steps;
    double *ring;               /* transformer: ctx rows, oldest at head */
    double *win;                /* transformer: the window in order */
    double *z;                  /* one normalised row */
};

fp_model_stream *fp_model_stream_new(fp_model *m, fp_err *err)
{
    if (!m->ops->seq) {
        fp_err_set(err, FP_EUSAGE, "a %s model does not stream (sequence models only)", m->ops->kind);
        return NULL;
    }
    seq *S = m->impl;
    fp_model_stream *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->m = m;
    s->w = ws_new(S, NULL, true);
    s->z = malloc((size_t)S->D * sizeof *s->z);
    if (!s->w || !s->z) goto oom;
    if (S->kind == K_TF) {
        s->ring = malloc((size_t)S->ctx * S->D * sizeof *s->ring);
        s->win = malloc((size_t)S->ctx * S->D * sizeof *s->win);
        if (!s->ring || !s->win) goto oom;
    } else {
        memset(s->w->h, 0, (size_t)S->H * sizeof *s->w->h);
        memset(s->w->c, 0, (size_t)S->H * sizeof *s->w->c);
    }
    return s;
oom:
    fp_err_sys(err, "%s stream", m->ops->kind);
    fp_model_stream_free(s);
    return NULL;
}

int fp_model_stream_step(fp_model_stream *s, const double *row, fp_quantiles out[FP_RES_COUNT], fp_err *err)
{
    if (!row) return fp_err_set(err, FP_EUSAGE, "stream step: no sample row");
    fp_model *m = s->m;
    seq *S = m->impl;
    ws *w = s->w;
    fp_model_normalise_seq(m, row, 1, s->z);
    if (S->kind == K_TF) {
        size_t D = (size_t)S->D, ctx = (size_t)S->ctx;
        memcpy(s->ring + ((size_t)s->steps % ctx) * D, s->z, D * sizeof *s->z);
        s->steps++;
        size_t n = (size_t)s->steps < ctx ? (size_t)s->steps : ctx;
        size_t start = (size_t)s->steps < ctx ? 0 : (size_t)s->steps % ctx;
        for (size_t k = 0; k < n; k++) memcpy(s->win + k * D, s->ring + ((start + k) % ctx) * D, D * sizeof *s->win);
        tf_fwd(S, w, s->win, (int)n);
        head(S, w, w->Hs + (n - 1) * (size_t)S->H, NULL, 0, NULL, NULL, NULL);
    } else {
        rnn_fwd(S, w, s->z, 1, false);
        s->steps++;
        head(S, w, w->h, NULL, 0, NULL, NULL, NULL);
    }
    double u[FP_RES_COUNT][FP_QMAX];
    bool ok[FP_RES_COUNT];
    const char *why[FP_RES_COUNT] = {NULL};
    fill(m, S, w->u, u, ok, why);
    for (int r = 0; r < FP_RES_COUNT; r++) {
        if (ok[r]) fp_model_to_quantiles(m, r, u[r], &out[r]);
        else fp_model_not_predicted(&out[r], why[r]);
    }
    return 0;
}

long fp_model_stream_steps(const fp_model_stream *s) { return s->steps; }

void fp_model_stream_free(fp_model_stream *s)
{
    if (!s) return;
    ws_free(s->w);
    free(s->ring);
    free(s->win);
    free(s->z);
    free(s);
}

/* ------------------------------------------------------------ save, load */

static const char *cell_name(skind k) { return k == K_LSTM ? "lstm" : k == K_GRU ? "gru" : "transformer"; }

static json_t *seq_save(const fp_model *m)
{
    const seq *S = m->impl;
    json_t *p = json_object(), *a = json_object();
    if (!p || !a) { json_decref(p); json_decref(a); return NULL; }
    json_object_set_new(a, "cell", json_string(cell_name(S->kind)));
    json_object_set_new(a, "hidden", json_integer(S->H));
    json_object_set_new(a, "layers", json_integer(m->o.layers));
    json_object_set_new(a, "heads", json_integer(m->o.heads));
    json_object_set_new(a, "ctx", json_integer(S->ctx));
    json_object_set_new(a, "ff", json_integer(S->ff));
    json_object_set_new(a, "bptt", json_integer(S->bptt));
    json_object_set_new(a, "dropout", json_real(S->dropout));
    json_object_set_new(a, "weight_decay", json_real(S->wd));
    json_object_set_new(a, "clip", json_real(S->clip));
    json_object_set_new(a, "prefix_loss", json_boolean(S->prefix));
    json_object_set_new(p, "arch", a);
    json_object_set_new(p, "layout", json_string(
        S->kind == K_LSTM ? "W (4H x (D+H)), b (4H), gates i f g o; head Wq (RQ x H), bq (RQ)" :
        S->kind == K_GRU ? "Wx (3H x D), Wh (3H x H), bx (3H), bh (3H), gates r z n; head Wq (RQ x H), bq (RQ)" :
        "Win (H x D), bin (H), layers [ln1 g b, Wqkv, bqkv, Wo, bo, ln2 g b, W1, b1, W2, b2], "
        "final ln g b; head Wq (RQ x H), bq (RQ)"));
    json_object_set_new(p, "initialised", json_boolean(S->initialised));
    json_object_set_new(p, "from_updates", json_boolean(S->from_updates));
    json_object_set_new(p, "seed", json_integer((json_int_t)(S->seed & 0x7FFFFFFFFFFFFFFFULL)));
    json_object_set_new(p, "step", json_real(S->step));
    json_object_set_new(p, "prior", fp_jarr(S->prior, (size_t)S->RQ));
    json_object_set_new(p, "theta", fp_jarr(S->theta, S->np));
    json_object_set_new(p, "adam_m", fp_jarr(S->am, S->np));
    json_object_set_new(p, "adam_v", fp_jarr(S->av, S->np));
    return p;
}

static int get_int(const json_t *o, const char *key, int *v, const char *path, fp_err *err)
{
    const json_t *e = json_object_get(o, key);
    if (!json_is_integer(e)) return fp_err_set(err, FP_EINPUT, "%s: params.arch.%s is missing or not an integer", path, key);
    json_int_t x = json_integer_value(e);
    if (x < 0 || x > 1000000) return fp_err_set(err, FP_EINPUT, "%s: params.arch.%s out of range", path, key);
    *v = (int)x;
    return 0;
}

static int seq_load(fp_model *m, const json_t *p, const char *path, fp_err *err)
{
    seq *S = m->impl;
    const json_t *a = json_object_get(p, "arch");
    if (!json_is_object(a)) return fp_err_set(err, FP_EINPUT, "%s: params.arch is missing", path);
    const char *cell = json_string_value(json_object_get(a, "cell"));
    if (!cell || strcmp(cell, m->ops->kind) != 0)
        return fp_err_set(err, FP_EINPUT, "%s: params.arch.cell is not \"%s\"", path, m->ops->kind);
    int ff;
    if (get_int(a, "hidden", &m->o.hidden, path, err) < 0 || get_int(a, "layers", &m->o.layers, path, err) < 0 ||
        get_int(a, "heads", &m->o.heads, path, err) < 0 || get_int(a, "ctx", &m->o.ctx, path, err) < 0 ||
        get_int(a, "bptt", &m->o.bptt, path, err) < 0 || get_int(a, "ff", &ff, path, err) < 0 ||
        fp_jget_num(a, "dropout", &m->o.dropout, path, err) < 0 ||
        fp_jget_num(a, "weight_decay", &m->o.weight_decay, path, err) < 0 ||
        fp_jget_num(a, "clip", &m->o.clip, path, err) < 0)
        return -1;
    if (!json_is_boolean(json_object_get(a, "prefix_loss")))
        return fp_err_set(err, FP_EINPUT, "%s: params.arch.prefix_loss is not a boolean", path);
    m->o.prefix_loss = json_is_true(json_object_get(a, "prefix_loss"));
    if (check_arch(m, path, err) < 0) return -1;
    if (ff != 2 * m->o.hidden) return fp_err_set(err, FP_EINPUT, "%s: params.arch.ff must be 2 x hidden", path);
    if (seq_build(m, S, err) < 0) return -1;
    const json_t *sd = json_object_get(p, "seed");
    if (!json_is_integer(sd)) return fp_err_set(err, FP_EINPUT, "%s: params.seed is missing", path);
    S->seed = (uint64_t)json_integer_value(sd);
    if (fp_jget_arr(p, "theta", S->theta, S->np, true, path, err) < 0 ||
        fp_jget_arr(p, "adam_m", S->am, S->np, true, path, err) < 0 ||
        fp_jget_arr(p, "adam_v", S->av, S->np, true, path, err) < 0 ||
        fp_jget_arr(p, "prior", S->prior, (size_t)S->RQ, true, path, err) < 0 ||
        fp_jget_num(p, "step", &S->step, path, err) < 0)
        return -1;
    S->initialised = json_is_true(json_object_get(p, "initialised"));
    S->from_updates = json_is_true(json_object_get(p, "from_updates"));
    return 0;
}

#define SEQ_OPS(name) { \
    .kind = name, .history = false, .init = seq_init, .destroy = seq_destroy, .train = seq_train, \
    .update = seq_update, .predict = seq_predict, .save = seq_save, .load = seq_load, \
    .seq = true, .predict_seq = seq_predict_seq }

const fp_model_ops fp_model_lstm_ops = SEQ_OPS("lstm");
const fp_model_ops fp_model_gru_ops = SEQ_OPS("gru");
const fp_model_ops fp_model_transformer_ops = SEQ_OPS("transformer");
