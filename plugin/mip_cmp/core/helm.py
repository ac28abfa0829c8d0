"""Helm's merge of values, the one mip-cmp uses wherever values are combined (the expansion, the importer)."""

from __future__ import annotations

from typing import Any


def merge_values(base: Any, override: Any) -> Any:
    """`override`'s values over `base`'s, as Helm merges the values files it is given in order (`-f a -f b`,
    Argo CD's valueFiles then valuesObject): mappings merge key by key, anything else in `override` replaces,
    a null included. The null is kept on purpose: Helm removes that key from the chart's own defaults when it
    coalesces them, so dropping it here would bring the chart's default back."""
    if isinstance(base, dict) and isinstance(override, dict):
        # A key `base` lacks merges over None, which is no mapping: `override`'s value as it is.
        return {**base, **{key: merge_values(base.get(key), value) for key, value in override.items()}}
    return override
