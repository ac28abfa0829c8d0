"""Every object in every golden output is valid against the real CRD schemas (vendored from upstream)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from k8s_validation import validate_object

GOLDEN = Path(__file__).parent / "golden"
OUTPUTS = sorted(GOLDEN.glob("*/stdout.yaml"))
SERVED = {
    ("argoproj.io/v1alpha1", "AppProject"), ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "Application"), ("external-secrets.io/v1", "ExternalSecret"),
    ("generators.external-secrets.io/v1alpha1", "Password"),
    ("networking.k8s.io/v1", "NetworkPolicy"),  # checked against the Kubernetes OpenAPI schema
}


@pytest.mark.parametrize("output", OUTPUTS, ids=[p.parent.name for p in OUTPUTS])
def test_every_generated_object_is_schema_valid(output: Path) -> None:
    objects = [o for o in yaml.safe_load_all(output.read_bytes()) if o is not None]
    assert objects
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) in SERVED, "only served kinds; never a plaintext Secret"
        assert validate_object(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_the_check_can_fail() -> None:
    """Guard against a validator that accepts anything."""
    root = yaml.safe_load_all((GOLDEN / "root" / "stdout.yaml").read_bytes())
    app = next(o for o in root if o["kind"] == "ApplicationSet")
    app["spec"]["generators"] = "list"
    assert validate_object(app)
