#!/bin/bash
# tests/vm/guest-check.sh - runs INSIDE the fp test VM (called by check-v2.sh
# through run.sh), as root, from the login session: unpacks the tree built
# natively in a chroot of this image (/mnt/out/build.tar, native-build.sh)
# onto the VM's own disk at /root/fp, or else unpacks the sources there and
# builds fp (autoreconf -fi && ./configure && make -j2; builds on the 9p
# share are slow), then runs in-vm-tests.sh, whose
# TAP goes to /mnt/out/v2.tap. Build output: /mnt/out/build.log. Timings:
# lines "FP-VM-TIME step=seconds" and /mnt/out/timings.
set -uo pipefail
out=/mnt/out
dst=/root/fp
: > "$out/timings"
step() { # NAME COMMAND... (output to build.log; a failing step ends the run)
    local name=$1 t0 rc; shift
    t0=$(date +%s.%N)
    echo "FP-VM-STEP $name: $*"
    "$@" >> "$out/build.log" 2>&1; rc=$?
    local dt; dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "FP-VM-TIME $name=$dt"; echo "$name=$dt" >> "$out/timings"
    if [ "$rc" != 0 ]; then
        echo "FP-VM-FAIL $name (exit $rc); last lines of build.log:"
        tail -n 40 "$out/build.log"
        exit 3
    fi
}
: > "$out/build.log"
rm -rf "$dst" && mkdir -p "$dst" || { echo "FP-VM-FAIL mkdir $dst"; exit 3; }
cd "$dst"
if [ -s "$out/build.tar" ]; then
    # built natively in a chroot of this image, at this path (native-build.sh)
    step unpack-build tar -xf "$out/build.tar" -C "$dst"
else
    tar -xf "$out/src.tar" -C "$dst" || { echo "FP-VM-FAIL unpack"; exit 3; }
    step autoreconf autoreconf -fi
    step configure ./configure
    step make make -j"$(nproc)"
fi
t0=$(date +%s.%N)
bash tests/vm/in-vm-tests.sh > "$out/v2.tap" 2> "$out/v2.err"
rc=$?
dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'); echo "FP-VM-TIME tests=$dt"; echo "tests=$dt" >> "$out/timings"
cat "$out/v2.tap"
exit "$rc"
