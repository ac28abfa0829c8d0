"""Blast radius: what one federation's directory holds hurts that federation only (issue 20).

A hostile tenant with write access to federation-z's directory alone fills it: tens of thousands of
entries, a broken file of the largest size, thousands of mistakes. Each case renders, the way
argocd-cmp-server does (a fresh process, its peak RSS and CPU read with wait4, as test_resources.py does),
the root, another federation (federation-a) and federation-z itself, and checks

* the root and federation-a render exactly the bytes they render without the attack, within the targets;
* federation-z's own render fails (exit 1, nothing on stdout), naming its directory or file, with at most
  MAX_STDERR bytes of stderr.

The figures are printed (pytest -s) and listed at the end of every run (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import SAMPLE_REPO, argo_env
from mip_cmp.core import budget

from .test_resources import TARGET_CPU_S, TARGET_RSS_MIB, Usage, measure

FED_Z = "federations/federation-z"
# What issue 20 asks of a failed render's stderr, whatever the input.
MAX_STDERR = 64 * 1024


def bound(name: str) -> list[dict[str, str]]:
    return [{"name": "federation", "string": name}, {"name": "directory", "string": f"federations/{name}"}]


APPS = {".": None, "federation-a": bound("federation-a"), "federation-z": bound("federation-z")}


def many_entries(repo: Path) -> None:
    """One more entry than a federation's directory may hold: empty files beside its mip.yaml."""
    for i in range(budget.MAX_FEDERATION_ENTRIES):
        (repo / FED_Z / f"f{i}").touch()


def long_paths(repo: Path) -> None:
    """Fewer entries than the budget allows, under a chain of the longest names a file system takes, so that
    their paths pass budget.MAX_WALK_CHARS: what made the walk of the whole checkout hold hundreds of MiB."""
    top = repo / FED_Z / ("d" * 250) / ("e" * 250)
    top.mkdir(parents=True)
    for i in range(budget.MAX_WALK_CHARS // 700 + 1):
        (top / f"{i:05d}{'f' * 245}").mkdir()


def _fed_z_with(peers: str) -> Callable[[Path], None]:
    """federation-z's file with `peers: [node1, node2]` replaced by `peers` (what its identity does not need)."""
    def setup(repo: Path) -> None:
        path = repo / FED_Z / "mip.yaml"
        text = path.read_text()
        assert "peers: [node1, node2]\n" in text
        path.write_text(text.replace("peers: [node1, node2]\n", peers))

    return setup


def _fill(line: Callable[[int], str]) -> str:
    out, size, i = [], 0, 0
    while size + len(text := line(i)) <= budget.MAX_FILE_BYTES - 8192:
        out.append(text)
        size += len(text)
        i += 1
    return "".join(out)


# Wrong-type items under a key the root does not read: every one is a mistake of the full model.
# (Three YAML nodes each, as many as budget.MAX_NODES allows: a file past it is one the root cannot read.)
wrong_types = _fed_z_with("peers:\n" + "".join(f"  - {{k{i}: 1}}\n" for i in range((budget.MAX_NODES - 200) // 3)))
# Unknown keys, each one a "did you mean" for the full model.
# One mistake per item: 15,001 problems in a 45 KB file.
many_mistakes = _fed_z_with("peers: [" + "1, " * 15_000 + "1]\n")
unknown_keys = _fed_z_with("peers: [node1, node2]\n" + _fill(lambda i: f"unknown{i}: x\n"))


def claims_federation_a_host(repo: Path) -> None:
    """federation-z's file claims federation-a's host (what its identity does not need)."""
    path = repo / FED_Z / "mip.yaml"
    text = path.read_text()
    assert '\npublicHost: "{{ federation.name }}.' in text
    path.write_text(text.replace('\npublicHost: "{{ federation.name }}.', '\npublicHost: "federation-a.'))


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    fails_with: str  # the start of federation-z's first stderr line


CASES = [
    Case("entries-beyond-the-federation-budget", many_entries,
         f"{FED_Z}: more than {budget.MAX_FEDERATION_ENTRIES:,} files and directories "
         "(budget.MAX_FEDERATION_ENTRIES)"),
    Case("long-paths-beyond-the-walk-budget", long_paths, f"{FED_Z}: more than "),
    Case("broken-file-of-wrong-types", wrong_types, f"{FED_Z}/mip.yaml:"),
    Case("broken-file-of-unknown-keys", unknown_keys, f"{FED_Z}/mip.yaml:"),
    Case("fifteen-thousand-mistakes", many_mistakes, f"{FED_Z}/mip.yaml:7:9: peers[0]: must be a string"),
    # Hosts are bound by the platform's pattern, not by reading the other federations' files: the claim
    # fails its maker only, and the federation whose host it is keeps it.
    Case("claims-another-federations-host", claims_federation_a_host,
         f"{FED_Z}/mip.yaml:8:13: publicHost: 'federation-a."),
]


def render(repo: Path, app: str) -> Usage:
    return measure(repo, argo_env(".", params=APPS[app]))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What the root and federation-a render without any attack."""
    repo = tmp_path_factory.mktemp("baseline") / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    return {app: render(repo, app).stdout for app in (".", "federation-a")}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_federation_directory_hurts_that_federation_only(case: Case, baseline: dict[str, bytes],
                                                            tmp_path: Path,
                                                            record_property: Callable[..., None]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    case.setup(repo)
    for app in APPS:
        usage = render(repo, app)
        figures = (f"blast radius {case.id}, {app}: exit {usage.code}, peak RSS {usage.rss_mib:.0f} MiB (target "
                   f"{TARGET_RSS_MIB}), CPU {usage.cpu_s:.2f} s (target {TARGET_CPU_S:g}), stderr "
                   f"{len(usage.stderr.encode())} bytes")
        print("\n" + figures)
        record_property("resources", figures)
        assert usage.rss_mib <= TARGET_RSS_MIB, figures
        assert usage.cpu_s <= TARGET_CPU_S, figures
        if app == "federation-z":
            assert (usage.code, usage.stdout_bytes) == (1, 0), usage.stderr[:2000]
            assert usage.stderr.startswith(case.fails_with), usage.stderr[:2000]
            assert len(usage.stderr.encode()) <= MAX_STDERR, figures
        else:
            assert (usage.code, usage.stderr) == (0, ""), usage.stderr[:2000]
            assert usage.stdout == baseline[app], f"{app} renders otherwise because of federation-z's directory"
