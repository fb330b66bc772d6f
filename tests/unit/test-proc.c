/* test-proc.c - process tree and its counters on the fixture /proc. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fp/proc.h"
#include "fixture.h"
#include "tap.h"

int main(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v1", "cgroup-v1");
    fp_err err = {0};
    int pids[16];
    int n = fp_proc_tree(&r, 100, pids, 16, &err);
    is_int(n, 3, "tree of 100 is 100, 101 (a name with ') ('), 102");
    int seen = 0;
    for (int i = 0; i < n; i++) seen |= pids[i] == 100 ? 1 : pids[i] == 101 ? 2 : pids[i] == 102 ? 4 : 8;
    is_int(seen, 7, "exactly 100, 101 and 102 (not the unrelated 200)");
    is_int(fp_proc_tree(&r, 102, pids, 16, &err), 1, "a leaf is its own tree");
    is_int(fp_proc_tree(&r, 4242, pids, 16, &err), 0, "a missing root gives an empty tree");
    is_int(fp_proc_tree(&r, 100, pids, 2, &err), 2, "max bounds the result");

    fp_proc_totals t;
    int tree[] = {100, 101, 102, 999};
    fp_proc_sum(&r, tree, 4, &t);
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    is_int(t.procs, 3, "vanished pid 999 skipped");
    is_int(t.threads, 2 + 1 + 4, "threads summed");
    /* user: 250+100 (utime+cutime of 100) + 30 + 20; system: 50+20 + 10 + 0 */
    is_near(t.cpu_user_s, 400.0 / hz, 1e-12, "user time includes reaped children (cutime)");
    is_near(t.cpu_sys_s, 80.0 / hz, 1e-12, "system time includes cstime");
    is_int(t.minflt, 1000 + 500 + 200 + 300, "minor faults incl. cminflt");
    is_int(t.majflt, 10 + 5 + 1, "major faults incl. cmajflt");
    is_int(t.rss_bytes, (1000 + 500 + 250) * (long long)page, "rss pages times page size");
    is_int(t.ctxsw, 40 + 2 + 5 + 1 + 7, "context switches, voluntary + involuntary");
    ok(t.why_io == NULL && t.why_ctx == NULL, "io and ctx read");
    is_int(t.rchar, 10501, "rchar summed");
    is_int(t.wchar, 2002, "wchar summed");
    is_int(t.syscr, 14, "syscr summed");
    is_int(t.syscw, 6, "syscw summed");

    char buf[256], *argv[8];
    int argc = fp_proc_cmdline(&r, 100, buf, sizeof buf, argv, 8);
    is_int(argc, 3, "cmdline has three arguments");
    is_str(argv[2], "big file.tar", "argument with a space kept whole");

    /* A shared scan rescans only when a process was created (loadavg's
     * newest pid changed). Built in a temporary proc tree. */
    char tmpl[] = "/tmp/fp-test-proc-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ok(dir != NULL, "temporary proc root");
    if (dir) {
        char p[512];
        FILE *f;
#define PUT(path, text) do { snprintf(p, sizeof p, "%s/%s", dir, path); f = fopen(p, "w"); fputs(text, f); fclose(f); } while (0)
        snprintf(p, sizeof p, "%s/10", dir); mkdir(p, 0755);
        PUT("10/stat", "10 (a) S 1 10 10 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1 0 0\n");
        PUT("loadavg", "0.00 0.00 0.00 1/50 10\n");
        fp_roots tr = r;
        snprintf(tr.proc, sizeof tr.proc, "%s", dir);
        fp_proc_scan *sc = fp_proc_scan_new(&tr);
        ok(fp_proc_scan_refresh(sc, &err) == 0, "first scan");
        is_int(fp_proc_scan_tree(sc, 10, pids, 16), 1, "tree of 10 is itself");
        snprintf(p, sizeof p, "%s/11", dir); mkdir(p, 0755);
        PUT("11/stat", "11 (b) S 10 10 10 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1 0 0\n");
        fp_proc_scan_refresh(sc, &err);
        is_int(fp_proc_scan_tree(sc, 10, pids, 16), 1, "newest pid unchanged: no rescan");
        PUT("loadavg", "0.00 0.00 0.00 1/51 11\n");
        fp_proc_scan_refresh(sc, &err);
        is_int(fp_proc_scan_tree(sc, 10, pids, 16), 2, "a new pid: rescanned, child found");
        /* A rescan reads only processes it has not seen: 10's stat is
         * not read again (made unparsable here, it would drop 10), until
         * the full rescan every 50 refreshes. */
        PUT("10/stat", "garbage\n");
        snprintf(p, sizeof p, "%s/12", dir); mkdir(p, 0755);
        PUT("12/stat", "12 (c) S 11 10 10 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1 0 0\n");
        PUT("loadavg", "0.00 0.00 0.00 1/52 12\n");
        fp_proc_scan_refresh(sc, &err);
        is_int(fp_proc_scan_tree(sc, 10, pids, 16), 3, "incremental rescan: known links kept, new grandchild read");
        int full_at = -1;
        for (int i = 0; i < 60 && full_at < 0; i++) {
            char la[64];
            snprintf(la, sizeof la, "0.00 0.00 0.00 1/52 %d\n", 13 + i);
            PUT("loadavg", la);
            fp_proc_scan_refresh(sc, &err);
            if (fp_proc_scan_tree(sc, 10, pids, 16) == 0) full_at = i;
        }
        ok(full_at >= 40 && full_at <= 50, "a full rescan re-reads every stat within 50 refreshes (after %d)", full_at + 1);
        fp_proc_scan_free(sc);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ok(system(cmd) == 0, "cleanup");
#undef PUT
    }

    /* A proc root that does not exist */
    snprintf(r.proc, sizeof r.proc, "%s/nope", fixtures());
    ok(fp_proc_tree(&r, 1, pids, 16, &err) < 0 && err.cls == FP_ESYS, "unreadable proc root: FP_ESYS");
    return done_testing();
}
