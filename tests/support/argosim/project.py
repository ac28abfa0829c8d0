"""AppProject checks, as Argo CD's controller makes them (pkg/apis/application/v1alpha1/app_project_types.go).

The project is read as the API server stored it: with an Argo CD whose CRD has no
`clusterResourceWhitelist[].name` (before v3.3), that field is already pruned, so an entry then matches
every object of its kind, exactly as on a real cluster of that version.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from cmpserver import go_path_match
from mip_cmp.core.vocabulary import Obj


class NotImitated(Exception):
    """The project uses a feature (deny patterns, ...) this simulation does not imitate."""


def _glob(pattern: str, value: str) -> bool:
    # util/glob.Match; deny patterns ("!x") are not imitated, and mip-cmp never emits them
    if pattern.startswith("!"):
        raise NotImitated(f"deny pattern {pattern!r}")
    return fnmatchcase(value, pattern)


def _in_list(group: str, kind: str, name: str | None, items: list[Obj]) -> bool:
    """isResourceInList / isNamedResourceInList: filepath.Match on kind, group, then name if the entry has one."""
    for item in items:
        if not (go_path_match(item.get("kind", ""), kind) and go_path_match(item.get("group", ""), group)):
            continue
        if name is None or not item.get("name") or go_path_match(item["name"], name):
            return True
    return False


def kind_permitted(project: Obj, group: str, kind: str, name: str, namespaced: bool) -> bool:
    """IsGroupKindNamePermitted (IsGroupKindPermitted before v3.3: the name never reaches it there, since
    the stored entries hold none)."""
    spec = project.get("spec", {})
    if namespaced:
        white, black = spec.get("namespaceResourceWhitelist"), spec.get("namespaceResourceBlacklist") or []
        # nil: everything; an empty list: nothing
        whitelisted = white is None or (len(white) != 0 and _in_list(group, kind, None, white))
        return whitelisted and not _in_list(group, kind, None, black)
    white, black = spec.get("clusterResourceWhitelist") or [], spec.get("clusterResourceBlacklist") or []
    return _in_list(group, kind, name, white) and not _in_list(group, kind, name, black)


def destination_permitted(project: Obj, server: str, namespace: str) -> bool:
    return any(_glob(d.get("server", ""), server) and _glob(d.get("namespace", ""), namespace)
               for d in project.get("spec", {}).get("destinations") or [])


def source_permitted(project: Obj, repo_url: str) -> bool:
    return any(_glob(r, repo_url) for r in project.get("spec", {}).get("sourceRepos") or [])
