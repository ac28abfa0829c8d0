"""The repository root: the platform's projects, the federations' ApplicationSet, common apps and their
network and secrets Applications, in the root's sync order; and what a common or infrastructure app's secrets
Application renders."""

from __future__ import annotations

from typing import Any

from ..contract.params import APPSET_BINDING, SECRETS_COMPONENT, common_binding
from ..core.names import (
    COMMON_PROJECT,
    FEDERATIONS_APPSET,
    FEDERATIONS_PROJECT,
    INFRA_PROJECT,
    ROOT_APPLICATION,
    SECRETS_APP,
)
from ..core.vocabulary import (
    APP_VERSION,
    ARGO_API,
    ARGO_GROUP,
    FEDERATION_LABEL,
    FINALIZER,
    GENERATE_PATHS,
    PART_OF,
    PRUNE_FALSE,
    SECRET_KINDS,
    SYNC_OPTIONS,
    SYNC_WAVE,
    Obj,
)
from ..model.apps import CommonApp, OwnNamespaceApp
from ..model.platform import Platform
from ..stage1_read.templating import render_tree
from ..stage2_check.loading import LoadedFederation, LoadedPlatform
from .argocd import (
    ADMIN_ACTIONS,
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
    kept_on_removal,
    meta,
    own_namespace_annotations,
    own_namespace_labels,
    project_role,
    root_source,
    root_wave,
    standard_roles,
    sync_policy,
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


def infrastructure_project(p: Platform, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    holders = p.secret_holders().values()
    destinations = [(p.argocd.server, p.argocd.namespace)]
    destinations += [(p.clusters[a.cluster], a.namespace) for a in holders]
    return app_project(
        parts, INFRA_PROJECT, "The platform itself: projects, the federation ApplicationSet, common apps",
        repos=[p.repoURL], destinations=destinations,
        cluster_kinds=parts.own_namespaces([a.namespace for a in holders]),
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


def app_context(p: Platform, name: str, app: OwnNamespaceApp) -> dict[str, Any]:
    """What a common app's values and a store key of its (or an infrastructure app's) secrets may use; an
    infrastructure app without a `version` has none to give."""
    version = {} if app.version is None else {"version": app.version}
    return {"app": {"name": name, **version, "namespace": app.namespace},
            "platform": {"argocdNamespace": p.argocd.namespace}}


def common_app(lp: LoadedPlatform, name: str, app: CommonApp) -> Obj:
    p = lp.model
    values = render_tree(app.values, app_context(p, name, app), lp.doc, ("commonApps", name, "values"))
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
    objects += network_applications(p, federations, revision, parts)
    objects += [infrastructure_application(p, name, app, revision)
                for name, app in p.infrastructure.items()]
    objects += [common_app(lp, name, app) for name, app in p.commonApps.items()]
    objects += [secrets_application(p, name, app, revision, parts) for name, app in p.secret_holders().items()]
    return objects


def secrets_application(p: Platform, name: str, app: OwnNamespaceApp, revision: str, parts: Parts) -> Obj:
    """`<app>-secrets` of a common or infrastructure app: the root rendered with component=secrets for that app,
    on the app's cluster, as a federation's `<federation>-secrets`. Its ExternalSecrets are waited for there,
    never in the root's sync."""
    annotations = {SYNC_WAVE: parts.waves["Application"], GENERATE_PATHS: generate_paths()}
    if kept_on_removal(p):
        annotations[SYNC_OPTIONS] = PRUNE_FALSE
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(f"{name}-{SECRETS_APP}", p.argocd.namespace, {PART_OF: name},
                         annotations, finalizers=True),
        "spec": {
            "project": INFRA_PROJECT,
            "source": root_source(p, revision, common_binding(name, SECRETS_COMPONENT)),
            "destination": {"server": p.clusters[app.cluster], "namespace": app.namespace},
            # Never prune: removing a secret from the platform must not delete live credentials.
            "syncPolicy": sync_policy(own_namespace_labels(p, app), prune=False,
                                      namespace_annotations=own_namespace_annotations(app)),
        },
    }


def app_secrets(lp: LoadedPlatform, name: str) -> list[Obj]:
    """What `<app>-secrets` applies: the app's ExternalSecrets (and password generators before them)."""
    app = lp.model.secret_holders()[name]
    return secret_objects(lp, app.secrets, app.namespace, {PART_OF: name}, app_context(lp.model, name, app))
