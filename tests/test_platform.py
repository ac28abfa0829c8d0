"""The March platform (tests/fixtures/march-platform), as Argo CD renders it, against mip-infra's facts.

It is mip-infra at 3603251 (tests/fixtures/mip-infra holds the files compared with, copied by
scripts/vendor_upstream.py): the values each federation's charts get, the infrastructure Applications and
their projects must say what mip-infra says, except where docs/migrating-from-mip-infra.md says why not.
What holds for both platforms (schemas, the READMEs' commands): tests/test_platform_today.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import MARCH_PLATFORM, REPO_ROOT
from mip_cmp.core.helm import merge_values
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.tools.renders import app_renders

FACTS = REPO_ROOT / "tests" / "fixtures" / "mip-infra"
GOLDEN = REPO_ROOT / "tests" / "golden"


def fact(rel: str) -> Any:
    return yaml.safe_load((FACTS / rel).read_text(encoding="utf-8"))


def facts(rel: str) -> list[Any]:
    return [d for d in yaml.safe_load_all((FACTS / rel).read_text(encoding="utf-8")) if d]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Application name -> the objects it renders, for every app of the March platform."""
    repo = Repo(MARCH_PLATFORM)
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    return {name: render_objects(repo, ".", env, platform) for name, env in app_renders(platform, federations)}


def every_object(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [obj for objects in rendered.values() for obj in objects]


def application(rendered: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    return next(o for o in every_object(rendered) if o["kind"] == "Application" and o["metadata"]["name"] == name)


@pytest.mark.parametrize("federation, root", [
    ("federation-a", "deployments/local/federations/federation-A/customizations"),
    ("federation-z", "deployments/hybrid/federations/federation-Z/mip-infrastructure/customizations"),
])
@pytest.mark.parametrize("app", ["exareme2", "mip-stack"])
def test_each_chart_gets_mip_infras_values(rendered: dict[str, list[dict[str, Any]]], federation: str,
                                           root: str, app: str) -> None:
    """What Helm merges in mip-infra (the shared values, then the federation's) is exactly the valuesObject."""
    expected = merge_values(fact(f"deployments/shared-apps/{app}/values.yaml"), fact(f"{root}/{app}-values.yaml"))
    source = application(rendered, f"{federation}-{app}")["spec"]["source"]
    assert source["helm"]["valuesObject"] == expected
    assert source["helm"]["valueFiles"] == ["values.yaml"]


def test_datacatalog_gets_mip_infras_values(rendered: dict[str, list[dict[str, Any]]]) -> None:
    source = application(rendered, "datacatalog")["spec"]["source"]
    assert source["helm"]["valuesObject"] == fact("common/datacatalog/values.yaml")


def test_federation_z_is_in_cluster_with_remote_workers(rendered: dict[str, list[dict[str, Any]]]) -> None:
    exareme2 = application(rendered, "federation-z-exareme2")["spec"]
    assert exareme2["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "federation-z"}
    workers = exareme2["source"]["helm"]["valuesObject"]["controller"]["workers_dns"]
    assert "svc.clusterset.local" in workers  # the remote node's workers, exported over Submariner
    assert "federation-z-network" in rendered


@pytest.mark.parametrize("name, file", [
    ("nginx-public-ingress", "common/nginx-ingress/nginx-ingress.yaml"),
    ("submariner-broker", "common/submariner/submariner.yaml"),
    ("submariner-operator", "common/submariner/submariner.yaml"),
])
def test_infrastructure_apps_are_mip_infras(rendered: dict[str, list[dict[str, Any]]], name: str, file: str) -> None:
    """Same source path in the same repository, destination, sync wave, prune and ignoreDifferences."""
    theirs = next(d for d in facts(file) if d["metadata"]["name"] == name)["spec"]
    ours_app = application(rendered, name)
    ours = ours_app["spec"]
    their_source = theirs.get("source") or theirs["sources"][0]
    assert ours["source"]["repoURL"] == their_source["repoURL"]
    assert ours["source"]["path"].rstrip("/") == their_source["path"].rstrip("/")
    assert (MARCH_PLATFORM / ours["source"]["path"]).is_dir()
    assert ours["destination"] == theirs["destination"]
    assert ours["syncPolicy"]["automated"]["prune"] == theirs["syncPolicy"]["automated"].get("prune", False) or \
        ("prune" not in theirs["syncPolicy"]["automated"])
    assert set(theirs["syncPolicy"]["syncOptions"]) <= set(ours["syncPolicy"]["syncOptions"])
    assert ours.get("ignoreDifferences", []) == theirs.get("ignoreDifferences", [])
    their_wave = next(d for d in facts(file) if d["metadata"]["name"] == name)["metadata"].get(
        "annotations", {}).get("argocd.argoproj.io/sync-wave", "0")
    assert ours_app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == their_wave


def test_submariner_projects_grant_what_mip_infras_project_grants(rendered: dict[str, list[dict[str, Any]]]) -> None:
    theirs = fact("projects/static/submariner/submariner-project.yaml")["spec"]
    projects = {o["metadata"]["name"]: o["spec"] for o in rendered["mip-platform"] if o["kind"] == "AppProject"}
    for name in ("infra-submariner-broker", "infra-submariner-operator"):
        ours = projects[name]
        assert ours["namespaceResourceWhitelist"] == theirs["namespaceResourceWhitelist"]
        cluster = [k for k in ours["clusterResourceWhitelist"] if k["kind"] != "Namespace"]
        assert cluster == theirs["clusterResourceWhitelist"]
        assert {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"} not in \
            ours["clusterResourceBlacklist"], "a kind the app lists is not blacklisted at the same time"


def test_the_infrastructure_files_are_mip_infras(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """The manifests the sample deploys are mip-infra's, byte for byte (scripts/vendor_upstream.py)."""
    spec = importlib.util.spec_from_file_location("vendor_upstream", REPO_ROOT / "scripts" / "vendor_upstream.py")
    assert spec is not None and spec.loader is not None
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    for dst in vendor.SAMPLE_FILES[(vendor.MARCH_PLATFORM, "mip-infra")].values():
        assert (MARCH_PLATFORM / dst).is_file(), dst
    ingress_class = yaml.safe_load((MARCH_PLATFORM / "common/nginx-ingress/manifests/nginx-public-ingressclass.yaml")
                                   .read_text())
    assert ingress_class["spec"]["controller"] == "k8s.io/ingress-nginx-public"


def test_overlay_is_federation_as_mip_infra_has_it(rendered: dict[str, list[dict[str, Any]]]) -> None:
    theirs = fact("deployments/local/federations/federation-A/customizations/exareme2-overlay-app.yaml") \
        if (FACTS / "deployments/local/federations/federation-A/customizations/exareme2-overlay-app.yaml").exists() \
        else None
    ours = application(rendered, "federation-a-exareme2-overlay")
    assert ours["spec"]["project"] == "federation-a"
    assert ours["spec"]["source"]["path"] == "federations/federation-a/overlays/exareme2"
    assert "ServerSideApply=true" in ours["spec"]["syncPolicy"]["syncOptions"]
    assert ours["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "2"
    assert (MARCH_PLATFORM / "federations/federation-a/overlays/exareme2/exareme2-pvc-patch.yaml").is_file()
    assert theirs is None or theirs["spec"]["syncPolicy"]["syncOptions"][-1] == "ServerSideApply=true"


def test_secrets_are_what_the_charts_read(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """datacatalog 1.2.1 reads datacatalog-secrets (db.user, db.password, keycloak.client-id/-secret);
    mip-stack reads keycloak-credentials (client-id, client-secret, one Keycloak client per federation)
    and mip-secret (mip-infra's README lists its ten keys)."""
    catalog = next(o for o in rendered["datacatalog-secrets"] if o["kind"] == "ExternalSecret")
    assert catalog["metadata"]["name"] == "datacatalog-secrets"
    keys = {d["secretKey"] for d in catalog["spec"]["data"]} | set(catalog["spec"]["target"]["template"]["data"])
    password = next(o for o in rendered["datacatalog-secrets"] if o["kind"] == "Password")
    assert keys | set(password["spec"]["secretKeys"]) == {"db.user", "db.password", "keycloak.client-id",
                                                          "keycloak.client-secret"}
    for federation in ("federation-a", "federation-z"):
        keycloak = next(o for o in rendered[f"{federation}-secrets"] if o["metadata"]["name"] == "keycloak-credentials"
                        and o["kind"] == "ExternalSecret")
        assert {d["remoteRef"]["key"] for d in keycloak["spec"]["data"]} == {f"keycloak/{federation}"}


def test_migration_table_lists_all_43_objects() -> None:
    """docs/migrating-from-mip-infra.md: one row per Argo CD object mip-infra yields, none 'missing'."""
    text = (REPO_ROOT / "docs" / "migrating-from-mip-infra.md").read_text(encoding="utf-8")
    table = text.split("<!-- objects:start -->")[1].split("<!-- objects:end -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert len(rows) == 43
    assert [int(r.split("|")[1]) for r in rows] == list(range(1, 44))
    assert not any("missing" in row.lower() for row in rows)
    verdicts = {r.split("|")[5].strip().split()[0].rstrip(":") for r in rows}
    assert verdicts <= {"same", "changed", "dropped"}


def test_vendored_facts_exist() -> None:
    for path in (FACTS / "deployments/shared-apps/mip-stack/values.yaml", FACTS / "common/datacatalog/values.yaml"):
        assert path.is_file(), path
    assert Path(REPO_ROOT / "scripts" / "vendor_upstream.py").is_file()
