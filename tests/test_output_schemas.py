"""Every object in every golden output is valid against the real CRD schemas (vendored from upstream), of the
newest Argo CD (v3.5.1) and of the oldest mip-cmp supports (v3.1.12); and it holds no field that the Argo CD
its platform declares would not know (the API server would silently prune it)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from argosim.kube import prune_unknown
from helpers import SAMPLE_REPO, yaml_documents
from k8s_validation import OLDEST_ARGOCD_SCHEMA_DIR, SCHEMA_DIR, crd_schema, validate_object

GOLDEN = Path(__file__).parent / "golden"
OUTPUTS = sorted(GOLDEN.glob("*/stdout.yaml"))
SERVED = {
    ("argoproj.io/v1alpha1", "AppProject"), ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "Application"), ("external-secrets.io/v1", "ExternalSecret"),
    ("generators.external-secrets.io/v1alpha1", "Password"), ("v1", "Namespace"),
    ("networking.k8s.io/v1", "NetworkPolicy"),  # checked against the Kubernetes OpenAPI schema
}
SCHEMA_DIRS = {"v3.5.1": SCHEMA_DIR, "v3.1.12": OLDEST_ARGOCD_SCHEMA_DIR}


@functools.cache
def _objects(output: Path) -> list[dict[str, Any]]:
    """The objects of a golden output, read once (the tests only read them)."""
    return yaml_documents(output.read_bytes())


def _declared_version(output: Path) -> str:
    """The Argo CD the case's platform declares: its repo/mip.yaml's, else the sample's it is laid over."""
    platform = output.parent / "repo" / "mip.yaml"
    if not platform.is_file():
        base = yaml.safe_load((output.parent / "case.yaml").read_text()).get("base", "sample-repo")
        platform = SAMPLE_REPO / "mip.yaml" if base == "sample-repo" else platform
    if platform.is_file():
        return str((yaml.safe_load(platform.read_text()).get("argocd") or {}).get("version", "v3.1.12"))
    return "v3.1.12"


@pytest.mark.parametrize("argocd", sorted(SCHEMA_DIRS))
@pytest.mark.parametrize("output", OUTPUTS, ids=[p.parent.name for p in OUTPUTS])
def test_every_generated_object_is_schema_valid(output: Path, argocd: str) -> None:
    objects = _objects(output)
    assert objects
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) in SERVED, "only served kinds; never a plaintext Secret"
        assert validate_object(obj, schema_dir=SCHEMA_DIRS[argocd]) == [], f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("output", OUTPUTS, ids=[p.parent.name for p in OUTPUTS])
def test_no_field_the_declared_argo_cd_would_prune(output: Path) -> None:
    version = _declared_version(output)
    for obj in _objects(output):
        if obj["apiVersion"] in ("v1", "networking.k8s.io/v1"):  # built-in kinds: no CRD to prune them
            continue
        schema = crd_schema(obj["apiVersion"], obj["kind"], SCHEMA_DIRS.get(version, SCHEMA_DIR))
        assert prune_unknown(obj, schema) == obj, f"{obj['kind']}/{obj['metadata']['name']}: a field {version} drops"


def test_the_oldest_argo_cd_would_prune_what_it_does_not_know() -> None:
    """Guard: the pruning check sees a field the v3.1.12 CRD lacks (a whitelist entry's name)."""
    project = next(o for o in _objects(GOLDEN / "root-argocd-v3.5" / "stdout.yaml")
                   if o["kind"] == "AppProject" and o["metadata"]["name"] == "federation-a")
    schema = crd_schema(project["apiVersion"], "AppProject", OLDEST_ARGOCD_SCHEMA_DIR)
    assert prune_unknown(project, schema)["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace", "name": "federation-a"}]


def test_the_check_can_fail() -> None:
    """Guard against a validator that accepts anything."""
    root = yaml.safe_load_all((GOLDEN / "root" / "stdout.yaml").read_bytes())
    app = next(o for o in root if o["kind"] == "ApplicationSet")
    app["spec"]["generators"] = "list"
    assert validate_object(app)
    assert validate_object(app, schema_dir=OLDEST_ARGOCD_SCHEMA_DIR)
