/* test-summary: fp_fmt (human quantities) and the run summary of
 * fp/summary.h, from hand-made records. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp/summary.h"
#include "tap.h"

static json_t *rec(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) printf("# bad JSON in the test: %s\n", e.text);
    return j;
}

/* Add the record text to s (and drop the test's reference). */
static void add(fp_summary *s, const char *text)
{
    json_t *j = rec(text);
    ok(fp_summary_add(s, j) == 0, "add %.40s", text);
    json_decref(j);
}

int main(void)
{
    char b[64];
    /* quantities */
    is_str(fp_fmt(512, FP_UNIT_BYTES, b, sizeof b), "512 B", "bytes below 1 KiB");
    is_str(fp_fmt(1536, FP_UNIT_BYTES, b, sizeof b), "1.5 KiB", "KiB");
    is_str(fp_fmt(270841000, FP_UNIT_BYTES, b, sizeof b), "258.3 MiB", "MiB, not 2.70841e+08");
    is_str(fp_fmt(3.5 * 1073741824.0, FP_UNIT_BYTES, b, sizeof b), "3.5 GiB", "GiB");
    is_str(fp_fmt(12 * 1048576.0, FP_UNIT_BYTES_PS, b, sizeof b), "12.0 MiB/s", "a rate");
    is_str(fp_fmt(1e8, FP_UNIT_BYTE_H, b, sizeof b), "95.4 MiB-h", "byte-hours");
    is_str(fp_fmt(1.374, FP_UNIT_CORES, b, sizeof b), "1.37 cores", "cores");
    is_str(fp_fmt(326900, FP_UNIT_CORE_H, b, sizeof b), "326900 core-h", "core-hours, no exponent");
    is_str(fp_fmt(0.25, FP_UNIT_CORE_H, b, sizeof b), "0.25 core-h", "a fraction of a core-hour");
    is_str(fp_fmt(0.9613, FP_UNIT_SHARE, b, sizeof b), "96 %", "a share in percent");
    is_str(fp_fmt(0.004, FP_UNIT_SHARE, b, sizeof b), "0.4 %", "a small share keeps a decimal");
    is_str(fp_fmt(326900, FP_UNIT_NONE, b, sizeof b), "326900", "a plain number without exponent");
    is_str(fp_fmt(0.15277, FP_UNIT_NONE, b, sizeof b), "0.1528", "4 digits");
    is_str(fp_fmt(NAN, FP_UNIT_BYTES, b, sizeof b), "-", "not finite: -");
    is_str(fp_fmt_duration(0.0087, b, sizeof b), "9 ms", "ms");
    is_str(fp_fmt_duration(2.04, b, sizeof b), "2.0 s", "s");
    is_str(fp_fmt_duration(200, b, sizeof b), "3 min 20 s", "min");
    is_str(fp_fmt_duration(3900, b, sizeof b), "1 h 05 min", "h");
    is_str(fp_fmt_duration(5 * 86400, b, sizeof b), "5.0 d", "days");
    is_str(fp_fmt(2, FP_UNIT_HOURS, b, sizeof b), "2 h 00 min", "hours");
    char tiny[4];
    is_str(fp_fmt(270841000, FP_UNIT_BYTES, tiny, sizeof tiny), "258", "truncated to the buffer");
    /* units of names */
    is_int(fp_fmt_unit_of("mem_bytes_peak"), FP_UNIT_BYTES, "mem_bytes_peak: bytes");
    is_int(fp_fmt_unit_of("io_read_Bps_mean"), FP_UNIT_BYTES_PS, "io_read_Bps_mean: bytes/s");
    is_int(fp_fmt_unit_of("cpu_cores_p95"), FP_UNIT_CORES, "cpu_cores_p95: cores");
    is_int(fp_fmt_unit_of("duration_s"), FP_UNIT_SECONDS, "duration_s: seconds");
    is_int(fp_fmt_unit_of("psi_cpu_some_pct_mean"), FP_UNIT_PCT, "pct");
    is_int(fp_fmt_unit_of("ctxsw_ps_mean"), FP_UNIT_NONE, "a rate of events: plain");
    is_int(fp_fmt_unit_of("bytesize"), FP_UNIT_NONE, "a word part, not a substring");

    /* the summary of a run: under in memory (OOM), over in CPU */
    fp_summary *s = fp_summary_new();
    ok(s != NULL, "new");
    add(s, "{\"type\":\"fingerprint\",\"id\":\"w\",\"t\":2}");
    add(s, "{\"type\":\"sample\",\"t\":2}");
    add(s, "{\"type\":\"prediction\",\"id\":\"w\",\"t\":2,\"model\":\"knn:m\",\"novelty\":0.4,"
           "\"quantiles\":{\"cpu_cores\":{\"p50\":1,\"p90\":2},\"mem_bytes\":{\"p99\":104857600}}}");
    add(s, "{\"type\":\"allocation\",\"id\":\"w\",\"t\":2,\"reason\":\"prediction\",\"ok\":true,"
           "\"dry_run\":false,\"backend\":\"cgroup-v2\",\"limits\":{\"cpu_max_cores\":2.4,"
           "\"mem_high_bytes\":120586240,\"mem_max_bytes\":150994944,\"io_read_Bps\":null},"
           "\"why\":{\"cpu_cores\":\"p90 x 1.2\",\"mem_bytes\":\"p99 x 1.15\",\"io_read_Bps\":"
           "\"disabled by policy\"},\"unsupported\":{}}");
    add(s, "{\"type\":\"prediction\",\"id\":\"w\",\"t\":12,\"quantiles\":{}}");
    add(s, "{\"type\":\"allocation\",\"id\":\"w\",\"t\":12,\"reason\":\"hold\",\"ok\":true,"
           "\"limits\":{\"cpu_max_cores\":null},\"why\":{}}");
    add(s, "{\"type\":\"allocation\",\"id\":\"w\",\"t\":13,\"reason\":\"oom\",\"ok\":true,"
           "\"limits\":{\"mem_max_bytes\":314572800},\"why\":{\"mem_bytes\":\"OOM kill\"}}");
    add(s, "{\"type\":\"actual\",\"id\":\"w\",\"t\":20,\"duration_s\":20,\"exit_code\":null,"
           "\"exit_signal\":9,\"cpu_cores_peak\":0.5,\"cpu_cores_mean\":0.25,\"cpu_s\":5,"
           "\"cpu_throttled_s\":0,\"mem_bytes_peak\":150994944,\"mem_bytes_mean\":104857600,"
           "\"oom_kills\":1}");
    add(s, "{\"type\":\"error\",\"id\":\"w\",\"t\":20,\"harmed\":true,\"harmed_why\":\"OOM kill\","
           "\"resources\":{\"cpu_cores\":{\"allocated\":2.4,\"allocated_from\":\"allocation\","
           "\"actual\":0.5,\"under\":false,\"slack\":0.79},\"mem_bytes\":{\"allocated\":150994944,"
           "\"allocated_from\":\"allocation\",\"actual\":150994944,\"under\":false,\"slack\":0,"
           "\"failed\":true,\"failed_why\":\"OOM kill\"}}}");
    is_int(fp_summary_count(s), 1, "one workload (records without an id are ignored)");
    is_str(fp_summary_id(s, 0), "w", "its id");
    ok(fp_summary_id(s, 1) == NULL, "no second");
    char *t = fp_summary_text(s, "w", "fp-run");
    ok(t != NULL, "text");
    if (!t) t = strdup("");
    ok(strstr(t, "fp-run summary: w\n") == t, "headed by tool and id");
    ok(strstr(t, "  ended: killed by signal 9 after 20.0 s\n") != NULL, "the exit");
    ok(strstr(t, "predicted at 2.0 s by knn:m (novelty 0.4: like workloads it knows)") != NULL,
       "the first prediction, model, novelty");
    ok(strstr(t, "p50 1.00 cores, p90 2.00 cores") != NULL, "cpu quantiles");
    ok(strstr(t, "p99 100.0 MiB") != NULL, "memory quantile in MiB");
    ok(strstr(t, "limits at 2.0 s, reason: prediction, on cgroup-v2\n") != NULL, "the limits' head");
    ok(strstr(t, "quota 2.40 cores (p90 x 1.2)") != NULL, "cpu limit and why");
    ok(strstr(t, "high 115.0 MiB, max 144.0 MiB (p99 x 1.15)") != NULL, "memory limits and why");
    ok(strstr(t, "disk read (disabled by policy)") != NULL, "left alone");
    ok(strstr(t, "then 1 change, the last at 13.0 s (reason: oom); 1 look kept the limits:") != NULL,
       "changes and holds counted");
    ok(strstr(t, "max 300.0 MiB (OOM kill)") != NULL, "the last change");
    ok(strstr(t, "peak 0.50 cores, mean 0.25 cores, 5.0 s of CPU time, never throttled") != NULL,
       "cpu used");
    ok(strstr(t, "peak 144.0 MiB, mean 100.0 MiB, 1 OOM kill\n") != NULL, "memory used");
    ok(strstr(t, "verdict: under-provisioned, HARMED by its limit (OOM kill)") != NULL,
       "the verdict: the worst, harmed");
    ok(strstr(t, "over: 0.50 cores of 2.40 cores allocated, slack 79 %") != NULL, "cpu over");
    ok(strstr(t, "UNDER: 144.0 MiB of 144.0 MiB allocated, slack 0 %, FAILED (OOM kill), "
                 "OOM-killed 1 time") != NULL, "memory under, failed, OOM");
    free(t);
    ok(fp_summary_text(s, "nosuch", NULL) == NULL, "an unknown id: NULL");
    fp_summary_forget(s, "w");
    is_int(fp_summary_count(s), 0, "forgotten");
    /* a failed allocation, no actual */
    add(s, "{\"type\":\"prediction\",\"id\":\"x\",\"t\":1,\"quantiles\":{\"cpu_cores\":{\"p90\":1}}}");
    add(s, "{\"type\":\"allocation\",\"id\":\"x\",\"t\":1,\"reason\":\"prediction\",\"ok\":false,"
           "\"error\":\"no cgroup /fp/x\"}");
    t = fp_summary_text(s, "x", NULL);
    ok(t && strstr(t, "summary: x\n") == t, "no tool: \"summary: ID\"");
    ok(t && strstr(t, "limits: none set: no cgroup /fp/x") != NULL, "a failed allocation says why");
    ok(t && !strstr(t, "verdict"), "no error record: no verdict");
    free(t);
    fp_summary_free(s);
    fp_summary_free(NULL);
    return done_testing();
}
