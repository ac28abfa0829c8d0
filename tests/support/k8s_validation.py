"""Schema validation of generated Kubernetes objects, for tests.

``validate_object(obj)`` returns a list of readable errors (empty when the object is valid):

* kinds of the vendored CRDs (``tests/schemas/index.json``, written by ``scripts/vendor_upstream.py``)
  are checked against the CRD's ``openAPIV3Schema``, only as strict as the schema itself (no extra
  ``additionalProperties: false``); CEL rules (``x-kubernetes-validations``) and ``format`` are not
  evaluated;
* any other apiVersion/kind is checked with ``kubernetes_validate`` (Kubernetes ``KUBERNETES_VERSION``,
  strict, i.e. unknown fields are errors);
* for every object: ``metadata.name`` is a DNS-1123 subdomain; ``metadata.namespace`` (if set, or when
  ``require_namespace``) is a DNS-1123 label, and absent on cluster-scoped kinds; labels are well formed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from mip_cmp.core import keypath

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
KUBERNETES_VERSION = "1.30"
_MAX_MESSAGE = 300

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SCHEMA_VALUED = frozenset({"additionalProperties", "items", "not", "allOf", "anyOf", "oneOf"})

# Core kinds that are cluster-scoped (namespace must not be set); everything else there is namespaced.
_CLUSTER_SCOPED_CORE = frozenset(
    {
        "APIService", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
        "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
        "RuntimeClass", "StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration", "VolumeAttachment",
    }
)  # fmt: skip


# The same for the oldest Argo CD mip-cmp supports (its three CRDs only; ESO's are the ones above).
OLDEST_ARGOCD_SCHEMA_DIR = SCHEMA_DIR / "argo-cd-v3.1.12"


@functools.cache
def _index(schema_dir: Path = SCHEMA_DIR) -> dict[str, dict[str, dict[str, str]]]:
    """apiVersion -> kind -> {"schema": relative path, "scope": "Namespaced" | "Cluster"}."""
    index: dict[str, dict[str, dict[str, str]]] = json.loads((schema_dir / "index.json").read_text("utf-8"))
    if schema_dir != SCHEMA_DIR:  # an older Argo CD beside the current ESO
        index = {**{a: {k: {**e, "dir": str(SCHEMA_DIR)} for k, e in kinds.items()}
                    for a, kinds in _index().items() if a not in index}, **index}
    return index


def _openapi_to_jsonschema(schema: Any) -> Any:
    """Copy of a CRD schema where OpenAPI's ``nullable: true`` also admits ``null`` under JSON Schema."""
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _openapi_to_jsonschema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUED:
            out[key] = _openapi_to_jsonschema(value)
        else:  # default, enum, required, x-kubernetes-*: data, not schemas
            out[key] = value
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def crd_schema(api_version: str, kind: str, schema_dir: Path = SCHEMA_DIR) -> Any:
    """The vendored openAPIV3Schema of a CRD kind."""
    entry = _index(schema_dir)[api_version][kind]
    return json.loads((Path(entry.get("dir", schema_dir)) / entry["schema"]).read_text("utf-8"))


@functools.cache
def _crd_validator(api_version: str, kind: str, schema_dir: Path = SCHEMA_DIR) -> jsonschema.protocols.Validator:
    schema = _openapi_to_jsonschema(crd_schema(api_version, kind, schema_dir))
    # The schema itself was checked against the JSON Schema metaschema when it was vendored
    # (scripts/vendor_upstream.py): checking it again here took seconds per test process.
    return jsonschema.validators.Draft202012Validator(schema)


def format_path(path: Iterable[Any]) -> str:
    """``["spec", "sources", 0, "repoURL"]`` -> ``spec.sources[0].repoURL`` (mip-cmp's own formatter; odd keys
    are quoted)."""
    return keypath.format_path([p if isinstance(p, int) else str(p) for p in path]) or "<root>"


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _label_errors(labels: Any) -> list[tuple[str, str]]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [("metadata.labels", "must be a map of strings")]
    errors = []
    for key, value in labels.items():
        where = format_path(["metadata", "labels", key])
        prefix, _, name = str(key).rpartition("/")
        if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
            errors.append((where, f"label key prefix {prefix!r} is not a DNS-1123 subdomain"))
        if len(name) > 63 or not _LABEL_NAME.match(name):
            errors.append((where, f"label key name {name!r} is not a valid label name (<= 63 chars)"))
        if not isinstance(value, str):
            errors.append((where, f"label value {value!r} is not a string"))
        elif value and (len(value) > 63 or not _LABEL_NAME.match(value)):
            errors.append((where, f"label value {value!r} is not a valid label value (<= 63 chars)"))
    return errors


def _metadata_errors(
    obj: dict[str, Any], cluster_scoped: bool, require_namespace: bool
) -> list[tuple[str, str]]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return [("metadata", "is required and must be an object")]
    errors: list[tuple[str, str]] = []
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        errors.append(("metadata.name", "is required"))
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(("metadata.name", f"{name!r} is not a DNS-1123 subdomain (a-z0-9 '-' '.', <= 253)"))
    namespace = metadata.get("namespace")
    if cluster_scoped:
        if namespace is not None:
            errors.append(("metadata.namespace", f"must not be set on cluster-scoped {obj.get('kind')}"))
    elif namespace is None:
        if require_namespace:
            errors.append(("metadata.namespace", "is required"))
    elif not isinstance(namespace, str) or len(namespace) > 63 or not DNS1123_LABEL.match(namespace):
        errors.append(("metadata.namespace", f"{namespace!r} is not a DNS-1123 label (a-z0-9 '-', <= 63)"))
    return errors + _label_errors(metadata.get("labels"))


def _core_errors(obj: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Errors from kubernetes-validate, or None when it has no schema for the kind."""
    import kubernetes_validate  # lazy: loads its schema files on use

    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return None
    except kubernetes_validate.ValidationError as error:
        return [(format_path(error.path), _short(error.message))]
    return []


def validate_object(obj: Any, *, require_namespace: bool = False, schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Validate one Kubernetes object; return readable error strings (empty list: valid). `schema_dir`:
    the CRD schemas to use (OLDEST_ARGOCD_SCHEMA_DIR: the oldest Argo CD's)."""
    if not isinstance(obj, dict):
        return [f"<not an object>: {_short(repr(obj))}"]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"{kind or '<no kind>'}/{name or '<no name>'}"
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return [f"{label}: apiVersion and kind must be non-empty strings"]

    index = _index(schema_dir)
    if kind in index.get(api_version, {}):
        validator = _crd_validator(api_version, kind, schema_dir)
        found = sorted(validator.iter_errors(obj), key=lambda e: (format_path(e.absolute_path), e.message))
        errors = [(format_path(err.absolute_path), _short(err.message)) for err in found]
        cluster_scoped = index[api_version][kind]["scope"] == "Cluster"
    else:
        group = api_version.rpartition("/")[0]
        vendored_groups = {api.rpartition("/")[0] for api in index}
        known = sorted(api for api, kinds in index.items() if api.startswith(f"{group}/") and kind in kinds)
        core = None if group in vendored_groups else _core_errors(obj)
        if core is None:
            hint = f" (vendored: {', '.join(known)})" if known else ""
            return [
                f"{label}: {api_version} {kind} is not among the vendored CRD schemas"
                f" nor the Kubernetes {KUBERNETES_VERSION} core schemas{hint}"
            ]
        errors = core
        cluster_scoped = kind in _CLUSTER_SCOPED_CORE
    errors += _metadata_errors(obj, cluster_scoped, require_namespace)
    return [f"{label}: {path}: {message}" for path, message in errors]
