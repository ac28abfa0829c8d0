"""The External Secrets Operator: each ExternalSecret's Ready condition, and the Secret it makes.

The platform's store is a set of remote keys (with every property asked of them), or not there at all (ESO not
running, or its ClusterSecretStore not ready): an ExternalSecret then has no status, which Argo CD shows as
Progressing. A key the store does not hold makes it Ready=False (Degraded). Generators always answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mip_cmp.core.vocabulary import Obj

from .kube import Cluster, Key


@dataclass
class Store:
    running: bool = True
    missing: set[str] = field(default_factory=set)  # remote keys the store answers "not found" for


def _remote_keys(spec: Obj) -> list[str]:
    return [d["remoteRef"]["key"] for d in spec.get("data", []) if "remoteRef" in d]


def reconcile(cluster: Cluster, store: Store) -> None:
    if not store.running:
        return
    for key, live in cluster.find(kind="ExternalSecret"):
        if live.deleting:
            continue
        missing = [k for k in _remote_keys(live.obj["spec"]) if k in store.missing]
        if missing:
            condition = {"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                         "message": f"could not get secret data from provider: key {missing[0]!r} not found"}
        else:
            condition = {"type": "Ready", "status": "True", "reason": "SecretSynced",
                         "message": "secret synced"}
            _make_secret(cluster, key, live.obj)
        cluster.set_status(key, {"conditions": [condition]})


def _make_secret(cluster: Cluster, key: Key, obj: Obj) -> None:
    server, _, _, namespace, name = key
    target = obj["spec"].get("target", {})
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": target.get("name", name), "namespace": namespace}}
    # creationPolicy Owner: the Secret is garbage-collected with its ExternalSecret; Orphan: it stays.
    owned = target.get("creationPolicy", "Owner") == "Owner"
    if cluster.get(cluster.key(server, secret)) is None:
        cluster.apply(server, secret, owner=key if owned else None)
