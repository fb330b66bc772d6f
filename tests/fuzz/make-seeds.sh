#!/bin/sh
# tests/fuzz/make-seeds.sh - (re)write the seed corpora tests/fuzz/corpus/*
# from tests/fixtures, from records the built tools make of them, and from
# tests/fuzz/make-model-seeds.c. Run from a configured and built tree:
#   tests/fuzz/make-seeds.sh        (needs jq; writes into the source tree)
# The seeds are committed; make check only reads them. Files already in a
# corpus directory that this script does not make (minimised finds added
# by hand) are kept.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
c=tests/fuzz/corpus
fx=tests/fixtures
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
for d in record sample prediction allocation fingerprint actual window policy revert \
         replay-bitbrains replay-eager replay-fp model-linear model-knn model-vpa model-autopilot \
         model-lstm model-gru model-transformer tasktrace; do
    mkdir -p "$c/fuzz-$d"
done
one() { jq -c "$2" "$1"; }          # FILE FILTER: compact records

# records the tools make of the fixture traces
bin/fp-capture -w 600 --replay "$fx/replay/bitbrains/7.csv" > "$t/bb.jsonl"
bin/fp-capture -w 5 --replay "$fx/replay/eager/align/align (S2) (8)_cpu.csv" > "$t/eager.jsonl"
bin/fp-capture -w 2 --replay "$fx/replay/fp/job.jsonl" > "$t/job.jsonl"

# the record reader: the fp trace fixtures and the tools' records
for f in "$fx"/replay/fp/*.jsonl; do cp "$f" "$c/fuzz-record/"; done
head -n 3 "$t/job.jsonl" > "$c/fuzz-record/captured.jsonl"
printf '{"schema":1,"type":"x"}\r\n\n{"schema":2,"type":"x"}\n' > "$c/fuzz-record/crlf-schema.jsonl"

# one record of each type
one "$t/bb.jsonl" 'select(.type=="sample")' | head -n 1 > "$c/fuzz-sample/bitbrains.json"
one "$t/eager.jsonl" 'select(.type=="sample")' | tail -n 1 > "$c/fuzz-sample/eager.json"
sed -n 2p "$fx/replay/fp/job.jsonl" > "$c/fuzz-sample/missing.json"
one "$t/eager.jsonl" 'select(.type=="fingerprint")' > "$c/fuzz-fingerprint/eager.json"
printf '%s\n' '{"schema":1,"type":"fingerprint","id":"w","t":10,"window_s":10,"features":{"cpu_cores_mean":0.5,"mem_bytes_max":1e6,"x":null},"meta":{"cmd":["/usr/bin/gzip","-9","a.tar"],"image":"debian:12","labels":{"app":"x"},"process":"gzip"}}' \
    > "$c/fuzz-fingerprint/small.json"
one "$t/bb.jsonl" 'select(.type=="actual")' > "$c/fuzz-actual/bitbrains.json"
one "$t/eager.jsonl" 'select(.type=="actual")' > "$c/fuzz-actual/eager.json"
printf '%s\n' '{"schema":1,"type":"actual","id":"w","t":9,"duration_s":9,"cpu_cores_peak":1.5,"mem_bytes_p95":null,"oom_kills":1,"cpu_throttled_s":2}' \
    > "$c/fuzz-actual/small.json"

# sample streams for the window
one "$t/bb.jsonl" 'select(.type=="sample")' > "$c/fuzz-window/bitbrains.jsonl"
one "$t/eager.jsonl" 'select(.type=="sample")' > "$c/fuzz-window/eager.jsonl"
{ printf '%s\n' '{"schema":1,"type":"meta","id":"job-1","t":0,"meta":{"cmd":["make","-j4"],"source":"fp"}}'
  one "$t/job.jsonl" 'select(.type=="sample")'; } > "$c/fuzz-window/meta.jsonl"

# predictions
pred() { jq -cn --argjson q "$1" '{schema:1,type:"prediction",id:"w1",t:1,target:{cgroup:"/fp/w1",container:null,pid:null},model:"test",horizon_s:60,quantiles:$q}'; }
pred '{"cpu_cores":{"p50":0.5,"p90":1},"mem_bytes":{"p99":104857600}}' > "$c/fuzz-prediction/simple.json"
jq -cn '{schema:1,type:"prediction",id:"w",t:5,ts_ms:1700000000000,model:"knn:default",horizon_s:0,priority:2,novelty:3.5,
  quantiles:{cpu_cores:{p50:0.1,p90:0.2,p99:0.3,"p99.9":0.4},mem_bytes:{p50:1e6,p90:2e6,p99:3e6},io_read_Bps:null,
  io_write_Bps:{p90:5},net_rx_Bps:null,net_tx_Bps:{p50:0}},missing:{io_read_Bps:"no disk counters",net_rx_Bps:"n/a"}}' \
    > "$c/fuzz-prediction/full.json"

# allocations (fp-apply on the fixture tree of tests/bats/helpers.bash)
(
    d=$t/tree
    mkdir -p "$d/proc/self" "$d/cgroup"
    cp "$fx/proc-v2/self/mountinfo" "$d/proc/self/mountinfo"
    printf '0::/\n' > "$d/proc/self/cgroup"
    printf 'cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nintr 0\n' > "$d/proc/stat"
    printf 'MemTotal:        4194304 kB\nMemFree:         2097152 kB\n' > "$d/proc/meminfo"
    printf 'cpuset cpu io memory pids\n' > "$d/cgroup/cgroup.controllers"
    printf 'cpu io memory pids\n' > "$d/cgroup/cgroup.subtree_control"
    mkdir -p "$d/cgroup/fp/w1"
    cp "$fx/cgroup-v2/system.slice/work.service/"* "$d/cgroup/fp/w1/"
    printf 'max 100000\n' > "$d/cgroup/fp/w1/cpu.max"
    printf '100\n' > "$d/cgroup/fp/w1/cpu.weight"
    for k in memory.high memory.max pids.max; do printf 'max\n' > "$d/cgroup/fp/w1/$k"; done
    : > "$d/cgroup/fp/w1/io.max"
    printf 'cpu io memory pids\n' > "$d/cgroup/fp/w1/cgroup.controllers"
    printf '{"pids_max":512,"resources":{"io_read_Bps":{"enabled":true}}}' > "$t/pol.json"
    FP_PROC_ROOT="$d/proc" FP_CGROUP_ROOT="$d/cgroup" bin/fp-apply --no-pass -P "$t/pol.json" \
        < "$c/fuzz-prediction/simple.json" > "$t/alloc.jsonl"
    FP_PROC_ROOT="$d/proc" FP_CGROUP_ROOT="$d/cgroup" bin/fp-apply --no-pass --dry-run \
        < "$c/fuzz-prediction/full.json" >> "$t/alloc.jsonl" || true
    # the revert harness's tree is elsewhere: @CG@ stands for its cgroup root
    sed "s|$d/cgroup|@CG@|g" "$t/alloc.jsonl" > "$t/alloc-cg.jsonl"
)
head -n 1 "$t/alloc-cg.jsonl" > "$c/fuzz-allocation/cgroup-v2.json"
jq -cn '{schema:1,type:"allocation",id:"p",t:1,target:{cgroup:null,container:null,pid:null},reason:"prediction",
  backend:"k8s",object:"ns/pod/app",dry_run:false,ok:true,changes:[{knob:"limits.cpu",value:"1200m",previous:"1"},
  {knob:"requests.memory",value:"120586240",previous:"unknown"}]}' > "$c/fuzz-allocation/k8s.json"
jq -cn '{schema:1,type:"allocation",id:"s",t:1,backend:"swarm",object:"svc1",token:"42",dry_run:false,ok:true,
  changes:[{knob:"Limits.MemoryBytes",value:"1048576",previous:"0"},{knob:"tc:eth0",value:"rate 1mbit",previous:"none"}],
  target:{pid:7}}' > "$c/fuzz-allocation/swarm.json"
head -n 1 "$t/alloc-cg.jsonl" > "$c/fuzz-revert/one.jsonl"
cp "$t/alloc-cg.jsonl" "$c/fuzz-revert/two.jsonl"
jq -c '(.changes[] | select(.knob=="memory.max") | .previous) = "1048576"' "$c/fuzz-revert/one.jsonl" \
    > "$c/fuzz-revert/below-usage.jsonl"
jq -c '.changes[0].path = "@CG@/fp/link/cpu.max" | .object = "/fp/link"' "$c/fuzz-revert/one.jsonl" \
    > "$c/fuzz-revert/symlink.jsonl"
jq -c '.target = {cgroup:null,container:null,pid:4242} | .object = "/fp/w2" | .changes |= map(.path |= sub("/w1/";"/w2/"))' \
    "$c/fuzz-revert/one.jsonl" > "$c/fuzz-revert/by-pid.jsonl"

# a cgroup v1 plan for the revert harness's v1 tree (@CG1@)
jq -cn '{schema:1,type:"allocation",id:"w1",t:1,target:{cgroup:"/fp/w1",container:null,pid:null},reason:"prediction",
  backend:"cgroup-v1",object:"/fp/w1",dry_run:false,ok:true,error:null,
  changes:[
   {knob:"cpu.cfs_quota_us",value:"120000",previous:"-1",path:"@CG1@/cpu,cpuacct/fp/w1/cpu.cfs_quota_us"},
   {knob:"cpu.shares",value:"1228",previous:"1024",path:"@CG1@/cpu,cpuacct/fp/w1/cpu.shares"},
   {knob:"memory.soft_limit_in_bytes",value:"120586240",previous:"9223372036854771712",path:"@CG1@/memory/fp/w1/memory.soft_limit_in_bytes"},
   {knob:"memory.limit_in_bytes",value:"150994944",previous:"9223372036854771712",path:"@CG1@/memory/fp/w1/memory.limit_in_bytes"},
   {knob:"blkio.throttle.read_bps_device:8:0",value:"8:0 1048576",previous:"8:0 0",path:"@CG1@/blkio/fp/w1/blkio.throttle.read_bps_device"},
   {knob:"pids.max",value:"512",previous:"max",path:"@CG1@/pids/fp/w1/pids.max"}]}' > "$c/fuzz-revert/v1.jsonl"

# policies
printf '%s\n' '{"overcommit":"refuse","min_interval_s":10,"resources":{"cpu_cores":{"headroom":1.5}}}' > "$c/fuzz-policy/small.json"
bin/fp-apply --print-policy > "$t/p.json"
jq -c . "$t/p.json" > "$c/fuzz-policy/defaults.json"
jq -c '.overcommit = "priority" | .pids_max = 64 | .novel_mem_frac = 0.5 | .resources.io_read_Bps.enabled = true' \
    "$t/p.json" > "$c/fuzz-policy/priority.json"
# quantities as people write them ("512Mi", "500m"; fp/quantity.h)
jq -c . share/fp/examples/policy.json > "$c/fuzz-policy/quantities.json"

# traces
for f in "$fx"/replay/bitbrains/*; do cp "$f" "$c/fuzz-replay-bitbrains/"; done
for f in "$fx"/replay/fp/*; do cp "$f" "$c/fuzz-replay-fp/"; done
for f in "$fx"/tasks/*.txt "$fx"/tasks/*.csv; do cp "$f" "$c/fuzz-tasktrace/"; done
sep='--8<--'
for task in "align (S2) (8)" "align (S3) (9)"; do
    out="$c/fuzz-replay-eager/$(echo "$task" | tr -cd 'A-Za-z0-9').csv"
    : > "$out"
    for k in cpu memory metadata; do
        f="$fx/replay/eager/align/${task}_$k.csv"
        [ -f "$f" ] && cat "$f" >> "$out"
        [ "$k" = metadata ] || printf '%s\n' "$sep" >> "$out"
    done
done
for f in "$fx"/replay/eager/bad/*; do
    case $f in
    *_cpu.csv) cp "$f" "$c/fuzz-replay-eager/bad-$(basename "$f" | tr -cd 'a-z')" ;;
    *_memory.csv) { printf '%s\n' "$sep"; cat "$f"; } > "$c/fuzz-replay-eager/bad-$(basename "$f" | tr -cd 'a-z')" ;;
    *_metadata.csv) { printf '%s\n%s\n' "$sep" "$sep"; cat "$f"; } > "$c/fuzz-replay-eager/bad-$(basename "$f" | tr -cd 'a-z')" ;;
    esac
done

# models: small ones of every kind, compact
cc -std=c11 -D_GNU_SOURCE -Isrc -I. tests/fuzz/make-model-seeds.c src/.libs/libfp.so -ljansson -lm -o "$t/mms"
LD_LIBRARY_PATH=src/.libs "$t/mms" "$t/models" 2>/dev/null || { mkdir -p "$t/models"; for k in linear knn vpa autopilot lstm gru transformer; do mkdir -p "$t/models/fuzz-model-$k"; done; LD_LIBRARY_PATH=src/.libs "$t/mms" "$t/models"; }
for k in linear knn vpa autopilot lstm gru transformer; do
    jq -c . "$t/models/fuzz-model-$k/$k.json" > "$c/fuzz-model-$k/$k.json"
done
echo "make-seeds: $(find "$c" -type f | wc -l) seed files in $c"
