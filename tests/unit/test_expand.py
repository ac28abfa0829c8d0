"""stage3_expand/: the shapes every expansion builds from (stage3_expand.argocd), and what a federation's expansion takes
(expand.federation). The whole outputs are pinned by the golden cases; these are the rules behind them."""

from __future__ import annotations

from typing import Final

from helpers import SAMPLE_REPO
from mip_cmp.core.names import TOOL
from mip_cmp.core.vocabulary import APPLY_OUT_OF_SYNC_ONLY, CREATE_NAMESPACE, FINALIZER, MANAGED_BY
from mip_cmp.model.application import AppSync
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.stage3_expand.argocd import generate_paths, meta, sync_policy, synced
from mip_cmp.stage3_expand.federation import federation_apps, federation_secrets

PRUNE_LAST: Final = "PruneLast=true"


def loaded() -> tuple[object, list[object]]:
    repo = Repo(SAMPLE_REPO, remember=True)
    platform = load_platform(repo)
    return platform, list(load_federations(repo, platform))


def test_every_object_is_signed_by_the_tool_and_finalizers_only_when_asked() -> None:
    assert meta("n", "ns", {"a": "b"}) == {"name": "n", "namespace": "ns", "labels": {MANAGED_BY: TOOL, "a": "b"}}
    assert meta("n", "ns", {}, {"x": "y"}, finalizers=True)["finalizers"] == [FINALIZER]


def test_a_sync_policy_creates_its_namespace_and_retries() -> None:
    policy = sync_policy({"name": "ns"}, prune=False)
    assert policy["automated"] == {"prune": False, "selfHeal": True}
    assert policy["syncOptions"] == [CREATE_NAMESPACE, APPLY_OUT_OF_SYNC_ONLY]
    assert policy["retry"]["limit"] > 0
    assert policy["managedNamespaceMetadata"] == {"labels": {"name": "ns"}}
    assert "managedNamespaceMetadata" not in sync_policy(None)


def test_sync_options_add_up_once_and_the_last_prune_wins() -> None:
    platform, _ = loaded()
    p = platform.model  # type: ignore[attr-defined]
    policy = synced(p, [AppSync(prune=False, options=[PRUNE_LAST]), AppSync(prune=True, options=[PRUNE_LAST])],
                    None)
    assert policy["automated"]["prune"] is True
    assert policy["syncOptions"].count(PRUNE_LAST) == 1 and policy["syncOptions"][0] == CREATE_NAMESPACE


def test_a_federations_apps_rerender_on_its_own_directory_and_the_platform_file_only() -> None:
    assert generate_paths("federations/federation-a") == "/mip.yaml;/federations/federation-a"


def test_the_secrets_a_federation_needs_are_those_of_its_apps() -> None:
    platform, federations = loaded()
    p = platform.model  # type: ignore[attr-defined]
    for fed in federations:
        f = fed.model  # type: ignore[attr-defined]
        assert federation_secrets(p, f) == sorted({s for app in f.apps for s in p.catalog[app].secrets})


def test_the_revision_given_is_the_one_every_source_back_into_the_repository_uses() -> None:
    platform, federations = loaded()
    apps = federation_apps(platform, federations[0], "abc123")  # type: ignore[arg-type]
    revisions = {src.get("targetRevision") for app in apps
                 for src in [app["spec"].get("source", {}), *app["spec"].get("sources", [])]
                 if src.get("repoURL") == platform.model.repoURL}  # type: ignore[attr-defined]
    assert revisions <= {"abc123"}
