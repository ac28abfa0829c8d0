"""Every limit of a render, in one place: the code enforces these, docs/security.md and the tests read them here.

One repo-server sidecar renders for every tenant, so no input may take it down for the others: not its
memory (an OOM kill takes argocd-cmp-server and every render in flight with it) and not its CPU. Each limit
is enforced *while* the work is done, never on the finished result, and exceeding one is a user error
(exit 1) that names the file, the field and the limit.

Per-file limits bound what one file can hold; the per-render counters below bound what all the files and
templates of one render can add up to; the CPU and wall-clock limits are the backstop for whatever work
no counter sees (a platform's own regular expression, a slow disk). The values keep a render, on the
2-core machine the project targets, within 128 MiB of peak memory and 5 s of CPU for any input
(tests/security/test_resources.py measures both).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .errors import MipError, Problem

KiB = 1024
MiB = 1024 * KiB

# --- input, per file and per render ----------------------------------------------------------------------
MAX_FILE_BYTES = 256 * KiB
MAX_DEPTH = 64
MAX_NODES = 50_000
# All mip.yaml files one render reads (the root reads every federation's): bytes, and YAML nodes, which is
# what parsing and validation cost.
MAX_TOTAL_BYTES = 8 * MiB
MAX_TOTAL_NODES = 250_000
MAX_FEDERATIONS = 2000
# Files and directories looked at for Argo CD's `.argocd-source*.yaml` overrides (repo.py).
MAX_REPO_ENTRIES = 100_000

# --- templates -------------------------------------------------------------------------------------------
MAX_TEMPLATE_CHARS = 4096
# Compiling costs grow faster than linearly with the depth of an expression: both bounded per template.
MAX_TEMPLATE_NODES = 256
MAX_TEMPLATE_DEPTH = 20
MAX_RESULT_CHARS = 16 * KiB
MAX_NUMBER = 10**18
MAX_INT_ARG = 10_000
MAX_EXPONENT = 64
# Per render: evaluation steps (about a microsecond of CPU each: compiling, operators, filters, measuring
# results) and characters produced by all templates together.
MAX_TEMPLATE_STEPS = 1_000_000
MAX_TEMPLATE_OUTPUT_CHARS = 1 * MiB

# --- output and messages ---------------------------------------------------------------------------------
MAX_OBJECTS = 10_000
MAX_OUTPUT_BYTES = 16 * MiB
MAX_MESSAGE_CHARS = 1000
# How much of a message the credential scrubber reads (it redacts before it shortens to MAX_MESSAGE_CHARS).
SCRUB_WINDOW_CHARS = 4 * MAX_MESSAGE_CHARS

# --- time ------------------------------------------------------------------------------------------------
MAX_RENDER_CPU_SECONDS = 4.0
MAX_RENDER_SECONDS = 60.0


@dataclass(frozen=True)
class Limit:
    """One row of docs/security.md's budgets table."""

    name: str
    what: str
    value: str
    where: str
    sees: str


def _bytes(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n // KiB} KiB"


def limits() -> list[Limit]:
    """The budgets table of docs/security.md (tests/security/test_docs.py keeps the page equal to it)."""
    return [
        Limit("MAX_FILE_BYTES", "size of one `mip.yaml`", _bytes(MAX_FILE_BYTES), "repo.py, before parsing",
              "`<file>: file is larger than the limit of N bytes`"),
        Limit("MAX_DEPTH", "YAML nesting", f"{MAX_DEPTH} levels", "yamlsource.py, while parsing",
              "`<file>:<line>:<col>: nesting is deeper than N levels`"),
        Limit("MAX_NODES", "YAML nodes in one file", f"{MAX_NODES:,}", "yamlsource.py, while parsing",
              "`<file>:<line>:<col>: more than N YAML nodes`"),
        Limit("MAX_TOTAL_BYTES", "bytes of all `mip.yaml` one render reads", _bytes(MAX_TOTAL_BYTES),
              "repo.py, file by file", "`<file>: the mip.yaml files read together exceed N bytes`"),
        Limit("MAX_TOTAL_NODES", "YAML nodes of all files one render reads", f"{MAX_TOTAL_NODES:,}",
              "yamlsource.py, while parsing", "`<file>:<line>:<col>: the mip.yaml files of this render hold more than "
              "N YAML nodes together ...`"),
        Limit("MAX_FEDERATIONS", "federation directories", f"{MAX_FEDERATIONS:,}", "repo.py, while listing",
              "`<federations.path>: more than N federation directories`"),
        Limit("MAX_REPO_ENTRIES", "files and directories searched for `.argocd-source*`",
              f"{MAX_REPO_ENTRIES:,}", "repo.py, while walking", "`.: more than N files and directories ...`"),
        Limit("MAX_TEMPLATE_CHARS", "one template's source", f"{MAX_TEMPLATE_CHARS:,} characters",
              "templating.py, before parsing", "`<file>:<line>:<col>: <field>: template error: ...`"),
        Limit("MAX_TEMPLATE_NODES / MAX_TEMPLATE_DEPTH", "one template's syntax tree",
              f"{MAX_TEMPLATE_NODES} nodes / {MAX_TEMPLATE_DEPTH} levels", "templating.py, before compiling",
              "`<file>:<line>:<col>: <field>: template error: expression has more than N ...`"),
        Limit("MAX_RESULT_CHARS", "one template's result (and every value inside it)",
              f"{MAX_RESULT_CHARS:,} characters", "templating.py, before each operator and filter runs",
              "`... template error: result longer than N characters`"),
        Limit("MAX_NUMBER / MAX_INT_ARG / MAX_EXPONENT", "numbers in templates",
              f"10^18 / {MAX_INT_ARG:,} / {MAX_EXPONENT}", "templating.py, before each operator runs",
              "`... template error: number too large` (or the argument, the exponent)"),
        Limit("MAX_TEMPLATE_STEPS", "template work of one render (compiling, operators, filters)",
              f"{MAX_TEMPLATE_STEPS:,} steps", "templating.py, at every step",
              "`<file>:<line>:<col>: <field>: the templates of this render need more than N evaluation "
              "steps ...`"),
        Limit("MAX_TEMPLATE_OUTPUT_CHARS", "characters all templates of one render produce",
              f"{MAX_TEMPLATE_OUTPUT_CHARS:,} characters", "templating.py, at every result",
              "`<file>:<line>:<col>: <field>: the templates of this render produce more than N characters "
              "...`"),
        Limit("MAX_OBJECTS", "objects one render prints", f"{MAX_OBJECTS:,}", "emit.py, before writing",
              "`<file>: the output has M objects; the limit is N ...`"),
        Limit("MAX_OUTPUT_BYTES", "output of one render", _bytes(MAX_OUTPUT_BYTES),
              "emit.py, object by object while writing", "`<file>: output: <kind> <name>: the output exceeds "
              "N bytes ...`"),
        Limit("MAX_MESSAGE_CHARS", "one error message", f"{MAX_MESSAGE_CHARS:,} characters, one line",
              f"redact.py (it reads at most {SCRUB_WINDOW_CHARS:,} characters)", "the message, shortened with "
              "`...`"),
        Limit("MAX_RENDER_CPU_SECONDS", "CPU time of one render", f"{MAX_RENDER_CPU_SECONDS:g} s",
              "budget.py: a CPU timer, and at every counted step", "`<file>: ...: this render used more "
              "than N s of CPU time ...`"),
        Limit("MAX_RENDER_SECONDS", "wall-clock time of one render", f"{MAX_RENDER_SECONDS:g} s",
              "budget.py, at every counted step", "`<file>: ...: this render took more than N s "
              "...`"),
    ]


def markdown_table() -> str:
    rows = ["| limit | value | where enforced | what the user sees |", "|---|---|---|---|"]
    rows += [f"| {x.what} (`budget.{x.name}`) | {x.value} | {x.where} | {x.sees} |" for x in limits()]
    return "\n".join(rows) + "\n"


class Exceeded(MipError):
    """A budget ran out: a user error (exit 1), located where the work was when it did."""


Locator = Callable[[str], Problem]


def _nowhere(message: str) -> Problem:
    return Problem("", 0, 0, "", message)


def locator(file: str, mark: tuple[int, int] = (0, 0), field: str = "") -> Locator:
    def locate(message: str) -> Problem:
        return Problem(file, mark[0], mark[1], field, message)

    return locate


class Meter:
    """What one render has used so far. `at()` says where the work is, so that a limit hit by a timer (or
    by a counter that does not know its caller) still names the file and the field."""

    def __init__(self) -> None:
        self.steps = 0
        self.template_chars = 0
        self.nodes = 0
        self.locate: Locator = _nowhere
        self.tripped: str | None = None
        self.cpu_start = time.process_time()
        self.wall_start = time.monotonic()

    def fail(self, message: str) -> Exceeded:
        return Exceeded([self.locate(message)])

    def check_time(self) -> None:
        if self.tripped is not None:
            raise self.fail(self.tripped)
        if time.process_time() - self.cpu_start > MAX_RENDER_CPU_SECONDS:
            self.tripped = _cpu_message()
        elif time.monotonic() - self.wall_start > MAX_RENDER_SECONDS:
            self.tripped = _wall_message()
        if self.tripped is not None:
            raise self.fail(self.tripped)


def _cpu_message() -> str:
    return (f"this render used more than {MAX_RENDER_CPU_SECONDS:g} s of CPU time (budget.MAX_RENDER_CPU_SECONDS) "
            "and was stopped here; make the input smaller or simpler")


def _wall_message() -> str:
    return (f"this render took more than {MAX_RENDER_SECONDS:g} s (budget.MAX_RENDER_SECONDS) and was stopped "
            "here; make the input smaller or simpler")


_meter: Meter | None = None
# Counted steps between two looks at the clocks: cheap, and far less than a millisecond of work.
_CLOCK_EVERY = 4096
_since_clock = 0


def current() -> Meter | None:
    return _meter


def at(locate: Locator) -> None:
    """Where the work of the current render is now (a file, a field): named if a limit is hit there."""
    if _meter is not None:
        _meter.locate = locate


def _tick(n: int) -> None:
    global _since_clock
    _since_clock += n
    if _since_clock >= _CLOCK_EVERY and _meter is not None:
        _since_clock = 0
        _meter.check_time()


def steps(n: int) -> None:
    """Count `n` template evaluation steps against MAX_TEMPLATE_STEPS."""
    meter = _meter
    if meter is None:
        return
    meter.steps += n
    if meter.steps > MAX_TEMPLATE_STEPS:
        raise meter.fail(f"the templates of this render need more than {MAX_TEMPLATE_STEPS:,} evaluation steps "
                         "(budget.MAX_TEMPLATE_STEPS); use fewer or simpler templates")
    _tick(n)


def template_chars(n: int) -> None:
    """Count `n` characters of template results against MAX_TEMPLATE_OUTPUT_CHARS."""
    meter = _meter
    if meter is None:
        return
    meter.template_chars += n
    if meter.template_chars > MAX_TEMPLATE_OUTPUT_CHARS:
        raise meter.fail(f"the templates of this render produce more than {MAX_TEMPLATE_OUTPUT_CHARS:,} "
                         "characters (budget.MAX_TEMPLATE_OUTPUT_CHARS); use fewer or shorter templates")


def nodes(n: int) -> None:
    """Count `n` parsed YAML nodes against MAX_TOTAL_NODES."""
    meter = _meter
    if meter is None:
        return
    meter.nodes += n
    if meter.nodes > MAX_TOTAL_NODES:
        raise meter.fail(f"the mip.yaml files of this render hold more than {MAX_TOTAL_NODES:,} YAML nodes "
                         "together (budget.MAX_TOTAL_NODES); make them smaller")
    _tick(n)


def check_time() -> None:
    """A look at the clocks, for loops that count nothing else."""
    if _meter is not None:
        _meter.check_time()


def _on_timer(signum: int, frame: Any) -> None:
    meter = _meter
    if meter is None or meter.tripped is not None:
        return
    meter.tripped = _cpu_message()
    raise meter.fail(meter.tripped)


@contextmanager
def metered() -> Iterator[Meter]:
    """Run one render under fresh budgets. In the main thread a CPU timer (ITIMER_PROF, SIGPROF: the
    renderer's workers keep SIGALRM for their own deadline) stops it at the CPU limit even inside work that
    counts nothing (Python's regular expressions and loops see the signal); the counted steps also look at
    both clocks. A render stopped by the timer fails with the time limit, whatever exception the
    interruption turned into on its way out."""
    global _meter, _since_clock
    outer = _meter
    meter = _meter = Meter()
    _since_clock = 0
    timer = outer is None and threading.current_thread() is threading.main_thread()
    if timer:
        handler = signal.signal(signal.SIGPROF, _on_timer)
        previous = signal.setitimer(signal.ITIMER_PROF, MAX_RENDER_CPU_SECONDS)
    try:
        yield meter
    except BaseException as exc:
        if meter.tripped is not None and not isinstance(exc, Exceeded):
            raise meter.fail(meter.tripped) from None
        raise
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_PROF, *previous)
            signal.signal(signal.SIGPROF, handler)
        _meter = outer
