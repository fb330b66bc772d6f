#!/bin/sh
# tests/setup-debian.sh - install what fp needs to build, run and test, on
# Debian 12 (bookworm), as root. Idempotent; safe to run again.
set -eu
if [ "$(id -u)" != 0 ]; then
    echo "setup-debian: run as root (apt-get installs packages)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential autoconf automake libtool pkg-config make \
    libjansson-dev libpfm4-dev libcurl4-openssl-dev zlib1g-dev libreadline-dev libsystemd-dev \
    bats jq valgrind libxml2-utils librsvg2-bin prometheus bash-completion \
    stress-ng busybox-static util-linux iproute2 procps python3 \
    docker.io sysstat ca-certificates \
    qemu-system-x86 mmdebstrap e2fsprogs \
    clang libclang-rt-dev llvm >/dev/null
# clang libclang-rt-dev: libFuzzer and the sanitizer runtimes for make
# check's fuzz smoke test (tests/fuzz; libclang-rt-dev is only a
# recommendation of clang, so --no-install-recommends needs it named);
# llvm: llvm-symbolizer, for readable sanitizer stack traces.
# prometheus: promtool, which checks fp-diff's textfile (fp-diff.bats);
# bash-completion: its pkg-config file names where fp's completion
# installs, and its helpers load it in completion.bats.
# librsvg2-bin: rsvg-convert, which renders fp-diff's charts to PNG in
# tests/bats/fp-diff.bats (not blank, labels apart); libxml2-utils:
# xmllint, which checks they are well formed.
echo "setup-debian: dependencies installed"
