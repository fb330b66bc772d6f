#!/bin/bash
# tests/vm/in-vm-tests.sh - the live tests that need a real systemd + pure
# cgroup v2 host, run INSIDE the fp test VM from the top of a built fp tree
# (guest-check.sh does that). Prints TAP on stdout (bats --tap).
#
# To add tests: append @test blocks to tests/vm/v2.bats, or add another
# tests/vm/*.bats file (all of them run, in name order). They load
# tests/bats/helpers.bash (FP_BIN, of_type, between, need_cmd, ...). CI is
# set: a missing requirement fails instead of skipping (the VM has them all).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export FP_TOP_SRCDIR="$top" FP_BIN="$top/bin" FP_FIXTURES="$top/tests/fixtures"
export CI="${CI:-1}"
[ $# -gt 0 ] || set -- tests/vm/*.bats
exec bats --tap "$@"
