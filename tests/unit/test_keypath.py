"""keypath.format_path: the one way mip-cmp writes where a value sits (problems, the gate, `diff`)."""

from __future__ import annotations

from mip_cmp.core.keypath import format_path


def test_plain_keys_after_dots_and_indexes_in_brackets() -> None:
    assert format_path(("apps", "engine", "values", "replicas")) == "apps.engine.values.replicas"
    assert format_path(("spec", "sources", 0, "repoURL")) == "spec.sources[0].repoURL"
    assert format_path((0, "name")) == "[0].name"
    assert format_path(("log_level", "my-key")) == "log_level.my-key"
    assert format_path(()) == ""


def test_a_key_with_a_dot_a_slash_or_a_space_is_quoted_so_the_path_reads_one_way() -> None:
    assert format_path(("metadata", "labels", "app.kubernetes.io/name")) == 'metadata.labels["app.kubernetes.io/name"]'
    assert format_path(("secrets", "db.USER")) == 'secrets["db.USER"]'
    assert format_path(("a b",)) == '["a b"]'
    assert format_path(("",)) == '[""]'
