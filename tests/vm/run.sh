#!/bin/bash
# tests/vm/run.sh - boot the fp test VM (Debian 12, systemd, pure cgroup v2)
# under qemu, run one command in it as root from a real login session, collect
# its output, power the VM off.
#
# Usage:
#   tests/vm/run.sh [OPTIONS] -c 'SHELL COMMAND LINE'
#   tests/vm/run.sh [OPTIONS] -- COMMAND [ARG...]
#   tests/vm/run.sh [OPTIONS] --interactive
# Options:
#   --service       run the command in a system service (systemd-run --wait
#                   --pipe --collect) instead of the login session
#   --interactive   no command: a root shell on the serial console (stdio);
#                   leave with `poweroff` (or Ctrl-A x)
#   --out DIR       run directory, shared read-write with the VM on /mnt/out
#                   (default: a new temporary directory, removed at the end
#                   unless FP_VM_KEEP=1). Holds: cmd, src.tar, output, rc,
#                   console.log, and whatever the command writes to /mnt/out.
#   --image DIR     image directory (default: what build-image.sh prints)
#   -q, --quiet     do not stream the serial console to stderr
#
# In the VM: /mnt/fp is the source tree (9p, read-only); /mnt/out the run
# directory; /mnt/out/src.tar the tree's files (git ls-files: tracked and
# untracked-not-ignored, as in the working copy) to unpack onto the VM's own
# disk. The command runs with bash in /root, as root, in
# /user.slice/user-0.slice/session-N.scope (autologin on ttyS0).
#
# Output: the command's output (stdout and stderr together) on stdout; exit
# status: the command's, or 124 when a time-out struck, or 125 when the VM
# could not be run.
#
# Environment:
#   VM_ACCEL            tcg (default) or kvm
#   FP_VM_CPUS          vCPUs (default 2)
#   FP_VM_MEM           MiB of RAM (default 3072)
#   FP_VM_BOOT_TIMEOUT  seconds from start to the login session (default 600
#                       with tcg, 180 with kvm)
#   FP_VM_TIMEOUT       seconds for the whole run (default 3000: a build under
#                       software emulation on a loaded 2-core host took 19 min)
#   FP_VM_SRC           the tree to share (default: this repository)
#   FP_VM_CACHE         image cache (see build-image.sh)
#   FP_VM_QEMU          qemu binary (default qemu-system-x86_64)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${FP_VM_SRC:-$(cd "$here/../.." && pwd)}
accel=${VM_ACCEL:-tcg}
cpus=${FP_VM_CPUS:-2}
mem=${FP_VM_MEM:-3072}
total_timeout=${FP_VM_TIMEOUT:-3000}
qemu=${FP_VM_QEMU:-qemu-system-x86_64}
cache=${FP_VM_CACHE:-/var/cache/fp-vm}
case $accel in
    kvm) boot_timeout=${FP_VM_BOOT_TIMEOUT:-180} ;;
    tcg) boot_timeout=${FP_VM_BOOT_TIMEOUT:-600} ;;
    *) echo "run.sh: VM_ACCEL must be tcg or kvm, not '$accel'" >&2; exit 125 ;;
esac

service=0 interactive=0 quiet=0 out= image= cmd=
while [ $# -gt 0 ]; do
    case $1 in
        --service) service=1 ;;
        --interactive) interactive=1 ;;
        --out) out=$2; shift ;;
        --image) image=$2; shift ;;
        -q|--quiet) quiet=1 ;;
        -c) cmd=$2; shift ;;
        --) shift; cmd=$(printf '%q ' "$@"); break ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 125 ;;
    esac
    shift
done
if [ "$interactive" = 0 ] && [ -z "$cmd" ]; then
    echo "run.sh: no command (-c 'CMD', -- CMD ARGS, or --interactive)" >&2
    exit 125
fi

die() { echo "run.sh: ERROR: $*" >&2; exit 125; }
command -v "$qemu" >/dev/null 2>&1 || die "$qemu not found (Debian: apt-get install qemu-system-x86)"
if [ -z "$image" ]; then
    image=$(timeout -k 10 "${FP_VM_IMAGE_TIMEOUT:-3000}" "$here/build-image.sh" | tail -n 1) \
        || die "no VM image (build-image.sh failed or took longer than ${FP_VM_IMAGE_TIMEOUT:-3000}s)"
fi
for f in rootfs.ext4 vmlinuz initrd.img; do
    [ -s "$image/$f" ] || die "$image/$f missing"
done
if [ "$accel" = kvm ] && [ ! -w /dev/kvm ]; then
    die "VM_ACCEL=kvm but /dev/kvm is not usable"
fi

own_out=0
if [ -z "$out" ]; then
    out=$(mktemp -d "${TMPDIR:-/tmp}/fp-vm.XXXXXX")
    own_out=1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/cmd" "$out/output" "$out/rc" "$out/console.log"

# The tree's files, to unpack onto the VM's disk (builds on 9p are slow).
"$here/src-tar.sh" "$src" "$out/src.tar"

if [ "$interactive" = 0 ]; then
    if [ "$service" = 1 ]; then
        printf '%s\n' "$cmd" > "$out/cmd.inner"
        cat > "$out/cmd" <<'EOF'
# run.sh --service: the command in a transient system service
exec systemd-run --wait --pipe --collect --quiet -p WorkingDirectory=/root \
    -p StandardInput=null bash /mnt/out/cmd.inner
EOF
    else
        printf '%s\n' "$cmd" > "$out/cmd"
    fi
fi

accel_opts=(-accel tcg,thread=multi -cpu max)
[ "$accel" = kvm ] && accel_opts=(-accel kvm -cpu host)
append="root=/dev/vda rw console=ttyS0,115200 panic=1 mitigations=off quiet loglevel=4 systemd.show_status=auto fsck.mode=skip"
qargs=(-name fp-vm "${accel_opts[@]}" -smp "$cpus" -m "$mem"
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" -append "$append"
    -drive "file=$image/rootfs.ext4,format=raw,if=virtio,snapshot=on,cache=unsafe"
    -virtfs "local,path=$src,mount_tag=fp,security_model=none,readonly=on"
    -virtfs "local,path=$out,mount_tag=fpout,security_model=none"
    -nic none -no-reboot)

# One qemu at a time on this host (2 cores): wait for the others.
mkdir -p "$cache"
exec 9> "$cache/qemu.lock"
if ! flock -n 9; then
    echo "run.sh: another fp VM is running; waiting for it (at most ${total_timeout}s)" >&2
    flock -w "$total_timeout" 9 || { echo "run.sh: ERROR: timed out waiting for the other VM" >&2; exit 124; }
fi

if [ "$interactive" = 1 ]; then
    echo "run.sh: interactive VM (root shell on the console; 'poweroff' or Ctrl-A x to leave)" >&2
    rc=0
    "$qemu" "${qargs[@]}" -nographic -serial mon:stdio 9>&- || rc=$?
    if [ "$own_out" = 1 ] && [ -z "${FP_VM_KEEP:-}" ]; then rm -rf "$out"; fi
    exit "$rc"
fi

t0=$(date +%s)
: > "$out/console.log"
"$qemu" "${qargs[@]}" -display none -monitor none -serial "file:$out/console.log" </dev/null 9>&- &
qpid=$!
tailpid=
cleanup() {
    if kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
        sleep 2
        kill -9 "$qpid" 2>/dev/null || true
    fi
    wait "$qpid" 2>/dev/null || true
    [ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null || true
    if [ "$own_out" = 1 ] && [ -z "${FP_VM_KEEP:-}" ]; then rm -rf "$out"
    else echo "run.sh: run directory: $out" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$quiet" = 0 ]; then
    tail -n +1 -f --pid="$qpid" "$out/console.log" | sed -u 's/^/[vm] /' >&2 &
    tailpid=$!
fi

fail() { # CODE MESSAGE
    echo "run.sh: ERROR: $2" >&2
    echo "run.sh: last lines of the serial console ($out/console.log):" >&2
    tail -n 40 "$out/console.log" | sed 's/^/run.sh:   /' >&2
    exit "$1"
}

booted=0
while kill -0 "$qpid" 2>/dev/null; do
    now=$(date +%s)
    if [ "$booted" = 0 ]; then
        if grep -q 'FP-VM-LOGIN-READY' "$out/console.log"; then
            booted=1
            echo "run.sh: login session after $((now - t0)) s: $(grep -a -m1 'FP-VM-LOGIN-READY' "$out/console.log" | tr -d '\r')" >&2
        elif [ $((now - t0)) -ge "$boot_timeout" ]; then
            fail 124 "the VM did not reach the login session within ${boot_timeout}s (FP_VM_BOOT_TIMEOUT)"
        fi
    fi
    if [ $((now - t0)) -ge "$total_timeout" ]; then
        fail 124 "the VM run took longer than ${total_timeout}s (FP_VM_TIMEOUT)"
    fi
    sleep 1
done
wait "$qpid" && qrc=0 || qrc=$?
[ -n "$tailpid" ] && { sleep 0.5; kill "$tailpid" 2>/dev/null || true; }
tailpid=
echo "run.sh: VM off after $(( $(date +%s) - t0 )) s (qemu exit status $qrc)" >&2
[ "$booted" = 1 ] || fail 125 "the VM stopped before the login session"
[ -s "$out/rc" ] || fail 125 "the VM stopped without the command's exit status (crash, or poweroff by the command?)"
[ -f "$out/output" ] && cat "$out/output"
rc=$(cat "$out/rc")
exit "$rc"
