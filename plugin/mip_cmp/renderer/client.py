"""`mip-cmp generate` as a thin client of a warm renderer, with the plain in-process path as its fallback.

A fresh Python process that imports pydantic, PyYAML and jinja2 spends far longer importing than rendering,
and Argo CD starts one per app on every new commit, hard refresh and cache expiry. So the command Argo CD
runs imports nothing heavy: it connects to a renderer (server.py) that has everything loaded, sends its
working directory and environment, and writes back the exit code, stdout and stderr that a child forked for
this request got by running the very same in-process code, `cli.run(["generate"])`, in that directory with
that environment. Same code, same input: the same bytes (tests/test_fast_path.py checks it).

Correctness never depends on the renderer. Anything short of a complete, well-formed answer (renderer off,
no socket, a stale socket, an unsafe runtime directory, a timeout, a protocol error, a crash mid-request)
and this process renders in-process itself; nothing is written before the answer is complete. When no
renderer runs, this client starts one in the background (own session, stdio on /dev/null, so Argo CD's
process-group kill on a deadline does not reach it and Argo CD's pipes close when this process exits) and
renders in-process meanwhile.

Settings (environment):
  MIP_CMP_RENDERER=off        never use the renderer (default: auto)
  MIP_CMP_RUNTIME_DIR=<dir>   where the private socket directory mip-cmp-<uid>/ goes (default: $TMPDIR or /tmp)
  MIP_CMP_RENDERER_TIMEOUT=s  how long to wait for an answer before rendering in-process (default: 30)
  MIP_CMP_RENDERER_IDLE=s     how long an idle renderer lives (default: 900; 0: for ever; read when it starts)

Imports here are builtin modules or ones the interpreter loaded at startup: this runs on every sync.
"""
# ruff: noqa: PTH100, PTH102, PTH108, PTH109, PTH116, PTH117, PTH118, PTH120, SIM105
# (pathlib and contextlib would cost more import time than this whole client takes)

from __future__ import annotations

import os
import stat
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

MAGIC = b"MIPCMP1\n"  # protocol version 1; the socket name also changes with the code (fingerprint)
END = b"END\n"
OK, CANNOT_SERVE = 0, 1
CONNECT_TIMEOUT = 2.0
DEFAULT_TIMEOUT = 30.0  # well inside Argo CD's default 60 s budget, leaving time to render in-process
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
SERVER_ENV_PREFIXES = ("PYTHON", "LC_", "MIP_CMP_")
SERVER_ENV_NAMES = ("PATH", "HOME", "LANG", "TMPDIR")


class Answer:
    """A complete answer of the renderer."""

    def __init__(self, code: int, stdout: bytes, stderr: bytes, maxrss_kib: int) -> None:
        self.code, self.stdout, self.stderr, self.maxrss_kib = code, stdout, stderr, maxrss_kib


def generate(run: Callable[[list[str]], int], on_sigterm: Callable[[int, Any], None]) -> int:
    """What `mip-cmp generate` runs: the renderer's answer if one comes, else the plain path, `run` (the CLI,
    passed in by cli.main: the CLI imports this module, never the other way round)."""
    import _signal  # type: ignore[import-not-found]  # what `signal` wraps, without its enum import

    _signal.signal(_signal.SIGTERM, on_sigterm)  # the same goodbye as the in-process path
    if os.environ.get("MIP_CMP_RENDERER", "auto") != "off":
        answer = ask(os.getcwdb(), dict(os.environb))
        if answer is not None:
            try:
                _write_all(1, answer.stdout)
                _write_all(2, answer.stderr)
            except BrokenPipeError:
                return 2  # what the in-process path returns (EXIT_USAGE)
            return answer.code
    return run(["generate"])


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


def fingerprint() -> str:
    """Names the renderer for this code, interpreter and Python settings: a renderer started before an
    upgrade (or with other PYTHON*, LANG or LC_* variables) is never asked; it idles out."""
    import zlib

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
    parts += sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG")
    data = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def socket_paths(directory: str) -> tuple[str, str]:
    """(socket, lock file) of the renderer for this code in `directory`."""
    name = f"renderer-{fingerprint()}"
    return os.path.join(directory, f"{name}.sock"), os.path.join(directory, f"{name}.lock")


def ask(cwd: bytes, environ: dict[bytes, bytes], timeout: float | None = None,
        start: bool = True) -> Answer | None:
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
                timeout = float(os.environ.get("MIP_CMP_RENDERER_TIMEOUT") or DEFAULT_TIMEOUT)
            answer = _exchange(conn, sock_path, cwd, environ, timeout)
        finally:
            conn.close()
        return answer or _debug("the renderer could not serve this request, or not in time")
    except Exception as exc:  # any failure at all: the in-process path gives the answer
        return _debug(f"{type(exc).__name__}: {exc}")


def _debug(reason: str) -> Answer | None:
    """None (render in-process); with MIP_CMP_DEBUG set, says why on stderr."""
    if os.environ.get("MIP_CMP_DEBUG"):
        os.write(2, f"mip-cmp: renderer not used: {reason}\n".encode(errors="replace"))
    return None


def _connect(sock_path: str) -> _socket.socket | None:
    """A connection to a live renderer of our uid; None when none listens there."""
    import _socket

    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    conn.settimeout(CONNECT_TIMEOUT)
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


def encode_request(cwd: bytes, environ: dict[bytes, bytes]) -> bytes:
    out, err = sys.stdout, sys.stderr
    if out is None or err is None:
        raise ValueError("no stdout/stderr")
    fields = [
        cwd, out.encoding.encode(), (out.errors or "strict").encode(),
        err.encoding.encode(), (err.errors or "strict").encode(),
        b"\0".join(k + b"=" + v for k, v in environ.items()),
    ]
    return MAGIC + b"".join(len(f).to_bytes(4, "big") + f for f in fields)


def _exchange(conn: _socket.socket, sock_path: str, cwd: bytes, environ: dict[bytes, bytes],
              timeout: float) -> Answer | None:
    import _socket

    deadline = time.monotonic() + timeout
    conn.settimeout(timeout)
    conn.sendall(encode_request(cwd, environ))
    conn.shutdown(_socket.SHUT_WR)
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(1 << 20)
        except TimeoutError:
            break
        if not chunk:
            return decode_answer(b"".join(chunks))
        chunks.append(chunk)
    if not chunks:
        # Not a byte in time: the renderer is stuck. Take its socket away so the next clients do not wait
        # too; it notices and exits, and a fresh one starts when its lock is free.
        try:
            os.unlink(sock_path)
        except OSError:
            pass
    return None


def decode_answer(data: bytes) -> Answer | None:
    """Parse a complete answer; None for "cannot serve"; ValueError for anything malformed or cut short."""
    if not data.startswith(MAGIC) or not data.endswith(END) or len(data) < len(MAGIC) + 1:
        raise ValueError("malformed answer")
    pos = len(MAGIC)
    status = data[pos]
    pos += 1
    if status != OK:
        return None
    code = int.from_bytes(data[pos:pos + 4], "big", signed=True)
    maxrss = int.from_bytes(data[pos + 4:pos + 12], "big")
    pos += 12
    blobs = []
    for _ in range(2):
        size = int.from_bytes(data[pos:pos + 4], "big")
        pos += 4
        blobs.append(data[pos:pos + size])
        pos += size
        if len(blobs[-1]) != size:
            raise ValueError("answer cut short")
    if pos + len(END) != len(data):
        raise ValueError("answer of the wrong length")
    return Answer(code, blobs[0], blobs[1], maxrss)


def server_environ() -> dict[str, str]:
    """What the renderer process inherits: Python's and mip-cmp's settings, not the request's variables
    (each request brings its own environment)."""
    return {k: v for k, v in os.environ.items() if k.startswith(SERVER_ENV_PREFIXES) or k in SERVER_ENV_NAMES}


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
