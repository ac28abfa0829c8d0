"""Loading and cross-checking a whole platform: the root mip.yaml and its federation directories.

Model validation checks each file on its own; the checks here need several files at once (unknown
clusters, apps and secrets, duplicate names, names that would collide with the platform's own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import MipError, Problem
from .model import Federation, Platform
from .repo import Repo
from .validation import kind_of, to_model
from .yamlsource import Document

# Projects the platform itself owns; no federation may take their names.
INFRA_PROJECT = "mip-infrastructure"
FEDERATIONS_PROJECT = "mip-federations"
COMMON_PROJECT = "mip-common"
STATIC_PROJECTS = ("default", INFRA_PROJECT, FEDERATIONS_PROJECT, COMMON_PROJECT)
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


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
    doc = repo.read(".")
    if kind_of(doc) is not Platform:
        raise MipError([doc.problem(("kind",), "the repository root must hold the Platform mip.yaml")])
    platform = to_model(doc, Platform)
    problems = check_platform(platform, doc)
    if problems:
        raise MipError(problems)
    return LoadedPlatform(platform, doc)


def check_platform(p: Platform, doc: Document) -> list[Problem]:
    problems = []
    try:
        re.compile(p.federations.namePattern)
    except re.error as exc:
        problems.append(doc.problem(("federations", "namePattern"), f"not a valid regular expression: {exc}"))
    needs_store = any(s.fromStore for s in p.secrets.values())
    if needs_store and p.secretStore is None:
        name = next(n for n, s in p.secrets.items() if s.fromStore)
        problems.append(doc.problem(("secrets", name, "fromStore"), "needs a platform `secretStore` to read from"))
    for section, apps in (("catalog", p.catalog), ("commonApps", p.commonApps)):
        for app_name, app in apps.items():
            for i, secret in enumerate(app.secrets):
                if secret not in p.secrets:
                    problems.append(doc.problem(
                        (section, app_name, "secrets", i),
                        f"unknown secret {secret!r}; define it under `secrets` (defined: {_known(p.secrets)})",
                    ))
    for app_name, app in p.commonApps.items():
        if app.cluster not in p.clusters:
            problems.append(doc.problem(("commonApps", app_name, "cluster"),
                                        f"unknown cluster {app.cluster!r}; the platform's clusters are: {_known(p.clusters)}"))
        if app.namespace == p.argocd.namespace or app.namespace in RESERVED_NAMESPACES:
            problems.append(doc.problem(("commonApps", app_name, "namespace"),
                                        f"namespace {app.namespace!r} is reserved; pick the app its own namespace"))
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
    if not re.fullmatch(p.federations.namePattern, f.name):
        problems.append(doc.problem(("name",), f"must match the platform's federation name pattern "
                                               f"{p.federations.namePattern}"))
    reserved = {*STATIC_PROJECTS, *RESERVED_NAMESPACES, p.argocd.namespace,
                *(a.namespace for a in p.commonApps.values()), *p.commonApps}
    if f.name in reserved or f.name.startswith("kube-"):
        problems.append(doc.problem(("name",), f"{f.name!r} is reserved by the platform; choose another name"))
    if f.cluster not in p.clusters:
        problems.append(doc.problem(("cluster",), f"unknown cluster {f.cluster!r}; the platform's clusters are: "
                                                  f"{_known(p.clusters)}"))
    for app_name in f.apps:
        if app_name not in p.catalog:
            problems.append(doc.problem(("apps", app_name), f"unknown app {app_name!r}; the platform's catalog has: "
                                                           f"{_known(p.catalog)}", key=True))
    return problems


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
