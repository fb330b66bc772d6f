#!/usr/bin/env bats
# tests/vm/docker-v2.bats - runs INSIDE the fp test VM (tests/vm/in-vm-tests.sh):
# Docker on a systemd + pure cgroup v2 host. The engine (started here, as
# tests/bats/docker.bash does on the development host) uses its default on
# cgroup v2 with systemd, the systemd cgroup driver: each container is a
# scope, /system.slice/docker-ID.scope. fp-run --docker and fp-capture
# --docker find that cgroup from the container's init process, read real
# metrics from it, and fp-run's limits go through the engine: docker
# inspect and the scope's cgroup files agree with the allocation; the
# login session's cgroup is left as it was.
load ../bats/helpers
load ../bats/docker

MODEL=${FP_TOP_SRCDIR:-.}/share/fp/default-model.json

setup_file() {
    fp_need_docker
    FP_DOCKERD_WAIT=180 fp_dockerd_start
    fp_busybox_image
}

teardown_file() { fp_dockerd_stop; }

setup() {
    fp_need_docker
    need_cmd jq
    P=$BATS_TEST_TMPDIR
    # 1 MiB into the container's /dev/shm (tmpfs, charged to its memory
    # cgroup) every ~40 ms: ~150 MiB, then exit 3
    GROW='i=0; while [ $i -lt 150 ]; do head -c 1048576 /dev/zero >> /dev/shm/f; i=$((i+1)); sleep 0.04; done; sleep 2; exit 3'
}

hc_mem() { docker inspect -f '{{.HostConfig.Memory}}' "$1"; }

@test "the engine runs containers in systemd scopes (docker-ID.scope) on this host" {
    [ "$(docker info -f '{{.CgroupDriver}} {{.CgroupVersion}}')" = "systemd 2" ]
    id=$(docker run -d --network none --name fpv-probe "$FP_BUSYBOX_IMAGE" sleep 30)
    pid=$(docker inspect -f '{{.State.Pid}}' "$id")
    cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    echo "container cgroup: $cg"
    docker rm -f fpv-probe > /dev/null
    [ "$cg" = "/system.slice/docker-$id.scope" ]
}

@test "fp-run --docker on v2: limits through the engine, the scope's files agree, exit code passes through" {
    caller=$(sed -n 's/^0:://p' /proc/self/cgroup)
    before=$(cat "/sys/fs/cgroup$caller/memory.max" "/sys/fs/cgroup$caller/memory.high" "/sys/fs/cgroup$caller/cpu.max" 2>&1)
    id=$(docker run -d --network none --shm-size 512m --name fpv-one "$FP_BUSYBOX_IMAGE" sh -c "$GROW")
    cg=/sys/fs/cgroup/system.slice/docker-$id.scope
    out=$P/r.jsonl
    set +e
    timeout -k 5 240 "$FP_BIN/fp-run" -m "$MODEL" --no-history --every 2 --docker fpv-one > "$out" 2> "$P/err" 3>&- &
    pid=$!
    sleep 6
    # the engine's value reaches the kernel through runc a moment after the
    # engine has it (seconds on a loaded, emulated machine): wait for it
    for _ in $(seq 40); do
        eng=$(hc_mem fpv-one); kmax=$(cat "$cg/memory.max" 2>/dev/null)
        [ "$eng" != 0 ] && [ "$eng" = "$kmax" ] && break
        sleep 0.5
    done
    st=0; wait $pid || st=$?   # (not `wait; st=$?`: bats' ERR trap fires under set +e)
    set -e
    cat "$P/err"
    echo "exit $st; during the run: engine Memory=$eng, kernel memory.max=$kmax"
    echo "after: scope MemoryMax=$(systemctl show -P MemoryMax "docker-$id.scope" 2>&1) kernel=$(cat "$cg/memory.max" 2>&1)"
    echo "cgroups named after the container: $(find /sys/fs/cgroup -name "*$id*" 2>/dev/null | tr '\n' ' ')"
    echo "$(grep -H . "$cg"/memory.max "$cg"/*/memory.max 2>/dev/null | head -5)"
    jq -c 'select(.type=="allocation") | {t, reason, ok, object, backend, mem_max: .limits.mem_max_bytes}' "$out"
    [ "$st" -eq 3 ]
    [ "$(jq -r 'select(.type=="actual") | .exit_code' "$out")" = 3 ]
    [ "$(jq -r 'select(.type=="actual") | .target.cgroup' "$out")" = "/system.slice/docker-$id.scope" ]
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok)] | length' "$out")" -ge 1 ]
    # (a "hold" touches nothing: it names no object)
    [ -z "$(jq -r --arg id "$id" 'select(.type=="allocation" and .reason != "hold") | select(.object != $id or .backend != "docker") | .object' "$out")" ]
    # the engine and the kernel agree, on a value an allocation asked for
    [ "$eng" -gt 0 ]
    [ "$eng" = "$kmax" ]
    found=0
    for v in $(jq -r 'select(.type=="allocation" and .ok) | .changes[]? | select(.knob == "Memory") | .value' "$out"); do
        [ "$v" = "$eng" ] && found=1
    done
    [ "$found" = 1 ]
    # real memory, not null, and no harm
    between "$(jq -r 'select(.type=="actual") | .mem_bytes_peak' "$out")" 120000000 300000000 "the container's peak"
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$out")" = 0 ]
    [ "$(docker inspect -f '{{.State.OOMKilled}}' fpv-one)" = false ]
    # the caller's session cgroup is as it was
    after=$(cat "/sys/fs/cgroup$caller/memory.max" "/sys/fs/cgroup$caller/memory.high" "/sys/fs/cgroup$caller/cpu.max" 2>&1)
    [ "$before" = "$after" ]
    docker rm -f fpv-one > /dev/null
}

@test "fp-capture --docker on v2: real memory and I/O metrics from the container's scope" {
    id=$(docker run -d --network none --shm-size 512m --name fpv-cap "$FP_BUSYBOX_IMAGE" sh -c "$GROW")
    run --separate-stderr timeout -k 5 240 "$FP_BIN/fp-capture" -i 0.5 --docker fpv-cap
    echo "$stderr"
    printf '%s\n' "$output" > "$P/c.jsonl"
    docker rm -f fpv-cap > /dev/null
    [ "$status" -eq 0 ]
    act=$(of_type actual "$P/c.jsonl")
    echo "$act" | jq -c '{exit_code, target, mem_bytes_peak, io_read_bytes, io_write_bytes, cpu_s}'
    [ "$(jq -r .target.cgroup <<<"$act")" = "/system.slice/docker-$id.scope" ]
    between "$(jq -r .mem_bytes_peak <<<"$act")" 120000000 300000000 "the container's peak"
    for k in io_read_bytes io_write_bytes cpu_s; do
        [ "$(jq -r --arg k "$k" '.[$k] | type' <<<"$act")" = number ]
    done
}
