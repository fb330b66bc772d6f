#!/usr/bin/env bats
# fp-capture: options, usage errors and bad input. Fast; no root needed.
load helpers

@test "--help prints usage on stdout and exits 0" {
    run --separate-stderr fpc --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-capture"* ]]
    [[ "$output" == *"--replay FILE"* ]]
    [ -z "$stderr" ]
}

@test "--version names the package" {
    run --separate-stderr fpc --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^fp-capture\ \(fp\)\ [0-9]+\.[0-9]+ ]]
}

@test "no target is a usage error (exit 2) with a message" {
    run --separate-stderr fpc
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ "$stderr" == *"nothing to capture"* ]]
}

@test "a command and an attach target together are refused" {
    run --separate-stderr fpc -p 1 -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not several"* ]]
}

@test "an interval below 10 ms or not a number is refused" {
    run --separate-stderr fpc -i 0.001 -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--interval: '0.001' is not a number of seconds >= 0.01"* ]]
    run --separate-stderr fpc -i 1x -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'1x'"* ]]
}

@test "a malformed --label is refused" {
    run --separate-stderr fpc -l novalue -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"not KEY=VALUE"* ]]
}

@test "--duration with a command is refused" {
    run --separate-stderr fpc -d 1 -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--duration applies to attach modes"* ]]
}

@test "attaching to a pid that does not exist is bad input (exit 3)" {
    run --separate-stderr fpc -p 2147483646 -d 1
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no process 2147483646"* ]]
    [ -z "$output" ]
}

@test "a cgroup path with .. is refused before anything is read" {
    run --separate-stderr fpc --cgroup /../../etc -d 1
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"must not contain '..'"* ]]
    [ -z "$output" ]
}

@test "a cgroup that does not exist is bad input" {
    run --separate-stderr fpc --cgroup /fp-no-such-cgroup -d 1
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no cgroup /fp-no-such-cgroup"* ]]
}

@test "a malformed container reference is refused without contacting Docker" {
    run --separate-stderr fpc --docker-socket /nonexistent.sock --docker '../x' -d 1
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"'../x' is not a valid container id or name"* ]]
}

@test "an unreachable Docker engine is a system error naming the socket" {
    run --separate-stderr fpc --docker-socket "$BATS_TEST_TMPDIR/none.sock" --docker web -d 1
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"none.sock"* ]]
}

@test "a command that does not exist exits 127, one that is not executable 126" {
    run -127 --separate-stderr fpc -- /nonexistent/cmd
    [[ "$stderr" == *"cannot run /nonexistent/cmd: No such file or directory"* ]]
    run -126 --separate-stderr fpc -- "$FP_FIXTURES/replay/unknown.txt"
    [[ "$stderr" == *"Permission denied"* ]]
}

@test "an unwritable output file is a system error" {
    run --separate-stderr fpc -o /nonexistent/dir/out.jsonl -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"cannot open /nonexistent/dir/out.jsonl"* ]]
}

@test "a full output device: the workload still runs, exit 2 with the reason" {
    run --separate-stderr fpc -o /dev/full -i 0.05 -- sh -c "touch '$BATS_TEST_TMPDIR/ran'"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"No space left on device"* ]]
    [ -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "a reader that goes away ends the capture: the command is sent SIGTERM (exit 143)" {
    fpc -i 0.02 -- sh -c 'sleep 5' | head -n 1 > "$BATS_TEST_TMPDIR/first"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 143 ]
    [ "$(jq -r .type "$BATS_TEST_TMPDIR/first")" = sample ]
}

@test "replay: a file that does not exist is a system error naming it" {
    run --separate-stderr fpc --replay "$BATS_TEST_TMPDIR/missing.csv"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"missing.csv"* ]]
    [ -z "$output" ]
}

@test "replay: an unknown format is bad input (exit 3) naming the file" {
    run --separate-stderr fpc --replay "$FP_FIXTURES/replay/unknown.txt"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"unknown.txt: not a known trace format"* ]]
}

@test "more targets than the open-file limit allows is refused up front" {
    args=$(for i in $(seq 1 10); do printf -- "--cgroup /fp-t%d " "$i"; done)
    run --separate-stderr bash -c "ulimit -n 200; exec '$FP_BIN/fp-capture' $args -d 1"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"more than the limit of 200"* ]]
    [ -z "$output" ]
}

@test "the command's standard output never enters the record stream (stderr by default; --cmd-stdout FILE or -)" {
    need_cmd jq
    P=$BATS_TEST_TMPDIR
    # fp-capture -- echo hi | jq: every line of stdout is a record
    run --separate-stderr fpc --no-perf -- echo hi-from-the-command
    [ "$status" -eq 0 ]
    jq -e . <<<"$output" > /dev/null
    (! grep -qx hi-from-the-command <<<"$output")
    [[ "$stderr" == *hi-from-the-command* ]]
    [ "$(jq -sc '[.[].type] | unique' <<<"$output")" = '["actual","fingerprint","sample"]' ]
    # to a file
    run --separate-stderr fpc --no-perf --cmd-stdout "$P/cmd.out" -- echo to-the-file
    [ "$status" -eq 0 ]
    [ "$(cat "$P/cmd.out")" = to-the-file ]
    (! grep -qx to-the-file <<<"$output$stderr")
    # - : on standard output with the records (the old behaviour)
    run --separate-stderr fpc --no-perf --cmd-stdout - -- echo shared
    [ "$status" -eq 0 ]
    grep -qx shared <<<"$output"
    # records in a file: the command's output stays on standard output
    run --separate-stderr fpc --no-perf -o "$P/r.jsonl" -- echo mine
    [ "$status" -eq 0 ]
    [ "$output" = mine ]
    jq -e . "$P/r.jsonl" > /dev/null
    # usage: not with attach modes; an unwritable file is exit 2
    run --separate-stderr fpc --cmd-stdout x -p 1 -d 1
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--cmd-stdout applies to a command"* ]]
    run --separate-stderr fpc --cmd-stdout /nonexistent/dir/x -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--cmd-stdout /nonexistent/dir/x: No such file or directory"* ]]
}

# Seconds since the epoch, with fractions.
now_s() { date +%s.%N; }

@test "attach modes end promptly when the reader of the records goes away (| head -1; idle between samples)" {
    P=$BATS_TEST_TMPDIR
    sleep 300 &
    local sp=$! t0 t
    # a write after head has gone fails: fp-capture stops, exit 2 with the reason
    t0=$(now_s)
    run --separate-stderr timeout 30 bash -c "'$FP_BIN/fp-capture' --no-perf -p $sp -i 0.2 | head -1"
    t=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { print b - a }')
    [ "$status" -eq 0 ]
    [ "$(jq -r .type <<<"$output")" = sample ]
    between "$t" 0 10 "seconds to end after head -1"
    # no write at all for 60 s: the closed pipe is seen while waiting
    t0=$(now_s)
    run timeout 30 bash -c "'$FP_BIN/fp-capture' --no-perf -p $sp -i 60 | (sleep 0.5; exit 0); echo \"\${PIPESTATUS[0]}\""
    t=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { print b - a }')
    [ "$status" -eq 0 ]
    [[ "$output" == *"standard output: write: Broken pipe"* ]]
    [ "${lines[-1]}" = 2 ]
    between "$t" 0 10 "seconds to end, idle"
    # a cgroup target: the same
    t0=$(now_s)
    run timeout 30 bash -c "'$FP_BIN/fp-capture' --no-perf --cgroup / -i 60 | (sleep 0.5; exit 0)"
    t=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { print b - a }')
    [ "$status" -eq 0 ]
    between "$t" 0 10 "seconds to end, --cgroup"
    kill "$sp"
}

@test "a command's capture whose reader goes away ends the command (SIGTERM) and removes its cgroup" {
    P=$BATS_TEST_TMPDIR
    local t0 t
    t0=$(now_s)
    # the records go to head through a pipe: it reads one line and exits
    timeout 30 bash -c "'$FP_BIN/fp-capture' --no-perf -i 0.2 -- sh -c 'echo \$\$ > \"$P/wl\"; exec sleep 100' &
        echo \$! > '$P/pid'; wait \$!; echo \"status \$?\" >&2" 2> "$P/err" | head -1 > "$P/first"
    t=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { print b - a }')
    cat "$P/err"
    between "$t" 0 15 "seconds to end after head -1"
    [ "$(jq -r .type "$P/first")" = sample ]
    grep -q 'status 143' "$P/err"
    run kill -0 "$(cat "$P/wl")"
    [ "$status" -ne 0 ]
    no_fp_cgroups_left "$(cat "$P/pid")"
}
