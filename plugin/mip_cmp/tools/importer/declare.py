"""The flows mip-infra allowed that the imported platform's defaults do not, declared in mip.yaml's network
vocabulary: each lost flow (flows.py) becomes an entry of the app whose pod accepts it (`public` for the
ingress controller, else a flow `from` the other end), or, where that pod is not in a namespace mip-cmp
closes, of the app whose pod opens it (a flow `to` the other end). Flows of one app with one peer are
declared once, with their ports together.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ..netpol import Endpoint, Flow

Obj = dict[str, Any]


@dataclass(frozen=True)
class Owner:
    """Where a pod's app is declared: `section` of the platform mip.yaml ("catalog", "commonApps",
    "infrastructure"), the app's name, and whether mip-cmp closes its namespace."""

    section: str
    app: str
    managed: bool


@dataclass
class Places:
    """What the declarations need to know about the imported platform: the app of each pod, the ingress
    controller's namespace, the hybrid federations' remote ranges, the namespace of each federation."""

    owners: dict[Endpoint, Owner]
    ingress_namespace: str
    remote: dict[str, set[str]]  # federation namespace -> CIDRs of its peers
    federations: set[str]  # federation namespaces

    def peer(self, endpoint: Endpoint, seen_from: Endpoint) -> Obj:
        """The other end of a flow as the flow's owner names it."""
        if not endpoint.namespace:
            cidr = endpoint.name
            if any(_covers(c, endpoint.ip) for c in self.remote.get(seen_from.namespace, ())):
                return {"remote": True}
            return {"cidrs": [str(ipaddress.ip_network(cidr, strict=False))]} if "/" in cidr else {"cidrs": [cidr]}
        owner = self.owners.get(endpoint)
        pods = endpoint.label_map
        if owner is not None and (owner.section != "catalog" or endpoint.namespace == seen_from.namespace):
            return {"app": owner.app, "pods": pods}
        return {"namespace": endpoint.namespace, "pods": pods}


def _covers(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def declare(lost: list[Flow], places: Places, sections: dict[str, Obj]) -> list[Flow]:
    """Add to `sections` (the platform's catalog, commonApps and infrastructure, by name) what makes each
    lost flow allowed again; the flows nothing could be declared for are returned."""
    undeclared = []
    for flow in lost:
        if not _declare(flow, places, sections):
            undeclared.append(flow)
    return undeclared


def _declare(flow: Flow, places: Places, sections: dict[str, Obj]) -> bool:
    target, source = places.owners.get(flow.target), places.owners.get(flow.source)
    if target is not None and target.managed:
        network = _network(sections, target)
        if flow.source.namespace == places.ingress_namespace and flow.port.protocol == "TCP":
            _public(network, flow.target.label_map, flow.port.number)
            return True
        _flow(network, flow.target.label_map, "from", places.peer(flow.source, flow.target), flow)
        return True
    if source is not None and source.managed:
        _flow(_network(sections, source), flow.source.label_map, "to", places.peer(flow.target, flow.source), flow)
        return True
    return False


def _network(sections: dict[str, Obj], owner: Owner) -> Obj:
    app: Obj = sections[owner.section][owner.app]
    network: Obj = app.setdefault("network", {})
    return network


def _public(network: Obj, pods: dict[str, str], port: int) -> None:
    public = network.setdefault("public", [])
    entry = next((p for p in public if p["pods"] == pods), None)
    if entry is None:
        public.append({"pods": pods, "ports": [port]})
    elif port not in entry["ports"]:
        entry["ports"] = sorted([*entry["ports"], port])


def _flow(network: Obj, pods: dict[str, str], direction: str, peer: Obj, flow: Flow) -> None:
    flows = network.setdefault("flows", [])
    protocol = {} if flow.port.protocol == "TCP" else {"protocol": flow.port.protocol}
    entry = next((f for f in flows if f["pods"] == pods and f.get(direction) == peer
                  and f.get("protocol", "TCP") == flow.port.protocol), None)
    if entry is None:
        flows.append({"pods": pods, direction: peer, "ports": [flow.port.number], **protocol})
    elif flow.port.number not in entry["ports"]:
        entry["ports"] = sorted([*entry["ports"], flow.port.number])
