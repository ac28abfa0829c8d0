"""What the MIP's pinned charts create, for the import: the pods they run (labels NetworkPolicies select on,
ports they listen on) and the Secrets they read. The charts live in other repositories and are not fetched:
these are facts of their templates at the revisions mip-infra pins, keyed by repository name and chart path.
A chart not listed here has no known pods or secrets; the report then says a flow or secret may be missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..netpol import Port


@dataclass(frozen=True)
class ChartPod:
    name: str
    labels: dict[str, str]
    ports: tuple[Port, ...]
    revisions: tuple[str, ...] = ()  # pinned revisions that run it; empty: every revision listed


@dataclass(frozen=True)
class ChartSecret:
    typed: tuple[str, ...]  # keys an operator provides (e.g. a Keycloak client)
    generated: tuple[str, ...] = ()  # keys that only need to be random
    fixed: tuple[tuple[str, str], ...] = ()  # non-secret values


def _tcp(*numbers: int) -> tuple[Port, ...]:
    return tuple(Port(n) for n in numbers)


EXAREME2 = ("exareme2", "kubernetes")
MIP_STACK = ("mip", "deployment/kubernetes")
DATACATALOG = ("datacatalog", "kubernetes")
EXAREME2_1_0, EXAREME2_1_1 = "cdfb9873e6675f646ac4267113607c7a18118610", "d72983f4ee248785377b3f26f263c4aa2619fee2"
MIP_STACK_9_2 = "7722c05096d4ce22ed502955a2a9abb4ee5fdf42"  # 9.2.0-pre: JupyterHub joins the stack

# exareme2: madgik/exareme2 kubernetes/templates/exaflow-*.yaml (1.0.0 and 1.1.0). mip-stack: Medical-
# Informatics-Platform/mip deployment/kubernetes/templates (9.0.2; 9.2.0-pre adds JupyterHub's hub and the
# single-user notebook servers, labelled as Zero to JupyterHub labels them). datacatalog: its
# kubernetes/templates/{frontend,backend,database,dqt}.yaml (1.2.1 and 2.0.0).
CHART_PODS: dict[tuple[str, str], tuple[ChartPod, ...]] = {
    EXAREME2: (
        ChartPod("exaflow-controller", {"app": "exaflow-controller"}, _tcp(5000)),
        ChartPod("exaflow-localworker-0", {"app": "exaflow-worker", "nodeType": "localworker"}, _tcp(5672)),
        ChartPod("exaflow-globalworker-0", {"app": "exaflow-worker", "nodeType": "globalworker"}, _tcp(5672),
                 (EXAREME2_1_0,)),
        # 1.1.0: the global worker also serves Flower on 8080 (remote workers reach it)
        ChartPod("exaflow-globalworker-0", {"app": "exaflow-worker", "nodeType": "globalworker"}, _tcp(5672, 8080),
                 (EXAREME2_1_1,)),
        ChartPod("exaflow-aggregation-server", {"app": "exaflow-aggregation-server"}, _tcp(50051)),
    ),
    MIP_STACK: (
        ChartPod("platform-ui", {"app": "platform-ui"}, _tcp(80)),
        ChartPod("portalbackend", {"app": "portalbackend"}, _tcp(8080, 5432)),
        ChartPod("hub", {"app": "jupyterhub", "component": "hub"}, _tcp(8081), (MIP_STACK_9_2,)),
        ChartPod("jupyter-user", {"app": "jupyterhub", "component": "singleuser-server"}, _tcp(8888),
                 (MIP_STACK_9_2,)),
    ),
    DATACATALOG: (
        ChartPod("frontend", {"app": "frontend"}, _tcp(80)),
        ChartPod("backend", {"app": "backend"}, _tcp(8090)),
        ChartPod("db", {"app": "db"}, _tcp(5432)),
        ChartPod("data-quality-tool", {"app": "data-quality-tool"}, _tcp(8000)),
    ),
}

CHART_SECRETS: dict[tuple[str, str], dict[str, ChartSecret]] = {
    DATACATALOG: {"datacatalog-secrets": ChartSecret(("keycloak.client-id", "keycloak.client-secret"),
                                                     ("db.password",), (("db.user", "postgres"),))},
    MIP_STACK: {"keycloak-credentials": ChartSecret(("client-id", "client-secret"))},
}


def chart_key(repo_url: str, path: str) -> tuple[str, str]:
    """(repository name, chart path): the same chart whichever owner or URL form points at it."""
    name = repo_url.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name, path.strip("/")


def chart_pods(repo_url: str, path: str, revision: str) -> list[ChartPod]:
    return [p for p in CHART_PODS.get(chart_key(repo_url, path), ()) if not p.revisions or revision in p.revisions]


def chart_secrets(repo_url: str, path: str) -> dict[str, ChartSecret]:
    return CHART_SECRETS.get(chart_key(repo_url, path), {})
