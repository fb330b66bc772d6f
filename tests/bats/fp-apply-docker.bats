#!/usr/bin/env bats
# The docker and swarm back-ends of the actuator contract against a real
# Docker engine that this file starts (see docker.bash). fp-apply is not
# the driver here: tests/unit/test-act-docker (built by `make check`)
# plans, commits and reverts through libfp, and every result is checked
# independently with `docker inspect` / `docker service inspect`.
load helpers
load docker

setup_file() {
    fp_need_docker
    fp_dockerd_start
    fp_busybox_image
}

teardown_file() {
    if [ -n "${FP_DOCKERD_PID:-}" ]; then
        timeout 30 docker swarm leave --force >/dev/null 2>&1 || true
    fi
    fp_dockerd_stop
}

setup() {
    fp_need_docker
    need_cmd jq
    TAD=${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}/tests/unit/test-act-docker
    [ -x "$TAD" ] || fp_require "$TAD is not built (make check builds it)"
}

tad() { "$TAD" "$@"; }

# The resource fields of a container's HostConfig, compact JSON.
hc() {
    docker inspect "$1" --format '{{json .HostConfig}}' |
        jq -c '{NanoCpus,CpuQuota,CpuPeriod,CpuShares,Memory,MemorySwap,MemoryReservation,PidsLimit}'
}
hcf() { docker inspect "$1" --format "{{json .HostConfig.$2}}"; }

# Spec.TaskTemplate.Resources of a service, compact JSON.
svc_res() { docker service inspect "$1" | jq -c '.[0].Spec.TaskTemplate.Resources'; }

# Make the private engine a single-node swarm, on a loopback address of its
# own (127.0.0.N) and a random data-path port, so that it does not collide
# with another engine on this host.
swarm_up() {
    local i n
    if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ]; then return 0; fi
    for i in 1 2 3; do
        n=$((2 + RANDOM % 250))
        if timeout 60 docker swarm init --advertise-addr "127.0.0.$n" \
            --listen-addr "127.0.0.$n:2377" --data-path-port $((20000 + RANDOM % 20000)) \
            >/dev/null 2>"$BATS_TEST_TMPDIR/swarm.err"; then
            return 0
        fi
        cat "$BATS_TEST_TMPDIR/swarm.err" >&2
    done
    return 1
}

# Create service $1 (fp-busybox sleeping) with extra options and wait until
# its task container runs; prints nothing.
svc_create() {
    local name=$1 i
    shift
    docker service create --detach --name "$name" --stop-grace-period 1s "$@" \
        "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    for ((i = 0; i < 120; i++)); do
        [ -n "$(task_container "$name")" ] && return 0
        sleep 0.5
    done
    echo "service $name did not start a task" >&2
    docker service ps --no-trunc "$name" >&2
    return 1
}

# The running task container of service $1 (empty when none yet).
task_container() {
    docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$1" | head -n 1
}

# Wait (up to 40 s) until a running task container of service $1 has
# HostConfig field $2 = $3; prints that container's id.
wait_task_field() {
    local svc=$1 field=$2 want=$3 i c
    for ((i = 0; i < 80; i++)); do
        for c in $(docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$svc"); do
            if [ "$(hcf "$c" "$field" 2>/dev/null)" = "$want" ]; then
                echo "$c"
                return 0
            fi
        done
        sleep 0.5
    done
    echo "no task of $svc with $field=$want; tasks:" >&2
    docker service ps --no-trunc "$svc" >&2
    return 1
}

@test "offline: invalid references and malformed plans are refused (TAP)" {
    run "$TAD"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"1.."* ]]
    [[ "$output" != *"not ok"* ]]
}

@test "docker: limits change in place and docker inspect agrees" {
    docker run -d --network none --name fpa-in "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    run --separate-stderr tad apply docker fpa-in cpu_max_cores=0.5 mem_max_bytes=67108864 \
        mem_high_bytes=33554432 cpu_weight_cores=0.5 pids_max=50 io_read_Bps=1000000 net_tx_Bps=1000
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    id=$(docker inspect -f '{{.Id}}' fpa-in)
    [ "$(jq -r .object <<<"$output")" = "$id" ]
    [ "$(jq -r .backend <<<"$output")" = docker ]
    [ "$(jq .pid <<<"$output")" = "$(docker inspect -f '{{.State.Pid}}' fpa-in)" ]
    [ "$(jq -r '[.unsupported[].limit] | sort | join(",")' <<<"$output")" = io_read_Bps,net_tx_Bps ]
    got=$(hc fpa-in)
    echo "$got"
    [ "$(jq .NanoCpus <<<"$got")" = 500000000 ]
    [ "$(jq .Memory <<<"$got")" = 67108864 ]
    [ "$(jq .MemorySwap <<<"$got")" = -1 ]       # had no limit: unlimited swap, as before
    [ "$(jq .MemoryReservation <<<"$got")" = 33554432 ]
    [ "$(jq .CpuShares <<<"$got")" = 512 ]
    [ "$(jq .PidsLimit <<<"$got")" = 50 ]
    # the changes record what was there before
    [ "$(jq -c '[.changes[] | select(.knob == "Memory") | .previous]' <<<"$output")" = '["0"]' ]
    # observe reads the same limits back, and some usage
    run --separate-stderr tad observe docker fpa-in
    [ "$status" -eq 0 ]
    [ "$(jq '.now.cpu_max_cores == 0.5' <<<"$output")" = true ]
    [ "$(jq '.now.mem_max_bytes == 67108864' <<<"$output")" = true ]
    [ "$(jq '.now.pids_max == 50' <<<"$output")" = true ]
    [ "$(jq '.mem_bytes > 0' <<<"$output")" = true ]
    [ "$(jq '.cpu_s >= 0' <<<"$output")" = true ]
    # usage comes from the container's cgroups, which count OOM kills (the
    # Engine API does not)
    [ "$(jq '.oom_kills == 0' <<<"$output")" = true ]
    docker rm -f fpa-in >/dev/null
}

@test "docker: revert restores the exact previous values" {
    docker run -d --network none --name fpa-rv --cpus 0.5 -m 64m --memory-reservation 32m \
        --cpu-shares 512 --pids-limit 50 "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    before=$(hc fpa-rv)
    echo "before: $before"
    run --separate-stderr tad apply docker fpa-rv cpu_max_cores=1.5 mem_max_bytes=134217728 \
        mem_high_bytes=50331648 cpu_weight_cores=1 pids_max=100
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    echo "$output" > "$BATS_TEST_TMPDIR/plan.json"
    mid=$(hc fpa-rv)
    echo "applied: $mid"
    [ "$(jq .NanoCpus <<<"$mid")" = 1500000000 ]
    [ "$(jq .Memory <<<"$mid")" = 134217728 ]
    # the swap allowance (MemorySwap - Memory) is kept when one was set
    old_swap=$(jq '.MemorySwap - .Memory' <<<"$before")
    [ "$(jq '.MemorySwap - .Memory' <<<"$mid")" = "$old_swap" ]
    [ "$(jq .MemoryReservation <<<"$mid")" = 50331648 ]
    [ "$(jq .CpuShares <<<"$mid")" = 1024 ]
    [ "$(jq .PidsLimit <<<"$mid")" = 100 ]
    run --separate-stderr tad revert docker "$BATS_TEST_TMPDIR/plan.json"
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    after=$(hc fpa-rv)
    echo "after: $after"
    [ "$after" = "$before" ]
    docker rm -f fpa-rv >/dev/null
}

@test "docker: reverting a first limit sets the engine's no-limit equivalents" {
    docker run -d --network none --name fpa-first "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    run --separate-stderr tad apply docker fpa-first cpu_max_cores=0.5 mem_max_bytes=67108864 \
        mem_high_bytes=33554432 cpu_weight_cores=0.5 pids_max=50
    [ "$status" -eq 0 ]
    echo "$output" > "$BATS_TEST_TMPDIR/plan.json"
    run --separate-stderr tad revert docker "$BATS_TEST_TMPDIR/plan.json"
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    got=$(hc fpa-first)
    echo "$got"
    ncpu=$(docker info --format '{{.NCPU}}')
    mem=$(docker info --format '{{.MemTotal}}')
    [ "$(jq .NanoCpus <<<"$got")" = $((ncpu * 1000000000)) ]
    [ "$(jq .Memory <<<"$got")" = "$mem" ]
    [ "$(jq .MemorySwap <<<"$got")" = -1 ]
    [ "$(jq .CpuShares <<<"$got")" = 1024 ]
    [ "$(jq .PidsLimit <<<"$got")" = 0 ]
    if [ "$(docker info --format '{{.CgroupVersion}}')" = 1 ]; then
        [ "$(jq .MemoryReservation <<<"$got")" = -1 ]
    fi
    docker rm -f fpa-first >/dev/null
}

@test "docker: a container with a CPU quota keeps CpuQuota (NanoCpus would be refused)" {
    docker run -d --network none --name fpa-q --cpu-quota 50000 "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    run --separate-stderr tad apply docker fpa-q cpu_max_cores=0.25
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.changes[0].knob' <<<"$output")" = CpuQuota ]
    [ "$(hcf fpa-q CpuQuota)" = 25000 ]
    [ "$(hcf fpa-q NanoCpus)" = 0 ]
    echo "$output" > "$BATS_TEST_TMPDIR/plan.json"
    run tad revert docker "$BATS_TEST_TMPDIR/plan.json"
    [ "$status" -eq 0 ]
    [ "$(hcf fpa-q CpuQuota)" = 50000 ]
    docker rm -f fpa-q >/dev/null
}

@test "docker: a memory limit below current usage is refused and nothing changes" {
    # 40 MB in the container's tmpfs /dev/shm: charged to it, not reclaimable
    docker run -d --network none --name fpa-mem -m 256m "$FP_BUSYBOX_IMAGE" \
        sh -c 'head -c 40000000 /dev/zero > /dev/shm/x; touch /tmp/ready; sleep 600' >/dev/null
    for ((i = 0; i < 60; i++)); do
        docker exec fpa-mem test -e /tmp/ready 2>/dev/null && break
        sleep 0.25
    done
    before=$(hc fpa-mem)
    run --separate-stderr tad apply docker fpa-mem mem_max_bytes=16777216 cpu_max_cores=0.5
    echo "$output $stderr"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"below the current usage"* ]]
    [ "$(hc fpa-mem)" = "$before" ]
    docker rm -f fpa-mem >/dev/null
}

@test "docker: malformed references are refused before any request" {
    for ref in '../x' 'a;b' 'a/b' '-x'; do
        # a missing socket: any request would be an ESYS (2) error
        FP_DOCKER_SOCK=/nonexistent/docker.sock run --separate-stderr tad plan docker "$ref" mem_max_bytes=1e8
        echo "$ref: $status $stderr"
        [ "$status" -eq 3 ]
        [[ "$stderr" == *"invalid container reference"* ]]
    done
    run --separate-stderr tad plan docker "a;b" mem_max_bytes=1e8
    [ "$status" -eq 3 ]
}

@test "docker: a container that does not exist is FP_EINPUT 'no such container'" {
    run --separate-stderr tad plan docker fpa-nonexistent mem_max_bytes=1e8
    echo "$stderr"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no such container: fpa-nonexistent"* ]]
    run --separate-stderr tad observe docker fpa-nonexistent
    [ "$status" -eq 3 ]
}

@test "docker: a change made between plan and commit is not overwritten" {
    docker run -d --network none --name fpa-cc --cpus 0.5 "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    tad plan docker fpa-cc cpu_max_cores=0.7 > "$BATS_TEST_TMPDIR/plan.json"
    docker update --cpus 0.3 fpa-cc >/dev/null
    run --separate-stderr tad commit docker "$BATS_TEST_TMPDIR/plan.json"
    echo "$stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"changed concurrently"* ]]
    [ "$(hcf fpa-cc NanoCpus)" = 300000000 ]
    docker rm -f fpa-cc >/dev/null
}

@test "swarm: limits through a task container reach the spec and the new task" {
    swarm_up
    svc_create fpsvc-a
    task=$(task_container fpsvc-a)
    run --separate-stderr tad apply swarm "$task" cpu_max_cores=0.25 mem_max_bytes=100000000 \
        mem_high_bytes=20000000 cpu_weight_cores=0.1 pids_max=64 io_read_Bps=1000
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    sid=$(docker service inspect -f '{{.ID}}' fpsvc-a)
    [ "$(jq -r .object <<<"$output")" = "$sid" ]
    [ "$(jq -r .backend <<<"$output")" = swarm ]
    [[ "$(jq -r .token <<<"$output")" =~ ^[0-9]+$ ]]
    [ "$(jq -r '.unsupported[0].limit' <<<"$output")" = io_read_Bps ]
    res=$(svc_res fpsvc-a)
    echo "$res"
    [ "$(jq .Limits.NanoCPUs <<<"$res")" = 250000000 ]
    [ "$(jq .Limits.MemoryBytes <<<"$res")" = 100000000 ]
    [ "$(jq .Limits.Pids <<<"$res")" = 64 ]
    [ "$(jq .Reservations.NanoCPUs <<<"$res")" = 100000000 ]
    [ "$(jq .Reservations.MemoryBytes <<<"$res")" = 20000000 ]
    # Swarm replaces the task; the new container carries the limits
    new=$(wait_task_field fpsvc-a NanoCpus 250000000)
    [ "$new" != "$task" ]
    [ "$(hcf "$new" Memory)" = 100000000 ]
    [ "$(hcf "$new" PidsLimit)" = 64 ]
    run --separate-stderr tad observe swarm fpsvc-a
    [ "$status" -eq 0 ]
    [ "$(jq '.now.cpu_max_cores == 0.25' <<<"$output")" = true ]
    docker service rm fpsvc-a >/dev/null
}

@test "swarm: a concurrent change is refused and the CLI's value stays; revert restores" {
    swarm_up
    svc_create fpsvc-b --limit-cpu 0.5 --limit-memory 64m
    before=$(svc_res fpsvc-b)
    # plan, then someone else changes the service, then commit
    tad plan swarm fpsvc-b cpu_max_cores=0.4 > "$BATS_TEST_TMPDIR/plan.json"
    docker service update --detach --limit-cpu 0.3 fpsvc-b >/dev/null
    run --separate-stderr tad commit swarm "$BATS_TEST_TMPDIR/plan.json"
    echo "$stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"changed since the plan"*"concurrent change, not overwritten"* ]]
    [ "$(svc_res fpsvc-b | jq .Limits.NanoCPUs)" = 300000000 ]
    # an empty token (a revert) still refuses a knob someone else changed
    run --separate-stderr tad revert swarm "$BATS_TEST_TMPDIR/plan.json"
    echo "$stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"Limits.NanoCPUs is 300000000, not 400000000"* ]]
    [ "$(svc_res fpsvc-b | jq .Limits.NanoCPUs)" = 300000000 ]
    # apply and revert: the spec's resources are exactly as before
    docker service update --detach --limit-cpu 0.5 fpsvc-b >/dev/null
    run --separate-stderr tad apply swarm fpsvc-b cpu_max_cores=1 mem_max_bytes=134217728 pids_max=32
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    echo "$output" > "$BATS_TEST_TMPDIR/plan2.json"
    [ "$(svc_res fpsvc-b | jq .Limits.MemoryBytes)" = 134217728 ]
    run --separate-stderr tad revert swarm "$BATS_TEST_TMPDIR/plan2.json"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [ "$(svc_res fpsvc-b)" = "$before" ]
    docker service rm fpsvc-b >/dev/null
}

@test "swarm: the engine's 'update out of sequence' is reported as a concurrent change" {
    swarm_up
    svc_create fpsvc-c
    docker service inspect fpsvc-c | jq '.[0].Spec' > "$BATS_TEST_TMPDIR/spec.json"
    docker service update --detach --limit-cpu 0.3 fpsvc-c >/dev/null
    run --separate-stderr tad request POST "/services/fpsvc-c/update?version=1" "$BATS_TEST_TMPDIR/spec.json"
    echo "$output $stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"concurrent change detected"* ]]
    [ "$(svc_res fpsvc-c | jq .Limits.NanoCPUs)" = 300000000 ]
    docker service rm fpsvc-c >/dev/null
}

@test "swarm: neither a container nor a service is FP_EINPUT; a plain container is not a task" {
    swarm_up
    run --separate-stderr tad plan swarm fpsvc-nonexistent cpu_max_cores=1
    echo "$stderr"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no such container or service: fpsvc-nonexistent"* ]]
    docker run -d --network none --name fpa-plain "$FP_BUSYBOX_IMAGE" sleep 600 >/dev/null
    run --separate-stderr tad plan swarm fpa-plain cpu_max_cores=1
    echo "$stderr"
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"not a task of a Swarm service"* ]]
    docker rm -f fpa-plain >/dev/null
}

# ---- fp-apply itself, end to end

# A prediction record for container $1: CPU p90 $2 cores, memory p99 $3 bytes.
cpred() {
    jq -cn --arg c "$1" --argjson cpu "$2" --argjson m "$3" \
        '{schema:1,type:"prediction",id:"c",t:1,target:{cgroup:null,container:$c,pid:null},
          quantiles:{cpu_cores:{p90:$cpu},mem_bytes:{p99:$m}}}'
}

@test "fp-apply: a prediction changes a running container in place; --revert restores it" {
    c=$(docker run -d --network none --cpus 1 -m 512m --memory-reservation 256m --cpu-shares 512 \
        "$FP_BUSYBOX_IMAGE" sleep 600)
    before=$(hc "$c")
    run --separate-stderr fpa --no-pass < <(cpred "$c" 0.5 209715200)
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$(jq -r .backend <<<"$output")" = docker ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    # p90 0.5 x 1.2 = 0.6 core: shares up from 0.5 core (512), the quota down
    # from 1 core by at most 25 % (0.75); p99 200 MiB x 1.15 = 230 MiB soft,
    # x 1.25 = 288 MiB hard, but a shrink from 512 MiB stops at 384 MiB
    [ "$(hcf "$c" NanoCpus)" = 750000000 ]
    [ "$(hcf "$c" CpuShares)" = 614 ]
    [ "$(hcf "$c" MemoryReservation)" = $((230 * 1048576)) ]
    [ "$(hcf "$c" Memory)" = $((384 * 1048576)) ]
    [[ "$(jq -r .why.mem_bytes <<<"$output")" == *"shrink limited to -25%"* ]]
    [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ]
    a=$output
    run --separate-stderr fpa --revert <<<"$a"
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$(jq -r .ok <<<"$output")" = true ]
    [ "$(hc "$c")" = "$before" ]
    docker rm -f "$c" >/dev/null
}

@test "fp-apply: a bogus container id is refused with exit 3 and nothing is sent" {
    run --separate-stderr fpa --no-pass < <(cpred '../../containers/x' 0.5 209715200)
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"invalid container reference"* ]]
    [ "$(jq -r .ok <<<"$output")" = false ]
    run --separate-stderr fpa --no-pass < <(cpred 'no-such-ctr' 0.5 209715200)
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no such container: no-such-ctr"* ]]
}

@test "fp-apply -b swarm: a service converges to the predicted limits" {
    swarm_up
    svc_create fpsvc-tool
    task=$(task_container fpsvc-tool)
    run --separate-stderr fpa --no-pass -b swarm < <(cpred "$task" 0.25 104857600)
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$(jq -r .backend <<<"$output")" = swarm ]
    [[ "$(jq -r .capacity <<<"$output")" == "not checked"* ]]
    res=$(svc_res fpsvc-tool)
    [ "$(jq .Limits.NanoCPUs <<<"$res")" = 300000000 ]
    [ "$(jq .Limits.MemoryBytes <<<"$res")" = $((144 * 1048576)) ]
    new=$(wait_task_field fpsvc-tool NanoCpus 300000000)
    [ "$(hcf "$new" Memory)" = $((144 * 1048576)) ]
    a=$output
    run --separate-stderr fpa --revert <<<"$a"
    echo "$output $stderr"
    [ "$status" -eq 0 ]
    [ "$(svc_res fpsvc-tool | jq -c '.Limits // {} | with_entries(select(.value != 0))')" = '{}' ]
    docker service rm fpsvc-tool >/dev/null
}
