/* cputime - run a command and report the CPU time of that process alone.
 *
 * usage: cputime OUTFILE CMD [ARGS...]
 *
 * Writes one line to OUTFILE when CMD exits:
 *   cpu_s user_s sys_s wall_s rusage_s status
 * cpu_s     the process's own CPU time (all its threads, not its children),
 *           in nanoseconds of resolution: CLOCK_PROCESS_CPUTIME of the child,
 *           read while it is a zombie (waitid WNOWAIT), before it is reaped.
 * user_s, sys_s  the same split into user and system time, from
 *           /proc/PID/stat (clock ticks, so 10 ms resolution).
 * wall_s    elapsed time from fork to exit.
 * rusage_s  ru_utime + ru_stime from wait4: includes the children the process
 *           reaped (a command-mode fp-capture reaps its workload), so it is
 *           only a cross-check for tools that start no children.
 * status    exit status (128+N for signal N).
 * Exits with CMD's status; 125 when it could not measure.
 * Part of the fp benchmark tests/bench/capture-overhead.sh; not installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ts_s(const struct timespec *t) { return (double)t->tv_sec + t->tv_nsec / 1e9; }

static volatile pid_t child;

static void forward(int sig)
{
    if (child > 0) kill(child, sig);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cputime OUTFILE CMD [ARGS...]\n");
        return 125;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("cputime: fork"); return 125; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "cputime: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    /* Signals meant for the measured command (the script stops it with
     * SIGTERM in its cleanup) are passed on, and we still report. */
    child = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR) { perror("cputime: waitid"); return 125; }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    double cpu = -1, user = -1, sys = -1;
    clockid_t cid;
    struct timespec c;
    if (clock_getcpuclockid(pid, &cid) == 0 && clock_gettime(cid, &c) == 0) cpu = ts_s(&c);
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        char *p = strrchr(buf, ')');
        unsigned long long ut, st;
        /* fields 3.. after the command: state ppid pgrp session tty tpgid
         * flags minflt cminflt majflt cmajflt utime stime */
        if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            long hz = sysconf(_SC_CLK_TCK);
            user = (double)ut / (double)hz;
            sys = (double)st / (double)hz;
        }
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) { perror("cputime: wait4"); return 125; }
    double rus = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (cpu < 0) cpu = user >= 0 ? user + sys : rus; /* no per-process clock: best we have */
    int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    FILE *o = fopen(argv[1], "we");
    if (!o) { perror("cputime: output"); return 125; }
    fprintf(o, "%.6f %.2f %.2f %.3f %.6f %d\n", cpu, user, sys, ts_s(&t1) - ts_s(&t0), rus, code);
    if (fclose(o) != 0) { perror("cputime: output"); return 125; }
    return code;
}
