#!/usr/bin/env bash
# Commit only the given paths (others' uncommitted work in the same checkout is left alone),
# serialised with a lock.   scripts/commit.sh "message" path1 path2 ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
msg="$1"; shift
exec 9>"$ROOT/.git/edgebot-commit.lock"
flock 9
git add -- "$@"
git commit -q -m "$msg" -- "$@"
git log --oneline -1
