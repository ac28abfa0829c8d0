"""How the platform provides each Secret its apps need: keys from the secret store, generated passwords and
fixed non-secret values; never a secret value itself.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .fields import (
    Name,
    SecretKey,
    Strict,
    Text,
    no_entries,
)


class StoreSecret(Strict):
    """Copy keys from the platform's secret store (e.g. Keycloak client credentials)."""

    key: Text = Field(description="Key of the entry in the secret store; may use {{ federation.name }} "
                                  "(federation secrets) or {{ app.name }} (common and infrastructure apps), so "
                                  "each namespace can read its own entry, e.g. one Keycloak client per "
                                  "federation.")
    properties: list[SecretKey] | dict[SecretKey, SecretKey] = Field(
        min_length=1, description="Properties to copy: a list (each keeps its name) or a mapping "
                                  "`secret key: store property` (the key the chart reads may differ).")
    refreshInterval: Annotated[str, StringConstraints(strict=True, pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")] = (
        "1h0m0s"
    )

    def key_map(self) -> dict[str, str]:
        """Secret key -> store property."""
        if isinstance(self.properties, dict):
            return dict(self.properties)
        return {prop: prop for prop in self.properties}

class GeneratedSecret(Strict):
    """Random values made once by an ESO Password generator and never rotated."""

    keys: list[SecretKey] = Field(min_length=1)
    length: int = Field(24, ge=8, le=128)
    digits: int = Field(6, ge=0)
    symbols: int = Field(0, ge=0)
    noUpper: bool = False
    allowRepeat: bool = True

    @model_validator(mode="after")
    def _fits(self) -> "GeneratedSecret":
        if self.digits + self.symbols > self.length:
            raise ValueError("digits + symbols must not exceed length")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys must be unique")
        return self


FixedValue = Annotated[str, StringConstraints(strict=True, max_length=253, pattern=r"^[^\n]*$")]


class Secret(Strict):
    """How one Kubernetes Secret is provided: keys from the store, generated passwords and fixed non-secret
    values (e.g. a database user name), in any combination; every key comes from exactly one of them.

    A Secret that holds generated keys is made once and never rewritten (its passwords must not change),
    so its store keys are read once too: keep keys that rotate in the store in a Secret of their own."""

    fromStore: StoreSecret | None = None
    generated: GeneratedSecret | None = None
    fixed: dict[SecretKey, FixedValue] = Field(
        default_factory=no_entries, description="Fixed, non-secret values such as a database user name; a value "
                                          "that looks like a credential is refused.")

    @model_validator(mode="after")
    def _one_source(self) -> "Secret":
        if self.fromStore is None and self.generated is None:
            raise ValueError("set fromStore, generated or both (fixed values alone are not a secret)")
        owners: dict[str, int] = {}
        for keys in (self.fromStore.key_map() if self.fromStore else {}, self.generated.keys
                     if self.generated else [], self.fixed):
            for key in keys:
                owners[key] = owners.get(key, 0) + 1
        twice = sorted(k for k, n in owners.items() if n > 1)
        if twice:
            raise ValueError(f"each key must come from one source only; given twice: {', '.join(twice)}")
        return self

    def keys(self) -> list[str]:
        """Every key of the Secret, in the order its sources list them."""
        return [*(self.fromStore.key_map() if self.fromStore else {}),
                *(self.generated.keys if self.generated else []), *self.fixed]

class SecretStore(Strict):
    """The External Secrets store that `fromStore` secrets read from."""

    kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"
    name: Name = Field(description="Name of the store.")
