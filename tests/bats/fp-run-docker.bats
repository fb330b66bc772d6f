#!/usr/bin/env bats
# fp-run --docker and --watch-docker against a real Docker engine that this
# file starts (see docker.bash): containers started by others are sized
# through the engine before they ramp up, and recorded when they stop.
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
    P=$BATS_TEST_TMPDIR
    M=$BATS_FILE_TMPDIR/model.json
    # 1 MiB into the container's /dev/shm (tmpfs, charged to its memory
    # cgroup) every ~40 ms: ~150 MiB over ~7 s, then exit 3
    GROW='i=0; while [ $i -lt 150 ]; do head -c 1048576 /dev/zero >> /dev/shm/f; i=$((i+1)); sleep 0.04; done; exit 3'
}

fpr() { "$FP_BIN/fp-run" "$@"; }

# grow NAME [docker run options]: start the GROW container NAME; prints its id.
grow() {
    local name=$1
    shift
    docker run -d --network none --shm-size 512m --name "$name" "$@" "$FP_BUSYBOX_IMAGE" sh -c "$GROW"
}

# The model the tests share ($M): knn on two fp-capture --docker runs of
# the GROW container, fingerprinted at 0.5 s as fp-run -w 0.5 does.
train_model() {
    [ -s "$M" ] && return 0
    local k id
    for k in 1 2; do
        id=$(grow "fpr-train$k")
        fpc -i 0.25 -w 0.5 --no-samples --docker "$id" > "$BATS_FILE_TMPDIR/cap$k.jsonl"
        docker rm -f "$id" > /dev/null
    done
    "$FP_BIN/fp-train" -q -M knn --val-frac 0 "$BATS_FILE_TMPDIR/cap1.jsonl" \
        "$BATS_FILE_TMPDIR/cap2.jsonl" -o "$M"
}

# hc_mem CONTAINER: HostConfig.Memory as the engine reports it.
hc_mem() { docker inspect -f '{{.HostConfig.Memory}}' "$1"; }

@test "--docker: the memory limit goes through the engine before the container reaches half its peak" {
    train_model
    cp "$M" "$P/m.json"
    id=$(grow fpr-one)
    run --separate-stderr fpr -i 0.25 -w 0.5 --samples --learn --history "$P/h" -m "$P/m.json" --docker fpr-one
    echo "$stderr"
    # the container's exit code passes through
    [ "$status" -eq 3 ]
    printf '%s\n' "$output" > "$P/r.jsonl"
    jq -c 'select(.type=="allocation") | {t, reason, ok, mem: .limits.mem_max_bytes, changes}' "$P/r.jsonl"
    [ "$(of_type prediction "$P/r.jsonl" | wc -l)" -ge 1 ]
    alloc=$(jq -c 'select(.type=="allocation" and .ok and .dry_run == false and
                          ([.changes[] | select(.knob == "Memory")] | length) == 1)' "$P/r.jsonl" | head -1)
    [ -n "$alloc" ]
    [ "$(jq -r .backend <<<"$alloc")" = docker ]
    [ "$(jq -r .object <<<"$alloc")" = "$id" ]
    # what the engine holds is what the last Memory change wrote, the
    # allocation's hard memory limit
    last=$(jq -c 'select(.type=="allocation" and .ok and .dry_run == false and
                         ([.changes[] | select(.knob == "Memory")] | length) == 1)' "$P/r.jsonl" | tail -1)
    want=$(jq -r '.changes[] | select(.knob == "Memory") | .value' <<<"$last")
    echo "engine: $(hc_mem fpr-one), allocation: $want"
    [ "$(hc_mem fpr-one)" = "$want" ]
    [ "$(jq '.limits.mem_max_bytes | round' <<<"$last")" = "$want" ]
    # in time: the container used less than half its peak when it was limited
    t=$(jq -r .t <<<"$alloc")
    peak=$(jq -s '[.[] | select(.type=="sample") | .mem_bytes // 0] | max' "$P/r.jsonl")
    at=$(jq -s --argjson t "$t" '[.[] | select(.type=="sample" and .t <= $t + 1e-6) | .mem_bytes // 0] | last' "$P/r.jsonl")
    echo "limited at t=$t s, memory then $at, peak $peak"
    between "$peak" 120000000 260000000 "the container's peak"
    awk -v a="$at" -v p="$peak" 'BEGIN { exit !(a < p / 2) }'
    # the end: the actual with the engine's exit code, the error scored
    # against it, both about this container
    act=$(of_type actual "$P/r.jsonl")
    [ "$(jq -r .exit_code <<<"$act")" = 3 ]
    [ "$(jq -r .target.container <<<"$act")" = "$id" ]
    [ "$(jq -r .id <<<"$act")" = fpr-one ]
    [ "$(jq -r .meta.image <<<"$act")" = "$FP_BUSYBOX_IMAGE" ]
    [ "$(of_type error "$P/r.jsonl" | jq -r .resources.mem_bytes.failed)" = false ]
    between "$(of_type error "$P/r.jsonl" | jq .resources.mem_bytes.actual)" 120000000 260000000 "scored peak"
    # one history append: fingerprint, actual, error of this container
    [ "$(jq -s '[.[] | .type] | sort | join(",")' "$P/h/history.jsonl")" = '"actual,error,fingerprint"' ]
    [ "$(jq -r .target.container "$P/h/history.jsonl" | sort -u)" = "$id" ]
    # --learn saved a changed, whole model
    ! cmp -s "$P/m.json" "$M"
    jq . "$P/m.json" > /dev/null
    docker rm -f fpr-one > /dev/null
}

@test "--docker: a container that outgrows its prediction 3x is raised in time, not OOM-killed" {
    train_model
    # the trained shape (~150 MiB), three times over: 450 MiB of tmpfs,
    # which no reclaim can take back: over its limit it would be killed
    big='i=0; while [ $i -lt 450 ]; do head -c 1048576 /dev/zero >> /dev/shm/f; i=$((i+1)); sleep 0.02; done; exit 3'
    id=$(docker run -d --network none --shm-size 600m --name fpr-big "$FP_BUSYBOX_IMAGE" sh -c "$big")
    run --separate-stderr fpr -i 0.25 -w 0.5 --no-history -m "$M" --docker fpr-big
    echo "$stderr"
    printf '%s\n' "$output" > "$P/r.jsonl"
    jq -c 'select(.type=="allocation") | {t, reason, ok, mem: .limits.mem_max_bytes}' "$P/r.jsonl"
    [ "$status" -eq 3 ]
    [ "$(docker inspect -f '{{.State.OOMKilled}}' fpr-big)" = false ]
    # the first limit was below the peak: it was raised through the engine
    first=$(jq -s '[.[] | select(.type=="allocation" and .ok and (.limits.mem_max_bytes | type) == "number")][0].limits.mem_max_bytes' "$P/r.jsonl")
    peak=$(of_type actual "$P/r.jsonl" | jq .mem_bytes_peak)
    echo "first hard limit $first, peak $peak"
    awk -v f="$first" -v p="$peak" 'BEGIN { exit !(f < p) }'
    [ "$(jq -s '[.[] | select(.type=="allocation" and .ok and (.reason == "pressure" or .reason == "growth"))] | length' "$P/r.jsonl")" -ge 1 ]
    [ "$(of_type actual "$P/r.jsonl" | jq .oom_kills)" = 0 ]
    [ "$(of_type error "$P/r.jsonl" | jq .harmed)" = false ]
    # the engine holds the last limit written, above the peak
    awk -v m="$(hc_mem fpr-big)" -v p="$peak" 'BEGIN { exit !(m > p) }'
    docker rm -f fpr-big > /dev/null
}

@test "--watch-docker sizes every container that starts after it; TERM ends it with 0" {
    train_model
    "$FP_BIN/fp-run" -i 0.25 -w 0.5 --history "$P/h" -m "$M" --watch-docker --filter label=fpr.watch \
        > "$P/w.jsonl" 2> "$P/w.err" &
    fp=$!
    sleep 2
    a=$(grow fpr-wa --label fpr.watch=1)
    b=$(grow fpr-wb --label fpr.watch=2)
    # left out by --filter
    c=$(docker run -d --network none --name fpr-wc "$FP_BUSYBOX_IMAGE" sleep 600)
    # still running when fp-run is stopped
    d=$(docker run -d --network none --label fpr.watch=3 --name fpr-wd "$FP_BUSYBOX_IMAGE" sleep 600)
    docker wait fpr-wa fpr-wb > /dev/null
    for ((i = 0; i < 60; i++)); do
        [ "$(of_type actual "$P/w.jsonl" | wc -l)" -ge 2 ] && break
        sleep 0.25
    done
    kill -TERM "$fp"
    status=0
    wait "$fp" || status=$?
    cat "$P/w.err"
    jq -c 'select(.type != "fingerprint") | {type, id, t, reason, ok, mem: .limits.mem_max_bytes, exit_code}' "$P/w.jsonl"
    [ "$status" -eq 0 ]
    for n in fpr-wa fpr-wb; do
        allocs=$(jq -c --arg n "$n" 'select(.type=="allocation" and .id == $n and .ok and .dry_run == false and
                        ([.changes[] | select(.knob == "Memory")] | length) == 1)' "$P/w.jsonl")
        [ -n "$allocs" ]
        # the engine holds the last limit set; the first was set right after the window
        [ "$(tail -1 <<<"$allocs" | jq -r '.changes[] | select(.knob == "Memory") | .value')" = "$(hc_mem "$n")" ]
        between "$(head -1 <<<"$allocs" | jq .t)" 0.2 3 "$n first limited after"
        act=$(of_type actual "$P/w.jsonl" | jq -c --arg n "$n" 'select(.id == $n)')
        [ "$(jq -r .exit_code <<<"$act")" = 3 ]
        between "$(jq .mem_bytes_peak <<<"$act")" 120000000 260000000 "$n peak"
        [ "$(jq -s --arg n "$n" '[.[] | select(.id == $n) | .type] | sort | join(",")' "$P/h/history.jsonl")" = '"actual,error,fingerprint"' ]
    done
    [ "$(of_type actual "$P/w.jsonl" | jq -r 'select(.id == "fpr-wa") | .target.container')" = "$a" ]
    [ "$(of_type actual "$P/w.jsonl" | jq -r 'select(.id == "fpr-wb") | .target.container')" = "$b" ]
    # the filtered-out container: no record, no limit
    [ "$(jq -s '[.[] | select(.id == "fpr-wc")] | length' "$P/w.jsonl")" = 0 ]
    [ "$(hc_mem fpr-wc)" = 0 ]
    # the one still running: sized, then an actual that says why its exit
    # is unknown, and nothing in the history
    [ "$(hc_mem fpr-wd)" -gt 0 ]
    [ "$(of_type actual "$P/w.jsonl" | jq -r 'select(.id == "fpr-wd") | .missing.exit_code')" = \
        "fp-run stopped before the container exited" ]
    [ "$(jq -s '[.[] | select(.id == "fpr-wd")] | length' "$P/h/history.jsonl")" = 0 ]
    [ "$(docker inspect -f '{{.State.Running}}' fpr-wd)" = true ]
    docker rm -f fpr-wa fpr-wb fpr-wc fpr-wd > /dev/null
}

@test "--docker: TERM stops following, the container keeps running, exit 0" {
    docker run -d --network none --name fpr-long "$FP_BUSYBOX_IMAGE" sleep 600 > /dev/null
    "$FP_BIN/fp-run" -i 0.1 -w 0.2 -m "$P/none.json" --history "$P/h" --docker fpr-long > "$P/l.jsonl" 2> "$P/l.err" &
    fp=$!
    sleep 1.5
    kill -TERM "$fp"
    status=0
    wait "$fp" || status=$?
    cat "$P/l.err"
    [ "$status" -eq 0 ]
    [ "$(jq -s '[.[] | .type] | join(",")' "$P/l.jsonl")" = '"fingerprint,actual"' ]
    [ "$(of_type actual "$P/l.jsonl" | jq -r .missing.exit_code)" = "fp-run stopped before the container exited" ]
    between "$(of_type actual "$P/l.jsonl" | jq .duration_s)" 0.5 5 "followed for"
    [ ! -e "$P/h/history.jsonl" ]
    [ "$(docker inspect -f '{{.State.Running}}' fpr-long)" = true ]
    docker rm -f fpr-long > /dev/null
}

@test "--docker: bad references and mixed modes exit 2, a container that is not there or not running 3, with a message" {
    run --separate-stderr fpr -m "$P/none.json" --no-history --docker fpr-nonexistent
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"no such container: fpr-nonexistent"* ]]
    [ -z "$output" ]
    run --separate-stderr fpr --no-history --docker 'a;b'
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'a;b' is not a valid container id or name"* ]]
    docker create --network none --name fpr-created "$FP_BUSYBOX_IMAGE" true > /dev/null
    run --separate-stderr fpr -m "$P/none.json" --no-history --docker fpr-created
    docker rm -f fpr-created > /dev/null
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"container fpr-created is not running"* ]]
    run --separate-stderr fpr --docker fpr-x -- true
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"give no command"* ]]
    run --separate-stderr fpr --watch-docker -- true
    [ "$status" -eq 2 ]
    run --separate-stderr fpr --docker fpr-x --watch-docker
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"exclude each other"* ]]
    run --separate-stderr fpr --filter label=a -- true
    [ "$status" -eq 2 ]
    run --separate-stderr fpr --watch-docker --filter 'name=('
    [ "$status" -eq 2 ]
    run --separate-stderr fpr --watch-docker --filter image=x
    [ "$status" -eq 2 ]
    run --separate-stderr fpr --watch-docker --id x
    [ "$status" -eq 2 ]
    # no engine at the socket
    run --separate-stderr env FP_DOCKER_SOCK="$P/no.sock" "$FP_BIN/fp-run" -m "$P/none.json" --no-history --docker fpr-x
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"$P/no.sock"* ]]
}
