"""Differential-drive kinematics and odometry in plain Python (ROS-free).

The base controller runs these in C++ (``edgebot_rt``); this module is the reference the tests
check the C++ loop against, and holds the small helpers the node needs (yaw quaternion,
parameter cross-checks).
"""

from __future__ import annotations

import math

from edgebot_common import transforms as T


def twist_to_wheels(v: float, w: float, radius: float, separation: float) -> tuple[float, float]:
    """Body twist (m/s, rad/s) -> wheel angular speeds (rad/s), left and right."""
    return (v - w * separation / 2.0) / radius, (v + w * separation / 2.0) / radius


def wheels_to_twist(wl: float, wr: float, radius: float, separation: float) -> tuple[float, float]:
    """Wheel angular speeds (rad/s) -> body twist (m/s, rad/s)."""
    return radius * (wr + wl) / 2.0, radius * (wr - wl) / separation


def integrate(x: float, y: float, theta: float, v: float, w: float, dt: float):
    """One odometry step with the exact arc (midpoint rule when w is ~0)."""
    if abs(w) < 1e-9:
        th_mid = theta + w * dt / 2.0
        return x + v * dt * math.cos(th_mid), y + v * dt * math.sin(th_mid), theta + w * dt
    r = v / w
    th2 = theta + w * dt
    return x + r * (math.sin(th2) - math.sin(theta)), y - r * (math.cos(th2) - math.cos(theta)), th2


def wrap_angle(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))


#: (x, y, z, w) of a rotation about z (edgebot_common.transforms: the one quaternion helper)
yaw_to_quaternion = T.from_yaw


def quaternion_to_yaw(x: float, y: float, z: float, w: float) -> float:
    return T.to_yaw((x, y, z, w))


def limit_check(p: dict) -> None:
    """Cross-parameter checks of the base controller; raises ParameterError naming one."""
    from edgebot_common.params import ParameterError, require_order

    require_order(p, "publish_rate_hz", "rate_hz")
    # the wheel limit must allow the linear limit, or max_linear could never be reached
    need = p["max_linear"] / p["wheel_radius"]
    if p["max_wheel_speed"] < need:
        raise ParameterError(
            "max_wheel_speed",
            p["max_wheel_speed"],
            f"must be >= max_linear / wheel_radius ({need:.3g} rad/s)",
        )
