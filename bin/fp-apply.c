/* fp-apply - put predicted resources in place.
 *
 * Reads `prediction` records, decides limits with the policy (fp/policy.h),
 * fits them into the machine (fp_policy_share) and applies them through an
 * actuator (fp/actuator.h), writing one `allocation` record per change.
 * With --revert it reads allocation records and restores what they
 * changed, last change first. Every other record passes through unchanged.
 * See fp-apply(1).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fp.h"
#include "fp/actuator.h"
#include "fp/policy.h"
#include "fp/prediction.h"
#include "fp/summary.h"

enum { BK_AUTO, BK_CGROUP, BK_DOCKER, BK_SWARM, BK_K8S, BK_SYSTEMD, BK_COUNT };
static const char *const bk_names[BK_COUNT] = { "auto", "cgroup", "docker", "swarm", "k8s", "systemd" };

typedef struct settings {
    int backend;
    bool dry_run, revert, skip_bad, dump_policy, no_pass, whole_cgroup;
    int summary;                   /* -1 auto (standard error a terminal), 0 off, 1 on */
    double watch_s;
    const char *kubectl, *nspace, *unit;
    fp_policy policy;
    char **inputs;
    int n_inputs;
} settings;

/* One workload fp-apply has seen. */
typedef struct target {
    char key[200];
    fp_target tg;
    int backend;
    int priority;
    fp_apply_state st;
    double want_cpu, want_mem;     /* hard limits the policy wants (< 0 none) */
    double floor_mem;              /* the memory safety floor at the last look */
    double last_t, last_mono;      /* the record time of its last prediction */
    char model[128];
    double horizon_s;
} target;

typedef struct run {
    const settings *S;
    fp_roots roots;
    fp_capacity cap;
    fp_actuator *act[BK_COUNT];
    fp_idtable tt;                 /* target by key (target_key) */
    int status;                    /* worst exit status so far */
    FILE *out;
    const char *input;             /* name of the input being read */
    long line;
    fp_summary *sum;               /* the records for the human summary; NULL: none */
} run;

static void usage(FILE *f)
{
    fputs("usage: fp-apply [options] [FILE...]\n"
          "Read prediction records (FILE or stdin), put the limits they call for in place\n"
          "and write allocation records; other records pass through.\n"
          "  -b, --backend B         auto (container: docker, else cgroup), cgroup, docker,\n"
          "                          swarm, k8s or systemd (a unit's properties)\n"
          "      --unit NAME         systemd: limit unit NAME (default: the unit whose\n"
          "                          cgroup the target names); implies -b systemd\n"
          "  -n, --dry-run           decide and plan, change nothing\n"
          "  -r, --revert            read allocation records and restore the previous values\n"
          "  -P, --policy FILE       policy overrides (JSON; see fp-apply(1))\n"
          "      --overcommit MODE   scale, priority, refuse or allow\n"
          "      --enable RES,...    also limit these resources (io_read_Bps, io_write_Bps,\n"
          "                          net_tx_Bps); --disable RES,... leaves them alone\n"
          "      --watch SECONDS     between records, look for OOM kills and throttling\n"
          "                          every SECONDS and raise limits at once\n"
          "      --kubectl PROG      k8s: run the resize patch with PROG (default: only emit)\n"
          "      --namespace NS      k8s: the namespace (default \"default\")\n"
          "      --whole-cgroup      cgroup: limit a target given by pid through its whole\n"
          "                          cgroup even when other processes share it\n"
          "      --skip-bad          skip malformed lines instead of stopping\n"
          "      --no-pass           do not pass prediction records through (by default\n"
          "                          each is written before its allocation, for fp-diff)\n"
          "      --print-policy      write the effective policy as JSON and exit\n"
          "  -s, --summary           a human summary per workload on standard error at the\n"
          "                          end (default when standard error is a terminal)\n"
          "      --no-summary        no summary, even on a terminal\n"
          "  -h, --help              this help;  -V, --version  the version\n"
          "Exit: 0 all applied, 2 usage or system error, 3 bad input or a refused change.\n", f);
}

static int set_enabled(fp_policy *p, const char *list, bool on)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        fp_resource r = fp_resource_by_name(tok);
        if (r == FP_RES_COUNT) {
            fprintf(stderr, "fp-apply: unknown resource \"%s\" (cpu_cores, mem_bytes, io_read_Bps, "
                    "io_write_Bps, net_tx_Bps)\n", tok);
            return -1;
        }
        p->res[r].enabled = on;
    }
    return 0;
}

/* Options into S; returns 0, 1 for --help/--version (exit 0), -1 usage. */
static int parse_args(int argc, char **argv, settings *S)
{
    enum { O_OVER = 256, O_ENABLE, O_DISABLE, O_WATCH, O_KUBECTL, O_NS, O_SKIP, O_PRINT, O_NOPASS,
           O_WHOLE, O_UNIT, O_NOSUMMARY };
    static const struct option opts[] = {
        {"backend", required_argument, 0, 'b'}, {"dry-run", no_argument, 0, 'n'},
        {"revert", no_argument, 0, 'r'}, {"policy", required_argument, 0, 'P'},
        {"overcommit", required_argument, 0, O_OVER}, {"enable", required_argument, 0, O_ENABLE},
        {"disable", required_argument, 0, O_DISABLE}, {"watch", required_argument, 0, O_WATCH},
        {"kubectl", required_argument, 0, O_KUBECTL}, {"namespace", required_argument, 0, O_NS},
        {"skip-bad", no_argument, 0, O_SKIP}, {"print-policy", no_argument, 0, O_PRINT},
        {"no-pass", no_argument, 0, O_NOPASS}, {"whole-cgroup", no_argument, 0, O_WHOLE},
        {"unit", required_argument, 0, O_UNIT},
        {"summary", no_argument, 0, 's'}, {"no-summary", no_argument, 0, O_NOSUMMARY},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    memset(S, 0, sizeof *S);
    fp_policy_default(&S->policy);
    S->nspace = "default";
    S->summary = -1;
    /* the policy file is read after the loop, so flags override it
     * whatever their order */
    int c;
    const char *policy_file = NULL;
    char *enable[16], *disable[16];
    int ne = 0, nd = 0;
    const char *over = NULL;
    while ((c = getopt_long(argc, argv, "b:nrP:shV", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            S->backend = -1;
            for (int i = 0; i < BK_COUNT; i++)
                if (strcmp(optarg, bk_names[i]) == 0) S->backend = i;
            if (S->backend < 0) {
                fprintf(stderr, "fp-apply: unknown backend \"%s\"\n", optarg);
                return -1;
            }
            break;
        case 'n': S->dry_run = true; break;
        case 's': S->summary = 1; break;
        case O_NOSUMMARY: S->summary = 0; break;
        case 'r': S->revert = true; break;
        case 'P': policy_file = optarg; break;
        case O_OVER: over = optarg; break;
        case O_ENABLE: if (ne < 16) enable[ne++] = optarg; break;
        case O_DISABLE: if (nd < 16) disable[nd++] = optarg; break;
        case O_WATCH: {
            char *end;
            errno = 0;
            S->watch_s = strtod(optarg, &end);
            if (errno || *end || !(S->watch_s > 0 && S->watch_s <= 86400)) {
                fprintf(stderr, "fp-apply: --watch wants seconds in (0, 86400], not \"%s\"\n", optarg);
                return -1;
            }
            break;
        }
        case O_KUBECTL: S->kubectl = optarg; break;
        case O_NS: S->nspace = optarg; break;
        case O_SKIP: S->skip_bad = true; break;
        case O_PRINT: S->dump_policy = true; break;
        case O_NOPASS: S->no_pass = true; break;
        case O_WHOLE: S->whole_cgroup = true; break;
        case O_UNIT:
            if (!fp_systemd_valid_unit(optarg)) {
                fprintf(stderr, "fp-apply: --unit: \"%s\" is not a unit name (NAME.service, .scope, "
                        ".slice, .socket, .mount or .swap)\n", optarg);
                return -1;
            }
            S->unit = optarg;
            break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("fp-apply (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (policy_file) {
        fp_err err = {0};
        if (fp_policy_load(&S->policy, policy_file, &err) < 0) {
            fprintf(stderr, "fp-apply: %s\n", err.msg);
            return -1;
        }
    }
    if (over && fp_overcommit_parse(over, &S->policy.over) < 0) {
        fprintf(stderr, "fp-apply: --overcommit wants scale, priority, refuse or allow, not \"%s\"\n",
                over);
        return -1;
    }
    for (int i = 0; i < ne; i++) if (set_enabled(&S->policy, enable[i], true) < 0) return -1;
    for (int i = 0; i < nd; i++) if (set_enabled(&S->policy, disable[i], false) < 0) return -1;
    if (S->unit && S->backend == BK_AUTO) S->backend = BK_SYSTEMD;
    if (S->unit && S->backend != BK_SYSTEMD) {
        fprintf(stderr, "fp-apply: --unit applies to the systemd back-end, not %s\n", bk_names[S->backend]);
        return -1;
    }
    if (S->whole_cgroup && S->backend != BK_AUTO && S->backend != BK_CGROUP) {
        fprintf(stderr, "fp-apply: --whole-cgroup applies to the cgroup back-end, not %s\n", bk_names[S->backend]);
        return -1;
    }
    S->inputs = argv + optind;
    S->n_inputs = argc - optind;
    return 0;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Worse statuses win: 2 (system) over 3 (input) over 0. */
static void note_status(run *R, const fp_err *err)
{
    int s = fp_exit_code(err);
    if (R->status == 0 || (s == 2 && R->status == 3)) R->status = s;
}

static void complain(run *R, const target *t, const fp_err *err)
{
    fprintf(stderr, "fp-apply: %s:%ld: %s: %s\n", R->input, R->line, t ? t->key : "?", err->msg);
    note_status(R, err);
}

static int emit(run *R, json_t *rec)
{
    fp_summary_add(R->sum, rec);       /* a summary short of memory only shows less */
    fp_err err = {0};
    int rc = fp_record_write(R->out, rec, &err);
    json_decref(rec);
    if (rc == 0 && fflush(R->out) != 0) rc = fp_err_sys(&err, "write");
    if (rc < 0) {
        fprintf(stderr, "fp-apply: %s\n", err.msg);
        R->status = 2;
    }
    return rc;
}

/* The actuator for backend b, made on first use. */
static fp_actuator *actuator(run *R, int b, fp_err *err)
{
    if (R->act[b]) return R->act[b];
    switch (b) {
    case BK_CGROUP:
        R->act[b] = fp_act_cgroup_new(&R->roots, err);
        if (R->act[b] && R->S->whole_cgroup) fp_act_cgroup_whole(R->act[b], true, NULL);
        break;
    case BK_DOCKER: R->act[b] = fp_act_docker_new(&R->roots, err); break;
    case BK_SWARM: R->act[b] = fp_act_swarm_new(&R->roots, err); break;
    case BK_K8S: R->act[b] = fp_act_k8s_new(R->S->kubectl, R->S->nspace, err); break;
    case BK_SYSTEMD:
        R->act[b] = fp_act_systemd_new(&R->roots, err);
        if (R->act[b] && R->S->unit && fp_act_systemd_unit(R->act[b], R->S->unit, err) < 0) {
            fp_act_free(R->act[b]);
            R->act[b] = NULL;
        }
        break;
    default: fp_err_set(err, FP_EUSAGE, "no backend"); break;
    }
    return R->act[b];
}

static int backend_for(const settings *S, const fp_target *tg)
{
    if (S->backend != BK_AUTO) return S->backend;
    return tg->container[0] ? BK_DOCKER : BK_CGROUP;
}

static int backend_by_name(const char *name)
{
    if (strncmp(name, "cgroup", 6) == 0) return BK_CGROUP;
    for (int i = 1; i < BK_COUNT; i++)
        if (strcmp(name, bk_names[i]) == 0) return i;
    return -1;
}

/* The record's workload key: its id, else its cgroup, container or pid. */
static void target_key(const fp_target *tg, char *buf, size_t n)
{
    if (tg->id[0]) snprintf(buf, n, "%s", tg->id);
    else if (tg->cgroup[0]) snprintf(buf, n, "cgroup:%s", tg->cgroup);
    else if (tg->container[0]) snprintf(buf, n, "container:%s", tg->container);
    else if (tg->pid > 0) snprintf(buf, n, "pid:%d", tg->pid);
    else buf[0] = 0;
}

#define TG(R, i) ((target *)fp_idtable_at(&(R)->tt, (size_t)(i)))

static target *find_target(run *R, const fp_target *tg, int backend)
{
    char key[200];
    target_key(tg, key, sizeof key);
    bool created;
    target *t = fp_idtable_add(&R->tt, key, &created);
    if (!t || !created) return t;
    snprintf(t->key, sizeof t->key, "%s", key);
    t->tg = *tg;
    t->backend = backend;
    t->want_cpu = t->want_mem = FP_UNSET;
    fp_apply_state_init(&t->st);
    return t;
}

/* Plan and (unless --dry-run) commit limits l on t, then write the
 * allocation record. Returns 0 when applied. */
static int apply(run *R, target *t, const fp_limits *l, const char *reason, const fp_decision *d,
                 const char *capacity, double rec_t, const fp_prediction *p)
{
    fp_err err = {0};
    fp_plan plan;
    memset(&plan, 0, sizeof plan);
    fp_actuator *a = actuator(R, t->backend, &err);
    int rc = -1;
    if (a && fp_act_plan(a, &t->tg, l, &plan, &err) == 0)
        rc = R->S->dry_run ? 0 : fp_act_commit(a, &plan, &err);
    fp_allocation al = {
        .target = t->tg, .t = rec_t, .ts = wall_now(), .reason = reason,
        .model = t->model, .horizon_s = p ? p->horizon_s : -1, .prediction_t = p ? p->t : -1,
        .dry_run = R->S->dry_run, .ok = rc == 0, .error = rc == 0 ? NULL : err.msg,
        .limits = *l, .capacity = capacity, .plan = a ? &plan : NULL };
    for (int i = 0; d && i < FP_RES_COUNT; i++) al.why[i] = d->why[i];
    if (rc < 0) complain(R, t, &err);
    else if (!R->S->dry_run) fp_apply_state_commit(&t->st, l, mono_now());
    emit(R, fp_allocation_to_json(&al));
    return rc;
}

/* Whether the target's resources are this machine's: Swarm and Kubernetes
 * place their tasks themselves. */
static bool local(const target *t)
{
    return t->backend == BK_CGROUP || t->backend == BK_DOCKER;
}

/* Fit every target's hard limits into the machine; `self` wants
 * (cpu, mem) now. Adjusts self's limits in l, re-applies other targets
 * whose grant moved, and returns the capacity summary (in buf). */
static const char *share(run *R, target *self, fp_limits *l, char *buf, size_t n)
{
    int nt = (int)R->tt.n;
    fp_share *s = calloc((size_t)nt, sizeof *s);
    if (!s) return "not checked: out of memory";
    int me = (int)(self - TG(R, 0));
    for (int i = 0; i < nt; i++) {
        target *t = TG(R, i);
        if (!local(t)) {                  /* another machine's resources */
            s[i].want[0] = s[i].want[1] = FP_UNSET;
            continue;
        }
        s[i].want[0] = t->want_cpu;
        s[i].want[1] = t->want_mem;
        s[i].floor[0] = t->want_cpu >= 0 ? R->S->policy.res[FP_RES_CPU].floor : 0;
        s[i].floor[1] = t->floor_mem;
        s[i].prev[0] = t->st.applied ? t->st.granted.cpu_max_cores : FP_UNSET;
        s[i].prev[1] = t->st.applied ? t->st.granted.mem_max_bytes : FP_UNSET;
        s[i].priority = t->priority;
    }
    const char *sum = fp_policy_share(&R->S->policy, &R->cap, s, nt, buf, n);
    /* this target */
    const fp_res_policy *cp = &R->S->policy.res[FP_RES_CPU], *mp = &R->S->policy.res[FP_RES_MEM];
    if (l->cpu_max_cores >= 0 && s[me].grant[0] != l->cpu_max_cores) {
        l->cpu_max_cores = s[me].grant[0] >= 0 ? ceil(s[me].grant[0] / cp->step - 1e-9) * cp->step
                                               : FP_UNSET;
        if (l->cpu_weight_cores > l->cpu_max_cores) l->cpu_weight_cores = l->cpu_max_cores;
    }
    if (l->mem_max_bytes >= 0 && s[me].grant[1] != l->mem_max_bytes) {
        l->mem_max_bytes = s[me].grant[1] >= 0 ? floor(s[me].grant[1] / mp->step) * mp->step
                                               : FP_UNSET;
        if (l->mem_max_bytes >= 0 && l->mem_max_bytes < self->floor_mem) l->mem_max_bytes = self->floor_mem;
        if (l->mem_high_bytes > l->mem_max_bytes && l->mem_max_bytes >= 0)
            l->mem_high_bytes = l->mem_max_bytes;
    }
    /* others whose applied hard limits differ from their new grant */
    for (int i = 0; i < nt; i++) {
        target *t = TG(R, i);
        if (i == me || !t->st.applied || !local(t)) continue;
        fp_limits o;
        fp_limits_unset(&o);
        double gc = s[i].grant[0], gm = s[i].grant[1];
        double hc = cp->hysteresis, hm = mp->hysteresis;
        if (gc >= 0 && t->st.granted.cpu_max_cores > 0 &&
            fabs(gc - t->st.granted.cpu_max_cores) / t->st.granted.cpu_max_cores >= hc) {
            o.cpu_max_cores = ceil(gc / cp->step - 1e-9) * cp->step;
            if (t->st.granted.cpu_weight_cores > o.cpu_max_cores) o.cpu_weight_cores = o.cpu_max_cores;
        }
        if (gm >= 0 && t->st.granted.mem_max_bytes > 0 &&
            fabs(gm - t->st.granted.mem_max_bytes) / t->st.granted.mem_max_bytes >= hm) {
            o.mem_max_bytes = fmax(floor(gm / mp->step) * mp->step, t->floor_mem);
            if (t->st.granted.mem_high_bytes > o.mem_max_bytes) o.mem_high_bytes = o.mem_max_bytes;
        }
        if (fp_limits_any_set(&o)) {
            fp_decision d;
            memset(&d, 0, sizeof d);
            if (s[i].note[0]) snprintf(d.why[FP_RES_CPU], FP_WHY_MAX, "%s", s[i].note);
            apply(R, t, &o, "capacity", &d, sum, t->last_t + (mono_now() - t->last_mono), NULL);
        }
    }
    if (s[me].note[0]) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, "; this target: %s", s[me].note);
    }
    free(s);
    return buf;
}

/* A prediction: observe, decide, share, apply. */
static void on_prediction(run *R, const json_t *rec)
{
    fp_err err = {0};
    fp_prediction p;
    if (fp_prediction_from_json(rec, &p, &err) < 0) {
        fprintf(stderr, "fp-apply: %s:%ld: %s\n", R->input, R->line, err.msg);
        note_status(R, &err);
        return;
    }
    char key[200];
    target_key(&p.target, key, sizeof key);
    if (!key[0]) {
        fprintf(stderr, "fp-apply: %s:%ld: prediction names no workload (id, cgroup, container "
                "or pid)\n", R->input, R->line);
        if (R->status == 0) R->status = 3;
        return;
    }
    target *t = find_target(R, &p.target, backend_for(R->S, &p.target));
    if (!t) {
        fprintf(stderr, "fp-apply: out of memory\n");
        R->status = 2;
        return;
    }
    /* a later record may say more about where the workload is */
    if (p.target.cgroup[0] || p.target.container[0] || p.target.pid) t->tg = p.target;
    t->priority = p.priority;
    t->last_t = p.t;
    t->last_mono = mono_now();
    snprintf(t->model, sizeof t->model, "%s", p.model);
    fp_actuator *a = actuator(R, t->backend, &err);
    fp_observed o;
    if (!a || fp_act_observe(a, &t->tg, &o, &err) < 0) {
        complain(R, t, &err);
        fp_allocation al = { .target = t->tg, .t = p.t, .ts = wall_now(), .reason = "prediction",
                             .model = p.model, .horizon_s = p.horizon_s, .prediction_t = p.t,
                             .dry_run = R->S->dry_run, .ok = false, .error = err.msg };
        fp_limits_unset(&al.limits);
        emit(R, fp_allocation_to_json(&al));
        return;
    }
    fp_decision d;
    fp_policy_decide(&R->S->policy, &R->cap, &p, &o, &t->st, mono_now(), &d);
    const fp_policy *pol = &R->S->policy;
    t->floor_mem = o.mem_bytes >= 0 ? o.mem_bytes * (1 + pol->mem_margin_frac) + pol->mem_margin_bytes : 0;
    /* what this target wants in hard limits, for the capacity rule */
    if (!isnan(d.wanted[FP_RES_CPU]) && pol->cpu_hard) t->want_cpu = d.wanted[FP_RES_CPU];
    if (d.want.cpu_max_cores >= 0) t->want_cpu = d.want.cpu_max_cores;
    if (d.want.mem_max_bytes >= 0) t->want_mem = d.want.mem_max_bytes;
    else if (!isnan(d.wanted[FP_RES_MEM]))
        t->want_mem = fmax(d.wanted[FP_RES_MEM], t->floor_mem) * pol->mem_max_over_high;
    char cap[400];
    const char *capacity = local(t) ? share(R, t, &d.want, cap, sizeof cap)
                                    : "not checked: the orchestrator places the workload";
    if (strcmp(d.reason, "hold") == 0 && !fp_limits_any_set(&d.want)) {
        fp_allocation al = { .target = t->tg, .t = p.t, .ts = wall_now(), .reason = "hold",
                             .model = p.model, .horizon_s = p.horizon_s, .prediction_t = p.t,
                             .dry_run = R->S->dry_run, .ok = true, .limits = d.want,
                             .capacity = capacity };
        for (int i = 0; i < FP_RES_COUNT; i++) al.why[i] = d.why[i];
        emit(R, fp_allocation_to_json(&al));
        return;
    }
    apply(R, t, &d.want, d.reason, &d, capacity, p.t, &p);
}

/* --watch: look at every target for OOM kills and throttling. */
static void look(run *R)
{
    for (size_t i = 0; i < R->tt.n; i++) {
        target *t = TG(R, i);
        fp_err err = {0};
        fp_actuator *a = actuator(R, t->backend, &err);
        fp_observed o;
        if (!a || fp_act_observe(a, &t->tg, &o, &err) < 0) continue;   /* gone: stop looking */
        fp_decision d;
        fp_policy_decide(&R->S->policy, &R->cap, NULL, &o, &t->st, mono_now(), &d);
        if (strcmp(d.reason, "hold") == 0) continue;
        apply(R, t, &d.want, d.reason, &d, NULL, t->last_t + (mono_now() - t->last_mono), NULL);
    }
}

/* --revert: plans rebuilt from allocation records, undone last first. */
typedef struct revert_item {
    fp_plan plan;
    fp_target tg;
    double t;
    long line;
    char input[256];
} revert_item;

/* The floors a revert passes: the policy's, as for a prediction. */
static void revert_rules(const fp_policy *pol, fp_revert_rules *r)
{
    r->cpu_min_cores = pol->res[FP_RES_CPU].floor;
    r->mem_min_bytes = pol->res[FP_RES_MEM].floor;
    r->mem_margin_frac = pol->mem_margin_frac;
    r->mem_margin_bytes = pol->mem_margin_bytes;
    r->io_min_Bps = fmin(pol->res[FP_RES_DISK_READ].floor, pol->res[FP_RES_DISK_WRITE].floor);
    r->net_min_Bps = pol->res[FP_RES_NET_TX].floor;
    r->pids_min = FP_PIDS_FLOOR;
}

/* Undo the items, newest first. The record is not trusted: every item's
 * inverse is checked (fp_act_check_revert: the record's own target, values
 * fp could have written, the policy's floors) before anything is
 * committed, and when one is refused nothing is reverted at all. */
static void revert_all(run *R, revert_item *items, int n)
{
    fp_revert_rules rules;
    revert_rules(&R->S->policy, &rules);
    fp_plan *inv = malloc((size_t)(n ? n : 1) * sizeof *inv);
    char (*why)[sizeof ((fp_err *)0)->msg] = calloc((size_t)(n ? n : 1), sizeof *why);
    fp_actuator **act = calloc((size_t)(n ? n : 1), sizeof *act);
    if (!inv || !why || !act) {
        fprintf(stderr, "fp-apply: out of memory\n");
        R->status = 2;
        goto out;
    }
    int refused = 0;
    for (int i = n - 1; i >= 0; i--) {
        revert_item *it = &items[i];
        fp_err err = {0};
        fp_plan_invert(&it->plan, &inv[i]);
        int b = backend_by_name(inv[i].backend);
        R->input = it->input;
        R->line = it->line;
        target tt = { .tg = it->tg };
        snprintf(tt.key, sizeof tt.key, "%s", inv[i].object);
        act[i] = b >= 0 ? actuator(R, b, &err) : NULL;
        if (b < 0) fp_err_set(&err, FP_EINPUT, "unknown backend \"%s\"", inv[i].backend);
        if (act[i] && fp_act_check_revert(act[i], &it->tg, &inv[i], &rules, &err) == 0) continue;
        complain(R, &tt, &err);
        snprintf(why[i], sizeof why[i], "%s", err.msg);
        refused++;
    }
    if (refused)
        fprintf(stderr, "fp-apply: nothing reverted: %d of %d record%s refused\n", refused, n,
                n == 1 ? "" : "s");
    for (int i = n - 1; i >= 0; i--) {
        revert_item *it = &items[i];
        fp_err err = {0};
        int rc = -1;
        R->input = it->input;
        R->line = it->line;
        if (why[i][0]) fp_err_set(&err, FP_EINPUT, "%s", why[i]);
        else if (refused) fp_err_set(&err, FP_EINPUT, "not reverted: another record of this revert "
                                     "was refused");
        else if (R->S->dry_run || (rc = fp_act_commit(act[i], &inv[i], &err)) == 0) rc = 0;
        else {
            target tt = { .tg = it->tg };
            snprintf(tt.key, sizeof tt.key, "%s", inv[i].object);
            complain(R, &tt, &err);
        }
        fp_allocation al = { .target = it->tg, .t = it->t, .ts = wall_now(), .reason = "revert",
                             .horizon_s = -1, .prediction_t = -1, .dry_run = R->S->dry_run,
                             .ok = rc == 0, .error = rc == 0 ? NULL : err.msg, .plan = &inv[i] };
        fp_limits_unset(&al.limits);
        emit(R, fp_allocation_to_json(&al));
    }
out:
    free(inv);
    free(why);
    free(act);
}

/* What the fp_read_records handlers of one input share: the run, and
 * with --revert the allocation records read so far. */
typedef struct reading {
    run *R;
    revert_item **items;
    int *n_items, *cap_items;
} reading;

/* --revert: keep an allocation record that changed something, to undo. */
static int rec_allocation(void *arg, json_t *rec, long line)
{
    reading *g = arg;
    run *R = g->R;
    R->line = line;
    if (*g->n_items == *g->cap_items) {
        int nc = *g->cap_items ? *g->cap_items * 2 : 16;
        revert_item *p = realloc(*g->items, (size_t)nc * sizeof *p);
        if (!p) { json_decref(rec); R->status = 2; return 1; }
        *g->items = p;
        *g->cap_items = nc;
    }
    revert_item *it = &(*g->items)[*g->n_items];
    memset(it, 0, sizeof *it);
    json_t *okv = json_object_get(rec, "ok"), *dry = json_object_get(rec, "dry_run");
    if (json_is_false(okv) || json_is_true(dry)) {
        json_decref(rec);          /* nothing was changed: nothing to undo */
        return 0;
    }
    fp_err err = {0};
    if (fp_plan_from_allocation(rec, &it->plan, &err) < 0 || fp_target_from_json(rec, &it->tg, &err) < 0) {
        fprintf(stderr, "fp-apply: %s:%ld: %s\n", R->input, R->line, err.msg);
        note_status(R, &err);
        json_decref(rec);
        return R->S->skip_bad ? 0 : 1;
    }
    it->t = json_number_value(json_object_get(rec, "t"));
    it->line = R->line;
    snprintf(it->input, sizeof it->input, "%s", R->input);
    (*g->n_items)++;
    json_decref(rec);
    return 0;
}

static int rec_prediction(void *arg, json_t *rec, long line)
{
    run *R = ((reading *)arg)->R;
    R->line = line;
    if (!R->S->no_pass) emit(R, json_incref(rec));
    else fp_summary_add(R->sum, rec);     /* not written, still summarised */
    on_prediction(R, rec);
    json_decref(rec);
    return 0;
}

static int rec_other(void *arg, json_t *rec, long line)
{
    run *R = ((reading *)arg)->R;
    R->line = line;
    emit(R, rec);                  /* pass through */
    return 0;
}

/* Stop when the records cannot be written. */
static int rec_after(void *arg)
{
    run *R = ((reading *)arg)->R;
    return R->status == 2 && ferror(R->out);
}

/* --watch, no record for a while: has the reader of ours gone? If not,
 * look at every target. */
static int rec_idle(void *arg)
{
    run *R = ((reading *)arg)->R;
    if (cli_fd_gone(cli_watch_fd(fileno(R->out)))) {
        fprintf(stderr, "fp-apply: standard output: %s\n", strerror(EPIPE));
        R->status = 2;
        return 1;
    }
    look(R);
    return 0;
}

/* Read one input to its end. Returns -1 when reading must stop (bad input
 * or a read error), else 0. */
static int read_input(run *R, const char *name, int fd, revert_item **items, int *n_items, int *cap_items)
{
    const settings *S = R->S;
    fp_reader *rd = fp_reader_new_fd(fd, name, S->skip_bad);
    if (!rd) {
        fprintf(stderr, "fp-apply: out of memory\n");
        R->status = 2;
        return -1;
    }
    R->input = strcmp(name, "-") == 0 ? "<stdin>" : name;
    static const fp_record_handler on_apply[] = {{"prediction", rec_prediction}, {NULL, rec_other}};
    static const fp_record_handler on_revert[] = {{"allocation", rec_allocation}, {NULL, rec_other}};
    fp_read_loop L = {.on = S->revert ? on_revert : on_apply, .after = rec_after};
    if (S->watch_s > 0 && !S->revert) {
        L.idle_ms = (int)(S->watch_s * 1000);
        L.idle = rec_idle;
    }
    reading rdg = {R, items, n_items, cap_items};
    fp_err err = {0};
    int rc = fp_read_records(rd, &L, &rdg, &err);
    if (rc < 0) {
        fprintf(stderr, "fp-apply: %s\n", err.msg);
        note_status(R, &err);
    }
    rc = rc ? -1 : 0;
    if (fp_reader_skipped(rd))
        fprintf(stderr, "fp-apply: %s: skipped %ld malformed line(s)\n", R->input,
                fp_reader_skipped(rd));
    fp_reader_free(rd);
    return rc;
}

/* Whether to show summaries: --summary, --no-summary, else when standard
 * error is a terminal and fp-apply puts limits in place (a --revert has
 * its allocation records and messages). */
static bool summary_wanted(const settings *S)
{
    if (S->revert) return S->summary > 0;
    return S->summary >= 0 ? S->summary > 0 : isatty(STDERR_FILENO) == 1;
}

/* Each workload's summary on standard error, in the order first seen. */
static void summary_show(run *R)
{
    for (int i = 0; i < fp_summary_count(R->sum); i++) {
        char *text = fp_summary_text(R->sum, fp_summary_id(R->sum, i), "fp-apply");
        if (text) fprintf(stderr, "%s%s", i ? "\n" : "", text);
        free(text);
    }
}

int main(int argc, char **argv)
{
    settings S;
    int a = parse_args(argc, argv, &S);
    if (a != 0) return a > 0 ? 0 : 2;
    if (S.dump_policy) {
        json_t *j = fp_policy_to_json(&S.policy);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        putchar('\n');
        json_decref(j);
        return fclose(stdout) == 0 ? 0 : 2;
    }
    run R = { .S = &S, .out = stdout, .input = "<stdin>" };
    fp_idtable_init(&R.tt, sizeof(target));   /* out of memory shows at the first record */
    fp_roots_default(&R.roots);
    fp_err err = {0};
    if (fp_capacity_read(&R.roots, &R.cap, &err) < 0) {
        fprintf(stderr, "fp-apply: %s\n", err.msg);
        return 2;
    }
    if (summary_wanted(&S) && !(R.sum = fp_summary_new())) fputs("fp-apply: out of memory: no summary\n", stderr);
    revert_item *items = NULL;
    int n_items = 0, cap_items = 0;
    if (S.n_inputs == 0) {
        read_input(&R, "-", 0, &items, &n_items, &cap_items);
    } else {
        for (int i = 0; i < S.n_inputs; i++) {
            const char *name = S.inputs[i];
            int fd = strcmp(name, "-") == 0 ? 0 : open(name, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                fprintf(stderr, "fp-apply: %s: %s\n", name, strerror(errno));
                R.status = 2;
                break;
            }
            int rc = read_input(&R, name, fd, &items, &n_items, &cap_items);
            if (fd != 0) close(fd);
            if (rc < 0) break;
        }
    }
    /* a revert undoes only what every input described: with a bad input,
     * nothing is reverted */
    if (S.revert) {
        if (R.status == 0 || S.skip_bad) revert_all(&R, items, n_items);
        else fprintf(stderr, "fp-apply: nothing reverted because of the errors above\n");
    }
    summary_show(&R);
    fp_summary_free(R.sum);
    free(items);
    fp_idtable_clear(&R.tt);
    for (int i = 0; i < BK_COUNT; i++) fp_act_free(R.act[i]);
    if (fclose(stdout) != 0) {
        fprintf(stderr, "fp-apply: write: %s\n", strerror(errno));
        return 2;
    }
    return R.status;
}
