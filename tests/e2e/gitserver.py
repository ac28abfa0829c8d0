"""Git's smart HTTP protocol on loopback: `git http-backend` behind a tiny HTTP server.

Argo CD wants a repoURL it can clone over http(s) or ssh (file:// is refused for a platform), so the suite
serves its bare repositories this way. Run as a module: `python gitserver.py ROOT PORT_FILE`; it binds
127.0.0.1 on a free port and writes the port to PORT_FILE once it listens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


class GitHandler(BaseHTTPRequestHandler):
    """Each request runs git http-backend as a CGI program; its headers become the response's."""

    root: Path

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")


def main(root: str, port_file: str) -> None:
    GitHandler.root = Path(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHandler)
    Path(f"{port_file}.tmp").write_text(str(server.server_address[1]))
    Path(f"{port_file}.tmp").rename(port_file)  # whole or absent: the harness reads it as soon as it exists
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
