"""Property tests (hypothesis) of the generate path, in-process for speed.

* Any valid federation renders to output that parses, stays confined to the federation (project, namespace,
  cluster, names), validates against the vendored schemas, and is byte-for-byte deterministic.
* Any other input, arbitrary text or bytes, mutated documents, YAML token soup, template expressions or
  Argo CD environments, ends in valid confined output or a MipError (exit 1) and never any other exception
  (the CLI's exit 3).

CI runs fixed seeds (derandomize) and fixed example counts, FUZZ_EXAMPLES below (>= 1200 in all).
scripts/fuzz.sh runs the same properties longer: MIP_FUZZ_EXAMPLES sets the examples per property and
MIP_FUZZ_RANDOM=1 draws fresh random examples instead of the fixed ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import SAMPLE_REPO, YAML_LOADER, argo_env
from k8s_validation import validate_object
from mip_cmp.core import meter
from mip_cmp.core.errors import MipError
from mip_cmp.core.redact import credential_value
from mip_cmp.pipeline import generate, render_objects
from mip_cmp.stage1_read import buildenv
from mip_cmp.stage1_read.repo import Repo

FED_A = "federations/federation-a"
ARGOCD_NS = "argocd-mip-team"
CLUSTERS = {"in-cluster": "https://kubernetes.default.svc",
            "mip-public": "https://mip-public.mip-tds.chuv.cscs.ch:6443"}
CATALOG = {"exareme2": ("https://github.com/madgik/exareme2", ()),
           "mip-stack": ("https://github.com/Medical-Informatics-Platform/mip",
                         ("keycloak-credentials", "mip-secret", "jupyterhub-crypt"))}
NAME_PATTERN = re.compile(r"federation-[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# The sample platform's host pattern (federations.publicHosts): a valid federation claims a host within it.
HOST_PATTERN: str = yaml.safe_load((SAMPLE_REPO / "mip.yaml").read_text())["federations"]["publicHosts"]["pattern"]

# Examples per property in CI (fixed, derandomized: the same examples every run). Their sum is the CI fuzz
# budget (test_fuzz_budget keeps it >= 1200). It was 2,300 until the README's test command had to fit in 90 s;
# the smaller set reaches every branch the larger one did (measured with coverage), and a deeper search is what
# scripts/fuzz.sh is for (20,000 fresh random examples per property).
FUZZ_EXAMPLES = {
    "valid_federation": 250,
    "arbitrary_text": 150,
    "arbitrary_bytes": 100,
    "mutated_document": 250,
    "yaml_token_soup": 200,
    "template_expression": 250,
    "argocd_environment": 100,
}
_OVERRIDE = int(os.environ.get("MIP_FUZZ_EXAMPLES", "0"))
_RANDOM = os.environ.get("MIP_FUZZ_RANDOM") == "1"


def fuzz(name: str) -> Callable[[Any], Any]:
    return settings(
        max_examples=_OVERRIDE or FUZZ_EXAMPLES[name], derandomize=not _RANDOM, database=None, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        print_blob=True,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fuzz") / "repo"
    shutil.copytree(SAMPLE_REPO, target)
    return target


def render(repo: Path, content: str | bytes, *, component: str = "", federation: str = "federation-a",
           environ: dict[str, str] | None = None, directory: str = FED_A) -> bytes:
    (repo / directory / "mip.yaml").write_bytes(content.encode() if isinstance(content, str) else content)
    params = [{"name": "federation", "string": federation}]
    if component:
        params.append({"name": "component", "string": component})
    return generate(repo / directory, environ if environ is not None else argo_env(directory, params=params))


@contextlib.contextmanager
def named_directory(repo: Path, name: str) -> Iterator[str]:
    """federation-a's directory under the name `name` (a federation directory carries its federation's name),
    the sample's other federations beside it unless one of them has that name; yields that directory and puts
    everything back afterwards (renames only: a copy of the federations per example was a fifth of its cost)."""
    federations = repo / "federations"
    home, target, parked = federations / "federation-a", federations / name, repo / "parked"
    if name != "federation-a":
        if target.exists():
            target.rename(parked)
        home.rename(target)
    try:
        yield f"federations/{name}"
    finally:
        if name != "federation-a":
            target.rename(home)
            if parked.exists():
                parked.rename(target)
        (home / "mip.yaml").write_bytes((SAMPLE_REPO / FED_A / "mip.yaml").read_bytes())


def platform_objects(repo: Path) -> list[dict[str, Any]]:
    """The root's objects as data, as `generate` builds them before writing them out (the root's bytes are the
    golden cases' and test_determinism's; parsing them back here was a third of an example's cost)."""
    with meter.metered():
        return render_objects(Repo(repo), ".", buildenv.from_environ(argo_env(".")))


def parse(output: bytes) -> list[dict[str, Any]]:
    assert output, "success with empty output"
    objects = [o for o in yaml.load_all(output, Loader=YAML_LOADER) if o is not None]
    assert objects and all(isinstance(o, dict) for o in objects)
    return objects


def assert_confined(objects: list[dict[str, Any]], name: str, cluster: str, component: str) -> None:
    """Everything a federation directory yields stays in its federation's project, namespace and cluster."""
    for obj in objects:
        meta = obj["metadata"]
        assert obj["kind"] != "Secret"
        if component == "secrets":
            assert obj["kind"] in ("ExternalSecret", "Password")
            assert meta["namespace"] == name
            assert meta["name"] in ("keycloak-credentials", "mip-secret", "jupyterhub-crypt")
        else:
            assert obj["kind"] == "Application"
            assert meta["namespace"] == ARGOCD_NS
            assert meta["name"].startswith(f"{name}-")
            assert obj["spec"]["project"] == name
            assert obj["spec"]["destination"] == {"server": CLUSTERS[cluster], "namespace": name}
            assert "sources" not in obj["spec"]
        assert validate_object(obj, require_namespace=True) == []


def assert_clean(run: Callable[[], bytes], *, name: str | None = None) -> None:
    """Success with confined output, or a MipError; any other exception fails the property.

    `name` is the federation the render was bound to; without one, the output must still be confined to
    the one federation it names (its first object's)."""
    try:
        output = run()
    except MipError as exc:
        assert exc.problems and all("\n" not in str(p) for p in exc.problems)
        return
    objects = parse(output)
    first = objects[0]
    component = "" if first["kind"] == "Application" else "secrets"
    if component:
        owner, cluster = first["metadata"]["namespace"], "in-cluster"
    else:
        owner = first["spec"]["project"]
        cluster = next(c for c, url in CLUSTERS.items() if first["spec"]["destination"]["server"] == url)
    if name is not None:
        assert owner == name
    assert_confined(objects, owner, cluster, component)


def assert_project_confined(objects: list[dict[str, Any]], name: str, cluster: str, apps: dict[str, Any]) -> None:
    """The root's AppProject for a federation and its ApplicationSet entry follow from the federation's name,
    cluster and apps only: nothing in the federation file can widen them."""
    project = next(o for o in objects if o["kind"] == "AppProject" and o["metadata"]["name"] == name)
    spec = project["spec"]
    assert spec["destinations"] == [{"server": CLUSTERS[cluster], "namespace": name}]
    # The sample declares Argo CD v3.3.11: the project names the one namespace it may create.
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace", "name": name}]
    platform_repo = "https://github.com/Medical-Informatics-Platform/mip-infra.git"
    assert set(spec["sourceRepos"]) == {platform_repo} | {CATALOG[a][0] for a in apps}
    assert "sourceNamespaces" not in spec
    for role in spec["roles"]:
        assert all(p.startswith(f"p, proj:{name}:") and p.endswith(f", {name}/*, allow") for p in role["policies"])
    appset = next(o for o in objects if o["kind"] == "ApplicationSet")
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    assert {"name": name, "path": f"federations/{name}"} in elements


# --- strategies -----------------------------------------------------------------------------------------


def _collides(name: str) -> bool:
    return any(name.endswith(f"-{s}") and NAME_PATTERN.fullmatch(name[: -len(s) - 1])
               for s in (*CATALOG, "secrets", "objects"))


names = st.from_regex(r"\Afederation-[a-z0-9](?:[-a-z0-9]{0,24}[a-z0-9])?\Z", fullmatch=True).filter(
    lambda n: not _collides(n))
keys = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_.-]{0,10}\Z", fullmatch=True)
TEMPLATES = ["{{ federation.name }}", "{{ federation.namespace }}-db", "{{ app.name }}", "{{ app.version }}",
             "{{ federation.publicHost }}", "{{ platform.argocdNamespace }}", "{{ federation.name | upper }}",
             "{{ federation.type ~ '-' ~ federation.cluster }}",
             "{{ 'big' if federation.type == 'hybrid' else 'small' }}", "{{ federation.name | replace('-', '_') }}",
             "{{ [federation.name, app.name] | join('.') }}", "{{ (app.version | length) * 2 }}"]
# Valid text: no surrogates, no template braces, and none of the characters Argo CD cannot read back (DEL, the
# C1 controls, U+FFFE/U+FFFF: refused at input, tests/golden/attacks.yaml encoding-*).
UNREADABLE = "".join(map(chr, range(0x7F, 0xA0))) + "\ufffe\uffff"
plain_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="{}" + UNREADABLE), max_size=16)
scalars = (st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | plain_text | st.sampled_from(TEMPLATES))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                     max_leaves=10)
values = st.dictionaries(keys, trees, max_size=4)
ignore_differences = st.lists(st.fixed_dictionaries(
    {"kind": st.sampled_from(["Deployment", "StatefulSet"])},
    optional={"group": st.sampled_from(["apps", ""]), "name": st.sampled_from(["exareme2", "db"]),
              "jsonPointers": st.lists(st.sampled_from(["/spec/replicas", "/metadata/labels"]), min_size=1,
                                       max_size=2)}), max_size=2)
revisions = st.from_regex(r"\A[0-9a-f]{40}\Z", fullmatch=True) | st.sampled_from(["main", "v1.2.3"])
app_entries = st.none() | st.fixed_dictionaries(
    {}, optional={"values": values, "revision": revisions, "ignoreDifferences": ignore_differences})
federations = st.fixed_dictionaries(
    {"apiVersion": st.just("mip-cmp.io/v1alpha1"), "kind": st.just("Federation"), "name": names,
     "cluster": st.sampled_from(sorted(CLUSTERS)),
     "apps": st.dictionaries(st.sampled_from(sorted(CATALOG)), app_entries, min_size=1)},
    optional={"type": st.sampled_from(["local", "hybrid"]),
              "publicHost": st.sampled_from([HOST_PATTERN, HOST_PATTERN.replace("federation.name", "federation.namespace"),
                                             HOST_PATTERN.replace("federation.name", "federation.name | lower")])},
)


def _holds_credential(value: Any, key: str = "") -> bool:
    if isinstance(value, dict):
        return any(_holds_credential(v, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_credential(v, key) for v in value)
    return isinstance(value, str) and credential_value(key, value)


def dump(doc: Any, flow: bool = False) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=flow)


# --- valid configurations -------------------------------------------------------------------------------


@pytest.mark.slow
@fuzz("valid_federation")
@given(doc=federations, flow=st.booleans())
def test_valid_federation_renders_confined_valid_deterministic(repo: Path, doc: dict[str, Any], flow: bool) -> None:
    assume(not _holds_credential(doc["apps"]))
    name, cluster = doc["name"], doc["cluster"]
    with named_directory(repo, name) as directory:
        text = dump(doc, flow)
        output = render(repo, text, directory=directory, federation=name)
        objects = parse(output)
        needs_secrets = "mip-stack" in doc["apps"]
        # the sample's exareme2 exports its services in hybrid federations (catalog `objects`)
        needs_objects = doc.get("type") == "hybrid" and "exareme2" in doc["apps"]
        expected = {f"{name}-{app}" for app in doc["apps"]} | ({f"{name}-secrets"} if needs_secrets else set()) | \
            ({f"{name}-objects"} if needs_objects else set())
        assert {o["metadata"]["name"] for o in objects} == expected
        assert_confined(objects, name, cluster, "")
        for obj in objects:
            source = obj["spec"]["source"]
            app = obj["metadata"]["name"][len(name) + 1:]
            assert source["repoURL"] == (CATALOG[app][0] if app in CATALOG else
                                         "https://github.com/Medical-Informatics-Platform/mip-infra.git")
        assert render(repo, text, directory=directory, federation=name) == output, "the same input must give the same bytes"
        if name != "federation-z":  # the sample's other federation keeps its name
            assert_project_confined(platform_objects(repo), name, cluster, doc["apps"])
        if needs_secrets:
            secrets = render(repo, text, directory=directory, federation=name, component="secrets")
            assert_confined(parse(secrets), name, cluster, "secrets")
            assert render(repo, text, directory=directory, federation=name, component="secrets") == secrets
        else:
            with pytest.raises(MipError, match="nothing to render"):
                render(repo, text, directory=directory, federation=name, component="secrets")


# --- arbitrary input: valid output or a clean MipError, never anything else ------------------------------


@pytest.mark.slow
@fuzz("arbitrary_text")
@given(text=st.text(max_size=2000), component=st.sampled_from(["", "secrets"]))
def test_arbitrary_text_is_output_or_user_error(repo: Path, text: str, component: str) -> None:
    assert_clean(lambda: render(repo, text, component=component), name="federation-a")


@pytest.mark.slow
@fuzz("arbitrary_bytes")
@given(content=st.binary(max_size=2000))
def test_arbitrary_bytes_are_output_or_user_error(repo: Path, content: bytes) -> None:
    assert_clean(lambda: render(repo, content), name="federation-a")


# Anything JSON or YAML can hold, including what mip.yaml refuses (NaN, huge integers, deep trees, templates).
wild_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
                | st.sampled_from([*TEMPLATES, "{{ federation.nope }}", "{% for x in y %}", "{{", "1e999",
                                   "-----BEGIN RSA PRIVATE KEY-----", "AKIAIOSFODNN7EXAMPLE", "\x00", "\ufeff"]))
wild = st.recursive(wild_scalars, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12) | keys, inner, max_size=4), max_leaves=20)


def _mutate(doc: Any, path: list[int], replacement: Any, delete: bool) -> Any:
    """`doc` with the node picked by `path` (indices into the children at each level) replaced or deleted."""
    if not path or not isinstance(doc, (dict, list)) or not doc:
        return replacement
    items = list(doc.items()) if isinstance(doc, dict) else list(enumerate(doc))
    index = path[0] % len(items)
    key, child = items[index]
    if delete and len(path) == 1:
        items.pop(index)
    else:
        items[index] = (key, _mutate(child, path[1:], replacement, delete))
    return dict(items) if isinstance(doc, dict) else [v for _, v in items]


@pytest.mark.slow
@fuzz("mutated_document")
@given(doc=federations, path=st.lists(st.integers(0, 7), max_size=5), replacement=wild, delete=st.booleans(),
       flow=st.booleans(), component=st.sampled_from(["", "secrets"]))
def test_mutated_documents_are_output_or_user_error(repo: Path, doc: dict[str, Any], path: list[int],
                                                    replacement: Any, delete: bool, flow: bool,
                                                    component: str) -> None:
    mutated = _mutate(doc, path, replacement, delete)
    text = dump(mutated, flow)
    assert_clean(lambda: render(repo, text, federation=doc["name"], component=component), name=doc["name"])


FRAGMENTS = [
    "apiVersion: mip-cmp.io/v1alpha1\n", "kind: Federation\n", "name: federation-a\n", "cluster: in-cluster\n",
    "apps:\n", "  exareme2:\n", "    values:\n", "      x: ", "  mip-stack: {}\n", "publicHost: ", "a: ", "- ",
    "&anchor ", "*anchor", "!!python/object:os.system ", "!!binary ", "!!str ", "!!int ", "!!float ", "!!map ",
    "!custom ", "{{ federation.name }}", "{{ ''.__class__ }}", "{{", "}}", "{%", "{#", "'", '"', "\n", "  ",
    "\t", "[", "]", "{", "}", ": ", ", ", "# c\n", "---\n", "...\n", "<<: ", "? ", "|\n", ">-\n",
    "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "\ufeff", "\x00", "\x85", "~", "null", "true", "1e999", ".nan",
    "0x1F", "0o17", "1_000", "12:30:00", "2001-12-14", "9" * 40, "é", "\\u0000", "\"\\ud800\"", "\r\n",
]


@pytest.mark.slow
@fuzz("yaml_token_soup")
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=60), component=st.sampled_from(["", "secrets"]))
def test_yaml_token_soup_is_output_or_user_error(repo: Path, parts: list[str], component: str) -> None:
    assert_clean(lambda: render(repo, "".join(parts), component=component), name="federation-a")


ATOMS = ["federation", "federation.name", "federation.type", "app", "app.name", "platform.argocdNamespace",
         "self", "range", "lipsum", "x", "''", "'abc'", "'%s'", "'{}'", "1", "9", "64", "999999999", "10**18",
         "-1", "0.5", "[]", "{}", "[1, 2]", "{'a': 1}", "none", "true", "federation.__class__",
         "federation['name']", "federation.name.upper", "app['__init__']", "loop", "caller"]
expressions = st.recursive(st.sampled_from(ATOMS), lambda e: st.one_of(
    st.tuples(e, st.sampled_from(["*", "**", "+", "-", "/", "//", "%", "~", "==", "and", "or", "in", "<"]), e)
    .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    st.tuples(e, st.sampled_from(["upper", "lower", "length", "string", "int", "first", "last", "trim", "title",
                                  "capitalize", "replace('a', 'bb')", "replace('', 'x')", "join(',')",
                                  "truncate(5)", "default('d')", "attr('x')", "map('upper')", "list", "safe"]))
    .map(lambda t: f"({t[0]} | {t[1]})"),
    st.tuples(e, st.sampled_from([".name", "[0]", "['name']", "[::-1]", "[1:]", ".__class__", "()", "(1)",
                                  ".upper()", ".items()"])).map("".join),
    e.map(lambda x: f"[{x}, {x}, {x}]"),
    st.tuples(e, e, e).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    st.tuples(e, st.sampled_from(["defined", "none", "string", "number", "sameas x"])).map(
        lambda t: f"({t[0]} is {t[1]})"),
), max_leaves=12)


@pytest.mark.slow
@fuzz("template_expression")
@given(expression=expressions, where=st.sampled_from(["publicHost", "values"]))
def test_template_expressions_are_output_or_user_error_and_cheap(repo: Path, expression: str, where: str) -> None:
    template = "{{ " + expression + " }}"
    doc: dict[str, Any] = {"apiVersion": "mip-cmp.io/v1alpha1", "kind": "Federation", "name": "federation-a",
                           "cluster": "in-cluster", "apps": {"exareme2": None}}
    if where == "publicHost":
        doc["publicHost"] = template
    else:
        doc["apps"]["exareme2"] = {"values": {"x": template}}
    # CPU, not wall time (the machine is shared): this process's own, spent by the in-process render.
    started = time.process_time()
    assert_clean(lambda: render(repo, dump(doc)), name="federation-a")
    assert time.process_time() - started < 5, "a template must not be able to make a render expensive"


ENV_VALUES = st.one_of(
    st.text(max_size=40), st.sampled_from(["", "null", "[]", "{}", ".", "./", "/", "..", FED_A, f"/{FED_A}/",
                                           "federations/federation-z", "federations/../federations/federation-a",
                                           "HEAD", "main"]),
    st.lists(st.fixed_dictionaries({"name": st.sampled_from(["federation", "component", "x", ""])},
                                   optional={"string": st.sampled_from(["federation-a", "secrets", "", "x"]),
                                             "array": st.just(["a"]), "map": st.just({"k": "v"})}),
             max_size=3).map(json.dumps),
)
ENV_NAMES = ["ARGOCD_APP_NAME", "ARGOCD_APP_NAMESPACE", "ARGOCD_APP_PROJECT_NAME", "ARGOCD_APP_REVISION",
             "ARGOCD_APP_SOURCE_PATH", "ARGOCD_APP_SOURCE_TARGET_REVISION", "ARGOCD_APP_PARAMETERS",
             "PARAM_FEDERATION", "PARAM_COMPONENT", "KUBE_VERSION", "ARGOCD_ENV_FEDERATION"]


@pytest.mark.slow
@fuzz("argocd_environment")
@given(environ=st.dictionaries(st.sampled_from(ENV_NAMES), ENV_VALUES.filter(lambda v: "\x00" not in v),
                               max_size=6))
def test_any_argocd_environment_is_output_or_user_error(repo: Path, environ: dict[str, str]) -> None:
    sample = (SAMPLE_REPO / FED_A / "mip.yaml").read_text()
    assert_clean(lambda: render(repo, sample, environ=environ))


def test_fuzz_budget() -> None:
    """The CI fuzz budget: at least 1200 examples over all properties (pytest -s shows the breakdown)."""
    total = sum(FUZZ_EXAMPLES.values())
    assert total >= 1200
    print(f"\nfuzz examples per property: {FUZZ_EXAMPLES} (total {total})")
