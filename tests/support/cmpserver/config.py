"""plugin.yaml as argocd-cmp-server reads it (YAML -> JSON), validated like Argo CD, and stricter: unknown
keys are errors (Argo CD ignores them silently, so a typo like ``discovery:`` would go unnoticed)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .argocd import PLUGIN_KIND, HarnessError

_COMMAND = {"command": [str], "args": [str]}
_ANNOUNCEMENT = {
    "name": str, "title": str, "tooltip": str, "required": bool, "itemType": str, "collectionType": str,
    "string": str, "array": [str], "map": {str: str},
}
# Every key argocd-cmp-server reads (cmpserver/plugin/config.go). `{str: X}` is a map of X; `[X]` a list.
_PLUGIN_SCHEMA = {
    "apiVersion": str,
    "kind": str,
    "metadata": {"name": str, "namespace": str, "labels": {str: str}, "annotations": {str: str}},
    "spec": {
        "version": str,
        "init": _COMMAND,
        "generate": _COMMAND,
        "discover": {"fileName": str, "find": {**_COMMAND, "glob": str}},
        "parameters": {"static": [_ANNOUNCEMENT], "dynamic": _COMMAND},
        "preserveFileMode": bool,
        "provideGitCreds": bool,
    },
}
_COLLECTION_TYPES = ("", "string", "array", "map")


def _strict_problems(value: Any, schema: Any, where: str) -> list[str]:
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: must be a list"]
        return [p for i, item in enumerate(value) for p in _strict_problems(item, schema[0], f"{where}[{i}]")]
    if isinstance(schema, dict) and str in schema:
        if not isinstance(value, dict):
            return [f"{where}: must be a mapping"]
        return [p for k, v in value.items() for p in _strict_problems(v, schema[str], f"{where}.{k}")]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where or '<root>'}: must be a mapping"]
        problems = []
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key in schema:
                problems += _strict_problems(item, schema[key], path)
                continue
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
            close += [k for k in schema if k.lower() == str(key).lower()]
            hint = f"; did you mean {close[-1]!r}?" if close else ""
            problems.append(f"{path}: unknown key, argocd-cmp-server would silently ignore it{hint}")
        return problems
    if not isinstance(value, schema):
        return [f"{where}: must be a {schema.__name__}"]
    return []


def _go_key(mapping: Any, key: str) -> Any:
    """encoding/json's field lookup: the exact key, else any key equal to it ignoring case."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    return next((v for k, v in mapping.items() if str(k).lower() == key.lower()), None)


def load_plugin_config(path: Path | str) -> dict[str, Any]:
    """plugin.yaml as argocd-cmp-server reads it (YAML -> JSON), validated like Argo CD and stricter."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        cfg = json.loads(json.dumps(docs[0])) if docs else None  # only what JSON can hold survives
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise HarnessError(f"{path}: not YAML that converts to JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise HarnessError(f"{path}: the plugin configuration must be a mapping")
    # ValidatePluginConfig: these three only (keys matched as Go's encoding/json matches them);
    # argocd-cmp-server exits at startup when one fails.
    metadata, spec = _go_key(cfg, "metadata") or {}, _go_key(cfg, "spec") or {}
    if not _go_key(metadata, "name"):
        raise HarnessError("invalid plugin configuration file. metadata.name should be non-empty.")
    if _go_key(cfg, "kind") != PLUGIN_KIND:
        raise HarnessError(f"invalid plugin configuration file. kind should be {PLUGIN_KIND}, "
                           f"found {_go_key(cfg, 'kind')}")
    if not _go_key(_go_key(spec, "generate"), "command"):
        raise HarnessError("invalid plugin configuration file. spec.generate command should be non-empty")
    # Ours: Go's encoding/json drops unknown keys and matches keys case-insensitively; we refuse both.
    problems = [] if len(docs) == 1 else [f"{len(docs)} YAML documents; argocd-cmp-server reads one"]
    problems += _strict_problems(cfg, _PLUGIN_SCHEMA, "")
    if problems:  # the rest assumes the types are right
        raise HarnessError(f"{path}:\n  " + "\n  ".join(problems))
    problems = _semantic_problems(spec)
    if problems:
        raise HarnessError(f"{path}:\n  " + "\n  ".join(problems))
    return cfg


def _semantic_problems(spec: dict[str, Any]) -> list[str]:
    """What the types allow but argocd-cmp-server would silently ignore or misread."""
    problems = []
    for i, item in enumerate((spec.get("parameters") or {}).get("static") or []):
        if item.get("collectionType", "") not in _COLLECTION_TYPES:
            problems.append(f"spec.parameters.static[{i}].collectionType: must be one of {_COLLECTION_TYPES}")
        if not item.get("name"):
            problems.append(f"spec.parameters.static[{i}].name: is required")
    commands = {"init": spec.get("init"), "generate": spec.get("generate"),
                "parameters.dynamic": (spec.get("parameters") or {}).get("dynamic"),
                "discover.find": (spec.get("discover") or {}).get("find")}
    for key, command in commands.items():
        if command and command.get("args") and not command.get("command"):
            problems.append(f"spec.{key}.args: set without spec.{key}.command, so never run")
    return problems


def plugin_name(cfg: Mapping[str, Any]) -> str:
    """The socket name an Application must use in spec.source.plugin.name: name, or name-version."""
    name: str = cfg["metadata"]["name"]
    version = cfg.get("spec", {}).get("version")
    return f"{name}-{version}" if version else name
