"""What Argo CD fixes and this imitation follows: its API group, the finalizer, timeouts and limits, the
cluster facts a request carries; and HarnessError, for anything Argo CD would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
PLUGIN_YAML = REPO_ROOT / "plugin.yaml"

ARGO_API = "argoproj.io/v1alpha1"
PLUGIN_KIND = "ConfigManagementPlugin"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
DEFAULT_TIMEOUT = 60.0  # --repo-server-timeout-seconds: the caller's whole budget
CMP_TIMEOUT_BUFFER = 0.1  # the sidecar stops its commands this long before the caller's deadline
KILL_GRACE = 5.0  # SIGTERM to the process group, then SIGKILL this much later
MAX_OUTPUT_BYTES = 100 * 1024 * 1024  # ARGOCD_GRPC_MAX_SIZE_MB bounds the whole response
MAX_APPS = 500  # follow() guard: an app-of-apps that never ends is a bug
DEFAULT_KUBE_VERSION = "1.30.2"
_API_RESOURCES = {
    "v1": ("ConfigMap", "Namespace", "Secret", "Service", "ServiceAccount"),
    "apps/v1": ("Deployment", "StatefulSet"),
    ARGO_API: ("AppProject", "Application", "ApplicationSet"),
    "external-secrets.io/v1": ("ClusterSecretStore", "ExternalSecret", "SecretStore"),
    "generators.external-secrets.io/v1alpha1": ("Password",),
}
# KUBE_API_VERSIONS lists "group/version" and "group/version/Kind", sorted (APIResourcesToStrings).
DEFAULT_API_VERSIONS = tuple(sorted(
    {*_API_RESOURCES} | {f"{gv}/{kind}" for gv, kinds in _API_RESOURCES.items() for kind in kinds}
))


class HarnessError(Exception):
    """Something Argo CD would refuse: plugin config, workspace, discovery, output, ApplicationSet, app."""


@dataclass(frozen=True)
class ClusterInfo:
    """What the repo-server knows about the destination cluster and the control plane."""

    kube_version: str = DEFAULT_KUBE_VERSION
    api_versions: tuple[str, ...] = DEFAULT_API_VERSIONS
    controller_namespace: str | None = None  # None: every Application lives in the control-plane namespace


DEFAULT_CLUSTER = ClusterInfo()
