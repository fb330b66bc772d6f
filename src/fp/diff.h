#ifndef FP_DIFF_H
#define FP_DIFF_H
#endif
