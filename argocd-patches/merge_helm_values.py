#!/usr/bin/env python3
"""Merge argocd-patches/helm-values.yaml into your own argo-cd chart values, keeping your lists.

Helm merges values files key by key but *replaces* lists: with `-f my-values.yaml -f helm-values.yaml`
the mip-cmp entries would replace your own `repoServer.extraContainers` and `repoServer.volumes` (and the
other way round). This writes one values file holding both:

    python3 argocd-patches/merge_helm_values.py my-values.yaml > my-values-with-mip-cmp.yaml
    helm upgrade --install argocd argo/argo-cd -n argocd-mip-team -f my-values-with-mip-cmp.yaml

Mappings merge key by key; lists of named items (containers, volumes, env) merge by `name`, mip-cmp's entry
replacing one of the same name and every other entry kept in its place; anything else: mip-cmp's value
wins. Running it again on its own output changes nothing. Needs only PyYAML.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

PATCH = Path(__file__).resolve().parent / "helm-values.yaml"
USAGE = "usage: merge_helm_values.py YOUR-VALUES.yaml > MERGED.yaml"


def merge(mine: Any, ours: Any) -> Any:
    if isinstance(mine, dict) and isinstance(ours, dict):
        merged = dict(mine)
        for key, value in ours.items():
            merged[key] = merge(mine[key], value) if key in mine else value
        return merged
    if isinstance(mine, list) and isinstance(ours, list) and _named(mine) and _named(ours):
        by_name = {item["name"]: item for item in ours}
        kept = [by_name.pop(item["name"], item) for item in mine]
        return kept + [item for item in ours if item["name"] in by_name]
    return ours


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        print(f"{USAGE}\n\n{(__doc__ or '').strip()}")
        return 0
    if len(argv) != 1:
        print(f"merge_helm_values.py: expected one argument, your values file\n{USAGE}", file=sys.stderr)
        return 2
    try:
        import yaml
    except ImportError:
        print("merge_helm_values.py: needs PyYAML: pip install pyyaml (or run it with mip-cmp's Python, "
              "which has it)", file=sys.stderr)
        return 1
    try:
        mine = yaml.safe_load(Path(argv[0]).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        print(f"merge_helm_values.py: cannot read {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        print(f"merge_helm_values.py: {argv[0]}{where}: invalid YAML: {exc.problem or exc.context}", file=sys.stderr)
        return 1
    if not isinstance(mine, dict):
        print(f"merge_helm_values.py: {argv[0]} must hold a mapping of Helm values", file=sys.stderr)
        return 1
    ours = yaml.safe_load(PATCH.read_text(encoding="utf-8"))
    sys.stdout.write(yaml.safe_dump(merge(mine, ours), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
