"""Flows proven, not eyeballed: the NetworkPolicies mip-cmp renders for a platform, evaluated over every pod
of every namespace (and the outside addresses that matter), against what mip-infra's own policies allow for
the same platform (tests/fixtures/upstream-network/, rendered from mip-infra by scripts/vendor_network.py,
Calico tier included).

Two platforms: the March platform (tests/fixtures/march-platform, mip-infra as of 3603251) against March's
policies, and the sample (sample-repo/, mip-infra as it deploys today) against today's. For each: no federation reaches another;
every flow between two namespaces that mip-cmp allows, upstream allows; every flow upstream allows, mip-cmp
allows, but the deliberate differences listed here (and in docs/network.md), each for a stated reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import MARCH_PLATFORM, REPO_ROOT, SAMPLE_REPO
from mip_cmp.model.network import AppNetwork, Network
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from netpol_eval import Cluster, Endpoint, Outside, Pod
from netpols import network_policies

FIXTURES = REPO_ROOT / "tests" / "fixtures"
CHART_PODS: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (FIXTURES / "chart-pods.yaml").read_text(encoding="utf-8"))
FEDERATIONS = ("federation-a", "federation-z")
HYBRID = "federation-z"
# Addresses outside the cluster, by what they are (mip-infra's values and remote-node registry).
OUTSIDE = {
    "web": Outside("93.184.216.34"),
    "node1": Outside("10.3.0.17"),             # federation-z's first remote node, pod CIDR 10.3.0.0/16
    "node2": Outside("10.4.0.17"),             # its second remote node, pod CIDR 10.4.0.0/16
    "node1-services": Outside("10.152.185.10"),  # node 1's service CIDR (Calico denies it; no policy names it)
    "api-server": Outside("148.187.143.17"),   # one of the control-plane endpoints (apiServer.cidrs)
    "inference": Outside("195.251.63.150"),    # the Jupyter AI server athena-proxy forwards to
}
REMOTE = ("node1", "node2")
OUTSIDE_PORTS = (22, 80, 443, 5000, 5672, 6443, 8080, 8888, 50051)
# Namespaces with pods outside any platform app: the cluster DNS and Argo CD.
SYSTEM_PODS = {
    "kube-system": [Pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, "", (53,))],
    "argocd-mip-team": [Pod("argocd-server", "argocd-mip-team", {"app.kubernetes.io/name": "argocd-server"},
                            "", (8080,))],
}


@dataclass(frozen=True)
class Sample:
    repo: Path
    upstream: str  # file under tests/fixtures/upstream-network/
    apps: dict[str, tuple[str, ...]]  # namespace -> the chart-pods.yaml entries whose pods run there
    remote: tuple[str, ...]  # the hybrid federation's remote nodes (names in OUTSIDE)


SAMPLES = {
    "march": Sample(MARCH_PLATFORM, "march.yaml", {
        **dict.fromkeys(FEDERATIONS, ("exareme2", "mip-stack")),
        "mip-common-datacatalog": ("datacatalog",),
        "ingress-nginx": ("nginx-public-ingress",),
    }, ("node1",)),
    "today": Sample(SAMPLE_REPO, "today.yaml", {
        **dict.fromkeys(FEDERATIONS, ("exareme2", "mip-stack", "jupyterhub")),
        "mip-common-datacatalog": ("datacatalog",),
        "mip-athena": ("athena-proxy",),
        "mip-notebooks-system": ("notebook-operator",),
        "ingress-nginx": ("haproxy-public-ingress",),
    }, REMOTE),
}

Flow = tuple[str, str, int, str]  # (source, destination, port, protocol); endpoints as `namespace/pod` or a name


def _pods(sample: Sample) -> list[Pod]:
    ip = iter(f"10.42.{i // 200}.{i % 200 + 10}" for i in range(10_000))
    pods = [Pod(p["name"], namespace, p["labels"], next(ip), tuple(p["ports"]))
            for namespace, apps in sample.apps.items() for app in apps for p in CHART_PODS[app]]
    return pods + [Pod(p.name, p.namespace, p.labels, next(ip), p.ports) for ps in SYSTEM_PODS.values() for p in ps]


def _namespace_labels(repo_root: Path) -> dict[str, dict[str, str]]:
    """The labels the root's Applications (managed namespace metadata) and Namespaces give each namespace."""
    labels: dict[str, dict[str, str]] = {}
    for obj in render_objects(Repo(repo_root), ".", BuildEnv()):
        if obj["kind"] == "Application":
            managed = obj["spec"].get("syncPolicy", {}).get("managedNamespaceMetadata", {})
            labels.setdefault(obj["spec"]["destination"]["namespace"], {}).update(managed.get("labels", {}))
        elif obj["kind"] == "Namespace":
            labels.setdefault(obj["metadata"]["name"], {}).update(obj["metadata"].get("labels", {}))
    return labels


def _cluster(sample: Sample, policies: list[dict[str, Any]], labels: dict[str, dict[str, str]],
             calico: list[dict[str, Any]] | None = None) -> Cluster:
    cluster = Cluster(policies=policies, calico=calico or [])
    for namespace in {*sample.apps, *SYSTEM_PODS}:
        cluster.add_namespace(namespace, labels.get(namespace, {}))
    cluster.pods = _pods(sample)
    return cluster


def _name(end: Endpoint) -> str:
    return f"{end.namespace}/{end.name}" if isinstance(end, Pod) else \
        next(name for name, outside in OUTSIDE.items() if outside == end)


def _probes(cluster: Cluster) -> Iterator[tuple[Endpoint, Endpoint, int, str]]:
    """Every source against every destination on every port it listens on (outside: the ports that matter),
    DNS also on UDP."""
    ends: list[Endpoint] = [*cluster.pods, *OUTSIDE.values()]
    for src in ends:
        for dst in ends:
            if src == dst or (isinstance(src, Outside) and isinstance(dst, Outside)):
                continue
            ports = dst.ports if isinstance(dst, Pod) else OUTSIDE_PORTS
            for port in ports:
                yield src, dst, port, "TCP"
                if port == 53:
                    yield src, dst, port, "UDP"


def allowed(cluster: Cluster) -> set[Flow]:
    return {(_name(src), _name(dst), port, protocol) for src, dst, port, protocol in _probes(cluster)
            if cluster.can_connect(src, dst, port, protocol)}


@dataclass(frozen=True)
class Compared:
    sample: str
    ours: set[Flow]  # what mip-cmp's policies allow
    theirs: set[Flow]  # what mip-infra's allow
    closed: set[str]  # the namespaces either side has policies in


@pytest.fixture(scope="module", params=sorted(SAMPLES))
def flows(request: pytest.FixtureRequest) -> Compared:
    sample = SAMPLES[request.param]
    policies, labels = network_policies(sample.repo), _namespace_labels(sample.repo)
    upstream = yaml.safe_load((FIXTURES / "upstream-network" / sample.upstream).read_text(encoding="utf-8"))
    closed = {p["metadata"]["namespace"] for p in [*policies, *upstream["policies"]]}
    return Compared(request.param, allowed(_cluster(sample, policies, labels)),
                    allowed(_cluster(sample, upstream["policies"], upstream["namespaces"], upstream["calico"])),
                    closed)


def _namespace(end: str) -> str | None:
    return end.split("/")[0] if "/" in end else None


def _between_namespaces(flow: Flow) -> bool:
    src, dst = _namespace(flow[0]), _namespace(flow[1])
    return src is not None and dst is not None and src != dst


def test_the_evaluator_reads_a_calico_tier_before_the_network_policies() -> None:
    """The tier's rules in order: Pass hands over to the NetworkPolicies, Deny drops whatever they allow."""
    tier = {"spec": {"selector": "projectcalico.org/orchestrator == 'k8s'", "ingress": [
        {"action": "Pass", "protocol": "TCP", "source": {"nets": ["10.3.0.0/16"]},
         "destination": {"namespaceSelector": "kind == 'hybrid'", "selector": "app == 'c' && tier == 'x'",
                         "ports": [5000]}},
        {"action": "Deny", "source": {"nets": ["10.3.0.0/16"]}},
        {"action": "Pass"}]}}
    cluster = Cluster(calico=[tier])
    cluster.add_namespace("h", {"kind": "hybrid"})
    cluster.add_namespace("l", {"kind": "local"})
    hybrid, local = Pod("c", "h", {"app": "c", "tier": "x"}, "10.42.0.1"), Pod("c", "l", {"app": "c", "tier": "x"},
                                                                            "10.42.0.2")
    remote, web = Outside("10.3.0.9"), Outside("93.184.216.34")
    assert cluster.can_connect(remote, hybrid, 5000)
    assert not cluster.can_connect(remote, hybrid, 5001), "not the port: the Deny rule"
    assert not cluster.can_connect(remote, local, 5000), "not the namespace: the Deny rule"
    assert cluster.can_connect(web, local, 22), "not remote: passed on, and no NetworkPolicy selects it"
    cluster.policies = [{"metadata": {"namespace": "h"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]
    assert not cluster.can_connect(remote, hybrid, 5000), "passed on to a default deny"


def test_no_federation_reaches_another(flows: Compared) -> None:
    ours = flows.ours
    crossing = sorted(f for f in ours if _namespace(f[0]) in FEDERATIONS and _namespace(f[1]) in FEDERATIONS
                      and _namespace(f[0]) != _namespace(f[1]))
    assert crossing == []
    assert any(_namespace(f[0]) == _namespace(f[1]) == "federation-a" for f in ours), "a checker that sees nothing"


def test_every_flow_between_namespaces_is_one_upstream_allows(flows: Compared) -> None:
    assert sorted(f for f in flows.ours - flows.theirs if _between_namespaces(f)) == []


def _remote_expected(sample: str) -> set[Flow]:
    controller = f"{HYBRID}/exaflow-controller"
    if sample == "march":  # the sample's one remote node, every port both ways (mip-infra's intent then)
        return {(controller, "node1", port, "TCP") for port in OUTSIDE_PORTS} | {("node1", controller, 5000, "TCP")}
    return {flow for node in SAMPLES[sample].remote for flow in (  # today: per port, both remote nodes
        (node, controller, 5000, "TCP"), (controller, node, 5672, "TCP"),
        (node, f"{HYBRID}/exaflow-aggregation-server", 50051, "TCP"),
        (node, f"{HYBRID}/exaflow-globalworker-0", 8080, "TCP"))}


def test_remote_nodes_reach_exactly_the_hybrid_federations_exareme2(flows: Compared) -> None:
    """The remote nodes' flows with a pod of a namespace mip-cmp closes: exactly the listed ones, all with the
    hybrid federation; no local federation, no common namespace, no other pod."""
    nodes = SAMPLES[flows.sample].remote
    remote = {f for f in flows.ours if (f[0] in nodes or f[1] in nodes)
              and (_namespace(f[0]) in flows.closed or _namespace(f[1]) in flows.closed)}
    assert remote == _remote_expected(flows.sample)


# --- the deliberate differences, each with its reason (docs/network.md, "Where mip-cmp differs") ----------

Rule = Callable[[Flow], bool]


def _is(end: str, *pods: str) -> bool:
    return "/" in end and end.split("/")[1] in pods


def _worker(end: str) -> bool:
    return _is(end, "exaflow-localworker-0", "exaflow-globalworker-0")


def _argocd(flow: Flow) -> bool:
    return _namespace(flow[0]) == "argocd-mip-team"


def _workers(flow: Flow) -> bool:
    return _worker(flow[0]) or _worker(flow[1])


def _web_to_a_remote_node(flow: Flow) -> bool:
    return flow[1] in (*REMOTE, "node1-services") and flow[2] in (80, 443)


def _controller_and_its_node(flow: Flow) -> bool:
    return {flow[0], flow[1]} == {"node1", f"{HYBRID}/exaflow-controller"}


# sample -> (flows upstream allows and mip-cmp does not, flows mip-cmp allows and upstream does not): why -> which.
DELIBERATE: dict[str, tuple[dict[str, Rule], dict[str, Rule]]] = {
    "march": ({
        "mip-infra admits Argo CD's namespace to every pod; Argo CD talks to the API server only": _argocd,
        "mip-infra's worker isolation selects app=exareme2-worker, a label the pinned exaflow chart no longer "
        "sets, so its workers are open to their namespace and the web; mip-cmp isolates them": _workers,
        "mip-infra (no Calico tier then) lets every pod reach a remote node on 80/443; mip-cmp's web egress "
        "leaves every remote peer's CIDRs out": _web_to_a_remote_node,
    }, {
        "mip-infra's allow-submariner-cidrs selects app=exareme2-controller, which no pod of the pinned chart "
        "carries; the sample's flows select the controller, so the hybrid federation works": _controller_and_its_node,
    }),
    "today": ({
        "mip-infra admits Argo CD's namespace to every pod; Argo CD talks to the API server only": _argocd,
        "mip-infra's worker isolation still selects app=exareme2-worker (no pod): mip-cmp isolates the "
        "workers": _workers,
    }, {}),
}


@pytest.mark.parametrize("wider", [False, True], ids=["narrower", "wider"])
def test_every_difference_from_upstream_is_deliberate(flows: Compared, wider: bool) -> None:
    """Upstream's flows that mip-cmp refuses (narrower) and mip-cmp's that upstream refuses (wider), where
    either side has a say (an end in a namespace one of them closes; the others, Argo CD's, kube-system, the
    ingress controller's, are left open by both): each is explained by one listed reason, and each reason
    explains at least one (no stale excuse)."""
    differ = flows.ours - flows.theirs if wider else flows.theirs - flows.ours
    found = {f for f in differ if _namespace(f[0]) in flows.closed or _namespace(f[1]) in flows.closed}
    rules = DELIBERATE[flows.sample][wider]
    assert sorted(f for f in found if not any(rule(f) for rule in rules.values())) == []
    assert [why for why, rule in rules.items() if not any(rule(f) for f in found)] == []


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_each_namespace_has_its_metadata_managed_by_one_application_or_identically(sample: str) -> None:
    """A closed infrastructure namespace has two Applications (the app and `<app>-network`): only one may
    manage its labels, or each sync of one would undo the other's."""
    managed: dict[str, list[Any]] = {}
    for obj in render_objects(Repo(SAMPLES[sample].repo), ".", BuildEnv()):
        if obj["kind"] == "Application" and "managedNamespaceMetadata" in obj["spec"].get("syncPolicy", {}):
            managed.setdefault(obj["spec"]["destination"]["namespace"], []).append(
                obj["spec"]["syncPolicy"]["managedNamespaceMetadata"])
    assert {ns: found for ns, found in managed.items() if any(m != found[0] for m in found)} == {}
    assert "ingress-nginx" in managed


def test_the_documented_vocabulary_is_the_models() -> None:
    """docs/network.md's two examples of the vocabulary are valid as the model reads them: an app's `network`
    with a flow to another app, and the platform's `network` with assigned peers plus a catalog app's remote
    flows."""
    doc = (REPO_ROOT / "docs" / "network.md").read_text(encoding="utf-8")
    section = doc.split("## Flows: the vocabulary", 1)[1].split("\n## ", 1)[0]
    app, platform = (yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S))
    flow = AppNetwork.model_validate(app["network"]).flows[0]
    assert flow.to is not None and flow.to.app == "athena-proxy" and flow.ports == [8080]
    network = Network.model_validate(platform["network"])
    assert {name: peer.federation for name, peer in network.peers.items()} == dict.fromkeys(
        ("node1", "node2"), HYBRID)
    remote = AppNetwork.model_validate(platform["catalog"]["exareme2"]["network"]).flows
    assert [(f.peer().remote, f.ports) for f in remote] == [(True, [5000]), (True, [5672])]
