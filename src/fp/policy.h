#ifndef FP_POLICY_H
#define FP_POLICY_H
#endif
