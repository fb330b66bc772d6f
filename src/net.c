/* net.c - /proc/PID/net/dev. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fp/net.h"

int fp_net_ns(const fp_roots *r, int pid, char *id, size_t n)
{
    char path[FP_PATH_MAX];
    if (pid > 0) fp_path(path, sizeof path, "%s/%d/ns/net", r->proc, pid);
    else fp_path(path, sizeof path, "%s/self/ns/net", r->proc);
    ssize_t k = readlink(path, id, n - 1);
    if (k >= 0) {
        id[k] = 0;
        return 0;
    }
    /* A fixture tree (which must survive `make dist`) holds the link's
     * target as the contents of a plain file. */
    if (errno != EINVAL || fp_read_file(path, id, n) <= 0) return -1;
    id[strcspn(id, "\n")] = 0;
    return 0;
}

int fp_net_parse(const char *text, const char *name, fp_net_if *ifs, int max, fp_err *err)
{
    int n = 0, lineno = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (++lineno <= 2 || *line == '\n') continue; /* two header lines */
        const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');
        if (!colon || (eol && colon > eol))
            return fp_err_set(err, FP_EINPUT, "%s:%d: no interface name", name, lineno);
        const char *nm = line + strspn(line, " ");
        unsigned long long v[10];
        int k = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (k != 10) return fp_err_set(err, FP_EINPUT, "%s:%d: expected 16 counters", name, lineno);
        if (n < max) {
            snprintf(ifs[n].name, sizeof ifs[n].name, "%.*s", (int)(colon - nm), nm);
            ifs[n].rx_bytes = v[0];
            ifs[n].rx_packets = v[1];
            ifs[n].tx_bytes = v[8];
            ifs[n].tx_packets = v[9];
            n++;
        }
    }
    return n;
}

int fp_net_read(const fp_roots *r, int pid, fp_net_if *ifs, int max, bool *own_ns, fp_err *err)
{
    char a[64] = "", b[64] = "", path[FP_PATH_MAX];
    *own_ns = fp_net_ns(r, pid, a, sizeof a) == 0 && fp_net_ns(r, 0, b, sizeof b) == 0 && strcmp(a, b) != 0;
    fp_path(path, sizeof path, "%s/%d/net/dev", r->proc, pid);
    char buf[16384];
    if (fp_read_file(path, buf, sizeof buf) < 0) return fp_err_sys(err, "cannot read %s", path);
    return fp_net_parse(buf, path, ifs, max, err);
}
