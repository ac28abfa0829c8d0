"""Loading and cross-checking a whole platform: the root mip.yaml and its federation directories.

Model validation checks each file on its own; the checks here need several files at once (unknown
clusters, apps and secrets, duplicate names, names that would collide with the platform's own).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import compat, meter
from .buildenv import BuildEnv
from .errors import MipError, Problem
from .flows import flow_problems, peer_problems
from .model import API_VERSION, DNS_LABEL, AppSync, Federation, Overlay, Platform
from .modelcheck import kind_of, to_model
from .names import (
    FEDERATIONS_APPSET,
    FILE_NAME,
    NETWORK_APP,
    OVERLAY_APP,
    RESERVED_APP_NAMES,
    RESERVED_NAMESPACES,
    ROOT_APPLICATION,
    SECRETS_APP,
    STATIC_PROJECTS,
    infra_project_name,
    is_system_namespace,
)
from .redact import credential_value
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


def check_platform(p: Platform, doc: Document) -> list[Problem]:
    """What the platform file may not say, beyond what its model checks."""
    problems = []
    if compat.too_old(p.argocd.version):
        problems.append(doc.problem(("argocd", "version"), f"mip-cmp supports Argo CD {compat.OLDEST_SUPPORTED} "
                                                           "or newer; upgrade Argo CD first"))
    try:
        re.compile(p.federations.namePattern)
    except re.error as exc:
        problems.append(doc.problem(("federations", "namePattern"),
                                    f"not a valid regular expression: {exc}"))
    needs_store = any(s.fromStore for s in p.secrets.values())
    if needs_store and p.secretStore is None:
        name = next(n for n, s in p.secrets.items() if s.fromStore)
        problems.append(doc.problem(("secrets", name, "fromStore"),
                                    "needs a platform `secretStore` to read from"))
    problems += _unknown_secrets(p, doc) + _app_name_problems(p, doc)
    for section, apps in (("catalog", p.catalog), ("commonApps", p.commonApps)):
        for app_name, app in apps.items():
            problems += credentials_in(doc, (section, app_name, "values"), app.values)
    return (problems + _common_app_problems(p, doc) + _infrastructure_problems(p, doc) + _secret_problems(p, doc)
            + flow_problems(p, doc))


def _unknown_secrets(p: Platform, doc: Document) -> list[Problem]:
    problems = []
    for section, apps in (("catalog", p.catalog), ("commonApps", p.commonApps)):
        for app_name, app in apps.items():
            for i, secret in enumerate(app.secrets):
                if secret not in p.secrets:
                    problems.append(doc.problem(
                        (section, app_name, "secrets", i),
                        f"unknown secret {secret!r}; define it under `secrets` "
                        f"(defined: {_known(p.secrets)})",
                    ))
    return problems


def _app_name_problems(p: Platform, doc: Document) -> list[Problem]:
    """Catalog app names that would make two federations' Application names collide."""
    problems = []
    for app_name in p.catalog:
        if app_name in RESERVED_APP_NAMES:
            problems.append(doc.problem(("catalog", app_name),
                                        f"the app name {app_name!r} is reserved: every federation's "
                                        f"`<name>-{app_name}` Application uses it", key=True))
        clash = next((o for o in sorted({*p.catalog, *RESERVED_APP_NAMES}) if app_name.endswith(f"-{o}")), None)
        if clash is not None:
            problems.append(doc.problem(("catalog", app_name), f"the app name must not end in '-{clash}': "
                                        f"federation F's Application F-{app_name} could be another "
                                        f"federation's Application for {clash!r}", key=True))
    return problems


def _common_app_problems(p: Platform, doc: Document) -> list[Problem]:
    problems = []
    for app_name, app in p.commonApps.items():
        if app.cluster not in p.clusters:
            problems.append(doc.problem(("commonApps", app_name, "cluster"),
                                        f"unknown cluster {app.cluster!r}; the platform's clusters are: "
                                        f"{_known(p.clusters)}"))
        if app.namespace == p.argocd.namespace or app.namespace in RESERVED_NAMESPACES:
            problems.append(doc.problem(("commonApps", app_name, "namespace"),
                                        f"namespace {app.namespace!r} is reserved; pick the app its own "
                                        "namespace"))
    return problems


def _common_apps_applications(p: Platform) -> set[str]:
    """The Applications of the common apps: each app's own, its `-network` and `-secrets` ones."""
    return {name for a in p.commonApps for name in (a, f"{a}-{NETWORK_APP}", f"{a}-{SECRETS_APP}")}


def _infrastructure_problems(p: Platform, doc: Document) -> list[Problem]:
    """Platform components: a known cluster, a namespace of their own, a name no other Application has, and
    `$ref/` value files that name one of their sources."""
    problems = []
    taken = {*_common_apps_applications(p), ROOT_APPLICATION, FEDERATIONS_APPSET}
    for name, app in p.infrastructure.items():
        where = ("infrastructure", name)
        if name in taken:
            problems.append(doc.problem(where, f"the name {name!r} is already an Application of the platform",
                                        key=True))
        if len(infra_project_name(name)) > 63:
            problems.append(doc.problem(where, f"too long: its project {infra_project_name(name)!r} must fit "
                                               "63 characters", key=True))
        if app.cluster not in p.clusters:
            problems.append(doc.problem((*where, "cluster"), f"unknown cluster {app.cluster!r}; the platform's "
                                                             f"clusters are: {_known(p.clusters)}"))
        if app.namespace == p.argocd.namespace or app.namespace in RESERVED_NAMESPACES or \
                app.namespace in {a.namespace for a in p.commonApps.values()}:
            problems.append(doc.problem((*where, "namespace"), f"namespace {app.namespace!r} is reserved or "
                                                               "taken; pick the app its own namespace"))
        platform_keys = {p.namespaceLabels.namespaceType, p.namespaceLabels.federationType}
        for label in sorted(platform_keys & set(app.namespaceMetadata.labels)):
            problems.append(doc.problem((*where, "namespaceMetadata", "labels", label),
                                        "this key is the platform's (namespaceLabels): mip-cmp sets it", key=True))
        refs = {s.ref for s in app.all_sources() if s.ref}
        for i, src in enumerate(app.all_sources()):
            key: tuple[str | int, ...] = (*where, "source") if app.source else (*where, "sources", i)
            for j, value_file in enumerate(src.helm.valueFiles if src.helm else []):
                ref = value_file[1:].split("/", 1)[0] if value_file.startswith("$") else None
                if ref is not None and ref not in refs:
                    problems.append(doc.problem((*key, "helm", "valueFiles", j),
                                                f"${ref} is not the `ref` of one of this app's sources"))
            if src.helm:
                problems += credentials_in(doc, (*key, "helm", "values"), src.helm.values)
    return problems


def _secret_problems(p: Platform, doc: Document) -> list[Problem]:
    """Fixed secret values are for names, not credentials: those come from the store or the generator."""
    problems = []
    for name, secret in p.secrets.items():
        for key, value in secret.fixed.items():
            if credential_value(key, value):
                problems.append(doc.problem(("secrets", name, "fixed", key),
                                            "looks like a credential; fixed values are written into the "
                                            "ExternalSecret in plain text: generate it or read it from the store"))
    return problems


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


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
        else:
            problems += _overlay_type_problems(repo, fed, app_name, app.overlay, rel)
    return problems


# What Argo CD's repo-server looks for to tell a source's type (its type block is not emitted: Argo CD would
# remove an empty one, names.SOURCE_TYPE_BLOCKS).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
HELM_CHART_FILE = "Chart.yaml"


def _overlay_type_problems(repo: Repo, fed: LoadedFederation, app_name: str, overlay: Overlay,
                           rel: str) -> list[Problem]:
    """The overlay directory is what its `type` says, as Argo CD detects it: kustomize with a kustomization
    file, plain manifests with neither that nor a Helm chart."""
    names = set(repo.file_names(rel))
    kustomization = names & set(KUSTOMIZATION_FILES)
    if overlay.type == "kustomize" and not kustomization:
        return [fed.doc.problem(("apps", app_name, "overlay", "type"),
                                f"type kustomize, but {rel} holds no kustomization.yaml: add one, or set "
                                "type: directory")]
    if overlay.type == "directory" and (kustomization or HELM_CHART_FILE in names):
        found = sorted(kustomization | ({HELM_CHART_FILE} & names))[0]
        return [fed.doc.problem(("apps", app_name, "overlay", "type"),
                                f"type directory, but {rel} holds {found}, so Argo CD would not render it as "
                                "plain manifests: remove it, or set type: kustomize")]
    return []


def check_federation(platform: LoadedPlatform, fed: LoadedFederation) -> list[Problem]:
    """What a federation file may not say, given the platform it belongs to."""
    return _Identity(platform.model).problems(fed.model, fed.doc) + _content_problems(platform.model, fed)


class _Identity:
    """Name and cluster: what the root needs to keep the federation's project and wrapper. What they are
    checked against is the platform's, worked out once (the root checks every federation against it)."""

    def __init__(self, p: Platform) -> None:
        self.p = p
        self.pattern = re.compile(p.federations.namePattern)  # valid: check_platform said so
        # The pattern is the platform's allowlist; these are refused whatever it allows (names.py).
        self.reserved = {*STATIC_PROJECTS, p.argocd.namespace, ROOT_APPLICATION,
                         *(a.namespace for a in p.commonApps.values()), *p.commonApps, *p.infrastructure,
                         *(infra_project_name(a) for a in p.infrastructure),
                         *(a.namespace for a in p.infrastructure.values())}
        self.suffixes = [f"-{suffix}" for suffix in sorted({*p.catalog, *RESERVED_APP_NAMES})]
        self.platform_apps = {*_common_apps_applications(p), *p.infrastructure, ROOT_APPLICATION}

    def problems(self, f: Federation, doc: Document) -> list[Problem]:
        p = self.p
        problems = []
        meter.at(lambda message: doc.problem(("name",), message))  # namePattern is the platform's own regex
        if not self.pattern.fullmatch(f.name):
            problems.append(doc.problem(("name",), f"must match the platform's federation name pattern "
                                                   f"{p.federations.namePattern}"))
        if f.name in self.reserved or is_system_namespace(f.name):
            problems.append(doc.problem(("name",), f"{f.name!r} is reserved for Kubernetes, the cluster's "
                                                   "infrastructure or the platform itself; choose another name"))
        else:
            problems += self._name_collisions(f, doc)
        if f.cluster not in p.clusters:
            problems.append(doc.problem(("cluster",), f"unknown cluster {f.cluster!r}; the platform's clusters "
                                                      f"are: {_known(p.clusters)}"))
        return problems

    def _name_collisions(self, f: Federation, doc: Document) -> list[Problem]:
        """Application names are `<federation>` (its wrapper), `<federation>-<app>` and `<federation>-secrets`,
        all in the Argo CD namespace: a name must not be able to produce another federation's or the
        platform's. Together with the platform's catalog check (no app name ends in `-<other app>`), no two
        federations can ever render the same Application, whichever federation directories exist."""
        for suffix in self.suffixes:
            if f.name.endswith(suffix) and self.pattern.fullmatch(prefix := f.name[: -len(suffix)]):
                return [doc.problem(("name",), f"{f.name!r} would collide with the Application of app "
                                               f"{suffix[1:]!r} of a federation {prefix!r}; choose another name")]
        overlays = {f"{a}-{OVERLAY_APP}" for a, own in f.apps.items() if own is not None and own.overlay is not None}
        for app_name in sorted({*f.apps, *overlays, *RESERVED_APP_NAMES}):
            if f"{f.name}-{app_name}" in self.platform_apps:
                return [doc.problem(("name",), f"its Application {f.name}-{app_name} would collide with the "
                                               "platform's Application of that name; choose another name")]
        return []


def _content_problems(p: Platform, fed: LoadedFederation) -> list[Problem]:
    f, doc = fed.model, fed.doc
    problems = []
    for app_name, app in f.apps.items():
        if app_name not in p.catalog:
            problems.append(doc.problem(("apps", app_name), f"unknown app {app_name!r}; the platform's "
                                                           f"catalog has: {_known(p.catalog)}", key=True))
        if app is not None:
            problems += credentials_in(doc, ("apps", app_name, "values"), app.values)
            problems += _sync_problems(p, doc, ("apps", app_name), [app.sync, *([app.overlay.sync]
                                                                               if app.overlay else [])])
    problems += peer_problems(p, f, doc)
    return problems


def _sync_problems(p: Platform, doc: Document, where: KeyPath, syncs: list[AppSync]) -> list[Problem]:
    """A federation changes its apps' sync policy only as far as the platform allows."""
    problems = []
    allowed = p.syncPolicy.federations
    for n, sync in enumerate(syncs):
        at = (*where, "sync") if n == 0 else (*where, "overlay", "sync")
        for i, option in enumerate(sync.options):
            if option not in allowed.options:
                problems.append(doc.problem((*at, "options", i), f"the platform does not let federations set "
                                                                 f"{option}; allowed: {_known(allowed.options)}"))
        if sync.prune is not None and not allowed.prune:
            problems.append(doc.problem((*at, "prune"), "the platform does not let federations choose `prune` "
                                                        "(syncPolicy.federations.prune)"))
    return problems


def directory_name_warnings(fed: LoadedFederation) -> list[Problem]:
    """A directory named otherwise than the federation it holds. Argo CD does not mind (the ApplicationSet
    binds each directory to the name it declares, and renaming a directory changes no workload), but a reader
    of the tree, a diff or an annotation sees one name where Argo CD uses the other: `validate` and `render`
    warn, with the two ways out."""
    directory = PurePosixPath(fed.directory)
    if directory.name == fed.model.name:
        return []
    renamed = directory.parent / fed.model.name
    return [fed.doc.problem(("name",), f"{fed.model.name!r} differs from its directory name {directory.name!r}; "
                                       f"rename the directory (git mv {directory} {renamed}) or set "
                                       f"`name: {directory.name}`")]


def credentials_in(doc: Document, path: KeyPath, values: Any) -> list[Problem]:
    """Helm values that hold a credential: it would be written into the Application, which Argo CD
    caches in Redis and shows to everyone who can read the app. The value itself is never repeated."""
    problems = []
    stack: list[tuple[KeyPath, str, Any]] = [(path, "", values)]
    while stack:
        where, key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*where, k), k, v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*where, i), key, v) for i, v in enumerate(value))
        elif isinstance(value, str) and credential_value(key, value):
            problems.append(doc.problem(where, "looks like a credential; mip.yaml must never hold secret "
                                               "values: have the app use a platform `secrets` entry (an "
                                               "ExternalSecret) instead"))
    return sorted(problems)


def check_unique(federations: list[LoadedFederation]) -> list[Problem]:
    problems = []
    seen: dict[str, LoadedFederation] = {}
    for fed in federations:
        first = seen.setdefault(fed.model.name, fed)
        if first is not fed:
            where = first.doc.mark(("name",)) or (0, 0)
            problems.append(fed.doc.problem(
                ("name",), f"duplicate federation name {fed.model.name!r}; already declared in "
                           f"{first.doc.file}:{where[0]}:{where[1]}"))
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
    problems = check_federation(platform, fed)
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
    identity = _Identity(platform.model)
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
    problems += check_unique(federations)
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


def _stand_in(repo: Repo, identity: _Identity, directory: str,
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
