"""A Compute Engine stand-in for the google stand-in provider: the part of the Compute
API (v1) it calls, over HTTP, with every instance booted as a stand-in VM (vm.py) and the
firewall rules enforced in the VMs (firewall.py). The provider reaches it through
GOOGLE_COMPUTE_CUSTOM_ENDPOINT, the real provider's custom-endpoint setting, e.g.
http://127.0.0.1:PORT/compute/v1/.

Served (operations complete before the answer, so every operation returned is DONE):
  POST   projects/P/zones/Z/instances            insert (name, tags.items, metadata.items)
  GET    projects/P/zones/Z/instances[/NAME]     list / get (status, natIP)
  DELETE projects/P/zones/Z/instances/NAME       delete: the VM is stopped and removed
  POST   projects/P/zones/Z/instances/NAME/stop  stop: TERMINATED, its disk is not kept
  POST   projects/P/global/firewalls             insert
  PUT    projects/P/global/firewalls/NAME        update
  GET    projects/P/global/firewalls[/NAME]
  DELETE projects/P/global/firewalls/NAME

usage: python3 -m standin_cloud.compute --port PORT --state-dir DIR [--image-dir SRC:TARGET]...
Runs as root; on SIGTERM or SIGINT every VM is stopped."""

import argparse
import ctypes
import hashlib
import ipaddress
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import firewall
from .vm import HOST_ADDRESS, Machine, VmError

PREFIX = "/compute/v1/"
INSTANCES = re.compile(r"^projects/([^/]+)/zones/([^/]+)/instances(?:/([^/]+))?(/stop)?/?$")
FIREWALLS = re.compile(r"^projects/([^/]+)/global/firewalls(?:/([^/]+))?/?$")
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class ApiError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def address_for(key, taken):
    """An address in 127.2.0.0/16 derived from `key`, the next free one on a collision;
    never .0 or .255 in the last octet."""
    digest = hashlib.sha256(key.encode()).digest()
    start = int.from_bytes(digest[:2], "big")
    for step in range(1 << 16):
        candidate = (start + step) & 0xFFFF
        if candidate & 0xFF in (0, 255):
            continue
        address = str(ipaddress.IPv4Address("127.2.0.0") + candidate)
        if address not in taken:
            return address
    raise ApiError(503, "127.2.0.0/16 is full")


class Compute:
    def __init__(self, state_dir, image_dirs):
        self.state_dir = state_dir
        self.image_dirs = image_dirs
        self.lock = threading.Lock()
        self.instances = {}  # "P/Z/NAME" -> {"machine": Machine, "resource": dict}
        self.firewalls = {}  # "P/NAME" -> rule

    def insert_instance(self, project, zone, body):
        name = body.get("name", "")
        if not NAME.match(name):
            raise ApiError(400, f"Invalid value for field 'resource.name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'")
        key = f"{project}/{zone}/{name}"
        metadata = {item["key"]: item.get("value", "") for item in (body.get("metadata") or {}).get("items") or []}
        with self.lock:
            if key in self.instances:
                raise ApiError(409, f"The resource 'projects/{project}/zones/{zone}/instances/{name}' already exists")
            taken = {i["resource"]["natIP"] for i in self.instances.values()}
            # The state directory is part of what names the machine and its address, so
            # that two stand-ins on one host (a local stack and a test run) do not collide.
            unique = f"{self.state_dir}/{key}"
            address = address_for(unique, taken)
            machine = Machine(unique, name, address, os.path.join(self.state_dir, "machines", key.replace("/", "_")))
            resource = {
                "kind": "compute#instance",
                "name": name,
                "zone": zone,
                "status": "RUNNING",
                "tags": {"items": list((body.get("tags") or {}).get("items") or [])},
                "natIP": address,
                "networkInterfaces": [
                    {"name": "nic0", "networkIP": address, "accessConfigs": [{"name": "External NAT", "natIP": address}]}
                ],
            }
            self.instances[key] = {"machine": machine, "resource": resource}
            try:
                machine.start(metadata.get("startup-script", ""), self.image_dirs)
                machine.apply_ruleset(firewall.ruleset(self.firewalls.values(), resource["tags"]["items"]))
            except (VmError, OSError) as error:
                machine.stop()
                del self.instances[key]
                raise ApiError(500, f"the instance {name} could not be started: {error}") from error
        return operation("insert", f"projects/{project}/zones/{zone}/instances/{name}")

    def delete_instance(self, project, zone, name):
        key = f"{project}/{zone}/{name}"
        with self.lock:
            instance = self.instances.pop(key, None)
        if instance is None:
            raise ApiError(404, f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found")
        instance["machine"].stop()
        return operation("delete", f"projects/{project}/zones/{zone}/instances/{name}")

    def stop_instance(self, project, zone, name):
        with self.lock:
            instance = self.instances.get(f"{project}/{zone}/{name}")
        if instance is None:
            raise ApiError(404, f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found")
        instance["machine"].stop()
        return operation("stop", f"projects/{project}/zones/{zone}/instances/{name}")

    def get_instance(self, project, zone, name):
        with self.lock:
            instance = self.instances.get(f"{project}/{zone}/{name}")
            if instance is None:
                raise ApiError(404, f"The resource 'projects/{project}/zones/{zone}/instances/{name}' was not found")
            resource = dict(instance["resource"])
            resource["status"] = "RUNNING" if instance["machine"].running() else "TERMINATED"
            return resource

    def list_instances(self, project, zone):
        with self.lock:
            names = [k.split("/")[2] for k in self.instances if k.startswith(f"{project}/{zone}/")]
        return {"kind": "compute#instanceList", "items": [self.get_instance(project, zone, n) for n in names]}

    def put_firewall(self, project, name, body, create):
        name = name or body.get("name", "")
        if not NAME.match(name):
            raise ApiError(400, f"Invalid value for field 'resource.name': '{name}'")
        key = f"{project}/{name}"
        with self.lock:
            if create and key in self.firewalls:
                raise ApiError(409, f"The resource 'projects/{project}/global/firewalls/{name}' already exists")
            if not create and key not in self.firewalls:
                raise ApiError(404, f"The resource 'projects/{project}/global/firewalls/{name}' was not found")
            self.firewalls[key] = dict(body, name=name)
            self._enforce(project)
        return operation("insert" if create else "update", f"projects/{project}/global/firewalls/{name}")

    def delete_firewall(self, project, name):
        with self.lock:
            if self.firewalls.pop(f"{project}/{name}", None) is None:
                raise ApiError(404, f"The resource 'projects/{project}/global/firewalls/{name}' was not found")
            self._enforce(project)
        return operation("delete", f"projects/{project}/global/firewalls/{name}")

    def get_firewall(self, project, name):
        with self.lock:
            if name is None:
                return {"items": [r for k, r in self.firewalls.items() if k.startswith(project + "/")]}
            rule = self.firewalls.get(f"{project}/{name}")
        if rule is None:
            raise ApiError(404, f"The resource 'projects/{project}/global/firewalls/{name}' was not found")
        return rule

    def _enforce(self, project):
        rules = [r for k, r in self.firewalls.items() if k.startswith(project + "/")]
        for key, instance in self.instances.items():
            if key.startswith(project + "/") and instance["machine"].running():
                instance["machine"].apply_ruleset(firewall.ruleset(rules, instance["resource"]["tags"]["items"]))

    def stop_all(self):
        with self.lock:
            instances, self.instances = list(self.instances.values()), {}
        for instance in instances:
            instance["machine"].stop()


def operation(kind, target):
    return {"kind": "compute#operation", "operationType": kind, "status": "DONE", "targetLink": target, "progress": 100}


def handler_for(compute):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("compute: " + (fmt % args) + "\n")

        def _route(self, method):
            path = self.path.split("?", 1)[0]
            if not path.startswith(PREFIX):
                raise ApiError(404, f"no such API path {path} (the Compute API is under {PREFIX})")
            path = path[len(PREFIX):]
            body = {}
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError as error:
                    raise ApiError(400, f"the request body is not JSON: {error}") from error
            match = INSTANCES.match(path)
            if match:
                project, zone, name, stop = match.groups()
                if stop:
                    if method == "POST" and name:
                        return compute.stop_instance(project, zone, name)
                elif method == "POST" and name is None:
                    return compute.insert_instance(project, zone, body)
                elif method == "DELETE" and name:
                    return compute.delete_instance(project, zone, name)
                elif method == "GET":
                    return compute.get_instance(project, zone, name) if name else compute.list_instances(project, zone)
            match = FIREWALLS.match(path)
            if match:
                project, name = match.groups()
                if method == "POST" and name is None:
                    return compute.put_firewall(project, None, body, create=True)
                if method in ("PUT", "PATCH") and name:
                    return compute.put_firewall(project, name, body, create=False)
                if method == "DELETE" and name:
                    return compute.delete_firewall(project, name)
                if method == "GET":
                    return compute.get_firewall(project, name)
            raise ApiError(404, f"{method} {PREFIX}{path} is not served by this stand-in")

        def _serve(self, method):
            try:
                code, answer = 200, self._route(method)
            except ApiError as error:
                code, answer = error.code, {"error": {"code": error.code, "message": error.message}}
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description="Compute Engine stand-in: instances as isolated machines on loopback addresses")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--image-dir", action="append", default=[], metavar="SRC:TARGET",
                        help="a host directory every VM sees read-only at TARGET (e.g. a wheel mirror)")
    parser.add_argument("--port-file", help="write the bound port here once serving")
    parser.add_argument("--stop-with-parent", action="store_true",
                        help="stop (and stop every VM) when the process that started this one dies")
    args = parser.parse_args(argv)
    if args.stop_with_parent:
        # PR_SET_PDEATHSIG: a test killed mid-run must not leave machines behind.
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    if os.geteuid() != 0:
        sys.exit("compute stand-in: must run as root (it creates network and mount namespaces)")
    image_dirs = []
    for spec in args.image_dir:
        source, _, target = spec.partition(":")
        if not (os.path.isdir(source) and target.startswith("/")):
            sys.exit(f"compute stand-in: --image-dir {spec!r}: expected an existing SRC directory and an absolute TARGET")
        image_dirs.append((os.path.abspath(source), target))
    os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
    compute = Compute(os.path.abspath(args.state_dir), image_dirs)
    server = ThreadingHTTPServer((args.bind, args.port), handler_for(compute))
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    sys.stderr.write(f"compute stand-in: serving http://{args.bind}:{port}{PREFIX} (VMs reach the host as {HOST_ADDRESS})\n")
    try:
        server.serve_forever()
    finally:
        compute.stop_all()


if __name__ == "__main__":
    main()
