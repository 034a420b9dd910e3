"""Reference differential-drive kinematics and odometry against known motions."""

import math

import pytest

from edgebot_common.params import ParameterError
from edgebot_control import kinematics as k

R, L = 0.033, 0.16


def test_straight_and_spin():
    wl, wr = k.twist_to_wheels(0.33, 0.0, R, L)
    assert wl == pytest.approx(10.0) and wr == pytest.approx(10.0)
    wl, wr = k.twist_to_wheels(0.0, 1.0, R, L)
    assert wl == pytest.approx(-0.08 / R) and wr == pytest.approx(0.08 / R)
    for v, w in ((0.2, 0.5), (-0.1, -1.3), (0.0, 0.0)):
        assert k.wheels_to_twist(*k.twist_to_wheels(v, w, R, L), R, L) == pytest.approx((v, w))


def test_integrated_circle_and_line():
    x = y = th = 0.0
    n = 2000
    dt = 2 * math.pi / 0.5 / n
    for _ in range(n):  # one full circle of radius 0.4, exact arcs close it
        x, y, th = k.integrate(x, y, th, 0.2, 0.5, dt)
    assert (x, y) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert k.wrap_angle(th) == pytest.approx(0.0, abs=1e-9)
    x, y, th = 0.0, 0.0, math.pi / 2
    for _ in range(100):
        x, y, th = k.integrate(x, y, th, 0.5, 0.0, 0.01)
    assert (x, y) == pytest.approx((0.0, 0.5), abs=1e-12)


def test_quaternion_roundtrip():
    for yaw in (-3.0, -0.5, 0.0, 1.0, 3.1):
        assert k.quaternion_to_yaw(*k.yaw_to_quaternion(yaw)) == pytest.approx(yaw)


def test_cross_parameter_checks():
    ok = dict(
        rate_hz=200.0,
        publish_rate_hz=50.0,
        max_linear=0.5,
        wheel_radius=0.033,
        max_wheel_speed=20.0,
    )
    k.limit_check(ok)
    with pytest.raises(ParameterError, match="publish_rate_hz"):
        k.limit_check({**ok, "publish_rate_hz": 500.0})
    with pytest.raises(ParameterError, match="max_wheel_speed"):
        k.limit_check({**ok, "max_wheel_speed": 5.0})
