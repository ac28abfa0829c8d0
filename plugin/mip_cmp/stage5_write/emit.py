"""The one YAML emitter: deterministic bytes, no anchors, multi-document, block style.

Every string is written so that it reads back as a string, with PyYAML's rules and with go-yaml v2's, which
Argo CD uses to read plugin output (fastyaml.go_yaml_reads_as_string). The output is counted object by
object as it is written (budget.MAX_OBJECTS, MAX_OUTPUT_BYTES), so an oversized render stops early.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..core import budget, meter
from ..core.errors import MipError, Problem
from ..core.keypath import format_path
from . import fastyaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
# Any tag but str: PyYAML's emitter then quotes the string (and writes no tag, since str is its default).
_NOT_A_STRING = "tag:yaml.org,2002:bool"


def _resolve(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
    """PyYAML's resolver, and a string that go-yaml v2 would read as something else is not plain."""
    tag = yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
    if tag == _STR and implicit[0] and kind is yaml.ScalarNode and not fastyaml.go_yaml_reads_as_string(value):
        return _NOT_A_STRING
    return tag


class _Dumper(_BaseDumper):
    """Never writes &anchors/*aliases, even when one Python object appears twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    resolve = _resolve


def _dump(objects: list[dict[str, Any]], dumper: type[Any]) -> bytes:
    text: str = yaml.dump_all(
        objects, Dumper=dumper, explicit_start=True, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=1_000_000, indent=2,
    )
    return text.encode("utf-8")


def _describe(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = obj.get("kind") if isinstance(obj, dict) else None
    return f"output: {kind or 'object'} {name or '(unnamed)'}"


def _not_text(obj: Any) -> tuple[str, str] | None:
    """The path and character of the first string in `obj` that UTF-8 cannot encode (a lone surrogate,
    e.g. from an environment variable that was not UTF-8), or None."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), obj)]
    while stack:
        path, value = stack.pop()
        items: list[tuple[str | int, Any]] = []
        if isinstance(value, dict):
            for key, item in value.items():
                items.append((key, item))
                if isinstance(key, str) and (char := _bad_char(key)):
                    return format_path((*path, key)), char
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, str) and (char := _bad_char(value)):
            return format_path(path), char
        stack.extend(((*path, k), v) for k, v in reversed(items))
    return None


def _bad_char(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"U+{ord(text[exc.start]):04X}"
    return None


def _locator(source: str, obj: Any) -> meter.Locator:
    """Where the work is while `obj` is written: the object is described only if a limit is hit there."""
    return lambda message: Problem(source, 0, 0, _describe(obj), message)


def dump(objects: list[dict[str, Any]], source: str = "") -> bytes:
    """The YAML stream of `objects`; `source` (the app's mip.yaml) names the render in errors."""
    if len(objects) > budget.MAX_OBJECTS:
        raise meter.Exceeded([Problem(source, 0, 0, "", f"the output has {len(objects)} objects; the limit is "
                                       f"{budget.MAX_OBJECTS} (budget.MAX_OBJECTS)")])
    chunks: list[bytes] = []
    size = 0
    memo: fastyaml.Memo = {}
    for obj in objects:
        meter.at(_locator(source, obj))
        # Speed only: fastyaml writes the bytes _dump(obj, _Dumper) would (dump_all is the concatenation of its
        # documents), about ten times faster; a document outside its subset is left to PyYAML.
        # tests/test_fast_path.py proves both agree.
        text = fastyaml.document(obj, memo)
        try:
            data = text.encode("utf-8") if text is not None else _dump([obj], _Dumper)
        except UnicodeEncodeError:
            path, char = _not_text(obj) or ("", "?")
            raise MipError([Problem(source, 0, 0, f"{_describe(obj)}: {path}", f"holds {char}, which is not text "
                                           "(a lone surrogate, e.g. from an environment variable that is not "
                                           "UTF-8); fix the value")]) from None
        size += len(data)
        if size > budget.MAX_OUTPUT_BYTES:
            raise meter.Exceeded([Problem(source, 0, 0, _describe(obj), f"the output exceeds {budget.MAX_OUTPUT_BYTES} "
                                           "bytes (budget.MAX_OUTPUT_BYTES) at this object; render less")])
        chunks.append(data)
        meter.check_time()
    return b"".join(chunks)

