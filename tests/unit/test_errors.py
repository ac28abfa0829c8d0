"""errors on its own: located problems, scrubbed when made, and the CLI's one handler (report)."""

from __future__ import annotations

import pytest

from mip_cmp import __version__
from mip_cmp.core import budget
from mip_cmp.core.errors import (
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


def test_a_report_is_bounded_whatever_the_number_of_problems() -> None:
    """Argo CD caches a failed render's stderr and writes it into the Application's status: 15,000 problems
    (one 30 KB file can hold them) are the first few and a count of the rest, within budget.MAX_REPORT_BYTES."""
    many = MipError([Problem("f/mip.yaml", i, 1, f"k{i}", "must be a string, not an integer")
                     for i in range(1, 15_001)])
    code, lines = report(many)
    assert code == EXIT_INPUT
    assert lines[:-1] == [f"f/mip.yaml:{i}:1: k{i}: must be a string, not an integer"
                          for i in range(1, budget.MAX_REPORTED_PROBLEMS + 1)]
    assert lines[-1] == (f"mip-cmp: ... and {15_000 - budget.MAX_REPORTED_PROBLEMS} more problem(s) not shown; "
                         "fix these first (`mip-cmp validate` lists them all)")
    long = MipError([Problem("f/mip.yaml", i, 1, "", "x" * budget.MAX_MESSAGE_CHARS) for i in range(1, 30)])
    lines = report(long)[1]
    assert sum(len(line) + 1 for line in lines[:-1]) <= budget.MAX_REPORT_BYTES < sum(
        len(line) + 1 for line in report(MipError(long.problems[: len(lines)]))[1])
    assert lines[-1].startswith(f"mip-cmp: ... and {29 - len(lines) + 1} more problem(s) not shown")
    assert report(MipError(many.problems[:3]))[1] == [str(p) for p in many.problems[:3]], "a few: all shown"
