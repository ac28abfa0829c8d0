"""Names the platform owns and every module shares: written once here."""

from __future__ import annotations

from .vocabulary import ARGOCD_NAMESPACE

# What mip-cmp calls itself where it signs what it writes (the app.kubernetes.io/managed-by label).
TOOL = "mip-cmp"

# The file every mip-cmp directory holds (and Argo CD's discovery looks for).
FILE_NAME = "mip.yaml"

# Projects the platform itself owns; no federation may take their names.
INFRA_PROJECT = "mip-infrastructure"
FEDERATIONS_PROJECT = "mip-federations"
COMMON_PROJECT = "mip-common"
STATIC_PROJECTS = ("default", INFRA_PROJECT, FEDERATIONS_PROJECT, COMMON_PROJECT)
# Each platform `infrastructure` app has a project of its own: `infra-<app>`.
INFRA_APP_PROJECT_PREFIX = "infra-"
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Applications in the Argo CD namespace that are not `<federation>-<app>`; the root Application's name is
# also the `PART_OF` label of what the root renders.
ROOT_APPLICATION = "mip-platform"
FEDERATIONS_APPSET = "mip-federations"
# Each federation's Application for its ExternalSecrets is `<federation>-secrets`.
SECRETS_APP = "secrets"
# Each federation's Application for the objects its apps need beside their charts is `<federation>-objects`.
OBJECTS_APP = "objects"
# `<federation>-network` and `<common app>-network` apply a namespace's NetworkPolicies (from the root);
# `<federation>-<app>-overlay` applies a federation's overlay directory for one of its apps.
NETWORK_APP = "network"
OVERLAY_APP = "overlay"
# Suffixes mip-cmp itself appends to Application names: no catalog app may be named so or end so.
RESERVED_APP_NAMES = (SECRETS_APP, OBJECTS_APP, NETWORK_APP, OVERLAY_APP)


def network_name(owner: str) -> str:
    """`<federation>-network` / `<common app>-network`: the Application that applies that namespace's
    NetworkPolicies, and its project (admins only, NetworkPolicies in that one namespace only)."""
    return f"{owner}-{NETWORK_APP}"


def infra_project_name(app: str) -> str:
    return f"{INFRA_APP_PROJECT_PREFIX}{app}"

# A federation's name is its namespace and its AppProject, which may hold Secrets, Roles and RoleBindings in
# that namespace: it must never be a namespace of Kubernetes itself, of the cluster's infrastructure or of the
# platform, whatever the platform's namePattern allows (loosening the pattern must not reopen one). Beyond
# these, loading.py reserves the platform's own names: its Argo CD namespace, its projects, its common apps
# and their namespaces. The infrastructure list is what mip-infra runs (ingress-nginx, cert-manager,
# monitoring, submariner, security) and what clusters commonly run; prefixes and suffixes catch families.
SYSTEM_NAMESPACES = frozenset({
    *RESERVED_NAMESPACES, ARGOCD_NAMESPACE, "cert-manager", "ingress-nginx", "monitoring", "security",
    "external-secrets",
    "submariner-operator", "submariner-k8s-broker", "keycloak", "vault", "velero", "kyverno", "logging",
    "prometheus", "grafana", "loki", "tigera-operator", "local-path-storage", "olm", "operators",
})
SYSTEM_NAMESPACE_PREFIXES = ("kube-", "openshift", "cattle-", "argocd-", "istio-", "gatekeeper-", "calico-")
SYSTEM_NAMESPACE_SUFFIXES = ("-system",)


def is_system_namespace(name: str) -> bool:
    return (name in SYSTEM_NAMESPACES or name.startswith(SYSTEM_NAMESPACE_PREFIXES)
            or name.endswith(SYSTEM_NAMESPACE_SUFFIXES))
