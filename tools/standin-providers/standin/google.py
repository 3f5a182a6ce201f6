"""hashicorp/google: instances and firewall rules exist only in the state. Each instance
gets an ephemeral "external" address on the loopback range, derived from its name, so
that what reads the address (outputs, the configuration job) has a local one."""

import hashlib

from .provider import Provider
from .wire import known


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
