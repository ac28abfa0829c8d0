"""The mip.yaml format, defined once: these models are the parser, the validator and the JSON Schema.

Two kinds share one apiVersion: a `Platform` at the repository root and one `Federation` per federation
directory. Everything that can be derived (names, namespaces, projects, labels) is left out on purpose.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

API_VERSION = "mip-cmp.io/v1alpha1"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# A DNS-1123 label: the shape of namespaces, project names and most Kubernetes names.
Name = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=63)]
# Federation names become namespaces, projects and prefixes of Application names, hence shorter.
FederationName = Annotated[str, StringConstraints(strict=True, pattern=DNS_LABEL, max_length=40)]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2048)]
Url = Annotated[str, StringConstraints(strict=True, pattern=r"^(https?://|ssh://|git@)\S+$", max_length=2048)]
RepoPath = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^(\.|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)$", max_length=512),
]
SecretKey = Annotated[str, StringConstraints(strict=True, pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)]
Group = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_.@:/-]+$", max_length=256)]
Values = dict[str, JsonValue]


class Strict(BaseModel):
    """Unknown keys are errors, nothing is coerced, and parsed models cannot be changed afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class IgnoreDifference(Strict):
    """One entry of an Application's spec.ignoreDifferences (fields as Argo CD names them)."""

    group: str = ""
    kind: Text
    name: str | None = None
    jsonPointers: list[Text] = Field(default_factory=list)
    jqPathExpressions: list[Text] = Field(default_factory=list)
    managedFieldsManagers: list[Text] = Field(default_factory=list)


class Chart(Strict):
    """A Helm chart in a git repository, pinned to a commit."""

    repoURL: Url
    path: RepoPath = Field(description="Directory of the chart inside repoURL.")
    revision: Text = Field(description="Pinned git revision (a commit SHA is best).")
    version: Text = Field(description="Human-readable version of that revision, shown as a label.")
    valueFiles: list[RepoPath] = Field(
        default_factory=lambda: ["values.yaml"], description="Value files inside the chart directory."
    )
    values: Values = Field(
        default_factory=dict, description="Helm values; strings may hold {{ jinja2 }} expressions."
    )
    syncWave: int = Field(0, description="Argo CD sync wave of the app's Application.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra Application annotations.")
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=list, description="Argo CD ignoreDifferences for every copy of the app."
    )
    secrets: list[Name] = Field(
        default_factory=list, description="Names of platform `secrets` this app needs in its namespace."
    )


class CommonApp(Chart):
    """An app deployed once for the whole platform, in its own namespace."""

    namespace: Name = Field(description="The app's own namespace.")
    cluster: Name = Field("in-cluster", description="One of the platform's clusters.")


class StoreSecret(Strict):
    """Copy keys from the platform's secret store (e.g. Keycloak client credentials)."""

    key: Text = Field(description="Key of the entry in the secret store.")
    properties: list[SecretKey] = Field(min_length=1, description="Properties to copy; each becomes a key.")
    refreshInterval: Annotated[str, StringConstraints(strict=True, pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")] = (
        "1h0m0s"
    )


class GeneratedSecret(Strict):
    """Random values made once by an ESO Password generator and never rotated."""

    keys: list[SecretKey] = Field(min_length=1)
    length: int = Field(24, ge=8, le=128)
    digits: int = Field(6, ge=0)
    symbols: int = Field(0, ge=0)
    noUpper: bool = False
    allowRepeat: bool = True

    @model_validator(mode="after")
    def _fits(self) -> GeneratedSecret:
        if self.digits + self.symbols > self.length:
            raise ValueError("digits + symbols must not exceed length")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys must be unique")
        return self


class Secret(Strict):
    """How one Kubernetes Secret is provided: exactly one of fromStore or generated."""

    fromStore: StoreSecret | None = None
    generated: GeneratedSecret | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        if (self.fromStore is None) == (self.generated is None):
            raise ValueError("set exactly one of fromStore or generated")
        return self


class SecretStore(Strict):
    """The External Secrets store that `fromStore` secrets read from."""

    kind: Literal["ClusterSecretStore", "SecretStore"] = "ClusterSecretStore"
    name: Name = Field(description="Name of the store.")


class ArgoCD(Strict):
    """Where Argo CD runs and how it names this plugin."""

    namespace: Name = Field("argocd", description="Namespace Argo CD runs in; all Applications go there.")
    server: Url = Field("https://kubernetes.default.svc", description="API server Argo CD itself runs on.")
    pluginName: Name = Field("mip-cmp", description="Name of this plugin as its plugin.yaml declares it.")


class Rbac(Strict):
    """SSO groups given roles in every project (federations add `<name>-admins`/`<name>-developers`)."""

    adminGroups: list[Group] = Field(default_factory=list, description="May create, change and delete apps.")
    developerGroups: list[Group] = Field(default_factory=list, description="May view and sync apps.")


class FederationsDir(Strict):
    """Where federation directories live and what their names must look like."""

    path: RepoPath = Field("federations", description="Directory whose subdirectories are federations.")
    namePattern: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)] = Field(
        r"^federation-[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Regular expression every federation name must match.",
    )


class Platform(Strict):
    """The repository root: everything shared by all federations."""

    apiVersion: Literal["mip-cmp.io/v1alpha1"]
    kind: Literal["Platform"]
    argocd: ArgoCD = Field(default_factory=ArgoCD, description="Argo CD's namespace, server and plugin name.")
    repoURL: Url = Field(description="URL of this repository, as Argo CD knows it.")
    clusters: dict[Name, Url] = Field(min_length=1, description="Cluster name -> API server URL.")
    rbac: Rbac = Field(default_factory=Rbac, description="Groups given admin/developer roles in every project.")
    secretStore: SecretStore | None = Field(None, description="Store that `fromStore` secrets read from.")
    secrets: dict[Name, Secret] = Field(
        default_factory=dict, description="Secrets apps may need, by Secret name; never their values."
    )
    catalog: dict[Name, Chart] = Field(default_factory=dict, description="Apps a federation may run.")
    commonApps: dict[Name, CommonApp] = Field(
        default_factory=dict, description="Apps deployed once for the whole platform."
    )
    federations: FederationsDir = Field(
        default_factory=FederationsDir, description="Where federation directories live."
    )


class FederationApp(Strict):
    """A catalog app as one federation runs it."""

    values: Values = Field(default_factory=dict, description="Deep-merged over the catalog's values.")
    revision: Text | None = Field(None, description="Overrides the catalog's pinned revision.")
    version: Text | None = Field(
        None, description="Human-readable version of that `revision`, shown as the app.kubernetes.io/version "
                          "label (without it an overridden revision has no version label); needs `revision`."
    )
    ignoreDifferences: list[IgnoreDifference] = Field(
        default_factory=list, description="Added to the catalog's ignoreDifferences."
    )

    @model_validator(mode="after")
    def _version_labels_a_revision(self) -> FederationApp:
        if self.version is not None and self.revision is None:
            raise ValueError("`version` labels an overriding `revision`: set `revision` too, or remove "
                             "`version` (the catalog's version applies)")
        return self


class Federation(Strict):
    """One federation directory."""

    apiVersion: Literal["mip-cmp.io/v1alpha1"]
    kind: Literal["Federation"]
    name: FederationName = Field(
        description="DNS label; also the namespace, the AppProject and the prefix of its Applications."
    )
    cluster: Name = Field(description="One of the platform's clusters.")
    type: Literal["local", "hybrid"] = Field("local", description="Shown as a namespace label.")
    publicHost: Text | None = Field(None, description="Public host name; may use {{ federation.name }}.")
    apps: dict[Name, FederationApp | None] = Field(min_length=1, description="Catalog apps to run.")


KINDS: dict[str, type[Platform] | type[Federation]] = {"Platform": Platform, "Federation": Federation}
