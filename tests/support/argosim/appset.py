"""The ApplicationSet controller: each ApplicationSet's generated Applications created, updated, deleted.

Generation is cmpserver.expand_appset (list generator, goTemplate, and the resources finalizer that the
controller adds unless `preserveResourcesOnDeletion`). The generated Applications are owned by their
ApplicationSet: an element that disappears deletes its Application (the default `sync` policy), and an
Application's own finalizers then decide whether its resources go too.
"""

from __future__ import annotations

from cmpserver import expand_appset

from .kube import Cluster


def reconcile(cluster: Cluster) -> None:
    for key, live in cluster.find(kind="ApplicationSet"):
        if live.deleting:
            continue
        generated = expand_appset(live.obj)
        wanted = set()
        for app in generated:
            wanted.add(cluster.apply(key[0], app, owner=key))
        for app_key, app_live in cluster.find(server=key[0], kind="Application"):
            if app_live.owner == key and app_key not in wanted:
                cluster.delete(app_key)
        # what its health check waits for (health.py)
        cluster.set_status(key, {"conditions": [{"type": "ResourcesUpToDate", "status": "True",
                                                 "message": "All applications have been generated successfully"}]})
