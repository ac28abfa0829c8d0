"""The repository root: the platform's projects, the federations' ApplicationSet, common apps and the
namespaces the root writes into, in the root's sync order."""

from __future__ import annotations

from typing import Any

from ..contract.params import APPSET_BINDING
from ..loading import LoadedFederation, LoadedPlatform
from ..model.apps import CommonApp
from ..model.platform import Platform
from ..names import COMMON_PROJECT, FEDERATIONS_APPSET, FEDERATIONS_PROJECT, INFRA_PROJECT, ROOT_APPLICATION
from ..templating import render_tree
from ..vocabulary import (
    APP_VERSION,
    ARGO_API,
    ARGO_GROUP,
    FEDERATION_LABEL,
    FINALIZER,
    GENERATE_PATHS,
    PART_OF,
    SECRET_KINDS,
    SYNC_WAVE,
    Obj,
)
from .argocd import (
    ADMIN_ACTIONS,
    KEEP_ON_DELETE_ANNOTATION,
    MANAGED_BY,
    PLATFORM_PART_OF,
    RETRY,
    WORKLOAD_KINDS,
    Parts,
    app_project,
    chart_source,
    common_namespace_labels,
    generate_paths,
    ignore_differences,
    in_argocd,
    meta,
    project_role,
    root_source,
    root_wave,
    standard_roles,
    synced,
)
from .federation import federation_project
from .infrastructure import infrastructure_app_project, infrastructure_application
from .network import network_applications, network_projects
from .secrets import secret_objects


def default_project(p: Platform) -> Obj:
    """Argo CD's built-in `default` project, locked down so nothing can land in it."""
    deny_all = [{"group": "*", "kind": "*"}]
    return {
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": meta("default", p.argocd.namespace, {}, {SYNC_WAVE: root_wave(p, "AppProject")}),
        "spec": {"sourceRepos": [], "sourceNamespaces": [], "destinations": [],
                 "namespaceResourceBlacklist": deny_all, "clusterResourceBlacklist": deny_all},
    }


def root_namespaces(p: Platform) -> list[str]:
    """Namespaces the root Application itself writes into (common apps' secrets): it creates them first, as
    their app's CreateNamespace would come too late (that app syncs after the root's sync has finished)."""
    return sorted({a.namespace for a in p.commonApps.values() if a.secrets})


def root_namespace(p: Platform, namespace: str) -> Obj:
    # Never pruned nor deleted with the root: a namespace holds data, and its app may still run.
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {**MANAGED_BY, **common_namespace_labels(p, namespace)},
                     "annotations": {SYNC_WAVE: root_wave(p, "Namespace"), **KEEP_ON_DELETE_ANNOTATION}},
    }


def infrastructure_project(p: Platform, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    destinations = [(p.argocd.server, p.argocd.namespace)]
    destinations += [(p.argocd.server, ns) for ns in root_namespaces(p)]
    return app_project(
        parts, INFRA_PROJECT, "The platform itself: projects, the federation ApplicationSet, common apps",
        repos=[p.repoURL], destinations=destinations, cluster_kinds=parts.own_namespaces(root_namespaces(p)),
        namespace_kinds=[(ARGO_GROUP, k) for k in ("AppProject", "ApplicationSet", "Application")]
        + SECRET_KINDS,
        roles=[project_role(INFRA_PROJECT, "admin", "Full access to the platform's applications", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
    )


def root_application(p: Platform, revision: str) -> Obj:
    """The one Application an admin creates; it renders the repository root with this plugin."""
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(ROOT_APPLICATION, p.argocd.namespace, PLATFORM_PART_OF),
        "spec": {
            "project": INFRA_PROJECT,
            "source": root_source(p, revision),
            "destination": in_argocd(p),
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "retry": RETRY},
        },
    }


def federations_appset(p: Platform, federations: list[LoadedFederation], revision: str) -> Obj:
    """One wrapper Application per federation directory, each bound to the name its directory declares.

    onRemoval `keep` (the default, as mip-infra never cascades): a wrapper carries no resources finalizer and
    preserveResourcesOnDeletion stops the ApplicationSet controller adding one, so deleting a federation's
    directory deletes only its wrapper; its Applications and everything they run stay."""
    elements = [{"name": f.model.name, "path": f.directory} for f in federations]
    keep = p.federations.onRemoval == "keep"
    return {
        "apiVersion": ARGO_API,
        "kind": "ApplicationSet",
        "metadata": meta(FEDERATIONS_APPSET, p.argocd.namespace, PLATFORM_PART_OF),
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {
                    "name": "{{ .name }}",
                    "labels": {**MANAGED_BY, PART_OF: "{{ .name }}",
                               FEDERATION_LABEL: "{{ .name }}"},
                    "annotations": {GENERATE_PATHS: generate_paths("{{ .path }}")},
                    **({} if keep else {"finalizers": [FINALIZER]}),
                },
                "spec": {
                    "project": FEDERATIONS_PROJECT,
                    # Rendered from the root, which only admins control: a file in the federation's
                    # directory (e.g. .argocd-source.yaml) must not be able to change how Argo CD renders it.
                    "source": root_source(p, revision, APPSET_BINDING),
                    "destination": in_argocd(p),
                    # allowEmpty: a retired federation without secrets renders no Application at all, and
                    # that must prune its workloads (gate.py refuses empty output for anything else).
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True, "allowEmpty": True},
                                   "retry": RETRY},
                },
            },
            **({"syncPolicy": {"preserveResourcesOnDeletion": True}} if keep else {}),
        },
    }


def common_context(p: Platform, name: str, app: CommonApp) -> dict[str, Any]:
    return {"app": {"name": name, "version": app.version, "namespace": app.namespace},
            "platform": {"argocdNamespace": p.argocd.namespace}}


def common_app(lp: LoadedPlatform, name: str, app: CommonApp) -> Obj:
    p = lp.model
    values = render_tree(app.values, common_context(p, name, app), lp.doc, ("commonApps", name, "values"))
    spec: Obj = {
        "project": COMMON_PROJECT,
        "source": chart_source(app, app.revision, values),
        "destination": {"server": p.clusters[app.cluster], "namespace": app.namespace},
    }
    if app.ignoreDifferences:
        spec["ignoreDifferences"] = ignore_differences(app.ignoreDifferences)
    spec["syncPolicy"] = synced(p, [app.sync], common_namespace_labels(p, app.namespace))
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(name, p.argocd.namespace,
                          {PART_OF: "mip-common", APP_VERSION: app.version},
                          {SYNC_WAVE: str(app.syncWave), **app.annotations}, finalizers=True),
        "spec": spec,
    }


def common_project(p: Platform, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    apps = p.commonApps.values()
    return app_project(
        parts, COMMON_PROJECT, "Apps shared by the whole platform, each in its own namespace",
        repos=[a.repoURL for a in apps], destinations=[(p.clusters[a.cluster], a.namespace) for a in apps],
        cluster_kinds=parts.own_namespaces([a.namespace for a in apps]), namespace_kinds=WORKLOAD_KINDS,
        roles=standard_roles(p, COMMON_PROJECT),
    )


def _federations_project(p: Platform, parts: Parts) -> Obj:
    return app_project(
        parts, FEDERATIONS_PROJECT, "Federation wrapper apps: each creates its federation's Applications",
        repos=[p.repoURL], destinations=[(p.argocd.server, p.argocd.namespace)], cluster_kinds=[],
        namespace_kinds=[(ARGO_GROUP, "Application")], roles=standard_roles(p, FEDERATIONS_PROJECT),
    )


def expand_platform(lp: LoadedPlatform, federations: list[LoadedFederation], revision: str) -> list[Obj]:
    p = lp.model
    parts = Parts(p)
    objects = [default_project(p), infrastructure_project(p, parts), _federations_project(p, parts),
               common_project(p, parts)]
    objects += [infrastructure_app_project(p, name, app, parts) for name, app in p.infrastructure.items()]
    objects += [federation_project(p, f.model, parts) for f in sorted(federations, key=lambda f: f.model.name)]
    objects += network_projects(p, federations, parts)
    objects.append(federations_appset(p, federations, revision))
    objects += [root_namespace(p, ns) for ns in root_namespaces(p)]
    objects += network_applications(p, federations, revision, parts)
    objects += [infrastructure_application(p, name, app, revision)
                for name, app in p.infrastructure.items()]
    for name, app in p.commonApps.items():
        objects.append(common_app(lp, name, app))
        objects += secret_objects(lp, app.secrets, app.namespace, {PART_OF: name},
                                  common_context(p, name, app),
                                  waves=(root_wave(p, "Password"), root_wave(p, "ExternalSecret")))
    return objects
