"""Infrastructure apps: one platform component each, in a project of its own that lists exactly what it may
create."""

from __future__ import annotations

from ..core.names import ROOT_APPLICATION, infra_project_name
from ..core.vocabulary import APP_VERSION, ARGO_API, PART_OF, SYNC_WAVE, Obj
from ..model.application import ResourceKind
from ..model.apps import InfrastructureApp
from ..model.platform import Platform
from .argocd import (
    ADMIN_ACTIONS,
    SENSITIVE_CLUSTER_KINDS,
    Parts,
    app_project,
    app_source,
    ignore_differences,
    infrastructure_namespace_labels,
    meta,
    project_role,
    synced,
)


def _named(parts: Parts, kinds: list[ResourceKind]) -> list[dict[str, str]]:
    """Cluster-scoped kinds as listed; before Argo CD v3.3 without `name` (the API server would prune it, and
    the entry would then allow every object of the kind: listed so, it says that plainly)."""
    named = parts.named_cluster_resources
    entries = [k.model_dump(exclude_none=True) if named else {"group": k.group, "kind": k.kind} for k in kinds]
    return [dict(e) for e in {tuple(sorted(e.items())): e for e in entries}.values()]


def infrastructure_app_project(p: Platform, name: str, app: InfrastructureApp, parts: Parts | None = None) -> Obj:
    """Least privilege for one platform component: its namespace on its cluster, its sources, and exactly the
    kinds it lists (cluster-scoped ones by name where given); sensitive kinds it does not list stay
    blacklisted."""
    parts = parts or Parts(p)
    project = infra_project_name(name)
    granted = {(k.group, k.kind) for k in app.clusterKinds}
    return app_project(
        parts, project, f"Platform component {name}: namespace {app.namespace} only",
        repos=[s.repoURL or p.repoURL for s in app.all_sources()],
        destinations=[(p.clusters[app.cluster], app.namespace)],
        cluster_kinds=parts.own_namespaces([app.namespace]) + _named(parts, app.clusterKinds),
        namespace_kinds=[(k.group, k.kind) for k in app.namespaceKinds],
        roles=[project_role(project, "admin", f"Full access to the platform component {name}", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
        blacklist=[pair for pair in SENSITIVE_CLUSTER_KINDS if pair not in granted],
    )


def infrastructure_application(p: Platform, name: str, app: InfrastructureApp, revision: str) -> Obj:
    sources = [app_source(p, s, revision) for s in app.all_sources()]
    spec: Obj = {"project": infra_project_name(name)}
    if app.source is not None:
        spec["source"] = sources[0]
    else:
        spec["sources"] = sources
    spec["destination"] = {"server": p.clusters[app.cluster], "namespace": app.namespace}
    if app.ignoreDifferences:
        spec["ignoreDifferences"] = ignore_differences(app.ignoreDifferences)
    spec["syncPolicy"] = synced(p, [app.sync],
                                infrastructure_namespace_labels(p, app.namespace, app.namespaceMetadata.labels),
                                app.namespaceMetadata.annotations)
    labels = {PART_OF: ROOT_APPLICATION}
    if app.version:
        labels[APP_VERSION] = app.version
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(name, p.argocd.namespace, labels, {SYNC_WAVE: str(app.syncWave)}, finalizers=True),
        "spec": spec,
    }
