"""Small quaternion helpers on (w, x, y, z) tuples (ROS-free, no numpy: called per sample).

Orientation quaternions rotate vectors from the sensor (body) frame into the world frame
(ENU, z up), as sensor_msgs/Imu and REP 103 use them.
"""
from __future__ import annotations

import math
from typing import Tuple

Quat = Tuple[float, float, float, float]
IDENTITY: Quat = (1.0, 0.0, 0.0, 0.0)


def mul(a: Quat, b: Quat) -> Quat:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw)


def conj(q: Quat) -> Quat:
    return (q[0], -q[1], -q[2], -q[3])


def norm(q: Quat) -> float:
    return math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])


def normalize(q: Quat) -> Quat:
    n = norm(q)
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def rotate(q: Quat, v) -> Tuple[float, float, float]:
    """q ⊗ v ⊗ q* : body vector -> world vector."""
    w, x, y, z = q
    vx, vy, vz = v
    # t = 2 * cross(q.xyz, v)
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return (vx + w * tx + (y * tz - z * ty),
            vy + w * ty + (z * tx - x * tz),
            vz + w * tz + (x * ty - y * tx))


def rotate_inv(q: Quat, v) -> Tuple[float, float, float]:
    """world vector -> body vector."""
    return rotate(conj(q), v)


def from_euler(roll: float, pitch: float, yaw: float) -> Quat:
    """ZYX (yaw, then pitch, then roll) as in REP 103."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy)


def to_euler(q: Quat) -> Tuple[float, float, float]:
    """(roll, pitch, yaw) in radians."""
    w, x, y, z = q
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    s = max(-1.0, min(1.0, 2 * (w * y - z * x)))
    pitch = math.asin(s)
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def from_rotvec(rx: float, ry: float, rz: float) -> Quat:
    a = math.sqrt(rx * rx + ry * ry + rz * rz)
    if a < 1e-12:
        return (1.0, rx / 2, ry / 2, rz / 2)
    s = math.sin(a / 2) / a
    return (math.cos(a / 2), rx * s, ry * s, rz * s)


def angle_deg(a: Quat, b: Quat) -> float:
    """Rotation angle between two orientations, degrees (sign of q ignored)."""
    d = abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
    d /= (norm(a) * norm(b)) or 1.0
    return math.degrees(2.0 * math.acos(min(1.0, d)))


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
