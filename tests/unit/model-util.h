/* tests/unit/model-util.h - deterministic random numbers for the model
 * tests (splitmix64, Box-Muller): no rand(), the same data everywhere. */
#ifndef FP_MODEL_UTIL_H
#define FP_MODEL_UTIL_H
#include <math.h>
#include <stdint.h>
#include "fp/model.h"

typedef struct { uint64_t s; } trng;

static inline uint64_t trng_next(trng *r)
{
    return fp_splitmix64(&r->s);
}
/* uniform in [a, b) */
static inline double trng_unif(trng *r, double a, double b)
{
    return a + (b - a) * (double)(trng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
/* standard normal */
static inline double trng_norm(trng *r)
{
    double u = trng_unif(r, 0, 1), v = trng_unif(r, 0, 1);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
#endif
