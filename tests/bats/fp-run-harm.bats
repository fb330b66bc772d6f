#!/usr/bin/env bats
# fp-run never harms a workload: real growth patterns run under fp-run with
# the shipped default model end as they end without it (same exit status),
# with no OOM kill, and an error record that says so. Each test prints the
# memory slack of the first limit and the time to that limit (TAP
# diagnostics). The shipped model has seen none of them (novelty 9-13), so
# their first memory limits come from their own usage (the policy's
# novel_anchor): tight limits, which the growth floor and the memory guard
# must raise in time. Needs root (cgroups) and python3; about 2 minutes.
load helpers

setup() {
    need_root
    need_cmd jq
    need_cmd python3
    P=$BATS_TEST_TMPDIR
    GROW="$FP_TOP_SRCDIR/tests/workloads/grow.py"
    MODEL="$FP_TOP_SRCDIR/share/fp/default-model.json"
}

# unlimited CMD...: run it without fp; its exit status in $base
unlimited() {
    set +e
    "$@" >/dev/null 2>&1
    base=$?
    set -e
}

# under NAME CMD...: run CMD under fp-run with the default model, check it
# was not harmed, report slack and time to the first limit.
under() {
    local name=$1 st
    shift
    unlimited "$@"
    set +e
    "$FP_BIN/fp-run" -m "$MODEL" --no-history --id "$name" -- "$@" > "$P/r.jsonl" 2> "$P/err"
    st=$?
    set -e
    cat "$P/err" >&2
    jq -c 'select(.type=="allocation") | {t, reason, ok, mem_high: .limits.mem_high_bytes, mem_max: .limits.mem_max_bytes}' "$P/r.jsonl" >&2
    jq -c 'select(.type=="actual") | {exit_code, exit_signal, oom_kills, mem_bytes_peak}' "$P/r.jsonl" >&2
    [ "$st" -eq "$base" ] || { echo "$name: exit $st under fp-run, $base without" >&2; return 1; }
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$P/r.jsonl")" = 0 ]
    [ "$(jq -r 'select(.type=="error") | .harmed' "$P/r.jsonl")" = false ]
    # limits were really put in place, on the workload's own cgroup
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok and (.limits.mem_max_bytes | type) == "number")] | length' "$P/r.jsonl")" -ge 1 ]
    # ... and the first came from the workload's own usage, not the model
    jq -e -s '[.[] | select(.type=="allocation" and .ok and (.limits.mem_max_bytes | type) == "number")][0]
              | .why.mem_bytes | test("novel .*own usage")' "$P/r.jsonl" > /dev/null
    local peak first t raises
    peak=$(jq -r 'select(.type=="actual") | .mem_bytes_peak' "$P/r.jsonl")
    first=$(jq -s -r '[.[] | select(.type=="allocation" and .ok and (.limits.mem_max_bytes | type) == "number")][0].limits.mem_max_bytes' "$P/r.jsonl")
    t=$(jq -s -r '[.[] | select(.type=="allocation" and .ok)][0].t' "$P/r.jsonl")
    raises=$(jq -r 'select(.type=="error") | .memguard.pressure_raises' "$P/r.jsonl")
    local slack
    slack=$(jq -n --argjson p "$peak" --argjson f "$first" 'if $f > $p then 100 * ($f - $p) / $f else 0 end | floor')
    printf '# %s: peak %d MiB, first hard limit %d MiB (slack %d%%), limits at %.2f s, %d raise(s) on the kernel'"'"'s word\n' \
        "$name" "$((peak / 1048576))" "$(jq -n "$first / 1048576 | floor")" "$slack" "$t" "$raises" >&3
}

@test "steady growth to ~900 MiB in 3 s" {
    under steady python3 "$GROW" steady
}

@test "100 MiB, then +800 MiB at once after 10 s" {
    under step python3 "$GROW" step
}

@test "a sawtooth that frees and re-allocates 600 MiB four times" {
    under sawtooth python3 "$GROW" sawtooth
}

@test "a fork storm (stress-ng --fork)" {
    need_cmd stress-ng
    under forks stress-ng --fork 4 --fork-max 64 -t 4 --quiet
}

@test "a page-cache heavy writer (dd 512 MiB)" {
    # after the first limits (at 2 s), 512 MiB of page cache into them
    under dd sh -c "sleep 3; dd if=/dev/zero of='$P/big' bs=1M count=512 2>/dev/null; sync"
}

@test "a multi-process program whose child grows to 600 MiB" {
    under child python3 "$GROW" child
}

@test "an OOM kill under fp-run's limit is failed and harmed, and --learn does not learn its peak" {
    # a policy that caps memory at 64 MiB (a user's ceiling): at that
    # ceiling nothing can be raised, the guard lets go, the kernel kills
    printf '{"resources":{"mem_bytes":{"ceiling":67108864}}}\n' > "$P/cap.json"
    cp "$MODEL" "$P/m.json"
    set +e
    "$FP_BIN/fp-run" -m "$P/m.json" -P "$P/cap.json" --learn --no-history --id capped -- \
        python3 -c 'import time; time.sleep(2.5); a = bytearray(200 * 2**20)' > "$P/r.jsonl" 2> "$P/err"
    st=$?
    set -e
    cat "$P/err"
    [ "$st" -eq 137 ]
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$P/r.jsonl")" -ge 1 ]
    [ "$(jq -r 'select(.type=="error") | .failed' "$P/r.jsonl")" = true ]
    [ "$(jq -r 'select(.type=="error") | .harmed' "$P/r.jsonl")" = true ]
    [ "$(jq -r 'select(.type=="error") | .resources.mem_bytes.failed_why' "$P/r.jsonl")" = "OOM-killed under its memory limit" ]
    grep -q "memory not learned" "$P/err"
}
