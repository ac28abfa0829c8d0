"""repo on its own: reading stays inside the root, and the root is found from an app directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mip_cmp.core import budget
from mip_cmp.core.errors import MipError
from mip_cmp.stage1_read.repo import Repo, locate

PLATFORM = "apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def message(caught: pytest.ExceptionInfo[MipError]) -> str:
    return str(caught.value)


def test_read_and_list(tmp_path: Path) -> None:
    root = tree(tmp_path, {"mip.yaml": PLATFORM, "feds/a/mip.yaml": "x: 1\n", "feds/b/other.yaml": "",
                           "feds/.hidden/mip.yaml": "", "feds/a/.argocd-source.yaml": "", "feds/file": ""})
    repo = Repo(root)
    assert repo.read(".").data == {"apiVersion": "mip-cmp.io/v1alpha1", "kind": "Platform"}
    assert repo.read("feds/a").file == "feds/a/mip.yaml"
    assert repo.federation_dirs("feds") == ["feds/a"]
    assert repo.federation_dirs("missing") == []
    assert repo.source_overrides("feds/a") == ["feds/a/.argocd-source.yaml"]
    assert repo.admin_overrides(["feds"]) == []  # a federation's own is not the admins' ...
    assert Repo(root).admin_overrides(["other"]) == ["feds/a/.argocd-source.yaml"]  # ... anywhere else it is
    assert repo.bytes_read == len(PLATFORM) + len("x: 1\n")


@pytest.mark.parametrize(("rel", "text"), [
    ("/etc", "/etc/mip.yaml: path must stay inside the repository (no absolute paths, no '..')"),
    ("../x", "../x/mip.yaml: path must stay inside the repository (no absolute paths, no '..')"),
    ("nowhere", "nowhere/mip.yaml: not found (every mip-cmp directory needs a mip.yaml)"),
])
def test_read_refuses(tmp_path: Path, rel: str, text: str) -> None:
    with pytest.raises(MipError) as caught:
        Repo(tmp_path).read(rel)
    assert message(caught) == text


def test_symlinks_stay_inside(tmp_path: Path) -> None:
    root = tree(tmp_path / "repo", {"mip.yaml": PLATFORM, "feds/a/mip.yaml": "a: 1\n"})
    tree(tmp_path, {"outside/mip.yaml": "b: 2\n"})
    (root / "feds/in").symlink_to("a")
    (root / "feds/out").symlink_to(os.path.relpath(tmp_path / "outside", root / "feds"))
    repo = Repo(root)
    assert repo.read("feds/in").data == {"a": 1}
    with pytest.raises(MipError) as caught:
        repo.federation_dirs("feds")
    assert message(caught) == "feds/out: is a symlink that leads outside the repository; refusing to read it"


def test_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree(tmp_path, {"mip.yaml": PLATFORM, "feds/a/mip.yaml": "", "feds/b/mip.yaml": ""})
    monkeypatch.setattr(budget, "MAX_FEDERATIONS", 1)
    with pytest.raises(MipError, match=r"^feds: more than 1 federation directories \(budget.MAX_FEDERATIONS\)$"):
        Repo(root).federation_dirs("feds")
    monkeypatch.setattr(budget, "MAX_TOTAL_BYTES", 10)
    with pytest.raises(MipError, match=r"^mip.yaml: the mip.yaml files read together exceed 10 bytes "
                                       r"\(budget.MAX_TOTAL_BYTES\)$"):
        Repo(root).read(".")
    monkeypatch.setattr(budget, "MAX_REPO_ENTRIES", 3)
    with pytest.raises(MipError, match=r"^\.: more than 3 files and directories \(budget.MAX_REPO_ENTRIES\)"):
        Repo(root).admin_overrides(["elsewhere"])
    monkeypatch.setattr(budget, "MAX_FEDERATION_ENTRIES", 0)
    with pytest.raises(MipError, match=r"^feds/a: more than 0 files and directories \(budget.MAX_FEDERATION_ENTRIES\)"):
        Repo(root).source_overrides("feds/a")


def test_locate_with_argo_cds_source_path(tmp_path: Path) -> None:
    root = tree(tmp_path, {"mip.yaml": PLATFORM, "feds/a/mip.yaml": ""})
    repo, rel = locate(root / "feds/a", "feds/a/")
    assert (repo.root, rel) == (root.resolve(), "feds/a")
    assert locate(root, ".")[1] == "."
    assert locate(root, "")[1] == "."
    with pytest.raises(MipError, match="must be a path inside the repository"):
        locate(root / "feds/a", "../feds/a")
    with pytest.raises(MipError, match="does not match the working directory"):
        locate(root / "feds/a", "feds/b")


def test_locate_for_a_person_walks_up_to_the_platform(tmp_path: Path) -> None:
    root = tree(tmp_path, {"mip.yaml": PLATFORM, "feds/a/mip.yaml": "kind: Federation\n"})
    assert locate(root / "feds/a", None)[1] == "feds/a"
    assert locate(root, None)[1] == "."
    tree(tmp_path, {"elsewhere/.git/HEAD": "", "elsewhere/sub/x": ""})
    with pytest.raises(MipError) as caught:
        locate(tmp_path / "elsewhere/sub", None)
    assert message(caught) == "mip.yaml: no platform mip.yaml (kind: Platform) found at or above 'sub'"


def test_a_deep_long_named_tree_is_bounded_in_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk keeps a path per directory still to visit: counting entries alone would let a chain of long
    directory names hold hundreds of MiB (issue 20). Its paths' characters are bounded too."""
    root = tree(tmp_path, {"mip.yaml": PLATFORM, "feds/a/mip.yaml": ""})
    deep = root / "feds/a"
    for _ in range(12):
        deep = deep / ("d" * 200)
        deep.mkdir()
    chain = sum(len("feds/a") + 201 * n for n in range(1, 13)) + len("feds/a/mip.yaml")
    monkeypatch.setattr(budget, "MAX_WALK_CHARS", chain)
    assert Repo(root).source_overrides("feds/a") == []
    monkeypatch.setattr(budget, "MAX_WALK_CHARS", chain - 1)
    with pytest.raises(MipError, match=r"^feds/a: more than 10,000 files and directories .* or more than "):
        Repo(root).source_overrides("feds/a")
