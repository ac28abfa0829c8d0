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


@pytest.mark.slow
@pytest.mark.parametrize("version", ARGOCD_VERSIONS)
def test_the_sample_platform_syncs_from_empty(tmp_path: Path, version: str) -> None:
    repo = platform_repo(tmp_path)
    set_platform(repo, argocd={"version": version})
    sim = simulate(repo, version)
    assert_day_one(sim)
    assert sim.names("Application") == [
        "athena-proxy", "athena-proxy-network", "athena-proxy-secrets", "datacatalog", "datacatalog-network",
        "datacatalog-secrets",
        "eck-stack", "federation-a", "federation-a-exareme2", "federation-a-exareme2-overlay", "federation-a-mip-stack",
        "federation-a-network", "federation-a-secrets", "federation-z", "federation-z-exareme2",
        "federation-z-mip-stack", "federation-z-network", "federation-z-objects", "federation-z-secrets",
        "haproxy-public-ingress", "mip-notebook-operator", "mip-notebook-operator-network", "mip-platform",
        "submariner-broker", "submariner-operator"]
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


@pytest.mark.slow
def test_fifty_federations_sync_from_empty(tmp_path: Path) -> None:
    sim = simulate(platform_repo(tmp_path, federations=50))
    assert_day_one(sim)
    apps = sim.names("Application")
    # root, datacatalog and its network and secrets apps, 6 infrastructure apps, the network apps of two of them
    # and the secrets app of one; per (local) federation its wrapper, 2 workloads, secrets, network
    assert len(apps) == 1 + 3 + 6 + 2 + 1 + 50 * 5
    federation_namespaces = [n for server in sim.cluster.servers for n in sim.names("Namespace", server=server)
                             if n.startswith("federation-")]
    assert len(federation_namespaces) == 50


def test_a_missing_store_key_holds_back_only_the_app_that_reads_it(tmp_path: Path) -> None:
    """The store answers "not found" for the datacatalog's key: its ExternalSecret turns Degraded, in
    datacatalog-secrets only; the root's waves hold nothing that waits on a store, so every federation syncs.
    (mip-cmp before this change: the root applied that ExternalSecret at wave -1 and failed there, 11 times.)"""
    sim = simulate(platform_repo(tmp_path))
    sim.store.missing = {"keycloak/datacatalog"}
    assert_day_one(sim)
    assert sim.unhealthy() == ["datacatalog-secrets: Degraded: ExternalSecret datacatalog-secrets: could not get "
                               "secret data from provider: key 'keycloak/datacatalog' not found"]
    assert sim.names("Secret", namespace="mip-common-datacatalog") == []
    for federation in ("federation-a", "federation-z"):
        assert sim.names("Secret", namespace=federation) == ["jupyterhub-crypt", "keycloak-credentials", "mip-secret"]


def test_without_external_secrets_running_only_the_secrets_wait(tmp_path: Path) -> None:
    """ESO not running yet (or its store not ready): every ExternalSecret stays Progressing, and still every
    Application syncs; the secrets appear once ESO runs."""
    sim = simulate(platform_repo(tmp_path))
    sim.store.running = False
    assert_day_one(sim)
    assert sim.unhealthy() == [f"{app}: Progressing: ExternalSecret {secret}: Waiting for ExternalSecret"
                               for app, secret in (("athena-proxy-secrets", "codex-llm"),
                                                   ("datacatalog-secrets", "datacatalog-secrets"),
                                                   ("federation-a-secrets", "jupyterhub-crypt"),
                                                   ("federation-z-secrets", "jupyterhub-crypt"))]
    sim.store.running = True
    sim.run()
    assert sim.unhealthy() == []
    assert sim.names("Secret", namespace="mip-common-datacatalog") == ["datacatalog-secrets"]
    assert sim.names("Secret", namespace="mip-athena") == ["codex-llm"]  # an infrastructure app's, the same way


def test_a_wave_waits_for_the_health_of_the_one_before(tmp_path: Path) -> None:
    """What held the platform back: an object the root applied in an early wave that stays Progressing keeps
    every later wave from being applied, and Degraded fails the sync (gitops-engine's wait between waves)."""
    sim = simulate(platform_repo(tmp_path))
    sim.store.missing = {"keycloak/datacatalog"}

    secret = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
              "metadata": {"name": "datacatalog-secrets", "namespace": "argocd-mip-team",
                           "annotations": {"argocd.argoproj.io/sync-wave": "-1"}},
              "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "mip-central"},
                       "data": [{"secretKey": "client-id", "remoteRef": {"key": "keycloak/datacatalog"}}]}}

    def secrets_in_the_root(app: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [secret, *objects] if app["metadata"]["name"] == "mip-platform" else objects

    sim.repo.tamper = secrets_in_the_root
    sim.run()
    assert sim.names("ApplicationSet") == []  # wave 0 never came: no federation, no common app
    # only the waves up to the secret's were applied (the network and secrets Applications, beside it)
    assert [a for a in sim.names("Application") if not a.endswith(("-network", "-secrets"))] == ["mip-platform"]
    assert sim.status["mip-platform"].history[0] == (
        "mip-platform: one or more synchronization tasks completed unsuccessfully: ExternalSecret "
        "datacatalog-secrets: could not get secret data from provider: key 'keycloak/datacatalog' not found")


def test_the_platform_settles_with_no_self_heal_loop(tmp_path: Path) -> None:
    """Argo CD rewrites an Application whose source has an empty helm/kustomize/directory block; none is
    emitted, so once synced, nothing changes any more."""
    sim = simulate(platform_repo(tmp_path))
    sim.run()
    changes = sim.cluster.changes
    assert sim.run() == 1
    assert sim.cluster.changes == changes
    sources = [live.obj["spec"].get("source", {}) for _, live in sim.cluster.find(kind="Application")]
    assert not [s for s in sources if {"helm", "kustomize", "directory"} & s.keys() and
                not all(s[k] for k in {"helm", "kustomize", "directory"} & s.keys())]


def test_an_empty_source_block_loops_for_ever(tmp_path: Path) -> None:
    """What Argo CD does with `kustomize: {}` (mip-cmp before this change emitted it for overlays and
    infrastructure apps): the controller drops it, the parent's self-heal writes it back, for ever."""
    sim = simulate(platform_repo(tmp_path))

    def empty_kustomize(app: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for obj in objects:
            if obj["kind"] == "Application" and obj["metadata"]["name"] == "haproxy-public-ingress":
                obj["spec"] = {**obj["spec"], "source": {**obj["spec"]["source"], "kustomize": {}}}
        return objects

    sim.repo.tamper = empty_kustomize
    with pytest.raises(AssertionError, match="still changing after 40 rounds"):
        sim.run()


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
