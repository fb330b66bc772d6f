#!/bin/sh
# tests/fuzz/smoke.sh - make check's fuzz test, TAP output (two tests per
# harness tests/fuzz/fuzz-NAME.c):
#   replay NAME  every file of tests/fuzz/corpus/NAME (seeds) and
#                tests/fuzz/crashes/NAME (every crash ever found) runs
#                through the harness without a crash, hang or sanitizer
#                report. Needs no libFuzzer: without it the harnesses are
#                built with the configured compiler and a plain main()
#                (tests/fuzz/standalone.c).
#   fuzz NAME    libFuzzer mutates from those files for FP_FUZZ_SECONDS
#                (default 10) seconds: no crash, no input slower than
#                FP_FUZZ_TIMEOUT (default 10) seconds, no sanitizer report.
# Without clang's libFuzzer the fuzz tests are skipped (SKIP, with the
# reason) - and fail when CI is set or fp was configured with
# --enable-fuzzing. FP_FUZZ_SECONDS=0 skips them. Why 10 s: 20 harnesses
# are ~3 minutes of make check on one core; the seeds plus 10 s reach the
# parsers' error paths, and the long campaign (tests/fuzz/campaign.sh)
# does the depth. Findings of a run are kept under
# $FP_TOP_BUILDDIR/tests/fuzz/work/artifacts (add them to
# tests/fuzz/crashes/NAME once fixed).
set -u
src=${FP_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bld=${FP_TOP_BUILDDIR:-$src}
export FP_TOP_SRCDIR="$src" FP_TOP_BUILDDIR="$bld"
secs=${FP_FUZZ_SECONDS:-10}
tmo=${FP_FUZZ_TIMEOUT:-10}
work="$bld/tests/fuzz/work"
fz="$src/tests/fuzz"
names=$(for h in "$fz"/fuzz-*.c; do basename "$h" .c; done)
n=$(printf '%s\n' $names | wc -l)
echo "1..$((2 * n))"
rm -rf "$work/tmp" "$work/corpus"
mkdir -p "$work/tmp" "$work/artifacts" "$work/corpus" || { echo "Bail out! cannot make $work"; exit 1; }
export TMPDIR="$work/tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for s in llvm-symbolizer /usr/lib/llvm-*/bin/llvm-symbolizer; do
    if command -v "$s" >/dev/null 2>&1; then export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$(command -v "$s")}"; break; fi
done
. "$bld/tests/fuzz/fuzz-env.sh" 2>/dev/null || { echo "Bail out! $bld/tests/fuzz/fuzz-env.sh is missing (run ./configure)"; exit 1; }

# libFuzzer harnesses, else replay-only ones
why=
if [ "$secs" = 0 ]; then
    why="FP_FUZZ_SECONDS=0"
    rc=77
else
    "$fz/build.sh" fuzz "$bld/tests/fuzz/bin" > "$work/build.log" 2>&1
    rc=$?
fi
if [ "$rc" = 0 ]; then
    bin="$bld/tests/fuzz/bin"
    fuzzer=yes
elif [ "$rc" = 77 ]; then
    [ -n "$why" ] || why=$(grep 'build.sh:' "$work/build.log" | head -n 1 | sed 's/^build.sh: //')
    sed 's/^/# /' "$work/build.log"
    bin="$bld/tests/fuzz/bin-replay"
    fuzzer=no
    if ! "$fz/build.sh" replay "$bin" > "$work/build.log" 2>&1; then
        sed 's/^/# /' "$work/build.log"
        echo "Bail out! building the replay harnesses failed"
        exit 1
    fi
else
    sed 's/^/# /' "$work/build.log"
    echo "Bail out! building the fuzz harnesses failed"
    exit 1
fi

i=0
for name in $names; do
    dirs=
    for d in "$fz/corpus/$name" "$fz/crashes/$name"; do [ -d "$d" ] && dirs="$dirs $d"; done
    dict=
    for d in "$fz/dict/$name.dict" "$fz/dict/json.dict"; do
        if [ -f "$d" ]; then dict="-dict=$d"; break; fi
    done
    log="$work/$name.log"
    # replay
    i=$((i + 1))
    if [ -z "$dirs" ]; then
        echo "not ok $i - replay $name: no tests/fuzz/corpus/$name"
    else
        if [ "$fuzzer" = yes ]; then
            mkdir -p "$work/corpus/$name"
            # shellcheck disable=SC2086
            "$bin/$name" -runs=0 -timeout="$tmo" -rss_limit_mb=2048 "$work/corpus/$name" $dirs > "$log" 2>&1
        else
            # shellcheck disable=SC2086
            "$bin/$name" $dirs > "$log" 2>&1
        fi
        if [ $? = 0 ]; then
            echo "ok $i - replay $name ($(ls $dirs | wc -l) files)"
        else
            echo "not ok $i - replay $name"
            tail -n 40 "$log" | sed 's/^/# /'
        fi
    fi
    # fuzz
    i=$((i + 1))
    if [ "$fuzzer" = no ]; then
        if [ -n "${CI:-}" ] && [ "$secs" != 0 ]; then
            echo "not ok $i - fuzz $name: CI requires libFuzzer: $why"
        elif [ "$FZ_CONF_FUZZING" = yes ] && [ "$secs" != 0 ]; then
            echo "not ok $i - fuzz $name: configured with --enable-fuzzing, but: $why"
        else
            echo "ok $i - fuzz $name # SKIP $why"
        fi
        continue
    fi
    mkdir -p "$work/corpus/$name"
    # shellcheck disable=SC2086
    "$bin/$name" -max_total_time="$secs" -timeout="$tmo" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$name-" $dict "$work/corpus/$name" $dirs > "$log" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $st = 0 ]; then
        echo "ok $i - fuzz $name (${secs} s, ${runs:-?} runs)"
    else
        echo "not ok $i - fuzz $name (exit $st; input saved under $work/artifacts)"
        grep -n 'ERROR\|SUMMARY\|invariant\|Test unit written' "$log" | head -n 10 | sed 's/^/# /'
        tail -n 40 "$log" | sed 's/^/# /'
    fi
done
exit 0
