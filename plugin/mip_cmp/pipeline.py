"""The pipeline from a directory to manifests: load, check, expand, gate, emit. Never prints."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .contract.params import NETWORK_COMPONENT, OBJECTS_COMPONENT, SECRETS_COMPONENT
from .core import meter
from .core.errors import MipError
from .core.names import FILE_NAME
from .core.redact import scrub
from .model.platform import Platform
from .stage1_read import buildenv
from .stage1_read.buildenv import BuildEnv
from .stage1_read.repo import Repo, locate
from .stage2_check.flows import closed_apps
from .stage2_check.loading import (
    LoadedFederation,
    LoadedPlatform,
    load_bound_federation,
    load_federations,
    load_platform,
)
from .stage3_expand.federation import federation_apps, federation_objects, federation_secret_objects
from .stage3_expand.network import common_network, federation_network
from .stage3_expand.platform import app_secrets, expand_platform
from .stage4_gate import (
    check_app_secrets_output,
    check_federation_output,
    check_network_output,
    check_platform_output,
)
from .stage5_write import emit


def generate(app_dir: Path, environ: Mapping[str, str]) -> bytes:
    """What Argo CD runs: the manifests for `app_dir`, given the build environment it passes."""
    with meter.metered():  # budget.py: every limit of a render, enforced while it works
        env = buildenv.from_environ(environ)
        repo, rel = locate(app_dir, env.source_path)
        app = env.directory or rel
        return emit.dump(render_objects(repo, rel, env), FILE_NAME if app == "." else f"{app}/{FILE_NAME}")


def render_app(repo: Repo, env: BuildEnv, platform: LoadedPlatform) -> list[dict[str, Any]]:
    """One app of a run that renders several from one remembering Repo (validate, diff, graph, doctor), within
    the budgets of the process Argo CD starts for it: what it uses counts, remembered or not (Repo.new_render)."""
    repo.new_render(FILE_NAME)
    return render_objects(repo, ".", env, platform)


def render_objects(repo: Repo, rel: str, env: BuildEnv,
                   platform: LoadedPlatform | None = None) -> list[dict[str, Any]]:
    """The objects of one Argo CD app: the platform (the root, no parameters) or one federation (the root
    with the parameters federation + directory, as the platform's ApplicationSet sets them; or, for a
    person running `render`, the federation's directory itself). `platform`: already loaded (validate)."""
    platform = platform or load_platform(repo)
    if env.app:
        return _common_component(platform, rel, env)
    if rel == "." and not env.directory:
        if env.federation or env.component:
            raise MipError("plugin parameters 'federation' and 'component' need 'directory': without it the "
                           "repository root renders the platform")
        federations = load_federations(repo, platform)
        objects = expand_platform(platform, federations, env.target_revision)
        check_platform_output(platform.model, objects)
        return objects
    if env.directory:
        if rel != ".":
            raise MipError("plugin parameter 'directory' is for Applications whose path is the repository root "
                           f"(this one renders {rel!r})")
        if not env.federation:
            raise MipError("plugin parameter 'directory' needs 'federation', the name the platform bound it to")
        rel = env.directory
    fed = load_bound_federation(repo, platform, rel, env)
    return _federation_component(platform, fed, env)


def _federation_component(platform: LoadedPlatform, fed: LoadedFederation, env: BuildEnv) -> list[dict[str, Any]]:
    """The one place a federation's component is dispatched: what to expand, and which gate checks it."""
    if env.component == NETWORK_COMPONENT:
        _network_enabled(platform.model)
        objects = federation_network(platform.model, fed.model)
        check_network_output(fed.model.name, objects, f"{fed.directory}/{FILE_NAME}")
        return objects
    if env.component == SECRETS_COMPONENT:
        objects = federation_secret_objects(platform, fed)
    elif env.component == OBJECTS_COMPONENT:
        objects = federation_objects(platform, fed)
    else:
        objects = federation_apps(platform, fed, env.target_revision)
    check_federation_output(platform.model, fed.model, fed.directory, env.component, objects)
    return objects


def _network_enabled(p: Platform) -> None:
    if not p.network.enabled:
        raise MipError("network.enabled is false in the platform: there are no NetworkPolicies to render")


def _common_component(platform: LoadedPlatform, rel: str, env: BuildEnv) -> list[dict[str, Any]]:
    """`<app>-network` and `<app>-secrets` of a common or infrastructure app: the root with component=network or
    secrets and app=<that app>."""
    p = platform.model
    if rel != "." or env.directory or env.federation or env.component not in (NETWORK_COMPONENT, SECRETS_COMPONENT):
        raise MipError("plugin parameter 'app' is for the repository root with component=network or secrets only")
    if env.component == SECRETS_COMPONENT:
        if env.app not in p.secret_holders():
            raise MipError(scrub(f"plugin parameter 'app': {env.app!r} is not one of the platform's commonApps or "
                                 "infrastructure apps with `secrets`"))
        objects = app_secrets(platform, env.app)
        check_app_secrets_output(p, env.app, objects)
        return objects
    closed = closed_apps(p)
    if env.app not in closed:
        raise MipError(scrub(f"plugin parameter 'app': {env.app!r} is not one of the platform's commonApps nor "
                             "an infrastructure app with a `network`"))
    _network_enabled(p)
    objects = common_network(p, env.app)
    check_network_output(closed[env.app].namespace, objects, FILE_NAME)
    return objects
