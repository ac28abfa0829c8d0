"""Shared pieces of the security suite (docs/security.md maps each threat to these tests).

`mip-cmp generate` answers from a warm renderer process when one runs (renderer/client.py, renderer/server.py)
and renders in-process otherwise (both call answer.answer); both must refuse the same attacks the same way.
`generate()` runs the CLI in either mode: "in-process" with the renderer switched off, "renderer" by asking a
renderer that this fixture started in a private runtime directory (and failing if it did not answer, so a
silent fallback cannot hide it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import base_env, process_state, run_cli

MODES = ("in-process", "renderer")

class Renderers:
    """Renderers this suite started, in one private, short runtime directory (a socket path has at most
    ~100 bytes). A renderer serves one version of the code: when mip_cmp's files change during a session
    (someone editing), the next request needs a new one, so `ensure()` starts it."""

    def __init__(self) -> None:
        self.runtime = tempfile.mkdtemp(prefix="mip-sec-")
        self.env = {**base_env(), "MIP_CMP_RUNTIME_DIR": self.runtime}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def ensure(self) -> None:
        where = "from mip_cmp.renderer import client; print(client.socket_paths(client.runtime_dir())[0])"
        sock = subprocess.run([sys.executable, "-P", "-c", where], env=self.env, capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()
        if sock in self.procs and self.procs[sock].poll() is None and Path(sock).exists():
            return
        proc = subprocess.Popen([sys.executable, "-P", "-m", "mip_cmp.renderer.server", sock], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[sock] = proc
        deadline = time.monotonic() + 60
        while not Path(sock).exists():
            assert proc.poll() is None, "the renderer exited before listening"
            assert time.monotonic() < deadline, "the renderer did not start listening"
            time.sleep(0.05)

    def close(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.runtime, ignore_errors=True)


_renderers: Renderers | None = None


@pytest.fixture(scope="session")
def renderer_env() -> Iterator[dict[str, str]]:
    """The variables that lead `mip-cmp generate` to this suite's renderer (started on first use)."""
    global _renderers
    pytest.importorskip("mip_cmp.renderer.server")
    _renderers = Renderers()
    try:
        _renderers.ensure()
        yield {"MIP_CMP_RUNTIME_DIR": _renderers.runtime}
    finally:
        _renderers.close()
        _renderers = None


def generate(mode: str, cwd: Path, env: dict[str, str], renderer: dict[str, str] | None) -> tuple[int, bytes, str]:
    """(exit code, stdout, stderr) of `mip-cmp generate` in `cwd` with Argo CD's `env`, in `mode`: in this
    process as the renderer's worker runs it, or answered by the renderer this suite started (asked from this
    process, never falling back to the in-process path)."""
    if mode == "in-process":
        result = run_cli("generate", cwd=cwd, env=env)
        return result.code, result.stdout, result.stderr
    assert renderer is not None and _renderers is not None
    from mip_cmp.renderer import client

    for attempt in range(2):
        with process_state(cwd, {**env, **renderer}):
            answer = client.ask(os.getcwdb(), dict(os.environb), timeout=120, start=False)
        if answer is not None:
            return answer.code, answer.stdout, answer.stderr.decode("utf-8", "replace")
        if attempt == 0:
            _renderers.ensure()  # mip_cmp's code changed since the renderer started
    raise AssertionError("the renderer did not answer")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def renderer(mode: str, request: pytest.FixtureRequest) -> dict[str, str] | None:
    """The renderer's variables in renderer mode (starting it once per session), None in-process."""
    return request.getfixturevalue("renderer_env") if mode == "renderer" else None
