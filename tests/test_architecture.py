"""The import graph of mip_cmp against the layers docs/architecture.md lists: every module is in exactly one
layer, and a module imports only from layers below its own (so there is no cycle either). Imports inside
functions count: a lazy import is still a dependency."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "plugin" / "mip_cmp"
DOC = REPO_ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts) if parts != ["__init__"] else "__init__"


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layers() -> list[list[str]]:
    """The numbered list between the layer markers of docs/architecture.md, lowest layer first."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- layers:start -->")[1].split("<!-- layers:end -->")[0]
    rows = [line for line in block.splitlines() if re.match(r"\d+\. ", line)]
    return [re.findall(r"`([\w.]+)`", row.split(":", 1)[0]) for row in rows]


def imports_of(name: str) -> set[str]:
    """The mip_cmp modules `name` imports (relative imports; the package itself imports nothing)."""
    path = MODULES[name]
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module.split(".") if node.module else [])]
            for alias in node.names:
                sub = ".".join([*target, alias.name])
                package_init = ".".join([*target, "__init__"])
                found.add(sub if sub in MODULES else package_init if package_init in MODULES
                          else (".".join(target) or "__init__"))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for alias in getattr(node, "names", []):
                full = getattr(node, "module", None) or alias.name
                assert not full.startswith("mip_cmp"), f"{name}: import mip_cmp relatively ({full})"
    found.discard(name)
    return found


def test_every_module_is_in_exactly_one_layer() -> None:
    listed = [m for layer in layers() for m in layer]
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert set(listed) == set(MODULES), (
        f"not in docs/architecture.md: {sorted(set(MODULES) - set(listed))}; "
        f"listed but missing: {sorted(set(listed) - set(MODULES))}")


def test_no_module_imports_its_own_layer_or_one_above() -> None:
    level = {m: i for i, layer in enumerate(layers()) for m in layer}
    upward = [f"{m} (layer {level[m] + 1}) imports {t} (layer {level[t] + 1})"
              for m in MODULES for t in sorted(imports_of(m)) if level[t] >= level[m]]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    # Implied by the layers; checked on its own so that a failure names the cycle.
    graph = {m: imports_of(m) for m in MODULES}
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        assert node not in trail, "import cycle: " + " -> ".join([*trail[trail.index(node):], node])
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, [*trail, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_the_checker_sees_imports() -> None:
    """A checker that finds nothing cannot fail: it must see the pipeline's own imports."""
    assert {"expand.platform", "loading", "policy", "repo"} <= imports_of("pipeline")
    assert "answer" in imports_of("renderer.server")
    assert "fastyaml" in imports_of("emit")
