"""The benchmark's synthetic platforms are valid: a broken copy would make the root take the slow path of
broken files (a stand-in, its file parsed again with positions), and the figures would measure that. The
sections other scripts write into docs/performance.md survive each script's rewrite."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import REPO_ROOT
from mip_cmp.tools.validate import validate_repo

sys.path.insert(0, str(REPO_ROOT / "bench"))
from bench import REFRESH_SECTION, REPOSERVER_SECTION, make_platform, with_section  # bench/: scripts, no package


def test_a_benchmark_platform_validates_clean(tmp_path: Path) -> None:
    repo = make_platform(tmp_path, 3)
    problems, files = validate_repo(repo)
    assert [str(p) for p in problems] == []
    assert files == 4
    # Both of the sample's federations are copied, the overlay directory of federation-a with it.
    assert sorted(p.name for p in (repo / "federations").iterdir()) == [
        "federation-0001", "federation-0002", "federation-0003"]
    assert any((repo / "federations").glob("*/overlays"))


def section(markers: tuple[str, str], body: str) -> str:
    return f"{markers[0]}\n{body}\n{markers[1]}"


def test_a_section_is_replaced_in_place_and_the_others_kept() -> None:
    doc = f"# doc\n\n{section(REPOSERVER_SECTION, 'old')}\n\n{section(REFRESH_SECTION, 'kept')}\n"
    new = with_section(doc, REPOSERVER_SECTION, section(REPOSERVER_SECTION, "new"))
    assert new == f"# doc\n\n{section(REPOSERVER_SECTION, 'new')}\n\n{section(REFRESH_SECTION, 'kept')}\n"


def test_a_missing_section_is_added_at_the_end() -> None:
    assert with_section("# doc\n", REFRESH_SECTION, section(REFRESH_SECTION, "first")) == (
        f"# doc\n\n{section(REFRESH_SECTION, 'first')}\n")


def test_bench_py_keeps_both_sections_in_their_order() -> None:
    """bench.py writes the doc afresh and takes each section as the doc holds it now (None)."""
    text = "# regenerated\n"
    for markers in (REPOSERVER_SECTION, REFRESH_SECTION):
        text = with_section(text, markers)
    doc = (REPO_ROOT / "docs" / "performance.md").read_text()
    kept = [doc[doc.index(b):doc.index(e) + len(e)] for b, e in (REPOSERVER_SECTION, REFRESH_SECTION) if b in doc]
    assert kept, "docs/performance.md holds no section of bench/reposerver.py"
    assert text == "# regenerated\n" + "".join(f"\n{k}\n" for k in kept)
