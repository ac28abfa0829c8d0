"""loading on its own: the checks that need the platform and its federations together, one row each."""

from __future__ import annotations

from pathlib import Path

import pytest

from mip_cmp.core.errors import MipError
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_bound_federation, load_federation, load_federations, load_platform

PLATFORM = """\
apiVersion: mip-cmp.io/v1alpha1
kind: Platform
repoURL: https://example.org/p.git
argocd: {namespace: argocd}
clusters: {in-cluster: https://kubernetes.default.svc}
secretStore: {kind: ClusterSecretStore, name: store}
secrets:
  creds: {fromStore: {key: k, properties: [a]}}
catalog:
  engine: {repoURL: https://example.org/e.git, path: ., revision: main, version: '1', secrets: [creds]}
commonApps:
  catalogue: {repoURL: https://example.org/c.git, path: ., revision: main, version: '1', namespace: common-cat}
federations: {path: feds, namePattern: '^[a-z][-a-z0-9]*$'}
"""
# An infrastructure app, without its `secrets`.
PROXY = "namespace: prx, source: {path: proxy}, namespaceKinds: [{kind: Service}]"
FED = "apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: {name}\ncluster: in-cluster\napps: {{engine: {{}}}}\n"


def repo(tmp_path: Path, platform: str = PLATFORM, **federations: str) -> Repo:
    (tmp_path / "mip.yaml").write_text(platform)
    for directory, text in federations.items():
        (tmp_path / "feds" / directory).mkdir(parents=True)
        (tmp_path / "feds" / directory / "mip.yaml").write_text(text)
    return Repo(tmp_path)


def platform_problems(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in PLATFORM
    with pytest.raises(MipError) as caught:
        load_platform(repo(tmp_path, PLATFORM.replace(old, new)))
    return caught.value.lines()


def test_the_platform_and_a_federation_load(tmp_path: Path) -> None:
    r = repo(tmp_path, **{"federation-a": FED.format(name="federation-a")})
    platform = load_platform(r)
    [fed] = load_federations(r, platform)
    assert (fed.model.name, fed.directory) == ("federation-a", "feds/federation-a")
    full = load_bound_federation(r, platform, "feds/federation-a",
                                 BuildEnv(params={"federation": "federation-a"})).model
    # The root keeps of each federation what it renders from (loading._summary): no values, no publicHost.
    assert fed.model == full.model_copy(update={"apps": dict.fromkeys(full.apps), "publicHost": None})


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("namePattern: '^[a-z][-a-z0-9]*$'", "namePattern: '['",
     "mip.yaml:13:40: federations.namePattern: not a valid regular expression: unterminated character set at "
     "position 0"),
    ("secretStore: {kind: ClusterSecretStore, name: store}\n", "",
     "mip.yaml:7:22: secrets.creds.fromStore: needs a platform `secretStore` to read from"),
    ("secrets: [creds]", "secrets: [nope]",
     "mip.yaml:10:97: catalog.engine.secrets[0]: unknown secret 'nope'; define it under `secrets` (defined: creds)"),
    ("  engine: {", "  secrets: {",
     "mip.yaml:10:3: catalog.secrets: the app name 'secrets' is reserved: every federation's `<name>-secrets` "
     "Application uses it"),
    ("  engine: {", "  x-engine: {repoURL: https://example.org/e.git, path: ., revision: main, version: '1'}\n"
                    "  engine: {",
     "mip.yaml:10:3: catalog.x-engine: the app name must not end in '-engine': federation F's Application F-x-engine "
     "could be another federation's Application for 'engine'"),
    ("namespace: common-cat}", "namespace: common-cat, cluster: mars}",
     "mip.yaml:12:122: commonApps.catalogue.cluster: unknown cluster 'mars'; the platform's clusters are: in-cluster"),
    ("namespace: common-cat}", "namespace: kube-system}",
     "mip.yaml:12:101: commonApps.catalogue.namespace: namespace 'kube-system' is reserved; pick the app its own "
     "namespace"),
    ("version: '1', secrets: [creds]}", "version: '1', secrets: [creds], values: {db: {password: hunter2}}}",
     "mip.yaml:10:129: catalog.engine.values.db.password: looks like a credential; mip.yaml must never hold secret "
     "values: have the app use a platform `secrets` entry (an ExternalSecret) instead"),
    ("kind: Platform", "kind: Federation",
     "mip.yaml:2:7: kind: the repository root must hold the Platform mip.yaml"),
    ("federations: {", f"infrastructure:\n  proxy: {{{PROXY}, secrets: [cred]}}\nfederations: {{",
     "mip.yaml:14:95: infrastructure.proxy.secrets[0]: unknown secret 'cred'; define it under `secrets` "
     "(defined: creds); did you mean 'creds'?"),
    ("federations: {", f"infrastructure:\n  proxy: {{{PROXY}, secrets: [creds]}}\n  proxy-secrets: {{{PROXY}}}\n"
                       "federations: {",
     "mip.yaml:14:94: infrastructure.proxy.secrets: its Application proxy-secrets would have the name of another "
     "Application of the platform"),
])
def test_platform_problems(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert platform_problems(tmp_path, old, new)[0] == expected


@pytest.mark.parametrize(("federations", "expected"), [
    ({"a": FED.format(name="federation-a"), "b": FED.format(name="federation-a")},
     "feds/b/mip.yaml:3:7: name: duplicate federation name 'federation-a'; already declared in feds/a/mip.yaml:3:7"),
    ({"a": FED.format(name="argocd")}, "feds/a/mip.yaml:3:7: name: 'argocd' is reserved for Kubernetes, the "
                                       "cluster's infrastructure or the platform itself; choose another name"),
    ({"a": FED.format(name="x-engine")}, "feds/a/mip.yaml:3:7: name: 'x-engine' would collide with the Application "
                                         "of app 'engine' of a federation 'x'; choose another name"),
    ({"a": FED.format(name="catalogue").replace("engine", "x")},
     "feds/a/mip.yaml:3:7: name: 'catalogue' is reserved for Kubernetes, the cluster's infrastructure or the platform itself; choose another name"),
    ({"a": FED.format(name="federation-a").replace("kind: Federation", "kind: Platform")},
     "feds/a/mip.yaml:2:7: kind: a federation directory must hold a Federation mip.yaml"),
])
def test_federation_problems(tmp_path: Path, federations: dict[str, str], expected: str) -> None:
    """Each row's problem is among those reported (a directory named otherwise than its federation is one more)."""
    r = repo(tmp_path, **federations)
    with pytest.raises(MipError) as caught:
        load_federations(r, load_platform(r))
    assert any(line.startswith(expected) for line in caught.value.lines()), caught.value.lines()


def test_a_federation_directory_must_not_hold_argo_cd_overrides(tmp_path: Path) -> None:
    r = repo(tmp_path, a=FED.format(name="federation-a"))
    (tmp_path / "feds/a/.argocd-source.yaml").write_text("plugin: null\n")
    expected = r"^feds/a/.argocd-source.yaml: not allowed anywhere in the repository"
    with pytest.raises(MipError, match=expected):
        load_federation(r, "feds/a")
    # The root keeps the federation (its project and wrapper); its own render shows the problem.
    (fed,) = load_federations(r, load_platform(r))
    assert fed.model.name == "federation-a"


def test_overrides_outside_federation_directories_stop_every_render(tmp_path: Path) -> None:
    """Outside the federations' directories only admins write: the platform itself refuses to load."""
    r = repo(tmp_path, a=FED.format(name="federation-a"))
    (tmp_path / "feds/a/.argocd-source.yaml").write_text("plugin: null\n")  # federation-a's own problem
    (tmp_path / ".argocd-source-federation-a.yaml").write_text("plugin: null\n")
    (tmp_path / "feds/.argocd-source.yaml").write_text("plugin: null\n")
    with pytest.raises(MipError) as caught:
        load_platform(r)
    assert [line.split(": ")[0] for line in caught.value.lines()] == [".argocd-source-federation-a.yaml",
                                                                      "feds/.argocd-source.yaml"]
    assert "not allowed anywhere in the repository" in caught.value.lines()[0]


@pytest.mark.parametrize(("rel", "federation", "expected"), [
    ("other/a", "", "other/a/mip.yaml: not a federation directory: federations live directly under feds/ (see "
                    "federations.path in the platform mip.yaml)"),
    ("feds/../feds/a", "", "feds/../feds/a/mip.yaml: not a federation directory: federations live directly under "
                           "feds/ (see federations.path in the platform mip.yaml)"),
    ("feds/federation-a", "federation-b", "feds/federation-a/mip.yaml:3:7: name: this directory is bound to federation "
     "'federation-b' by the platform; it cannot declare 'federation-a' (rename it in the platform first)"),
])
def test_binding(tmp_path: Path, rel: str, federation: str, expected: str) -> None:
    r = repo(tmp_path, a=FED.format(name="federation-a"), **{"federation-a": FED.format(name="federation-a")})
    with pytest.raises(MipError) as caught:
        load_bound_federation(r, load_platform(r), rel, BuildEnv(params={"federation": federation}))
    assert caught.value.lines() == [expected]


def test_a_directory_named_otherwise_is_a_warning_not_an_error(tmp_path: Path) -> None:
    from mip_cmp.stage2_check.crosscheck import directory_name_warnings

    r = repo(tmp_path, a=FED.format(name="federation-a"), **{"federation-b": FED.format(name="federation-b")})
    feds = {f.directory: f for f in load_federations(r, load_platform(r))}
    a, b = feds["feds/a"], feds["feds/federation-b"]
    assert [str(w) for w in directory_name_warnings(a.model, a.doc, a.directory)] == [
        "feds/a/mip.yaml:3:7: name: 'federation-a' differs from its directory name 'a'; rename the directory "
        "(git mv feds/a feds/federation-a) or set `name: a`"]
    assert directory_name_warnings(b.model, b.doc, b.directory) == []
