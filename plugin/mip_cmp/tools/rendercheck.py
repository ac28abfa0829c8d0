"""`mip-cmp render`: the generate pipeline, plus every check `validate` makes of the app it renders.

Argo CD renders each app on its own, so `generate` checks only what that app reads. A person rendering one
directory deserves what `validate` would say about it: the root also checks for mip.yaml files the platform
does not know; a federation is also checked against the other federations (a name another directory
already declares). `render` says which files it read besides the one it rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .. import pipeline
from ..core.errors import MipError, Problem
from ..core.names import FILE_NAME
from ..stage1_read import buildenv
from ..stage1_read.buildenv import BuildEnv
from ..stage1_read.repo import Repo, locate
from ..stage2_check.crosscheck import check_unique, directory_name_warnings
from ..stage2_check.loading import LoadedFederation, federation_dirs, load_federation, load_platform
from ..stage5_write import emit
from .validate import _stray_files

MAX_LISTED = 10


def render_checked(app_dir: Path, environ: Mapping[str, str]) -> tuple[bytes, str, list[str], list[str]]:
    """The manifests of `app_dir` exactly as `generate` makes them, the file rendered, the other files read,
    and warnings. Raises MipError with the problems of both the render and the extra checks, all at once."""
    env = buildenv.from_environ(environ)
    located, rel = locate(app_dir, env.source_path)
    repo = Repo(located.root, remember=True)  # the checks re-read nothing; what was read is said
    target = env.directory or rel
    problems: list[Problem] = []
    objects = []
    try:
        objects = pipeline.render_objects(repo, rel, env)
    except MipError as exc:
        problems += exc.problems
    problems += _extra_checks(repo, target, env)
    if problems:
        raise MipError(sorted(set(problems)))
    rendered = FILE_NAME if target == "." else f"{target}/{FILE_NAME}"
    warnings: list[str] = []
    if target != ".":
        fed = load_federation(repo, target)
        warnings = [str(w) for w in directory_name_warnings(fed.model, fed.doc, fed.directory)]
    return emit.dump(objects), rendered, [f for f in repo.documents if f != rendered], warnings


def _extra_checks(repo: Repo, target: str, env: BuildEnv) -> list[Problem]:
    try:
        platform = load_platform(repo)
    except MipError:
        return []  # the render reported it
    directories = federation_dirs(repo, platform.model)
    if target == ".":
        return _stray_files(repo, {".", *directories}, platform.model.federations.roots())
    try:
        this = load_federation(repo, target)
    except MipError:
        return []  # the render reported it
    others: list[LoadedFederation] = []
    for directory in directories:
        if directory == target:
            continue
        try:
            others.append(load_federation(repo, directory))
        except MipError:
            continue  # that directory's own problem: `validate` reports it, this render does not depend on it
    # Listed last, this federation is the one a duplicate name is reported on.
    return [p for p in check_unique((f.model.name, f.doc) for f in [*others, this]) if p.file == this.doc.file]


def read_note(rendered: str, others: list[str]) -> str:
    """The stderr line saying what else was read, e.g. for the cross-file checks."""
    if not others:
        return f"mip-cmp: rendered {rendered}"
    listed = ", ".join(others[:MAX_LISTED])
    if len(others) > MAX_LISTED:
        listed += f" and {len(others) - MAX_LISTED} more"
    return f"mip-cmp: rendered {rendered}; also read {listed}"
