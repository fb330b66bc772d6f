/* docker.c - the Docker Engine API over its unix socket (libcurl + jansson).
 *
 * Requests use unversioned paths ("http://localhost/containers/ID/json"):
 * the engine then answers with its own current API version, which works
 * from Docker 20.10 (API 1.41) up to engines whose minimum API version is
 * above 1.41. Only fields that are stable across those versions are read.
 *
 * An fp_docker holds one easy handle for requests (inspect) and, while a
 * watch is open, a second easy handle driven by a multi handle for the
 * endless /events stream, so the caller can inspect containers between
 * polls of the watch. fp_docker_request shares the request handle.
 *
 * libcurl is not linked into libfp: its ~30 dependencies (TLS, Kerberos,
 * LDAP, ssh...) would cost every program using libfp ~9 ms of CPU at
 * start-up in the dynamic loader, although only the Docker client needs it.
 * fp_docker_new dlopen()s it instead and keeps the functions it needs in a
 * table inside the fp_docker (libfp has no global state); fp_docker_free
 * dlclose()s it. <curl/curl.h> still provides the types and constants.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "fp/docker.h"

#define INSPECT_MAX (8u << 20)      /* largest inspect answer we accept */
#define EVENT_LINE_MAX (1u << 20)   /* longest event line we buffer */
#define CONNECT_TIMEOUT_MS 10000L
#define REQUEST_TIMEOUT_MS 30000L
#define ID_SIZE 80
#define REQUEST_PATH_MAX 2048     /* longest path (with query) of a request */

/* The libcurl functions docker.c calls, resolved from a dlopen()ed libcurl.
 * Members drop the "curl_" prefix: curl.h defines curl_easy_setopt and
 * curl_easy_getinfo as type-checking macros under GCC. */
typedef struct curl_api {
    void *lib;                      /* dlopen handle; NULL when not loaded */
    bool inited;                    /* global_init succeeded */
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *h);
    void (*easy_reset)(CURL *h);
    char *(*easy_escape)(CURL *h, const char *s, int len);
    const char *(*easy_strerror)(CURLcode rc);
    void (*free_)(void *p);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *m);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd *fds, unsigned int nfds,
                            int timeout_ms, int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    const char *(*multi_strerror)(CURLMcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} curl_api;

typedef struct buf {
    char *p;
    size_t len, cap, max;
    bool overflow;
} buf;

struct fp_docker {
    curl_api c;                     /* libcurl, loaded by fp_docker_new */
    char sock[FP_PATH_MAX];
    CURL *h;                        /* requests */
    char herr[CURL_ERROR_SIZE];
    /* the event watch; w == NULL when no watch is open */
    CURLM *m;
    CURL *w;
    char werr[CURL_ERROR_SIZE];
    buf wbuf;                       /* bytes of the stream not yet parsed */
    bool wdone;                     /* the transfer finished (stream ended) */
    CURLcode wresult;
    char (*pend)[ID_SIZE];          /* ids parsed but not yet returned */
    int npend, cappend;
};

/* Append n bytes to b, keeping it NUL-terminated. Returns false (and sets
 * b->overflow) when b would grow beyond b->max or memory runs out. */
static bool buf_add(buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->max) { b->overflow = true; return false; }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) { b->overflow = true; return false; }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* libcurl write callback: collect the body into the buf in ud. Returning
 * less than asked makes libcurl fail the transfer with CURLE_WRITE_ERROR. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    return buf_add(ud, p, n) ? n : 0;
}

/* Apply the options every request to the engine needs: the unix socket,
 * plain http only, no signals (libfp must not touch process-wide signal
 * state; libcurl sends with MSG_NOSIGNAL on Linux), an error buffer and a
 * body sink. */
static int setup_handle(fp_docker *d, CURL *h, char *errbuf, buf *sink)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = d->c.easy_setopt(h, opt, val); } while (0)
    SET(CURLOPT_UNIX_SOCKET_PATH, d->sock);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http");
#else
    SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)sink);
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

/* Load libcurl into c: the SONAME of libcurl4, then Debian's GnuTLS
 * flavour, then the development symlink; resolve every function docker.c
 * uses. Returns 0, or -1 with FP_ESYS (c->lib then NULL) when no library
 * loads or one lacks a function. */
static int curl_api_load(curl_api *c, fp_err *err)
{
    static const char *const libs[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so" };
#define SYM(name, member) { name, offsetof(curl_api, member) }
    static const struct { const char *name; size_t off; } syms[] = {
        SYM("curl_global_init", global_init),
        SYM("curl_global_cleanup", global_cleanup),
        SYM("curl_easy_init", easy_init),
        SYM("curl_easy_cleanup", easy_cleanup),
        SYM("curl_easy_setopt", easy_setopt),
        SYM("curl_easy_getinfo", easy_getinfo),
        SYM("curl_easy_perform", easy_perform),
        SYM("curl_easy_reset", easy_reset),
        SYM("curl_easy_escape", easy_escape),
        SYM("curl_easy_strerror", easy_strerror),
        SYM("curl_free", free_),
        SYM("curl_multi_init", multi_init),
        SYM("curl_multi_cleanup", multi_cleanup),
        SYM("curl_multi_add_handle", multi_add_handle),
        SYM("curl_multi_remove_handle", multi_remove_handle),
        SYM("curl_multi_perform", multi_perform),
        SYM("curl_multi_poll", multi_poll),
        SYM("curl_multi_info_read", multi_info_read),
        SYM("curl_multi_strerror", multi_strerror),
        SYM("curl_slist_append", slist_append),
        SYM("curl_slist_free_all", slist_free_all),
    };
#undef SYM
    char first[512] = "";               /* why the first (preferred) name failed */
    const char *name = libs[0];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof libs / sizeof *libs && !c->lib; i++) {
        c->lib = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
        if (c->lib) {
            name = libs[i];
        } else if (i == 0) {
            const char *e = dlerror();
            snprintf(first, sizeof first, "%s", e ? e : "not found");
        }
    }
    if (!c->lib)
        return fp_err_set(err, FP_ESYS, "cannot load libcurl (%s): %s; install libcurl4",
                          libs[0], first);
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        dlerror();
        void *f = dlsym(c->lib, syms[i].name);
        if (!f) {
            const char *e = dlerror();
            fp_err_set(err, FP_ESYS, "cannot load libcurl (%s): %s; install libcurl4",
                       name, e ? e : syms[i].name);
            dlclose(c->lib);
            memset(c, 0, sizeof *c);
            return -1;
        }
        /* POSIX guarantees a void * can hold a function pointer */
        memcpy((char *)c + syms[i].off, &f, sizeof f);
    }
    return 0;
}

/* Create a client for the engine at roots->docker_sock. Nothing is
 * connected yet: an unreachable engine shows up at the first request.
 * Loads libcurl and calls curl_global_init (reference counted by libcurl;
 * balanced by fp_docker_free). Returns NULL with FP_ESYS when libcurl
 * cannot be loaded or started, FP_EUSAGE for an empty socket path. */
fp_docker *fp_docker_new(const fp_roots *roots, fp_err *err)
{
    /* libcurl reads an empty socket path as "use TCP to localhost:80" */
    if (!roots->docker_sock[0]) {
        fp_err_set(err, FP_EUSAGE, "no Docker socket path given");
        return NULL;
    }
    fp_docker *d = calloc(1, sizeof *d);
    if (!d) {
        fp_err_sys(err, "cannot allocate a Docker client");
        return NULL;
    }
    if (curl_api_load(&d->c, err) < 0) {
        free(d);
        return NULL;
    }
    if (d->c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fp_err_set(err, FP_ESYS, "cannot initialise libcurl");
        fp_docker_free(d);
        return NULL;
    }
    d->c.inited = true;
    snprintf(d->sock, sizeof d->sock, "%s", roots->docker_sock);
    d->h = d->c.easy_init();
    if (!d->h) {
        fp_err_set(err, FP_ESYS, "cannot create a libcurl handle");
        fp_docker_free(d);
        return NULL;
    }
    return d;
}

/* Close the watch, if any, and forget its buffered data and ids. */
static void watch_close(fp_docker *d)
{
    if (d->w) {
        if (d->m) d->c.multi_remove_handle(d->m, d->w);
        d->c.easy_cleanup(d->w);
        d->w = NULL;
    }
    if (d->m) {
        d->c.multi_cleanup(d->m);
        d->m = NULL;
    }
    buf_free(&d->wbuf);
    free(d->pend);
    d->pend = NULL;
    d->npend = d->cappend = 0;
    d->wdone = false;
    d->wresult = CURLE_OK;
}

void fp_docker_free(fp_docker *d)
{
    if (!d) return;
    watch_close(d);
    if (d->h) d->c.easy_cleanup(d->h);
    if (d->c.inited) d->c.global_cleanup();
    if (d->c.lib) dlclose(d->c.lib);
    free(d);
}

/* A reference is 1..128 characters of [A-Za-z0-9_.-], not starting with
 * '.' or '-'. This covers full ids, id prefixes and container names, and
 * keeps '/', '%', '?', '#', spaces and ".." path tricks out of URLs. */
bool fp_docker_valid_ref(const char *ref)
{
    if (!ref || !*ref || ref[0] == '.' || ref[0] == '-') return false;
    size_t n = 0;
    for (const char *p = ref; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (n >= 128) return false;
        if (!(c < 128 && (isalnum(c) || c == '_' || c == '.' || c == '-')))
            return false;
    }
    return true;
}

static bool is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n])) return false;
    return n == 64;
}

/* Turn a failed libcurl transfer on handle h into an FP_ESYS error naming
 * the socket: "cannot reach the Docker engine at SOCK: <strerror>" when the
 * connection failed, else "WHAT the Docker engine at SOCK failed: <libcurl's
 * reason>" (a timeout included). */
static int transfer_error(fp_docker *d, CURL *h, CURLcode rc, const char *errbuf,
                          const char *what, fp_err *err)
{
    long oe = 0;
    d->c.easy_getinfo(h, CURLINFO_OS_ERRNO, &oe);
    const char *cmsg = errbuf && errbuf[0] ? errbuf : d->c.easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT) {
        if (oe) {
            errno = (int)oe;
            return fp_err_sys(err, "cannot reach the Docker engine at %s", d->sock);
        }
        return fp_err_set(err, FP_ESYS, "cannot reach the Docker engine at %s: %s",
                          d->sock, cmsg);
    }
    fp_err_set(err, FP_ESYS, "%s the Docker engine at %s failed: %s", what, d->sock, cmsg);
    if (err) err->sys_errno = (int)oe;
    return -1;
}

/* The "message" of an engine error body, or "" when there is none. The
 * result lives in out. */
static const char *engine_message(const char *body, size_t len, char *out, size_t n)
{
    out[0] = 0;
    if (!body || !len) return out;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m) snprintf(out, n, "%s", m);
    json_decref(j);
    return out;
}

/* Copy the JSON string s into dst (n bytes). Returns false when s is not a
 * string or does not fit. */
static bool copy_str(char *dst, size_t n, json_t *s)
{
    const char *v = json_string_value(s);
    if (!v || strlen(v) >= n) return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* Fill c from a /containers/{id}/json answer. Returns 0, or -1 (c then
 * holds no references) when a field we need is missing or of the wrong
 * type. */
static int parse_inspect(json_t *j, fp_container *c)
{
    json_t *config = json_object_get(j, "Config");
    json_t *state = json_object_get(j, "State");
    json_t *pid = json_object_get(state, "Pid");
    json_t *running = json_object_get(state, "Running");
    json_t *path = json_object_get(j, "Path");
    json_t *args = json_object_get(j, "Args");
    json_t *labels = json_object_get(config, "Labels");
    const char *name = json_string_value(json_object_get(j, "Name"));

    memset(c, 0, sizeof *c);
    if (!copy_str(c->id, sizeof c->id, json_object_get(j, "Id")) || !is_hex64(c->id))
        return -1;
    if (!name) return -1;
    if (name[0] == '/') name++;
    if (strlen(name) >= sizeof c->name) return -1;
    memcpy(c->name, name, strlen(name) + 1);
    if (!copy_str(c->image, sizeof c->image, json_object_get(config, "Image")))
        return -1;
    if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
        json_integer_value(pid) > 0x7fffffff || !json_is_boolean(running))
        return -1;
    c->pid = (int)json_integer_value(pid);
    c->running = json_is_true(running);
    if (labels && !json_is_null(labels) && !json_is_object(labels)) return -1;
    if (!json_is_string(path) || (args && !json_is_null(args) && !json_is_array(args)))
        return -1;

    c->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    c->cmd = json_array();
    if (!c->labels || !c->cmd || json_array_append(c->cmd, path) < 0) goto fail;
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a) {
        if (!json_is_string(a) || json_array_append(c->cmd, a) < 0) goto fail;
    }
    return 0;
fail:
    fp_container_clear(c);
    return -1;
}

/* GET /containers/{ref}/json and fill c. ref is validated before any I/O
 * (FP_EINPUT for an invalid one). A 404 is FP_EINPUT "no such container:
 * REF"; an unreachable engine, another HTTP status or an answer we cannot
 * read is FP_ESYS. c is overwritten on success (it must not hold
 * references the caller still needs to free) and untouched on failure. The
 * request times out after REQUEST_TIMEOUT_MS. */
int fp_docker_inspect(fp_docker *d, const char *ref, fp_container *c, fp_err *err)
{
    if (!fp_docker_valid_ref(ref))
        return fp_err_set(err, FP_EINPUT, "invalid container reference: \"%.140s\"",
                          ref ? ref : "");

    char *esc = d->c.easy_escape(d->h, ref, 0);
    if (!esc) return fp_err_set(err, FP_ESYS, "cannot escape a container reference");
    char url[256];
    int k = snprintf(url, sizeof url, "http://localhost/containers/%s/json", esc);
    d->c.free_(esc);
    if (k < 0 || (size_t)k >= sizeof url)
        return fp_err_set(err, FP_EINPUT, "container reference too long: \"%s\"", ref);

    buf body = { .max = INSPECT_MAX };
    d->c.easy_reset(d->h);
    d->herr[0] = 0;
    if (setup_handle(d, d->h, d->herr, &body) < 0 ||
        d->c.easy_setopt(d->h, CURLOPT_URL, url) != CURLE_OK ||
        d->c.easy_setopt(d->h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK)
        return fp_err_set(err, FP_ESYS, "cannot set up a request to the Docker engine");

    CURLcode rc = d->c.easy_perform(d->h);
    if (rc != CURLE_OK) {
        int r = body.overflow
            ? fp_err_set(err, FP_ESYS, "the Docker engine at %s sent an oversized answer "
                         "for container %s", d->sock, ref)
            : transfer_error(d, d->h, rc, d->herr, "inspecting a container at", err);
        buf_free(&body);
        return r;
    }
    long code = 0;
    d->c.easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
    if (code == 404) {
        buf_free(&body);
        return fp_err_set(err, FP_EINPUT, "no such container: %s", ref);
    }
    if (code != 200) {
        char m[256];
        engine_message(body.p, body.len, m, sizeof m);
        fp_err_set(err, FP_ESYS, "the Docker engine at %s answered HTTP %ld for container %s%s%s",
                   d->sock, code, ref, m[0] ? ": " : "", m);
        buf_free(&body);
        return -1;
    }

    json_error_t jerr;
    json_t *j = json_loadb(body.p ? body.p : "", body.len, 0, &jerr);
    buf_free(&body);
    fp_container tmp;
    if (!j || parse_inspect(j, &tmp) < 0) {
        json_decref(j);
        return fp_err_set(err, FP_ESYS, "unexpected answer from the Docker engine at %s "
                          "for container %s", d->sock, ref);
    }
    json_decref(j);
    *c = tmp;
    return 0;
}

void fp_container_clear(fp_container *c)
{
    if (!c) return;
    json_decref(c->labels);
    json_decref(c->cmd);
    c->labels = NULL;
    c->cmd = NULL;
}

/* ------------------------------------------------------------- requests */

/* A request path is ours to send as is: it starts with '/', has only
 * printable ASCII without spaces and '#', and no ".." segment. References
 * inside it are the caller's to validate (fp_docker_valid_ref). */
static bool valid_path(const char *path)
{
    if (!path || path[0] != '/' || strlen(path) >= REQUEST_PATH_MAX) return false;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '#') return false;
        if (c == '/' && p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '?' || !p[3]))
            return false;
    }
    return true;
}

/* Send METHOD PATH (with an optional JSON body) to the engine and read its
 * answer (see fp/docker.h for the contract). The body is serialised
 * compactly and sent with "Content-Type: application/json"; a POST
 * without a body sends an empty one without a Content-Type. "Expect:" is cleared so a large body
 * (a service spec) goes out at once. The request times out after
 * REQUEST_TIMEOUT_MS; answers above INSPECT_MAX bytes are refused. */
int fp_docker_request(fp_docker *d, const char *method, const char *path, const json_t *body,
                      long *status, json_t **answer, fp_err *err)
{
    if (status) *status = 0;
    if (answer) *answer = NULL;
    if (!method || !*method || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method))
        return fp_err_set(err, FP_EUSAGE, "invalid HTTP method for the Docker engine");
    if (!valid_path(path))
        return fp_err_set(err, FP_EUSAGE, "invalid Docker engine request path: \"%.200s\"",
                          path ? path : "");

    char url[REQUEST_PATH_MAX + 32];
    snprintf(url, sizeof url, "http://localhost%s", path);
    char *payload = NULL;
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload)
            return fp_err_set(err, FP_EUSAGE, "cannot serialise the body of %s %s", method, path);
    }
    /* without a body, drop the form Content-Type libcurl gives a POST */
    struct curl_slist *hdr = NULL, *h2 = NULL;
    hdr = d->c.slist_append(NULL, body ? "Content-Type: application/json" : "Content-Type:");
    h2 = hdr ? d->c.slist_append(hdr, "Expect:") : NULL;
    if (!h2) {
        if (hdr) d->c.slist_free_all(hdr);
        free(payload);
        return fp_err_set(err, FP_ESYS, "cannot set up a request to the Docker engine");
    }
    hdr = h2;

    buf ans = { .max = INSPECT_MAX };
    d->c.easy_reset(d->h);
    d->herr[0] = 0;
    CURLcode sc = setup_handle(d, d->h, d->herr, &ans) < 0 ? CURLE_FAILED_INIT : CURLE_OK;
#define SET(opt, val) do { if (sc == CURLE_OK) sc = d->c.easy_setopt(d->h, opt, val); } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE, (long)(payload ? strlen(payload) : 0));
        SET(CURLOPT_POSTFIELDS, payload ? payload : "");
    } else {
        SET(CURLOPT_CUSTOMREQUEST, method);
        if (payload) {
            SET(CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
            SET(CURLOPT_POSTFIELDS, payload);
        }
    }
    SET(CURLOPT_HTTPHEADER, hdr);
#undef SET
    int r = 0;
    if (sc != CURLE_OK) {
        r = fp_err_set(err, FP_ESYS, "cannot set up a request to the Docker engine");
        goto out;
    }

    CURLcode rc = d->c.easy_perform(d->h);
    if (rc != CURLE_OK) {
        char what[REQUEST_PATH_MAX + 32];
        snprintf(what, sizeof what, "%s %s to", method, path);
        r = ans.overflow
            ? fp_err_set(err, FP_ESYS, "the Docker engine at %s sent an oversized answer to "
                         "%s %s", d->sock, method, path)
            : transfer_error(d, d->h, rc, d->herr, what, err);
        goto out;
    }
    long code = 0;
    d->c.easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
    if (status) *status = code;
    if (code >= 400) {
        char m[400];
        engine_message(ans.p, ans.len, m, sizeof m);
        if (strstr(m, "out of sequence"))
            r = fp_err_set(err, FP_ESYS, "concurrent change detected: the Docker engine at %s "
                           "refused %s %s (HTTP %ld): %s", d->sock, method, path, code, m);
        else
            r = fp_err_set(err, code == 400 || code == 404 ? FP_EINPUT : FP_ESYS,
                           "the Docker engine at %s answered HTTP %ld to %s %s%s%s", d->sock,
                           code, method, path, m[0] ? ": " : "", m);
        goto out;
    }
    size_t skip = 0;
    while (skip < ans.len && strchr(" \t\r\n", ans.p[skip])) skip++;
    if (answer && skip < ans.len) {
        json_error_t jerr;
        *answer = json_loadb(ans.p + skip, ans.len - skip, 0, &jerr);
        if (!*answer)
            r = fp_err_set(err, FP_ESYS, "unexpected answer from the Docker engine at %s to "
                           "%s %s: %s", d->sock, method, path, jerr.text);
    }
out:
    buf_free(&ans);
    if (hdr) d->c.slist_free_all(hdr);
    free(payload);
    /* the handle must not keep pointers to what was just freed */
    d->c.easy_reset(d->h);
    return r;
}

/* ---------------------------------------------------------------- watch */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pend_push(fp_docker *d, const char *id)
{
    if (d->npend == d->cappend) {
        int cap = d->cappend ? d->cappend * 2 : 16;
        void *q = realloc(d->pend, (size_t)cap * sizeof *d->pend);
        if (!q) return -1;
        d->pend = q;
        d->cappend = cap;
    }
    snprintf(d->pend[d->npend++], ID_SIZE, "%s", id);
    return 0;
}

/* Move up to max pending ids into ids, oldest first. Returns how many. */
static int pend_take(fp_docker *d, char (*ids)[ID_SIZE], int max)
{
    int n = d->npend < max ? d->npend : max;
    if (n <= 0) return 0;
    memcpy(ids, d->pend, (size_t)n * sizeof *d->pend);
    memmove(d->pend, d->pend + n, (size_t)(d->npend - n) * sizeof *d->pend);
    d->npend -= n;
    return n;
}

/* Parse one event line and queue the container id of a start event. The
 * id is "Actor.ID" (API >= 1.22) or the older top-level "id". Returns 0,
 * or -1 with err for a line that is not a JSON object. */
static int parse_event(fp_docker *d, const char *line, size_t len, fp_err *err)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
    if (!len) return 0;
    json_t *j = json_loadb(line, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return fp_err_set(err, FP_ESYS, "malformed event from the Docker engine at %s",
                          d->sock);
    }
    const char *type = json_string_value(json_object_get(j, "Type"));
    const char *action = json_string_value(json_object_get(j, "Action"));
    if (!action) action = json_string_value(json_object_get(j, "status"));
    const char *id = json_string_value(json_object_get(json_object_get(j, "Actor"), "ID"));
    if (!id) id = json_string_value(json_object_get(j, "id"));
    int r = 0;
    if ((!type || strcmp(type, "container") == 0) && action && strcmp(action, "start") == 0 &&
        id && strlen(id) < ID_SIZE && fp_docker_valid_ref(id)) {
        if (pend_push(d, id) < 0) r = fp_err_sys(err, "cannot queue a Docker event");
    }
    json_decref(j);
    return r;
}

/* Parse every complete line in the watch buffer (and, once the stream has
 * ended, a last unterminated one), keeping a partial line for later. */
static int drain_lines(fp_docker *d, fp_err *err)
{
    size_t off = 0;
    while (off < d->wbuf.len) {
        char *nl = memchr(d->wbuf.p + off, '\n', d->wbuf.len - off);
        size_t end = nl ? (size_t)(nl - d->wbuf.p) : d->wbuf.len;
        if (!nl && !d->wdone) break;
        if (parse_event(d, d->wbuf.p + off, end - off, err) < 0) return -1;
        off = nl ? end + 1 : end;
    }
    if (off) {
        memmove(d->wbuf.p, d->wbuf.p + off, d->wbuf.len - off);
        d->wbuf.len -= off;
        d->wbuf.p[d->wbuf.len] = 0;
    }
    return 0;
}

/* Let libcurl move the watch transfer along without waiting, and note
 * when it has finished. Returns 0, or -1 with err on a multi-handle error. */
static int watch_step(fp_docker *d, fp_err *err)
{
    int running = 0;
    CURLMcode mc = d->c.multi_perform(d->m, &running);
    if (mc != CURLM_OK)
        return fp_err_set(err, FP_ESYS, "watching Docker events: %s", d->c.multi_strerror(mc));
    CURLMsg *msg;
    int left;
    while ((msg = d->c.multi_info_read(d->m, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == d->w) {
            d->wdone = true;
            d->wresult = msg->data.result;
        }
    return 0;
}

/* The error for a watch whose stream has ended: why libcurl stopped, the
 * engine's HTTP error, or a clean end of the stream. */
static int watch_ended(fp_docker *d, fp_err *err)
{
    long code = 0;
    d->c.easy_getinfo(d->w, CURLINFO_RESPONSE_CODE, &code);
    if (d->wbuf.overflow)
        return fp_err_set(err, FP_ESYS, "the Docker engine at %s sent an oversized event",
                          d->sock);
    if (d->wresult != CURLE_OK)
        return transfer_error(d, d->w, d->wresult, d->werr, "watching events of", err);
    if (code != 200) {
        char m[256];
        engine_message(d->wbuf.p, d->wbuf.len, m, sizeof m);
        return fp_err_set(err, FP_ESYS, "the Docker engine at %s refused the event stream "
                          "(HTTP %ld)%s%s", d->sock, code, m[0] ? ": " : "", m);
    }
    return fp_err_set(err, FP_ESYS, "the Docker event stream from %s ended", d->sock);
}

/* Open GET /events?filters={"type":["container"],"event":["start"]}. Any
 * previous watch on d is closed first (its unreturned ids are lost). Waits
 * up to CONNECT_TIMEOUT_MS until the engine has answered 200 with its
 * headers, so that containers started after this returns are seen (the
 * engine subscribes right after sending them). FP_ESYS when the engine
 * cannot be reached or refuses. */
int fp_docker_watch_start(fp_docker *d, fp_err *err)
{
    watch_close(d);
    d->wbuf.max = EVENT_LINE_MAX;

    json_t *f = json_pack("{s:[s], s:[s]}", "type", "container", "event", "start");
    char *fs = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    d->w = d->c.easy_init();
    d->m = d->c.multi_init();
    char *esc = fs && d->w ? d->c.easy_escape(d->w, fs, 0) : NULL;
    free(fs);
    if (!esc || !d->m) {
        d->c.free_(esc);
        watch_close(d);
        return fp_err_set(err, FP_ESYS, "cannot set up a Docker event watch");
    }
    char url[512];
    int k = snprintf(url, sizeof url, "http://localhost/events?filters=%s", esc);
    d->c.free_(esc);
    d->werr[0] = 0;
    if (k < 0 || (size_t)k >= sizeof url ||
        setup_handle(d, d->w, d->werr, &d->wbuf) < 0 ||
        d->c.easy_setopt(d->w, CURLOPT_URL, url) != CURLE_OK ||
        d->c.multi_add_handle(d->m, d->w) != CURLM_OK) {
        watch_close(d);
        return fp_err_set(err, FP_ESYS, "cannot set up a Docker event watch");
    }

    long deadline = now_ms() + CONNECT_TIMEOUT_MS;
    for (;;) {
        if (watch_step(d, err) < 0) { watch_close(d); return -1; }
        long code = 0;
        d->c.easy_getinfo(d->w, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && !d->wdone) return 0;
        if (d->wdone) {
            watch_ended(d, err);
            watch_close(d);
            return -1;
        }
        long left = deadline - now_ms();
        if (left <= 0) {
            watch_close(d);
            return fp_err_set(err, FP_ESYS, "the Docker engine at %s did not answer the "
                              "event request", d->sock);
        }
        d->c.multi_poll(d->m, NULL, 0, (int)(left < 100 ? left : 100), NULL);
    }
}

/* Wait at most timeout_ms (negative counts as 0) for container start
 * events and store up to max ids in ids. Returns as soon as at least one
 * id is known (ids not yet returned stay queued for the next call), 0 when
 * the time ran out first, and -1 with FP_ESYS once the stream has ended or
 * broken (after every id received before that has been returned). A signal
 * does not shorten the wait. FP_EUSAGE without a watch or with max <= 0. */
int fp_docker_watch_poll(fp_docker *d, int timeout_ms, char (*ids)[80], int max, fp_err *err)
{
    if (!d->w)
        return fp_err_set(err, FP_EUSAGE, "no Docker event watch is open");
    if (max <= 0)
        return fp_err_set(err, FP_EUSAGE, "no room for container ids");
    if (d->npend) return pend_take(d, ids, max);

    long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (!d->wdone && watch_step(d, err) < 0) return -1;
        long code = 0;
        d->c.easy_getinfo(d->w, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && drain_lines(d, err) < 0) return -1;
        if (d->npend) return pend_take(d, ids, max);
        if (d->wdone) return watch_ended(d, err);
        long left = deadline - now_ms();
        if (left <= 0) return 0;
        CURLMcode mc = d->c.multi_poll(d->m, NULL, 0, (int)left, NULL);
        if (mc != CURLM_OK)
            return fp_err_set(err, FP_ESYS, "watching Docker events: %s",
                              d->c.multi_strerror(mc));
    }
}
