#!/usr/bin/env bash
# never-harm.sh - issue 11's benchmark: does fp-run (default model) never
# harm real programs, how much memory does its first limit leave unused,
# and how much less after one --learn run. In one run, 14 real programs
# from Debian packages (xz, gzip, bzip2, zstd, sort, sqlite3, gcc -O2,
# python3, perl, stress-ng --vm/--cpu/--malloc/--hdd, dd through the page
# cache), each 5-15 s alone on a 2-core machine, on inputs the bench
# generates (an 80 MB text file and slices of it, a 320 MB file to sort, a
# 10k-line C file), under three conditions:
#
# 1. unlimited: `fp-capture -i 0.2 --no-samples -- sh -c CMD` (measures,
#    limits nothing): wall time (bash's $EPOCHREALTIME around the command,
#    so the start-up of fp-capture's cgroup is in it, as fp-run's is),
#    exit status, and the cgroup's memory peak (actual.mem_bytes_peak,
#    which includes page cache the program's cgroup was charged for).
#    The "true peak" is the largest over the repetitions.
# 2. fp-run: `fp-run -m share/fp/default-model.json --no-history -- sh -c
#    CMD`: exit status, wall time, actual.oom_kills, error.harmed,
#    actual.cpu_throttled_s, the first memory hard limit (the first
#    allocation with ok:true and a numeric limits.mem_max_bytes) and its
#    slack against the true peak, (limit - peak) / limit (negative: the
#    first limit was below the peak and had to be raised), and the raises:
#    allocations (ok) that raised the memory hard limit or the CPU quota
#    over the previous one (any reason: prediction, oom, throttling,
#    pressure), with error.memguard.pressure_raises in parentheses.
# 3. oracle: the program in a v1 memory cgroup made by the bench under its
#    own memory cgroup (/proc/self/cgroup), memory.limit_in_bytes = true
#    peak x 1.15 written before the start (`sh -c 'echo $$ >
#    DIR/cgroup.procs; exec sh -c CMD'`), no CPU limit: failed when the
#    exit status differs from the unlimited one or memory.oom_control says
#    oom_kill > 0; its slowdown.
# Unlimited, fp-run and oracle runs are interleaved per program, --reps
# times each (default 2); slowdowns are median(fp-run) / median(unlimited).
# Then --learn: the default model copied to a temporary file, every program
# run once with `fp-run --learn -m TMP` (all of them, one model learning
# 14 examples), then every program again with that model: the slack of the
# first limit of that second run.
#
# Run by hand (not part of `make check`), from a built tree, as root
# (cgroups), on cgroup v1 or hybrid, in ~15 minutes on 2 cores:
#
#   tests/bench/never-harm.sh [--reps N] [--only REGEX] [--keep]
#
# --only runs the programs whose name matches REGEX; --keep leaves the
# records in the temporary directory (its path is printed).
# Prints what it ran, one table and the goals (issue 11): 0 failures (exit
# status other than the unlimited one, an OOM kill, or error.harmed, over
# every fp-run run, the --learn ones included), slowdown <= 1.02x (median
# over programs and worst), median slack of the first memory limit <= 50%,
# <= 30% after one --learn run; each met / NOT met. The load average is
# sampled after every run (the machine may be shared: slowdowns under load
# are noisy). Exit 0 whether met or not; 2 when the run failed (not root, a
# tool missing, a program failing on its own).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
reps=2
only=
keep=0
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=${2:?--reps needs a count}; shift 2 ;;
    --only) only=${2:?--only needs a regex}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "never-harm: needs root (cgroups)" >&2; exit 2; }
missing=()
for c in jq awk perl xz gzip bzip2 zstd sort sqlite3 gcc python3 stress-ng dd; do
    command -v "$c" >/dev/null || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "never-harm: missing: ${missing[*]} (apt-get install jq xz-utils gzip bzip2 zstd coreutils sqlite3 gcc python3 perl stress-ng)" >&2
    exit 2
fi
# the real binaries, not libtool's wrappers (whose start-up would be timed)
fpr=$top/bin/fp-run
fpc=$top/bin/fp-capture
if [ -x "$top/bin/.libs/fp-run" ] && grep -q libtool "$fpr" 2>/dev/null; then
    fpr=$top/bin/.libs/fp-run
    fpc=$top/bin/.libs/fp-capture
    export LD_LIBRARY_PATH="$top/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
[ -x "$fpr" ] && [ -x "$fpc" ] || { echo "never-harm: build first ($fpr or $fpc missing)" >&2; exit 2; }
model=$top/share/fp/default-model.json
[ -r "$model" ] || { echo "never-harm: no model $model" >&2; exit 2; }
# the oracle's cgroup: under the bench's own memory cgroup, v1
memroot=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
memrel=$(sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}://p' /proc/self/cgroup)
[ -n "$memroot" ] && [ -d "$memroot$memrel" ] ||
    { echo "never-harm: needs a cgroup v1 memory hierarchy for the oracle (none mounted, or /proc/self/cgroup has no memory line)" >&2; exit 2; }
oracle_parent=$memroot$memrel

tmp=$(mktemp -d /tmp/fp-never-harm.XXXXXX)
cgdirs=()
cleanup() {
    set +e
    for d in "${cgdirs[@]}"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    if [ "$keep" = 1 ]; then
        rm -rf "$tmp/w"
        echo "never-harm: records kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
mkdir -p "$tmp/w" "$tmp/rec"
w=$tmp/w

loads=()
load1() { cut -d' ' -f1 /proc/loadavg; }
med() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "never-harm: $(date -u '+%Y-%m-%dT%H:%M:%SZ'), kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $("$fpr" -V 2>&1 | head -n 1), reps $reps"
echo "never-harm: model $model; oracle cgroups under $oracle_parent; work dir $w"

# ---- inputs -----------------------------------------------------------------
t0=$EPOCHREALTIME
perl -e 'srand(42); my @w = map { join "", map { chr(97 + int(rand(26))) } 1 .. (3 + int(rand(8))) } 1 .. 5000;
    for my $l (1 .. 1200000) { print join(" ", $l, map { $w[int(rand(@w))] } 1 .. 8), "\n" }' > "$w/text.txt"
head -c 6000000 "$w/text.txt" > "$w/t6.txt"
head -c 12000000 "$w/text.txt" > "$w/t12.txt"
cat "$w/text.txt" "$w/text.txt" "$w/text.txt" "$w/text.txt" > "$w/big.txt"
perl -e 'print "#include <stdint.h>\n"; for my $f (0 .. 199) { print "uint64_t f$f(uint64_t *v, int n) {\n uint64_t a = $f, b = 1;\n for (int i = 0; i < n; i++) {\n";
    for my $k (0 .. 40) { my $o = ("+", "^", "*", "-")[($f + $k) % 4];
        print "  a = (a $o v[(i + $k) % n]) ^ (b << ", ($k % 13) + 1, "); b += a >> ", ($k % 7) + 1, "; if (a & $k) b ^= f", ($f + $k) % ($f + 1), "(v, 0);\n" }
    print " }\n return a + b;\n}\n" }' > "$w/gen.c"
sync
echo "never-harm: inputs made in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s: text.txt $(($(stat -c %s "$w/text.txt") / 1000000)) MB, big.txt $(($(stat -c %s "$w/big.txt") / 1000000)) MB, gen.c $(wc -l < "$w/gen.c") lines"

# ---- the programs -------------------------------------------------------------
# name|shell command (run by sh -c in $w; its output must not reach stdout,
# where fp-run writes its records). A name ending in -8s runs for a fixed
# time (stress-ng --timeout: its --vm-ops and --malloc-ops counts do not
# give a stable duration): its slowdown is shown but left out of the goal.
progs=(
    "xz-6|xz -6 -T1 -c t6.txt > /dev/null"
    "gzip-9|gzip -9 -c text.txt > /dev/null"
    "bzip2-9|bzip2 -9 -c text.txt > /dev/null"
    "zstd-19|zstd -q -19 -T1 -c t12.txt > /dev/null"
    "sort-2G|LC_ALL=C sort -S 2G --parallel=1 -k3,3 -k2,2n big.txt -o sorted.out; rm -f sorted.out"
    "sqlite3|rm -f x.db; sqlite3 x.db 'PRAGMA cache_size=-400000; PRAGMA journal_mode=OFF; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<2000000) INSERT INTO t SELECT i, hex(randomblob(16)), abs(random())%1000 FROM s; CREATE INDEX tb ON t(b); SELECT c, count(*), max(b) FROM t GROUP BY c ORDER BY 2 DESC LIMIT 5;' > /dev/null; rm -f x.db"
    "gcc-O2|gcc -O2 -c gen.c -o gen.o; rm -f gen.o"
    "python3-grow|python3 -c 'import time
a = []
for i in range(16):
    a.append(bytearray(48 << 20)); time.sleep(0.4)
l = sorted(str(i) for i in range(3000000))' > /dev/null"
    "perl-hash|perl -e 'my %h; for my \$i (1 .. 2000000) { \$h{\"key\$i\"} = \"v\" x 40 . \$i } my \$n = 0; for my \$k (sort keys %h) { \$n += length \$h{\$k} } print \$n' > /dev/null"
    "stress-vm-8s|stress-ng -q --vm 1 --vm-bytes 600M --timeout 8s > /dev/null"
    "stress-cpu|stress-ng -q --cpu 2 --cpu-method matrixprod --cpu-ops 16000 > /dev/null"
    "stress-mall-8s|stress-ng -q --malloc 2 --malloc-bytes 256M --timeout 8s > /dev/null"
    "stress-hdd|stress-ng -q --hdd 1 --hdd-bytes 512M --hdd-ops 150000 --temp-path . > /dev/null"
    "dd-pagecache|dd if=/dev/zero of=dd.out bs=1M count=4000 2> /dev/null && dd if=dd.out of=/dev/null bs=1M 2> /dev/null; rm -f dd.out"
)
names=()
declare -A cmd_of
for p in "${progs[@]}"; do
    n=${p%%|*}
    [ -z "$only" ] || [[ $n =~ $only ]] || continue
    names+=("$n")
    cmd_of[$n]=${p#*|}
done
[ ${#names[@]} -gt 0 ] || { echo "never-harm: --only $only matches no program" >&2; exit 2; }
echo "never-harm: ${#names[@]} programs (sh -c CMD, in the work dir):"
for n in "${names[@]}"; do printf '  %-14s %s\n' "$n" "$(printf '%s' "${cmd_of[$n]}" | tr '\n' ' ' | cut -c1-150)"; done

# ---- one run of each kind ------------------------------------------------------
# each prints "rc wall_s" and leaves its records in $tmp/rec/NAME.KIND.I.jsonl
run_unl() {
    local f=$tmp/rec/$1.unl.$2.jsonl s rc=0
    s=$EPOCHREALTIME
    (cd "$w" && "$fpc" -i 0.2 --no-samples -- sh -c "${cmd_of[$1]}") > "$f" 2> "$f.err" || rc=$?
    awk -v rc="$rc" -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d %.3f\n", rc, b - a }'
}
# run_fp NAME TAG MODEL [fp-run options]
run_fp() {
    local f=$tmp/rec/$1.$2.jsonl m=$3 s rc=0 n=$1
    shift 3
    s=$EPOCHREALTIME
    (cd "$w" && "$fpr" -m "$m" --no-history "$@" -- sh -c "${cmd_of[$n]}") > "$f" 2> "$f.err" || rc=$?
    awk -v rc="$rc" -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d %.3f\n", rc, b - a }'
}
# run_oracle NAME I LIMIT_BYTES: prints "rc wall_s oom_kills"
run_oracle() {
    local d=$oracle_parent/fpbench-oracle-$$-$1-$2 s rc=0 k
    mkdir "$d"
    cgdirs+=("$d")
    echo "$3" > "$d/memory.limit_in_bytes"
    s=$EPOCHREALTIME
    (cd "$w" && sh -c 'echo $$ > "$1/cgroup.procs"; exec sh -c "$2"' oracle "$d" "${cmd_of[$1]}") \
        > /dev/null 2> "$tmp/rec/$1.oracle.$2.err" || rc=$?
    local e=$EPOCHREALTIME
    k=$(awk '$1 == "oom_kill" { print $2 }' "$d/memory.oom_control")
    rmdir "$d" 2>/dev/null || true
    awk -v rc="$rc" -v a="$s" -v b="$e" -v k="${k:-0}" 'BEGIN { printf "%d %.3f %d\n", rc, b - a, k }'
}
# fp_fields FILE: "first_mem_max raises pressure_raises oom_kills harmed throttled_s harmed_why first_mem_high"
fp_fields() {
    jq -s -r '
      (map(select(.type == "actual"))[0] // {}) as $a
      | (map(select(.type == "error"))[0] // {}) as $e
      | [.[] | select(.type == "allocation" and .ok == true and .dry_run != true)] as $al
      | ([$al[] | .limits.mem_max_bytes | select(type == "number")][0] // "none") as $first
      | ([$al[] | select((.limits.mem_max_bytes | type) == "number") | .limits.mem_high_bytes | select(type == "number")][0] // "none") as $firsth
      | (reduce ($al[] | .limits) as $l ({m: null, c: null, n: 0};
            (if $l.mem_max_bytes == "unlimited" then (if .m != null and .m < 1e30 then .n += 1 else . end) | .m = 1e30
             elif ($l.mem_max_bytes | type) == "number" then (if .m != null and $l.mem_max_bytes > .m then .n += 1 else . end) | .m = $l.mem_max_bytes
             else . end)
            | (if $l.cpu_max_cores == "unlimited" then (if .c != null and .c < 1e30 then .n += 1 else . end) | .c = 1e30
               elif ($l.cpu_max_cores | type) == "number" then (if .c != null and $l.cpu_max_cores > .c then .n += 1 else . end) | .c = $l.cpu_max_cores
               else . end)) | .n) as $raises
      | [$first, $raises, ($e.memguard.pressure_raises // 0), (if $a | has("oom_kills") then $a.oom_kills else null end),
         (if $e | has("harmed") then $e.harmed else null end), (if $a | has("cpu_throttled_s") then $a.cpu_throttled_s else null end), (($e.harmed_why // "-") | gsub("[ \t]"; "_")), $firsth]
      | map(tostring) | join(" ")' "$1"
}
peak_of() { jq -r 'select(.type == "actual") | .mem_bytes_peak // "null"' "$1" | head -n 1; }

declare -A unl_s fp_s or_s peak first firsth learn_firsth raises praises ooms harmed thr or_fail learn_first fail_why unl_rc
fails=0
bench_err=0
check_fp() { # NAME TAG RC: count a failure of an fp-run run; sets the fields
    local n=$1 tag=$2 rc=$3 f=$tmp/rec/$1.$2.jsonl
    read -r fm ra pr oo ha th hw fh < <(fp_fields "$f")
    local why=
    [ "$rc" = "${unl_rc[$n]}" ] || why+="exit $rc (unlimited ${unl_rc[$n]}) "
    [ "$oo" = 0 ] || why+="oom_kills $oo "
    [ "$ha" = false ] || why+="harmed $ha ($hw) "
    if [ -n "$why" ]; then
        fails=$((fails + 1))
        fail_why[$n]+="$tag: $why; "
        echo "never-harm: FAILURE $n ($tag): $why -- records $f, stderr: $(tr '\n' ' ' < "$f.err" | cut -c1-300)" >&2
    fi
}

# ---- 1-3: unlimited, fp-run, oracle ------------------------------------------
printf '\nruns (rc wall_s; fp-run: first mem_max, raises(pressure), oom_kills, harmed, throttled_s; oracle: limit, rc wall_s oom_kill)\n'
for n in "${names[@]}"; do
    us=() fs=() ps=() ths=() fms=() fhs=() ras=() prs=() oks=() has=()
    for ((i = 0; i < reps; i++)); do
        read -r rc t < <(run_unl "$n" "$i")
        loads+=("$(load1)")
        if [ "$i" = 0 ]; then unl_rc[$n]=$rc; fi
        if [ "$rc" != 0 ] || [ "$rc" != "${unl_rc[$n]}" ]; then
            echo "never-harm: $n failed on its own (exit $rc): $(tr '\n' ' ' < "$tmp/rec/$n.unl.$i.jsonl.err" | cut -c1-300)" >&2
            bench_err=1
        fi
        us+=("$t")
        ps+=("$(peak_of "$tmp/rec/$n.unl.$i.jsonl")")
        read -r rc t < <(run_fp "$n" "fp.$i" "$model")
        loads+=("$(load1)")
        fs+=("$t")
        check_fp "$n" "fp.$i" "$rc"
        read -r fm ra pr oo ha th hw fh < <(fp_fields "$tmp/rec/$n.fp.$i.jsonl")
        fms+=("$fm") fhs+=("$fh") ras+=("$ra") prs+=("$pr") oks+=("$oo") has+=("$ha") ths+=("$th")
        printf '  %-14s rep %d  unlimited: %s %6.2f s peak %s MiB   fp-run: %s %6.2f s  mem_max %s  raises %s(%s) oom %s harmed %s throttled %s s\n' \
            "$n" "$i" "${unl_rc[$n]}" "${us[-1]}" "$(awk -v p="${ps[-1]}" 'BEGIN { printf "%.0f", p / 1048576 }')" \
            "$rc" "$t" "$(awk -v v="$fm" 'BEGIN { if (v == "none") print "none"; else printf "%.0fMiB", v / 1048576 }')" "$ra" "$pr" "$oo" "$ha" "$th"
    done
    peak[$n]=$(printf '%s\n' "${ps[@]}" | sort -g | tail -n 1)
    unl_s[$n]=$(printf '%s\n' "${us[@]}" | med)
    fp_s[$n]=$(printf '%s\n' "${fs[@]}" | med)
    first[$n]=${fms[0]}
    firsth[$n]=${fhs[0]}
    raises[$n]=$(printf '%s\n' "${ras[@]}" | sort -g | tail -n 1)
    praises[$n]=$(printf '%s\n' "${prs[@]}" | sort -g | tail -n 1)
    ooms[$n]=$(printf '%s\n' "${oks[@]}" | sort -g | tail -n 1)
    harmed[$n]=$(printf '%s\n' "${has[@]}" | sort -u | tr '\n' ',' | sed 's/,$//')
    thr[$n]=$(printf '%s\n' "${ths[@]}" | med)
    # the oracle: the true peak x 1.15, page-aligned
    lim=$(awk -v p="${peak[$n]}" 'BEGIN { printf "%.0f", int(p * 1.15 / 4096 + 1) * 4096 }')
    os=() ofail=0
    for ((i = 0; i < reps; i++)); do
        read -r rc t k < <(run_oracle "$n" "$i" "$lim")
        loads+=("$(load1)")
        os+=("$t")
        if [ "$rc" != "${unl_rc[$n]}" ] || [ "$k" != 0 ]; then ofail=$((ofail + 1)); fi
        printf '  %-14s rep %d  oracle: limit %s MiB: %s %6.2f s oom_kill %s\n' "$n" "$i" \
            "$(awk -v p="$lim" 'BEGIN { printf "%.0f", p / 1048576 }')" "$rc" "$t" "$k"
    done
    or_s[$n]=$(printf '%s\n' "${os[@]}" | med)
    or_fail[$n]=$ofail
done

# ---- 4: one --learn run each, then again ------------------------------------
lmodel=$tmp/learn-model.json
cp "$model" "$lmodel"
printf '\n--learn: every program once with fp-run --learn -m %s, then every program again with that model\n' "$lmodel"
for n in "${names[@]}"; do
    read -r rc t < <(run_fp "$n" learn1 "$lmodel" --learn)
    loads+=("$(load1)")
    check_fp "$n" learn1 "$rc"
    read -r fm ra pr oo ha th hw fh < <(fp_fields "$tmp/rec/$n.learn1.jsonl")
    printf '  %-14s learn run:  %s %6.2f s  mem_max %s  raises %s(%s) oom %s harmed %s\n' "$n" "$rc" "$t" \
        "$(awk -v v="$fm" 'BEGIN { if (v == "none") print "none"; else printf "%.0fMiB", v / 1048576 }')" "$ra" "$pr" "$oo" "$ha"
done
for n in "${names[@]}"; do
    read -r rc t < <(run_fp "$n" learn2 "$lmodel")
    loads+=("$(load1)")
    check_fp "$n" learn2 "$rc"
    read -r fm ra pr oo ha th hw fh < <(fp_fields "$tmp/rec/$n.learn2.jsonl")
    learn_first[$n]=$fm
    learn_firsth[$n]=$fh
    printf '  %-14s after learn: %s %6.2f s  mem_max %s  raises %s(%s) oom %s harmed %s\n' "$n" "$rc" "$t" \
        "$(awk -v v="$fm" 'BEGIN { if (v == "none") print "none"; else printf "%.0fMiB", v / 1048576 }')" "$ra" "$pr" "$oo" "$ha"
done

# ---- table and goals ----------------------------------------------------------
slack() { awk -v l="$1" -v p="$2" 'BEGIN { if (l == "none" || l == "" || l + 0 <= 0) print "nan"; else printf "%.1f\n", 100 * (l - p) / l }'; }
printf '\n%-14s %8s %8s %8s %8s %8s %8s %8s %8s %9s %6s %5s %7s %9s %s\n' program peak_MiB unl_s fp_s slowdn "slack%" "learn%" "soft%" "lsoft%" "raises(p)" oom harmed thr_s or_fail or_slowdn
sd_all=() sl_all=() ll_all=() sh_all=() lh_all=() or_all=() or_failed=0
for n in "${names[@]}"; do
    sd=$(awk -v a="${fp_s[$n]}" -v b="${unl_s[$n]}" 'BEGIN { printf "%.3f", a / b }')
    osd=$(awk -v a="${or_s[$n]}" -v b="${unl_s[$n]}" 'BEGIN { printf "%.3f", a / b }')
    sl=$(slack "${first[$n]}" "${peak[$n]}")
    ll=$(slack "${learn_first[$n]}" "${peak[$n]}")
    sh=$(slack "${firsth[$n]:-none}" "${peak[$n]}")
    lh=$(slack "${learn_firsth[$n]:-none}" "${peak[$n]}")
    [ "$sh" = nan ] || sh_all+=("$sh")
    [ "$lh" = nan ] || lh_all+=("$lh")
    if [[ $n != *-8s ]]; then sd_all+=("$sd") or_all+=("$osd"); fi
    [ "$sl" = nan ] || sl_all+=("$sl")
    [ "$ll" = nan ] || ll_all+=("$ll")
    or_failed=$((or_failed + or_fail[$n]))
    printf '%-14s %8.0f %8.2f %8.2f %7.3fx %8s %8s %8s %8s %9s %6s %5s %7.2f %5s/%-3s %.3fx\n' "$n" \
        "$(awk -v p="${peak[$n]}" 'BEGIN { print p / 1048576 }')" "${unl_s[$n]}" "${fp_s[$n]}" "$sd" "$sl" "$ll" "$sh" "$lh" \
        "${raises[$n]}(${praises[$n]})" "${ooms[$n]}" "${harmed[$n]}" "${thr[$n]}" "${or_fail[$n]}" "$reps" "$osd"
done
printf '(peak: largest unlimited peak; unl_s, fp_s: medians of %s runs; slack%%: first memory hard limit vs peak, (limit - peak) / limit,\n first fp-run run; learn%%: the same after one --learn run;
 soft%%, lsoft%%: the same for the soft limit that came with it (memory.high on v2, the soft limit on v1: the limit to set beside
 the oracle, which is one static limit at peak x 1.15; the hard one sits x1.25 above it by policy); raises: most in one run, memguard pressure raises in ( );\n oom, harmed: worst run; thr_s: median cpu_throttled_s; or_fail: oracle runs failed / runs; or_slowdn: median oracle / unlimited;
 -8s: runs a fixed time, its slowdowns are not in the goals)\n' "$reps"
for n in "${names[@]}"; do [ -z "${fail_why[$n]:-}" ] || echo "failure: $n: ${fail_why[$n]}"; done

lmed=$(printf '%s\n' "${loads[@]}" | med)
lmax=$(printf '%s\n' "${loads[@]}" | sort -g | tail -n 1)
echo
echo "load average (1 min) sampled after each of ${#loads[@]} runs: median $lmed, max $lmax; now $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
goal() { # TEXT OK(0/1)
    if [ "$2" = 1 ]; then printf '%-78s met\n' "$1"; else printf '%-78s NOT met\n' "$1"; fi
}
nrun=$(( ${#names[@]} * (reps + 2) ))
goal "failures under fp-run (exit, OOM kill, harmed; $nrun runs): $fails (goal 0)" "$([ "$fails" = 0 ] && echo 1 || echo 0)"
m=$(printf '%s\n' "${sd_all[@]}" | med)
x=$(printf '%s\n' "${sd_all[@]}" | sort -g | tail -n 1)
xn=$(for n in "${names[@]}"; do [[ $n != *-8s ]] || continue; awk -v a="${fp_s[$n]}" -v b="${unl_s[$n]}" -v n="$n" 'BEGIN { printf "%.6f %s\n", a / b, n }'; done | sort -g | tail -n 1 | cut -d' ' -f2)
goal "slowdown, median over ${#sd_all[@]} work-bound programs: $(printf '%.3f' "$m")x (goal <= 1.02x)" "$(awk -v v="$m" 'BEGIN { print (v <= 1.02) ? 1 : 0 }')"
goal "slowdown, worst: $(printf '%.3f' "$x")x ($xn) (goal <= 1.02x)" "$(awk -v v="$x" 'BEGIN { print (v <= 1.02) ? 1 : 0 }')"
m=$(printf '%s\n' "${sl_all[@]}" | med)
goal "memory slack of the first limit, median over ${#sl_all[@]} programs: $m% (goal <= 50%)" "$(awk -v v="$m" 'BEGIN { print (v != "nan" && v <= 50) ? 1 : 0 }')"
# a first limit below the peak counts as negative slack above: say how
# many there were (each was raised in time, or a failure says otherwise)
# and the median of those that covered the peak, so a low median cannot
# come from limits set too low
below=$(printf '%s\n' "${sl_all[@]}" | awk '$1 < 0' | wc -l)
m=$(printf '%s\n' "${sl_all[@]}" | awk '$1 >= 0' | med)
echo "  first limit below the peak (raised by the growth floor and the guard): $below of ${#sl_all[@]}; median slack of the other $(( ${#sl_all[@]} - below )): $m%"
m=$(printf '%s\n' "${ll_all[@]}" | med)
goal "memory slack of the first limit after one --learn run, median: $m% (goal <= 30%)" "$(awk -v v="$m" 'BEGIN { print (v != "nan" && v <= 30) ? 1 : 0 }')"
m=$(printf '%s\n' "${sh_all[@]}" | med)
goal "  the same for the soft limit: median $m% (goal <= 50%)" "$(awk -v v="$m" 'BEGIN { print (v != "nan" && v <= 50) ? 1 : 0 }')"
m=$(printf '%s\n' "${lh_all[@]}" | med)
goal "  the same for the soft limit after one --learn run: median $m% (goal <= 30%)" "$(awk -v v="$m" 'BEGIN { print (v != "nan" && v <= 30) ? 1 : 0 }')"
echo "oracle (peak x 1.15, static): $or_failed of $(( ${#names[@]} * reps )) runs failed; slowdown median $(printf '%s\n' "${or_all[@]}" | med)x, worst $(printf '%s\n' "${or_all[@]}" | sort -g | tail -n 1)x"
if [ "$bench_err" != 0 ]; then
    echo "never-harm: a program failed without limits: the run is not valid" >&2
    exit 2
fi
exit 0
