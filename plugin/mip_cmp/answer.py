"""What `mip-cmp generate` answers, as a pure function: the one code path behind both the in-process command
and the warm renderer's workers (renderer/), so both give the same bytes for the same input.

`answer(cwd, environ)` reads the repository under `cwd` and nothing of the process: not the working
directory, not os.environ, not sys.argv, not sys.stdout. It never raises and prints nothing.

Imports here are builtin modules only: the client (renderer/client.py) loads this module on every sync.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping



def stopped(why: str) -> str:
    """The error of a render that a limit stopped (here, or in the renderer: renderer/server.py)."""
    return f"mip-cmp: the render was stopped: {why}; nothing was printed"


SIGTERM_GOODBYE = b"mip-cmp: terminated (SIGTERM) before finishing; no manifests were printed\n"


def on_sigterm(signum: int, frame: object) -> None:
    """Argo CD sends SIGTERM when its deadline passes: leave quietly, having printed nothing."""
    os.write(2, SIGTERM_GOODBYE)
    os._exit(128 + signum)


def encode_text(lines: list[str]) -> bytes:
    """stderr as Python writes it by default: UTF-8, with what UTF-8 cannot hold backslash-escaped."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace")


def answer(cwd: str | bytes, environ: Mapping[str, str]) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `mip-cmp generate` run in `cwd` with `environ`."""
    from .core.errors import EXIT_BUG, EXIT_INPUT, report

    try:
        from pathlib import Path

        from .pipeline import generate

        # Argo CD sets cmd.Dir but not $PWD, so the working directory is the only truth (contract 4.1).
        return 0, generate(Path(os.fsdecode(cwd)), environ), b""
    except MemoryError:  # the renderer's workers run under a memory limit (renderer/worker.py)
        return EXIT_INPUT, b"", encode_text([stopped("it needed more than its memory budget")])
    except (Exception, KeyboardInterrupt) as exc:  # the CLI's one handler says what to print
        code, lines = report(exc)
        if code == EXIT_BUG and environ.get("MIP_CMP_DEBUG"):
            import traceback

            lines = [*lines, traceback.format_exc().rstrip("\n")]
        return code, b"", encode_text(lines)
