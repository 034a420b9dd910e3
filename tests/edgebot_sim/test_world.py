"""The PyBullet world: motion, determinism, and the readings behind the virtual devices."""

import math

import numpy as np
import pytest

from edgebot_common import objects
from edgebot_sim import scenario as S
from edgebot_sim.world import SimWorld


def make(**over):
    data = {
        "floor": {"size": [6.0, 6.0], "wall_height": 0.3},
        "start": {"x": -1.0, "y": 0.0, "yaw": 0.0},
        "target": {"class": "ball", "x": 1.5, "y": 0.0},
    }
    data.update(over)
    return SimWorld(S.parse(data, "test.yaml"))


@pytest.fixture
def world():
    w = make()
    yield w
    w.close()


def trajectory(seed, steps=720):
    s = S.load("open_field").resolved(seed)
    w = SimWorld(s)
    out = []
    try:
        for k in range(steps):
            t = k / 240
            w.set_wheel_velocity(6.0 + 3 * math.sin(t), 6.0 - 3 * math.sin(2 * t))
            w.step()
            if k % 24 == 0:
                out.append(w.pose2d())
    finally:
        w.close()
    return np.array(out)


def test_drive_straight_and_turn(world):
    x0, y0, _ = world.pose2d()
    world.set_wheel_velocity(8.0, 8.0)
    world.step(480)  # 2 s at 8 rad/s * 0.033 m = 0.264 m/s
    x1, y1, yaw1 = world.pose2d()
    assert 0.4 < x1 - x0 < 0.6 and abs(y1 - y0) < 0.05 and abs(yaw1) < 0.05
    pos, vel = world.wheel_states()
    assert all(abs(v - 8.0) < 0.5 for v in vel) and all(p > 10 for p in pos)
    world.set_wheel_velocity(-4.0, 4.0)  # spin left (counter-clockwise)
    world.step(240)
    _, _, yaw2 = world.pose2d()
    assert yaw2 > 0.5
    assert world.time == pytest.approx(720 / 240)


def test_same_seed_same_trajectory_other_seed_differs():
    a, b, c = trajectory(7), trajectory(7), trajectory(8)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.01


def test_imu_reads_gravity_at_rest_and_yaw_rate_when_turning(world):
    world.step(120)
    f, g, q = world.imu()
    assert abs(f[2] - 9.81) < 0.1 and abs(f[0]) < 0.1 and abs(f[1]) < 0.1
    assert max(abs(v) for v in g) < 0.01
    world.set_wheel_velocity(-5.0, 5.0)
    world.step(240)
    f, g, q = world.imu()
    # yaw rate of a diff drive: r * (wr - wl) / separation = 0.033 * 10 / 0.16 = 2.06 rad/s
    assert 1.5 < g[2] < 2.3
    # forward acceleration shows up on x while speeding up
    world.set_wheel_velocity(0.0, 0.0)
    world.step(240)
    world.set_wheel_velocity(10.0, 10.0)
    world.step(5)
    f, _, _ = world.imu()
    assert f[0] > 0.5


def test_sonar_ranges_to_the_wall_and_obstacles():
    w = make(obstacles=[{"shape": "box", "x": 0.0, "y": 0.0, "size": [0.2, 1.0, 0.2]}])
    try:
        w.step(10)
        # sonar_link is 0.125 m ahead of base_link (x=-1.0); the box face is at x=-0.1
        assert w.sonar_range() == pytest.approx(-0.1 - (-1.0 + 0.125), abs=0.02)
        assert w.obstacle_clearance() == pytest.approx(-0.1 - (-1.0 + 0.12), abs=0.03)
    finally:
        w.close()
    w = make(start={"x": 0.0, "y": 0.0, "yaw": math.pi / 2})  # facing the +y wall at 3.0
    try:
        w.step(10)
        assert w.sonar_range() == pytest.approx(3.0 - 0.125, abs=0.03)
    finally:
        w.close()


def test_camera_sees_the_target_in_its_colour(world):
    img = world.render()
    assert img.shape == (objects.CAMERA_HEIGHT, objects.CAMERA_WIDTH, 3) and img.dtype == np.uint8
    r, g, b = (img[..., i].astype(int) for i in range(3))
    red = (r > 150) & (g < 80) & (b < 80)  # the ball: rgba (0.9, 0.1, 0.1)
    ys, xs = np.nonzero(red)
    assert len(xs) > 30
    assert abs(xs.mean() - objects.CAMERA_WIDTH / 2) < 15  # straight ahead: image centre
    # apparent width matches the 60 deg HFOV pinhole model: f = (w/2)/tan(30 deg)
    f = (objects.CAMERA_WIDTH / 2) / math.tan(math.radians(30))
    dist = 1.5 - (-1.0 + 0.11)
    expected = 2 * 0.10 * f / dist
    assert abs((xs.max() - xs.min() + 1) - expected) < 0.25 * expected


def test_every_object_class_renders():
    w = make(
        distractors=[{"class": "cone", "x": 0.3, "y": 0.35}, {"class": "box", "x": 0.3, "y": -0.35}]
    )
    try:
        img = w.render().astype(int)
        for cls in objects.CLASSES:
            col = np.array(cls.rgba[:3]) * 255
            # lit colour stays close in hue: pick pixels near the (scaled) colour direction
            norm = img / np.maximum(img.sum(-1, keepdims=True), 1)
            ref = col / col.sum()
            close = (np.abs(norm - ref).sum(-1) < 0.12) & (img.sum(-1) > 120)
            assert close.sum() > 50, cls.name
    finally:
        w.close()


def test_bumping_into_an_obstacle_is_a_contact():
    w = make(obstacles=[{"shape": "box", "x": -0.5, "y": 0.0, "size": [0.2, 1.0, 0.3]}])
    try:
        w.step(10)
        assert not w.in_contact()  # standing on the floor is no contact
        w.set_wheel_velocity(8.0, 8.0)
        for _ in range(10 * 240):
            w.step()
            if w.in_contact():
                break
        assert w.in_contact() and w.obstacle_clearance() < 0.01
    finally:
        w.close()


def test_reach_and_target_distance():
    w = make(target={"class": "box", "x": 0.0, "y": 0.0, "reach_distance": 0.3})
    try:
        assert not w.reached()
        d0 = w.target_distance()
        w.set_wheel_velocity(8.0, 8.0)
        for _ in range(20 * 240):
            w.step()
            if w.reached():
                break
        assert w.reached() and w.target_distance() < d0
    finally:
        w.close()
