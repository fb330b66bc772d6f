/* test-act-docker.c - the docker and swarm back-ends of fp/actuator.h.
 *
 * Without arguments: a TAP test of what needs no engine: invalid
 * references are refused with FP_EINPUT before any request (the socket
 * does not exist, so any I/O would be FP_ESYS), request paths are checked,
 * and commit refuses plans of another back-end, unknown knobs and
 * malformed values.
 *
 * With arguments it drives one back-end against a real engine for
 * tests/bats/fp-apply-docker.bats (which checks the results independently
 * with the docker CLI). The engine is the one fp_roots_default finds
 * (FP_DOCKER_SOCK / DOCKER_HOST):
 *   test-act-docker observe docker|swarm REF
 *   test-act-docker plan    docker|swarm REF LIMIT=VALUE...
 *   test-act-docker apply   docker|swarm REF LIMIT=VALUE...   (plan + commit)
 *   test-act-docker commit  docker|swarm FILE    commit a printed plan
 *   test-act-docker revert  docker|swarm FILE    commit its inverse (token cleared)
 *   test-act-docker request METHOD PATH [JSONFILE]   fp_docker_request; prints
 *                                            the HTTP status and the answer
 * LIMIT is a field of fp_limits (cpu_max_cores, mem_max_bytes, ...), VALUE a
 * number or "unlimited". plan and apply print the plan as one allocation
 * record on stdout (backend, object, token, changes, unsupported); observe
 * prints the observation. On failure the error goes to stderr as
 * "error CLASS: message" and the exit status is the class (2 ESYS,
 * 3 EINPUT, 4 EUSAGE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "fp/actuator.h"
#include "fp/docker.h"
#include "tap.h"

/* ------------------------------------------------------------- offline */

static fp_actuator *new_backend(const char *name, const fp_roots *r, fp_err *e)
{
    if (strcmp(name, "docker") == 0) return fp_act_docker_new(r, e);
    if (strcmp(name, "swarm") == 0) return fp_act_swarm_new(r, e);
    fp_err_set(e, FP_EUSAGE, "unknown back-end %s", name);
    return NULL;
}

/* issue 14: the values a Docker revert may put back (strict integers, 0
 * or -1 where Docker means none, the policy's floors). */
static void revert_values(void)
{
    fp_revert_rules rr = {0.05, 64.0 * 1048576, 0.10, 32.0 * 1048576, 10485760, 1048576, FP_PIDS_FLOOR};
    fp_observed ob;
    memset(&ob, 0, sizeof ob);
    ob.mem_bytes = 50.0 * 1048576;
    static const struct { const char *knob, *value; bool pass; } rv[] = {
        {"Memory", "0", true}, {"Memory", "1073741824", true}, {"Memory", "4K", false},
        {"Memory", "4096 ", false}, {"Memory", "1048576", false}, {"MemorySwap", "-1", true},
        {"MemoryReservation", "-1", true}, {"MemoryReservation", "10", false},
        {"NanoCpus", "0", true}, {"NanoCpus", "1000000", false}, {"NanoCpus", "500000000", true},
        {"CpuQuota", "-1", true}, {"CpuQuota", "1000", false}, {"CpuShares", "2", false},
        {"CpuShares", "1024", true}, {"PidsLimit", "1", false}, {"PidsLimit", "0", true},
        {"PidsLimit", "100", true}, {"Privileged", "1", false},
    };
    for (size_t i = 0; i < sizeof rv / sizeof *rv; i++) {
        fp_plan one;
        memset(&one, 0, sizeof one);
        snprintf(one.backend, sizeof one.backend, "docker");
        one.n = 1;
        snprintf(one.ch[0].knob, sizeof one.ch[0].knob, "%s", rv[i].knob);
        snprintf(one.ch[0].value, sizeof one.ch[0].value, "%s", rv[i].value);
        snprintf(one.ch[0].previous, sizeof one.ch[0].previous, "0");
        fp_err e = {0};
        int rc = fp_plan_check_revert_values(&one, &ob, &rr, &e);
        ok(rv[i].pass ? rc == 0 : rc < 0 && e.cls == FP_EINPUT, "revert %s = \"%s\" %s (%s)",
           rv[i].knob, rv[i].value, rv[i].pass ? "passes" : "is refused", e.msg);
    }
}

static void test_offline(void)
{
    revert_values();
    fp_roots r;
    fp_roots_default(&r);
    snprintf(r.docker_sock, sizeof r.docker_sock, "/nonexistent/fp-test/docker.sock");
    static const char *const bad[] = { "../x", "a;b", "a/b", "", "-x", "a b", "%2e%2e" };
    static const char *const backends[] = { "docker", "swarm" };
    for (int b = 0; b < 2; b++) {
        fp_err e = {0};
        fp_actuator *a = new_backend(backends[b], &r, &e);
        ok(a != NULL, "%s back-end created: %s", backends[b], e.msg);
        if (!a) continue;
        is_str(fp_act_name(a), backends[b], "name");
        fp_limits want;
        fp_limits_unset(&want);
        want.mem_max_bytes = 64 << 20;
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            fp_target tg = {0};
            snprintf(tg.container, sizeof tg.container, "%s", bad[i]);
            fp_plan p;
            fp_observed o;
            fp_err_clear(&e);
            is_int(fp_act_plan(a, &tg, &want, &p, &e), -1, "%s: plan \"%s\" fails", backends[b], bad[i]);
            is_int(e.cls, FP_EINPUT, "%s: plan \"%s\" is FP_EINPUT before any I/O (%s)",
                   backends[b], bad[i], e.msg);
            fp_err_clear(&e);
            is_int(fp_act_observe(a, &tg, &o, &e), -1, "%s: observe \"%s\" fails", backends[b], bad[i]);
            is_int(e.cls, FP_EINPUT, "%s: observe \"%s\" is FP_EINPUT", backends[b], bad[i]);
        }
        /* a valid reference does reach the (missing) socket */
        fp_target tg = {0};
        snprintf(tg.container, sizeof tg.container, "web_1");
        fp_plan p;
        fp_err_clear(&e);
        is_int(fp_act_plan(a, &tg, &want, &p, &e), -1, "%s: unreachable engine fails", backends[b]);
        is_int(e.cls, FP_ESYS, "%s: unreachable engine is FP_ESYS (%s)", backends[b], e.msg);

        /* commit refuses malformed plans before any I/O */
        fp_plan q;
        memset(&q, 0, sizeof q);
        snprintf(q.backend, sizeof q.backend, "%s", b ? "docker" : "swarm");
        snprintf(q.object, sizeof q.object, "web_1");
        fp_err_clear(&e);
        is_int(fp_act_commit(a, &q, &e), -1, "%s: commit of another back-end's plan fails", backends[b]);
        is_int(e.cls, FP_EINPUT, "... FP_EINPUT (%s)", e.msg);
        snprintf(q.backend, sizeof q.backend, "%s", backends[b]);
        snprintf(q.object, sizeof q.object, "../x");
        fp_err_clear(&e);
        is_int(fp_act_commit(a, &q, &e), -1, "%s: commit to ../x fails", backends[b]);
        is_int(e.cls, FP_EINPUT, "... FP_EINPUT (%s)", e.msg);
        snprintf(q.object, sizeof q.object, "web_1");
        q.n = 1;
        snprintf(q.ch[0].knob, sizeof q.ch[0].knob, "Privileged");
        snprintf(q.ch[0].value, sizeof q.ch[0].value, "1");
        snprintf(q.ch[0].previous, sizeof q.ch[0].previous, "0");
        fp_err_clear(&e);
        is_int(fp_act_commit(a, &q, &e), -1, "%s: unknown knob fails", backends[b]);
        is_int(e.cls, FP_EINPUT, "... FP_EINPUT (%s)", e.msg);
        snprintf(q.ch[0].knob, sizeof q.ch[0].knob, "%s", b ? "Limits.MemoryBytes" : "Memory");
        snprintf(q.ch[0].value, sizeof q.ch[0].value, "64m");
        fp_err_clear(&e);
        is_int(fp_act_commit(a, &q, &e), -1, "%s: non-integer value fails", backends[b]);
        is_int(e.cls, FP_EINPUT, "... FP_EINPUT (%s)", e.msg);
        if (b) {
            snprintf(q.ch[0].value, sizeof q.ch[0].value, "1000000");
            snprintf(q.token, sizeof q.token, "12x");
            fp_err_clear(&e);
            is_int(fp_act_commit(a, &q, &e), -1, "swarm: malformed token fails");
            is_int(e.cls, FP_EINPUT, "... FP_EINPUT (%s)", e.msg);
        }
        q.n = 0;
        q.token[0] = 0;
        fp_err_clear(&e);
        is_int(fp_act_commit(a, &q, &e), 0, "%s: an empty plan commits without I/O", backends[b]);
        fp_act_free(a);
    }

    fp_err e = {0};
    fp_docker *d = fp_docker_new(&r, &e);
    ok(d != NULL, "docker client: %s", e.msg);
    if (d) {
        static const char *const paths[] = { "containers/x/json", "/containers/../x",
                                             "/a b", "/x#y", "/containers/..", "/\x7f" };
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
            long st = -1;
            json_t *ans = (json_t *)1;
            fp_err_clear(&e);
            is_int(fp_docker_request(d, "GET", paths[i], NULL, &st, &ans, &e), -1,
                   "request path %zu refused", i);
            ok(e.cls == FP_EUSAGE && st == 0 && ans == NULL, "... FP_EUSAGE, no status, no answer (%s)",
               e.msg);
        }
        fp_err_clear(&e);
        is_int(fp_docker_request(d, "get", "/info", NULL, NULL, NULL, &e), -1, "lower-case method refused");
        is_int(e.cls, FP_EUSAGE, "... FP_EUSAGE");
        fp_err_clear(&e);
        is_int(fp_docker_request(d, "GET", "/info", NULL, NULL, NULL, &e), -1, "missing socket fails");
        is_int(e.cls, FP_ESYS, "... FP_ESYS (%s)", e.msg);
        fp_docker_free(d);
    }
}

/* ------------------------------------------------------------- driver */

static int fail(const fp_err *e)
{
    static const char *const names[] = { "OK", "?", "ESYS", "EINPUT", "EUSAGE" };
    fprintf(stderr, "error %s: %s\n", e->cls <= 4 ? names[e->cls] : "?", e->msg);
    return e->cls ? (int)e->cls : 1;
}

static int parse_limits(int argc, char **argv, fp_limits *l, fp_err *e)
{
    fp_limits_unset(l);
    static const struct { const char *name; size_t off; } f[] = {
        { "cpu_max_cores", offsetof(fp_limits, cpu_max_cores) },
        { "cpu_weight_cores", offsetof(fp_limits, cpu_weight_cores) },
        { "mem_high_bytes", offsetof(fp_limits, mem_high_bytes) },
        { "mem_max_bytes", offsetof(fp_limits, mem_max_bytes) },
        { "io_read_Bps", offsetof(fp_limits, io_read_Bps) },
        { "io_write_Bps", offsetof(fp_limits, io_write_Bps) },
        { "pids_max", offsetof(fp_limits, pids_max) },
        { "net_tx_Bps", offsetof(fp_limits, net_tx_Bps) },
    };
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t k = 0, n = eq ? (size_t)(eq - argv[i]) : 0;
        while (k < sizeof f / sizeof *f && (strlen(f[k].name) != n || strncmp(f[k].name, argv[i], n)))
            k++;
        if (!eq || k == sizeof f / sizeof *f)
            return fp_err_set(e, FP_EUSAGE, "not LIMIT=VALUE: %s", argv[i]);
        char *end;
        double v = strcmp(eq + 1, "unlimited") == 0 ? FP_UNLIMITED : strtod(eq + 1, &end);
        if (v != FP_UNLIMITED && (*end || end == eq + 1))
            return fp_err_set(e, FP_EUSAGE, "not a number: %s", argv[i]);
        *(double *)((char *)l + f[k].off) = v;
    }
    return 0;
}

static json_t *plan_json(const fp_plan *p)
{
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:o, s:[]}", "schema", 1, "type",
                          "allocation", "backend", p->backend, "object", p->object, "token",
                          p->token, "pid", p->pid, "changes", fp_plan_changes_json(p),
                          "unsupported");
    for (int i = 0; j && i < p->n_unsupported; i++)
        json_array_append_new(json_object_get(j, "unsupported"),
                              json_pack("{s:s, s:s}", "limit", p->unsupported[i].limit, "why",
                                        p->unsupported[i].why));
    return j;
}

static void put_num(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, v == FP_UNLIMITED ? json_string("unlimited")
                              : v < 0 ? json_null() : json_real(v));
}

/* test-act-docker request METHOD PATH [JSONFILE] */
static int request(int argc, char **argv)
{
    fp_err e = {0};
    fp_roots r;
    fp_roots_default(&r);
    json_t *body = NULL, *ans = NULL;
    if (argc > 4) {
        json_error_t je;
        if (!(body = json_load_file(argv[4], 0, &je))) {
            fp_err_set(&e, FP_EUSAGE, "%s: %s", argv[4], je.text);
            return fail(&e);
        }
    }
    fp_docker *d = fp_docker_new(&r, &e);
    long st = 0;
    int rc = d && fp_docker_request(d, argv[2], argv[3], body, &st, &ans, &e) == 0 ? 0 : -1;
    printf("%ld\n", st);
    if (ans) {
        json_dumpf(ans, stdout, JSON_COMPACT);
        putchar('\n');
    }
    json_decref(ans);
    json_decref(body);
    fp_docker_free(d);
    return rc < 0 ? fail(&e) : 0;
}

static int drive(int argc, char **argv)
{
    fp_err e = {0};
    if (argc >= 4 && strcmp(argv[1], "request") == 0) return request(argc, argv);
    if (argc < 4) {
        fprintf(stderr, "usage: test-act-docker observe|plan|apply|commit|revert docker|swarm REF|FILE [LIMIT=VALUE...]\n");
        return 4;
    }
    const char *cmd = argv[1];
    fp_roots r;
    fp_roots_default(&r);
    fp_actuator *a = new_backend(argv[2], &r, &e);
    if (!a) return fail(&e);
    int rc = 0;
    fp_plan p;
    fp_target tg = {0};
    snprintf(tg.container, sizeof tg.container, "%s", argv[3]);
    if (strcmp(cmd, "observe") == 0) {
        fp_observed o;
        if (fp_act_observe(a, &tg, &o, &e) < 0) { rc = fail(&e); goto out; }
        json_t *j = json_object(), *now = json_object();
        put_num(j, "mem_bytes", o.mem_bytes);
        put_num(j, "oom_kills", o.oom_kills);
        put_num(j, "throttled_s", o.throttled_s);
        put_num(j, "cpu_s", o.cpu_s);
        json_object_set_new(j, "why_oom", json_string(o.why_oom ? o.why_oom : ""));
        json_object_set_new(j, "why_mem", json_string(o.why_mem ? o.why_mem : ""));
        put_num(now, "cpu_max_cores", o.now.cpu_max_cores);
        put_num(now, "cpu_weight_cores", o.now.cpu_weight_cores);
        put_num(now, "mem_high_bytes", o.now.mem_high_bytes);
        put_num(now, "mem_max_bytes", o.now.mem_max_bytes);
        put_num(now, "io_read_Bps", o.now.io_read_Bps);
        put_num(now, "pids_max", o.now.pids_max);
        json_object_set_new(j, "now", now);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(j);
    } else if (strcmp(cmd, "plan") == 0 || strcmp(cmd, "apply") == 0) {
        fp_limits want;
        if (parse_limits(argc - 4, argv + 4, &want, &e) < 0 ||
            fp_act_plan(a, &tg, &want, &p, &e) < 0) { rc = fail(&e); goto out; }
        json_t *j = plan_json(&p);
        json_dumpf(j, stdout, JSON_COMPACT);
        putchar('\n');
        fflush(stdout);
        json_decref(j);
        if (strcmp(cmd, "apply") == 0 && fp_act_commit(a, &p, &e) < 0) rc = fail(&e);
    } else if (strcmp(cmd, "commit") == 0 || strcmp(cmd, "revert") == 0) {
        json_error_t je;
        json_t *rec = json_load_file(argv[3], 0, &je);
        if (!rec) {
            fp_err_set(&e, FP_EUSAGE, "%s: %s", argv[3], je.text);
            rc = fail(&e);
            goto out;
        }
        int k = fp_plan_from_allocation(rec, &p, &e);
        json_decref(rec);
        if (k < 0) { rc = fail(&e); goto out; }
        if (strcmp(cmd, "revert") == 0) {
            fp_plan_invert(&p, &p);
            p.token[0] = 0;   /* stale by now: commit checks each previous value instead */
        }
        if (fp_act_commit(a, &p, &e) < 0) rc = fail(&e);
    } else {
        fprintf(stderr, "unknown command %s\n", cmd);
        rc = 4;
    }
out:
    fp_act_free(a);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1) return drive(argc, argv);
    test_offline();
    return done_testing();
}
