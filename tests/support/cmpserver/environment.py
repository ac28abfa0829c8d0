"""The request environment of each call type: ``full_env`` (init and generate), ``discovery_env``
(MatchRepository during auto-detection) and ``app_details_env`` (parameter announcements), with Argo CD's
envsubst and parameter encoding."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .argocd import DEFAULT_CLUSTER, ClusterInfo, HarnessError


def fake_commit(revision: str) -> str:
    """A stable 40-hex "resolved" SHA for a target revision (there is no remote to resolve it against)."""
    return hashlib.sha1(f"mip-cmp-harness:{revision}".encode()).hexdigest()


def default_sidecar_env() -> dict[str, str]:
    """The sidecar's own environment: what argocd-cmp-server inherits (this venv's bin first on PATH)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    # The harness goes through the warm renderer, as the sidecar does; it should not outlive the tests long.
    return {"PATH": path, "HOME": os.environ.get("HOME") or tempfile.gettempdir(), "LANG": "C.UTF-8",
            "MIP_CMP_RENDERER_IDLE": "60"}


def source_of(app: Mapping[str, Any]) -> dict[str, Any]:
    spec = app.get("spec") or {}
    if spec.get("sources"):
        raise HarnessError(f"Application {app['metadata']['name']}: multi-source apps are not imitated")
    source: dict[str, Any] = spec.get("source") or {}
    return source


def instance_name(app: Mapping[str, Any], controller_namespace: str | None) -> str:
    """Application.InstanceName: `name`, or `<namespace>_<name>` outside the control-plane namespace."""
    meta = app["metadata"]
    namespace = meta.get("namespace", "")
    if not namespace or controller_namespace is None or namespace == controller_namespace:
        return str(meta["name"])
    return f"{namespace}_{meta['name']}"


def app_vars(app: Mapping[str, Any], commit: str, controller_namespace: str | None = None) -> dict[str, str]:
    """The nine ARGOCD_APP_* build variables (repository.go newEnv)."""
    source, spec = source_of(app), app.get("spec") or {}
    return {
        "ARGOCD_APP_NAME": instance_name(app, controller_namespace),
        "ARGOCD_APP_NAMESPACE": (spec.get("destination") or {}).get("namespace", ""),
        "ARGOCD_APP_PROJECT_NAME": spec.get("project", ""),
        "ARGOCD_APP_REVISION": commit,
        "ARGOCD_APP_REVISION_SHORT": commit[:7],
        "ARGOCD_APP_REVISION_SHORT_8": commit[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": source.get("repoURL", ""),
        "ARGOCD_APP_SOURCE_PATH": source.get("path", ""),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.get("targetRevision", ""),
    }


def _is_shell_special(c: str) -> bool:
    return c in "*#$@!?-0123456789"


def _shell_name(s: str) -> tuple[str, int]:
    """Go os.getShellName: (name, characters consumed after the '$')."""
    if s[0] == "{":
        if len(s) > 2 and _is_shell_special(s[1]) and s[2] == "}":
            return s[1], 3
        end = s.find("}", 1)
        if end == 1:
            return "", 2  # "${}": bad syntax, eaten
        return (s[1:end], end + 1) if end > 0 else ("", 1)  # "${" unclosed: bad syntax, eaten
    if _is_shell_special(s[0]):
        return s[0], 1
    n = 0
    while n < len(s) and (s[n] == "_" or (s[n].isascii() and s[n].isalnum())):
        n += 1
    return s[:n], n


def envsubst(value: str, variables: Mapping[str, str]) -> str:
    """Env.Envsubst: Go's os.Expand over `variables` only; unknown -> "", `$$` -> `$`."""
    out, i, j = [], 0, 0
    while j < len(value):
        if value[j] == "$" and j + 1 < len(value):
            out.append(value[i:j])
            name, width = _shell_name(value[j + 1:])
            if name:
                out.append("$" if name == "$" else variables.get(name, ""))
            elif width == 0:
                out.append("$")  # "$" not followed by a name stays
            j += width
            i = j + 1
        j += 1
    return "".join(out) + value[i:]


def go_json(value: Any) -> str:
    """encoding/json.Marshal: compact, map keys sorted, <>& and U+2028/9 escaped, UTF-8 kept."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _escaped(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def plugin_env(plugin: Mapping[str, Any] | None, variables: Mapping[str, str]) -> dict[str, str]:
    """ARGOCD_ENV_* (envsubst against `variables`), ARGOCD_APP_PARAMETERS and PARAM_* (getPluginParamEnvs)."""
    if plugin is None:
        return {}  # no plugin block: none of these, not even ARGOCD_APP_PARAMETERS
    env = {f"ARGOCD_ENV_{e['name']}": envsubst(e.get("value", ""), variables)
           for e in plugin.get("env") or []}
    params = plugin.get("parameters")
    marshalled = []
    for p in params or []:
        item: dict[str, Any] = {"name": p.get("name", "")}
        if p.get("string") is not None:
            item["string"] = p["string"]
        if "map" in p:
            item["map"] = p["map"] or {}
        if "array" in p:
            item["array"] = p["array"] or []
        marshalled.append(item)
    env["ARGOCD_APP_PARAMETERS"] = "null" if params is None else go_json(marshalled)
    for item in marshalled:
        base = "PARAM_" + _escaped(item["name"])
        if "string" in item:
            env[base] = item["string"]
        for key, val in item.get("map", {}).items():
            env[f"{base}_{_escaped(key)}"] = val
        for i, val in enumerate(item.get("array", [])):
            env[f"{base}_{i}"] = val
    return env


def full_env(app: Mapping[str, Any], commit: str, cluster: ClusterInfo = DEFAULT_CLUSTER) -> dict[str, str]:
    """GenerateManifest (init + generate): the 9 ARGOCD_APP_*, KUBE_*, ARGOCD_ENV_*, parameters."""
    build = app_vars(app, commit, cluster.controller_namespace)
    build["KUBE_VERSION"] = cluster.kube_version
    build["KUBE_API_VERSIONS"] = ",".join(cluster.api_versions)
    return {**build, **plugin_env(source_of(app).get("plugin"), build)}


def discovery_env(app: Mapping[str, Any], commit: str,
                  controller_namespace: str | None = None) -> dict[str, str]:
    """MatchRepository during auto-detection: only the 9 ARGOCD_APP_*."""
    return app_vars(app, commit, controller_namespace)


def app_details_env(app: Mapping[str, Any], controller_namespace: str | None = None) -> dict[str, str]:
    """GetParametersAnnouncement / app details: 4 ARGOCD_APP_* plus ARGOCD_ENV_* and parameters."""
    source = source_of(app)
    base = {
        "ARGOCD_APP_NAME": instance_name(app, controller_namespace),
        "ARGOCD_APP_SOURCE_REPO_URL": source.get("repoURL", ""),
        "ARGOCD_APP_SOURCE_PATH": source.get("path", ""),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.get("targetRevision", ""),
    }
    return {**base, **plugin_env(source.get("plugin"), base)}
