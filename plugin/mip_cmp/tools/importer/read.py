"""Reading a built mip-infra-style repository: which of its Applications are workloads (a Helm chart from
another repository with values files from this one), and the facts a workload carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ...core.helm import merge_values
from ...core.vocabulary import Obj
from ..mipinfra import Built, Found

RENDERED_BY = "rendered by Application "


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
            values = merge_values(values, values_file(root, rel))
        result: Obj = merge_values(values, self.inline)
        return result


def sources(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    return [spec["source"]] if "source" in spec else list(spec.get("sources") or [])


def parent(found: Found) -> str:
    """The Application whose render holds `found` ("" for what an admin creates by hand)."""
    return found.origin.removeprefix(RENDERED_BY) if found.origin.startswith(RENDERED_BY) else ""


def values_file(root: Path, rel: str) -> Obj:
    values: Obj = yaml.safe_load((root / rel).read_text(encoding="utf-8")) or {}
    return values


def workloads(built: Built) -> list[Workload]:
    federation_wrappers = {f.name for f in built.objects if f.kind == "Application"
                           and "federations" in str(((f.obj.get("spec") or {}).get("source") or {}).get("path", ""))}
    found_workloads = []
    for found in built.objects:
        if found.kind != "Application":
            continue
        workload = _workload(built, found, federation_wrappers)
        if workload is not None:
            found_workloads.append(workload)
    return found_workloads


def _workload(built: Built, found: Found, federation_wrappers: set[str]) -> Workload | None:
    all_sources = sources(found.obj)
    refs = {f"${s['ref']}": s for s in all_sources if "ref" in s}
    charts = [s for s in all_sources if "path" in s and s.get("repoURL") not in built.repo_urls]
    if len(charts) != 1:
        return None
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
    federation = str(destination.get("namespace", "")) if parent(found) in federation_wrappers else ""
    app = found.name.removeprefix(f"{federation}-") if federation else found.name
    return Workload(found, app, federation, str(chart["repoURL"]), str(chart["path"]),
                    str(chart.get("targetRevision", "HEAD")), tuple(own or ["values.yaml"]), tuple(ours), inline)


def version(root: Path, revision: str) -> str:
    """The human version next to a pinned revision, from the `# 1.0.0` comment mip-infra writes beside it."""
    for path in sorted(root.rglob("*.yaml")):
        match = re.search(re.escape(revision) + r"\s*#\s*v?([\w.+-]+)", path.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return revision[:12]
