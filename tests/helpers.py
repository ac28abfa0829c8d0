"""Shared test helpers: where things are, and how to run mip-cmp the way Argo CD does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_REPO = REPO_ROOT / "sample-repo"
SAMPLE_FEDERATIONS = sorted(p.parent for p in (SAMPLE_REPO / "federations").glob("*/mip.yaml"))
REPO_URL = "https://github.com/Medical-Informatics-Platform/mip-infra.git"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def base_env() -> dict[str, str]:
    """A minimal sidecar environment: nothing from the developer's shell leaks into a test."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "LANG": "C.UTF-8"}
    return env


def argo_env(source_path: str, *, app_name: str = "app", revision: str = "main",
             params: list[dict[str, str]] | None = None, project: str = "default",
             namespace: str = "argocd-mip-team") -> dict[str, str]:
    """The full GenerateManifest environment of the CMP contract, section 4.2."""
    env = {
        "ARGOCD_APP_NAME": app_name,
        "ARGOCD_APP_NAMESPACE": namespace,
        "ARGOCD_APP_PROJECT_NAME": project,
        "ARGOCD_APP_REVISION": COMMIT,
        "ARGOCD_APP_REVISION_SHORT": COMMIT[:7],
        "ARGOCD_APP_REVISION_SHORT_8": COMMIT[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": REPO_URL,
        "ARGOCD_APP_SOURCE_PATH": source_path,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": revision,
        "KUBE_VERSION": "1.30.2",
        "KUBE_API_VERSIONS": "v1,apps/v1,argoproj.io/v1alpha1,external-secrets.io/v1",
        # Go's encoding: compact, keys sorted ({name, string}), `null` for a plugin block without parameters.
        "ARGOCD_APP_PARAMETERS": json.dumps(params, separators=(",", ":"), sort_keys=True)
        if params is not None else "null",
    }
    for param in params or []:
        env["PARAM_" + re.sub(r"[^A-Z0-9_]", "_", param["name"].upper())] = param["string"]
    return env


def mip_cmp(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run the installed CLI as a separate process, as argocd-cmp-server would. The plain in-process path
    unless the caller asks for the warm renderer (tests/test_fast_path.py proves both give the same bytes)."""
    return subprocess.run(
        [sys.executable, "-m", "mip_cmp", *args], cwd=cwd,
        env={**base_env(), "MIP_CMP_RENDERER": "off", **(env or {})},
        capture_output=True, timeout=timeout, check=False,
    )


def copy_sample(dest: Path) -> Path:
    """A private copy of sample-repo/ that a test may change."""
    target = dest / "repo"
    shutil.copytree(SAMPLE_REPO, target, symlinks=True)
    return target
