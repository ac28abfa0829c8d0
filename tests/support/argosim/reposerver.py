"""The repo-server: an Application's source -> its manifests.

A source that comes back to the platform repository through the plugin is rendered by mip-cmp's own
`generate`, in-process, with the exact environment Argo CD gives the sidecar (cmpserver.full_env), from a
checkout of the current revision. Any other source is a catalog chart we cannot render here: it stands in as
one StatefulSet with a volumeClaimTemplate, which is what decides whether a chart's data survives a deletion
(exareme2's workers keep their data that way), where its project allows one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cmpserver import ClusterInfo, full_env, parse_output
from mip_cmp.core.errors import MipError
from mip_cmp.core.vocabulary import Obj
from mip_cmp.pipeline import generate


class RenderError(Exception):
    """ComparisonError: the manifests could not be generated; str() is what the Application shows."""


def stand_in(app_name: str, allows: Callable[[str, str], bool]) -> list[Obj]:
    """What a source we cannot render here applies: one StatefulSet with a volumeClaimTemplate where the
    Application's project allows workloads (a catalog chart), else one ConfigMap where it allows that, else
    nothing. `allows(group, kind)`: whether the project permits that namespaced kind."""
    if allows("apps", "StatefulSet"):
        return [{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": app_name},
                 "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}}]
    if allows("", "ConfigMap"):
        return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": app_name}}]
    return []


@dataclass
class RepoServer:
    checkout: Path  # the platform repository at its current revision
    repo_url: str
    plugin: str
    controller_namespace: str
    revision: int = 0  # bumped on every commit; part of the cache key
    # For tests that show what Argo CD would do with other output: (Application, manifests) -> manifests
    tamper: Callable[[Obj, list[Obj]], list[Obj]] | None = None

    def __post_init__(self) -> None:
        self._cache: dict[tuple[int, str], list[Obj] | RenderError] = {}

    def commit(self) -> None:
        self.revision += 1

    def commit_sha(self) -> str:
        return hashlib.sha1(f"argosim:{self.revision}".encode()).hexdigest()

    def manifests(self, app: Obj, allows: Callable[[str, str], bool]) -> list[Obj]:
        """The manifests of `app`: mip-cmp's for a source that comes back through the plugin, else a stand-in
        (charts, kustomize or plain directories, multi-source apps: none of them is mip-cmp's to render)."""
        spec = app["spec"]
        sources = spec.get("sources") or [spec.get("source") or {}]
        ours = [s for s in sources if s.get("repoURL") == self.repo_url and "plugin" in s]
        if not ours:
            return stand_in(app["metadata"]["name"], allows)
        if len(sources) > 1:
            raise RenderError("a multi-source Application with a plugin source is not imitated")
        source = ours[0]
        if source["plugin"].get("name") != self.plugin:
            raise RenderError(f'couldn\'t find cmp-server plugin with name "{source["plugin"].get("name")}"')
        key = (self.revision, repr(sorted(source.items())))
        if key not in self._cache:
            self._cache[key] = self._render(app)
        result = self._cache[key]
        if isinstance(result, RenderError):
            raise result
        objects = [dict(o) for o in result]
        return self.tamper(app, objects) if self.tamper else objects

    def _render(self, app: Obj) -> list[Obj] | RenderError:
        env = full_env(app, self.commit_sha(), ClusterInfo(controller_namespace=self.controller_namespace))
        app_dir = self.checkout / (app["spec"]["source"].get("path") or ".")
        try:
            return parse_output(generate(app_dir, env).decode("utf-8"))
        except MipError as exc:
            return RenderError(f"rpc error: Manifest generation error: `mip-cmp generate` failed exit status "
                               f"{exc.exit_code}: {exc}")
