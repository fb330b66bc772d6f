#!/usr/bin/env bats
# README.md's examples, run as written. Every ```sh block of README.md is
# marked on the line before it with <!-- test: NAME -->, and this file has
# one test per NAME: it runs the block (bash -e -o pipefail, in a scratch
# directory holding a small Makefile, bin/ and share/ of this tree, with
# the tools first in PATH), or skips it with the reason it cannot run here.
# A block without a marker, or a marker without a test, fails the first
# test, so the examples cannot drift away from what the tools do.
load helpers

setup() {
    need_cmd jq
    P=$BATS_TEST_TMPDIR
    README=$FP_TOP_SRCDIR/README.md
}

# The text of block NAME.
readme_block() { # NAME
    awk -v want="$1" '
        /^<!-- test: [A-Za-z0-9_-]+ -->$/ { name = $3; next }
        /^```sh$/ { inblock = (name == want); name = ""; next }
        /^```/ { inblock = 0; next }
        inblock { print }
        { if ($0 != "") name = "" }' "$README"
}

# Run block NAME in a scratch directory; its stdout in $P/out, stderr in
# $P/err, its status in $status. TIMEOUT (s) bounds it.
readme_run() { # NAME [TIMEOUT]
    local sb=$P/sb
    mkdir -p "$sb" "$P/home"
    ln -sfn "$FP_BIN" "$sb/bin"
    ln -sfn "$FP_TOP_SRCDIR/share" "$sb/share"
    ln -sfn "$FP_TOP_SRCDIR/tests" "$sb/tests"
    # a small project: two targets of ~2 s each, a line of output each
    printf 'all: a b\na b:\n\t@sleep 2; i=0; while [ $$i -lt 50000 ]; do i=$$((i + 1)); done; echo built $@\n' > "$sb/Makefile"
    readme_block "$1" > "$P/block.sh"
    [ -s "$P/block.sh" ] || { echo "README.md has no block '$1'" >&2; return 1; }
    echo "--- block $1:"; cat "$P/block.sh"
    status=0
    (cd "$sb" && HOME=$P/home XDG_DATA_HOME=$P/data XDG_STATE_HOME=$P/state PATH="$FP_BIN:$PATH" \
        timeout "${2:-120}" bash -e -o pipefail "$P/block.sh" < /dev/null > "$P/out" 2> "$P/err") || status=$?
    echo "--- status $status; stdout:"; cat "$P/out"; echo "--- stderr:"; cat "$P/err"
}

@test "every sh block of README.md is marked, and every marked block has a test here" {
    local marked blocks tested
    blocks=$(grep -c '^```sh$' "$README")
    marked=$(grep -B1 '^```sh$' "$README" | grep -c '^<!-- test: [A-Za-z0-9_-]* -->$')
    [ "$blocks" = "$marked" ] || { echo "$blocks sh blocks, $marked marked" >&2; return 1; }
    tested=$(grep -o '^@test "README: [A-Za-z0-9_-]*' "$BATS_TEST_FILENAME" | awk '{ print $3 }' | sort)
    diff <(grep -o '^<!-- test: [A-Za-z0-9_-]*' "$README" | awk '{ print $3 }' | sort) <(echo "$tested")
}

@test "README: build" {
    skip "installs packages and builds fp: .ci/run does exactly this"
}

@test "README: make-check" {
    skip "it is the suite this test is part of"
}

@test "README: building" {
    skip "rebuilds this tree (make distcheck is run on its own)"
}

@test "README: fuzz-campaign" {
    skip "hours per harness (10M executions each); make check runs the same harnesses briefly (tests/fuzz/smoke.sh)"
}

@test "README: fp-run-forms" {
    skip "forms with placeholders (a model in ~, ./build.sh, ./job.sh, a container named web, a node_exporter directory); --watch-docker and fp-profile run until stopped"
}

@test "README: fp-apply-forms" {
    skip "need a cgroup or container that outlives the capture before them (fp-apply.bats tests --revert and -b docker)"
}

@test "README: sizey-eval" {
    skip "needs ../shared/data/nextflow-sizey and about a minute: run by hand (tests/bench/sizey-eval.sh)"
}

@test "README: nextflow" {
    readme_run nextflow
    [ "$status" -eq 0 ]
    [ "$(grep -c '^{' "$P/out")" -eq 4 ]
    grep -q '"process":"NFCORE_X:ALIGN","attempt":2,"mem_bytes_peak":2684354560,"status":"COMPLETED"' "$P/out"
    grep -q "^    withName: 'NFCORE_X:ALIGN' {" "$P/out"
    grep -q 'memory = { 2688.MB \* task.attempt }' "$P/out"
    grep -q "would have wasted 0.1 GB.h (92% less)" "$P/err"
    [ -s "$P/sb/jobs.jsonl" ]
}

@test "README: tour-elsewhere" {
    skip "placeholders (a service's cgroup, a container named web; --watch-docker runs until stopped) and traces outside this repository"
}

@test "README: quick-start" {
    need_root
    need_cmd stress-ng
    readme_run quick-start 120
    [ "$status" -eq 0 ]
    # what the README shows: predictions, allocations, the actual and the error, one JSON object a line
    jq -e . "$P/out" > /dev/null
    [ "$(jq -sc '[.[].type] | unique' "$P/out")" = '["actual","allocation","error","prediction"]' ]
}

@test "README: summary" {
    need_root
    need_cmd stress-ng
    readme_run summary 120
    [ "$status" -eq 0 ]
    # the records in the file, the summary on stderr, as shown
    jq -e . "$P/sb/run.jsonl" > /dev/null
    [ ! -s "$P/out" ]
    grep -q '^fp-run summary: stress-ng-' "$P/err"
    grep -Eq '^  limits at .*reason: prediction \(dry run: planned, not set\)' "$P/err"
    grep -Eq '^    memory +peak [0-9.]+ MiB, mean [0-9.]+ MiB, no OOM kill$' "$P/err"
    grep -Eq '^  verdict: (over-provisioned|fits|under-provisioned)' "$P/err"
}

@test "README: tour" {
    readme_run tour 120
    [ "$status" -eq 0 ]
    # the fingerprint's two features from jq; make's own lines went to stderr
    head -1 "$P/out" | jq -e 'has("cpu_cores_mean") and has("mem_bytes_max")'
    # -o FILE: the command's output stays on stdout; the summary is on stderr
    grep -q '^built a$' "$P/out"
    grep -q 'fp-capture summary: make' "$P/err"
    # -p $$: the shell's own records
    jq -se 'map(select(.type == "actual" and .meta.cmd[0] == "bash")) | length == 1' <(grep '^{' "$P/out")
    grep -q '^built a$' "$P/err"
    [ -s "$P/sb/build.jsonl" ]
}

@test "README: learning-loop" {
    need_root
    readme_run learning-loop 300
    [ "$status" -eq 0 ]
    [ "$(jq -s 'map(select(.type == "actual")) | length' "$P/sb/history.jsonl")" = 5 ]
    jq -se 'map(select(.type == "score")) | length >= 1' "$P/sb/scored.jsonl"
    jq -se 'map(select(.type == "error")) | length == 1' "$P/out"
}

@test "README: prior" {
    readme_run prior 120
    [ "$status" -eq 0 ]
    [ "$(sed -n 1p "$P/out")" = '{"key":"auto","keep":64,"max_keys":1000,"keys":18}' ]
    # with the prior: the command's own peak, and the record says so
    sed -n 2p "$P/out" | jq -e '.mem_p99 == 306958336 and .prior.n == 1 and (.prior.key | startswith("cmd=stress-ng"))'
    # without: the model alone
    sed -n 3p "$P/out" | jq -e '.mem_p99 != 306958336 and .prior == null'
}

@test "README: fp-apply" {
    need_root
    readme_run fp-apply 120
    [ "$status" -eq 0 ]
    jq -se 'map(select(.type == "allocation")) | length >= 1' "$P/sb/alloc.jsonl"
}
