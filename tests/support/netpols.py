"""The NetworkPolicies a platform yields, for the tests that evaluate them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.tools.renders import app_renders


def network_policies(repo_root: Path) -> list[dict[str, Any]]:
    """Every NetworkPolicy the platform in `repo_root` yields, through its `<name>-network` Applications
    rendered as Argo CD renders them."""
    repo = Repo(repo_root)
    platform = load_platform(repo)
    federations = load_federations(repo, platform)
    policies: list[dict[str, Any]] = []
    for name, env in app_renders(platform, federations):
        if name.endswith("-network"):
            policies += render_objects(repo, ".", env, platform)
    return policies
