"""Keep credentials and forged lines out of error messages, and spot credentials in values.

A failed plugin's stderr is shown by Argo CD in its UI and API, and cached in Redis, to everyone who can
see the Application. So an error never repeats a value that looks like a credential, never spans more
than one line (a crafted key could otherwise print a fake `file:line:col:` line), and stays short.
"""

from __future__ import annotations

import math
import re

MAX_MESSAGE_CHARS = 1000
REDACTED = "<redacted>"

# Well-known credential shapes (cloud keys, forge and chat tokens, JWTs, private keys).
_KNOWN = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|sk[-_](?:live|test|proj)[-_][A-Za-z0-9_-]{10,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----"
)
# user:password@ in URLs.
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]+):[^/\s@]+@")
# key=value where the key names a credential (not `key: value`: problem lines are `path: message`).
_ASSIGNMENT = re.compile(r"(?i)\b([\w.-]*(?:password|passwd|secret|token|api[-_]?key)[\w.-]*)(\s*=\s*)(\S+)")
# Long random-looking runs of letters and digits: API keys, hex/base64 secrets.
_TOKEN = re.compile(r"[A-Za-z0-9+/=_]{24,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # all that splitlines() splits on

# Helm value keys whose literal value is a password by definition.
_PASSWORD_KEY = re.compile(r"(?:password|passwd|passphrase)$")
# Keys that hold a credential when their value looks random (and a resource *name* when it does not,
# e.g. `existingSecret: mip-secret`).
_SECRET_KEY = re.compile(r"(?:secret|token|apikey|accesskey|privatekey|credentials?)$")


def _random_looking(text: str, min_length: int) -> bool:
    if len(text) < min_length or not re.fullmatch(r"[A-Za-z0-9+/=_.~-]+", text):
        return False
    if not (re.search(r"[0-9]", text) and re.search(r"[A-Za-z]", text)):
        return False
    counts = {c: text.count(c) for c in set(text)}
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= 3.0


def _token(match: re.Match[str]) -> str:
    return REDACTED if _random_looking(match.group(0), 24) else match.group(0)


def scrub(text: str) -> str:
    """`text` made safe to print: credentials redacted, control characters escaped, length capped."""
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
    text = _KNOWN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _TOKEN.sub(_token, text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def credential_value(key: str, value: str) -> bool:
    """Whether the literal `value` under `key` is (very likely) a credential."""
    if _KNOWN.search(value) or _URL_PASSWORD.search(value):
        return True
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    if _PASSWORD_KEY.search(normalized):
        return value.strip() != ""
    return bool(_SECRET_KEY.search(normalized)) and _random_looking(value, 16)
