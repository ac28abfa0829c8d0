"""The words of the systems mip-cmp writes for (Argo CD, External Secrets, Kubernetes) and mip-cmp's own labels
on what it writes: each spelled here once, imported by the expansion, the gate and the tools alike.

`names` holds what the platform names (its file, projects, Applications); this module holds what the outside
defines, so a new Argo CD or External Secrets version changes one line here.
"""

from __future__ import annotations

from typing import Any, Final

# A Kubernetes object, or a part of one, as plain data (what the expansion builds and the tools read).
Obj = dict[str, Any]

# --- API versions and groups ---------------------------------------------------------------------------------
ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"
ARGO_API = f"{ARGO_GROUP}/{ARGO_VERSION}"
ESO_GROUP, ESO_VERSION = "external-secrets.io", "v1"
ESO_API = f"{ESO_GROUP}/{ESO_VERSION}"
GENERATORS_GROUP, GENERATORS_VERSION = f"generators.{ESO_GROUP}", "v1alpha1"
GENERATORS_API = f"{GENERATORS_GROUP}/{GENERATORS_VERSION}"
NETWORK_GROUP = "networking.k8s.io"
NETWORK_API = f"{NETWORK_GROUP}/v1"
# The kinds External Secrets gives mip-cmp: a secret read from the store, and a password made once.
SECRET_KINDS = [(ESO_GROUP, "ExternalSecret"), (GENERATORS_GROUP, "Password")]

# --- Argo CD -------------------------------------------------------------------------------------------------
# The cluster Argo CD itself runs on, by the name and the server Argo CD gives it.
IN_CLUSTER = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
# The file by which Argo CD's repo-server tells a Helm chart directory from plain manifests.
HELM_CHART_FILE = "Chart.yaml"
# Where Argo CD is installed unless the platform says otherwise.
ARGOCD_NAMESPACE = "argocd"
FINALIZER = f"resources-finalizer.argocd.{ARGO_GROUP}"
SYNC_OPTIONS = f"argocd.{ARGO_GROUP}/sync-options"
SYNC_WAVE = f"argocd.{ARGO_GROUP}/sync-wave"
# With a git webhook, Argo CD re-renders an app on a push only if these paths changed.
GENERATE_PATHS = f"argocd.{ARGO_GROUP}/manifest-generate-paths"

# Sync options (the `syncOptions` of an Application, or the annotation on one object).
CREATE_NAMESPACE = "CreateNamespace=true"
APPLY_OUT_OF_SYNC_ONLY: Final = "ApplyOutOfSyncOnly=true"  # Final: also a value of model.SyncOption
PRUNE_FALSE = "Prune=false"
DELETE_FALSE = "Delete=false"
PRUNE_LAST: Final = "PruneLast=true"  # Final: also a value of model.SyncOption
# A generated password must outlive Argo CD prunes and app deletion: losing it loses the database.
KEEP_ON_DELETE = (PRUNE_FALSE, DELETE_FALSE)

# Argo CD's application controller removes an empty `helm`, `kustomize` or `directory` block from every
# Application it reconciles (NormalizeSource, IsZero) and writes it back: one in the output would differ from
# the live Application for ever, and self-heal would re-apply it for ever.
SOURCE_TYPE_BLOCKS = ("helm", "kustomize", "directory")


def empty_block(value: object) -> bool:
    """Argo CD's IsZero of a source type block: a mapping whose every field is at its zero value."""
    return isinstance(value, dict) and not any(value.values())


# --- Kubernetes' recommended labels --------------------------------------------------------------------------
PART_OF = "app.kubernetes.io/part-of"
APP_NAME = "app.kubernetes.io/name"
APP_VERSION = "app.kubernetes.io/version"
MANAGED_BY = "app.kubernetes.io/managed-by"
# Set by Kubernetes itself on every namespace, immutable: what a NetworkPolicy selects a namespace by.
NAMESPACE_NAME = "kubernetes.io/metadata.name"

# --- mip-cmp's own labels on what it writes ------------------------------------------------------------------
FEDERATION_LABEL = "mip-cmp.io/federation"
NAMESPACE_TYPE = "mip-cmp.io/namespace-type"
FEDERATION_TYPE = "mip-cmp.io/federation-type"
