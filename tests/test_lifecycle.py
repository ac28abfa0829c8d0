"""Every day after: adding, renaming, retiring and removing a federation, a broken file, a misnamed one, as
Argo CD carries each out (tests/support/argosim) on a platform that synced from empty. What each does to workloads
(the charts' StatefulSets) and data (their volumes, the federation's Secrets, its namespace) is asserted;
docs/operations.md says the same in prose."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from argosim import Simulation
from lifecycle import platform_repo, set_platform, simulate, write_federation
from mip_cmp.core.vocabulary import SYNC_OPTIONS
from mip_cmp.tools.deletion import DELETED, KEEP_RUNNING, workload_fates
from mip_cmp.tools.snapshot import take

# federation-z, in-cluster like federation-a (hybrid: its remote workers are not Argo CD's).
IN_CLUSTER = "https://kubernetes.default.svc"
# federation-a's Applications (its overlay's too) and the workloads they run (the simulated charts' and the
# overlay's StatefulSets).
FED_A = ["federation-a-exareme2", "federation-a-exareme2-overlay", "federation-a-mip-stack", "federation-a-network",
         "federation-a-secrets"]
WORKLOADS_A = ["federation-a-exareme2", "federation-a-exareme2-overlay", "federation-a-mip-stack"]


def running(tmp_path: Path) -> tuple[Path, Simulation]:
    repo = platform_repo(tmp_path)
    sim = simulate(repo)
    sim.run()
    assert sim.problems() == []
    return repo, sim


def workloads(sim: Simulation, namespace: str) -> list[str]:
    return sim.names("StatefulSet", namespace=namespace)


def data(sim: Simulation, namespace: str) -> list[str]:
    """The federation's persistent data: its volumes and its Secrets (generated passwords, store copies)."""
    return sim.names("PersistentVolumeClaim", namespace=namespace) + sim.names("Secret", namespace=namespace)


def apps(sim: Simulation, prefix: str) -> list[str]:
    return [a for a in sim.names("Application") if a.startswith(prefix)]


def project_exists(sim: Simulation, name: str) -> bool:
    return name in sim.names("AppProject", namespace="argocd-mip-team")


def remove_federation_z(repo: Path, tmp_path: Path) -> str:
    """Deletes federation-z's directory; what `diff` (tools/deletion.py) says becomes of its workloads, which
    the simulation must then carry out."""
    before = shutil.copytree(repo, tmp_path / "before")
    shutil.rmtree(repo / "federations" / "federation-z")
    fates = workload_fates(take(before), take(repo))
    [fate] = {fates[f"federation-z-{app}"] for app in ("exareme2", "mip-stack")}
    return fate


@pytest.mark.slow
def test_a_running_federation_has_workloads_and_data(tmp_path: Path) -> None:
    _, sim = running(tmp_path)
    assert workloads(sim, "federation-a") == WORKLOADS_A
    assert data(sim, "federation-a") == ["data-federation-a-exareme2-0", "data-federation-a-exareme2-overlay-0",
                                         "data-federation-a-mip-stack-0", "jupyterhub-crypt", "keycloak-credentials",
                                         "mip-secret"]


def test_adding_a_federation_touches_no_other(tmp_path: Path) -> None:
    repo, sim = running(tmp_path)
    before = {k: v.obj for k, v in sim.cluster.objects.items()}
    write_federation(repo, "federation-b")
    sim.commit()
    sim.run()
    assert sim.problems() == []
    assert sim.retried() == []
    assert workloads(sim, "federation-b") == ["federation-b-exareme2", "federation-b-mip-stack"]
    changed = sorted(k[4] for k, obj in before.items() if sim.cluster.objects[k].obj != obj)
    assert changed == ["mip-federations"]  # the ApplicationSet's list gained an element, nothing else changed


def test_renaming_a_federations_directory_changes_no_workload(tmp_path: Path) -> None:
    repo, sim = running(tmp_path)
    shutil.move(repo / "federations" / "federation-a", repo / "federations" / "hospital-a")
    sim.commit()
    sim.run()
    assert sim.problems() == []
    assert workloads(sim, "federation-a") == WORKLOADS_A
    wrapper = sim.cluster.get((sim.argocd_server, "argoproj.io", "Application", "argocd-mip-team", "federation-a"))
    assert wrapper is not None
    assert {"name": "directory", "string": "federations/hospital-a"} in \
        wrapper.obj["spec"]["source"]["plugin"]["parameters"]


def test_renaming_a_federation_is_adding_the_new_one_and_removing_the_old(tmp_path: Path) -> None:
    """The name is its namespace and project: the old federation's data stays where it is, in its namespace,
    for an admin to move (docs/operations.md)."""
    repo, sim = running(tmp_path)
    path = repo / "federations" / "federation-a" / "mip.yaml"
    path.write_text(path.read_text().replace("name: federation-a", "name: federation-b"))
    sim.commit()
    sim.run()
    assert workloads(sim, "federation-b") == [w.replace("-a-", "-b-") for w in WORKLOADS_A]
    assert workloads(sim, "federation-a") == WORKLOADS_A  # orphaned
    assert "mip-secret" in data(sim, "federation-a")
    assert "federation-a" not in apps(sim, "federation-a")  # its wrapper is gone, not its apps
    assert apps(sim, "federation-a-") == FED_A


def retired(tmp_path: Path) -> tuple[Path, Simulation, list[str]]:
    """A running platform whose federation-a was then retired, and federation-a's data before that."""
    repo, sim = running(tmp_path)
    before = data(sim, "federation-a")
    write_federation(repo, "federation-a", directory="federation-a", extra="state: retired\n")
    sim.commit()
    sim.run()
    return repo, sim, before


def test_retiring_a_federation_stops_its_workloads_and_keeps_its_data(tmp_path: Path) -> None:
    _, sim, before = retired(tmp_path)
    assert sim.problems() == []
    assert workloads(sim, "federation-a") == []
    assert data(sim, "federation-a") == before
    assert apps(sim, "federation-a") == ["federation-a", "federation-a-network", "federation-a-secrets"]
    assert project_exists(sim, "federation-a")
    assert "federation-a" in sim.names("Namespace")
    assert sim.names("StatefulSet", "federation-z", IN_CLUSTER) != []  # the others run on


def test_a_retired_federation_comes_back_with_its_data(tmp_path: Path) -> None:
    repo, sim, before = retired(tmp_path)
    write_federation(repo, "federation-a", directory="federation-a")  # back, without its overlay this time
    sim.commit()
    sim.run()
    assert sim.problems() == []
    assert workloads(sim, "federation-a") == ["federation-a-exareme2", "federation-a-mip-stack"]
    assert data(sim, "federation-a") == before


def test_removing_a_federation_keeps_everything_by_default(tmp_path: Path) -> None:
    """onRemoval: keep (mip-infra never cascades): the wrapper goes, the rest waits for an admin, and the root
    shows the leftover project as needing a prune."""
    repo, sim = running(tmp_path)
    before = (sim.names("StatefulSet", "federation-z", IN_CLUSTER),
              sim.names("PersistentVolumeClaim", "federation-z", IN_CLUSTER) + sim.names("Secret", "federation-z", IN_CLUSTER))
    assert remove_federation_z(repo, tmp_path) == KEEP_RUNNING
    sim.commit()
    sim.run()
    after = (sim.names("StatefulSet", "federation-z", IN_CLUSTER),
             sim.names("PersistentVolumeClaim", "federation-z", IN_CLUSTER) + sim.names("Secret", "federation-z", IN_CLUSTER))
    assert after == before
    assert before[0] == ["federation-z-exareme2", "federation-z-mip-stack"]
    assert "federation-z" not in sim.names("Application")
    assert apps(sim, "federation-z-") == ["federation-z-exareme2", "federation-z-mip-stack", "federation-z-network",
                                          "federation-z-objects", "federation-z-secrets"]
    assert project_exists(sim, "federation-z") and project_exists(sim, "federation-z-network")
    assert sim.status["mip-platform"].sync == "OutOfSync"  # the reminder: federation-z's project awaits
    # the root's sync ended: the next change to the platform goes through
    assert sim.status["mip-platform"].operation == "Succeeded"
    write_federation(repo, "federation-b")
    sim.commit()
    sim.run()
    assert workloads(sim, "federation-b") == ["federation-b-exareme2", "federation-b-mip-stack"]


def _network_project_prunable(app: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The root as mip-cmp rendered it before: `<federation>-network` projects without Prune=false (and
    without PruneLast), while their network Applications are Prune=false."""
    if app["metadata"]["name"] != "mip-platform":
        return objects
    out = []
    for obj in objects:
        if obj["kind"] == "AppProject" and obj["metadata"]["name"].endswith("-network"):
            annotations = {k: v for k, v in obj["metadata"]["annotations"].items() if k != SYNC_OPTIONS}
            obj = {**obj, "metadata": {**obj["metadata"], "annotations": annotations}}
        out.append(obj)
    return out


def test_a_pruned_project_that_an_application_still_names_holds_the_root_for_ever(tmp_path: Path) -> None:
    """What the real controllers did with mip-cmp's earlier output: the root pruned AppProject
    federation-z-network in an early wave; its finalizer waits for Application federation-z-network, which is
    never pruned; the sync waits for the project to be gone, so it never reaches the ApplicationSet, and no
    later change of the platform is ever applied."""
    repo = platform_repo(tmp_path)
    sim = simulate(repo)
    sim.repo.tamper = _network_project_prunable
    sim.run()
    assert sim.problems() == []
    shutil.rmtree(repo / "federations" / "federation-z")
    sim.commit()
    sim.run()
    root = sim.status["mip-platform"]
    assert (root.operation, root.message) == (
        "Running", "waiting for deletion of argoproj.io/AppProject/federation-z-network")
    assert "federation-z" in sim.names("Application")  # the ApplicationSet was never updated
    write_federation(repo, "federation-b")
    sim.commit()
    sim.run()
    assert workloads(sim, "federation-b") == []


def test_removing_a_federation_deletes_its_workloads_only_when_the_platform_says_so(tmp_path: Path) -> None:
    repo = platform_repo(tmp_path)
    set_platform(repo, federations={"onRemoval": "delete"})
    sim = simulate(repo)
    sim.run()
    assert sim.problems() == []
    assert remove_federation_z(repo, tmp_path) == DELETED
    sim.commit()
    sim.run()
    assert sim.problems() == []
    assert sim.status["mip-platform"].operation == "Succeeded"
    assert apps(sim, "federation-z") == []
    assert not project_exists(sim, "federation-z") and not project_exists(sim, "federation-z-network")
    assert sim.names("StatefulSet", "federation-z", IN_CLUSTER) == []
    # Even then, what Argo CD never deletes stays: volumes of StatefulSets, generated passwords (Delete=false)
    # and the namespace CreateNamespace made.
    assert sim.names("PersistentVolumeClaim", "federation-z", IN_CLUSTER) == [
        "data-federation-z-exareme2-0", "data-federation-z-mip-stack-0"]
    assert sim.names("Secret", "federation-z", IN_CLUSTER) == ["mip-secret"]
    assert "federation-z" in sim.names("Namespace", server=IN_CLUSTER)


def test_a_broken_federation_file_stops_only_that_federation(tmp_path: Path) -> None:
    repo, sim = running(tmp_path)
    path = repo / "federations" / "federation-a" / "mip.yaml"
    path.write_text(path.read_text() + "replicas: 3\n")
    write_federation(repo, "federation-b")  # a platform-wide change still goes through
    sim.commit()
    sim.run()
    error = ("ComparisonError: rpc error: Manifest generation error: `mip-cmp generate` failed exit status 1: "
             "federations/federation-a/mip.yaml:14:1: replicas: unknown field (allowed: apiVersion, kind, name, "
             "cluster, type, state, publicHost, apps, peers)")
    # its wrapper, and its secrets Application, which renders the same file
    assert sim.problems() == [f"{app}: Unknown, last sync Succeeded: {error}"
                              for app in ("federation-a", "federation-a-network", "federation-a-secrets")]
    assert workloads(sim, "federation-b") == ["federation-b-exareme2", "federation-b-mip-stack"]
    assert workloads(sim, "federation-a") == WORKLOADS_A
    assert apps(sim, "federation-a-") == FED_A
    assert project_exists(sim, "federation-a")


@pytest.mark.parametrize("misnamed", ["mip.yml", None])
def test_a_federation_without_its_mip_yaml_is_never_removed(tmp_path: Path, misnamed: str | None) -> None:
    repo, sim = running(tmp_path)
    path = repo / "federations" / "federation-a" / "mip.yaml"
    if misnamed:
        path.rename(path.with_name(misnamed))
    else:
        path.unlink()
        (path.parent / "README.md").write_text("federation-a\n")
    sim.commit()
    sim.run()
    problems = sim.problems()
    # the root, and the two Applications that render that directory, all say why
    assert [p.split(":")[0] for p in problems] == ["federation-a", "federation-a-network", "federation-a-secrets",
                                                   "mip-platform"]
    assert all(": Unknown, last sync Succeeded: ComparisonError: " in p for p in problems)
    assert all("federations/federation-a/mip.yaml" in p for p in problems)
    assert ("rename it to mip.yaml" if misnamed else "has no mip.yaml") in problems[-1]
    assert apps(sim, "federation-a") == ["federation-a", *FED_A]  # nothing of it was pruned
    assert workloads(sim, "federation-a") == WORKLOADS_A
