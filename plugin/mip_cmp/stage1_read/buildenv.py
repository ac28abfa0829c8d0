"""What Argo CD tells a plugin through the environment (see the CMP contract, section 4).

Every variable may be missing or empty: discovery-time and app-details calls pass only a few of them,
and a person running `render` passes none. Nothing here may crash on that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..contract.params import COMPONENT, COMPONENTS, PARAMETERS
from ..core.errors import MipError

DEFAULT_REVISION = "HEAD"


class _Parameter:
    """A plugin parameter of the app (contract/params.py), read by its attribute's name; "" when Argo CD did
    not pass it."""

    def __set_name__(self, owner: type, name: str) -> None:
        assert name in {p.name for p in PARAMETERS}, name
        self.name = name

    def __get__(self, env: BuildEnv, owner: type | None = None) -> str:
        return env.params.get(self.name, "")


@dataclass(frozen=True)
class BuildEnv:
    target_revision: str = DEFAULT_REVISION
    source_path: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    federation = _Parameter()
    directory = _Parameter()
    component = _Parameter()
    app = _Parameter()


def _escaped(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def _parameters(environ: Mapping[str, str]) -> dict[str, str]:
    raw = environ.get("ARGOCD_APP_PARAMETERS", "").strip()
    values: dict[str, str] = {}
    if raw and raw != "null":
        try:
            items = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            raise MipError("ARGOCD_APP_PARAMETERS is not valid JSON") from None
        if not isinstance(items, list):
            raise MipError("ARGOCD_APP_PARAMETERS must be a JSON array")
        known = {p.name for p in PARAMETERS}
        for item in items:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in known:
                raise MipError(f"plugin parameter {name!r} is not one mip-cmp knows; known: {', '.join(sorted(known))}")
            value = item.get("string")
            if not isinstance(value, str) or "array" in item or "map" in item:
                raise MipError(f"plugin parameter {name!r} must be a string parameter")
            if name in values:
                # Two values for one parameter: whichever we picked, the other was meant to be ignored.
                raise MipError(f"plugin parameter {name!r} is given more than once")
            values[name] = value
    else:
        # Without the JSON (older callers), fall back to the PARAM_ variables Argo CD also sets.
        for p in PARAMETERS:
            value = environ.get(f"PARAM_{_escaped(p.name)}")
            if value is not None:
                values[p.name] = value
    if values.get(COMPONENT.name, "") not in COMPONENTS:
        raise MipError(f"plugin parameter {COMPONENT.name!r} must be one of "
                       f"{', '.join(repr(c) for c in COMPONENTS)}, not {values[COMPONENT.name]!r}")
    return values


def from_environ(environ: Mapping[str, str]) -> BuildEnv:
    return BuildEnv(
        target_revision=environ.get("ARGOCD_APP_SOURCE_TARGET_REVISION", "").strip() or DEFAULT_REVISION,
        source_path=environ.get("ARGOCD_APP_SOURCE_PATH"),
        params=_parameters(environ),
    )
