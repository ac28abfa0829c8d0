"""The expansion: validated models in, Kubernetes objects (plain dicts) out. Pure: no I/O, no printing.

Objects are built as data, never by templating YAML text, and in a fixed order, so the same input
always gives the same output.
"""

from __future__ import annotations

import posixpath
from typing import Any

from . import compat
from .buildenv import BuildEnv
from .contract.params import (
    APPSET_BINDING,
    NETWORK_COMPONENT,
    SECRETS_COMPONENT,
    binding,
    common_network_binding,
)
from .loading import LoadedFederation, LoadedPlatform
from .model import (
    AppSync,
    Chart,
    CommonApp,
    Federation,
    IgnoreDifference,
    InfrastructureApp,
    Overlay,
    Platform,
    ResourceKind,
    Secret,
    Source,
)
from .names import (
    COMMON_PROJECT,
    FEDERATIONS_APPSET,
    FEDERATIONS_PROJECT,
    FILE_NAME,
    GENERATORS_API,
    INFRA_PROJECT,
    KEEP_ON_DELETE,
    OVERLAY_APP,
    ROOT_APPLICATION,
    SECRETS_APP,
    SYNC_OPTIONS,
    infra_project_name,
    network_name,
)
from .network import namespace_policies
from .templating import render_tree
from .yamlsource import Document

Obj = dict[str, Any]

ARGO = "argoproj.io/v1alpha1"
ESO = "external-secrets.io/v1"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "mip-cmp"}
FEDERATION_LABEL = "mip-cmp.io/federation"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# With a git webhook, Argo CD re-renders an app on a push only if these paths changed: a federation's apps
# depend on the platform file and their own directory, nothing else.
GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"
KEEP_ON_DELETE_ANNOTATION = {SYNC_OPTIONS: ",".join(KEEP_ON_DELETE)}
PLATFORM_PART_OF = {"app.kubernetes.io/part-of": ROOT_APPLICATION}
# Every generated Application retries a failed sync: without it automated sync never tries the same
# revision again, so one transient failure (a CRD or webhook not ready yet) would need a manual sync.
# 10 tries 10s, 20s, ... capped at 3m: about 20 minutes before Argo CD gives up on a revision.
RETRY = {"limit": 10, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
# The root Application's sync order (docs/operations.md, "Sync order"), counted back from the earliest
# Application it creates: the projects that Applications name, then the namespaces it writes into, then
# the password generators their ExternalSecrets read, then those ExternalSecrets.
ROOT_ORDER = ("AppProject", "Namespace", "Password", "ExternalSecret")
NAMESPACE_TYPE = "mip-cmp.io/namespace-type"

# What workloads from the catalog's Helm charts may create inside their namespace. No NetworkPolicy: a
# namespace's policies come from its network project only, so no chart or overlay can undo its default deny.
WORKLOAD_KINDS = [
    ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
    ("", "Service"), ("", "ConfigMap"), ("", "Secret"), ("", "PersistentVolumeClaim"), ("", "ServiceAccount"),
    ("", "Pod"), ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
    ("networking.k8s.io", "Ingress"), ("batch", "Job"),
    ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"), ("policy", "PodDisruptionBudget"),
]
SECRET_KINDS = [("external-secrets.io", "ExternalSecret"), ("generators.external-secrets.io", "Password")]
# Listed explicitly as well, so a later widening of a whitelist cannot silently grant them.
SENSITIVE_CLUSTER_KINDS = [
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
]


def root_wave(p: Platform, kind: str) -> str:
    """The sync wave of a `kind` in ROOT_ORDER, before every Application the root creates."""
    first_app = min([0, *(a.syncWave for a in p.commonApps.values()),
                     *(a.syncWave for a in p.infrastructure.values())])
    return str(first_app - len(ROOT_ORDER) + ROOT_ORDER.index(kind))


class Parts:
    """What the projects and Applications of one platform have in common, worked out once per render (the root
    makes some for every federation). Speed only: the kind lists they share are then the same objects, which
    emit.dump writes once (fastyaml.Memo); nothing changes an object once it is made."""

    def __init__(self, p: Platform) -> None:
        self.p = p
        self.waves = {kind: root_wave(p, kind) for kind in ROOT_ORDER}
        self.named_cluster_resources = compat.NAMED_CLUSTER_RESOURCES.supported_by(p.argocd.version)
        self._kinds: dict[tuple[tuple[str, str], ...], list[dict[str, str]]] = {}

    def kinds(self, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        key = tuple(pairs)
        if key not in self._kinds:
            self._kinds[key] = [{"group": group, "kind": kind} for group, kind in pairs]
        return self._kinds[key]

    def own_namespaces(self, names: list[str]) -> list[dict[str, str]]:
        """Namespace is the one cluster-scoped kind a project needs (CreateNamespace=true is checked against the
        whitelist), and only for its own namespaces: a chart must not create or relabel any other. Before Argo
        CD v3.3 an entry has no `name` (the API server would prune it): the kind alone, as that version stores
        it."""
        if not names:
            return []
        if not self.named_cluster_resources:
            return [{"group": "", "kind": "Namespace"}]
        return [{"group": "", "kind": "Namespace", "name": name} for name in sorted(set(names))]


def _meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str] | None = None,
          finalizers: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **labels}}
    if annotations:
        meta["annotations"] = annotations
    if finalizers:
        meta["finalizers"] = [FINALIZER]
    return meta


def deep_merge(base: Any, override: Any) -> Any:
    """Helm's rule: mappings merge key by key, anything else in `override` replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


def _sync_policy(namespace_labels: dict[str, str] | None, *, prune: bool = True) -> Obj:
    policy: Obj = {
        "automated": {"prune": prune, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true", "ApplyOutOfSyncOnly=true"],
        "retry": RETRY,
    }
    if namespace_labels is not None:
        policy["managedNamespaceMetadata"] = {"labels": namespace_labels}
    return policy


def _ignore_differences(items: list[IgnoreDifference]) -> list[Obj]:
    return [item.model_dump(exclude_defaults=True) | {"group": item.group} for item in items]


def _project(parts: Parts, name: str, description: str, *, repos: list[str], destinations: list[tuple[str, str]],
             cluster_kinds: list[dict[str, str]], namespace_kinds: list[tuple[str, str]],
             roles: list[Obj], labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None, blacklist: list[tuple[str, str]] | None = None) -> Obj:
    # The resources finalizer on a project: Argo CD deletes it only once no Application names it any more, so
    # a pruned project cannot leave Applications (and their finalizers) unable to finish.
    return {
        "apiVersion": ARGO,
        "kind": "AppProject",
        "metadata": _meta(name, parts.p.argocd.namespace, labels or {},
                          {SYNC_WAVE: parts.waves["AppProject"], **(annotations or {})}, finalizers=True),
        "spec": {
            "description": description,
            "sourceRepos": sorted(set(repos)),
            "destinations": [{"server": server, "namespace": ns} for server, ns in sorted(set(destinations))],
            "clusterResourceWhitelist": cluster_kinds,
            "clusterResourceBlacklist": parts.kinds(SENSITIVE_CLUSTER_KINDS if blacklist is None else blacklist),
            "namespaceResourceWhitelist": parts.kinds(namespace_kinds),
            "roles": roles,
        },
    }


def _role(project: str, role: str, description: str, actions: list[str], groups: list[str]) -> Obj:
    return {
        "name": role,
        "description": description,
        "policies": [f"p, proj:{project}:{role}, applications, {a}, {project}/*, allow" for a in actions],
        "groups": list(dict.fromkeys(groups)),
    }


ADMIN_ACTIONS = ["get", "create", "update", "delete", "sync"]
DEVELOPER_ACTIONS = ["get", "sync"]


def _standard_roles(p: Platform, project: str, extra_admins: tuple[str, ...] = (),
                    extra_devs: tuple[str, ...] = ()) -> list[Obj]:
    return [
        _role(project, "admin", f"Full access to the applications of {project}", ADMIN_ACTIONS,
              [*p.rbac.adminGroups, *extra_admins]),
        _role(project, "developer", f"Read and sync the applications of {project}", DEVELOPER_ACTIONS,
              [*p.rbac.developerGroups, *extra_devs]),
    ]


# --- the platform directory ------------------------------------------------------------------------------


def default_project(p: Platform) -> Obj:
    """Argo CD's built-in `default` project, locked down so nothing can land in it."""
    deny_all = [{"group": "*", "kind": "*"}]
    return {
        "apiVersion": ARGO,
        "kind": "AppProject",
        "metadata": _meta("default", p.argocd.namespace, {}, {SYNC_WAVE: root_wave(p, "AppProject")}),
        "spec": {"sourceRepos": [], "sourceNamespaces": [], "destinations": [],
                 "namespaceResourceBlacklist": deny_all, "clusterResourceBlacklist": deny_all},
    }


def root_namespaces(p: Platform) -> list[str]:
    """Namespaces the root Application itself writes into (common apps' secrets): it creates them first, as
    their app's CreateNamespace would come too late (that app syncs after the root's sync has finished)."""
    return sorted({a.namespace for a in p.commonApps.values() if a.secrets})


def _common_namespace_labels(namespace: str) -> dict[str, str]:
    return {"name": namespace, NAMESPACE_TYPE: "common"}


def root_namespace(p: Platform, namespace: str) -> Obj:
    # Never pruned nor deleted with the root: a namespace holds data, and its app may still run.
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {**MANAGED_BY, **_common_namespace_labels(namespace)},
                     "annotations": {SYNC_WAVE: root_wave(p, "Namespace"), **KEEP_ON_DELETE_ANNOTATION}},
    }


def infrastructure_project(p: Platform, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    destinations = [(p.argocd.server, p.argocd.namespace)]
    destinations += [(p.argocd.server, ns) for ns in root_namespaces(p)]
    return _project(
        parts, INFRA_PROJECT, "The platform itself: projects, the federation ApplicationSet, common apps",
        repos=[p.repoURL], destinations=destinations, cluster_kinds=parts.own_namespaces(root_namespaces(p)),
        namespace_kinds=[(ARGO.split("/")[0], k) for k in ("AppProject", "ApplicationSet", "Application")]
        + SECRET_KINDS,
        roles=[_role(INFRA_PROJECT, "admin", "Full access to the platform's applications", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
    )


def _root_source(p: Platform, revision: str, parameters: list[dict[str, str]] | None = None) -> Obj:
    """This repository's root rendered by this plugin: the platform, or (with parameters) one federation."""
    plugin: Obj = {"name": p.argocd.pluginName}
    if parameters:
        plugin["parameters"] = parameters
    return {"repoURL": p.repoURL, "targetRevision": revision, "path": ".", "plugin": plugin}


def _in_argocd(p: Platform) -> dict[str, str]:
    return {"server": p.argocd.server, "namespace": p.argocd.namespace}


def root_application(p: Platform, revision: str) -> Obj:
    """The one Application an admin creates; it renders the repository root with this plugin."""
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(ROOT_APPLICATION, p.argocd.namespace, PLATFORM_PART_OF),
        "spec": {
            "project": INFRA_PROJECT,
            "source": _root_source(p, revision),
            "destination": _in_argocd(p),
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "retry": RETRY},
        },
    }


def federation_project(p: Platform, f: Federation, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    repos = [p.repoURL, *(p.catalog[a].repoURL for a in f.apps if a in p.catalog)]
    return _project(
        parts, f.name, f"Federation {f.name} ({f.type}): its workloads, in namespace {f.name} only",
        repos=repos, destinations=[(p.clusters[f.cluster], f.name)], cluster_kinds=parts.own_namespaces([f.name]),
        namespace_kinds=WORKLOAD_KINDS + SECRET_KINDS,
        roles=_standard_roles(p, f.name, (f"{f.name}-admins",), (f"{f.name}-developers",)),
        labels={FEDERATION_LABEL: f.name},
        # Kept when its directory is deleted (onRemoval: keep): the root then shows it as needing a prune,
        # the reminder that the federation's Applications, namespace and data still await an admin.
        annotations={SYNC_OPTIONS: "Prune=false"} if p.federations.onRemoval == "keep" else None,
    )


def federations_appset(p: Platform, federations: list[LoadedFederation], revision: str) -> Obj:
    """One wrapper Application per federation directory, each bound to the name its directory declares.

    onRemoval `keep` (the default, as mip-infra never cascades): a wrapper carries no resources finalizer and
    preserveResourcesOnDeletion stops the ApplicationSet controller adding one, so deleting a federation's
    directory deletes only its wrapper; its Applications and everything they run stay."""
    elements = [{"name": f.model.name, "path": f.directory} for f in federations]
    keep = p.federations.onRemoval == "keep"
    return {
        "apiVersion": ARGO,
        "kind": "ApplicationSet",
        "metadata": _meta(FEDERATIONS_APPSET, p.argocd.namespace, PLATFORM_PART_OF),
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {
                    "name": "{{ .name }}",
                    "labels": {**MANAGED_BY, "app.kubernetes.io/part-of": "{{ .name }}",
                               FEDERATION_LABEL: "{{ .name }}"},
                    "annotations": {GENERATE_PATHS: generate_paths("{{ .path }}")},
                    **({} if keep else {"finalizers": [FINALIZER]}),
                },
                "spec": {
                    "project": FEDERATIONS_PROJECT,
                    # Rendered from the root, which only admins control: a file in the federation's
                    # directory (e.g. .argocd-source.yaml) must not be able to change how Argo CD renders it.
                    "source": _root_source(p, revision, APPSET_BINDING),
                    "destination": _in_argocd(p),
                    # allowEmpty: a retired federation without secrets renders no Application at all, and
                    # that must prune its workloads (gate.py refuses empty output for anything else).
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True, "allowEmpty": True},
                                   "retry": RETRY},
                },
            },
            **({"syncPolicy": {"preserveResourcesOnDeletion": True}} if keep else {}),
        },
    }


def _chart_source(chart: Chart, revision: str, values: Any) -> Obj:
    helm: Obj = {"valueFiles": list(chart.valueFiles)}
    if values:
        helm["valuesObject"] = values
    return {"repoURL": chart.repoURL, "targetRevision": revision, "path": chart.path, "helm": helm}


def common_app(lp: LoadedPlatform, name: str, app: CommonApp) -> Obj:
    p = lp.model
    values = render_tree(app.values, common_context(p, name, app), lp.doc, ("commonApps", name, "values"))
    spec: Obj = {
        "project": COMMON_PROJECT,
        "source": _chart_source(app, app.revision, values),
        "destination": {"server": p.clusters[app.cluster], "namespace": app.namespace},
    }
    if app.ignoreDifferences:
        spec["ignoreDifferences"] = _ignore_differences(app.ignoreDifferences)
    spec["syncPolicy"] = _synced(p, [app.sync], _common_namespace_labels(app.namespace))
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(name, p.argocd.namespace,
                          {"app.kubernetes.io/part-of": "mip-common", "app.kubernetes.io/version": app.version},
                          {SYNC_WAVE: str(app.syncWave), **app.annotations}, finalizers=True),
        "spec": spec,
    }


def common_project(p: Platform, parts: Parts | None = None) -> Obj:
    parts = parts or Parts(p)
    apps = p.commonApps.values()
    return _project(
        parts, COMMON_PROJECT, "Apps shared by the whole platform, each in its own namespace",
        repos=[a.repoURL for a in apps], destinations=[(p.clusters[a.cluster], a.namespace) for a in apps],
        cluster_kinds=parts.own_namespaces([a.namespace for a in apps]), namespace_kinds=WORKLOAD_KINDS,
        roles=_standard_roles(p, COMMON_PROJECT),
    )


def expand_platform(lp: LoadedPlatform, federations: list[LoadedFederation], env: BuildEnv) -> list[Obj]:
    p = lp.model
    parts = Parts(p)
    objects = [default_project(p), infrastructure_project(p, parts), _federations_project(p, parts),
               common_project(p, parts)]
    objects += [infrastructure_app_project(p, name, app, parts) for name, app in p.infrastructure.items()]
    objects += [federation_project(p, f.model, parts) for f in sorted(federations, key=lambda f: f.model.name)]
    objects += network_projects(p, federations, parts)
    objects.append(federations_appset(p, federations, env.target_revision))
    objects += [root_namespace(p, ns) for ns in root_namespaces(p)]
    objects += network_applications(p, federations, env.target_revision, parts)
    objects += [infrastructure_application(p, name, app, env.target_revision)
                for name, app in p.infrastructure.items()]
    for name, app in p.commonApps.items():
        objects.append(common_app(lp, name, app))
        objects += secret_objects(lp, app.secrets, app.namespace, {"app.kubernetes.io/part-of": name},
                                  common_context(p, name, app),
                                  waves=(root_wave(p, "Password"), root_wave(p, "ExternalSecret")))
    return objects


def common_context(p: Platform, name: str, app: CommonApp) -> dict[str, Any]:
    return {"app": {"name": name, "version": app.version, "namespace": app.namespace},
            "platform": {"argocdNamespace": p.argocd.namespace}}


def _federations_project(p: Platform, parts: Parts) -> Obj:
    return _project(
        parts, FEDERATIONS_PROJECT, "Federation wrapper apps: each creates its federation's Applications",
        repos=[p.repoURL], destinations=[(p.argocd.server, p.argocd.namespace)], cluster_kinds=[],
        namespace_kinds=[("argoproj.io", "Application")], roles=_standard_roles(p, FEDERATIONS_PROJECT),
    )


# --- a federation directory ------------------------------------------------------------------------------


def federation_context(p: Platform, f: Federation, doc: Document) -> dict[str, Any]:
    federation = {"name": f.name, "namespace": f.name, "cluster": f.cluster, "type": f.type}
    context = {"federation": federation, "platform": {"argocdNamespace": p.argocd.namespace}}
    federation["publicHost"] = render_tree(f.publicHost, context, doc, ("publicHost",)) if f.publicHost else ""
    return context


def federation_secrets(p: Platform, f: Federation) -> list[str]:
    return sorted({s for app in f.apps for s in p.catalog[app].secrets})


def workload_application(lp: LoadedPlatform, fed: LoadedFederation, app_name: str,
                         context: dict[str, Any]) -> Obj:
    p, f = lp.model, fed.model
    chart = p.catalog[app_name]
    own = f.apps[app_name]
    app_context = {**context, "app": {"name": app_name, "version": chart.version}}
    values = render_tree(chart.values, app_context, lp.doc, ("catalog", app_name, "values"))
    if own is not None:
        values = deep_merge(values, render_tree(own.values, app_context, fed.doc, ("apps", app_name, "values")))
    labels = {"app.kubernetes.io/part-of": f.name, FEDERATION_LABEL: f.name, "app.kubernetes.io/name": app_name}
    revision = chart.revision
    version_label: str | None = chart.version
    if own is not None and own.revision is not None:
        # The catalog's version names the catalog's revision, not this one: only the federation can say.
        revision, version_label = own.revision, own.version
    if version_label is not None:
        labels["app.kubernetes.io/version"] = version_label
    spec: Obj = {
        "project": f.name,
        "source": _chart_source(chart, revision, values),
        "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
    }
    ignore = [*chart.ignoreDifferences, *(own.ignoreDifferences if own else [])]
    if ignore:
        spec["ignoreDifferences"] = _ignore_differences(ignore)
    spec["syncPolicy"] = _synced(p, [chart.sync, *([own.sync] if own else [])], _namespace_labels(f))
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(f"{f.name}-{app_name}", p.argocd.namespace, labels,
                          {SYNC_WAVE: str(chart.syncWave), **chart.annotations}, finalizers=True),
        "spec": spec,
    }


def _namespace_labels(f: Federation) -> dict[str, str]:
    return {"name": f.name, FEDERATION_LABEL: f.name, "mip-cmp.io/federation-type": f.type}


def generate_paths(directory: str) -> str:
    return f"/{FILE_NAME};/{directory}"


def secrets_application(p: Platform, fed: LoadedFederation, revision: str) -> Obj:
    """The Application that renders this federation again with component=secrets, on its own cluster, so
    the ExternalSecrets land next to the workloads even for a federation on another cluster."""
    f = fed.model
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(f"{f.name}-{SECRETS_APP}", p.argocd.namespace,
                          {"app.kubernetes.io/part-of": f.name, FEDERATION_LABEL: f.name},
                          {SYNC_WAVE: "-1", GENERATE_PATHS: generate_paths(fed.directory)}, finalizers=True),
        "spec": {
            "project": f.name,
            "source": _root_source(p, revision, binding(f.name, fed.directory, SECRETS_COMPONENT)),
            "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
            # Never prune: removing a secret from the catalog must not delete live credentials.
            "syncPolicy": _sync_policy(_namespace_labels(f), prune=False),
        },
    }


def expand_federation(lp: LoadedPlatform, fed: LoadedFederation, env: BuildEnv) -> list[Obj]:
    p, f = lp.model, fed.model
    context = federation_context(p, f, fed.doc)
    if env.component == SECRETS_COMPONENT:
        return secret_objects(lp, federation_secrets(p, f), f.name,
                              {"app.kubernetes.io/part-of": f.name, FEDERATION_LABEL: f.name}, context)
    if env.component == NETWORK_COMPONENT:
        return federation_network(p, f)
    # Retired: no workload Applications, so the wrapper prunes them (their charts' objects go with them);
    # the secrets Application stays, and the root keeps the project, so the namespace and its data stay.
    apps = [] if f.state == "retired" else list(f.apps)
    objects = [workload_application(lp, fed, app, context) for app in apps]
    overlays = [(app, own.overlay) for app, own in f.apps.items() if own is not None and own.overlay is not None]
    objects += [overlay_application(p, fed, app, overlay, env.target_revision)
                for app, overlay in overlays if app in apps]
    if federation_secrets(p, f):
        objects.append(secrets_application(p, fed, env.target_revision))
    return objects


# --- secrets ---------------------------------------------------------------------------------------------


def secret_objects(lp: LoadedPlatform, names: list[str], namespace: str, labels: dict[str, str],
                   context: dict[str, Any], waves: tuple[str, str | None] = ("-1", None)) -> list[Obj]:
    """`context`: what a templated store key may use; `waves`: of the password generators, and of the
    ExternalSecrets (None: the default wave 0)."""
    objects: list[Obj] = []
    for name in names:
        objects += _secret(lp, name, lp.model.secrets[name], namespace, labels, context, waves)
    return objects


def _secret(lp: LoadedPlatform, name: str, secret: Secret, namespace: str, labels: dict[str, str],
            context: dict[str, Any], waves: tuple[str, str | None]) -> list[Obj]:
    """One Secret, from its ExternalSecret (and Password generator when it holds generated keys)."""
    p = lp.model
    external_wave = {SYNC_WAVE: waves[1]} if waves[1] is not None else {}
    store_ref: Obj | None = None
    data: list[Obj] = []
    if secret.fromStore is not None:
        assert p.secretStore is not None  # checked when the platform was loaded
        store_ref = {"kind": p.secretStore.kind, "name": p.secretStore.name}
        # The store key may name the namespace's own entry, e.g. one Keycloak client per federation.
        key = render_tree(secret.fromStore.key, context, lp.doc, ("secrets", name, "fromStore", "key"))
        data = [{"secretKey": secret_key, "remoteRef": {"key": key, "property": prop}}
                for secret_key, prop in secret.fromStore.key_map().items()]
    target: Obj = {"name": name}
    template: Obj | None = None
    if secret.fixed:
        # Merge: the fixed values are added to the fetched and generated keys instead of replacing them.
        template = {"engineVersion": "v2", "mergePolicy": "Merge", "data": dict(secret.fixed)}
    gen = secret.generated
    if gen is None:
        assert secret.fromStore is not None and store_ref is not None  # one source at least, by the model
        target |= {"creationPolicy": "Owner", "deletionPolicy": "Retain"}
        if template:
            target["template"] = template
        return [{
            "apiVersion": ESO,
            "kind": "ExternalSecret",
            "metadata": _meta(name, namespace, labels, external_wave),
            "spec": {"refreshInterval": secret.fromStore.refreshInterval, "secretStoreRef": store_ref,
                     "target": target, "data": data},
        }]
    generator = {
        "apiVersion": GENERATORS_API,
        "kind": "Password",
        "metadata": _meta(name, namespace, labels, {SYNC_WAVE: waves[0], **KEEP_ON_DELETE_ANNOTATION}),
        "spec": {"length": gen.length, "digits": gen.digits, "symbols": gen.symbols, "noUpper": gen.noUpper,
                 "allowRepeat": gen.allowRepeat, "encoding": "raw", "secretKeys": list(gen.keys)},
    }
    # Orphan + Retain: the Secret outlives its ExternalSecret; immutable: a re-created ExternalSecret cannot
    # overwrite passwords that are already in use.
    target |= {"creationPolicy": "Orphan", "deletionPolicy": "Retain", "immutable": True}
    if template:
        target["template"] = template
    spec: Obj = {
        # Generated once, never refreshed: CreatedOnce (ESO >= 0.16) and 0s for older controllers. Store keys
        # in the same Secret are read once too: the Secret is never rewritten.
        "refreshPolicy": "CreatedOnce",
        "refreshInterval": "0s",
        "target": target,
    }
    if data:
        spec["data"] = [{**item, "sourceRef": {"storeRef": store_ref}} for item in data]
    spec["dataFrom"] = [{"sourceRef": {"generatorRef": {"apiVersion": GENERATORS_API, "kind": "Password",
                                                        "name": name}}}]
    external = {
        "apiVersion": ESO,
        "kind": "ExternalSecret",
        "metadata": _meta(name, namespace, labels, {**external_wave, **KEEP_ON_DELETE_ANNOTATION}),
        "spec": spec,
    }
    return [generator, external]


# --- sync policy, sources ----------------------------------------------------------------------------------


def _synced(p: Platform, own: list[AppSync], namespace_labels: dict[str, str] | None) -> Obj:
    """The platform's sync defaults, then each of `own` in order (catalog, then federation): options add up,
    the last `prune` given wins. Federations only reach this with what the platform lets them set."""
    prune = p.syncPolicy.prune
    options = ["CreateNamespace=true", *p.syncPolicy.options]
    for item in own:
        options += item.options
        if item.prune is not None:
            prune = item.prune
    policy = _sync_policy(namespace_labels, prune=prune)
    policy["syncOptions"] = list(dict.fromkeys(options))
    return policy


def _source(p: Platform, src: Source, revision: str) -> Obj:
    """One Argo CD source; without `repoURL` it is this repository at the revision being rendered."""
    out: Obj = {"repoURL": src.repoURL or p.repoURL, "targetRevision": src.revision or revision}
    for key in ("path", "chart", "ref"):
        if getattr(src, key) is not None:
            out[key] = getattr(src, key)
    if src.helm is not None:
        helm: Obj = {}
        if src.helm.releaseName:
            helm["releaseName"] = src.helm.releaseName
        if src.helm.valueFiles:
            helm["valueFiles"] = list(src.helm.valueFiles)
        if src.helm.values:
            helm["valuesObject"] = src.helm.values
        out["helm"] = helm
    if src.kustomize is not None:
        out["kustomize"] = src.kustomize.model_dump(exclude_defaults=True)
    if src.directory is not None:
        out["directory"] = src.directory.model_dump(exclude_defaults=True)
    return out


# --- infrastructure apps -----------------------------------------------------------------------------------


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
    return _project(
        parts, project, f"Platform component {name}: namespace {app.namespace} only",
        repos=[s.repoURL or p.repoURL for s in app.all_sources()],
        destinations=[(p.clusters[app.cluster], app.namespace)],
        cluster_kinds=parts.own_namespaces([app.namespace]) + _named(parts, app.clusterKinds),
        namespace_kinds=[(k.group, k.kind) for k in app.namespaceKinds],
        roles=[_role(project, "admin", f"Full access to the platform component {name}", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
        blacklist=[pair for pair in SENSITIVE_CLUSTER_KINDS if pair not in granted],
    )


def infrastructure_application(p: Platform, name: str, app: InfrastructureApp, revision: str) -> Obj:
    sources = [_source(p, s, revision) for s in app.all_sources()]
    spec: Obj = {"project": infra_project_name(name)}
    if app.source is not None:
        spec["source"] = sources[0]
    else:
        spec["sources"] = sources
    spec["destination"] = {"server": p.clusters[app.cluster], "namespace": app.namespace}
    if app.ignoreDifferences:
        spec["ignoreDifferences"] = _ignore_differences(app.ignoreDifferences)
    spec["syncPolicy"] = _synced(p, [app.sync], {"name": app.namespace, NAMESPACE_TYPE: "infrastructure"})
    labels = {"app.kubernetes.io/part-of": ROOT_APPLICATION}
    if app.version:
        labels["app.kubernetes.io/version"] = app.version
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(name, p.argocd.namespace, labels, {SYNC_WAVE: str(app.syncWave)}, finalizers=True),
        "spec": spec,
    }


# --- network isolation -------------------------------------------------------------------------------------


def network_project(p: Platform, owner: str, server: str, namespace: str, parts: Parts | None = None) -> Obj:
    """The project of `<owner>-network`: only admins, only NetworkPolicies, only in that one namespace.
    Federation maintainers control nothing here. One per namespace, so adding a federation adds a project
    and widens none."""
    parts = parts or Parts(p)
    name = network_name(owner)
    return _project(
        parts, name, f"NetworkPolicies of namespace {namespace}, derived from the platform",
        repos=[p.repoURL], destinations=[(server, namespace)], cluster_kinds=parts.own_namespaces([namespace]),
        namespace_kinds=[("networking.k8s.io", "NetworkPolicy")],
        roles=[_role(name, "admin", f"Full access to the network policies of {namespace}", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
    )


def network_projects(p: Platform, federations: list[LoadedFederation], parts: Parts | None = None) -> list[Obj]:
    if not p.network.enabled:
        return []
    parts = parts or Parts(p)
    projects = [network_project(p, f.model.name, p.clusters[f.model.cluster], f.model.name, parts)
                for f in sorted(federations, key=lambda f: f.model.name)]
    return projects + [network_project(p, name, p.clusters[a.cluster], a.namespace, parts)
                       for name, a in p.commonApps.items()]


def network_application(p: Platform, owner: str, server: str, namespace: str, parameters: list[dict[str, str]],
                        namespace_labels: dict[str, str], labels: dict[str, str], revision: str,
                        paths: str | None = None, parts: Parts | None = None) -> Obj:
    """`<owner>-network`: renders the root again with component=network for one namespace, on its cluster,
    in the network project, one sync wave before everything else so the namespace is closed first."""
    annotations = {SYNC_WAVE: (parts or Parts(p)).waves["ExternalSecret"]}
    if paths:
        annotations[GENERATE_PATHS] = paths
    if p.federations.onRemoval == "keep":
        # Kept when its federation (or common app) leaves the platform, like the project: the workloads left
        # running until an admin removes them stay closed off (pruning it would delete their policies).
        annotations[SYNC_OPTIONS] = "Prune=false"
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(network_name(owner), p.argocd.namespace, labels, annotations, finalizers=True),
        "spec": {
            "project": network_name(owner),
            "source": _root_source(p, revision, parameters),
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": _sync_policy(namespace_labels),
        },
    }


def network_applications(p: Platform, federations: list[LoadedFederation], revision: str,
                         parts: Parts | None = None) -> list[Obj]:
    if not p.network.enabled:
        return []
    parts = parts or Parts(p)
    apps = [network_application(p, f.model.name, p.clusters[f.model.cluster], f.model.name,
                                binding(f.model.name, f.directory, NETWORK_COMPONENT), _namespace_labels(f.model),
                                {"app.kubernetes.io/part-of": f.model.name, FEDERATION_LABEL: f.model.name},
                                revision, generate_paths(f.directory), parts)
            for f in sorted(federations, key=lambda f: f.model.name)]
    apps += [network_application(p, name, p.clusters[a.cluster], a.namespace, common_network_binding(name),
                                 _common_namespace_labels(a.namespace), {"app.kubernetes.io/part-of": name}, revision,
                                 parts=parts)
             for name, a in p.commonApps.items()]
    return apps


def federation_network(p: Platform, f: Federation) -> list[Obj]:
    labels = {**MANAGED_BY, "app.kubernetes.io/part-of": f.name, FEDERATION_LABEL: f.name}
    return namespace_policies(p.network, f.name, [(a, p.catalog[a]) for a in f.apps],
                              [p.network.peers[n] for n in f.peers], labels)


def common_network(p: Platform, name: str) -> list[Obj]:
    app = p.commonApps[name]
    labels = {**MANAGED_BY, "app.kubernetes.io/part-of": name, NAMESPACE_TYPE: "common"}
    return namespace_policies(p.network, app.namespace, [(name, app)], [], labels)


# --- federation overlays -----------------------------------------------------------------------------------


def overlay_path(fed: LoadedFederation, overlay: Overlay) -> str:
    return posixpath.normpath(f"{fed.directory}/{overlay.path}")


def overlay_application(p: Platform, fed: LoadedFederation, app_name: str, overlay: Overlay, revision: str) -> Obj:
    """`<federation>-<app>-overlay`: a directory of the federation's own, applied into its namespace after the
    app, in its project (which lists what it may create), from this repository only."""
    f = fed.model
    source: Obj = {"repoURL": p.repoURL, "targetRevision": revision, "path": overlay_path(fed, overlay),
                   overlay.type: {}}
    wave = overlay.syncWave if overlay.syncWave is not None else p.catalog[app_name].syncWave + 1
    labels = {"app.kubernetes.io/part-of": f.name, FEDERATION_LABEL: f.name, "app.kubernetes.io/name": app_name}
    return {
        "apiVersion": ARGO,
        "kind": "Application",
        "metadata": _meta(f"{f.name}-{app_name}-{OVERLAY_APP}", p.argocd.namespace, labels,
                          {SYNC_WAVE: str(wave)}, finalizers=True),
        "spec": {
            "project": f.name,
            "source": source,
            "destination": {"server": p.clusters[f.cluster], "namespace": f.name},
            "syncPolicy": _synced(p, [overlay.sync], _namespace_labels(f)),
        },
    }
