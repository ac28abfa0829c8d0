"""Names the platform owns and every module shares: written once here."""

from __future__ import annotations

# The file every mip-cmp directory holds (and Argo CD's discovery looks for).
FILE_NAME = "mip.yaml"

# Projects the platform itself owns; no federation may take their names.
INFRA_PROJECT = "mip-infrastructure"
FEDERATIONS_PROJECT = "mip-federations"
COMMON_PROJECT = "mip-common"
STATIC_PROJECTS = ("default", INFRA_PROJECT, FEDERATIONS_PROJECT, COMMON_PROJECT)
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Applications in the Argo CD namespace that are not `<federation>-<app>`; the root Application's name is
# also the `app.kubernetes.io/part-of` of what the root renders.
ROOT_APPLICATION = "mip-platform"
FEDERATIONS_APPSET = "mip-federations"
# Each federation's Application for its ExternalSecrets is `<federation>-secrets`.
SECRETS_APP = "secrets"

# Argo CD's and External Secrets' vocabulary that the expansion writes and the output gate checks.
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# A generated password must outlive Argo CD prunes and app deletion: losing it loses the database.
KEEP_ON_DELETE = ("Prune=false", "Delete=false")
GENERATORS_API = "generators.external-secrets.io/v1alpha1"
