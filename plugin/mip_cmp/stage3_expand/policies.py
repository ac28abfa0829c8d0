"""Network isolation, derived from the platform: the NetworkPolicies of one namespace mip-cmp closes (a
federation's, a common app's, an infrastructure app's that declares a `network`).

Every such namespace is denied everything by default, then allowed, in separate policies so each can be read
and tested on its own: traffic among its own pods, DNS, the web (ports 80/443), the ingress controller to
the pods behind an Ingress, cert-manager's HTTP-01 solver, and the flows the apps declare. Pods an app marks
`isolated` (exareme2's workers) are left out of the namespace-wide allowance. A flow (one app's pods, one
peer, some ports) makes a policy on each end that mip-cmp closes: its own side where the declaring app runs
and, when the peer is an app, the peer's side where that app runs. A catalog app's peer is always in the
same federation: no policy here ever names another federation. NetworkPolicies only ever add allowances, so
the default deny cannot be undone by a policy here; federations cannot create NetworkPolicies at all (their
projects lack the kind). Pure: models in, plain dicts out; check/flows.py reads and checks the declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.vocabulary import FEDERATION_LABEL, NAMESPACE_NAME, NETWORK_API, Obj
from ..model.federation import Federation
from ..model.network import AppNetwork, Flow, FlowPeer, NamespacedPeer, Network
from ..model.platform import Platform
from ..stage2_check.flows import (
    ACME_POLICY,
    DEFAULT_DENY,
    DNS_POLICY,
    INGRESS_POLICY_PREFIX,
    ISOLATE_POLICY_PREFIX,
    SAME_NAMESPACE_POLICY,
    WEB_POLICY,
    app_network,
    closed_apps,
    declared_flows,
    flow_name,
)

ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}
DNS_PORT = 53
EVERYWHERE = "0.0.0.0/0"
# Every federation namespace carries its federation's name under this label (and no other namespace does):
# how a common namespace admits a catalog app's pods from whichever federation runs it.
FEDERATION_NAMESPACES: Obj = {"matchExpressions": [{"key": FEDERATION_LABEL, "operator": "Exists"}]}
# The suffix of a flow's policy on its peer's side, by what the peer does there.
PEER_SIDE = {True: "ingress", False: "egress"}


@dataclass(frozen=True)
class Place:
    """A namespace mip-cmp closes: the apps whose pods run there, and the federation it belongs to (None for a
    common or infrastructure app's namespace)."""

    namespace: str
    apps: tuple[str, ...]
    federation: Federation | None = None


def federation_policies(p: Platform, f: Federation, labels: dict[str, str]) -> list[Obj]:
    """Every NetworkPolicy of federation `f`'s namespace."""
    return _policies(p, Place(f.name, tuple(f.apps), f), labels)


def app_policies(p: Platform, name: str, labels: dict[str, str]) -> list[Obj]:
    """Every NetworkPolicy of a common or infrastructure app's namespace (one of `closed_apps`)."""
    return _policies(p, Place(closed_apps(p)[name].namespace, (name,)), labels)


# --- building blocks ---------------------------------------------------------------------------------------


def _policy(name: str, namespace: str, labels: dict[str, str], pods: Obj, types: list[str],
            ingress: list[Obj] | None = None, egress: list[Obj] | None = None) -> Obj:
    spec: Obj = {"podSelector": pods, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": NETWORK_API, "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _ports(ports: list[int], protocol: str = "TCP") -> list[Obj]:
    return [{"protocol": protocol, "port": port} for port in ports]


def _in_namespace(peer: NamespacedPeer) -> Obj:
    selector: Obj = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: peer.namespace}}}
    if peer.pods:
        selector["podSelector"] = {"matchLabels": dict(peer.pods)}
    return selector


def _rule(direction: str, peers: list[Obj], ports: list[Obj]) -> Obj:
    rule: Obj = {direction: peers}
    if ports:
        rule["ports"] = ports
    return rule


def _matching(pods: dict[str, str]) -> Obj:
    return {"matchLabels": dict(pods)} if pods else {}


def _numbered(base: str, index: int) -> str:
    return base if index == 0 else f"{base}-{index + 1}"


# --- the policies of one namespace -------------------------------------------------------------------------


def _policies(p: Platform, place: Place, labels: dict[str, str]) -> list[Obj]:
    networks = [(name, app_network(p, name)[0]) for name in place.apps]
    return [*_base_policies(p.network, place, networks, labels), *_flow_policies(p, place, labels)]


def _isolation(networks: list[tuple[str, AppNetwork]]) -> Obj:
    """The selector of every pod but the isolated ones: one NotIn per label key."""
    keys: dict[str, list[str]] = {}
    for _, network in networks:
        for kept in network.isolated:
            for key, value in kept.pods.items():
                keys.setdefault(key, [])
                if value not in keys[key]:
                    keys[key].append(value)
    return {"matchExpressions": [{"key": k, "operator": "NotIn", "values": sorted(v)}
                                 for k, v in sorted(keys.items())]} if keys else {}


def _base_policies(network: Network, place: Place, networks: list[tuple[str, AppNetwork]],
                   labels: dict[str, str]) -> list[Obj]:
    namespace = place.namespace
    shared = _isolation(networks)
    policies = [
        _policy(DEFAULT_DENY, namespace, labels, {}, ["Ingress", "Egress"]),
        _policy(SAME_NAMESPACE_POLICY, namespace, labels, shared, ["Ingress", "Egress"],
                ingress=[{"from": [{"podSelector": {}}]}], egress=[{"to": [{"podSelector": {}}]}]),
        _policy(DNS_POLICY, namespace, labels, {}, ["Egress"],
                egress=[_rule("to", [_in_namespace(network.dns)], [*_ports([DNS_PORT], "UDP"), *_ports([DNS_PORT])])]),
    ]
    if network.web.ports and all(app.web for _, app in networks):
        # Remote peers are never "the web": only the flows that name them reach them.
        excepted = list(dict.fromkeys([*network.web.exceptCidrs,
                                       *(cidr for peer in network.peers.values() for cidr in peer.cidrs)]))
        block: Obj = {"cidr": EVERYWHERE}
        if excepted:
            block["except"] = excepted
        policies.append(_policy(WEB_POLICY, namespace, labels, shared, ["Egress"],
                                egress=[_rule("to", [{"ipBlock": block}], _ports(network.web.ports))]))
    controller = _in_namespace(network.ingressController)
    public = [(name, item) for name, app in networks for item in app.public]
    for index, (name, served) in enumerate(public):
        same_app = sum(1 for other, _ in public[:index] if other == name)
        policies.append(_policy(_numbered(f"{INGRESS_POLICY_PREFIX}{name}", same_app), namespace, labels,
                                {"matchLabels": dict(served.pods)}, ["Ingress"],
                                ingress=[_rule("from", [controller], _ports(served.ports))]))
    if public and network.acmeSolverPort is not None:
        policies.append(_policy(ACME_POLICY, namespace, labels, {"matchLabels": dict(ACME_SOLVER)},
                                ["Ingress"], ingress=[_rule("from", [controller], _ports([network.acmeSolverPort]))]))
    isolated = [(name, kept) for name, app in networks for kept in app.isolated]
    for index, (name, kept) in enumerate(isolated):
        same_app = sum(1 for other, _ in isolated[:index] if other == name)
        policies.append(_policy(
            _numbered(f"{ISOLATE_POLICY_PREFIX}{name}", same_app), namespace, labels, {"matchLabels": dict(kept.pods)},
            ["Ingress", "Egress"],
            ingress=[_rule("from", [{"podSelector": _matching(peer.pods)}], _ports(peer.ports))
                     for peer in kept.ingressFrom],
            egress=[_rule("to", [{"podSelector": _matching(peer.pods)}], _ports(peer.ports))
                    for peer in kept.egressTo]))
    return policies


def _present(p: Platform, place: Place, app: str) -> bool:
    """Whether `app`'s pods can be a peer of pods in `place`: a catalog app only in a federation running it
    (never another federation's), or from a namespace outside every federation; any other app always."""
    return app not in p.catalog or place.federation is None or app in place.apps


def _app_end(p: Platform, place: Place, app: str, pods: dict[str, str]) -> list[Obj]:
    """An app's pods as a NetworkPolicy peer of a policy in `place`."""
    namespace = app_network(p, app)[1]
    if (namespace is None and place.federation is not None) or namespace == place.namespace:
        return [{"podSelector": _matching(pods)}]  # the same namespace
    if namespace is None:
        return [{"namespaceSelector": FEDERATION_NAMESPACES, "podSelector": _matching(pods)}]
    return [_in_namespace(NamespacedPeer(namespace=namespace, pods=pods))]


def _blocks(cidrs: list[str], excepted: list[str] | None = None) -> list[Obj]:
    return [{"ipBlock": {"cidr": cidr, **({"except": list(excepted)} if excepted else {})}} for cidr in cidrs]


def remote_cidrs(p: Platform, f: Federation) -> list[str]:
    """The CIDRs of the peers `f` names that the platform assigned to it (check/flows.py refuses any other)."""
    return [cidr for name in f.peers if name in p.network.peers and p.network.peers[name].federation == f.name
            for cidr in p.network.peers[name].cidrs]


def _peer_end(p: Platform, place: Place, peer: FlowPeer) -> list[Obj]:
    """The other end of a flow as NetworkPolicy peers of a policy in `place`; empty: none here (a rule
    without peers would admit every address, so no policy is made)."""
    if peer.app is not None:
        return _app_end(p, place, peer.app, dict(peer.pods))
    if peer.namespace is not None:
        # Never a federation's namespace, whatever the name says: a flow reaches another federation's pods
        # by no name (flow_problems refuses an app's namespace; federations are not known to the platform).
        end = _in_namespace(NamespacedPeer(namespace=peer.namespace, pods=peer.pods))
        end["namespaceSelector"]["matchExpressions"] = [{"key": FEDERATION_LABEL, "operator": "DoesNotExist"}]
        return [end]
    if peer.cidrs:
        return _blocks(list(peer.cidrs), list(peer.exceptCidrs))
    if peer.apiServer:
        return _blocks(list(p.network.apiServer.cidrs) if p.network.apiServer else [])
    return _blocks(remote_cidrs(p, place.federation)) if place.federation is not None else []


def _side(name: str, place: Place, labels: dict[str, str], pods: dict[str, str], sends: bool,
          ends: list[Obj], flow: Flow) -> Obj:
    ports = _ports(list(flow.ports), flow.protocol)
    if sends:
        return _policy(name, place.namespace, labels, _matching(pods), ["Egress"], egress=[_rule("to", ends, ports)])
    return _policy(name, place.namespace, labels, _matching(pods), ["Ingress"], ingress=[_rule("from", ends, ports)])


def _flow_policies(p: Platform, place: Place, labels: dict[str, str]) -> list[Obj]:
    policies = []
    for app, index, flow in declared_flows(p):
        if not _present(p, place, app):
            continue
        peer, sends, name = flow.peer(), flow.to is not None, flow_name(app, index, flow)
        if app in place.apps and (peer.app is None or _present(p, place, peer.app)):
            ends = _peer_end(p, place, peer)
            if ends:
                policies.append(_side(name, place, labels, dict(flow.pods), sends, ends, flow))
        if peer.app is not None and peer.app in place.apps:
            policies.append(_side(f"{name}-{PEER_SIDE[sends]}", place, labels, dict(peer.pods), not sends,
                                  _app_end(p, place, app, dict(flow.pods)), flow))
    return policies
