"""The warm renderer behind `mip-cmp generate` (client.py has the whole story, wire.py the protocol).

One process per uid and code version: `python -P -m mip_cmp.renderer.server <socket> [<lock fd>]`, started
with the sidecar (sidecar.py) or, outside the image, on demand by a client. It holds the lock file for its
whole life, imports everything the generate path needs, renders a tiny platform once (WarmUp), freezes that
state (gc.freeze) and listens on a unix socket in the private runtime directory. The parent never renders
and writes nothing anywhere a client reads (its stdio is /dev/null).

Workers, forked from that frozen warm state (never re-warmed), stay warm across requests: each takes one
connection at a time, checks the peer is our uid, reads the request, sets its process limits for this
request (RLIMIT_AS: peak RSS within RENDERER_MEMORY_MIB; RLIMIT_CPU: RENDERER_CPU_SECONDS more than it has
used), calls
`answer(cwd, environ)` (answer.py) and sends the result. The parent keeps RENDERER_SPARE_WORKERS idle (more are
forked while requests are busy, up to RENDERER_WORKERS) and watches every busy request: the worker hands it a
copy of the connection when it takes one, so that without the worker's help
- a client that hangs up (Argo CD's deadline, a cancel) gets its worker killed at once;
- a request past RENDERER_WALL_SECONDS, or killed by its CPU limit, is killed and its client gets a clear error
  naming the limit (exit 1), written by the parent, not a retry in-process;
- a request past RENDERER_SLOW_SECONDS runs at the lowest CPU priority, so it cannot slow the others down (its
  worker retires afterwards, a fresh fork replacing it).
A slow request never touches the socket; only the parent accepts nothing and reaps every worker. Workers
also retire after WORKER_REQUESTS, when they grew past RETIRE_GROWTH_MIB, or after IDLE_WORKER_SECONDS idle.
The renderer leaves when idle for MIP_CMP_RENDERER_IDLE seconds (RENDERER_IDLE_SECONDS; 0: never), on SIGTERM,
or when its socket is removed or replaced; idle workers leave with it, busy ones finish their request.

The limits can be lowered (tests) with MIP_CMP_RENDER_MEMORY_MIB, MIP_CMP_RENDER_CPU_SECONDS and
MIP_CMP_RENDER_WALL_SECONDS in the renderer's own environment. Every number is budget.py's.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..answer import answer, encode_text, stopped
from ..contract.params import SECRETS_COMPONENT, binding
from ..core.budget import RENDERER_IDLE_SECONDS, RENDERER_SLOW_SECONDS, RENDERER_SPARE_WORKERS, RENDERER_WORKERS
from ..core.errors import EXIT_INPUT
from . import client, wire
from .worker import DONE, TOOK, Limits, Worker


class _Stop:
    """SIGTERM asks the main loop to leave; the handler only notes it (the wake-up pipe ends the wait), so
    no bookkeeping is ever cut in half."""

    asked = False

    @classmethod
    def on_sigterm(cls, signum: int, frame: object) -> None:
        cls.asked = True


def _lock(lock_path: str, fd: int | None) -> int | None:
    """The renderer's lock, inherited from the client that started it or taken here; None if taken."""
    if fd is None:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.set_inheritable(fd, False)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a no-op when inherited: the same open file
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class WarmUp:
    """The warm-up platform (renderer/warmup-platform/: every feature of the format, in the idioms the documentation
    shows), rendered once per kind of app before the renderer listens, so that every fork starts where a second
    render would: lazy imports done, caches filled. Read where it is installed, never written. Best effort:
    failures only cost speed."""

    root = Path(__file__).parent / "warmup-platform"
    FEDERATIONS = ("federation-warmup", "federation-warmup-hybrid")
    # ARGOCD_APP_PARAMETERS of the apps as the platform's Applications render them, and an error (a
    # federation directory bound to another federation's name).
    RUNS = (
        "null",
        json.dumps(binding(FEDERATIONS[0], f"federations/{FEDERATIONS[0]}")),
        json.dumps(binding(FEDERATIONS[1], f"federations/{FEDERATIONS[1]}", SECRETS_COMPONENT)),
        json.dumps(binding("other", f"federations/{FEDERATIONS[0]}")),
    )

    def run(self) -> list[tuple[int, bytes, bytes]]:
        return [answer(str(self.root), {"ARGOCD_APP_SOURCE_PATH": ".", "ARGOCD_APP_PARAMETERS": params})
                for params in self.RUNS]


class Busy:
    """A request the parent watches: the worker serving it and the parent's copy of its connection."""

    def __init__(self, conn: socket.socket, wall_seconds: float) -> None:
        self.conn = conn
        self.start = time.monotonic()
        self.deadline = self.start + wall_seconds
        self.reniced = False
        self.why = ""  # set when the parent killed the worker: what to tell the client ("" = client gone)
        self.killed = False


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Pool:
    """The parent's bookkeeping: idle and busy workers, each busy one's connection, and the last request."""

    def __init__(self, listener: socket.socket, limits: Limits, keep: list[int]) -> None:
        self.listener, self.limits = listener, limits
        self.alive_r, self.alive_w = os.pipe()  # workers see EOF on alive_r when the parent is gone
        self.ctl, self.ctl_worker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.wake_r, self.wake_w = os.pipe()  # SIGCHLD wakes the parent's poll
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        self.ctl.setblocking(False)
        self.parent_only = [*keep, self.alive_w, self.ctl.fileno(), self.wake_r, self.wake_w]
        self.workers: set[int] = set()
        self.busy: dict[int, Busy] = {}
        self.stillborn = 0  # workers that died before taking a connection, in a row
        self.served = 0
        self.last = time.monotonic()

    @property
    def idle(self) -> int:
        return len(self.workers) - len(self.busy)

    def spawn(self) -> None:
        while self.idle < RENDERER_SPARE_WORKERS and len(self.workers) < RENDERER_WORKERS:
            pid = os.fork()
            if pid == 0:
                try:
                    self._worker()
                finally:
                    os._exit(0)
            self.workers.add(pid)

    def _worker(self) -> None:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        for fd in self.parent_only:
            os.close(fd)
        for busy in self.busy.values():
            busy.conn.close()
        Worker(self.listener, self.ctl_worker, self.alive_r, self.limits).run()

    def step(self, timeout: float) -> bool:
        """Wait for news (a worker took or finished a request or exited, a client hung up, a deadline) and
        act on it; true when a request came."""
        now = time.monotonic()
        for busy in self.busy.values():
            until = busy.start + RENDERER_SLOW_SECONDS if not busy.reniced else busy.deadline
            timeout = min(timeout, max(0.0, until - now))
        poller = select.poll()
        poller.register(self.ctl.fileno(), select.POLLIN)
        poller.register(self.wake_r, select.POLLIN)
        by_fd: dict[int, tuple[int, Busy]] = {}
        for pid, busy in self.busy.items():
            if not busy.killed:
                poller.register(busy.conn.fileno(), 0)  # 0: only hang-up and error, always reported
                by_fd[busy.conn.fileno()] = pid, busy
        events = poller.poll(timeout * 1000)
        if any(fd == self.wake_r for fd, _ in events):
            while _drain(self.wake_r):
                pass
        # Messages first: a client that hangs up after its complete answer is no reason to kill the worker
        # (whose DONE is then waiting here), which may already serve the next request.
        took = self._messages()
        for fd, _ in events:
            entry = by_fd.get(fd)
            if entry is not None and self.busy.get(entry[0]) is entry[1] and not entry[1].killed:
                self._kill(entry[0], "")  # the client is gone (Argo CD's deadline, a cancel)
        now = time.monotonic()
        for pid, busy in list(self.busy.items()):
            if not busy.killed and now >= busy.deadline:
                self._kill(pid, f"it took longer than its time budget of {self.limits.wall_seconds:g} s")
            elif not busy.reniced and now - busy.start >= RENDERER_SLOW_SECONDS:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, pid, 19)
                busy.reniced = True
        self.reap()
        return took

    def _messages(self) -> bool:
        took = False
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.ctl, 16, 1)
            except (BlockingIOError, InterruptedError):
                return took
            pid = int.from_bytes(data[1:5], sys.byteorder)
            if data[:1] == TOOK and fds:
                conn = socket.socket(fileno=fds[0])
                if pid in self.workers:
                    self.busy[pid] = Busy(conn, self.limits.wall_seconds)
                    self.served += 1
                    self.last = time.monotonic()
                    took = True
                else:
                    conn.close()
            elif data[:1] == DONE and pid in self.busy and not self.busy[pid].killed:
                self.busy.pop(pid).conn.close()

    def _kill(self, pid: int, why: str) -> None:
        busy = self.busy[pid]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        busy.killed, busy.why = True, why

    def reap(self) -> None:
        """Wait for every child that has exited, tracked or not (none is left for an init to reap)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.workers.clear()
                self.busy.clear()
                return
            if not pid:
                return
            self.workers.discard(pid)
            busy = self.busy.pop(pid, None)
            if busy is None:
                self.stillborn += 1 if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) else 0
                continue
            self.stillborn = 0
            self._tell(busy, status)

    def _tell(self, busy: Busy, status: int) -> None:
        """A worker died while serving: tell its client why, if it is still there."""
        why = busy.why
        if not busy.killed and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            why = f"it used more than its CPU budget of {self.limits.cpu_seconds} s"
        data = wire.encode_answer(wire.CANNOT_SERVE)  # a crash we cannot explain: the client renders itself
        if why:
            data = wire.encode_answer(wire.OK, EXIT_INPUT, b"", encode_text([stopped(why)]))
        if busy.killed and not why:
            data = b""  # the client hung up
        with contextlib.suppress(OSError):
            busy.conn.setblocking(True)
            busy.conn.settimeout(1.0)
            busy.conn.sendall(data)
            busy.conn.shutdown(socket.SHUT_WR)
        busy.conn.close()

    def finish(self, timeout: float) -> None:
        """Wait for every worker before leaving, so none is left for an init that may not reap."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.step(0.05)
            try:
                os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return  # no child at all any more


def _drain(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def serve(sock_path: str, lock_fd: int | None) -> int:
    lock_path = sock_path.removesuffix(".sock") + ".lock"
    os.chdir("/")
    os.umask(0o077)
    fd = _lock(lock_path, lock_fd)
    if fd is None:
        return 0  # another renderer runs
    if Path(sock_path).name != f"renderer-{client.fingerprint()}.sock":
        return 0  # the client that started us runs other code than we would: never answer for it
    os.closerange(3, fd)
    os.closerange(fd + 1, 1 << 16)
    idle_timeout = float(os.environ.get("MIP_CMP_RENDERER_IDLE") or RENDERER_IDLE_SECONDS)
    limits = Limits(dict(os.environ))
    WarmUp().run()
    signal.signal(signal.SIGTERM, _Stop.on_sigterm)
    if os.path.lexists(sock_path):
        Path(sock_path).unlink()  # left by a renderer that is gone: we hold the lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(128)
    listener.setblocking(False)  # shared with the workers (one open file): none may block in accept
    ours = _inode(sock_path)
    pool = Pool(listener, limits, [fd])
    signal.set_wakeup_fd(pool.wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    gc.collect()
    gc.freeze()  # forks share these pages rather than copying them when the collector would touch them
    try:
        pool.spawn()
        while pool.stillborn < 10 and not _Stop.asked:
            took = pool.step(1.0)
            pool.spawn()  # replace taken spares at once: a burst must not wait for the busy ones
            if not took and not pool.busy and 0 < idle_timeout < time.monotonic() - pool.last:
                break
            if _inode(sock_path) != ours:
                break  # removed or replaced (an operator, or a newer renderer)
    finally:
        if _inode(sock_path) == ours:
            Path(sock_path).unlink()
        listener.close()
        os.close(pool.alive_w)  # idle workers leave; busy ones finish their request
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pool.finish(limits.wall_seconds + 5)
    return 0


def stop(directory: str) -> None:
    """SIGTERM every renderer running for a lock file in `directory` (tests and the benchmark use this)."""
    for lock in Path(directory).glob("renderer-*.lock"):
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                continue  # not held: no renderer runs for it (the pid in it may be someone else's now)
            except BlockingIOError:
                pass
            pid = int(os.pread(fd, 32, 0).strip() or 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if pid else b""
            if b"mip_cmp.renderer" in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
        finally:
            os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2) or not args[0].endswith(".sock"):
        print("usage: python -m mip_cmp.renderer.server <socket> [<lock fd>] (started by sidecar.py or "
              "`mip-cmp generate`)", file=sys.stderr)
        return 2
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # as cli.main: no plugin scan
    return serve(str(Path(args[0]).absolute()), int(args[1]) if len(args) == 2 else None)


if __name__ == "__main__":
    sys.exit(main())
