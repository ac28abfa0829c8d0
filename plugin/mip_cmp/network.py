"""Network isolation, derived from the platform: the NetworkPolicies of one federation or common namespace.

Every namespace is denied everything by default, then allowed, in separate policies so each can be read
and tested on its own: traffic among its own pods, DNS, the web (ports 80/443), the ingress controller to
the pods behind an Ingress, cert-manager's HTTP-01 solver, and for a hybrid federation its named peers.
Pods an app marks `isolated` (exareme2's workers) are left out of the namespace-wide allowance and get
only the peers their app lists. NetworkPolicies only ever add allowances, so the default deny cannot be
undone by a policy here; federations cannot create NetworkPolicies at all (their projects lack the kind).
Pure: models in, plain dicts out.
"""

from __future__ import annotations

from .model import Chart, NamespacedPeer, Network, Peer, PodPeer
from .vocabulary import NAMESPACE_NAME, NETWORK_API, Obj

ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}
DNS_PORT = 53
DEFAULT_DENY = "default-deny"
EVERYWHERE = "0.0.0.0/0"


def _policy(name: str, namespace: str, labels: dict[str, str], pods: Obj, types: list[str],
            ingress: list[Obj] | None = None, egress: list[Obj] | None = None) -> Obj:
    spec: Obj = {"podSelector": pods, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": NETWORK_API, "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _tcp(ports: list[int]) -> list[Obj]:
    return [{"protocol": "TCP", "port": port} for port in ports]


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


def _pod_rules(direction: str, peers: list[PodPeer]) -> list[Obj]:
    return [_rule(direction, [{"podSelector": {"matchLabels": dict(peer.pods)}}], _tcp(peer.ports))
            for peer in peers]


def _numbered(base: str, index: int) -> str:
    return base if index == 0 else f"{base}-{index + 1}"


def namespace_policies(network: Network, namespace: str, apps: list[tuple[str, Chart]],
                       peers: list[Peer], labels: dict[str, str]) -> list[Obj]:
    """All NetworkPolicies of `namespace`, where `apps` run (name, catalog entry) and `peers` are the
    remote networks it may reach (hybrid federations only)."""
    isolated = [(name, pods) for name, app in apps for pods in app.network.isolated]
    # Pods of an isolated kind are left out of every namespace-wide policy: one NotIn per label key.
    keys: dict[str, list[str]] = {}
    for _, kept in isolated:
        for key, value in kept.pods.items():
            keys.setdefault(key, [])
            if value not in keys[key]:
                keys[key].append(value)
    shared: Obj = {"matchExpressions": [{"key": k, "operator": "NotIn", "values": sorted(v)}
                                        for k, v in sorted(keys.items())]} if keys else {}
    policies = [
        _policy(DEFAULT_DENY, namespace, labels, {}, ["Ingress", "Egress"]),
        _policy("allow-same-namespace", namespace, labels, shared, ["Ingress", "Egress"],
                ingress=[{"from": [{"podSelector": {}}]}], egress=[{"to": [{"podSelector": {}}]}]),
        _policy("allow-dns", namespace, labels, {}, ["Egress"],
                egress=[_rule("to", [_in_namespace(network.dns)],
                              [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}])]),
    ]
    if network.web.ports:
        block: Obj = {"cidr": EVERYWHERE}
        if network.web.exceptCidrs:
            block["except"] = list(network.web.exceptCidrs)
        policies.append(_policy("allow-web-egress", namespace, labels, shared, ["Egress"],
                                egress=[_rule("to", [{"ipBlock": block}], _tcp(network.web.ports))]))
    controller = _in_namespace(network.ingressController)
    public = [(name, item) for name, app in apps for item in app.network.public]
    for index, (name, served) in enumerate(public):
        same_app = sum(1 for other, _ in public[:index] if other == name)
        policies.append(_policy(_numbered(f"allow-ingress-to-{name}", same_app), namespace, labels,
                                {"matchLabels": dict(served.pods)}, ["Ingress"],
                                ingress=[_rule("from", [controller], _tcp(served.ports))]))
    if public and network.acmeSolverPort is not None:
        policies.append(_policy("allow-acme-http01", namespace, labels, {"matchLabels": dict(ACME_SOLVER)},
                                ["Ingress"], ingress=[_rule("from", [controller], _tcp([network.acmeSolverPort]))]))
    for index, (name, kept) in enumerate(isolated):
        same_app = sum(1 for other, _ in isolated[:index] if other == name)
        policies.append(_policy(_numbered(f"isolate-{name}", same_app), namespace, labels,
                                {"matchLabels": dict(kept.pods)}, ["Ingress", "Egress"],
                                ingress=_pod_rules("from", kept.ingressFrom),
                                egress=_pod_rules("to", kept.egressTo)))
    cidrs = [{"ipBlock": {"cidr": cidr}} for peer in peers for cidr in peer.cidrs]
    if cidrs:
        talkers = [(name, pods) for name, app in apps for pods in app.network.peerPods]
        for index, (name, pods) in enumerate(talkers):
            same_app = sum(1 for other, _ in talkers[:index] if other == name)
            policies.append(_policy(_numbered(f"allow-peers-{name}", same_app), namespace, labels,
                                    {"matchLabels": dict(pods)}, ["Ingress", "Egress"],
                                    ingress=[{"from": cidrs}], egress=[{"to": cidrs}]))
    return policies
