/* fuzz-sample: one `sample` record through fp_sample_from_json (src/
 * record.c), and back. Invariant: a sample libfp read is written
 * (fp_sample_to_json, fp_sample_writer) as a record it reads again. */
#include "fuzz.h"
#include <fp/record.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!rec) return 0;
    fp_err err = {0};
    fp_sample s;
    fp_target tg;
    if (!fp_record_problem(rec) && fp_sample_from_json(rec, &s, &err) == 0 &&
        fp_target_from_json(rec, &tg, &err) == 0) {
        json_t *back = fp_sample_to_json(&s, &tg);
        fz_assert(back, "fp_sample_to_json failed");
        fp_sample s2;
        fz_assert(fp_sample_from_json(back, &s2, &err) == 0, "written sample not read back: %s", err.msg);
        json_decref(back);
        fp_sample_writer *w = fp_sample_writer_new();
        fz_assert(w, "out of memory");
        for (int i = 0; i < 2; i++) {
            const json_t *j = fp_sample_writer_json(w, i ? &s2 : &s, &tg);
            fz_assert(j && fp_sample_from_json(j, &s2, &err) == 0, "writer's sample not read back: %s",
                      err.msg);
        }
        fp_sample_writer_free(w);
    }
    json_decref(rec);
    return 0;
}
