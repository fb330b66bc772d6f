#!/bin/sh
# train-default.sh - rebuild fp's default model from the public traces.
#
#   share/fp/train-default.sh [DATA] [OUT] [LOCAL]
#
# DATA: the traces (default: ../shared/data beside the source tree; its
# eager/ part is used). OUT: the model file (default share/fp/default-model.json;
# its provenance goes beside it as OUT without .json + .provenance.json).
# LOCAL: fingerprints and actuals of real workloads captured on this
# machine (default share/fp/local-captures.jsonl, made by
# share/fp/capture-local.sh and committed; "none": eager only).
#
# What it does, deterministically:
#   1. replays every nf-core/eager task (PROCESS/TASK_cpu.csv.gz with its
#      memory and metadata files) with `fp-capture --replay -w 2
#      --no-samples`: a fingerprint of the task's first 2 s (fp-run's
#      default window, the fingerprints this model is applied to; the trace
#      samples about every 2 s, so it holds 1 to 3 samples: the mean, max,
#      last and slope of CPU and memory, not their autocorrelation or
#      spectrum) plus its request (max_cpus, max_mem) and input sizes, and
#      its actual (lifetime peaks, whatever the window); and
#      keeps five representatives of each process (its tasks at the 10th,
#      30th, 50th, 70th and 90th percentile of peak memory): 66 of 1330
#      tasks, so that the shipped knn model holds a summary of the trace,
#      not a copy of every task (a 0.7 MB file that loads in 0.06 s, where
#      all tasks made 9 MB and 0.31 s), and its k = 5 neighbours of an
#      eager task spread like that task's process;
#   2. adds LOCAL (live captures: a 2 s fingerprint and the actual of each
#      workload, the same 692 features; each is its own group);
#   3. trains `fp-train --model knn --seed 1 --window 2 --group-by
#      'meta.task~DA[0-9]+'` (validation split by input sample) on the
#      lifetime peaks. knn, not linear: a default model meets workloads
#      unlike its data, and nearest fingerprints only ever predict what a
#      real workload used, where the linear model trained on this mix
#      extrapolated to its 256 GiB clamp for live workloads and to 0 cores
#      for CPU; fp-apply's safety floors (memory above usage, CPU quota
#      above demand, OOM and throttling raises) cover its under-predictions.
#      `--prior empty`: the model carries a per-key prior (fp-train(1),
#      "History as a prior") with no keys: the identity keys of our traces
#      and captures mean nothing on a user's machine and must not move
#      their predictions; the user's own `fp-run --learn` runs fill it.
#      Trained with SOURCE_DATE_EPOCH fixed, so the same traces,
#      the same LOCAL file and the same fp give the same file byte for
#      byte. Rerunning capture-local.sh makes a new LOCAL file, hence a
#      new model: commit both.
# fp-predict and fp-run use the installed copy when no model is named.
# FP_TRAIN_REPLAYED=FILE: use FILE as the replays of every eager task (what
# step 1's loop writes, in the same order) instead of replaying again.
# Cite the trace (J. Bader, N. Diedrich, L. Thamsen, O. Kao, "Predicting
# Dynamic Memory Requirements for Scientific Workflow Tasks", IEEE BigData
# 2023) with any result of this model.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${1:-$top/../shared/data}
out=${2:-$here/default-model.json}
captures=${3:-$here/local-captures.jsonl}
bin=$(cd "${FP_BIN:-$top/bin}" && pwd)
if [ ! -d "$data/eager" ]; then
    echo "train-default: no $data/eager: the public traces are not here (see README, Data)" >&2
    exit 2
fi
if [ "$captures" != none ] && [ ! -f "$captures" ]; then
    echo "train-default: no $captures (run share/fp/capture-local.sh, or give none)" >&2
    exit 2
fi
for t in fp-capture fp-train; do
    [ -x "$bin/$t" ] || { echo "train-default: $bin/$t is not built" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-default.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
find "$data/eager" -name '*_cpu.csv.gz' | LC_ALL=C sort > "$tmp/tasks"
n=$(wc -l < "$tmp/tasks")
if [ -n "${FP_TRAIN_REPLAYED:-}" ]; then
    # the replays of an earlier run (the same command's output, in task
    # order; the replay is the slow part: ~20 min on 2 loaded cores)
    echo "train-default: the $n eager tasks' replays from $FP_TRAIN_REPLAYED" >&2
    cp "$FP_TRAIN_REPLAYED" "$tmp/all-eager.jsonl"
else
    echo "train-default: replaying $n eager tasks" >&2
    while IFS= read -r f; do
        "$bin/fp-capture" --replay "$f" -w 2 --no-samples | jq -c 'del(.host)'
    done < "$tmp/tasks" > "$tmp/all-eager.jsonl"
fi
# every task replayed, or the representatives (and so the model) would
# silently depend on which replays failed
nf=$(grep -c '"type":"fingerprint"' "$tmp/all-eager.jsonl" || true)
na=$(grep -c '"type":"actual"' "$tmp/all-eager.jsonl" || true)
if [ "$nf" != "$n" ] || [ "$na" != "$n" ]; then
    echo "train-default: $n tasks replayed into $nf fingerprints and $na actuals: a replay failed (see above)" >&2
    exit 2
fi
# five representatives per eager process: its tasks at the 10th, 30th,
# 50th, 70th and 90th percentile of peak memory (ties by id)
jq -s -c '
  [ .[] | select(.type == "actual") | {id, p: (.meta.process // "?"), m: .mem_bytes_peak} ] as $a
  | ([ $a | group_by(.p)[] | sort_by(.m, .id) | . as $g | (length - 1) as $n
       | [0.1, 0.3, 0.5, 0.7, 0.9] | map($g[(. * $n + 0.5 | floor)].id) | unique[] ]) as $keep
  | .[] | select(.id as $i | $keep | index($i))' "$tmp/all-eager.jsonl" > "$tmp/eager.jsonl"
echo "train-default: $(grep -c '"type":"actual"' "$tmp/eager.jsonl") representative eager tasks" >&2
inputs=eager.jsonl
if [ "$captures" != none ]; then
    cp "$captures" "$tmp/local-captures.jsonl"
    inputs="eager.jsonl local-captures.jsonl"
    echo "train-default: with $(grep -c '"type":"fingerprint"' "$captures") local captures from $captures" >&2
fi
# relative names inside the temporary directory, so the provenance (which
# records the command) is the same wherever this runs
(cd "$tmp" && SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1795824000} "$bin/fp-train" -q \
    --model knn --seed 1 --window 2 --group-by 'meta.task~DA[0-9]+' --prior empty -o default-model.json $inputs)
mv "$tmp/default-model.json" "$out.tmp"
mv "$out.tmp" "$out"
prov=${out%.json}.provenance.json
if [ "$captures" != none ]; then
    what="nf-core/eager (../shared/data/eager), every task replayed with fp-capture --replay -w 2 --no-samples, five representatives per process kept (the 10/30/50/70/90th percentile of peak memory); and share/fp/local-captures.jsonl (share/fp/capture-local.sh: stress-ng and busybox workloads captured live with fp-capture -w 2 --no-samples)"
else
    what="nf-core/eager (../shared/data/eager), every task replayed with fp-capture --replay -w 2 --no-samples, five representatives per process kept (the 10/30/50/70/90th percentile of peak memory)"
fi
if [ "$captures" != none ]; then
    sum=$(sha256sum < "$captures" | cut -d' ' -f1)
    nloc=$(grep -c '"type":"fingerprint"' "$captures")
else
    sum=""; nloc=0
fi
jq --arg what "$what" --arg sum "$sum" --argjson nloc "$nloc" '{data: $what,
     local_captures: (if $sum == "" then null else {file: "share/fp/local-captures.jsonl", sha256: $sum, workloads: $nloc} end),
     citation: "J. Bader, N. Diedrich, L. Thamsen, O. Kao, Predicting Dynamic Memory Requirements for Scientific Workflow Tasks, IEEE BigData 2023",
     command: "share/fp/train-default.sh", kind: .kind, levels: .levels,
     provenance: .provenance}' "$out" > "$prov.tmp"
mv "$prov.tmp" "$prov"
echo "train-default: wrote $out and $prov" >&2
