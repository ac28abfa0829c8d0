"""The schema helper must accept valid objects and reject broken ones (otherwise it proves nothing)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from k8s_validation import SCHEMA_DIR, format_path, validate_object


def application(**spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {
            "repoURL": "https://git.example.org/mip/platform.git",
            "targetRevision": "main",
            "path": "federations/federation-a",
            "plugin": {"name": "mip-cmp"},
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "federation-a"},
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "federation-a",
            "namespace": "argocd",
            "labels": {"app.kubernetes.io/part-of": "mip"},
        },
        "spec": spec,
    }


EXTERNAL_SECRET: dict[str, Any] = {
    "apiVersion": "external-secrets.io/v1",
    "kind": "ExternalSecret",
    "metadata": {"name": "mip-secret", "namespace": "federation-a"},
    "spec": {
        "refreshPolicy": "CreatedOnce",
        "refreshInterval": "0s",
        "target": {
            "name": "mip-secret",
            "creationPolicy": "Orphan",
            "deletionPolicy": "Retain",
            "immutable": True,
        },
        "dataFrom": [
            {
                "sourceRef": {
                    "generatorRef": {
                        "apiVersion": "generators.external-secrets.io/v1alpha1",
                        "kind": "Password",
                        "name": "mip-alnum24",
                    }
                }
            }
        ],
    },
}

PASSWORD: dict[str, Any] = {
    "apiVersion": "generators.external-secrets.io/v1alpha1",
    "kind": "Password",
    "metadata": {"name": "mip-alnum24", "namespace": "federation-a"},
    "spec": {
        "length": 24,
        "digits": 6,
        "symbols": 0,
        "noUpper": False,
        "allowRepeat": True,
        "encoding": "raw",
    },
}

CONFIG_MAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "federation-a"},
    "data": {"key": "value"},
}


@pytest.mark.parametrize(
    "obj", [application(), EXTERNAL_SECRET, PASSWORD, CONFIG_MAP], ids=lambda o: o["kind"]
)
def test_accepts_minimal_valid_objects(obj: dict[str, Any]) -> None:
    assert validate_object(obj, require_namespace=True) == []


def test_wrong_type_in_crd_field_is_reported_with_path() -> None:
    app = application(destination={"server": 3, "namespace": "federation-a"})
    assert validate_object(app) == [
        "Application/federation-a: spec.destination.server: 3 is not of type 'string'"
    ]


def test_missing_required_crd_field() -> None:
    app = application()
    del app["spec"]["destination"]
    assert validate_object(app) == ["Application/federation-a: spec: 'destination' is a required property"]


def test_every_error_is_reported_in_stable_order() -> None:
    app = application(project=1, destination={"server": 3})
    assert validate_object(app) == [
        "Application/federation-a: spec.destination.server: 3 is not of type 'string'",
        "Application/federation-a: spec.project: 1 is not of type 'string'",
    ]


def test_list_index_in_path() -> None:
    es = copy.deepcopy(EXTERNAL_SECRET)
    es["spec"]["dataFrom"][0]["sourceRef"]["generatorRef"]["kind"] = "Passwort"
    (error,) = validate_object(es)
    assert error.startswith(
        "ExternalSecret/mip-secret: spec.dataFrom[0].sourceRef.generatorRef.kind: 'Passwort'"
    )


def test_enum_violation() -> None:
    es = copy.deepcopy(EXTERNAL_SECRET)
    es["spec"]["refreshPolicy"] = "Never"
    (error,) = validate_object(es)
    assert error.startswith("ExternalSecret/mip-secret: spec.refreshPolicy: 'Never' is not one of")


def test_property_named_description_survived_vendoring() -> None:
    # AppProject has a real property `spec.description` (maxLength 255): it must still be validated.
    project: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "mip", "namespace": "argocd"},
        "spec": {"description": "MIP federations"},
    }
    assert validate_object(project) == []
    project["spec"]["description"] = 3
    assert validate_object(project) == ["AppProject/mip: spec.description: 3 is not of type 'string'"]
    project["spec"]["description"] = "x" * 256
    (error,) = validate_object(project)
    assert error.startswith("AppProject/mip: spec.description: ") and "is too long" in error


def test_vendored_schemas_have_no_description_keyword() -> None:
    def walk(schema: Any) -> None:
        assert isinstance(schema, dict | bool)
        if isinstance(schema, bool):
            return
        assert "description" not in schema
        for sub in schema.get("properties", {}).values():
            walk(sub)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                walk(schema[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                walk(sub)

    files = sorted(SCHEMA_DIR.rglob("*_v*.json"))
    assert len(files) == 7 + 2 + 3  # ServiceExport (two served versions), and the oldest supported Argo CD's three
    for path in files:
        walk(json.loads(path.read_text("utf-8")))


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("external-secrets.io/v1beta1", "ExternalSecret"),
        ("argoproj.io/v1alpha1", "Applicaton"),
        ("mip/v1", "X"),
    ],
)
def test_unknown_api_version_or_kind(api_version: str, kind: str) -> None:
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": {}}
    (error,) = validate_object(obj)
    assert error.startswith(f"{kind}/x: {api_version} {kind} is not among the vendored CRD schemas")


def test_unserved_eso_version_names_the_served_one() -> None:
    es = {**EXTERNAL_SECRET, "apiVersion": "external-secrets.io/v1beta1"}
    (error,) = validate_object(es)
    assert error.endswith("(vendored: external-secrets.io/v1)")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("federation-a", True),
        ("a.b-c.d", True),
        ("x" * 253, True),
        ("x" * 254, False),
        ("Federation-A", False),
        ("fed_a", False),
        ("-fed", False),
        ("fed-", False),
        ("", False),
    ],
)
def test_metadata_name_must_be_dns1123_subdomain(name: str, ok: bool) -> None:
    for obj in (application(), CONFIG_MAP):
        obj = copy.deepcopy(obj)
        obj["metadata"]["name"] = name
        errors = validate_object(obj)
        assert (errors == []) is ok, errors
        if not ok:
            assert any(": metadata.name: " in e for e in errors), errors


def test_missing_name() -> None:
    app = application()
    del app["metadata"]["name"]
    assert validate_object(app) == ["Application/<no name>: metadata.name: is required"]


@pytest.mark.parametrize(
    ("namespace", "ok"), [("argocd", True), ("a.b", False), ("x" * 64, False), ("Ns", False)]
)
def test_namespace_must_be_dns1123_label(namespace: str, ok: bool) -> None:
    app = application()
    app["metadata"]["namespace"] = namespace
    errors = validate_object(app)
    assert (errors == []) is ok, errors


def test_namespace_required_only_on_request_and_forbidden_on_cluster_scoped() -> None:
    app = application()
    del app["metadata"]["namespace"]
    assert validate_object(app) == []
    assert validate_object(app, require_namespace=True) == [
        "Application/federation-a: metadata.namespace: is required"
    ]
    store: dict[str, Any] = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": "vault", "namespace": "argocd"},
        "spec": {"provider": {"fake": {"data": [{"key": "k", "value": "v"}]}}},
    }
    assert validate_object(store) == [
        "ClusterSecretStore/vault: metadata.namespace: must not be set on cluster-scoped ClusterSecretStore"
    ]
    del store["metadata"]["namespace"]
    assert validate_object(store, require_namespace=True) == []


def test_bad_label_value() -> None:
    app = application()
    app["metadata"]["labels"]["mip/revision"] = "refs/heads/main"
    assert validate_object(app) == [
        "Application/federation-a: metadata.labels[\"mip/revision\"]: label value 'refs/heads/main'"
        " is not a valid label value (<= 63 chars)"
    ]


def test_core_kind_wrong_type_and_unknown_field() -> None:
    cm = copy.deepcopy(CONFIG_MAP)
    cm["data"]["key"] = 1
    (error,) = validate_object(cm)
    assert error.startswith("ConfigMap/settings: data.key: 1 is not of type 'string'")
    cm = {**CONFIG_MAP, "spec": {}}  # strict: unknown top-level field
    (error,) = validate_object(cm)
    assert error.startswith("ConfigMap/settings: <root>: Additional properties are not allowed")


def test_not_an_object() -> None:
    assert validate_object(["kind", "List"]) == ["<not an object>: ['kind', 'List']"]
    assert validate_object({"kind": "ConfigMap", "metadata": {"name": "x"}}) == [
        "ConfigMap/x: apiVersion and kind must be non-empty strings"
    ]


def test_format_path() -> None:
    assert format_path([]) == "<root>"
    assert format_path(["spec", "sources", 0, "repoURL"]) == "spec.sources[0].repoURL"
    assert (
        format_path(["metadata", "labels", "app.kubernetes.io/name"])
        == 'metadata.labels["app.kubernetes.io/name"]'
    )
