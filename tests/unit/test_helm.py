"""helm.merge_values: Helm's merge of the values files it is given (and Argo CD's valuesObject after them)."""

from __future__ import annotations

from mip_cmp.core.helm import merge_values


def test_mappings_merge_key_by_key_and_the_rest_replaces() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": {"deep": {"n": 1}}}
    override = {"a": {"y": [3]}, "c": {"deep": {"m": 2}}, "d": True}
    assert merge_values(base, override) == {"a": {"x": 1, "y": [3]}, "b": "keep", "c": {"deep": {"n": 1, "m": 2}},
                                            "d": True}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": {"deep": {"n": 1}}}, "the inputs stay as they were"


def test_a_null_is_kept_for_helm_to_remove_the_charts_default() -> None:
    """Helm merges `-f` files without dropping a null; the null then removes that key from the chart's own
    values.yaml when Helm coalesces them. Dropping it here would bring the chart's default back."""
    assert merge_values({"ingress": {"enabled": True, "host": "a"}}, {"ingress": {"host": None}}) == {
        "ingress": {"enabled": True, "host": None}}
    assert merge_values({"ingress": {"enabled": True}}, {"ingress": None}) == {"ingress": None}


def test_a_mapping_replaces_a_scalar_and_the_other_way_round() -> None:
    assert merge_values({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert merge_values({"a": {"b": 2}}, {"a": 1}) == {"a": 1}
    assert merge_values(None, {"a": 1}) == {"a": 1}
