"""validate_repo: every file checked, every app rendered as Argo CD renders it, all problems at once."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from helpers import SAMPLE_REPO
from mip_cmp.core import budget
from mip_cmp.stage1_read import repo as repo_module
from mip_cmp.stage1_read import yamlsource
from mip_cmp.tools.validate import notes, validate_repo

FED_Z = "federations/federation-z/mip.yaml"


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


def test_each_file_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root reads every federation file for its identity; each federation's renders read it again: one
    parse serves both (the files of one checkout do not change during a run)."""
    parsed: Counter[str] = Counter()
    real = yamlsource.load_fast

    def counted(text: str, rel: str) -> yamlsource.Document:
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


def test_the_root_is_held_to_its_budget_over_every_file_it_reads(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Argo CD's root render parses the platform's file and every federation's within one budget of YAML
    nodes; validate must not pass a root that budget stops, though each federation's own render (its file and
    the root's) stays within it."""
    root = copy(tmp_path)
    federations = sorted((root / "federations").glob("*/mip.yaml"))
    for file in federations:  # 4,000 more nodes each, as chart values (a federation may set any)
        file.write_text(file.read_text().replace("values: {log_level: DEBUG",
                                                 "values: {padding: [" + "1, " * 4000 + "1], log_level: DEBUG", 1))
    own = max(_nodes(file) for file in federations)
    limit = _nodes(root / "mip.yaml") + own + 1024  # every federation's render fits (counted by 1,024 at most)
    assert _nodes(root / "mip.yaml") + sum(_nodes(file) for file in federations) > limit + 1024
    monkeypatch.setattr(budget, "MAX_TOTAL_NODES", limit)
    problems, _ = validate_repo(root)
    assert [p.message for p in problems] == [
        f"the mip.yaml files of this render hold more than {limit:,} YAML nodes together (budget.MAX_TOTAL_NODES); "
        "make them smaller"]


def _nodes(path: Path) -> int:
    """YAML nodes of a file, as the parser counts them: scalars, mappings and sequences."""
    events = yaml.parse(path.read_text())
    return sum(isinstance(e, yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent) for e in events)


def _app_bytes(platform: Path) -> tuple[int, int]:
    """(what the root's render reads: the platform's file and every federation's; what federation-a's reads:
    the platform's file, its own and its overlay's kustomization)."""
    size = {p: p.stat().st_size for p in platform.rglob("*.yaml")}
    feds = sorted(platform.glob("federations/*/mip.yaml"))
    own = [platform / "federations/federation-a/mip.yaml",
           *platform.glob("federations/federation-a/**/kustomization.yaml")]
    return (size[platform / "mip.yaml"] + sum(size[f] for f in feds),
            size[platform / "mip.yaml"] + sum(size[f] for f in own))


def test_each_render_counts_the_bytes_it_reads_as_argo_cds_process_does(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """validate parses each file once, yet every app's render counts the files it uses, as the process Argo CD
    starts for that app does (it reads everything afresh), and no more: a limit every render fits passes,
    whatever the whole run read; one a federation's render exceeds (the platform's file, its own, its
    overlay's kustomization) fails there, as that federation's Application would."""
    platform = copy(tmp_path)
    root, federation_a = _app_bytes(platform)
    limit = max(root, federation_a)  # what the largest render reads, less than the whole run
    monkeypatch.setattr(budget, "MAX_TOTAL_BYTES", limit)
    assert validate_repo(platform) == ([], 3)  # before, the run's total (every file once) exceeded it
    kustomization = platform / "federations/federation-a/overlays/exareme2/kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "#" * (limit - federation_a) + "\n")  # one byte over
    problems, _ = validate_repo(platform)
    assert [(p.file, p.message) for p in problems] == [
        ("federations/federation-a/overlays/exareme2/kustomization.yaml",
         f"the mip.yaml files read together exceed {limit} bytes (budget.MAX_TOTAL_BYTES)")]
