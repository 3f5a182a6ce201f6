#!/usr/bin/env bash
# The whole chain behind `terraform/` on this machine, with no cloud account:
#   OpenBao 2.7.2 (dev server)         the Vault that holds each deployment's SSH CA
#   the Compute stand-in               every google_compute_instance becomes an isolated
#                                      machine (own network, mount and PID namespaces) on a
#                                      127.2.x.y address with its own sshd, booted with the
#                                      instance's startup script; firewall rules are enforced
#   the AAP stand-in                   job template 17 runs ansible/install_streamlit.yml
#                                      with ansible-core against those machines
#   Terraform 1.15.5 and the stand-in providers (scripts/setup-terraform.sh)
#
# usage: scripts/local-stack.sh up DIR      start everything, write DIR/env, DIR/promptops.yml,
#                                           DIR/environment.auto.tfvars, DIR/backend_override.tf
#        scripts/local-stack.sh down DIR    stop everything `up` started (and the machines)
#        scripts/local-stack.sh status DIR  which parts run
#
# Runs as root (the machines are network and mount namespaces with veth links).
# PROMPTOPS_LOCAL_STACK_STREAMLIT=real (default) gives the machines the real Streamlit
# (its wheels are downloaded once into ~/.cache/promptops/wheels); =stub a tiny stand-in
# that serves the app's source (what the tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf 'local-stack: %s\n' "$*" >&2; }
die() { printf 'local-stack: %s\n' "$*" >&2; exit 1; }

cache="${PROMPTOPS_CACHE_DIR:-$HOME/.cache/promptops}"
streamlit_version=1.51.0
template_id=17
# Where the machines see the wheel mirror (the playbook installs Streamlit from it).
image_wheels=/var/lib/promptops-image/wheels

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for_file() {
  local file=$1 pid=$2 what=$3
  for _ in $(seq 1 300); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited at start; see its log in $dir/logs"
    sleep 0.1
  done
  die "$what did not start within 30 s; see its log in $dir/logs"
}

start() { # start NAME COMMAND...: in the background, in its own session, logged, pid recorded
  local name=$1
  shift
  setsid "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

streamlit_wheels() { # prints the wheel directory the machines install Streamlit from
  local kind=${PROMPTOPS_LOCAL_STACK_STREAMLIT:-real} wheels
  case "$kind" in
    stub)
      wheels="$cache/wheels/streamlit-stub-$streamlit_version"
      [ -f "$wheels/streamlit-$streamlit_version-py3-none-any.whl" ] \
        || python3 "$root/crates/infra-contract/tests/support/stub_streamlit_wheel.py" "$wheels" "$streamlit_version" >&2 ;;
    real)
      wheels="$cache/wheels/streamlit-$streamlit_version"
      if [ ! -f "$wheels/.complete" ]; then
        say "downloading Streamlit $streamlit_version and its dependencies into $wheels (once)"
        /usr/bin/python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)' \
          || die "the machines run /usr/bin/python3; the cached wheels are for Python 3.11"
        "$PROMPTOPS_TEST_PYTHON" -m pip download --quiet --only-binary=:all: --python-version 3.11 \
          --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 \
          --implementation cp -d "$wheels" "streamlit==$streamlit_version" >&2 \
          || die "pip could not download streamlit==$streamlit_version (use PROMPTOPS_LOCAL_STACK_STREAMLIT=stub offline)"
        touch "$wheels/.complete"
      fi ;;
    *) die "PROMPTOPS_LOCAL_STACK_STREAMLIT must be real or stub, not $kind" ;;
  esac
  printf '%s\n' "$wheels"
}

up() {
  [ "$(id -u)" = 0 ] || die "run as root: the stand-in machines are network and mount namespaces"
  [ ! -d "$dir/run" ] || [ -z "$(ls -A "$dir/run" 2>/dev/null)" ] || die "$dir already holds a running stack (scripts/local-stack.sh down $dir first)"
  mkdir -p "$dir/logs" "$dir/run" "$dir/state"
  chmod 0700 "$dir"
  # setup-terraform.sh also installs what the machines need (ip, unshare, nft, sudo).
  local setup
  setup=$(bash scripts/setup-terraform.sh) || die "scripts/setup-terraform.sh failed"
  eval "$setup"
  setup=$(bash scripts/setup-ansible.sh) || die "scripts/setup-ansible.sh failed"
  eval "$setup"
  local wheels
  wheels=$(streamlit_wheels)

  local bao_port vault_token aap_token
  bao_port=$(free_port)
  vault_token="root-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  aap_token="aap-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  start openbao "$PROMPTOPS_TEST_BAO" server -dev "-dev-root-token-id=$vault_token" "-dev-listen-address=127.0.0.1:$bao_port"
  export VAULT_ADDR="http://127.0.0.1:$bao_port" VAULT_TOKEN="$vault_token"
  for _ in $(seq 1 300); do "$PROMPTOPS_TEST_BAO" status >/dev/null 2>&1 && break; sleep 0.1; done
  "$PROMPTOPS_TEST_BAO" status >/dev/null 2>&1 || die "OpenBao did not start; see $dir/logs/openbao.log"
  "$PROMPTOPS_TEST_BAO" auth enable approle >/dev/null

  start compute env PYTHONPATH="$root/tools/standin-cloud" python3 -m standin_cloud.compute \
    --state-dir "$dir/compute" --image-dir "$wheels:$image_wheels" --port-file "$dir/run/compute.port"
  wait_for_file "$dir/run/compute.port" "$(cat "$dir/run/compute.pid")" "the Compute stand-in"

  local streamlit_pip_args="--no-index --find-links $image_wheels"
  python3 - "$dir/aap.json" "$aap_token" "$root/ansible/install_streamlit.yml" "$template_id" "$streamlit_pip_args" <<'PY'
import json, os, sys
path, token, playbook, template_id, pip_args = sys.argv[1:]
config = {"token": token, "job_templates": {template_id: {
    "name": "PromptOps: install the Streamlit demo app",
    "playbook": playbook,
    "ask_variables_on_launch": True,
    "ask_inventory_on_launch": True,
    # The template's own variables (the launch's override them): the machines have no
    # systemd and no package index, but a wheel mirror and the OS packages preinstalled.
    "extra_vars": {"app_launcher": "background", "streamlit_pip_args": pip_args,
                   "os_packages_update_cache": False, "connect_timeout": 120},
}}}
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump(config, f, indent=2)
PY
  start aap env PYTHONPATH="$root/tools/standin-cloud" python3 -m standin_cloud.aap --config "$dir/aap.json" \
    --data-dir "$dir/aap" --ansible-bin "$PROMPTOPS_TEST_ANSIBLE_BIN" --port-file "$dir/run/aap.port"
  wait_for_file "$dir/run/aap.port" "$(cat "$dir/run/aap.pid")" "the AAP stand-in"

  write_files "$bao_port" "$vault_token" "$aap_token"
  say "up: OpenBao $VAULT_ADDR, Compute http://127.0.0.1:$(cat "$dir/run/compute.port")/compute/v1/, AAP http://127.0.0.1:$(cat "$dir/run/aap.port")/api/"
  say "next: . $dir/env (see the README's \"Local stack\" section)"
}

write_files() {
  local bao_port=$1 vault_token=$2 aap_token=$3 read_paths
  read_paths=$(printf '%s' "$PROMPTOPS_TEST_TERRAFORM_READ_PATHS" | tr ':' ',')
  {
    echo "# Written by scripts/local-stack.sh up: \`promptops serve\` (or terraform) against the local stack."
    printf 'export TERRAFORM_BIN=%q\n' "$PROMPTOPS_TEST_TERRAFORM_1_15"
    printf 'export TF_CLI_CONFIG_FILE=%q\n' "$PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG"
    printf 'export GOOGLE_COMPUTE_CUSTOM_ENDPOINT=%q\n' "http://127.0.0.1:$(cat "$dir/run/compute.port")/compute/v1/"
    printf 'export VAULT_ADDR=%q VAULT_TOKEN=%q\n' "http://127.0.0.1:$bao_port" "$vault_token"
    printf 'export AAP_HOSTNAME=%q AAP_TOKEN=%q\n' "http://127.0.0.1:$(cat "$dir/run/aap.port")" "$aap_token"
    echo "# The bot reads a failed configuration job's events (host, step) from the controller."
    printf 'export PROMPTOPS_AAP_URL=%q PROMPTOPS_AAP_TOKEN=%q\n' "http://127.0.0.1:$(cat "$dir/run/aap.port")" "$aap_token"
    echo "# The service passes these two to Terraform besides its defaults; the sandbox shows"
    echo "# Terraform the launcher, the provider mirror and the state directory."
    echo "export PROMPTOPS_TERRAFORM_ENV=TF_CLI_CONFIG_FILE,GOOGLE_COMPUTE_CUSTOM_ENDPOINT"
    printf 'export PROMPTOPS_TERRAFORM_BIND_RO=%q\n' "$read_paths"
    printf 'export PROMPTOPS_TERRAFORM_BIND=%q\n' "$dir/state"
  } >"$dir/env"
  chmod 0600 "$dir/env"
  cat >"$dir/promptops.yml" <<YAML
# .github/promptops.yml of an infrastructure repository planned against the local stack.
# The repository also needs terraform/backend_override.tf and
# terraform/environment.auto.tfvars (both written next to this file).
terraform:
  backend_config:
    path: "$dir/state/{deployment}.tfstate"
YAML
  printf 'terraform {\n  backend "local" {}\n}\n' >"$dir/backend_override.tf"
  cat >"$dir/environment.auto.tfvars" <<TFVARS
# The installation's settings for terraform/ on the local stack (the machines see the
# host, and the configuration job, as 127.3.0.1).
project             = "local-stack"
vault_address       = "http://127.0.0.1:$bao_port"
aap_host            = "http://127.0.0.1:$(cat "$dir/run/aap.port")"
aap_job_template_id = $template_id
ssh_source_ranges   = ["127.3.0.1/32"]
app_source_ranges   = ["127.3.0.1/32"]
TFVARS
}

down() {
  [ -d "$dir/run" ] || die "$dir holds no stack"
  local name pid
  # The Compute stand-in stops its machines on SIGTERM: it goes first, and is waited for.
  for name in compute aap openbao; do
    [ -f "$dir/run/$name.pid" ] || continue
    pid=$(cat "$dir/run/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { say "$name did not stop in 30 s; killing it"; kill -KILL "$pid"; }
    fi
    rm -f "$dir/run/$name.pid" "$dir/run/$name.port"
    say "stopped $name"
  done
}

status() {
  local name pid
  for name in openbao compute aap; do
    pid=$(cat "$dir/run/$name.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; fi
  done
}

[ $# -eq 2 ] || die "usage: scripts/local-stack.sh up|down|status DIR"
dir=$(realpath -m "$2")
case "$1" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: scripts/local-stack.sh up|down|status DIR (not $1)" ;;
esac
