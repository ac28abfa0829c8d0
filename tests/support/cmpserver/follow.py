"""Following the app-of-apps: from one root Application, every Application that comes back to the repository
through the plugin, rendered in turn as the repo-server and the sidecar render it."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from helpers import run_cli

from .appset import expand_appset
from .argocd import DEFAULT_CLUSTER, DEFAULT_TIMEOUT, MAX_APPS, PLUGIN_YAML, ClusterInfo, HarnessError
from .commands import Generated, run_generate
from .config import load_plugin_config, plugin_name
from .discovery import discover, discovery_configured
from .environment import discovery_env, fake_commit, full_env, instance_name, source_of
from .output import K8sLoader, parse_output
from .workspace import app_path


def merge_source_overrides(source: Mapping[str, Any], app_dir: Path, app_name: str) -> dict[str, Any]:
    """mergeSourceParameters: `.argocd-source.yaml`, then `.argocd-source-<app>.yaml`, JSON-merge-patched
    into the source; repoURL, path, targetRevision and chart always stay the Application's."""

    def merge_patch(target: Any, patch: Any) -> Any:  # RFC 7386
        if not isinstance(patch, dict):
            return patch
        merged = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge_patch(merged.get(key), value)
        return merged

    merged: dict[str, Any] = copy.deepcopy(dict(source))
    for name in (".argocd-source.yaml", f".argocd-source-{app_name}.yaml"):
        if (app_dir / name).exists():
            merged = merge_patch(merged, yaml.load((app_dir / name).read_text("utf-8"), Loader=K8sLoader))
    for key in ("repoURL", "path", "targetRevision", "chart"):
        merged.pop(key, None)
        if key in source:
            merged[key] = source[key]
    return merged


@dataclass(frozen=True)
class Rendered:
    app: str  # the Application whose manifests held the object
    obj: dict[str, Any]
    appset: str | None = None  # set when an ApplicationSet in those manifests generated it


@dataclass(frozen=True)
class Render:
    app: dict[str, Any]  # the Application as the repo-server sees it (source overrides merged)
    app_dir: str  # relative to the workspace
    env: dict[str, str]  # the request environment
    generated: Generated


@dataclass
class Expansion:
    renders: list[Render] = field(default_factory=list)
    objects: list[Rendered] = field(default_factory=list)
    not_followed: list[dict[str, Any]] = field(default_factory=list)  # Applications of other sources


def _is_kind(obj: Mapping[str, Any], kind: str) -> bool:
    return obj.get("kind") == kind and str(obj.get("apiVersion", "")).startswith("argoproj.io/")


def comes_back(app: Mapping[str, Any], repo_url: str, ws: Path, cfg: Mapping[str, Any],
               controller_namespace: str | None = None) -> bool:
    """Would Argo CD render `app` from this repository with this plugin?"""
    spec = app.get("spec") or {}
    if spec.get("sources"):
        if any(s.get("repoURL") == repo_url for s in spec["sources"]):
            raise HarnessError(f"Application {app['metadata']['name']}: multi-source apps are not imitated")
        return False
    source = spec.get("source") or {}
    if source.get("repoURL") != repo_url:
        return False
    if "plugin" in source:
        return True
    if any(k in source for k in ("helm", "kustomize", "directory")):
        return False
    # No explicit type: auto-detection asks the CMPs first, with the nine ARGOCD_APP_* only.
    app_dir = app_path(ws, source.get("path"))
    commit = fake_commit(source.get("targetRevision") or "HEAD")
    return discover(cfg, app_dir, discovery_env(app, commit, controller_namespace))


def render_app(cfg: Mapping[str, Any], app: Mapping[str, Any], ws: Path, *,
               cluster: ClusterInfo = DEFAULT_CLUSTER, timeout: float = DEFAULT_TIMEOUT,
               sidecar_env: Mapping[str, str] | None = None) -> Render:
    """What the repo-server and the sidecar do for one plugin Application; HarnessError names the app."""
    name = app["metadata"]["name"]
    try:
        source = source_of(app)
        app_dir = app_path(ws, source.get("path"))
        source = merge_source_overrides(source, app_dir, instance_name(app, cluster.controller_namespace))
        app = {**app, "spec": {**app["spec"], "source": source}}
        plugin = source.get("plugin")  # None: auto-detected, so no plugin env and no parameters at all
        wanted = (plugin or {}).get("name", "")
        if wanted and wanted != plugin_name(cfg):
            raise HarnessError(f'couldn\'t find cmp-server plugin with name "{wanted}"')
        env = full_env(app, fake_commit(source.get("targetRevision") or "HEAD"), cluster)
        if discovery_configured(cfg):  # a named plugin with discovery must match as well
            if not discover(cfg, app_dir, env, sidecar_env=sidecar_env, timeout=timeout):
                raise HarnessError(f'could not find cmp-server plugin with name "{wanted}" supporting the '
                                   "given repository")
        elif not wanted:
            raise HarnessError("the plugin has no discovery and the Application does not name it")
        generated = run_generate(cfg, app_dir, env, timeout, sidecar_env=sidecar_env)
    except HarnessError as exc:
        raise HarnessError(f'CMP processing failed for application "{name}": {exc}') from exc
    return Render(app, app_dir.relative_to(ws).as_posix() or ".", env, generated)


def follow(root_app: Mapping[str, Any], repo_url: str, ws: Path, *, cfg: Mapping[str, Any] | None = None,
           cluster: ClusterInfo = DEFAULT_CLUSTER, timeout: float = DEFAULT_TIMEOUT,
           sidecar_env: Mapping[str, str] | None = None) -> Expansion:
    """Render `root_app`, then breadth-first every Application in the output (or generated by an
    ApplicationSet in it) that comes back to `repo_url` through the plugin, each with its own env."""
    cfg = load_plugin_config(PLUGIN_YAML) if cfg is None else cfg
    if cluster.controller_namespace is None:
        cluster = replace(cluster, controller_namespace=root_app["metadata"].get("namespace"))
    result = Expansion()
    seen: dict[tuple[str, str], Mapping[str, Any]] = {_app_key(root_app): root_app}
    queue: deque[Mapping[str, Any]] = deque([root_app])
    while queue:
        if len(result.renders) >= MAX_APPS:
            raise HarnessError(f"more than {MAX_APPS} Applications rendered; does the app-of-apps end?")
        render = render_app(cfg, queue.popleft(), ws, cluster=cluster, timeout=timeout,
                            sidecar_env=sidecar_env)
        result.renders.append(render)
        name = render.app["metadata"]["name"]
        for obj in render.generated.objects:
            result.objects.append(Rendered(name, obj))
            children = [obj] if _is_kind(obj, "Application") else []
            if _is_kind(obj, "ApplicationSet"):
                children = expand_appset(obj)
                result.objects += [Rendered(name, child, obj["metadata"]["name"]) for child in children]
            for child in children:
                if not comes_back(child, repo_url, ws, cfg, cluster.controller_namespace):
                    result.not_followed.append(child)
                    continue
                key = _app_key(child)
                if key in seen:  # a cycle (the same Application again) or a conflict (another one)
                    if seen[key] != child:
                        raise HarnessError(f"two different Applications {key[0]}/{key[1]} in the app-of-apps")
                    continue
                seen[key] = child
                queue.append(child)
    return result


def _app_key(app: Mapping[str, Any]) -> tuple[str, str]:
    return app["metadata"].get("namespace", ""), app["metadata"]["name"]


def bootstrap_objects(repo_dir: Path, revision: str) -> list[dict[str, Any]]:
    """What an admin applies once, from `mip-cmp bootstrap <repo_dir> --revision <revision>` (run as the
    CLI runs it, in this process: the bootstrap command's process is tests/test_cli.py's)."""
    result = run_cli("bootstrap", str(repo_dir), "--revision", revision, cwd=repo_dir)
    if result.code != 0:
        raise HarnessError(f"mip-cmp bootstrap failed: {result.stderr}")
    return parse_output(result.stdout.decode())


def root_application(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The one Application among the bootstrap objects: where following the app-of-apps starts."""
    apps = [o for o in objects if _is_kind(o, "Application")]
    if len(apps) != 1:
        raise HarnessError(f"the bootstrap objects hold {len(apps)} Applications, expected one")
    return apps[0]
