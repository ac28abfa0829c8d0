"""Upgrades of mip-cmp itself: a changed output for an unchanged repository is a documented event.

tests/releases/unreleased/sample.yaml is the full sample render now; when it differs from the last
release's, CHANGELOG.md's "Unreleased" must have a "Changed output" section saying what Argo CD will do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from helpers import REPO_ROOT, SAMPLE_REPO
from releases import RELEASES, full_render

UPDATE = os.environ.get("MIP_UPDATE_GOLDEN") == "1"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split("."))


def released() -> list[Path]:
    return sorted((p for p in RELEASES.iterdir() if re.fullmatch(r"\d+\.\d+\.\d+", p.name)),
                  key=lambda p: _version_key(p.name))


def unreleased_changelog() -> str:
    text = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return text.split("## Unreleased", 1)[1].split("\n## ", 1)[0]


def test_the_current_render_is_the_unreleased_golden() -> None:
    expected = RELEASES / "unreleased" / "sample.yaml"
    rendered = full_render(SAMPLE_REPO)
    if UPDATE:
        expected.write_bytes(rendered)
    assert rendered == expected.read_bytes(), "regenerate with MIP_UPDATE_GOLDEN=1, read the diff, say it in CHANGELOG"


def test_a_changed_output_is_in_the_changelog() -> None:
    last = released()[-1] / "sample.yaml"
    changed = (RELEASES / "unreleased" / "sample.yaml").read_bytes() != last.read_bytes()
    has_section = re.search(r"^### Changed output", unreleased_changelog(), re.MULTILINE) is not None
    assert not changed or has_section, (
        f"the sample renders differently from {last.parent.name}: add a '### Changed output' section under "
        "'## Unreleased' in CHANGELOG.md saying what Argo CD will do with it (docs/operations.md)")


def test_every_release_in_the_changelog_has_its_render() -> None:
    text = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## (\d+\.\d+\.\d+)", text, re.MULTILINE)
    assert versions
    assert sorted(versions, key=_version_key) == [p.name for p in released()]
