#!/usr/bin/env bash
# Create .venv and install mip-cmp into it (editable), with the extras named as arguments:
#   bash scripts/setup.sh              # runtime only: what validate/render/generate need (seconds)
#   bash scripts/setup.sh test         # + the test tools (what scripts/test.sh runs with)
#   bash scripts/setup.sh test lint    # + ruff, mypy and checkov (what .ci/run adds)
#   bash scripts/setup.sh import       # + what `mip-cmp import` runs: kubectl (kustomize) and helm
# Uses uv when it is on PATH (much faster), else the venv's pip. Idempotent: a second run only adds what is
# missing. Needs Python >= 3.11 with its venv module (Debian/Ubuntu: apt-get install python3-venv); set
# PYTHON to pick an interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '==> [%3ss] %s\n' "$((SECONDS - start))" "$*" >&2; }

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "setup: $python not found; mip-cmp needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: mip-cmp needs Python >= 3.11; $python is $("$python" -V 2>&1) (set PYTHON=python3.12, say)" >&2
    exit 1
}
extras=$(IFS=,; echo "$*")
target=.${extras:+[$extras]}

uv=
if command -v uv >/dev/null && uv --version >/dev/null 2>&1; then
    uv=uv
fi

if [ ! -x .venv/bin/python ]; then
    step "creating .venv with $("$python" -V 2>&1)${uv:+ (uv)}"
    if [ -n "$uv" ]; then
        uv venv --quiet --python "$python" .venv
    else
        "$python" -m venv .venv || {
            echo "setup: '$python -m venv' failed; install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
fi

# What was installed, by extras and pyproject.toml's content: a rerun with neither changed skips the
# installer (pip takes ~10 s to find nothing to do, most of the README's test command on a quiet machine).
# A stamp names the extras installed ("test,lint"); one naming every extra asked for covers the request.
installed=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
covered() {
    local stamp have extra
    for stamp in "$installed"-*; do
        [ -f "$stamp" ] || continue
        have=",${stamp#"$installed"-},"
        for extra in "$@"; do [[ "$have" == *",$extra,"* ]] || continue 2; done
        return 0
    done
    return 1
}
if [ -x .venv/bin/mip-cmp ] && covered "$@"; then
    step "mip-cmp${extras:+ with extras: $extras} already installed (pyproject.toml unchanged)"
else
    if [ -n "$extras" ]; then
        step "installing mip-cmp with extras: $extras"
    else
        step "installing mip-cmp, runtime only (pyyaml, pydantic, jinja2, deepdiff)"
    fi
    if [ -n "$uv" ]; then
        uv pip install --python .venv/bin/python -e "$target"
    else
        .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --upgrade >/dev/null
        .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -e "$target" \
            | { grep -v '^Requirement already satisfied' || true; }
    fi
    # Stamps of an older pyproject.toml go; others stay (pip only adds: what they name is still there).
    find .venv -maxdepth 1 -name '.installed-*' ! -name "${installed#.venv/}-*" -delete
    touch "$installed-$extras"
fi
# The graph page tests drive a real headless Chromium: Debian's chromium + chromium-driver, installed here
# where we are root (elsewhere those tests skip and say so).
if [[ ",$extras," == *",test,"* ]] && ! command -v chromedriver >/dev/null && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null; then
    # About 300 MB and a few minutes on a fresh machine: apt's own progress lines go to stderr (one line per
    # package), so a long pause says what it is.
    step "installing Debian's chromium and chromium-driver (graph page tests; about 300 MB, once)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -q -o Dpkg::Use-Pty=0 chromium chromium-driver >&2 \
        || { step "apt-get update (chromium was not in the package lists)" \
             && apt-get update -q >&2 && apt-get install -y -q -o Dpkg::Use-Pty=0 chromium chromium-driver >&2; }; } \
        || echo "setup: could not install chromium; the browser tests will skip" >&2
    if command -v chromedriver >/dev/null; then step "chromium installed"; fi
fi
# `mip-cmp import` renders a repository's Helm charts with the real helm, as Argo CD's repo-server does (the
# import extra and the tests need it). helm has no PyPI wheel: it is built once from its Go module, cached
# per version under ~/.cache/mip-cmp/tools, and linked into the venv, where mip-cmp looks first.
HELM_VERSION=v3.21.4
if [[ ",$extras," == *",import,"* || ",$extras," == *",test,"* || ",$extras," == *",dev,"* ]] \
        && [ ! -x .venv/bin/helm ]; then
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/mip-cmp/tools/helm-$HELM_VERSION"
    if [ -x "$cache/helm" ]; then
        step "helm $HELM_VERSION from the cache ($cache)"
    elif command -v go >/dev/null; then
        step "building helm $HELM_VERSION from its Go module (once, then cached in $cache; minutes on a cold Go cache)"
        mkdir -p "$(dirname "$cache")"
        build=$(mktemp -d "$cache.building.XXXXXX")
        # go install -v names each package as it compiles: a count every 50 shows it is moving; any other
        # line (an error) is shown as it is.
        GOBIN="$build" GOFLAGS=-trimpath go install -v "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" 2>&1 \
            | awk '/^go: downloading/ {d++; next}
                   /^[A-Za-z0-9._~\/-]+$/ {n++; if (n % 50 == 0) printf "    %d packages compiled (%d modules downloaded)\n", n, d > "/dev/stderr"; next}
                   {print > "/dev/stderr"}
                   END {printf "    %d packages compiled\n", n > "/dev/stderr"}' \
            || true
        [ -x "$build/helm" ] || { echo "setup: building helm failed (see above)" >&2; rm -rf "$build"; exit 1; }
        mkdir -p "$cache" && mv "$build/helm" "$cache/helm" && rm -rf "$build"
    fi
    if [ -x "$cache/helm" ]; then
        ln -sf "$cache/helm" .venv/bin/helm
    elif command -v helm >/dev/null; then
        step "using $(command -v helm)"
    else
        echo "setup: no helm and no Go to build it: \`mip-cmp import\` and its tests need helm 3 on PATH" \
             "(https://helm.sh/docs/intro/install/)" >&2
    fi
fi
# The editor test drives the real yaml-language-server (tests/test_editor.py): npm's package, pinned, into
# .venv/yaml-language-server (elsewhere, without npm, that test skips and says so).
yls_version=1.25.0
yls=.venv/yaml-language-server
if [[ ",$extras," == *",test,"* ]] && command -v npm >/dev/null \
        && ! grep -qs "\"version\": \"$yls_version\"" "$yls/node_modules/yaml-language-server/package.json"; then
    step "installing yaml-language-server $yls_version with npm (the editor test)"
    npm install --prefix "$yls" --no-audit --no-fund --no-save --loglevel=error "yaml-language-server@$yls_version" \
        >/dev/null || echo "setup: could not install yaml-language-server; the editor test will skip" >&2
fi
step "ready: .venv/bin/mip-cmp"
