#!/usr/bin/env bash
# report.sh - the public-trace report (issue 6): one command regenerates the
# accuracy tables and charts of fp against the baselines on ../shared/data
# (the protocol of tests/bench/eval-traces.sh), with the traces cited.
#
# Run by hand (not part of `make check`), from a built tree:
#
#   tests/bench/report.sh [-o DIR] [EVAL-OPTION...] [PART...]
#
#   -o, --output DIR  where the report goes (default: report/ in the current
#                     directory; not beside this script, where `make dist`
#                     would pack it); created, its report files replaced
#   EVAL-OPTION, PART passed to eval-traces.sh as they are (e.g. --quick,
#                     --seq lstm, --no-auto, eager-dynamic); default: every
#                     part, every model
#
# DIR receives:
#   report.md            the report: how it was made (this command, date,
#                        machine, fp version, source revision), the traces
#                        and their citations (from ../shared/data/README.md),
#                        eval-traces.sh's tables verbatim, the charts
#   eval-traces.txt      eval-traces.sh's standard output (the tables)
#   eval-traces.log      its standard error (progress, fp-train's notes)
#   scores.jsonl         one fp-diff score record (man/fp-records.5, score)
#                        per row of the tables, with "part", "row", "model"
#                        (the row's label) and, for Bitbrains, "resource"
#   scores-PART.jsonl    the same split by part (Bitbrains by resource:
#                        scores-bitbrains-cpu_cores.jsonl, -mem_bytes)
#   tradeoff-PART.svg    `fp-diff --svg FILE --chart tradeoff` of each
#                        scores-PART.jsonl: slack against violations per
#                        model; only when this fp-diff has --svg (else the
#                        report says the charts were skipped)
# Exit: 0 when the report was written (whether the goals were met or not),
# 2 when the traces are absent or a step failed (eval-traces.sh's status).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=report
args=()
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "report: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    -o|--output) dir=${2:?-o needs a directory}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --scores) die "--scores is report.sh's own (DIR/scores.jsonl)" ;;
    *) args+=("$1"); shift ;;
    esac
done
for c in jq awk; do command -v $c >/dev/null || die "needs $c"; done
DIFF=$top/bin/fp-diff
[ -x "$DIFF" ] || die "build first ($DIFF missing)"
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)
readme=$top/../shared/data/README.md
# the traces' README beside the traces eval-traces.sh reads (--eager DIR)
set -- "${args[@]+"${args[@]}"}"
while [ $# -gt 0 ]; do
    case $1 in --eager) [ -f "$2/../README.md" ] && readme=$2/../README.md; shift 2 ;; *) shift ;; esac
done

cmd="tests/bench/report.sh${args[*]+ ${args[*]}}"
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "report: running tests/bench/eval-traces.sh${args[*]+ ${args[*]}} (see $dir/eval-traces.log)" >&2
rc=0
"$here/eval-traces.sh" --scores "$dir/scores.jsonl" "${args[@]+"${args[@]}"}" \
    > "$dir/eval-traces.txt" 2> "$dir/eval-traces.log" || rc=$?
if [ $rc != 0 ]; then
    tail -n 5 "$dir/eval-traces.log" >&2
    die "eval-traces.sh failed (exit $rc); no report written"
fi
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---- scores per part (Bitbrains per resource)
rm -f "$dir"/scores-*.jsonl "$dir"/tradeoff-*.svg
parts=$(jq -r 'if .resource then .part + "-" + .resource else .part end' "$dir/scores.jsonl" | awk '!seen[$0]++')
for p in $parts; do
    # one series per model in the charts: the row's level goes to the label
    jq -c --arg p "$p" 'select((if .resource then .part + "-" + .resource else .part end) == $p)
                        | if .model then .model |= sub(" p[0-9]+$"; "") else . end' \
        "$dir/scores.jsonl" > "$dir/scores-$p.jsonl"
done

# ---- charts, when fp-diff can draw them
charts=0
if "$DIFF" --help 2>&1 | grep -q -e '--svg'; then
    charts=1
    for p in $parts; do
        case $p in *cpu_cores) res=cpu_cores ;; *) res=mem_bytes ;; esac   # eager: memory
        "$DIFF" --svg "$dir/tradeoff-$p.svg" --chart tradeoff --resource "$res" \
            < "$dir/scores-$p.jsonl" > /dev/null ||
            die "fp-diff --svg failed on $dir/scores-$p.jsonl"
    done
fi

# ---- the report
fpv=$("$top/bin/fp-capture" -V 2>/dev/null | head -1 | awk '{print $NF}')
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo "not a git checkout")
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
# the citations: each "## " section of the traces' README with its
# "Citation" item (continued lines joined)
cites() {
    if [ -f "$readme" ]; then
        awk '/^## / { sec = substr($0, 4); next }
             /^- Citation/ { c = $0; sub(/^- /, "", c); inc = 1; next }
             inc && /^  / { l = $0; sub(/^ +/, "", l); c = c " " l; next }
             inc { printf "- **%s**: %s\n", sec, c; inc = 0 }
             END { if (inc) printf "- **%s**: %s\n", sec, c }' "$readme"
    fi
}
title() {   # PART -> a heading
    case $1 in
    eager-static) echo "nf-core/eager, static (sized from the first window, held for the task's life)" ;;
    eager-dynamic) echo "nf-core/eager, dynamic (the allocation follows the predictions)" ;;
    bitbrains-cpu_cores) echo "Bitbrains Rnd, CPU (hourly allocations)" ;;
    bitbrains-mem_bytes) echo "Bitbrains Rnd, memory (hourly allocations)" ;;
    *) echo "$1" ;;
    esac
}
{
    echo "# fp against the baselines on public traces"
    echo
    echo "Made by \`$cmd\` (it runs \`tests/bench/eval-traces.sh\`; rerun it to regenerate this report)."
    echo
    echo "- started $start, finished $end (UTC)"
    echo "- fp $fpv, source $rev"
    echo "- machine: $(uname -srm), $(nproc) CPUs${cpu:+ ($cpu)}${mem:+, $mem}"
    echo
    echo "## Traces"
    echo
    echo "Results computed from these public traces; cite them with the results."
    echo
    if [ -f "$readme" ]; then
        cites
        echo
        echo "(From \`$(realpath --relative-to="$top" "$readme" 2>/dev/null || echo "$readme")\`.)"
    else
        echo "(The traces' README.md was not found beside them; see eval-traces.txt for the citations.)"
    fi
    echo
    echo "## Protocol"
    echo
    echo "The protocol of the learning-loop issue, as \`tests/bench/eval-traces.sh --help\` states it:"
    echo "cross-validation by input sample (eager: 3 folds over DA groups) and by VM (Bitbrains: 2 folds),"
    echo "so that no workload is predicted by a model that saw it; the baselines run in the same run; every"
    echo "allocation is scored by fp-diff on the workload's samples. The goals are ratios against the"
    echo "baselines of the same run; each table ends with met / NOT met."
    echo
    echo "## Tables"
    echo
    echo '```text'
    cat "$dir/eval-traces.txt"
    echo '```'
    echo
    echo "## Charts"
    echo
    if [ $charts = 1 ]; then
        for p in $parts; do
            echo "### $(title "$p")"
            echo
            echo "![slack against violations per model: $(title "$p")](tradeoff-$p.svg)"
            echo
            echo "(\`fp-diff --svg tradeoff-$p.svg --chart tradeoff --resource R < scores-$p.jsonl\`)"
            echo
        done
    else
        echo "Charts skipped: this fp-diff has no \`--svg\`. The score records are in"
        echo "$(for p in $parts; do printf '`scores-%s.jsonl` ' "$p"; done)"
        echo "(one per row of the tables, with \`model\` naming the row) for when it has."
    fi
} > "$dir/report.md.tmp"
mv "$dir/report.md.tmp" "$dir/report.md"
echo "report: wrote $dir/report.md ($(wc -l < "$dir/scores.jsonl") score records, charts $([ $charts = 1 ] && echo made || echo skipped))" >&2
