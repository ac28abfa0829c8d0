"""`mip-cmp generate` as a thin client of a warm renderer, with the in-process path as its fallback.

A fresh Python process that imports pydantic, PyYAML and jinja2 spends far longer importing than rendering,
and Argo CD starts one per app on every new commit, hard refresh and cache expiry. So the command Argo CD
runs imports nothing heavy: it connects to a renderer (server.py) that has everything loaded, sends its
working directory and environment (wire.py), and writes back the exit code, stdout and stderr that the
renderer's worker got from `answer(cwd, environ)` (answer.py), the same pure function this process calls
when it renders itself. Same code, same input: the same bytes (tests/test_fast_path.py checks it).

Correctness never depends on the renderer. Anything short of a complete, well-formed answer (renderer off,
no socket, a stale socket, an unsafe runtime directory, a timeout, a protocol error, a crash mid-request)
and this process renders in-process itself; nothing is written before the answer is complete. In the image
the renderer starts with the sidecar (sidecar.py); elsewhere, or if it is gone, a client that finds none
starts one in the background (own session, stdio on /dev/null, so Argo CD's process-group kill on a deadline
does not reach it and Argo CD's pipes close when this process exits) and renders in-process meanwhile.

Settings (environment):
  MIP_CMP_RENDERER=off        never use the renderer (default: auto)
  MIP_CMP_RUNTIME_DIR=<dir>   where the private socket directory mip-cmp-<uid>/ goes (default: $TMPDIR or /tmp)
  MIP_CMP_RENDERER_TIMEOUT=s  how long to wait for an answer before rendering in-process
                              (default: budget.RENDERER_WAIT_SECONDS, which says how the time limits relate)
  MIP_CMP_RENDERER_IDLE=s     how long an idle renderer lives (default: budget.RENDERER_IDLE_SECONDS; 0: for
                              ever; read when it starts)

Imports here are builtin modules, ones the interpreter loaded at startup, and budget.py (which imports
nothing): this runs on every sync.
"""
# ruff: noqa: PTH100, PTH102, PTH109, PTH116, PTH117, PTH118, PTH120, SIM105
# (pathlib and contextlib would cost more import time than this whole client takes)

from __future__ import annotations

import os
import stat
import sys
import time

from ..core.budget import RENDERER_CONNECT_SECONDS, RENDERER_WAIT_SECONDS
from . import wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable, Mapping
    from typing import Any

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
SERVER_ENV_PREFIXES = ("PYTHON", "LC_", "MIP_CMP_", "MALLOC_")
SERVER_ENV_NAMES = ("PATH", "HOME", "LANG", "TMPDIR")


def generate(answer: Callable[[bytes, Mapping[str, str]], tuple[int, bytes, bytes]],
             on_sigterm: Callable[[int, Any], None]) -> int:
    """What `mip-cmp generate` runs: the renderer's answer if one comes, else `answer(cwd, environ)` in this
    process, the same pure function the renderer's workers call (passed in by cli.main: the CLI imports this
    module, never the other way round)."""
    import _signal  # type: ignore[import-not-found]  # what `signal` wraps, without its enum import

    _signal.signal(_signal.SIGTERM, on_sigterm)  # the same goodbye on both paths
    got = None
    if os.environ.get("MIP_CMP_RENDERER", "auto") != "off":
        got = ask(os.getcwdb(), dict(os.environb))
    code, out, err = (got.code, got.stdout, got.stderr) if got is not None else answer(os.getcwdb(), os.environ)
    try:
        _write_all(1, out)
        _write_all(2, err)
    except BrokenPipeError:
        return 2  # EXIT_USAGE, as for any command whose reader went away
    return code


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def runtime_dir() -> str | None:
    """The private directory of this uid's renderers, created 0700; None when it is not safe to use."""
    # /tmp: in the sidecar, a private emptyDir (the only writable place).
    base = os.environ.get("MIP_CMP_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"  # noqa: S108
    if not os.path.isabs(base):
        return None
    uid = os.getuid()
    path = os.path.join(base, f"mip-cmp-{uid}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None  # someone else's, a symlink, or open to others: do not trust it
    return path


# Set by the image's entrypoint (sidecar.py) to code_id(), computed once for every `generate` the sidecar runs:
# its code never changes in a running container, and walking the package costs each call 1.5-5 ms. Argo CD
# passes an Application nothing by this name (its variables are ARGOCD_ENV_* and PARAM_*).
CODE_ID = "MIP_CMP_CODE_ID"


def code_id() -> str:
    """This code and interpreter: the package's files (size, mtime) and the dependencies' directories."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # mip_cmp/, subpackages included
    parts = [sys.executable, sys.version, package]
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(directory, name))
                parts.append(f"{os.path.relpath(directory, package)}/{name}:{st.st_size}:{st.st_mtime_ns}")
    for directory in sys.path:
        if directory.endswith("-packages"):  # site-packages changes when a dependency is installed
            try:
                parts.append(f"{directory}:{os.stat(directory).st_mtime_ns}")
            except OSError:
                pass
    return _digest(parts)


def fingerprint() -> str:
    """Names the renderer for this code, interpreter and Python settings: a renderer started before an
    upgrade (or with other PYTHON*, LANG or LC_* variables) is never asked; it idles out."""
    settings = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG")
    return _digest([os.environ.get(CODE_ID) or code_id(), *settings])


def _digest(parts: list[str]) -> str:
    import zlib

    data = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def socket_paths(directory: str) -> tuple[str, str]:
    """(socket, lock file) of the renderer for this code in `directory`."""
    name = f"renderer-{fingerprint()}"
    return os.path.join(directory, f"{name}.sock"), os.path.join(directory, f"{name}.lock")


def ask(cwd: bytes, environ: dict[bytes, bytes], timeout: float | None = None,
        start: bool = True) -> wire.Answer | None:
    """Render `cwd` with `environ` in the renderer; None when it cannot answer (then render in-process).
    Starts a renderer in the background when none is running and `start` is true."""
    try:
        directory = runtime_dir()
        if directory is None:
            return _debug("the runtime directory is not ours alone (or not absolute)")
        sock_path, lock_path = socket_paths(directory)
        if len(os.fsencode(sock_path)) > MAX_SOCKET_PATH:
            return _debug(f"socket path too long: {sock_path}")
        conn = _connect(sock_path)
        if conn is None:
            if start:
                _start_renderer(sock_path, lock_path)
            return _debug("no renderer listens (yet)")
        try:  # (_socket.socket is no context manager)
            if timeout is None:
                timeout = float(os.environ.get("MIP_CMP_RENDERER_TIMEOUT") or RENDERER_WAIT_SECONDS)
            answer = _exchange(conn, cwd, environ, timeout)
        finally:
            conn.close()
        return answer or _debug("the renderer could not serve this request, or not in time")
    except Exception as exc:  # any failure at all: the in-process path gives the answer
        return _debug(f"{type(exc).__name__}: {exc}")


def _debug(reason: str) -> wire.Answer | None:
    """None (render in-process); with MIP_CMP_DEBUG set, says why on stderr."""
    if os.environ.get("MIP_CMP_DEBUG"):
        os.write(2, f"mip-cmp: renderer not used: {reason}\n".encode(errors="replace"))
    return None


def _connect(sock_path: str) -> _socket.socket | None:
    """A connection to a live renderer of our uid; None when none listens there."""
    import _socket

    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    conn.settimeout(RENDERER_CONNECT_SECONDS)
    try:
        conn.connect(sock_path)
    except (FileNotFoundError, ConnectionRefusedError):
        conn.close()
        return None  # nothing there, or a socket left behind by a renderer that is gone
    except BaseException:
        conn.close()
        raise
    peercred = getattr(_socket, "SO_PEERCRED", None)
    if peercred is not None:
        cred = conn.getsockopt(_socket.SOL_SOCKET, peercred, 12)  # struct ucred: pid, uid, gid
        if int.from_bytes(cred[4:8], sys.byteorder) != os.getuid():
            conn.close()
            raise PermissionError("renderer socket is served by another user")
    return conn


def _exchange(conn: _socket.socket, cwd: bytes, environ: dict[bytes, bytes],
              timeout: float) -> wire.Answer | None:
    """Send the request, read the whole answer. Past the timeout, give up and close: the worker sees its
    client gone and stops; the socket stays, so nobody else is affected (a slow request is its own)."""
    deadline = time.monotonic() + timeout
    conn.settimeout(timeout)
    conn.sendall(wire.encode_request(cwd, environ))
    conn.shutdown(1)  # SHUT_WR: the request is complete
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(1 << 20)
        except TimeoutError:
            return None
        if not chunk:
            return wire.decode_answer(b"".join(chunks))
        chunks.append(chunk)


def server_environ() -> dict[str, str]:
    """What the renderer process inherits: Python's and mip-cmp's settings, not the request's variables
    (each request brings its own environment)."""
    return {k: v for k, v in os.environ.items() if k.startswith(SERVER_ENV_PREFIXES) or k in SERVER_ENV_NAMES}


def start(directory: str) -> None:
    """Start the renderer for this code in `directory` unless one runs (sidecar.py, at the sidecar's start)."""
    sock_path, lock_path = socket_paths(directory)
    if len(os.fsencode(sock_path)) <= MAX_SOCKET_PATH:
        _start_renderer(sock_path, lock_path)


def _start_renderer(sock_path: str, lock_path: str) -> None:
    """Start a renderer unless one is running or starting (it holds the lock for its whole life)."""
    import fcntl

    if not sys.executable:
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a renderer is running or starting
        # The renderer inherits this open lock, so no second one can start in between. -P: the working
        # directory (an untrusted checkout) must never be on its import path.
        os.set_inheritable(fd, True)
        argv = [sys.executable, "-P", "-m", "mip_cmp.renderer.server", sock_path, str(fd)]
        os.posix_spawn(sys.executable, argv, server_environ(), file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ], setsid=True)
    finally:
        os.close(fd)
