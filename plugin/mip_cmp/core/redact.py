"""Keep credentials and forged lines out of error messages, and spot credentials in values.

A failed plugin's stderr is shown by Argo CD in its UI and API, and cached in Redis, to everyone who can
see the Application. So an error never repeats a value that looks like a credential, never spans more
than one line (a crafted key could otherwise print a fake `file:line:col:` line), and stays short.
"""

from __future__ import annotations

import math
import re

from . import budget

REDACTED = "<redacted>"

# Every pattern here runs on text an attacker chose (up to a whole file), so each is linear: a run of
# characters is scanned once from its start ((?<!...) keeps the engine from restarting inside it), and
# possessive quantifiers (++, {n,}+) give back nothing, so there is no backtracking to blow up.
# tests/security/test_resources.py times them on the worst inputs we know.
_T = "A-Za-z0-9_-"  # the characters of most tokens
# Well-known credential shapes (cloud keys, forge and chat tokens, JWTs, private keys).
_KNOWN = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"
    rf"|(?<![{_T}])(?:gh[pousr]_[A-Za-z0-9]{{20,}}+|github_pat_[A-Za-z0-9_]{{20,}}+|glpat-[{_T}]{{20,}}+"
    rf"|xox[abposr]-[A-Za-z0-9-]{{10,}}+|sk[-_](?:live|test|proj)[-_][{_T}]{{10,}}+"
    rf"|eyJ[{_T}]{{8,}}+\.[{_T}]{{8,}}+\.[{_T}]{{8,}}+)"
    r"|-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----"  # bounded: it must give back "PRIVATE KEY"
)
# user:password@ in URLs.
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]++):[^/\s@]++@")
# key=value where the key names a credential (not `key: value`: problem lines are `path: message`). The
# key is a whole run of [\w.-]; whether it names a credential is asked of that run afterwards.
_ASSIGNMENT = re.compile(r"(?<![\w.-])([\w.-]++)(\s*+=\s*+)(\S++)")
_CREDENTIAL_WORD = re.compile(r"(?i)password|passwd|secret|token|api[-_]?key")
# Long random-looking runs of letters and digits: API keys, hex/base64 secrets.
_TOKEN = re.compile(r"[A-Za-z0-9+/=_]{24,}+")
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


def _assignment(match: re.Match[str]) -> str:
    if not _CREDENTIAL_WORD.search(match.group(1)):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def _window(text: str) -> str:
    """At most SCRUB_WINDOW_CHARS of `text`, so that scrubbing costs the same for any input. The word the
    cut falls in is dropped whole: half a credential must not survive because the patterns missed it."""
    limit = budget.SCRUB_WINDOW_CHARS
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not text[limit].isspace():
        parts = head.rsplit(maxsplit=1)
        head = parts[0] if len(parts) > 1 else ""
    return head + " ..."


def scrub(text: str) -> str:
    """`text` made safe to print: credentials redacted, control characters escaped, length capped."""
    text = _window(text)
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
    text = _KNOWN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    text = _ASSIGNMENT.sub(_assignment, text)
    return _capped(_TOKEN.sub(_token, text))


def scrub_path(path: str) -> str:
    """A file's path made safe to print: scrubbed part by part, so that directory and file names together are
    not taken for one random-looking token (`federation-a/overlays/exareme2/kustomization.yaml` is a path,
    not a key); each part still is scrubbed, and the whole capped."""
    return _capped("/".join(scrub(part) for part in _window(path).split("/")))


def _capped(text: str) -> str:
    limit = budget.MAX_MESSAGE_CHARS
    return text if len(text) <= limit else text[: limit - 3] + "..."


def credential_value(key: str, value: str) -> bool:
    """Whether the literal `value` under `key` is (very likely) a credential."""
    if _KNOWN.search(value) or _URL_PASSWORD.search(value):
        return True
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    if _PASSWORD_KEY.search(normalized):
        return value.strip() != ""
    return bool(_SECRET_KEY.search(normalized)) and _random_looking(value, 16)
