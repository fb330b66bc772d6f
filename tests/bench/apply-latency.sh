#!/usr/bin/env bash
# apply-latency.sh - time from a prediction record to the limit in effect,
# fp-apply beside `docker update`, in one run.
#
# Run by hand (not part of `make check`), from a built tree, as root:
#
#   tests/bench/apply-latency.sh [--n N] [--no-docker]
#
# cgroup: a cgroup made for the run (fpbench-lat, under the cpu
#   controller's hierarchy; v1 or v2), fed N prediction records through a
#   pipe to one fp-apply that alternates its CPU quota between 0.5 and 1.0
#   core (a policy without hysteresis or delays, so every record changes
#   the limit). Latency = from writing the record to reading the
#   allocation record back; fp-apply writes that record after the write(2)
#   to cpu.max / cpu.cfs_quota_us returned, which is when the kernel
#   applies a quota. The file is checked afterwards every time.
# container: the same against a busybox container of a private dockerd
#   (tests/bats/docker.bash; vfs storage, no network), fp-apply -b docker
#   (POST /containers/{id}/update returns once the engine has applied
#   it), beside `docker update --cpus V` run N/4 times (process start,
#   CLI, API call); docker inspect checks the result. A third row times the
#   same POST /containers/{id}/update made by curl (its time_total: no
#   process start), the engine's own share of both.
# fp-apply's times come from tests/bench/roundtrip.c (CLOCK_MONOTONIC
# around writing a record and reading its allocation back, so they include
# the pipe round trip); the CLI's from bash's $EPOCHREALTIME around each
# `docker update` (process start included: that is what a user pays). Prints p50 and p99 per case and the ratios.
# Goals (from the issue): a cgroup change under 1 ms; a container change
# at most a fifth of the docker CLI's time. Exit 0 whether met or not; 2
# when the run failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
n=400
docker=1
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --n) n=${2:?--n needs a count}; shift 2 ;;
    --no-docker) docker=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "apply-latency: needs root (cgroups, dockerd)" >&2; exit 2; }
fpa=$top/bin/fp-apply
[ -x "$fpa" ] || { echo "apply-latency: build first ($fpa missing)" >&2; exit 2; }
command -v jq >/dev/null || { echo "apply-latency: needs jq" >&2; exit 2; }
tmp=$(mktemp -d /tmp/fp-apply-lat.XXXXXX)
cgdirs=()
cleanup() {
    set +e
    [ -n "${ctr:-}" ] && docker rm -f "$ctr" >/dev/null 2>&1
    [ -n "${FP_DOCKERD_PID:-}" ] && fp_dockerd_stop
    for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

printf '{"min_interval_s":0,"resources":{"cpu_cores":{"quantile":0.9,"headroom":1,"hysteresis":0,"max_down":1,"step":0.01}}}\n' > "$tmp/pol.json"

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print int(v[i]) }'; }

# the harness: tests/bench/roundtrip.c, built here
cc -O2 -o "$tmp/roundtrip" "$here/roundtrip.c" || { echo "apply-latency: cannot build roundtrip.c" >&2; exit 2; }

# run_fp NAME TARGET-JSON [fp-apply options]: N records through one
# fp-apply; microseconds per record into $tmp/NAME.us
run_fp() {
    local name=$1 target=$2 i v; shift 2
    for ((i = 0; i < n; i++)); do
        if ((i % 2)); then v=1.0; else v=0.5; fi
        printf '{"schema":1,"type":"prediction","id":"bench","t":%d,"target":%s,"quantiles":{"cpu_cores":{"p90":%s}}}\n' "$i" "$target" "$v"
    done > "$tmp/$name.in"
    "$tmp/roundtrip" "$tmp/$name.in" -- "$fpa" -P "$tmp/pol.json" --disable mem_bytes "$@" > "$tmp/$name.us" ||
        { echo "apply-latency: $name: fp-apply failed" >&2; exit 2; }
}

# ---- cgroup
cpu_mnt=$(awk '$9 == "cgroup" && ("," $NF ",") ~ /,cpu,/ { print $5; exit }' /proc/self/mountinfo)
if [ -n "$cpu_mnt" ]; then
    cg=$cpu_mnt/fpbench-lat
    mkdir -p "$cg"; cgdirs+=("$cg")
    knob() { echo "$(cat "$cg/cpu.cfs_quota_us")"; }
    want_last=100000
else
    cpu_mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
    echo +cpu > "$cpu_mnt/cgroup.subtree_control" 2>/dev/null || true
    cg=$cpu_mnt/fpbench-lat
    mkdir -p "$cg"; cgdirs+=("$cg")
    knob() { awk '{print $1}' "$cg/cpu.max"; }
    want_last=100000
fi
run_fp cgroup '{"cgroup":"/fpbench-lat"}'
got=$(knob)
[ "$got" = "$want_last" ] || { echo "apply-latency: cgroup quota is $got, want $want_last" >&2; exit 2; }

# ---- container
if [ "$docker" = 1 ]; then
    skip() { echo "apply-latency: $*" >&2; exit 2; }
    # shellcheck source=../bats/docker.bash
    . "$top/tests/bats/docker.bash"
    BATS_FILE_TMPDIR=$tmp
    fp_need_docker
    fp_dockerd_start "$tmp/docker" >/dev/null
    fp_busybox_image >/dev/null
    ctr=$(docker run -d --network none "$FP_BUSYBOX_IMAGE" sleep 3600)
    run_fp container "{\"container\":\"$ctr\"}" -b docker
    [ "$(docker inspect -f '{{.HostConfig.NanoCpus}}' "$ctr")" = 1000000000 ] ||
        { echo "apply-latency: docker inspect disagrees" >&2; exit 2; }
    : > "$tmp/cli.us"
    for ((i = 0; i < n / 4; i++)); do
        if ((i % 2)); then v=1.0; else v=0.5; fi
        t0=$EPOCHREALTIME
        docker update --cpus "$v" "$ctr" >/dev/null
        t1=$EPOCHREALTIME
        echo "$(( (${t1/./} - ${t0/./}) ))" >> "$tmp/cli.us"
    done
    # the engine's own share: the same POST without a client process
    # (curl's time_total: connect, request, answer)
    : > "$tmp/api.us"
    if command -v curl >/dev/null; then
        for ((i = 0; i < n / 4; i++)); do
            if ((i % 2)); then v=1000000000; else v=500000000; fi
            curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$FP_DOCKER_SOCK" -X POST \
                -H 'Content-Type: application/json' -d "{\"NanoCpus\":$v}" \
                "http://localhost/containers/$ctr/update" | awk '{ print int($1 * 1e6) }' >> "$tmp/api.us"
        done
    fi
fi

echo "apply-latency: $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), $(nproc) CPUs, $("$fpa" --version)$( [ "$docker" = 1 ] && printf ', docker %s' "$(docker version -f '{{.Server.Version}}')")"
echo
printf '%-34s %6s %10s %10s\n' case n p50_ms p99_ms
row() { awk -v c="$1" -v n="$(wc -l < "$2")" -v a="$(pct "$2" 50)" -v b="$(pct "$2" 99)" 'BEGIN { printf "%-34s %6d %10.3f %10.3f\n", c, n, a/1000, b/1000 }'; }
row "fp-apply, cgroup ($(basename "$cpu_mnt"))" "$tmp/cgroup.us"
if [ "$docker" = 1 ]; then
    row "fp-apply -b docker, container" "$tmp/container.us"
    row "docker update --cpus, container" "$tmp/cli.us"
    [ -s "$tmp/api.us" ] && row "POST .../update alone (curl)" "$tmp/api.us"
fi
echo
c50=$(pct "$tmp/cgroup.us" 50); c99=$(pct "$tmp/cgroup.us" 99)
awk -v a="$c50" -v b="$c99" 'BEGIN { printf "goal: cgroup change p50 %.3f ms, p99 %.3f ms < 1 ms %s\n", a/1000, b/1000, (b < 1000 ? "met" : "NOT met") }'
if [ "$docker" = 1 ]; then
    d50=$(pct "$tmp/container.us" 50); k50=$(pct "$tmp/cli.us" 50)
    d99=$(pct "$tmp/container.us" 99); k99=$(pct "$tmp/cli.us" 99)
    awk -v a="$d50" -v b="$k50" -v c="$d99" -v d="$k99" 'BEGIN { printf "goal: container change / docker update: p50 %.3f, p99 %.3f <= 0.2 %s\n", a/b, c/d, (a/b <= 0.2 && c/d <= 0.2 ? "met" : "NOT met") }'
fi
