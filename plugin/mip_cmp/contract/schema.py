"""JSON Schema of mip.yaml for editors (yaml-language-server), from the same models that validate it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from ..model import KINDS
from ..model.federation import Federation
from ..model.fields import API_VERSION
from ..model.platform import Platform

# Where the committed schema/mip.schema.json is served from the project's repository: editors fetch it by this
# URL (yaml-language-server's `$schema=` comment, SchemaStore's catalog), so a platform repository needs no
# copy of the schema. Stable: the schema only grows within an apiVersion.
SCHEMA_ID = "https://raw.githubusercontent.com/mip-cmp/mip-cmp/main/schema/mip.schema.json"
ANY_VALUE = ("Any YAML value: a string, a number, true or false, null, a list or a mapping, nested freely "
             "(Helm values, as the chart reads them).")


def schema_dict() -> dict[str, Any]:
    """One model per `kind`, chosen by if/then: a generic validator (jsonschema, yaml-language-server) then
    checks a Federation file against the Federation fields only. With pydantic's oneOf it tried both models
    and also reported the Platform's fields as missing."""
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Platform | Federation, Field(discriminator="kind")])
    defs = adapter.json_schema()["$defs"]
    defs["JsonValue"] = {"description": ANY_VALUE, **defs.get("JsonValue", {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
        "title": f"mip.yaml ({API_VERSION})",
        "description": f"A mip.yaml: apiVersion {API_VERSION} and a kind ({', '.join(KINDS)}); see "
                       "docs/mip-yaml.md.",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {"apiVersion": {"const": API_VERSION}, "kind": {"enum": list(KINDS)}},
        "allOf": [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                   "then": {"$ref": f"#/$defs/{model.__name__}"}} for kind, model in KINDS.items()],
        "$defs": defs,
    }


def json_schema() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True) + "\n"
