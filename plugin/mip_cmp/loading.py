"""Reading and binding a whole platform: the root mip.yaml and its federation directories.

Model validation checks each file on its own; crosscheck.py checks what needs several files at once. This
module reads the files (within their budgets), binds each federation directory to what it declares, and keeps
of each federation only what the render needs.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from . import meter
from .buildenv import BuildEnv
from .crosscheck import Identity, check_federation, check_platform, check_unique
from .errors import MipError, Problem
from .model import API_VERSION, DNS_LABEL, Federation, Platform
from .modelcheck import kind_of, to_model
from .names import FILE_NAME
from .repo import Repo, source_override_problems
from .yamlsource import Document, KeyPath, LazyDocument


@dataclass(frozen=True, slots=True)
class LoadedPlatform:
    """The root mip.yaml, validated and cross-checked; `doc` locates its values for later errors."""

    model: Platform
    doc: Document


@dataclass(frozen=True, slots=True)
class LoadedFederation:
    """A federation mip.yaml and the directory it was read from, relative to the repository root (what the
    platform's ApplicationSet binds to its name)."""

    model: Federation
    doc: Document
    directory: str
    # A broken file whose name and cluster can still be read: `model` is then a stand-in (name, cluster, type,
    # the catalog apps it names) so the root keeps its project and wrapper, and nothing of it is pruned, and
    # `problems` says why it is one (empty for a real model). The root renders no error for it: its wrapper,
    # which renders this directory itself, fails with them (the blast radius is this federation).
    problems: tuple[Problem, ...] = ()


def load_platform(repo: Repo) -> LoadedPlatform:
    doc = repo.read(".")
    if kind_of(doc) is not Platform:
        raise MipError([doc.problem(("kind",), "the repository root must hold the Platform mip.yaml")])
    platform = to_model(doc, Platform)
    problems = check_platform(platform, doc)
    if problems:
        raise MipError(problems)
    problems = source_override_problems(_admins_overrides(repo, platform))
    if problems:
        raise MipError(problems)
    return LoadedPlatform(platform, doc)


def _admins_overrides(repo: Repo, p: Platform) -> list[str]:
    """`.argocd-source*` entries outside every federation's directory: in what only admins control, so
    every render refuses them (one in a federation's directory is that federation's, see load_federation)."""
    roots = [r.rstrip("/") + "/" for r in p.federations.roots() if r not in ("", ".")]
    return [path for path in repo.source_overrides()
            if not any(path.startswith(root) and "/" in path[len(root):] for root in roots)]


def load_federation(repo: Repo, directory: str) -> LoadedFederation:
    loaded = repo.loaded.get(directory)
    if isinstance(loaded, LoadedFederation):
        return loaded  # a frozen model; a file that failed is not remembered and fails again
    overrides = repo.source_overrides(directory)
    if overrides:
        raise MipError(source_override_problems(overrides))
    doc = repo.read(directory)
    if kind_of(doc) is not Federation:
        raise MipError([doc.problem(("kind",), "a federation directory must hold a Federation mip.yaml")])
    fed = LoadedFederation(to_model(doc, Federation), doc, directory)
    problems = _overlay_problems(repo, fed)
    if problems:
        raise MipError(problems)
    if repo.remember:
        repo.loaded[directory] = fed
    return fed


def _overlay_problems(repo: Repo, fed: LoadedFederation) -> list[Problem]:
    """An overlay is a directory inside the federation's own (symlinks resolved), without Argo CD's source
    override files, which could change how Argo CD renders it."""
    problems = []
    for app_name, app in fed.model.apps.items():
        if app is None or app.overlay is None:
            continue
        where = ("apps", app_name, "overlay", "path")
        rel = posixpath.normpath(f"{fed.directory}/{app.overlay.path}")
        if not rel.startswith(f"{fed.directory}/"):
            problems.append(fed.doc.problem(where, "must be a directory inside this federation's directory"))
            continue
        try:
            inside = repo.inside_of(fed.directory, rel)
        except MipError:
            inside = False
        if not inside:
            problems.append(fed.doc.problem(where, "must be a directory inside this federation's directory "
                                                   "(symlinks resolved)"))
        elif not repo.is_dir(rel):
            problems.append(fed.doc.problem(where, "no such directory in this federation's directory"))
        elif repo.source_overrides(rel):
            problems.append(fed.doc.problem(where, f"{repo.source_overrides(rel)[0]} is not allowed in an "
                                                   "overlay: Argo CD merges it into the overlay's source"))
    return problems


def load_bound_federation(repo: Repo, platform: LoadedPlatform, rel: str, env: BuildEnv) -> LoadedFederation:
    roots = platform.model.federations.roots()
    parts = PurePosixPath(rel).parts
    if str(PurePosixPath(rel).parent) not in {r.rstrip("/") for r in roots} or ".." in parts or \
            PurePosixPath(rel).is_absolute():
        raise MipError([Problem(f"{rel}/{FILE_NAME}", 0, 0, "",
                                f"not a federation directory: federations live directly under "
                                f"{roots_text(roots)} (see federations.path in the platform {FILE_NAME})")])
    fed = load_federation(repo, rel)
    problems = check_federation(platform.model, fed.model, fed.doc)
    if env.federation and env.federation != fed.model.name:
        problems.append(fed.doc.problem(
            ("name",), f"this directory is bound to federation {env.federation!r} by the platform; "
                       f"it cannot declare {fed.model.name!r} (rename it in the platform first)"))
    if problems:
        raise MipError(problems)
    return fed


def roots_text(roots: list[str]) -> str:
    """How an error names the federation roots: `federations/`, or `one of a/, b/`."""
    names = [f"{r.rstrip('/')}/" for r in roots]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def federation_dirs(repo: Repo, p: Platform) -> list[str]:
    """Every federation directory under every root of the platform, root by root."""
    return [d for root in p.federations.roots() for d in repo.federation_dirs(root)]


def load_federations(repo: Repo, platform: LoadedPlatform) -> list[LoadedFederation]:
    """Every federation directory, for the root. A broken file costs only its own federation (a stand-in
    keeps its project and wrapper, see LoadedFederation.problems); the root fails, naming the files, only
    where it cannot tell which federation a directory is: no readable name or cluster, a duplicate name, or
    a directory without a mip.yaml (never taken for a removal). Each is kept only as far as the root needs it
    (name, cluster, type, state, app names, directory, problems): a parsed file with its positions costs
    hundreds of bytes per node, and the root reads up to budget.MAX_TOTAL_NODES of them. What a valid file
    says beyond that (its values, its apps' settings) is checked where it is rendered: by its wrapper."""
    federations: list[LoadedFederation] = []
    problems = unreadable_directories(repo, platform.model)
    identity = Identity(platform.model)
    for directory in federation_dirs(repo, platform.model):
        try:
            fed = load_federation(repo, directory)
        except meter.Exceeded:
            raise  # the render's budget is spent: reading on would only cost more
        except MipError as exc:
            stand_in = _stand_in(repo, identity, directory, exc.problems)
            if stand_in is None:
                problems += [*exc.problems, _unknown_federation(directory)]
            else:
                federations.append(_summary(stand_in))
            continue
        unknown = identity.problems(fed.model, fed.doc)
        if unknown:
            problems += [*unknown, _unknown_federation(directory)]
            continue
        federations.append(_summary(fed))
    problems += check_unique((f.model.name, f.doc) for f in federations)
    if problems:
        raise MipError(problems)
    return federations


def _unknown_federation(directory: str) -> Problem:
    return Problem(f"{directory}/{FILE_NAME}", 0, 0, "", "the root cannot tell which federation this is (its name or "
                   "cluster cannot be read), so it renders no federation until this file is fixed; nothing is "
                   "removed meanwhile")


# Names people give a federation file by mistake; Argo CD and mip-cmp read only `mip.yaml`.
_MISNAMED = re.compile(r"^mip\.(ya?ml|yaml\.[a-z]+|json)$", re.IGNORECASE)


def unreadable_directories(repo: Repo, p: Platform) -> list[Problem]:
    """Directories under a federations root without a mip.yaml. Each is an error with its fix, never a
    silent removal: skipping it would drop the federation from the ApplicationSet, and its apps with it."""
    problems = []
    for base in p.federations.roots():
        for name in repo.subdirectories(base):
            rel = f"{base}/{name}" if base not in ("", ".") else name
            if repo.holds_file(rel):
                continue
            files = repo.file_names(rel)
            wrong = next((n for n in files if _MISNAMED.match(n)), None)
            if wrong is not None:
                message = (f"found {wrong!r} but not {FILE_NAME}: rename it to {FILE_NAME} (only that name is read; "
                           "the federation is not deployed until then)")
            else:
                message = (f"a directory under {base}/ is a federation but has no {FILE_NAME}: add its {FILE_NAME} "
                           f"(kind: Federation), or move the directory out of {base}/. To remove a federation, "
                           "delete its whole directory (docs/operations.md)")
            problems.append(Problem(f"{rel}/{FILE_NAME}", 0, 0, "", message))  # Problem scrubs it
    return problems


def _stand_in(repo: Repo, identity: Identity, directory: str,
              problems: tuple[Problem, ...]) -> LoadedFederation | None:
    """What the root needs of a broken federation file, if its name and cluster can still be read."""
    p = identity.p
    try:
        doc = repo.read(directory)
    except MipError:
        return None
    data = doc.data if isinstance(doc.data, dict) else {}
    name, cluster = data.get("name"), data.get("cluster")
    if data.get("kind") != "Federation" or not isinstance(name, str) or not isinstance(cluster, str) \
            or not re.fullmatch(DNS_LABEL, name) or len(name) > 40 or len(cluster) > 63:
        return None
    apps = data.get("apps")
    known = [a for a in apps if a in p.catalog] if isinstance(apps, dict) else list(p.catalog)
    model = Federation.model_construct(
        apiVersion=API_VERSION, kind="Federation", name=name, cluster=cluster,
        type="hybrid" if data.get("type") == "hybrid" else "local",
        state="retired" if data.get("state") == "retired" else "active", publicHost=None,
        apps=dict.fromkeys(known))
    if identity.problems(model, doc):
        return None
    return LoadedFederation(model, doc, directory, tuple(problems))


def _summary(fed: LoadedFederation) -> LoadedFederation:
    """`fed` without its values and with only the position of its name (check_unique's)."""
    doc = fed.doc
    model = fed.model.model_copy(update={"apps": dict.fromkeys(fed.model.apps), "publicHost": None})
    if isinstance(doc, LazyDocument) and not doc.located:
        # Its positions are parsed only if a problem needs them; the text (at most MAX_FILE_BYTES) stays.
        return LoadedFederation(model, LazyDocument(doc.file, None, text=doc.text), fed.directory, fed.problems)
    name: KeyPath = ("name",)
    marks = {name: mark} if (mark := doc.mark(name)) is not None else {}
    key_marks = {name: mark} if (mark := doc.mark(name, key=True)) is not None else {}
    return LoadedFederation(model, Document(doc.file, None, marks, key_marks), fed.directory, fed.problems)
