#!/usr/bin/env python3
"""Benchmark: `mip-cmp generate` against `kubectl kustomize`, whole processes, side by side in one run.

    .venv/bin/python bench/bench.py            # the full run; rewrites docs/performance.md
    .venv/bin/python bench/bench.py --quick    # a smoke run (fewer repeats and sizes); prints only

What is measured (every number is the wall time of whole processes started the way argocd-cmp-server
starts them: argv without a shell, stdout and stderr captured through pipes, the Argo CD environment):

- per app: `mip-cmp generate` for the sample's federation-a app (from the checkout's root, with the
  parameters federation and directory, as Argo CD runs it), with the warm renderer (the default) and
  without it (MIP_CMP_RENDERER=off: one cold Python process), next to `kubectl kustomize` of mip-infra's
  deployments/local/federations/federation-A; runs alternate, round by round. Also what the very first call
  costs while the renderer starts, and how long until it listens.
- per commit: the sum over every app Argo CD renders with mip-cmp for a platform of N synthetic federations
  (the root app, and per federation its app and its secrets app: 2N+1), next to the same count of kustomize
  builds, and next to N builds (what mip-infra runs: one kustomize build per federation).
- the root app alone at each N: wall time and peak memory (max RSS of the process; with the renderer also the
  max RSS of the renderer's worker, which counts the pages it shares with the renderer).

Synthetic platforms are copies of sample-repo/ with N federations (alternating copies of the sample's two
federations, renamed) in a temporary directory. The renderer gets a private runtime directory there and is
stopped at the end. mip-cmp runs from a snapshot of plugin/mip_cmp taken at the start, its bytecode
compiled first, as in the image. The kustomize baseline needs the
mip-infra copy at ../shared/reference/mip-infra (relative to the repository root; or --mip-infra); without
it that column is left out, with a note.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import functools
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-repo"
DOC = ROOT / "docs" / "performance.md"
MIP_INFRA = ROOT.parent / "shared" / "reference" / "mip-infra"
FEDERATION_A = Path("deployments/local/federations/federation-A")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO_URL = "https://github.com/Medical-Informatics-Platform/mip-infra.git"
# `kubectl kustomize` of federation-A where the targets in seconds were set (2026-12-02, kustomize v5.8.1): what
# scales them to the machine of a run (_targets).
REFERENCE_KUSTOMIZE_S = 0.050
# docs/performance.md's section that bench/reposerver.py writes (it needs the real Argo CD): kept as it is when
# this script rewrites the rest.
REPOSERVER_SECTION = ("<!-- bench/reposerver.py: begin -->", "<!-- bench/reposerver.py: end -->")
REFRESH_SECTION = ("<!-- bench/refresh.py: begin -->", "<!-- bench/refresh.py: end -->")
SECTIONS = (REPOSERVER_SECTION, REFRESH_SECTION)  # written by those scripts; this one keeps them as they are


# --- running processes --------------------------------------------------------------------------------------


@dataclass
class Result:
    seconds: float
    maxrss_kib: int
    code: int
    stdout: bytes


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> Result:
    """One process, timed from spawn to reaped; stdout through a pipe as Argo CD reads it."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        code = proc.returncode
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} in {cwd} failed ({code}): {err.read().decode()[:2000]}")
    return Result(seconds, usage.ru_maxrss, code, out)


GNU_TIME = "/usr/bin/time"


def peak_kib(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bool]:
    """The process's own peak resident set size, and whether that is exact. A child's ru_maxrss also counts
    the memory of the process that forked it (this benchmark), so GNU time, a small process, starts it."""
    if Path(GNU_TIME).exists():
        with tempfile.NamedTemporaryFile("r") as out:
            run([GNU_TIME, "-f", "%M", "-o", out.name, *argv], cwd, env)
            return int(out.read().split()[-1]), True
    return run(argv, cwd, env).maxrss_kib, False


@dataclass
class Series:
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def ms(self) -> str:
        return f"{self.median * 1000:.1f} ms ({min(self.values) * 1000:.1f}–{max(self.values) * 1000:.1f})"

    def s(self) -> str:
        return f"{self.median:.2f} s ({min(self.values):.2f}–{max(self.values):.2f})"


def ratio(a: Series, b: Series | None) -> str:
    return f"{a.median / b.median:.2f}×" if b is not None and b.values else "n/a"


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


# --- the setup ----------------------------------------------------------------------------------------------


@dataclass
class App:
    label: str
    kind: str  # "root", "federation" or "secrets"
    params: list[dict[str, str]] | None
    rel: str = "."  # the app's source path: every app of the platform renders from the repository root


def make_platform(dest: Path, count: int) -> Path:
    """sample-repo/ with `count` federations: alternating renamed copies of the sample's two, each a copy of
    the whole directory (federation-a's overlay lives in it: without it half the platform would be broken,
    and the root would take the slow path of broken files). A hybrid copy gets a remote peer of its own (the
    platform assigns each peer to one federation), with addresses no other peer has."""
    repo = dest / f"platform-{count}"
    shutil.copytree(SAMPLE, repo, ignore=shutil.ignore_patterns("federations"))
    templates = sorted(path.parent for path in (SAMPLE / "federations").glob("*/mip.yaml"))
    width = max(4, len(str(count)))
    peers = []
    for i in range(1, count + 1):
        name = f"federation-{i:0{width}d}"
        directory = repo / "federations" / name
        shutil.copytree(templates[i % len(templates)], directory)
        source = (directory / "mip.yaml").read_text()
        old = source.split("\nname: ", 1)[1].split("\n", 1)[0]
        source = source.replace(f"\nname: {old}\n", f"\nname: {name}\n")
        if "\npeers: [" in source:
            listed = source.split("\npeers: [", 1)[1].split("]", 1)[0]
            source = source.replace(f"\npeers: [{listed}]", f"\npeers: [node-{name}]")
            peers.append(f"    node-{name}: {{federation: {name}, cidrs: [100.{64 + i // 256}.{i % 256}.0/24]}}\n")
        (directory / "mip.yaml").write_text(source)
    platform = repo / "mip.yaml"
    platform.write_text(platform.read_text().replace("\n  peers:\n", "\n  peers:\n" + "".join(peers), 1))
    return repo


def apps_of(repo: Path) -> list[App]:
    """The Applications of the platform, with the parameters its ApplicationSet and its own output set."""
    apps = [App("root", "root", None)]
    for fed in sorted(p.name for p in (repo / "federations").iterdir()):
        bound = [{"name": "federation", "string": fed}, {"name": "directory", "string": f"federations/{fed}"}]
        apps.append(App(fed, "federation", bound))
        apps.append(App(f"{fed}-secrets", "secrets", [*bound, {"name": "component", "string": "secrets"}]))
    return apps


class Env:
    """The sidecar's environment (as in the image) plus what Argo CD passes for an app (contract §4)."""

    def __init__(self, home: Path, runtime: Path, code: Path) -> None:
        self.sidecar = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LANG": "C.UTF-8",
                        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(code),
                        "PYDANTIC_DISABLE_PLUGINS": "__all__", "MIP_CMP_RENDERER_IDLE": "0",
                        "MIP_CMP_RUNTIME_DIR": str(runtime)}

    def app(self, app: App, *, renderer: bool = True) -> dict[str, str]:
        env = dict(self.sidecar)
        env.update({
            "ARGOCD_APP_NAME": app.label, "ARGOCD_APP_NAMESPACE": "argocd-mip-team",
            "ARGOCD_APP_PROJECT_NAME": "mip-federations", "ARGOCD_APP_REVISION": COMMIT,
            "ARGOCD_APP_REVISION_SHORT": COMMIT[:7], "ARGOCD_APP_REVISION_SHORT_8": COMMIT[:8],
            "ARGOCD_APP_SOURCE_REPO_URL": REPO_URL, "ARGOCD_APP_SOURCE_PATH": app.rel,
            "ARGOCD_APP_SOURCE_TARGET_REVISION": "main", "KUBE_VERSION": "1.30.2",
            "KUBE_API_VERSIONS": "v1,apps/v1,argoproj.io/v1alpha1,external-secrets.io/v1",
            "ARGOCD_APP_PARAMETERS": json.dumps(app.params) if app.params is not None else "null",
        })
        for param in app.params or []:
            env["PARAM_" + param["name"].upper()] = param["string"]
        if not renderer:
            env["MIP_CMP_RENDERER"] = "off"
        return env


def runtime_venv(work: Path) -> str | None:
    """A venv like the image's: the project's runtime dependencies only, and the `mip-cmp` script as pip installs
    it (the code itself comes from the snapshot on PYTHONPATH). The development venv is no stand-in: its .pth
    files (coverage, pre-commit-uv, the editable install) run in every process it starts and cost about as
    much as a warm render. Made with uv (from its cache: seconds); None without uv."""
    uv = shutil.which("uv")
    if uv is None:
        return None
    venv = work / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dependencies = project["project"]["dependencies"]
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *dependencies], check=True)
    script = venv / "bin" / "mip-cmp"
    # The project's own script, its `#!python` line rewritten as pip and uv rewrite it when they install it.
    [launcher] = project["tool"]["setuptools"]["script-files"]
    script.write_text(f"#!{venv / 'bin' / 'python'}\n" + (ROOT / launcher).read_text().partition("\n")[2])
    script.chmod(0o755)
    return str(script)


class Bench:
    def __init__(self, work: Path, mip_infra: Path | None, quick: bool) -> None:
        self.work, self.quick = work, quick
        bindir = Path(sys.executable).parent
        image_like = runtime_venv(work)
        mip_cmp = image_like or (str(bindir / "mip-cmp") if (bindir / "mip-cmp").exists() else shutil.which("mip-cmp"))
        kubectl = str(bindir / "kubectl") if (bindir / "kubectl").exists() else shutil.which("kubectl")
        if not mip_cmp:
            raise SystemExit("mip-cmp is not installed (pip install -e '.[dev]')")
        self.mip_cmp: str = mip_cmp
        self.interpreter = Path(self.mip_cmp).read_text().splitlines()[0].removeprefix("#!").strip()
        self.runtime = work / "runtime"
        self.runtime.mkdir()
        (work / "home").mkdir()
        # A snapshot of plugin/mip_cmp, compiled as in the image, so that edits made while this runs
        # (which would also start a renderer for the new code) do not reach the measurements.
        code = work / "code"
        shutil.copytree(ROOT / "plugin" / "mip_cmp", code / "mip_cmp", ignore=shutil.ignore_patterns("__pycache__"))
        compileall.compile_dir(str(code), quiet=1)
        self.env = Env(work / "home", self.runtime, code)
        self.compile_dependencies()
        where = subprocess.run([self.interpreter, "-P", "-c", "import mip_cmp; print(mip_cmp.__file__)"],
                               env=self.env.sidecar, capture_output=True, text=True, check=True).stdout
        assert Path(where.strip()).is_relative_to(code), f"mip_cmp is not imported from the snapshot: {where}"
        self.exact_memory = True
        self.own: Series | None = None  # the renderer's own count of CPU per request (own_cpu)
        self.kustomize: list[str] | None = None
        self.note = "" if image_like else (
            "uv not found: mip-cmp ran from the development venv, whose .pth files (coverage, pre-commit-uv, the "
            "editable install) every process of it runs at start; the image has none of them.")
        if mip_infra is not None and (mip_infra / FEDERATION_A).is_dir() and kubectl:
            self.kustomize = [kubectl, "kustomize", str(mip_infra / FEDERATION_A)]
        elif mip_infra is None or not (mip_infra / FEDERATION_A).is_dir():
            self.note += " mip-infra not found (../shared/reference/mip-infra): the kustomize baseline is left out."
        else:
            self.note += " kubectl not found: the kustomize baseline is left out."
        self.software = versions(self)  # read now: the work directory (and its venv) is gone by the report

    def compile_dependencies(self) -> None:
        """Compile the bytecode of the packages a render imports, as the image does at build time
        (Dockerfile). A venv installed without it (uv's default) would otherwise compile pydantic, PyYAML and
        jinja2 from source in every cold process (PYTHONDONTWRITEBYTECODE=1 keeps the result from being
        written): not what runs in the image, and several times slower."""
        code = ("import sys, sysconfig, jinja2.sandbox, mip_cmp.pipeline\n"
                "lib = sysconfig.get_path('purelib') + '/'\n"
                "files = [getattr(m, '__file__', None) or '' for m in list(sys.modules.values())]\n"
                "print(lib, *sorted({f.removeprefix(lib).split('/')[0] for f in files if f.startswith(lib)}))")
        lib, *names = subprocess.run([self.interpreter, "-P", "-c", code], env=self.env.sidecar,
                                     capture_output=True, text=True, check=True).stdout.split()
        subprocess.run([self.interpreter, "-m", "compileall", "-q", "-j", "0", *(lib + name for name in names)],
                       check=True, stdout=subprocess.DEVNULL)

    # the processes

    def generate(self, repo: Path, app: App, *, renderer: bool = True) -> Result:
        return run([self.mip_cmp, "generate"], repo / app.rel, self.env.app(app, renderer=renderer))

    def kustomize_once(self) -> Result | None:
        return run(self.kustomize, self.work, self.env.sidecar) if self.kustomize else None

    def python_pass(self) -> Result:
        return run([self.interpreter, "-c", "pass"], self.work, self.env.sidecar)

    def python(self, code: str) -> Result:
        """A Python process in the sidecar's environment (the snapshot of mip_cmp first on its path)."""
        return run([self.interpreter, "-P", "-c", code], self.work, self.env.sidecar)

    # the renderer

    def renderer_dir(self, runtime: Path | None = None) -> Path:
        return (runtime or self.runtime) / f"mip-cmp-{os.getuid()}"

    def renderer_pid(self, runtime: Path | None = None) -> int | None:
        for lock in self.renderer_dir(runtime).glob("renderer-*.lock"):
            text = lock.read_text().strip()
            if text and Path(f"/proc/{text}").exists():
                return int(text)
        return None

    def wait_for_renderer(self, repo: Path, app: App, runtime: Path | None = None) -> float:
        """Seconds until a renderer socket answers (polled)."""
        start = time.perf_counter()
        while not list(self.renderer_dir(runtime).glob("renderer-*.sock")):
            if time.perf_counter() - start > 60:
                raise SystemExit("the renderer did not start")
            time.sleep(0.005)
        return time.perf_counter() - start

    def ask(self, repo: Path, app: App) -> int:
        """The renderer worker's max RSS (KiB) for one request (asked as the console script would)."""
        code = ("import os, sys\nfrom mip_cmp.renderer import client\n"
                "a = client.ask(os.getcwdb(), dict(os.environb), start=False)\n"
                "print(a.maxrss_kib if a else -1)")
        out = run([self.interpreter, "-P", "-c", code], repo / app.rel, self.env.app(app)).stdout
        return int(out)

    def own_cpu(self, repo: Path, app: App, times: int) -> Series:
        """The renderer's own count: the CPU its worker reports with each answer (wire.Answer.cpu_us, the
        worker's rusage around the render), for `times` requests asked one after another."""
        code = ("import os, sys\nfrom mip_cmp.renderer import client\n"
                f"for _ in range({times}):\n"
                "    a = client.ask(os.getcwdb(), dict(os.environb), start=False)\n"
                "    print(a.cpu_us if a else -1)")
        out = run([self.interpreter, "-P", "-c", code], repo / app.rel, self.env.app(app)).stdout.split()
        assert all(int(us) >= 0 for us in out), "the renderer did not answer"
        return Series([int(us) / 1e6 for us in out])

    def renderer_memory(self) -> tuple[int, int, int]:
        """(parent RSS, spare workers, PSS of parent + spare workers) in KiB."""
        pid = self.renderer_pid()
        if pid is None:
            return 0, 0, 0
        rss = _status_kib(pid, "VmRSS")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pss = _pss_kib(pid) + sum(_pss_kib(int(c)) for c in children)
        return rss, len(children), pss

    def renderer_cpu(self) -> float:
        """CPU seconds the renderer has used so far: the kernel's counters of the renderer process, of its
        live workers and of every worker it has reaped."""
        pid = self.renderer_pid()
        if pid is None:
            return 0.0
        ticks = sum(_cpu_ticks(pid, children=True))
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            ticks += sum(_cpu_ticks(int(child), children=True))
        return ticks / os.sysconf("SC_CLK_TCK")

    def start_like_the_sidecar(self, runtime: Path) -> None:
        """What the image's entrypoint does: start the renderer, then become argocd-cmp-server (here: `true`)."""
        env = {**self.env.sidecar, "MIP_CMP_RUNTIME_DIR": str(runtime)}
        subprocess.run([self.interpreter, "-P", "-m", "mip_cmp.renderer.sidecar", "true"], env=env, check=True)

    def stop_renderers(self, runtime: Path | None = None) -> None:
        from mip_cmp.renderer import server as renderer

        pid = self.renderer_pid(runtime)
        renderer.stop(str(self.renderer_dir(runtime)))
        for _ in range(250):
            if not pid or not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.02)


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def exit_on_sigterm() -> None:
    """SIGTERM ends the script as an exception does, so its `finally` stops what it started (a cluster)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def cpu_seconds(*pids: int) -> float:
    """CPU seconds the processes have used so far, each with its reaped children (the kernel's counters)."""
    return sum(sum(_cpu_ticks(pid, children=True)) for pid in pids) / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int, *, children: bool) -> list[int]:
    """utime, stime (and the reaped children's cutime, cstime) of a process, in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return [0]
    return [int(x) for x in fields[11:15 if children else 13]]


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- the measurements --------------------------------------------------------------------------------------


def interleave(rounds: int, runners: dict[str, Callable[[], Result | None]]) -> dict[str, Series]:
    series = {name: Series() for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            result = runner()
            if result is not None:
                series[name].add(result.seconds)
    return {name: s for name, s in series.items() if s.values}


def per_app(bench: Bench, repo: Path, rounds: int) -> dict[str, Series]:
    app = next(a for a in apps_of(repo) if a.label == "federation-a")
    plain = bench.generate(repo, app, renderer=False).stdout
    bench.generate(repo, app)  # starts the renderer
    bench.wait_for_renderer(repo, app)
    for _ in range(3):
        assert bench.generate(repo, app).stdout == plain, "warm and plain outputs differ"
    # Each stage imports as `generate` does (cli._answer_once): the cyclic garbage collector paused, what the
    # imports built frozen after them.
    stages = {name: functools.partial(bench.python, f"import gc; gc.disable(); {code}; gc.freeze(); gc.enable()")
              for name, code, _ in COLD_STAGES}
    return interleave(rounds, {
        "kustomize": bench.kustomize_once,
        "warm": lambda: bench.generate(repo, app),
        "cold": lambda: bench.generate(repo, app, renderer=False),
        "python": bench.python_pass,
        **stages,
    })


# A cold run, cut into stages: each a process that goes one stage further than the one before (what
# `generate` imports, in the order it imports it); the full run is "cold". (name, code, what the stage adds)
COLD_STAGES = [
    ("stage-yaml", "import yaml", "PyYAML (its C parser and emitter)"),
    ("stage-pydantic", "import yaml; from pydantic import BaseModel, ConfigDict, Field, JsonValue, "
     "StringConstraints, model_validator",
     "pydantic and pydantic-core: what the modules of mip_cmp.model import, before any model is built"),
    ("stage-models", "import yaml; from mip_cmp.model import KINDS; [kind.model_rebuild() for kind in KINDS.values()]",
     "the mip.yaml models: their classes, and the schemas and validators of Platform and Federation (built on "
     "first use)"),
    ("stage-modules", "import mip_cmp.cli, mip_cmp.answer, mip_cmp.renderer.client, mip_cmp.pipeline",
     "the rest of the generate path's modules (loading, expand, gate, emit, ...)"),
]


def first_calls(bench: Bench, repo: Path, times: int) -> tuple[Series, Series]:
    """The first call after the sidecar starts (its entrypoint starts the renderer; the call comes once it
    listens), and how long the renderer takes from the sidecar's start until it listens."""
    app = next(a for a in apps_of(repo) if a.label == "federation-a")
    first, ready = Series(), Series()
    for i in range(times):
        runtime = bench.work / f"fresh-{i}"
        runtime.mkdir()
        env = bench.env.app(app)
        env["MIP_CMP_RUNTIME_DIR"] = str(runtime)
        start = time.perf_counter()
        bench.start_like_the_sidecar(runtime)
        bench.wait_for_renderer(repo, app, runtime)
        ready.add(time.perf_counter() - start)
        first.add(run([bench.mip_cmp, "generate"], repo / app.rel, env).seconds)
        bench.stop_renderers(runtime)
    return first, ready


@dataclass
class RootRow:
    federations: int
    warm: Series
    cold: Series
    warm_client_kib: int
    warm_worker_kib: int
    cold_kib: int
    output_bytes: int


def roots_alone(bench: Bench, platforms: dict[int, Path], sizes: list[int], rounds: int) -> list[RootRow]:
    """The root app at every size, the sizes alternating within each round (so that a busy spell of the
    machine hits every size alike), warm and cold alternating too."""
    app = App("root", "root", None)
    plain = {}
    for n in sizes:
        plain[n] = bench.generate(platforms[n], app, renderer=False).stdout
        assert bench.generate(platforms[n], app).stdout == plain[n], "warm and plain outputs differ"
    warm = {n: Series() for n in sizes}
    cold = {n: Series() for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            warm[n].add(bench.generate(platforms[n], app).seconds)
            cold[n].add(bench.generate(platforms[n], app, renderer=False).seconds)
    rows = []
    argv = [bench.mip_cmp, "generate"]
    for n in sizes:
        client_kib, exact = peak_kib(argv, platforms[n], bench.env.app(app))
        cold_kib, _ = peak_kib(argv, platforms[n], bench.env.app(app, renderer=False))
        bench.exact_memory = exact
        rows.append(RootRow(n, warm[n], cold[n], client_kib, bench.ask(platforms[n], app), cold_kib,
                            len(plain[n])))
    return rows


@dataclass
class CommitRow:
    federations: int
    apps: int
    warm: Series  # every app: root, N federation apps, N secrets apps
    warm_main: Series  # the root and the N federation apps only
    kustomize_same: Series  # one build per app (2N+1)
    kustomize_per_federation: Series  # one build per federation (N)
    cold: Series | None


def per_commit(bench: Bench, repo: Path, count: int, rounds: int, cold_rounds: int) -> CommitRow:
    apps = apps_of(repo)
    for app in apps[:3]:
        assert bench.generate(repo, app).stdout == bench.generate(repo, app, renderer=False).stdout
    warm, main, same, per_fed = Series(), Series(), Series(), Series()
    for _ in range(rounds):
        total = total_main = k_same = k_fed = 0.0
        for app in apps:  # alternate: one generate, one kustomize build
            seconds = bench.generate(repo, app).seconds
            total += seconds
            is_main = app.kind != "secrets"
            total_main += seconds if is_main else 0.0
            k = bench.kustomize_once()
            if k is not None:
                k_same += k.seconds
                k_fed += k.seconds if app.kind == "federation" else 0.0
        warm.add(total)
        main.add(total_main)
        if bench.kustomize:
            same.add(k_same)
            per_fed.add(k_fed)
    cold = None
    if cold_rounds:
        cold = Series()
        for _ in range(cold_rounds):
            cold.add(sum(bench.generate(repo, app, renderer=False).seconds for app in apps))
    return CommitRow(count, len(apps), warm, main, same, per_fed, cold)


@dataclass
class ConcurrentRow:
    federations: int
    apps: int
    parallel: int
    warm: Series
    kustomize: Series
    cold: Series | None
    cpu_ms: list[float]  # renderer CPU per request, one value per warm round


def at_a_time(parallel: int, jobs: list[Callable[[], Result | None]]) -> float:
    """Wall time of running every job, `parallel` at a time (as a repo-server renders the apps of a commit)."""
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda job: job(), jobs))
    return time.perf_counter() - start


def concurrent_commit(bench: Bench, repo: Path, count: int, parallel: int, rounds: int,
                      cold_rounds: int) -> ConcurrentRow:
    """Every app of one commit (2N+1) rendered `parallel` at a time, warm and cold, against the same count of
    kustomize builds run the same way; rounds alternate. Renderer CPU per request from its own counters."""
    apps = apps_of(repo)
    warm, kust, cpu = Series(), Series(), []
    for _ in range(rounds):
        before = bench.renderer_cpu()
        warm.add(at_a_time(parallel, [functools.partial(bench.generate, repo, app) for app in apps]))
        cpu.append((bench.renderer_cpu() - before) * 1000 / len(apps))
        if bench.kustomize:
            kust.add(at_a_time(parallel, [bench.kustomize_once for _ in apps]))
    cold = None
    if cold_rounds:
        cold = Series()
        for _ in range(cold_rounds):
            cold.add(at_a_time(parallel, [functools.partial(bench.generate, repo, app, renderer=False)
                                              for app in apps]))
    return ConcurrentRow(count, len(apps), parallel, warm, kust, cold, cpu)


def validate_times(bench: Bench, repo: Path, rounds: int) -> Series:
    times = Series()
    for _ in range(rounds):
        times.add(run([bench.mip_cmp, "validate", str(repo)], bench.work, bench.env.sidecar).seconds)
    return times


# --- the report -------------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return [f"{cpu}, {os.cpu_count()} CPUs, {mem / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}"]


def versions(bench: Bench) -> str:
    code = ("import sys, yaml, pydantic, jinja2; print(sys.version.split()[0], yaml.__version__, "
            "yaml.__with_libyaml__, pydantic.VERSION, jinja2.__version__)")
    py, pyyaml, libyaml, pyd, jinja = subprocess.run([bench.interpreter, "-c", code], capture_output=True,
                                                     text=True, check=True).stdout.split()
    text = f"Python {py}, PyYAML {pyyaml} (libyaml: {libyaml}), pydantic {pyd}, jinja2 {jinja}"
    if bench.kustomize:
        info = json.loads(subprocess.run([bench.kustomize[0], "version", "--client", "-o", "json"],
                                         capture_output=True, text=True, check=True).stdout)
        text += f"; kubectl {info['clientVersion']['gitVersion']} (kustomize {info.get('kustomizeVersion', '?')})"
    return text


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _cold_stages(app: dict[str, Series], k: Series | None) -> list[str]:
    """Where a cold run's time goes: the stages of COLD_STAGES, measured in the same rounds as the rest of
    the per-app table, each as the difference of its median (and of its fastest run) from the stage before."""
    if not all(name in app for name, _, _ in COLD_STAGES) or "python" not in app or "cold" not in app:
        return []
    lines = ["### Where a cold run's time goes", "",
             "Processes that stop after each stage of what a cold `generate` does, measured in the same rounds; "
             "each stage's cost is the difference from the stage before (medians, and fastest runs, which the "
             "machine's other work disturbs least).", "",
             "| stage | process up to it | added, medians | added, fastest |", "|---|---|---|---|"]
    steps = [("python", "the interpreter starting (`python -c pass`)"),
             *((name, what) for name, _, what in COLD_STAGES),
             ("cold", "reading, checking, expanding and writing the app: the render itself, and the client")]
    before: Series | None = None
    for name, what in steps:
        s = app[name]
        added_med = s.median - (before.median if before else 0.0)
        added_min = min(s.values) - (min(before.values) if before else 0.0)
        lines.append(f"| {what} | {s.ms()} | {added_med * 1000:.1f} ms | {added_min * 1000:.1f} ms |")
        before = s
    if k is not None:
        lines += ["", f"Fastest runs: cold {min(app['cold'].values) * 1000:.1f} ms, kustomize "
                  f"{min(k.values) * 1000:.1f} ms: {min(app['cold'].values) / min(k.values):.2f}× (medians: "
                  f"{ratio(app['cold'], k)})."]
    return [*lines, ""]


def _growth(roots: list[RootRow]) -> list[str]:
    """The root's cost per added federation between two measured sizes."""
    if len(roots) < 2:
        return []
    lines = ["", "Cost per added federation, between two sizes (difference of the medians, and of the "
             "fastest runs, which the machine's other work disturbs least):", "",
             "| sizes | warm, medians | warm, fastest | cold, medians | cold, fastest |", "|---|---|---|---|---|"]
    for a, b in itertools.pairwise(roots):
        step = (b.federations - a.federations) / 1000

        def per(x: Series, y: Series, pick: Callable[[list[float]], float], step: float = step) -> str:
            return f"{(pick(y.values) - pick(x.values)) / step:.2f} ms"

        lines.append(f"| {a.federations} → {b.federations} | {per(a.warm, b.warm, statistics.median)} | "
                     f"{per(a.warm, b.warm, min)} | {per(a.cold, b.cold, statistics.median)} | "
                     f"{per(a.cold, b.cold, min)} |")
    return [*lines, "", "Linear growth shows as the same cost per federation between all sizes."]


def report(bench: Bench, args: argparse.Namespace, app: dict[str, Series], first: tuple[Series, Series],
           roots: list[RootRow], commits: list[CommitRow], memory: tuple[int, int, int],
           loads: list[float], elapsed: float, concurrent: list[ConcurrentRow], validated: Series | None) -> str:
    k = app.get("kustomize")
    command = ".venv/bin/python bench/bench.py" + (" --quick" if args.quick else "")
    lines = [
        "# Performance",
        "",
        "<!-- Written by bench/bench.py; do not edit by hand. -->",
        "",
        f"Measured by `{command}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, in one run "
        f"({elapsed / 60:.0f} min), every process started the way argocd-cmp-server starts it (argv, pipes, "
        "the Argo CD environment). Times are medians with min–max in parentheses.",
        "",
        f"- Machine: {machine()[0]}; 1-minute load average between {min(loads):.1f} and {max(loads):.1f} "
        "during the run (sampled at each step)"
        + ": the steps that start several apps at a time load the machine themselves, and the 1-minute "
        "average lags behind them; a load well above 2 outside them means other work shared the machine.",
        f"- Software: {bench.software}.",
        "- `mip-cmp generate` runs as in the image: from a venv holding only the runtime dependencies, a "
        "snapshot of plugin/mip_cmp taken at the start (first on PYTHONPATH), its bytecode and that of the "
        "packages it imports compiled beforehand, PYTHONDONTWRITEBYTECODE=1.",
        "- \"warm\" is the default path (a warm renderer answers; see [How](#how)); \"cold\" is "
        "MIP_CMP_RENDERER=off, one fresh Python process doing everything.",
    ]
    if bench.note:
        lines += [f"- Note: {bench.note.strip()}"]
    lines += ["", "## Per app", "",
              "One federation app: `mip-cmp generate` for the sample's federation-a, run the way the platform's "
              "Application makes Argo CD run it (in the checkout's root, with the parameters federation and "
              "directory), against `kubectl kustomize deployments/local/federations/federation-A` of mip-infra "
              f"(what Argo CD runs for that federation today), alternating, {len(app['warm'].values)} rounds.",
              "",
              "| command | wall time | vs kustomize |", "|---|---|---|"]
    names = {"kustomize": "`kubectl kustomize` mip-infra federation-A", "warm": "`mip-cmp generate`, warm",
             "cold": "`mip-cmp generate`, cold (MIP_CMP_RENDERER=off)",
             "python": "`python -c pass` (interpreter start alone, for scale)"}
    for name, label in names.items():
        if name in app:
            lines.append(f"| {label} | {app[name].ms()} | {ratio(app[name], k)} |")
    lines += [f"| `mip-cmp generate`, first call after the sidecar starts (its entrypoint started the renderer) | "
              f"{first[0].ms()} | {ratio(first[0], k)} |",
              f"| ... time from the sidecar's start until the renderer listens | {first[1].ms()} | |", ""]
    lines += _cold_stages(app, k)
    rss, spares, pss = memory
    lines += [f"Keeping the renderer warm costs {mib(rss)} resident in the renderer process plus its {spares} "
              f"workers: {mib(pss)} proportional set size (PSS) for all of them together.", ""]
    lines += _several_at_a_time(concurrent)
    if bench.own is not None:
        lines += ["The renderer's own count, for comparison: the CPU its worker reports with each answer (its "
                  f"rusage around the render alone) was {bench.own.ms()} for federation-a ({len(bench.own.values)} "
                  "requests one after another); the kernel's figure above adds accepting, forking replacement "
                  "workers and the renderer's bookkeeping.", ""]
    lines += ["## Per commit", "",
              "Every app Argo CD renders with mip-cmp for one commit of a platform with N federations: the root "
              "app, and per federation its app and its secrets app (2N+1 `generate` runs), one after another, "
              "each followed by one kustomize build. mip-infra renders one kustomize build per federation (N, "
              "and a Helm render per federation project that is not counted here). Sums of wall times:", "",
              "| N | `generate` runs | mip-cmp, warm: all apps | of which the root and the federation apps (N+1) "
              "| mip-cmp, cold: all apps | kustomize × (2N+1) | kustomize × N |",
              "|---|---|---|---|---|---|---|"]
    for c in commits:
        same = c.kustomize_same.s() if c.kustomize_same.values else "n/a"
        fed = c.kustomize_per_federation.s() if c.kustomize_per_federation.values else "n/a"
        lines.append(f"| {c.federations} | {c.apps} | {c.warm.s()} | {c.warm_main.s()} | "
                     f"{c.cold.s() if c.cold else 'not run'} | {same} | {fed} |")
    lines += ["", "Ratios of the medians:", "",
              "| N | all apps ÷ kustomize × (2N+1) | all apps ÷ kustomize × N | root and federation apps ÷ "
              "kustomize × N | cold, all apps ÷ kustomize × (2N+1) |", "|---|---|---|---|---|"]
    for c in commits:
        same_s = c.kustomize_same if c.kustomize_same.values else None
        fed_s = c.kustomize_per_federation if c.kustomize_per_federation.values else None
        lines.append(f"| {c.federations} | {ratio(c.warm, same_s)} | {ratio(c.warm, fed_s)} | "
                     f"{ratio(c.warm_main, fed_s)} | {ratio(c.cold, same_s) if c.cold else 'not run'} |")
    lines += ["", "## The root app alone", "",
              f"The app whose work grows with N ({args.root_rounds} rounds each). Peak memory is the maximum "
              "resident set size of the `mip-cmp` process (started by GNU time, so that it is its own"
              + ("" if bench.exact_memory else "; GNU time was missing, so it includes this benchmark's memory")
              + "), and with the warm renderer also of the worker that rendered (it counts the pages it shares "
              "with the renderer, so the sum overstates).", "",
              "| N | output | warm | peak memory, warm: client + worker | cold | peak memory, cold |",
              "|---|---|---|---|---|---|"]
    for r in roots:
        lines.append(f"| {r.federations} | {r.output_bytes / 1024:.0f} KiB | {r.warm.ms()} | "
                     f"{mib(r.warm_client_kib)} + {mib(r.warm_worker_kib)} | {r.cold.ms()} | {mib(r.cold_kib)} |")
    lines += _growth(roots)
    lines += _targets(bench, app, first, roots, concurrent, validated)
    lines.append("| warm and cold output byte-identical | checked in every case above before it is timed | met |")
    lines += ["", "## How", "", HOW, ""]
    return "\n".join(lines)


def _targets(bench: Bench, app: dict[str, Series], first: tuple[Series, Series], roots: list[RootRow],
             concurrent: list[ConcurrentRow], validated: Series | None) -> list[str]:
    """The table of issue 14's targets, each with what this run measured. The ratios hold on any machine; the
    targets in seconds were set where kustomize of federation-A took REFERENCE_KUSTOMIZE_S, so they are scaled by
    this run's kustomize time (the one process whose work never changes): the same machine kind runs two to three
    times slower on some days, the interpreter's start included. Memory is not scaled."""
    k = app.get("kustomize")
    scale = k.median / REFERENCE_KUSTOMIZE_S if k is not None else None
    factor = scale or 1.0  # the targets' seconds as they apply here
    lines: list[str] = []
    lines += ["", "## Targets", ""]
    if k is not None:
        lines += [f"Time targets in seconds were set on a machine where `kubectl kustomize` of federation-A took "
                  f"{REFERENCE_KUSTOMIZE_S * 1000:.0f} ms; this run's took {k.ms()}, so they are scaled by "
                  f"{scale:.2f}. Ratios and memory are not scaled.", ""]
    lines += ["| target | measured | |", "|---|---|---|"]
    if k is not None:
        lines.append(f"| per app, warm: ≤ 0.4× `kubectl kustomize` of federation-A | {ratio(app['warm'], k)} | "
                     f"{verdict(app['warm'].median <= 0.4 * k.median)} |")
        four = next((row for row in concurrent if row.parallel == 4 and row.kustomize.values), None)
        if four is not None:
            lines.append(f"| {four.federations}-federation commit, 4 apps at a time: ≤ 0.5× kustomize run the same "
                         f"way | {ratio(four.warm, four.kustomize)} | "
                         f"{verdict(four.warm.median <= 0.5 * four.kustomize.median)} |")
        lines.append(f"| first call after the sidecar starts: ≤ 1.0× | {ratio(first[0], k)} | "
                     f"{verdict(first[0].median <= k.median)} |")
        fastest = min(app["cold"].values) / min(k.values)
        lines.append(f"| cold, no renderer: ≤ 2.0× | {ratio(app['cold'], k)} (fastest runs: {fastest:.2f}×; "
                     "[where the time goes](#where-a-cold-runs-time-goes)) | "
                     f"{verdict(app['cold'].median <= 2 * k.median)} |")
    if concurrent:
        worst = max(statistics.median(row.cpu_ms) for row in concurrent)
        own = f"; the worker's own count {bench.own.median * 1000:.1f} ms" if bench.own is not None else ""
        lines.append(f"| renderer CPU per request {_time_target(0.015, scale)} | at most {worst:.1f} ms (median per "
                     f"batch, kernel counters{own}) | {verdict(worst <= 15 * factor)} |")
    thousand = next((r for r in roots if r.federations == 1000), None)
    if thousand is not None:
        mem = thousand.warm_client_kib + thousand.warm_worker_kib
        lines.append(f"| root at 1000 federations: warm {_time_target(0.5, scale)}, ≤ 100 MiB | warm "
                     f"{thousand.warm.ms()}, {mib(mem)} (client + worker; cold {thousand.cold.ms()}, "
                     f"{mib(thousand.cold_kib)}) | "
                     f"{verdict(thousand.warm.median <= 0.5 * factor and mem <= 100 * 1024)} |")
    if validated is not None:
        lines.append(f"| `mip-cmp validate` at 1000 federations: {_time_target(2, scale)} | {validated.s()} | "
                     f"{verdict(validated.median <= 2 * factor)} |")
    return lines


def _time_target(seconds: float, scale: float | None) -> str:
    """A time target as set, and as it applies to this run's machine (`scale`: None, not measured)."""
    set_as = f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"
    return f"≤ {set_as}" if scale is None else f"≤ {set_as} (here {scale:.2f}× that: {_seconds(seconds * scale)})"


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _several_at_a_time(concurrent: list[ConcurrentRow]) -> list[str]:
    """The section on a commit's apps rendered several at a time (none if that case did not run)."""
    if not concurrent:
        return []
    lines: list[str] = []
    lines += ["## Several apps at a time", "",
              "A repo-server renders the apps of a commit several at a time. Every app of one commit (2N+1 "
              "`generate` runs) started P at a time, against as many `kubectl kustomize` builds of "
              "federation-A run the same way; wall time of the whole batch. Renderer CPU per request is the "
              "CPU the renderer (its process, its workers, live and reaped) used during the warm batch, "
              "from the kernel's counters, divided by the number of requests.", "",
              "| N | apps | P at a time | mip-cmp, warm | kustomize | warm ÷ kustomize | renderer CPU per "
              "request | mip-cmp, cold | cold ÷ kustomize |", "|---|---|---|---|---|---|---|---|---|"]
    for row in concurrent:
        kust = row.kustomize if row.kustomize.values else None
        lines.append(f"| {row.federations} | {row.apps} | {row.parallel} | {row.warm.s()} | "
                     f"{kust.s() if kust else 'n/a'} | {ratio(row.warm, kust)} | "
                     f"{statistics.median(row.cpu_ms):.1f} ms | {row.cold.s() if row.cold else 'not run'} | "
                     f"{ratio(row.cold, kust) if row.cold else 'not run'} |")
    lines.append("")
    return lines


HOW = """\
- **A warm renderer** (plugin/mip_cmp/renderer/: client, server, wire). A fresh Python process spends far
  longer importing pydantic, PyYAML and jinja2 than rendering. `mip-cmp generate` therefore imports nothing
  heavy: it connects to a renderer over a unix socket in a private directory of the sidecar's /tmp
  (`mip-cmp-<uid>/`, mode 0700, owner checked, peer uid checked), sends its working directory and
  environment, and writes back the exit code, stdout and stderr that a worker of the renderer got from
  `answer(cwd, environ)` (plugin/mip_cmp/answer.py), the pure function the in-process path calls too: the same
  bytes (tests/test_fast_path.py compares whole processes, errors included). Workers are forked from a
  process that has imported and rendered once, then frozen (`gc.freeze`); they stay warm across requests
  (never re-warmed), each request under its own process limits and watched by the renderer
  (docs/security.md, "The warm renderer"). In the image the renderer starts with the sidecar (its entrypoint:
  `tini`, then plugin/mip_cmp/renderer/sidecar.py); elsewhere the first client starts it and renders
  in-process meanwhile. Anything short of a complete answer (no renderer, stale socket, unsafe directory,
  timeout, crash, malformed answer) makes the client render in-process: correctness never depends on the
  renderer. MIP_CMP_RENDERER=off turns it off.
- **A lean cold path** (no renderer: one Python process imports, renders and exits). What it does not do:
  scan installed packages for pydantic plugins (PYDANTIC_DISABLE_PLUGINS; and for the pydantic releases
  checked in `coldstart.PLUGIN_LOADER_CHECKED`, pydantic's plugin loader is not even loaded, so neither are
  importlib.metadata, email and zipfile); import jinja2 for templates that are only text and plain lookups
  (`{{ federation.name }}.example.org`: rendered by templating.py with jinja2's result, checks and budget
  charges); let pydantic parse the text signature of `list` and `dict` for every empty default; run the
  cyclic garbage collector over what importing built (cli._answer_once pauses it while the pipeline is
  imported and then freezes those objects: no collection, and not the one at exit, scans them again); parse
  positions it does not need (yamlsource.parse_plain first, the parse with positions only to locate a
  problem); resolve a path below an already resolved directory again (one `lstat` unless a symlink).
  Each step was measured on this machine in one run: the six versions of plugin/mip_cmp (before, then after
  each step) and kustomize interleaved, 30 rounds of the sample's federation-a, cold, load average 4.5–5.4
  (shared machine); medians:

  | step | wall | CPU |
  |---|---|---|
  | before | 453 ms | 348 ms |
  | empty defaults without text signatures | 436 ms | 342 ms |
  | plain lookups without jinja2 | 385 ms | 293 ms |
  | no plugin loader | 356 ms | 264 ms |
  | the collector paused while importing, then frozen | 268 ms | 211 ms |
  | annotations evaluated once, validators built on first use | 270 ms | 203 ms |
  | `kubectl kustomize` of federation-A, alongside | 114 ms | 85 ms |

  What is left is in [the stage table](#where-a-cold-runs-time-goes): starting the interpreter; importing
  PyYAML (its reader compiles a large regular expression); importing pydantic and pydantic-core, the
  largest part and out of mip-cmp's hands (BaseModel brings pydantic's schema generator, its JSON Schema
  module, pydantic-core's schema types and annotated-types); building the validators of Platform and
  Federation; the render itself (a few milliseconds) and the interpreter's exit (about 8 ms once the
  imports are frozen; `os._exit` would skip it, and with it the exit handlers that coverage and others rely
  on). pydantic stays on the validation path (the format is defined once, as models), and importing it
  alone takes longer than kustomize's whole run, so a cold run stays above 2× kustomize's time; the warm
  renderer is the answer to the cold start, and the image starts it with the sidecar.
- **A direct YAML writer** (plugin/mip_cmp/stage5_write/fastyaml.py). PyYAML's C dumper still builds and resolves a node
  per value in Python; for the subset mip-cmp emits (block style, plain or single-quoted ASCII strings,
  integers, booleans, null) the text is written directly, about ten times faster; any other document is
  left to PyYAML. Tested against PyYAML on real outputs and generated data. Its caches of texts (shared by
  the renders of a warm worker) are emptied past 50,000 entries.
- **YAML, not JSON, decided by measurement** (bench/output_format.py, CPU time of writing the same objects,
  interleaved, 21 rounds, on this shared 2-core machine at a load average of 7–13): the root app of 1,000
  federations (3,017 objects) took 132.9 ms (99.3–280.8) with emit.dump and 150.1 ms (89.4–174.4) as JSON
  documents (6.21 MB against 6.04 MB); federation-a 0.2 ms either way (6,232 bytes against 5,671). Earlier
  runs found JSON ahead (107–147 ms against 162–280 ms; 99–116 ms against 118–165 ms): the difference is
  within what the machine's other work moves (this run has YAML ahead), at most 20–50 ms of CPU, a tenth of
  the root's warm render at that size (383 ms, within its 0.5 s target either way), and nothing for a
  federation's apps. What JSON would not change: Argo CD reads each document of a plugin's output with
  sigs.k8s.io/yaml either way (gitops-engine's SplitYAML: go-yaml, then encoding/json), so JSON is no cheaper
  for the repo-server to read. The hazards JSON avoids by construction are already closed and tested: a string
  YAML 1.1 (go-yaml v2, which Argo CD uses) would read as a boolean, a number or null is quoted
  (fastyaml.go_yaml_reads_as_string; tests/security/test_output_types.py); and a character Argo CD cannot read
  back (DEL, the C1 controls, NEL, U+FFFE and U+FFFF) is refused at the input with its file and line, a hazard
  JSON would not remove: Argo CD itself writes what it read as JSON, those characters unescaped, and reads
  that again with go-yaml (yamlsource.py). What JSON would cost: `render` and the golden cases are read by
  people, so a second writer would stay for them, and every expected stream (golden cases, the CMP harness,
  the e2e suite) would change at once. So `generate` keeps its YAML writer, and there is one.
- **No import that the input does not need**: the client imports only builtin modules; jinja2 is imported only
  when a string holds a template that is more than plain lookups; kubernetes, jsonschema and testcontainers
  never on the generate path (tested). The C YAML loader and dumper are used when PyYAML has them. Each file
  is parsed once per render. The image compiles all bytecode at build time. The `mip-cmp` command is a plain
  script (plugin/mip-cmp, installed by pyproject.toml's script-files), not the wrapper pip and uv write for an
  entry point: that one imports `re` (and with it enum, functools and collections) before anything of
  mip-cmp, about 20 ms of CPU per call, a third of a warm `generate` (median CPU 53 ms with it, 34 ms without,
  30 alternating runs at a load average of 9.6).

### Operating the renderer

| setting | default | meaning |
|---|---|---|
| `MIP_CMP_RENDERER` | `auto` | `off`: never use a renderer; every call renders in its own process |
| `MIP_CMP_RUNTIME_DIR` | `$TMPDIR` or `/tmp` | where the private `mip-cmp-<uid>/` (socket, lock) goes |
| `MIP_CMP_RENDERER_TIMEOUT` | `30` | seconds a call waits for an answer before rendering in its own process |
| `MIP_CMP_RENDERER_IDLE` | `900` | seconds an idle renderer lives; `0`: for ever |
| `MIP_CMP_DEBUG` | unset | set: a call that could not use the renderer says why on stderr |

- One renderer per uid, code version and Python settings (the socket name carries a fingerprint of them), so
  after an upgrade the old one is never asked and idles out. Its pid is in `renderer-*.lock`; SIGTERM stops it.
- The renderer leaves when its socket is deleted (an operator's way to replace it); a call that gets no answer
  within its timeout only gives up its own request.
- In the image, PID 1 is `tini`, which reaps the renderer and anything orphaned; the image sets
  `MIP_CMP_RENDERER_IDLE=0`, so the renderer started with the sidecar stays for its life.
"""


def with_section(text: str, markers: tuple[str, str], section: str | None = None) -> str:
    """`text` with the section between `markers` (one another script writes): `section`, or None: the one
    docs/performance.md holds now; in place of the one `text` holds, else at its end after a blank line."""
    begin, end = markers

    def cut(doc: str) -> tuple[str, str, str]:
        if begin not in doc:
            return doc, "", ""
        start, stop = doc.index(begin), doc.index(end) + len(end)
        return doc[:start], doc[start:stop], doc[stop:]

    before, current, after = cut(text)
    chosen = (cut(DOC.read_text() if DOC.exists() else "")[1] if section is None else section).strip("\n")
    if current:
        return before + chosen + after if chosen else before.rstrip("\n") + "\n" + after.lstrip("\n")
    return text.rstrip("\n") + "\n" + (f"\n{chosen}\n" if chosen else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer rounds and sizes; prints only")
    parser.add_argument("--mip-infra", type=Path, default=MIP_INFRA, help="the mip-infra checkout (baseline)")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="federation counts of the root alone (default: 10,100,1000; --quick: 10,100)")
    parser.add_argument("--commit-sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="federation counts of a whole commit, one app at a time (default: 10,100; --quick: 10)")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="write docs/performance.md (default: yes, except with --quick)")
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100] if args.quick else [10, 100, 1000])
    commit_sizes = args.commit_sizes or ([10] if args.quick else [10, 100])
    concurrent_size = 10 if args.quick else 100
    app_rounds = 8 if args.quick else 30
    args.root_rounds = 3 if args.quick else 9
    write = (not args.quick) if args.write is None else args.write

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # clean up on the way out
    started = time.perf_counter()
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mip-cmp-bench-") as tmp:
        work = Path(tmp)
        bench = Bench(work, args.mip_infra, args.quick)
        try:
            platforms = {n: make_platform(work, n)
                         for n in sorted({*sizes, *commit_sizes, concurrent_size, 10})}
            sample = work / "sample"
            shutil.copytree(SAMPLE, sample)
            loads.append(os.getloadavg()[0])
            print("per app ...", flush=True)
            app = per_app(bench, sample, app_rounds)
            memory = bench.renderer_memory()
            bench.own = bench.own_cpu(sample, next(a for a in apps_of(sample) if a.label == "federation-a"), 20)
            loads.append(os.getloadavg()[0])
            print("first calls ...", flush=True)
            first = first_calls(bench, sample, 3 if args.quick else 6)
            loads.append(os.getloadavg()[0])
            print("root alone ...", flush=True)
            roots = roots_alone(bench, platforms, sizes, args.root_rounds)
            validated = None
            if 1000 in platforms:
                print("validate, 1000 federations ...", flush=True)
                validated = validate_times(bench, platforms[1000], 3)
            concurrent = []
            for parallel in (4, 8):
                loads.append(os.getloadavg()[0])
                print(f"{concurrent_size} federations, {parallel} apps at a time ...", flush=True)
                concurrent.append(concurrent_commit(bench, platforms[concurrent_size], concurrent_size, parallel,
                                                    2 if args.quick else 5, 1 if parallel == 4 else 0))
            commits = []
            for n in commit_sizes:
                loads.append(os.getloadavg()[0])
                print(f"per commit, {n} federations ...", flush=True)
                rounds = 2 if args.quick else 3
                cold_rounds = 0 if args.quick else 1
                commits.append(per_commit(bench, platforms[n], n, rounds, cold_rounds))
        finally:
            bench.stop_renderers()
    loads.append(os.getloadavg()[0])
    text = report(bench, args, app, first, roots, commits, memory, loads,
                  time.perf_counter() - started, concurrent, validated)
    print(text)
    if write:
        for markers in SECTIONS:
            text = with_section(text, markers)
        DOC.write_text(text)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
