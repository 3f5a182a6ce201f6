#!/usr/bin/env bash
# Ingress load benchmark: builds the release `promptops`, starts `promptops serve` on a free
# loopback port with a fresh SQLite database, posts the signed `issue_comment.created`
# fixture (with an `installation`, as GitHub sends App deliveries) at a fixed concurrency,
# each request with its own X-GitHub-Delivery id, and reports deliveries/second, latency
# percentiles and the server's peak RSS. Then it stops the server and checks that every
# delivery answered 202 is in the `deliveries` table. Exits non-zero if any is missing or
# any request failed.
#
#   bash bench/ingress/run.sh                      # 64 connections, 10 s
#   CONCURRENCY=128 DURATION=20 bash bench/ingress/run.sh
#   REQUESTS=200000 bash bench/ingress/run.sh      # a fixed count instead of a duration
#
# Knobs (environment): CONCURRENCY (64), DURATION seconds (10) or REQUESTS, WARMUP requests
# (5000, not measured), LOADGEN_THREADS (1), SERVER_LOG (the server's RUST_LOG, default
# "info" as in production), SKIP_BUILD=1 (use the binaries already built),
# SERVER_BIN (another promptops binary, e.g. a saved baseline),
# PROMPTOPS_BENCH_POSTGRES_URL (also run against that PostgreSQL database; its deliveries
# are counted with psql), WITHOUT_FSYNC=1 (see below).
#
# WITHOUT_FSYNC=1 runs the server with fsync and fdatasync turned into no-ops (a two-line
# LD_PRELOAD library built here with cc): NOT a durable configuration, but the bound the
# CPU path alone allows — what no way of syncing, however clever, could beat on this
# machine. The report's label says so.
#
# The generator runs on the same machine as the server and takes a share of its cores; the
# report prints the CPU seconds each side used so the figures can be read with that in mind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
concurrency=${CONCURRENCY:-64}
warmup=${WARMUP:-5000}
threads=${LOADGEN_THREADS:-1}
server_log=${SERVER_LOG:-info}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for tool in python3 cargo; do
  command -v "$tool" >/dev/null || die "$tool is required (apt-get install python3; Rust toolchain for cargo)"
done
# Where cargo puts the build: CARGO_TARGET_DIR, or what cargo's own configuration says
# (`build.target-dir`), which only cargo knows.
target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
  target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') \
    || die "cargo metadata failed, so the build's directory is unknown: set CARGO_TARGET_DIR"
fi
loadgen_target=$target_dir/bench-loadgen

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building the release server (cargo build --release -p promptops)"
  (cd "$repo" && cargo build --release -p promptops >&2)
  say "building the load generator"
  (cd "$here/loadgen" && CARGO_TARGET_DIR=$loadgen_target cargo build --release >&2)
fi
server_bin=${SERVER_BIN:-$target_dir/release/promptops}
loadgen_bin=$loadgen_target/release/promptops-ingress-loadgen
[ -x "$server_bin" ] || die "$server_bin is missing: run without SKIP_BUILD=1"
[ -x "$loadgen_bin" ] || die "$loadgen_bin is missing: run without SKIP_BUILD=1"

work=$(mktemp -d "${TMPDIR:-/tmp}/promptops-ingress-bench.XXXXXX")
server_pid=
preload=
sqlite_label=sqlite
if [ "${WITHOUT_FSYNC:-0}" = 1 ]; then
  command -v cc >/dev/null || die "WITHOUT_FSYNC=1 needs a C compiler (cc) for its LD_PRELOAD library"
  printf 'int fsync(int fd) { (void)fd; return 0; }\nint fdatasync(int fd) { (void)fd; return 0; }\n' >"$work/nosync.c"
  cc -shared -fPIC -O2 -o "$work/nosync.so" "$work/nosync.c" || die "building the no-fsync library failed"
  preload=$work/nosync.so
  sqlite_label=sqlite-without-fsync
fi
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# GitHub adds `installation` to every App delivery; the fixture (from the public examples)
# has none. Compact JSON, as GitHub sends it.
payload=$work/issue_comment.created.json
python3 - "$here/fixtures/issue_comment.created.json" "$payload" <<'EOF'
import json, sys
event = json.load(open(sys.argv[1]))
event["installation"] = {"id": 42424242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0MjQyNDI="}
open(sys.argv[2], "w").write(json.dumps(event, separators=(",", ":")))
EOF
secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cpu_seconds() { # utime + stime of a process, in seconds
  awk '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat"
}

# run_one LABEL DATABASE_URL COUNT_COMMAND...: one server, one load run, one check.
# COUNT_COMMAND gets the file of acknowledged ids and prints how many of them are stored.
run_one() {
  local label=$1 database_url=$2
  shift 2
  local port log result acked
  port=$(free_port)
  log=$work/server-$label.log
  acked=$work/acked-$label.txt
  say "[$label] starting promptops serve on 127.0.0.1:$port"
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    RUST_LOG="$server_log" \
    GITHUB_APP_ID=424242 \
    GITHUB_PRIVATE_KEY_PATH="$repo/crates/testkit/keys/app-private-key.pem" \
    GITHUB_WEBHOOK_SECRET="$secret" \
    GITHUB_API_URL=http://127.0.0.1:9 \
    DATABASE_URL="$database_url" \
    PROMPTOPS_BIND="127.0.0.1:$port" \
    PROMPTOPS_WORKDIR="$work/promptops-work" \
    ${preload:+LD_PRELOAD="$preload"} \
    "$server_bin" serve >"$log" 2>&1 &
  server_pid=$!
  local tries=0
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$log" >&2; die "[$label] the server exited"; }
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || die "[$label] the server did not get ready within 30 s: $(curl -sS "http://127.0.0.1:$port/readyz" 2>&1)"
    sleep 0.1
  done

  local limit=(--duration-secs "${DURATION:-10}")
  [ -n "${REQUESTS:-}" ] && limit=(--requests "$REQUESTS")
  local cpu_before rss_before
  cpu_before=$(cpu_seconds "$server_pid")
  rss_before=$(awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status")
  say "[$label] posting at concurrency $concurrency (${REQUESTS:+$REQUESTS requests}${REQUESTS:-${DURATION:-10} s}, after $warmup warm-up requests)"
  result=$(LOADGEN_WEBHOOK_SECRET=$secret "$loadgen_bin" \
    --addr "127.0.0.1:$port" --payload "$payload" --event issue_comment \
    --concurrency "$concurrency" --threads "$threads" --warmup-requests "$warmup" \
    --run-id "$(python3 -c 'import secrets; print(secrets.randbits(32))')" \
    "${limit[@]}" --acked-out "$acked")
  local cpu_after hwm rss anon
  cpu_after=$(cpu_seconds "$server_pid")
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status")
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
  anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$server_pid/status")

  # A graceful stop (SIGTERM) closes the pool; the check below reads the database afterwards,
  # so it sees only what was committed.
  kill -TERM "$server_pid"
  wait "$server_pid" || die "[$label] the server exited with an error on SIGTERM (log: $log)"
  server_pid=

  local stored
  stored=$("$@" "$acked")
  python3 - "$label" "$result" "$cpu_before" "$cpu_after" "$rss_before" "$hwm" "$rss" "$stored" "$(nproc)" "$warmup" "$anon" <<'EOF'
import json, sys
label, result, cpu0, cpu1, rss0, hwm, rss, stored, cores, warmup, anon = sys.argv[1:]
r = json.loads(result)
lat = r["latency_ms"]
server_cpu = float(cpu1) - float(cpu0)
failed = r["errors"] + r["other_status"] + r["duplicate"]
print(f"== ingress benchmark: {label} ==")
if label.endswith("-without-fsync"):
    print("durability           NONE: fsync and fdatasync were no-ops (WITHOUT_FSYNC=1); a bound for the CPU path, not a result")
print(f"machine              {cores} cores, shared by server and load generator")
print(f"concurrency          {r['concurrency']} keep-alive connections, generator threads {r['generator_threads']}")
print(f"measured             {r['requests']} requests in {r['seconds']:.2f} s")
print(f"deliveries/second    {r['deliveries_per_second']:.0f}")
print(f"latency ms           p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  p99.9 {lat['p999']:.2f}  max {lat['max']:.2f}")
print(f"server peak RSS      {int(hwm) / 1024:.1f} MiB (VmHWM; {int(rss0) / 1024:.1f} MiB before load, {int(rss) / 1024:.1f} MiB at the end, {int(anon) / 1024:.1f} MiB of it anonymous)")
# The rest is the binary's mapped pages: about 2 MiB more when its file was just written
# (a fresh build or copy) than once it was read back from disk, for the same binary.
gen = r.get("generator_cpu_seconds")
# Both CPU figures include the warm-up requests, so they are divided by all requests sent.
sent = r["requests"] + int(warmup)
print(f"CPU seconds          server {server_cpu:.1f}, generator {gen if gen is not None else 'n/a'} (of {float(cores) * r['seconds']:.1f} available during the measured phase)")
# A short run (the one-request build check of compare.sh) can take less CPU than the
# clock's tick shows: no ceiling then.
def ceiling(cpu_seconds):
    return f"{float(cores) / (cpu_seconds / sent):.0f}/s" if cpu_seconds > 0 else "not measurable"
print(f"CPU per delivery     server {server_cpu / sent * 1e6:.0f} us" + (f", generator {gen / sent * 1e6:.0f} us" if gen is not None else "")
      + f" (the ceiling on {cores} idle cores is about {ceiling(server_cpu + (gen or 0))} with the generator, {ceiling(server_cpu)} without)")
print(f"answers              {r['accepted']} accepted, {r['duplicate']} duplicate, {r['other_status']} other status, {r['errors']} errors"
      + (f" (first: {r['first_error']})" if r['first_error'] else ""))
print(f"{'stored (page cache)' if label.endswith('-without-fsync') else 'durably stored':<20} {stored} of {r['accepted']} acknowledged deliveries")
ok = failed == 0 and int(stored) == r["accepted"] and r["accepted"] > 0
print("result               " + ("OK: every acknowledged delivery is stored" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF
}

count_sqlite() { # DB_PATH ACKED_FILE
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
db, acked = sys.argv[1:]
ids = [line.strip() for line in open(acked) if line.strip()]
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
con.execute("CREATE TEMP TABLE acked (id TEXT PRIMARY KEY) WITHOUT ROWID")
con.executemany("INSERT INTO acked VALUES (?)", ((i,) for i in ids))
print(con.execute("SELECT count(*) FROM acked JOIN deliveries ON deliveries.delivery_id = acked.id").fetchone()[0])
EOF
}

count_postgres() { # URL ACKED_FILE
  command -v psql >/dev/null || die "psql is required to check the PostgreSQL run (apt-get install postgresql-client)"
  {
    echo "CREATE TEMP TABLE acked (id text PRIMARY KEY);"
    echo "\\copy acked FROM '$2'"
    echo "SELECT count(*) FROM acked JOIN deliveries ON deliveries.delivery_id = acked.id;"
  } | psql -X -q -t -A -v ON_ERROR_STOP=1 "$1" | tail -1
}

status=0
db=$work/bench.db
run_one "$sqlite_label" "sqlite://$db" count_sqlite "$db" || status=1
if [ -n "${PROMPTOPS_BENCH_POSTGRES_URL:-}" ]; then
  # The ids carry this run's process id, so earlier runs' rows do not count.
  run_one postgres "$PROMPTOPS_BENCH_POSTGRES_URL" count_postgres "$PROMPTOPS_BENCH_POSTGRES_URL" || status=1
fi
exit "$status"
