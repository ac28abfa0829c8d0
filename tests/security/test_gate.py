"""The output gate (gate.py) on its own: whatever the expansion might one day produce by mistake, an object
outside the federation's tenancy, a plaintext Secret, a password that could rotate or an empty output never
reaches Argo CD. Each case takes the real objects of sample-repo/ and breaks one thing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from helpers import SAMPLE_REPO
from mip_cmp.core.errors import MipError
from mip_cmp.core.vocabulary import Obj
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federation, load_federations, load_platform
from mip_cmp.stage3_expand.federation import federation_apps, federation_secret_objects
from mip_cmp.stage3_expand.platform import app_secrets, expand_platform
from mip_cmp.stage4_gate import check_app_secrets_output, check_federation_output, check_platform_output

REPO = Repo(SAMPLE_REPO)
PLATFORM = load_platform(REPO)
FED = load_federation(REPO, "federations/federation-a")
FED_FILE = "federations/federation-a/mip.yaml"


def federation_objects(component: str) -> list[Obj]:
    return federation_secret_objects(PLATFORM, FED) if component == "secrets" else federation_apps(PLATFORM, FED, "HEAD")


def gate_federation(objects: list[Obj], component: str) -> None:
    check_federation_output(PLATFORM.model, FED.model, FED.directory, component, objects)


def first(kind: str, objects: list[Obj], name: str | None = None) -> Obj:
    return next(o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name))


def app(mutate: Callable[[Obj], None], name: str = "federation-a-exareme2") -> Callable[[list[Obj]], None]:
    return lambda objects: mutate(first("Application", objects, name))


def es(mutate: Callable[[Obj], None], name: str = "mip-secret") -> Callable[[list[Obj]], None]:
    return lambda objects: mutate(first("ExternalSecret", objects, name))


def plaintext_secret(objects: list[Obj]) -> None:
    objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "federation-a"},
                    "stringData": {"password": "x"}})


def cluster_role(objects: list[Obj]) -> None:
    objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "pwn"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}})


def app_project(objects: list[Obj]) -> None:
    objects.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                    "metadata": {"name": "federation-a", "namespace": "argocd-mip-team"},
                    "spec": {"destinations": [{"server": "*", "namespace": "*"}]}})


def clear(objects: list[Obj]) -> None:
    objects.clear()


def set_path(obj: Obj, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[last] = value


def setter(path: str, value: Any) -> Callable[[Obj], None]:
    return lambda obj: set_path(obj, path, value)


APP_BREAKS: dict[str, Callable[[list[Obj]], None]] = {
    "project-of-the-platform": app(setter("spec.project", "mip-infrastructure")),
    "project-of-another-federation": app(setter("spec.project", "federation-z")),
    "namespace-kube-system": app(setter("spec.destination.namespace", "kube-system")),
    "another-cluster": app(setter("spec.destination.server", "https://mip-public.mip-tds.chuv.cscs.ch:6443")),
    "destination-by-name": app(setter("spec.destination", {"name": "in-cluster", "namespace": "federation-a"})),
    "application-outside-argocd-namespace": app(setter("metadata.namespace", "federation-a")),
    "name-of-another-federation": app(setter("metadata.name", "federation-z-exareme2")),
    "name-not-in-the-catalog": app(setter("metadata.name", "federation-a-cluster-admin")),
    "repo-not-in-the-catalog": app(setter("spec.source.repoURL", "https://evil.example/charts.git")),
    "chart-path-changed": app(setter("spec.source.path", "../other")),
    "multi-source": app(setter("spec.sources", [{"repoURL": "https://evil.example/x.git", "path": "."}])),
    "plugin-source-on-a-workload": app(setter("spec.source.plugin", {"name": "mip-cmp"})),
    "directory-source-on-a-workload": app(setter("spec.source.directory", {"recurse": True})),
    "secrets-app-renders-another-directory": app(setter("spec.source.path", "federations/federation-z"),
                                                 "federation-a-secrets"),
    "secrets-app-bound-to-another-federation": app(setter("spec.source.plugin.parameters",
                                                          [{"name": "federation", "string": "federation-z"},
                                                           {"name": "component", "string": "secrets"}]),
                                                   "federation-a-secrets"),
    "secrets-app-from-another-repo": app(setter("spec.source.repoURL", "https://evil.example/r.git"),
                                         "federation-a-secrets"),
    "plaintext-secret": plaintext_secret,
    "cluster-scoped-kind": cluster_role,
    "app-project": app_project,
    "empty-output": clear,
}

SECRET_BREAKS: dict[str, Callable[[list[Obj]], None]] = {
    "plaintext-secret": plaintext_secret,
    "application-from-the-secrets-component": lambda objects: objects.append(
        first("Application", federation_objects(""))),
    "other-namespace": es(setter("metadata.namespace", "federation-z")),
    "secret-the-federation-does-not-need": es(setter("metadata.name", "argocd-secret")),
    "another-secret-store": es(setter("spec.secretStoreRef", {"kind": "ClusterSecretStore", "name": "vault-all"}),
                               "keycloak-credentials"),
    "bulk-copy-from-the-store": es(setter("spec.dataFrom", [{"find": {"name": {"regexp": ".*"}}}]),
                                   "keycloak-credentials"),
    "generated-password-rotates-hourly": es(setter("spec.refreshInterval", "1h")),
    "generated-password-refreshes-on-change": es(setter("spec.refreshPolicy", "OnChange")),
    "generated-secret-owned-by-the-externalsecret": es(setter("spec.target.creationPolicy", "Owner")),
    "generated-secret-deleted-with-the-externalsecret": es(setter("spec.target.deletionPolicy", "Delete")),
    "generated-secret-mutable": es(setter("spec.target.immutable", False)),
    "generated-secret-prunable": es(lambda o: o["metadata"].pop("annotations")),
    "generator-prunable": lambda objects: first("Password", objects)["metadata"].pop("annotations"),
    "target-renamed": es(setter("spec.target.name", "argocd-secret")),
    "empty-output": clear,
}


def test_sample_output_passes_the_gate() -> None:
    gate_federation(federation_objects(""), "")
    gate_federation(federation_objects("secrets"), "secrets")


@pytest.mark.parametrize("break_it", APP_BREAKS.values(), ids=APP_BREAKS.keys())
def test_gate_refuses_broken_federation_applications(break_it: Callable[[list[Obj]], None]) -> None:
    objects = copy.deepcopy(federation_objects(""))
    break_it(objects)
    with pytest.raises(MipError) as error:
        gate_federation(objects, "")
    assert all(p.file == FED_FILE for p in error.value.problems)
    assert "refusing to emit" in str(error.value) or "nothing to render" in str(error.value)


@pytest.mark.parametrize("break_it", SECRET_BREAKS.values(), ids=SECRET_BREAKS.keys())
def test_gate_refuses_broken_federation_secrets(break_it: Callable[[list[Obj]], None]) -> None:
    objects = copy.deepcopy(federation_objects("secrets"))
    break_it(objects)
    with pytest.raises(MipError) as error:
        gate_federation(objects, "secrets")
    assert "refusing to emit" in str(error.value) or "nothing to render" in str(error.value)


def external_secret_in_the_root(objects: list[Obj]) -> None:
    """What held the whole platform back on a real Argo CD: the root waits for every wave to be healthy, and an
    ExternalSecret is not until ESO and its store answer."""
    objects.append(copy.deepcopy(first("ExternalSecret", app_secrets(PLATFORM, "datacatalog"))))


PLATFORM_BREAKS: dict[str, Callable[[list[Obj]], None]] = {
    "plaintext-secret": plaintext_secret,
    "cluster-scoped-kind": cluster_role,
    "external-secret-in-the-root": external_secret_in_the_root,
    "application-in-a-federation-project": app(setter("spec.project", "federation-a"), "datacatalog"),
    "empty-kustomize-block": app(setter("spec.source.kustomize", {}), "haproxy-public-ingress"),
    "empty-helm-block": app(setter("spec.source.helm", {"valueFiles": []}), "datacatalog"),
    "common-secrets-of-another-namespace": app(setter("spec.destination.namespace", "federation-a"),
                                               "datacatalog-secrets"),
    "infrastructure-project-app-that-is-no-secrets-app": app(setter("spec.project", "mip-infrastructure"),
                                                             "datacatalog"),
    "infrastructure-secrets-of-another-namespace": app(setter("spec.destination.namespace", "mip-common-datacatalog"),
                                                       "athena-proxy-secrets"),
    "infrastructure-secrets-of-another-app": app(setter("spec.source.plugin.parameters",
                                                        [{"name": "component", "string": "secrets"},
                                                         {"name": "app", "string": "datacatalog"}]),
                                                 "athena-proxy-secrets"),
    "secrets-app-of-an-app-without-secrets": app(setter("metadata.name", "submariner-broker-secrets"),
                                                 "athena-proxy-secrets"),
    "empty-output": clear,
}


@pytest.mark.parametrize("break_it", PLATFORM_BREAKS.values(), ids=PLATFORM_BREAKS.keys())
def test_gate_refuses_broken_platform_output(break_it: Callable[[list[Obj]], None]) -> None:
    objects = expand_platform(PLATFORM, load_federations(REPO, PLATFORM), "HEAD")
    check_platform_output(PLATFORM.model, objects)
    break_it(objects)
    with pytest.raises(MipError):
        check_platform_output(PLATFORM.model, objects)


COMMON_SECRET_BREAKS: dict[str, Callable[[list[Obj]], None]] = {
    "plaintext-secret": plaintext_secret,
    "other-namespace": es(setter("metadata.namespace", "federation-z"), "datacatalog-secrets"),
    "secret-the-app-does-not-need": es(setter("metadata.name", "argocd-secret"), "datacatalog-secrets"),
    "another-secret-store": es(setter("spec.data", [{"secretKey": "x", "remoteRef": {"key": "k"}, "sourceRef": {
        "storeRef": {"kind": "ClusterSecretStore", "name": "vault-all"}}}]), "datacatalog-secrets"),
    "generated-password-rotates-hourly": es(setter("spec.refreshInterval", "1h"), "datacatalog-secrets"),
    "generated-secret-mutable": es(setter("spec.target.immutable", False), "datacatalog-secrets"),
    "generator-prunable": lambda objects: first("Password", objects)["metadata"].pop("annotations"),
    "empty-output": clear,
}


# An infrastructure app's secrets pass the same gate as a common app's, in its own namespace and names.
INFRASTRUCTURE_SECRET_BREAKS: dict[str, Callable[[list[Obj]], None]] = {
    "plaintext-secret": plaintext_secret,
    "other-namespace": es(setter("metadata.namespace", "mip-common-datacatalog"), "codex-llm"),
    "another-apps-secret": lambda objects: objects.extend(app_secrets(PLATFORM, "datacatalog")),
    "another-secret-store": es(setter("spec.secretStoreRef", {"kind": "ClusterSecretStore", "name": "vault-all"}),
                               "codex-llm"),
    "empty-output": clear,
}
APP_SECRET_BREAKS = {**{f"datacatalog-{name}": ("datacatalog", b) for name, b in COMMON_SECRET_BREAKS.items()},
                     **{f"athena-proxy-{name}": ("athena-proxy", b) for name, b in INFRASTRUCTURE_SECRET_BREAKS.items()}}


@pytest.mark.parametrize(("owner", "break_it"), APP_SECRET_BREAKS.values(), ids=APP_SECRET_BREAKS.keys())
def test_gate_refuses_broken_app_secrets(owner: str, break_it: Callable[[list[Obj]], None]) -> None:
    objects = app_secrets(PLATFORM, owner)
    check_app_secrets_output(PLATFORM.model, owner, objects)
    break_it(objects)
    with pytest.raises(MipError):
        check_app_secrets_output(PLATFORM.model, owner, objects)


def test_gate_refuses_secrets_of_an_app_without_secrets() -> None:
    with pytest.raises(MipError, match="no app with `secrets`"):
        check_app_secrets_output(PLATFORM.model, "submariner-broker", app_secrets(PLATFORM, "athena-proxy"))
