"""`mip-cmp import`: a mip-infra-style repository in, the equivalent mip-cmp platform and a migration report out.

The old repository is built the way Argo CD builds it (tools.mipinfra, with the real helm and kustomize);
`read` finds its workloads, `translate` writes the mip.yaml files as data, `write` puts them in place only
once the whole platform validates, `compare` sets every old object against its counterpart and `report`
says first what needs the operator's attention. Nothing is dropped silently: what mip-cmp cannot express
yet says so.
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import MipError
from ...core.vocabulary import Obj
from ...model.network import Network
from ..mipinfra import build
from ..netpol import Endpoint
from ..snapshot import Snapshot, take
from ..validate import validate_repo
from .compare import compare
from .declare import Places, declare
from .flows import Evaluation, Owner, Side, endpoints, evaluate, pods
from .read import workloads
from .report import MigrationReport
from .secrets import find_secrets
from .sync import platform_prune
from .translate import Translation, platform_files
from .write import staged, write_files, write_platform

__all__ = ["MigrationReport", "import_repo"]
SECTIONS = ("catalog", "commonApps", "infrastructure")
INGRESS_NAMESPACE = Network().ingressController.namespace  # the imported platform keeps mip-cmp's default


def import_repo(source: Path, out: Path, *, adopt_defaults: bool = False) -> MigrationReport:
    """Import `source` into `out` (new or empty): the platform is written in full, or not at all. The old
    repository's sync behaviour is kept unless `adopt_defaults`."""
    built = build(source)
    loads = workloads(built)
    if not loads:
        raise MipError(f"{source}: no workload Application found (Helm charts from other repositories)")
    t = Translation(built, loads, platform_prune([w.found for w in loads], adopt_defaults),
                    find_secrets(built.root, loads))
    files = platform_files(t)
    owners = pods(built, loads, t.infrastructure, INGRESS_NAMESPACE)
    with staged(out) as stage:
        write_platform(files, t.copies, stage)
        snapshot, evaluation = _rendered(t, stage, owners)
        # The flows the platform's defaults lose are declared where the vocabulary can say them; the
        # platform is then rendered and evaluated again: what the report says is what the files do.
        if evaluation.lost and declare(evaluation.lost, _places(files, t, owners), _sections(files)):
            _carried_peers(files, t)
            write_files(files, stage)
            snapshot, evaluation = _rendered(t, stage, owners)
        comparison = compare(built, loads, stage, snapshot, t.carried)
    return MigrationReport(str(source), str(out), comparison.rows, dict(built.notes),
                           [*t.attention, *comparison.attention, *evaluation.attention()])


def _rendered(t: Translation, stage: Path, owners: dict[Endpoint, Owner | None]) -> tuple[Snapshot, Evaluation]:
    """The written platform validated and rendered, and its flows set against the old repository's."""
    problems, _ = validate_repo(stage)
    if problems:
        raise MipError(problems)  # a platform import writes must validate: this is mip-cmp's bug to fix
    snapshot = take(stage, "main")
    return snapshot, compare_flows(t, [r.obj for r in snapshot.objects.values()], list(owners))


def compare_flows(t: Translation, rendered: list[Obj], found_pods: list[Endpoint]) -> Evaluation:
    """Both sides' NetworkPolicies over the same pods. The imported platform's side: what it renders, and
    what the old Applications it carries over as infrastructure apps render (their directories, copied)."""
    old, new = Side(), Side()
    old.read(f.obj for f in t.built.objects)
    old.read(obj for objects in t.built.resources.values() for obj in objects)
    new.read(rendered)
    new.read(obj for app in t.infrastructure for obj in t.built.resources.get(app, []))
    return evaluate(old, new, endpoints(found_pods, [old, new]))


def _sections(files: dict[str, Obj]) -> dict[str, Obj]:
    platform = files["."]
    return {section: platform.setdefault(section, {}) for section in SECTIONS}


def _places(files: dict[str, Obj], t: Translation, owners: dict[Endpoint, Owner | None]) -> Places:
    federations = {str(fed["name"]): fed for directory, fed in files.items() if directory != "."}
    return Places(owners, INGRESS_NAMESPACE, federations, t.remote, t.peers)


def _carried_peers(files: dict[str, Obj], t: Translation) -> None:
    """The remote networks the federations now name: in the platform's `network.peers`, and where the old
    Application that allowed them went."""
    named = sorted({peer for directory, fed in files.items() if directory != "." for peer in fed.get("peers", [])})
    if named:
        files["."].setdefault("network", {})["peers"] = {name: t.peers[name] for name in named}
    for name in named:
        app, where = t.peer_apps[name]
        t.carried[app] = where
