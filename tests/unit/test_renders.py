"""renders.app_renders: the one list of the renders Argo CD makes of a platform, which `validate`, `doctor`,
`diff` and `graph` render."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from helpers import MARCH_PLATFORM, SAMPLE_REPO
from mip_cmp import pipeline
from mip_cmp.contract.params import bound
from mip_cmp.core.names import ROOT_APPLICATION
from mip_cmp.core.vocabulary import GENERATE_PATHS
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import LoadedPlatform, load_federations, load_platform
from mip_cmp.tools import validate
from mip_cmp.tools.renders import app_renders


def argo_cds_renders(repo: Repo, platform: LoadedPlatform) -> dict[str, dict[str, str]]:
    """What Argo CD renders with mip-cmp, read from the output itself: the root; each element of the
    federations' ApplicationSet, bound by its template's parameters; each Application whose source is the
    plugin, by its own parameters; and so on down, for what those renders emit."""
    found: dict[str, dict[str, str]] = {ROOT_APPLICATION: {}}
    todo = [BuildEnv()]
    while todo:
        for obj in render_objects(repo, ".", todo.pop(), platform):
            if obj["kind"] == "ApplicationSet":
                params = obj["spec"]["template"]["spec"]["source"]["plugin"]["parameters"]
                for element in obj["spec"]["generators"][0]["list"]["elements"]:
                    bound = {p["name"]: p["string"].replace("{{ .name }}", element["name"])
                             .replace("{{ .path }}", element["path"]) for p in params}
                    found[element["name"]] = bound
                    todo.append(BuildEnv(params=bound))
            elif obj["kind"] == "Application" and "plugin" in obj["spec"].get("source", {}):
                bound = {p["name"]: p["string"] for p in obj["spec"]["source"]["plugin"]["parameters"]}
                if obj["metadata"]["name"] not in found:
                    found[obj["metadata"]["name"]] = bound
                    todo.append(BuildEnv(params=bound))
    return found


def params_by_name(renders: list[tuple[str, BuildEnv]]) -> dict[str, Mapping[str, str]]:
    return {name: dict(env.params) for name, env in renders}


def test_the_list_is_what_argo_cd_renders_of_the_sample_network_apps_included() -> None:
    repo = Repo(SAMPLE_REPO, remember=True)
    platform = load_platform(repo)
    renders = app_renders(platform, load_federations(repo, platform))
    assert params_by_name(renders) == argo_cds_renders(repo, platform)
    assert {"federation-a-network", "datacatalog-network", "federation-a-secrets"} <= set(params_by_name(renders))


def test_the_revision_is_the_one_every_render_gets() -> None:
    repo = Repo(SAMPLE_REPO, remember=True)
    platform = load_platform(repo)
    assert {env.target_revision for _, env in app_renders(platform, [], "abc123")} == {"abc123"}


def test_validate_renders_every_app_of_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate` checks what Argo CD renders: the network apps too (it once skipped them)."""
    rendered: list[dict[str, str]] = []

    def recording(repo: Repo, rel: str, env: BuildEnv, platform: Any = None) -> list[Any]:
        rendered.append(dict(env.params))
        return render_objects(repo, rel, env, platform)

    monkeypatch.setattr(validate, "render_objects", recording)  # the root's render
    monkeypatch.setattr(pipeline, "render_objects", recording)  # every other app's (pipeline.render_app)
    problems, _ = validate.validate_repo(SAMPLE_REPO)
    assert problems == []
    repo = Repo(SAMPLE_REPO, remember=True)
    platform = load_platform(repo)
    assert sorted(map(sorted, (p.items() for p in rendered))) == sorted(
        map(sorted, (p.items() for p in params_by_name(app_renders(platform, load_federations(repo, platform)))
                     .values())))



def generate_paths(repo: Repo, platform: LoadedPlatform) -> dict[str, str | None]:
    """Each rendered Application's manifest-generate-paths as Argo CD reads it: on the Application, or on the
    ApplicationSet's template with its element's path; None: it has none."""
    found: dict[str, str | None] = {}
    for _, env in app_renders(platform, load_federations(repo, platform)):
        for obj in render_objects(repo, ".", env, platform):
            if obj["kind"] == "Application":
                found[obj["metadata"]["name"]] = obj["metadata"].get("annotations", {}).get(GENERATE_PATHS)
            elif obj["kind"] == "ApplicationSet":
                template = obj["spec"]["template"]["metadata"].get("annotations", {}).get(GENERATE_PATHS)
                for element in obj["spec"]["generators"][0]["list"]["elements"]:
                    found[element["name"]] = template and template.replace("{{ .path }}", element["path"])
    return found


@pytest.mark.parametrize("platform_repo", [SAMPLE_REPO, MARCH_PLATFORM], ids=["sample", "march"])
def test_each_app_names_every_file_its_render_reads(platform_repo: Path) -> None:
    """Argo CD renders an app with manifest-generate-paths again only for a commit that changes a file under
    those paths (else it moves the cached manifests): every file the render reads must be under one, or a
    change to it would never reach the cluster. The root reads every federation and carries none."""
    repo = Repo(platform_repo, remember=True)
    platform = load_platform(repo)
    annotated = generate_paths(repo, platform)
    for name, env in app_renders(platform, load_federations(repo, platform)):
        fresh = Repo(platform_repo, remember=True)
        with fresh.recording() as read:
            render_objects(fresh, ".", env)
        if name == ROOT_APPLICATION:
            assert name not in annotated
            continue
        paths = (annotated[name] or "").split(";")
        assert read and all(f"/{rel}" in paths or any(f"/{rel}".startswith(f"{p}/") for p in paths) for rel in read), (
            name, paths, read)


def test_an_overlay_names_its_federations_directory() -> None:
    """Argo CD builds an overlay itself (kustomize or plain manifests): loading checks that what it reads is in
    the federation's directory (tests/security: tenancy-overlay-*), which its manifest-generate-paths names."""
    repo = Repo(SAMPLE_REPO, remember=True)
    platform = load_platform(repo)
    overlays = {}
    for fed in load_federations(repo, platform):
        for obj in render_objects(repo, ".", BuildEnv(params=bound(fed.model.name, fed.directory)), platform):
            source = obj["spec"].get("source", {})
            if obj["kind"] == "Application" and source.get("repoURL") == platform.model.repoURL and "plugin" not in source:
                assert source["path"].startswith(f"{fed.directory}/")
                overlays[obj["metadata"]["name"]] = obj["metadata"]["annotations"][GENERATE_PATHS]
    assert overlays == {"federation-a-exareme2-overlay": "/federations/federation-a"}
