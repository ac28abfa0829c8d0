#!/usr/bin/env bash
# The end-to-end suite on the real thing: Argo CD's controllers, repo-server and argocd-cmp-server (running
# this project's plugin.yaml and the image's entrypoint as uid 999), kube-apiserver and
# kube-controller-manager on etcd, Redis, a loopback git server and the External Secrets Operator, all on
# 127.0.0.1, no container. Builds every Go component from its module the first time (tens of minutes on two
# cores; progress every 30 s), then reuses the build cache under ${XDG_CACHE_HOME:-~/.cache}/mip-cmp-e2e.
#   bash scripts/e2e.sh                 # build what is missing, then run tests/e2e on each Argo CD version
#   bash scripts/e2e.sh build           # only build
#   bash scripts/e2e.sh bench [--quick] # bench/reposerver.py: round trips through the real repo-server
#   bash scripts/e2e.sh refresh         # bench/refresh.py: a commit of 100 federations on the real controllers
#   bash scripts/e2e.sh -k first_sync   # extra arguments go to pytest
#   bash scripts/e2e.sh ci              # the same, within CI's deadline (below)
#   bash scripts/e2e.sh status          # whether the components are built here (.ci/run prints it)
# E2E_ARGOCD_VERSIONS (default: v3.1.16, the oldest line mip-cmp supports) chooses the Argo CD builds the suite
# runs on, one run each; E2E_ARGOCD_UPGRADE_TO (default: v3.3.0, the newest that builds from the proxy: see
# scripts/e2e_build.sh) the release its Argo CD upgrade case moves to (empty: no such case); E2E_STABLE_SECONDS how long the first sync is watched for a re-sync
# (default 300). Every process the suite starts is stopped when it ends, whatever the
# outcome (tests/e2e/conftest.py; the trap below ends whatever is left of its process groups).
#
# CI (`ci`): a cold build takes longer than CI's 90 minutes allow on two cores (docs/testing.md), so the step
# works to a deadline, E2E_DEADLINE (seconds since the epoch; .ci/run sets it). The builds get whatever is
# left before it, less E2E_SUITE_SECONDS for the suite; a build that cannot finish by then, or a machine that
# cannot build or run the suite (no Go, not root, no etcd/Redis package), ends the step with a loud E2E NOT
# RUN banner saying why, and success: CI then stands on the other tests. What Go compiled stays in its build
# cache, so a CI machine that keeps ~/.cache gets further each run and, once built, runs the suite. The
# suite itself, once started, fails the step when a case fails, and is interrupted at the deadline (a
# failure: it is measured to take well under its reserve).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/e2e_build.sh

# `status`: whether this machine has the suite's components built, and how much Go has compiled (the `ci`
# step prints it first: CI's log shows whether its machines keep ~/.cache from one run to the next, the one
# way the suite can run there).
status() {
  local version state
  read -r -a versions <<<"${E2E_ARGOCD_VERSIONS:-$ARGOCD_VERSION}"
  for version in "${versions[@]}"; do
    if ARGOCD_VERSION=$version e2e_built; then state="built"; else state="not built"; fi
    e2e_log "components for Argo CD $version, Kubernetes $KUBE_VERSION, ESO $ESO_VERSION: $state"
  done
  e2e_log "Go's build cache: $(du -sm "$(go env GOCACHE 2>/dev/null || echo /nonexistent)" 2>/dev/null | cut -f1 || echo 0) MB"
}
if [[ "${1:-}" == status ]]; then
  status
  exit 0
fi

ci=
if [[ "${1:-}" == ci ]]; then
  shift
  ci=1
  status
  : "${E2E_DEADLINE:=$(($(date +%s) + 80 * 60))}"
  # The whole suite at E2E_STABLE_SECONDS=300 takes about 45 min on this machine kind, loaded (docs/testing.md).
  E2E_BUILD_DEADLINE=$((E2E_DEADLINE - ${E2E_SUITE_SECONDS:-50 * 60}))
  export E2E_BUILD_DEADLINE
fi

# Why the suite cannot run here. In CI: a banner, and success (see above); elsewhere: an error.
cannot_run() {
  if [[ -z "$ci" ]]; then e2e_log "$*"; exit 1; fi
  local rule='#####################################################################################'
  printf '%s\n# E2E SUITE NOT RUN: %s\n# CI passes on the other tests; run `bash scripts/e2e.sh` where it can.\n%s\n' \
    "$rule" "$*" "$rule" >&2
  exit 0
}

if [[ -n "$ci" && "$(id -u)" != 0 ]]; then
  cannot_run "it runs argocd-cmp-server as uid 999 and installs Debian packages: it needs root"
fi
missing=()
for tool in etcd redis-server git openssl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  e2e_log "installing etcd-server and redis-server (Debian packages; missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q etcd-server redis-server git openssl >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q etcd-server redis-server git openssl >/dev/null; } \
    || cannot_run "apt-get could not install etcd-server, redis-server, git and openssl"
  # The packages start their own services; the suite runs its own instances on ports of its own.
  for service in etcd redis-server; do
    systemctl disable --now "$service" >/dev/null 2>&1 || service "$service" stop >/dev/null 2>&1 || true
  done
fi
command -v go >/dev/null || cannot_run "Go is needed to build the components (https://go.dev/dl/)"

read -r -a versions <<<"${E2E_ARGOCD_VERSIONS:-$ARGOCD_VERSION}"
# The release test_upgrade's Argo CD case upgrades to (built like the others; empty: no such case).
upgrade_to=${E2E_ARGOCD_UPGRADE_TO-$ARGOCD_UPGRADE_VERSION}
for version in "${versions[@]}" ${upgrade_to:+"$upgrade_to"}; do
  if [[ -n "$ci" ]]; then
    if ! ARGOCD_VERSION=$version e2e_built; then
      e2e_log "building within CI's budget: $(( $(e2e_build_seconds_left) / 60 )) min left for it (a cold build took 80 to 100 min here)"
    fi
    set +e
    (set -e; ARGOCD_VERSION=$version e2e_build_all)
    built=$?
    set -e
    # A download cut short at the deadline fails in its own way: past the deadline, any failure is the time.
    if ((built != 0 && $(e2e_build_seconds_left) <= 0)); then built=124; fi
    case $built in
      0) ;;
      124) cannot_run "the build of the components (Argo CD $version, Kubernetes, ESO) did not finish within CI's" \
             "budget (a cold build takes longer than CI allows on two cores; a machine that keeps ~/.cache resumes it)" ;;
      *) cannot_run "the build of the components failed (exit $built; its log is above): not the project's code" ;;
    esac
  else
    ARGOCD_VERSION=$version e2e_build_all
  fi
done
if [[ "${1:-}" == build ]]; then exit 0; fi

bash scripts/setup.sh test
# The suite writes the id of each process group it starts here; whatever is still running at exit (pytest
# killed, say) is ended by those ids. Its run directories are made under E2E_RUNS: the warm renderer leaves
# its process group (as in the image), and is found by that path in its command line.
E2E_PIDFILE=$(mktemp)
E2E_RUNS=$(mktemp -d "${TMPDIR:-/tmp}/mip-cmp-e2e-runs.XXXXXX")
chmod 755 "$E2E_RUNS"
export E2E_PIDFILE E2E_RUNS
stop_leftovers() {
  local pid
  while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$E2E_PIDFILE"
  rm -f "$E2E_PIDFILE"
  for pid in $(grep -l -F "$E2E_RUNS/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rmdir "$E2E_RUNS" 2>/dev/null || true  # kept when it holds a failed run's logs
}
trap stop_leftovers EXIT

if [[ "${1:-}" == bench ]]; then
  shift
  ARGOCD_VERSION=${versions[-1]} e2e_export_paths
  ARGOCD_VERSION=${versions[-1]} e2e_build_reposerver_bench
  .venv/bin/python bench/reposerver.py "$@"
  exit
fi
if [[ "${1:-}" == refresh ]]; then
  shift
  ARGOCD_VERSION=${versions[-1]} e2e_export_paths
  .venv/bin/python bench/refresh.py "$@"
  exit
fi

# A missing binary fails the run here instead of skipping the suite (tests/e2e/conftest.py).
export E2E_REQUIRED=1 E2E_STABLE_SECONDS="${E2E_STABLE_SECONDS:-300}"
suite=(.venv/bin/pytest -n 0 -p no:cacheprovider -m e2e tests/e2e -v --durations=0 "$@")
for version in "${versions[@]}"; do
  ARGOCD_VERSION=$version e2e_export_paths
  unset E2E_ARGOCD_NEXT E2E_ARGOCD_NEXT_CRDS
  if [[ -n "$upgrade_to" && "$upgrade_to" != "$version" ]]; then
    export E2E_ARGOCD_NEXT="$E2E_BIN/argocd-$upgrade_to"
    export E2E_ARGOCD_NEXT_CRDS="$E2E_CACHE/src/argo-cd-$upgrade_to/manifests/crds"
  fi
  e2e_log "running the e2e suite on $E2E_VERSIONS"
  if [[ -z "$ci" ]]; then
    "${suite[@]}"
    continue
  fi
  left=$((E2E_DEADLINE - $(date +%s)))
  ((left > 0)) || { e2e_log "E2E FAILED: no time left before CI's deadline to run the suite"; exit 1; }
  # At the deadline pytest is interrupted (SIGTERM, which tests/e2e/conftest.py turns into an interrupt: its
  # fixtures stop the cluster; SIGINT may be ignored in a background job), killed 2 minutes later.
  began=$SECONDS
  status=0
  timeout -s TERM -k 120 "$left" "${suite[@]}" || status=$?
  e2e_log "the e2e suite took $((SECONDS - began)) s (exit $status)"
  if ((status == 124)); then
    e2e_log "E2E FAILED: the suite was still running at CI's deadline ($((left / 60)) min after it started)"
  fi
  ((status == 0)) || exit "$status"
done
