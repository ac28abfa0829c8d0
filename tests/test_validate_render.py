"""validate's machine formats (paths from the git root) and render's validate-level checks, in-process
(helpers.run_cli; the CLI's process boundary is tests/test_cli.py's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from helpers import SAMPLE_REPO, run_cli

FED_A = "federations/federation-a/mip.yaml"
UNKNOWN_CLUSTER = "unknown cluster 'mars'; the platform's clusters are: in-cluster, mip-public"


def checkout_with_platform_in(tmp_path: Path, subdir: str) -> Path:
    """A git checkout (a `.git` directory is what marks it) whose platform lives in `subdir`."""
    (tmp_path / "checkout" / ".git").mkdir(parents=True)
    platform = tmp_path / "checkout" / subdir
    shutil.copytree(SAMPLE_REPO, platform)
    return platform


def break_cluster(platform: Path) -> None:
    fed = platform / FED_A
    fed.write_text(fed.read_text().replace("cluster: in-cluster", "cluster: mars"))


def test_github_annotations_point_at_paths_from_the_git_root(tmp_path: Path) -> None:
    platform = checkout_with_platform_in(tmp_path, "deploy/platform")
    break_cluster(platform)
    result = run_cli("validate", "deploy/platform", "--format", "github", cwd=tmp_path / "checkout")
    assert result.code == 1
    lines = result.stdout.decode().splitlines()
    # One mistake, one annotation: the root's, which cannot tell which federation the file is.
    assert [line for line in lines if line.startswith("::error ")] == [
        f"::error file=deploy/platform/{FED_A},line=5,col=10::cluster: {UNKNOWN_CLUSTER} (the root cannot tell "
        "which federation this is, so it renders no federation until this is fixed; nothing is removed meanwhile)"]
    for line in lines:
        annotated = line.split("file=")[1].split(",")[0].split("::")[0]
        assert (tmp_path / "checkout" / annotated).is_file(), f"the annotation must name a file that exists: {line}"


def test_github_annotation_of_a_whole_file_has_no_line(tmp_path: Path) -> None:
    platform = checkout_with_platform_in(tmp_path, "platform")
    (platform / "stray").mkdir()
    shutil.copy(platform / FED_A, platform / "stray" / "mip.yaml")
    result = run_cli("validate", "platform", "--format", "github", cwd=tmp_path / "checkout")
    assert result.stdout.decode().startswith("::error file=platform/stray/mip.yaml::not part of the platform")


def test_json_report(tmp_path: Path) -> None:
    platform = checkout_with_platform_in(tmp_path, "platform")
    break_cluster(platform)
    result = run_cli("validate", str(platform), "--format", "json", cwd=tmp_path)
    assert result.code == 1
    report = json.loads(result.stdout)
    assert (report["valid"], report["files"], report["platformRoot"]) == (False, 3, "platform")
    [problem] = report["problems"]  # one mistake, one problem
    assert {**problem, "message": problem["message"][:len(UNKNOWN_CLUSTER)]} == {
        "file": FED_A, "gitFile": f"platform/{FED_A}", "line": 5, "col": 10, "field": "cluster",
        "message": UNKNOWN_CLUSTER}
    clean = run_cli("validate", str(SAMPLE_REPO), "--format", "json", cwd=tmp_path)
    assert clean.code == 0
    assert json.loads(clean.stdout)["valid"] is True
    assert json.loads(clean.stdout)["problems"] == []


def test_render_of_a_federation_checks_it_against_the_others(tmp_path: Path) -> None:
    """`render` alone used to accept a federation declaring another's name; validate refused it."""
    platform = checkout_with_platform_in(tmp_path, "p")
    fed_z = platform / "federations/federation-z/mip.yaml"
    fed_z.write_text(fed_z.read_text().replace("name: federation-z", "name: federation-a"))
    render_a = run_cli("render", "federations/federation-a", cwd=platform)
    assert render_a.code == 1
    assert render_a.stdout == b""
    assert render_a.stderr == (
        "federations/federation-a/mip.yaml:4:7: name: duplicate federation name 'federation-a'; already declared "
        "in federations/federation-z/mip.yaml:4:7\n")
    validate = run_cli("validate", ".", cwd=platform)
    assert "duplicate federation name 'federation-a'" in validate.stderr


def test_render_of_the_root_flags_stray_files_as_validate_does(tmp_path: Path) -> None:
    platform = checkout_with_platform_in(tmp_path, "p")
    (platform / "elsewhere").mkdir()
    shutil.copy(platform / FED_A, platform / "elsewhere" / "mip.yaml")
    result = run_cli("render", ".", cwd=platform)
    assert result.code == 1
    assert result.stderr.startswith("elsewhere/mip.yaml: not part of the platform")


def test_render_says_which_other_files_it_read() -> None:
    fed = run_cli("render", "federations/federation-a", cwd=SAMPLE_REPO)
    assert fed.code == 0, fed.stderr
    assert fed.stderr == (
        "mip-cmp: rendered federations/federation-a/mip.yaml; also read mip.yaml, "
        "federations/federation-a/overlays/exareme2/kustomization.yaml, federations/federation-z/mip.yaml\n")
    root = run_cli("render", ".", cwd=SAMPLE_REPO)
    assert root.stderr == (
        "mip-cmp: rendered mip.yaml; also read federations/federation-a/mip.yaml, "
        "federations/federation-z/mip.yaml\n")


def test_render_prints_what_generate_prints() -> None:
    from helpers import argo_env

    rendered = run_cli("render", ".", "--revision", "main", "--param", "federation=federation-a",
                       "--param", "directory=federations/federation-a", cwd=SAMPLE_REPO)
    env = argo_env(".", params=[{"name": "federation", "string": "federation-a"},
                                {"name": "directory", "string": "federations/federation-a"}])
    generated = run_cli("generate", cwd=SAMPLE_REPO, env=env)
    assert rendered.code == generated.code == 0
    assert rendered.stdout == generated.stdout
    assert [o["kind"] for o in yaml.safe_load_all(rendered.stdout)] == ["Application"] * 4  # with the overlay


def test_render_warns_about_a_directory_named_otherwise(tmp_path: Path) -> None:
    platform = checkout_with_platform_in(tmp_path, "p")
    shutil.move(platform / "federations/federation-a", platform / "federations/hospital-a")
    result = run_cli("render", "federations/hospital-a", cwd=platform)
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "mip-cmp: warning: federations/hospital-a/mip.yaml:4:7: name: 'federation-a' differs from its directory "
        "name 'hospital-a'; rename the directory (git mv federations/hospital-a federations/federation-a) or set "
        "`name: hospital-a`")
