"""A stand-in VM: its own network namespace with one veth link to the host, an address on
the loopback range (127.2.0.0/16) that the host routes to it, and vm_init.py as PID 1 of
fresh mount, PID and UTS namespaces. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).

Host side, per VM: a veth interface with route_localnet (127/8 may not cross a non-loopback
interface otherwise) and a /32 route in the `local` table, more specific than the kernel's
127.0.0.0/8, that sends the VM's address to it. The host talks to every VM from
HOST_ADDRESS, which the VM routes back over its link: that is the address a firewall rule
must allow for the host (the configuration job, a browser) to reach a VM."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys

HOST_ADDRESS = "127.3.0.1"
VM_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vm_init.py")


class VmError(Exception):
    pass


def _ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise VmError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def _sysctl(netns, key, value):
    argv = ["sysctl", "-q", "-w", f"{key}={value}"]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    subprocess.run(argv, check=True, capture_output=True)


class Machine:
    def __init__(self, key, name, address, machine_dir):
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        self.key = key
        self.name = name
        self.address = address
        self.dir = machine_dir
        self.netns = f"psv-{digest}"
        self.host_link = f"psv{digest}"
        self.process = None

    def start(self, startup_script, image_dirs=()):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.dir, "startup-script"), "w", encoding="utf-8") as f:
            f.write(startup_script)
        try:
            self._network()
            console = open(os.path.join(self.dir, "console.log"), "ab")
            python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
            self.process = subprocess.Popen(
                [
                    "ip", "netns", "exec", self.netns,
                    "unshare", "--mount", "--pid", "--uts", "--fork", "--kill-child=SIGKILL",
                    "--propagation", "private", "--mount-proc",
                    python, VM_INIT, self.dir, self.name, self.address,
                    *[f"{source}:{target}" for source, target in image_dirs],
                ],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            console.close()
        except Exception:
            self.stop()
            raise

    def _network(self):
        _ip("netns", "del", self.netns, check=False)
        _ip("link", "del", self.host_link, check=False)
        _ip("netns", "add", self.netns)
        _ip("link", "add", self.host_link, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        _sysctl(None, f"net.ipv4.conf.{self.host_link}.route_localnet", 1)
        _ip("link", "set", self.host_link, "up")
        _ip("route", "replace", f"{self.address}/32", "dev", self.host_link, "table", "local", "src", HOST_ADDRESS)
        ns = ["-n", self.netns]
        _ip(*ns, "link", "set", "lo", "up")
        _ip(*ns, "link", "set", "eth0", "up")
        _sysctl(self.netns, "net.ipv4.conf.eth0.route_localnet", 1)
        _ip(*ns, "addr", "add", f"{self.address}/32", "dev", "eth0")
        _ip(*ns, "route", "replace", f"{HOST_ADDRESS}/32", "dev", "eth0", "table", "local", "src", self.address)

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Deleting the namespace deletes the veth pair and with it the host's route.
        _ip("netns", "del", self.netns, check=False)
        _ip("link", "del", self.host_link, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def apply_ruleset(self, ruleset):
        result = subprocess.run(
            ["ip", "netns", "exec", self.netns, "nft", "-f", "-"],
            input=ruleset,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise VmError(f"nft refused the firewall of {self.name}: {result.stderr.strip()}")
