"""Both sample platforms as Argo CD renders them: sample-repo/ (upstream mip-infra as it deploys today) and the
March platform kept as a fixture (tests/test_platform.py checks it against mip-infra's files of 3603251).

Every object of both is valid against the vendored schemas; the READMEs' commands run; and today's platform
holds what upstream deploys today: the HAProxy ingress, ECK monitoring, the notebook operator and athena-proxy,
each in a project of its own; the new chart pins; the ServiceExports and the namespace labels a hybrid
federation needs (sample-repo/README.md lists them, with what upstream leaves to the operator).
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import MARCH_PLATFORM, REPO_ROOT, SAMPLE_REPO, run_cli
from k8s_validation import validate_object
from mip_cmp.core.helm import merge_values
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.tools.renders import app_renders

Rendered = dict[str, list[dict[str, Any]]]
PLATFORMS = {"today": SAMPLE_REPO, "march": MARCH_PLATFORM}


def render_all(root: Path) -> Rendered:
    """Application name -> the objects it renders, for every app of the platform at `root`."""
    repo = Repo(root)
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    return {name: render_objects(repo, ".", env, platform) for name, env in app_renders(platform, federations)}


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> tuple[Path, Rendered]:
    return PLATFORMS[request.param], render_all(PLATFORMS[request.param])


@pytest.fixture(scope="module")
def today() -> Rendered:
    return render_all(SAMPLE_REPO)


def every_object(rendered: Rendered) -> list[dict[str, Any]]:
    return [obj for objects in rendered.values() for obj in objects]


def application(rendered: Rendered, name: str) -> dict[str, Any]:
    return next(o for o in every_object(rendered) if o["kind"] == "Application" and o["metadata"]["name"] == name)


def projects(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"] for o in rendered["mip-platform"] if o["kind"] == "AppProject"}


# --- both platforms ------------------------------------------------------------------------------------------

def test_each_platform_renders_every_kind_of_object(platform: tuple[Path, Rendered]) -> None:
    _, rendered = platform
    kinds = {o["kind"] for o in every_object(rendered)}
    assert kinds - {"ServiceExport"} == {"AppProject", "ApplicationSet", "Application", "ExternalSecret", "Password",
                                         "NetworkPolicy"}
    assert {"mip-platform", "federation-a", "federation-z", "federation-a-secrets", "federation-a-network",
            "federation-z-network", "datacatalog-network", "datacatalog-secrets"} <= set(rendered)
    # the root applies only what Argo CD takes as healthy at once: nothing of it waits on another controller
    assert {o["kind"] for o in rendered["mip-platform"]} == {"AppProject", "ApplicationSet", "Application"}


def test_every_object_of_each_platform_is_schema_valid(platform: tuple[Path, Rendered]) -> None:
    """CRDs against their vendored schemas, NetworkPolicy (a built-in kind) against the Kubernetes OpenAPI
    schema through kubernetes-validate (strict: unknown fields are errors)."""
    objects = every_object(platform[1])
    assert len(objects) > 40
    for obj in objects:
        assert validate_object(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_network_policy_validation_can_fail(today: Rendered) -> None:
    good = next(o for o in every_object(today) if o["kind"] == "NetworkPolicy")
    breaks: dict[str, Any]
    for breaks in ({"ingress": "everyone"}, {"ingress": [{"from": [{"ipBlock": {"except": []}}]}]},
                   {"podSelectors": {}}, {"egress": [{"ports": [{"port": 53, "protocol": 17}]}]}):
        bad = copy.deepcopy(good)
        bad["spec"].update(breaks)
        assert validate_object(bad), breaks


def test_federation_directories_stay_one_file(platform: tuple[Path, Rendered]) -> None:
    for directory in sorted((platform[0] / "federations").iterdir()):
        files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
        assert files[0] == "mip.yaml"
        assert all(f == "mip.yaml" or f.startswith("overlays/") for f in files), files


def test_the_sample_readmes_commands_render() -> None:
    """Every `mip-cmp render` line sample-repo/README.md shows runs and prints objects."""
    lines = [line.split("#")[0].split() for line in (SAMPLE_REPO / "README.md").read_text().splitlines()
             if line.startswith(".venv/bin/mip-cmp render ")]
    assert len(lines) >= 5
    for words in lines:
        result = run_cli(*words[1:], cwd=REPO_ROOT)
        assert result.code == 0, (words, result.stderr)
        assert result.stdout.startswith(b"---\napiVersion:") or b"\nkind: " in result.stdout, words


# --- today's platform ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, namespace, path", [
    ("haproxy-public-ingress", "ingress-nginx", "common/haproxy-ingress/manifests"),
    ("eck-stack", "elastic-system", "common/monitoring/eck"),
    ("mip-notebook-operator", "mip-notebooks-system", "common/notebook-operator/manifests"),
    ("athena-proxy", "mip-athena", "common/athena-proxy/manifests"),
])
def test_todays_components_each_in_a_project_of_its_own(today: Rendered, name: str, namespace: str,
                                                        path: str) -> None:
    app = application(today, name)["spec"]
    assert app["source"]["path"] == path and (SAMPLE_REPO / path).is_dir()
    assert app["destination"] == {"server": "https://kubernetes.default.svc", "namespace": namespace}
    project = projects(today)[app["project"]]
    assert project["destinations"] == [app["destination"]]
    assert app["project"] == f"infra-{name}"
    # least privilege: its own namespace by name (Argo CD v3.3 is declared), no wildcard, no RBAC
    assert {"group": "", "kind": "Namespace", "name": namespace} in project["clusterResourceWhitelist"]
    granted = project["clusterResourceWhitelist"] + project["namespaceResourceWhitelist"]
    assert all("*" not in (k["group"], k["kind"]) for k in granted)
    assert not {k["kind"] for k in granted} & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def test_eck_is_an_in_repo_chart_without_crds_in_a_privileged_namespace(today: Rendered) -> None:
    spec = application(today, "eck-stack")["spec"]
    assert spec["source"]["helm"]["releaseName"] == "eck"
    assert spec["source"]["helm"]["skipCrds"] is True
    assert spec["source"]["repoURL"] == "https://github.com/Medical-Informatics-Platform/mip-infra.git"
    assert "ServerSideApply=true" in spec["syncPolicy"]["syncOptions"]
    labels = spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert {labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")} == {"privileged"}


def test_todays_chart_pins(today: Rendered) -> None:
    pins = {name: (application(today, name)["spec"]["source"]["repoURL"],
                   application(today, name)["spec"]["source"]["targetRevision"],
                   application(today, name)["metadata"]["labels"]["app.kubernetes.io/version"])
            for name in ("federation-a-exareme2", "federation-a-mip-stack", "datacatalog")}
    assert pins == {
        "federation-a-exareme2": ("https://github.com/madgik/exareme2", "d72983f4ee248785377b3f26f263c4aa2619fee2",
                                  "1.1.0"),
        "federation-a-mip-stack": ("https://github.com/Medical-Informatics-Platform/mip",
                                   "7722c05096d4ce22ed502955a2a9abb4ee5fdf42", "9.2.0-pre"),
        "datacatalog": ("https://github.com/Medical-Informatics-Platform/datacatalog",
                        "bd558c42b988be413738078cf40f30d37a670be1", "2.0.0"),
    }
    for name in ("submariner-broker", "submariner-operator"):
        assert application(today, name)["metadata"]["labels"]["app.kubernetes.io/version"] == "0.24.2"
    kustomization = (SAMPLE_REPO / "common/submariner/operator/kustomization.yaml").read_text(encoding="utf-8")
    assert "version: 0.24.2" in kustomization


def test_a_federations_public_host_reaches_mip_stack(today: Rendered) -> None:
    values = application(today, "federation-a-mip-stack")["spec"]["source"]["helm"]["valuesObject"]
    assert values["global"] == {"publicHost": "federation-a.example.com"}


def test_the_hybrid_federation_exports_its_services_and_says_it_is_hybrid(today: Rendered) -> None:
    exports = sorted(o["metadata"]["name"] for o in today["federation-z-objects"] if o["kind"] == "ServiceExport")
    assert exports == ["exaflow-aggregation-service", "exaflow-controller-service"]
    assert all(o["metadata"]["namespace"] == "federation-z" for o in today["federation-z-objects"])
    assert "federation-a-objects" not in today
    labels = application(today, "federation-z-exareme2")["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert labels["mip.federation-type"] == "hybrid" and labels["mip.namespace-type"] == "federation"


def test_todays_secrets(today: Rendered) -> None:
    """mip-stack 9.2 reads keycloak-credentials, mip-secret (its platform-backend database) and
    jupyterhub-crypt; datacatalog 2.0.0 reads datacatalog-secrets (upstream's scripts/gen_secrets.sh)."""
    secrets = {o["metadata"]["name"] for o in today["federation-a-secrets"] if o["kind"] == "ExternalSecret"}
    assert secrets == {"keycloak-credentials", "mip-secret", "jupyterhub-crypt"}
    password = next(o for o in today["federation-a-secrets"] if o["kind"] == "Password")
    external = next(o for o in today["federation-a-secrets"] if o["kind"] == "ExternalSecret"
                    and o["metadata"]["name"] == "mip-secret")
    keys = set(password["spec"]["secretKeys"]) | set(external["spec"]["target"]["template"]["data"])
    assert keys == {f"platform-backend-db.{key}" for key in ("DB_ADMIN_USER", "DB_ADMIN_PASSWORD",
                                                             "PLATFORM_DB_USER", "PLATFORM_DB_PASSWORD")}


def test_argo_cd_v3_3_is_declared_so_projects_name_their_namespaces(today: Rendered) -> None:
    for name, spec in projects(today).items():
        namespaces = [k for k in spec.get("clusterResourceWhitelist", []) if k["kind"] == "Namespace"]
        assert all("name" in k for k in namespaces), name


UPSTREAM = REPO_ROOT / "tests" / "fixtures" / "mip-infra-upstream"
# What sample-repo/README.md counts of upstream: the files that wire the platform into Argo CD.
WIRING = ("base/argo-projects", "base/mip-infrastructure/mip-infrastructure.yaml", "projects", "deployments/shared-apps",
          "deployments/local/federations/federation-A", "deployments/hybrid/federations/federation-Z/mip-infrastructure",
          "common")
UNREAD = {"test-ingress.yaml", "REFERENCE-advanced-kustomization-examples.yaml", "gateway-node-networkd.yaml"}


def test_the_sample_readmes_upstream_counts() -> None:
    """The 'Before and after' table's upstream column, counted by the rule its note states: the files
    sample-repo deploys as they are (scripts/vendor_upstream.py's list) and those nothing reads are left out."""
    spec = importlib.util.spec_from_file_location("vendor_upstream", REPO_ROOT / "scripts" / "vendor_upstream.py")
    assert spec is not None and spec.loader is not None
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    as_is = set(vendor.SAMPLE_FILES[(vendor.TODAY_SAMPLE, "mip-infra-upstream")])
    overlay = UPSTREAM / "deployments/local/federations/federation-A/customizations/overlays/exareme2"
    listed = set(re.findall(r"(?m)^  - (\S+)$", (overlay / "kustomization.yaml").read_text(encoding="utf-8")))
    files = [p for top in WIRING for p in ([UPSTREAM / top] if top.endswith(".yaml") else (UPSTREAM / top).rglob("*.yaml"))
             if p.relative_to(UPSTREAM).as_posix() not in as_is and p.name not in UNREAD
             and "other-common-helm-charts" not in p.parts
             and not (p.parent == overlay and p.name != "kustomization.yaml" and p.name not in listed)]
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in files)
    table = (SAMPLE_REPO / "README.md").read_text(encoding="utf-8")
    assert f"| {len(files)} | 3 |\n| lines | {lines:,} | " in table
    federation = [p for p in (UPSTREAM / "deployments/local/federations/federation-A").rglob("*.yaml")
                  if "overlays" not in p.parts and p.name not in UNREAD and p.name != "exareme2-overlay-app.yaml"]
    count = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in federation)
    assert f"| files to add a federation | {len(federation)} ({count} lines) |" in table


def test_the_migration_table_of_upstream_today_lists_its_51_objects() -> None:
    """docs/migrating-from-mip-infra.md: one row (or a range of rows) per Argo CD object upstream yields today,
    each with a verdict; the Applications the sample renders for them exist."""
    text = (REPO_ROOT / "docs" / "migrating-from-mip-infra.md").read_text(encoding="utf-8")
    table = text.split("<!-- today:start -->")[1].split("<!-- today:end -->")[0]
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    numbers: list[int] = []
    for row in rows:
        first, _, last = row[1].strip().partition("–")
        numbers += range(int(first), int(last or first) + 1)
    assert numbers == list(range(1, 52))
    assert {row[5].strip().split()[0].rstrip(":") for row in rows} <= {"same", "changed", "dropped", "not"}
    named = {name for row in rows for part in re.split(r"\bApp(?:Project|licationSet)s?\b", row[4])
             if part.strip().startswith("Application") for name in re.findall(r"`([a-z0-9-]+)`", part)}
    rendered = {o["metadata"]["name"] for objects in render_all(SAMPLE_REPO).values() for o in objects
                if o["kind"] == "Application"}
    # the bootstrap Application (install.md) and the federations' wrappers (the ApplicationSet makes them)
    assert named - rendered == {"mip-platform", "federation-a", "federation-z"}


def upstream(rel: str) -> Any:
    return yaml.safe_load((UPSTREAM / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize("federation, root", [
    ("federation-a", "deployments/local/federations/federation-A/customizations"),
    ("federation-z", "deployments/hybrid/federations/federation-Z/mip-infrastructure/customizations"),
])
@pytest.mark.parametrize("app", ["exareme2", "mip-stack"])
def test_each_chart_gets_upstreams_values(today: Rendered, federation: str, root: str, app: str) -> None:
    """What Helm merges upstream (the shared values, then the federation's) is the valuesObject; federation-z's
    mip-stack also gets `global.publicHost` (it runs the catalog's 9.2, which reads it: README.md)."""
    expected = merge_values(upstream(f"deployments/shared-apps/{app}/values.yaml"), upstream(f"{root}/{app}-values.yaml"))
    if (federation, app) == ("federation-z", "mip-stack"):
        expected["global"] = {"publicHost": "federation-z.example.com"}
    values = application(today, f"{federation}-{app}")["spec"]["source"]["helm"]["valuesObject"]
    assert values == expected


def test_datacatalog_gets_upstreams_values(today: Rendered) -> None:
    values = application(today, "datacatalog")["spec"]["source"]["helm"]["valuesObject"]
    assert values == upstream("common/datacatalog/values.yaml")


def test_eck_gets_upstreams_values(today: Rendered) -> None:
    theirs = upstream("common/monitoring/eck-stack.yaml")["spec"]["source"]["helm"]
    ours = application(today, "eck-stack")["spec"]["source"]["helm"]
    assert ours == {"releaseName": theirs["releaseName"], "skipCrds": theirs["skipCrds"],
                    "valuesObject": yaml.safe_load(theirs["values"])}
