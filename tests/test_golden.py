"""Golden cases: one folder per case, inputs -> the exact bytes Argo CD would get (or the exact error).

A case folder holds `case.yaml` (which app directory to render, with what revision and parameters, the
expected exit code, files to `delete` or to `grow` to a size), an optional `repo/` overlay laid over a copy of sample-repo/ (or over nothing,
with `base: none`), and the expectation: `stdout.yaml` for a success, `stderr.txt` for a failure.
Regenerate after an intended change with `MIP_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then
read the diff: the expected files are the specification.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from helpers import SAMPLE_REPO, argo_env, run_cli

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.yaml").is_file())
UPDATE = os.environ.get("MIP_UPDATE_GOLDEN") == "1"


def build_repo(case_dir: Path, spec: dict, tmp_path: Path) -> Path:
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


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path) -> None:
    case_dir = GOLDEN / case
    spec = yaml.safe_load((case_dir / "case.yaml").read_text())
    repo = build_repo(case_dir, spec, tmp_path)
    app = spec.get("app", ".")
    params = [{"name": k, "string": v} for k, v in spec.get("params", {}).items()]
    env = argo_env(app, revision=spec.get("revision", "main"), params=params or None)
    # In this process, as the renderer's worker runs it (the golden files pin the plain path;
    # tests/test_fast_path.py proves the renderer and the separate process give the same bytes).
    result = run_cli("generate", cwd=repo / app, env=env)
    expected_exit = spec.get("exit", 0)
    out_file, err_file = case_dir / "stdout.yaml", case_dir / "stderr.txt"
    if UPDATE:
        if expected_exit == 0:
            out_file.write_bytes(result.stdout)
        else:
            err_file.write_text(result.stderr)
    assert result.code == expected_exit, result.stderr
    if expected_exit == 0:
        assert result.stderr == ""
        assert result.stdout == out_file.read_bytes()
    else:
        assert result.stdout == b"", "nothing may reach stdout when generate fails"
        assert result.stderr == err_file.read_text()


def test_every_case_has_its_expectation() -> None:
    for case in CASES:
        spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
        expected = "stdout.yaml" if spec.get("exit", 0) == 0 else "stderr.txt"
        assert (GOLDEN / case / expected).is_file(), f"{case} has no {expected}"
