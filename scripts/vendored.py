#!/usr/bin/env python3
"""Which of the workspace's stand-in packages colcon must skip because the environment has the
real one (a full ROS install): prints ``--packages-skip <names>`` or nothing.

``src/tf2_msgs`` exists only because no tf2_msgs wheel does; where ROS provides tf2_msgs
(``<prefix>/share/tf2_msgs/package.xml`` on AMENT_PREFIX_PATH, outside this workspace's
``install/``), building ours would shadow it. Used by scripts/setup.sh and scripts/build.sh.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Sequence

#: packages of src/ that stand in for a ROS package missing on the pip-only path
VENDORED = ("tf2_msgs",)


def provider(pkg: str, ament_prefix_path: str, workspace_install: str) -> str | None:
    """The prefix outside ``workspace_install`` that installs ``pkg``, or None."""
    ours = pathlib.Path(workspace_install).resolve()
    for prefix in filter(None, ament_prefix_path.split(os.pathsep)):
        p = pathlib.Path(prefix).resolve()
        if p == ours or ours in p.parents:
            continue
        if (p / "share" / pkg / "package.xml").is_file():
            return str(p)
    return None


def skipped(
    ament_prefix_path: str, workspace_install: str, packages: Sequence[str] = VENDORED
) -> list[str]:
    return [p for p in packages if provider(p, ament_prefix_path, workspace_install)]


def main(argv=None) -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    names = skipped(os.environ.get("AMENT_PREFIX_PATH", ""), str(root / "install"))
    if names:
        print("--packages-skip " + " ".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
