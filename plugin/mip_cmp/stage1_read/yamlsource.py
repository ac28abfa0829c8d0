"""Safe YAML loading that remembers where every value came from.

The parser's event stream is turned into plain Python data iteratively, so deep nesting cannot exhaust
the interpreter's stack, aliases (the building block of "billion laughs" bombs) are refused outright,
only the core YAML tags are accepted, and every key and value keeps its line and column for error
messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, AnyStr

import yaml

from ..core import budget, meter
from ..core.errors import MipError, Problem
from ..core.keypath import KeyPath, format_path
from ..core.yamltext import MAYBE_NOT_TEXT

try:  # libyaml's parser is several times faster; the pure-Python one yields the same events.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Kubernetes and Helm (via Go's JSON) cannot represent integers outside int64.
MAX_INT = 2**63 - 1

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
_STR = "tag:yaml.org,2002:str"
# Characters Argo CD cannot read back: it re-reads a plugin's output as JSON with go-yaml, and Go's JSON writes
# DEL, the C1 controls and U+FFFE/U+FFFF unescaped, which go-yaml then refuses (the Application becomes
# unreadable) or, for NEL (U+0085), silently turns into a space. Refused in every key, value and directory name.
_UNREADABLE = re.compile("[\x7f-\x9f\ufffe\uffff]")
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
        """A located problem (errors.Problem makes its text safe to print)."""
        line, col = self.mark(path, key=key) or (0, 0)
        return Problem(self.file, line, col, format_path(path), message)


def decode(raw: bytes, file: str) -> str:
    if len(raw) > budget.MAX_FILE_BYTES:
        # Callers read at most one byte more than the limit, so the true size is unknown here; the position is
        # that of the first byte past the limit.
        line, col = _position(raw, budget.MAX_FILE_BYTES, b"\n")
        raise MipError([Problem(file, line, col, "", (
            f"file is larger than the limit of {budget.MAX_FILE_BYTES} bytes ({budget.MAX_FILE_BYTES // 1024} KiB) "
            "at this "
            "point; keep long Helm values in the chart's own values files (the catalog's `valueFiles`) instead "
            "of inline `values`"))])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(raw, exc.start, b"\n")
        raise MipError([Problem(file, line, col, "", "file is not valid UTF-8; save it as UTF-8")]) from None


def _position(text: AnyStr, offset: int, newline: AnyStr) -> Mark:
    """1-based line and column of `offset` in `text`."""
    return text.count(newline, 0, offset) + 1, offset - (text.rfind(newline, 0, offset) + 1) + 1


def unreadable(text: str) -> str | None:
    """The first character of `text` Argo CD cannot read back, as `U+XXXX`; None if there is none."""
    if text.isascii() and "\x7f" not in text:
        return None  # speed only: nearly every string
    found = _UNREADABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _mark(m: Any) -> Mark:
    return (m.line + 1, m.column + 1)


def too_many_nodes(file: str, event: Any) -> MipError:
    """A file past budget.MAX_NODES, at the first node over (both parsers stop there)."""
    return MipError([Problem(file, *_mark(event.start_mark), "", f"more than {budget.MAX_NODES} YAML nodes")])


class _ScalarError(ValueError):
    """A scalar this format refuses; the loader adds the position and the key path."""


def _construct(event: Any) -> Any:
    """The Python value of a scalar (a key or a value): text Argo CD can read back, core YAML tags only, and
    only values Kubernetes and Helm can hold."""
    if char := unreadable(event.value):
        raise _ScalarError(f"holds {char}, a character Argo CD cannot read back (it would drop or refuse the app); "
                           "remove it, or write the text without it")
    return _typed(event)


def _typed(event: Any) -> Any:
    tag = event.tag
    if tag is None:
        value: Any = event.value
        if not event.implicit[0] or (value and value[0] not in MAYBE_NOT_TEXT):
            return value  # quoted, or plain text no implicit tag could take: a string (speed only)
    if tag in (None, "!"):
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag == _TIMESTAMP:
        return event.value  # dates stay text: Kubernetes and Helm want strings, not datetimes
    if tag == _MERGE:
        raise _ScalarError("YAML merge keys (<<) are not allowed; write the keys out")
    if tag not in _CORE_TAGS:
        raise _ScalarError(f"YAML tag {tag} is not allowed")
    if tag == _STR:
        return event.value  # speed only: what the str constructor returns, without building a node for it
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        value = _constructor.yaml_constructors[tag](_constructor, node)
    except Exception:  # PyYAML's constructors fail in assorted ways (ValueError, IndexError, YAMLError)
        if event.implicit[0]:  # plain text that resolved to a number: only Python's cap on int digits
            raise _ScalarError("number is too long; quote it if it is text") from None
        raise _ScalarError(f"the value does not fit its tag {tag}") from None  # `!!int abc`, an empty `!!float`
    # Go's JSON (Argo CD, Helm) has no NaN or infinity and no integers beyond int64.
    if isinstance(value, float) and not math.isfinite(value):
        raise _ScalarError("numbers must be finite (.inf and .nan are not allowed); quote it if it is text")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        # Typically a commit SHA that happens to have no letter: YAML reads it as a number.
        raise _ScalarError(f"this {len(event.value)}-digit number is larger than 64 bits; quote it if it is text, "
                           f"such as a commit SHA: \"{event.value}\"")
    return value


@dataclass
class _Open:
    """A mapping or sequence whose end event has not come yet."""

    container: dict[str, Any] | list[Any]
    path: KeyPath
    key: str | None = None  # a mapping's key whose value comes next; None: the next scalar is a key
    key_mark: Mark | None = None


class _Builder:
    """Plain data from the parser's events, remembering the position of every key and value."""

    def __init__(self, file: str) -> None:
        self.doc = Document(file, None)
        self.file = file
        self.open: list[_Open] = []
        self.documents = 0
        self.nodes = 0
        self.counted = 0  # of the nodes, those already counted against the render's budget

    def fail(self, event: Any, message: str, path: KeyPath = ()) -> MipError:
        return MipError([Problem(self.file, *_mark(event.start_mark), format_path(path), message)])

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self.count(event)
            self.scalar(event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.count(event)
            self.start(event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.open.pop()
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail(event, "only one YAML document is allowed per file; remove the extra '---'")
        elif isinstance(event, yaml.AliasEvent):
            raise self.fail(event, f"YAML aliases (*{event.anchor}) are not allowed; write the value out")

    def count(self, event: Any) -> None:
        self.nodes += 1
        if self.nodes > budget.MAX_NODES:
            raise too_many_nodes(self.file, event)
        if self.nodes - self.counted >= 1024:  # the render's budget: all files together, and the clocks
            meter.at(meter.locator(self.file, _mark(event.start_mark)))
            meter.nodes(self.nodes - self.counted)
            self.counted = self.nodes

    def expects_key(self) -> bool:
        top = self.open[-1] if self.open else None
        return top is not None and isinstance(top.container, dict) and top.key is None

    def next_path(self) -> KeyPath:
        """Where the next value goes (for a key: the mapping it belongs to)."""
        if not self.open:
            return ()
        top = self.open[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        return top.path if top.key is None else (*top.path, top.key)

    def start(self, event: Any) -> None:
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            raise self.fail(event, f"YAML tag {event.tag} is not allowed", self.next_path())
        if self.expects_key():
            raise self.fail(event, "complex mapping keys are not allowed", self.next_path())
        if len(self.open) >= budget.MAX_DEPTH:
            raise self.fail(event, f"nesting is deeper than {budget.MAX_DEPTH} levels")
        container: dict[str, Any] | list[Any] = {} if is_map else []
        self.open.append(_Open(container, self.attach(container, event)))

    def scalar(self, event: yaml.ScalarEvent) -> None:
        try:
            value = _construct(event)
        except _ScalarError as exc:
            raise self.fail(event, str(exc), self.next_path()) from None
        if self.expects_key():
            self.key(value, event)
        else:
            self.attach(value, event)

    def key(self, value: Any, event: yaml.ScalarEvent) -> None:
        top = self.open[-1]
        # A plain `1:`, `true:` or `null:` key stays the text written, as JSON needs a string (str() would
        # make `true:` the key "True").
        key = value if isinstance(value, str) else event.value
        if key in top.container:
            raise self.fail(event, f"duplicate key {key!r}", top.path)
        top.key, top.key_mark = key, _mark(event.start_mark)

    def attach(self, value: Any, event: Any) -> KeyPath:
        """Put `value` where the next value goes; return its path."""
        path = self.next_path()
        if not self.open:
            self.doc.data = value
        else:
            top = self.open[-1]
            if isinstance(top.container, list):
                top.container.append(value)
            else:
                assert top.key is not None and top.key_mark is not None  # expects_key() was False
                top.container[top.key] = value
                self.doc.key_marks[path] = top.key_mark
                top.key = top.key_mark = None
        self.doc.value_marks[path] = _mark(event.start_mark)
        return path


def load(text: str, file: str) -> Document:
    """Parse exactly one YAML document from `text`; `file` names it in errors."""
    builder = _Builder(file)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise MipError([_syntax_problem(exc, text, file)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL: no mark, an offset
        line, col = _position(text, exc.position, "\n")
        char = exc.character
        what = f"U+{char:04X}" if isinstance(char, int) else "a character"
        raise MipError([Problem(file, line, col, "", f"invalid YAML: {what} is not allowed")]) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MipError([Problem(file, 0, 0, "", f"invalid YAML: {first}")]) from None
    meter.at(meter.locator(file))
    meter.nodes(builder.nodes - builder.counted)
    return builder.doc


MAPPING_IN_VALUE = "mapping values are not allowed in this context"  # libyaml's words (PyYAML's: "here")


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """PyYAML's syntax error, said so that an author knows what to change, at the place to change it."""
    mark = exc.problem_mark or exc.context_mark
    line, col = _mark(mark) if mark else (0, 0)
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        # PyYAML reports where it gave up (often the end of the file); the mistake is where the quote opened.
        line, col = _mark(exc.context_mark)
        quote = text[exc.context_mark.index] if exc.context_mark.index < len(text) else "quote"
        return Problem(file, line, col, "", f"invalid YAML: the string quoted here with {quote} is never closed; "
                                            f"add the closing {quote}")
    lines = text.split("\n")
    if 0 < line <= len(lines) and "\t" in _indentation(lines[line - 1]):
        return Problem(file, line, 1, "", "invalid YAML: this line is indented with a tab; YAML indents with "
                                          "spaces only: use spaces")
    said = _indentation_problem(exc, lines, line)
    if said:  # at the line's first character: the indentation is what to change
        return Problem(file, line, len(_indentation(lines[line - 1])) + 1, "", f"invalid YAML: {said}")
    reason = exc.problem or exc.context or "invalid YAML"
    if reason == MAPPING_IN_VALUE:
        reason = "a second ': ' in one line (after the key's); quote a value that holds ': '"
    return Problem(file, line, col, "", f"invalid YAML: {reason}")


def _indentation_problem(exc: yaml.MarkedYAMLError, lines: list[str], line: int) -> str:
    """PyYAML's words for a line indented unlike its neighbours, said as what to change ("" for any other
    syntax error)."""
    if not 0 < line <= len(lines):
        return ""
    depth = len(_indentation(lines[line - 1]))
    if exc.problem == MAPPING_IN_VALUE:
        above = next((n for n in range(line - 1, 0, -1) if lines[n - 1].strip()
                      and not lines[n - 1].lstrip().startswith("#")), 0)
        if above and depth > len(_indentation(lines[above - 1])):
            return (f"this line is indented deeper than line {above}, whose key already has a value there; "
                    f"line it up with its sibling keys, or move line {above}'s value below it to nest this line")
        return ""
    block = exc.context_mark
    if block is None or exc.context not in ("while parsing a block mapping", "while parsing a block collection"):
        return ""
    start, indent = block.line + 1, _spaces(block.column)
    if exc.context.endswith("collection"):
        return (f"this line continues the list started on line {start} (its items at {indent}) but is not a "
                f"'- ' item: start it with '- ', or indent it less to make it a key of the mapping above")
    return (f"this line is indented {_spaces(depth)}, unlike the keys of the mapping it is part of (started on "
            f"line {start}, its keys at {indent}): the keys of one mapping start in the same column")


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _spaces(count: int) -> str:
    return f"{count} space{'' if count == 1 else 's'}"


# --- speed: the data first, the positions only when a problem needs them ---------------------------------


@dataclass
class LazyDocument(Document):
    """A Document parsed without positions (parse_plain); the first call that needs a position parses the
    text again with load(), so an error is located exactly as if it had been loaded so from the start."""

    text: str = ""
    located: bool = False

    def mark(self, path: KeyPath, *, key: bool = False) -> Mark | None:
        if not self.located:
            full = load(self.text, self.file)
            self.value_marks, self.key_marks, self.located = full.value_marks, full.key_marks, True
        return super().mark(path, key=key)


def parse_plain(text: str, file: str = "") -> dict[str, Any] | None:
    """The data of a mapping document exactly as load() builds it, without positions; None whenever load()
    would say anything but the data (an error, a document that is not a mapping): then call load()."""
    document: list[dict[str, Any]] = []  # the root, at the bottom of the stack: it attaches like any node
    stack: list[list[Any]] = [[document, _NO_KEY]]  # [container, the mapping's pending key or _NO_KEY]
    nodes = documents = 0
    over: Any = None  # the first node past budget.MAX_NODES: load() would stop there too, so this says it
    parser = _Loader(text)
    get_event: Any = parser.get_event  # speed only: yaml.parse() without its generator around each event
    try:
        while (event := get_event()) is not None:
            kind = type(event)
            if kind is yaml.ScalarEvent or kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                nodes += 1
                if nodes > budget.MAX_NODES:
                    over = event
                    break
                value = _new_node(event, kind, len(stack) - 1)
                if value is _REFUSED or not _attach(stack[-1], value, event, kind is yaml.ScalarEvent):
                    return None
                if kind is not yaml.ScalarEvent:
                    stack.append([value, _NO_KEY])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                stack.pop()
            elif (kind is yaml.DocumentStartEvent and (documents := documents + 1) > 1) or kind is yaml.AliasEvent:
                return None  # a second document, or an alias: load() refuses both
    except Exception:
        return None
    finally:
        parser.dispose()
    if over is not None:  # not parsed a second time with positions only to stop at the same node
        raise too_many_nodes(file, over)
    if not document:  # no node at all (a root that is not a mapping was refused above): load() says so
        return None
    # The render's budget, for the whole file at once (where this returns None, load() counts it instead).
    meter.at(meter.locator(file))
    meter.nodes(nodes)
    return document[0]


def _new_node(event: Any, kind: type, depth: int) -> Any:
    """The value a scalar or a collection's start event makes, as load() makes it; _REFUSED where load()
    would say more than the data (a document that is not a mapping, a tag of its own, too deep)."""
    if depth == 0 and kind is not yaml.MappingStartEvent:
        return _REFUSED
    if kind is yaml.ScalarEvent:
        return _construct(event)
    if event.tag not in (None, "!", _MAP if kind is yaml.MappingStartEvent else _SEQ) or depth >= budget.MAX_DEPTH:
        return _REFUSED
    return {} if kind is yaml.MappingStartEvent else []


def _attach(top: list[Any], value: Any, event: Any, scalar: bool) -> bool:
    """Put `value` into the open container `top` ([container, pending key]); False where load() would say
    more than the data (a complex key, a duplicate key)."""
    container = top[0]
    if type(container) is list:
        container.append(value)
    elif top[1] is not _NO_KEY:
        container[top[1]] = value
        top[1] = _NO_KEY
    elif not scalar:
        return False
    else:
        key = value if isinstance(value, str) else event.value
        if key in container:
            return False
        top[1] = key
    return True


def load_fast(text: str, file: str) -> Document:
    """load(), the positions parsed only when a problem needs them (most files have none)."""
    data = parse_plain(text, file)
    return load(text, file) if data is None else LazyDocument(file, data, text=text)


_NO_KEY = object()
_REFUSED = object()
