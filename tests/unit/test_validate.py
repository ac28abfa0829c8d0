"""validate.validate_repo: every file of a repository read once, every mistake said once."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from helpers import SAMPLE_REPO
from mip_cmp import repo as repo_module
from mip_cmp.validate import validate_repo

FED_Z = "federations/federation-z/mip.yaml"


def test_each_file_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root reads every federation file for its identity; each federation's renders read it again: one
    parse serves both (the files of one checkout do not change during a run)."""
    parsed: Counter[str] = Counter()
    real = repo_module.load_fast

    def counted(text: str, rel: str) -> repo_module.Document:
        parsed[rel] += 1
        return real(text, rel)

    monkeypatch.setattr(repo_module, "load_fast", counted)
    problems, files = validate_repo(SAMPLE_REPO)
    assert (problems, files) == ([], 3)
    assert {"mip.yaml", FED_Z} <= set(parsed)
    assert max(parsed.values()) == 1, parsed


def test_a_file_the_root_cannot_identify_is_one_problem_per_mistake(tmp_path: Path) -> None:
    """The root says the mistake with what it costs it; federation-z's own render finds the same mistake and
    must not say it again."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    fed = repo / FED_Z
    fed.write_text(fed.read_text().replace("name: federation-z", "name: 12"))
    problems, _ = validate_repo(repo)
    assert [(p.file, p.path) for p in problems] == [(FED_Z, "name")], problems
    assert "the root cannot tell which federation this is" in problems[0].message
