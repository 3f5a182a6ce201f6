#!/usr/bin/env bash
# Runs the whole test suite the way CI does: installs and starts what the tests need
# (bubblewrap for the Terraform sandbox, ansible-core in a virtualenv, sshd, a PostgreSQL
# server on a local port, Debian's chromium for the browser tests), then runs every
# test of the workspace with nextest, then rustfmt and clippy (warnings are errors). A
# dependency that cannot be had stops the run with a message naming it; no test is skipped
# for lack of it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# Build output is cached outside the clone so that a fresh clone does not rebuild everything.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/promptops/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A test run rebuilds from a clean tree: incremental state only costs disk (gigabytes per
# toolchain bump) and time; line tables keep panics' backtraces readable at a fraction of
# full debug info's size and link time (~30 test binaries each link the whole service).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
mkdir -p "$CARGO_TARGET_DIR"
free_kib=$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print $4 }')
if [ "${free_kib:-0}" -lt $((6 * 1024 * 1024)) ]; then
  say "WARNING: only $((free_kib / 1024)) MiB free for $CARGO_TARGET_DIR; the build needs about 6 GiB (a full disk shows up as linker bus errors)"
fi

command -v cargo >/dev/null || die "cargo is not installed"
command -v cargo-nextest >/dev/null || cargo nextest --version >/dev/null 2>&1 \
  || die "cargo-nextest is not installed (cargo install cargo-nextest --locked)"

export TERRAFORM_BIN="${TERRAFORM_BIN:-$(command -v terraform || true)}"
[ -x "${TERRAFORM_BIN:-}" ] || die "terraform is not installed (the Terraform tests run the real binary)"
say "terraform: $("$TERRAFORM_BIN" version | head -1)"

say "bubblewrap (every Terraform run is sandboxed with it)"
if ! command -v bwrap >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } >&2 \
    || die "bubblewrap is not installed and apt-get could not install it (apt-get install bubblewrap): the Terraform tests run terraform in its sandbox"
fi
bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
  --proc /proc --dev /dev --unshare-pid -- /usr/bin/true \
  || die "bubblewrap cannot create its namespaces here (user/PID namespaces, a fresh /proc): the Terraform tests need them"

say "Terraform 1.15.5 launcher, stand-in providers, OpenBao and what the Compute stand-in's machines need (actions, the root module, the whole chain)"
terraform_setup=$(bash scripts/setup-terraform.sh) || die "scripts/setup-terraform.sh failed: the action and root-module tests need Terraform 1.15.5 and the stand-in providers"
eval "$terraform_setup"

say "ansible-core virtualenv and sshd (playbook tests)"
setup=$(bash scripts/setup-ansible.sh) || die "scripts/setup-ansible.sh failed: the playbook tests need ansible-core and sshd"
eval "$setup"

say "PostgreSQL server on a local port (store tests run on SQLite and PostgreSQL)"
postgres=$(bash scripts/start-postgres.sh) || die "scripts/start-postgres.sh failed: the PostgreSQL store tests need a server"
eval "$postgres"
trap 'bash scripts/start-postgres.sh --stop >/dev/null 2>&1 || true' EXIT

say "headless chromium (dashboard browser tests)"
chromium=$(bash scripts/setup-chromium.sh) || die "scripts/setup-chromium.sh failed: the browser tests need Debian's chromium"
eval "$chromium"

say "cargo nextest run --workspace"
status=0
cargo nextest run --workspace --no-fail-fast "$@" || status=$?

# The lints run after the tests, so that a lint failure does not hide their results, and
# only for the whole suite (arguments select tests).
if [ "$#" -eq 0 ]; then
  say "lints: cargo fmt --check and cargo clippy with warnings as errors"
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt is not installed (rustup component add rustfmt)"
  cargo clippy --version >/dev/null 2>&1 || die "clippy is not installed (rustup component add clippy)"
  cargo fmt --all --check || { say "cargo fmt --all --check: the files above are not formatted (run cargo fmt --all)"; status=1; }
  cargo clippy --workspace --all-targets -- -D warnings || { say "cargo clippy found the problems above"; status=1; }
fi
exit "$status"
