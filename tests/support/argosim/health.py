"""Resource health as Argo CD assesses it, for the kinds whose health a sync waits on here.

Argo CD has a health check for an ExternalSecret and an ApplicationSet (resource_customizations/…/health.lua)
and none for an AppProject, an Application, a Namespace, a Password generator, a NetworkPolicy or a Secret:
gitops-engine takes an object without a health check as healthy the moment it is applied. A chart's stand-in
StatefulSet is taken as healthy too (its pods are not imitated).
"""

from __future__ import annotations

from typing import Any

from .kube import Live, group_of

HEALTHY, PROGRESSING, DEGRADED = "Healthy", "Progressing", "Degraded"

# (group, kind) -> (the condition that reports health, its waiting message). Both Lua scripts read the
# status conditions: ErrorOccurred/Ready False -> Degraded, ResourcesUpToDate/Ready True -> Healthy, anything
# else (no status yet) -> Progressing.
_CONDITIONS = {
    ("external-secrets.io", "ExternalSecret"): ("Ready", "Waiting for ExternalSecret"),
    ("argoproj.io", "ApplicationSet"): ("ResourcesUpToDate", "Waiting for the status to be reported"),
}


def of(live: Live) -> tuple[str, str] | None:
    """(status, message), or None for a kind without a health check (healthy)."""
    check = _CONDITIONS.get((group_of(live.obj), live.obj["kind"]))
    if check is None:
        return None
    ready, waiting = check
    for condition in live.status.get("conditions", []):
        if condition.get("type") == "ErrorOccurred" and condition.get("status") == "True":
            return DEGRADED, str(condition.get("message", ""))
        if condition.get("type") == ready:
            status: Any = condition.get("status")
            return (HEALTHY if status == "True" else DEGRADED), str(condition.get("message", ""))
    return PROGRESSING, waiting
