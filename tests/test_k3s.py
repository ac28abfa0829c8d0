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

from argosim.sync import wave
from cmpserver import bootstrap_objects, follow, root_application, workspace
from helpers import REPO_URL, SAMPLE_REPO

pytestmark = pytest.mark.cluster

CRDS = Path(__file__).resolve().parent / "fixtures" / "crds"
K3S_IMAGE = os.environ.get("MIP_K3S_IMAGE", "rancher/k3s:v1.30.4-k3s1")
NO_DOCKER = "no Docker engine: the k3s test needs one (testcontainers)"


def sync_order(obj: dict[str, Any]) -> tuple[int, bool, str]:
    """Argo CD's order inside one sync: wave, Namespaces first (their kind leads kindOrder), then name."""
    return wave(obj), obj["kind"] != "Namespace", obj["metadata"]["name"]


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
        yield config.new_client_from_config_dict(yaml.safe_load(k3s.config_yaml()))  # type: ignore[no-untyped-call]


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
                      for c in getattr(ext.read_custom_resource_definition(name).status, "conditions", None) or []):
            assert time.monotonic() < deadline, f"CRD {name} never became Established"
            time.sleep(0.5)


def test_everything_the_harness_expands_applies_server_side(api_client: Any, tmp_path: Path) -> None:
    """No namespace is made by hand but Argo CD's own: each Application's objects are applied as Argo CD
    applies them (tests/support/argosim/sync.py): its destination namespace first where it says CreateNamespace=true,
    then its objects wave by wave; a namespace the platform forgets fails here as it would on day one."""
    from kubernetes import client, dynamic
    from kubernetes.client.exceptions import ApiException

    ws = workspace(SAMPLE_REPO, tmp_path)
    bootstrap = bootstrap_objects(ws, "main")
    root = root_application(bootstrap)
    expansion = follow(root, REPO_URL, ws)  # the plugin as plugin.yaml declares it
    argocd_namespace = root["metadata"]["namespace"]

    _install_crds(api_client)
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=argocd_namespace)))  # Argo CD's
    resources = dynamic.DynamicClient(api_client).resources  # type: ignore[no-untyped-call]  # after the CRDs

    errors = []

    def apply(obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        resource = resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        try:
            resource.server_side_apply(body=obj, name=meta["name"], namespace=meta.get("namespace"),
                                       field_manager="mip-cmp-test")
        except ApiException as exc:
            errors.append(f"{obj['kind']} {meta.get('namespace')}/{meta['name']}: {exc.status} {exc.body}")

    for obj in bootstrap:  # the admin's `mip-cmp bootstrap --apply`
        apply(obj)
    existing = {argocd_namespace}
    count = len(bootstrap)
    for render in expansion.renders:
        spec = render.app["spec"]
        namespace = spec["destination"]["namespace"]
        if "CreateNamespace=true" in (spec.get("syncPolicy") or {}).get("syncOptions", []) \
                and namespace not in existing:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            existing.add(namespace)
        for obj in sorted(render.generated.objects, key=sync_order):
            apply(obj)
            if obj["kind"] == "Namespace":
                existing.add(obj["metadata"]["name"])
            count += 1
    assert errors == []
    assert count > 20
