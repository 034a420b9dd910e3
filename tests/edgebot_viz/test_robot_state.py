"""robot_state (ROS-free): the URDF's joints as robot_state_publisher computes them, with
yourdfpy; xacro files expanded; bad descriptions and joint states rejected with a reason."""

import math

import pytest

from edgebot_testing import ROOT
from edgebot_viz.robot_state import RobotState, UrdfError, read_description

URDF = """<robot name="arm">
  <link name="base_link"/><link name="wheel"/><link name="slider"/><link name="twin"/>
  <link name="sensor"/><link name="float"/>
  <joint name="wheel_joint" type="continuous"><parent link="base_link"/><child link="wheel"/>
    <origin xyz="0 0.1 0" rpy="0 0 1.5707963267948966"/><axis xyz="0 1 0"/></joint>
  <joint name="slide" type="prismatic"><parent link="base_link"/><child link="slider"/>
    <origin xyz="1 0 0"/><axis xyz="0 0 2"/><limit lower="0" upper="1" effort="1" velocity="1"/></joint>
  <joint name="twin_joint" type="continuous"><parent link="base_link"/><child link="twin"/>
    <axis xyz="0 0 1"/><mimic joint="wheel_joint" multiplier="-2" offset="0.5"/></joint>
  <joint name="sensor_joint" type="fixed"><parent link="base_link"/><child link="sensor"/>
    <origin xyz="0.1 0 0.2" rpy="0 0 3.141592653589793"/></joint>
  <joint name="free" type="floating"><parent link="base_link"/><child link="float"/></joint>
</robot>"""


def yaw(q):
    x, y, z, w = q
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def test_fixed_joints_are_static_with_the_prefix():
    rs = RobotState(URDF, frame_prefix="rover1/")
    st = {t.child: t for t in rs.static_transforms()}
    assert set(st) == {"rover1/sensor", "rover1/float"}  # floating = fixed, as kdl_parser
    s = st["rover1/sensor"]
    assert s.parent == "rover1/base_link" and s.translation == pytest.approx((0.1, 0, 0.2))
    assert abs(yaw(s.rotation)) == pytest.approx(math.pi) and s.rotation[3] >= 0
    assert rs.moving == ["wheel_joint", "slide", "twin_joint"]


def test_moving_joints_follow_positions_and_mimics():
    rs = RobotState(URDF)
    assert rs.moving_transforms() == []  # nothing known yet
    updated, rejected = rs.update(
        ["wheel_joint", "slide", "sensor_joint", "nope"], [0.3, 0.25, 9.0, 1.0]
    )
    assert updated == ["wheel_joint", "slide"] and rejected == []
    tf = {t.child: t for t in rs.moving_transforms()}
    assert tf["wheel"].translation == pytest.approx((0, 0.1, 0))
    # origin yaw 90 deg, then 0.3 rad about the joint's y axis: still yawed 90 deg
    assert yaw(tf["wheel"].rotation) == pytest.approx(math.pi / 2)
    assert tf["slider"].translation == pytest.approx((1, 0, 0.25))  # the axis normalised
    assert yaw(tf["twin"].rotation) == pytest.approx(-2 * 0.3 + 0.5)


def test_bad_joint_states_are_rejected_with_a_reason():
    rs = RobotState(URDF)
    assert rs.update(["wheel_joint"], []) == ([], ["1 names but 0 positions"])
    assert rs.update(["wheel_joint", "slide"], [math.nan, 0.1]) == (
        ["slide"],
        ["wheel_joint: position nan"],
    )
    assert "wheel_joint" not in rs.positions


def test_bad_descriptions_raise_urdf_error():
    for xml, what in (
        ("", "empty"),
        ("<robot", "not a valid URDF"),
        ('<robot name="r"><link name="a"/></robot>', "no joints"),
    ):
        with pytest.raises(UrdfError, match=what):
            RobotState(xml)


def test_the_rover_urdf_and_the_gazebo_xacro():
    rover = RobotState(read_description(str(ROOT / "urdf" / "edgebot_rover.urdf")))
    assert {t.child for t in rover.static_transforms()} == {
        "caster_link",
        "imu_link",
        "camera_link",
        "sonar_link",
    }
    assert rover.moving == ["left_wheel_joint", "right_wheel_joint"]
    gz = RobotState(read_description(str(ROOT / "urdf" / "edgebot_rover_gazebo.urdf.xacro")))
    assert set(gz.moving) == set(rover.moving)
    with pytest.raises(UrdfError, match="no such file"):
        read_description("/nonexistent/robot.urdf")
