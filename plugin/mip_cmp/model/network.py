"""The network vocabulary of mip.yaml: what an app's pods need from the network (public pods, isolated
pods, flows to and from peers), and the platform's `network` settings (docs/network.md).

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .fields import (
    FederationName,
    LabelKey,
    LabelValue,
    Name,
    Strict,
    Text,
    no_entries,
    no_items,
)

# Labels that select pods; never empty, so "every pod" is never written by accident.
PodLabels = Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]
Port = Annotated[int, Field(ge=1, le=65535)]
Cidr = Annotated[str, StringConstraints(
    strict=True, pattern=r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$")]


class PodPeer(Strict):
    """Pods of the same namespace, and the ports they are reached on (none: every port)."""

    pods: PodLabels = Field(description="Labels of the peer pods (all must match).")
    ports: list[Port] = Field(default_factory=no_items, description="TCP ports; empty: every port.")

class PublicPods(Strict):
    """Pods the platform's ingress controller may reach (the chart's Ingress backends)."""

    pods: PodLabels = Field(description="Labels of the pods behind the app's Ingress.")
    ports: list[Port] = Field(min_length=1, description="TCP ports the ingress controller connects to.")

class IsolatedPods(Strict):
    """Pods kept out of the namespace-wide allowance: only the listed peers may reach them, and they reach
    only the listed peers (plus DNS). For data that must not leave its pod, e.g. exareme2's workers."""

    pods: dict[LabelKey, LabelValue] = Field(
        min_length=1, max_length=1, description="One label `key: value` that marks the isolated pods.")
    ingressFrom: list[PodPeer] = Field(default_factory=no_items, description="Who may connect to them.")
    egressTo: list[PodPeer] = Field(default_factory=no_items, description="Whom they may connect to.")

class FlowPeer(Strict):
    """The other end of a flow: exactly one of `app`, `namespace`, `cidrs`, `apiServer`, `remote`."""

    app: Name | None = Field(None, description=(
        "A catalog app (its pods in the same federation, never another's), a common app or an infrastructure "
        "app (its namespace)."))
    namespace: Name | None = Field(None, description="A namespace by name that is not an app's, e.g. kube-system.")
    pods: dict[LabelKey, LabelValue] = Field(
        default_factory=no_entries, description="With `app` or `namespace`: labels of the pods (all must "
                                                 "match); empty: every pod of that namespace (a catalog app "
                                                 "shares its federation's namespace: name its pods).")
    cidrs: list[Cidr] = Field(default_factory=no_items, description="Addresses outside the cluster.")
    exceptCidrs: list[Cidr] = Field(default_factory=no_items, description="With `cidrs`: ranges left out.")
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
    ports: list[Port] = Field(default_factory=no_items, description="Ports on the accepting side; empty: every "
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

    public: list[PublicPods] = Field(default_factory=no_items,
                                     description="Pods the platform's ingress controller may reach.")
    isolated: list[IsolatedPods] = Field(default_factory=no_items,
                                         description="Pods with a narrower allowance than the namespace.")
    flows: list[Flow] = Field(default_factory=no_items, description=(
        "Connections to or from other apps, namespaces, addresses, the API server or a hybrid federation's "
        "remote peers. A federation gets the flows of the apps it runs, nothing else."))
    web: bool = Field(True, description="Web egress (`network.web`) for the app's namespace; false: none (a "
                                        "common or infrastructure app in a namespace of its own only).")

class NamespacedPeer(Strict):
    """Pods in another namespace, e.g. the ingress controller or the cluster DNS."""

    namespace: Name
    pods: dict[LabelKey, LabelValue] = Field(
        default_factory=no_entries, description="Labels of the pods; empty: every pod of the namespace.")

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
    exceptCidrs: list[Cidr] = Field(default_factory=no_items,
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
    peers: dict[Name, Peer] = Field(default_factory=no_entries,
                                    description="Remote networks, each assigned to the hybrid federation that "
                                                "may name it in `peers`.")
