"""The one YAML emitter: deterministic bytes, no anchors, multi-document, block style."""

from __future__ import annotations

from typing import Any

import yaml

from . import fastyaml
from .errors import MipError

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

MAX_OUTPUT_BYTES = 32 * 1024 * 1024


class _Dumper(_BaseDumper):
    """Never writes &anchors/*aliases, even when one Python object appears twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(objects: list[dict[str, Any]], dumper: type[Any]) -> bytes:
    text: str = yaml.dump_all(
        objects, Dumper=dumper, explicit_start=True, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=1_000_000, indent=2,
    )
    return text.encode("utf-8")


def dump(objects: list[dict[str, Any]]) -> bytes:
    # Speed only: fastyaml writes the bytes _dump(objects, _Dumper) would (dump_all is the concatenation of
    # its documents), about ten times faster; a document outside its subset is left to PyYAML.
    # tests/test_fast_path.py proves both agree.
    out = b"".join(
        text.encode("utf-8") if (text := fastyaml.document(obj)) is not None else _dump([obj], _Dumper)
        for obj in objects
    )
    if len(out) > MAX_OUTPUT_BYTES:
        raise MipError(f"output is {len(out)} bytes; the limit is {MAX_OUTPUT_BYTES}")
    return out

