"""Every command docs/operations.md shows runs, on a copy of the sample with the federation it adds; and its
table says what `diff` says Argo CD does to the workloads (one model of Argo CD's deletion semantics,
tools/deletion.py, which tests/test_lifecycle.py checks against argosim)."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import REPO_ROOT, copy_sample, run_cli
from lifecycle import set_platform
from mip_cmp.core.errors import EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE
from mip_cmp.tools.deletion import DELETED, workload_fates
from mip_cmp.tools.diff import as_text, compare
from mip_cmp.tools.snapshot import take

DOC = REPO_ROOT / "docs" / "operations.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", DOC.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def test_every_command_runs(tmp_path: Path) -> None:
    repo = copy_sample(tmp_path)
    federation = next(b for b in _blocks("yaml") if "kind: Federation" in b)
    (repo / "federations" / "federation-b").mkdir()
    (repo / "federations" / "federation-b" / "mip.yaml").write_text(federation)
    commands = [line.strip() for block in _blocks("sh") for line in block.splitlines() if line.strip()]
    assert len(commands) >= 3
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "mip-cmp", command
        result = run_cli(*argv[1:], cwd=repo)
        assert result.code == 0, f"{command}: {result.stderr}"


def _table() -> dict[str, dict[str, str]]:
    """The first table of docs/operations.md: operation -> column -> cell."""
    rows = [line.strip().strip("|").split("|") for line in DOC.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    table = {}
    for row in rows[1:]:
        if len(row) != len(header):
            break  # the next table
        table[row[0].strip()] = dict(zip(header, (cell.strip() for cell in row), strict=True))
    return table


def _retire(repo: Path) -> None:
    path = repo / "federations" / "federation-z" / "mip.yaml"
    path.write_text(path.read_text().replace("name: federation-z\n", "name: federation-z\nstate: retired\n"))


def _remove(repo: Path) -> None:
    shutil.rmtree(repo / "federations" / "federation-z")


# operation (as the table names it) -> (the platform's onRemoval, the change)
OPERATIONS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "retire (`state: retired`)": ("keep", _retire),
    "remove (default `onRemoval: keep`)": ("keep", _remove),
    "remove with `onRemoval: delete`": ("delete", _remove),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_table_says_what_diff_says_of_the_workloads(operation: str, tmp_path: Path) -> None:
    on_removal, change = OPERATIONS[operation]
    old = copy_sample(tmp_path / "old")
    set_platform(old, federations={"onRemoval": on_removal})
    new = tmp_path / "new"
    shutil.copytree(old, new)
    change(new)
    before, after = take(old), take(new)
    fates = {name: fate for name, fate in workload_fates(before, after).items()
             if name in ("federation-z-exareme2", "federation-z-mip-stack")}
    expected = _table()[operation]["workloads"]
    assert set(fates.values()) == {expected}, fates
    report = compare(before, after)
    assert f"workloads {expected}" in as_text(report)
    # `diff --exit-code` 11 exactly when workloads go, 10 when they keep running: the command itself, as the
    # page shows it, on the two checkouts
    result = run_cli("diff", str(old), str(new), "--exit-code", cwd=tmp_path)
    assert result.code == (EXIT_DIFF_DESTRUCTIVE if expected == DELETED else EXIT_DIFF_CHANGES), result.stderr
    assert bool(report.destructive) == (expected == DELETED)
    lines = result.stdout.decode().splitlines()
    for name in fates:  # each object's line, then what Argo CD does with it
        said = next(lines[i + 1] for i, line in enumerate(lines) if f"/{name}  (" in line)
        assert said.endswith(f"; workloads {expected}"), said
