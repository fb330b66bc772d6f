/* act_impl.h - private: how back-ends plug into fp/actuator.h.
 *
 * Each back-end defines a struct whose first member is `fp_actuator base`
 * and an fp_act_ops table; actuator.c dispatches through it. Not installed.
 */
#ifndef FP_ACT_IMPL_H
#define FP_ACT_IMPL_H

#include "fp/actuator.h"

typedef struct fp_act_ops {
    const char *name;
    int (*observe)(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err);
    int (*plan)(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                fp_plan *plan, fp_err *err);
    int (*commit)(fp_actuator *a, const fp_plan *plan, fp_err *err);
    void (*free)(fp_actuator *a);
    /* A revert's plan (from a record) against the record's target tg: 0
     * when every change is a knob of tg itself and the plan's object is
     * tg's, with tg's memory usage in *o (mem_bytes < 0 when it cannot be
     * read); FP_EINPUT naming the change otherwise. NULL: the back-end
     * does not check (its commit checks each knob's previous value). */
    int (*revert_check)(fp_actuator *a, const fp_target *tg, const fp_plan *plan,
                        fp_observed *o, fp_err *err);
} fp_act_ops;

struct fp_actuator {
    const fp_act_ops *ops;
};

/* Append a change to a plan; -1 (FP_EUSAGE) when the plan is full or a
 * string does not fit. path may be NULL. */
int fp_plan_add(fp_plan *p, const char *knob, const char *value, const char *previous,
                const char *path, fp_err *err);
/* Bytes of a memory limit as the kernel keeps them: rounded down to whole
 * pages, at least one page, at most 4e18. */
unsigned long long fp_act_mem_pages(double bytes);
/* Record a limit the back-end cannot set, with the reason. */
void fp_plan_unsupported(fp_plan *p, const char *limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
