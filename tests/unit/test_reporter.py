"""reporter: the one table of report formats, and what each command's `--format` accepts."""

from __future__ import annotations

import argparse
from types import ModuleType

import pytest

from mip_cmp.cli import build_parser
from mip_cmp.reporter import FORMATS, writer
from mip_cmp.tools import diff, graph
from mip_cmp.tools.importer import report as import_report

TOOLS: dict[str, ModuleType] = {"diff": diff, "graph": graph, "import": import_report}


@pytest.mark.parametrize("command", sorted(TOOLS))
def test_each_format_of_a_tool_has_its_writer(command: str) -> None:
    for fmt in FORMATS[command]:
        assert callable(writer(TOOLS[command], fmt)), f"{command} --format {fmt}: no as_{fmt}"


def test_a_format_without_a_writer_is_no_writer() -> None:
    with pytest.raises(AttributeError):
        writer(diff, "yaml")


def format_choices(command: str) -> tuple[list[str], str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if a.dest == "format")
    return list(action.choices or []), action.default


@pytest.mark.parametrize("command", sorted(FORMATS))
def test_the_cli_offers_the_tables_formats_the_first_by_default(command: str) -> None:
    assert format_choices(command) == (list(FORMATS[command]), FORMATS[command][0])
