"""edgebot real-time core (C++17, pybind11).

Pid, RateLimiter, DiffDriveKinematics, Odometry, Madgwick: plain algorithm classes.
BaseControlLoop: the base controller's fixed-rate C++ loop (commands in, wheel commands and
odometry out through a lock-free ring). LoopRunner: a bare fixed-rate loop for benchmarks.
"""

from edgebot_rt._edgebot_rt import (
    BaseControlLoop,
    DiffDriveKinematics,
    LoopRunner,
    Madgwick,
    Odometry,
    Pid,
    RateLimiter,
    monotonic_ns,
)

SAMPLE_FIELDS = ("t", "wl_cmd", "wr_cmd", "x", "y", "theta", "v", "w", "timed_out")

__all__ = [
    "BaseControlLoop",
    "DiffDriveKinematics",
    "LoopRunner",
    "Madgwick",
    "Odometry",
    "Pid",
    "RateLimiter",
    "monotonic_ns",
    "SAMPLE_FIELDS",
]
