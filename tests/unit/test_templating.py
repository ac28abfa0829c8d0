"""templating on its own: the sandbox renders data expressions and refuses the rest, with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mip_cmp.core.errors import MipError
from mip_cmp.stage1_read import templating
from mip_cmp.stage1_read.templating import has_template, render_string, render_tree
from mip_cmp.stage1_read.yamlsource import load

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


# --- plain lookups are rendered without jinja2 (speed only): the same result and the same budget charges ----

# Every kind of value a lookup can meet: a string (the only one rendered without jinja2), other scalars,
# mappings, lists, keys that are dict methods or private, and a name jinja2 reads as a constant.
LOOKUP_CONTEXT: dict[str, Any] = {
    "federation": {"name": "federation-a", "namespace": "ns", "n": 3, "on": True, "off": None, "tags": ["x"],
                   "items": "a key named like a dict method", "_hidden": "x", "deep": {"er": {"est": "d"}},
                   "é": "not ascii"},
    "app": {"name": "db", "values": {"host": "h"}},
    "none": {"x": "a context name jinja2 reads as a constant"},
}
_PATHS = ["federation", "federation.name", "federation.namespace", "federation.n", "federation.on",
          "federation.off", "federation.tags", "federation.items", "federation._hidden", "federation.deep.er.est",
          "federation.deep.er", "federation.missing", "federation.name.x", "app.name", "app.values.host",
          "app.values", "none.x", "secrets.x"]
_lookup = st.builds(lambda path, left, right: "{{" + " " * left + path + " " * right + "}}",
                    st.sampled_from(_PATHS), st.integers(0, 2), st.integers(0, 2))
_text = st.text(st.sampled_from("ab.-/:% #\n\r{}\té"), max_size=6)
# Half of the cases are built to pass as plain lookups (strings only, text without braces or \r).
_string_lookup = st.builds(lambda path, left: "{{" + " " * left + path + " }}", st.sampled_from(
    ["federation.name", "federation.items", "federation.deep.er.est", "app.values.host"]), st.integers(0, 2))
_plain_text = st.text(st.sampled_from("ab.-/:% #\n\té"), max_size=6)
_templates = st.one_of(
    st.lists(st.one_of(_lookup, _text), min_size=1, max_size=6),
    st.lists(st.one_of(_string_lookup, _plain_text), min_size=1, max_size=6),
).map("".join).filter(has_template)


def _outcome(template: str) -> tuple[str, int, int]:
    from mip_cmp.core import meter

    # jinja2 folds constants while compiling, through the sandbox, which counts steps: only a first compile
    # does, so every outcome here starts without a cached template.
    templating._compile.cache_clear()
    with meter.metered() as used:
        try:
            result = render_string(template, LOOKUP_CONTEXT)
        except Exception as exc:  # jinja2's errors and ours: compared by type and text
            result = f"{type(exc).__name__}: {exc}"
        return result, used.steps, used.template_chars


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(_templates)
def test_plain_lookups_render_as_jinja2_does(template: str) -> None:
    """The fast path's result, steps and characters counted equal jinja2's, for the same string."""
    fast = _outcome(template)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(templating, "_plain_lookups", lambda value, context: None)
        assert _outcome(template) == fast


@pytest.mark.parametrize(("template", "plain"), [
    ("{{ federation.name }}.example.org", True),
    ("keycloak/{{ federation.name }}", True),
    ("{{federation.name}}{{ app.values.host }}", True),
    ("a\nb {{ federation.deep.er.est }}", True),
    ("{{ federation.n }}", False),  # not a string: jinja2 prints it
    ("{{ federation.missing }}", False),  # jinja2 words the error
    ("{{ federation.items }}", True),  # a key, never the dict method (the sandbox reads keys only)
    ("{{ federation._hidden }}", False),  # jinja2's sandbox refuses it, with its message
    ("{{ none.x }}", False),  # `none` is a constant to jinja2
    ("{{ federation.name | upper }}", False),
    ("{{- federation.name }}", False),
    ("a\r\n{{ federation.name }}", False),  # jinja2 rewrites the newline
    ("{ {{ federation.name }}", False),
])
def test_which_templates_skip_jinja2(template: str, plain: bool) -> None:
    assert (templating._plain_lookups(template, LOOKUP_CONTEXT) is not None) is plain
    fast = _outcome(template)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(templating, "_plain_lookups", lambda value, context: None)
        assert _outcome(template) == fast


def test_the_compile_charge_is_jinja2s() -> None:
    """The charge for a plain template is _check_tree's, over the tree jinja2 parses it into."""
    for template in ["{{ federation.name }}", "x{{ federation.name }}y{{ app.name }}z", "{{ app.values.host }}",
                     "{{ federation.deep.er.est }}.{{ app.name }}"]:
        plain = templating._plain_lookups(template, LOOKUP_CONTEXT)
        assert plain is not None
        assert plain[1] == templating._compile(template, frozenset(LOOKUP_CONTEXT))[1]


def test_steps_do_not_depend_on_the_template_cache() -> None:
    """jinja2 folds constant expressions while compiling, through the sandbox's counted operators, and a
    compiled template is cached: a render counts the same steps the first time and every time after."""
    from mip_cmp.core import meter

    template = "{{ 'a'|upper }}{{ 'x' ~ 'y' }} {{ [1, 2]|length }} {{ federation.name }}"
    templating._compile.cache_clear()
    counted = []
    for _ in range(2):
        with meter.metered() as used:
            assert render_string(template, LOOKUP_CONTEXT) == "Axy 2 federation-a"
        counted.append(used.steps)
    assert counted[0] == counted[1] > 0
