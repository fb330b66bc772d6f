/* test-model-io.c - model files: save -> load -> predict bit for bit for
 * every kind, atomic writes, strict loading, feature checks. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fp/model.h"
#include "fp/features.h"
#include "tap.h"
#include "model-util.h"

static const char *const names3[] = {"f_a", "f_b", "f_c"};
static char dir[256];

/* 200 rows, 3 features (one sometimes missing), cpu and mem targets. */
static fp_example ex[200];
static double xs[200][3];
static char gs[200][8];

static void data(void)
{
    trng r = {3};
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 3; j++) xs[i][j] = trng_unif(&r, 0, 100);
        if (i % 7 == 0) xs[i][2] = NAN;
        snprintf(gs[i], sizeof gs[i], "g%d", i / 4);
        memset(&ex[i], 0, sizeof ex[i]);
        ex[i].x = xs[i];
        ex[i].group = gs[i];
        ex[i].ts = 1.7e9 + 60.0 * i;
        for (int k = 0; k < FP_RES_COUNT; k++) ex[i].y[k] = NAN;
        ex[i].y[FP_RES_CPU] = 0.01 * xs[i][0] + trng_unif(&r, 0, 0.5);
        ex[i].y[FP_RES_MEM] = 1e6 * xs[i][1] + 1e8 + trng_unif(&r, 0, 1e7);
    }
}

static fp_model *trained(const char *kind)
{
    fp_model_opts o;
    fp_model_opts_default(&o);
    o.dim = 3;
    o.names = names3;
    fp_err err = {0};
    bool history = strcmp(kind, "vpa") == 0 || strcmp(kind, "autopilot") == 0;
    fp_model *m = fp_model_new(kind, history ? NULL : &o, &err);
    if (!m) { printf("# %s\n", err.msg); return NULL; }
    fp_train_opts t;
    fp_train_opts_default(&t);
    t.epochs = 30;
    if (fp_model_train(m, ex, 200, &t, NULL, &err) < 0) printf("# %s\n", err.msg);
    return m;
}

/* Predictions (or recommendations) on a few queries into out[]. */
static void answers(fp_model *m, fp_quantiles out[5][FP_RES_COUNT], fp_explain exo[5])
{
    fp_err err = {0};
    memset(out, 0, 5 * FP_RES_COUNT * sizeof out[0][0]);
    memset(exo, 0, 5 * sizeof exo[0]);
    for (int i = 0; i < 5; i++) {
        if (fp_model_is_history(m)) fp_model_recommend(m, gs[i * 40], 1.7e9 + 20000, out[i], &err);
        else fp_model_predict(m, xs[i * 37 + 1], out[i], &exo[i], &err);
    }
}

static int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static void spit(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    fputs(s, f);
    fclose(f);
}

/* Load path, expect FP_EINPUT naming the file. */
static void bad(const char *path, const char *what)
{
    fp_err err = {0};
    fp_model *m = fp_model_load(path, &err);
    ok(!m && err.cls == FP_EINPUT && strstr(err.msg, path), "%s: refused with the file named (%s)", what, err.msg);
    fp_model_free(m);
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at) return strdup(s);
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *r = malloc(n + 1);
    memcpy(r, s, (size_t)(at - s));
    strcpy(r + (at - s), to);
    strcat(r, at + strlen(from));
    return r;
}

int main(void)
{
    fp_err err = {0};
    snprintf(dir, sizeof dir, "/tmp/fp-model-io.%d", (int)getpid());
    mkdir(dir, 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/m.json", dir);
    data();

    const char *kinds[] = {"linear", "knn", "vpa", "autopilot"};
    for (int k = 0; k < 4; k++) {
        fp_model *m = trained(kinds[k]);
        json_t *prov = json_pack("{s:s, s:i}", "command", "test", "seed", 1);
        fp_model_set_provenance(m, prov, &err);
        json_decref(prov);
        static fp_quantiles a[5][FP_RES_COUNT], b[5][FP_RES_COUNT];
        fp_explain ea[5], eb[5];
        answers(m, a, ea);
        fp_err_clear(&err);
        ok(fp_model_save(m, path, &err) == 0, "%s: save (%s)", kinds[k], err.msg);
        is_int(count_files(), 1, "%s: no temporary file left", kinds[k]);
        fp_model *l = fp_model_load(path, &err);
        ok(l != NULL, "%s: load (%s)", kinds[k], l ? "" : err.msg);
        if (!l) { fp_model_free(m); continue; }
        is_str(fp_model_kind(l), kinds[k], "%s: kind kept", kinds[k]);
        answers(l, b, eb);
        ok(memcmp(a, b, sizeof a) == 0, "%s: predictions bit for bit after load", kinds[k]);
        ok(memcmp(ea, eb, sizeof ea) == 0, "%s: explanations identical", kinds[k]);
        ok(a[0][FP_RES_CPU].n == 3, "%s: and they are predictions (cpu p90 %g)", kinds[k], a[0][FP_RES_CPU].value[1]);
        const json_t *p = fp_model_provenance(l);
        ok(p && json_integer_value(json_object_get(p, "seed")) == 1, "%s: provenance kept", kinds[k]);
        /* continuing (online) gives the same model from either copy */
        fp_model_update(m, &ex[5], &err);
        fp_model_update(l, &ex[5], &err);
        fp_model_update(m, &ex[77], &err);
        fp_model_update(l, &ex[77], &err);
        answers(m, a, ea);
        answers(l, b, eb);
        ok(memcmp(a, b, sizeof a) == 0, "%s: updates after load stay bit for bit", kinds[k]);
        /* a second save replaces the file and is loadable */
        char p2[600];
        snprintf(p2, sizeof p2, "%s/again.json", dir);
        fp_model_save(l, p2, &err);
        fp_model *l2 = fp_model_load(p2, &err);
        answers(l2, a, ea);
        ok(memcmp(a, b, sizeof a) == 0, "%s: save of a loaded model round-trips", kinds[k]);
        unlink(p2);
        fp_model_free(l2);
        fp_model_free(l);
        fp_model_free(m);
    }

    /* fp_model_describe: the id and target the tools print. */
    {
        fp_model *m = trained("linear");
        char id[128], stat[8];
        double h = -1;
        fp_model_describe(m, "/x/y/my-model.json", id, sizeof id, &h, stat);
        is_str(id, "linear:my-model", "describe: no name: the file's base name without .json");
        ok(h == 0 && strcmp(stat, "peak") == 0, "describe: default target: peak over the life (%g, %s)", h, stat);
        fp_model_describe(m, NULL, id, sizeof id, NULL, NULL);
        is_str(id, "linear", "describe: no name, no path: the kind");
        json_t *prov = json_pack("{s:s, s:s, s:f}", "name", "nightly", "target", "horizon_peak", "horizon_s", 600.0);
        fp_model_set_provenance(m, prov, &err);
        json_decref(prov);
        fp_model_describe(m, "/x/y/my-model.json", id, sizeof id, &h, stat);
        is_str(id, "linear:nightly", "describe: the provenance's name first");
        ok(h == 600 && strcmp(stat, "peak") == 0, "describe: a horizon_peak model's horizon (%g)", h);
        prov = json_pack("{s:s}", "target", "p95");
        fp_model_set_provenance(m, prov, &err);
        json_decref(prov);
        fp_model_describe(m, "m.json", id, sizeof id, &h, stat);
        ok(h == 0 && strcmp(stat, "p95") == 0 && strcmp(id, "linear:m") == 0, "describe: a p95 model (%s, %s)", id, stat);
        fp_model_free(m);
    }

    /* A failed write leaves the old file intact and no temporary file. */
    {
        fp_model *m = trained("linear");
        fp_model_save(m, path, &err);
        char *old = slurp(path);
        fp_model *m2 = trained("knn");       /* a bigger file */
        if (geteuid() != 0) {
            chmod(dir, 0555);
            fp_err e2 = {0};
            ok(fp_model_save(m2, path, &e2) < 0 && e2.cls == FP_ESYS, "unwritable directory: save fails (%s)", e2.msg);
            chmod(dir, 0755);
        } else {
            /* root ignores permissions: try as nobody, in a child */
            chmod(dir, 0555);
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                fp_err e2 = {0};
                if (setgid(65534) < 0 || setuid(65534) < 0) _exit(3);
                _exit(fp_model_save(m2, path, &e2) < 0 && e2.cls == FP_ESYS ? 0 : 1);
            }
            int st = -1;
            waitpid(pid, &st, 0);
            chmod(dir, 0755);
            ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "unwritable directory (as nobody): save fails with FP_ESYS (child status %d)", st);
        }
        /* the write itself fails: file size limit below the model's size */
        struct rlimit old_lim, lim;
        getrlimit(RLIMIT_FSIZE, &old_lim);
        lim = old_lim;
        lim.rlim_cur = 4096;
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        fp_err e3 = {0};
        int rc = fp_model_save(m2, path, &e3);
        setrlimit(RLIMIT_FSIZE, &old_lim);
        ok(rc < 0 && e3.cls == FP_ESYS, "write past the size limit fails (%s)", e3.msg);
        char *now = slurp(path);
        ok(old && now && strcmp(old, now) == 0, "the old file is intact");
        is_int(count_files(), 1, "and no temporary file is left");
        free(old);
        free(now);
        fp_model_free(m);
        fp_model_free(m2);
    }

    /* Strict loading. */
    {
        fp_model *m = trained("linear");
        fp_model_save(m, path, &err);
        fp_model_free(m);
        char *good = slurp(path);
        char bp[600];
        snprintf(bp, sizeof bp, "%s/bad.json", dir);
        spit(bp, "{not json");
        bad(bp, "not JSON");
        spit(bp, "{\"kind\": \"linear\"}");
        bad(bp, "no format");
        char *s = replace(good, "\"version\": 1", "\"version\": 2");
        spit(bp, s);
        free(s);
        bad(bp, "version 2");
        fp_model *l = fp_model_load(bp, &err);
        ok(!l && strstr(err.msg, "version 2"), "version named in the message");
        s = replace(good, "\"kind\": \"linear\"", "\"kind\": \"forest\"");
        spit(bp, s);
        free(s);
        bad(bp, "unknown kind");
        s = replace(good, "\"theta\": [", "\"theta\": [1.5, ");
        spit(bp, s);
        free(s);
        bad(bp, "theta one too long");
        s = replace(good, "\"median\": [", "\"median\": [\"x\", ");
        spit(bp, s);
        free(s);
        bad(bp, "a median too many");
        s = replace(good, "\"kind\": \"linear\"", "\"kind\": \"knn\"");
        spit(bp, s);
        free(s);
        bad(bp, "linear parameters under kind knn");
        fp_err e2 = {0};
        snprintf(bp, sizeof bp, "%s/absent.json", dir);
        ok(!fp_model_load(bp, &e2) && e2.cls == FP_ESYS && strstr(e2.msg, bp), "absent file: FP_ESYS (%s)", e2.msg);
        snprintf(bp, sizeof bp, "%s/bad.json", dir);
        unlink(bp);
        free(good);
    }

    /* Features a model needs. */
    {
        fp_model *m = trained("linear");
        const char *fpn[] = {"f_c", "other", "f_a", "f_b"};
        int map[3];
        ok(fp_model_check_features(m, fpn, 4, map, &err) == 0, "all features present, any order");
        ok(map[0] == 2 && map[1] == 3 && map[2] == 0, "map to the fingerprint's order");
        const char *lack[] = {"f_a", "f_c"};
        fp_err e2 = {0};
        ok(fp_model_check_features(m, lack, 2, NULL, &e2) < 0 && e2.cls == FP_EINPUT &&
           strcmp(e2.msg, "model needs feature f_b, which the fingerprint lacks") == 0,
           "missing feature refused: %s", e2.msg);
        fp_err_clear(&e2);
        ok(fp_model_check_features(m, lack, 0, NULL, &e2) < 0 && strstr(e2.msg, "and 2 more"), "several missing: %s", e2.msg);
        fp_model_free(m);

        fp_model *d = fp_model_new("knn", NULL, &err);
        ok(d && fp_model_dim(d) == FP_FEATURE_COUNT, "default model: the standard %d features", FP_FEATURE_COUNT);
        const char *std[FP_FEATURE_COUNT];
        static char buf[FP_FEATURE_COUNT][64];
        for (int i = 0; i < FP_FEATURE_COUNT; i++) std[i] = fp_feature_name(i, buf[i], sizeof buf[i]);
        ok(fp_model_check_features(d, std, FP_FEATURE_COUNT, NULL, &err) == 0, "a standard fingerprint satisfies it");
        is_str(fp_model_feature_name(d, 0), std[0], "first feature name");
        fp_model_free(d);
    }
    rmdir(dir);
    /* fp_splitmix64: the reference splitmix64 sequence from seed 0 */
    uint64_t sm = 0;
    uint64_t s1 = fp_splitmix64(&sm), s2 = fp_splitmix64(&sm);
    ok(s1 == 0xE220A8397B1DCDAFULL && s2 == 0x6E789E6AA1B965F4ULL,
       "fp_splitmix64 from 0: %016llx %016llx", (unsigned long long)s1, (unsigned long long)s2);
    return done_testing();
}
