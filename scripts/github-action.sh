#!/usr/bin/env bash
# The steps of action.yml (GitHub Actions composite action), runnable and tested on their own.
# Inputs come as INPUT_PATH, INPUT_DIFF, INPUT_BASE, INPUT_COMMENT; GitHub sets GITHUB_ACTION_PATH,
# GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_BASE_REF, RUNNER_TEMP. MIP_CMP names an installed mip-cmp to
# use instead of installing this checkout (tests do that).
set -euo pipefail
path=${INPUT_PATH:-.}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
output=${GITHUB_OUTPUT:-/dev/null}

mip=${MIP_CMP:-}
if [ -z "$mip" ]; then
    venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mip-cmp-venv"
    echo "::group::install mip-cmp from ${GITHUB_ACTION_PATH:?}"
    python -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"
    echo "::endgroup::"
    mip="$venv/bin/mip-cmp"
fi

# Annotations on stdout (paths from the git root, so GitHub finds the files); the count on stderr.
status=0
"$mip" validate "$path" --format github || status=$?
if [ "$status" -eq 0 ]; then
    echo "valid=true" >> "$output"
    echo "mip-cmp: every mip.yaml under \`$path\` is valid." >> "$summary"
else
    echo "valid=false" >> "$output"
    echo "mip-cmp: \`mip-cmp validate $path\` found problems (see the annotations)." >> "$summary"
fi

base=${INPUT_BASE:-}
if [ -z "$base" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
    base="origin/$GITHUB_BASE_REF"
fi
if [ "${INPUT_DIFF:-true}" = "true" ] && [ "$status" -eq 0 ] && [ -n "$base" ]; then
    if "$mip" diff --help >/dev/null 2>&1; then
        report="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mip-cmp-diff.md"
        errors="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mip-cmp-diff.err"
        diff_status=0
        "$mip" diff "$path" --from "$base" --format markdown > "$report" 2> "$errors" || diff_status=$?
        if [ "$diff_status" -eq 0 ]; then
            echo "::group::mip-cmp diff against $base"
            cat "$report"
            echo "::endgroup::"
            cat "$report" >> "$summary"
            if [ "${INPUT_COMMENT:-false}" = "true" ] && [ -n "${PR_NUMBER:-}" ]; then
                gh pr comment "$PR_NUMBER" --edit-last --body-file "$report" 2>/dev/null \
                    || gh pr comment "$PR_NUMBER" --body-file "$report"
            fi
        else
            cat "$errors" >&2
            # Say what went wrong; only an unknown base revision is a matter of checkout depth.
            reason=$(head -n 1 "$errors")
            hint=
            if grep -qiE "unknown revision|bad revision|not a valid object|ambiguous argument" "$errors"; then
                hint=" Is the base fetched (actions/checkout with fetch-depth: 0)?"
            fi
            echo "::warning::mip-cmp diff against $base failed (exit $diff_status): ${reason}${hint}"
        fi
    else
        echo "mip-cmp: this version has no \`diff\` command; skipping the diff." >&2
    fi
fi
exit "$status"
