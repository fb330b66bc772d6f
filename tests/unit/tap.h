/* tests/unit/tap.h - a minimal TAP producer for the C unit tests.
 * Each check prints "ok N - what" or "not ok N - what" with the values that
 * differed; done_testing() prints the plan and returns the exit status. */
#ifndef FP_TAP_H
#define FP_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_ok(int cond, const char *what, const char *file, int line)
{
    tap_n++;
    if (!cond) tap_failed++;
    printf("%s %d - %s\n", cond ? "ok" : "not ok", tap_n, what);
    if (!cond) printf("#   failed at %s:%d\n", file, line);
}
#define ok(cond, ...) do { char w_[256]; snprintf(w_, sizeof w_, __VA_ARGS__); \
    tap_ok(!!(cond), w_, __FILE__, __LINE__); } while (0)
/* |got - want| <= tol */
#define is_near(got, want, tol, ...) do { double g_ = (got), e_ = (want); \
    char w_[256]; snprintf(w_, sizeof w_, __VA_ARGS__); \
    int c_ = fabs(g_ - e_) <= (tol); tap_ok(c_, w_, __FILE__, __LINE__); \
    if (!c_) printf("#   got %.10g, want %.10g (tol %g)\n", g_, e_, (double)(tol)); } while (0)
#define is_int(got, want, ...) do { long long g_ = (got), e_ = (want); \
    char w_[256]; snprintf(w_, sizeof w_, __VA_ARGS__); \
    tap_ok(g_ == e_, w_, __FILE__, __LINE__); \
    if (g_ != e_) printf("#   got %lld, want %lld\n", g_, e_); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *e_ = (want); \
    char w_[256]; snprintf(w_, sizeof w_, __VA_ARGS__); \
    int c_ = g_ && e_ ? strcmp(g_, e_) == 0 : g_ == e_; \
    tap_ok(c_, w_, __FILE__, __LINE__); \
    if (!c_) printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", e_ ? e_ : "(null)"); } while (0)

static inline int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
