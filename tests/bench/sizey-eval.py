#!/usr/bin/env python3
"""sizey-eval.py - fp against the published workflow-sizing methods, on the
Sizey protocol (issue 19). Run through tests/bench/sizey-eval.sh.

Protocol (J. Bader et al., "Sizey: Memory-Efficient Execution of Scientific
Workflow Tasks", IEEE CLUSTER 2024, as their code runs it):
  - a task type is the Nextflow `process`; rows with rss > 0 only; types
    with at least 34 such rows; a type with any realtime of 0 is left out
    (their code does: too short to measure);
  - per type a seeded shuffle (seed --seed, default 1996), the first 30% as
    history, the other 70% arriving online in that order, every method
    updated after each task;
  - each task gets a first allocation; an attempt whose allocation is below
    the task's peak fails and costs allocation x the task's whole runtime,
    and the task is retried by the method's own rule until it fits;
    waste = sum of (allocation - peak) x runtime of the successful attempts
    plus the failed attempts' cost, GB.h (1e9 bytes x hours);
  - the target of every method is peak_rss; the published methods' input
    size is rchar (bytes read, known only after the task ran).
Methods, reimplemented from their descriptions, in the same run:
  request        the user's request (`memory`); retry doubling if it fails
  tovar          Tovar et al.: the first allocation minimising expected
                 waste over the peaks and runtimes seen (a failure costs the
                 allocation plus the largest peak seen), retry at the
                 largest seen (then 128 GB, the node)
  witt-p95       Witt et al.: the 95th percentile (linear interpolation) of
                 the peaks seen; retry doubling
  witt-lr        Witt et al.'s feedback regression: least squares of peak on
                 rchar, times 1 + the standard deviation of the relative
                 under-... errors (y - pred) / y of this type's earlier
                 predictions; retry doubling (the largest peak seen after a
                 prediction <= 0)
  p95x1.15       the per-process history baseline fp has (p95 of the peaks
                 seen x 1.15), retry by fp-apply's OOM rule: max(+100 MiB,
                 x 1.2)
  fp-prestart    fp, with what is known before the task starts (libfp
                 through tests/bench/nfc-online: fp/nfconfig.h's least-waste
                 allocation, retries k x M as in the config fp writes)
  fp-rchar       fp with rchar like the published methods (libfp's knn
                 model on rchar, level chosen online)
Differences from the authors' code, on purpose: the target is peak_rss (not
rss); Witt LR's error list is per task type (theirs is one list shared by
every type and both offset variants, a class attribute); the split is
Python's random.Random(seed).shuffle, not scikit-learn's (so the numbers are
not theirs task for task; every method here sees the same split).
"""
import argparse
import csv
import gzip
import math
import os
import random
import subprocess
import sys

GB = 1e9
MIB = 1048576.0


def gbh(b, ms):
    return b / GB * ms / 3600000.0


def num(s):
    try:
        v = float(s)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


def read_trace(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", newline="") as f:
        sample = f.readline()
        f.seek(0)
        delim = "\t" if "\t" in sample else ","
        return list(csv.DictReader(f, delimiter=delim))


def types_of(rows, min_tasks):
    by = {}
    for r in rows:
        rss = num(r.get("rss"))
        if rss is None or rss <= 0:
            continue
        by.setdefault(r["process"], []).append(r)
    out = {}
    for p, rs in by.items():
        if len(rs) < min_tasks:
            continue
        if any(num(r.get("realtime")) == 0 for r in rs):
            continue
        tasks = []
        for r in rs:
            peak, rt = num(r.get("peak_rss")), num(r.get("realtime"))
            if peak is None or rt is None:
                continue
            tasks.append({"peak": peak, "rt": rt, "rchar": num(r.get("rchar")) or 0.0,
                          "req": num(r.get("memory")), "cpus": num(r.get("cpus")),
                          "pname": p.split(":")[-1].split()[0] if p.strip() else "-"})
        out[p] = tasks
    return out


def split(tasks, seed):
    idx = list(range(len(tasks)))
    random.Random(seed).shuffle(idx)
    n_test = math.ceil(0.7 * len(tasks))
    n_train = len(tasks) - n_test
    return [tasks[i] for i in idx[:n_train]], [tasks[i] for i in idx[n_train:]]


def simulate(task, first, retry):
    """Waste (GB.h) and failures of one task: first allocation, then
    retry(alloc, k) until it fits."""
    a, w, fails, k = first, 0.0, 0, 1
    while task["peak"] > a:
        w += gbh(max(a, 0.0), task["rt"])
        fails += 1
        a = retry(a, k)
        k += 1
        if fails > 60:
            raise RuntimeError("a retry rule that never fits")
    return w + gbh(a - task["peak"], task["rt"]), fails


def percentile(vals, q):
    """numpy's default (linear) percentile."""
    s = sorted(vals)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def tovar_first(hist):
    """Tovar's first allocation by waste over (peak, runtime) seen."""
    vals = {}
    for t in hist:
        v = math.ceil(t["peak"])
        vals[v] = vals.get(v, 0.0) + t["rt"]
    values = sorted(vals, reverse=True)
    times = [vals[v] for v in values]
    n = len(hist)
    running = [0.0] * len(values)
    for i in range(1, len(values)):
        running[i] = running[i - 1] + times[i - 1] / n
    tb = running[-1] + times[-1] / n
    am = values[0]
    a, ea = am, am * tb
    for i, ai in enumerate(values):
        e = ai * tb + am * running[i]
        if e < ea:
            ea, a = e, ai
    return a


def lstsq(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return b, my - b * mx


def pstd(v):
    if not v:
        return 0.0
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / len(v))


def baselines(hist, test):
    res = {}
    # request
    w = f = 0
    for t in test:
        a = t["req"] if t["req"] else max(x["peak"] for x in hist)
        dw, df = simulate(t, a, lambda a, k: a * 2)
        w += dw
        f += df
    res["request"] = (w, f)
    # Tovar
    seen = list(hist)
    w = f = 0
    for t in test:
        mx = math.ceil(max(x["peak"] for x in seen))
        first = tovar_first(seen)
        dw, df = simulate(t, first, lambda a, k, mx=mx: mx if a < mx else 128e9)
        w += dw
        f += df
        seen.append(t)
    res["tovar"] = (w, f)
    # Witt percentile
    ys = [x["peak"] for x in hist]
    w = f = 0
    for t in test:
        dw, df = simulate(t, percentile(ys, 95), lambda a, k: a * 2)
        w += dw
        f += df
        ys.append(t["peak"])
    res["witt-p95"] = (w, f)
    # Witt LR with std offset
    xs, ys = [x["rchar"] for x in hist], [x["peak"] for x in hist]
    errs = []
    w = f = 0
    for t in test:
        b, c = lstsq(xs, ys)
        pred = b * t["rchar"] + c
        off = pstd(errs)
        errs.append((t["peak"] - pred) / t["peak"])
        first = pred + off * pred
        mx = max(ys)
        dw, df = simulate(t, first, lambda a, k, mx=mx: mx if a <= 0 else a * 2)
        w += dw
        f += df
        xs.append(t["rchar"])
        ys.append(t["peak"])
    res["witt-lr"] = (w, f)
    # fp's per-process history baseline
    ys = [x["peak"] for x in hist]
    w = f = 0
    for t in test:
        dw, df = simulate(t, percentile(ys, 95) * 1.15, lambda a, k: max(a + 100 * MIB, a * 1.2))
        w += dw
        f += df
        ys.append(t["peak"])
    res["p95x1.15"] = (w, f)
    return res


BASE = ["request", "tovar", "witt-p95", "witt-lr", "p95x1.15"]
FP = ["fp-prestart", "fp-rchar"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--seed", type=int, default=1996)
    ap.add_argument("--min-tasks", type=int, default=34)
    ap.add_argument("--online", required=True, help="tests/bench/nfc-online")
    ap.add_argument("--lowo", action="store_true",
                    help="also leave one workflow out: fp-lowo, trained on the other traces")
    a = ap.parse_args()
    summary = []
    online = {}   # workflow -> its online tasks, in order
    pool = {}     # workflow -> all its tasks
    for path in a.traces:
        wf = os.path.basename(path).split(".")[0]
        if wf.startswith("trace_"):
            wf = wf[6:]
        types = types_of(read_trace(path), a.min_tasks)
        tot = {m: [0.0, 0] for m in BASE + FP}
        feed = []
        for p, tasks in types.items():
            hist, test = split(tasks, a.seed)
            online.setdefault(wf, []).extend(test)
            pool.setdefault(wf, []).extend(hist + test)
            for m, (w, f) in baselines(hist, test).items():
                tot[m][0] += w
                tot[m][1] += f
            feed.append("G " + p.replace("\n", " "))
            feed += ["H %r %r %r" % (t["peak"], t["rt"], t["rchar"]) for t in hist]
            feed += ["T %r %r %r" % (t["peak"], t["rt"], t["rchar"]) for t in test]
            feed.append("E")
        out = subprocess.run([a.online], input="\n".join(feed) + "\n", capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("sizey-eval: nfc-online failed: " + out.stderr)
        for line in out.stdout.splitlines():
            m, w, f = line.rsplit(" ", 3)[1:]   # R NAME METHOD WASTE FAILURES
            tot[m][0] += float(w)
            tot[m][1] += int(f)
        ntasks = sum(len(t) for t in types.values())
        best = min((m for m in BASE if m != "request"), key=lambda m: tot[m][0])
        print("\n%s: %d task types, %d tasks (30%% history, 70%% online; seed %d)" %
              (wf, len(types), ntasks, a.seed))
        print("  %-12s %12s %9s %9s" % ("method", "waste GB.h", "failures", "vs best"))
        for m in BASE + FP:
            print("  %-12s %12.2f %9d %8.2fx%s" % (m, tot[m][0], tot[m][1], tot[m][0] / tot[best][0]
                                                  if tot[best][0] > 0 else float("nan"),
                                                  "  (best baseline)" if m == best else ""))
        summary.append((wf, best, tot))
    if a.lowo and len(pool) > 1:
        def row(t):
            return "%r %r %r %r %r %s" % (t["peak"], t["rt"], t["rchar"], t["req"] or float("nan"),
                                          t["cpus"] or float("nan"), t["pname"])
        feed = []
        for wf in pool:
            feed.append("L " + wf)
            feed += ["H " + row(t) for o in pool if o != wf for t in pool[o]]
            feed += ["T " + row(t) for t in online[wf]]
            feed.append("E")
        out = subprocess.run([a.online], input="\n".join(feed) + "\n", capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("sizey-eval: nfc-online failed: " + out.stderr)
        lowo = {}
        for line in out.stdout.splitlines():
            name, m, w, f = line[2:].rsplit(" ", 3)
            lowo[name] = (float(w), int(f))
        print("\nleave one workflow out: fp-lowo sees no task of the workflow before its online tasks "
              "(trained on the other %d traces: process name, requested memory and cpus)" % (len(pool) - 1))
        print("  %-8s %12s %9s %14s %14s" % ("workflow", "waste GB.h", "failures", "vs fp-prestart",
                                              "vs best base"))
        for wf, best, tot in summary:
            w, f = lowo[wf]
            print("  %-8s %12.2f %9d %13.2fx %13.2fx" % (wf, w, f, w / tot["fp-prestart"][0],
                                                        w / tot[best][0]))
    print("\nreduction of waste against the best baseline other than the request (1 - fp / best):")
    for m in FP:
        reds = []
        for wf, best, tot in summary:
            r = 1 - tot[m][0] / tot[best][0] if tot[best][0] > 0 else float("nan")
            reds.append(r)
            print("  %-12s %-8s %6.1f%%  (failures %d vs %d)" % (m, wf, 100 * r, tot[m][1], tot[best][1]))
        s = sorted(reds)
        med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
        print("  %-12s median %6.1f%%" % (m, 100 * med))


if __name__ == "__main__":
    main()
