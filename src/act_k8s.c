/* act_k8s.c - placeholder, being written. */
#include "config.h"
typedef int fp_placeholder_act_k8s;
#include "act_impl.h"
fp_actuator *fp_act_k8s_new(const char *k, const char *n, fp_err *err) { (void)k; (void)n; fp_err_set(err, FP_ESYS, "k8s back-end not built yet"); return NULL; }
