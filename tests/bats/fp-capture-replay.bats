#!/usr/bin/env bats
# fp-capture --replay: recorded traces through the live feature code.
load helpers

setup() {
    need_cmd jq
    R="$FP_FIXTURES/replay"
}

@test "Bitbrains CSV: samples, duplicate timestamp dropped, fingerprint and actual" {
    run --separate-stderr fpc --replay "$R/bitbrains/7.csv" -w 300
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "sample sample fingerprint sample sample actual " ]
    s2=$(echo "$output" | of_type sample | sed -n 2p)
    [ "$(jq .t <<<"$s2")" = 300 ]
    [ "$(jq .ts_ms <<<"$s2")" = 1372630104000 ]       # the trace's own clock
    [ "$(jq .cpu_cores <<<"$s2")" = 0.5 ]             # 1300 MHz of 2 x 2600 MHz
    [ "$(jq .mem_bytes <<<"$s2")" = 1073741824 ]      # 1048576 KB
    [ "$(jq .io_read_Bps <<<"$s2")" = 10752 ]         # 10.5 KB/s
    act=$(echo "$output" | of_type actual)
    [ "$(jq .duration_s <<<"$act")" = 901 ]
    [ "$(jq .ts_ms <<<"$act")" = 1372630705000 ]
    [ "$(jq .cpu_cores_peak <<<"$act")" = 1.5 ]
    [ "$(jq .mem_bytes_peak <<<"$act")" = 2147483648 ]
    [ "$(jq -r .id <<<"$act")" = bitbrains/7 ]
    [ "$(jq .meta.req_cpus <<<"$act")" = 2 ]
    [ "$(jq -r .missing.exit_code <<<"$act")" = "exit not observed (attached workload or trace)" ]
}

@test "gzip and plain traces read the same" {
    a=$(fpc --replay "$R/bitbrains/9.csv.gz" -w 600 | jq -c 'del(.target)')
    [ -n "$a" ]
    zcat "$R/bitbrains/9.csv.gz" > "$BATS_TEST_TMPDIR/9.csv"
    b=$(fpc --replay "$BATS_TEST_TMPDIR/9.csv" -w 600 | jq -c 'del(.target)')
    [ "$a" = "$b" ]
}

@test "nf-core/eager task: metadata in the fingerprint, outputs only in the actual" {
    run --separate-stderr fpc --replay "$R/eager/align/align (S1) (7)_memory.csv.gz" -w 2 --no-samples
    [ "$status" -eq 0 ]
    fpr=$(echo "$output" | of_type fingerprint)
    [ "$(jq -r .meta.process <<<"$fpr")" = align ]
    [ "$(jq .features.meta_req_mem_bytes <<<"$fpr")" != null ]
    [ "$(jq 'has("outcome")' <<<"$fpr")" = false ]
    [ "$(jq '.meta | has("output_bytes")' <<<"$fpr")" = false ]
    act=$(echo "$output" | of_type actual)
    [ "$(jq '.outcome.output_bytes | type' <<<"$act")" = '"number"' ]
}

@test "a live capture replayed gives the same fingerprint features" {
    fpc -i 0.05 -w 0.5 -o "$BATS_TEST_TMPDIR/live.jsonl" -- sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
    fpc --replay "$BATS_TEST_TMPDIR/live.jsonl" -w 0.5 --no-samples > "$BATS_TEST_TMPDIR/rep.jsonl"
    live=$(of_type fingerprint "$BATS_TEST_TMPDIR/live.jsonl" | head -n 1)
    rep=$(of_type fingerprint "$BATS_TEST_TMPDIR/rep.jsonl" | head -n 1)
    [ "$(jq '.features | length' <<<"$live")" -gt 600 ]
    # every feature equal (to the 10 significant digits records carry), nulls in the same places
    jq -n --argjson a "$(jq .features <<<"$live")" --argjson b "$(jq .features <<<"$rep")" '
        [$a | keys[] as $k | select(
            ($a[$k] == null) != ($b[$k] == null) or
            ($a[$k] != null and (($a[$k] - $b[$k]) | fabs) > 1e-6 * ([1, ($a[$k] | fabs)] | max)))
        ] | length' > "$BATS_TEST_TMPDIR/ndiff"
    [ "$(cat "$BATS_TEST_TMPDIR/ndiff")" = 0 ]
    [ "$(jq -c .meta.cmd <<<"$rep")" = '["sh","-c","i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"]' ]
}

# features of two fingerprint records that differ (beyond the 10 significant
# digits records carry, or null in one only): their count
feature_diffs() {
    jq -n --argjson a "$(jq .features <<<"$1")" --argjson b "$(jq .features <<<"$2")" '
        [$a | keys[] as $k | select(
            ($a[$k] == null) != ($b[$k] == null) or
            ($a[$k] != null and (($a[$k] - $b[$k]) | fabs) > 1e-6 * ([1, ($a[$k] | fabs)] | max)))
        ] | length'
}

@test "a capture that backed off to its steady interval replays to the same fingerprints" {
    # window 0.5 s at 0.05 s, then every 0.25 s (grid_s 0.05 in those samples), refined every 0.5 s
    fpc -i 0.05 -w 0.5 --steady-interval 0.25 --refine 0.5 -o "$BATS_TEST_TMPDIR/live.jsonl" -- sleep 2.2
    sparse=$(of_type sample "$BATS_TEST_TMPDIR/live.jsonl" | jq -s '[.[] | select(.grid_s == 0.05)] | length')
    [ "$sparse" -ge 3 ]
    # the window itself is dense: no sample before t = 0.5 is sparse
    [ "$(of_type sample "$BATS_TEST_TMPDIR/live.jsonl" | jq -s '[.[] | select(.t < 0.5 and .grid_s != null)] | length')" = 0 ]
    # sparse samples are about 0.25 s apart (but the last, at the exit)
    of_type sample "$BATS_TEST_TMPDIR/live.jsonl" | jq -s '[.[] | select(.grid_s != null) | .t] | .[:-1] | [range(1; length) as $i | .[$i] - .[$i - 1]] | all(. > 0.15 and . < 0.45)' | grep -qx true
    fpc --replay "$BATS_TEST_TMPDIR/live.jsonl" -w 0.5 --refine 0.5 --no-samples > "$BATS_TEST_TMPDIR/rep.jsonl"
    n=$(of_type fingerprint "$BATS_TEST_TMPDIR/live.jsonl" | wc -l)
    [ "$n" -ge 3 ]
    [ "$(of_type fingerprint "$BATS_TEST_TMPDIR/rep.jsonl" | wc -l)" -eq "$n" ]
    for i in $(seq "$n"); do
        a=$(of_type fingerprint "$BATS_TEST_TMPDIR/live.jsonl" | sed -n "${i}p")
        b=$(of_type fingerprint "$BATS_TEST_TMPDIR/rep.jsonl" | sed -n "${i}p")
        [ "$(feature_diffs "$a" "$b")" = 0 ] || { echo "fingerprint $i differs" >&2; false; }
    done
}

@test "a sparse sample stands for the grid points of its span: the same features as the dense trace" {
    # dense: every 0.1 s for 3 s; sparse: the same for 1 s, then one sample per 0.5 s
    # carrying grid_s 0.1 whose values held over its span are the dense ones
    awk 'BEGIN {
        for (i = 1; i <= 30; i++) {
            t = i / 10; c = (i <= 10 ? 0.5 : (i <= 20 ? 1.5 : 0.25)); m = 1048576 * (i <= 15 ? 8 : 16)
            printf "{\"schema\":1,\"type\":\"sample\",\"id\":\"d\",\"t\":%.1f,\"cpu_cores\":%g,\"mem_bytes\":%d}\n", t, c, m
        } }' > "$BATS_TEST_TMPDIR/dense.jsonl"
    awk 'BEGIN {
        for (i = 1; i <= 30; i++) {
            if (i > 10 && i % 5) continue
            t = i / 10; c = (i <= 10 ? 0.5 : (i <= 20 ? 1.5 : 0.25)); m = 1048576 * (i <= 15 ? 8 : 16)
            printf "{\"schema\":1,\"type\":\"sample\",\"id\":\"d\",\"t\":%.1f,\"cpu_cores\":%g,\"mem_bytes\":%d%s}\n", t, c, m, (i > 10 ? ",\"grid_s\":0.1" : "")
        } }' > "$BATS_TEST_TMPDIR/sparse.jsonl"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/sparse.jsonl")" -eq 14 ]
    fpc --replay "$BATS_TEST_TMPDIR/dense.jsonl" -w 3 --no-samples > "$BATS_TEST_TMPDIR/d.out"
    fpc --replay "$BATS_TEST_TMPDIR/sparse.jsonl" -w 3 --no-samples > "$BATS_TEST_TMPDIR/s.out"
    a=$(of_type fingerprint "$BATS_TEST_TMPDIR/d.out")
    b=$(of_type fingerprint "$BATS_TEST_TMPDIR/s.out")
    # the integral is exact either way: 0.5 + 1.5 + 0.25 core-seconds (1 s at each level)
    [ "$(of_type actual "$BATS_TEST_TMPDIR/d.out" | jq .cpu_s)" = "$(of_type actual "$BATS_TEST_TMPDIR/s.out" | jq .cpu_s)" ]
    of_type actual "$BATS_TEST_TMPDIR/s.out" | jq -e '(.cpu_s - 2.25) | fabs < 1e-9' >/dev/null
    # where the held values equal the dense ones (CPU), every statistic but
    # the buffer-order ones agrees; memory steps at 1.5 s, inside a span, so
    # its level there is the span's end value: its mean moves by design
    for f in cpu_cores_mean cpu_cores_p50 cpu_cores_p90 cpu_cores_max cpu_cores_min cpu_cores_std cpu_cores_slope cpu_cores_t_peak mem_bytes_max; do
        jq -e --arg f "$f" --argjson b "$b" '(.features[$f] - $b.features[$f]) | fabs < 1e-9' <<<"$a" >/dev/null ||
            { echo "$f: $(jq ".features.$f" <<<"$a") vs $(jq ".features.$f" <<<"$b")" >&2; false; }
    done
    # without grid_s the sparse trace is 14 values, and its CPU mean is another
    c=$(sed 's/,"grid_s":0.1//' "$BATS_TEST_TMPDIR/sparse.jsonl" | fpc --replay - -w 3 --no-samples | of_type fingerprint)
    jq -e --argjson c "$c" '(.features.cpu_cores_mean - $c.features.cpu_cores_mean) | fabs > 0.05' <<<"$a" >/dev/null
}

@test "several traces in one run, in order" {
    run --separate-stderr fpc --replay "$R/bitbrains/7.csv" --replay "$R/fp/job.jsonl" --no-samples
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | jq -r '.type + ":" + .id' | tr '\n' ' ')" = "fingerprint:bitbrains/7 actual:bitbrains/7 start:job-1 note:job-1 end:job-1 fingerprint:job-1 actual:job-1 " ]
}

@test "records of types fp-capture does not make pass through a replay unchanged" {
    line=$(grep '"type":"start"' "$R/fp/job.jsonl")
    run --separate-stderr fpc --replay "$R/fp/job.jsonl" --no-samples
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | head -n 1 | jq -cS .)" = "$(echo "$line" | jq -cS .)" ]
    # fingerprints and actuals in the trace are made again, not copied
    [ "$(echo "$output" | of_type actual | wc -l)" -eq 1 ]
}

@test "bad input in each reader: exit 3, file and line named, nothing after the error" {
    for f in bitbrains/bad-number.csv bitbrains/bad-order.csv bitbrains/bad-truncated.csv \
             bitbrains/bad-header.csv fp/bad-json.jsonl fp/bad-field.jsonl "eager/bad/num (1)_memory.csv" \
             "eager/bad/time (1)_cpu.csv"; do
        run --separate-stderr fpc --replay "$R/$f" --no-samples
        [ "$status" -eq 3 ] || { echo "$f: status $status" >&2; false; }
        [[ "$stderr" == *"$(basename "$f")"* ]] || { echo "$f: $stderr" >&2; false; }
        # no actual is written for a trace that failed
        [ -z "$(echo "$output" | of_type actual)" ] || { echo "$f: actual written" >&2; false; }
    done
    run --separate-stderr fpc --replay "$R/bitbrains/bad-number.csv"
    [[ "$stderr" =~ bad-number.csv:[0-9]+: ]]
}

@test "the shared public traces replay when present (optional data)" {
    d="$FP_TOP_SRCDIR/../shared/data"
    [ -d "$d/bitbrains-rnd" ] || skip "no ../shared/data beside the source tree (optional)"
    run --separate-stderr fpc --replay "$d/bitbrains-rnd/2013-7/1.csv.gz" -w 3600 --no-samples
    [ "$status" -eq 0 ]
    between "$(echo "$output" | of_type actual | jq .duration_s)" 86400 4000000 "a month-long VM trace"
    task=$(find "$d/eager/fastqc" -name '*_metadata.csv.gz' | head -n 1)
    run --separate-stderr fpc --replay "$task" -w 10 --no-samples
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | of_type fingerprint | jq -r .meta.process)" = fastqc ]
}

@test "--skip-bad skips malformed lines, counts them on stderr, keeps the rest" {
    run --separate-stderr fpc --replay "$R/fp/bad-json.jsonl" --skip-bad --no-samples
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"bad-json.jsonl: skipped 1 malformed line"* ]]
    [ "$(echo "$output" | of_type actual | jq .samples)" = 1 ]
    run --separate-stderr fpc --skip-bad -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--skip-bad applies to --replay"* ]]
}

@test "--label and --meta on a replay merge into the trace's metadata" {
    fpc -l team=x --meta input_bytes=5 -w 0.2 -o "$BATS_TEST_TMPDIR/l.jsonl" -- sleep 0.1
    fpr=$(fpc --replay "$BATS_TEST_TMPDIR/l.jsonl" -l env=prod --meta input_bytes=7 --no-samples | of_type fingerprint)
    [ "$(jq -c .meta.labels <<<"$fpr")" = '{"team":"x","env":"prod"}' ]
    [ "$(jq .features.meta_input_bytes <<<"$fpr")" = 7 ]
}

@test "- is standard input, and a pipe, a FIFO or a process substitution replays as the file does" {
    local P=$BATS_TEST_TMPDIR f
    f=$R/fp/job.jsonl
    want=$(fpc --replay "$f" -w 1 --no-samples | jq -c 'del(.target)')
    [ -n "$want" ]
    # the reader looks ahead for the metadata: it must not read the pipe twice
    run --separate-stderr fpc --replay <(cat "$f") -w 1 --no-samples
    [ "$status" -eq 0 ]
    [ "$(jq -c 'del(.target)' <<<"$output")" = "$want" ]
    run --separate-stderr bash -c "cat '$f' | '$FP_BIN/fp-capture' --replay - -w 1 --no-samples"
    [ "$status" -eq 0 ]
    [ "$(jq -c 'del(.target)' <<<"$output")" = "$want" ]
    mkfifo "$P/fifo"
    cat "$f" > "$P/fifo" &
    run --separate-stderr fpc --replay "$P/fifo" -w 1 --no-samples
    [ "$status" -eq 0 ]
    [ "$(jq -c 'del(.target)' <<<"$output")" = "$want" ]
    # a Bitbrains trace, gzipped, on standard input: the same as the file
    a=$(fpc --replay "$R/bitbrains/9.csv.gz" -w 600 | jq -c 'del(.target, .id, .meta.vm)')
    b=$(fpc --replay - -w 600 < "$R/bitbrains/9.csv.gz" | jq -c 'del(.target, .id, .meta.vm)')
    [ "$a" = "$b" ]
    # -o - is standard output, not a file named -
    cd "$P"
    run --separate-stderr fpc --replay "$f" -w 1 --no-samples -o -
    [ "$status" -eq 0 ]
    [ "$(jq -c 'del(.target)' <<<"$output")" = "$want" ]
    [ ! -e "$P/-" ]
}

# ---- task-summary traces (Nextflow, Slurm sacct) ----------------------------

@test "Nextflow trace.txt (human units): per task a fingerprint of what was known before it started, and its actual" {
    T="$FP_FIXTURES/tasks"
    run --separate-stderr fpc --replay "$T/nextflow-full.txt" --meta workflow=demo
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "fingerprint actual fingerprint actual fingerprint actual fingerprint actual " ]
    fp1=$(echo "$output" | of_type fingerprint | head -1)
    [ "$(jq -r .id <<<"$fp1")" = demo/7 ]
    [ "$(jq -c '.meta | {process, tag, attempt, req_cpus, req_mem_bytes, req_time_s, input_bytes}' <<<"$fp1")" = \
      '{"process":"NFCORE_X:ALIGN","tag":"S1","attempt":1,"req_cpus":4,"req_mem_bytes":2147483648,"req_time_s":3600,"input_bytes":1073741824}' ]
    [ "$(jq '.features.meta_req_mem_bytes' <<<"$fp1")" = 2147483648 ]
    [ "$(jq '.features.mem_bytes_max' <<<"$fp1")" = null ]
    [ "$(jq -r '.missing.mem_bytes' <<<"$fp1")" = "task-summary trace: no samples before the task starts" ]
    # nothing measured during the run reaches the fingerprint
    [ "$(jq '[.meta | keys[] | select(test("rchar|wchar|peak|realtime|exit|status"))] | length' <<<"$fp1")" = 0 ]
    [ "$(jq '.outcome' <<<"$fp1")" = null ]
    a2=$(echo "$output" | of_type actual | sed -n 2p)
    [ "$(jq -c '{duration_s, exit_code, status, mem_bytes_peak, cpu_cores_mean}' <<<"$a2")" = \
      '{"duration_s":2430,"exit_code":0,"status":"COMPLETED","mem_bytes_peak":2684354560,"cpu_cores_mean":3.905}' ]
    [ "$(jq '.outcome.rchar_bytes' <<<"$a2")" = 6442450944 ]
    a4=$(echo "$output" | of_type actual | sed -n 4p)
    [ "$(jq -r '.missing.mem_bytes_peak' <<<"$a4")" = "not reported for this task" ]
}

@test "Nextflow raw CSV: --input-from rchar puts bytes read into meta.input_bytes, and says so" {
    T="$FP_FIXTURES/tasks"
    fp=$(fpc --replay "$T/nextflow-raw.csv" | of_type fingerprint | head -1)
    [ "$(jq '.meta.input_bytes' <<<"$fp")" = null ]
    fp=$(fpc --replay "$T/nextflow-raw.csv" --input-from rchar | of_type fingerprint | head -1)
    [ "$(jq -c '.meta | {input_bytes, input_from}' <<<"$fp")" = '{"input_bytes":145215827,"input_from":"rchar"}' ]
    [ "$(jq '.features.meta_input_bytes' <<<"$fp")" = 145215827 ]
    run fpc --replay "$T/nextflow-raw.csv" --input-from nope
    [ "$status" -eq 2 ]
    [[ "$output" == *"no column 'nope'"* ]]
    run fpc --replay "$R/bitbrains/7.csv" --input-from rchar
    [ "$status" -eq 2 ]
    [[ "$output" == *"applies to a task trace"* ]]
}

@test "Slurm sacct --parsable2: steps folded into their job" {
    run --separate-stderr fpc --replay "$FP_FIXTURES/tasks/sacct.txt"
    [ "$status" -eq 0 ]
    a=$(echo "$output" | of_type actual | head -1)
    [ "$(jq -c '{id, duration_s, mem_bytes_peak, cpu_cores_mean, exit_code, status, req: .meta.req_mem_bytes}' <<<"$a")" = \
      '{"id":"sacct/1001","duration_s":600,"mem_bytes_peak":6442450944,"cpu_cores_mean":3,"exit_code":0,"status":"COMPLETED","req":8589934592}' ]
    a=$(echo "$output" | of_type actual | sed -n 2p)
    [ "$(jq -c '{exit_signal, status, req: .meta.req_mem_bytes}' <<<"$a")" = '{"exit_signal":125,"status":"OUT_OF_MEMORY","req":4194304000}' ]
}

@test "task traces: a bad row names file, line and column, exit 3; --skip-bad skips it" {
    T="$FP_FIXTURES/tasks"
    run --separate-stderr fpc --replay "$T/bad-unit.txt"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad-unit.txt:3: column 'peak_rss': '4 XB' is not a size"* ]]
    run --separate-stderr fpc --replay "$T/bad-fields.txt"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad-fields.txt:3: expected 5 fields, found 4"* ]]
    run --separate-stderr fpc --replay "$T/bad-sacct.txt"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad-sacct.txt:2: column 'ExitCode'"* ]]
    run --separate-stderr fpc --replay "$T/bad-unit.txt" --skip-bad
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | of_type actual | wc -l)" -eq 1 ]
    [[ "$stderr" == *"skipped 1 malformed line"* ]]
    run fpc --replay "$T/nextflow-full.txt" --id x
    [ "$status" -eq 2 ]
}
