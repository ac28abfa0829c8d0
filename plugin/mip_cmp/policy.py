"""The last gate before output: what each kind of directory may emit, checked on the objects themselves.

The expansion already derives every name, namespace, project and cluster; this gate re-checks the result
independently, so a future bug in the expansion cannot turn into a tenancy escape, a plaintext Secret,
a rotated password or an empty output. It never trusts the input: only the platform model and the
federation's validated name decide what is allowed.
"""

from __future__ import annotations

from typing import Any

from .contract.params import APPSET_BINDING, SECRETS_COMPONENT, binding
from .errors import InternalError, MipError, Problem
from .model import Federation, Platform
from .names import (
    COMMON_PROJECT,
    FEDERATIONS_PROJECT,
    FILE_NAME,
    GENERATORS_API,
    INFRA_PROJECT,
    KEEP_ON_DELETE,
    SECRETS_APP,
    STATIC_PROJECTS,
    SYNC_OPTIONS,
)

PLATFORM_KINDS = {"AppProject", "ApplicationSet", "Application", "ExternalSecret", "Password", "Namespace"}
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
            problems.append(_violation(file, obj, "a password generator must carry Prune=false,Delete=false"))
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
            problems.append(_violation(file, obj, "a generated secret must carry Prune=false,Delete=false"))
    return problems


def check_platform_output(p: Platform, objects: list[dict[str, Any]]) -> None:
    """What the root renders stays in the platform's projects and the Argo CD namespace. A refusal is a bug in
    the expansion (InternalError), not something the author can fix."""
    file = FILE_NAME
    _not_empty(objects, file, "the platform yields no objects")
    problems = []
    projects = {o["metadata"]["name"] for o in objects if o["kind"] == "AppProject"}
    # The root creates only the namespaces it writes common apps' secrets into (expand.root_namespaces).
    secret_namespaces = {a.namespace for a in p.commonApps.values() if a.secrets}
    for obj in objects:
        if obj["kind"] not in PLATFORM_KINDS:
            problems.append(_violation(file, obj, "kind not allowed from the platform directory"))
            continue
        if obj["kind"] == "Namespace":
            if obj["metadata"]["name"] not in secret_namespaces:
                problems.append(_violation(file, obj, "the root creates only its common apps' namespaces"))
            continue
        if obj["kind"] in ("AppProject", "ApplicationSet", "Application") and \
                obj["metadata"]["namespace"] != p.argocd.namespace:
            problems.append(_violation(file, obj, "must live in the Argo CD namespace"))
        if obj["kind"] == "Application" and obj["spec"]["project"] not in (COMMON_PROJECT, INFRA_PROJECT):
            problems.append(_violation(file, obj, "common apps belong to the common project"))
        if obj["kind"] == "ApplicationSet":
            problems += _appset_problems(p, file, obj)
        if obj["kind"] in FEDERATION_SECRET_KINDS:
            problems += _secret_problems(file, obj)
    if not set(STATIC_PROJECTS) <= projects:
        problems.append(Problem(file, 0, 0, "", "a static project is missing"))
    if problems:
        raise InternalError(problems)


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
    name = meta.get("name")
    if name == f"{f.name}-{SECRETS_APP}":
        # The only plugin source: the repository root rendering this same federation's secrets, bound to it.
        expected_plugin = {"name": p.argocd.pluginName,
                           "parameters": binding(f.name, directory, SECRETS_COMPONENT)}
        if source.get("repoURL") != p.repoURL or source.get("path") != "." or \
                source.get("plugin") != expected_plugin or \
                set(source) - {"repoURL", "targetRevision", "path", "plugin"}:
            problems.append(_violation(file, obj,
                                       "the secrets Application must render this directory's secrets"))
        return problems
    app = name[len(f.name) + 1:] if isinstance(name, str) and name.startswith(f"{f.name}-") else None
    if app not in f.apps or app not in p.catalog:
        problems.append(_violation(file, obj,
                                   f"a federation's Applications are named {f.name}-<catalog app>"))
        return problems
    chart = p.catalog[app]
    if source.get("repoURL") != chart.repoURL or source.get("path") != chart.path or \
            set(source) != {"repoURL", "targetRevision", "path", "helm"}:
        problems.append(_violation(file, obj, f"source must be the catalog's Helm chart for {app!r}"))
    return problems


def check_federation_output(p: Platform, f: Federation, directory: str, component: str,
                            objects: list[dict[str, Any]]) -> None:
    """Everything the federation in `directory` yields stays in its own project, namespace and cluster. A
    refusal is a bug in the expansion (InternalError); only an empty output is the author's to fix."""
    file = f"{directory}/{FILE_NAME}"
    if component == SECRETS_COMPONENT:
        _not_empty(objects, file, f"none of federation {f.name}'s apps needs a platform secret "
                                  "(component=secrets)")
    elif f.state != "retired":  # retired: no Applications is what prunes its workloads
        _not_empty(objects, file, f"federation {f.name} yields no Applications")
    problems = []
    allowed_kinds = FEDERATION_SECRET_KINDS if component == SECRETS_COMPONENT else FEDERATION_APP_KINDS
    needed = {s for a in f.apps if a in p.catalog for s in p.catalog[a].secrets}
    for obj in objects:
        kind, meta, spec = obj.get("kind"), obj.get("metadata", {}), obj.get("spec", {})
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
        if kind == "ExternalSecret" and "secretStoreRef" in spec and (p.secretStore is None or
                spec["secretStoreRef"] != {"kind": p.secretStore.kind, "name": p.secretStore.name}):
            problems.append(_violation(file, obj, "must read from the platform's secret store"))
        problems += _secret_problems(file, obj)
    if problems:
        raise InternalError(problems)
