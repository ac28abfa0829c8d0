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

MEMORY_ERROR = "mip-cmp: the render was stopped: it needed more than its memory budget; nothing was printed"
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
    from . import __version__
    from .errors import EXIT_BUG, EXIT_USER_ERROR, MipError

    try:
        from pathlib import Path

        from .pipeline import generate

        # Argo CD sets cmd.Dir but not $PWD, so the working directory is the only truth (contract 4.1).
        return 0, generate(Path(os.fsdecode(cwd)), environ), b""
    except MipError as exc:
        return exc.exit_code, b"", encode_text(exc.lines())
    except KeyboardInterrupt:
        return 130, b"", b""
    except MemoryError:  # the renderer's workers run under a memory limit (renderer/server.py)
        return EXIT_USER_ERROR, b"", encode_text([MEMORY_ERROR])
    except Exception as exc:  # the one place that turns a bug into exit 3 instead of a traceback
        from .redact import scrub  # an exception's text may quote input; never echo credentials

        lines = [scrub(f"mip-cmp: internal error (a bug in mip-cmp {__version__}): {type(exc).__name__}: {exc}")]
        if environ.get("MIP_CMP_DEBUG"):
            import traceback

            lines.append(traceback.format_exc().rstrip("\n"))
        return EXIT_BUG, b"", encode_text(lines)
