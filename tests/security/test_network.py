"""The generated NetworkPolicies, evaluated for real over the pods the charts create.

The sample platform is rendered as Argo CD renders it (every `<name>-network` Application), the policies are
loaded into a small NetworkPolicy evaluator (tests/support/netpol_eval.py, itself tested first against the
Kubernetes semantics it implements), and each flow the platform needs or must forbid is asked for.
"""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import MARCH_PLATFORM, REPO_ROOT, SAMPLE_REPO
from mip_cmp.core.errors import MipError
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from netpol_eval import Cluster, Outside, Pod, selects
from netpols import network_policies

CHART_PODS: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (REPO_ROOT / "tests" / "fixtures" / "chart-pods.yaml").read_text(encoding="utf-8"))
WEB = Outside("93.184.216.34")
REMOTE_WORKER = Outside("10.3.0.17")  # on federation-z's remote node (network.peers.node1: 10.3.0.0/16)
FEDERATION_APPS = ("exareme2", "mip-stack")


def build_cluster(policies: list[dict[str, Any]]) -> Cluster:
    """federation-a and federation-z run exareme2 and mip-stack, mip-common-datacatalog the data catalog;
    the ingress controller and the cluster DNS run where the platform says."""
    cluster = Cluster(policies=policies)
    ip = iter(f"10.42.{i // 200}.{i % 200 + 10}" for i in range(10_000))
    layout = {"federation-a": FEDERATION_APPS, "federation-z": FEDERATION_APPS,
              "mip-common-datacatalog": ("datacatalog",)}
    for namespace, apps in layout.items():
        cluster.add_namespace(namespace)
        for app in apps:
            for pod in CHART_PODS[app]:
                cluster.pods.append(Pod(pod["name"], namespace, pod["labels"], next(ip), tuple(pod["ports"])))
    cluster.add_namespace("ingress-nginx")
    cluster.pods.append(Pod("nginx-public-controller", "ingress-nginx",
                            {"app.kubernetes.io/name": "nginx-public"}, next(ip), (80, 443)))
    cluster.add_namespace("kube-system")
    cluster.pods.append(Pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, next(ip), (53,)))
    cluster.add_namespace("argocd-mip-team")
    cluster.pods.append(Pod("argocd-server", "argocd-mip-team", {"app.kubernetes.io/name": "argocd-server"},
                            next(ip), (8080,)))
    return cluster


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return build_cluster(network_policies(SAMPLE_REPO))


# --- the evaluator itself ----------------------------------------------------------------------------------


def policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def small_cluster(*policies: dict[str, Any]) -> tuple[Cluster, Pod, Pod, Pod]:
    cluster = Cluster(policies=list(policies))
    cluster.add_namespace("a", {"team": "x"})
    cluster.add_namespace("b")
    web, db, other = (Pod("web", "a", {"app": "web"}, "10.0.0.1"), Pod("db", "a", {"app": "db"}, "10.0.0.2"),
                      Pod("other", "b", {"app": "web"}, "10.0.1.1"))
    cluster.pods += [web, db, other]
    return cluster, web, db, other


def test_evaluator_without_policies_everything_is_open() -> None:
    cluster, _, db, other = small_cluster()
    assert cluster.can_connect(other, db, 5432) and cluster.can_connect(db, WEB, 22)


def test_evaluator_default_deny_closes_both_directions() -> None:
    cluster, web, db, other = small_cluster(policy("deny", "a", {"podSelector": {},
                                                                 "policyTypes": ["Ingress", "Egress"]}))
    assert not cluster.can_connect(web, db, 5432)
    assert not cluster.can_connect(other, db, 5432)
    assert not cluster.can_connect(db, WEB, 443)
    assert cluster.can_connect(other, WEB, 443), "namespace b has no policy"


def test_evaluator_peer_with_both_selectors_is_an_and_two_peers_are_an_or() -> None:
    both = {"namespaceSelector": {"matchLabels": {"team": "x"}}, "podSelector": {"matchLabels": {"app": "web"}}}
    cluster, web, db, other = small_cluster(policy("db", "a", {
        "podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [both], "ports": [{"protocol": "TCP", "port": 5432}]}]}))
    assert cluster.can_connect(web, db, 5432)
    assert not cluster.can_connect(web, db, 5433), "port not listed"
    assert not cluster.can_connect(web, db, 5432, "UDP"), "protocol not listed"
    assert not cluster.can_connect(other, db, 5432), "namespace b lacks the label"
    split = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}},
             {"podSelector": {"matchLabels": {"app": "web"}}}]
    cluster.policies = [policy("db", "a", {"podSelector": {"matchLabels": {"app": "db"}},
                                           "policyTypes": ["Ingress"], "ingress": [{"from": split}]})]
    assert cluster.can_connect(other, db, 1) and cluster.can_connect(web, db, 1)
    assert not cluster.can_connect(db, db, 1), "db is neither in b nor labelled web"


def test_evaluator_pod_selector_alone_means_the_policys_namespace() -> None:
    cluster, web, db, other = small_cluster(policy("db", "a", {
        "podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}))
    assert cluster.can_connect(web, db, 1)
    assert not cluster.can_connect(other, db, 1)


def test_evaluator_ip_blocks_and_excepts() -> None:
    cluster, web, db, _ = small_cluster(policy("out", "a", {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                    "ports": [{"port": 443}]}]}))
    assert cluster.can_connect(web, WEB, 443)
    assert not cluster.can_connect(web, db, 443), "pod IP inside the except range"
    assert not cluster.can_connect(web, WEB, 80)
    assert cluster.can_connect(db, WEB, 80), "db is not selected"


def test_evaluator_selectors() -> None:
    labels = {"app": "x", "tier": "db"}
    assert selects({}, labels)
    assert selects({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["y"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}, labels)
    assert selects({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["x"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "app", "operator": "In", "values": ["y"]}]}, labels)
    assert not selects({"matchLabels": {"app": "x", "tier": "web"}}, labels)
    assert selects({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels)


# --- the sample platform -----------------------------------------------------------------------------------


def test_every_federation_and_common_namespace_is_closed_by_default(cluster: Cluster) -> None:
    deny = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in cluster.policies
            if p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert deny == {(ns, "default-deny") for ns in ("federation-a", "federation-z", "mip-common-datacatalog",
                                                    "mip-notebooks-system", "mip-athena")}


@pytest.mark.parametrize("src_ns, dst_ns", [
    ("federation-a", "federation-z"), ("federation-z", "federation-a"),
    ("federation-a", "mip-common-datacatalog"), ("federation-z", "mip-common-datacatalog"),
    ("mip-common-datacatalog", "federation-a"), ("mip-common-datacatalog", "federation-z"),
])
def test_no_pod_reaches_another_namespace(cluster: Cluster, src_ns: str, dst_ns: str) -> None:
    """Every pod of one namespace against every port of every pod of the other: all refused. Port 80/443 too:
    the web egress lets a pod out, but the other namespace's ingress only admits its own pods and the
    ingress controller."""
    tried = 0
    for src in (p for p in cluster.pods if p.namespace == src_ns):
        for dst in (p for p in cluster.pods if p.namespace == dst_ns):
            for port in {*dst.ports, 80, 443}:
                assert not cluster.can_connect(src, dst, port), f"{src.name} -> {dst_ns}/{dst.name}:{port}"
                tried += 1
    assert tried > 10


def test_datacatalog_database_is_reachable_only_from_its_namespace(cluster: Cluster) -> None:
    db = cluster.pod("mip-common-datacatalog", "db")
    assert cluster.can_connect(cluster.pod("mip-common-datacatalog", "backend"), db, 5432)
    for src in (p for p in cluster.pods if p.namespace != "mip-common-datacatalog"):
        assert not cluster.can_connect(src, db, 5432), src


@pytest.mark.parametrize("federation", ["federation-a", "federation-z"])
def test_exareme2_and_mip_stack_talk_inside_a_federation(cluster: Cluster, federation: str) -> None:
    def pod(name: str) -> Pod:
        return cluster.pod(federation, name)

    controller, worker = pod("exaflow-controller"), pod("exaflow-localworker-0")
    # mip-stack's portal backend calls exareme2 (engines.exaflow.URL: http://exaflow-controller-service:5000).
    assert cluster.can_connect(pod("portalbackend"), controller, 5000)
    assert cluster.can_connect(pod("platform-ui"), pod("portalbackend"), 8080)
    # The controller drives its workers over gRPC; workers answer the controller and the aggregation server.
    assert cluster.can_connect(controller, worker, 5672)
    assert cluster.can_connect(controller, pod("exaflow-globalworker-0"), 5672)
    assert cluster.can_connect(worker, controller, 5000)
    assert cluster.can_connect(worker, pod("exaflow-aggregation-server"), 50051)
    # Workers hold the hospital's data: nothing else in the namespace reaches them, they reach nothing else.
    assert not cluster.can_connect(pod("platform-ui"), worker, 5672)
    assert not cluster.can_connect(pod("portalbackend"), worker, 5672)
    assert not cluster.can_connect(worker, pod("portalbackend"), 5432)
    assert not cluster.can_connect(worker, WEB, 443), "workers have no web egress"


def test_ingress_controller_reaches_only_public_services(cluster: Cluster) -> None:
    nginx = cluster.pod("ingress-nginx", "nginx-public-controller")
    for federation in ("federation-a", "federation-z"):
        assert cluster.can_connect(nginx, cluster.pod(federation, "platform-ui"), 80)
        assert not cluster.can_connect(nginx, cluster.pod(federation, "portalbackend"), 8080)
        assert not cluster.can_connect(nginx, cluster.pod(federation, "exaflow-controller"), 5000)
    assert cluster.can_connect(nginx, cluster.pod("mip-common-datacatalog", "frontend"), 80)
    assert not cluster.can_connect(nginx, cluster.pod("mip-common-datacatalog", "db"), 5432)
    solver = Pod("cm-acme-http-solver", "federation-a", {"acme.cert-manager.io/http01-solver": "true"}, "10.42.99.1")
    cluster_with_solver = copy.copy(cluster)
    cluster_with_solver.pods = [*cluster.pods, solver]
    assert cluster_with_solver.can_connect(nginx, solver, 8089)


def test_dns_and_the_web(cluster: Cluster) -> None:
    dns = cluster.pod("kube-system", "coredns")
    for pod in (p for p in cluster.pods if p.namespace in ("federation-a", "federation-z", "mip-common-datacatalog")):
        assert cluster.can_connect(pod, dns, 53, "UDP") and cluster.can_connect(pod, dns, 53, "TCP"), pod
        assert not cluster.can_connect(pod, dns, 8080), pod
    platform_ui = cluster.pod("federation-a", "platform-ui")
    assert cluster.can_connect(platform_ui, WEB, 443) and cluster.can_connect(platform_ui, WEB, 80)
    assert not cluster.can_connect(platform_ui, WEB, 22)
    assert not cluster.can_connect(cluster.pod("argocd-mip-team", "argocd-server"),
                                   cluster.pod("federation-a", "portalbackend"), 5432), \
        "Argo CD talks to the API server, never to the pods"


def test_only_the_hybrid_federations_controller_talks_to_its_remote_workers(cluster: Cluster) -> None:
    z_controller = cluster.pod("federation-z", "exaflow-controller")
    assert cluster.can_connect(z_controller, REMOTE_WORKER, 5672)
    assert cluster.can_connect(REMOTE_WORKER, z_controller, 5000)
    assert not cluster.can_connect(REMOTE_WORKER, cluster.pod("federation-z", "portalbackend"), 8080)
    assert not cluster.can_connect(cluster.pod("federation-a", "exaflow-controller"), REMOTE_WORKER, 5672)
    assert not cluster.can_connect(REMOTE_WORKER, cluster.pod("federation-a", "exaflow-controller"), 5000)


def with_flower(repo: Path) -> None:
    """The platform change docs/network.md gives for the chart's Flower mode (`flower.enabled: true`), read
    from the doc itself: local workers reach the Flower server the global worker starts on 8080."""
    doc = (REPO_ROOT / "docs" / "network.md").read_text(encoding="utf-8")
    block = doc.split("- **Flower**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    allowance = yaml.safe_load(textwrap.dedent(block))
    document = yaml.safe_load((repo / "mip.yaml").read_text())
    exareme2 = document["catalog"]["exareme2"]
    exareme2["values"]["flower"]["enabled"] = True
    rule = exareme2["network"]["isolated"][0]
    for direction in ("ingressFrom", "egressTo"):
        rule[direction] += allowance[direction]
    (repo / "mip.yaml").write_text(yaml.safe_dump(document))


def test_flower_needs_the_documented_allowance(cluster: Cluster, tmp_path: Path) -> None:
    """The sample keeps mip-infra's `flower.enabled: false`, so no worker reaches another; with the documented
    allowance, a local worker reaches the global worker's Flower server and nothing else changes."""
    def flows(c: Cluster) -> tuple[bool, bool, bool]:
        local, other = c.pod("federation-a", "exaflow-localworker-0"), c.pod("federation-a", "exaflow-globalworker-0")
        return (c.can_connect(local, other, 8080), c.can_connect(other, local, 8080),
                c.can_connect(c.pod("federation-a", "platform-ui"), other, 8080))

    assert flows(cluster) == (False, False, False)
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    with_flower(repo)
    assert flows(build_cluster(network_policies(repo))) == (True, False, False)


# --- a federation's mip.yaml cannot widen any of it -------------------------------------------------------


FEDERATION_A = "federations/federation-a/mip.yaml"
WIDENING = {
    # Only what the schema accepts reaches the expansion; each of these is refused or changes nothing.
    "values cannot open ports": {"apps": {"exareme2": {"values": {"networkPolicy": {"enabled": False},
                                                                  "ingress": {"from": "0.0.0.0/0"}}},
                                          "mip-stack": None}},
    "a hybrid type alone admits no peer": {"type": "hybrid"},
    "sync options do not touch the network": {"apps": {"exareme2": {"sync": {"options": ["Replace=true"]}},
                                                        "mip-stack": None}},
}


@pytest.mark.parametrize("change", sorted(WIDENING))
def test_a_federations_file_does_not_change_its_policies(change: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    before = [p for p in network_policies(repo) if p["metadata"]["namespace"] == "federation-a"]
    document = yaml.safe_load((repo / FEDERATION_A).read_text())
    document.update(WIDENING[change])
    (repo / FEDERATION_A).write_text(yaml.safe_dump(document))
    after = [p for p in network_policies(repo) if p["metadata"]["namespace"] == "federation-a"]
    assert [p["spec"] for p in after] == [p["spec"] for p in before]


@pytest.mark.parametrize("extra", [
    {"peers": ["node1"]},                                   # local federation
    {"type": "hybrid", "peers": ["0.0.0.0/0"]},             # not a peer name
    {"type": "hybrid", "peers": ["internet"]},              # not one the platform lists
    {"network": {"web": {"ports": [22]}}},                  # platform-only setting
    {"apps": {"exareme2": {"network": {"public": [{"pods": {"app": "exaflow-worker"}, "ports": [5672]}]}}}},
])
def test_a_federation_cannot_ask_for_more(extra: dict[str, Any], tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    document = yaml.safe_load((repo / FEDERATION_A).read_text())
    document.update(extra)
    (repo / FEDERATION_A).write_text(yaml.safe_dump(document))
    env = BuildEnv(params={"federation": "federation-a", "directory": "federations/federation-a",
                           "component": "network"})
    with pytest.raises(MipError):
        render_objects(Repo(repo), ".", env)


def test_federation_projects_cannot_manage_network_policies() -> None:
    """The policies come only from the admins' network project; a chart or overlay of a federation cannot
    create, change or delete a NetworkPolicy (Argo CD checks the project's whitelist)."""
    repo = Repo(SAMPLE_REPO)
    objects = render_objects(repo, ".", BuildEnv())
    projects = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "AppProject"}
    network_kind = {"group": "networking.k8s.io", "kind": "NetworkPolicy"}
    for name in ("federation-a", "federation-z", "mip-common"):
        assert network_kind not in projects[name]["namespaceResourceWhitelist"], name
    for owner, namespace in (("federation-a", "federation-a"), ("federation-z", "federation-z"),
                             ("datacatalog", "mip-common-datacatalog")):
        project = projects[f"{owner}-network"]
        assert project["namespaceResourceWhitelist"] == [network_kind]
        assert project["roles"][0]["groups"] == ["argocd-admins"] and len(project["roles"]) == 1
        assert [d["namespace"] for d in project["destinations"]] == [namespace]


def test_mip_infra_flows_are_kept() -> None:
    """Every flow of mip-infra's policy charts that the apps need is in the generated set: same ports for the
    ingress controller (80, 443) and the ACME solver (8089), DNS on UDP and TCP 53, web egress on 80 and 443,
    and federation-Z's Submariner CIDR for its exareme2 controller."""
    facts = REPO_ROOT / "tests" / "fixtures" / "mip-infra"
    chart = (facts / "common/security/federation/templates/federation-network-policy.yaml").read_text()
    submariner = yaml.safe_load((facts / "deployments/hybrid/federations/federation-Z/mip-infrastructure/"
                                          "submariner-policies/network-policy.yaml").read_text())
    generated = network_policies(MARCH_PLATFORM)  # the platform of those facts
    by_name = {(p["metadata"]["namespace"], p["metadata"]["name"]): p["spec"] for p in generated}
    for port in (80, 443, 8089):
        assert f"port: {port}" in chart
    ingress_ports = [p["port"] for p in by_name[("federation-a", "allow-ingress-to-mip-stack")]["ingress"][0]["ports"]]
    assert ingress_ports == [80, 443]
    assert by_name[("federation-a", "allow-acme-http01")]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8089}]
    assert {(p["protocol"], p["port"]) for p in by_name[("federation-a", "allow-dns")]["egress"][0]["ports"]} == \
        {("UDP", 53), ("TCP", 53)}
    web = by_name[("federation-a", "allow-web-egress")]["egress"][0]
    assert [p["port"] for p in web["ports"]] == [80, 443]
    accepts, opens = by_name[("federation-z", "allow-submariner-cidrs")], by_name[("federation-z",
                                                                                   "allow-submariner-cidrs-out")]
    remote = [peer["ipBlock"]["cidr"] for peer in submariner["spec"]["ingress"][0]["from"]]
    assert [peer["ipBlock"]["cidr"] for peer in accepts["ingress"][0]["from"]] == remote
    assert [peer["ipBlock"]["cidr"] for peer in opens["egress"][0]["to"]] == remote
    assert [*accepts["policyTypes"], *opens["policyTypes"]] == submariner["spec"]["policyTypes"]
