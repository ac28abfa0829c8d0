"""What a kustomization in a federation's overlay makes kustomize read: every file and directory it names.

Argo CD builds an overlay with kustomize, which reads whatever its kustomization names: other directories
(`resources`, `components`), patches, generator inputs, and remote bases (a URL, or `github.com/...` when no
such local path exists). loading.py resolves each reference and refuses those outside the federation's own
directory; this module only says, of one parsed kustomization, what it references and what it may not say.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..core.keypath import KeyPath
from .yamlsource import Document

# The names kustomize looks for in a directory, in its order.
FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Lists of paths (a file or a directory each).
_PATH_LISTS = ("resources", "bases", "components", "crds", "configurations", "generators", "transformers",
               "validators", "patchesStrategicMerge")
# Lists of mappings whose `path` is a file.
_PATH_ITEMS = ("patches", "patchesJson6902", "replacements")
# Generators whose inputs are files: `files` (`key=path` or `path`), `envs`, and the older single `env`.
_GENERATORS = ("configMapGenerator", "secretGenerator")
# Fields that make kustomize fetch what no reviewer of the federation's directory sees.
_REFUSED = {"helmCharts": "Helm charts are fetched from outside the repository",
            "helmChartInflationGenerator": "Helm charts are fetched from outside the repository",
            "openapi": "an OpenAPI schema file changes how every patch merges"}


def refused(doc: Document) -> Iterator[tuple[KeyPath, str]]:
    """Fields of the kustomization an overlay may not use, with why."""
    data = doc.data if isinstance(doc.data, dict) else {}
    for field, why in _REFUSED.items():
        if field in data:
            yield (field,), why


def references(doc: Document) -> Iterator[tuple[KeyPath, str]]:
    """Every path the kustomization names, with where it says it. Inline patches (text with a newline, or a
    mapping without `path`) name no file."""
    data = doc.data if isinstance(doc.data, dict) else {}
    for field in _PATH_LISTS:
        for i, item in _items(data.get(field)):
            if isinstance(item, str) and "\n" not in item:
                yield (field, i), item
    for field in _PATH_ITEMS:
        for i, item in _items(data.get(field)):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield (field, i, "path"), item["path"]
    for field in _GENERATORS:
        for i, generator in _items(data.get(field)):
            if isinstance(generator, dict):
                yield from _generator_inputs((field, i), generator)


def _generator_inputs(where: KeyPath, generator: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    for j, source in _items(generator.get("files")):
        if isinstance(source, str):
            yield (*where, "files", j), source.split("=", 1)[-1]
    for j, source in _items(generator.get("envs")):
        if isinstance(source, str):
            yield (*where, "envs", j), source
    if isinstance(generator.get("env"), str):
        yield (*where, "env"), generator["env"]


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []
