"""Day one: Argo CD syncs the whole platform from the bootstrap objects on empty clusters, first time.

tests/support/argosim imitates Argo CD (namespaces, CRDs, project permissions on every apply, CreateNamespace, sync
waves, retries, prune, finalizers). Every Application must end Synced after a sync that succeeded on its
first try: a first sync that fails and only a retry repairs still counts as a failure of day one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argosim import Simulation
from argosim.project import kind_permitted
from lifecycle import platform_repo, set_platform, simulate

ARGOCD_VERSIONS = ["v3.1.12", "v3.5.1"]


def assert_day_one(sim: Simulation) -> None:
    rounds = sim.run()
    assert sim.problems() == []
    assert sim.retried() == [], "a first sync failed; only a retry repaired it"
    assert rounds <= 6, f"took {rounds} rounds to settle"
    for server in sim.cluster.servers:  # every namespaced object sits in a namespace that exists
        for key, _ in sim.cluster.find(server=server):
            assert not key[3] or sim.cluster.namespace_exists(server, key[3]), key


@pytest.mark.parametrize("version", ARGOCD_VERSIONS)
def test_the_sample_platform_syncs_from_empty(tmp_path: Path, version: str) -> None:
    repo = platform_repo(tmp_path)
    set_platform(repo, argocd={"version": version})
    sim = simulate(repo, version)
    assert_day_one(sim)
    assert sim.names("Application") == [
        "athena-proxy", "athena-proxy-network", "datacatalog", "datacatalog-network", "eck-stack", "federation-a",
        "federation-a-exareme2", "federation-a-exareme2-overlay", "federation-a-mip-stack", "federation-a-network",
        "federation-a-secrets", "federation-z", "federation-z-exareme2", "federation-z-mip-stack",
        "federation-z-network", "federation-z-objects", "federation-z-secrets", "haproxy-public-ingress",
        "mip-notebook-operator", "mip-notebook-operator-network", "mip-platform", "submariner-broker",
        "submariner-operator"]
    # (elastic-system too on a real cluster: the simulated ECK chart is a stand-in that applies nothing)
    assert {"argocd-mip-team", "federation-a", "federation-z", "mip-common-datacatalog", "mip-athena",
            "mip-notebooks-system", "ingress-nginx"} <= set(sim.names("Namespace"))
    # the federation's generated passwords and store secrets exist where its workloads run
    assert sim.names("Secret", namespace="federation-z") == ["jupyterhub-crypt", "keycloak-credentials", "mip-secret"]
    # the hybrid federation's services are exported to its remote workers
    assert sim.names("ServiceExport", namespace="federation-z") == [
        "exaflow-aggregation-service", "exaflow-controller-service"]
    # and every federation, common and closed infrastructure namespace is closed by its default deny
    for namespace in ("federation-a", "federation-z", "mip-common-datacatalog", "mip-athena", "mip-notebooks-system"):
        assert "default-deny" in sim.names("NetworkPolicy", namespace=namespace)


def test_fifty_federations_sync_from_empty(tmp_path: Path) -> None:
    sim = simulate(platform_repo(tmp_path, federations=50))
    assert_day_one(sim)
    apps = sim.names("Application")
    # root, datacatalog and its network app, 6 infrastructure apps and the network apps of two of them; per
    # (local) federation its wrapper, 2 workloads, secrets, network
    assert len(apps) == 1 + 2 + 6 + 2 + 50 * 5
    federation_namespaces = [n for server in sim.cluster.servers for n in sim.names("Namespace", server=server)
                             if n.startswith("federation-")]
    assert len(federation_namespaces) == 50


def _without_namespaces(app: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] != "Namespace"]


def test_a_namespace_that_would_not_exist_fails_the_sync_clearly(tmp_path: Path) -> None:
    """mip-cmp before this change: the root wrote datacatalog's ExternalSecret into a namespace that only the
    datacatalog Application creates, later; and without a retry policy Argo CD never tried again."""
    sim = simulate(platform_repo(tmp_path))
    sim.repo.tamper = _without_namespaces
    root = sim.cluster.get((sim.argocd_server, "argoproj.io", "Application", "argocd-mip-team", "mip-platform"))
    assert root is not None
    del root.obj["spec"]["syncPolicy"]["retry"]
    sim.run()
    assert sim.problems() == [
        "mip-platform: OutOfSync, last sync Failed: mip-platform: one or more objects failed to apply (wave -2): "
        'Password mip-common-datacatalog/datacatalog-secrets: namespaces "mip-common-datacatalog" not found']


def test_a_retry_policy_alone_cannot_repair_it(tmp_path: Path) -> None:
    """The failing wave stops the sync before the datacatalog Application (a later wave) exists, so every
    retry fails the same way: the root must create the namespace itself."""
    sim = simulate(platform_repo(tmp_path))
    sim.repo.tamper = _without_namespaces
    sim.run()
    assert [p.split(": ")[-1] for p in sim.problems()] == ['namespaces "mip-common-datacatalog" not found']
    assert sim.status["mip-platform"].tries == 1 + 10  # the first sync and every retry of RETRY's limit


def test_a_project_missing_a_permission_fails_before_anything_is_applied(tmp_path: Path) -> None:
    sim = simulate(platform_repo(tmp_path))

    def no_namespace_whitelist(app: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for obj in objects:
            if obj["kind"] == "AppProject" and obj["metadata"]["name"] == "federation-a":
                obj["spec"]["clusterResourceWhitelist"] = []
        return objects

    sim.repo.tamper = no_namespace_whitelist
    sim.run()
    assert [p for p in sim.problems() if p.startswith("federation-a-")] == [
        f"federation-a-{app}: OutOfSync, last sync Failed: federation-a-{app}: one or more synchronization tasks "
        "are not valid: Namespace federation-a: resource :Namespace is not permitted in project federation-a"
        for app in ("exareme2", "exareme2-overlay", "mip-stack", "secrets")]
    # The namespace exists all the same: federation-a-network, in its own project, created it (and closed it).
    assert "federation-a" in sim.names("Namespace")


@pytest.mark.parametrize(("version", "other_namespace_allowed"), [("v3.1.12", True), ("v3.5.1", False)])
def test_what_each_argo_cd_stores_of_a_projects_namespace_whitelist(tmp_path: Path, version: str,
                                                                     other_namespace_allowed: bool) -> None:
    """v3.1.12's CRD has no whitelist `name`: the project allows every Namespace there (and mip-cmp says so in
    `validate`); from v3.3 it names the federation's own."""
    repo = platform_repo(tmp_path)
    set_platform(repo, argocd={"version": version})
    sim = simulate(repo, version)
    sim.run()
    live = sim.cluster.get((sim.argocd_server, "argoproj.io", "AppProject", "argocd-mip-team", "federation-a"))
    assert live is not None
    assert kind_permitted(live.obj, "", "Namespace", "federation-a", namespaced=False)
    assert kind_permitted(live.obj, "", "Namespace", "kube-system", namespaced=False) is other_namespace_allowed


def test_output_for_a_newer_argo_cd_loses_its_restriction_on_an_older_one(tmp_path: Path) -> None:
    """Why the platform must declare the Argo CD it runs: v3.1.12 prunes the `name` it does not know."""
    repo = platform_repo(tmp_path)
    set_platform(repo, argocd={"version": "v3.5.1"})
    sim = simulate(repo, "v3.1.12")
    sim.run()
    live = sim.cluster.get((sim.argocd_server, "argoproj.io", "AppProject", "argocd-mip-team", "federation-a"))
    assert live is not None
    assert live.obj["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
