#!/usr/bin/env bats
# fp-predict: predictions from fingerprints and sample streams, pass-through,
# refusals, bad input, usage errors, history models. Models are trained
# here on small synthetic records (no root, no ../shared).
load helpers

fpt() { "$FP_BIN/fp-train" "$@"; }
fpp() { "$FP_BIN/fp-predict" "$@"; }

setup_file() {
    D0=$BATS_FILE_TMPDIR
    jq -cn 'range(0; 40) as $k | (0.1 * $k + 0.05) as $x |
      {schema:1,type:"fingerprint",id:"w\($k)",t:10,window_s:10,
       features:{cpu_cores_mean:$x, mem_bytes_mean:1000000}},
      {schema:1,type:"actual",id:"w\($k)",t:100,cpu_cores_peak:(2*$x+1)}' > "$D0/train.jsonl"
    "$FP_BIN/fp-train" -q -o "$D0/m.json" "$D0/train.jsonl"
    # sample streams: s0..s4, 60 one-second samples each, then the actual
    jq -cn 'range(0; 5) as $k | (0.5 + 0.1 * $k) as $c |
      (range(0; 60) as $s | {schema:1,type:"sample",id:"s\($k)",t:$s,
         ts_ms:(1700000000000 + $k*100000 + $s*1000),
         cpu_cores:(if $s < 20 then $c else 2*$c end), mem_bytes:(100000000 + $k*1000000)}),
      {schema:1,type:"actual",id:"s\($k)",t:59,cpu_cores_peak:(2*$c)}' > "$D0/st.jsonl"
    "$FP_BIN/fp-train" -q --from-samples --every 5 --horizon 10 --epochs 20 -o "$D0/sm.json" "$D0/st.jsonl"
    "$FP_BIN/fp-train" -q -M vpa -o "$D0/vpa.json" "$D0/st.jsonl"
    export D0
}

setup() {
    D=$BATS_TEST_TMPDIR
    printf '%s\n' \
      '{"schema":1,"type":"fingerprint","id":"a","t":10,"ts_ms":1700000000000,"target":{"cgroup":"/fp/a","container":null,"pid":7},"window_s":10,"features":{"cpu_cores_mean":1.05,"mem_bytes_mean":1000000}}' \
      '{"schema":1,"type":"allocation","id":"a","t":11,"limits":{}}' \
      '{"schema":1,"type":"actual","id":"a","t":50,"cpu_cores_peak":3.1}' > "$D/in.jsonl"
}

@test "--help and --version exit 0" {
    run --separate-stderr fpp --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-predict"* ]]
    [[ "$output" == *"--first-at"* ]]
    run --separate-stderr fpp --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^fp-predict\ \(fp\)\ [0-9]+\.[0-9]+ ]]
}

@test "usage errors exit 2" {
    run --separate-stderr fpp -m "$D0/m.json" --every 0
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--every wants a number"* ]]
    run --separate-stderr fpp -m "$D0/m.json" --max-live 1.5
    [ "$status" -eq 2 ]
    run --separate-stderr fpp -m "$D0/m.json" --bogus
    [ "$status" -eq 2 ]
    run --separate-stderr fpp -m "$D0/m.json" /nonexistent/in.jsonl
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"/nonexistent/in.jsonl: No such file or directory"* ]]
}

@test "no model: the missing default says how to train one (exit 2); FP_MODEL is used" {
    run --separate-stderr env -u FP_MODEL "$FP_BIN/fp-predict" "$D/in.jsonl"
    [ "$status" -ne 0 ] || skip "a default model is installed"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"default model"*"does not exist"*"fp-train"* ]]
    run --separate-stderr env FP_MODEL="$D0/m.json" "$FP_BIN/fp-predict" --no-pass "$D/in.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | jq -r .model)" = linear:m ]
    run --separate-stderr fpp -m "$D/nope.json" "$D/in.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"nope.json"* ]]
    echo '{"format":"other"}' > "$D/bad-model.json"
    run --separate-stderr fpp -m "$D/bad-model.json" "$D/in.jsonl"
    [ "$status" -eq 3 ]
}

@test "a prediction per fingerprint; every record passes through in order" {
    run --separate-stderr fpp -m "$D0/m.json" "$D/in.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "fingerprint prediction allocation actual " ]
    # pass-through is unchanged
    [ "$(jq -c 'select(.type != "prediction")' <<<"$output")" = "$(jq -c . "$D/in.jsonl")" ]
    p=$(of_type prediction <<<"$output")
    [ "$(jq -r .id <<<"$p")" = a ]
    [ "$(jq -c .target <<<"$p")" = '{"cgroup":"/fp/a","container":null,"pid":7}' ]
    [ "$(jq -r .t <<<"$p")" = 10 ]
    [ "$(jq -r .ts_ms <<<"$p")" = 1700000000000 ]
    [ "$(jq -r .horizon_s <<<"$p")" = 0 ]
    [ "$(jq -r .model <<<"$p")" = linear:m ]
    between "$(jq -r .quantiles.cpu_cores.p50 <<<"$p")" 2.9 3.3 "cpu p50 of x=1.05"
    [ "$(jq -r '.quantiles.cpu_cores | keys | join(",")' <<<"$p")" = p50,p90,p99 ]
    [ "$(jq -r .quantiles.io_read_Bps <<<"$p")" = null ]
    [ -n "$(jq -r .missing.io_read_Bps <<<"$p")" ]
    # --no-pass drops fingerprints and samples, not the others
    run --separate-stderr fpp -m "$D0/m.json" --no-pass "$D/in.jsonl"
    [ "$(jq -r .type <<<"$output" | tr '\n' ' ')" = "prediction allocation actual " ]
    # the stream composes with fp-diff
    fpp -m "$D0/m.json" "$D/in.jsonl" | "$FP_BIN/fp-diff" --no-pass > "$D/diff.jsonl"
    [ "$(of_type error "$D/diff.jsonl" | jq -r .model)" = linear:m ]
}

@test "--explain: the features that weighed most (linear)" {
    run --separate-stderr fpp -m "$D0/m.json" --explain --no-pass "$D/in.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | jq -r '.explain.features[0].name')" = cpu_cores_mean ]
    [ "$(of_type prediction <<<"$output" | jq -r 'keys_unsorted[-1]')" = missing ]
}

@test "a fingerprint without a feature the model needs: refused once per input, exit 3" {
    for id in b c; do
        jq -cn --arg id "$id" '{schema:1,type:"fingerprint",id:$id,t:10,features:{cpu_cores_mean:1}}'
    done > "$D/lack.jsonl"
    run --separate-stderr fpp -m "$D0/m.json" "$D/lack.jsonl" "$D/in.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"lack.jsonl:1: b: model needs feature mem_bytes_mean, which the fingerprint lacks"* ]]
    [ "$(grep -c "model needs feature" <<<"$stderr")" = 1 ]
    [[ "$stderr" == *"2 record(s) the model could not read"* ]]
    # the other input is still predicted, everything still passes through
    [ "$(of_type prediction <<<"$output" | jq -r .id)" = a ]
    [ "$(of_type fingerprint <<<"$output" | wc -l)" = 3 ]
}

@test "bad input: NAME:LINE, exit 3; --skip-bad goes on" {
    { cat "$D/in.jsonl"; echo '{"schema":1,"type":'; cat "$D/in.jsonl"; } > "$D/bad.jsonl"
    run --separate-stderr fpp -m "$D0/m.json" "$D/bad.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"$D/bad.jsonl:4:"* ]]
    [ "$(of_type prediction <<<"$output" | wc -l)" = 1 ]
    run --separate-stderr fpp -m "$D0/m.json" --skip-bad "$D/bad.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | wc -l)" = 2 ]
    echo '{"schema":1,"type":"sample","id":"x","t":"soon"}' > "$D/bad2.jsonl"
    run --separate-stderr fpp -m "$D0/m.json" "$D/bad2.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad2.jsonl:1: sample without a numeric"* ]]
    echo '{"schema":1,"type":"fingerprint","t":1,"features":{}}' > "$D/bad3.jsonl"
    run --separate-stderr fpp -m "$D0/m.json" "$D/bad3.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *'bad3.jsonl:1: fingerprint record without an "id"'* ]]
}

@test "a closed stdout is an error (exit 2)" {
    run bash -c "'$FP_BIN/fp-predict' -m '$D0/m.json' '$D/in.jsonl' >&-"
    [ "$status" -eq 2 ]
}

@test "samples: a prediction every --every seconds of each workload, --first-at" {
    run --separate-stderr fpp -m "$D0/sm.json" --no-pass "$D0/st.jsonl"
    [ "$status" -eq 0 ]
    # t = 10, 20, ..., 50 per workload (samples run to t = 59)
    [ "$(of_type prediction <<<"$output" | wc -l)" = 25 ]
    [ "$(of_type prediction <<<"$output" | jq -r 'select(.id=="s0") | .t' | tr '\n' ' ')" = "10 20 30 40 50 " ]
    [ "$(of_type prediction <<<"$output" | jq -r .horizon_s | sort -u)" = 10 ]
    [ "$(of_type prediction <<<"$output" | jq -r .model | sort -u)" = linear:sm ]
    run --separate-stderr fpp -m "$D0/sm.json" --no-pass --every 20 --first-at 3 --horizon 30 "$D0/st.jsonl"
    [ "$(of_type prediction <<<"$output" | jq -r 'select(.id=="s1") | .t' | tr '\n' ' ')" = "3 23 43 " ]
    [ "$(of_type prediction <<<"$output" | jq -r .horizon_s | sort -u)" = 30 ]
    # samples pass through by default
    run --separate-stderr fpp -m "$D0/sm.json" "$D0/st.jsonl"
    [ "$(of_type sample <<<"$output" | wc -l)" = 300 ]
}

@test "samples with a model of non-standard features: refused, exit 3" {
    jq -cn 'range(0; 6) as $k | {schema:1,type:"fingerprint",id:"f\($k)",t:1,features:{f:$k}},
            {schema:1,type:"actual",id:"f\($k)",t:9,cpu_cores_peak:$k}' > "$D/f.jsonl"
    fpt -q -o "$D/f.json" "$D/f.jsonl"
    run --separate-stderr fpp -m "$D/f.json" --no-pass "$D0/st.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"model needs feature"*"not computed from samples"* ]]
    [ "$(grep -c "model needs feature" <<<"$stderr")" = 1 ]
}

@test "--max-live bounds the live windows (least recently seen forgotten)" {
    # interleave two workloads with --max-live 1: each sample evicts the other,
    # so each window starts again and never reaches --every seconds
    jq -c 'select(.type=="sample" and (.id=="s0" or .id=="s1"))' "$D0/st.jsonl" |
        jq -sc 'group_by(.t) | .[] | .[]' > "$D/mix.jsonl"
    run --separate-stderr fpp -m "$D0/sm.json" --no-pass --max-live 2 "$D/mix.jsonl"
    [ "$(of_type prediction <<<"$output" | wc -l)" = 10 ]
    [ -z "$stderr" ]
    run --separate-stderr fpp -m "$D0/sm.json" --no-pass --max-live 1 "$D/mix.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [[ "$stderr" == *"forgot 119 live workload(s) to stay within --max-live 1"* ]]
}

@test "history model (vpa): recommendations only for workloads it has seen" {
    printf '%s\n' \
      '{"schema":1,"type":"fingerprint","id":"s2","t":10,"ts_ms":1700000260000,"features":{}}' \
      '{"schema":1,"type":"fingerprint","id":"new","t":10,"ts_ms":1700000260000,"features":{}}' > "$D/h.jsonl"
    run --separate-stderr fpp -m "$D0/vpa.json" --no-pass "$D/h.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r 'select(.id=="s2") | .quantiles.cpu_cores.p90 > 0' <<<"$output")" = true ]
    [ "$(jq -r 'select(.id=="s2") | .model' <<<"$output")" = vpa:vpa ]
    [ "$(jq -r 'select(.id=="new") | .quantiles.cpu_cores' <<<"$output")" = null ]
    [[ "$(jq -r 'select(.id=="new") | .missing.cpu_cores' <<<"$output")" == *"no samples"* ]]
    # streams: observed, and a recommendation every --every seconds
    run --separate-stderr fpp -m "$D0/vpa.json" --no-pass --every 30 "$D0/st.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | wc -l)" = 5 ]
}

@test "sequence model: a prediction every --every seconds from streaming state; fingerprints refused (exit 3)" {
    fpt -q --model gru --from-samples --every 5 --horizon 10 --hidden 4 --epochs 3 -o "$D/g.json" "$D0/st.jsonl"
    run --separate-stderr fpp -m "$D/g.json" --no-pass "$D0/st.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | jq -r 'select(.id=="s0") | .t' | tr '\n' ' ')" = "10 20 30 40 50 " ]
    [ "$(of_type prediction <<<"$output" | jq -r .model | sort -u)" = gru:g ]
    [ "$(of_type prediction <<<"$output" | jq -r .horizon_s | sort -u)" = 10 ]
    run --separate-stderr fpp -m "$D/g.json" --no-pass "$D/in.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"gru model reads the workload's samples"*"not fingerprints"* ]]
}

@test "the shipped default model loads and sizes a fingerprint fp-capture made" {
    m=$FP_TOP_SRCDIR/share/fp/default-model.json
    [ -f "$m" ]
    [ "$(jq -r .kind "$m")" = knn ]
    [ "$(jq -r .provenance.seed "$m")" = 1 ]
    # the provenance beside it names the data and the command that made it
    [[ "$(jq -r .command "$FP_TOP_SRCDIR/share/fp/default-model.provenance.json")" == *train-default.sh ]]
    # trained on fingerprints of fp-run's default window (issue 11)
    w=$("$FP_BIN/fp-run" --help | sed -n 's/.*--window SEC.*(default \([0-9.]*\)).*/\1/p')
    [ -n "$w" ]
    [ "$(jq --argjson w "$w" '.provenance.window_s == $w' "$m")" = true ]
    run --separate-stderr bash -c "'$FP_BIN/fp-capture' -w 0.3 --no-samples -- sleep 0.5 | FP_MODEL='$m' '$FP_BIN/fp-predict' --no-pass"
    [ "$status" -eq 0 ]
    p=$(jq -c 'select(.type == "prediction")' <<<"$output")
    [ -n "$p" ]
    [ "$(jq -r .model <<<"$p")" = knn:default-model ]
    [ "$(jq '.quantiles.mem_bytes.p50 > 0 and .quantiles.mem_bytes.p99 >= .quantiles.mem_bytes.p50' <<<"$p")" = true ]
}

@test "a far-future sample time is refused (exit 3, input and line named), not stepped to" {
    # issue 14: the next-due loop ran once per --every step up to t
    "$FP_BIN/fp-capture" --replay "$FP_FIXTURES/replay/bitbrains/7.csv" |
        jq -c 'if .type == "sample" and .t > 0 then .t = 1e300 else . end' > "$D/far.jsonl"
    run --separate-stderr timeout 20 "$FP_BIN/fp-predict" -m "$FP_TOP_SRCDIR/share/fp/default-model.json" "$D/far.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"far.jsonl:2:"*'"t"'*"out of range"* ]]
    # within the bound, a jump of 1e9 s (1e8 --every steps) is instant
    "$FP_BIN/fp-capture" --replay "$FP_FIXTURES/replay/bitbrains/7.csv" |
        jq -c 'if .type == "sample" and .t > 0 then .t = 9e9 else . end' > "$D/jump.jsonl"
    run --separate-stderr timeout 20 "$FP_BIN/fp-predict" --every 1 -m "$FP_TOP_SRCDIR/share/fp/default-model.json" "$D/jump.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | wc -l)" -ge 1 ]
    for m in "$D0/vpa.json" "$D0/sm.json"; do
        run --separate-stderr timeout 20 "$FP_BIN/fp-predict" --every 0.001 -m "$m" "$D/jump.jsonl"
        [ "$status" -ne 124 ]
    done
}

@test "a line longer than 16 MiB is refused (exit 3, line named); with --skip-bad it is skipped" {
    # issue 14: record readers had no line limit (getline grew without bound)
    { cat "$D/in.jsonl"; printf '{"schema":1,"type":"big","p":"'; head -c $((17 << 20)) /dev/zero | tr '\0' a; echo '"}'; } > "$D/over.jsonl"
    run --separate-stderr timeout 30 "$FP_BIN/fp-predict" -m "$D0/m.json" "$D/over.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"over.jsonl:4: line longer than 16777216 bytes"* ]]
    run --separate-stderr timeout 30 "$FP_BIN/fp-predict" --skip-bad -m "$D0/m.json" "$D/over.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type prediction <<<"$output" | wc -l)" -eq 1 ]
}

# History as a prior (fp-train --prior, fp/model.h): workloads of two
# processes with the same fingerprints, p0 always at 1 GB, p1 at 100 MB.
prior_data() {
    jq -cn 'range(0; 20) as $k | (0.1 * $k + 0.05) as $x | "p\($k % 2)" as $p |
      {schema:1,type:"fingerprint",id:"w\($k)",t:10,window_s:10,meta:{process:$p},
       features:{cpu_cores_mean:$x, mem_bytes_mean:1000000}},
      {schema:1,type:"actual",id:"w\($k)",t:100,cpu_cores_peak:1,
       mem_bytes_peak:(if $p == "p0" then 1000000000 else 100000000 end)}' > "$D/pr.jsonl"
    # a fingerprint like w1's (p1), of process PROC, with extra meta
    q() { jq -cn --arg p "$1" --argjson more "${2:-{\}}" '{schema:1,type:"fingerprint",id:"q",t:10,window_s:10,
        meta:({process:$p} + $more), features:{cpu_cores_mean:0.15, mem_bytes_mean:1000000}}'; }
}

@test "history as a prior: a known process is sized from its own runs, the record says so; --no-prior, unknown keys, the request cap" {
    prior_data
    fpt -q -M knn --k 1 --val-frac 0 --no-calibrate -o "$D/m.json" "$D/pr.jsonl"
    [ "$(jq -r '.prior.key' "$D/m.json")" = auto ]
    [ "$(jq -r '[.prior.keys[].key] | sort | join(",")' "$D/m.json")" = "process=p0,process=p1" ]
    [ "$(jq -r '.prior.keys[] | select(.key == "process=p0") | .n.mem_bytes' "$D/m.json")" = 10 ]
    # p0 with p1's fingerprint: the model's nearest says 100 MB; p0 always
    # peaked at 1 GB (spread 0): every level is 1 GB
    q p0 | fpp -m "$D/m.json" --no-pass > "$D/o.jsonl"
    cat "$D/o.jsonl"
    [ "$(jq -c '.quantiles.mem_bytes' "$D/o.jsonl")" = '{"p50":1000000000,"p90":1000000000,"p99":1000000000}' ]
    [ "$(jq -c '.prior' "$D/o.jsonl")" = '{"key":"process=p0","n":10}' ]
    # without the prior: the fingerprint's neighbour (p1, 100 MB; knn's
    # upper levels widen a little)
    q p0 | fpp -m "$D/m.json" --no-pass --no-prior > "$D/o2.jsonl"
    [ "$(jq -r '.quantiles.mem_bytes.p50' "$D/o2.jsonl")" = 100000000 ]
    jq -e '.quantiles.mem_bytes.p99 < 200000000' "$D/o2.jsonl"
    [ "$(jq -r '.prior' "$D/o2.jsonl")" = null ]
    # a process the model never saw: the model alone, no prior in the record
    q p9 | fpp -m "$D/m.json" --no-pass > "$D/o3.jsonl"
    [ "$(jq -r '.quantiles.mem_bytes.p50' "$D/o3.jsonl")" = 100000000 ]
    [ "$(jq -r 'has("prior")' "$D/o3.jsonl")" = false ]
    # a request in the metadata still caps, after the prior
    q p0 '{"req_mem_bytes": 500000000}' | fpp -m "$D/m.json" --no-pass > "$D/o4.jsonl"
    [ "$(jq -r '.quantiles.mem_bytes.p99' "$D/o4.jsonl")" = 500000000 ]
    [ "$(jq -r '.capped_by.mem_bytes' "$D/o4.jsonl")" = meta.req_mem_bytes ]
    [ "$(jq -r '.prior.key' "$D/o4.jsonl")" = process=p0 ]
    # a model file without a prior section (written before it existed)
    # loads and predicts what --no-prior does
    jq 'del(.prior)' "$D/m.json" > "$D/old.json"
    q p0 | fpp -m "$D/old.json" --no-pass > "$D/o5.jsonl"
    [ "$(jq -c '.quantiles' "$D/o5.jsonl")" = "$(jq -c '.quantiles' "$D/o2.jsonl")" ]
}

@test "fp-train --prior off|empty, --prior-key, --update adds runs, a killed run's memory never lowers it" {
    prior_data
    fpt -q -M knn --k 1 --val-frac 0 --no-calibrate --prior off -o "$D/off.json" "$D/pr.jsonl"
    [ "$(jq 'has("prior")' "$D/off.json")" = false ]
    fpt -q -M knn --k 1 --val-frac 0 --no-calibrate --prior empty -o "$D/empty.json" "$D/pr.jsonl"
    [ "$(jq -c '[.prior.key, .prior.keys]' "$D/empty.json")" = '["auto",[]]' ]
    q p0 | fpp -m "$D/empty.json" --no-pass | jq -e '.quantiles.mem_bytes.p50 == 100000000 and (has("prior") | not)'
    fpt -q -M knn --k 1 --val-frac 0 --no-calibrate --prior-key 'meta.process~p(1)' --prior-keep 4 --prior-keys 5 -o "$D/k.json" "$D/pr.jsonl"
    [ "$(jq -c '[.prior.key, .prior.keep, .prior.max_keys, [.prior.keys[].key]]' "$D/k.json")" = '["meta.process~p(1)",4,5,["process=1"]]' ]
    [ "$(jq -c '.prior.keys[0].peaks.mem_bytes | length' "$D/k.json")" = 4 ]
    run fpt -q --prior-key nonsense -o "$D/x.json" "$D/pr.jsonl"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--prior-key"* ]]
    run fpt -q --prior sometimes -o "$D/x.json" "$D/pr.jsonl"
    [ "$status" -eq 2 ]
    # --update: the model's prior goes on; two more runs of p0, one of
    # them killed under a limit at 600 MB (a lower bound below p0's 1 GB)
    fpt -q -M knn --k 1 --val-frac 0 --no-calibrate -o "$D/m.json" "$D/pr.jsonl"
    jq -cn '{schema:1,type:"fingerprint",id:"u1",t:10,window_s:10,meta:{process:"p0"},features:{cpu_cores_mean:0.15, mem_bytes_mean:1000000}},
            {schema:1,type:"actual",id:"u1",t:100,mem_bytes_peak:1100000000},
            {schema:1,type:"fingerprint",id:"u2",t:10,window_s:10,meta:{process:"p0"},features:{cpu_cores_mean:0.15, mem_bytes_mean:1000000}},
            {schema:1,type:"actual",id:"u2",t:100,mem_bytes_peak:600000000,oom_kills:1,exit_signal:9}' > "$D/more.jsonl"
    fpt -q --update "$D/m.json" -o "$D/m2.json" "$D/more.jsonl"
    [ "$(jq -r '.prior.keys[] | select(.key == "process=p0") | .n.mem_bytes' "$D/m2.json")" = 11 ]
    [ "$(jq -c '.prior.keys[] | select(.key == "process=p0") | .peaks.mem_bytes | [min, max]' "$D/m2.json")" = '[1000000000,1100000000]' ]
    # --update --prior off drops it
    fpt -q --update "$D/m.json" --prior off -o "$D/m3.json" "$D/more.jsonl"
    [ "$(jq 'has("prior")' "$D/m3.json")" = false ]
}
