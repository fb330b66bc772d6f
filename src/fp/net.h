/* fp/net.h - network counters of a workload's network namespace.
 *
 * <proc>/PID/net/dev shows the interfaces of the namespace PID lives in.
 * Those counters describe the workload only when it has a namespace of its
 * own; fp_net_read says whether it has, by comparing the ns/net links of PID
 * and of <proc>/self.
 *
 * Ownership: plain values; the caller owns the interface array.
 */
#ifndef FP_NET_H
#define FP_NET_H

#include <stdbool.h>
#include "fp/error.h"
#include "fp/metric.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read at most max interfaces of pid's namespace into ifs; sets *own_ns.
 * Returns the number of interfaces, or -1 with err (FP_ESYS unreadable,
 * FP_EINPUT malformed file). */
int fp_net_read(const fp_roots *r, int pid, fp_net_if *ifs, int max, bool *own_ns, fp_err *err);

/* The namespace link of pid ("net:[4026531840]") into id; pid 0 means
 * <proc>/self. A plain file there (in a fixture tree) holds the target as
 * text. Returns 0, or -1 with errno. */
int fp_net_ns(const fp_roots *r, int pid, char *id, size_t n);

/* Parse the text of a net/dev file (name is used in messages). */
int fp_net_parse(const char *text, const char *name, fp_net_if *ifs, int max, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
