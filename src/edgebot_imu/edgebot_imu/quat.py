"""The IMU's (w, x, y, z) view of :mod:`edgebot_common.transforms` (which is (x, y, z, w), as
geometry_msgs). The chips' quaternion registers and the Madgwick filter are w-first, so the
IMU package keeps that order inside and converts only where a message is filled; the math is
written once, in ``edgebot_common.transforms``.

Orientation quaternions rotate vectors from the sensor (body) frame into the world frame
(ENU, z up), as sensor_msgs/Imu and REP 103 use them.
"""

from __future__ import annotations

import math

from edgebot_common import transforms as T

Quat = tuple[float, float, float, float]  # (w, x, y, z)
IDENTITY: Quat = (1.0, 0.0, 0.0, 0.0)

_x = T.xyzw_from_wxyz
_w = T.wxyz_from_xyzw


def mul(a: Quat, b: Quat) -> Quat:
    return _w(T.multiply(_x(a), _x(b)))


def conj(q: Quat) -> Quat:
    return (q[0], -q[1], -q[2], -q[3])


norm = T.norm  # order-independent


def normalize(q: Quat) -> Quat:
    return T.normalize(q)  # order-independent


def rotate(q: Quat, v) -> tuple[float, float, float]:
    """q ⊗ v ⊗ q* : body vector -> world vector."""
    return T.rotate(_x(q), v)


def rotate_inv(q: Quat, v) -> tuple[float, float, float]:
    """world vector -> body vector."""
    return T.rotate_inverse(_x(q), v)


def from_euler(roll: float, pitch: float, yaw: float) -> Quat:
    """ZYX (yaw, then pitch, then roll) as in REP 103."""
    return _w(T.from_rpy(roll, pitch, yaw))


def to_euler(q: Quat) -> tuple[float, float, float]:
    """(roll, pitch, yaw) in radians."""
    return T.to_rpy(_x(q))


def from_rotvec(rx: float, ry: float, rz: float) -> Quat:
    return _w(T.from_rotation_vector(rx, ry, rz))


def angle_deg(a: Quat, b: Quat) -> float:
    """Rotation angle between two orientations, degrees (sign of q ignored)."""
    return math.degrees(T.angle_between(a, b))  # order-independent


def tilt_deg(a: Quat, b: Quat) -> float:
    """Angle between the two orientations' z axes (roll/pitch error, yaw ignored), degrees."""
    za = rotate_inv(a, (0.0, 0.0, 1.0))
    zb = rotate_inv(b, (0.0, 0.0, 1.0))
    d = za[0] * zb[0] + za[1] * zb[1] + za[2] * zb[2]
    return math.degrees(math.acos(max(-1.0, min(1.0, d))))


def yaw_diff_deg(a: Quat, b: Quat) -> float:
    """Heading of a minus heading of b, wrapped to (-180, 180]."""
    d = math.degrees(to_euler(a)[2] - to_euler(b)[2])
    return (d + 180.0) % 360.0 - 180.0
