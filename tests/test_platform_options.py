"""Platform options that change what the expansion writes, each rendered from a copy of the sample whose
platform file sets it (the goldens pin the sample's own choices; these pin the option itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import copy_sample
from mip_cmp.errors import MipError
from mip_cmp.loading import load_federations, load_platform
from mip_cmp.pipeline import render_objects
from mip_cmp.repo import Repo
from mip_cmp.validate import app_renders

Objects = dict[str, list[dict[str, Any]]]


def render_with(tmp_path: Path, change: dict[str, Any]) -> Objects:
    """Every app of the sample, its platform file updated key by key with `change` (top level)."""
    root = copy_sample(tmp_path)
    platform_file = root / "mip.yaml"
    data = yaml.safe_load(platform_file.read_text(encoding="utf-8"))
    platform_file.write_text(yaml.safe_dump({**data, **change}, sort_keys=False), encoding="utf-8")
    repo = Repo(root)
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    return {name: render_objects(repo, ".", env, platform) for name, env in app_renders(platform, federations)}


def managed_namespaces(rendered: Objects) -> dict[str, list[dict[str, str]]]:
    """Namespace -> every label set an Application or the root gives it (the root's Namespace objects also
    carry the managed-by label every object it writes has)."""
    found: dict[str, list[dict[str, str]]] = {}
    for objects in rendered.values():
        for obj in objects:
            if obj["kind"] == "Application":
                meta = obj["spec"]["syncPolicy"].get("managedNamespaceMetadata")
                if meta:
                    found.setdefault(obj["spec"]["destination"]["namespace"], []).append(meta["labels"])
            elif obj["kind"] == "Namespace":
                labels = {k: v for k, v in obj["metadata"]["labels"].items() if k != "app.kubernetes.io/managed-by"}
                found.setdefault(obj["metadata"]["name"], []).append(labels)
    return found


def test_namespace_labels_are_under_the_keys_the_platform_chooses(tmp_path: Path) -> None:
    keys = {"namespaceType": "mip.namespace-type", "federationType": "mip.federation-type"}
    namespaces = managed_namespaces(render_with(tmp_path, {"namespaceLabels": keys}))
    expected_type = {"federation-a": "federation", "federation-z": "federation",
                     "mip-common-datacatalog": "common", "ingress-nginx": "infrastructure"}
    for namespace, kind in expected_type.items():
        for labels in namespaces[namespace]:
            assert labels["name"] == namespace
            assert labels["mip.namespace-type"] == kind
            assert not any(key.startswith("mip-cmp.io/") and key.endswith("-type") for key in labels)
    assert {labels["mip.federation-type"] for labels in namespaces["federation-z"]} == {"hybrid"}
    assert {labels["mip.federation-type"] for labels in namespaces["federation-a"]} == {"local"}
    # one label set per namespace: every Application writing into it says the same
    assert all(len({tuple(sorted(labels.items())) for labels in sets}) == 1 for sets in namespaces.values())


@pytest.mark.parametrize(("keys", "message"), [
    ({"namespaceType": "mip.type", "federationType": "mip.type"}, "two different keys"),
    ({"namespaceType": "name"}, "`name` is the label"),
])
def test_namespace_label_keys_that_would_clash_are_refused(tmp_path: Path, keys: dict[str, str],
                                                           message: str) -> None:
    with pytest.raises(MipError, match=message):
        render_with(tmp_path, {"namespaceLabels": keys})
