#!/usr/bin/env bats
# tests/vm/fp-v2.bats - runs INSIDE the fp test VM (tests/vm/in-vm-tests.sh):
# fp on a real systemd + pure cgroup v2 host. fp-run from the login session
# and from a system service goes through the systemd cgroup driver (a
# transient scope of its own with Delegate=yes): every limit lands on the
# workload's own cgroup inside that scope, the caller's cgroup is byte for
# byte what it was, the scope goes away afterwards; fp-apply -b systemd on a
# unit and its --revert; the "never harm" growth patterns with the v2 memory
# guard; the unit test of the memory guard on v2.
load ../bats/helpers

MODEL=${FP_TOP_SRCDIR:-.}/share/fp/default-model.json

self_cgroup() { sed -n 's/^0:://p' /proc/self/cgroup; }

# snap DIR: what fp must not touch in a cgroup (its files, limits, controllers)
snap() {
    local d=$1 f
    ls "$d"
    for f in memory.max memory.high memory.low memory.min cpu.max cpu.weight pids.max io.max \
             cgroup.subtree_control cgroup.type; do
        printf '== %s: ' "$f"
        cat "$d/$f" 2>&1 || true
    done
}

# check_run OUT CALLER-CGROUP: the records of an fp-run of the workload
# from CALLER-CGROUP (limits in fp's scope, never on the caller; real metrics)
check_run() {
    local out=$1 caller=$2 n bad act
    jq -c 'select(.type=="allocation") | {t, ok, object, error, limits: {mem_high: .limits.mem_high_bytes, mem_max: .limits.mem_max_bytes, cpu: .limits.cpu_max_cores}}' "$out"
    n=$(jq -s '[.[] | select(.type=="allocation")] | length' "$out")
    [ "$n" -ge 1 ] || { echo "no allocation record" >&2; return 1; }
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok)] | length' "$out")" -ge 1 ] \
        || { echo "no allocation with ok true" >&2; return 1; }
    # every object: /fp.slice/fp-run-PID.scope/fp-PID, never the caller's cgroup
    bad=$(jq -r --arg c "$caller" 'select(.type=="allocation") | .object
        | select(. == null or . == $c or (test("/fp-run-[0-9]+\\.scope/fp-[0-9]+$") | not))' "$out")
    [ -z "$bad" ] || { echo "allocation object(s) not the workload's own cgroup: $bad" >&2; return 1; }
    act=$(of_type actual "$out")
    echo "actual: $(jq -c '{exit_code, target, mem_bytes_peak, mem_bytes_mean, io_read_bytes, io_write_bytes, cpu_s, oom_kills}' <<<"$act")"
    [ "$(jq -r .exit_code <<<"$act")" = 0 ]
    [[ "$(jq -r .target.cgroup <<<"$act")" =~ /fp-run-[0-9]+\.scope/fp-[0-9]+$ ]]
    local k
    for k in mem_bytes_peak mem_bytes_mean io_read_bytes io_write_bytes io_read_Bps_peak io_write_Bps_peak; do
        [ "$(jq -r --arg k "$k" '.[$k] | type' <<<"$act")" = number ] \
            || { echo "actual.$k is not a number: $(jq -c --arg k "$k" '.[$k], .missing[$k]' <<<"$act")" >&2; return 1; }
    done
    # stress-ng --vm 200M: the memory peak is real
    between "$(jq .mem_bytes_peak <<<"$act")" 100000000 400000000 "memory peak of stress-ng --vm-bytes 200M"
}

# no_scopes_left: every fp-run-*.scope is gone (systemd removes an empty scope)
no_scopes_left() {
    local i left
    for i in $(seq 1 50); do
        left=$(systemctl list-units --all --plain --no-legend 'fp-run-*.scope' | awk '{print $1}')
        [ -z "$left" ] && [ -z "$(find /sys/fs/cgroup -maxdepth 4 -type d -name 'fp-run-*.scope' 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    echo "left over: $left $(find /sys/fs/cgroup -maxdepth 4 -type d -name 'fp-run-*.scope')" >&2
    return 1
}

@test "fp-run from the login session: limits in fp's delegated scope, the session scope unchanged" {
    need_cmd stress-ng
    caller=$(self_cgroup)
    [[ "$caller" == */session-*.scope ]]
    before=$(snap "/sys/fs/cgroup$caller")
    out=$BATS_TEST_TMPDIR/run.jsonl
    run --separate-stderr timeout -k 5 240 "$FP_BIN/fp-run" -m "$MODEL" --no-history -- \
        stress-ng --vm 1 --vm-bytes 200M -t 6 --quiet
    echo "status: $status"; echo "stderr: $stderr"
    printf '%s\n' "$output" > "$out"
    [ "$status" -eq 0 ]
    check_run "$out" "$caller"
    [[ "$(jq -r .object "$out" | grep -m1 fp-run)" == /fp.slice/fp-run-* ]]
    after=$(snap "/sys/fs/cgroup$caller")
    diff <(echo "$before") <(echo "$after")
    [ "$(self_cgroup)" = "$caller" ]
    no_scopes_left
}

@test "fp-run from a system service: limits in fp's delegated scope, the service's cgroup unchanged" {
    need_cmd stress-ng
    d=$BATS_TEST_TMPDIR
    cat > "$d/svc.sh" <<EOF
#!/bin/bash
$(declare -f snap)
cg=\$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "\$cg" > "$d/caller"
snap "/sys/fs/cgroup\$cg" > "$d/before"
"$FP_BIN/fp-run" -m "$MODEL" --no-history -- stress-ng --vm 1 --vm-bytes 200M -t 6 --quiet > "$d/run.jsonl" 2> "$d/err"
echo \$? > "$d/status"
snap "/sys/fs/cgroup\$cg" > "$d/after"
EOF
    chmod +x "$d/svc.sh"
    run systemd-run --quiet --wait --pipe --collect -p MemoryMax=2G -p TasksMax=4000 "$d/svc.sh"
    echo "systemd-run: $status $output"
    echo "fp-run stderr: $(cat "$d/err")"
    [ "$status" -eq 0 ]
    caller=$(cat "$d/caller")
    echo "service cgroup: $caller"
    [[ "$caller" =~ ^/system\.slice/run-.*\.service$ ]]
    [ "$(cat "$d/status")" = 0 ]
    check_run "$d/run.jsonl" "$caller"
    [[ "$(jq -r .object "$d/run.jsonl" | grep -m1 fp-run)" == /fp.slice/fp-run-* ]]
    diff "$d/before" "$d/after"
    grep -q '== memory.max: 2147483648' "$d/before"
    no_scopes_left
}

@test "fp-run --cgroup-driver cgroupfs from the login session refuses (exit 2), nothing written" {
    caller=$(self_cgroup)
    before=$(snap "/sys/fs/cgroup$caller")
    run --separate-stderr "$FP_BIN/fp-run" --cgroup-driver cgroupfs -m "$MODEL" --no-history -- true
    echo "status: $status"; echo "stderr: $stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"holds processes"* ]]
    diff <(echo "$before") <(snap "/sys/fs/cgroup$caller")
}

@test "fp-run inside systemd-run --scope -p Delegate=yes: a leaf of its own there (cgroupfs, no new scope)" {
    need_cmd stress-ng
    out=$BATS_TEST_TMPDIR/run.jsonl
    unit=fp-vm-deleg-run-$$
    run systemd-run --quiet --scope -p Delegate=yes --unit "$unit" \
        "$FP_BIN/fp-run" -m "$MODEL" --no-history -- stress-ng --vm 1 --vm-bytes 100M -t 3 --quiet
    printf '%s\n' "$output" | grep '^{' > "$out" || true
    echo "status: $status"; printf '%s\n' "$output" | grep -v '^{' || true
    [ "$status" -eq 0 ]
    jq -c 'select(.type=="allocation") | {ok, object}' "$out"
    [ -z "$(jq -r --arg p "/system.slice/$unit.scope/fp-" 'select(.type=="allocation") | .object | select(. == null or (startswith($p) | not))' "$out")" ]
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok)] | length' "$out")" -ge 1 ]
}

@test "fp-run --cgroup-driver systemd inside a delegated scope: a scope of its own all the same" {
    need_cmd stress-ng
    out=$BATS_TEST_TMPDIR/run.jsonl
    unit=fp-vm-deleg-sd-$$
    run systemd-run --quiet --scope -p Delegate=yes --unit "$unit" \
        "$FP_BIN/fp-run" --cgroup-driver systemd -m "$MODEL" --no-history -- stress-ng --vm 1 --vm-bytes 64M -t 3 --quiet
    printf '%s\n' "$output" | grep '^{' > "$out" || true
    echo "status: $status"; printf '%s\n' "$output" | grep -v '^{' || true
    [ "$status" -eq 0 ]
    jq -c 'select(.type=="allocation") | {ok, object}' "$out"
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok)] | length' "$out")" -ge 1 ]
    [ -z "$(jq -r 'select(.type=="allocation") | .object | select(. == null or (test("^/fp\\.slice/fp-run-[0-9]+\\.scope/fp-[0-9]+$") | not))' "$out")" ]
    no_scopes_left
}

@test "fp-capture from the login session: the command's cgroup in fp-capture's delegated scope" {
    need_cmd stress-ng
    caller=$(self_cgroup)
    before=$(snap "/sys/fs/cgroup$caller")
    out=$BATS_TEST_TMPDIR/cap.jsonl
    run --separate-stderr "$FP_BIN/fp-capture" -- stress-ng --vm 1 --vm-bytes 64M -t 2 --quiet
    echo "status: $status"; echo "stderr: $stderr"
    printf '%s\n' "$output" > "$out"
    [ "$status" -eq 0 ]
    act=$(of_type actual "$out")
    echo "actual: $(jq -c '{target, mem_bytes_peak, io_read_bytes}' <<<"$act")"
    [[ "$(jq -r .target.cgroup <<<"$act")" =~ ^/fp\.slice/fp-capture-[0-9]+\.scope/fp-[0-9]+$ ]]
    [ "$(jq -r '.mem_bytes_peak | type' <<<"$act")" = number ]
    diff <(echo "$before") <(snap "/sys/fs/cgroup$caller")
    for i in $(seq 1 50); do
        [ -z "$(systemctl list-units --all --plain --no-legend 'fp-capture-*.scope')" ] && break
        sleep 0.2
    done
    [ -z "$(systemctl list-units --all --plain --no-legend 'fp-capture-*.scope')" ]
}

@test "fp-profile set apply on, from the login session: limits in a delegated scope of its own, the session unchanged" {
    need_cmd stress-ng
    caller=$(self_cgroup)
    before=$(snap "/sys/fs/cgroup$caller")
    run --separate-stderr timeout -k 5 240 "$FP_BIN/fp-profile" -m "$MODEL" -w 1 --history "$BATS_TEST_TMPDIR/none" \
        <<<$'set apply on\nrun stress-ng --vm 1 --vm-bytes 100M -t 3 --quiet' 3>&-
    echo "$output"; echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    line=$(grep '^limits applied (cgroup-v2 on /fp.slice/fp-[0-9]*\.scope/fp-profile-[0-9]*-1): ' <<<"$output")
    echo "$line"
    lim=$(grep -Eo 'memory\.max=[0-9]+' <<<"$line" | cut -d= -f2)
    between "$lim" 1048576 1e15 "memory limit"
    [ "$(snap "/sys/fs/cgroup$caller")" = "$before" ]
    for i in $(seq 1 50); do
        [ -z "$(find /sys/fs/cgroup/fp.slice -maxdepth 1 -type d -name 'fp-[0-9]*.scope' 2>/dev/null)" ] && break
        sleep 0.2
    done
    [ -z "$(find /sys/fs/cgroup/fp.slice -maxdepth 1 -type d -name 'fp-[0-9]*.scope' 2>/dev/null)" ]
}

@test "fp-apply -b systemd --unit: systemctl show agrees; --revert restores exactly" {
    unit=fp-target-$$.service
    systemd-run --quiet --collect --unit "$unit" sleep 300
    props=(-p MemoryHigh -p MemoryMax -p CPUQuotaPerSecUSec -p CPUWeight -p TasksMax)
    before=$(systemctl show "$unit" "${props[@]}")
    echo "before: $before"
    d=$BATS_TEST_TMPDIR
    run --separate-stderr bash -c "$(declare -f pred); pred fp-target '' 1.5 300000000 | '$FP_BIN/fp-apply' -b systemd --unit '$unit'"
    echo "status: $status"; echo "stderr: $stderr"; echo "$output"
    printf '%s\n' "$output" > "$d/alloc.jsonl"
    [ "$status" -eq 0 ]
    al=$(of_type allocation "$d/alloc.jsonl")
    [ "$(jq -r .ok <<<"$al")" = true ]
    [ "$(jq -r .object <<<"$al")" = "$unit" ]
    now=$(systemctl show "$unit" "${props[@]}")
    echo "after: $now"
    page=$(getconf PAGESIZE)
    hi=$(jq -r .limits.mem_high_bytes <<<"$al"); mx=$(jq -r .limits.mem_max_bytes <<<"$al")
    cpu=$(jq -r .limits.cpu_max_cores <<<"$al")
    [ "$(systemctl show -P MemoryHigh "$unit")" = "$(( ${hi%.*} / page * page ))" ]
    [ "$(systemctl show -P MemoryMax "$unit")" = "$(( ${mx%.*} / page * page ))" ]
    # CPUQuotaPerSecUSec as systemd prints it (e.g. 1.800000s), and as the kernel has it
    q=$(jq -n --argjson c "$cpu" '$c * 1000000 | round')
    sd=$(systemctl show -P CPUQuotaPerSecUSec "$unit")
    echo "cpu $cpu cores: CPUQuotaPerSecUSec=$sd, want ${q}us"
    [ "$(awk -v s="${sd%s}" 'BEGIN { printf "%d", s * 1000000 + 0.5 }')" = "$q" ]
    # the kernel agrees (systemd wrote the unit's cgroup)
    cg=/sys/fs/cgroup/system.slice/$unit
    echo "kernel: memory.high=$(cat $cg/memory.high) memory.max=$(cat $cg/memory.max) cpu.max=$(cat $cg/cpu.max)"
    [ "$(cat $cg/memory.max)" = "$(systemctl show -P MemoryMax "$unit")" ]
    [ "$(cat $cg/memory.high)" = "$(systemctl show -P MemoryHigh "$unit")" ]
    # survives a daemon-reload
    systemctl daemon-reload
    [ "$(systemctl show "$unit" "${props[@]}")" = "$now" ]
    run --separate-stderr "$FP_BIN/fp-apply" --revert < "$d/alloc.jsonl"
    echo "revert: $status $stderr $output"
    [ "$status" -eq 0 ]
    reverted=$(systemctl show "$unit" "${props[@]}")
    echo "reverted: $reverted"
    systemctl stop "$unit" || true
    [ "$reverted" = "$before" ]
}

@test "fp-run --unit: follows a running service, limits through systemd (systemctl show agrees), its exit status" {
    need_cmd stress-ng
    unit=fp-follow-$$.service
    # RemainAfterExit: the unit (and its exit status) stays loaded after it ends
    systemd-run --quiet --unit "$unit" -p RemainAfterExit=yes -p MemoryAccounting=yes \
        sh -c 'stress-ng --vm 1 --vm-bytes 200M --vm-keep -t 15 --quiet; exit 3'
    out=$BATS_TEST_TMPDIR/unit.jsonl
    set +e
    timeout -k 5 240 "$FP_BIN/fp-run" -m "$MODEL" --no-history --every 2 --unit "$unit" > "$out" 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    # while it runs: what systemd has is what the last allocation asked for
    # (at 7 s of a 15 s service: with -t 8 a loaded TCG host once read its
    # cgroup after the service had ended)
    sleep 7
    hi_sd=$(systemctl show -P MemoryHigh "$unit"); mx_sd=$(systemctl show -P MemoryMax "$unit")
    hi_k=$(cat "/sys/fs/cgroup/system.slice/$unit/memory.high"); mx_k=$(cat "/sys/fs/cgroup/system.slice/$unit/memory.max")
    st=0; wait $pid || st=$?   # (not `wait; st=$?`: bats' ERR trap fires under set +e)
    set -e
    cat "$BATS_TEST_TMPDIR/err"
    echo "exit $st; during the run: MemoryHigh=$hi_sd MemoryMax=$mx_sd kernel high=$hi_k max=$mx_k"
    jq -c 'select(.type=="allocation") | {t, reason, ok, object, mem_high: .limits.mem_high_bytes, mem_max: .limits.mem_max_bytes}' "$out"
    jq -c 'select(.type=="actual") | {t, exit_code, oom_kills, mem_bytes_peak}' "$out"
    jq -c 'select(.type=="error") | {harmed, harmed_why, memguard}' "$out"
    systemctl stop "$unit" || true
    [ "$st" -eq 3 ]
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$out")" = 0 ]
    [ "$(jq -r 'select(.type=="actual") | .exit_code' "$out")" = 3 ]
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok)] | length' "$out")" -ge 1 ]
    # every allocation is for the unit itself, through systemd
    # (a "hold" touches nothing: it names no object)
    [ -z "$(jq -r --arg u "$unit" 'select(.type=="allocation" and .reason != "hold") | select(.object != $u or .backend != "systemd") | .object' "$out")" ]
    # systemd and the kernel agree, and both have a limit fp-run set
    [ "$hi_sd" = "$hi_k" ] && [ "$mx_sd" = "$mx_k" ]
    [ "$mx_sd" != infinity ]
    page=$(getconf PAGESIZE)
    # (one of the allocations' mem_max, as systemd rounds it to pages)
    found=0
    for m in $(jq -r 'select(.type=="allocation" and .ok) | .limits.mem_max_bytes | numbers' "$out"); do
        [ "$mx_sd" = "$(( ${m%.*} / page * page ))" ] && found=1
    done
    [ "$found" = 1 ]
    # the real memory of the service was seen
    between "$(jq -r 'select(.type=="actual") | .mem_bytes_peak' "$out")" 150000000 400000000 "peak of stress-ng --vm-bytes 200M"
}

@test "fp-run --unit refuses a unit that is not running (exit 3, bad input as in fp(7), a clear message)" {
    run --separate-stderr "$FP_BIN/fp-run" -m "$MODEL" --no-history --unit fp-no-such-$$.service
    echo "$status $stderr"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *fp-no-such-$$.service* ]]
    [ -z "$output" ]
}

# under NAME CMD...: run CMD under fp-run (systemd driver) with the default
# model; no harm, the guard opened on v2; report what the guard did
under() {
    local name=$1 out=$BATS_TEST_TMPDIR/$1.jsonl st base t0 t1 t2
    shift
    set +e
    # the same workload unlimited first: its exit status and wall time
    # (memory.high throttles instead of killing: the price of a first limit
    # below what the workload will use is time, so say how much)
    t0=$EPOCHREALTIME
    timeout -k 5 240 "$@" > /dev/null 2>&1 3>&-
    base=$?
    t1=$EPOCHREALTIME
    # bounded: a hang shows what fp-run wrote (124 from timeout)
    # (fd 3 closed: a workload left behind must not keep bats waiting)
    timeout -k 5 240 "$FP_BIN/fp-run" -m "$MODEL" --no-history --id "$name" -- "$@" > "$out" 2> "$BATS_TEST_TMPDIR/err" 3>&-
    st=$?
    t2=$EPOCHREALTIME
    echo "fp-run exit status $st, unlimited $base"
    printf '# %s: wall time unlimited %.1f s, under fp-run %.1f s (%.2fx; fp-run includes its cgroup set-up; TCG)\n' "$name" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" \
        "$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { print (c - b) / (b - a) }')" >&3
    set -e
    cat "$BATS_TEST_TMPDIR/err"
    jq -c 'select(.type=="allocation") | {t, reason, ok, object, mem_high: .limits.mem_high_bytes, mem_max: .limits.mem_max_bytes}' "$out"
    jq -c 'select(.type=="actual") | {exit_code, exit_signal, oom_kills, mem_bytes_peak}' "$out"
    jq -c 'select(.type=="error") | {harmed, memguard}' "$out"
    printf '# %s: memguard %s; peak %s; allocations (t reason mem_high mem_max): %s\n' "$name" \
        "$(jq -c 'select(.type=="error") | .memguard' "$out")" \
        "$(jq -r 'select(.type=="actual") | .mem_bytes_peak' "$out")" \
        "$(jq -r 'select(.type=="allocation") | "\(.t|floor) \(.reason) \(.limits.mem_high_bytes) \(.limits.mem_max_bytes)"' "$out" | paste -sd ';')" >&3
    [ "$base" -eq 0 ]
    [ "$st" -eq "$base" ]
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$out")" = 0 ]
    [ "$(jq -r 'select(.type=="error") | .harmed' "$out")" = false ]
    [ "$(jq -r 'select(.type=="error") | .memguard.notifications' "$out")" = all ]
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok and (.limits.mem_max_bytes | type) == "number")] | length' "$out")" -ge 1 ]
    [ -z "$(jq -r 'select(.type=="allocation") | .object | select(test("/fp-run-[0-9]+\\.scope/fp-[0-9]+$") | not)' "$out")" ]
}

@test "never harm on v2: steady growth to ~900 MiB (grow.py steady)" {
    need_cmd python3
    under steady python3 "$FP_TOP_SRCDIR/tests/workloads/grow.py" steady
}

@test "never harm on v2: 100 MiB, then +800 MiB at once (grow.py step)" {
    need_cmd python3
    under step python3 "$FP_TOP_SRCDIR/tests/workloads/grow.py" step
}

@test "never harm on v2: a sawtooth that frees and re-allocates 600 MiB (grow.py sawtooth)" {
    need_cmd python3
    under sawtooth python3 "$FP_TOP_SRCDIR/tests/workloads/grow.py" sawtooth
}

@test "never harm on v2: a fork storm (stress-ng --fork)" {
    need_cmd stress-ng
    under forks stress-ng --fork 4 --fork-max 64 -t 4 --quiet
}

@test "never harm on v2: 512 MiB of page cache after the first limits (dd)" {
    under dd sh -c "sleep 3; dd if=/dev/zero of='$BATS_TEST_TMPDIR/big' bs=1M count=512 2>/dev/null; sync"
}

@test "never harm on v2: a child process that grows to 600 MiB (grow.py child)" {
    need_cmd python3
    under child python3 "$FP_TOP_SRCDIR/tests/workloads/grow.py" child
}

@test "tests/unit/test-memguard passes on v2" {
    cd "$FP_TOP_SRCDIR"
    [ -x tests/unit/test-memguard ] || make -s tests/unit/test-memguard >/dev/null
    run tests/unit/test-memguard
    echo "$output"
    [ "$status" -eq 0 ]
    ! grep -q '^not ok' <<<"$output"
    grep -q '^ok' <<<"$output"
}
