"""Shared set-up of the lifecycle tests: a platform repository and Argo CD simulated over it from day one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from argosim import Crd, Simulation, load_crds
from helpers import SAMPLE_REPO
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_platform
from mip_cmp.tools.bootstrap import bootstrap_objects

FIXTURES = Path(__file__).parents[1] / "fixtures"


def crds(argocd_version: str) -> list[Crd]:
    """The CRDs Argo CD `argocd_version` installs, with the External Secrets Operator's beside them, and the
    ServiceExport of a cluster in a Submariner clusterset (the simulated Submariner apps are stand-ins that
    install nothing; on a real cluster its operator installs it)."""
    current = load_crds(FIXTURES / "crds")
    argocd = current if argocd_version == "v3.5.1" else load_crds(FIXTURES / f"argo-cd-{argocd_version}" / "crds")
    return [c for c in argocd if c.group == "argoproj.io"] + \
        [c for c in current if "external-secrets" in c.group or c.group == "multicluster.x-k8s.io"]


def platform_repo(tmp_path: Path, federations: int | None = None) -> Path:
    """A copy of sample-repo/; with `federations`, its federations replaced by that many small ones, half of
    them on the second cluster."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    if federations is not None:
        shutil.rmtree(repo / "federations")
        for i in range(federations):
            write_federation(repo, f"federation-{i:02d}", cluster="mip-public" if i % 2 else "in-cluster")
    return repo


def write_federation(repo: Path, name: str, *, cluster: str = "in-cluster", directory: str | None = None,
                     extra: str = "") -> Path:
    path = repo / "federations" / (directory or name) / "mip.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: {name}\ncluster: {cluster}\n"
                    f"{extra}apps:\n  exareme2: {{}}\n  mip-stack: {{}}\n")
    return path


def set_platform(repo: Path, **changes: Any) -> None:
    """Change top-level sections of the platform mip.yaml (merged one level deep)."""
    path = repo / "mip.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def simulate(repo: Path, argocd_version: str = "v3.1.12") -> Simulation:
    """Argo CD `argocd_version` on clusters holding only its CRDs and ESO's, after the admin's bootstrap."""
    platform = load_platform(Repo(repo)).model
    servers = [platform.argocd.server, *sorted(set(platform.clusters.values()) - {platform.argocd.server})]
    sim = Simulation(repo, repo_url=platform.repoURL, plugin=platform.argocd.pluginName,
                     argocd_namespace=platform.argocd.namespace, servers=servers,
                     crds=crds(argocd_version))
    sim.kubectl_apply(bootstrap_objects(repo, None, "main"))
    return sim
