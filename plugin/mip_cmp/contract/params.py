"""The plugin parameters mip-cmp honours: the one source for the code that reads them, plugin.yaml's
announcements and the README table (tests fail when either copy drifts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    name: str
    title: str
    tooltip: str


FEDERATION = Parameter(
    name="federation",
    title="Federation",
    tooltip="Name the federation directory must declare. Set by the platform's ApplicationSet; "
    "a mismatch is refused, so a directory cannot take over another federation.",
)
DIRECTORY = Parameter(
    name="directory",
    title="Directory",
    tooltip="Federation directory to render, relative to the repository root. Set by the platform's "
    "ApplicationSet: federation Applications render from the root (path '.'), so files in a federation "
    "directory, such as .argocd-source.yaml, cannot change how Argo CD renders it.",
)
COMPONENT = Parameter(
    name="component",
    title="Component",
    tooltip="What a federation directory renders: empty for its Applications, 'secrets' for its "
    "ExternalSecrets, 'objects' for the objects its apps need beside their charts, 'network' for its "
    "namespace's NetworkPolicies (with 'app' at the root: a common or infrastructure app's secrets or "
    "namespace). Set by mip-cmp's own output.",
)
APP = Parameter(
    name="app",
    title="Common or infrastructure app",
    tooltip="With component=network or secrets and no directory: the common or infrastructure app whose "
    "namespace's NetworkPolicies or secrets the repository root renders. Set by mip-cmp's own output.",
)
PARAMETERS: tuple[Parameter, ...] = (FEDERATION, DIRECTORY, COMPONENT, APP)
SECRETS_COMPONENT = "secrets"
OBJECTS_COMPONENT = "objects"
NETWORK_COMPONENT = "network"
COMPONENTS = ("", SECRETS_COMPONENT, OBJECTS_COMPONENT, NETWORK_COMPONENT)


def string_parameter(name: str, value: str) -> dict[str, str]:
    """One plugin parameter in Argo CD's shape for a string parameter (ApplicationSourcePluginParameter)."""
    return {"name": name, "string": value}


def bound(federation: str, directory: str, component: str = "") -> dict[str, str]:
    """The parameters, by name, of an Application that renders the repository root for one federation
    directory (what `BuildEnv.params` holds when Argo CD renders it)."""
    values = {FEDERATION.name: federation, DIRECTORY.name: directory, COMPONENT.name: component}
    return {name: value for name, value in values.items() if value}


def _as_binding(values: dict[str, str]) -> list[dict[str, str]]:
    return [string_parameter(name, value) for name, value in values.items()]


def binding(federation: str, directory: str, component: str = "") -> list[dict[str, str]]:
    """`bound(...)` as the `plugin.parameters` of that Application."""
    return _as_binding(bound(federation, directory, component))


def common_bound(app: str, component: str) -> dict[str, str]:
    """The parameters of a common or infrastructure app's `<app>-network` and `<app>-secrets`: the root renders
    that app's NetworkPolicies or its secrets."""
    return {COMPONENT.name: component, APP.name: app}


def common_binding(app: str, component: str) -> list[dict[str, str]]:
    """`common_bound(...)` as the `plugin.parameters` of that Application."""
    return _as_binding(common_bound(app, component))


# The platform's ApplicationSet binds each wrapper Application to its list element's name and path.
APPSET_BINDING = binding("{{ .name }}", "{{ .path }}")


def announcements() -> list[dict[str, object]]:
    """plugin.yaml `spec.parameters.static` entries (Argo CD's ParameterAnnouncement fields)."""
    return [
        {"name": p.name, "title": p.title, "tooltip": p.tooltip, "required": False, "itemType": "string",
         "collectionType": "string"}
        for p in PARAMETERS
    ]


def markdown_table() -> str:
    rows = ["| parameter | title | meaning |", "|---|---|---|"]
    rows += [f"| `{p.name}` | {p.title} | {p.tooltip} |" for p in PARAMETERS]
    return "\n".join(rows) + "\n"
