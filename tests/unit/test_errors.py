"""errors on its own: located problems, scrubbed when made, and the CLI's one handler (report)."""

from __future__ import annotations

import pytest

from mip_cmp import __version__
from mip_cmp.errors import (
    EXIT_BUG,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    InternalError,
    MipError,
    Problem,
    UsageError,
    report,
)

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example, not a credential


@pytest.mark.parametrize(("problem", "text"), [
    (Problem("f/mip.yaml", 3, 7, "name", "bad"), "f/mip.yaml:3:7: name: bad"),
    (Problem("f/mip.yaml", 0, 0, "", "bad"), "f/mip.yaml: bad"),
    (Problem("", 0, 0, "", "bad"), "bad"),
    (Problem("", 0, 0, "apps.x", "bad"), "apps.x: bad"),
])
def test_problem_text(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_every_field_is_scrubbed_when_the_problem_is_made() -> None:
    problem = Problem(f"federations/{AWS_KEY}/mip.yaml", 1, 1, f"values.{AWS_KEY}", f"found {AWS_KEY}\nforged")
    assert AWS_KEY not in str(problem)
    assert "\n" not in str(problem)
    assert str(problem) == ("federations/<redacted>/mip.yaml:1:1: values.<redacted>: found <redacted>\\nforged")


@pytest.mark.parametrize(("exc", "code", "lines"), [
    (MipError("bad input"), EXIT_INPUT, ["bad input"]),
    (MipError([Problem("a", 1, 2, "", "x"), Problem("b", 0, 0, "", "y")]), EXIT_INPUT, ["a:1:2: x", "b: y"]),
    (UsageError("mip-cmp: no such command"), EXIT_USAGE, ["mip-cmp: no such command"]),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, []),
    (BrokenPipeError(), EXIT_USAGE, []),
    (InternalError([Problem("mip.yaml", 0, 0, "", "refusing to emit X")]), EXIT_BUG,
     [f"mip-cmp: internal error (a bug in mip-cmp {__version__}; please report it): mip.yaml: refusing to emit X"]),
    (KeyError("spec"), EXIT_BUG,
     [f"mip-cmp: internal error (a bug in mip-cmp {__version__}; please report it): KeyError: 'spec'"]),
    (ValueError(f"token {AWS_KEY}"), EXIT_BUG,
     [f"mip-cmp: internal error (a bug in mip-cmp {__version__}; please report it): ValueError: token <redacted>"]),
])
def test_report(exc: BaseException, code: int, lines: list[str]) -> None:
    assert report(exc) == (code, lines)


def test_an_internal_error_is_a_mip_error_with_exit_3() -> None:
    assert issubclass(InternalError, MipError)
    assert InternalError("x").exit_code == EXIT_BUG == 3
