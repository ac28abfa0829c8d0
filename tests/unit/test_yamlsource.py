"""yamlsource on its own, in-process: one small case per rule (the yamllint way). What a whole federation
file produces end to end is pinned by the golden cases; here each rule of the loader is one row."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mip_cmp.core.budget import MAX_FILE_BYTES
from mip_cmp.core.errors import MipError
from mip_cmp.core.keypath import format_path
from mip_cmp.core.yamltext import MAYBE_NOT_TEXT
from mip_cmp.stage1_read.yamlsource import Document, decode, load

FILE = "f/mip.yaml"


def error(text: str) -> str:
    with pytest.raises(MipError) as caught:
        load(text, FILE)
    assert len(caught.value.problems) == 1
    return str(caught.value.problems[0])


@pytest.mark.parametrize(("text", "data"), [
    ("a: 1\n", {"a": 1}),
    ("a: [1, {b: c}]\n", {"a": [1, {"b": "c"}]}),
    ("'1': 2\n3: x\ntrue: y\nnull: z\n", {"1": 2, "3": "x", "true": "y", "null": "z"}),  # keys stay as written
    ("d: 2024-01-01\n", {"d": "2024-01-01"}),  # dates stay text
    ("f: 1.5\nb: yes\nn: ~\n", {"f": 1.5, "b": True, "n": None}),
    ("x: !!str 12\n", {"x": "12"}),
    ("- a\n- b\n", ["a", "b"]),
    ("", None),
    ("# only a comment\n", None),
    ("~\n", None),
])
def test_data(text: str, data: Any) -> None:
    assert load(text, FILE).data == data


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\na: 2\n", "f/mip.yaml:2:1: duplicate key 'a'"),
    ("? [a]\n: 1\n", "f/mip.yaml:1:3: complex mapping keys are not allowed"),
    ("? {a: 1}\n: 1\n", "f/mip.yaml:1:3: complex mapping keys are not allowed"),
    ("a: &x 1\nb: *x\n", "f/mip.yaml:2:4: YAML aliases (*x) are not allowed; write the value out"),
    ("a: {<<: {b: 1}}\n", "f/mip.yaml:1:5: a: YAML merge keys (<<) are not allowed; write the keys out"),
    ("a: !!python/object x\n", "f/mip.yaml:1:4: a: YAML tag tag:yaml.org,2002:python/object is not allowed"),
    ("a: !!set {x}\n", "f/mip.yaml:1:4: a: YAML tag tag:yaml.org,2002:set is not allowed"),
    ("a: !custom [1]\n", "f/mip.yaml:1:4: a: YAML tag !custom is not allowed"),
    ("a: !!int abc\n", "f/mip.yaml:1:4: a: the value does not fit its tag tag:yaml.org,2002:int"),
    ("a: [.nan]\n", "f/mip.yaml:1:5: a[0]: numbers must be finite (.inf and .nan are not allowed); quote it if it "
                    "is text"),
    ("a: 1\n---\nb: 2\n", "f/mip.yaml:2:1: only one YAML document is allowed per file; remove the extra '---'"),
    ("a: [1, 2\n", "f/mip.yaml:2:1: invalid YAML: did not find expected ',' or ']'"),
    ("a: b: c\n", "f/mip.yaml:1:5: invalid YAML: a second ': ' in one line (after the key's); quote a value that "
                  "holds ': '"),
    # Indentation, in mip-cmp's words and at the line's first character (PyYAML's: "mapping values are not
    # allowed", "did not find expected key", "did not find expected '-' indicator").
    ("a: 1\n  b: 2\n", "f/mip.yaml:2:3: invalid YAML: this line is indented deeper than line 1, whose key already "
                      "has a value there; line it up with its sibling keys, or move line 1's value below it to "
                      "nest this line"),
    ("a:\n  b: 1\n c: 2\n", "f/mip.yaml:3:2: invalid YAML: this line is indented 1 space, unlike the keys of the "
                          "mapping it is part of (started on line 1, its keys at 0 spaces): the keys of one mapping "
                          "start in the same column"),
    ("a:\n  - x\n  b: 1\n", "f/mip.yaml:3:3: invalid YAML: this line continues the list started on line 2 (its "
                          "items at 2 spaces) but is not a '- ' item: start it with '- ', or indent it less to make "
                          "it a key of the mapping above"),
])
def test_refused(text: str, message: str) -> None:
    assert error(text) == message


def test_an_unquoted_sha_names_the_field_and_says_quote_it() -> None:
    sha = "1234567890" * 4
    assert error(f"apps:\n  x:\n    revision: {sha}\n") == (
        f"f/mip.yaml:3:15: apps.x.revision: this 40-digit number is larger than 64 bits; quote it if it is text, "
        f'such as a commit SHA: "{sha}"')


def test_a_number_past_pythons_digit_limit() -> None:
    assert error("n: " + "9" * 5000 + "\n") == "f/mip.yaml:1:4: n: number is too long; quote it if it is text"


@pytest.mark.parametrize(("text", "where"), [
    ("apps:\n\texareme2: {}\n", "2:1"),
    ("apps:\n  a:\n\t  b: 1\n", "3:1"),
    ("apps:\n  \tb: 1\n", "2:1"),
])
def test_tab_indentation_says_use_spaces(text: str, where: str) -> None:
    assert error(text) == (f"f/mip.yaml:{where}: invalid YAML: this line is indented with a tab; YAML indents "
                           "with spaces only: use spaces")


def test_a_tab_inside_a_value_is_fine() -> None:
    assert load("a: 'x\ty'\n", FILE).data == {"a": "x\ty"}


@pytest.mark.parametrize("quote", ["'", '"'])
def test_an_unclosed_quote_is_reported_where_it_opens(quote: str) -> None:
    text = f"name: x\nhost: {quote}abc\ncluster: in-cluster\napps: {{}}\n"
    assert error(text) == (f"f/mip.yaml:2:7: invalid YAML: the string quoted here with {quote} is never closed; "
                           f"add the closing {quote}")


def test_a_character_yaml_forbids() -> None:
    assert error("a: b\x00c\n") == "f/mip.yaml:1:5: invalid YAML: U+0000 is not allowed"


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from mip_cmp.core import budget

    monkeypatch.setattr(budget, "MAX_DEPTH", 3)
    assert error("a: [[[[1]]]]\n") == "f/mip.yaml:1:6: nesting is deeper than 3 levels"
    monkeypatch.setattr(budget, "MAX_NODES", 5)
    assert error("a: [1, 2, 3, 4, 5]\n") == "f/mip.yaml:1:11: more than 5 YAML nodes"


def test_the_fast_parse_stops_a_file_of_too_many_nodes_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the node count is past its limit the fast parser says so, at the node load() would stop at, rather
    than hand the file to load() to be parsed again, slower, up to the same node."""
    from mip_cmp.core import budget
    from mip_cmp.stage1_read import yamlsource

    monkeypatch.setattr(budget, "MAX_NODES", 5)
    monkeypatch.setattr(yamlsource, "load", lambda *_: pytest.fail("parsed a second time"))
    with pytest.raises(MipError) as caught:
        yamlsource.load_fast("a: [1, 2, 3, 4, 5]\n", FILE)
    assert [str(p) for p in caught.value.problems] == ["f/mip.yaml:1:11: more than 5 YAML nodes"]


def test_positions_of_keys_and_values() -> None:
    doc = load("a:\n  b: [x, {c: 1}]\n", FILE)
    assert doc.mark(("a", "b", 1, "c")) == (2, 14)
    assert doc.mark(("a", "b", 1, "c"), key=True) == (2, 11)
    assert doc.mark(("a", "b", 0), key=True) == (2, 7)  # a list item has no key: its value's position
    assert doc.mark(("a", "missing", "deeper")) == (2, 3)  # the nearest known ancestor
    assert Document(FILE, None).mark(("x",)) is None
    assert str(doc.problem(("a", "b", 1), "bad")) == "f/mip.yaml:2:10: a.b[1]: bad"
    assert str(Document(FILE, None).problem(("x",), "bad")) == "f/mip.yaml: x: bad"


def test_format_path() -> None:
    assert format_path(()) == ""
    assert format_path(("apps", "x", "values", 0, "k")) == "apps.x.values[0].k"
    assert format_path((0, "a")) == "[0].a"


def test_decode() -> None:
    assert decode("a: ü\n".encode(), FILE) == "a: ü\n"
    with pytest.raises(MipError, match=r"f/mip.yaml:2:4: file is not valid UTF-8; save it as UTF-8"):
        decode(b"a: 1\nb: \xff\n", FILE)
    with pytest.raises(MipError) as caught:
        decode(b"#\n" * (MAX_FILE_BYTES // 2 + 1), FILE)
    assert str(caught.value).startswith(f"f/mip.yaml:{MAX_FILE_BYTES // 2 + 1}:1: file is larger than the limit "
                                        f"of {MAX_FILE_BYTES} bytes (256 KiB) at this point; keep long Helm values")


def test_plain_text_the_resolver_is_not_asked_about_is_text() -> None:
    """yamlsource (and fastyaml) take a plain scalar for a string, without asking PyYAML's resolver, when no
    implicit tag starts with its first character: for every such character, the resolver agrees."""
    resolver = yaml.resolver.Resolver()
    for first in map(chr, range(32, 127)):
        if first in MAYBE_NOT_TEXT:
            continue
        for text in (first, first + "1", first + " true", first + "0.5e3"):
            tag = resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
            assert tag == "tag:yaml.org,2002:str", text
    assert {"1", "t", "n", "~", "-", "."} <= MAYBE_NOT_TEXT
    assert load("a: b1\nc: '1'\nd: 1\ne: true\nf: x y\n", "f").data == {"a": "b1", "c": "1", "d": 1, "e": True,
                                                                     "f": "x y"}
