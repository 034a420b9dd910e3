"""Where the latched e-stop lives across a safety_monitor restart (ROS-free).

The e-stop is latched state of the robot, not of one process: a monitor that crashes, is
killed or respawned while the e-stop is engaged must come back engaged. Topics cannot carry it
(a transient-local sample dies with its writer), so safety_monitor keeps it in a small file
(parameter ``estop_state_file``), written atomically on every change and read at start:

    {"estop": true, "changed_at": 1796057711.69, "by": "service"}

Reading is fail-safe: a file that exists but cannot be read or parsed counts as engaged (the
operator releases it through the service as usual). No file means "never engaged here".
"""

from __future__ import annotations

import json
import os
import time


def read(path: str) -> tuple[bool | None, str]:
    """(engaged or None when there is no file, a note for the log)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None, "no latched e-stop state"
    except OSError as e:
        return True, f"cannot read {path} ({e}): e-stop engaged to be safe"
    try:
        d = json.loads(text)
        v = d["estop"]
        if not isinstance(v, bool):
            raise ValueError(f"'estop' is {v!r}, not true/false")
    except (ValueError, KeyError, TypeError) as e:
        return True, f"{path} is not a valid e-stop state ({e}): e-stop engaged to be safe"
    return v, f"latched e-stop {'ENGAGED' if v else 'released'} (from {path})"


def write(path: str, engaged: bool, by: str = "") -> None:
    """Atomically (a reader never sees half a file); the folder is created if needed."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({"estop": bool(engaged), "changed_at": time.time(), "by": by}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
