"""Every object of the old repository set against its counterpart in the written platform: same, changed
(field by field), dropped (why), or no counterpart yet (why)."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path

from ...core.helm import merge_values
from ...core.names import ROOT_APPLICATION
from ...core.vocabulary import IN_CLUSTER_SERVER, Obj
from .. import gotemplate
from ..bootstrap import bootstrap_objects
from ..diff import field_changes, short
from ..mipinfra import Built, Found
from ..snapshot import Snapshot
from .read import Workload, parent
from .report import CHANGED, DROPPED, MISSING, NOTHING_CARRIED, SAME, Attention, Row
from .sync import application_changes, kept_fact, window_changes

PROJECT_PREFIX = "mip-argo-project-"
# Why an object of the old repository is not needed any more, by what it was.
WRAPPER = ("a wrapper that only created other Argo CD objects: mip-cmp's root Application renders their "
           "counterparts directly")
NETWORK_SUFFIX = "network"  # mip-cmp's `<namespace owner>-network` Applications (when the platform has them)
UNUSED_PROJECTS = {"shared-apps": "unused in mip-infra itself (its README: 'unused in current architecture')"}


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


def _new_objects(out: Path, snapshot: Snapshot) -> dict[tuple[str, str], Obj]:
    """The written platform's Argo CD objects by kind and name: what it renders, what bootstrap creates, and
    the federation wrappers its ApplicationSet generates."""
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


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    attention: list[Attention]  # behaviour changes (sync, windows) found on the way


def compare(built: Built, loads: list[Workload], out: Path, snapshot: Snapshot, carried: dict[str, str]) -> Comparison:
    """A row for every object of the old repository: its counterpart in the written platform, or why none;
    and how Argo CD treats each counterpart differently (sync mode, windows)."""
    new = _new_objects(out, snapshot)
    comparison = _Comparison(built, loads, new, carried)
    rows = [comparison.decide(f) for f in built.objects]
    attention: list[Attention] = []
    for found, row in zip(built.objects, rows, strict=True):
        target = new.get(_key(row.counterpart)) if row.counterpart else None
        if found.kind == "Application" and target is not None:
            attention += application_changes(found, target)
        elif found.kind == "AppProject" and row.verdict != DROPPED:
            attention += window_changes(found, target)
    return Comparison(rows, attention)


def _key(counterpart: str) -> tuple[str, str]:
    kind, _, name = counterpart.partition(" ")
    return kind, name


class _Comparison:
    """The old objects against the new ones, each decided once: a wrapper's verdict depends on its children's,
    a project's on its Applications'."""

    def __init__(self, built: Built, loads: list[Workload], new: dict[tuple[str, str], Obj],
                 carried: dict[str, str]) -> None:
        self.built, self.new, self.carried = built, new, carried
        self.by_found = {id(w.found): w for w in loads}
        self.federation_of = {parent(w.found): w.federation for w in loads if w.federation}
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
        carried = self.carried.get(found.name, "")
        if counterpart is None and found.kind == "Application" and "network" in carried \
                and not carried.startswith(NOTHING_CARRIED):
            counterpart = _network_app(found, self.new)
        if counterpart is None and found.kind == "AppProject":
            counterpart = _project_of_counterparts(found, self.built, self.new, self.decide)
        return counterpart

    def _matched(self, row: Row, found: Found, counterpart: tuple[str, str]) -> None:
        kind, name = counterpart
        row.counterpart = f"{kind} {name}"
        if found.helm_values is not None:
            row.facts = [f"templated by `helm template` from the values {short(found.helm_values)}"]
        row.fields = _field_lines(found.obj, self.new[counterpart])
        row.verdict = SAME if not row.fields else CHANGED
        workload = self.by_found.get(id(found))
        if workload is not None:
            row.facts += _workload_facts(workload, self.new[counterpart], self.built.root)
            row.facts.append(kept_fact(found, self.new[counterpart]))

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
        carried = self.carried.get(found.name, "")
        if carried.startswith(NOTHING_CARRIED):
            row.verdict, row.why = DROPPED, carried.removeprefix(NOTHING_CARRIED)
        elif carried:
            row.why = f"carried over to {carried}, but this mip-cmp renders no object for it yet (the old one: {what})"


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
        target = new.get(_key(row.counterpart))
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
    old_values, new_values = w.effective_values(root), merge_values({}, helm.get("valuesObject") or {})
    same_values = old_values == new_values and list(helm.get("valueFiles") or []) == list(w.chart_files)
    facts.append(f"effective Helm values ({' + '.join([*w.chart_files, *w.value_files])}): "
                 f"{'same' if same_values else 'CHANGED'}")
    return facts


