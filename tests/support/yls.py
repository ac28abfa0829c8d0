"""The yaml-language-server (the npm package editors run: VS Code's YAML extension, Neovim, Helix), driven
over stdio the way an editor drives it, to see what an author sees when a mip.yaml is opened.

`scripts/setup.sh test` installs the pinned version into .venv/yaml-language-server/ when npm is on PATH;
elsewhere the tests skip, saying why. Nothing here fetches a schema: the tests point the modeline at the
committed schema file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / ".venv" / "yaml-language-server" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
NODE = shutil.which("node")
WHY_NOT = ("no yaml-language-server here: scripts/setup.sh test installs it when node and npm are on PATH"
           if not (NODE and SERVER.is_file()) else "")
WAIT_SECONDS = 120  # a bound for a hung server, not a speed expectation


@dataclass(frozen=True)
class Diagnostic:
    line: int  # 1-based, as mip-cmp's messages count
    col: int
    message: str
    severity: int  # 1 error, 2 warning


class LanguageServer:
    """One yaml-language-server process; `diagnostics` opens a document and returns what the server
    publishes for it (validation runs when a document is opened)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        assert NODE and SERVER.is_file(), WHY_NOT
        self.proc = subprocess.Popen([NODE, str(SERVER), "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0
        self.settings = {"yaml": {"validate": True, "hover": False, "completion": False,
                                  "schemaStore": {"enable": False}, **(settings or {})}}
        self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {
            "workspace": {"configuration": True}, "textDocument": {"publishDiagnostics": {}}}})
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    def __enter__(self) -> LanguageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=WAIT_SECONDS)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while (header := self.proc.stdout.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if not length:
            raise RuntimeError("yaml-language-server closed its output")
        message: dict[str, Any] = json.loads(self.proc.stdout.read(length))
        if message.get("method") == "workspace/configuration":  # the server asks for its settings
            items = message["params"]["items"]
            self._send({"id": message["id"], "result": [self.settings.get(i.get("section", ""), None)
                                                        for i in items]})
        elif "id" in message and "method" in message:  # any other request of the server's: accept it
            self._send({"id": message["id"], "result": None})
        return message

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self._receive()
            if message.get("id") == self.next_id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result")

    def diagnostics(self, path: Path) -> list[Diagnostic]:
        uri = path.resolve().as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text()}})
        while True:
            message = self._receive()
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return [Diagnostic(d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1,
                                   d["message"], d.get("severity", 1)) for d in message["params"]["diagnostics"]]
