"""Names the platform owns and every module shares: written once here."""

from __future__ import annotations

# Projects the platform itself owns; no federation may take their names.
INFRA_PROJECT = "mip-infrastructure"
FEDERATIONS_PROJECT = "mip-federations"
COMMON_PROJECT = "mip-common"
STATIC_PROJECTS = ("default", INFRA_PROJECT, FEDERATIONS_PROJECT, COMMON_PROJECT)
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Applications in the Argo CD namespace that are not `<federation>-<app>`.
ROOT_APPLICATION = "mip-platform"
# Each federation's Application for its ExternalSecrets is `<federation>-secrets`.
SECRETS_APP = "secrets"
