"""The few Vault HTTP API calls the vault stand-in makes, with the token, namespace and
error handling of a Vault client (works against Vault and OpenBao alike)."""

import json
import urllib.error
import urllib.request

from .provider import ProviderError


class VaultApi:
    def __init__(self, address, token, namespace=None, timeout=10):
        if not address:
            raise ProviderError(
                "no Vault address",
                "Set address in the provider block or VAULT_ADDR in Terraform's environment.",
            )
        if not token:
            raise ProviderError(
                "no Vault token",
                "Set VAULT_TOKEN in Terraform's environment (or token in the provider block).",
            )
        self.address = address.rstrip("/")
        self.token = token
        self.namespace = namespace
        self.timeout = timeout

    def call(self, method, path, body=None, wrap_ttl=None, namespace=None, timeout=None):
        """The decoded answer of `method /v1/<path>` (None for 204); a Vault error becomes
        a ProviderError naming the call and Vault's own message."""
        request = urllib.request.Request(
            f"{self.address}/v1/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
        )
        request.add_header("X-Vault-Token", self.token)
        request.add_header("Content-Type", "application/json")
        if namespace or self.namespace:
            request.add_header("X-Vault-Namespace", namespace or self.namespace)
        if wrap_ttl:
            request.add_header("X-Vault-Wrap-TTL", wrap_ttl)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = "; ".join(json.loads(detail).get("errors") or []) or detail
            except ValueError:
                pass
            raise ProviderError(f"Vault answered {error.code} to {method} /v1/{path}", detail) from error
        except (urllib.error.URLError, OSError) as error:
            raise ProviderError(f"Vault at {self.address} cannot be reached", str(error)) from error
