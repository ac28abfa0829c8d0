#!/usr/bin/env bash
# A longer run of the security fuzz properties (tests/security/test_fuzz.py) than CI's fixed budget.
#   MIP_FUZZ_EXAMPLES  examples per property (default here: 20000; CI uses the counts in the test file)
#   MIP_FUZZ_RANDOM    1 (default here): fresh random examples each run; 0: CI's fixed, derandomized ones
# Extra arguments go to pytest, e.g. `bash scripts/fuzz.sh -k template -n 4`.
# A failure prints the smallest failing input and a @reproduce_failure line to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
export MIP_FUZZ_EXAMPLES="${MIP_FUZZ_EXAMPLES:-20000}"
export MIP_FUZZ_RANDOM="${MIP_FUZZ_RANDOM:-1}"
exec .venv/bin/pytest tests/security/test_fuzz.py -p no:cacheprovider --hypothesis-show-statistics "$@"
