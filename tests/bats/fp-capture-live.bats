#!/usr/bin/env bats
# fp-capture on real workloads in real cgroups (root; stress-ng, unshare, busybox).
load helpers

setup() {
    need_root
    need_cmd jq
    OUT="$BATS_TEST_TMPDIR/out.jsonl"
}

# The fp-capture we start is the shell's own child (not a function's
# subshell), so $! is its pid, which names its cgroup.
capture() { # ARGS... -> $OUT, $status, $fp_pid
    "$FP_BIN/fp-capture" "$@" > "$OUT" 2> "$BATS_TEST_TMPDIR/err" &
    fp_pid=$!
    status=0
    wait "$fp_pid" || status=$?
}

@test "one-core CPU burner: its CPU time as the kernel counts it, in its own cgroup, removed after" {
    need_cmd stress-ng
    # bash's `times` reports the CPU its children used: the reference.
    capture -i 0.1 -w 1 -- bash -c "stress-ng --cpu 1 --cpu-method loop --timeout 3s --quiet; times > '$BATS_TEST_TMPDIR/times'"
    [ "$status" -eq 0 ]
    ref=$(sed -n 2p "$BATS_TEST_TMPDIR/times" | awk '{ n = split($0, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); s += ms[1] * 60 + ms[2] } print s }')
    act=$(of_type actual "$OUT")
    cpu=$(jq .cpu_s <<<"$act")
    between "$cpu" "$(awk -v r="$ref" 'BEGIN { print r * 0.95 - 0.05 }')" "$(awk -v r="$ref" 'BEGIN { print r * 1.05 + 0.1 }')" \
        "cpu_s against the children's CPU time ($ref s)"
    # one core for 3 s on an idle machine; on a loaded one the burner gets
    # less, so what fp reports is judged against the kernel's count ($ref)
    dur=$(jq .duration_s <<<"$act")
    between "$dur" 2.9 8.0 "duration (stress-ng --timeout 3s)"
    between "$ref" 0.05 "$(awk -v d="$dur" 'BEGIN { print d * 1.05 }')" "a one-core burner for 3 s"
    rc=$(awk -v r="$ref" -v d="$dur" 'BEGIN { printf "%.3f", r / d }')
    fpr=$(of_type fingerprint "$OUT")
    between "$(jq .features.cpu_cores_mean <<<"$fpr")" "$(awk -v c="$rc" 'BEGIN { print c * 0.5 - 0.05 }')" \
        "$(awk -v c="$rc" 'BEGIN { m = c * 1.6 + 0.1; print m < 1.15 ? m : 1.15 }')" "fingerprint cpu_cores_mean (the run's mean: $rc)"
    between "$(jq .window_s <<<"$fpr")" 0.95 1.3 "fingerprint window"
    between "$(jq .cpu_cores_peak <<<"$act")" "$(awk -v c="$rc" 'BEGIN { print c * 0.9 }')" 1.3 "actual cpu_cores_peak (the run's mean: $rc)"
    [ "$(jq .exit_code <<<"$act")" = 0 ]
    # every record names the cgroup it lives in
    cg=$(jq -r .target.cgroup <<<"$act")
    [[ "$cg" == */fp-$fp_pid ]]
    [ "$(jq -r '.target.cgroup' "$OUT" | sort -u)" = "$cg" ]
    no_fp_cgroups_left "$fp_pid"
    # records carry the wall clock; samples come every 100 ms in the window
    # (after it, every 5 s while the burner is steady: --steady-interval)
    now_ms=$(date +%s%3N)
    between "$(of_type sample "$OUT" | head -n 1 | jq .ts_ms)" $((now_ms - 10000)) "$now_ms" "first sample's ts_ms"
    n=$(of_type sample "$OUT" | jq -s '[.[] | select(.t < 1.05)] | length')
    between "$n" 6 11 "number of samples in the 1 s window at 100 ms"
    n=$(of_type sample "$OUT" | wc -l)
    between "$n" 7 "$(awk -v d="$dur" 'BEGIN { print d * 10 + 5 }')" "number of samples in $dur s"
    # sparse samples say so, and only after the window
    [ "$(of_type sample "$OUT" | jq -s '[.[] | select(.grid_s != null and (.grid_s != 0.1 or .t < 1))] | length')" = 0 ]
}

@test "the same burner sampled at 100 ms throughout (--steady-interval 0.1)" {
    need_cmd stress-ng
    capture -i 0.1 -w 1 --steady-interval 0.1 -- stress-ng --cpu 1 --cpu-method loop --timeout 3s --quiet
    [ "$status" -eq 0 ]
    dur=$(of_type actual "$OUT" | jq .duration_s)
    n=$(of_type sample "$OUT" | wc -l)
    between "$n" "$(awk -v d="$dur" 'BEGIN { print d * 10 * 0.6 }')" "$(awk -v d="$dur" 'BEGIN { print d * 10 + 5 }')" \
        "number of samples in $dur s at 100 ms"
    [ "$(of_type sample "$OUT" | jq -s '[.[] | select(.grid_s != null)] | length')" = 0 ]
}

@test "memory grower of 200 MiB peaks at or above 200 MiB, anonymous memory" {
    need_cmd stress-ng
    capture -i 0.1 -w 0.5 -- stress-ng --vm 1 --vm-bytes 200M --vm-keep --vm-populate --timeout 2s --quiet
    [ "$status" -eq 0 ]
    act=$(of_type actual "$OUT")
    between "$(jq .mem_bytes_peak <<<"$act")" 209715200 419430400 "peak memory"
    maxanon=$(of_type sample "$OUT" | jq -s 'map(.mem_anon_bytes // 0) | max')
    between "$maxanon" 200000000 419430400 "anonymous memory"
}

@test "disk writer: storage bytes written, and syscall bytes" {
    capture -i 0.1 -w 0.5 -- dd if=/dev/zero of="$BATS_TEST_TMPDIR/blob" bs=1M count=64 oflag=direct status=none
    [ "$status" -eq 0 ]
    act=$(of_type actual "$OUT")
    between "$(jq .io_write_bytes <<<"$act")" 67108864 80000000 "storage bytes written"
    wchar=$(of_type sample "$OUT" | jq -s 'map(.wchar_Bps * 0 + 1) | length')
    [ "$wchar" -ge 1 ]
}

@test "loopback sender in its own network namespace: bytes counted per interface" {
    need_cmd unshare util-linux
    need_cmd busybox busybox-static
    # the listener ends when the sender closes (its stdin, a FIFO held open
    # by fd 3, never ends first); the sender retries until it is listening.
    # Traffic before fp's first reading in a namespace is not counted (it
    # cannot tell a namespace the workload made from one it joined), so the
    # sender waits ten sampling intervals first: on a fast host the whole
    # transfer could otherwise come before that reading (seen: 35 of 50 MB).
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    capture -i 0.1 -w 0.5 -- unshare -n sh -c '
        ip link set lo up 2>/dev/null || busybox ip link set lo up
        busybox nc -l -p 5555 < "$1" > /dev/null &
        lp=$!
        exec 3> "$1"
        sleep 1
        i=0
        until head -c 50000000 /dev/zero | busybox nc 127.0.0.1 5555 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1
        done
        wait $lp
        sleep 0.5   # a sample after the transfer: the namespace goes with the workload' sh "$BATS_TEST_TMPDIR/fifo"
    [ "$status" -eq 0 ]
    act=$(of_type actual "$OUT")
    between "$(jq .net_tx_bytes <<<"$act")" 50000000 60000000 "bytes sent"
    between "$(jq .net_rx_bytes <<<"$act")" 50000000 60000000 "bytes received on lo"
    last_if=$(of_type sample "$OUT" | jq -s -c '[.[] | select(.net_if.lo)] | last | .net_if.lo')
    between "$(jq .tx_bytes <<<"$last_if")" 50000000 60000000 "lo tx counter"
}

@test "a workload in the host network namespace: network is null with the reason" {
    capture -i 0.1 -w 0.2 -- sleep 0.3
    smp=$(of_type sample "$OUT" | head -n 1)
    [ "$(jq .net_rx_Bps <<<"$smp")" = null ]
    [[ "$(jq -r .missing.net_rx_Bps <<<"$smp")" == "shares the host network namespace"* ]]
    [[ "$(of_type fingerprint "$OUT" | jq -r .missing.net_rx_Bps)" == "shares the host network namespace"* ]]
}

@test "no hardware PMU: counters null with a reason, software counters still count" {
    capture -i 0.1 -w 0.5 -- sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
    [ "$status" -eq 0 ]
    smp=$(of_type sample "$OUT" | tail -n 2 | head -n 1)
    # the software task clock counts what the kernel's CPU accounting does
    # (one core on an idle machine, less on a loaded one)
    tc=$(jq .task_clock_cores <<<"$smp"); cc=$(jq .cpu_cores <<<"$smp")
    between "$tc" 0.02 1.2 "task clock of a busy shell"
    near "$tc" "$cc" 0.15 "task clock against the sample's cpu_cores ($cc)"
    if [ -n "$(ls /sys/bus/event_source/devices/ | grep -E '^(cpu|cpu_core|cpu_atom|armv8.*)$' || true)" ]; then
        between "$(jq .ipc <<<"$smp")" 0.05 10 "IPC on a machine with a PMU"
    else
        [ "$(jq .instructions_ps <<<"$smp")" = null ]
        [ "$(jq -r .missing.instructions_ps <<<"$smp")" = "no PMU" ]
        [ "$(jq -r .missing.ipc <<<"$smp")" = "no PMU" ]
    fi
}

@test "pressure (PSI) comes from the cgroup2 hierarchy when there is one" {
    capture -i 0.1 -w 0.2 -- sleep 0.5
    smp=$(of_type sample "$OUT" | head -n 1)
    if grep -q ' cgroup2 ' /proc/self/mountinfo && [ -e /proc/pressure/cpu ]; then
        [ "$(jq '.psi_cpu_some_pct | type' <<<"$smp")" = '"number"' ]
        [ "$(jq '.psi_io_full_pct | type' <<<"$smp")" = '"number"' ]
    else
        [ "$(jq .psi_cpu_some_pct <<<"$smp")" = null ]
    fi
}

@test "exit status of the workload is fp-capture's; a signal gives 128+N" {
    capture -i 0.05 -- sh -c 'exit 7'
    [ "$status" -eq 7 ]
    [ "$(of_type actual "$OUT" | jq .exit_code)" = 7 ]
    capture -i 0.05 -- sh -c 'kill -TERM $$'
    [ "$status" -eq 143 ]
    act=$(of_type actual "$OUT")
    [ "$(jq .exit_signal <<<"$act")" = 15 ]
    [ "$(jq .exit_code <<<"$act")" = null ]
}

@test "signals sent to fp-capture are forwarded to the workload" {
    "$FP_BIN/fp-capture" -i 0.05 -- sh -c 'trap "exit 42" USR1; : > "$1"; while :; do sleep 0.05; done' \
        sh "$BATS_TEST_TMPDIR/ready" > "$OUT" &
    fp_pid=$!
    # signal once the workload has set its trap, however slow the machine
    for _ in $(seq 200); do [ -e "$BATS_TEST_TMPDIR/ready" ] && break; sleep 0.05; done
    [ -e "$BATS_TEST_TMPDIR/ready" ]
    kill -USR1 "$fp_pid"
    status=0
    wait "$fp_pid" || status=$?
    [ "$status" -eq 42 ]
    [ "$(of_type actual "$OUT" | jq .exit_code)" = 42 ]
    no_fp_cgroups_left "$fp_pid"
}

@test "SIGTERM to fp-capture ends the workload and still writes the actual" {
    "$FP_BIN/fp-capture" -i 0.05 -- sleep 30 > "$OUT" &
    fp_pid=$!
    # once the workload runs (fp-capture's child has exec'd sleep)
    for _ in $(seq 200); do pgrep -x -P "$fp_pid" sleep > /dev/null && break; sleep 0.05; done
    pgrep -x -P "$fp_pid" sleep > /dev/null
    kill -TERM "$fp_pid"
    status=0
    wait "$fp_pid" || status=$?
    [ "$status" -eq 143 ]
    [ "$(of_type actual "$OUT" | jq .exit_signal)" = 15 ]
    no_fp_cgroups_left "$fp_pid"
}

@test "processes left behind are moved out and the cgroup is still removed" {
    capture -i 0.05 -- sh -c "sleep 30 & echo \$! > '$BATS_TEST_TMPDIR/bg'; exit 0"
    [ "$status" -eq 0 ]
    bg=$(cat "$BATS_TEST_TMPDIR/bg")
    kill -0 "$bg"                       # still alive: fp-capture kills nothing
    no_fp_cgroups_left "$fp_pid"
    kill "$bg"
}

@test "a short workload still gets a fingerprint, then its actual" {
    capture -w 10 -i 0.05 -- true
    [ "$status" -eq 0 ]
    [ "$(jq -r .type "$OUT" | tail -n 2 | tr '\n' ' ')" = "fingerprint actual " ]
    between "$(of_type fingerprint "$OUT" | jq .window_s)" 0 1 "window of a short workload"
}

@test "--refine emits the fingerprint again as the window grows" {
    capture -i 0.05 -w 0.3 --refine 0.3 --no-samples -- sleep 1.1
    [ "$status" -eq 0 ]
    n=$(of_type fingerprint "$OUT" | wc -l)
    between "$n" 3 4 "fingerprints at 0.3, 0.6, 0.9 s (sampling backs off no further than --refine)"
    [ "$(of_type sample "$OUT" | wc -l)" -eq 0 ]
}

@test "--summary prints a human summary on stderr" {
    run --separate-stderr fpc --summary -o /dev/null -i 0.05 -- sh -c 'i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done'
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"fp-capture summary: sh"* ]]
    [[ "$stderr" == *"exit status 0"* ]]
    [[ "$stderr" =~ cpu\ +[0-9.]+\ cores\ mean ]]
    [[ "$stderr" == *"not measured"* ]]
}

@test "attach to a pid: process-tree metrics, cgroup metrics null with the reason" {
    sh -c 'while :; do :; done' &
    burner=$!
    c0=$(proc_cpu_s "$burner"); t0=$(now_s)
    capture -p "$burner" -i 0.1 -w 0.5 -d 1.5
    c1=$(proc_cpu_s "$burner"); t1=$(now_s)
    kill "$burner"
    [ "$status" -eq 0 ]
    # the kernel's count for the burner over the same 1.5 s is the reference
    # (one core on an idle machine, less on a loaded one)
    ref=$(cores_between "$c0" "$t0" "$c1" "$t1")
    between "$ref" 0.02 1.05 "the burner's own CPU (/proc/PID/stat)"
    near "$(mean_of_samples "$OUT" cpu_cores)" "$ref" 0.15 "mean cpu of the attached burner against /proc ($ref)"
    smp=$(of_type sample "$OUT" | tail -n 1)
    [ "$(jq .pids <<<"$smp")" = null ]
    [[ "$(jq -r .missing.pids <<<"$smp")" == "attached by pid"* ]]
    [ "$(jq .target.pid <<<"$smp")" = "$burner" ]
    between "$(of_type actual "$OUT" | jq .duration_s)" 1.3 2.0 "duration"
}

@test "attach to a pid: the capture ends when the process does" {
    t0=$(now_s)
    sleep 2 &
    capture -p $! -i 0.1 -d 20
    t1=$(now_s)
    cat "$BATS_TEST_TMPDIR/err" >&2
    [ "$status" -eq 0 ]
    # it ended when the sleep did (2 s after t0), not at -d 20: the
    # capture's own duration is what was left of the 2 s after it attached
    between "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 1.9 4 "wall time until fp-capture ended"
    between "$(of_type actual "$OUT" | jq .duration_s)" 0.3 2.2 "ended with the process"
}

@test "attach to an existing cgroup (v1 here, or v2)" {
    name="fp-bats-$$"
    dirs=()
    if [ -d /sys/fs/cgroup/memory ]; then
        for c in cpu cpuacct memory pids perf_event unified; do
            [ -d "/sys/fs/cgroup/$c" ] && mkdir "/sys/fs/cgroup/$c/$name" && dirs+=("/sys/fs/cgroup/$c/$name")
        done
    else
        mkdir "/sys/fs/cgroup/$name" && dirs+=("/sys/fs/cgroup/$name")
    fi
    sh -c 'while :; do :; done' &
    burner=$!
    for d in "${dirs[@]}"; do echo "$burner" > "$d/cgroup.procs"; done
    c0=$(proc_cpu_s "$burner"); t0=$(now_s)
    capture --cgroup "/$name" -i 0.1 -w 0.5 -d 1.2
    c1=$(proc_cpu_s "$burner"); t1=$(now_s)
    kill "$burner"; wait "$burner" 2>/dev/null || true
    for d in "${dirs[@]}"; do rmdir "$d"; done
    [ "$status" -eq 0 ]
    ref=$(cores_between "$c0" "$t0" "$c1" "$t1")
    between "$ref" 0.02 1.05 "the burner's own CPU (/proc/PID/stat)"
    near "$(mean_of_samples "$OUT" cpu_cores)" "$ref" 0.15 "mean cgroup cpu against /proc ($ref)"
    smp=$(of_type sample "$OUT" | tail -n 1)
    [ "$(jq .pids <<<"$smp")" = 1 ]
    [ "$(jq -r .target.cgroup <<<"$smp")" = "/$name" ]
    # counters cover the whole cgroup (per-CPU cgroup events), though the
    # burner started before fp-capture did
    near "$(mean_of_samples "$OUT" task_clock_cores)" "$ref" 0.15 "mean task clock of the cgroup against /proc ($ref)"
}

@test "the process tree counts every descendant, not just the first process" {
    capture -i 0.1 -w 0.5 -- sh -c 'sleep 1 & sleep 1 & (sleep 1 & wait) & wait'
    [ "$status" -eq 0 ]
    maxp=$(of_type sample "$OUT" | jq -s 'map(.procs) | max')
    between "$maxp" 5 6 "processes in the tree (sh, 2 sleeps, a subshell and its sleep)"
    sh -c 'sleep 1.5 & sleep 1.5 & wait' &
    root=$!
    sleep 0.2
    capture -p "$root" -i 0.1 -d 0.5
    [ "$(of_type sample "$OUT" | jq -s 'map(.procs) | max')" = 3 ]
    wait "$root"
}

@test "without permission for cgroups (an ordinary user): degrades field by field" {
    need_cmd setpriv util-linux
    # the shell reports its own CPU time (`times`, first line): the reference
    # (in a directory nobody can reach: bats' own temporary tree is 0700)
    shared=$(mktemp -d /tmp/fp-bats-nobody.XXXXXX); chmod 1777 "$shared"
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$FP_BIN/fp-capture" -i 0.1 -w 0.3 -- \
        sh -c 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; times > "$1/times"' sh "$shared" > "$OUT"
    ref_s=$(cat "$shared/times"; rm -rf "$shared")
    ref_s=$(sed -n 1p <<<"$ref_s" | awk '{ n = split($0, f, " "); s = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); s += ms[1] * 60 + ms[2] } print s }')
    dur=$(of_type actual "$OUT" | jq .duration_s)
    ref=$(awk -v c="$ref_s" -v d="$dur" 'BEGIN { printf "%.3f", c / d }')
    between "$ref" 0.02 1.05 "the shell's own CPU (times / duration)"
    smp=$(of_type sample "$OUT" | head -n 1)
    [ "$(jq .target.cgroup <<<"$smp")" = null ]
    [ "$(jq -r .missing.pids <<<"$smp")" = "no permission to create a cgroup" ]
    between "$(mean_of_samples "$OUT" cpu_cores 0)" "$(awk -v r="$ref" 'BEGIN { print r * 0.7 - 0.1 }')" \
        "$(awk -v r="$ref" 'BEGIN { print r * 1.3 + 0.1 }')" "mean CPU from the process tree against times ($ref)"
    between "$(jq .mem_bytes <<<"$smp")" 100000 100000000 "memory from the tree's RSS"
    # the last reading (the exited shell) has no memory to read: null, not 0
    last=$(of_type sample "$OUT" | tail -n 1)
    [ "$(jq .mem_bytes <<<"$last")" = null ]
    [[ "$(jq -r .missing.mem_bytes <<<"$last")" == "the workload had exited"* ]]
    between "$(of_type actual "$OUT" | jq .mem_bytes_peak)" 100000 100000000 "peak from the live samples"
}
