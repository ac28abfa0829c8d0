"""The schema as authors meet it: in an editor (the real yaml-language-server, over stdio, as VS Code and
Neovim run it) and in a generic JSON Schema validator (the `jsonschema` package, as CI linters use it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers import REPO_ROOT, SAMPLE_REPO
from mip_cmp.contract.schema import SCHEMA_ID
from yls import WHY_NOT, LanguageServer

SCHEMA_FILE = REPO_ROOT / "schema" / "mip.schema.json"
SAMPLES = [SAMPLE_REPO / "mip.yaml", *sorted(SAMPLE_REPO.glob("federations/*/mip.yaml"))]
MODELINE = f"# yaml-language-server: $schema={SCHEMA_ID}"


def _local_copy(sample: Path, tmp_path: Path) -> Path:
    """The sample with its modeline pointing at the committed schema file instead of the published URL (the
    tests fetch nothing); everything else byte for byte."""
    text = sample.read_text()
    assert text.startswith(MODELINE + "\n"), f"{sample}: the sample's first line is the modeline"
    copy = tmp_path / sample.relative_to(SAMPLE_REPO)
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text.replace(SCHEMA_ID, SCHEMA_FILE.as_uri(), 1))
    return copy


def _mistype(path: Path, good: str, bad: str) -> int:
    """Replace the first line holding `good` with `bad` in its place; the 1-based line changed."""
    lines = path.read_text().split("\n")
    number = next(i for i, line in enumerate(lines) if good in line)
    lines[number] = lines[number].replace(good, bad, 1)
    path.write_text("\n".join(lines))
    return number + 1


@pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)
def test_the_editor_accepts_the_samples_and_finds_a_mistake_at_its_line(tmp_path: Path) -> None:
    copies = [_local_copy(sample, tmp_path) for sample in SAMPLES]
    mistaken = tmp_path / "federations" / "federation-b" / "mip.yaml"
    mistaken.parent.mkdir()
    shutil.copy(copies[1], mistaken)
    typo = _mistype(mistaken, "cluster: in-cluster", "clustr: in-cluster")
    wrong_type = _mistype(mistaken, "values: {log_level: DEBUG}", "values: [log_level]")
    with LanguageServer() as server:
        for copy in copies:
            assert server.diagnostics(copy) == [], copy.relative_to(tmp_path)
        found = server.diagnostics(mistaken)
    # Each mistake at its line, in the Federation's own terms (the mapping's first line misses `cluster`, as
    # the typo took it away); nothing about the Platform's fields.
    assert sorted((d.line, d.message) for d in found) == [
        (2, 'Missing property "cluster".'),
        (typo, "Property clustr is not allowed."),
        (wrong_type, 'Incorrect type. Expected "Values".'),
    ]


def test_a_generic_validator_reports_a_federation_files_own_mistakes() -> None:
    """Discriminated by `kind`: a Federation file is checked against the Federation fields only, so a
    generic validator names its missing field, not the Platform's."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    for sample in SAMPLES:
        assert list(validator.iter_errors(yaml.safe_load(sample.read_text()))) == [], sample
    federation = yaml.safe_load((SAMPLE_REPO / "federations" / "federation-a" / "mip.yaml").read_text())
    del federation["cluster"]
    messages = [e.message for e in validator.iter_errors(federation)]
    assert messages == ["'cluster' is a required property"]
    messages = [e.message for e in validator.iter_errors({**federation, "kind": "Platfrom"})]
    assert messages == ["'Platfrom' is not one of ['Platform', 'Federation']"]
