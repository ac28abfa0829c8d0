#!/usr/bin/env bash
# A newcomer's first command: install what rendering needs (runtime dependencies only), check the sample
# repository, and render it the way Argo CD would: the repository root (the bootstrap Application's view)
# and every federation (its Applications, and its ExternalSecrets). The manifests go to build/sample-repo/,
# a summary to the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '==> [%3ss] %s\n' "$((SECONDS - start))" "$*" >&2; }

bash scripts/setup.sh
mip=.venv/bin/mip-cmp
out=build/sample-repo
rm -rf "$out" && mkdir -p "$out"

step "validating sample-repo/ (every mip.yaml, every app rendered)"
$mip validate sample-repo
step "rendering sample-repo/ into $out/"
$mip render sample-repo --revision main > "$out/root.yaml" 2> "$out/.stderr" || { cat "$out/.stderr" >&2; exit 1; }
for dir in sample-repo/federations/*/; do
  name=$(basename "$dir")
  $mip render "$dir" --revision main --param federation="$name" > "$out/$name.yaml" 2> "$out/.stderr" \
    || { cat "$out/.stderr" >&2; exit 1; }
  # A federation whose apps need no platform secret has no secrets component ("nothing to render").
  if ! $mip render "$dir" --revision main --param federation="$name" --param component=secrets \
      > "$out/$name-secrets.yaml" 2> "$out/.stderr"; then
    grep -q "nothing to render" "$out/.stderr" || { cat "$out/.stderr" >&2; exit 1; }
    rm "$out/$name-secrets.yaml"
  fi
done

rm -f "$out/.stderr"
for file in "$out"/*.yaml; do
  printf '%-40s %s\n' "$file" "$(grep '^kind:' "$file" | sort | uniq -c | awk '{printf "%s %s  ", $1, $3}')"
done
step "done: rendered the sample platform into $out/ (root.yaml is what the bootstrap Application applies)"
step "mip-cmp is .venv/bin/mip-cmp (not on your PATH): run it so, or 'source .venv/bin/activate' once per shell"
