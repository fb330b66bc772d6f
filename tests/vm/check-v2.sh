#!/bin/bash
# tests/vm/check-v2.sh - fp's live tests on a real systemd + pure cgroup v2
# host: builds (or reuses) the Debian 12 VM image (build-image.sh), builds fp
# from this tree in a chroot of that image (native-build.sh; where the host
# cannot, the VM builds it on its own disk instead), boots the image under
# qemu (run.sh), and in it, from a root login session, runs
# tests/vm/in-vm-tests.sh (bats --tap tests/vm/*.bats) in the built tree.
#
# stdout: TAP only (the in-VM tests' TAP; "1..0 # SKIP reason" when skipped;
# "Bail out!" when the VM or the build failed). Progress on stderr.
# Exit status: 0 all passed; 1 a test, the build or the VM failed; 77
# (FP_VM_SKIP_STATUS) skipped: qemu or the image cannot be had. With CI set,
# what would skip fails instead.
#
# Results, in $FP_VM_OUT (default tests/vm/out in the source tree): v2.tap,
# native-build.log or build.log, timings, console.log (serial console), output (all the VM
# command's output).
#
# Environment: FP_VM_BUILD_IN_VM (set: build in the VM, not natively), VM_ACCEL (tcg|kvm), FP_VM_CACHE, FP_VM_IMAGE_TIMEOUT (3000 s: the cold image build took 29 min on a loaded 2-core host), FP_VM_TIMEOUT (default 3000 s
# for the VM run), FP_VM_BOOT_TIMEOUT, FP_VM_OUT, FP_VM_SKIP_STATUS (77), and
# what build-image.sh and run.sh read.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${FP_VM_OUT:-$here/out}
skip_status=${FP_VM_SKIP_STATUS:-77}

skip() {
    if [ -n "${CI:-}" ]; then
        echo "check-v2: ERROR (CI is set, so no skipping): $*" >&2
        echo "Bail out! $*"
        exit 1
    fi
    echo "check-v2: SKIP: $*" >&2
    echo "1..0 # SKIP $*"
    exit "$skip_status"
}
bail() {
    echo "check-v2: ERROR: $*" >&2
    echo "Bail out! $*"
    exit 1
}

# make check: the VM suite takes minutes (an image, a boot, tests under
# software emulation), so it runs in CI and when asked for
if [ -z "${CI:-}" ] && [ "${FP_VM_TESTS:-}" != 1 ] && [ -n "${FP_VM_MAKE_CHECK:-}" ]; then
    echo "check-v2: SKIP: the systemd + cgroup v2 VM suite takes minutes: FP_VM_TESTS=1 make check runs it (CI always does; make check-vm runs it alone)" >&2
    echo "1..0 # SKIP the systemd + cgroup v2 VM suite (minutes): set FP_VM_TESTS=1; CI runs it"
    exit "$skip_status"
fi
command -v "${FP_VM_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1 \
    || skip "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)"
if [ "${VM_ACCEL:-tcg}" = kvm ] && [ ! -w /dev/kvm ]; then
    skip "VM_ACCEL=kvm but /dev/kvm is not usable"
fi

t0=$(date +%s)
if ! image=$(timeout -k 10 "${FP_VM_IMAGE_TIMEOUT:-3000}" "$here/build-image.sh" | tail -n 1) || [ -z "$image" ]; then
    skip "no VM image: build-image.sh failed or took longer than ${FP_VM_IMAGE_TIMEOUT:-3000}s (needs mmdebstrap, e2fsprogs, root and a Debian mirror; see above)"
fi
t_image=$(( $(date +%s) - t0 ))
echo "check-v2: image $image ready after ${t_image}s" >&2

mkdir -p "$out"
rm -f "$out"/{cmd,cmd.inner,src.tar,build.tar,output,rc,console.log,build.log,timings,v2.tap,v2.err}

# Build natively in a chroot of the image (about a minute, where the VM's
# software emulation takes 8-19); the VM then only unpacks build.tar. When
# this host cannot (no loop device, not root), the VM builds (guest-check.sh).
tn=$(date +%s)
if [ -n "${FP_VM_BUILD_IN_VM:-}" ]; then
    echo "check-v2: FP_VM_BUILD_IN_VM set: the VM builds fp" >&2
else
    srctar=$(mktemp "${TMPDIR:-/tmp}/fp-vm-src.XXXXXX")
    # the tree run.sh shares with the VM (FP_VM_SRC, else this repository)
    "$here/src-tar.sh" "${FP_VM_SRC:-$(cd "$here/../.." && pwd)}" "$srctar"
    "$here/native-build.sh" "$image" "$srctar" "$out/build.tar" 2> "$out/native-build.log"
    nrc=$?
    rm -f "$srctar"
    case $nrc in
        0) echo "check-v2: built natively in a chroot of the image in $(( $(date +%s) - tn ))s" >&2
           echo "native_build=$(( $(date +%s) - tn ))" >> "$out/timings" ;;
        77) rm -f "$out/build.tar"
            echo "check-v2: $(tail -n 1 "$out/native-build.log"); the VM builds fp" >&2 ;;
        *) tail -n 40 "$out/native-build.log" >&2
           bail "fp did not build in a chroot of the VM image (see $out/native-build.log)" ;;
    esac
fi
t1=$(date +%s)
"$here/run.sh" --image "$image" --out "$out" -c 'bash /mnt/fp/tests/vm/guest-check.sh' > /dev/null
rc=$?
t_vm=$(( $(date +%s) - t1 ))
echo "check-v2: VM run: ${t_vm}s, exit status $rc" >&2
login=$(grep -a -m1 -o 'FP-VM-LOGIN-READY.*uptime=[0-9.]*' "$out/console.log" 2>/dev/null | sed 's/.*uptime=//')
{
    echo "image=${t_image}"
    [ -n "$login" ] && echo "boot_to_login_uptime=$login"
    echo "vm_run_total=${t_vm}"
} >> "$out/timings"
echo "check-v2: timings (s): $(tr '\n' ' ' < "$out/timings" 2>/dev/null)" >&2

case $rc in
    124) bail "the VM run timed out (see $out/console.log)" ;;
    125) bail "the VM could not be run (see $out/console.log)" ;;
    3) bail "fp did not build in the VM (see $out/build.log)" ;;
esac
[ -s "$out/v2.tap" ] || bail "no TAP from the VM (exit status $rc; see $out/output)"
cat "$out/v2.tap"
if [ "$rc" != 0 ]; then
    echo "check-v2: FAIL: in-VM tests failed (exit status $rc); stderr: $out/v2.err" >&2
    exit 1
fi
echo "check-v2: PASS ($out/v2.tap)" >&2
exit 0
