"""The e2e suite's session: one real environment (cluster.py) for every case, stopped at the end whatever
happens. Every case is marked `e2e`; without the binaries scripts/e2e.sh names (the README's test command),
each is skipped with the reason, and nothing is started. scripts/e2e.sh sets E2E_REQUIRED: there a missing
binary fails the run instead of skipping it."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from e2e.cluster import Binaries, Cluster, HarnessError

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("E2E_REQUIRED"):
        # scripts/e2e.sh's deadline ends the suite with SIGTERM: as an interrupt, so that the session's
        # finalizers stop every process the environment started.
        signal.signal(signal.SIGTERM, interrupted)


def interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}: the e2e suite's deadline (scripts/e2e.sh)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in item.path.parents]
    try:
        Binaries.from_environ()
    except HarnessError as missing:
        if os.environ.get("E2E_REQUIRED"):
            raise
        skip = pytest.mark.skip(reason=f"e2e: needs the real Argo CD and Kubernetes: {missing}")
        for item in ours:
            item.add_marker(skip)
    for item in ours:
        item.add_marker(pytest.mark.e2e)
    # The Argo CD upgrade needs a second release, which scripts/e2e.sh builds and names when asked (E2E_ARGOCD_NEXT):
    # without it, the case is not one of the run's (deselected, as -k does), rather than skipped.
    if not os.environ.get("E2E_ARGOCD_NEXT"):
        upgrade = [item for item in ours if item.get_closest_marker("argocd_upgrade")]
        if upgrade:
            config.hook.pytest_deselected(items=upgrade)
            items[:] = [item for item in items if item not in upgrade]


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"[e2e] {line}")

    run = Path(tempfile.mkdtemp(prefix="mip-cmp-e2e-", dir=os.environ.get("E2E_RUNS")))
    env = Cluster(Binaries.from_environ(), run)
    failed = True
    try:
        env.start(progress)
        progress("up: " + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in env.timings.items()))
        yield env
        failed = request.session.testsfailed > 0
    finally:
        env.stop()
        if failed or os.environ.get("E2E_KEEP"):
            progress(f"logs kept in {run / 'logs'}")
        else:
            shutil.rmtree(run, ignore_errors=True)


@pytest.fixture
def empty_cluster(cluster: Cluster) -> Cluster:
    """Each case starts from a cluster holding nothing of the platform: no Application, ApplicationSet,
    project, store, nor any namespace but Kubernetes' own and Argo CD's."""
    cluster.reset()
    return cluster
