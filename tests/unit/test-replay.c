/* test-replay.c - recorded traces turned into samples.
 *
 * Against the hand-made fixtures in $FP_FIXTURES/replay (default
 * tests/fixtures/replay): for each format (fp JSON lines, Bitbrains CSV,
 * nf-core/eager InfluxDB CSV) the first samples worked out by hand, their t,
 * dropped duplicate timestamps, the id, meta (and eager's outcome), the end
 * of input, gzip and plain files alike; every reader's bad input (truncated
 * row, non-numeric or empty field, missing header column, bad timestamp,
 * malformed JSON) fails with FP_EINPUT "PATH:LINE: ..."; a missing file is
 * FP_ESYS. When the real traces are there ($FP_DATA, else /work/shared/data,
 * else ../shared/data), one Bitbrains VM and one eager task are read whole. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "fp/record.h"
#include "fp/replay.h"
#include "tap.h"

static char fix[4096];

/* Fixture path; a static rotating buffer so calls can be nested in args. */
static const char *fx(const char *rel)
{
    static char buf[4][sizeof fix + 64];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%.4000s/replay/%.60s", fix, rel);
    return b;
}

static double meta_num(const fp_replay *r, const char *key)
{
    json_t *v = json_object_get(fp_replay_meta(r), key);
    return json_is_number(v) ? json_number_value(v) : -1;
}

static bool has(const fp_sample *s, fp_metric m) { return fp_sample_has(s, m); }

/* Open path expecting success; prints the error otherwise. */
static fp_replay *must_open(const char *path)
{
    fp_err e = {0};
    fp_replay *r = fp_replay_open(path, &e);
    ok(r != NULL, "open %s", strrchr(path, '/') + 1);
    if (!r) printf("#   %s\n", e.msg);
    return r;
}

/* Expect path to fail with class cls, at open (at_open) or at some
 * fp_replay_next, with a message containing path and (if not NULL) needle
 * and needle2. */
static void expect_fail(const char *path, bool at_open, fp_errclass cls, const char *needle,
                        const char *needle2)
{
    const char *name = strrchr(path, '/') + 1;
    fp_err e = {0};
    fp_replay *r = fp_replay_open(path, &e);
    int rc = 0;
    if (at_open) {
        ok(r == NULL, "%s: open fails", name);
    } else {
        ok(r != NULL, "%s: opens", name);
        if (!r) printf("#   %s\n", e.msg);
        fp_sample s;
        while (r && (rc = fp_replay_next(r, &s, &e)) > 0) {}
        ok(rc == -1, "%s: a read fails", name);
    }
    is_int(e.cls, cls, "%s: error class", name);
    ok(strstr(e.msg, path) != NULL, "%s: message names the file", name);
    if (needle) ok(strstr(e.msg, needle) != NULL, "%s: message has '%s'", name, needle);
    if (needle2) ok(strstr(e.msg, needle2) != NULL, "%s: message has '%s'", name, needle2);
    if (strstr(e.msg, path) == NULL || (needle && !strstr(e.msg, needle)) ||
        (needle2 && !strstr(e.msg, needle2)))
        printf("#   message: %s\n", e.msg);
    fp_replay_free(r);
}

/* ------------------------------------------------------------------------ */

static void check_bitbrains(const char *path, const char *id)
{
    fp_replay *r = must_open(path);
    if (!r) return;
    fp_err e = {0};
    fp_sample s;
    is_int(fp_replay_format(r), FP_TRACE_BITBRAINS, "%s: format", id);
    is_str(fp_replay_id(r), id, "%s: id", id);
    json_t *m = fp_replay_meta(r);
    is_str(json_string_value(json_object_get(m, "source")), "bitbrains", "%s: meta source", id);
    is_str(json_string_value(json_object_get(m, "vm")), strchr(id, '/') + 1, "%s: meta vm", id);
    /* First nonzero values: the first row has 0 cores and capacities. */
    is_near(meta_num(r, "req_cpus"), 2, 0, "%s: meta req_cpus", id);
    is_near(meta_num(r, "req_mem_bytes"), 8388608.0 * 1024, 0, "%s: meta req_mem_bytes", id);
    is_near(meta_num(r, "cpu_capacity_mhz"), 5200, 1e-9, "%s: meta cpu_capacity_mhz", id);
    is_int(json_object_size(fp_replay_outcome(r)), 0, "%s: no outcome", id);

    /* Row 1 (line 2): 0 cores, 0 capacity: CPU unknown, the rest 0. */
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 1", id);
    is_near(s.t, 0, 0, "%s: sample 1 t", id);
    ok(!has(&s, FP_M_CPU_CORES), "%s: sample 1 cpu missing", id);
    is_str(s.why[FP_M_CPU_CORES], "no CPU capacity in trace", "%s: sample 1 cpu reason", id);
    is_near(s.v[FP_M_MEM_BYTES], 0, 0, "%s: sample 1 mem", id);
    ok(!has(&s, FP_M_PIDS), "%s: pids missing", id);
    is_str(s.why[FP_M_PIDS], "not in trace", "%s: pids reason", id);
    /* Row 2 (line 3): 1300 MHz of 5200 MHz over 2 cores = 0.5 cores. */
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 2", id);
    is_near(s.t, 300, 0, "%s: sample 2 t", id);
    is_near(s.v[FP_M_CPU_CORES], 0.5, 1e-12, "%s: sample 2 cpu_cores", id);
    is_near(s.v[FP_M_MEM_BYTES], 1073741824.0, 1e-3, "%s: sample 2 mem_bytes", id);
    is_near(s.v[FP_M_IO_READ_BPS], 10.5 * 1024, 1e-9, "%s: sample 2 io_read_Bps", id);
    is_near(s.v[FP_M_IO_WRITE_BPS], 2048, 1e-9, "%s: sample 2 io_write_Bps", id);
    is_near(s.v[FP_M_NET_RX_BPS], 256, 1e-9, "%s: sample 2 net_rx_Bps", id);
    is_near(s.v[FP_M_NET_TX_BPS], 1536, 1e-9, "%s: sample 2 net_tx_Bps", id);
    /* Line 4 repeats line 3's timestamp and is dropped. Line 5: capacity 0,
     * so 50 % of 2 cores = 1 core; memory 5.24288E5 KB. */
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 3", id);
    is_near(s.t, 600, 0, "%s: sample 3 t (duplicate dropped)", id);
    is_near(s.v[FP_M_CPU_CORES], 1.0, 1e-12, "%s: sample 3 cpu_cores from percent", id);
    is_near(s.v[FP_M_MEM_BYTES], 536870912.0, 1e-3, "%s: sample 3 mem_bytes", id);
    /* Line 6: 3900 MHz of 10400 MHz over 4 cores = 1.5 cores, t 901. */
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 4", id);
    is_near(s.t, 901, 0, "%s: sample 4 t", id);
    is_near(s.v[FP_M_CPU_CORES], 1.5, 1e-12, "%s: sample 4 cpu_cores", id);
    is_near(s.v[FP_M_MEM_BYTES], 2147483648.0, 1e-3, "%s: sample 4 mem_bytes", id);
    is_near(s.v[FP_M_IO_WRITE_BPS], 4096, 1e-9, "%s: sample 4 io_write_Bps", id);
    is_int(fp_replay_next(r, &s, &e), 0, "%s: end of input", id);
    is_int(fp_replay_next(r, &s, &e), 0, "%s: still at end", id);
    fp_replay_free(r);
}

static void test_bitbrains(void)
{
    check_bitbrains(fx("bitbrains/7.csv"), "bitbrains/7");
    check_bitbrains(fx("bitbrains/9.csv.gz"), "bitbrains/9");

    expect_fail(fx("bitbrains/bad-truncated.csv"), false, FP_EINPUT, ":3:", "expected 11 fields");
    expect_fail(fx("bitbrains/bad-number.csv"), false, FP_EINPUT, ":3:", "CPU usage [MHZ]");
    expect_fail(fx("bitbrains/bad-empty.csv"), false, FP_EINPUT, ":3:", "Memory usage [KB]");
    expect_fail(fx("bitbrains/bad-header.csv"), true, FP_EINPUT, ":1:", "Memory usage [KB]");
    expect_fail(fx("bitbrains/bad-timestamp.csv"), false, FP_EINPUT, ":3:", "Timestamp [ms]");
    expect_fail(fx("bitbrains/bad-order.csv"), false, FP_EINPUT, ":4:", "before");
    expect_fail(fx("bitbrains/bad-gzip.csv.gz"), false, FP_EINPUT, "corrupt gzip", NULL);
}

/* ------------------------------------------------------------------------ */

static void check_eager_s1(const char *path)
{
    const char *name = strrchr(path, '/') + 1;
    fp_replay *r = must_open(path);
    if (!r) return;
    fp_err e = {0};
    fp_sample s;
    is_int(fp_replay_format(r), FP_TRACE_EAGER, "%s: format", name);
    is_str(fp_replay_id(r), "align/align (S1) (7)", "%s: id", name);
    json_t *m = fp_replay_meta(r);
    is_str(json_string_value(json_object_get(m, "source")), "eager", "%s: meta source", name);
    is_str(json_string_value(json_object_get(m, "process")), "align", "%s: meta process", name);
    is_str(json_string_value(json_object_get(m, "task")), "align (S1) (7)", "%s: meta task", name);
    is_near(meta_num(r, "req_cpus"), 4, 0, "%s: meta req_cpus", name);
    is_near(meta_num(r, "req_mem_bytes"), 8589934592.0, 0, "%s: meta req_mem_bytes", name);
    is_near(meta_num(r, "input_files"), 3, 0, "%s: meta input_files", name);
    is_near(meta_num(r, "input_bytes"), 123456789, 0, "%s: meta input_bytes", name);
    ok(!json_object_get(m, "output_files") && !json_object_get(m, "output_bytes") &&
       !json_object_get(m, "files_output_num"), "%s: no outputs in meta", name);
    json_t *o = fp_replay_outcome(r);
    is_near(json_number_value(json_object_get(o, "output_files")), 2, 0, "%s: outcome files", name);
    is_near(json_number_value(json_object_get(o, "output_bytes")), 98765, 0,
            "%s: outcome bytes", name);

    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 1", name);
    is_near(s.t, 0, 0, "%s: sample 1 t", name);
    is_near(s.v[FP_M_CPU_CORES], 1.5, 1e-12, "%s: sample 1 cpu_cores (150 %%)", name);
    is_near(s.v[FP_M_MEM_BYTES], 42.5 * 1048576, 1e-6, "%s: sample 1 mem_bytes (42.5 MiB)", name);
    ok(!has(&s, FP_M_IO_READ_BPS), "%s: io missing", name);
    is_str(s.why[FP_M_IO_READ_BPS], "not in trace", "%s: io reason", name);
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 2", name);
    is_near(s.t, 2.25, 1e-9, "%s: sample 2 t", name);
    is_near(s.v[FP_M_CPU_CORES], 0.505, 1e-12, "%s: sample 2 cpu_cores", name);
    is_near(s.v[FP_M_MEM_BYTES], 104857600.0, 1e-6, "%s: sample 2 mem_bytes", name);
    /* The repeated 23:22:37.75 rows are dropped; -0.0001 % is clamped. */
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 3", name);
    is_near(s.t, 4.000000001, 1e-10, "%s: sample 3 t (nanoseconds kept)", name);
    is_near(s.v[FP_M_CPU_CORES], 0, 0, "%s: sample 3 cpu_cores clamped", name);
    is_near(s.v[FP_M_MEM_BYTES], 1073741824.0, 1e-6, "%s: sample 3 mem_bytes", name);
    is_int(fp_replay_next(r, &s, &e), 0, "%s: end of input", name);
    fp_replay_free(r);
}

static void test_eager(void)
{
    /* Any of the three files or the prefix names the (gzipped) task. */
    check_eager_s1(fx("eager/align/align (S1) (7)_cpu.csv.gz"));
    check_eager_s1(fx("eager/align/align (S1) (7)_memory.csv.gz"));
    check_eager_s1(fx("eager/align/align (S1) (7)_metadata.csv.gz"));
    check_eager_s1(fx("eager/align/align (S1) (7)"));

    /* Plain files; memory (unsorted in the file) starts before cpu; a +02:00
     * offset; values carried forward. */
    fp_replay *r = must_open(fx("eager/align/align (S2) (8)_cpu.csv"));
    if (r) {
        fp_err e = {0};
        fp_sample s;
        static const double t[] = {0, 0.5, 2.5, 3.5, 4.5};
        static const double cpu[] = {-1, 1, 2, 2, 3};
        static const double mem[] = {5, 5, 5, 40, 40};
        is_str(fp_replay_id(r), "align/align (S2) (8)", "S2: id");
        is_near(meta_num(r, "req_cpus"), 2, 0, "S2: meta req_cpus");
        ok(json_is_null(json_object_get(fp_replay_meta(r), "input_files")),
           "S2: input_files null");
        is_int(json_object_size(fp_replay_outcome(r)), 0, "S2: empty outcome");
        for (int i = 0; i < 5; i++) {
            is_int(fp_replay_next(r, &s, &e), 1, "S2: sample %d", i + 1);
            is_near(s.t, t[i], 1e-9, "S2: sample %d t", i + 1);
            if (cpu[i] < 0) {
                ok(!has(&s, FP_M_CPU_CORES), "S2: sample %d cpu not reported yet", i + 1);
            } else {
                is_near(s.v[FP_M_CPU_CORES], cpu[i], 1e-12, "S2: sample %d cpu_cores", i + 1);
            }
            is_near(s.v[FP_M_MEM_BYTES], mem[i] * 1048576, 1e-6, "S2: sample %d mem_bytes", i + 1);
        }
        is_int(fp_replay_next(r, &s, &e), 0, "S2: end of input");
        fp_replay_free(r);
    }

    /* Metadata only: opens, no samples. */
    r = must_open(fx("eager/align/align (S3) (9)"));
    if (r) {
        fp_err e = {0};
        fp_sample s;
        is_near(meta_num(r, "req_cpus"), 1, 0, "S3: meta req_cpus");
        is_int(fp_replay_next(r, &s, &e), 0, "S3: metadata only gives no samples");
        fp_replay_free(r);
    }

    expect_fail(fx("eager/bad/trunc (1)_cpu.csv"), false, FP_EINPUT, ":6:", "expected 12 fields");
    expect_fail(fx("eager/bad/num (1)_memory.csv"), false, FP_EINPUT, ":5:", "_value");
    expect_fail(fx("eager/bad/hdr (1)_cpu.csv"), false, FP_EINPUT, ":4:", "_time");
    expect_fail(fx("eager/bad/time (1)_cpu.csv"), false, FP_EINPUT, ":6:", "_time");
    expect_fail(fx("eager/bad/field (1)_cpu.csv"), false, FP_EINPUT, ":5:", "_field");
    expect_fail(fx("eager/bad/meta (1)_metadata.csv"), true, FP_EINPUT, ":6:", "max_mem");
    expect_fail(fx("eager/align/nope (1)_cpu.csv"), true, FP_ESYS, NULL, NULL);
}

/* ------------------------------------------------------------------------ */

static void check_fp(const char *path)
{
    const char *name = strrchr(path, '/') + 1;
    fp_replay *r = must_open(path);
    if (!r) return;
    fp_err e = {0};
    fp_sample s;
    is_int(fp_replay_format(r), FP_TRACE_FP, "%s: format", name);
    is_str(fp_replay_id(r), "job-1", "%s: id from the first record", name);
    /* Types replay does not make come back as they are (2), in order. */
    is_int(fp_replay_next(r, &s, &e), 2, "%s: the start record passes through", name);
    json_t *j = fp_replay_take(r);
    is_str(fp_record_type(j), "start", "%s: passed-through type", name);
    is_int(json_integer_value(json_object_get(json_object_get(j, "target"), "pid")), 42, "%s: passed through whole", name);
    json_decref(j);
    ok(fp_replay_take(r) == NULL, "%s: taken once", name);
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 1", name);
    is_near(s.t, 1.5, 0, "%s: sample 1 t", name);
    is_near(s.v[FP_M_CPU_CORES], 0.75, 0, "%s: sample 1 cpu_cores", name);
    is_near(s.v[FP_M_MEM_BYTES], 1048576, 0, "%s: sample 1 mem_bytes", name);
    ok(!has(&s, FP_M_IO_READ_BPS), "%s: sample 1 io_read_Bps missing", name);
    /* The sample of workload "other" is skipped; the note passes. */
    is_int(fp_replay_next(r, &s, &e), 2, "%s: the note passes through", name);
    j = fp_replay_take(r);
    is_str(fp_record_type(j), "note", "%s: note", name);
    json_decref(j);
    is_int(fp_replay_next(r, &s, &e), 1, "%s: sample 2", name);
    is_near(s.t, 3.0, 0, "%s: sample 2 t", name);
    is_near(s.v[FP_M_CPU_CORES], 1.25, 0, "%s: sample 2 cpu_cores", name);
    is_int(fp_replay_next(r, &s, &e), 2, "%s: the end record passes through", name);
    json_decref(fp_replay_take(r));
    is_int(fp_replay_next(r, &s, &e), 0, "%s: end of input", name);
    fp_replay_free(r);
}

static void test_fp(void)
{
    check_fp(fx("fp/job.jsonl"));
    check_fp(fx("fp/job.jsonl.gz"));

    fp_replay *r = must_open(fx("fp/noid.jsonl"));
    if (r) {
        fp_err e = {0};
        fp_sample s;
        is_str(fp_replay_id(r), "noid", "noid: id from the file name");
        is_int(fp_replay_next(r, &s, &e), 1, "noid: sample");
        is_near(s.v[FP_M_CPU_CORES], 2, 0, "noid: cpu_cores");
        is_int(fp_replay_next(r, &s, &e), 0, "noid: end");
        fp_replay_free(r);
    }
    expect_fail(fx("fp/bad-json.jsonl"), false, FP_EINPUT, ":3:", "malformed JSON");
    expect_fail(fx("fp/bad-field.jsonl"), false, FP_EINPUT, ":2:", "cpu_cores");
    expect_fail(fx("fp/bad-first.jsonl"), true, FP_EINPUT, ":1:", "malformed JSON");
}

/* ------------------------------------------------------------------------ */

static void test_detection(void)
{
    expect_fail(fx("unknown.txt"), true, FP_EINPUT,
                ": not a known trace format (fp samples, Bitbrains CSV, nf-core/eager CSV, Nextflow trace, sacct --parsable2)", NULL);
    expect_fail(fx("empty.txt"), true, FP_EINPUT, "not a known trace format", NULL);
    expect_fail(fx("no-such-file.csv"), true, FP_ESYS, NULL, NULL);
    expect_fail(fx("bitbrains/"), true, FP_ESYS, NULL, NULL);
}

/* ------------------------------------------------------------------------ */

/* Smallest name in dir ending with suffix (malloc'd), or NULL. */
static char *first_entry(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char *best = NULL;
    struct dirent *de;
    size_t ls = strlen(suffix);
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < ls || strcmp(de->d_name + n - ls, suffix) != 0) continue;
        if (!best || strcmp(de->d_name, best) < 0) {
            free(best);
            best = strdup(de->d_name);
        }
    }
    closedir(d);
    return best;
}

/* Read a whole real trace: no error, t increasing, some samples. */
static void read_all(const char *path, const char *what)
{
    fp_err e = {0};
    fp_replay *r = fp_replay_open(path, &e);
    ok(r != NULL, "real %s: opens", what);
    if (!r) {
        printf("#   %s\n", e.msg);
        return;
    }
    fp_sample s;
    long n = 0;
    double prev = -1;
    bool increasing = true;
    int rc;
    while ((rc = fp_replay_next(r, &s, &e)) > 0) {
        if (!(s.t > prev)) increasing = false;
        prev = s.t;
        n++;
    }
    ok(rc == 0, "real %s: read to the end", what);
    if (rc) printf("#   %s\n", e.msg);
    ok(n > 0, "real %s: %ld samples", what, n);
    ok(increasing, "real %s: t increases", what);
    fp_replay_free(r);
}

static void test_real_data(void)
{
    const char *cand[] = {getenv("FP_DATA"), "/work/shared/data", "../shared/data"};
    const char *data = NULL;
    struct stat st;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0] && !data; i++)
        if (cand[i] && *cand[i] && stat(cand[i], &st) == 0 && S_ISDIR(st.st_mode)) data = cand[i];
    if (!data) {
        printf("# skipped: no shared data\n");
        return;
    }
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s/bitbrains-rnd/2013-7", data);
    char *f = first_entry(dir, ".csv.gz");
    if (f) {
        snprintf(path, sizeof path, "%s/%s", dir, f);
        read_all(path, "bitbrains VM");
        free(f);
    } else {
        printf("# skipped: no Bitbrains files in %s\n", dir);
    }
    snprintf(dir, sizeof dir, "%s/eager/fastqc", data);
    f = first_entry(dir, "_cpu.csv.gz");
    if (f) {
        snprintf(path, sizeof path, "%s/%s", dir, f);
        read_all(path, "eager task");
        free(f);
    } else {
        printf("# skipped: no eager fastqc tasks in %s\n", dir);
    }
}

int main(void)
{
    const char *f = getenv("FP_FIXTURES");
    snprintf(fix, sizeof fix, "%s", f && *f ? f : "tests/fixtures");
    test_bitbrains();
    test_eager();
    test_fp();
    test_detection();
    test_real_data();
    return done_testing();
}
