#!/usr/bin/env bash
# End-to-end latency of the bot and 20 deployments planned at once: the release
# `promptops serve` against the stateful fake GitHub (in the driver's process, zero network
# latency), real Terraform on tests/fixtures/terraform, the offline planner. The driver is
# the `bot_latency` example of promptops-testkit (crates/testkit/examples/bot_latency).
#
#   bash bench/latency/run.sh                    # 20 latency runs, then 20 deployments at once
#   RUNS=5 MODE=latency bash bench/latency/run.sh
#   PROMPTOPS_WORKERS=8 MODE=parallel bash bench/latency/run.sh
#
# Knobs (environment): MODE (both | latency | parallel), RUNS (20), DEPLOYMENTS (20), BENCH_ROUNDS (5),
# TERRAFORM_BIN (default: terraform on PATH), PROMPTOPS_WORKERS (the bot's; default 4),
# SKIP_BUILD=1 (use the binaries already built), BENCH_GITHUB_RTT_MS (a round trip the fake
# GitHub adds to every request; targets are judged at zero only), BENCH_TRACE=1 (list the
# bot's GitHub requests per step), BENCH_MODULE=chain (the repository's own terraform/ on
# the real chain with the stand-in providers; plans only; needs root).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
module=${BENCH_MODULE:-fixture}
# The chain is measured for its plans only (see bench/latency/README.md).
if [ "$module" = chain ]; then mode=${MODE:-latency}; else mode=${MODE:-both}; fi

say() { printf 'latency: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v cargo >/dev/null || die "cargo is required (a Rust toolchain)"
command -v python3 >/dev/null || die "python3 is required"
# Where cargo puts the build: CARGO_TARGET_DIR, or what cargo's own configuration says
# (`build.target-dir`), which only cargo knows.
target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
  target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') \
    || die "cargo metadata failed, so the build's directory is unknown: set CARGO_TARGET_DIR"
fi
command -v bwrap >/dev/null || die "bubblewrap is required: the bot runs Terraform in its sandbox (apt-get install bubblewrap)"
if [ "$module" = chain ]; then
  say "setting up the chain's tools (Terraform 1.15.5, the stand-in providers, OpenBao, ansible)"
  eval "$(bash "$repo/scripts/setup-terraform.sh")"
  eval "$(bash "$repo/scripts/setup-ansible.sh")"
fi
export TERRAFORM_BIN=${TERRAFORM_BIN:-$(command -v terraform || true)}
[ -x "${TERRAFORM_BIN:-}" ] || die "terraform is required (on PATH, or TERRAFORM_BIN)"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building the release server and the driver"
  (cd "$repo" && cargo build --release -p promptops >&2)
  (cd "$repo" && cargo build --release -p promptops-testkit --example bot_latency >&2)
fi
export PROMPTOPS_BIN=$target_dir/release/promptops
driver=$target_dir/release/examples/bot_latency
[ -x "$PROMPTOPS_BIN" ] || die "$PROMPTOPS_BIN is missing: run without SKIP_BUILD=1"
[ -x "$driver" ] || die "$driver is missing: run without SKIP_BUILD=1"

say "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
if [ "$mode" = both ] || [ "$mode" = latency ]; then
  "$driver" latency "${RUNS:-20}" || status=1
fi
if [ "$mode" = both ] || [ "$mode" = parallel ]; then
  "$driver" parallel "${DEPLOYMENTS:-20}" || status=1
fi
exit "$status"
