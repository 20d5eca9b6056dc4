#!/usr/bin/env python3
"""A typical heap for bench/compress.sh: a dict of N small strings to small ints and a list of
N short strings, as a service's in-memory table would hold. Prints READY, then on SIGUSR1 checks
every entry and prints PASS or FAIL and exits.

    python_heap.py N
"""
import signal
import sys
import time

n = int(sys.argv[1])
table = {f"user:{i:08d}": i * 7 % 100003 for i in range(n)}
names = [f"name-{i % 5000}-{i // 5000}" for i in range(n)]
checked = False


def check(signum, frame):
    global checked
    checked = True


signal.signal(signal.SIGUSR1, check)
print(f"READY entries={len(table)}", flush=True)
while not checked:
    time.sleep(0.01)
bad = sum(1 for i in range(n) if table.get(f"user:{i:08d}") != i * 7 % 100003 or names[i] != f"name-{i % 5000}-{i // 5000}")
print("PASS" if bad == 0 and len(table) == n and len(names) == n else f"FAIL {bad} wrong entries", flush=True)
