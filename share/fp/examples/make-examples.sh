#!/bin/sh
# share/fp/examples/make-examples.sh - the example charts of the README,
# from a real run on this machine (so each run draws slightly different
# pictures):
#   band-cpu.svg      a two-phase stress-ng workload captured live, predicted
#                     by the shipped default model, limits planned by
#                     fp-apply --dry-run: the predicted band, the p50, the
#                     planned cpu.max and the CPU used, over time;
#   band-mem.svg      the same for memory;
#   tradeoff-cpu.svg  slack against violation rate of each quantile level of
#                     two models (the default model, and a vpa model learnt
#                     from three earlier runs) and of the limits planned.
# Usage: make-examples.sh [OUTDIR]   (default: this directory)
# Needs: a built tree (or FP_BIN), stress-ng, jq, and the rights fp-capture
# needs to run a command in its own cgroup (root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
bin=$(cd "${FP_BIN:-$top/bin}" && pwd)
out=${1:-$here}
for c in stress-ng jq; do
    command -v "$c" >/dev/null 2>&1 || { echo "make-examples: needs $c" >&2; exit 2; }
done
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# history for the second model: three short runs at different loads
for load in 20 50 90; do
    "$bin/fp-capture" -i 0.5 -w 5 -- stress-ng --cpu 1 --cpu-load "$load" --vm 1 \
        --vm-bytes "${load}M" --timeout 15s --quiet
done > "$tmp/history.jsonl"
"$bin/fp-train" -M vpa --from-samples --every 5 --horizon 10 -o "$tmp/vpa.json" "$tmp/history.jsonl"

# the run: a light phase, then a heavy one; predictions every 5 s of
# workload time, limits planned (not applied) as they come
"$bin/fp-capture" -i 0.5 -w 5 -- sh -c \
    'stress-ng --cpu 1 --cpu-load 30 --vm 1 --vm-bytes 100M -t 20s --quiet;
     stress-ng --cpu 2 --cpu-load 80 --vm 1 --vm-bytes 300M -t 20s --quiet' |
    "$bin/fp-predict" -m "$top/share/fp/default-model.json" --every 5 --first-at 5 |
    "$bin/fp-apply" --dry-run > "$tmp/default.jsonl"

# the same samples predicted by the vpa model (a workload id of its own)
jq -c 'select(.type != "prediction" and .type != "allocation")' "$tmp/default.jsonl" |
    "$bin/fp-predict" -m "$tmp/vpa.json" --every 5 --first-at 5 |
    jq -c 'if has("id") then .id += ":vpa" else . end' > "$tmp/vpa.jsonl"

"$bin/fp-diff" --no-pass --svg "$out/band-cpu.svg" "$tmp/default.jsonl" > /dev/null
"$bin/fp-diff" --no-pass --svg "$out/band-mem.svg" --resource mem_bytes "$tmp/default.jsonl" > /dev/null
cat "$tmp/default.jsonl" "$tmp/vpa.jsonl" |
    "$bin/fp-diff" --no-pass --svg "$out/tradeoff-cpu.svg" --chart tradeoff --table > /dev/null
echo "make-examples: wrote $out/band-cpu.svg $out/band-mem.svg $out/tradeoff-cpu.svg" >&2
