"""Quaternions and planar transforms, one convention: (x, y, z, w) as geometry_msgs/Quaternion
(ROS-free, no numpy: cheap enough to call per sample).

A quaternion ``q`` rotates vectors from a child frame into its parent frame (REP 103: x forward,
y left, z up; ZYX Euler angles: yaw, then pitch, then roll). Modules that keep another order
internally convert at their edge (``edgebot_imu.quat`` is the (w, x, y, z) view the IMU
chips and the Madgwick filter use).
"""

from __future__ import annotations

import math

Quat = tuple[float, float, float, float]  # (x, y, z, w)
Vec3 = tuple[float, float, float]
IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)


def multiply(a: Quat, b: Quat) -> Quat:
    """a ⊗ b: first rotate by b, then by a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def conjugate(q: Quat) -> Quat:
    return (-q[0], -q[1], -q[2], q[3])


def norm(q: Quat) -> float:
    return math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])


def normalize(q: Quat) -> Quat:
    n = norm(q)
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def rotate(q: Quat, v) -> Vec3:
    """q ⊗ v ⊗ q*: a child-frame vector in the parent frame."""
    x, y, z, w = q
    vx, vy, vz = v
    tx = 2.0 * (y * vz - z * vy)  # t = 2 cross(q.xyz, v)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return (
        vx + w * tx + (y * tz - z * ty),
        vy + w * ty + (z * tx - x * tz),
        vz + w * tz + (x * ty - y * tx),
    )


def rotate_inverse(q: Quat, v) -> Vec3:
    """A parent-frame vector in the child frame."""
    return rotate(conjugate(q), v)


def from_rpy(roll: float, pitch: float, yaw: float) -> Quat:
    """ZYX: yaw about z, then pitch about the new y, then roll about the new x (REP 103)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def to_rpy(q: Quat) -> Vec3:
    """(roll, pitch, yaw) in radians; pitch clamped to ±90° at the singularity."""
    x, y, z, w = q
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def from_yaw(yaw: float) -> Quat:
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def to_yaw(q: Quat) -> float:
    x, y, z, w = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def from_rotation_vector(rx: float, ry: float, rz: float) -> Quat:
    """Axis * angle [rad] -> quaternion (small angles without division by ~0)."""
    a = math.sqrt(rx * rx + ry * ry + rz * rz)
    if a < 1e-12:
        return (rx / 2, ry / 2, rz / 2, 1.0)
    s = math.sin(a / 2) / a
    return (rx * s, ry * s, rz * s, math.cos(a / 2))


def angle_between(a: Quat, b: Quat) -> float:
    """Rotation angle [rad] from one orientation to the other (q and -q are the same)."""
    d = abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
    d /= (norm(a) * norm(b)) or 1.0
    return 2.0 * math.acos(min(1.0, d))


def wrap_angle(a: float) -> float:
    """Wrap to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def xyzw_from_wxyz(q) -> Quat:
    return (q[1], q[2], q[3], q[0])


def wxyz_from_xyzw(q) -> tuple[float, float, float, float]:
    return (q[3], q[0], q[1], q[2])
