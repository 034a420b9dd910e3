#!/usr/bin/env bash
# Runs every benchmarks/bench_*.py; each prints its figures and writes benchmarks/results/<name>.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p benchmarks/results
status=0
for b in benchmarks/bench_*.py; do
    echo "=== $b"
    python "$b" || { echo "benchmark failed: $b" >&2; status=1; }
done
exit $status
