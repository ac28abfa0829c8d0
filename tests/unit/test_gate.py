"""The gate on its own: who is to blame when the gate refuses. A refused object is a bug in the expansion
(InternalError, exit 3, "please report it"); an empty render is the author's to fix (exit 1).
tests/security/test_gate.py breaks the sample's real output in every way the gate must catch."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import SAMPLE_REPO
from mip_cmp.core.errors import EXIT_BUG, EXIT_INPUT, InternalError, MipError
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federation, load_platform
from mip_cmp.stage3_expand.federation import federation_apps
from mip_cmp.stage4_gate import check_federation_output, check_platform_output

REPO = Repo(SAMPLE_REPO)
PLATFORM = load_platform(REPO)
FED = load_federation(REPO, "federations/federation-a")


def objects() -> list[dict[str, Any]]:
    return federation_apps(PLATFORM, FED, "HEAD")


def test_the_sample_passes() -> None:
    check_federation_output(PLATFORM.model, FED.model, FED.directory, "", objects())


def test_a_refused_object_is_a_bug_located_at_the_federation_file() -> None:
    broken = [*objects(), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"}}]
    with pytest.raises(InternalError) as caught:
        check_federation_output(PLATFORM.model, FED.model, FED.directory, "", broken)
    assert caught.value.exit_code == EXIT_BUG
    assert str(caught.value.problems[0]) == ("federations/federation-a/mip.yaml: refusing to emit Secret x/s: kind "
                                            "not allowed from a federation directory")


def test_a_refused_platform_object_is_a_bug_too() -> None:
    with pytest.raises(InternalError, match=r"^mip.yaml: refusing to emit Secret None/s: kind not allowed"):
        check_platform_output(PLATFORM.model, [{"kind": "Secret", "metadata": {"name": "s"}}])


def test_an_empty_render_is_the_authors() -> None:
    with pytest.raises(MipError) as caught:
        check_federation_output(PLATFORM.model, FED.model, FED.directory, "secrets", [])
    assert not isinstance(caught.value, InternalError)
    assert caught.value.exit_code == EXIT_INPUT
