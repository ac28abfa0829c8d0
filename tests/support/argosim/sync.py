"""One sync operation of one Application (gitops-engine pkg/sync/sync_context.go, as Argo CD configures it).

In order: every task's kind must be served and permitted by the project, and every namespaced object's
namespace must be a permitted destination, or nothing at all is applied; CreateNamespace creates the
destination namespace first (a task checked like the others); then the tasks are applied wave by wave
(phase, wave, kind order, name), and the first wave with a failure ends the operation. Pruning deletes
tracked objects no longer in the manifests, unless they carry Prune=false.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .kube import ApiError, Cluster, Key, group_of
from .project import destination_permitted, kind_permitted

Obj = dict[str, Any]
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"

# gitops-engine sync_tasks.go kindOrder (the start of it; unknown kinds sort after all of these)
KIND_ORDER = ["Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
              "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
              "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
              "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
              "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
              "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
              "APIService"]


def options(obj: Obj) -> set[str]:
    raw = obj.get("metadata", {}).get("annotations", {}).get(SYNC_OPTIONS, "")
    return {o.strip() for o in raw.split(",") if o.strip()}


def wave(obj: Obj) -> int:
    try:
        return int(obj.get("metadata", {}).get("annotations", {}).get(SYNC_WAVE, "0"))
    except ValueError:
        return 0


def _order(obj: Obj) -> tuple[int, int, str]:
    kind = obj["kind"]
    kind_rank = KIND_ORDER.index(kind) - len(KIND_ORDER) if kind in KIND_ORDER else 0
    return wave(obj), kind_rank, obj["metadata"]["name"]


def placed(cluster: Cluster, obj: Obj, dest_ns: str) -> Obj:
    """The object as the sync applies it: a namespaced object without a namespace goes to the destination's
    (a new object then; the cluster stores copies). Raises ApiError for a kind the cluster does not serve (the
    dry run's answer)."""
    if cluster.namespaced(group_of(obj), obj["kind"]) and not obj["metadata"].get("namespace"):
        return {**obj, "metadata": {**obj["metadata"], "namespace": dest_ns}}
    return obj


@dataclass
class Result:
    ok: bool
    message: str
    applied: list[Key] = field(default_factory=list)
    pruned: list[Key] = field(default_factory=list)


def run(cluster: Cluster, app: Obj, project: Obj, manifests: list[Obj], *, prune: bool) -> Result:
    """The sync loop: validate every task (nothing is applied if one is invalid), CreateNamespace, the waves,
    then pruning."""
    name, spec = app["metadata"]["name"], app["spec"]
    server, dest_ns = spec["destination"]["server"], spec["destination"].get("namespace", "")
    tasks, problems = _tasks(cluster, manifests, dest_ns)
    namespace_task = _namespace_task(cluster, spec.get("syncPolicy") or {}, server, dest_ns, tasks)
    if namespace_task is not None:
        problems += _permission(cluster, project, server, namespace_task)
        if not problems:
            _create_namespace(cluster, server, namespace_task)
    for obj in tasks:
        problems += _permission(cluster, project, server, obj)
    if problems:
        return Result(False, f"{name}: one or more synchronization tasks are not valid: " + "; ".join(problems))
    result = Result(True, "successfully synced")
    failed = _apply_waves(cluster, server, name, tasks, result)
    if failed is not None:
        return failed
    if prune:
        _prune(cluster, name, {cluster.key(server, t) for t in tasks}, result)
    return result


def _tasks(cluster: Cluster, manifests: list[Obj], dest_ns: str) -> tuple[list[Obj], list[str]]:
    """The objects as the sync applies them, and the kinds the cluster does not serve."""
    tasks: list[Obj] = []
    problems: list[str] = []
    for obj in manifests:
        try:
            tasks.append(placed(cluster, obj, dest_ns))
        except ApiError as exc:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {exc}")
    return tasks, problems


def _namespace_task(cluster: Cluster, policy: Obj, server: str, dest_ns: str, tasks: list[Obj]) -> Obj | None:
    """CreateNamespace=true: the destination namespace, when the manifests do not hold it and it is missing
    or managedNamespaceMetadata has labels to put on it."""
    if "CreateNamespace=true" not in set(policy.get("syncOptions") or []) or not dest_ns:
        return None
    if any(t["kind"] == "Namespace" and t["metadata"]["name"] == dest_ns for t in tasks):
        return None
    if cluster.namespace_exists(server, dest_ns) and "managedNamespaceMetadata" not in policy:
        return None
    managed = policy.get("managedNamespaceMetadata") or {}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": dest_ns, "labels": dict(managed.get("labels") or {}),
                         "annotations": dict(managed.get("annotations") or {})}}


def _create_namespace(cluster: Cluster, server: str, namespace_task: Obj) -> None:
    live = cluster.get(cluster.key(server, namespace_task))
    if live is not None:
        # managedNamespaceMetadata is merged into a namespace that exists; the rest of it stays
        merged = copy.deepcopy(live.obj)
        for part in ("labels", "annotations"):
            merged["metadata"].setdefault(part, {}).update(namespace_task["metadata"][part])
        cluster.apply(server, merged)
    else:
        # sync_context.go: created before the dry run, outside the waves; it is never tracked
        cluster.apply(server, namespace_task)


def _apply_waves(cluster: Cluster, server: str, name: str, tasks: list[Obj], result: Result) -> Result | None:
    """Wave by wave, in order; the first wave with a failure ends the operation (its Result)."""
    for current in sorted({wave(t) for t in tasks}):
        failed = []
        for obj in sorted((t for t in tasks if wave(t) == current), key=_order):
            try:
                result.applied.append(cluster.apply(server, obj, tracked_by=name))
            except ApiError as exc:
                meta = obj["metadata"]
                failed.append(f"{obj['kind']} {meta.get('namespace', '')}/{meta['name']}: {exc}")
        if failed:
            return Result(False, f"{name}: one or more objects failed to apply (wave {current}): "
                                 + "; ".join(failed), result.applied)
    return None


def _prune(cluster: Cluster, name: str, desired: set[Key], result: Result) -> None:
    """Tracked objects no longer in the manifests go, unless they carry Prune=false."""
    for key, live in cluster.find():
        if live.tracked_by == name and key not in desired and not live.deleting \
                and "Prune=false" not in options(live.obj):
            cluster.delete(key)
            result.pruned.append(key)


def _permission(cluster: Cluster, project: Obj, server: str, obj: Obj) -> list[str]:
    group, kind, meta = group_of(obj), obj["kind"], obj["metadata"]
    namespaced = cluster.namespaced(group, kind)
    what = f"{kind} {meta.get('namespace', '') + '/' if namespaced else ''}{meta['name']}"
    project_name = project["metadata"]["name"]
    if not kind_permitted(project, group, kind, meta["name"], namespaced):
        return [f"{what}: resource {group}:{kind} is not permitted in project {project_name}"]
    if namespaced and not destination_permitted(project, server, meta["namespace"]):
        return [f"{what}: namespace {meta['namespace']} is not permitted in project '{project_name}'"]
    return []
