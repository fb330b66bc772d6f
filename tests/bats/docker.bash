# tests/bats/docker.bash - a private Docker engine for bats tests.
#
# Tests that need a real engine start their own dockerd (vfs storage, no
# iptables, no bridge: containers must use --network none), with its own
# data root, exec root, pidfile and socket, and import a busybox image from
# the host's busybox-static, since nothing can be pulled:
#
#   load docker          # or: load ../bats/docker
#   setup_file()    { fp_need_docker; fp_dockerd_start; fp_busybox_image; }
#   teardown_file() { fp_dockerd_stop; }
#   setup()         { fp_need_docker; }
#
#   @test "..." { docker run -d --network none fp-busybox:test sleep 5; ... }
#
# fp_dockerd_start exports FP_DOCKER_SOCK, DOCKER_HOST=unix://$FP_DOCKER_SOCK,
# FP_DOCKERD_DIR and FP_DOCKERD_PID, so libfp (fp_roots_default) and the
# docker CLI both talk to this engine. If the .bats file defines no
# teardown_file (or setup), a default one that calls fp_dockerd_stop (or
# fp_need_docker) is provided; one defined by the file replaces it.
#
# bats 1.8 cannot skip from setup_file, so fp_need_docker there only notes
# the reason (FP_DOCKER_SKIP), fp_dockerd_start and fp_busybox_image then do
# nothing, and fp_need_docker in setup (or in each test) skips.

FP_BUSYBOX_IMAGE=fp-busybox:test

_fp_docker_log() { printf '# %s\n' "$*" >&2; }

# fp_need_docker: skip the test when a Docker engine cannot be run here:
# not root, no dockerd / docker CLI, no static busybox for the image. When
# $CI is set, fail with the reason instead: CI machines are expected to run
# these tests. Called from setup_file, it exports FP_DOCKER_SKIP=reason
# and returns 0 (see above).
fp_need_docker() {
    local why=${FP_DOCKER_SKIP:-}
    if [ -n "$why" ]; then
        :
    elif [ "$(id -u)" != 0 ]; then
        why="needs root to run dockerd"
    elif ! command -v dockerd >/dev/null 2>&1; then
        why="dockerd is not installed (Debian: docker.io)"
    elif ! command -v docker >/dev/null 2>&1; then
        why="the docker CLI is not installed"
    elif [ ! -x /bin/busybox ]; then
        why="/bin/busybox is missing (Debian: busybox-static)"
    elif ! /bin/busybox --list >/dev/null 2>&1; then
        why="/bin/busybox does not list its applets"
    elif [ ! -d /sys/fs/cgroup ]; then
        why="no /sys/fs/cgroup"
    fi
    if [ -z "$why" ]; then return 0; fi
    if [ -n "${CI:-}" ]; then
        echo "fp_need_docker: a Docker engine is required in CI (CI=$CI), but $why" >&2
        return 1
    fi
    if [[ " ${FUNCNAME[*]} " == *" setup_file "* ]]; then
        export FP_DOCKER_SKIP=$why
        return 0
    fi
    skip "Docker engine unavailable: $why"
}

# fp_dockerd_start [DIR]: start dockerd with everything under DIR (default:
# a new directory under $BATS_FILE_TMPDIR, else /tmp) and wait (up to
# FP_DOCKERD_WAIT seconds, default 60) until `docker version` answers on
# its socket. The socket and exec root go to a short directory under /tmp
# when DIR is too long for a unix socket path. On failure it prints the
# end of the daemon log, stops whatever it started and returns 1.
fp_dockerd_start() {
    local dir=${1:-} run wait=${FP_DOCKERD_WAIT:-60} i
    if [ -n "${FP_DOCKER_SKIP:-}" ]; then return 0; fi
    if [ -n "${FP_DOCKERD_PID:-}" ] && kill -0 "$FP_DOCKERD_PID" 2>/dev/null; then
        echo "fp_dockerd_start: dockerd $FP_DOCKERD_PID is already running" >&2
        return 1
    fi
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/dockerd.XXXXXX") || return 1
    fi
    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd -P)
    # sun_path holds 108 bytes; containerd's socket lives deeper in exec-root
    if [ ${#dir} -le 48 ]; then
        run=$dir/run
        FP_DOCKERD_RUNDIR=
    else
        run=$(mktemp -d /tmp/fp-dockerd.XXXXXX) || return 1
        FP_DOCKERD_RUNDIR=$run
    fi
    mkdir -p "$dir/data" "$run" || return 1
    export FP_DOCKERD_DIR=$dir FP_DOCKERD_RUNDIR
    export FP_DOCKER_SOCK=$run/docker.sock
    export DOCKER_HOST=unix://$FP_DOCKER_SOCK

    # fd 3 must not reach a background process, or bats waits for it
    dockerd --storage-driver=vfs --iptables=false --ip6tables=false \
        --bridge=none --ip-forward=false --ip-masq=false \
        --userland-proxy=false --shutdown-timeout=5 \
        --data-root "$dir/data" --exec-root "$run/exec" \
        --pidfile "$run/dockerd.pid" -H "unix://$FP_DOCKER_SOCK" \
        </dev/null >"$dir/dockerd.log" 2>&1 3>&- &
    export FP_DOCKERD_PID=$!

    for ((i = 0; i < wait * 4; i++)); do
        if timeout 10 docker -H "unix://$FP_DOCKER_SOCK" version >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$FP_DOCKERD_PID" 2>/dev/null; then
            echo "fp_dockerd_start: dockerd exited during start-up; its log ends:" >&2
            tail -n 25 "$dir/dockerd.log" >&2
            fp_dockerd_stop
            return 1
        fi
        sleep 0.25
    done
    echo "fp_dockerd_start: dockerd did not answer on $FP_DOCKER_SOCK within ${wait}s; its log ends:" >&2
    tail -n 25 "$dir/dockerd.log" >&2
    fp_dockerd_stop
    return 1
}

# The pids of processes whose command line mentions one of our directories
# (dockerd's containerd, container shims), found through /proc.
_fp_dockerd_pids() {
    local p cmd d
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
        for d in "$@"; do
            [ -n "$d" ] || continue
            case "$cmd" in *"$d/"*) echo "${p#/proc/}"; break ;; esac
        done
    done
}

# Unmount everything mounted at or below the given directories, deepest
# first (dockerd bind-mounts its data root and keeps netns and shm mounts).
_fp_dockerd_umount() {
    local d m
    for d in "$@"; do
        [ -n "$d" ] || continue
        awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
            sort -r | while read -r m; do
                umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
            done
    done
}

# Kill the processes of this engine's containers: those in a cgroup named
# after a container of its data root (dockerd's cgroupfs layout: .../<id>).
_fp_dockerd_kill_containers() {
    local dir=$1 c f p
    [ -d "$dir/data/containers" ] || return 0
    for c in "$dir"/data/containers/*; do
        [ -d "$c" ] || continue
        for f in /sys/fs/cgroup/docker/"${c##*/}"/cgroup.procs \
                 /sys/fs/cgroup/*/docker/"${c##*/}"/cgroup.procs \
                 /sys/fs/cgroup/system.slice/docker-"${c##*/}".scope/cgroup.procs; do
            [ -r "$f" ] || continue
            while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$f"
        done
    done
}

# fp_dockerd_stop: remove all containers, stop dockerd (TERM, then KILL
# after 30 s), end leftover containerd/shim/container processes of this
# engine by pid, unmount what it left mounted and remove its directories.
# Safe to call twice or when nothing was started.
fp_dockerd_stop() {
    local pid=${FP_DOCKERD_PID:-} dir=${FP_DOCKERD_DIR:-} run=${FP_DOCKERD_RUNDIR:-}
    local i ids p
    if [ -z "$pid$dir" ]; then return 0; fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        ids=$(timeout 20 docker -H "unix://$FP_DOCKER_SOCK" ps -aq 2>/dev/null) || ids=
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            timeout 60 docker -H "unix://$FP_DOCKER_SOCK" rm -f $ids >/dev/null 2>&1 || true
        fi
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 120; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    # whatever is left of this engine: containers, its containerd, shims
    if [ -n "$dir" ]; then _fp_dockerd_kill_containers "$dir"; fi
    for i in 1 2 3; do
        p=$(_fp_dockerd_pids "$dir" "$run")
        if [ -z "$p" ]; then break; fi
        # shellcheck disable=SC2086
        kill -KILL $p 2>/dev/null || true
        sleep 0.5
    done
    _fp_dockerd_umount "$dir" "$run"
    if [ -n "$dir" ]; then
        rm -rf "$dir/data" "$dir/run" "$dir/rootfs" "$dir/dockerd.log" || true
        rmdir "$dir" 2>/dev/null || true
    fi
    if [ -n "$run" ]; then rm -rf "$run" || true; fi
    unset FP_DOCKERD_PID FP_DOCKERD_DIR FP_DOCKERD_RUNDIR FP_DOCKER_SOCK DOCKER_HOST
    return 0
}

# fp_busybox_image: import $FP_BUSYBOX_IMAGE (fp-busybox:test) into the
# running engine from /bin/busybox (static): a root fs with bin/busybox and
# a symlink per applet (sh, sleep, dd, yes, cat, ...). Does nothing when the
# image already exists.
fp_busybox_image() {
    local root a
    if [ -n "${FP_DOCKER_SKIP:-}" ]; then return 0; fi
    docker image inspect "$FP_BUSYBOX_IMAGE" >/dev/null 2>&1 && return 0
    root=${FP_DOCKERD_DIR:?fp_dockerd_start first}/rootfs
    rm -rf "$root"
    mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" || return 1
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox" || return 1
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
    done
    echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    tar -C "$root" -c . |
        docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$FP_BUSYBOX_IMAGE" >/dev/null ||
        { echo "fp_busybox_image: docker import failed" >&2; rm -rf "$root"; return 1; }
    rm -rf "$root"
}

# True when function $1 is missing or still bats' own empty default.
_fp_bats_default() {
    local body
    body=$(declare -f "$1" 2>/dev/null | tail -n +2 | tr -d ' \n\t;') || return 0
    [ -z "$body" ] || [ "$body" = "{return0}" ] || [ "$body" = "{:}" ]
}
if _fp_bats_default teardown_file; then
    teardown_file() { fp_dockerd_stop; }
fi
if _fp_bats_default setup; then
    setup() { fp_need_docker; }
fi
