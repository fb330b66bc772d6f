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
    [[ "$stderr" =~ cpu_cores\ +1\ +100\ %\ +0\ %\ +1\ core-h ]]
}

@test "--table writes numbers with units and readable magnitudes, no exponents" {
    run --separate-stderr fpd --table "$D/run.jsonl"
    [ "$status" -eq 0 ]
    # under_rate and slack in percent, the waste in core-h and MiB-h (0.1 GB-h)
    [[ "$stderr" =~ mem_bytes\ +1\ +0\ %\ +25\ %\ +95\.4\ MiB-h ]]
    [[ "$stderr" == *"p50 0 %  p90 100 %"* ]]
    ! [[ "$stderr" =~ [0-9]e[+-][0-9] ]]
    # the comparison of two actuals: bytes in MiB, cores
    printf '%s\n' '{"schema":1,"type":"actual","id":"x","t":10,"mem_bytes_peak":270841000,"cpu_cores_peak":1.5}' > "$D/a.jsonl"
    printf '%s\n' '{"schema":1,"type":"actual","id":"x","t":10,"mem_bytes_peak":170841000,"cpu_cores_peak":2.5}' > "$D/b.jsonl"
    run --separate-stderr fpd --table "$D/a.jsonl" "$D/b.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" =~ mem_bytes_peak\ +258\.3\ MiB\ +162\.9\ MiB ]]
    [[ "$stderr" =~ cpu_cores_peak\ +1\.50\ cores\ +2\.50\ cores ]]
    ! [[ "$stderr" =~ [0-9]e[+-][0-9] ]]
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

# ---------------------------------------------------------------- --svg, --textfile

# w1: a prediction p10/p50/p90 of 0.5/1/2 cores, an allocation of 2.4 cores
# (cpu.max) and 300 MB, four samples (one without cpu), and one of w2.
chart_input() {
    cat > "$D/c.jsonl" <<'EOF2'
{"schema":1,"type":"prediction","id":"w1","t":0,"model":"m1","horizon_s":0,"quantiles":{"cpu_cores":{"p10":0.5,"p50":1,"p90":2},"mem_bytes":{"p50":100000000,"p90":200000000}}}
{"schema":1,"type":"allocation","id":"w1","t":0,"reason":"prediction","ok":true,"model":"m1","limits":{"cpu_max_cores":2.4,"mem_max_bytes":300000000}}
{"schema":1,"type":"sample","id":"w1","t":10,"cpu_cores":1,"mem_bytes":150000000}
{"schema":1,"type":"sample","id":"w1","t":20,"cpu_cores":3,"mem_bytes":250000000}
{"schema":1,"type":"sample","id":"w1","t":30,"cpu_cores":null,"mem_bytes":250000000}
{"schema":1,"type":"sample","id":"w1","t":40,"cpu_cores":0.5,"mem_bytes":100000000}
{"schema":1,"type":"sample","id":"w2","t":40,"cpu_cores":0.5}
EOF2
}

# The data-points of the element of class $2 in SVG file $1 ("" when none).
svg_points() { grep -o "class=\"$2\" data-points=\"[0-9]*\"" "$1" | grep -o '[0-9]*' || true; }

@test "--svg -: the chart on standard output in place of the records, no file named -" {
    need_cmd xmllint libxml2-utils
    chart_input
    fpd --svg "$D/b.svg" "$D/c.jsonl" > /dev/null
    cd "$D"
    run --separate-stderr fpd --svg - "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ "$output" = "$(cat "$D/b.svg")" ]
    xmllint --noout - <<<"$output"
    [ ! -e "$D/-" ]
}

@test "--svg band: well-formed SVG with the band, p50, limit and usage series; stdout unchanged" {
    need_cmd xmllint libxml2-utils
    chart_input
    run --separate-stderr fpd --no-pass "$D/c.jsonl"
    plain=$output
    run --separate-stderr fpd --no-pass --svg "$D/b.svg" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$output" = "$plain" ]
    xmllint --noout "$D/b.svg"
    # the first workload, cpu_cores: 1 prediction, 1 limit, 3 usage points (null: a gap)
    [ "$(svg_points "$D/b.svg" band)" = 1 ]
    [ "$(svg_points "$D/b.svg" mid)" = 1 ]
    [ "$(svg_points "$D/b.svg" limit)" = 1 ]
    [ "$(svg_points "$D/b.svg" use)" = 3 ]
    # two runs of the usage line (t 10-20, then t 40 alone, drawn as a dot too)
    [ "$(grep -o 'class="use" [^>]*' "$D/b.svg" | grep -o 'M[0-9]' | wc -l)" -eq 2 ]
    [ "$(grep -c 'class="use-dot"' "$D/b.svg")" -eq 1 ]
    grep -q '<title>w1: cpu_cores</title>' "$D/b.svg"
    grep -q '>predicted p10..p90</text>' "$D/b.svg"
    # --resource and --id pick the series: w1's memory has 4 points, w2 has no prediction
    run --separate-stderr fpd --svg "$D/m.svg" --chart band --resource mem_bytes --id w1 "$D/c.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/m.svg"
    [ "$(svg_points "$D/m.svg" use)" = 4 ]
    grep -q '>predicted p50..p90</text>' "$D/m.svg"
    run --separate-stderr fpd --svg "$D/w2.svg" --id w2 "$D/c.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/w2.svg"
    [ "$(svg_points "$D/w2.svg" use)" = 1 ]
    [ -z "$(svg_points "$D/w2.svg" band)" ]
    # empty input: a chart that says so, and exit 4 (issue 15)
    run --separate-stderr fpd --svg "$D/e.svg" /dev/null
    [ "$status" -eq 4 ]
    xmllint --noout "$D/e.svg"
    grep -q '>no data</text>' "$D/e.svg"
}

@test "--svg: hostile ids are escaped, the document stays well formed" {
    need_cmd xmllint libxml2-utils
    jq -c '.id = "</svg><script>alert(1)</script>\"\n&amp;"' "$D/run.jsonl" > "$D/evil.jsonl"
    echo '{"schema":1,"type":"sample","id":"</svg><script>alert(1)</script>\"\n&amp;","t":5,"cpu_cores":1}' >> "$D/evil.jsonl"
    run --separate-stderr fpd --svg "$D/evil.svg" "$D/evil.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/evil.svg"
    ! grep -q '<script' "$D/evil.svg"
    grep -q '&lt;/svg&gt;&lt;script&gt;' "$D/evil.svg"
    [ "$(grep -c '</svg>' "$D/evil.svg")" -eq 1 ]
}

@test "--chart tradeoff: one point per model and level, the applied limit, score records" {
    need_cmd xmllint libxml2-utils
    chart_input
    run --separate-stderr fpd --svg "$D/t.svg" --chart tradeoff "$D/c.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/t.svg"
    [ "$(grep -c '<circle class="point"' "$D/t.svg")" -eq 4 ]
    grep -q 'data-series="m1" data-points="3"' "$D/t.svg"
    grep -q 'data-series="m1 (applied limit)" data-points="1"' "$D/t.svg"
    # samples 1, 3, 0.5 cores: p50 (1) short once, slack 0.5 / 3; p90 (2): 2.5 / 6;
    # the limit 2.4: 3.3 / 7.2; p10 (0.5): short twice, no slack
    grep -q '<title>m1 p10: slack 0, violations 0.667</title>' "$D/t.svg"
    grep -q '<title>m1 p50: slack 0.167, violations 0.333</title>' "$D/t.svg"
    grep -q '<title>m1 p90: slack 0.417, violations 0.333</title>' "$D/t.svg"
    grep -q '<title>m1 (applied limit) limit: slack 0.458, violations 0.333</title>' "$D/t.svg"
    # the levels joined in order
    [ "$(grep -o '>p[0-9]*</text>' "$D/t.svg" | paste -sd,)" = '>p10</text>,>p50</text>,>p90</text>' ]
    # score records of earlier runs become points of their own, by quantile
    { fpd --no-pass --quantile p50 "$D/run.jsonl"; fpd --no-pass --quantile p90 "$D/run.jsonl"; } | of_type score > "$D/scores.jsonl"
    run --separate-stderr fpd --svg "$D/s.svg" --chart tradeoff --resource mem_bytes "$D/scores.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/s.svg"
    grep -q 'data-series="score records" data-points="2"' "$D/s.svg"
    # memory peak 150 MB: p50 100 MB short; p90 200 MB slack 0.25
    grep -q '<title>score records p50: slack 0, violations 1</title>' "$D/s.svg"
    grep -q '<title>score records p90: slack 0.25, violations 0</title>' "$D/s.svg"
    # the score records still pass through
    [ "$(of_type score <<<"$output" | wc -l)" -eq 3 ]
    # records that name their model (as tests/bench/report.sh writes them)
    # make one series per model, each joined in level order whatever the
    # order the records came in
    { jq -c '.model = "B"' "$D/scores.jsonl" | tac; jq -c '.model = "A"' "$D/scores.jsonl"; } > "$D/named.jsonl"
    run --separate-stderr fpd --svg "$D/n.svg" --chart tradeoff --resource mem_bytes "$D/named.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/n.svg"
    grep -q 'data-series="B" data-points="2"' "$D/n.svg"
    grep -q 'data-series="A" data-points="2"' "$D/n.svg"
    [ "$(grep -o '<title>[AB] p[0-9]*:' "$D/n.svg" | paste -sd,)" = '<title>B p50:,<title>B p90:,<title>A p50:,<title>A p90:' ]
}

@test "--svg, --chart, --resource, --textfile usage errors exit 2; an unwritable path exits 2 and leaves nothing" {
    run --separate-stderr fpd --svg "$D/x.svg" --chart pie "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'--chart wants band or tradeoff, not "pie"'* ]]
    run --separate-stderr fpd --chart band "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--chart wants --svg FILE"* ]]
    run --separate-stderr fpd --svg "$D/x.svg" --resource gpu_cores "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'unknown resource "gpu_cores"'* ]]
    run --separate-stderr fpd --resource mem_bytes "$D/run.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --id w1 "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"apply to a comparison"* ]]
    run --separate-stderr fpd --svg "$D/x.svg" "$D/run.jsonl" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"apply to a join"* ]]
    run --separate-stderr fpd --textfile "$D/x.txt" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"ending in .prom"* ]]
    run --separate-stderr fpd --textfile-interval 5 "$D/run.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --textfile "$D/x.prom" --textfile-interval -1 "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [ ! -e "$D/x.svg" ] && [ ! -e "$D/x.prom" ]
    # unwritable: a missing directory, a directory in the way; before any input is read
    mkdir -p "$D/out/c.svg" "$D/out/m.prom"
    run --separate-stderr fpd --svg "$D/nodir/c.svg" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--svg $D/nodir/c.svg: cannot write in $D/nodir"* ]]
    [ -z "$output" ]
    run --separate-stderr fpd --svg "$D/out/c.svg" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"is a directory"* ]]
    run --separate-stderr fpd --textfile "$D/out/m.prom" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --textfile "$D/nodir/m.prom" "$D/run.jsonl"
    [ "$status" -eq 2 ]
    [ "$(ls -A "$D/out" | paste -sd,)" = c.svg,m.prom ]
    [ ! -e "$D/nodir" ]
}

@test "--textfile: node_exporter's format, exact values, escaped labels, atomic" {
    chart_input
    run --separate-stderr fpd --no-pass "$D/c.jsonl"
    plain=$output
    run --separate-stderr fpd --no-pass --textfile "$D/fp.prom" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$output" = "$plain" ]
    P=$D/fp.prom
    # every line: a HELP or TYPE comment, or name{label="value",...} value
    awk '
        /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
        /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (gauge|counter)$/ { typed[$3] = 1; next }
        {
            name = $0; sub(/[{ ].*/, "", name)
            if (!(name in typed)) { print "untyped or before its TYPE: " $0; bad = 1 }
            if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (NaN|[+-]Inf|-?[0-9]+(\.[0-9]+)?(e[+-][0-9]+)?)$/) {
                print "bad line: " $0; bad = 1 }
            series = $0; sub(/ [^ ]*$/, "", series)
            if (series in seen) { print "twice: " series; bad = 1 }
            seen[series] = 1
        }
        END { exit bad }' "$P"
    grep -qx 'fp_prediction_cores{id="w1",resource="cpu_cores",level="0.9"} 2' "$P"
    grep -qx 'fp_prediction_bytes{id="w1",resource="mem_bytes",level="0.5"} 100000000' "$P"
    grep -qx 'fp_allocation_limit_cores{id="w1",resource="cpu_cores",knob="cpu_max"} 2.4' "$P"
    grep -qx 'fp_allocation_limit_bytes{id="w1",resource="mem_bytes",knob="mem_max"} 300000000' "$P"
    grep -qx 'fp_usage_cores{id="w2",resource="cpu_cores"} 0.5' "$P"
    grep -qx 'fp_usage_bytes{id="w1",resource="mem_bytes"} 100000000' "$P"
    # the last sample: 0.5 of 2.4 cores
    grep -qx 'fp_under_provisioned{id="w1",resource="cpu_cores"} 0' "$P"
    between "$(awk '/^fp_allocation_error_ratio\{id="w1",resource="cpu_cores"\}/ { print $2 }' "$P")" \
        -0.79167 -0.79166 error_ratio
    grep -qx 'fp_outside_band{id="w1",resource="cpu_cores"} 0' "$P"
    grep -qx 'fp_scored_total{section="samples"} 4' "$P"
    grep -qx 'fp_unmatched_total{section="samples"} 1' "$P"
    grep -qx 'fp_slack_ratio{section="samples",resource="mem_bytes"} 0.375' "$P"
    grep -qx 'fp_coverage_ratio{section="samples",resource="mem_bytes",level="0.9"} 0.5' "$P"
    # CPU waste: (2.4 - 1) x 10 s + (2.4 - 0.5) x 10 s
    grep -qx 'fp_wasted_core_seconds_total{section="samples"} 33' "$P"
    grep -qx 'fp_anomalies_total 2' "$P"
    grep -qx '# TYPE fp_anomalies_total counter' "$P"
    [ "$(ls -A "$D" | grep -c '^\.fp\.prom\.')" -eq 0 ]
    [ "$(stat -c %a "$P")" = 644 ]
    # hostile ids: \ " and newline escaped as the format wants
    jq -c '.id = "a\"b\\c\nd"' "$D/run.jsonl" > "$D/evil.jsonl"
    run --separate-stderr fpd --textfile "$D/evil.prom" "$D/evil.jsonl"
    [ "$status" -eq 0 ]
    grep -qxF 'fp_prediction_cores{id="a\"b\\c\nd",resource="cpu_cores",level="0.5"} 1' "$D/evil.prom"
    [ "$(grep -c '^fp_prediction_' "$D/evil.prom")" -eq 4 ]
}

@test "--textfile passes promtool check metrics (issue 15): no quantile label on a gauge" {
    command -v promtool >/dev/null 2>&1 || fp_require "promtool (Debian: prometheus)"
    chart_input
    # every family fp-diff writes: predictions, limits, usage, scores with
    # actuals and samples, anomalies, hostile ids
    cat "$D/c.jsonl" "$D/run.jsonl" > "$D/all.jsonl"
    jq -c '.id = "a\"b\\c\nd"' "$D/run.jsonl" >> "$D/all.jsonl"
    run --separate-stderr fpd --no-pass --textfile "$D/fp.prom" "$D/all.jsonl"
    [ "$status" -eq 0 ]
    grep -q '^fp_prediction_cores{.*level="0.9"' "$D/fp.prom"
    grep -q '^fp_coverage_ratio{.*level="0.9"' "$D/fp.prom"
    grep -q '^fp_allocation_limit_bytes' "$D/fp.prom"
    grep -q '^fp_wasted_core_seconds_total' "$D/fp.prom"
    ! grep -q 'quantile=' "$D/fp.prom"
    run promtool check metrics < "$D/fp.prom"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

# N finished workloads f1..fN (prediction, sample, actual) into $D/many.jsonl
many_finished() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) {
        printf "{\"schema\":1,\"type\":\"prediction\",\"id\":\"f%d\",\"t\":0,\"quantiles\":{\"cpu_cores\":{\"p50\":1,\"p90\":2}}}\n", i
        printf "{\"schema\":1,\"type\":\"sample\",\"id\":\"f%d\",\"t\":1,\"cpu_cores\":1}\n", i
        printf "{\"schema\":1,\"type\":\"actual\",\"id\":\"f%d\",\"t\":2,\"duration_s\":2,\"cpu_cores_peak\":1}\n", i } }' > "$D/many.jsonl"
}
listed_ids() { grep -o 'id="[^"]*"' "$1" | sort -u | sed 's/id="\(.*\)"/\1/' | sort -V | paste -sd, -; }

@test "--textfile stays bounded: at most --textfile-max workloads (default 500), running ones first" {
    many_finished 600
    run --separate-stderr fpd --no-pass --textfile "$D/d.prom" "$D/many.jsonl"
    [ "$status" -eq 0 ]
    [ "$(grep -o 'id="[^"]*"' "$D/d.prom" | sort -u | wc -l)" -eq 500 ]
    grep -qx 'fp_workloads_listed 500' "$D/d.prom"
    grep -qx 'fp_workloads_unlisted 100' "$D/d.prom"
    # the most recently seen: f101..f600
    grep -q 'id="f600"' "$D/d.prom" && grep -q 'id="f101"' "$D/d.prom" && ! grep -q 'id="f100"' "$D/d.prom"
    # the aggregates still count every workload
    grep -qx 'fp_scored_total{section="actuals"} 600' "$D/d.prom"
    # two still running (no actual) are kept before finished ones
    many_finished 20
    { echo '{"schema":1,"type":"prediction","id":"r1","t":0,"quantiles":{"cpu_cores":{"p90":1}}}'
      echo '{"schema":1,"type":"sample","id":"r2","t":0,"cpu_cores":1}'
      cat "$D/many.jsonl"; } > "$D/mix.jsonl"
    run --separate-stderr fpd --no-pass --textfile "$D/m.prom" --textfile-max 5 "$D/mix.jsonl"
    [ "$status" -eq 0 ]
    [ "$(listed_ids "$D/m.prom")" = f18,f19,f20,r1,r2 ]
    grep -qx 'fp_workloads_unlisted 17' "$D/m.prom"
    command -v promtool >/dev/null 2>&1 && promtool check metrics < "$D/m.prom"
    # usage errors
    run --separate-stderr fpd --textfile-max 5 "$D/mix.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"want --textfile"* ]]
    run --separate-stderr fpd --textfile "$D/x.prom" --textfile-max 0 "$D/mix.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --textfile "$D/x.prom" --textfile-max 2.5 "$D/mix.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --textfile "$D/x.prom" --textfile-expire -1 "$D/mix.jsonl"
    [ "$status" -eq 2 ]
    run --separate-stderr fpd --textfile-expire 5 "$D/mix.jsonl"
    [ "$status" -eq 2 ]
}

@test "--textfile-expire: a finished workload leaves the textfile S seconds after its actual" {
    mkfifo "$D/in"
    "$FP_BIN/fp-diff" --no-pass --textfile "$D/e.prom" --textfile-interval 0 --textfile-expire 1 \
        < "$D/in" > /dev/null 3>&- &
    pid=$!
    exec 5> "$D/in"
    many_finished 1
    cat "$D/many.jsonl" >&5
    echo '{"schema":1,"type":"prediction","id":"r1","t":0,"quantiles":{"cpu_cores":{"p90":1}}}' >&5
    for _ in $(seq 100); do
        grep -q 'id="r1"' "$D/e.prom" 2>/dev/null && break
        sleep 0.05
    done
    # just finished: still listed
    [ "$(listed_ids "$D/e.prom")" = f1,r1 ]
    sleep 1.2
    echo '{"schema":1,"type":"sample","id":"r1","t":5,"cpu_cores":0.5}' >&5
    for _ in $(seq 100); do
        grep -q 'fp_usage_cores{id="r1"' "$D/e.prom" 2>/dev/null && break
        sleep 0.05
    done
    [ "$(listed_ids "$D/e.prom")" = r1 ]
    grep -qx 'fp_workloads_unlisted 1' "$D/e.prom"
    # a workload with records again is listed again, afresh: fp-diff forgot
    # it (its memory stays bounded too), so the sample has no prediction
    echo '{"schema":1,"type":"sample","id":"f1","t":9,"cpu_cores":0.25}' >&5
    exec 5>&-
    wait "$pid"
    [ "$(listed_ids "$D/e.prom")" = f1,r1 ]
    grep -qx 'fp_unmatched_total{section="samples"} 1' "$D/e.prom"
    ! grep -q '^fp_prediction_cores{id="f1"' "$D/e.prom"
    grep -qx 'fp_workloads_listed 2' "$D/e.prom"
    grep -qx 'fp_workloads_unlisted 1' "$D/e.prom"
}

@test "--textfile is rewritten while records arrive (--textfile-interval 0)" {
    chart_input
    mkfifo "$D/in"
    # (fd 3 is bats' own: the writer end is fd 5)
    "$FP_BIN/fp-diff" --textfile "$D/live.prom" --textfile-interval 0 < "$D/in" > "$D/live.out" 3>&- &
    pid=$!
    exec 5> "$D/in"
    head -n 3 "$D/c.jsonl" >&5
    for _ in $(seq 100); do
        grep -q '^fp_usage_cores' "$D/live.prom" 2>/dev/null && break
        sleep 0.05
    done
    grep -qx 'fp_usage_cores{id="w1",resource="cpu_cores"} 1' "$D/live.prom"
    tail -n +4 "$D/c.jsonl" >&5
    exec 5>&-
    wait "$pid"
    grep -qx 'fp_usage_cores{id="w1",resource="cpu_cores"} 0.5' "$D/live.prom"
    grep -qx 'fp_scored_total{section="samples"} 4' "$D/live.prom"
}

@test "--svg: a long stream keeps at most 20000 points per series" {
    need_cmd xmllint libxml2-utils
    awk 'BEGIN { print "{\"schema\":1,\"type\":\"prediction\",\"id\":\"w1\",\"t\":0,\"quantiles\":{\"cpu_cores\":{\"p50\":1,\"p90\":2}}}"
                 for (i = 1; i <= 45000; i++)
                     printf "{\"schema\":1,\"type\":\"sample\",\"id\":\"w1\",\"t\":%d,\"cpu_cores\":%g}\n", i, (i % 7) / 3 }' > "$D/long.jsonl"
    run --separate-stderr fpd --no-pass --svg "$D/long.svg" "$D/long.jsonl"
    [ "$status" -eq 0 ]
    xmllint --noout "$D/long.svg"
    n=$(svg_points "$D/long.svg" use)
    [ "$n" -ge 10000 ] && [ "$n" -le 20000 ]
    # spread over the whole run: the x axis reaches the last sample (12.5 h)
    grep -q '>time since start (h)</text>' "$D/long.svg"
    grep -q '>14</text>' "$D/long.svg"
}

@test "--svg writes through a FIFO; --svg and --textfile follow symlinks; links to nothing and directories refused (issue 14)" {
    chart_input
    # a FIFO: written to, still a FIFO
    mkfifo "$D/fifo"
    cat "$D/fifo" > "$D/from-fifo" &
    local reader=$!
    run --separate-stderr timeout 20 "$FP_BIN/fp-diff" --no-pass --svg "$D/fifo" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    wait "$reader"
    [ -p "$D/fifo" ]
    grep -q '<svg' "$D/from-fifo"
    # (a textfile is rewritten at every interval: a FIFO would need a reader
    # each time; it takes the same path, fp_atomic_write)
    echo old > "$D/real.prom"
    ln -s real.prom "$D/link.prom"
    run --separate-stderr fpd --no-pass --textfile "$D/link.prom" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -L "$D/link.prom" ]
    grep -q '^fp_' "$D/real.prom"
    # a symlink to a regular file: the target is replaced, the link stays
    echo old > "$D/real.svg"
    chmod 600 "$D/real.svg"
    ln -s real.svg "$D/link.svg"
    run --separate-stderr fpd --no-pass --svg "$D/link.svg" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -L "$D/link.svg" ]
    grep -q '<svg' "$D/real.svg"
    [ "$(stat -c %a "$D/real.svg")" = 600 ]
    # a link to nothing, a directory: refused, left as they were
    ln -s nowhere "$D/dangling.svg"
    run --separate-stderr fpd --no-pass --svg "$D/dangling.svg" "$D/c.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"dangling.svg: a symbolic link to nothing"* ]]
    [ -L "$D/dangling.svg" ] && [ ! -e "$D/nowhere" ]
    mkdir "$D/dir.svg"
    run --separate-stderr fpd --no-pass --svg "$D/dir.svg" "$D/c.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"dir.svg"*"directory"* ]]
    [ -d "$D/dir.svg" ]
}

@test "--svg to a character device (a null device made here, root) writes through it, never replaces it (issue 14)" {
    [ "$(id -u)" = 0 ] || fp_require "root (mknod of a character device)"
    chart_input
    # (not /dev/null itself: a tool without the fix would replace it)
    mknod "$D/null" c 1 3
    mknod "$D/null.prom" c 1 3
    run --separate-stderr fpd --no-pass --svg "$D/null" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -c "$D/null" ]
    [ "$(stat -c %t:%T "$D/null")" = 1:3 ]
    run --separate-stderr fpd --no-pass --textfile "$D/null.prom" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -c "$D/null.prom" ]
}

# Score records of ten models at p50, p90 and p99 close together (as
# tests/bench/report.sh writes them for a benchmark), for the trade-off chart.
crowded_scores() {
    local m q i=0 s v
    for m in request history oracle linear knn lstm gru transformer auto vpa; do
        i=$((i + 1))
        for q in p50 p90 p99; do
            case $q in
                p50) s=$(awk -v i=$i 'BEGIN { print 0.50 + i * 0.004 }'); v=$(awk -v i=$i 'BEGIN { print 0.06 + i * 0.002 }') ;;
                p90) s=$(awk -v i=$i 'BEGIN { print 0.52 + i * 0.006 }'); v=$(awk -v i=$i 'BEGIN { print 0.02 - i * 0.001 }') ;;
                p99) s=$(awk -v i=$i 'BEGIN { print 0.55 + i * 0.01 }'); v=0 ;;
            esac
            jq -cn --arg m "$m" --arg q "$q" --argjson s "$s" --argjson v "$v" \
                '{schema:1,type:"score",model:$m,quantile:$q,samples:{resources:{mem_bytes:{slack:$s,under_rate:$v}}}}'
        done
    done
}

@test "every chart kind renders to a PNG that is not blank; labels never overlap; one colour per series; MiB, not SI (issue 15)" {
    need_cmd xmllint libxml2-utils
    need_cmd rsvg-convert librsvg2-bin
    need_cmd python3
    local chk="python3 $FP_TOP_SRCDIR/tests/bats/svg-check.py" k
    chart_input
    crowded_scores > "$D/scores.jsonl"
    fpd --no-pass --svg "$D/band-cpu.svg" "$D/c.jsonl"
    fpd --no-pass --svg "$D/band-mem.svg" --resource mem_bytes "$D/c.jsonl"
    fpd --no-pass --svg "$D/tradeoff.svg" --chart tradeoff "$D/c.jsonl"
    fpd --no-pass --svg "$D/crowded.svg" --chart tradeoff --resource mem_bytes "$D/scores.jsonl"
    for k in band-cpu band-mem tradeoff crowded; do
        xmllint --noout "$D/$k.svg"
        rsvg-convert -o "$D/$k.png" "$D/$k.svg"
        [ -s "$D/$k.png" ]
        $chk png "$D/$k.png"
        $chk boxes "$D/$k.svg"
    done
    # thirty labels among ten series, drawn and apart; ten colours
    [ "$(grep -c '<circle class="point"' "$D/crowded.svg")" -eq 30 ]
    [ "$(grep -c '<text class="label"' "$D/crowded.svg")" -eq 30 ]
    $chk colors "$D/crowded.svg"
    $chk colors "$D/tradeoff.svg"
    # memory in binary units (250 MB peak: MiB ticks), never SI's k, M, G
    grep -q '>MiB</text>' "$D/band-mem.svg"
    ! grep -Eq '>[0-9.]+[kMGT]</text>' "$D/band-mem.svg"
    grep -q '>cores</text>' "$D/band-cpu.svg"
    # shares in percent
    grep -q 'slack (% of the allocation unused)' "$D/tradeoff.svg"
}

@test "--svg of an input without samples (or nothing to score): says so and exits 4; the chart still says no data (issue 15)" {
    need_cmd xmllint libxml2-utils
    chart_input
    grep -v '"type":"sample"' "$D/c.jsonl" > "$D/nosamples.jsonl"
    run --separate-stderr fpd --no-pass --svg "$D/n.svg" "$D/nosamples.jsonl"
    [ "$status" -eq 4 ]
    [[ "$stderr" == *"--svg $D/n.svg: no sample of cpu_cores in the input: no usage to draw"* ]]
    xmllint --noout "$D/n.svg"
    run --separate-stderr fpd --no-pass --svg "$D/t.svg" --chart tradeoff "$D/nosamples.jsonl"
    [ "$status" -eq 4 ]
    [[ "$stderr" == *"nothing to draw"* ]]
    grep -q 'class="nodata"' "$D/t.svg"
    # an empty input
    run --separate-stderr fpd --no-pass --svg "$D/e.svg" < /dev/null
    [ "$status" -eq 4 ]
    # with samples: 0, as before
    run --separate-stderr fpd --no-pass --svg "$D/ok.svg" "$D/c.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}
