#!/usr/bin/env python3
"""Benchmark: a commit that changes one federation of a large platform, on the real controllers: the time
until every Application is at the new commit, and what the repo-server and the sidecar did for it.

    bash scripts/e2e.sh refresh                     # 100 federations; rewrites its section of the doc
    bash scripts/e2e.sh refresh --federations 10    # another size; prints only

The whole end-to-end cluster runs (tests/e2e/cluster.py: kube-apiserver, the application and ApplicationSet
controllers, argocd-repo-server, argocd-cmp-server with mip-cmp's plugin.yaml, ESO) on a platform of N
federations (bench.make_platform: the sample's two federations, copied). It is installed as
docs/operations.md says and waited for until every mip-cmp Application is Synced (each new one refreshed as it
appears, as the e2e suite does), and every other Application of its repository compared at that commit.
Then one commit adds a line to federation-0001's mip.yaml, and every Application of Argo CD's namespace is
asked for a normal refresh at once: what the reconciliation period
(`timeout.reconciliation`) asks of each app after a push (or a webhook of every app), once the repo-server's
revision cache has expired. Measured from that request: the time until every mip-cmp Application is Synced at
the new commit, the renders argocd-cmp-server ran (`Generating manifests` in its log), the repo-server's
manifest cache hits, and the CPU of each process. Apps with the manifest-generate-paths annotation mip-cmp
writes (`/mip.yaml;/federations/<name>`) whose files the commit did not change are moved to the new commit
from the cache; the root (no annotation: it reads every federation) and the changed federation's apps render.

1,000 federations are out of reach here: installing them renders every app once, about 3 s of CPU each through
the repo-server at that size (the section above), an hour or more on two cores. bench/reposerver.py
measures that size one GenerateManifest call at a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests")]
sys.path.insert(0, str(ROOT / "bench"))

from bench import DOC, REFRESH_SECTION, exit_on_sigterm, make_platform, with_section  # noqa: E402 (bench/: scripts)
from e2e.cluster import REVISION_CACHE, Binaries, Cluster  # noqa: E402
from e2e.platform_repo import Apps, Installed, install, synced_to  # noqa: E402
from reposerver import Env  # noqa: E402

SCALE = 100
CHANGED = "federation-0001"
RENDERS = "Generating manifests with"  # argocd-cmp-server's line for each GenerateManifest it runs
CACHE_HITS = "manifest cache hit:"  # the repo-server's line for manifests it answered from its cache
MISSED = "manifest cache miss: "  # ... and for a source it built: the source, then /<revision>
PARAMETER = re.compile(r"Name:(\w+),OptionalMap:nil,OptionalArray:nil,String_:\*([^,}]*)")
INSTALL_SECONDS = 3600
FEDERATION_NAME = re.compile(r"federation-\d+")
KINDS = ("the root", f"{CHANGED}'s apps", "other mip-cmp apps", "Argo CD's own (kustomize, plain manifests)")


def log_count(cluster: Cluster, process: str, line: str) -> int:
    return (cluster.logs / f"{process}.log").read_text(errors="replace").count(line)


def counts(cluster: Cluster) -> tuple[int, int]:
    return log_count(cluster, "argocd-cmp-server", RENDERS), log_count(cluster, "argocd-repo-server", CACHE_HITS)


def built(cluster: Cluster, head: str) -> dict[str, list[str]]:
    """The sources the repo-server built at `head`, by KINDS: the plugin's parameters of each mip-cmp app
    (`name=value`, comma-separated), the path of each other."""
    sources: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for line in (cluster.logs / "argocd-repo-server.log").read_text(errors="replace").splitlines():
        if MISSED not in line or not line.startswith("{"):
            continue
        source, _, revision = json.loads(line)["msg"].removeprefix(MISSED).rpartition("/")
        if revision != head:
            continue
        if "Plugin:nil" in source:
            kind, name = KINDS[3], source.split("Path:", 1)[1].split(",", 1)[0]
        else:
            params = dict(PARAMETER.findall(source))
            kind = KINDS[0] if not params else KINDS[1] if params.get("federation") == CHANGED else KINDS[2]
            name = ",".join(f"{k}={v}" for k, v in params.items())
        if name not in sources[kind]:  # the repo-server logs a miss twice (before and under its lock)
            sources[kind].append(name)
    return sources


def seconds(text: str) -> float:
    return float(text.removesuffix("s"))


def settle(installed: Installed) -> None:
    """Wait until every Application of this repository has been compared at its head (or failed to be: a
    kustomize Helm chart from the internet), Argo CD's own too (the infrastructure's, the overlays): one compared
    for the first time after the commit would render whatever its annotation says, and count as the commit's
    work."""
    url, head = installed.repo.url, installed.repo.head()

    def compared(app: dict[str, Any]) -> bool:
        status = app.get("status", {})
        return bool(status.get("sync", {}).get("revision") == head
                    or any(c.get("type") == "ComparisonError" for c in status.get("conditions") or []))

    def done(apps: Apps) -> bool:
        return all(compared(a) for a in apps.values() if a["spec"].get("source", {}).get("repoURL") == url)

    installed.argo.wait("every Application of the platform's repository compared", done, INSTALL_SECONDS)


def refresh_all(installed: Installed, head: str) -> tuple[float, list[float], Apps]:
    """A normal refresh of every Application at once; the seconds until every mip-cmp one is Synced at `head`,
    and when each got there."""
    argo = installed.argo
    began = time.monotonic()
    argo.refresh(*argo.apps(), level="normal")
    at: dict[str, float] = {}

    def done(apps: Apps) -> bool:
        now = time.monotonic() - began
        for name in installed.expected:
            if name in apps and synced_to(apps[name], head):
                at.setdefault(name, now)
        return len(at) == len(installed.expected)

    apps = argo.wait(f"every mip-cmp Application at {head[:8]}", done, INSTALL_SECONDS)
    return time.monotonic() - began, sorted(at.values()), apps


def listed(kind: str, names: list[str]) -> str:
    """What a row of built sources names: the other mip-cmp apps by their parameters; Argo CD's own by path,
    federations' alike counted as one."""
    if not names or kind not in (KINDS[2], KINDS[3]):
        return ""
    if kind == KINDS[2]:
        return f" ({', '.join(names)})"
    shapes = Counter(FEDERATION_NAME.sub("<federation>", name) for name in names)
    return " (" + ", ".join(f"{shape} ×{n}" if n > 1 else shape for shape, n in sorted(shapes.items())) + ")"


def report(n: int, apps: Apps, expected: int, installed_s: float, wall: float, at: list[float], renders: int,
           sources: dict[str, list[str]], hits: int, cpu: dict[str, float], loads: list[float], versions: str) -> str:
    begin, end = REFRESH_SECTION
    half = at[len(at) // 2]
    return "\n".join([
        begin,
        "## A commit on the real controllers",
        "",
        f"Measured by `bash scripts/e2e.sh refresh` (bench/refresh.py) on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} "
        f"UTC; {versions}; 1-minute load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs. A "
        f"platform of {n} federations: {len(apps)} Applications, {expected} of them rendered by mip-cmp (the "
        "others name the federations' remote charts, unreachable here: they show a comparison error). Installed "
        f"as docs/operations.md says, every mip-cmp Application was Synced after {installed_s:.0f} s. Then one "
        f"commit changed {CHANGED}'s mip.yaml and every Application was asked for a normal refresh at once, as "
        "the reconciliation period asks after a push:",
        "",
        "| after the commit | measured |",
        "|---|---|",
        f"| every mip-cmp Application Synced at the new commit | {wall:.1f} s (half of them after {half:.1f} s) |",
        f"| renders argocd-cmp-server ran (`mip-cmp generate`) | {renders} |",
        *(f"| sources the repo-server built: {kind} | {len(names)}{listed(kind, names)} |"
          for kind, names in sources.items()),
        f"| manifests the repo-server answered from its cache | {hits} |",
        "| CPU: application controller, repo-server (with git), argocd-cmp-server (with the `mip-cmp` client), "
        f"the warm renderer | {cpu['controller']:.1f} s, {cpu['repo-server']:.1f} s, {cpu['cmp-server']:.1f} s, "
        f"{cpu['renderer']:.1f} s |",
        "",
        "mip-cmp renders again only the apps whose files the commit changed, and the root (it reads every "
        "federation); every other mip-cmp app, and every federation's overlay, moves to the new commit with its "
        "cached manifests, by the manifest-generate-paths mip-cmp writes on it, if the repo-server still holds "
        "them for the previous commit under the same key (UpdateRevisionForPaths moves only what is cached; "
        "else the app is built again). The infrastructure apps Argo CD builds itself from this repository carry "
        "none (what their kustomizations read is the admins' choice, not checked) and are built again. Without "
        "a webhook, Argo CD sees the push at the next reconciliation period "
        "(`timeout.reconciliation`, 180 s by default, docs/operations.md), so a change reaches the cluster in that "
        "period plus the time above.",
        end,
    ]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--federations", type=int, default=SCALE)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help=f"rewrite the doc's section (default: at {SCALE} federations)")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (the processes' logs)")
    args = parser.parse_args()
    exit_on_sigterm()
    run = Path(tempfile.mkdtemp(prefix="mip-cmp-bench-refresh-"))
    run.chmod(0o755)
    cluster = Cluster(Binaries.from_environ(), run / "cluster")
    loads = []
    try:
        cluster.start(lambda line: print(f"[refresh] {line}", flush=True))
        platform = make_platform(run / "platforms", args.federations)
        began = time.monotonic()
        installed = install(cluster, run / "repo", "platform", source=platform)
        print(f"[refresh] installed {args.federations} federations: waiting for {len(installed.expected)} "
              "mip-cmp Applications", flush=True)
        installed.converge("the first sync", INSTALL_SECONDS)
        settle(installed)
        installed_s = time.monotonic() - began
        changed = installed.repo.work / "federations" / CHANGED / "mip.yaml"
        changed.write_text(changed.read_text() + "# a change of this federation alone\n")
        head = installed.repo.commit(f"{CHANGED} changed")
        time.sleep(seconds(REVISION_CACHE) + 1)  # the repo-server resolves the branch afresh
        loads.append(os.getloadavg()[0])
        env, before = Env(cluster), counts(cluster)
        cpu_before = env.cpu()
        wall, at, apps = refresh_all(installed, head)
        cpu = {name: used - cpu_before[name] for name, used in env.cpu().items()}
        renders, hits = (after - was for after, was in zip(counts(cluster), before, strict=True))
        sources = built(cluster, head)
        loads.append(os.getloadavg()[0])
    finally:
        cluster.stop()
        if args.keep:
            print(f"[refresh] kept {run}")
        else:
            shutil.rmtree(run, ignore_errors=True)
    section = report(args.federations, apps, len(installed.expected), installed_s, wall, at, renders, sources, hits,
                     cpu, loads, os.environ.get("E2E_VERSIONS", ""))
    print(section)
    if args.write if args.write is not None else args.federations == SCALE:
        DOC.write_text(with_section(DOC.read_text(), REFRESH_SECTION, section))
        print(f"wrote the section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
