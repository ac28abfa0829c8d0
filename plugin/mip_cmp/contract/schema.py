"""JSON Schema of mip.yaml for editors (yaml-language-server), from the same models that validate it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from ..model import API_VERSION, Federation, Platform

# Where the committed schema/mip.schema.json is served from the project's repository: editors fetch it by this
# URL (yaml-language-server's `$schema=` comment, SchemaStore's catalog), so a platform repository needs no
# copy of the schema. Stable: the schema only grows within an apiVersion.
SCHEMA_ID = "https://raw.githubusercontent.com/mip-cmp/mip-cmp/main/schema/mip.schema.json"


def schema_dict() -> dict[str, Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[Platform | Federation, Field(discriminator="kind")])
    schema = adapter.json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              "title": f"mip.yaml ({API_VERSION})", **schema}
    return schema


def json_schema() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True) + "\n"
