"""Every limit of a render, in one place: the code enforces these, docs/security.md and the tests read them here.

One repo-server sidecar renders for every tenant, so no input may take it down for the others: not its
memory (an OOM kill takes argocd-cmp-server and every render in flight with it) and not its CPU. Each limit
is enforced *while* the work is done, never on the finished result, and exceeding one is a user error
(exit 1) that names the file, the field and the limit.

Per-file limits bound what one file can hold; the per-render counters below bound what all the files and
templates of one render can add up to; the CPU and wall-clock limits are the backstop for whatever work
no counter sees (a platform's own regular expression, a slow disk). The values keep a render, on the
2-core machine the project targets, within RENDERER_MEMORY_MIB of peak memory and MAX_RENDER_CPU_SECONDS of CPU
for any input (tests/security/test_resources.py measures both). meter.py enforces the per-render counters and
the clocks, renderer/worker.py the process limits; this module only says the numbers, so that every layer
(the client and `--help` too) reads them here. It imports nothing: the client of the fast path reads it.
"""

from __future__ import annotations

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
# Files and directories looked at for Argo CD's `.argocd-source*.yaml` overrides (repo.py): outside the
# federations' directories (what admins write), and in one federation's directory (only for its own renders),
# and the characters of the paths one such walk looks at (its memory, however deep or long-named the tree).
MAX_REPO_ENTRIES = 100_000
MAX_FEDERATION_ENTRIES = 10_000
MAX_WALK_CHARS = 4 * MiB

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
# What a failed render prints on stderr (errors.bounded): the first problems, then a count of the rest. A line
# is at most a scrubbed file, field and message (3 x MAX_MESSAGE_CHARS), so the first always fits.
MAX_REPORTED_PROBLEMS = 20
MAX_REPORT_BYTES = 8 * KiB

# --- time: the limits fire in this order -----------------------------------------------------------------
# Argo CD's own deadline on a manifest generation (the repo-server's --repo-server-timeout-seconds); past it
# Argo CD kills `mip-cmp generate` and the user sees "context deadline exceeded", not our message. Ours fire
# before it, each with a message, in this order:
ARGOCD_DEADLINE_SECONDS = 60.0
# 1. The CPU of one render, in-process or in a renderer's worker: meter.py's CPU timer stops it with a user
#    error located at the work in progress.
MAX_RENDER_CPU_SECONDS = 4.0
# 2. The same budget as the kernel's RLIMIT_CPU on a renderer worker's request, a grace second later: the
#    backstop for work that never returns to Python (the meter fires first; the grace covers the request's own
#    reading and writing, and RLIMIT_CPU counts whole seconds).
RENDERER_CPU_SECONDS = int(MAX_RENDER_CPU_SECONDS) + 1
# 3. The wall clock of a request in the renderer: its parent kills a request past this (waiting, not
#    computing: a slow disk, a request pushed to the lowest priority) and answers with the error itself.
RENDERER_WALL_SECONDS = 20.0
# 4. How long the client waits for the renderer's answer before rendering in-process: longer than (3), so
#    the renderer's error arrives rather than a second render.
RENDERER_WAIT_SECONDS = 30.0
# 5. The wall clock of an in-process render, by meter.py: Argo CD's own deadline, the last resort for what no
#    CPU limit sees (a stalled disk) where no Argo CD stops the render (validate, render, CI). Not less: on a
#    loaded machine a render that stays well within its CPU budget can wait far longer than it computes, and
#    that is no reason to fail it (the CPU budget above is what bounds its work).
MAX_RENDER_SECONDS = ARGOCD_DEADLINE_SECONDS
# A healthy render takes milliseconds: past this a renderer request runs at the lowest CPU priority, so it
# cannot slow the others down.
RENDERER_SLOW_SECONDS = 0.25

# --- the warm renderer (renderer/server.py, renderer/client.py) --------------------------------------------
# Peak memory of one request (the isolation budget): RLIMIT_AS on top of what the worker holds, less a margin
# for what the worker allocates around the render itself.
RENDERER_MEMORY_MIB = 128
RENDERER_MEMORY_MARGIN_MIB = 8
MAX_REQUEST_BYTES = 64 * MiB
# Reading a request (the client sends it at once) and connecting to the renderer.
RENDERER_READ_SECONDS = 10.0
RENDERER_CONNECT_SECONDS = 2.0
RENDERER_SPARE_WORKERS = 2  # idle workers waiting for a connection
RENDERER_WORKERS = 16  # busy and idle; more connections wait in the listen backlog
# A worker's caches only grow: a fresh fork after this many requests, or once it grew this much, bounds them.
WORKER_REQUESTS = 500
RETIRE_GROWTH_MIB = 32
IDLE_WORKER_SECONDS = 60.0  # an idle worker leaves; the parent forks spares again (a burst's extra workers go)
RENDERER_IDLE_SECONDS = 900.0  # an idle renderer leaves (MIP_CMP_RENDERER_IDLE; 0: never)


class Limit:
    """One row of docs/security.md's budgets table (a plain class: the client imports this module, and
    dataclasses would cost it an import)."""

    __slots__ = ("name", "sees", "value", "what", "where")

    def __init__(self, name: str, what: str, value: str, where: str, sees: str) -> None:
        self.name, self.what, self.value, self.where, self.sees = name, what, value, where, sees


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
              "yamlsource.py, file by file", "`<file>: the mip.yaml files of this render hold more than N YAML nodes "
              "together ...`"),
        Limit("MAX_FEDERATIONS", "federation directories", f"{MAX_FEDERATIONS:,}", "repo.py, while listing",
              "`<federations.path>: more than N federation directories`"),
        Limit("MAX_REPO_ENTRIES", "files and directories searched for `.argocd-source*` outside the federations' "
              "directories", f"{MAX_REPO_ENTRIES:,}", "repo.py, while walking",
              "`.: more than N files and directories ...`"),
        Limit("MAX_FEDERATION_ENTRIES", "files and directories searched for `.argocd-source*` in one federation's "
              "directory (its own renders only)", f"{MAX_FEDERATION_ENTRIES:,}", "repo.py, while walking",
              "`<federation directory>: more than N files and directories ...`"),
        Limit("MAX_WALK_CHARS", "characters of the paths one such search looks at", f"{MAX_WALK_CHARS:,}",
              "repo.py, while walking", "`<directory>: ... or more than N characters of their paths ...`"),
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
        Limit("MAX_REPORTED_PROBLEMS / MAX_REPORT_BYTES", "stderr of a failed render",
              f"{MAX_REPORTED_PROBLEMS} problems / {_bytes(MAX_REPORT_BYTES)}", "errors.py, when reporting",
              "the first problems, then `mip-cmp: ... and N more problem(s) not shown ...`"),
        Limit("MAX_RENDER_CPU_SECONDS", "CPU time of one render", f"{MAX_RENDER_CPU_SECONDS:g} s",
              "meter.py: a CPU timer, and at every counted step", "`<file>: ...: this render used more "
              "than N s of CPU time ...`"),
        Limit("MAX_RENDER_SECONDS", "wall-clock time of one render", f"{MAX_RENDER_SECONDS:g} s",
              "meter.py, at every counted step", "`<file>: ...: this render took more than N s "
              "...`"),
        Limit("RENDERER_CPU_SECONDS", "CPU time of one request to the warm renderer (after the meter's)",
              f"{RENDERER_CPU_SECONDS} s", "renderer/worker.py: RLIMIT_CPU of the worker, for this request",
              "`mip-cmp: the render was stopped: it used more than its CPU budget of N s; ...`"),
        Limit("RENDERER_WALL_SECONDS", "wall-clock time of one request to the warm renderer",
              f"{RENDERER_WALL_SECONDS:g} s", "renderer/server.py: the parent watches every request",
              "`mip-cmp: the render was stopped: it took longer than its time budget of N s; ...`"),
        Limit("RENDERER_MEMORY_MIB", "peak memory of one request to the warm renderer",
              f"{RENDERER_MEMORY_MIB} MiB", "renderer/worker.py: RLIMIT_AS of the worker, for this request",
              "`mip-cmp: the render was stopped: it needed more than its memory budget; ...`"),
        Limit("MAX_REQUEST_BYTES", "one request to the warm renderer", _bytes(MAX_REQUEST_BYTES),
              "renderer/worker.py, while reading it", "the client renders in-process"),
    ]


def markdown_table() -> str:
    rows = ["| limit | value | where enforced | what the user sees |", "|---|---|---|---|"]
    rows += [f"| {x.what} (`budget.{x.name}`) | {x.value} | {x.where} | {x.sees} |" for x in limits()]
    return "\n".join(rows) + "\n"
