#!/usr/bin/env bash
# Prepares what the playbook tests in crates/infra-contract need, and prints the environment
# for them on stdout (so that `eval "$(bash scripts/setup-ansible.sh)"` works); progress goes
# to stderr.
#
#  - a virtualenv with pinned ansible-core and ansible-lint from the Python package index,
#    at ${PROMPTOPS_VENV:-$HOME/.cache/promptops/venv}; reused as is when it already holds
#    exactly the pinned versions (a stamp file records them), rebuilt otherwise;
#  - OpenSSH's server (`/usr/sbin/sshd`) and `ssh-keygen`, installed from Debian's packages
#    when missing: the end-to-end test runs a real sshd on a loopback port;
#  - python3-venv and python3-apt for the system Python, which the playbook uses on the
#    loopback "target" (venv for the app, apt module for its package task).
#
# Prints:
#   export PROMPTOPS_TEST_ANSIBLE_BIN=<venv>/bin   (ansible-playbook, ansible-lint)
#   export PROMPTOPS_TEST_SSHD=/usr/sbin/sshd
#   export PROMPTOPS_TEST_PYTHON=<venv>/bin/python (runs the Vault-API stand-in)
set -euo pipefail

ANSIBLE_CORE_VERSION=2.19.14 # newest line that still supports Python 3.11
ANSIBLE_LINT_VERSION=26.10.1

venv="${PROMPTOPS_VENV:-$HOME/.cache/promptops/venv}"
python="${PROMPTOPS_PYTHON:-python3}"
stamp="$venv/.promptops-pins"
want="ansible-core==$ANSIBLE_CORE_VERSION ansible-lint==$ANSIBLE_LINT_VERSION"

say() { printf 'setup-ansible: %s\n' "$*" >&2; }
die() { printf 'setup-ansible: %s\n' "$*" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and apt-get is not available to install it"
  say "installing Debian packages: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null || ! command -v ssh >/dev/null; then
  apt_install openssh-server openssh-client
fi
missing_debs=()
for deb in python3-venv python3-apt; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing_debs+=("$deb")
done
[ ${#missing_debs[@]} -eq 0 ] || apt_install "${missing_debs[@]}"
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is still missing after installing openssh-server"
# sshd refuses to start without its privilege separation directory.
mkdir -p /run/sshd 2>/dev/null || true
command -v shred >/dev/null || die "shred (coreutils) is missing"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
  && [ -x "$venv/bin/ansible-playbook" ] && [ -x "$venv/bin/ansible-lint" ]; then
  say "virtualenv $venv already holds $want"
else
  command -v "$python" >/dev/null || die "$python is not installed (needed for the ansible virtualenv)"
  say "creating virtualenv $venv with $want"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2 || die "'$python -m venv' failed (install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "ansible-core==$ANSIBLE_CORE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION" >&2 \
    || die "pip could not install $want"
  printf '%s' "$want" >"$stamp"
fi

printf 'export PROMPTOPS_TEST_ANSIBLE_BIN=%q\n' "$venv/bin"
printf 'export PROMPTOPS_TEST_SSHD=%q\n' /usr/sbin/sshd
printf 'export PROMPTOPS_TEST_PYTHON=%q\n' "$venv/bin/python"
