"""Escape and abuse attempts against mip-cmp, each run the way Argo CD runs the plugin.

Whoever can push to a federation directory writes the input of a process whose output Argo CD applies with
its own credentials (docs/security.md). Every row of ATTACKS is one such attempt: it changes a private copy
of sample-repo/, runs `mip-cmp generate` in the app directory with Argo CD's environment, both in-process and
through the warm renderer (conftest.py), and expects the attempt to fail safely:

* exit code 1 (a problem in the input; 2 would be usage), never 0 and never 3 (a bug);
* nothing at all on stdout (Argo CD takes empty output with exit 0 as "delete everything");
* stderr's first line is exactly the expected `file:line:col: field: message` (or starts with it when the
  row says so), so the error names the file, the position and the field;
* every stderr line is one line, and nothing the row marks as secret is ever repeated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import argo_env, base_env, copy_sample, mip_cmp

from .conftest import generate

FED_A = "federations/federation-a"
FED_FILE = f"{FED_A}/mip.yaml"
# How the platform's ApplicationSet renders federation-a: from the root, bound by name and directory.
BOUND = [{"name": "federation", "string": "federation-a"}, {"name": "directory", "string": FED_A}]
SECRETS = [*BOUND, {"name": "component", "string": "secrets"}]

# Credential-shaped test values (well-known documentation examples, not real credentials).
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
PASSWORD = "S3cr3t-Passw0rd!"


def federation(name: str = "federation-a", *, cluster: str = "in-cluster", apps: str = "  exareme2: {}\n",
               extra: str = "", head: str = "") -> str:
    """A federation mip.yaml, line by line: 1 apiVersion, 2 kind, 3 name, 4 cluster, 5 apps, 6+ the apps,
    then `extra`. `head` goes before line 1 (shifting every line)."""
    return (f"{head}apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: {name}\ncluster: {cluster}\n"
            f"apps:\n{apps}{extra}")


def write(rel: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(repo: Path) -> None:
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)

    return setup


def fed(text: str | bytes) -> Callable[[Path], None]:
    return write(FED_FILE, text)


def loosen_name_pattern(then: Callable[[Path], None]) -> Callable[[Path], None]:
    """An admin who allows any DNS label as a federation name: reserved names must still be refused."""

    def setup(repo: Path) -> None:
        root = repo / "mip.yaml"
        root.write_text(root.read_text().replace("federations:\n  path: federations\n",
                                                 "federations:\n  path: federations\n  namePattern: '^[a-z0-9-]+$'\n"))
        then(repo)

    return setup


def outside(repo: Path) -> Path:
    """A directory next to the checkout, i.e. outside the repository, holding a valid federation."""
    target = repo.parent / "outside"
    target.mkdir(exist_ok=True)
    (target / "mip.yaml").write_text(federation())
    return target


def symlink_fed_file_outside(repo: Path) -> None:
    (repo / FED_FILE).unlink()
    (repo / FED_FILE).symlink_to(os.path.relpath(outside(repo) / "mip.yaml", repo / FED_A))


def symlink_fed_dir_outside(repo: Path) -> None:
    shutil.rmtree(repo / FED_A)
    (repo / FED_A).symlink_to(os.path.relpath(outside(repo), repo / "federations"))


def symlink_loop(repo: Path) -> None:
    (repo / FED_FILE).unlink()
    (repo / FED_FILE).symlink_to("mip.yaml")


def symlink_source_override(repo: Path) -> None:
    (repo / ".argocd-source.yaml").symlink_to("mip.yaml")


def root_federations_path(path: str) -> Callable[[Path], None]:
    def setup(repo: Path) -> None:
        root = repo / "mip.yaml"
        root.write_text(root.read_text().replace("federations:\n  path: federations\n",
                                                 f"federations:\n  path: {path}\n"))
        outside(repo)

    return setup


def nothing(repo: Path) -> None:
    pass


@dataclass(frozen=True)
class Attack:
    id: str
    setup: Callable[[Path], None]
    expect: str
    app: str = "."
    params: list[dict[str, str]] | None = field(default_factory=lambda: list(BOUND))
    env: dict[str, str] = field(default_factory=dict)
    exit: int = 1
    prefix: bool = False  # `expect` is the start of the first line (the rest varies, e.g. a byte count)
    secrets: tuple[str, ...] = ()  # must never appear on stderr

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]


RESERVED = "is reserved for Kubernetes, the cluster's infrastructure or the platform itself; choose another name"
SOURCE_OVERRIDE = ("not allowed anywhere in the repository: Argo CD merges .argocd-source.yaml and "
                   ".argocd-source-<app>.yaml into the source of an Application rendered from that directory, "
                   "plugin parameters included, before it picks the plugin, so this file could rebind a "
                   "federation to another directory or turn the plugin off; remove it")
UNKNOWN_TOP = "unknown field (allowed: apiVersion, kind, name, cluster, type, publicHost, apps)"
UNKNOWN_APP = "unknown field (allowed: values, revision, ignoreDifferences)"
NOT_ALLOWED = "template error: not allowed in the sandbox"
NO_CALLS = ("template error: calling functions or methods is not allowed; use a filter, e.g. "
            "{{ federation.name | upper }}")
CONTEXT = ("available here: federation.name, federation.namespace, federation.cluster, federation.type, "
           "platform.argocdNamespace")


def host(template: str) -> str:
    """A federation whose publicHost (line 6, column 13) is `template`."""
    return federation(apps="  exareme2: {}\n", head="", extra="").replace(
        "apps:\n", f"publicHost: {json.dumps(template)}\napps:\n")


ATTACKS: list[Attack] = [
    # --- tenancy: a federation directory stays in its own project, namespace and cluster ------------------
    Attack("tenancy-other-federations-name", fed(federation("federation-z")),
           f"{FED_FILE}:3:7: name: this directory is bound to federation 'federation-a' by the platform; "
           "it cannot declare 'federation-z' (rename it in the platform first)"),
    Attack("tenancy-name-outside-the-pattern", fed(federation("argocd-mip-team")),
           f"{FED_FILE}:3:7: name: must match the platform's federation name pattern "
           "^federation-[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
    Attack("tenancy-name-argocd-namespace", loosen_name_pattern(fed(federation("argocd-mip-team"))),
           f"{FED_FILE}:3:7: name: 'argocd-mip-team' {RESERVED}",
           params=[{"name": "federation", "string": "argocd-mip-team"}, BOUND[1]]),
    Attack("tenancy-name-kube-system", loosen_name_pattern(fed(federation("kube-system"))),
           f"{FED_FILE}:3:7: name: 'kube-system' {RESERVED}",
           params=[{"name": "federation", "string": "kube-system"}, BOUND[1]]),
    Attack("tenancy-name-kube-prefix", loosen_name_pattern(fed(federation("kube-anything"))),
           f"{FED_FILE}:3:7: name: 'kube-anything' {RESERVED}",
           params=[{"name": "federation", "string": "kube-anything"}, BOUND[1]]),
    Attack("tenancy-name-default", loosen_name_pattern(fed(federation("default"))),
           f"{FED_FILE}:3:7: name: 'default' {RESERVED}",
           params=[{"name": "federation", "string": "default"}, BOUND[1]]),
    Attack("tenancy-name-infrastructure-project", loosen_name_pattern(fed(federation("mip-infrastructure"))),
           f"{FED_FILE}:3:7: name: 'mip-infrastructure' {RESERVED}",
           params=[{"name": "federation", "string": "mip-infrastructure"}, BOUND[1]]),
    Attack("tenancy-name-federations-project", loosen_name_pattern(fed(federation("mip-federations"))),
           f"{FED_FILE}:3:7: name: 'mip-federations' {RESERVED}",
           params=[{"name": "federation", "string": "mip-federations"}, BOUND[1]]),
    Attack("tenancy-name-common-app-namespace", loosen_name_pattern(fed(federation("mip-common-datacatalog"))),
           f"{FED_FILE}:3:7: name: 'mip-common-datacatalog' {RESERVED}",
           params=[{"name": "federation", "string": "mip-common-datacatalog"}, BOUND[1]]),
    Attack("tenancy-name-root-application", loosen_name_pattern(fed(federation("mip-platform"))),
           f"{FED_FILE}:3:7: name: 'mip-platform' {RESERVED}",
           params=[{"name": "federation", "string": "mip-platform"}, BOUND[1]]),
    *(Attack(f"tenancy-name-system-namespace-{name}", loosen_name_pattern(fed(federation(name))),
             f"{FED_FILE}:3:7: name: {name!r} {RESERVED}",
             params=[{"name": "federation", "string": name}, BOUND[1]])
      for name in ("cert-manager", "ingress-nginx", "monitoring", "argocd", "submariner-operator",
                   "longhorn-system", "openshift-config")),
    Attack("tenancy-name-collides-with-other-federations-app", fed(federation("federation-x-exareme2")),
           f"{FED_FILE}:3:7: name: 'federation-x-exareme2' would collide with the Application of app "
           "'exareme2' of a federation 'federation-x'; choose another name",
           params=[{"name": "federation", "string": "federation-x-exareme2"}, BOUND[1]]),
    Attack("tenancy-unknown-cluster", fed(federation(cluster="kube-control-plane")),
           f"{FED_FILE}:4:10: cluster: unknown cluster 'kube-control-plane'; the platform's clusters are: "
           "in-cluster, mip-public"),
    Attack("tenancy-unknown-app", fed(federation(apps="  cluster-admin: {}\n")),
           f"{FED_FILE}:6:3: apps.cluster-admin: unknown app 'cluster-admin'; the platform's catalog has: "
           "exareme2, mip-stack"),
    Attack("tenancy-set-project", fed(federation(extra="project: mip-infrastructure\n")),
           f"{FED_FILE}:7:1: project: {UNKNOWN_TOP}"),
    Attack("tenancy-set-namespace", fed(federation(extra="namespace: kube-system\n")),
           f"{FED_FILE}:7:1: namespace: unknown field; did you mean 'name'? (allowed: apiVersion, kind, name, "
           "cluster, type, publicHost, apps)"),
    Attack("tenancy-set-destination",
           fed(federation(apps="  exareme2:\n    destination: {server: https://kubernetes.default.svc, "
                               "namespace: kube-system}\n")),
           f"{FED_FILE}:7:5: apps.exareme2.destination: {UNKNOWN_APP}"),
    Attack("tenancy-set-repo-url", fed(federation(apps="  exareme2:\n    repoURL: https://evil.example/chart\n")),
           f"{FED_FILE}:7:5: apps.exareme2.repoURL: {UNKNOWN_APP}"),
    Attack("tenancy-set-annotations",
           fed(federation(apps="  exareme2:\n    annotations: {argocd.argoproj.io/sync-options: Replace=true}\n")),
           f"{FED_FILE}:7:5: apps.exareme2.annotations: {UNKNOWN_APP}"),
    Attack("tenancy-set-app-project", fed(federation(apps="  exareme2:\n    project: mip-infrastructure\n")),
           f"{FED_FILE}:7:5: apps.exareme2.project: {UNKNOWN_APP}"),
    Attack("tenancy-define-appproject", fed(federation(extra="projects:\n  federation-a: {clusterResourceWhitelist: "
                                                           "[{group: '*', kind: '*'}]}\n")),
           f"{FED_FILE}:7:1: projects: {UNKNOWN_TOP}"),
    Attack("tenancy-platform-kind-in-federation-dir",
           fed("apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\nrepoURL: https://evil.example/r.git\n"
               "clusters: {in-cluster: https://kubernetes.default.svc}\n"),
           f"{FED_FILE}:2:7: kind: a federation directory must hold a Federation mip.yaml"),
    Attack("tenancy-duplicate-key-overrides-name", fed(federation(extra="name: federation-z\n")),
           f"{FED_FILE}:7:1: duplicate key 'name'"),
    Attack("tenancy-render-nested-directory", write(f"{FED_A}/nested/mip.yaml", federation()),
           f"{FED_A}/nested/mip.yaml: not a federation directory: federations live directly under federations/ "
           "(see federations.path in the platform mip.yaml)", app=f"{FED_A}/nested", params=[BOUND[0]]),
    Attack("tenancy-render-directory-outside-federations", write("evil/mip.yaml", federation()),
           "evil/mip.yaml: not a federation directory: federations live directly under federations/ "
           "(see federations.path in the platform mip.yaml)", app="evil", params=[BOUND[0]]),
    Attack("tenancy-argocd-source-override",
           write(f"{FED_A}/.argocd-source.yaml",
                 "plugin:\n  parameters:\n  - {name: federation, string: federation-z}\n"),
           f"{FED_A}/.argocd-source.yaml: {SOURCE_OVERRIDE}"),
    Attack("tenancy-argocd-source-app-override",
           write(f"{FED_A}/.argocd-source-federation-a.yaml", "plugin: null\ndirectory: {recurse: true}\n"),
           f"{FED_A}/.argocd-source-federation-a.yaml: {SOURCE_OVERRIDE}"),
    Attack("tenancy-argocd-source-seen-by-the-root",
           write(f"{FED_A}/.argocd-source.yaml", "plugin: null\ndirectory: {recurse: true}\n"),
           f"{FED_A}/.argocd-source.yaml: {SOURCE_OVERRIDE}", app=".", params=None),
    # At the root, Argo CD would merge these into the root Application (`.argocd-source.yaml`) or into
    # federation-a's wrapper Application (`path: .`, named federation-a): rebinding its directory.
    Attack("tenancy-argocd-source-at-the-root",
           write(".argocd-source.yaml", "plugin: null\ndirectory: {recurse: true}\n"),
           f".argocd-source.yaml: {SOURCE_OVERRIDE}", app=".", params=None),
    Attack("tenancy-argocd-source-for-a-wrapper-at-the-root",
           write(".argocd-source-federation-a.yaml",
                 "plugin:\n  parameters:\n  - {name: directory, string: federations/federation-z}\n"),
           f".argocd-source-federation-a.yaml: {SOURCE_OVERRIDE}"),
    Attack("tenancy-argocd-source-anywhere",
           write("docs/deep/.argocd-source-someapp.yaml", "plugin: null\n"),
           f"docs/deep/.argocd-source-someapp.yaml: {SOURCE_OVERRIDE}"),
    Attack("tenancy-argocd-source-as-a-symlink", symlink_source_override,
           f".argocd-source.yaml: {SOURCE_OVERRIDE}", app=".", params=None),
    Attack("tenancy-parameters-on-the-root", nothing,
           "plugin parameters 'federation' and 'component' need 'directory': without it the repository root "
           "renders the platform", app=".", params=[{"name": "federation", "string": "federation-a"}]),
    Attack("tenancy-directory-of-another-federation", nothing,
           "federations/federation-z/mip.yaml:4:7: name: this directory is bound to federation 'federation-a' "
           "by the platform; it cannot declare 'federation-z' (rename it in the platform first)",
           params=[BOUND[0], {"name": "directory", "string": "federations/federation-z"}]),
    Attack("tenancy-directory-escapes-the-repository", nothing,
           "federations/../../etc/mip.yaml: not a federation directory: federations live directly under "
           "federations/ (see federations.path in the platform mip.yaml)",
           params=[BOUND[0], {"name": "directory", "string": "federations/../../etc"}]),
    Attack("tenancy-directory-without-binding", nothing,
           "plugin parameter 'directory' needs 'federation', the name the platform bound it to",
           params=[BOUND[1]]),
    Attack("tenancy-directory-on-a-federation-app", nothing,
           "plugin parameter 'directory' is for Applications whose path is the repository root (this one "
           "renders 'federations/federation-a')", app=FED_A),
    Attack("tenancy-parameter-given-twice", nothing, "plugin parameter 'federation' is given more than once",
           params=[*BOUND, {"name": "federation", "string": "federation-z"}]),
    Attack("tenancy-unknown-parameter", nothing,
           "plugin parameter 'project' is not one mip-cmp knows; known: component, directory, federation",
           params=[*BOUND, {"name": "project", "string": "mip-infrastructure"}]),
    Attack("tenancy-unknown-component", nothing,
           "plugin parameter 'component' must be one of '', 'secrets', not 'projects'",
           params=[*BOUND, {"name": "component", "string": "projects"}]),
    # --- templates: a sandbox with nothing to escape to, and bounded work ---------------------------------
    Attack("template-class-mro-subclasses", fed(host("{{ ''.__class__.__mro__[1].__subclasses__() }}")),
           f"{FED_FILE}:5:13: publicHost: {NO_CALLS}"),
    Attack("template-class-attribute", fed(host("{{ federation.name.__class__ }}")),
           f"{FED_FILE}:5:13: publicHost: {NOT_ALLOWED} (names starting with '_' are not allowed "
           "('__class__'))"),
    Attack("template-globals-by-item", fed(host("{{ federation['__init__']['__globals__'] }}")),
           f"{FED_FILE}:5:13: publicHost: {NOT_ALLOWED} (names starting with '_' are not allowed "
           "('__init__'))"),
    Attack("template-method-with-big-argument", fed(host("{{ federation.name.ljust(999999999) }}")),
           f"{FED_FILE}:5:13: publicHost: {NO_CALLS}"),
    Attack("template-method-object-leak", fed(host("{{ federation.name.upper }}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'str object' has no attribute 'upper'; {CONTEXT}"),
    Attack("template-for-loop", fed(host("{% for i in range(999999999) %}x{% endfor %}")),
           f"{FED_FILE}:5:13: publicHost: template error: only {{{{ expressions }}}} are allowed; "
           "{% statements %} are not"),
    Attack("template-huge-string-repeat", fed(host("{{ 'x' * 999999999 }}")),
           f"{FED_FILE}:5:13: publicHost: template error: result longer than 16384 characters"),
    Attack("template-huge-power", fed(host("{{ 9 ** 999999999 }}")),
           f"{FED_FILE}:5:13: publicHost: template error: exponent too large"),
    Attack("template-power-tower", fed(host("{{ ((9 ** 64) ** 64) ** 64 }}")),
           f"{FED_FILE}:5:13: publicHost: template error: number too large"),
    Attack("template-nested-list-repeat", fed(host("{{ [['x' * 16000] * 1000] * 1000 }}")),
           f"{FED_FILE}:5:13: publicHost: template error: result longer than 16384 characters"),
    Attack("template-replace-amplifies", fed(host("{{ ('x' * 16000) | replace('x', 'y' * 16000) }}")),
           f"{FED_FILE}:5:13: publicHost: template error: result longer than 16384 characters"),
    Attack("template-printf-width", fed(host("{{ '%999999999s' % federation.name }}")),
           f"{FED_FILE}:5:13: publicHost: template error: string formatting with % is not allowed; use ~ to "
           "join strings"),
    Attack("template-range-global", fed(host("{{ range(10) | length }}")),
           f"{FED_FILE}:5:13: publicHost: {NO_CALLS}"),
    Attack("template-lipsum-global", fed(host("{{ lipsum }}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'lipsum' is undefined; {CONTEXT}"),
    Attack("template-cycler-global", fed(host("{{ cycler }}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'cycler' is undefined; {CONTEXT}"),
    Attack("template-self-reference", fed(host("{{ self }}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'self' is undefined; {CONTEXT}"),
    Attack("template-flask-config", fed(host("{{ config.items() }}")),
           f"{FED_FILE}:5:13: publicHost: {NO_CALLS}"),
    Attack("template-undefined-variable", fed(host("{{ secrets }}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'secrets' is undefined; {CONTEXT}"),
    Attack("template-unknown-filter", fed(host("{{ federation | attr('__class__') }}")),
           f"{FED_FILE}:5:13: publicHost: template error: No filter named 'attr'."),
    Attack("template-deep-nesting", fed(host("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}")),
           f"{FED_FILE}:5:13: publicHost: template error: expression is nested too deeply"),
    Attack("template-too-long",
           fed(federation(apps="  exareme2:\n    values: {x: '{{ federation.name }}" + "x" * 5000 + "'}\n")),
           f"{FED_FILE}:7:17: apps.exareme2.values.x: template error: a templated string may be at most 4096 "
           "characters"),
    Attack("template-in-values",
           fed(federation(apps="  exareme2:\n    values: {image: \"{{ ''.__class__ }}\"}\n")),
           f"{FED_FILE}:7:21: apps.exareme2.values.image: {NOT_ALLOWED} (names starting with '_' are not "
           "allowed ('__class__'))"),
    Attack("template-too-many-parts", fed(host("{{ [" + ", ".join(["1"] * 300) + "] }}")),
           f"{FED_FILE}:5:13: publicHost: template error: expression has more than 256 parts "
           "(budget.MAX_TEMPLATE_NODES); split it up"),
    Attack("template-nested-too-deep", fed(host("{{ federation.name" + " | upper" * 30 + " }}")),
           f"{FED_FILE}:5:13: publicHost: template error: expression is nested more than 20 levels deep "
           "(budget.MAX_TEMPLATE_DEPTH); split it up"),
    Attack("template-lone-surrogate", fed(host("{{ federation.name ~ '\\ud800' }}")),
           f"{FED_FILE}:5:13: publicHost: template error: the result holds U+D800, which is not text (a lone "
           "surrogate); write the character itself"),
    # --- budgets: what one render may cost in all (budget.py; tests/security/test_resources.py measures) ----
    Attack("budget-template-steps", fed(federation(apps="  exareme2:\n    values:\n" + "".join(
        f"      k{i}: \"{{{{ [{', '.join([chr(40) + chr(91) + repr('') + '] * 4000)|length'] * 40)}] }}}}\"\n"
        for i in range(10)))),
           f"{FED_FILE}:14:11: apps.exareme2.values.k6: the templates of this render need more than 1,000,000 "
           "evaluation steps (budget.MAX_TEMPLATE_STEPS); use fewer or simpler templates"),
    Attack("budget-template-output", fed(federation(apps="  exareme2:\n    values:\n" + "".join(
        f"      k{i}: \"{{{{ 'x' * 16000 }}}}\"\n" for i in range(80)))),
           f"{FED_FILE}:73:12: apps.exareme2.values.k65: the templates of this render produce more than "
           "1,048,576 characters (budget.MAX_TEMPLATE_OUTPUT_CHARS); use fewer or shorter templates"),
    # --- paths: every file read stays inside the repository -----------------------------------------------
    Attack("path-symlinked-mip-yaml-outside", symlink_fed_file_outside,
           f"{FED_FILE}: is a symlink that leads outside the repository; refusing to read it"),
    Attack("path-symlinked-federation-dir-outside", symlink_fed_dir_outside,
           f"{FED_A}: is a symlink that leads outside the repository; refusing to read it", app=".",
           params=None),
    Attack("path-render-through-symlinked-dir", symlink_fed_dir_outside,
           "ARGOCD_APP_SOURCE_PATH 'federations/federation-a' does not match the working directory; run "
           "generate in the application's source path", app=FED_A, params=[BOUND[0]]),
    Attack("path-symlink-loop", symlink_loop,
           f"{FED_FILE}: is a symlink loop or cannot be resolved; refusing to read it"),
    Attack("path-dotdot-in-federations-path", root_federations_path("../outside"),
           "../outside: path must stay inside the repository (no absolute paths, no '..')", app=".",
           params=None),
    Attack("path-absolute-source-path", nothing,
           "ARGOCD_APP_SOURCE_PATH '/etc' does not match the working directory; run generate in the "
           "application's source path", env={"ARGOCD_APP_SOURCE_PATH": "/etc"}),
    Attack("path-dotdot-source-path", nothing,
           "ARGOCD_APP_SOURCE_PATH 'federations/../../etc' must be a path inside the repository",
           env={"ARGOCD_APP_SOURCE_PATH": "federations/../../etc"}),
    Attack("path-mismatched-source-path", nothing,
           "ARGOCD_APP_SOURCE_PATH 'federations/federation-z' does not match the working directory; run "
           "generate in the application's source path", env={"ARGOCD_APP_SOURCE_PATH": "federations/federation-z"}),
    Attack("path-mip-yaml-is-a-directory", lambda repo: ((repo / FED_FILE).unlink(), (repo / FED_FILE).mkdir()),
           f"{FED_FILE}: not found (every mip-cmp directory needs a mip.yaml)"),
    # --- sizes: bounded input, bounded work ----------------------------------------------------------------
    Attack("size-file-over-256-kib", fed(federation() + "# padding\n" * 30_000),
           f"{FED_FILE}: file is larger than the limit of 262144 bytes"),
    Attack("size-alias-bomb",
           fed(federation(extra="".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" if i else
                                        "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                                        for i in range(9)))),
           f"{FED_FILE}:8:10: YAML aliases (*l0) are not allowed; write the value out"),
    Attack("size-nesting-1000-deep", fed(federation(extra="deep: " + "[" * 1000 + "]" * 1000 + "\n")),
           f"{FED_FILE}:7:1006: invalid YAML: exceeded maximum nesting depth"),
    Attack("size-nesting-over-64", fed(federation(extra="".join(f"{'  ' * i}k{i}:\n" for i in range(100))
                                                      + "  " * 100 + "x: 1\n")),
           f"{FED_FILE}:71:129: nesting is deeper than 64 levels"),
    Attack("size-too-many-nodes", fed(federation(extra="many: [" + "1," * 60_000 + "1]\n")),
           f"{FED_FILE}:7:99978: more than 50000 YAML nodes"),
    Attack("size-huge-integer", fed(federation(extra="big: " + "9" * 5000 + "\n")),
           f"{FED_FILE}:7:6: number is too long; quote it if it is text"),
    Attack("size-int64-overflow",
           fed(federation(apps="  exareme2:\n    values: {replicas: 99999999999999999999}\n")),
           f"{FED_FILE}:7:24: integer is out of range (more than 64 bits); quote it if it is text"),
    Attack("size-infinity", fed(federation(apps="  exareme2:\n    values: {ratio: .inf}\n")),
           f"{FED_FILE}:7:21: numbers must be finite (.inf and .nan are not allowed); quote it if it is text"),
    Attack("size-second-document", fed(federation() + "---\nkind: Secret\n"),
           f"{FED_FILE}:7:1: only one YAML document is allowed per file; remove the extra '---'"),
    # --- encoding and YAML features ------------------------------------------------------------------------
    Attack("encoding-latin-1", fed(federation(extra="# Zürich\n").encode("latin-1")),
           f"{FED_FILE}:7:4: file is not valid UTF-8; save it as UTF-8"),
    Attack("encoding-utf-16", fed(federation().encode("utf-16")),
           f"{FED_FILE}:1:1: file is not valid UTF-8; save it as UTF-8"),
    Attack("encoding-nul-byte", fed(federation(extra="x: a\x00b\n")),
           f"{FED_FILE}:7:5: invalid YAML: U+0000 is not allowed"),
    Attack("encoding-python-object-tag", fed(federation(extra="x: !!python/object/apply:os.system [id]\n")),
           f"{FED_FILE}:7:4: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    Attack("encoding-merge-key", fed(federation(apps="  exareme2: {<<: {revision: main}}\n")),
           f"{FED_FILE}:6:14: YAML merge keys (<<) are not allowed; write the keys out"),
    Attack("encoding-forged-error-line",
           fed(federation(extra='"x\\nfederations/federation-z/mip.yaml:1:1: all good": 1\n')),
           f"{FED_FILE}:7:1: x\\nfederations/federation-z/mip.yaml:1:1: all good: {UNKNOWN_TOP}"),
    Attack("encoding-forged-directory-name",
           write("federations/evil\nmip.yaml:1:1: all good\n/mip.yaml", "apiVersion: v1\nkind: Federation\n"),
           "federations/evil\\nmip.yaml:1:1: all good\\n/mip.yaml:1:13: apiVersion: must be mip-cmp.io/v1alpha1 "
           "(found 'v1')", app=".", params=None),
    # --- secrets: never in the output, never in an error ---------------------------------------------------
    Attack("secrets-federation-defines-secrets",
           fed(federation(extra="secrets:\n  mip-secret: {generated: {keys: [password], length: 8}}\n")),
           f"{FED_FILE}:7:1: secrets: {UNKNOWN_TOP}"),
    Attack("secrets-app-asks-for-a-secret", fed(federation(apps="  exareme2:\n    secrets: [mip-secret]\n")),
           f"{FED_FILE}:7:5: apps.exareme2.secrets: {UNKNOWN_APP}"),
    Attack("secrets-plaintext-password-value",
           fed(federation(apps=f"  mip-stack:\n    values: {{keycloak: {{KEYCLOAK_PASSWORD: '{PASSWORD}'}}}}\n")),
           f"{FED_FILE}:7:44: apps.mip-stack.values.keycloak.KEYCLOAK_PASSWORD: looks like a credential; mip.yaml "
           "must never hold secret values: have the app use a platform `secrets` entry (an ExternalSecret) "
           "instead", secrets=(PASSWORD,)),
    Attack("secrets-token-value",
           fed(federation(apps=f"  exareme2:\n    values: {{registry: {{pull: {GITHUB_TOKEN}}}}}\n")),
           f"{FED_FILE}:7:31: apps.exareme2.values.registry.pull: looks like a credential; mip.yaml must never "
           "hold secret values: have the app use a platform `secrets` entry (an ExternalSecret) instead",
           secrets=(GITHUB_TOKEN,)),
    Attack("secrets-password-in-url",
           fed(federation(apps="  exareme2:\n    values: {db: {url: 'postgresql://admin:hunter2xyz@db:5432/x'}}\n")),
           f"{FED_FILE}:7:24: apps.exareme2.values.db.url: looks like a credential; mip.yaml must never hold "
           "secret values: have the app use a platform `secrets` entry (an ExternalSecret) instead",
           secrets=("hunter2xyz",)),
    Attack("secrets-echo-through-api-version", fed(federation(head=f"# {AWS_KEY}\n").replace(
        "apiVersion: mip-cmp.io/v1alpha1", f"apiVersion: {GITHUB_TOKEN}")),
           f"{FED_FILE}:2:13: apiVersion: must be mip-cmp.io/v1alpha1 (found '<redacted>')",
           secrets=(GITHUB_TOKEN,)),
    Attack("secrets-echo-through-template-error", fed(host(f"{{{{ federation.{AWS_KEY} }}}}")),
           f"{FED_FILE}:5:13: publicHost: template error: 'dict object' has no attribute '<redacted>'; {CONTEXT}",
           secrets=(AWS_KEY,)),
    Attack("secrets-echo-through-unknown-key", fed(federation(extra=f"{GITHUB_TOKEN}: x\n")),
           f"{FED_FILE}:7:1: <redacted>: {UNKNOWN_TOP}", secrets=(GITHUB_TOKEN,)),
    Attack("secrets-echo-through-directory-name", write(f"federations/{GITHUB_TOKEN}/mip.yaml", "kind: x\n"),
           "federations/<redacted>/mip.yaml:1:1: apiVersion: must be mip-cmp.io/v1alpha1 (found missing)",
           app=".", params=None, secrets=(GITHUB_TOKEN,)),
    Attack("secrets-echo-through-parameter", nothing,
           "plugin parameter 'component' must be one of '', 'secrets', not '<redacted>'",
           params=[*BOUND, {"name": "component", "string": GITHUB_TOKEN}], secrets=(GITHUB_TOKEN,)),
    Attack("secrets-nothing-to-render", fed(federation()),
           f"{FED_FILE}: nothing to render: none of federation federation-a's apps needs a platform secret "
           "(component=secrets); refusing to print empty output, which Argo CD would take as 'delete "
           "everything'", params=SECRETS),
]


def run(attack: Attack, tmp_path: Path, mode: str = "in-process",
        renderer: dict[str, str] | None = None) -> tuple[int, bytes, list[str]]:
    repo = copy_sample(tmp_path)
    attack.setup(repo)
    env = argo_env(attack.app, params=attack.params)
    env.update(attack.env)
    code, stdout, stderr = generate(mode, repo / attack.app, env, renderer)
    return code, stdout, stderr.splitlines()


def test_there_are_at_least_25_distinct_attacks() -> None:
    ids = [a.id for a in ATTACKS]
    assert len(set(ids)) == len(ids), "attack ids must be unique"
    areas = {a.area for a in ATTACKS}
    assert {"tenancy", "template", "path", "size", "encoding", "secrets"} <= areas
    assert len(ATTACKS) >= 25
    print(f"\n{len(ATTACKS)} attacks: " + ", ".join(ids))


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_fails_safely(attack: Attack, mode: str, renderer: dict[str, str] | None, tmp_path: Path) -> None:
    code, stdout, lines = run(attack, tmp_path, mode, renderer)
    assert code == attack.exit, lines
    assert stdout == b"", "a failed render must print nothing on stdout"
    assert lines, "a failure must say why on stderr"
    assert not any(line.startswith("Traceback") for line in lines)
    if attack.prefix:
        assert lines[0].startswith(attack.expect), lines[0]
    else:
        assert lines[0] == attack.expect
    for secret in attack.secrets:
        assert all(secret not in line for line in lines), "a credential was echoed"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (some editors write one) is harmless: same output as without it."""
    repo = copy_sample(tmp_path)
    env = {**argo_env(FED_A, params=BOUND[:1]), "MIP_CMP_RENDERER": "off"}
    plain = mip_cmp("generate", cwd=repo / FED_A, env=env)
    (repo / FED_FILE).write_bytes(b"\xef\xbb\xbf" + (repo / FED_FILE).read_bytes())
    with_bom = mip_cmp("generate", cwd=repo / FED_A, env=env)
    assert plain.returncode == with_bom.returncode == 0
    assert with_bom.stdout == plain.stdout


SHADOWS = ["yaml.py", "pydantic.py", "jinja2.py", "json.py", "re.py", "argparse.py", "base64.py", "zlib.py",
           "socket.py", "select.py", "fcntl.py", "resource.py", "signal.py", "mip_cmp/__init__.py",
           "sitecustomize.py", "usercustomize.py"]


def test_python_files_in_the_checkout_are_never_imported(mode: str, renderer: dict[str, str] | None,
                                                          tmp_path: Path) -> None:
    """A federation directory full of modules named like the ones mip-cmp imports: none may run. Argo CD
    runs `mip-cmp generate` (a console script: its own directory, not the working directory, is first on
    the import path) and the renderer runs with `python -P`."""
    import sys

    import yaml

    plugin = yaml.safe_load((Path(__file__).resolve().parents[2] / "plugin.yaml").read_text())
    assert plugin["spec"]["generate"]["command"] == ["mip-cmp", "generate"]
    repo = copy_sample(tmp_path)
    marker = tmp_path / "imported"
    env = argo_env(FED_A, params=BOUND[:1])
    expected = mip_cmp("generate", cwd=repo / FED_A, env={**env, "MIP_CMP_RENDERER": "off"}).stdout
    for name in SHADOWS:
        module = repo / FED_A / name
        module.parent.mkdir(exist_ok=True)
        module.write_text(f"open({str(marker)!r}, 'a').write({name!r})\nprint('---\\nkind: Secret')\n")
    if mode == "in-process":
        script = Path(sys.executable).with_name("mip-cmp")
        result = subprocess.run([str(script), "generate"], cwd=repo / FED_A, capture_output=True, timeout=60,
                                env={**base_env(), **env, "MIP_CMP_RENDERER": "off"}, check=False)
        code, stdout = result.returncode, result.stdout
    else:
        code, stdout, _ = generate(mode, repo / FED_A, env, renderer)
    assert not marker.exists(), f"imported from the checkout: {marker.read_text()}"
    assert code == 0
    assert stdout == expected
