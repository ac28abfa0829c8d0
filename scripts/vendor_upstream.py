"""Copy the upstream data the tests need into the repository, deterministically.

Usage: python scripts/vendor_upstream.py [REFERENCE_DIR]

REFERENCE_DIR (default: ``../shared/reference`` relative to the repository root) must hold the unmodified
upstream files ``argo-cd/crds/*.yaml``, ``argo-cd/install.yaml`` and ``external-secrets/crds/*.yaml``.
Writes:

* ``tests/schemas/<group>/<Kind>_<version>.json`` -- the ``openAPIV3Schema`` of every served CRD version,
  without ``description`` keywords, plus ``tests/schemas/index.json`` (apiVersion/kind -> file, scope) and
  ``tests/schemas/SOURCES.md``;
* ``tests/fixtures/crds/<crd name>.yaml`` -- the CRDs themselves, descriptions stripped the same way;
* ``examples/argocd-preview/argocd-repo-server.yaml`` and ``examples/argocd-preview/argocd-cmd-params-cm.yaml``
  -- those two documents copied byte-for-byte from ``install.yaml`` (the admins' offline preview; the tests
  build the components over them too);
* ``tests/fixtures/argo-cd-v3.1.12/crds/<crd name>.yaml`` and ``tests/schemas/argo-cd-v3.1.12/...`` -- the same
  for the oldest Argo CD mip-cmp supports, from ``argo-cd-v3.1.12/crds/*.yaml``.
* ``tests/fixtures/mip-infra/`` -- a byte-for-byte copy of the mip-infra checkout ``REFERENCE_DIR/mip-infra``
  (without ``.git``), the input of the ``mip-cmp import`` tests and the facts the sample platform is compared
  with; and ``tests/fixtures/mip-infra-upstream/`` the same of ``REFERENCE_DIR/mip-infra-upstream`` (upstream
  as it is now, reconstructed: its PROVENANCE.md says how);
* ``sample-repo/common/...`` and ``sample-repo/federations/federation-a/overlays/...`` -- the manifests,
  kustomize directories and chart files of upstream mip-infra as it deploys today
  (``REFERENCE_DIR/mip-infra-upstream``) that the sample platform deploys as they are (HAProxy ingress, the
  ECK chart's values and Beat templates, the notebook operator, athena-proxy, Submariner 0.24.2, federation-A's
  exareme2 overlay), byte-for-byte; and the same of mip-infra at 3603251 for the March platform kept as a test
  fixture, ``tests/fixtures/march-platform/`` (nginx-public ingress, Submariner 0.21.0, the same overlay);
* ``tests/schemas/multicluster.x-k8s.io/...`` and ``tests/fixtures/crds/serviceexports...`` -- the ServiceExport
  CRD, from the Go module ``sigs.k8s.io/mcs-api`` (``go mod download``: the one input not in REFERENCE_DIR).

Running it twice gives identical bytes; the tests never read REFERENCE_DIR.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"

# The mip-infra checkouts `mip-cmp import` is tested on: the March copy, and upstream as it is now.
MIP_INFRA_FIXTURE = "tests/fixtures/mip-infra"
MIP_INFRA_UPSTREAM_FIXTURE = "tests/fixtures/mip-infra-upstream"
MIP_INFRA_COPIES = {"mip-infra": MIP_INFRA_FIXTURE, "mip-infra-upstream": MIP_INFRA_UPSTREAM_FIXTURE}
# Upstream files a platform deploys unchanged: source -> path in that platform (the same layout, so an
# Application's source path stays what it was). sample-repo/ is upstream as it deploys today
# (REFERENCE_DIR/mip-infra-upstream); the March platform (mip-infra at 3603251) is kept as a test fixture.
TODAY_SAMPLE = "sample-repo"
MARCH_PLATFORM = "tests/fixtures/march-platform"
SAMPLE_FILES = {
    (TODAY_SAMPLE, "mip-infra-upstream"): {
        **{f"common/haproxy-ingress/manifests/{name}": f"common/haproxy-ingress/manifests/{name}" for name in (
            "haproxy-configmap.yaml", "haproxy-public-default-certificate.yaml", "haproxy-public-deployment.yaml")},
        **{f"common/monitoring/eck/{name}": f"common/monitoring/eck/{name}" for name in (
            "values.yaml", "templates/filebeat.yaml", "templates/metricbeat.yaml")},
        **{f"common/notebook-operator/manifests/{name}": f"common/notebook-operator/manifests/{name}" for name in (
            "kustomization.yaml", "deployment.yaml", "rbac-manager-cronjob.yaml", "reconcile.sh", "api-proxy.yaml",
            "api-proxy.conf.template", "api-proxy-certificates.yaml")},
        **{f"common/athena-proxy/manifests/{name}": f"common/athena-proxy/manifests/{name}" for name in (
            "kustomization.yaml", "athena-proxy.yaml")},
        **{f"common/submariner/{name}": f"common/submariner/{name}" for name in (
            "broker/kustomization.yaml", "broker/values.yaml", "broker/copy-secret-hook.yaml",
            "operator/kustomization.yaml", "operator/values.yaml", "operator/gateway-loadbalancer-ip.yaml")},
        **{f"deployments/local/federations/federation-A/customizations/overlays/exareme2/{name}":
           f"federations/federation-a/overlays/exareme2/{name}" for name in (
            "kustomization.yaml", "exareme2-pvc-patch.yaml")},
    },
    (MARCH_PLATFORM, "mip-infra"): {
        **{f"common/nginx-ingress/manifests/{name}": f"common/nginx-ingress/manifests/{name}" for name in (
            "kustomization.yaml", "nginx-public-ingressclass.yaml", "nginx-public-service.yaml",
            "nginx-public-deployment.yaml", "clusterissuer-letsencrypt-public.yaml")},
        **{f"common/submariner/{name}": f"common/submariner/{name}" for name in (
            "broker/kustomization.yaml", "broker/values.yaml", "broker/copy-secret-hook.yaml",
            "operator/kustomization.yaml", "operator/values.yaml", "operator/gateway-loadbalancer-ip.yaml")},
        **{f"deployments/local/federations/federation-A/customizations/overlays/exareme2/{name}":
           f"federations/federation-a/overlays/exareme2/{name}" for name in (
            "kustomization.yaml", "exareme2-pvc-patch.yaml")},
    },
}

# Upstream releases the reference copies were taken from (recorded in SOURCES.md).
ARGOCD_TAG, ARGOCD_COMMIT = "v3.5.1", "109ca7ca71"
# The oldest Argo CD mip-cmp supports (mip_cmp.core.compat.OLDEST_SUPPORTED): only its three CRDs.
OLDEST_ARGOCD_TAG = "v3.1.12"
OLDEST_CRD_FILES = tuple(f"argo-cd-{OLDEST_ARGOCD_TAG}/crds/{name}-crd.yaml"
                         for name in ("application", "applicationset", "appproject"))
ESO_TAG, ESO_COMMIT = "v2.9.0", "378bdb622e"

# The ServiceExport CRD (Multi-Cluster Services API), which Submariner's Lighthouse serves: a catalog app's
# `objects` may be ServiceExports. Its one source is the Go module; `go mod download` fetches it from the Go
# module proxy into go's module cache.
MCS_API_MODULE, MCS_API_VERSION = "sigs.k8s.io/mcs-api", "v0.5.2"
MCS_CRD = "config/crd/multicluster.x-k8s.io_serviceexports.yaml"

CRD_FILES = (
    "argo-cd/crds/application-crd.yaml",
    "argo-cd/crds/applicationset-crd.yaml",
    "argo-cd/crds/appproject-crd.yaml",
    "external-secrets/crds/external-secrets.io_externalsecrets.yaml",
    "external-secrets/crds/external-secrets.io_secretstores.yaml",
    "external-secrets/crds/external-secrets.io_clustersecretstores.yaml",
    "external-secrets/crds/generators.external-secrets.io_passwords.yaml",
)
# (kind, metadata.name) of install.yaml documents copied verbatim -> file name in INSTALL_DOCS_DIR
INSTALL_DOCS_DIR = "examples/argocd-preview"
INSTALL_DOCS = {
    ("Deployment", "argocd-repo-server"): "argocd-repo-server.yaml",
    ("ConfigMap", "argocd-cmd-params-cm"): "argocd-cmd-params-cm.yaml",
}

# Schema keywords whose value is a map of name -> schema, a schema, or a list of schemas.
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_VALUES = ("additionalProperties", "items", "not", "additionalItems", "contains")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def strip_descriptions(schema: Any) -> Any:
    """Return a copy of an OpenAPI v3 schema without ``description`` keywords.

    Only keys of schema objects are keywords: a *property* named ``description`` (a key of ``properties``)
    is kept, and non-schema values (``default``, ``enum``, ``example``, ...) are copied untouched.
    """
    if not isinstance(schema, dict):
        return schema  # boolean schema (e.g. additionalProperties: false)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_descriptions(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES:
            is_list = isinstance(value, list)
            out[key] = [strip_descriptions(sub) for sub in value] if is_list else strip_descriptions(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip_descriptions(sub) for sub in value]
        else:
            out[key] = value
    return out


def strip_crd(crd: dict[str, Any]) -> dict[str, Any]:
    """A copy of a CustomResourceDefinition with descriptions removed from every version's schema."""
    crd = json.loads(json.dumps(crd))  # deep copy
    for version in crd["spec"]["versions"]:
        schema = version.get("schema", {})
        if "openAPIV3Schema" in schema:
            schema["openAPIV3Schema"] = strip_descriptions(schema["openAPIV3Schema"])
    return crd


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)


def install_documents(install_yaml: str) -> dict[str, str]:
    """The raw text of the wanted documents of install.yaml, keyed by fixture file name."""
    found: dict[str, str] = {}
    for raw in re.split(r"(?m)^---[ \t]*\n", install_yaml):
        doc = yaml.safe_load(raw)
        if not isinstance(doc, dict):
            continue
        target = INSTALL_DOCS.get((doc.get("kind"), doc.get("metadata", {}).get("name")))
        if target:
            found[target] = raw if raw.endswith("\n") else raw + "\n"
    missing = set(INSTALL_DOCS.values()) - set(found)
    if missing:
        raise SystemExit(f"install.yaml lacks documents for {sorted(missing)}")
    return found


def go_module_dir(module: str, version: str) -> Path:
    """Where go keeps a module's files after downloading it (from the Go module proxy, or its cache)."""
    try:
        done = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True,
                              text=True, check=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SystemExit(f"cannot download the Go module {module}@{version} (needs go and the Go module proxy): "
                         f"{exc}") from exc
    return Path(json.loads(done.stdout)["Dir"])


def render(reference: Path) -> dict[str, str]:
    """Every output file (path relative to the repository root) with its content."""
    mcs_crd = str(go_module_dir(MCS_API_MODULE, MCS_API_VERSION) / MCS_CRD)  # absolute: `reference /` keeps it
    files = _crds(reference, (*CRD_FILES, mcs_crd), "tests/fixtures/crds", "tests/schemas")
    oldest = f"argo-cd-{OLDEST_ARGOCD_TAG}"
    files |= _crds(reference, OLDEST_CRD_FILES, f"tests/fixtures/{oldest}/crds", f"tests/schemas/{oldest}")
    install = (reference / "argo-cd/install.yaml").read_text(encoding="utf-8")
    for name, text in install_documents(install).items():
        files[f"{INSTALL_DOCS_DIR}/{name}"] = text
    for source, fixture in MIP_INFRA_COPIES.items():
        checkout = reference / source
        for path in sorted(checkout.rglob("*")):
            rel = path.relative_to(checkout)
            if path.is_file() and ".git" not in rel.parts[:1]:
                files[f"{fixture}/{rel.as_posix()}"] = path.read_text(encoding="utf-8")
    for (platform, checkout), copies in SAMPLE_FILES.items():
        for src, dst in copies.items():
            files[f"{platform}/{dst}"] = (reference / checkout / src).read_text(encoding="utf-8")
    return files


def _crds(reference: Path, crd_files: tuple[str, ...], crd_dir: str, schema_dir: str) -> dict[str, str]:
    """The stripped CRDs, their schemas, the schema index and SOURCES.md of one set of CRD files."""
    files: dict[str, str] = {}
    index: dict[str, dict[str, dict[str, str]]] = {}
    for rel in crd_files:
        crd = yaml.safe_load((reference / rel).read_text(encoding="utf-8"))
        if crd.get("kind") != "CustomResourceDefinition":
            raise SystemExit(f"{rel}: not a CustomResourceDefinition")
        crd = strip_crd(crd)
        group, kind, scope = crd["spec"]["group"], crd["spec"]["names"]["kind"], crd["spec"]["scope"]
        files[f"{crd_dir}/{crd['metadata']['name']}.yaml"] = _yaml_text(crd)
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            schema_path = f"{group}/{kind}_{version['name']}.json"
            # Checked here, once, when vendored: tests/support/k8s_validation.py trusts these files (the metaschema
            # check costs seconds per schema, too much for every test process).
            jsonschema.Draft202012Validator.check_schema(version["schema"]["openAPIV3Schema"])
            files[f"{schema_dir}/{schema_path}"] = _json_text(version["schema"]["openAPIV3Schema"])
            index.setdefault(f"{group}/{version['name']}", {})[kind] = {"schema": schema_path, "scope": scope}
    files[f"{schema_dir}/index.json"] = _json_text(index)
    files[f"{schema_dir}/SOURCES.md"] = _sources_md(index)
    return files


def _sources_md(index: dict[str, dict[str, dict[str, str]]]) -> str:
    kinds = "\n".join(
        f"| `{api}` | `{kind}` | {entry['scope']} | `{entry['schema']}` |"
        for api in sorted(index)
        for kind, entry in sorted(index[api].items())
    )
    return f"""# Vendored upstream schemas and fixtures

Generated by `python scripts/vendor_upstream.py [REFERENCE_DIR]`; do not edit by hand, rerun the script.

| upstream (Apache-2.0) | tag | commit | files taken |
|---|---|---|---|
| argoproj/argo-cd | `{ARGOCD_TAG}` | `{ARGOCD_COMMIT}` | `manifests/crds/*.yaml`, `manifests/install.yaml` |
| external-secrets/external-secrets | `{ESO_TAG}` | `{ESO_COMMIT}` | `config/crds/bases/*.yaml` |
| argoproj/argo-cd, oldest supported | `{OLDEST_ARGOCD_TAG}` | | `manifests/crds/*.yaml` |
| kubernetes-sigs/mcs-api (Go module `{MCS_API_MODULE}`) | `{MCS_API_VERSION}` | | `{MCS_CRD}` |

- `tests/schemas/<group>/<Kind>_<version>.json`: `openAPIV3Schema` of each **served** CRD version with every
  `description` keyword removed (properties that are named `description` are kept). `index.json` maps
  apiVersion and kind to the schema file and the CRD scope.
- `tests/fixtures/crds/*.yaml`: the CustomResourceDefinitions, descriptions stripped the same way.
- `{INSTALL_DOCS_DIR}/argocd-repo-server.yaml`, `{INSTALL_DOCS_DIR}/argocd-cmd-params-cm.yaml`: copied
  verbatim from `install.yaml`.

| apiVersion | kind | scope | schema |
|---|---|---|---|
{kinds}
"""


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 0 if len(argv) == 2 else 2
    reference = Path(argv[1]) if len(argv) == 2 else DEFAULT_REFERENCE
    if not (reference / "argo-cd" / "install.yaml").is_file():
        print(f"error: {reference} does not look like the reference directory", file=sys.stderr)
        return 2
    files = render(reference)
    # Drop outputs that are no longer produced.
    for managed in ("tests/schemas", "tests/fixtures/crds", f"tests/fixtures/argo-cd-{OLDEST_ARGOCD_TAG}",
                    *MIP_INFRA_COPIES.values()):
        for old in sorted((REPO_ROOT / managed).rglob("*")):
            if old.is_file() and str(old.relative_to(REPO_ROOT)) not in files:
                old.unlink()
    for rel, text in sorted(files.items()):
        path = REPO_ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    print(f"wrote {len(files)} files from {reference}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
