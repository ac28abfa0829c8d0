"""Shared test helpers: where things are, and how to run mip-cmp the way Argo CD does."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_REPO = REPO_ROOT / "sample-repo"  # the platform as upstream mip-infra deploys it today
# The platform as mip-infra deployed it at 3603251 (March 2026), kept to check against that release's files.
MARCH_PLATFORM = REPO_ROOT / "tests" / "fixtures" / "march-platform"
SAMPLE_FEDERATIONS = sorted(p.parent for p in (SAMPLE_REPO / "federations").glob("*/mip.yaml"))
REPO_URL = "https://github.com/Medical-Informatics-Platform/mip-infra.git"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# libyaml's parser where PyYAML has it: the tests read megabytes of YAML (golden outputs, CRDs, renders), seconds
# with the pure-Python parser. Same documents (safe_load's types).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_documents(text: str | bytes) -> list[Any]:
    """The documents of a YAML stream, empty ones left out (safe_load_all, with libyaml's parser)."""
    return [doc for doc in yaml.load_all(text, Loader=YAML_LOADER) if doc is not None]


def base_env() -> dict[str, str]:
    """A minimal sidecar environment: nothing from the developer's shell leaks into a test."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "LANG": "C.UTF-8"}
    if "COVERAGE_PROCESS_CONFIG" in os.environ:  # under coverage (CI): processes the tests start count too
        env["COVERAGE_PROCESS_CONFIG"] = os.environ["COVERAGE_PROCESS_CONFIG"]
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
            timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """Run the installed CLI as a separate process, as argocd-cmp-server would. The plain in-process path
    unless the caller asks for the warm renderer (tests/test_fast_path.py proves both give the same bytes).
    `timeout` only keeps a hung process from hanging the suite: a command that takes a second alone took over
    60 s at a load of 28 (doctor, importing the kubernetes client)."""
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


@dataclass(frozen=True)
class Run:
    """What one mip-cmp command did: exit code, stdout bytes, stderr text."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


@contextlib.contextmanager
def process_state(cwd: Path, env: Mapping[str, str]) -> Iterator[None]:
    """This process's working directory and environment as a fresh `mip-cmp` process would have them (only
    `env` over a minimal base), restored afterwards, SIGTERM handler included."""
    saved_env, saved_cwd, saved_term = dict(os.environ), Path.cwd(), signal.getsignal(signal.SIGTERM)
    try:
        os.environ.clear()
        os.environ.update({**base_env(), **env})
        os.chdir(cwd)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        signal.signal(signal.SIGTERM, saved_term)


def run_cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """`mip-cmp ARGS` in this process, exactly as the warm renderer's worker runs it (cli.run with the working
    directory and the environment swapped in, stdout and stderr captured): the fast way to test behaviour.
    Tests of the process itself (exit on signals, imports, the console script) use mip_cmp()."""
    from mip_cmp import cli

    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    with process_state(cwd, {"MIP_CMP_RENDERER": "off", **(env or {})}), contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        code = cli.run(list(args))
    return Run(code, out.getvalue(), err.getvalue().decode("utf-8", "replace"))
