"""`mip-cmp COMMAND --help`: every command says its environment variables, exit codes and an example."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from helpers import REPO_ROOT, mip_cmp
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
