"""pipeline: one app's chain, and the one place a component is dispatched (what it expands, which gate)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from helpers import SAMPLE_REPO
from mip_cmp import pipeline
from mip_cmp.core.errors import InternalError, MipError
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo

FED_A = {"federation": "federation-a", "directory": "federations/federation-a"}


def kinds(env: BuildEnv, rel: str = ".") -> Counter[str]:
    return Counter(o["kind"] for o in render_objects(Repo(SAMPLE_REPO), rel, env))


def test_the_root_renders_the_platform() -> None:
    root = kinds(BuildEnv())
    assert root["ApplicationSet"] == 1 and root["AppProject"] >= 1 and root["Application"] >= 1


def test_a_federation_renders_its_apps_and_nothing_of_its_secrets() -> None:
    apps = kinds(BuildEnv(params=FED_A))
    assert apps["Application"] >= 2
    assert not {"ExternalSecret", "Password", "NetworkPolicy"} & set(apps)


def test_the_secrets_component_renders_only_secrets() -> None:
    assert set(kinds(BuildEnv(params={**FED_A, "component": "secrets"}))) <= {"ExternalSecret", "Password"}


def test_the_network_component_renders_only_network_policies() -> None:
    assert set(kinds(BuildEnv(params={**FED_A, "component": "network"}))) == {"NetworkPolicy"}
    assert set(kinds(BuildEnv(params={"component": "network", "app": "datacatalog"}))) == {"NetworkPolicy"}


def test_a_federation_directory_rendered_by_itself_is_that_federation() -> None:
    assert kinds(BuildEnv(params={"federation": "federation-a"}), "federations/federation-a") == kinds(
        BuildEnv(params=FED_A))


@pytest.mark.parametrize(("params", "says"), [
    ({"federation": "federation-a"}, "need 'directory'"),
    ({"component": "secrets"}, "need 'directory'"),
    ({"directory": "federations/federation-a"}, "needs 'federation'"),
    ({"app": "datacatalog"}, "component=network or secrets only"),
    ({"component": "network", "app": "no-such-app"}, "is not one of the platform's commonApps"),
    ({"component": "secrets", "app": "no-such-app"}, "is not one of the platform's commonApps"),
    ({"component": "secrets", "app": "submariner-broker"}, "or infrastructure apps with `secrets`"),
])
def test_parameters_that_do_not_go_together_are_refused(params: dict[str, str], says: str) -> None:
    with pytest.raises(MipError, match=says):
        render_objects(Repo(SAMPLE_REPO), ".", BuildEnv(params=params))


def test_network_apps_need_the_platforms_network_isolation(tmp_path: Path) -> None:
    root = shutil.copytree(SAMPLE_REPO, tmp_path / "platform")
    text = (root / "mip.yaml").read_text()
    (root / "mip.yaml").write_text(text.replace("\nnetwork:", "\nnetwork:\n  enabled: false", 1))
    with pytest.raises(MipError, match=r"network\.enabled is false"):
        render_objects(Repo(root), ".", BuildEnv(params={**FED_A, "component": "network"}))


def test_every_component_passes_its_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatch hands each component's objects to its gate: a gate that refuses stops the render."""
    def refuse(*args: object) -> None:
        raise InternalError("refused")

    monkeypatch.setattr(pipeline, "check_network_output", refuse)
    monkeypatch.setattr(pipeline, "check_federation_output", refuse)
    monkeypatch.setattr(pipeline, "check_platform_output", refuse)
    monkeypatch.setattr(pipeline, "check_app_secrets_output", refuse)
    for params in ({}, FED_A, {**FED_A, "component": "secrets"}, {**FED_A, "component": "network"},
                   {"component": "network", "app": "datacatalog"}, {"component": "secrets", "app": "datacatalog"},
                   {"component": "secrets", "app": "athena-proxy"}):
        with pytest.raises(InternalError):
            render_objects(Repo(SAMPLE_REPO), ".", BuildEnv(params=params))


def test_generate_writes_the_objects_render_objects_makes() -> None:
    from mip_cmp.stage5_write.emit import dump

    env = {"ARGOCD_APP_PARAMETERS": '[{"name": "federation", "string": "federation-a"}, '
                                    '{"name": "directory", "string": "federations/federation-a"}]'}
    assert pipeline.generate(SAMPLE_REPO, env) == dump(render_objects(Repo(SAMPLE_REPO), ".", BuildEnv(params=FED_A)))
