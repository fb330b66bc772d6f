#!/bin/bash
# tests/vm/hunt.sh - runs INSIDE the fp test VM: build fp, then run the
# never-harm growth patterns under fp-run (systemd driver) N times each; on a
# run that does not end within its time limit, dump what fp-run and its
# workload are doing (ps, /proc/PID/stack, wchan, strace, gdb backtrace, the
# scope's cgroup files) to /mnt/out/hang-*. Debugging aid for make check-vm.
#   tests/vm/run.sh -c 'bash /mnt/fp/tests/vm/hunt.sh 10'
set -uo pipefail
n=${1:-10}
out=/mnt/out
dst=/root/fp
rm -rf "$dst" && mkdir -p "$dst" && tar -xf "$out/src.tar" -C "$dst"
cd "$dst"
{ autoreconf -fi && ./configure && make -j"$(nproc)"; } > "$out/build.log" 2>&1 || { echo "build failed"; tail -30 "$out/build.log"; exit 3; }
MODEL=$dst/share/fp/default-model.json
dump() { # PID TAG
    local p=$1 tag=$2 f=$out/hang-$2
    {
        echo "== ps"; ps -eo pid,ppid,stat,wchan:32,etime,cmd --forest
        for q in $(pgrep -f 'fp-run|grow.py|stress-ng' ); do
            echo "== pid $q: $(tr '\0' ' ' < /proc/$q/cmdline)"
            echo "stat: $(cat /proc/$q/stat 2>/dev/null)"
            echo "wchan: $(cat /proc/$q/wchan 2>/dev/null)"
            echo "cgroup: $(cat /proc/$q/cgroup 2>/dev/null)"
            echo "stack:"; cat /proc/$q/stack 2>/dev/null
            for t in /proc/$q/task/*; do echo "task $t: $(cat $t/wchan 2>/dev/null)"; cat $t/stack 2>/dev/null; done
            ls -l /proc/$q/fd 2>/dev/null
        done
        echo "== strace fp-run (5 s)"; timeout 5 strace -f -tt -p "$p" 2>&1 | tail -60
        echo "== gdb"; gdb -batch -ex 'thread apply all bt full' -p "$p" 2>&1 | tail -120
        echo "== fp.slice"
        find /sys/fs/cgroup/fp.slice -name cgroup.procs -exec sh -c 'for f; do echo "$f: $(cat $f | tr "\n" " ")"; d=${f%/*}; echo " events: $(tr "\n" " " < $d/cgroup.events) mem.events: $(tr "\n" " " < $d/memory.events 2>/dev/null) high/max: $(cat $d/memory.high $d/memory.max 2>/dev/null | tr "\n" " ") current: $(cat $d/memory.current 2>/dev/null)"; done' sh {} +
        echo "== systemctl"; systemctl list-units --all 'fp-run*' 2>&1
        echo "== journal"; journalctl -n 60 --no-pager 2>&1
        echo "== dmesg"; dmesg | tail -40
    } > "$f" 2>&1
    echo "HANG $tag: dump in $f"
}
pat=(steady forks step sawtooth child dd)
hangs=0
for i in $(seq 1 "$n"); do
    for name in "${pat[@]}"; do
        case $name in
            forks) cmd=(stress-ng --fork 4 --fork-max 64 -t 4 --quiet) ;;
            dd) cmd=(sh -c "sleep 3; dd if=/dev/zero of=/root/big bs=1M count=512 2>/dev/null; sync; rm -f /root/big") ;;
            *) cmd=(python3 tests/workloads/grow.py "$name") ;;
        esac
        t0=$(date +%s)
        ./bin/fp-run -m "$MODEL" --no-history --id "$name" -- "${cmd[@]}" > /root/run.jsonl 2> /root/run.err &
        p=$!
        to=0
        while kill -0 "$p" 2>/dev/null; do
            if [ $(( $(date +%s) - t0 )) -gt 150 ]; then to=1; break; fi
            sleep 1
        done
        if [ $to = 1 ]; then
            hangs=$((hangs+1))
            dump "$p" "$i-$name"
            cp /root/run.jsonl "$out/hang-$i-$name.jsonl"; cp /root/run.err "$out/hang-$i-$name.err"
            kill -9 "$p"; pkill -9 -f grow.py; pkill -9 stress-ng
            sleep 2
            wait "$p" 2>/dev/null
            echo "run $i $name: HANG"
        else
            wait "$p"; st=$?
            echo "run $i $name: exit $st in $(( $(date +%s) - t0 )) s $(jq -c 'select(.type=="error") | .memguard' /root/run.jsonl 2>/dev/null)"
            [ $st = 0 ] || tail -5 /root/run.err
        fi
    done
done
echo "hangs: $hangs"
