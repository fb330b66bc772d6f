/* act_k8s.c - the Kubernetes back-end of fp/actuator.h.
 *
 * The target is one container of one pod. fp_target has no labels (the
 * io.kubernetes.pod.name / .pod.namespace / .container.name labels that
 * dockershim and cri-dockerd put on the containers they start cannot be
 * carried), so the k8s target is written in tg->container as
 * "NAMESPACE/POD/CONTAINER" or "POD/CONTAINER" (the namespace is then the
 * one given to fp_act_k8s_new, "default" by default). The namespace and the
 * container must be DNS-1123 labels, the pod a DNS-1123 subdomain; nothing
 * else is accepted, and nothing else ever reaches kubectl's argv.
 *
 * Limits map to the container's resources:
 *   cpu_max_cores    -> limits.cpu        cpu_weight_cores -> requests.cpu
 *   mem_max_bytes    -> limits.memory     mem_high_bytes   -> requests.memory
 * as Kubernetes quantities in canonical form: CPU in whole millicores
 * ("500m", rounded up, at least "1m") or whole cores ("2"), memory in bytes
 * ("1536Mi", "1Gi" when exact, else a plain integer). Block I/O, pids and
 * network egress have no counterpart in the resize subresource and are
 * reported unsupported; so is FP_UNLIMITED, because an in-place resize
 * cannot remove a request or a limit.
 *
 * The change is one strategic-merge patch of the pod's `resize`
 * subresource (in-place resize, Kubernetes 1.33+), see fp_k8s_patch. It is
 * all or none by itself: the API server applies or refuses it whole, so
 * commit has nothing to undo. Kubernetes, not this back-end, refuses a
 * memory limit below what the container uses, a request above its limit,
 * and a resize that changes the pod's QoS class.
 *
 * Without kubectl the back-end only plans and emits: previous values are
 * "unknown" and commit runs nothing (the tool writes the patch into its
 * allocation record). Such a record cannot be reverted: a commit of its
 * inverse is refused, since "unknown" is not a quantity. A previous value
 * "" means the pod spec had no such request or limit; the inverse cannot
 * remove it again and is refused the same way.
 *
 * kubectl runs with fork + execvp and an argument vector, never a shell,
 * with stdin from /dev/null, stdout captured up to K8S_OUT_MAX bytes,
 * stderr kept for the error message, and a timeout of K8S_TIMEOUT_MS:
 *   plan, observe  KUBECTL --namespace NS get pod POD -o json
 *   commit         KUBECTL --namespace NS patch pod POD --subresource resize
 *                          --type strategic -p PATCH
 * (PATCH one argument: the compact JSON of fp_k8s_patch, keys sorted).
 * Only validated names and that JSON ever reach the argument vector.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "act_impl.h"

#define K8S_TIMEOUT_MS 20000
#define K8S_OUT_MAX (8u << 20)   /* a pod's JSON is a few KiB; refuse runaways */
#define K8S_ERR_SHOW 300         /* chars of kubectl's stderr in a message */
#define K8S_LABEL_MAX 63
#define K8S_SUBDOMAIN_MAX 253
#define K8S_EXACT_MAX 9007199254740992.0 /* 2^53: integers a double holds exactly */

typedef struct k8s_act {
    fp_actuator base;
    char *kubectl;             /* NULL: emit only */
    char ns[K8S_LABEL_MAX + 1];
    int timeout_ms;
} k8s_act;

typedef struct k8s_ref {
    char ns[K8S_LABEL_MAX + 1];
    char pod[K8S_SUBDOMAIN_MAX + 1];
    char ctr[K8S_LABEL_MAX + 1];
} k8s_ref;

/* ------------------------------------------------------------ names */

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* true when s[0..n) matches [a-z0-9]([-a-z0-9]*[a-z0-9])? (no length cap). */
static bool label_chars(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-') return false;
    return true;
}

/* A DNS-1123 label: label_chars and at most 63 characters. */
static bool dns_label(const char *s, size_t n)
{
    return n <= K8S_LABEL_MAX && label_chars(s, n);
}

/* A DNS-1123 subdomain: at most 253 characters, dot-separated parts each
 * matching label_chars (so no empty part: no "..", no leading or trailing
 * dot). */
static bool dns_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > K8S_SUBDOMAIN_MAX) return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!label_chars(s + start, i - start)) return false;
            start = i + 1;
        }
    }
    return true;
}

/* s (at most 80 bytes of it) made printable for a message: control and
 * non-ASCII bytes as '?'. */
static const char *shown(const char *s, size_t max, char buf[static 81])
{
    size_t i = 0;
    for (; i < 80 && i < max && s[i]; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
    buf[i] = 0;
    return buf;
}

/* Split "NAMESPACE/POD/CONTAINER" or "POD/CONTAINER" (namespace then
 * default_ns) into r, checking each part. FP_EINPUT, naming the bad part,
 * for anything else. s need not be NUL-terminated within max bytes. */
static int parse_ref(const char *s, size_t max, const char *default_ns, k8s_ref *r,
                     fp_err *err)
{
    memset(r, 0, sizeof *r);
    char sb[81];
    size_t len = strnlen(s, max);
    if (len == max)
        return fp_err_set(err, FP_EINPUT, "k8s target is not terminated");
    const char *part[3];
    size_t plen[3];
    int n = 0;
    const char *p = s, *end = s + len;
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (n == 3)
            return fp_err_set(err, FP_EINPUT,
                              "k8s target \"%s\": expected NAMESPACE/POD/CONTAINER or "
                              "POD/CONTAINER", shown(s, len, sb));
        part[n] = p;
        plen[n] = (size_t)((slash ? slash : end) - p);
        n++;
        if (!slash) break;
        p = slash + 1;
    }
    if (n < 2)
        return fp_err_set(err, FP_EINPUT,
                          "k8s target \"%s\": expected NAMESPACE/POD/CONTAINER or "
                          "POD/CONTAINER", shown(s, len, sb));
    int i = 0;
    if (n == 3) {
        if (!dns_label(part[0], plen[0]))
            return fp_err_set(err, FP_EINPUT,
                              "k8s target \"%s\": the namespace is not a DNS-1123 label "
                              "(a-z, 0-9 and '-', at most %d)", shown(s, len, sb), K8S_LABEL_MAX);
        memcpy(r->ns, part[0], plen[0]);
        i = 1;
    } else {
        snprintf(r->ns, sizeof r->ns, "%s", default_ns);
    }
    if (!dns_subdomain(part[i], plen[i]))
        return fp_err_set(err, FP_EINPUT,
                          "k8s target \"%s\": the pod name is not a DNS-1123 subdomain "
                          "(a-z, 0-9, '-' and '.', at most %d)", shown(s, len, sb), K8S_SUBDOMAIN_MAX);
    memcpy(r->pod, part[i], plen[i]);
    if (!dns_label(part[i + 1], plen[i + 1]))
        return fp_err_set(err, FP_EINPUT,
                          "k8s target \"%s\": the container name is not a DNS-1123 label "
                          "(a-z, 0-9 and '-', at most %d)", shown(s, len, sb), K8S_LABEL_MAX);
    memcpy(r->ctr, part[i + 1], plen[i + 1]);
    return 0;
}

/* ------------------------------------------------------------ quantities */

/* x rounded up to an integer, except that a value within rounding noise of
 * an integer (0.1 * 3 * 1000) is that integer. */
static double round_up(double x)
{
    double r = nearbyint(x);
    return fabs(x - r) <= 1e-9 * fmax(1.0, fabs(x)) ? r : ceil(x);
}

/* cores as a CPU quantity: whole cores ("2") when a multiple of 1000m,
 * else millicores rounded up ("500m", at least "1m"). -1 when cores is not
 * a positive finite number or too large to count in millicores exactly. */
static int fmt_cpu(double cores, char *buf, size_t n)
{
    if (!isfinite(cores) || cores <= 0) return -1;
    double m = round_up(cores * 1000.0);
    if (m < 1) m = 1;
    if (m > K8S_EXACT_MAX) return -1;
    uint64_t mi = (uint64_t)m;
    if (mi % 1000 == 0) snprintf(buf, n, "%llu", (unsigned long long)(mi / 1000));
    else snprintf(buf, n, "%llum", (unsigned long long)mi);
    return 0;
}

/* bytes as a memory quantity: "NGi" or "NMi" when exact, else the plain
 * integer, rounded up (at least 1). -1 when bytes is not a positive finite
 * number or above 2^53. */
static int fmt_mem(double bytes, char *buf, size_t n)
{
    if (!isfinite(bytes) || bytes <= 0) return -1;
    double b = round_up(bytes);
    if (b < 1) b = 1;
    if (b > K8S_EXACT_MAX) return -1;
    uint64_t bi = (uint64_t)b;
    const uint64_t mib = 1u << 20, gib = 1u << 30;
    if (bi % gib == 0) snprintf(buf, n, "%lluGi", (unsigned long long)(bi / gib));
    else if (bi % mib == 0) snprintf(buf, n, "%lluMi", (unsigned long long)(bi / mib));
    else snprintf(buf, n, "%llu", (unsigned long long)bi);
    return 0;
}

/* Parse a non-negative Kubernetes quantity: digits with an optional
 * fraction, then a binary suffix (Ki..Ei), a decimal one (n u m "" k M G T
 * P E) or an exponent (e3, E-2). Stores the value in base units (cores,
 * bytes) and returns 0; -1 for anything else. Every string accepted also
 * matches the API's quantity regex ^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$. */
static int parse_quantity(const char *s, double *out)
{
    const char *p = s;
    int digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (digits == 0 || p - s > 40) return -1;
    char num[48];
    memcpy(num, s, (size_t)(p - s));
    num[p - s] = 0;
    double v = strtod(num, NULL);
    static const struct { const char *sfx; double mul; } units[] = {
        {"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50},
        {"Ei", 0x1p60}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"", 1}, {"k", 1e3},
        {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcmp(p, units[i].sfx) == 0) {
            *out = v * units[i].mul;
            return 0;
        }
    }
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '+' || *q == '-') q++;
        const char *d = q;
        while (*q >= '0' && *q <= '9') q++;
        if (q == d || *q || q - d > 3) return -1;
        *out = v * pow(10.0, strtod(p + 1, NULL));
        return isfinite(*out) ? 0 : -1;
    }
    return -1;
}

/* ------------------------------------------------------------ knobs */

typedef struct knob_map {
    const char *knob;          /* resource path */
    const char *limit;         /* fp_limits field name */
    size_t off;                /* offsetof in fp_limits */
    bool cpu;
} knob_map;

static const knob_map KNOBS[] = {
    {"limits.cpu", "cpu_max_cores", offsetof(fp_limits, cpu_max_cores), true},
    {"requests.cpu", "cpu_weight_cores", offsetof(fp_limits, cpu_weight_cores), true},
    {"limits.memory", "mem_max_bytes", offsetof(fp_limits, mem_max_bytes), false},
    {"requests.memory", "mem_high_bytes", offsetof(fp_limits, mem_high_bytes), false},
};
#define N_KNOBS (sizeof KNOBS / sizeof *KNOBS)

static const struct { const char *limit; size_t off; const char *what; } UNSUPPORTED[] = {
    {"io_read_Bps", offsetof(fp_limits, io_read_Bps), "block I/O read rate"},
    {"io_write_Bps", offsetof(fp_limits, io_write_Bps), "block I/O write rate"},
    {"pids_max", offsetof(fp_limits, pids_max), "process count"},
    {"net_tx_Bps", offsetof(fp_limits, net_tx_Bps), "network egress rate"},
};

static double limit_at(const fp_limits *l, size_t off)
{
    double v;
    memcpy(&v, (const char *)l + off, sizeof v);
    return v;
}

static const knob_map *knob_find(const char *knob)
{
    for (size_t i = 0; i < N_KNOBS; i++)
        if (strcmp(KNOBS[i].knob, knob) == 0) return &KNOBS[i];
    return NULL;
}

/* Check that plan is a k8s plan whose object is NAMESPACE/POD/CONTAINER and
 * whose changes set known knobs to quantities; fill r. FP_EUSAGE for a plan
 * of another back-end, FP_EINPUT (naming the change) otherwise. */
static int check_plan(const fp_plan *plan, k8s_ref *r, fp_err *err)
{
    if (strcmp(plan->backend, "k8s") != 0)
        return fp_err_set(err, FP_EUSAGE, "a %.32s plan given to the k8s back-end", plan->backend);
    char sb[81];
    size_t olen = strnlen(plan->object, sizeof plan->object);
    if (olen == sizeof plan->object || memchr(plan->object, '/', olen) == NULL ||
        memchr(plan->object, '/', olen) == memrchr(plan->object, '/', olen))
        return fp_err_set(err, FP_EINPUT, "k8s plan object \"%s\" is not NAMESPACE/POD/CONTAINER",
                          shown(plan->object, olen, sb));
    if (parse_ref(plan->object, sizeof plan->object, "default", r, err) < 0) return -1;
    if (plan->n < 0 || plan->n > FP_CHANGES_MAX)
        return fp_err_set(err, FP_EINPUT, "k8s plan has %d changes", plan->n);
    for (int i = 0; i < plan->n; i++) {
        const fp_change *c = &plan->ch[i];
        double v;
        if (!knob_find(c->knob))
            return fp_err_set(err, FP_EINPUT, "k8s plan: unknown knob \"%s\"",
                              shown(c->knob, sizeof c->knob, sb));
        if (strcmp(c->value, "unknown") == 0)
            return fp_err_set(err, FP_EINPUT,
                              "cannot set %s of %s: the value is unknown (its plan was made "
                              "without kubectl, so the previous value was never read)",
                              c->knob, plan->object);
        if (c->value[0] == 0)
            return fp_err_set(err, FP_EINPUT,
                              "cannot remove %s of %s: an in-place resize cannot remove a "
                              "request or a limit", c->knob, plan->object);
        if (parse_quantity(c->value, &v) < 0)
            return fp_err_set(err, FP_EINPUT, "%s of %s: \"%s\" is not a quantity",
                              c->knob, plan->object, shown(c->value, sizeof c->value, sb));
    }
    return 0;
}

json_t *fp_k8s_patch(const fp_plan *plan)
{
    k8s_ref r;
    if (check_plan(plan, &r, NULL) < 0) return NULL;
    json_t *req = json_object(), *lim = json_object(), *res = json_object();
    bool fail = !req || !lim || !res;
    for (int i = 0; !fail && i < plan->n; i++) {
        const fp_change *c = &plan->ch[i];
        bool is_req = strncmp(c->knob, "requests.", 9) == 0;
        const char *key = strchr(c->knob, '.') + 1;
        fail = json_object_set_new(is_req ? req : lim, key, json_string(c->value)) < 0;
    }
    if (!fail && json_object_size(req)) fail = json_object_set(res, "requests", req) < 0;
    if (!fail && json_object_size(lim)) fail = json_object_set(res, "limits", lim) < 0;
    json_decref(req);
    json_decref(lim);
    if (fail) {
        json_decref(res);
        return NULL;
    }
    /* "o" steals res, also when json_pack fails */
    return json_pack("{s:{s:[{s:s,s:o}]}}", "spec", "containers", "name", r.ctr,
                     "resources", res);
}

/* ------------------------------------------------------------ kubectl */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0) close(p[0]);
    if (p[1] >= 0) close(p[1]);
    p[0] = p[1] = -1;
}

/* Run argv (argv[0] the kubectl program, found on PATH by execvp) without
 * a shell: stdin from /dev/null, default signal dispositions and an empty
 * signal mask. When out is not NULL, *out receives its stdout (malloc'd,
 * NUL-terminated, *out_len bytes; the caller frees it); else stdout is
 * read and dropped. Returns 0 when it ran and exited 0. Otherwise -1 with
 * FP_ESYS and a message starting with `what`: the program could not be
 * run (errno kept), it ran past k->timeout_ms or wrote more than
 * K8S_OUT_MAX bytes (then it is killed), it was killed by a signal, or it
 * exited non-zero (the message ends with the first K8S_ERR_SHOW characters
 * of its stderr, control characters as spaces). The child is always
 * reaped. */
static int run_kubectl(const k8s_act *k, char *const argv[], const char *what, char **out,
                       size_t *out_len, fp_err *err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, px[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) return fp_err_sys(err, "%s: /dev/null", what);
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 || pipe2(px, O_CLOEXEC) < 0) {
        fp_err_sys(err, "%s: pipe", what);
        close(devnull);
        close_pair(po);
        close_pair(pe);
        close_pair(px);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fp_err_sys(err, "%s: fork", what);
        close(devnull);
        close_pair(po);
        close_pair(pe);
        close_pair(px);
        return -1;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls until exec. dup2 clears
         * close-on-exec on 0, 1 and 2; every other descriptor made here
         * closes at exec, px[1] telling the parent that exec happened. */
        sigset_t none;
        sigemptyset(&none);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0) {
            int e = errno;
            ssize_t w = write(px[1], &e, sizeof e);
            (void)w;
            _exit(127);
        }
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(px[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(devnull);
    close(po[1]);
    close(pe[1]);
    close(px[1]);
    po[1] = pe[1] = px[1] = -1;

    int exec_errno = 0;
    ssize_t k1;
    while ((k1 = read(px[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
    close_pair(px);
    bool exec_failed = k1 == (ssize_t)sizeof exec_errno;

    char *buf = NULL;
    size_t len = 0, cap = 0;
    char etxt[K8S_ERR_SHOW + 1];
    size_t elen = 0;
    bool timed_out = false, too_big = false, nomem = false, broken = false;
    int poll_errno = 0;
    long long deadline = now_ms() + k->timeout_ms;
    while (!exec_failed && (po[0] >= 0 || pe[0] >= 0)) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
        int r = poll(fds, 2, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            poll_errno = errno;
            broken = true;
            break;
        }
        if (po[0] >= 0 && fds[0].revents) {
            if (cap - len < 4096 + 1) {
                size_t ncap = cap ? cap * 2 : 16384;
                char *nb = realloc(buf, ncap);
                if (!nb) {
                    nomem = true;
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            ssize_t got = read(po[0], buf + len, cap - len - 1);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                close(po[0]);
                po[0] = -1;
            } else {
                len += (size_t)got;
                if (len > K8S_OUT_MAX) {
                    too_big = true;
                    break;
                }
            }
        }
        if (pe[0] >= 0 && fds[1].revents) {
            char tmp[4096];
            ssize_t got = read(pe[0], tmp, sizeof tmp);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                close(pe[0]);
                pe[0] = -1;
            } else if (elen < K8S_ERR_SHOW) {
                size_t take = (size_t)got < K8S_ERR_SHOW - elen ? (size_t)got : K8S_ERR_SHOW - elen;
                memcpy(etxt + elen, tmp, take);
                elen += take;
            }
        }
    }
    if (timed_out || too_big || nomem || broken) kill(pid, SIGKILL);
    close_pair(po);
    close_pair(pe);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}

    /* stderr as one line */
    while (elen > 0 && (etxt[elen - 1] == '\n' || etxt[elen - 1] == '\r' || etxt[elen - 1] == ' '))
        elen--;
    etxt[elen] = 0;
    for (size_t i = 0; i < elen; i++)
        if ((unsigned char)etxt[i] < 0x20 || etxt[i] == 0x7f) etxt[i] = ' ';

    int rc = -1;
    if (exec_failed) {
        errno = exec_errno;
        fp_err_sys(err, "%s: cannot run %s", what, argv[0]);
    } else if (broken) {
        errno = poll_errno;
        fp_err_sys(err, "%s: poll", what);
    } else if (nomem) {
        fp_err_set(err, FP_ESYS, "%s: out of memory for its output", what);
    } else if (timed_out) {
        fp_err_set(err, FP_ESYS, "%s: no answer within %d s (killed)", what, k->timeout_ms / 1000);
    } else if (too_big) {
        fp_err_set(err, FP_ESYS, "%s: more than %u bytes of output (killed)", what, K8S_OUT_MAX);
    } else if (WIFSIGNALED(st)) {
        fp_err_set(err, FP_ESYS, "%s: killed by signal %d%s%s", what, WTERMSIG(st),
                   elen ? ": " : "", etxt);
    } else if (WEXITSTATUS(st) != 0) {
        fp_err_set(err, FP_ESYS, "%s: exit status %d%s%s", what, WEXITSTATUS(st),
                   elen ? ": " : "", etxt);
    } else {
        rc = 0;
    }
    if (rc == 0 && out) {
        if (!buf) buf = calloc(1, 1);
        if (!buf) return fp_err_set(err, FP_ESYS, "%s: out of memory", what);
        buf[len] = 0;
        *out = buf;
        if (out_len) *out_len = len;
        return 0;
    }
    free(buf);
    return rc;
}

/* The pod's JSON through `kubectl --namespace NS get pod POD -o json`
 * (owned by the caller), and in *res the resources object of the target
 * container (borrowed from it; NULL when the container has none).
 * FP_ESYS when kubectl fails or does not print a JSON object, FP_EINPUT
 * when the pod has no such container. */
static json_t *get_pod(const k8s_act *k, const k8s_ref *r, json_t **res, fp_err *err)
{
    char what[sizeof r->ns + sizeof r->pod + 32];
    snprintf(what, sizeof what, "kubectl get pod %s/%s", r->ns, r->pod);
    char *argv[] = {k->kubectl, "--namespace", (char *)r->ns, "get", "pod", (char *)r->pod,
                    "-o", "json", NULL};
    char *out = NULL;
    size_t len = 0;
    if (run_kubectl(k, argv, what, &out, &len, err) < 0) return NULL;
    json_error_t jerr;
    json_t *pod = json_loadb(out, len, 0, &jerr);
    free(out);
    if (!json_is_object(pod)) {
        json_decref(pod);
        fp_err_set(err, FP_ESYS, "%s: output is not a JSON object (%s)", what,
                   pod ? "another JSON value" : jerr.text);
        return NULL;
    }
    json_t *spec = json_object_get(pod, "spec");
    json_t *ctrs = json_is_object(spec) ? json_object_get(spec, "containers") : NULL;
    size_t i;
    json_t *c;
    json_array_foreach(ctrs, i, c) {
        json_t *name = json_object_get(c, "name");
        if (json_is_string(name) && strcmp(json_string_value(name), r->ctr) == 0) {
            json_t *rs = json_object_get(c, "resources");
            *res = json_is_object(rs) ? rs : NULL;
            return pod;
        }
    }
    json_decref(pod);
    fp_err_set(err, FP_EINPUT, "pod %s/%s has no container \"%s\"", r->ns, r->pod, r->ctr);
    return NULL;
}

/* The quantity string at resources.GROUP.NAME for knob "GROUP.NAME", or ""
 * when the pod spec sets none. -1 (FP_ESYS) when the value is there but is
 * not a quantity string that fits a plan. */
static int spec_value(const json_t *res, const char *knob, const char *obj, char *buf,
                      size_t n, fp_err *err)
{
    buf[0] = 0;
    const char *dot = strchr(knob, '.');
    char group[16];
    snprintf(group, sizeof group, "%.*s", (int)(dot - knob), knob);
    json_t *g = res ? json_object_get(res, group) : NULL;
    json_t *v = json_is_object(g) ? json_object_get(g, dot + 1) : NULL;
    if (!v || json_is_null(v)) return 0;
    double q;
    if (!json_is_string(v) || json_string_length(v) >= n ||
        parse_quantity(json_string_value(v), &q) < 0)
        return fp_err_set(err, FP_ESYS, "pod %s reports %s that is not a quantity", obj, knob);
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* ------------------------------------------------------------ ops */

static int k8s_observe(fp_actuator *a, const fp_target *tg, fp_observed *o, fp_err *err)
{
    k8s_act *k = (k8s_act *)a;
    k8s_ref r;
    if (parse_ref(tg->container, sizeof tg->container, k->ns, &r, err) < 0) return -1;
    const char *why = "the k8s back-end reads only the pod spec, not usage";
    if (!k->kubectl) why = "no kubectl given: the k8s back-end cannot read the pod";
    o->why_mem = o->why_oom = o->why_throttled = o->why_cpu = why;
    if (!k->kubectl) return 0;
    json_t *res = NULL;
    json_t *pod = get_pod(k, &r, &res, err);
    if (!pod) return -1;
    char obj[sizeof r.ns + sizeof r.pod + sizeof r.ctr];
    snprintf(obj, sizeof obj, "%s/%s/%s", r.ns, r.pod, r.ctr);
    for (size_t i = 0; i < N_KNOBS; i++) {
        char v[FP_VALUE_MAX];
        double q = FP_UNLIMITED;
        if (spec_value(res, KNOBS[i].knob, obj, v, sizeof v, err) < 0) {
            json_decref(pod);
            return -1;
        }
        if (v[0]) parse_quantity(v, &q);
        memcpy((char *)&o->now + KNOBS[i].off, &q, sizeof q);
    }
    json_decref(pod);
    return 0;
}

static int k8s_plan(fp_actuator *a, const fp_target *tg, const fp_limits *want,
                    fp_plan *plan, fp_err *err)
{
    k8s_act *k = (k8s_act *)a;
    k8s_ref r;
    if (parse_ref(tg->container, sizeof tg->container, k->ns, &r, err) < 0) return -1;
    snprintf(plan->object, sizeof plan->object, "%s/%s/%s", r.ns, r.pod, r.ctr);

    /* Values first, so a bad limit is refused before kubectl runs. */
    char val[N_KNOBS][FP_VALUE_MAX];
    bool set[N_KNOBS];
    for (size_t i = 0; i < N_KNOBS; i++) {
        double v = limit_at(want, KNOBS[i].off);
        set[i] = false;
        if (isnan(v) || v == INFINITY)
            return fp_err_set(err, FP_EUSAGE, "%s is not a finite number", KNOBS[i].limit);
        if (v == FP_UNLIMITED) {
            fp_plan_unsupported(plan, KNOBS[i].limit,
                                "an in-place resize cannot remove %s; leave it or set a value",
                                KNOBS[i].knob);
            continue;
        }
        if (v < 0) continue; /* FP_UNSET */
        int rc = KNOBS[i].cpu ? fmt_cpu(v, val[i], sizeof val[i]) : fmt_mem(v, val[i], sizeof val[i]);
        if (rc < 0)
            return fp_err_set(err, FP_EUSAGE, "%s = %g is not a positive quantity Kubernetes can hold",
                              KNOBS[i].limit, v);
        set[i] = true;
    }
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof *UNSUPPORTED; i++) {
        double v = limit_at(want, UNSUPPORTED[i].off);
        if (v >= 0 || v == FP_UNLIMITED || isnan(v))
            fp_plan_unsupported(plan, UNSUPPORTED[i].limit,
                                "Kubernetes has no per-pod %s limit in the resize subresource",
                                UNSUPPORTED[i].what);
    }

    json_t *pod = NULL, *res = NULL;
    if (k->kubectl && !(pod = get_pod(k, &r, &res, err))) return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < N_KNOBS; i++) {
        if (!set[i]) continue;
        char prev[FP_VALUE_MAX] = "unknown";
        if (pod) rc = spec_value(res, KNOBS[i].knob, plan->object, prev, sizeof prev, err);
        if (rc == 0) rc = fp_plan_add(plan, KNOBS[i].knob, val[i], prev, NULL, err);
    }
    json_decref(pod);
    return rc;
}

static int k8s_commit(fp_actuator *a, const fp_plan *plan, fp_err *err)
{
    k8s_act *k = (k8s_act *)a;
    k8s_ref r;
    if (check_plan(plan, &r, err) < 0) return -1;
    json_t *patch = fp_k8s_patch(plan);
    if (!patch) return fp_err_set(err, FP_ESYS, "out of memory for the k8s patch");
    if (!k->kubectl || plan->n == 0) { /* emit only / nothing to change */
        json_decref(patch);
        return 0;
    }
    char *text = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(patch);
    if (!text) return fp_err_set(err, FP_ESYS, "out of memory for the k8s patch");
    char what[sizeof r.ns + sizeof r.pod + 32];
    snprintf(what, sizeof what, "kubectl patch pod %s/%s", r.ns, r.pod);
    char *argv[] = {k->kubectl, "--namespace", r.ns, "patch", "pod", r.pod,
                    "--subresource", "resize", "--type", "strategic", "-p", text, NULL};
    int rc = run_kubectl(k, argv, what, NULL, NULL, err);
    free(text);
    return rc;
}

static void k8s_free(fp_actuator *a)
{
    k8s_act *k = (k8s_act *)a;
    free(k->kubectl);
    free(k);
}

static const fp_act_ops k8s_ops = {
    .name = "k8s",
    .observe = k8s_observe,
    .plan = k8s_plan,
    .commit = k8s_commit,
    .free = k8s_free,
};

fp_actuator *fp_act_k8s_new(const char *kubectl, const char *nspace, fp_err *err)
{
    char sb[81];
    if (!nspace) nspace = "default";
    if (!dns_label(nspace, strlen(nspace))) {
        fp_err_set(err, FP_EUSAGE, "namespace \"%s\" is not a DNS-1123 label "
                   "(a-z, 0-9 and '-', at most %d)", shown(nspace, strlen(nspace), sb), K8S_LABEL_MAX);
        return NULL;
    }
    if (kubectl && !kubectl[0]) {
        fp_err_set(err, FP_EUSAGE, "empty kubectl program name");
        return NULL;
    }
    k8s_act *k = calloc(1, sizeof *k);
    if (!k || (kubectl && !(k->kubectl = strdup(kubectl)))) {
        free(k);
        fp_err_set(err, FP_ESYS, "out of memory");
        return NULL;
    }
    k->base.ops = &k8s_ops;
    snprintf(k->ns, sizeof k->ns, "%s", nspace);
    k->timeout_ms = K8S_TIMEOUT_MS;
    return &k->base;
}
