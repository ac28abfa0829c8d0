"""External Secrets: one Secret from its ExternalSecret, and the Password generator when it holds generated
keys."""

from __future__ import annotations

from typing import Any

from ..core.vocabulary import ESO_API, GENERATORS_API, SYNC_WAVE, Obj
from ..model.secrets import Secret
from ..stage1_read.templating import render_tree
from ..stage2_check.loading import LoadedPlatform
from .argocd import KEEP_ON_DELETE_ANNOTATION, meta

# In a secrets Application, the password generators come one wave before the ExternalSecrets that read them.
GENERATOR_WAVE = "-1"


def secret_objects(lp: LoadedPlatform, names: list[str], namespace: str, labels: dict[str, str],
                   context: dict[str, Any]) -> list[Obj]:
    """`context`: what a templated store key may use."""
    objects: list[Obj] = []
    for name in names:
        objects += _secret(lp, name, lp.model.secrets[name], namespace, labels, context)
    return objects


def _secret(lp: LoadedPlatform, name: str, secret: Secret, namespace: str, labels: dict[str, str],
            context: dict[str, Any]) -> list[Obj]:
    """One Secret, from its ExternalSecret (and Password generator when it holds generated keys)."""
    p = lp.model
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
            "apiVersion": ESO_API,
            "kind": "ExternalSecret",
            "metadata": meta(name, namespace, labels),
            "spec": {"refreshInterval": secret.fromStore.refreshInterval, "secretStoreRef": store_ref,
                     "target": target, "data": data},
        }]
    generator = {
        "apiVersion": GENERATORS_API,
        "kind": "Password",
        "metadata": meta(name, namespace, labels, {SYNC_WAVE: GENERATOR_WAVE, **KEEP_ON_DELETE_ANNOTATION}),
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
        "apiVersion": ESO_API,
        "kind": "ExternalSecret",
        "metadata": meta(name, namespace, labels, KEEP_ON_DELETE_ANNOTATION),
        "spec": spec,
    }
    return [generator, external]
