#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests and prints the shell lines that point
# the tests at it:
#
#   eval "$(bash scripts/start-postgres.sh)"        # exports PROMPTOPS_TEST_POSTGRES_URL
#   bash scripts/start-postgres.sh --stop           # stops it and removes its directory
#
# Uses the Debian PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin), installing
# the `postgresql` package when they are missing. The cluster lives in a fresh directory under
# ${TMPDIR:-/tmp}, listens on 127.0.0.1 only, on a free port, with trust authentication for
# local connections (it holds nothing but test data). initdb refuses to run as root, so as
# root the server runs as the `postgres` user (created by the Debian package).
# Everything but the exported lines goes to stderr.
set -euo pipefail

say() { printf 'start-postgres: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

state_file="${TMPDIR:-/tmp}/promptops-test-postgres.dir"

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = "--stop" ]; then
  dir="${PROMPTOPS_TEST_POSTGRES_DIR:-$(cat "$state_file" 2>/dev/null || true)}"
  [ -n "$dir" ] && [ -d "$dir" ] || { say "no test server recorded; nothing to stop"; exit 0; }
  bin=$(find_bin) || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  rm -f "$state_file"
  say "stopped and removed $dir"
  exit 0
fi

if ! bin=$(find_bin); then
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL server binaries are missing and installing them needs root: apt-get install -y postgresql"
  say "installing the postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  bin=$(find_bin) || die "postgresql installed but no server binaries under /usr/lib/postgresql/*/bin"
fi

if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
  command -v runuser >/dev/null || die "running as root needs runuser (util-linux) to start the server as postgres"
fi

# A port nothing listens on, below the kernel's range for outgoing connections: a port in
# that range can be held by a client socket (tests open many), which a connect probe does
# not see but which makes the server's bind fail.
free_port() {
  local port low
  low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 11000 ] || low=32768
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/promptops-postgres.XXXXXX")
chmod 0755 "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
port=$(free_port) || die "no free local port found"
user=promptops
db=promptops

say "initdb in $dir/data ($("$bin/postgres" --version))"
as_owner "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || as_owner "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

# Many tests each create their own database at the same time: allow enough connections.
# Another process may take the port between the probe and the bind: another port then.
for attempt in 1 2 3; do
  if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=128MB" start >&2; then
    break
  fi
  if [ "$attempt" -lt 3 ] && grep -q "Address already in use" "$dir/server.log"; then
    say "port $port was taken meanwhile; trying another"
    : >"$dir/server.log"
    port=$(free_port) || die "no free local port found"
    continue
  fi
  cat "$dir/server.log" >&2
  die "the server did not start (log above)"
done

as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db" \
  || die "createdb $db failed"

echo "$dir" >"$state_file"
url="postgres://$user@127.0.0.1:$port/$db"
say "PostgreSQL listening on 127.0.0.1:$port (data in $dir)"
printf 'export PROMPTOPS_TEST_POSTGRES_URL=%q\n' "$url"
printf 'export PROMPTOPS_TEST_POSTGRES_DIR=%q\n' "$dir"
