#!/usr/bin/env python3
"""How long this disk takes to make an append durable: writes 8 KiB and calls fdatasync,
COUNT times (default 3000), in a scratch file under DIR (default: this directory), and prints
the median, p90, p99, p99.9 and the maximum. The ingress server's writer does the same per
batch (SQLite's log), so this is the floor under its commit latency on the same disk.

    python3 bench/ingress/fsync_latency.py [DIR] [COUNT]
"""
import os
import sys
import tempfile
import time

directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
if count < 10:
    sys.exit("fsync_latency: COUNT must be at least 10")
block = b"x" * 8192
seconds = []
with tempfile.NamedTemporaryFile(dir=directory, prefix="fsync-latency.") as scratch:
    fd = scratch.fileno()
    for _ in range(count):
        os.write(fd, block)
        started = time.perf_counter()
        os.fdatasync(fd)
        seconds.append(time.perf_counter() - started)
seconds.sort()
ms = lambda q: seconds[min(len(seconds) - 1, int(q * len(seconds)))] * 1e3
print(f"fdatasync after an 8 KiB append, {count} times in {directory}")
print(f"ms  p50 {ms(0.5):.3f}  p90 {ms(0.9):.3f}  p99 {ms(0.99):.3f}  p99.9 {ms(0.999):.3f}  max {seconds[-1] * 1e3:.3f}")
