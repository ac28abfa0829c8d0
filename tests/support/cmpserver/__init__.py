"""cmpserver: a test imitation of argocd-cmp-server, the Argo CD CMP v2 sidecar (section 10 of the CMP contract).

What Argo CD does, step by step, in plain Python, one module per step:

* ``load_plugin_config`` (config): read plugin.yaml (YAML -> JSON), validate it exactly as argocd-cmp-server does,
  plus our own strictness: unknown keys are errors (Argo CD ignores them silently, so a typo like
  ``discovery:`` would go unnoticed);
* ``workspace`` (workspace): the repository's tracked files in a fresh ``_cmp_server/<uuid>`` directory, files 0644
  and directories 0755, symlinks kept relative and refused when they lead outside;
* ``discover`` (discovery): ``discover.fileName`` / ``find.glob`` / ``find.command``, first one defined wins;
* ``full_env`` / ``discovery_env`` / ``app_details_env`` (environment): the request environment of each call type;
* ``run_generate`` (commands): ``init`` then ``generate`` as argv (no shell) in the app directory, under one
  deadline (SIGTERM to the process group, SIGKILL 5 s later), Argo CD's error text on failure;
* ``parse_output`` (output): stdout split into objects the way the sidecar and the repo-server do it;
* ``expand_appset`` (appset): the Applications a list-generator/goTemplate ApplicationSet generates;
* ``follow`` (follow): the app-of-apps, from one root Application, every Application that comes back to the
  repository through the plugin rendered in turn.

Argo CD's fixed values and HarnessError are in ``argocd``.
"""

from __future__ import annotations

from .appset import expand_appset, go_template
from .argocd import (
    ARGO_API,
    DEFAULT_TIMEOUT,
    FINALIZER,
    KILL_GRACE,
    PLUGIN_KIND,
    PLUGIN_YAML,
    ClusterInfo,
    HarnessError,
)
from .commands import CMPError, CommandResult, Generated, run_command, run_generate
from .config import load_plugin_config, plugin_name
from .discovery import discover, discovery_configured
from .environment import (
    app_details_env,
    app_vars,
    default_sidecar_env,
    discovery_env,
    envsubst,
    fake_commit,
    full_env,
    go_json,
    instance_name,
    plugin_env,
)
from .follow import (
    Expansion,
    Render,
    Rendered,
    bootstrap_objects,
    comes_back,
    follow,
    merge_source_overrides,
    render_app,
    root_application,
)
from .output import K8sLoader, parse_output
from .workspace import app_path, go_glob, go_path_match, tracked_files, workspace

__all__ = ["ARGO_API", "DEFAULT_TIMEOUT", "FINALIZER", "KILL_GRACE", "PLUGIN_KIND", "PLUGIN_YAML", "CMPError", "ClusterInfo", "CommandResult", "Expansion", "Generated", "HarnessError", "K8sLoader", "Render", "Rendered", "app_details_env", "app_path", "app_vars", "bootstrap_objects", "comes_back", "default_sidecar_env", "discover", "discovery_configured", "discovery_env", "envsubst", "expand_appset", "fake_commit", "follow", "full_env", "go_glob", "go_json", "go_path_match", "go_template", "instance_name", "load_plugin_config", "merge_source_overrides", "parse_output", "plugin_env", "plugin_name", "render_app", "root_application", "run_command", "run_generate", "tracked_files", "workspace"]
