"""hashicorp/vault: applies its resources to a real Vault (or OpenBao) server through the
HTTP API, as the real provider does: the mount, the SSH CA (Vault generates the key), the
SSH role, the policy, the AppRole role and a response-wrapped secret_id. State comes back
from Vault's answers (the CA's public key, the role_id, the wrapping token and accessors).
Reads return the state as stored (no drift detection), except that a secret_id Vault no
longer knows leaves the state, as with the real provider."""

import os

from .provider import Provider, ProviderError
from .vault_api import VaultApi
from .wire import UNKNOWN, known

# Arguments of a resource that name it or the provider's bookkeeping, never sent as
# fields of the Vault object.
_META = {"id", "namespace", "backend", "name", "role_name", "path"}


def _fields(state, skip=()):
    return {
        name: value
        for name, value in state.items()
        if name not in _META and name not in skip and value is not None and value is not UNKNOWN
    }


class VaultProvider(Provider):
    name = "vault"
    replaced_by = {
        "vault_mount": ("path", "type", "local", "seal_wrap"),
        "vault_ssh_secret_backend_ca": ("backend", "generate_signing_key", "key_type", "key_bits"),
        "vault_ssh_secret_backend_role": ("name", "backend"),
        "vault_policy": ("name",),
        "vault_approle_auth_backend_role": ("backend", "role_name"),
        "vault_approle_auth_backend_role_secret_id": (
            "backend",
            "role_name",
            "metadata",
            "wrapping_ttl",
            "cidr_list",
            "ttl",
            "num_uses",
        ),
    }

    def configure(self, config):
        super().configure(config)
        self.address = config.get("address") or os.environ.get("VAULT_ADDR", "")
        self.token = config.get("token") or os.environ.get("VAULT_TOKEN", "")
        self.namespace = config.get("namespace") or os.environ.get("VAULT_NAMESPACE")

    def api(self):
        return VaultApi(self.address, self.token, self.namespace)

    def read(self, type_name, state):
        """As the real provider, a secret_id whose accessor Vault no longer knows (used up
        by its logins, or expired) is gone: it leaves the state, and the next plan mints a
        new one. Everything else reads back as stored."""
        if type_name != "vault_approle_auth_backend_role_secret_id" or not state:
            return state
        backend = state.get("backend") or "approle"
        try:
            self.api().call(
                "POST",
                f"auth/{backend}/role/{state['role_name']}/secret-id-accessor/lookup",
                {"secret_id_accessor": state["accessor"]},
            )
        except ProviderError as error:
            if "failed to find accessor entry" in error.detail:
                return None
            raise
        return state

    def create_or_update(self, type_name, prior, planned):
        state = dict(planned)
        handler = getattr(self, "_apply_" + type_name, None)
        if handler is None:
            raise ProviderError(f"the {type_name} resource is not served by this stand-in")
        handler(self.api(), prior, state)
        return state

    def delete(self, type_name, prior):
        api = self.api()
        backend = prior.get("backend")
        paths = {
            "vault_mount": lambda: f"sys/mounts/{prior['path']}",
            "vault_ssh_secret_backend_ca": lambda: f"{backend}/config/ca",
            "vault_ssh_secret_backend_role": lambda: f"{backend}/roles/{prior['name']}",
            "vault_policy": lambda: f"sys/policies/acl/{prior['name']}",
            "vault_approle_auth_backend_role": lambda: f"auth/{backend}/role/{prior['role_name']}",
        }
        if type_name == "vault_approle_auth_backend_role_secret_id":
            try:
                api.call(
                    "POST",
                    f"auth/{backend}/role/{prior['role_name']}/secret-id-accessor/destroy",
                    {"secret_id_accessor": prior["accessor"]},
                )
            except ProviderError as error:
                # A secret_id used up by its single login (or expired) is already gone.
                if "failed to find accessor entry" not in error.detail:
                    raise
        else:
            api.call("DELETE", paths[type_name]())

    def _apply_vault_mount(self, api, prior, state):
        path = state["path"]
        if prior is None:
            body = {"type": state["type"], "description": state.get("description") or ""}
            config = {}
            for name, key in (("default_lease_ttl_seconds", "default_lease_ttl"), ("max_lease_ttl_seconds", "max_lease_ttl")):
                if known(state.get(name)) is not None:
                    config[key] = f"{state[name]}s"
            if config:
                body["config"] = config
            for name in ("options", "local", "seal_wrap", "external_entropy_access"):
                if known(state.get(name)) is not None:
                    body[name] = state[name]
            api.call("POST", f"sys/mounts/{path}", body)
        else:
            api.call("POST", f"sys/mounts/{path}/tune", {"description": state.get("description") or ""})
        mount = api.call("GET", f"sys/mounts/{path}") or {}
        mount = mount.get("data", mount)
        config = mount.get("config") or {}
        found = {
            "id": path,
            "accessor": mount.get("accessor", ""),
            "default_lease_ttl_seconds": config.get("default_lease_ttl", 0),
            "max_lease_ttl_seconds": config.get("max_lease_ttl", 0),
            "force_no_cache": bool(config.get("force_no_cache", False)),
            "seal_wrap": bool(mount.get("seal_wrap", False)),
            "audit_non_hmac_request_keys": config.get("audit_non_hmac_request_keys") or [],
            "audit_non_hmac_response_keys": config.get("audit_non_hmac_response_keys") or [],
        }
        _fill_unknown(state, found)

    def _apply_vault_ssh_secret_backend_ca(self, api, prior, state):
        body = _fields(state, skip=("private_key", "public_key"))
        for name in ("private_key", "public_key"):
            if known(state.get(name)):
                body[name] = state[name]
        # Vault generates a 4096-bit RSA key by default: tens of seconds on a busy machine.
        answer = api.call("POST", f"{state['backend']}/config/ca", body, timeout=300) or {}
        public_key = (answer.get("data") or {}).get("public_key")
        if not public_key:
            public_key = (api.call("GET", f"{state['backend']}/config/ca") or {})["data"]["public_key"]
        _fill_unknown(state, {"id": state["backend"], "public_key": public_key, "private_key": ""})

    def _apply_vault_ssh_secret_backend_role(self, api, prior, state):
        path = f"{state['backend']}/roles/{state['name']}"
        api.call("POST", path, _fields(state, skip=("allowed_user_key_config",)))
        role = (api.call("GET", path) or {}).get("data") or {}
        not_before = role.get("not_before_duration", 30)
        _fill_unknown(
            state,
            {
                "id": path,
                "not_before_duration": f"{not_before}s" if isinstance(not_before, int) else str(not_before),
                "port": role.get("port", 22) if isinstance(role.get("port"), int) else 22,
                "allowed_domains_template": bool(role.get("allowed_domains_template", False)),
            },
        )

    def _apply_vault_policy(self, api, prior, state):
        api.call("PUT", f"sys/policies/acl/{state['name']}", {"policy": state["policy"]})
        _fill_unknown(state, {"id": state["name"], "allow_overwrite": True})

    def _apply_vault_approle_auth_backend_role(self, api, prior, state):
        backend = state.get("backend") or "approle"
        path = f"auth/{backend}/role/{state['role_name']}"
        api.call("POST", path, _fields(state, skip=("role_id",)))
        if known(state.get("role_id")):
            api.call("POST", f"{path}/role-id", {"role_id": state["role_id"]})
        role_id = api.call("GET", f"{path}/role-id")["data"]["role_id"]
        _fill_unknown(state, {"id": path, "role_id": role_id})

    def _apply_vault_approle_auth_backend_role_secret_id(self, api, prior, state):
        backend = state.get("backend") or "approle"
        body = {
            name: state[name]
            for name in ("metadata", "cidr_list", "token_bound_cidrs", "ttl", "num_uses")
            if known(state.get(name)) is not None
        }
        answer = api.call(
            "POST",
            f"auth/{backend}/role/{state['role_name']}/secret-id",
            body,
            wrap_ttl=known(state.get("wrapping_ttl")),
        )
        wrap = answer.get("wrap_info")
        if wrap:
            found = {
                "wrapping_token": wrap["token"],
                "wrapping_accessor": wrap["accessor"],
                "accessor": wrap["wrapped_accessor"],
                "secret_id": "",
            }
        else:
            data = answer["data"]
            found = {
                "accessor": data["secret_id_accessor"],
                "secret_id": data["secret_id"],
                "wrapping_token": "",
                "wrapping_accessor": "",
            }
        found["id"] = f"backend={backend}::role={state['role_name']}::accessor={found['accessor']}"
        _fill_unknown(state, found)


def _fill_unknown(state, found):
    for name, value in found.items():
        if state.get(name) is UNKNOWN:
            state[name] = value
