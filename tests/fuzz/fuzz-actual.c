/* fuzz-actual: one `actual` record through what reads it: the training
 * targets (fp_actual_targets, src/dataset.c, every statistic) and whether
 * a limit harmed the workload (fp_actual_harm, src/diff.c). */
#include "fuzz.h"
#include <fp/dataset.h>
#include <fp/diff.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!rec) return 0;
    static const char *const stats[] = {"peak", "p95", "p50", "mean", "p99", ""};
    for (size_t i = 0; i < sizeof stats / sizeof *stats; i++) {
        double y[FP_RES_COUNT];
        fp_err err = {0};
        fp_actual_targets(rec, stats[i], y, &err);
    }
    for (int r = 0; r < FP_RES_COUNT; r++) fp_actual_harm(rec, (fp_resource)r);
    fp_target tg;
    fp_err err = {0};
    fp_target_from_json(rec, &tg, &err);
    json_decref(rec);
    return 0;
}
