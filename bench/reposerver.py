#!/usr/bin/env python3
"""Benchmark: an app's manifests through the real argocd-repo-server, mip-cmp's apps next to mip-infra's
kustomize federation, side by side in one run; where the time of a large platform's app goes; and what a
commit that changes one federation costs with and without the apps' manifest-generate-paths annotation.

    bash scripts/e2e.sh bench                  # builds what is missing, runs this, rewrites its section
    bash scripts/e2e.sh bench --quick          # fewer rounds; prints only

What is measured: the wall time of one GenerateManifest call to argocd-repo-server, as the application
controller makes it (bench/reposerver/main.go, built inside Argo CD's module: the request is Argo CD's own
type), with the manifest cache off, so each call renders: the repo-server checks the revision out of its
clone, then for a mip-cmp app tars and streams the repository (`.git/*` excluded, as docs/install.md
recommends) to argocd-cmp-server, which unpacks it into its work directory and runs `mip-cmp generate` (warm
renderer, as in the image); for mip-infra's deployments/local/federations/federation-A
(tests/fixtures/mip-infra, the repository as vendored) the repo-server runs kustomize itself. Apps alternate
round by round. The same apps are measured in a platform of 1,000 federations (bench.make_platform), with the
CPU each process used for the call (the kernel's counters of the repo-server with its git children, of
argocd-cmp-server with the `mip-cmp` client it runs, and of the warm renderer with its workers).

Two sidecars run side by side, the same in all but where argocd-cmp-server unpacks each request
(ARGOCD_CMP_WORKDIR): a directory on the run directory's file system, as an emptyDir on the node's disk, and
one on tmpfs (/dev/shm), as an emptyDir with `medium: Memory`.

A commit that changes one federation, as the controller handles it: the 1,000-federation repository gets a
second commit that changes federation-0001's mip.yaml. An app with the manifest-generate-paths annotation
mip-cmp writes (`/mip.yaml;/federations/<name>`) that synced the first commit is asked as the controller asks
it: UpdateRevisionForPaths (no file under its paths changed: the repo-server moves its cached manifests to the
new commit), then GenerateManifest with the cache on. An app without the annotation renders again. The sums
for every app of the commit (the root, and per federation its app and its secrets app, as bench.py counts
them) are the sums of those medians: the work of one commit, one app after the other; the controller runs
several at once, which divides the wall time on more cores, not the work.

Argo CD, kustomize and the sidecars run on 127.0.0.1 as tests/e2e/cluster.py starts them (no API server:
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
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests")]
sys.path.insert(0, str(ROOT / "bench"))

from bench import DOC, REPOSERVER_SECTION, cpu_seconds, exit_on_sigterm, make_platform, with_section  # noqa: E402 (bench/: scripts)
from e2e.cluster import PLUGIN_UID, Binaries, Cluster  # noqa: E402
from e2e.platform_repo import PlatformRepo  # noqa: E402

MIP_INFRA = ROOT / "tests" / "fixtures" / "mip-infra"
FEDERATION_A = "deployments/local/federations/federation-A"
BEGIN, END = REPOSERVER_SECTION
SCALE = 1000
CHANGED, UNCHANGED = f"federation-{1:04d}", f"federation-{2:04d}"
MEMORY = Path("/dev/shm")  # tmpfs, as an emptyDir with medium: Memory
DISK, TMPFS = "disk", "memory"
PROCESSES = ("repo-server", "cmp-server", "renderer")
ROLES = {"repo-server": "argocd-repo-server", "cmp-server": "argocd-cmp-server",
         "controller": "argocd-application-controller"}  # a process's label here, its name in Cluster.procs
RENDERED = f"mip-cmp federation app, {SCALE} federations"


@dataclass
class MemoryCluster(Cluster):
    """The same components; argocd-cmp-server unpacks each request on tmpfs. The sidecar's venv is the other
    environment's (`beside`): one venv to build, and the same code in both."""

    beside: Cluster | None = None

    def plugin_venv(self) -> Path:
        return super().plugin_venv() if self.beside is None else self.beside.plugin_venv()

    @property
    def workdir(self) -> Path:
        return MEMORY / f"{self.run.parent.name}-{self.run.name}"

    def cmp_env(self) -> dict[str, str]:
        return {**super().cmp_env(), "ARGOCD_CMP_WORKDIR": str(self.workdir)}


@dataclass(frozen=True)
class Target:
    label: str
    env: str  # DISK or TMPFS: which sidecar's repo-server is asked
    repo: str  # the loopback repository's name
    path: str
    plugin_params: tuple[str, ...] | None  # None: not a plugin app (Argo CD detects kustomize)
    app: str
    generate_paths: str = ""  # the app's manifest-generate-paths annotation
    revision: str = "main"
    synced: str = ""  # the revision the app synced before: UpdateRevisionForPaths first, then the cache
    cached: bool = False


def federation(name: str) -> tuple[str, ...]:
    return (f"federation={name}", f"directory=federations/{name}")


def annotation(name: str) -> str:
    return f"/mip.yaml;/federations/{name}"  # what mip-cmp writes on a federation's Applications


def targets(commits: dict[str, tuple[str, str]]) -> list[Target]:
    """The apps measured, round by round; `commits`: per sidecar, the 1,000-federation repository's two commits."""
    first, second = commits[DISK]
    chosen = [Target("mip-infra federation-A, kustomize (auto-detected)", DISK, "mip-infra", FEDERATION_A, None,
                     "federation-a")]
    for env, (_, head) in commits.items():
        chosen += [
            Target("mip-cmp federation-a app (sample)", env, "sample", ".", federation("federation-a"), "federation-a"),
            Target("mip-cmp root app (sample)", env, "sample", ".", (), "mip-platform"),
            Target(RENDERED, env, "scale", ".", federation(UNCHANGED),
                   UNCHANGED, revision=head),
            Target(f"mip-cmp root app, {SCALE} federations", env, "scale", ".", (), "mip-platform", revision=head),
        ]
    chosen += [
        Target("commit: an app whose paths it did not change", DISK, "scale", ".", federation(UNCHANGED), UNCHANGED,
               annotation(UNCHANGED), second, first, cached=True),
        Target("commit: the app of the federation it changed", DISK, "scale", ".", federation(CHANGED), CHANGED,
               annotation(CHANGED), second, first),
    ]
    return chosen


@dataclass
class Env:
    cluster: Cluster

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the repo-server, argocd-cmp-server, the renderer and the application
        controller (if it runs), each with its children (reaped ones included: git, the `mip-cmp` client,
        retired workers)."""
        found = {label: [self.cluster.procs[name].pid] for label, name in ROLES.items() if name in self.cluster.procs}
        found["renderer"] = []
        marker = str(self.cluster.run).encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"mip_cmp.renderer.server" in cmdline and marker in cmdline:
                    found["renderer"].append(int(entry.name))
        return {name: cpu_seconds(*pids) for name, pids in found.items()}


def round_trip(env: Env, client: Path, target: Target) -> tuple[float, dict[str, float]]:
    cluster = env.cluster
    argv = [str(client), "-addr", f"127.0.0.1:{cluster.ports['repo-server']}", "-repo", cluster.repo_url(target.repo),
            "-path", target.path, "-app", target.app, "-revision", target.revision, "-rounds", "1",
            "-generate-paths", target.generate_paths]
    if target.plugin_params is not None:
        argv += ["-plugin", "mip-cmp", *(a for p in target.plugin_params for a in ("-param", p))]
    if target.synced:
        argv += ["-synced", target.synced]
    if target.cached:
        argv.append("-cache")
    before = env.cpu()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    after = env.cpu()
    if done.returncode:
        raise SystemExit(f"{target.label}: {done.stderr.strip()}")
    answer = json.loads(done.stdout.splitlines()[-1])
    if not answer["objects"]:
        raise SystemExit(f"{target.label}: no manifests")
    if target.synced and answer["changes"] != (target.app == CHANGED):
        raise SystemExit(f"{target.label}: UpdateRevisionForPaths answered changes={answer['changes']}")
    return float(answer["ms"]), {name: after[name] - before[name] for name in PROCESSES}


def fmt(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} ms ({min(samples):.0f}–{max(samples):.0f})"


def med(samples: list[float]) -> float:
    return statistics.median(samples)


@dataclass
class Results:
    times: dict[Target, list[float]]
    cpu: dict[Target, dict[str, list[float]]]
    rounds: int
    loads: list[float]
    versions: str
    workdir_fs: str

    def by_label(self, label: str, env: str = DISK) -> list[float]:
        return next(v for t, v in self.times.items() if t.label == label and t.env == env)


def report(r: Results) -> str:
    base = med(next(iter(r.times.values())))
    envs = sorted({t.env for t in r.times}, key=[DISK, TMPFS].index)
    where = {DISK: "work directory on disk", TMPFS: "work directory on tmpfs"}
    lines = [
        BEGIN,
        "## Through the real repo-server",
        "",
        f"Measured by `bash scripts/e2e.sh bench` (bench/reposerver.py) on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: one GenerateManifest call to argocd-repo-server as the "
        "application controller makes it, manifest cache off (every call renders) unless said, apps alternating, "
        f"{r.rounds} rounds; {r.versions}. 1-minute load average {min(r.loads):.1f}–{max(r.loads):.1f} on "
        f"{os.cpu_count()} CPUs (the machine is shared). Medians, min–max in parentheses. Two sidecars side by "
        f"side, the same but for where argocd-cmp-server unpacks each request: on disk (the run directory's file "
        f"system, {r.workdir_fs} by `stat -f`), as an emptyDir on the node's disk, and on tmpfs, as an emptyDir "
        "with `medium: Memory`.",
        "",
        "| app | argocd-cmp-server's " + " | ".join(where[e] for e in envs) + " | vs kustomize |",
        "|---|" + "---|" * len(envs) + "---|",
    ]
    plain = [t for t in r.times if not t.synced]
    for label in dict.fromkeys(t.label for t in plain):
        cells = []
        for env in envs:
            found = [t for t in plain if t.label == label and t.env == env]
            cells.append(fmt(r.times[found[0]]) if found else "(no sidecar)")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {med(r.by_label(label)) / base:.2f}× |")
    lines += [
        "",
        f"Where the time of a {SCALE}-federation app goes: CPU per call (medians) of each process, with its "
        "children.",
        "",
        "| app | work directory | round trip | repo-server (checkout, tar) | argocd-cmp-server (unpack, "
        "the `mip-cmp` client, clean-up) | the warm renderer (the render) |",
        "|---|---|---|---|---|---|",
    ]
    for target in plain:
        if target.repo == "scale":
            cpu = r.cpu[target]
            lines.append(f"| {target.label} | {where[target.env].removeprefix('work directory on ')} | "
                         f"{fmt(r.times[target])} | " + " | ".join(f"{med(cpu[p]) * 1000:.0f} ms" for p in PROCESSES)
                         + " |")
    lines += commit_lines(r)
    lines += [
        "",
        "A mip-cmp app's round trip is the repo-server's checkout, the repository streamed to the sidecar "
        "(`.git/*` excluded) and `mip-cmp generate`; plugin.yaml declares no `discover`, so nothing else is "
        "streamed (with `discover`, every render of a mip-cmp app streamed the repository twice, and every "
        "auto-detected app of the same Argo CD once). What grows with the platform is the repository every "
        "render streams and unpacks: Argo CD's `reposerver.plugin.use.manifest.generate.paths` would send only "
        "the files under the common root of the app's path and its manifest-generate-paths, but mip-cmp's apps "
        "render from the repository's root (path `.`), so it cannot send less than the whole repository and "
        "is not recommended. They do so on purpose: Argo CD merges `.argocd-source.yaml` and "
        "`.argocd-source-<app>.yaml` from an app's path into its source before it picks the plugin, so an app "
        "whose path were a federation's directory could be switched off mip-cmp by a file in that directory "
        "(`plugin: null`: Argo CD would apply the directory's YAML as it is, past mip-cmp's checks); only the "
        "root, which the platform's admins write, is safe as the path. What keeps a large platform's commits "
        "cheap is the annotation (above): only the apps whose files a commit changed render again.",
        END,
    ]
    return "\n".join(lines) + "\n"


def commit_lines(r: Results) -> list[str]:
    unchanged, changed = (next(t for t in r.times if t.synced and t.app == app) for app in (UNCHANGED, CHANGED))
    render = med(r.by_label(RENDERED))
    root = med(r.by_label(f"mip-cmp root app, {SCALE} federations"))
    apps = 2 * SCALE + 1
    with_paths = root + 2 * med(r.times[changed]) + (apps - 3) * med(r.times[unchanged])
    without = root + (apps - 1) * render
    return [
        "",
        f"A commit that changes one federation's mip.yaml, {SCALE} federations ({apps} apps: the root, and per "
        "federation its app and its secrets app), work directory on disk. The root has no annotation (it reads "
        "every federation's file) and renders each commit.",
        "",
        "| per app | round trip |",
        "|---|---|",
        f"| {unchanged.label}: UpdateRevisionForPaths, then the cached manifests | {fmt(r.times[unchanged])} |",
        f"| {changed.label}: UpdateRevisionForPaths, then a render | {fmt(r.times[changed])} |",
        f"| an app without the annotation: a render | {fmt(r.by_label(RENDERED))} |",
        "",
        "| every app of the commit, one after the other | work |",
        "|---|---|",
        f"| with mip-cmp's manifest-generate-paths (the root, 2 apps rendered, {apps - 3} moved) | "
        f"{with_paths / 1000:.0f} s |",
        f"| without (every app rendered; its secrets app taken to cost what the federation's app does) | "
        f"{without / 1000:.0f} s |",
    ]


def filesystem(path: Path) -> str:
    done = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "the run directory's file system"


def start(cluster: Cluster, platform: Path) -> tuple[str, str]:
    """Bring up what the repo-server needs and its repositories; the 1,000-federation one's two commits."""
    for directory in ("logs", "home", "git"):
        (cluster.run / directory).mkdir(parents=True)
    cluster.run.chmod(0o755)
    if isinstance(cluster, MemoryCluster):
        cluster.workdir.mkdir()
        os.chown(cluster.workdir, PLUGIN_UID, PLUGIN_UID)
    for step in (cluster.start_redis, cluster.start_git, cluster.start_cmp_server, cluster.start_repo_server):
        step()
    PlatformRepo(cluster, cluster.run / "sample", "sample").create()
    PlatformRepo(cluster, cluster.run / "mip-infra", "mip-infra").create(MIP_INFRA, "mip-infra as vendored")
    scale = PlatformRepo(cluster, cluster.run / "scale", "scale").create(platform, f"{SCALE} federations")
    first = scale.head()
    changed = scale.work / "federations" / CHANGED / "mip.yaml"
    changed.write_text(changed.read_text() + "# a change of this federation alone\n")
    return first, scale.commit(f"{CHANGED} changed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, print only")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    exit_on_sigterm()
    rounds = 3 if args.quick else args.rounds
    client = Path(os.environ["E2E_REPOSERVER_BENCH"])
    run = Path(tempfile.mkdtemp(prefix="mip-cmp-bench-reposerver-"))
    run.chmod(0o755)
    binaries = Binaries.from_environ()
    clusters = [Cluster(binaries, run / DISK)]
    if MEMORY.is_dir():
        clusters.append(MemoryCluster(binaries, run / TMPFS, beside=clusters[0]))
    envs = dict(zip((DISK, TMPFS), map(Env, clusters), strict=False))
    try:
        platform = make_platform(run / "platforms", SCALE)
        chosen = targets({name: start(env.cluster, platform) for name, env in envs.items()})
        for target in chosen:  # the first call clones the repository and fills the caches: not measured
            # An app that synced the first commit has its manifests of that commit in the cache.
            warm = replace(target, revision=target.synced, synced="", cached=True) if target.synced else target
            round_trip(envs[target.env], client, warm)
        times: dict[Target, list[float]] = {t: [] for t in chosen}
        cpu: dict[Target, dict[str, list[float]]] = {t: {p: [] for p in PROCESSES} for t in chosen}
        loads = []
        for _ in range(rounds):
            loads.append(os.getloadavg()[0])
            for target in chosen:
                ms, used = round_trip(envs[target.env], client, target)
                times[target].append(ms)
                for name, seconds in used.items():
                    cpu[target][name].append(seconds)
            time.sleep(0.2)
        workdir_fs = filesystem(clusters[0].run)
    finally:
        for cluster in clusters:
            cluster.stop()
            if isinstance(cluster, MemoryCluster):
                shutil.rmtree(cluster.workdir, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)
    section = report(Results(times, cpu, rounds, loads, os.environ.get("E2E_VERSIONS", ""), workdir_fs))
    print(section)
    if not args.quick:
        DOC.write_text(with_section(DOC.read_text(), REPOSERVER_SECTION, section))
        print(f"wrote the section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
