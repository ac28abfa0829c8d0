"""Files generated from code must match the code: plugin.yaml, the JSON Schema, the README table."""

from __future__ import annotations

from helpers import REPO_ROOT
from mip_cmp.contract.params import markdown_table
from mip_cmp.contract.pluginconfig import plugin_yaml
from mip_cmp.contract.schema import json_schema

REGENERATE = "regenerate it with `.venv/bin/python scripts/regenerate.py`"


def test_plugin_yaml_is_generated_from_the_parameters() -> None:
    assert (REPO_ROOT / "plugin.yaml").read_bytes() == plugin_yaml(), f"plugin.yaml drifted; {REGENERATE}"


def test_json_schema_is_generated_from_the_models() -> None:
    committed = (REPO_ROOT / "schema" / "mip.schema.json").read_text()
    assert committed == json_schema(), f"schema/mip.schema.json drifted; {REGENERATE}"


def test_readme_parameter_table_matches() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert markdown_table() in readme, f"README.md's parameter table drifted; {REGENERATE}"


def test_sample_federations_stay_small() -> None:
    """Adding a federation is one directory with a mip.yaml of at most 15 lines."""
    for path in sorted((REPO_ROOT / "sample-repo" / "federations").glob("*/mip.yaml")):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert len(lines) <= 15, f"{path.parent.name}: {len(lines)} lines"


def test_mip_yaml_reference_is_generated_from_the_models() -> None:
    from mip_cmp.contract.reference import markdown

    committed = (REPO_ROOT / "docs" / "mip-yaml.md").read_text()
    assert committed == markdown(), f"docs/mip-yaml.md drifted; {REGENERATE}"
