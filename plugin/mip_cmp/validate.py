"""The `validate` command's checker: every mip.yaml of a repository, and every app rendered as Argo CD does."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from . import compat, meter
from .buildenv import DEFAULT_REVISION, BuildEnv
from .contract.params import NETWORK_COMPONENT, OBJECTS_COMPONENT, SECRETS_COMPONENT, common_network_binding
from .crosscheck import directory_name_warnings
from .errors import MipError, Problem
from .expand.federation import federation_besides, federation_secrets
from .loading import (
    LoadedFederation,
    LoadedPlatform,
    federation_dirs,
    load_federation,
    load_federations,
    load_platform,
    roots_text,
    unreadable_directories,
)
from .names import FILE_NAME, NETWORK_APP, OBJECTS_APP, ROOT_APPLICATION, SECRETS_APP
from .network import closed_apps
from .pipeline import render_objects
from .repo import Repo


def validate_repo(root: Path) -> tuple[list[Problem], int]:
    """Check every mip.yaml of a repository and render each app; returns (problems, files checked)."""
    repo = Repo(root, remember=True)  # every app is rendered: each federation file is checked once
    try:
        platform = load_platform(repo)
    except MipError as exc:
        return list(exc.problems), 1
    directories = federation_dirs(repo, platform.model)
    unreadable = unreadable_directories(repo, platform.model)
    problems: list[Problem] = _stray_files(repo, {".", *directories}, platform.model.federations.roots())
    # Every app exactly as Argo CD renders it: the root (which fails only on what it cannot read at all, such
    # as a directory without a mip.yaml), and each federation from the root, bound by the ApplicationSet's
    # parameters, which shows that federation's own problems; its other components where it has them.
    root = _render(repo, BuildEnv(), platform)
    problems += root
    for directory in directories:
        try:
            fed = load_federation(repo, directory)
        except MipError as exc:
            problems += _not_said(exc.problems, root)
            continue
        bound = {"federation": fed.model.name, "directory": fed.directory}
        own = _render(repo, BuildEnv(params=bound), platform)
        for component in _components(platform, fed):
            own = own or _render(repo, BuildEnv(params={**bound, "component": component}), platform)
        problems += _not_said(own, root)
    return sorted(set(problems)), 1 + len(directories) + len(unreadable)


def _not_said(problems: Iterable[Problem], root: list[Problem]) -> list[Problem]:
    """A federation's own problems but those the root has said already: of a file whose identity it cannot
    read, the root reports each mistake once, the first with what it costs the root (loading.py), and the
    federation's own render then finds the same mistakes. One mistake, one problem."""
    said = {(p.file, p.line, p.col, p.path): p.message for p in root}
    return [p for p in problems if not said.get((p.file, p.line, p.col, p.path), "\0").startswith(p.message)]


APP_OF = {SECRETS_COMPONENT: SECRETS_APP, OBJECTS_COMPONENT: OBJECTS_APP}


def _components(platform: LoadedPlatform, fed: LoadedFederation) -> list[str]:
    """A federation's components besides its Applications: secrets where its apps need one, objects where
    they need some beside their charts (else there is no such Application)."""
    components = [SECRETS_COMPONENT] if federation_secrets(platform.model, fed.model) else []
    if fed.model.state == "active" and federation_besides(platform.model, fed.model):
        components.append(OBJECTS_COMPONENT)
    return components


def _render(repo: Repo, env: BuildEnv, platform: LoadedPlatform) -> list[Problem]:
    try:
        with meter.metered():  # each app within the budgets Argo CD's renders have
            render_objects(repo, ".", env, platform)
    except MipError as exc:
        return list(exc.problems)
    return []


def notes(root: Path) -> list[str]:
    """What a valid repository could still gain: the fields a newer Argo CD than the declared one adds, and
    federation directories named otherwise than their federation."""
    repo = Repo(root)
    platform = load_platform(repo)
    named = [str(w) for fed in load_federations(repo, platform)
             for w in directory_name_warnings(fed.model, fed.doc, fed.directory)]
    return [*named, *compat.newer_would_add(platform.model.argocd.version)]


def app_renders(platform: LoadedPlatform, federations: list[LoadedFederation],
                revision: str = DEFAULT_REVISION) -> list[tuple[str, BuildEnv]]:
    """Every app exactly as Argo CD renders it, with the name of the Application that renders it: the root,
    and each federation from the root, bound by the ApplicationSet's parameters; its secrets and objects
    components only where its apps need a secret or an object beside their charts (else there is no such
    Application). `validate`, `diff` and `graph` use
    this one list."""
    renders = [(ROOT_APPLICATION, BuildEnv(target_revision=revision))]
    for fed in federations:
        bound = {"federation": fed.model.name, "directory": fed.directory}
        renders.append((fed.model.name, BuildEnv(target_revision=revision, params=bound)))
        renders += [(f"{fed.model.name}-{APP_OF[component]}",
                     BuildEnv(target_revision=revision, params={**bound, "component": component}))
                    for component in _components(platform, fed)]
        if platform.model.network.enabled:
            renders.append((f"{fed.model.name}-{NETWORK_APP}",
                            BuildEnv(target_revision=revision, params={**bound, "component": NETWORK_COMPONENT})))
    if platform.model.network.enabled:
        renders += [(f"{name}-{NETWORK_APP}", BuildEnv(target_revision=revision, params={
            item["name"]: item["string"] for item in common_network_binding(name)}))
            for name in closed_apps(platform.model)]
    return renders


def _stray_files(repo: Repo, expected: set[str], roots: list[str]) -> list[Problem]:
    """mip.yaml files the platform does not know (no Application renders them): most likely a misplaced
    federation directory."""
    base = PurePosixPath(".")
    stray = []
    for path in sorted(repo.root.rglob(FILE_NAME)):
        rel = path.parent.relative_to(repo.root)
        if rel.parts and rel.parts[0].startswith("."):
            continue  # .git and friends
        rel_dir = (base / rel).as_posix()
        if rel_dir not in expected:
            stray.append(Problem(f"{rel_dir}/{FILE_NAME}", 0, 0, "",
                                 f"not part of the platform: federation directories live directly under "
                                 f"{roots_text(roots)} (federations.path); move it there or delete it"))
    return stray
