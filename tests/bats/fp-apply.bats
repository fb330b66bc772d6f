#!/usr/bin/env bats
# fp-apply: options, the policy, bad input, and limits written to a cgroup v2
# fixture tree (this machine's cgroup2 mount has no controllers; the live
# v1/v2 tests are in fp-apply-live.bats). No root needed.
load helpers

setup() {
    fp_v2_tree "$BATS_TEST_TMPDIR/t"
    CG=$BATS_TEST_TMPDIR/t/cgroup/fp/w1
}

knobs() { (cd "$1" && for f in cpu.max cpu.weight memory.high memory.max pids.max io.max; do printf '%s=%s\n' "$f" "$(cat $f)"; done); }

@test "--help and --version exit 0" {
    run --separate-stderr fpa --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-apply"* ]]
    [[ "$output" == *"--revert"* ]]
    run --separate-stderr fpa --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^fp-apply\ \(fp\)\ [0-9]+\.[0-9]+ ]]
}

@test "usage errors exit 2 with a message" {
    run --separate-stderr fpa --backend nfs
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'unknown backend "nfs"'* ]]
    run --separate-stderr fpa --overcommit maybe
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--overcommit wants scale, priority, refuse or allow"* ]]
    run --separate-stderr fpa --watch 0
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--watch wants seconds"* ]]
    run --separate-stderr fpa --enable gpu_cores
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'unknown resource "gpu_cores"'* ]]
    run --separate-stderr fpa /nonexistent/preds.jsonl
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"/nonexistent/preds.jsonl: No such file or directory"* ]]
}

@test "--print-policy shows the defaults, a policy file and flags override them" {
    run --separate-stderr fpa --print-policy
    [ "$status" -eq 0 ]
    [ "$(jq -r .overcommit <<<"$output")" = scale ]
    [ "$(jq -r .resources.mem_bytes.quantile <<<"$output")" = 0.99 ]
    [ "$(jq -r .resources.io_read_Bps.enabled <<<"$output")" = false ]
    echo '{"overcommit":"refuse","resources":{"cpu_cores":{"headroom":1.5}}}' > "$BATS_TEST_TMPDIR/p.json"
    run --separate-stderr fpa --no-pass -P "$BATS_TEST_TMPDIR/p.json" --overcommit priority --enable io_read_Bps --print-policy
    [ "$status" -eq 0 ]
    [ "$(jq -r .overcommit <<<"$output")" = priority ]
    [ "$(jq -r .resources.cpu_cores.headroom <<<"$output")" = 1.5 ]
    [ "$(jq -r .resources.io_read_Bps.enabled <<<"$output")" = true ]
    echo '{"resources":{"cpu_cores":{"headroom":0.5}}}' > "$BATS_TEST_TMPDIR/bad.json"
    run --separate-stderr fpa -P "$BATS_TEST_TMPDIR/bad.json" --print-policy
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"bad.json: resources.cpu_cores.headroom must be a number in [1, 100]"* ]]
}

@test "a policy file takes quantities as written for Kubernetes and Docker: 512Mi, 2G, 1.5Gi, 500m, 100M (issue 15)" {
    # the shipped example
    run --separate-stderr fpa -P "$FP_TOP_SRCDIR/share/fp/examples/policy.json" --print-policy
    [ "$status" -eq 0 ]
    [ "$(jq -c '[.reserve_cpu_cores, .reserve_mem_bytes, .mem_margin_bytes, .oom_bump_bytes]' <<<"$output")" = \
        '[0.5,1073741824,67108864,268435456]' ]
    [ "$(jq -c '.resources.cpu_cores | [.floor, .ceiling, .step]' <<<"$output")" = '[0.1,4,0.01]' ]
    [ "$(jq -c '.resources.mem_bytes | [.floor, .ceiling, .step]' <<<"$output")" = '[134217728,8589934592,1048576]' ]
    [ "$(jq -c '.resources.io_write_Bps | [.enabled, .floor, .step]' <<<"$output")" = '[true,20000000,1048576]' ]
    [ "$(jq -c '.resources.net_tx_Bps | [.floor, .ceiling]' <<<"$output")" = '[1572864,1000000000]' ]
    P=$BATS_TEST_TMPDIR
    echo '{"reserve_mem_bytes":"2G","resources":{"mem_bytes":{"floor":"512Mi","ceiling":"1.5Gi"},
           "io_read_Bps":{"floor":"100M"},"cpu_cores":{"floor":"500m"}}}' > "$P/q.json"
    run --separate-stderr fpa -P "$P/q.json" --print-policy
    [ "$status" -eq 0 ]
    [ "$(jq -c '[.reserve_mem_bytes, .resources.mem_bytes.floor, .resources.mem_bytes.ceiling,
                 .resources.io_read_Bps.floor, .resources.cpu_cores.floor]' <<<"$output")" = \
        '[2000000000,536870912,1610612736,100000000,0.5]' ]
    # bad quantities: exit 2, the file, the field and the text named
    for bad in '"12Q"' '"-1G"' '"1e400"' '""' '"512m"' '"2g"'; do
        echo "{\"resources\":{\"mem_bytes\":{\"floor\":$bad}}}" > "$P/bad.json"
        run --separate-stderr fpa -P "$P/bad.json" --print-policy
        echo "$bad: $stderr"
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"bad.json: resources.mem_bytes.floor: $bad is not a quantity of bytes"* ]]
    done
    echo '{"reserve_cpu_cores":"1Gi"}' > "$P/bad.json"
    run --separate-stderr fpa -P "$P/bad.json" --print-policy
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'bad.json: reserve_cpu_cores: "1Gi" is not a quantity of cores'* ]]
}

@test "a prediction sets cpu.max, cpu.weight, memory.high and memory.max" {
    before=$(knobs "$CG")
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/w1 1.0 104857600)
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    a=$output
    [ "$(jq -r .type <<<"$a")" = allocation ]
    [ "$(jq -r .ok <<<"$a")" = true ]
    [ "$(jq -r .reason <<<"$a")" = prediction ]
    [ "$(jq -r .backend <<<"$a")" = cgroup-v2 ]
    [ "$(jq -r .object <<<"$a")" = /fp/w1 ]
    # p90 1.0 x 1.2 = 1.2 cores; p99 100 MiB x 1.15 = 115 MiB; x 1.25 -> 144 MiB
    [ "$(cat "$CG/cpu.max")" = "120000 100000" ]
    [ "$(cat "$CG/cpu.weight")" = 120 ]
    [ "$(cat "$CG/memory.high")" = 120586240 ]
    [ "$(cat "$CG/memory.max")" = 150994944 ]
    [ "$(cat "$CG/pids.max")" = max ]
    # every change carries its previous value
    [ "$(jq -r '.changes[] | select(.knob=="memory.max") | .previous' <<<"$a")" = max ]
    [ "$(jq -r '.changes[] | select(.knob=="cpu.max") | .previous' <<<"$a")" = "max 100000" ]
    [ "$(jq -r .limits.mem_max_bytes <<<"$a")" = 150994944 ]
    [[ "$(jq -r .why.mem_bytes <<<"$a")" == *"p99 x 1.15"* ]]
    echo "$before" > "$BATS_TEST_TMPDIR/before"
    # --revert restores the exact previous contents
    run --separate-stderr fpa --revert <<<"$a"
    [ "$status" -eq 0 ]
    [ "$(jq -r .reason <<<"$output")" = revert ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    [ "$(knobs "$CG")" = "$before" ]
}

@test "a policy's pids_max is set on the target" {
    echo '{"pids_max":512}' > "$BATS_TEST_TMPDIR/p.json"
    run --separate-stderr fpa --no-pass -P "$BATS_TEST_TMPDIR/p.json" < <(pred w1 /fp/w1 1.0 104857600)
    [ "$status" -eq 0 ]
    [ "$(cat "$CG/pids.max")" = 512 ]
    [ "$(jq -r .limits.pids_max <<<"$output")" = 512 ]
}

@test "--dry-run plans the same changes and writes nothing" {
    before=$(knobs "$CG")
    run --separate-stderr fpa --no-pass --dry-run < <(pred w1 /fp/w1 1.0 104857600)
    [ "$status" -eq 0 ]
    [ "$(jq -r .dry_run <<<"$output")" = true ]
    [ "$(jq -r '.changes[] | select(.knob=="memory.max") | .value' <<<"$output")" = 150994944 ]
    [ "$(knobs "$CG")" = "$before" ]
    # and a revert of a dry run changes nothing either
    run --separate-stderr fpa --revert <<<"$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(knobs "$CG")" = "$before" ]
}

@test "memory is never limited below usage plus the margin" {
    # usage 50 MiB (memory.current): floor 50*1.1 + 32 = 87 MiB although p99 is 10 MiB
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/w1 0.5 10485760)
    [ "$status" -eq 0 ]
    [ "$(cat "$CG/memory.high")" = $((87 * 1048576)) ]
    [[ "$(jq -r .why.mem_bytes <<<"$output")" == *"usage + margin"* ]]
}

@test "revert refuses a memory limit below current usage and changes nothing" {
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/w1 1.0 104857600)
    [ "$status" -eq 0 ]
    a=$output
    # usage grew past the old... no: make the record's previous value a tiny one
    bad=$(jq -c '(.changes[] | select(.knob=="memory.max") | .previous) = "1048576"' <<<"$a")
    before=$(knobs "$CG")
    run --separate-stderr fpa --revert <<<"$bad"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"refusing memory.max = 1048576 bytes"*"below the current usage of 52428800 bytes"* ]]
    [ "$(jq -r .ok <<<"$output")" = false ]
    [ "$(knobs "$CG")" = "$before" ]
}

# proc_stat PID PPID: a <proc>/PID/stat of the tree fp_v2_tree made
proc_stat() {
    mkdir -p "$FP_PROC_ROOT/$1"
    printf '%s (sh) S %s %s %s 0 -1 4194560 10 0 0 0 1 1 0 0 20 0 1 0 100 1000 50\n' "$1" "$2" "$1" "$1" > "$FP_PROC_ROOT/$1/stat"
}
# a prediction for a workload known only by its pid
pred_pid() { pred "$1" /unused 1.0 104857600 | jq -c --argjson p "$2" '.target = {cgroup:null,container:null,pid:$p}'; }

@test "a target by pid whose cgroup holds another process is refused; --whole-cgroup allows it" {
    proc_stat 100 1
    proc_stat 300 1
    printf '0::/fp/w1\n' > "$FP_PROC_ROOT/100/cgroup"
    printf '100\n300\n' > "$CG/cgroup.procs"
    before=$(knobs "$CG")
    run --separate-stderr fpa --no-pass < <(pred_pid w1 100)
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"refusing to limit pid 100 through its cgroup2 cgroup /fp/w1: that cgroup also holds pid 300"* ]]
    [[ "$stderr" == *"--whole-cgroup"* ]]
    [ "$(jq -r .ok <<<"$output")" = false ]
    [[ "$(jq -r .error <<<"$output")" == *"also holds pid 300"* ]]
    [ "$(knobs "$CG")" = "$before" ]
    # the user says the whole cgroup is meant
    run --separate-stderr fpa --no-pass --whole-cgroup < <(pred_pid w1 100)
    [ "$status" -eq 0 ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    [ "$(jq -r .object <<<"$output")" = /fp/w1 ]
    [ "$(cat "$CG/cpu.max")" = "120000 100000" ]
    run --separate-stderr fpa --revert <<<"$output"
    [ "$status" -eq 0 ]
    [ "$(knobs "$CG")" = "$before" ]
}

@test "a target by pid alone in its cgroup with its descendants is limited" {
    proc_stat 100 1
    proc_stat 300 100
    proc_stat 301 300
    printf '0::/fp/w1\n' > "$FP_PROC_ROOT/100/cgroup"
    printf '100\n300\n301\n' > "$CG/cgroup.procs"
    run --separate-stderr fpa --no-pass < <(pred_pid w1 100)
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    [ "$(jq -r .object <<<"$output")" = /fp/w1 ]
    [ "$(cat "$CG/memory.max")" = 150994944 ]
}

@test "path traversal and symlinked cgroups are refused, nothing changed" {
    before=$(knobs "$CG")
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/../../etc 1.0 104857600)
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"<stdin>:1: w1: "* ]]
    [[ "$stderr" == *".."* ]]
    [ "$(jq -r .ok <<<"$output")" = false ]
    ln -s "$CG" "$BATS_TEST_TMPDIR/t/cgroup/fp/link"
    run --separate-stderr fpa --no-pass < <(pred w3 /fp/link 1.0 104857600)
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"symlink"* ]]
    [ "$(knobs "$CG")" = "$before" ]
    # a revert record pointing outside the cgroup mounts
    rec='{"schema":1,"type":"allocation","id":"x","backend":"cgroup-v2","object":"/fp/w1","ok":true,"changes":[{"knob":"memory.max","value":"1","previous":"max","path":"/etc/passwd"}]}'
    run --separate-stderr fpa --revert <<<"$rec"
    [ "$status" -eq 3 ]
    [ "$(jq -r .ok <<<"$output")" = false ]
}

@test "malformed records: file and line named, exit 3, earlier output kept" {
    printf '%s\n%s\n' "$(pred w1 /fp/w1 1.0 104857600)" '{"schema":1,"type":"prediction",' > "$BATS_TEST_TMPDIR/in.jsonl"
    run --separate-stderr fpa --no-pass "$BATS_TEST_TMPDIR/in.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"in.jsonl:2: malformed JSON"* ]]
    [ "$(wc -l <<<"$output")" -eq 1 ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    run --separate-stderr fpa --no-pass <<<'{"schema":1,"type":"prediction","id":"w","target":{"cgroup":"/fp/w1"},"quantiles":{"cpu_cores":{"p90":-1}}}'
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"<stdin>:1: quantiles.cpu_cores.p90 is not a finite number >= 0"* ]]
    run --separate-stderr fpa --no-pass <<<'{"schema":1,"type":"prediction","quantiles":{}}'
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"prediction names no workload"* ]]
}

@test "other records pass through unchanged" {
    s='{"schema":1,"type":"sample","id":"w1","t":1.5,"cpu_cores":0.25,"missing":{}}'
    f='{"schema":1,"type":"fingerprint","id":"w1","t":5,"features":{"a":1}}'
    run --separate-stderr fpa --no-pass <<<"$s
$f"
    [ "$status" -eq 0 ]
    [ "$(sed -n 1p <<<"$output" | jq -cS .)" = "$(jq -cS . <<<"$s")" ]
    [ "$(sed -n 2p <<<"$output" | jq -cS .)" = "$(jq -cS . <<<"$f")" ]
}

@test "hysteresis: a second, similar prediction holds" {
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/w1 1.0 104857600; pred w1 /fp/w1 1.05 104857600)
    [ "$status" -eq 0 ]
    [ "$(sed -n 2p <<<"$output" | jq -r .reason)" = hold ]
    [ "$(sed -n 2p <<<"$output" | jq -r '.changes | length')" = 0 ]
    [ "$(cat "$CG/cpu.max")" = "120000 100000" ]
}

@test "overcommit: scale fits two 1.5-core wants into 2 CPUs and re-applies the first" {
    run --separate-stderr fpa --no-pass < <(pred w1 /fp/w1 1.25 104857600; pred w2 /fp/w2 1.25 104857600)
    [ "$status" -eq 0 ]
    [ "$(cat "$CG/cpu.max")" = "100000 100000" ]
    [ "$(cat "$BATS_TEST_TMPDIR/t/cgroup/fp/w2/cpu.max")" = "100000 100000" ]
    [ "$(jq -sr '[.[] | select(.reason=="capacity")] | length' <<<"$output")" = 1 ]
    [[ "$(jq -sr '.[-1].capacity' <<<"$output")" == *"cpu scaled x0."*"(proportional)"* ]]
}

@test "overcommit: refuse keeps the raise that does not fit out, and says so" {
    run --separate-stderr fpa --no-pass --overcommit refuse < <(pred w1 /fp/w1 1.25 104857600; pred w2 /fp/w2 1.25 104857600)
    [ "$status" -eq 0 ]
    [ "$(cat "$CG/cpu.max")" = "150000 100000" ]
    [ "$(cat "$BATS_TEST_TMPDIR/t/cgroup/fp/w2/cpu.max")" = "max 100000" ]
    [[ "$(jq -sr '.[-1].capacity' <<<"$output")" == *"refused: would overcommit"* ]]
}

@test "overcommit: priority serves the higher priority first" {
    run --separate-stderr fpa --no-pass --overcommit priority < <(pred w1 /fp/w1 1.25 104857600; pred w2 /fp/w2 1.25 104857600 '{"priority":5}')
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/t/cgroup/fp/w2/cpu.max")" = "150000 100000" ]
    [ "$(cat "$CG/cpu.max")" = "50000 100000" ]
}

@test "a closed stdout is an error (exit 2)" {
    run bash -c "'$FP_BIN/fp-apply' < <(pred w1 /fp/w1 1.0 104857600) >&-"
    [ "$status" -eq 2 ]
}

@test "by default each prediction is written before its allocation (for fp-diff)" {
    p=$(pred w1 /fp/w1 1.0 104857600)
    run --separate-stderr fpa --dry-run <<<"$p"
    [ "$status" -eq 0 ]
    [ "$(wc -l <<<"$output")" -eq 2 ]
    [ "$(sed -n 1p <<<"$output" | jq -cS .)" = "$(jq -cS . <<<"$p")" ]
    [ "$(sed -n 2p <<<"$output" | jq -r .type)" = allocation ]
}

@test "-b systemd without systemd as PID 1: refused with the reason, exit 2; --unit checked" {
    mkdir -p "$BATS_TEST_TMPDIR/run"
    export FP_RUN_ROOT=$BATS_TEST_TMPDIR/run
    run --separate-stderr fpa --no-pass --unit nginx.service < <(pred w1 /system.slice/nginx.service 1.0 104857600)
    [ "$status" -eq 2 ]
    [ "$(jq -r .ok <<<"$output")" = false ]
    [[ "$(jq -r .error <<<"$output")" == *"needs systemd as PID 1 (no $BATS_TEST_TMPDIR/run/systemd/system"* ||
       "$(jq -r .error <<<"$output")" == *"built without systemd support"* ]]
    run --separate-stderr fpa --unit nginx
    [ "$status" -eq 2 ]
    [[ "$stderr" == *'--unit: "nginx" is not a unit name'* ]]
    run --separate-stderr fpa -b docker --unit nginx.service
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--unit applies to the systemd back-end, not docker"* ]]
    run --separate-stderr fpa -b docker --whole-cgroup
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--whole-cgroup applies to the cgroup back-end, not docker"* ]]
}

@test "a line longer than 16 MiB is refused at once (exit 3, line named); a 12 MiB one is read from a pipe in linear time" {
    # issue 14: a long piped line was rescanned after every 64 KiB read
    # (quadratic) and held whole in memory
    local d=$BATS_TEST_TMPDIR
    { echo '{"schema":1,"type":"note"}'; printf '{"schema":1,"type":"big","p":"'; head -c $((17 << 20)) /dev/zero | tr '\0' a; echo '"}'; } > "$d/over.jsonl"
    run --separate-stderr timeout 30 sh -c "cat '$d/over.jsonl' | '$FP_BIN/fp-apply' -n"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"<stdin>:2: line longer than 16777216 bytes"* ]]
    [ "$(jq -r .type <<<"$output")" = note ]
    { printf '{"schema":1,"type":"big","p":"'; head -c $((12 << 20)) /dev/zero | tr '\0' a; echo '"}'; } > "$d/12m.jsonl"
    local t0=$SECONDS
    run --separate-stderr timeout 30 sh -c "cat '$d/12m.jsonl' | '$FP_BIN/fp-apply' -n | wc -c"
    [ "$status" -eq 0 ]
    [ "$output" -gt $((12 << 20)) ]
    [ $((SECONDS - t0)) -le 10 ]
}

# rec_of CHANGES-JSON [TARGET-CGROUP]: an allocation record of fp-apply for
# /fp/w1 (or TARGET-CGROUP) whose changes are CHANGES
rec_of() {
    jq -cn --argjson c "$1" --arg cg "${2:-/fp/w1}" '{schema:1,type:"allocation",id:"w1",t:1,
        target:{cgroup:$cg,container:null,pid:null},backend:"cgroup-v2",object:$cg,ok:true,
        dry_run:false,changes:$c}'
}
# chg KNOB VALUE-TO-REVERT-TO [CGROUP-DIR]: a change whose previous value is VALUE
chg() { jq -cn --arg k "$1" --arg p "$2" --arg d "${3:-$CG}" '{knob:$k,value:"12345678",previous:$p,path:"\($d)/\($k)"}'; }

@test "revert writes only knobs of the record's own target (issue 14)" {
    local w2=$BATS_TEST_TMPDIR/t/cgroup/fp/w2 b1 b2
    b1=$(knobs "$CG")
    b2=$(knobs "$w2")
    # a record for /fp/w1 whose change is w2's memory.max
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.max max "$w2")]")"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"is not a knob file of the record's target cgroup /fp/w1"* ]]
    [ "$(jq -r .ok <<<"$output")" = false ]
    # a record whose object is w2 while its target is w1
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.max max "$w2")]" | jq -c '.object = "/fp/w2"')"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"refusing a revert of cgroup /fp/w2: the record's target is cgroup /fp/w1"* ]]
    [ "$(knobs "$CG")" = "$b1" ]
    [ "$(knobs "$w2")" = "$b2" ]
}

@test "revert refuses values fp does not write, below-floor values and unknown usage; nothing written (issue 14)" {
    local before v
    before=$(knobs "$CG")
    # strtod-style and zero values the kernel would take (4K, "4096 ") or that mean 0 bytes
    for v in 4K '4096 ' $'4096\t' 0 ' 4096' '+4096' 0x1000 1e9 -5 ''; do
        run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.max "$v")]")"
        [ "$status" -eq 3 ] || { echo "value '$v' not refused"; return 1; }
        [ "$(knobs "$CG")" = "$before" ]
    done
    # no floors before: a task limit of 1, a 1 % CPU quota, a weight of 1, a tiny memory limit
    for c in "$(chg pids.max 1)" "$(chg cpu.max '1000 100000')" "$(chg cpu.weight 1)" \
             "$(chg memory.high 62914560)" "$(chg cpu.max '5000 1')" "$(chg io.max:8:0 '8:0 rbps=1')"; do
        run --separate-stderr fpa --revert <<<"$(rec_of "[$(jq -c '.knob |= if . == "io.max:8:0" then . else . end | .path |= sub("io.max:8:0$"; "io.max")' <<<"$c")]")"
        [ "$status" -eq 3 ] || { echo "change $c not refused"; return 1; }
        [[ "$stderr" == *"refusing"* ]]
    done
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg pids.max 1)]")"
    [[ "$stderr" == *"refusing pids.max = 1: below the floor of 64 tasks"* ]]
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg cpu.max '1000 100000')]")"
    [[ "$stderr" == *"refusing cpu.max = 1000 100000: below the floor of 0.05 cores"* ]]
    # memory: usage 50 MiB -> floor 50 x 1.1 + 32 = 87 MiB
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.high 62914560)]")"
    [[ "$stderr" == *"below the floor of 91226112 bytes (usage 52428800 bytes plus the policy's margin)"* ]]
    [ "$(knobs "$CG")" = "$before" ]
    # the memory usage cannot be read: refused (a prediction is refused too)
    mv "$CG/memory.current" "$CG/memory.current.away"
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.max 1073741824)]")"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"memory usage cannot be read"* ]]
    mv "$CG/memory.current.away" "$CG/memory.current"
    # values fp writes pass
    run --separate-stderr fpa --revert <<<"$(rec_of "[$(chg memory.max 1073741824),$(chg cpu.max '50000 100000'),$(chg pids.max 100)]")"
    [ "$status" -eq 0 ]
    [ "$(cat "$CG/memory.max")" = 1073741824 ]
    [ "$(cat "$CG/cpu.max")" = "50000 100000" ]
    [ "$(cat "$CG/pids.max")" = 100 ]
}

@test "revert validates every record before writing any: one bad record, nothing reverted (issue 14)" {
    local before
    printf 'max\n' > "$CG/memory.max"
    before=$(knobs "$CG")
    { rec_of "[$(chg memory.max 1073741824)]"; rec_of "[$(chg pids.max 1)]"; } > "$BATS_TEST_TMPDIR/two.jsonl"
    run --separate-stderr fpa --revert "$BATS_TEST_TMPDIR/two.jsonl"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"two.jsonl:2:"*"refusing pids.max = 1"* ]]
    [[ "$stderr" == *"nothing reverted: 1 of 2 records refused"* ]]
    [ "$(jq -s 'map(.ok) | all | not' <<<"$output")" = true ]
    [ "$(knobs "$CG")" = "$before" ]
}

@test "--watch: fp-apply ends when the reader of its output goes away, with no record to answer" {
    local t0 t
    t0=$(date +%s.%N)
    run --separate-stderr timeout 30 bash -c "'$FP_BIN/fp-apply' -n --watch 0.2 < <(sleep 60) | (sleep 0.5; exit 0); echo \"\${PIPESTATUS[0]}\""
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    [ "$status" -eq 0 ]
    [ "$output" = 2 ]
    [[ "$stderr" == *"fp-apply: standard output: Broken pipe"* ]]
    between "$t" 0 10 "seconds to end"
}

@test "a human summary: the prediction, the limits and the policy's reasons; on a terminal by default, quiet in a pipe (issue 15)" {
    need_cmd script util-linux
    pred w1 /fp/w1 1.0 104857600 > "$BATS_TEST_TMPDIR/p.jsonl"
    run --separate-stderr fpa --summary --no-pass "$BATS_TEST_TMPDIR/p.jsonl"
    [ "$status" -eq 0 ]
    [ "$(jq -r .type <<<"$output")" = allocation ]
    echo "$stderr"
    [[ "$stderr" == *"fp-apply summary: w1"* ]]
    [[ "$stderr" =~ predicted\ at\ 1\.0\ s\ by\ test ]]
    [[ "$stderr" =~ cpu\ +p50\ 0\.50\ cores,\ p90\ 1\.00\ cores ]]
    [[ "$stderr" =~ memory\ +p99\ 100\.0\ MiB ]]
    [[ "$stderr" =~ limits\ at\ 1\.0\ s,\ reason:\ prediction,\ on\ cgroup-v2 ]]
    # p90 1.0 x 1.2 = 1.2 cores; p99 100 MiB x 1.15 = 115 MiB; x 1.25 -> 144 MiB
    [[ "$stderr" =~ cpu\ +quota\ 1\.20\ cores,\ weight\ 1\.20\ cores\ \(p90\ x\ 1\.2\) ]]
    [[ "$stderr" =~ memory\ +high\ 115\.0\ MiB,\ max\ 144\.0\ MiB\ \(p99\ x\ 1\.15\) ]]
    [[ "$stderr" =~ not\ limited\ +disk\ read,\ disk\ write,\ net\ receive,\ net\ send\ \(disabled\ by\ policy\) ]]
    # the limits are in place now: the same prediction again holds them
    run --separate-stderr fpa -s --no-pass "$BATS_TEST_TMPDIR/p.jsonl"
    [ "$status" -eq 0 ]
    [[ "$stderr" =~ limits:\ left\ as\ they\ were\ \(reason:\ hold\) ]]
    [[ "$stderr" =~ memory\ +p99\ x\ 1\.15\;\ within\ hysteresis ]]
    # a dry run of two predictions of w2 that call for the same limits
    { pred w2 /fp/w2 1.0 104857600; pred w2 /fp/w2 1.0 104857600 '{"t":20}'; } > "$BATS_TEST_TMPDIR/p2.jsonl"
    run --separate-stderr fpa -n -s --no-pass "$BATS_TEST_TMPDIR/p2.jsonl"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"fp-apply summary: w2"* ]]
    [[ "$stderr" == *"(dry run: planned, not set)"* ]]
    [[ "$stderr" == *"then 1 later prediction kept these limits"* ]]
    # stderr a pipe: nothing unless asked; a terminal: the summary
    run --separate-stderr fpa -n --no-pass "$BATS_TEST_TMPDIR/p.jsonl"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    script -qec "'$FP_BIN/fp-apply' -n --no-pass '$BATS_TEST_TMPDIR/p.jsonl' > '$BATS_TEST_TMPDIR/out'" /dev/null > "$BATS_TEST_TMPDIR/tty"
    grep -q 'fp-apply summary: w1' "$BATS_TEST_TMPDIR/tty"
    [ "$(jq -r .type "$BATS_TEST_TMPDIR/out")" = allocation ]
    script -qec "'$FP_BIN/fp-apply' --no-summary -n --no-pass '$BATS_TEST_TMPDIR/p.jsonl' > /dev/null" /dev/null > "$BATS_TEST_TMPDIR/tty"
    (! grep -q summary "$BATS_TEST_TMPDIR/tty")
}
