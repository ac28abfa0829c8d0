"""The fast paths write exactly what the plain path writes.

- fastyaml (used by emit.dump) against PyYAML's dumper, on real outputs and on generated data;
- the warm renderer (client.py/renderer.py) against MIP_CMP_RENDERER=off, whole processes: exit code,
  stdout and stderr, for the root, every sample federation (both components) and error cases;
- every way the renderer can be unavailable ends in the plain path's answer;
- what each path imports.

Each test gets its own runtime directory (MIP_CMP_RUNTIME_DIR), so its renderers are its own; they are
stopped at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from helpers import SAMPLE_FEDERATIONS, SAMPLE_REPO, argo_env, base_env, copy_sample, run_cli
from mip_cmp.core.errors import MipError
from mip_cmp.renderer import server as renderer
from mip_cmp.renderer import wire
from mip_cmp.stage1_read import yamlsource
from mip_cmp.stage5_write import emit, fastyaml
from properties import examples

HEAVY = ("pydantic", "yaml", "jinja2")
NEVER = ("kubernetes", "jsonschema", "testcontainers", "kubernetes_validate")
# Runs `mip-cmp generate` as the console script would, then reports which top-level modules it imported.
PROBE = """\
import sys
sys.argv = ["mip-cmp", "generate"]
from mip_cmp.cli import main
code = main()
sys.stdout.flush()
sys.stderr.write("\\n@@modules " + ",".join(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
sys.exit(code)
"""


class Run:
    def __init__(self, result: subprocess.CompletedProcess[bytes]) -> None:
        err, _, modules = result.stderr.rpartition(b"\n@@modules ")
        assert modules, result.stderr.decode()
        self.code, self.stdout, self.stderr = result.returncode, result.stdout, err
        self.modules = set(modules.decode().strip().split(","))

    @property
    def heavy(self) -> set[str]:
        return self.modules & set(HEAVY)

    def same_as(self, other: Run) -> bool:
        return (self.code, self.stdout, self.stderr) == (other.code, other.stdout, other.stderr)


def generate(cwd: Path, env: dict[str, str], *, timeout: float = 60) -> Run:
    # -P: the working directory is never on the import path (as with the console script).
    result = subprocess.run([sys.executable, "-P", "-c", PROBE], cwd=cwd, env={**base_env(), **env},
                            capture_output=True, timeout=timeout, check=False)
    return Run(result)


def apps(repo: Path) -> list[tuple[str, Path, dict[str, str]]]:
    """(label, cwd, env) of every app Argo CD renders for the sample platform (federations from the root, with
    the parameters the platform's ApplicationSet sets), a federation rendered from its own directory (what
    `mip-cmp render` does), and error cases."""
    cases = [("root", repo, argo_env("."))]
    for fed in SAMPLE_FEDERATIONS:
        rel = fed.relative_to(SAMPLE_REPO).as_posix()
        bound = [{"name": "federation", "string": fed.name}, {"name": "directory", "string": rel}]
        cases.append((fed.name, repo, argo_env(".", params=bound)))
        cases.append((f"{fed.name}-secrets", repo, argo_env(".", params=[
            *bound, {"name": "component", "string": "secrets"}])))
    fed = SAMPLE_FEDERATIONS[0]
    rel = fed.relative_to(SAMPLE_REPO).as_posix()
    cases += [
        (f"{fed.name}-from-its-directory", repo / rel, argo_env(rel)),
        ("error-binding", repo, argo_env(".", params=[{"name": "federation", "string": "federation-q"},
                                                      {"name": "directory", "string": rel}])),
        ("error-parameters", repo, {**argo_env("."), "ARGOCD_APP_PARAMETERS": "{not json"}),
        ("error-no-directory", repo, argo_env(".", params=[{"name": "federation", "string": fed.name}])),
    ]
    return cases


def runtime_env(base: Path) -> dict[str, str]:
    return {"MIP_CMP_RUNTIME_DIR": str(base)}


def wait_until_served(cwd: Path, env: dict[str, str], deadline: float = 60) -> Run:
    """Call until the renderer answers (the first call starts it and renders in-process)."""
    end = time.monotonic() + deadline
    while True:
        run = generate(cwd, env)
        if not run.heavy:
            return run
        assert time.monotonic() < end, "the renderer never answered"
        time.sleep(0.2)


def stop_renderers(base: Path) -> list[int]:
    """SIGTERM the renderers running for `base`; returns their pids (a renderer takes a second or so to leave)."""
    directory = base / f"mip-cmp-{os.getuid()}"
    pids = [int(p.read_text() or 0) for p in directory.glob("renderer-*.lock")] if directory.is_dir() else []
    renderer.stop(str(directory))
    return [pid for pid in pids if pid]


def wait_gone(pids: list[int], timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


@pytest.fixture(scope="module")
def stopped() -> Iterator[list[int]]:
    """Renderers told to stop by the tests of this module: waited for once, at its end, rather than by
    each test (their runtime directories are their own, so a leaving renderer disturbs no other test)."""
    pids: list[int] = []
    yield pids
    wait_gone(pids)


@pytest.fixture
def runtime(tmp_path_factory: pytest.TempPathFactory, stopped: list[int]) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("rt")  # short: a socket path has at most 108 bytes
    yield base
    stopped.extend(stop_renderers(base))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


# --- the renderer answers exactly like the plain path ------------------------------------------------------


@pytest.mark.slow
def test_renderer_output_is_byte_identical_to_the_plain_path(repo: Path, runtime: Path) -> None:
    cases = apps(repo)
    wait_until_served(repo, {**argo_env("."), **runtime_env(runtime)})
    for label, cwd, env in cases:
        plain = generate(cwd, {**env, "MIP_CMP_RENDERER": "off"})
        fast = generate(cwd, {**env, **runtime_env(runtime)})
        assert not fast.heavy, f"{label}: not served by the renderer"
        assert plain.heavy, f"{label}: the plain path did not render in-process"
        assert fast.same_as(plain), label
        if label.startswith("error"):
            assert plain.code == 1 and plain.stdout == b"" and plain.stderr, label
        else:
            assert plain.code == 0 and plain.stdout.startswith(b"---\n") and plain.stderr == b"", label


def test_requests_are_isolated_and_see_their_own_files(repo: Path, runtime: Path) -> None:
    env = {**argo_env("."), **runtime_env(runtime)}
    before = wait_until_served(repo, env)
    platform = repo / "mip.yaml"
    platform.write_text(platform.read_text().replace("argocd-mip-team", "argocd-other"))
    after = generate(repo, env)
    assert not after.heavy
    assert after.stdout != before.stdout
    assert after.same_as(generate(repo, {**env, "MIP_CMP_RENDERER": "off"}))
    # An environment variable of one request does not leak into the next.
    revision = generate(repo, {**env, "ARGOCD_APP_SOURCE_TARGET_REVISION": "feature"})
    assert b"targetRevision: feature" in revision.stdout
    assert b"targetRevision: feature" not in generate(repo, env).stdout


def test_parallel_first_calls_start_one_renderer_and_all_answer_right(repo: Path, runtime: Path) -> None:
    env = {**base_env(), **argo_env("."), **runtime_env(runtime)}
    expected = generate(repo, {**env, "MIP_CMP_RENDERER": "off"})
    procs = [subprocess.Popen([sys.executable, "-P", "-c", PROBE], cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(6)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert Run(subprocess.CompletedProcess(proc.args, proc.returncode, out, err)).same_as(expected)
    wait_until_served(repo, env)
    directory = runtime / f"mip-cmp-{os.getuid()}"
    assert len(list(directory.glob("renderer-*.sock"))) == 1
    assert (directory.stat().st_mode & 0o777) == 0o700


def test_the_renderer_outlives_the_client_and_keeps_none_of_its_pipes(repo: Path, runtime: Path) -> None:
    # communicate() returns only when every holder of the pipes has closed them: a renderer that kept the
    # client's stdout would make this (and Argo CD) wait until it exits.
    start = time.monotonic()
    run = generate(repo, {**argo_env("."), **runtime_env(runtime)}, timeout=30)
    assert run.code == 0 and run.heavy  # the first call renders in-process
    assert time.monotonic() - start < 30
    wait_until_served(repo, {**argo_env("."), **runtime_env(runtime)})
    lock = next((runtime / f"mip-cmp-{os.getuid()}").glob("renderer-*.lock"))
    pid = int(lock.read_text())
    assert os.getsid(pid) != os.getsid(0), "the renderer must have its own session (Argo CD kills the group)"


@pytest.mark.slow
@pytest.mark.slow  # about 10 s of waiting (not CPU) for the renderer to be idle
def test_an_idle_renderer_leaves_and_reaps_its_workers(repo: Path, runtime: Path) -> None:
    # 10 s idle: long enough that this test sees the renderer the first call starts before it leaves, on a
    # machine so loaded that a call takes seconds (at 3 s idle, and a client polling with whole calls, it
    # missed it under a load of 26). Seen by polling its files, which costs nothing.
    env = {**argo_env("."), **runtime_env(runtime), "MIP_CMP_RENDERER_IDLE": "10"}
    assert generate(repo, env).code == 0  # renders in-process and starts the renderer
    directory = runtime / f"mip-cmp-{os.getuid()}"
    end = time.monotonic() + 60
    while not ((locks := list(directory.glob("renderer-*.lock"))) and locks[0].read_text().strip()
               and (workers := _children(int(locks[0].read_text())))):
        assert time.monotonic() < end, "the renderer did not start its spare workers"
        time.sleep(0.05)
    end = time.monotonic() + 90
    while list(directory.glob("renderer-*.sock")) and time.monotonic() < end:
        time.sleep(0.1)
    assert not list(directory.glob("renderer-*.sock")), "an idle renderer removes its socket and leaves"
    time.sleep(0.5)
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists(), "the renderer reaps its workers before it leaves"
    assert not list(directory.glob("warmup-*"))
    assert generate(repo, env).code == 0  # and the next call starts a new one


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def test_the_renderer_never_imports_from_the_checkout(repo: Path, runtime: Path) -> None:
    """The renderer is started from the app directory, an untrusted checkout: nothing there may be imported."""
    marker = runtime / "imported"
    poison = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    for name in ("yaml.py", "pydantic.py", "jinja2.py", "sitecustomize.py", "usercustomize.py"):
        (repo / name).write_text(poison)
    (repo / "mip_cmp").mkdir()
    (repo / "mip_cmp" / "__init__.py").write_text(poison)
    env = {**argo_env("."), **runtime_env(runtime)}
    served = wait_until_served(repo, env)
    assert served.code == 0 and served.stdout.startswith(b"---\n")
    assert not marker.exists(), marker.read_text()


# --- whenever the renderer cannot answer, the plain path does ----------------------------------------------


def socket_path(cwd: Path, env: dict[str, str]) -> Path:
    """The socket the client in a subprocess with this environment would use."""
    code = "from mip_cmp.renderer import client; print(client.socket_paths(client.runtime_dir())[0])"
    out = subprocess.run([sys.executable, "-P", "-c", code], cwd=cwd, env={**base_env(), **env},
                         capture_output=True, check=True).stdout
    return Path(out.decode().strip())


class FakeRenderer:
    """Listens where the client looks and misbehaves as told; holds the lock so no real one starts."""

    def __init__(self, path: Path, behave: Callable[[socket.socket], None]) -> None:
        self.lock = os.open(str(path).removesuffix(".sock") + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        import fcntl

        fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path, self.behave, self.connections = path, behave, 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.done = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done:
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                self.behave(conn)

    def close(self) -> None:
        self.done = True
        self.thread.join()
        self.listener.close()
        os.close(self.lock)


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def _hang(conn: socket.socket) -> None:
    _read_request(conn)
    time.sleep(3)


def _answer(status: int, code: int, out: bytes, err: bytes) -> bytes:
    return wire.encode_answer(status, code, out, err)


def _reads_then_sends(data: bytes) -> Callable[[socket.socket], None]:
    def act(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(data)

    return act


MISBEHAVIOURS: dict[str, Callable[[socket.socket], None]] = {
    "closes-at-once": lambda conn: None,
    "crashes-mid-answer": _reads_then_sends(_answer(0, 0, b"---\nx: 1\n", b"")[:20]),
    "garbage": _reads_then_sends(b"HTTP/1.1 200 OK\r\n\r\n"),
    "trailing-bytes": _reads_then_sends(_answer(0, 0, b"", b"") + b"x"),
    "cannot-serve": _reads_then_sends(_answer(1, 0, b"", b"")),
}


@pytest.fixture(scope="module")
def plain_federation() -> Run:
    """The first sample federation rendered from its directory by the plain path, in a process."""
    rel = SAMPLE_FEDERATIONS[0].relative_to(SAMPLE_REPO).as_posix()
    return generate(SAMPLE_REPO / rel, {**argo_env(rel), "MIP_CMP_RENDERER": "off"})


@pytest.mark.parametrize("behaviour", sorted(MISBEHAVIOURS))
def test_a_broken_renderer_never_changes_the_answer(repo: Path, runtime: Path, behaviour: str,
                                                    plain_federation: Run) -> None:
    fed = SAMPLE_FEDERATIONS[0]
    rel = fed.relative_to(SAMPLE_REPO).as_posix()
    cwd, env = repo / rel, {**argo_env(rel), **runtime_env(runtime)}
    expected = plain_federation
    fake = FakeRenderer(socket_path(cwd, env), MISBEHAVIOURS[behaviour])
    try:
        run = generate(cwd, env)
    finally:
        fake.close()
    assert fake.connections == 1
    assert run.heavy and run.same_as(expected)
    assert expected.code == 0 and expected.stdout


@pytest.mark.slow
def test_a_stuck_renderer_costs_the_timeout_and_leaves_the_socket_to_others(repo: Path, runtime: Path) -> None:
    """A request that gets no answer in time is that request's problem only: the client renders in-process
    and leaves the shared socket alone (the renderer's own limits end a slow request, see
    tests/security/test_renderer.py)."""
    env = {**argo_env("."), **runtime_env(runtime), "MIP_CMP_RENDERER_TIMEOUT": "1"}
    expected = generate(repo, {**env, "MIP_CMP_RENDERER": "off"})
    path = socket_path(repo, env)
    fake = FakeRenderer(path, _hang)
    try:
        start = time.monotonic()
        run = generate(repo, env)
        assert 1 <= time.monotonic() - start < 30
        assert run.same_as(expected)
        assert path.exists(), "the shared socket stays"
        assert generate(repo, env).same_as(expected)
    finally:
        fake.close()


@pytest.mark.slow
def test_a_stale_socket_is_replaced_by_a_live_renderer(repo: Path, runtime: Path) -> None:
    env = {**argo_env("."), **runtime_env(runtime)}
    expected = generate(repo, {**env, "MIP_CMP_RENDERER": "off"})
    path = socket_path(repo, env)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # what a renderer killed with its pod leaves in the emptyDir
    stale.close()
    assert path.exists()
    assert generate(repo, env).same_as(expected)
    assert wait_until_served(repo, env).same_as(expected)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [0o755, 0o777])
def test_an_unsafe_runtime_directory_is_not_used(repo: Path, runtime: Path, mode: int) -> None:
    directory = runtime / f"mip-cmp-{os.getuid()}"
    directory.mkdir(mode=0o700)
    directory.chmod(mode)
    env = {**argo_env("."), **runtime_env(runtime)}
    expected = generate(repo, {**env, "MIP_CMP_RENDERER": "off"})
    for _ in range(2):
        run = generate(repo, env)
        assert run.heavy and run.same_as(expected)
    assert list(directory.iterdir()) == [], "nothing is created in a directory others can write"


def test_renderer_off_never_connects(repo: Path, runtime: Path) -> None:
    env = {**argo_env("."), **runtime_env(runtime), "MIP_CMP_RENDERER": "off"}
    fake = FakeRenderer(socket_path(repo, env), _hang)
    try:
        assert generate(repo, env).code == 0
    finally:
        fake.close()
    assert fake.connections == 0


def test_sigterm_while_waiting_leaves_like_the_plain_path(repo: Path, runtime: Path) -> None:
    env = {**base_env(), **argo_env("."), **runtime_env(runtime)}
    fake = FakeRenderer(socket_path(repo, env), _hang)
    try:
        proc = subprocess.Popen([sys.executable, "-P", "-m", "mip_cmp", "generate"], cwd=repo, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while not fake.connections:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        fake.close()
    assert proc.returncode == 128 + signal.SIGTERM
    assert out == b""
    assert err == b"mip-cmp: terminated (SIGTERM) before finishing; no manifests were printed\n"


# --- imports ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_imports_of_each_path(repo: Path, runtime: Path) -> None:
    env = {**argo_env("."), **runtime_env(runtime)}
    served = wait_until_served(repo, env)
    assert served.heavy == set(), "the client must not import pydantic, PyYAML or jinja2"
    plain = generate(repo, {**env, "MIP_CMP_RENDERER": "off"})
    # The sample's templates are plain lookups ({{ federation.name }}), rendered without jinja2.
    assert plain.heavy == {"pydantic", "yaml"}
    for run in (served, plain):
        assert not run.modules & set(NEVER)


@pytest.mark.slow
def test_jinja2_is_imported_only_for_templates(tmp_path: Path) -> None:
    """Only a template that is more than text and plain lookups needs jinja2 (templating._plain_lookups)."""
    platform = ("apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\nrepoURL: https://example.org/r.git\n"
                "clusters: {in-cluster: https://kubernetes.default.svc}\n")
    (tmp_path / "mip.yaml").write_text(platform)
    run = generate(tmp_path, {**argo_env("."), "MIP_CMP_RENDERER": "off"})
    assert run.code == 0, run.stderr
    assert "jinja2" not in run.modules and not run.modules & set(NEVER)
    common = "commonApps:\n  db: {repoURL: https://example.org/c.git, path: c, revision: v1, version: 1.0.0, namespace: db, values: {x: %s}}\n"
    for template, jinja2 in (('"{{ app.namespace }}-x"', False), ('"{{ app.namespace | upper }}"', True)):
        (tmp_path / "mip.yaml").write_text(platform + common % template)
        run = generate(tmp_path, {**argo_env("."), "MIP_CMP_RENDERER": "off"})
        assert run.code == 0, run.stderr
        assert ("jinja2" in run.modules) is jinja2, template


@pytest.mark.slow
def test_the_warm_up_platform_still_renders() -> None:
    """server.WarmUp exercises the format's features; if the format changes, keep it valid."""
    warm = renderer.WarmUp()
    before = sorted(p.relative_to(warm.root) for p in warm.root.rglob("*"))
    results = warm.run()
    assert [code for code, _, _ in results] == [1 if '"other"' in params else 0 for params in warm.RUNS], \
        [err.decode() for _, _, err in results]
    for params, (_, out, _) in zip(warm.RUNS, results, strict=True):
        run = generate(warm.root, {"ARGOCD_APP_SOURCE_PATH": ".", "ARGOCD_APP_PARAMETERS": params,
                                   "MIP_CMP_RENDERER": "off"})
        assert run.stdout == out  # answer() in a process of its own gives the same bytes
    assert sorted(p.relative_to(warm.root) for p in warm.root.rglob("*")) == before  # read, never written


# --- fastyaml writes PyYAML's bytes ------------------------------------------------------------------------


def _pyyaml(objects: list[dict[str, object]]) -> bytes:
    return emit._dump(objects, emit._Dumper)


def test_fastyaml_on_every_sample_output(repo: Path) -> None:
    for label, cwd, env in apps(repo):
        run = run_cli("generate", cwd=cwd, env=env)
        if run.code:
            continue
        objects = list(yaml.safe_load_all(run.stdout))
        assert all(fastyaml.document(obj) is not None for obj in objects), label  # the fast path was taken
        assert emit.dump(objects) == _pyyaml(objects) == run.stdout, label


@pytest.mark.parametrize("value", [
    "", " ", "a ", " a", "true", "True", "yes", "NO", "on", "null", "Null", "~", "1", "-1", "+1", "0x1f", "0o17",
    "1_000", "1e3", "1.5", ".5", ".inf", "-.inf", ".nan", "2001-12-14", "2001-12-14 21:59:43.10 -5", "<<", "=",
    "-", "- a", "-a", "--", "---", "--- a", "...", "?", "? a", "?a", ":", ":a", ": a", "a:", "a: b", "a:b",
    "a #b", "a#b", "#a", "!a", "&a", "*a", "|", ">", "'", "'a'", '"', "%a", "@a", "`a", "a'b", "a\"b", "[a]",
    "{a}", "a,b", "a, b", "a[b]", "http://x:80/y?z=1#f", "p, proj:x:admin, applications, get, x/*, allow",
    "a  b", "a\tb", "a\nb", "é", "a\u2028b", "\x7f", "x" * 129, "x" * 200_000,
    0, -5, 10**30, True, False, None, 1.0, -0.0, 1e16, 1e-7, float("inf"), float("-inf"), float("nan"),
])
def test_fastyaml_scalars(value: object) -> None:
    shapes: list[dict[str, object]] = [{"k": value}, {"k": [value, {"n": value}]},
                                       {"k": {"a": [[value], []], "b": {}}}]
    for obj in shapes:
        assert emit.dump([obj]) == _pyyaml([obj]), obj
    if isinstance(value, str):
        assert emit.dump([{value: 1}]) == _pyyaml([{value: 1}])


_text = st.one_of(
    st.sampled_from(["", "true", "null", "~", "1", "0x1", "1e3", "2001-12-14", "<<", "=", "---", "a: b", "a #b",
                     "- x", "-x", ":x", "x:", "? x", "a'b", "é"]),
    st.text(st.sampled_from(list(" -?:,[]{}#&*!|>'\"%@`=~<.+_/\\0123456789aeEnNtTyYxXoOf")), max_size=8),
)
_scalar = st.one_of(_text, st.integers(), st.booleans(), st.none(), st.floats())
_tree = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_text, inner, max_size=4)), max_leaves=30)


@pytest.mark.slow
@examples(100)
@given(st.lists(st.dictionaries(_text, _tree, max_size=6), max_size=3))
def test_fastyaml_matches_pyyaml_on_generated_documents(objects: list[dict[str, object]]) -> None:
    assert emit.dump(objects) == _pyyaml(objects)


def test_fastyaml_falls_back_per_document() -> None:
    objects: list[dict[str, Any]] = [{"a": "plain"}, {"b": "é"}, {"c": (1, 2)}, {}, {"d": "x"}]
    assert [fastyaml.document(o) is None for o in objects] == [False, True, True, True, False]
    assert emit.dump(objects[:2] + objects[3:]) == _pyyaml(objects[:2] + objects[3:])


def test_shared_objects_are_written_out_not_aliased() -> None:
    shared = {"a": [1]}
    assert emit.dump([{"x": shared, "y": shared}]) == _pyyaml([{"x": shared, "y": shared}])
    assert b"&" not in emit.dump([{"x": shared, "y": shared}])


def test_a_sequence_held_more_than_once_is_written_in_full_wherever_it_is() -> None:
    """emit.dump writes a sequence that several places share once (fastyaml.Memo): at every indentation, in
    every document, the text is still PyYAML's."""
    shared: list[object] = [{"group": "", "kind": "Pod"}, "x", [1]]
    objects: list[dict[str, Any]] = [{"a": shared, "b": {"c": shared, "d": [shared]}, "e": shared},
                                     {"f": {"g": {"h": shared}}, "i": shared, "j": shared}]
    assert emit.dump(objects) == _pyyaml(objects)
    assert emit.dump(objects[::-1]) == _pyyaml(objects[::-1])


def test_request_encoding_round_trips() -> None:
    env = {b"A": b"1", b"EMPTY": b"", b"WEIRD": "\u00e9=\n".encode()}
    assert wire.decode_request(wire.encode_request(b"/some/dir", env)) == (b"/some/dir", env)
    with pytest.raises(ValueError):
        wire.decode_request(wire.encode_request(b"/some/dir", env)[:-1])
    with pytest.raises(ValueError):
        wire.decode_request(wire.encode_request(b"/d", {b"": b"x"}))
    answer = wire.decode_answer(wire.encode_answer(wire.OK, 3, b"out", b"err", 7, 9))
    assert answer is not None
    assert (answer.code, answer.stdout, answer.stderr, answer.maxrss_kib, answer.cpu_us) == (3, b"out", b"err", 7, 9)
    assert wire.decode_answer(wire.encode_answer(wire.CANNOT_SERVE)) is None
    with pytest.raises(ValueError):
        wire.decode_answer(wire.encode_answer(wire.OK, 0, b"out", b"err")[:-5] + wire.END)


# --- yamlsource.parse_plain: load()'s data without the positions --------------------------------------------

_yaml_text = st.one_of(
    st.text(st.sampled_from(list("ab:-[]{}'\"#&*!|>,? \n\t01.e~<")), max_size=60),
    st.builds(lambda obj: yaml.safe_dump(obj, default_flow_style=None), st.dictionaries(_text, _tree, max_size=5)),
    st.sampled_from(["a: 1\nb: &x 2\nc: *x\n", "a: 1\na: 2\n", "--- {a: 1}\n--- {b: 2}\n", "? [a]\n: 1\n",
                     "a: !!binary aGk=\n", "<<: {a: 1}\n", "a: .inf\n", "a: 99999999999999999999\n", "- 1\n",
                     "1: a\ntrue: b\nnull: c\n", "a: !!str 1\nb: !!int '2'\n", "a: 2001-12-14\n", "x\n", ""]),
)


@pytest.mark.slow
@examples(150)
@given(_yaml_text)
def test_parse_plain_gives_loads_data_or_leaves_it_to_load(text: str) -> None:
    plain = yamlsource.parse_plain(text)
    try:
        loaded = yamlsource.load(text, "f.yaml").data
    except MipError:
        assert plain is None, "load() refuses it, so the fast parse must not accept it"
        return
    if plain is not None:
        assert plain == loaded and type(loaded) is dict
        assert repr(plain) == repr(loaded)  # the same types too (1 vs 1.0 vs True)
    else:
        assert type(loaded) is not dict, "every mapping load() accepts is taken by the fast parse"


def test_a_problem_in_a_fast_parsed_file_is_located_as_by_load() -> None:
    text = "apiVersion: v1\nkind: Federation\nname: x\napps:\n  a:\n    values: {k: v}\n"
    lazy = yamlsource.load_fast(text, "f.yaml")
    assert isinstance(lazy, yamlsource.LazyDocument) and not lazy.located
    full = yamlsource.load(text, "f.yaml")
    for path in [("apps", "a", "values", "k"), ("name",), ("apps", "missing"), ()]:
        assert lazy.problem(path, "m") == full.problem(path, "m")
        assert lazy.problem(path, "m", key=True) == full.problem(path, "m", key=True)
    assert lazy.located
