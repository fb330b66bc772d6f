/* test-act-k8s.c - the Kubernetes back-end: quantities, target names, the
 * plan without kubectl, the resize patch, and the kubectl runs through a
 * fake kubectl (a shell script written here that logs its argv, one
 * argument a line, and prints a canned pod). No cluster is needed. */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/actuator.h"
#include "tap.h"

#define GiB 1073741824.0
#define MiB 1048576.0

static void target(fp_target *tg, const char *ref)
{
    memset(tg, 0, sizeof *tg);
    snprintf(tg->container, sizeof tg->container, "%s", ref);
}

/* Plan `want` on ref; returns fp_act_plan's result. */
static int plan_on(fp_actuator *a, const char *ref, const fp_limits *want, fp_plan *p,
                   fp_err *err)
{
    fp_target tg;
    target(&tg, ref);
    err->cls = FP_OK;
    err->msg[0] = 0;
    return fp_act_plan(a, &tg, want, p, err);
}

static const fp_change *change(const fp_plan *p, const char *knob)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->ch[i].knob, knob) == 0) return &p->ch[i];
    return NULL;
}

static const char *why(const fp_plan *p, const char *limit)
{
    for (int i = 0; i < p->n_unsupported; i++)
        if (strcmp(p->unsupported[i].limit, limit) == 0) return p->unsupported[i].why;
    return NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Every string value below j matches the API's quantity regex, except
 * the container's name. Counts the quantities checked in *n. */
static int quantities_match(const json_t *j, const regex_t *re, int *n)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v) {
            if (strcmp(key, "name") == 0) continue;
            if (!quantities_match(v, re, n)) return 0;
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            if (!quantities_match(v, re, n)) return 0;
    } else if (json_is_string(j)) {
        (*n)++;
        return regexec(re, json_string_value(j), 0, NULL, 0) == 0;
    }
    return 1;
}

static void test_new(void)
{
    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(NULL, "Bad_NS", &err);
    ok(!a && err.cls == FP_EUSAGE, "a namespace that is not a label is refused (%s)", err.msg);
    err.cls = FP_OK;
    a = fp_act_k8s_new("", NULL, &err);
    ok(!a && err.cls == FP_EUSAGE, "an empty kubectl is refused");
    a = fp_act_k8s_new(NULL, NULL, &err);
    ok(a != NULL, "emit-only actuator");
    is_str(a ? fp_act_name(a) : NULL, "k8s", "backend name");
    fp_act_free(a);
}

static void test_quantities(void)
{
    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(NULL, NULL, &err);
    static const struct { double cores; const char *want; } cpu[] = {
        {0.5, "500m"}, {2, "2"}, {0.0001, "1m"}, {1.5, "1500m"}, {0.1 * 3, "300m"},
        {0.2501, "251m"}, {0.001, "1m"}, {1000, "1000"}, {1e-12, "1m"}, {4.0000000001, "4"},
    };
    for (size_t i = 0; i < sizeof cpu / sizeof *cpu; i++) {
        fp_limits l;
        fp_limits_unset(&l);
        l.cpu_max_cores = cpu[i].cores;
        fp_plan p;
        int rc = plan_on(a, "pod/c", &l, &p, &err);
        is_str(rc == 0 && p.n == 1 ? p.ch[0].value : NULL, cpu[i].want, "cpu %.12g cores -> %s",
               cpu[i].cores, cpu[i].want);
    }
    static const struct { double bytes; const char *want; } mem[] = {
        {1.5 * GiB, "1536Mi"}, {GiB, "1Gi"}, {3 * GiB, "3Gi"}, {256 * MiB, "256Mi"},
        {1e9, "1000000000"}, {GiB + 1, "1073741825"}, {100.5, "101"}, {0.3, "1"},
        {1024, "1024"}, {1024 * GiB, "1024Gi"},
    };
    for (size_t i = 0; i < sizeof mem / sizeof *mem; i++) {
        fp_limits l;
        fp_limits_unset(&l);
        l.mem_max_bytes = mem[i].bytes;
        fp_plan p;
        int rc = plan_on(a, "pod/c", &l, &p, &err);
        is_str(rc == 0 && p.n == 1 ? p.ch[0].value : NULL, mem[i].want, "memory %.12g B -> %s",
               mem[i].bytes, mem[i].want);
    }
    static const double bad[] = {0, NAN, INFINITY, 1e30};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fp_limits l;
        fp_limits_unset(&l);
        l.mem_high_bytes = bad[i];
        fp_plan p;
        int rc = plan_on(a, "pod/c", &l, &p, &err);
        ok(rc < 0 && err.cls == FP_EUSAGE, "memory %g is refused (%s)", bad[i], err.msg);
        fp_limits_unset(&l);
        l.cpu_weight_cores = bad[i];
        rc = plan_on(a, "pod/c", &l, &p, &err);
        ok(rc < 0 && err.cls == FP_EUSAGE, "cpu %g is refused", bad[i]);
    }
    fp_act_free(a);
}

static void test_targets(void)
{
    int rc;
    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(NULL, NULL, &err);
    fp_actuator *team = fp_act_k8s_new(NULL, "team-a", &err);
    fp_limits l;
    fp_limits_unset(&l);
    l.cpu_max_cores = 1;
    fp_plan p;
    static const struct { const char *ref, *object; } good[] = {
        {"web-0/app", "default/web-0/app"},
        {"prod/web-0/app", "prod/web-0/app"},
        {"prod/web.v1-x.example/app-2", "prod/web.v1-x.example/app-2"},
        {"0/1/2", "0/1/2"},
        {"p/c23456789012345678901234567890123456789012345678901234567890123",
         "default/p/c23456789012345678901234567890123456789012345678901234567890123"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        rc = plan_on(a, good[i].ref, &l, &p, &err);
        is_str(rc == 0 ? p.object : err.msg, good[i].object, "target %s", good[i].ref);
    }
    rc = plan_on(team, "web-0/app", &l, &p, &err);
    ok(rc == 0 && strcmp(p.object, "team-a/web-0/app") == 0,
       "namespace from fp_act_k8s_new (%s)", p.object);
    static const char *const bad[] = {
        "", "pod", "Web/app", "ns/Pod/app", "ns/pod/App", "ns/a..b/c", "ns/.pod/c", "ns/pod./c",
        "ns/pod;rm -rf/c", "ns/pod/c;x", "ns/pod/c d", "ns/pod/c\n", "/pod/c", "ns//c",
        "ns/pod/", "pod/", "/c", "a/b/c/d", "ns/-pod/c", "ns/pod-/c", "ns/pod/-c", "ns/pod/c-",
        "ns/po_d/c", "ns/../c", "../pod/c", "ns/pod/c.d", "n.s/pod/c", "ns/$(id)/c",
        "p/c234567890123456789012345678901234567890123456789012345678901234",
        "n234567890123456789012345678901234567890123456789012345678901234/p/c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = plan_on(a, bad[i], &l, &p, &err);
        char name[96];
        size_t k = 0;
        for (const char *c = bad[i]; *c && k < sizeof name - 1; c++) name[k++] = *c == '\n' ? '?' : *c;
        name[k] = 0;
        ok(rc < 0 && err.cls == FP_EINPUT, "target \"%s\" is refused (%s)", name, err.msg);
    }
    /* The 253-character limit of a pod name, only reachable through a
     * plan's object (fp_target.container is shorter). */
    fp_plan big = {.backend = "k8s", .n = 0};
    char pod[300] = "";
    for (int i = 0; i < 4; i++) strcat(pod, "a23456789012345678901234567890123456789012345678901234567890123.");
    pod[253] = 0; /* labels of 63 and dots, cut to 253: ends in a digit */
    snprintf(big.object, sizeof big.object, "ns/%s/c", pod);
    json_t *j = fp_k8s_patch(&big);
    ok(j != NULL, "a 253-character pod name is accepted");
    json_decref(j);
    snprintf(big.object, sizeof big.object, "ns/%sx/c", pod);
    j = fp_k8s_patch(&big);
    ok(j == NULL, "a 254-character pod name is refused");
    json_decref(j);
    fp_act_free(a);
    fp_act_free(team);
}

static void test_plan_emit(void)
{
    int rc;
    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(NULL, "prod", &err);
    fp_limits l;
    fp_limits_unset(&l);
    l.cpu_max_cores = 0.5;
    l.cpu_weight_cores = 0.25;
    l.mem_max_bytes = 1.5 * GiB;
    l.mem_high_bytes = GiB;
    l.io_read_Bps = 1e6;
    l.pids_max = 100;
    l.net_tx_Bps = 1e6;
    fp_plan p;
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc == 0, "plan without kubectl (%s)", err.msg);
    is_str(p.backend, "k8s", "plan backend");
    is_str(p.object, "prod/web-0/app", "plan object");
    is_int(p.n, 4, "four changes");
    static const char *const knobs[] = {"limits.cpu", "requests.cpu", "limits.memory", "requests.memory"};
    static const char *const vals[] = {"500m", "250m", "1536Mi", "1Gi"};
    for (int i = 0; i < 4 && i < p.n; i++) {
        is_str(p.ch[i].knob, knobs[i], "change %d knob", i);
        is_str(p.ch[i].value, vals[i], "change %d value", i);
        is_str(p.ch[i].previous, "unknown", "change %d previous is unknown", i);
        is_str(p.ch[i].path, "", "change %d has no path", i);
    }
    is_int(p.n_unsupported, 3, "three unsupported limits");
    const char *w = why(&p, "io_read_Bps");
    ok(w && strstr(w, "Kubernetes has no per-pod block I/O read rate limit in the resize subresource"),
       "io_read_Bps unsupported: %s", w ? w : "(none)");
    ok(why(&p, "pids_max") && strstr(why(&p, "pids_max"), "process count"), "pids_max unsupported");
    ok(why(&p, "net_tx_Bps") != NULL, "net_tx_Bps unsupported");
    ok(why(&p, "io_write_Bps") == NULL, "an unset limit is not reported");

    /* FP_UNLIMITED: a limit cannot be removed in place */
    fp_limits_unset(&l);
    l.mem_max_bytes = FP_UNLIMITED;
    l.cpu_max_cores = 2;
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc == 0 && p.n == 1, "plan with an unlimited memory");
    w = why(&p, "mem_max_bytes");
    ok(w && strstr(w, "cannot remove limits.memory"), "FP_UNLIMITED is unsupported: %s", w ? w : "(none)");
    ok(change(&p, "limits.memory") == NULL, "and not a change");

    /* Commit without kubectl: nothing runs, success; its inverse cannot be committed */
    rc = fp_act_commit(a, &p, &err);
    ok(rc == 0, "commit without kubectl succeeds");
    fp_plan inv;
    fp_plan_invert(&p, &inv);
    err.cls = FP_OK;
    rc = fp_act_commit(a, &inv, &err);
    ok(rc < 0 && err.cls == FP_EINPUT && strstr(err.msg, "unknown"),
       "the inverse of an emit-only plan is refused: %s", err.msg);
    json_t *j = fp_k8s_patch(&inv);
    ok(j == NULL, "and has no patch");
    json_decref(j);
    fp_act_free(a);
}

static void test_patch(void)
{
    int rc;
    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(NULL, NULL, &err);
    fp_limits l;
    fp_limits_unset(&l);
    l.cpu_max_cores = 0.5;
    l.cpu_weight_cores = 0.25;
    l.mem_max_bytes = 1.5 * GiB;
    l.mem_high_bytes = GiB;
    fp_plan p;
    plan_on(a, "prod/web-0/app", &l, &p, &err);
    json_t *j = fp_k8s_patch(&p);
    char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    is_str(s, "{\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":"
              "{\"cpu\":\"500m\",\"memory\":\"1536Mi\"},\"requests\":{\"cpu\":\"250m\","
              "\"memory\":\"1Gi\"}}}]}}", "patch text");
    free(s);

    regex_t re;
    rc = regcomp(&re, "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$", REG_EXTENDED | REG_NOSUB);
    ok(rc == 0, "regex compiles");
    int n = 0;
    ok(j && quantities_match(j, &re, &n) && n == 4, "the 4 quantities match the API regex");
    json_decref(j);

    /* Every formatter output over a sweep matches too. */
    int bad = 0, total = 0;
    for (double c = 1e-5; c < 5000; c *= 1.37) {
        fp_limits_unset(&l);
        l.cpu_max_cores = c;
        l.mem_max_bytes = c * 123456789.0;
        if (plan_on(a, "p/c", &l, &p, &err) < 0) { bad++; continue; }
        for (int i = 0; i < p.n; i++, total++)
            if (regexec(&re, p.ch[i].value, 0, NULL, 0) != 0) {
                bad++;
                printf("# no match: %s\n", p.ch[i].value);
            }
    }
    ok(bad == 0 && total > 50, "%d formatted quantities match the regex (%d do not)", total, bad);
    regfree(&re);

    /* Only requests: no limits object */
    fp_limits_unset(&l);
    l.mem_high_bytes = 256 * MiB;
    plan_on(a, "p/c", &l, &p, &err);
    j = fp_k8s_patch(&p);
    s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    is_str(s, "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":"
              "{\"memory\":\"256Mi\"}}}]}}", "a requests-only patch");
    free(s);
    json_decref(j);

    /* Plans fp_k8s_patch refuses */
    fp_plan q = p;
    snprintf(q.backend, sizeof q.backend, "docker");
    j = fp_k8s_patch(&q);
    ok(j == NULL, "not for a docker plan");
    json_decref(j);
    q = p;
    snprintf(q.object, sizeof q.object, "p/c");
    j = fp_k8s_patch(&q);
    ok(j == NULL, "not for an object without a namespace");
    json_decref(j);
    q = p;
    snprintf(q.ch[0].knob, sizeof q.ch[0].knob, "limits.ephemeral-storage");
    j = fp_k8s_patch(&q);
    ok(j == NULL, "not for an unknown knob");
    json_decref(j);
    q = p;
    snprintf(q.ch[0].value, sizeof q.ch[0].value, "1Gi\",\"x\":\"y");
    j = fp_k8s_patch(&q);
    ok(j == NULL, "not for a value that is not a quantity");
    json_decref(j);
    err.cls = FP_OK;
    rc = fp_act_commit(a, &q, &err);
    ok(rc < 0 && err.cls == FP_EINPUT, "commit refuses it too: %s", err.msg);
    q = p;
    q.ch[0].value[0] = 0;
    err.cls = FP_OK;
    rc = fp_act_commit(a, &q, &err);
    ok(rc < 0 && err.cls == FP_EINPUT && strstr(err.msg, "cannot remove"),
       "commit refuses removing a value: %s", err.msg);
    fp_act_free(a);
}

static const char POD_JSON[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\",\"namespace\":\"prod\"},"
    "\"spec\":{\"containers\":["
    "{\"name\":\"sidecar\",\"image\":\"envoy\",\"resources\":{\"limits\":{\"cpu\":\"100m\"}}},"
    "{\"name\":\"app\",\"image\":\"web\",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"512Mi\"},"
    "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"
    "{\"name\":\"bare\",\"image\":\"x\"}]},"
    "\"status\":{\"phase\":\"Running\"}}\n";

static void test_kubectl(void)
{
    int rc;
    char dir[] = "/tmp/fp-k8s-XXXXXX";
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    char kubectl[600], argv_log[600], pod[600], fail[600], script[4096];
    snprintf(kubectl, sizeof kubectl, "%s/kubectl", dir);
    snprintf(argv_log, sizeof argv_log, "%s/argv", dir);
    snprintf(pod, sizeof pod, "%s/pod.json", dir);
    snprintf(fail, sizeof fail, "%s/fail", dir);
    /* The fake: logs argv; `get` prints pod.json; a file "fail" holding a
     * message makes it print that to stderr and exit 1; "big" makes it
     * print 9 MiB. */
    snprintf(script, sizeof script,
             "#!/bin/sh\n"
             "d='%s'\n"
             "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done >> \"$d/argv\"\n"
             "echo -- >> \"$d/argv\"\n"
             "if [ -f \"$d/fail\" ]; then cat \"$d/fail\" >&2; exit 1; fi\n"
             "if [ -f \"$d/big\" ]; then head -c 9437184 /dev/zero; exit 0; fi\n"
             "case \"$3\" in get) cat \"$d/pod.json\";; esac\n"
             "exit 0\n", dir);
    spit(kubectl, script);
    chmod(kubectl, 0755);
    spit(pod, POD_JSON);

    fp_err err = {0};
    fp_actuator *a = fp_act_k8s_new(kubectl, "prod", &err);
    ok(a != NULL, "actuator with a fake kubectl");
    fp_limits l;
    fp_limits_unset(&l);
    l.cpu_max_cores = 0.5;
    l.mem_max_bytes = 1.5 * GiB;
    l.cpu_weight_cores = 0.25;
    fp_plan p;
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc == 0, "plan reads the pod (%s)", err.msg);
    char *log = slurp(argv_log);
    char want[2048];
    snprintf(want, sizeof want, "--namespace\nprod\nget\npod\nweb-0\n-o\njson\n--\n");
    is_str(log, want, "get: exact argv");
    free(log);
    const fp_change *c = change(&p, "limits.cpu");
    is_str(c ? c->previous : NULL, "1", "previous limits.cpu from the pod");
    c = change(&p, "limits.memory");
    is_str(c ? c->previous : NULL, "1Gi", "previous limits.memory from the pod");
    c = change(&p, "requests.cpu");
    is_str(c ? c->previous : NULL, "250m", "previous requests.cpu from the pod");
    is_str(c ? c->value : NULL, "250m", "value requests.cpu");

    /* commit: the patch arrives as one argument */
    unlink(argv_log);
    rc = fp_act_commit(a, &p, &err);
    ok(rc == 0, "commit through kubectl (%s)", err.msg);
    json_t *j = fp_k8s_patch(&p);
    char *text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(j);
    is_str(text, "{\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":{\"cpu\":\"500m\","
                 "\"memory\":\"1536Mi\"},\"requests\":{\"cpu\":\"250m\"}}}]}}", "the patch");
    snprintf(want, sizeof want,
             "--namespace\nprod\npatch\npod\nweb-0\n--subresource\nresize\n--type\nstrategic\n-p\n%s\n--\n",
             text ? text : "");
    free(text);
    log = slurp(argv_log);
    is_str(log, want, "patch: exact argv, the JSON as one element");
    free(log);

    /* revert: the previous values go back */
    fp_plan inv;
    fp_plan_invert(&p, &inv);
    unlink(argv_log);
    rc = fp_act_commit(a, &inv, &err);
    ok(rc == 0, "revert through kubectl (%s)", err.msg);
    log = slurp(argv_log);
    ok(log && strstr(log, "-p\n{\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":"
                          "{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"250m\"}}}]}}\n"),
       "revert patch restores 1 / 1Gi / 250m");
    free(log);

    /* absent in the pod spec: previous "", and that cannot be reverted */
    fp_limits_unset(&l);
    l.cpu_weight_cores = 0.05;
    rc = plan_on(a, "web-0/sidecar", &l, &p, &err);
    ok(rc == 0 && p.n == 1, "plan on the sidecar");
    is_str(p.ch[0].previous, "", "no request in the spec: previous \"\"");
    fp_plan_invert(&p, &inv);
    unlink(argv_log);
    err.cls = FP_OK;
    rc = fp_act_commit(a, &inv, &err);
    ok(rc < 0 && err.cls == FP_EINPUT, "its revert is refused: %s", err.msg);
    ok(access(argv_log, F_OK) != 0, "without running kubectl");
    rc = plan_on(a, "web-0/bare", &l, &p, &err);
    ok(rc == 0 && p.n == 1 && strcmp(p.ch[0].previous, "") == 0,
       "a container without resources: previous \"\"");

    /* observe reads the limits in effect */
    fp_target tg;
    target(&tg, "web-0/app");
    fp_observed o;
    rc = fp_act_observe(a, &tg, &o, &err);
    ok(rc == 0, "observe (%s)", err.msg);
    is_near(o.now.cpu_max_cores, 1, 1e-12, "observed limits.cpu");
    is_near(o.now.cpu_weight_cores, 0.25, 1e-12, "observed requests.cpu");
    is_near(o.now.mem_max_bytes, GiB, 0.5, "observed limits.memory");
    is_near(o.now.mem_high_bytes, 512 * MiB, 0.5, "observed requests.memory");
    ok(o.mem_bytes < 0 && o.why_mem != NULL, "usage unknown, with a reason: %s", o.why_mem);
    target(&tg, "web-0/sidecar");
    rc = fp_act_observe(a, &tg, &o, &err);
    ok(rc == 0 && o.now.mem_max_bytes == FP_UNLIMITED &&
       fabs(o.now.cpu_max_cores - 0.1) < 1e-12, "observe: absent limit is FP_UNLIMITED");

    /* failures */
    fp_limits_unset(&l);
    l.cpu_max_cores = 2;
    err.cls = FP_OK;
    rc = plan_on(a, "web-0/nope", &l, &p, &err);
    ok(rc < 0 && err.cls == FP_EINPUT &&
       strstr(err.msg, "no container \"nope\""), "no such container: %s", err.msg);
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc == 0, "plan for the failing commit");
    spit(fail, "Error from server (Forbidden): pods \"web-0\" is forbidden: resize denied\n");
    err.cls = FP_OK;
    rc = fp_act_commit(a, &p, &err);
    ok(rc < 0 && err.cls == FP_ESYS, "a failing kubectl is FP_ESYS");
    is_str(err.msg, "kubectl patch pod prod/web-0: exit status 1: Error from server (Forbidden): "
                    "pods \"web-0\" is forbidden: resize denied", "with its stderr");
    err.cls = FP_OK;
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc < 0 && err.cls == FP_ESYS &&
       strstr(err.msg, "kubectl get pod prod/web-0: exit status 1: Error from server"),
       "a failing get: %s", err.msg);
    char longmsg[1001];
    memset(longmsg, 'x', 1000);
    longmsg[1000] = 0;
    spit(fail, longmsg);
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc < 0, "a long stderr");
    const char *xs = strstr(err.msg, "status 1: ");
    if (xs) xs += strlen("status 1: ");
    is_int(xs ? (long long)strspn(xs, "x") : 0, 300, "is cut to 300 characters");
    unlink(fail);

    spit(pod, "Unable to connect to the server\n");
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc < 0 && err.cls == FP_ESYS && strstr(err.msg, "not a JSON"),
       "output that is not JSON: %s", err.msg);
    char big[600];
    snprintf(big, sizeof big, "%s/big", dir);
    spit(big, "");
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc < 0 && err.cls == FP_ESYS && strstr(err.msg, "bytes of output"),
       "output over the cap: %s", err.msg);
    unlink(big);
    fp_act_free(a);

    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-kubectl", dir);
    a = fp_act_k8s_new(missing, NULL, &err);
    err.cls = FP_OK;
    rc = plan_on(a, "web-0/app", &l, &p, &err);
    ok(rc < 0 && err.cls == FP_ESYS && err.sys_errno == ENOENT,
       "a kubectl that does not exist: %s", err.msg);
    fp_act_free(a);

    unlink(kubectl);
    unlink(argv_log);
    unlink(pod);
    rmdir(dir);
}

int main(void)
{
    test_new();
    test_quantities();
    test_targets();
    test_plan_emit();
    test_patch();
    test_kubectl();
    return done_testing();
}
