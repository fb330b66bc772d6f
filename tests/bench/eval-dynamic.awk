# eval-dynamic.awk - fp-apply's memory policy (src/policy.c defaults) driven
# by continuous predictions, replayed sample by sample; writes allocation
# records (limits.mem_max_bytes = the allocation in effect) and the samples,
# for fp-diff to score. Input: a TSV "id<TAB>req_mem_bytes" (launch
# allocation), then the fp-predict stream (samples and predictions in time
# order per workload).
#   want(t)  = max over the predictions still covering t (made in
#              (t - horizon, t]) of p99 x 1.15, at least 64 MiB, rounded up
#              to 1 MiB (fp-apply: quantile 0.99, headroom 1.15, floor, step);
#   safety   = usage x 1.10 + 32 MiB after every sample (raise when usage
#              approaches the allocation; always wins);
#   a change smaller than 10% is not made (hysteresis), a shrink is at most
#   25% and at most once per 10 s; raises are immediate. The allocation
#   decided after a sample applies from the next sample on. Before the
#   first prediction the task has its request (max_mem).
# Variables: H (horizon s), Q (quantile key, p99), HEAD (1.15).
BEGIN { MiB = 1048576; FLOOR = 64 * MiB; HYST = 0.10; DOWN = 0.25; MININT = 10 }
FNR == NR { split($0, a, "\t"); req[a[1]] = a[2]; next }
function num(key,   n, s) {
    n = length(key) + 3
    if (match($0, "\"" key "\":[^,}]*")) { s = substr($0, RSTART + n, RLENGTH - n); return s == "null" ? "" : s + 0 }
    return ""
}
function emit(id, t, v) {
    alloc[id] = v
    printf "{\"schema\":1,\"type\":\"allocation\",\"id\":\"%s\",\"t\":%s,\"reason\":\"prediction\",\"ok\":true,\"limits\":{\"mem_max_bytes\":%.0f}}\n", id, t, v
}
function up(v,   k) { k = int(v / MiB); return (k * MiB >= v) ? k * MiB : (k + 1) * MiB }
function decide(id, t, u,   w, i, fl, cur, v) {
    w = 0
    for (i = np[id]; i >= 1 && pt[id, i] > t - H; i--) if (pv[id, i] > w) w = pv[id, i]
    if (w == 0 && !(id in alloc)) return
    fl = (u != "") ? u * 1.10 + 32 * MiB : 0
    v = w * HEAD; if (v < FLOOR) v = FLOOR; v = up(v)
    if (v < fl) v = up(fl)
    cur = alloc[id]
    if (!(id in alloc) || cur == "") { emit(id, t, v); last[id] = t; return }
    if (v > cur) {
        if ((v - cur) / cur >= HYST || cur < fl) { emit(id, t, v); last[id] = t }
        return
    }
    if (cur - v < HYST * cur || t - last[id] < MININT) { if (cur < fl) { emit(id, t, up(fl)); last[id] = t }; return }
    if (v < cur * (1 - DOWN)) v = cur * (1 - DOWN)
    if (v < fl) v = up(fl)
    emit(id, t, v); last[id] = t
}
{
    if (!match($0, /"id":"[^"]*"/)) next
    id = substr($0, RSTART + 6, RLENGTH - 7)
    t = num("t")
    if (index($0, "\"type\":\"sample\"")) {
        if (!(id in seen)) { seen[id] = 1; if (req[id] != "" && req[id] != "null") emit(id, t, req[id] + 0) }
        print
        u = num("mem_bytes")
        lastu[id] = u
        decide(id, t, u)
    } else if (index($0, "\"type\":\"prediction\"")) {
        if (match($0, /"mem_bytes":\{[^}]*\}/)) {
            s = substr($0, RSTART, RLENGTH)
            if (match(s, "\"" Q "\":[^,}]*")) {
                q = substr(s, RSTART + length(Q) + 3, RLENGTH - length(Q) - 3) + 0
                np[id]++; pt[id, np[id]] = t; pv[id, np[id]] = q
                decide(id, t, lastu[id])
            }
        }
    } else if (index($0, "\"type\":\"actual\"")) {
        delete seen[id]; delete alloc[id]; delete lastu[id]; np[id] = 0
    }
}
