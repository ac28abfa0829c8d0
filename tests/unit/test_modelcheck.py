"""modelcheck on its own: pydantic's errors said as located problems with the fix, one row per message."""

from __future__ import annotations

import pytest

from mip_cmp.core.errors import MipError
from mip_cmp.model.federation import Federation
from mip_cmp.model.platform import Platform
from mip_cmp.stage1_read.yamlsource import load
from mip_cmp.stage2_check.modelcheck import kind_of, to_model

FILE = "f/mip.yaml"
HEAD = "apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\n"
GOOD = HEAD + "name: federation-a\ncluster: in-cluster\napps:\n  exareme2: {}\n"


def problems(text: str) -> list[str]:
    doc = load(text, FILE)
    with pytest.raises(MipError) as caught:
        to_model(doc, kind_of(doc))
    return caught.value.lines()


def test_a_valid_federation() -> None:
    doc = load(GOOD, FILE)
    assert kind_of(doc) is Federation
    assert to_model(doc, Federation).name == "federation-a"


@pytest.mark.parametrize(("text", "expected"), [
    ("", ["f/mip.yaml:1:1: the file is empty (no YAML, only blank lines or comments); a mip.yaml starts with "
          "apiVersion: mip-cmp.io/v1alpha1 and a kind (Platform, Federation)"]),
    ("# nothing yet\n", ["f/mip.yaml:1:1: the file is empty (no YAML, only blank lines or comments); a mip.yaml "
                         "starts with apiVersion: mip-cmp.io/v1alpha1 and a kind (Platform, Federation)"]),
    ("~\n", ["f/mip.yaml:1:1: expected a mapping at the top level, found empty"]),
    ("kind: Federation\n", ["f/mip.yaml:1:1: apiVersion: required field is missing: a mip.yaml starts with "
                            "apiVersion: mip-cmp.io/v1alpha1"]),
    ("apiVersion: mip-cmp.io/v1alpha1\nname: x\n",
     ["f/mip.yaml:1:1: kind: required field is missing: one of Platform, Federation"]),
    ("apiVersion: v1\n", ["f/mip.yaml:1:13: apiVersion: must be mip-cmp.io/v1alpha1 (found 'v1')"]),
    ("apiVersion: mip-cmp.io/v1alpha1\nkind: [x]\n",
     ["f/mip.yaml:2:7: kind: must be one of Platform, Federation (found ['x'])"]),
    ("apiVersion: mip-cmp.io/v1alpha1\nkind: Fed\n",
     ["f/mip.yaml:2:7: kind: must be one of Platform, Federation (found 'Fed')"]),
    ("apiVersion: mip-cmp.io/v1alpha1\nkind: Platfrom\n",
     ["f/mip.yaml:2:7: kind: must be one of Platform, Federation (found 'Platfrom'); did you mean 'Platform'?"]),
    (HEAD + "name: federation-a\nclustr: in-cluster\napps: {exareme2: {}}\n",
     ["f/mip.yaml:4:1: clustr: unknown field; did you mean 'cluster'? (allowed: apiVersion, kind, name, cluster, "
      "type, state, publicHost, apps, peers)"]),
    (HEAD + "name: federation-a\napps: {exareme2: {}}\n", ["f/mip.yaml:1:1: cluster: required field is missing"]),
    (HEAD + "name: Federation_A\ncluster: c\napps: {exareme2: {}}\n",
     ["f/mip.yaml:3:7: name: must be a DNS label: lowercase letters, digits and '-', starting and ending "
      "alphanumeric"]),
    (HEAD + "name: federation-a\ncluster: 42\napps: {exareme2: {}}\n",
     ['f/mip.yaml:4:10: cluster: must be a string, not an integer; quote numbers that are names or commit SHAs: '
      '"42"']),
    (HEAD + "name: federation-a\ncluster: 1.10\napps: {exareme2: {}}\n",
     ['f/mip.yaml:4:10: cluster: must be a string, not a number; quote numbers that are versions or names, e.g. '
      '"1.10"']),
    (HEAD + "name: federation-a\ncluster: true\napps: {exareme2: {}}\n",
     ["f/mip.yaml:4:10: cluster: must be a string, not a boolean"]),
    (HEAD + "name: federation-a\ncluster: ~\napps: {exareme2: {}}\n",
     ["f/mip.yaml:4:10: cluster: must be a string, not null"]),
    (HEAD + "name: federation-a\ncluster: c\napps: {exareme2: {revision: 1234567}}\n",
     ['f/mip.yaml:5:29: apps.exareme2.revision: must be a string, not an integer; quote numbers that are names or '
      'commit SHAs: "1234567"']),
    (HEAD + "name: federation-a\ncluster: c\ntype: remote\napps: {exareme2: {}}\n",
     ["f/mip.yaml:5:7: type: must be 'local' or 'hybrid'"]),
    (HEAD + "name: federation-a\ncluster: c\napps: {}\n", ["f/mip.yaml:5:7: apps: must not be empty"]),
    (HEAD + "name: federation-a\ncluster: c\napps: [exareme2]\n",
     ["f/mip.yaml:5:7: apps: must be a mapping, not a list"]),
    (HEAD + "name: federation-a\ncluster: c\napps: {exareme2: {values: {a: 1}, valuez: {}}}\n",
     ["f/mip.yaml:5:35: apps.exareme2.valuez: unknown field; did you mean 'values'? (allowed: values, revision, "
      "version, ignoreDifferences, sync, overlay)"]),
    ("- a\n", ["f/mip.yaml:1:1: expected a mapping at the top level, found a list"]),
    # A field indented as a name of the mapping above it (`values` as an app): one problem, said as such.
    (HEAD + "name: federation-a\ncluster: c\napps:\n  exareme2:\n  values:\n    a: 1\n    b: 2\n",
     ["f/mip.yaml:7:3: apps.values: 'values' is indented as an entry of apps (a name), not as a field of one; "
      "indent it under the entry it belongs to ('exareme2', above it?)"]),
    (HEAD + "name: federation-a\ncluster: c\napps:\n  revision: v1\n",
     ["f/mip.yaml:6:3: apps.revision: 'revision' is indented as an entry of apps (a name), not as a field of "
      "one; indent it under the entry it belongs to"]),
])
def test_messages(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_the_top_level_must_be_a_mapping() -> None:
    with pytest.raises(MipError, match=r"f/mip.yaml:1:1: expected a mapping at the top level, found a list"):
        to_model(load("- a\n", FILE), Platform)
    with pytest.raises(MipError, match=r"f/mip.yaml: expected a mapping at the top level, found empty"):
        to_model(load("", FILE), Platform)


def test_unknown_fields_deep_in_the_platform_list_what_is_allowed_there() -> None:
    text = (
        "apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\nrepoURL: https://example.org/p.git\n"
        "argocd: {namespace: argocd}\nclusters: {in-cluster: https://kubernetes.default.svc}\n"
        "catalog:\n  x:\n    repoURL: https://example.org/x.git\n    path: .\n    revision: main\n"
        "    version: '1'\n    ignoreDifferences: [{kind: Deployment, jsonPointer: [/a]}]\n"
        "secrets:\n  s: {generated: {keys: [a], lenght: 3}}\n")
    assert problems(text) == [
        "f/mip.yaml:12:44: catalog.x.ignoreDifferences[0].jsonPointer: unknown field; did you mean 'jsonPointers'? "
        "(allowed: group, kind, name, jsonPointers, jqPathExpressions, managedFieldsManagers)",
        "f/mip.yaml:14:30: secrets.s.generated.lenght: unknown field; did you mean 'length'? (allowed: keys, length, "
        "digits, symbols, noUpper, allowRepeat)",
    ]
