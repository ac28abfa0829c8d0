"""A faster writer of the very bytes emit.py's PyYAML dumper writes, for the data mip-cmp emits.

Speed only. PyYAML's "C" dumper still represents every value as a Python node object and resolves every
scalar twice in Python before libyaml writes it: about half of a large root render. The documents mip-cmp
emits are plain dicts, lists, strings, integers, booleans and None in block style, where libyaml's choices
are few and fixed: a string is written plain when libyaml's analysis allows it and it reads back as a
string (by PyYAML's rules and by go-yaml v2's, which Argo CD uses), single-quoted otherwise; empty
collections are `{}`/`[]`; a sequence under a key is not indented. This module writes that text directly.
Anything outside the subset it can decide with certainty (non-ASCII or non-printable text, long keys,
non-string keys, floats that would need a tag, other types) makes `document` return None, and emit.py
writes that document with PyYAML as before.
tests/test_fast_path.py compares both writers on real outputs and on generated data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ..core.yamltext import MAYBE_NOT_TEXT

_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")  # libyaml: a plain scalar may not start with these
_MAX_KEY = 128  # libyaml writes longer keys as "? key" (not a simple key)
_MAX_TEXT = 100_000  # far below the emitter's line width (10**6), so plain/quoted text never wraps

_resolve: Callable[[type[ScalarNode], str, tuple[bool, bool]], str] = Resolver().resolve
# Scalar text by value; None: not in the subset. Shared by every render of the process (values only), and
# bounded: a warm worker serves many tenants' renders, and one render's strings must not grow it for the next
# (document() empties both caches past _MAX_CACHED entries, a few MiB; the sample's root fills about 500).
_cache: dict[Any, str | None] = {}
_MAX_CACHED = 50_000


class _Unsupported(Exception):
    pass


# Argo CD reads plugin output with go-yaml v2 (sigs.k8s.io/yaml), whose plain scalars follow YAML 1.1 more
# widely than PyYAML's resolver: `y`/`n` are booleans, `1e3` and `08` floats, `0o17` an integer. A string
# that go-yaml would read as anything else must be quoted, or a Helm value `n` would arrive as `false`.
# Its rules (resolve.go of go-yaml v2.4, as vendored by sigs.k8s.io/yaml): a fixed table of words; text
# starting with `.` is a float if strconv.ParseFloat takes it; text starting with a digit or a sign, with
# `_` removed, is an integer if strconv.ParseInt/ParseUint (base 0: 0x, 0o, 0b, a leading 0) take it, or a
# float if it looks like one. Each test below accepts at least what Go accepts (overflow included), so a
# string is quoted whenever go-yaml could read it as something else.
_GO_WORDS = frozenset([
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf",
    ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<",
])
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_GO_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)"  # strconv.ParseInt(s, 0, 64)
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"  # yamlStyleFloat
)


def go_yaml_reads_as_string(s: str) -> bool:
    """Whether go-yaml v2 reads the plain scalar `s` as a string (the empty string is null)."""
    if not s or s in _GO_WORDS:
        return False
    first = s[0]
    if first == ".":
        return _GO_DOT_FLOAT.fullmatch(s) is None
    if first in "+-0123456789":
        return _GO_NUMBER.fullmatch(s.replace("_", "")) is None
    return True


def _plain_ok(s: str) -> bool:
    """libyaml's yaml_emitter_analyze_scalar for a non-empty, single-line, printable ASCII string in block
    context, and the implicit-tag check: may it be written without quotes?"""
    first = s[0]
    if first == " " or s[-1] == " " or first in _INDICATORS:
        return False
    if first in "-?:" and (len(s) == 1 or s[1] == " "):
        return False
    if s.startswith(("---", "...")) or ": " in s or s.endswith(":") or " #" in s:
        return False
    if first in MAYBE_NOT_TEXT and _resolve(ScalarNode, s, (True, False)) != _STR:
        return False
    return go_yaml_reads_as_string(s)


def _text(s: str) -> str | None:
    if len(s) > _MAX_TEXT or not (s.isascii() and s.isprintable()):
        return None
    if s and _plain_ok(s):
        return s
    # Single-line printable ASCII is always allowed single-quoted; an empty string is always quoted.
    return "'" + s.replace("'", "''") + "'"


def _float(value: float) -> str | None:
    """SafeRepresenter.represent_float, kept only when the result needs no explicit tag."""
    if value != value:
        text = ".nan"
    elif value == float("inf"):
        text = ".inf"
    elif value == float("-inf"):
        text = "-.inf"
    else:
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
    return text if _resolve(ScalarNode, text, (True, False)) == _FLOAT else None


def _scalar(value: Any) -> str:
    t = type(value)
    if t is str:
        try:
            text = _cache[value]
        except KeyError:
            text = _cache[value] = _text(value)
    elif t is bool:
        return "true" if value else "false"
    elif t is int:
        return str(value)
    elif value is None:
        return "null"
    elif t is float:
        text = _float(value)
    else:
        text = None
    if text is None:
        raise _Unsupported
    return text


def _key(key: Any) -> str:
    """`key:` as written (the colon included); cached by _mapping."""
    if type(key) is not str or len(key) > _MAX_KEY:
        raise _Unsupported
    text = _keys[key] = _scalar(key) + ":"
    return text


# Speed only, like _cache: a key's text with its colon. Only string keys go in, so no other key equals one.
_keys: dict[str, str] = {}


# Speed only: the sequences that one stream of documents holds more than once (expand shares those that many
# objects have in common, e.g. the kinds every federation's project lists), by id: the sequence itself (kept, so
# that its id is not reused meanwhile), the indentation it was written at, and its text once it has been seen
# twice. The text of a sequence under a key depends only on the sequence and that indentation.
Memo = dict[int, tuple[list[Any], str, str | None]]


def _under_key(sequence: list[Any], indent: str, out: list[str], memo: Memo) -> None:
    """A non-empty sequence, the value of a key at `indent` (a sequence under a key is not indented)."""
    seen = memo.get(id(sequence))
    if seen is None or seen[0] is not sequence or seen[1] != indent:
        memo[id(sequence)] = (sequence, indent, None)
        _sequence(sequence, indent, indent, out, memo)
    elif seen[2] is not None:
        out.append(seen[2])
    else:
        part: list[str] = []
        _sequence(sequence, indent, indent, part, memo)
        memo[id(sequence)] = (sequence, indent, "".join(part))
        out.extend(part)


def _mapping(mapping: dict[Any, Any], first: str, indent: str, out: list[str], memo: Memo) -> None:
    """A non-empty block mapping; `first` starts the first line (e.g. "- "), `indent` the others."""
    # Speed only: the cached texts of keys and strings are looked up here rather than in _key and _scalar.
    keys, cache = _keys, _cache
    prefix = first
    for key, value in mapping.items():
        k = (keys.get(key) if type(key) is str else None) or _key(key)
        t = type(value)
        if t is str:
            out.append(f"{prefix}{k} {cache.get(value) or _scalar(value)}\n")  # no text is empty
        elif t is dict:
            if value:
                out.append(f"{prefix}{k}\n")
                inner = indent + "  "
                _mapping(value, inner, inner, out, memo)
            else:
                out.append(f"{prefix}{k} {{}}\n")
        elif t is list:
            if value:
                out.append(f"{prefix}{k}\n")
                _under_key(value, indent, out, memo)
            else:
                out.append(f"{prefix}{k} []\n")
        else:
            out.append(f"{prefix}{k} {_scalar(value)}\n")
        prefix = indent


def _sequence(sequence: list[Any], first: str, indent: str, out: list[str], memo: Memo) -> None:
    prefix = first
    inner = indent + "  "
    for value in sequence:
        t = type(value)
        if t is dict:
            if value:
                _mapping(value, prefix + "- ", inner, out, memo)
            else:
                out.append(prefix + "- {}\n")
        elif t is list:
            if value:
                _sequence(value, prefix + "- ", inner, out, memo)
            else:
                out.append(prefix + "- []\n")
        else:
            out.append(f"{prefix}- {_scalar(value)}\n")
        prefix = indent


def document(obj: Any, memo: Memo | None = None) -> str | None:
    """The text yaml.dump_all([obj], <emit's dumper>) writes, or None when `obj` is outside the subset. `memo`:
    shared by the documents of one stream, so that a part they share is written once (speed only)."""
    if type(obj) is not dict or not obj:
        return None
    if len(_cache) + len(_keys) > _MAX_CACHED:
        _cache.clear()
        _keys.clear()
    out = ["---\n"]
    try:
        _mapping(obj, "", "", out, {} if memo is None else memo)
    except (_Unsupported, RecursionError):
        return None
    return "".join(out)
