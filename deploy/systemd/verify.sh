#!/usr/bin/env bash
# Verifies deploy/systemd/promptops.service for real: boots a minimal Debian (built once
# with debootstrap, cached under ~/.cache/promptops) in systemd-nspawn, installs the unit,
# the binary and terraform the way the unit's header says, starts the service and checks
#
#   1. the unit reaches "active" and its log says "Terraform sandbox ready" (serve probes
#      bubblewrap at start, under the unit's hardening; without a usable sandbox it starts
#      anyway but logs why and refuses every Terraform run);
#   2. the probes answer: /healthz 200, /readyz 503 naming the missing App;
#   3. terraform init + plan of a small configuration runs inside bubblewrap, with the
#      sandbox's namespaces, under exactly the unit's hardening (a copy of the unit whose
#      ExecStart runs it) and its files stay 0600/0700 (UMask=0077);
#   4. `promptops check`, under the same hardening, reports the sandbox as working.
#
# Usage (as root, on a host with systemd-nspawn and debootstrap):
#   cargo build --release && bash deploy/systemd/verify.sh [path/to/promptops]
# Takes a few minutes the first time (debootstrap), about 30 s after. Not part of CI.
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'verify.sh: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "${1:-$here/../../target/release/promptops}")
terraform=$(realpath "${TERRAFORM_BIN:-$(command -v terraform || true)}")
cache="${PROMPTOPS_VERIFY_CACHE:-$HOME/.cache/promptops}"
rootfs="$cache/nspawn-rootfs"
port="${PROMPTOPS_VERIFY_PORT:-38731}"
machine="promptops-verify-$$"
nspawn_pid=

[ "$(id -u)" = 0 ] || die "run as root (systemd-nspawn boots a container)"
[ -x "$binary" ] || die "no promptops binary at $binary (cargo build --release, or pass its path)"
[ -x "$terraform" ] || die "no terraform binary (set TERRAFORM_BIN)"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn is missing (apt-get install systemd-container)"

if [ ! -x "$rootfs/usr/bin/bwrap" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    say "building a minimal Debian bookworm in $rootfs (once)"
    rm -rf "$rootfs.partial"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,bubblewrap,ca-certificates,curl \
        bookworm "$rootfs.partial" >&2
    mv "$rootfs.partial" "$rootfs"
fi

work=$(mktemp -d)
# Stopping nspawn shuts the container down; its overlay (every change) is discarded.
trap '[ -n "$nspawn_pid" ] && kill "$nspawn_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# The files the unit's header installs, and the verification's own pieces.
install -d -m 0700 "$work/etc-promptops"
cat >"$work/etc-promptops/env" <<EOF
PROMPTOPS_BIND=127.0.0.1:$port
TERRAFORM_BIN=/usr/local/bin/terraform
EOF
chmod 0600 "$work/etc-promptops/env"
install -d "$work/tf"
cat >"$work/tf/main.tf" <<'EOF'
resource "terraform_data" "vm" {
  input = "verify"
}
EOF
# The unit with ExecStart replaced: same user, directories, environment and hardening.
sed -e 's#^ExecStartPre=.*##' \
    -e 's#^ExecStart=.*#ExecStart=/usr/local/bin/verify-sandbox.sh#' \
    -e 's#^Type=exec#Type=oneshot#' \
    -e 's#^Restart=.*##' \
    "$here/promptops.service" >"$work/promptops-verify.service"
sed -e 's#^ExecStartPre=.*##' \
    -e 's#^ExecStart=.*#ExecStart=/usr/local/bin/promptops check#' \
    -e 's#^Type=exec#Type=oneshot#' \
    -e 's#^Restart=.*##' \
    "$here/promptops.service" >"$work/promptops-check.service"
# The runner's bubblewrap shape: system dirs read-only, a fresh /proc and /dev, new
# user, PID, IPC and UTS namespaces, only the run's directory writable.
cat >"$work/verify-sandbox.sh" <<'EOF'
#!/bin/sh
set -eu
run="$STATE_DIRECTORY/verify-run"
rm -rf "$run" && mkdir -p "$run" && cp /opt/verify-tf/main.tf "$run/"
bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --die-with-parent \
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
    --symlink usr/lib64 /lib64 \
    --ro-bind /usr/local/bin/terraform /usr/local/bin/terraform \
    --proc /proc --dev /dev --tmpfs /tmp --bind "$run" "$run" --chdir "$run" \
    --setenv HOME "$run" --setenv TF_IN_AUTOMATION 1 --setenv CHECKPOINT_DISABLE 1 \
    -- /bin/sh -c 'terraform init -input=false -no-color >/dev/null && terraform plan -input=false -no-color -out=plan.bin'
stat -c '%a %n' "$run/plan.bin"
EOF
chmod 0755 "$work/verify-sandbox.sh"

say "booting $machine"
# --register=no --keep-unit: the host need not run systemd (a container or CI runner).
systemd-nspawn --quiet --boot --register=no --keep-unit --machine="$machine" \
    --directory="$rootfs" --volatile=overlay \
    --bind-ro="$binary:/usr/local/bin/promptops" \
    --bind-ro="$terraform:/usr/local/bin/terraform" \
    --bind-ro="$here/promptops.service:/etc/systemd/system/promptops.service" \
    --bind-ro="$work/promptops-verify.service:/etc/systemd/system/promptops-verify.service" \
    --bind-ro="$work/promptops-check.service:/etc/systemd/system/promptops-check.service" \
    --bind-ro="$work/verify-sandbox.sh:/usr/local/bin/verify-sandbox.sh" \
    --bind-ro="$work/tf:/opt/verify-tf" \
    --bind-ro="$work/etc-promptops:/etc/promptops" \
    >"$work/console.log" 2>&1 &
nspawn_pid=$!

# The container's systemd is nspawn's child; commands run in all of its namespaces.
leader=
in_container() { nsenter --target "$leader" --all -- "$@"; }

for _ in $(seq 1 60); do
    leader=${leader:-$(pgrep -P "$nspawn_pid" || true)}
    state=
    [ -n "$leader" ] && state=$(in_container systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 1
done
case "${state:-}" in
    running | degraded) ;;
    *) cat "$work/console.log" >&2; die "the container did not boot (state: ${state:-none})" ;;
esac

say "1. starting promptops.service"
in_container systemctl start promptops.service || true
sleep 2
if ! in_container systemctl is-active --quiet promptops.service; then
    in_container journalctl -u promptops.service --no-pager >&2 || true
    die "promptops.service is not active"
fi
journal=$(in_container journalctl -u promptops.service --no-pager -o cat)
printf '%s\n' "$journal" | grep -q 'Terraform sandbox ready' || {
    printf '%s\n' "$journal" >&2
    die "promptops.service cannot use its Terraform sandbox under the unit's hardening"
}

say "2. probes"
healthz=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
readyz=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/readyz")
[ "$healthz" = 200 ] || die "/healthz answered $healthz"
case "$readyz" in
    *503) ;;
    *) die "/readyz answered '$readyz' (expected 503 without an App)" ;;
esac
say "   /healthz 200, /readyz: $readyz"

say "3. terraform in bubblewrap under the unit's hardening"
if ! in_container systemctl start promptops-verify.service; then
    in_container journalctl -u promptops-verify.service --no-pager >&2 || true
    die "terraform did not run in the sandbox under the unit's hardening"
fi
log=$(in_container journalctl -u promptops-verify.service --no-pager -o cat)
printf '%s\n' "$log" | grep -q 'Plan: 1 to add' || { printf '%s\n' "$log" >&2; die "no plan"; }
printf '%s\n' "$log" | grep -q '^600 ' || { printf '%s\n' "$log" >&2; die "the plan file is not 0600"; }
say "   planned; the plan file is 0600"

say "4. promptops check under the unit's hardening"
in_container systemctl start promptops-check.service || true
check=$(in_container journalctl -u promptops-check.service --no-pager -o cat)
printf '%s\n' "$check" | grep -i 'terraform sandbox' >&2 || true
printf '%s\n' "$check" | grep -i 'terraform sandbox' | grep -qiv 'missing' \
    || { printf '%s\n' "$check" >&2; die "promptops check does not report a working sandbox"; }

say "deploy/systemd/promptops.service verified"
