#!/bin/bash
# ExecStart of edgebot.service: a shell with the workspace, then the launch file.
set -euo pipefail
cd "$(dirname "$0")/../.."
set +u
# shellcheck disable=SC1091
source ./env.sh
set -u
# shellcheck disable=SC2086
exec edgebot launch edgebot_bringup "${EDGEBOT_LAUNCH:-robot.launch.yaml}" ${EDGEBOT_LAUNCH_ARGS:-}
