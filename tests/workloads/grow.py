#!/usr/bin/env python3
"""grow.py PATTERN - real memory growth patterns for fp-run's "never harm"
tests and benchmark. Each touches every page it allocates (bytearray is
zero-filled), so the cgroup is charged for all of it.

  steady    30 x 30 MiB, one every 0.1 s: ~900 MiB in 3 s
  step      100 MiB, 10 s later +800 MiB at once, then 3 s
  sawtooth  4 times: up to 600 MiB in 1.2 s, free it all, 1.5 s idle
  child     a child process that waits 3 s, then grows to 600 MiB in 2 s
"""
import os, sys, time

MiB = 2 ** 20


def steady():
    a = []
    for _ in range(30):
        a.append(bytearray(30 * MiB))
        time.sleep(0.1)


def step():
    a = bytearray(100 * MiB)
    time.sleep(10)
    b = bytearray(800 * MiB)
    time.sleep(3)
    del a, b


def sawtooth():
    for _ in range(4):
        a = []
        for _ in range(12):
            a.append(bytearray(50 * MiB))
            time.sleep(0.1)
        del a
        time.sleep(1.5)


def child():
    pid = os.fork()
    if pid == 0:
        time.sleep(3)
        a = []
        for _ in range(20):
            a.append(bytearray(30 * MiB))
            time.sleep(0.1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


if __name__ == "__main__":
    pats = {"steady": steady, "step": step, "sawtooth": sawtooth, "child": child}
    if len(sys.argv) != 2 or sys.argv[1] not in pats:
        sys.exit("usage: grow.py steady|step|sawtooth|child")
    pats[sys.argv[1]]()
