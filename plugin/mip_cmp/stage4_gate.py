"""The last gate before output: what each kind of directory may emit, checked on the objects themselves.

The expansion already derives every name, namespace, project and cluster; this gate re-checks the result
independently, so a future bug in the expansion cannot turn into a tenancy escape, a plaintext Secret,
a rotated password or an empty output. It never trusts the input: only the platform model and the
federation's validated name decide what is allowed.
"""

from __future__ import annotations

import posixpath
from typing import Any

from .contract.params import (
    APPSET_BINDING,
    NETWORK_COMPONENT,
    OBJECTS_COMPONENT,
    SECRETS_COMPONENT,
    binding,
    common_binding,
)
from .core.errors import InternalError, MipError, Problem
from .core.names import (
    COMMON_PROJECT,
    FEDERATIONS_PROJECT,
    FILE_NAME,
    INFRA_PROJECT,
    NETWORK_APP,
    OBJECTS_APP,
    OVERLAY_APP,
    SECRETS_APP,
    STATIC_PROJECTS,
    infra_project_name,
)
from .core.vocabulary import GENERATORS_API, KEEP_ON_DELETE, NETWORK_API, SOURCE_TYPE_BLOCKS, SYNC_OPTIONS, empty_block
from .model.federation import Federation
from .model.platform import Platform
from .stage2_check.flows import DEFAULT_DENY, closed_apps

PLATFORM_KINDS = {"AppProject", "ApplicationSet", "Application"}
FEDERATION_APP_KINDS = {"Application"}
FEDERATION_SECRET_KINDS = {"ExternalSecret", "Password"}


def _violation(file: str, obj: dict[str, Any], message: str) -> Problem:
    meta = obj.get("metadata", {})
    return Problem(file, 0, 0, "", f"refusing to emit {obj.get('kind')} {meta.get('namespace')}/"
                                   f"{meta.get('name')}: {message}")


def _not_empty(objects: list[dict[str, Any]], file: str, what: str) -> None:
    # Argo CD takes empty output for "this app has no resources" and, with auto-prune, deletes them all
    # (argo-cd #15339): an empty render is always an error, never a success.
    if not objects:
        raise MipError([Problem(file, 0, 0, "", f"nothing to render: {what}; refusing to print empty output, "
                                                "which Argo CD would take as 'delete everything'")])


def _keep_on_delete(obj: dict[str, Any]) -> bool:
    options = {o.strip() for o in obj["metadata"].get("annotations", {}).get(SYNC_OPTIONS, "").split(",")}
    return set(KEEP_ON_DELETE) <= options


def _secret_problems(file: str, obj: dict[str, Any]) -> list[Problem]:
    """External Secrets invariants: no bulk copy from the store, and a generated password is made once and
    then never rotated or overwritten (see docs/security.md, "Secrets")."""
    problems = []
    spec = obj.get("spec", {})
    if obj["kind"] == "Password":
        if not _keep_on_delete(obj):
            problems.append(_violation(file, obj, f"a password generator must carry {','.join(KEEP_ON_DELETE)}"))
        return problems
    target = spec.get("target", {})
    if target.get("name") != obj["metadata"]["name"]:
        problems.append(_violation(file, obj, "target.name must be the ExternalSecret's own name"))
    data_from = spec.get("dataFrom", [])
    if any("find" in d or "extract" in d for d in data_from):
        problems.append(_violation(file, obj, "dataFrom find/extract would copy arbitrary store entries"))
    generated = [d for d in data_from if "generatorRef" in d.get("sourceRef", {})]
    if generated:
        never_rotate = (
            spec.get("refreshPolicy") == "CreatedOnce" and spec.get("refreshInterval") == "0s"
            and target.get("creationPolicy") == "Orphan" and target.get("deletionPolicy") == "Retain"
            and target.get("immutable") is True and "secretStoreRef" not in spec
            and len(generated) == len(data_from)
            and all(d["sourceRef"]["generatorRef"].get("apiVersion") == GENERATORS_API for d in generated)
        )
        if not never_rotate:
            problems.append(_violation(
                file, obj, "a generated secret must be CreatedOnce, refreshInterval 0s, Orphan, Retain and "
                           "immutable, so its passwords are never rotated or overwritten"))
        if not _keep_on_delete(obj):
            problems.append(_violation(file, obj, f"a generated secret must carry {','.join(KEEP_ON_DELETE)}"))
    return problems


def _store_problems(p: Platform, file: str, obj: dict[str, Any]) -> list[Problem]:
    """An ExternalSecret reads from the platform's store only (its own secretStoreRef or per data entry)."""
    spec = obj.get("spec", {})
    refs = [spec["secretStoreRef"]] if "secretStoreRef" in spec else []
    refs += [d["sourceRef"]["storeRef"] for d in spec.get("data", []) if "storeRef" in d.get("sourceRef", {})]
    unsourced = [d for d in spec.get("data", []) if "sourceRef" not in d] and "secretStoreRef" not in spec
    platform_store = None if p.secretStore is None else {"kind": p.secretStore.kind, "name": p.secretStore.name}
    if unsourced or any(ref != platform_store for ref in refs):
        return [_violation(file, obj, "must read from the platform's secret store")]
    return []


def check_platform_output(p: Platform, objects: list[dict[str, Any]]) -> None:
    """What the root renders stays in the platform's projects and the Argo CD namespace. A refusal is a bug in
    the expansion (InternalError), not something the author can fix."""
    file = FILE_NAME
    _not_empty(objects, file, "the platform yields no objects")
    problems = []
    projects = {o["metadata"]["name"] for o in objects if o["kind"] == "AppProject"}
    network_targets = _network_targets(p, objects)
    for obj in objects:
        if obj["kind"] not in PLATFORM_KINDS:
            # Nothing whose health waits on another controller (an ExternalSecret on the store): the root's
            # sync waits for every wave to be healthy, so one app's missing secret would hold back them all.
            problems.append(_violation(file, obj, "kind not allowed from the platform directory"))
            continue
        problems += _root_object_problems(p, file, obj, network_targets)
    if not set(STATIC_PROJECTS) <= projects:
        problems.append(Problem(file, 0, 0, "", "a static project is missing"))
    if problems:
        raise InternalError(problems)


def _root_object_problems(p: Platform, file: str, obj: dict[str, Any],
                          network_targets: dict[str, tuple[str, str, list[dict[str, str]]]]) -> list[Problem]:
    """One object the root renders: Argo CD objects in the Argo CD namespace, Applications in the platform's
    projects, no wildcard grant."""
    problems = []
    kind = obj["kind"]
    if obj["metadata"]["namespace"] != p.argocd.namespace:
        problems.append(_violation(file, obj, "must live in the Argo CD namespace"))
    if kind == "Application":
        problems += _platform_app_problems(p, file, obj, network_targets) + _source_block_problems(file, obj)
    if kind == "AppProject" and obj["metadata"]["name"] != "default" and _wildcards(obj):
        problems.append(_violation(file, obj, "a project grants nothing by wildcard"))
    if kind == "ApplicationSet":
        problems += _appset_problems(p, file, obj)
    return problems


def _source_block_problems(file: str, obj: dict[str, Any]) -> list[Problem]:
    """No source carries an empty helm/kustomize/directory block: Argo CD's controller removes it from the live
    Application, and the Application that applied it would self-heal it back for ever."""
    spec = obj.get("spec", {})
    sources = [spec["source"]] if "source" in spec else list(spec.get("sources", []))
    if any(empty_block(s.get(block)) for s in sources for block in SOURCE_TYPE_BLOCKS):
        return [_violation(file, obj, f"an empty {'/'.join(SOURCE_TYPE_BLOCKS)} block in a source would never "
                                      "settle: Argo CD removes it, self-heal puts it back")]
    return []


def _network_targets(p: Platform, objects: list[dict[str, Any]]) -> dict[str, tuple[str, str, list[dict[str, str]]]]:
    """`<owner>-network` Application name -> (server, namespace, plugin parameters) it must have: one per
    federation of the ApplicationSet and per common or infrastructure app whose namespace mip-cmp closes."""
    targets = {f"{name}-{NETWORK_APP}": (p.clusters[app.cluster], app.namespace,
                                         common_binding(name, NETWORK_COMPONENT))
               for name, app in closed_apps(p).items()}
    for appset in (o for o in objects if o["kind"] == "ApplicationSet"):
        for generator in appset["spec"]["generators"]:
            for element in generator.get("list", {}).get("elements", []):
                name, directory = element["name"], element["path"]
                targets[f"{name}-{NETWORK_APP}"] = ("", name, binding(name, directory, NETWORK_COMPONENT))
    return targets


def _platform_app_problems(p: Platform, file: str, obj: dict[str, Any],
                           network_targets: dict[str, tuple[str, str, list[dict[str, str]]]]) -> list[Problem]:
    project = obj["spec"]["project"]
    if project == COMMON_PROJECT:
        return []
    if project == INFRA_PROJECT:
        return _secrets_app_problems(p, file, obj)
    if obj["metadata"]["name"] in network_targets or project.endswith(f"-{NETWORK_APP}"):
        return _network_app_problems(p, file, obj, network_targets)
    if obj["metadata"]["name"] in p.infrastructure:
        return _infrastructure_app_problems(p, file, obj)
    return [_violation(file, obj, "the root's Applications belong to the platform's projects")]


def _secrets_app_problems(p: Platform, file: str, obj: dict[str, Any]) -> list[Problem]:
    """The root's Applications in the infrastructure project: `<app>-secrets` of a common or infrastructure app
    with `secrets`, rendering exactly that app's secrets into its namespace on its cluster."""
    name, spec = obj["metadata"]["name"], obj["spec"]
    owner = name.removesuffix(f"-{SECRETS_APP}")
    app = p.secret_holders().get(owner) if owner != name else None
    if app is None:
        return [_violation(file, obj, "the infrastructure project holds only the <common or infrastructure "
                                      "app>-secrets Applications of apps with `secrets`")]
    source = spec.get("source", {})
    expected = {"repoURL": p.repoURL, "targetRevision": source.get("targetRevision"), "path": ".",
                "plugin": {"name": p.argocd.pluginName, "parameters": common_binding(owner, SECRETS_COMPONENT)}}
    if source != expected or spec.get("destination") != {"server": p.clusters[app.cluster], "namespace": app.namespace}:
        return [_violation(file, obj, f"must render the secrets of {owner!r} into namespace {app.namespace!r}")]
    return []


def _wildcards(obj: dict[str, Any]) -> bool:
    """Whether an AppProject grants anything by wildcard (its blacklists may use them: they only deny)."""
    spec = obj.get("spec", {})
    entries = [*spec.get("destinations", []), *spec.get("clusterResourceWhitelist", []),
               *spec.get("namespaceResourceWhitelist", [])]
    granted = [*spec.get("sourceRepos", []), *(v for entry in entries for v in entry.values())]
    return "*" in "\0".join(map(str, granted))  # one search over them all (the separator is no wildcard)


def _network_app_problems(p: Platform, file: str, obj: dict[str, Any],
                          targets: dict[str, tuple[str, str, list[dict[str, str]]]]) -> list[Problem]:
    """`<owner>-network` Applications: the root rendered for exactly that namespace (on its cluster)."""
    name, spec = obj["metadata"]["name"], obj["spec"]
    if name not in targets:
        return [_violation(file, obj, "the network project holds only <federation|common app>-network apps")]
    server, namespace, parameters = targets[name]
    if spec.get("project") != name:
        return [_violation(file, obj, f"must be in its own project {name!r}")]
    source, destination = spec.get("source", {}), spec.get("destination", {})
    expected = {"repoURL": p.repoURL, "targetRevision": source.get("targetRevision"), "path": ".",
                "plugin": {"name": p.argocd.pluginName, "parameters": parameters}}
    if source != expected or destination.get("namespace") != namespace or \
            (server and destination.get("server") != server) or destination.get("server") not in p.clusters.values():
        return [_violation(file, obj, f"must render the NetworkPolicies of namespace {namespace!r}")]
    return []


def _infrastructure_app_problems(p: Platform, file: str, obj: dict[str, Any]) -> list[Problem]:
    name, spec = obj["metadata"]["name"], obj["spec"]
    app = p.infrastructure[name]
    if spec.get("project") != infra_project_name(name) or \
            spec.get("destination") != {"server": p.clusters[app.cluster], "namespace": app.namespace}:
        return [_violation(file, obj, f"an infrastructure app lives in its own project and namespace "
                                      f"{app.namespace!r}")]
    return []


def check_network_output(namespace: str, objects: list[dict[str, Any]], file: str) -> None:
    """component=network: the NetworkPolicies of one namespace, its default deny among them."""
    problems = []
    for obj in objects:
        if obj.get("kind") != "NetworkPolicy" or obj.get("apiVersion") != NETWORK_API:
            problems.append(_violation(file, obj, "only NetworkPolicies come from component=network"))
        elif obj["metadata"].get("namespace") != namespace:
            problems.append(_violation(file, obj, f"must be in namespace {namespace!r}"))
    deny = [o for o in objects if o.get("kind") == "NetworkPolicy" and o["metadata"]["name"] == DEFAULT_DENY]
    if len(deny) != 1 or deny[0]["spec"] != {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}:
        problems.append(Problem(file, 0, 0, "", f"namespace {namespace!r} must get exactly one default deny"))
    if problems:
        raise InternalError(problems)


def _overlay_problems(p: Platform, f: Federation, directory: str, obj: dict[str, Any]) -> list[Problem]:
    """`<federation>-<app>-overlay`: a plain or kustomize directory inside the federation's own directory,
    from this repository, nothing else."""
    file = f"{directory}/{FILE_NAME}"
    source = obj["spec"].get("source", {})
    path = source.get("path")
    inside = isinstance(path, str) and posixpath.normpath(path) == path and path.startswith(f"{directory}/")
    # No type block: Argo CD tells kustomize from plain manifests itself (loading checked which it is).
    if source.get("repoURL") != p.repoURL or not inside or set(source) != {"repoURL", "targetRevision", "path"}:
        return [_violation(file, obj, "an overlay is a directory inside the federation's own directory")]
    return []


def _appset_problems(p: Platform, file: str, obj: dict[str, Any]) -> list[Problem]:
    """Wrapper Applications: in the wrappers' project, rendering the root with their binding parameters."""
    spec = obj["spec"]["template"]["spec"]
    source = spec.get("source", {})
    expected_plugin = {"name": p.argocd.pluginName, "parameters": APPSET_BINDING}
    if spec.get("project") != FEDERATIONS_PROJECT or source.get("repoURL") != p.repoURL or \
            source.get("path") != "." or source.get("plugin") != expected_plugin or \
            spec.get("destination") != {"server": p.argocd.server, "namespace": p.argocd.namespace}:
        return [_violation(file, obj, "wrapper Applications must render the repository root, bound to their "
                                      "federation, in the federations project")]
    return []


def _federation_app_problems(p: Platform, f: Federation, directory: str, obj: dict[str, Any]) -> list[Problem]:
    file = f"{directory}/{FILE_NAME}"
    problems = []
    meta, spec = obj.get("metadata", {}), obj.get("spec", {})
    dest, source = spec.get("destination", {}), spec.get("source", {})
    server = p.clusters[f.cluster]
    if meta.get("namespace") != p.argocd.namespace:
        problems.append(_violation(file, obj, "Applications live in the Argo CD namespace"))
    if spec.get("project") != f.name or spec.get("project") in (*STATIC_PROJECTS, FEDERATIONS_PROJECT):
        problems.append(_violation(file, obj, f"project must be {f.name!r}"))
    if dest != {"server": server, "namespace": f.name}:
        problems.append(_violation(file, obj, f"destination must be namespace {f.name!r} on {server}"))
    if "sources" in spec:
        problems.append(_violation(file, obj, "multi-source Applications are not allowed"))
    problems += _source_block_problems(file, obj)
    name = meta.get("name")
    components = {f"{f.name}-{SECRETS_APP}": SECRETS_COMPONENT, f"{f.name}-{OBJECTS_APP}": OBJECTS_COMPONENT}
    if name in components:
        # The only plugin sources: the repository root rendering one component of this same federation,
        # bound to it.
        expected_plugin = {"name": p.argocd.pluginName,
                           "parameters": binding(f.name, directory, components[name])}
        if source.get("repoURL") != p.repoURL or source.get("path") != "." or \
                source.get("plugin") != expected_plugin or \
                set(source) - {"repoURL", "targetRevision", "path", "plugin"}:
            problems.append(_violation(file, obj, f"the {components[name]} Application must render this "
                                                  f"directory's {components[name]}"))
        return problems
    app = name[len(f.name) + 1:] if isinstance(name, str) and name.startswith(f"{f.name}-") else None
    overlays = {f"{a}-{OVERLAY_APP}" for a, own in f.apps.items() if own is not None and own.overlay is not None}
    if app in overlays:
        return problems + _overlay_problems(p, f, directory, obj)
    if app not in f.apps or app not in p.catalog:
        problems.append(_violation(file, obj,
                                   f"a federation's Applications are named {f.name}-<catalog app>"))
        return problems
    chart = p.catalog[app]
    if source.get("repoURL") != chart.repoURL or source.get("path") != chart.path or \
            set(source) - {"helm"} != {"repoURL", "targetRevision", "path"}:
        problems.append(_violation(file, obj, f"source must be the catalog's Helm chart for {app!r}"))
    return problems


def _check_besides(p: Platform, f: Federation, file: str, objects: list[dict[str, Any]]) -> None:
    """component=objects: exactly the objects its apps declare for a federation of its type, in its namespace."""
    _not_empty(objects, file, f"none of federation {f.name}'s apps needs an object beside its chart "
                              "(component=objects)")
    declared = {(o.apiVersion, o.kind, o.name) for app in f.apps if app in p.catalog
                for o in p.catalog[app].objects if f.type in o.federationTypes}
    problems = [_violation(file, obj, f"only the objects its apps declare, in namespace {f.name!r}")
                for obj in objects
                if (obj.get("apiVersion"), obj.get("kind"), obj.get("metadata", {}).get("name")) not in declared
                or obj.get("metadata", {}).get("namespace") != f.name]
    if problems:
        raise InternalError(problems)


def check_federation_output(p: Platform, f: Federation, directory: str, component: str,
                            objects: list[dict[str, Any]]) -> None:
    """Everything the federation in `directory` yields stays in its own project, namespace and cluster. A
    refusal is a bug in the expansion (InternalError); only an empty output is the author's to fix."""
    file = f"{directory}/{FILE_NAME}"
    if component == OBJECTS_COMPONENT:
        _check_besides(p, f, file, objects)
        return
    if component == SECRETS_COMPONENT:
        _not_empty(objects, file, f"none of federation {f.name}'s apps needs a platform secret "
                                  "(component=secrets)")
    elif f.state != "retired":  # retired: no Applications is what prunes its workloads
        _not_empty(objects, file, f"federation {f.name} yields no Applications")
    problems = []
    allowed_kinds = FEDERATION_SECRET_KINDS if component == SECRETS_COMPONENT else FEDERATION_APP_KINDS
    needed = {s for a in f.apps if a in p.catalog for s in p.catalog[a].secrets}
    for obj in objects:
        kind, meta = obj.get("kind"), obj.get("metadata", {})
        if kind not in allowed_kinds:
            problems.append(_violation(file, obj, "kind not allowed from a federation directory"))
            continue
        if kind == "Application":
            problems += _federation_app_problems(p, f, directory, obj)
            continue
        if meta.get("namespace") != f.name:
            problems.append(_violation(file, obj, f"must be in namespace {f.name!r}"))
        if meta.get("name") not in needed:
            problems.append(_violation(file, obj, "only the platform secrets its apps need"))
        if kind == "ExternalSecret":
            problems += _store_problems(p, file, obj)
        problems += _secret_problems(file, obj)
    if problems:
        raise InternalError(problems)


def check_app_secrets_output(p: Platform, app_name: str, objects: list[dict[str, Any]]) -> None:
    """`<app>-secrets` of a common or infrastructure app: that app's secrets, in its namespace, from the
    platform's store, never rotated."""
    app = p.secret_holders().get(app_name)
    _not_empty(objects, FILE_NAME, f"app {app_name} needs no platform secret (component=secrets)")
    if app is None:
        raise InternalError([Problem(FILE_NAME, 0, 0, "", f"{app_name!r} is no app with `secrets`")])
    problems = []
    for obj in objects:
        meta = obj.get("metadata", {})
        if obj.get("kind") not in FEDERATION_SECRET_KINDS or meta.get("name") not in app.secrets or \
                meta.get("namespace") != app.namespace:
            problems.append(_violation(FILE_NAME, obj, f"only the secrets of {app_name!r}, in its namespace"))
            continue
        if obj["kind"] == "ExternalSecret":
            problems += _store_problems(p, FILE_NAME, obj)
        problems += _secret_problems(FILE_NAME, obj)
    if problems:
        raise InternalError(problems)
