"""The mip.yaml reference (docs/mip-yaml.md), written from the JSON Schema of the models so it cannot go
stale (tests/test_contract_files.py compares the committed file)."""

from __future__ import annotations

import json
from typing import Any

from ..model.fields import API_VERSION
from .schema import schema_dict


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " or ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        extra = prop.get("additionalProperties") or next(iter(prop.get("patternProperties", {}).values()), None)
        return f"map of {_type(extra)}" if isinstance(extra, dict) and extra else "mapping"
    return str(kind) if kind else "any"


def _default(name: str, prop: dict[str, Any], required: list[str]) -> str:
    if name in required:
        return "**required**"
    if "default" in prop and prop["default"] not in ({}, [], None):
        return f"`{json.dumps(prop['default'])}`"
    return ""


def markdown() -> str:
    schema = schema_dict()
    out = [
        "# mip.yaml reference",
        "",
        "Generated from the models in `plugin/mip_cmp/model/` by `scripts/regenerate.py`; do not edit.",
        f"Every file starts with `apiVersion: {API_VERSION}` and a `kind`; unknown keys are errors.",
        "String values may hold `{{ jinja2 }}` expressions (see the README).",
        "",
    ]
    order = ["Platform", "Federation", *sorted(set(schema["$defs"]) - {"Platform", "Federation"})]
    for name in order:
        model = schema["$defs"][name]
        out += [f"## {name}", "", model.get("description", "").split("\n\n")[0].replace("\n", " "), ""]
        if "properties" not in model:  # a value, not a mapping with fields (JsonValue)
            continue
        out += ["| field | type | default | meaning |", "|---|---|---|---|"]
        required = model.get("required", [])
        for field, prop in model.get("properties", {}).items():
            meaning = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{field}` | {_type(prop)} | {_default(field, prop, required)} | {meaning} |")
        out.append("")
    return "\n".join(out)
