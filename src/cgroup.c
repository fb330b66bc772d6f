/* cgroup.c - cgroup v1/v2/hybrid discovery, creation and counters. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "fp/cgroup.h"
#include "fp/proc.h"

static const char *const ctl_names[FP_CTL_COUNT] = {"cpu", "cpuacct", "memory", "blkio", "pids",
                                                     "perf_event", ""};

/* true when the comma-separated list opts contains word. */
static bool has_word(const char *opts, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = opts; p; p = strchr(p, ','), p = p ? p + 1 : p)
        if (strncmp(p, word, wl) == 0 && (p[wl] == ',' || p[wl] == 0 || p[wl] == '\n')) return true;
    return false;
}

/* Mount point with the real /sys/fs/cgroup prefix replaced by the root. */
static void rebase(const fp_roots *r, const char *mnt, char *out, size_t n)
{
    static const char real[] = "/sys/fs/cgroup";
    if (strncmp(mnt, real, sizeof real - 1) == 0 && (mnt[sizeof real - 1] == '/' || mnt[sizeof real - 1] == 0))
        fp_path(out, n, "%s%s", r->cgroup, mnt + sizeof real - 1);
    else
        fp_path(out, n, "%s", mnt);
}

int fp_cg_layout_read(const fp_roots *r, fp_cg_layout *l, fp_err *err)
{
    memset(l, 0, sizeof *l);
    char path[FP_PATH_MAX];
    fp_path(path, sizeof path, "%s/self/mountinfo", r->proc);
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "cannot read %s", path);
    char *line = NULL;
    size_t cap = 0;
    bool v1 = false;
    while (getline(&line, &cap, f) > 0) {
        char root[512], mnt[FP_PATH_MAX], fstype[64], super[1024];
        char *dash = strstr(line, " - ");
        if (!dash) continue;
        if (sscanf(line, "%*d %*d %*s %511s %4095s", root, mnt) != 2) continue;
        if (sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2) continue;
        if (strcmp(fstype, "cgroup2") == 0) {
            rebase(r, mnt, l->mnt[FP_CTL_UNIFIED], FP_PATH_MAX);
            snprintf(l->root[FP_CTL_UNIFIED], sizeof l->root[0], "%s", root);
        } else if (strcmp(fstype, "cgroup") == 0) {
            for (int c = 0; c < FP_CTL_UNIFIED; c++)
                if (has_word(super, ctl_names[c]) && !l->mnt[c][0]) {
                    rebase(r, mnt, l->mnt[c], FP_PATH_MAX);
                    snprintf(l->root[c], sizeof l->root[0], "%s", root);
                    v1 = true;
                }
        }
    }
    free(line);
    fclose(f);
    l->version = v1 ? (l->mnt[FP_CTL_UNIFIED][0] ? FP_CG_HYBRID : FP_CG_V1)
                    : (l->mnt[FP_CTL_UNIFIED][0] ? FP_CG_V2 : FP_CG_NONE);
    return 0;
}

/* dir = mount point + path, with the mount's own root stripped. */
static void join(const fp_cg_layout *l, int c, const char *path, char *out)
{
    const char *root = l->root[c];
    size_t rl = strlen(root);
    if (rl > 1 && strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == 0)) path += rl;
    if (strcmp(path, "/") == 0) path = "";
    fp_path(out, FP_PATH_MAX, "%s%s", l->mnt[c], path);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The path shown in records: memory's (v1) or the unified one. */
static void set_rel(fp_cgroup *cg, const char *paths[FP_CTL_COUNT])
{
    int order[] = {FP_CTL_MEMORY, FP_CTL_UNIFIED, FP_CTL_CPU, FP_CTL_CPUACCT, FP_CTL_PIDS, FP_CTL_BLKIO,
                   FP_CTL_PERF_EVENT};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (paths[order[i]]) {
            snprintf(cg->rel, sizeof cg->rel, "%s", paths[order[i]]);
            return;
        }
}

int fp_cgroup_of_pid(const fp_roots *r, const fp_cg_layout *l, int pid, fp_cgroup *cg, fp_err *err)
{
    memset(cg, 0, sizeof *cg);
    cg->version = l->version;
    char path[FP_PATH_MAX];
    if (pid > 0) fp_path(path, sizeof path, "%s/%d/cgroup", r->proc, pid);
    else fp_path(path, sizeof path, "%s/self/cgroup", r->proc);
    FILE *f = fopen(path, "re");
    if (!f) return fp_err_sys(err, "cannot read %s", path);
    char line[FP_PATH_MAX + 256];
    char (*pb)[FP_PATH_MAX] = calloc(FP_CTL_COUNT, FP_PATH_MAX);
    const char *paths[FP_CTL_COUNT] = {0};
    if (!pb) { fclose(f); return fp_err_set(err, FP_ESYS, "out of memory"); }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *ctls = c1 + 1, *p = c2 + 1;
        if (!*ctls) {
            if (l->mnt[FP_CTL_UNIFIED][0]) { snprintf(pb[FP_CTL_UNIFIED], FP_PATH_MAX, "%s", p); paths[FP_CTL_UNIFIED] = pb[FP_CTL_UNIFIED]; }
            continue;
        }
        for (int c = 0; c < FP_CTL_UNIFIED; c++)
            if (has_word(ctls, ctl_names[c]) && l->mnt[c][0]) {
                snprintf(pb[c], FP_PATH_MAX, "%s", p);
                paths[c] = pb[c];
            }
    }
    fclose(f);
    for (int c = 0; c < FP_CTL_COUNT; c++)
        if (paths[c]) {
            join(l, c, paths[c], cg->dir[c]);
            if (!is_dir(cg->dir[c])) cg->dir[c][0] = 0;
        }
    set_rel(cg, paths);
    free(pb);
    return 0;
}

static bool bad_rel(const char *rel)
{
    if (rel[0] != '/') return true;
    for (const char *p = rel; (p = strstr(p, "..")); p += 2)
        if ((p == rel || p[-1] == '/') && (p[2] == '/' || p[2] == 0)) return true;
    return false;
}

int fp_cgroup_open(const fp_cg_layout *l, const char *rel, fp_cgroup *cg, fp_err *err)
{
    memset(cg, 0, sizeof *cg);
    cg->version = l->version;
    if (bad_rel(rel))
        return fp_err_set(err, FP_EINPUT, "cgroup path %s: must be absolute and must not contain '..'", rel);
    int found = 0;
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!l->mnt[c][0]) continue;
        if (fp_path(cg->dir[c], FP_PATH_MAX, "%s%s", l->mnt[c], strcmp(rel, "/") ? rel : "") < 0 ||
            !is_dir(cg->dir[c])) {
            cg->dir[c][0] = 0;
            continue;
        }
        if (c != FP_CTL_UNIFIED || l->version == FP_CG_V2) found++;
    }
    if (!found)
        return fp_err_set(err, FP_EINPUT, "no cgroup %s in any controller hierarchy", rel);
    snprintf(cg->rel, sizeof cg->rel, "%s", rel);
    return 0;
}

static int write_str(const char *dir, const char *file, const char *s)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/%s", dir, file) < 0) return -1;
    FILE *f = fopen(path, "we");
    if (!f) return -1;
    int ok = fputs(s, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* Write s to dir/file with one write(); -1 with errno. */
static int write_once(const char *dir, const char *file, const char *s)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/%s", dir, file) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* O_CREAT | O_TRUNC as fopen "w" (cgroupfs ignores both; a fixture
     * tree of regular files then holds exactly what was written) */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t len = strlen(s);
    ssize_t w;
    do w = write(fd, s, len);
    while (w < 0 && errno == EINTR);
    int e = w < 0 ? errno : (size_t)w != len ? EIO : 0;
    if (close(fd) < 0 && !e) e = errno;
    errno = e;
    return e ? -1 : 0;
}

/* true when the blank-separated list holds word */
static bool has_token(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\n' || *p == '\t') p++;
        size_t len = strcspn(p, " \n\t");
        if (len == wl && !strncmp(p, word, wl)) return true;
        p += len;
    }
    return false;
}

/* v2: make sure the children of dir (a cgroup shown as rel) can have
 * controllers, before one is made there; see fp/cgroup.h. */
static int v2_prepare_parent(const fp_cg_layout *l, const char *dir, const char *rel, fp_err *err)
{
    char path[FP_PATH_MAX], type[64];
    bool root = false;
    if (fp_path(path, sizeof path, "%s/cgroup.type", dir) < 0)
        return fp_err_set(err, FP_EINPUT, "cgroup path too long: %s", dir);
    long n = fp_read_file(path, type, sizeof type);
    if (n < 0) {
        /* only the root of the hierarchy has no cgroup.type */
        root = errno == ENOENT && !strcmp(dir, l->mnt[FP_CTL_UNIFIED]);
        type[0] = 0;
    }
    type[strcspn(type, "\n")] = 0;
    if (type[0] && strcmp(type, "domain") != 0)
        return fp_err_set(err, FP_EINPUT,
                          "cannot create the workload's cgroup under %s: it is of type \"%s\", and "
                          "cgroup v2 gives memory and io only below a domain cgroup; nothing was "
                          "changed", rel, type);
    if (!root) {
        if (fp_path(path, sizeof path, "%s/cgroup.procs", dir) < 0)
            return fp_err_set(err, FP_EINPUT, "cgroup path too long: %s", dir);
        FILE *f = fopen(path, "re");
        if (!f) return fp_err_sys(err, "cannot read %s", path);
        int pid = 0, k = fscanf(f, "%d", &pid);
        fclose(f);
        if (k == 1)
            return fp_err_set(err, FP_EINPUT,
                              "cannot give the workload a cgroup of its own under %s: that cgroup "
                              "holds processes (pid %d among them), and cgroup v2 gives controllers "
                              "only to the children of a cgroup without processes; nothing was "
                              "changed. Give --cgroup-parent an empty cgroup delegated to you, or "
                              "start fp in a scope of its own (systemd-run --scope -p Delegate=yes)",
                              rel, pid);
    }
    char offered[512] = "", enabled[512] = "";
    if (fp_path(path, sizeof path, "%s/cgroup.controllers", dir) == 0 &&
        fp_read_file(path, offered, sizeof offered) < 0)
        offered[0] = 0;
    if (fp_path(path, sizeof path, "%s/cgroup.subtree_control", dir) == 0 &&
        fp_read_file(path, enabled, sizeof enabled) < 0)
        enabled[0] = 0;
    /* domain controllers first: the kernel takes the whole line or none */
    static const char *const want[] = {"memory", "io", "cpu", "pids"};
    char line[64] = "";
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (has_token(offered, want[i]) && !has_token(enabled, want[i])) {
            size_t len = strlen(line);
            snprintf(line + len, sizeof line - len, "%s+%s", len ? " " : "", want[i]);
        }
    if (line[0] && write_once(dir, "cgroup.subtree_control", line) < 0)
        return fp_err_sys(err, "cannot enable \"%s\" in %s/cgroup.subtree_control (for the "
                          "workload's cgroup below %s)", line, dir, rel);
    return 0;
}

int fp_cgroup_create(const fp_roots *r, const fp_cg_layout *l, const char *parent_rel,
                     const char *name, fp_cgroup *cg, fp_err *err)
{
    if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
        return fp_err_set(err, FP_EUSAGE, "bad cgroup name %s", name);
    fp_cgroup *own = malloc(sizeof *own);
    if (!own) return fp_err_set(err, FP_ESYS, "out of memory");
    if (parent_rel) {
        if (fp_cgroup_open(l, parent_rel, own, err) < 0) { free(own); return -1; }
    } else if (fp_cgroup_of_pid(r, l, 0, own, err) < 0) {
        free(own);
        return -1;
    }
    memset(cg, 0, sizeof *cg);
    cg->version = l->version;
    cg->created = true;
    int made = 0, lasterr = 0;
    char lastdir[FP_PATH_MAX] = "";
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!own->dir[c][0]) continue;
        char dir[FP_PATH_MAX];
        if (fp_path(dir, sizeof dir, "%s/%s", own->dir[c], name) < 0) continue;
        if (c == FP_CTL_UNIFIED && l->version == FP_CG_V2) {
            const char *rel = own->rel[0] ? own->rel : own->dir[c];
            if (v2_prepare_parent(l, own->dir[c], rel, err) < 0) {
                free(own);
                fp_cgroup_remove(cg, NULL);
                return -1;
            }
            if (mkdir(dir, 0755) < 0) {
                fp_err_sys(err, "cannot create cgroup %s", dir);
                free(own);
                fp_cgroup_remove(cg, NULL);
                return -1;
            }
            snprintf(cg->dir[c], FP_PATH_MAX, "%s", dir);
            snprintf(cg->parent_dir[c], FP_PATH_MAX, "%s", own->dir[c]);
            made++;
            continue;
        }
        /* cpu and cpuacct may share one mount: the second mkdir finds it. */
        bool shared = false;
        for (int d = 0; d < c; d++)
            if (!strcmp(cg->dir[d], dir)) shared = true;
        if (!shared && mkdir(dir, 0755) < 0) {
            lasterr = errno;
            snprintf(lastdir, sizeof lastdir, "%s", dir);
            continue;
        }
        snprintf(cg->dir[c], FP_PATH_MAX, "%s", dir);
        snprintf(cg->parent_dir[c], FP_PATH_MAX, "%s", own->dir[c]);
        if (c != FP_CTL_UNIFIED || l->version == FP_CG_V2) made++;
    }
    /* Path for records: the parent's path plus the name. */
    if (own->rel[0]) fp_path(cg->rel, sizeof cg->rel, "%s/%s", strcmp(own->rel, "/") ? own->rel : "", name);
    free(own);
    if (!made) {
        fp_cgroup_remove(cg, NULL);
        errno = lasterr ? lasterr : ENOENT;
        if (lastdir[0]) return fp_err_sys(err, "cannot create cgroup %s in any controller (%s)", name, lastdir);
        return fp_err_sys(err, "cannot create cgroup %s in any controller", name);
    }
    return 0;
}

/* Is name PREFIX-N with N the decimal pid of a process that is gone? */
static bool stale_name(const fp_roots *r, const char *name, const char *prefix)
{
    size_t pl = strlen(prefix);
    const char *n = name + pl;
    if (strncmp(name, prefix, pl) != 0 || !*n || strspn(n, "0123456789") != strlen(n) ||
        strlen(n) > 9 || n[0] == '0')
        return false;
    long pid = strtol(n, NULL, 10);
    if (pid == (long)getpid()) return false;
    char path[FP_PATH_MAX];
    struct stat st;
    if (fp_path(path, sizeof path, "%s/%ld", r->proc, pid) < 0) return false;
    return stat(path, &st) < 0 && errno == ENOENT;
}

int fp_cgroup_sweep(const fp_roots *r, const fp_cg_layout *l, const char *parent_rel,
                    const char *prefix, char *first, size_t nfirst, fp_err *err)
{
    if (first && nfirst) first[0] = 0;
    fp_cgroup *own = malloc(sizeof *own);
    if (!own) return fp_err_set(err, FP_ESYS, "out of memory");
    if ((parent_rel ? fp_cgroup_open(l, parent_rel, own, err)
                    : fp_cgroup_of_pid(r, l, 0, own, err)) < 0) {
        free(own);
        return -1;
    }
    enum { MAXN = 64 };
    char seen[MAXN][64];
    int nseen = 0;
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!own->dir[c][0]) continue;
        bool dup = false;
        for (int d = 0; d < c; d++)
            if (!strcmp(own->dir[d], own->dir[c])) dup = true;
        if (dup) continue;
        DIR *dir = opendir(own->dir[c]);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue;
            if (strlen(de->d_name) >= sizeof seen[0] || !stale_name(r, de->d_name, prefix)) continue;
            char cg[FP_PATH_MAX], procs[FP_PATH_MAX + 16], buf[64];
            if (fp_path(cg, sizeof cg, "%s/%s", own->dir[c], de->d_name) < 0 ||
                fp_path(procs, sizeof procs, "%s/cgroup.procs", cg) < 0)
                continue;
            long k = fp_read_file(procs, buf, sizeof buf);
            if (k < 0 || buf[strspn(buf, " \n")]) continue;     /* unreadable or not empty */
            if (rmdir(cg) < 0) continue;                        /* child cgroups, or raced */
            bool known = false;
            for (int i = 0; i < nseen; i++)
                if (!strcmp(seen[i], de->d_name)) known = true;
            if (known || nseen == MAXN) continue;
            snprintf(seen[nseen++], sizeof seen[0], "%s", de->d_name);
            if (nseen == 1 && first && nfirst)
                snprintf(first, nfirst, "%s/%s", strcmp(own->rel, "/") ? own->rel : "", de->d_name);
        }
        closedir(dir);
    }
    free(own);
    return nseen;
}

int fp_cgroup_attach(const fp_cgroup *cg, int pid, fp_err *err)
{
    char s[32];
    snprintf(s, sizeof s, "%d", pid);
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!cg->dir[c][0]) continue;
        bool dup = false;
        for (int d = 0; d < c; d++)
            if (!strcmp(cg->dir[d], cg->dir[c])) dup = true;
        if (!dup && write_once(cg->dir[c], "cgroup.procs", s) < 0) {
            if (errno == EOPNOTSUPP)
                return fp_err_sys(err, "cannot move pid %d into %s (the cgroup is not a usable "
                                  "domain: cgroup.type \"domain invalid\"?)", pid, cg->dir[c]);
            return fp_err_sys(err, "cannot move pid %d into %s", pid, cg->dir[c]);
        }
    }
    return 0;
}

static int read_pids(const char *dir, int *pids, int max)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/cgroup.procs", dir) < 0) return -1;
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    int n = 0, p;
    while (n < max && fscanf(f, "%d", &p) == 1) pids[n++] = p;
    fclose(f);
    return n;
}

static int walk_pids(const char *dir, int *pids, int max, int n, int depth);

int fp_cgroup_pids(const fp_cgroup *cg, int *pids, int max, fp_err *err)
{
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!cg->dir[c][0]) continue;
        int n = read_pids(cg->dir[c], pids, max);
        if (n == 0) n = walk_pids(cg->dir[c], pids, max, 0, 0);
        if (n >= 0) return n;
    }
    return fp_err_set(err, FP_ESYS, "cannot list the processes of cgroup %s", cg->rel);
}

/* Append the pids of dir's cgroup.procs and (depth permitting) of its
 * descendant cgroups to *v. -1 with errno when dir's own list cannot be
 * read; a descendant that vanished meanwhile is skipped. */
static int collect_pids(const char *dir, int **v, size_t *n, size_t *cap, int depth)
{
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/cgroup.procs", dir) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    int p;
    while (fscanf(f, "%d", &p) == 1) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            int *nv = realloc(*v, nc * sizeof *nv);
            if (!nv) { fclose(f); errno = ENOMEM; return -1; }
            *v = nv;
            *cap = nc;
        }
        (*v)[(*n)++] = p;
    }
    fclose(f);
    if (depth >= 32) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[FP_PATH_MAX];
        if (fp_path(sub, sizeof sub, "%s/%s", dir, e->d_name) < 0) continue;
        if (e->d_type != DT_DIR && !(e->d_type == DT_UNKNOWN && is_dir(sub))) continue;
        if (collect_pids(sub, v, n, cap, depth + 1) < 0 && errno == ENOMEM) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

/* 1 when q is pid or one of its descendants, 2 when q is gone, else 0. */
static int in_tree(const fp_roots *r, int q, int pid)
{
    if (q == pid) return 1;
    if (q <= 0) return 0;   /* a process outside our pid namespace */
    int cur = q;
    for (int i = 0; i < 65536; i++) {
        int pp = fp_proc_ppid(r, cur);
        if (pp < 0) return cur == q && (errno == ENOENT || errno == ESRCH) ? 2 : 0;
        if (pp == pid) return 1;
        if (pp <= 1) return 0;
        cur = pp;
    }
    return 0;
}

int fp_cgroup_sole_tree(const fp_roots *r, const fp_cgroup *cg, int ctl, int pid, int *other,
                        fp_err *err)
{
    if (ctl < 0 || ctl >= FP_CTL_COUNT || !cg->dir[ctl][0])
        return fp_err_set(err, FP_ESYS, "cgroup %s has no directory in that controller", cg->rel);
    int *v = NULL;
    size_t n = 0, cap = 0;
    if (collect_pids(cg->dir[ctl], &v, &n, &cap, 0) < 0) {
        free(v);
        return fp_err_sys(err, "cannot list the processes of %s", cg->dir[ctl]);
    }
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++)
        if (in_tree(r, v[i], pid) == 0) {
            if (other) *other = v[i];
            rc = 0;
        }
    free(v);
    return rc;
}

int fp_cgroup_remove(fp_cgroup *cg, fp_err *err)
{
    if (!cg->created) return 0;
    int rc = 0;
    for (int c = FP_CTL_COUNT - 1; c >= 0; c--) {
        if (!cg->dir[c][0]) continue;
        bool dup = false;
        for (int d = 0; d < c; d++)
            if (!strcmp(cg->dir[d], cg->dir[c])) dup = true;
        if (dup) continue;
        /* Leftover processes go back where fp-capture lives. Moving can race
         * with forks; a few rounds settle it. */
        for (int round = 0; round < 5; round++) {
            int pids[256];
            int n = read_pids(cg->dir[c], pids, 256);
            if (n <= 0) break;
            for (int i = 0; i < n; i++) {
                char s[32];
                snprintf(s, sizeof s, "%d", pids[i]);
                write_str(cg->parent_dir[c], "cgroup.procs", s);
            }
        }
        /* A cgroup whose last task just exited can be busy for a moment. */
        int tries = 0;
        while (rmdir(cg->dir[c]) < 0 && errno == EBUSY && tries++ < 50) usleep(2000);
        if (access(cg->dir[c], F_OK) == 0 && rc == 0)
            rc = fp_err_sys(err, "cannot remove cgroup %s", cg->dir[c]);
    }
    cg->created = false;
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

#define MAX_FILES 32

struct fp_cg_reader {
    fp_cgroup cg;
    fp_cg_totals slow;  /* the slow tier's fields at their last reading */
    bool have_slow;
    int nf;
    struct { const char *dir, *file; fp_slot slot; } f[MAX_FILES];
};

fp_cg_reader *fp_cg_reader_new(const fp_cgroup *cg)
{
    fp_cg_reader *rd = calloc(1, sizeof *rd);
    if (rd) rd->cg = *cg;
    return rd;
}

void fp_cg_reader_free(fp_cg_reader *rd)
{
    if (!rd) return;
    for (int i = 0; i < rd->nf; i++) fp_slot_close(&rd->f[i].slot);
    free(rd);
}

/* Read dir/file through the reader's slot for it. dir points into rd->cg
 * and file is a string literal, so the pair of pointers is the key. */
static bool slurp(fp_cg_reader *rd, const char *dir, const char *file, char *buf, size_t n)
{
    if (!dir[0]) return false;
    int i = 0;
    while (i < rd->nf && !(rd->f[i].dir == dir && rd->f[i].file == file)) i++;
    if (i == rd->nf) {
        if (rd->nf == MAX_FILES) return false;
        rd->f[i].dir = dir;
        rd->f[i].file = file;
        rd->f[i].slot = (fp_slot)FP_SLOT_INIT;
        rd->nf++;
    }
    char path[FP_PATH_MAX];
    if (fp_path(path, sizeof path, "%s/%s", dir, file) < 0) return false;
    return fp_slot_read(&rd->f[i].slot, path, buf, n) >= 0;
}

/* Value of "key value" (space separated) in a flat keyed file. */
static bool keyed(const char *buf, const char *key, double *out)
{
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            *out = strtod(p + kl + 1, NULL);
            return true;
        }
    return false;
}

static bool num(fp_cg_reader *rd, const char *dir, const char *file, double *out)
{
    char b[64];
    if (!slurp(rd, dir, file, b, sizeof b)) return false;
    char *end;
    double v = strtod(b, &end);
    if (end == b) return false;
    *out = v;
    return true;
}

/* PSI totals (microseconds in the file) as seconds: "some", and "full"
 * when full is not NULL, from one read. */
static bool psi(fp_cg_reader *rd, const char *dir, const char *file, double *some, double *full)
{
    char b[512];
    if (!slurp(rd, dir, file, b, sizeof b)) return false;
    const char *p = strstr(b, "some"), *q = strstr(b, "full");
    if (!p || !(p = strstr(p, "total="))) return false;
    *some = strtod(p + 6, NULL) / 1e6;
    if (full) {
        if (!q || !(q = strstr(q, "total="))) return false;
        *full = strtod(q + 6, NULL) / 1e6;
    }
    return true;
}

/* Sum Read and Write lines of a v1 blkio file ("MAJ:MIN Read N"). */
static bool blkio_rw(fp_cg_reader *rd, const char *dir, const char *file, double *rdb, double *wr)
{
    char b[16384];
    if (!slurp(rd, dir, file, b, sizeof b)) return false;
    *rdb = *wr = 0;
    for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
        char dev[64], op[32];
        double v;
        if (sscanf(line, "%63s %31s %lf", dev, op, &v) != 3) continue;
        if (!strcmp(op, "Read")) *rdb += v;
        else if (!strcmp(op, "Write")) *wr += v;
    }
    return true;
}

/* Sum rbytes/wbytes/rios/wios over devices of a v2 io.stat. */
static bool iostat_v2(fp_cg_reader *rd, const char *dir, fp_cg_totals *t)
{
    char b[16384];
    if (!slurp(rd, dir, "io.stat", b, sizeof b)) return false;
    t->io_rbytes = t->io_wbytes = t->io_rios = t->io_wios = 0;
    for (char *tok = strtok(b, " \n"); tok; tok = strtok(NULL, " \n")) {
        double v;
        if (sscanf(tok, "rbytes=%lf", &v) == 1) t->io_rbytes += v;
        else if (sscanf(tok, "wbytes=%lf", &v) == 1) t->io_wbytes += v;
        else if (sscanf(tok, "rios=%lf", &v) == 1) t->io_rios += v;
        else if (sscanf(tok, "wios=%lf", &v) == 1) t->io_wios += v;
    }
    return true;
}

static void read_v1(fp_cg_reader *rd, fp_cg_totals *t)
{
    char b[8192];
    double v, u, s;
    const fp_cgroup *cg = &rd->cg;
    const char *cpuacct = cg->dir[FP_CTL_CPUACCT], *cpu = cg->dir[FP_CTL_CPU];
    const char *mem = cg->dir[FP_CTL_MEMORY];
    if (num(rd, cpuacct, "cpuacct.usage", &v)) { t->cpu_s = v / 1e9; t->why[FP_CGF_CPU] = NULL; }
    else t->why[FP_CGF_CPU] = cpuacct[0] ? "cannot read cpuacct.usage" : "no cpuacct controller";
    if (slurp(rd, cpuacct, "cpuacct.stat", b, sizeof b) && keyed(b, "user", &u) && keyed(b, "system", &s)) {
        long hz = sysconf(_SC_CLK_TCK);
        t->cpu_user_s = u / (double)hz;
        t->cpu_sys_s = s / (double)hz;
        t->why[FP_CGF_CPU_USER] = NULL;
    } else t->why[FP_CGF_CPU_USER] = "cannot read cpuacct.stat";
    if (slurp(rd, cpu, "cpu.stat", b, sizeof b) && keyed(b, "throttled_time", &v)) {
        t->throttled_s = v / 1e9;
        t->why[FP_CGF_THROTTLED] = NULL;
    } else t->why[FP_CGF_THROTTLED] = cpu[0] ? "cannot read cpu.stat" : "no cpu controller";
    const char *nomem = mem[0] ? "cannot read the memory controller" : "no memory controller";
    if (num(rd, mem, "memory.usage_in_bytes", &v)) { t->mem_bytes = v; t->why[FP_CGF_MEM] = NULL; }
    else t->why[FP_CGF_MEM] = nomem;
    if (num(rd, mem, "memory.max_usage_in_bytes", &v)) { t->mem_peak_bytes = v; t->why[FP_CGF_MEM_PEAK] = NULL; }
    else t->why[FP_CGF_MEM_PEAK] = nomem;
    if (slurp(rd, mem, "memory.oom_control", b, sizeof b) && keyed(b, "oom_kill", &v)) {
        t->oom_kills = v;
        t->why[FP_CGF_OOM] = NULL;
    } else t->why[FP_CGF_OOM] = mem[0] ? "no oom_kill count in memory.oom_control" : "no memory controller";
}

/* The slow tier of v1: memory.stat and the blkio statistics. */
static void read_v1_slow(fp_cg_reader *rd, fp_cg_totals *t)
{
    char b[8192];
    double v;
    const fp_cgroup *cg = &rd->cg;
    const char *mem = cg->dir[FP_CTL_MEMORY], *blk = cg->dir[FP_CTL_BLKIO];
    const char *nomem = mem[0] ? "cannot read the memory controller" : "no memory controller";
    t->why[FP_CGF_ANON] = t->why[FP_CGF_FILE] = nomem;
    if (slurp(rd, mem, "memory.stat", b, sizeof b)) {
        if (keyed(b, "total_rss", &v) || keyed(b, "rss", &v)) { t->anon_bytes = v; t->why[FP_CGF_ANON] = NULL; }
        if (keyed(b, "total_cache", &v) || keyed(b, "cache", &v)) { t->file_bytes = v; t->why[FP_CGF_FILE] = NULL; }
    }
    double rb, wr, ro, wo;
    if ((blkio_rw(rd, blk, "blkio.throttle.io_service_bytes", &rb, &wr) &&
         blkio_rw(rd, blk, "blkio.throttle.io_serviced", &ro, &wo)) ||
        (blkio_rw(rd, blk, "blkio.io_service_bytes", &rb, &wr) &&
         blkio_rw(rd, blk, "blkio.io_serviced", &ro, &wo))) {
        t->io_rbytes = rb; t->io_wbytes = wr; t->io_rios = ro; t->io_wios = wo;
        t->why[FP_CGF_IO] = NULL;
    } else t->why[FP_CGF_IO] = blk[0] ? "cannot read blkio statistics" : "no blkio controller";
}

static void read_v2(fp_cg_reader *rd, fp_cg_totals *t)
{
    char b[8192];
    double v, u, s;
    const char *d = rd->cg.dir[FP_CTL_UNIFIED];
    if (slurp(rd, d, "cpu.stat", b, sizeof b) && keyed(b, "usage_usec", &v)) {
        t->cpu_s = v / 1e6;
        t->why[FP_CGF_CPU] = NULL;
        if (keyed(b, "user_usec", &u) && keyed(b, "system_usec", &s)) {
            t->cpu_user_s = u / 1e6;
            t->cpu_sys_s = s / 1e6;
            t->why[FP_CGF_CPU_USER] = NULL;
        }
        if (keyed(b, "throttled_usec", &v)) { t->throttled_s = v / 1e6; t->why[FP_CGF_THROTTLED] = NULL; }
        else t->why[FP_CGF_THROTTLED] = "cpu controller not enabled for this cgroup";
    }
    const char *nomem = "memory controller not enabled for this cgroup";
    if (num(rd, d, "memory.current", &v)) { t->mem_bytes = v; t->why[FP_CGF_MEM] = NULL; }
    else t->why[FP_CGF_MEM] = nomem;
    if (num(rd, d, "memory.peak", &v)) { t->mem_peak_bytes = v; t->why[FP_CGF_MEM_PEAK] = NULL; }
    else t->why[FP_CGF_MEM_PEAK] = t->why[FP_CGF_MEM] ? nomem : "no memory.peak (kernel older than 5.19)";
    if (slurp(rd, d, "memory.events", b, sizeof b) && keyed(b, "oom_kill", &v)) {
        t->oom_kills = v;
        t->why[FP_CGF_OOM] = NULL;
    } else t->why[FP_CGF_OOM] = nomem;
}

/* The slow tier of v2: memory.stat and io.stat. */
static void read_v2_slow(fp_cg_reader *rd, fp_cg_totals *t)
{
    char b[8192];
    double v;
    const char *d = rd->cg.dir[FP_CTL_UNIFIED];
    const char *nomem = "memory controller not enabled for this cgroup";
    t->why[FP_CGF_ANON] = t->why[FP_CGF_FILE] = nomem;
    if (slurp(rd, d, "memory.stat", b, sizeof b)) {
        if (keyed(b, "anon", &v)) { t->anon_bytes = v; t->why[FP_CGF_ANON] = NULL; }
        if (keyed(b, "file", &v)) { t->file_bytes = v; t->why[FP_CGF_FILE] = NULL; }
    }
    if (iostat_v2(rd, d, t)) t->why[FP_CGF_IO] = NULL;
    else t->why[FP_CGF_IO] = "io controller not enabled for this cgroup";
}

/* The slow tier's fields into t, as last read. */
static void copy_slow(const fp_cg_reader *rd, fp_cg_totals *t)
{
    t->anon_bytes = rd->slow.anon_bytes;
    t->file_bytes = rd->slow.file_bytes;
    t->io_rbytes = rd->slow.io_rbytes;
    t->io_wbytes = rd->slow.io_wbytes;
    t->io_rios = rd->slow.io_rios;
    t->io_wios = rd->slow.io_wios;
    t->why[FP_CGF_ANON] = rd->slow.why[FP_CGF_ANON];
    t->why[FP_CGF_FILE] = rd->slow.why[FP_CGF_FILE];
    t->why[FP_CGF_IO] = rd->slow.why[FP_CGF_IO];
}

void fp_cg_reader_read_slow(fp_cg_reader *rd, fp_cg_totals *t)
{
    if (rd->cg.version == FP_CG_V2) read_v2_slow(rd, &rd->slow);
    else read_v1_slow(rd, &rd->slow);
    rd->have_slow = true;
    copy_slow(rd, t);
}

void fp_cg_reader_read(fp_cg_reader *rd, fp_cg_totals *t)
{
    fp_cg_reader_read_tiered(rd, t, true);
}

void fp_cg_reader_read_tiered(fp_cg_reader *rd, fp_cg_totals *t, bool slow)
{
    const fp_cgroup *cg = &rd->cg;
    memset(t, 0, sizeof *t);
    for (int i = 0; i < FP_CGF_COUNT; i++) t->why[i] = "not read";
    if (!rd->have_slow) slow = true;
    if (cg->version == FP_CG_V2) {
        t->why[FP_CGF_CPU] = t->why[FP_CGF_CPU_USER] = t->why[FP_CGF_THROTTLED] = "cannot read cpu.stat";
        read_v2(rd, t);
        if (slow) read_v2_slow(rd, &rd->slow);
    } else {
        read_v1(rd, t);
        if (slow) read_v1_slow(rd, &rd->slow);
    }
    rd->have_slow = true;
    copy_slow(rd, t);
    const char *pd = cg->version == FP_CG_V2 ? cg->dir[FP_CTL_UNIFIED] : cg->dir[FP_CTL_PIDS];
    double v;
    if (num(rd, pd, "pids.current", &v)) { t->pids = v; t->why[FP_CGF_PIDS] = NULL; }
    else t->why[FP_CGF_PIDS] = pd[0] ? "pids controller not enabled for this cgroup" : "no pids controller";
    const char *u = cg->dir[FP_CTL_UNIFIED];
    const char *nopsi = u[0] ? "no pressure files (kernel without PSI)" : "no cgroup2 hierarchy: cgroup v1 has no per-cgroup pressure";
    t->why[FP_CGF_PSI_CPU] = psi(rd, u, "cpu.pressure", &t->psi_cpu_some_s, NULL) ? NULL : nopsi;
    t->why[FP_CGF_PSI_MEM] = psi(rd, u, "memory.pressure", &t->psi_mem_some_s, &t->psi_mem_full_s) ? NULL : nopsi;
    t->why[FP_CGF_PSI_IO] = psi(rd, u, "io.pressure", &t->psi_io_some_s, &t->psi_io_full_s) ? NULL : nopsi;
}

/* Pids of the cgroup's descendants: a slice whose processes all live in
 * child cgroups (systemd's layout) still has a process list. */
static int walk_pids(const char *dir, int *pids, int max, int n, int depth)
{
    DIR *d = opendir(dir);
    if (!d) return n;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
        char sub[FP_PATH_MAX];
        if (fp_path(sub, sizeof sub, "%s/%s", dir, e->d_name) < 0) continue;
        int k = read_pids(sub, pids + n, max - n);
        if (k > 0) n += k;
        if (depth < 8) n = walk_pids(sub, pids, max, n, depth + 1);
    }
    closedir(d);
    return n;
}

int fp_cg_reader_pids(fp_cg_reader *rd, int *pids, int max)
{
    const fp_cgroup *cg = &rd->cg;
    for (int c = 0; c < FP_CTL_COUNT; c++) {
        if (!cg->dir[c][0]) continue;
        /* Opened afresh each time (not through a slot): cgroup v1 keeps a
         * pid list per open file and serves it again to a reader that
         * rewinds. */
        int n = read_pids(cg->dir[c], pids, max);
        if (n < 0) continue;
        if (n == 0) n = walk_pids(cg->dir[c], pids, max, 0, 0);
        return n;
    }
    return -1;
}

void fp_cgroup_read(const fp_cgroup *cg, fp_cg_totals *t)
{
    fp_cg_reader *rd = fp_cg_reader_new(cg);
    if (!rd) {
        memset(t, 0, sizeof *t);
        for (int i = 0; i < FP_CGF_COUNT; i++) t->why[i] = "out of memory";
        return;
    }
    fp_cg_reader_read(rd, t);
    fp_cg_reader_free(rd);
}

/* ---- delegated subtrees --------------------------------------------------- */

int fp_cgroup_enter_leaf(const fp_cg_layout *l, const char *rel, const char *leaf, fp_err *err)
{
    if (l->version != FP_CG_V2)
        return fp_err_set(err, FP_EUSAGE, "a leaf of one's own in %s needs cgroup v2", rel);
    if (bad_rel(rel) || !leaf[0] || strchr(leaf, '/') || !strcmp(leaf, "..") || !strcmp(leaf, "."))
        return fp_err_set(err, FP_EUSAGE, "bad cgroup %s or leaf name %s", rel, leaf);
    char dir[FP_PATH_MAX], ldir[FP_PATH_MAX], path[FP_PATH_MAX];
    if (fp_path(dir, sizeof dir, "%s%s", l->mnt[FP_CTL_UNIFIED], strcmp(rel, "/") ? rel : "") < 0 ||
        fp_path(ldir, sizeof ldir, "%s/%s", dir, leaf) < 0)
        return fp_err_set(err, FP_EUSAGE, "cgroup path too long: %s", rel);
    if (mkdir(ldir, 0755) < 0 && errno != EEXIST) return fp_err_sys(err, "cannot create cgroup %s", ldir);
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    if (write_once(ldir, "cgroup.procs", self) < 0)
        return fp_err_sys(err, "cannot move fp (pid %s) into %s/cgroup.procs", self, ldir);
    char offered[512] = "", enabled[512] = "";
    if (fp_path(path, sizeof path, "%s/cgroup.controllers", dir) < 0 ||
        fp_read_file(path, offered, sizeof offered) < 0)
        return fp_err_sys(err, "cannot read %s", path);
    if (fp_path(path, sizeof path, "%s/cgroup.subtree_control", dir) < 0 ||
        fp_read_file(path, enabled, sizeof enabled) < 0)
        return fp_err_sys(err, "cannot read %s", path);
    static const char *const want[] = {"memory", "io", "cpu", "pids"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!has_token(offered, want[i]) || has_token(enabled, want[i])) continue;
        char line[16];
        snprintf(line, sizeof line, "+%s", want[i]);
        if (write_once(dir, "cgroup.subtree_control", line) < 0)
            return fp_err_sys(err, "cannot enable \"%s\" in %s/cgroup.subtree_control", line, dir);
    }
    return 0;
}

bool fp_cgroup_delegated(const fp_cg_layout *l, const char *rel)
{
    char dir[FP_PATH_MAX], v[8];
    if (l->version != FP_CG_V2 || bad_rel(rel) ||
        fp_path(dir, sizeof dir, "%s%s", l->mnt[FP_CTL_UNIFIED], strcmp(rel, "/") ? rel : "") < 0)
        return false;
    static const char *const names[] = {"trusted.delegate", "user.delegate"};
    for (size_t i = 0; i < 2; i++) {
        ssize_t k = getxattr(dir, names[i], v, sizeof v - 1);
        if (k > 0) {
            v[k] = 0;
            if (v[0] == '1') return true;
        }
    }
    return false;
}
