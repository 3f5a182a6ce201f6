#!/usr/bin/env bash
# The baseline of the ingress benchmark: Probot's createNodeMiddleware on a bare node:http
# server (probot/server.js: signature verification, parsing, an empty issue_comment.created
# handler, nothing stored), fed by the same load generator, payload, warm-up, concurrency and
# duration as run.sh feeds promptops. Prints deliveries/second, latency percentiles, the
# server's peak RSS and its CPU per delivery. `compare.sh` runs both sides and tabulates them.
#
#   bash bench/ingress/probot-baseline.sh                 # 64 connections, 10 s
#   CONCURRENCY=128 DURATION=20 bash bench/ingress/probot-baseline.sh
#
# Knobs: CONCURRENCY (64), DURATION (10), WARMUP (5000), LOG_LEVEL (Probot's; default
# "fatal": a quiet server is the strongest baseline, as promptops logs nothing per delivery
# at its default level either), SKIP_BUILD=1 (load generator already built), PROBOT_DIR
# (where the npm packages go; default ~/.cache/promptops/probot-baseline).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
concurrency=${CONCURRENCY:-64}
warmup=${WARMUP:-5000}
probot_dir=${PROBOT_DIR:-${HOME:-/tmp}/.cache/promptops/probot-baseline}

say() { printf 'baseline: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for tool in node npm openssl python3 cargo curl; do
  command -v "$tool" >/dev/null || die "$tool is required (Node.js 20.18+ with npm, openssl, python3, curl, a Rust toolchain)"
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
  say "building the load generator"
  (cd "$here/loadgen" && CARGO_TARGET_DIR=$loadgen_target cargo build --release >&2)
fi
loadgen_bin=$loadgen_target/release/promptops-ingress-loadgen
[ -x "$loadgen_bin" ] || die "$loadgen_bin is missing: run without SKIP_BUILD=1"

# Installed outside the clone, from the committed lock file (exact versions, checked hashes).
mkdir -p "$probot_dir"
if ! cmp -s "$here/probot/package-lock.json" "$probot_dir/package-lock.json" || [ ! -d "$probot_dir/node_modules" ]; then
  say "installing the Probot app's packages into $probot_dir (npm ci)"
  cp "$here/probot/package.json" "$here/probot/package-lock.json" "$probot_dir/"
  (cd "$probot_dir" && npm ci --no-audit --no-fund >&2) || die "npm ci failed: the npm registry must be reachable"
fi
cp "$here/probot/server.js" "$probot_dir/server.js"

work=$(mktemp -d "${TMPDIR:-/tmp}/promptops-probot-baseline.XXXXXX")
app_pid=
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The same payload as run.sh: the fixture plus the `installation` of an App delivery.
payload=$work/issue_comment.created.json
python3 - "$here/fixtures/issue_comment.created.json" "$payload" <<'PY'
import json, sys
event = json.load(open(sys.argv[1]))
event["installation"] = {"id": 42424242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0MjQyNDI="}
open(sys.argv[2], "w").write(json.dumps(event, separators=(",", ":")))
PY
secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
# Probot wants an App key at start even though nothing here calls GitHub.
openssl genrsa -out "$work/app-key.pem" 2048 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

probot_version=$(node -p "require('$probot_dir/node_modules/probot/package.json').version")
say "starting Probot $probot_version (createNodeMiddleware on node:http) on 127.0.0.1:$port, Node $(node --version)"
# `exec` makes $! the node process itself, whose CPU time and peak RSS the report reads.
(cd "$probot_dir" && exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" NODE_ENV=production \
  APP_ID=424242 PRIVATE_KEY_PATH="$work/app-key.pem" WEBHOOK_SECRET="$secret" \
  HOST=127.0.0.1 PORT="$port" LOG_LEVEL="${LOG_LEVEL:-fatal}" \
  node server.js >"$work/probot.log" 2>&1) &
app_pid=$!
tries=0
until curl -fsS -o /dev/null "http://127.0.0.1:$port/ping" 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 300 ] || { tail -20 "$work/probot.log" >&2; die "the Probot app did not answer /ping within 30 s"; }
  sleep 0.1
done
node_pid=$app_pid
cpu_seconds() { awk '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / 100 }' "/proc/$1/stat"; }
cpu_before=$(cpu_seconds "$node_pid")

result=$(LOADGEN_WEBHOOK_SECRET=$secret "$loadgen_bin" \
  --addr "127.0.0.1:$port" --path /api/github/webhooks --ok-status 200 \
  --payload "$payload" --event issue_comment \
  --concurrency "$concurrency" --warmup-requests "$warmup" --duration-secs "${DURATION:-10}")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$node_pid/status")
cpu_after=$(cpu_seconds "$node_pid")

python3 - "$result" "$hwm" "$(nproc)" "$cpu_before" "$cpu_after" "$warmup" "$probot_version" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); hwm = int(sys.argv[2]); cores = sys.argv[3]; version = sys.argv[7]
cpu = float(sys.argv[5]) - float(sys.argv[4]); sent = r["requests"] + int(sys.argv[6])
lat = r["latency_ms"]
print(f"== ingress baseline: Probot {version} createNodeMiddleware on node:http (stores nothing) ==")
print(f"machine              {cores} cores, shared by the app and the load generator")
print(f"concurrency          {r['concurrency']} keep-alive connections")
print(f"measured             {r['requests']} requests in {r['seconds']:.2f} s")
print(f"deliveries/second    {r['deliveries_per_second']:.0f}")
print(f"latency ms           p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  p99.9 {lat['p999']:.2f}  max {lat['max']:.2f}")
print(f"server peak RSS      {hwm / 1024:.1f} MiB (VmHWM of the node process)")
print(f"CPU seconds          server {cpu:.1f}, generator {r['generator_cpu_seconds']}")
print(f"CPU per delivery     server {cpu / sent * 1e6:.0f} us (warm-up included)")
print(f"answers              {r['accepted']} answered 200, {r['other_status']} other status, {r['errors']} errors"
      + (f" (first: {r['first_error']})" if r['first_error'] else ""))
sys.exit(0 if r["errors"] == 0 and r["other_status"] == 0 and r["accepted"] > 0 else 1)
PY
