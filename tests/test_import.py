"""`mip-cmp import` on the copy of mip-infra in tests/fixtures/mip-infra (scripts/vendor_upstream.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mip_cmp.cli import run
from mip_cmp.errors import EXIT_INPUT, EXIT_OK, EXIT_USAGE
from mip_cmp.tools.snapshot import take
from mip_cmp.validate import validate_repo

MIP_INFRA = Path(__file__).parent / "fixtures" / "mip-infra"

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


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    import contextlib
    import io

    out = tmp_path_factory.mktemp("imported") / "platform"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = run(["import", str(MIP_INFRA), "--out", str(out), "--format", "json"])
    assert code == EXIT_OK
    return out, json.loads(buffer.getvalue())


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
    assert (fed_z["type"], fed_z["peers"]) == ("hybrid", ["federation-z-remote"])
    platform = yaml.safe_load((out / "mip.yaml").read_text())
    assert platform["network"]["peers"]["federation-z-remote"]["cidrs"] == ["10.3.0.0/16"]
    assert sorted(platform["infrastructure"]) == ["nginx-public-ingress", "submariner-broker", "submariner-operator"]
    fed_a = yaml.safe_load((out / federations[1] / "mip.yaml").read_text())
    assert fed_a["apps"]["exareme2"]["overlay"] == {"path": "overlays/exareme2", "type": "kustomize", "syncWave": 2,
                                                    "sync": {"options": ["ServerSideApply=true"]}}
    assert (out / federations[1] / "overlays" / "exareme2" / "exareme2-pvc-patch.yaml").is_file()


def test_nothing_is_silently_lost(result: tuple[Path, dict[str, Any]]) -> None:
    """What has no rendered counterpart yet is either carried over into the mip.yaml files (and says where)
    or says why mip-cmp cannot express it."""
    for obj in result[1]["objects"]:
        if obj["verdict"] == "no counterpart yet":
            assert obj["why"].startswith(("carried over to ", "mip-cmp cannot express it yet: ")), obj
    carried = {o["name"] for o in result[1]["objects"] if o["why"].startswith("carried over")}
    assert {"federation-a-exareme2-overlay", "federation-z-submariner-network-policy", "nginx-public-ingress",
            "submariner-broker", "submariner-operator", "netpol-federation-a-local"} <= carried | {
        o["name"] for o in result[1]["objects"] if o["verdict"] in ("same", "changed")}


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
