"""Translating a built mip-infra-style repository into mip.yaml files, as data.

Its workload Applications become the catalog, the federations and the common apps; the values files are
merged as Helm merges them, the part every federation shares going to the catalog and the rest to each
federation. The Applications that deploy a directory of the old repository (an ingress controller,
Submariner) become infrastructure apps, their directories copied; overlays go with their federation.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ...core.helm import merge_values
from ...core.names import FILE_NAME
from ...core.vocabulary import ARGOCD_NAMESPACE, HELM_CHART_FILE, IN_CLUSTER, IN_CLUSTER_SERVER, SYNC_WAVE, Obj
from ...model.application import DEFAULT_SYNC_OPTIONS, SyncOption
from ...model.fields import API_VERSION
from ..mipinfra import ARGO_KINDS, KUSTOMIZATIONS, Built, Found
from .read import Workload, parent, sources, values_file, version
from .report import NOTHING_CARRIED, Attention
from .secrets import STORE, FoundSecret, place
from .sync import DEFAULT_PRUNE, prunes

FEDERATIONS_DIR = "federations"
SYNC_OPTIONS: tuple[str, ...] = typing.get_args(SyncOption)
# Kinds Kubernetes serves cluster-scoped (besides every `Cluster*` kind).
CLUSTER_KINDS = {"Namespace", "IngressClass", "PersistentVolume", "StorageClass", "CustomResourceDefinition",
                 "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService"}


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


@dataclass
class Translation:
    """What the translation reads (the built repository, its workloads, the platform's `prune`) and what it
    learns on the way: where each old Application that is not a workload went in the mip.yaml files
    (`carried`), the directories copied as they are, by their new place (`copies`), the remote networks."""

    built: Built
    loads: list[Workload]
    prune: bool
    secrets: list[FoundSecret] = field(default_factory=list)
    carried: dict[str, str] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)
    peers: Obj = field(default_factory=dict)
    # federation -> its remote networks (names in `peers`), named by the federation once a flow needs them
    remote: dict[str, list[str]] = field(default_factory=dict)
    peer_apps: dict[str, tuple[str, str]] = field(default_factory=dict)  # peer -> (old Application, where)
    attention: list[Attention] = field(default_factory=list)
    infrastructure: list[str] = field(default_factory=list)  # old Applications now infrastructure apps


def platform_files(t: Translation) -> dict[str, Obj]:
    """The mip.yaml files, as data, by directory."""
    built, loads = t.built, t.loads
    catalog, shared_files = _catalog(built.root, [w for w in loads if w.federation])
    federations = _federations(built, loads, catalog, shared_files)
    types = sorted({fed["type"] for fed in federations.values()})
    # mip-infra keeps local and hybrid federations under two roots; so does the imported platform.
    roots = {t: f"{FEDERATIONS_DIR}/{t}" if len(types) > 1 else FEDERATIONS_DIR for t in types}
    _carry_network_charts(built, t.carried)
    files: dict[str, Obj] = {}
    for name, fed in federations.items():
        directory = f"{roots[fed['type']]}/{name}"
        _extras(t, name, fed, directory, catalog)
        files[directory] = fed
    federations_path = sorted(set(roots.values())) if len(types) > 1 else FEDERATIONS_DIR
    files["."] = _platform(t, catalog, federations_path)
    return files


def _chart(root: Path, w: Workload) -> Obj:
    """Where a workload's chart comes from: repository, path, the pinned revision and its human version."""
    return {"repoURL": w.repo_url, "path": w.path, "revision": w.revision, "version": version(root, w.revision)}


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
            values = merge_values(values, values_file(root, rel))
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
            overrides = merge_values(overrides, values_file(root, rel))
    overrides = merge_values(overrides, w.inline)
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
        chart = built.root / str(next(iter(sources(found.obj)), {}).get("path", "")).strip("/") / HELM_CHART_FILE
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


def _platform(t: Translation, catalog: Obj, federations_path: str | list[str]) -> Obj:
    """The platform's mip.yaml."""
    built, loads = t.built, t.loads
    platform: Obj = {"apiVersion": API_VERSION, "kind": "Platform", "repoURL": _bootstrap_url(built),
                     "argocd": {"namespace": _argocd_namespace(built)}, "clusters": _clusters(built)}
    rbac = _rbac(built)
    if rbac:
        platform["rbac"] = rbac
    common = _common_apps(built, loads)
    infrastructure = _infrastructure(t)
    secrets, said = place(t.secrets, catalog, {**common, **infrastructure})
    t.attention += said
    if any("fromStore" in entry for entry in secrets.values()):
        platform["secretStore"] = dict(STORE)
    if secrets:
        platform["secrets"] = secrets
    platform["catalog"] = catalog
    if common:
        platform["commonApps"] = common
    if infrastructure:
        platform["infrastructure"] = infrastructure
    if t.prune != DEFAULT_PRUNE:
        platform["syncPolicy"] = {"prune": t.prune}
    platform["federations"] = {"path": federations_path}
    return platform


def _wave_and_sync(found: Found, prune: bool) -> Obj:
    """The old Application's sync wave and sync settings, as a mip.yaml entry carries them over the
    platform's `prune`."""
    out: Obj = {}
    wave, _ = _annotations(found)
    if wave:
        out["syncWave"] = wave
    sync = _sync(found, SYNC_OPTIONS, prune)
    if sync:
        out["sync"] = sync
    return out


def _sync(found: Found, allowed: tuple[str, ...], prune: bool) -> Obj:
    """The old Application's sync settings that mip-cmp's AppSync can carry (CreateNamespace=true is always
    set by mip-cmp; ApplyOutOfSyncOnly=true is its default), and its prune where it differs from `prune`."""
    policy = (found.obj.get("spec") or {}).get("syncPolicy") or {}
    options = [o for o in policy.get("syncOptions") or [] if o in allowed and o not in DEFAULT_SYNC_OPTIONS]
    sync: Obj = {"options": options} if options else {}
    if prunes(found.obj) != prune:
        sync["prune"] = prunes(found.obj)
    return sync


def _extras(t: Translation, name: str, fed: Obj, directory: str, catalog: Obj) -> None:
    """What a federation wrapper rendered besides its workloads: an overlay of one of its apps (copied into
    the federation's directory), NetworkPolicies to remote networks (a hybrid federation's peers; which of its
    pods may reach them is decided by the flows, flows.py)."""
    built, loads, copies, carried = t.built, t.loads, t.copies, t.carried
    workload_ids = {id(w.found) for w in loads}
    wrappers = {parent(w.found) for w in loads if w.federation == name}
    for found in built.objects:
        if found.kind != "Application" or parent(found) not in wrappers or id(found) in workload_ids:
            continue
        source = next(iter(sources(found.obj)), {})
        app = found.name.removeprefix(f"{name}-").removesuffix("-overlay")
        local = built.root / str(source.get("path", "")).strip("/")
        if found.name == f"{name}-{app}-overlay" and app in fed["apps"] and local.is_dir():
            target = f"overlays/{app}"
            copies[f"{directory}/{target}"] = local
            overlay: Obj = {"path": target, "type": "kustomize" if any((local / k).is_file() for k in KUSTOMIZATIONS)
                            else "directory", **_wave_and_sync(found, t.prune)}
            fed["apps"][app] = {**(fed["apps"][app] or {}), "overlay": overlay}
            carried[found.name] = (f"{directory}/{FILE_NAME}: apps.{app}.overlay (its directory copied to "
                                   f"{directory}/{target})")
            continue
        cidrs = sorted(_ip_blocks(built.resources.get(found.name, [])))
        if cidrs and fed["type"] == "hybrid":
            peer_name = f"{name}-remote"
            t.peers[peer_name] = {"federation": name, "cidrs": cidrs,
                                  "description": f"from mip-infra's Application {found.name}"}
            t.remote.setdefault(name, []).append(peer_name)
            # Until a flow to it is declared (declare.py), nothing is carried: a remote network no pod talks
            # to would only narrow every pod's web egress.
            carried[found.name] = (f"{NOTHING_CARRIED}its policies allowed no pod a flow to its remote network "
                                   f"({', '.join(cidrs)}): they select no pod (see the stale selectors)")
            t.peer_apps[peer_name] = (found.name, f"{FILE_NAME}: network.peers.{peer_name} ({', '.join(cidrs)}), "
                                                  f"named in {directory}/{FILE_NAME}: peers")


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


def _infrastructure(t: Translation) -> Obj:
    """Applications the infrastructure wrappers rendered that deploy a directory of this repository (not a
    workload, not a federation's): an ingress controller, Submariner. Their directories are copied; the kinds
    their projects may create come from what they render, or else from the old project's whitelists."""
    built, loads, copies, carried = t.built, t.loads, t.copies, t.carried
    apps: Obj = {}
    workload_ids = {id(w.found) for w in loads}
    federation_wrappers = {parent(w.found) for w in loads if w.federation}
    for found in built.objects:
        spec = found.obj.get("spec") or {}
        own = sources(found.obj)
        if (found.kind != "Application" or id(found) in workload_ids or parent(found) in federation_wrappers
                or not found.origin.startswith("rendered by") or len(own) != 1
                or own[0].get("repoURL") not in built.repo_urls):
            continue
        local = built.root / str(own[0].get("path", "")).strip("/")
        if not local.is_dir() or (local / HELM_CHART_FILE).is_file():
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
        namespace = str((spec.get("destination") or {}).get("namespace") or found.name)
        moved = ""
        if namespace == _argocd_namespace(built):
            # Argo CD's own namespace is not an app's to take; where it only renders cluster-scoped objects
            # the namespace was nominal anyway.
            namespace, moved = found.name, f"; its destination namespace is now {found.name}, not Argo CD's"
        entry: Obj = {"namespace": namespace, "source": {"path": target}, **_wave_and_sync(found, t.prune)}
        if spec.get("ignoreDifferences"):
            entry["ignoreDifferences"] = spec["ignoreDifferences"]
        if cluster:
            entry["clusterKinds"] = cluster
        entry["namespaceKinds"] = namespaced or [{"group": "", "kind": "ConfigMap"}]
        apps[found.name] = entry
        t.infrastructure.append(found.name)
        carried[found.name] = f"{FILE_NAME}: infrastructure.{found.name} (its directory copied to {target}{moved})"
    return apps


def _bootstrap_url(built: Built) -> str:
    project = built.objects[0].obj
    return str((project.get("spec") or {}).get("sourceRepos", [""])[0])


def _argocd_namespace(built: Built) -> str:
    return str((built.objects[0].obj.get("metadata") or {}).get("namespace", ARGOCD_NAMESPACE))


def _federation_type(built: Built, w: Workload) -> str:
    """`hybrid` or `local`, as a label of the federation's namespace says (`*federation-type`), whichever
    Application manages that namespace's labels (the federation's wrapper in the March mip-infra, its
    network-policy Application upstream now)."""
    for found in built.objects:
        spec = found.obj.get("spec") or {}
        manages = (spec.get("destination") or {}).get("namespace") == w.federation or found.name == parent(w.found)
        if found.kind != "Application" or not manages:
            continue
        labels = ((spec.get("syncPolicy") or {}).get("managedNamespaceMetadata") or {}).get("labels") or {}
        kind = next((v for k, v in labels.items() if str(k).endswith("federation-type")), None)
        if kind in ("local", "hybrid"):
            return str(kind)
    return "local"
