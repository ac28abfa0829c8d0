"""Golden cases: one folder per case, inputs -> the exact bytes Argo CD would get (or the exact error).

A case folder holds `case.yaml` (first a comment saying why the case exists; which app directory to render,
with what revision and parameters, the `command` when it is not `generate`, the expected exit code, files to
`delete` or to `grow` to a size), an optional `repo/` overlay laid over a copy of sample-repo/ (or over
nothing, with `base: none`), and the expectation: `stdout.yaml` (generate's manifests) or `stdout.txt`
(another command's output) and `stderr.txt`; a stream without its file must be empty. The expected error texts
of the whole suite live here (tests/golden/attacks.yaml holds the security suite's).
Regenerate after an intended change with `MIP_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then
read the diff: the expected files are the specification.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_REPO, argo_env, run_cli

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.yaml").is_file())
UPDATE = os.environ.get("MIP_UPDATE_GOLDEN") == "1"


def build_repo(case_dir: Path, spec: dict[str, Any], tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    if spec.get("base", "sample-repo") == "sample-repo":
        shutil.copytree(SAMPLE_REPO, repo)
    else:
        repo.mkdir()
    overlay = case_dir / "repo"
    if overlay.is_dir():
        shutil.copytree(overlay, repo, dirs_exist_ok=True)
    for rel, size in spec.get("grow", {}).items():
        target = repo / rel
        text = target.read_bytes()
        line = b"        " + b"lorem ipsum " * 8 + b"\n"
        target.write_bytes(text + line * ((size - len(text)) // len(line) + 1))
    for rel in spec.get("delete", []):
        target = repo / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return repo


def stdout_file(case_dir: Path, command: list[str]) -> Path:
    """Manifests are YAML; what other commands print (annotations) is text."""
    return case_dir / ("stdout.yaml" if command == ["generate"] else "stdout.txt")


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path) -> None:
    case_dir = GOLDEN / case
    spec = yaml.safe_load((case_dir / "case.yaml").read_text())
    repo = build_repo(case_dir, spec, tmp_path)
    app = spec.get("app", ".")
    command: list[str] = spec.get("command", ["generate"])
    params = [{"name": k, "string": v} for k, v in spec.get("params", {}).items()]
    env = argo_env(app, revision=spec.get("revision", "main"), params=params or None)
    # In this process, as the renderer's worker runs it (the golden files pin the plain path;
    # tests/test_fast_path.py proves the renderer and the separate process give the same bytes).
    result = run_cli(*command, cwd=repo / app, env=env)
    out_file, err_file = stdout_file(case_dir, command), case_dir / "stderr.txt"
    if UPDATE:
        for file, data in ((out_file, result.stdout), (err_file, result.stderr.encode())):
            if data:
                file.write_bytes(data)
            else:
                file.unlink(missing_ok=True)
    assert result.code == spec.get("exit", 0), result.stderr
    # A stream without its file must stay empty: generate prints nothing on stdout when it fails, and
    # nothing on stderr when it succeeds.
    assert result.stdout == (out_file.read_bytes() if out_file.is_file() else b"")
    assert result.stderr == (err_file.read_text() if err_file.is_file() else "")


def test_every_case_has_its_expectation() -> None:
    for case in CASES:
        spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
        command = spec.get("command", ["generate"])
        if command == ["generate"]:
            expected = "stdout.yaml" if spec.get("exit", 0) == 0 else "stderr.txt"
            assert (GOLDEN / case / expected).is_file(), f"{case} has no {expected}"
        else:
            assert any((GOLDEN / case / name).is_file() for name in ("stdout.txt", "stderr.txt")), case


def test_every_case_says_why() -> None:
    """A case's first lines are a comment saying what it pins down and why it matters: an expectation file
    alone says what, not what a reviewer of a changed output must keep."""
    silent = [case for case in CASES if not (GOLDEN / case / "case.yaml").read_text().startswith("# ")]
    assert silent == []
