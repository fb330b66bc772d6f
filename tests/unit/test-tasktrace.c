/* test-tasktrace.c - task-summary traces (Nextflow, Slurm sacct).
 *
 * The unit parsers against hand-worked values and bad input; the readers
 * against the fixtures in $FP_FIXTURES/tasks: columns found by name in any
 * order, human and raw units, "-" as missing, a name "PROC (TAG)" split,
 * sacct steps folded into their job, per-CPU ReqMem, --parsable's trailing
 * '|'; bad rows fail with FP_EINPUT "PATH:LINE: column 'X': ..."; what is
 * measured during a run (rchar, peaks) never reaches meta (and so never a
 * fingerprint), unless asked for with fp_tasktrace_input_from. When the
 * real traces are there ($FP_DATA, else /work/shared/data, else
 * ../shared/data) all five Sizey traces are read whole. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "fp/tasktrace.h"
#include "tap.h"

static char fix[4096];

static const char *fx(const char *rel)
{
    static char buf[4][sizeof fix + 64];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%.4000s/tasks/%.60s", fix, rel);
    return b;
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1); }

static void size_ok(const char *s, double want)
{
    double v = -1;
    int rc = fp_parse_size_bytes(s, &v);
    ok(rc == 0 && near(v, want), "size '%s' = %.0f (got rc %d, %.0f)", s, want, rc, v);
}
static void dur_ok(const char *s, double want)
{
    double v = -1;
    int rc = fp_parse_duration_s(s, &v);
    ok(rc == 0 && near(v, want), "duration '%s' = %g s (got rc %d, %g)", s, want, rc, v);
}
static void stime_ok(const char *s, double want)
{
    double v = -1;
    int rc = fp_parse_slurm_time_s(s, &v);
    ok(rc == 0 && near(v, want), "slurm time '%s' = %g s (got rc %d, %g)", s, want, rc, v);
}
static void pct_ok(const char *s, double want)
{
    double v = -1;
    int rc = fp_parse_percent(s, &v);
    ok(rc == 0 && near(v, want), "percent '%s' = %g (got rc %d, %g)", s, want, rc, v);
}
static void rc_is(int (*fn)(const char *, double *), const char *fname, const char *s, int want)
{
    double v = 0;
    int rc = fn(s, &v);
    ok(rc == want, "%s('%s') is %s (rc %d)", fname, s, want == 1 ? "missing" : "bad", rc);
}

static void parsers(void)
{
    size_ok("0", 0);
    size_ok("1024", 1024);
    size_ok("4 GB", 4294967296.0);
    size_ok("4GB", 4294967296.0);
    size_ok("4 gb", 4294967296.0);
    size_ok("4G", 4294967296.0);
    size_ok("4 GiB", 4294967296.0);
    size_ok("29.8 MB", round(29.8 * 1048576));
    size_ok("1.2 KB", round(1.2 * 1024));
    size_ok("512 B", 512);
    size_ok("7 bytes", 7);
    size_ok("6291456K", 6442450944.0);
    size_ok("4000M", 4000.0 * 1048576);
    size_ok("2 TB", 2 * 1099511627776.0);
    size_ok("1 PB", 1125899906842624.0);
    size_ok(" 3 MB ", 3145728);
    size_ok("1e3", 1000);
    rc_is(fp_parse_size_bytes, "size", "-", 1);
    rc_is(fp_parse_size_bytes, "size", "", 1);
    rc_is(fp_parse_size_bytes, "size", "  ", 1);
    rc_is(fp_parse_size_bytes, "size", "4 XB", -1);
    rc_is(fp_parse_size_bytes, "size", "-4 GB", -1);
    rc_is(fp_parse_size_bytes, "size", "GB", -1);
    rc_is(fp_parse_size_bytes, "size", "4 GB extra", -1);
    rc_is(fp_parse_size_bytes, "size", "4 G B", -1);
    rc_is(fp_parse_size_bytes, "size", "nan", -1);
    rc_is(fp_parse_size_bytes, "size", "inf", -1);
    rc_is(fp_parse_size_bytes, "size", "0x10", -1);
    rc_is(fp_parse_size_bytes, "size", "1e999", -1);

    dur_ok("12291", 12.291);
    dur_ok("0", 0);
    dur_ok("5s", 5);
    dur_ok("1m", 60);
    dur_ok("30.9s", 30.9);
    dur_ok("2h 3m", 7380);
    dur_ok("2h 3m 4s", 7384);
    dur_ok("1d 2h", 93600);
    dur_ok("120ms", 0.12);
    dur_ok("40m 30s", 2430);
    dur_ok("1h30m", 5400);
    dur_ok("3 min", 180);
    dur_ok("2 hours", 7200);
    rc_is(fp_parse_duration_s, "duration", "-", 1);
    rc_is(fp_parse_duration_s, "duration", "", 1);
    rc_is(fp_parse_duration_s, "duration", "2h 3x", -1);
    rc_is(fp_parse_duration_s, "duration", "h", -1);
    rc_is(fp_parse_duration_s, "duration", "5 s s", -1);
    rc_is(fp_parse_duration_s, "duration", "-163", -1);
    rc_is(fp_parse_duration_s, "duration", "00:01:00", -1);

    stime_ok("00:10:00", 600);
    stime_ok("1-02:03:04", 93784);
    stime_ok("30:00.500", 1800.5);
    stime_ok("2-00:00:00", 172800);
    stime_ok("05:06", 306);
    stime_ok("3-04", 3 * 86400 + 4 * 3600);
    stime_ok("3-04:05", 3 * 86400 + 4 * 3600 + 300);
    rc_is(fp_parse_slurm_time_s, "slurm time", "UNLIMITED", 1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "Partition_Limit", 1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "", 1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "12", -1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "1:2:3:4", -1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "ab:cd", -1);
    rc_is(fp_parse_slurm_time_s, "slurm time", "1.5-00:00", -1);

    pct_ok("12.5%", 12.5);
    pct_ok("12.5 %", 12.5);
    pct_ok("119.6", 119.6);
    pct_ok("0.0%", 0);
    rc_is(fp_parse_percent, "percent", "-", 1);
    rc_is(fp_parse_percent, "percent", "12.5%%", -1);
    rc_is(fp_parse_percent, "percent", "abc", -1);
    rc_is(fp_parse_percent, "percent", "%", -1);
}

static double num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static fp_tasktrace *must_open(const char *path, const char *wf)
{
    fp_err e = {0};
    fp_tasktrace *t = fp_tasktrace_open(path, wf, &e);
    ok(t != NULL, "open %s", strrchr(path, '/') + 1);
    if (!t) printf("#   %s\n", e.msg);
    return t;
}

/* Keys that are measured during a run must not be in meta. */
static void no_leak(const fp_task *task)
{
    static const char *const after[] = {"rchar_bytes", "wchar_bytes", "rchar", "wchar", "peak_rss",
                                        "mem_bytes_peak", "duration_s", "realtime", "exit_code",
                                        "status", "cpu_cores_mean"};
    bool clean = true;
    for (size_t k = 0; k < sizeof after / sizeof after[0]; k++)
        if (json_object_get(task->meta, after[k])) clean = false;
    ok(clean, "%s: meta holds nothing measured during the run", task->id);
}

static void nextflow(void)
{
    fp_err e = {0};
    fp_task task;
    fp_tasks_format fmt = FP_TASKS_SLURM;
    ok(fp_tasktrace_probe(fx("nextflow-default.txt"), &fmt, &e) == 1 && fmt == FP_TASKS_NEXTFLOW,
       "probe: the default trace.txt is a Nextflow trace");
    ok(fp_tasktrace_probe(fx("README"), NULL, &e) == 0, "probe: a README is not");
    ok(fp_tasktrace_probe(fx("no-such-file"), NULL, &e) == 0, "probe: a missing path is not (left to replay)");

    fp_tasktrace *t = must_open(fx("nextflow-default.txt"), NULL);
    if (t) {
        ok(fp_tasktrace_next(t, &task, &e) == 1, "default: first task");
        ok(!strcmp(task.id, "nextflow-default/19"), "id is WORKFLOW/task_id: %s", task.id);
        ok(eq(str(task.meta, "process"), "blast") && eq(str(task.meta, "tag"), "1"),
           "process and tag from the name 'blast (1)'");
        ok(eq(str(task.meta, "workflow"), "nextflow-default"), "workflow from the file stem");
        ok(near(num(task.measured, "duration_s"), 5), "realtime '5s' -> 5 s");
        ok(near(num(task.measured, "mem_bytes_peak"), round(29.8 * 1048576)), "peak_rss '29.8 MB'");
        ok(near(num(task.outcome, "rchar_bytes"), round(33.3 * 1048576)), "rchar in outcome");
        ok(task.start_ts == 0, "no start column: start unknown");
        no_leak(&task);
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1, "second task");
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1, "third task");
        ok(eq(str(task.meta, "process"), "split_sequences") && json_is_null(json_object_get(task.meta, "tag")),
           "a name without a tag");
        ok(near(num(task.measured, "duration_s"), 7380), "'2h 3m' realtime");
        ok(num(task.measured, "exit_code") == 137 && eq(str(task.measured, "status"), "FAILED"),
           "exit 137, FAILED");
        ok(near(num(task.measured, "cpu_cores_mean"), 1.125), "112.5%% -> 1.125 cores");
        ok(json_is_null(json_object_get(task.outcome, "wchar_bytes")), "wchar '-' is null");
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 0, "end of trace");
        fp_tasktrace_free(t);
    }

    t = must_open(fx("nextflow-full.txt"), "wf");
    if (t) {
        ok(fp_tasktrace_next(t, &task, &e) == 1, "full: first task");
        ok(!strcmp(task.id, "wf/7"), "workflow given: wf/7");
        ok(num(task.meta, "attempt") == 1 && num(task.meta, "req_cpus") == 4 &&
           num(task.meta, "req_mem_bytes") == 2147483648.0 && num(task.meta, "req_time_s") == 3600,
           "requests: attempt 1, 4 cpus, 2 GB, 1 h");
        ok(num(task.meta, "input_bytes") == 1073741824.0, "input_size column -> meta.input_bytes");
        ok(eq(str(task.meta, "process_name"), "ALIGN"), "process_name: the last part");
        ok(near(num(task.measured, "cpu_s"), 3.8 * 1200), "cpu_s = %%cpu x realtime");
        no_leak(&task);
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1 && num(task.meta, "attempt") == 2 &&
           num(task.meta, "req_mem_bytes") == 4294967296.0, "the retry: attempt 2, 4 GB");
        ok(near(num(task.measured, "duration_s"), 2430), "'40m 30s'");
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1 && json_is_null(json_object_get(task.meta, "req_time_s")),
           "time '-' is null");
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1, "the aborted task");
        ok(json_is_null(json_object_get(task.measured, "mem_bytes_peak")) &&
           json_is_string(json_object_get(task.missing, "mem_bytes_peak")), "peak '-': null with a reason");
        json_t *fp = fp_task_fingerprint(&task, NULL);
        json_t *f = json_object_get(fp, "features");
        ok(json_is_null(json_object_get(f, "mem_bytes_max")) &&
           num(f, "meta_req_mem_bytes") == 1073741824.0 && json_is_number(json_object_get(f, "emb_00")),
           "fingerprint: no sample features, the requests and the embedding");
        ok(eq(str(json_object_get(fp, "missing"), "mem_bytes"),
                   "task-summary trace: no samples before the task starts"), "with the reason");
        json_decref(fp);
        fp_task_clear(&task);
        fp_tasktrace_free(t);
    }

    t = must_open(fx("nextflow-raw.csv"), NULL);
    if (t) {
        ok(fp_tasktrace_next(t, &task, &e) == 1, "raw CSV: first task");
        ok(near(task.start_ts, 1719302573.0), "start: epoch ms");
        ok(num(task.meta, "req_mem_bytes") == 4294967296.0 && num(task.meta, "req_time_s") == 14400,
           "raw memory bytes, time ms");
        ok(num(task.measured, "mem_bytes_peak") == 274485248 && near(num(task.measured, "duration_s"), 12.291),
           "raw peak_rss, realtime");
        ok(json_is_null(json_object_get(task.meta, "input_bytes")), "no input size before the start");
        no_leak(&task);
        json_t *a = fp_task_actual(&task, NULL);
        ok(num(a, "mem_bytes_peak") == 274485248 && num(a, "exit_code") == 0 &&
           eq(str(a, "status"), "COMPLETED") && num(json_object_get(a, "outcome"), "rchar_bytes") == 145215827,
           "actual: peak, exit, status, rchar in outcome");
        ok(json_is_null(json_object_get(a, "cpu_cores_peak")) &&
           json_is_string(json_object_get(json_object_get(a, "missing"), "cpu_cores_peak")),
           "actual: no CPU peak in a summary, said why");
        json_decref(a);
        fp_task_clear(&task);
        fp_tasktrace_free(t);
    }
    t = must_open(fx("nextflow-raw.csv"), NULL);
    if (t) {
        ok(fp_tasktrace_input_from(t, "rchar", &e) == 0, "input from rchar");
        ok(fp_tasktrace_input_from(t, "nope", &e) < 0 && e.cls == FP_EUSAGE && strstr(e.msg, "nope"),
           "input from a column it lacks: FP_EUSAGE");
        ok(fp_tasktrace_next(t, &task, &e) == 1 && num(task.meta, "input_bytes") == 145215827 &&
           eq(str(task.meta, "input_from"), "rchar"), "rchar in meta.input_bytes when asked, said so");
        fp_task_clear(&task);
        fp_tasktrace_free(t);
    }

    t = must_open(fx("nextflow-quoted.csv"), NULL);
    if (t) {
        ok(fp_tasktrace_next(t, &task, &e) == 1 && eq(str(task.meta, "tag"), "a,b") &&
           num(task.measured, "mem_bytes_peak") == 1048576, "quoted CSV, own column order");
        fp_task_clear(&task);
        ok(fp_tasktrace_next(t, &task, &e) == 1 && num(task.meta, "req_mem_bytes") == 2147483648.0,
           "a quoted field with quotes inside");
        fp_task_clear(&task);
        fp_tasktrace_free(t);
    }
}

static void slurm(void)
{
    fp_err e = {0};
    fp_task task;
    fp_tasks_format fmt = FP_TASKS_NEXTFLOW;
    ok(fp_tasktrace_probe(fx("sacct.txt"), &fmt, &e) == 1 && fmt == FP_TASKS_SLURM, "probe: sacct");
    fp_tasktrace *t = must_open(fx("sacct.txt"), NULL);
    if (!t) return;
    ok(fp_tasktrace_next(t, &task, &e) == 1, "sacct: first job");
    ok(!strcmp(task.id, "sacct/1001") && eq(str(task.meta, "process"), "align"), "id and JobName");
    ok(num(task.meta, "req_mem_bytes") == 8589934592.0 && num(task.meta, "req_cpus") == 4 &&
       num(task.meta, "req_time_s") == 3600 && eq(str(task.meta, "queue"), "compute"),
       "ReqMem 8G, ReqCPUS 4, Timelimit 1 h, partition");
    ok(num(task.measured, "mem_bytes_peak") == 6442450944.0, "MaxRSS: the largest step's (6291456K)");
    ok(num(task.measured, "duration_s") == 600 && num(task.measured, "cpu_cores_mean") == 3,
       "Elapsed 10 min, TotalCPU 30 min: 3 cores");
    ok(num(task.outcome, "steps") == 2, "two steps folded in");
    no_leak(&task);
    fp_task_clear(&task);
    ok(fp_tasktrace_next(t, &task, &e) == 1, "second job");
    ok(num(task.meta, "req_mem_bytes") == 2.0 * 2000 * 1048576, "2000Mc: per CPU, times 2 CPUs");
    ok(num(task.measured, "duration_s") == 93784 && num(task.measured, "cpu_s") == 1800.5,
       "1-02:03:04 and 30:00.500");
    ok(eq(str(task.measured, "status"), "OUT_OF_MEMORY") && num(task.measured, "exit_signal") == 125,
       "OUT_OF_MEMORY, ExitCode 0:125");
    fp_task_clear(&task);
    ok(fp_tasktrace_next(t, &task, &e) == 1 && !strcmp(task.id, "sacct/1003_1"), "array task");
    ok(json_is_null(json_object_get(task.meta, "req_time_s")) && task.start_ts == 0,
       "UNLIMITED and Unknown are missing");
    ok(json_is_null(json_object_get(task.measured, "mem_bytes_peak")) &&
       json_is_string(json_object_get(task.missing, "mem_bytes_peak")), "no MaxRSS: null, said why");
    fp_task_clear(&task);
    ok(fp_tasktrace_next(t, &task, &e) == 0, "end");
    fp_tasktrace_free(t);

    t = must_open(fx("sacct-parsable.txt"), NULL);
    if (t) {
        ok(fp_tasktrace_next(t, &task, &e) == 1 && num(task.measured, "mem_bytes_peak") == 536870912,
           "--parsable's trailing '|'");
        fp_task_clear(&task);
        fp_tasktrace_free(t);
    }
}

/* Reading fails at open or at some next with FP_EINPUT naming the file and
 * line, and needle. */
static void expect_bad(const char *file, const char *needle)
{
    fp_err e = {0};
    const char *path = fx(file);
    fp_tasktrace *t = fp_tasktrace_open(path, NULL, &e);
    int rc = t ? 0 : -1;
    fp_task task;
    while (t && (rc = fp_tasktrace_next(t, &task, &e)) > 0) fp_task_clear(&task);
    ok(rc < 0 && e.cls == FP_EINPUT && strstr(e.msg, path) && strstr(e.msg, needle),
       "%s fails: %s", file, e.msg);
    fp_tasktrace_free(t);
}

static void bad(void)
{
    expect_bad("bad-unit.txt", ":3: column 'peak_rss': '4 XB' is not a size");
    expect_bad("bad-fields.txt", ":3: expected 5 fields, found 4");
    expect_bad("bad-duration.txt", ":2: column 'realtime': '2h 3x'");
    expect_bad("bad-sacct.txt", ":2: column 'ExitCode': 'zero'");
    expect_bad("README", ":1: not a task trace");
    fp_err e = {0};
    fp_tasktrace *t = fp_tasktrace_open(fx("no-such-file"), NULL, &e);
    ok(!t && e.cls == FP_ESYS, "a missing file: FP_ESYS");
}

static void real_traces(void)
{
    const char *env = getenv("FP_DATA");
    const char *dirs[] = {env ? env : "", "/work/shared/data", "../shared/data"};
    char base[4200] = "";
    struct stat st;
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/nextflow-sizey/trace_eager.csv.gz", dirs[i]);
        if (*dirs[i] && stat(p, &st) == 0) { snprintf(base, sizeof base, "%s/nextflow-sizey", dirs[i]); break; }
    }
    if (!*base) {
        printf("# skipped: the Sizey traces are not here (../shared/data/nextflow-sizey)\n");
        return;
    }
    const char *wf[] = {"chipseq", "eager", "iwd", "mag", "rnaseq"};
    const long rows[] = {2938, 1275, 1661, 6242, 1308};
    for (int i = 0; i < 5; i++) {
        char p[4400];
        snprintf(p, sizeof p, "%s/trace_%s.csv.gz", base, wf[i]);
        fp_err e = {0};
        fp_tasktrace *t = fp_tasktrace_open(p, NULL, &e);
        long n = 0, peaks = 0;
        int rc = t ? 0 : -1;
        fp_task task;
        while (t && (rc = fp_tasktrace_next(t, &task, &e)) > 0) {
            n++;
            peaks += json_is_number(json_object_get(task.measured, "mem_bytes_peak"));
            fp_task_clear(&task);
        }
        ok(rc == 0 && n == rows[i] && peaks == n, "%s: %ld tasks, each with a peak (%s)", wf[i], n,
           rc < 0 ? e.msg : "ok");
        fp_tasktrace_free(t);
    }
}

int main(void)
{
    const char *f = getenv("FP_FIXTURES");
    snprintf(fix, sizeof fix, "%s", f ? f : "tests/fixtures");
    parsers();
    nextflow();
    slurm();
    bad();
    real_traces();
    return done_testing();
}
