# eval-compact.awk - shrink fp-capture's sample records to the envelope and
# the two resources scored (cpu_cores, mem_bytes); other records unchanged.
# A metric absent from a sample is read as missing by the fp tools, as the
# replay's own nulls ("not in trace") are, so the features do not change.
function grab(key,   n) {
    n = length(key) + 3
    if (match($0, "\"" key "\":[^,}]*")) return substr($0, RSTART + n, RLENGTH - n)
    return "null"
}
index($0, "\"type\":\"sample\"") {
    match($0, /"id":"[^"]*"/); id = substr($0, RSTART, RLENGTH)
    ts = grab("ts_ms")
    printf "{\"schema\":1,\"type\":\"sample\",%s,\"t\":%s,%s\"cpu_cores\":%s,\"mem_bytes\":%s}\n",
        id, grab("t"), (ts == "null" ? "" : "\"ts_ms\":" ts ","), grab("cpu_cores"), grab("mem_bytes")
    next
}
{ print }
