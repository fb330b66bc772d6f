#!/bin/sh
# tests/vm/build-image.sh - build (or reuse) a Debian 12 (bookworm) VM image
# for fp's live tests: systemd as PID 1, pure cgroup v2, the Debian kernel,
# fp's build and test dependencies.
#
# Output, in $FP_VM_CACHE/<key>/ (default /var/cache/fp-vm), where <key> is a
# hash of this script and $FP_VM_EXTRA_PACKAGES:
#   rootfs.ext4   raw ext4 file system image (root on /dev/vda, no partition)
#   vmlinuz       the kernel, booted directly with qemu -kernel
#   initrd.img    its initramfs (initramfs-tools, MODULES=most: virtio, ext4)
#   packages.txt  what is installed (dpkg-query)
# Prints the image directory on stdout (the last line). A second run with the
# same key reuses the image. No loop mounts: mmdebstrap builds a directory,
# mkfs.ext4 -d turns it into an image.
#
# Needs: mmdebstrap, e2fsprogs (mkfs.ext4 >= 1.43), root (or unprivileged
# user namespaces for mmdebstrap's unshare mode, FP_VM_MMDEBSTRAP_MODE=unshare).
#
# Environment:
#   FP_VM_CACHE            cache directory (default /var/cache/fp-vm)
#   FP_VM_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   FP_VM_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   FP_VM_EXTRA_PACKAGES   more packages, space separated (part of the key)
#   FP_VM_IMAGE_SIZE       ext4 image size (default 6G; the file is sparse)
#   FP_VM_MMDEBSTRAP_MODE  mmdebstrap --mode (default: root as root, else unshare)
#   FP_VM_REBUILD=1        build again even when cached
#   FP_VM_KEEP_OLD_IMAGES=1  keep the images of other keys (default: removed
#                          after a new one is built)
#   FP_VM_IMAGE_TIMEOUT    seconds to wait for another build (default 1800)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
cache=${FP_VM_CACHE:-/var/cache/fp-vm}
mirror=${FP_VM_MIRROR:-http://deb.debian.org/debian}
secmirror=${FP_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
size=${FP_VM_IMAGE_SIZE:-6G}

# The package list. Keep in sync with tests/setup-debian.sh (fp's build and
# test dependencies) plus what a booted systemd host with logins needs.
PACKAGES="
systemd systemd-sysv dbus libpam-systemd udev kmod e2fsprogs
linux-image-amd64 initramfs-tools
build-essential autoconf automake libtool pkg-config make file
libjansson-dev libpfm4-dev libcurl4-openssl-dev zlib1g-dev libreadline-dev
libsystemd-dev
bats jq libxml2-utils stress-ng busybox-static util-linux iproute2 procps
python3 less
docker.io apparmor gdb strace
"
PACKAGES="$PACKAGES ${FP_VM_EXTRA_PACKAGES:-}"

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: ERROR: $*" >&2; exit 1; }

key=$( { cat "$self"; echo "$PACKAGES"; } | sha256sum | cut -c1-16)
dir="$cache/$key"

if [ -z "${FP_VM_REBUILD:-}" ] && [ -s "$dir/rootfs.ext4" ] && [ -s "$dir/vmlinuz" ] \
        && [ -s "$dir/initrd.img" ] && [ -e "$dir/complete" ]; then
    log "reusing cached image $dir"
    echo "$dir"
    exit 0
fi

command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap not found (Debian: apt-get install mmdebstrap)"
command -v mkfs.ext4 >/dev/null 2>&1 || PATH="$PATH:/sbin:/usr/sbin"
command -v mkfs.ext4 >/dev/null 2>&1 || die "mkfs.ext4 not found (Debian: apt-get install e2fsprogs)"

if [ -n "${FP_VM_MMDEBSTRAP_MODE:-}" ]; then
    mode=$FP_VM_MMDEBSTRAP_MODE
elif [ "$(id -u)" = 0 ]; then
    mode=root
else
    mode=unshare
fi

mkdir -p "$cache"
# one build at a time; another one may have built this image meanwhile
exec 8> "$cache/build.lock"
flock -w "${FP_VM_IMAGE_TIMEOUT:-1800}" 8 || die "timed out waiting for another image build"
if [ -z "${FP_VM_REBUILD:-}" ] && [ -e "$dir/complete" ]; then
    log "reusing image $dir (built meanwhile)"
    echo "$dir"
    exit 0
fi
tmp=$(mktemp -d "$cache/build.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
log "building image $key in $tmp (mode $mode, mirror $mirror)"
pkgs=$(echo $PACKAGES | tr ' ' ',')

# Files put into the image. The customize hook runs with the root file
# system in "$1".
cat > "$tmp/customize.sh" <<'EOF'
#!/bin/sh
set -eu
root=$1
echo fp-vm > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tfp-vm\n' > "$root/etc/hosts"
# root on the virtio disk, no partition table; a throwaway VM
printf '/dev/vda\t/\text4\trw,noatime,errors=remount-ro\t0\t1\n' > "$root/etc/fstab"
# root: no password (serial console of a throwaway test VM)
chroot "$root" passwd -d root >/dev/null
# autologin as root on the serial console: the test runs in a real login
# session (pam_systemd: /user.slice/user-0.slice/session-N.scope)
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOT
# no timers or jobs that would compete with the tests for the (emulated) CPU;
# no Docker engine at boot either (tests/vm/docker-v2.bats starts its own;
# apparmor is installed: the Debian kernel has AppArmor on, and dockerd
# refuses to run containers without apparmor_parser to load its profile)
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         man-db.timer dpkg-db-backup.timer e2scrub_reap.service getty@tty1.service \
         docker.service docker.socket containerd.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# the session hook: the root login shell on ttyS0 runs fp-vm-session once
cat > "$root/root/.bash_profile" <<'EOT'
[ -f ~/.bashrc ] && . ~/.bashrc
if [ "$(tty)" = /dev/ttyS0 ] && [ ! -e /run/fp-vm-session.started ]; then
    : > /run/fp-vm-session.started
    /usr/local/sbin/fp-vm-session
fi
EOT
cat > "$root/usr/local/sbin/fp-vm-session" <<'EOT'
#!/bin/bash
# fp-vm-session: run from root's login shell on the serial console. Mounts
# the host's 9p shares (fp: the source tree, read only, on /mnt/fp; fpout:
# the run directory, read-write, on /mnt/out). When /mnt/out/cmd exists, runs
# it with bash, writes its output to /mnt/out/output and its exit status to
# /mnt/out/rc, and powers the VM off. Otherwise returns (interactive use).
mkdir -p /mnt/fp /mnt/out
for m in fp:/mnt/fp fpout:/mnt/out; do
    tag=${m%%:*} dir=${m#*:}
    mountpoint -q "$dir" || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "$dir" 2>/dev/null \
        || echo "fp-vm-session: no 9p share '$tag'" >&2
done
echo "FP-VM-LOGIN-READY cgroup=$(sed -n 's/^0:://p' /proc/self/cgroup) uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ -f /mnt/out/cmd ]; then
    echo "FP-VM-CMD-BEGIN"
    set -o pipefail
    ( cd /root && exec bash /mnt/out/cmd ) 2>&1 | tee /mnt/out/output
    rc=${PIPESTATUS[0]}
    echo "$rc" > /mnt/out/rc
    sync
    echo "FP-VM-CMD-END rc=$rc"
    systemctl poweroff --no-block
    sleep 600
    exit "$rc"
fi
echo "fp-vm-session: no /mnt/out/cmd: interactive shell (poweroff to leave)"
EOT
chmod 755 "$root/usr/local/sbin/fp-vm-session"
# keep the image small
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
EOF
chmod 755 "$tmp/customize.sh"

mmdebstrap --mode="$mode" --variant=apt --format=directory \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --aptopt='Acquire::Retries "3"' \
    --include="$pkgs" \
    --customize-hook="$tmp/customize.sh \"\$1\"" \
    bookworm "$tmp/root" \
    "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" \
    "deb $secmirror bookworm-security main" >&2 \
    || die "mmdebstrap failed"

kver=$(ls "$tmp/root/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)
[ -n "$kver" ] || die "no kernel in the image's /boot"
[ -s "$tmp/root/boot/initrd.img-$kver" ] || die "no initramfs for $kver in the image"
cp "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
cp "$tmp/root/boot/initrd.img-$kver" "$tmp/initrd.img"
chroot "$tmp/root" dpkg-query -W -f '${Package} ${Version}\n' > "$tmp/packages.txt" 2>/dev/null \
    || dpkg-query --admindir="$tmp/root/var/lib/dpkg" -W -f '${Package} ${Version}\n' > "$tmp/packages.txt"

log "mkfs.ext4 -d ($size, sparse)"
mkfs.ext4 -q -F -L fproot -d "$tmp/root" "$tmp/rootfs.ext4" "$size" >&2 \
    || die "mkfs.ext4 -d failed (e2fsprogs >= 1.43 needed)"
rm -rf "$tmp/root" "$tmp/customize.sh"
echo "$kver" > "$tmp/kernel-version"
: > "$tmp/complete"

rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
# drop the images of other keys (older versions of this script)
for d in "$cache"/*; do
    case ${d##*/} in
        "$key") ;;
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
            [ -z "${FP_VM_KEEP_OLD_IMAGES:-}" ] && log "removing old image $d" && rm -rf "$d" ;;
    esac
done
log "image $dir built in $(( $(date +%s) - start )) s (kernel $kver, $(du -sh "$dir/rootfs.ext4" | cut -f1) used)"
echo "$dir"
