"""Failure behaviour: whatever Argo CD passes (or forgets to pass), and however the run ends, mip-cmp never
exits 0 with empty or partial output, never prints a traceback, and a bug is exit 3 with one short line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import SAMPLE_REPO, argo_env, base_env, run_cli

from .conftest import generate

FED_A = "federations/federation-a"
BOUND = [{"name": "federation", "string": "federation-a"}]
# The nine ARGOCD_APP_* variables: all a discovery-time MatchRepository call gets (contract 4.5).
DISCOVERY_VARS = (
    "ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE", "ARGOCD_APP_PROJECT_NAME", "ARGOCD_APP_REVISION",
    "ARGOCD_APP_REVISION_SHORT", "ARGOCD_APP_REVISION_SHORT_8", "ARGOCD_APP_SOURCE_REPO_URL",
    "ARGOCD_APP_SOURCE_PATH", "ARGOCD_APP_SOURCE_TARGET_REVISION",
)
# What parameter announcements / app details get (contract 4.5).
APP_DETAILS_VARS = ("ARGOCD_APP_NAME", "ARGOCD_APP_SOURCE_REPO_URL", "ARGOCD_APP_SOURCE_PATH",
                    "ARGOCD_APP_SOURCE_TARGET_REVISION")


def _only(names: tuple[str, ...], app: str, params: list[dict[str, str]] | None) -> dict[str, str]:
    full = argo_env(app, params=params)
    return {name: full[name] for name in names}


def _all_empty(app: str, params: list[dict[str, str]] | None) -> dict[str, str]:
    return {name: "" for name in argo_env(app, params=params)}


ENVIRONMENTS: dict[str, Callable[[str, list[dict[str, str]] | None], dict[str, str]]] = {
    "full": lambda app, params: argo_env(app, params=params),
    "discovery": lambda app, params: _only(DISCOVERY_VARS, app, params),
    "app-details": lambda app, params: _only(APP_DETAILS_VARS, app, params),
    "none": lambda app, params: {},
    "all-empty": _all_empty,
    "parameters-null": lambda app, params: {**argo_env(app), "ARGOCD_APP_PARAMETERS": "null"},
    "parameters-empty-list": lambda app, params: {**argo_env(app), "ARGOCD_APP_PARAMETERS": "[]"},
    "parameters-garbage": lambda app, params: {**argo_env(app, params=params), "ARGOCD_APP_PARAMETERS": "{["},
    "parameters-deep": lambda app, params: {**argo_env(app), "ARGOCD_APP_PARAMETERS": "[" * 100_000},
    "kube-empty": lambda app, params: {**argo_env(app, params=params), "KUBE_VERSION": "",
                                       "KUBE_API_VERSIONS": ""},
}
APPS = {".": None, FED_A: BOUND}


def assert_clean(code: int, stdout: bytes, stderr: str) -> None:
    """Exit 0 with a complete, parseable output, or exit 1 with one-line reasons and no stdout."""
    assert "Traceback" not in stderr
    assert code in (0, 1), stderr
    if code == 0:
        objects = [o for o in yaml.safe_load_all(stdout) if o is not None]
        assert objects, "exit 0 needs output: Argo CD would prune everything"
        assert all(isinstance(o, dict) and o.get("kind") for o in objects)
    else:
        assert stdout == b""
        assert stderr.strip()


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_any_argocd_environment_is_handled(environment: str, app: str, mode: str,
                                           renderer: dict[str, str] | None) -> None:
    env = ENVIRONMENTS[environment](app, APPS[app])
    assert_clean(*generate(mode, SAMPLE_REPO / app, env, renderer))


def test_full_environment_renders() -> None:
    for app, params in APPS.items():
        result = run_cli("generate", cwd=SAMPLE_REPO / app, env=argo_env(app, params=params))
        assert result.code == 0, result.stderr


# A bug: the core raises something that is not a MipError. The CLI must turn it into exit 3 and one line.
_BUG = """
import sys
import mip_cmp.pipeline as render
def broken(*args, **kwargs):
    raise KeyError("spec")
assert hasattr(render, "federation_apps"), "the patched name must be the one the pipeline calls"
render.federation_apps = broken
from mip_cmp.cli import main
sys.exit(main(["generate"]))
"""


def test_internal_bug_exits_3_with_one_short_line() -> None:
    env = {**base_env(), **argo_env(FED_A, params=BOUND)}
    result = subprocess.run([sys.executable, "-c", _BUG], cwd=SAMPLE_REPO / FED_A, env=env,
                            capture_output=True, timeout=60, check=False)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 3
    assert result.stdout == b""
    assert len(lines) == 1, lines
    assert lines[0].startswith("mip-cmp: internal error (a bug in mip-cmp ")
    assert len(lines[0]) < 200


# SIGTERM while rendering: Argo CD sends it when the request deadline passes (contract 6).
_SLOW = """
import sys, time
import mip_cmp.pipeline as render
def slow(*args, **kwargs):
    print("rendering", file=sys.stderr, flush=True)
    time.sleep(60)
render.generate = slow
from mip_cmp.cli import main
sys.exit(main(["generate"]))
"""


def test_sigterm_during_render_exits_nonzero_without_output() -> None:
    env = {**base_env(), **argo_env(FED_A, params=BOUND)}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW], cwd=SAMPLE_REPO / FED_A, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    assert proc.stderr.readline() == b"rendering\n"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert stdout == b""
    assert stderr.decode().splitlines() == [
        "mip-cmp: terminated (SIGTERM) before finishing; no manifests were printed"]


@pytest.fixture(scope="module")
def root_output() -> bytes:
    """The root's complete output (the same bytes in both modes: tests/test_fast_path.py)."""
    result = run_cli("generate", cwd=SAMPLE_REPO, env=argo_env("."))
    assert result.code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.6])
def test_sigterm_at_any_moment_never_looks_like_success(delay: float, mode: str, renderer: dict[str, str] | None,
                                                        root_output: bytes) -> None:
    """The real CLI on the largest app (the root), killed at different moments, in-process or waiting for
    the renderer: it either finished (exit 0, the complete output) or it did not (non-zero exit, which
    Argo CD reports as an error)."""
    extra = renderer if renderer is not None else {"MIP_CMP_RENDERER": "off"}
    env = {**base_env(), **argo_env("."), **extra}
    expected = root_output
    proc = subprocess.Popen([sys.executable, "-m", "mip_cmp", "generate"], cwd=SAMPLE_REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert b"Traceback" not in stderr
    if proc.returncode == 0:
        assert stdout == expected
    else:
        assert proc.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM)
        if delay == 0.0:
            assert stdout == b""


def test_output_is_written_once_at_the_end(tmp_path: Path) -> None:
    """A failure found late (here: the last federation's app) still prints nothing: all checks run before
    the first byte is written, so no partial output can ever reach Argo CD."""
    from helpers import copy_sample

    repo = copy_sample(tmp_path)
    fed = repo / "federations/federation-z/mip.yaml"
    fed.write_text(fed.read_text().replace("PUBLIC_HOST: \"{{ federation.publicHost }}\"",
                                           "PUBLIC_HOST: \"{{ federation.nope }}\""))
    app = "federations/federation-z"
    result = run_cli("generate", cwd=repo / app,
                     env=argo_env(app, params=[{"name": "federation", "string": "federation-z"}]))
    assert result.code == 1
    assert result.stdout == b""
    assert result.stderr.startswith(f"{app}/mip.yaml:13:")


def test_total_output_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output beyond the cap (budget.MAX_OUTPUT_BYTES; Argo CD's gRPC limit is 100 MiB) is an error, not a
    truncated print, found while writing: at the first object that takes the running total past the cap.
    The cap is set at the largest single object, so every object fits on its own: a cap per object would let
    this render through."""
    from mip_cmp.core import budget
    from mip_cmp.core.errors import MipError
    from mip_cmp.pipeline import generate, render_objects
    from mip_cmp.stage1_read.buildenv import BuildEnv
    from mip_cmp.stage1_read.repo import Repo
    from mip_cmp.stage5_write import emit

    objects = render_objects(Repo(SAMPLE_REPO), ".", BuildEnv())
    sizes = [len(emit.dump([obj])) for obj in objects]
    cap = max(sizes)
    past = next(i for i in range(len(sizes)) if sum(sizes[: i + 1]) > cap)
    monkeypatch.setattr(budget, "MAX_OUTPUT_BYTES", cap)
    name = f"{objects[past]['kind']} {objects[past]['metadata']['name']}"
    with pytest.raises(MipError, match=rf"^mip\.yaml: output: {name}: the output exceeds {cap} bytes "
                                       r"\(budget\.MAX_OUTPUT_BYTES\) at this object; render less$"):
        generate(SAMPLE_REPO, argo_env("."))


def test_object_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from mip_cmp.core import budget
    from mip_cmp.core.errors import MipError
    from mip_cmp.pipeline import generate

    monkeypatch.setattr(budget, "MAX_OBJECTS", 3)
    with pytest.raises(MipError, match=r"^mip\.yaml: the output has \d+ objects; the limit is 3 "
                                       r"\(budget\.MAX_OBJECTS\)$"):
        generate(SAMPLE_REPO, argo_env("."))


def test_total_input_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All mip.yaml files one run reads together are capped too (the root reads every federation)."""
    from mip_cmp.core import budget
    from mip_cmp.core.errors import MipError
    from mip_cmp.pipeline import generate

    monkeypatch.setattr(budget, "MAX_TOTAL_BYTES", 4000)
    with pytest.raises(MipError, match=r"the mip\.yaml files read together exceed 4000 bytes "
                                       r"\(budget\.MAX_TOTAL_BYTES\)"):
        generate(SAMPLE_REPO, argo_env("."))
