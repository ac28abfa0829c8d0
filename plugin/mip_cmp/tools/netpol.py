"""Which connections a set of NetworkPolicies allows, over a known set of pods: the flows of a platform.

Kubernetes' semantics (networking.k8s.io/v1): a pod that no policy selects for a direction is open in that
direction; once one policy selects it, only what one of the selecting policies allows passes; a connection
needs the sender's egress and the receiver's ingress. A rule's `from`/`to` missing or empty is every peer,
its `ports` missing or empty every port (a port without protocol is TCP); a peer with `podSelector` alone
means pods of the policy's namespace, with `namespaceSelector` pods of the matching namespaces, `ipBlock`
addresses in the CIDR but not in `except` (pods included, as most implementations do). Named ports are
matched against the pod's port names.

`mip-cmp import` evaluates the old repository's policies and the imported platform's over the same pods and
reports every flow that differs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.vocabulary import NAMESPACE_NAME, Obj

TCP = "TCP"


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = TCP
    name: str = ""


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace empty)."""

    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ip: str
    ports: tuple[Port, ...] = ()

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def pod(namespace: str, name: str, labels: Mapping[str, str], ip: str, ports: Iterable[Port] = ()) -> Endpoint:
    return Endpoint(name, namespace, tuple(sorted(labels.items())), ip, tuple(ports))


def outside(name: str, ip: str, ports: Iterable[Port] = ()) -> Endpoint:
    return Endpoint(name, "", (), ip, tuple(ports))


@dataclass(frozen=True)
class Flow:
    """A connection `source` may open to `target` on `port` (of the target)."""

    source: Endpoint
    target: Endpoint
    port: Port

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} {self.port.protocol}/{self.port.number}"


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions, ANDed); an empty one selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions") or [])


def _expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expression.get("key", ""), expression.get("operator"), expression.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist


@dataclass
class Cluster:
    """Namespaces (name -> labels), the endpoints in them and outside, and the policies."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    policies: list[Obj] = field(default_factory=list)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return {NAMESPACE_NAME: namespace, **self.namespaces.get(namespace, {})}

    def _selecting(self, endpoint: Endpoint, direction: str) -> list[Obj]:
        """The policies that select `endpoint` for `direction` ("Ingress" or "Egress")."""
        if not endpoint.namespace:
            return []
        found = []
        for policy in self.policies:
            meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
            if meta.get("namespace") != endpoint.namespace or not selects(spec.get("podSelector"),
                                                                          endpoint.label_map):
                continue
            types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
            if direction in types:
                found.append(policy)
        return found

    def _peer_matches(self, peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            address = ipaddress.ip_address(other.ip)
            return address in ipaddress.ip_network(block["cidr"], strict=False) and not any(
                address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
        if not other.namespace:
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self.namespace_labels(other.namespace)):
                return False
        elif other.namespace != policy_namespace:
            return False
        return selects(peer.get("podSelector"), other.label_map)

    def _rule_allows(self, rule: Mapping[str, Any], peers_key: str, policy_namespace: str, other: Endpoint,
                     port: Port) -> bool:
        ports = rule.get("ports") or []
        if ports and not any(_port_matches(p, port) for p in ports):
            return False
        peers = rule.get(peers_key) or []
        return not peers or any(self._peer_matches(p, policy_namespace, other) for p in peers)

    def _side_allows(self, endpoint: Endpoint, direction: str, other: Endpoint, port: Port) -> bool:
        policies = self._selecting(endpoint, direction)
        if not policies:
            return True
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        return any(self._rule_allows(rule, peers_key, endpoint.namespace, other, port)
                   for policy in policies for rule in (policy.get("spec") or {}).get(rules_key) or [])

    def allows(self, flow: Flow) -> bool:
        return (self._side_allows(flow.source, "Egress", flow.target, flow.port)
                and self._side_allows(flow.target, "Ingress", flow.source, flow.port))

    def selects_any(self, selector: Mapping[str, Any] | None, namespace: str | None) -> bool:
        """Whether a pod selector matches some pod (of `namespace`, or of any namespace when None)."""
        return any(selects(selector, e.label_map) for e in self.endpoints
                   if e.namespace and (namespace is None or e.namespace == namespace))


def _port_matches(rule_port: Mapping[str, Any], port: Port) -> bool:
    if str(rule_port.get("protocol", TCP)) != port.protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str) and not wanted.isdigit():
        return wanted == port.name
    end = rule_port.get("endPort")
    return int(wanted) <= port.number <= int(end) if end else int(wanted) == port.number


def flows(endpoints: list[Endpoint]) -> list[Flow]:
    """Every connection worth asking about: each endpoint to each other endpoint's ports, where one of the
    two is a pod (a pod to itself never crosses a policy; outside to outside is not the cluster's)."""
    return [Flow(source, target, port) for source in endpoints for target in endpoints
            if target is not source and (source.namespace or target.namespace) for port in target.ports]
