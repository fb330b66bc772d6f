# eval-oracle.awk - the hourly oracle: reads a stream of samples and
# predictions (fp-predict's, whose prediction times are the hour
# boundaries) and replaces every prediction with one whose quantile (p90)
# is the largest value each resource takes in the samples that follow it up
# to the next prediction of the same workload: the next hour's maximum.
# Workloads must come one after another (a replay). Other records dropped.
function flush(   c, m) {
    if (pid == "") return
    c = (mc == "") ? "null" : sprintf("{\"p90\":%.10g}", mc)
    m = (mm == "") ? "null" : sprintf("{\"p90\":%.10g}", mm)
    printf "{\"schema\":1,\"type\":\"prediction\",\"id\":\"%s\",\"t\":%s,\"model\":\"oracle\",\"horizon_s\":3600,\"quantiles\":{\"cpu_cores\":%s,\"mem_bytes\":%s},\"missing\":{%s%s%s}}\n",
        pid, pt, c, m, (mc == "" ? "\"cpu_cores\":\"no sample\"" : ""), (mc == "" && mm == "" ? "," : ""), (mm == "" ? "\"mem_bytes\":\"no sample\"" : "")
    for (i = 1; i <= nb; i++) print buf[i]
    nb = 0; pid = ""
}
function num(key,   n, s) {
    n = length(key) + 3
    if (match($0, "\"" key "\":[^,}]*")) { s = substr($0, RSTART + n, RLENGTH - n); return s == "null" ? "" : s + 0 }
    return ""
}
{
    if (!match($0, /"id":"[^"]*"/)) next
    id = substr($0, RSTART + 6, RLENGTH - 7)
    if (index($0, "\"type\":\"prediction\"")) {
        flush(); pid = id; pt = num("t"); mc = mm = ""; next
    }
    if (!index($0, "\"type\":\"sample\"")) next
    if (pid == "" || id != pid) { flush(); print; next }
    buf[++nb] = $0
    c = num("cpu_cores"); m = num("mem_bytes")
    if (c != "" && (mc == "" || c > mc)) mc = c
    if (m != "" && (mm == "" || m > mm)) mm = m
}
END { flush() }
