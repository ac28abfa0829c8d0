"""The `Platform` kind: the repository root's mip.yaml, everything shared by all federations.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from ..core.vocabulary import ARGOCD_NAMESPACE, FEDERATION_TYPE, IN_CLUSTER_SERVER, NAMESPACE_TYPE
from .application import PlatformSync
from .apps import Chart, CommonApp, InfrastructureApp, OwnNamespaceApp
from .fields import (
    Group,
    LabelKey,
    Name,
    RepoPath,
    Strict,
    Url,
    no_entries,
    no_items,
)
from .network import Network
from .secrets import Secret, SecretStore


class ArgoCD(Strict):
    """Where Argo CD runs and how it names this plugin."""

    namespace: Name = Field(ARGOCD_NAMESPACE, description="Namespace Argo CD runs in; all Applications go there.")
    server: Url = Field(IN_CLUSTER_SERVER, description="API server Argo CD itself runs on.")
    pluginName: Name = Field("mip-cmp", description="Name of this plugin as its plugin.yaml declares it.")
    version: Annotated[str, StringConstraints(strict=True, pattern=r"^v3\.[0-9]+\.[0-9]+$")] = Field(
        "v3.1.12",
        description="Argo CD version the platform runs (oldest supported: v3.1.12); the output uses only fields "
                    "it understands, and `validate` says what a newer one would add.",
    )

class NamespaceLabels(Strict):
    """The label keys mip-cmp writes on every namespace it manages (besides `name`). Other tools of the
    platform may select namespaces by them, e.g. a Calico tier that confines remote networks to the hybrid
    federations: name their keys here and those tools work unchanged."""

    namespaceType: LabelKey = Field(
        NAMESPACE_TYPE,
        description="Key whose value says what a namespace holds: `federation`, `common` or `infrastructure`.")
    federationType: LabelKey = Field(
        FEDERATION_TYPE, description="Key whose value is a federation's `type` (`local`, `hybrid`).")

    @model_validator(mode="after")
    def _distinct(self) -> "NamespaceLabels":
        if self.namespaceType == self.federationType:
            raise ValueError("namespaceType and federationType must be two different keys")
        if "name" in (self.namespaceType, self.federationType):
            raise ValueError("`name` is the label that holds a namespace's own name: choose another key")
        return self

class Rbac(Strict):
    """SSO groups given roles in every project (federations add `<name>-admins`/`<name>-developers`)."""

    adminGroups: list[Group] = Field(default_factory=no_items, description="May create, change and delete apps.")
    developerGroups: list[Group] = Field(default_factory=no_items, description="May view and sync apps.")

# Where a host pattern puts the federation's own name (the spelling a template would use).
NAME_IN_HOST = re.compile(r"\{\{ *federation\.name *\}\}")
_HOST_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
HostName = Annotated[str, StringConstraints(strict=True, pattern=rf"^{_HOST_LABEL}(\.{_HOST_LABEL})*$",
                                            max_length=253)]
_PATTERN_LABEL = r"(\*|([-a-z0-9]|\{\{ *federation\.name *\}\})+)"
HostPattern = Annotated[str, StringConstraints(strict=True, pattern=rf"^{_PATTERN_LABEL}(\.{_PATTERN_LABEL})*$",
                                               max_length=253)]


class PublicHosts(Strict):
    """The host names federations may claim as their `publicHost`."""

    pattern: HostPattern = Field(description=(
        "Every federation's `publicHost` must match it: a host name in which `{{ federation.name }}` stands "
        "for the federation's own name (required: so no federation can claim another's host) and a label `*` "
        "for any one DNS label, e.g. `{{ federation.name }}.mip.example.org`."))
    reserved: list[HostName] = Field(default_factory=no_items, description=(
        "Hosts no federation may claim although the pattern would allow them, e.g. the data catalogue's."))

    @field_validator("pattern")
    @classmethod
    def _holds_the_name(cls, pattern: str) -> str:
        if not NAME_IN_HOST.search(pattern):
            raise ValueError("must hold {{ federation.name }}, so that each federation's hosts are its own: "
                             "without it one federation could claim another's host")
        bad = [label for label in NAME_IN_HOST.sub("a", pattern).split(".")
               if label != "*" and not re.fullmatch(_HOST_LABEL, label)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a DNS label (a-z, 0-9 and '-' inside, at most 63)")
        return pattern

    def example(self, federation: str) -> str:
        """The pattern as it reads for one federation (its `*` labels kept)."""
        return NAME_IN_HOST.sub(lambda _: federation, self.pattern)

    def allows(self, federation: str, host: str) -> bool:
        """Whether `federation` may claim `host`: the pattern with its name, `*` one DNS label, not reserved.
        The name sits at a fixed place between fixed text, so no host matches for two names."""
        labels = [_HOST_LABEL if label == "*" else re.escape(label)
                  for label in self.example(federation).split(".")]
        return re.fullmatch(r"\.".join(labels), host) is not None and host not in self.reserved


class FederationsDir(Strict):
    """Where federation directories live and what their names must look like."""

    path: RepoPath | list[RepoPath] = Field(
        "federations", description="Directory whose subdirectories are federations, or a list of such "
                                   "directories (e.g. one for local and one for hybrid federations).")
    namePattern: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)] = Field(
        r"^federation-[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Regular expression every federation name must match.",
    )
    publicHosts: PublicHosts | None = Field(None, description=(
        "The hosts federations may claim as `publicHost`; without it, no federation may set one."))
    onRemoval: Literal["keep", "delete"] = Field(
        "keep",
        description="When a federation directory is deleted: `keep` its Applications, workloads, project and "
                    "data (an admin finishes the removal by hand); `delete` them all with it.",
    )

    def roots(self) -> list[str]:
        """Every directory whose subdirectories are federations, in the order given."""
        return [self.path] if isinstance(self.path, str) else list(self.path)

class Platform(Strict):
    """The repository root: everything shared by all federations."""

    apiVersion: Literal["mip-cmp.io/v1alpha1"]
    kind: Literal["Platform"]
    argocd: ArgoCD = Field(default_factory=ArgoCD, description="Argo CD's namespace, server and plugin name.")
    namespaceLabels: NamespaceLabels = Field(default_factory=NamespaceLabels,
                                             description="Label keys on the namespaces mip-cmp manages.")
    repoURL: Url = Field(description="URL of this repository, as Argo CD knows it.")
    clusters: dict[Name, Url] = Field(min_length=1, description="Cluster name -> API server URL.")
    rbac: Rbac = Field(default_factory=Rbac, description="Groups given admin/developer roles in every project.")
    secretStore: SecretStore | None = Field(None, description="Store that `fromStore` secrets read from.")
    secrets: dict[Name, Secret] = Field(
        default_factory=no_entries, description="Secrets apps may need, by Secret name; never their values."
    )
    catalog: dict[Name, Chart] = Field(default_factory=no_entries, description="Apps a federation may run.")
    commonApps: dict[Name, CommonApp] = Field(
        default_factory=no_entries, description="Apps deployed once for the whole platform."
    )
    federations: FederationsDir = Field(
        default_factory=FederationsDir, description="Where federation directories live."
    )
    infrastructure: dict[Name, InfrastructureApp] = Field(
        default_factory=no_entries, description="Platform components (ingress controller, Submariner, ...), each in "
                                          "an AppProject of its own.")
    network: Network = Field(default_factory=Network, description="Network isolation of every federation and "
                                                                  "common namespace.")
    syncPolicy: PlatformSync = Field(default_factory=PlatformSync,
                                     description="Default sync options and prune, and what federations may "
                                                 "change.")

    def secret_holders(self) -> dict[str, OwnNamespaceApp]:
        """The common and infrastructure apps with `secrets`, by name: each gets a `<name>-secrets` Application
        (the two sections never share a name: loading refuses it)."""
        apps: dict[str, OwnNamespaceApp] = dict(self.commonApps)
        apps.update(self.infrastructure)
        return {name: app for name, app in apps.items() if app.secrets}
