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

# CPU seconds (user + system) a live process has used so far, from
# /proc/PID/stat: the kernel's own count, independent of fp.
proc_cpu_s() { # PID
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# Wall-clock seconds, fractional.
now_s() { date +%s.%N; }

# Cores a process used between two readings: (CPU1 - CPU0) / (T1 - T0).
# CPU assertions compare fp's numbers with this reference, measured in the
# same run, rather than with "one core": on a loaded 2-core machine a
# burner gets what the scheduler leaves it, and fp must report exactly that.
cores_between() { # CPU0 T0 CPU1 T1
    awk -v c0="$1" -v t0="$2" -v c1="$3" -v t1="$4" 'BEGIN { printf "%.3f\n", (c1 - c0) / (t1 - t0) }'
}

# Assert |x - ref| <= tol: fp's number against a reference measured in
# the same run.
near() { # X REF TOL WHAT
    between "$1" "$(awk -v r="$2" -v t="$3" 'BEGIN { print r - t }')" \
        "$(awk -v r="$2" -v t="$3" 'BEGIN { print r + t }')" "$4"
}

# The mean of a numeric field over the sample records of a file, nulls
# skipped; SKIP first samples are left out (the first has no rate yet).
mean_of_samples() { # FILE FIELD [SKIP]
    jq -s --arg f "$2" --argjson k "${3:-1}" \
        '[.[] | select(.type == "sample")][$k:] | map(.[$f] | select(. != null)) | if length == 0 then null else add / length end' "$1"
}

# The workload's cgroup directories must be gone after fp-capture exits.
no_fp_cgroups_left() { # PID-OF-FP-CAPTURE
    local left
    left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "fp-$1" 2>/dev/null || true)
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

fpa() { "$FP_BIN/fp-apply" "$@"; }

# fp_v2_tree DIR: a writable cgroup v2 tree (from the fixtures) and a proc
# tree naming it, for fp-apply: a workload cgroup /fp/w1 using 50 MiB with
# every knob at the kernel's default, 2 CPUs and 4 GiB of memory. Exports
# FP_PROC_ROOT and FP_CGROUP_ROOT.
fp_v2_tree() {
    local d=$1 w
    mkdir -p "$d/proc/self" "$d/cgroup"
    cp "$FP_FIXTURES/proc-v2/self/mountinfo" "$d/proc/self/mountinfo"
    printf '0::/\n' > "$d/proc/self/cgroup"
    printf 'cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nintr 0\n' > "$d/proc/stat"
    printf 'MemTotal:        4194304 kB\nMemFree:         2097152 kB\n' > "$d/proc/meminfo"
    printf 'cpuset cpu io memory pids\n' > "$d/cgroup/cgroup.controllers"
    printf 'cpu io memory pids\n' > "$d/cgroup/cgroup.subtree_control"
    for w in w1 w2; do
        mkdir -p "$d/cgroup/fp/$w"
        cp "$FP_FIXTURES/cgroup-v2/system.slice/work.service/"* "$d/cgroup/fp/$w/"
        printf 'max 100000\n' > "$d/cgroup/fp/$w/cpu.max"
        printf '100\n' > "$d/cgroup/fp/$w/cpu.weight"
        printf 'max\n' > "$d/cgroup/fp/$w/memory.high"
        printf 'max\n' > "$d/cgroup/fp/$w/memory.max"
        printf 'max\n' > "$d/cgroup/fp/$w/pids.max"
        : > "$d/cgroup/fp/$w/io.max"
        printf 'cpu io memory pids\n' > "$d/cgroup/fp/$w/cgroup.controllers"
    done
    export FP_PROC_ROOT="$d/proc" FP_CGROUP_ROOT="$d/cgroup"
}

# A prediction record for cgroup CG: pred ID CG CPU_P90 MEM_P99 [EXTRA-JSON]
pred() {
    jq -cn --arg id "$1" --arg cg "$2" --argjson c "$3" --argjson m "$4" --argjson x "${5:-{\}}" \
        '{schema:1,type:"prediction",id:$id,t:1,target:{cgroup:$cg,container:null,pid:null},
          model:"test",horizon_s:60,quantiles:{cpu_cores:{p50:($c/2),p90:$c},mem_bytes:{p99:$m}}} + $x'
}
