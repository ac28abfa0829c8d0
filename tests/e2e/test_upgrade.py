"""docs/operations.md's row 'upgrade mip-cmp' on the real Argo CD: the sample installed by the previous
release's sidecar, then that sidecar replaced by this release's, as a new image tag does.

The previous release runs as its recorded render (tests/releases/<version>/sample.yaml, replayed by
previous_release.py for the Application Argo CD asks about): what that release's sidecar gave Argo CD for the
sample, without building that release. The repository is this release's sample throughout: an upgrade
changes the sidecar, not the repository.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.cluster import ARGOCD_NAMESPACE, Cluster
from e2e.platform_repo import (
    ROOT,
    SAMPLE_REPO,
    Apps,
    declare_argocd,
    install,
    made_secret,
    render,
    store_keys,
    sync_status,
    synced_to,
)
from e2e.previous_release import plugin_yaml, recorded_repo_url, sections
from releases import RELEASES

REPO = "upgrade"  # the case's repository on the git server
IN_CLUSTER = "https://kubernetes.default.svc"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def previous_release() -> Path:
    """The last release's recorded render of the sample."""
    versions = [p for p in RELEASES.iterdir() if re.fullmatch(r"\d+\.\d+\.\d+", p.name)]
    return max(versions, key=lambda p: tuple(int(n) for n in p.name.split("."))) / "sample.yaml"


def made_secrets(rendered: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(namespace, name) of every Secret the rendered ExternalSecrets make."""
    return {(o["metadata"]["namespace"], made_secret(o)) for o in rendered if o["kind"] == "ExternalSecret"}


def external_secrets(rendered: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The rendered ExternalSecrets by (namespace, name)."""
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in rendered if o["kind"] == "ExternalSecret"}


def prunable(obj: dict[str, Any]) -> bool:
    """Whether Argo CD prunes the live object once its Application no longer renders it."""
    options = str((obj["metadata"].get("annotations") or {}).get(SYNC_OPTIONS, ""))
    return "Prune=false" not in options


def owned(external_secret: dict[str, Any]) -> bool:
    """Whether ESO makes its Secret owned by it (deleted with it by Kubernetes' garbage collector)."""
    return str(external_secret["spec"].get("target", {}).get("creationPolicy", "Owner")) == "Owner"


def made_here(renders: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    """The Secrets made by Applications that deploy to Argo CD's own cluster (the suite's only one; the root
    does, as bootstrap makes it)."""
    servers = {o["metadata"]["name"]: o["spec"]["destination"].get("server")
               for rendered in renders.values() for o in rendered if o["kind"] == "Application"}
    return {secret for app, rendered in renders.items() if servers.get(app, IN_CLUSTER) == IN_CLUSTER
            for secret in made_secrets(rendered)}


def uid(cluster: Cluster, kind: str, name: str, namespace: str | None = None) -> str | None:
    found = cluster.get(kind, name, namespace)
    return None if found is None else str(found["metadata"]["uid"])


def start_previous_sidecar(cluster: Cluster, recorded: Path) -> None:
    """argocd-cmp-server replaced by the previous release's stand-in (files where uid 999 can read them)."""
    stand_in = cluster.run / "previous-release"
    stand_in.mkdir(exist_ok=True)
    shutil.copy2(recorded, stand_in / "sample.yaml")
    shutil.copy2(Path(__file__).with_name("previous_release.py"), stand_in / "previous_release.py")
    (stand_in / "plugin.yaml").write_text(plugin_yaml(
        cluster.run / "venv" / "bin" / "python", stand_in / "previous_release.py", stand_in / "sample.yaml",
        cluster.repo_url(REPO), recorded_repo_url(SAMPLE_REPO / "mip.yaml")))
    cluster.restart_cmp_server(stand_in / "plugin.yaml")


def test_upgrade_from_the_previous_release(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'upgrade mip-cmp' (data: generated passwords never deleted by an upgrade; Argo CD objects: changed
    objects synced): once the sidecar is replaced, every Application of this release's render is Synced to the
    same commit; every Application that outlives the upgrade is the same object (updated in place, not
    re-created), no namespace is re-created, and every Secret both releases' ExternalSecrets make is the same
    Secret. An ExternalSecret the previous release's root applied and this release makes nowhere (the
    datacatalog's store copy, which the sample's datacatalog no longer reads) is pruned by the root, with its
    Secret where ESO made it owned (CHANGELOG, 'Changed output (lifecycle)'); one marked Prune=false stays."""
    recorded = previous_release()
    old = {app: [o for o in yaml.safe_load_all(text) if o] for app, text in sections(recorded.read_text()).items()}
    old_objects = [o for rendered in old.values() for o in rendered]
    made = made_here(old)
    start_previous_sidecar(empty_cluster, recorded)
    try:
        # That release's root wrote a common app's secrets into a namespace nothing had made yet, so an admin
        # made it by hand (fixed since: CHANGELOG, "Changed output (lifecycle)").
        empty_cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                             for namespace in {o["metadata"].get("namespace") for o in old[ROOT]} - {None, ARGOCD_NAMESPACE}])
        installed = install(empty_cluster, tmp_path / "platform", REPO, extra=store_keys(old_objects))

        def previous_release_installed(apps: Apps) -> bool:
            return old.keys() <= apps.keys() and all(uid(empty_cluster, "secrets", n, ns) for ns, n in made)

        installed.argo.wait(f"the sample installed by mip-cmp {recorded.parent.name}", previous_release_installed)
        apps_before = {n: a["metadata"]["uid"] for n, a in installed.argo.apps().items()}
        namespaces_before = {ns: uid(empty_cluster, "namespaces", ns) for ns, _ in made}
        secrets_before = {s: uid(empty_cluster, "secrets", s[1], s[0]) for s in made}
        at_root = external_secrets(old[ROOT])
        at_root_before = {k: uid(empty_cluster, "externalsecrets.external-secrets.io", k[1], k[0]) for k in at_root}
    finally:
        empty_cluster.restart_cmp_server()

    installed.argo.refresh(*apps_before)
    apps = installed.converge("this release's render synced after the upgrade")
    outlived = apps_before.keys() & apps.keys()
    assert installed.expected & outlived, "no mip-cmp Application outlived the upgrade"
    assert {n: apps[n]["metadata"]["uid"] for n in outlived} == {n: apps_before[n] for n in outlived}, \
        "an Application was re-created by the upgrade"
    assert {ns: uid(empty_cluster, "namespaces", ns) for ns in namespaces_before} == namespaces_before, \
        "a namespace was deleted or re-created by the upgrade"
    now = [o for name in installed.expected for o in render(installed, apps[name])]
    both = made & made_secrets(now)
    assert both, "the two releases make no Secret in common"
    assert {s: uid(empty_cluster, "secrets", s[1], s[0]) for s in both} == {s: secrets_before[s] for s in both}, \
        "a Secret both releases make was deleted or re-created by the upgrade"

    left = {k: o for k, o in at_root.items() if k not in external_secrets(now)}
    expected = {k: (None if prunable(o) else at_root_before[k],
                    None if prunable(o) and owned(o) else secrets_before.get((k[0], made_secret(o)))) for k, o in left.items()}

    def live(key: tuple[str, str]) -> tuple[str | None, str | None]:
        return (uid(empty_cluster, "externalsecrets.external-secrets.io", key[1], key[0]),
                uid(empty_cluster, "secrets", made_secret(left[key]), key[0]))

    installed.argo.wait("the root's ExternalSecrets this release does not make pruned, or kept where Prune=false",
                        lambda _: {k: live(k) for k in left} == expected)


def operations(apps: Apps, names: set[str]) -> dict[str, tuple[str, str, int]]:
    """Per Application: its uid, its last sync's start, how many syncs its history holds."""
    return {n: (apps[n]["metadata"]["uid"], str(apps[n].get("status", {}).get("operationState", {}).get("startedAt")),
                len(apps[n].get("status", {}).get("history") or [])) for n in names}


def platform_secrets(cluster: Cluster) -> dict[tuple[str, str], str]:
    listed = cluster.api("GET", "/api/v1/secrets")["items"]  # every namespace
    return {(s["metadata"]["namespace"], s["metadata"]["name"]): s["metadata"]["uid"] for s in listed
            if s["metadata"]["namespace"] not in (ARGOCD_NAMESPACE, "kube-system")}


@pytest.mark.argocd_upgrade
def test_upgrade_argo_cd(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'upgrade Argo CD' (nothing re-created, nothing re-synced): the sample installed and synced by one
    Argo CD release, then Argo CD replaced by a newer one (its CRDs, then every process). Once the new
    controllers have compared every mip-cmp Application, each is Synced to the same commit, is the same
    object and has started no sync; no namespace nor Secret was re-created (mip-cmp's output means the same to
    both releases). Then the platform declares the new release: the projects are updated in place and keep
    what only it understands."""
    assert empty_cluster.bins.argocd_next is not None  # collected only then (tests/e2e/conftest.py)
    installed = install(empty_cluster, tmp_path / "platform", "argocd-upgrade")
    apps = installed.converge("the sample synced by the first Argo CD release")
    before = operations(apps, installed.expected)
    secrets_before = platform_secrets(empty_cluster)
    namespaces = {n["metadata"]["name"]: n["metadata"]["uid"] for n in empty_cluster.get("namespaces")["items"]}
    head = installed.repo.head()
    projects_before = {p["metadata"]["name"]: p["metadata"]["uid"]
                       for p in empty_cluster.get("appprojects.argoproj.io", namespace=ARGOCD_NAMESPACE)["items"]}
    first = (empty_cluster.bins.argocd, empty_cluster.bins.argocd_crds)
    upgraded = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    empty_cluster.replace_argocd(*empty_cluster.bins.argocd_next)
    try:
        installed.argo.refresh(*installed.expected)

        def compared_by_the_new_release(apps: Apps) -> bool:
            return all(n in apps and str(apps[n].get("status", {}).get("reconciledAt", "")) >= upgraded
                       for n in installed.expected)

        apps = installed.argo.wait("every mip-cmp Application compared by the new release",
                                   compared_by_the_new_release)
        not_synced = {n: sync_status(apps[n]) for n in installed.expected if not synced_to(apps[n], head)}
        assert not not_synced, f"not Synced to the same commit after the upgrade: {not_synced}"
        assert operations(apps, installed.expected) == before, "an Application was re-created or re-synced"
        after = platform_secrets(empty_cluster)
        assert {k: after.get(k) for k in secrets_before} == secrets_before, "a Secret was deleted or re-created"
        now = {n["metadata"]["name"]: n["metadata"]["uid"] for n in empty_cluster.get("namespaces")["items"]}
        assert {n: now.get(n) for n in namespaces} == namespaces, "a namespace was deleted or re-created"

        # Step 2 of docs/operations.md: the platform declares the new release; its projects are updated in
        # place, and what only that release understands (each project's Namespace whitelist by name, v3.3.0)
        # is kept by its CRDs, object for object as mip-cmp renders it.
        platform = installed.repo.work / "mip.yaml"
        newer = empty_cluster.bins.argocd_next[0].name.removeprefix("argocd-")
        platform.write_text(declare_argocd(platform.read_text(), newer))
        installed.push(f"the platform declares Argo CD {newer}")
        apps = installed.converge(f"every mip-cmp Application synced with Argo CD {newer} declared")
        projects = {o["metadata"]["name"]: o for o in render(installed, apps[ROOT]) if o["kind"] == "AppProject"}
        named = {n for n, o in projects.items()
                 if any(e.get("kind") == "Namespace" and e.get("name") for e in
                        o["spec"].get("clusterResourceWhitelist") or [])}
        assert named, f"no project names its namespaces with Argo CD {newer} declared"
        live = {n: empty_cluster.get("appprojects.argoproj.io", n, ARGOCD_NAMESPACE) for n in projects}
        assert {n: live[n]["spec"].get("clusterResourceWhitelist") for n in named} == \
               {n: projects[n]["spec"]["clusterResourceWhitelist"] for n in named}, "a project lost a field"
        kept = projects.keys() & projects_before.keys()
        assert kept, "no project outlived the change"
        assert {n: live[n]["metadata"]["uid"] for n in kept} == {n: projects_before[n] for n in kept}, \
            "a project was re-created"
    finally:
        empty_cluster.replace_argocd(*first)  # the cases after this one run on the suite's release
