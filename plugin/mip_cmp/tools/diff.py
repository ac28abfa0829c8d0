"""`mip-cmp diff`: what a change of the repository does to the cluster, object by object.

Both sides are rendered exactly as Argo CD renders them (snapshot.take: the root, every federation app,
every secrets app), then compared by object identity (group, kind, namespace, name). Field differences
come from deepdiff (an optional dependency: `pip install 'mip-cmp[tools]'`). What makes a change
destructive is decided here, from the objects themselves and Argo CD's deletion semantics (deletion.py): an
Application deleted with its workloads, a project widened or a new cluster trusts more, a secret re-created or
deleted loses the values in use. What Argo CD does with a removed object that is not destructive (kept,
left running) is a note.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import MipError, Problem, UsageError
from ..core.keypath import format_path
from ..core.vocabulary import GENERATORS_GROUP, SECRET_KINDS, Obj
from .deletion import APPLICATION, DELETED, Deletions, Fate, elements, wrapper_fate
from .snapshot import Key, Snapshot, describe, take

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
# Keys that name a list item, so that lists are compared item by item rather than index by index.
_IDENTITY_KEYS = ("name", "secretKey")
_ACTION_ORDER = {REMOVED: 0, CHANGED: 1, ADDED: 2}
_SHOWN_CHARS = 160  # a value longer than this is cut in human-readable formats; json keeps it whole

# AppProject lists whose new entries give its Applications more than before.
_WIDENING_LISTS = ("sourceRepos", "sourceNamespaces", "clusterResourceWhitelist", "namespaceResourceWhitelist")
# ... and those whose removed entries do.
_NARROWING_LISTS = ("clusterResourceBlacklist", "namespaceResourceBlacklist")


@dataclass(frozen=True)
class FieldChange:
    path: str
    change: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class Change:
    action: str
    key: Key
    app: str  # the Argo CD Application whose render holds the object (the old one for a removal)
    fields: tuple[FieldChange, ...] = ()
    destructive: tuple[str, ...] = ()  # why; empty when the change is not destructive
    notes: tuple[str, ...] = ()  # what Argo CD does with it, when that is not destructive

    @property
    def title(self) -> str:
        return f"{self.action} {describe(self.key)}"


@dataclass(frozen=True)
class Report:
    old_label: str
    new_label: str
    changes: tuple[Change, ...]

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]

    def counts(self) -> dict[str, int]:
        counts = {action: sum(c.action == action for c in self.changes) for action in (ADDED, REMOVED, CHANGED)}
        return {**counts, "destructive": len(self.destructive)}


# --- comparing ------------------------------------------------------------------------------------------


def compare(old: Snapshot, new: Snapshot, old_label: str = "old", new_label: str = "new") -> Report:
    try:
        import deepdiff  # noqa: F401  (field_changes uses it)
    except ImportError:
        raise UsageError("mip-cmp diff needs the deepdiff library: pip install 'mip-cmp[tools]'") from None
    old_servers = _servers(old)
    deletions = Deletions(old, new)
    changes: list[Change] = []
    for key in sorted(old.objects.keys() | new.objects.keys()):
        before, after = old.objects.get(key), new.objects.get(key)
        if before is None:
            assert after is not None
            changes.append(Change(ADDED, key, after.app, (), tuple(_added_reasons(after.obj, old_servers))))
        elif after is None:
            reasons, notes = _removal(key, before.obj, deletions.fate(key))
            changes.append(Change(REMOVED, key, before.app, (), tuple(reasons), tuple(notes)))
        elif before.obj != after.obj:
            fields = tuple(field_changes(before.obj, after.obj))
            reasons, notes = _changed_reasons(key, before.obj, after.obj, old_servers)
            changes.append(Change(CHANGED, key, after.app, fields, tuple(reasons), tuple(notes)))
    changes.sort(key=lambda c: (not c.destructive, _ACTION_ORDER[c.action], c.key))
    return Report(old_label, new_label, tuple(changes))


def field_changes(old: Any, new: Any) -> list[FieldChange]:
    """Every changed leaf between two objects, by field path (deepdiff; the caller checked it is there)."""
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: always name the changed leaf, never "this whole mapping changed".
    tree = DeepDiff(old, new, view="tree", threshold_to_diff_deeper=0, iterable_compare_func=_same_item)
    return sorted(_field_changes(tree), key=lambda f: f.path)


def _same_item(old: Any, new: Any, level: Any = None) -> bool:
    """List items are the same item when they name the same thing (an ApplicationSet element, a role, a
    secret key): a federation added in the middle of a list is one added item, not every later one changed."""
    if isinstance(old, dict) and isinstance(new, dict):
        for identity in _IDENTITY_KEYS:
            if identity in old and identity in new:
                return bool(old[identity] == new[identity])
        if any(isinstance(v, dict | list) for v in (*old.values(), *new.values())):
            return old.keys() == new.keys()  # a container (a generator, a source): look inside
    return bool(old == new)  # a flat record (a destination, a kind) or a scalar: it is its value


def _field_changes(tree: Any) -> Iterator[FieldChange]:
    for report_type, levels in tree.items():
        if report_type == "iterable_item_moved":
            continue  # a consequence of an insertion or removal, reported as such
        change = REMOVED if "removed" in report_type else ADDED if "added" in report_type else CHANGED
        for level in levels:
            path = format_path(level.path(output_format="list"))
            old = None if change == ADDED else level.t1
            new = None if change == REMOVED else level.t2
            yield FieldChange(path, change, old, new)


def _servers(snapshot: Snapshot) -> set[str]:
    """Every cluster Argo CD deploys to: the destinations of all Applications and projects."""
    servers: set[str] = set()
    for rendered in snapshot.objects.values():
        spec = rendered.obj.get("spec") or {}
        if rendered.obj.get("kind") == "AppProject":
            servers |= {d.get("server", "") for d in spec.get("destinations", [])}
        elif rendered.obj.get("kind") == "Application":
            servers.add((spec.get("destination") or {}).get("server", ""))
    return servers - {""}


def _added_reasons(obj: Obj, old_servers: set[str]) -> list[str]:
    if obj.get("kind") in ("AppProject", "Application"):
        spec = obj.get("spec") or {}
        destinations = spec.get("destinations", []) if obj["kind"] == "AppProject" else [spec.get("destination")]
        new = sorted({d.get("server", "") for d in destinations if d} - old_servers - {""})
        if new:
            return [f"cluster added: Argo CD will deploy to {', '.join(new)}, which it did not deploy to before"]
    return []


def _removal(key: Key, obj: Obj, fate: Fate) -> tuple[list[str], list[str]]:
    """(why it is destructive, what Argo CD does otherwise) for an object no longer rendered."""
    kind = key[1]
    if key[:2] == APPLICATION:
        return _split(f"Application removed: {fate.why}; workloads {fate.workloads}", fate.workloads == DELETED)
    if not fate.deleted:
        return [], [f"{kind} removed: {fate.why}"]
    if (key[0], kind) in SECRET_KINDS:
        if ((obj.get("spec") or {}).get("target") or {}).get("creationPolicy") == "Owner":
            return [f"{kind} removed: {fate.why}; the Secret it owns is deleted with it"], []
        return [], [f"{kind} removed: {fate.why}; its Secret stays, no longer managed"]
    if kind == "AppProject":
        return [], [f"AppProject removed: {fate.why}, once no Application names it"]
    return [], [f"{kind} removed: {fate.why}"]


def _split(text: str, destructive: bool) -> tuple[list[str], list[str]]:
    return ([text], []) if destructive else ([], [text])


def _changed_reasons(key: Key, old: Obj, new: Obj, old_servers: set[str]) -> tuple[list[str], list[str]]:
    """(why a changed object is destructive, what Argo CD does otherwise)."""
    kind = key[1]
    before, after = old.get("spec") or {}, new.get("spec") or {}
    reasons: list[str] = []
    if kind == "AppProject":
        reasons += _project_changes(before, after, new, old_servers)
    elif kind == "Application":
        reasons += _application_changes(before, after, new, old_servers)
    elif kind == "ApplicationSet":
        gone = elements(old) - elements(new)
        if gone:
            fate = wrapper_fate(old)
            return _split(f"generates no more {short(sorted(gone))}: the {fate.why}; workloads {fate.workloads}",
                          fate.workloads == DELETED)
    elif (key[0], kind) == (GENERATORS_GROUP, "Password"):
        reasons.append("password generator changed: a re-created secret gets new values")
    elif kind == "ExternalSecret":
        for field in ("target", "dataFrom"):
            if before.get(field) != after.get(field):
                reasons.append(f"spec.{field} changed: the secret is re-created, values in use are replaced")
    return reasons, []


def _project_changes(before: Obj, after: Obj, new: Obj, old_servers: set[str]) -> list[str]:
    """What a changed AppProject newly allows."""
    reasons: list[str] = []
    for field in _WIDENING_LISTS:
        added = _new_entries(before.get(field, []), after.get(field, []))
        if added:
            reasons.append(f"project widened: spec.{field} gains {short(added)}")
    for field in _NARROWING_LISTS:
        dropped = _new_entries(after.get(field, []), before.get(field, []))
        if dropped:
            reasons.append(f"project widened: spec.{field} no longer lists {short(dropped)}")
    added = _new_entries(before.get("destinations", []), after.get("destinations", []))
    if added:
        reasons.append(f"project widened: destination added {short(added)}")
    grants = _new_entries(_grants(before), _grants(after))
    if grants:
        reasons.append(f"project widened: roles grant {short(grants)}")
    reasons += _added_reasons(new, old_servers)
    return reasons


def _application_changes(before: Obj, after: Obj, new: Obj, old_servers: set[str]) -> list[str]:
    """What a changed Application does to its workloads."""
    reasons: list[str] = []
    if before.get("destination") != after.get("destination"):
        pruned = ((before.get("syncPolicy") or {}).get("automated") or {}).get("prune") is True
        fate = "pruned where they ran" if pruned else "left unmanaged where they ran (no prune)"
        reasons.append(f"destination changed from {short(before.get('destination'))}: the workloads are "
                       f"{fate} and deployed afresh")
        reasons += _added_reasons(new, old_servers)
    if before.get("project") != after.get("project"):
        reasons.append(f"moved from project {before.get('project')!r} to {after.get('project')!r}")
    old_repos, new_repos = _repos(before), _repos(after)
    if new_repos - old_repos:
        reasons.append(f"source repository added: {short(sorted(new_repos - old_repos))}")
    return reasons


def _new_entries(old: list[Any], new: list[Any]) -> list[Any]:
    seen = {json.dumps(item, sort_keys=True) for item in old}
    return [item for item in new if json.dumps(item, sort_keys=True) not in seen]


def _grants(spec: dict[str, Any]) -> list[str]:
    grants = []
    for role in spec.get("roles", []):
        grants += [f"{role.get('name')}: {policy}" for policy in role.get("policies", [])]
        grants += [f"{role.get('name')}: group {group}" for group in role.get("groups", [])]
    return grants


def _repos(spec: dict[str, Any]) -> set[str]:
    sources = [spec["source"]] if "source" in spec else list(spec.get("sources", []))
    return {s.get("repoURL", "") for s in sources}


def short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


# --- where the two sides come from ----------------------------------------------------------------------


@contextmanager
def checkout(repo: Path, revision: str | None) -> Iterator[Path]:
    """The platform directory `repo` as it is at `revision` of its git repository (None: as it is now)."""
    if revision is None:
        yield repo
        return
    top = _git(repo, "rev-parse", "--show-toplevel").strip()
    prefix = _git(repo, "rev-parse", "--show-prefix").strip().rstrip("/")
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
    with tempfile.TemporaryDirectory(prefix="mip-cmp-diff-") as tmp:
        args = ["git", "-C", top, "archive", "--format=tar", commit]
        if prefix:
            args.append(prefix)
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                tar.extractall(tmp, filter="data")  # "data": no absolute paths, links or devices
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode:
            raise MipError(f"git archive {revision}: {err.strip() or 'failed'}")
        root = Path(tmp, prefix) if prefix else Path(tmp)
        if not root.is_dir():
            raise MipError(f"{prefix}: does not exist at revision {revision}")
        yield root


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("mip-cmp diff --from/--to needs git on the PATH") from None
    if result.returncode:
        what = "unknown revision" if "--verify" in args else result.stderr.strip()
        raise MipError(f"git {args[-1]}: {what}")
    return result.stdout


def snapshot_at(repo: Path, revision: str | None, label: str, render_revision: str) -> Snapshot:
    """The rendered platform; a problem names the side it was found on, as `REV:path:line:col`."""
    with checkout(repo, revision) as root:
        try:
            return take(root, render_revision)
        except MipError as exc:
            raise MipError([Problem(f"{label}:{p.file}" if p.file else label, p.line, p.col, p.path, p.message)
                            for p in exc.problems]) from None


# --- output ---------------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    return short(value)


def _field_line(f: FieldChange) -> str:
    if f.change == ADDED:
        return f"{f.path}: added {_value(f.new)}"
    if f.change == REMOVED:
        return f"{f.path}: removed {_value(f.old)}"
    return f"{f.path}: {_value(f.old)} -> {_value(f.new)}"


def _summary(report: Report) -> str:
    c = report.counts()
    if not report.changes:
        return f"mip-cmp diff {report.old_label} -> {report.new_label}: no changes"
    return (f"mip-cmp diff {report.old_label} -> {report.new_label}: {len(report.changes)} object(s) differ "
            f"({c[ADDED]} added, {c[REMOVED]} removed, {c[CHANGED]} changed), {c['destructive']} destructive")


def as_text(report: Report) -> str:
    lines = [_summary(report)]
    marks = {ADDED: "+", REMOVED: "-", CHANGED: "~"}
    for change in report.changes:
        mark = "!" if change.destructive else marks[change.action]
        lines.append(f"{mark} {change.title}  (app {change.app})")
        lines += [f"    DESTRUCTIVE: {reason}" for reason in change.destructive]
        lines += [f"    Argo CD: {note}" for note in change.notes]
        lines += [f"    {_field_line(f)}" for f in change.fields]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    def obj(change: Change) -> dict[str, Any]:
        group, kind, namespace, name = change.key
        return {"action": change.action, "group": group, "kind": kind, "namespace": namespace, "name": name,
                "app": change.app, "destructive": list(change.destructive), "notes": list(change.notes),
                "fields": [{"path": f.path, "change": f.change, "old": f.old, "new": f.new}
                           for f in change.fields]}

    data = {"from": report.old_label, "to": report.new_label, "summary": report.counts(),
            "changes": [obj(c) for c in report.changes]}
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def _escape_annotation(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def as_github(report: Report) -> str:
    """GitHub Actions workflow commands: destructive changes as errors, the others as notices."""
    lines = []
    for change in report.changes:
        level = "error" if change.destructive else "notice"
        title = "mip-cmp diff: destructive" if change.destructive else "mip-cmp diff"
        detail = [*change.destructive, *change.notes, *(_field_line(f) for f in change.fields)]
        body = change.title + f" (app {change.app})" + "".join(f"\n{d}" for d in detail)
        lines.append(f"::{level} title={title}::{_escape_annotation(body)}")
    lines.append(f"::notice title=mip-cmp diff::{_escape_annotation(_summary(report))}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def as_markdown(report: Report) -> str:
    """A pull-request comment: summary, destructive changes first, field details folded."""
    c = report.counts()
    out = [f"### mip-cmp diff `{_md(report.old_label)}` → `{_md(report.new_label)}`", ""]
    if not report.changes:
        return "\n".join([*out, "No change to what Argo CD deploys.", ""])
    warn = f" — **⚠️ {c['destructive']} destructive**" if c["destructive"] else ""
    out += [f"{c[ADDED]} added, {c[REMOVED]} removed, {c[CHANGED]} changed{warn}", ""]
    if report.destructive:
        out += ["#### ⚠️ Destructive", ""]
        for change in report.destructive:
            out.append(f"- **{change.action}** `{_md(describe(change.key))}` (app `{change.app}`)")
            out += [f"  - {_md(reason)}" for reason in change.destructive]
        out.append("")
    noted = [ch for ch in report.changes if ch.notes]
    if noted:
        out += ["#### What Argo CD does with the rest", ""]
        out += [f"- `{_md(describe(ch.key))}`: {_md(note)}" for ch in noted for note in ch.notes]
        out.append("")
    out += ["| | change | object | app |", "|---|---|---|---|"]
    for change in report.changes:
        flag = "⚠️" if change.destructive else ""
        out.append(f"| {flag} | {change.action} | `{_md(describe(change.key))}` | `{change.app}` |")
    detailed = [ch for ch in report.changes if ch.fields]
    if detailed:
        out += ["", "<details><summary>Changed fields</summary>", ""]
        for change in detailed:
            out += [f"**`{_md(describe(change.key))}`**", "", "| field | from | to |", "|---|---|---|"]
            for f in change.fields:
                old = "" if f.change == ADDED else f"`{_md(_value(f.old))}`"
                new = "" if f.change == REMOVED else f"`{_md(_value(f.new))}`"
                out.append(f"| `{_md(f.path)}` | {old} | {new} |")
            out.append("")
        out.append("</details>")
    return "\n".join(out) + "\n"
