"""Loading and cross-checking a whole platform: the root mip.yaml and its federation directories.

Model validation checks each file on its own; the checks here need several files at once (unknown
clusters, apps and secrets, duplicate names, names that would collide with the platform's own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import meter
from .buildenv import BuildEnv
from .errors import MipError, Problem
from .model import Federation, Platform
from .modelcheck import kind_of, to_model
from .names import (
    FILE_NAME,
    RESERVED_NAMESPACES,
    ROOT_APPLICATION,
    SECRETS_APP,
    STATIC_PROJECTS,
    is_system_namespace,
)
from .redact import credential_value
from .repo import Repo
from .yamlsource import Document, KeyPath


@dataclass(frozen=True)
class LoadedPlatform:
    model: Platform
    doc: Document


@dataclass(frozen=True)
class LoadedFederation:
    model: Federation
    doc: Document
    directory: str


def load_platform(repo: Repo) -> LoadedPlatform:
    repo.refuse_source_overrides()  # every render and validate starts here
    doc = repo.read(".")
    if kind_of(doc) is not Platform:
        raise MipError([doc.problem(("kind",), "the repository root must hold the Platform mip.yaml")])
    platform = to_model(doc, Platform)
    problems = check_platform(platform, doc)
    if problems:
        raise MipError(problems)
    return LoadedPlatform(platform, doc)


def check_platform(p: Platform, doc: Document) -> list[Problem]:
    """What the platform file may not say, beyond what its model checks."""
    problems = []
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
    return problems + _common_app_problems(p, doc)


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
        if app_name == SECRETS_APP:
            problems.append(doc.problem(("catalog", app_name),
                                        f"the app name {SECRETS_APP!r} is reserved: every federation's "
                                        f"`<name>-{SECRETS_APP}` Application uses it", key=True))
        clash = next((o for o in sorted({*p.catalog, SECRETS_APP}) if app_name.endswith(f"-{o}")), None)
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


def _known(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def load_federation(repo: Repo, directory: str) -> LoadedFederation:
    doc = repo.read(directory)
    if kind_of(doc) is not Federation:
        raise MipError([doc.problem(("kind",), "a federation directory must hold a Federation mip.yaml")])
    return LoadedFederation(to_model(doc, Federation), doc, directory)


def check_federation(platform: LoadedPlatform, fed: LoadedFederation) -> list[Problem]:
    """What a federation file may not say, given the platform it belongs to."""
    p, f, doc = platform.model, fed.model, fed.doc
    problems = []
    meter.at(lambda message: doc.problem(("name",), message))  # namePattern is the platform's own regex
    if not re.fullmatch(p.federations.namePattern, f.name):
        problems.append(doc.problem(("name",), f"must match the platform's federation name pattern "
                                               f"{p.federations.namePattern}"))
    # The pattern is the platform's allowlist; these are refused whatever it allows (names.py).
    reserved = {*STATIC_PROJECTS, p.argocd.namespace, ROOT_APPLICATION,
                *(a.namespace for a in p.commonApps.values()), *p.commonApps}
    if f.name in reserved or is_system_namespace(f.name):
        problems.append(doc.problem(("name",), f"{f.name!r} is reserved for Kubernetes, the cluster's "
                                               "infrastructure or the platform itself; choose another name"))
    else:
        problems += _name_collisions(p, f, doc)
    if f.cluster not in p.clusters:
        problems.append(doc.problem(("cluster",), f"unknown cluster {f.cluster!r}; the platform's clusters "
                                                  f"are: {_known(p.clusters)}"))
    for app_name, app in f.apps.items():
        if app_name not in p.catalog:
            problems.append(doc.problem(("apps", app_name), f"unknown app {app_name!r}; the platform's "
                                                           f"catalog has: {_known(p.catalog)}", key=True))
        if app is not None:
            problems += credentials_in(doc, ("apps", app_name, "values"), app.values)
    return problems


def _name_collisions(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    """Application names are `<federation>` (its wrapper), `<federation>-<app>` and `<federation>-secrets`,
    all in the Argo CD namespace: a name must not be able to produce another federation's or the platform's.
    Together with the platform's catalog check (no app name ends in `-<other app>`), no two federations
    can ever render the same Application, whichever federation directories exist."""
    for suffix in sorted({*p.catalog, SECRETS_APP}):
        prefix = f.name[: -len(suffix) - 1]
        if f.name.endswith(f"-{suffix}") and re.fullmatch(p.federations.namePattern, prefix):
            return [doc.problem(("name",), f"{f.name!r} would collide with the Application of app {suffix!r} "
                                           f"of a federation {prefix!r}; choose another name")]
    for app_name in sorted({*f.apps, SECRETS_APP}):
        if f"{f.name}-{app_name}" in {*p.commonApps, ROOT_APPLICATION}:
            return [doc.problem(("name",), f"its Application {f.name}-{app_name} would collide with the "
                                           "platform's Application of that name; choose another name")]
    return []


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
    """Every federation directory, with all their problems reported together. Each is kept only as far as
    the root needs it (its name, cluster, type, app names, directory): a parsed file with its positions
    costs hundreds of bytes per node, and the root reads up to budget.MAX_TOTAL_NODES of them."""
    federations: list[LoadedFederation] = []
    problems: list[Problem] = []
    for directory in federation_dirs(repo, platform.model):
        try:
            fed = load_federation(repo, directory)
        except meter.Exceeded:
            raise  # the render's budget is spent: reading on would only cost more
        except MipError as exc:
            problems += exc.problems
            continue
        problems += check_federation(platform, fed)
        federations.append(_summary(fed))
    problems += check_unique(federations)
    if problems:
        raise MipError(problems)
    return federations


def _summary(fed: LoadedFederation) -> LoadedFederation:
    """`fed` without its values and with only the position of its name (check_unique's)."""
    doc = fed.doc
    name: KeyPath = ("name",)
    marks = {name: mark} if (mark := doc.mark(name)) is not None else {}
    key_marks = {name: mark} if (mark := doc.mark(name, key=True)) is not None else {}
    model = fed.model.model_copy(update={"apps": dict.fromkeys(fed.model.apps), "publicHost": None})
    return LoadedFederation(model, Document(doc.file, None, marks, key_marks), fed.directory)
