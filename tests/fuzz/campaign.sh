#!/bin/sh
# tests/fuzz/campaign.sh [NAME...] - the long fuzz campaign
# (tests/fuzz/README.md): every harness (or those named, e.g. fuzz-record)
# runs until FP_FUZZ_RUNS inputs (default 10000000) or FP_FUZZ_MAX_SECONDS
# (default 0: no time limit) have passed, under nice -n 19, each input
# limited to FP_FUZZ_TIMEOUT seconds (default 2: slower is a hang) and the
# process to 2048 MB, with ASan (leak detection on) and UBSan. The corpus
# grows in $FP_TOP_BUILDDIR/tests/fuzz/campaign/corpus/NAME (seeded from
# tests/fuzz/corpus and tests/fuzz/crashes, which are only read), findings
# go to campaign/artifacts/NAME-crash-*, -timeout-*, -oom-*, logs to
# campaign/NAME.log, and campaign/summary.txt gets one line per harness:
#   NAME RESULT EXECUTIONS SECONDS EXEC/S CORPUS-FILES
# FP_FUZZ_PARALLEL harnesses run at once (default 1). FP_FUZZ_BIN: where
# the harnesses are (default tests/fuzz/bin of the build). Run after make
# fuzz-build (make fuzz-campaign does both). Exit 0 when every harness
# ended clean, 1 otherwise.
set -u
src=${FP_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${FP_TOP_BUILDDIR:-$src}
runs=${FP_FUZZ_RUNS:-10000000}
maxs=${FP_FUZZ_MAX_SECONDS:-0}
tmo=${FP_FUZZ_TIMEOUT:-2}
par=${FP_FUZZ_PARALLEL:-1}
bin=${FP_FUZZ_BIN:-$bld/tests/fuzz/bin}
out="$bld/tests/fuzz/campaign"
fz="$src/tests/fuzz"
mkdir -p "$out/corpus" "$out/artifacts" "$out/tmp"
if [ $# -gt 0 ]; then names="$*"; else names=$(for h in "$fz"/fuzz-*.c; do basename "$h" .c; done); fi
for n in $names; do
    [ -x "$bin/$n" ] || { echo "campaign: $bin/$n is not built (make fuzz-build)" >&2; exit 1; }
done
export TMPDIR="$out/tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export src bld runs maxs tmo bin out fz
one() {
    n=$1
    dict=$fz/dict/$n.dict
    [ -f "$dict" ] || dict=$fz/dict/json.dict
    mkdir -p "$out/corpus/$n"
    dirs=
    for d in "$fz/corpus/$n" "$fz/crashes/$n"; do [ -d "$d" ] && dirs="$dirs $d"; done
    start=$(date +%s)
    # shellcheck disable=SC2086
    nice -n 19 "$bin/$n" -runs="$runs" -max_total_time="$maxs" -timeout="$tmo" -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$dict" -artifact_prefix="$out/artifacts/$n-" \
        "$out/corpus/$n" $dirs > "$out/$n.log" 2>&1
    st=$?
    secs=$(( $(date +%s) - start ))
    ex=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n.log" | tail -n 1)
    [ "$st" = 0 ] && res=clean || res="FAILED(exit $st)"
    rate=$(( ${ex:-0} / (secs > 0 ? secs : 1) ))
    printf '%s %s %s %s %s %s\n' "$n" "$res" "${ex:-?}" "$secs" "$rate" "$(ls "$out/corpus/$n" | wc -l)" |
        tee -a "$out/summary.txt"
    [ "$st" = 0 ]
}
[ -n "${FZ_CAMPAIGN_CHILD:-}" ] ||
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) runs=$runs max_seconds=$maxs timeout=$tmo parallel=$par" >> "$out/summary.txt"
bad=0
if [ "$par" -gt 1 ]; then
    # a shell function does not cross xargs in POSIX sh: run this script per name
    printf '%s\n' $names | xargs -P "$par" -I{} env FP_FUZZ_PARALLEL=1 FZ_CAMPAIGN_CHILD=1 sh "$0" {} || bad=1
else
    for n in $names; do one "$n" || bad=1; done
fi
exit $bad
