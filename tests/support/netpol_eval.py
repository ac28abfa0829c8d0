"""A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), for tests.

It answers "may pod A open a connection to pod B (or an outside address) on this port?" the way the
Kubernetes documentation defines it: a pod that no policy selects for a direction is open in that
direction; once one policy selects it, only what some selecting policy allows passes; a connection needs
the sender's egress and the receiver's ingress. Rules: `from`/`to` missing or empty means every peer, a
peer with only `podSelector` means pods of the policy's own namespace, `namespaceSelector` (+ optional
`podSelector`) pods of matching namespaces, `ipBlock` addresses in the CIDR and not in `except` (pods
included, as most implementations do); `ports` missing or empty means every port, a port without a
protocol is TCP. Named ports and endPort are not used by mip-cmp and are refused.

Calico GlobalNetworkPolicies of a tier ordered before Kubernetes' (`Cluster.calico`) are evaluated first, as
Calico does: for each pod a policy selects, its rules in order, the first that matches decides: Deny drops,
Allow admits without the NetworkPolicies, Pass (or no rule: the tier's default, Pass here) hands over to
them. Only the selector language mip-infra uses is read: `key == 'value'` terms joined by `&&`.
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


# The label Calico gives every workload endpoint (a pod); host endpoints and outside addresses lack it.
CALICO_POD = {"projectcalico.org/orchestrator": "k8s"}


def calico_selects(selector: str, labels: Mapping[str, str]) -> bool:
    """A Calico selector made of `key == 'value'` terms joined by `&&` (all mip-infra writes)."""
    for term in selector.split("&&"):
        key, equals, value = term.strip().partition("==")
        if not equals or not value.strip().startswith("'") or not value.strip().endswith("'"):
            raise ValueError(f"Calico selector term not evaluated: {term!r}")
        if labels.get(key.strip()) != value.strip()[1:-1]:
            return False
    return True


@dataclass
class Cluster:
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    calico: list[Policy] = field(default_factory=list)  # GlobalNetworkPolicies of one tier, before Kubernetes'

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

    def _calico_end(self, end: Mapping[str, Any], other: Endpoint, port: int | None) -> bool:
        """Whether `other` is what a Calico rule's `source` or `destination` names (port: the destination's)."""
        if "nets" in end and not any(_in_block({"cidr": net}, other.ip) for net in end["nets"]):
            return False
        if "namespaceSelector" in end or "selector" in end:
            if isinstance(other, Outside):
                return False
            namespace = self.namespaces[other.namespace]
            if "namespaceSelector" in end and not calico_selects(end["namespaceSelector"], namespace):
                return False
            if "selector" in end and not calico_selects(end["selector"], {**CALICO_POD, **other.labels}):
                return False
        return port is None or "ports" not in end or port in end["ports"]

    def _calico(self, pod: Pod, direction: str, other: Endpoint, port: int, protocol: str) -> str:
        """The tier's verdict on one end: Deny, Allow or Pass."""
        key = "ingress" if direction == "in" else "egress"
        for gnp in self.calico:
            if not calico_selects(gnp["spec"]["selector"], {**CALICO_POD, **pod.labels}):
                continue
            for rule in gnp["spec"].get(key, []):
                source, destination = (other, pod) if direction == "in" else (pod, other)
                if ("protocol" in rule and rule["protocol"] != protocol) or \
                        not self._calico_end(rule.get("source", {}), source, None) or \
                        not self._calico_end(rule.get("destination", {}), destination, port):
                    continue
                return str(rule["action"])
        return "Pass"

    def can_connect(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """Whether `src` may open a connection to `dst` on `port`: the sender's egress and the receiver's
        ingress both allow it (an outside endpoint has no policies of its own)."""
        if isinstance(src, Pod):
            verdict = self._calico(src, "out", dst, port, protocol)
            if verdict == "Deny" or (verdict == "Pass" and not self._allowed(src, "out", dst, port, protocol)):
                return False
        if isinstance(dst, Pod):
            verdict = self._calico(dst, "in", src, port, protocol)
            return verdict == "Allow" or (verdict == "Pass" and self._allowed(dst, "in", src, port, protocol))
        return True
