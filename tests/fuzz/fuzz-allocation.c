/* fuzz-allocation: one `allocation` record through fp_plan_from_allocation
 * (src/actuator.c) and what a revert does with the plan before it reaches
 * a back-end: fp_plan_invert, fp_plan_check_memory, fp_k8s_patch,
 * fp_plan_changes_json. Invariants: inverting twice gives the plan back; a
 * plan read from a record is written (fp_allocation_to_json) as a record
 * that reads back to the same changes. */
#include "fuzz.h"
#include <fp/actuator.h>

static bool same_changes(const fp_plan *a, const fp_plan *b)
{
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->ch[i].knob, b->ch[i].knob) || strcmp(a->ch[i].value, b->ch[i].value) ||
            strcmp(a->ch[i].previous, b->ch[i].previous) || strcmp(a->ch[i].path, b->ch[i].path))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!rec) return 0;
    static fp_plan p, inv, back, p2;   /* large: off the stack */
    fp_err err = {0};
    fp_target tg;
    if (fp_plan_from_allocation(rec, &p, &err) == 0) {
        fz_assert(p.n >= 0 && p.n <= FP_CHANGES_MAX, "%d changes", p.n);
        fp_plan_invert(&p, &inv);
        fp_plan_invert(&inv, &back);
        fz_assert(same_changes(&p, &back), "inverting twice changed the plan");
        static const double usage[] = {0, 1, 4096, 52428800, 1e18};
        for (size_t i = 0; i < sizeof usage / sizeof *usage; i++) {
            fp_plan_check_memory(&p, usage[i], &err);
            fp_plan_check_memory(&inv, usage[i], &err);
        }
        json_t *patch = fp_k8s_patch(&p);
        json_decref(patch);
        patch = fp_k8s_patch(&inv);
        json_decref(patch);
        json_t *ch = fp_plan_changes_json(&p);
        fz_assert(ch, "fp_plan_changes_json failed");
        json_decref(ch);
        if (fp_target_from_json(rec, &tg, &err) == 0 && p.backend[0] && p.object[0]) {
            fp_allocation al = { .target = tg, .t = 1, .ts = 0, .reason = "revert",
                                 .horizon_s = -1, .prediction_t = -1, .ok = true, .plan = &inv };
            fp_limits_unset(&al.limits);
            json_t *out = fp_allocation_to_json(&al);
            fz_assert(out, "fp_allocation_to_json failed");
            fz_assert(fp_plan_from_allocation(out, &p2, &err) == 0, "written allocation not read back: %s",
                      err.msg);
            fz_assert(same_changes(&inv, &p2), "written allocation reads back other changes");
            json_decref(out);
        }
    }
    json_decref(rec);
    return 0;
}
