"""The renders Argo CD makes of a platform: one per Application that runs mip-cmp, with its parameters. The one
list `validate`, `doctor`, `diff` and `graph` render, so each checks exactly what Argo CD renders."""

from __future__ import annotations

from ..contract.params import NETWORK_COMPONENT, OBJECTS_COMPONENT, SECRETS_COMPONENT, bound, common_bound
from ..core.names import NETWORK_APP, OBJECTS_APP, ROOT_APPLICATION, SECRETS_APP
from ..stage1_read.buildenv import DEFAULT_REVISION, BuildEnv
from ..stage2_check.flows import closed_apps
from ..stage2_check.loading import LoadedFederation, LoadedPlatform
from ..stage3_expand.federation import federation_besides, federation_secrets


def app_renders(platform: LoadedPlatform, federations: list[LoadedFederation],
                revision: str = DEFAULT_REVISION) -> list[tuple[str, BuildEnv]]:
    """Every app exactly as Argo CD renders it, with the name of the Application that renders it: the root,
    and each federation from the root, bound by the ApplicationSet's parameters; its secrets and objects
    components only where its apps need a secret or objects beside their charts (else there is no such
    Application); with the platform's network isolation on, each federation's and each common app's network
    Application; each common app's secrets Application where it needs secrets. `validate`, `doctor`, `diff` and `graph`
    use this one list."""
    network = platform.model.network.enabled
    renders = [(ROOT_APPLICATION, BuildEnv(target_revision=revision))]
    for fed in federations:
        name, directory = fed.model.name, fed.directory
        renders.append((name, BuildEnv(target_revision=revision, params=bound(name, directory))))
        renders += [(f"{name}-{APP_OF[component]}", BuildEnv(target_revision=revision,
                                                             params=bound(name, directory, component)))
                    for component in _components(platform, fed)]
        if network:
            renders.append((f"{name}-{NETWORK_APP}", BuildEnv(target_revision=revision,
                                                              params=bound(name, directory, NETWORK_COMPONENT))))
    if network:
        renders += [(f"{name}-{NETWORK_APP}", BuildEnv(target_revision=revision,
                                                       params=common_bound(name, NETWORK_COMPONENT)))
                    for name in closed_apps(platform.model)]
    renders += [(f"{name}-{SECRETS_APP}", BuildEnv(target_revision=revision,
                                                   params=common_bound(name, SECRETS_COMPONENT)))
                for name in platform.model.secret_holders()]
    return renders


APP_OF = {SECRETS_COMPONENT: SECRETS_APP, OBJECTS_COMPONENT: OBJECTS_APP}


def _components(platform: LoadedPlatform, fed: LoadedFederation) -> list[str]:
    """A federation's components besides its Applications: secrets where its apps need one, objects where
    they need some beside their charts (else there is no such Application)."""
    components = [SECRETS_COMPONENT] if federation_secrets(platform.model, fed.model) else []
    if fed.model.state == "active" and federation_besides(platform.model, fed.model):
        components.append(OBJECTS_COMPONENT)
    return components
