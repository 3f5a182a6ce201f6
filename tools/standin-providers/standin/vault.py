"""hashicorp/vault: applies its resources to a real Vault (or OpenBao) server through the
HTTP API, as the real provider does: the mount, the SSH CA (Vault generates the key), the
SSH role, the policy, the AppRole role and a response-wrapped secret_id. State comes back
from Vault's answers (the CA's public key, the role_id, the wrapping token and accessors).
Reads return the state as stored (no drift detection), except that a secret_id Vault no
longer knows (for a wrapped one: whose wrapping token is used or expired) leaves the state,
as with the real provider."""

import os
import re

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
            "with_wrapped_accessor",
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
        """As the real provider (5.11.0, resource_approle_auth_backend_role_secret_id.go):
        a response-wrapped secret_id (id `...::accessor=wrapped-<wrapping accessor>`) is
        gone once its wrapping token is (unwrapped by the job, or expired): Vault answers
        "invalid accessor" to auth/token/lookup-accessor, and it leaves the state. Other
        secret_ids are looked up by their own accessor. Everything else reads back as
        stored."""
        if type_name != "vault_approle_auth_backend_role_secret_id" or not state:
            return state
        backend, role, accessor, wrapped = _parse_secret_id_id(state["id"])
        try:
            if wrapped:
                self.api().call("POST", "auth/token/lookup-accessor", {"accessor": accessor})
            else:
                self.api().call(
                    "POST",
                    f"auth/{backend}/role/{role}/secret-id-accessor/lookup",
                    {"secret_id_accessor": accessor},
                )
        except ProviderError as error:
            if _expired(error):
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
            # As the real provider: a wrapped one is deleted by revoking its wrapping token.
            backend, role, accessor, wrapped = _parse_secret_id_id(prior["id"])
            if wrapped:
                api.call("POST", "auth/token/revoke-accessor", {"accessor": accessor})
            else:
                api.call(
                    "POST",
                    f"auth/{backend}/role/{role}/secret-id-accessor/destroy",
                    {"secret_id_accessor": accessor},
                )
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
            # As the real provider: the wrapping token's accessor names the resource (and is
            # its wrapping_accessor) unless with_wrapped_accessor asks for the secret_id's;
            # secret_id and accessor stay unset.
            by_secret = bool(known(state.get("with_wrapped_accessor")))
            accessor = wrap["wrapped_accessor"] if by_secret else wrap["accessor"]
            found = {
                "wrapping_token": wrap["token"],
                "wrapping_accessor": accessor,
                "accessor": None,
                "secret_id": None,
            }
            id_accessor = accessor if by_secret else f"wrapped-{accessor}"
        else:
            data = answer["data"]
            found = {
                "accessor": data["secret_id_accessor"],
                "secret_id": data["secret_id"],
                "wrapping_token": None,
                "wrapping_accessor": None,
            }
            id_accessor = data["secret_id_accessor"]
        found["id"] = f"backend={backend}::role={state['role_name']}::accessor={id_accessor}"
        _fill_unknown(state, found)


def _parse_secret_id_id(resource_id):
    """(backend, role, accessor, wrapped) from `backend=B::role=R::accessor=[wrapped-]A`."""
    match = re.match(r"^backend=(.+)::role=(.+)::accessor=(.+)$", resource_id or "")
    if not match:
        raise ProviderError(
            f"invalid ID {resource_id!r} for AppRole auth backend role SecretID",
            "ID did not match pattern",
        )
    backend, role, accessor = match.groups()
    if accessor.startswith("wrapped-"):
        return backend, role, accessor[len("wrapped-"):], True
    return backend, role, accessor, False


def _expired(error):
    """The real provider's util.IsExpiredTokenErr, plus a 404."""
    return (
        "invalid accessor" in error.detail
        or "failed to find accessor entry" in error.detail
        or " 404 " in error.summary
    )


def _fill_unknown(state, found):
    for name, value in found.items():
        if state.get(name) is UNKNOWN:
            state[name] = value
