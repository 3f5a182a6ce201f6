"""Provider schemas as published by `terraform providers schema -json` (the data files
under ../schemas), converted to the protocol's Schema messages, and the walks over values
that a schema drives (marking computed attributes unknown in a plan, filling them in at
apply)."""

import json

_BLOCK_NESTING = {"single": 1, "list": 2, "set": 3, "map": 4, "group": 5}
_ATTRIBUTE_NESTING = {"single": 1, "list": 2, "set": 3, "map": 4}
_STRING_KIND = {"plain": 0, "markdown": 1}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def to_proto(pb, schema_json):
    """A tfplugin6.Schema message from one schema object ({"version", "block"})."""
    return pb.Schema(
        version=schema_json.get("version", 0),
        block=_block(pb, schema_json.get("block", {})),
    )


def _block(pb, block):
    return pb.Schema.Block(
        attributes=[_attribute(pb, name, attr) for name, attr in sorted(block.get("attributes", {}).items())],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=name,
                block=_block(pb, nested["block"]),
                nesting=_BLOCK_NESTING[nested["nesting_mode"]],
                min_items=nested.get("min_items", 0),
                max_items=nested.get("max_items", 0),
            )
            for name, nested in sorted(block.get("block_types", {}).items())
        ],
        description=block.get("description", ""),
        description_kind=_STRING_KIND[block.get("description_kind", "plain")],
        deprecated=block.get("deprecated", False),
    )


def _attribute(pb, name, attr):
    message = pb.Schema.Attribute(
        name=name,
        description=attr.get("description", ""),
        description_kind=_STRING_KIND[attr.get("description_kind", "plain")],
        required=attr.get("required", False),
        optional=attr.get("optional", False),
        computed=attr.get("computed", False),
        sensitive=attr.get("sensitive", False),
        deprecated=attr.get("deprecated", False),
        write_only=attr.get("write_only", False),
    )
    if "nested_type" in attr:
        nested = attr["nested_type"]
        message.nested_type.CopyFrom(
            pb.Schema.Object(
                attributes=[_attribute(pb, n, a) for n, a in sorted(nested["attributes"].items())],
                nesting=_ATTRIBUTE_NESTING[nested["nesting_mode"]],
            )
        )
    else:
        message.type = json.dumps(attr["type"], separators=(",", ":")).encode()
    return message


def walk_block(block, value, visit, path=()):
    """Calls visit(path, name, attribute_schema, object) for every attribute of every
    object of `block` in `value`, where object[name] is the attribute's value; visit may
    replace it. Nested blocks are followed into each of their elements."""
    if not isinstance(value, dict):
        return
    for name, attr in block.get("attributes", {}).items():
        visit(path, name, attr, value)
    for name, nested in block.get("block_types", {}).items():
        inner = value.get(name)
        mode = nested["nesting_mode"]
        if mode in ("single", "group"):
            walk_block(nested["block"], inner, visit, path + (name,))
        elif mode in ("list", "set") and isinstance(inner, list):
            for index, element in enumerate(inner):
                walk_block(nested["block"], element, visit, path + (name, index))
        elif mode == "map" and isinstance(inner, dict):
            for key, element in inner.items():
                walk_block(nested["block"], element, visit, path + (name, key))


def zero_value(cty_type):
    """A known value of the type for attributes a stand-in has nothing better for."""
    if cty_type == "string":
        return ""
    if cty_type == "number":
        return 0
    if cty_type == "bool":
        return False
    kind = cty_type[0]
    if kind in ("list", "set", "tuple"):
        return []
    if kind in ("map", "object"):
        return {} if kind == "map" else {k: None for k in cty_type[1]}
    return None
