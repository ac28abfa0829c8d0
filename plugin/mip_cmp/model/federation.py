"""The `Federation` kind: one federation directory's mip.yaml, the catalog apps it runs and how.

No `from __future__ import annotations` here (model/__init__.py says why).
"""

from typing import Literal

from pydantic import Field, model_validator

from .application import AppSync, IgnoreDifference, Overlay
from .fields import (
    FederationName,
    FederationType,
    Name,
    Strict,
    Text,
    Values,
    no_entries,
    no_items,
)


class FederationApp(Strict):
    """A catalog app as one federation runs it."""

    values: Values = Field(default_factory=no_entries, description="Deep-merged over the catalog's values.")
    revision: Text | None = Field(None, description="Overrides the catalog's pinned revision.")
    version: Text | None = Field(
        None, description="Human-readable version of that `revision`, shown as the app.kubernetes.io/version "
                          "label (without it an overridden revision has no version label); needs `revision`."
    )
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=no_items, description="Added to the catalog's ignoreDifferences."
    )
    sync: AppSync = Field(default_factory=AppSync,
                          description="Sync options and prune, within what the platform allows.")
    overlay: Overlay | None = Field(None, description="A directory of the federation's own applied over the "
                                                      "app, as the Application `<federation>-<app>-overlay`.")

    @model_validator(mode="after")
    def _version_labels_a_revision(self) -> "FederationApp":
        if self.version is not None and self.revision is None:
            raise ValueError("`version` labels an overriding `revision`: set `revision` too, or remove "
                             "`version` (the catalog's version applies)")
        return self

class Federation(Strict):
    """One federation directory."""

    apiVersion: Literal["mip-cmp.io/v1alpha1"]
    kind: Literal["Federation"]
    name: FederationName = Field(
        description="DNS label; also the namespace, the AppProject and the prefix of its Applications. It may "
                    "differ from its directory's name (moving a directory is a supported operation: validate notes it "
                    "and passes)."
    )
    cluster: Name = Field(description="One of the platform's clusters.")
    type: FederationType = Field("local", description="Shown as a namespace label (`namespaceLabels`); "
                                                      "decides which of its apps' `objects` it gets.")
    state: Literal["active", "retired"] = Field(
        "active",
        description="`retired`: its workloads are removed; project, namespace, secrets and volumes are kept.",
    )
    publicHost: Text | None = Field(None, description=(
        "Public host name, one the platform's `federations.publicHosts` allows this federation; may use "
        "{{ federation.name }}. Written into each app's Helm values at the paths its catalog entry's "
        "`publicHostValues` names (e.g. mip-stack's `global.publicHost`), and available to values as "
        "{{ federation.publicHost }}; nothing else reads it."))
    apps: dict[Name, FederationApp | None] = Field(min_length=1, description="Catalog apps to run.")
    peers: list[Name] = Field(default_factory=no_items,
                              description="Remote networks the platform assigned to this hybrid federation "
                                          "(`network.peers.<name>.federation`) that its apps' `remote` flows "
                                          "reach, e.g. its exareme2 workers on remote nodes.")
