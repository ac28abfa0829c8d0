"""Sync behaviour carried over: what Argo CD does on its own with each Application (automated sync, prune,
self-heal) and when it may (sync windows), kept as the old repository had it unless the operator adopts
mip-cmp's defaults; every difference left is a behaviour change in the report."""

from __future__ import annotations

from collections import Counter

from ...core.vocabulary import Obj
from ...model.application import SyncPolicy
from ..mipinfra import Found
from .report import BEHAVIOUR, Attention

DEFAULT_PRUNE: bool = SyncPolicy.model_fields["prune"].default
ALWAYS = "* * * * *"  # a window that opens every minute and lasts a day is always open


def automated(obj: Obj) -> Obj | None:
    """The `automated` block of an Application (None: synced by hand only)."""
    policy = (obj.get("spec") or {}).get("syncPolicy") or {}
    value = policy.get("automated")
    return dict(value) if isinstance(value, dict) else None


def prunes(obj: Obj) -> bool:
    return bool((automated(obj) or {}).get("prune", False))


def platform_prune(workloads: list[Found], adopt_defaults: bool) -> bool:
    """The platform's `syncPolicy.prune`: what most of the old workload Applications did (mip-infra's never
    prune), or mip-cmp's default when the operator adopts it."""
    if adopt_defaults or not workloads:
        return DEFAULT_PRUNE
    return Counter(prunes(f.obj) for f in workloads).most_common(1)[0][0]


def _mode(obj: Obj) -> str:
    auto = automated(obj)
    if auto is None:
        return "synced by hand"
    parts = ["automated", "prune" if auto.get("prune") else "no prune",
             "self-heal" if auto.get("selfHeal") else "no self-heal"]
    return ", ".join(parts)


def kept_fact(old: Found, new: Obj) -> str:
    """The report's line for a workload Application: its sync behaviour, kept or not (the change itself is
    also a behaviour change to attend to, application_changes)."""
    before, after = _mode(old.obj), _mode(new)
    return f"sync ({before}): same" if before == after else f"sync: {before} -> {after}: CHANGED"


def application_changes(old: Found, new: Obj) -> list[Attention]:
    """How Argo CD treats the counterpart differently from the old Application."""
    before, after = _mode(old.obj), _mode(new)
    if before == after:
        return []
    name = str((new.get("metadata") or {}).get("name"))
    return [Attention(BEHAVIOUR, f"Application {old.name}",
                      f"was {before}; its counterpart {name} is {after}")]


def _open_always(window: Obj) -> bool:
    return (window.get("kind") == "allow" and window.get("schedule") == ALWAYS
            and str(window.get("duration")) in ("24h", "1440m") and "*" in (window.get("applications") or []))


def window_changes(old: Found, new: Obj | None) -> list[Attention]:
    """Sync windows the old project had that its counterpart lacks. An allow window open every minute for a
    day, for every app, is no restriction: a project without windows behaves the same."""
    kept = list(((new or {}).get("spec") or {}).get("syncWindows") or [])
    lost = [w for w in ((old.obj.get("spec") or {}).get("syncWindows") or [])
            if w not in kept and not _open_always(w)]
    return [Attention(BEHAVIOUR, f"AppProject {old.name}",
                      f"sync window {w.get('kind')} {w.get('schedule')!r} for {w.get('duration')} is not carried "
                      "over (mip-cmp projects have none): syncs are no longer held to it") for w in lost]
