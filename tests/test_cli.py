"""The command line as a person and CI meet it: usage errors, validate, schema, bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from helpers import SAMPLE_REPO, copy_sample, mip_cmp


def test_usage_errors_exit_2_with_one_line() -> None:
    for args in (["frobnicate"], ["render", "--param", "nothing"], ["render", "no/such/dir"], []):
        result = mip_cmp(*args, cwd=SAMPLE_REPO)
        assert result.returncode == 2, args
        assert result.stdout == b""
        assert result.stderr.decode().startswith("mip-cmp"), result.stderr


def test_validate_lists_every_problem_of_every_file(tmp_path: Path) -> None:
    repo = copy_sample(tmp_path)
    fed_a = repo / "federations" / "federation-a" / "mip.yaml"
    fed_a.write_text(fed_a.read_text().replace("cluster: in-cluster", "cluster: mars"))
    fed_z = repo / "federations" / "federation-z" / "mip.yaml"
    fed_z.write_text(fed_z.read_text().replace("type: hybrid", "type: remote"))
    result = mip_cmp("validate", str(repo), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        "federations/federation-a/mip.yaml:5:10: cluster: unknown cluster 'mars'; the platform's clusters are: "
        "in-cluster, mip-public",
        "federations/federation-z/mip.yaml:6:7: type: must be 'local' or 'hybrid'",
        "mip-cmp: 2 problem(s) in 3 file(s)",
    ]


def test_validate_github_annotations(tmp_path: Path) -> None:
    repo = copy_sample(tmp_path)
    fed = repo / "federations" / "federation-a" / "mip.yaml"
    fed.write_text(fed.read_text().replace("cluster: in-cluster", "cluster: mars"))
    result = mip_cmp("validate", str(repo), "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode() == (
        "::error file=federations/federation-a/mip.yaml,line=5,col=10::cluster: unknown cluster 'mars'; "
        "the platform's clusters are: in-cluster, mip-public\n"
    )


# The sample declares no argocd.version: the oldest supported, v3.1.12.
NEWER_ARGOCD_NOTE = ("mip-cmp: note: Argo CD v3.3.0 or newer would add: each project's Namespace whitelist names "
                     "its own namespaces (clusterResourceWhitelist[].name), so no chart can create or relabel "
                     "another namespace")


def test_validate_sample_repo_is_clean() -> None:
    result = mip_cmp("validate", str(SAMPLE_REPO), cwd=SAMPLE_REPO)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == ["mip-cmp: 3 file(s) valid", NEWER_ARGOCD_NOTE]


def test_schema_accepts_the_sample_files_and_rejects_a_typo() -> None:
    schema = json.loads(mip_cmp("schema", cwd=SAMPLE_REPO).stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for path in [SAMPLE_REPO / "mip.yaml", *sorted(SAMPLE_REPO.glob("federations/*/mip.yaml"))]:
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    typo = yaml.safe_load((SAMPLE_REPO / "federations/federation-a/mip.yaml").read_text()) | {"clustr": "x"}
    assert list(validator.iter_errors(typo))


def test_bootstrap_prints_the_infrastructure_project_and_the_root_application() -> None:
    result = mip_cmp("bootstrap", "--repo", str(SAMPLE_REPO), "--revision", "main", cwd=SAMPLE_REPO)
    assert result.returncode == 0, result.stderr
    project, root = yaml.safe_load_all(result.stdout)
    assert (project["kind"], project["metadata"]["name"]) == ("AppProject", "mip-infrastructure")
    assert root["kind"] == "Application"
    assert root["spec"]["project"] == "mip-infrastructure"
    assert root["spec"]["source"] == {
        "repoURL": "https://github.com/Medical-Informatics-Platform/mip-infra.git",
        "targetRevision": "main", "path": ".", "plugin": {"name": "mip-cmp"},
    }
    # The root re-emits the same project, so the bootstrap copy and the GitOps copy never fight.
    rendered = list(yaml.safe_load_all(mip_cmp("render", str(SAMPLE_REPO), cwd=SAMPLE_REPO).stdout))
    assert project in rendered


def test_bootstrap_refuses_another_repo_url() -> None:
    result = mip_cmp("bootstrap", "--repo", str(SAMPLE_REPO), "--repo-url", "https://example.org/x.git",
                     cwd=SAMPLE_REPO)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode().startswith("--repo-url 'https://example.org/x.git' differs from the platform")


def test_bootstrap_apply_without_a_cluster_is_a_clean_user_error(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing-kubeconfig"), "HOME": str(tmp_path)}
    result = mip_cmp("bootstrap", "--repo", str(SAMPLE_REPO), "--apply", cwd=SAMPLE_REPO, env=env)
    assert result.returncode == 1
    assert result.stdout == b""
    assert "cannot reach a cluster" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_version() -> None:
    result = mip_cmp("--version", cwd=SAMPLE_REPO)
    assert result.returncode == 0
    assert result.stdout.decode().startswith("mip-cmp ")


def test_validate_flags_a_mip_yaml_outside_the_federations_directory(tmp_path: Path) -> None:
    repo = copy_sample(tmp_path)
    (repo / "other" / "fed").mkdir(parents=True)
    (repo / "other" / "fed" / "mip.yaml").write_text((repo / "federations/federation-a/mip.yaml").read_text())
    result = mip_cmp("validate", str(repo), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines()[0] == (
        "other/fed/mip.yaml: not part of the platform: federation directories live directly under "
        "federations/ (federations.path); move it there or delete it"
    )


def test_validate_accepts_a_federation_whose_apps_need_no_secret(tmp_path: Path) -> None:
    """Such a federation has no secrets Application, so validate must not render that component."""
    repo = copy_sample(tmp_path)
    (repo / "federations" / "federation-b").mkdir()
    (repo / "federations" / "federation-b" / "mip.yaml").write_text(
        "apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: federation-b\ncluster: in-cluster\n"
        "apps:\n  exareme2: {}\n")
    result = mip_cmp("validate", str(repo), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().splitlines() == ["mip-cmp: 4 file(s) valid", NEWER_ARGOCD_NOTE]
