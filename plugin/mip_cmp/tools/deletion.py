"""What Argo CD does with an object that leaves the platform's render: its deletion semantics, in one place.

`diff` says with it what a change does to workloads and data; docs/operations.md's table is checked against
it (tests/test_operations_doc.py), and what argosim carries out against both (tests/test_lifecycle.py).

An object leaves a render in one of two ways. The Application that rendered it still exists: it prunes the
object if its automated sync prunes and the object is not `Prune=false` (else the object stays, shown as
requiring pruning). Or that Application is itself gone: an Application deleted with the resources finalizer
deletes what it deployed first (except `Delete=false`); without the finalizer, or when it is not deleted at all,
what it deployed stays. A federation's wrapper is the ApplicationSet's: its controller deletes it when its
element goes, with the finalizer only when the template carries one and `preserveResourcesOnDeletion` is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.names import ROOT_APPLICATION
from ..core.vocabulary import ARGO_GROUP, DELETE_FALSE, FINALIZER, PRUNE_FALSE, SYNC_OPTIONS, Obj
from .snapshot import Key, Snapshot

# What becomes of the workloads an Application runs, in the words of docs/operations.md's table ("workloads"
# column) and of `diff` ("workloads <fate>").
KEEP_RUNNING = "keep running"
DELETED = "deleted"

APPLICATION = (ARGO_GROUP, "Application")
APPLICATION_SET = (ARGO_GROUP, "ApplicationSet")


@dataclass(frozen=True)
class Fate:
    """What Argo CD does with one object no longer rendered."""

    deleted: bool
    why: str  # who deletes it or why it stays, e.g. "pruned by mip-platform"
    cascade: bool = False  # an Application deleted with what it deployed

    @property
    def workloads(self) -> str:
        """For an Application: what becomes of what it deployed (without the finalizer, what it deployed is
        left as it is: an Application it made goes on managing its own workloads)."""
        return DELETED if self.cascade else KEEP_RUNNING


def options(obj: Obj) -> set[str]:
    """An object's sync options (the annotation, comma-separated)."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS, "")
    return {o.strip() for o in str(text).split(",") if o.strip()}


def _has_finalizer(obj: Obj) -> bool:
    return FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or [])


def _prunes(app: Obj | None) -> bool:
    """Whether an Application's automated sync prunes (the root's always does: `bootstrap` creates it so)."""
    if app is None:
        return True
    return ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated", {}).get("prune") is True


class Deletions:
    """The fate of every object of `old` that `new` no longer renders."""

    def __init__(self, old: Snapshot, new: Snapshot) -> None:
        self.old, self.new = old, new
        self.argocd_namespace = old.platform.model.argocd.namespace
        self._fates: dict[Key, Fate] = {}

    def fate(self, key: Key) -> Fate:
        """What Argo CD does with the object `key` of `old`, which `new` does not render."""
        if key not in self._fates:
            self._fates[key] = self._fate(key)
        return self._fates[key]

    def _application(self, snapshot: Snapshot, name: str) -> Obj | None:
        rendered = snapshot.objects.get((*APPLICATION, self.argocd_namespace, name))
        return rendered.obj if rendered is not None else None

    def _wrapper(self, snapshot: Snapshot, name: str) -> Obj | None:
        """The ApplicationSet whose list generates the wrapper `name`, if any."""
        for rendered in snapshot.objects.values():
            obj = rendered.obj
            if (obj.get("apiVersion", "").rpartition("/")[0], obj.get("kind")) == APPLICATION_SET and \
                    name in elements(obj):
                return obj
        return None

    def _exists(self, snapshot: Snapshot, name: str) -> bool:
        return name == ROOT_APPLICATION or self._application(snapshot, name) is not None or \
            self._wrapper(snapshot, name) is not None

    def _fate(self, key: Key) -> Fate:
        rendered = self.old.objects[key]
        obj, owner = rendered.obj, rendered.app
        if self._exists(self.new, owner):
            if PRUNE_FALSE in options(obj):
                return Fate(False, f"kept, {owner} does not prune it ({PRUNE_FALSE})")
            if not _prunes(self._owner(owner)):
                return Fate(False, f"kept, {owner} does not prune")
            return Fate(True, f"pruned by {owner}", key[:2] == APPLICATION and _has_finalizer(obj))
        owner_fate = self._owner_fate(owner)
        if not owner_fate.cascade:
            how = "deleted without what it deployed" if owner_fate.deleted else "kept"
            return Fate(False, f"kept, {owner} is {how}")
        if DELETE_FALSE in options(obj):
            return Fate(False, f"kept ({DELETE_FALSE}) when {owner} is deleted")
        return Fate(True, f"deleted with {owner}", key[:2] == APPLICATION and _has_finalizer(obj))

    def _owner(self, name: str) -> Obj | None:
        """The Application `name` as Argo CD holds it (a wrapper: its ApplicationSet's template); None: the root."""
        app = self._application(self.old, name)
        if app is not None:
            return app
        appset = self._wrapper(self.old, name)
        return appset["spec"]["template"] if appset is not None else None

    def _owner_fate(self, name: str) -> Fate:
        key = (*APPLICATION, self.argocd_namespace, name)
        if key in self.old.objects:
            return self.fate(key)
        appset = self._wrapper(self.old, name)
        assert appset is not None, f"no Application renders {name}"
        return wrapper_fate(appset)


def wrapper_fate(appset: Obj) -> Fate:
    """A wrapper whose element left the ApplicationSet: its controller deletes it, with what it deployed only
    when the template carries the resources finalizer and resources are not preserved."""
    spec = appset.get("spec") or {}
    preserve = (spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion") is True
    cascade = _has_finalizer(spec.get("template") or {}) and not preserve
    how = "with what they deployed" if cascade else "without what they deployed (preserveResourcesOnDeletion)"
    return Fate(True, f"ApplicationSet {appset['metadata']['name']} deletes them {how}", cascade)


def elements(appset: Obj) -> set[str]:
    """The names an ApplicationSet's list generators give (one wrapper each)."""
    names: set[str] = set()
    for generator in (appset.get("spec") or {}).get("generators", []):
        for element in (generator.get("list") or {}).get("elements", []):
            names.add(str(element.get("name", element)))
    return names


def workload_fates(old: Snapshot, new: Snapshot) -> dict[str, str]:
    """Application name -> what becomes of its workloads (KEEP_RUNNING or DELETED), for every Application of
    `old` that `new` no longer renders."""
    deletions = Deletions(old, new)
    return {key[3]: deletions.fate(key).workloads for key in old.objects.keys() - new.objects.keys()
            if key[:2] == APPLICATION}
