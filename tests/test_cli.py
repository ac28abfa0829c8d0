"""The command line as a person and CI meet it: exit codes, schema, bootstrap. What `validate` prints is
pinned by golden cases (tests/golden/validate-*); the CLI's process boundary (exit codes, streams) is tested
here with real processes, everything else in-process."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers import SAMPLE_REPO, mip_cmp, run_cli


@pytest.mark.parametrize(("args", "code"), [
    (["--version"], 0),
    (["validate", "federations"], 1),
    (["frobnicate"], 2),
    (["render", "--param", "nothing"], 2),
    (["render", "no/such/dir"], 2),
    ([], 2),
])
def test_exit_codes_and_streams(args: list[str], code: int) -> None:
    """0 success, 1 a problem in the input, 2 bad usage (3, a bug: tests/security/test_failure.py); an error
    is said on stderr, and stdout stays empty."""
    result = mip_cmp(*args, cwd=SAMPLE_REPO)
    assert result.returncode == code, result.stderr
    if code:
        assert result.stdout == b""
        assert result.stderr.decode().strip()
    else:
        assert result.stdout.decode().startswith("mip-cmp ")


def test_usage_errors_say_what_to_do() -> None:
    for args in (["frobnicate"], ["render", "--param", "nothing"], ["render", "no/such/dir"], []):
        result = run_cli(*args, cwd=SAMPLE_REPO)
        assert result.code == 2, args
        assert result.stdout == b""
        assert result.stderr.startswith("mip-cmp"), result.stderr


def test_schema_accepts_the_sample_files_and_rejects_a_typo() -> None:
    schema = json.loads(run_cli("schema", cwd=SAMPLE_REPO).stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for path in [SAMPLE_REPO / "mip.yaml", *sorted(SAMPLE_REPO.glob("federations/*/mip.yaml"))]:
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    typo = yaml.safe_load((SAMPLE_REPO / "federations/federation-a/mip.yaml").read_text()) | {"clustr": "x"}
    assert list(validator.iter_errors(typo))


def test_bootstrap_prints_the_infrastructure_project_and_the_root_application() -> None:
    result = run_cli("bootstrap", str(SAMPLE_REPO), "--revision", "main", cwd=SAMPLE_REPO)
    assert result.code == 0, result.stderr
    project, root = yaml.safe_load_all(result.stdout)
    assert (project["kind"], project["metadata"]["name"]) == ("AppProject", "mip-infrastructure")
    assert root["kind"] == "Application"
    assert root["spec"]["project"] == "mip-infrastructure"
    assert root["spec"]["source"] == {
        "repoURL": "https://github.com/Medical-Informatics-Platform/mip-infra.git",
        "targetRevision": "main", "path": ".", "plugin": {"name": "mip-cmp"},
    }
    # The root re-emits the same project, so the bootstrap copy and the GitOps copy never fight.
    rendered = list(yaml.safe_load_all(run_cli("render", str(SAMPLE_REPO), cwd=SAMPLE_REPO).stdout))
    assert project in rendered


def test_bootstrap_refuses_another_repo_url() -> None:
    result = run_cli("bootstrap", str(SAMPLE_REPO), "--repo-url", "https://example.org/x.git",
                     cwd=SAMPLE_REPO)
    assert result.code == 1
    assert result.stdout == b""
    assert result.stderr.startswith("mip-cmp: --repo-url 'https://example.org/x.git' differs from the platform")


def test_bootstrap_apply_without_a_cluster_is_a_clean_user_error(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing-kubeconfig"), "HOME": str(tmp_path)}
    result = run_cli("bootstrap", str(SAMPLE_REPO), "--apply", cwd=SAMPLE_REPO, env=env)
    assert result.code == 1
    assert result.stdout == b""
    assert "cannot reach a cluster" in result.stderr
    assert "Traceback" not in result.stderr


def test_render_takes_parameters_like_argo_cd() -> None:
    """`render . --param …` renders exactly what the platform's ApplicationSet makes Argo CD render."""
    fed = "federations/federation-a"
    by_param = run_cli("render", ".", "--param", "federation=federation-a", "--param", f"directory={fed}",
                       "--revision", "main", cwd=SAMPLE_REPO)
    by_directory = run_cli("render", fed, "--revision", "main", cwd=SAMPLE_REPO)
    assert by_param.code == by_directory.code == 0, by_param.stderr
    assert by_param.stdout == by_directory.stdout
    assert b"kind: Application\n" in by_param.stdout


@pytest.mark.parametrize(("args", "line"), [
    (["render", "--param", "nothing"], "mip-cmp render: --param 'nothing': expected NAME=VALUE"),
    (["render", "no/such/dir"], "mip-cmp render: no/such/dir: not a directory"),
    (["validate", "no/such/dir"], "mip-cmp validate: no/such/dir: not a directory"),
])
def test_usage_errors_name_the_argument(args: list[str], line: str) -> None:
    assert run_cli(*args, cwd=SAMPLE_REPO).lines == [line]


def test_plugin_config_prints_the_committed_plugin_yaml() -> None:
    from helpers import REPO_ROOT

    assert run_cli("plugin-config", cwd=SAMPLE_REPO).stdout == (REPO_ROOT / "plugin.yaml").read_bytes()


def test_a_bug_is_exit_3_with_one_line_and_a_traceback_only_when_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    from mip_cmp import pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("spec")

    monkeypatch.setattr(pipeline, "render_objects", broken)
    quiet = run_cli("render", str(SAMPLE_REPO), cwd=SAMPLE_REPO)
    assert (quiet.code, quiet.stdout) == (3, b"")
    assert len(quiet.lines) == 1
    assert quiet.lines[0].endswith("please report it): KeyError: 'spec'")
    debug = run_cli("render", str(SAMPLE_REPO), cwd=SAMPLE_REPO, env={"MIP_CMP_DEBUG": "1"})
    assert debug.lines[0] == quiet.lines[0]
    assert "Traceback (most recent call last):" in debug.stderr


@pytest.mark.parametrize("args", [
    ["render", ".", "--param", "component=nothing"],
    ["render", "federations/federation-a", "--param", "federation=federation-z"],
    ["bootstrap", ".", "--repo-url", "https://example.org/x.git"],
    ["graph", "no/such/dir"],
    ["valdate"],
])
def test_every_line_of_an_error_starts_with_its_file_or_with_mip_cmp(args: list[str]) -> None:
    """One rule for how a line starts: a located problem with its file, any other line with `mip-cmp`."""
    import re

    result = run_cli(*args, cwd=SAMPLE_REPO)
    assert result.code in (1, 2) and result.lines, result.stderr
    for line in result.lines:
        assert line.startswith("mip-cmp") or re.match(r"[\w.-]+(/[\w.-]+)*/mip\.yaml(:\d+:\d+)?: ", line), line
