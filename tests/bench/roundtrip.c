/* roundtrip.c - per-record latency of a filter: feed it one line, time
 * until one line comes back.
 *
 *   roundtrip INPUT -- CMD [ARGS...]
 *
 * Starts CMD with pipes on its stdin and stdout, then for each line of
 * INPUT: takes CLOCK_MONOTONIC, writes the line, reads until one whole line
 * came back, takes the clock again, and prints the microseconds. The line
 * read back is written to stderr when it does not contain "\"ok\":true"
 * (an allocation that failed), and counts as an error (exit 1).
 * Reads with read(2) into a buffer, so the harness costs two system calls
 * per record, not one per byte as a shell's `read` does.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: roundtrip INPUT -- CMD [ARGS...]\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 2; }
    int to[2], from[2];
    if (pipe(to) < 0 || pipe(from) < 0) { perror("pipe"); return 2; }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    char *line = NULL, buf[1 << 16];
    size_t cap = 0, have = 0;
    ssize_t n;
    int bad = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        double t0 = now_us();
        if (write(to[1], line, (size_t)n) != n) { perror("write"); return 2; }
        char *nl = NULL;
        while (!(nl = memchr(buf, '\n', have))) {
            ssize_t k = read(from[0], buf + have, sizeof buf - have);
            if (k <= 0) { fprintf(stderr, "roundtrip: the command ended early\n"); return 2; }
            have += (size_t)k;
        }
        double t1 = now_us();
        printf("%.1f\n", t1 - t0);
        size_t len = (size_t)(nl - buf) + 1;
        if (!memmem(buf, len, "\"ok\":true", 9)) {
            fwrite(buf, 1, len, stderr);
            bad = 1;
        }
        memmove(buf, buf + len, have - len);
        have -= len;
    }
    close(to[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    free(line);
    fclose(in);
    return bad ? 1 : (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2);
}
