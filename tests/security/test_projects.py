"""Every AppProject mip-cmp renders grants by name: no wildcard, and an infrastructure app only what it lists."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import REPO_ROOT, SAMPLE_REPO, yaml_documents
from mip_cmp.core import compat
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_platform

GOLDEN = REPO_ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {"mip-platform": render_objects(Repo(SAMPLE_REPO), ".", BuildEnv())}


def infrastructure_projects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "AppProject" and o["metadata"]["name"] != "default"]


def test_no_project_grants_anything_by_wildcard() -> None:
    """Every AppProject mip-cmp renders (all golden outputs) names its repositories, destinations and kinds;
    only the locked `default` project uses '*', in its blacklists."""
    checked = 0
    for output in sorted(GOLDEN.glob("*/stdout.yaml")):
        for project in infrastructure_projects(yaml_documents(output.read_bytes())):
            spec = project["spec"]
            grants = [*spec["sourceRepos"], *(v for d in spec["destinations"] for v in d.values()),
                      *(v for k in ("clusterResourceWhitelist", "namespaceResourceWhitelist")
                        for item in spec[k] for v in item.values())]
            assert not any("*" in value for value in grants), project["metadata"]["name"]
            checked += 1
    assert checked > 20


def test_infrastructure_projects_are_least_privilege(rendered: dict[str, list[dict[str, Any]]]) -> None:
    projects = {o["metadata"]["name"]: o["spec"] for o in rendered["mip-platform"] if o["kind"] == "AppProject"}
    ingress = projects["infra-haproxy-public-ingress"]
    assert ingress["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "ingress-nginx"}]
    listed: set[tuple[str, str | None]] = {("Namespace", "ingress-nginx"), ("IngressClass", "haproxy-public"),
                                           ("ClusterIssuer", "letsencrypt-public")}
    # Names only where the declared Argo CD keeps them (v3.3+); before, the kind alone, as that version stores it.
    if not compat.NAMED_CLUSTER_RESOURCES.supported_by(load_platform(Repo(SAMPLE_REPO)).model.argocd.version):
        listed = {(kind, None) for kind, _ in listed}
    assert {(k["kind"], k.get("name")) for k in ingress["clusterResourceWhitelist"]} == listed
    assert ingress["roles"][0]["groups"] == ["argocd-admins"] and len(ingress["roles"]) == 1
