"""Rewrite every file that is generated from code: plugin.yaml, the JSON Schema, the mip.yaml reference and
the README's parameter table. tests/test_contract_files.py fails when one of them is stale."""

from __future__ import annotations

import re
from pathlib import Path

from mip_cmp.contract.params import markdown_table
from mip_cmp.contract.pluginconfig import plugin_yaml
from mip_cmp.contract.reference import markdown
from mip_cmp.contract.schema import json_schema

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def main() -> None:
    (ROOT / "plugin.yaml").write_bytes(plugin_yaml())
    (ROOT / "schema").mkdir(exist_ok=True)
    (ROOT / "schema" / "mip.schema.json").write_text(json_schema())
    (ROOT / "docs" / "mip-yaml.md").write_text(markdown())
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{markdown_table()}{END}"
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    readme.write_text(new)
    print("regenerated plugin.yaml, schema/mip.schema.json, docs/mip-yaml.md, README.md parameter table")


if __name__ == "__main__":
    main()
