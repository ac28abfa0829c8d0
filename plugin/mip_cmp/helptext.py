"""What `mip-cmp COMMAND --help` says after the options: environment variables, exit codes, an example.

Kept apart from cli.py so the parser stays readable; cli.build_parser() attaches these to every command.
tests/test_help.py checks that every command has all three and that every environment variable the code
reads is listed for some command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .contract.params import PARAMETERS
from .core.budget import (
    RENDERER_CPU_SECONDS,
    RENDERER_IDLE_SECONDS,
    RENDERER_MEMORY_MIB,
    RENDERER_WAIT_SECONDS,
    RENDERER_WALL_SECONDS,
)
from .core.errors import EXIT_BUG, EXIT_DIFF_CHANGES, EXIT_DIFF_DESTRUCTIVE, EXIT_INPUT, EXIT_OK, EXIT_USAGE

DEBUG = ("MIP_CMP_DEBUG", "set to anything: the traceback of an internal error (exit 3) goes to stderr")
KUBECONFIG = ("KUBECONFIG", "which kubeconfig to use (default ~/.kube/config, or the in-cluster config)")


@dataclass(frozen=True)
class Help:
    environment: tuple[tuple[str, str], ...]
    exit_codes: tuple[tuple[int, str], ...]
    examples: tuple[str, ...]

    def epilog(self) -> str:
        width = max(len(name) for name, _ in self.environment) if self.environment else 0
        lines = ["environment:"]
        lines += [f"  {name.ljust(width)}  {meaning}" for name, meaning in self.environment] or ["  (none)"]
        lines += ["", "exit codes:"]
        lines += [f"  {code:<3} {meaning}" for code, meaning in self.exit_codes]
        lines += ["", "example:" if len(self.examples) == 1 else "examples:"]
        lines += [f"  {example}" for example in self.examples]
        return "\n".join(lines)


def _codes(user_error: str, *extra: tuple[int, str],
           usage: str = "bad usage (unknown option, missing argument, not a directory)") -> tuple[tuple[int, str], ...]:
    return (
        (EXIT_OK, "success"),
        (EXIT_INPUT, user_error),
        (EXIT_USAGE, usage),
        (EXIT_BUG, "a bug in mip-cmp (please report it, with MIP_CMP_DEBUG=1 output)"),
        *extra,
    )


_INPUT_ERROR = "a problem in the input: file:line:col: field: what to do, on stderr; nothing on stdout"

HELP: dict[str, Help] = {
    "generate": Help(
        environment=(
            ("ARGOCD_APP_SOURCE_PATH", "the app's path in the repository (locates the repository root)"),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "the revision every source back into this repository uses"),
            ("ARGOCD_APP_PARAMETERS", f"the plugin parameters as JSON ({', '.join(p.name for p in PARAMETERS)})"),
            ("PARAM_<NAME>", "one plugin parameter each, used when ARGOCD_APP_PARAMETERS is not set"),
            ("MIP_CMP_RENDERER", "'off': never use the warm renderer (default: auto)"),
            ("MIP_CMP_RENDERER_TIMEOUT",
             f"seconds to wait for the renderer before rendering in-process ({RENDERER_WAIT_SECONDS:g})"),
            ("MIP_CMP_RENDERER_IDLE", f"seconds an idle renderer lives; 0: for ever ({RENDERER_IDLE_SECONDS:g})"),
            ("MIP_CMP_RUNTIME_DIR", "where the renderer's private socket directory goes ($TMPDIR or /tmp)"),
            ("MIP_CMP_CODE_ID", "set by the image's entrypoint for every call: this code's id, which names the "
                                "renderer (computed when unset; never set it by hand)"),
            ("MIP_CMP_RENDER_MEMORY_MIB",
             f"lower the renderer's per-request memory limit ({RENDERER_MEMORY_MIB}; read at its start)"),
            ("MIP_CMP_RENDER_CPU_SECONDS",
             f"lower the renderer's per-request CPU limit ({RENDERER_CPU_SECONDS}; read at its start)"),
            ("MIP_CMP_RENDER_WALL_SECONDS",
             f"lower the renderer's per-request time limit ({RENDERER_WALL_SECONDS:g}; read at its start)"),
            (DEBUG[0], DEBUG[1] + "; also why a call did not use the renderer"),
        ),
        exit_codes=_codes(_INPUT_ERROR, (143, "terminated by SIGTERM (Argo CD's deadline); nothing printed")),
        examples=("cd federations/federation-a && ARGOCD_APP_SOURCE_PATH=federations/federation-a "
                  "ARGOCD_APP_SOURCE_TARGET_REVISION=main mip-cmp generate",),
    ),
    "render": Help(
        environment=(DEBUG,),
        exit_codes=_codes(_INPUT_ERROR + "; every check `validate` makes of this app runs too"),
        examples=("mip-cmp render . --revision main",
                  "mip-cmp render federations/federation-a --param component=secrets"),
    ),
    "validate": Help(
        environment=(DEBUG,),
        exit_codes=_codes("problems found (all of them are listed)"),
        examples=("mip-cmp validate .", "mip-cmp validate platform --format github   # in a GitHub workflow"),
    ),
    "schema": Help(
        environment=(DEBUG,),
        exit_codes=_codes("(not used)"),
        examples=("mip-cmp schema > mip.schema.json",),
    ),
    "plugin-config": Help(
        environment=(DEBUG,),
        exit_codes=_codes("(not used)"),
        examples=("mip-cmp plugin-config > plugin.yaml",),
    ),
    "bootstrap": Help(
        environment=((KUBECONFIG[0], KUBECONFIG[1] + "; with --apply only"), DEBUG),
        exit_codes=_codes("a problem in the platform mip.yaml, --repo-url differs from its repoURL, or "
                          "--apply failed (no cluster, no Argo CD CRDs, no namespace)"),
        examples=("mip-cmp bootstrap --revision main | kubectl apply --server-side -f -",
                  "mip-cmp bootstrap --revision main --apply"),
    ),
    "doctor": Help(
        environment=(KUBECONFIG, DEBUG),
        exit_codes=_codes("a check failed (each failing check says what to run)"),
        examples=("mip-cmp doctor", "mip-cmp doctor platform --context prod"),
    ),
    "diff": Help(
        environment=(DEBUG,),
        exit_codes=_codes(_INPUT_ERROR, (EXIT_DIFF_CHANGES, "with --exit-code: something changes"),
                          (EXIT_DIFF_DESTRUCTIVE, "with --exit-code: something changes destructively")),
        examples=("mip-cmp diff . --from origin/main", "mip-cmp diff . --from origin/main --format markdown"),
    ),
    "graph": Help(
        environment=(DEBUG,),
        exit_codes=_codes(_INPUT_ERROR),
        examples=("mip-cmp graph . --format mermaid",),
    ),
    "import": Help(
        environment=(DEBUG,),
        exit_codes=_codes("the source is not a mip-infra-style checkout (--out is left as it was)",
                          usage="bad usage (unknown option, not a directory), --out not empty, or helm or "
                                "kubectl/kustomize missing (the message says what to install)"),
        examples=("mip-cmp import ../mip-infra --out platform",
                  "mip-cmp import ../mip-infra --out platform --adopt-defaults --format markdown"),
    ),
}


def attach(parsers: Mapping[str, object]) -> None:
    """Give every command parser its epilog (cli.build_parser calls this once, after adding them)."""
    import argparse

    for name, parser in parsers.items():
        if name in HELP and isinstance(parser, argparse.ArgumentParser):
            parser.epilog = HELP[name].epilog()
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
