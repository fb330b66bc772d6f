/* tests/unit/model-util.h - deterministic random numbers for the model
 * tests (splitmix64, Box-Muller): no rand(), the same data everywhere. */
#ifndef FP_MODEL_UTIL_H
#define FP_MODEL_UTIL_H
#include <math.h>
#include <stdint.h>

typedef struct { uint64_t s; } trng;

static inline uint64_t trng_next(trng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
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
