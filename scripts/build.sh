#!/usr/bin/env bash
# Build some packages of the workspace (all when none given), serialised with a lock so
# several developers' builds in one checkout do not trample each other.
#   scripts/build.sh edgebot_firmata edgebot_rt
set -eo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
set +u; source ./env.sh; set -u
sel=()
if (($#)); then sel=(--packages-select "$@"); fi
exec 9>"$ROOT/.build.lock"
flock 9
colcon build --symlink-install --base-paths src "${sel[@]}" \
    --cmake-args -DPython3_EXECUTABLE="$ROOT/.venv/bin/python" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    --event-handlers console_direct- summary+ $(python scripts/vendored.py)
