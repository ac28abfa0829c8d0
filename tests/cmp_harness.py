"""A test imitation of argocd-cmp-server, the Argo CD CMP v2 sidecar (section 10 of the CMP contract).

What Argo CD does, step by step, in plain Python:

* ``load_plugin_config``: read plugin.yaml (YAML -> JSON), validate it exactly as argocd-cmp-server does,
  plus our own strictness: unknown keys are errors (Argo CD ignores them silently, so a typo like
  ``discovery:`` would go unnoticed);
* ``workspace``: the repository's tracked files in a fresh ``_cmp_server/<uuid>`` directory, files 0644
  and directories 0755, symlinks kept relative and refused when they lead outside;
* ``discover``: ``discover.fileName`` / ``find.glob`` / ``find.command``, first one defined wins;
* ``full_env`` / ``discovery_env`` / ``app_details_env``: the request environment of each call type;
* ``run_generate``: ``init`` then ``generate`` as argv (no shell) in the app directory, under one
  deadline (SIGTERM to the process group, SIGKILL 5 s later), Argo CD's error text on failure;
* ``parse_output``: stdout split into objects the way the sidecar and the repo-server do it;
* ``expand_appset``: the Applications a list-generator/goTemplate ApplicationSet generates;
* ``follow``: the app-of-apps, from one root Application, every Application that comes back to the
  repository through the plugin rendered in turn.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGIN_YAML = REPO_ROOT / "plugin.yaml"

ARGO_API = "argoproj.io/v1alpha1"
PLUGIN_KIND = "ConfigManagementPlugin"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
DEFAULT_TIMEOUT = 60.0  # --repo-server-timeout-seconds: the caller's whole budget
CMP_TIMEOUT_BUFFER = 0.1  # the sidecar stops its commands this long before the caller's deadline
KILL_GRACE = 5.0  # SIGTERM to the process group, then SIGKILL this much later
MAX_OUTPUT_BYTES = 100 * 1024 * 1024  # ARGOCD_GRPC_MAX_SIZE_MB bounds the whole response
MAX_APPS = 500  # follow() guard: an app-of-apps that never ends is a bug
DEFAULT_KUBE_VERSION = "1.30.2"
_API_RESOURCES = {
    "v1": ("ConfigMap", "Namespace", "Secret", "Service", "ServiceAccount"),
    "apps/v1": ("Deployment", "StatefulSet"),
    ARGO_API: ("AppProject", "Application", "ApplicationSet"),
    "external-secrets.io/v1": ("ClusterSecretStore", "ExternalSecret", "SecretStore"),
    "generators.external-secrets.io/v1alpha1": ("Password",),
}
# KUBE_API_VERSIONS lists "group/version" and "group/version/Kind", sorted (APIResourcesToStrings).
DEFAULT_API_VERSIONS = tuple(sorted(
    {*_API_RESOURCES} | {f"{gv}/{kind}" for gv, kinds in _API_RESOURCES.items() for kind in kinds}
))


class HarnessError(Exception):
    """Something Argo CD would refuse: plugin config, workspace, discovery, output, ApplicationSet, app."""


# --- plugin.yaml -------------------------------------------------------------------------------------------

_COMMAND = {"command": [str], "args": [str]}
_ANNOUNCEMENT = {
    "name": str, "title": str, "tooltip": str, "required": bool, "itemType": str, "collectionType": str,
    "string": str, "array": [str], "map": {str: str},
}
# Every key argocd-cmp-server reads (cmpserver/plugin/config.go). `{str: X}` is a map of X; `[X]` a list.
_PLUGIN_SCHEMA = {
    "apiVersion": str,
    "kind": str,
    "metadata": {"name": str, "namespace": str, "labels": {str: str}, "annotations": {str: str}},
    "spec": {
        "version": str,
        "init": _COMMAND,
        "generate": _COMMAND,
        "discover": {"fileName": str, "find": {**_COMMAND, "glob": str}},
        "parameters": {"static": [_ANNOUNCEMENT], "dynamic": _COMMAND},
        "preserveFileMode": bool,
        "provideGitCreds": bool,
    },
}
_COLLECTION_TYPES = ("", "string", "array", "map")


def _strict_problems(value: Any, schema: Any, where: str) -> list[str]:
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: must be a list"]
        return [p for i, item in enumerate(value) for p in _strict_problems(item, schema[0], f"{where}[{i}]")]
    if isinstance(schema, dict) and str in schema:
        if not isinstance(value, dict):
            return [f"{where}: must be a mapping"]
        return [p for k, v in value.items() for p in _strict_problems(v, schema[str], f"{where}.{k}")]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where or '<root>'}: must be a mapping"]
        problems = []
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key in schema:
                problems += _strict_problems(item, schema[key], path)
                continue
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
            close += [k for k in schema if k.lower() == str(key).lower()]
            hint = f"; did you mean {close[-1]!r}?" if close else ""
            problems.append(f"{path}: unknown key, argocd-cmp-server would silently ignore it{hint}")
        return problems
    if not isinstance(value, schema):
        return [f"{where}: must be a {schema.__name__}"]
    return []


def _go_key(mapping: Any, key: str) -> Any:
    """encoding/json's field lookup: the exact key, else any key equal to it ignoring case."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    return next((v for k, v in mapping.items() if str(k).lower() == key.lower()), None)


def load_plugin_config(path: Path | str) -> dict[str, Any]:
    """plugin.yaml as argocd-cmp-server reads it (YAML -> JSON), validated like Argo CD and stricter."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        cfg = json.loads(json.dumps(docs[0])) if docs else None  # only what JSON can hold survives
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise HarnessError(f"{path}: not YAML that converts to JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise HarnessError(f"{path}: the plugin configuration must be a mapping")
    # ValidatePluginConfig: these three only (keys matched as Go's encoding/json matches them);
    # argocd-cmp-server exits at startup when one fails.
    metadata, spec = _go_key(cfg, "metadata") or {}, _go_key(cfg, "spec") or {}
    if not _go_key(metadata, "name"):
        raise HarnessError("invalid plugin configuration file. metadata.name should be non-empty.")
    if _go_key(cfg, "kind") != PLUGIN_KIND:
        raise HarnessError(f"invalid plugin configuration file. kind should be {PLUGIN_KIND}, "
                           f"found {_go_key(cfg, 'kind')}")
    if not _go_key(_go_key(spec, "generate"), "command"):
        raise HarnessError("invalid plugin configuration file. spec.generate command should be non-empty")
    # Ours: Go's encoding/json drops unknown keys and matches keys case-insensitively; we refuse both.
    problems = [] if len(docs) == 1 else [f"{len(docs)} YAML documents; argocd-cmp-server reads one"]
    problems += _strict_problems(cfg, _PLUGIN_SCHEMA, "")
    if problems:  # the rest assumes the types are right
        raise HarnessError(f"{path}:\n  " + "\n  ".join(problems))
    problems = _semantic_problems(spec)
    if problems:
        raise HarnessError(f"{path}:\n  " + "\n  ".join(problems))
    return cfg


def _semantic_problems(spec: dict[str, Any]) -> list[str]:
    """What the types allow but argocd-cmp-server would silently ignore or misread."""
    problems = []
    for i, item in enumerate((spec.get("parameters") or {}).get("static") or []):
        if item.get("collectionType", "") not in _COLLECTION_TYPES:
            problems.append(f"spec.parameters.static[{i}].collectionType: must be one of {_COLLECTION_TYPES}")
        if not item.get("name"):
            problems.append(f"spec.parameters.static[{i}].name: is required")
    commands = {"init": spec.get("init"), "generate": spec.get("generate"),
                "parameters.dynamic": (spec.get("parameters") or {}).get("dynamic"),
                "discover.find": (spec.get("discover") or {}).get("find")}
    for key, command in commands.items():
        if command and command.get("args") and not command.get("command"):
            problems.append(f"spec.{key}.args: set without spec.{key}.command, so never run")
    return problems


def plugin_name(cfg: Mapping[str, Any]) -> str:
    """The socket name an Application must use in spec.source.plugin.name: name, or name-version."""
    name: str = cfg["metadata"]["name"]
    version = cfg.get("spec", {}).get("version")
    return f"{name}-{version}" if version else name


def discovery_configured(cfg: Mapping[str, Any]) -> bool:
    d = cfg.get("spec", {}).get("discover") or {}
    find = d.get("find") or {}
    return bool(d.get("fileName") or find.get("glob") or find.get("command"))


# --- the workspace -----------------------------------------------------------------------------------------


def go_path_match(pattern: str, name: str) -> bool:
    """Go's filepath.Match: '*' and '?' never match '/', '[...]' classes with '^' negation, '\\' escapes."""
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        i += 1
        if c == "*":
            regex += "[^/]*"
        elif c == "?":
            regex += "[^/]"
        elif c == "\\" and i < len(pattern):
            regex += re.escape(pattern[i])
            i += 1
        elif c == "[":
            j = i + 1 if pattern[i:i + 1] == "^" else i
            while j < len(pattern) and (pattern[j] != "]" or j == i):
                j += 2 if pattern[j] == "\\" else 1
            if j >= len(pattern):
                raise HarnessError(f"syntax error in pattern {pattern!r}")
            body, i = pattern[i:j], j + 1
            negate = body.startswith("^")
            regex += "[" + ("^" if negate else "") + body[negate:].replace("[", "\\[") + "]"
        else:
            regex += re.escape(c)
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _has_meta(path: str) -> bool:
    return any(c in path for c in "*?[\\")


def go_glob(pattern: str) -> list[str]:
    """Go's filepath.Glob: no '**'; each element matched with go_path_match; hidden files included."""
    if not _has_meta(pattern):
        return [pattern] if os.path.lexists(pattern) else []
    directory, base = os.path.split(pattern)
    found = []
    for d in go_glob(directory) if _has_meta(directory) else [directory or "."]:
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in sorted(os.listdir(d)) if go_path_match(base, n)]
    return found


def tracked_files(repo_dir: Path) -> list[str]:
    """Root-relative paths of a checkout: `git ls-files` when repo_dir is tracked, else every file."""
    try:
        out = subprocess.run(["git", "-C", str(repo_dir), "ls-files", "-z", "--", "."],
                             capture_output=True, check=True, timeout=30).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
    if not names:  # not a git work tree (or nothing tracked): every file, symlinked directories as links
        for root, dirs, files in os.walk(repo_dir):
            rel = Path(root).relative_to(repo_dir)
            links = [d for d in dirs if (Path(root) / d).is_symlink()]
            names += [(rel / n).as_posix() for n in files + links]
    return sorted({n for n in names if os.path.lexists(repo_dir / n)})


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def workspace(repo_dir: Path, tmp: Path, *, exclude: tuple[str, ...] = (),
              preserve_file_mode: bool = False) -> Path:
    """The request directory argocd-cmp-server untars into: `<tmp>/_cmp_server/<uuid>`, returned."""
    work_dir = tmp / "_cmp_server"
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    dest = work_dir / str(uuid.uuid4())
    dest.mkdir(mode=0o700)

    def excluded(rel: str) -> bool:  # --plugin-tar-exclude: a matching directory is skipped entirely
        parts = rel.split("/")
        return any(go_path_match(g, "/".join(parts[:n])) for g in exclude for n in range(1, len(parts) + 1))

    names = [n for n in tracked_files(repo_dir) if not excluded(n)]
    if not any((repo_dir / n).is_file() and not (repo_dir / n).is_symlink() for n in names):
        raise HarnessError(f"no files to send({repo_dir})")
    links = []
    for rel in names:
        src, target = repo_dir / rel, dest / rel
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            (dest / parent).mkdir(exist_ok=True)
            os.chmod(dest / parent, 0o755)
        if src.is_symlink():
            links.append((rel, os.readlink(src)))
        elif src.is_file():
            shutil.copyfile(src, target)
            os.chmod(target, (src.stat().st_mode & 0o777) if preserve_file_mode else 0o644)
    # Symlinks last, so their targets exist; resolved, checked to stay inside, recreated relative.
    real_dest = os.path.realpath(dest)
    for rel, link in links:
        if os.path.isabs(link):
            raise HarnessError(f"illegal filepath in symlink: {rel} -> {link} (absolute)")
        target = dest / rel
        resolved = os.path.realpath(os.path.join(target.parent, link))
        if not _inside(resolved, real_dest):
            raise HarnessError(f"illegal filepath in symlink: {rel} -> {link}")
        os.symlink(os.path.relpath(resolved, os.path.realpath(target.parent)), target)
    return dest


def app_path(ws: Path, source_path: str | None) -> Path:
    """`<workspace>/<source.path>`: the cwd of init, generate and find.command; never outside."""
    path = Path(os.path.normpath(ws / (source_path or ".")))
    if not _inside(str(path), str(ws)):
        raise HarnessError("illegal appPath: out of workDir bound")
    if not path.is_dir():
        raise HarnessError(f"{source_path}: app path does not exist")
    return path


# --- environment -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInfo:
    """What the repo-server knows about the destination cluster and the control plane."""

    kube_version: str = DEFAULT_KUBE_VERSION
    api_versions: tuple[str, ...] = DEFAULT_API_VERSIONS
    controller_namespace: str | None = None  # None: every Application lives in the control-plane namespace


def fake_commit(revision: str) -> str:
    """A stable 40-hex "resolved" SHA for a target revision (there is no remote to resolve it against)."""
    return hashlib.sha1(f"mip-cmp-harness:{revision}".encode()).hexdigest()


def default_sidecar_env() -> dict[str, str]:
    """The sidecar's own environment: what argocd-cmp-server inherits (this venv's bin first on PATH)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    # The harness goes through the warm renderer, as the sidecar does; it should not outlive the tests long.
    return {"PATH": path, "HOME": os.environ.get("HOME") or tempfile.gettempdir(), "LANG": "C.UTF-8",
            "MIP_CMP_RENDERER_IDLE": "60"}


def _source(app: Mapping[str, Any]) -> dict[str, Any]:
    spec = app.get("spec") or {}
    if spec.get("sources"):
        raise HarnessError(f"Application {app['metadata']['name']}: multi-source apps are not imitated")
    source: dict[str, Any] = spec.get("source") or {}
    return source


def instance_name(app: Mapping[str, Any], controller_namespace: str | None) -> str:
    """Application.InstanceName: `name`, or `<namespace>_<name>` outside the control-plane namespace."""
    meta = app["metadata"]
    namespace = meta.get("namespace", "")
    if not namespace or controller_namespace is None or namespace == controller_namespace:
        return str(meta["name"])
    return f"{namespace}_{meta['name']}"


def app_vars(app: Mapping[str, Any], commit: str, controller_namespace: str | None = None) -> dict[str, str]:
    """The nine ARGOCD_APP_* build variables (repository.go newEnv)."""
    source, spec = _source(app), app.get("spec") or {}
    return {
        "ARGOCD_APP_NAME": instance_name(app, controller_namespace),
        "ARGOCD_APP_NAMESPACE": (spec.get("destination") or {}).get("namespace", ""),
        "ARGOCD_APP_PROJECT_NAME": spec.get("project", ""),
        "ARGOCD_APP_REVISION": commit,
        "ARGOCD_APP_REVISION_SHORT": commit[:7],
        "ARGOCD_APP_REVISION_SHORT_8": commit[:8],
        "ARGOCD_APP_SOURCE_REPO_URL": source.get("repoURL", ""),
        "ARGOCD_APP_SOURCE_PATH": source.get("path", ""),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.get("targetRevision", ""),
    }


def _is_shell_special(c: str) -> bool:
    return c in "*#$@!?-0123456789"


def _shell_name(s: str) -> tuple[str, int]:
    """Go os.getShellName: (name, characters consumed after the '$')."""
    if s[0] == "{":
        if len(s) > 2 and _is_shell_special(s[1]) and s[2] == "}":
            return s[1], 3
        end = s.find("}", 1)
        if end == 1:
            return "", 2  # "${}": bad syntax, eaten
        return (s[1:end], end + 1) if end > 0 else ("", 1)  # "${" unclosed: bad syntax, eaten
    if _is_shell_special(s[0]):
        return s[0], 1
    n = 0
    while n < len(s) and (s[n] == "_" or (s[n].isascii() and s[n].isalnum())):
        n += 1
    return s[:n], n


def envsubst(value: str, variables: Mapping[str, str]) -> str:
    """Env.Envsubst: Go's os.Expand over `variables` only; unknown -> "", `$$` -> `$`."""
    out, i, j = [], 0, 0
    while j < len(value):
        if value[j] == "$" and j + 1 < len(value):
            out.append(value[i:j])
            name, width = _shell_name(value[j + 1:])
            if name:
                out.append("$" if name == "$" else variables.get(name, ""))
            elif width == 0:
                out.append("$")  # "$" not followed by a name stays
            j += width
            i = j + 1
        j += 1
    return "".join(out) + value[i:]


def go_json(value: Any) -> str:
    """encoding/json.Marshal: compact, map keys sorted, <>& and U+2028/9 escaped, UTF-8 kept."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _escaped(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def plugin_env(plugin: Mapping[str, Any] | None, variables: Mapping[str, str]) -> dict[str, str]:
    """ARGOCD_ENV_* (envsubst against `variables`), ARGOCD_APP_PARAMETERS and PARAM_* (getPluginParamEnvs)."""
    if plugin is None:
        return {}  # no plugin block: none of these, not even ARGOCD_APP_PARAMETERS
    env = {f"ARGOCD_ENV_{e['name']}": envsubst(e.get("value", ""), variables)
           for e in plugin.get("env") or []}
    params = plugin.get("parameters")
    marshalled = []
    for p in params or []:
        item: dict[str, Any] = {"name": p.get("name", "")}
        if p.get("string") is not None:
            item["string"] = p["string"]
        if "map" in p:
            item["map"] = p["map"] or {}
        if "array" in p:
            item["array"] = p["array"] or []
        marshalled.append(item)
    env["ARGOCD_APP_PARAMETERS"] = "null" if params is None else go_json(marshalled)
    for item in marshalled:
        base = "PARAM_" + _escaped(item["name"])
        if "string" in item:
            env[base] = item["string"]
        for key, val in item.get("map", {}).items():
            env[f"{base}_{_escaped(key)}"] = val
        for i, val in enumerate(item.get("array", [])):
            env[f"{base}_{i}"] = val
    return env


def full_env(app: Mapping[str, Any], commit: str, cluster: ClusterInfo = ClusterInfo()) -> dict[str, str]:
    """GenerateManifest (init + generate): the 9 ARGOCD_APP_*, KUBE_*, ARGOCD_ENV_*, parameters."""
    build = app_vars(app, commit, cluster.controller_namespace)
    build["KUBE_VERSION"] = cluster.kube_version
    build["KUBE_API_VERSIONS"] = ",".join(cluster.api_versions)
    return {**build, **plugin_env(_source(app).get("plugin"), build)}


def discovery_env(app: Mapping[str, Any], commit: str,
                  controller_namespace: str | None = None) -> dict[str, str]:
    """MatchRepository during auto-detection: only the 9 ARGOCD_APP_*."""
    return app_vars(app, commit, controller_namespace)


def app_details_env(app: Mapping[str, Any], controller_namespace: str | None = None) -> dict[str, str]:
    """GetParametersAnnouncement / app details: 4 ARGOCD_APP_* plus ARGOCD_ENV_* and parameters."""
    source = _source(app)
    base = {
        "ARGOCD_APP_NAME": instance_name(app, controller_namespace),
        "ARGOCD_APP_SOURCE_REPO_URL": source.get("repoURL", ""),
        "ARGOCD_APP_SOURCE_PATH": source.get("path", ""),
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.get("targetRevision", ""),
    }
    return {**base, **plugin_env(source.get("plugin"), base)}


# --- running commands --------------------------------------------------------------------------------------

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


# --- output ------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """safe_load_all, but timestamps stay strings, as sigs.k8s.io/yaml.YAMLToJSON leaves them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_stream(text: str) -> list[Any]:
    decoder, i = json.JSONDecoder(), 0
    docs: list[Any] = []
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return docs
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)


def parse_output(stdout: str) -> list[dict[str, Any]]:
    """kube.SplitYAMLToString, then the repo-server's Unstructured conversion and List flattening."""
    out = stdout.removesuffix("\n")
    try:
        docs = _json_stream(out) if out.lstrip().startswith("{") else list(yaml.load_all(out, Loader=_Loader))
    except (ValueError, yaml.YAMLError) as exc:
        raise HarnessError(f"failed to unmarshal manifest: {exc}") from None
    objects: list[dict[str, Any]] = []
    for doc in docs:
        if doc is None or doc == "":
            continue  # empty and `null` documents are dropped
        if not isinstance(doc, dict):
            raise HarnessError(f"failed to convert CMP manifests to unstructured objects: {str(doc)[:80]!r}")
        if not isinstance(doc.get("kind"), str) or not doc["kind"]:
            raise HarnessError(f"Object 'Kind' is missing in '{json.dumps(doc)[:200]}'")
        items = doc.get("items", ...)
        if isinstance(items, list):  # Unstructured.IsList: any kind; every item must be an object
            for item in items:
                if not isinstance(item, dict):
                    raise HarnessError("items member is not an object")
                objects.append(item)
        elif items is None and "spec" not in doc and "status" not in doc:
            continue  # isNullList
        else:
            objects.append(doc)
    return objects


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


# --- ApplicationSets ---------------------------------------------------------------------------------------

# `{{ .key }}`, with optional trim markers; anything else between {{ }} is refused.
_ACTION = re.compile(r"\{\{(?P<ltrim>-[ \t\r\n])?(?P<body>.*?)(?P<rtrim>[ \t\r\n]-)?\}\}", re.DOTALL)
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def go_template(text: str, params: Mapping[str, Any]) -> str:
    """text/template with missingkey=error, for the one form we use: `{{ .key }}` over string params."""
    out, pos = [], 0
    for m in _ACTION.finditer(text):
        literal = text[pos:m.start()]
        out.append(literal.rstrip(" \t\r\n") if m["ltrim"] else literal)
        field_ref = _FIELD.fullmatch(m["body"].strip(" \t\r\n"))
        if field_ref is None:
            raise HarnessError(f"template {text!r}: only {{{{ .key }}}} actions are imitated, not {m[0]!r}")
        key = field_ref[1]
        if key not in params:
            raise HarnessError(f'failed to execute go template {text}: map has no entry for key "{key}"')
        if not isinstance(params[key], str):
            raise HarnessError(f"template {text!r}: parameter {key!r} is not a string")
        out.append(params[key])
        pos = m.end()
        if m["rtrim"]:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    rest = text[pos:]
    if "{{" in rest:
        raise HarnessError(f"failed to parse template {text}: unclosed action")
    return "".join(out) + rest


def _render_tree(value: Any, params: Mapping[str, Any]) -> Any:
    """deeplyReplace: every string, map keys included, is a template."""
    if isinstance(value, str):
        return go_template(value, params)
    if isinstance(value, list):
        return [_render_tree(v, params) for v in value]
    if isinstance(value, dict):
        return {go_template(k, params): _render_tree(v, params) for k, v in value.items()}
    return value


_APPSET_SPEC_KEYS = {"goTemplate", "goTemplateOptions", "generators", "template", "syncPolicy", "strategy",
                     "preservedFields", "ignoreApplicationDifferences"}


def expand_appset(appset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Applications an ApplicationSet generates: list generators, goTemplate, missingkey=error."""
    name, spec = appset["metadata"]["name"], appset.get("spec") or {}
    what = f"ApplicationSet {name}"
    unknown = set(spec) - _APPSET_SPEC_KEYS
    if unknown:
        raise HarnessError(f"{what}: spec keys {sorted(unknown)} are not imitated")
    if spec.get("goTemplate") is not True or spec.get("goTemplateOptions") != ["missingkey=error"]:
        raise HarnessError(f"{what}: only goTemplate: true with goTemplateOptions [missingkey=error] "
                           "is imitated")
    apps: list[dict[str, Any]] = []
    for generator in spec.get("generators") or []:
        if set(generator) != {"list"} or set(generator["list"]) != {"elements"}:
            raise HarnessError(f"{what}: only list generators with elements are imitated, not {generator}")
        for params in generator["list"]["elements"]:
            rendered = _render_tree(copy.deepcopy(spec["template"]), params)
            metadata = {**rendered.get("metadata", {}), "namespace": appset["metadata"].get("namespace", "")}
            preserve = (spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion", False)
            if not metadata.get("finalizers") and not preserve:
                metadata["finalizers"] = [FINALIZER]
            apps.append({"apiVersion": ARGO_API, "kind": "Application", "metadata": metadata,
                         "spec": rendered.get("spec", {})})
    names = [a["metadata"].get("name") for a in apps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HarnessError(f"{what} contains applications with duplicate name: {duplicates}")
    return apps


# --- following the app-of-apps -----------------------------------------------------------------------------


def merge_source_overrides(source: Mapping[str, Any], app_dir: Path, app_name: str) -> dict[str, Any]:
    """mergeSourceParameters: `.argocd-source.yaml`, then `.argocd-source-<app>.yaml`, JSON-merge-patched
    into the source; repoURL, path, targetRevision and chart always stay the Application's."""

    def merge_patch(target: Any, patch: Any) -> Any:  # RFC 7386
        if not isinstance(patch, dict):
            return patch
        merged = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge_patch(merged.get(key), value)
        return merged

    merged: dict[str, Any] = copy.deepcopy(dict(source))
    for name in (".argocd-source.yaml", f".argocd-source-{app_name}.yaml"):
        if (app_dir / name).exists():
            merged = merge_patch(merged, yaml.load((app_dir / name).read_text("utf-8"), Loader=_Loader))
    for key in ("repoURL", "path", "targetRevision", "chart"):
        merged.pop(key, None)
        if key in source:
            merged[key] = source[key]
    return merged


@dataclass(frozen=True)
class Rendered:
    app: str  # the Application whose manifests held the object
    obj: dict[str, Any]
    appset: str | None = None  # set when an ApplicationSet in those manifests generated it


@dataclass(frozen=True)
class Render:
    app: dict[str, Any]  # the Application as the repo-server sees it (source overrides merged)
    app_dir: str  # relative to the workspace
    env: dict[str, str]  # the request environment
    generated: Generated


@dataclass
class Expansion:
    renders: list[Render] = field(default_factory=list)
    objects: list[Rendered] = field(default_factory=list)
    not_followed: list[dict[str, Any]] = field(default_factory=list)  # Applications of other sources


def _is_kind(obj: Mapping[str, Any], kind: str) -> bool:
    return obj.get("kind") == kind and str(obj.get("apiVersion", "")).startswith("argoproj.io/")


def comes_back(app: Mapping[str, Any], repo_url: str, ws: Path, cfg: Mapping[str, Any],
               controller_namespace: str | None = None) -> bool:
    """Would Argo CD render `app` from this repository with this plugin?"""
    spec = app.get("spec") or {}
    if spec.get("sources"):
        if any(s.get("repoURL") == repo_url for s in spec["sources"]):
            raise HarnessError(f"Application {app['metadata']['name']}: multi-source apps are not imitated")
        return False
    source = spec.get("source") or {}
    if source.get("repoURL") != repo_url:
        return False
    if "plugin" in source:
        return True
    if any(k in source for k in ("helm", "kustomize", "directory")):
        return False
    # No explicit type: auto-detection asks the CMPs first, with the nine ARGOCD_APP_* only.
    app_dir = app_path(ws, source.get("path"))
    commit = fake_commit(source.get("targetRevision") or "HEAD")
    return discover(cfg, app_dir, discovery_env(app, commit, controller_namespace))


def render_app(cfg: Mapping[str, Any], app: Mapping[str, Any], ws: Path, *,
               cluster: ClusterInfo = ClusterInfo(), timeout: float = DEFAULT_TIMEOUT,
               sidecar_env: Mapping[str, str] | None = None) -> Render:
    """What the repo-server and the sidecar do for one plugin Application; HarnessError names the app."""
    name = app["metadata"]["name"]
    try:
        source = _source(app)
        app_dir = app_path(ws, source.get("path"))
        source = merge_source_overrides(source, app_dir, instance_name(app, cluster.controller_namespace))
        app = {**app, "spec": {**app["spec"], "source": source}}
        plugin = source.get("plugin")  # None: auto-detected, so no plugin env and no parameters at all
        wanted = (plugin or {}).get("name", "")
        if wanted and wanted != plugin_name(cfg):
            raise HarnessError(f'couldn\'t find cmp-server plugin with name "{wanted}"')
        env = full_env(app, fake_commit(source.get("targetRevision") or "HEAD"), cluster)
        if discovery_configured(cfg):  # a named plugin with discovery must match as well
            if not discover(cfg, app_dir, env, sidecar_env=sidecar_env, timeout=timeout):
                raise HarnessError(f'could not find cmp-server plugin with name "{wanted}" supporting the '
                                   "given repository")
        elif not wanted:
            raise HarnessError("the plugin has no discovery and the Application does not name it")
        generated = run_generate(cfg, app_dir, env, timeout, sidecar_env=sidecar_env)
    except HarnessError as exc:
        raise HarnessError(f'CMP processing failed for application "{name}": {exc}') from exc
    return Render(app, app_dir.relative_to(ws).as_posix() or ".", env, generated)


def follow(root_app: Mapping[str, Any], repo_url: str, ws: Path, *, cfg: Mapping[str, Any] | None = None,
           cluster: ClusterInfo = ClusterInfo(), timeout: float = DEFAULT_TIMEOUT,
           sidecar_env: Mapping[str, str] | None = None) -> Expansion:
    """Render `root_app`, then breadth-first every Application in the output (or generated by an
    ApplicationSet in it) that comes back to `repo_url` through the plugin, each with its own env."""
    cfg = load_plugin_config(PLUGIN_YAML) if cfg is None else cfg
    if cluster.controller_namespace is None:
        cluster = replace(cluster, controller_namespace=root_app["metadata"].get("namespace"))
    result = Expansion()
    seen: dict[tuple[str, str], Mapping[str, Any]] = {_app_key(root_app): root_app}
    queue: deque[Mapping[str, Any]] = deque([root_app])
    while queue:
        if len(result.renders) >= MAX_APPS:
            raise HarnessError(f"more than {MAX_APPS} Applications rendered; does the app-of-apps end?")
        render = render_app(cfg, queue.popleft(), ws, cluster=cluster, timeout=timeout,
                            sidecar_env=sidecar_env)
        result.renders.append(render)
        name = render.app["metadata"]["name"]
        for obj in render.generated.objects:
            result.objects.append(Rendered(name, obj))
            children = [obj] if _is_kind(obj, "Application") else []
            if _is_kind(obj, "ApplicationSet"):
                children = expand_appset(obj)
                result.objects += [Rendered(name, child, obj["metadata"]["name"]) for child in children]
            for child in children:
                if not comes_back(child, repo_url, ws, cfg, cluster.controller_namespace):
                    result.not_followed.append(child)
                    continue
                key = _app_key(child)
                if key in seen:  # a cycle (the same Application again) or a conflict (another one)
                    if seen[key] != child:
                        raise HarnessError(f"two different Applications {key[0]}/{key[1]} in the app-of-apps")
                    continue
                seen[key] = child
                queue.append(child)
    return result


def _app_key(app: Mapping[str, Any]) -> tuple[str, str]:
    return app["metadata"].get("namespace", ""), app["metadata"]["name"]


def bootstrap_objects(repo_dir: Path, revision: str) -> list[dict[str, Any]]:
    """What an admin applies once, from `mip-cmp bootstrap --repo <repo_dir> --revision <revision>`."""
    result = subprocess.run([sys.executable, "-m", "mip_cmp", "bootstrap", "--repo", str(repo_dir),
                             "--revision", revision], cwd=repo_dir, env=default_sidecar_env(),
                            capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        raise HarnessError(f"mip-cmp bootstrap failed: {result.stderr.decode()}")
    return parse_output(result.stdout.decode())


def root_application(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The one Application among the bootstrap objects: where following the app-of-apps starts."""
    apps = [o for o in objects if _is_kind(o, "Application")]
    if len(apps) != 1:
        raise HarnessError(f"the bootstrap objects hold {len(apps)} Applications, expected one")
    return apps[0]
