"""Suite-wide hooks."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how much the security suite tries (issue: "the suite says how many there are")."""
    from security.conftest import MODES
    from security.test_attacks import ATTACKS
    from security.test_fuzz import FUZZ_EXAMPLES

    terminalreporter.write_line(
        f"security: {len(ATTACKS)} distinct attacks, each in {len(MODES)} modes ({', '.join(MODES)}); "
        f"fuzz: {sum(FUZZ_EXAMPLES.values())} examples over {len(FUZZ_EXAMPLES)} properties")
    # The resource-abuse suite's measurements (tests/security/test_resources.py), from every worker.
    figures = sorted({str(value) for reports in terminalreporter.stats.values() for report in reports
                     for name, value in getattr(report, "user_properties", ()) if name == "resources"})
    for line in figures:
        terminalreporter.write_line(f"resources: {line}")
