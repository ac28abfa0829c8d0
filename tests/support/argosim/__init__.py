"""A simulation of Argo CD syncing the whole platform, from the bootstrap objects on empty clusters.

One module per Argo CD piece: kube (the API servers and the controllers whose effects Argo CD sees),
project (AppProject checks), reposerver (manifests: mip-cmp in-process, charts as stand-ins), sync (one sync
operation: permissions, CreateNamespace, waves, prune), appset (the ApplicationSet controller) and
controller (the application controller, and the loop that runs them all until nothing changes).
"""

from .controller import AppStatus, Simulation
from .kube import ApiError, Cluster, Crd, load_crds

__all__ = ["ApiError", "AppStatus", "Cluster", "Crd", "Simulation", "load_crds"]
