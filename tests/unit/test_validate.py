"""validate_repo: every file checked, every app rendered as Argo CD renders it, all problems at once."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import SAMPLE_REPO
from mip_cmp.validate import notes, validate_repo


def copy(tmp_path: Path) -> Path:
    return shutil.copytree(SAMPLE_REPO, tmp_path / "platform")


def test_the_sample_is_clean_and_every_file_counts() -> None:
    problems, files = validate_repo(SAMPLE_REPO)
    assert problems == []
    assert files == 1 + len(list((SAMPLE_REPO / "federations").glob("*/mip.yaml")))


def test_a_broken_platform_file_is_all_it_says(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (root / "mip.yaml").write_text("apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\n")
    problems, files = validate_repo(root)
    assert problems and {p.file for p in problems} == {"mip.yaml"} and files == 1


def test_problems_of_several_federations_come_together(tmp_path: Path) -> None:
    root = copy(tmp_path)
    for name in ("federation-a", "federation-z"):
        path = root / "federations" / name / "mip.yaml"
        path.write_text(path.read_text().replace("\ncluster: ", "\nclustr: ", 1))
    problems, _ = validate_repo(root)
    assert {p.file for p in problems} == {"federations/federation-a/mip.yaml", "federations/federation-z/mip.yaml"}
    typos = {p.file for p in problems if "did you mean 'cluster'" in p.message}
    assert typos == {"federations/federation-a/mip.yaml", "federations/federation-z/mip.yaml"}


def test_a_problem_several_renders_share_is_said_once(tmp_path: Path) -> None:
    """A federation's problem shows in its app, its secrets app and its network app alike: said once."""
    root = copy(tmp_path)
    path = root / "federations" / "federation-a" / "mip.yaml"
    path.write_text(path.read_text().replace("{{ federation.name }}", "{{ federation.nmae }}", 1))
    problems, _ = validate_repo(root)
    assert len(problems) == len(set(problems)) >= 1


def test_a_stray_mip_yaml_is_reported(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (root / "elsewhere").mkdir()
    shutil.copy(root / "federations" / "federation-a" / "mip.yaml", root / "elsewhere" / "mip.yaml")
    problems, _ = validate_repo(root)
    assert [p.file for p in problems] == ["elsewhere/mip.yaml"]


def test_a_directory_named_otherwise_than_its_federation_is_a_note_not_a_problem(tmp_path: Path) -> None:
    root = copy(tmp_path)
    (root / "federations" / "federation-a").rename(root / "federations" / "hospital-a")
    assert validate_repo(root)[0] == []
    assert any("hospital-a" in note and "federation-a" in note for note in notes(root))
