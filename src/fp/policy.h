/* fp/policy.h - from a prediction to the limits to put in place.
 *
 * The one place that decides how much a workload gets. Per resource:
 *   want  = quantile(level) x headroom, rounded up to `step`,
 *           clamped to [floor, ceiling] (ceiling 0: the machine's capacity);
 * then the safety rules, which always win:
 *   - memory is never limited below the growth-aware floor
 *       max(usage, peak so far) x (1 + mem_margin_frac) + mem_margin_bytes
 *         + min(growth rate x mem_react_s, max(usage, peak so far))
 *     where the growth rate is the fastest recent rise of usage between two
 *     looks (bytes/s), decaying with time constant mem_rate_tau_s once the
 *     workload stops growing: the limit stays ahead of where the workload
 *     can be by the time fp looks again. The hard limit (memory.max) sits
 *     mem_max_over_high above the soft one (memory.high / soft limit /
 *     reservation);
 *   - the CPU quota is never set below the workload's demand x (1 +
 *     cpu_margin_frac), its demand being the CPU it used between the last
 *     two looks when that interval was not throttled (throttled share at
 *     most throttle_frac): a quota below what it uses unthrottled would
 *     slow it down. Known only after two looks at the target;
 *   - a shrink is gentle: at most max_down of the current value per change,
 *     and no more often than min_interval_s;
 *   - hysteresis: a change smaller than `hysteresis` (relative) is not made;
 *   - novelty: a prediction that says the workload is unlike what the
 *     model knows (novelty above novel_above) and has no history of it
 *     (no prior) carries no evidence about its memory: for a target the
 *     caller watches with a guard that holds it at its limits
 *     (st->watched, fp/memguard.h), memory is asked from the workload's
 *     own usage instead, at most the growth-aware floor x novel_anchor
 *     (1 by default; 0: off, the model's quantile stands). As the
 *     workload shows more, the floor and the kernel's word raise it.
 *     Where the caller cannot watch so (fp-apply's one look), the model's
 *     quantile stands. With novel_mem_frac > 0 the other way instead: the
 *     first limits give memory the workload's request when it declared one
 *     (a prediction capped at it, fp_prediction_cap), else at least that
 *     share of the machine, lowered later by agreement, gently;
 *   - agreement: a prediction that asks for less than is in place lowers a
 *     limit only when `agree` predictions in a row ask for less, and then
 *     to the largest of them (a noisy model does not make limits swing);
 *   - an OOM kill since the last look raises memory at once to at least
 *     max(current + oom_bump_bytes, current x oom_bump_factor);
 *   - sustained throttling (throttled share of wall time above
 *     throttle_frac for throttle_streak looks in a row) raises the CPU quota
 *     x throttle_bump;
 *   - a look between predictions (p NULL) raises memory when the
 *     growth-aware floor has passed the limits in place: the soft limit to
 *     max(floor, soft x oom_bump_factor), the hard one x mem_max_over_high
 *     above (reason "growth");
 *   - the kernel's word that the workload presses against its memory
 *     limits (fp/memguard.h: a usage threshold at the soft limit, an OOM at
 *     the hard one, memory.high events, memory pressure) raises at once
 *     (fp_policy_press), between looks;
 *   raises are never delayed by min_interval_s.
 * Many workloads on one machine: fp_policy_share fits the hard limits of
 * all targets into the capacity (minus the reserve) by the overcommit rule:
 *   scale     every target keeps its safety floor and gets the same share
 *             of the rest of its want (proportional scaling);
 *   priority  higher priority first, each up to its want, the others keep
 *             their floors;
 *   refuse    changes that would overcommit are not made (the previous
 *             limits stay, a new target stays unlimited) and say so;
 *   allow     overcommit, but say by how much.
 * Defaults are documented in fp-apply(1) and set by fp_policy_default; a
 * JSON policy file (fp_policy_load) overrides any of them.
 *
 * Ownership: fp_policy, fp_capacity, fp_apply_state, fp_decision and
 * fp_share are plain values owned by the caller.
 */
#ifndef FP_POLICY_H
#define FP_POLICY_H

#include <stdbool.h>
#include "fp/actuator.h"
#include "fp/error.h"
#include "fp/prediction.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FP_OVER_SCALE, FP_OVER_PRIORITY, FP_OVER_REFUSE, FP_OVER_ALLOW } fp_overcommit;

typedef struct fp_res_policy {
    bool enabled;        /* false: this resource is left alone */
    double quantile;     /* level used, e.g. 0.9 */
    double headroom;     /* multiplier on the quantile, >= 1 */
    double floor;        /* smallest limit, in the resource's unit */
    double ceiling;      /* largest; 0 = the machine's capacity (cpu, mem) or none */
    double step;         /* rounding up to a multiple of this */
    double hysteresis;   /* relative change below which nothing is changed */
    double max_down;     /* largest relative decrease per change, in (0,1] */
} fp_res_policy;

typedef struct fp_policy {
    fp_res_policy res[FP_RES_COUNT];
    double min_interval_s;     /* between two changes of a target (not raises) */
    double mem_margin_bytes;   /* safety margin over current usage */
    double mem_margin_frac;
    double mem_max_over_high;  /* hard memory limit = soft x this */
    double mem_react_s;        /* time fp may need to react: floor += growth x this */
    double mem_rate_tau_s;     /* the growth rate decays with this time constant */
    int agree;                 /* predictions in a row that must agree to lower */
    double novel_above;        /* a prediction this novel (fp_model_novelty) ... */
    double novel_mem_frac;     /* ... gets a first memory limit of at least this
                                  share of the machine (0: off) */
    double novel_anchor;       /* ... or, watched and without a prior, memory
                                  of at most the growth floor x this (0: off;
                                  unused while novel_mem_frac > 0) */
    double cpu_margin_frac;    /* CPU quota at least demand x (1 + this) */
    double oom_bump_bytes, oom_bump_factor;
    double throttle_frac;
    int throttle_streak;
    double throttle_bump;
    bool cpu_hard;             /* also set a hard CPU quota (else weight only) */
    double pids_max;           /* a task limit set on every target, 0: none */
    fp_overcommit over;
    double reserve_cpu_cores, reserve_mem_bytes;   /* kept back for the host */
} fp_policy;

void fp_policy_default(fp_policy *p);
/* Override fields of p from a JSON file:
 *   {"overcommit":"scale", "min_interval_s":10, ...,
 *    "resources":{"mem_bytes":{"quantile":0.99,"headroom":1.2}, ...}}
 * Unknown keys, out-of-range values and malformed JSON are FP_EINPUT naming
 * the file (and the key or line); a file that cannot be opened is FP_ESYS. */
int fp_policy_load(fp_policy *p, const char *path, fp_err *err);
/* The same from a parsed object (name is used in messages). */
int fp_policy_from_json(fp_policy *p, const json_t *o, const char *name, fp_err *err);
json_t *fp_policy_to_json(const fp_policy *p);
const char *fp_overcommit_name(fp_overcommit o);
int fp_overcommit_parse(const char *s, fp_overcommit *o);

typedef struct fp_capacity {
    double cpu_cores;          /* online CPUs from <proc>/stat */
    double mem_bytes;          /* MemTotal from <proc>/meminfo */
} fp_capacity;
int fp_capacity_read(const fp_roots *r, fp_capacity *c, fp_err *err);

#define FP_AGREE_MAX 8
/* What the policy remembers about one target between decisions. Start it
 * with fp_apply_state_init. */
typedef struct fp_apply_state {
    bool applied;              /* `granted` has been put in place */
    fp_limits granted;
    double last_change;        /* time of the last change (s, any clock) */
    double oom_seen;           /* oom_kills at the last look; < 0 unknown */
    double throttled_seen, throttled_at;
    double cpu_seen, cpu_at;   /* cumulative CPU s at the last look, its time */
    double cpu_demand;         /* cores used over the last unthrottled interval
                                  between looks; 0: not known */
    int throttle_streak;
    bool looked;               /* oom_seen/throttled_seen are set */
    double mem_seen, mem_at;   /* usage at the last look, its time */
    double mem_rate;           /* recent growth of usage, bytes/s (decaying) */
    double mem_peak;           /* highest usage seen */
    double recent[FP_RES_COUNT][FP_AGREE_MAX];  /* the last predictions' values */
    int nrecent;               /* predictions seen (the ring holds the last agree) */
    bool watched;              /* set by the caller: it looks again between
                                  predictions and a memory guard that holds
                                  the target at its limits answers the
                                  kernel (fp_memguard_holds) */
} fp_apply_state;

#define FP_WHY_MAX 200
typedef struct fp_decision {
    char reason[32];           /* "prediction", "growth", "oom", "pressure",
                                  "throttling", "hold" */
    fp_limits want;            /* limits to put in place (FP_UNSET: leave) */
    double wanted[FP_RES_COUNT];   /* the policy's value before safety (NAN: none) */
    char why[FP_RES_COUNT][FP_WHY_MAX];
} fp_decision;

/* Decide the limits of one target. p may be NULL (a periodic look for OOM
 * and throttling only: then only raises are decided). o is what the
 * actuator observed now; st is updated (looked counters; the caller sets
 * applied/granted/last_change after a successful commit with
 * fp_apply_state_commit). now is the time in seconds. reason "hold" means
 * nothing needs changing. */
void fp_policy_decide(const fp_policy *pol, const fp_capacity *cap, const fp_prediction *p,
                      const fp_observed *o, fp_apply_state *st, double now, fp_decision *d);
void fp_apply_state_commit(fp_apply_state *st, const fp_limits *granted, double now);
/* A target not looked at yet: nothing applied, no change yet, the OOM and
 * throttling counters unknown (< 0). */
void fp_apply_state_init(fp_apply_state *st);

/* The answer to the kernel's word that a target presses against its memory
 * limits (a fp_memguard event): at_limit when it is at its hard limit (an
 * OOM, or waiting there with oom_kill_disable), else near its soft one.
 * Raises only, at once:
 *   soft = max(growth-aware floor, soft now x oom_bump_factor)
 *   hard = max(soft x mem_max_over_high, at_limit ? max(hard now +
 *          oom_bump_bytes, hard now x oom_bump_factor) : hard now)
 * each capped at the policy's ceiling or the machine's memory (never below
 * usage). At its hard limit with the machine's memory reached, the hard
 * limit is removed (FP_UNLIMITED: the kernel's own OOM handling, as
 * without fp). Reason "pressure"; "hold" when memory is not limited by fp
 * or the policy's ceiling is reached. */
void fp_policy_press(const fp_policy *pol, const fp_capacity *cap, const fp_observed *o,
                     fp_apply_state *st, double now, bool at_limit, fp_decision *d);

/* One target in a capacity decision: in, want (hard limits wanted) and
 * floor (what safety requires; never cut), prev (its current limits, < 0
 * none) and priority; out, grant and a note. */
typedef struct fp_share {
    double want[2], floor[2], prev[2], grant[2];   /* [0] cpu cores, [1] mem bytes */
    int priority;
    char note[160];
} fp_share;

/* Fit n targets into cap (minus the policy's reserve) by pol->over. Sets
 * every grant and note; returns a summary of what was decided ("fits",
 * "scaled cpu x0.62", "refused: ...") in buf. */
const char *fp_policy_share(const fp_policy *pol, const fp_capacity *cap, fp_share *s, int n,
                            char *buf, size_t bufn);

#ifdef __cplusplus
}
#endif

#endif
