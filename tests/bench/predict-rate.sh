#!/usr/bin/env bash
# predict-rate.sh - fp-predict's records per second beside `jq -c .`
# reading the same JSON-lines stream, in one run.
#
# Run by hand (not part of `make check`), from a built tree:
#
#   tests/bench/predict-rate.sh [--fingerprints N] [--samples N] [--runs R]
#
# The records are synthetic, made here (no trace needed): 200 workloads of
# 60 one-second samples (four families of CPU and memory levels, a ramp and
# noise from a fixed seed) are written as fp traces and replayed by
# fp-capture --replay, which computes real fingerprints (all standard
# features) and actuals; a linear and a knn (nearest-fingerprint) model are
# trained on them (fp-train --seed 1). Two streams are then timed:
#   fingerprints  N fingerprint records (default 20000: the 200 replayed
#                 ones repeated under new ids): one prediction each;
#   samples       N sample records (default 200000) of N/250 workloads of
#                 250 s each: fp-predict keeps a feature window per workload
#                 and predicts every 10 s of its time (--every 10).
# Each tool reads the stream from a file and writes to /dev/null; fp-predict
# passes every record through (as in a pipeline) and adds its predictions.
# Rate = input records / wall seconds, the best of R runs (default 3).
# Goal (from the issue): fp-predict at least half of jq's rate, for the
# linear and the nearest-fingerprint models. Exit 0 whether met or not; 2
# when the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
nfp=20000
nsamp=200000
runs=3
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --fingerprints) nfp=${2:?--fingerprints needs a count}; shift 2 ;;
    --samples) nsamp=${2:?--samples needs a count}; shift 2 ;;
    --runs) runs=${2:?--runs needs a count}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$nfp" "$nsamp" "$runs"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "predict-rate: not a count: $v" >&2; exit 2; }
done
for t in fp-capture fp-train fp-predict; do
    [ -x "$top/bin/$t" ] || { echo "predict-rate: build first ($top/bin/$t missing)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "predict-rate: needs jq" >&2; exit 2; }
tmp=$(mktemp -d /tmp/fp-predict-rate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=0

# synthetic sample streams: workload w, samples 0..len-1 (1 s apart)
# gen W0 W1 LEN PREFIX: one sample record per line, workloads W0..W1-1 in turn
gen() {
    awk -v w0="$1" -v w1="$2" -v len="$3" -v pre="$4" 'BEGIN {
        srand(1)
        for (w = w0; w < w1; w++) {
            f = w % 4; cpu = 0.25 * (f + 1); mem = 2^27 * (f * f + 1)
            for (i = 0; i < len; i++) {
                c = cpu * (1 + 0.3 * sin(i / 7 + w)) + 0.05 * rand()
                m = mem * (0.5 + 0.5 * (i < 30 ? i / 30 : 1)) * (1 + 0.1 * rand())
                printf "{\"schema\":1,\"type\":\"sample\",\"id\":\"%s%d\",\"t\":%d,\"ts_ms\":%d,\"cpu_cores\":%.6f,\"mem_bytes\":%d}\n", pre, w, i, 1700000000000 + 1000 * (w * len + i), c, m
            }
        }
    }'
}

# training records: 200 workloads, replayed from fp traces (one file each)
mkdir -p "$tmp/tr"
gen 0 200 60 wl- | awk -v d="$tmp/tr" '{ match($0, /"id":"[^"]*"/); f = d "/" substr($0, RSTART + 6, RLENGTH - 7) ".jsonl"; print > f }'
args=(); for f in "$tmp"/tr/*.jsonl; do args+=(--replay "$f"); done
"$top/bin/fp-capture" -w 10 --no-samples "${args[@]}" > "$tmp/train.jsonl" ||
    { echo "predict-rate: fp-capture --replay failed" >&2; exit 2; }
for m in linear knn; do
    "$top/bin/fp-train" -q -M "$m" --seed 1 -o "$tmp/$m.json" "$tmp/train.jsonl" ||
        { echo "predict-rate: fp-train -M $m failed" >&2; exit 2; }
done

# the streams
grep '"type":"fingerprint"' "$tmp/train.jsonl" > "$tmp/fp1.jsonl"
nf1=$(wc -l < "$tmp/fp1.jsonl")
awk -v n="$nfp" -v k="$nf1" '{ r[NR] = $0 } END {
    for (i = 0; i < n; i++) { s = r[i % k + 1]; sub(/"id":"[^"]*"/, "\"id\":\"fp-" i "\"", s); print s } }' "$tmp/fp1.jsonl" > "$tmp/fingerprints.jsonl"
gen 0 $(( (nsamp + 249) / 250 )) 250 s- | head -n "$nsamp" > "$tmp/samples.jsonl"

# best wall time of R runs of a command reading FILE (seconds)
best() {
    local file=$1 b="" i t0 t1 s; shift
    for ((i = 0; i < runs; i++)); do
        t0=$EPOCHREALTIME
        "$@" < "$file" > /dev/null || { echo "predict-rate: failed: $*" >&2; exit 2; }
        t1=$EPOCHREALTIME
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
        if [ -z "$b" ] || awk -v s="$s" -v b="$b" 'BEGIN { exit !(s < b) }'; then b=$s; fi
    done
    echo "$b"
}

echo "fp-predict records per second beside jq -c . ($(jq --version), $(nproc) CPUs; best of $runs runs; synthetic records made by this script)"
printf '%-13s %-7s %9s %14s %14s %7s  %s\n' stream model records "fp-predict/s" "jq/s" ratio "goal (>= 0.5)"
for stream in fingerprints samples; do
    file=$tmp/$stream.jsonl
    n=$(wc -l < "$file")
    tj=$(best "$file" jq -c .)
    for m in linear knn; do
        if [ $stream = samples ]; then
            tp=$(best "$file" "$top/bin/fp-predict" -m "$tmp/$m.json" --every 10)
        else
            tp=$(best "$file" "$top/bin/fp-predict" -m "$tmp/$m.json")
        fi
        awk -v s="$stream" -v m="$m" -v n="$n" -v tp="$tp" -v tj="$tj" 'BEGIN {
            rp = n / tp; rj = n / tj; r = rp / rj
            printf "%-13s %-7s %9d %14.0f %14.0f %7.2f  %s\n", s, m, n, rp, rj, r, (r >= 0.5 ? "met" : "NOT met") }'
    done
done
