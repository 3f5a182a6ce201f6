#!/usr/bin/env bash
# Makes Debian's headless-capable `chromium` available for the browser tests and prints the
# shell line that points the tests at it:
#
#   eval "$(bash scripts/setup-chromium.sh)"     # exports PROMPTOPS_TEST_CHROMIUM
#
# Installs the `chromium` package with apt-get when /usr/bin/chromium is missing (as root,
# or through sudo). Everything but the exported line goes to stderr.
set -euo pipefail

say() { printf 'setup-chromium: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

bin=/usr/bin/chromium

if [ ! -x "$bin" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    die "$bin is missing and installing the chromium package needs root (or sudo)"
  fi
  command -v apt-get >/dev/null 2>&1 || die "$bin is missing and apt-get is not available to install chromium"
  say "installing chromium with apt-get"
  "${sudo[@]}" apt-get update >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2 \
    || die "apt-get install chromium failed"
fi

[ -x "$bin" ] || die "$bin is still missing after installing the chromium package"
say "$("$bin" --version 2>/dev/null || echo "chromium (version unknown)")"
echo "export PROMPTOPS_TEST_CHROMIUM=$bin"
