"""Output that Argo CD reads as written: every scalar arrives with the type mip-cmp meant.

Argo CD reads plugin output with go-yaml v2 (sigs.k8s.io/yaml, YAML 1.1 rules), whose plain scalars are
booleans, numbers and nulls more often than PyYAML's: `y`, `n`, `08`, `1e3`, `0o17`. This module reads the
output back with both, PyYAML's safe loader (YAML 1.1) and a loader that resolves plain scalars the way
go-yaml v2's resolve.go does (written here independently of fastyaml.go_yaml_reads_as_string, the code
under test), and compares the type and value of every scalar with what mip-cmp meant to write.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from helpers import SAMPLE_REPO, argo_env, base_env, run_cli
from properties import examples

FED_A = "federations/federation-a"
BOUND = [{"name": "federation", "string": "federation-a"}, {"name": "directory", "string": FED_A}]

# Strings that go-yaml v2 or PyYAML would read as something else if they were written plain.
TRICKY = [
    "y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "False", "~", "null", "Null", "NULL", "",
    "08", "09", "012", "0o17", "0O17", "0x1F", "0X1f", "0b101", "-0b1", "+0b1", "1_000", "1__0", "_1", "1e3",
    "1E3", "1e+3", "-1e-3", ".5", "-.5", "+.5", "5.", "1.0e3", "1.5", "+1", "-1", "0", "-0", "00",
    ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "<<", "=", "1:20", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "99999999999999999999", "0xFFFFFFFFFFFFFFFFFFFF", "1e999", "- x", "? x", ": x", "#x", "x #y", "x: y", "@x",
    "`x", "'", '"', "%x", "!x", "&x", "*x", "|", ">", "-", "?", ":", " x", "x ", "é", "y é", "08 ", "1_0x",
]

# --- go-yaml v2's resolver, as resolve.go (v2.4, vendored by sigs.k8s.io/yaml) decides a plain scalar ------
_GO_TABLE: dict[str, Any] = {
    **dict.fromkeys(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True),
    **dict.fromkeys(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], None),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**63 - 1)


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint for what overflows."""
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    bases = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
    try:
        if body[:2] in bases:
            value = int(body[2:], bases[body[:2]]) if body[2:] and "_" not in body[2:] else None
        elif len(body) > 1 and body[0] == "0":
            value = int(body[1:], 8) if body[1:].isdigit() else None
        else:
            value = int(body) if body.isdigit() else None
    except ValueError:
        return None
    if value is None:
        return None
    value *= sign
    if _INT64[0] <= value <= _INT64[1] or (text[:1] not in "+-" and value < 2**64):
        return value
    return None


def go_yaml_v2_resolve(text: str) -> Any:
    """The value go-yaml v2 gives the plain scalar `text` when decoding into interface{}."""
    if text in _GO_TABLE:
        return _GO_TABLE[text]
    hint = text[:1]
    if hint == ".":
        try:
            return float(text) if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) else text
        except ValueError:
            return text
    if hint and hint in "+-0123456789":
        # Timestamps stay strings when decoded into interface{} (decode.go keeps the text, for compatibility).
        plain = text.replace("_", "")
        if (value := _go_parse_int(plain)) is not None:
            return value
        if _YAML_STYLE_FLOAT.match(plain) and math.isfinite(float(plain)):
            return float(plain)
        if plain.startswith(("0b", "-0b")):
            digits = plain.split("b", 1)[1]
            if digits and set(digits) <= {"0", "1"}:
                return int(digits, 2) * (-1 if plain[0] == "-" else 1)
    return text


class GoYamlV2Loader(yaml.SafeLoader):
    """PyYAML's parser with go-yaml v2's resolution of plain scalars."""


def _construct_plain(loader: GoYamlV2Loader, node: yaml.ScalarNode) -> Any:
    return go_yaml_v2_resolve(node.value) if node.style is None else node.value


GoYamlV2Loader.yaml_implicit_resolvers = {}
GoYamlV2Loader.add_constructor("tag:yaml.org,2002:str", _construct_plain)  # every untagged scalar is a str node


def _scalars(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [("key " + path + "." + repr(k), k) for k in value] + [
            item for k, v in value.items() for item in _scalars(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _scalars(v, f"{path}[{i}]")]
    return [(path, value)]


def assert_same_types(meant: Any, read: Any, reader: str) -> None:
    """Every scalar (keys included) of `read` has the type and value of the one in `meant`."""
    pairs_meant, pairs_read = _scalars(meant), _scalars(read)
    assert [p for p, _ in pairs_meant] == [p for p, _ in pairs_read], reader
    for (path, a), (_, b) in zip(pairs_meant, pairs_read, strict=True):
        assert type(a) is type(b) and a == b, f"{reader}: {path}: meant {a!r} ({type(a).__name__}), read {b!r}"


def test_the_go_yaml_v2_reader_of_these_tests_is_go_yaml_v2() -> None:
    """Facts of go-yaml v2's resolve.go that the reader above must reproduce (else the tests prove nothing)."""
    facts = {"y": True, "n": False, "on": True, "Off": False, "~": None, "": None, "08": 8.0, "1e3": 1000.0,
             "0o17": 15, "0x1F": 31, "017": 15, "1_000": 1000, "-0b1": -1, "0b101": 5, ".5": 0.5, "+1": 1,
             "1.": 1.0, "2001-12-14": "2001-12-14", "1:20": "1:20", "yes please": "yes please", "0x": "0x",
             "-": "-", "+.inf": math.inf, "18446744073709551615": 18446744073709551615, "1.5.3": "1.5.3"}
    for text, value in facts.items():
        got = go_yaml_v2_resolve(text)
        assert type(got) is type(value) and got == value, (text, got)


def _values_under_test() -> dict[str, Any]:
    return {"strings": list(TRICKY), "keys": {t: t for t in TRICKY if t},
            "typed": {"int": 8, "bool": False, "none": None, "float": 1.5, "big": 2**62, "negative": -3}}


def test_every_scalar_reads_back_with_its_type(tmp_path: Path) -> None:
    """A federation's Helm values full of scalars that look like something else: the Application printed
    by `generate` reads back with the same types by YAML 1.1 (PyYAML) and by go-yaml v2 (Argo CD)."""
    from mip_cmp.pipeline import render_objects
    from mip_cmp.stage1_read.buildenv import BuildEnv
    from mip_cmp.stage1_read.repo import Repo

    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    values = yaml.safe_dump({"tricky": _values_under_test()}, default_flow_style=False, allow_unicode=True)
    fed = repo / FED_A / "mip.yaml"
    fed.write_text("apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: federation-a\ncluster: in-cluster\n"
                   "apps:\n  exareme2:\n    values:\n" + "".join(f"      {line}\n" for line in values.splitlines()))
    meant = render_objects(Repo(repo), ".", BuildEnv(params={"federation": "federation-a", "directory": FED_A}))
    assert meant[0]["spec"]["source"]["helm"]["valuesObject"]["tricky"] == _values_under_test()
    result = run_cli("generate", cwd=repo, env=argo_env(".", params=BOUND))
    assert result.code == 0, result.stderr
    for reader in (yaml.SafeLoader, GoYamlV2Loader):
        read = list(yaml.load_all(result.stdout, Loader=reader))
        assert_same_types(meant, read, reader.__name__)


text_like_scalars = st.text(alphabet="0123456789_.+-eEoOxXbByYnN~:#tT aé", max_size=8)
trees = st.recursive(
    text_like_scalars | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text_like_scalars, inner, max_size=3),
    max_leaves=12)


@pytest.mark.slow
@examples(100)
@given(value=st.dictionaries(text_like_scalars, trees, min_size=1, max_size=4))
def test_strings_stay_strings_for_go_yaml_v2(value: dict[str, Any]) -> None:
    """Whatever the strings, both writers (fastyaml and PyYAML) print text that both readers read back
    with the types written."""
    from mip_cmp.stage5_write import emit

    for out in (emit.dump([value]), emit._dump([value], emit._Dumper)):  # fastyaml, and PyYAML
        for reader in (yaml.SafeLoader, GoYamlV2Loader):
            assert_same_types([value], list(yaml.load_all(out, Loader=reader)), reader.__name__)


@pytest.mark.parametrize("how", ["template", "environment"])
def test_text_that_is_not_unicode_is_a_user_error_naming_the_field(how: str, tmp_path: Path) -> None:
    """A lone surrogate (from a template escape, or an environment variable that is not UTF-8) is exit 1
    with the field, never exit 3 with an exception's class name."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    env = argo_env(".", params=BOUND)
    if how == "template":
        fed = repo / FED_A / "mip.yaml"
        fed.write_text(fed.read_text().replace("values: {log_level: DEBUG}",
                                               r"""values: {log_level: '{{ "\udc80" }}'}"""))
        expected = (f"{FED_A}/mip.yaml:9:25: apps.exareme2.values.log_level: template error: the result holds "
                    "U+DC80, which is not text (a lone surrogate); write the character itself")
        result = run_cli("generate", cwd=repo, env=env)
        assert (result.code, result.stdout) == (1, b""), result.stderr
        assert result.lines[0] == expected
    else:  # a process: its environment is bytes, decoded by Python at start-up
        expected = ("mip.yaml: output: ApplicationSet mip-federations: spec.template.spec.source.targetRevision: "
                    "holds U+DC80, which is not text (a lone surrogate, e.g. from an environment variable that is not UTF-8); fix the "
                    "value")
        environ = {os.fsencode(k): os.fsencode(v) for k, v in {**base_env(), **argo_env(".")}.items()}
        environ[b"ARGOCD_APP_SOURCE_TARGET_REVISION"] = b"main\x80"
        environ[b"MIP_CMP_RENDERER"] = b"off"
        done = subprocess.run([sys.executable, "-m", "mip_cmp", "generate"], cwd=repo, env=environ,
                              capture_output=True, timeout=60, check=False)
        assert (done.returncode, done.stdout) == (1, b""), done.stderr.decode()
        assert done.stderr.decode().splitlines()[0] == expected
