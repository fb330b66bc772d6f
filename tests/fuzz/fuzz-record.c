/* fuzz-record: the JSON-lines record reader (src/record.c): fp_reader over
 * a FILE (strict) and over a descriptor (skip_bad), and on every record it
 * accepts the envelope checks and fp_target_from_json. Invariant: a record
 * the reader returns passes fp_record_problem and has a type. */
#include "fuzz.h"
#include <fp/record.h>

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    devnull = fopen("/dev/null", "w");
    return 0;
}

static void drain(fp_reader *r)
{
    for (int i = 0; i < 100000; i++) {
        json_t *rec = NULL;
        fp_err err = {0};
        int k = fp_reader_next(r, &rec, &err);
        if (k <= 0) {
            fz_assert(k == 0 || err.msg[0], "an error without a message");
            return;
        }
        fz_assert(rec && !fp_record_problem(rec), "reader returned an invalid record");
        fz_assert(fp_record_type(rec), "a record without a type");
        fp_target tg;
        fp_target_from_json(rec, &tg, &err);
        if (devnull) fp_record_write(devnull, rec, &err);
        fp_reader_line(r);
        json_decref(rec);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input(data, size);
    FILE *f = fopen(path, "r");
    if (f) {
        fp_reader *r = fp_reader_new(f, "fuzz", false);
        if (r) {
            drain(r);
            fp_reader_free(r);
        }
        fclose(f);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fp_reader *r = fp_reader_new_fd(fd, "-", true);
        if (r) {
            fp_reader_wait(r, 0);
            drain(r);
            fp_reader_skipped(r);
            fp_reader_free(r);
        }
        close(fd);
    }
    return 0;
}
