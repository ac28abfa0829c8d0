"""Reading and binding a whole platform: the root mip.yaml and its federation directories.

Model validation checks each file on its own; crosscheck.py checks what needs several files at once. This
module reads the files (within their budgets), binds each federation directory to what it declares, and keeps
of each federation only what the render needs.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from pydantic import ConfigDict, create_model

from ..core import meter
from ..core.errors import MipError, Problem
from ..core.keypath import KeyPath
from ..core.names import FILE_NAME
from ..core.vocabulary import HELM_CHART_FILE
from ..model.application import Overlay
from ..model.federation import Federation
from ..model.platform import Platform
from ..stage1_read import kustomization
from ..stage1_read.buildenv import BuildEnv
from ..stage1_read.repo import Repo, source_override_problems
from ..stage1_read.yamlsource import Document, LazyDocument
from .crosscheck import Identity, check_federation, check_platform, check_unique
from .modelcheck import kind_of, to_model


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


def load_platform(repo: Repo) -> LoadedPlatform:
    doc = repo.read(".")
    if kind_of(doc) is not Platform:
        raise MipError([doc.problem(("kind",), "the repository root must hold the Platform mip.yaml")])
    platform = to_model(doc, Platform)
    problems = check_platform(platform, doc)
    if problems:
        raise MipError(problems)
    # `.argocd-source*` outside every federation's directory is in what only admins write: every render refuses
    # it (one in a federation's directory is that federation's, see load_federation).
    problems = source_override_problems(repo.admin_overrides(platform.federations.roots()))
    if problems:
        raise MipError(problems)
    return LoadedPlatform(platform, doc)


def load_federation(repo: Repo, directory: str) -> LoadedFederation:
    loaded = repo.loaded.get(directory)
    if isinstance(loaded, LoadedFederation):
        repo.counted(*repo.read_by[directory])  # what its reading cost counts in this render too
        return loaded  # a frozen model; a file that failed is not remembered and fails again
    if not repo.remember:  # generate: one render, loaded once
        return _load_federation(repo, directory)
    with repo.recording() as read:
        fed = _load_federation(repo, directory)
    repo.loaded[directory], repo.read_by[directory] = fed, read
    return fed


def _load_federation(repo: Repo, directory: str) -> LoadedFederation:
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
        elif found := [o for o in repo.source_overrides(fed.directory) if o.startswith(f"{rel}/")]:
            problems.append(fed.doc.problem(where, f"{found[0]} is not allowed in an overlay: Argo CD merges it "
                                                   "into the overlay's source"))
        else:
            problems += (_overlay_type_problems(repo, fed, app_name, app.overlay, rel)
                         + _kustomization_problems(repo, fed.directory, rel))
    return problems


def _overlay_type_problems(repo: Repo, fed: LoadedFederation, app_name: str, overlay: Overlay,
                           rel: str) -> list[Problem]:
    """The overlay directory is what its `type` says, as Argo CD's repo-server detects a source's type (the
    type block itself is not emitted: Argo CD would remove an empty one, names.SOURCE_TYPE_BLOCKS): kustomize
    with a kustomization file, plain manifests with neither that nor a Helm chart."""
    names = set(repo.file_names(rel))
    found = names & set(kustomization.FILE_NAMES)
    if overlay.type == "kustomize" and not found:
        return [fed.doc.problem(("apps", app_name, "overlay", "type"),
                                f"type kustomize, but {rel} holds no kustomization.yaml: add one, or set "
                                "type: directory")]
    if overlay.type == "directory" and (found or HELM_CHART_FILE in names):
        first = sorted(found | ({HELM_CHART_FILE} & names))[0]
        return [fed.doc.problem(("apps", app_name, "overlay", "type"),
                                f"type directory, but {rel} holds {first}, so Argo CD would not render it as "
                                "plain manifests: remove it, or set type: kustomize")]
    if overlay.type == "directory":
        # Argo CD applies every file of the directory, following symlinks: each must be this federation's (what
        # the overlay Application's manifest-generate-paths names, too).
        outside = next((n for n in sorted(names) if not _inside(repo, fed.directory, f"{rel}/{n}")), None)
        if outside is not None:
            return [fed.doc.problem(("apps", app_name, "overlay", "path"),
                                    f"{rel}/{outside} is a symlink that leads outside this federation's directory "
                                    f"({fed.directory}/): an overlay applies only this federation's files")]
    return []


def _kustomization_problems(repo: Repo, federation: str, overlay: str) -> list[Problem]:
    """What kustomize would read for `overlay`, followed through every directory its kustomizations name: only
    files and directories inside the federation's directory (symlinks resolved), no remote base, no Helm
    chart. Each refusal is located in the kustomization that names it."""
    problems: list[Problem] = []
    pending, seen = [overlay], {overlay}
    while pending:
        directory = pending.pop()
        name = next((n for n in kustomization.FILE_NAMES if repo.is_file(f"{directory}/{n}")), None)
        if name is None:
            continue  # kustomize says so itself; nothing is read from outside meanwhile
        doc = repo.read_yaml(f"{directory}/{name}")
        problems += [doc.problem(path, f"not allowed in a federation's overlay: {why}", key=True) for path, why in
                     kustomization.refused(doc)]
        for path, reference in kustomization.references(doc):
            target = posixpath.normpath(f"{directory}/{reference}")
            if "://" in reference or reference.startswith("git@") or posixpath.isabs(reference) or \
                    not target.startswith(f"{federation}/") or not _inside(repo, federation, target):
                problems.append(doc.problem(path, "must name a file or directory inside this federation's "
                                                  f"directory ({federation}/, symlinks resolved); remote bases are "
                                                  "not allowed"))
            elif repo.is_dir(target):
                if target not in seen:
                    seen.add(target)
                    pending.append(target)
            elif not repo.is_file(target):
                # kustomize would then try it as a remote base (`github.com/...`)
                problems.append(doc.problem(path, f"no such file or directory in this federation's directory "
                                                  f"({federation}/)"))
    return problems


def _inside(repo: Repo, federation: str, rel: str) -> bool:
    try:
        return repo.inside_of(federation, rel)
    except MipError:
        return False


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
    """Every federation directory, for the root, which needs of each only its identity (name, cluster, type,
    state, app names): that is all it reads of a federation file. Whatever else the file says (right or
    wrong, however large) is checked where it is rendered, by its wrapper, so a broken file costs the root
    one parse of that file and nothing of the others' budget; the root keeps its project and wrapper. The
    root fails, naming the file, only where it cannot tell which federation a directory is: a file it cannot
    parse, no readable name or cluster, a duplicate name, or a directory without a mip.yaml (never taken for
    a removal)."""
    federations: list[LoadedFederation] = []
    problems = unreadable_directories(repo, platform.model)
    identity = Identity(platform.model)
    for directory in federation_dirs(repo, platform.model):
        found = _identity(repo, identity, directory)
        if isinstance(found, LoadedFederation):
            federations.append(found)
        else:
            problems += _unknown_federation(found)
    problems += check_unique((f.model.name, f.doc) for f in federations)
    if problems:
        raise MipError(problems)
    return federations


# What the root reads of a federation file: the fields that say which federation it is, as the model checks
# them (so its errors are the model's own, located); every other key is left to the federation's wrapper.
_IDENTITY_FIELDS = ("apiVersion", "kind", "name", "cluster")
_FederationIdentity = create_model(  # type: ignore[call-overload]
    "FederationIdentity", __config__=ConfigDict(extra="ignore", strict=True, frozen=True, defer_build=True),
    **{name: (Federation.model_fields[name].annotation, Federation.model_fields[name]) for name in _IDENTITY_FIELDS})


def _identity(repo: Repo, identity: Identity, directory: str) -> LoadedFederation | list[Problem]:
    """The root's view of one federation directory, or why it cannot tell which federation it is."""
    try:
        doc = repo.read(directory)
        if kind_of(doc) is not Federation:
            return [doc.problem(("kind",), "a federation directory must hold a Federation mip.yaml")]
        to_model(doc, _FederationIdentity)
    except meter.Exceeded:
        raise  # the render's budget is spent: reading on would only cost more
    except MipError as exc:
        return list(exc.problems)
    data = doc.data
    apps = data.get("apps")
    known = [a for a in apps if a in identity.p.catalog] if isinstance(apps, dict) else list(identity.p.catalog)
    # An app with an overlay has an Application of its own, whose name Identity checks for collisions.
    overlays = [a for a in known if isinstance(apps, dict) and isinstance(apps[a], dict) and
                apps[a].get("overlay") is not None]
    model = Federation.model_construct(
        apiVersion=data["apiVersion"], kind="Federation", name=data["name"], cluster=data["cluster"],
        type="hybrid" if data.get("type") == "hybrid" else "local",
        state="retired" if data.get("state") == "retired" else "active", publicHost=None,
        apps=dict.fromkeys(known), peers=[])
    problems = identity.problems(model, doc, overlays)
    if problems:
        return problems
    return _summary(LoadedFederation(model, doc, directory))


def _unknown_federation(problems: list[Problem]) -> list[Problem]:
    """A file's problems when the root cannot tell which federation it is: each mistake stays one problem, at
    its own line and column, and the first says what it costs the root (so a reader of only that line knows)."""
    first, *rest = sorted(problems)
    return [replace(first, message=f"{first.message} (the root cannot tell which federation this is, so it "
                                   "renders no federation until this is fixed; nothing is removed meanwhile)"),
            *rest]


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


def _summary(fed: LoadedFederation) -> LoadedFederation:
    """`fed` without its values and with only the position of its name (check_unique's)."""
    doc = fed.doc
    model = fed.model.model_copy(update={"apps": dict.fromkeys(fed.model.apps), "publicHost": None})
    if isinstance(doc, LazyDocument) and not doc.located:
        # Its positions are parsed only if a problem needs them; the text (at most MAX_FILE_BYTES) stays.
        return LoadedFederation(model, LazyDocument(doc.file, None, text=doc.text), fed.directory)
    name: KeyPath = ("name",)
    marks = {name: mark} if (mark := doc.mark(name)) is not None else {}
    key_marks = {name: mark} if (mark := doc.mark(name, key=True)) is not None else {}
    return LoadedFederation(model, Document(doc.file, None, marks, key_marks), fed.directory)
