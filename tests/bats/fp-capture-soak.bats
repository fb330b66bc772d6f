#!/usr/bin/env bats
# fp-capture over long captures: bounded memory, no leaks (valgrind).
load helpers

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

@test "soak: 20 s at 10 ms, fp-capture's resident memory does not grow" {
    need_cmd jq
    limit=256
    if [ "${FP_SANITIZERS:-no}" = yes ]; then
        # ASan holds freed blocks in a quarantine: turn it off, and allow for
        # its bookkeeping. A leak of one record per sample would still be
        # megabytes; LeakSanitizer checks the exit too.
        export ASAN_OPTIONS=quarantine_size_mb=0:thread_local_quarantine_size_kb=0
        limit=1024
    fi
    "$FP_BIN/fp-capture" -i 0.01 --steady-interval 0.01 -w 1 --refine 1 -o /dev/null -- sleep 21 &
    fp=$!
    # the libtool wrapper execs the real binary: wait for it to be that
    sleep 4
    first=$(rss_kib "$fp")
    sleep 15
    last=$(rss_kib "$fp")
    kill -TERM "$fp"
    wait "$fp" || true
    echo "# VmRSS after 4 s: $first KiB, after 19 s: $last KiB" >&3
    [ -n "$first" ] && [ -n "$last" ]
    # 1500 more samples and 15 more fingerprints: growth below the limit
    [ $((last - first)) -lt "$limit" ]
}

@test "valgrind: no leak and no memory error in a capture loop" {
    if [ "${FP_SANITIZERS:-no}" = yes ]; then
        skip "built with sanitizers: valgrind cannot run ASan binaries (the sanitizers check this build)"
    fi
    need_cmd valgrind
    libtool="$FP_TOP_SRCDIR/libtool"
    [ -x "${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}/libtool" ] && libtool="${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}/libtool"
    run --separate-stderr "$libtool" --mode=execute valgrind --quiet --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "$FP_BIN/fp-capture" -i 0.02 -w 0.2 --refine 0.2 --summary -o /dev/null \
        -- sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done'
    echo "$stderr" | grep "==" | sed "s/^/# /" >&3 || true
    [ "$status" -eq 0 ]
}

@test "valgrind: no leak when replaying a trace" {
    if [ "${FP_SANITIZERS:-no}" = yes ]; then skip "built with sanitizers"; fi
    need_cmd valgrind
    libtool="${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}/libtool"
    run --separate-stderr "$libtool" --mode=execute valgrind --quiet --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        "$FP_BIN/fp-capture" --replay "$FP_FIXTURES/replay/bitbrains/7.csv" \
        --replay "$FP_FIXTURES/replay/eager/align/align (S2) (8)_cpu.csv" -o /dev/null
    [ "$status" -eq 0 ]
}
