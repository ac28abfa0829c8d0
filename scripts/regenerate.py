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
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{markdown_table()}{END}"
    files = {
        ROOT / "plugin.yaml": plugin_yaml(),
        ROOT / "schema" / "mip.schema.json": json_schema().encode(),
        ROOT / "docs" / "mip-yaml.md": markdown().encode(),
        readme: re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S).encode(),
    }
    changed = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
    for path in changed:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(files[path])
    names = ", ".join(str(path.relative_to(ROOT)) for path in changed)
    print(f"regenerated {names}" if changed else f"unchanged: {', '.join(str(p.relative_to(ROOT)) for p in files)}")


if __name__ == "__main__":
    main()
