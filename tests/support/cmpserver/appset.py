"""The Applications a list-generator, goTemplate ApplicationSet generates, as the controller makes them."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from .argocd import ARGO_API, FINALIZER, HarnessError

# `{{ .key }}`, with optional trim markers; anything else between {{ }} is refused.
_ACTION = re.compile(r"\{\{(?P<ltrim>-[ \t\r\n])?(?P<body>.*?)(?P<rtrim>[ \t\r\n]-)?\}\}", re.DOTALL)
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def go_template(text: str, params: Mapping[str, Any]) -> str:
    """text/template with missingkey=error, for the one form we use: `{{ .key }}` over string params."""
    out, pos = [], 0
    for m in _ACTION.finditer(text):
        literal = text[pos:m.start()]
        out.append(literal.rstrip(" \t\r\n") if m["ltrim"] else literal)
        field_ref = _FIELD.fullmatch(m["body"].strip(" \t\r\n"))
        if field_ref is None:
            raise HarnessError(f"template {text!r}: only {{{{ .key }}}} actions are imitated, not {m[0]!r}")
        key = field_ref[1]
        if key not in params:
            raise HarnessError(f'failed to execute go template {text}: map has no entry for key "{key}"')
        if not isinstance(params[key], str):
            raise HarnessError(f"template {text!r}: parameter {key!r} is not a string")
        out.append(params[key])
        pos = m.end()
        if m["rtrim"]:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    rest = text[pos:]
    if "{{" in rest:
        raise HarnessError(f"failed to parse template {text}: unclosed action")
    return "".join(out) + rest


def _render_tree(value: Any, params: Mapping[str, Any]) -> Any:
    """deeplyReplace: every string, map keys included, is a template."""
    if isinstance(value, str):
        return go_template(value, params)
    if isinstance(value, list):
        return [_render_tree(v, params) for v in value]
    if isinstance(value, dict):
        return {go_template(k, params): _render_tree(v, params) for k, v in value.items()}
    return value


_APPSET_SPEC_KEYS = {"goTemplate", "goTemplateOptions", "generators", "template", "syncPolicy", "strategy",
                     "preservedFields", "ignoreApplicationDifferences"}


def expand_appset(appset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Applications an ApplicationSet generates: list generators, goTemplate, missingkey=error."""
    name, spec = appset["metadata"]["name"], appset.get("spec") or {}
    what = f"ApplicationSet {name}"
    unknown = set(spec) - _APPSET_SPEC_KEYS
    if unknown:
        raise HarnessError(f"{what}: spec keys {sorted(unknown)} are not imitated")
    if spec.get("goTemplate") is not True or spec.get("goTemplateOptions") != ["missingkey=error"]:
        raise HarnessError(f"{what}: only goTemplate: true with goTemplateOptions [missingkey=error] "
                           "is imitated")
    apps: list[dict[str, Any]] = []
    for generator in spec.get("generators") or []:
        if set(generator) != {"list"} or set(generator["list"]) != {"elements"}:
            raise HarnessError(f"{what}: only list generators with elements are imitated, not {generator}")
        for params in generator["list"]["elements"]:
            rendered = _render_tree(copy.deepcopy(spec["template"]), params)
            metadata = {**rendered.get("metadata", {}), "namespace": appset["metadata"].get("namespace", "")}
            preserve = (spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion", False)
            if not metadata.get("finalizers") and not preserve:
                metadata["finalizers"] = [FINALIZER]
            apps.append({"apiVersion": ARGO_API, "kind": "Application", "metadata": metadata,
                         "spec": rendered.get("spec", {})})
    names = [a["metadata"].get("name") for a in apps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HarnessError(f"{what} contains applications with duplicate name: {duplicates}")
    return apps
