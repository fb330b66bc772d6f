#!/usr/bin/env bats
# exit-codes: every tool maps an error to its exit status through one table
# (fp_exit_code, src/fp/error.h; documented once in fp(7), EXIT STATUS):
# 2 a usage or system error, 3 bad input. Each tool is run on a usage error
# (an unknown option), on bad input (a malformed record or file) and on a
# system error (a file that does not exist or an output that cannot be
# written); stderr must name the option or the input.

load helpers

TOOLS="fp-capture fp-train fp-predict fp-apply fp-diff fp-run fp-profile fp-retrain"
MODEL=$FP_TOP_SRCDIR/share/fp/default-model.json

setup() {
    P=$BATS_TEST_TMPDIR
    printf '{"type":"fingerprint",\n' > "$P/bad.jsonl"
    echo 'not a model' > "$P/bad-model.json"
    mkdir -p "$P/history"
}

# expect CODE WORD TOOL ARGS... : run the tool (stdin from $IN or empty),
# assert its exit status and that stderr holds WORD.
expect() {
    local code=$1 word=$2 tool=$3
    shift 3
    run --separate-stderr "$FP_BIN/$tool" "$@" < "${IN:-/dev/null}"
    echo "$tool $*: status $status, stderr: $stderr"
    [ "$status" -eq "$code" ]
    [[ "$stderr" == *"$word"* ]]
}

@test "a usage error (an unknown option) exits 2 in every tool, naming the option" {
    for t in $TOOLS; do
        expect 2 no-such-option "$t" --no-such-option
    done
}

@test "bad input (a malformed record or file) exits 3 in every tool, naming the input" {
    local B=$P/bad.jsonl
    expect 3 "$B:1:" fp-capture --replay "$B"
    expect 3 "$B:1:" fp-train "$B" -o "$P/m.json"
    expect 3 "$B:1:" fp-predict -m "$MODEL" "$B"
    expect 3 "$B:1:" fp-apply -n "$B"
    expect 3 "$B:1:" fp-diff "$B"
    expect 3 "$P/bad-model.json" fp-run -m "$P/bad-model.json" --no-history -- true
    expect 3 "$P/bad-model.json" fp-profile -m "$P/bad-model.json"
    expect 3 "$P/bad-model.json" fp-retrain --history "$P/history" "$P/bad-model.json"
    [ ! -e "$P/m.json" ]
    # a malformed record line on standard input, named as such
    IN=$B expect 3 "<stdin>:1:" fp-train -o "$P/m.json"
    IN=$B expect 3 "<stdin>:1:" fp-predict -m "$MODEL"
    IN=$B expect 3 "<stdin>:1:" fp-apply -n
    IN=$B expect 3 "<stdin>:1:" fp-diff
    IN=$B expect 3 "-:1:" fp-capture --replay -
    # a bad model where a tool reads one is bad input everywhere
    expect 3 "$P/bad-model.json" fp-predict -m "$P/bad-model.json" "$B"
}

@test "a system error (no such file, an output that cannot be written) exits 2 in every tool, naming it" {
    local N=$P/no/such
    expect 2 "$N/trace.jsonl" fp-capture --replay "$N/trace.jsonl"
    expect 2 "$N/out.jsonl" fp-capture -o "$N/out.jsonl" -- true
    expect 2 "$N/in.jsonl" fp-train "$N/in.jsonl" -o "$P/m.json"
    expect 2 "$N/in.jsonl" fp-predict -m "$MODEL" "$N/in.jsonl"
    expect 2 "$N/model.json" fp-predict -m "$N/model.json"
    expect 2 "$N/in.jsonl" fp-apply -n "$N/in.jsonl"
    expect 2 "$N/in.jsonl" fp-diff "$N/in.jsonl"
    expect 2 "$N/policy.json" fp-run -P "$N/policy.json" --no-history -- true
    expect 2 "$N/model.json" fp-profile -m "$N/model.json"
    expect 2 "$N" fp-retrain --history "$N" "$MODEL"
}
