#!/usr/bin/env bats
# fp-apply on this machine's real cgroups (v1 here, v2 elsewhere): the limits
# take effect. Workloads run under fp-capture, whose samples measure the
# effect; predictions are made from those samples with jq. Needs root.
load helpers

setup() {
    need_root
    need_cmd jq
    need_cmd stress-ng
    P=$BATS_TEST_TMPDIR
}

# The directory of cgroup REL for CONTROLLER (cpu, memory) on this machine.
cg_dir() { # CONTROLLER REL
    local m
    m=$(awk -v c="$1" '$9 == "cgroup" && ("," $NF ",") ~ ("," c ",") { print $5; exit }' /proc/self/mountinfo)
    [ -n "$m" ] || m=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
    printf '%s%s\n' "$m" "$2"
}

@test "a CPU burner under a 0.5-core limit measures about 0.5 core" {
    printf '{"resources":{"cpu_cores":{"quantile":0.9,"headroom":1}}}\n' > "$P/pol.json"
    # the reference: an unlimited burner in the same run, measured by the
    # kernel (/proc/PID/stat) over the limited window; on an idle machine it
    # gets one core, on a loaded one what the scheduler leaves it
    sh -c 'while :; do :; done' &
    ref_pid=$!
    ( sleep 2.4; proc_cpu_s "$ref_pid"; now_s; sleep 4.2; proc_cpu_s "$ref_pid"; now_s ) > "$P/ref" &
    ref_timer=$!
    # one prediction, made from the sample at t ~ 1 s: 0.5 core at p90
    fpc -i 0.5 -- stress-ng --cpu 1 --cpu-method loop -t 7s --quiet |
        tee "$P/s.jsonl" |
        jq -c --unbuffered 'select(.type == "sample" and .t > 0.9 and .t < 1.4) |
            {schema:1, type:"prediction", id, t, target, quantiles:{cpu_cores:{p90:0.5}}}' |
        fpa --no-pass -P "$P/pol.json" --disable mem_bytes > "$P/a.jsonl"
    [ "$(jq -r .ok "$P/a.jsonl")" = true ]
    [ "$(jq -r .limits.cpu_max_cores "$P/a.jsonl")" = 0.5 ]
    before=$(jq -s '[.[] | select(.type=="sample" and .t > 0.4 and .t < 1.1) | .cpu_cores] | add / length' "$P/s.jsonl")
    after=$(jq -s '[.[] | select(.type=="sample" and .t > 2.4 and .t < 6.6) | .cpu_cores] | add / length' "$P/s.jsonl")
    wait "$ref_timer"
    kill "$ref_pid"; wait "$ref_pid" 2>/dev/null || true
    ref=$(cores_between $(sed -n 1,2p "$P/ref") $(sed -n 3,4p "$P/ref"))
    echo "before $before after $after; unlimited reference $ref"
    between "$ref" 0.02 1.05 "the unlimited reference burner"
    between "$before" "$(awk -v r="$ref" 'BEGIN { print r * 0.7 }')" 1.1 "unlimited burner against the reference"
    # the limit holds whatever the load; on an idle machine the burner gets
    # all of it (0.4..0.6), on a loaded one the limit or its fair share
    between "$after" "$(awk -v r="$ref" 'BEGIN { m = r < 0.5 ? r : 0.5; print m * 0.8 }')" 0.6 "burner under 0.5 core"
}

@test "a memory grower meets its soft limit (memory.high) before the hard one (memory.max)" {
    printf '{"mem_margin_bytes":0,"mem_margin_frac":0,"mem_max_over_high":1.5,"resources":{"mem_bytes":{"quantile":0.99,"headroom":1}}}\n' > "$P/pol.json"
    # ~40 MiB/s into tail's buffer, up to 400 MiB
    fpc -i 0.25 -- sh -c 'for i in $(seq 400); do head -c 1048576 /dev/zero; sleep 0.02; done | tail -c 400M >/dev/null; exit 0' |
        tee "$P/s.jsonl" |
        jq -c --unbuffered 'select(.type == "sample" and .t > 0.4 and .t < 0.6) |
            {schema:1, type:"prediction", id, t, target, quantiles:{mem_bytes:{p99:104857600}}}' |
        fpa --no-pass -P "$P/pol.json" --disable cpu_cores > "$P/a.jsonl" &
    local job=$! cg="" i
    for i in $(seq 100); do
        cg=$(jq -r 'select(.type=="allocation") | .object' "$P/a.jsonl" 2>/dev/null | head -1)
        [ -n "$cg" ] && break
        sleep 0.1
    done
    [ -n "$cg" ]
    d=$(cg_dir memory "$cg")
    # watch the order of events: usage over the soft limit, then the hard limit hit
    local t=0 over_high="" hit_max=""
    while [ -d "$d" ] && [ $t -lt 300 ]; do
        if [ -f "$d/memory.events" ]; then         # v2
            h=$(awk '$1=="high"{print $2}' "$d/memory.events"); m=$(awk '$1=="max"{print $2}' "$d/memory.events")
            [ -z "$over_high" ] && [ "${h:-0}" -gt 0 ] && over_high=$t
            [ -z "$hit_max" ] && [ "${m:-0}" -gt 0 ] && hit_max=$t
        else                                        # v1: no events for the soft limit
            u=$(cat "$d/memory.usage_in_bytes" 2>/dev/null || echo 0)
            f=$(cat "$d/memory.failcnt" 2>/dev/null || echo 0)
            [ -z "$over_high" ] && [ "$u" -ge 104857600 ] && over_high=$t
            [ -z "$hit_max" ] && [ "$f" -gt 0 ] && hit_max=$t
        fi
        [ -n "$hit_max" ] && break
        sleep 0.02; t=$((t + 1))
    done
    wait $job || true
    echo "soft limit met at tick $over_high, hard limit at tick $hit_max"
    jq -c . "$P/a.jsonl"
    [ "$(jq -r .limits.mem_high_bytes "$P/a.jsonl")" = 104857600 ]
    [ "$(jq -r .limits.mem_max_bytes "$P/a.jsonl")" = 157286400 ]
    [ -n "$over_high" ]
    [ -n "$hit_max" ]
    [ "$over_high" -lt "$hit_max" ]
    # and the hard limit held: the grower never went past it
    peak=$(jq -s '[.[] | select(.type=="sample") | .mem_bytes // 0] | max' "$P/s.jsonl")
    between "$peak" 0 157286400 "peak memory under memory.max"
}

@test "--watch raises memory after an OOM kill by max(+100 MiB, x1.2)" {
    printf '{"mem_margin_bytes":0,"mem_margin_frac":0,"mem_max_over_high":1,"resources":{"mem_bytes":{"quantile":0.99,"headroom":1}}}\n' > "$P/pol.json"
    # grows to 120 MiB fast (stress-ng), far above the 64 MiB allowed, then sleeps
    fpc -i 0.25 -- sh -c 'sleep 0.8; stress-ng --vm 1 --vm-bytes 120M --vm-keep -t 3s --quiet; sleep 1.5; exit 0' |
        tee "$P/s.jsonl" |
        jq -c --unbuffered 'select(.type == "sample" and .t > 0.4 and .t < 0.6) |
            {schema:1, type:"prediction", id, t, target, quantiles:{mem_bytes:{p99:67108864}}}' |
        fpa --no-pass -P "$P/pol.json" --disable cpu_cores --watch 0.2 > "$P/a.jsonl"
    jq -c '{reason, ok, limits: .limits.mem_max_bytes, why: .why.mem_bytes}' "$P/a.jsonl"
    [ "$(jq -rs '.[0].limits.mem_max_bytes' "$P/a.jsonl")" = 67108864 ]
    oom=$(jq -c 'select(.reason == "oom")' "$P/a.jsonl" | head -1)
    [ -n "$oom" ]
    [ "$(jq -r .ok <<<"$oom")" = true ]
    # 64 MiB + 100 MiB = 164 MiB > 64 MiB x 1.2
    [ "$(jq -r .limits.mem_max_bytes <<<"$oom")" = $((164 * 1048576)) ]
    [[ "$(jq -r .why.mem_bytes <<<"$oom")" == *"OOM kill"* ]]
}

@test "limits on a real cgroup are reverted to the exact previous values" {
    # the workload outlives the checks by far, even on a loaded machine (its
    # cgroup, with the limits, goes when it ends)
    fpc -i 0.5 -- sleep 12 |
        jq -c --unbuffered 'select(.type == "sample" and .t > 0.9 and .t < 1.4) |
            {schema:1, type:"prediction", id, t, target, quantiles:{cpu_cores:{p90:0.3}, mem_bytes:{p99:209715200}}}' |
        fpa --no-pass > "$P/a.jsonl" &
    local job=$! cg="" i
    for i in $(seq 100); do
        cg=$(jq -r 'select(.type=="allocation") | .object' "$P/a.jsonl" 2>/dev/null | head -1)
        [ -n "$cg" ] && break
        sleep 0.1
    done
    [ -n "$cg" ]
    [ "$(jq -r .ok "$P/a.jsonl")" = true ]
    # every change is in place
    jq -r '.changes[] | "\(.path)\t\(.value)"' "$P/a.jsonl" | while IFS=$'\t' read -r f v; do
        got=$(cat "$f"); echo "$f: $got (want $v)"
        [ "$got" = "$v" ] || [ "$got" = "$(echo "$v" | awk '{print int($1/4096)*4096}')" ]
    done
    fpa --revert "$P/a.jsonl" > "$P/r.jsonl"
    [ "$(jq -r .ok "$P/r.jsonl")" = true ]
    jq -r '.changes[] | "\(.path)\t\(.previous)"' "$P/a.jsonl" | while IFS=$'\t' read -r f v; do
        got=$(cat "$f"); echo "$f: $got (was $v)"
        [ "$got" = "$v" ]
    done
    wait $job
}
