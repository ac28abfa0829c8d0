"""The apps a platform deploys: catalog charts a federation may run (and the objects they need beside
their chart), common apps deployed once, and infrastructure apps in projects of their own.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from ..core.vocabulary import ARGO_GROUP, ESO_GROUP, GENERATORS_GROUP, IN_CLUSTER, NETWORK_GROUP
from .application import AppSync, IgnoreDifference, NamespaceMetadata, ResourceKind, Source
from .fields import (
    FEDERATION_TYPES,
    FederationType,
    KindName,
    Name,
    RepoPath,
    Strict,
    Text,
    Url,
    ValuePath,
    Values,
    no_entries,
    no_items,
)
from .network import AppNetwork

ApiVersion = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+"
                         r"((alpha|beta)[0-9]+)?$", max_length=253)]
# Kinds only mip-cmp writes (Argo CD's, External Secrets', NetworkPolicies) and Secrets (they come from
# `secrets`, never from git): an object beside a chart is none of these.
NOT_BESIDE_GROUPS = (ARGO_GROUP, ESO_GROUP, GENERATORS_GROUP)
NOT_BESIDE_KINDS = ((NETWORK_GROUP, "NetworkPolicy"), ("", "Secret"))
# What a catalog, common or infrastructure app takes from the platform's `secrets` catalog: one field, one
# meaning for all three (a federation's namespace, or the app's own).
SecretNames = Annotated[list[Name], Field(
    default_factory=no_items, description="Names of platform `secrets` this app needs in its namespace.")]


class ObjectBeside(Strict):
    """An object a catalog app needs in its federation's namespace beside its chart, e.g. a ServiceExport
    that makes one of the chart's Services reachable over Submariner from a hybrid federation's remote
    nodes. Applied by the federation's `<name>-objects` Application, in its project, which may create these
    kinds and nothing more."""

    apiVersion: ApiVersion = Field(description="`<group>/<version>`, or `v1` for the core group.")
    kind: KindName
    name: Name = Field(description="metadata.name; the namespace is always the federation's.")
    spec: Values | None = Field(None, description="Its spec, if the kind has one.")
    federationTypes: list[FederationType] = Field(
        default_factory=lambda: list(FEDERATION_TYPES), min_length=1,
        description="Federations of these types get it (e.g. only `hybrid` for a ServiceExport).")

    @model_validator(mode="after")
    def _not_mip_cmps(self) -> "ObjectBeside":
        group = self.group()
        if group in NOT_BESIDE_GROUPS or (group, self.kind) in NOT_BESIDE_KINDS:
            raise ValueError(f"{self.kind} ({group or 'core'}) is not an object beside a chart: mip-cmp writes "
                             "those itself (Secrets come from `secrets`)")
        return self

    def group(self) -> str:
        return self.apiVersion.rpartition("/")[0]

class Chart(Strict):
    """A Helm chart in a git repository, pinned to a commit."""

    repoURL: Url
    path: RepoPath = Field(description="Directory of the chart inside repoURL.")
    revision: Text = Field(description="Pinned git revision (a commit SHA is best).")
    version: Text = Field(description="Human-readable version of that revision, shown as a label.")
    valueFiles: list[RepoPath] = Field(
        default_factory=lambda: ["values.yaml"], description="Value files inside the chart directory."
    )
    values: Values = Field(
        default_factory=no_entries, description="Helm values; strings may hold {{ jinja2 }} expressions."
    )
    syncWave: int = Field(0, description="Argo CD sync wave of the app's Application.")
    annotations: dict[str, str] = Field(default_factory=no_entries, description="Extra Application annotations.")
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=no_items, description="Argo CD ignoreDifferences for every copy of the app."
    )
    secrets: SecretNames
    objects: list[ObjectBeside] = Field(
        default_factory=no_items, description="Objects it needs beside its chart in a federation's namespace.")
    publicHostValues: list[ValuePath] = Field(
        default_factory=no_items,
        description="Helm values that receive a federation's `publicHost`, as dotted paths (e.g. "
                    "`global.publicHost`): set from it wherever the federation sets one, so a federation "
                    "needs nothing but `publicHost`; a federation's own `values` may not set them (its host is "
                    "bound by the platform's `federations.publicHosts`). Not for common apps (they have no "
                    "federation).")
    sync: AppSync = Field(default_factory=AppSync, description="Sync options and prune, over the "
                                                                         "platform's defaults.")
    network: AppNetwork = Field(default_factory=AppNetwork,
                                description="Pod labels and ports its NetworkPolicies need (chart facts).")

    @model_validator(mode="after")
    def _host_paths_apart(self) -> "Chart":
        paths = set(self.publicHostValues)
        inside = sorted(p for p in paths if any(p.startswith(f"{q}.") for q in paths))
        if inside:
            raise ValueError(f"publicHostValues: {inside[0]} lies inside another of its paths (one value "
                             "cannot be both the host and a mapping)")
        named = [(o.group(), o.kind, o.name) for o in self.objects]
        if len(set(named)) != len(named):
            raise ValueError("objects: each kind and name once")
        return self

class CommonApp(Chart):
    """An app deployed once for the whole platform, in its own namespace."""

    namespace: Name = Field(description="The app's own namespace.")
    cluster: Name = Field(IN_CLUSTER, description="One of the platform's clusters.")

class InfrastructureApp(Strict):
    """A platform component outside the federations (an ingress controller, Submariner, ...), each in an
    AppProject of its own that lists exactly what it may create."""

    namespace: Name = Field(description="The app's namespace.")
    cluster: Name = Field(IN_CLUSTER, description="One of the platform's clusters.")
    source: Source | None = Field(None, description="Its source (or `sources`).")
    sources: list[Source] = Field(default_factory=no_items, description="Several sources, e.g. a chart and a "
                                                                    "`ref` for its value files.")
    version: Text | None = Field(None, description="Human-readable version, shown as a label.")
    syncWave: int = Field(0, description="Argo CD sync wave of its Application in the root.")
    sync: AppSync = Field(default_factory=AppSync, description="Sync options and prune, over the defaults.")
    ignoreDifferences: list[IgnoreDifference] = Field(default_factory=no_items)
    namespaceMetadata: NamespaceMetadata = Field(
        default_factory=NamespaceMetadata, description="Labels and annotations of its namespace, e.g. "
                                                       "`pod-security.kubernetes.io/enforce: privileged`.")
    clusterKinds: list[ResourceKind] = Field(default_factory=no_items,
                                             description="Cluster-scoped kinds it may create.")
    namespaceKinds: list[ResourceKind] = Field(min_length=1, description="Kinds it may create in its namespace.")
    secrets: SecretNames
    network: AppNetwork | None = Field(None, description=(
        "Set: its namespace is closed like a common app's (default deny, then what this says), by the "
        "Application `<name>-network`. Unset: mip-cmp makes no policy there (flows of other apps may still "
        "name it as their peer)."))

    @model_validator(mode="after")
    def _one_source(self) -> "InfrastructureApp":
        if (self.source is None) == (not self.sources):
            raise ValueError("set exactly one of source or sources")
        if any(k.name for k in self.namespaceKinds):
            raise ValueError("namespaceKinds take no `name`")
        return self

    def all_sources(self) -> list[Source]:
        return [self.source] if self.source is not None else list(self.sources)


# An app deployed once, in a namespace of its own: what owns a `<name>-network` or `<name>-secrets` Application.
OwnNamespaceApp = CommonApp | InfrastructureApp
