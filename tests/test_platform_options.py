"""Platform options that change what the expansion writes, each rendered from a copy of the sample whose
platform file sets it (the goldens pin the sample's own choices; these pin the option itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO_ROOT, copy_sample
from k8s_validation import validate_object
from mip_cmp.core.errors import InternalError, MipError
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.stage4_gate import check_federation_output
from mip_cmp.tools.renders import app_renders

Objects = dict[str, list[dict[str, Any]]]


def changed_sample(tmp_path: Path, change: dict[str, Any]) -> Repo:
    """A copy of the sample, its platform file updated key by key with `change` (top level)."""
    root = copy_sample(tmp_path)
    platform_file = root / "mip.yaml"
    data = yaml.safe_load(platform_file.read_text(encoding="utf-8"))
    platform_file.write_text(yaml.safe_dump({**data, **change}, sort_keys=False), encoding="utf-8")
    return Repo(root)


def render_root(tmp_path: Path, change: dict[str, Any]) -> list[dict[str, Any]]:
    """The root Application's objects, from the sample with `change`."""
    return render_objects(changed_sample(tmp_path, change), ".", BuildEnv())


def render_with(tmp_path: Path, change: dict[str, Any]) -> Objects:
    """Every app of the sample with `change`."""
    repo = changed_sample(tmp_path, change)
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    return {name: render_objects(repo, ".", env, platform) for name, env in app_renders(platform, federations)}


def managed_namespaces(rendered: Objects) -> dict[str, list[dict[str, str]]]:
    """Namespace -> every label set an Application or the root gives it (the root's Namespace objects also
    carry the managed-by label every object it writes has)."""
    found: dict[str, list[dict[str, str]]] = {}
    for objects in rendered.values():
        for obj in objects:
            if obj["kind"] == "Application":
                meta = obj["spec"]["syncPolicy"].get("managedNamespaceMetadata")
                if meta:
                    found.setdefault(obj["spec"]["destination"]["namespace"], []).append(meta["labels"])
            elif obj["kind"] == "Namespace":
                labels = {k: v for k, v in obj["metadata"]["labels"].items() if k != "app.kubernetes.io/managed-by"}
                found.setdefault(obj["metadata"]["name"], []).append(labels)
    return found


def test_namespace_labels_are_under_the_keys_the_platform_chooses(tmp_path: Path) -> None:
    keys = {"namespaceType": "mip.namespace-type", "federationType": "mip.federation-type"}
    namespaces = managed_namespaces(render_with(tmp_path, {"namespaceLabels": keys}))
    expected_type = {"federation-a": "federation", "federation-z": "federation",
                     "mip-common-datacatalog": "common", "ingress-nginx": "infrastructure"}
    for namespace, kind in expected_type.items():
        for labels in namespaces[namespace]:
            assert labels["name"] == namespace
            assert labels["mip.namespace-type"] == kind
            assert not any(key.startswith("mip-cmp.io/") and key.endswith("-type") for key in labels)
    assert {labels["mip.federation-type"] for labels in namespaces["federation-z"]} == {"hybrid"}
    assert {labels["mip.federation-type"] for labels in namespaces["federation-a"]} == {"local"}
    # one label set per namespace: every Application writing into it says the same
    assert all(len({tuple(sorted(labels.items())) for labels in sets}) == 1 for sets in namespaces.values())


@pytest.mark.parametrize(("keys", "message"), [
    ({"namespaceType": "mip.type", "federationType": "mip.type"}, "two different keys"),
    ({"namespaceType": "name"}, "`name` is the label"),
])
def test_namespace_label_keys_that_would_clash_are_refused(tmp_path: Path, keys: dict[str, str],
                                                           message: str) -> None:
    with pytest.raises(MipError, match=message):
        render_root(tmp_path, {"namespaceLabels": keys})


MONITORING = {"monitoring": {
    "namespace": "elastic-system",
    "source": {"path": "common/monitoring/eck", "helm": {"releaseName": "eck", "skipCrds": True,
                                                          "values": {"operator": {"namespace": "elastic-system"}}}},
    "sync": {"options": ["ServerSideApply=true"]},
    "namespaceMetadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"},
                          "annotations": {"scheduler.alpha.kubernetes.io/node-selector": "role=monitoring"}},
    "namespaceKinds": [{"group": "elasticsearch.k8s.elastic.co", "kind": "Elasticsearch"}],
}}


def infrastructure_with(app: dict[str, Any]) -> dict[str, Any]:
    """The sample's infrastructure with `app` in place of its ECK stack (the same namespace), the others kept
    (the catalog's flows name them)."""
    infrastructure = yaml.safe_load((REPO_ROOT / "sample-repo" / "mip.yaml").read_text(encoding="utf-8"))[
        "infrastructure"]
    del infrastructure["eck-stack"]
    return {"infrastructure": {**infrastructure, **app}}


def test_an_infrastructure_chart_from_this_repository_with_its_own_namespace_metadata(tmp_path: Path) -> None:
    root = render_root(tmp_path, infrastructure_with(MONITORING))
    app = next(o for o in root if o["kind"] == "Application" and o["metadata"]["name"] == "monitoring")
    assert app["spec"]["source"]["helm"] == {"releaseName": "eck", "skipCrds": True,
                                             "valuesObject": {"operator": {"namespace": "elastic-system"}}}
    assert app["spec"]["source"]["path"] == "common/monitoring/eck"
    policy = app["spec"]["syncPolicy"]
    assert "ServerSideApply=true" in policy["syncOptions"]
    assert policy["managedNamespaceMetadata"] == {
        "labels": {"pod-security.kubernetes.io/enforce": "privileged", "name": "elastic-system",
                   "mip.namespace-type": "infrastructure"},  # under the key the sample chooses
        "annotations": {"scheduler.alpha.kubernetes.io/node-selector": "role=monitoring"}}
    project = next(o for o in root if o["kind"] == "AppProject" and o["metadata"]["name"] == app["spec"]["project"])
    assert project["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc",
                                                "namespace": "elastic-system"}]
    assert project["spec"]["namespaceResourceWhitelist"] == [{"group": "elasticsearch.k8s.elastic.co",
                                                              "kind": "Elasticsearch"}]


@pytest.mark.parametrize(("labels", "message"), [
    ({"name": "other"}, "holds the namespace's own name"),
    ({"mip.namespace-type": "common"}, "this key is the platform's"),
])
def test_an_app_cannot_relabel_what_the_platform_says_its_namespace_is(tmp_path: Path, labels: dict[str, str],
                                                                       message: str) -> None:
    app = {**MONITORING["monitoring"], "namespaceMetadata": {"labels": labels}}
    with pytest.raises(MipError, match=message):
        render_root(tmp_path, infrastructure_with({"monitoring": app}))


def federation_a(repo: Repo) -> dict[str, Any]:
    """federation-a's mip-stack Application, as its wrapper renders it."""
    env = BuildEnv(params={"federation": "federation-a", "directory": "federations/federation-a"})
    return next(o for o in render_objects(repo, ".", env) if o["metadata"]["name"] == "federation-a-mip-stack")


def catalog_with_host_values(paths: list[str]) -> dict[str, Any]:
    """The sample's catalog, mip-stack's publicHostValues set to `paths`."""
    catalog = yaml.safe_load((REPO_ROOT / "sample-repo" / "mip.yaml").read_text(encoding="utf-8"))["catalog"]
    catalog["mip-stack"]["publicHostValues"] = paths
    return {"catalog": catalog}


def test_public_host_reaches_the_values_the_catalog_names(tmp_path: Path) -> None:
    repo = changed_sample(tmp_path, catalog_with_host_values(["global.publicHost", "platform-ui.ingress.host"]))
    fed_file = repo.root / "federations" / "federation-a" / "mip.yaml"
    fed = yaml.safe_load(fed_file.read_text(encoding="utf-8"))
    fed["apps"]["mip-stack"] = None  # nothing of its own: publicHost alone is enough
    fed_file.write_text(yaml.safe_dump(fed), encoding="utf-8")
    values = federation_a(repo)["spec"]["source"]["helm"]["valuesObject"]
    assert values["global"] == {"publicHost": "federation-a.example.com"}
    assert values["platform-ui"]["ingress"]["host"] == "federation-a.example.com"
    assert values["jupyterhub"]["spawner"] == "operator"  # the catalog's own values stay

    # Its own values cannot set the host past the platform's publicHosts (another federation's host, say).
    fed["apps"]["mip-stack"] = {"values": {"global": {"publicHost": "federation-z.example.com"}}}
    fed_file.write_text(yaml.safe_dump(fed), encoding="utf-8")
    with pytest.raises(MipError, match=r"values\.global\.publicHost: mip-stack's host .*: set by `publicHost`"):
        federation_a(repo)

    del fed["publicHost"]
    fed["apps"]["mip-stack"] = None  # no publicHost: nothing set
    fed_file.write_text(yaml.safe_dump(fed), encoding="utf-8")
    assert "global" not in federation_a(repo)["spec"]["source"]["helm"]["valuesObject"]


def test_public_host_paths_must_not_nest(tmp_path: Path) -> None:
    with pytest.raises(MipError, match=r"global\.publicHost lies inside another"):
        render_root(tmp_path, catalog_with_host_values(["global", "global.publicHost"]))


EXPORTS = [{"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport", "name": name,
            "federationTypes": ["hybrid"]} for name in ("exaflow-aggregation-service", "exaflow-controller-service")]


def catalog_with_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample's catalog, exareme2's objects set to `objects`."""
    catalog = yaml.safe_load((REPO_ROOT / "sample-repo" / "mip.yaml").read_text(encoding="utf-8"))["catalog"]
    catalog["exareme2"]["objects"] = objects
    return {"catalog": catalog}


def test_objects_beside_a_chart_go_to_the_federations_of_their_type(tmp_path: Path) -> None:
    rendered = render_with(tmp_path, catalog_with_objects(EXPORTS))
    assert [(o["kind"], o["metadata"]["name"], o["metadata"]["namespace"]) for o in rendered["federation-z-objects"]] \
        == [("ServiceExport", "exaflow-aggregation-service", "federation-z"),
            ("ServiceExport", "exaflow-controller-service", "federation-z")]
    assert "federation-a-objects" not in rendered  # a local federation gets none, nor the Application
    assert not any(o["metadata"]["name"] == "federation-a-objects" for o in rendered["federation-a"])
    app = next(o for o in rendered["federation-z"] if o["metadata"]["name"] == "federation-z-objects")
    assert app["spec"]["project"] == "federation-z"
    assert app["spec"]["destination"]["namespace"] == "federation-z"
    projects = {o["metadata"]["name"]: o for o in rendered["mip-platform"] if o["kind"] == "AppProject"}
    export = {"group": "multicluster.x-k8s.io", "kind": "ServiceExport"}
    assert export in projects["federation-z"]["spec"]["namespaceResourceWhitelist"]
    assert export not in projects["federation-a"]["spec"]["namespaceResourceWhitelist"]
    for obj in (*rendered["federation-z-objects"], app, projects["federation-z"]):  # the CRDs' schemas
        assert validate_object(obj) == [], obj["metadata"]["name"]


@pytest.mark.parametrize("kind", [("networking.k8s.io/v1", "NetworkPolicy"), ("v1", "Secret"),
                                  ("argoproj.io/v1alpha1", "Application")])
def test_objects_beside_a_chart_are_never_what_mip_cmp_writes_itself(tmp_path: Path, kind: tuple[str, str]) -> None:
    with pytest.raises(MipError, match="is not an object beside a chart"):
        render_root(tmp_path, catalog_with_objects([{"apiVersion": kind[0], "kind": kind[1], "name": "x"}]))


def test_the_gate_lets_out_only_the_declared_objects(tmp_path: Path) -> None:
    repo = changed_sample(tmp_path, catalog_with_objects(EXPORTS))
    platform = load_platform(repo)
    fed = next(f for f in load_federations(repo, platform) if f.model.name == "federation-z")
    declared = render_objects(repo, ".", BuildEnv(params={"federation": "federation-z", "directory": fed.directory,
                                                         "component": "objects"}))
    check_federation_output(platform.model, fed.model, fed.directory, "objects", declared)
    elsewhere = {**declared[0], "metadata": {**declared[0]["metadata"], "namespace": "federation-a"}}
    undeclared = {**declared[0], "metadata": {**declared[0]["metadata"], "name": "exaflow-workers-service"}}
    for bad in (elsewhere, undeclared, {**declared[0], "kind": "Service"}):
        with pytest.raises(InternalError):
            check_federation_output(platform.model, fed.model, fed.directory, "objects", [*declared, bad])
