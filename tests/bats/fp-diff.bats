#!/usr/bin/env bats
# fp-diff: scoring predictions and allocations against actuals and samples,
# anomalies, the A B comparison, pass-through, bad input and usage errors.
# Small record files with hand-computed answers; no root needed.
load helpers

fpd() { "$FP_BIN/fp-diff" "$@"; }

# p50/p90 of cpu 1/2 cores and memory 100/200 MB for w1; an actual with
# cpu peak 3 (mean 1), memory peak 150 MB (mean 100 MB) over 1 h; w2 has no
# prediction.
setup() {
    D=$BATS_TEST_TMPDIR
    cat > "$D/run.jsonl" <<'EOF'
{"schema":1,"type":"prediction","id":"w1","t":1,"model":"m1","horizon_s":0,"quantiles":{"cpu_cores":{"p50":1,"p90":2},"mem_bytes":{"p50":100000000,"p90":200000000}}}
{"schema":1,"type":"fingerprint","id":"w1","t":1,"features":{"cpu_cores_mean":1}}
{"schema":1,"type":"actual","id":"w1","t":3600,"duration_s":3600,"cpu_cores_peak":3,"cpu_cores_p95":2.5,"cpu_cores_mean":1,"mem_bytes_peak":150000000,"mem_bytes_p95":140000000,"mem_bytes_mean":100000000,"io_read_Bps_peak":null,"missing":{"io_read_Bps_peak":"no blkio controller"}}
{"schema":1,"type":"actual","id":"w2","t":10,"duration_s":10,"mem_bytes_peak":1}
EOF
}

@test "--help and --version exit 0" {
    run --separate-stderr fpd --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-diff"* ]]
    [[ "$output" == *"--fail-above"* ]]
    run --separate-stderr fpd --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^fp-diff\ \(fp\)\ [0-9]+\.[0-9]+ ]]
}

@test "usage errors exit 2 with a message" {
    run --separate-stderr fpd --actual max
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'--actual wants peak, p95 or mean, not "max"'* ]]
    run --separate-stderr fpd --quantile 90
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--quantile wants a level"* ]]
    run --separate-stderr fpd --tolerance -1
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--tolerance wants a number"* ]]
    run --separate-stderr fpd --fail-above bogus=1
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'unknown metric "bogus"'* ]]
    run --separate-stderr fpd --fail-above under_rate.gpu_cores=1
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'unknown resource "gpu_cores"'* ]]
    run --separate-stderr fpd --fail-above under_rate
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"METRIC[.RESOURCE]=VALUE"* ]]
    run --separate-stderr fpd --fail-above under_rate=x
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --compare "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--compare wants two files"* ]]
    run --separate-stderr fpd --threshold 0.1 "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"apply to a comparison"* ]]
    run --separate-stderr fpd --top 0 "$D/run.jsonl" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --fail-above failed=0 "$D/run.jsonl" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--fail-above applies to a join"* ]]
    run --separate-stderr fpd /nonexistent/run.jsonl
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"/nonexistent/run.jsonl: No such file or directory"* ]]
    [ -z "$output" ]
}

@test "an actual joined with its prediction: error record with exact numbers" {
    run --separate-stderr fpd "$D/run.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    e=$(of_type error <<<"$output")
    [ "$(jq -r .id <<<"$e")" = w1 ]
    [ "$(jq -r .model <<<"$e")" = m1 ]
    [ "$(jq -r .prediction_t <<<"$e")" = 1 ]
    [ "$(jq -r .actual_stat <<<"$e")" = peak ]
    # memory: peak 150 MB; p50 100 MB: 0.5 x 50 MB; p90 200 MB: 0.1 x 50 MB
    [ "$(jq -c .resources.mem_bytes.pinball <<<"$e")" = '{"p50":25000000,"p90":5000000}' ]
    [ "$(jq -r .resources.mem_bytes.actual <<<"$e")" = 150000000 ]
    [ "$(jq -r .resources.mem_bytes.allocated <<<"$e")" = 200000000 ]
    [ "$(jq -r .resources.mem_bytes.allocated_from <<<"$e")" = p90 ]
    [ "$(jq -r .resources.mem_bytes.under <<<"$e")" = false ]
    [ "$(jq -r .resources.mem_bytes.slack <<<"$e")" = 0.25 ]
    # waste: (200 MB - mean 100 MB) x 1 h
    [ "$(jq -r .resources.mem_bytes.wasted_h <<<"$e")" = 100000000 ]
    [ "$(jq -r .resources.mem_bytes.failed <<<"$e")" = false ]
    # cpu: peak 3 above p90 2: pinball p90 0.9 x 1, under, no slack, waste (2 - 1) x 1 h
    [ "$(jq -c .resources.cpu_cores.predicted <<<"$e")" = '{"p50":1,"p90":2}' ]
    [ "$(jq -c .resources.cpu_cores.pinball <<<"$e")" = '{"p50":1,"p90":0.9}' ]
    [ "$(jq -r .resources.cpu_cores.under <<<"$e")" = true ]
    [ "$(jq -r .resources.cpu_cores.slack <<<"$e")" = 0 ]
    [ "$(jq -r .resources.cpu_cores.wasted_h <<<"$e")" = 1 ]
    # not predicted: not scored
    [ "$(jq -r '.resources | keys | join(",")' <<<"$e")" = cpu_cores,mem_bytes ]
    # one error record: w2 had no prediction
    [ "$(of_type error <<<"$output" | wc -l)" -eq 1 ]
}

@test "the score record aggregates per resource and level" {
    run --separate-stderr fpd "$D/run.jsonl"
    [ "$status" -eq 0 ]
    s=$(of_type score <<<"$output")
    [ "$(tail -n1 <<<"$output" | jq -r .type)" = score ]
    [ "$(jq -r .actuals.n <<<"$s")" = 1 ]
    [ "$(jq -r .actuals.unmatched <<<"$s")" = 1 ]
    [ "$(jq -r .actuals.failed <<<"$s")" = 0 ]
    [ "$(jq -r .actuals.resources.mem_bytes.levels.p50.coverage <<<"$s")" = 0 ]
    [ "$(jq -r .actuals.resources.mem_bytes.levels.p90.coverage <<<"$s")" = 1 ]
    [ "$(jq -r .actuals.resources.mem_bytes.coverage_gap <<<"$s")" = 0.5 ]
    [ "$(jq -r .actuals.resources.mem_bytes.pinball <<<"$s")" = 15000000 ]
    [ "$(jq -r .actuals.resources.cpu_cores.under_rate <<<"$s")" = 1 ]
    [ "$(jq -r .actuals.resources.cpu_cores.coverage_gap <<<"$s")" = 0.9 ]
    [ "$(jq -r .actuals.wasted_core_h <<<"$s")" = 1 ]
    [ "$(jq -r .actuals.wasted_gb_h <<<"$s")" = 0.1 ]
    [ "$(jq -r .samples.n <<<"$s")" = 0 ]
    [ "$(jq -r .errors <<<"$s")" = 1 ]
    [ "$(jq -r .anomalies <<<"$s")" = 1 ]
    [ "$(jq -c .exceeded <<<"$s")" = '[]' ]
    # --table prints the same on stderr
    run --separate-stderr fpd --table "$D/run.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"actuals: 1 scored (workloads), 1 unmatched, 0 failed"* ]]
    [[ "$stderr" =~ cpu_cores\ +1\ +1\ +0\ +1 ]]
}

@test "--actual and --quantile choose what is scored" {
    run --separate-stderr fpd --actual p95 --quantile p50 "$D/run.jsonl"
    [ "$status" -eq 0 ]
    e=$(of_type error <<<"$output")
    [ "$(jq -r .actual_stat <<<"$e")" = p95 ]
    [ "$(jq -r .resources.mem_bytes.actual <<<"$e")" = 140000000 ]
    [ "$(jq -r .resources.mem_bytes.allocated_from <<<"$e")" = p50 ]
    # p95 140 MB above the p50 allocation 100 MB: under; the peak above it: failed
    [ "$(jq -r .resources.mem_bytes.under <<<"$e")" = true ]
    [ "$(jq -r .resources.mem_bytes.failed <<<"$e")" = true ]
    [ "$(jq -r .failed <<<"$e")" = true ]
    [ "$(of_type score <<<"$output" | jq -r .actuals.failed)" = 1 ]
    [ "$(of_type score <<<"$output" | jq -r .quantile)" = p50 ]
}

@test "--fail-above: exit 1 past a threshold, naming it; 0 below" {
    run --separate-stderr fpd --fail-above under_rate=0.5 "$D/run.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"under_rate 1 (actuals, cpu_cores) is above 0.5"* ]]
    [ "$(of_type score <<<"$output" | jq -r '.exceeded[0].metric')" = under_rate ]
    run --separate-stderr fpd --fail-above under_rate.mem_bytes=0.5 --fail-above wasted_gb_h=0.2 \
        --fail-above coverage_gap=0.95 --fail-above failed=0 "$D/run.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    run --separate-stderr fpd --fail-above wasted_core_h=0.5 --fail-above coverage_gap.mem_bytes=0.4 "$D/run.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"wasted_core_h 1 (actuals, cpu_cores) is above 0.5"* ]]
    [[ "$stderr" == *"coverage_gap 0.5 (actuals, mem_bytes) is above 0.4"* ]]
    [ "$(of_type score <<<"$output" | jq '.exceeded | length')" -eq 2 ]
}

@test "anomalies: above the highest quantile, below the lowest, within tolerance" {
    # cpu peak 3 > p90 2 x 1.2: above, ratio 1.5
    run --separate-stderr fpd "$D/run.jsonl"
    a=$(of_type anomaly <<<"$output")
    [ "$(wc -l <<<"$a")" -eq 1 ]
    [ "$(jq -r .resource <<<"$a")" = cpu_cores ]
    [ "$(jq -r .direction <<<"$a")" = above ]
    [ "$(jq -r .observed <<<"$a")" = 3 ]
    [ "$(jq -c .band <<<"$a")" = '[1,2]' ]
    [ "$(jq -r .ratio <<<"$a")" = 1.5 ]
    [ "$(jq -r .source <<<"$a")" = actual ]
    [ "$(jq -r .t <<<"$a")" = 3600 ]
    # a looser tolerance: no anomaly
    run --separate-stderr fpd --tolerance 0.6 "$D/run.jsonl"
    [ -z "$(of_type anomaly <<<"$output")" ]
    # below: memory peak 50 MB < p50 100 MB / 1.2
    jq -c 'if .type=="actual" and .id=="w1" then .mem_bytes_peak=50000000 else . end' "$D/run.jsonl" > "$D/low.jsonl"
    run --separate-stderr fpd "$D/low.jsonl"
    b=$(of_type anomaly <<<"$output" | jq -c 'select(.resource=="mem_bytes")')
    [ "$(jq -r .direction <<<"$b")" = below ]
    [ "$(jq -r .bound <<<"$b")" = 100000000 ]
    [ "$(jq -r .ratio <<<"$b")" = 0.5 ]
}

@test "samples against an allocation: under rate, slack, waste over time, failures, anomaly episodes" {
    cat > "$D/s.jsonl" <<'EOF'
{"schema":1,"type":"allocation","id":"w1","t":0,"reason":"prediction","ok":true,"dry_run":false,"model":"m2","limits":{"cpu_max_cores":2,"cpu_weight_cores":1,"mem_high_bytes":null,"mem_max_bytes":1000000000,"io_read_Bps":null,"io_write_Bps":"unlimited","pids_max":null,"net_tx_Bps":null}}
{"schema":1,"type":"sample","id":"w1","t":1800,"cpu_cores":1,"mem_bytes":500000000}
{"schema":1,"type":"sample","id":"w1","t":3600,"cpu_cores":3,"mem_bytes":1500000000}
{"schema":1,"type":"sample","id":"w1","t":5400,"cpu_cores":3,"mem_bytes":1500000000}
{"schema":1,"type":"sample","id":"w2","t":5400,"cpu_cores":3,"mem_bytes":1500000000}
{"schema":1,"type":"allocation","id":"w1","t":5400,"reason":"prediction","ok":false,"limits":{"cpu_max_cores":100}}
{"schema":1,"type":"sample","id":"w1","t":7200,"cpu_cores":1,"mem_bytes":500000000}
EOF
    run --separate-stderr fpd "$D/s.jsonl"
    [ "$status" -eq 0 ]
    s=$(of_type score <<<"$output")
    [ "$(jq -r .samples.n <<<"$s")" = 4 ]
    [ "$(jq -r .samples.unmatched <<<"$s")" = 1 ]
    [ "$(jq -r .samples.failed <<<"$s")" = 1 ]
    [ "$(jq -r .samples.resources.mem_bytes.failed <<<"$s")" = 2 ]
    # cpu (the failed allocation changed nothing: still 2): waste 1 x 0.5 h twice
    [ "$(jq -r .samples.resources.cpu_cores.under_rate <<<"$s")" = 0.5 ]
    [ "$(jq -r .samples.resources.cpu_cores.slack <<<"$s")" = 0.25 ]
    [ "$(jq -r .samples.wasted_core_h <<<"$s")" = 1 ]
    # memory: 0.5 GB spare for 0.5 h, twice
    [ "$(jq -r .samples.wasted_gb_h <<<"$s")" = 0.5 ]
    [ "$(jq -r .samples.resources.mem_bytes.slack <<<"$s")" = 0.25 ]
    [ "$(jq -r .actuals.n <<<"$s")" = 0 ]
    # one anomaly per resource for the episode above the allocation (t 3600, not 5400)
    a=$(of_type anomaly <<<"$output")
    [ "$(wc -l <<<"$a")" -eq 2 ]
    [ "$(jq -r .t <<<"$a" | sort -u)" = 3600 ]
    [ "$(jq -r .source <<<"$a" | sort -u)" = sample ]
    [ "$(jq -c 'select(.resource=="mem_bytes") | .band' <<<"$a")" = '[null,1000000000]' ]
    [ -z "$(of_type error <<<"$output")" ]
}

@test "the latest prediction of an id is used, or the first with --first" {
    { jq -c '.quantiles.mem_bytes = {p50:1000, p90:2000}' <<<"$(head -n1 "$D/run.jsonl")"
      cat "$D/run.jsonl"; } > "$D/two.jsonl"
    run --separate-stderr fpd "$D/two.jsonl"
    [ "$(of_type error <<<"$output" | jq -r .resources.mem_bytes.allocated)" = 200000000 ]
    run --separate-stderr fpd --first "$D/two.jsonl"
    [ "$(of_type error <<<"$output" | jq -r .resources.mem_bytes.allocated)" = 2000 ]
}

@test "fp-apply's allocation records join with actuals" {
    fp_v2_tree "$BATS_TEST_TMPDIR/t"
    # p90 1.0 -> cpu.max 1.2 cores; p99 100 MiB -> memory.max 144 MiB
    pred w1 /fp/w1 1.0 104857600 | "$FP_BIN/fp-apply" --dry-run > "$D/alloc.jsonl"
    [ "$(jq -r 'select(.type=="allocation") | .limits.mem_max_bytes' "$D/alloc.jsonl")" = 150994944 ]
    echo '{"schema":1,"type":"actual","id":"w1","t":60,"duration_s":60,"cpu_cores_peak":0.6,"cpu_cores_mean":0.6,"mem_bytes_peak":200000000,"mem_bytes_mean":100000000}' >> "$D/alloc.jsonl"
    run --separate-stderr fpd --no-pass "$D/alloc.jsonl"
    [ "$status" -eq 0 ]
    e=$(of_type error <<<"$output")
    [ "$(jq -r .resources.cpu_cores.allocated_from <<<"$e")" = allocation ]
    [ "$(jq -r .resources.cpu_cores.allocated <<<"$e")" = 1.2 ]
    [ "$(jq -r .resources.cpu_cores.slack <<<"$e")" = 0.5 ]
    [ "$(jq -r .resources.mem_bytes.under <<<"$e")" = true ]
    [ "$(jq -r .resources.mem_bytes.failed <<<"$e")" = true ]
    [ "$(jq -r .failed <<<"$e")" = true ]
    run --separate-stderr fpd --fail-above failed=0 "$D/alloc.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"failed 1 (actuals) is above 0"* ]]
}

@test "other records pass through in order; --no-pass drops them" {
    run --separate-stderr fpd "$D/run.jsonl"
    [ "$(jq -r .type <<<"$output" | paste -sd,)" = fingerprint,error,anomaly,score ]
    [ "$(head -n1 <<<"$output")" = "$(sed -n 2p "$D/run.jsonl")" ]
    run --separate-stderr fpd --no-pass < "$D/run.jsonl"
    [ "$(jq -r .type <<<"$output" | paste -sd,)" = error,anomaly,score ]
}

@test "bad input: file and line named, exit 3, no score" {
    printf '%s\n%s\n' "$(head -n1 "$D/run.jsonl")" '{"schema":1,"type":"actual",' > "$D/bad.jsonl"
    run --separate-stderr fpd "$D/bad.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad.jsonl:2: malformed JSON"* ]]
    [ -z "$(of_type score <<<"$output")" ]
    printf '%s\n' '{"schema":1,"type":"prediction","id":"w1","quantiles":{"mem_bytes":{"p50":5,"p90":1}}}' > "$D/bad2.jsonl"
    run --separate-stderr fpd "$D/bad2.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad2.jsonl:1: "* ]]
    printf '%s\n' '{"schema":1,"type":"actual","id":"w1","mem_bytes_peak":"big"}' > "$D/bad3.jsonl"
    run --separate-stderr fpd < "$D/bad3.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *'<stdin>:1: "mem_bytes_peak" is not a number'* ]]
    printf '%s\n' '{"schema":1,"type":"sample","t":1,"cpu_cores":1}' > "$D/bad4.jsonl"
    run --separate-stderr fpd "$D/bad4.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *'bad4.jsonl:1: sample record without an "id"'* ]]
    printf '%s\n' '{"schema":1,"type":"allocation","id":"w1","ok":true,"limits":{"mem_max_bytes":"lots"}}' > "$D/bad5.jsonl"
    run --separate-stderr fpd "$D/bad5.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"limits.mem_max_bytes is not a number"* ]]
    # --skip-bad goes on and still writes the score
    cat "$D/bad.jsonl" "$D/run.jsonl" > "$D/mixed.jsonl"
    run --separate-stderr fpd --skip-bad "$D/mixed.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"skipped 1 malformed line"* ]]
    [ "$(of_type score <<<"$output" | jq -r .actuals.n)" = 1 ]
}

@test "A B: fingerprint distance, the features that moved most, --threshold" {
    echo '{"schema":1,"type":"fingerprint","id":"old","t":5,"features":{"a":1,"b":10,"c":null,"d":0,"e":5}}' > "$D/a.jsonl"
    { echo '{"schema":1,"type":"fingerprint","id":"x","t":1,"features":{"a":100}}'
      echo '{"schema":1,"type":"fingerprint","id":"new","t":5,"features":{"a":1,"b":30,"c":2,"d":0,"e":4,"f":1}}'; } > "$D/b.jsonl"
    run --separate-stderr fpd "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 0 ]
    c=$output
    [ "$(jq -r .type <<<"$c")" = comparison ]
    [ "$(jq -r .kind <<<"$c")" = fingerprint ]
    [ "$(jq -r .b.id <<<"$c")" = new ]
    # |b: 20/40| + |e: -1/9| over 4 compared (a, b, d, e); c and f skipped
    between "$(jq -r .distance <<<"$c")" 0.152777 0.152778 distance
    [ "$(jq -r .compared <<<"$c")" = 4 ]
    [ "$(jq -r .skipped <<<"$c")" = 2 ]
    [ "$(jq -r '.top | map(.name) | join(",")' <<<"$c")" = b,e ]
    [ "$(jq -c '.top[0]' <<<"$c")" = '{"name":"b","a":10,"b":30,"delta":20,"change":0.5}' ]
    [ "$(jq -r 'has("threshold")' <<<"$c")" = false ]
    run --separate-stderr fpd --top 1 --threshold 0.1 "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"distance 0.152778 is above the threshold 0.1 (moved most: b)"* ]]
    [ "$(jq -r .exceeded <<<"$output")" = true ]
    [ "$(jq '.top | length' <<<"$output")" -eq 1 ]
    run --separate-stderr fpd --compare --threshold 0.2 --table "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r .exceeded <<<"$output")" = false ]
    [[ "$stderr" == *"fingerprint distance 0.1528 over 4 values (2 skipped)"* ]]
    # --id picks a workload in each file
    run --separate-stderr fpd --id x "$D/b.jsonl" "$D/b.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r .distance <<<"$output")" = 0 ]
    [ "$(jq -r .a.id <<<"$output")" = x ]
    run --separate-stderr fpd --id nosuch "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *'of id "nosuch"'* ]]
}

@test "A B with actuals compares peak and p95 per resource" {
    echo '{"schema":1,"type":"actual","id":"r1","t":9,"mem_bytes_peak":100,"mem_bytes_p95":90,"cpu_cores_peak":2,"cpu_cores_p95":1}' > "$D/a.jsonl"
    echo '{"schema":1,"type":"actual","id":"r2","t":9,"mem_bytes_peak":300,"mem_bytes_p95":90,"cpu_cores_peak":2,"cpu_cores_p95":1.5}' > "$D/b.jsonl"
    run --separate-stderr fpd --threshold 0.1 "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 1 ]
    [ "$(jq -r .kind <<<"$output")" = actual ]
    [ "$(jq -r .compared <<<"$output")" = 4 ]
    [ "$(jq -r '.top | map(.name) | join(",")' <<<"$output")" = mem_bytes_peak,cpu_cores_p95 ]
    # (0.5 + 0.2) / 4
    [ "$(jq -r .distance <<<"$output")" = 0.175 ]
    # a file without either: exit 3, and a hint about --join
    run --separate-stderr fpd "$D/a.jsonl" "$D/run.jsonl"
    [ "$status" -eq 0 ]
    run --separate-stderr fpd "$D/a.jsonl" /dev/null
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"/dev/null: no actual record to compare with"*"--join"* ]]
    # --join joins two files instead
    run --separate-stderr fpd --join "$D/run.jsonl" "$D/a.jsonl"
    [ "$status" -eq 0 ]
    [ "$(of_type score <<<"$output" | jq -r .actuals.unmatched)" = 2 ]
}

@test "a closed stdout is an error (exit 2)" {
    run bash -c "'$FP_BIN/fp-diff' '$D/run.jsonl' >&-"
    [ "$status" -eq 2 ]
    run bash -c "'$FP_BIN/fp-diff' '$D/run.jsonl' '$D/run.jsonl' >&-"
    [ "$status" -eq 2 ]
}
