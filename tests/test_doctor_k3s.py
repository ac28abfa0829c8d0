"""`mip-cmp doctor` against a real API server (k3s via testcontainers); skipped without a Docker engine.

The cluster gets the real CRDs, the kustomized repo-server Deployment, a ClusterSecretStore and the bootstrap
objects (applied by `bootstrap --apply`'s code). No image can be pulled here, so the repo-server pod never
runs and no ESO controller marks the store Ready: exactly those two checks must fail, each with its fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_REPO
from mip_cmp.tools.bootstrap import bootstrap_objects
from mip_cmp.tools.doctor import diagnose
from mip_cmp.tools.kubeapi import Cluster
from test_doctor import NS, RECORDED, _repo_server_with_sidecar
from test_k3s import _install_crds, api_client  # noqa: F401 - the module's k3s fixture

pytestmark = pytest.mark.cluster


def test_doctor_on_k3s(api_client: Any, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    from kubernetes import client, dynamic

    _install_crds(api_client)
    # The client takes plain dicts as bodies too (its stubs say the model classes).
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": NS}})  # type: ignore[arg-type]
    client.AppsV1Api(api_client).create_namespaced_deployment(
        NS, _repo_server_with_sidecar(tmp_path))  # type: ignore[arg-type]
    store = yaml.safe_load((RECORDED / "clustersecretstore.yaml").read_text())
    del store["status"]
    client.CustomObjectsApi(api_client).create_cluster_custom_object(
        "external-secrets.io", "v1", "clustersecretstores", store)
    resources = dynamic.DynamicClient(api_client).resources  # type: ignore[no-untyped-call]
    for obj in bootstrap_objects(SAMPLE_REPO, None, "main"):
        resource = resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        resource.server_side_apply(body=obj, name=obj["metadata"]["name"], namespace=NS,
                                   field_manager="mip-cmp-test")

    checks = {c.name: c for c in diagnose(Cluster(api_client), SAMPLE_REPO)}
    assert {n for n, c in checks.items() if not c.ok} == {"plugin-socket", "secret-store"}
    assert checks["plugin-socket"].fix.startswith(f"kubectl -n {NS} describe pods")
    assert checks["secret-store"].detail == "ClusterSecretStore mip-central is not Ready: no Ready condition yet"
    assert checks["argocd-version"].ok, checks["argocd-version"].detail
