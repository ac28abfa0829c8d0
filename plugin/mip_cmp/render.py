"""The pipeline from a directory to manifests: load, check, expand, gate, emit. Never prints."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from . import buildenv, emit
from .buildenv import BuildEnv
from .errors import MipError, Problem
from .expand import expand_federation, expand_platform, federation_secrets
from .platform import (
    LoadedFederation,
    LoadedPlatform,
    check_federation,
    check_unique,
    load_federation,
    load_platform,
)
from .policy import check_federation_output, check_platform_output
from .repo import FILE_NAME, Repo, locate


def generate(app_dir: Path, environ: Mapping[str, str]) -> bytes:
    """What Argo CD runs: the manifests for `app_dir`, given the build environment it passes."""
    env = buildenv.from_environ(environ)
    repo, rel = locate(app_dir, env.source_path)
    return emit.dump(render_objects(repo, rel, env))


def render_objects(repo: Repo, rel: str, env: BuildEnv,
                   platform: LoadedPlatform | None = None) -> list[dict[str, Any]]:
    """The objects of one Argo CD app: the platform (the root, no parameters) or one federation (the root
    with the parameters federation + directory, as the platform's ApplicationSet sets them; or, for a
    person running `render`, the federation's directory itself). `platform`: already loaded (validate)."""
    platform = platform or load_platform(repo)
    if rel == "." and not env.directory:
        if env.federation or env.component:
            raise MipError("plugin parameters 'federation' and 'component' need 'directory': without it the "
                           "repository root renders the platform")
        federations = load_federations(repo, platform)
        objects = expand_platform(platform, federations, env)
        check_platform_output(platform.model, objects, FILE_NAME)
        return objects
    if env.directory:
        if rel != ".":
            raise MipError("plugin parameter 'directory' is for Applications whose path is the repository root "
                           f"(this one renders {rel!r})")
        if not env.federation:
            raise MipError("plugin parameter 'directory' needs 'federation', the name the platform bound it to")
        rel = env.directory
    fed = load_bound_federation(repo, platform, rel, env)
    objects = expand_federation(platform, fed, env)
    check_federation_output(platform.model, fed.model, env.component, objects, fed.doc.file)
    return objects


def load_bound_federation(repo: Repo, platform: LoadedPlatform, rel: str, env: BuildEnv) -> LoadedFederation:
    base = platform.model.federations.path
    parts = PurePosixPath(rel).parts
    if str(PurePosixPath(rel).parent) != base.rstrip("/") or ".." in parts or PurePosixPath(rel).is_absolute():
        raise MipError([Problem(f"{rel}/{FILE_NAME}", 0, 0, "",
                                f"not a federation directory: federations live directly under {base}/ "
                                f"(see federations.path in the platform {FILE_NAME})")])
    fed = load_federation(repo, rel)
    problems = check_federation(platform, fed)
    if env.federation and env.federation != fed.model.name:
        problems.append(fed.doc.problem(
            ("name",), f"this directory is bound to federation {env.federation!r} by the platform; "
                       f"it cannot declare {fed.model.name!r} (rename it in the platform first)"))
    if problems:
        raise MipError(problems)
    return fed


def load_federations(repo: Repo, platform: LoadedPlatform) -> list[LoadedFederation]:
    """Every federation directory, with all their problems reported together."""
    federations: list[LoadedFederation] = []
    problems: list[Problem] = []
    for directory in repo.federation_dirs(platform.model.federations.path):
        try:
            fed = load_federation(repo, directory)
        except MipError as exc:
            problems += exc.problems
            continue
        problems += check_federation(platform, fed)
        federations.append(fed)
    problems += check_unique(federations)
    if problems:
        raise MipError(problems)
    return federations


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
