"""Shared pieces of the security suite (docs/security.md maps each threat to these tests)."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ holds helpers.py and k8s_validation.py, imported by name like the rest of the suite does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
