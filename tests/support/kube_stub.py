"""A stand-in for the Kubernetes API server: HTTP on 127.0.0.1 only, serving recorded responses by path.

The real kubernetes client talks to it over a real socket (no mock of the client library): the test gets
the client's own request building, URL quoting, authentication headers and JSON decoding. A path without a
response answers 404 with a `Status`, as the API server does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

TOKEN = "doctor-test-token"


class KubeStub:
    def __init__(self, responses: dict[str, Any]) -> None:
        self.responses = responses  # path -> JSON-able body, str for text (pod logs), int for a status
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                stub.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, _status(401, "Unauthorized"))
                body = stub.responses.get(path)
                if body is None:
                    return self._send(404, _status(404, "NotFound", f"{path} not found"))
                if isinstance(body, int):  # a refusal, e.g. 403 for a user without read access there
                    return self._send(body, _status(body, HTTPStatus(body).phrase.replace(" ", "")))
                return self._send(200, body)

            def _send(self, code: int, body: Any) -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows failures, not every request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def kubeconfig(self, path: Path, context: str = "stub", token: str = TOKEN) -> Path:
        return kubeconfig(path, self.url, context, token)


def kubeconfig(path: Path, server: str, context: str = "stub", token: str = TOKEN) -> Path:
    """A kubeconfig with one context, `context`, for the API server at `server`."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }))
    return path


def _status(code: int, reason: str, message: str = "") -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message or reason,
            "reason": reason, "code": code}


@contextmanager
def serving(responses: dict[str, Any]) -> Iterator[KubeStub]:
    stub = KubeStub(responses)
    thread = threading.Thread(target=stub.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
        thread.join(timeout=5)
