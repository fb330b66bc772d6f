/* fp/docker.h - the Docker Engine API over its unix socket (libcurl).
 *
 * libfp talks to Docker only through the socket in fp_roots.docker_sock and
 * never runs the docker CLI. Container references from the user are
 * validated before they reach a URL: a name or id of [A-Za-z0-9_.-], 1..128
 * characters, not starting with '.' or '-'.
 *
 * libcurl is loaded at run time (dlopen of libcurl.so.4) by fp_docker_new,
 * so the tools pay for it only when they talk to Docker.
 *
 * Ownership: fp_docker is opaque (the loaded library and its handles),
 * created by fp_docker_new and freed by fp_docker_free. fp_container is a
 * plain value whose JSON members it owns (fp_container_clear).
 */
#ifndef FP_DOCKER_H
#define FP_DOCKER_H

#include <stdbool.h>
#include <jansson.h>
#include "fp/error.h"
#include "fp/roots.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_docker fp_docker;

typedef struct fp_container {
    char id[80];          /* full 64-hex id */
    char name[256];       /* without the leading '/' */
    char image[512];      /* Config.Image */
    int pid;              /* State.Pid: the container's init on the host */
    bool running;
    json_t *labels;       /* Config.Labels (object; owned: json_decref it) */
    json_t *cmd;          /* Path + Args as an array (owned) */
} fp_container;

fp_docker *fp_docker_new(const fp_roots *roots, fp_err *err);
void fp_docker_free(fp_docker *d);

/* true when ref is a syntactically valid container id or name. */
bool fp_docker_valid_ref(const char *ref);

/* GET /containers/{ref}/json. FP_EINPUT for an invalid ref or a container
 * that does not exist ("no such container: REF"), FP_ESYS when the engine
 * cannot be reached. On success fills c (free its json with
 * fp_container_clear). */
int fp_docker_inspect(fp_docker *d, const char *ref, fp_container *c, fp_err *err);
void fp_container_clear(fp_container *c);

/* A request to the Engine API: METHOD ("GET", "POST", ...) on PATH, an
 * unversioned path with its query ("/containers/ID/update",
 * "/services/ID/update?version=12"). PATH must start with '/' and hold
 * only printable ASCII without spaces, '#' or ".." segments (else
 * FP_EUSAGE, before any I/O); references inside it must already be valid
 * (fp_docker_valid_ref). body (may be NULL) is sent as JSON with
 * Content-Type: application/json. A successful answer must be JSON (or
 * empty): plain-text endpoints such as /_ping fail with FP_ESYS.
 *
 * *status (may be NULL) gets the HTTP status, 0 when no answer came. On
 * success (status < 400) *answer (may be NULL) gets the parsed JSON answer
 * (a new reference) or NULL when the answer is empty. An HTTP status >= 400
 * fails with the engine's "message" in err: FP_ESYS "concurrent change
 * detected: ..." when the engine says "update out of sequence" (Swarm's
 * version check), FP_EINPUT for 400 (the engine refused the values) and
 * 404 (no such object), FP_ESYS otherwise; *answer is then NULL. An
 * unreachable engine or an unreadable answer is FP_ESYS. */
int fp_docker_request(fp_docker *d, const char *method, const char *path, const json_t *body,
                      long *status, json_t **answer, fp_err *err);

/* Container start events, for --watch-docker: GET /events filtered to
 * container start. fp_docker_watch_start opens the stream; fp_docker_watch_poll
 * waits at most timeout_ms for data and stores up to max started container
 * ids in ids (each 80 bytes); returns how many, or -1 with err when the
 * stream broke. The caller sleeps in this call between its ticks. */
int fp_docker_watch_start(fp_docker *d, fp_err *err);
int fp_docker_watch_poll(fp_docker *d, int timeout_ms, char (*ids)[80], int max, fp_err *err);

#ifdef __cplusplus
}
#endif

#endif
