#!/usr/bin/env bash
# eval-traces.sh - fp's predictions scored on the real traces (issue 4,
# "Evaluation on the real traces"), beside the baselines, in one run.
#
# Run by hand (not part of `make check`), from a built tree:
#
#   tests/bench/eval-traces.sh [--eager DIR] [--bitbrains DIR] [--window S]
#       [--jobs N] [--quick] [--out DIR] [--only eager|bitbrains]
#       [--vm-step K] [--seq LIST] [--no-auto] [--auto-dynamic]
#       [--scores FILE] [--bb-knn] [--reuse]
#       [PART...]
#
#   PART             eager-static, eager-dynamic, bitbrains or all (default:
#                    all); several may be named
#   --seq LIST       the sequence models to add, comma-separated, from lstm,
#                    gru, transformer (default: all three); none: no
#                    sequence model
#   --no-auto        no `fp-train --model auto` row in eager static
#   --auto-dynamic   an auto row in eager dynamic too (slow: its knn
#                    candidate scores ~20k held-out checkpoints against
#                    ~80k stored ones, 692 features each)
#   --bb-knn         Bitbrains: a knn row too (slow on all VMs: every
#                    prediction scans the other fold's checkpoints)
#   --scores FILE    also write every row's fp-diff score record to FILE
#                    (JSON lines, man/fp-records.5 `score`, plus "part",
#                    "model" (the row's label), "row" and, for the memory
#                    and CPU rows of Bitbrains, "resource"), for
#                    tests/bench/report.sh's charts
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
#   --reuse          with --out: eager tasks an interrupted run already
#                    replayed into DIR (a fingerprint file with its actual
#                    and a sample file) are not replayed again
#   --only WHAT      score one trace only (eager: both eager parts)
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
#   (fp-capture's rule), so it is sized from all of it. History as a
#   prior: linear and knn are predicted twice from the same models, with
#   their per-key prior (fp-train's default --prior train; key
#   meta.process, filled from the training folds only) and without it
#   (fp-predict --no-prior: the rows "fp linear", "fp knn"); the +prior
#   rows' goal is the per-process history baseline's failed tasks and
#   waste (not x0.85): at least as good as history alone.
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
# Sequence models (fp-train --model lstm|gru|transformer, man/fp-train.1,
#   "Sequence models"), in every part, beside linear and knn, with the same
#   folds, scoring and rows; modest sizes so that a full run fits in about
#   25 minutes on 2 CPUs: --hidden 16 --max-steps 32 --threads 2 (and
#   --ctx 32 for the transformer), --seed 1. They read the samples only (no
#   metadata, no request). eager static: trained from the other folds'
#   fingerprints (--window S), actuals and samples (each example: the
#   task's samples up to its fingerprint's t, target its lifetime peak);
#   predicted by fp-predict from the task's own samples up to that same t
#   (--first-at 0 --every 0.001: the state after its last sample counts),
#   the prediction held for the task's life; default epochs (200) and
#   patience. eager dynamic: --from-samples (every 10 s, next 60 s) on the
#   other folds' streams, --epochs 3, fp-predict --every 10 on the task's
#   samples, the same memory policy. Bitbrains: --from-samples --every 3600
#   --horizon 3600 on the other fold, --epochs 3 --max-steps 24 (2 h),
#   fp-predict --every 3600. --model auto (the candidates linear, knn and
#   the three sequence models, chosen on a held-out share of the DA
#   groups, with the same options as the sequence models of that part; the
#   winner of each fold is printed) for eager static; in eager dynamic only
#   with --auto-dynamic, never for Bitbrains (their knn candidate is too
#   slow for this run).
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
seqm="lstm gru transformer"
auto=1
auto_dy=0
scores=
parts=
bbknn=0
reuse=0
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
    --seq) seqm=${2?--seq needs a list}; shift 2 ;;
    --no-auto) auto=0; shift ;;
    --auto-dynamic) auto_dy=1; shift ;;
    --scores) scores=${2:?--scores needs a file}; shift 2 ;;
    --bb-knn) bbknn=1; shift ;;
    --reuse) reuse=1; shift ;;
    -h|--help) usage; exit 0 ;;
    eager-static|eager-dynamic|bitbrains|all) parts="$parts $1"; shift ;;
    *) usage >&2; exit 2 ;;
    esac
done
case $only in ''|eager|bitbrains) ;; *) die "--only: eager or bitbrains, not $only" ;; esac
seqm=$(echo "$seqm" | tr ',' ' ')
[ "$seqm" = none ] && seqm=
tfnote=""; [[ " $seqm " == *" transformer "* ]] && tfnote=", transformer --ctx 32"
for m in $seqm; do
    case $m in lstm|gru|transformer) ;; *) die "--seq: lstm, gru, transformer or none, not $m" ;; esac
done
[[ $window =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--window: seconds, not $window"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs: a count, not $jobs"
[[ $vmstep =~ ^[1-9][0-9]*$ ]] || die "--vm-step: a count, not $vmstep"
do_st=1; do_dy=1; do_bb=1
[ "$only" = bitbrains ] && { do_st=0; do_dy=0; }
[ "$only" = eager ] && do_bb=0
if [ -n "$parts" ] && ! [[ " $parts " == *" all "* ]]; then
    [[ " $parts " == *" eager-static "* ]] || do_st=0
    [[ " $parts " == *" eager-dynamic "* ]] || do_dy=0
    [[ " $parts " == *" bitbrains "* ]] || do_bb=0
fi
do_eager=0; [ $do_st = 1 ] || [ $do_dy = 1 ] && do_eager=1
[ $do_eager = 1 ] || [ $do_bb = 1 ] || die "nothing to do (--only and PART exclude each other)"
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
if [ -n "$scores" ]; then
    : > "$scores" || die "cannot write $scores"
    scores=$(cd "$(dirname "$scores")" && pwd)/$(basename "$scores")
fi
# the sequence models' sizes (see the header)
SEQ_COMMON="--hidden 16 --max-steps 32 --threads 2 --seed 1"
seqopt() {   # MODEL PART -> the fp-train options of that model in that part
    local o="$SEQ_COMMON"
    [ "$1" = transformer ] && o="$o --ctx 32"
    [ "$1" = auto ] && o="$o --ctx 32"
    case $2 in
    dy) o="$o --epochs 3" ;;
    bb) o="${o/--max-steps 32/--max-steps 24} --epochs 3" ;;
    esac
    echo "$o"
}
# score PART ROWNAME LABEL FILE [RESOURCE]: the labelled score record to --scores
score_out() {
    [ -n "$scores" ] || return 0
    jq -c --arg part "$1" --arg row "$2" --arg model "$3" --arg res "${5:-}" \
        '. + {part: $part, row: $row, model: $model} + (if $res == "" then {} else {resource: $res} end)' "$4" >> "$scores"
}
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
        if [ "$REUSE" = 1 ] && [ -s "$ED/dy/$1.jsonl" ] && grep -q '"type":"actual"' "$ED/st/$1.jsonl" 2>/dev/null; then
            return 0
        fi
        local f; f=$(awk -F'\t' -v i="$1" '$1 == i { print $4; exit }' "$ED/tasks.tsv")
        "$CAP" --replay "$f" -w "$window" --no-samples > "$ED/st/$1.jsonl" &&
            "$CAP" --replay "$f" -w 0 | awk -f "$here/eval-compact.awk" > "$ED/dy/$1.jsonl"
    }
    export -f eager_replay; export ED=$d window here
    REUSE=0; [ $reuse = 1 ] && [ -n "$out" ] && REUSE=1; export REUSE
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

    # the models of each part: fingerprint models first, then sequence models and auto
    local stm="" dym=""
    [ $do_st = 1 ] && stm="linear knn $seqm"
    [ $do_dy = 1 ] && dym="linear $seqm"
    [ $auto = 1 ] && [ $do_st = 1 ] && stm="$stm auto"
    [ $auto_dy = 1 ] && [ $do_dy = 1 ] && dym="$dym auto"
    # each task's fingerprint time (the end of its window): a static
    # sequence model is given the task's samples up to it
    for k in $(seq 0 $((K - 1))); do
        grep '"type":"fingerprint"' "$d/st$k.jsonl" | jq -r '[.id, .t] | @tsv' > "$d/fpt$k.tsv"
    done
    # static prediction of MODEL for fold K into OUT: fingerprint models from
    # the fold's fingerprints, sequence models (auto's winner decides) from
    # its samples up to each fingerprint's t (and its actual, which ends
    # the workload's state in fp-predict)
    static_predict() {
        local kind; kind=$(jq -r .kind "$1")
        case $kind in
        linear|knn) "$PRED" -m "$1" --no-pass ${4:-} "$ED/st$2.jsonl" ;;
        *) awk -F'\t' 'FNR == NR { end[$1] = $2; next }
               index($0, "\"type\":\"sample\"") { match($0, /"id":"[^"]*"/); id = substr($0, RSTART + 6, RLENGTH - 7)
                 match($0, /"t":[^,}]*/); if ((id in end) && substr($0, RSTART + 4, RLENGTH - 4) + 0 <= end[id] + 1e-9) print }
               index($0, "\"type\":\"actual\"") { print }' \
               "$ED/fpt$2.tsv" "$ED/dy$2.jsonl" | "$PRED" -m "$1" --no-pass --first-at 0 --every 0.001 ;;
        esac | grep '"type":"prediction"' > "$3"
    }
    # stream prediction of MODEL on FILE: a sequence model reads samples only
    stream_predict() {
        local kind; kind=$(jq -r .kind "$1")
        case $kind in
        linear|knn|vpa|autopilot) "$PRED" -m "$1" --every "$3" "$2" ;;
        *) grep -v '"type":"fingerprint"' "$2" | "$PRED" -m "$1" --every "$3" ;;
        esac
    }
    export -f static_predict stream_predict
    # ---- fp static: every model per fold, trained on the other folds
    : > "$d/train.cmds"
    local m o
    for k in $(seq 0 $((K - 1))); do
        local others="" otherd=""
        for j in $(seq 0 $((K - 1))); do [ $j != $k ] && { others="$others $d/st$j.jsonl"; otherd="$otherd $d/dy$j.jsonl"; }; done
        for m in $stm; do
            case $m in linear|knn) o=""; ;; *) o="$(seqopt $m st) $otherd" ;; esac
            raw="" np=""
            # linear and knn: the fingerprint alone (--no-prior), its raw
            # quantiles, and with the per-process prior (fp-train's
            # default --prior train, key auto: meta.process for eager)
            case $m in linear|knn) np=" '--no-prior'"; raw=" && static_predict $d/$m$k.json $k $d/p-$m-raw$k.jsonl '--uncalibrated --no-cap --no-prior' && static_predict $d/$m$k.json $k $d/p-$m-prior$k.jsonl" ;; esac
            echo "\"$TRAIN\" -q -M $m --group-by 'meta.task~DA[0-9]+' --seed 1 --window $window -o $d/$m$k.json $others $o 2> $d/$m$k.err && static_predict $d/$m$k.json $k $d/p-$m$k.jsonl$np$raw" >> "$d/train.cmds"
        done
    done
    # dynamic models: from the other folds' sample streams (fp-train's defaults: every 10 s, horizon 60 s)
    for k in $(seq 0 $((K - 1))); do
        local others=""; for j in $(seq 0 $((K - 1))); do [ $j != $k ] && others="$others $d/dy$j.jsonl"; done
        for m in $dym; do
            local name=dyn; [ $m = linear ] || name=dyn-$m
            case $m in linear) o="" ;; *) o="-M $m $(seqopt $m dy)" ;; esac
            echo "\"$TRAIN\" -q --from-samples $o --group-by 'meta.task~DA[0-9]+' --seed 1 -o $d/$name$k.json $others 2> $d/$name$k.err && stream_predict $d/$name$k.json $d/dy$k.jsonl 10 > $d/s-$name$k.jsonl" >> "$d/train.cmds"
        done
    done
    # the longest first, so that the parallel jobs end together
    grep -e '-M auto' "$d/train.cmds" > "$d/train.sorted" || true
    grep -v -e '-M auto' "$d/train.cmds" | grep -e '--from-samples -M' >> "$d/train.sorted" || true
    grep -v -e '-M auto' -e '--from-samples -M' "$d/train.cmds" >> "$d/train.sorted" || true
    log "eager: training and predicting, $K folds over DA groups ($(wc -l < "$d/train.sorted") trainings)"
    export TRAIN PRED
    par "$d/train.sorted" || { tail -n 5 "$d"/*.err >&2; die "eager: fp-train or fp-predict failed"; }
    for m in $stm; do cat "$d"/p-$m[0-9].jsonl > "$d/p-$m.jsonl"; done
    # the fingerprint models' raw quantiles (fp-predict --uncalibrated --no-cap)
    local rawm="" priorm=""
    for m in $stm; do case $m in linear|knn) rawm="$rawm $m-raw"; cat "$d"/p-$m-raw[0-9].jsonl > "$d/p-$m-raw.jsonl" ;; esac; done
    for m in $stm; do case $m in linear|knn) priorm="$priorm $m-prior"; cat "$d"/p-$m-prior[0-9].jsonl > "$d/p-$m-prior.jsonl" ;; esac; done
    cat "$d"/st[0-9].jsonl | grep '"type":"actual"' > "$d/actuals.jsonl"

    log "eager: scoring with fp-diff"
    # static rows: NAME PREDFILE QUANTILE
    {
        echo "request p-request p90 user's request (max_mem)"
        echo "history p-history p90 per-process history p95 x1.15"
        echo "oracle p-oracle p90 oracle (the task's own peak)"
        for m in $stm; do for q in p50 p90 p99; do echo "$m-$q p-$m $q fp $m $q"; done; done
        for m in $rawm; do for q in p50 p90 p99; do echo "$m-$q p-$m $q fp ${m%-raw} $q uncalibrated"; done; done
        for m in $priorm; do for q in p50 p90 p99; do echo "$m-$q p-$m $q fp ${m%-prior}+prior $q"; done; done
    } > "$d/rows"
    while read -r name file q label; do
        echo "\"$DIFF\" --no-pass --tolerance 1000 --join -q $q $d/$file.jsonl $d/samples.jsonl | grep '\"type\":\"score\"' > $d/score-$name.json"
    done < "$d/rows" > "$d/score.cmds"
    # held-out coverage of each task's peak, per level (fp-diff's actuals section)
    for m in $stm $rawm $priorm; do
        echo "\"$DIFF\" --no-pass --tolerance 1000 --join $d/p-$m.jsonl $d/actuals.jsonl | grep '\"type\":\"score\"' > $d/cov-$m.json" >> "$d/score.cmds"
    done
    # dynamic: allocations from the prediction stream, scored on the samples
    cut -f1,3 "$d/actuals.tsv" > "$d/req.tsv"
    local dyn=""
    if [ $do_dy = 1 ]; then
        for m in $dym; do
            local name=dyn; [ $m = linear ] || name=dyn-$m
            dyn="$dyn $name"
            echo "cat $d/s-$name[0-9].jsonl | awk -v H=60 -v Q=p99 -v HEAD=1.15 -f $here/eval-dynamic.awk $d/req.tsv - > $d/a-$name.jsonl && \"$DIFF\" --no-pass --tolerance 1000 $d/a-$name.jsonl | grep '\"type\":\"score\"' > $d/score-$name.json" >> "$d/score.cmds"
        done
    fi
    export DIFF
    par "$d/score.cmds" || die "eager: fp-diff failed"
    [ -n "$out" ] || rm -f "$d"/dy[0-9].jsonl "$d"/s-dyn*.jsonl "$d"/a-dyn*.jsonl

    field() { jq -r ".samples | $2" "$d/score-$1.json"; }
    # auto's choice per fold, from the models' provenance
    winners() {   # PREFIX -> "fold 0: gru, fold 1: ..."
        local k w=""
        for k in $(seq 0 $((K - 1))); do
            w="$w${w:+, }fold $k: $(jq -r '.provenance.auto.winner // .kind' "$d/$1$k.json")"
        done
        echo "$w"
    }
    local hf hw
    hf=$(field history .failed); hw=$(field history .wasted_gb_h)
    if [ $do_st = 1 ]; then
    echo
    echo "== nf-core/eager, static: memory sized from metadata + the first ${window} s, held for the task's life"
    echo "   $nscored tasks with series scored ($((nmeta - $(wc -l < "$d/files"))) with metadata only skipped), $nsamp samples; 3-fold cross-validation over DA groups (each task predicted by models that never saw its input sample); history fallback to the request for $(cat "$d/hist-fallback") task(s) whose process has no task in the training folds"
    [ -n "$seqm" ] && echo "   sequence models ($seqm): from the task's samples up to the end of its window only (no metadata); $(seqopt lstm st)$tfnote"
    [[ " $stm " == *" auto "* ]] && echo "   fp auto: fp-train --model auto, the same options; chosen: $(winners auto)"
    printf '   %-36s %8s %8s %12s %9s\n' policy samples failed "waste GB.h" unmatched
    while read -r name file q label; do
        printf '   %-36s %8s %8s %12.1f %9s\n' "$label" "$(field "$name" .n)" \
            "$(field "$name" .failed)" "$(field "$name" .wasted_gb_h)" "$(field "$name" .unmatched)"
        score_out eager-static "$name" "$label" "$d/score-$name.json"
    done < "$d/rows"
    echo "   (samples: scored; unmatched: samples of tasks without a prediction; failed: tasks with any sample above the allocation)"
    echo "   Calibration (fp-train's default: group-aware conformal shifts, 5 folds of DA groups inside the training folds; \"uncalibrated\": fp-predict --uncalibrated --no-cap on the same models). Held-out coverage of each task's peak memory (fp-diff, actuals), goal |coverage - level| <= 0.03 at p90, <= 0.01 at p99:"
    printf '   %-28s %8s %8s %8s\n' model p50 p90 p99
    local cm
    for cm in $stm $rawm $priorm; do
        [ -s "$d/cov-$cm.json" ] || continue
        printf '   %-28s' "fp ${cm%-raw}$([[ $cm == *-raw ]] && echo ' uncalibrated')"
        for q in p50 p90 p99; do printf ' %8s' "$(jq -r ".actuals.resources.mem_bytes.levels.$q.coverage // \"-\" | if type == \"number\" then (. * 1000 | round / 1000) else . end" "$d/cov-$cm.json")"; done
        echo
    done
    echo "   Goal: at no more failed tasks than the history baseline ($hf), at most 0.85x its waste ($(awk -v w="$hw" 'BEGIN{printf "%.1f", w * 0.85}') GB.h):"
    for m in $stm; do for q in p50 p90 p99; do
        local f w ok
        f=$(field $m-$q .failed); w=$(field $m-$q .wasted_gb_h)
        ok=$(awk -v f="$f" -v w="$w" -v hf="$hf" -v hw="$hw" 'BEGIN { print (f <= hf && w <= 0.85 * hw) ? 1 : 0 }')
        printf '     fp %-11s %s: failed %s vs %s, waste %.3fx history -> %s\n' $m $q "$f" "$hf" "$(awk -v w="$w" -v hw="$hw" 'BEGIN{print w / hw}')" "$(verdict "$ok")"
    done; done
    if [ -n "$priorm" ]; then
        # history as a prior (fp-train --prior, fp/model.h): the model's
        # quantile clamped into the process's own range, from the
        # training folds only; never worse than per-process history alone
        echo "   History as a prior (fp-train's default --prior train, key meta.process; the same models, fp-predict with the prior against --no-prior): goal no more failed tasks and no more waste than the per-process history baseline (history as is, not x0.85):"
        for m in $priorm; do for q in p90 p99; do
            local f w f0 w0 ok
            f=$(field $m-$q .failed); w=$(field $m-$q .wasted_gb_h)
            f0=$(field ${m%-prior}-$q .failed); w0=$(field ${m%-prior}-$q .wasted_gb_h)
            ok=$(awk -v f="$f" -v w="$w" -v hf="$hf" -v hw="$hw" 'BEGIN { print (f <= hf && w <= hw) ? 1 : 0 }')
            printf '     fp %-11s %s: failed %s (without the prior %s) vs %s, waste %.3fx history (without %.3fx) -> %s\n' "${m%-prior}+prior" $q "$f" "$f0" "$hf" "$(awk -v w="$w" -v hw="$hw" 'BEGIN{print w / hw}')" "$(awk -v w="$w0" -v hw="$hw" 'BEGIN{print w / hw}')" "$(verdict "$ok")"
        done; done
    fi
    fi
    [ $do_dy = 1 ] || return 0

    local of ow df dw name
    of=$(field oracle .failed); ow=$(field oracle .wasted_gb_h)
    dlabel() { local m=${1#dyn}; m=${m#-}; echo "fp dynamic (${m:-linear}, p99 x1.15)"; }
    echo
    echo "== nf-core/eager, dynamic: the allocation follows fp's continuous predictions (raises at once)"
    echo "   the same $nscored tasks and folds; fp-train --from-samples (checkpoint every 10 s, peak over the next 60 s), fp-predict --every 10, fp-apply's memory policy (p99 x1.15 over the predictions still in their horizon, usage x1.1 + 32 MiB floor, 10% hysteresis, shrinks <= 25% per 10 s)"
    [ -n "$seqm" ] && echo "   sequence models ($seqm): from the samples only (no metadata); $(seqopt lstm dy)$tfnote"
    [[ " $dym " == *" auto "* ]] && echo "   fp auto: fp-train --model auto --from-samples, the same options; chosen: $(winners dyn-auto)"
    printf '   %-36s %8s %8s %12s %9s\n' policy samples failed "waste GB.h" unmatched
    printf '   %-36s %8s %8s %12.1f %9s\n' "static oracle (each task its own peak)" "$(field oracle .n)" "$of" "$ow" "$(field oracle .unmatched)"
    score_out eager-dynamic oracle "static oracle (each task its own peak)" "$d/score-oracle.json"
    for name in $dyn; do
        printf '   %-36s %8s %8s %12.1f %9s\n' "$(dlabel $name)" "$(field $name .n)" "$(field $name .failed)" "$(field $name .wasted_gb_h)" "$(field $name .unmatched)"
        score_out eager-dynamic "$name" "$(dlabel $name)" "$d/score-$name.json"
    done
    echo "   Goal: less waste than the static oracle ($(printf %.1f "$ow") GB.h) with at most 1% of the tasks failed ($(awk -v n="$nscored" 'BEGIN{printf "%d", n * 0.01}') of $nscored):"
    local ok
    for name in $dyn; do
        df=$(field $name .failed); dw=$(field $name .wasted_gb_h)
        ok=$(awk -v f="$df" -v w="$dw" -v ow="$ow" -v n="$nscored" 'BEGIN { print (w < ow && f <= 0.01 * n) ? 1 : 0 }')
        printf '     %s: waste %.3fx the static oracle, %s failed (%.2f%%) -> %s\n' "$(dlabel $name)" "$(awk -v w="$dw" -v ow="$ow" 'BEGIN{print w / ow}')" "$df" "$(awk -v f="$df" -v n="$nscored" 'BEGIN{print 100 * f / n}')" "$(verdict "$ok")"
    done
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
        echo "\"$TRAIN\" -q --from-samples --every 3600 --horizon 3600 --seed 1 -o $d/fp$k.json $others && \"$PRED\" -m $d/fp$k.json --every 3600 $d/f$k.jsonl > $d/s-fp$k.jsonl && \"$PRED\" -m $d/fp$k.json --every 3600 --uncalibrated --no-cap $d/f$k.jsonl > $d/s-fpraw$k.jsonl" >> "$d/train.cmds"
        if [ $bbknn = 1 ]; then echo "\"$TRAIN\" -q -M knn --from-samples --every 3600 --horizon 3600 --seed 1 -o $d/knn$k.json $others && \"$PRED\" -m $d/knn$k.json --every 3600 $d/f$k.jsonl > $d/s-knn$k.jsonl && \"$PRED\" -m $d/knn$k.json --every 3600 --uncalibrated --no-cap $d/f$k.jsonl > $d/s-knnraw$k.jsonl" >> "$d/train.cmds"; fi
        for m in $seqm; do
            echo "\"$TRAIN\" -q -M $m --from-samples --every 3600 --horizon 3600 $(seqopt $m bb) -o $d/$m$k.json $others 2> $d/$m$k.err && grep -v '\"type\":\"fingerprint\"' $d/f$k.jsonl | \"$PRED\" -m $d/$m$k.json --every 3600 > $d/s-$m$k.jsonl" >> "$d/train.cmds"
        done
    done
    # the sequence models first (the longest), so that the jobs end together
    { grep -e '-M ' "$d/train.cmds" || true; grep -v -e '-M ' "$d/train.cmds" || true; } > "$d/train.sorted"
    log "bitbrains: VPA, Autopilot, fp linear${seqm:+ and }$seqm ($K folds over VMs)"
    export TRAIN PRED
    par "$d/train.sorted" || { tail -n 5 "$d"/*.err >&2 2>/dev/null; die "bitbrains: fp-train or fp-predict failed"; }
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
        echo "fpraw-p90 fp linear p90 uncalibrated|p90|cat $d/s-fpraw[0-9].jsonl"
        echo "fpraw-p99 fp linear p99 uncalibrated|p99|cat $d/s-fpraw[0-9].jsonl"
        if [ $bbknn = 1 ]; then
            echo "knn-p90 fp knn p90|p90|cat $d/s-knn[0-9].jsonl"
            echo "knn-p99 fp knn p99|p99|cat $d/s-knn[0-9].jsonl"
            echo "knnraw-p90 fp knn p90 uncalibrated|p90|cat $d/s-knnraw[0-9].jsonl"
            echo "knnraw-p99 fp knn p99 uncalibrated|p99|cat $d/s-knnraw[0-9].jsonl"
        fi
        for m in $seqm; do
            echo "$m-p90 fp $m p90|p90|cat $d/s-$m[0-9].jsonl"
            echo "$m-p99 fp $m p99|p99|cat $d/s-$m[0-9].jsonl"
        done
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
    [ -n "$seqm" ] && echo "   sequence models ($seqm): the same, from the samples only; $(seqopt lstm bb)$tfnote"
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
            score_out bitbrains "$n" "$l" "$d/score-$n.json" "$key"
        done < "$d/rows"
    done
    echo "   Calibration: held-out coverage per level of the hourly predictions, over the scored samples (fp-diff, samples; a sample is covered when at or below the quantile; the models are calibrated on each checkpoint's next-hour peak, which samples cover more often):"
    printf '   %-32s %-9s %8s %8s %8s\n' model resource p50 p90 p99
    local cr
    for cr in fp-p90 fpraw-p90 $([ $bbknn = 1 ] && echo knn-p90 knnraw-p90); do
        for key in cpu_cores mem_bytes; do
            printf '   %-32s %-9s' "$(awk -F'|' -v n="$cr" '{ split($1, a, " "); if (a[1] == n) { sub(/^[^ ]* /, "", $1); sub(/ p90/, "", $1); print $1 } }' "$d/rows")" "$key"
            for q in p50 p90 p99; do printf ' %8s' "$(jq -r ".samples.resources.$key.levels.$q.coverage // \"-\" | if type == \"number\" then (. * 10000 | round / 10000) else . end" "$d/score-$cr.json")"; done
            echo
        done
    done
    echo "   Goal: at no more violations than the VPA, at most 0.75x its slack, for CPU and for memory:"
    local p key vs vv fs fv ok
    for p in fp-p90 fp-p99 $([ $bbknn = 1 ] && echo knn-p90 knn-p99) $(for m in $seqm; do echo $m-p90 $m-p99; done); do
        for key in cpu_cores mem_bytes; do
            vs=$(jq -r ".samples.resources.$key.slack" "$d/score-vpa.json"); vv=$(jq -r ".samples.resources.$key.under_rate" "$d/score-vpa.json")
            fs=$(jq -r ".samples.resources.$key.slack" "$d/score-$p.json"); fv=$(jq -r ".samples.resources.$key.under_rate" "$d/score-$p.json")
            ok=$(awk -v fs="$fs" -v fv="$fv" -v vs="$vs" -v vv="$vv" 'BEGIN { print (fv <= vv && fs <= 0.75 * vs) ? 1 : 0 }')
            printf '     %-15s %-9s: violations %.4f vs VPA %.4f, slack %.3fx VPA -> %s\n' "$p" "$key" "$fv" "$vv" "$(awk -v a="$fs" -v b="$vs" 'BEGIN{print a / b}')" "$(verdict "$ok")"
        done
    done
}

[ $do_eager = 1 ] && eager_run
[ $do_bb = 1 ] && bb_run
echo
echo "done in $(( $(date +%s) - T0 )) s"
