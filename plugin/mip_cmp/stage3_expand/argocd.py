"""Argo CD's shapes as mip-cmp writes them: metadata, sync policies, sources, projects and their roles, the
root's sync order. Every other expand module builds its objects from these; none of them does I/O."""

from __future__ import annotations

from typing import Any

from ..core import compat
from ..core.names import FILE_NAME, ROOT_APPLICATION, TOOL
from ..core.vocabulary import (
    APPLY_OUT_OF_SYNC_ONLY,
    ARGO_API,
    CREATE_NAMESPACE,
    FEDERATION_LABEL,
    FINALIZER,
    KEEP_ON_DELETE,
    NETWORK_GROUP,
    PART_OF,
    PRUNE_FALSE,
    PRUNE_LAST,
    SOURCE_TYPE_BLOCKS,
    SYNC_OPTIONS,
    SYNC_WAVE,
    Obj,
    empty_block,
)
from ..core.vocabulary import MANAGED_BY as MANAGED_BY_LABEL
from ..model.application import AppSync, IgnoreDifference, Source
from ..model.apps import Chart, InfrastructureApp, OwnNamespaceApp
from ..model.federation import Federation
from ..model.platform import Platform

MANAGED_BY = {MANAGED_BY_LABEL: TOOL}
KEEP_ON_DELETE_ANNOTATION = {SYNC_OPTIONS: ",".join(KEEP_ON_DELETE)}
PLATFORM_PART_OF = {PART_OF: ROOT_APPLICATION}
# Every generated Application retries a failed sync: without it automated sync never tries the same
# revision again, so one transient failure (a CRD or webhook not ready yet) would need a manual sync.
# 10 tries 10s, 20s, ... capped at 3m: about 20 minutes before Argo CD gives up on a revision.
RETRY = {"limit": 10, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
# The root Application's sync order (docs/operations.md, "Sync order"), counted back from the earliest
# Application it creates: the projects that Applications name, then the Applications that prepare a namespace
# (its NetworkPolicies, a common app's secrets). A sync waits for each wave to be healthy before the next, and
# Argo CD has no health check for an AppProject or an Application: these waves are healthy at once. Nothing
# whose health depends on another controller or on the secret store (an ExternalSecret) is the root's own, so
# a missing store key holds back only the app that reads it, never the platform.
ROOT_ORDER = ("AppProject", "Application")
# Projects that may go are pruned last (PRUNE_LAST, after every wave): Argo CD deletes a project only once no
# Application names it (its finalizer), and a sync waits for a pruned object to be gone before its next wave,
# so a project pruned in an early wave would wait for ever on the Applications a later wave removes.

# What workloads from the catalog's Helm charts may create inside their namespace. No NetworkPolicy: a
# namespace's policies come from its network project only, so no chart or overlay can undo its default deny.
WORKLOAD_KINDS = [
    ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
    ("", "Service"), ("", "ConfigMap"), ("", "Secret"), ("", "PersistentVolumeClaim"), ("", "ServiceAccount"),
    ("", "Pod"), ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
    (NETWORK_GROUP, "Ingress"), ("batch", "Job"),
    ("batch", "CronJob"), ("autoscaling", "HorizontalPodAutoscaler"), ("policy", "PodDisruptionBudget"),
]
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


def meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str] | None = None,
          finalizers: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **labels}}
    if annotations:
        meta["annotations"] = annotations
    if finalizers:
        meta["finalizers"] = [FINALIZER]
    return meta


def sync_policy(namespace_labels: dict[str, str] | None, *, prune: bool = True,
                namespace_annotations: dict[str, str] | None = None) -> Obj:
    policy: Obj = {
        "automated": {"prune": prune, "selfHeal": True},
        "syncOptions": [CREATE_NAMESPACE, APPLY_OUT_OF_SYNC_ONLY],
        "retry": RETRY,
    }
    if namespace_labels is not None:
        policy["managedNamespaceMetadata"] = {"labels": namespace_labels}
        if namespace_annotations:
            policy["managedNamespaceMetadata"]["annotations"] = namespace_annotations
    return policy


def synced(p: Platform, own: list[AppSync], namespace_labels: dict[str, str] | None,
           namespace_annotations: dict[str, str] | None = None) -> Obj:
    """The platform's sync defaults, then each of `own` in order (catalog, then federation): options add up,
    the last `prune` given wins. Federations only reach this with what the platform lets them set."""
    prune = p.syncPolicy.prune
    options = [CREATE_NAMESPACE, *p.syncPolicy.options]
    for item in own:
        options += item.options
        if item.prune is not None:
            prune = item.prune
    policy = sync_policy(namespace_labels, prune=prune, namespace_annotations=namespace_annotations)
    policy["syncOptions"] = list(dict.fromkeys(options))
    return policy


def ignore_differences(items: list[IgnoreDifference]) -> list[Obj]:
    return [item.model_dump(exclude_defaults=True) | {"group": item.group} for item in items]


def app_project(parts: Parts, name: str, description: str, *, repos: list[str], destinations: list[tuple[str, str]],
             cluster_kinds: list[dict[str, str]], namespace_kinds: list[tuple[str, str]],
             roles: list[Obj], labels: dict[str, str] | None = None, kept: bool = False,
             blacklist: list[tuple[str, str]] | None = None) -> Obj:
    """`kept`: never pruned (the Applications naming it are kept when they leave the platform); else pruned
    last (PRUNE_LAST)."""
    # The resources finalizer on a project: Argo CD deletes it only once no Application names it any more, so
    # a pruned project cannot leave Applications (and their finalizers) unable to finish.
    return {
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": meta(name, parts.p.argocd.namespace, labels or {},
                          {SYNC_WAVE: parts.waves["AppProject"], SYNC_OPTIONS: PRUNE_FALSE if kept else PRUNE_LAST},
                          finalizers=True),
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


def project_role(project: str, role: str, description: str, actions: list[str], groups: list[str]) -> Obj:
    return {
        "name": role,
        "description": description,
        "policies": [f"p, proj:{project}:{role}, applications, {a}, {project}/*, allow" for a in actions],
        "groups": list(dict.fromkeys(groups)),
    }


ADMIN_ACTIONS = ["get", "create", "update", "delete", "sync"]
DEVELOPER_ACTIONS = ["get", "sync"]


def standard_roles(p: Platform, project: str, extra_admins: tuple[str, ...] = (),
                    extra_devs: tuple[str, ...] = ()) -> list[Obj]:
    return [
        project_role(project, "admin", f"Full access to the applications of {project}", ADMIN_ACTIONS,
              [*p.rbac.adminGroups, *extra_admins]),
        project_role(project, "developer", f"Read and sync the applications of {project}", DEVELOPER_ACTIONS,
              [*p.rbac.developerGroups, *extra_devs]),
    ]


def root_source(p: Platform, revision: str, parameters: list[dict[str, str]] | None = None) -> Obj:
    """This repository's root rendered by this plugin: the platform, or (with parameters) one federation."""
    plugin: Obj = {"name": p.argocd.pluginName}
    if parameters:
        plugin["parameters"] = parameters
    return {"repoURL": p.repoURL, "targetRevision": revision, "path": ".", "plugin": plugin}


def in_argocd(p: Platform) -> dict[str, str]:
    return {"server": p.argocd.server, "namespace": p.argocd.namespace}


def chart_source(chart: Chart, revision: str, values: Any) -> Obj:
    helm: Obj = {"valueFiles": list(chart.valueFiles)}
    if values:
        helm["valuesObject"] = values
    return without_empty_blocks({"repoURL": chart.repoURL, "targetRevision": revision, "path": chart.path,
                                 "helm": helm})


def app_source(p: Platform, src: Source, revision: str) -> Obj:
    """One Argo CD source; without `repoURL` it is this repository at the revision being rendered."""
    out: Obj = {"repoURL": src.repoURL or p.repoURL, "targetRevision": src.revision or revision}
    for key in ("path", "chart", "ref"):
        if getattr(src, key) is not None:
            out[key] = getattr(src, key)
    if src.helm is not None:
        helm: Obj = {}
        if src.helm.releaseName:
            helm["releaseName"] = src.helm.releaseName
        if src.helm.skipCrds:
            helm["skipCrds"] = True
        if src.helm.valueFiles:
            helm["valueFiles"] = list(src.helm.valueFiles)
        if src.helm.values:
            helm["valuesObject"] = src.helm.values
        out["helm"] = helm
    if src.kustomize is not None:
        out["kustomize"] = src.kustomize.model_dump(exclude_defaults=True)
    if src.directory is not None:
        out["directory"] = src.directory.model_dump(exclude_defaults=True)
    return without_empty_blocks(out)


def without_empty_blocks(source: Obj) -> Obj:
    """The source without empty type blocks (names.SOURCE_TYPE_BLOCKS): Argo CD would remove them, and self-heal
    would put them back for ever. The repo-server tells the source types apart without them (Chart.yaml, a
    kustomization file, else plain manifests)."""
    return {k: v for k, v in source.items() if k not in SOURCE_TYPE_BLOCKS or not empty_block(v)}


def kept_on_removal(p: Platform) -> bool:
    """onRemoval `keep`: what a federation (or common app) leaving the platform leaves running stays governed:
    its network Application (pruning it would open its namespace) and the projects its kept Applications name.
    A project is kept exactly as long as an Application that names it: Argo CD would never finish deleting it
    otherwise, and the root's sync would wait for that deletion for ever (docs/operations.md)."""
    return p.federations.onRemoval == "keep"


def generate_paths(*directories: str, platform: bool = True) -> str:
    """GENERATE_PATHS of an Application: the files and directories (from the repository's root) its render
    reads, so that Argo CD renders it again only for a commit that changes one of them (others move its cached
    manifests to the new commit). A federation's apps read the platform file and their own directory; a
    common or infrastructure app's network and secrets apps the platform file alone; an overlay only its
    federation's directory (`platform=False`; loading checks that it reads nothing else).
    tests/unit/test_renders.py checks each against what the render reads."""
    return ";".join(f"/{path}" for path in ((FILE_NAME,) if platform else ()) + directories)


def common_namespace_labels(p: Platform, namespace: str) -> dict[str, str]:
    return {"name": namespace, p.namespaceLabels.namespaceType: "common"}


def infrastructure_namespace_labels(p: Platform, namespace: str, own: dict[str, str]) -> dict[str, str]:
    """`own`: the app's namespaceMetadata labels; the platform's keys come last, so they always hold."""
    return {**own, "name": namespace, p.namespaceLabels.namespaceType: "infrastructure"}


def own_namespace_labels(p: Platform, app: OwnNamespaceApp) -> dict[str, str]:
    """What a common or infrastructure app's own Application says of its namespace: its `-network` and
    `-secrets` Applications say the same (Applications that disagree would relabel it back and forth)."""
    if isinstance(app, InfrastructureApp):
        return infrastructure_namespace_labels(p, app.namespace, app.namespaceMetadata.labels)
    return common_namespace_labels(p, app.namespace)


def own_namespace_annotations(app: OwnNamespaceApp) -> dict[str, str] | None:
    return app.namespaceMetadata.annotations if isinstance(app, InfrastructureApp) else None


def federation_namespace_labels(p: Platform, f: Federation) -> dict[str, str]:
    keys = p.namespaceLabels
    return {"name": f.name, FEDERATION_LABEL: f.name, keys.namespaceType: "federation", keys.federationType: f.type}
