"""The sample platform as the suite serves it, and what the suite reads back from Argo CD.

`PlatformRepo` is a working copy of sample-repo/ whose `repoURL` is the loopback git server's; `push()`
publishes a change and asks Argo CD to look at once. `install()` does what docs/operations.md's first install
says (`mip-cmp bootstrap`, applied), `Argo` reads Applications and waits for conditions on them, and
`repo_server_manifests` reads the manifests the real repo-server produced for an Application out of its
Redis cache.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cmpserver
from cmpserver import Expansion, Rendered, bootstrap_objects, follow, root_application
from e2e.cluster import ARGO_API, ARGOCD_NAMESPACE, ARGOCD_VERSION, Cluster, HarnessError
from helpers import run_cli, yaml_documents
from mip_cmp.contract.params import DIRECTORY, FEDERATION

SAMPLE_REPO = Path(__file__).resolve().parents[2] / "sample-repo"
BRANCH = "main"
SYNCED = "Synced"
PLUGIN = "mip-cmp"
ROOT = "mip-platform"
# Long enough for a first sync on a loaded two-core machine (it takes about 30 s on a quiet one).
CONVERGE_SECONDS = 600
# Store keys and the properties read from each (the fake provider's entries hold a JSON object of them).
Keys = dict[str, set[str]]

Apps = dict[str, dict[str, Any]]


def declare_argocd(platform: str, version: str) -> str:
    """The platform's mip.yaml text declaring the Argo CD release it runs (docs/operations.md, "Upgrade Argo
    CD"): `argocd.version`."""
    return re.sub(r"(?m)^(argocd:\n(?:  .*\n)*?  version:) *v[0-9.]+", rf"\g<1> {version}", platform)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise HarnessError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class PlatformRepo:
    """A copy of a directory (sample-repo/ by default) in a git repository the loopback server serves."""

    cluster: Cluster
    work: Path
    name: str

    @property
    def url(self) -> str:
        return self.cluster.repo_url(self.name)

    def create(self, source: Path = SAMPLE_REPO, message: str = "the sample platform") -> PlatformRepo:
        bare = self.cluster.git_root / f"{self.name}.git"
        git(self.cluster.git_root, "init", "-q", "--bare", "-b", BRANCH, bare.name)
        shutil.copytree(source, self.work)
        platform = self.work / "mip.yaml"
        if platform.exists():
            text = re.sub(r"(?m)^repoURL: .*$", f"repoURL: {self.url}", platform.read_text())
            platform.write_text(declare_argocd(text, ARGOCD_VERSION))  # the suite's
        git(self.work, "init", "-q", "-b", BRANCH)
        git(self.work, "remote", "add", "origin", str(bare))
        self.commit(message)
        return self

    def commit(self, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "-c", "user.name=e2e", "-c", "user.email=e2e@example.org", "commit", "-q",
            "--allow-empty", "-m", message)
        git(self.work, "push", "-q", "origin", BRANCH)
        return self.head()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")


def store(keys: Keys) -> dict[str, Any]:
    """The platform's ClusterSecretStore `mip-central` (sample mip.yaml: secretStore), ESO's fake provider,
    holding `keys`, each a JSON object with the properties read from it."""
    data = [{"key": key, "value": json.dumps({p: f"{p}-of-{key}" for p in sorted(properties)})}
            for key, properties in sorted(keys.items())]
    return {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore", "metadata": {"name": "mip-central"},
            "spec": {"provider": {"fake": {"data": data}}}}


@dataclass
class Argo:
    """What Argo CD shows: the Applications of its namespace, read with kubectl, and waits on them."""

    cluster: Cluster
    seen: dict[str, float] = field(default_factory=dict)  # app -> seconds after `began` it was first Synced
    began: float = field(default_factory=time.monotonic)

    def apps(self) -> Apps:
        listed = self.cluster.api("GET", f"{ARGO_API}/applications") or {"items": []}  # every 2 s: no kubectl
        return {a["metadata"]["name"]: a for a in listed["items"]}

    def wait(self, what: str, done: Callable[[Apps], bool], timeout: float = CONVERGE_SECONDS) -> Apps:
        deadline = time.monotonic() + timeout
        while True:
            self.cluster.check_alive()
            apps = self.apps()
            now = time.monotonic() - self.began
            for name, app in apps.items():
                if sync_status(app) == SYNCED and name not in self.seen:
                    self.seen[name] = round(now, 1)
            if done(apps):
                return apps
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout:.0f} s; Applications now:\n{describe(apps)}")
            time.sleep(2)

    def refresh(self, *names: str, level: str = "hard") -> None:
        """Ask for a hard refresh (no cached manifests), as `argocd app get --hard-refresh` does: a push is
        then seen at once, not when the repo-server's revision cache expires. `level="normal"`: a comparison
        that uses the caches, as the reconciliation period and a webhook ask for."""
        for name in names:
            with suppress(HarnessError):  # one deleted meanwhile needs no refresh
                self.cluster.api("PATCH", f"{ARGO_API}/applications/{name}",
                                 {"metadata": {"annotations": {"argocd.argoproj.io/refresh": level}}})


def expansion(repo: PlatformRepo) -> Expansion:
    """The platform followed from the bootstrap objects as tests/cmpserver/ imitates the repo-server."""
    return follow(root_application(bootstrap_objects(repo.work, BRANCH)), repo.url, repo.work)


def expected_apps(repo: PlatformRepo) -> set[str]:
    """Every Application that renders through mip-cmp (the real repo-server must make exactly these)."""
    return {r.app["metadata"]["name"] for r in expansion(repo).renders}


def plugin_params(app: dict[str, Any]) -> dict[str, str | None]:
    """The plugin parameters of an Application's source, by name."""
    return {p["name"]: p.get("string") for p in app["spec"]["source"]["plugin"].get("parameters") or []}


@dataclass(frozen=True)
class Federation:
    """A federation's Applications in the platform's render (what a case expects of it follows the sample)."""

    name: str
    directory: str  # relative to the repository
    namespace: str  # where its workloads and data are
    renders: frozenset[str]  # those mip-cmp renders for it (its `federation` parameter): each from `directory`
    workloads: frozenset[str]  # those they make that render something else: its apps' charts and overlays
    secrets: frozenset[str]  # those of `renders` that hold its ExternalSecrets
    generated: frozenset[str]  # the Secrets in `namespace` that hold passwords generated for it

    @property
    def apps(self) -> frozenset[str]:
        return self.renders | self.workloads


def federations(repo: PlatformRepo) -> dict[str, Federation]:
    """Every federation of the platform's render, by name, with its Applications."""
    rendered = expansion(repo)
    own: dict[str, set[str]] = {}
    directories: dict[str, str] = {}
    namespaces: dict[str, set[str]] = {}  # where its Applications deploy, but the wrapper's (Argo CD's namespace)
    for r in rendered.renders:
        params = plugin_params(r.app)
        federation = params.get(FEDERATION.name)
        if federation:
            own.setdefault(federation, set()).add(r.app["metadata"]["name"])
            directories[federation] = str(params.get(DIRECTORY.name))
            namespaces.setdefault(federation, set()).add(r.app["spec"]["destination"]["namespace"])

    def made(federation: str, kind: str) -> list[Rendered]:
        return [o for o in rendered.objects if o.app in own[federation] and o.obj.get("kind") == kind]

    found = {}
    for federation, renders in own.items():
        workloads = [o.obj for o in made(federation, "Application") if o.obj["metadata"]["name"] not in renders]
        (namespace,) = namespaces[federation] - {ARGOCD_NAMESPACE}
        secrets = made(federation, "ExternalSecret")
        found[federation] = Federation(
            federation, directories[federation], namespace, frozenset(renders),
            frozenset(w["metadata"]["name"] for w in workloads), frozenset(o.app for o in secrets),
            frozenset(made_secret(o.obj) for o in secrets if generates(o.obj)))
    return found


def common_secrets(repo: PlatformRepo) -> frozenset[str]:
    """The Applications holding ExternalSecrets that are no federation's: the common and infrastructure apps'
    secrets."""
    rendered = expansion(repo)
    apps = {r.app["metadata"]["name"]: r.app for r in rendered.renders}
    return frozenset(o.app for o in rendered.objects
                     if o.obj.get("kind") == "ExternalSecret" and FEDERATION.name not in plugin_params(apps[o.app]))


def made_secret(external_secret: dict[str, Any]) -> str:
    """The name of the Secret an ExternalSecret makes."""
    return str(external_secret["spec"].get("target", {}).get("name") or external_secret["metadata"]["name"])


def generates(external_secret: dict[str, Any]) -> bool:
    """Whether an ExternalSecret's Secret holds something a generator made (a password)."""
    return any("generatorRef" in (d.get("sourceRef") or {}) for d in external_secret["spec"].get("dataFrom") or [])


def store_keys(objects: Iterable[dict[str, Any]]) -> Keys:
    """What the ExternalSecrets among `objects` read from the store: key -> properties."""
    keys: Keys = {}
    for obj in objects:
        if obj.get("kind") == "ExternalSecret":
            for item in obj["spec"].get("data") or []:
                keys.setdefault(item["remoteRef"]["key"], set()).add(item["remoteRef"].get("property", "value"))
    return keys


def platform_keys(repo: PlatformRepo, app: str | None = None) -> Keys:
    """The store keys the platform reads (only those of the Application `app`, if given)."""
    return store_keys(r.obj for r in expansion(repo).objects if app in (None, r.app))


@dataclass
class Installed:
    """A platform bootstrapped on the cluster: its repository, Argo CD's view, the mip-cmp Applications."""

    repo: PlatformRepo
    argo: Argo
    expected: set[str]
    converged_after: float = 0.0

    def push(self, message: str) -> str:
        """Commit and push the working copy; every mip-cmp Application is refreshed at once. The expected
        Applications follow the change, unless it breaks a render: Argo CD then keeps the ones it has."""
        head = self.repo.commit(message)
        with suppress(cmpserver.HarnessError):  # what the imitation raises for a failed render
            self.expected = expected_apps(self.repo)
        self.argo.refresh(*(set(self.argo.apps()) & (self.expected | {ROOT})))
        return head

    def converge(self, what: str, timeout: float = CONVERGE_SECONDS) -> Apps:
        """Wait until every mip-cmp Application is Synced to the pushed commit (new ones refreshed as they
        appear, so none waits for a reconciliation period)."""
        head = self.repo.head()
        refreshed: set[str] = set()

        def done(apps: Apps) -> bool:
            fresh = (self.expected & apps.keys()) - refreshed
            self.argo.refresh(*fresh)
            refreshed.update(fresh)
            return all(n in apps and synced_to(apps[n], head) for n in self.expected)

        return self.argo.wait(what, done, timeout)


def install(cluster: Cluster, work: Path, name: str, edit: Callable[[Path], None] | None = None,
            missing_for: Callable[[PlatformRepo], frozenset[str]] | None = None, extra: Keys | None = None,
            source: Path = SAMPLE_REPO) -> Installed:
    """The sample platform (or `source`; changed by `edit` first, if given) as docs/operations.md installs it:
    the store holding every key the platform reads (but those the Applications `missing_for` names read; and
    `extra`), then `mip-cmp bootstrap` applied; nothing waited for."""
    repo = PlatformRepo(cluster, work, name)
    repo.create(source)
    if edit is not None:
        edit(repo.work)
        repo.commit("the platform as this case starts")
    missing: Keys = {}
    for app in missing_for(repo) if missing_for else ():
        missing.update(platform_keys(repo, app))
    assert missing or not missing_for, "the Applications left without their keys read none"
    keys = platform_keys(repo)
    for key, properties in (extra or {}).items():
        keys.setdefault(key, set()).update(properties)
    cluster.apply([store({k: v for k, v in keys.items() if k not in missing})])
    installed = Installed(repo, Argo(cluster), expected_apps(repo))
    cluster.apply(bootstrap_objects(repo.work, BRANCH))
    return installed


def render(installed: Installed, app: dict[str, Any]) -> list[dict[str, Any]]:
    """`mip-cmp render` of the Application's source, with its parameters, in the platform's checkout."""
    source = app["spec"]["source"]
    params = [f"{p['name']}={p.get('string', '')}" for p in source["plugin"].get("parameters") or []]
    cli = run_cli("render", source.get("path", "."), "--revision", source["targetRevision"],
                  *(a for p in params for a in ("--param", p)), cwd=installed.repo.work)
    assert cli.code == 0, f"{app['metadata']['name']}: mip-cmp render failed: {cli.stderr}"
    documents: list[dict[str, Any]] = yaml_documents(cli.stdout)
    return documents


def sync_status(app: dict[str, Any]) -> str:
    return str(app.get("status", {}).get("sync", {}).get("status", ""))


def synced_to(app: dict[str, Any], revision: str) -> bool:
    return sync_status(app) == SYNCED and app["status"]["sync"].get("revision") == revision


def is_plugin_app(app: dict[str, Any]) -> bool:
    sources = [app["spec"].get("source"), *(app["spec"].get("sources") or [])]
    return any((s or {}).get("plugin", {}).get("name") == PLUGIN for s in sources)


def conditions(app: dict[str, Any]) -> list[str]:
    return [f"{c.get('type')}: {c.get('message')}" for c in app.get("status", {}).get("conditions") or []]


def describe(apps: Apps) -> str:
    lines = []
    for name, app in sorted(apps.items()):
        status = app.get("status", {})
        op = status.get("operationState", {})
        lines.append(f"  {name}: sync={sync_status(app) or '-'} health={status.get('health', {}).get('status', '-')}"
                     f" op={op.get('phase', '-')} {str(op.get('message', ''))[:300]}"
                     + "".join(f"\n    {c[:400]}" for c in conditions(app)))
    return "\n".join(lines) or "  (none)"


def resp(conn: socket.socket, *args: str) -> Any:
    """One Redis command over RESP; enough of the protocol for KEYS and GET."""
    conn.sendall(f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args))
    reader = conn.makefile("rb")

    def read() -> Any:
        line = reader.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else reader.read(size + 2)[:-2]
        if kind == b"*":
            return [read() for _ in range(int(rest))]
        if kind == b"-":
            raise HarnessError(f"redis: {rest.decode()}")
        return rest

    return read()


def repo_server_manifests(cluster: Cluster, app: str) -> list[list[dict[str, Any]]]:
    """Every manifest set the repo-server cached for `app` (its key names the app: `mfst|…|<app>|…`)."""
    found = []
    with socket.create_connection(("127.0.0.1", cluster.ports["redis"]), timeout=10) as conn:
        for key in resp(conn, "KEYS", f"mfst|*|{app}|*") or []:
            raw = resp(conn, "GET", key.decode())
            if raw is None:
                continue
            cached = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
            response = cached.get("manifestResponse") or {}
            found.append([json.loads(m) for m in response.get("manifests") or []])
    return found
