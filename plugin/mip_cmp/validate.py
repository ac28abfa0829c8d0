"""The `validate` command's checker: every mip.yaml of a repository, and every app rendered as Argo CD does."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from . import budget
from .buildenv import BuildEnv
from .errors import MipError, Problem
from .expand import federation_secrets
from .loading import load_federations, load_platform
from .pipeline import render_objects
from .repo import FILE_NAME, Repo


def validate_repo(root: Path) -> tuple[list[Problem], int]:
    """Check every mip.yaml of a repository and render each app; returns (problems, files checked)."""
    repo = Repo(root)
    try:
        platform = load_platform(repo)
    except MipError as exc:
        return list(exc.problems), 1
    directories = repo.federation_dirs(platform.model.federations.path)
    try:
        federations = load_federations(repo, platform)
    except MipError as exc:
        return list(exc.problems), 1 + len(directories)
    # Every app exactly as Argo CD renders it: the root, and each federation from the root, bound by the
    # ApplicationSet's parameters; its secrets component only where its apps need a secret (else there is
    # no such Application).
    renders = [BuildEnv()]
    for fed in federations:
        bound = {"federation": fed.model.name, "directory": fed.directory}
        renders.append(BuildEnv(params=bound))
        if federation_secrets(platform.model, fed.model):
            renders.append(BuildEnv(params={**bound, "component": "secrets"}))
    problems: list[Problem] = _stray_files(repo, {".", *directories}, platform.model.federations.path)
    for env in renders:
        try:
            with budget.metered():  # each app within the budgets Argo CD's renders have
                render_objects(repo, ".", env, platform)
        except MipError as exc:
            problems += exc.problems
    return sorted(set(problems)), 1 + len(directories)


def _stray_files(repo: Repo, expected: set[str], federations_path: str) -> list[Problem]:
    """mip.yaml files Argo CD would discover but the platform does not know: most likely a misplaced
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
                                 f"{federations_path}/ (federations.path); move it there or delete it"))
    return stray
