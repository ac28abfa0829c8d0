"""The last stage of the commands that report: the one table of every report format, and `validate`'s formats
for machines (GitHub Actions annotations and JSON).

Problems are located relative to the platform root (where mip.yaml is); CI tools need paths from the root
of the git checkout, which differs when the platform lives in a subdirectory. Both formats say both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

from .core.errors import Problem

MAX_GIT_DEPTH = 64

# Every report format of every command that has several, its default first: the CLI's `--format` choices.
# A tool's module writes format F with its function `as_F` (tests/unit/test_reporter.py checks each exists).
FORMATS: dict[str, tuple[str, ...]] = {
    "validate": ("text", "github", "json"),
    "diff": ("text", "json", "github", "markdown"),
    "graph": ("mermaid", "dot", "html"),
    "import": ("text", "json", "markdown"),
}


def writer(module: ModuleType, fmt: str) -> Callable[[Any], str]:
    """The function of a tool's `module` that writes a report in format `fmt` (one of FORMATS)."""
    function: Callable[[Any], str] = getattr(module, f"as_{fmt}")
    return function


def git_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` (a directory, or a file for worktrees and
    submodules); None outside a checkout. No git binary needed."""
    start = start.resolve()
    for depth, directory in enumerate((start, *start.parents)):
        if depth > MAX_GIT_DEPTH:
            break
        if (directory / ".git").exists():
            return directory
    return None


def git_prefix(platform_root: Path) -> str:
    """The platform root as a POSIX path from the git root ('' when they are the same, or outside git)."""
    top = git_root(platform_root)
    if top is None:
        return ""
    rel = platform_root.resolve().relative_to(top).as_posix()
    return "" if rel == "." else rel


def from_git_root(prefix: str, file: str) -> str:
    return str(PurePosixPath(prefix, file)) if prefix and file else file


def _escape(text: str, *, prop: bool = False) -> str:
    # The workflow-command escapes of GitHub's toolkit (@actions/core); properties also escape ':' and ','.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotation(problem: Problem, prefix: str) -> str:
    """One `::error` workflow command; GitHub shows it on the file and line of the pull request."""
    message = f"{problem.path}: {problem.message}" if problem.path else problem.message
    props = []
    if problem.file:
        props.append(f"file={_escape(from_git_root(prefix, problem.file), prop=True)}")
        if problem.line:
            props += [f"line={problem.line}", f"col={problem.col or 1}"]
    return f"::error {','.join(props)}::{_escape(message)}"


def json_report(problems: list[Problem], files: int, prefix: str) -> str:
    """The stable machine format: one object; `file` is relative to the platform root, `gitFile` to the git
    checkout's root; line and col are 1-based, 0 when a problem concerns a whole file."""
    report = {
        "valid": not problems,
        "files": files,
        "platformRoot": prefix or ".",
        "problems": [
            {"file": p.file, "gitFile": from_git_root(prefix, p.file), "line": p.line, "col": p.col,
             "field": p.path, "message": p.message}
            for p in problems
        ],
    }
    return json.dumps(report, indent=2, sort_keys=False) + "\n"
