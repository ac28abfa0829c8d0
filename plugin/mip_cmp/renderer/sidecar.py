"""The image's entrypoint after the init: start the warm renderer, then become the sidecar's command.

    tini -- python -P -m mip_cmp.renderer.sidecar /var/run/argocd/argocd-cmp-server

The renderer starts with the sidecar, so the first `generate` already finds it warm (the client's lazy start
stays as the fallback, should the renderer ever be gone). It is started from a short-lived child and so is
orphaned at once: its parent is the init (PID 1, `tini`), which reaps it whenever it exits, never
argocd-cmp-server, which reaps nothing. Then this process execs the command it was given, keeping its pid.
"""

from __future__ import annotations

import os
import sys


def start_renderer() -> None:
    """Start the renderer for this code in the background, detached from this process; best effort."""
    from . import client

    pid = os.fork()
    if pid == 0:
        try:
            directory = client.runtime_dir()
            if directory is not None:
                client.start(directory)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m mip_cmp.renderer.sidecar COMMAND [ARG...]", file=sys.stderr)
        return 2
    from . import client

    # Every generate the sidecar runs, and the renderer, inherit the code's id: none walks the package again.
    os.environ[client.CODE_ID] = client.code_id()
    if os.environ.get("MIP_CMP_RENDERER", "auto") != "off":
        start_renderer()
    os.execvp(args[0], args)  # noqa: S606 (the sidecar command, as the image gives it)
    return 127  # not reached: execvp raises when it fails


if __name__ == "__main__":
    sys.exit(main())
