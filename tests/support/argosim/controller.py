"""The application controller, and the simulation that runs every controller until nothing changes.

Each round: the ApplicationSet controller and the External Secrets Operator reconcile, then every Application
is refreshed in name order: deletion (the resources finalizer deletes what the app tracks, except Delete=false
and helm's keep, and waits until it is gone), the normalisation of its spec (written back), the project and
its source and destination checks, the manifests, the comparison, and the sync: an operation in progress
goes on as far as it can (sync.py: it waits for health between waves and for what it pruned to be gone), else
an automated sync starts where the app is out of sync. Argo CD's automated sync never tries a revision again
after a failed sync unless the Application has a retry policy; a retry happens in a later round (rounds stand
for time: backoff is not imitated, only the limit). An operation that waits for ever makes no change: the
simulation settles with it still Running, and problems() shows what it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mip_cmp.core.vocabulary import Obj

from . import appset, eso, health, sync
from .kube import FINALIZER, ApiError, Cluster, Crd, Key, Live
from .project import destination_permitted, kind_permitted, source_permitted
from .reposerver import RenderError, RepoServer
from .sync import Operation

MAX_ROUNDS = 40
# The source type blocks Argo CD's NormalizeSource drops when empty (argo-cd util/argo/argo.go).
_SOURCE_TYPE_BLOCKS = ("helm", "kustomize", "directory")


@dataclass
class AppStatus:
    sync: str = "Unknown"  # Synced | OutOfSync | Unknown
    condition: str = ""  # InvalidSpecError / ComparisonError text, "" when none
    operation: str = ""  # Running | Succeeded | Failed | "" (never synced)
    message: str = ""
    revision: int = -1  # the revision of the last sync operation
    tries: int = 0  # sync operations at that revision
    history: list[str] = field(default_factory=list)  # every finished operation's message, in order
    running: Operation | None = None  # the operation in progress


class Simulation:
    """Argo CD over one platform repository, from bootstrap objects on clusters with nothing but the CRDs and
    Argo CD's own namespace."""

    def __init__(self, checkout: Path, *, repo_url: str, plugin: str, argocd_namespace: str,
                 servers: list[str], crds: list[Crd]) -> None:
        self.cluster = Cluster(servers, crds)
        self.argocd_namespace = argocd_namespace
        self.argocd_server = servers[0]
        self.repo = RepoServer(checkout, repo_url, plugin, argocd_namespace)
        self.store = eso.Store()  # the platform's secret store, as ESO sees it
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
            eso.reconcile(self.cluster, self.store)
            for key, live in self.cluster.find(server=self.argocd_server, kind="Application"):
                if key[3] == self.argocd_namespace and key in self.cluster.objects:
                    self._reconcile(key, live)
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

    def _reconcile(self, key: Key, live: Live) -> None:
        """One Application: finalize it, or normalise it, check its spec, render, compare, and go on with its
        sync or start one where it differs."""
        app = live.obj
        name = app["metadata"]["name"]
        status = self.status.setdefault(name, AppStatus())
        if live.deleting:
            self._finalize(key, app)
            return
        app = self._normalize(key, live)
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
        if status.running is not None:
            self._advance(spec, name, manifests, status)
        # Only objects Argo CD may not prune differ: it shows them, and syncing would not help.
        elif diff and self._auto_syncs(status, spec.get("syncPolicy") or {}, manifests):
            self._sync(app, project, manifests, status)

    def _normalize(self, key: Key, live: Live) -> Obj:
        """normalizeApplication: empty helm/kustomize/directory blocks of `spec.source` removed (NormalizeSource;
        `spec.sources` is left as it is: Argo CD normalises copies of its items), written back when that
        changes the Application."""
        source = live.obj["spec"].get("source")
        if not source or not any(k in source and not any(source[k].values()) for k in _SOURCE_TYPE_BLOCKS):
            return live.obj
        kept = {k: v for k, v in source.items() if k not in _SOURCE_TYPE_BLOCKS or any(v.values())}
        normalized = {**live.obj, "spec": {**live.obj["spec"], "source": kept}}
        self.cluster.apply(key[0], normalized)
        return normalized

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
        """A new sync operation, run as far as it goes now."""
        spec = app["spec"]
        automated = (spec.get("syncPolicy") or {}).get("automated") or {}
        status.tries += 1
        status.running = sync.start(self.cluster, app, project, manifests, prune=bool(automated.get("prune")))
        self._advance(spec, app["metadata"]["name"], manifests, status)

    def _advance(self, spec: Obj, name: str, manifests: list[Obj], status: AppStatus) -> None:
        """The operation in progress, wave after wave while none waits; its outcome recorded in the status (a
        successful one is compared again)."""
        operation = status.running
        assert operation is not None
        while operation.step(self.cluster):
            pass
        status.operation, status.message = operation.phase, operation.message
        if operation.phase == "Running":
            return
        status.running = None
        status.history.append(operation.message)
        if operation.phase == "Succeeded":
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
        """An Application being deleted: with the resources finalizer, its resources go first, and the
        finalizer stays until they are gone (one that has a finalizer of its own holds it)."""
        if FINALIZER in (app["metadata"].get("finalizers") or []):
            name = app["metadata"]["name"]
            doomed = []
            for res_key, live in self.cluster.find(server=app["spec"]["destination"]["server"]):
                keep = {"Delete=false"} & sync.options(live.obj) or \
                    live.obj.get("metadata", {}).get("annotations", {}).get("helm.sh/resource-policy") == "keep"
                if live.tracked_by == name and not keep:
                    self.cluster.delete(res_key)
                    doomed.append(res_key)
            if any(k in self.cluster.objects for k in doomed):
                return
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

    def unhealthy(self) -> list[str]:
        """Every Application with an object that is not healthy (health.py), with the first such object."""
        out = []
        for _, app in self.cluster.find(server=self.argocd_server, kind="Application"):
            name, dest = app.obj["metadata"]["name"], app.obj["spec"]["destination"]
            for key, live in self.cluster.find(server=dest["server"]):
                assessed = health.of(live) if live.tracked_by == name else None
                if assessed is not None and assessed[0] != health.HEALTHY:
                    out.append(f"{name}: {assessed[0]}: {key[2]} {key[4]}: {assessed[1]}")
                    break
        return out

    def app(self, name: str) -> Obj:
        live = self.cluster.get((self.argocd_server, "argoproj.io", "Application", self.argocd_namespace, name))
        assert live is not None, f"no Application {name}"
        return live.obj

    def retried(self) -> list[str]:
        """Applications that needed more than one sync operation for a revision: a first sync that failed."""
        return sorted(n for n, s in self.status.items() if s.tries > 1)

    def names(self, kind: str, namespace: str | None = None, server: str | None = None) -> list[str]:
        return [k[4] for k, _ in self.cluster.find(server=server or self.argocd_server, kind=kind,
                                                   namespace=namespace)]
