"""The whole platform rendered exactly as Argo CD renders it: every app of `validate`'s list of renders,
with its objects, keyed so that two snapshots can be compared object by object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import MipError, Problem
from ..core.vocabulary import Obj
from ..pipeline import render_app
from ..stage1_read.buildenv import DEFAULT_REVISION
from ..stage1_read.repo import Repo
from ..stage2_check.loading import LoadedFederation, LoadedPlatform, load_federations, load_platform
from .renders import app_renders

# (API group, kind, namespace, name): how Kubernetes tells one object from another.
Key = tuple[str, str, str, str]


def key_of(obj: Obj) -> Key:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return group, str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))


def describe(key: Key) -> str:
    group, kind, namespace, name = key
    kind = f"{kind}.{group}" if group else kind
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


@dataclass(frozen=True)
class Rendered:
    """One object and the Argo CD Application whose render produced it."""

    app: str
    obj: Obj


@dataclass(frozen=True)
class Snapshot:
    platform: LoadedPlatform
    federations: list[LoadedFederation]
    objects: dict[Key, Rendered]


def take(root: Path, revision: str = DEFAULT_REVISION) -> Snapshot:
    """Render every app of the platform at `root`; every problem of every app is reported together."""
    repo = Repo(root, remember=True)  # each mip.yaml parsed once, although every render reads the root's
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    objects: dict[Key, Rendered] = {}
    problems: list[Problem] = []
    for app, env in app_renders(platform, federations, revision):
        try:
            rendered = render_app(repo, env, platform)
        except MipError as exc:
            problems += exc.problems
            continue
        for obj in rendered:
            objects.setdefault(key_of(obj), Rendered(app, obj))
    if problems:
        raise MipError(sorted(set(problems)))
    return Snapshot(platform, federations, objects)
