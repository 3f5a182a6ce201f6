"""hashicorp/vault: the SSH CA, roles, policy and AppRole objects exist only in the state,
with what Vault would compute for them: a real SSH CA key pair (RSA, as the role's
rsa-sha2-256 signer needs), a role_id, a response-wrapped secret_id's token and accessor."""

import secrets
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .provider import Provider
from .wire import UNKNOWN, known


def _ssh_ca_key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return public.decode() + "\n", private.decode()


class VaultProvider(Provider):
    name = "vault"
    replaced_by = {
        "vault_mount": ("path", "type"),
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
        ),
    }

    def create_or_update(self, type_name, prior, planned):
        state = dict(planned)
        if type_name == "vault_ssh_secret_backend_ca" and state.get("public_key") is UNKNOWN:
            public, private = _ssh_ca_key_pair()
            state["public_key"] = public
            if state.get("private_key") is UNKNOWN:
                state["private_key"] = private
        return state

    def computed_value(self, type_name, state, path, name, attr):
        backend = known(state.get("backend")) or "approle"
        ids = {
            "vault_mount": lambda: state.get("path"),
            "vault_ssh_secret_backend_ca": lambda: state.get("backend"),
            "vault_ssh_secret_backend_role": lambda: f"{state.get('backend')}/roles/{state.get('name')}",
            "vault_policy": lambda: state.get("name"),
            "vault_approle_auth_backend_role": lambda: f"auth/{backend}/role/{state.get('role_name')}",
            "vault_approle_auth_backend_role_secret_id": lambda: (
                f"backend={backend}::role={state.get('role_name')}::accessor={state.get('wrapping_accessor')}"
            ),
        }
        generated = {
            "accessor": lambda: f"{state.get('type', 'auth')}_{secrets.token_hex(4)}",
            "role_id": lambda: str(uuid.uuid4()),
            "wrapping_token": lambda: "hvs." + secrets.token_urlsafe(24),
            "wrapping_accessor": lambda: secrets.token_urlsafe(18),
        }
        if path == () and name in generated:
            return generated[name]()
        if path == () and name == "id" and type_name in ids:
            return ids[type_name]()
        return super().computed_value(type_name, state, path, name, attr)

    def apply(self, type_name, prior, planned, config):
        state = super().apply(type_name, prior, planned, config)
        # The id of a secret_id names its accessor, known only once the accessor is.
        if state and type_name == "vault_approle_auth_backend_role_secret_id" and prior is None:
            backend = state.get("backend") or "approle"
            state["id"] = f"backend={backend}::role={state.get('role_name')}::accessor={state.get('wrapping_accessor')}"
        return state
