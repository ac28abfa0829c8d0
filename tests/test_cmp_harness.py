"""The whole sample platform through an imitation of argocd-cmp-server (tests/support/cmpserver/).

Starting from the bootstrap Application alone, every Application that comes back to the repository
through the plugin is rendered the way Argo CD would render it: in a fresh workspace, with the plugin
command exactly as plugin.yaml declares it, under the environment Argo CD passes for that Application.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmpserver import (
    FINALIZER,
    KILL_GRACE,
    PLUGIN_YAML,
    CMPError,
    Expansion,
    HarnessError,
    Render,
    app_details_env,
    app_vars,
    bootstrap_objects,
    default_sidecar_env,
    discover,
    discovery_configured,
    discovery_env,
    envsubst,
    expand_appset,
    fake_commit,
    follow,
    full_env,
    go_template,
    load_plugin_config,
    merge_source_overrides,
    parse_output,
    plugin_env,
    plugin_name,
    root_application,
    run_generate,
    tracked_files,
    workspace,
)
from helpers import REPO_URL, SAMPLE_REPO
from k8s_validation import validate_object

ARGOCD_NS = "argocd-mip-team"
ROOT_APP = "mip-platform"
FEDERATIONS = ("federation-a", "federation-z")
FEDERATION_LABEL = "mip-cmp.io/federation"


@dataclass(frozen=True)
class Platform:
    revision: str
    bootstrap: list[dict[str, Any]]
    root: dict[str, Any]
    expansion: Expansion

    def rendered_by(self, app: str) -> list[dict[str, Any]]:
        """The objects in the manifests of one Application (not the ones an ApplicationSet generated)."""
        return [r.obj for r in self.expansion.objects if r.app == app and r.appset is None]

    def all_objects(self) -> list[dict[str, Any]]:
        return self.bootstrap + [r.obj for r in self.expansion.objects]


def expand(ws: Path, cfg: dict[str, Any], revision: str) -> Platform:
    objects = bootstrap_objects(ws, revision)
    root = root_application(objects)
    return Platform(revision, objects, root, follow(root, REPO_URL, ws, cfg=cfg))


@pytest.fixture(scope="module")
def cfg() -> dict[str, Any]:
    return load_plugin_config(PLUGIN_YAML)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample repository as the sidecar receives it (shared: tests must not change it)."""
    return workspace(SAMPLE_REPO, tmp_path_factory.mktemp("cmp"))


@pytest.fixture(scope="module")
def platform(ws: Path, cfg: dict[str, Any]) -> Platform:
    return expand(ws, cfg, "main")


# Infrastructure apps of the sample, those of them whose namespace is closed like a common app's (`network`),
# the namespaces' owners that get a `<name>-network` Application, and the NetworkPolicies every closed namespace
# gets.
INFRASTRUCTURE = ("haproxy-public-ingress", "eck-stack", "mip-notebook-operator", "athena-proxy", "submariner-broker",
                  "submariner-operator")
NETWORK_OWNERS = (*FEDERATIONS, "datacatalog", "mip-notebook-operator", "athena-proxy")
NAMESPACE_POLICIES = ("default-deny", "allow-same-namespace", "allow-dns")
WEB = "allow-web-egress"
# mip-stack's flows to the shared components (sample-repo/mip.yaml), and the ingress each opens on its side
HUB_FLOWS = ("allow-jupyterhub-to-notebook-api-proxy", "allow-jupyterhub-to-kube-api", "allow-notebook-to-codex-llm")
REMOTE_FLOWS = ("remote-workers-to-controller", "controller-to-remote-workers", "remote-workers-to-aggregation-server",
                "remote-workers-to-flower-server")


def _expected_objects() -> list[tuple[str, str, str, str]]:
    """(rendering Application, kind, namespace, name) of everything the sample platform consists of."""
    expected = [(ROOT_APP, "AppProject", ARGOCD_NS, p)
                for p in ("default", "mip-infrastructure", "mip-federations", "mip-common",
                          *(f"infra-{a}" for a in INFRASTRUCTURE), *FEDERATIONS,
                          *(f"{owner}-network" for owner in NETWORK_OWNERS))]
    expected += [
        (ROOT_APP, "ApplicationSet", ARGOCD_NS, "mip-federations"),
        (ROOT_APP, "Application", ARGOCD_NS, "datacatalog"),
        # a common app's secrets are its own Application's, never the root's (whose waves would wait on them)
        (ROOT_APP, "Application", ARGOCD_NS, "datacatalog-secrets"),
        ("datacatalog-secrets", "Password", "mip-common-datacatalog", "datacatalog-secrets"),
        ("datacatalog-secrets", "ExternalSecret", "mip-common-datacatalog", "datacatalog-secrets"),
        # an infrastructure app's secrets likewise (athena-proxy's Jupyter AI server address)
        (ROOT_APP, "Application", ARGOCD_NS, "athena-proxy-secrets"),
        ("athena-proxy-secrets", "ExternalSecret", "mip-athena", "codex-llm"),
    ]
    expected += [(ROOT_APP, "Application", ARGOCD_NS, a) for a in INFRASTRUCTURE]
    expected += [(ROOT_APP, "Application", ARGOCD_NS, f) for f in FEDERATIONS]  # from the ApplicationSet
    expected += [(ROOT_APP, "Application", ARGOCD_NS, f"{owner}-network") for owner in NETWORK_OWNERS]
    for f in FEDERATIONS:
        expected += [(f, "Application", ARGOCD_NS, f"{f}-{a}") for a in ("exareme2", "mip-stack", "secrets")]
        expected += [(f"{f}-secrets", "ExternalSecret", f, "keycloak-credentials"),
                     (f"{f}-secrets", "ExternalSecret", f, "jupyterhub-crypt"),
                     (f"{f}-secrets", "Password", f, "mip-secret"),
                     (f"{f}-secrets", "ExternalSecret", f, "mip-secret")]
        remote = REMOTE_FLOWS if f == "federation-z" else ()
        expected += [(f"{f}-network", "NetworkPolicy", f, p)
                     for p in (*NAMESPACE_POLICIES, WEB, "allow-ingress-to-mip-stack", "allow-acme-http01",
                               "isolate-exareme2", *HUB_FLOWS, *remote)]
    # the hybrid federation's ServiceExports, beside exareme2's chart
    expected.append(("federation-z", "Application", ARGOCD_NS, "federation-z-objects"))
    expected += [("federation-z-objects", "ServiceExport", "federation-z", f"exaflow-{s}-service")
                 for s in ("aggregation", "controller")]
    expected.append(("federation-a", "Application", ARGOCD_NS, "federation-a-exareme2-overlay"))
    expected += [("datacatalog-network", "NetworkPolicy", "mip-common-datacatalog", p)
                 for p in (*NAMESPACE_POLICIES, WEB, "allow-ingress-to-datacatalog", "allow-acme-http01")]
    # the notebook operator's namespace has no web egress: its pods reach the API server only
    expected += [("mip-notebook-operator-network", "NetworkPolicy", "mip-notebooks-system", p)
                 for p in (*NAMESPACE_POLICIES, "mip-notebook-operator", "mip-notebook-rbac-manager",
                           "notebook-api-proxy", "allow-jupyterhub-to-notebook-api-proxy-ingress")]
    expected += [("athena-proxy-network", "NetworkPolicy", "mip-athena", p)
                 for p in (*NAMESPACE_POLICIES, WEB, "athena-proxy", "allow-notebook-to-codex-llm-ingress")]
    return expected


def _applications(platform: Platform) -> list[dict[str, Any]]:
    return [o for o in platform.all_objects() if o["kind"] == "Application"]


def _repo_sources(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources in `obj` that point back at the repository (Application, ApplicationSet template)."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Application":
        sources = [spec.get("source") or {}]
    elif obj["kind"] == "ApplicationSet":
        sources = [spec["template"]["spec"].get("source") or {}]
    else:
        sources = []
    return [s for s in sources if s.get("repoURL") == REPO_URL]


def _params(app: dict[str, Any]) -> dict[str, str]:
    plugin = app["spec"]["source"].get("plugin") or {}
    return {p["name"]: p.get("string", "") for p in plugin.get("parameters") or []}


def _projects(platform: Platform) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in platform.all_objects() if o["kind"] == "AppProject"}


def _render(platform: Platform, name: str) -> Render:
    [render] = [r for r in platform.expansion.renders if r.app["metadata"]["name"] == name]
    return render


def _write_plugin_yaml(tmp_path: Path, cfg: dict[str, Any]) -> Path:
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _plugin(command: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin",
            "metadata": {"name": "test"}, "spec": {"generate": {"command": command}, **spec}}


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


# --- plugin.yaml --------------------------------------------------------------------------------------------


def test_plugin_yaml_passes_argo_cds_checks_and_ours(cfg: dict[str, Any]) -> None:
    assert cfg["kind"] == "ConfigManagementPlugin"
    assert cfg["metadata"]["name"]
    command = cfg["spec"]["generate"]["command"]
    assert command and Path(command[0]).name not in ("sh", "bash", "dash"), "generate must be argv, no shell"


def test_every_application_names_the_plugin_as_plugin_yaml_declares_it(
        cfg: dict[str, Any], platform: Platform) -> None:
    names = {s["plugin"]["name"] for o in platform.all_objects() for s in _repo_sources(o) if "plugin" in s}
    assert names == {plugin_name(cfg)}
    assert plugin_name(cfg) == "mip-cmp"


def test_plugin_name_with_a_version() -> None:
    assert plugin_name({"metadata": {"name": "x"}, "spec": {"version": "v1.2"}}) == "x-v1.2"


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["spec"].update(discovery={"fileName": "mip.yaml"}), "did you mean 'discover'"),
    (lambda c: c["spec"].update(lockRepo=True), "spec.lockRepo: unknown key"),
    (lambda c: c["spec"].update(Generate=c["spec"].pop("generate")), "did you mean 'generate'"),
    (lambda c: c["spec"]["generate"].update(command=[]), "spec.generate command should be non-empty"),
    (lambda c: c["metadata"].pop("name"), "metadata.name should be non-empty"),
    (lambda c: c.update(kind="ConfigManagementPlugins"), "kind should be ConfigManagementPlugin"),
    (lambda c: c["spec"]["generate"].update(command="mip-cmp x"), "spec.generate.command: must be a list"),
    (lambda c: c["spec"]["parameters"]["static"][0].update(collectionType="list"), "collectionType"),
    (lambda c: c["spec"].update(discover={"find": {"args": ["x"]}}), "args: set without"),
])
def test_plugin_config_checks_catch_what_argo_cd_would_not(tmp_path: Path, cfg: dict[str, Any],
                                                           change: Any, message: str) -> None:
    broken = copy.deepcopy(cfg)
    change(broken)
    with pytest.raises(HarnessError, match=re.escape(message)):
        load_plugin_config(_write_plugin_yaml(tmp_path, broken))


# --- workspace and discovery --------------------------------------------------------------------------------


def test_workspace_holds_the_tracked_files_with_argo_cds_modes(ws: Path) -> None:
    assert ws.parent.name == "_cmp_server" and len(ws.name) == 36
    files = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*") if not p.is_dir())
    assert files == tracked_files(SAMPLE_REPO)
    assert "mip.yaml" in files
    for path in ws.rglob("*"):
        assert (path.stat().st_mode & 0o777) == (0o755 if path.is_dir() else 0o644), path


def test_workspace_keeps_symlinks_relative_and_refuses_escapes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "mip.yaml").write_text("kind: X\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "link.yaml").symlink_to("a/mip.yaml")
    ws = workspace(src, tmp_path / "one")
    link = ws / "link.yaml"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.read_text() == "kind: X\n"
    assert (ws / "run.sh").stat().st_mode & 0o777 == 0o644, "no exec bit without preserveFileMode"
    assert workspace(src, tmp_path / "two", preserve_file_mode=True).joinpath("run.sh").stat().st_mode & 0o111

    (src / "escape").symlink_to("../../outside")
    with pytest.raises(HarnessError, match="illegal filepath in symlink: escape"):
        workspace(src, tmp_path / "three")
    (src / "escape").unlink()
    (src / "absolute").symlink_to("/absolute/target")
    with pytest.raises(HarnessError, match="illegal filepath in symlink: absolute"):
        workspace(src, tmp_path / "four")


def test_workspace_applies_tar_exclusions(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / ".git" / "objects").mkdir(parents=True)
    (src / ".git" / "objects" / "pack").write_text("x")
    (src / "mip.yaml").write_text("kind: X\n")
    ws = workspace(src, tmp_path, exclude=(".git",))
    assert sorted(p.name for p in ws.iterdir()) == ["mip.yaml"]


def test_mip_cmp_claims_no_app_by_discovery(cfg: dict[str, Any], tmp_path: Path) -> None:
    """plugin.yaml declares no `discover`: Argo CD never picks mip-cmp for an Application that does not name
    it, not even in a directory holding a mip.yaml (mip-cmp's own Applications all name it; tests/e2e checks
    the same on the real repo-server)."""
    assert not discovery_configured(cfg)
    ws = workspace(SAMPLE_REPO, tmp_path)
    (ws / "overlays" / "prod").mkdir(parents=True)
    (ws / "overlays" / "prod" / "kustomization.yaml").write_text("resources: []\n")
    for app_dir in sorted({p.parent for p in ws.rglob("mip.yaml")} | {ws / "overlays" / "prod"}):
        assert not discover(cfg, app_dir), f"{app_dir.relative_to(ws)}: the plugin would claim an app"


def test_discovery_rules_of_the_contract(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "mip.yaml").write_text("")
    (tmp_path / ".hidden.yaml").write_text("")
    assert discover(_plugin(["x"], discover={"find": {"glob": "**/mip.yaml"}}), tmp_path)
    assert not discover(_plugin(["x"], discover={"fileName": "mip.yaml"}), tmp_path), "fileName: no '**'"
    assert discover(_plugin(["x"], discover={"fileName": "*.yaml"}), tmp_path), "Go's Glob sees dot files"
    first_wins = {"fileName": "nothing", "find": {"glob": "**/mip.yaml"}}
    assert not discover(_plugin(["x"], discover=first_wins), tmp_path), "only the first rule set is used"
    marker = "import os, sys; sys.stdout.write('yes\\n' if os.path.isdir('deep') else '\\n')"
    by_command = _plugin(["x"], discover={"find": {"command": _py(marker)}})
    assert discover(by_command, tmp_path / "sub"), "find.command runs in the app directory"
    assert not discover(by_command, tmp_path), "one trailing newline removed: empty output, no match"
    failing = _plugin(["x"], discover={"find": {"command": _py("import sys; sys.exit(2)")}})
    with pytest.raises(HarnessError, match=r"error running find command: .* failed exit status 2"):
        discover(failing, tmp_path)
    assert not discover(_plugin(["x"]), tmp_path), "no discovery: never matches"


# --- environment --------------------------------------------------------------------------------------------


def _app(plugin: dict[str, Any] | None = None, *, namespace: str = ARGOCD_NS, dest_ns: str | None = "ns1"
         ) -> dict[str, Any]:
    source: dict[str, Any] = {"repoURL": REPO_URL, "path": "federations/a", "targetRevision": "main"}
    if plugin is not None:
        source["plugin"] = plugin
    destination = {"server": "https://kubernetes.default.svc"} | ({"namespace": dest_ns} if dest_ns else {})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "app1", "namespace": namespace},
            "spec": {"project": "proj1", "source": source, "destination": destination}}


def test_parameters_reach_the_plugin_exactly_as_argo_cd_passes_them() -> None:
    plugin = {"name": "mip-cmp", "parameters": [
        {"name": "helm-parameters", "map": {"image.tag": "v1"}},
        {"name": "value files", "array": ["a<b>", "c&d"]},
        {"name": "s", "string": ""},
        {"name": "empty-map", "map": None},
    ]}
    env = plugin_env(plugin, {})
    assert env == {
        "ARGOCD_APP_PARAMETERS": '[{"map":{"image.tag":"v1"},"name":"helm-parameters"},'
                                 '{"array":["a\\u003cb\\u003e","c\\u0026d"],"name":"value files"},'
                                 '{"name":"s","string":""},{"map":{},"name":"empty-map"}]',
        "PARAM_HELM_PARAMETERS_IMAGE_TAG": "v1",
        "PARAM_VALUE_FILES_0": "a<b>",
        "PARAM_VALUE_FILES_1": "c&d",
        "PARAM_S": "",
    }
    assert plugin_env({"name": "mip-cmp"}, {}) == {"ARGOCD_APP_PARAMETERS": "null"}
    assert plugin_env(None, {}) == {}


@pytest.mark.parametrize(("value", "expected"), [
    ("$ARGOCD_APP_NAME/${ARGOCD_APP_NAMESPACE}", "app1/ns1"),
    ("$$ARGOCD_APP_NAME", "$ARGOCD_APP_NAME"),
    ("${UNKNOWN}x$UNKNOWN", "x"),
    ("${}", ""),
    ("costs 5$", "costs 5$"),
    ("a$1b", "ab"),
    ("$PATH", ""),
    ("$KUBE_VERSION", "1.30.2"),
])
def test_plugin_env_values_are_expanded_against_the_build_variables_only(value: str, expected: str) -> None:
    env = full_env(_app({"name": "mip-cmp", "env": [{"name": "x", "value": value}]}), fake_commit("main"))
    assert env["ARGOCD_ENV_x"] == expected
    assert envsubst(value, {"ARGOCD_APP_NAME": "app1", "ARGOCD_APP_NAMESPACE": "ns1",
                            "KUBE_VERSION": "1.30.2"}) == expected


def test_the_three_environments() -> None:
    app = _app({"name": "mip-cmp", "env": [{"name": "K", "value": "v"}],
                "parameters": [{"name": "federation", "string": "f"}]}, dest_ns=None)
    commit = fake_commit("main")
    nine = app_vars(app, commit)
    assert len(nine) == 9 and nine["ARGOCD_APP_NAMESPACE"] == "", "empty values are set, not dropped"
    assert nine["ARGOCD_APP_REVISION_SHORT"] == commit[:7] and len(commit) == 40
    assert discovery_env(app, commit) == nine
    full = full_env(app, commit)
    assert set(full) == {*nine, "KUBE_VERSION", "KUBE_API_VERSIONS", "ARGOCD_ENV_K", "ARGOCD_APP_PARAMETERS",
                         "PARAM_FEDERATION"}
    assert "argoproj.io/v1alpha1/Application" in full["KUBE_API_VERSIONS"].split(",")
    assert set(app_details_env(app)) == {
        "ARGOCD_APP_NAME", "ARGOCD_APP_SOURCE_REPO_URL", "ARGOCD_APP_SOURCE_PATH",
        "ARGOCD_APP_SOURCE_TARGET_REVISION", "ARGOCD_ENV_K", "ARGOCD_APP_PARAMETERS", "PARAM_FEDERATION"}
    assert app_vars(_app(namespace="team-x"), commit, ARGOCD_NS)["ARGOCD_APP_NAME"] == "team-x_app1"


def test_each_followed_application_gets_its_own_environment(platform: Platform) -> None:
    for render in platform.expansion.renders:
        app, env = render.app, render.env
        source = app["spec"]["source"]
        assert env["ARGOCD_APP_NAME"] == app["metadata"]["name"]
        assert env["ARGOCD_APP_NAMESPACE"] == app["spec"]["destination"]["namespace"]
        assert env["ARGOCD_APP_PROJECT_NAME"] == app["spec"]["project"]
        assert env["ARGOCD_APP_SOURCE_PATH"] == source["path"] == render.app_dir
        assert env["ARGOCD_APP_SOURCE_TARGET_REVISION"] == platform.revision
    secrets = _render(platform, "federation-a-secrets")
    commit = fake_commit("main")
    assert {k: v for k, v in secrets.env.items() if k != "KUBE_API_VERSIONS"} == {
        "ARGOCD_APP_NAME": "federation-a-secrets",
        "ARGOCD_APP_NAMESPACE": "federation-a",
        "ARGOCD_APP_PROJECT_NAME": "federation-a",
        "ARGOCD_APP_REVISION": commit,
        "ARGOCD_APP_REVISION_SHORT": commit[:7],
        "ARGOCD_APP_REVISION_SHORT_8": commit[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": REPO_URL,
        # Rendered from the root (admins' files only), bound to the federation by name and directory.
        "ARGOCD_APP_SOURCE_PATH": ".",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.30.2",
        "ARGOCD_APP_PARAMETERS": '[{"name":"federation","string":"federation-a"},'
                                 '{"name":"directory","string":"federations/federation-a"},'
                                 '{"name":"component","string":"secrets"}]',
        "PARAM_FEDERATION": "federation-a",
        "PARAM_DIRECTORY": "federations/federation-a",
        "PARAM_COMPONENT": "secrets",
    }


# --- output parsing and ApplicationSets ---------------------------------------------------------------------


@pytest.mark.parametrize(("stdout", "names"), [
    ("---\nkind: A\nmetadata: {name: a}\n---\n# a comment\n---\nnull\n---\nkind: B\nmetadata: {name: b}\n",
     ["a", "b"]),
    ('{"kind": "A", "metadata": {"name": "a"}}\n{"kind": "B", "metadata": {"name": "b"}}\n', ["a", "b"]),
    ("kind: List\nitems:\n- {kind: A, metadata: {name: a}}\n- {kind: B, metadata: {name: b}}\n", ["a", "b"]),
    ("kind: ConfigMapList\nitems: null\n", []),
    ("", []),
    ("kind: A\nmetadata: {name: a, annotations: {t: 2024-01-01}}\n", ["a"]),
])
def test_output_is_split_like_argo_cd(stdout: str, names: list[str]) -> None:
    objects = parse_output(stdout)
    assert [o["metadata"]["name"] for o in objects] == names
    assert all(isinstance(v, str) for o in objects for v in (o["metadata"].get("annotations") or {}).values())


@pytest.mark.parametrize(("stdout", "message"), [
    ("rendering...\nkind: A\n", "failed to unmarshal manifest"),
    ("metadata: {name: a}\n", "Object 'Kind' is missing"),
    ("- kind: A\n", "failed to convert CMP manifests to unstructured objects"),
    ("kind: List\nitems: [1]\n", "items member is not an object"),
    ('{"kind": "A"} {', "failed to unmarshal manifest"),
])
def test_output_argo_cd_would_refuse(stdout: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        parse_output(stdout)


def _appset(template: dict[str, Any], elements: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "set", "namespace": ARGOCD_NS},
            "spec": {"goTemplate": True, "goTemplateOptions": ["missingkey=error"],
                     "generators": [{"list": {"elements": elements}}], "template": template, **spec}}


def test_appset_goes_through_go_templates_like_the_controller() -> None:
    template = {"metadata": {"name": "{{ .name }}", "labels": {"{{.name}}-key": "x {{- .name -}} y"}},
                "spec": {"project": "p", "source": {"path": "dirs/{{ .path }}"}}}
    apps = expand_appset(_appset(template, [{"name": "a", "path": "pa"}, {"name": "b", "path": "pb"}]))
    assert [a["metadata"]["name"] for a in apps] == ["a", "b"]
    assert apps[0]["metadata"]["namespace"] == ARGOCD_NS
    assert apps[0]["metadata"]["labels"] == {"a-key": "xay"}, "keys too; trim markers eat the spaces"
    assert apps[0]["metadata"]["finalizers"] == [FINALIZER], "added when the template has none"
    assert apps[1]["spec"]["source"]["path"] == "dirs/pb"
    assert go_template("{{ .a }}}}", {"a": "x"}) == "x}}"


@pytest.mark.parametrize(("text", "message"), [
    ("{{ .missing }}", 'map has no entry for key "missing"'),
    ("{{ .name | upper }}", "only"),
    ("{{ /* c */ }}", "only"),
    ("{{ .name", "unclosed action"),
])
def test_appset_templates_beyond_simple_keys_fail(text: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        go_template(text, {"name": "a"})


def test_appset_features_we_do_not_imitate_fail() -> None:
    template = {"metadata": {"name": "{{ .name }}"}, "spec": {}}
    with pytest.raises(HarnessError, match="duplicate name"):
        expand_appset(_appset(template, [{"name": "a"}, {"name": "a"}]))
    with pytest.raises(HarnessError, match="goTemplate"):
        expand_appset(_appset(template, [{"name": "a"}], goTemplate=False))
    with pytest.raises(HarnessError, match="not imitated"):
        expand_appset(_appset(template, [{"name": "a"}], templatePatch="x"))
    with pytest.raises(HarnessError, match="only list generators"):
        expand_appset({**_appset(template, []), "spec": {**_appset(template, [])["spec"],
                                                         "generators": [{"git": {}}]}})


# --- the whole platform -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_whole_platform_expands_from_the_bootstrap_application(platform: Platform) -> None:
    got = Counter((r.app, r.obj["kind"], r.obj["metadata"].get("namespace", ""), r.obj["metadata"]["name"])
                  for r in platform.expansion.objects)
    assert got == Counter(_expected_objects())
    assert [r.app["metadata"]["name"] for r in platform.expansion.renders] == [
        ROOT_APP, *FEDERATIONS, *(f"{owner}-network" for owner in NETWORK_OWNERS),
        "datacatalog-secrets", "athena-proxy-secrets", *(f"{f}-secrets" for f in FEDERATIONS), "federation-z-objects"]
    assert sorted(a["metadata"]["name"] for a in platform.expansion.not_followed) == sorted(
        ["datacatalog", *INFRASTRUCTURE, "federation-a-exareme2-overlay",
         *(f"{f}-{app}" for f in FEDERATIONS for app in ("exareme2", "mip-stack"))])
    # Apps of this repository that the plugin does not render (infrastructure, overlays) carry no empty type
    # block (Argo CD would remove it and self-heal it back for ever): Argo CD detects their type itself.
    assert [s for a in platform.expansion.not_followed for s in _repo_sources(a)
            if any(s.get(block) == {} for block in ("helm", "kustomize", "directory"))] == []
    assert [(o["kind"], o["metadata"]["name"]) for o in platform.bootstrap] == [
        ("AppProject", "mip-infrastructure"), ("Application", ROOT_APP)]
    [rendered] = [o for o in platform.rendered_by(ROOT_APP) if o["metadata"]["name"] == "mip-infrastructure"]
    assert rendered == platform.bootstrap[0], "the root app keeps the project bootstrap created unchanged"


@pytest.mark.slow
def test_every_object_is_schema_valid(platform: Platform) -> None:
    errors = [e for obj in platform.all_objects() for e in validate_object(obj, require_namespace=True)]
    assert errors == []


def test_no_plain_secret_is_ever_rendered(platform: Platform) -> None:
    assert [o["metadata"]["name"] for o in platform.all_objects() if o["kind"] == "Secret"] == []


def test_federation_apps_stay_in_their_federation(platform: Platform) -> None:
    projects = _projects(platform)
    for render in platform.expansion.renders:
        federation = _params(render.app).get("federation")
        if not federation:
            continue
        [destination] = projects[federation]["spec"]["destinations"]
        assert destination["namespace"] == federation
        objects = platform.rendered_by(render.app["metadata"]["name"])
        assert objects
        for obj in objects:
            assert obj["metadata"]["labels"][FEDERATION_LABEL] == federation
            if obj["kind"] == "Application":
                assert obj["metadata"]["namespace"] == ARGOCD_NS
                assert obj["spec"]["project"] == federation
                assert obj["spec"]["destination"] == destination
            else:
                # NetworkPolicies come from the admins' network project, never from the federation's.
                network = _params(render.app).get("component") == "network"
                assert obj["metadata"]["namespace"] == federation
                assert render.app["spec"]["project"] == (f"{federation}-network" if network else federation)
                assert render.app["spec"]["destination"] == destination


def _permitted(rules: list[dict[str, str]] | None, group: str, kind: str) -> bool:
    return any(fnmatchcase(group, r["group"]) and fnmatchcase(kind, r["kind"]) for r in rules or [])


def _project_problems(project: dict[str, Any], app: dict[str, Any],
                      objects: list[dict[str, Any]]) -> list[str]:
    """What Argo CD's project checks would refuse: source repo, destination, kinds of the objects."""
    spec, name = project["spec"], app["metadata"]["name"]
    source, dest = app["spec"]["source"], app["spec"]["destination"]
    problems = []
    if not any(fnmatchcase(source["repoURL"], repo) for repo in spec.get("sourceRepos") or []):
        problems.append(f"{name}: source {source['repoURL']} is not in the project's sourceRepos")

    def allowed(namespace: str) -> bool:
        return any(fnmatchcase(dest["server"], d.get("server", "*"))
                   and fnmatchcase(namespace, d["namespace"]) for d in spec.get("destinations") or [])

    if not allowed(dest["namespace"]):
        problems.append(f"{name}: destination {dest} is not permitted")
    for obj in objects:
        group, kind = obj["apiVersion"].rpartition("/")[0], obj["kind"]
        what = f"{name}: {kind} {obj['metadata']['name']}"
        if kind == "Namespace":  # cluster-scoped: the cluster whitelist decides (tests/support/argosim checks names)
            if not _permitted(spec.get("clusterResourceWhitelist"), group, kind):
                problems.append(f"{what}: kind not permitted by project {project['metadata']['name']}")
            continue
        whitelist = spec.get("namespaceResourceWhitelist")
        if (whitelist is not None and not _permitted(whitelist, group, kind)) or \
                _permitted(spec.get("namespaceResourceBlacklist"), group, kind):
            problems.append(f"{what}: kind not permitted by project {project['metadata']['name']}")
        if not allowed(obj["metadata"].get("namespace") or dest["namespace"]):
            problems.append(f"{what}: namespace {obj['metadata'].get('namespace')} not permitted")
    return problems


def test_each_application_is_permitted_by_its_project(platform: Platform) -> None:
    projects = _projects(platform)
    problems = []
    for render in platform.expansion.renders:
        objects = platform.rendered_by(render.app["metadata"]["name"])
        problems += _project_problems(projects[render.app["spec"]["project"]], render.app, objects)
    for app in platform.expansion.not_followed:
        problems += _project_problems(projects[app["spec"]["project"]], app, [])
    assert problems == []


def _with_revision(obj: dict[str, Any], revision: str) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for source in _repo_sources(obj):
        source["targetRevision"] = revision
    return obj


@pytest.mark.slow
def test_the_bootstrap_revision_is_followed_everywhere(ws: Path, cfg: dict[str, Any],
                                                       platform: Platform) -> None:
    feature = expand(ws, cfg, "feature/x")
    for expansion, revision in ((platform, "main"), (feature, "feature/x")):
        sources = [s for o in expansion.all_objects() for s in _repo_sources(o)]
        # root, the ApplicationSet and what it makes, secrets (federations, datacatalog and athena-proxy), network
        # (federations and the other closed namespaces), infrastructure apps, federation-a's overlay,
        # federation-z's objects
        assert len(sources) == 2 + 2 * len(FEDERATIONS) + 2 + len(NETWORK_OWNERS) + len(INFRASTRUCTURE) + 1 + 1
        assert {s["targetRevision"] for s in sources} == {revision}
        assert {r.env["ARGOCD_APP_SOURCE_TARGET_REVISION"] for r in expansion.expansion.renders} == {revision}
    assert [_with_revision(o, "X") for o in feature.all_objects()] == \
        [_with_revision(o, "X") for o in platform.all_objects()], "nothing but the revision may differ"


def test_output_is_identical_across_runs(ws: Path, cfg: dict[str, Any], platform: Platform) -> None:
    again = expand(ws, cfg, "main")
    assert [r.generated.stdout for r in again.expansion.renders] == \
        [r.generated.stdout for r in platform.expansion.renders]
    assert [r.env for r in again.expansion.renders] == [r.env for r in platform.expansion.renders]


def test_every_render_is_well_under_argo_cds_budget(platform: Platform) -> None:
    slow = {r.app["metadata"]["name"]: round(r.generated.seconds, 2) for r in platform.expansion.renders
            if r.generated.seconds > 10}
    assert slow == {}


# --- robustness ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_survives_the_discovery_time_and_app_details_environments(
        cfg: dict[str, Any], ws: Path, platform: Platform) -> None:
    """Argo CD never runs generate with these, but people and future Argo CDs might: no crash, ever."""
    for render in platform.expansion.renders:
        app = render.app
        for label, env in (("discovery", discovery_env(app, fake_commit(platform.revision), ARGOCD_NS)),
                           ("app-details", app_details_env(app, ARGOCD_NS))):
            where = f"{app['metadata']['name']} under the {label} env"
            try:
                generated = run_generate(cfg, ws / render.app_dir, env)
            except CMPError as exc:
                assert exc.returncode == 1, f"{where}: {exc}"
                assert exc.stdout == "", where
                assert "Traceback" not in exc.stderr and len(exc.stderr.strip().splitlines()) == 1, where
                continue
            assert generated.objects, f"{where}: exit 0 with empty output would prune everything"
            assert [e for o in generated.objects for e in validate_object(o, require_namespace=True)] == []


def test_a_failing_generate_reports_like_argo_cd(cfg: dict[str, Any], platform: Platform,
                                                 tmp_path: Path) -> None:
    broken = workspace(SAMPLE_REPO, tmp_path)
    mip = broken / "federations" / "federation-a" / "mip.yaml"
    mip.write_text(mip.read_text() + "bogus: 1\n")
    render = _render(platform, "federation-a")
    with pytest.raises(CMPError) as failure:
        run_generate(cfg, broken / render.app_dir, render.env)
    err = failure.value
    assert err.returncode == 1 and err.stdout == ""
    assert "federations/federation-a/mip.yaml" in err.stderr and "bogus" in err.stderr
    argv = " ".join(cfg["spec"]["generate"]["command"])
    assert str(err) == f"`{argv}` failed exit status 1: {err.stderr.strip()}"
    # The root still renders (a broken federation file stops only that federation); its wrapper fails.
    with pytest.raises(HarnessError, match=r'CMP processing failed for application "federation-a": .*bogus'):
        follow(platform.root, REPO_URL, broken, cfg=cfg)


def test_init_runs_first_in_the_app_dir_and_its_stdout_is_ignored(tmp_path: Path) -> None:
    init = {"command": _py("import pathlib; pathlib.Path('from-init').write_text('kind: A'); print('noise')")}
    cfg = _plugin(_py("import pathlib; print(pathlib.Path('from-init').read_text())"), init=init)
    assert parse_output(run_generate(cfg, tmp_path, {}).stdout) == [{"kind": "A"}]
    failing = _plugin(_py("print('kind: A')"), init={"command": _py("import sys; sys.exit('no init')")})
    with pytest.raises(CMPError, match=r"failed exit status 1: no init$"):
        run_generate(failing, tmp_path, {})


def test_the_plugin_runs_as_argv_and_a_missing_binary_is_an_error(tmp_path: Path) -> None:
    echo = _plugin(_py("import json, sys; print(json.dumps({'kind': 'A', 'argv': sys.argv[1:]}))"))
    echo["spec"]["generate"]["args"] = ["a b", "$HOME", ""]
    assert run_generate(echo, tmp_path, {}).objects == [{"kind": "A", "argv": ["a b", "$HOME", ""]}]
    with pytest.raises(HarnessError, match='exec: "no-such-plugin": executable file not found'):
        run_generate(_plugin(["no-such-plugin"]), tmp_path, {})


def test_the_wall_clock_limit_is_enforced(tmp_path: Path) -> None:
    assert KILL_GRACE == 5.0
    sleeper = _plugin(_py("import time; time.sleep(30)"))
    with pytest.raises(CMPError) as failure:
        run_generate(sleeper, tmp_path, {}, timeout=1.0)
    # Terminated, neither finished (30 s) nor killed: SIGTERM came at the deadline, before the grace ran out.
    assert failure.value.timed_out and "failed signal: terminated" in str(failure.value)

    stubborn = _plugin(_py("import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                           "sys.stderr.write('ignoring TERM')\nsys.stderr.flush()\ntime.sleep(30)"))
    start = time.monotonic()
    with pytest.raises(CMPError) as failure:
        run_generate(stubborn, tmp_path, {}, timeout=1.0, kill_grace=1.0)
    elapsed = time.monotonic() - start
    assert str(failure.value).endswith("failed signal: killed: ignoring TERM")
    # Killed, not finished: SIGKILL came; and not before the deadline and the grace (a loaded machine only
    # makes this later, so there is no upper bound to fail).
    assert elapsed > 1.5, f"SIGKILL after the grace period, not before ({elapsed:.1f} s)"


def test_generate_output_is_json_or_yaml_as_argo_cd_sniffs_it(tmp_path: Path) -> None:
    as_json = _plugin(_py("import json; print(json.dumps({'kind': 'A'})); print(json.dumps({'kind': 'B'}))"))
    assert [o["kind"] for o in run_generate(as_json, tmp_path, {}).objects] == ["A", "B"]
    stray = _plugin(_py("import json; print('Rendering 1 object'); print(json.dumps({'kind': 'A'}))"))
    with pytest.raises(HarnessError, match="failed to unmarshal manifest"):  # a log line breaks the YAML
        run_generate(stray, tmp_path, {})


def test_follow_guards_cycles_and_auto_detects_apps_without_a_plugin_block(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "mip.yaml").write_text("x: 1\n")
    (src / "sub" / "mip.yaml").write_text("x: 1\n")
    ws = workspace(src, tmp_path)

    def app(name: str, path: str, **source: Any) -> dict[str, Any]:
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": ARGOCD_NS},
                "spec": {"project": "p", "destination": {"server": "https://kubernetes.default.svc",
                                                         "namespace": "ns"},
                         "source": {"repoURL": REPO_URL, "path": path, "targetRevision": "main", **source}}}

    root = app("root", ".", plugin={"name": "test"})
    outputs = {
        "root": [root, app("child", "sub"), app("chart", "sub", helm={})],  # itself, auto-detected, Helm
        "child": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env"}, "data": {
            "parameters": "ARGOCD_APP_PARAMETERS"}}, root],
    }
    code = ("import json, os\nout = json.loads(os.environ['OUT'])[os.environ['ARGOCD_APP_NAME']]\n"
            "for o in out:\n    if o['kind'] == 'ConfigMap':\n"
            "        o['data']['parameters'] = os.environ.get('ARGOCD_APP_PARAMETERS', '<absent>')\n"
            "    print(json.dumps(o))\n")
    cfg = _plugin(_py(code), discover={"fileName": "mip.yaml"})
    env = {**default_sidecar_env(), "OUT": json.dumps(outputs)}
    expansion = follow(root, REPO_URL, ws, cfg=cfg, sidecar_env=env)
    assert [r.app["metadata"]["name"] for r in expansion.renders] == ["root", "child"], "each app once"
    assert [a["metadata"]["name"] for a in expansion.not_followed] == ["chart"]
    [config_map] = [r.obj for r in expansion.objects if r.obj["kind"] == "ConfigMap"]
    assert config_map["data"]["parameters"] == "<absent>", "no plugin block: no ARGOCD_APP_PARAMETERS"

    outputs["child"][1] = app("root", "sub", plugin={"name": "test"})
    env["OUT"] = json.dumps(outputs)
    with pytest.raises(HarnessError, match=f"two different Applications {ARGOCD_NS}/root"):
        follow(root, REPO_URL, ws, cfg=cfg, sidecar_env=env)
    env["OUT"] = json.dumps({"root": [app("other", "sub", plugin={"name": "other-plugin"})]})
    with pytest.raises(HarnessError, match='application "other": couldn\'t find cmp-server plugin'):
        follow(root, REPO_URL, ws, cfg=cfg, sidecar_env=env)


def test_argocd_source_files_are_merged_into_the_source_like_the_repo_server(tmp_path: Path) -> None:
    source: dict[str, Any] = {"repoURL": REPO_URL, "path": "x", "targetRevision": "main",
                              "plugin": {"name": "mip-cmp", "parameters": [{"name": "federation", "string": "a"}]}}
    (tmp_path / ".argocd-source.yaml").write_text("path: elsewhere\nplugin:\n  env: [{name: E, value: v}]\n")
    per_app = "plugin:\n  parameters: [{name: federation, string: b}]\n"
    (tmp_path / ".argocd-source-app1.yaml").write_text(per_app)
    merged = merge_source_overrides(source, tmp_path, "app1")
    assert merged["path"] == "x", "repoURL, path, targetRevision stay the Application's"
    assert merged["plugin"] == {"name": "mip-cmp", "env": [{"name": "E", "value": "v"}],
                                "parameters": [{"name": "federation", "string": "b"}]}
    other = merge_source_overrides(source, tmp_path, "other")
    assert other["plugin"]["parameters"] == source["plugin"]["parameters"], "only its own per-app file"


def test_a_federation_directory_cannot_rebind_itself_through_argocd_source_files(
        cfg: dict[str, Any], platform: Platform, tmp_path: Path) -> None:
    ws = workspace(SAMPLE_REPO, tmp_path)
    override = ws / "federations" / "federation-a" / ".argocd-source-federation-a.yaml"
    override.write_text("plugin:\n  parameters:\n  - {name: federation, string: federation-a}\n"
                        "  - {name: component, string: secrets}\n")
    with pytest.raises(HarnessError, match=r"\.argocd-source-federation-a\.yaml"):
        follow(platform.root, REPO_URL, ws, cfg=cfg)
