#!/usr/bin/env bats
# fp-run on real workloads: the limits are in place before the ramp-up ends,
# learning improves the next prediction, the history store survives
# concurrent runs and kill -9, exit statuses pass through. The live tests
# need root (cgroups).
load helpers

setup() {
    need_cmd jq
    P=$BATS_TEST_TMPDIR
    # ~40 MiB/s into tail's buffer for ~5 s: a peak of ~200 MiB
    GROW='for i in $(seq 200); do head -c 1048576 /dev/zero; sleep 0.02; done | tail -c 300M >/dev/null'
    # the same shape, four times slower: ~50 MiB
    SMALL='for i in $(seq 200); do head -c 262144 /dev/zero; sleep 0.02; done | tail -c 300M >/dev/null'
}

fpr() { "$FP_BIN/fp-run" "$@"; }

# train_model MODEL WORKLOAD [fp-train options]: a knn model from two
# fp-capture runs of WORKLOAD, fingerprinted at 0.5 s (TRAIN_W) as fp-run
# -w 0.5 does.
train_model() {
    local m=$1 w=$2 k
    shift 2
    for k in 1 2; do
        fpc -i 0.25 -w "${TRAIN_W:-0.5}" --no-samples -- sh -c "$w" > "$P/cap$k.jsonl"
    done
    "$FP_BIN/fp-train" -q -M knn --val-frac 0 "$@" "$P/cap1.jsonl" "$P/cap2.jsonl" -o "$m"
}

# Remove the cgroups a killed fp-run PID left behind (once its workload ended).
rm_cgroups_of() { # PID
    find /sys/fs/cgroup -maxdepth 8 -depth -type d -name "fp-$1" -exec rmdir {} + 2>/dev/null || true
}

@test "the memory limit is in place before the workload reaches half its peak" {
    need_root
    train_model "$P/m.json" "$GROW"
    run fpr -i 0.25 -w 0.5 --samples --history "$P/h" -m "$P/m.json" -- sh -c "$GROW"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" | grep '^{' > "$P/r.jsonl"
    jq -c 'select(.type=="allocation") | {t, reason, ok, limits: {mem_high_bytes: .limits.mem_high_bytes, mem_max_bytes: .limits.mem_max_bytes}}' "$P/r.jsonl"
    alloc=$(jq -c 'select(.type=="allocation" and .ok and .dry_run == false and (.limits.mem_high_bytes | type) == "number")' "$P/r.jsonl" | head -1)
    [ -n "$alloc" ]
    t=$(jq -r .t <<<"$alloc")
    # the memory knobs were written on the workload's own cgroup
    [ "$(jq '[.changes[] | select(.knob | test("memory"))] | length' <<<"$alloc")" -ge 1 ]
    [ "$(jq -r .object <<<"$alloc")" = "$(jq -r 'select(.type=="actual") | .target.cgroup' "$P/r.jsonl")" ]
    peak=$(jq -s '[.[] | select(.type=="sample") | .mem_bytes // 0] | max' "$P/r.jsonl")
    at=$(jq -s --argjson t "$t" '[.[] | select(.type=="sample" and .t <= $t + 1e-6) | .mem_bytes // 0] | last' "$P/r.jsonl")
    echo "limits at t=$t s, memory then $at, peak $peak"
    between "$peak" 150000000 400000000 "the workload's peak"
    awk -v a="$at" -v p="$peak" 'BEGIN { exit !(a < p / 2) }'
    # the limits held the workload without killing it, and the run was recorded
    [ "$(jq -r 'select(.type=="actual") | .exit_code' "$P/r.jsonl")" = 0 ]
    [ "$(jq -r 'select(.type=="error") | .resources.mem_bytes.failed' "$P/r.jsonl")" = false ]
    [ "$(jq -s '[.[] | .type] | sort | join(",")' "$P/h/history.jsonl")" = '"actual,error,fingerprint"' ]
}

@test "--learn: the second run of a workload is predicted better than the first" {
    need_root
    # a model that knows only a workload four times smaller, one neighbour;
    # fingerprints of 1 s (4 samples), so that the two shapes stay apart
    # even on a busy machine
    TRAIN_W=1 train_model "$P/m.json" "$SMALL" --k 1
    cp "$P/m.json" "$P/m0.json"
    # --dry-run: the small prediction must not OOM-kill the first run
    for k in 1 2; do
        run fpr -i 0.25 -w 1 --every 0 -n --learn --history "$P/h" -m "$P/m.json" -- sh -c "$GROW"
        [ "$status" -eq 0 ]
        printf '%s\n' "$output" | grep '^{' > "$P/r$k.jsonl"
        [ "$k" = 2 ] || ! cmp -s "$P/m.json" "$P/m0.json"     # the model file changed
    done
    jq '.' "$P/m.json" > /dev/null                             # and is still a whole model
    e1=$(jq -r 'select(.type=="error") | .resources.mem_bytes.pinball.p50' "$P/r1.jsonl")
    e2=$(jq -r 'select(.type=="error") | .resources.mem_bytes.pinball.p50' "$P/r2.jsonl")
    echo "p50 pinball loss of memory: first run $e1, second run $e2"
    awk -v a="$e1" -v b="$e2" 'BEGIN { exit !(b < a / 2) }'
    # both runs are in the history
    [ "$(jq -s '[.[] | select(.type=="actual")] | length' "$P/h/history.jsonl")" = 2 ]
    [ "$(jq -s '[.[] | select(.type=="error")] | length' "$P/h/history.jsonl")" = 2 ]
}

# A python program: 30 MiB at once, then after 2 s N MiB more (N read from
# the file $P/size, so that the command line, and with it the identity key
# of the model's prior, stays the same when N changes); 2 s more.
PYGROW='import sys, time
a = b"x" * (30 << 20); time.sleep(2)
b = b"y" * (int(open(sys.argv[1]).read()) << 20); time.sleep(2)'

# mem_high_bytes of the first allocation with limits, the first prediction's
# prior, and the actual's memory peak of run records FILE
first_high() { jq -r 'select(.type=="allocation" and .ok and (.limits.mem_high_bytes | type) == "number") | .limits.mem_high_bytes' "$1" | head -1; }
peak_of() { jq -r 'select(.type=="actual") | .mem_bytes_peak' "$1"; }

@test "--learn twice on the same command: the second run's first memory limit is within 30% of its peak (the prior)" {
    need_root
    need_cmd python3
    # a model that knows only a small workload: from its fingerprint alone
    # the python program's growth after the window is unforeseeable
    TRAIN_W=1 train_model "$P/m.json" "$SMALL" --k 1
    [ "$(jq -r '.prior.key' "$P/m.json")" = auto ]
    echo 200 > "$P/size"
    run fpr -i 0.25 -w 1 --every 0 -n --learn --no-history -m "$P/m.json" -- python3 -c "$PYGROW" "$P/size"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" | grep '^{' > "$P/r1.jsonl"
    # the first run: no history of this command, the model alone, far below
    [ "$(jq -r 'select(.type=="prediction") | .prior' "$P/r1.jsonl" | head -1)" = null ]
    h1=$(first_high "$P/r1.jsonl") p1=$(peak_of "$P/r1.jsonl")
    echo "first run: first memory.high $h1, peak $p1"
    awk -v h="$h1" -v p="$p1" 'BEGIN { exit !(h < 0.7 * p) }'
    # learned: the command's key holds its peak
    jq -e --arg k "cmd=python3 -c $PYGROW $P/size" '.prior.keys[] | select(.key == $k) | .n.mem_bytes == 1' "$P/m.json"
    run fpr -i 0.25 -w 1 --every 0 --learn --no-history -m "$P/m.json" -- python3 -c "$PYGROW" "$P/size"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" | grep '^{' > "$P/r2.jsonl"
    jq -c 'select(.type=="prediction") | {prior, mem: .quantiles.mem_bytes}' "$P/r2.jsonl"
    [ "$(jq -r 'select(.type=="prediction") | .prior.n' "$P/r2.jsonl" | head -1)" = 1 ]
    h2=$(first_high "$P/r2.jsonl") p2=$(peak_of "$P/r2.jsonl")
    echo "second run: first memory.high $h2, peak $p2"
    between "$p2" 200000000 400000000 "the second run's peak"
    # within 30% of the peak, and not below it: the run was not harmed
    awk -v h="$h2" -v p="$p2" 'BEGIN { exit !(h >= p && h <= 1.3 * p) }'
    [ "$(jq -r 'select(.type=="actual") | .oom_kills' "$P/r2.jsonl")" = 0 ]
    [ "$(jq -r 'select(.type=="error") | .resources.mem_bytes.failed' "$P/r2.jsonl")" = false ]
    jq -e --arg k "cmd=python3 -c $PYGROW $P/size" '.prior.keys[] | select(.key == $k) | .n.mem_bytes == 2' "$P/m.json"
}

@test "--learn: a run killed under fp's memory limit does not lower the prior of its command" {
    need_root
    need_cmd python3
    TRAIN_W=1 train_model "$P/m.json" "$SMALL" --k 1
    key="cmd=python3 -c $PYGROW $P/size"
    echo 300 > "$P/size"
    run fpr -i 0.25 -w 1 --every 0 -n --learn --no-history -m "$P/m.json" -- python3 -c "$PYGROW" "$P/size"
    [ "$status" -eq 0 ]
    before=$(jq -c --arg k "$key" '.prior.keys[] | select(.key == $k) | {n: .n.mem_bytes, peaks: .peaks.mem_bytes}' "$P/m.json")
    echo "prior before: $before"
    [ "$(jq .n <<<"$before")" = 1 ]
    # the same command grows to 630 MiB under a 200 MiB ceiling, the OOM
    # killer free to act: killed near 200 MiB, well below the known ~330
    echo 600 > "$P/size"
    echo '{"resources": {"mem_bytes": {"ceiling": 209715200}}}' > "$P/pol.json"
    run fpr -i 0.25 -w 1 --every 0 --no-oom-pause -P "$P/pol.json" --learn --no-history -m "$P/m.json" -- python3 -c "$PYGROW" "$P/size"
    printf '%s\n' "$output" | grep '^{' > "$P/r2.jsonl" || true
    printf '%s\n' "$output" | grep -v '^{' || true
    kills=$(jq -r 'select(.type=="actual") | .oom_kills' "$P/r2.jsonl")
    [ "$kills" != null ] && [ "$kills" -ge 1 ] || skip "the kernel did not OOM-kill the run (oom_kills $kills, status $status)"
    [[ "$output" == *"memory not learned"* ]]
    after=$(jq -c --arg k "$key" '.prior.keys[] | select(.key == $k) | {n: .n.mem_bytes, peaks: .peaks.mem_bytes}' "$P/m.json")
    echo "prior after: $after (killed at $(peak_of "$P/r2.jsonl"))"
    [ "$after" = "$before" ]
    # CPU was learned from the same run: the key did see it
    jq -e --arg k "$key" '.prior.keys[] | select(.key == $k) | .n.cpu_cores == 2' "$P/m.json"
}

@test "--learn on a model replaced during the run (fp-retrain) updates the new model, not the old" {
    need_root
    train_model "$P/m.json" "$SMALL" --k 1
    jq '.provenance.name = "replaced"' "$P/m.json" > "$P/b.json"
    [ "$(jq .params.count "$P/m.json")" = 2 ]
    fpr -i 0.25 -w 0.5 --every 0 -n --learn --no-history -m "$P/m.json" -- sleep 3 > "$P/r.jsonl" 2> "$P/r.err" &
    pid=$!
    sleep 1.5
    mv "$P/b.json" "$P/m.json"          # as fp-retrain installs: rename over it
    wait "$pid"
    cat "$P/r.err"
    # the run's example went on top of the replacing model
    [ "$(jq -r .provenance.name "$P/m.json")" = replaced ]
    [ "$(jq .params.count "$P/m.json")" = 3 ]
    [ -f "$P/m.json.lock" ]
}

@test "a CPU-bound workload predicted idle gets no CPU quota below what it uses" {
    need_root
    need_cmd stress-ng
    # a model that knows only idle workloads: it predicts little CPU (the
    # start-up of `sh -c "sleep 1"` in a 0.25 s sample: ~0.35 cores here)
    train_model "$P/m.json" "sleep 1"
    fpr -i 0.25 -w 1 --every 0 --samples --no-history -m "$P/m.json" -- stress-ng --cpu 1 --timeout 3s --quiet > "$P/r.jsonl"
    alloc=$(jq -c 'select(.type=="allocation")' "$P/r.jsonl" | head -1)
    pq=$(jq -s '[.[] | select(.type=="prediction")][0].quantiles.cpu_cores.p90 * 1.2' "$P/r.jsonl")
    q=$(jq .limits.cpu_max_cores <<<"$alloc")
    # what the burner got in the same run, over the window's samples (a
    # shared machine gives it less than a core)
    used=$(jq -s --argjson t "$(jq .t <<<"$alloc")" \
        '[.[] | select(.type=="sample" and .t <= $t and .cpu_cores != null) | .cpu_cores] | .[1:] | add / length' "$P/r.jsonl")
    echo "$alloc" | jq -c '{t, q: .limits.cpu_max_cores, why: .why.cpu_cores}'
    echo "quota $q, prediction's p90 x 1.2 $pq, mean CPU in the window $used"
    # never a quota that would cut what it uses: at least half its mean
    # (the policy's demand is the CPU between two looks, x 1.25)
    between "$q" "$(awk -v u="$used" 'BEGIN { print u * 0.5 }')" 2.5 "quota against the CPU the burner used"
    # where the prediction alone would have cut it, the demand floor is why
    if awk -v u="$used" -v p="$pq" 'BEGIN { exit !(u * 1.25 > p * 1.3) }'; then
        [[ "$(jq -r .why.cpu_cores <<<"$alloc")" == *"demand + margin"* ]]
        between "$q" "$(awk -v u="$used" 'BEGIN { print u * 0.9 }')" 2.5 "quota at least the demand"
    fi
}

@test "the history survives concurrent runs and kill -9 of a run" {
    need_root
    local pids=() victims=() i
    fpr -i 0.05 -w 0.1 --id c1 -m "$P/none.json" --history "$P/h" -- sh -c 'sleep 1' > /dev/null 2>&1 &
    pids+=($!)
    fpr -i 0.05 -w 0.1 --id c2 -m "$P/none.json" --history "$P/h" -- sh -c 'sleep 1' > /dev/null 2>&1 &
    pids+=($!)
    # runs killed at different moments, some while they append
    for i in 1 2 3 4 5 6; do
        fpr -i 0.02 -w 0.02 --id "k$i" -m "$P/none.json" --history "$P/h" -- sh -c 'sleep 0.1' > /dev/null 2>&1 &
        victims+=($!)
    done
    sleep 0.05
    for i in 0 1 2 3 4 5; do
        kill -9 "${victims[$i]}" 2>/dev/null || true
        sleep 0.03
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in "${victims[@]}"; do wait "$i" || true; done
    sleep 0.3
    for i in "${victims[@]}"; do rm_cgroups_of "$i"; done
    # one more run appends after them
    fpr -i 0.05 -w 0.1 --id c3 -m "$P/none.json" --history "$P/h" -- true 2>/dev/null > /dev/null
    # every line is a whole record
    while IFS= read -r line; do
        jq -e '.schema == 1' <<<"$line" > /dev/null || { echo "torn: $line" | cut -c1-200; false; }
    done < "$P/h/history.jsonl"
    for id in c1 c2 c3; do
        [ "$(jq -s --arg id "$id" '[.[] | select(.id == $id) | .type] | sort | join(",")' "$P/h/history.jsonl")" = '"actual,fingerprint"' ]
    done
}

@test "without a model: one warning, no limits, the run is still recorded" {
    need_root
    run --separate-stderr fpr -i 0.1 -w 0.1 -m "$P/none.json" --history "$P/h" -- sh -c 'sleep 0.5'
    [ "$status" -eq 0 ]
    [ "$(grep -c 'no model' <<<"$stderr")" = 1 ]
    [ "$(jq -s '[.[] | .type] | join(",")' <<<"$output")" = '"fingerprint,actual"' ]
    [ "$(jq -s '[.[] | .type] | join(",")' "$P/h/history.jsonl")" = '"fingerprint,actual"' ]
}

@test "the command's standard output goes to standard error, never into the records (--cmd-stdout FILE|-)" {
    run --separate-stderr fpr -n -i 0.1 -w 0.1 --no-history -m "$P/none.json" -- echo hi-from-the-command
    [ "$status" -eq 0 ]
    jq -e . <<<"$output" > /dev/null
    (! grep -qx hi-from-the-command <<<"$output")
    [[ "$stderr" == *hi-from-the-command* ]]
    run --separate-stderr fpr -n -i 0.1 -w 0.1 --no-history -m "$P/none.json" --cmd-stdout "$P/o" -- echo to-the-file
    [ "$status" -eq 0 ]
    [ "$(cat "$P/o")" = to-the-file ]
    run --separate-stderr fpr -n -i 0.1 -w 0.1 --no-history -m "$P/none.json" --cmd-stdout - -- echo shared
    [ "$status" -eq 0 ]
    grep -qx shared <<<"$output"
    run --separate-stderr fpr --cmd-stdout x --docker web
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--cmd-stdout applies to a command"* ]]
}

@test "the records' reader going away (| head -1) ends the workload (SIGTERM) and fp-run, its cgroup removed" {
    local t0 t
    t0=$(date +%s.%N)
    timeout 30 bash -c "'$FP_BIN/fp-run' -n --no-history -m '$P/none.json' -i 0.2 -w 0 -- sh -c 'echo \$\$ > \"$P/wl\"; exec sleep 100' &
        echo \$! > '$P/pid'; wait \$!; echo \"status \$?\" >&2" 2> "$P/err" | head -1 > "$P/first"
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    cat "$P/err"
    between "$t" 0 15 "seconds to end after head -1"
    [ "$(jq -r .type "$P/first")" = fingerprint ]
    grep -q 'status 143' "$P/err"
    run kill -0 "$(cat "$P/wl")"
    [ "$status" -ne 0 ]
    no_fp_cgroups_left "$(cat "$P/pid")"
    # idle: no record due for a minute, the closed pipe is seen all the same
    t0=$(date +%s.%N)
    timeout 30 bash -c "'$FP_BIN/fp-run' -n --no-history -m '$P/none.json' -i 60 -- sleep 100" | (sleep 0.5; exit 0)
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    between "$t" 0 15 "seconds to end, idle"
}

@test "usage errors (a bad policy included) exit 2, a bad model 3 (fp(7)'s one table)" {
    run fpr
    [ "$status" -eq 2 ]
    run fpr --no-such-option -- true
    [ "$status" -eq 2 ]
    run fpr -i nope -- true
    [ "$status" -eq 2 ]
    run fpr -w -1 -- true
    [ "$status" -eq 2 ]
    run fpr --history "$P/h" --no-history -- true
    [ "$status" -eq 2 ]
    printf '{"no_such_key":1}\n' > "$P/bad.json"
    run fpr -P "$P/bad.json" -- true
    [ "$status" -eq 2 ]
    echo 'not json' > "$P/badmodel.json"
    run fpr -m "$P/badmodel.json" --no-history -- true
    [ "$status" -eq 3 ]
    run fpr --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fp-run"* ]]
}

@test "a full standard output: the workload still runs to its end, exit 2 with the reason" {
    need_root
    run --separate-stderr bash -c "'$FP_BIN/fp-run' -i 0.1 -w 0.2 --no-history -- sh -c 'sleep 0.4; touch \"$P/ran\"' > /dev/full"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"fp-run: standard output: "*"No space left on device"* ]]
    [ -e "$P/ran" ]
}

# v2_session DIR: a cgroup v2 tree (fixture) in which fp-run's own cgroup,
# /user.slice/session-1.scope, holds other processes, as a login session on
# a systemd host does; exports FP_PROC_ROOT and FP_CGROUP_ROOT.
v2_session() {
    local d=$1 s=$1/cgroup/user.slice/session-1.scope
    mkdir -p "$d/proc/self" "$s"
    cp "$FP_FIXTURES/proc-v2/self/mountinfo" "$d/proc/self/mountinfo"
    printf '0::/user.slice/session-1.scope\n' > "$d/proc/self/cgroup"
    printf 'cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nintr 0\n' > "$d/proc/stat"
    printf 'MemTotal:        4194304 kB\nMemFree:         2097152 kB\n' > "$d/proc/meminfo"
    printf 'cpuset cpu io memory pids\n' > "$d/cgroup/cgroup.controllers"
    printf 'cpu io memory pids\n' > "$s/cgroup.controllers"
    printf '1200\n1201\n' > "$s/cgroup.procs"
    : > "$s/cgroup.subtree_control"
    printf 'max 100000\n' > "$s/cpu.max"
    printf 'max\n' > "$s/memory.max"
    printf 'max\n' > "$s/memory.high"
    export FP_PROC_ROOT="$d/proc" FP_CGROUP_ROOT="$d/cgroup"
}

@test "cgroup v2, fp-run's cgroup holds other processes: the workload is not run, nothing is limited, exit 2" {
    v2_session "$P/t"
    S=$P/t/cgroup/user.slice/session-1.scope
    before=$(cd "$S" && for f in *; do echo "$f=$(cat "$f")"; done)
    run --separate-stderr fpr -i 0.1 -w 0.2 --no-history -m "$FP_TOP_SRCDIR/share/fp/default-model.json" -- sh -c "touch '$P/ran'"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"the workload cannot have a cgroup of its own, and fp-run puts limits nowhere else: not running sh (-n/--dry-run runs it without limits)"* ]]
    [[ "$stderr" == *"under /user.slice/session-1.scope: that cgroup holds processes (pid 1200 among them)"* ]]
    [[ "$stderr" == *"--cgroup-parent"*"systemd-run --scope -p Delegate=yes"* ]]
    [ -z "$output" ]
    sleep 0.2
    [ ! -e "$P/ran" ]
    # the session's cgroup is byte for byte as it was, and has no child
    [ "$(cd "$S" && for f in *; do echo "$f=$(cat "$f")"; done)" = "$before" ]
    [ -z "$(find "$S" -mindepth 1 -type d)" ]
}

@test "cgroup v2, no cgroup of its own, --dry-run: the workload runs, no allocation says ok" {
    v2_session "$P/t"
    S=$P/t/cgroup/user.slice/session-1.scope
    before=$(cd "$S" && for f in *; do echo "$f=$(cat "$f")"; done)
    run --separate-stderr fpr -n -i 0.1 -w 0.2 --every 0.3 --no-history -m "$FP_TOP_SRCDIR/share/fp/default-model.json" -- sh -c "sleep 1; touch '$P/ran'"
    [ "$status" -eq 0 ]
    [ -e "$P/ran" ]
    [[ "$stderr" == *"warning: no cgroup for the workload (cgroup v2 allows no limitable cgroup of its own here): it will not be limited: "*"pid 1200 among them"* ]]
    [ "$(of_type allocation <<<"$output" | jq -s 'length > 0 and all(.ok == false and (.error | length) > 0)')" = true ]
    [ "$(of_type allocation <<<"$output" | jq -c 'select(.ok == true)')" = "" ]
    [ "$(cd "$S" && for f in *; do echo "$f=$(cat "$f")"; done)" = "$before" ]
}

@test "the workload's exit status passes through" {
    run fpr -m "$P/none.json" --no-history -- sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run fpr -m "$P/none.json" --no-history -- sh -c 'kill -TERM $$'
    [ "$status" -eq 143 ]
    run -127 fpr -m "$P/none.json" --no-history -- /nonexistent/command
    [ "$status" -eq 127 ]
    run -126 fpr -m "$P/none.json" --no-history -- "$P"
    [ "$status" -eq 126 ]
}

@test "--cgroup-driver: a bad name, systemd with --cgroup-parent: usage errors (exit 2), nothing run" {
    run --separate-stderr fpr --cgroup-driver bogus -- touch "$P/ran"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'bogus' is not systemd, cgroupfs or auto"* ]]
    run --separate-stderr fpr --cgroup-driver systemd --cgroup-parent /x -- touch "$P/ran"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"exclude each other"* ]]
    [ ! -e "$P/ran" ]
}

@test "--cgroup-driver systemd on a host that is not pure cgroup v2 with systemd: exit 2, nothing run, why" {
    need_root
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && [ -d /run/systemd/system ]; then
        skip "this host is pure cgroup v2 with systemd (tests/vm/fp-v2.bats covers it)"
    fi
    run --separate-stderr fpr --cgroup-driver systemd -m "$FP_TOP_SRCDIR/share/fp/default-model.json" \
        --no-history -- touch "$P/ran"
    echo "$stderr"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"the systemd cgroup driver needs"* ]]
    [ ! -e "$P/ran" ]
}

@test "--unit: usage errors (exit 2), and on a host without systemd a clear refusal" {
    run --separate-stderr fpr --unit 'a;b.service'
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'a;b.service' is not a unit name"* ]]
    run --separate-stderr fpr --unit x.service -- touch "$P/ran"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"give no command"* ]]
    run --separate-stderr fpr --unit x.service --docker y
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"exclude each other"* ]]
    [ ! -e "$P/ran" ]
    if [ -d /run/systemd/system ]; then
        skip "this host runs systemd (tests/vm/fp-v2.bats covers --unit there)"
    fi
    run --separate-stderr fpr -m "$FP_TOP_SRCDIR/share/fp/default-model.json" --no-history --unit x.service
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"needs systemd as PID 1"* ]]
    [ -z "$output" ]
}

@test "--cgroup-driver auto on this host: the workload's own cgroup as before (cgroupfs)" {
    need_root
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        skip "pure cgroup v2: auto may choose systemd (tests/vm/fp-v2.bats covers it)"
    fi
    run --separate-stderr fpr --cgroup-driver auto -m "$FP_TOP_SRCDIR/share/fp/default-model.json" \
        --no-history -- sleep 2.5
    [ "$status" -eq 0 ]
    obj=$(jq -r 'select(.type=="allocation" and .ok) | .object' <<<"$output" | head -1)
    echo "object: $obj"
    [[ "$obj" == */fp-[0-9]* ]]
    [[ "$obj" != */fp-run-*.scope/* ]]
}

# the cgroups a test made by hand, removed whatever its outcome
teardown() {
    local d
    [ -n "${SWEEP_LEFT:-}" ] || return 0
    sleep 0.2                       # a process killed in one leaves it first
    for d in $SWEEP_LEFT; do [ ! -d "$d" ] || rmdir "$d" 2>/dev/null || true; done
}

# own_cg_dirs: this shell's cgroup directory in each v1 controller fp-run
# makes its workload's cgroup in (cpu, memory, pids), and the v2 one
own_cg_dirs() {
    local n ctl path
    while IFS=: read -r n ctl path; do
        case $ctl in
            cpu|memory|pids) [ -d "/sys/fs/cgroup/$ctl$path" ] && echo "/sys/fs/cgroup/$ctl$path" ;;
            '') [ -f /sys/fs/cgroup/cgroup.controllers ] && echo "/sys/fs/cgroup$path" ;;
        esac
    done < /proc/self/cgroup
}

@test "empty fp-PID cgroups left by a process that is gone are swept at the next start, with a note (issue 14)" {
    need_root
    local d dead busy sleeper alive=$$
    sh -c 'exit 0' & dead=$!
    wait "$dead"
    sh -c 'exit 0' & busy=$!
    wait "$busy"
    [ -n "$(own_cg_dirs)" ] || fp_require "a cgroup directory of this shell to make cgroups in"
    for d in $(own_cg_dirs); do
        mkdir "$d/fp-$dead" "$d/fp-$busy" "$d/fp-$alive" "$d/fp-x$dead"
        SWEEP_LEFT+=" $d/fp-$dead $d/fp-$busy $d/fp-$alive $d/fp-x$dead"
    done
    # one of them still holds a process: it is not empty, it stays
    sleep 30 & sleeper=$!
    d=$(own_cg_dirs | head -1)
    echo "$sleeper" > "$d/fp-$busy/cgroup.procs"
    run --separate-stderr fpr --no-history -n -- true
    kill "$sleeper"
    [ "$status" -eq 0 ]
    # (other leftovers of this machine may be swept with it: at least 1)
    [[ "$stderr" =~ "fp-run: note: removed "[0-9]+" empty cgroup"s?" left behind by fp processes that are gone (/" ]]
    for d in $(own_cg_dirs); do
        [ ! -e "$d/fp-$dead" ]
        [ -d "$d/fp-$alive" ]            # its process lives
        [ -d "$d/fp-x$dead" ]            # not an fp-PID name
    done
    [ -d "$(own_cg_dirs | head -1)/fp-$busy" ]
}

@test "a history store that cannot take the run: a warning, the workload's exit status kept (issue 14)" {
    : > "$P/notadir"
    run --separate-stderr fpr -n -m "$P/none.json" --history "$P/notadir" -- true
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"fp-run: history: "*"notadir"* ]]
    [[ "$stderr" == *"warning: this run was not added to the history store"* ]]
    run --separate-stderr fpr -n -m "$P/none.json" --history "$P/notadir" -- sh -c 'exit 3'
    [ "$status" -eq 3 ]
    [[ "$stderr" == *"warning: this run was not added"* ]]
}

@test "a human summary: on a terminal's stderr by default, records on stdout unchanged; quiet in a pipe; --summary, --no-summary (issue 15)" {
    need_root
    need_cmd script util-linux
    local M=$FP_TOP_SRCDIR/share/fp/default-model.json
    # stderr a terminal (script's pty), stdout a file: the summary on the terminal
    script -qec "'$FP_BIN/fp-run' -n --no-history -i 0.1 -w 0.3 -m '$M' -- sleep 0.6 > '$P/out.jsonl'" /dev/null > "$P/tty"
    cat "$P/tty"
    grep -q 'fp-run summary: sleep-' "$P/tty"
    grep -q 'ended: exit status 0 after' "$P/tty"
    grep -Eq 'predicted at [0-9.]+ (s|ms) by knn:default-model' "$P/tty"
    grep -Eq '^ +memory +p50 [0-9.]+ ([KMG]i)?B, p90 [0-9.]+ ([KMG]i)?B, p99 [0-9.]+ ([KMG]i)?B' "$P/tty"
    grep -Eq 'limits at .*reason: prediction \(dry run: planned, not set\)' "$P/tty"
    grep -Eq '^ +memory +high [0-9.]+ ([KMG]i)?B, max [0-9.]+ ([KMG]i)?B \(p99 x 1.15' "$P/tty"
    grep -Eq '^  used' "$P/tty"
    grep -Eq '^ +memory +peak [0-9.]+ ([KMG]i)?B, mean .*, no OOM kill' "$P/tty"
    # sleep uses nothing of what the model gives it: over-provisioned, not harmed
    grep -Eq '^  verdict: over-provisioned, not harmed' "$P/tty"
    grep -Eq '^ +memory +over: .* of [0-9.]+ ([KMG]i)?B allocated, slack [0-9]+ %' "$P/tty"
    # the records are the records: JSON only
    jq -e . "$P/out.jsonl" > /dev/null
    (! grep -q summary "$P/out.jsonl")
    # --no-summary on a terminal: nothing
    script -qec "'$FP_BIN/fp-run' --no-summary -n --no-history -i 0.1 -w 0.3 -m '$M' -- true > /dev/null" /dev/null > "$P/tty2"
    (! grep -q 'summary' "$P/tty2")
    # stderr a pipe (cron, scripts): no summary unless asked
    run --separate-stderr fpr -n --no-history -i 0.1 -w 0.3 -m "$M" -- sleep 0.4
    [ "$status" -eq 0 ]
    [[ "$stderr" != *summary* ]]
    run --separate-stderr fpr -s -n --no-history -i 0.1 -w 0.3 -m "$M" -- sleep 0.4
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"fp-run summary: sleep-"* ]]
    [[ "$stderr" == *"verdict: "* ]]
    jq -e . <<<"$output" > /dev/null
    # without a model: what was not done is said
    run --separate-stderr fpr --summary -n --no-history -i 0.1 -w 0.1 -m "$P/none.json" -- true
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"predicted: nothing (no prediction was made)"* ]]
}

@test "--meta: the workload's metadata; its request caps the prediction and, the generous way, is a novel workload's first limit" {
    need_root
    need_cmd stress-ng
    run fpr --meta foo -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"'foo' is not KEY=VALUE"* ]]
    run fpr --meta cmd=x -- true
    [ "$status" -eq 2 ]
    [[ "$output" == *"'cmd' is set by the tool itself"* ]]
    echo '{"novel_mem_frac":0.25}' > "$P/gen.json"
    fpr -P "$P/gen.json" --meta req_mem_bytes=300e6 --meta team=ml -m "$FP_TOP_SRCDIR/share/fp/default-model.json" \
        --no-history -- stress-ng --vm 1 --vm-bytes 50M --timeout 3s --quiet > "$P/r.jsonl"
    jq -e -s 'map(select(.type=="fingerprint"))[0] | .meta.team == "ml" and .meta.req_mem_bytes == 300e6' "$P/r.jsonl"
    pred=$(jq -c 'select(.type=="prediction")' "$P/r.jsonl" | head -n 1)
    echo "$pred" | jq -c '{novelty, capped_by, mem: .quantiles.mem_bytes}'
    # the shipped model does not know stress-ng --vm 50M: novel, its p99 far above 300 MB
    jq -e '.novelty > 3 and .capped_by.mem_bytes == "meta.req_mem_bytes" and .quantiles.mem_bytes.p99 == 300e6' <<<"$pred"
    al=$(jq -c 'select(.type=="allocation" and .ok)' "$P/r.jsonl" | head -n 1)
    echo "$al" | jq -c '{mem_high: .limits.mem_high_bytes, why: .why.mem_bytes}'
    # the request x 1.15 (rounded up to 1 MiB), not a quarter of the machine
    near "$(jq .limits.mem_high_bytes <<<"$al")" 345e6 2e6 "first memory.high"
}
