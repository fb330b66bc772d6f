#!/usr/bin/env bats
# fp-profile: the readline mode driven through a real pseudo-terminal
# (util-linux script(1): completion, the history file and its recall, ^C,
# end of input), and the line-oriented mode scripts use (a real workload's
# fingerprint and prediction, the history store fp-run writes, errors).
load helpers

setup() {
    need_cmd jq
    need_cmd script util-linux
    need_cmd stress-ng
    P=$BATS_TEST_TMPDIR
    MODEL=$FP_TOP_SRCDIR/share/fp/default-model.json
    # the history file goes here, not into the user's home
    export XDG_STATE_HOME=$P/state
    # and the default history store is not the user's
    export XDG_DATA_HOME=$P/data
    unset FP_MODEL
    # A one-core worker gets about a core on a quiet machine; on a busy one
    # (other jobs: 1-minute load average of 1 or more) its share is smaller,
    # so the lower bounds of CPU checks drop, never to 0 (a unit or scale
    # error still fails).
    CPU_FLOOR=$(awk '{ print ($1 < 1.0) ? 0.75 : 0.15 }' /proc/loadavg)
}

teardown() {
    [ -z "${PTY_PID:-}" ] || kill "$PTY_PID" 2>/dev/null || true
    [ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null || true
}

fpp() { "$FP_BIN/fp-profile" "$@"; }

# ---- the pseudo-terminal driver
# pty_start ARGS...: fp-profile ARGS in a pseudo-terminal; what it writes
# accumulates in $P/tty.out (\r removed by `screen`). Waits for the prompt.
pty_start() {
    rm -f "$P/in" "$P/tty.out"
    mkfifo "$P/in"
    script -e -q -c "$(printf '%q ' "$FP_BIN/fp-profile" "$@")" /dev/null < "$P/in" > "$P/tty.out" 2>&1 &
    PTY_PID=$!
    exec {PTY_FD}> "$P/in"
    PROMPTS=0
    wait_prompt
}
# Wait (30 s at most) until one more prompt than before has appeared.
wait_prompt() {
    local i want=$((PROMPTS + 1))
    for i in $(seq 300); do
        if [ "$(grep -ao 'fp> ' "$P/tty.out" | wc -l)" -ge "$want" ]; then
            PROMPTS=$want
            return 0
        fi
        sleep 0.1
    done
    echo "prompt $want never came; the terminal showed:" >&2
    screen >&2
    return 1
}
# type KEYS: send the keys (printf escapes allowed) and wait for the next prompt.
type_keys() { printf "$1" >&"$PTY_FD"; wait_prompt; }
# End of input (script sends ^D); the status of fp-profile in $PTY_STATUS.
pty_end() {
    exec {PTY_FD}>&-
    PTY_STATUS=0
    wait "$PTY_PID" || PTY_STATUS=$?
    PTY_PID=
}
screen() { tr -d '\r' < "$P/tty.out" | sed 's/\x1b\[?2004[hl]//g'; }

# The value after KEY in the line of the report that starts with LABEL.
field() { # LABEL KEY  (reads the report on stdin)
    awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}

@test "tty: TAB completes a command name and a setting, and the command runs" {
    pty_start --no-history-file -m "$MODEL"
    type_keys 'hel\t\n'
    type_keys 'set win\t 1.5\n'
    type_keys 'set\n'
    pty_end
    screen
    [ "$PTY_STATUS" = 0 ]
    screen | grep -q '^fp> help *$'
    screen | grep -q '^  run CMD \[ARGS\] '             # help's list
    screen | grep -q '^fp> set window  *1.5$'
    screen | grep -q '^window    1.5 s$'
}

@test "tty: run stress-n<TAB> completes from PATH; a fingerprint near 1 core and a prediction with quantiles" {
    pty_start --no-history-file -m "$MODEL" -w 2 --history "$P/none"
    type_keys 'run stress-n\t --cpu 1 --timeout 3 --quiet\n'
    pty_end
    screen
    [ "$PTY_STATUS" = 0 ]
    screen | grep -q '^fp> run stress-ng  *--cpu 1 --timeout 3 --quiet$'
    screen | grep -q '^fingerprint of command stress-ng-'
    screen | grep -q '^prediction (knn:default-model, peak over the workload.s life):$'
    # the window: about one core at its peak (stress-ng ramps up first)
    peak=$(screen | awk '$1 == "cpu" && $3 == "cores" { print $5 }')
    mean=$(screen | awk '$1 == "cpu" && $3 == "cores" { print $2 }')
    between "$peak" "$CPU_FLOOR" 1.3 "cpu peak in the window"
    between "$mean" 0.1 1.3 "cpu mean in the window"
    # the kernel's task clock (perf, another source) agrees, when it is there
    tc=$(screen | awk '$1 == "task" && $2 == "clock" && $4 == "cores" { print $3 }')
    [ -z "$tc" ] || between "$mean" "$(awk -v t="$tc" 'BEGIN { print t - 0.1 }')" "$(awk -v t="$tc" 'BEGIN { print t + 0.1 }')" "cpu mean vs task clock"
    # the prediction: three quantiles, ascending, positive
    line=$(screen | grep '^  cpu_cores  *p50 ')
    p50=$(field cpu_cores p50 <<<"$line"); p90=$(field cpu_cores p90 <<<"$line"); p99=$(field cpu_cores p99 <<<"$line")
    echo "cpu quantiles: $p50 $p90 $p99"
    between "$p50" 0.01 64 p50
    awk -v a="$p50" -v b="$p90" -v c="$p99" 'BEGIN { exit !(a <= b && b <= c) }'
    screen | grep -q '^  mem_bytes  *p50 [0-9.]* [KMG]iB  p90 '
    screen | grep -q '^nearest known workloads: none (the history store is empty)$'
    # followed to its end: about 3 s, exit 0, scored against the prediction
    dur=$(screen | sed -n 's/^this run: \([0-9.]*\) s, exit 0$/\1/p')
    between "$dur" 2.5 4.5 "run duration"
    screen | grep -Eq '^  cpu_cores  *peak [0-9.]+ cores  (within|ABOVE) p'
}

@test "tty: the history file keeps the commands and the next session recalls them (up arrow)" {
    pty_start -m "$MODEL"
    type_keys 'set nearest 7\n'
    type_keys '  set nearest 8\n'                       # a leading blank: not kept
    type_keys 'set nearest 7\n'                         # a repeat: kept once
    pty_end
    [ "$PTY_STATUS" = 0 ]
    f=$XDG_STATE_HOME/fp/profile_history
    cat "$f"
    [ "$(cat "$f")" = "set nearest 7" ]
    pty_start -m "$MODEL"
    type_keys '\e[A\n'
    type_keys 'set\n'
    pty_end
    screen
    [ "$PTY_STATUS" = 0 ]
    screen | grep -q '^fp> set nearest 7$'              # recalled and run
    screen | grep -q '^nearest   7$'
    [ "$(sed -n 2p "$f")" = set ] && [ "$(wc -l < "$f")" = 2 ]   # the recalled line: a repeat
    # --no-history-file: neither read nor written
    pty_start --no-history-file -m "$MODEL"
    type_keys 'set window 3\n'
    pty_end
    [ "$(wc -l < "$f")" = 2 ]
    ! grep -q window "$f"
}

@test "tty: TAB completes a process id after pid (from FP_PROC_ROOT)" {
    # a proc tree with two processes, 4242 and 5151
    mkdir -p "$P/proc/self" "$P/proc/4242" "$P/proc/5151"
    cp "$FP_FIXTURES/proc-v2/self/mountinfo" "$P/proc/self/mountinfo"
    FP_PROC_ROOT=$P/proc pty_start --no-history-file -m "$MODEL" -w 0.3 --history "$P/none"
    type_keys 'pid 4\t\n'
    type_keys 'pid 51\t\n'
    pty_end
    screen
    [ "$PTY_STATUS" = 0 ]
    screen | grep -q '^fp> pid 4242 $'
    screen | grep -q '^fp> pid 5151 $'
    # (they are directories without a process: nothing to sample)
    screen | grep -q '^fp-profile: the process (pid 4242) ended before a sample was taken$'
}

@test "tty: ^C during a run stops the workload and the prompt comes back; ^C at the prompt drops the line" {
    pty_start --no-history-file -m "$MODEL" -w 0.5
    printf 'run sleep 30\n' >&"$PTY_FD"
    for i in $(seq 100); do screen | grep -q '^following ' && break; sleep 0.1; done
    start=$(date +%s)
    type_keys '\003'
    type_keys 'set windo\003'
    type_keys 'set\n'
    pty_end
    screen
    [ "$PTY_STATUS" = 0 ]
    [ $(( $(date +%s) - start )) -lt 10 ]
    screen | grep -q 'this run: [0-9.]* s, killed by signal 2$'   # after the tty's ^C echo
    screen | grep -q '^window    0.5 s$'
}

@test "non-tty: a scripted session, no prompt; a bad command is a message and the session goes on" {
    run --separate-stderr fpp -m "$MODEL" --history "$P/none" <<'EOF'
bogus command
set window x
set colour blue
run /nonexistent/program
pid 999999999
pid abc
json maybe
run 'unclosed
set window 1
set
EOF
    echo "$output"; echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" != *"fp> "* ]]
    [[ "$stderr" == *"unknown command 'bogus' (help lists them)"* ]]
    [[ "$stderr" == *"'x' is not a number of seconds"* ]]
    [[ "$stderr" == *"no setting 'colour'"* ]]
    [[ "$stderr" == *"cannot run /nonexistent/program"* ]]
    [[ "$stderr" == *"pid: no process 999999999"* || "$stderr" == *"pid: '999999999' is not a process id"* ]]
    [[ "$stderr" == *"pid: 'abc' is not a process id"* ]]
    [[ "$stderr" == *"json: say on or off, not 'maybe'"* ]]
    [[ "$stderr" == *"unclosed '"* ]]
    [ "$(grep -c . <<<"$stderr")" = 8 ]
    grep -q '^window    1 s$' <<<"$output"
    # end of input exits 0; so does quit, before what follows it
    run fpp -m "$MODEL" < /dev/null
    [ "$status" -eq 0 ] && [ -z "$output" ]
    run fpp -m "$MODEL" <<<$'quit\nset'
    [ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "bad options at start-up exit 2" {
    run fpp --window x < /dev/null
    [ "$status" -eq 2 ]
    run fpp extra-argument < /dev/null
    [ "$status" -eq 2 ]
    run fpp -m "$P/missing.json" < /dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *missing.json* ]]
    # the default model missing is no error: no prediction, with the reason
    run fpp --no-follow -w 0.3 <<<'run sleep 5'
    [ "$status" -eq 0 ]
    [[ "$output" == *"prediction: none (no model at "* ]]
    [[ "$output" == *"stopped sleep-"*"after the window"* ]]
}

@test "set apply on: the policy's limits go on the cgroup of the started workload" {
    need_root
    run --separate-stderr fpp -m "$MODEL" -w 1 --history "$P/none" <<<$'set apply on\nrun stress-ng --cpu 1 --timeout 2 --quiet'
    echo "$output"; echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    line=$(grep '^limits applied (cgroup-v[12] on /.*/fp-profile-[0-9]*-1): ' <<<"$output")
    echo "$line"
    # a memory limit from the prediction (v1: limit_in_bytes, v2: memory.max), in bytes
    lim=$(grep -Eo 'memory\.(limit_in_bytes|max)=[0-9]+' <<<"$line" | cut -d= -f2)
    between "$lim" 1048576 1e15 "memory limit"
    # without it, nothing is limited
    run --separate-stderr fpp -m "$MODEL" -w 0.5 --history "$P/none" <<<'run sleep 1'
    [ "$status" -eq 0 ]
    [[ "$output" != *"limits applied"* ]]
}

@test "non-tty: json on prints the records, and the workload does not read the commands" {
    run --separate-stderr fpp -m "$MODEL" -w 0.5 --history "$P/none" <<'EOF'
json on
run sh -c 'cat > /dev/null; stress-ng --cpu 1 --timeout 1 --quiet'
set window 2
set
EOF
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" | grep '^{' > "$P/r.jsonl"
    [ "$(jq -sc '[.[].type]' "$P/r.jsonl")" = '["fingerprint","prediction","actual"]' ]
    [ "$(jq -r 'select(.type=="fingerprint") | .meta.cmd[0]' "$P/r.jsonl")" = sh ]
    jq -se 'map(select(.type=="prediction"))[0].quantiles.cpu_cores |
            (.p50 | type) == "number" and .p50 <= .p90 and .p90 <= .p99' "$P/r.jsonl"
    jq -se 'map(select(.type=="actual"))[0].exit_code == 0' "$P/r.jsonl"
    grep -q '^window    2 s$' <<<"$output"      # the lines after run were read by fp-profile
}

@test "non-tty: run CMD's standard output goes to standard error, not into the report (--cmd-stdout FILE|-)" {
    run --separate-stderr fpp -m "$MODEL" -w 0.2 --history "$P/none" <<<'run echo hi-from-the-command'
    [ "$status" -eq 0 ]
    (! grep -qx hi-from-the-command <<<"$output")
    [[ "$stderr" == *hi-from-the-command* ]]
    run --separate-stderr fpp -m "$MODEL" -w 0.2 --history "$P/none" --cmd-stdout "$P/o" <<<'run echo to-the-file'
    [ "$status" -eq 0 ]
    [ "$(cat "$P/o")" = to-the-file ]
    run --separate-stderr fpp -m "$MODEL" -w 0.2 --history "$P/none" --cmd-stdout - <<<'run echo shared'
    [ "$status" -eq 0 ]
    grep -qx shared <<<"$output"
}

# Records as fp-run appends them (fingerprint, actual, error), by hand.
hist_records() { # ID CMD-JSON CPU-PEAK MEM-PEAK CPU-P90 TS_MS
    jq -cn --arg id "$1" --argjson cmd "$2" '{schema:1,type:"fingerprint",id:$id,t:0.5,
        features:{cpu_cores_mean:1, mem_bytes_max:1e7}, missing:{}, meta:{cmd:$cmd}}'
    jq -cn --arg id "$1" --argjson cmd "$2" --argjson c "$3" --argjson m "$4" --argjson ts "$6" \
        '{schema:1,type:"actual",id:$id,t:2,ts_ms:$ts,duration_s:2,exit_code:0,exit_signal:null,
          cpu_cores_peak:$c,mem_bytes_peak:$m,meta:{cmd:$cmd}}'
    jq -cn --arg id "$1" --argjson c "$3" --argjson p "$5" \
        '{schema:1,type:"error",id:$id,t:2,model:"linear:x",actual_stat:"peak",
          resources:{cpu_cores:{predicted:{p50:($p/2),p90:$p,p99:($p*2)},actual:$c}},failed:false}'
}

@test "history [PATTERN]: the past runs of a store, with their actuals and how the prediction held" {
    mkdir -p "$P/h"
    { hist_records job-a '["make","-j2"]' 1.5 104857600 1.0 1795800000000
      hist_records job-b '["gzip","big.file"]' 0.25 2097152 0.5 1795800060000
      echo '{"schema":1,"type":"sample","id":"job-b","t":1}'; } > "$P/h/history.jsonl"
    run --separate-stderr fpp -m "$MODEL" --history "$P/h" <<'EOF'
history
history gzip
history nothing-like-this
EOF
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^history: 2 past runs in ' <<<"$output"
    grep -Eq '^  [0-9-]+ [0-9:]+  job-a  2.0 s, exit 0  cpu peak 1.50 cores  mem peak 100 MiB  cpu p90 1.00 cores UNDER  \[make -j2\]$' <<<"$output"
    grep -Eq '^  [0-9-]+ [0-9:]+  job-b  2.0 s, exit 0  cpu peak 0.25 cores  mem peak 2.00 MiB  cpu p90 0.50 cores held  \[gzip big.file\]$' <<<"$output"
    grep -q "^history: 1 past run matching 'gzip' in " <<<"$output"
    grep -q "^history: no past runs matching 'nothing-like-this' in " <<<"$output"
}

@test "run: the nearest known workload and the past runs of the command, from a store fp-run wrote" {
    W=(stress-ng --cpu 1 --timeout 1 --quiet)
    "$FP_BIN/fp-run" -i 0.25 -w 0.5 -n --history "$P/h" -m "$MODEL" --id past-cpu -- "${W[@]}" > /dev/null
    "$FP_BIN/fp-run" -i 0.25 -w 0.5 -n --history "$P/h" -m "$MODEL" --id past-io -- \
        sh -c 'for i in $(seq 40); do head -c 1000000 /dev/zero > /dev/null; sleep 0.03; done' > /dev/null
    [ "$(jq -s '[.[] | select(.type=="actual")] | length' "$P/h/history.jsonl")" = 2 ]
    run --separate-stderr fpp -m "$MODEL" -w 0.5 --history "$P/h" <<<"run ${W[*]}"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q '^nearest known workloads (distance 0 = identical, 1 = opposite; 2 fingerprints in ' <<<"$output"
    # the same command is the nearest, closer than the other
    grep -Eq '^  1\. 0\.[0-9]+  past-cpu  \[stress-ng --cpu 1 --timeout 1 --quiet\]  ran 1\.[0-9] s' <<<"$output"
    grep -Eq '^  2\. 0\.[0-9]+  past-io  \[sh -c ' <<<"$output"
    d1=$(awk '$1 == "1." { print $2 }' <<<"$output"); d2=$(awk '$1 == "2." { print $2 }' <<<"$output")
    awk -v a="$d1" -v b="$d2" 'BEGIN { exit !(a < b) }'
    grep -q '^past runs of this command (1):$' <<<"$output"
    grep -Eq '^  [0-9-]+ [0-9:]+  past-cpu  1\.[0-9] s, exit 0  cpu peak [0-9.]+ cores  mem peak .*cpu p90 [0-9.]+ cores (held|UNDER)' <<<"$output"
}

@test "pid N: a running process tree's fingerprint agrees with its CPU time in /proc; ps lists it" {
    stress-ng --cpu 1 --timeout 20 --quiet &
    BG_PID=$!
    for i in $(seq 50); do pgrep -P "$BG_PID" > /dev/null && break; sleep 0.1; done   # its worker
    # the tree's CPU time (clock ticks) and the wall time around the session
    ticks() { cat /proc/"$BG_PID"/stat /proc/$(pgrep -P "$BG_PID" | head -1)/stat | awk '{ t += $14 + $15 } END { print t }'; }
    t0=$(ticks); w0=$(date +%s.%N)
    run --separate-stderr fpp -m "$MODEL" -w 2 --history "$P/none" <<<"pid $BG_PID"
    t1=$(ticks); w1=$(date +%s.%N)
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q "^fingerprint of process stress-ng-" <<<"$output"
    grep -q "^  command     stress-ng --cpu 1 --timeout 20 --quiet$" <<<"$output"
    grep -q '^  cpu_cores  *p50 ' <<<"$output"
    mean=$(awk '$1 == "cpu" && $3 == "cores" { print $2 }' <<<"$output")
    peak=$(awk '$1 == "cpu" && $3 == "cores" { print $5 }' <<<"$output")
    ref=$(awk -v a="$t0" -v b="$t1" -v c="$w0" -v d="$w1" -v hz="$(getconf CLK_TCK)" 'BEGIN { print (b - a) / hz / (d - c) }')
    echo "window mean $mean cores, peak $peak; /proc says $ref cores over the session"
    between "$ref" "$CPU_FLOOR" 1.2 "the worker's share of a CPU"
    between "$mean" "$(awk -v r="$ref" 'BEGIN { print r - 0.25 }')" "$(awk -v r="$ref" 'BEGIN { print r + 0.25 }')" "window mean vs /proc"
    between "$peak" "$CPU_FLOOR" 1.3 "cpu peak of the attached process tree"
    # ps: the stress-ng worker near the top, with its share of a core
    run --separate-stderr fpp <<<ps
    echo "$output"
    grep -q '^     PID  CORES        RSS  COMMAND$' <<<"$output"
    cores=$(awk -v p="$(pgrep -P "$BG_PID" | head -1)" '$1 == p { print $2 }' <<<"$output")
    between "$cores" "$CPU_FLOOR" 1.3 "ps: the stress-ng worker's cores"
}
