# tests/bats/helpers.bash - shared by the fp-capture bats files.
# FP_BIN, FP_FIXTURES, FP_TOP_SRCDIR come from `make check`; running a file
# by hand from the source tree works too.
bats_require_minimum_version 1.5.0
: "${FP_TOP_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${FP_BIN:=$FP_TOP_SRCDIR/bin}"
: "${FP_FIXTURES:=$FP_TOP_SRCDIR/tests/fixtures}"
export FP_BIN FP_FIXTURES FP_TOP_SRCDIR

fpc() { "$FP_BIN/fp-capture" "$@"; }

# A requirement that is not met skips outside CI and fails inside it.
fp_require() { # REASON
    if [ -n "${CI:-}" ]; then
        echo "CI requires: $1" >&2
        return 1
    fi
    skip "$1"
}
need_root() { [ "$(id -u)" = 0 ] || fp_require "root (cgroups, namespaces)"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || fp_require "$1 (Debian: ${2:-$1})"; }

# Records of one type from a JSON-lines file or stdin.
of_type() { jq -c --arg t "$1" 'select(.type == $t)' "${2:--}"; }

# Assert a <= x <= b for floating-point x (awk does the arithmetic).
between() { # X A B WHAT
    awk -v x="$1" -v a="$2" -v b="$3" 'BEGIN { exit !(x != "" && x != "null" && x+0 >= a+0 && x+0 <= b+0) }' ||
        { echo "$4: $1 is not in [$2, $3]" >&2; return 1; }
}

# The workload's cgroup directories must be gone after fp-capture exits.
no_fp_cgroups_left() { # PID-OF-FP-CAPTURE
    local left
    left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "fp-$1" 2>/dev/null || true)
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}
