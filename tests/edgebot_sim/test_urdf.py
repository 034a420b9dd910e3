"""The demo rover's URDF parses with a URDF library and has what the simulator and the
control nodes rely on."""

import pathlib
import xml.etree.ElementTree as ET

import numpy as np
import yourdfpy

ROOT = pathlib.Path(__file__).resolve().parents[2]
URDF = ROOT / "urdf" / "edgebot_rover.urdf"


def load():
    return yourdfpy.URDF.load(str(URDF), build_scene_graph=True, load_meshes=False)


def test_parses_and_has_the_frames():
    robot = load()
    assert robot.validate()
    links = set(robot.link_map)
    for name in (
        "base_link",
        "imu_link",
        "camera_link",
        "sonar_link",
        "left_wheel",
        "right_wheel",
        "caster_link",
    ):
        assert name in links, name
    assert robot.base_link == "base_link"
    assert robot.joint_map["left_wheel_joint"].type == "continuous"
    assert robot.joint_map["right_wheel_joint"].type == "continuous"
    assert set(robot.actuated_joint_names) == {"left_wheel_joint", "right_wheel_joint"}


def test_inertias_and_collisions():
    robot = load()
    for name, link in robot.link_map.items():
        assert link.inertial is not None, name
        assert link.inertial.mass > 0, name
        inertia = np.asarray(link.inertial.inertia)
        assert np.all(np.linalg.eigvalsh(inertia) > 0), name
        # triangle inequality of principal moments (physically possible body)
        a, b, c = sorted(np.linalg.eigvalsh(inertia))
        assert a + b >= c * 0.999, name
    for name in ("base_link", "left_wheel", "right_wheel", "caster_link"):
        assert robot.link_map[name].collisions, f"{name} has no collision shape"


def test_differential_drive_geometry():
    robot = load()
    left = robot.joint_map["left_wheel_joint"]
    right = robot.joint_map["right_wheel_joint"]
    np.testing.assert_allclose(left.axis, [0, 1, 0])
    np.testing.assert_allclose(right.axis, [0, 1, 0])
    ly = left.origin[1, 3]
    ry = right.origin[1, 3]
    assert abs((ly - ry) - 0.160) < 1e-9  # wheel separation the controllers use
    r = robot.link_map["left_wheel"].collisions[0].geometry.cylinder.radius
    assert abs(r - 0.033) < 1e-9  # wheel radius the controllers use
    # the sensors look forward from the front half of the rover
    fk = {n: robot.get_transform(n, "base_link") for n in ("camera_link", "sonar_link")}
    assert fk["camera_link"][0, 3] > 0.05 and fk["sonar_link"][0, 3] > 0.1
    # the caster touches the floor where the wheels do: base_link sits on the axle
    caster = robot.joint_map["caster_joint"].origin[2, 3]
    cr = robot.link_map["caster_link"].collisions[0].geometry.sphere.radius
    assert abs((caster - cr) - (-r)) < 1e-9


def test_plain_xml_is_also_valid_for_xacro_free_tools():
    root = ET.parse(URDF).getroot()
    assert root.tag == "robot" and root.get("name") == "edgebot_rover"
