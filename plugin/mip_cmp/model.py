"""The mip.yaml format, defined once: these models are the parser, the validator and the JSON Schema.

Two kinds share one apiVersion: a `Platform` at the repository root and one `Federation` per federation
directory. Everything that can be derived (names, namespaces, projects, labels) is left out on purpose.

Built for a cold start too (`mip-cmp generate` without the warm renderer imports this module every time):
annotations are evaluated here, not kept as strings for pydantic to evaluate again (no
`from __future__ import annotations`; a validator returning its own class names it in quotes), and a model's
validator is built when it is first used (defer_build): validating a Platform builds the schemas of the
models inside it once, as part of its own, without a validator of their own (docs/performance.md).
"""

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from .coldstart import skip_plugin_scan
from .vocabulary import (
    APPLY_OUT_OF_SYNC_ONLY,
    ARGO_GROUP,
    ARGOCD_NAMESPACE,
    CREATE_NAMESPACE,
    ESO_GROUP,
    FEDERATION_TYPE,
    GENERATORS_GROUP,
    IN_CLUSTER,
    IN_CLUSTER_SERVER,
    NAMESPACE_TYPE,
    NETWORK_GROUP,
    PRUNE_LAST,
)

skip_plugin_scan()  # before the first model below is built (coldstart.py says why)

API_VERSION: Final = "mip-cmp.io/v1alpha1"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# A DNS-1123 label: the shape of namespaces, project names and most Kubernetes names.
Name = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=63)]
# Federation names become namespaces, projects and prefixes of Application names, hence shorter.
FederationName = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=40)]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2048)]
Url = Annotated[str, StringConstraints(strict=True, pattern=r"^(https?://|ssh://|git@)\S+$", max_length=2048)]
RepoPath = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^(\.|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)$", max_length=512),
]
SecretKey = Annotated[str, StringConstraints(strict=True, pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]
Group = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_.@:/-]+$", max_length=256)]
Values = dict[str, JsonValue]
# A Helm value by its keys joined with dots (keys holding a dot cannot be named this way).
ValuePath = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
                                            max_length=512)]


# Empty lists and mappings come from these functions, not from the builtins `list` and `dict`: pydantic asks
# every default factory's signature whether it takes the validated data, and a builtin's signature is parsed
# from text (inspect, tokenize): ~6 ms of a cold `generate` over these models (docs/performance.md).
def _no_items() -> list[Any]:
    return []


def _no_entries() -> dict[Any, Any]:
    return {}


class Strict(BaseModel):
    """Unknown keys are errors, nothing is coerced, and parsed models cannot be changed afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)  # defer: see above


class IgnoreDifference(Strict):
    """One entry of an Application's spec.ignoreDifferences (fields as Argo CD names them)."""

    group: str = ""
    kind: Text
    name: str | None = None
    jsonPointers: list[Text] = Field(default_factory=_no_items)
    jqPathExpressions: list[Text] = Field(default_factory=_no_items)
    managedFieldsManagers: list[Text] = Field(default_factory=_no_items)


# --- network isolation ----------------------------------------------------------------------------------

LabelKey = Annotated[str, StringConstraints(
    strict=True, max_length=316,
    pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
LabelValue = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
# Labels that select pods; never empty, so "every pod" is never written by accident.
PodLabels = Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]
Port = Annotated[int, Field(ge=1, le=65535)]
Cidr = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$")]


class PodPeer(Strict):
    """Pods of the same namespace, and the ports they are reached on (none: every port)."""

    pods: PodLabels = Field(description="Labels of the peer pods (all must match).")
    ports: list[Port] = Field(default_factory=_no_items, description="TCP ports; empty: every port.")


class PublicPods(Strict):
    """Pods the platform's ingress controller may reach (the chart's Ingress backends)."""

    pods: PodLabels = Field(description="Labels of the pods behind the app's Ingress.")
    ports: list[Port] = Field(min_length=1, description="TCP ports the ingress controller connects to.")


class IsolatedPods(Strict):
    """Pods kept out of the namespace-wide allowance: only the listed peers may reach them, and they reach
    only the listed peers (plus DNS). For data that must not leave its pod, e.g. exareme2's workers."""

    pods: dict[LabelKey, LabelValue] = Field(
        min_length=1, max_length=1, description="One label `key: value` that marks the isolated pods.")
    ingressFrom: list[PodPeer] = Field(default_factory=_no_items, description="Who may connect to them.")
    egressTo: list[PodPeer] = Field(default_factory=_no_items, description="Whom they may connect to.")


class FlowPeer(Strict):
    """The other end of a flow: exactly one of `app`, `namespace`, `cidrs`, `apiServer`, `remote`."""

    app: Name | None = Field(None, description=(
        "A catalog app (its pods in the same federation, never another's), a common app or an infrastructure "
        "app (its namespace)."))
    namespace: Name | None = Field(None, description="A namespace by name that is not an app's, e.g. kube-system.")
    pods: dict[LabelKey, LabelValue] = Field(
        default_factory=_no_entries, description="With `app` or `namespace`: labels of the pods (all must "
                                                 "match); empty: every pod of that namespace (a catalog app "
                                                 "shares its federation's namespace: name its pods).")
    cidrs: list[Cidr] = Field(default_factory=_no_items, description="Addresses outside the cluster.")
    exceptCidrs: list[Cidr] = Field(default_factory=_no_items, description="With `cidrs`: ranges left out.")
    apiServer: bool = Field(False, description="The Kubernetes API server (the platform's `network.apiServer`).")
    remote: bool = Field(False, description="A hybrid federation's remote peers: the CIDRs of the peers the "
                                            "platform assigned to it and it names in `peers` (catalog apps only).")

    @model_validator(mode="after")
    def _one_end(self) -> "FlowPeer":
        ends = [k for k, v in (("app", self.app), ("namespace", self.namespace), ("cidrs", self.cidrs),
                               ("apiServer", self.apiServer), ("remote", self.remote)) if v]
        if len(ends) != 1:
            raise ValueError("set exactly one of app, namespace, cidrs, apiServer, remote"
                             + (f" (given: {', '.join(ends)})" if ends else ""))
        if self.pods and self.app is None and self.namespace is None:
            raise ValueError("`pods` selects pods of an `app` or a `namespace`")
        if self.exceptCidrs and not self.cidrs:
            raise ValueError("`exceptCidrs` narrows `cidrs`")
        return self


class Flow(Strict):
    """Connections between some of this app's pods and one peer, on some ports: `to` (its pods open them) or
    `from` (its pods accept them). Policies are made on both ends where mip-cmp manages the namespace."""

    name: Name | None = Field(None, description="Name of the NetworkPolicy on this app's side (the peer's side "
                                                "adds `-ingress` or `-egress`); default `<app>-flow-<n>`. "
                                                "Unique across the platform.")
    pods: PodLabels = Field(description="Labels of this app's pods (all must match).")
    to: FlowPeer | None = Field(None, description="The peer these pods connect to.")
    from_: FlowPeer | None = Field(None, alias="from", description="The peer that connects to these pods.")
    ports: list[Port] = Field(default_factory=_no_items, description="Ports on the accepting side; empty: every "
                                                                     "port.")
    protocol: Literal["TCP", "UDP"] = Field("TCP", description="Protocol of `ports`.")

    @model_validator(mode="after")
    def _one_direction(self) -> "Flow":
        if (self.to is None) == (self.from_ is None):
            raise ValueError("set exactly one of `to` (these pods connect) or `from` (these pods accept)")
        return self

    def peer(self) -> FlowPeer:
        """The other end, whichever the direction."""
        peer = self.to if self.to is not None else self.from_
        assert peer is not None  # one of the two, by _one_direction
        return peer


class AppNetwork(Strict):
    """What an app's pods need from the network, besides talking to the rest of their namespace and DNS.
    Facts of the app's chart: its pod labels and ports."""

    public: list[PublicPods] = Field(default_factory=_no_items,
                                     description="Pods the platform's ingress controller may reach.")
    isolated: list[IsolatedPods] = Field(default_factory=_no_items,
                                         description="Pods with a narrower allowance than the namespace.")
    flows: list[Flow] = Field(default_factory=_no_items, description=(
        "Connections to or from other apps, namespaces, addresses, the API server or a hybrid federation's "
        "remote peers. A federation gets the flows of the apps it runs, nothing else."))
    web: bool = Field(True, description="Web egress (`network.web`) for the app's namespace; false: none (a "
                                        "common or infrastructure app in a namespace of its own only).")


class NamespacedPeer(Strict):
    """Pods in another namespace, e.g. the ingress controller or the cluster DNS."""

    namespace: Name
    pods: dict[LabelKey, LabelValue] = Field(
        default_factory=_no_entries, description="Labels of the pods; empty: every pod of the namespace.")


class Peer(Strict):
    """A network outside the cluster that one hybrid federation's pods talk to, e.g. a remote node's pod
    CIDR joined over Submariner. The platform assigns it to that federation; no other may name it."""

    federation: FederationName = Field(description="The one federation that may name it in `peers`.")
    cidrs: list[Cidr] = Field(min_length=1, description="Its address ranges.")
    description: Text | None = None


class ApiServer(Strict):
    """Where the Kubernetes API server's endpoints listen, as pods see them: NetworkPolicies are evaluated
    after the `kubernetes` Service is translated to its endpoints, so a rule for port 443 does not cover it."""

    cidrs: list[Cidr] = Field(min_length=1, description="The control-plane addresses (`kubectl get "
                                                        "endpointslices -n default -l "
                                                        "kubernetes.io/service-name=kubernetes`).")


class WebEgress(Strict):
    """Outgoing connections to the web (registries, Keycloak, the data catalogue's public address)."""

    ports: list[Port] = Field(default_factory=lambda: [80, 443], description="TCP ports; empty: none.")
    exceptCidrs: list[Cidr] = Field(default_factory=_no_items,
                                    description="Ranges excluded, e.g. the cluster's pod CIDR.")


class Network(Strict):
    """Network isolation, generated for every federation and common namespace: deny by default, then allow
    traffic inside the namespace, DNS, the web, the ingress controller to public pods, and the flows the
    apps declare. Federations cannot change any of it except by naming the peers assigned to them here."""

    enabled: bool = Field(True, description="Generate the NetworkPolicies (turn off only on a cluster "
                                            "without a NetworkPolicy implementation).")
    ingressController: NamespacedPeer = Field(
        default_factory=lambda: NamespacedPeer(namespace="ingress-nginx"),
        description="Where the ingress controller that serves public pods runs.")
    dns: NamespacedPeer = Field(
        default_factory=lambda: NamespacedPeer(namespace="kube-system", pods={"k8s-app": "kube-dns"}),
        description="Where the cluster DNS runs (UDP and TCP port 53).")
    web: WebEgress = Field(default_factory=WebEgress, description="Outgoing web traffic every pod may open.")
    acmeSolverPort: Port | None = Field(
        8089, description="cert-manager's HTTP-01 solver port the ingress controller may reach; null: none.")
    apiServer: ApiServer | None = Field(None, description="The API server, for flows `to: {apiServer: true}`.")
    peers: dict[Name, Peer] = Field(default_factory=_no_entries,
                                    description="Remote networks, each assigned to the hybrid federation that "
                                                "may name it in `peers`.")


# --- Argo CD sources and sync ---------------------------------------------------------------------------

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

    options: list[SyncOption] = Field(default_factory=_no_items, description="Added to the platform's options.")
    prune: bool | None = Field(None, description="Overrides the platform's `prune`.")


class HelmSource(Strict):
    """Helm settings of a source."""

    releaseName: Name | None = None
    skipCrds: bool = Field(False, description="Leave out the chart's `crds/` directory (CRDs installed "
                                              "another way, e.g. by an operator's own release).")
    valueFiles: list[Text] = Field(default_factory=_no_items, description="May start with `$<ref>/`.")
    values: Values = Field(default_factory=_no_entries, description="Helm values (Argo CD's valuesObject).")


class KustomizeSource(Strict):
    """A kustomize directory; its kustomization.yaml may use `helmCharts` when Argo CD runs kustomize with
    --enable-helm (kustomize.buildOptions in argocd-cm)."""

    namePrefix: Name | None = None
    commonLabels: dict[LabelKey, LabelValue] = Field(default_factory=_no_entries)


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


GroupName = Annotated[str, StringConstraints(strict=True, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?"
                                                                  r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
                                             max_length=253)]
KindName = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=63)]


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

    labels: dict[LabelKey, LabelValue] = Field(default_factory=_no_entries)
    annotations: dict[LabelKey, Annotated[str, StringConstraints(strict=True, max_length=4096)]] = Field(
        default_factory=_no_entries)

    @model_validator(mode="after")
    def _not_the_name(self) -> "NamespaceMetadata":
        if "name" in self.labels:
            raise ValueError("the label `name` holds the namespace's own name; mip-cmp sets it")
        return self


class InfrastructureApp(Strict):
    """A platform component outside the federations (an ingress controller, Submariner, ...), each in an
    AppProject of its own that lists exactly what it may create."""

    namespace: Name = Field(description="The app's namespace.")
    cluster: Name = Field(IN_CLUSTER, description="One of the platform's clusters.")
    source: Source | None = Field(None, description="Its source (or `sources`).")
    sources: list[Source] = Field(default_factory=_no_items, description="Several sources, e.g. a chart and a "
                                                                    "`ref` for its value files.")
    version: Text | None = Field(None, description="Human-readable version, shown as a label.")
    syncWave: int = Field(0, description="Argo CD sync wave of its Application in the root.")
    sync: AppSync = Field(default_factory=AppSync, description="Sync options and prune, over the defaults.")
    ignoreDifferences: list[IgnoreDifference] = Field(default_factory=_no_items)
    namespaceMetadata: NamespaceMetadata = Field(
        default_factory=NamespaceMetadata, description="Labels and annotations of its namespace, e.g. "
                                                       "`pod-security.kubernetes.io/enforce: privileged`.")
    clusterKinds: list[ResourceKind] = Field(default_factory=_no_items,
                                             description="Cluster-scoped kinds it may create.")
    namespaceKinds: list[ResourceKind] = Field(min_length=1, description="Kinds it may create in its namespace.")
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


class Overlay(Strict):
    """A directory inside the federation's own directory, rendered by Argo CD as kustomize or plain
    manifests into the federation's namespace after the app (e.g. a PVC patch), in the federation's project
    like its other apps."""

    path: RepoPath = Field(description="Relative to the federation's directory; must stay inside it.")
    type: Literal["kustomize", "directory"] = Field("kustomize", description="How Argo CD renders it.")
    syncWave: int | None = Field(None, description="Argo CD sync wave; default: one after the app's.")
    sync: AppSync = Field(default_factory=AppSync, description="Within what the platform allows.")


ApiVersion = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+"
                         r"((alpha|beta)[0-9]+)?$", max_length=253)]
FederationType = Literal["local", "hybrid"]
FEDERATION_TYPES: tuple[FederationType, ...] = ("local", "hybrid")
# Kinds only mip-cmp writes (Argo CD's, External Secrets', NetworkPolicies) and Secrets (they come from
# `secrets`, never from git): an object beside a chart is none of these.
NOT_BESIDE_GROUPS = (ARGO_GROUP, ESO_GROUP, GENERATORS_GROUP)
NOT_BESIDE_KINDS = ((NETWORK_GROUP, "NetworkPolicy"), ("", "Secret"))


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
        default_factory=_no_entries, description="Helm values; strings may hold {{ jinja2 }} expressions."
    )
    syncWave: int = Field(0, description="Argo CD sync wave of the app's Application.")
    annotations: dict[str, str] = Field(default_factory=_no_entries, description="Extra Application annotations.")
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=_no_items, description="Argo CD ignoreDifferences for every copy of the app."
    )
    secrets: list[Name] = Field(
        default_factory=_no_items, description="Names of platform `secrets` this app needs in its namespace."
    )
    objects: list[ObjectBeside] = Field(
        default_factory=_no_items, description="Objects it needs beside its chart in a federation's namespace.")
    publicHostValues: list[ValuePath] = Field(
        default_factory=_no_items,
        description="Helm values that receive a federation's `publicHost`, as dotted paths (e.g. "
                    "`global.publicHost`): set from it wherever the federation sets one (its own `values` "
                    "still win), so a federation needs nothing but `publicHost`. Not for common apps (they "
                    "have no federation).")
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


class StoreSecret(Strict):
    """Copy keys from the platform's secret store (e.g. Keycloak client credentials)."""

    key: Text = Field(description="Key of the entry in the secret store; may use {{ federation.name }} "
                                  "(federation secrets) or {{ app.name }} (common apps), so each namespace "
                                  "can read its own entry, e.g. one Keycloak client per federation.")
    properties: list[SecretKey] | dict[SecretKey, SecretKey] = Field(
        min_length=1, description="Properties to copy: a list (each keeps its name) or a mapping "
                                  "`secret key: store property` (the key the chart reads may differ).")
    refreshInterval: Annotated[str, StringConstraints(strict=True, pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")] = (
        "1h0m0s"
    )

    def key_map(self) -> dict[str, str]:
        """Secret key -> store property."""
        if isinstance(self.properties, dict):
            return dict(self.properties)
        return {prop: prop for prop in self.properties}


class GeneratedSecret(Strict):
    """Random values made once by an ESO Password generator and never rotated."""

    keys: list[SecretKey] = Field(min_length=1)
    length: int = Field(24, ge=8, le=128)
    digits: int = Field(6, ge=0)
    symbols: int = Field(0, ge=0)
    noUpper: bool = False
    allowRepeat: bool = True

    @model_validator(mode="after")
    def _fits(self) -> "GeneratedSecret":
        if self.digits + self.symbols > self.length:
            raise ValueError("digits + symbols must not exceed length")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys must be unique")
        return self


FixedValue = Annotated[str, StringConstraints(strict=True, max_length=253, pattern=r"^[^\n]*$")]


class Secret(Strict):
    """How one Kubernetes Secret is provided: keys from the store, generated passwords and fixed non-secret
    values (e.g. a database user name), in any combination; every key comes from exactly one of them.

    A Secret that holds generated keys is made once and never rewritten (its passwords must not change),
    so its store keys are read once too: keep keys that rotate in the store in a Secret of their own."""

    fromStore: StoreSecret | None = None
    generated: GeneratedSecret | None = None
    fixed: dict[SecretKey, FixedValue] = Field(
        default_factory=_no_entries, description="Fixed, non-secret values such as a database user name; a value "
                                          "that looks like a credential is refused.")

    @model_validator(mode="after")
    def _one_source(self) -> "Secret":
        if self.fromStore is None and self.generated is None:
            raise ValueError("set fromStore, generated or both (fixed values alone are not a secret)")
        owners: dict[str, int] = {}
        for keys in (self.fromStore.key_map() if self.fromStore else {}, self.generated.keys
                     if self.generated else [], self.fixed):
            for key in keys:
                owners[key] = owners.get(key, 0) + 1
        twice = sorted(k for k, n in owners.items() if n > 1)
        if twice:
            raise ValueError(f"each key must come from one source only; given twice: {', '.join(twice)}")
        return self

    def keys(self) -> list[str]:
        """Every key of the Secret, in the order its sources list them."""
        return [*(self.fromStore.key_map() if self.fromStore else {}),
                *(self.generated.keys if self.generated else []), *self.fixed]


class SecretStore(Strict):
    """The External Secrets store that `fromStore` secrets read from."""

    kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"
    name: Name = Field(description="Name of the store.")


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

    adminGroups: list[Group] = Field(default_factory=_no_items, description="May create, change and delete apps.")
    developerGroups: list[Group] = Field(default_factory=_no_items, description="May view and sync apps.")


class FederationsDir(Strict):
    """Where federation directories live and what their names must look like."""

    path: RepoPath | list[RepoPath] = Field(
        "federations", description="Directory whose subdirectories are federations, or a list of such "
                                   "directories (e.g. one for local and one for hybrid federations).")
    namePattern: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)] = Field(
        r"^federation-[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Regular expression every federation name must match.",
    )
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
        default_factory=_no_entries, description="Secrets apps may need, by Secret name; never their values."
    )
    catalog: dict[Name, Chart] = Field(default_factory=_no_entries, description="Apps a federation may run.")
    commonApps: dict[Name, CommonApp] = Field(
        default_factory=_no_entries, description="Apps deployed once for the whole platform."
    )
    federations: FederationsDir = Field(
        default_factory=FederationsDir, description="Where federation directories live."
    )
    infrastructure: dict[Name, InfrastructureApp] = Field(
        default_factory=_no_entries, description="Platform components (ingress controller, Submariner, ...), each in "
                                          "an AppProject of its own.")
    network: Network = Field(default_factory=Network, description="Network isolation of every federation and "
                                                                  "common namespace.")
    syncPolicy: PlatformSync = Field(default_factory=PlatformSync,
                                     description="Default sync options and prune, and what federations may "
                                                 "change.")


class FederationApp(Strict):
    """A catalog app as one federation runs it."""

    values: Values = Field(default_factory=_no_entries, description="Deep-merged over the catalog's values.")
    revision: Text | None = Field(None, description="Overrides the catalog's pinned revision.")
    version: Text | None = Field(
        None, description="Human-readable version of that `revision`, shown as the app.kubernetes.io/version "
                          "label (without it an overridden revision has no version label); needs `revision`."
    )
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=_no_items, description="Added to the catalog's ignoreDifferences."
    )
    sync: AppSync = Field(default_factory=AppSync,
                          description="Sync options and prune, within what the platform allows.")
    overlay: Overlay | None = Field(None, description="A directory of the federation's own applied over the "
                                                      "app, as the Application `<federation>-<app>-overlay`.")

    @model_validator(mode="after")
    def _version_labels_a_revision(self) -> "FederationApp":
        if self.version is not None and self.revision is None:
            raise ValueError("`version` labels an overriding `revision`: set `revision` too, or remove "
                             "`version` (the catalog's version applies)")
        return self


class Federation(Strict):
    """One federation directory."""

    apiVersion: Literal["mip-cmp.io/v1alpha1"]
    kind: Literal["Federation"]
    name: FederationName = Field(
        description="DNS label; also the namespace, the AppProject and the prefix of its Applications."
    )
    cluster: Name = Field(description="One of the platform's clusters.")
    type: FederationType = Field("local", description="Shown as a namespace label (`namespaceLabels`); "
                                                      "decides which of its apps' `objects` it gets.")
    state: Literal["active", "retired"] = Field(
        "active",
        description="`retired`: its workloads are removed; project, namespace, secrets and volumes are kept.",
    )
    publicHost: Text | None = Field(None, description=(
        "Public host name; may use {{ federation.name }}. Written into each app's Helm values at the paths its "
        "catalog entry's `publicHostValues` names (e.g. mip-stack's `global.publicHost`), and available to "
        "values as {{ federation.publicHost }}; nothing else reads it."))
    apps: dict[Name, FederationApp | None] = Field(min_length=1, description="Catalog apps to run.")
    peers: list[Name] = Field(default_factory=_no_items,
                              description="Remote networks the platform assigned to this hybrid federation "
                                          "(`network.peers.<name>.federation`) that its apps' `remote` flows "
                                          "reach, e.g. its exareme2 workers on remote nodes.")


KINDS: dict[str, type[Platform] | type[Federation]] = {"Platform": Platform, "Federation": Federation}
