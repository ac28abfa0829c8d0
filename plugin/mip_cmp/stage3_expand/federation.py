"""A federation directory: its project, its workload Applications, their overlays, and its secrets."""

from __future__ import annotations

import posixpath
from typing import Any

from ..contract.params import OBJECTS_COMPONENT, SECRETS_COMPONENT, binding
from ..core.helm import merge_values
from ..core.names import OBJECTS_APP, OVERLAY_APP, SECRETS_APP
from ..core.vocabulary import (
    APP_NAME,
    APP_VERSION,
    ARGO_API,
    FEDERATION_LABEL,
    GENERATE_PATHS,
    PART_OF,
    SECRET_KINDS,
    SYNC_WAVE,
    Obj,
)
from ..model.application import Overlay
from ..model.apps import ObjectBeside
from ..model.federation import Federation
from ..model.platform import Platform
from ..stage1_read.templating import federation_context, render_tree
from ..stage2_check.loading import LoadedFederation, LoadedPlatform
from .argocd import (
    WORKLOAD_KINDS,
    Parts,
    app_project,
    chart_source,
    federation_namespace_labels,
    generate_paths,
    ignore_differences,
    kept_on_removal,
    meta,
    root_source,
    standard_roles,
    sync_policy,
    synced,
)
from .secrets import secret_objects


def federation_project(p: Platform, f: Federation, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    repos = [p.repoURL, *(p.catalog[a].repoURL for a in f.apps if a in p.catalog)]
    return app_project(
        parts, f.name, f"Federation {f.name} ({f.type}): its workloads, in namespace {f.name} only",
        repos=repos, destinations=[(p.clusters[f.cluster], f.name)], cluster_kinds=parts.own_namespaces([f.name]),
        namespace_kinds=WORKLOAD_KINDS + SECRET_KINDS + beside_kinds(p, f),
        roles=standard_roles(p, f.name, (f"{f.name}-admins",), (f"{f.name}-developers",)),
        labels={FEDERATION_LABEL: f.name},
        # Kept when its directory is deleted (onRemoval: keep): the root then shows it as needing a prune,
        # the reminder that the federation's Applications, namespace and data still await an admin.
        kept=kept_on_removal(p),
    )


def federation_secrets(p: Platform, f: Federation) -> list[str]:
    return sorted({s for app in f.apps for s in p.catalog[app].secrets})


def federation_besides(p: Platform, f: Federation) -> list[ObjectBeside]:
    """The objects this federation's apps need beside their charts, for a federation of its type."""
    return [o for app in f.apps if app in p.catalog for o in p.catalog[app].objects if f.type in o.federationTypes]


def beside_kinds(p: Platform, f: Federation) -> list[tuple[str, str]]:
    """What its project must allow for them, beyond the workload kinds (in the order first named)."""
    known = set(WORKLOAD_KINDS + SECRET_KINDS)
    return [kind for kind in dict.fromkeys((o.group(), o.kind) for o in federation_besides(p, f))
            if kind not in known]


def _host_values(paths: list[str], host: str) -> dict[str, Any]:
    """The Helm values a catalog app's `publicHostValues` name, each set to the federation's host."""
    values: dict[str, Any] = {}
    for path in paths:
        *parents, leaf = path.split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = host
    return values


def workload_application(lp: LoadedPlatform, fed: LoadedFederation, app_name: str,
                         context: dict[str, Any]) -> Obj:
    p, f = lp.model, fed.model
    chart = p.catalog[app_name]
    own = f.apps[app_name]
    app_context = {**context, "app": {"name": app_name, "version": chart.version}}
    values = render_tree(chart.values, app_context, lp.doc, ("catalog", app_name, "values"))
    if context["federation"]["publicHost"]:
        values = merge_values(values, _host_values(chart.publicHostValues, context["federation"]["publicHost"]))
    if own is not None:
        values = merge_values(values, render_tree(own.values, app_context, fed.doc, ("apps", app_name, "values")))
    labels = {PART_OF: f.name, FEDERATION_LABEL: f.name, APP_NAME: app_name}
    revision = chart.revision
    version_label: str | None = chart.version
    if own is not None and own.revision is not None:
        # The catalog's version names the catalog's revision, not this one: only the federation can say.
        revision, version_label = own.revision, own.version
    if version_label is not None:
        labels[APP_VERSION] = version_label
    spec: Obj = {
        "project": f.name,
        "source": chart_source(chart, revision, values),
        "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
    }
    ignore = [*chart.ignoreDifferences, *(own.ignoreDifferences if own else [])]
    if ignore:
        spec["ignoreDifferences"] = ignore_differences(ignore)
    spec["syncPolicy"] = synced(p, [chart.sync, *([own.sync] if own else [])], federation_namespace_labels(p, f))
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(f"{f.name}-{app_name}", p.argocd.namespace, labels,
                          {SYNC_WAVE: str(chart.syncWave), **chart.annotations}, finalizers=True),
        "spec": spec,
    }


def secrets_application(p: Platform, fed: LoadedFederation, revision: str) -> Obj:
    """The Application that renders this federation again with component=secrets, on its own cluster, so
    the ExternalSecrets land next to the workloads even for a federation on another cluster."""
    # Never prune: removing a secret from the catalog must not delete live credentials.
    return _component_application(p, fed, revision, SECRETS_COMPONENT, SECRETS_APP, sync_policy(
        federation_namespace_labels(p, fed.model), prune=False))


def objects_application(p: Platform, fed: LoadedFederation, revision: str) -> Obj:
    """`<federation>-objects`: renders this federation again with component=objects, on its own cluster and
    in its project, like its secrets Application; one wave before its apps, so what they need is there."""
    return _component_application(p, fed, revision, OBJECTS_COMPONENT, OBJECTS_APP,
                                  synced(p, [], federation_namespace_labels(p, fed.model)))


def _component_application(p: Platform, fed: LoadedFederation, revision: str, component: str, suffix: str,
                           policy: Obj) -> Obj:
    """`<federation>-<suffix>`: the root rendered again for one of this federation's components, in its
    project and namespace on its cluster, one wave before its apps."""
    f = fed.model
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(f"{f.name}-{suffix}", p.argocd.namespace,
                          {PART_OF: f.name, FEDERATION_LABEL: f.name},
                          {SYNC_WAVE: "-1", GENERATE_PATHS: generate_paths(fed.directory)}, finalizers=True),
        "spec": {
            "project": f.name,
            "source": root_source(p, revision, binding(f.name, fed.directory, component)),
            "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
            "syncPolicy": policy,
        },
    }


def federation_objects(lp: LoadedPlatform, fed: LoadedFederation) -> list[Obj]:
    """component=objects: every object the federation's apps need beside their charts, in its namespace; a
    spec's strings may use the federation's {{ }} context, as the app's values do."""
    p, f = lp.model, fed.model
    context = federation_context(p, f, fed.doc)
    labels = {PART_OF: f.name, FEDERATION_LABEL: f.name}
    objects = []
    for app in f.apps:
        for i, beside in enumerate(p.catalog[app].objects):
            if f.type not in beside.federationTypes:
                continue
            obj: Obj = {"apiVersion": beside.apiVersion, "kind": beside.kind,
                        "metadata": meta(beside.name, f.name, labels)}
            if beside.spec is not None:
                app_context = {**context, "app": {"name": app, "version": p.catalog[app].version}}
                obj["spec"] = render_tree(beside.spec, app_context, lp.doc, ("catalog", app, "objects", i, "spec"))
            objects.append(obj)
    return objects


def overlay_path(fed: LoadedFederation, overlay: Overlay) -> str:
    return posixpath.normpath(f"{fed.directory}/{overlay.path}")


def overlay_application(p: Platform, fed: LoadedFederation, app_name: str, overlay: Overlay, revision: str) -> Obj:
    """`<federation>-<app>-overlay`: a directory of the federation's own, applied into its namespace after the
    app, in its project (which lists what it may create), from this repository only."""
    f = fed.model
    # No `kustomize: {}` / `directory: {}` (names.SOURCE_TYPE_BLOCKS): loading checks that the directory is what
    # its `type` says, so Argo CD's own detection finds that type.
    source: Obj = {"repoURL": p.repoURL, "targetRevision": revision, "path": overlay_path(fed, overlay)}
    wave = overlay.syncWave if overlay.syncWave is not None else p.catalog[app_name].syncWave + 1
    labels = {PART_OF: f.name, FEDERATION_LABEL: f.name, APP_NAME: app_name}
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(f"{f.name}-{app_name}-{OVERLAY_APP}", p.argocd.namespace, labels,
                          {SYNC_WAVE: str(wave), GENERATE_PATHS: generate_paths(fed.directory, platform=False)},
                          finalizers=True),
        "spec": {
            "project": f.name,
            "source": source,
            "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
            "syncPolicy": synced(p, [overlay.sync], federation_namespace_labels(p, f)),
        },
    }


def federation_apps(lp: LoadedPlatform, fed: LoadedFederation, revision: str) -> list[Obj]:
    """A federation's Applications: one per app of its own, their overlays, and its secrets Application."""
    p, f = lp.model, fed.model
    context = federation_context(p, f, fed.doc)
    # Retired: no workload Applications, so the wrapper prunes them (their charts' objects go with them);
    # the secrets Application stays, and the root keeps the project, so the namespace and its data stay.
    apps = [] if f.state == "retired" else list(f.apps)
    objects = [workload_application(lp, fed, app, context) for app in apps]
    overlays = [(app, own.overlay) for app, own in f.apps.items() if own is not None and own.overlay is not None]
    objects += [overlay_application(p, fed, app, overlay, revision) for app, overlay in overlays if app in apps]
    if federation_secrets(p, f):
        objects.append(secrets_application(p, fed, revision))
    if apps and federation_besides(p, f):
        objects.append(objects_application(p, fed, revision))
    return objects


def federation_secret_objects(lp: LoadedPlatform, fed: LoadedFederation) -> list[Obj]:
    """component=secrets: the ExternalSecrets (and generators) of every secret the federation's apps name."""
    p, f = lp.model, fed.model
    return secret_objects(lp, federation_secrets(p, f), f.name,
                          {PART_OF: f.name, FEDERATION_LABEL: f.name},
                          federation_context(p, f, fed.doc))
