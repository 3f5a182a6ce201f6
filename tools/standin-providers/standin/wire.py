"""Terraform's wire format for values (docs/plugin-protocol/object-wire-format.md in the
Terraform repository): MessagePack, with unknown values as extension values."""

import json

import msgpack


class _Unknown:
    """A value Terraform (or a plan) only learns during apply."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()


def _ext_hook(_code, _payload):
    # Every extension code is an unknown value; code 12 carries refinements, which a
    # stand-in may ignore (the value stays wholly unknown to it).
    return UNKNOWN


def _default(value):
    if value is UNKNOWN:
        # Unrefined unknown: extension code 0, payload ignored by the reader.
        return msgpack.ExtType(0, b"")
    raise TypeError(f"cannot encode {value!r} for Terraform")


def decode(dynamic_value):
    """The Python value of a DynamicValue message (None for an absent value)."""
    if dynamic_value.msgpack:
        return msgpack.unpackb(
            dynamic_value.msgpack, ext_hook=_ext_hook, raw=False, strict_map_key=False
        )
    if dynamic_value.json:
        return json.loads(dynamic_value.json)
    return None


def encode(value):
    """MessagePack bytes for a DynamicValue message."""
    return msgpack.packb(value, default=_default, use_bin_type=True)


def known(value):
    """The value, or None while it is unknown."""
    return None if value is UNKNOWN else value


def contains_unknown(value):
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
