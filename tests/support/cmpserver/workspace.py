"""The request directory: the repository's tracked files in a fresh ``_cmp_server/<uuid>`` directory, files
0644 and directories 0755, symlinks kept relative and refused when they lead outside; and Go's path
matching, which the tar exclusions, discovery and project globs use."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from .argocd import HarnessError


def go_path_match(pattern: str, name: str) -> bool:
    """Go's filepath.Match: '*' and '?' never match '/', '[...]' classes with '^' negation, '\\' escapes."""
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        if c == "*":
            regex += "[^/]*"
        elif c == "?":
            regex += "[^/]"
        elif c == "\\" and i < len(pattern):
            regex += re.escape(pattern[i])
            i += 1
        elif c == "[":
            j = i + 1 if pattern[i:i + 1] == "^" else i
            while j < len(pattern) and (pattern[j] != "]" or j == i):
                j += 2 if pattern[j] == "\\" else 1
            if j >= len(pattern):
                raise HarnessError(f"syntax error in pattern {pattern!r}")
            body, i = pattern[i:j], j + 1
            negate = body.startswith("^")
            regex += "[" + ("^" if negate else "") + body[negate:].replace("[", "\\[") + "]"
        else:
            regex += re.escape(c)
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _has_meta(path: str) -> bool:
    return any(c in path for c in "*?[\\")


def go_glob(pattern: str) -> list[str]:
    """Go's filepath.Glob: no '**'; each element matched with go_path_match; hidden files included."""
    if not _has_meta(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    directory, base = os.path.split(pattern)
    found = []
    for d in go_glob(directory) if _has_meta(directory) else [directory or "."]:
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in sorted(os.listdir(d)) if go_path_match(base, n)]
    return found


def tracked_files(repo_dir: Path) -> list[str]:
    """Root-relative paths of a checkout: `git ls-files` when repo_dir is tracked, else every file."""
    try:
        out = subprocess.run(["git", "-C", str(repo_dir), "ls-files", "-z", "--", "."],
                             capture_output=True, check=True, timeout=30).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
    if not names:  # not a git work tree (or nothing tracked): every file, symlinked directories as links
        for root, dirs, files in os.walk(repo_dir):
            rel = Path(root).relative_to(repo_dir)
            links = [d for d in dirs if (Path(root) / d).is_symlink()]
            names += [(rel / n).as_posix() for n in files + links]
    return sorted({n for n in names if os.path.lexists(repo_dir / n)})


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def workspace(repo_dir: Path, tmp: Path, *, exclude: tuple[str, ...] = (),
              preserve_file_mode: bool = False) -> Path:
    """The request directory argocd-cmp-server untars into: `<tmp>/_cmp_server/<uuid>`, returned."""
    work_dir = tmp / "_cmp_server"
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest = work_dir / str(uuid.uuid4())
    dest.mkdir(mode=0o700)

    def excluded(rel: str) -> bool:  # --plugin-tar-exclude: a matching directory is skipped entirely
        parts = rel.split("/")
        return any(go_path_match(g, "/".join(parts[:n])) for g in exclude for n in range(1, len(parts) + 1))

    names = [n for n in tracked_files(repo_dir) if not excluded(n)]
    if not any((repo_dir / n).is_file() and not (repo_dir / n).is_symlink() for n in names):
        raise HarnessError(f"no files to send({repo_dir})")
    links = []
    for rel in names:
        src, target = repo_dir / rel, dest / rel
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            (dest / parent).mkdir(exist_ok=True)
            os.chmod(dest / parent, 0o755)
        if src.is_symlink():
            links.append((rel, os.readlink(src)))
        elif src.is_file():
            shutil.copyfile(src, target)
            os.chmod(target, (src.stat().st_mode & 0o777) if preserve_file_mode else 0o644)
    # Symlinks last, so their targets exist; resolved, checked to stay inside, recreated relative.
    real_dest = os.path.realpath(dest)
    for rel, link in links:
        if os.path.isabs(link):
            raise HarnessError(f"illegal filepath in symlink: {rel} -> {link} (absolute)")
        target = dest / rel
        resolved = os.path.realpath(os.path.join(target.parent, link))
        if not _inside(resolved, real_dest):
            raise HarnessError(f"illegal filepath in symlink: {rel} -> {link}")
        os.symlink(os.path.relpath(resolved, os.path.realpath(target.parent)), target)
    return dest


def app_path(ws: Path, source_path: str | None) -> Path:
    """`<workspace>/<source.path>`: the cwd of init, generate and find.command; never outside."""
    path = Path(os.path.normpath(ws / (source_path or ".")))
    if not _inside(str(path), str(ws)):
        raise HarnessError("illegal appPath: out of workDir bound")
    if not path.is_dir():
        raise HarnessError(f"{source_path}: app path does not exist")
    return path
