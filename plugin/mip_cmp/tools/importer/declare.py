"""The flows mip-infra allowed that the imported platform's defaults do not, declared in mip.yaml's network
vocabulary: a connection from the ingress controller to a pod of a closed namespace makes that pod `public`;
any other becomes a flow of the app whose pod accepts it (`from` the other end), or, where that pod's
namespace is not mip-cmp's to close, of the app whose pod opens it (`to` the other end). The other end is a
hybrid federation's `remote` peers, an app's pods, a namespace's pods, or addresses (`cidrs`). Flows of one
app's pods with one peer are declared once, their ports together. What no app of the imported platform can
declare stays a lost flow in the report.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...core.vocabulary import Obj
from ..netpol import TCP, Endpoint, Flow
from .flows import Owner

CATALOG = "catalog"


@dataclass
class Places:
    """What the declarations need to know about the imported platform: the app of each pod, the ingress
    controller's namespace, each federation's mip.yaml (as data) and the names of its remote networks, and
    the platform's `network.peers`."""

    owners: dict[Endpoint, Owner | None]
    ingress_namespace: str
    federations: dict[str, Obj]  # federation namespace -> its mip.yaml, as data
    remote: dict[str, list[str]]  # federation namespace -> the names of its remote networks
    peers: Obj  # the remote networks found, by name

    def is_remote(self, outside: Endpoint, seen_from: Endpoint) -> bool:
        """Whether `outside` is in a remote network of the federation `seen_from` runs in; if so, that
        federation names its remote networks from now on."""
        names = self.remote.get(seen_from.namespace, [])
        if outside.namespace or not any(_covers(c, outside.ip) for name in names for c in self.peers[name]["cidrs"]):
            return False
        self.federations[seen_from.namespace]["peers"] = list(names)
        return True

    def peer(self, endpoint: Endpoint, seen_from: Endpoint, owner: Owner) -> Obj:
        """The other end of a flow as the flow's owner (the app of `seen_from`) names it."""
        if not endpoint.namespace:
            if owner.section == CATALOG and self.is_remote(endpoint, seen_from):
                return {"remote": True}
            return {"cidrs": [str(ipaddress.ip_network(endpoint.name, strict=False))]}
        other = self.owners.get(endpoint)
        pods = endpoint.label_map
        # A catalog app is its pods in the same federation: in another namespace, name the namespace.
        if other is not None and (other.section != CATALOG or endpoint.namespace == seen_from.namespace):
            return {"app": other.app, "pods": pods}
        return {"namespace": endpoint.namespace, "pods": pods}


def _covers(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def declare(lost: list[Flow], places: Places, sections: dict[str, Obj]) -> int:
    """Add to `sections` (the platform's catalog, commonApps and infrastructure, by name) what makes each
    lost flow allowed again; how many flows a declaration was written for."""
    return sum(_declare(flow, places, sections) for flow in lost)


def _declare(flow: Flow, places: Places, sections: dict[str, Obj]) -> bool:
    target, source = places.owners.get(flow.target), places.owners.get(flow.source)
    if target is not None and target.managed:
        network = _network(sections, target)
        if flow.source.namespace == places.ingress_namespace and flow.port.protocol == TCP:
            _public(network, flow.target.label_map, flow.port.number)
        else:
            _flow(network, flow.target.label_map, "from", places.peer(flow.source, flow.target, target), flow)
        return True
    if source is not None and source.managed:
        _flow(_network(sections, source), flow.source.label_map, "to",
              places.peer(flow.target, flow.source, source), flow)
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
    protocol = {} if flow.port.protocol == TCP else {"protocol": flow.port.protocol}
    entry = next((f for f in flows if f["pods"] == pods and f.get(direction) == peer
                  and f.get("protocol", TCP) == flow.port.protocol), None)
    if entry is None:
        flows.append({"pods": pods, direction: peer, "ports": [flow.port.number], **protocol})
    elif flow.port.number not in entry["ports"]:
        entry["ports"] = sorted([*entry["ports"], flow.port.number])
