"""What a mip.yaml says of an Argo CD Application: its sources, its sync options and pruning (the platform's
defaults and what a federation may change), the differences it ignores, its namespace's metadata,
and a federation's overlay over an app.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ..core.vocabulary import APPLY_OUT_OF_SYNC_ONLY, CREATE_NAMESPACE, PRUNE_LAST
from .fields import (
    GroupName,
    KindName,
    LabelKey,
    LabelValue,
    Name,
    RepoPath,
    Strict,
    Text,
    Url,
    Values,
    no_entries,
    no_items,
)


class IgnoreDifference(Strict):
    """One entry of an Application's spec.ignoreDifferences (fields as Argo CD names them)."""

    group: str = ""
    kind: Text
    name: str | None = None
    jsonPointers: list[Text] = Field(default_factory=no_items)
    jqPathExpressions: list[Text] = Field(default_factory=no_items)
    managedFieldsManagers: list[Text] = Field(default_factory=no_items)


SyncOption = Literal[
    "ServerSideApply=true", "Replace=true", "RespectIgnoreDifferences=true", "SkipDryRunOnMissingResource=true",
    "PruneLast=true", "ApplyOutOfSyncOnly=true", "FailOnSharedResource=true", "Validate=false",
    "PrunePropagationPolicy=foreground", "PrunePropagationPolicy=background", "PrunePropagationPolicy=orphan",
]

DEFAULT_SYNC_OPTIONS: tuple[SyncOption, ...] = (APPLY_OUT_OF_SYNC_ONLY,)
FEDERATION_SYNC_OPTIONS: tuple[SyncOption, ...] = (
    "ServerSideApply=true", "RespectIgnoreDifferences=true", "SkipDryRunOnMissingResource=true", PRUNE_LAST,
    "Replace=true")


class SyncPolicy(Strict):
    """Sync options and pruning of the Applications a platform renders."""

    prune: bool = Field(True, description="Delete resources that left the source.")
    options: list[SyncOption] = Field(
        default_factory=lambda: list(DEFAULT_SYNC_OPTIONS),
        description=f"Argo CD sync options ({CREATE_NAMESPACE} is always set).")

class FederationSync(Strict):
    """What a federation's mip.yaml may change in the sync policy of its apps and extras."""

    options: list[SyncOption] = Field(
        default_factory=lambda: list(FEDERATION_SYNC_OPTIONS),
        description="Sync options a federation may add.")
    prune: bool = Field(True, description="Whether a federation may choose `prune` for its apps.")

class PlatformSync(SyncPolicy):
    """The defaults every Application gets, and what a federation may change."""

    federations: FederationSync = Field(default_factory=FederationSync,
                                        description="What a federation's mip.yaml may change.")

class AppSync(Strict):
    """Per-app sync settings (within what the platform allows)."""

    options: list[SyncOption] = Field(default_factory=no_items, description="Added to the platform's options.")
    prune: bool | None = Field(None, description="Overrides the platform's `prune`.")

class HelmSource(Strict):
    """Helm settings of a source."""

    releaseName: Name | None = None
    skipCrds: bool = Field(False, description="Leave out the chart's `crds/` directory (CRDs installed "
                                              "another way, e.g. by an operator's own release).")
    valueFiles: list[Text] = Field(default_factory=no_items, description="May start with `$<ref>/`.")
    values: Values = Field(default_factory=no_entries, description="Helm values (Argo CD's valuesObject).")

class KustomizeSource(Strict):
    """A kustomize directory; its kustomization.yaml may use `helmCharts` when Argo CD runs kustomize with
    --enable-helm (kustomize.buildOptions in argocd-cm)."""

    namePrefix: Name | None = None
    commonLabels: dict[LabelKey, LabelValue] = Field(default_factory=no_entries)

class DirectorySource(Strict):
    """A plain directory of manifests."""

    recurse: bool = False
    include: Text | None = None
    exclude: Text | None = None

class Source(Strict):
    """One Argo CD source: a Helm chart from a Helm repository (`chart`) or from git (`path` + `helm`), a
    kustomize directory, a plain directory, or a `ref` that other sources read value files from."""

    repoURL: Url | None = Field(None, description="Omitted: this repository, at the revision being rendered.")
    revision: Text | None = Field(None, description="Pinned revision; required with `repoURL`.")
    path: RepoPath | None = Field(None, description="Directory in a git repository.")
    chart: Name | None = Field(None, description="Chart name in a Helm repository (with `repoURL`).")
    ref: Name | None = Field(None, description="Name other sources use as `$<ref>/` in valueFiles.")
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    directory: DirectorySource | None = None

    @model_validator(mode="after")
    def _shape(self) -> "Source":
        if self.repoURL is not None and self.revision is None:
            raise ValueError("a source from another repository needs a pinned `revision`")
        if self.chart is not None and (self.repoURL is None or self.path is not None):
            raise ValueError("`chart` needs `repoURL` (a Helm repository) and no `path`")
        if self.chart is None and self.path is None and self.ref is None:
            raise ValueError("set `path` (git), `chart` (Helm repository) or `ref` (value files only)")
        kinds = [k for k in (self.helm, self.kustomize, self.directory) if k is not None]
        if len(kinds) > 1:
            raise ValueError("set at most one of helm, kustomize and directory")
        if self.chart is not None and (self.kustomize or self.directory):
            raise ValueError("a Helm repository chart takes `helm` settings only")
        return self

class ResourceKind(Strict):
    """An API group and kind, named exactly (no wildcards); `name` narrows a cluster-scoped kind to one
    object."""

    group: GroupName = Field("", description="API group; empty for the core group.")
    kind: KindName
    name: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$",
                                           max_length=253)] | None = None

class NamespaceMetadata(Strict):
    """Labels and annotations an app's namespace gets from its Application (managedNamespaceMetadata), e.g.
    Pod Security levels. `name` and the platform's `namespaceLabels` keys are mip-cmp's: set here, they are
    refused (the platform's keys say what the namespace is; no app may say otherwise)."""

    labels: dict[LabelKey, LabelValue] = Field(default_factory=no_entries)
    annotations: dict[LabelKey, Annotated[str, StringConstraints(strict=True, max_length=4096)]] = Field(
        default_factory=no_entries)

    @model_validator(mode="after")
    def _not_the_name(self) -> "NamespaceMetadata":
        if "name" in self.labels:
            raise ValueError("the label `name` holds the namespace's own name; mip-cmp sets it")
        return self

class Overlay(Strict):
    """A directory inside the federation's own directory, rendered by Argo CD as kustomize or plain
    manifests into the federation's namespace after the app (e.g. a PVC patch), in the federation's project
    like its other apps."""

    path: RepoPath = Field(description="Relative to the federation's directory; must stay inside it.")
    type: Literal["kustomize", "directory"] = Field("kustomize", description="How Argo CD renders it.")
    syncWave: int | None = Field(None, description="Argo CD sync wave; default: one after the app's.")
    sync: AppSync = Field(default_factory=AppSync, description="Within what the platform allows.")
