"""`mip-cmp import`: a mip-infra-style repository in, the equivalent mip-cmp platform and a migration report out.

The old repository is built the way Argo CD builds it (mipinfra.build); its workload Applications (Helm
charts from other repositories with values files from this one) become the catalog, the federations and
the common apps; the values files are merged as Helm merges them, the part every federation shares going to
the catalog and the rest to each federation. The written platform is then validated and rendered like any
other, and every object of the old repository is set against its counterpart: same, changed (field by
field), or dropped (why). Nothing is dropped silently: what mip-cmp cannot express yet says so.
"""

from __future__ import annotations

import json
import re
import shutil
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..bootstrap import bootstrap_objects
from ..contract.schema import SCHEMA_ID
from ..errors import MipError
from ..expand.argocd import deep_merge
from ..model import API_VERSION, DEFAULT_SYNC_OPTIONS, SyncOption
from ..names import FILE_NAME, ROOT_APPLICATION
from ..validate import validate_repo
from ..vocabulary import ARGOCD_NAMESPACE, IN_CLUSTER, IN_CLUSTER_SERVER, SYNC_WAVE, Obj
from . import gotemplate
from .diff import field_changes, short
from .mipinfra import ARGO_KINDS, KUSTOMIZATIONS, Built, Found, build, helm_merge
from .snapshot import take

FEDERATIONS_DIR = "federations"
PROJECT_PREFIX = "mip-argo-project-"
SAME, CHANGED, DROPPED, MISSING = "same", "changed", "dropped", "no counterpart yet"
# Why an object of the old repository is not needed any more, by what it was.
WRAPPER = ("a wrapper that only created other Argo CD objects: mip-cmp's root Application renders their "
           "counterparts directly")
SECRETS_NOTE = ("no Argo CD object of the old repository holds a secret (its README has them made by a script, "
                "outside git): the imported platform declares no `secrets`; add them (fromStore or generated) "
                "and list them under each app's `secrets` to have mip-cmp manage them as ExternalSecrets")
SYNC_OPTIONS: tuple[str, ...] = typing.get_args(SyncOption)
# Kinds Kubernetes serves cluster-scoped (besides every `Cluster*` kind).
CLUSTER_KINDS = {"Namespace", "IngressClass", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
                 "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService"}
NETWORK_SUFFIX = "network"  # mip-cmp's `<namespace owner>-network` Applications (when the platform has them)
UNUSED_PROJECTS = {"shared-apps": "unused in mip-infra itself (its README: 'unused in current architecture')"}


@dataclass(frozen=True)
class Workload:
    """An Application that deploys a Helm chart from another repository, with values from this one."""

    found: Found
    app: str  # catalog or common app name
    federation: str  # "" for a common app
    repo_url: str
    path: str
    revision: str
    chart_files: tuple[str, ...]  # value files inside the chart itself
    value_files: tuple[str, ...]  # value files from this repository, in order
    inline: Obj  # valuesObject / values / parameters

    def effective_values(self, root: Path) -> Obj:
        values: Obj = {}
        for rel in self.value_files:
            values = helm_merge(values, _values_file(root, rel))
        result: Obj = helm_merge(values, self.inline)
        return result


@dataclass
class Row:
    kind: str
    name: str
    origin: str
    verdict: str
    counterpart: str = ""
    why: str = ""
    facts: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


@dataclass
class MigrationReport:
    source: str
    out: str
    rows: list[Row]
    notes: dict[str, str]

    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.rows) for v in (SAME, CHANGED, DROPPED, MISSING)}


# --- reading the workloads ----------------------------------------------------------------------------------


def _sources(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    return [spec["source"]] if "source" in spec else list(spec.get("sources") or [])


def workloads(built: Built) -> list[Workload]:
    federation_wrappers = {f.name for f in built.objects if f.kind == "Application"
                           and "federations" in str(((f.obj.get("spec") or {}).get("source") or {}).get("path", ""))}
    found_workloads = []
    for found in built.objects:
        if found.kind != "Application":
            continue
        sources = _sources(found.obj)
        refs = {f"${s['ref']}": s for s in sources if "ref" in s}
        charts = [s for s in sources if "path" in s and s.get("repoURL") not in built.repo_urls]
        if len(charts) != 1:
            continue
        chart = charts[0]
        helm = chart.get("helm") or {}
        own, ours = [], []
        for name in helm.get("valueFiles") or []:
            head, _, rest = str(name).partition("/")
            if head in refs and refs[head].get("repoURL") in built.repo_urls:
                ours.append(rest)
            else:
                own.append(str(name))
        inline = dict(helm.get("valuesObject") or yaml.safe_load(helm.get("values") or "{}") or {})
        destination = (found.obj.get("spec") or {}).get("destination") or {}
        parent = _parent(found)
        federation = str(destination.get("namespace", "")) if parent in federation_wrappers else ""
        app = found.name.removeprefix(f"{federation}-") if federation else found.name
        found_workloads.append(Workload(found, app, federation, str(chart["repoURL"]), str(chart["path"]),
                                        str(chart.get("targetRevision", "HEAD")), tuple(own or ["values.yaml"]),
                                        tuple(ours), inline))
    return found_workloads


def _version(root: Path, revision: str) -> str:
    """The human version next to a pinned revision, from the `# 1.0.0` comment mip-infra writes beside it."""
    for path in sorted(root.rglob("*.yaml")):
        match = re.search(re.escape(revision) + r"\s*#\s*v?([\w.+-]+)", path.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return revision[:12]


# --- writing the platform -------------------------------------------------------------------------------------


def _clusters(built: Built) -> dict[str, str]:
    servers = {str(((f.obj.get("spec") or {}).get("destination") or {}).get("server", ""))
               for f in built.objects if f.kind == "Application"} - {""}
    clusters = {IN_CLUSTER: IN_CLUSTER_SERVER}
    for server in sorted(servers - {IN_CLUSTER_SERVER}):
        clusters[re.sub(r"[^a-z0-9-]", "-", server.split("//")[-1].split(":")[0].lower()).strip("-")[:63]] = server
    return clusters


def _rbac(built: Built) -> Obj:
    for found in built.objects:
        values = found.helm_values or {}
        if "rbac" in values:
            return {k: list(v) for k, v in values["rbac"].items() if k in ("adminGroups", "developerGroups")}
    return {}


def _annotations(found: Found) -> tuple[int, dict[str, str]]:
    annotations = dict((found.obj.get("metadata") or {}).get("annotations") or {})
    wave = int(annotations.pop(SYNC_WAVE, 0) or 0)
    return wave, annotations


def platform_files(built: Built, loads: list[Workload],
                   carried: dict[str, str]) -> tuple[dict[str, Obj], dict[str, Path]]:
    """The mip.yaml files, as data, by directory; and the directories of the old repository copied as they
    are (overlays, infrastructure sources), by their new place. `carried` learns where each old Application
    that is not a workload went in the mip.yaml files."""
    copies: dict[str, Path] = {}
    catalog, shared_files = _catalog(built.root, [w for w in loads if w.federation])
    federations = _federations(built, loads, catalog, shared_files)
    types = sorted({fed["type"] for fed in federations.values()})
    # mip-infra keeps local and hybrid federations under two roots; so does the imported platform.
    roots = {t: f"{FEDERATIONS_DIR}/{t}" if len(types) > 1 else FEDERATIONS_DIR for t in types}
    _carry_network_charts(built, carried)
    files: dict[str, Obj] = {}
    peers: Obj = {}
    for name, fed in federations.items():
        directory = f"{roots[fed['type']]}/{name}"
        _extras(built, loads, name, fed, directory, copies, peers, carried, catalog)
        files[directory] = fed
    federations_path = sorted(set(roots.values())) if len(types) > 1 else FEDERATIONS_DIR
    files["."] = _platform(built, loads, catalog, copies, carried, peers, federations_path)
    return files, copies


def _values_file(root: Path, rel: str) -> Obj:
    values: Obj = yaml.safe_load((root / rel).read_text(encoding="utf-8")) or {}
    return values


def _chart(root: Path, w: Workload) -> Obj:
    """Where a workload's chart comes from: repository, path, the pinned revision and its human version."""
    return {"repoURL": w.repo_url, "path": w.path, "revision": w.revision, "version": _version(root, w.revision)}


def _wave_and_annotations(found: Found) -> Obj:
    """The old Application's sync wave and its other annotations, as a mip.yaml app entry carries them."""
    wave, annotations = _annotations(found)
    return {**({"syncWave": wave} if wave else {}), **({"annotations": annotations} if annotations else {})}


def _catalog(root: Path, federated: list[Workload]) -> tuple[Obj, dict[str, tuple[str, ...]]]:
    """The catalog: an entry per app the federations run, from its first federation's Application, with the
    values files every federation shares; and those shared files, by app."""
    by_app: dict[str, list[Workload]] = {}
    for w in federated:
        by_app.setdefault(w.app, []).append(w)
    catalog: Obj = {}
    shared_files: dict[str, tuple[str, ...]] = {}
    for app, instances in sorted(by_app.items()):
        first = sorted(instances, key=lambda w: w.federation)[0]
        shared = tuple(f for f in first.value_files if all(f in c.value_files for c in instances))
        shared_files[app] = shared
        values: Obj = {}
        for rel in shared:
            values = helm_merge(values, _values_file(root, rel))
        entry = _chart(root, first)
        if list(first.chart_files) != ["values.yaml"]:
            entry["valueFiles"] = list(first.chart_files)
        catalog[app] = {**entry, **_wave_and_annotations(first.found), "values": values}
    return catalog, shared_files


def _federations(built: Built, loads: list[Workload], catalog: Obj,
                 shared_files: dict[str, tuple[str, ...]]) -> dict[str, Obj]:
    """Each federation's mip.yaml, by name: its cluster, its type, and its apps' entries."""
    federations: dict[str, Obj] = {}
    for w in sorted((w for w in loads if w.federation), key=lambda w: (w.federation, w.app)):
        fed = federations.setdefault(w.federation, {"apiVersion": API_VERSION, "kind": "Federation",
                                                    "name": w.federation, "cluster": IN_CLUSTER,
                                                    "type": "local", "apps": {}})
        server = (((w.found.obj.get("spec") or {}).get("destination") or {}).get("server")) or IN_CLUSTER_SERVER
        fed["cluster"] = next(n for n, s in _clusters(built).items() if s == server)
        fed["type"] = _federation_type(built, w)
        fed["apps"][w.app] = _federation_app(built.root, w, catalog[w.app], shared_files[w.app])
    return federations


def _federation_app(root: Path, w: Workload, entry: Obj, shared: tuple[str, ...]) -> Obj | None:
    """A federation's entry for one of its apps: what differs from the catalog's (values, revision), and its
    ignoreDifferences; None when nothing does."""
    own: Obj = {}
    overrides: Obj = {}
    for rel in w.value_files:
        if rel not in shared:
            overrides = helm_merge(overrides, _values_file(root, rel))
    overrides = helm_merge(overrides, w.inline)
    if overrides:
        own["values"] = overrides
    if w.revision != entry["revision"]:
        own["revision"] = w.revision
    ignore = (w.found.obj.get("spec") or {}).get("ignoreDifferences")
    if ignore:
        own["ignoreDifferences"] = ignore
    return own or None


def _carry_network_charts(built: Built, carried: dict[str, str]) -> None:
    """Applications of charts that make NetworkPolicies: mip-cmp's own network settings replace them."""
    for found in built.objects:
        chart = built.root / str(next(iter(_sources(found.obj)), {}).get("path", "")).strip("/") / "Chart.yaml"
        if found.kind == "Application" and chart.is_file() and "networkpolicy" in chart.read_text(encoding="utf-8"):
            carried[found.name] = (f"{FILE_NAME}: network (mip-cmp generates the NetworkPolicies of every "
                                   "federation and common namespace itself; on by default)")


def _common_apps(built: Built, loads: list[Workload]) -> Obj:
    """The workloads that belong to no federation, as the platform's common apps."""
    common: Obj = {}
    for w in loads:
        if w.federation:
            continue
        destination = (w.found.obj.get("spec") or {}).get("destination") or {}
        entry: Obj = {"namespace": destination.get("namespace"), **_chart(built.root, w)}
        cluster = next(n for n, s in _clusters(built).items() if s == destination.get("server", IN_CLUSTER_SERVER))
        if cluster != IN_CLUSTER:
            entry["cluster"] = cluster
        common[w.app] = {**entry, **_wave_and_annotations(w.found), "values": w.effective_values(built.root)}
    return common


def _platform(built: Built, loads: list[Workload], catalog: Obj, copies: dict[str, Path], carried: dict[str, str],
              peers: Obj, federations_path: str | list[str]) -> Obj:
    """The platform's mip.yaml. `copies` and `carried` learn about the infrastructure apps."""
    platform: Obj = {"apiVersion": API_VERSION, "kind": "Platform", "repoURL": _bootstrap_url(built),
                     "argocd": {"namespace": _argocd_namespace(built)}, "clusters": _clusters(built)}
    rbac = _rbac(built)
    if rbac:
        platform["rbac"] = rbac
    platform["catalog"] = catalog
    common = _common_apps(built, loads)
    if common:
        platform["commonApps"] = common
    infrastructure = _infrastructure(built, loads, copies, carried)
    if infrastructure:
        platform["infrastructure"] = infrastructure
    if peers:
        platform["network"] = {"peers": peers}
    platform["federations"] = {"path": federations_path}
    return platform


def _parent(found: Found) -> str:
    return found.origin.removeprefix("rendered by Application ")


def _wave_and_sync(found: Found) -> Obj:
    """The old Application's sync wave and sync settings, as a mip.yaml entry carries them."""
    out: Obj = {}
    wave, _ = _annotations(found)
    if wave:
        out["syncWave"] = wave
    sync = _sync(found, SYNC_OPTIONS)
    if sync:
        out["sync"] = sync
    return out


def _sync(found: Found, allowed: tuple[str, ...]) -> Obj:
    """The old Application's sync settings that mip-cmp's AppSync can carry (CreateNamespace=true is always
    set by mip-cmp; ApplyOutOfSyncOnly=true is its default)."""
    policy = (found.obj.get("spec") or {}).get("syncPolicy") or {}
    options = [o for o in policy.get("syncOptions") or [] if o in allowed and o not in DEFAULT_SYNC_OPTIONS]
    sync: Obj = {"options": options} if options else {}
    prune = (policy.get("automated") or {}).get("prune")
    if prune is False:
        sync["prune"] = False
    return sync


def _extras(built: Built, loads: list[Workload], name: str, fed: Obj, directory: str,
            copies: dict[str, Path], peers: Obj, carried: dict[str, str], catalog: Obj) -> None:
    """What a federation wrapper rendered besides its workloads: an overlay of one of its apps (copied into
    the federation's directory), NetworkPolicies to remote networks (a hybrid federation's peers; the pods
    they select get `remote` flows, every port both ways, in the catalog app whose name their label starts with)."""
    workload_ids = {id(w.found) for w in loads}
    wrappers = {_parent(w.found) for w in loads if w.federation == name}
    for found in built.objects:
        if found.kind != "Application" or _parent(found) not in wrappers or id(found) in workload_ids:
            continue
        source = next(iter(_sources(found.obj)), {})
        app = found.name.removeprefix(f"{name}-").removesuffix("-overlay")
        local = built.root / str(source.get("path", "")).strip("/")
        if found.name == f"{name}-{app}-overlay" and app in fed["apps"] and local.is_dir():
            target = f"overlays/{app}"
            copies[f"{directory}/{target}"] = local
            overlay: Obj = {"path": target, "type": "kustomize" if any((local / k).is_file() for k in KUSTOMIZATIONS)
                            else "directory", **_wave_and_sync(found)}
            fed["apps"][app] = {**(fed["apps"][app] or {}), "overlay": overlay}
            carried[found.name] = (f"{directory}/{FILE_NAME}: apps.{app}.overlay (its directory copied to "
                                   f"{directory}/{target})")
            continue
        cidrs = sorted(_ip_blocks(built.resources.get(found.name, [])))
        for policy in built.resources.get(found.name, []):
            labels = dict(((policy.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {})
            owner = next((a for a in sorted(catalog) if any(str(v).startswith(a) for v in labels.values())), None)
            if cidrs and labels and owner and fed["type"] == "hybrid":
                flows = catalog[owner].setdefault("network", {}).setdefault("flows", [])
                for direction in ("to", "from"):  # mip-infra's rule: every port, both ways
                    flow = {"pods": dict(labels), direction: {"remote": True}}
                    if flow not in flows:
                        flows.append(flow)
        if cidrs and fed["type"] == "hybrid":
            peer_name = f"{name}-remote"
            peers[peer_name] = {"federation": name, "cidrs": cidrs,
                                "description": f"from mip-infra's Application {found.name}"}
            fed["peers"] = [*fed.get("peers", []), peer_name]
            carried[found.name] = (f"{FILE_NAME}: network.peers.{peer_name} ({', '.join(cidrs)}), named in "
                                   f"{directory}/{FILE_NAME}: peers")


def _ip_blocks(objects: list[Obj]) -> set[str]:
    """The CIDRs NetworkPolicies among `objects` allow traffic with."""
    cidrs = set()
    for policy in objects:
        if policy.get("kind") != "NetworkPolicy":
            continue
        spec = policy.get("spec") or {}
        for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
            for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
                if "ipBlock" in peer:
                    cidrs.add(str(peer["ipBlock"]["cidr"]))
    return cidrs


def _kinds(objects: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(cluster-scoped, namespaced) kinds of rendered objects, by name."""
    cluster: list[Obj] = []
    namespaced: list[Obj] = []
    for obj in objects:
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        entry = {"group": group, "kind": str(obj.get("kind"))}
        target = cluster if entry["kind"] in CLUSTER_KINDS or entry["kind"].startswith("Cluster") else namespaced
        if entry not in target:
            target.append(entry)
    return cluster, namespaced


def _infrastructure(built: Built, loads: list[Workload], copies: dict[str, Path], carried: dict[str, str]) -> Obj:
    """Applications the infrastructure wrappers rendered that deploy a directory of this repository (not a
    workload, not a federation's): an ingress controller, Submariner. Their directories are copied; the kinds
    their projects may create come from what they render, or else from the old project's whitelists."""
    apps: Obj = {}
    workload_ids = {id(w.found) for w in loads}
    federation_wrappers = {_parent(w.found) for w in loads if w.federation}
    for found in built.objects:
        spec = found.obj.get("spec") or {}
        sources = _sources(found.obj)
        if (found.kind != "Application" or id(found) in workload_ids or _parent(found) in federation_wrappers
                or not found.origin.startswith("rendered by") or len(sources) != 1
                or sources[0].get("repoURL") not in built.repo_urls):
            continue
        local = built.root / str(sources[0].get("path", "")).strip("/")
        if not local.is_dir() or (local / "Chart.yaml").is_file():
            continue
        rendered = built.resources.get(found.name, [])
        if any(o.get("kind") in ARGO_KINDS for o in rendered):
            continue
        target = f"infrastructure/{found.name}"
        copies[target] = local
        cluster, namespaced = _kinds(rendered)
        if not rendered:
            project = built.find("AppProject", str(spec.get("project")))
            project_spec = (project.obj.get("spec") or {}) if project else {}
            cluster = [dict(k) for k in project_spec.get("clusterResourceWhitelist") or []]
            namespaced = [dict(k) for k in project_spec.get("namespaceResourceWhitelist") or []]
        destination = spec.get("destination") or {}
        entry: Obj = {"namespace": destination.get("namespace"), "source": {"path": target},
                      **_wave_and_sync(found)}
        if spec.get("ignoreDifferences"):
            entry["ignoreDifferences"] = spec["ignoreDifferences"]
        if cluster:
            entry["clusterKinds"] = cluster
        entry["namespaceKinds"] = namespaced or [{"group": "", "kind": "ConfigMap"}]
        apps[found.name] = entry
        carried[found.name] = f"{FILE_NAME}: infrastructure.{found.name} (its directory copied to {target})"
    return apps


def _bootstrap_url(built: Built) -> str:
    project = built.objects[0].obj
    return str((project.get("spec") or {}).get("sourceRepos", [""])[0])


def _argocd_namespace(built: Built) -> str:
    return str((built.objects[0].obj.get("metadata") or {}).get("namespace", ARGOCD_NAMESPACE))


def _federation_type(built: Built, w: Workload) -> str:
    parent = built.find("Application", _parent(w.found))
    labels = ((((parent.obj if parent else {}).get("spec") or {}).get("syncPolicy") or {})
              .get("managedNamespaceMetadata") or {}).get("labels") or {}
    kind = next((v for k, v in labels.items() if k.endswith("federation-type")), "local")
    return kind if kind in ("local", "hybrid") else "local"


HEADER = ("# Written by `mip-cmp import` from a mip-infra-style repository; see the migration report it printed.\n"
          f"# yaml-language-server: $schema={SCHEMA_ID}\n")


def write_platform(files: dict[str, Obj], copies: dict[str, Path], out: Path) -> None:
    for target, source in sorted(copies.items()):
        shutil.copytree(source, out / target)
    for directory, data in sorted(files.items()):
        path = out / directory / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
        path.write_text(HEADER + text, encoding="utf-8")


# --- the report -----------------------------------------------------------------------------------------------


def _field_lines(old: Obj, new: Obj) -> list[str]:
    lines = []
    for f in field_changes(old, new):
        if f.change == "added":
            lines.append(f"{f.path}: added {short(f.new)}")
        elif f.change == "removed":
            lines.append(f"{f.path}: dropped {short(f.old)}")
        else:
            lines.append(f"{f.path}: {short(f.old)} -> {short(f.new)}")
    return lines


def _new_objects(out: Path, built: Built) -> dict[tuple[str, str], Obj]:
    snapshot = take(out, "main")
    objects = {(str(r.obj.get("kind")), str((r.obj.get("metadata") or {}).get("name"))): r.obj
               for r in snapshot.objects.values()}
    for obj in bootstrap_objects(out, None, "main"):
        objects.setdefault((str(obj.get("kind")), str(obj["metadata"]["name"])), obj)
    # The federation wrappers the ApplicationSet generates are objects on the cluster too.
    for (kind, _), appset in list(objects.items()):
        if kind != "ApplicationSet":
            continue
        template = (appset.get("spec") or {}).get("template") or {}
        for generator in (appset.get("spec") or {}).get("generators") or []:
            for element in (generator.get("list") or {}).get("elements") or []:
                app = {"apiVersion": appset["apiVersion"], "kind": "Application",
                       **gotemplate.render_tree(template, element)}
                app["metadata"].setdefault("namespace", appset["metadata"].get("namespace"))
                objects.setdefault(("Application", str(element["name"])), app)
    return objects


def compare(built: Built, loads: list[Workload], out: Path, carried: dict[str, str]) -> list[Row]:
    """A row for every object of the old repository: its counterpart in the written platform, or why none."""
    comparison = _Comparison(built, loads, _new_objects(out, built), carried)
    return [comparison.decide(f) for f in built.objects]


class _Comparison:
    """The old objects against the new ones, each decided once: a wrapper's verdict depends on its children's,
    a project's on its Applications'."""

    def __init__(self, built: Built, loads: list[Workload], new: dict[tuple[str, str], Obj],
                 carried: dict[str, str]) -> None:
        self.built, self.new, self.carried = built, new, carried
        self.by_found = {id(w.found): w for w in loads}
        self.federation_of = {_parent(w.found): w.federation for w in loads if w.federation}
        self.rows: dict[int, Row] = {}

    def decide(self, found: Found) -> Row:
        if id(found) in self.rows:
            return self.rows[id(found)]
        row = Row(found.kind, found.name, found.origin, MISSING)
        self.rows[id(found)] = row
        marks = (f"rendered by Application {found.name}", f"generated by ApplicationSet {found.name}")
        kids = [f for f in self.built.objects if f.origin in marks]
        counterpart = self._counterpart(found, kids)
        if counterpart is not None:
            self._matched(row, found, counterpart)
        else:
            self._unmatched(row, found, kids)
        return row

    def _counterpart(self, found: Found, kids: list[Found]) -> tuple[str, str] | None:
        counterpart = _counterpart(found, self.new, self.federation_of)
        if found.kind == "ApplicationSet" and any(k.name in self.federation_of for k in kids):
            # The ApplicationSet that made the federation wrappers: mip-cmp's federation ApplicationSet.
            counterpart = next(((k, n) for (k, n) in self.new if k == found.kind), None)
        if counterpart is None and found.kind == "Application" and "network" in self.carried.get(found.name, ""):
            counterpart = _network_app(found, self.new)
        if counterpart is None and found.kind == "AppProject":
            counterpart = _project_of_counterparts(found, self.built, self.new, self.decide)
        return counterpart

    def _matched(self, row: Row, found: Found, counterpart: tuple[str, str]) -> None:
        kind, name = counterpart
        row.counterpart = f"{kind} {name}"
        if found.helm_values is not None:
            # Only its name is known without Helm: say what it was given instead of a field-by-field diff.
            row.fields = _field_lines({"metadata": {"name": found.name}}, {"metadata": {"name": name}})
            row.facts = [f"templated by Helm (not run by mip-cmp) from the values {short(found.helm_values)}",
                         "mip-cmp derives its fields (repositories, destinations, kinds, roles) from the platform"]
            row.verdict = CHANGED
            return
        row.fields = _field_lines(found.obj, self.new[counterpart])
        row.verdict = SAME if not row.fields else CHANGED
        workload = self.by_found.get(id(found))
        if workload is not None:
            row.facts = _workload_facts(workload, self.new[counterpart], self.built.root)

    def _unmatched(self, row: Row, found: Found, kids: list[Found]) -> None:
        if found.kind == "AppProject" and found.name.removeprefix(PROJECT_PREFIX) in UNUSED_PROJECTS:
            row.verdict, row.why = DROPPED, UNUSED_PROJECTS[found.name.removeprefix(PROJECT_PREFIX)]
            return
        if kids and all(self.decide(k).verdict != MISSING for k in kids):
            row.verdict, row.why = DROPPED, WRAPPER
            return
        missing = [k.name for k in kids if self.decide(k).verdict == MISSING]
        deployed = sorted({str(o.get("kind")) for o in self.built.resources.get(found.name, [])})
        fallback = self.built.notes.get(found.name, f"no mip-cmp {found.kind} corresponds to it")
        what = (f"what it creates ({', '.join(missing)}) has no counterpart yet" if missing else
                f"deploys {', '.join(deployed)}" if deployed else fallback)
        row.why = f"mip-cmp cannot express it yet: {what}"
        deployed_to = {_destination(obj)[1] for (k, _), obj in self.new.items() if k == "Application"}
        if "network" in self.carried.get(found.name, "") and found.kind == "Application" \
                and _destination(found.obj)[1] not in deployed_to:
            row.verdict = DROPPED
            row.why = (f"no Application of the platform deploys to namespace {_destination(found.obj)[1]!r}: there is "
                       "nothing there to isolate")
            return
        if found.name in self.carried:
            row.why = (f"carried over to {self.carried[found.name]}, but this mip-cmp renders no object for it yet "
                       f"(the old one: {what})")


def _destination(obj: Obj) -> tuple[str, str]:
    destination = (obj.get("spec") or {}).get("destination") or {}
    return str(destination.get("server", IN_CLUSTER_SERVER)), str(destination.get("namespace", ""))


def _network_app(found: Found, new: dict[tuple[str, str], Obj]) -> tuple[str, str] | None:
    """The Application of mip-cmp's generated NetworkPolicies for the same namespace (`<name>-network`)."""
    return next(((k, n) for (k, n), obj in sorted(new.items()) if k == "Application"
                 and n.endswith(f"-{NETWORK_SUFFIX}") and _destination(obj) == _destination(found.obj)), None)


def _project_of_counterparts(found: Found, built: Built, new: dict[tuple[str, str], Obj],
                             decide: typing.Callable[[Found], Row]) -> tuple[str, str] | None:
    """An old project whose Applications all went into one new project: that project."""
    apps = [f for f in built.objects if f.kind == "Application"
            and (f.obj.get("spec") or {}).get("project") == found.name]
    projects = set()
    for app in apps:
        row = decide(app)
        if row.verdict == DROPPED:
            continue
        if not row.counterpart:
            return None
        target = new.get(tuple(row.counterpart.split(" ", 1)))  # type: ignore[arg-type]
        projects.add(str(((target or {}).get("spec") or {}).get("project", "")))
    # Several new projects (each infrastructure app has its own): the first stands for them; the field
    # differences show the rest.
    found_projects = sorted(p for p in projects if ("AppProject", p) in new)
    return ("AppProject", found_projects[0]) if found_projects and len(found_projects) == len(projects) else None


def _counterpart(found: Found, new: dict[tuple[str, str], Obj],
                 federation_of: dict[str, str]) -> tuple[str, str] | None:
    kind, name = found.kind, found.name
    candidates = [(kind, name)]
    if kind == "AppProject":
        short = name.removeprefix(PROJECT_PREFIX)
        candidates += [(kind, short), (kind, f"mip-{short}")]
    if kind == "Application" and name in federation_of:
        candidates.append((kind, federation_of[name]))  # the federation's wrapper
    if kind == "Application" and (found.obj.get("spec") or {}).get("source", {}).get("path", "").startswith("base"):
        candidates.append((kind, ROOT_APPLICATION))  # the hand-made Applications: one root Application now
    return next((c for c in candidates if c in new), None)


def _workload_facts(w: Workload, new: Obj, root: Path) -> list[str]:
    source = (new.get("spec") or {}).get("source") or {}
    helm = source.get("helm") or {}
    facts = []
    same_chart = (source.get("repoURL"), source.get("path")) == (w.repo_url, w.path)
    facts.append(f"chart {w.repo_url} {w.path}: {'same' if same_chart else 'CHANGED'}")
    facts.append(f"pinned revision {w.revision}: {'same' if source.get('targetRevision') == w.revision else 'CHANGED'}")
    old_values, new_values = w.effective_values(root), deep_merge({}, helm.get("valuesObject") or {})
    same_values = old_values == new_values and list(helm.get("valueFiles") or []) == list(w.chart_files)
    facts.append(f"effective Helm values ({' + '.join([*w.chart_files, *w.value_files])}): "
                 f"{'same' if same_values else 'CHANGED'}")
    return facts


def import_repo(source: Path, out: Path) -> MigrationReport:
    built = build(source)
    loads = workloads(built)
    if not loads:
        raise MipError(f"{source}: no workload Application found (Helm charts from other repositories)")
    out.mkdir(parents=True, exist_ok=True)
    carried: dict[str, str] = {}
    write_platform(*platform_files(built, loads, carried), out)
    problems, _ = validate_repo(out)
    if problems:
        raise MipError(problems)  # a platform import writes must validate: this is mip-cmp's bug to fix
    rows = compare(built, loads, out, carried)
    notes = dict(built.notes)
    notes["secrets"] = SECRETS_NOTE
    return MigrationReport(str(source), str(out), rows, notes)


# --- output -----------------------------------------------------------------------------------------------


def as_text(report: MigrationReport) -> str:
    c = report.counts()
    lines = [f"mip-cmp import {report.source} -> {report.out}: {len(report.rows)} Argo CD objects: "
             f"{c[SAME]} same, {c[CHANGED]} changed, {c[DROPPED]} dropped, {c[MISSING]} without a counterpart yet"]
    lines += [f"note: {what}: {note}" for what, note in sorted(report.notes.items()) if what == "secrets"]
    for i, row in enumerate(report.rows, 1):
        target = f" -> {row.counterpart}" if row.counterpart else ""
        lines.append(f"{i:2}. {row.kind} {row.name}: {row.verdict}{target}")
        lines.append(f"      from: {row.origin}")
        if row.why:
            lines.append(f"      why: {row.why}")
        lines += [f"      {fact}" for fact in row.facts]
        lines += [f"      ~ {line}" for line in row.fields]
    return "\n".join(lines) + "\n"


def as_json(report: MigrationReport) -> str:
    data = {"source": report.source, "out": report.out, "summary": report.counts(),
            "objects": [row.__dict__ for row in report.rows], "notes": report.notes}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def as_markdown(report: MigrationReport) -> str:
    c = report.counts()
    out = [f"### mip-cmp import: {len(report.rows)} Argo CD objects", "",
           f"{c[SAME]} same, {c[CHANGED]} changed, {c[DROPPED]} dropped, {c[MISSING]} without a counterpart yet", "",
           "| # | object | verdict | counterpart | why / facts |", "|---|---|---|---|---|"]
    for i, row in enumerate(report.rows, 1):
        notes = "; ".join([row.why, *row.facts] if row.why else row.facts).replace("|", "\\|")
        out.append(f"| {i} | {row.kind} `{row.name}` | {row.verdict} | {row.counterpart} | {notes} |")
    return "\n".join(out) + "\n"


RENDERERS = {"text": as_text, "json": as_json, "markdown": as_markdown}


def render_migration_report(report: MigrationReport, fmt: str) -> str:
    return RENDERERS[fmt](report)
