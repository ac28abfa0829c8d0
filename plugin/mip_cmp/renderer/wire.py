"""The renderer's protocol, one request and one answer per unix-socket connection (client.py and server.py).

Request: MAGIC, then length-prefixed fields: the working directory and the environment (NAME=value,
NUL-separated), all bytes as the OS gives them. The client then shuts its sending side down.
Answer: MAGIC, a status byte, the exit code, the worker's peak RSS (KiB) and CPU (microseconds), then
length-prefixed stdout and stderr, then END. Anything else (short, long, garbled) is no answer.

Builtin modules only: the client imports this on every sync.
"""

from __future__ import annotations

MAGIC = b"MIPCMP2\n"  # protocol version 2; the socket name also changes with the code (fingerprint)
END = b"END\n"
OK, CANNOT_SERVE = 0, 1  # CANNOT_SERVE: the client renders in-process (e.g. the directory is not there)
REQUEST_FIELDS = 2


class Answer:
    """A complete answer of the renderer."""

    def __init__(self, code: int, stdout: bytes, stderr: bytes, maxrss_kib: int = 0, cpu_us: int = 0) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr
        self.maxrss_kib, self.cpu_us = maxrss_kib, cpu_us


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def encode_request(cwd: bytes, environ: dict[bytes, bytes]) -> bytes:
    return MAGIC + _field(cwd) + _field(b"\0".join(k + b"=" + v for k, v in environ.items()))


def decode_request(data: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """(cwd, environment); ValueError for anything malformed."""
    if not data.startswith(MAGIC):
        raise ValueError("not a mip-cmp request")
    pos, fields = len(MAGIC), []
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        fields.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    if pos != len(data) or len(fields) != REQUEST_FIELDS:
        raise ValueError("malformed request")
    cwd, env = fields
    environ: dict[bytes, bytes] = {}
    for item in env.split(b"\0") if env else ():
        name, sep, value = item.partition(b"=")
        if not sep or not name:
            raise ValueError("malformed environment")
        environ[name] = value
    return cwd, environ


def encode_answer(status: int, code: int = 0, stdout: bytes = b"", stderr: bytes = b"", maxrss_kib: int = 0,
                  cpu_us: int = 0) -> bytes:
    return b"".join([MAGIC, bytes([status]), code.to_bytes(4, "big", signed=True), maxrss_kib.to_bytes(8, "big"),
                     cpu_us.to_bytes(8, "big"), _field(stdout), _field(stderr), END])


def decode_answer(data: bytes) -> Answer | None:
    """Parse a complete answer; None for "cannot serve"; ValueError for anything malformed or cut short."""
    head = len(MAGIC) + 1 + 4 + 8 + 8
    if not data.startswith(MAGIC) or not data.endswith(END) or len(data) < head + len(END):
        raise ValueError("malformed answer")
    status = data[len(MAGIC)]
    if status != OK:
        return None
    pos = len(MAGIC) + 1
    code = int.from_bytes(data[pos:pos + 4], "big", signed=True)
    maxrss = int.from_bytes(data[pos + 4:pos + 12], "big")
    cpu = int.from_bytes(data[pos + 12:pos + 20], "big")
    pos = head
    blobs = []
    for _ in range(2):
        size = int.from_bytes(data[pos:pos + 4], "big")
        pos += 4
        blobs.append(data[pos:pos + size])
        pos += size
        if len(blobs[-1]) != size:
            raise ValueError("answer cut short")
    if pos + len(END) != len(data):
        raise ValueError("answer of the wrong length")
    return Answer(code, blobs[0], blobs[1], maxrss, cpu)
