#!/usr/bin/env bash
# eval-traces.sh - fp's predictions scored on the real traces (issue 4,
# "Evaluation on the real traces"), beside the baselines, in one run.
#
# Run by hand (not part of `make check`), from a built tree:
#
#   tests/bench/eval-traces.sh [--eager DIR] [--bitbrains DIR] [--window S]
#       [--jobs N] [--quick] [--out DIR] [--only eager|bitbrains]
#       [--vm-step K]
#
#   --eager DIR      nf-core/eager traces (PROCESS/TASK_{cpu,memory,metadata}.csv.gz);
#                    default $(top)/../shared/data/eager
#   --bitbrains DIR  Bitbrains VMs (ID.csv.gz); default
#                    $(top)/../shared/data/bitbrains-rnd/2013-7
#   --window S       eager static: the early window, seconds (default 30)
#   --jobs N         parallel replays and folds (default: the CPUs, at most 4)
#   --quick          a deterministic subset for a fast look (a quarter of the
#                    DA groups by hash, every 8th VM); labelled QUICK
#   --out DIR        keep the intermediate records (models, predictions,
#                    allocations, scores) in DIR
#   --only WHAT      score one trace only
#   --vm-step K      Bitbrains: every K-th VM by sorted file name (default 1:
#                    all)
#
# Protocol (the issue's, exactly; choices marked *):
# eager static  every task with series (a task with metadata only is
#   skipped and counted) is replayed (fp-capture --replay -w S --no-samples)
#   for a fingerprint of its first S seconds (metadata included) and its
#   actual. * Cross-validation over input samples: the DA number in the task
#   name is the group (a task without one is its own group), a group's fold
#   is a polynomial hash of its name mod 3, and every task is predicted by
#   models trained on the other two folds only (fp-train --group-by
#   'meta.task~DA[0-9]+', so its early stopping split is by DA too). The
#   allocation (one mem_bytes quantile) is held for the task's whole life,
#   its first S seconds included, and scored by fp-diff on the task's
#   samples: waste = sum max(alloc - use, 0) x dt (GB.h, 1 GB = 1e9 B),
#   a failed task = any sample with use > alloc. Rows: the user's request
#   (max_mem), the per-process history baseline (* p95, linear
#   interpolation, of the peaks of the same process's tasks in the training
#   folds, x 1.15; a process with no training task falls back to the
#   request), the oracle (the task's own peak), fp linear and knn at p50,
#   p90, p99. A task shorter than S is fingerprinted over its whole life
#   (fp-capture's rule), so it is sized from all of it.
# eager dynamic  the same tasks and folds; fp-train --from-samples (fp's
#   defaults: a checkpoint every 10 s, target the peak over the next 60 s)
#   on the other folds' sample streams (replayed with -w 0, so the metadata
#   is known from the first sample), fp-predict every 10 s on the task's own
#   stream (seeing only its past), and fp-apply's memory policy
#   (tests/bench/eval-dynamic.awk: p99 x 1.15 of every prediction still
#   covering the moment, usage x 1.1 + 32 MiB as a floor, 10% hysteresis,
#   gentle shrinks); the allocation decided after a sample applies from the
#   next one; before the first prediction the task has its request. Scored
#   by fp-diff exactly as above; compared with the static oracle.
# Bitbrains  each VM replayed (-w 0) in time order; every 3600 s of its time
#   (fp-predict --every 3600: at its first sample at or after each hour) a
#   policy seeing only the past sets the allocation until the next hour;
#   samples of the first 24 h are not scored (they still feed the models);
#   slack = sum max(alloc - use, 0) / sum alloc, violation = share of
#   samples with use > alloc (fp-diff's slack and under_rate). Rows:
#   provisioned (the VM's cores and memory from the trace: * the first
#   non-zero row, as fp-capture's meta), VPA and Autopilot (fp's history
#   models fed the VM's samples, their target p90), fp (* 2-fold
#   cross-validation over VMs by name hash: fp-train --from-samples --every
#   3600 --horizon 3600 on the other fold, fp-predict --every 3600 on the
#   VM), and the oracle (the next hour's maximum). A VM row with 0 cores has
#   no cpu_cores; such samples are not scored for CPU by any policy.
# Goals (ratios against the baselines of the same run): eager static: fp
# at no more failed tasks than the history baseline and at most 0.85x its
# waste; eager dynamic: less waste than the static oracle with at most 1% of
# the tasks failed; Bitbrains: fp at no more violations than the VPA and at
# most 0.75x its slack, for CPU and for memory. Exit 0 whether met or not;
# 2 when the traces are absent or the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
eager=$top/../shared/data/eager
bb=$top/../shared/data/bitbrains-rnd/2013-7
window=30
jobs=$(nproc 2>/dev/null || echo 2); [ "$jobs" -gt 4 ] && jobs=4
quick=0
out=
only=
vmstep=1
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "eval-traces: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --eager) eager=${2:?--eager needs a directory}; shift 2 ;;
    --bitbrains) bb=${2:?--bitbrains needs a directory}; shift 2 ;;
    --window) window=${2:?--window needs seconds}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a count}; shift 2 ;;
    --quick) quick=1; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --only) only=${2:?--only needs eager or bitbrains}; shift 2 ;;
    --vm-step) vmstep=${2:?--vm-step needs a count}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
case $only in ''|eager|bitbrains) ;; *) die "--only: eager or bitbrains, not $only" ;; esac
[[ $window =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--window: seconds, not $window"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs: a count, not $jobs"
[[ $vmstep =~ ^[1-9][0-9]*$ ]] || die "--vm-step: a count, not $vmstep"
do_eager=1; do_bb=1
[ "$only" = bitbrains ] && do_eager=0
[ "$only" = eager ] && do_bb=0
if [ $do_eager = 1 ] && ! [ -d "$eager" ]; then
    die "no nf-core/eager traces at $eager (give --eager DIR; see ../shared/data/README.md)"
fi
if [ $do_bb = 1 ] && ! [ -d "$bb" ]; then
    die "no Bitbrains traces at $bb (give --bitbrains DIR; see ../shared/data/README.md)"
fi
for t in fp-capture fp-train fp-predict fp-diff; do
    [ -x "$top/bin/$t" ] || die "build first ($top/bin/$t missing)"
done
for c in jq awk; do command -v $c >/dev/null || die "needs $c"; done
CAP=$top/bin/fp-capture TRAIN=$top/bin/fp-train PRED=$top/bin/fp-predict DIFF=$top/bin/fp-diff
export CAP

if [ -n "$out" ]; then
    mkdir -p "$out" || die "cannot create $out"
    tmp=$(cd "$out" && pwd)
else
    tmp=$(mktemp -d /tmp/fp-eval.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
fi
export SOURCE_DATE_EPOCH=0
T0=$(date +%s)
log() { echo "eval-traces: [$(( $(date +%s) - T0 ))s] $*" >&2; }

# hash NAME... -> "NAME<TAB>h" (deterministic, platform-independent)
HASH_AWK='BEGIN { for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i }
function h(s,   i, v) { v = 7; for (i = 1; i <= length(s); i++) v = (v * 31 + ord[substr(s, i, 1)]) % 1000003; return v }'

# run jobs from a file of commands, $jobs at a time; fail if one fails
par() { xargs -d '\n' -P "$jobs" -n 1 bash -o pipefail -c < "$1"; }

verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }

echo "fp evaluation on real traces ($(date -u +%Y-%m-%dT%H:%MZ), fp $("$CAP" -V 2>/dev/null | head -1 | awk '{print $NF}'), $(nproc) CPUs, --jobs $jobs)"
[ $quick = 1 ] && echo "*** QUICK RUN: a deterministic subset (a quarter of the DA groups, every 8th VM); not the full evaluation ***"
echo "Traces (cite them with the results):"
[ $do_eager = 1 ] && echo "  nf-core/eager: J. Bader, N. Diedrich, L. Thamsen, O. Kao, \"Predicting Dynamic Memory Requirements for Scientific Workflow Tasks\", IEEE BigData 2023 (github.com/long2mao1/k-segments-traces, eager/), read from $eager"
[ $do_bb = 1 ] && echo "  Bitbrains Rnd: S. Shen, V. van Beek, A. Iosup, \"Statistical Characterization of Business-Critical Workloads Hosted in Cloud Datacenters\", IEEE/ACM CCGrid 2015; Grid Workloads Archive GWA-T-12 (rnd/2013-7), read from $bb"

# ====================================================================== eager
eager_run() {
    local K=3 d=$tmp/eager
    mkdir -p "$d/st" "$d/dy"
    # tasks: every *_cpu.csv.gz (its memory and metadata files beside it)
    find "$eager" -name '*_cpu.csv.gz' | LC_ALL=C sort > "$d/files"
    local nmeta; nmeta=$(find "$eager" -name '*_metadata.csv.gz' | wc -l)
    # group (DA number, else the task) and fold; --quick keeps groups with hash % 4 == 0
    awk -v K=$K -v quick=$quick "$HASH_AWK"'
        { f = $0; n = split(f, p, "/"); task = p[n]; sub(/_cpu\.csv\.gz$/, "", task)
          g = task; if (match(task, /DA[0-9]+/)) g = substr(task, RSTART, RLENGTH)
          hv = h(g); if (quick && hv % 4 != 0) next
          printf "%d\t%s\t%d\t%s\n", ++i, g, hv % K, f }' "$d/files" > "$d/tasks.tsv"
    local ntask; ntask=$(wc -l < "$d/tasks.tsv")
    [ "$ntask" -gt 0 ] || die "no *_cpu.csv.gz task under $eager"
    log "eager: replaying $ntask tasks ($jobs jobs)"
    eager_replay() {   # INDEX: the task on that line of tasks.tsv
        local f; f=$(awk -F'\t' -v i="$1" '$1 == i { print $4; exit }' "$ED/tasks.tsv")
        "$CAP" --replay "$f" -w "$window" --no-samples > "$ED/st/$1.jsonl" &&
            "$CAP" --replay "$f" -w 0 | awk -f "$here/eval-compact.awk" > "$ED/dy/$1.jsonl"
    }
    export -f eager_replay; export ED=$d window here
    cut -f1 "$d/tasks.tsv" | sed 's/^/eager_replay /' > "$d/replay.cmds"
    par "$d/replay.cmds" || die "eager: a replay failed"
    # per task: id, process, request, peak, fold (from the actual records)
    for k in $(seq 0 $((K - 1))); do
        awk -F'\t' -v k=$k -v d="$d" '$3 == k { print d "/st/" $1 ".jsonl" }' "$d/tasks.tsv" | xargs -r cat > "$d/st$k.jsonl"
        awk -F'\t' -v k=$k -v d="$d" '$3 == k { print d "/dy/" $1 ".jsonl" }' "$d/tasks.tsv" | xargs -r cat > "$d/dy$k.jsonl"
        grep '"type":"actual"' "$d/st$k.jsonl" | jq -r --arg k $k '[.id, .meta.process, (.meta.req_mem_bytes // "null"), (.mem_bytes_peak // "null"), $k] | @tsv'
    done > "$d/actuals.tsv"
    cat "$d"/dy[0-9].jsonl | grep '"type":"sample"' > "$d/samples.jsonl"
    local nscored; nscored=$(wc -l < "$d/actuals.tsv")
    local nsamp; nsamp=$(wc -l < "$d/samples.jsonl")
    rm -rf "$d/st" "$d/dy"

    # ---- baselines as one-quantile predictions (p90 key, scored with -q p90)
    pred1() { awk -F'\t' '$2 != "" && $2 != "null" { printf "{\"schema\":1,\"type\":\"prediction\",\"id\":\"%s\",\"t\":0,\"model\":\"%s\",\"horizon_s\":0,\"quantiles\":{\"mem_bytes\":{\"p90\":%s}},\"missing\":{}}\n", $1, m, $2 }' m="$1"; }
    cut -f1,3 "$d/actuals.tsv" | pred1 request > "$d/p-request.jsonl"
    cut -f1,4 "$d/actuals.tsv" | pred1 oracle > "$d/p-oracle.jsonl"
    # history: p95 (linear interpolation) of the same process's peaks in the other folds, x 1.15
    awk -F'\t' -v K=$K '
        FNR == NR { if ($4 != "null") { n[$2, $5]++; v[$2, $5, n[$2, $5]] = $4 }; next }
        { c = 0; for (k = 0; k < K; k++) if (k != $5) for (i = 1; i <= n[$2, k]; i++) x[++c] = v[$2, k, i]
          if (c == 0) { print $1 "\t" $3; nfb++; next }
          for (i = 2; i <= c; i++) { y = x[i]; for (j = i - 1; j >= 1 && x[j] > y; j--) x[j + 1] = x[j]; x[j + 1] = y }
          r = (c - 1) * 0.95; lo = int(r) + 1; fr = r - int(r)
          q = (lo < c) ? x[lo] + fr * (x[lo + 1] - x[lo]) : x[c]
          printf "%s\t%.0f\n", $1, q * 1.15 }
        END { print nfb + 0 > "/dev/stderr" }' "$d/actuals.tsv" "$d/actuals.tsv" 2> "$d/hist-fallback" | pred1 history > "$d/p-history.jsonl"

    # ---- fp static: linear and knn per fold, trained on the other folds
    : > "$d/train.cmds"
    for k in $(seq 0 $((K - 1))); do
        local others=""; for j in $(seq 0 $((K - 1))); do [ $j != $k ] && others="$others $d/st$j.jsonl"; done
        for m in linear knn; do
            echo "\"$TRAIN\" -q -M $m --group-by 'meta.task~DA[0-9]+' --seed 1 --window $window -o $d/$m$k.json $others && \"$PRED\" -m $d/$m$k.json --no-pass $d/st$k.jsonl | grep '\"type\":\"prediction\"' > $d/p-$m$k.jsonl" >> "$d/train.cmds"
        done
    done
    # dynamic models: from the other folds' sample streams (fp-train's defaults: every 10 s, horizon 60 s)
    for k in $(seq 0 $((K - 1))); do
        local others=""; for j in $(seq 0 $((K - 1))); do [ $j != $k ] && others="$others $d/dy$j.jsonl"; done
        echo "\"$TRAIN\" -q --from-samples --group-by 'meta.task~DA[0-9]+' --seed 1 -o $d/dyn$k.json $others && \"$PRED\" -m $d/dyn$k.json --every 10 $d/dy$k.jsonl > $d/s-dyn$k.jsonl" >> "$d/train.cmds"
    done
    log "eager: training and predicting, $K folds over DA groups"
    export TRAIN PRED
    par "$d/train.cmds" || die "eager: fp-train or fp-predict failed"
    for m in linear knn; do cat "$d"/p-$m[0-9].jsonl > "$d/p-$m.jsonl"; done

    log "eager: scoring with fp-diff"
    # static rows: NAME PREDFILE QUANTILE
    {
        echo "request p-request p90 user's request (max_mem)"
        echo "history p-history p90 per-process history p95 x1.15"
        echo "oracle p-oracle p90 oracle (the task's own peak)"
        for m in linear knn; do for q in p50 p90 p99; do echo "$m-$q p-$m $q fp $m $q"; done; done
    } > "$d/rows"
    while read -r name file q label; do
        echo "\"$DIFF\" --no-pass --tolerance 1000 --join -q $q $d/$file.jsonl $d/samples.jsonl | grep '\"type\":\"score\"' > $d/score-$name.json"
    done < "$d/rows" > "$d/score.cmds"
    # dynamic: allocations from the prediction stream, scored on the samples
    cut -f1,3 "$d/actuals.tsv" > "$d/req.tsv"
    echo "cat $d/s-dyn[0-9].jsonl | awk -v H=60 -v Q=p99 -v HEAD=1.15 -f $here/eval-dynamic.awk $d/req.tsv - > $d/a-dyn.jsonl && \"$DIFF\" --no-pass --tolerance 1000 $d/a-dyn.jsonl | grep '\"type\":\"score\"' > $d/score-dyn.json" >> "$d/score.cmds"
    export DIFF
    par "$d/score.cmds" || die "eager: fp-diff failed"
    [ -n "$out" ] || rm -f "$d"/dy[0-9].jsonl "$d"/s-dyn[0-9].jsonl "$d/a-dyn.jsonl"

    field() { jq -r ".samples | $2" "$d/score-$1.json"; }
    echo
    echo "== nf-core/eager, static: memory sized from metadata + the first ${window} s, held for the task's life"
    echo "   $nscored tasks with series scored ($((nmeta - $(wc -l < "$d/files"))) with metadata only skipped), $nsamp samples; 3-fold cross-validation over DA groups (each task predicted by models that never saw its input sample); history fallback to the request for $(cat "$d/hist-fallback") task(s) whose process has no task in the training folds"
    printf '   %-36s %8s %8s %12s %9s\n' policy samples failed "waste GB.h" unmatched
    local hf hw
    hf=$(field history .failed); hw=$(field history .wasted_gb_h)
    while read -r name file q label; do
        printf '   %-36s %8s %8s %12.1f %9s\n' "$label" "$(field "$name" .n)" \
            "$(field "$name" .failed)" "$(field "$name" .wasted_gb_h)" "$(field "$name" .unmatched)"
    done < "$d/rows"
    echo "   (samples: scored; unmatched: samples of tasks without a prediction; failed: tasks with any sample above the allocation)"
    echo "   Goal: at no more failed tasks than the history baseline ($hf), at most 0.85x its waste ($(awk -v w="$hw" 'BEGIN{printf "%.1f", w * 0.85}') GB.h):"
    for m in linear knn; do for q in p50 p90 p99; do
        local f w ok
        f=$(field $m-$q .failed); w=$(field $m-$q .wasted_gb_h)
        ok=$(awk -v f="$f" -v w="$w" -v hf="$hf" -v hw="$hw" 'BEGIN { print (f <= hf && w <= 0.85 * hw) ? 1 : 0 }')
        printf '     fp %-6s %s: failed %s vs %s, waste %.3fx history -> %s\n' $m $q "$f" "$hf" "$(awk -v w="$w" -v hw="$hw" 'BEGIN{print w / hw}')" "$(verdict "$ok")"
    done; done

    local of ow df dw
    of=$(field oracle .failed); ow=$(field oracle .wasted_gb_h)
    df=$(field dyn .failed); dw=$(field dyn .wasted_gb_h)
    echo
    echo "== nf-core/eager, dynamic: the allocation follows fp's continuous predictions (raises at once)"
    echo "   the same $nscored tasks and folds; fp-train --from-samples (checkpoint every 10 s, peak over the next 60 s), fp-predict --every 10, fp-apply's memory policy (p99 x1.15 over the predictions still in their horizon, usage x1.1 + 32 MiB floor, 10% hysteresis, shrinks <= 25% per 10 s)"
    printf '   %-36s %8s %8s %12s %9s\n' policy samples failed "waste GB.h" unmatched
    printf '   %-36s %8s %8s %12.1f %9s\n' "static oracle (each task its own peak)" "$(field oracle .n)" "$of" "$ow" "$(field oracle .unmatched)"
    printf '   %-36s %8s %8s %12.1f %9s\n' "fp dynamic (linear, p99 x1.15)" "$(field dyn .n)" "$df" "$dw" "$(field dyn .unmatched)"
    echo "   Goal: less waste than the static oracle ($(printf %.1f "$ow") GB.h) with at most 1% of the tasks failed ($(awk -v n="$nscored" 'BEGIN{printf "%d", n * 0.01}') of $nscored):"
    local ok
    ok=$(awk -v f="$df" -v w="$dw" -v ow="$ow" -v n="$nscored" 'BEGIN { print (w < ow && f <= 0.01 * n) ? 1 : 0 }')
    printf '     fp dynamic: waste %.3fx the static oracle, %s failed (%.2f%%) -> %s\n' "$(awk -v w="$dw" -v ow="$ow" 'BEGIN{print w / ow}')" "$df" "$(awk -v f="$df" -v n="$nscored" 'BEGIN{print 100 * f / n}')" "$(verdict "$ok")"
}

# ================================================================== Bitbrains
bb_run() {
    local K=2 d=$tmp/bitbrains step=$vmstep
    [ $quick = 1 ] && step=$((vmstep * 8))
    mkdir -p "$d/vm"
    find "$bb" -maxdepth 1 -name '*.csv.gz' | LC_ALL=C sort > "$d/all"
    local nall; nall=$(wc -l < "$d/all")
    [ "$nall" -gt 0 ] || die "no *.csv.gz VM under $bb"
    awk -v s=$step -v K=$K "$HASH_AWK"'
        (NR - 1) % s == 0 { n = split($0, p, "/"); vm = p[n]; sub(/\.csv\.gz$/, "", vm)
                            printf "%d\t%s\t%d\t%s\n", NR, vm, h(vm) % K, $0 }' "$d/all" > "$d/vms.tsv"
    local nvm; nvm=$(wc -l < "$d/vms.tsv")
    log "bitbrains: replaying $nvm of $nall VMs ($jobs jobs)"
    bb_replay() {
        local f; f=$(awk -F'\t' -v i="$1" '$1 == i { print $4; exit }' "$BD/vms.tsv")
        "$CAP" --replay "$f" -w 0 | awk -f "$here/eval-compact.awk" > "$BD/vm/$1.jsonl"
    }
    export -f bb_replay; export BD=$d here
    cut -f1 "$d/vms.tsv" | sed 's/^/bb_replay /' > "$d/replay.cmds"
    par "$d/replay.cmds" || die "bitbrains: a replay failed"
    for k in $(seq 0 $((K - 1))); do
        awk -F'\t' -v k=$k -v d="$d" '$3 == k { print d "/vm/" $1 ".jsonl" }' "$d/vms.tsv" | xargs -r cat > "$d/f$k.jsonl"
    done
    rm -rf "$d/vm"
    # history models start empty (trained on one sample of a workload that is not a VM)
    echo '{"schema":1,"type":"sample","id":"eval-traces/none","t":0,"ts_ms":0,"cpu_cores":0.1,"mem_bytes":100000000}' > "$d/none.jsonl"
    "$TRAIN" -q -M vpa -o "$d/vpa.json" "$d/none.jsonl"
    "$TRAIN" -q -M autopilot -o "$d/autopilot.json" "$d/none.jsonl"
    : > "$d/train.cmds"
    for m in vpa autopilot; do
        for k in $(seq 0 $((K - 1))); do
            echo "\"$PRED\" -m $d/$m.json --every 3600 $d/f$k.jsonl > $d/s-$m$k.jsonl" >> "$d/train.cmds"
        done
    done
    for k in $(seq 0 $((K - 1))); do
        local others=""; for j in $(seq 0 $((K - 1))); do [ $j != $k ] && others="$others $d/f$j.jsonl"; done
        echo "\"$TRAIN\" -q --from-samples --every 3600 --horizon 3600 --seed 1 -o $d/fp$k.json $others && \"$PRED\" -m $d/fp$k.json --every 3600 $d/f$k.jsonl > $d/s-fp$k.jsonl" >> "$d/train.cmds"
    done
    log "bitbrains: VPA, Autopilot, fp ($K folds over VMs)"
    export TRAIN PRED
    par "$d/train.cmds" || die "bitbrains: fp-train or fp-predict failed"
    # provisioned: one allocation per VM from its meta; oracle: the next hour's max
    cat "$d"/f[0-9].jsonl | awk '
        function num(key,   n, s) { n = length(key) + 3
            if (match($0, "\"" key "\":[^,}]*")) { s = substr($0, RSTART + n, RLENGTH - n); return s == "null" ? "" : s }
            return "" }
        index($0, "\"type\":\"fingerprint\"") {
            match($0, /"id":"[^"]*"/); id = substr($0, RSTART + 6, RLENGTH - 7)
            c = num("req_cpus"); m = num("req_mem_bytes")
            printf "{\"schema\":1,\"type\":\"prediction\",\"id\":\"%s\",\"t\":0,\"model\":\"provisioned\",\"horizon_s\":0,\"quantiles\":{\"cpu_cores\":%s,\"mem_bytes\":%s},\"missing\":{}}\n",
                id, (c == "" ? "null" : "{\"p90\":" c "}"), (m == "" ? "null" : "{\"p90\":" m "}") }' > "$d/p-prov.jsonl"
    cat "$d"/s-vpa[0-9].jsonl | awk -f "$here/eval-oracle.awk" > "$d/s-oracle.jsonl"
    # drop the samples of each VM's first 24 h (they fed the models, they are not scored)
    skip24='index($0, "\"type\":\"sample\"") { if (match($0, /"t":[^,}]*/) && substr($0, RSTART + 4, RLENGTH - 4) + 0 < 86400) next } { print }'
    {
        echo "prov provisioned capacity|p90|cat $d/p-prov.jsonl $d/f[0-9].jsonl"
        echo "vpa VPA (target p90)|p90|cat $d/s-vpa[0-9].jsonl"
        echo "autopilot Autopilot (p90)|p90|cat $d/s-autopilot[0-9].jsonl"
        echo "fp-p90 fp linear p90|p90|cat $d/s-fp[0-9].jsonl"
        echo "fp-p99 fp linear p99|p99|cat $d/s-fp[0-9].jsonl"
        echo "oracle oracle (next hour's max)|p90|cat $d/s-oracle.jsonl"
    } > "$d/rows"
    while IFS='|' read -r name q src; do
        echo "$src | awk '$skip24' | \"$DIFF\" --no-pass --tolerance 1000 -q $q | grep '\"type\":\"score\"' > $d/score-${name%% *}.json"
    done < "$d/rows" > "$d/score.cmds"
    log "bitbrains: scoring with fp-diff"
    export DIFF
    par "$d/score.cmds" || die "bitbrains: fp-diff failed"
    [ -n "$out" ] || rm -f "$d"/s-*.jsonl "$d"/f[0-9].jsonl

    echo
    echo "== Bitbrains Rnd: hourly allocations from the past only, first 24 h of each VM not scored"
    if [ "$step" -gt 1 ]; then
        echo "   SUBSET: every ${step}th VM by sorted file name ($nvm of $nall VMs)"
    else
        echo "   all $nvm VMs"
    fi
    echo "   fp: fp-train --from-samples --every 3600 --horizon 3600 on the other half of the VMs (2-fold cross-validation by VM), fp-predict --every 3600"
    local r res label
    for res in cpu mem; do
        if [ $res = cpu ]; then label="CPU (cores = usage MHz / (provisioned MHz / cores))"; else label="memory"; fi
        echo "   -- $label"
        printf '   %-32s %9s %9s %11s\n' policy samples slack violations
        while IFS='|' read -r name q src; do
            local n=${name%% *} l=${name#* } key=${res}_cores
            [ $res = mem ] && key=mem_bytes
            printf '   %-32s %9s %9.4f %11.4f\n' "$l" \
                "$(jq -r ".samples.resources.$key.n_alloc // 0" "$d/score-$n.json")" \
                "$(jq -r ".samples.resources.$key.slack // \"nan\"" "$d/score-$n.json")" \
                "$(jq -r ".samples.resources.$key.under_rate // \"nan\"" "$d/score-$n.json")"
        done < "$d/rows"
    done
    echo "   Goal: at no more violations than the VPA, at most 0.75x its slack, for CPU and for memory:"
    local p key vs vv fs fv ok
    for p in fp-p90 fp-p99; do
        for key in cpu_cores mem_bytes; do
            vs=$(jq -r ".samples.resources.$key.slack" "$d/score-vpa.json"); vv=$(jq -r ".samples.resources.$key.under_rate" "$d/score-vpa.json")
            fs=$(jq -r ".samples.resources.$key.slack" "$d/score-$p.json"); fv=$(jq -r ".samples.resources.$key.under_rate" "$d/score-$p.json")
            ok=$(awk -v fs="$fs" -v fv="$fv" -v vs="$vs" -v vv="$vv" 'BEGIN { print (fv <= vv && fs <= 0.75 * vs) ? 1 : 0 }')
            printf '     %s %-9s: violations %.4f vs VPA %.4f, slack %.3fx VPA -> %s\n' "$p" "$key" "$fv" "$vv" "$(awk -v a="$fs" -v b="$vs" 'BEGIN{print a / b}')" "$(verdict "$ok")"
        done
    done
}

[ $do_eager = 1 ] && eager_run
[ $do_bb = 1 ] && bb_run
echo
echo "done in $(( $(date +%s) - T0 )) s"
