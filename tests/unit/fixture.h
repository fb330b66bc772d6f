/* tests/unit/fixture.h - roots pointing at the fixture trees. */
#ifndef FP_TEST_FIXTURE_H
#define FP_TEST_FIXTURE_H
#include <stdio.h>
#include <stdlib.h>
#include "fp/roots.h"

static inline const char *fixtures(void)
{
    const char *f = getenv("FP_FIXTURES");
    return f && *f ? f : "tests/fixtures";
}

/* roots with proc = FIXTURES/proc_dir and cgroup = FIXTURES/cgroup_dir */
static inline void fixture_roots(fp_roots *r, const char *proc_dir, const char *cgroup_dir)
{
    fp_roots_default(r);
    snprintf(r->proc, sizeof r->proc, "%s/%s", fixtures(), proc_dir);
    snprintf(r->cgroup, sizeof r->cgroup, "%s/%s", fixtures(), cgroup_dir);
}
#endif
