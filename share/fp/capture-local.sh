#!/bin/sh
# capture-local.sh - fingerprints of real workloads captured on this machine,
# for the default model (issue 5: "trained ... on fingerprints of real
# workloads captured on this machine").
#
#   share/fp/capture-local.sh [OUT]
#
# OUT: the records (default share/fp/local-captures.jsonl beside this
# script, written atomically). Runs a fixed list of workloads available on
# Debian, one at a time, each under `fp-capture -w 2 --no-samples --id
# local/NAME --meta source=local --meta workload=NAME`: stress-ng stressors (cpu,
# vm, io, hdd, matrix, stream) at a few sizes, some with a ramp after the
# window (so that the lifetime peak is not the window's), busybox loops,
# and fio and sysbench when they are installed (the list says which ran).
# Each record keeps its fingerprint (features of the first 2 s) and its
# actual (lifetime peaks); the host member is dropped.
#
# Why a 2 s window: fp-run, the live user of the default model, predicts
# after 2 s (its -w default); eager replays are fingerprinted at 2 s too
# (train-default.sh). Both kinds of fingerprint have the same 692 features
# (a replay's missing metrics and a live capture's missing metadata are
# null, imputed), so one model is trained on the mix with
# `fp-train --window 2`.
#
# The file is data, committed: share/fp/train-default.sh reads it as an
# input, so the default model is byte-reproducible from the same traces and
# the same file. Rerunning this script makes a NEW capture (timings, the
# machine's load and kernel differ), hence a different model: commit both.
# Takes about 4 minutes; needs stress-ng and busybox (Debian packages
# stress-ng, busybox); run it on an otherwise quiet machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$here/local-captures.jsonl}
bin=$(cd "${FP_BIN:-$top/bin}" && pwd)
[ -x "$bin/fp-capture" ] || { echo "capture-local: $bin/fp-capture is not built" >&2; exit 2; }
for c in stress-ng busybox jq; do
    command -v $c >/dev/null || { echo "capture-local: needs $c (apt-get install $c)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-local.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/out.jsonl"
n=0

# cap NAME CMD...: one workload, its fingerprint and actual appended
cap() {
    name=$1; shift
    echo "capture-local: $name" >&2
    (cd "$tmp/work" && "$bin/fp-capture" -w 2 --no-samples --id "local/$name" \
        --meta source=local --meta "workload=$name" -- "$@") > "$tmp/one.jsonl" 2> "$tmp/one.err" ||
        { cat "$tmp/one.err" >&2; echo "capture-local: $name failed" >&2; exit 2; }
    jq -c 'del(.host)' "$tmp/one.jsonl" >> "$tmp/out.jsonl"
    n=$((n + 1))
}
mkdir -p "$tmp/work"
S="stress-ng --quiet"
# CPU: one and two workers, full and half load
cap stress-cpu-1           $S --cpu 1 -t 6
cap stress-cpu-2           $S --cpu 2 -t 6
cap stress-cpu-1-load50    $S --cpu 1 --cpu-load 50 -t 6
cap stress-cpu-2-ramp      sh -c "$S --cpu 1 -t 3; $S --cpu 2 -t 4"
# memory: resident sizes, and ramps after the window
cap stress-vm-64M          $S --vm 1 --vm-bytes 64M --vm-keep -t 6
cap stress-vm-256M         $S --vm 1 --vm-bytes 256M --vm-keep -t 6
cap stress-vm-512M         $S --vm 1 --vm-bytes 512M --vm-keep -t 6
cap stress-vm-2x256M       $S --vm 2 --vm-bytes 256M --vm-keep -t 6
cap stress-vm-ramp-64-384M sh -c "$S --vm 1 --vm-bytes 64M --vm-keep -t 3; $S --vm 1 --vm-bytes 384M --vm-keep -t 4"
cap stress-vm-ramp-128-768M sh -c "$S --vm 1 --vm-bytes 128M --vm-keep -t 3; $S --vm 1 --vm-bytes 768M --vm-keep -t 4"
cap stress-matrix-1        $S --matrix 1 -t 6
cap stress-stream-1        $S --stream 1 -t 6
# I/O: sync, and files written in a temporary directory
cap stress-io-1            $S --io 1 -t 6
cap stress-hdd-64M         $S --hdd 1 --hdd-bytes 64M -t 6
cap stress-hdd-256M        $S --hdd 1 --hdd-bytes 256M -t 6
# busybox: a shell loop, compression, and a sort whose memory grows
cap busybox-loop           busybox sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i + 1)); done'
cap busybox-gzip-128M      busybox sh -c 'busybox head -c 134217728 /dev/urandom | busybox gzip -1 > /dev/null'
cap busybox-sort-ramp      busybox sh -c 'busybox seq 1 3000000 | busybox sort -r > /dev/null'
# fio and sysbench when installed
if command -v fio >/dev/null; then
    cap fio-randrw-64M     fio --name=rw --directory=. --size=64M --rw=randrw --runtime=6 --time_based --output=/dev/null
fi
if command -v sysbench >/dev/null; then
    cap sysbench-cpu       sysbench cpu --time=6 --threads=1 run
    cap sysbench-memory    sysbench memory --time=6 --memory-total-size=100G run
fi
mv "$tmp/out.jsonl" "$out.tmp" && mv "$out.tmp" "$out"
sync "$out" 2>/dev/null || true
echo "capture-local: $n workloads, wrote $out" >&2
