/* test-systemd.c - the systemd back-end without systemd: unit names, the
 * mapping of limits to unit properties, plans and their inversion, and the
 * refusal on a host whose PID 1 is not systemd (a run root without
 * systemd/system). The D-Bus calls themselves need a booted systemd (the
 * VM tests). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/systemd.h"
#include "tap.h"

static int find(const fp_plan *p, const char *knob)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->ch[i].knob, knob)) return i;
    return -1;
}

static void fresh(fp_unit_state *st)
{
    memset(st, 0, sizeof *st);
    for (int i = 0; i < FP_SD_NPROPS; i++) {
        st->value[i] = ULLONG_MAX;
        st->known[i] = true;
    }
    st->memory_current = 50ULL * 1048576;
}

static void plan_init(fp_plan *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->backend, sizeof p->backend, "systemd");
    snprintf(p->object, sizeof p->object, "nginx.service");
}

int main(void)
{
    /* unit names */
    ok(fp_systemd_valid_unit("nginx.service"), "nginx.service is a unit");
    ok(fp_systemd_valid_unit("user@0.service") && fp_systemd_valid_unit("session-1.scope") &&
       fp_systemd_valid_unit("system-getty.slice") && fp_systemd_valid_unit("a\\x2db.mount"),
       "templates, scopes, slices, escapes");
    ok(!fp_systemd_valid_unit("nginx") && !fp_systemd_valid_unit(".service") &&
       !fp_systemd_valid_unit("../x.service") && !fp_systemd_valid_unit("a b.service") &&
       !fp_systemd_valid_unit("-x.service") && !fp_systemd_valid_unit("x.timer") &&
       !fp_systemd_valid_unit(""), "no suffix, a bare suffix, '/', a blank, a leading '-', a timer, empty: refused");
    char unit[256];
    fp_err err = {0};
    ok(fp_systemd_unit_of_cgroup("/system.slice/nginx.service", unit, sizeof unit, &err) == 0 &&
       !strcmp(unit, "nginx.service"), "unit of /system.slice/nginx.service: %s", unit);
    err.cls = FP_OK;
    ok(fp_systemd_unit_of_cgroup("/fp/w1", unit, sizeof unit, &err) < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "--unit"), "a cgroup that is no unit's: %s", err.msg);

    /* values */
    char b[32];
    unsigned long long v;
    fp_systemd_format(ULLONG_MAX, b, sizeof b);
    is_str(b, "infinity", "UINT64_MAX is infinity");
    fp_systemd_format(1200000, b, sizeof b);
    is_str(b, "1200000", "a number as decimal");
    ok(fp_systemd_parse("infinity", &v) == 0 && v == ULLONG_MAX, "infinity parses back");
    ok(fp_systemd_parse("42", &v) == 0 && v == 42, "42 parses");
    ok(fp_systemd_parse("-1", &v) < 0 && fp_systemd_parse("1e3", &v) < 0 && fp_systemd_parse("", &v) < 0 &&
       fp_systemd_parse("max", &v) < 0, "-1, 1e3, empty, max refused");

    /* the mapping, on a unit without limits */
    long ps = sysconf(_SC_PAGESIZE);
    fp_unit_state st;
    fresh(&st);
    fp_plan *p = malloc(sizeof *p), *inv = malloc(sizeof *inv);
    plan_init(p);
    fp_limits w;
    fp_limits_unset(&w);
    w.cpu_max_cores = 1.2;
    w.cpu_weight_cores = 0.5;
    w.mem_high_bytes = 120586240.0 + 100;   /* not a whole page */
    w.mem_max_bytes = 150994944;
    w.pids_max = 512;
    w.io_read_Bps = 1048576;
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0, "plan (%s)", err.msg);
    is_int(p->n, 5, "five properties change");
    int q = find(p, "CPUQuotaPerSecUSec");
    is_str(q >= 0 ? p->ch[q].value : "", "1200000", "1.2 cores: 1200000 us per second");
    is_str(q >= 0 ? p->ch[q].previous : "", "infinity", "previous: infinity");
    q = find(p, "CPUWeight");
    is_str(q >= 0 ? p->ch[q].value : "", "50", "0.5 core of weight: CPUWeight 50");
    q = find(p, "MemoryHigh");
    snprintf(b, sizeof b, "%llu", (120586240ULL + 100) / (unsigned long long)ps * (unsigned long long)ps);
    is_str(q >= 0 ? p->ch[q].value : "", b, "MemoryHigh rounded down to whole pages");
    q = find(p, "TasksMax");
    is_str(q >= 0 ? p->ch[q].value : "", "512", "TasksMax");
    ok(find(p, "MemoryHigh") < find(p, "MemoryMax"), "from infinity (a shrink): MemoryHigh before MemoryMax");
    ok(p->n_unsupported == 1 && !strcmp(p->unsupported[0].limit, "io_read_Bps"),
       "I/O limits are unsupported, with a reason");

    /* revert: the inverse plan puts infinity back, in reverse order */
    fp_plan_invert(p, inv);
    is_int(inv->n, 5, "inverse has five changes");
    is_str(inv->ch[0].knob, p->ch[4].knob, "in reverse order");
    q = find(inv, "CPUQuotaPerSecUSec");
    is_str(q >= 0 ? inv->ch[q].value : "", "infinity", "inverse quota: infinity");
    is_str(q >= 0 ? inv->ch[q].previous : "", "1200000", "inverse previous: the quota");
    ok(fp_plan_check_memory(inv, 50.0 * 1048576, &err) == 0, "reverting to infinity passes the memory check");
    /* issue 14: a revert's values are strict and pass the policy's floors */
    {
        fp_revert_rules rr = {0.05, 64.0 * 1048576, 0.10, 32.0 * 1048576, 10485760, 1048576, FP_PIDS_FLOOR};
        fp_observed ob;
        memset(&ob, 0, sizeof ob);
        ob.mem_bytes = 50.0 * 1048576;
        ok(fp_plan_check_revert_values(inv, &ob, &rr, &err) == 0, "revert values: the inverse passes");
        static const struct { const char *knob, *value; bool pass; } rv[] = {
            {"MemoryMax", "infinity", true}, {"MemoryMax", "1073741824", true},
            {"MemoryMax", "4K", false}, {"MemoryMax", "4096 ", false}, {"MemoryMax", "0", false},
            {"MemoryHigh", "62914560", false},            /* below usage x 1.1 + 32 MiB */
            {"CPUQuotaPerSecUSec", "10000", false},       /* 1 %: below 0.05 cores */
            {"CPUQuotaPerSecUSec", "50000", true}, {"CPUWeight", "1", false},
            {"CPUWeight", "100", true}, {"TasksMax", "1", false}, {"TasksMax", "64", true},
            {"TasksMax", "infinity", true}, {"Nonsense", "1", false},
        };
        for (size_t i = 0; i < sizeof rv / sizeof *rv; i++) {
            fp_plan one;
            memset(&one, 0, sizeof one);
            snprintf(one.backend, sizeof one.backend, "systemd");
            one.n = 1;
            snprintf(one.ch[0].knob, sizeof one.ch[0].knob, "%s", rv[i].knob);
            snprintf(one.ch[0].value, sizeof one.ch[0].value, "%s", rv[i].value);
            snprintf(one.ch[0].previous, sizeof one.ch[0].previous, "infinity");
            fp_err e = {0};
            int rc = fp_plan_check_revert_values(&one, &ob, &rr, &e);
            ok(rv[i].pass ? rc == 0 : rc < 0 && e.cls == FP_EINPUT, "revert %s = \"%s\" %s (%s)",
               rv[i].knob, rv[i].value, rv[i].pass ? "passes" : "is refused", e.msg);
        }
        ob.mem_bytes = FP_UNSET;
        ob.why_mem = "no MemoryCurrent";
        fp_err e = {0};
        ok(fp_plan_check_revert_values(inv, &ob, &rr, &e) == 0, "usage unknown: no memory number, passes");
        fp_plan one = *inv;
        snprintf(one.ch[0].knob, sizeof one.ch[0].knob, "MemoryMax");
        snprintf(one.ch[0].value, sizeof one.ch[0].value, "1073741824");
        ok(fp_plan_check_revert_values(&one, &ob, &rr, &e) < 0 && strstr(e.msg, "cannot be read"),
           "usage unknown: a memory number is refused (%s)", e.msg);
    }
    is_str(inv->backend, "systemd", "inverse keeps the back-end");
    is_str(inv->object, "nginx.service", "and the unit");

    /* the same limits over the values they set: nothing to change */
    st.value[FP_SD_CPU_QUOTA] = 1200000;
    st.value[FP_SD_CPU_WEIGHT] = 50;
    st.value[FP_SD_MEMORY_HIGH] = (120586240ULL + 100) / (unsigned long long)ps * (unsigned long long)ps;
    st.value[FP_SD_MEMORY_MAX] = 150994944;
    st.value[FP_SD_TASKS_MAX] = 512;
    plan_init(p);
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0 && p->n == 0, "second plan: nothing changes (%d)", p->n);

    /* shrinking memory: MemoryHigh first */
    fp_limits_unset(&w);
    w.mem_high_bytes = 80.0 * 1048576;
    w.mem_max_bytes = 100.0 * 1048576;
    plan_init(p);
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0 && p->n == 2, "shrink planned");
    ok(find(p, "MemoryHigh") < find(p, "MemoryMax"), "shrinking: MemoryHigh before MemoryMax");

    /* growing: MemoryMax first */
    w.mem_high_bytes = 180.0 * 1048576;
    w.mem_max_bytes = 200.0 * 1048576;
    plan_init(p);
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0 && p->n == 2, "growth planned");
    ok(find(p, "MemoryMax") < find(p, "MemoryHigh"), "growing: MemoryMax before MemoryHigh");

    /* below usage: refused */
    w.mem_max_bytes = 10.0 * 1048576;
    plan_init(p);
    err.cls = FP_OK;
    ok(fp_systemd_plan_limits(&st, &w, p, &err) < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "refusing MemoryMax") && strstr(err.msg, "nginx.service"),
       "memory below usage refused: %s", err.msg);

    /* unlimited, tiny quota, clamps */
    fp_limits_unset(&w);
    w.cpu_max_cores = FP_UNLIMITED;
    w.cpu_weight_cores = FP_UNLIMITED;
    w.pids_max = FP_UNLIMITED;
    plan_init(p);
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0 && p->n == 3, "unlimited planned");
    q = find(p, "CPUWeight");
    is_str(q >= 0 ? p->ch[q].value : "", "infinity", "unlimited weight: infinity (systemd's default)");
    w.cpu_max_cores = 0.001;
    w.cpu_weight_cores = 500;
    plan_init(p);
    fp_systemd_plan_limits(&st, &w, p, &err);
    q = find(p, "CPUQuotaPerSecUSec");
    is_str(q >= 0 ? p->ch[q].value : "", "10000", "a tiny quota is clamped to systemd's 1 %%");
    q = find(p, "CPUWeight");
    is_str(q >= 0 ? p->ch[q].value : "", "10000", "weight clamped to 10000");

    /* a property that could not be read is unsupported, not guessed */
    st.known[FP_SD_TASKS_MAX] = false;
    fp_limits_unset(&w);
    w.pids_max = 10;
    plan_init(p);
    ok(fp_systemd_plan_limits(&st, &w, p, &err) == 0 && p->n == 0 && p->n_unsupported == 1 &&
       strstr(p->unsupported[0].why, "TasksMax"), "unknown TasksMax: unsupported with the reason");
    w.pids_max = 1.0 / 0.0;
    err.cls = FP_OK;
    ok(fp_systemd_plan_limits(&st, &w, p, &err) < 0 && err.cls == FP_EUSAGE, "an infinite limit: FP_EUSAGE");

    /* no systemd as PID 1 */
    fp_roots r;
    fp_roots_default(&r);
    char dir[] = "/tmp/fp-test-systemd-XXXXXX";
    ok(mkdtemp(dir) != NULL, "a run root without systemd");
    snprintf(r.run, sizeof r.run, "%s", dir);
    /* the systemd cgroup driver: refusals */
    fp_cg_layout hl;
    memset(&hl, 0, sizeof hl);
    hl.version = FP_CG_HYBRID;
    fp_sd_scope sc;
    err.cls = FP_OK;
    int drc = fp_systemd_delegate(&r, &hl, "fp-run", 5, &sc, &err);
    ok(drc < 0 && err.cls == FP_EUSAGE &&
       (strstr(err.msg, "cgroup v2") || strstr(err.msg, "systemd support")),
       "delegate on a hybrid host: refused, nothing asked (%s)", err.msg);
    hl.version = FP_CG_V2;
    err.cls = FP_OK;
    drc = fp_systemd_delegate(&r, &hl, "fp-run", 5, &sc, &err);
    ok(drc < 0 && err.cls != FP_OK && (strstr(err.msg, "PID 1") || strstr(err.msg, "systemd support")),
       "delegate without systemd as PID 1: refused (%s)", err.msg);

    /* no systemd as PID 1: the back-end refuses, saying why */
    ok(!fp_systemd_booted(&r), "not booted with systemd");
    err.cls = FP_OK;
    fp_actuator *a = fp_act_systemd_new(&r, &err);
    ok(a == NULL && err.cls != FP_OK, "no back-end: %s", err.msg);
    if (fp_systemd_built())
        ok(err.cls == FP_ESYS && strstr(err.msg, "needs systemd as PID 1") && strstr(err.msg, dir),
           "the reason names the missing directory");
    else
        ok(err.cls == FP_EUSAGE && strstr(err.msg, "without systemd"), "built without systemd: said so");
    char sd[FP_PATH_MAX];
    snprintf(sd, sizeof sd, "%s/systemd", dir);
    mkdir(sd, 0755);
    snprintf(sd, sizeof sd, "%s/systemd/system", dir);
    mkdir(sd, 0755);
    ok(fp_systemd_booted(&r), "with <run>/systemd/system: booted with systemd");
    rmdir(sd);
    snprintf(sd, sizeof sd, "%s/systemd", dir);
    rmdir(sd);
    rmdir(dir);
    err.cls = FP_OK;
    ok(fp_act_systemd_unit(NULL, "x.service", &err) < 0 && err.cls == FP_EUSAGE, "--unit without the back-end: FP_EUSAGE");
    free(p);
    free(inv);
    return done_testing();
}
