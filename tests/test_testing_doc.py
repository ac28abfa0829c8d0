"""docs/testing.md's table is true: one row per row of docs/operations.md's table, each naming tests that
exist, in the real suite (tests/e2e) and in the imitation (argosim, or the release goldens)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO_ROOT

TESTS = REPO_ROOT / "tests"


def table(doc: Path) -> list[list[str]]:
    """The first table of a doc: its rows (header and separator left out), each a list of cells."""
    rows: list[list[str]] = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def named_tests(cell: str, default: str | None) -> list[tuple[str, str]]:
    """(file, test) for each `file.py::test` or `test` (in the file named before it) of a cell."""
    found, current = [], default
    for ref in re.findall(r"`([^`]+)`", cell):
        path, _, name = ref.rpartition("::")
        current = path or current
        assert current is not None, f"{ref}: which file?"
        found.append((current, name))
    return found


def defined(file: str, name: str) -> bool:
    matches = list(TESTS.glob(file)) + list(TESTS.glob(f"*/{file}"))
    return any(isinstance(node, ast.FunctionDef) and node.name == name
               for path in matches for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def test_every_operation_has_its_row() -> None:
    operations = [row[0] for row in table(REPO_ROOT / "docs" / "operations.md")]
    assert [row[0] for row in table(REPO_ROOT / "docs" / "testing.md")] == operations


def test_every_named_test_exists() -> None:
    rows = table(REPO_ROOT / "docs" / "testing.md")
    named = [ref for row in rows for cell in row[1:3] for ref in named_tests(cell, None)]
    assert len(named) >= 2 * len(rows) - 2, "the table names too few tests: the pattern is broken"
    assert [ref for ref in named if not defined(*ref)] == []
