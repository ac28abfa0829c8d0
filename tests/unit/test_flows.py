"""flows and network on their own: what a flow declaration may say (one row per refusal), and the policies a
flow makes on each end, with a small platform."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_REPO
from mip_cmp.core.errors import MipError
from mip_cmp.model.federation import Federation
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_platform
from mip_cmp.stage3_expand.policies import app_policies, federation_policies
from mip_cmp.tools.validate import validate_repo

PLATFORM: dict[str, Any] = yaml.safe_load("""\
apiVersion: mip-cmp.io/v1alpha1
kind: Platform
repoURL: https://example.org/p.git
argocd: {namespace: argocd}
clusters: {in-cluster: https://kubernetes.default.svc}
catalog:
  engine:
    repoURL: https://example.org/e.git
    path: .
    revision: main
    version: '1'
    network:
      flows:
        - {name: engine-to-proxy, pods: {app: engine}, to: {app: proxy, pods: {app: proxy}}, ports: [8080]}
        - {name: nodes-to-engine, pods: {app: engine}, from: {remote: true}, ports: [5000]}
  portal: {repoURL: https://example.org/u.git, path: ., revision: main, version: '1'}
commonApps:
  proxy:
    repoURL: https://example.org/c.git
    path: .
    revision: main
    version: '1'
    namespace: common-proxy
    network:
      flows:
        - {name: proxy-out, pods: {app: proxy}, to: {cidrs: [192.0.2.10/32]}, ports: [8888]}
        - {name: proxy-to-metrics, pods: {app: proxy}, to: {namespace: monitoring}, ports: [9090]}
federations: {path: feds}
network:
  peers:
    node1: {federation: hybrid, cidrs: [10.3.0.0/16]}
    node2: {federation: hybrid, cidrs: [10.4.0.0/16]}
""")


def platform(tmp_path: Path, change: dict[str, Any] | None = None) -> Any:
    document = yaml.safe_load(yaml.safe_dump(PLATFORM))
    for path, value in (change or {}).items():
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    (tmp_path / "mip.yaml").write_text(yaml.safe_dump(document))
    return load_platform(Repo(tmp_path)).model


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "unknown app": ({"catalog.engine.network.flows.0.to": {"app": "proxi", "pods": {"app": "proxy"}}},
                    "unknown app 'proxi' (the platform's apps are: engine, portal, proxy); did you mean 'proxy'?"),
    "catalog peer without pods": ({"catalog.engine.network.flows.0.to": {"app": "portal"}},
                                  "'portal' shares each federation's namespace with other apps: name its pods"),
    "an app's namespace by name": ({"commonApps.proxy.network.flows.1.to": {"namespace": "common-proxy"}},
                                   "'common-proxy' is 'proxy''s namespace: write `app: proxy`"),
    "remote outside the catalog": ({"commonApps.proxy.network.flows.1.to": {"remote": True}},
                                   "only a catalog app's flow can reach them"),
    "API server not located": ({"commonApps.proxy.network.flows.1.to": {"apiServer": True}},
                               "set `network.apiServer.cidrs`"),
    "a name taken twice": ({"commonApps.proxy.network.flows.1.name": "engine-to-proxy"},
                           "another flow's policy is named 'engine-to-proxy'"),
    "a name mip-cmp gives": ({"commonApps.proxy.network.flows.1.name": "allow-dns"},
                             "'allow-dns' is a name mip-cmp gives its own policies"),
    "web off in the catalog": ({"catalog.portal.network": {"web": False}}, "remove `web`"),
    "two federations' peers overlap": ({"network.peers.node2": {"federation": "local", "cidrs": ["10.3.128.0/17"]}},
                                       "overlaps peer 'node1', assigned to federation 'hybrid'"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_flow_declaration_is_refused_with_what_to_do(tmp_path: Path, case: str) -> None:
    change, message = REFUSED[case]
    with pytest.raises(MipError) as refused:
        platform(tmp_path, change)
    assert message in str(refused.value)


def test_the_platform_as_written_is_accepted(tmp_path: Path) -> None:
    assert platform(tmp_path).network.peers["node1"].federation == "hybrid"


def by_name(policies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def federation(name: str, apps: list[str], peers: list[str] | None = None) -> Federation:
    return Federation.model_validate({"apiVersion": "mip-cmp.io/v1alpha1", "kind": "Federation", "name": name,
                                      "cluster": "in-cluster", "type": "hybrid" if peers else "local",
                                      "apps": dict.fromkeys(apps), "peers": peers or []})


def test_a_flow_makes_a_policy_on_each_end_where_its_apps_run(tmp_path: Path) -> None:
    p = platform(tmp_path)
    runs = by_name(federation_policies(p, federation("fed", ["engine"]), {}))
    assert runs["engine-to-proxy"]["egress"] == [{"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "common-proxy"}}, "podSelector": {"matchLabels": {"app": "proxy"}}}],
        "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert "nodes-to-engine" not in runs, "a local federation names no peer: no remote policy at all"
    assert "engine-to-proxy" not in by_name(federation_policies(p, federation("other", ["portal"]), {})), \
        "a federation that does not run the app gets none of its flows"
    proxy = by_name(app_policies(p, "proxy", {}))
    assert proxy["engine-to-proxy-ingress"]["ingress"][0]["from"] == [{
        "namespaceSelector": {"matchExpressions": [{"key": "mip-cmp.io/federation", "operator": "Exists"}]},
        "podSelector": {"matchLabels": {"app": "engine"}}}]
    assert proxy["proxy-out"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "192.0.2.10/32"}}]


def test_a_namespace_peer_never_selects_a_federations_namespace(tmp_path: Path) -> None:
    spec = by_name(app_policies(platform(tmp_path), "proxy", {}))["proxy-to-metrics"]
    assert spec["egress"][0]["to"] == [{"namespaceSelector": {
        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"},
        "matchExpressions": [{"key": "mip-cmp.io/federation", "operator": "DoesNotExist"}]}}]


def test_remote_flows_reach_the_cidrs_of_the_peers_the_federation_names(tmp_path: Path) -> None:
    p = platform(tmp_path)
    spec = by_name(federation_policies(p, federation("hybrid", ["engine"], ["node1", "node2"]), {}))
    assert spec["nodes-to-engine"]["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.3.0.0/16"}},
                                                            {"ipBlock": {"cidr": "10.4.0.0/16"}}],
                                                   "ports": [{"protocol": "TCP", "port": 5000}]}]
    web = spec["allow-web-egress"]["egress"][0]["to"][0]["ipBlock"]
    assert web == {"cidr": "0.0.0.0/0", "except": ["10.3.0.0/16", "10.4.0.0/16"]}


def test_validate_refuses_a_peer_the_platform_assigned_to_another_federation(tmp_path: Path) -> None:
    """Issue 20's path: federation-a's own file turns hybrid and names federation-z's remote node."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    own = repo / "federations" / "federation-a" / "mip.yaml"
    document = yaml.safe_load(own.read_text())
    document.update({"type": "hybrid", "peers": ["node1"]})
    own.write_text(yaml.safe_dump(document))
    problems, _ = validate_repo(repo)
    assert [str(p) for p in problems if "peers" in str(p)] == [
        "federations/federation-a/mip.yaml:25:3: peers[0]: peer 'node1' is assigned to federation 'federation-z', "
        "not to this one; the peers the platform assigned to 'federation-a' are: (none)"]
