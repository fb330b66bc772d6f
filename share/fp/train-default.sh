#!/bin/sh
# train-default.sh - rebuild fp's default model from the public traces.
#
#   share/fp/train-default.sh [DATA] [OUT]
#
# DATA: the traces (default: ../shared/data beside the source tree; its
# eager/ part is used). OUT: the model file (default share/fp/default-model.json;
# its provenance goes beside it as OUT without .json + .provenance.json).
#
# What it does, deterministically:
#   1. replays every nf-core/eager task (PROCESS/TASK_cpu.csv.gz with its
#      memory and metadata files) with `fp-capture --replay -w 30
#      --no-samples`: a fingerprint of the task's first 30 s plus its
#      request (max_cpus, max_mem) and input sizes, and its actual;
#   2. trains `fp-train --model linear --seed 1 --group-by
#      'meta.task~DA[0-9]+'` (validation split by input sample) on the
#      tasks' lifetime peaks, with SOURCE_DATE_EPOCH fixed, so the same
#      traces and the same fp give the same file byte for byte.
# fp-predict and fp-run use the installed copy when no model is named.
# Cite the trace (J. Bader, N. Diedrich, L. Thamsen, O. Kao, "Predicting
# Dynamic Memory Requirements for Scientific Workflow Tasks", IEEE BigData
# 2023) with any result of this model.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
data=${1:-$top/../shared/data}
out=${2:-$here/default-model.json}
bin=$(cd "${FP_BIN:-$top/bin}" && pwd)
if [ ! -d "$data/eager" ]; then
    echo "train-default: no $data/eager: the public traces are not here (see README, Data)" >&2
    exit 2
fi
for t in fp-capture fp-train; do
    [ -x "$bin/$t" ] || { echo "train-default: $bin/$t is not built" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fp-default.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
find "$data/eager" -name '*_cpu.csv.gz' | LC_ALL=C sort > "$tmp/tasks"
n=$(wc -l < "$tmp/tasks")
echo "train-default: replaying $n eager tasks" >&2
while IFS= read -r f; do
    "$bin/fp-capture" --replay "$f" -w 30 --no-samples | jq -c 'del(.host)' 
done < "$tmp/tasks" > "$tmp/eager.jsonl"
# relative names inside the temporary directory, so the provenance (which
# records the command) is the same wherever this runs
(cd "$tmp" && SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1795824000} "$bin/fp-train" -q \
    --model linear --seed 1 --group-by 'meta.task~DA[0-9]+' -o default-model.json eager.jsonl)
mv "$tmp/default-model.json" "$out"
prov=${out%.json}.provenance.json
jq '{data: "nf-core/eager (../shared/data/eager), every task replayed with fp-capture --replay -w 30 --no-samples",
     citation: "J. Bader, N. Diedrich, L. Thamsen, O. Kao, Predicting Dynamic Memory Requirements for Scientific Workflow Tasks, IEEE BigData 2023",
     command: "share/fp/train-default.sh", kind: .kind, levels: .levels,
     provenance: .provenance}' "$out" > "$prov.tmp" && mv "$prov.tmp" "$prov"
echo "train-default: wrote $out and $prov" >&2
