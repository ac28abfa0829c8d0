"""Network placement: where each namespace's NetworkPolicies are rendered (`<owner>-network`, its project)
and what the network component of a federation or common app holds (`policies` derives the policies)."""

from __future__ import annotations

from ..contract.params import NETWORK_COMPONENT, binding, common_binding
from ..core.names import network_name
from ..core.vocabulary import (
    ARGO_API,
    FEDERATION_LABEL,
    GENERATE_PATHS,
    NETWORK_GROUP,
    PART_OF,
    PRUNE_FALSE,
    SYNC_OPTIONS,
    SYNC_WAVE,
    Obj,
)
from ..model.federation import Federation
from ..model.platform import Platform
from ..stage2_check.flows import closed_apps
from ..stage2_check.loading import LoadedFederation
from .argocd import (
    ADMIN_ACTIONS,
    MANAGED_BY,
    Parts,
    app_project,
    federation_namespace_labels,
    generate_paths,
    kept_on_removal,
    meta,
    own_namespace_annotations,
    own_namespace_labels,
    project_role,
    root_source,
    sync_policy,
)
from .policies import app_policies, federation_policies


def network_project(p: Platform, owner: str, server: str, namespace: str, parts: Parts | None = None) -> Obj:
    """The project of `<owner>-network`: only admins, only NetworkPolicies, only in that one namespace.
    Federation maintainers control nothing here. One per namespace, so adding a federation adds a project
    and widens none."""
    parts = parts or Parts(p)
    name = network_name(owner)
    return app_project(
        parts, name, f"NetworkPolicies of namespace {namespace}, derived from the platform",
        repos=[p.repoURL], destinations=[(server, namespace)], cluster_kinds=parts.own_namespaces([namespace]),
        namespace_kinds=[(NETWORK_GROUP, "NetworkPolicy")],
        roles=[project_role(name, "admin", f"Full access to the network policies of {namespace}", ADMIN_ACTIONS,
                     list(p.rbac.adminGroups))],
        kept=kept_on_removal(p),  # as long as its network Application, which is kept
    )


def network_projects(p: Platform, federations: list[LoadedFederation], parts: Parts | None = None) -> list[Obj]:
    if not p.network.enabled:
        return []
    parts = parts or Parts(p)
    projects = [network_project(p, f.model.name, p.clusters[f.model.cluster], f.model.name, parts)
                for f in sorted(federations, key=lambda f: f.model.name)]
    return projects + [network_project(p, name, p.clusters[a.cluster], a.namespace, parts)
                       for name, a in closed_apps(p).items()]


def network_application(p: Platform, owner: str, server: str, namespace: str, parameters: list[dict[str, str]],
                        namespace_labels: dict[str, str], labels: dict[str, str], revision: str,
                        paths: str, parts: Parts | None = None,
                        namespace_annotations: dict[str, str] | None = None) -> Obj:
    """`<owner>-network`: renders the root again with component=network for one namespace, on its cluster,
    in the network project, one sync wave before everything else so the namespace is closed first. `paths`:
    what its render reads (generate_paths)."""
    annotations = {SYNC_WAVE: (parts or Parts(p)).waves["Application"], GENERATE_PATHS: paths}
    if kept_on_removal(p):
        # Kept when its federation (or common app) leaves the platform, like the project: the workloads left
        # running until an admin removes them stay closed off (pruning it would delete their policies).
        annotations[SYNC_OPTIONS] = PRUNE_FALSE
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta(network_name(owner), p.argocd.namespace, labels, annotations, finalizers=True),
        "spec": {
            "project": network_name(owner),
            "source": root_source(p, revision, parameters),
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": sync_policy(namespace_labels, namespace_annotations=namespace_annotations),
        },
    }


def network_applications(p: Platform, federations: list[LoadedFederation], revision: str,
                         parts: Parts | None = None) -> list[Obj]:
    if not p.network.enabled:
        return []
    parts = parts or Parts(p)
    apps = [network_application(p, f.model.name, p.clusters[f.model.cluster], f.model.name,
                                binding(f.model.name, f.directory, NETWORK_COMPONENT),
                                federation_namespace_labels(p, f.model),
                                {PART_OF: f.model.name, FEDERATION_LABEL: f.model.name},
                                revision, generate_paths(f.directory), parts)
            for f in sorted(federations, key=lambda f: f.model.name)]
    apps += [network_application(p, name, p.clusters[a.cluster], a.namespace, common_binding(name, NETWORK_COMPONENT),
                                 own_namespace_labels(p, a), {PART_OF: name}, revision, generate_paths(), parts,
                                 namespace_annotations=own_namespace_annotations(a))
             for name, a in closed_apps(p).items()]
    return apps


def federation_network(p: Platform, f: Federation) -> list[Obj]:
    labels = {**MANAGED_BY, PART_OF: f.name, FEDERATION_LABEL: f.name}
    return federation_policies(p, f, labels)


def _namespace_type(p: Platform, name: str) -> dict[str, str]:
    """The namespace-type label of a closed app's policies, as its namespace has it."""
    return {p.namespaceLabels.namespaceType: "infrastructure" if name in p.infrastructure else "common"}


def common_network(p: Platform, name: str) -> list[Obj]:
    """The policies of a common app's namespace, or an infrastructure app's that declares a `network`."""
    labels = {**MANAGED_BY, PART_OF: name, **_namespace_type(p, name)}
    return app_policies(p, name, labels)
