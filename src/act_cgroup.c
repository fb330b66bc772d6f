/* act_cgroup.c - placeholder, being written. */
#include "config.h"
typedef int fp_placeholder_act_cgroup;
#include "act_impl.h"
fp_actuator *fp_act_cgroup_new(const fp_roots *r, fp_err *err) { (void)r; fp_err_set(err, FP_ESYS, "cgroup back-end not built yet"); return NULL; }
