"""The budgets of one render (budget.py), enforced while it works: counters, the CPU timer, and where the
work is, so that a limit names the file and the field it was hit at.

A render runs inside `metered()`. Code that does costly work counts it (`steps`, `template_chars`, `nodes`);
each count past its limit raises `Exceeded`, a user error (exit 1). Outside `metered()` nothing is counted.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import budget
from .errors import MipError, Problem


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
        if time.process_time() - self.cpu_start > budget.MAX_RENDER_CPU_SECONDS:
            self.tripped = _cpu_message()
        elif time.monotonic() - self.wall_start > budget.MAX_RENDER_SECONDS:
            self.tripped = _wall_message()
        if self.tripped is not None:
            raise self.fail(self.tripped)


def _cpu_message() -> str:
    return (f"this render used more than {budget.MAX_RENDER_CPU_SECONDS:g} s of CPU time "
            "(budget.MAX_RENDER_CPU_SECONDS) and was stopped here; make the input smaller or simpler")


def _wall_message() -> str:
    return (f"this render took more than {budget.MAX_RENDER_SECONDS:g} s (budget.MAX_RENDER_SECONDS) and was stopped "
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


def _charge(counter: str, n: int, limit: int, over: str) -> None:
    """Add `n` to the running render's `counter`; past `limit`, stop the render saying `over`."""
    meter = _meter
    if meter is None:
        return
    total = getattr(meter, counter) + n
    setattr(meter, counter, total)
    if total > limit:
        raise meter.fail(over.format(limit=limit))
    _tick(n)


# Set while work runs whose steps its caller charges itself, the same on every use (see steps_uncounted).
_steps_uncounted = False


@contextmanager
def steps_uncounted() -> Iterator[None]:
    """Template steps inside are not counted (the clocks are still looked at): for work that runs only the
    first time (templating._compile, cached: jinja2 folds constant expressions while compiling, through the
    sandbox's counted operators). The caller charges a fixed cost on every use instead, so that whether a
    render fits its budget never depends on what an earlier render left in a cache."""
    global _steps_uncounted
    outer, _steps_uncounted = _steps_uncounted, True
    try:
        yield
    finally:
        _steps_uncounted = outer


def steps(n: int) -> None:
    """Count `n` template evaluation steps against budget.MAX_TEMPLATE_STEPS."""
    if _steps_uncounted:
        _tick(n)
        return
    _charge("steps", n, budget.MAX_TEMPLATE_STEPS,
            "the templates of this render need more than {limit:,} evaluation steps "
            "(budget.MAX_TEMPLATE_STEPS); use fewer or simpler templates")


def template_chars(n: int) -> None:
    """Count `n` characters of template results against budget.MAX_TEMPLATE_OUTPUT_CHARS."""
    _charge("template_chars", n, budget.MAX_TEMPLATE_OUTPUT_CHARS,
            "the templates of this render produce more than {limit:,} characters "
            "(budget.MAX_TEMPLATE_OUTPUT_CHARS); use fewer or shorter templates")


def nodes(n: int) -> None:
    """Count `n` parsed YAML nodes against budget.MAX_TOTAL_NODES."""
    _charge("nodes", n, budget.MAX_TOTAL_NODES,
            "the mip.yaml files of this render hold more than {limit:,} YAML nodes together "
            "(budget.MAX_TOTAL_NODES); make them smaller")


def spent(cpu_seconds: float, node_count: int) -> None:
    """Count work done before this render began as its own: what a remembering run (validate) found done by
    an earlier render, which Argo CD's own process for this app would have done again (repo.Repo.new_render)."""
    if _meter is not None:
        _meter.cpu_start -= cpu_seconds
        nodes(node_count)
        _meter.check_time()


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
        previous = signal.setitimer(signal.ITIMER_PROF, budget.MAX_RENDER_CPU_SECONDS)
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
