#!/usr/bin/env bash
# The whole test suite: pytest over tests/ (the gtests of edgebot_rt are run from a pytest test,
# so one summary line covers everything). Exits non-zero on failure and when no test ran.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
python -m pytest "$@"
code=$?
if [[ $code -eq 5 ]]; then
    echo "run_tests: pytest collected no test -- failing" >&2
    exit 1
fi
exit $code
