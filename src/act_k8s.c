/* act_k8s.c - placeholder, being written. */
#include "config.h"
typedef int fp_placeholder_act_k8s;
