#!/bin/bash
# Sources the workspace (full ROS image: /opt/ros + /opt/edgebot; pip image: env.sh) and runs
# the command (default: the demo launch file).
set -e
if [ -f /opt/edgebot/env.sh ]; then
    # shellcheck disable=SC1091
    source /opt/edgebot/env.sh
else
    # shellcheck disable=SC1090
    source "/opt/ros/${ROS_DISTRO}/setup.bash"
    # shellcheck disable=SC1091
    source /opt/edgebot/setup.bash
fi
exec "$@"
