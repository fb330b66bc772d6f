/* metric.c - the metric table. */
#include <string.h>
#include "fp/metric.h"

static const char *const names[FP_M_COUNT] = {
#define FP_X_NAME(e, n, d) n,
    FP_METRICS(FP_X_NAME)
#undef FP_X_NAME
};
static const char *const descs[FP_M_COUNT] = {
#define FP_X_DESC(e, n, d) d,
    FP_METRICS(FP_X_DESC)
#undef FP_X_DESC
};

const char *fp_metric_name(fp_metric m) { return (unsigned)m < FP_M_COUNT ? names[m] : 0; }
const char *fp_metric_desc(fp_metric m) { return (unsigned)m < FP_M_COUNT ? descs[m] : 0; }

int fp_metric_lookup(const char *name)
{
    for (int i = 0; i < FP_M_COUNT; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

void fp_sample_init(fp_sample *s, double t, const char *why)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    for (int i = 0; i < FP_M_COUNT; i++) s->why[i] = why;
}
