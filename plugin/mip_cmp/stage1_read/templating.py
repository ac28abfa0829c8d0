"""jinja2 expressions inside string values, rendered in a sandbox that untrusted files cannot escape.

Only `{{ expression }}` is allowed: statements (`{% ... %}`) would bring loops, so they are refused.
Each template is checked before it is compiled: only data expressions (names of the context, `.key`
and `[index]` lookups, literals, operators, conditionals and a few filters) pass; calls and every other
construct are refused, so no method of any object can be reached. Lookups only read mappings, lists
and strings, never Python attributes. StrictUndefined turns a typo into an error, the context holds
plain data only, and every operator and filter is size-checked *before* it runs where it could
multiply its input, so no expression can build a huge string, list or number.
jinja2 is imported only when a string holds a template that is more than text and plain lookups
(`{{ federation.name }}.example.org`): those are rendered here, with the same result, the same checks and
the same budget charges as jinja2 would make (importing and compiling with jinja2 is ~40 ms of a cold run).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ..core import budget, meter
from ..core.errors import MipError
from ..core.keypath import KeyPath
from ..core.redact import credential_value
from ..model.federation import Federation
from ..model.platform import Platform
from .yamlsource import Document, unreadable

_MARKERS = ("{{", "{%", "{#")
_FILTERS = ("lower", "upper", "trim", "replace", "default", "string", "int", "title", "capitalize",
            "join", "first", "last", "length", "truncate")
_TESTS = ("defined", "undefined", "none", "string", "number")
# The jinja2 AST nodes a template may contain: data in, data out.
_NODES = frozenset({
    "Template", "Output", "TemplateData", "Name", "Const", "Getattr", "Getitem", "Slice", "Filter", "Test",
    "CondExpr", "Compare", "Operand", "And", "Or", "Not", "Neg", "Pos", "Add", "Sub", "Mul", "Div",
    "FloorDiv", "Mod", "Pow", "Concat", "List", "Tuple", "Dict", "Pair", "Keyword",
})

_env: Any = None

# `{{ name.key.key }}` and nothing else: no filters, operators, subscripts or whitespace control.
_LOOKUP = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*) *\}\}")
# Names jinja2's parser reads as something else than a name of the context.
_NOT_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "not"})


class TemplateError(ValueError):
    """Raised from inside the sandbox when an expression goes beyond its limits."""


def has_template(value: str) -> bool:
    return any(marker in value for marker in _MARKERS)


def _weight(value: Any, limit: int | None = None) -> int:
    """About how many characters `value` prints as; stops counting once past `limit` (default: the result
    limit). Each item looked at is an evaluation step (budget.MAX_TEMPLATE_STEPS).

    Iterative and bounded, so a list repeated inside a list is measured by what it prints, not by len().
    """
    limit = budget.MAX_RESULT_CHARS if limit is None else limit
    total, seen, stack = 0, 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        seen += 1
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, (list, tuple)):
            total += 2 + 2 * len(item)
            stack.extend(item[: limit + 1])
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            for pair in list(item.items())[: limit + 1]:
                stack.extend(pair)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += max(1, item.bit_length() * 3 // 10)
        else:
            total += 8
    meter.steps(seen)
    return total


def _bounded(result: Any) -> Any:
    if isinstance(result, int) and not isinstance(result, bool) and abs(result) > budget.MAX_NUMBER:
        raise TemplateError("number too large")
    if _weight(result) > budget.MAX_RESULT_CHARS:
        raise TemplateError(f"result longer than {budget.MAX_RESULT_CHARS} characters")
    return result


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > budget.MAX_INT_ARG:
            raise TemplateError(f"argument {arg} is larger than {budget.MAX_INT_ARG}")


def _predict_replace(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    # do_replace(eval_ctx, s, old, new, count=None)
    if len(args) < 4:
        return 0
    s, old, new = str(args[1]), str(args[2]), str(args[3])
    if not old:
        return len(s) + (len(s) + 1) * len(new)
    return len(s) + s.count(old) * max(0, len(new) - len(old))


def _predict_join(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    # do_join(eval_ctx, value, d="", attribute=None)
    if len(args) < 2:
        return 0
    sep = args[2] if len(args) > 2 else kwargs.get("d", "")
    items = args[1]
    count = len(items) if isinstance(items, (str, list, tuple, Mapping)) else 0
    return _weight(items) + _weight(sep) * count


# Filters whose result can be much larger than their input: predicted before they run.
_PREDICT: dict[str, Callable[[tuple[Any, ...], Mapping[str, Any]], int]] = {
    "replace": _predict_replace, "join": _predict_join,
}


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    predict = _PREDICT.get(name)

    @functools.wraps(func)  # keeps jinja2's pass_context/pass_eval_context marks
    def call(*args: Any, **kwargs: Any) -> Any:
        meter.steps(1)
        _check_args(args, kwargs)
        if predict is not None and predict(args, kwargs) > budget.MAX_RESULT_CHARS:
            raise TemplateError(f"result longer than {budget.MAX_RESULT_CHARS} characters")
        return _bounded(func(*args, **kwargs))

    return call


def _refuse_private(name: Any) -> None:
    """Say plainly that `__class__`-style names are an escape attempt, rather than merely undefined."""
    if isinstance(name, str) and name.startswith("_"):
        from jinja2.exceptions import SecurityError

        raise SecurityError(f"names starting with '_' are not allowed ({name!r})")


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation before it runs when its result could be huge."""
    if op == "%" and isinstance(left, str):
        # printf-style widths ('%999999999s') would allocate before any check could run
        raise TemplateError("string formatting with % is not allowed; use ~ to join strings")
    if op == "**" and isinstance(right, int) and abs(right) > budget.MAX_EXPONENT:
        raise TemplateError("exponent too large")
    if op == "*":
        for a, b in ((left, right), (right, left)):
            if isinstance(a, (str, list, tuple)) and isinstance(b, int) and _weight(a) * b > budget.MAX_RESULT_CHARS:
                raise TemplateError(f"result longer than {budget.MAX_RESULT_CHARS} characters")


def _environment() -> Any:
    global _env
    if _env is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        class Sandbox(ImmutableSandboxedEnvironment):
            intercepted_binops = frozenset(["*", "**", "+", "-", "/", "//", "%"])

            def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
                meter.steps(1)
                _check_binop(op, left, right)
                return _bounded(super().call_binop(context, op, left, right))

            def call(self, context: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
                # Refused before compiling already; kept so that no code path can call anything.
                raise TemplateError("calling functions or methods is not allowed")

            def getattr(self, obj: Any, attribute: str) -> Any:
                # `a.b` reads the key of a mapping, never a Python attribute (no methods, no dunders).
                meter.steps(1)
                _refuse_private(attribute)
                if isinstance(obj, Mapping) and attribute in obj:
                    return obj[attribute]
                return self.undefined(obj=obj, name=attribute)

            def getitem(self, obj: Any, argument: Any) -> Any:
                meter.steps(1)
                _refuse_private(argument)
                if isinstance(obj, Mapping):
                    if isinstance(argument, str) and argument in obj:
                        return obj[argument]
                elif isinstance(obj, (str, list, tuple)) and isinstance(argument, (int, slice)) and \
                        not isinstance(argument, bool):
                    try:
                        return obj[argument]
                    except (IndexError, ValueError):
                        pass
                return self.undefined(obj=obj, name=argument)

        env = Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                      finalize=_bounded)
        env.filters = {name: _guarded(name, env.filters[name]) for name in _FILTERS}
        env.tests = {name: env.tests[name] for name in _TESTS}
        env.globals = {}
        _env = env
    return _env


def _check_tree(tree: Any, names: frozenset[str]) -> int:
    """Refuse every construct but data expressions, before anything is compiled or run; returns what
    compiling will cost, in evaluation steps (about a microsecond each, measured: jinja2's compiler and
    Python's grow with the node count and, faster, with the depth, both bounded here)."""
    from jinja2.exceptions import UndefinedError

    count, depth = 0, 0
    stack = [(tree, -1)]  # Template and Output wrap every expression: its own nodes start at level 1
    while stack:
        node, level = stack.pop()
        count, depth = count + 1, max(depth, level)
        if count > budget.MAX_TEMPLATE_NODES:
            raise TemplateError(f"expression has more than {budget.MAX_TEMPLATE_NODES} parts "
                                "(budget.MAX_TEMPLATE_NODES); split it up")
        if depth > budget.MAX_TEMPLATE_DEPTH:
            raise TemplateError(f"expression is nested more than {budget.MAX_TEMPLATE_DEPTH} levels deep "
                                "(budget.MAX_TEMPLATE_DEPTH); split it up")
        kind = type(node).__name__
        if kind == "Call":
            raise TemplateError("calling functions or methods is not allowed; use a filter, e.g. "
                                "{{ federation.name | upper }}")
        if kind not in _NODES:
            raise TemplateError(f"{kind} expressions are not allowed")
        if kind == "Name" and node.name not in names:
            raise UndefinedError(f"'{node.name}' is undefined")  # also `self`, `loop`, `range`, ...
        stack.extend((child, level + 1) for child in node.iter_child_nodes())
    return 200 + 20 * count + 10 * depth * depth


@functools.lru_cache(maxsize=512)
def _compile(source: str, names: frozenset[str]) -> tuple[Any, int]:
    env = _environment()
    try:
        tree = env.parse(source)
        cost = _check_tree(tree, names)
        # Compiled once and cached: the constants jinja2 folds meanwhile cost steps only this first time, so
        # they are not counted (`cost`, charged on every use, bounds that work: the tree's size is capped).
        with warnings.catch_warnings(), meter.steps_uncounted():
            warnings.simplefilter("ignore")  # Python's compiler warns about some generated code, on stderr
            return env.from_string(tree), cost
    except RecursionError:  # jinja2's parser and Python's compiler recurse per nesting level
        raise TemplateError("expression is nested too deeply") from None


def _plain_lookups(value: str, context: Mapping[str, Any]) -> tuple[list[str | list[str]], int] | None:
    """`value` as text and lookups (a lookup: the names of its path) and what jinja2 would charge for
    compiling it (`_check_tree`'s formula over the tree jinja2 parses it into: Template, Output, a
    TemplateData per text, a Getattr per `.key` over a Name), when it is only text and lookups that all
    resolve to strings; else None, and jinja2 renders it (and words any error). Charges nothing itself."""
    parts: list[str | list[str]] = []
    count, depth, start = 2, 0, 0
    for match in [*_LOOKUP.finditer(value), None]:
        text = value[start:match.start() if match else len(value)]
        if text:
            if "{" in text or "}" in text or "\r" in text:  # jinja2's lexer rewrites \r\n; a brace may open
                return None
            parts.append(text)
            count, depth = count + 1, max(depth, 1)
        if match is None:
            break
        names = match.group(1).split(".")
        if names[0] in _NOT_NAMES or names[0] not in context or any(n.startswith("_") for n in names):
            return None
        found = context[names[0]]
        for name in names[1:]:
            if not (isinstance(found, Mapping) and name in found):
                return None
            found = found[name]
        if type(found) is not str:  # anything else prints as jinja2 prints it
            return None
        parts.append(names)
        count, depth, start = count + len(names), max(depth, len(names)), match.end()
    if not any(isinstance(part, list) for part in parts):
        return None
    return parts, 200 + 20 * count + 10 * depth * depth


def _render_plain(parts: list[str | list[str]], context: Mapping[str, Any]) -> str:
    """What the compiled template renders, step for step: a step per `.key` (the sandbox's getattr), then
    the finalize check of each lookup's value."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        found = context[part[0]]
        for name in part[1:]:
            meter.steps(1)
            found = found[name]
        out.append(str(_bounded(found)))
    return "".join(out)


def render_string(value: str, context: Mapping[str, Any]) -> str:
    """Render one string; raises TemplateError or a jinja2 error with a human message. Its work counts
    against the render's budgets (budget.MAX_TEMPLATE_STEPS, MAX_TEMPLATE_OUTPUT_CHARS)."""
    if "{%" in value:
        raise TemplateError("only {{ expressions }} are allowed; {% statements %} are not")
    if len(value) > budget.MAX_TEMPLATE_CHARS:
        raise TemplateError(f"a templated string may be at most {budget.MAX_TEMPLATE_CHARS} characters")
    meter.steps(10 + len(value) // 4)  # lexing and parsing, before the tree is known
    plain = _plain_lookups(value, context)
    if plain is not None:
        meter.steps(plain[1])
        rendered = _render_plain(plain[0], context)
    else:
        template, cost = _compile(value, frozenset(context))
        meter.steps(cost)  # charged on every use, cached or not: the outcome must not depend on a cache
        rendered = template.render(dict(context))
    result = str(_bounded(rendered))
    meter.template_chars(len(result))
    if not result.isascii():
        try:
            result.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TemplateError(f"the result holds U+{ord(result[exc.start]):04X}, which is not text (a lone "
                                "surrogate); write the character itself") from None
        if char := unreadable(result):
            raise TemplateError(f"the result holds {char}, a character Argo CD cannot read back; remove it")
    # What the file says is checked where it is read (crosscheck); what a template assembles only here.
    if credential_value("", result):
        raise TemplateError("the result looks like a credential; mip.yaml must never hold secret values: have the "
                            "app use a platform `secrets` entry (an ExternalSecret) instead")
    return result


def render_tree(value: Any, context: Mapping[str, Any], doc: Document, path: KeyPath) -> Any:
    """A copy of `value` with every templated string rendered; errors point at the string's position."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        meter.at(lambda message: doc.problem(path, message))
        try:
            return render_string(value, context)
        except meter.Exceeded:
            raise
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




def federation_context(p: Platform, f: Federation, doc: Document) -> dict[str, Any]:
    """What a federation's templates read: its identity, its rendered `publicHost`, the platform's Argo CD
    namespace. One function for the expansion and for the check of what the host may be."""
    federation = {"name": f.name, "namespace": f.name, "cluster": f.cluster, "type": f.type}
    context = {"federation": federation, "platform": {"argocdNamespace": p.argocd.namespace}}
    federation["publicHost"] = render_tree(f.publicHost, context, doc, ("publicHost",)) if f.publicHost else ""
    return context
