"""Render the NetworkPolicies mip-infra applies into a test fixture, deterministically, with the real helm.

Usage: python scripts/vendor_network.py [REFERENCE_DIR]

REFERENCE_DIR (default: ``../shared/reference`` relative to the repository root) must hold the mip-infra
checkout at 3603251 (``mip-infra``) and the reconstruction of mip-infra as it deploys today
(``mip-infra-upstream``, see its PROVENANCE.md). helm is the one ``scripts/setup.sh import`` installs into
``.venv/bin`` (or the first on PATH). For each tree it writes ``tests/fixtures/upstream-network/<name>.yaml``:

* ``namespaces``: the labels of every namespace the policies are rendered for: the one Kubernetes sets, plus
  what the ApplicationSets of ``common/security/netpol.yaml`` set through ``managedNamespaceMetadata``;
* ``policies``: every NetworkPolicy, rendered as Argo CD renders them: ``helm template`` of
  ``common/security/federation`` for federation-A (local) and federation-Z (hybrid), and of
  ``common/security/common-templates`` for every namespace of the common ApplicationSet's list, with the
  parameters those ApplicationSets give (the templated ones evaluated for that federation or namespace);
  plus federation-Z's ``submariner-policies/network-policy.yaml`` as written;
* ``calico``: the Calico GlobalNetworkPolicies of ``common/security/remote-clusters`` as written (today only).

The federation directories live in a private repository upstream; the two federations of mip-infra's own
``deployments/`` stand for them. Running it twice gives identical bytes; the tests never read REFERENCE_DIR.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "upstream-network"
# fixture name -> (tree under REFERENCE_DIR, what it is)
TREES = {
    "march": ("mip-infra", "mip-infra at 3603251 (March 2026)"),
    "today": ("mip-infra-upstream", "mip-infra as it deploys today (mip-infra-upstream, see its PROVENANCE.md)"),
}
# The federations of mip-infra's deployments/ tree: namespace -> (federation type, its directory).
FEDERATIONS = {
    "federation-a": ("local", "deployments/local/federations/federation-A"),
    "federation-z": ("hybrid", "deployments/hybrid/federations/federation-Z"),
}
REMOTE_POLICIES = "mip-infrastructure/submariner-policies/network-policy.yaml"
CALICO = "common/security/remote-clusters/global-deny-remote-cidrs.yaml"
NAMESPACE_NAME = "kubernetes.io/metadata.name"


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _helm() -> str:
    local = REPO_ROOT / ".venv" / "bin" / "helm"
    found = str(local) if local.is_file() else shutil.which("helm")
    if not found:
        sys.exit("vendor_network: helm not found (bash scripts/setup.sh import installs it into .venv/bin)")
    return found


def _appset(tree: Path, name: str) -> dict[str, Any]:
    return next(d for d in _documents(tree / "common/security/netpol.yaml")
                if d["kind"] == "ApplicationSet" and d["metadata"]["name"] == name)


def _evaluated(value: str, namespace: str, kind: str | None) -> str:
    """A parameter or label value of the ApplicationSets: literal, `{{ .commonNamespace }}`, or the federation
    template's `{{ if contains "local" .path.path }}LOCAL{{ else }}HYBRID{{ end }}`, whose branches are a
    literal (the type) or the directory's name (the namespace)."""
    if "{{" not in value:
        return value
    if kind is None and value.replace(" ", "") == "{{.commonNamespace}}":
        return namespace
    choice = re.fullmatch(r'\{\{\s*if contains "local" \.path\.path\s*\}\}(.*?)\{\{\s*else\s*\}\}(.*?)'
                          r"\{\{\s*end\s*\}\}", value.strip(), re.DOTALL)
    if kind is None or choice is None:
        raise SystemExit(f"vendor_network: cannot evaluate the template {value!r}")
    branch = choice.group(1 if kind == "local" else 2)
    return namespace if "{{" in branch else branch.strip()


def _instance(appset: dict[str, Any], namespace: str, kind: str | None) -> tuple[list[str], dict[str, str]]:
    """The `--set` arguments and the namespace labels the ApplicationSet gives one federation or namespace."""
    spec = appset["spec"]["template"]["spec"]
    sets = [f"{p['name']}={_evaluated(str(p['value']), namespace, kind)}"
            for p in spec["source"]["helm"]["parameters"]]
    metadata = spec.get("syncPolicy", {}).get("managedNamespaceMetadata", {})
    labels = {key: _evaluated(str(value), namespace, kind) for key, value in metadata.get("labels", {}).items()}
    return sets, {NAMESPACE_NAME: namespace, **labels}


def _template(helm: str, chart: Path, sets: list[str]) -> list[dict[str, Any]]:
    args = [helm, "template", "netpol", str(chart)]
    for item in sets:
        args += ["--set-string", item]
    env = {**os.environ, "HELM_CACHE_HOME": "/nonexistent", "HELM_CONFIG_HOME": "/nonexistent"}
    done = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    return [d for d in yaml.safe_load_all(done.stdout) if d and d.get("kind") == "NetworkPolicy"]


def _bare(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy as the evaluator reads it: kind, name, namespace, spec (labels and comments say nothing)."""
    meta = policy["metadata"]
    return {"apiVersion": policy["apiVersion"], "kind": policy["kind"],
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "spec": policy["spec"]}


def render(helm: str, tree: Path) -> dict[str, Any]:
    namespaces: dict[str, dict[str, str]] = {}
    policies: list[dict[str, Any]] = []
    federation_set = _appset(tree, "federation-network-policies")
    for namespace, (kind, directory) in FEDERATIONS.items():
        sets, namespaces[namespace] = _instance(federation_set, namespace, kind)
        policies += _template(helm, tree / "common/security/federation", sets)
        remote = tree / directory / REMOTE_POLICIES
        if remote.is_file():
            policies += [p for p in _documents(remote) if p["kind"] == "NetworkPolicy"]
    common_set = _appset(tree, "common-network-policies")
    for element in common_set["spec"]["generators"][0]["list"]["elements"]:
        namespace = element["commonNamespace"]
        sets, namespaces[namespace] = _instance(common_set, namespace, None)
        policies += _template(helm, tree / "common/security/common-templates", sets)
    calico = [d for d in _documents(tree / CALICO) if d["kind"] == "GlobalNetworkPolicy"] \
        if (tree / CALICO).is_file() else []
    return {"namespaces": namespaces, "policies": [_bare(p) for p in policies], "calico": calico}


def main(argv: list[str]) -> int:
    reference = Path(argv[0]) if argv else DEFAULT_REFERENCE
    helm = _helm()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, (directory, what) in TREES.items():
        header = (f"# The NetworkPolicies of {what}:\n"
                  "# namespace labels, the policies as Argo CD applies them, the Calico GlobalNetworkPolicies of\n"
                  "# common/security/remote-clusters. Written by scripts/vendor_network.py (do not edit by hand);\n"
                  "# read by tests/security/test_flows.py.\n")
        body = yaml.dump(render(helm, reference / directory), Dumper=_NoAliases, sort_keys=False, width=120)
        (FIXTURES / f"{name}.yaml").write_text(header + body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
