#!/usr/bin/env bash
# The end-to-end suite on the real thing: Argo CD's controllers, repo-server and argocd-cmp-server (running
# this project's plugin.yaml and the image's entrypoint as uid 999), kube-apiserver and
# kube-controller-manager on etcd, Redis, a loopback git server and the External Secrets Operator, all on
# 127.0.0.1, no container. Builds every Go component from its module the first time (tens of minutes on two
# cores; progress every 30 s), then reuses the build cache under ${XDG_CACHE_HOME:-~/.cache}/mip-cmp-e2e.
#   bash scripts/e2e.sh                 # build what is missing, then run tests/e2e on each Argo CD version
#   bash scripts/e2e.sh build           # only build
#   bash scripts/e2e.sh bench [--quick] # bench/reposerver.py: round trips through the real repo-server
#   bash scripts/e2e.sh -k first_sync   # extra arguments go to pytest
# E2E_ARGOCD_VERSIONS (default: v3.1.16, see scripts/e2e_build.sh for why no newer one) chooses the Argo CD
# builds the suite runs on, one run each; E2E_STABLE_SECONDS how long the first sync is watched for a re-sync
# (default 300). Every process the suite starts is stopped when it ends, whatever the
# outcome (tests/e2e/conftest.py; the trap below ends whatever is left of its process groups).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/e2e_build.sh

missing=()
for tool in etcd redis-server git openssl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  e2e_log "installing etcd-server and redis-server (Debian packages; missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q etcd-server redis-server git openssl >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q etcd-server redis-server git openssl >/dev/null; }
  # The packages start their own services; the suite runs its own instances on ports of its own.
  for service in etcd redis-server; do
    systemctl disable --now "$service" >/dev/null 2>&1 || service "$service" stop >/dev/null 2>&1 || true
  done
fi
command -v go >/dev/null || { e2e_log "Go is needed to build the components (https://go.dev/dl/)"; exit 1; }

read -r -a versions <<<"${E2E_ARGOCD_VERSIONS:-$ARGOCD_VERSION}"
for version in "${versions[@]}"; do ARGOCD_VERSION=$version e2e_build_all; done
if [[ "${1:-}" == build ]]; then exit 0; fi

bash scripts/setup.sh test
# The suite writes the id of each process group it starts here; whatever is still running at exit (pytest
# killed, say) is ended by those ids.
E2E_PIDFILE=$(mktemp)
export E2E_PIDFILE
stop_leftovers() {
  local pid
  while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$E2E_PIDFILE"
  rm -f "$E2E_PIDFILE"
}
trap stop_leftovers EXIT

if [[ "${1:-}" == bench ]]; then
  shift
  ARGOCD_VERSION=${versions[-1]} e2e_export_paths
  ARGOCD_VERSION=${versions[-1]} e2e_build_reposerver_bench
  .venv/bin/python bench/reposerver.py "$@"
  exit
fi

# A missing binary fails the run here instead of skipping the suite (tests/e2e/conftest.py).
export E2E_REQUIRED=1 E2E_STABLE_SECONDS="${E2E_STABLE_SECONDS:-300}"
for version in "${versions[@]}"; do
  ARGOCD_VERSION=$version e2e_export_paths
  e2e_log "running the e2e suite on $E2E_VERSIONS"
  .venv/bin/pytest -n 0 -p no:cacheprovider -m e2e tests/e2e -v "$@"
done
