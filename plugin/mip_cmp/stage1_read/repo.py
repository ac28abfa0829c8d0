"""Reading the repository: every path stays inside the repository root, symlinks included."""
# Paths inside are strings and os calls, not pathlib: the root resolves and reads thousands of them per render,
# and pathlib's objects cost more than the system calls.
# ruff: noqa: PTH112, PTH113, PTH116, PTH118

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from ..core import budget, meter
from ..core.errors import MipError, Problem
from ..core.names import FILE_NAME
from .yamlsource import Document, decode, load_fast, unreadable

MAX_ANCESTORS = 32
# Argo CD merges `.argocd-source.yaml` and `.argocd-source-<app name>.yaml` from an Application's source
# directory into its source, plugin parameters included, before it even picks the plugin (repository.go
# mergeSourceParameters): at the root one could rebind a federation's wrapper Application (`path: .`) to
# another directory or switch the plugin off; anywhere else, an Application someone points there. So any
# entry of the repository whose name starts with this is an error (loading.py): inside a federation's
# directory, of that federation's renders; anywhere else, which only admins control, of every render.
SOURCE_OVERRIDE_PREFIX = ".argocd-source"
SOURCE_OVERRIDE_REASON = (
    "not allowed anywhere in the repository: Argo CD merges .argocd-source.yaml and "
    ".argocd-source-<app>.yaml into the source of an Application rendered from that directory, plugin "
    "parameters included, before it picks the plugin, so this file could rebind a federation to another "
    "directory or turn the plugin off; remove it"
)
_PLATFORM_KIND = re.compile(rb"^kind:[ \t]*['\"]?Platform['\"]?[ \t]*(#.*)?$", re.MULTILINE)


def file_error(rel: str, message: str) -> MipError:
    return MipError([Problem(rel, 0, 0, "", message)])


class Repo:
    """A repository checkout rooted at `root`; paths are handled relative to it, POSIX style."""

    def __init__(self, root: Path, *, remember: bool = False) -> None:
        self.root = root.resolve()
        self._root = str(self.root)
        # `remember`: a run that renders several apps of a checkout that does not change meanwhile (validate,
        # render, the tools) reads and checks each file once: `documents` (in the order first read) and `loaded`
        # keep them. One render for Argo CD reads each file once anyway, and keeping every federation's data
        # would cost the root its memory budget.
        self.remember = remember
        self.documents: dict[str, Document] = {}
        self._inside_memo: dict[str, str] = {}  # speed only, see _inside
        # Speed only: what loading.load_federation made of a directory, so that one run (validate renders
        # every app) checks each federation file once; the checkout does not change meanwhile.
        self.loaded: dict[str, Any] = {}
        self.bytes_read = 0
        # Remembering runs that render several apps (new_render): what parsing each file cost the render that
        # did it (bytes, CPU seconds, nodes), the files each loaded directory read, and those the current
        # render has counted.
        self.costs: dict[str, tuple[int, float, int]] = {}
        self.read_by: dict[str, list[str]] = {}
        self._counted: set[str] | None = None
        self._recording: list[str] | None = None
        # admin_overrides() and source_overrides(), once per render: the checkout does not change meanwhile.
        self._admin_overrides: list[str] | None = None
        self._overrides: dict[str, list[str]] = {}
        self._listings: dict[str, list[os.DirEntry[str]]] = {}  # speed only, see _directories
        self._file_modes: dict[str, int | None] = {}  # speed only, see _file_mode

    def _inside(self, rel: str) -> str:
        """The real path of `rel` (symlinks resolved), which must stay inside the repository.

        Speed only: one render asks for the same directory more than once (listing, reading, overrides) of a
        checkout that does not change meanwhile; a refused path is not remembered and fails again."""
        if rel in self._inside_memo:
            return self._inside_memo[rel]
        real = self._below_resolved(rel)
        if real is None:
            real = self._resolve(rel)
        self._inside_memo[rel] = real
        return real

    def _below_resolved(self, rel: str) -> str | None:
        """Speed only (the root reads every federation): `rel` resolved from its resolved parent with one
        lstat, when its last part is no symlink (what resolve() would give); None: resolve it in full."""
        parent, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or parent.startswith("/") or ".." in parent.split("/"):
            return None
        try:
            base = self._root if parent in ("", ".") else self._inside(parent)
        except MipError:
            return None  # the full resolution says what is wrong, about `rel` itself
        candidate = os.path.join(base, name)
        try:
            if stat.S_ISLNK(os.lstat(candidate).st_mode):
                return None
        except OSError:
            pass  # not there (yet): resolve() keeps such a last part as it is
        return candidate

    def _resolve(self, rel: str) -> str:
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
        return str(real)

    def inside_of(self, base: str, rel: str) -> bool:
        """Whether `rel` resolves (symlinks followed) to `base` or below it; both must stay in the repository."""
        outer, inner = self._inside(base), self._inside(rel)
        return inner == outer or inner.startswith(outer.rstrip("/") + "/")  # both real, normalized paths

    def is_dir(self, rel: str) -> bool:
        return os.path.isdir(self._inside(rel))

    def read(self, rel_dir: str) -> Document:
        """Parse `<rel_dir>/mip.yaml`."""
        return self.read_yaml(FILE_NAME if rel_dir in ("", ".") else f"{rel_dir}/{FILE_NAME}")

    def read_yaml(self, rel: str) -> Document:
        """Parse the YAML file `rel`, within the limits of a mip.yaml (each file's, and all files' together);
        once, if the repository remembers (a file that failed fails again)."""
        if self._recording is not None:
            self._recording.append(rel)
        if rel in self.documents:
            self.counted(rel)
            return self.documents[rel]
        raw = _read_file(self._inside(rel), rel)
        self._count_bytes(rel, len(raw))
        if not self.remember:  # generate: one render, nothing to measure for a later one
            return load_fast(decode(raw, rel), rel)  # positions parsed only if a problem needs them
        running = meter.current()
        cpu, nodes = time.process_time(), running.nodes if running else 0
        doc = self.documents[rel] = load_fast(decode(raw, rel), rel)
        self.costs[rel] = (len(raw), time.process_time() - cpu, (running.nodes if running else 0) - nodes)
        if self._counted is not None:
            self._counted.add(rel)
        return doc

    def _count_bytes(self, rel: str, n: int) -> None:
        self.bytes_read += n
        if self.bytes_read > budget.MAX_TOTAL_BYTES:
            # A spent budget, not a broken file: the render stops here (said once), it does not go on to
            # report every later federation file as broken.
            raise meter.Exceeded([Problem(rel, 0, 0, "", f"the mip.yaml files read together exceed "
                                                         f"{budget.MAX_TOTAL_BYTES} bytes (budget.MAX_TOTAL_BYTES)")])

    def new_render(self, *already: str) -> None:
        """Another app's render begins in a remembering run (validate renders every app): each file it reads
        counts against its budgets the first time it does, remembered or not, as in the process Argo CD starts
        for that app, which reads everything afresh (parsing's bytes, CPU and nodes, as first measured).
        `already`: remembered files it uses without reading them (the platform's, loaded once), counted now."""
        self.bytes_read = 0
        self._counted = set()
        self.counted(*already)

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The files read inside, remembered or not (what loading a directory read: read_by)."""
        outer, self._recording = self._recording, []
        try:
            yield self._recording
        finally:
            read, self._recording = self._recording, outer
            if outer is not None:
                outer.extend(read)

    def counted(self, *rels: str) -> None:
        """Count remembered files the current render uses without reading them (see new_render)."""
        for rel in rels:
            if self._counted is None or rel in self._counted or rel not in self.costs:
                continue
            self._counted.add(rel)
            size, cpu, nodes = self.costs[rel]
            self._count_bytes(rel, size)
            meter.at(meter.locator(rel))
            meter.spent(cpu, nodes)

    def is_file(self, rel: str) -> bool:
        return os.path.isfile(self._inside(rel))

    def admin_overrides(self, federation_roots: list[str]) -> list[str]:
        """Relative paths of every `.argocd-source*` entry outside the federations' directories (`.git` aside),
        symlinks included and not followed: in what only admins write. The walk enters no directory directly
        under a federation root (a federation's: what it holds costs that federation's renders only, see
        source_overrides) and looks at no more than budget.MAX_REPO_ENTRIES entries."""
        if self._admin_overrides is None:
            roots = {posixpath.normpath(r).strip("/").removeprefix(".") for r in federation_roots}
            self._admin_overrides = self._walk(".", budget.MAX_REPO_ENTRIES, "MAX_REPO_ENTRIES",
                                               lambda path: posixpath.dirname(path) in roots)
        return list(self._admin_overrides)

    def source_overrides(self, directory: str) -> list[str]:
        """Relative paths of every `.argocd-source*` entry in the federation directory `directory` or below it,
        symlinks included and not followed, looking at no more than budget.MAX_FEDERATION_ENTRIES entries:
        more fails this federation's renders, named, and no one else's (no other render walks here)."""
        if directory not in self._overrides:
            self._overrides[directory] = self._walk(directory, budget.MAX_FEDERATION_ENTRIES,
                                                    "MAX_FEDERATION_ENTRIES", lambda path: False)
        return list(self._overrides[directory])

    def _walk(self, start: str, most: int, limit: str, skip: Callable[[str], bool]) -> list[str]:
        """The `.argocd-source*` entries in `start` or below. Bounded in memory as well as in entries: the
        paths it keeps (one per directory still to visit) and looks at come to at most budget.MAX_WALK_CHARS
        characters, however deep and long-named the tree; `limit` names the entry budget in the error."""
        found: list[str] = []
        seen = chars = 0
        stack = [(self._inside(start), "" if start in ("", ".") else start)]
        while stack:
            directory, rel = stack.pop()
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        path = f"{rel}/{entry.name}" if rel else entry.name
                        seen += 1
                        chars += len(path)
                        if seen > most or chars > budget.MAX_WALK_CHARS:
                            raise self._too_many(start or ".", most, limit)
                        if entry.name.startswith(SOURCE_OVERRIDE_PREFIX):
                            found.append(path)
                        elif entry.name != ".git" and entry.is_dir(follow_symlinks=False) and not skip(path):
                            stack.append((entry.path, path))
            except OSError:
                continue  # unreadable (or a path too long to open): Argo CD could not read an override there either
        return sorted(found)

    @staticmethod
    def _too_many(where: str, most: int, limit: str) -> MipError:
        return file_error(where, f"more than {most:,} files and directories (budget.{limit}), or more than "
                                 f"{budget.MAX_WALK_CHARS:,} characters of their paths (budget.MAX_WALK_CHARS): "
                                 f"mip-cmp looks at every one for {SOURCE_OVERRIDE_PREFIX}* files; keep only what "
                                 "the apps need here")

    def _directories(self, base: str) -> list[os.DirEntry[str]]:
        """The directories in `base` (none if it is missing), hidden ones left out, in the order the system lists
        them. Speed only: listed once per render, as the root asks twice (its federations, and the directories
        without a mip.yaml) of a checkout that does not change meanwhile."""
        if base not in self._listings:
            base_path = self._inside(base)
            entries: list[os.DirEntry[str]] = []
            if os.path.isdir(base_path):
                with os.scandir(base_path) as listing:
                    entries = [e for e in listing if not e.name.startswith(".") and e.is_dir()]
            self._listings[base] = entries
        return self._listings[base]

    def _file_mode(self, directory: str) -> int | None:
        """The lstat mode of `<directory>/mip.yaml` (a real path), None if there is none; asked once per render."""
        if directory not in self._file_modes:
            try:
                self._file_modes[directory] = os.lstat(os.path.join(directory, FILE_NAME)).st_mode
            except OSError:
                self._file_modes[directory] = None
        return self._file_modes[directory]

    def subdirectories(self, base: str) -> list[str]:
        """Sorted names of the directories in `base` (none if it is missing), hidden ones left out."""
        return sorted(e.name for e in self._directories(base))

    def file_names(self, rel_dir: str) -> list[str]:
        """Sorted names of the files (and dangling symlinks) among the first budget.MAX_FEDERATION_ENTRIES
        entries of `rel_dir`: the root asks of a federation's directory, whose size is that federation's own."""
        with os.scandir(self._inside(rel_dir)) as entries:
            return sorted(e.name for _, e in zip(range(budget.MAX_FEDERATION_ENTRIES), entries, strict=False)
                          if not e.is_dir())

    def holds_file(self, rel_dir: str) -> bool:
        """Whether FILE_NAME is among file_names(rel_dir), asking the system at most once per directory."""
        directory = self._inside(rel_dir)
        mode = self._file_mode(directory)
        if mode is None:
            return False
        if stat.S_ISLNK(mode):
            return not os.path.isdir(os.path.join(directory, FILE_NAME))  # a dangling symlink counts as a file
        return not stat.S_ISDIR(mode)

    def federation_dirs(self, base: str) -> list[str]:
        """Sorted relative paths of the subdirectories of `base` that hold a mip.yaml."""
        found = []
        for entry in self._directories(base):
            rel = f"{base}/{entry.name}" if base not in ("", ".") else entry.name
            if self._file_mode(entry.path) is None:
                continue
            if char := unreadable(entry.name):
                raise file_error(rel, f"the directory name holds {char}, a character Argo CD cannot read back "
                                      "(the root's output names every federation directory); rename it")
            if entry.is_symlink():
                self._inside(rel)  # a symlinked directory must not lead outside either
            else:
                self._inside_memo.setdefault(rel, entry.path)  # what _inside finds, without asking the system
            found.append(rel)
            if len(found) > budget.MAX_FEDERATIONS:
                raise file_error(base, f"more than {budget.MAX_FEDERATIONS} federation directories "
                                       "(budget.MAX_FEDERATIONS)")
        return sorted(found)


# What pathlib's is_file() takes for "not there" rather than "cannot be read".
_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def _read_file(path: str, rel: str) -> bytes:
    """At most budget.MAX_FILE_BYTES + 1 bytes of the regular file at `path` (real and inside the repository;
    `rel` names it in errors). Anything but a regular file is not opened at all (a FIFO would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OSError(errno.ENOENT, "not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks: list[bytes] = []
            left = budget.MAX_FILE_BYTES + 1
            while left > 0 and (chunk := os.read(fd, left)):
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            raise file_error(rel, f"not found (every mip-cmp directory needs a {FILE_NAME})") from None
        raise file_error(rel, f"cannot read: {exc.strerror}") from None
    return b"".join(chunks)


def source_override_problems(paths: list[str]) -> list[Problem]:
    return [Problem(path, 0, 0, "", SOURCE_OVERRIDE_REASON) for path in paths]  # Problem scrubs the path


def _is_platform(directory: Path) -> bool:
    candidate = directory / FILE_NAME
    try:
        with candidate.open("rb") as handle:
            return bool(_PLATFORM_KIND.search(handle.read(budget.MAX_FILE_BYTES + 1)))
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

