"""The command line: arguments, stdout, stderr and exit codes; the core below never prints (what `import` writes,
`bootstrap --apply` applies and `doctor` reads from a cluster is their modules' own).

Exit codes (errors.py): 0 success, 1 a problem in the input, 2 bad usage, 3 a bug in mip-cmp; `diff --exit-code`
adds 10 (changes) and 11 (destructive changes).
"""

from __future__ import annotations

import os
import sys

from . import __version__

# `mip-cmp generate` must start fast (client.py): this module imports only what the interpreter has loaded
# anyway; each command imports what it needs.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any


def _parser_class() -> type[argparse.ArgumentParser]:
    import argparse
    from typing import NoReturn

    from .core.errors import UsageError

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            raise UsageError(f"{self.prog}: {message} (see --help)")

        def _check_value(self, action: argparse.Action, value: Any) -> None:
            # argparse's own message lists the choices; a mistyped command or format also gets the closest.
            if action.choices is not None and value not in action.choices:
                from .core.suggest import did_you_mean

                names = [str(choice) for choice in action.choices]
                hint = f"{value!r}{did_you_mean(str(value), names)}"
                if isinstance(action, argparse._SubParsersAction):
                    raise argparse.ArgumentError(None, f"unknown command {hint} (commands: {', '.join(names)})")
                raise argparse.ArgumentError(action, f"invalid choice: {hint} (choose from {', '.join(names)})")

    return _Parser


def _write(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def cmd_generate(args: argparse.Namespace) -> int:
    from .answer import answer

    # The same pure function the warm renderer's workers call (renderer/): the same bytes either way.
    code, out, err = answer(os.getcwdb(), os.environ)  # noqa: PTH109 (the bytes Argo CD gave)
    sys.stderr.flush()
    _write(out)
    sys.stderr.buffer.write(err)
    sys.stderr.buffer.flush()
    return code


def cmd_render(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .contract.params import string_parameter
    from .core.errors import EXIT_OK, UsageError

    environ = {"ARGOCD_APP_SOURCE_TARGET_REVISION": args.revision}
    params = []
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"mip-cmp render: --param {item!r}: expected NAME=VALUE")
        params.append(string_parameter(name, value))
    if params:
        environ["ARGOCD_APP_PARAMETERS"] = json.dumps(params)
    path = Path(args.path)
    if not path.is_dir():
        raise UsageError(f"mip-cmp render: {args.path}: not a directory")
    from .tools.rendercheck import read_note, render_checked

    manifests, rendered, others, warnings = render_checked(path, environ)
    _write(manifests)
    print(read_note(rendered, others), file=sys.stderr)
    for warning in warnings:
        print(f"mip-cmp: warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .core.errors import EXIT_INPUT, EXIT_OK, UsageError
    from .tools.validate import notes, validate_repo

    root = Path(repository(args))
    if not root.is_dir():
        raise UsageError(f"mip-cmp validate: {root}: not a directory")
    problems, files = validate_repo(root)
    if args.format in ("github", "json"):
        from .reporter import annotation, git_prefix, json_report

        prefix = git_prefix(root)
        if args.format == "json":
            sys.stdout.write(json_report(problems, files, prefix))
        for problem in problems if args.format == "github" else ():
            print(annotation(problem, prefix))
    else:
        for problem in problems:
            print(problem, file=sys.stderr)
    if problems:
        print(f"mip-cmp: {len(problems)} problem(s) in {files} file(s)", file=sys.stderr)
        return EXIT_INPUT
    print(f"mip-cmp: {files} file(s) valid", file=sys.stderr)
    for note in notes(root):
        print(f"mip-cmp: note: {note}", file=sys.stderr)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .contract.schema import json_schema
    from .core.errors import EXIT_OK

    _write(json_schema().encode())
    return EXIT_OK


def cmd_plugin_config(args: argparse.Namespace) -> int:
    from .contract.pluginconfig import plugin_yaml
    from .core.errors import EXIT_OK

    _write(plugin_yaml())
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .core.errors import EXIT_OK
    from .stage5_write.emit import dump
    from .tools.bootstrap import apply, bootstrap_objects

    objects = bootstrap_objects(Path(repository(args)), args.repo_url, args.revision)
    if args.apply:
        for line in apply(objects):
            print(line, file=sys.stderr)
        return EXIT_OK
    _write(dump(objects))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .core.errors import EXIT_INPUT, EXIT_OK
    from .tools.doctor import doctor, report

    checks = doctor(args.context, Path(repository(args)), args.image)
    for line in report(checks):
        print(line)
    return EXIT_OK if all(c.ok for c in checks) else EXIT_INPUT


HELP_WIDTH = 100  # the width of a --help's own paragraphs (argparse wraps the options itself)
REPO_HELP = "the platform repository: the directory holding the platform mip.yaml (default: .)"


def _repository_argument(p: argparse.ArgumentParser) -> None:
    """REPO, the same way for every command that reads a whole platform; `--repo` (bootstrap's and
    doctor's first spelling) still works, with a note."""
    import argparse

    p.add_argument("repo", nargs="?", metavar="REPO", help=REPO_HELP)
    p.add_argument("--repo", dest="repo_option", metavar="REPO", help=argparse.SUPPRESS)


def repository(args: argparse.Namespace) -> str:
    """The REPO argument, or the deprecated --repo option (with a note saying what to write instead)."""
    from .core.errors import UsageError

    option = getattr(args, "repo_option", None)
    if option is None:
        return str(args.repo or ".")
    if args.repo is not None:
        raise UsageError(f"mip-cmp {args.command}: REPO given twice ({args.repo} and --repo {option}); "
                         "pass it once, as the argument")
    print(f"mip-cmp: note: --repo is deprecated; pass the directory as the argument: "
          f"mip-cmp {args.command} {option}", file=sys.stderr)
    return str(option)


def _describe(sub: Any) -> None:
    """A command's one-line summary (its entry in `mip-cmp --help`) is also the first line of its own
    --help, before any longer description."""
    import textwrap

    for choice in sub._choices_actions:
        parser = sub.choices[choice.dest]
        summary = f"{choice.help[0].upper()}{choice.help[1:]}."
        more = f"\n\n{textwrap.fill(parser.description, HELP_WIDTH)}" if parser.description else ""
        parser.description = textwrap.fill(summary, HELP_WIDTH) + more


def build_parser() -> argparse.ArgumentParser:
    from .reporter import FORMATS

    _Parser = _parser_class()
    parser = _Parser(prog="mip-cmp", description="Expand mip.yaml files into the MIP platform for Argo CD.")
    parser.add_argument("--version", action="version", version=f"mip-cmp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("generate", help="what Argo CD runs: render ./mip.yaml using the Argo CD environment")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("render", help="render a directory like Argo CD would, for a person")
    p.add_argument("path", nargs="?", default=".",
                   help="an app directory: the repository root or a federation (default: .)")
    p.add_argument("--revision", default="HEAD", help="the revision Argo CD would render (default: HEAD)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a plugin parameter, e.g. component=secrets (repeatable)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("validate", help="check every mip.yaml of a repository; list all problems")
    _repository_argument(p)
    p.add_argument("--format", choices=FORMATS["validate"], default=FORMATS["validate"][0],
                   help="text on stderr; github: GitHub Actions annotations on stdout, paths from the git root; "
                        "json: one report object on stdout (default: text)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of mip.yaml (for editors)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("plugin-config", help="print the plugin.yaml Argo CD's cmp-server reads")
    p.set_defaults(func=cmd_plugin_config)

    p = sub.add_parser("bootstrap", help="print (or --apply) what an admin creates once")
    _repository_argument(p)
    p.add_argument("--repo-url", help="repository URL Argo CD pulls (default: the platform's repoURL)")
    p.add_argument("--revision", default="HEAD",
                   help="branch, tag or commit the root Application follows (default: HEAD, which Argo CD "
                        "resolves to the repository's default branch; name the branch, e.g. main, to pin it)")
    p.add_argument("--apply", action="store_true",
                   help="server-side apply them with the current kubeconfig instead of printing")
    p.set_defaults(func=cmd_bootstrap)

    p = sub.add_parser("doctor", help="check a cluster is ready for the platform (admins; read-only)",
                       description="With your kubeconfig, it checks that the API server answers and that Argo "
                                   "CD, the mip-cmp sidecar, External Secrets and the bootstrap objects are in "
                                   "place for the platform in REPO.")
    _repository_argument(p)
    p.add_argument("--context", help="kubeconfig context to use (default: the current one)")
    p.add_argument("--image", help="the sidecar image to expect (default: any tagged with this mip-cmp's version)")
    p.set_defaults(func=cmd_doctor)
    _add_tool_commands(sub)
    from .helptext import attach

    attach(sub.choices)
    _describe(sub)
    return parser


def _tool(name: str) -> Callable[[argparse.Namespace], int]:
    """The `diff`, `graph` and `import` commands live in tools/, imported only when one of them runs."""

    def run_tool(args: argparse.Namespace) -> int:
        from .tools import commands

        if hasattr(args, "repo_option"):
            args.repo = repository(args)

        code: int = getattr(commands, f"cmd_{name}")(args)
        return code

    return run_tool


def _add_tool_commands(sub: Any) -> None:
    from .core.errors import EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE
    from .reporter import FORMATS

    p = sub.add_parser("diff", help="what a change does to the cluster: both sides rendered as Argo CD does",
                       description="Compare the whole platform rendered at two points: --from/--to git revisions "
                                   "of REPO (without --to: REPO as it is now), or two directories. Exit codes with "
                                   f"--exit-code: 0 no change, {EXIT_DIFF_CHANGES} changes, {EXIT_DIFF_DESTRUCTIVE} "
                                   "destructive changes; 1, 2, 3 are errors as for every command.")
    p.add_argument("paths", nargs="*", metavar="REPO", help="the platform directory (default: .), or two directories")
    p.add_argument("--from", dest="rev_from", metavar="REV", help="git revision of the old side (default: HEAD)")
    p.add_argument("--to", dest="rev_to", metavar="REV", help="git revision of the new side (default: REPO as it is)")
    p.add_argument("--revision", default="HEAD", help="the revision Argo CD renders on both sides (default: HEAD)")
    p.add_argument("--format", choices=FORMATS["diff"], default=FORMATS["diff"][0],
                   help="text, json, GitHub Actions annotations, or markdown for a pull-request comment "
                        f"(default: {FORMATS['diff'][0]})")
    p.add_argument("--exit-code", action="store_true",
                   help=f"exit {EXIT_DIFF_CHANGES} if anything changes, {EXIT_DIFF_DESTRUCTIVE} if destructively")
    p.set_defaults(func=_tool("diff"))

    p = sub.add_parser("graph", help="the platform's topology as Mermaid, Graphviz dot or one offline HTML page")
    _repository_argument(p)
    p.add_argument("--format", choices=FORMATS["graph"], default=FORMATS["graph"][0],
                   help=f"output format (default: {FORMATS['graph'][0]})")
    p.add_argument("--revision", default="HEAD", help="the revision Argo CD would render (default: HEAD)")
    p.set_defaults(func=_tool("graph"))

    p = sub.add_parser("import", help="write the platform equivalent to a mip-infra checkout; report every object")
    p.add_argument("source", metavar="MIP_INFRA_CHECKOUT", help="a checkout of a mip-infra-style repository")
    p.add_argument("--out", required=True, metavar="DIR", help="where to write the platform (a new or empty directory)")
    p.add_argument("--format", choices=FORMATS["import"], default=FORMATS["import"][0],
                   help=f"format of the report (default: {FORMATS['import'][0]})")
    p.add_argument("--adopt-defaults", action="store_true",
                   help="take mip-cmp's sync defaults (prune on) instead of keeping the old repository's; the "
                        "report lists each change either way")
    p.set_defaults(func=_tool("import"))


def main(argv: Sequence[str] | None = None) -> int:
    # pydantic scans every installed distribution's entry points for plugins when the first model is built;
    # mip-cmp uses none (the image sets this too; a value the caller set is kept).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if argv is None and sys.argv[1:] == ["generate"]:
        # What Argo CD runs on every sync: answered by the warm renderer when one is up, decided before
        # anything heavy is imported; else by the same answer() in this process (renderer/client.py).
        from .answer import on_sigterm
        from .renderer.client import generate

        return generate(_answer_once, on_sigterm)
    return run(argv)


def _answer_once(cwd: bytes, environ: Mapping[str, str]) -> tuple[int, bytes, bytes]:
    """answer(), in a process that ends after this one answer (`mip-cmp generate` without a renderer).

    Importing the pipeline builds pydantic's schemas: tens of thousands of objects that live as long as the
    process and are never garbage, which every collection of the cyclic garbage collector scanned again,
    and so did its last one at exit. So the collector is paused while importing, and what the import built
    is frozen (gc.freeze(), as the warm renderer does): about a fifth of a cold run (docs/performance.md).
    The render itself runs with the collector on, as everywhere."""
    import gc

    from .answer import answer

    gc.disable()
    try:
        from . import pipeline  # noqa: F401 (imported for its cost; answer() reports a failing import)
    except Exception:  # noqa: S110 - answer() imports it again and says what went wrong
        pass
    finally:
        gc.freeze()
        gc.enable()
    return answer(cwd, environ)


def run(argv: Sequence[str] | None = None) -> int:
    """The command line, in this process."""
    import signal

    from .answer import on_sigterm
    from .core.errors import EXIT_BUG, report
    from .core.names import TOOL

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        return code
    except (Exception, KeyboardInterrupt) as exc:  # the one handler: errors.report() says what to print
        code, lines = report(exc)
        # One rule for how a line starts: a located problem with its file (file:line:col: ...), every other
        # line with the tool's name, so a reader of a CI log can tell whose line it is.
        located = {str(p) for p in getattr(exc, "problems", ()) if p.file}
        for line in lines:
            print(line if line in located or line.startswith(TOOL) else f"{TOOL}: {line}", file=sys.stderr)
        if code == EXIT_BUG and os.environ.get("MIP_CMP_DEBUG"):
            import traceback

            traceback.print_exc()
        return code


if __name__ == "__main__":
    sys.exit(main())
