"""The `diff`, `graph` and `import` commands: argument handling and output; the work is in their modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE, EXIT_OK, UsageError
from ..reporter import writer


def _directory(path: str, command: str) -> Path:
    if not Path(path).is_dir():
        raise UsageError(f"mip-cmp {command}: {path}: not a directory")
    return Path(path)


def cmd_diff(args: argparse.Namespace) -> int:
    from . import diff
    from .diff import compare, snapshot_at

    paths: list[str] = args.paths
    if len(paths) > 2:
        raise UsageError("mip-cmp diff: give one repository, or two directories to compare")
    if len(paths) == 2:
        if args.rev_from or args.rev_to:
            raise UsageError("mip-cmp diff: --from/--to compare revisions of one repository, not two directories")
        old_dir, new_dir = _directory(paths[0], "diff"), _directory(paths[1], "diff")
        old = snapshot_at(old_dir, None, paths[0], args.revision)
        new = snapshot_at(new_dir, None, paths[1], args.revision)
        old_label, new_label = paths[0], paths[1]
    else:
        repo = _directory(paths[0] if paths else ".", "diff")
        old_label = args.rev_from or "HEAD"
        new_label = args.rev_to or "working tree"
        old = snapshot_at(repo, old_label, old_label, args.revision)
        new = snapshot_at(repo, args.rev_to, new_label, args.revision)
    report = compare(old, new, old_label, new_label)
    sys.stdout.write(writer(diff, args.format)(report))
    sys.stdout.flush()
    if not args.exit_code or not report.changes:
        return EXIT_OK
    return EXIT_DIFF_DESTRUCTIVE if report.destructive else EXIT_DIFF_CHANGES


def cmd_graph(args: argparse.Namespace) -> int:
    from . import graph as graphs
    from .snapshot import take

    graph = graphs.build(take(_directory(args.repo, "graph"), args.revision))
    sys.stdout.write(writer(graphs, args.format)(graph))
    sys.stdout.flush()
    return EXIT_OK



def cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_repo, report
    from .mipinfra import require_tools

    source = _directory(args.source, "import")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"mip-cmp import: --out {args.out}: must be a new or empty directory")
    require_tools()
    sys.stdout.write(writer(report, args.format)(import_repo(source, out, adopt_defaults=args.adopt_defaults)))
    sys.stdout.flush()
    return EXIT_OK
