"""A warm renderer's worker: a process forked from the renderer's frozen warm state that serves one connection at
a time (server.py tells the whole story): it tells the parent when it takes a connection and when its answer is
computed, checks the peer is our uid, sets this request's process limits (RLIMIT_AS: peak RSS within
RENDERER_MEMORY_MIB; RLIMIT_CPU: RENDERER_CPU_SECONDS more than it has used) and calls `answer(cwd, environ)`.
It retires after WORKER_REQUESTS, when it grew past RETIRE_GROWTH_MIB, after IDLE_WORKER_SECONDS idle, or after a
request slow enough to be reniced. Every number is budget.py's.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import select
import socket
import sys

from ..answer import answer
from ..core.budget import (
    IDLE_WORKER_SECONDS,
    MAX_REQUEST_BYTES,
    RENDERER_CPU_SECONDS,
    RENDERER_MEMORY_MARGIN_MIB,
    RENDERER_MEMORY_MIB,
    RENDERER_READ_SECONDS,
    RENDERER_WALL_SECONDS,
    RETIRE_GROWTH_MIB,
    WORKER_REQUESTS,
)
from . import wire

TOOK, DONE = b"T", b"D"  # worker -> parent: took a connection (its copy attached), answer computed


class Limits:
    """The process limits of every render child, read once when the renderer starts."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.memory_mib = int(environ.get("MIP_CMP_RENDER_MEMORY_MIB") or RENDERER_MEMORY_MIB)
        self.cpu_seconds = int(environ.get("MIP_CMP_RENDER_CPU_SECONDS") or RENDERER_CPU_SECONDS)
        self.wall_seconds = float(environ.get("MIP_CMP_RENDER_WALL_SECONDS") or RENDERER_WALL_SECONDS)


def status_kib(*keys: str) -> list[int]:
    found = dict.fromkeys(keys, 0)
    with open("/proc/self/status", "rb") as status:  # noqa: PTH123
        for line in status:
            name, _, rest = line.partition(b":")
            if name.decode() in found:
                found[name.decode()] = int(rest.split()[0])
    return [found[key] for key in keys]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    """A warm process serving one connection at a time (forked by the parent, which watches it)."""

    def __init__(self, listener: socket.socket, ctl: socket.socket, alive_r: int, limits: Limits) -> None:
        self.listener, self.ctl, self.alive_r, self.limits = listener, ctl, alive_r, limits
        self.pid = os.getpid()

    def run(self) -> None:
        start_rss = status_kib("VmRSS")[0]
        for _ in range(WORKER_REQUESTS):
            conn = self._accept()
            if conn is None:
                return
            socket.send_fds(self.ctl, [TOOK + self.pid.to_bytes(4, sys.byteorder)], [conn.fileno()])
            with conn:
                self._serve(conn)
            if os.getpriority(os.PRIO_PROCESS, 0) > 0:
                return  # slowed down for a slow request: a fresh fork serves the next ones at full speed
            if status_kib("VmRSS")[0] - start_rss > RETIRE_GROWTH_MIB << 10:
                return

    def _accept(self) -> socket.socket | None:
        while True:
            readable, _, _ = select.select([self.listener.fileno(), self.alive_r], [], [], IDLE_WORKER_SECONDS)
            if self.alive_r in readable or not readable:
                return None  # the renderer is gone, or this worker was idle long enough
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            conn.setblocking(True)
            return conn

    def _serve(self, conn: socket.socket) -> None:
        data = self._answer(conn)
        self.ctl.send(DONE + self.pid.to_bytes(4, sys.byteorder))  # from here on, no kill for this request
        with contextlib.suppress(OSError):  # the client is gone: nothing to tell it
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)

    def _answer(self, conn: socket.socket) -> bytes:
        conn.settimeout(RENDERER_READ_SECONDS)
        try:
            cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if int.from_bytes(cred[4:8], sys.byteorder) != os.getuid():
                return b""  # not ours to serve: no answer at all
            chunks, size = [], 0
            while chunk := conn.recv(1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_REQUEST_BYTES:
                    return b""
            cwd, environ = wire.decode_request(b"".join(chunks))
        except (OSError, ValueError):
            return b""
        if not os.path.isdir(cwd):  # noqa: PTH112 (bytes)
            return wire.encode_answer(wire.CANNOT_SERVE)  # not ours to see: the client renders itself
        self._limit()
        cpu = cpu_seconds()
        code, out, err = answer(cwd, {os.fsdecode(k): os.fsdecode(v) for k, v in environ.items()})
        cpu_us = int((cpu_seconds() - cpu) * 1e6)
        return wire.encode_answer(wire.OK, code, out, err, status_kib("VmHWM")[0], cpu_us)

    def _limit(self) -> None:
        """This request's limits, on top of what the worker already holds and has used."""
        with contextlib.suppress(OSError, ValueError):  # where there is no /proc, no memory limit
            with open("/proc/self/clear_refs", "wb") as clear:  # noqa: PTH123
                clear.write(b"5")  # peak RSS (VmHWM) counts from now: this request's own peak
            rss, size = status_kib("VmRSS", "VmSize")
            # Address space is a ceiling of memory (untouched mappings cost address space, not memory).
            # The margin: pages already mapped but not yet resident (free heap) count as memory, not address.
            ceiling = (size + max(((self.limits.memory_mib - RENDERER_MEMORY_MARGIN_MIB) << 10) - rss, 0)) << 10
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, resource.RLIM_INFINITY))
        cpu = math.ceil(cpu_seconds() + self.limits.cpu_seconds)  # whole seconds: the budget, rounded up
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))
