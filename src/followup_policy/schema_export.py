"""The JSON Schema of the policy format, for editors (yaml-language-server).

It is generated from :mod:`followup_policy.schema` and adjusted where the YAML
is more lenient than the models' canonical form: a parameter may be written as
a bare value or a dated list as well as a mapping.

A branch file (one with ``extends``) lists only what it changes, e.g.
``timing_nodes: [{id: m3, window: 10 days}]``, so its schema variant keeps only the
keys that identify an item (``id``, ``tier``) required, and needs ``extends``.
Whether an override is allowed (the guardrails) is for ``validate`` to say.
"""

from __future__ import annotations

from typing import Any

from .schema import PolicyDocument

__all__ = ["policy_json_schema"]

_SCALAR: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}],
}


def policy_json_schema(*, branch: bool = False) -> dict[str, Any]:
    """The schema as a JSON-ready dict (draft 2020-12); ``branch``: the branch variant."""
    schema = PolicyDocument.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    if "Parameter" in defs:
        schema["properties"]["parameters"]["additionalProperties"] = {
            "description": defs["Parameter"].get("description", ""),
            "anyOf": [
                _SCALAR,
                {"type": "array", "items": {"$ref": "#/$defs/DatedValue"}},
                {"$ref": "#/$defs/Parameter"},
            ],
        }
    return _branch_variant(schema) if branch else schema


def _branch_variant(schema: dict[str, Any]) -> dict[str, Any]:
    """Every key optional but an item's identity; the header must name its parent."""
    schema["title"] = "followup-policy branch policy (extends another)"
    schema["required"] = ["policy"]
    for name, definition in schema.get("$defs", {}).items():
        properties = definition.get("properties", {})
        if name == "PolicyHeader":
            definition["required"] = ["extends"]
            properties["extends"] = {**properties.get("extends", {}), "type": "string"}
            properties["extends"].pop("anyOf", None)
            properties["extends"].pop("default", None)
        elif "id" in properties:
            definition["required"] = ["id"]
        elif "tier" in properties and name == "RiskTier":
            definition["required"] = ["tier"]
        else:
            definition.pop("required", None)
    return schema
