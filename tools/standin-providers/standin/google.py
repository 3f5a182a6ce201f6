"""hashicorp/google. Without a Compute endpoint, instances and firewall rules exist only
in the state, and each instance gets an "external" address on the loopback range derived
from its name. With GOOGLE_COMPUTE_CUSTOM_ENDPOINT (the real provider's custom-endpoint
setting for the Compute API) pointing at the Compute stand-in (tools/standin-cloud),
instances and firewall rules are created, updated and deleted through that API, as the
real provider does against Compute Engine: each instance is then a running machine with
its own address and sshd, booted with its metadata_startup_script."""

import hashlib
import json
import os
import urllib.error
import urllib.request

from .provider import Provider, ProviderError
from .wire import UNKNOWN, known


def loopback_address(name):
    digest = hashlib.sha256(name.encode()).digest()
    # 127.2.0.0/16: away from 127.0.0.1, where the host's own services listen.
    return f"127.2.{digest[0]}.{max(digest[1], 1)}"


class GoogleProvider(Provider):
    name = "google"
    replaced_by = {
        "google_compute_instance": ("name", "zone", "project"),
        "google_compute_firewall": ("name", "network", "project", "direction"),
    }

    def configure(self, config):
        super().configure(config)
        endpoint = os.environ.get("GOOGLE_COMPUTE_CUSTOM_ENDPOINT", "")
        self.compute = ComputeApi(endpoint) if endpoint else None

    def _project(self, state):
        return known(state.get("project")) or self.config.get("project") or "standin-project"

    def create_or_update(self, type_name, prior, planned):
        state = dict(planned)
        if self.compute is None:
            return state
        project = self._project(state)
        name = state["name"]
        if type_name == "google_compute_instance" and prior is None:
            zone = known(state.get("zone")) or self.config.get("zone") or ""
            instances = f"projects/{project}/zones/{zone}/instances"
            self.compute.call("POST", instances, instance_body(state), f"creating instance {name}")
            created = self.compute.call("GET", f"{instances}/{name}", None, f"reading instance {name}")
            nat_ip = created["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
            for interface in state.get("network_interface") or []:
                for access in interface.get("access_config") or []:
                    if access.get("nat_ip") is UNKNOWN:
                        access["nat_ip"] = nat_ip
        elif type_name == "google_compute_firewall":
            body = firewall_body(state)
            if prior is None:
                self.compute.call("POST", f"projects/{project}/global/firewalls", body, f"creating firewall {name}")
            else:
                self.compute.call("PUT", f"projects/{project}/global/firewalls/{name}", body, f"updating firewall {name}")
        return state

    def delete(self, type_name, prior):
        if self.compute is None:
            return
        project = self._project(prior)
        name = prior["name"]
        if type_name == "google_compute_instance":
            path = f"projects/{project}/zones/{prior['zone']}/instances/{name}"
        else:
            path = f"projects/{project}/global/firewalls/{name}"
        self.compute.call("DELETE", path, None, f"deleting {name}", missing_ok=True)

    def computed_value(self, type_name, state, path, name, attr):
        # Computed attributes are filled in one by one, so some are still unknown here.
        project = known(state.get("project")) or self.config.get("project") or "standin-project"
        zone = known(state.get("zone")) or self.config.get("zone") or ""
        resource = known(state.get("name")) or ""
        if path == () and name == "project":
            return project
        if type_name == "google_compute_instance":
            base = f"projects/{project}/zones/{zone}/instances/{resource}"
            values = {
                (): {
                    "id": base,
                    "self_link": f"https://www.googleapis.com/compute/v1/{base}",
                    "instance_id": str(int(hashlib.sha256(base.encode()).hexdigest()[:12], 16)),
                    "zone": zone,
                    "current_status": "RUNNING",
                    "cpu_platform": "Intel Broadwell",
                },
            }
            if path[:1] == ("network_interface",) and name == "network_ip":
                return "10.128.0.2"
            if path[:1] == ("network_interface",) and len(path) == 4 and name == "nat_ip":
                return loopback_address(resource)
            if path[:1] == ("network_interface",) and name == "name":
                return "nic0"
            if path == () and name in ("effective_labels", "terraform_labels"):
                return dict(state.get("labels") or {})
            if path == () and name in values[()]:
                return values[()][name]
        if type_name == "google_compute_firewall" and path == ():
            base = f"projects/{project}/global/firewalls/{resource}"
            if name == "id":
                return base
            if name == "self_link":
                return f"https://www.googleapis.com/compute/v1/{base}"
        return super().computed_value(type_name, state, path, name, attr)


def instance_body(state):
    """The instances.insert request for what the provider knows at create time; the
    startup script travels as metadata item "startup-script", as with the real provider."""
    metadata = [{"key": k, "value": v} for k, v in sorted((state.get("metadata") or {}).items())]
    script = known(state.get("metadata_startup_script"))
    if script:
        metadata.append({"key": "startup-script", "value": script})
    return {
        "name": state["name"],
        "machineType": state.get("machine_type"),
        "tags": {"items": list(state.get("tags") or [])},
        "labels": dict(state.get("labels") or {}),
        "metadata": {"items": metadata},
    }


def firewall_body(state):
    return {
        "name": state["name"],
        "network": state.get("network"),
        "direction": known(state.get("direction")) or "INGRESS",
        "sourceRanges": list(state.get("source_ranges") or []),
        "targetTags": list(state.get("target_tags") or []),
        "allowed": [
            {"IPProtocol": rule.get("protocol"), "ports": list(rule.get("ports") or [])}
            for rule in state.get("allow") or []
        ],
    }


class ComputeApi:
    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/") + "/"

    def call(self, method, path, body, what, missing_ok=False):
        request = urllib.request.Request(
            self.endpoint + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return {}
            try:
                message = json.loads(error.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = error.reason
            raise ProviderError(f"Error {what}: googleapi: Error {error.code}: {message}") from error
        except (urllib.error.URLError, OSError) as error:
            raise ProviderError(
                f"Error {what}: the Compute API at {self.endpoint} cannot be reached",
                f"{error}. GOOGLE_COMPUTE_CUSTOM_ENDPOINT names it; is the Compute stand-in running?",
            ) from error
