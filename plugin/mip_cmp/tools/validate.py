"""The `validate` command's checker: every mip.yaml of a repository, and every app rendered as Argo CD does."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..core import compat, meter
from ..core.errors import MipError, Problem
from ..core.names import FILE_NAME
from ..pipeline import render_app, render_objects
from ..stage1_read.buildenv import BuildEnv
from ..stage1_read.repo import Repo
from ..stage2_check.crosscheck import directory_name_warnings
from ..stage2_check.loading import (
    LoadedFederation,
    LoadedPlatform,
    federation_dirs,
    load_federation,
    load_federations,
    load_platform,
    roots_text,
    unreadable_directories,
)
from .renders import app_renders


def validate_repo(root: Path) -> tuple[list[Problem], int]:
    """Check every mip.yaml of a repository and render each app; returns (problems, files checked)."""
    repo = Repo(root, remember=True)  # every app is rendered: each federation file is checked once
    # The root first, from an empty cache and within one budget, as Argo CD renders it: the platform's file and
    # every federation's are parsed and counted there. Each later render (and each federation's loading) counts
    # what it uses as Argo CD's process for it would, although each file is parsed once (Repo.new_render).
    platform: LoadedPlatform | None = None
    try:
        with meter.metered():
            platform = load_platform(repo)
            render_objects(repo, ".", _root_env(platform), platform)
        said: list[Problem] = []
    except MipError as exc:
        if platform is None:
            return list(exc.problems), 1
        said = list(exc.problems)
    directories = federation_dirs(repo, platform.model)
    unreadable = unreadable_directories(repo, platform.model)
    problems: list[Problem] = _stray_files(repo, {".", *directories}, platform.model.federations.roots())
    federations: list[LoadedFederation] = []
    own: list[Problem] = []
    for directory in directories:
        try:
            repo.new_render(FILE_NAME)  # its loading is part of its render: its files, the platform's
            federations.append(load_federation(repo, directory))
        except MipError as exc:
            own += exc.problems  # its own problems; its apps are not rendered (Argo CD's would fail so)
    # Every app exactly as Argo CD renders it (app_renders): the root (above), which fails only on what it cannot
    # read at all, such as a directory without a mip.yaml, then each federation's Applications, which show that
    # federation's own problems. A problem several renders share is said once.
    _, *renders = app_renders(platform, federations)
    for _, env in renders:
        own += _render(repo, env, platform)
    return sorted({*problems, *said, *_not_said(own, said)}), 1 + len(directories) + len(unreadable)


def _not_said(problems: list[Problem], by_root: list[Problem]) -> list[Problem]:
    """Federations' own problems but those the root has said already: of a file whose identity it cannot
    read, the root reports each mistake once, the first with what it costs the root (loading.py), and that
    federation's own reading then finds the same mistakes. One mistake, one problem."""
    said = {(p.file, p.line, p.col, p.path): p.message for p in by_root}
    return [p for p in problems if not said.get((p.file, p.line, p.col, p.path), "\0").startswith(p.message)]


def _root_env(platform: LoadedPlatform) -> BuildEnv:
    """The root's render, the first of app_renders' list (it needs no federation)."""
    (_, env), *_ = app_renders(platform, [])
    return env


def _render(repo: Repo, env: BuildEnv, platform: LoadedPlatform) -> list[Problem]:
    try:
        with meter.metered():  # each app within the budgets Argo CD's renders have
            render_app(repo, env, platform)
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
