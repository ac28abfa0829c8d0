"""The Kubernetes side: API servers that serve built-in kinds and installed CRDs, and the few controllers
whose effects decide what survives a deletion (namespace cleanup, StatefulSet volumes; ESO is eso.py).

Only what Argo CD can observe is imitated: scope, "namespace not found", unknown kinds, the pruning of fields
a CRD's schema does not know (so an older Argo CD's CRDs silently drop newer fields), garbage collection of
owned objects, and finalizers (an object that has one is only marked deleting until its controller is done).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mip_cmp.core.vocabulary import Obj

# (server, group, kind, namespace, name); namespace "" for cluster-scoped objects
Key = tuple[str, str, str, str, str]

# Built-in kinds the platform and the charts' stand-ins use: (group, kind) -> namespaced.
BUILTIN_KINDS: dict[tuple[str, str], bool] = {
    ("", "Namespace"): False, ("", "Secret"): True, ("", "ConfigMap"): True, ("", "Service"): True,
    ("", "PersistentVolumeClaim"): True, ("", "ServiceAccount"): True, ("apps", "StatefulSet"): True,
    ("apps", "Deployment"): True, ("networking.k8s.io", "NetworkPolicy"): True,
    ("networking.k8s.io", "Ingress"): True, ("rbac.authorization.k8s.io", "Role"): True,
    ("rbac.authorization.k8s.io", "RoleBinding"): True, ("batch", "Job"): True,
}
FINALIZER = "resources-finalizer.argocd.argoproj.io"


class ApiError(Exception):
    """What the API server answers instead of doing it; str() is its message as Argo CD shows it."""


def group_of(obj: Obj) -> str:
    api = str(obj.get("apiVersion", ""))
    return api.rpartition("/")[0]


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    namespaced: bool
    schema: Obj  # openAPIV3Schema of the storage version


@functools.cache
def load_crds(directory: Path) -> list[Crd]:
    crds = []
    for path in sorted(directory.glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
        crds.append(Crd(crd["spec"]["group"], crd["spec"]["names"]["kind"], crd["spec"]["scope"] == "Namespaced",
                        version["schema"]["openAPIV3Schema"]))
    return crds


def prune_unknown(value: Any, schema: Obj) -> Any:
    """Structural pruning: fields the schema does not declare are dropped, as the API server does."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict):
        if "properties" in schema:
            props = schema["properties"]
            return {k: prune_unknown(v, props[k]) for k, v in value.items() if k in props}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {k: prune_unknown(v, extra) for k, v in value.items()}
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune_unknown(v, schema["items"]) for v in value]
    return value


@dataclass
class Live:
    obj: Obj
    tracked_by: str | None = None  # the Argo CD Application whose manifests hold it (its tracking label)
    owner: Key | None = None  # an ownerReference: garbage-collected with that object
    deleting: bool = False  # deletionTimestamp set; waits for its finalizers (Applications, AppProjects)
    status: Obj = field(default_factory=dict)  # what a controller reports (health reads it); reset on change


@dataclass
class Cluster:
    """Every API server Argo CD deploys to, by server URL, each with the same CRDs installed."""

    servers: list[str]
    crds: list[Crd]
    objects: dict[Key, Live] = field(default_factory=dict)
    changes: int = 0  # counts every write: the simulation runs until nothing changes any more

    def _crd(self, group: str, kind: str) -> Crd | None:
        return next((c for c in self.crds if (c.group, c.kind) == (group, kind)), None)

    def namespaced(self, group: str, kind: str) -> bool:
        if (group, kind) in BUILTIN_KINDS:
            return BUILTIN_KINDS[(group, kind)]
        crd = self._crd(group, kind)
        if crd is None:
            raise ApiError(f"the server could not find the requested resource (no kind {kind!r} in group "
                           f"{group!r}: is its CRD installed?)")
        return crd.namespaced

    def key(self, server: str, obj: Obj) -> Key:
        group, kind, meta = group_of(obj), obj["kind"], obj["metadata"]
        namespace = meta.get("namespace", "") if self.namespaced(group, kind) else ""
        return server, group, kind, namespace, meta["name"]

    def stored(self, key: Key, obj: Obj, *, share: bool = False) -> Obj:
        """`obj` as the API server keeps it: unknown fields pruned, no namespace on a cluster-scoped object. A
        copy, unless `share` (only to compare: the result may then share parts with `obj`)."""
        crd = self._crd(key[1], key[2])
        value = obj if share else copy.deepcopy(obj)
        stored: Obj = prune_unknown(value, crd.schema) if crd else value
        if key[3] == "" and "namespace" in stored.get("metadata", {}):
            stored = {**stored, "metadata": {k: v for k, v in stored["metadata"].items() if k != "namespace"}}
        return stored

    def get(self, key: Key) -> Live | None:
        return self.objects.get(key)

    def namespace_exists(self, server: str, name: str) -> bool:
        live = self.objects.get((server, "", "Namespace", "", name))
        return live is not None and not live.deleting

    def apply(self, server: str, obj: Obj, *, tracked_by: str | None = None, owner: Key | None = None) -> Key:
        if server not in self.servers:
            raise ApiError(f"there are no clusters with this URL: {server}")
        key = self.key(server, obj)
        if key[3] and not self.namespace_exists(server, key[3]):
            raise ApiError(f'namespaces "{key[3]}" not found')
        stored = self.stored(key, obj)
        old = self.objects.get(key)
        if old is not None and old.deleting:
            raise ApiError(f"{key[2]} {key[4]} is being deleted")
        if old is None or old.obj != stored or old.tracked_by != tracked_by:
            self.objects[key] = Live(stored, tracked_by if tracked_by is not None else (old.tracked_by if old else None),
                                     owner if owner is not None else (old.owner if old else None),
                                     status=old.status if old is not None and old.obj == stored else {})
            self.changes += 1
            self._react(key, stored)
        return key

    def _react(self, key: Key, obj: Obj) -> None:
        """Built-in and operator controllers: what they create from what was applied."""
        server, group, kind, namespace, name = key
        if (group, kind) == ("apps", "StatefulSet"):
            # volumeClaimTemplates: the PVCs belong to nobody and outlive the StatefulSet (retention: Retain)
            for template in obj.get("spec", {}).get("volumeClaimTemplates", []):
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": f"{template['metadata']['name']}-{name}-0", "namespace": namespace}}
                if self.get(self.key(server, pvc)) is None:
                    self.apply(server, pvc)

    def set_status(self, key: Key, status: Obj) -> None:
        """A controller reports on an object (the status subresource: the object itself is unchanged)."""
        live = self.objects[key]
        if live.status != status:
            live.status = status
            self.changes += 1

    def delete(self, key: Key) -> None:
        """DELETE: Applications with finalizers wait for Argo CD; a Namespace takes its contents along."""
        live = self.objects.get(key)
        if live is None or live.deleting:
            return
        if live.obj.get("metadata", {}).get("finalizers"):
            live.deleting = True
            self.changes += 1
            return
        self.remove(key)

    def remove(self, key: Key) -> None:
        """The object is gone (its finalizers, if any, are done); dependents go with it."""
        if self.objects.pop(key, None) is None:
            return
        self.changes += 1
        server, _, kind, _, name = key
        doomed = [k for k, v in self.objects.items()
                  if v.owner == key or (kind == "Namespace" and k[0] == server and k[3] == name)]
        for k in doomed:
            self.delete(k)

    def find(self, *, server: str | None = None, kind: str | None = None,
             namespace: str | None = None) -> list[tuple[Key, Live]]:
        return sorted(((k, v) for k, v in self.objects.items()
                      if (server is None or k[0] == server) and (kind is None or k[2] == kind)
                       and (namespace is None or k[3] == namespace)), key=lambda kv: kv[0])
