"""CI for platform repositories: the pre-commit hook (run by pre-commit itself) and the GitHub Action's steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import REPO_ROOT, SAMPLE_REPO

MIP_CMP = Path(sys.prefix) / "bin" / "mip-cmp"
FED_A = "federations/federation-a/mip.yaml"
UNKNOWN_CLUSTER = "cluster: unknown cluster 'mars'; the platform's clusters are: in-cluster, mip-public"
# What that mistake costs the root, said on the same line (the root cannot tell which federation the file is).
ROOT_COST = ("(the root cannot tell which federation this is, so it renders no federation until this is fixed; "
             "nothing is removed meanwhile)")
# What a clone of this repository holds that the hook's install needs (pre-commit pip-installs the clone).
HOOK_SOURCE = ["pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "plugin"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def copy_of(path: Path, source: Path, names: list[str] | None = None) -> Path:
    """`names` of `source` (all of it by default) copied into a new directory `path`, without caches."""
    path.mkdir(parents=True)
    for name in names or [p.name for p in source.iterdir()]:
        item = source / name
        if item.is_dir():
            shutil.copytree(item, path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(item, path / name)
    return path


def git_repo(path: Path, source: Path, names: list[str] | None = None) -> Path:
    copy_of(path, source, names)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "initial")
    return path


def break_cluster(platform: Path) -> None:
    fed = platform / FED_A
    fed.write_text(fed.read_text().replace("cluster: in-cluster", "cluster: mars"))


# --- pre-commit -----------------------------------------------------------------------------------------


def test_hook_definition() -> None:
    (hook,) = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mip-cmp-validate"
    assert hook["entry"] == "mip-cmp validate"
    assert hook["pass_filenames"] is False, "the checks are cross-file: validate the whole platform"


@pytest.mark.network
def test_pre_commit_runs_the_hook_as_documented_passes_on_the_sample_and_fails_on_a_broken_copy(
        tmp_path: Path) -> None:
    """The README's setup: a platform repository's .pre-commit-config.yaml naming this repository at a revision
    and the hook's id. pre-commit clones it and installs it into an environment of its own once (a `try-repo`
    per case installed it once per case); both runs use it. The test extra has pre-commit-uv, so that install
    comes from uv's cache rather than a download of every package each time."""
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.prefix) / "bin"))
    if pre_commit is None:
        pytest.skip("pre-commit is not installed: bash scripts/setup.sh test")
    hooks = git_repo(tmp_path / "mip-cmp", REPO_ROOT, HOOK_SOURCE)
    platform = git_repo(tmp_path / "platform", SAMPLE_REPO)
    config = {"repos": [{"repo": str(hooks), "rev": git(hooks, "rev-parse", "HEAD").strip(),
                         "hooks": [{"id": "mip-cmp-validate"}]}]}
    (platform / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(platform, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([pre_commit, "run", "mip-cmp-validate", "--all-files", "--color=never"],
                              cwd=platform, env=env, capture_output=True, text=True, timeout=600, check=False)

    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Installing environment" in good.stdout + good.stderr
    assert any(line.startswith("mip-cmp validate") and line.endswith("Passed") for line in good.stdout.splitlines())

    break_cluster(platform)
    git(platform, "add", "-A")
    bad = run()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert any(line.startswith("mip-cmp validate") and line.endswith("Failed") for line in bad.stdout.splitlines())
    assert f"{FED_A}:5:10: {UNKNOWN_CLUSTER} {ROOT_COST}" in bad.stdout.splitlines()
    assert any(re.fullmatch(r"mip-cmp: \d+ problem\(s\) in 3 file\(s\)", line) for line in bad.stdout.splitlines())
    assert "Installing environment" not in bad.stdout + bad.stderr, "the second run reuses the hook's environment"


# --- the GitHub Action ----------------------------------------------------------------------------------


def test_action_is_a_composite_that_runs_the_tested_script() -> None:
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    step = next(s for s in action["runs"]["steps"] if "run" in s)
    assert step["run"] == 'bash "$GITHUB_ACTION_PATH/scripts/github-action.sh"'
    passed = {k.removeprefix("INPUT_").lower() for k in step["env"] if k.startswith("INPUT_")}
    assert passed == set(action["inputs"]) - {"python-version", "github-token"}
    script = (REPO_ROOT / "scripts" / "github-action.sh").read_text()
    assert all(f"INPUT_{name.upper()}" in script for name in passed)


def run_action(checkout: Path, tmp_path: Path, action: Path | None = None,
               **inputs: str) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """The action's script; keyword arguments in lower case are its inputs, in upper case what GitHub sets.
    With `action` (a copy of this repository, as GitHub checks out the action) the script installs mip-cmp
    from it, as on GitHub; else it uses the mip-cmp of this test run."""
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_ACTION_PATH": str(action or REPO_ROOT), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(output), "MIP_CMP_RENDERER": "off",
           **({} if action else {"MIP_CMP": str(MIP_CMP)}),
           **{k if k.isupper() else f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "github-action.sh")], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    return done, summary.read_text() if summary.exists() else "", output.read_text() if output.exists() else ""


def test_action_annotates_problems_with_paths_from_the_git_root(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copytree(SAMPLE_REPO, checkout / "deploy")
    git(checkout, "init", "-q")
    break_cluster(checkout / "deploy")
    done, summary, output = run_action(checkout, tmp_path, path="deploy")
    assert done.returncode == 1
    assert done.stdout.startswith(f"::error file=deploy/{FED_A},line=5,col=10::{UNKNOWN_CLUSTER} {ROOT_COST}\n")
    assert output == "valid=false\n"
    assert "found problems" in summary


@pytest.mark.slow
def test_action_posts_the_diff_as_markdown(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copytree(SAMPLE_REPO, checkout / "deploy")
    git(checkout, "init", "-q")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "base")
    git(checkout, "checkout", "-qb", "change")
    fed = checkout / "deploy" / FED_A
    fed.write_text(fed.read_text().replace("log_level: DEBUG", "log_level: WARNING"))
    git(checkout, "commit", "-qam", "quieter federation-a")
    done, summary, output = run_action(checkout, tmp_path, path="deploy", base="main")
    assert done.returncode == 0, done.stderr
    assert output == "valid=true\n"
    assert summary.startswith("mip-cmp: every mip.yaml under `deploy` is valid.\n")
    diff_part = summary.split("\n", 1)[1]
    assert "federation-a" in diff_part and "WARNING" in diff_part, summary


def pull_request_checkout(tmp_path: Path) -> Path:
    """A pull request's checkout as GitHub makes it: a clone whose `origin` has the base branch `main`, on a
    branch that quiets federation-a."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    shutil.copytree(SAMPLE_REPO, upstream / "deploy")
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-qm", "base")
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(upstream), str(checkout)], check=True)
    git(checkout, "checkout", "-qb", "change")
    fed = checkout / "deploy" / FED_A
    fed.write_text(fed.read_text().replace("log_level: DEBUG", "log_level: WARNING"))
    git(checkout, "commit", "-qam", "quieter federation-a")
    return checkout


def assert_the_diff_is_printed(done: subprocess.CompletedProcess[str], summary: str) -> None:
    assert done.returncode == 0, done.stderr
    assert "::group::mip-cmp diff against origin/main" in done.stdout
    printed = done.stdout.split("::group::mip-cmp diff against origin/main\n", 1)[1].split("::endgroup::")[0]
    assert "federation-a" in printed and "WARNING" in printed
    assert printed in summary
    assert "::warning::" not in done.stdout


@pytest.mark.slow
def test_on_a_pull_request_the_action_prints_the_diff_against_its_base(tmp_path: Path) -> None:
    """A pull-request event as GitHub gives it: GITHUB_BASE_REF naming the base branch, no `base` input. The
    markdown diff is printed in the log and goes to the job summary."""
    done, summary, _ = run_action(pull_request_checkout(tmp_path), tmp_path, path="deploy",
                                  GITHUB_EVENT_NAME="pull_request", GITHUB_BASE_REF="main")
    assert_the_diff_is_printed(done, summary)


@pytest.mark.network
def test_on_a_pull_request_the_action_installs_mip_cmp_and_prints_the_diff(tmp_path: Path) -> None:
    """As on GitHub, installing mip-cmp itself: the script pip-installs the action's checkout into a fresh venv
    (its dependencies from the package index), and that install is all `diff` needs (it once lacked deepdiff,
    and the pull request's diff never appeared)."""
    action = copy_of(tmp_path / "action", REPO_ROOT, HOOK_SOURCE)  # what pip needs of the action's checkout
    done, summary, _ = run_action(pull_request_checkout(tmp_path), tmp_path, action, path="deploy",
                                  GITHUB_EVENT_NAME="pull_request", GITHUB_BASE_REF="main")
    assert "::group::install mip-cmp from " in done.stdout
    assert_the_diff_is_printed(done, summary)
