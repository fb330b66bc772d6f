/* fuzz-prediction: one `prediction` record through fp_prediction_from_json
 * (src/prediction.c). Invariants: what was read is written as a record that
 * reads back; its quantiles are non-decreasing with ascending levels in
 * (0,1), and fp_quantile_at stays between the first and last value. */
#include "fuzz.h"
#include <math.h>
#include <fp/prediction.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!rec) return 0;
    fp_err err = {0};
    fp_prediction p;
    if (fp_prediction_from_json(rec, &p, &err) == 0) {
        for (int r = 0; r < FP_RES_COUNT; r++) {
            const fp_quantiles *q = &p.q[r];
            fz_assert(q->n >= 0 && q->n <= FP_QMAX, "%d quantiles", q->n);
            for (int i = 0; i < q->n; i++) {
                fz_assert(q->level[i] > 0 && q->level[i] < 1, "level %g", q->level[i]);
                fz_assert(isfinite(q->value[i]) && q->value[i] >= 0, "value %g", q->value[i]);
                if (i) fz_assert(q->level[i] > q->level[i - 1] && q->value[i] >= q->value[i - 1],
                                 "quantiles out of order");
                char key[32];
                fp_quantile_key(q->level[i], key, sizeof key);
                fz_assert(fp_quantile_level(key) > 0, "key %s of level %g does not parse", key, q->level[i]);
            }
            static const double lv[] = {0.001, 0.5, 0.9, 0.95, 0.99, 0.999};
            for (size_t i = 0; i < sizeof lv / sizeof *lv; i++) {
                bool exact;
                double v = fp_quantile_at(q, lv[i], &exact);
                if (q->n == 0) fz_assert(isnan(v), "a value for an unpredicted resource");
                else fz_assert(v >= q->value[0] && v <= q->value[q->n - 1], "%g outside the quantiles", v);
            }
        }
        json_t *back = fp_prediction_to_json(&p);
        fz_assert(back, "fp_prediction_to_json failed");
        fp_prediction p2;
        fz_assert(fp_prediction_from_json(back, &p2, &err) == 0, "written prediction not read back: %s",
                  err.msg);
        json_decref(back);
    }
    json_decref(rec);
    return 0;
}
