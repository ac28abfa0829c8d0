"""The network flows of both sides, proven equal or reported: the old repository's NetworkPolicies and the
imported platform's, evaluated (tools.netpol) over the same pods of every namespace and the same addresses
outside.

The pods: those of the workloads' charts (charts.py), of every manifest an Application of the old
repository renders (an ingress controller, a proxy), cluster DNS and cert-manager's HTTP-01 solver in every
namespace with workloads. The addresses outside: the web, and one address of every range a policy names on
either side (remote nodes, the API server). A flow is a connection a pod may open to another endpoint's
port; every one allowed on one side only is a lost or gained flow in the report. A pod selector of the old
policies that matches no pod is a stale selector: reported, and nothing is carried over for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...core.vocabulary import Obj
from ...model.network import Network
from ...stage3_expand.policies import ACME_SOLVER, DNS_PORT
from ..mipinfra import Built
from ..netpol import TCP, Cluster, Endpoint, Flow, Port, flows, outside, pod
from .charts import chart_pods
from .read import Workload
from .report import GAINED_FLOW, LOST_FLOW, STALE_SELECTOR, Attention

POLICY = "NetworkPolicy"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
# The cluster's DNS, cert-manager's solver port and the web's ports: where the platform's defaults say they are.
DEFAULTS = Network()
WEB = "203.0.113.10"  # an address on the web (TEST-NET-3: never a cluster's)
INGRESS_STAND_IN = "ingress controller (stand-in)"


@dataclass
class Side:
    """One side's namespaces (labels) and policies."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    policies: list[Obj] = field(default_factory=list)

    def label(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespaces.setdefault(namespace, {}).update({str(k): str(v) for k, v in labels.items()})

    def read(self, objects: Iterable[Obj]) -> None:
        """Policies, Namespaces and Applications' managed namespace labels among `objects`."""
        for obj in objects:
            kind, meta = obj.get("kind"), obj.get("metadata") or {}
            if kind == POLICY:
                self.policies.append(obj)
            elif kind == "Namespace":
                self.label(str(meta.get("name")), dict(meta.get("labels") or {}))
            elif kind == "Application":
                spec = obj.get("spec") or {}
                managed = ((spec.get("syncPolicy") or {}).get("managedNamespaceMetadata") or {}).get("labels")
                namespace = (spec.get("destination") or {}).get("namespace")
                if managed and namespace:
                    self.label(str(namespace), dict(managed))


@dataclass(frozen=True)
class Owner:
    """Where a pod's app is declared in the imported platform: `section` of the platform mip.yaml
    ("catalog", "commonApps", "infrastructure"), the app's name, and whether mip-cmp closes its namespace
    (default deny: federations and common apps) so that a flow to it must be declared."""

    section: str
    app: str
    managed: bool


def pods(built: Built, loads: list[Workload], infrastructure: list[str],
         ingress_namespace: str) -> dict[Endpoint, Owner | None]:
    """Every pod both sides run, with the app of the imported platform that runs it (None: cluster DNS,
    cert-manager's solvers, or what an old Application the platform does not carry deploys)."""
    found: dict[Endpoint, Owner | None] = {}
    managed: set[str] = set()
    for w in loads:
        namespace = str(((w.found.obj.get("spec") or {}).get("destination") or {}).get("namespace", ""))
        managed.add(namespace)
        owner: Owner | None = Owner("catalog" if w.federation else "commonApps", w.app, True)
        for p in chart_pods(w.repo_url, w.path, w.revision):
            found[pod(namespace, p.name, p.labels, _ip(len(found)), p.ports)] = owner
    for app, objects in sorted(built.resources.items()):
        owner = Owner("infrastructure", app, False) if app in infrastructure else None
        for endpoint in _manifest_pods(built, app, objects, len(found)):
            found[endpoint] = owner
    dns = DEFAULTS.dns
    found[pod(dns.namespace, "coredns", dns.pods, _ip(len(found)), (Port(DNS_PORT, "UDP"), Port(DNS_PORT, TCP)))] = None
    if not any(e.namespace == ingress_namespace for e in found):
        # What the repository deploys runs no ingress controller where the platform expects it (it is
        # installed another way): one stands in, so that the flows from it are evaluated all the same.
        built.notes[INGRESS_STAND_IN] = (f"no Application of the repository runs a pod in {ingress_namespace}, "
                                         "where the imported platform's ingress controller is: a stand-in pod "
                                         "there is used for the flows from it")
        found[pod(ingress_namespace, INGRESS_STAND_IN, {}, _ip(len(found)), ())] = None
    solver = (Port(DEFAULTS.acmeSolverPort),) if DEFAULTS.acmeSolverPort else ()
    for namespace in sorted(managed):
        found[pod(namespace, "cm-acme-http-solver", ACME_SOLVER, _ip(len(found)), solver)] = None
    return found


def endpoints(found_pods: Iterable[Endpoint], sides: list[Side]) -> list[Endpoint]:
    """The pods, the web, and an address of every range either side's policies name."""
    found = [*found_pods, outside("the web", WEB, tuple(Port(p) for p in DEFAULTS.web.ports))]
    ranges: dict[str, set[Port]] = {}
    for side in sides:
        for cidr, ports in _ranges(side.policies).items():
            ranges.setdefault(cidr, set()).update(ports)
    for cidr, ports in sorted(ranges.items()):
        network = ipaddress.ip_network(cidr, strict=False)
        if network.prefixlen == 0:
            continue  # "anywhere": the web stands for it
        address = str(next(iter(network.hosts()), network.network_address))
        found.append(outside(cidr, address, tuple(sorted(ports or {Port(443)}, key=_port_order))))
    return found


def _port_order(port: Port) -> tuple[int, str]:
    return port.number, port.protocol


def _ip(n: int) -> str:
    """A pod address: in 100.64.0.0/10 (shared address space), which no policy of either side names."""
    return str(ipaddress.ip_address("100.64.0.1") + n)


def _manifest_pods(built: Built, app: str, objects: list[Obj], start: int) -> list[Endpoint]:
    found = built.find("Application", app)
    default_namespace = str((((found.obj if found else {}).get("spec") or {}).get("destination") or {})
                            .get("namespace", ""))
    pods: list[Endpoint] = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        template = (obj.get("spec") or {}).get("template") or {}
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        ports = [Port(int(p["containerPort"]), str(p.get("protocol", TCP)), str(p.get("name", "")))
                 for c in (template.get("spec") or {}).get("containers") or [] for p in c.get("ports") or []
                 if "containerPort" in p]
        namespace = str((obj.get("metadata") or {}).get("namespace") or default_namespace)
        if labels and namespace:
            pods.append(pod(namespace, str((obj.get("metadata") or {}).get("name")), labels,
                            _ip(start + len(pods)), ports))
    return pods


def _ranges(policies: list[Obj]) -> dict[str, set[Port]]:
    """Every CIDR the policies name, with the ports their rules give it."""
    found: dict[str, set[Port]] = {}
    for policy in policies:
        spec = policy.get("spec") or {}
        for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
            ports = {Port(int(p["port"]), str(p.get("protocol", TCP))) for p in rule.get("ports") or []
                     if str(p.get("port", "")).isdigit()}
            for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
                if "ipBlock" in peer:
                    found.setdefault(str(peer["ipBlock"]["cidr"]), set()).update(ports)
    return found


@dataclass(frozen=True)
class Evaluation:
    lost: list[Flow]
    gained: list[Flow]
    stale: list[Attention]

    def attention(self) -> list[Attention]:
        return [*(_item(LOST_FLOW, f, "allowed by mip-infra's policies, not by the imported platform's")
                  for f in self.lost),
                *self.stale,
                *(_item(GAINED_FLOW, f, "allowed by the imported platform's policies, not by mip-infra's")
                  for f in self.gained)]


def _item(topic: str, flow: Flow, message: str) -> Attention:
    return Attention(topic, str(flow), message)


def evaluate(old: Side, new: Side, universe: list[Endpoint]) -> Evaluation:
    before = Cluster(old.namespaces, universe, old.policies)
    after = Cluster(new.namespaces, universe, new.policies)
    lost, gained = [], []
    for flow in flows(universe):
        allowed_before, allowed_after = before.allows(flow), after.allows(flow)
        if allowed_before and not allowed_after:
            lost.append(flow)
        elif allowed_after and not allowed_before:
            gained.append(flow)
    return Evaluation(lost, gained, stale_selectors(before))


def stale_selectors(cluster: Cluster) -> list[Attention]:
    """Pod selectors of the policies that match no pod where the pods are known (a namespace with pods)."""
    known = {e.namespace for e in cluster.endpoints if e.namespace}
    stale = []
    for policy in cluster.policies:
        meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
        namespace = str(meta.get("namespace", ""))
        where = f"NetworkPolicy {namespace}/{meta.get('name')}"
        selectors = [(spec.get("podSelector"), namespace, "podSelector")]
        for rules, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(rules) or []:
                for peer in rule.get(peers_key) or []:
                    if peer.get("podSelector") and "namespaceSelector" not in peer:
                        selectors.append((peer["podSelector"], namespace, f"{rules} {peers_key} podSelector"))
        for selector, in_namespace, what in selectors:
            if selector and in_namespace in known and not cluster.selects_any(selector, in_namespace):
                stale.append(Attention(STALE_SELECTOR, where, f"{what} {_text(selector)} matches no pod in "
                                                              f"{in_namespace}: not carried over"))
    return stale


def _text(selector: Obj) -> str:
    labels = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    labels += [f"{e.get('key')} {e.get('operator')} {','.join(e.get('values') or [])}"
               for e in selector.get("matchExpressions") or []]
    return "{" + ", ".join(labels) + "}"
