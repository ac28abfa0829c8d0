"""redact on its own: what may be printed, and which literal values are credentials."""

from __future__ import annotations

import pytest

from mip_cmp.core.budget import MAX_MESSAGE_CHARS
from mip_cmp.core.redact import credential_value, scrub, scrub_path

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2  # shaped like a token, not one


@pytest.mark.parametrize(("text", "safe"), [
    ("plain message", "plain message"),
    ("key AKIAIOSFODNN7EXAMPLE here", "key <redacted> here"),
    (f"token {GITHUB_TOKEN}", "token <redacted>"),
    ("https://user:hunter2@git.example.org/x", "https://user:<redacted>@git.example.org/x"),
    ("db_password=hunter2 ok", "db_password=<redacted> ok"),
    ("a\nforged:1:1: line", "a\\nforged:1:1: line"),
    ("zero\x00width\u2028", "zero\\x00width\\u2028"),
    ("x" * 30, "x" * 30),  # long but not random-looking
    ("Q2xhc3NpYy1iYXNlNjQtc2VjcmV0LXZhbHVlMTIz", "<redacted>"),  # long and random-looking
])
def test_scrub(text: str, safe: str) -> None:
    assert scrub(text) == safe


@pytest.mark.parametrize(("path", "safe"), [
    # Directory and file names together look like one random token to scrub (letters, digits, slashes).
    ("federations/federation-a/overlays/exareme2/kustomization.yaml",
     "federations/federation-a/overlays/exareme2/kustomization.yaml"),
    ("federations/Q2xhc3NpYy1iYXNlNjQtc2VjcmV0LXZhbHVlMTIz/mip.yaml", "federations/<redacted>/mip.yaml"),
    ("federations/x\nforged:1:1: line/mip.yaml", "federations/x\\nforged:1:1: line/mip.yaml"),
])
def test_scrub_path_scrubs_each_part(path: str, safe: str) -> None:
    assert scrub("federations/federation-a/overlays/exareme2/kustomization.yaml") != \
        "federations/federation-a/overlays/exareme2/kustomization.yaml"  # why paths need their own
    assert scrub_path(path) == safe
    assert len(scrub_path("d/" * 1000)) == MAX_MESSAGE_CHARS


def test_scrub_caps_the_length() -> None:
    assert len(scrub("word " * 1000)) == MAX_MESSAGE_CHARS
    assert scrub("word " * 1000).endswith("...")


@pytest.mark.parametrize(("key", "value", "credential"), [
    ("password", "x", True),
    ("KEYCLOAK_PASSWORD", "S3cr3t!", True),
    ("password", " ", False),
    ("existingSecret", "mip-secret", False),  # a resource name
    ("clientSecret", "q8Zr2Lx7Vb4Nw1Ks", True),  # random-looking under a secret-ish key
    ("apiKey", "aaaaaaaaaaaaaaaa", False),  # not random-looking
    ("url", "postgresql://admin:pw@db/x", True),
    ("anything", GITHUB_TOKEN, True),
    ("replicas", "3", False),
])
def test_credential_value(key: str, value: str, credential: bool) -> None:
    assert credential_value(key, value) is credential
