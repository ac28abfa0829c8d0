"""emit.dump: the one writer of the output bytes (fastyaml, PyYAML where it declines) and its limits."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mip_cmp.core import budget
from mip_cmp.core.errors import MipError
from mip_cmp.core.meter import Exceeded
from mip_cmp.stage5_write import emit

CONFIG_MAP: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
                              "data": {"yes": "no", "n": "007", "multi": "a\nb\n", "empty": ""}}


def test_the_stream_reads_back_as_the_objects_with_yaml_11_hazards_quoted() -> None:
    """`yes`, `no` and `007` stay strings for a YAML 1.1 reader (Argo CD's Go YAML and PyYAML alike)."""
    out = emit.dump([CONFIG_MAP, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}])
    assert out.startswith(b"---\n")
    assert list(yaml.safe_load_all(out)) == [CONFIG_MAP, {"apiVersion": "v1", "kind": "Namespace",
                                                           "metadata": {"name": "n"}}]


def test_the_bytes_are_pyyamls() -> None:
    """fastyaml is speed only: the same bytes as PyYAML's safe dumper with mip-cmp's settings."""
    assert emit.dump([CONFIG_MAP]) == emit._dump([CONFIG_MAP], emit._Dumper)


def test_keys_are_written_in_the_order_the_expansion_built_them() -> None:
    """No sorting: apiVersion and kind first, as the expansion writes every object (and people read them)."""
    shuffled = {k: CONFIG_MAP[k] for k in reversed(list(CONFIG_MAP))}
    assert emit.dump([CONFIG_MAP]).splitlines()[1:3] == [b"apiVersion: v1", b"kind: ConfigMap"]
    assert emit.dump([shuffled]).splitlines()[1] == b"data:"


def test_no_objects_is_an_empty_stream() -> None:
    assert emit.dump([]) == b""


def test_too_many_objects_is_a_budget_error() -> None:
    objects = [{"kind": "ConfigMap", "metadata": {"name": str(i)}} for i in range(budget.MAX_OBJECTS + 1)]
    with pytest.raises(Exceeded, match=r"budget\.MAX_OBJECTS"):
        emit.dump(objects, "mip.yaml")


def test_too_many_bytes_is_a_budget_error_naming_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_OUTPUT_BYTES", 200)
    big = {"kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"x": "y" * 300}}
    with pytest.raises(Exceeded) as stopped:
        emit.dump([CONFIG_MAP, big], "mip.yaml")
    assert [p.path for p in stopped.value.problems] == ["output: ConfigMap big"]


def test_a_string_that_is_not_text_is_located_by_its_key_path() -> None:
    bad = {"kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app.kubernetes.io/name": "\udc80"}}}
    with pytest.raises(MipError) as refused:
        emit.dump([bad], "mip.yaml")
    [problem] = refused.value.problems
    assert problem.path == 'output: ConfigMap c: metadata.labels["app.kubernetes.io/name"]'
    assert "not text" in problem.message


def test_the_writers_caches_stay_bounded_across_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm worker writes many tenants' renders: fastyaml's caches of texts are emptied past their bound, and
    what is written stays the same bytes."""
    from mip_cmp.stage5_write import fastyaml

    monkeypatch.setattr(fastyaml, "_MAX_CACHED", 50)
    for i in range(20):
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"},
               "data": {f"key-{i}-{j}": f"value-{i}-{j}" for j in range(10)}}
        assert emit.dump([obj]) == emit._dump([obj], emit._Dumper)
        assert len(fastyaml._cache) + len(fastyaml._keys) <= 50 + 25  # one document's worth above the bound
