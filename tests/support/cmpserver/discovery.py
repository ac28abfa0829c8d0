"""Discovery (MatchRepository): ``discover.fileName`` / ``find.glob`` / ``find.command``, the first one set
decides."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .argocd import CMP_TIMEOUT_BUFFER, DEFAULT_TIMEOUT, HarnessError
from .commands import run_command
from .environment import default_sidecar_env
from .workspace import go_glob


def discovery_configured(cfg: Mapping[str, Any]) -> bool:
    d = cfg.get("spec", {}).get("discover") or {}
    find = d.get("find") or {}
    return bool(d.get("fileName") or find.get("glob") or find.get("command"))


def discover(cfg: Mapping[str, Any], app_dir: Path, env: Mapping[str, str] | None = None, *,
             sidecar_env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """MatchRepository: the first of fileName, find.glob, find.command that is set decides."""
    d = cfg.get("spec", {}).get("discover") or {}
    find = d.get("find") or {}
    if d.get("fileName"):  # filepath.Join (cleans) + filepath.Glob; no '**'
        return bool(go_glob(os.path.normpath(f"{app_dir}/{d['fileName']}")))
    if find.get("glob"):  # zglob: '**' crosses directories
        pattern = os.path.normpath(f"{app_dir}/{find['glob']}")
        return bool(glob.glob(pattern, recursive=True, include_hidden=True))
    if find.get("command"):
        environ = {**(default_sidecar_env() if sidecar_env is None else sidecar_env), **(env or {})}
        result = run_command(find, app_dir, environ, time.monotonic() + timeout - CMP_TIMEOUT_BUFFER)
        if result.error:
            raise HarnessError(f"error running find command: {result.error}")
        return result.stdout != ""
    return False
