"""Secrets: mip-cmp never emits a Secret, and a generated password is created once and then never rotated or
overwritten: not on re-sync, not on a new commit, not on Argo CD prune or app deletion, not when the
ExternalSecret is re-created (the traps of the External Secrets recipe, docs/security.md)."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_REPO, argo_env, run_cli

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"  # spelled out: the test states the contract independently
GENERATORS = "generators.external-secrets.io/v1alpha1"
RENDERS = {
    "root": (".", None),
    "federation-a": ("federations/federation-a", [{"name": "federation", "string": "federation-a"}]),
    "federation-a-secrets": ("federations/federation-a", [{"name": "federation", "string": "federation-a"},
                                                          {"name": "component", "string": "secrets"}]),
    "federation-z": ("federations/federation-z", [{"name": "federation", "string": "federation-z"}]),
    "federation-z-secrets": ("federations/federation-z", [{"name": "federation", "string": "federation-z"},
                                                          {"name": "component", "string": "secrets"}]),
}


@functools.cache
def render(name: str, revision: str = "main") -> list[dict[str, Any]]:
    app, params = RENDERS[name]
    result = run_cli("generate", cwd=SAMPLE_REPO / app, env=argo_env(app, params=params, revision=revision))
    assert result.code == 0, result.stderr
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def keeps_on_delete(obj: dict[str, Any]) -> bool:
    options = obj["metadata"].get("annotations", {}).get(SYNC_OPTIONS, "").split(",")
    return {"Prune=false", "Delete=false"} <= set(options)


@pytest.mark.parametrize("name", RENDERS)
def test_no_plaintext_secret_is_ever_emitted(name: str) -> None:
    for obj in render(name):
        assert obj["kind"] != "Secret"
        assert "stringData" not in obj and "data" not in obj


def test_generated_password_is_created_once_and_never_rotated_or_overwritten() -> None:
    objects = render("federation-a-secrets")
    generators = [o for o in objects if o["kind"] == "Password"]
    generated = [o for o in objects if o["kind"] == "ExternalSecret"
                 and any("generatorRef" in d["sourceRef"] for d in o["spec"].get("dataFrom", []))]
    assert generators and generated
    for password in generators:
        # Prune or app deletion leaves the generator in place.
        assert keeps_on_delete(password)
        # Every field with a CRD default is explicit, so Argo CD sees no drift to "fix".
        assert set(password["spec"]) >= {"length", "digits", "symbols", "noUpper", "allowRepeat", "encoding",
                                         "secretKeys"}
    for external in generated:
        spec, target = external["spec"], external["spec"]["target"]
        assert spec["refreshPolicy"] == "CreatedOnce"  # no refresh on re-sync, label or annotation changes
        assert spec["refreshInterval"] == "0s"  # the same on ESO older than v0.16
        assert target["creationPolicy"] == "Orphan"  # the Secret has no owner: deleting the ES keeps it
        assert target["deletionPolicy"] == "Retain"
        assert target["immutable"] is True  # a re-created ExternalSecret cannot overwrite it
        assert keeps_on_delete(external)  # Argo CD prune and app deletion skip it
        for source in spec["dataFrom"]:
            assert source["sourceRef"]["generatorRef"]["apiVersion"] == GENERATORS  # no defaulted drift


def test_the_secrets_application_never_prunes() -> None:
    secrets_app = next(o for o in render("federation-a") if o["metadata"]["name"] == "federation-a-secrets")
    assert secrets_app["spec"]["syncPolicy"]["automated"]["prune"] is False


def test_a_new_commit_changes_nothing_in_the_secrets() -> None:
    """Re-syncing at another revision must not touch the secret objects (no revision in labels or specs)."""
    assert render("federation-a-secrets", "main") == render("federation-a-secrets", "feature/x")


def test_store_secrets_follow_the_store() -> None:
    """Store-backed secrets are meant to follow rotation upstream; they never use a generator."""
    for obj in render("federation-a-secrets"):
        if obj["kind"] == "ExternalSecret" and "secretStoreRef" in obj["spec"]:
            assert "dataFrom" not in obj["spec"]
            assert obj["spec"]["target"]["deletionPolicy"] == "Retain"
