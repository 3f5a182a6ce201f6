#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs and starts what the tests need
# (ansible-core in a virtualenv, sshd, a PostgreSQL server on a local port), then runs every
# test of the workspace with nextest. A dependency that cannot be had stops the run with a
# message naming it; no test is skipped for lack of it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# Build output is cached outside the clone so that a fresh clone does not rebuild everything.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/promptops/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"

command -v cargo >/dev/null || die "cargo is not installed"
command -v cargo-nextest >/dev/null || cargo nextest --version >/dev/null 2>&1 \
  || die "cargo-nextest is not installed (cargo install cargo-nextest --locked)"

export TERRAFORM_BIN="${TERRAFORM_BIN:-$(command -v terraform || true)}"
[ -x "${TERRAFORM_BIN:-}" ] || die "terraform is not installed (the Terraform tests run the real binary)"
say "terraform: $("$TERRAFORM_BIN" version | head -1)"

if [ -x scripts/setup-ansible.sh ] || [ -f scripts/setup-ansible.sh ]; then
  say "ansible virtualenv"
  eval "$(bash scripts/setup-ansible.sh)"
fi

if [ -f scripts/start-postgres.sh ]; then
  say "PostgreSQL"
  eval "$(bash scripts/start-postgres.sh)"
  trap 'bash scripts/stop-postgres.sh >/dev/null 2>&1 || true' EXIT
fi

say "cargo nextest run --workspace"
cargo nextest run --workspace --no-fail-fast "$@"
