"""docs/operations.md's table, row by row, on the real Argo CD: each case installs the sample platform on an
empty cluster, waits for its first sync, makes the change the row names, pushes it, and asserts what the
row says on the real objects (Applications, projects, namespaces, Secrets).

What a case expects of a federation (its Applications, which of them are workloads, which hold its secrets,
its namespace) is read from the platform's render (platform_repo.federations), so the cases follow the sample.
"""

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
    Federation,
    Installed,
    common_secrets,
    conditions,
    federations,
    install,
    platform_keys,
    store,
    synced_to,
)

NEW = "federation-b"  # the federation the add cases add, a copy of an existing one under this name
RENAMED_DIRECTORY = "zeta"


def first_sync(cluster: Cluster, tmp_path: Path, name: str,
               edit: Callable[[Path], None] | None = None) -> tuple[Installed, Federation, Federation]:
    """The sample installed and synced; the federation the case changes (the sample's last: in today's sample
    the hybrid one, with objects beside its charts) and one that must not notice (its first)."""
    installed = install(cluster, tmp_path / "platform", name, edit)
    installed.converge("first sync")
    rendered = federations(installed.repo)
    untouched, *_, changed = (rendered[n] for n in sorted(rendered))
    return installed, changed, untouched


def federation_file(installed: Installed, federation: Federation) -> Path:
    return installed.repo.work / federation.directory / "mip.yaml"


def add_federation(installed: Installed, copied: Federation, name: str) -> None:
    """A new federation `name` in the working copy: `copied`'s directory under that name (its own files
    with it); the store gains the keys the new one reads."""
    directory = installed.repo.work / copied.directory
    new = directory.with_name(name)
    shutil.copytree(directory, new)
    path = new / "mip.yaml"
    path.write_text(path.read_text().replace(f"name: {copied.name}\n", f"name: {name}\n"))
    installed.repo.cluster.apply([store(platform_keys(installed.repo))])


def add_to_file(path: Path, text: str) -> None:
    path.write_text(path.read_text().rstrip("\n") + f"\n{text}\n")


def uids(cluster: Cluster, kind: str, namespace: str | None = ARGOCD_NAMESPACE) -> dict[str, str]:
    listed = cluster.get(kind, namespace=namespace) or {"items": []}
    return {o["metadata"]["name"]: o["metadata"]["uid"] for o in listed["items"]}


def specs(apps: Apps, names: frozenset[str]) -> dict[str, Any]:
    return {n: a["spec"] for n, a in apps.items() if n in names}


def absent(names: frozenset[str]) -> Callable[[Apps], bool]:
    return lambda apps: not names & apps.keys()


def removed_and_synced(installed: Installed, head: str, removed: frozenset[str],
                       synced: frozenset[str]) -> Callable[[Apps], bool]:
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
    installed, _, untouched = first_sync(empty_cluster, tmp_path, "add")
    before = specs(installed.argo.apps(), untouched.apps)
    add_federation(installed, untouched, NEW)
    installed.push(f"add {NEW}")
    added = federations(installed.repo)[NEW]
    assert added.renders <= installed.expected
    apps = installed.converge(f"{NEW} added")
    assert added.apps <= apps.keys()
    assert NEW in uids(empty_cluster, "appprojects.argoproj.io")
    assert specs(apps, untouched.apps) == before, "another federation's Applications changed"


def test_rename_a_federation_directory(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'rename its directory': the `directory` parameter follows, in the wrapper and in every Application
    that renders from that directory (its secrets, objects and network ones), and nothing else changes;
    nothing is re-created."""
    installed, changed, _ = first_sync(empty_cluster, tmp_path, "rename-dir")
    apps_before = uids(empty_cluster, "applications.argoproj.io")
    specs_before = installed.argo.apps()
    old = installed.repo.work / changed.directory
    renamed = old.with_name(RENAMED_DIRECTORY).relative_to(installed.repo.work).as_posix()
    old.rename(installed.repo.work / renamed)
    installed.push(f"{changed.name}: directory renamed to {renamed}")
    apps = installed.converge("the renamed directory synced")
    params = {p["name"]: p.get("string") for p in apps[changed.name]["spec"]["source"]["plugin"]["parameters"]}
    assert params == {"federation": changed.name, "directory": renamed}
    assert uids(empty_cluster, "applications.argoproj.io") == apps_before, "an Application was re-created"
    assert {n for n in apps if apps[n]["spec"] != specs_before[n]["spec"]} == changed.renders
    for name in changed.renders:
        renamed_back = json.dumps(apps[name]["spec"]).replace(f'"{renamed}"', f'"{changed.directory}"')
        assert json.loads(renamed_back) == specs_before[name]["spec"], f"{name}: more than its directory changed"


def test_rename_a_federation(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'rename the federation': a new federation (its namespace, project, wrapper and apps), and the old one
    removed as by default (its wrapper deleted; its Applications, project and namespace, with its data, stay)."""
    installed, changed, _ = first_sync(empty_cluster, tmp_path, "rename")
    renamed = f"{changed.name}-renamed"
    namespace = uids(empty_cluster, "namespaces", None)[changed.namespace]
    secrets = uids(empty_cluster, "secrets", changed.namespace)
    path = federation_file(installed, changed)
    path.write_text(path.read_text().replace(f"name: {changed.name}\n", f"name: {renamed}\n"))
    platform = installed.repo.work / "mip.yaml"  # the peers the platform assigned to it follow the name
    platform.write_text(platform.read_text().replace(f"federation: {changed.name}", f"federation: {renamed}"))
    empty_cluster.apply([store(platform_keys(installed.repo))])  # the store holds the new name's keys
    head = installed.push(f"{changed.name} renamed {renamed}")
    added = federations(installed.repo)[renamed]
    assert added.renders <= installed.expected
    apps = installed.argo.wait("the renamed federation synced, the old one's wrapper deleted", removed_and_synced(
        installed, head, removed=frozenset({changed.name}), synced=added.renders))
    assert changed.apps - {changed.name} <= apps.keys(), "the old name's Applications were deleted"
    assert {changed.name, renamed} <= uids(empty_cluster, "appprojects.argoproj.io").keys()
    assert uids(empty_cluster, "namespaces", None)[changed.namespace] == namespace, "the old namespace was re-created"
    assert uids(empty_cluster, "secrets", changed.namespace) == secrets, "the old namespace's Secrets changed"
    assert added.namespace in uids(empty_cluster, "namespaces", None)


def test_retire_a_federation(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'retire': its workload Applications are pruned (and whatever else its render no longer has); its
    project, wrapper, secrets Application, namespace and Secrets are kept (the same objects)."""
    installed, changed, _ = first_sync(empty_cluster, tmp_path, "retire")
    apps_before = uids(empty_cluster, "applications.argoproj.io")
    project = uids(empty_cluster, "appprojects.argoproj.io")[changed.name]
    namespace = uids(empty_cluster, "namespaces", None)[changed.namespace]
    secrets = uids(empty_cluster, "secrets", changed.namespace)
    add_to_file(federation_file(installed, changed), "state: retired")
    installed.push(f"{changed.name}: retired")
    retired = federations(installed.repo)[changed.name]
    pruned = changed.apps - retired.apps
    assert changed.workloads <= pruned and {changed.name} | changed.secrets <= retired.apps, (pruned, retired)
    installed.argo.wait("what its render no longer has pruned", absent(pruned))
    installed.converge("the retired federation synced")
    assert {n: u for n, u in uids(empty_cluster, "applications.argoproj.io").items() if n in retired.apps} == \
        {n: apps_before[n] for n in retired.apps}
    assert uids(empty_cluster, "appprojects.argoproj.io")[changed.name] == project
    assert uids(empty_cluster, "namespaces", None)[changed.namespace] == namespace
    assert uids(empty_cluster, "secrets", changed.namespace) == secrets


def test_remove_a_federation_keeps_its_apps_by_default(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'remove (default onRemoval: keep)': its wrapper is deleted; its Applications, project and namespace
    stay for an admin; and the platform is not stuck: a later change still syncs."""
    installed, changed, untouched = first_sync(empty_cluster, tmp_path, "remove-keep")
    kept = changed.apps - {changed.name}
    shutil.rmtree(installed.repo.work / changed.directory)
    installed.push(f"{changed.name} removed")
    apps = installed.argo.wait("its wrapper deleted", absent(frozenset({changed.name})))
    assert kept <= apps.keys(), f"deleted although kept by default: {kept - apps.keys()}"
    assert changed.name in uids(empty_cluster, "appprojects.argoproj.io")
    assert changed.namespace in uids(empty_cluster, "namespaces", None)
    add_federation(installed, untouched, NEW)
    head = installed.push(f"add {NEW} after removing {changed.name}")
    added = federations(installed.repo)[NEW].renders
    apps = installed.argo.wait("a change after the removal synced", removed_and_synced(
        installed, head, frozenset(), added))
    # The reminder the docs describe: the root is OutOfSync only for what it would prune and keeps.
    pending = {(r["kind"], r["name"]) for r in apps[ROOT]["status"].get("resources") or []
               if r.get("status") != SYNCED}
    assert pending and all(name.startswith(changed.name) for _, name in pending), pending


def test_remove_a_federation_with_on_removal_delete(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'remove with onRemoval: delete': its wrapper, Applications and project are deleted; its namespace
    and generated passwords stay."""
    def delete_on_removal(work: Path) -> None:
        platform = work / "mip.yaml"
        platform.write_text(platform.read_text().replace("  path: federations\n",
                                                         "  path: federations\n  onRemoval: delete\n"))

    installed, changed, _ = first_sync(empty_cluster, tmp_path, "remove-delete", edit=delete_on_removal)
    secrets = uids(empty_cluster, "secrets", changed.namespace)
    assert changed.generated and changed.generated <= secrets.keys(), "the generated passwords were never made"
    shutil.rmtree(installed.repo.work / changed.directory)
    installed.push(f"{changed.name} removed")
    installed.argo.wait("its Applications deleted", absent(changed.apps))
    installed.converge("the platform synced without it")
    assert changed.name not in uids(empty_cluster, "appprojects.argoproj.io")
    assert changed.namespace in uids(empty_cluster, "namespaces", None)
    assert {n: uids(empty_cluster, "secrets", changed.namespace).get(n) for n in changed.generated} == \
        {n: secrets[n] for n in changed.generated}


def test_a_broken_federation_file_shows_on_its_application_only(empty_cluster: Cluster, tmp_path: Path) -> None:
    """Row 'a broken federation file': that federation's Application shows mip-cmp's located message; the
    root and every other federation sync the new commit."""
    installed, changed, _ = first_sync(empty_cluster, tmp_path, "broken")
    add_to_file(federation_file(installed, changed), "clustr: mars")
    head = installed.push(f"{changed.name}: a typo")
    others = installed.expected - changed.renders
    where = f"{changed.directory}/mip.yaml:"

    def shows_error(apps: Apps) -> bool:
        located = any(where in c and "clustr" in c for c in conditions(apps[changed.name]))
        return located and all(synced_to(apps[n], head) for n in others)

    apps = installed.argo.wait(f"{changed.name} shows the located error, the rest syncs", shows_error)
    message = next(c for c in conditions(apps[changed.name]) if "clustr" in c)
    assert "did you mean 'cluster'" in message, message
    assert changed.apps <= apps.keys(), "something of the broken federation was pruned"


@pytest.mark.parametrize("misnamed", ["mip.yml", None], ids=["misnamed", "missing"])
def test_a_missing_or_misnamed_federation_file_fails_the_root(
        empty_cluster: Cluster, tmp_path: Path, misnamed: str | None) -> None:
    """Row 'a missing or misnamed mip.yaml': the root shows the error naming the directory; nothing of the
    platform is synced or pruned from that commit."""
    installed, changed, _ = first_sync(empty_cluster, tmp_path, f"file-{misnamed or 'missing'}")
    before = installed.repo.head()
    path = federation_file(installed, changed)
    if misnamed:
        path.rename(path.with_name(misnamed))
    else:
        path.unlink()
        (path.parent / "README.md").write_text("a federation directory whose mip.yaml was deleted\n")
    installed.repo.commit(f"{changed.name}: mip.yaml " + ("misnamed" if misnamed else "deleted"))
    installed.argo.refresh(ROOT)

    def root_fails(apps: Apps) -> bool:
        return any(changed.directory in c for c in conditions(apps[ROOT]))

    apps = installed.argo.wait("the root shows the error", root_fails)
    assert changed.apps <= apps.keys(), "something was pruned"
    last_sync = apps[ROOT]["status"].get("operationState", {}).get("syncResult", {}).get("revision")
    assert last_sync == before, "the root synced the broken commit"


def test_a_store_missing_a_key_holds_back_only_the_app_that_needs_it(empty_cluster: Cluster, tmp_path: Path) -> None:
    """First install with the store lacking the common and infrastructure apps' keys (the sample's: the
    datacatalog's and athena-proxy's): their secrets cannot be made, and every federation still syncs."""
    installed = install(empty_cluster, tmp_path / "platform", "missing-key", missing_for=common_secrets)
    of_federations = frozenset[str]().union(*(f.renders for f in federations(installed.repo).values()))
    head = installed.repo.head()
    installed.argo.wait("every federation's Applications Synced with the common and infrastructure apps' keys missing",
                        lambda apps: all(n in apps and synced_to(apps[n], head) for n in of_federations))
