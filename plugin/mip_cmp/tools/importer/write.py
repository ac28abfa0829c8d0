"""Writing the imported platform: all of it or nothing.

Everything goes to a new directory beside `--out` first; it is validated and rendered there, and only a
whole, valid platform is moved into place (a rename). A failed import leaves `--out` as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from ...contract.schema import SCHEMA_ID
from ...core.names import FILE_NAME
from ...core.vocabulary import Obj

HEADER = ("# Written by `mip-cmp import` from a mip-infra-style repository; see the migration report it printed.\n"
          f"# yaml-language-server: $schema={SCHEMA_ID}\n")


def write_platform(files: dict[str, Obj], copies: dict[str, Path], out: Path) -> None:
    """The mip.yaml files and the copied directories, into `out` (a directory of its own)."""
    for target, source in sorted(copies.items()):
        shutil.copytree(source, out / target)
    write_files(files, out)


def write_files(files: dict[str, Obj], out: Path) -> None:
    """The mip.yaml files (again, once the flows are declared)."""
    for directory, data in sorted(files.items()):
        path = out / directory / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
        path.write_text(HEADER + text, encoding="utf-8")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A new directory beside `out` to write the platform into; moved to `out` when the block ends without an
    error (an empty `out` is replaced, nothing else is), removed otherwise. Beside it, so the move is a rename
    on one file system."""
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=parent))
    try:
        yield stage
        stage.chmod(0o777 & ~_umask())
        if out.is_dir():
            out.rmdir()  # only ever empty here (the command refused anything else); rmdir says so otherwise
        stage.rename(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    """The process umask (mkdtemp makes its directory 0700; the platform directory gets the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
