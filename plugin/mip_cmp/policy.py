"""The last gate before output: what each kind of directory may emit, checked on the objects themselves.

The expansion already derives every name, namespace, project and cluster; this gate re-checks the result
independently, so a future bug in the expansion cannot turn into a tenancy escape. It never trusts the
input: only the platform model and the federation's validated name decide what is allowed.
"""

from __future__ import annotations

from typing import Any

from .errors import MipError, Problem
from .model import Federation, Platform
from .platform import COMMON_PROJECT, FEDERATIONS_PROJECT, INFRA_PROJECT, STATIC_PROJECTS

PLATFORM_KINDS = {"AppProject", "ApplicationSet", "Application", "ExternalSecret", "Password"}
FEDERATION_APP_KINDS = {"Application"}
FEDERATION_SECRET_KINDS = {"ExternalSecret", "Password"}


def _violation(file: str, obj: dict[str, Any], message: str) -> Problem:
    meta = obj.get("metadata", {})
    return Problem(file, 0, 0, "", f"refusing to emit {obj.get('kind')} {meta.get('namespace')}/"
                                   f"{meta.get('name')}: {message}")


def check_platform_output(p: Platform, objects: list[dict[str, Any]], file: str) -> None:
    problems = []
    projects = {o["metadata"]["name"] for o in objects if o["kind"] == "AppProject"}
    for obj in objects:
        if obj["kind"] not in PLATFORM_KINDS:
            problems.append(_violation(file, obj, "kind not allowed from the platform directory"))
        if obj["kind"] in ("AppProject", "ApplicationSet", "Application") and \
                obj["metadata"]["namespace"] != p.argocd.namespace:
            problems.append(_violation(file, obj, "must live in the Argo CD namespace"))
        if obj["kind"] == "Application" and obj["spec"]["project"] not in (COMMON_PROJECT, INFRA_PROJECT):
            problems.append(_violation(file, obj, "common apps belong to the common project"))
    if not set(STATIC_PROJECTS) <= projects:
        problems.append(Problem(file, 0, 0, "", "internal: a static project is missing"))
    if problems:
        raise MipError(problems)


def check_federation_output(p: Platform, f: Federation, component: str, objects: list[dict[str, Any]],
                            file: str) -> None:
    """Everything a federation directory yields stays in its own project, namespace and cluster."""
    problems = []
    allowed_kinds = FEDERATION_SECRET_KINDS if component == "secrets" else FEDERATION_APP_KINDS
    allowed_repos = {p.repoURL} | {p.catalog[a].repoURL for a in f.apps}
    server = p.clusters[f.cluster]
    for obj in objects:
        kind, meta, spec = obj.get("kind"), obj.get("metadata", {}), obj.get("spec", {})
        if kind not in allowed_kinds:
            problems.append(_violation(file, obj, "kind not allowed from a federation directory"))
            continue
        if kind == "Application":
            dest = spec.get("destination", {})
            source = spec.get("source", {})
            if meta.get("namespace") != p.argocd.namespace:
                problems.append(_violation(file, obj, "Applications live in the Argo CD namespace"))
            if spec.get("project") != f.name or spec.get("project") in (*STATIC_PROJECTS, FEDERATIONS_PROJECT):
                problems.append(_violation(file, obj, f"project must be {f.name!r}"))
            if dest != {"server": server, "namespace": f.name}:
                problems.append(_violation(file, obj, f"destination must be namespace {f.name!r} on {server}"))
            if source.get("repoURL") not in allowed_repos or "sources" in spec:
                problems.append(_violation(file, obj, "source repository not allowed for this federation"))
        elif meta.get("namespace") != f.name:
            problems.append(_violation(file, obj, f"must be in namespace {f.name!r}"))
        elif kind == "ExternalSecret" and "secretStoreRef" in spec and p.secretStore is not None and \
                spec["secretStoreRef"] != {"kind": p.secretStore.kind, "name": p.secretStore.name}:
            problems.append(_violation(file, obj, "must read from the platform's secret store"))
    if problems:
        raise MipError(problems)
