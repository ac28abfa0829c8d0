#!/usr/bin/env bash
# Builds the real components of the end-to-end suite from their Go modules, once per version, into a cache
# under the user's cache directory (no container, only the Go module proxy). Sourced by scripts/e2e.sh.
#   e2e_build_all         builds (or reuses) every binary; prints one line per step
# The versions are the suite's facts: Argo CD's release, and the Kubernetes release its go.mod requires
# (its compiled packages are then shared with Argo CD's build), ESO's release.

E2E_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mip-cmp-e2e"
# Argo CD: a release of the oldest line mip-cmp supports (v3.1) that the Go module proxy serves (it refuses
# v3.1.12, the oldest supported; v3.1.16 renders the same), and the newest release that builds from the proxy,
# which the suite's upgrade case moves to. From v3.3 Argo CD builds gitops-engine from a directory of its
# repository that its module zip leaves out; e2e_fill_gitops_engine puts back the version its go.mod names, which
# v3.3.0 compiles against. Later v3.3 patches (v3.3.19: util/kube calls a KubectlCmd method no served
# gitops-engine has) and v3.4 and later (gitops-engine moved to a module path the proxy does not serve) need the
# directory's newer code, which the proxy does not have; v3.2.12's zip does not compile (controller/cache:
# undefined settings.ValidateExternalURL). E2E_ARGOCD_VERSIONS and E2E_ARGOCD_UPGRADE_TO (scripts/e2e.sh) choose.
ARGOCD_VERSION="${E2E_ARGOCD_VERSION:-v3.1.16}"
ARGOCD_UPGRADE_VERSION=v3.3.0
KUBE_VERSION="${E2E_KUBE_VERSION:-v1.33.1}"
# ESO: the newest release the proxy can build (v1.x moved its providers into modules of their own, which it
# does not serve). It predates the Password generator's `secretKeys`: see install_basics in tests/e2e/cluster.py.
ESO_VERSION="${E2E_ESO_VERSION:-v0.16.2}"
KUSTOMIZE_VERSION="${E2E_KUSTOMIZE_VERSION:-v5.7.1}"  # Argo CD v3.1's image ships kustomize 5.7
E2E_BIN="$E2E_CACHE/bin"

e2e_log() { printf '[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Copies a module's source out of the read-only module cache into $E2E_CACHE/src/NAME (once).
e2e_module_copy() {
  local module=$1 version=$2 dest=$3 dir
  if [[ -f "$dest/go.mod" ]]; then return; fi
  e2e_log "downloading $module@$version"
  local left
  left=$(e2e_build_seconds_left)
  ((left > 0)) || return 124
  dir=$(timeout "$left" go mod download -json "$module@$version" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || return
  rm -rf "$dest.tmp" && mkdir -p "$(dirname "$dest")"
  cp -r "$dir" "$dest.tmp" && chmod -R u+w "$dest.tmp" && mv "$dest.tmp" "$dest"
}

# Seconds left before E2E_BUILD_DEADLINE (seconds since the epoch; unset: no deadline, a large number).
e2e_build_seconds_left() {
  if [[ -z "${E2E_BUILD_DEADLINE:-}" ]]; then echo 999999; else echo $((E2E_BUILD_DEADLINE - $(date +%s))); fi
}

# Runs a build with its output in a log file, showing its progress every 30 s; fails with the log's tail.
# Past E2E_BUILD_DEADLINE the build is stopped (its whole process group) and the function returns 124: what
# it compiled stays in Go's build cache, so the next run starts from there.
e2e_go_build() {
  local what=$1 log=$2; shift 2
  e2e_log "building $what (log: $log)"
  local start=$SECONDS
  # A session of its own (setsid execs in place: $! is its id), so that a deadline ends every compiler.
  setsid bash -c 'nice -n 10 "${@:2}" >"$1" 2>&1; echo "rc=$?" >>"$1"' _ "$log" "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if (($(e2e_build_seconds_left) <= 0)); then
      kill -TERM -- "-$pid" 2>/dev/null; sleep 2; kill -KILL -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null || true
      e2e_log "stopped building $what after $((SECONDS - start)) s: its deadline passed (Go's build cache keeps what was compiled)"
      return 124
    fi
    if (((SECONDS - start) % 30 < 5)) && kill -0 "$pid" 2>/dev/null; then
      e2e_log "  $what: $((SECONDS - start)) s, $(grep -c '' "$log") log lines"
    fi
  done
  wait "$pid" || true
  if ! tail -n1 "$log" | grep -qx 'rc=0'; then
    tail -n 30 "$log" >&2
    e2e_log "building $what failed"
    return 1
  fi
  e2e_log "built $what in $((SECONDS - start)) s"
  # What a cold cache costs, kept for the CI estimate (docs/performance.md): one line per build.
  echo "$(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg): $what $((SECONDS - start)) s" \
    >>"$E2E_CACHE/build-times.log"
}

# Argo CD v3.3 builds gitops-engine from ./gitops-engine (`replace ... => ./gitops-engine`), a module of its own
# that the module zip leaves out; the proxy serves the version go.mod names, which the copy gets. (v3.4 and later
# name it by a path the proxy does not serve: their build stops here, saying so.)
e2e_fill_gitops_engine() {
  local src=$1 module version
  module=$(sed -n 's|^replace \(\S*/gitops-engine\) => ./gitops-engine$|\1|p' "$src/go.mod")
  if [[ -z "$module" || -f "$src/gitops-engine/go.mod" ]]; then return; fi
  version=$(awk -v m="$module" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$src/go.mod")
  e2e_module_copy "$module" "$version" "$src/gitops-engine" \
    || { e2e_log "gitops-engine: the proxy does not serve $module@$version, which this Argo CD builds from"; return 1; }
}

e2e_build_argocd() {
  local out="$E2E_BIN/argocd-$ARGOCD_VERSION" src="$E2E_CACHE/src/argo-cd-$ARGOCD_VERSION"
  if [[ -x "$out" ]]; then return; fi
  e2e_module_copy github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION" "$src" || return
  e2e_fill_gitops_engine "$src" || return
  mkdir -p "$E2E_BIN"
  e2e_go_build "Argo CD $ARGOCD_VERSION" "$E2E_CACHE/build-argocd-$ARGOCD_VERSION.log" \
    bash -c "cd '$src' && GOFLAGS='-mod=mod -buildvcs=false' go build -o '$out.tmp' ./cmd && mv '$out.tmp' '$out'"
}

# k8s.io/kubernetes points its k8s.io/* requirements at ./staging, which its module zip leaves out: the copy
# points them at the published modules of the same release (v1.X.Y <-> v0.X.Y) instead.
e2e_build_kube() {
  local dir="$E2E_BIN/kube-$KUBE_VERSION" src="$E2E_CACHE/src/kubernetes-$KUBE_VERSION"
  if [[ -x "$dir/kube-apiserver" && -x "$dir/kube-controller-manager" ]]; then return; fi
  e2e_module_copy k8s.io/kubernetes "$KUBE_VERSION" "$src" || return
  local staging="v0.${KUBE_VERSION#v1.}" edits=()
  if grep -q '=> ./staging/' "$src/go.mod"; then
    local module
    for module in $(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/.*|\1|p' "$src/go.mod"); do
      edits+=("-replace=$module=$module@$staging")
    done
    (cd "$src" && rm -f go.work go.work.sum && rm -rf vendor && go mod edit "${edits[@]}")
  fi
  local ldflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  mkdir -p "$dir.tmp"
  e2e_go_build "kube-apiserver and kube-controller-manager $KUBE_VERSION" "$E2E_CACHE/build-kube-$KUBE_VERSION.log" \
    bash -c "cd '$src' && GOFLAGS='-mod=mod -buildvcs=false' go build -ldflags '$ldflags' -o '$dir.tmp/' \
      ./cmd/kube-apiserver ./cmd/kube-controller-manager && rm -rf '$dir' && mv '$dir.tmp' '$dir'"
}

# ESO's controllers register every provider and generator it ships (about 40, with every cloud SDK: an hour
# of compiling here). The suite uses its fake provider (the platform's store) and its Password generator, so
# the copy's two registries import those two only; every controller is ESO's own code, unchanged.
e2e_build_eso() {
  local out="$E2E_BIN/external-secrets-$ESO_VERSION-fake-password" src="$E2E_CACHE/src/external-secrets-$ESO_VERSION"
  if [[ -x "$out" ]]; then return; fi
  e2e_module_copy github.com/external-secrets/external-secrets "$ESO_VERSION" "$src" || return
  sed -i '/^\s*_ "github.com\/external-secrets\/external-secrets\/pkg\/provider\//{/provider\/fake"/!d}' \
    "$src/pkg/provider/register/register.go"
  sed -i '/^\s*_ "github.com\/external-secrets\/external-secrets\/pkg\/generator\//{/generator\/password"/!d}' \
    "$src/pkg/generator/register/register.go"
  mkdir -p "$E2E_BIN"
  e2e_go_build "External Secrets Operator $ESO_VERSION" "$E2E_CACHE/build-eso-$ESO_VERSION.log" \
    bash -c "cd '$src' && GOFLAGS='-mod=mod -buildvcs=false' go build -o '$out.tmp' . && mv '$out.tmp' '$out'"
}

# The repo-server runs kustomize for the apps that name it (the overlays, the infrastructure, mip-infra's).
e2e_build_kustomize() {
  local out="$E2E_BIN/kustomize-$KUSTOMIZE_VERSION"
  if [[ -x "$out" ]]; then return; fi
  mkdir -p "$E2E_BIN/kustomize-$KUSTOMIZE_VERSION.tmp"
  e2e_go_build "kustomize $KUSTOMIZE_VERSION" "$E2E_CACHE/build-kustomize-$KUSTOMIZE_VERSION.log" \
    bash -c "GOBIN='$E2E_BIN/kustomize-$KUSTOMIZE_VERSION.tmp' go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION \
      && mv '$E2E_BIN/kustomize-$KUSTOMIZE_VERSION.tmp/kustomize' '$out' && rmdir '$E2E_BIN/kustomize-$KUSTOMIZE_VERSION.tmp'"
}

# bench/reposerver.py's client: bench/reposerver/main.go built inside the Argo CD module copy (its request is
# Argo CD's own type); keyed by the source's hash too, so an edit rebuilds it.
e2e_build_reposerver_bench() {
  local src="$E2E_CACHE/src/argo-cd-$ARGOCD_VERSION" hash
  hash=$(sha256sum bench/reposerver/main.go | cut -c1-12)
  E2E_REPOSERVER_BENCH="$E2E_BIN/reposerver-bench-$ARGOCD_VERSION-$hash"
  export E2E_REPOSERVER_BENCH
  if [[ -x "$E2E_REPOSERVER_BENCH" ]]; then return; fi
  e2e_build_argocd
  mkdir -p "$src/hack/mip-cmp-reposerver-bench"
  cp bench/reposerver/main.go "$src/hack/mip-cmp-reposerver-bench/main.go"
  e2e_go_build "the repo-server bench client" "$E2E_CACHE/build-reposerver-bench-$ARGOCD_VERSION.log" \
    bash -c "cd '$src' && go build -o '$E2E_REPOSERVER_BENCH.tmp' ./hack/mip-cmp-reposerver-bench \
      && mv '$E2E_REPOSERVER_BENCH.tmp' '$E2E_REPOSERVER_BENCH'"
}

e2e_build_all() {
  e2e_build_argocd || return
  e2e_build_kube || return
  e2e_build_kustomize || return
  e2e_build_eso
}

# Whether every binary of the current versions is in the cache (nothing to build).
e2e_built() {
  [[ -x "$E2E_BIN/argocd-$ARGOCD_VERSION" && -x "$E2E_BIN/kube-$KUBE_VERSION/kube-apiserver" \
     && -x "$E2E_BIN/kube-$KUBE_VERSION/kube-controller-manager" && -x "$E2E_BIN/kustomize-$KUSTOMIZE_VERSION" \
     && -x "$E2E_BIN/external-secrets-$ESO_VERSION-fake-password" ]]
}

# What the suite reads to find them (tests/e2e/cluster.py, Binaries.from_environ).
e2e_export_paths() {
  export E2E_ARGOCD="$E2E_BIN/argocd-$ARGOCD_VERSION"
  export E2E_KUBE_DIR="$E2E_BIN/kube-$KUBE_VERSION"
  export E2E_ESO="$E2E_BIN/external-secrets-$ESO_VERSION-fake-password"
  export E2E_KUSTOMIZE="$E2E_BIN/kustomize-$KUSTOMIZE_VERSION"
  export E2E_ARGOCD_CRDS="$E2E_CACHE/src/argo-cd-$ARGOCD_VERSION/manifests/crds"
  export E2E_ESO_CRDS="$E2E_CACHE/src/external-secrets-$ESO_VERSION/config/crds/bases"
  export E2E_VERSIONS="Argo CD $ARGOCD_VERSION, Kubernetes $KUBE_VERSION, ESO $ESO_VERSION (fake provider and Password generator), kustomize $KUSTOMIZE_VERSION"
}
