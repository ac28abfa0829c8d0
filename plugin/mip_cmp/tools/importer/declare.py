"""The flows mip-infra allowed that the imported platform's defaults do not, declared in mip.yaml's network
vocabulary: a connection from the ingress controller to a pod of a closed namespace makes that pod `public`
(on the port), a connection between a hybrid federation's pod and its remote peers makes the pod one of its
app's `peerPods`. What the vocabulary cannot say stays a lost flow in the report.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ...vocabulary import Obj
from ..netpol import TCP, Endpoint, Flow
from .flows import Owner


@dataclass
class Places:
    """What the declarations need to know about the imported platform: the app of each pod, the ingress
    controller's namespace, and the remote ranges of each hybrid federation's namespace."""

    owners: dict[Endpoint, Owner | None]
    ingress_namespace: str
    federations: dict[str, Obj]  # federation namespace -> its mip.yaml, as data
    remote: dict[str, list[str]]  # federation namespace -> the names of its remote networks
    peers: Obj  # the platform's network.peers

    def is_remote(self, outside: Endpoint, seen_from: Endpoint) -> bool:
        """Whether `outside` is in a remote network of the federation `seen_from` runs in; if so, that
        federation names its remote networks from now on."""
        address = ipaddress.ip_address(outside.ip)
        names = self.remote.get(seen_from.namespace, [])
        if outside.namespace or not any(address in ipaddress.ip_network(c, strict=False)
                                        for name in names for c in self.peers[name]["cidrs"]):
            return False
        self.federations[seen_from.namespace]["peers"] = list(names)
        return True


def declare(lost: list[Flow], places: Places, sections: dict[str, Obj]) -> int:
    """Add to `sections` (the platform's catalog, commonApps and infrastructure, by name) what makes each
    lost flow allowed again; how many flows a declaration was written for."""
    return sum(_declare(flow, places, sections) for flow in lost)


def _declare(flow: Flow, places: Places, sections: dict[str, Obj]) -> bool:
    target, source = places.owners.get(flow.target), places.owners.get(flow.source)
    if (target is not None and target.managed and flow.source.namespace == places.ingress_namespace
            and flow.port.protocol == TCP):
        _public(_network(sections, target), flow.target.label_map, flow.port.number)
        return True
    for pod, owner, other in ((flow.target, target, flow.source), (flow.source, source, flow.target)):
        if owner is not None and owner.section == "catalog" and places.is_remote(other, pod):
            _peer_pods(_network(sections, owner), pod.label_map)
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


def _peer_pods(network: Obj, pods: dict[str, str]) -> None:
    """Pods that talk to their federation's remote peers, both ways, on every port (main's vocabulary)."""
    talkers = network.setdefault("peerPods", [])
    if pods not in talkers:
        talkers.append(pods)
