/* fuzz-tasktrace: the task-summary trace readers (src/tasktrace.c) and the
 * Nextflow configuration planned from them (src/nfconfig.c).
 *
 * The input is one file, a Nextflow trace (TSV or CSV) or sacct output
 * (the header steers which). It is probed, opened and read to the end,
 * strictly and with skip_bad; every task becomes a fingerprint and an
 * actual record and is added to an fp_nfc, which is planned (by quantile,
 * and least-waste) and written. The unit parsers also read the input's
 * first line as one field. Invariants: a task's meta and measured are
 * objects; a measured peak is null or >= 0; an actual carries every field
 * the trace measured; a planned memory is at least 1 MiB and at least the
 * smallest peak learned from. */
#include "fuzz.h"
#include <math.h>
#include <fp/features.h>
#include <fp/nfconfig.h>
#include <fp/tasktrace.h>

static void read_all(const char *path, bool skip)
{
    fp_err err = {0};
    fp_tasks_format fmt;
    fp_tasktrace_probe(path, &fmt, &err);
    fp_tasktrace *t = fp_tasktrace_open(path, skip ? "w" : NULL, &err);
    if (!t) {
        fz_assert(err.msg[0], "open failed without a message");
        return;
    }
    fp_tasktrace_skip_bad(t, skip);
    if (skip) fp_tasktrace_input_from(t, "rchar", &err);
    fp_nfc *c = fp_nfc_new();
    double least = INFINITY;
    fp_task task;
    for (long i = 0; i < 100000; i++) {
        if (fp_tasktrace_next(t, &task, &err) <= 0) break;
        fz_assert(json_is_object(task.meta) && json_is_object(task.measured), "meta or measured not an object");
        json_t *pk = json_object_get(task.measured, "mem_bytes_peak");
        fz_assert(json_is_null(pk) || (json_is_number(pk) && json_number_value(pk) >= 0), "a negative peak");
        fp_target tg = {0};
        snprintf(tg.id, sizeof tg.id, "%s", task.id);
        json_t *f = fp_task_fingerprint(&task, &tg), *a = fp_task_actual(&task, &tg);
        fz_assert(f && a, "no record");
        fz_assert(json_equal(json_object_get(a, "mem_bytes_peak"), pk), "actual lost the peak");
        json_decref(f);
        json_decref(a);
        if (fp_nfc_add_task(c, &task, &err) > 0 && json_number_value(pk) < least) least = json_number_value(pk);
        fp_task_clear(&task);
    }
    fp_tasktrace_skipped(t);
    fp_tasktrace_free(t);
    fp_nfc_opts o;
    fp_nfc_opts_default(&o);
    for (int pass = 0; pass < 2; pass++) {
        o.quantile = pass ? 0 : 0.9;
        o.min_tasks = 1;
        if (fp_nfc_plan(c, &o, &err) < 0) continue;
        for (size_t i = 0; i < fp_nfc_processes(c); i++) {
            const fp_nfc_process *p = fp_nfc_process_at(c, i);
            fz_assert(!p->planned || (p->mem_bytes >= 1048576 && p->mem_bytes >= least && p->cpus >= 1),
                      "planned memory %g below 1 MiB or the smallest peak %g", p->mem_bytes, least);
        }
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (m) {
            fp_nfc_write(c, m, "fuzz", &err);
            fclose(m);
        }
        free(buf);
    }
    fp_nfc_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char field[256];
    size_t n = size < sizeof field - 1 ? size : sizeof field - 1;
    memcpy(field, data, n);
    field[n] = 0;
    field[strcspn(field, "\n")] = 0;
    double v;
    fp_parse_size_bytes(field, &v);
    fp_parse_duration_s(field, &v);
    fp_parse_slurm_time_s(field, &v);
    fp_parse_percent(field, &v);
    const char *path = fz_input(data, size);
    read_all(path, false);
    read_all(path, true);
    return 0;
}
