#!/usr/bin/env bash
# promptops against the Probot baseline, one after the other in the same run: for each
# concurrency (16 and 64 connections by default) `run.sh` (promptops serve, SQLite, every
# acknowledged delivery checked in the database) and then `probot-baseline.sh` (Probot's
# createNodeMiddleware on node:http, nothing stored), with the same generator, payload,
# warm-up and duration. Prints each run's report, then one table.
#
#   bash bench/ingress/compare.sh
#   CONNECTIONS="16 64 128" DURATION=20 bash bench/ingress/compare.sh
#
# Knobs: CONNECTIONS ("16 64"), DURATION (10), WARMUP (5000), SKIP_BUILD=1; the rest as
# run.sh and probot-baseline.sh read them. Exits 1 if any run failed (a missing delivery,
# an error, a non-2xx answer).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
connections=${CONNECTIONS:-16 64}
export DURATION=${DURATION:-10} WARMUP=${WARMUP:-5000}

say() { printf 'compare: %s\n' "$*" >&2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building the release server and the load generator once for every run"
  SKIP_BUILD=0 REQUESTS=1 WARMUP=0 CONCURRENCY=1 bash "$here/run.sh" >/dev/null
fi

reports=$(mktemp -d "${TMPDIR:-/tmp}/promptops-ingress-compare.XXXXXX")
trap 'rm -rf "$reports"' EXIT
status=0
for c in $connections; do
  say "promptops at $c connections"
  CONCURRENCY=$c SKIP_BUILD=1 bash "$here/run.sh" | tee "$reports/promptops-$c.txt" || status=1
  say "Probot at $c connections"
  CONCURRENCY=$c SKIP_BUILD=1 bash "$here/probot-baseline.sh" | tee "$reports/probot-$c.txt" || status=1
done

python3 - "$reports" "$(nproc)" "$DURATION" $connections <<'PY'
import pathlib, re, sys
reports, cores, duration, *connections = sys.argv[1:]

def figures(path):
    text = pathlib.Path(path).read_text()
    if not text.strip():
        side = pathlib.Path(path).stem
        sys.exit(f"compare: the {side} run printed no report: it failed before measuring (its messages are above)")
    def grab(pattern):
        m = re.search(pattern, text, re.M)
        if not m:
            sys.exit(f"compare: no line matching {pattern!r} in {path}: the report format changed")
        return float(m.group(1))
    return {
        "rate": grab(r"^deliveries/second\s+([\d.]+)"),
        "p50": grab(r"^latency ms\s+p50 ([\d.]+)"),
        "p99": grab(r"^latency ms\s.*p99 ([\d.]+)"),
        "rss": grab(r"^server peak RSS\s+([\d.]+) MiB"),
        "cpu": grab(r"^CPU per delivery\s+server ([\d.]+) us"),
        "ok": 1.0 if re.search(r"^result\s+OK", text, re.M) else 0.0,
    }

print()
print(f"== promptops vs Probot, {cores} cores, {duration} s per run after the warm-up ==")
print("| connections | side | deliveries/s | p50 ms | p99 ms | peak RSS MiB | CPU/delivery us |")
print("|---|---|---|---|---|---|---|")
for c in connections:
    ours, theirs = figures(f"{reports}/promptops-{c}.txt"), figures(f"{reports}/probot-{c}.txt")
    stored = "promptops (durable)" if ours["ok"] else "promptops (CHECK FAILED)"
    for side, f in ((stored, ours), ("Probot (stores nothing)", theirs)):
        print(f"| {c} | {side} | {f['rate']:,.0f} | {f['p50']:.2f} | {f['p99']:.2f} | {f['rss']:.1f} | {f['cpu']:.0f} |")
    print(f"| {c} | ratio | {ours['rate'] / theirs['rate']:.2f}x | | | | |")
PY
exit "$status"
