"""jinja2 expressions inside string values, rendered in a sandbox that untrusted files cannot escape.

Only `{{ expression }}` is allowed: statements (`{% ... %}`) would bring loops, so they are refused.
The sandbox blocks attribute tricks (`__class__` and friends), StrictUndefined turns a typo into an
error, the context holds plain data only, and every call, operator and filter result is size-checked so
no expression can build a huge string or number. jinja2 is imported only when a string holds a template.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from .errors import MipError
from .yamlsource import Document, Path

MAX_RESULT_CHARS = 16 * 1024
MAX_INT_ARG = 10_000
_MARKERS = ("{{", "{%", "{#")

_env: Any = None


class TemplateError(ValueError):
    """Raised from inside the sandbox when an expression goes beyond its limits."""


def has_template(value: str) -> bool:
    return any(marker in value for marker in _MARKERS)


def _bounded(result: Any) -> Any:
    if isinstance(result, (str, bytes, list, tuple, dict)) and len(result) > MAX_RESULT_CHARS:
        raise TemplateError(f"result longer than {MAX_RESULT_CHARS}")
    if isinstance(result, int) and not isinstance(result, bool) and abs(result) > 10**18:
        raise TemplateError("number too large")
    return result


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_INT_ARG:
            raise TemplateError(f"argument {arg} is larger than {MAX_INT_ARG}")


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps jinja2's pass_context/pass_eval_context marks
    def call(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return _bounded(func(*args, **kwargs))

    return call


def _environment() -> Any:
    global _env
    if _env is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class Sandbox(ImmutableSandboxedEnvironment):
            intercepted_binops = frozenset(["*", "**", "+", "//", "%"])

            def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
                if op == "**" and isinstance(right, int) and abs(right) > 64:
                    raise TemplateError("exponent too large")
                if op == "*":
                    for a, b in ((left, right), (right, left)):
                        if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > MAX_RESULT_CHARS:
                            raise TemplateError(f"result longer than {MAX_RESULT_CHARS}")
                return _bounded(super().call_binop(context, op, left, right))

            def call(self, context: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
                _check_args(args, kwargs)
                return _bounded(super().call(context, obj, *args, **kwargs))

        env = Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        allowed = ("lower", "upper", "trim", "replace", "default", "string", "int", "title", "capitalize",
                   "join", "first", "last", "length", "truncate")
        env.filters = {name: _guarded(env.filters[name]) for name in allowed}
        env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "string", "number")}
        env.globals = {}
        _env = env
    return _env


def render_string(value: str, context: Mapping[str, Any]) -> str:
    """Render one string; raises TemplateError or a jinja2 error with a human message."""
    if "{%" in value:
        raise TemplateError("only {{ expressions }} are allowed; {% statements %} are not")
    env = _environment()
    result = env.from_string(value).render(dict(context))
    return str(_bounded(result))


def render_tree(value: Any, context: Mapping[str, Any], doc: Document, path: Path) -> Any:
    """A copy of `value` with every templated string rendered; errors point at the string's position."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        try:
            return render_string(value, context)
        except Exception as exc:  # jinja2's errors do not share a base class with ours
            raise MipError([doc.problem(path, f"template error: {_explain(exc, context)}")]) from None
    if isinstance(value, dict):
        return {k: render_tree(v, context, doc, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, context, doc, (*path, i)) for i, v in enumerate(value)]
    return value


def _names(context: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}.{sub}" if isinstance(v, Mapping) else k
                     for k, v in context.items() for sub in (v if isinstance(v, Mapping) else [""]))


def _explain(exc: Exception, context: Mapping[str, Any]) -> str:
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else name
    if name == "SecurityError":
        return f"not allowed in the sandbox ({text})"
    if name == "TemplateSyntaxError":
        return f"syntax error: {text}"
    if name == "UndefinedError":
        return f"{text}; available here: {_names(context)}"
    return text


