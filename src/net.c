/* net.c - /proc/PID/net/dev. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fp/net.h"

int fp_net_read(const fp_roots *r, int pid, fp_net_if *ifs, int max, bool *own_ns, fp_err *err)
{
    char path[FP_PATH_MAX], a[64] = "", b[64] = "";
    fp_path(path, sizeof path, "%s/%d/ns/net", r->proc, pid);
    ssize_t la = readlink(path, a, sizeof a - 1);
    fp_path(path, sizeof path, "%s/self/ns/net", r->proc);
    ssize_t lb = readlink(path, b, sizeof b - 1);
    *own_ns = la > 0 && lb > 0 && strcmp(a, b) != 0;

    fp_path(path, sizeof path, "%s/%d/net/dev", r->proc, pid);
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "cannot read %s", path);
    char line[512];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        if (++lineno <= 2) continue; /* two header lines */
        char *colon = strchr(line, ':');
        if (!colon) {
            fclose(f);
            return fp_err_set(err, FP_EINPUT, "%s:%d: no interface name", path, lineno);
        }
        *colon = 0;
        char *name = line + strspn(line, " ");
        unsigned long long v[16];
        int k = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (k != 10) {
            fclose(f);
            return fp_err_set(err, FP_EINPUT, "%s:%d: expected 16 counters", path, lineno);
        }
        if (n < max) {
            snprintf(ifs[n].name, sizeof ifs[n].name, "%s", name);
            ifs[n].rx_bytes = v[0];
            ifs[n].rx_packets = v[1];
            ifs[n].tx_bytes = v[8];
            ifs[n].tx_packets = v[9];
            n++;
        }
    }
    fclose(f);
    return n;
}
