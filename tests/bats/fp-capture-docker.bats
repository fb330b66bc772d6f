#!/usr/bin/env bats
# fp-capture and a real Docker engine that this file starts (see docker.bash).
load helpers
load docker

setup_file() {
    fp_need_docker
    fp_dockerd_start
    fp_busybox_image
}

teardown_file() { fp_dockerd_stop; }

setup() {
    fp_need_docker
    need_cmd jq
    OUT="$BATS_TEST_TMPDIR/out.jsonl"
}

@test "--docker NAME: the container's cgroup, pid, image and labels; about one core" {
    id=$(docker run -d --network none --name fpt-burn --label app=web "$FP_BUSYBOX_IMAGE" sh -c 'while :; do :; done')
    bpid=$(docker inspect -f '{{.State.Pid}}' fpt-burn)
    c0=$(proc_cpu_s "$bpid"); t0=$(now_s)
    run --separate-stderr fpc --docker fpt-burn -i 0.2 -w 1 -d 2.5
    c1=$(proc_cpu_s "$bpid"); t1=$(now_s)
    docker rm -f fpt-burn > /dev/null
    # the kernel's count for the container's burner over the same time is
    # the reference (one core on an idle machine, less on a loaded one)
    ref=$(cores_between "$c0" "$t0" "$c1" "$t1")
    [ "$status" -eq 0 ]
    echo "$output" > "$OUT"
    smp=$(of_type sample "$OUT" | tail -n 1)
    [ "$(jq -r .target.container <<<"$smp")" = "$id" ]
    [[ "$(jq -r .target.cgroup <<<"$smp")" == *"$id"* ]]
    [ "$(jq .target.pid <<<"$smp")" -gt 1 ]
    between "$ref" 0.02 1.05 "the burner's own CPU (/proc/PID/stat)"
    near "$(mean_of_samples "$OUT" cpu_cores)" "$ref" 0.15 "mean container cpu against /proc ($ref)"
    near "$(mean_of_samples "$OUT" task_clock_cores)" "$ref" 0.15 "mean container task clock (cgroup counters) against /proc ($ref)"
    [ "$(jq .pids <<<"$smp")" = 1 ]
    fpr=$(of_type fingerprint "$OUT")
    [ "$(jq -r .id <<<"$fpr")" = fpt-burn ]
    [ "$(jq -r .meta.image <<<"$fpr")" = "$FP_BUSYBOX_IMAGE" ]
    [ "$(jq -r .meta.labels.app <<<"$fpr")" = web ]
    [ "$(jq -c .meta.cmd <<<"$fpr")" = '["sh","-c","while :; do :; done"]' ]
    [ "$(jq -r '.features.emb_00 | type' <<<"$fpr")" = number ]
    between "$(of_type actual "$OUT" | jq .duration_s)" 2.3 3.5 "duration"
}

@test "--docker: the capture ends when the container stops" {
    docker run -d --network none --name fpt-short "$FP_BUSYBOX_IMAGE" sh -c 'sleep 1' > /dev/null
    run --separate-stderr fpc --docker fpt-short -i 0.1 -d 30
    docker rm -f fpt-short > /dev/null
    [ "$status" -eq 0 ]
    between "$(echo "$output" | of_type actual | jq .duration_s)" 0.3 3 "ended with the container"
}

@test "--docker: a container that does not exist is bad input (exit 3)" {
    run --separate-stderr fpc --docker fpt-nonexistent -d 1
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no such container: fpt-nonexistent"* ]]
    [ -z "$output" ]
}

@test "--docker: a stopped container is refused" {
    docker create --network none --name fpt-created "$FP_BUSYBOX_IMAGE" true > /dev/null
    run --separate-stderr fpc --docker fpt-created -d 1
    docker rm -f fpt-created > /dev/null
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"container fpt-created is not running"* ]]
}

@test "--watch-docker fingerprints every container as it starts" {
    "$FP_BIN/fp-capture" --watch-docker -i 0.1 -w 0.5 -d 6 --no-samples > "$OUT" &
    fp=$!
    sleep 1
    docker run -d --network none --name fpt-w1 "$FP_BUSYBOX_IMAGE" sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done' > /dev/null
    docker run -d --network none --name fpt-w2 --label role=db "$FP_BUSYBOX_IMAGE" sleep 2 > /dev/null
    status=0
    wait "$fp" || status=$?
    docker rm -f fpt-w1 fpt-w2 > /dev/null
    [ "$status" -eq 0 ]
    [ "$(of_type fingerprint "$OUT" | jq -r .id | sort | tr '\n' ' ')" = "fpt-w1 fpt-w2 " ]
    [ "$(of_type actual "$OUT" | jq -r .id | sort | tr '\n' ' ')" = "fpt-w1 fpt-w2 " ]
    w1=$(of_type actual "$OUT" | jq -c 'select(.id == "fpt-w1")')
    between "$(jq .cpu_cores_peak <<<"$w1")" 0.5 1.3 "busy container peak"
    [ "$(of_type fingerprint "$OUT" | jq -r 'select(.id == "fpt-w2") | .meta.labels.role')" = db ]
}

@test "libfp's Docker client against the engine (unit test with a real engine)" {
    docker run -d --network none --name fpt-unit "$FP_BUSYBOX_IMAGE" sleep 30 > /dev/null
    run env FP_TEST_DOCKER_SOCK="$FP_DOCKER_SOCK" FP_TEST_DOCKER_CONTAINER=fpt-unit \
        "${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}/tests/unit/test-docker"
    docker rm -f fpt-unit > /dev/null
    echo "$output" | grep -v '^ok' | sed 's/^/# /' >&3 || true
    [ "$status" -eq 0 ]
    [[ "$output" != *"not ok"* ]]
    [[ "$output" == *"inspect"* ]]
}
