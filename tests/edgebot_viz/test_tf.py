"""/tf and /tf_static on the pip-only path: tf2_msgs built in the workspace with upstream's type
hashes, state_publisher as a process read by a plain rclpy subscriber, the build's decision to
skip our tf2_msgs where ROS has one."""

import json
import math
import pathlib
import sys
import xml.etree.ElementTree as ET

from sensor_msgs.msg import JointState
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_testing import ROOT, wait_for
from tf2_msgs.msg import TFMessage

sys.path.insert(0, str(ROOT / "scripts"))
import vendored

ROVER = ROOT / "urdf" / "edgebot_rover.urdf"
#: RIHS01 of tf2_msgs/msg/TFMessage as upstream's generated code states it (ROS 2 Jazzy and
#: later; the same value appears as tf2_msgs__msg__TFMessage__EXPECTED_HASH in any generated
#: __description.c of a message that nests TFMessage).
UPSTREAM_TFMESSAGE = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"


def fixed_joints(path):
    root = ET.parse(path).getroot()
    return {
        (j.find("parent").get("link"), j.find("child").get("link"))
        for j in root.findall("joint")
        if j.get("type") == "fixed"
    }


def test_tfmessage_type_hash_is_upstreams():
    from ament_index_python.packages import get_package_share_directory
    from rosidl_generator_type_description import calculate_type_hash

    share = pathlib.Path(get_package_share_directory("tf2_msgs"))
    desc = json.loads((share / "msg" / "TFMessage.json").read_text())
    hashes = {h["type_name"]: h["hash_string"] for h in desc["type_hashes"]}
    assert hashes["tf2_msgs/msg/TFMessage"] == UPSTREAM_TFMESSAGE
    # recomputed from the type description as rosidl does, not only read back
    assert calculate_type_hash(desc["type_description_msg"]) == UPSTREAM_TFMESSAGE


def test_vendored_tf2_msgs_is_skipped_only_where_ros_has_one(tmp_path):
    ws_install = tmp_path / "ws" / "install"
    ours = ws_install / "tf2_msgs"
    ros = tmp_path / "opt" / "ros" / "jazzy"
    venv = tmp_path / "venv"
    for prefix in (ours, ros):
        (prefix / "share" / "tf2_msgs").mkdir(parents=True)
        (prefix / "share" / "tf2_msgs" / "package.xml").write_text("<package/>")
    venv.mkdir()
    pip_only = f"{ours}:{venv}"
    assert vendored.skipped(pip_only, str(ws_install)) == []  # our own build: keep building
    full = f"{ours}:{venv}:{ros}"
    assert vendored.skipped(full, str(ws_install)) == ["tf2_msgs"]
    assert vendored.provider("tf2_msgs", full, str(ws_install)) == str(ros.resolve())
    assert vendored.skipped("", str(ws_install)) == []


def test_state_publisher_tf_static_tf_and_description(procs, ros):
    static = ros.collect(TFMessage, "/tf_static", qos.LATCHED_READER)
    tf = ros.collect(TFMessage, "/tf", qos.TF)
    desc = ros.collect(String, "robot_description", qos.LATCHED)
    sp = procs.node(
        "edgebot_viz",
        "state_publisher",
        params={"robot_description_file": str(ROVER), "frame_prefix": "r1/"},
    )
    wait_for(lambda: static and desc, 60, what="/tf_static and robot_description (latched)")
    got = {(t.header.frame_id, t.child_frame_id) for t in static[0].transforms}
    assert got == {("r1/" + p, "r1/" + c) for p, c in fixed_joints(ROVER)}
    cam = next(t for t in static[0].transforms if t.child_frame_id == "r1/camera_link")
    assert (cam.transform.translation.x, cam.transform.translation.z) == (0.11, 0.075)
    assert desc[0].data == ROVER.read_text()
    info = ros.node.get_publishers_info_by_topic("/tf_static")
    assert [str(i.topic_type_hash) for i in info] == [UPSTREAM_TFMESSAGE]

    pub = ros.publisher(JointState, "joint_states", qos.SENSOR_DATA)

    def wheels_on_tf():
        pub.publish(
            JointState(name=["left_wheel_joint", "right_wheel_joint"], position=[math.pi / 2, 0.0])
        )
        for m in list(tf):
            for t in m.transforms:
                if t.child_frame_id == "r1/left_wheel" and abs(t.transform.rotation.y) > 0.5:
                    return t
        return None

    t = wait_for(wheels_on_tf, 60, interval=0.1, what="left wheel at 90 deg on /tf")
    assert t.header.frame_id == "r1/base_link"
    assert t.transform.rotation.y == pytest_approx(math.sin(math.pi / 4))
    assert t.transform.translation.y == 0.08
    # a non-finite position is rejected, counted and logged; the node goes on
    pub.publish(JointState(name=["left_wheel_joint"], position=[float("nan")]))
    sp.wait_output("bad_joint_state", timeout=30)
    assert sp.running()


def pytest_approx(v):
    import pytest

    return pytest.approx(v, abs=1e-9)


def test_state_publisher_configuration_errors(procs, tmp_path):
    none = procs.node("edgebot_viz", "state_publisher")
    assert none.wait(30) == 2
    assert "give exactly one of the two (got neither)" in none.output()
    bad = tmp_path / "bad.urdf"
    bad.write_text("<robot name='x'><joint")
    broken = procs.node(
        "edgebot_viz", "state_publisher", params={"robot_description_file": str(bad)}
    )
    assert broken.wait(30) == 2
    assert "parameter 'robot_description_file'" in broken.output()
    assert "not a valid URDF" in broken.output()


def test_vendored_tf2_msgs_builds_nothing_over_an_installed_one(tmp_path):
    """Whatever builds the workspace on a full ROS install (a plain `colcon build`, the
    Dockerfile), the stand-in configures nothing when another prefix has the real tf2_msgs --
    and does build where the only tf2_msgs on the path is its own earlier install."""
    import os
    import shutil
    import subprocess

    src = pathlib.Path(__file__).resolve().parents[2] / "src" / "tf2_msgs"
    ros = tmp_path / "opt" / "ros" / "jazzy"
    (ros / "share" / "tf2_msgs").mkdir(parents=True)
    (ros / "share" / "tf2_msgs" / "package.xml").write_text(
        "<package><name>tf2_msgs</name></package>"
    )
    env = dict(os.environ, AMENT_PREFIX_PATH=f"{tmp_path / 'venv'}:{ros}")
    out = subprocess.run(
        [shutil.which("cmake"), "-S", str(src), "-B", str(tmp_path / "build")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{ros} provides the real tf2_msgs; this stand-in builds nothing" in out.stdout
    assert not (tmp_path / "build" / "rosidl_generator_c").exists()
    # our own earlier install (the pip-only path's rebuild) is no reason to stop
    mine = tmp_path / "ws" / "install" / "tf2_msgs"
    (mine / "share" / "tf2_msgs").mkdir(parents=True)
    shutil.copy(src / "package.xml", mine / "share" / "tf2_msgs" / "package.xml")
    env["AMENT_PREFIX_PATH"] = f"{mine}:{os.environ.get('AMENT_PREFIX_PATH', '')}"
    out = subprocess.run(
        [shutil.which("cmake"), "-S", str(src), "-B", str(tmp_path / "build2")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Found ament_cmake" in out.stdout, out.stdout + out.stderr
    assert "builds nothing" not in out.stdout
