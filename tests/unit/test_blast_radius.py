"""The root's view of federation files: it reads only their identity (name, cluster, type, state, app names),
so a broken file keeps its project and wrapper, and only a file whose identity cannot be read fails the root,
named at the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from mip_cmp.core.errors import MipError
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.stage3_expand.federation import federation_project

PLATFORM = """\
apiVersion: mip-cmp.io/v1alpha1
kind: Platform
repoURL: https://example.org/p.git
clusters: {in-cluster: https://kubernetes.default.svc, far: https://far.example.org}
catalog:
  engine: {repoURL: https://example.org/e.git, path: ., revision: main, version: '1'}
  portal: {repoURL: https://example.org/portal.git, path: ., revision: main, version: '1'}
federations: {path: [feds, more], namePattern: '^[a-z][-a-z0-9]*$'}
"""
HEAD = "apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\n"


def repo(tmp_path: Path, files: dict[str, str]) -> Repo:
    """`files`: relative path -> text."""
    (tmp_path / "mip.yaml").write_text(PLATFORM)
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Repo(tmp_path)


def load(r: Repo) -> list[str]:
    return [f"{f.model.name}:{f.model.cluster}:{f.model.type}:{','.join(f.model.apps)}"
            for f in load_federations(r, load_platform(r))]


def test_a_stand_in_keeps_what_can_be_read(tmp_path: Path) -> None:
    r = repo(tmp_path, {"feds/a/mip.yaml": HEAD + "name: a\ncluster: far\ntype: hybrid\nbogus: 1\n"
                                              "apps: {portal: {}, nonsense: {}}\n"})
    assert load(r) == ["a:far:hybrid:portal"]


def test_a_stand_in_whose_apps_cannot_be_read_keeps_every_catalog_repository(tmp_path: Path) -> None:
    """Its project then still permits whatever its Applications may use: nothing of it fails meanwhile."""
    r = repo(tmp_path, {"feds/a/mip.yaml": HEAD + "name: a\ncluster: in-cluster\napps: [engine]\n"})
    platform = load_platform(r)
    (fed,) = load_federations(r, platform)
    project = federation_project(platform.model, fed.model)
    assert project["spec"]["sourceRepos"] == ["https://example.org/e.git", "https://example.org/p.git",
                                              "https://example.org/portal.git"]


@pytest.mark.parametrize(("text", "first"), [
    (HEAD + "name: a\ncluster: mars\napps: {engine: {}}\n", "more/a/mip.yaml:4:10: cluster: unknown cluster 'mars'"),
    (HEAD + "cluster: in-cluster\napps: {engine: {}}\n", "more/a/mip.yaml:1:1: name: required field is missing"),
    (HEAD + "name: A\ncluster: in-cluster\napps: {engine: {}}\n", "more/a/mip.yaml:3:7: name: must be a DNS label"),
    ("name: [a\n", "more/a/mip.yaml:2:1: invalid YAML"),
])
def test_only_a_file_whose_name_or_cluster_cannot_be_read_fails_the_root(tmp_path: Path, text: str,
                                                                         first: str) -> None:
    r = repo(tmp_path, {"feds/b/mip.yaml": HEAD + "name: b\ncluster: in-cluster\napps: {engine: {}}\n",
             "more/a/mip.yaml": text})
    with pytest.raises(MipError) as failure:
        load_federations(r, load_platform(r))
    lines = failure.value.lines()
    assert len(lines) == 1, "one mistake is one problem"
    assert lines[0].startswith(first), lines
    assert lines[0].endswith("(the root cannot tell which federation this is, so it renders no federation until "
                             "this is fixed; nothing is removed meanwhile)")


def test_a_directory_without_mip_yaml_under_any_root_fails_the_root(tmp_path: Path) -> None:
    r = repo(tmp_path, {"feds/b/mip.yaml": HEAD + "name: b\ncluster: in-cluster\napps: {engine: {}}\n",
             "more/c/MIP.yml": "x: 1\n"})
    with pytest.raises(MipError) as failure:
        load_federations(r, load_platform(r))
    assert failure.value.lines() == ["more/c/mip.yaml: found 'MIP.yml' but not mip.yaml: rename it to mip.yaml "
                                     "(only that name is read; the federation is not deployed until then)"]


def test_two_directories_with_one_name_fail_the_root(tmp_path: Path) -> None:
    fed = HEAD + "name: a\ncluster: in-cluster\napps: {engine: {}}\n"
    r = repo(tmp_path, {"feds/a/mip.yaml": fed, "more/a2/mip.yaml": fed + "bogus: 1\n"})
    with pytest.raises(MipError, match="duplicate federation name 'a'"):
        load_federations(r, load_platform(r))
