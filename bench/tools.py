#!/usr/bin/env python3
"""Benchmark of what the test suite checks but must not time (a loaded machine would fail it): the tools at
scale and the README's quick start.

    .venv/bin/python bench/tools.py               # graph and diff at scale; prints a table
    .venv/bin/python bench/tools.py --quickstart  # also the quick start on a fresh copy (downloads)

- `graph --format html` of 1,000 federations: the CPU time to make the page (in this process, the best of 3),
  and the wall time until headless Chromium has drawn it (the best of 3; skipped without Chromium).
- `diff` of two 100-federation platforms, one chart version apart: its CPU time (the best of 3).
- `bash scripts/quickstart.sh` on a fresh copy with empty package caches: its wall time, downloads included.

Targets (docs/performance.md, "The tools at scale"): the page made in 5 s of CPU and open in 3 s, the diff in
10 s of CPU, the quick start within a minute (the README's promise).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests" / "support")]
from bench import make_platform  # noqa: E402 (bench/ is a directory of scripts, not a package)

ROUNDS = 3
TARGETS = {"graph page made (CPU)": 5.0, "graph page opened (wall)": 3.0, "diff of 100 federations (CPU)": 10.0,
           "quick start (wall)": 60.0}


def best(measure: Callable[[], float], rounds: int = ROUNDS) -> float:
    return min(measure() for _ in range(rounds))


def cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def graph_page(work: Path) -> dict[str, float]:
    from mip_cmp.tools.graph import as_html, build
    from mip_cmp.tools.snapshot import take

    root = make_platform(work, 1000)
    figures = {"graph page made (CPU)": best(lambda: cpu(lambda: as_html(build(take(root)))))}
    page = work / "graph.html"
    page.write_text(as_html(build(take(root))), encoding="utf-8")
    from browser import WHY_NOT, chromium

    if WHY_NOT:
        print(f"graph page opened: skipped ({WHY_NOT})", file=sys.stderr)
        return figures
    with chromium() as driver:
        def opened() -> float:
            start = time.perf_counter()
            driver.get(page.as_uri())
            assert driver.execute_script("return document.body.dataset.ready") == "true"
            return time.perf_counter() - start

        figures["graph page opened (wall)"] = best(opened)
    return figures


def diff_at_scale(work: Path) -> dict[str, float]:
    from mip_cmp.cli import run

    old = make_platform(work / "old", 100)
    new = shutil.copytree(old, work / "new")
    platform = new / "mip.yaml"
    text = platform.read_text(encoding="utf-8")
    version = text.split("\n    version: ", 1)[1].split("\n", 1)[0]
    platform.write_text(text.replace(f"\n    version: {version}\n", f"\n    version: {version}-bench\n", 1),
                        encoding="utf-8")

    def once() -> None:
        with redirect_stdout(io.StringIO()):
            assert run(["diff", str(old), str(new)]) == 0

    return {"diff of 100 federations (CPU)": best(lambda: cpu(once))}


def quickstart(work: Path) -> dict[str, float]:
    clone = work / "clone"
    clone.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "plugin", "scripts", "sample-repo"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, clone / name)
    env = {**os.environ, "UV_CACHE_DIR": str(work / "uv-cache"), "PIP_CACHE_DIR": str(work / "pip-cache")}
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    subprocess.run(["bash", "scripts/quickstart.sh"], cwd=clone, env=env, capture_output=True, check=True)
    return {"quick start (wall)": time.perf_counter() - start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quickstart", action="store_true", help="also time the quick start (downloads)")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mip-cmp-bench-tools-") as tmp:
        work = Path(tmp)
        figures |= graph_page(work / "graph")
        figures |= diff_at_scale(work / "diff")
        if args.quickstart:
            figures |= quickstart(work / "quickstart")
    print("| what | measured | target |\n|---|---|---|")
    for what, seconds in figures.items():
        verdict = "met" if seconds <= TARGETS[what] else "MISSED"
        print(f"| {what} | {seconds:.2f} s | {TARGETS[what]:g} s ({verdict}) |")
    print(f"\nload average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
