"""The benchmark's synthetic platforms are valid: a broken copy would make the root take the slow path of
broken files (a stand-in, its file parsed again with positions), and the figures would measure that."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import REPO_ROOT
from mip_cmp.tools.validate import validate_repo

sys.path.insert(0, str(REPO_ROOT / "bench"))
from bench import make_platform  # bench/ is a directory of scripts, not a package


def test_a_benchmark_platform_validates_clean(tmp_path: Path) -> None:
    repo = make_platform(tmp_path, 3)
    problems, files = validate_repo(repo)
    assert [str(p) for p in problems] == []
    assert files == 4
    # Both of the sample's federations are copied, the overlay directory of federation-a with it.
    assert sorted(p.name for p in (repo / "federations").iterdir()) == [
        "federation-0001", "federation-0002", "federation-0003"]
    assert any((repo / "federations").glob("*/overlays"))
