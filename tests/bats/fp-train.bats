#!/usr/bin/env bats
# fp-train: fingerprint+actual and sample-stream training on small synthetic
# records made here (jq), determinism, online updates, history models, bad
# input, usage errors and atomic writes. No root, no ../shared.
load helpers

fpt() { "$FP_BIN/fp-train" "$@"; }
fpp() { "$FP_BIN/fp-predict" "$@"; }

# fps N OFFSET SLOPE: N workloads wK, fingerprint feature cpu_cores_mean
# x = 0.1 K + 0.05 (plus a constant and an all-null feature), actual
# cpu_cores_peak = SLOPE x + 1, meta.input = "sK%8".
fps() {
    jq -cn --argjson n "$1" --argjson o "${2:-0}" --argjson a "${3:-2}" '
      range(0; $n) as $i | ($i + $o) as $k | (0.1 * $k + 0.05) as $x |
      ({schema:1,type:"fingerprint",id:"w\($k)",t:10,window_s:10,
        features:{cpu_cores_mean:$x, mem_bytes_mean:1000000, io_read_Bps_mean:null},
        meta:{input:"s\($k % 8)"}},
       {schema:1,type:"actual",id:"w\($k)",t:100,duration_s:100,
        cpu_cores_peak:($a*$x+1), cpu_cores_p95:($a*$x+0.5),
        mem_bytes_peak:(1000000+$k*1000), mem_bytes_p95:1000000})'
}

# streams N OFFSET: N workloads sK of 60 one-second samples, cpu c then 2c
# after 20 s, constant memory; then the actual.
streams() {
    jq -cn --argjson n "$1" --argjson o "${2:-0}" '
      range(0; $n) as $i | ($i + $o) as $k | (0.5 + 0.1 * $k) as $c |
      (range(0; 60) as $s | {schema:1,type:"sample",id:"s\($k)",t:$s,
         ts_ms:(1700000000000 + $k*100000 + $s*1000),
         cpu_cores:(if $s < 20 then $c else 2*$c end), mem_bytes:(100000000 + $k*1000000)}),
      {schema:1,type:"actual",id:"s\($k)",t:59,duration_s:59,cpu_cores_peak:(2*$c),
       mem_bytes_peak:(100000000 + $k*1000000)}'
}

setup() {
    D=$BATS_TEST_TMPDIR
    fps 50 > "$D/all.jsonl"
    # held out: every fifth workload (K % 5 == 3)
    jq -c 'select((.id|ltrimstr("w")|tonumber) % 5 != 3)' "$D/all.jsonl" > "$D/train.jsonl"
    jq -c 'select((.id|ltrimstr("w")|tonumber) % 5 == 3)' "$D/all.jsonl" > "$D/test.jsonl"
}

@test "--help and --version exit 0" {
    run --separate-stderr fpt --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-train"* ]]
    [[ "$output" == *"--from-samples"* ]]
    run --separate-stderr fpt --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^fp-train\ \(fp\)\ [0-9]+\.[0-9]+ ]]
}

@test "usage errors exit 2 with a message" {
    run --separate-stderr fpt "$D/train.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"-o MODEL"* ]]
    run --separate-stderr fpt --model forest -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'--model wants linear, knn, vpa, autopilot, lstm, gru, transformer or auto, not "forest"'* ]]
    run --separate-stderr fpt --levels 0.9,0.5 -o "$D/m.json"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--levels wants"* ]]
    run --separate-stderr fpt --k 99 -o "$D/m.json"
    [ "$status" -eq 2 ]
    run --separate-stderr fpt --target max -o "$D/m.json"
    [ "$status" -eq 2 ]
    run --separate-stderr fpt --group-by host -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"meta.KEY"* ]]
    run --separate-stderr fpt --update "$D/none.json" --model knn
    [ "$status" -eq 2 ]
    run --separate-stderr fpt -o "$D/m.json" /nonexistent/x.jsonl
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"/nonexistent/x.jsonl: No such file or directory"* ]]
    [ ! -e "$D/m.json" ]
}

@test "-o -: the model on standard output (as the file would be), no file named -" {
    local P=$BATS_TEST_TMPDIR
    fps 20 > "$P/in.jsonl"
    fpt --seed 1 -q -M knn -o "$P/file.json" "$P/in.jsonl"
    cd "$P"
    run --separate-stderr fpt --seed 1 -q -M knn -o - "$P/in.jsonl"
    [ "$status" -eq 0 ]
    [ ! -e "$P/-" ]
    # the same model but for the path provenance records
    diff <(jq -S 'del(.provenance)' "$P/file.json") <(jq -S 'del(.provenance)' <<<"$output")
    printf '%s\n' "$output" > "$P/out.json"
    fps 1 50 | fpp -m "$P/out.json" | jq -se 'any(.type == "prediction")'
    # and from standard input to standard output
    run --separate-stderr bash -c "'$FP_BIN/fp-train' --seed 1 -q -M knn -o - < '$P/in.jsonl'"
    [ "$status" -eq 0 ]
    jq -e '.kind == "knn"' <<<"$output"
}

@test "training is deterministic with --seed: identical model files" {
    export SOURCE_DATE_EPOCH=1700000000
    fpt -q --seed 7 -o "$D/m.json" "$D/train.jsonl"
    cp "$D/m.json" "$D/m1.json"
    fpt -q --seed 7 -o "$D/m.json" "$D/train.jsonl"
    cmp "$D/m.json" "$D/m1.json"
    # provenance: command, inputs, counts, seed, time, version, report
    p=$(jq -c .provenance "$D/m.json")
    [ "$(jq -r .seed <<<"$p")" = 7 ]
    [ "$(jq -r .time <<<"$p")" = 2023-11-14T22:13:20Z ]
    [ "$(jq -r '.command[0]' <<<"$p")" = fp-train ]
    [ "$(jq -r '.inputs[0]' <<<"$p")" = "$D/train.jsonl" ]
    [ "$(jq -r .records.fingerprint <<<"$p")" = 40 ]
    [ "$(jq -r .examples <<<"$p")" = 40 ]
    [ "$(jq -r .target <<<"$p")" = peak ]
    [ -n "$(jq -r .fp_version <<<"$p")" ]
    [ "$(jq -r .report.n_val <<<"$p")" -gt 0 ]
    [ "$(jq -r .kind "$D/m.json")" = linear ]
    [ "$(jq -c .features.names "$D/m.json")" = '["cpu_cores_mean","mem_bytes_mean","io_read_Bps_mean"]' ]
}

@test "progress and validation metrics on stderr; -q is quiet" {
    run --separate-stderr fpt --progress --epochs 5 -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [[ "$stderr" == *"epoch 1/5"* ]]
    [[ "$stderr" == *"validation loss"* ]]
    [[ "$stderr" == *"validation coverage cpu_cores"*"p90"* ]]
    run --separate-stderr fpt -q -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}

@test "progress with elapsed time and what remains: redrawn in place on a terminal, quiet in a pipe unless --progress (issue 15)" {
    need_cmd script util-linux
    # a pipe (cron, scripts): no progress, the report still there
    run --separate-stderr fpt --epochs 5 -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" != *"epoch "* ]]
    [[ "$stderr" != *"elapsed"* ]]
    [[ "$stderr" == *"validation coverage cpu_cores"* ]]
    # asked for: a line per epoch, with elapsed time and an estimate of what remains
    run --separate-stderr fpt --progress --epochs 5 -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^fp-train: epoch [1-5]/5 ' <<<"$stderr")" -eq 5 ]
    grep -Eq '^fp-train: epoch 1/5 .*  elapsed [0-9.]+ m?s, (at most|about) [0-9.]+ m?s left$' <<<"$stderr"
    # without validation the remaining epochs are known: "about"
    run --separate-stderr fpt --progress --val-frac 0 --no-calibrate --epochs 4 -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    grep -Eq '^fp-train: epoch 2/4  train loss [0-9.]+  elapsed .*, about .* left$' <<<"$stderr"
    [[ "$stderr" != *"validation loss"* ]]
    # a terminal: one line redrawn in place (carriage returns, erase to the end of line)
    script -qec "'$FP_BIN/fp-train' --epochs 5 -o '$D/t.json' '$D/train.jsonl'" /dev/null > "$D/tty"
    grep -q $'\r''fp-train: epoch 5/5 ' "$D/tty"
    grep -q 'elapsed .* left' "$D/tty"
    [ "$(grep -c $'\033\\[K' "$D/tty")" -ge 1 ]
    # --no-progress, or -q, on a terminal: none
    script -qec "'$FP_BIN/fp-train' --no-progress --epochs 5 -o '$D/t.json' '$D/train.jsonl'" /dev/null > "$D/tty2"
    (! grep -q 'epoch ' "$D/tty2")
    script -qec "'$FP_BIN/fp-train' -q --epochs 5 -o '$D/t.json' '$D/train.jsonl'" /dev/null > "$D/tty3"
    [ ! -s "$D/tty3" ]
}

@test "linear: a held-out workload's cpu_cores p50 is within 5% of 2x+1" {
    fpt -q --seed 1 -o "$D/m.json" "$D/train.jsonl"
    fpp -m "$D/m.json" --no-pass "$D/test.jsonl" > "$D/pred.jsonl"
    [ "$(of_type prediction "$D/pred.jsonl" | wc -l)" -eq 10 ]
    while read -r id p50; do
        x=$(jq -r --arg id "$id" 'select(.type=="actual" and .id==$id) | .cpu_cores_peak' "$D/test.jsonl")
        between "$p50" "$(awk -v x="$x" 'BEGIN{print x*0.95}')" "$(awk -v x="$x" 'BEGIN{print x*1.05}')" "$id p50"
    done < <(jq -r 'select(.type=="prediction") | "\(.id) \(.quantiles.cpu_cores.p50)"' "$D/pred.jsonl")
}

@test "quantile coverage on held-out noisy data is near the level" {
    # y = 2x + 1 + noise, noise uniform in [0, 2): p90 should cover ~90%
    jq -cn 'def r($s): (($s * 7919 + 13) % 1000) / 1000;
      range(0; 400) as $k | (($k % 37) * 0.1 + 0.05) as $x |
      {schema:1,type:"fingerprint",id:"n\($k)",t:10,window_s:10,features:{f:$x}},
      {schema:1,type:"actual",id:"n\($k)",t:50,cpu_cores_peak:(2*$x + 1 + 2*r($k))}' > "$D/noisy.jsonl"
    jq -c 'select((.id|ltrimstr("n")|tonumber) < 300)' "$D/noisy.jsonl" > "$D/ntrain.jsonl"
    jq -c 'select((.id|ltrimstr("n")|tonumber) >= 300)' "$D/noisy.jsonl" > "$D/ntest.jsonl"
    fpt -q --seed 2 --levels 0.5,0.9 --lr 0.02 -o "$D/q.json" "$D/ntrain.jsonl"
    fpp -m "$D/q.json" --no-pass "$D/ntest.jsonl" | jq -c 'select(.type=="prediction")' > "$D/qp.jsonl"
    cov=$(jq -s --slurpfile a "$D/ntest.jsonl" '
        ($a | map(select(.type=="actual")) | map({(.id): .cpu_cores_peak}) | add) as $y |
        map(select($y[.id] <= .quantiles.cpu_cores.p90)) | length / 100' "$D/qp.jsonl")
    between "$cov" 0.8 0.98 "p90 coverage"
    cov50=$(jq -s --slurpfile a "$D/ntest.jsonl" '
        ($a | map(select(.type=="actual")) | map({(.id): .cpu_cores_peak}) | add) as $y |
        map(select($y[.id] <= .quantiles.cpu_cores.p50)) | length / 100' "$D/qp.jsonl")
    between "$cov50" 0.35 0.65 "p50 coverage"
}

@test "--group-by meta.KEY~REGEX keeps groups together in the split" {
    run --separate-stderr fpt --group-by 'meta.input~[0-9]+' --val-frac 0.25 -o "$D/m.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r .provenance.groups "$D/m.json")" = 8 ]
    [ "$(jq -r .provenance.report.groups_val "$D/m.json")" = 2 ]
    [ "$(jq -r .provenance.group_by "$D/m.json")" = 'meta.input~[0-9]+' ]
}

@test "--window picks the fingerprint closest to S; the first one by default" {
    jq -cn '{schema:1,type:"fingerprint",id:"a",t:5,window_s:5,features:{f:100}},
            {schema:1,type:"fingerprint",id:"a",t:30,window_s:30,features:{f:1}},
            {schema:1,type:"actual",id:"a",t:60,cpu_cores_peak:3},
            {schema:1,type:"fingerprint",id:"b",t:5,window_s:5,features:{f:200}},
            {schema:1,type:"fingerprint",id:"b",t:30,window_s:30,features:{f:2}},
            {schema:1,type:"actual",id:"b",t:60,cpu_cores_peak:5}' > "$D/w.jsonl"
    fpt -q -M knn --k 1 -o "$D/k.json" "$D/w.jsonl"
    [ "$(jq -c '.features.median' "$D/k.json")" != null ]
    m1=$(jq -r '.features.median[0]' "$D/k.json")
    fpt -q -M knn --k 1 --window 30 -o "$D/k30.json" "$D/w.jsonl"
    m30=$(jq -r '.features.median[0]' "$D/k30.json")
    # median of signed log1p(f): first windows ~ log(151), 30 s windows ~ log(2.5)
    between "$m1" 4 6 "median of the first fingerprints"
    between "$m30" 0.5 1.5 "median of the 30 s fingerprints"
}

@test "knn --explain names the nearest training workload" {
    fpt -q -M knn --k 3 -o "$D/k.json" "$D/train.jsonl"
    fpp -m "$D/k.json" --explain --no-pass "$D/test.jsonl" | of_type prediction > "$D/kp.jsonl"
    # w13 (x = 1.35) lies between w12 and w14
    near=$(jq -r 'select(.id=="w13") | .explain.nearest[0].id' "$D/kp.jsonl")
    [[ "$near" == w12 || "$near" == w14 ]]
    [ "$(jq -r 'select(.id=="w13") | .explain.nearest | length' "$D/kp.jsonl")" = 3 ]
    [ "$(jq -r 'select(.id=="w13") | .model' "$D/kp.jsonl")" = knn:k ]
}

@test "--update moves the model toward new data and keeps the old provenance" {
    fpt -q --seed 1 -o "$D/m.json" "$D/train.jsonl"
    x=$(fpp -m "$D/m.json" --no-pass "$D/test.jsonl" | jq -r 'select(.type=="prediction" and .id=="w23") | .quantiles.cpu_cores.p50')
    # new data: slope 4 instead of 2 (w23: 4 x 2.35 + 1 = 10.4 instead of 5.7)
    fps 50 0 4 > "$D/new.jsonl"
    cp "$D/m.json" "$D/old.json"
    fpt -q --seed 1 --update "$D/m.json" "$D/new.jsonl"
    ! cmp -s "$D/m.json" "$D/old.json"
    y=$(fpp -m "$D/m.json" --no-pass "$D/test.jsonl" | jq -r 'select(.type=="prediction" and .id=="w23") | .quantiles.cpu_cores.p50')
    awk -v x="$x" -v y="$y" 'BEGIN { exit !(y > x + 1) }'
    [ "$(jq -r .provenance.previous.examples "$D/m.json")" = 40 ]
    [ "$(jq -r .provenance.examples "$D/m.json")" = 50 ]
    # -o writes elsewhere and leaves MODEL alone
    cp "$D/m.json" "$D/keep.json"
    fpt -q --update "$D/m.json" -o "$D/m2.json" "$D/new.jsonl"
    cmp "$D/m.json" "$D/keep.json"
    [ -s "$D/m2.json" ]
}

@test "--from-samples: rows at checkpoints, target the peak over the horizon" {
    streams 20 > "$D/st.jsonl"
    run --separate-stderr fpt --from-samples --every 5 --horizon 10 --epochs 30 -o "$D/s.json" "$D/st.jsonl"
    [ "$status" -eq 0 ]
    # checkpoints at 5, 10, ..., 55 (11 per workload), all with samples ahead
    [ "$(jq -r .provenance.examples "$D/s.json")" = 220 ]
    [ "$(jq -r .provenance.target "$D/s.json")" = horizon_peak ]
    [ "$(jq -r .provenance.horizon_s "$D/s.json")" = 10 ]
    [ "$(jq -r '.features.names | length' "$D/s.json")" = 692 ]
}

@test "history models learn from samples and refuse fingerprints alone (exit 2)" {
    streams 5 > "$D/st.jsonl"
    run --separate-stderr fpt -M vpa -o "$D/v.json" "$D/st.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r .kind "$D/v.json")" = vpa ]
    run --separate-stderr fpt -M autopilot -o "$D/a.json" "$D/train.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"history baseline"*"samples"* ]]
    [ ! -e "$D/a.json" ]
}

@test "no usable examples: a clear message, exit 3" {
    of_type fingerprint "$D/train.jsonl" > "$D/fponly.jsonl"
    run --separate-stderr fpt -o "$D/m.json" "$D/fponly.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no usable examples: 40 fingerprint and 0 actual records, 0 joined by id"* ]]
    [ ! -e "$D/m.json" ]
}

@test "bad input: NAME:LINE, exit 3; --skip-bad goes on" {
    { head -4 "$D/train.jsonl"; echo '{"schema":1,"type":"fingerprint",'; tail -n +5 "$D/train.jsonl"; } > "$D/bad.jsonl"
    run --separate-stderr fpt -q -o "$D/m.json" "$D/bad.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"$D/bad.jsonl:5:"* ]]
    [ ! -e "$D/m.json" ]
    run --separate-stderr fpt -q --skip-bad -o "$D/m.json" "$D/bad.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"skipped 1 malformed line"* ]]
    # a feature that is not a number
    { head -2 "$D/train.jsonl"; echo '{"schema":1,"type":"fingerprint","id":"x","t":1,"features":{"cpu_cores_mean":"a","mem_bytes_mean":1,"io_read_Bps_mean":1}}'; } > "$D/bad2.jsonl"
    run --separate-stderr fpt -q -o "$D/m2.json" "$D/bad2.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad2.jsonl:3: features.cpu_cores_mean is not a number or null"* ]]
}

@test "a model that cannot be written: exit 2, the old file unchanged" {
    # root writes anywhere: run as nobody through setpriv when root, in a
    # directory nobody can reach but not write
    as=()
    if [ "$(id -u)" = 0 ]; then
        command -v setpriv >/dev/null || skip "root writes anywhere and setpriv is missing"
        as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    fpt -q -o "$D/m.json" "$D/train.jsonl"
    top=$(mktemp -d)
    chmod 755 "$top"
    mkdir "$top/ro"
    cp "$D/m.json" "$top/ro/m.json"
    chmod 644 "$top/ro/m.json"
    chmod 555 "$top/ro"
    run --separate-stderr "${as[@]}" "$FP_BIN/fp-train" -q --epochs 3 -o "$top/ro/m.json" < "$D/train.jsonl"
    chmod 755 "$top/ro"
    cmp "$D/m.json" "$top/ro/m.json"
    left=$(ls "$top/ro")
    rm -rf "$top"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"ro/m.json: cannot create a temporary file"* ]]
    [ "$left" = m.json ]
}

@test "a model path in a missing directory: exit 2, nothing written" {
    run --separate-stderr fpt -q -o "$D/nodir/m.json" "$D/train.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"nodir/m.json"* ]]
    [ ! -e "$D/nodir" ]
}

@test "live: stress-ng runs -> fp-train -> fp-predict sizes a new run" {
    need_root
    need_cmd stress-ng
    for n in 1 1 2 2 3 3; do
        fpc -i 0.2 -w 1 --no-samples -- stress-ng --cpu "$n" --cpu-load 100 --timeout 3 >> "$D/live.jsonl" 2>/dev/null
    done
    fpt -q -M knn --k 2 --val-frac 0 -o "$D/live.json" "$D/live.jsonl"
    fpc -i 0.2 -w 1 --no-samples -- stress-ng --cpu 2 --cpu-load 100 --timeout 3 > "$D/new.jsonl" 2>/dev/null
    fpp -m "$D/live.json" --no-pass "$D/new.jsonl" > "$D/lp.jsonl"
    p50=$(jq -r 'select(.type=="prediction") | .quantiles.cpu_cores.p50' "$D/lp.jsonl" | head -1)
    peak=$(jq -r 'select(.type=="actual") | .cpu_cores_peak' "$D/new.jsonl")
    between "$p50" "$(awk -v p="$peak" 'BEGIN{print p*0.5}')" "$(awk -v p="$peak" 'BEGIN{print p*1.6}')" "cpu p50 vs measured peak"
}

# ramps N OFFSET: N workloads rK of 60 one-second samples; mem ramps at
# s = 1 + (K % 10) / 2 MB/s for 30 s, stays, peaks at 90 s MB over 45-49 s,
# then falls back to the base; then the actual.
ramps() {
    jq -cn --argjson n "$1" --argjson o "${2:-0}" '
      range(0; $n) as $i | ($i + $o) as $k | (1 + ($k % 10) * 0.5) as $s |
      (range(0; 60) as $t | {schema:1,type:"sample",id:"r\($k)",t:$t,
         ts_ms:(1700000000000 + $k*100000 + $t*1000), cpu_cores:0.5,
         mem_bytes:(100000000 + 1000000 * $s * (if $t < 30 then $t elif $t < 45 then 30
                                                  elif $t < 50 then 90 else 0 end))}),
      {schema:1,type:"actual",id:"r\($k)",t:59,duration_s:59,cpu_cores_peak:0.5,
       mem_bytes_peak:(100000000 + 90000000 * $s)}'
}

@test "gru --from-samples: deterministic; a held-out ramp's next-horizon peak within 15%" {
    export SOURCE_DATE_EPOCH=1700000000
    ramps 30 > "$D/r.jsonl"
    ramps 1 33 > "$D/held.jsonl"
    args=(--model gru --from-samples --every 5 --horizon 20 --hidden 8 --epochs 30 --seed 3)
    run --separate-stderr fpt "${args[@]}" -o "$D/g.json" "$D/r.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"sequences of 13 metrics (at most 512 steps)"* ]]
    cp "$D/g.json" "$D/g1.json"
    fpt -q "${args[@]}" -o "$D/g.json" "$D/r.jsonl" 2>/dev/null || true
    # -q changes only the recorded command
    [ "$(jq -S 'del(.provenance.command)' "$D/g.json")" = "$(jq -S 'del(.provenance.command)' "$D/g1.json")" ]
    fpt "${args[@]}" -o "$D/g.json" "$D/r.jsonl" 2>/dev/null
    cmp "$D/g.json" "$D/g1.json"
    [ "$(jq -r .kind "$D/g.json")" = gru ]
    [ "$(jq -r .provenance.training.max_steps "$D/g.json")" = 512 ]
    # r33: s = 2.5; at t = 30 the peak over (30, 50] is 1e8 + 90 * 2.5e6 = 3.25e8
    p=$(fpp -m "$D/g.json" --no-pass --every 5 "$D/held.jsonl" | jq -r 'select(.type=="prediction" and .t==30) | .quantiles.mem_bytes.p50')
    [ -n "$p" ]
    awk -v p="$p" 'BEGIN { e = (p - 325000000) / 325000000; exit !(e < 0.15 && e > -0.15) }'
}

@test "a sequence model from fingerprints+actuals needs the samples: exit 3 naming them" {
    ramps 10 > "$D/r.jsonl"
    jq -c 'select(.type=="sample" and .t==29) | {schema:1,type:"fingerprint",id,t:30,window_s:30,
           features:{cpu_cores_mean:0.5}}' "$D/r.jsonl" > "$D/f.jsonl"
    jq -c 'select(.type=="actual")' "$D/r.jsonl" >> "$D/f.jsonl"
    run --separate-stderr fpt --model lstm -o "$D/l.json" "$D/f.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"lstm model reads each workload's samples"*"no sample records"* ]]
    [ ! -e "$D/l.json" ]
    # with the samples: trained on the samples up to each fingerprint
    cat "$D/f.jsonl" "$D/r.jsonl" > "$D/fs.jsonl"
    fpt -q --model lstm --hidden 4 --epochs 3 -o "$D/l.json" "$D/fs.jsonl"
    [ "$(jq -r .kind "$D/l.json")" = lstm ]
}

@test "--model auto: the candidates' costs on stderr, the winner's kind in the model" {
    ramps 20 > "$D/r.jsonl"
    run --separate-stderr fpt --model auto --from-samples --every 10 --horizon 20 --hidden 4 \
        --epochs 5 --seed 2 -o "$D/a.json" "$D/r.jsonl"
    [ "$status" -eq 0 ]
    for k in linear knn lstm gru transformer; do
        [[ "$stderr" == *"auto: $k "*"validation cost"* ]]
    done
    w=$(jq -r .provenance.auto.winner "$D/a.json")
    [ "$(jq -r .kind "$D/a.json")" = "$w" ]
    [[ "$stderr" == *"kept $w"* ]]
    [ "$(jq -r '.provenance.auto.candidates | keys | length' "$D/a.json")" = 5 ]
    [ "$(jq -r .provenance.auto.cost.lambda_under "$D/a.json")" = 10 ]
    # fingerprints only: the sequence kinds are skipped
    run --separate-stderr fpt --model auto --epochs 5 -o "$D/b.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"gru skipped (no sample records)"* ]]
    [[ "$(jq -r .kind "$D/b.json")" =~ ^(linear|knn)$ ]]
    # lifetime mode: one row per workload, no allocation changes to weigh,
    # even when a group holds several workloads
    run --separate-stderr fpt --model auto --epochs 5 --group-by 'meta.input~[0-9]+' -o "$D/c.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq '[.provenance.auto.candidates[] | select(.change != null and .change != 0)] | length' "$D/c.json")" = 0 ]
    # while from sample checkpoints the change term counts
    [ "$(jq '[.provenance.auto.candidates[] | select(.change > 0)] | length' "$D/a.json")" -ge 1 ]
}

# grouped G R [PREFIX [FIRST]]: groups FIRST.. FIRST+G-1 of R workloads
# each: feature f = the group's signature, memory peak exp(20 + f + e_g +
# 0.2 n) with a group effect e_g the features do not show (deterministic
# pseudo-random draws from the group's number), meta.grp and a request
# req_mem_bytes of 3e10.
grouped() {
    jq -cn --argjson G "$1" --argjson R "$2" --arg p "${3:-g}" --argjson o "${4:-0}" '
      def r($s): (($s | sin) * 43758.5453) | . - floor;
      def nrm($s): (r($s) + r($s + 0.25) + r($s + 0.5) + r($s + 0.75) - 2) * 1.7;
      range($o; $o + $G) as $g | (r($g * 17 + 5) * 2) as $f | (0.8 * nrm($g * 31 + 7)) as $e |
      range(0; $R) as $i | "\($p)\($g)-\($i)" as $id |
      {schema:1,type:"fingerprint",id:$id,t:10,window_s:10,features:{f:($f + 0.01 * r($i))},
       meta:{grp:"\($p)\($g)",req_mem_bytes:30000000000}},
      {schema:1,type:"actual",id:$id,t:50,duration_s:50,
       mem_bytes_peak:((20 + $f + $e + 0.2 * nrm($g * 101 + $i * 13 + 3)) | exp | floor)}'
}

@test "calibration: stored with its provenance, printed, applied by fp-predict; --no-calibrate" {
    grouped 60 4 > "$D/g.jsonl"
    run --separate-stderr fpt -M knn --k 1 --group-by meta.grp -o "$D/k.json" "$D/g.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"calibration: log1p shift, 5 folds over 60 groups, 240 held-out rows"* ]]
    [[ "$stderr" =~ held-out\ coverage\ mem_bytes\ +p50\ [0-9.]+\ -\>\ [0-9.]+\ +p90 ]]
    [ "$(jq -r .calibration.method "$D/k.json")" = log1p ]
    [ "$(jq -r '.calibration.shift.mem_bytes | length' "$D/k.json")" = 3 ]
    [ "$(jq -r .calibration.provenance.groups "$D/k.json")" = 60 ]
    [ "$(jq -r .calibration.provenance.rows "$D/k.json")" = 240 ]
    # one neighbour is far too sure of itself for a new group: p90 widens
    before=$(jq -r .calibration.provenance.coverage_before.mem_bytes.p90 "$D/k.json")
    after=$(jq -r .calibration.provenance.coverage_after.mem_bytes.p90 "$D/k.json")
    between "$before" 0 0.8 "held-out p90 coverage before"
    between "$after" 0.85 0.95 "held-out p90 coverage after"
    between "$(jq -r '.calibration.shift.mem_bytes[1]' "$D/k.json")" 0.1 5 "p90 shift"
    # fp-predict applies it; --uncalibrated gives the raw quantiles
    grouped 1 1 new 500 > "$D/new.jsonl"
    c=$(fpp -m "$D/k.json" --no-pass --no-cap "$D/new.jsonl" | jq -r 'select(.type=="prediction") | .quantiles.mem_bytes.p90')
    r=$(fpp -m "$D/k.json" --no-pass --no-cap --uncalibrated "$D/new.jsonl" | jq -r 'select(.type=="prediction") | .quantiles.mem_bytes.p90')
    s=$(jq -r '.calibration.shift.mem_bytes[1]' "$D/k.json")
    # c = expm1(log1p(r) + shift): compare in log space
    between "$(jq -n --argjson c "$c" --argjson r "$r" --argjson s "$s" '(($c + 1 | log) - ($r + 1 | log)) - $s')" -1e-6 1e-6 "p90 moved by its shift"
    # no calibration section with --no-calibrate
    run --separate-stderr fpt -M knn --k 1 --group-by meta.grp --no-calibrate -o "$D/n.json" "$D/g.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"calibration: off (--no-calibrate)"* ]]
    [ "$(jq -r 'has("calibration")' "$D/n.json")" = false ]
    n=$(fpp -m "$D/n.json" --no-pass --no-cap "$D/new.jsonl" | jq -r 'select(.type=="prediction") | .quantiles.mem_bytes.p90')
    [ "$n" = "$r" ]
    # too few groups: said, not stored
    run --separate-stderr fpt -M knn -o "$D/one.json" "$D/new.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"calibration: none: 1 group(s)"* ]]
    [ "$(jq -r 'has("calibration")' "$D/one.json")" = false ]
    run --separate-stderr fpt --calibrate-method mul -o "$D/x.json" "$D/g.jsonl"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--calibrate-method wants log1p, add or auto"* ]]
}

@test "calibrated quantiles cover new groups near their levels" {
    grouped 80 4 > "$D/g.jsonl"
    grouped 150 2 new 1000 > "$D/new.jsonl"
    fpt -q -M knn --k 1 --group-by meta.grp -o "$D/k.json" "$D/g.jsonl"
    fpp -m "$D/k.json" --no-pass --no-cap "$D/new.jsonl" > "$D/p.jsonl"
    fpp -m "$D/k.json" --no-pass --no-cap --uncalibrated "$D/new.jsonl" > "$D/r.jsonl"
    cov() {
        jq -s --slurpfile a "$D/new.jsonl" --arg l "$2" '
            ($a | map(select(.type=="actual")) | map({(.id): .mem_bytes_peak}) | add) as $y |
            map(select(.type == "prediction")) |
            (map(select($y[.id] <= .quantiles.mem_bytes[$l])) | length) / length' "$1"
    }
    between "$(cov "$D/r.jsonl" p90)" 0 0.8 "raw p90 coverage of new groups"
    between "$(cov "$D/p.jsonl" p90)" 0.84 0.96 "calibrated p90 coverage of new groups"
    between "$(cov "$D/p.jsonl" p50)" 0.4 0.6 "calibrated p50 coverage of new groups"
    between "$(cov "$D/p.jsonl" p99)" 0.96 1 "calibrated p99 coverage of new groups"
}

@test "knn: p99 above p90 where the neighbours differ, equal targets stay close" {
    jq -cn 'range(0; 10) as $k |
      {schema:1,type:"fingerprint",id:"w\($k)",t:10,window_s:10,features:{f:1}},
      {schema:1,type:"actual",id:"w\($k)",t:50,mem_bytes_peak:(1e9 * (1 + $k))}' > "$D/spread.jsonl"
    fpt -q -M knn --k 5 --no-calibrate -o "$D/s.json" "$D/spread.jsonl"
    p=$(jq -cn '{schema:1,type:"fingerprint",id:"q",t:10,window_s:10,features:{f:1}}' | fpp -m "$D/s.json" --no-pass | jq -c 'select(.type == "prediction")')
    p90=$(jq -r .quantiles.mem_bytes.p90 <<<"$p"); p99=$(jq -r .quantiles.mem_bytes.p99 <<<"$p")
    p50=$(jq -r .quantiles.mem_bytes.p50 <<<"$p")
    [ "$(jq -n "$p99 > 1.05 * $p90 and $p90 > 1.05 * $p50")" = true ]
}

@test "a prediction never exceeds the request in the metadata: capped_by" {
    grouped 20 3 > "$D/g.jsonl"
    fpt -q -M knn --group-by meta.grp -o "$D/k.json" "$D/g.jsonl"
    # a new workload whose request is below what the model predicts
    jq -c 'if .type == "fingerprint" then .meta.req_mem_bytes = 1000 | .meta.req_cpus = 64 else . end' \
        "$D/g.jsonl" | head -2 > "$D/low.jsonl"
    p=$(fpp -m "$D/k.json" --no-pass "$D/low.jsonl" | jq -c 'select(.type == "prediction")')
    [ "$(jq -r '.quantiles.mem_bytes | [.p50, .p90, .p99] | map(. == 1000) | all' <<<"$p")" = true ]
    [ "$(jq -r .capped_by.mem_bytes <<<"$p")" = meta.req_mem_bytes ]
    [ "$(jq -r '.capped_by | has("cpu_cores")' <<<"$p")" = false ]
    # fp-diff reads it back
    echo "$p" > "$D/p.jsonl"
    "$FP_BIN/fp-diff" --no-pass --join "$D/p.jsonl" "$D/low.jsonl" | jq -e 'select(.type == "score")' > /dev/null
    p=$(fpp -m "$D/k.json" --no-pass --no-cap "$D/low.jsonl" | jq -c 'select(.type == "prediction")')
    [ "$(jq -r '.quantiles.mem_bytes.p50 > 1000' <<<"$p")" = true ]
    [ "$(jq -r 'has("capped_by")' <<<"$p")" = false ]
}

@test "--from-samples: a far-future sample time is refused (exit 3), a large jump is not stepped through" {
    # issue 14: the checkpoint loop ran once per --every step up to t
    jq -cn '(range(0; 30) as $s | {schema:1,type:"sample",id:"s0",t:(if $s < 20 then $s else 9e9 + $s end),
              cpu_cores:1, mem_bytes:1000000}), {schema:1,type:"actual",id:"s0",t:9e9,cpu_cores_peak:1}' > "$D/jump.jsonl"
    run --separate-stderr timeout 20 "$FP_BIN/fp-train" -q --from-samples --every 0.001 --horizon 10 --epochs 1 -o "$D/m.json" "$D/jump.jsonl"
    [ "$status" -ne 124 ]
    jq -c 'if .type == "sample" and .t >= 20 then .t = 1e300 else . end' "$D/jump.jsonl" > "$D/far.jsonl"
    run --separate-stderr timeout 20 "$FP_BIN/fp-train" -q --from-samples --every 5 --horizon 10 --epochs 1 -o "$D/m2.json" "$D/far.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"far.jsonl:21:"*"out of range"* ]]
}

@test "-o to a FIFO, a symlink or a character device: written through or to the target, never replaced (issue 14)" {
    mkfifo "$D/fifo"
    cat "$D/fifo" > "$D/from-fifo" &
    local reader=$!
    run --separate-stderr timeout 60 "$FP_BIN/fp-train" -q -o "$D/fifo" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    wait "$reader"
    [ -p "$D/fifo" ]
    [ "$(jq -r .format "$D/from-fifo")" = fp-model ]
    echo '{}' > "$D/target.json"
    ln -s target.json "$D/link.json"
    run --separate-stderr fpt -q -o "$D/link.json" "$D/train.jsonl"
    [ "$status" -eq 0 ]
    [ -L "$D/link.json" ]
    [ "$(jq -r .format "$D/target.json")" = fp-model ]
    if [ "$(id -u)" = 0 ]; then
        mknod "$D/null" c 1 3
        run --separate-stderr fpt -q -o "$D/null" "$D/train.jsonl"
        [ "$status" -eq 0 ]
        [ -c "$D/null" ]
    fi
}

@test "--nextflow-config: a Nextflow configuration from a trace, or from actual records, with a summary" {
    T="$FP_FIXTURES/tasks"
    run --separate-stderr "$FP_BIN/fp-train" --nextflow-config "$BATS_TEST_TMPDIR/nf.config" \
        --config-min-tasks 1 --config-quantile 0.9 "$T/nextflow-full.txt"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    c="$BATS_TEST_TMPDIR/nf.config"
    # ALIGN learned from its completed attempt only (2.5 GB x 1.05 = 2688 MiB)
    grep -q "^    withName: 'NFCORE_X:ALIGN' {$" "$c"
    [ "$(grep -A3 "NFCORE_X:ALIGN" "$c" | grep -c '        memory = { 2688.MB \* task.attempt }')" -eq 1 ]
    grep -q "errorStrategy = { task.exitStatus in 137..140 ? 'retry' : 'terminate' }" "$c"
    grep -q "maxRetries = 2" "$c"
    [ "$(grep -c withName "$c")" -eq 2 ]
    [ "$(head -1 "$c" | cut -c1-3)" = "// " ]
    [[ "$stderr" == *"p90 of each process's peaks x 1.05"* ]]
    [[ "$stderr" == *"less), with 0 retries"* ]]
    # the same history as records through fp-capture
    "$FP_BIN/fp-capture" --replay "$T/nextflow-full.txt" > "$BATS_TEST_TMPDIR/h.jsonl"
    run --separate-stderr "$FP_BIN/fp-train" --nextflow-config - --config-min-tasks 1 --config-quantile 0.9 \
        "$BATS_TEST_TMPDIR/h.jsonl"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -v '^//')" = "$(grep -v '^//' "$c")" ]
}

@test "--nextflow-config: refusals" {
    T="$FP_FIXTURES/tasks"
    run "$FP_BIN/fp-train" --nextflow-config x -o m.json "$T/nextflow-full.txt"
    [ "$status" -eq 2 ]
    run "$FP_BIN/fp-train" -o m.json --config-quantile 0.9 "$T/nextflow-full.txt"
    [ "$status" -eq 2 ]
    run "$FP_BIN/fp-train" --nextflow-config - --config-quantile 1.5 "$T/nextflow-full.txt"
    [ "$status" -eq 2 ]
    run --separate-stderr "$FP_BIN/fp-train" --nextflow-config - "$T/bad-unit.txt"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"bad-unit.txt:3: column 'peak_rss'"* ]]
    run --separate-stderr "$FP_BIN/fp-train" --nextflow-config - "$T/nextflow-full.txt"
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "$output" | grep -v '^//')" = "$(printf 'process {\n}')" ]   # fewer than 3 tasks each
    [[ "$stderr" == *"left to the workflow's settings"* ]]
}
