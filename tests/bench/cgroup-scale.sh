#!/usr/bin/env bash
# cgroup-scale.sh - fp-capture's CPU per watched cgroup as the number of
# cgroups grows (1, 10, 100, 1000), beside pidstat watching the same
# processes, in one run per size.
#
# Run by hand (not part of `make check`), from a built tree, as root:
#
#   tests/bench/cgroup-scale.sh [--duration S] [--sizes "1 10 100 1000"] [--fp PATH]
#
# For each size N: N cgroups under /fpbench-scale in every hierarchy
# fp-capture reads (v1 cpu, cpuacct, memory, blkio, pids, and the unified
# one), each holding one `sleep` process; then, at the same time for S
# seconds (default 20):
#   - fp-capture --cgroup /fpbench-scale/w1 ... --cgroup .../wN -i 1 -d S
#     --steady-interval 1 (every sample at 1 s, no back-off: the cost per
#     sample is what is measured; its defaults otherwise: perf counters
#     on), split into several
#     fp-capture processes of at most --chunk cgroups each (default 400)
#     when one would need more open files than the limit allows (each
#     cgroup target holds its counter files and, with perf, 11 events per
#     CPU open); their CPU times are summed;
#   - pidstat -h -u -r -d -w -p PIDS 1 S on the N sleep processes.
# The cgroups and processes are removed before the next size.
# Each tool's CPU time is its own (tests/bench/cputime.c: CLOCK_PROCESS_
# CPUTIME read before the reap). Reported: cpu_s, %core, the ratio to
# pidstat in the same run, and the cost per target and sample
# (us = 1e6 * cpu_s / (N * S)). Linear scaling shows as a flat us column.
# Goal (issue 18): at N = 100, fp-capture <= 1x pidstat; N = 1000 measured
# and linear. Exit 0 whether met or not; 2 when the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
dur=20
sizes="1 10 100 1000"
chunk=400
fp=""
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --duration) dur=${2:?}; shift 2 ;;
    --sizes) sizes=${2:?}; shift 2 ;;
    --chunk) chunk=${2:?}; shift 2 ;;
    --fp) fp=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cgroup-scale: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "cgroup-scale: needs root (it creates cgroups)" >&2; exit 2; }
command -v pidstat >/dev/null || { echo "cgroup-scale: needs pidstat (apt-get install sysstat)" >&2; exit 2; }
cc=${CC:-cc}
if [ -z "$fp" ]; then
    fp=$top/bin/fp-capture
    if [ -x "$top/bin/.libs/fp-capture" ] && grep -q libtool "$fp" 2>/dev/null; then
        fp=$top/bin/.libs/fp-capture
        export LD_LIBRARY_PATH="$top/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
fi
[ -x "$fp" ] || { echo "cgroup-scale: no fp-capture at $fp (build first)" >&2; exit 2; }
# every sample at 1 s (no steady back-off): the cost per sample is what scales
dense=""
"$fp" --help 2>/dev/null | grep -q -- --steady-interval && dense="--steady-interval 1"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-scale.XXXXXX")
"$cc" -O2 -std=c11 -o "$tmp/cputime" "$here/cputime.c"
bg=()
cgdirs=()
teardown() {
    local p d i
    for p in "${bg[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${bg[@]}"; do wait "$p" 2>/dev/null || true; done
    bg=()
    for (( i = ${#cgdirs[@]} - 1; i >= 0; i-- )); do
        d=${cgdirs[$i]}
        [ -d "$d" ] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
        if [ -d "$d" ]; then echo "cgroup-scale: could not remove cgroup $d" >&2; fi
    done
    cgdirs=()
}
trap 'set +e; teardown; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mapfile -t hier < <(awk '
    { i = index($0, " - "); split(substr($0, i + 3), f, " ")
      if (f[1] == "cgroup2") print "unified " $5
      else if (f[1] == "cgroup") {
          n = split(f[3], o, ",")
          for (k = 1; k <= n; k++)
              if (o[k] ~ /^(cpu|cpuacct|memory|blkio|pids)$/) { print "v1 " $5; break }
      } }' /proc/self/mountinfo | sort -u)
mounts=() v1=false unified=""
for h in "${hier[@]}"; do
    m=${h#* }; m=${m//\\040/ }
    mounts+=("$m")
    [ "${h%% *}" = v1 ] && v1=true
    [ "${h%% *}" = unified ] && unified=$m
done
[ ${#mounts[@]} -gt 0 ] || { echo "cgroup-scale: no cgroup hierarchy mounted" >&2; exit 2; }
for m in "${mounts[@]}"; do
    [ -d "$m/fpbench-scale" ] && { echo "cgroup-scale: $m/fpbench-scale exists (an earlier run?); remove it first" >&2; exit 2; }
done
if $v1; then layout="cgroup v1${unified:+ + unified (hybrid)}"; else layout="cgroup v2"; fi

echo "cgroup-scale: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $("$fp" -V 2>/dev/null), $(pidstat -V 2>&1 | head -n 1)"
echo "cgroup-scale: $layout; ${dur} s per size; fp-capture -i 1 in chunks of at most $chunk cgroups; binary $fp"
echo
printf '%6s %-22s %9s %8s %7s %12s\n' N tool cpu_s "%core" ratio us/target/s

for n in $sizes; do
    echo "cgroup-scale: $n cgroups ..." >&2
    for m in "${mounts[@]}"; do
        mkdir "$m/fpbench-scale"; cgdirs+=("$m/fpbench-scale")
        if ! $v1 && [ "$m" = "$unified" ]; then
            for c in cpu memory io pids; do
                echo "+$c" >"$m/cgroup.subtree_control" 2>/dev/null || true
                echo "+$c" >"$m/fpbench-scale/cgroup.subtree_control" 2>/dev/null || true
            done
        fi
    done
    pids=()
    for i in $(seq "$n"); do
        sleep 1000000 &
        p=$!; bg+=("$p"); pids+=("$p")
        for m in "${mounts[@]}"; do
            mkdir "$m/fpbench-scale/w$i"; cgdirs+=("$m/fpbench-scale/w$i")
            echo "$p" >"$m/fpbench-scale/w$i/cgroup.procs"
        done
    done
    fps=() k=0 part=0
    while [ "$k" -lt "$n" ]; do
        args=()
        for (( j = k + 1; j <= n && j <= k + chunk; j++ )); do args+=(--cgroup "/fpbench-scale/w$j"); done
        "$tmp/cputime" "$tmp/fp.$n.$part" "$fp" "${args[@]}" -i 1 $dense -d "$dur" -o /dev/null 2>"$tmp/fp.$n.$part.err" &
        fps+=($!)
        k=$(( k + chunk )); part=$(( part + 1 ))
    done
    plist=$(IFS=,; echo "${pids[*]}")
    "$tmp/cputime" "$tmp/ps.$n" pidstat -h -u -r -d -w -p "$plist" 1 "$dur" >"$tmp/ps.$n.out" &
    psp=$!
    for p in "${fps[@]}"; do wait "$p" || true; done
    wait "$psp" || true
    for (( q = 0; q < part; q++ )); do
        f=$tmp/fp.$n.$q
        if [ ! -s "$f" ] || [ "$(awk '{print $6}' "$f")" != 0 ]; then
            echo "cgroup-scale: fp-capture ($n cgroups, part $q) failed: $(cat "$f.err")" >&2; exit 2
        fi
    done
    [ -s "$tmp/ps.$n" ] || { echo "cgroup-scale: pidstat left no measurement" >&2; exit 2; }
    # The fixed part (start: opening every file and counter; end: each
    # target's fingerprint and actual), alone: the same targets for 1 s.
    k=0 q=0
    while [ "$k" -lt "$n" ]; do
        args=()
        for (( j = k + 1; j <= n && j <= k + chunk; j++ )); do args+=(--cgroup "/fpbench-scale/w$j"); done
        "$tmp/cputime" "$tmp/fx.$n.$q" "$fp" "${args[@]}" -i 1 $dense -d 1 -o /dev/null 2>/dev/null || true
        k=$(( k + chunk )); q=$(( q + 1 ))
    done
    fixed=$(cat "$tmp"/fx.$n.[0-9]* | awk '{ s += $1 } END { printf "%.4f", s }')
    fcpu=$(cat "$tmp"/fp.$n.[0-9]* | awk '{ s += $1 } END { printf "%.4f", s }')
    fwall=$(awk '{print $4}' "$tmp/fp.$n.0")
    pcpu=$(awk '{print $1}' "$tmp/ps.$n") pwall=$(awk '{print $4}' "$tmp/ps.$n")
    awk -v n="$n" -v fc="$fcpu" -v fw="$fwall" -v pc="$pcpu" -v pw="$pwall" -v parts="$part" -v fx="$fixed" 'BEGIN {
        fp = 100 * fc / fw; ps = 100 * pc / pw
        printf "%6d %-22s %9.4f %7.3f%% %7.2f %12.1f   fixed %.4f s; per sample %.1f us/target\n", n, "fp-capture" (parts > 1 ? " (" parts " procs)" : ""), fc, fp, (ps > 0 ? fp / ps : 0), 1e6 * fc / (n * fw), fx, 1e6 * (fc - fx) / (n * (fw - 1))
        printf "%6d %-22s %9.4f %7.3f%% %7.2f %12.1f\n", n, "pidstat", pc, ps, 1, 1e6 * pc / (n * pw) }'
    teardown
done
echo "(cpu_s: own CPU time of the tool(s); %core: cpu_s / wall; ratio: fp-capture %core / pidstat %core;"
echo " us/target/s: microseconds of CPU per watched cgroup per second of watching, at one sample a second;"
echo " fixed: fp-capture's CPU for the same targets over 1 s (start + fingerprints + actuals at the end);"
echo " per sample: (cpu_s - fixed) / (N * (wall - 1 s)), the cost of one sample of one target)"
