"""Every command docs/operations.md shows runs, on a copy of the sample with the federation it adds."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from helpers import REPO_ROOT, copy_sample, run_cli

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
