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
import yaml

from helpers import argo_env, base_env, copy_sample, run_cli

from .conftest import generate

EXPECTED_FILE = Path(__file__).resolve().parents[1] / "golden" / "attacks.yaml"
EXPECTED: dict[str, str] = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
UPDATE = os.environ.get("MIP_UPDATE_GOLDEN") == "1"
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


def without_public_hosts(then: Callable[[Path], None]) -> Callable[[Path], None]:
    """A platform that lets no federation claim a host: its `federations.publicHosts` block removed."""
    def setup(repo: Path) -> None:
        root = repo / "mip.yaml"
        lines = root.read_text().splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith("  publicHosts:"))
        end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
        root.write_text("".join(lines[:start] + lines[end:]))
        then(repo)

    return setup


def with_host_values(then: Callable[[Path], None]) -> Callable[[Path], None]:
    """mip-stack takes its host from `global.publicHost` (the catalog's publicHostValues)."""
    def setup(repo: Path) -> None:
        root = repo / "mip.yaml"
        text = root.read_text()
        if "publicHostValues: [global.publicHost]" not in text:
            text = text.replace("  mip-stack:\n", "  mip-stack:\n    publicHostValues: [global.publicHost]\n", 1)
        root.write_text(text)
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


def mip_yaml_is_a_directory(repo: Path) -> None:
    (repo / FED_FILE).unlink()
    (repo / FED_FILE).mkdir()


def nothing(repo: Path) -> None:
    pass


def overlay_symlink_to_federation_z(repo: Path) -> None:
    """An overlay directory inside federation-a that is a symlink to federation-z's directory."""
    (repo / FED_A / "overlay").symlink_to("../federation-z")
    fed(federation(apps="  exareme2:\n    overlay: {path: overlay}\n"))(repo)


def overlay_file_symlink_to_federation_z(repo: Path) -> None:
    """A plain-manifests overlay of federation-a's own whose one file is a symlink to federation-z's: Argo CD
    would apply it (it follows symlinks inside the repository)."""
    overlay = repo / FED_A / "overlays" / "x"
    overlay.mkdir(parents=True)
    (overlay / "service.yaml").symlink_to("../../../federation-z/mip.yaml")
    fed(federation(apps="  exareme2:\n    overlay: {path: overlays/x, type: directory}\n"))(repo)


def overlay_with_argocd_source(repo: Path) -> None:
    """Argo CD would merge this file into the overlay Application's source (e.g. switch it to a plugin)."""
    write(f"{FED_A}/overlays/x/.argocd-source.yaml", "plugin: {name: mip-cmp}\n")(repo)
    fed(federation(apps="  exareme2:\n    overlay: {path: overlays/x}\n"))(repo)


def overlay_kustomization(text: str, at: str = "overlays/x") -> Callable[[Path], None]:
    """federation-a's overlay, whose kustomization (in `at`, inside the overlay) is `text`."""
    def setup(repo: Path) -> None:
        write(f"{FED_A}/overlays/x/kustomization.yaml", "resources: [inner]\n" if at != "overlays/x" else text)(repo)
        if at != "overlays/x":
            write(f"{FED_A}/{at}/kustomization.yaml", text)(repo)
        fed(federation(apps="  exareme2:\n    overlay: {path: overlays/x}\n"))(repo)

    return setup


@dataclass(frozen=True)
class Attack:
    id: str
    setup: Callable[[Path], None]
    app: str = "."
    params: list[dict[str, str]] | None = field(default_factory=lambda: list(BOUND))
    env: dict[str, str] = field(default_factory=dict)
    exit: int = 1
    secrets: tuple[str, ...] = ()  # must never appear on stderr

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def expect(self) -> str:
        """The first stderr line it must produce: tests/golden/attacks.yaml, with the other golden cases."""
        return EXPECTED.get(self.id, "(no expectation in tests/golden/attacks.yaml)")


def host(template: str) -> str:
    """A federation whose publicHost (line 6, column 13) is `template`."""
    return federation(apps="  exareme2: {}\n", head="", extra="").replace(
        "apps:\n", f"publicHost: {json.dumps(template)}\napps:\n")


ATTACKS: list[Attack] = [
    # --- tenancy: a federation directory stays in its own project, namespace and cluster ------------------
    Attack("tenancy-other-federations-name", fed(federation("federation-z"))),
    Attack("tenancy-name-outside-the-pattern", fed(federation("argocd-mip-team"))),
    Attack("tenancy-name-argocd-namespace", loosen_name_pattern(fed(federation("argocd-mip-team"))),
           params=[{"name": "federation", "string": "argocd-mip-team"}, BOUND[1]]),
    Attack("tenancy-name-kube-system", loosen_name_pattern(fed(federation("kube-system"))),
           params=[{"name": "federation", "string": "kube-system"}, BOUND[1]]),
    Attack("tenancy-name-kube-prefix", loosen_name_pattern(fed(federation("kube-anything"))),
           params=[{"name": "federation", "string": "kube-anything"}, BOUND[1]]),
    Attack("tenancy-name-default", loosen_name_pattern(fed(federation("default"))),
           params=[{"name": "federation", "string": "default"}, BOUND[1]]),
    Attack("tenancy-name-infrastructure-project", loosen_name_pattern(fed(federation("mip-infrastructure"))),
           params=[{"name": "federation", "string": "mip-infrastructure"}, BOUND[1]]),
    Attack("tenancy-name-federations-project", loosen_name_pattern(fed(federation("mip-federations"))),
           params=[{"name": "federation", "string": "mip-federations"}, BOUND[1]]),
    Attack("tenancy-name-common-app-namespace", loosen_name_pattern(fed(federation("mip-common-datacatalog"))),
           params=[{"name": "federation", "string": "mip-common-datacatalog"}, BOUND[1]]),
    Attack("tenancy-name-root-application", loosen_name_pattern(fed(federation("mip-platform"))),
           params=[{"name": "federation", "string": "mip-platform"}, BOUND[1]]),
    # Namespaces of the cluster's infrastructure, whatever the pattern allows (names.SYSTEM_NAMESPACES).
    *(Attack(f"tenancy-name-system-namespace-{name}", loosen_name_pattern(fed(federation(name))),
             params=[{"name": "federation", "string": name}, BOUND[1]])
      for name in ("cert-manager", "ingress-nginx", "monitoring", "argocd", "submariner-operator",
                   "longhorn-system", "openshift-config")),
    Attack("tenancy-name-collides-with-other-federations-app", fed(federation("federation-x-exareme2")),
           params=[{"name": "federation", "string": "federation-x-exareme2"}, BOUND[1]]),
    Attack("tenancy-unknown-cluster", fed(federation(cluster="kube-control-plane"))),
    Attack("tenancy-unknown-app", fed(federation(apps="  cluster-admin: {}\n"))),
    Attack("tenancy-set-project", fed(federation(extra="project: mip-infrastructure\n"))),
    Attack("tenancy-set-namespace", fed(federation(extra="namespace: kube-system\n"))),
    Attack("tenancy-set-destination",
           fed(federation(apps="  exareme2:\n    destination: {server: https://kubernetes.default.svc, "
                               "namespace: kube-system}\n"))),
    Attack("tenancy-set-repo-url", fed(federation(apps="  exareme2:\n    repoURL: https://evil.example/chart\n"))),
    Attack("tenancy-set-annotations",
           fed(federation(apps="  exareme2:\n    annotations: {argocd.argoproj.io/sync-options: Replace=true}\n"))),
    Attack("tenancy-set-app-project", fed(federation(apps="  exareme2:\n    project: mip-infrastructure\n"))),
    Attack("tenancy-define-appproject", fed(federation(extra="projects:\n  federation-a: {clusterResourceWhitelist: "
                                                           "[{group: '*', kind: '*'}]}\n"))),
    Attack("tenancy-platform-kind-in-federation-dir",
           fed("apiVersion: mip-cmp.io/v1alpha1\nkind: Platform\nrepoURL: https://evil.example/r.git\n"
               "clusters: {in-cluster: https://kubernetes.default.svc}\n")),
    Attack("tenancy-duplicate-key-overrides-name", fed(federation(extra="name: federation-z\n"))),
    Attack("tenancy-render-nested-directory", write(f"{FED_A}/nested/mip.yaml", federation()), app=f"{FED_A}/nested", params=[BOUND[0]]),
    Attack("tenancy-render-directory-outside-federations", write("evil/mip.yaml", federation()), app="evil", params=[BOUND[0]]),
    Attack("tenancy-argocd-source-override",
           write(f"{FED_A}/.argocd-source.yaml",
                 "plugin:\n  parameters:\n  - {name: federation, string: federation-z}\n")),
    Attack("tenancy-argocd-source-app-override",
           write(f"{FED_A}/.argocd-source-federation-a.yaml", "plugin: null\ndirectory: {recurse: true}\n")),
    # The root still renders (a broken federation stops only itself); that federation's own wrapper refuses.
    Attack("tenancy-argocd-source-seen-by-the-wrapper",
           write(f"{FED_A}/.argocd-source.yaml", "plugin: null\ndirectory: {recurse: true}\n")),
    # Outside federation directories, only admins write: every render refuses one. At the root, Argo CD would merge
    # it into the root Application (`.argocd-source.yaml`) or into federation-a's wrapper Application (`path: .`,
    # named federation-a), rebinding its directory.
    Attack("tenancy-argocd-source-at-the-root",
           write(".argocd-source.yaml", "plugin: null\ndirectory: {recurse: true}\n"), app=".", params=None),
    Attack("tenancy-argocd-source-for-a-wrapper-at-the-root",
           write(".argocd-source-federation-a.yaml",
                 "plugin:\n  parameters:\n  - {name: directory, string: federations/federation-z}\n")),
    Attack("tenancy-argocd-source-anywhere", write("docs/deep/.argocd-source-someapp.yaml", "plugin: null\n")),
    Attack("tenancy-argocd-source-deep-in-a-federation",
           write(f"{FED_A}/charts/x/.argocd-source.yaml", "plugin: null\n")),
    Attack("tenancy-argocd-source-as-a-symlink", symlink_source_override, app=".", params=None),
    Attack("tenancy-parameters-on-the-root", nothing, app=".", params=[{"name": "federation", "string": "federation-a"}]),
    Attack("tenancy-directory-of-another-federation", nothing,
           params=[BOUND[0], {"name": "directory", "string": "federations/federation-z"}]),
    Attack("tenancy-directory-escapes-the-repository", nothing,
           params=[BOUND[0], {"name": "directory", "string": "federations/../../etc"}]),
    Attack("tenancy-directory-without-binding", nothing,
           params=[BOUND[1]]),
    Attack("tenancy-directory-on-a-federation-app", nothing, app=FED_A),
    Attack("tenancy-parameter-given-twice", nothing,
           params=[*BOUND, {"name": "federation", "string": "federation-z"}]),
    Attack("tenancy-unknown-parameter", nothing,
           params=[*BOUND, {"name": "project", "string": "mip-infrastructure"}]),
    Attack("tenancy-unknown-component", nothing,
           params=[*BOUND, {"name": "component", "string": "projects"}]),
    # --- templates: a sandbox with nothing to escape to, and bounded work ---------------------------------
    Attack("template-class-mro-subclasses", fed(host("{{ ''.__class__.__mro__[1].__subclasses__() }}"))),
    Attack("template-class-attribute", fed(host("{{ federation.name.__class__ }}"))),
    Attack("template-globals-by-item", fed(host("{{ federation['__init__']['__globals__'] }}"))),
    Attack("template-method-with-big-argument", fed(host("{{ federation.name.ljust(999999999) }}"))),
    Attack("template-method-object-leak", fed(host("{{ federation.name.upper }}"))),
    Attack("template-for-loop", fed(host("{% for i in range(999999999) %}x{% endfor %}"))),
    Attack("template-huge-string-repeat", fed(host("{{ 'x' * 999999999 }}"))),
    Attack("template-huge-power", fed(host("{{ 9 ** 999999999 }}"))),
    Attack("template-power-tower", fed(host("{{ ((9 ** 64) ** 64) ** 64 }}"))),
    Attack("template-nested-list-repeat", fed(host("{{ [['x' * 16000] * 1000] * 1000 }}"))),
    Attack("template-replace-amplifies", fed(host("{{ ('x' * 16000) | replace('x', 'y' * 16000) }}"))),
    Attack("template-printf-width", fed(host("{{ '%999999999s' % federation.name }}"))),
    Attack("template-range-global", fed(host("{{ range(10) | length }}"))),
    Attack("template-lipsum-global", fed(host("{{ lipsum }}"))),
    Attack("template-cycler-global", fed(host("{{ cycler }}"))),
    Attack("template-self-reference", fed(host("{{ self }}"))),
    Attack("template-flask-config", fed(host("{{ config.items() }}"))),
    Attack("template-undefined-variable", fed(host("{{ secrets }}"))),
    Attack("template-unknown-filter", fed(host("{{ federation | attr('__class__') }}"))),
    Attack("template-deep-nesting", fed(host("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}"))),
    Attack("template-too-long",
           fed(federation(apps="  exareme2:\n    values: {x: '{{ federation.name }}" + "x" * 5000 + "'}\n"))),
    Attack("template-in-values",
           fed(federation(apps="  exareme2:\n    values: {image: \"{{ ''.__class__ }}\"}\n"))),
    Attack("template-too-many-parts", fed(host("{{ [" + ", ".join(["1"] * 300) + "] }}"))),
    Attack("template-nested-too-deep", fed(host("{{ federation.name" + " | upper" * 30 + " }}"))),
    Attack("template-lone-surrogate", fed(host("{{ federation.name ~ '\\ud800' }}"))),
    # --- budgets: what one render may cost in all (budget.py; tests/security/test_resources.py measures) ----
    Attack("budget-template-steps", fed(federation(apps="  exareme2:\n    values:\n" + "".join(
        f"      k{i}: \"{{{{ [{', '.join([chr(40) + chr(91) + repr('') + '] * 4000)|length'] * 40)}] }}}}\"\n"
        for i in range(10))))),
    Attack("budget-template-output", fed(federation(apps="  exareme2:\n    values:\n" + "".join(
        f"      k{i}: \"{{{{ 'x' * 16000 }}}}\"\n" for i in range(80))))),
    # --- paths: every file read stays inside the repository -----------------------------------------------
    Attack("path-symlinked-mip-yaml-outside", symlink_fed_file_outside),
    Attack("path-symlinked-federation-dir-outside", symlink_fed_dir_outside, app=".",
           params=None),
    Attack("path-render-through-symlinked-dir", symlink_fed_dir_outside, app=FED_A, params=[BOUND[0]]),
    Attack("path-symlink-loop", symlink_loop),
    Attack("path-dotdot-in-federations-path", root_federations_path("../outside"), app=".",
           params=None),
    Attack("path-absolute-source-path", nothing, env={"ARGOCD_APP_SOURCE_PATH": "/etc"}),
    Attack("path-dotdot-source-path", nothing,
           env={"ARGOCD_APP_SOURCE_PATH": "federations/../../etc"}),
    Attack("path-mismatched-source-path", nothing, env={"ARGOCD_APP_SOURCE_PATH": "federations/federation-z"}),
    Attack("path-mip-yaml-is-a-directory", mip_yaml_is_a_directory),
    # --- sizes: bounded input, bounded work ----------------------------------------------------------------
    Attack("size-file-over-256-kib", fed(federation() + "# padding\n" * 30_000)),
    Attack("size-alias-bomb",
           fed(federation(extra="".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" if i else
                                        "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                                        for i in range(9))))),
    Attack("size-nesting-1000-deep", fed(federation(extra="deep: " + "[" * 1000 + "]" * 1000 + "\n"))),
    Attack("size-nesting-over-64", fed(federation(extra="".join(f"{'  ' * i}k{i}:\n" for i in range(100))
                                                      + "  " * 100 + "x: 1\n"))),
    Attack("size-too-many-nodes", fed(federation(extra="many: [" + "1," * 60_000 + "1]\n"))),
    Attack("size-huge-integer", fed(federation(extra="big: " + "9" * 5000 + "\n"))),
    Attack("size-int64-overflow",
           fed(federation(apps="  exareme2:\n    values: {replicas: 99999999999999999999}\n"))),
    Attack("size-infinity", fed(federation(apps="  exareme2:\n    values: {ratio: .inf}\n"))),
    Attack("size-second-document", fed(federation() + "---\nkind: Secret\n")),
    # --- encoding and YAML features ------------------------------------------------------------------------
    Attack("encoding-latin-1", fed(federation(extra="# Zürich\n").encode("latin-1")),),
    Attack("encoding-utf-16", fed(federation().encode("utf-16"))),
    Attack("encoding-nul-byte", fed(federation(extra="x: a\x00b\n"))),
    Attack("encoding-python-object-tag", fed(federation(extra="x: !!python/object/apply:os.system [id]\n"))),
    Attack("encoding-merge-key", fed(federation(apps="  exareme2: {<<: {revision: main}}\n"))),
    Attack("encoding-forged-error-line",
           fed(federation(extra='"x\\nfederations/federation-z/mip.yaml:1:1: all good": 1\n'))),
    Attack("encoding-forged-directory-name",
           write("federations/evil\nmip.yaml:1:1: all good\n/mip.yaml", "apiVersion: v1\nkind: Federation\n"), app=".", params=None),
    # Characters Argo CD cannot read back (its JSON re-read by go-yaml): in a value, a key, a directory name.
    Attack("encoding-nel-in-a-value", fed(federation(apps='  exareme2:\n    values: {motd: "a\\u0085b"}\n'))),
    Attack("encoding-del-in-a-key", fed(federation(apps='  exareme2:\n    values: {"k\\x7f": 1}\n'))),
    Attack("encoding-c1-control-in-a-value", fed(federation(apps='  exareme2:\n    values: {x: "\\x9b31m"}\n'))),
    Attack("encoding-noncharacter-in-a-value", fed(federation(apps='  exareme2:\n    values: {x: "\\uFFFE"}\n'))),
    Attack("encoding-noncharacter-from-a-template", fed(host("{{ federation.name ~ '\\uffff' }}"))),
    Attack("encoding-unreadable-directory-name", write("federations/fed\x85z/mip.yaml", federation("fed-z")),
           app=".", params=None),
    # --- secrets: never in the output, never in an error ---------------------------------------------------
    Attack("secrets-token-in-revision", fed(federation(apps=f"  exareme2:\n    revision: {GITHUB_TOKEN}\n")),
           secrets=(GITHUB_TOKEN,)),
    Attack("secrets-token-in-public-host", fed(host(f"{GITHUB_TOKEN}.example.org")), secrets=(GITHUB_TOKEN,)),
    Attack("secrets-url-password-in-public-host", fed(host("https://admin:hunter2xyz@example.org")),
           secrets=("hunter2xyz",)),
    Attack("secrets-token-assembled-by-a-template", fed(host(f"{{{{ '{GITHUB_TOKEN[:4]}' ~ '{GITHUB_TOKEN[4:]}' }}}}")),
           secrets=(GITHUB_TOKEN,)),
    Attack("secrets-url-password-echoed-through-a-cluster", fed(federation(cluster="https://admin:hunter2xyz@x.org")),
           secrets=("hunter2xyz",)),
    Attack("secrets-federation-defines-secrets",
           fed(federation(extra="secrets:\n  mip-secret: {generated: {keys: [password], length: 8}}\n"))),
    Attack("secrets-app-asks-for-a-secret", fed(federation(apps="  exareme2:\n    secrets: [mip-secret]\n"))),
    Attack("secrets-plaintext-password-value",
           fed(federation(apps=f"  mip-stack:\n    values: {{keycloak: {{KEYCLOAK_PASSWORD: '{PASSWORD}'}}}}\n")), secrets=(PASSWORD,)),
    Attack("secrets-token-value",
           fed(federation(apps=f"  exareme2:\n    values: {{registry: {{pull: {GITHUB_TOKEN}}}}}\n")),
           secrets=(GITHUB_TOKEN,)),
    Attack("secrets-password-in-url",
           fed(federation(apps="  exareme2:\n    values: {db: {url: 'postgresql://admin:hunter2xyz@db:5432/x'}}\n")),
           secrets=("hunter2xyz",)),
    Attack("secrets-echo-through-api-version", fed(federation(head=f"# {AWS_KEY}\n").replace(
        "apiVersion: mip-cmp.io/v1alpha1", f"apiVersion: {GITHUB_TOKEN}")),
           secrets=(GITHUB_TOKEN,)),
    # The key is assembled by the template, so no raw string holds it: only the template error could echo it.
    Attack("secrets-echo-through-template-error", fed(federation(
        apps=f"  exareme2: {{values: {{x: \"{{{{ federation['{AWS_KEY[:4]}' ~ '{AWS_KEY[4:]}'] }}}}\"}}}}\n")),
           secrets=(AWS_KEY,)),
    Attack("secrets-echo-through-unknown-key", fed(federation(extra=f"{GITHUB_TOKEN}: x\n")), secrets=(GITHUB_TOKEN,)),
    Attack("secrets-echo-through-directory-name", write(f"federations/{GITHUB_TOKEN}/mip.yaml", "kind: x\n"),
           app=".", params=None, secrets=(GITHUB_TOKEN,)),
    Attack("secrets-echo-through-parameter", nothing,
           params=[*BOUND, {"name": "component", "string": GITHUB_TOKEN}], secrets=(GITHUB_TOKEN,)),
    Attack("secrets-nothing-to-render", fed(federation()), params=SECRETS),
    # --- network: a federation cannot widen its NetworkPolicies or use a source outside its directory -----
    Attack("network-unknown-peer", fed(federation(extra="type: hybrid\npeers: [everywhere]\n"))),
    Attack("network-peers-on-a-local-federation", fed(federation(extra="peers: [node1]\n"))),
    Attack("network-peer-of-another-federation", fed(federation(extra="type: hybrid\npeers: [node1]\n"))),
    Attack("network-set-platform-network", fed(federation(extra="network: {web: {ports: [22]}}\n"))),
    Attack("network-set-app-network",
           fed(federation(apps="  exareme2:\n    network: {public: [{pods: {app: exaflow-worker}, ports: [5672]}]}\n"))),
    Attack("network-common-app-from-a-federation-directory", nothing,
           params=[*BOUND, {"name": "component", "string": "network"}, {"name": "app", "string": "datacatalog"}]),
    Attack("network-unknown-common-app", nothing, params=[{"name": "component", "string": "network"},
                                                          {"name": "app", "string": "kube-system"}]),
    Attack("secrets-common-app-from-a-federation-directory", nothing,
           params=[*BOUND, {"name": "component", "string": "secrets"}, {"name": "app", "string": "datacatalog"}]),
    Attack("secrets-unknown-common-app", nothing, params=[{"name": "component", "string": "secrets"},
                                                          {"name": "app", "string": "kube-system"}]),
    Attack("tenancy-overlay-outside-its-directory",
           fed(federation(apps="  exareme2:\n    overlay: {path: ../federation-z}\n"))),
    Attack("tenancy-overlay-is-the-directory", fed(federation(apps="  exareme2:\n    overlay: {path: .}\n"))),
    Attack("tenancy-overlay-absolute-path", fed(federation(apps="  exareme2:\n    overlay: {path: /etc}\n"))),
    Attack("tenancy-overlay-symlink-to-another-federation", overlay_symlink_to_federation_z),
    Attack("tenancy-overlay-file-symlink-to-another-federation", overlay_file_symlink_to_federation_z),
    Attack("tenancy-overlay-with-argocd-source-file", overlay_with_argocd_source),
    # What kustomize reads for an overlay: only files of the federation's own directory.
    Attack("tenancy-overlay-kustomization-reaches-another-federation",
           overlay_kustomization("resources:\n  - ../../../federation-z/overlays/private\n")),
    Attack("tenancy-overlay-kustomization-remote-base",
           overlay_kustomization("resources:\n  - https://github.com/example/bases//private?ref=main\n")),
    Attack("tenancy-overlay-kustomization-remote-shorthand",
           overlay_kustomization("resources:\n  - github.com/example/bases/private\n")),
    Attack("tenancy-overlay-kustomization-patch-outside",
           overlay_kustomization("patches:\n  - path: ../../../federation-z/mip.yaml\n")),
    Attack("tenancy-overlay-kustomization-generator-file-outside",
           overlay_kustomization("configMapGenerator:\n  - name: x\n    files: [k=../../../federation-z/mip.yaml]\n")),
    Attack("tenancy-overlay-kustomization-helm-chart",
           overlay_kustomization("helmCharts:\n  - {name: x, repo: https://example.org/charts}\n")),
    Attack("tenancy-overlay-nested-kustomization-outside",
           overlay_kustomization("resources:\n  - ../../../../federation-z\n", at="overlays/x/inner")),
    Attack("tenancy-sync-option-not-allowed",
           fed(federation(apps="  exareme2:\n    sync: {options: [Validate=false]}\n"))),
    Attack("tenancy-name-network-project", loosen_name_pattern(fed(federation("datacatalog-network"))),
           params=[{"name": "federation", "string": "datacatalog-network"}, BOUND[1]]),
    Attack("tenancy-name-infrastructure-app-project",
           loosen_name_pattern(fed(federation("infra-haproxy-public-ingress"))),
           params=[{"name": "federation", "string": "infra-haproxy-public-ingress"}, BOUND[1]]),
    Attack("tenancy-name-infrastructure-app-namespace", loosen_name_pattern(fed(federation("ingress-nginx"))),
           params=[{"name": "federation", "string": "ingress-nginx"}, BOUND[1]]),
    Attack("tenancy-name-common-secrets-app", loosen_name_pattern(fed(federation("datacatalog-secrets"))),
           params=[{"name": "federation", "string": "datacatalog-secrets"}, BOUND[1]]),
    Attack("tenancy-name-takes-another-federations-network-app", fed(federation("federation-a-network")),
           params=[{"name": "federation", "string": "federation-a-network"}, BOUND[1]]),
    # --- what a federation may claim: only the hosts the platform's `federations.publicHosts` gives it -------
    Attack("tenancy-public-host-of-another-federation", fed(host("federation-z.example.com"))),
    Attack("tenancy-public-host-of-the-data-catalogue", fed(host("datacatalogue.mip.ebrains.eu"))),
    Attack("tenancy-public-host-outside-the-pattern", fed(host("{{ federation.name }}.example.com.evil.org"))),
    Attack("tenancy-public-host-without-a-platform-pattern",
           without_public_hosts(fed(host("{{ federation.name }}.example.com")))),
    Attack("tenancy-public-host-through-its-values", with_host_values(fed(federation(
        apps="  mip-stack: {values: {global: {publicHost: federation-z.example.com}}}\n")))),
]


def run(attack: Attack, tmp_path: Path, mode: str = "in-process",
        renderer: dict[str, str] | None = None) -> tuple[int, bytes, list[str]]:
    repo = copy_sample(tmp_path)
    attack.setup(repo)
    env = argo_env(attack.app, params=attack.params)
    env.update(attack.env)
    code, stdout, stderr = generate(mode, repo / attack.app, env, renderer)
    return code, stdout, stderr.splitlines()


def test_every_attack_has_its_expectation() -> None:
    assert list(EXPECTED) == [a.id for a in ATTACKS], "tests/golden/attacks.yaml and ATTACKS differ"


@pytest.mark.skipif(not UPDATE, reason="MIP_UPDATE_GOLDEN=1 rewrites tests/golden/attacks.yaml")
def test_update_expectations(tmp_path: Path) -> None:
    observed = {}
    for attack in ATTACKS:
        lines = run(attack, tmp_path / attack.id)[2]
        observed[attack.id] = lines[0] if lines else ""
    header = "".join(line + "\n" for line in EXPECTED_FILE.read_text().splitlines() if line.startswith("#"))
    EXPECTED_FILE.write_text(header + yaml.safe_dump(observed, sort_keys=False, allow_unicode=True, width=100_000))


def test_there_are_at_least_25_distinct_attacks() -> None:
    ids = [a.id for a in ATTACKS]
    assert len(set(ids)) == len(ids), "attack ids must be unique"
    areas = {a.area for a in ATTACKS}
    assert {"tenancy", "template", "path", "size", "encoding", "secrets", "network"} <= areas
    assert len(ATTACKS) >= 25
    print(f"\n{len(ATTACKS)} attacks: " + ", ".join(ids))


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_fails_safely(attack: Attack, mode: str, renderer: dict[str, str] | None, tmp_path: Path) -> None:
    code, stdout, lines = run(attack, tmp_path, mode, renderer)
    assert code == attack.exit, lines
    assert stdout == b"", "a failed render must print nothing on stdout"
    assert lines, "a failure must say why on stderr"
    assert not any(line.startswith("Traceback") for line in lines)
    assert lines[0] == attack.expect
    for secret in attack.secrets:
        assert all(secret not in line for line in lines), "a credential was echoed"


def test_the_template_error_echo_goes_through_a_template_error() -> None:
    """That attack is about what a template error says: no earlier check (a credential in the raw text) may be
    what refuses it, or the echo through the error message would go untested."""
    line = EXPECTED["secrets-echo-through-template-error"]
    assert ": template error: " in line and "<redacted>" in line, line


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (some editors write one) is harmless: same output as without it."""
    repo = copy_sample(tmp_path)
    env = argo_env(FED_A, params=BOUND[:1])
    plain = run_cli("generate", cwd=repo / FED_A, env=env)
    (repo / FED_FILE).write_bytes(b"\xef\xbb\xbf" + (repo / FED_FILE).read_bytes())
    with_bom = run_cli("generate", cwd=repo / FED_A, env=env)
    assert plain.code == with_bom.code == 0
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

    plugin = yaml.safe_load((Path(__file__).resolve().parents[2] / "plugin.yaml").read_text())
    assert plugin["spec"]["generate"]["command"] == ["mip-cmp", "generate"]
    repo = copy_sample(tmp_path)
    marker = tmp_path / "imported"
    env = argo_env(FED_A, params=BOUND[:1])
    expected = run_cli("generate", cwd=repo / FED_A, env=env).stdout
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
