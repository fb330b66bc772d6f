/* fp/actuator.h - putting limits in place: one contract, several back-ends.
 *
 * An actuator changes the resources of one kind of target:
 *   cgroup   a cgroup (v1, v2 or hybrid), by writing its controller files;
 *   docker   a container, through the Engine API's /containers/{id}/update;
 *   swarm    a Swarm service, through /services/{id}/update with the
 *            service's version index (a concurrent change is refused);
 *   k8s      a pod, by a patch of its `resize` subresource, emitted and, on
 *            request, executed through kubectl (never through a shell).
 * Network egress of a workload in its own network namespace is limited with
 * tc (see fp/netlimit.h) by the cgroup and docker back-ends.
 *
 * Every change goes in two steps:
 *   plan    reads the current value of each knob the limits touch and
 *           returns the list of writes (knob, new value, previous value);
 *           nothing is changed, so --dry-run stops here;
 *   commit  performs the writes in order. When one fails, the writes
 *           already done are undone in reverse order, so a target is never
 *           left half-applied, and the error says which knob failed.
 * Reverting is a commit of the same changes with value and previous
 * swapped, in reverse order (fp_plan_invert).
 *
 * Knobs and values are strings: for cgroups the file name and the exact
 * text written ("50000 100000", "max"); for Docker the HostConfig field
 * ("NanoCpus", "Memory", "BlkioDeviceReadBps:/dev/sda"); for Swarm the spec
 * path ("Limits.NanoCPUs"); for Kubernetes the resource path
 * ("limits.cpu"). The allocation record carries them, so a revert needs
 * nothing but the record.
 *
 * Safety belongs to the policy (fp/policy.h), which decides the limits; an
 * actuator enforces the rules that depend on what only it can see: a
 * memory limit below the target's current usage is refused (FP_EINPUT)
 * even if the policy asked for it; in v1 memory.limit_in_bytes and in v2
 * memory.max are written after memory.high / the soft limit when they
 * shrink, and before when they grow.
 *
 * Security: the cgroup back-end writes only below the cgroup mounts listed
 * in <proc>/self/mountinfo (fp_cg_layout), refuses ".." and any symlink on
 * the way from the mount to the knob file, and opens knob files with
 * O_NOFOLLOW. Container and service references are checked against
 * fp_docker_valid_ref before they reach a URL. Nothing is passed to a
 * shell: tc and kubectl are run with execvp and an argument vector.
 *
 * Ownership: fp_actuator is opaque, created by one of the fp_act_*_new
 * functions and freed with fp_act_free. fp_plan and fp_observed are plain
 * values (no pointers) owned by the caller.
 */
#ifndef FP_ACTUATOR_H
#define FP_ACTUATOR_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/prediction.h"
#include "fp/record.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits to put in place. A negative value (FP_UNSET) leaves that limit
 * alone; FP_UNLIMITED removes it. */
#define FP_UNSET (-1.0)
#define FP_UNLIMITED (-2.0)
typedef struct fp_limits {
    double cpu_max_cores;      /* hard quota: cpu.max, cfs_quota_us, NanoCpus */
    double cpu_weight_cores;   /* proportional share, in cores: cpu.weight,
                                  cpu.shares (1024 per core), CpuShares */
    double mem_high_bytes;     /* soft: memory.high, soft_limit_in_bytes,
                                  MemoryReservation, Reservations.MemoryBytes */
    double mem_max_bytes;      /* hard: memory.max, limit_in_bytes, Memory */
    double io_read_Bps;        /* per block device: io.max rbps, blkio.throttle */
    double io_write_Bps;
    double pids_max;
    double net_tx_Bps;         /* egress rate (tc) */
} fp_limits;

/* Set every limit of l to FP_UNSET. */
void fp_limits_unset(fp_limits *l);
/* Whether any limit of l is other than FP_UNSET (a change or a removal). */
bool fp_limits_any_set(const fp_limits *l);

/* What a target uses and has now. Fields that cannot be read are negative
 * (FP_UNSET) with a reason in why_* (static strings). */
typedef struct fp_observed {
    double mem_bytes;          /* current usage */
    double oom_kills;          /* cumulative */
    double throttled_s;        /* cumulative time throttled by the CPU quota */
    double cpu_s;              /* cumulative CPU time */
    fp_limits now;             /* limits in effect (FP_UNLIMITED when none) */
    const char *why_mem, *why_oom, *why_throttled, *why_cpu;
} fp_observed;

#define FP_KNOB_MAX 96
#define FP_VALUE_MAX 160
#define FP_CHANGES_MAX 24

typedef struct fp_change {
    char knob[FP_KNOB_MAX];
    char value[FP_VALUE_MAX];
    char previous[FP_VALUE_MAX];
    char path[FP_PATH_MAX];    /* cgroup back-end: the file; else "" */
} fp_change;

typedef struct fp_plan {
    char backend[32];          /* "cgroup-v1", "cgroup-v2", "docker", "swarm", "k8s" */
    char object[512];          /* what is changed: cgroup path, container id,
                                  service id, namespace/pod/container */
    char token[64];            /* swarm: the version index the plan read */
    int pid;                   /* a process of the target (tc changes), 0 none */
    int n;
    fp_change ch[FP_CHANGES_MAX];
    int n_unsupported;
    struct { char limit[32]; char why[160]; } unsupported[8];
} fp_plan;

typedef struct fp_actuator fp_actuator;

/* Back-ends. `roots` gives /proc, the cgroup root and the Docker socket. */
fp_actuator *fp_act_cgroup_new(const fp_roots *roots, fp_err *err);
/* The cgroup back-end never limits a cgroup that holds anything but the
 * workload. A target with a cgroup path is that cgroup (the caller named
 * it). A target given only by pid resolves to the pid's cgroup only when,
 * in every controller a limit is written to, that cgroup and its
 * descendants hold nothing but the pid and its descendants
 * (fp_cgroup_sole_tree); else observe and plan refuse with FP_EINPUT,
 * naming the cgroup, another process in it and the remedies. With whole
 * true the pid's whole cgroup is limited anyway (fp-apply --whole-cgroup).
 * FP_EUSAGE when a is not a cgroup back-end. */
int fp_act_cgroup_whole(fp_actuator *a, bool whole, fp_err *err);
fp_actuator *fp_act_docker_new(const fp_roots *roots, fp_err *err);
fp_actuator *fp_act_swarm_new(const fp_roots *roots, fp_err *err);
/* kubectl: NULL to only emit patches; else the program to run ("kubectl"). */
fp_actuator *fp_act_k8s_new(const char *kubectl, const char *nspace, fp_err *err);
/* The strategic-merge patch of the pod's `resize` subresource that a k8s
 * plan stands for: {"spec":{"containers":[{"name":C,"resources":{"requests":
 * {...},"limits":{...}}}]}}. NULL when the plan is not a k8s plan, its
 * object is not NAMESPACE/POD/CONTAINER, or a change has an unknown knob or
 * a value that is not a quantity (a previous value "unknown" or "" put back
 * by fp_plan_invert). The caller owns the result (json_decref). */
json_t *fp_k8s_patch(const fp_plan *plan);
void fp_act_free(fp_actuator *a);
const char *fp_act_name(const fp_actuator *a);

/* What the target uses and which limits it has (the policy needs both). */
int fp_act_observe(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err);

/* Plan the writes that put `want` in place on tg (see above). FP_EINPUT
 * for a target this back-end cannot address (no cgroup, malformed id, a
 * symlink on the path, no such container) or a memory limit below current
 * usage; FP_ESYS when the system cannot be read. */
int fp_act_plan(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                fp_plan *plan, fp_err *err);

/* Perform the plan's writes, all or none (see above). */
int fp_act_commit(fp_actuator *a, const fp_plan *plan, fp_err *err);

/* The plan that undoes p: value and previous swapped, order reversed. */
void fp_plan_invert(const fp_plan *p, fp_plan *out);

/* Refuse (FP_EINPUT) a plan that sets a memory knob (soft or hard, any
 * back-end) to a value that is not a plain decimal number of bytes or a
 * "no limit" ("max", "infinity", "-1"; 0 for Docker and Swarm, where it
 * means none), or to a number of bytes below usage_bytes; with a number
 * and usage_bytes < 0 (unknown), refuse as well: the check a replayed plan
 * needs, since it does not go through fp_act_plan. */
int fp_plan_check_memory(const fp_plan *p, double usage_bytes, fp_err *err);

/* What a revert must pass besides the back-end's own rules: the floors a
 * prediction's limits pass (fp-apply takes them from its policy). */
#define FP_PIDS_FLOOR 64         /* a task limit fp puts back is at least this */
typedef struct fp_revert_rules {
    double cpu_min_cores;        /* a CPU quota or weight: at least this many cores */
    double mem_min_bytes;        /* a memory limit: at least this, and at least */
    double mem_margin_frac;      /*   usage x (1 + mem_margin_frac) */
    double mem_margin_bytes;     /*   + mem_margin_bytes */
    double io_min_Bps;           /* a disk bandwidth limit: at least this */
    double net_min_Bps;          /* an egress limit: at least this */
    double pids_min;             /* a task limit: at least this */
} fp_revert_rules;

/* Check the plan of a revert (fp_plan_invert of a plan rebuilt from an
 * allocation record, which nothing vouches for) before any of it is
 * committed. It passes when
 *   - it is for this back-end, and every change is a knob of the record's
 *     own target tg (the cgroup back-end: the knob files of tg's cgroup,
 *     resolved as a plan resolves it, the whole cgroup of a pid allowed,
 *     and tc changes of tg's pid; docker: tg's container; systemd: tg's
 *     unit); a target naming none of these is the plan's object;
 *   - every value is one fp itself could have written, parsed strictly:
 *     decimal digits or the knob's "no limit" ("max", "-1", "infinity",
 *     0 where the back-end means none), cpu.max "N PERIOD" or "max
 *     PERIOD", io.max "MAJ:MIN rbps=V wbps=V" (riops/wiops only "max"),
 *     a v1 throttle "MAJ:MIN N", a tc "none" or "tbf rate ..." value;
 *   - and every limit passes the floors of rules: memory at least
 *     max(mem_min_bytes, usage x (1 + mem_margin_frac) + mem_margin_bytes)
 *     with the usage read from the target (refused when it cannot be
 *     read), CPU quota and weight at least cpu_min_cores, disk and
 *     network bandwidths at least io_min_Bps / net_min_Bps, tasks at least
 *     pids_min.
 * FP_EINPUT naming the change and the rule otherwise; FP_ESYS when the
 * target cannot be read. Back-ends without a check of their own (swarm,
 * k8s, whose commits check every knob's previous value) get
 * fp_plan_check_memory against the observed usage. */
int fp_act_check_revert(fp_actuator *a, const fp_target *tg, const fp_plan *plan,
                        const fp_revert_rules *rules, fp_err *err);
/* The value rules of fp_act_check_revert alone (any back-end's knobs),
 * with the target's usage in o->mem_bytes (< 0: unknown, why_mem says
 * why). */
int fp_plan_check_revert_values(const fp_plan *plan, const fp_observed *o,
                                const fp_revert_rules *rules, fp_err *err);

/* One `allocation` record: what fp-apply decided and did for a target. */
typedef struct fp_allocation {
    fp_target target;
    double t, ts;              /* the record's t and Unix time */
    const char *reason;        /* "prediction", "oom", "throttling", "capacity", "revert" */
    const char *model;         /* model of the prediction, NULL none */
    double horizon_s, prediction_t;   /* < 0: no prediction */
    bool dry_run, ok;
    const char *error;         /* NULL when ok */
    fp_limits limits;          /* what was decided (FP_UNSET: left alone) */
    const char *why[FP_RES_COUNT]; /* per resource (fp_resource order), NULL none */
    const char *capacity;      /* what the capacity rule decided, NULL none */
    const fp_plan *plan;       /* the changes (NULL: nothing planned) */
} fp_allocation;
json_t *fp_allocation_to_json(const fp_allocation *a);

/* plan <-> the "changes" array of an allocation record:
 *   [{"knob":"memory.high","value":"...","previous":"...","path":"..."}] */
json_t *fp_plan_changes_json(const fp_plan *p);
/* Rebuild a plan from an allocation record (backend, object, token and
 * changes); FP_EINPUT when the record lacks them or they are malformed. */
int fp_plan_from_allocation(const json_t *rec, fp_plan *p, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
