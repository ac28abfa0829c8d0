"""`mip-cmp doctor`: is this cluster ready for this platform? For admins, with their kubeconfig.

Each check reads what it needs from the API server (GET only, nothing is changed, through kubeapi) and, when
it fails, says what to run. A cluster that cannot be reached is a failed check too, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.errors import MipError, Problem
from ..core.names import INFRA_PROJECT, ROOT_APPLICATION
from ..core.vocabulary import (
    APP_NAME,
    ARGO_GROUP,
    ARGO_VERSION,
    ESO_API,
    ESO_GROUP,
    ESO_VERSION,
    GENERATORS_GROUP,
    GENERATORS_VERSION,
)
from ..model.platform import Platform
from ..pipeline import render_app
from ..stage1_read.buildenv import DEFAULT_REVISION
from ..stage1_read.repo import Repo
from ..stage2_check.loading import LoadedPlatform, load_federations, load_platform
from ..stage3_expand.platform import infrastructure_project, root_application
from .kubeapi import Cluster, Unreachable, connect
from .renders import app_renders

REPO_SERVER = "argocd-repo-server"
REPO_SERVER_SELECTOR = f"{APP_NAME}={REPO_SERVER}"
CMP_SERVER = "/var/run/argocd/argocd-cmp-server"
PLUGINS_DIR = "/home/argocd/cmp-server/plugins"
# What argocd-patches/repo-server-sidecar.yaml sets up, and argocd-cmp-server needs (docs/install.md).
SIDECAR_UID = 999
SIDECAR_MOUNTS = {"/var/run/argocd": "var-files", PLUGINS_DIR: "plugins"}
WRITABLE_TMP = "/tmp"  # noqa: S108 - the sidecar's own emptyDir, checked to be mounted
IMAGE_NAME = "mip-cmp"
INSTALL = "docs/install.md"
# argocd-cmp-server logs this once its socket listens (cmpserver/server.go).
SERVING = re.compile(r"serving on (/\S+?\.sock)")
LOG_BYTES = 64 * 1024
# ESO kinds by what the platform uses, with the version mip-cmp emits.
ESO_CRDS = {
    f"externalsecrets.{ESO_GROUP}": ESO_VERSION,
    f"passwords.{GENERATORS_GROUP}": GENERATORS_VERSION,
    f"clustersecretstores.{ESO_GROUP}": ESO_VERSION,
    f"secretstores.{ESO_GROUP}": ESO_VERSION,
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


# --- the checks -----------------------------------------------------------------------------------------


class Doctor:
    def __init__(self, cluster: Cluster, platform: LoadedPlatform, objects: list[dict[str, Any]],
                 image: str | None = None) -> None:
        self.cluster, self.platform, self.p = cluster, platform, platform.model
        self.objects, self.image = objects, image
        self.ns = self.p.argocd.namespace
        self.deployment: Any = None

    def run(self) -> Iterator[Check]:
        """Every check; a call that fails fails its step's check, with what to do. Nothing else can be read
        from a cluster whose API server does not answer, so then that one check is the report."""
        try:
            yield self.api_server()
        except Unreachable as exc:
            yield Check("api-server", False, exc.detail + "; the other checks need it", exc.fix)
            return
        steps: list[tuple[str, Callable[[], list[Check]]]] = [
            ("argocd-namespace", self.argocd_namespace), ("sidecar", self.sidecar),
            ("plugin-socket", self.plugin_socket), ("argocd-version", self.argocd_version),
            ("eso-crds", self.eso), ("bootstrap", self.bootstrap)]
        for name, step in steps:
            try:
                checks = step()
            except Unreachable as exc:
                checks = [Check(name, False, exc.detail, exc.fix)]
            yield from checks

    def api_server(self) -> Check:
        found = self.cluster.version() or {}
        version = f", Kubernetes {found['gitVersion']}" if found.get("gitVersion") else ""
        context = f" (context {self.cluster.context})" if self.cluster.context else ""
        return Check("api-server", True, f"{self.cluster.host}{context} answers{version}")

    def argocd_namespace(self) -> list[Check]:
        name = "argocd-namespace"
        self.deployment = self.cluster.deployment(self.ns, REPO_SERVER)
        if self.deployment is not None:
            return [Check(name, True, f"Argo CD's {REPO_SERVER} runs in {self.ns}, as argocd.namespace says")]
        found = self.cluster.deployments(REPO_SERVER_SELECTOR) or {}
        where = sorted({d["metadata"]["namespace"] for d in found.get("items", [])})
        if where:
            return [Check(name, False, f"no {REPO_SERVER} in namespace {self.ns} (argocd.namespace); Argo CD runs in "
                                       f"{', '.join(where)}",
                          f"set `argocd.namespace: {where[0]}` in the platform mip.yaml, or install Argo CD into "
                          f"{self.ns} ({INSTALL})")]
        return [Check(name, False, f"no {REPO_SERVER} Deployment in any namespace",
                      f"install Argo CD into namespace {self.ns} ({INSTALL}, step 2)")]

    def _sidecar_container(self) -> dict[str, Any] | None:
        containers = self.deployment["spec"]["template"]["spec"].get("containers", [])
        for container in containers:
            # argocd-cmp-server is the command, or the argument of the image's init (tini) entrypoint.
            command = [*(container.get("command") or []), *(container.get("args") or [])]
            if CMP_SERVER in command and IMAGE_NAME in container.get("image", ""):
                return dict(container)
        return next((dict(c) for c in containers if c.get("name") == IMAGE_NAME), None)

    def sidecar(self) -> list[Check]:
        if self.deployment is None:
            return [Check("sidecar", False, f"skipped: no {REPO_SERVER} found", "fix argocd-namespace first")]
        container = self._sidecar_container()
        if container is None:
            return [Check("sidecar", False, f"{REPO_SERVER} has no mip-cmp sidecar container",
                          "add it: kubectl apply --server-side --force-conflicts -k <your Argo CD overlay with the "
                          f"argocd-patches component> ({INSTALL}, step 2)")]
        checks = [Check("sidecar", True, f"{REPO_SERVER} has the sidecar container {container['name']!r}")]
        checks.append(self._image(container))
        pod_spec = self.deployment["spec"]["template"]["spec"]
        uid = (container.get("securityContext") or {}).get("runAsUser",
                                                           (pod_spec.get("securityContext") or {}).get("runAsUser"))
        checks.append(Check("sidecar-uid", uid == SIDECAR_UID, f"runs as uid {uid}" if uid is not None else
                            "sets no runAsUser (the image's USER applies)",
                            "" if uid == SIDECAR_UID else
                            f"set securityContext.runAsUser: {SIDECAR_UID} on the sidecar, the repo-server's uid: "
                            "both must use the plugin socket (argocd-patches/repo-server-sidecar.yaml)"))
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        missing = [f"{volume} on {path}" for path, volume in SIDECAR_MOUNTS.items() if mounts.get(path) != volume]
        if WRITABLE_TMP not in mounts:
            missing.append(f"an emptyDir on {WRITABLE_TMP}")
        checks.append(Check("sidecar-mounts", not missing,
                            "mounts " + ", ".join(f"{v} on {p}" for p, v in sorted(mounts.items())) if not missing
                            else "missing mounts: " + "; ".join(missing),
                            "" if not missing else "mount them as argocd-patches/repo-server-sidecar.yaml does"))
        return checks

    def _image(self, container: dict[str, Any]) -> Check:
        image = container.get("image", "")
        if self.image is not None:
            ok = image == self.image
            return Check("sidecar-image", ok, f"image {image}" + ("" if ok else f", expected {self.image}"),
                         "" if ok else f"set the image with kustomize `images: [{{name: ghcr.io/mip-cmp/mip-cmp, "
                                       f"newName: …, newTag: …}}]` and re-apply ({INSTALL}, step 2)")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if "@sha256:" in image:
            return Check("sidecar-image", True, f"image {image} (pinned by digest; pass --image to compare it)")
        ok = tag.lstrip("v") == __version__
        return Check("sidecar-image", ok, f"image {image}" + ("" if ok else f"; this mip-cmp is {__version__}"),
                     "" if ok else f"run the image of the mip-cmp you render with: kustomize `newTag: {__version__}`"
                                   f" ({INSTALL}, step 2), or pass --image {image} if that is intended")

    def plugin_socket(self) -> list[Check]:
        name = "plugin-socket"
        container = self._sidecar_container() if self.deployment is not None else None
        if container is None:
            return [Check(name, False, "skipped: no sidecar", "fix the sidecar check first")]
        pods = self.cluster.pods(self.ns, REPO_SERVER_SELECTOR) or {}
        running = [p for p in pods.get("items", []) if (p.get("status") or {}).get("phase") == "Running"]
        if not running:
            return [Check(name, False, f"no running {REPO_SERVER} pod in {self.ns}",
                          f"kubectl -n {self.ns} describe pods -l {REPO_SERVER_SELECTOR}")]
        pod = running[0]
        status: dict[str, Any] = next(
            (s for s in pod["status"].get("containerStatuses", []) if s["name"] == container["name"]), {})
        logs_cmd = f"kubectl -n {self.ns} logs {pod['metadata']['name']} -c {container['name']}"
        if not status.get("ready"):
            return [Check(name, False, f"sidecar {container['name']} of pod {pod['metadata']['name']} is not ready "
                                       f"(restarts: {status.get('restartCount', 0)})", f"see why: {logs_cmd}")]
        expected = f"{PLUGINS_DIR}/{self.p.argocd.pluginName}.sock"
        served = SERVING.findall(self.cluster.log(self.ns, pod["metadata"]["name"], container["name"], LOG_BYTES))
        if not served:
            return [Check(name, True, f"sidecar ready; its log's start does not show the socket (rotated?); "
                                      f"expected {expected}")]
        if expected in served:
            return [Check(name, True, f"argocd-cmp-server serves {expected}")]
        return [Check(name, False, f"argocd-cmp-server serves {', '.join(served)}, not {expected}",
                      f"make argocd.pluginName in mip.yaml equal the plugin's name ({Path(served[0]).stem}); "
                      f"{logs_cmd}")]

    def argocd_version(self) -> list[Check]:
        """Every field mip-cmp emits for Argo CD's kinds must exist in the cluster's CRDs: an older Argo CD
        would silently drop it (a pruned field is not an error on apply)."""
        name = "argocd-version"
        version = ""
        if self.deployment is not None:
            images = [c.get("image", "") for c in self.deployment["spec"]["template"]["spec"].get("containers", [])]
            version = next((i.rsplit(":", 1)[1] for i in images if "argocd:" in i), "")
        label = f"Argo CD {version}" if version else "Argo CD"
        unknown: list[str] = []
        missing_crds: list[str] = []
        for kind in sorted({o["kind"] for o in self.objects if o["apiVersion"].startswith(f"{ARGO_GROUP}/")}):
            crd = self.cluster.crd(f"{kind.lower()}s.{ARGO_GROUP}")
            schema = _served_schema(crd, "v1alpha1") if crd else None
            if schema is None:
                missing_crds.append(f"{kind.lower()}s.{ARGO_GROUP}")
                continue
            for obj in self.objects:
                if obj["kind"] == kind:
                    unknown += (f"{kind} {f}" for f in _unknown_fields(obj, schema, "") if f"{kind} {f}" not in unknown)
        if missing_crds:
            return [Check(name, False, f"{label}: CRDs not served: {', '.join(missing_crds)}",
                          f"install Argo CD's CRDs ({INSTALL}, step 2)")]
        if unknown:
            listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            return [Check(name, False, f"{label} does not know fields mip-cmp emits: {listed}",
                          "upgrade Argo CD (docs/install.md lists the tested version), or set the platform's "
                          "argocd.version to the version it runs")]
        declared = getattr(self.p.argocd, "version", None)
        if declared and version and _older(version, declared):
            return [Check(name, False, f"{label} is older than argocd.version {declared} in mip.yaml",
                          f"set `argocd.version: {version}` in the platform mip.yaml, or upgrade Argo CD")]
        return [Check(name, True, f"{label}: its CRDs know every field mip-cmp emits")]

    def eso(self) -> list[Check]:
        secrets = self.p.secrets
        needed = []
        if secrets:
            needed.append(f"externalsecrets.{ESO_GROUP}")
        if any(s.generated for s in secrets.values()):
            needed.append(f"passwords.{GENERATORS_GROUP}")
        store = self.p.secretStore
        if store is not None and any(s.fromStore for s in secrets.values()):
            needed.append(f"{store.kind.lower()}s.{ESO_GROUP}")
        if not needed:
            return [Check("eso-crds", True, "the platform defines no secrets: External Secrets not needed")]
        absent = []
        for crd_name in needed:
            crd = self.cluster.crd(crd_name)
            if crd is None or _served_schema(crd, ESO_CRDS[crd_name]) is None:
                absent.append(f"{crd_name} {ESO_CRDS[crd_name]}")
        checks = [Check("eso-crds", not absent,
                        "External Secrets serves " + ", ".join(needed) if not absent else
                        "not served: " + ", ".join(absent),
                        "" if not absent else "install External Secrets Operator >= 0.16 (it serves "
                        f"{ESO_API}): helm install external-secrets external-secrets/external-secrets "
                        "-n external-secrets --create-namespace")]
        store_crd = f"{store.kind.lower()}s.{ESO_GROUP}" if store is not None else ""
        if store is not None and store_crd in needed and not any(a.startswith(store_crd) for a in absent):
            checks.append(self._store(store.kind, store.name))
        return checks

    def _store(self, kind: str, name: str) -> Check:
        if kind == "SecretStore":
            return Check("secret-store", True, f"SecretStore {name} is namespaced: check it in each federation's "
                                               "namespace (kubectl get secretstores -A)")
        obj = self.cluster.custom(ESO_GROUP, ESO_VERSION, "clustersecretstores", name)
        describe = f"kubectl describe clustersecretstore {name}"
        if obj is None:
            return Check("secret-store", False, f"ClusterSecretStore {name} (secretStore in mip.yaml) does not exist",
                         f"create it for your secret backend (External Secrets docs), then: {describe}")
        ready = next((c for c in (obj.get("status") or {}).get("conditions", []) if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            why = (ready or {}).get("message") or "no Ready condition yet"
            return Check("secret-store", False, f"ClusterSecretStore {name} is not Ready: {why}",
                         f"see why: {describe}")
        return Check("secret-store", True, f"ClusterSecretStore {name} is Ready")

    def bootstrap(self) -> list[Check]:
        project = self.cluster.custom(ARGO_GROUP, ARGO_VERSION, "appprojects", INFRA_PROJECT, self.ns)
        app = self.cluster.custom(ARGO_GROUP, ARGO_VERSION, "applications", ROOT_APPLICATION, self.ns)
        fix = "mip-cmp bootstrap --revision <branch> --apply (from the platform checkout; docs/install.md step 4)"
        missing = [f"AppProject {INFRA_PROJECT}" if project is None else "",
                   f"Application {ROOT_APPLICATION}" if app is None else ""]
        if any(missing):
            return [Check("bootstrap", False, f"missing in {self.ns}: {', '.join(m for m in missing if m)}", fix)]
        source = (app.get("spec") or {}).get("source") or {}
        if source.get("repoURL") != self.p.repoURL:
            return [Check("bootstrap", False, f"Application {ROOT_APPLICATION} pulls {source.get('repoURL')}, the "
                                              f"platform's repoURL is {self.p.repoURL}", fix)]
        if (source.get("plugin") or {}).get("name") != self.p.argocd.pluginName:
            return [Check("bootstrap", False, f"Application {ROOT_APPLICATION} does not use plugin "
                                              f"{self.p.argocd.pluginName}", fix)]
        status = app.get("status") or {}
        state = "/".join(filter(None, [(status.get("sync") or {}).get("status"),
                                       (status.get("health") or {}).get("status")]))
        return [Check("bootstrap", True, f"AppProject {INFRA_PROJECT} and Application {ROOT_APPLICATION} exist"
                                         + (f" ({state})" if state else ""))]


def _served_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    for v in crd.get("spec", {}).get("versions", []):
        if v.get("name") == version and v.get("served"):
            schema: dict[str, Any] = (v.get("schema") or {}).get("openAPIV3Schema") or {}
            return schema
    return None


def _unknown_fields(value: Any, schema: dict[str, Any], where: str) -> Iterator[str]:
    """Paths in `value` the structural schema does not declare (where it does not preserve unknown fields)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                yield from _unknown_fields(item, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                yield from _unknown_fields(item, extra, f"{where}.{key}")
            elif props is not None:  # an object without declared properties (metadata) takes anything
                yield f"{where}.{key}".lstrip(".")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            yield from _unknown_fields(item, schema["items"], f"{where}[]")


def _older(version: str, than: str) -> bool:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", v)[:3])

    return key(version) < key(than)


# --- what the platform emits ----------------------------------------------------------------------------


def platform_objects(root: Path) -> tuple[LoadedPlatform, list[dict[str, Any]]]:
    """The platform and every object its apps emit (as `validate` renders them), plus the bootstrap objects."""
    repo = Repo(root, remember=True)
    platform = load_platform(repo)
    p: Platform = platform.model
    objects = [infrastructure_project(p), root_application(p, DEFAULT_REVISION)]
    for _, env in app_renders(platform, load_federations(repo, platform)):
        objects += render_app(repo, env, platform)
    return platform, objects


def diagnose(cluster: Cluster | Callable[[], Cluster], root: Path, image: str | None = None) -> list[Check]:
    """The checks of `root`'s platform against a cluster (or the cluster `connect` gives, once the platform
    renders: a broken platform is the first thing to fix, with or without a cluster)."""
    try:
        platform, objects = platform_objects(root)
    except MipError as exc:
        advice = Problem("", 0, 0, "", "the platform does not render; fix it first (mip-cmp validate)")
        raise MipError([*exc.problems, advice]) from None
    if not isinstance(cluster, Cluster):
        try:
            cluster = cluster()
        except Unreachable as exc:
            return [Check("api-server", False, exc.detail, exc.fix)]
    return list(Doctor(cluster, platform, objects, image).run())


def doctor(context: str | None, root: Path, image: str | None = None) -> list[Check]:
    """`mip-cmp doctor`: the checks, against the cluster of the kubeconfig `context`."""
    return diagnose(lambda: connect(context), root, image)


def report(checks: list[Check]) -> list[str]:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name.ljust(width)}  {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"      {' ' * width}  fix: {check.fix}")
    failed = sum(not c.ok for c in checks)
    lines.append(f"mip-cmp doctor: {len(checks) - failed} of {len(checks)} checks passed"
                 + (f", {failed} failed" if failed else ""))
    return lines
