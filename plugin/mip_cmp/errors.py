"""One error hierarchy; the CLI maps it to exit codes at the edge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 3
# `mip-cmp diff --exit-code` reports outcomes, not errors: clear of 1-3 so CI can tell them apart.
EXIT_DIFF_CHANGES = 10
EXIT_DIFF_DESTRUCTIVE = 11


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}:{self.col}" if self.line else self.file)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)


class MipError(Exception):
    """Base class of every error that is the user's to fix (exit 1)."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = (Problem("", 0, 0, "", problems),)
        else:
            self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(MipError):
    """The command line itself is wrong (exit 2)."""

    exit_code = EXIT_USAGE


def problem_at(file: str, mark: tuple[int, int] | None, path: str, message: str) -> Problem:
    line, col = mark if mark else (0, 0)
    return Problem(file, line, col, path, message)
