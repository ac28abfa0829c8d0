"""What an admin creates once: the infrastructure AppProject and the root Application.

Printing needs nothing but the platform file. `--apply` server-side applies the same objects with the
kubernetes client, which is imported here only, never on the generate path.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.errors import MipError
from ..stage1_read.repo import Repo
from ..stage2_check.loading import load_platform
from ..stage3_expand.platform import infrastructure_project, root_application

FIELD_MANAGER = "mip-cmp-bootstrap"


def bootstrap_objects(repo_dir: Path, repo_url: str | None, revision: str) -> list[dict[str, Any]]:
    platform = load_platform(Repo(repo_dir)).model
    if repo_url is not None and repo_url != platform.repoURL:
        raise MipError(
            f"--repo-url {repo_url!r} differs from the platform's repoURL {platform.repoURL!r}; the root "
            "Application must pull the repository its mip.yaml names (change repoURL there, or drop --repo-url)"
        )
    return [infrastructure_project(platform), root_application(platform, revision)]


def apply(objects: list[dict[str, Any]]) -> Iterator[str]:
    """Server-side apply each object (idempotent); yields one line per object applied."""
    try:
        from kubernetes import config, dynamic
        from kubernetes.client import api_client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.dynamic.exceptions import ResourceNotFoundError
    except ImportError:
        raise MipError("--apply needs the kubernetes client: pip install 'mip-cmp[cluster]'") from None
    try:
        # The client prints its fallback notes to stdout; stdout is reserved for manifests.
        with contextlib.redirect_stdout(io.StringIO()):
            config.load_config()  # type: ignore[no-untyped-call]
    except ConfigException as exc:
        raise MipError(f"cannot reach a cluster: no usable kubeconfig or in-cluster config ({exc})") from None
    try:
        client = dynamic.DynamicClient(api_client.ApiClient())  # type: ignore[no-untyped-call]
    except Exception as exc:  # urllib3 and the client raise many kinds of connection errors
        raise MipError(f"cannot reach the cluster's API server: {exc}") from None
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        try:
            resource = client.resources.get(api_version=obj["apiVersion"], kind=kind)
        except ResourceNotFoundError:
            raise MipError(
                f"the cluster does not serve {obj['apiVersion']} {kind}: install Argo CD (its CRDs) first"
            ) from None
        try:
            resource.server_side_apply(body=obj, name=meta["name"], namespace=meta["namespace"],
                                       field_manager=FIELD_MANAGER, force_conflicts=True)
        except ApiException as exc:
            if exc.status == 404:
                raise MipError(
                    f"namespace {meta['namespace']!r} does not exist: install Argo CD into it first"
                ) from None
            raise MipError(f"applying {kind} {meta['name']} failed: {exc.status} {exc.reason}") from None
        yield f"applied {kind} {meta['namespace']}/{meta['name']}"
