#!/usr/bin/env bash
# run-loop.sh - fp-run's loop, from issue 6: the time from workload start
# to limits in effect, beside the same workload started under a static
# limit, and the loop's own CPU cost per workload-hour beside pidstat.
#
# Run by hand (not part of `make check`), from a built tree, as root
# (cgroups), in under ~1 minute:
#
#   tests/bench/run-loop.sh [--reps N] [--dur SEC]
#
# 1. Time to limits. fp-run -m share/fp/default-model.json runs
#    `bash -c 'echo $$ $EPOCHREALTIME > F; exec sleep W+1.5'` (the
#    workload writes its own start time), --reps times at -w 2 (the
#    default) and at -w 0.5. The bench finds the workload's memory cgroup
#    in /proc/PID/cgroup and polls its memory.limit_in_bytes (v1;
#    memory.max on v2) every 2 ms until the value changes; the time from
#    the workload's start to that change is "limit in effect" (poll
#    resolution ~2-3 ms; cross-checked with the allocation record's ts_ms).
#    Static: the same workload started into a cgroup made with its limit
#    first (mkdir, write memory.limit_in_bytes, then `bash -c 'echo $$ >
#    cgroup.procs; ...; exec sleep'`, what cgexec does): the limit is in
#    effect before the first instruction, by construction (0 s after
#    start); its cost is the setup before start (mkdir + write + bash to
#    the exec), which is reported. The ratio printed is fp's delay over the
#    static setup. What it means: fp's limit arrives after its fingerprint
#    window (that is its design: it must watch the workload to size it);
#    a static limit arrives before the start but has to be known in
#    advance. fp's delay is the window plus its own latency; the second
#    number is that latency alone (delay - window). The workload's start is
#    when its bash ran, a few ms after fp-run's clock (t = 0) started, so
#    a delay can come out a little under the window.
# 2. CPU cost. One `sleep DUR` (default 25 s) under fp-run -i 1 --every 5,
#    one under fp-run -i 0.5 --every 5 (its default interval), and one
#    watched by `pidstat -p PID 1` (sysstat, one sample a second), at the
#    same time. The CPU time of fp-run itself and of pidstat itself (not of
#    their children: CLOCK_PROCESS_CPUTIME read before the reap, by
#    tests/bench/cputime.c) over the workload's wall time, scaled to CPU
#    seconds per workload-hour; ratios fp-run / pidstat. fp-run's cost
#    includes sampling, fingerprinting, predicting with the model, deciding
#    and writing limits every 5 s, and the final actual/error records and
#    history append; pidstat only reads and prints.
# Exit 0 (whatever the numbers), 2 when the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
reps=3
dur=25
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=${2:?--reps needs a count}; shift 2 ;;
    --dur) dur=${2:?--dur needs seconds}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run-loop: needs root (cgroups)" >&2; exit 2; }
for c in jq pidstat awk; do
    command -v "$c" >/dev/null || { echo "run-loop: needs $c (apt-get install jq sysstat)" >&2; exit 2; }
done
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "run-loop: no C compiler ($cc) for cputime.c" >&2; exit 2; }
# the real fp-run, not libtool's wrapper (whose start-up would be counted)
fpr=$top/bin/fp-run
if [ -x "$top/bin/.libs/fp-run" ] && grep -q libtool "$fpr" 2>/dev/null; then
    fpr=$top/bin/.libs/fp-run
    export LD_LIBRARY_PATH="$top/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
[ -x "$fpr" ] || { echo "run-loop: build first ($fpr missing)" >&2; exit 2; }
model=$top/share/fp/default-model.json

tmp=$(mktemp -d /tmp/fp-run-loop.XXXXXX)
bg=()
cgdirs=()
cleanup() {
    set +e
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${bg[@]}"; do wait "$p" 2>/dev/null; done
    for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
    # static_once runs in a subshell (process substitution), so its cgroups
    # never reach cgdirs: remove them by name ($$ is this script's pid there too)
    local b
    b=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
    [ -n "$b" ] && for d in "$b"/fpbench-static-$$-*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
"$cc" -O2 -std=c11 -o "$tmp/cputime" "$here/cputime.c"

# a 2 ms wait without a fork: read with a timeout on a pipe nobody writes
exec {nap}<> <(:)
nap() { read -r -t 0.002 -u "$nap" _ || true; }

# memory cgroup of a pid and its limit file: "DIR FILE"
memcg_of() {
    local line rel
    if line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$1/cgroup"); then
        rel=${line#*:*:}
        d=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
        echo "$d$rel memory.limit_in_bytes"
    else
        rel=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
        d=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
        echo "$d$rel memory.max"
    fi
}

med() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "run-loop: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $("$fpr" -V), $(pidstat -V 2>&1 | head -n 1)"

# ---- 1. time to limits ------------------------------------------------------
# fp_once W: one fp-run at window W; prints "delay_poll delay_record"
fp_once() {
    local w=$1 st="$tmp/start" out="$tmp/run.jsonl" pid wpid t0 cg file init v t1
    rm -f "$st"
    "$fpr" -w "$w" -m "$model" --history "$tmp/h" -- \
        bash -c "echo \$\$ \$EPOCHREALTIME > $st.tmp; mv $st.tmp $st; exec sleep $(awk -v w="$w" 'BEGIN { print w + 1.5 }')" \
        > "$out" 2> "$tmp/run.err" &
    pid=$!
    until [ -s "$st" ]; do nap; done
    read -r wpid t0 < "$st"
    read -r cg file < <(memcg_of "$wpid")
    read -r init < "$cg/$file"
    t1=
    while kill -0 "$pid" 2>/dev/null; do
        read -r v < "$cg/$file" 2>/dev/null || break
        if [ "$v" != "$init" ]; then t1=$EPOCHREALTIME; break; fi
        nap
    done
    wait "$pid" || { echo "run-loop: fp-run failed: $(cat "$tmp/run.err")" >&2; exit 2; }
    [ -n "$t1" ] || { echo "run-loop: the memory limit of $cg never changed ($(cat "$tmp/run.err"))" >&2; exit 2; }
    local rec
    rec=$(jq -r 'select(.type=="allocation" and .ok and .dry_run == false) | .ts_ms' "$out" | head -n 1)
    awk -v a="$t0" -v b="$t1" -v r="$rec" 'BEGIN { printf "%.4f %.4f\n", b - a, r / 1000 - a }'
}

# static_once: the static limit; prints "setup_s delay_s" (delay <= 0: in place before start)
static_once() {
    local st="$tmp/sstart" base d t0 t1 pid wpid ts cgnow lim
    base=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
    rm -f "$st"
    d=$base/fpbench-static-$$-$1
    t0=$EPOCHREALTIME
    mkdir "$d"
    cgdirs+=("$d")
    echo 268435456 > "$d/memory.limit_in_bytes"
    t1=$EPOCHREALTIME
    bash -c "echo \$\$ > $d/cgroup.procs; echo \$\$ \$EPOCHREALTIME > $st.tmp; mv $st.tmp $st; exec sleep 0.3" &
    pid=$!
    until [ -s "$st" ]; do nap; done
    read -r wpid ts < "$st"
    read -r cgnow _ < <(memcg_of "$wpid")
    read -r lim < "$cgnow/memory.limit_in_bytes"
    wait "$pid"
    [ "$cgnow" = "$d" ] && [ "$lim" = 268435456 ] || { echo "run-loop: static: $wpid in $cgnow (limit $lim), not $d" >&2; exit 2; }
    awk -v a="$t0" -v b="$ts" -v c="$t1" 'BEGIN { printf "%.4f %.4f\n", b - a, c - b }'
}

printf '\n1. time from workload start to limit in effect (memory limit file polled every 2 ms)\n'
printf '%-34s %10s %10s %10s   %s\n' case median_s min_s max_s "per run (poll / allocation record)"
declare -A med_of
for w in 2 0.5; do
    vals=() recs=()
    for ((i = 0; i < reps; i++)); do
        read -r a b < <(fp_once "$w")
        vals+=("$a") recs+=("$a/$b")
    done
    m=$(printf '%s\n' "${vals[@]}" | med)
    med_of[$w]=$m
    printf '%-34s %10.4f %10.4f %10.4f   %s\n' "fp-run -w $w (default model)" "$m" \
        "$(printf '%s\n' "${vals[@]}" | sort -g | head -n 1)" "$(printf '%s\n' "${vals[@]}" | sort -g | tail -n 1)" "${recs[*]}"
done
svals=() sdel=()
for ((i = 0; i < reps; i++)); do
    read -r a b < <(static_once "$i")
    svals+=("$a") sdel+=("$b")
done
sm=$(printf '%s\n' "${svals[@]}" | med)
printf '%-34s %10s %10s %10s   limit in place %s s before start\n' "static limit (mkdir+write+exec)" 0 0 0 \
    "$(printf '%s\n' "${sdel[@]}" | awk '{ printf "%s%.4f", (NR > 1 ? "/" : ""), -$1 }')"
printf '%-34s %10.4f %10.4f %10.4f\n' "  static setup before start" "$sm" \
    "$(printf '%s\n' "${svals[@]}" | sort -g | head -n 1)" "$(printf '%s\n' "${svals[@]}" | sort -g | tail -n 1)"
for w in 2 0.5; do
    awk -v f="${med_of[$w]}" -v s="$sm" -v w="$w" 'BEGIN {
        printf "ratio fp-run -w %s delay / static setup: %.0fx  (fp delay %.4f s = window %s s + %.4f s of its own; static: 0 s after start, %.4f s of setup before it)\n",
               w, f / s, f, w, f - w, s }'
done

# ---- 2. CPU per workload-hour -----------------------------------------------
printf '\n2. CPU cost of the loop itself over a %s s workload (sleep), per workload-hour\n' "$dur"
"$tmp/cputime" "$tmp/c_fp1" "$fpr" -i 1 --every 5 -m "$model" --history "$tmp/h" -- sleep "$dur" > "$tmp/fp1.jsonl" 2>"$tmp/fp1.err" &
bg+=($!)
"$tmp/cputime" "$tmp/c_fp05" "$fpr" -i 0.5 --every 5 -m "$model" --history "$tmp/h" -- sleep "$dur" > "$tmp/fp05.jsonl" 2>"$tmp/fp05.err" &
bg+=($!)
sleep "$dur" &
wpid=$!
bg+=($wpid)
"$tmp/cputime" "$tmp/c_ps" pidstat -p "$wpid" 1 "$dur" > "$tmp/ps.out" 2>&1 &
bg+=($!)
for p in "${bg[@]}"; do wait "$p" || true; done
bg=()
for f in c_fp1 c_fp05 c_ps; do
    [ -s "$tmp/$f" ] || { echo "run-loop: no CPU measurement in $f" >&2; exit 2; }
done
[ "$(awk '{print $6}' "$tmp/c_fp1")" = 0 ] && [ "$(awk '{print $6}' "$tmp/c_fp05")" = 0 ] ||
    { echo "run-loop: fp-run failed: $(cat "$tmp/fp1.err" "$tmp/fp05.err")" >&2; exit 2; }
n_pred=$(jq -s 'map(select(.type=="prediction")) | length' "$tmp/fp1.jsonl")
n_ps=$(grep -c ' sleep$' "$tmp/ps.out" || true)
printf '%-32s %10s %10s %12s %16s\n' tool cpu_s wall_s cpu_%_1core cpu_s_per_wl_h
row() { awk -v n="$1" '{ printf "%-32s %10.4f %10.2f %12.4f %16.2f\n", n, $1, $4, 100 * $1 / $4, 3600 * $1 / $4 }' "$2"; }
row "fp-run -i 1 --every 5" "$tmp/c_fp1"
row "fp-run -i 0.5 --every 5" "$tmp/c_fp05"
row "pidstat -p PID 1" "$tmp/c_ps"
awk -v a="$(awk '{print 3600*$1/$4}' "$tmp/c_fp1")" -v b="$(awk '{print 3600*$1/$4}' "$tmp/c_fp05")" \
    -v p="$(awk '{print 3600*$1/$4}' "$tmp/c_ps")" -v np="$n_pred" -v ns="$n_ps" 'BEGIN {
    printf "ratio fp-run -i 1 / pidstat 1: %.2fx   fp-run -i 0.5 / pidstat 1: %.2fx\n", a / p, b / p
    printf "(fp-run -i 1 made %d predictions; pidstat printed %d reports)\n", np, ns }'
