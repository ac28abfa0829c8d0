"""Turn a parsed document into a model, translating pydantic's errors into located, actionable problems."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..core.errors import MipError, Problem
from ..core.keypath import KeyPath, format_path
from ..core.suggest import did_you_mean
from ..model import KINDS
from ..model.federation import Federation
from ..model.fields import API_VERSION, DNS_LABEL
from ..model.platform import Platform
from ..stage1_read.yamlsource import Document

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "float_type": "a number",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X, Annotated[X, ...] -> X."""
    while True:
        args = [a for a in getattr(tp, "__args__", ()) if a is not type(None)]
        origin = getattr(tp, "__origin__", None)
        if origin in (dict, list) or not args or (isinstance(tp, type) and issubclass(tp, BaseModel)):
            return tp
        tp = args[0]


def _type_at(model: type[BaseModel], loc: KeyPath) -> Any:
    """The (unwrapped) type of the value at `loc`, or None where the models say nothing."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = getattr(current, "__origin__", None)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif origin is dict:
            current = current.__args__[1]
        elif origin is list:
            current = current.__args__[0]
        else:
            return None
    return _unwrap(current)


def _fields(tp: Any) -> list[str]:
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _allowed_fields(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The field names accepted in the mapping at `loc`."""
    return _fields(_type_at(model, loc))


def _read_as_name(model: type[BaseModel], loc: KeyPath) -> KeyPath | None:
    """The part of `loc` that sits where a mapping names its entries (the apps of `apps`) but is a field of
    such an entry (`values`): a line indented one level too little, so a field was read as a name."""
    for i in range(1, len(loc)):
        if getattr(_type_at(model, loc[:i]), "__origin__", None) is dict and \
                str(loc[i]) in _allowed_fields(model, loc[: i + 1]):
            return loc[: i + 1]
    return None


def _indentation_message(data: Any, name_at: KeyPath) -> str:
    *parent, name = name_at
    entries = list(_mapping_at(data, tuple(parent)))
    above = entries[: entries.index(name)] if name in entries else []
    hint = f" ('{above[-1]}', above it?)" if above else ""
    return (f"'{name}' is indented as an entry of {format_path(tuple(parent))} (a name), not as a field of one; "
            f"indent it under the entry it belongs to{hint}")


def _mapping_at(data: Any, path: KeyPath) -> dict[Any, Any]:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _message(error: Any, model: type[BaseModel], loc: KeyPath) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed)
        return f"unknown field{hint} (allowed: {', '.join(allowed)})" if allowed else "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == DNS_LABEL:
            return "must be a DNS label: lowercase letters, digits and '-', starting and ending alphanumeric"
        return f"must match the pattern {ctx.get('pattern')}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    if kind == "string_type" and isinstance(error.get("input"), int) and not isinstance(error["input"], bool):
        # YAML reads unquoted digits as a number: a short commit SHA, a version or a name like 2024.
        return f"must be a string, not an integer; quote numbers that are names or commit SHAs: \"{error['input']}\""
    if kind == "string_type" and isinstance(error.get("input"), float):
        return "must be a string, not a number; quote numbers that are versions or names, e.g. \"1.10\""
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, not {_describe(error.get('input'))}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _explained_by_typo(errors: list[Any], missing: KeyPath) -> bool:
    """A missing field next to an unknown key that is a near miss of it: report the typo only."""
    import difflib  # only on the error path

    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc[:-1] == missing[:-1] and \
                difflib.get_close_matches(str(loc[-1]), [str(missing[-1])], n=1):
            return True
    return False


def to_model(doc: Document, model: type[M]) -> M:
    """Validate `doc` as `model`, or raise one MipError listing every problem with its position."""
    if not isinstance(doc.data, dict):
        raise _not_a_mapping(doc)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = []
        for error in errors:
            loc: KeyPath = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
            if error["type"] == "missing" and _explained_by_typo(errors, loc):
                continue
            misplaced = _read_as_name(model, loc)
            if misplaced is not None:  # one mistake, however many errors pydantic found under it
                problems.append(doc.problem(misplaced, _indentation_message(doc.data, misplaced), key=True))
                continue
            problems.append(
                doc.problem(loc, _message(error, model, loc), key=error["type"] == "extra_forbidden")
            )
        raise MipError(sorted(set(problems), key=lambda p: (p.line, p.col, p.path))) from None


def _not_a_mapping(doc: Document) -> MipError:
    what = "empty" if doc.data is None else _describe(doc.data)
    return MipError([doc.problem((), f"expected a mapping at the top level, found {what}")])


def kind_of(doc: Document) -> type[Platform] | type[Federation]:
    """Pick the model by `kind`, after checking apiVersion, so errors name the real mistake."""
    if doc.data is None and () not in doc.value_marks:  # not even a `null`
        raise MipError([Problem(doc.file, 1, 1, "", "the file is empty (no YAML, only blank lines or comments); a "
                                                    f"mip.yaml starts with apiVersion: {API_VERSION} and a kind "
                                                    f"({', '.join(KINDS)})")])
    if not isinstance(doc.data, dict):
        raise _not_a_mapping(doc)
    data = doc.data
    api_version = data.get("apiVersion")
    if "apiVersion" not in data:
        raise MipError([doc.problem(("apiVersion",), f"required field is missing: a mip.yaml starts with "
                                                     f"apiVersion: {API_VERSION}")])
    if api_version != API_VERSION:
        raise MipError([doc.problem(("apiVersion",), f"must be {API_VERSION} (found {api_version!r})")])
    kind = data.get("kind")
    if "kind" not in data:
        raise MipError([doc.problem(("kind",), f"required field is missing: one of {', '.join(KINDS)}")])
    if not isinstance(kind, str) or kind not in KINDS:  # a list or mapping here is unhashable
        hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        raise MipError([doc.problem(("kind",), f"must be one of {', '.join(KINDS)} (found {kind!r}){hint}")])
    return KINDS[kind]

