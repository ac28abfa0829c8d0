"""Running the plugin's commands: argv, no shell, in the app directory, its own process group, under one
deadline (SIGTERM to the group, SIGKILL 5 s later), with Argo CD's error text on failure; ``run_generate`` is
``init`` then ``generate``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .argocd import CMP_TIMEOUT_BUFFER, DEFAULT_TIMEOUT, KILL_GRACE, MAX_OUTPUT_BYTES, HarnessError
from .environment import default_sidecar_env
from .output import parse_output

# Go's signal names, as ProcessState.String() prints them ("signal: killed").
_SIGNALS = {int(signal.SIGTERM): "terminated", int(signal.SIGKILL): "killed", int(signal.SIGINT): "interrupt",
            int(signal.SIGABRT): "aborted", int(signal.SIGSEGV): "segmentation fault",
            int(signal.SIGPIPE): "broken pipe"}


def args_to_log(argv: list[str]) -> str:
    """util/exec GetCommandArgsToLog: args with whitespace quoted, empty ones as ""."""
    return " ".join('""' if not a else json.dumps(a, ensure_ascii=False) if any(c.isspace() for c in a) else a
                    for a in argv)


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    returncode: int
    stdout_bytes: bytes
    stderr: str
    timed_out: bool
    seconds: float

    @property
    def stdout(self) -> str:
        """What runCommand returns: stdout with one trailing newline removed."""
        return self.stdout_bytes.decode("utf-8", "replace").removesuffix("\n")

    @property
    def error(self) -> str | None:
        """CmdError.Error(): "`argv` failed exit status N: <stderr>", or None on success."""
        if self.returncode == 0:
            return None
        rc = self.returncode
        cause = f"exit status {rc}" if rc > 0 else f"signal: {_SIGNALS.get(-rc, f'signal {-rc}')}"
        stderr = self.stderr.strip()
        return f"`{args_to_log(self.argv)}` failed {cause}" + (f": {stderr}" if stderr else "")


class CMPError(HarnessError):
    """init or generate failed; str() is the text Argo CD reports (its ComparisonError carries it)."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.error)
        self.result = result
        self.returncode = result.returncode
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.timed_out = result.timed_out


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def run_command(command: Mapping[str, Any], cwd: Path, env: Mapping[str, str], deadline: float, *,
                kill_grace: float = KILL_GRACE) -> CommandResult:
    """runCommand: argv = command + args, no shell, own process group; at `deadline` (time.monotonic())
    SIGTERM to the group, SIGKILL `kill_grace` seconds later."""
    argv = [*command["command"], *(command.get("args") or [])]
    exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH", ""))
    if exe is None:
        raise HarnessError(f'exec: "{argv[0]}": executable file not found in $PATH')
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, executable=exe, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise HarnessError(f"fork/exec {exe}: {exc.strerror}") from None
    timed_out = False
    try:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=kill_grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
    return CommandResult(argv, proc.returncode, out, err.decode("utf-8", "replace"), timed_out,
                         time.monotonic() - start)


@dataclass(frozen=True)
class Generated:
    objects: list[dict[str, Any]]
    stdout: str
    stderr: str
    seconds: float


def run_generate(cfg: Mapping[str, Any], app_dir: Path, env: Mapping[str, str],
                 timeout: float = DEFAULT_TIMEOUT, *, sidecar_env: Mapping[str, str] | None = None,
                 kill_grace: float = KILL_GRACE) -> Generated:
    """GenerateManifest: init (stdout ignored) then generate, one deadline for both; raises CMPError."""
    environ = {**(default_sidecar_env() if sidecar_env is None else sidecar_env), **env}
    deadline = time.monotonic() + timeout - CMP_TIMEOUT_BUFFER
    spec = cfg["spec"]
    if (spec.get("init") or {}).get("command"):
        init = run_command(spec["init"], app_dir, environ, deadline, kill_grace=kill_grace)
        if init.error:
            raise CMPError(init)
    result = run_command(spec["generate"], app_dir, environ, deadline, kill_grace=kill_grace)
    if result.error:
        raise CMPError(result)
    if len(result.stdout_bytes) > MAX_OUTPUT_BYTES:
        raise HarnessError(f"output is {len(result.stdout_bytes)} bytes, over the gRPC message limit")
    try:
        result.stdout_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HarnessError(f"failed to unmarshal manifest: stdout is not UTF-8 ({exc})") from None
    return Generated(parse_output(result.stdout), result.stdout, result.stderr, result.seconds)
