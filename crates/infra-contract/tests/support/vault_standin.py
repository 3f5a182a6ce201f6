#!/usr/bin/env python3
"""A stand-in for the parts of Vault's HTTP API that ansible/install_streamlit.yml uses.

Used by the playbook tests of crates/infra-contract; it is not Vault. It implements, with
Vault's request and response shapes:

  POST /v1/sys/wrapping/unwrap           X-Vault-Token: <wrapping token>, single use
  POST /v1/auth/<approle mount>/login    {role_id, secret_id}; the secret_id is single use
  POST /v1/<ssh mount>/issue/<role>      {key_type, valid_principals, ttl, cert_type}:
                                         generates a key pair with ssh-keygen and signs it
                                         with the test CA (ssh-keygen -s), with the requested
                                         principal and TTL (capped at --max-ttl)
  POST /v1/auth/token/revoke-self        revokes the calling token

When --namespace is given, every request must carry it in X-Vault-Namespace (and none
otherwise). Everything it hands out is appended to <state>/issued.jsonl and every request
to <state>/requests.jsonl (path, status, namespace header: no secrets), so that tests can
compare what the playbook did with what was issued. The bound port is written to
<state>/port once the server listens.
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_ttl(value):
    """Vault durations: an integer number of seconds, or Go-style 1h30m / 7m / 90s."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    match = DURATION.match(text)
    if not text or not match:
        raise ValueError(f"invalid ttl {value!r}")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.wrapping_tokens = {args.wrapping_token: args.secret_id}
        self.unused_secret_ids = {args.secret_id}
        self.tokens = {}  # client token -> {"revoked": bool}
        self.serial = 0

    def record(self, name, entry):
        with self.lock, open(os.path.join(self.args.state, name), "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    server_version = "vault-standin"
    state: State = None

    def log_message(self, fmt, *args):  # quiet: the test reads requests.jsonl instead
        pass

    def reply(self, status, body=None):
        self.state.record("requests.jsonl", {
            "path": self.path,
            "status": status,
            "namespace": self.headers.get("X-Vault-Namespace"),
        })
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        self.reply(status, {"errors": [message]})

    def do_GET(self):
        self.error(405, "unsupported operation")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.error(400, "failed to parse JSON input")
        namespace = self.headers.get("X-Vault-Namespace")
        if (self.state.args.namespace or None) != (namespace or None):
            return self.error(403, f"permission denied (namespace {namespace!r})")
        path = self.path.split("?")[0]
        token = self.headers.get("X-Vault-Token")
        args = self.state.args
        if path == "/v1/sys/wrapping/unwrap":
            return self.unwrap(token)
        if path == f"/v1/auth/{args.approle_mount}/login":
            return self.login(body)
        if path == f"/v1/{args.ssh_mount}/issue/{args.ssh_role}":
            return self.issue(token, body)
        if path == "/v1/auth/token/revoke-self":
            return self.revoke(token)
        return self.error(404, f"no handler for route {path!r}")

    def unwrap(self, token):
        with self.state.lock:
            secret_id = self.state.wrapping_tokens.pop(token or "", None)
        if secret_id is None:
            return self.error(400, "wrapping token is not valid or does not exist")
        self.state.record("issued.jsonl", {"kind": "unwrap"})
        return self.reply(200, {"data": {"secret_id": secret_id, "secret_id_accessor": "acc-1"}})

    def login(self, body):
        args = self.state.args
        with self.state.lock:
            ok = body.get("role_id") == args.role_id and body.get("secret_id") in self.state.unused_secret_ids
            if ok:
                self.state.unused_secret_ids.discard(body["secret_id"])
                client_token = "hvs." + secrets.token_urlsafe(24)
                self.state.tokens[client_token] = {"revoked": False}
        if not ok:
            return self.error(400, "invalid role or secret ID")
        self.state.record("issued.jsonl", {"kind": "login", "token_sha256": sha256(client_token)})
        return self.reply(200, {"auth": {
            "client_token": client_token,
            "policies": ["default", f"promptops-{args.ssh_role}-ssh-issue"],
            "lease_duration": 900,
            "renewable": True,
        }})

    def valid_token(self, token):
        with self.state.lock:
            entry = self.state.tokens.get(token or "")
            return entry is not None and not entry["revoked"]

    def revoke(self, token):
        if not self.valid_token(token):
            return self.error(403, "permission denied")
        with self.state.lock:
            self.state.tokens[token]["revoked"] = True
        self.state.record("issued.jsonl", {"kind": "revoke", "token_sha256": sha256(token)})
        return self.reply(204)

    def issue(self, token, body):
        args = self.state.args
        if not self.valid_token(token):
            return self.error(403, "permission denied")
        key_type = body.get("key_type", "rsa")
        if key_type not in ("ed25519", "rsa", "ec"):
            return self.error(400, f"unsupported key_type {key_type!r}")
        if body.get("cert_type", "user") != "user":
            return self.error(400, "only user certificates are allowed")
        principals = [p.strip() for p in str(body.get("valid_principals") or args.allowed_user).split(",") if p.strip()]
        if any(p != args.allowed_user for p in principals):
            return self.error(400, f"{','.join(principals)} is not a valid value for valid_principals")
        try:
            ttl = min(parse_ttl(body.get("ttl", args.max_ttl)), parse_ttl(args.max_ttl))
        except ValueError as e:
            return self.error(400, str(e))
        with self.state.lock:
            self.state.serial += 1
            serial = self.state.serial
        key_id = f"vault-approle-{sha256(token)[:16]}"
        # Absolute bounds: ssh-keygen rounds a relative "+Ns" start down to the minute.
        start = int(time.time())
        validity = f"{stamp(start)}:{stamp(start + ttl)}"
        with tempfile.TemporaryDirectory(prefix="standin-issue-") as work:
            key = os.path.join(work, "id")
            keygen = ["ssh-keygen", "-q", "-N", "", "-C", "", "-f", key, "-t", key_type]
            subprocess.run(keygen, check=True, capture_output=True)
            subprocess.run([
                "ssh-keygen", "-q", "-s", args.ca_key, "-I", key_id, "-n", ",".join(principals),
                "-V", validity, "-z", str(serial), "-O", "clear", "-O", "permit-pty", key + ".pub",
            ], check=True, capture_output=True)
            with open(key, encoding="utf-8") as f:
                private_key = f.read()
            with open(key + "-cert.pub", encoding="utf-8") as f:
                signed_key = f.read()
        self.state.record("issued.jsonl", {
            "kind": "certificate", "key_id": key_id, "serial": serial, "principals": principals,
            "ttl_seconds": ttl, "private_key": private_key, "signed_key": signed_key,
        })
        return self.reply(200, {"data": {
            "serial_number": f"{serial:016x}",
            "signed_key": signed_key,
            "private_key": private_key,
            "private_key_type": key_type,
        }})


def stamp(epoch):
    """ssh-keygen's YYYYMMDDHHMMSS, in local time as ssh-keygen reads it."""
    return time.strftime("%Y%m%d%H%M%S", time.localtime(epoch))


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--state", required=True, help="directory for port, issued.jsonl, requests.jsonl")
    p.add_argument("--ca-key", required=True, help="private key of the test SSH CA")
    p.add_argument("--role-id", required=True)
    p.add_argument("--secret-id", required=True)
    p.add_argument("--wrapping-token", required=True)
    p.add_argument("--approle-mount", default="approle")
    p.add_argument("--ssh-mount", required=True)
    p.add_argument("--ssh-role", required=True)
    p.add_argument("--allowed-user", required=True)
    p.add_argument("--max-ttl", default="1h")
    p.add_argument("--namespace", default="")
    args = p.parse_args()

    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file = os.path.join(args.state, "port")
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
