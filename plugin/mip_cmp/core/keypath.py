"""Where a value sits in a document, and the one way mip-cmp writes that down (in problems, in the output
gate's messages, in `diff`)."""

from __future__ import annotations

import json

KeyPath = tuple[str | int, ...]


def _plain(key: str) -> bool:
    """A key written as it is after a dot: letters, digits, `-` and `_` (a key holding a dot, a slash or a
    space, such as a label, is quoted instead, so the path reads one way only)."""
    return key.replace("-", "_").replace("_", "a").isalnum()


def format_path(path: KeyPath | list[str | int]) -> str:
    """`apps.engine.values.replicas`, `sources[0]`, `metadata.labels["app.kubernetes.io/name"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _plain(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out
