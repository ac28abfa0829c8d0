"""Read-only calls to a cluster's API server, for `mip-cmp doctor`, and what each way of failing means.

A cluster that cannot be reached (wrong context, VPN down, expired login, no read access) is the case an
admin meets most, so every failure of a call becomes an `Unreachable` carrying a sentence and what to do,
never a traceback. The kubernetes client is imported here only: never on the generate path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..core.errors import MipError

# A dropped VPN drops packets: without a bound, each call would wait for the kernel's connect timeout.
CONNECT_SECONDS = 5
READ_SECONDS = 30
RETRIES = 1  # one more try for a blip; an unreachable server is reported within about 2 * CONNECT_SECONDS


class Unreachable(Exception):
    """A call to the API server failed: `detail` says how, `fix` what to do."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail, self.fix = detail, fix


class Cluster:
    """Read-only calls through the kubernetes client's typed APIs; JSON decoded here (the raw response, so
    no model class can trip over a field it does not know); None for 404."""

    def __init__(self, api_client: Any, context: str | None = None) -> None:
        self.api = api_client
        self.context = context

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    def kubectl(self, args: str) -> str:
        """The kubectl command line that makes the same call with the same kubeconfig context."""
        return f"kubectl{f' --context {self.context}' if self.context else ''} {args}"

    def _call(self, api: str, method: str, *args: Any, **kwargs: Any) -> Any:
        import kubernetes.client
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = getattr(getattr(kubernetes.client, api)(self.api), method)(
                *args, _preload_content=False, _request_timeout=(CONNECT_SECONDS, READ_SECONDS), **kwargs)
            data = response.data
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._refused(exc.status, exc.reason) from None
        except (HTTPError, OSError) as exc:
            raise Unreachable(f"cannot reach the API server at {self.host}: {_why(exc)}",
                              "check the kubeconfig context (`kubectl config current-context`; another one with "
                              f"--context), that the network or VPN to {self.host} is up, and that "
                              f"`{self.kubectl('get namespaces')}` works") from None
        return data.decode("utf-8", "replace") if method == "read_namespaced_pod_log" else json.loads(data)

    def _refused(self, status: int, reason: str | None) -> Unreachable:
        answer = f"{status} {reason}" if reason else str(status)
        if status == 401:
            return Unreachable(f"the API server at {self.host} does not accept your credentials ({answer})",
                               "log in again (an expired token or certificate?), "
                               f"then `{self.kubectl('get namespaces')}`")
        if status == 403:
            return Unreachable(f"your user may not read this from the API server at {self.host} ({answer})",
                               "doctor only reads (get, list): deployments, pods and their logs, CRDs, Argo CD's "
                               "and External Secrets' objects; ask for that access, or run it as a cluster admin")
        return Unreachable(f"the API server at {self.host} answered {answer}",
                           f"try again; `{self.kubectl('get --raw /readyz?verbose')}` shows its state")

    def version(self) -> Any:
        return self._call("VersionApi", "get_code")

    def deployment(self, namespace: str, name: str) -> Any:
        return self._call("AppsV1Api", "read_namespaced_deployment", name, namespace)

    def deployments(self, selector: str) -> Any:
        return self._call("AppsV1Api", "list_deployment_for_all_namespaces", label_selector=selector)

    def pods(self, namespace: str, selector: str) -> Any:
        return self._call("CoreV1Api", "list_namespaced_pod", namespace, label_selector=selector)

    def log(self, namespace: str, pod: str, container: str, limit_bytes: int) -> str:
        text: str = self._call("CoreV1Api", "read_namespaced_pod_log", pod, namespace, container=container,
                               limit_bytes=limit_bytes) or ""
        return text

    def crd(self, name: str) -> Any:
        return self._call("ApiextensionsV1Api", "read_custom_resource_definition", name)

    def custom(self, group: str, version: str, plural: str, name: str, namespace: str | None = None) -> Any:
        if namespace is None:
            return self._call("CustomObjectsApi", "get_cluster_custom_object", group, version, plural, name)
        return self._call("CustomObjectsApi", "get_namespaced_custom_object", group, version, namespace, plural, name)


def _why(exc: BaseException) -> str:
    """urllib3's words for a failed connection, without the object reprs it wraps them in."""
    from urllib3.exceptions import (
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ReadTimeoutError,
    )

    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    # Most specific first: urllib3 makes NewConnectionError (refused, unreachable) a ConnectTimeoutError.
    if isinstance(reason, NameResolutionError):
        return "its host name does not resolve"
    if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
        return f"no answer within {CONNECT_SECONDS} s (a VPN or firewall dropping the connection?)"
    if isinstance(reason, ReadTimeoutError):
        return f"connected, but no answer within {READ_SECONDS} s"
    text = str(reason).rsplit(": ", 1)[-1] if ": " in str(reason) else str(reason)
    return re.sub(r"^\[Errno -?\d+\] |'\)+$", "", text).strip() or type(reason).__name__


def connect(context: str | None) -> Cluster:
    """A Cluster from the admin's kubeconfig (or the in-cluster config); Unreachable when there is none
    usable, with the contexts there are."""
    try:
        from kubernetes import config
        from kubernetes.client import Configuration
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise MipError("doctor needs the kubernetes client: pip install 'mip-cmp[cluster]'") from None
    settings = Configuration()
    settings.retries = RETRIES
    try:
        api = config.new_client_from_config(context=context, client_configuration=settings)  # type: ignore[no-untyped-call]
        return Cluster(api, context)
    except (ConfigException, OSError) as exc:
        if context is None:
            try:
                config.load_incluster_config(client_configuration=settings)  # type: ignore[no-untyped-call]
                from kubernetes.client import ApiClient

                return Cluster(ApiClient(settings))
            except ConfigException:
                pass
        raise _no_kubeconfig(context, exc) from None


def _no_kubeconfig(context: str | None, exc: Exception) -> Unreachable:
    from kubernetes import config

    try:
        names = [c["name"] for c in config.list_kube_config_contexts()[0]]  # type: ignore[no-untyped-call]
    except Exception:
        names = []
    if context is not None and names and context not in names:
        from ..core.suggest import did_you_mean

        return Unreachable(f"your kubeconfig has no context '{context}'{did_you_mean(context, names)} "
                           f"(contexts: {', '.join(names)})",
                           "pass one of them with --context (`kubectl config get-contexts` lists them)")
    return Unreachable(f"no usable kubeconfig: {exc}",
                       "set KUBECONFIG or pass --context (`kubectl config get-contexts` lists them), "
                       "and check with `kubectl get namespaces`")
