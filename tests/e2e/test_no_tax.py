"""No tax on the other apps of the same Argo CD: plugin.yaml declares no `discover`, so an Application that
names no source type is rendered by Argo CD's own detection without the repository ever being streamed to
mip-cmp's sidecar, and a stray mip.yaml in such an app's directory claims nothing."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from e2e.cluster import ARGOCD_NAMESPACE, Cluster
from e2e.platform_repo import BRANCH, SAMPLE_REPO, Apps, Argo, PlatformRepo, synced_to

NAMESPACE = "no-tax"
# The sidecar's calls that carry the repository (a tarball of it): asking whether it claims an app, and
# rendering. CheckPluginConfiguration, which only reads plugin.yaml's settings, is all that may be asked.
STREAMING_CALLS = ("MatchRepository", "GenerateManifest")


def sidecar_calls(cluster: Cluster) -> collections.Counter[str]:
    """The gRPC calls argocd-cmp-server finished, by method, from its log (one JSON object a line)."""
    calls: collections.Counter[str] = collections.Counter()
    for line in (cluster.logs / "argocd-cmp-server.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and '"finished call"' in line:
            calls[json.loads(line).get("grpc.method", "")] += 1
    return calls


def kustomize_dir(path: Path, name: str) -> None:
    path.mkdir(parents=True)
    (path / "kustomization.yaml").write_text("resources: [config.yaml]\n")
    (path / "config.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  from: kustomize\n")


def application(name: str, repo_url: str) -> dict[str, object]:
    """An Application as any other team writes it: no plugin, no kustomize block (auto-detected)."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": ARGOCD_NAMESPACE},
            "spec": {"project": NAMESPACE,
                     "source": {"repoURL": repo_url, "path": name, "targetRevision": BRANCH},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
                     "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}}


def test_an_auto_detected_kustomize_app_never_reaches_the_sidecar(empty_cluster: Cluster, tmp_path: Path) -> None:
    source = tmp_path / "source"
    kustomize_dir(source / "plain", "plain")
    kustomize_dir(source / "stray", "stray")
    (source / "stray" / "mip.yaml").write_text((SAMPLE_REPO / "federations" / "federation-a" / "mip.yaml").read_text())
    repo = PlatformRepo(empty_cluster, tmp_path / "work", "no-tax").create(source, "two kustomize apps")
    before = sidecar_calls(empty_cluster)
    empty_cluster.apply([
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
         "metadata": {"name": NAMESPACE, "namespace": ARGOCD_NAMESPACE},
         "spec": {"sourceRepos": [repo.url], "destinations": [{"server": "*", "namespace": NAMESPACE}],
                  "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]}},
        application("plain", repo.url), application("stray", repo.url)])
    head = repo.head()

    def both_synced(apps: Apps) -> bool:
        return all(n in apps and synced_to(apps[n], head) for n in ("plain", "stray"))

    apps = Argo(empty_cluster).wait("both kustomize apps Synced", both_synced)
    assert {n: apps[n]["status"].get("sourceType") for n in ("plain", "stray")} == {
        "plain": "Kustomize", "stray": "Kustomize"}
    for name in ("plain", "stray"):
        assert empty_cluster.get("configmaps", name, NAMESPACE)["data"] == {"from": "kustomize"}
    after = sidecar_calls(empty_cluster)
    streamed = {m: after[m] - before[m] for m in STREAMING_CALLS if after[m] != before[m]}
    assert not streamed, f"the repository was streamed to mip-cmp's sidecar for apps that do not name it: {streamed}"
