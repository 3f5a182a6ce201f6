"""What a stand-in provider does with Terraform's calls. The base class plans and applies
any resource from its schema alone: a plan keeps what the configuration says and marks the
computed attributes it leaves open as unknown; an apply fills those in (a subclass says
with what, e.g. an address or a key) and keeps everything else as planned, so the result
is always consistent with the plan, as Terraform requires."""

import os
from dataclasses import dataclass, field

from . import schema as schemas_mod
from .wire import UNKNOWN


class ProviderError(Exception):
    def __init__(self, summary, detail=""):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


@dataclass
class Schemas:
    provider: dict
    resources: dict = field(default_factory=dict)
    data_sources: dict = field(default_factory=dict)
    actions: dict = field(default_factory=dict)

    @classmethod
    def from_dir(cls, directory):
        """schemas/<provider>/provider.json, resources/<type>.json, actions/<type>.json."""

        def kind(sub):
            path = os.path.join(directory, sub)
            if not os.path.isdir(path):
                return {}
            return {
                name[: -len(".json")]: schemas_mod.load(os.path.join(path, name))
                for name in sorted(os.listdir(path))
                if name.endswith(".json")
            }

        return cls(
            provider=schemas_mod.load(os.path.join(directory, "provider.json")),
            resources=kind("resources"),
            data_sources=kind("data-sources"),
            actions=kind("actions"),
        )


class Provider:
    name = ""
    # Attributes whose change replaces the resource (ForceNew in the real provider).
    replaced_by = {}

    def __init__(self, schemas):
        self.schemas = schemas
        self.config = {}

    def configure(self, config):
        self.config = config

    def validate_resource(self, type_name, config):
        return []

    def validate_action(self, type_name, config):
        return []

    def read(self, type_name, state):
        return state

    def plan(self, type_name, prior, proposed, config):
        """(planned state, names of top-level attributes that force replacement)."""
        if proposed is None:
            return None, []
        block = self.schemas.resources[type_name]["block"]
        replace = []
        if prior is not None:
            replace = [
                name
                for name in self.replaced_by.get(type_name, ())
                if proposed.get(name) != prior.get(name)
            ]
        creating = prior is None or bool(replace)

        def mark_unknown(_path, name, attr, obj):
            if attr.get("computed") and (config_value(config, _path, name) is None):
                if creating:
                    obj[name] = UNKNOWN
                elif replace and obj.get(name) is not None:
                    obj[name] = UNKNOWN

        if creating:
            schemas_mod.walk_block(block, proposed, mark_unknown)
        return proposed, replace

    def apply(self, type_name, prior, planned, config):
        if planned is None:
            self.delete(type_name, prior)
            return None
        block = self.schemas.resources[type_name]["block"]
        state = self.create_or_update(type_name, prior, planned)

        def fill(path, name, attr, obj):
            if obj.get(name) is UNKNOWN:
                obj[name] = self.computed_value(type_name, state, path, name, attr)

        schemas_mod.walk_block(block, state, fill)
        return state

    def create_or_update(self, type_name, prior, planned):
        """The new state before unknowns are filled: by default what was planned. A
        provider that talks to a real service does its calls here."""
        return dict(planned)

    def delete(self, type_name, prior):
        pass

    def computed_value(self, type_name, state, path, name, attr):
        """The value of a computed attribute that was unknown in the plan."""
        return schemas_mod.zero_value(attr["type"])

    def invoke(self, action_type, config):
        raise ProviderError(f"the {action_type} action is not served by this stand-in")

    def stop(self):
        pass


def config_value(config, path, name):
    """The configuration's value at path/name (None where the configuration has none)."""
    value = config
    for step in path:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            value = value[step]
        else:
            return None
    if isinstance(value, dict):
        return value.get(name)
    return None
