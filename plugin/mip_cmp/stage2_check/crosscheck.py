"""The checks that need several files at once: a platform file against itself (apps, secrets, clusters,
names that would collide), a federation file against its platform (its identity, its apps, what it may
claim), and federations against each other. Reading and binding the files is loading.py's job; this module
only looks at what it is given."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from ..core import compat, meter
from ..core.errors import MipError, Problem
from ..core.keypath import KeyPath
from ..core.names import (
    FEDERATIONS_APPSET,
    NETWORK_APP,
    OVERLAY_APP,
    RESERVED_APP_NAMES,
    RESERVED_NAMESPACES,
    ROOT_APPLICATION,
    SECRETS_APP,
    STATIC_PROJECTS,
    infra_project_name,
    is_system_namespace,
    network_name,
)
from ..core.redact import credential_value
from ..core.suggest import did_you_mean
from ..model.application import AppSync
from ..model.apps import Chart, InfrastructureApp
from ..model.federation import Federation
from ..model.platform import Platform
from ..stage1_read.templating import federation_context
from ..stage1_read.yamlsource import Document
from .flows import closed_apps, flow_problems, peer_problems


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
    sections: tuple[tuple[str, Mapping[str, Chart | InfrastructureApp]], ...] = (
        ("catalog", p.catalog), ("commonApps", p.commonApps), ("infrastructure", p.infrastructure))
    for section, apps in sections:
        for app_name, app in apps.items():
            for i, secret in enumerate(app.secrets):
                if secret not in p.secrets:
                    problems.append(doc.problem(
                        (section, app_name, "secrets", i),
                        f"unknown secret {secret!r}; define it under `secrets` "
                        f"(defined: {_known(p.secrets)}){did_you_mean(secret, p.secrets)}",
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


def _infrastructure_applications(p: Platform) -> set[str]:
    """The Applications of the infrastructure apps: each app's own, and its `-network` and `-secrets` ones
    where it has a `network` or `secrets`."""
    return {*p.infrastructure, *(network_name(n) for n in closed_apps(p) if n in p.infrastructure),
            *(f"{n}-{SECRETS_APP}" for n in p.secret_holders() if n in p.infrastructure)}


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
        if app.secrets and f"{name}-{SECRETS_APP}" in {*taken, *p.infrastructure}:
            problems.append(doc.problem((*where, "secrets"), f"its Application {name}-{SECRETS_APP} would have the "
                                                             "name of another Application of the platform"))
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


def check_federation(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    """What a federation file may not say, given the platform it belongs to."""
    return Identity(p).problems(f, doc) + _content_problems(p, f, doc)


class Identity:
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
        self.platform_apps = {*_common_apps_applications(p), *_infrastructure_applications(p),
                              ROOT_APPLICATION}

    def problems(self, f: Federation, doc: Document, overlays: Iterable[str] | None = None) -> list[Problem]:
        """`overlays`: the apps with an overlay (each has an Application of its own), if `f` does not say."""
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
            problems += self._name_collisions(f, doc, overlays)
        if f.cluster not in p.clusters:
            problems.append(doc.problem(("cluster",), f"unknown cluster {f.cluster!r}; the platform's clusters "
                                                      f"are: {_known(p.clusters)}"))
        return problems

    def _name_collisions(self, f: Federation, doc: Document, overlays: Iterable[str] | None) -> list[Problem]:
        """Application names are `<federation>` (its wrapper), `<federation>-<app>` and `<federation>-secrets`,
        all in the Argo CD namespace: a name must not be able to produce another federation's or the
        platform's. Together with the platform's catalog check (no app name ends in `-<other app>`), no two
        federations can ever render the same Application, whichever federation directories exist."""
        for suffix in self.suffixes:
            if f.name.endswith(suffix) and self.pattern.fullmatch(prefix := f.name[: -len(suffix)]):
                return [doc.problem(("name",), f"{f.name!r} would collide with the Application of app "
                                               f"{suffix[1:]!r} of a federation {prefix!r}; choose another name")]
        if overlays is None:
            overlays = [a for a, own in f.apps.items() if own is not None and own.overlay is not None]
        for app_name in sorted({*f.apps, *(f"{a}-{OVERLAY_APP}" for a in overlays), *RESERVED_APP_NAMES}):
            if f"{f.name}-{app_name}" in self.platform_apps:
                return [doc.problem(("name",), f"its Application {f.name}-{app_name} would collide with the "
                                               "platform's Application of that name; choose another name")]
        return []


def _content_problems(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    problems = []
    for app_name, app in f.apps.items():
        if app_name not in p.catalog:
            problems.append(doc.problem(("apps", app_name), f"unknown app {app_name!r}; the platform's "
                                                           f"catalog has: {_known(p.catalog)}", key=True))
        if app is not None:
            problems += _sync_problems(p, doc, ("apps", app_name), [app.sync, *([app.overlay.sync]
                                                                               if app.overlay else [])])
    # Every string of the file, not only `values`: a revision, a publicHost or an overlay path is written into
    # the Application as well (Argo CD caches it in Redis and shows it in its UI).
    problems += credentials_in(doc, (), doc.data)
    return problems + peer_problems(p, f, doc) + _host_problems(p, f, doc) + _host_value_problems(p, f, doc)


def _host_problems(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    """A federation claims only a host the platform's `federations.publicHosts` gives it: the pattern holds
    its name, so no two federations can ever claim the same host, and this needs no other federation's file
    (a claim fails the federation that makes it, never the root or the federation whose host it is)."""
    if f.publicHost is None:
        return []
    hosts = p.federations.publicHosts
    if hosts is None:
        return [doc.problem(("publicHost",), "the platform lets no federation claim a host (its mip.yaml sets no "
                                             "`federations.publicHosts`): remove `publicHost`, or have the "
                                             "platform's admins set `federations.publicHosts.pattern`")]
    try:
        host = federation_context(p, f, doc)["federation"]["publicHost"]
    except meter.Exceeded:
        raise
    except MipError as exc:
        return list(exc.problems)
    if host in hosts.reserved:
        return [doc.problem(("publicHost",), f"{host!r} is reserved by the platform "
                                             "(federations.publicHosts.reserved); this federation's hosts are "
                                             f"{hosts.example(f.name)}")]
    if not hosts.allows(f.name, host):
        return [doc.problem(("publicHost",), f"{host!r} is not one of this federation's hosts: the platform's "
                                             f"federations.publicHosts.pattern gives it {hosts.example(f.name)}"
                                             + (" ('*': any one DNS label)" if "*" in hosts.pattern else ""))]
    return []


def _host_value_problems(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    """The Helm values a catalog app takes its host from (`publicHostValues`) come from `publicHost` only: set
    in a federation's own values they would claim a host past the check above."""
    problems = []
    for app_name, own in f.apps.items():
        if own is None or app_name not in p.catalog:
            continue
        for path in p.catalog[app_name].publicHostValues:
            node: Any = own.values
            keys = path.split(".")
            for key in keys:
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                problems.append(doc.problem(("apps", app_name, "values", *keys), (
                    f"{app_name}'s host (the catalog's publicHostValues): set by `publicHost`, within what the "
                    "platform's federations.publicHosts allows; remove it here")))
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


def directory_name_warnings(f: Federation, doc: Document, directory_path: str) -> list[Problem]:
    """A directory named otherwise than the federation it holds. Argo CD does not mind (the ApplicationSet
    binds each directory to the name it declares, and renaming a directory changes no workload), but a reader
    of the tree, a diff or an annotation sees one name where Argo CD uses the other: `validate` and `render`
    warn, with the two ways out."""
    directory = PurePosixPath(directory_path)
    if directory.name == f.name:
        return []
    renamed = directory.parent / f.name
    return [doc.problem(("name",), f"{f.name!r} differs from its directory name {directory.name!r}; "
                                   f"rename the directory (git mv {directory} {renamed}) or set "
                                   f"`name: {directory.name}`")]


def credentials_in(doc: Document, path: KeyPath, values: Any) -> list[Problem]:
    """Strings under `path` that hold a credential: it would be written into the Application, which Argo CD
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


def check_unique(federations: Iterable[tuple[str, Document]]) -> list[Problem]:
    """Federation names (each with the file that declares it) that are declared twice."""
    problems = []
    seen: dict[str, Document] = {}
    for name, doc in federations:
        first = seen.setdefault(name, doc)
        if first is not doc:
            where = first.mark(("name",)) or (0, 0)
            problems.append(doc.problem(("name",), f"duplicate federation name {name!r}; already declared in "
                                                   f"{first.file}:{where[0]}:{where[1]}"))
    return problems


