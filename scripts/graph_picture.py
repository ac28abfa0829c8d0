"""Make the README's picture of the sample platform with mip-cmp itself.

Usage: python scripts/graph_picture.py [OUTPUT.png]  (needs Debian's chromium and chromium-driver, which
scripts/setup.sh installs)

Runs `mip-cmp graph sample-repo --format html`, opens the page in headless Chromium and saves a screenshot
of it to OUTPUT.png (default: docs/img/sample-platform-graph.png, the README's picture).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "docs" / "img" / "sample-platform-graph.png"
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))

from browser import WHY_NOT, chromium  # noqa: E402  (tests/support/browser.py: the one way we drive Chromium)
from mip_cmp.tools.graph import as_html, build  # noqa: E402
from mip_cmp.tools.snapshot import take  # noqa: E402


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else OUTPUT
    if WHY_NOT:
        print(WHY_NOT, file=sys.stderr)
        return 1
    page = as_html(build(take(REPO_ROOT / "sample-repo", "main")), "MIP sample platform")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "graph.html")
        path.write_text(page, encoding="utf-8")
        with chromium(1400, 820) as driver:
            driver.get(path.as_uri())
            output.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(output))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
