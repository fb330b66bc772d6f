/* fp/netlimit.h - egress rate of a workload's own network namespace (tc).
 *
 * A workload that has its own network namespace (a container, `unshare
 * -n`) can have its sending rate limited by a token-bucket qdisc on each of
 * its interfaces other than lo:
 *   nsenter --net=<proc>/PID/ns/net tc qdisc replace dev IF root tbf \
 *       rate RATEbit burst BYTES latency 50ms
 * run with execvp and an argument vector (no shell). A workload in the
 * host's namespace (same ns/net inode as <proc>/1) cannot be limited this
 * way without limiting the host: that is reported as unsupported, with the
 * reason, and nothing is changed.
 *
 * Changes use the knob "tc:IF". Their value is the tbf parameters
 * ("tbf rate 8000000bit burst 100000 latency 50ms") or "none" (no root
 * qdisc of ours: delete it), so a revert of a first limit deletes the qdisc.
 *
 * Ownership: no state; plain functions.
 */
#ifndef FP_NETLIMIT_H
#define FP_NETLIMIT_H

#include <stdbool.h>
#include "fp/actuator.h"
#include "fp/error.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append to plan the tc changes that limit pid's namespace to Bps bytes
 * per second (FP_UNLIMITED: remove our limit). When the namespace is the
 * host's, or has no interface but lo, or tc/nsenter are missing, appends
 * an entry to plan->unsupported for "net_tx_Bps" instead and returns 0.
 * -1 only for a system error reading the namespace. */
int fp_netlimit_plan(const fp_roots *r, int pid, double Bps, fp_plan *plan, fp_err *err);

/* Perform one "tc:IF" change for pid. FP_ESYS with tc's message when it
 * fails. */
int fp_netlimit_apply(const fp_roots *r, int pid, const fp_change *c, fp_err *err);

/* The egress rate of a tc change's value, strictly parsed: "none" gives
 * FP_UNLIMITED, "tbf rate Nbit burst B latency L(ms|us)" its rate in
 * bytes/s. -1 for anything else. */
int fp_netlimit_rate(const char *value, double *Bps);

#ifdef __cplusplus
}
#endif

#endif
