"""The plugin's stdout split into objects the way the sidecar and the repo-server do it."""

from __future__ import annotations

import json
from typing import Any

import yaml

from .argocd import HarnessError


class K8sLoader(yaml.CSafeLoader):
    """safe_load_all (libyaml's parser), but timestamps stay strings, as sigs.k8s.io/yaml.YAMLToJSON leaves
    them."""


K8sLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_stream(text: str) -> list[Any]:
    decoder, i = json.JSONDecoder(), 0
    docs: list[Any] = []
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return docs
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)


def parse_output(stdout: str) -> list[dict[str, Any]]:
    """kube.SplitYAMLToString, then the repo-server's Unstructured conversion and List flattening."""
    out = stdout.removesuffix("\n")
    try:
        docs = _json_stream(out) if out.lstrip().startswith("{") else list(yaml.load_all(out, Loader=K8sLoader))
    except (ValueError, yaml.YAMLError) as exc:
        raise HarnessError(f"failed to unmarshal manifest: {exc}") from None
    objects: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None or doc == "":
            continue  # empty and `null` documents are dropped
        if not isinstance(doc, dict):
            raise HarnessError(f"failed to convert CMP manifests to unstructured objects: {str(doc)[:80]!r}")
        if not isinstance(doc.get("kind"), str) or not doc["kind"]:
            raise HarnessError(f"Object 'Kind' is missing in '{json.dumps(doc)[:200]}'")
        items = doc.get("items", ...)
        if isinstance(items, list):  # Unstructured.IsList: any kind; every item must be an object
            for item in items:
                if not isinstance(item, dict):
                    raise HarnessError("items member is not an object")
                objects.append(item)
        elif items is None and "spec" not in doc and "status" not in doc:
            continue  # isNullList
        else:
            objects.append(doc)
    return objects
