"""Which Argo CD release understands which field mip-cmp could emit.

The platform declares the Argo CD it runs (`argocd.version`). Fields an older release does not know are not
merely ignored: the API server prunes them against that release's CRD schema, so a restriction written in
such a field silently becomes no restriction. The expansion therefore emits a feature only where the
declared version has it, and `validate` lists what a newer release would add.
"""

from __future__ import annotations

from dataclasses import dataclass

# The oldest release mip-cmp is tested against (tests/schemas/argo-cd-v3.1.12); also the model's default.
OLDEST_SUPPORTED = "v3.1.12"

Version = tuple[int, int, int]


def parse(version: str) -> Version:
    """`v3.1.12` -> (3, 1, 12); the model's pattern guarantees the shape."""
    major, minor, patch = (int(part) for part in version.lstrip("v").split("."))
    return major, minor, patch


@dataclass(frozen=True)
class Feature:
    since: str  # the first Argo CD release whose CRDs and controller know it
    what: str  # what the output gains, said to an admin

    def supported_by(self, version: str) -> bool:
        return parse(version) >= parse(self.since)


# clusterResourceWhitelist[].name (AppProject CRD and IsGroupKindNamePermitted, Argo CD v3.3.0). Before it,
# an entry's `name` is pruned and the entry then allows every Namespace.
NAMED_CLUSTER_RESOURCES = Feature(
    "v3.3.0", "each project's Namespace whitelist names its own namespaces (clusterResourceWhitelist[].name), "
              "so no chart can create or relabel another namespace")

FEATURES = (NAMED_CLUSTER_RESOURCES,)


def too_old(version: str) -> bool:
    return parse(version) < parse(OLDEST_SUPPORTED)


def newer_would_add(version: str) -> list[str]:
    """One line per feature the declared version lacks, for `validate`."""
    return [f"Argo CD {f.since} or newer would add: {f.what}; nothing to fix: if your Argo CD is {f.since} or "
            f"newer, set argocd.version in the platform mip.yaml to it to get this"
            for f in FEATURES if not f.supported_by(version)]
