"""One sync operation of one Application (gitops-engine pkg/sync/sync_context.go, as Argo CD configures it).

Started: every task's kind must be served and permitted by the project, and every namespaced object's namespace
must be a permitted destination, or nothing at all is applied; CreateNamespace creates the destination
namespace first (a task checked like the others). Then, one step per wave (phase, wave, kind order, name), as
the application controller calls gitops-engine again and again: a step first waits while an object it applied
in an earlier wave is not healthy yet (health.py: Progressing waits, Degraded fails the operation) and while an
object it pruned still exists (a finalizer holds it); only then does it prune and apply the next wave. The
last wave is not waited on: the operation has succeeded once it is applied. Prune tasks sit in the wave of
the object they delete, the prune waves mirrored (the last created goes first), PruneLast ones after every
wave; Prune=false ones delete nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from mip_cmp.core.vocabulary import Obj

from . import health
from .kube import ApiError, Cluster, Key, group_of
from .project import destination_permitted, kind_permitted

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
class Task:
    key: Key
    obj: Obj | None  # what to apply; None: a prune of the live object at `key`
    wave: int
    kind_rank: tuple[int, str]
    state: str = "pending"  # pending | running (applied, health awaited) | done | failed
    message: str = ""


@dataclass
class Operation:
    """A sync operation in progress: `phase` Running until it has Succeeded or Failed."""

    app: str
    server: str
    tasks: list[Task]
    phase: str = "Running"
    message: str = ""
    applied: list[Key] = field(default_factory=list)
    pruned: list[Key] = field(default_factory=list)

    def step(self, cluster: Cluster) -> bool:
        """One call of gitops-engine's Sync(): wait, or run the next wave. Whether it ran a wave."""
        if self.phase != "Running":
            return False
        multi_step = len({t.wave for t in self.tasks}) > 1
        for task in self.tasks:
            if task.state == "running":
                _assess(cluster, task)
        waiting = [t for t in self.tasks if t.state == "running"] if multi_step else []
        if waiting:
            return self._wait("healthy state of", waiting)
        gone = [t for t in self.tasks if t.obj is None and t.state == "done" and t.key in self.pruned
                and cluster.get(t.key) is not None]
        if gone:
            return self._wait("deletion of", gone)
        failed = [t for t in self.tasks if t.state == "failed"]
        if failed:
            self._end("Failed", f"{self.app}: one or more synchronization tasks completed unsuccessfully: "
                      + "; ".join(t.message for t in failed))
            return False
        pending = [t for t in self.tasks if t.state == "pending"]
        if not pending:
            self._end("Succeeded", "successfully synced (no more tasks)")
            return False
        current = min(t.wave for t in pending)
        problems = self._run([t for t in pending if t.wave == current], cluster, multi_step)
        if problems:
            self._end("Failed", f"{self.app}: one or more objects failed to apply (wave {current}): "
                      + "; ".join(problems))
        elif all(t.state != "pending" for t in self.tasks):
            self._end("Succeeded", "successfully synced (all tasks run)")
        return True

    def _run(self, wave: list[Task], cluster: Cluster, multi_step: bool) -> list[str]:
        """Prunes first, then applies; what failed to apply."""
        problems = []
        for task in sorted(wave, key=lambda t: (t.obj is not None, t.kind_rank)):
            if task.obj is None:
                live = cluster.get(task.key)
                if live is not None and not live.deleting and task.message != SKIPPED:
                    cluster.delete(task.key)
                    self.pruned.append(task.key)
                task.state = "done"
                continue
            try:
                self.applied.append(cluster.apply(self.server, task.obj, tracked_by=self.app))
                task.state = "running" if multi_step else "done"
            except ApiError as exc:
                meta = task.obj["metadata"]
                problems.append(f"{task.obj['kind']} {meta.get('namespace', '')}/{meta['name']}: {exc}")
                task.state = "failed"
        return problems

    def _wait(self, what: str, tasks: list[Task]) -> bool:
        first = tasks[0].key
        more = f" and {len(tasks) - 1} more" if len(tasks) > 1 else ""
        self.message = f"waiting for {what} {first[1]}/{first[2]}/{first[4]}{more}"
        return False

    def _end(self, phase: str, message: str) -> None:
        self.phase, self.message = phase, message


SKIPPED = "ignored (no prune)"


def _assess(cluster: Cluster, task: Task) -> None:
    live = cluster.get(task.key)
    if live is None:
        return
    assessed = health.of(live)
    if assessed is None or assessed[0] == health.HEALTHY:
        task.state = "done"
    elif assessed[0] == health.DEGRADED:
        task.state, task.message = "failed", f"{task.key[2]} {task.key[4]}: {assessed[1]}"


def start(cluster: Cluster, app: Obj, project: Obj, manifests: list[Obj], *, prune: bool) -> Operation:
    """A new operation: validate every task (nothing is applied if one is invalid) and CreateNamespace; a
    failed validation is an operation that has already Failed."""
    name, spec = app["metadata"]["name"], app["spec"]
    server, dest_ns = spec["destination"]["server"], spec["destination"].get("namespace", "")
    objects, problems = _tasks(cluster, manifests, dest_ns)
    namespace_task = _namespace_task(cluster, spec.get("syncPolicy") or {}, server, dest_ns, objects)
    if namespace_task is not None:
        problems += _permission(cluster, project, server, namespace_task)
        if not problems:
            _create_namespace(cluster, server, namespace_task)
    for obj in objects:
        problems += _permission(cluster, project, server, obj)
    tasks = [Task(cluster.key(server, o), o, wave(o), _order(o)[1:]) for o in objects]
    tasks += _prune_tasks(cluster, name, {t.key for t in tasks}, prune, max([0, *(t.wave for t in tasks)]))
    operation = Operation(name, server, tasks)
    if problems:
        operation._end("Failed", f"{name}: one or more synchronization tasks are not valid: " + "; ".join(problems))
    return operation


def _prune_tasks(cluster: Cluster, name: str, desired: set[Key], prune: bool, last_apply: int) -> list[Task]:
    """Tracked objects no longer in the manifests, in gitops-engine's prune order (`last_apply`: the last wave
    that applies something)."""
    tasks = []
    for key, live in cluster.find():
        if live.tracked_by == name and key not in desired and not live.deleting:
            skip = not prune or "Prune=false" in options(live.obj)
            tasks.append(Task(key, None, wave(live.obj), _order(live.obj)[1:], message=SKIPPED if skip else ""))
    # the prune waves mirrored: what was created last is deleted first
    waves = sorted({t.wave for t in tasks})
    mirrored = dict(zip(waves, reversed(waves), strict=True))
    for task in tasks:
        task.wave = mirrored[task.wave]
    last = max([last_apply, *(t.wave for t in tasks)]) + 1
    for task in tasks:
        pruned = cluster.get(task.key)
        if pruned is not None and "PruneLast=true" in options(pruned.obj):
            task.wave = last
    return tasks


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
