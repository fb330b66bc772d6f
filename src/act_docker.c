/* act_docker.c - the "docker" and "swarm" back-ends of fp/actuator.h.
 *
 * Both talk to the engine only through fp_docker_request (the socket in
 * fp_roots.docker_sock); nothing runs the docker CLI. References from the
 * target or a plan are checked with fp_docker_valid_ref before they reach
 * a URL, so "../x" or "a;b" fail with FP_EINPUT before any request.
 *
 * docker: the target is tg->container. Knobs are HostConfig fields and
 * values their integers as text: "NanoCpus", "CpuQuota", "CpuShares",
 * "Memory", "MemorySwap", "MemoryReservation", "PidsLimit".
 *   - CPU quota: Docker refuses NanoCpus on a container that has
 *     CpuQuota/CpuPeriod and the reverse, so the plan keeps the field the
 *     container already uses: "CpuQuota" (in units of its CpuPeriod, 100 ms
 *     when 0) when it has a quota and no NanoCpus, else "NanoCpus".
 *   - Memory: the engine refuses a new Memory above the current MemorySwap
 *     unless MemorySwap is in the same request, and MemorySwap >= Memory.
 *     So a Memory change always comes with a "MemorySwap" change, its own
 *     entry so a revert restores it: the container keeps its swap
 *     allowance (MemorySwap - Memory) when it had one, else -1 (unlimited
 *     swap, what a container without a memory limit has).
 *   - "0" means "no limit" in the plan, as in `docker inspect`. The engine
 *     reads 0 in an update as "unchanged" and refuses to remove some limits,
 *     so commit sends the nearest equivalent: NanoCpus 0 -> all host CPUs
 *     (the engine's maximum), CpuQuota 0 -> -1, CpuShares 0 -> 1024 (the
 *     kernel default), Memory 0 -> the host's memory (Docker cannot remove
 *     a memory limit of a container in place), MemorySwap 0 -> -1,
 *     MemoryReservation 0 -> -1 (cgroup v1 only: on v2 runc turns -1 into
 *     memory.low=max, so commit refuses; recreate the container there),
 *     PidsLimit 0 -> 0 (unlimited). `docker inspect` then shows those
 *     values instead of 0.
 *   - Block-device throttles (BlkioDevice*Bps) are read by observe but
 *     cannot be planned: /containers/{id}/update ignores them (the engine
 *     answers 200 and changes nothing). Egress (net_tx_Bps) is left to the
 *     cgroup back-end with the container's pid (plan->pid is set).
 *   Commit sends every change in ONE POST /containers/{id}/update. The
 *   engine validates the whole body before it changes anything and
 *   restores its HostConfig when the runtime refuses, which is the
 *   all-or-nothing property of the contract; the one window it does not
 *   close is runc failing after it wrote some of the cgroup files, which
 *   the engine reports as an error. Before sending, commit re-reads the
 *   container and refuses (FP_ESYS, nothing sent) when a knob no longer
 *   holds the plan's `previous` value: someone else changed it.
 *   Memory usage, for the refusal of a limit below it, is the working set
 *   as `docker stats` shows it: memory_stats.usage minus inactive file
 *   pages, which the kernel drops before it would fail a limit.
 *
 * swarm: the target is a Swarm service. tg->container is first looked up
 * as a container; a task container's label com.docker.swarm.service.id
 * names the service (and its usage is observed). When no container has that
 * name or id, tg->container is taken as a service id or name. Knobs are
 * paths below Spec.TaskTemplate.Resources: "Limits.NanoCPUs",
 * "Limits.MemoryBytes", "Limits.Pids" (API >= 1.41, else unsupported),
 * "Reservations.NanoCPUs", "Reservations.MemoryBytes"; cpu_max_cores,
 * mem_max_bytes, pids_max, cpu_weight_cores and mem_high_bytes map to them
 * in that order (a reservation is the closest a service has to a weight).
 * "0" is no limit (the key is removed from the spec). plan->token is the
 * service's Version.Index, plan->object its full id.
 *   Commit reads the service again and
 *   - with a token, refuses (FP_ESYS, nothing sent) when Version.Index is
 *     not the token: the service changed since the plan;
 *   - with an empty token (a revert: clear the token of the inverted plan,
 *     which is stale by then, or an explicit commit) uses the current
 *     version;
 *   - in both cases refuses when a knob no longer holds the change's
 *     `previous` value, so a value someone else set is never overwritten;
 *   then modifies only those knobs of the current Spec and sends the whole
 *   Spec with POST /services/{id}/update?version=N. One request: the
 *   engine applies the spec as a whole or not at all, and refuses it
 *   ("update out of sequence", reported as a concurrent change) when the
 *   service changed between our read and our update. Swarm then replaces
 *   the tasks; their new containers carry the limits.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_impl.h"
#include "fp/docker.h"

#define SERVICE_LABEL "com.docker.swarm.service.id"
#define CPU_PERIOD_DEFAULT 100000LL   /* µs, Docker's and the kernel's default */
#define SHARES_DEFAULT 1024LL

typedef struct dk_act {
    fp_actuator base;
    fp_docker *d;
    fp_roots roots;
    fp_actuator *cg;       /* reads a running container's usage from its
                              cgroups (NULL: no cgroups here; use the API) */
    bool cg_tried;
    long long ncpu, memtotal;   /* the engine's host, read once (/info) */
    int cgroup_version;
} dk_act;

/* ------------------------------------------------------------- helpers */

/* Parse a whole decimal integer (optional '-'); false for anything else. */
static bool parse_ll(const char *s, long long *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || s[0] == ' ' || s[0] == '+') return false;
    *out = v;
    return true;
}

/* An integer member of o, or def when absent or null (or not an integer). */
static long long jint(const json_t *o, const char *key, long long def)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

/* Which requested limit applies: 0 when v leaves it alone (FP_UNSET, any
 * other negative), 1 with *out = v for a positive value, 2 for
 * FP_UNLIMITED; -1 (FP_EINPUT) for zero or a non-finite value. */
static int wanted(double v, const char *what, double *out, fp_err *err)
{
    if (v == FP_UNLIMITED) return 2;
    if (isnan(v) || isinf(v) || v == 0)
        return fp_err_set(err, FP_EINPUT, "%s must be a positive number, not %g", what, v);
    if (v < 0) return 0;
    *out = v;
    return 1;
}

static int add_ll(fp_plan *p, const char *knob, long long value, long long previous,
                  fp_err *err)
{
    char v[32], pv[32];
    snprintf(v, sizeof v, "%lld", value);
    snprintf(pv, sizeof pv, "%lld", previous);
    return fp_plan_add(p, knob, v, pv, NULL, err);
}

/* GET path into *out (a new reference, never NULL on success). The
 * engine's 404 becomes FP_EINPUT "no such WHAT: REF". */
static int get_json(fp_docker *d, const char *path, const char *what, const char *ref,
                    json_t **out, fp_err *err)
{
    long status = 0;
    *out = NULL;
    if (fp_docker_request(d, "GET", path, NULL, &status, out, err) < 0) {
        if (status == 404) return fp_err_set(err, FP_EINPUT, "no such %s: %s", what, ref);
        return -1;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fp_err_set(err, FP_ESYS, "unexpected answer from the Docker engine to GET %s",
                          path);
    }
    return 0;
}

/* GET /containers/{ref}/json after checking ref. */
static int inspect_container(fp_docker *d, const char *ref, json_t **out, fp_err *err)
{
    if (!fp_docker_valid_ref(ref))
        return fp_err_set(err, FP_EINPUT, "invalid container reference: \"%.140s\"", ref);
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/json", ref);
    if (get_json(d, path, "container", ref, out, err) < 0) return -1;
    const char *id = json_string_value(json_object_get(*out, "Id"));
    if (!id || !fp_docker_valid_ref(id) || !json_is_object(json_object_get(*out, "HostConfig"))) {
        json_decref(*out);
        *out = NULL;
        return fp_err_set(err, FP_ESYS, "unexpected inspect answer for container %s", ref);
    }
    return 0;
}

/* What the engine's host has: CPUs, memory and the cgroup version, from
 * GET /info (for the "no limit" equivalents, see the top comment). */
typedef struct host_info {
    long long ncpu, memtotal;
    int cgroup_version;             /* 1 or 2; 1 when the engine does not say */
} host_info;

/* The engine's host: CPUs, memory, cgroup version. Read once per
 * actuator: they do not change while the engine runs. */
static int get_host_info(dk_act *k, host_info *h, fp_err *err)
{
    if (k->ncpu <= 0) {
        json_t *j;
        if (get_json(k->d, "/info", "engine", "info", &j, err) < 0) return -1;
        long long ncpu = jint(j, "NCPU", 0), memtotal = jint(j, "MemTotal", 0);
        const char *cg = json_string_value(json_object_get(j, "CgroupVersion"));
        k->cgroup_version = cg && strcmp(cg, "2") == 0 ? 2 : 1;
        json_decref(j);
        if (ncpu <= 0 || memtotal <= 0)
            return fp_err_set(err, FP_ESYS, "the Docker engine did not report its CPUs and memory");
        k->ncpu = ncpu;
        k->memtotal = memtotal;
    }
    h->ncpu = k->ncpu;
    h->memtotal = k->memtotal;
    h->cgroup_version = k->cgroup_version;
    return 0;
}

/* Usage of a running container from one stats snapshot
 * (GET /containers/{id}/stats?stream=false&one-shot=true). Fields the
 * engine leaves out stay FP_UNSET with a reason. The engine answers this
 * only at its next collection (about a second), so it is the fallback of
 * observe_usage. */
static int stats_usage(fp_docker *d, const char *id, fp_observed *o, fp_err *err)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/stats?stream=false&one-shot=true", id);
    json_t *j;
    if (get_json(d, path, "container", id, &j, err) < 0) return -1;
    json_t *ms = json_object_get(j, "memory_stats");
    json_t *mstat = json_object_get(ms, "stats");
    json_t *cs = json_object_get(j, "cpu_stats");
    long long usage = jint(ms, "usage", -1);
    if (usage >= 0) o->mem_bytes = (double)usage;
    else o->why_mem = "the engine reported no memory usage";
    long long total = jint(json_object_get(cs, "cpu_usage"), "total_usage", -1);
    if (total >= 0) o->cpu_s = (double)total / 1e9;
    else o->why_cpu = "the engine reported no CPU usage";
    long long thr = jint(json_object_get(cs, "throttling_data"), "throttled_time", -1);
    if (thr >= 0) o->throttled_s = (double)thr / 1e9;
    else o->why_throttled = "the engine reported no throttling data";
    long long oom = jint(mstat, "oom_kill", -1);
    if (oom >= 0) o->oom_kills = (double)oom;
    else o->why_oom = "the Engine API does not report OOM kills of a running container "
                      "(failcnt counts limit hits, not kills)";
    json_decref(j);
    return 0;
}

/* Usage of a running container (memory charged to it, OOM kills, CPU and
 * throttled time): read from the cgroups of its init process (pid) as the
 * cgroup back-end reads any cgroup, in microseconds and with OOM kills
 * counted; when those cannot be read (no pid, another mount namespace),
 * from the engine's stats. Memory is the cgroup's whole charge, page cache
 * included, as for a cgroup target: the safe side for "never below
 * usage". */
static int observe_usage(dk_act *k, const char *id, int pid, fp_observed *o, fp_err *err)
{
    if (!k->cg_tried) {
        fp_err e2 = {0};
        k->cg = fp_act_cgroup_new(&k->roots, &e2);
        k->cg_tried = true;
    }
    if (k->cg && pid > 0) {
        fp_target tg;
        memset(&tg, 0, sizeof tg);
        tg.pid = pid;
        fp_observed c;
        fp_err e2 = {0};
        if (fp_act_observe(k->cg, &tg, &c, &e2) == 0 && !c.why_mem) {
            o->mem_bytes = c.mem_bytes;
            o->oom_kills = c.oom_kills;
            o->throttled_s = c.throttled_s;
            o->cpu_s = c.cpu_s;
            o->why_mem = c.why_mem;
            o->why_oom = c.why_oom;
            o->why_throttled = c.why_throttled;
            o->why_cpu = c.why_cpu;
            return 0;
        }
    }
    return stats_usage(k->d, id, o, err);
}

static int container_pid(const json_t *j)
{
    long long pid = jint(json_object_get(j, "State"), "Pid", 0);
    return pid > 0 && pid < (1LL << 30) ? (int)pid : 0;
}

static void not_running(fp_observed *o)
{
    o->why_mem = o->why_cpu = o->why_throttled = o->why_oom = "the container is not running";
}

/* ------------------------------------------------------------- docker */

static void dk_free(fp_actuator *a)
{
    dk_act *k = (dk_act *)a;
    fp_docker_free(k->d);
    fp_act_free(k->cg);
    free(k);
}

/* Limits in effect from a container's HostConfig (0 and absent: none). */
static void hostconfig_limits(const json_t *hc, fp_limits *l)
{
    long long nano = jint(hc, "NanoCpus", 0), quota = jint(hc, "CpuQuota", 0);
    long long period = jint(hc, "CpuPeriod", 0), shares = jint(hc, "CpuShares", 0);
    long long mem = jint(hc, "Memory", 0), resv = jint(hc, "MemoryReservation", 0);
    long long pids = jint(hc, "PidsLimit", 0);
    if (nano > 0) l->cpu_max_cores = (double)nano / 1e9;
    else if (quota > 0) l->cpu_max_cores = (double)quota / (double)(period > 0 ? period : CPU_PERIOD_DEFAULT);
    else l->cpu_max_cores = FP_UNLIMITED;
    l->cpu_weight_cores = shares > 0 ? (double)shares / 1024.0 : FP_UNLIMITED;
    l->mem_max_bytes = mem > 0 ? (double)mem : FP_UNLIMITED;
    l->mem_high_bytes = resv > 0 ? (double)resv : FP_UNLIMITED;
    l->pids_max = pids > 0 ? (double)pids : FP_UNLIMITED;
    /* the most restrictive device throttle; none: no limit */
    static const char *const io[2] = { "BlkioDeviceReadBps", "BlkioDeviceWriteBps" };
    for (int k = 0; k < 2; k++) {
        double best = FP_UNLIMITED;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(hc, io[k]), i, e) {
            long long r = jint(e, "Rate", 0);
            if (r > 0 && (best < 0 || (double)r < best)) best = (double)r;
        }
        if (k == 0) l->io_read_Bps = best;
        else l->io_write_Bps = best;
    }
}

/* Inspect tg->container and, when it runs, one stats snapshot. */
static int dk_observe(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    json_t *j;
    if (inspect_container(k->d, tg->container, &j, err) < 0) return -1;
    hostconfig_limits(json_object_get(j, "HostConfig"), &o->now);
    int r = 0;
    if (json_is_true(json_object_get(json_object_get(j, "State"), "Running")))
        r = observe_usage(k, json_string_value(json_object_get(j, "Id")), container_pid(j), o, err);
    else
        not_running(o);
    json_decref(j);
    return r;
}

/* Refuse a memory limit below the running container's usage. */
static int check_mem_usage(dk_act *k, const char *id, int pid, bool running, long long limit,
                           fp_err *err)
{
    if (!running || limit <= 0) return 0;
    fp_observed o;
    memset(&o, 0, sizeof o);
    o.mem_bytes = FP_UNSET;
    if (observe_usage(k, id, pid, &o, err) < 0) return -1;
    if (o.mem_bytes < 0)
        return fp_err_set(err, FP_ESYS, "cannot read the memory usage of container %.12s to "
                          "check the new limit", id);
    if ((double)limit < o.mem_bytes)
        return fp_err_set(err, FP_EINPUT, "memory limit %lld bytes is below the current usage "
                          "%.0f bytes of container %.12s: refused", limit, o.mem_bytes, id);
    return 0;
}

/* Plan the HostConfig changes for want (see the top comment). Reads the
 * container (FP_EINPUT: invalid reference, no such container, a limit
 * below the minimum the engine accepts or memory below usage) and, for a
 * CPU quota, the host's CPU count (a quota of more CPUs than the host has
 * is planned as the host's CPUs). */
static int dk_plan(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                   fp_plan *plan, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    json_t *j;
    if (inspect_container(k->d, tg->container, &j, err) < 0) return -1;
    json_t *hc = json_object_get(j, "HostConfig");
    json_t *state = json_object_get(j, "State");
    const char *id = json_string_value(json_object_get(j, "Id"));
    bool running = json_is_true(json_object_get(state, "Running"));
    long long pid = jint(state, "Pid", 0);
    snprintf(plan->object, sizeof plan->object, "%s", id);
    plan->pid = running && pid > 0 && pid < (1LL << 30) ? (int)pid : 0;

    long long nano = jint(hc, "NanoCpus", 0), quota = jint(hc, "CpuQuota", 0);
    long long period = jint(hc, "CpuPeriod", 0), shares = jint(hc, "CpuShares", 0);
    long long mem = jint(hc, "Memory", 0), swap = jint(hc, "MemorySwap", 0);
    long long resv = jint(hc, "MemoryReservation", 0), pids = jint(hc, "PidsLimit", 0);
    if (pids < 0) pids = 0;
    double v = 0;
    int w, r = -1;

    if ((w = wanted(want->cpu_max_cores, "cpu_max_cores", &v, err)) < 0) goto out;
    if (w) {
        host_info h;
        if (get_host_info(k, &h, err) < 0) goto out;
        if (w == 1 && v > (double)h.ncpu) v = (double)h.ncpu;
        if (nano == 0 && (quota > 0 || period > 0)) {
            long long per = period > 0 ? period : CPU_PERIOD_DEFAULT;
            long long q = w == 2 ? -1 : llround(v * (double)per);
            if (w == 1 && q < 1000) {
                fp_err_set(err, FP_EINPUT, "cpu_max_cores %g is below Docker's minimum CPU "
                           "quota (1000 us per %lld us period)", v, per);
                goto out;
            }
            if (q != quota && !(q < 0 && quota <= 0) &&
                add_ll(plan, "CpuQuota", q, quota, err) < 0) goto out;
        } else {
            long long n = w == 2 ? 0 : llround(v * 1e9);
            if (w == 1 && n < 10000000) {
                fp_err_set(err, FP_EINPUT, "cpu_max_cores %g is below Docker's minimum of "
                           "0.01 CPUs", v);
                goto out;
            }
            if (n != nano && add_ll(plan, "NanoCpus", n, nano, err) < 0) goto out;
        }
    }
    if ((w = wanted(want->cpu_weight_cores, "cpu_weight_cores", &v, err)) < 0) goto out;
    if (w) {
        long long s = w == 2 ? 0 : llround(v * 1024.0);
        if (w == 1 && s < 2) s = 2;                 /* the kernel's minimum */
        if (s != shares && add_ll(plan, "CpuShares", s, shares, err) < 0) goto out;
    }
    if ((w = wanted(want->mem_max_bytes, "mem_max_bytes", &v, err)) < 0) goto out;
    if (w) {
        long long m = w == 2 ? 0 : llround(v);
        if (check_mem_usage(k, id, plan->pid, running, m, err) < 0) goto out;
        if (m != mem) {
            /* keep the swap allowance, or unlimited swap when there was none */
            long long s = m > 0 && swap > 0 && mem > 0 ? m + (swap - mem) : -1;
            if (add_ll(plan, "Memory", m, mem, err) < 0 ||
                add_ll(plan, "MemorySwap", s, swap, err) < 0) goto out;
        }
    }
    if ((w = wanted(want->mem_high_bytes, "mem_high_bytes", &v, err)) < 0) goto out;
    if (w) {
        long long m = w == 2 ? 0 : llround(v);
        if (m != resv && !(m == 0 && resv < 0) &&
            add_ll(plan, "MemoryReservation", m, resv, err) < 0) goto out;
    }
    if ((w = wanted(want->pids_max, "pids_max", &v, err)) < 0) goto out;
    if (w) {
        long long p = w == 2 ? 0 : llround(v);
        if (p != pids && add_ll(plan, "PidsLimit", p, pids, err) < 0) goto out;
    }
    if (want->io_read_Bps > 0 || want->io_read_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "io_read_Bps", "the Engine API cannot change the block-device "
                            "throttles of an existing container; use the cgroup back-end");
    if (want->io_write_Bps > 0 || want->io_write_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "io_write_Bps", "the Engine API cannot change the block-device "
                            "throttles of an existing container; use the cgroup back-end");
    if (want->net_tx_Bps > 0 || want->net_tx_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "net_tx_Bps", "use the cgroup back-end with the container's "
                            "pid");
    r = 0;
out:
    json_decref(j);
    return r;
}

static const char *const dk_knobs[] = {
    "NanoCpus", "CpuQuota", "CpuShares", "Memory", "MemorySwap", "MemoryReservation",
    "PidsLimit",
};

/* The integer the engine must receive for value v of knob (the "no limit"
 * equivalents of the top comment). -1 with FP_EUSAGE when none exists. */
static int dk_send_value(const char *knob, long long v, const host_info *h, long long *out,
                         fp_err *err)
{
    *out = v;
    if (strcmp(knob, "NanoCpus") == 0 && v <= 0) *out = h->ncpu * 1000000000LL;
    else if (strcmp(knob, "CpuQuota") == 0 && v <= 0) *out = -1;
    else if (strcmp(knob, "CpuShares") == 0 && v <= 0) *out = SHARES_DEFAULT;
    else if (strcmp(knob, "Memory") == 0 && v <= 0) *out = h->memtotal;
    else if (strcmp(knob, "MemorySwap") == 0 && v <= 0) *out = -1;
    else if (strcmp(knob, "PidsLimit") == 0 && v <= 0) *out = 0;
    else if (strcmp(knob, "MemoryReservation") == 0 && v <= 0) {
        if (h->cgroup_version == 2)
            return fp_err_set(err, FP_EUSAGE, "Docker cannot remove a memory reservation of a "
                              "container on cgroup v2 (it would set memory.low to max); "
                              "recreate the container");
        *out = -1;
    }
    return 0;
}

/* Send all changes in one update after checking that each knob still
 * holds its `previous` value (see the top comment). FP_EINPUT for a plan
 * that is not ours or malformed and for a container that is gone; FP_ESYS
 * when a knob changed since the plan or the engine refuses. */
static int dk_commit(fp_actuator *a, const fp_plan *plan, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    if (strcmp(plan->backend, "docker") != 0)
        return fp_err_set(err, FP_EINPUT, "a %s plan cannot be committed by the docker back-end",
                          plan->backend);
    if (!fp_docker_valid_ref(plan->object))
        return fp_err_set(err, FP_EINPUT, "invalid container reference: \"%.140s\"",
                          plan->object);
    long long val[FP_CHANGES_MAX], prev[FP_CHANGES_MAX];
    for (int i = 0; i < plan->n; i++) {
        const fp_change *c = &plan->ch[i];
        bool known = false;
        for (size_t n = 0; n < sizeof dk_knobs / sizeof *dk_knobs; n++)
            if (strcmp(c->knob, dk_knobs[n]) == 0) known = true;
        if (!known)
            return fp_err_set(err, FP_EINPUT, "unknown Docker knob \"%.96s\"", c->knob);
        if (!parse_ll(c->value, &val[i]) || !parse_ll(c->previous, &prev[i]))
            return fp_err_set(err, FP_EINPUT, "%s: value \"%.60s\" or previous \"%.60s\" is not "
                              "an integer", c->knob, c->value, c->previous);
        for (int m = 0; m < i; m++)
            if (strcmp(plan->ch[m].knob, c->knob) == 0)
                return fp_err_set(err, FP_EINPUT, "%s is changed twice in one plan", c->knob);
    }
    if (plan->n == 0) return 0;

    json_t *j = NULL, *body = json_object();
    host_info h;
    int r = -1;
    if (!body) return fp_err_sys(err, "cannot build a container update");
    if (inspect_container(k->d, plan->object, &j, err) < 0 ||
        get_host_info(k, &h, err) < 0) goto out;
    json_t *hc = json_object_get(j, "HostConfig");
    for (int i = 0; i < plan->n; i++) {
        const char *knob = plan->ch[i].knob;
        long long cur = jint(hc, knob, 0), want, had, now;
        if (dk_send_value(knob, val[i], &h, &want, err) < 0) goto out;
        /* compare in what the engine would store, so "0" matches its equivalent */
        fp_err ignore;
        if (dk_send_value(knob, prev[i], &h, &had, &ignore) < 0) had = prev[i] <= 0 ? 0 : prev[i];
        if (dk_send_value(knob, cur, &h, &now, &ignore) < 0) now = cur <= 0 ? 0 : cur;
        if (had != now) {
            fp_err_set(err, FP_ESYS, "container %.12s: %s is %lld, not %lld as planned: changed "
                       "concurrently, nothing applied", plan->object, knob, cur, prev[i]);
            goto out;
        }
        if (json_object_set_new(body, knob, json_integer(want)) < 0) {
            fp_err_sys(err, "cannot build a container update");
            goto out;
        }
    }
    char path[256];
    snprintf(path, sizeof path, "/containers/%s/update", plan->object);
    long status = 0;
    json_t *ans = NULL;
    if (fp_docker_request(k->d, "POST", path, body, &status, &ans, err) < 0) {
        if (status == 404)
            fp_err_set(err, FP_EINPUT, "no such container: %s", plan->object);
        goto out;
    }
    json_decref(ans);
    r = 0;
out:
    json_decref(body);
    json_decref(j);
    return r;
}

/* A revert's plan against the record's target (act_impl.h): the plan's
 * object must be the full id of the target's container (the object itself
 * when the target names none); its usage goes in *o. */
static int dk_revert_check(fp_actuator *a, const fp_target *tg, const fp_plan *p,
                           fp_observed *o, fp_err *err)
{
    fp_target t = *tg;
    if (!t.container[0]) snprintf(t.container, sizeof t.container, "%.79s", p->object);
    for (int i = 0; i < p->n; i++)
        if (p->ch[i].path[0])
            return fp_err_set(err, FP_EINPUT, "refusing change of %s: a Docker change has no path",
                              p->ch[i].knob);
    dk_act *k = (dk_act *)a;
    json_t *j;
    if (inspect_container(k->d, t.container, &j, err) < 0) return -1;
    const char *id = json_string_value(json_object_get(j, "Id"));
    int rc = 0;
    if (strcmp(id, p->object) != 0)
        rc = fp_err_set(err, FP_EINPUT, "refusing a revert of container %.80s: the record's target "
                        "is container %.80s", p->object, id);
    json_decref(j);
    if (rc == 0) rc = dk_observe(a, &t, o, err);
    return rc;
}

static const fp_act_ops docker_ops = {
    .name = "docker", .observe = dk_observe, .plan = dk_plan, .commit = dk_commit,
    .free = dk_free, .revert_check = dk_revert_check,
};

/* A client for the engine at roots->docker_sock (libcurl is loaded now;
 * the engine is first contacted by observe or plan). */
static fp_actuator *new_act(const fp_roots *roots, const fp_act_ops *ops, fp_err *err)
{
    dk_act *k = calloc(1, sizeof *k);
    if (!k) {
        fp_err_sys(err, "cannot allocate the %s back-end", ops->name);
        return NULL;
    }
    k->roots = *roots;
    k->d = fp_docker_new(roots, err);
    if (!k->d) {
        free(k);
        return NULL;
    }
    k->base.ops = ops;
    return &k->base;
}

fp_actuator *fp_act_docker_new(const fp_roots *roots, fp_err *err)
{
    return new_act(roots, &docker_ops, err);
}

/* ------------------------------------------------------------- swarm */

static const struct { const char *knob; const char *group, *field; } sw_knobs[] = {
    { "Limits.NanoCPUs", "Limits", "NanoCPUs" },
    { "Limits.MemoryBytes", "Limits", "MemoryBytes" },
    { "Limits.Pids", "Limits", "Pids" },
    { "Reservations.NanoCPUs", "Reservations", "NanoCPUs" },
    { "Reservations.MemoryBytes", "Reservations", "MemoryBytes" },
};

static int sw_knob(const char *knob)
{
    for (size_t i = 0; i < sizeof sw_knobs / sizeof *sw_knobs; i++)
        if (strcmp(knob, sw_knobs[i].knob) == 0) return (int)i;
    return -1;
}

/* Spec.TaskTemplate.Resources of a service (or of its Spec when spec is
 * already the Spec); NULL when absent. */
static json_t *spec_resources(json_t *spec)
{
    return json_object_get(json_object_get(spec, "TaskTemplate"), "Resources");
}

static long long spec_value(json_t *spec, int k)
{
    json_t *g = json_object_get(spec_resources(spec), sw_knobs[k].group);
    return jint(g, sw_knobs[k].field, 0);
}

/* The service tg->container stands for (see the top comment): *svc gets
 * GET /services/{id}, cid the task container's id when it is one ("" when
 * tg->container named a service) and *running whether that container
 * runs. FP_EINPUT for an invalid reference, a container that is not a
 * Swarm task, or neither a container nor a service of that name. */
static int resolve_service(fp_docker *d, const char *ref, json_t **svc, char *cid, size_t ncid,
                           bool *running, fp_err *err)
{
    *svc = NULL;
    cid[0] = 0;
    *running = false;
    if (!fp_docker_valid_ref(ref))
        return fp_err_set(err, FP_EINPUT, "invalid container or service reference: \"%.140s\"",
                          ref);
    json_t *c = NULL;
    fp_err e0 = {0};
    char sid[160];
    if (inspect_container(d, ref, &c, &e0) == 0) {
        json_t *labels = json_object_get(json_object_get(c, "Config"), "Labels");
        const char *s = json_string_value(json_object_get(labels, SERVICE_LABEL));
        if (!s || !fp_docker_valid_ref(s)) {
            json_decref(c);
            return fp_err_set(err, FP_EINPUT, "container %s is not a task of a Swarm service "
                              "(no valid %s label)", ref, SERVICE_LABEL);
        }
        snprintf(sid, sizeof sid, "%s", s);
        snprintf(cid, ncid, "%s", json_string_value(json_object_get(c, "Id")));
        *running = json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
        json_decref(c);
    } else if (e0.cls == FP_EINPUT) {
        snprintf(sid, sizeof sid, "%s", ref);       /* no such container: a service? */
    } else {
        if (err) *err = e0;
        return -1;
    }
    char path[256];
    snprintf(path, sizeof path, "/services/%s", sid);
    if (get_json(d, path, "service", sid, svc, err) < 0) {
        if (!cid[0] && err && err->cls == FP_EINPUT)
            fp_err_set(err, FP_EINPUT, "no such container or service: %s", ref);
        return -1;
    }
    const char *id = json_string_value(json_object_get(*svc, "ID"));
    if (!id || !fp_docker_valid_ref(id) || !json_is_object(json_object_get(*svc, "Spec")) ||
        !json_is_integer(json_object_get(json_object_get(*svc, "Version"), "Index"))) {
        json_decref(*svc);
        *svc = NULL;
        return fp_err_set(err, FP_ESYS, "unexpected answer from the Docker engine for service %s",
                          sid);
    }
    return 0;
}

/* Limits of the service's spec and, when tg->container is a task
 * container that runs, its usage. */
static int sw_observe(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    json_t *svc;
    char cid[80];
    bool running;
    if (resolve_service(k->d, tg->container, &svc, cid, sizeof cid, &running, err) < 0)
        return -1;
    json_t *spec = json_object_get(svc, "Spec");
    long long v;
    v = spec_value(spec, 0);
    o->now.cpu_max_cores = v > 0 ? (double)v / 1e9 : FP_UNLIMITED;
    v = spec_value(spec, 1);
    o->now.mem_max_bytes = v > 0 ? (double)v : FP_UNLIMITED;
    v = spec_value(spec, 2);
    o->now.pids_max = v > 0 ? (double)v : FP_UNLIMITED;
    v = spec_value(spec, 3);
    o->now.cpu_weight_cores = v > 0 ? (double)v / 1e9 : FP_UNLIMITED;
    v = spec_value(spec, 4);
    o->now.mem_high_bytes = v > 0 ? (double)v : FP_UNLIMITED;
    int r = 0;
    if (cid[0] && running) {
        r = observe_usage(k, cid, 0, o, err);
    } else if (cid[0]) {
        not_running(o);
    } else {
        o->why_mem = o->why_cpu = o->why_throttled = o->why_oom =
            "the target names a service, not one of its task containers";
    }
    json_decref(svc);
    return r;
}

/* The engine's API version as major * 1000 + minor (1.41 -> 1041), or 0. */
static int api_version(fp_docker *d, fp_err *err)
{
    json_t *j;
    if (get_json(d, "/version", "engine", "version", &j, err) < 0) return -1;
    unsigned maj = 0, min = 0;
    const char *s = json_string_value(json_object_get(j, "ApiVersion"));
    int v = s && sscanf(s, "%u.%u", &maj, &min) == 2 && maj < 100 && min < 1000
        ? (int)(maj * 1000 + min) : 0;
    json_decref(j);
    return v;
}

static int sw_plan(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                   fp_plan *plan, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    json_t *svc;
    char cid[80];
    bool running;
    if (resolve_service(k->d, tg->container, &svc, cid, sizeof cid, &running, err) < 0)
        return -1;
    json_t *spec = json_object_get(svc, "Spec");
    snprintf(plan->object, sizeof plan->object, "%s",
             json_string_value(json_object_get(svc, "ID")));
    snprintf(plan->token, sizeof plan->token, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index")));
    /* knob index -> the requested limit and its scale to the spec's unit */
    const struct { int knob; double want; double scale; const char *name; } map[] = {
        { 0, want->cpu_max_cores, 1e9, "cpu_max_cores" },
        { 1, want->mem_max_bytes, 1, "mem_max_bytes" },
        { 2, want->pids_max, 1, "pids_max" },
        { 3, want->cpu_weight_cores, 1e9, "cpu_weight_cores" },
        { 4, want->mem_high_bytes, 1, "mem_high_bytes" },
    };
    int r = -1;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        double v = 0;
        int w = wanted(map[i].want, map[i].name, &v, err);
        if (w < 0) goto out;
        if (!w) continue;
        if (map[i].knob == 2) {
            int api = api_version(k->d, err);
            if (api < 0) goto out;
            if (api < 1041) {
                fp_plan_unsupported(plan, "pids_max", "Limits.Pids needs Engine API 1.41 or "
                                    "later; this engine speaks %d.%d", api / 1000, api % 1000);
                continue;
            }
        }
        long long n = w == 2 ? 0 : llround(v * map[i].scale);
        if (map[i].knob == 1 && cid[0] &&
            check_mem_usage(k, cid, 0, running, n, err) < 0) goto out;
        long long cur = spec_value(spec, map[i].knob);
        if (n != cur && add_ll(plan, sw_knobs[map[i].knob].knob, n, cur, err) < 0) goto out;
    }
    if (want->io_read_Bps > 0 || want->io_read_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "io_read_Bps", "a Swarm service spec has no block-device "
                            "throttles");
    if (want->io_write_Bps > 0 || want->io_write_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "io_write_Bps", "a Swarm service spec has no block-device "
                            "throttles");
    if (want->net_tx_Bps > 0 || want->net_tx_Bps == FP_UNLIMITED)
        fp_plan_unsupported(plan, "net_tx_Bps", "a Swarm service spec has no egress limit; use "
                            "the cgroup back-end with a task's pid");
    r = 0;
out:
    json_decref(svc);
    return r;
}

/* Set Spec.TaskTemplate.Resources.GROUP.FIELD to v, or remove it for 0. */
static int spec_set(json_t *spec, int k, long long v)
{
    json_t *tt = json_object_get(spec, "TaskTemplate");
    if (!json_is_object(tt)) {
        if (json_object_set_new(spec, "TaskTemplate", json_object()) < 0) return -1;
        tt = json_object_get(spec, "TaskTemplate");
    }
    json_t *res = json_object_get(tt, "Resources");
    if (!json_is_object(res)) {
        if (json_object_set_new(tt, "Resources", json_object()) < 0) return -1;
        res = json_object_get(tt, "Resources");
    }
    json_t *g = json_object_get(res, sw_knobs[k].group);
    if (!json_is_object(g)) {
        if (json_object_set_new(res, sw_knobs[k].group, json_object()) < 0) return -1;
        g = json_object_get(res, sw_knobs[k].group);
    }
    if (v == 0) {
        json_object_del(g, sw_knobs[k].field);
        return 0;
    }
    return json_object_set_new(g, sw_knobs[k].field, json_integer(v));
}

/* Commit a swarm plan (see the top comment for the version rules).
 * FP_EINPUT for a plan that is not ours or malformed and for a service
 * that is gone; FP_ESYS when the service or a knob changed since the plan
 * or the engine refuses. */
static int sw_commit(fp_actuator *a, const fp_plan *plan, fp_err *err)
{
    dk_act *k = (dk_act *)a;
    if (strcmp(plan->backend, "swarm") != 0)
        return fp_err_set(err, FP_EINPUT, "a %s plan cannot be committed by the swarm back-end",
                          plan->backend);
    if (!fp_docker_valid_ref(plan->object))
        return fp_err_set(err, FP_EINPUT, "invalid service reference: \"%.140s\"", plan->object);
    long long token = -1;
    if (plan->token[0] && (!parse_ll(plan->token, &token) || token < 0))
        return fp_err_set(err, FP_EINPUT, "swarm plan token \"%.60s\" is not a version index",
                          plan->token);
    long long val[FP_CHANGES_MAX], prev[FP_CHANGES_MAX];
    int idx[FP_CHANGES_MAX];
    for (int i = 0; i < plan->n; i++) {
        const fp_change *c = &plan->ch[i];
        if ((idx[i] = sw_knob(c->knob)) < 0)
            return fp_err_set(err, FP_EINPUT, "unknown Swarm knob \"%.96s\"", c->knob);
        if (!parse_ll(c->value, &val[i]) || !parse_ll(c->previous, &prev[i]) || val[i] < 0 ||
            prev[i] < 0)
            return fp_err_set(err, FP_EINPUT, "%s: value \"%.60s\" or previous \"%.60s\" is not "
                              "a non-negative integer", c->knob, c->value, c->previous);
        for (int m = 0; m < i; m++)
            if (idx[m] == idx[i])
                return fp_err_set(err, FP_EINPUT, "%s is changed twice in one plan", c->knob);
    }
    if (plan->n == 0) return 0;

    char path[256];
    snprintf(path, sizeof path, "/services/%s", plan->object);
    json_t *svc, *spec = NULL;
    if (get_json(k->d, path, "service", plan->object, &svc, err) < 0) return -1;
    int r = -1;
    json_t *ver = json_object_get(json_object_get(svc, "Version"), "Index");
    if (!json_is_integer(ver) || !json_is_object(json_object_get(svc, "Spec"))) {
        fp_err_set(err, FP_ESYS, "unexpected answer from the Docker engine for service %s",
                   plan->object);
        goto out;
    }
    long long now = (long long)json_integer_value(ver);
    if (token >= 0 && now != token) {
        fp_err_set(err, FP_ESYS, "service %s changed since the plan (version %lld, now %lld): "
                   "concurrent change, not overwritten", plan->object, token, now);
        goto out;
    }
    spec = json_deep_copy(json_object_get(svc, "Spec"));
    if (!spec) {
        fp_err_sys(err, "cannot copy a service spec");
        goto out;
    }
    for (int i = 0; i < plan->n; i++) {
        long long cur = spec_value(spec, idx[i]);
        if (cur != prev[i]) {
            fp_err_set(err, FP_ESYS, "service %s: %s is %lld, not %lld as planned: concurrent "
                       "change, not overwritten", plan->object, plan->ch[i].knob, cur, prev[i]);
            goto out;
        }
        if (spec_set(spec, idx[i], val[i]) < 0) {
            fp_err_sys(err, "cannot build a service spec");
            goto out;
        }
    }
    snprintf(path, sizeof path, "/services/%s/update?version=%lld", plan->object, now);
    long status = 0;
    json_t *ans = NULL;
    if (fp_docker_request(k->d, "POST", path, spec, &status, &ans, err) < 0) {
        if (status == 404) fp_err_set(err, FP_EINPUT, "no such service: %s", plan->object);
        goto out;
    }
    json_decref(ans);
    r = 0;
out:
    json_decref(spec);
    json_decref(svc);
    return r;
}

static const fp_act_ops swarm_ops = {
    .name = "swarm", .observe = sw_observe, .plan = sw_plan, .commit = sw_commit,
    .free = dk_free,
};

fp_actuator *fp_act_swarm_new(const fp_roots *roots, fp_err *err)
{
    return new_act(roots, &swarm_ops, err);
}
