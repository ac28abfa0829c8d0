"""Just enough of Go's text/template (with the sprig functions Argo CD offers) to expand the ApplicationSet
templates of a mip-infra-style repository: fields, string literals, pipelines, `if`/`else`/`end`, and the
functions those templates use. Anything else is refused by name, never guessed."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from typing import Any

from ..core.errors import MipError

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "replace": lambda old, new, s: str(s).replace(old, new),
    "dir": lambda s: posixpath.dirname(str(s)) or ".",
    "base": lambda s: posixpath.basename(str(s)),
    "contains": lambda sub, s: str(sub) in str(s),
    "hasPrefix": lambda pre, s: str(s).startswith(pre),
    "hasSuffix": lambda suf, s: str(s).endswith(suf),
    "trimSuffix": lambda suf, s: str(s).removesuffix(suf),
    "trimPrefix": lambda pre, s: str(s).removeprefix(pre),
    "index": _index,
    "quote": lambda s: '"' + str(s) + '"',
    "default": lambda d, s=None: s if s else d,
}


def _field(path: str, params: dict[str, Any]) -> Any:
    value: Any = params
    for part in path.strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            raise MipError(f"template field {path!r} is not set (missingkey=error)")
        value = value[part]
    return value


def _word(word: str, params: dict[str, Any]) -> Any:
    if word.startswith('"') or word.startswith("'") or word.startswith("`"):
        return word[1:-1]
    if word.startswith("."):
        return _field(word, params)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word in ("true", "false"):
        return word == "true"
    raise MipError(f"template: unsupported word {word!r}")


def _pipeline(text: str, params: dict[str, Any]) -> Any:
    value: Any = None
    for i, command in enumerate(c.strip() for c in text.split("|")):
        lexer = shlex.shlex(command, posix=False)
        lexer.whitespace_split = True
        words = list(lexer)
        if not words:
            raise MipError(f"template: empty command in {text!r}")
        name, args = words[0], [_word(w, params) for w in words[1:]]
        if name in FUNCTIONS:
            value = FUNCTIONS[name](*args, *([value] if i else []))
        elif i == 0 and not args:
            value = _word(name, params)
        else:
            raise MipError(f"template: unsupported function {name!r} (supported: {', '.join(sorted(FUNCTIONS))})")
    return value


def render(template: str, params: dict[str, Any]) -> str:
    """Expand one template string."""
    out: list[str] = []
    # A stack of (emitting?, branch taken?) for nested if/else/end.
    stack: list[tuple[bool, bool]] = []
    pos = 0
    for match in _ACTION.finditer(template):
        emitting = all(e for e, _ in stack)
        if emitting:
            out.append(template[pos:match.start()])
        pos = match.end()
        action = match.group(1)
        if action.startswith("if "):
            cond = bool(_pipeline(action[3:], params)) if emitting else False
            stack.append((cond, cond))
        elif action == "else":
            if not stack:
                raise MipError("template: else without if")
            _, taken = stack.pop()
            stack.append((not taken, True))
        elif action == "end":
            if not stack:
                raise MipError("template: end without if")
            stack.pop()
        elif emitting:
            value = _pipeline(action, params)
            out.append(str(value).lower() if isinstance(value, bool) else str(value))
    if stack:
        raise MipError("template: if without end")
    out.append(template[pos:])
    return "".join(out)


def render_tree(tree: Any, params: dict[str, Any]) -> Any:
    """Every string in a template tree, keys included, expanded."""
    if isinstance(tree, dict):
        return {render(str(k), params): render_tree(v, params) for k, v in tree.items()}
    if isinstance(tree, list):
        return [render_tree(v, params) for v in tree]
    if isinstance(tree, str):
        return render(tree, params)
    return tree
