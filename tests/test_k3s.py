"""Everything the CMP harness expands, server-side applied (dry run) to a real API server: k3s.

Needs a Docker engine (testcontainers); where there is none, the test is skipped and says so.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp_harness import bootstrap_objects, follow, root_application, workspace
from helpers import REPO_URL, SAMPLE_REPO

pytestmark = pytest.mark.cluster

CRDS = Path(__file__).resolve().parent / "fixtures" / "crds"
K3S_IMAGE = os.environ.get("MIP_K3S_IMAGE", "rancher/k3s:v1.30.4-k3s1")
NO_DOCKER = "no Docker engine: the k3s test needs one (testcontainers)"


def _docker_engine_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no socket, no daemon, no permission: all mean "no engine here"
        return False


@pytest.fixture(scope="module")
def api_client() -> Any:
    if not _docker_engine_reachable():
        pytest.skip(NO_DOCKER)
    from kubernetes import config
    from testcontainers.community.k3s import K3SContainer

    with K3SContainer(image=K3S_IMAGE) as k3s:
        yield config.new_client_from_config_dict(yaml.safe_load(k3s.config_yaml()))


def _install_crds(api_client: Any) -> None:
    from kubernetes import client

    ext = client.ApiextensionsV1Api(api_client)
    names = []
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in filter(None, yaml.safe_load_all(path.read_text())):
            ext.create_custom_resource_definition(crd)
            names.append(crd["metadata"]["name"])
    assert names, f"no CRDs in {CRDS}"
    deadline = time.monotonic() + 60
    for name in names:
        while not any(c.type == "Established" and c.status == "True"
                      for c in ext.read_custom_resource_definition(name).status.conditions or []):
            assert time.monotonic() < deadline, f"CRD {name} never became Established"
            time.sleep(0.5)


def test_everything_the_harness_expands_applies_server_side(api_client: Any, tmp_path: Path) -> None:
    from kubernetes import client, dynamic
    from kubernetes.client.exceptions import ApiException

    ws = workspace(SAMPLE_REPO, tmp_path)
    bootstrap = bootstrap_objects(ws, "main")
    expansion = follow(root_application(bootstrap), REPO_URL, ws)  # the plugin as plugin.yaml declares it
    objects = bootstrap + [r.obj for r in expansion.objects]

    _install_crds(api_client)
    core = client.CoreV1Api(api_client)
    for namespace in sorted({o["metadata"]["namespace"] for o in objects}):
        core.create_namespace({"metadata": {"name": namespace}})
    resources = dynamic.DynamicClient(api_client).resources  # discovery after the CRDs exist

    errors = []
    for obj in objects:
        meta = obj["metadata"]
        resource = resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        try:
            resource.server_side_apply(body=obj, name=meta["name"], namespace=meta["namespace"],
                                       field_manager="mip-cmp-test", dry_run="All")
        except ApiException as exc:
            errors.append(f"{obj['kind']} {meta['namespace']}/{meta['name']}: {exc.status} {exc.body}")
    assert errors == []
    assert len(objects) > 20
