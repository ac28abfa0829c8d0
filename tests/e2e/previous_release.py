"""The previous release of mip-cmp as a sidecar: what it rendered for the sample, replayed.

tests/releases/<version>/sample.yaml holds every Application's manifests exactly as that release rendered
them for the sample (tests/releases/__init__.py). Run as the plugin's generate command
(`python previous_release.py RECORDED REPO_URL`), this prints the part of RECORDED for the Application Argo CD
names (ARGOCD_APP_NAME, in every plugin's environment) with the sample's `repoURL` replaced by the suite's:
the sidecar of that release, for that repository, without building that release. Standard library only (it
runs as uid 999 beside argocd-cmp-server).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HEADER = re.compile(r"^# (\S+)$")
PLATFORM_REPO = re.compile(r"(?m)^repoURL: (\S+)$")


def sections(text: str) -> dict[str, str]:
    """Rendering Application -> its manifests, from a recorded render."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        header = HEADER.match(line.rstrip("\n"))
        if header:
            current = found.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    return {app: "".join(lines) for app, lines in found.items()}


def recorded_repo_url(sample_platform: Path) -> str:
    """The platform's `repoURL` in the sample's mip.yaml: what the recorded render names."""
    match = PLATFORM_REPO.search(sample_platform.read_text())
    assert match, f"{sample_platform}: no repoURL"
    return match.group(1)


def plugin_yaml(python: Path, script: Path, recorded: Path, repo_url: str, recorded_url: str) -> str:
    """plugin.yaml of the stand-in sidecar: the plugin's name, with this script as its generate command."""
    command = ", ".join(f'"{a}"' for a in (python, "-I", script, recorded, repo_url, recorded_url))
    return ("apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata:\n  name: mip-cmp\n"
            f"spec:\n  generate:\n    command: [{command}]\n")


def main(recorded: str, repo_url: str, recorded_url: str) -> int:
    app = os.environ.get("ARGOCD_APP_NAME", "")
    rendered = sections(Path(recorded).read_text()).get(app)
    if rendered is None:
        print(f"the previous release rendered no Application {app!r}", file=sys.stderr)
        return 1
    sys.stdout.write(rendered.replace(recorded_url, repo_url))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
