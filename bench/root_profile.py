#!/usr/bin/env python3
"""The root app and `validate` at scale, in CPU time: a quick look while working on them (not the benchmark).

    .venv/bin/python bench/root_profile.py                  # 1000 and 2000 federations
    .venv/bin/python bench/root_profile.py --sizes 1000 --profile 25

For each size, on a platform built as bench.py builds it (make_platform), prints the median over --rounds of:

- root, warm: the root rendered the way a warm renderer's worker renders it: forked from this process after it
  has imported everything, rendered the sample's root once and frozen that state (gc.freeze), its CPU time and
  peak RSS read from the kernel
  (wait4; the peak counts the pages shared with this process, as bench.py's worker figure does);
- root, renderer: asked of a real warm renderer (started as the image's entrypoint starts it) through the
  client's code: wall time of the answer, and the CPU time and peak RSS its worker reports with it;
- root, cold: `python -m mip_cmp generate` (MIP_CMP_RENDERER=off), one whole process;
- validate: `python -m mip_cmp validate`, one whole process.

CPU time is the figure to compare on a shared machine; wall time and the peak resident set are shown too.
--profile N: also a cProfile of one warm root render in this process, its N most costly functions.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import COMMIT, REPO_URL, SAMPLE, make_platform
from mip_cmp.answer import answer
from mip_cmp.renderer import client, server

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Usage:
    cpu: float
    wall: float
    rss_kib: int


def root_env(repo: Path) -> dict[str, str]:
    """What Argo CD passes to the root app (contract §4.2), and no renderer."""
    return {
        "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "MIP_CMP_RENDERER": "off",
        "PYDANTIC_DISABLE_PLUGINS": "__all__", "ARGOCD_APP_NAME": "mip-platform",
        "ARGOCD_APP_NAMESPACE": "argocd-mip-team", "ARGOCD_APP_PROJECT_NAME": "mip-infrastructure",
        "ARGOCD_APP_REVISION": COMMIT, "ARGOCD_APP_REVISION_SHORT": COMMIT[:7],
        "ARGOCD_APP_REVISION_SHORT_8": COMMIT[:8], "ARGOCD_APP_SOURCE_REPO_URL": REPO_URL,
        "ARGOCD_APP_SOURCE_PATH": ".", "ARGOCD_APP_SOURCE_TARGET_REVISION": "main", "KUBE_VERSION": "1.30.2",
        "KUBE_API_VERSIONS": "v1,apps/v1,argoproj.io/v1alpha1,external-secrets.io/v1",
        "ARGOCD_APP_PARAMETERS": "null",
        # Another snapshot of the code to measure (PYTHONPATH=<its plugin/>), as in this process.
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }


def render(repo: Path) -> bytes:
    code, out, err = answer(str(repo), root_env(repo))
    if code != 0:
        raise SystemExit(f"the root of {repo} failed ({code}): {err.decode()[:2000]}")
    return out


def warm(repo: Path) -> Usage:
    """One root render in a child forked from this warm process, as the renderer's workers are."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            render(repo)
        finally:
            os._exit(0)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the warm render failed")
    return Usage(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss)


def start_renderer(runtime: Path) -> None:
    """What the image's entrypoint does (renderer/sidecar.py), in a private runtime directory of this run."""
    os.environ["MIP_CMP_RUNTIME_DIR"] = str(runtime)  # where client.ask looks for it
    # This process's own environment: the renderer's name carries its Python settings (client.fingerprint).
    env = {k: v for k, v in os.environ.items() if k != "MIP_CMP_RENDERER"}
    subprocess.run([sys.executable, "-P", "-m", "mip_cmp.renderer.sidecar", "true"], check=True,
                   env={**env, "MIP_CMP_RENDERER_IDLE": "0"})
    deadline = time.monotonic() + 60
    while not list(runtime.glob("mip-cmp-*/renderer-*.sock")):
        if time.monotonic() > deadline:
            raise SystemExit("the renderer did not start")
        time.sleep(0.01)


def through_renderer(repo: Path) -> Usage:
    environ = {k.encode(): v.encode() for k, v in root_env(repo).items()}
    start = time.perf_counter()
    reply = client.ask(os.fsencode(repo), environ, start=False)
    wall = time.perf_counter() - start
    if reply is None or reply.code != 0:
        raise SystemExit(f"the renderer did not render the root of {repo}")
    return Usage(reply.cpu_us / 1e6, wall, reply.maxrss_kib)


def process(repo: Path, *args: str) -> Usage:
    """`python -m mip_cmp ARGS` in `repo`, started by GNU time (a small process, so that the peak RSS is the
    command's own, not this process's)."""
    with tempfile.NamedTemporaryFile("r") as out:
        start = time.perf_counter()
        subprocess.run([GNU_TIME, "-f", "%U %S %M", "-o", out.name, sys.executable, "-m", "mip_cmp", *args],
                       cwd=repo, env=root_env(repo), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - start
        user, system, rss = out.read().split()[-3:]
    return Usage(float(user) + float(system), wall, int(rss))


def median(runs: list[Usage]) -> str:
    cpu = statistics.median(u.cpu for u in runs)
    wall = statistics.median(u.wall for u in runs)
    rss = statistics.median(u.rss_kib for u in runs) / 1024
    return f"CPU {cpu:6.3f} s   wall {wall:6.3f} s   peak RSS {rss:5.0f} MiB   (min CPU {min(u.cpu for u in runs):.3f})"


def profile(repo: Path, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(render, repo)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-validate", action="store_true", help="the root only")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile: the N costliest functions")
    args = parser.parse_args()
    render(SAMPLE)  # warm: every import done and the sample rendered, then frozen, as the renderer does before it forks
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="mip-cmp-root-") as tmp:
        start_renderer(Path(tmp))
        try:
            report(Path(tmp), args)
        finally:
            for directory in Path(tmp).glob("mip-cmp-*"):
                server.stop(str(directory))
    return 0


def report(tmp: Path, args: argparse.Namespace) -> None:
    for n in args.sizes:
        repo = make_platform(tmp, n)
        measures: dict[str, Callable[[Path], Usage]] = {
            "root, warm": warm,
            "root, renderer": through_renderer,
            "root, cold": lambda repo: process(repo, "generate"),
        }
        if not args.no_validate:
            measures["validate"] = lambda repo: process(repo, "validate", ".")
        print(f"{n} federations, output {len(render(repo)) // 1024} KiB", flush=True)
        for name, measure in measures.items():
            print(f"  {name:14} {median([measure(repo) for _ in range(args.rounds)])}", flush=True)
        if args.profile:
            print(profile(repo, args.profile))


if __name__ == "__main__":
    sys.exit(main())
