#!/usr/bin/env bats
# tests/vm/v2.bats - runs INSIDE the fp test VM (tests/vm/in-vm-tests.sh):
# proves the host is what fp's live tests need (systemd as PID 1, pure cgroup
# v2 with the controllers, a real login session, delegation), then fp's own
# tests on it. Append fp-run/fp-apply tests below.
load ../bats/helpers

self_cgroup() { sed -n 's/^0:://p' /proc/self/cgroup; }

@test "PID 1 is systemd" {
    [ "$(cat /proc/1/comm)" = systemd ]
    [ -d /run/systemd/system ]
    run systemctl is-system-running
    echo "system state: $output"
    [[ "$output" == running || "$output" == degraded ]]
}

@test "pure cgroup v2: cgroup2fs on /sys/fs/cgroup with cpu memory io pids" {
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
    # no v1 hierarchy anywhere (hybrid would mount tmpfs + cgroup v1 trees)
    [ -z "$(awk '$3 == "cgroup"' /proc/mounts)" ]
    c=" $(cat /sys/fs/cgroup/cgroup.controllers) "
    for ctl in cpu memory io pids; do
        [[ "$c" == *" $ctl "* ]] || { echo "controller $ctl missing: $c" >&2; false; }
    done
    # systemd enables them for its slices
    s=" $(cat /sys/fs/cgroup/cgroup.subtree_control) "
    [[ "$s" == *" memory "* && "$s" == *" cpu "* ]]
}

@test "the tests run in a login session scope (user.slice/user-0.slice/session-N.scope)" {
    cg=$(self_cgroup)
    echo "cgroup: $cg"
    [[ "$cg" =~ ^/user\.slice/user-0\.slice/session-[0-9]+\.scope$ ]]
    sid=${cg##*/session-}; sid=${sid%.scope}
    [ "$(loginctl show-session "$sid" -p Class --value)" = user ]
}

@test "a delegated systemd-run scope: child cgroup with memory enabled" {
    unit=fp-vm-deleg-$$
    run systemd-run --quiet --scope -p Delegate=yes --unit "$unit" bash -c '
        set -e
        cg=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)
        mkdir "$cg/leaf"
        echo $$ > "$cg/leaf/cgroup.procs"
        echo "+memory +cpu +pids" > "$cg/cgroup.subtree_control"
        echo 64M > "$cg/leaf/memory.max"
        echo "scope=$cg"
        echo "subtree=$(cat "$cg/cgroup.subtree_control")"
        echo "leaf.controllers=$(cat "$cg/leaf/cgroup.controllers")"
        echo "memory.max=$(cat "$cg/leaf/memory.max")"'
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"scope=/sys/fs/cgroup/system.slice/$unit.scope"* ]]
    [[ "$output" =~ leaf\.controllers=.*memory ]]
    [[ "$output" == *"memory.max=67108864"* ]]
}

@test "a command from a system service (systemd-run --wait --pipe) runs in system.slice" {
    run systemd-run --quiet --wait --pipe --collect -p MemoryMax=200M cat /proc/self/cgroup
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^0::/system\.slice/run-.*\.service$ ]]
}

@test "stress-ng --vm 1 --vm-bytes 64M -t 2 runs" {
    need_cmd stress-ng
    run stress-ng --vm 1 --vm-bytes 64M -t 2 --metrics-brief
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "fp-capture -- sleep 1: JSON records, with the actual record of the workload" {
    [ -x "$FP_BIN/fp-capture" ]
    out=$BATS_TEST_TMPDIR/out.jsonl
    run --separate-stderr "$FP_BIN/fp-capture" -- sleep 1
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" > "$out"
    head -c 2000 "$out"
    [ "$(wc -l < "$out")" -ge 1 ]
    jq -e . "$out" > /dev/null
    jq -r .type "$out" | sort | uniq -c
    act=$(of_type actual "$out")
    [ -n "$act" ]
    [ "$(jq .exit_code <<<"$act")" = 0 ]
    between "$(jq .duration_s <<<"$act")" 0.9 5 "duration of sleep 1"
}
