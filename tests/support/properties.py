"""How many examples a property test (hypothesis) tries, outside the security fuzz suite (which has its own
budget, tests/security/test_fuzz.py).

By default a fixed, reproducible set (derandomized: CI's coverage is the same on every run), sized so the
suite stays fast: the counts were lowered until the branch coverage of the modules they test stopped
changing. MIP_PROPERTY_EXAMPLES=N tries N examples per property instead, and MIP_FUZZ_RANDOM=1 fresh random
ones (as scripts/fuzz.sh does for the fuzz suite), for a longer hunt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings


def examples(count: int) -> Callable[[Any], Any]:
    """The settings of a property test that tries `count` examples by default."""
    override = int(os.environ.get("MIP_PROPERTY_EXAMPLES", "0"))
    return settings(max_examples=override or count, derandomize=os.environ.get("MIP_FUZZ_RANDOM") != "1",
                    database=None, deadline=None, suppress_health_check=list(HealthCheck))
