"""`mip-cmp graph`: Mermaid, dot, and the offline HTML page checked in a real headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from browser import WHY_NOT, chromium
from helpers import SAMPLE_REPO
from mip_cmp.cli import run
from mip_cmp.tools.graph import as_html, build
from mip_cmp.tools.snapshot import Rendered, key_of, take

needs_chromium = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)


def graph(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run(["graph", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def federation_names(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.rglob("mip.yaml") if p.parent != root)


def test_mermaid_and_dot_show_every_federation_and_kind(capsys: pytest.CaptureFixture[str]) -> None:
    mermaid = graph([str(SAMPLE_REPO)], capsys)
    dot = graph([str(SAMPLE_REPO), "--format", "dot"], capsys)
    assert mermaid.startswith("flowchart LR\n")
    assert dot.startswith("digraph mip {") and dot.endswith("}\n")
    for name in federation_names(SAMPLE_REPO):
        assert f'["federation {name}"]' in mermaid
        assert f'"cluster_{name}"' in dot
        assert f'"app:{name}-exareme2"' in dot
    for kind in ("app", "appset", "project", "namespace", "cluster", "secret"):
        assert f"classDef {kind} " in mermaid
    assert '"generates"' in mermaid and '"deploys to"' in mermaid


def test_flows_of_network_policies() -> None:
    """Every NetworkPolicy in what Argo CD deploys becomes namespace-level flows (the hook the generated
    policies of the platform plug into): ingress from a namespace, egress to an IP block."""
    snapshot = take(SAMPLE_REPO)
    for key in [k for k, r in snapshot.objects.items() if r.obj["kind"] == "NetworkPolicy"]:
        del snapshot.objects[key]  # the platform's own policies are not what this test is about
    policy: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "allow", "namespace": "federation-a"},
        "spec": {"podSelector": {"matchLabels": {"app": "platform-ui"}},
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                     "kubernetes.io/metadata.name": "mip-common-datacatalog"}}}],
                     "ports": [{"protocol": "TCP", "port": 80}]}],
                 "egress": [{"to": [{"ipBlock": {"cidr": "10.3.0.0/16"}}]}]},
    }
    snapshot.objects[key_of(policy)] = Rendered("federation-a", policy)
    flows = {(e.source, e.target, e.label) for e in build(snapshot).edges if e.kind == "flow"}
    assert flows == {
        ("ns:in-cluster/mip-common-datacatalog", "ns:in-cluster/federation-a", "pods app=platform-ui TCP/80"),
        ("ns:in-cluster/federation-a", "ext:10.3.0.0/16", "pods app=platform-ui"),
    }


def make_platform(tmp_path: Path, count: int) -> Path:
    root = shutil.copytree(SAMPLE_REPO, tmp_path / "platform")
    # Copies of federation-a's whole directory (its overlays too), next to it, under new names.
    source = next(p.parent for p in root.rglob("mip.yaml") if p.parent.name == "federation-a")
    text = (source / "mip.yaml").read_text()
    for i in range(count):
        name = f"federation-n{i:04d}"
        shutil.copytree(source, source.parent / name)
        (source.parent / name / "mip.yaml").write_text(text.replace("federation-a", name))
    return root


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium for this module's pages (starting one costs about a second)."""
    with chromium() as started:
        yield started


def open_page(driver: Any, page: Path) -> None:
    driver.get(page.as_uri())
    assert driver.execute_script("return document.body.dataset.ready") == "true"


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


@pytest.mark.slow
@needs_chromium
def test_html_page_in_chromium_shows_every_federation(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     driver: Any) -> None:
    page = tmp_path / "graph.html"
    page.write_text(graph([str(SAMPLE_REPO), "--format", "html"], capsys))
    assert "http://" not in page.read_text().replace("http://www.w3.org/2000/svg", "") .replace(
        "http://exaflow", ""), "the page loads nothing from the network"
    open_page(driver, page)
    assert console_errors(driver) == []
    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('details.fed')).filter(d => d.open && "
        "d.querySelector('svg')).map(d => d.dataset.fed)")
    assert shown == federation_names(SAMPLE_REPO), "a small platform shows every federation drawn"
    labels = driver.execute_script("return Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)")
    assert "federation-a-exareme2" in labels and "mip-platform" in labels
    driver.save_screenshot(str(tmp_path / "sample-graph.png"))
    assert (tmp_path / "sample-graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@needs_chromium
def test_the_page_of_1000_federations_lists_them_all_and_searches(tmp_path: Path, driver: Any) -> None:
    """What the page of a large platform does, not how fast: bench/tools.py measures making and opening it."""
    root = make_platform(tmp_path, 998)
    page = tmp_path / "graph.html"
    page.write_text(as_html(build(take(root))))
    open_page(driver, page)
    assert console_errors(driver) == []
    names = driver.execute_script("return Array.from(document.querySelectorAll('details.fed')).map(d => d.dataset.fed)")
    assert len(names) == 1000 == len(set(names))
    # Search narrows the list; opening a card draws its diagram.
    search = driver.find_element("id", "search")
    search.send_keys("federation-n0042")
    visible = driver.execute_script(
        "return Array.from(document.querySelectorAll('details.fed:not(.hidden)')).map(d => d.dataset.fed)")
    assert visible == ["federation-n0042"]
    driver.execute_script("document.querySelector('details[data-fed=\"federation-n0042\"]').open = true")
    # The card draws on its `toggle` event, which the browser fires after this script returns: wait for it
    # (an order, not a speed: the wait's bound only keeps a broken page from hanging the test).
    WebDriverWait(driver, 60, poll_frequency=0.05).until(lambda d: d.execute_script(
        "return document.querySelector('details[data-fed=\"federation-n0042\"] svg') !== null"))
    driver.save_screenshot(str(tmp_path / "graph-1000.png"))
    assert console_errors(driver) == []


@pytest.mark.slow
@needs_chromium
def test_the_readme_picture_is_made_by_the_project(tmp_path: Path) -> None:
    """scripts/graph_picture.py, which made docs/img/sample-platform-graph.png, still runs and makes a
    picture of the same size."""
    import struct
    import subprocess
    import sys

    from helpers import REPO_ROOT

    target = tmp_path / "picture.png"
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "graph_picture.py"), str(target)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr

    def size(png: bytes) -> tuple[int, int]:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        return width, height

    committed = (REPO_ROOT / "docs" / "img" / "sample-platform-graph.png").read_bytes()
    assert size(target.read_bytes()) == size(committed)
    assert "docs/img/sample-platform-graph.png" in (REPO_ROOT / "README.md").read_text()
