"""edgebot_common.transforms: (x, y, z, w) quaternions against geometry facts, and the IMU's
(w, x, y, z) view agreeing with it."""

import math
import random

import pytest

from edgebot_common import transforms as T
from edgebot_imu import quat as Q


def close(a, b, tol=1e-12):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_yaw_rotates_x_to_y_and_round_trips():
    q = T.from_yaw(math.pi / 2)
    assert close(q, (0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)))
    assert close(T.rotate(q, (1.0, 0.0, 0.0)), (0.0, 1.0, 0.0))  # x forward -> y left
    assert close(T.rotate_inverse(q, (0.0, 1.0, 0.0)), (1.0, 0.0, 0.0))
    assert T.to_yaw(q) == pytest.approx(math.pi / 2)
    assert close(T.from_rpy(0.0, 0.0, 0.3), T.from_yaw(0.3))
    assert T.IDENTITY == (0.0, 0.0, 0.0, 1.0)


def test_rpy_round_trip_and_zyx_order():
    r = random.Random(1)
    for _ in range(500):
        rpy = (r.uniform(-3, 3), r.uniform(-1.5, 1.5), r.uniform(-3, 3))
        assert close(T.to_rpy(T.from_rpy(*rpy)), rpy, 1e-9)
        # ZYX: yaw ⊗ pitch ⊗ roll
        q = T.multiply(
            T.from_yaw(rpy[2]), T.multiply(T.from_rpy(0, rpy[1], 0), T.from_rpy(rpy[0], 0, 0))
        )
        assert close(q, T.from_rpy(*rpy), 1e-12)


def test_multiply_composes_rotations_and_conjugate_inverts():
    r = random.Random(2)
    for _ in range(500):
        a = T.normalize(tuple(r.uniform(-1, 1) for _ in range(4)))
        b = T.normalize(tuple(r.uniform(-1, 1) for _ in range(4)))
        v = tuple(r.uniform(-5, 5) for _ in range(3))
        assert close(T.rotate(T.multiply(a, b), v), T.rotate(a, T.rotate(b, v)), 1e-9)
        assert close(T.multiply(a, T.conjugate(a)), T.IDENTITY, 1e-12)
        assert T.angle_between(a, tuple(-c for c in a)) == pytest.approx(0.0, abs=1e-6)
    assert T.angle_between(T.IDENTITY, T.from_yaw(0.5)) == pytest.approx(0.5)
    assert close(T.from_rotation_vector(0, 0, 0.5), T.from_yaw(0.5))
    assert T.wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)


def test_imu_wxyz_view_is_the_same_math():
    q_xyzw = T.from_rpy(0.1, -0.2, 0.3)
    q_wxyz = Q.from_euler(0.1, -0.2, 0.3)
    assert close(T.wxyz_from_xyzw(q_xyzw), q_wxyz)
    assert close(T.xyzw_from_wxyz(q_wxyz), q_xyzw)
    v = (0.3, -1.0, 2.0)
    assert close(Q.rotate(q_wxyz, v), T.rotate(q_xyzw, v))
    assert Q.IDENTITY == (1.0, 0.0, 0.0, 0.0)
