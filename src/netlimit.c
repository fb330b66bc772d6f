/* netlimit.c - egress rate of a workload's own network namespace (tc).
 *
 * Commands run with fork + execvp and an argument vector built from parsed
 * numbers and checked interface names, never through a shell:
 *   nsenter --net=<proc>/PID/ns/net tc -j qdisc show dev IF root
 *   nsenter --net=<proc>/PID/ns/net tc qdisc replace dev IF root tbf \
 *       rate Nbit burst B latency 50ms
 *   nsenter --net=<proc>/PID/ns/net tc qdisc del dev IF root
 * The burst is a tenth of a second of traffic, at least 16 KiB: enough for
 * any frame (jumbo ones included) and for short bursts at low rates,
 * while a long burst would defeat the limit at high ones.
 *
 * The previous value of an interface is read with `tc -j` (iproute2 4.13
 * and later print exact numbers in JSON: rate in bytes/s, burst in bytes,
 * lat in microseconds). A tbf root qdisc is reported in the canonical form
 * "tbf rate Nbit burst B latency Lms" (or "Lus"); anything else as "none".
 * tc keeps the burst as a transmit time, so it can read back a few bytes
 * off: two values count as the same limit when the rates are equal and the
 * bursts within 1% (and 64 bytes), the latencies within 1 ms.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "act_impl.h"
#include "fp/netlimit.h"

#define LATENCY_US 50000ULL
#define BURST_MIN 16384ULL
#define MAX_IFACES 8
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

typedef struct tbf {
    unsigned long long rate_bit, burst, lat_us;
} tbf;

/* Interface names as the kernel allows them, minus what could be read as
 * an option or a path: 1..15 characters, no '/', ':', blanks, not "." or
 * "..", not starting with '-'. */
static bool valid_ifname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IFNAME_MAX || s[0] == '-' || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (; *s; s++)
        if (*s == '/' || *s == ':' || !isgraph((unsigned char)*s)) return false;
    return true;
}

/* true when prog is an executable file in one of PATH's directories (the
 * default of execvp when PATH is unset). */
static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        char f[4096];
        if (len && fp_path(f, sizeof f, "%.*s/%s", (int)len, path, prog) == 0 &&
            access(f, X_OK) == 0) {
            struct stat st;
            if (stat(f, &st) == 0 && S_ISREG(st.st_mode)) return true;
        }
        path += len;
        if (*path == ':') path++;
    }
    return false;
}

/* Append what fd gives to buf (len bytes so far, n capacity, the rest is
 * read and dropped). Returns false at end of file or on error. */
static bool drain(int fd, char *buf, size_t n, size_t *len)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (r <= 0) return false;
    size_t room = *len + 1 < n ? n - 1 - *len : 0;
    size_t k = (size_t)r < room ? (size_t)r : room;
    memcpy(buf + *len, tmp, k);
    *len += k;
    buf[*len] = 0;
    return true;
}

/* Run argv (execvp, no shell) with stdin from /dev/null, stdout into out
 * and stderr into errb (each NUL-terminated, truncated). Returns the exit
 * status, 128+N when killed by signal N, 127 when it could not be
 * executed; -1 (FP_ESYS) when it could not be started at all. */
static int run(char *const argv[], char *out, size_t outn, char *errb, size_t errn, fp_err *err)
{
    int po[2], pe[2];
    out[0] = errb[0] = 0;
    if (pipe2(po, O_CLOEXEC) < 0) return fp_err_sys(err, "cannot run %s", argv[0]);
    if (pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        close(po[0]);
        close(po[1]);
        errno = e;
        return fp_err_sys(err, "cannot run %s", argv[0]);
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        if (devnull >= 0) dup2(devnull, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execvp(argv[0], argv);
        static const char msg[] = "cannot execute the program\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    int e = errno;
    if (devnull >= 0) close(devnull);
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        errno = e;
        return fp_err_sys(err, "cannot run %s", argv[0]);
    }
    size_t lo = 0, le = 0;
    bool oo = true, oe = true;
    while (oo || oe) {
        struct pollfd p[2] = {{oo ? po[0] : -1, POLLIN, 0}, {oe ? pe[0] : -1, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (oo && p[0].revents) oo = drain(po[0], out, outn, &lo);
        if (oe && p[1].revents) oe = drain(pe[0], errb, errn, &le);
    }
    close(po[0]);
    close(pe[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return fp_err_sys(err, "cannot wait for %s", argv[0]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
}

/* tc's message, on one line. */
static void one_line(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ') s[--n] = 0;
}

/* "--net=<proc>/PID/ns/net" */
static int ns_arg(const fp_roots *r, int pid, char *buf, size_t n, fp_err *err)
{
    if (fp_path(buf, n, "--net=%s/%d/ns/net", r->proc, pid) < 0)
        return fp_err_set(err, FP_EUSAGE, "proc root too long");
    return 0;
}

/* 1 when pid is in the host's network namespace, that of <proc>/1 (or,
 * where <proc>/1/ns/net may not be examined, as in some sandboxes, that
 * of the calling process: limiting it would limit us too); 0 when in its
 * own; -1 (FP_ESYS) when the namespaces cannot be examined. */
static int host_netns(const fp_roots *r, int pid, fp_err *err)
{
    char p[4200], h[4200];
    struct stat sp, sh;
    if (fp_path(p, sizeof p, "%s/%d/ns/net", r->proc, pid) < 0 ||
        fp_path(h, sizeof h, "%s/1/ns/net", r->proc) < 0)
        return fp_err_set(err, FP_EUSAGE, "proc root too long");
    if (stat(p, &sp) < 0) return fp_err_sys(err, "cannot examine the network namespace %s", p);
    if (stat(h, &sh) < 0) {
        int e = errno;
        if ((e != EACCES && e != EPERM) || fp_path(h, sizeof h, "%s/self/ns/net", r->proc) < 0 ||
            stat(h, &sh) < 0) {
            errno = e;
            return fp_err_sys(err, "cannot examine the host's network namespace %s/1/ns/net", r->proc);
        }
    }
    return sp.st_dev == sh.st_dev && sp.st_ino == sh.st_ino;
}

/* NULL when tc and nsenter can be run, else why not. */
static const char *tools_missing(void)
{
    if (!in_path("nsenter")) return "nsenter not found in PATH (util-linux)";
    if (!in_path("tc")) return "tc not found in PATH (iproute2)";
    return NULL;
}

/* Parse a value: "none" gives 0, "tbf rate Nbit burst B latency L(ms|us)"
 * gives 1 and t; -1 for anything else. */
static int parse_value(const char *v, tbf *t)
{
    if (!strcmp(v, "none")) return 0;
    if (strpbrk(v, "+-")) return -1;
    unsigned long long rate, burst, lat;
    char unit[4];
    int end = 0;
    if (sscanf(v, "tbf rate %llubit burst %llu latency %llu%2[mu]s%n", &rate, &burst, &lat, unit,
               &end) != 4 ||
        v[end] || strlen(unit) != 1 || !isdigit((unsigned char)v[9]))
        return -1;
    if (rate < 8 || burst < 1 || lat < 1 || rate > 1ULL << 50 || burst > 1ULL << 32 ||
        lat > 60000000ULL)
        return -1;
    t->rate_bit = rate;
    t->burst = burst;
    t->lat_us = unit[0] == 'm' ? lat * 1000 : lat;
    return 1;
}

int fp_netlimit_rate(const char *value, double *Bps)
{
    tbf t;
    int k = parse_value(value, &t);
    if (k < 0) return -1;
    *Bps = k == 0 ? FP_UNLIMITED : (double)t.rate_bit / 8;
    return 0;
}

static void format_value(const tbf *t, char *out, size_t n)
{
    if (t->lat_us % 1000 == 0)
        snprintf(out, n, "tbf rate %llubit burst %llu latency %llums", t->rate_bit, t->burst,
                 t->lat_us / 1000);
    else
        snprintf(out, n, "tbf rate %llubit burst %llu latency %lluus", t->rate_bit, t->burst,
                 t->lat_us);
}

static bool same_value(const char *a, const char *b)
{
    tbf x, y;
    int pa = parse_value(a, &x), pb = parse_value(b, &y);
    if (pa != pb || pa < 0) return pa == pb && !strcmp(a, b);
    if (pa == 0) return true;
    unsigned long long db = x.burst > y.burst ? x.burst - y.burst : y.burst - x.burst;
    unsigned long long tol = x.burst / 100 > 64 ? x.burst / 100 : 64;
    unsigned long long dl = x.lat_us > y.lat_us ? x.lat_us - y.lat_us : y.lat_us - x.lat_us;
    return x.rate_bit / 8 == y.rate_bit / 8 && db <= tol && dl <= 1000;
}

/* The root qdisc of ifname in pid's namespace, canonical (see above) in
 * out: a tbf, or "none". -1 (FP_ESYS) when tc fails or prints what cannot
 * be parsed. */
static int show_root(const fp_roots *r, int pid, const char *ifname, char *out, size_t n,
                     fp_err *err)
{
    char ns[4200], o[8192], e[1024];
    if (ns_arg(r, pid, ns, sizeof ns, err) < 0) return -1;
    char *argv[] = {"nsenter", ns, "tc", "-j", "qdisc", "show", "dev", (char *)ifname, "root", NULL};
    int st = run(argv, o, sizeof o, e, sizeof e, err);
    if (st < 0) return -1;
    if (st != 0) {
        one_line(e);
        return fp_err_set(err, FP_ESYS, "tc qdisc show dev %s in the network namespace of pid %d "
                          "failed (exit %d): %s", ifname, pid, st, e[0] ? e : "no message");
    }
    json_error_t je;
    json_t *j = json_loads(o, 0, &je);
    if (!j || !json_is_array(j)) {
        json_decref(j);
        return fp_err_set(err, FP_ESYS, "cannot parse the output of tc -j qdisc show dev %s (%s)",
                          ifname, j ? "not an array" : je.text);
    }
    snprintf(out, n, "none");
    size_t i;
    json_t *q;
    json_array_foreach(j, i, q) {
        json_t *kind = json_object_get(q, "kind"), *root = json_object_get(q, "root");
        json_t *opt = json_object_get(q, "options");
        if (!json_is_string(kind) || strcmp(json_string_value(kind), "tbf") != 0) continue;
        if (root && !json_is_true(root)) continue;
        json_t *rate = json_object_get(opt, "rate"), *burst = json_object_get(opt, "burst");
        json_t *lat = json_object_get(opt, "lat");
        if (!json_is_integer(rate) || !json_is_integer(burst)) continue;
        tbf t = {(unsigned long long)json_integer_value(rate) * 8,
                 (unsigned long long)json_integer_value(burst),
                 json_is_number(lat) ? (unsigned long long)llround(json_number_value(lat)) : LATENCY_US};
        format_value(&t, out, n);
        break;
    }
    json_decref(j);
    return 0;
}

/* Interfaces of pid's namespace but lo, from <proc>/PID/net/dev. */
static int interfaces(const fp_roots *r, int pid, char names[][IFNAME_MAX + 1], int max, fp_err *err)
{
    char path[4200];
    if (fp_path(path, sizeof path, "%s/%d/net/dev", r->proc, pid) < 0)
        return fp_err_set(err, FP_EUSAGE, "proc root too long");
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "cannot read %s", path);
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!strcmp(s, "lo") || !valid_ifname(s)) continue;
        snprintf(names[n++], IFNAME_MAX + 1, "%s", s);
    }
    fclose(f);
    return n;
}

int fp_netlimit_plan(const fp_roots *r, int pid, double Bps, fp_plan *plan, fp_err *err)
{
    if (Bps < 0 && Bps != FP_UNLIMITED) return 0;
    if (!isfinite(Bps) || (Bps >= 0 && Bps < 1))
        return fp_err_set(err, FP_EUSAGE, "net_tx_Bps of %g: must be at least 1 byte/s", Bps);
    if (pid <= 0) {
        fp_plan_unsupported(plan, "net_tx_Bps",
                            "no process of the target is known (tc needs its network namespace)");
        return 0;
    }
    int h = host_netns(r, pid, err);
    if (h < 0) return -1;
    if (h) {
        fp_plan_unsupported(plan, "net_tx_Bps",
                            "pid %d shares the host's network namespace: a tc limit there would "
                            "limit the whole host", pid);
        return 0;
    }
    const char *why = tools_missing();
    if (why) {
        fp_plan_unsupported(plan, "net_tx_Bps", "%s", why);
        return 0;
    }
    char names[MAX_IFACES][IFNAME_MAX + 1];
    int n = interfaces(r, pid, names, MAX_IFACES, err);
    if (n < 0) return -1;
    if (n == 0) {
        fp_plan_unsupported(plan, "net_tx_Bps",
                            "the network namespace of pid %d has no interface but lo", pid);
        return 0;
    }
    char value[FP_VALUE_MAX], prev[FP_VALUE_MAX], knob[FP_KNOB_MAX];
    if (Bps == FP_UNLIMITED) {
        snprintf(value, sizeof value, "none");
    } else {
        unsigned long long bytes = (unsigned long long)llround(fmin(Bps, 1e14));
        tbf t = {bytes * 8, bytes / 10 > BURST_MIN ? bytes / 10 : BURST_MIN, LATENCY_US};
        format_value(&t, value, sizeof value);
    }
    for (int i = 0; i < n; i++) {
        if (show_root(r, pid, names[i], prev, sizeof prev, err) < 0) return -1;
        if (same_value(value, prev)) continue;
        snprintf(knob, sizeof knob, "tc:%s", names[i]);
        if (fp_plan_add(plan, knob, value, prev, NULL, err) < 0) return -1;
    }
    return 0;
}

int fp_netlimit_apply(const fp_roots *r, int pid, const fp_change *c, fp_err *err)
{
    const char *ifname = c->knob + 3;
    if (strncmp(c->knob, "tc:", 3) != 0 || !valid_ifname(ifname))
        return fp_err_set(err, FP_EINPUT, "refusing tc change: bad knob \"%s\"", c->knob);
    if (pid <= 0)
        return fp_err_set(err, FP_EINPUT, "refusing tc change of %s: no pid", c->knob);
    tbf t;
    int kind = parse_value(c->value, &t);
    if (kind < 0)
        return fp_err_set(err, FP_EINPUT, "refusing tc change of %s: malformed value \"%s\"", c->knob,
                          c->value);
    int h = host_netns(r, pid, err);
    if (h < 0) return -1;
    if (h)
        return fp_err_set(err, FP_EINPUT,
                          "refusing tc change of %s: pid %d is in the host's network namespace",
                          c->knob, pid);
    const char *why = tools_missing();
    if (why) return fp_err_set(err, FP_ESYS, "cannot change %s: %s", c->knob, why);
    char ns[4200], o[1024], e[1024], rate[40], burst[32], lat[32];
    if (ns_arg(r, pid, ns, sizeof ns, err) < 0) return -1;
    const char *verb;
    int st;
    if (kind == 0) {
        /* Only a tbf root is ours to delete; without one there is nothing
         * to do (deleting the default qdisc fails). */
        char cur[FP_VALUE_MAX];
        if (show_root(r, pid, ifname, cur, sizeof cur, err) < 0) return -1;
        if (!strcmp(cur, "none")) return 0;
        verb = "del";
        char *argv[] = {"nsenter", ns, "tc", "qdisc", "del", "dev", (char *)ifname, "root", NULL};
        st = run(argv, o, sizeof o, e, sizeof e, err);
    } else {
        verb = "replace";
        snprintf(rate, sizeof rate, "%llubit", t.rate_bit);
        snprintf(burst, sizeof burst, "%llu", t.burst);
        snprintf(lat, sizeof lat, "%lluus", t.lat_us);
        char *argv[] = {"nsenter", ns, "tc", "qdisc", "replace", "dev", (char *)ifname, "root",
                        "tbf", "rate", rate, "burst", burst, "latency", lat, NULL};
        st = run(argv, o, sizeof o, e, sizeof e, err);
    }
    if (st < 0) return -1;
    if (st != 0) {
        one_line(e);
        return fp_err_set(err, FP_ESYS, "tc qdisc %s dev %s in the network namespace of pid %d "
                          "failed (exit %d): %s", verb, ifname, pid, st, e[0] ? e : "no message");
    }
    return 0;
}
