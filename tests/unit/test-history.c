/* test-history.c - the history store: concurrent appends, torn tails,
 * rotation. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/history.h"
#include "fp/record.h"
#include "tap.h"

static int count_fn(void *arg, json_t *rec)
{
    long *c = arg;
    if (json_is_integer(json_object_get(rec, "n"))) c[0]++;
    c[1] += json_integer_value(json_object_get(rec, "n"));
    return 0;
}

static json_t *rec(long n, int pad)
{
    json_t *r = json_pack("{s:i,s:s,s:I}", "schema", 1, "type", "actual", "n", (json_int_t)n);
    if (pad) {
        char *p = malloc((size_t)pad + 1);
        memset(p, 'x', (size_t)pad);
        p[pad] = 0;
        json_object_set_new(r, "pad", json_string(p));
        free(p);
    }
    return r;
}

static long scan(fp_history *h, long *sum, long *bad)
{
    long c[2] = {0, 0};
    fp_err err = {0};
    if (fp_history_scan(h, count_fn, c, bad, &err) < 0) return -1;
    if (sum) *sum = c[1];
    return c[0];
}

int main(void)
{
    char dir[] = "/tmp/fp-history-XXXXXX", sub[256], path[512];
    ok(mkdtemp(dir) != NULL, "temp dir");
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    fp_err err = {0};
    fp_history *h = fp_history_new(sub, NULL, &err);
    ok(h != NULL, "a history in a new nested directory (%s)", err.msg);
    struct stat st;
    ok(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "made with mode 0700");

    /* 8 writers x 200 appends of 3 records at once */
    enum { W = 8, N = 200 };
    for (int w = 0; w < W; w++) {
        if (fork() == 0) {
            fp_err e = {0};
            fp_history *hh = fp_history_new(sub, NULL, &e);
            for (int i = 0; i < N && hh; i++) {
                json_t *r[3] = { rec(1, 300), rec(1, 0), rec(1, 2000) };
                if (fp_history_append(hh, r, 3, &e) < 0) _exit(1);
                for (int k = 0; k < 3; k++) json_decref(r[k]);
            }
            fp_history_free(hh);
            _exit(hh ? 0 : 1);
        }
    }
    int fails = 0, stw;
    for (int w = 0; w < W; w++) {
        wait(&stw);
        fails += !(WIFEXITED(stw) && WEXITSTATUS(stw) == 0);
    }
    is_int(fails, 0, "every concurrent writer succeeded");
    long bad = -1, sum = 0;
    is_int(scan(h, &sum, &bad), W * N * 3, "every record is there, whole");
    is_int(bad, 0, "and no line is mixed up");

    /* a writer killed mid-write leaves a torn last line */
    snprintf(path, sizeof path, "%s/history.jsonl", sub);
    FILE *f = fopen(path, "a");
    fputs("{\"schema\":1,\"type\":\"actual\",\"n\":1,\"pad\":\"xx", f);
    fclose(f);
    is_int(scan(h, NULL, &bad), W * N * 3, "a reader ignores the torn line");
    is_int(bad, 0, "and does not count it as bad");
    json_t *r1 = rec(5, 0);
    ok(fp_history_append(h, &r1, 1, &err) == 0, "the next append succeeds");
    json_decref(r1);
    is_int(scan(h, &sum, &bad), W * N * 3 + 1, "the torn line was cut, the new record kept");
    is_int(sum, W * N * 3 + 5, "with its value");
    is_int(bad, 0, "nothing malformed left");
    fp_history_free(h);

    /* rotation: 10 KiB files, keep 2 */
    snprintf(sub, sizeof sub, "%s/rot", dir);
    fp_history_opts o = { .max_bytes = 10240, .keep = 2 };
    h = fp_history_new(sub, &o, &err);
    for (int i = 0; i < 100; i++) {
        json_t *r = rec(i, 900);
        fp_history_append(h, &r, 1, &err);
        json_decref(r);
    }
    long total = 0;
    for (int i = 0; i <= 3; i++) {
        if (i == 0) snprintf(path, sizeof path, "%s/history.jsonl", sub);
        else snprintf(path, sizeof path, "%s/history.%d.jsonl", sub, i);
        if (stat(path, &st) == 0) {
            total += st.st_size;
            ok(i <= 2, "file %d exists (kept: 2 rotated files)", i);
            ok(st.st_size <= 10240, "file %d is at most max_bytes (%ld)", i, (long)st.st_size);
        }
    }
    ok(total <= 3 * 10240, "the store is bounded by (keep+1) x max_bytes: %ld", total);
    long n = scan(h, &sum, NULL);
    ok(n >= 20 && n < 100, "the newest records remain (%ld)", n);
    /* the newest are 99, 98, ...: their sum is that of the last n */
    is_int(sum, (99 + (99 - n + 1)) * n / 2, "and they are the last %ld, in order", n);
    fp_history_free(h);

    /* issue 14: a symlinked history.jsonl is refused, its target untouched
     * (the torn-tail repair would cut the target's last line) */
    snprintf(sub, sizeof sub, "%s/sym", dir);
    h = fp_history_new(sub, NULL, &err);
    char victim[512];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    f = fopen(victim, "w");
    fputs("line one\nlast line, no newline", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/history.jsonl", sub);
    ok(symlink(victim, path) == 0, "history.jsonl made a symlink");
    fp_err e = {0};
    r1 = rec(1, 0);
    int rc = fp_history_append(h, &r1, 1, &e);
    ok(rc < 0 && e.cls == FP_ESYS, "append through it refused");
    ok(strstr(e.msg, "history.jsonl: refusing the history file: it is a symbolic link") != NULL,
       "the message names the path and why: %s", e.msg);
    rc = stat(victim, &st);
    ok(rc == 0 && st.st_size == 30, "the link's target is untouched (%ld bytes)", (long)st.st_size);
    json_decref(r1);
    e = (fp_err){0};
    rc = fp_history_scan(h, count_fn, (long[2]){0, 0}, NULL, &e);
    ok(rc < 0 && strstr(e.msg, "symbolic link"), "a scan refuses it too: %s", e.msg);
    fp_history_free(h);
    unlink(path);

    /* a directory or file writable by group or others is refused */
    ok(chmod(sub, 0770) == 0, "store directory made group-writable");
    e = (fp_err){0};
    h = fp_history_new(sub, NULL, &e);
    ok(!h && strstr(e.msg, "sym: refusing the history directory: it is writable by its group (mode 0770"),
       "refused, naming the directory and why: %s", e.msg);
    fp_history_free(h);
    chmod(sub, 0700);
    h = fp_history_new(sub, NULL, &e);
    ok(h != NULL, "with go-w again it opens");
    f = fopen(path, "w");
    fclose(f);
    chmod(path, 0622);
    e = (fp_err){0};
    r1 = rec(1, 0);
    rc = fp_history_append(h, &r1, 1, &e);
    ok(rc < 0 && strstr(e.msg, "history.jsonl: refusing the history file: it is writable by others "
       "(mode 0622"), "a world-writable file refused: %s", e.msg);
    chmod(path, 0600);
    ok(fp_history_append(h, &r1, 1, &e) == 0, "with mode 0600 it is appended to");
    /* owned by another user (root can give it away) */
    if (geteuid() == 0) {
        ok(chown(path, 65534, 65534) == 0, "history.jsonl given to uid 65534");
        e = (fp_err){0};
        rc = fp_history_append(h, &r1, 1, &e);
        ok(rc < 0 && strstr(e.msg, "refusing the history file: it is owned by uid 65534, neither you "
           "(uid 0) nor root"), "a file of another user refused: %s", e.msg);
        chown(path, 0, 0);
        ok(chown(sub, 65534, 65534) == 0, "store directory given to uid 65534");
        fp_history *h2 = fp_history_new(sub, NULL, &e);
        ok(!h2 && strstr(e.msg, "refusing the history directory: it is owned by uid 65534"),
           "a directory of another user refused: %s", e.msg);
        fp_history_free(h2);
    } else {
        ok(1, "# SKIP not root: cannot give a file to another user");
    }
    json_decref(r1);
    fp_history_free(h);

    /* issue 14: a line longer than FP_LINE_MAX_BYTES is skipped and counted,
     * read no further than the limit */
    snprintf(sub, sizeof sub, "%s/long", dir);
    h = fp_history_new(sub, NULL, &err);
    snprintf(path, sizeof path, "%s/history.jsonl", sub);
    f = fopen(path, "w");
    fputs("{\"schema\":1,\"type\":\"actual\",\"n\":2,\"pad\":\"", f);
    for (int i = 0; i < (FP_LINE_MAX_BYTES >> 10) + 1; i++) {
        char kb[1024];
        memset(kb, 'x', sizeof kb);
        fwrite(kb, 1, sizeof kb, f);
    }
    fputs("\"}\n{\"schema\":1,\"type\":\"actual\",\"n\":3}\n", f);
    fclose(f);
    bad = -1;
    long got = scan(h, &sum, &bad);
    ok(got == 1 && sum == 3 && bad == 1, "a 16 MiB + 1 KiB line is skipped and counted, the next "
       "record read (%ld records, sum %ld, %ld bad)", got, sum, bad);
    fp_history_free(h);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ok(system(cmd) == 0, "cleaned up");
    return done_testing();
}
