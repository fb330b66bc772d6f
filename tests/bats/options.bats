#!/usr/bin/env bats
# Options across the tools: a short option letter means the same long
# option in every tool that has it (from each tool's --help), as the table
# of fp(7) OPTION LETTERS says; the two letters that meant something else
# in one tool still work there, with a warning.
load helpers

TOOLS="fp-capture fp-apply fp-train fp-predict fp-diff fp-run fp-retrain fp-profile"

# "TOOL -X --long" for every "-X, --long" of every tool's --help.
letters() {
    local t
    for t in $TOOLS; do
        "$FP_BIN/$t" --help | grep -oE '^ +-[a-zA-Z], --[a-z-]+' | awk -v t="$t" '{ sub(",", "", $1); print t, $1, $2 }'
    done
}

@test "a short option letter means the same long option in every tool's --help" {
    letters > "$BATS_TEST_TMPDIR/l"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/l")" -gt 20 ]
    # letters mapped to more than one long option
    clash=$(awk '{ print $2, $3 }' "$BATS_TEST_TMPDIR/l" | sort -u | awk '{ n[$1]++; l[$1] = l[$1] " " $2 } END { for (k in n) if (n[k] > 1) print k ":" l[k] }')
    [ -z "$clash" ] || { echo "letters with several meanings: $clash" >&2; return 1; }
}

@test "fp(7)'s table of common letters agrees with the tools" {
    letters > "$BATS_TEST_TMPDIR/l"
    # the table's rows: letter, long option, tools (troff escapes removed)
    sed -n '/^\.SH OPTION LETTERS/,/^\.TE/p' "$FP_TOP_SRCDIR/man/fp.7" | sed 's/\\-/-/g' |
        awk -F'\t' 'NF == 3 && $1 ~ /^-[a-zA-Z]$/ { print $1 "\t" $2 "\t" $3 }' > "$BATS_TEST_TMPDIR/table"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/table")" -ge 8 ]
    while IFS=$'\t' read -r letter long tools; do
        long=${long%% *}
        # every tool of the row has the letter with that long option, and no other tool has the letter
        want=$(tr -d ' ' <<<"$tools" | tr ',' '\n' | grep -v '^all$' | sort)
        have=$(awk -v x="$letter" -v y="$long" '$2 == x && $3 == y { print $1 }' "$BATS_TEST_TMPDIR/l" | sort)
        if [ "$tools" = all ]; then continue; fi
        [ "$want" = "$have" ] || { echo "$letter $long: fp(7) says $want; --help says $have" >&2; return 1; }
        others=$(awk -v x="$letter" '$2 == x' "$BATS_TEST_TMPDIR/l" | wc -l)
        [ "$others" = "$(wc -l <<<"$have")" ]
    done < "$BATS_TEST_TMPDIR/table"
}

@test "deprecated letters still work with a warning: fp-capture -m (--meta), fp-diff -q (--quantile); the long forms do not warn" {
    need_cmd jq
    local P=$BATS_TEST_TMPDIR
    run --separate-stderr "$FP_BIN/fp-capture" --no-perf -w 0 --no-samples -m input_bytes=5 -- true
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"fp-capture: warning: -m is deprecated: use --meta"* ]]
    [ "$(jq -s '.[0].meta.input_bytes' <<<"$output")" = 5 ]
    run --separate-stderr "$FP_BIN/fp-capture" --no-perf -w 0 --no-samples --meta input_bytes=5 -- true
    [ "$status" -eq 0 ]
    [[ "$stderr" != *deprecated* ]]
    printf '%s\n' '{"schema":1,"type":"prediction","id":"w","t":0,"horizon_s":0,"quantiles":{"cpu_cores":{"p50":1,"p90":2}}}' \
        '{"schema":1,"type":"actual","id":"w","t":9,"duration_s":9,"cpu_cores_peak":1.5}' > "$P/in.jsonl"
    run --separate-stderr "$FP_BIN/fp-diff" -q p50 --no-pass "$P/in.jsonl"
    [[ "$stderr" == *"fp-diff: warning: -q is deprecated: use --quantile"* ]]
    a=$(jq -c 'select(.type == "score") | .quantile' <<<"$output")
    [ "$a" = '"p50"' ]
    run --separate-stderr "$FP_BIN/fp-diff" --quantile p50 --no-pass "$P/in.jsonl"
    [[ "$stderr" != *deprecated* ]]
    [ "$(jq -c 'select(.type == "score") | .quantile' <<<"$output")" = '"p50"' ]
    # fp-train: --model-kind, and --model still names the kind
    run --separate-stderr "$FP_BIN/fp-train" --model-kind bogus -o "$P/m.json" "$P/in.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr "$FP_BIN/fp-train" --model bogus -o "$P/m.json" "$P/in.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"linear, knn"* ]]
}
