"""docs/operations.md's table, row by row, on the real Argo CD: each case installs the sample platform on an
empty cluster, waits for its first sync, makes the change the row names, pushes it, and asserts what the
row says on the real objects (Applications, projects, namespaces, Secrets)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.cluster import ARGOCD_NAMESPACE, Cluster
from e2e.platform_repo import (
    ROOT,
    SYNCED,
    Apps,
    Installed,
    conditions,
    install,
    platform_keys,
    store,
    synced_to,
)

FEDERATIONS = ("federation-a", "federation-z")
REMOVED = "federation-z"  # the federation each case changes; federation-a is the one that must not notice
RENAMED = "federation-y"  # federation-z's new name in the rename case
WORKLOADS = ("exareme2", "mip-stack")  # the sample catalog's apps, each a `<federation>-<app>` Application
NEW_FEDERATION = """\
apiVersion: mip-cmp.io/v1alpha1
kind: Federation
name: federation-b
cluster: in-cluster
apps:
  exareme2: {}
  mip-stack: {}
"""


def first_sync(cluster: Cluster, tmp_path: Path, name: str, edit: Callable[[Path], None] | None = None) -> Installed:
    installed = install(cluster, tmp_path / "platform", name, edit)
    installed.converge("first sync")
    return installed


def federation_file(installed: Installed, federation: str) -> Path:
    return installed.repo.work / "federations" / federation / "mip.yaml"


def uids(cluster: Cluster, kind: str, namespace: str | None = ARGOCD_NAMESPACE) -> dict[str, str]:
    listed = cluster.get(kind, namespace=namespace) or {"items": []}
    return {o["metadata"]["name"]: o["metadata"]["uid"] for o in listed["items"]}


def specs(apps: Apps, prefix: str) -> dict[str, Any]:
    return {n: a["spec"] for n, a in apps.items() if n.startswith(f"{prefix}-") or n == prefix}


def owned_by(federation: str) -> set[str]:
    """The Applications the root and a federation's wrapper make for it in the sample (its workload apps
    render remote charts, unreachable here: they exist, and show a comparison error)."""
    return {federation, f"{federation}-secrets", f"{federation}-network", *(f"{federation}-{w}" for w in WORKLOADS)}


def absent(names: set[str]) -> Callable[[Apps], bool]:
    return lambda apps: not names & apps.keys()


def removed_and_synced(installed: Installed, head: str, removed: set[str], synced: set[str]) -> Callable[[Apps], bool]:
    """The root synced `head` (it stays OutOfSync under `onRemoval: keep`, for what it keeps), the Applications
    `removed` are gone and those `synced` are Synced to it."""
    refreshed: set[str] = set()

    def done(apps: Apps) -> bool:
        root = apps[ROOT]["status"].get("operationState", {}).get("syncResult", {}).get("revision")
        fresh = (synced & apps.keys()) - refreshed
        installed.argo.refresh(*fresh)  # new ones at once, not after a reconciliation period
        refreshed.update(fresh)
        return root == head and not removed & apps.keys() and all(n in apps and synced_to(apps[n], head) for n in synced)
    return done


def test_add_a_federation(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'add a federation': its project, wrapper and apps are created and sync; no other federation's
    Application changes."""
    installed = first_sync(empty_cluster, tmp_path, "add")
    before = specs(installed.argo.apps(), "federation-a")
    new = federation_file(installed, "federation-b")
    new.parent.mkdir()
    new.write_text(NEW_FEDERATION)
    installed.push("add federation-b")
    apps = installed.converge("federation-b added")
    assert owned_by("federation-b") <= apps.keys()
    assert "federation-b" in uids(empty_cluster, "appprojects.argoproj.io")
    assert specs(apps, "federation-a") == before, "another federation's Applications changed"


def test_rename_a_federation_directory(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'rename its directory': the `directory` parameter follows, in the wrapper and in the secrets and
    network Applications that also render from that directory, and nothing else changes; nothing is
    re-created."""
    installed = first_sync(empty_cluster, tmp_path, "rename-dir")
    apps_before = uids(empty_cluster, "applications.argoproj.io")
    specs_before = installed.argo.apps()
    old = installed.repo.work / "federations" / REMOVED
    old.rename(old.with_name("zeta"))
    installed.push("federation-z: directory renamed to zeta")
    apps = installed.converge("the renamed directory synced")
    params = {p["name"]: p.get("string") for p in apps[REMOVED]["spec"]["source"]["plugin"]["parameters"]}
    assert params == {"federation": REMOVED, "directory": "federations/zeta"}
    assert uids(empty_cluster, "applications.argoproj.io") == apps_before, "an Application was re-created"
    changed = {n for n in apps if apps[n]["spec"] != specs_before[n]["spec"]}
    assert changed == {REMOVED, f"{REMOVED}-secrets", f"{REMOVED}-network"}
    for name in changed:
        renamed_back = json.dumps(apps[name]["spec"]).replace('"federations/zeta"', f'"federations/{REMOVED}"')
        assert json.loads(renamed_back) == specs_before[name]["spec"], f"{name}: more than its directory changed"


def test_rename_a_federation(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'rename the federation': a new federation (its namespace, project, wrapper and apps), and the old one
    removed as by default (its wrapper deleted; its Applications, project and namespace, with its data, stay)."""
    installed = first_sync(empty_cluster, tmp_path, "rename")
    namespace = uids(empty_cluster, "namespaces", None)[REMOVED]
    secrets = uids(empty_cluster, "secrets", REMOVED)
    path = federation_file(installed, REMOVED)
    path.write_text(path.read_text().replace(f"name: {REMOVED}\n", f"name: {RENAMED}\n"))
    platform = installed.repo.work / "mip.yaml"  # the peers the platform assigned to it follow the name
    platform.write_text(platform.read_text().replace(f"federation: {REMOVED}", f"federation: {RENAMED}"))
    empty_cluster.apply([store(platform_keys(installed.repo))])  # the store holds the new name's keys
    head = installed.push(f"{REMOVED} renamed {RENAMED}")
    added = owned_by(RENAMED) - {f"{RENAMED}-{w}" for w in WORKLOADS}
    assert added <= installed.expected
    apps = installed.argo.wait("the renamed federation synced, the old one's wrapper deleted", removed_and_synced(
        installed, head, removed={REMOVED}, synced=added))
    assert owned_by(REMOVED) - {REMOVED} <= apps.keys(), "the old name's Applications were deleted"
    assert {REMOVED, RENAMED} <= uids(empty_cluster, "appprojects.argoproj.io").keys()
    assert uids(empty_cluster, "namespaces", None)[REMOVED] == namespace, "the old namespace was re-created"
    assert uids(empty_cluster, "secrets", REMOVED) == secrets, "the old namespace's Secrets changed"
    assert RENAMED in uids(empty_cluster, "namespaces", None)


def test_retire_a_federation(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'retire': its workload Applications are pruned; its project, wrapper, secrets Application,
    namespace and Secrets are kept (the same objects)."""
    installed = first_sync(empty_cluster, tmp_path, "retire")
    kept_apps = {n: u for n, u in uids(empty_cluster, "applications.argoproj.io").items()
                 if n in {REMOVED, f"{REMOVED}-secrets", f"{REMOVED}-network"}}
    project = uids(empty_cluster, "appprojects.argoproj.io")[REMOVED]
    namespace = uids(empty_cluster, "namespaces", None)[REMOVED]
    secrets = uids(empty_cluster, "secrets", REMOVED)
    path = federation_file(installed, REMOVED)
    path.write_text(path.read_text().replace("type: hybrid", "type: hybrid\nstate: retired"))
    installed.push("federation-z: retired")
    workloads = {f"{REMOVED}-{w}" for w in WORKLOADS}
    installed.argo.wait("its workload Applications pruned", absent(workloads))
    installed.converge("the retired federation synced")
    assert {n: u for n, u in uids(empty_cluster, "applications.argoproj.io").items() if n in kept_apps} == kept_apps
    assert uids(empty_cluster, "appprojects.argoproj.io")[REMOVED] == project
    assert uids(empty_cluster, "namespaces", None)[REMOVED] == namespace
    assert uids(empty_cluster, "secrets", REMOVED) == secrets


def test_remove_a_federation_keeps_its_apps_by_default(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'remove (default onRemoval: keep)': its wrapper is deleted; its Applications, project and namespace
    stay for an admin; and the platform is not stuck: a later change still syncs."""
    installed = first_sync(empty_cluster, tmp_path, "remove-keep")
    kept = owned_by(REMOVED) - {REMOVED}
    shutil.rmtree(installed.repo.work / "federations" / REMOVED)
    installed.push("federation-z removed")
    apps = installed.argo.wait("its wrapper deleted", absent({REMOVED}))
    assert kept <= apps.keys(), f"deleted although kept by default: {kept - apps.keys()}"
    assert REMOVED in uids(empty_cluster, "appprojects.argoproj.io")
    assert REMOVED in uids(empty_cluster, "namespaces", None)
    new = federation_file(installed, "federation-b")
    new.parent.mkdir()
    new.write_text(NEW_FEDERATION)
    head = installed.push("add federation-b after removing federation-z")
    added = {"federation-b", "federation-b-secrets", "federation-b-network"}
    apps = installed.argo.wait("a change after the removal synced", removed_and_synced(installed, head, set(), added))
    # The reminder the docs describe: the root is OutOfSync only for what it would prune and keeps.
    pending = {(r["kind"], r["name"]) for r in apps[ROOT]["status"].get("resources") or []
               if r.get("status") != SYNCED}
    assert pending and all(name.startswith(REMOVED) for _, name in pending), pending


def test_remove_a_federation_with_on_removal_delete(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'remove with onRemoval: delete': its wrapper, Applications and project are deleted; its namespace
    and generated passwords stay."""
    def delete_on_removal(work: Path) -> None:
        platform = work / "mip.yaml"
        platform.write_text(platform.read_text().replace("  path: federations\n",
                                                         "  path: federations\n  onRemoval: delete\n"))

    installed = first_sync(empty_cluster, tmp_path, "remove-delete", edit=delete_on_removal)
    secrets = uids(empty_cluster, "secrets", REMOVED)
    assert "mip-secret" in secrets, "the generated passwords were never made"
    shutil.rmtree(installed.repo.work / "federations" / REMOVED)
    installed.push("federation-z removed")
    installed.argo.wait("its Applications deleted", absent(owned_by(REMOVED)))
    installed.converge("the platform synced without it")
    assert REMOVED not in uids(empty_cluster, "appprojects.argoproj.io")
    assert REMOVED in uids(empty_cluster, "namespaces", None)
    assert uids(empty_cluster, "secrets", REMOVED)["mip-secret"] == secrets["mip-secret"]


def test_a_broken_federation_file_shows_on_its_application_only(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'a broken federation file': that federation's Application shows mip-cmp's located message; the
    root and every other federation sync the new commit."""
    installed = first_sync(empty_cluster, tmp_path, "broken")
    path = federation_file(installed, REMOVED)
    path.write_text(path.read_text().replace("cluster: in-cluster", "cluster: in-cluster\nclustr: mars"))
    head = installed.push("federation-z: a typo")
    others = {n for n in installed.expected if not n.startswith(REMOVED)}

    def shows_error(apps: Apps) -> bool:
        located = any(f"federations/{REMOVED}/mip.yaml:" in c and "clustr" in c for c in conditions(apps[REMOVED]))
        return located and all(synced_to(apps[n], head) for n in others)

    apps = installed.argo.wait("federation-z shows the located error, the rest syncs", shows_error)
    message = next(c for c in conditions(apps[REMOVED]) if "clustr" in c)
    assert "did you mean 'cluster'" in message, message
    assert owned_by(REMOVED) <= apps.keys(), "something of the broken federation was pruned"


@pytest.mark.parametrize("misnamed", ["mip.yml", None], ids=["misnamed", "missing"])
def test_a_missing_or_misnamed_federation_file_fails_the_root(
        empty_cluster: Cluster, tmp_path: Path, misnamed: str | None) -> None:
    """Row 'a missing or misnamed mip.yaml': the root shows the error naming the directory; nothing of the
    platform is synced or pruned from that commit."""
    installed = first_sync(empty_cluster, tmp_path, f"file-{misnamed or 'missing'}")
    before = installed.repo.head()
    path = federation_file(installed, REMOVED)
    if misnamed:
        path.rename(path.with_name(misnamed))
    else:
        path.unlink()
        (path.parent / "README.md").write_text("a federation directory whose mip.yaml was deleted\n")
    installed.repo.commit("federation-z: mip.yaml " + ("misnamed" if misnamed else "deleted"))
    installed.argo.refresh(ROOT)

    def root_fails(apps: Apps) -> bool:
        return any(f"federations/{REMOVED}" in c for c in conditions(apps[ROOT]))

    apps = installed.argo.wait("the root shows the error", root_fails)
    assert owned_by(REMOVED) <= apps.keys(), "something was pruned"
    last_sync = apps[ROOT]["status"].get("operationState", {}).get("syncResult", {}).get("revision")
    assert last_sync == before, "the root synced the broken commit"


def test_a_store_missing_a_key_holds_back_only_the_app_that_needs_it(empty_cluster: Cluster, tmp_path: Path) -> None:
    """First install with the store lacking the datacatalog's key: that app's secret cannot be made, and
    every federation still syncs."""
    installed = install(empty_cluster, tmp_path / "platform", "missing-key", missing_for="datacatalog-secrets")
    federations = {n for n in installed.expected if n.startswith(FEDERATIONS)}
    head = installed.repo.head()
    installed.argo.wait("every federation's Applications Synced with the datacatalog's key missing",
                        lambda apps: all(n in apps and synced_to(apps[n], head) for n in federations))
