/* policy.c - placeholder, being written. */
#include "config.h"
typedef int fp_placeholder_policy;
