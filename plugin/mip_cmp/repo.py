"""Reading the repository: every path stays inside the repository root, symlinks included."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import MipError, Problem
from .names import FILE_NAME
from .yamlsource import MAX_FILE_BYTES, Document, decode, load_fast

MAX_FEDERATIONS = 5000
MAX_ANCESTORS = 32
# All mip.yaml files one run may read together (the root reads every federation file).
MAX_TOTAL_BYTES = 32 * 1024 * 1024
# Argo CD merges these files from an app's directory into its source, plugin parameters included
# (reposerver mergeSourceParameters): in a federation directory they could rebind it to another
# federation, so their presence is an error there.
SOURCE_OVERRIDE_PREFIX = ".argocd-source"
_PLATFORM_KIND = re.compile(rb"^kind:[ \t]*['\"]?Platform['\"]?[ \t]*(#.*)?$", re.MULTILINE)


def file_error(rel: str, message: str) -> MipError:
    return MipError([Problem(rel, 0, 0, "", message)])


class Repo:
    """A repository checkout rooted at `root`; paths are handled relative to it, POSIX style."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._inside_memo: dict[str, Path] = {}  # speed only, see _inside
        # Speed only: what loading.load_federation made of a directory, so that one run (validate renders
        # every app) checks each federation file once; the checkout does not change meanwhile.
        self.loaded: dict[str, Any] = {}
        self.bytes_read = 0

    def _inside(self, rel: str) -> Path:
        # Speed only: one render asks for the same directory more than once (listing, reading, overrides)
        # of a checkout that does not change meanwhile; a refused path is not remembered and fails again.
        if rel in self._inside_memo:
            return self._inside_memo[rel]
        real = self._below_resolved(rel)
        if real is None:
            real = self._resolve(rel)
        self._inside_memo[rel] = real
        return real

    def _below_resolved(self, rel: str) -> Path | None:
        """Speed only (the root reads every federation): `rel` resolved from its resolved parent with one
        lstat, when its last part is no symlink (what resolve() would give); None: resolve it in full."""
        parent, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or parent.startswith("/") or ".." in parent.split("/"):
            return None
        try:
            base = self.root if parent in ("", ".") else self._inside(parent)
        except MipError:
            return None  # the full resolution says what is wrong, about `rel` itself
        candidate = base / name
        try:
            if stat.S_ISLNK(os.lstat(candidate).st_mode):
                return None
        except OSError:
            pass  # not there (yet): resolve() keeps such a last part as it is
        return candidate

    def _resolve(self, rel: str) -> Path:
        parts = PurePosixPath(rel).parts
        if PurePosixPath(rel).is_absolute() or ".." in parts:
            raise file_error(rel, "path must stay inside the repository (no absolute paths, no '..')")
        path = self.root.joinpath(*parts)
        try:
            real = path.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
            raise file_error(rel, "is a symlink loop or cannot be resolved; refusing to read it") from None
        if real != self.root and self.root not in real.parents:
            raise file_error(rel, "is a symlink that leads outside the repository; refusing to read it")
        return real

    def inside_of(self, base: str, rel: str) -> bool:
        """Whether `rel` resolves (symlinks followed) to `base` or below it; both must stay in the repository."""
        outer, inner = self._inside(base), self._inside(rel)
        return inner == outer or outer in inner.parents

    def is_dir(self, rel: str) -> bool:
        return self._inside(rel).is_dir()

    def read(self, rel_dir: str) -> Document:
        """Parse `<rel_dir>/mip.yaml`."""
        rel = FILE_NAME if rel_dir in ("", ".") else f"{rel_dir}/{FILE_NAME}"
        path = self._inside(rel)
        try:
            if not path.is_file():
                raise file_error(rel, f"not found (every mip-cmp directory needs a {FILE_NAME})")
            with path.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise file_error(rel, f"cannot read: {exc.strerror}") from None
        self.bytes_read += len(raw)
        if self.bytes_read > MAX_TOTAL_BYTES:
            raise file_error(rel, f"the mip.yaml files read together exceed {MAX_TOTAL_BYTES} bytes")
        return load_fast(decode(raw, rel), rel)  # positions parsed only if a problem needs them

    def source_overrides(self, rel_dir: str) -> list[str]:
        """Relative paths of Argo CD's `.argocd-source*.yaml` override files in `rel_dir`."""
        directory = self._inside(rel_dir)
        try:
            names = sorted(entry.name for entry in os.scandir(directory)
                           if entry.name.startswith(SOURCE_OVERRIDE_PREFIX))
        except OSError:
            return []
        return [name if rel_dir in ("", ".") else f"{rel_dir}/{name}" for name in names]

    def subdirectories(self, base: str) -> list[str]:
        """Sorted names of the directories in `base` (none if it is missing), hidden ones left out."""
        base_path = self._inside(base)
        if not base_path.is_dir():
            return []
        with os.scandir(base_path) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())

    def file_names(self, rel_dir: str) -> list[str]:
        """Sorted names of the files (and dangling symlinks) in `rel_dir`."""
        with os.scandir(self._inside(rel_dir)) as entries:
            return sorted(e.name for e in entries if not e.is_dir())

    def federation_dirs(self, base: str) -> list[str]:
        """Sorted relative paths of the subdirectories of `base` that hold a mip.yaml."""
        base_path = self._inside(base)
        if not base_path.is_dir():
            return []
        found = []
        with os.scandir(base_path) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                rel = f"{base}/{entry.name}" if base not in ("", ".") else entry.name
                if os.path.lexists(Path(entry.path, FILE_NAME)):
                    self._inside(rel)  # a symlinked directory must not lead outside either
                    found.append(rel)
        if len(found) > MAX_FEDERATIONS:
            raise file_error(base, f"more than {MAX_FEDERATIONS} federation directories")
        return sorted(found)


def _is_platform(directory: Path) -> bool:
    candidate = directory / FILE_NAME
    try:
        with candidate.open("rb") as handle:
            return bool(_PLATFORM_KIND.search(handle.read(MAX_FILE_BYTES + 1)))
    except OSError:
        return False


def locate(app_dir: Path, source_path: str | None) -> tuple[Repo, str]:
    """Find the repository root and the app directory relative to it.

    Argo CD runs us in `<checkout>/<source path>` and says the source path in ARGOCD_APP_SOURCE_PATH,
    so the root is that many levels up. A person running `render` has no such variable: then the root
    is the nearest ancestor whose mip.yaml is a Platform.
    """
    app_dir = app_dir.resolve()
    if source_path is not None and source_path.strip() not in ("", ".", "./"):
        rel = PurePosixPath(source_path.strip().strip("/"))
        parts = [p for p in rel.parts if p != "."]
        if rel.is_absolute() or ".." in parts:
            raise MipError(f"ARGOCD_APP_SOURCE_PATH {source_path!r} must be a path inside the repository")
        if len(parts) >= len(app_dir.parts) or list(app_dir.parts[-len(parts):]) != parts:
            raise MipError(f"ARGOCD_APP_SOURCE_PATH {source_path!r} does not match the working directory; "
                           "run generate in the application's source path")
        root = Path(*app_dir.parts[: -len(parts)])
        return Repo(root), "/".join(parts)
    if source_path is not None or _is_platform(app_dir):
        return Repo(app_dir), "."
    for depth, ancestor in enumerate(app_dir.parents, start=1):
        if depth > MAX_ANCESTORS:
            break
        if _is_platform(ancestor):
            return Repo(ancestor), app_dir.relative_to(ancestor).as_posix()
        if (ancestor / ".git").exists():
            break
    raise file_error(FILE_NAME, f"no platform {FILE_NAME} (kind: Platform) found at or above {app_dir.name!r}")

