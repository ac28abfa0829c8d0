#!/usr/bin/env bash
# Static scan with checkov, offline: the image's Dockerfile, Argo CD's repo-server Deployment as the
# argocd-patches component changes it, and everything mip-cmp renders from sample-repo/. Exits non-zero on
# any finding that .checkov.yaml does not skip (each skip there says why). Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/build" "$work/scan" "$work/output"

# 1. The sidecar as installed: the component over upstream's repo-server Deployment (a trimmed copy of
#    Argo CD's install.yaml), in the namespace a real install uses (examples/argocd does the same).
cp examples/argocd-preview/argocd-repo-server.yaml "$work/build/"
component=$("$bin/python" -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
    "$PWD/argocd-patches" "$work/build")
cat > "$work/build/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources: [argocd-repo-server.yaml]
components: [$component]
YAML
"$bin/kubectl" kustomize --load-restrictor LoadRestrictionsNone "$work/build" > "$work/scan/argocd-repo-server.yaml"

# 2. What Argo CD would apply: the root and every federation directory, both components.
"$bin/mip-cmp" render sample-repo > "$work/output/root.yaml"
for dir in sample-repo/federations/*/; do
    name=$(basename "$dir")
    "$bin/mip-cmp" render "$dir" > "$work/output/$name.yaml"
    # A federation none of whose apps needs a secret has no secrets component (exit 1, "nothing to render").
    if ! "$bin/mip-cmp" render "$dir" --param component=secrets > "$work/output/$name-secrets.yaml" \
            2> "$work/stderr"; then
        grep -q "nothing to render" "$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
        rm "$work/output/$name-secrets.yaml"
    fi
done

# Every scan runs, so one run lists every finding; any finding fails the script.
status=0
checkov() {
    "$bin/checkov" --config-file .checkov.yaml "$@" || status=1
}
checkov --framework dockerfile --file Dockerfile
checkov --framework kubernetes --file "$work/scan/argocd-repo-server.yaml"
checkov --framework kubernetes secrets --directory "$work/output"
if [ "$status" -ne 0 ]; then
    echo "checkov: findings above; fix them, or skip one in .checkov.yaml with the reason" >&2
    exit 1
fi
echo "checkov: no findings (skips and their reasons: .checkov.yaml)"
