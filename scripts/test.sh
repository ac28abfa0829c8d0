#!/usr/bin/env bash
# The README's test command: installs the test tools into .venv (scripts/setup.sh test), then runs the
# whole suite on two workers. Extra arguments go to pytest (e.g. `bash scripts/test.sh -k golden`).
# Without a Docker engine the k3s tests skip and say so; nothing else needs a network but the install.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
exec .venv/bin/pytest -n 2 "$@"
