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

@test "a reader that goes away does not kill the capture or leave its cgroup" {
    fpc -i 0.02 -- sh -c 'sleep 0.5' | head -n 1 > "$BATS_TEST_TMPDIR/first"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 2 ]
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
