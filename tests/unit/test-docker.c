/* test-docker.c - the Docker Engine client.
 *
 * Without an engine: reference validation, errors for invalid refs and
 * unreachable sockets, and the client against a tiny fake engine (a forked
 * process serving canned answers on a unix socket) for 404s, inspect
 * parsing and the event stream with a line split across polls.
 *
 * With FP_TEST_DOCKER_SOCK set (a real engine): inspect of the running
 * container FP_TEST_DOCKER_CONTAINER, a nonexistent container, and a watch
 * that sees a container started by `docker run` (image FP_TEST_DOCKER_IMAGE,
 * default fp-busybox:test). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "fp/docker.h"
#include "tap.h"

static const char *HEX64 =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static bool is_hex64(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == 64 && s[n] == 0;
}

static fp_docker *client_for(const char *sock)
{
    fp_roots r;
    fp_roots_default(&r);
    snprintf(r.docker_sock, sizeof r.docker_sock, "%s", sock);
    fp_err e = {0};
    fp_docker *d = fp_docker_new(&r, &e);
    if (!d) printf("# fp_docker_new: %s\n", e.msg);
    return d;
}

static void test_valid_ref(void)
{
    char long128[129], long129[130];
    memset(long128, 'a', 128); long128[128] = 0;
    memset(long129, 'a', 129); long129[129] = 0;

    ok(fp_docker_valid_ref(HEX64), "64-hex id is valid");
    ok(fp_docker_valid_ref("0123456789ab"), "12-hex prefix is valid");
    ok(fp_docker_valid_ref("web_1"), "web_1 is valid");
    ok(fp_docker_valid_ref("my.app-2"), "my.app-2 is valid");
    ok(fp_docker_valid_ref(long128), "128-char name is valid");
    ok(!fp_docker_valid_ref(""), "empty ref is invalid");
    ok(!fp_docker_valid_ref(NULL), "NULL ref is invalid");
    ok(!fp_docker_valid_ref("../etc"), "../etc is invalid");
    ok(!fp_docker_valid_ref("a/b"), "a/b is invalid");
    ok(!fp_docker_valid_ref("a b"), "a b is invalid");
    ok(!fp_docker_valid_ref("-x"), "-x is invalid");
    ok(!fp_docker_valid_ref(".x"), ".x is invalid");
    ok(!fp_docker_valid_ref(long129), "129-char name is invalid");
    ok(!fp_docker_valid_ref("%2e%2e"), "%%2e%%2e is invalid");
    ok(!fp_docker_valid_ref("a;b"), "a;b is invalid");
    ok(!fp_docker_valid_ref("a?b"), "a?b is invalid");
    ok(!fp_docker_valid_ref("a#b"), "a#b is invalid");
    ok(!fp_docker_valid_ref("caf\xc3\xa9"), "non-ASCII name is invalid");
}

static void test_unreachable(const char *dir)
{
    fp_roots r;
    fp_roots_default(&r);
    r.docker_sock[0] = 0;
    fp_err e0 = {0};
    ok(fp_docker_new(&r, &e0) == NULL && e0.cls == FP_EUSAGE, "empty socket path is refused");

    char missing[100];
    snprintf(missing, sizeof missing, "%s/missing.sock", dir);
    fp_docker *d = client_for(missing);
    ok(d != NULL, "client for a missing socket can be created");
    if (!d) return;

    fp_container c = {0};
    fp_err e = {0};
    is_int(fp_docker_inspect(d, "../etc", &c, &e), -1, "invalid ref fails");
    is_int(e.cls, FP_EINPUT, "invalid ref is FP_EINPUT (no I/O: the socket is missing)");
    ok(strstr(e.msg, "invalid container reference") != NULL, "message: %.200s", e.msg);

    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, "web_1", &c, &e), -1, "missing socket fails");
    is_int(e.cls, FP_ESYS, "missing socket is FP_ESYS");
    is_int(e.sys_errno, ENOENT, "missing socket: ENOENT");
    ok(strstr(e.msg, "cannot reach the Docker engine at") && strstr(e.msg, missing),
       "message names the socket: %.200s", e.msg);
    ok(c.labels == NULL && c.cmd == NULL, "container untouched on failure");

    fp_err_clear(&e);
    char ids[4][80];
    is_int(fp_docker_watch_poll(d, 0, ids, 4, &e), -1, "poll without a watch fails");
    is_int(e.cls, FP_EUSAGE, "poll without a watch is FP_EUSAGE");
    fp_err_clear(&e);
    is_int(fp_docker_watch_start(d, &e), -1, "watch on a missing socket fails");
    is_int(e.cls, FP_ESYS, "watch on a missing socket is FP_ESYS");
    ok(strstr(e.msg, missing) != NULL, "watch message names the socket: %.200s", e.msg);
    fp_docker_free(d);

    /* a socket that exists but does not listen: connection refused */
    char refused[100];
    snprintf(refused, sizeof refused, "%s/refused.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", refused);
    ok(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bound %.200s", refused);
    d = client_for(refused);
    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, "web_1", &c, &e), -1, "refused socket fails");
    is_int(e.cls, FP_ESYS, "refused socket is FP_ESYS");
    is_int(e.sys_errno, ECONNREFUSED, "refused socket: ECONNREFUSED");
    ok(strstr(e.msg, refused) != NULL, "message names the socket: %.200s", e.msg);
    fp_docker_free(d);
    close(fd);
    unlink(refused);
}

/* ------------------------------------------------------------ fake engine */

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) _exit(3);
        p += k;
        n -= (size_t)k;
    }
}

/* Answer one request with status and a JSON body (jansson-encoded). */
static void answer(int fd, int status, json_t *body)
{
    char *b = json_dumps(body, JSON_COMPACT);
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(b));
    write_all(fd, head, (size_t)n);
    write_all(fd, b, strlen(b));
    free(b);
    json_decref(body);
}

static char *event_line(const char *id, bool actor)
{
    json_t *j = actor
        ? json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:i}", "Type", "container", "Action", "start",
                    "Actor", "ID", id, "Attributes", "name", "x", "time", 1)
        : json_pack("{s:s, s:s, s:s}", "status", "start", "id", id, "from", "img");
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t n = strlen(s);
    s = realloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = 0;
    return s;
}

/* The fake engine: serve connections one by one until the events stream,
 * which sends half an event, waits for a byte on go, sends the rest and
 * two more events (a stop, then an old-style start), and closes. */
static void fake_engine(int lfd, int go)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) _exit(2);
        char req[4096] = "";
        size_t got = 0;
        while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            ssize_t k = read(fd, req + got, sizeof req - 1 - got);
            if (k <= 0) _exit(2);
            got += (size_t)k;
            req[got] = 0;
        }
        char path[1024] = "";
        sscanf(req, "GET %1023s", path);
        if (strcmp(path, "/containers/missing/json") == 0) {
            answer(fd, 404, json_pack("{s:s}", "message", "No such container: missing"));
        } else if (strcmp(path, "/containers/boom/json") == 0) {
            answer(fd, 500, json_pack("{s:s}", "message", "engine on fire"));
        } else if (strcmp(path, "/containers/garbage/json") == 0) {
            answer(fd, 200, json_pack("{s:s}", "Id", "nothex"));
        } else if (strcmp(path, "/containers/web_1/json") == 0) {
            answer(fd, 200, json_pack(
                "{s:s, s:s, s:s, s:[s,s], s:{s:i, s:b}, s:{s:s, s:n}}",
                "Id", HEX64, "Name", "/web_1", "Path", "sleep", "Args", "5", "x y",
                "State", "Pid", 4242, "Running", 1,
                "Config", "Image", "fp-busybox:test", "Labels"));
        } else if (strncmp(path, "/events?filters=", 16) == 0) {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Connection: close\r\n\r\n";
            write_all(fd, head, strlen(head));
            char *e1 = event_line(HEX64, true);
            size_t half = strlen(e1) / 2;
            write_all(fd, e1, half);
            char c;
            if (read(go, &c, 1) != 1) _exit(4);
            write_all(fd, e1 + half, strlen(e1) - half);
            free(e1);
            json_t *stop = json_pack("{s:s, s:s, s:{s:s}}", "Type", "container",
                                     "Action", "stop", "Actor", "ID", "feedfeed");
            char *s = json_dumps(stop, JSON_COMPACT);
            json_decref(stop);
            write_all(fd, s, strlen(s));
            write_all(fd, "\n", 1);
            free(s);
            char *e2 = event_line("0123456789ab", false);
            write_all(fd, e2, strlen(e2));
            free(e2);
            close(fd);
            _exit(0);
        } else {
            answer(fd, 400, json_pack("{s:s}", "message", path));
        }
        close(fd);
    }
}

static void test_fake_engine(const char *dir)
{
    char sock[100];
    snprintf(sock, sizeof sock, "%s/fake.sock", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    int p[2];
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0 ||
        pipe(p) < 0) {
        ok(0, "fake engine listens: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(p[1]);
        alarm(30); /* never outlive a stuck test */
        fake_engine(lfd, p[0]);
    }
    close(lfd);
    close(p[0]);

    fp_docker *d = client_for(sock);
    fp_container c = {0};
    fp_err e = {0};
    is_int(fp_docker_inspect(d, "web_1", &c, &e), 0, "fake inspect web_1: %.200s", e.msg);
    is_str(c.id, HEX64, "id");
    is_str(c.name, "web_1", "name without '/'");
    is_str(c.image, "fp-busybox:test", "image");
    is_int(c.pid, 4242, "pid");
    ok(c.running, "running");
    ok(json_is_object(c.labels) && json_object_size(c.labels) == 0, "null labels read as {}");
    ok(json_is_array(c.cmd) && json_array_size(c.cmd) == 3, "cmd is Path + Args");
    is_str(json_string_value(json_array_get(c.cmd, 0)), "sleep", "cmd[0]");
    is_str(json_string_value(json_array_get(c.cmd, 2)), "x y", "cmd[2]");
    fp_container_clear(&c);
    ok(c.labels == NULL && c.cmd == NULL, "clear drops the json");

    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, "missing", &c, &e), -1, "fake inspect missing fails");
    is_int(e.cls, FP_EINPUT, "404 is FP_EINPUT");
    is_str(e.msg, "no such container: missing", "404 message");
    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, "boom", &c, &e), -1, "HTTP 500 fails");
    is_int(e.cls, FP_ESYS, "HTTP 500 is FP_ESYS");
    ok(strstr(e.msg, "500") && strstr(e.msg, "engine on fire"), "500 message: %.200s", e.msg);
    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, "garbage", &c, &e), -1, "unexpected answer fails");
    is_int(e.cls, FP_ESYS, "unexpected answer is FP_ESYS");

    fp_err_clear(&e);
    is_int(fp_docker_watch_start(d, &e), 0, "fake watch starts: %.200s", e.msg);
    char ids[4][80];
    is_int(fp_docker_watch_poll(d, 300, ids, 4, &e), 0, "half an event: nothing yet");
    write_all(p[1], "g", 1);
    int n = 0, total = 0;
    char got[4][80];
    for (int i = 0; i < 50 && total < 2; i++) {
        n = fp_docker_watch_poll(d, 100, ids, 1, &e);
        if (n < 0) break;
        for (int k = 0; k < n && total < 4; k++) memcpy(got[total++], ids[k], 80);
    }
    is_int(total, 2, "two start events, one id per poll (max 1)");
    is_str(total > 0 ? got[0] : "", HEX64, "Actor.ID of the split event");
    is_str(total > 1 ? got[1] : "", "0123456789ab", "old-style id");
    fp_err_clear(&e);
    for (int i = 0; i < 50 && n >= 0; i++) n = fp_docker_watch_poll(d, 100, ids, 4, &e);
    is_int(n, -1, "closed stream: -1");
    is_int(e.cls, FP_ESYS, "closed stream is FP_ESYS");
    ok(strstr(e.msg, sock) != NULL, "closed-stream message names the socket: %.200s", e.msg);
    fp_docker_free(d);

    close(p[1]); /* a child still waiting for "go" sees EOF and exits */
    int st = 0;
    for (int i = 0; i < 40 && waitpid(child, &st, WNOHANG) == 0; i++)
        nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
    if (waitpid(child, &st, WNOHANG) == 0) { kill(child, SIGKILL); waitpid(child, &st, 0); }
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fake engine exited cleanly (%d)", st);
    unlink(sock);
}

/* ------------------------------------------------------------ real engine */

/* Run `docker -H unix://SOCK run -d --rm --network none IMAGE sleep 5` and
 * store the id it prints. Returns 0 on success. */
static int docker_run(const char *sock, const char *image, char *id, size_t n)
{
    char host[300];
    snprintf(host, sizeof host, "unix://%s", sock);
    int p[2];
    if (pipe(p) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execlp("docker", "docker", "-H", host, "run", "-d", "--rm", "--network", "none",
               image, "sleep", "5", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t k;
    while (got < n - 1 && (k = read(p[0], id + got, n - 1 - got)) != 0) {
        if (k < 0) { if (errno == EINTR) continue; break; }
        got += (size_t)k;
    }
    id[got] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    id[strcspn(id, "\r\n")] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void test_real_engine(const char *sock)
{
    const char *name = getenv("FP_TEST_DOCKER_CONTAINER");
    const char *image = getenv("FP_TEST_DOCKER_IMAGE");
    if (!image || !*image) image = "fp-busybox:test";
    fp_docker *d = client_for(sock);
    ok(d != NULL, "client for %s", sock);
    if (!d) return;
    fp_err e = {0};
    fp_container c = {0};

    if (name && *name) {
        is_int(fp_docker_inspect(d, name, &c, &e), 0, "inspect %.40s: %.180s", name, e.msg);
        ok(is_hex64(c.id), "id is 64-hex: %s", c.id);
        ok(c.pid > 0, "pid > 0: %d", c.pid);
        ok(c.running, "running");
        ok(c.image[0] != 0, "image set: %.200s", c.image);
        ok(c.name[0] && c.name[0] != '/', "name without '/': %.200s", c.name);
        ok(json_is_array(c.cmd) && json_array_size(c.cmd) >= 1 &&
           json_is_string(json_array_get(c.cmd, 0)), "cmd is an array of strings");
        ok(json_is_object(c.labels), "labels is an object");
        char prefix[13];
        memcpy(prefix, c.id, 12);
        prefix[12] = 0;
        fp_container c2 = {0};
        is_int(fp_docker_inspect(d, prefix, &c2, &e), 0, "inspect by 12-hex prefix");
        is_str(c2.id, c.id, "prefix resolves to the same container");
        fp_container_clear(&c2);
        fp_container_clear(&c);
    } else {
        printf("# FP_TEST_DOCKER_CONTAINER not set: no inspect of a running container\n");
    }

    char nope[64];
    snprintf(nope, sizeof nope, "fp-no-such-container-%d", (int)getpid());
    fp_err_clear(&e);
    is_int(fp_docker_inspect(d, nope, &c, &e), -1, "inspect a nonexistent container fails");
    is_int(e.cls, FP_EINPUT, "nonexistent container is FP_EINPUT");
    ok(strncmp(e.msg, "no such container: ", 19) == 0 && strstr(e.msg, nope), "message: %.200s", e.msg);

    fp_err_clear(&e);
    is_int(fp_docker_watch_start(d, &e), 0, "watch starts: %.200s", e.msg);
    char id[256] = "";
    int r = docker_run(sock, image, id, sizeof id);
    ok(r == 0 && is_hex64(id), "docker run started %.80s", id);
    bool seen = false;
    int polls = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char ids[8][80];
        int n = fp_docker_watch_poll(d, 500, ids, 8, &e);
        polls++;
        if (n < 0) { printf("# poll: %s\n", e.msg); break; }
        for (int i = 0; i < n; i++) if (strcmp(ids[i], id) == 0) seen = true;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (seen || t1.tv_sec - t0.tv_sec > 20) break;
    }
    ok(seen, "watch reported the new container (%d polls)", polls);
    if (seen) {
        is_int(fp_docker_inspect(d, id, &c, &e), 0, "inspect the watched container");
        ok(c.pid > 0 && c.running, "it runs with pid %d", c.pid);
        fp_container_clear(&c);
    }
    fp_docker_free(d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/fp-test-docker.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }

    test_valid_ref();
    test_unreachable(dir);
    test_fake_engine(dir);

    const char *sock = getenv("FP_TEST_DOCKER_SOCK");
    if (sock && *sock) test_real_engine(sock);
    else printf("# FP_TEST_DOCKER_SOCK not set: real-engine tests skipped\n");

    rmdir(dir);
    return done_testing();
}
