"""A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), for tests.

It answers "may pod A open a connection to pod B (or an outside address) on this port?" the way the
Kubernetes documentation defines it: a pod that no policy selects for a direction is open in that
direction; once one policy selects it, only what some selecting policy allows passes; a connection needs
the sender's egress and the receiver's ingress. Rules: `from`/`to` missing or empty means every peer, a
peer with only `podSelector` means pods of the policy's own namespace, `namespaceSelector` (+ optional
`podSelector`) pods of matching namespaces, `ipBlock` addresses in the CIDR and not in `except` (pods
included, as most implementations do); `ports` missing or empty means every port, a port without a
protocol is TCP. Named ports and endPort are not used by mip-cmp and are refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Policy = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str]
    ip: str
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outside:
    """An address outside the cluster (the web, a remote node over Submariner)."""

    ip: str


Endpoint = Pod | Outside


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op!r}")
    return True


def _in_block(block: Mapping[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))


@dataclass
class Cluster:
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)

    def add_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        # Kubernetes sets this label on every namespace itself.
        self.namespaces[name] = {"kubernetes.io/metadata.name": name, **(labels or {})}

    def pod(self, namespace: str, name: str) -> Pod:
        return next(p for p in self.pods if p.namespace == namespace and p.name == name)

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            return _in_block(peer["ipBlock"], other.ip)
        if isinstance(other, Outside):
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self.namespaces[other.namespace]):
                return False
        elif other.namespace != policy_ns:
            return False
        return "podSelector" not in peer or selects(peer["podSelector"], other.labels)

    @staticmethod
    def _port_matches(ports: list[Mapping[str, Any]], port: int, protocol: str) -> bool:
        if not ports:
            return True
        for item in ports:
            if "endPort" in item or isinstance(item.get("port"), str):
                raise ValueError("named ports and endPort are not evaluated")
            if item.get("protocol", "TCP") == protocol and item.get("port") in (None, port):
                return True
        return False

    def _allowed(self, pod: Pod, direction: str, other: Endpoint, port: int, protocol: str) -> bool:
        kind, key, peers_key = ("Ingress", "ingress", "from") if direction == "in" else ("Egress", "egress", "to")
        selecting = [pol for pol in self.policies
                     if pol["metadata"]["namespace"] == pod.namespace
                     and kind in pol["spec"].get("policyTypes", ["Ingress"])
                     and selects(pol["spec"]["podSelector"], pod.labels)]
        if not selecting:
            return True
        for pol in selecting:
            for rule in pol["spec"].get(key, []):
                peers = rule.get(peers_key) or []
                if (not peers or any(self._peer_matches(p, pod.namespace, other) for p in peers)) and \
                        self._port_matches(rule.get("ports") or [], port, protocol):
                    return True
        return False

    def can_connect(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether `src` may open a connection to `dst` on `port`: the sender's egress and the receiver's
        ingress both allow it (an outside endpoint has no policies of its own)."""
        if isinstance(src, Pod) and not self._allowed(src, "out", dst, port, protocol):
            return False
        return not isinstance(dst, Pod) or self._allowed(dst, "in", src, port, protocol)
