"""Safe YAML loading that remembers where every value came from.

The parser's event stream is turned into plain Python data iteratively, so deep nesting cannot exhaust
the interpreter's stack, aliases (the building block of "billion laughs" bombs) are refused outright,
only the core YAML tags are accepted, and every key and value keeps its line and column for error
messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import budget
from .errors import MipError, Problem
from .redact import scrub

try:  # libyaml's parser is several times faster; the pure-Python one yields the same events.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Kubernetes and Helm (via Go's JSON) cannot represent integers outside int64.
MAX_INT = 2**63 - 1

KeyPath = tuple[str | int, ...]
Mark = tuple[int, int]

_CORE_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()


@dataclass
class Document:
    """A parsed file: its data plus the position of every key and value, by path."""

    file: str
    data: Any
    value_marks: dict[KeyPath, Mark] = field(default_factory=dict)
    key_marks: dict[KeyPath, Mark] = field(default_factory=dict)

    def mark(self, path: KeyPath, *, key: bool = False) -> Mark | None:
        """The position of `path`, or of its nearest ancestor we know."""
        marks = self.key_marks if key else self.value_marks
        while True:
            if path in marks:
                return marks[path]
            if key and path in self.value_marks:
                return self.value_marks[path]
            if not path:
                return None
            path = path[:-1]

    def problem(self, path: KeyPath, message: str, *, key: bool = False) -> Problem:
        """A located problem; keys and message are scrubbed, since both may repeat what the file says."""
        line, col = self.mark(path, key=key) or (0, 0)
        return Problem(scrub(self.file), line, col, scrub(format_path(path)), scrub(message))


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def decode(raw: bytes, file: str) -> str:
    file = scrub(file)  # a directory name is the author's choice too
    if len(raw) > budget.MAX_FILE_BYTES:
        # Callers read at most one byte more than the limit, so the true size is unknown here.
        raise MipError([Problem(file, 0, 0, "",
                                f"file is larger than the limit of {budget.MAX_FILE_BYTES} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise MipError(
            [Problem(file, line, col, "", "file is not valid UTF-8; save it as UTF-8")]
        ) from None


def _mark(m: Any) -> Mark:
    return (m.line + 1, m.column + 1)


def _scalar(event: Any, file: str) -> Any:
    def fail(message: str) -> MipError:
        return MipError([Problem(file, *_mark(event.start_mark), "", scrub(message))])

    tag = event.tag
    if tag in (None, "!"):
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag == _TIMESTAMP:
        return event.value  # dates stay text: Kubernetes and Helm want strings, not datetimes
    if tag == _MERGE:
        raise fail("YAML merge keys (<<) are not allowed; write the keys out")
    if tag not in _CORE_TAGS:
        raise fail(f"YAML tag {tag} is not allowed")
    if tag == "tag:yaml.org,2002:str":
        return event.value  # speed only: what the str constructor returns, without building a node for it
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        value = _constructor.yaml_constructors[tag](_constructor, node)
    except Exception:  # PyYAML's constructors fail in assorted ways (ValueError, IndexError, YAMLError)
        if event.implicit[0]:  # plain text that resolved to a number: only Python's cap on int digits
            raise fail("number is too long; quote it if it is text") from None
        raise fail(f"the value does not fit its tag {tag}") from None  # e.g. `!!int abc`, an empty `!!float`
    # Go's JSON (Argo CD, Helm) has no NaN or infinity and no integers beyond int64.
    if isinstance(value, float) and not math.isfinite(value):
        raise fail("numbers must be finite (.inf and .nan are not allowed); quote it if it is text")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise fail("integer is out of range (more than 64 bits); quote it if it is text")
    return value


def load(text: str, file: str) -> Document:
    """Parse exactly one YAML document from `text`; `file` names it in errors."""
    doc = Document(file, None)
    file = scrub(file)  # for the problems below; a directory name is the author's choice too
    # Each open container: (container, path, pending key, pending key mark)
    stack: list[list[Any]] = []
    documents = 0
    nodes = counted = 0
    root: Any = None

    def fail(event: Any, message: str, path: KeyPath = ()) -> MipError:
        return MipError([Problem(file, *_mark(event.start_mark), scrub(format_path(path)), scrub(message))])

    def attach(value: Any, event: Any, raw: str | None = None) -> KeyPath | None:
        """Put `value` into the innermost container; return its path (None when it was a key)."""
        nonlocal root
        if not stack:
            root = value
            doc.value_marks[()] = _mark(event.start_mark)
            return ()
        container, path, key, key_mark = stack[-1]
        if isinstance(container, list):
            child: KeyPath = (*path, len(container))
            container.append(value)
        elif key is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise fail(event, "complex mapping keys are not allowed")
            if not isinstance(value, str):
                # A plain `1:`, `true:` or `null:` key stays the text written, as JSON needs a string
                # (str() would make `true:` the key "True").
                value = raw if raw is not None else str(value)
            if value in container:
                raise fail(event, f"duplicate key {value!r}", path)
            stack[-1][2] = value
            stack[-1][3] = _mark(event.start_mark)
            return None
        else:
            child = (*path, key)
            container[key] = value
            doc.key_marks[child] = key_mark
            stack[-1][2] = _NO_KEY
        doc.value_marks[child] = _mark(event.start_mark)
        return child

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(event, "only one YAML document is allowed per file; remove the extra '---'")
            elif isinstance(event, yaml.AliasEvent):
                raise fail(event, f"YAML aliases (*{event.anchor}) are not allowed; write the value out")
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                nodes += 1
                is_map = isinstance(event, yaml.MappingStartEvent)
                if event.tag not in (None, "!", _MAP if is_map else _SEQ):
                    raise fail(event, f"YAML tag {event.tag} is not allowed")
                if len(stack) >= budget.MAX_DEPTH:
                    raise fail(event, f"nesting is deeper than {budget.MAX_DEPTH} levels")
                container: Any = {} if is_map else []
                path = attach(container, event)
                if path is None:
                    raise fail(event, "complex mapping keys are not allowed")
                stack.append([container, path, _NO_KEY, None])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                attach(_scalar(event, file), event, event.value)
            if nodes > budget.MAX_NODES:
                raise fail(event, f"more than {budget.MAX_NODES} YAML nodes")
            if nodes - counted >= 1024:  # the render's budget: all files together, and the clocks
                budget.at(budget.locator(file, _mark(event.start_mark)))
                budget.nodes(nodes - counted)
                counted = nodes
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _mark(mark) if mark else (0, 0)
        reason = exc.problem or exc.context or "invalid YAML"
        raise MipError([Problem(file, line, col, "", scrub(f"invalid YAML: {reason}"))]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL: no mark, an offset
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character
        what = f"U+{char:04X}" if isinstance(char, int) else "a character"
        raise MipError([Problem(file, line, col, "", f"invalid YAML: {what} is not allowed")]) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MipError([Problem(file, 0, 0, "", scrub(f"invalid YAML: {first}"))]) from None
    budget.at(budget.locator(file))
    budget.nodes(nodes - counted)
    doc.data = root
    return doc


class _NoKey:
    """Sentinel: the open mapping is waiting for a key."""


_NO_KEY = _NoKey()
