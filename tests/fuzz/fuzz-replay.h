/* tests/fuzz/fuzz-replay.h - the trace readers (src/replay.c), included by
 * fuzz-replay-FORMAT.c with FZ_TRACE set to one of:
 *   FZ_BITBRAINS  the input is one Bitbrains per-VM CSV file;
 *   FZ_EAGER      the input is an nf-core/eager task: up to three files,
 *                 TASK_cpu.csv, TASK_memory.csv and TASK_metadata.csv, in
 *                 that order, separated by a line "--8<--" (an empty or
 *                 missing section: that file is absent); the first file
 *                 present is opened;
 *   FZ_FP         the input is an fp trace (JSON-lines sample records).
 * The files are opened with fp_replay_open (which detects the format from
 * the content, gzip or plain, so any format is reachable from any target;
 * the seeds and file names steer each) and read to the end, with and
 * without skip_bad, taking every passed-through record. Invariant: samples
 * come in time order (t never decreases) - replay promises time order. */
#include "fuzz.h"
#include <math.h>
#include <fp/replay.h>

#define FZ_BITBRAINS 1
#define FZ_EAGER 2
#define FZ_FP 3

static void read_all(const char *path, bool skip)
{
    fp_err err = {0};
    fp_replay *r = fp_replay_open(path, &err);
    if (!r) {
        fz_assert(err.msg[0], "open failed without a message");
        return;
    }
    fp_replay_skip_bad(r, skip);
    fp_replay_format(r);
    fz_assert(fp_replay_id(r), "no id");
    fz_assert(json_is_object(fp_replay_meta(r)) && json_is_object(fp_replay_outcome(r)),
              "meta or outcome is not an object");
    static fp_sample s;
    double last = -INFINITY;
    for (long i = 0; i < 1000000; i++) {
        int k = fp_replay_next(r, &s, &err);
        if (k <= 0) break;
        if (k == 2) {
            json_t *rec = fp_replay_take(r);
            json_decref(rec);
            continue;
        }
        if (FZ_TRACE != FZ_FP)
            fz_assert(!(s.t < last), "sample at t=%g after t=%g", s.t, last);
        last = s.t;
    }
    fp_replay_skipped(r);
    fp_replay_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if FZ_TRACE == FZ_EAGER
    static const char *const names[3] = {"task (1)_cpu.csv", "task (1)_memory.csv",
                                         "task (1)_metadata.csv"};
    static const char sep[] = "\n--8<--\n";
    const char *p = (const char *)data, *end = p + size, *open_path = NULL;
    for (int i = 0; i < 3; i++) {
        const char *q = p ? memmem(p, (size_t)(end - p), sep, sizeof sep - 1) : NULL;
        size_t len = !p ? 0 : q ? (size_t)(q - p) + 1 : (size_t)(end - p);   /* keep the newline */
        if (len == 0 || (len == 1 && q)) {
            fz_unlink(names[i]);      /* an empty section: the file is absent */
        } else {
            const char *path = fz_file(names[i], p, len);
            if (!open_path) open_path = path;
        }
        p = q ? q + sizeof sep - 1 : NULL;
    }
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/task (1)", fz_dir());
    read_all(open_path ? open_path : prefix, false);
#elif FZ_TRACE == FZ_BITBRAINS
    const char *path = fz_input(data, size);
    read_all(path, false);
    read_all(path, true);
#else
    const char *path = fz_input(data, size);
    read_all(path, false);
    read_all(path, true);
#endif
    return 0;
}
