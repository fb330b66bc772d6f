/* act_docker.c - placeholder, being written. */
#include "config.h"
typedef int fp_placeholder_act_docker;
#include "act_impl.h"
fp_actuator *fp_act_docker_new(const fp_roots *r, fp_err *err) { (void)r; fp_err_set(err, FP_ESYS, "docker back-end not built yet"); return NULL; }
fp_actuator *fp_act_swarm_new(const fp_roots *r, fp_err *err) { (void)r; fp_err_set(err, FP_ESYS, "swarm back-end not built yet"); return NULL; }
