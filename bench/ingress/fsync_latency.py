#!/usr/bin/env python3
"""How long this disk takes to make an append durable: writes 8 KiB and calls fdatasync,
COUNT times (default 3000), in a scratch file under DIR (default: this directory), and prints
the median, p90, p99, p99.9 and the maximum. The ingress server's writer does the same per
batch (SQLite's log), so this is the floor under its commit latency on the same disk.

With --overwrite, the writes go over a file already written and synced, from its start, as
SQLite's log is written once it has been checkpointed and is reused: the file's size does not
change, so a sync need not write its inode for that. With --stat, each write is followed by a
stat of the file, as the ingress writer did before each sync until it stopped: on Linux 6.13
and later a stat asks for the file's times, the next write then gets a fine-grained
modification time, and ext4 writes the inode's block at every sync that follows one. The
report also gives the system CPU per sync.

With --overlap, two threads append and sync the same file at once (as a writer that started
the next batch's sync while the previous one is still running would). It prints the same
percentiles over both threads, and then, for every sync that took over 5 ms, how many syncs
the other thread started and finished inside it. Zero means the stall is the device's: a
second sync in flight would have waited as long, so overlapping cannot shorten the tail.

    python3 bench/ingress/fsync_latency.py [--overlap] [--overwrite] [--stat] [DIR] [COUNT]
"""
import os
import resource
import sys
import tempfile
import threading
import time

args = sys.argv[1:]
flags = {"--overlap", "--overwrite", "--stat"}
overlap = "--overlap" in args
overwrite = "--overwrite" in args
stat_each = "--stat" in args
args = [arg for arg in args if arg not in flags]
if any(arg.startswith("--") for arg in args):
    sys.exit(f"fsync_latency: unknown option {next(a for a in args if a.startswith('--'))}; "
             f"the options are {', '.join(sorted(flags))}")
directory = args[0] if args else os.path.dirname(os.path.abspath(__file__))
count = int(args[1]) if len(args) > 1 else 3000
if count < 10:
    sys.exit("fsync_latency: COUNT must be at least 10")
block = b"x" * 8192
STALL = 0.005


def sync_loop(fd, count, spans):
    for _ in range(count):
        os.write(fd, block)
        if stat_each:
            os.fstat(fd)
        started = time.perf_counter()
        os.fdatasync(fd)
        spans.append((started, time.perf_counter()))


threads = 2 if overlap else 1
spans = [[] for _ in range(threads)]
with tempfile.NamedTemporaryFile(dir=directory, prefix="fsync-latency.") as scratch:
    if overwrite:
        # The whole file first, synced, then back to its start: every write lands on
        # blocks the file already has.
        scratch.write(block * count * threads)
        scratch.flush()
        os.fsync(scratch.fileno())
        os.lseek(scratch.fileno(), 0, os.SEEK_SET)
    workers = [
        threading.Thread(target=sync_loop, args=(scratch.fileno(), count, spans[i]))
        for i in range(threads)
    ]
    system_before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    system_cpu = resource.getrusage(resource.RUSAGE_SELF).ru_stime - system_before
seconds = sorted(end - start for thread in spans for start, end in thread)
ms = lambda q: seconds[min(len(seconds) - 1, int(q * len(seconds)))] * 1e3
print(f"fdatasync after an 8 KiB {'overwrite' if overwrite else 'append'}"
      + (" and a stat" if stat_each else "") + f", {count} times in {directory}"
      + (" on each of two threads at once" if overlap else ""))
print(f"ms  p50 {ms(0.5):.3f}  p90 {ms(0.9):.3f}  p99 {ms(0.99):.3f}  p99.9 {ms(0.999):.3f}  max {seconds[-1] * 1e3:.3f}"
      f"  ({len(seconds) / elapsed:,.0f} syncs/s, {system_cpu / len(seconds) * 1e6:.0f} us of system CPU each)")
if overlap:
    stalls = 0
    finished_inside = []
    for mine, other in ((spans[0], spans[1]), (spans[1], spans[0])):
        for start, end in mine:
            if end - start > STALL:
                stalls += 1
                finished_inside.append(sum(1 for s, e in other if s > start and e < end))
    if stalls:
        none = sum(1 for n in finished_inside if n == 0)
        print(f"{stalls} syncs over {STALL * 1e3:.0f} ms; in {none} of them the other thread "
              f"finished no sync it had started meanwhile (median finished: "
              f"{sorted(finished_inside)[len(finished_inside) // 2]})")
    else:
        print(f"no sync took over {STALL * 1e3:.0f} ms")
