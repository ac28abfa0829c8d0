"""`mip-cmp diff`: golden cases in every format, exit codes, git revisions, speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mip_cmp.cli import run
from mip_cmp.core.errors import EXIT_BUG, EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE, EXIT_INPUT, EXIT_OK, EXIT_USAGE

GOLDEN = Path(__file__).parent / "golden_diff"
BASE = GOLDEN / "base"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.yaml").is_file())
FORMATS = ("text", "json", "github", "markdown")
UPDATE = os.environ.get("MIP_UPDATE_GOLDEN") == "1"


def make_old(case: str, dest: Path) -> Path:
    """The old side of a case: base/ with the replacements both sides share (`both`)."""
    spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
    shutil.copytree(BASE, dest)
    _replace(case, dest, spec.get("both", []))
    return dest


def make_side(case: str, dest: Path) -> Path:
    """The new side of a case: the old side with the case's overlay, deletions and replacements."""
    spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
    make_old(case, dest)
    if (GOLDEN / case / "new").is_dir():
        shutil.copytree(GOLDEN / case / "new", dest, dirs_exist_ok=True)
    for rel in spec.get("delete", []):
        shutil.rmtree(dest / rel)
    _replace(case, dest, spec.get("replace", []))
    return dest


def _replace(case: str, dest: Path, items: list[dict[str, str]]) -> None:
    for item in items:
        path = dest / item["file"]
        text = path.read_text()
        assert item["old"] in text, f"{case}: {item['old']!r} not in {item['file']}"
        path.write_text(text.replace(item["old"], item["new"]))


def diff(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES)
def test_golden_diff(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
    make_old(case, tmp_path / "old")
    make_side(case, tmp_path / "new")
    monkeypatch.chdir(tmp_path)  # the labels in the output are the paths as given
    for fmt in FORMATS:
        code, out, err = diff(["old", "new", "--exit-code", "--format", fmt], capsys)
        assert err == ""
        assert code == spec["exit"], (fmt, out)
        expected = GOLDEN / case / f"expected.{fmt}"
        if UPDATE:
            expected.write_text(out)
        assert out == expected.read_text(), f"{case} ({fmt}) differs; MIP_UPDATE_GOLDEN=1 rewrites, then read it"
    code, _, _ = diff(["old", "new"], capsys)
    assert code == EXIT_OK, "without --exit-code a diff is a success"


def test_exit_codes_are_not_error_codes() -> None:
    outcomes = {EXIT_OK, EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE}
    assert len(outcomes) == 3
    assert not outcomes & {EXIT_INPUT, EXIT_USAGE, EXIT_BUG}
    assert {yaml.safe_load((GOLDEN / c / "case.yaml").read_text())["exit"] for c in CASES} == outcomes


def test_json_carries_every_change_and_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_old("remove-federation-delete", tmp_path / "old")
    make_side("remove-federation-delete", tmp_path / "new")
    monkeypatch.chdir(tmp_path)
    _, out, _ = diff(["old", "new", "--format", "json"], capsys)
    data: dict[str, Any] = json.loads(out)
    removed = {c["name"] for c in data["changes"] if c["action"] == "removed" and c["kind"] == "Application"}
    assert {"federation-z-exareme2", "federation-z-mip-stack", "federation-z-secrets"} <= removed
    assert all(name.startswith("federation-z-") for name in removed)
    first_safe = next(i for i, c in enumerate(data["changes"]) if not c["destructive"])
    assert all(not c["destructive"] for c in data["changes"][first_safe:]), "destructive changes come first"
    assert data["summary"]["destructive"] == first_safe


def test_a_broken_side_is_an_error_naming_the_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(BASE, tmp_path / "old")
    new = make_side("no-change", tmp_path / "new")
    fed = new / "federations" / "federation-a" / "mip.yaml"
    fed.write_text(fed.read_text().replace("cluster: in-cluster", "cluster: mars"))
    monkeypatch.chdir(tmp_path)
    code, out, err = diff(["old", "new", "--exit-code"], capsys)
    assert code == EXIT_INPUT
    assert out == ""
    assert err.startswith("new:federations/federation-a/mip.yaml:5:10: cluster: unknown cluster 'mars'")


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["a", "b", "c"], [str(BASE), str(BASE), "--from", "HEAD"], [str(tmp_path / "none")]):
        code, out, err = diff(args, capsys)
        assert code == EXIT_USAGE, args
        assert out == "" and err.startswith("mip-cmp diff")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_revisions_of_a_platform_in_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """--from/--to render both commits as they are in git (not the working tree), also when the platform
    is a subdirectory of the git repository, and say the same as comparing two directories."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copytree(BASE, repo / "platform")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    shutil.rmtree(repo / "platform")
    make_side("remove-federation", repo / "platform")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "remove federation-z")
    (repo / "platform" / "mip.yaml").write_text("not: [valid")  # the working tree is not looked at
    monkeypatch.chdir(tmp_path)
    code, out, _ = diff(["repo/platform", "--from", "HEAD~1", "--to", "HEAD", "--exit-code"], capsys)
    assert code == EXIT_DIFF_CHANGES  # onRemoval: keep (the default): workloads keep running
    expected = (GOLDEN / "remove-federation" / "expected.text").read_text()
    assert out.splitlines()[1:] == expected.splitlines()[1:]
    assert out.splitlines()[0].startswith("mip-cmp diff HEAD~1 -> HEAD: ")
    code, out, err = diff(["repo/platform", "--from", "no-such-rev"], capsys)
    assert code == EXIT_INPUT and out == ""
    assert "no-such-rev" in err


def federations(root: Path, count: int) -> None:
    template = (root / "federations" / "federation-a" / "mip.yaml").read_text()
    for i in range(count):
        name = f"federation-n{i:03d}"
        (root / "federations" / name).mkdir(parents=True)
        (root / "federations" / name / "mip.yaml").write_text(template.replace("federation-a", name))


@pytest.mark.slow
def test_diff_of_two_100_federation_platforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One chart version changed under 100 federations: each of their Applications differs, nothing else
    (bench/tools.py measures how long it takes)."""
    old = shutil.copytree(BASE, tmp_path / "old")
    federations(old, 100)
    new = shutil.copytree(old, tmp_path / "new")
    platform = new / "mip.yaml"
    platform.write_text(platform.read_text().replace("version: 9.0.2", "version: 9.0.3"))
    code, out, _ = diff([str(old), str(new), "--exit-code"], capsys)
    assert code == EXIT_DIFF_CHANGES
    assert "102 object(s) differ" in out.splitlines()[0]


def test_the_generate_path_never_imports_the_tools() -> None:
    """`generate`, what Argo CD runs on every sync, loads neither tools/ nor their libraries (deepdiff,
    selenium): they cost it nothing."""
    import sys

    from helpers import SAMPLE_REPO, argo_env, base_env

    probe = ("import sys; sys.argv = ['mip-cmp', 'generate']; from mip_cmp.cli import main; code = main(); "
             "loaded = sorted(m for m in sys.modules if m.startswith('mip_cmp.tools') "
             "or m.split('.')[0] in ('deepdiff', 'selenium')); print(code, loaded, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=SAMPLE_REPO, capture_output=True, text=True,
                            env={**base_env(), **argo_env("."), "MIP_CMP_RENDERER": "off"}, check=False, timeout=60)
    assert result.stdout.startswith("---\n")
    assert result.stderr.strip() == "0 []"


def test_without_deepdiff_diff_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "deepdiff", None)  # import deepdiff now raises ImportError
    code, out, err = diff([str(BASE), str(BASE)], capsys)
    assert (code, out) == (EXIT_USAGE, "")
    assert "pip install 'mip-cmp[tools]'" in err
