"""The application controller, and the simulation that runs every controller until nothing changes.

Each round: the ApplicationSet controller reconciles, then every Application is refreshed in name order:
deletion (the resources finalizer deletes what the app tracks, except Delete=false and helm's keep), the
project and its source and destination checks, the manifests, the comparison, and an automated sync where
the app is out of sync. Argo CD's automated sync never tries a revision again after a failed sync unless
the Application has a retry policy; a retry happens in a later round (rounds stand for time: backoff is
not imitated, only the limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import appset, sync
from .kube import FINALIZER, ApiError, Cluster, Crd, Key
from .project import destination_permitted, kind_permitted, source_permitted
from .reposerver import RenderError, RepoServer

Obj = dict[str, Any]
MAX_ROUNDS = 40


@dataclass
class AppStatus:
    sync: str = "Unknown"  # Synced | OutOfSync | Unknown
    condition: str = ""  # InvalidSpecError / ComparisonError text, "" when none
    operation: str = ""  # Succeeded | Failed | "" (never synced)
    message: str = ""
    revision: int = -1  # the revision of the last sync operation
    tries: int = 0  # sync operations at that revision
    history: list[str] = field(default_factory=list)  # every operation's message, in order


class Simulation:
    """Argo CD over one platform repository, from bootstrap objects on clusters with nothing but the CRDs and
    Argo CD's own namespace."""

    def __init__(self, checkout: Path, *, repo_url: str, plugin: str, argocd_namespace: str,
                 servers: list[str], crds: list[Crd]) -> None:
        self.cluster = Cluster(servers, crds)
        self.argocd_namespace = argocd_namespace
        self.argocd_server = servers[0]
        self.repo = RepoServer(checkout, repo_url, plugin, argocd_namespace)
        self.status: dict[str, AppStatus] = {}
        # Argo CD runs: its namespace exists on the cluster it runs on, nothing else does.
        self.cluster.apply(self.argocd_server, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": argocd_namespace}})

    # --- what people do -------------------------------------------------------------------------------

    def kubectl_apply(self, objects: list[Obj]) -> None:
        """An admin's `mip-cmp bootstrap --apply`: no project checks, nothing tracks the objects."""
        for obj in objects:
            self.cluster.apply(self.argocd_server, obj)

    def commit(self) -> None:
        """A push to the platform repository (the checkout has changed)."""
        self.repo.commit()

    # --- the controllers ------------------------------------------------------------------------------

    def run(self, max_rounds: int = MAX_ROUNDS) -> int:
        """Rounds until one changes nothing; returns how many rounds that took."""
        for rounds in range(1, max_rounds + 1):
            before = self.cluster.changes, sum(s.tries for s in self.status.values())
            appset.reconcile(self.cluster)
            for key, live in self.cluster.find(server=self.argocd_server, kind="Application"):
                if key[3] == self.argocd_namespace:
                    self._reconcile(key, live.obj, live.deleting)
            self._finalize_projects()
            if (self.cluster.changes, sum(s.tries for s in self.status.values())) == before:
                return rounds  # nothing written and no sync tried (retries included): settled
        raise AssertionError(f"still changing after {max_rounds} rounds: does the platform ever settle?")

    def _project(self, name: str) -> Obj | None:
        live = self.cluster.get((self.argocd_server, "argoproj.io", "AppProject", self.argocd_namespace, name))
        return live.obj if live is not None else None  # one being deleted still governs its Applications

    def _finalize_projects(self) -> None:
        """finalizeProjectDeletion: a project being deleted goes once no Application names it."""
        named = {live.obj["spec"]["project"] for _, live in self.cluster.find(kind="Application")}
        for key, live in self.cluster.find(server=self.argocd_server, kind="AppProject"):
            if live.deleting and key[4] not in named:
                self.cluster.remove(key)

    def _reconcile(self, key: Key, app: Obj, deleting: bool) -> None:
        """One Application: finalize it, or check its spec, render, compare, and auto-sync what differs."""
        name = app["metadata"]["name"]
        status = self.status.setdefault(name, AppStatus())
        if deleting:
            self._finalize(key, app)
            return
        spec = app["spec"]
        project = self._project(spec["project"])
        status.condition = self._invalid_spec(spec, project)
        if project is None or status.condition:
            return
        try:
            manifests = self.repo.manifests(app, lambda group, kind: kind_permitted(project, group, kind, "", True))
        except RenderError as exc:
            status.condition, status.sync = f"ComparisonError: {exc}", "Unknown"
            return
        diff, unprunable = self._compare(spec["destination"], name, manifests)
        status.sync = "OutOfSync" if diff or unprunable else "Synced"
        # Only objects Argo CD may not prune differ: it shows them, and syncing would not help.
        if diff and self._auto_syncs(status, spec.get("syncPolicy") or {}, manifests):
            self._sync(app, project, manifests, status)

    def _invalid_spec(self, spec: Obj, project: Obj | None) -> str:
        """The InvalidSpecError condition of an Application (project, cluster, source, destination), or ""."""
        dest = spec["destination"]
        if project is None:
            return f"InvalidSpecError: Application referencing project {spec['project']} which does not exist"
        if dest["server"] not in self.cluster.servers:
            return f"InvalidSpecError: there are no clusters with this URL: {dest['server']}"
        if not source_permitted(project, spec["source"]["repoURL"]):
            return f"InvalidSpecError: application repo {spec['source']['repoURL']} is not permitted in " \
                   f"project '{spec['project']}'"
        if not destination_permitted(project, dest["server"], dest.get("namespace", "")):
            return f"InvalidSpecError: application destination {dest} is not permitted in project " \
                   f"'{spec['project']}'"
        return ""

    def _auto_syncs(self, status: AppStatus, policy: Obj, manifests: list[Obj]) -> bool:
        """Does automated sync start an operation now (its retry count kept per revision)?"""
        automated = policy.get("automated")
        if automated is None or automated.get("enabled") is False:
            return False
        if not manifests and not automated.get("allowEmpty"):
            status.message = "auto-sync will wipe out all resources: refused (allowEmpty is false)"
            return False
        if status.revision == self.repo.revision and status.operation == "Failed":
            limit = int((policy.get("retry") or {}).get("limit", 0))
            if status.tries > limit:
                return False  # automated sync never retries a failed revision beyond its retry policy
        elif status.revision != self.repo.revision:
            status.revision, status.tries = self.repo.revision, 0
        return True

    def _sync(self, app: Obj, project: Obj, manifests: list[Obj], status: AppStatus) -> None:
        """One sync operation, recorded in the status; a successful one is compared again."""
        name, spec = app["metadata"]["name"], app["spec"]
        automated = (spec.get("syncPolicy") or {}).get("automated") or {}
        status.tries += 1
        result = sync.run(self.cluster, app, project, manifests, prune=bool(automated.get("prune")))
        status.operation = "Succeeded" if result.ok else "Failed"
        status.message = result.message
        status.history.append(result.message)
        if result.ok:
            diff, unprunable = self._compare(spec["destination"], name, manifests)
            status.sync = "OutOfSync" if diff or unprunable else "Synced"

    def _compare(self, dest: Obj, name: str, manifests: list[Obj]) -> tuple[bool, bool]:
        """(anything to apply or prune, objects left only because they carry Prune=false)."""
        desired: set[Key] = set()
        diff = False
        for obj in manifests:
            try:
                obj = sync.placed(self.cluster, obj, dest.get("namespace", ""))
            except ApiError:
                return True, False  # the sync will say why
            key = self.cluster.key(dest["server"], obj)
            desired.add(key)
            live = self.cluster.get(key)
            if live is None or live.tracked_by != name or live.obj != self.cluster.stored(key, obj, share=True):
                diff = True
        unprunable = False
        for key, live in self.cluster.find(server=dest["server"]):
            if live.tracked_by == name and key not in desired and not live.deleting:
                if "Prune=false" in sync.options(live.obj):
                    unprunable = True
                else:
                    diff = True
        return diff, unprunable

    def _finalize(self, key: Key, app: Obj) -> None:
        """An Application being deleted: with the resources finalizer, its resources go first."""
        if FINALIZER in (app["metadata"].get("finalizers") or []):
            name = app["metadata"]["name"]
            for res_key, live in self.cluster.find(server=app["spec"]["destination"]["server"]):
                keep = {"Delete=false"} & sync.options(live.obj) or \
                    live.obj.get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy") == "keep"
                if live.tracked_by == name and not keep:
                    self.cluster.delete(res_key)
        self.cluster.remove(key)

    # --- what a test looks at -------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every Application that is not Synced with a successful last sync, with what it shows."""
        out = []
        for _, live in self.cluster.find(server=self.argocd_server, kind="Application"):
            name = live.obj["metadata"]["name"]
            status = self.status.get(name, AppStatus())
            # never synced is fine for an app with nothing to apply (Argo CD has nothing to do there either)
            if status.condition or status.sync != "Synced" or status.operation not in ("Succeeded", ""):
                out.append(f"{name}: {status.sync}, last sync {status.operation or 'never'}: "
                           f"{status.condition or status.message}")
        return out

    def retried(self) -> list[str]:
        """Applications that needed more than one sync operation for a revision: a first sync that failed."""
        return sorted(n for n, s in self.status.items() if s.tries > 1)

    def names(self, kind: str, namespace: str | None = None, server: str | None = None) -> list[str]:
        return [k[4] for k, _ in self.cluster.find(server=server or self.argocd_server, kind=kind,
                                                   namespace=namespace)]
