#!/usr/bin/env bash
# The whole test suite: ruff (lint + format check), then pytest over tests/ (the gtests of
# edgebot_rt are run from a pytest test, so one summary line covers everything). Exits non-zero on failure and when no test ran.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The linter and the formatter check first (pyproject.toml): zero findings, or no tests.
ruff check . || { echo "run_tests: ruff check found problems (ruff check --fix . / see above)" >&2; exit 1; }
ruff format --check . || { echo "run_tests: files need formatting: ruff format ." >&2; exit 1; }
# No arguments (make test, CI): everything but the long campaigns, on two pytest-xdist workers
# (most tests wait on processes and DDS rather than compute, so two workers on two cores take
# about half the time); the whole-stack tests share one xdist_group and so never run side by
# side. Arguments (make test PYTEST_ARGS=..., make test-long): passed to pytest as given.
if [[ $# -eq 0 ]]; then
    set -- -m "not long" -n 2 --dist loadgroup
fi
python -m pytest "$@"
code=$?
if [[ $code -eq 5 ]]; then
    echo "run_tests: pytest collected no test -- failing" >&2
    exit 1
fi
exit $code
