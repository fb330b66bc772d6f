#!/usr/bin/env bash
# default-window.sh - the default model on live programs it did not train on.
#
# Run by hand (not part of `make check`), from a built tree:
#
#   tests/bench/default-window.sh [--save FILE] [--from FILE] [MODEL...]
#
# Captures, as fp-run would see them, a fixed list of real programs from
# Debian packages that are not in share/fp/local-captures.jsonl (xz, gzip,
# bzip2, zstd, sort, sqlite3, python3, perl, awk, gcc, dd, stress-ng --vm),
# each with `fp-capture -i 0.5 -w 2 --no-samples -- CMD` (fp-run's
# defaults: a fingerprint of the first 2 s, and the actual: lifetime peaks),
# on inputs generated here with a fixed seed. Then predicts every
# fingerprint with each MODEL (`fp-predict -m MODEL`) and compares the
# memory quantiles p90 and p99 with the program's true peak
# (mem_bytes_peak of its actual).
#
# MODEL: a model file, or REV:PATH for a file at a git revision. Default:
#   w30=53c88ff:share/fp/default-model.json (the default model trained on
#   30 s eager fingerprints) and w2=share/fp/default-model.json (the
#   current one); NAME=MODEL names a column.
# --save FILE  keep the captures (fingerprints and actuals) in FILE.
# --from FILE  predict the captures of FILE instead of capturing again
#              (captures vary from run to run with the machine's load).
#
# Prints one row per program and model: the true peak, p90 and p99 of
# memory (MiB), p90/peak, and whether p90 and p99 cover the peak; then per
# model: the coverage of p90 and p99, the median and geometric mean of
# p90/peak, and Spearman's rank correlation of p90 (and p50) with the true
# peaks (ranks averaged over ties; a constant prediction has none: "-").
# Also the CPU coverage of p90 (cpu_cores peak). Exit 0 whatever the
# numbers; 2 when a tool is missing or a capture failed.
# Needs jq, python3 and the programs above (tests/setup-debian.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$(cd "${FP_BIN:-$top/bin}" && pwd)
save="" from=""
models=()
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --save) save=${2:?--save needs a file}; shift 2 ;;
    --from) from=${2:?--from needs a file}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "default-window: unknown option $1" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
    esac
done
[ ${#models[@]} -gt 0 ] || models=(w30=53c88ff:share/fp/default-model.json w2=share/fp/default-model.json)
for t in fp-capture fp-predict; do
    [ -x "$bin/$t" ] || { echo "default-window: $bin/$t is not built" >&2; exit 2; }
done
for c in jq python3; do
    command -v $c >/dev/null || { echo "default-window: needs $c" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-dwin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the models, as files in $tmp
names=()
i=0
for m in "${models[@]}"; do
    i=$((i + 1))
    name=m$i spec=$m
    case $m in *=*) name=${m%%=*}; spec=${m#*=} ;; esac
    if [ -f "$spec" ]; then
        cp "$spec" "$tmp/model-$name.json"
    elif [ -f "$top/$spec" ]; then
        cp "$top/$spec" "$tmp/model-$name.json"
    elif case $spec in *:*) true ;; *) false ;; esac &&
         git -C "$top" show "$spec" > "$tmp/model-$name.json" 2>/dev/null; then
        :
    else
        echo "default-window: no model $spec" >&2; exit 2
    fi
    names+=("$name")
done

if [ -n "$from" ]; then
    cp "$from" "$tmp/captures.jsonl"
else
    for c in xz gzip bzip2 zstd sort sqlite3 perl awk gcc dd stress-ng; do
        command -v $c >/dev/null || { echo "default-window: needs $c" >&2; exit 2; }
    done
    mkdir -p "$tmp/work"
    cd "$tmp/work"
    echo "default-window: generating inputs" >&2
    # 48 MiB of text lines (numbers and words), fixed seed
    python3 - <<'EOF'
import random
r = random.Random(1)
words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 10)))
         for _ in range(50000)]
buf, n = [], 0
while n < 48 * 1024 * 1024:
    line = "%d %s %s %s %d\n" % (r.randrange(10**9), r.choice(words), r.choice(words),
                                 r.choice(words), r.randrange(1000))
    buf.append(line); n += len(line)
open("data.txt", "w").write("".join(buf))
EOF
    head -c 8000000 data.txt > small.txt
    # a C file of 400 functions, for gcc -O2
    python3 - <<'EOF'
with open("big.c", "w") as f:
    for i in range(400):
        f.write("int f%d(int *a, int n) { int s = %d; for (int i = 0; i < n; i++) {"
                " s += a[i] * %d; if (s > %d) s ^= a[(i * 7) %% n]; } return s; }\n"
                % (i, i, i + 3, 1000 * i))
    f.write("int main(void) { return 0; }\n")
EOF
    : > "$tmp/captures.jsonl"
    # cap NAME CMD...: fp-run's view of one program (fingerprint + actual)
    cap() {
        local name=$1; shift
        echo "default-window: $name" >&2
        "$bin/fp-capture" -i 0.5 -w 2 --no-samples --id "bench/$name" \
            -o "$tmp/one.jsonl" -- "$@" > /dev/null 2> "$tmp/one.err" ||
            { cat "$tmp/one.err" >&2; echo "default-window: $name failed" >&2; exit 2; }
        jq -c 'del(.host)' "$tmp/one.jsonl" >> "$tmp/captures.jsonl"
    }
    cap xz-9          sh -c 'xz -9 -T1 -c small.txt > /dev/null'
    cap gzip-9        sh -c 'gzip -9 -c data.txt > /dev/null'
    cap bzip2-9       sh -c 'bzip2 -9 -c data.txt > /dev/null'
    cap zstd-19       sh -c 'zstd -q -19 -T1 -c small.txt > /dev/null'
    cap sort          sh -c 'sort --parallel=1 -T . data.txt > /dev/null'
    cap sqlite3-insert sqlite3 :memory: 'CREATE TABLE t(a INTEGER, b TEXT); CREATE INDEX ti ON t(b); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) INSERT INTO t SELECT x, hex(randomblob(16)) FROM c; SELECT count(*) FROM t;'
    cap python3-lists python3 -c 'import time
a = []
for i in range(30):
    a.append(list(range(400000))); time.sleep(0.15)'
    cap perl-hash     perl -e 'my %h; $h{$_} = "v$_" for 1 .. 2500000; print scalar(keys %h), "\n"'
    cap awk-lines     awk '{ a[NR] = $0 } END { print NR }' data.txt
    cap gcc-O2        gcc -O2 -c -o big.o big.c
    cap dd-800M       dd if=/dev/zero of=dd.out bs=1M count=800 status=none
    cap stress-vm-300M stress-ng --quiet --vm 1 --vm-bytes 300M -t 5
    cd "$top"
fi
[ -z "$save" ] || cp "$tmp/captures.jsonl" "$save"

for n in "${names[@]}"; do
    "$bin/fp-predict" -m "$tmp/model-$n.json" < "$tmp/captures.jsonl" |
        jq -c --arg m "$n" 'select(.type == "prediction") | {model: $m, id,
            m50: .quantiles.mem_bytes.p50, m90: .quantiles.mem_bytes.p90, m99: .quantiles.mem_bytes.p99,
            c90: .quantiles.cpu_cores.p90}'
done > "$tmp/pred.jsonl"
jq -c 'select(.type == "actual") | {id, peak: .mem_bytes_peak, cpu: .cpu_cores_peak}' \
    "$tmp/captures.jsonl" > "$tmp/act.jsonl"

python3 - "$tmp/pred.jsonl" "$tmp/act.jsonl" "${names[@]}" <<'EOF'
import json, math, sys
pred = [json.loads(l) for l in open(sys.argv[1])]
act = {a["id"]: a for a in map(json.loads, open(sys.argv[2]))}
names = sys.argv[3:]
M = 1024 * 1024
def mib(v): return "-" if v is None else "%.0f" % (v / M)
def ranks(xs):
    o = sorted(range(len(xs)), key=lambda i: xs[i]); r = [0.0] * len(xs); i = 0
    while i < len(o):
        j = i
        while j + 1 < len(o) and xs[o[j + 1]] == xs[o[i]]: j += 1
        for k in range(i, j + 1): r[o[k]] = (i + j) / 2 + 1
        i = j + 1
    return r
def spearman(x, y):
    rx, ry = ranks(x), ranks(y); n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sx = math.sqrt(sum((a - mx) ** 2 for a in rx)); sy = math.sqrt(sum((b - my) ** 2 for b in ry))
    return "-" if sx == 0 or sy == 0 else "%.2f" % (sxy / (sx * sy))
print("%-16s %-5s %8s %8s %8s %8s %7s %4s %4s" % ("program", "model", "peak", "p50", "p90", "p99", "p90/pk", "c90", "c99"))
for a in act.values():
    for n in names:
        for p in pred:
            if p["model"] == n and p["id"] == a["id"]:
                pk = a["peak"]
                print("%-16s %-5s %8s %8s %8s %8s %7.2f %4s %4s" % (
                    a["id"].split("/", 1)[-1], n, mib(pk), mib(p["m50"]), mib(p["m90"]), mib(p["m99"]),
                    p["m90"] / pk, "yes" if p["m90"] >= pk else "no", "yes" if p["m99"] >= pk else "no"))
print()
print("(memory in MiB; c90/c99: the quantile covers the true peak)")
print("%-5s %3s %6s %6s %9s %9s %9s %9s %7s" % ("model", "n", "cov90", "cov99", "med90/pk", "gm90/pk", "rho(p90)", "rho(p50)", "cpu90"))
for n in names:
    ps = [p for p in pred if p["model"] == n and p["id"] in act and p["m90"] is not None]
    pk = [act[p["id"]]["peak"] for p in ps]
    r = sorted(p["m90"] / k for p, k in zip(ps, pk)); N = len(ps)
    med = r[N // 2] if N % 2 else (r[N // 2 - 1] + r[N // 2]) / 2
    gm = math.exp(sum(math.log(x) for x in r) / N)
    cpu = [p for p in ps if p["c90"] is not None and act[p["id"]]["cpu"] is not None]
    print("%-5s %3d %6.2f %6.2f %9.2f %9.2f %9s %9s %7.2f" % (
        n, N, sum(p["m90"] >= k for p, k in zip(ps, pk)) / N,
        sum(p["m99"] >= k for p, k in zip(ps, pk)) / N, med, gm,
        spearman([p["m90"] for p in ps], pk), spearman([p["m50"] for p in ps], pk),
        sum(p["c90"] >= act[p["id"]]["cpu"] for p in cpu) / max(len(cpu), 1)))
EOF
