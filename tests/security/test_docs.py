"""docs/security.md points at the tests that prove each guarantee: every reference must resolve, and every
attack must be cited by some threat, so the page and the suite cannot drift apart."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

from .test_attacks import ATTACKS

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
HERE = Path(__file__).resolve().parent
TEXT = DOC.read_text()


def _test_names(file: Path) -> set[str]:
    tree = ast.parse(file.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_attack_reference_matches_an_attack() -> None:
    ids = [a.id for a in ATTACKS]
    for pattern in re.findall(r"`A\[([^\]]+)\]`", TEXT):
        assert fnmatch.filter(ids, pattern), f"docs/security.md cites A[{pattern}], which matches no attack"


def test_every_attack_is_cited_by_a_threat() -> None:
    patterns = re.findall(r"`A\[([^\]]+)\]`", TEXT)
    uncited = [a.id for a in ATTACKS if not any(fnmatch.fnmatch(a.id, p) for p in patterns)]
    assert not uncited, f"attacks not cited in docs/security.md: {uncited}"


@pytest.mark.slow
def test_every_test_reference_exists() -> None:
    # `test_x.py::test_name`, `test_name[...]` or a `test_prefix_*` glob, optionally after a `file::` part.
    current: Path | None = None
    for file, name in re.findall(r"`(?:(test_\w+\.py)::)?(test_\w+\*?)(?:\[[^\]]*\])?`", TEXT):
        if file:
            current = HERE / file
            assert current.is_file(), f"docs/security.md cites {file}, which does not exist"
        if current is None:
            continue
        names = _test_names(current)
        assert fnmatch.filter(names, name), f"docs/security.md cites {current.name}::{name}, which does not exist"


def test_every_threat_has_an_id_of_its_own() -> None:
    """A threat is cited by its id (T7 in prose, in reviews): two threats under one id make a citation wrong."""
    ids = re.findall(r"^\| (T\d+) \|", TEXT, re.MULTILINE)
    assert ids, "the threat tables must be found"
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []
