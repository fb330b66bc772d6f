#!/usr/bin/env bats
# fp-profile and a real Docker engine that this file starts (see
# docker.bash): `container ID`, container completion, `ps`.
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
    need_cmd script util-linux
    P=$BATS_TEST_TMPDIR
    MODEL=$FP_TOP_SRCDIR/share/fp/default-model.json
    export XDG_STATE_HOME=$P/state XDG_DATA_HOME=$P/data
    CPU_FLOOR=$(awk '{ print ($1 < 1.0) ? 0.75 : 0.15 }' /proc/loadavg)
}

teardown() { docker rm -f fpt-prof > /dev/null 2>&1 || true; }

fpp() { "$FP_BIN/fp-profile" "$@"; }

@test "container NAME: the container's fingerprint, its image's past runs; ps lists it; bad references" {
    id=$(docker run -d --network none --name fpt-prof "$FP_BUSYBOX_IMAGE" sh -c 'while :; do :; done')
    # a past run of the same image in the history store
    mkdir -p "$P/h"
    jq -cn --arg img "$FP_BUSYBOX_IMAGE" '{schema:1,type:"actual",id:"old-burn",t:5,ts_ms:1795800000000,
        duration_s:5,exit_code:0,exit_signal:null,cpu_cores_peak:1,mem_bytes_peak:1048576,
        meta:{image:$img,cmd:["sh","-c","x"]}}' > "$P/h/history.jsonl"
    run --separate-stderr fpp -m "$MODEL" -w 1.5 --history "$P/h" <<'EOF'
container fpt-prof
ps
container fpt-nonexistent
container bad/ref
EOF
    echo "$output"; echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    grep -q '^fingerprint of container fpt-prof: ' <<<"$output"
    grep -q "^  image       $FP_BUSYBOX_IMAGE\$" <<<"$output"
    grep -q "^  pid         [0-9]*, cgroup .*$id" <<<"$output"
    peak=$(awk '$1 == "cpu" && $3 == "cores" { print $5 }' <<<"$output")
    between "$peak" "$CPU_FLOOR" 1.3 "container cpu peak"
    grep -q '^  psi cpu     [0-9.]*% mean' <<<"$output" || grep -q '^  psi cpu     null (' <<<"$output"
    grep -q '^  cpu_cores  *p50 ' <<<"$output"
    grep -q '^past runs of this image (1):$' <<<"$output"
    grep -q '  old-burn  5.0 s, exit 0  cpu peak 1.00 cores  mem peak 1.00 MiB$' <<<"$output"
    grep -Eq "^  ${id:0:12}  fpt-prof  +$FP_BUSYBOX_IMAGE " <<<"$output"
    [[ "$stderr" == *"no such container: fpt-nonexistent"* ]]
    [[ "$stderr" == *"'bad/ref' is not a valid container id or name"* ]]
}

@test "tty: TAB completes a container name after container" {
    docker run -d --network none --name fpt-prof "$FP_BUSYBOX_IMAGE" sleep 60 > /dev/null
    { sleep 1; printf 'container fpt-p\t\n'; sleep 4; } |
        script -e -q -c "$(printf '%q ' "$FP_BIN/fp-profile" --no-history-file -m "$MODEL" -w 0.5)" /dev/null > "$P/tty.out"
    tr -d '\r' < "$P/tty.out" | sed 's/\x1b\[?2004[hl]//g' > "$P/screen"
    cat "$P/screen"
    grep -q '^fp> container fpt-prof *$' "$P/screen"
    grep -q '^fingerprint of container fpt-prof: ' "$P/screen"
}
