"""The JSON Schema of the policy format, for editors (yaml-language-server).

It is generated from :mod:`followup_policy.schema` and adjusted where the YAML
is more lenient than the models' canonical form: a parameter may be written as
a bare value or a dated list as well as a mapping.
"""

from __future__ import annotations

from typing import Any

from .schema import PolicyDocument

__all__ = ["policy_json_schema"]

_SCALAR: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}],
}


def policy_json_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict (draft 2020-12)."""
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
    return schema
