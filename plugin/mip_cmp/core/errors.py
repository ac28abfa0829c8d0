"""One error path: every failure is a MipError (or becomes an InternalError), and `report()` turns it into the
exit code and the lines the CLI prints. Exit codes are defined here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import __version__
from . import budget
from .redact import scrub, scrub_path

EXIT_OK = 0
EXIT_INPUT = 1  # a problem in the input: the user's to fix
EXIT_USAGE = 2  # the command line itself is wrong
EXIT_BUG = 3  # a bug in mip-cmp: please report it
# `mip-cmp diff --exit-code` reports outcomes, not errors: clear of 1-3 so CI can tell them apart.
EXIT_DIFF_CHANGES = 10
EXIT_DIFF_DESTRUCTIVE = 11
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    Its text is made safe to print when it is made (redact.scrub): a message, a key path and even a file name
    may repeat what the author wrote, and Argo CD shows a plugin's stderr to everyone who can see the app.
    Scrubbing here, in the one type every printed problem is, means no printer can forget it."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", scrub_path(self.file))
        for name in ("path", "message"):
            object.__setattr__(self, name, scrub(getattr(self, name)))

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

    exit_code = EXIT_INPUT

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


class InternalError(MipError):
    """A bug in mip-cmp, not in the input: a failed output check (the expansion produced something the gate
    refuses) or any unexpected exception (exit 3). The user cannot fix it; the message asks for a report."""

    exit_code = EXIT_BUG

    def lines(self) -> list[str]:
        return [f"mip-cmp: internal error (a bug in mip-cmp {__version__}; please report it): {p}"
                for p in self.problems]


def report(exc: BaseException) -> tuple[int, list[str]]:
    """The exit code and the stderr lines for an exception that ended a command: the CLI's one handler."""
    if isinstance(exc, MipError):
        return exc.exit_code, bounded(exc.lines())
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, []
    if isinstance(exc, BrokenPipeError):  # the reader went away (e.g. `| head`): nothing left to say
        return EXIT_USAGE, []
    return report(InternalError(f"{type(exc).__name__}: {exc}"))


def bounded(lines: list[str]) -> list[str]:
    """The first of `lines`, within budget.MAX_REPORTED_PROBLEMS lines and budget.MAX_REPORT_BYTES, and a count
    of the rest: Argo CD caches a failed render's stderr and writes it into the Application's status, so one
    file with thousands of mistakes must not become megabytes there. The first ones are what to fix first."""
    shown: list[str] = []
    size = 0
    for line in lines:
        size += len(line.encode("utf-8", "backslashreplace")) + 1
        if len(shown) == budget.MAX_REPORTED_PROBLEMS or (shown and size > budget.MAX_REPORT_BYTES):
            break
        shown.append(line)
    if len(shown) < len(lines):
        shown.append(f"mip-cmp: ... and {len(lines) - len(shown)} more problem(s) not shown; fix these first "
                     "(`mip-cmp validate` lists them all)")
    return shown
