"""The Gazebo path (full ROS 2 installs) cannot run here; its files are checked: the world
parses and matches the open_field scenario, the bridge maps real message types under the
project's topic names, the Gazebo xacro expands to the same robot, the launch file is valid
YAML launch."""

import importlib
import pathlib
import xml.etree.ElementTree as ET

import xacro
import yaml
import yourdfpy

from edgebot_sim import scenario as S

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_world_matches_the_open_field_scenario():
    world = ET.parse(ROOT / "config" / "gazebo" / "open_field.sdf").getroot().find("world")
    models = {m.get("name"): m for m in world.findall("model")}
    s = S.load("open_field")
    pose = lambda m: [float(v) for v in m.find("pose").text.split()]  # noqa: E731
    assert pose(models["target_ball"])[:2] == [s.target.x, s.target.y]
    assert pose(models["obstacle_box"])[:2] == [s.obstacles[0].x, s.obstacles[0].y]
    assert pose(models["obstacle_cylinder"])[:2] == [s.obstacles[1].x, s.obstacles[1].y]
    assert pose(models["distractor_cone"])[:2] == [s.distractors[0].x, s.distractors[0].y]
    assert pose(models["distractor_box"])[:2] == [s.distractors[1].x, s.distractors[1].y]
    step = float(world.find("physics/max_step_size").text)
    assert abs(step - 1 / 240) < 1e-6


def test_bridge_uses_real_types_and_project_topics():
    entries = yaml.safe_load((ROOT / "config" / "gazebo" / "bridge.yaml").read_text())
    topics = {e["ros_topic_name"] for e in entries}
    assert {
        "/clock",
        "cmd_vel",
        "odom",
        "wheel_states",
        "imu/data_raw",
        "camera/image_raw",
    } <= topics
    for e in entries:
        assert set(e) == {
            "ros_topic_name",
            "gz_topic_name",
            "ros_type_name",
            "gz_type_name",
            "direction",
        }, e
        assert e["direction"] in ("GZ_TO_ROS", "ROS_TO_GZ", "BIDIRECTIONAL")
        pkg, _, name = e["ros_type_name"].split("/")
        assert hasattr(importlib.import_module(f"{pkg}.msg"), name), e["ros_type_name"]
        assert e["gz_type_name"].startswith("gz.msgs.")


def test_gazebo_xacro_expands_to_the_same_robot(tmp_path):
    doc = xacro.process_file(str(ROOT / "urdf" / "edgebot_rover_gazebo.urdf.xacro"))
    out = tmp_path / "rover_gz.urdf"
    out.write_text(doc.toprettyxml())
    gz = yourdfpy.URDF.load(str(out), load_meshes=False)
    plain = yourdfpy.URDF.load(str(ROOT / "urdf" / "edgebot_rover.urdf"), load_meshes=False)
    assert set(gz.link_map) == set(plain.link_map)
    assert set(gz.joint_map) == set(plain.joint_map)
    sensors = {s.get("name") for s in ET.parse(out).getroot().iter("sensor")}
    assert sensors == {"imu", "camera", "sonar"}
    plugins = {p.get("name") for p in ET.parse(out).getroot().iter("plugin")}
    assert "gz::sim::systems::DiffDrive" in plugins


def test_launch_file_is_yaml_launch():
    doc = yaml.safe_load((ROOT / "launch" / "demo_gazebo.launch.yaml").read_text())
    kinds = [next(iter(e)) for e in doc["launch"]]
    assert set(kinds) <= {"arg", "let", "set_parameter", "include", "node"}
    nodes = [e["node"] for e in doc["launch"] if "node" in e]
    assert {n["exec"] for n in nodes} >= {
        "parameter_bridge",
        "create",
        "yolo_node",
        "target_follower",
        "safety_monitor",
    }
