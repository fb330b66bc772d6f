#!/usr/bin/env python3
"""seq_torch.py - the PyTorch side of tests/bench/seq-vs-torch.sh.

Trains the architecture fp's sequence model KIND has (src/model_seq.c,
contract in src/fp/model.h) on the data set tests/bench/seqbench.c wrote,
with the same input normalisation, target transform, head, loss, initial
distributions, optimiser (Adam, betas 0.9/0.999, eps 1e-8, lr 0.01), global
gradient-norm clipping (1), epochs, batch size and thread count, and prints
one line:

    kind=K train_s=S val_pinball=V epochs=E best_epoch=B step_us=U

val_pinball: the mean pinball loss (standardised target units) of the
last-step quantiles on the validation workloads at the best epoch, as fp's
training report gives it. step_us: one streaming step at batch 1 (LSTM and
GRU: the cell with its state kept; transformer: the encoder over the window
of the last ctx steps, as fp does), one thread, inputs already normalised.

    seq_torch.py --kind lstm|gru|transformer --data FILE [--model FP_MODEL]
                 [--init FP_INIT_MODEL [--init-val V]]
                 [--epochs E] [--batch B] [--hidden H] [--threads K]
                 [--seed S] [--stream-steps N] [--dtype float32|float64]

--model: fp's saved model for the same data; the normalisation statistics
computed here are checked against it (exit 3 when they differ).
--init: fp's initial parameters (seqbench --init): training starts from
them instead of a fresh draw from the same distributions, so both sides
differ only in batch order and arithmetic; with --init-val (fp's
validation loss at those parameters) the loss here must agree (relative
1e-4 in float32, 1e-8 in float64) or exit 3: the architectures differ.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn

LEVELS = [0.5, 0.9, 0.99]
ZCLIP = 10.0


def robust(v):
    """Median and IQR (type-7 quantiles), else the mean absolute deviation,
    else 1; NaN centre when empty (src/model.c robust())."""
    if v.size == 0:
        return math.nan, 1.0
    med = float(np.quantile(v, 0.5))
    iqr = float(np.quantile(v, 0.75) - np.quantile(v, 0.25))
    if not iqr > 0:
        iqr = float(np.mean(np.abs(v - med)))
    return med, iqr if iqr > 0 and math.isfinite(iqr) else 1.0


def slog1p(x):
    return np.sign(x) * np.log1p(np.abs(x))


def normalise(seq_tr, y_tr):
    """fp's fit_normalisation for a sequence model: per metric, the
    statistics of every step of the training sequences (signed log1p);
    per resource, of the log1p targets."""
    n, T, D = seq_tr.shape
    med, sc = np.zeros(D), np.ones(D)
    flat = seq_tr.reshape(-1, D)
    for i in range(D):
        v = flat[:, i]
        v = slog1p(v[np.isfinite(v)])
        med[i], sc[i] = robust(v)
        if math.isnan(med[i]):
            med[i] = 0.0
    R = y_tr.shape[1]
    tc, ts = np.zeros(R), np.ones(R)
    for r in range(R):
        v = y_tr[:, r]
        v = np.log1p(np.maximum(v[np.isfinite(v)], 0))
        tc[r], ts[r] = robust(v)
        if math.isnan(tc[r]):
            tc[r] = 0.0
    return med, sc, tc, ts


def apply_norm(seq, y, med, sc, tc, ts):
    with np.errstate(invalid="ignore"):
        z = (slog1p(np.nan_to_num(seq, nan=0.0)) - med) / sc
    z = np.clip(z, -ZCLIP, ZCLIP)
    z[~np.isfinite(seq)] = 0.0
    t = (np.log1p(np.maximum(np.nan_to_num(y, nan=0.0), 0)) - tc) / ts
    t[~np.isfinite(y)] = np.nan
    return z, t


def prior(t_tr, R, Q):
    """The head's initial biases: v[floor(tau (k - 1) + 0.5)] of the sorted
    standardised training targets (model_seq.c set_prior), 0 for none."""
    p = np.zeros(R * Q)
    for r in range(R):
        v = np.sort(t_tr[np.isfinite(t_tr[:, r]), r])
        if v.size:
            for q, tau in enumerate(LEVELS):
                p[r * Q + q] = v[int(math.floor(tau * (v.size - 1) + 0.5))]
    return p


def unif_(t, a):
    with torch.no_grad():
        t.uniform_(-a, a)


class Head(nn.Linear):
    def __init__(self, H, RQ, bias0):
        super().__init__(H, RQ)
        unif_(self.weight, 0.1 / math.sqrt(H))
        with torch.no_grad():
            self.bias.copy_(torch.as_tensor(bias0, dtype=self.bias.dtype))


class RNN(nn.Module):
    """One LSTM or GRU layer and the quantile head on its last state.
    fp's LSTM has one bias vector (the forget gate's starting at 1): here
    bias_ih plays it and bias_hh is held at 0."""

    def __init__(self, kind, D, H, RQ, bias0):
        super().__init__()
        self.kind = kind
        a = 1 / math.sqrt(H)
        self.cell = (nn.LSTM if kind == "lstm" else nn.GRU)(D, H, batch_first=True)
        for p in self.cell.parameters():
            unif_(p, a)
        if kind == "lstm":
            with torch.no_grad():
                self.cell.bias_hh_l0.zero_()
                self.cell.bias_ih_l0[H:2 * H] += 1
            self.cell.bias_hh_l0.requires_grad_(False)
        self.head = Head(H, RQ, bias0)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.head(out[:, -1, :])

    def step(self, x, state):
        out, state = self.cell(x, state)
        return self.head(out[:, -1, :]), state


def posenc(T, d):
    pe = torch.zeros(T, d, dtype=torch.float64)
    for pos in range(T):
        for i in range(0, (d + 1) // 2):
            a = pos / 10000.0 ** ((2.0 * i) / d)
            pe[pos, 2 * i] = math.sin(a)
            if 2 * i + 1 < d:
                pe[pos, 2 * i + 1] = math.cos(a)
    return pe


class TF(nn.Module):
    """Input projection, sinusoidal positions, pre-layernorm causal encoder
    layers (GELU feed-forward 2H), final layernorm, head on the last
    position; fp's initial distributions."""

    def __init__(self, D, H, RQ, bias0, layers, heads, ctx):
        super().__init__()
        a = 1 / math.sqrt(H)
        self.inp = nn.Linear(D, H)
        unif_(self.inp.weight, 1 / math.sqrt(D))
        nn.init.zeros_(self.inp.bias)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            L = nn.TransformerEncoderLayer(H, heads, 2 * H, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
            unif_(L.self_attn.in_proj_weight, a)
            nn.init.zeros_(L.self_attn.in_proj_bias)
            unif_(L.self_attn.out_proj.weight, a)
            nn.init.zeros_(L.self_attn.out_proj.bias)
            unif_(L.linear1.weight, a)
            nn.init.zeros_(L.linear1.bias)
            unif_(L.linear2.weight, 1 / math.sqrt(2 * H))
            nn.init.zeros_(L.linear2.bias)
            self.layers.append(L)
        self.lnf = nn.LayerNorm(H)
        self.head = Head(H, RQ, bias0)
        self.register_buffer("pe", posenc(ctx, H))
        self.register_buffer("mask", torch.triu(torch.full((ctx, ctx), float("-inf")), 1))

    def forward(self, x):
        T = x.shape[1]
        h = self.inp(x) + self.pe[:T].to(x.dtype)
        m = self.mask[:T, :T].to(x.dtype)
        for L in self.layers:
            h = L(h, src_mask=m)
        return self.head(self.lnf(h[:, -1, :]))


def load_fp_init(model, kind, path, D, H, RQ):
    """Copy fp's initial parameters (the flat theta of its model file,
    layout in src/model_seq.c) into model."""
    th = json.load(open(path))["params"]["theta"]
    th = torch.tensor([0.0 if v is None else v for v in th], dtype=torch.float64)
    at = [0]

    def take(*shape):
        k = int(np.prod(shape))
        v = th[at[0]:at[0] + k].view(*shape)
        at[0] += k
        return v

    with torch.no_grad():
        if kind == "lstm":
            W, b = take(4 * H, D + H), take(4 * H)
            c = model.cell
            c.weight_ih_l0.copy_(W[:, :D])
            c.weight_hh_l0.copy_(W[:, D:])
            c.bias_ih_l0.copy_(b)
            c.bias_hh_l0.zero_()
        elif kind == "gru":
            c = model.cell
            c.weight_ih_l0.copy_(take(3 * H, D))
            c.weight_hh_l0.copy_(take(3 * H, H))
            c.bias_ih_l0.copy_(take(3 * H))
            c.bias_hh_l0.copy_(take(3 * H))
        else:
            model.inp.weight.copy_(take(H, D))
            model.inp.bias.copy_(take(H))
            for L in model.layers:
                L.norm1.weight.copy_(take(H))
                L.norm1.bias.copy_(take(H))
                L.self_attn.in_proj_weight.copy_(take(3 * H, H))
                L.self_attn.in_proj_bias.copy_(take(3 * H))
                L.self_attn.out_proj.weight.copy_(take(H, H))
                L.self_attn.out_proj.bias.copy_(take(H))
                L.norm2.weight.copy_(take(H))
                L.norm2.bias.copy_(take(H))
                L.linear1.weight.copy_(take(2 * H, H))
                L.linear1.bias.copy_(take(2 * H))
                L.linear2.weight.copy_(take(H, 2 * H))
                L.linear2.bias.copy_(take(H))
            model.lnf.weight.copy_(take(H))
            model.lnf.bias.copy_(take(H))
        model.head.weight.copy_(take(RQ, H))
        model.head.bias.copy_(take(RQ))
    if at[0] != th.numel():
        raise SystemExit(f"seq_torch: {path}: {th.numel()} parameters, the {kind} here has {at[0]}")


def val_loss(model, zva, tva, tau):
    model.eval()
    with torch.no_grad():
        s, k = 0.0, 0
        for b in range(0, zva.shape[0], 512):
            ls, lk = pinball(model(zva[b:b + 512]), tva[b:b + 512], tau)
            s += float(ls)
            k += lk
    return s / k


def pinball(u, t, tau):
    """Sum over (resource, level) of rho_tau(t - u) where t is known; u
    (B, R*Q), t (B, R) with NaN = unknown. Returns (sum, terms)."""
    B, R = t.shape
    Q = tau.numel()
    known = torch.isfinite(t)
    d = torch.where(known, t, torch.zeros_like(t)).unsqueeze(2) - u.view(B, R, Q)
    rho = torch.maximum(tau * d, (tau - 1) * d) * known.unsqueeze(2)
    return rho.sum(), int(known.sum()) * Q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True, choices=["lstm", "gru", "transformer"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model")
    ap.add_argument("--init")
    ap.add_argument("--init-val", type=float)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stream-steps", type=int, default=2000)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args()
    dt = torch.float32 if a.dtype == "float32" else torch.float64
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    raw = np.fromfile(a.data, dtype="<f8")
    n, T, D, R = (int(v) for v in raw[:4])
    rows = raw[4:].reshape(n, 1 + R + T * D)
    isval = rows[:, 0] > 0
    Y = rows[:, 1:1 + R]
    S = rows[:, 1 + R:].reshape(n, T, D)
    Q = len(LEVELS)
    tau = torch.tensor(LEVELS, dtype=dt)

    t0 = time.perf_counter()
    med, sc, tc, ts = normalise(S[~isval], Y[~isval])
    Z, Tg = apply_norm(S, Y, med, sc, tc, ts)
    if a.model:
        fm = json.load(open(a.model))
        ref = [fm["features"]["median"], fm["features"]["scale"], fm["targets"]["center"],
               fm["targets"]["scale"]]
        for name, mine, theirs in zip(["median", "scale", "center", "tscale"], [med, sc, tc, ts], ref):
            theirs = np.array([math.nan if v is None else v for v in theirs])
            if not np.allclose(mine, theirs, rtol=1e-9, atol=1e-12):
                print(f"seq_torch: normalisation {name} differs from fp's: {mine} vs {theirs}", file=sys.stderr)
                sys.exit(3)
    ztr = torch.tensor(Z[~isval], dtype=dt)
    ttr = torch.tensor(Tg[~isval], dtype=dt)
    zva = torch.tensor(Z[isval], dtype=dt)
    tva = torch.tensor(Tg[isval], dtype=dt)
    bias0 = prior(Tg[~isval], R, Q)
    if a.kind == "transformer":
        model = TF(D, a.hidden, R * Q, bias0, 1, 2, T)
    else:
        model = RNN(a.kind, D, a.hidden, R * Q, bias0)
    model = model.to(dt)
    init_check = ""
    if a.init:
        # fp's initial parameters; the validation loss they give here must
        # be fp's (the same architecture), to float32 rounding
        load_fp_init(model, a.kind, a.init, D, a.hidden, R * Q)
        t1 = time.perf_counter()
        v0 = val_loss(model, zva, tva, tau)
        t0 += time.perf_counter() - t1
        if a.init_val is not None:
            rel = abs(v0 - a.init_val) / a.init_val
            init_check = f" init_val={v0:.9g} init_rel={rel:.1e}"
            if rel > (1e-4 if dt == torch.float32 else 1e-8):
                print(f"seq_torch: {a.kind} from fp's initial parameters: validation loss {v0:.9g}, "
                      f"fp's {a.init_val:.9g}: the architectures differ", file=sys.stderr)
                sys.exit(3)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(a.seed)
    ntr = ztr.shape[0]
    best, best_epoch, best_state = math.inf, 0, None
    for epoch in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(ntr, generator=g)
        for b in range(0, ntr, a.batch):
            idx = perm[b:b + a.batch]
            u = model(ztr[idx])
            loss, _ = pinball(u, ttr[idx], tau)
            loss = loss / idx.numel()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        val = val_loss(model, zva, tva, tau)
        if a.verbose:
            print(f"torch epoch {epoch} val {val:.6f}", file=sys.stderr)
        if val < best - 1e-12:
            best, best_epoch = val, epoch
            best_state = {kk: v.clone() for kk, v in model.state_dict().items()}
    train_s = time.perf_counter() - t0
    model.load_state_dict(best_state)
    model.eval()

    # streaming, one thread, batch 1: the validation workloads fed twice
    # each (the transformer's window then slides), a fresh state each
    torch.set_num_threads(1)
    vz = zva.numpy()
    steps, done, w, sink = a.stream_steps, 0, 0, 0.0
    with torch.inference_mode():
        seqs = [torch.tensor(np.concatenate([vz[i], vz[i]]), dtype=dt).unsqueeze(0)
                for i in range(min(vz.shape[0], steps // (2 * T) + 2))]
        t1 = time.perf_counter()
        while done < steps:
            x = seqs[w]
            if a.kind == "transformer":
                for t in range(2 * T):
                    if done >= steps:
                        break
                    u = model(x[:, max(0, t - T + 1):t + 1])
                    done += 1
                    sink += float(u[0, 0])
            else:
                state = None
                for t in range(2 * T):
                    if done >= steps:
                        break
                    u, state = model.step(x[:, t:t + 1], state)
                    done += 1
                    sink += float(u[0, 0])
            w = (w + 1) % len(seqs)
        step_us = (time.perf_counter() - t1) / done * 1e6
    print(f"kind={a.kind} train_s={train_s:.3f} val_pinball={best:.6f} epochs={a.epochs} "
          f"best_epoch={best_epoch} step_us={step_us:.2f} torch={torch.__version__} dtype={a.dtype}{init_check}")


if __name__ == "__main__":
    main()
