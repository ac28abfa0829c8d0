#!/usr/bin/env python3
"""Benchmark: an app's manifests through the real argocd-repo-server, mip-cmp's apps next to mip-infra's
kustomize federation, side by side in one run.

    bash scripts/e2e.sh bench                  # builds what is missing, runs this, rewrites its section
    bash scripts/e2e.sh bench --quick          # fewer rounds; prints only

What is measured: the wall time of one GenerateManifest call to argocd-repo-server, as the application
controller makes it (bench/reposerver/main.go, built inside Argo CD's module: the request is Argo CD's own
type), with the manifest cache off, so each call renders: the repo-server checks the revision out of its
clone, then for a mip-cmp app streams the repository (`.git/*` excluded, as docs/install.md recommends) to
argocd-cmp-server, which runs `mip-cmp generate` (warm renderer, as in the image); for mip-infra's
deployments/local/federations/federation-A (tests/fixtures/mip-infra, the repository as vendored) the
repo-server runs kustomize itself. Apps alternate round by round. The same federation app is measured in a
platform of 1,000 federations (bench.make_platform), where the repository streamed is that much larger.
Argo CD, kustomize and the sidecar run on 127.0.0.1 as tests/e2e/cluster.py starts them (no API server:
the repo-server needs none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests")]
sys.path.insert(0, str(ROOT / "bench"))

from bench import DOC, REPOSERVER_SECTION, make_platform, with_reposerver_section  # noqa: E402 (bench/: scripts)
from e2e.cluster import Binaries, Cluster  # noqa: E402
from e2e.platform_repo import PlatformRepo  # noqa: E402

MIP_INFRA = ROOT / "tests" / "fixtures" / "mip-infra"
FEDERATION_A = "deployments/local/federations/federation-A"
BEGIN, END = REPOSERVER_SECTION
SCALE = 1000


@dataclass(frozen=True)
class Target:
    label: str
    repo: str  # the loopback repository's name
    path: str
    plugin_params: tuple[str, ...] | None  # None: not a plugin app (Argo CD detects kustomize)
    app: str


def targets(scale: int) -> list[Target]:
    fed = ("federation=federation-a", "directory=federations/federation-a")
    big = (f"federation=federation-{1:04d}", f"directory=federations/federation-{1:04d}")
    return [
        Target("mip-infra federation-A, kustomize (auto-detected)", "mip-infra", FEDERATION_A, None, "federation-a"),
        Target("mip-cmp federation-a app (sample)", "sample", ".", fed, "federation-a"),
        Target("mip-cmp root app (sample)", "sample", ".", (), "mip-platform"),
        Target(f"mip-cmp federation app, {scale} federations", "scale", ".", big, "federation-0001"),
    ]


def round_trip(env: Cluster, client: Path, target: Target) -> float:
    argv = [str(client), "-addr", f"127.0.0.1:{env.ports['repo-server']}", "-repo", env.repo_url(target.repo),
            "-path", target.path, "-app", target.app, "-rounds", "1"]
    if target.plugin_params is not None:
        argv += ["-plugin", "mip-cmp", *(a for p in target.plugin_params for a in ("-param", p))]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode:
        raise SystemExit(f"{target.label}: {done.stderr.strip()}")
    answer = json.loads(done.stdout.splitlines()[-1])
    if not answer["objects"]:
        raise SystemExit(f"{target.label}: no manifests")
    return float(answer["ms"])


def fmt(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} ms ({min(samples):.0f}–{max(samples):.0f})"


def report(results: dict[Target, list[float]], rounds: int, loads: list[float], versions: str) -> str:
    base = statistics.median(next(iter(results.values())))
    lines = [
        BEGIN,
        "## Through the real repo-server",
        "",
        f"Measured by `bash scripts/e2e.sh bench` (bench/reposerver.py) on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: one GenerateManifest call to argocd-repo-server as the "
        "application controller makes it, manifest cache off (every call renders), apps alternating, "
        f"{rounds} rounds; {versions}. 1-minute load average {min(loads):.1f}–{max(loads):.1f} on "
        f"{os.cpu_count()} CPUs (the machine is shared). Medians, min–max in parentheses.",
        "",
        "| app | round trip | vs kustomize |",
        "|---|---|---|",
    ]
    for target, samples in results.items():
        lines.append(f"| {target.label} | {fmt(samples)} | {statistics.median(samples) / base:.2f}× |")
    lines += [
        "",
        "A mip-cmp app's round trip is the repo-server's checkout, the repository streamed to the sidecar "
        "(`.git/*` excluded) and `mip-cmp generate`; plugin.yaml declares no `discover`, so nothing else is "
        "streamed (with `discover`, every render of a mip-cmp app streamed the repository twice, and every "
        "auto-detected app of the same Argo CD once). Argo CD's `reposerver.plugin.use.manifest.generate.paths` "
        "sends only the files under the common root of the app's path and its manifest-generate-paths: "
        "mip-cmp's apps all render from the repository's root (path `.`), so it cannot send less than the "
        "whole repository and is not recommended.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds, print only")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    client = Path(os.environ["E2E_REPOSERVER_BENCH"])
    run = Path(tempfile.mkdtemp(prefix="mip-cmp-bench-reposerver-"))
    env = Cluster(Binaries.from_environ(), run)
    try:
        for directory in ("logs", "home", "git"):
            (run / directory).mkdir()
        run.chmod(0o755)
        for step in (env.start_redis, env.start_git, env.start_cmp_server, env.start_repo_server):
            step()
        PlatformRepo(env, run / "sample", "sample").create()
        PlatformRepo(env, run / "mip-infra", "mip-infra").create(MIP_INFRA, "mip-infra as vendored")
        PlatformRepo(env, run / "scale", "scale").create(make_platform(run / "platforms", SCALE), "1000 federations")
        chosen = targets(SCALE)
        for target in chosen:  # the first call clones the repository: not measured
            round_trip(env, client, target)
        results: dict[Target, list[float]] = {t: [] for t in chosen}
        loads = []
        for _ in range(rounds):
            loads.append(os.getloadavg()[0])
            for target in chosen:
                results[target].append(round_trip(env, client, target))
            time.sleep(0.2)
    finally:
        env.stop()
        shutil.rmtree(run, ignore_errors=True)
    section = report(results, rounds, loads, os.environ.get("E2E_VERSIONS", ""))
    print(section)
    if not args.quick:
        DOC.write_text(with_reposerver_section(DOC.read_text(), section))
        print(f"wrote the section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
