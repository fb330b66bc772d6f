#!/bin/bash
# tests/vm/native-build.sh - build fp for the test VM natively: in a chroot
# of the VM's own root file system (the image's rootfs.ext4, mounted
# read-only through a loop device in a private mount namespace), at the path
# the VM uses (/root/fp), so the VM only unpacks the result. The VM runs
# under software emulation, where the same build takes 8-19 minutes; here
# it takes about one. The chroot has the VM's compiler, headers and
# libraries (Debian 12, the image's packages), so the binaries are the ones
# the VM would have built.
#
# Usage: tests/vm/native-build.sh IMAGE-DIR SRC.tar OUT.tar
#   SRC.tar  the tree's files (run.sh's src.tar)
#   OUT.tar  written: the built tree (/root/fp, tests/unit programs
#            included: make check TESTS= builds them without running any)
# Build output goes to stderr. Exit status: 0 built; 1 the build failed
# (a real failure: the tree does not build on Debian 12); 77 no native build
# here (not root, no loop device, no unshare/mount): the caller builds in
# the VM instead.
#
# Nothing outlives the run: the mounts live in a private mount namespace
# (unshare -m) and /root is a tmpfs there.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: native-build.sh IMAGE-DIR SRC.tar OUT.tar" >&2; exit 2; }
image=$1 src=$2 outtar=$3
case $outtar in /*) ;; *) outtar=$PWD/$outtar ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac

cannot() { echo "native-build: no native build here: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || cannot "not root (a loop mount needs it)"
command -v unshare >/dev/null 2>&1 || cannot "no unshare (util-linux)"
[ -s "$image/rootfs.ext4" ] || cannot "no $image/rootfs.ext4"
[ -e /dev/loop-control ] || cannot "no /dev/loop-control (loop devices)"

mnt=$(mktemp -d "${TMPDIR:-/tmp}/fp-vm-chroot.XXXXXX")
trap 'rmdir "$mnt" 2>/dev/null || true' EXIT

# Inside the namespace: mount, build, pack. Exit 77 when the mounts fail.
unshare -m --propagation private /bin/bash -euo pipefail -s "$image/rootfs.ext4" "$mnt" "$src" "$outtar" <<'EOF'
img=$1 m=$2 src=$3 outtar=$4
mount -o loop,ro "$img" "$m" 2>/dev/null || { echo "native-build: cannot loop-mount $img" >&2; exit 77; }
for d in tmp root run; do mount -t tmpfs -o mode=1777 tmpfs "$m/$d" || exit 77; done
chmod 700 "$m/root"
mount -t proc proc "$m/proc" || exit 77
mount --rbind /dev "$m/dev" || exit 77
mkdir "$m/root/fp"
tar -xf "$src" -C "$m/root/fp"
t0=$(date +%s)
chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    /bin/sh -c 'cd /root/fp && autoreconf -fi && ./configure && make -j"$(nproc)" && make -j"$(nproc)" check TESTS=' >&2 \
    || { echo "native-build: the build failed in the chroot" >&2; exit 1; }
echo "native-build: built in $(( $(date +%s) - t0 )) s" >&2
tar -cf "$outtar" -C "$m/root/fp" .
EOF
