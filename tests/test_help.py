"""`mip-cmp COMMAND --help`: every command says its environment variables, exit codes and an example."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from helpers import REPO_ROOT, SAMPLE_REPO, mip_cmp, run_cli
from mip_cmp.cli import build_parser

PACKAGE = REPO_ROOT / "plugin" / "mip_cmp"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_lists_environment_exit_codes_and_an_example() -> None:
    commands = _commands()
    assert {"generate", "render", "validate", "schema", "plugin-config", "bootstrap"} <= set(commands)
    for name, parser in commands.items():
        text = parser.format_help()
        for heading in ("environment:", "exit codes:"):
            assert f"\n{heading}\n" in text, (name, heading)
        assert re.search(r"\nexamples?:\n", text), name
        assert f"mip-cmp {name}" in re.split(r"\nexamples?:\n", text)[-1], name
        for code in ("0", "1", "2", "3"):
            assert re.search(rf"\n  {code} +\S", text), (name, code)


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    """A variable added to the code without a word in some --help fails here."""
    read = set()
    for path in PACKAGE.rglob("*.py"):
        read |= set(re.findall(r"\b(MIP_CMP_[A-Z_]+|ARGOCD_APP_[A-Z_]+|KUBECONFIG)\b", path.read_text()))
    helps = "\n".join(p.format_help() for p in _commands().values())
    assert read, "the scan found nothing: the pattern is broken"
    assert sorted(v for v in read if v not in helps) == []


def test_help_is_what_the_installed_command_prints() -> None:
    result = mip_cmp("validate", "--help", cwd=Path.cwd())
    assert result.returncode == 0
    assert "exit codes:" in result.stdout.decode()
    assert "mip-cmp validate platform --format github" in result.stdout.decode()


def test_every_command_has_a_description_and_states_its_defaults() -> None:
    """`mip-cmp COMMAND --help` starts with what the command does (its line in `mip-cmp --help`), and every
    option or argument that has a default says which."""
    for name, parser in _commands().items():
        assert parser.description and parser.description[0].isupper(), name
        for action in parser._actions:
            if action.default in (None, False, [], argparse.SUPPRESS) or action.help == argparse.SUPPRESS:
                continue
            assert f"(default: {action.default}" in (action.help or ""), (name, action.dest)


def test_the_repository_is_one_argument_the_same_way_for_every_command() -> None:
    takes_repo = {name: parser for name, parser in _commands().items()
                  if any(a.dest == "repo" for a in parser._actions)}
    assert set(takes_repo) == {"validate", "bootstrap", "doctor", "graph"}
    for name, parser in takes_repo.items():
        repo = next(a for a in parser._actions if a.dest == "repo")
        assert (repo.option_strings, repo.metavar, repo.nargs) == ([], "REPO", "?"), name


def test_the_old_repo_option_still_works_and_says_what_to_write_instead() -> None:
    result = run_cli("bootstrap", "--repo", str(SAMPLE_REPO), "--revision", "main", cwd=SAMPLE_REPO)
    assert result.code == 0
    assert result.stderr == ("mip-cmp: note: --repo is deprecated; pass the directory as the argument: "
                             f"mip-cmp bootstrap {SAMPLE_REPO}\n")
    assert result.stdout == run_cli("bootstrap", str(SAMPLE_REPO), "--revision", "main", cwd=SAMPLE_REPO).stdout
    twice = run_cli("doctor", ".", "--repo", "federations", cwd=SAMPLE_REPO)
    assert (twice.code, twice.stderr) == (2, "mip-cmp doctor: REPO given twice (. and --repo federations); "
                                             "pass it once, as the argument\n")


@pytest.mark.parametrize(("args", "said"), [
    (["valdate"], "mip-cmp: unknown command 'valdate'; did you mean 'validate'? (commands: generate, render, "
                  "validate, schema, plugin-config, bootstrap, doctor, diff, graph, import) (see --help)"),
    (["graph", "--format", "mermaid2"], "mip-cmp graph: argument --format: invalid choice: 'mermaid2'; did you "
                                        "mean 'mermaid'? (choose from mermaid, dot, html) (see --help)"),
])
def test_a_mistyped_command_or_choice_gets_a_suggestion(args: list[str], said: str) -> None:
    result = run_cli(*args, cwd=SAMPLE_REPO)
    assert (result.code, result.stdout, result.stderr) == (2, b"", said + "\n")
