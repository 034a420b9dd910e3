"""map -> odom (REP 105) from ground truth and odometry, ROS-free."""

import math

import pytest

from edgebot_sim.frames import MapOdom, compose


def yaw_q(a):
    return (0.0, 0.0, math.sin(a / 2), math.cos(a / 2))


def test_before_odometry_odom_starts_where_the_rover_starts():
    mo = MapOdom()
    assert mo.transform() is None
    mo.truth(0.0, (1.0, 2.0, 0.05), yaw_q(0.5))
    mo.truth(0.1, (1.1, 2.0, 0.05), yaw_q(0.5))
    (x, y, z), q = mo.transform()
    assert (x, y, z) == pytest.approx((1.0, 2.0, 0.05)) and q == pytest.approx(yaw_q(0.5))


def test_map_odom_composed_with_odometry_gives_the_truth_at_the_odometry_stamp():
    mo = MapOdom()
    for k in range(50):  # the rover drives along map x, yawed 0.3
        mo.truth(k * 0.02, (1.0 + 0.01 * k, -1.0, 0.0), yaw_q(0.3))
    # the odometry (drifted: it thinks it went less far and turned less) at t = 0.5 s
    assert mo.odometry(0.5, (0.2, 0.0, 0.0), yaw_q(0.1))
    t, q = mo.transform()
    composed = compose((t, q), ((0.2, 0.0, 0.0), yaw_q(0.1)))
    assert composed[0] == pytest.approx((1.25, -1.0, 0.0), abs=1e-6)  # truth at k = 25
    assert composed[1] == pytest.approx(yaw_q(0.3), abs=1e-6)
    assert q == pytest.approx(yaw_q(0.2), abs=1e-6)  # the yaw drift


def test_bad_odometry_is_ignored_and_history_is_bounded():
    mo = MapOdom(history_s=1.0)
    for k in range(300):
        mo.truth(k * 0.02, (0.0, 0.0, 0.0), yaw_q(0.0))
    assert len(mo._t) <= 51
    assert not mo.odometry(1.0, (math.nan, 0.0, 0.0), yaw_q(0.0))
    assert not mo.odometry(1.0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))
    assert mo.transform()[0] == pytest.approx((0.0, 0.0, 0.0))
