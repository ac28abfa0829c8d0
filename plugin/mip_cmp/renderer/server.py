"""The warm renderer behind `mip-cmp generate` (client.py has the whole story).

One process per uid and code version, started on demand by a client: `python -P -m mip_cmp.renderer.server.server
<socket> <lock fd>`. It holds the lock file for its whole life, imports everything the generate path needs
and renders a tiny platform once (WarmUp), then listens on a unix socket in the private runtime directory.

Requests are served by pre-forked workers: the parent keeps SPARE_WORKERS idle workers, each forked from the
warm state and warmed once more on its own (so the memory pages a render writes are copied before a request
arrives, not during it). A worker takes one connection, checks the peer is our uid, reads the request
(working directory, stdio encodings, environment), changes to that directory, takes that environment, runs
`cli.run(["generate"])` with stdout and stderr captured, sends back exit code, stdout and stderr, and exits;
the parent forks a new spare. Requests are isolated from each other and run in parallel; the parent never
renders and writes nothing anywhere a client reads (its stdio is /dev/null). It leaves when idle for
MIP_CMP_RENDERER_IDLE seconds (default 900), on SIGTERM, or when its socket is removed or replaced; idle
workers leave with it. MIP_CMP_RENDERER_IDLE=0: never leave when idle.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import os
import resource
import select
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import client

DEFAULT_IDLE = 900.0
SPARE_WORKERS = 2  # idle, warmed workers waiting for a connection
MAX_WORKERS = 16  # busy and idle; more connections wait in the listen backlog
CHILD_DEADLINE = 120  # seconds; a child still running then is killed (SIGALRM)
READ_TIMEOUT = 10.0
MAX_REQUEST = 64 * 1024 * 1024


class _Stop(Exception):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stop


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


# Every feature of the format, in the idioms the documentation shows, so the warm-up walks the code a real
# render walks. (tests/test_fast_path.py checks that it still renders.)
WARMUP_PLATFORM = """\
apiVersion: mip-cmp.io/v1alpha1
kind: Platform
repoURL: https://example.org/platform.git
argocd: {namespace: argocd-warmup}
clusters: {in-cluster: https://kubernetes.default.svc, remote: https://remote.example.org:6443}
rbac: {adminGroups: [admins], developerGroups: [developers]}
secretStore: {kind: ClusterSecretStore, name: store}
secrets:
  credentials: {fromStore: {key: credentials, properties: [client-id, client-secret]}}
  passwords: {generated: {length: 24, digits: 6, symbols: 0, keys: [db.USER, db.PASSWORD]}}
catalog:
  engine:
    repoURL: https://example.org/engine.git
    path: kubernetes
    revision: 0123456789abcdef0123456789abcdef01234567
    version: 1.0.0
    syncWave: 1
    values: {namespace: "{{ federation.namespace }}", managed: true, replicas: 1, nested: {enabled: false}}
  stack:
    repoURL: https://example.org/stack.git
    path: deployment/kubernetes
    revision: 0123456789abcdef0123456789abcdef01234567
    version: 2.0.0
    syncWave: 2
    annotations: {argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true}
    secrets: [credentials, passwords]
    ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
    values:
      cluster: {namespace: "{{ federation.namespace }}", managed: true}
      network: {publicHost: "{{ federation.publicHost }}", protocol: https}
      ui: {ingress: {redirectRootTo: ""}}
commonApps:
  catalogue:
    namespace: common-catalogue
    repoURL: https://example.org/catalogue.git
    path: kubernetes
    revision: 0123456789abcdef0123456789abcdef01234567
    version: 1.2.1
    secrets: [credentials]
    values: {namespace: "{{ app.namespace }}", persistence: {enabled: true, accessModes: [ReadWriteOnce]}}
federations:
  path: federations
"""
WARMUP_FEDERATIONS = {
    "federation-warmup": """\
apiVersion: mip-cmp.io/v1alpha1
kind: Federation
name: federation-warmup
cluster: in-cluster
publicHost: "{{ federation.name }}.example.org"
apps:
  engine:
    values: {log_level: DEBUG}
    ignoreDifferences: [{group: apps, kind: Deployment, name: engine, jsonPointers: [/spec/replicas]}]
  stack:
    values: {ui: {ingress: {className: nginx}}}
""",
    "federation-warmup-hybrid": """\
apiVersion: mip-cmp.io/v1alpha1
kind: Federation
name: federation-warmup-hybrid
cluster: remote
type: hybrid
publicHost: "{{ federation.name }}.example.org"
apps:
  engine:
    revision: main
  stack: {values: {network: {publicHost: "{{ federation.publicHost | lower }}"}}}
""",
}


class WarmUp:
    """A tiny platform with one federation, rendered once per kind of app, so that a fork starts where a
    second render would: lazy imports done, caches filled, and (run again in each fresh worker) the memory
    pages a render touches already copied, off the request's path. Best effort: failures only cost speed."""

    # (source path, ARGOCD_APP_PARAMETERS): the apps as the platform's Applications render them, and an error.
    RUNS = (
        (".", "null"),
        (".", '[{"name": "federation", "string": "federation-warmup"}, '
              '{"name": "directory", "string": "federations/federation-warmup"}]'),
        (".", '[{"name": "federation", "string": "federation-warmup-hybrid"}, '
              '{"name": "directory", "string": "federations/federation-warmup-hybrid"}, '
              '{"name": "component", "string": "secrets"}]'),
        (".", '[{"name": "federation", "string": "other"}, '
              '{"name": "directory", "string": "federations/federation-warmup"}]'),
    )

    def __init__(self, directory: str) -> None:
        self.root = Path(directory) / f"warmup-{os.getpid()}"
        try:
            self.root.mkdir()
            (self.root / "mip.yaml").write_text(WARMUP_PLATFORM)
            for name, text in WARMUP_FEDERATIONS.items():
                (self.root / "federations" / name).mkdir(parents=True)
                (self.root / "federations" / name / "mip.yaml").write_text(text)
        except OSError:
            pass

    def run(self) -> None:
        from .. import cli

        saved = sys.stdout, sys.stderr, dict(os.environ), Path.cwd()
        try:
            for source_path, params in self.RUNS:
                sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
                sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
                os.environ.update(ARGOCD_APP_SOURCE_PATH=source_path, ARGOCD_APP_PARAMETERS=params)
                os.chdir(self.root / source_path)
                cli.run(["generate"])
        except Exception:  # noqa: S110 - warming up is optional
            pass
        finally:
            sys.stdout, sys.stderr = saved[0], saved[1]
            os.environ.clear()
            os.environ.update(saved[2])
            os.chdir(saved[3])

    def remove(self) -> None:
        if self.root.exists():
            for path in sorted(self.root.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            self.root.rmdir()


def _fields(data: bytes) -> list[bytes]:
    if not data.startswith(client.MAGIC):
        raise ValueError("not a mip-cmp request")
    pos, fields = len(client.MAGIC), []
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        fields.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    if pos != len(data) or len(fields) != 6:
        raise ValueError("malformed request")
    return fields


def _answer(status: int, code: int = 0, stdout: bytes = b"", stderr: bytes = b"") -> bytes:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return b"".join([
        client.MAGIC, bytes([status]), code.to_bytes(4, "big", signed=True), maxrss.to_bytes(8, "big"),
        len(stdout).to_bytes(4, "big"), stdout, len(stderr).to_bytes(4, "big"), stderr, client.END,
    ])


def serve_one(conn: socket.socket) -> None:
    """In a forked child: one request, answered by the in-process path."""
    from .. import cli

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.alarm(CHILD_DEADLINE)
    conn.settimeout(READ_TIMEOUT)
    cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    if int.from_bytes(cred[4:8], sys.byteorder) != os.getuid():
        return
    chunks, size = [], 0
    while chunk := conn.recv(1 << 20):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            return
    cwd, out_enc, out_err, err_enc, err_err, env = _fields(b"".join(chunks))
    try:
        os.chdir(cwd)
        os.environ.clear()
        for item in env.split(b"\0") if env else ():
            name, sep, value = item.partition(b"=")
            if not sep:
                raise ValueError("malformed environment")
            os.environb[name] = value
    except (OSError, ValueError):
        conn.sendall(_answer(client.CANNOT_SERVE))  # the client renders in-process
        return
    out, err = io.BytesIO(), io.BytesIO()
    sys.argv = ["mip-cmp", "generate"]
    sys.stdout = io.TextIOWrapper(out, encoding=out_enc.decode(), errors=out_err.decode(), write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding=err_enc.decode(), errors=err_err.decode(), write_through=True)
    code = cli.run(["generate"])
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(_answer(client.OK, code, out.getvalue(), err.getvalue()))


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class Pool:
    """The parent's bookkeeping: idle and busy workers, and when the last request came."""

    def __init__(self, listener: socket.socket, warm: WarmUp, keep: list[int]) -> None:
        self.listener, self.warm = listener, warm
        self.alive_r, self.alive_w = os.pipe()  # workers see EOF on alive_r when the parent is gone
        self.status_r, self.status_w = os.pipe()  # a worker writes its pid here when it takes a connection
        self.wake_r, self.wake_w = os.pipe()  # SIGCHLD wakes the parent's select
        for fd in (self.status_r, self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        self.parent_only = [*keep, self.alive_w, self.status_r, self.wake_r, self.wake_w]
        self.idle: set[int] = set()
        self.busy: set[int] = set()
        self.stillborn = 0  # workers that died before taking a connection, in a row
        self.last = time.monotonic()

    def reap(self) -> None:
        while self.idle or self.busy:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.idle.clear()
                self.busy.clear()
                return
            if not pid:
                return
            self.stillborn = self.stillborn + 1 if pid in self.idle else 0
            self.idle.discard(pid)
            self.busy.discard(pid)

    def finish(self, timeout: float) -> None:
        """Reap every worker before leaving (an orphan would be left for PID 1, which in the sidecar is
        argocd-cmp-server and reaps nothing)."""
        end = time.monotonic() + timeout
        while (self.idle or self.busy) and time.monotonic() < end:
            self.reap()
            time.sleep(0.01)

    def spawn(self, spares: int) -> None:
        while len(self.idle) < spares and len(self.idle) + len(self.busy) < MAX_WORKERS:
            pid = os.fork()
            if pid == 0:
                try:
                    self._worker()
                finally:
                    os._exit(0)
            self.idle.add(pid)

    def _worker(self) -> None:
        """Warm this fork's pages, wait for one connection, answer it (the caller exits)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in self.parent_only:
            os.close(fd)
        if not select.select([self.listener.fileno()], [], [], 0)[0]:
            self.warm.run()  # unless a client already waits: then answering now is faster
        while True:
            readable, _, _ = select.select([self.listener.fileno(), self.alive_r], [], [])
            if self.alive_r in readable:
                return  # the renderer is gone
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            break
        self.listener.close()
        os.write(self.status_w, os.getpid().to_bytes(4, sys.byteorder))
        serve_one(conn)

    def wait(self, timeout: float) -> bool:
        """Sleep until a worker takes a connection or exits; true when one took a connection."""
        readable, _, _ = select.select([self.status_r, self.wake_r], [], [], timeout)
        if self.wake_r in readable:
            while _drain(self.wake_r):
                pass
        taken = False
        if self.status_r in readable:
            while data := _drain(self.status_r):
                for i in range(0, len(data) - 3, 4):
                    pid = int.from_bytes(data[i:i + 4], sys.byteorder)
                    if pid in self.idle:
                        self.idle.discard(pid)
                        self.busy.add(pid)
                        taken = True
        if taken:
            self.last = time.monotonic()
        return taken


def _drain(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except BlockingIOError:
        return b""


def serve(sock_path: str, lock_fd: int | None) -> int:
    directory = str(Path(sock_path).parent)
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
    idle_timeout = float(os.environ.get("MIP_CMP_RENDERER_IDLE") or DEFAULT_IDLE)
    warm = WarmUp(directory)
    warm.run()
    signal.signal(signal.SIGTERM, _on_sigterm)
    if os.path.lexists(sock_path):
        Path(sock_path).unlink()  # left by a renderer that is gone: we hold the lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(128)
    listener.setblocking(False)  # shared with the workers (one open file): none may block in accept
    ours = _inode(sock_path)
    pool = Pool(listener, warm, [fd])
    signal.set_wakeup_fd(pool.wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    gc.collect()
    gc.freeze()  # forks share these pages rather than copying them when the collector would touch them
    try:
        pool.spawn(SPARE_WORKERS)
        while pool.stillborn < 10:
            taken = pool.wait(1.0)
            exited = len(pool.idle) + len(pool.busy)
            pool.reap()
            if len(pool.idle) + len(pool.busy) < exited:
                pool.spawn(SPARE_WORKERS)  # replace the workers that are done, now that they are done
            elif taken and not pool.idle:
                pool.spawn(SPARE_WORKERS)  # a burst: do not wait for the busy ones
            if not taken and not pool.busy and 0 < idle_timeout < time.monotonic() - pool.last:
                break
            if _inode(sock_path) != ours:
                break  # removed (a client found us stuck) or replaced
    except _Stop:
        pass
    finally:
        if _inode(sock_path) == ours:
            Path(sock_path).unlink()
        listener.close()
        os.close(pool.alive_w)  # idle workers leave; busy ones finish their request
        pool.finish(CHILD_DEADLINE)
        warm.remove()
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
        print("usage: python -m mip_cmp.renderer.server <socket> [<lock fd>] (started by `mip-cmp generate`)",
              file=sys.stderr)
        return 2
    return serve(str(Path(args[0]).absolute()), int(args[1]) if len(args) == 2 else None)


if __name__ == "__main__":
    sys.exit(main())
