"""PID 1 of a stand-in VM: runs inside fresh mount, PID and UTS namespaces (and the VM's
own network namespace, set up by vm.py before this starts), as root.

It gives the machine its own view of the system: the host's /usr (read-only in effect: the
VM never writes there), copy-on-write overlays of /etc and /var whose changes stay in the
VM's directory, empty tmpfs over every other top-level directory (the host's /root, /home,
/tmp, the repositories...), fresh SSH host keys, then runs the instance's startup script
as Compute Engine's guest agent does at boot, and reaps orphans until it is told to stop.
Whatever runs inside (sshd, the app) dies with it: the PID namespace ends with its init.

usage: vm_init.py MACHINE_DIR HOSTNAME ADDRESS [IMAGE_DIR:TARGET ...]"""

import os
import signal
import subprocess
import sys
import time

# Top-level directories that are part of the image (the rest are hidden).
SYSTEM_DIRS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "var", "proc", "sys", "dev", "boot"}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Debian images have no systemd in this stand-in; the startup script restarts sshd with
# `systemctl restart ssh`, which this shim serves. Anything else is refused loudly.
SYSTEMCTL = """#!/bin/sh
# systemctl of a stand-in VM (no systemd): only (re)starting sshd is served.
case "$1 ${2%.service}" in
  "restart ssh"|"restart sshd"|"start ssh"|"start sshd"|"reload ssh"|"reload sshd")
    if [ -s /run/sshd.pid ]; then kill "$(cat /run/sshd.pid)" 2>/dev/null; sleep 0.2; fi
    exec /usr/sbin/sshd ;;
  "is-active ssh"|"is-active sshd")
    [ -s /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null && echo active && exit 0
    echo inactive; exit 3 ;;
esac
echo "systemctl $*: this stand-in VM has no systemd (only restart ssh is served)" >&2
exit 1
"""


def log(message):
    print(f"[vm-init] {message}", flush=True)


def run(*argv, **kwargs):
    subprocess.run(argv, check=True, **kwargs)


def overlay(machine_dir, target):
    name = target.strip("/").replace("/", "-")
    upper = os.path.join(machine_dir, "fs", name, "upper")
    work = os.path.join(machine_dir, "fs", name, "work")
    os.makedirs(upper, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    run("mount", "-t", "overlay", "overlay", "-o", f"lowerdir={target},upperdir={upper},workdir={work}", target)


def build_root(machine_dir, hostname, address, image_dirs):
    run("mount", "--make-rprivate", "/")
    overlay(machine_dir, "/etc")
    overlay(machine_dir, "/var")
    # Directories of the image (e.g. a wheel mirror) are bound before the host's own
    # directories that hold them are hidden.
    for spec in image_dirs:
        source, target = spec.split(":", 1)
        os.makedirs(target, exist_ok=True)
        run("mount", "--bind", source, target)
        run("mount", "-o", "remount,bind,ro", target)
    for entry in sorted(os.listdir("/")):
        path = "/" + entry
        if entry in SYSTEM_DIRS or not os.path.isdir(path) or os.path.islink(path):
            continue
        run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path)
    os.chmod("/tmp", 0o1777)
    run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/usr/local/sbin")
    with open("/usr/local/sbin/systemctl", "w", encoding="utf-8") as f:
        f.write(SYSTEMCTL)
    os.chmod("/usr/local/sbin/systemctl", 0o755)
    os.makedirs("/root", mode=0o700, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    run("hostname", hostname)
    with open("/etc/hostname", "w", encoding="utf-8") as f:
        f.write(hostname + "\n")
    with open("/etc/hosts", "w", encoding="utf-8") as f:
        f.write(f"127.0.0.1 localhost\n{address} {hostname}\n")
    # A fresh machine has its own host keys, never the host's.
    for name in os.listdir("/etc/ssh"):
        if name.startswith("ssh_host_"):
            os.unlink(os.path.join("/etc/ssh", name))
    run("ssh-keygen", "-A")


def run_startup_script(script):
    env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8"}
    log("running the startup script")
    result = subprocess.run(["/bin/bash", script], env=env, stdin=subprocess.DEVNULL, cwd="/")
    log(f"startup script finished with exit status {result.returncode}")


def reap_forever():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(1)


def main(argv):
    machine_dir, hostname, address = argv[1:4]
    with open(os.path.join(machine_dir, "startup-script"), encoding="utf-8") as f:
        script_text = f.read()
    build_root(machine_dir, hostname, address, argv[4:])
    # The script is kept where Compute Engine's agent keeps its copy: inside the machine.
    script = "/run/startup-script"
    with open(script, "w", encoding="utf-8") as f:
        f.write(script_text)
    os.chmod(script, 0o700)
    log("ready")
    run_startup_script(script)
    reap_forever()


if __name__ == "__main__":
    main(sys.argv)
