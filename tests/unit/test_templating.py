"""templating on its own: the sandbox renders data expressions and refuses the rest, with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from mip_cmp.errors import MipError
from mip_cmp.templating import has_template, render_string, render_tree
from mip_cmp.yamlsource import load

CONTEXT = {"federation": {"name": "federation-a", "type": "hybrid", "tags": ["x", "y"]}, "app": {"name": "db"}}


@pytest.mark.parametrize(("template", "result"), [
    ("{{ federation.name }}", "federation-a"),
    ("{{ federation['name'] | upper }}", "FEDERATION-A"),
    ("{{ federation.tags[0] ~ federation.tags[-1] }}", "xy"),
    ("{{ federation.tags | join(',') }}", "x,y"),
    ("{{ federation.name | replace('-', '_') }}", "federation_a"),
    ("{{ 'big' if federation.type == 'hybrid' else 'small' }}", "big"),
    ("{{ (app.name | length) * 2 }}", "4"),
    ("{{ federation.name[:3] }}", "fed"),
    ("{{ federation.missing | default('d') }}", "d"),
    ("{{ federation.tags[9] is defined }}", "False"),
    ("{{ 2 ** 10 }}", "1024"),
])
def test_renders(template: str, result: str) -> None:
    assert render_string(template, CONTEXT) == result


@pytest.mark.parametrize(("template", "message"), [
    ("{{ federation.name.upper() }}", "calling functions or methods is not allowed; use a filter, e.g. "
                                      "{{ federation.name | upper }}"),
    ("{{ federation.__class__ }}", "not allowed in the sandbox (names starting with '_' are not allowed "
                                   "('__class__'))"),
    ("{{ federation.nope }}", "'dict object' has no attribute 'nope'; available here: federation.name, "
                              "federation.type, federation.tags, app.name"),
    ("{{ secrets }}", "'secrets' is undefined; available here: federation.name, federation.type, "
                      "federation.tags, app.name"),
    ("{% if x %}{% endif %}", "only {{ expressions }} are allowed; {% statements %} are not"),
    ("{{ 'x' * 99999 }}", "result longer than 16384 characters"),
    ("{{ 2 ** 99 }}", "exponent too large"),
    ("{{ 10 ** 60 }}", "number too large"),
    ("{{ '%s' % 1 }}", "string formatting with % is not allowed; use ~ to join strings"),
    ("{{ federation.name | truncate(99999) }}", "argument 99999 is larger than 10000"),
    ("{{ ('x' * 9000) | replace('x', 'yy') }}", "result longer than 16384 characters"),
    ("{{ federation.name ", "syntax error: unexpected end of template, expected 'end of print statement'."),
    ("{{ [1][0:1:0] }}", "slice step cannot be zero"),
])
def test_refused_with_the_reason(template: str, message: str) -> None:
    doc = load("host: x\n", "f/mip.yaml")
    with pytest.raises(MipError) as caught:
        render_tree({"host": template}, CONTEXT, doc, ())
    assert caught.value.lines() == [f"f/mip.yaml:1:7: host: template error: {message}"]


def test_render_tree_copies_and_renders_only_templates() -> None:
    value: Any = {"a": ["{{ app.name }}", 1, None], "b": "plain {braces}"}
    doc = load("a: x\n", "f/mip.yaml")
    assert render_tree(value, CONTEXT, doc, ()) == {"a": ["db", 1, None], "b": "plain {braces}"}
    assert value["a"][0] == "{{ app.name }}"
    assert has_template("a {{ b }}") and has_template("{# c #}") and not has_template("{a}")
