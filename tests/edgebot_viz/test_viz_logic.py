"""ROS-free logic of edgebot_viz: message definitions, filters, rate limiting, URDF transforms,
and the rosbag2 MCAP bag writer read back by two independent readers."""

import math
import pathlib
import shutil
import sys

import pytest
from mcap_ros2._dynamic import generate_dynamic
from rclpy.serialization import serialize_message

from edgebot_viz import bag_writer, msgdefs, robot_state
from edgebot_viz.filters import RateLimiter, TopicFilter, parse_rate_rules, rate_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import viz_readers


# -- message definitions ------------------------------------------------------------------
def test_definition_has_dependencies_and_decodes_real_cdr():
    from sensor_msgs.msg import Imu

    text = msgdefs.ros2msg_definition("sensor_msgs/msg/Imu")
    for dep in (
        "std_msgs/Header",
        "builtin_interfaces/Time",
        "geometry_msgs/Quaternion",
        "geometry_msgs/Vector3",
    ):
        assert f"{'=' * 80}\nMSG: {dep}\n" in text
    assert text.count("MSG: ") == 4
    msg = Imu()
    msg.header.frame_id = "imu_link"
    msg.header.stamp.sec = 42
    msg.linear_acceleration.z = 9.81
    msg.orientation_covariance[4] = 0.5
    decode = generate_dynamic("sensor_msgs/msg/Imu", text)["sensor_msgs/msg/Imu"]
    out = decode(serialize_message(msg))
    assert out.header.frame_id == "imu_link"
    assert out.header.stamp.sec == 42
    assert out.linear_acceleration.z == pytest.approx(9.81)
    assert list(out.orientation_covariance)[4] == 0.5


def test_definition_of_workspace_interface_with_same_package_dependency():
    from edgebot_interfaces.msg import Detection2D, Detection2DArray

    text = msgdefs.ros2msg_definition("edgebot_interfaces/Detection2DArray")
    assert "MSG: edgebot_interfaces/Detection2D\n" in text
    arr = Detection2DArray(image_width=320, image_height=240)
    arr.detections.append(Detection2D(label="red_ball", score=0.75, center_x=10.0, track_id=7))
    decode = generate_dynamic("edgebot_interfaces/msg/Detection2DArray", text)[
        "edgebot_interfaces/msg/Detection2DArray"
    ]
    out = decode(serialize_message(arr))
    assert out.image_width == 320
    assert out.detections[0].label == "red_ball"
    assert out.detections[0].track_id == 7
    assert out.detections[0].score == pytest.approx(0.75)


def test_unknown_type_and_bad_names_raise():
    with pytest.raises(msgdefs.UnknownMessageType, match="no_such_pkg/msg/Nope.msg"):
        msgdefs.ros2msg_definition("no_such_pkg/msg/Nope")
    with pytest.raises(msgdefs.UnknownMessageType):
        msgdefs.normalize_type("justonepart")
    assert msgdefs.full_name("std_msgs/String") == "std_msgs/msg/String"
    assert msgdefs.type_hash("std_msgs/msg/String").startswith("RIHS01_")
    assert msgdefs.type_hash("no_such_pkg/msg/Nope") == ""


def test_field_types_skips_primitives_arrays_constants_and_comments():
    text = (
        "# comment: geometry_msgs/Pose\nint64 A = -1\nstring<=8 s\nfloat64[9] c\n"
        "Foo[] foos  # same package\nstd_msgs/Header[<=3] hs\nuint8[] data\n"
    )
    assert msgdefs.field_types(text, "pkg") == ["pkg/Foo", "std_msgs/Header"]


# -- filters ------------------------------------------------------------------------------
def test_topic_filter_allow_and_deny():
    f = TopicFilter([r"/imu/.*", r"/odom"], [r".*_raw"])
    assert f.allowed("/imu/data")
    assert not f.allowed("/imu/data_raw")
    assert not f.allowed("/odometry")  # fullmatch, not prefix
    with pytest.raises(ValueError, match="bad allow regular expression"):
        TopicFilter(["("])


def test_rate_rules_parse_and_first_match_wins():
    rules = parse_rate_rules(["/camera/.*=5", "/.*=50.5"])
    assert rate_for("/camera/image_raw", rules, 0.0) == 5.0
    assert rate_for("/imu/data", rules, 0.0) == 50.5
    assert rate_for("/x", [], 2.0) == 2.0
    for bad in ("/camera", "=5", "/a=fast", "/a=-1", "(=3"):
        with pytest.raises(ValueError):
            parse_rate_rules([bad])


def test_rate_limiter_keeps_the_configured_rate():
    lim = RateLimiter(10.0)
    passed = sum(lim.allow(i / 30.0) for i in range(300))  # 10 s of a 30 Hz stream
    assert 99 <= passed <= 101
    assert lim.dropped == 300 - passed
    free = RateLimiter(0.0)
    assert all(free.allow(i * 1e-4) for i in range(100))


# -- URDF transforms (robot_state, yourdfpy) ----------------------------------------------
URDF = """<robot name="r">
  <link name="base_link"/><link name="wheel"/><link name="cam"/>
  <joint name="wheel_joint" type="continuous"><parent link="base_link"/><child link="wheel"/>
    <origin xyz="0.1 0.2 0" rpy="0 0 0"/><axis xyz="0 1 0"/></joint>
  <joint name="cam_joint" type="fixed"><parent link="base_link"/><child link="cam"/>
    <origin xyz="0.05 0 0.1" rpy="0 0 1.5707963267948966"/></joint>
</robot>"""


def test_urdf_fixed_and_moving_joints():
    robot = robot_state.RobotState(URDF)
    tfs = {t.child: t for t in robot.static_transforms()}
    assert tfs["cam"].parent == "base_link"
    assert tfs["cam"].translation == pytest.approx((0.05, 0.0, 0.1))
    q = tfs["cam"].rotation
    assert q[2] == pytest.approx(math.sqrt(0.5)) and q[3] == pytest.approx(math.sqrt(0.5))
    robot.update(["wheel_joint", "unknown"], [0.0, float("nan")])
    assert robot.moving_transforms()[0].rotation == pytest.approx((0, 0, 0, 1))
    robot.update(["wheel_joint"], [math.pi])
    q = robot.moving_transforms()[0].rotation
    assert [abs(c) for c in q] == pytest.approx(
        [0.0, 1.0, 0.0, 0.0], abs=1e-9
    )  # half turn about +y


# -- bag writer ---------------------------------------------------------------------------
def _fill(w, n, start=0):
    from geometry_msgs.msg import Twist
    from std_msgs.msg import String

    for i in range(start, start + n):
        w.write("/chatter", serialize_message(String(data=f"msg {i}")), 1_000_000 + i * 1000)
        tw = Twist()
        tw.linear.x = float(i)
        w.write("/cmd_vel", serialize_message(tw), 1_000_000 + i * 1000 + 1)


def _writer(path, **kw):
    w = bag_writer.BagWriter(path, ros_distro="kilted", **kw)
    qos = bag_writer.qos_yaml([bag_writer.qos_profile_dict(1, 10, 1, 2)])
    w.add_topic("/chatter", "std_msgs/msg/String", qos)
    w.add_topic("/cmd_vel", "geometry_msgs/Twist", qos)
    return w


def test_bag_round_trip_two_readers(tmp_path):
    bag = tmp_path / "bag"
    w = _writer(bag, chunk_bytes=4096)
    _fill(w, 300)
    w.close()
    w.close()  # idempotent
    for read in (viz_readers.read_mcap, viz_readers.read_rosbags):
        got = read(bag)
        assert len(got["/chatter"]) == 300 and len(got["/cmd_vel"]) == 300
        assert got["/chatter"][299].data == "msg 299"
        assert [m.linear.x for m in got["/cmd_vel"]] == [float(i) for i in range(300)]
    meta = viz_readers.metadata(bag)
    assert meta["version"] == 8 and meta["storage_identifier"] == "mcap"
    assert meta["message_count"] == 600
    assert meta["starting_time"]["nanoseconds_since_epoch"] == 1_000_000
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert topics["/cmd_vel"]["topic_metadata"]["type"] == "geometry_msgs/msg/Twist"
    assert topics["/cmd_vel"]["topic_metadata"]["type_description_hash"].startswith("RIHS01_")
    assert viz_readers.mcap_profile(bag / meta["relative_file_paths"][0]) == "ros2"


def test_bag_is_readable_at_every_checkpoint(tmp_path):
    bag = tmp_path / "bag"
    w = _writer(bag, chunk_bytes=1 << 30)
    _fill(w, 50)
    w.checkpoint()
    _fill(w, 25, start=50)  # buffered, not yet on disk
    snap = tmp_path / "snap"
    shutil.copytree(bag, snap)  # what a SIGKILL now would leave
    w.close()
    for read in (viz_readers.read_mcap, viz_readers.read_rosbags):
        got = read(snap)
        assert len(got["/chatter"]) == 50 and len(got["/cmd_vel"]) == 50
    assert viz_readers.metadata(snap)["message_count"] == 100
    assert len(viz_readers.read_rosbags(bag)["/chatter"]) == 75


def test_bag_rotation_by_size(tmp_path):
    bag = tmp_path / "bag"
    w = _writer(bag, chunk_bytes=2000, max_file_bytes=5000, compression="none")
    _fill(w, 400)
    w.close()
    meta = viz_readers.metadata(bag)
    assert len(meta["relative_file_paths"]) >= 3
    assert sum(f["message_count"] for f in meta["files"]) == 800
    for read in (viz_readers.read_mcap, viz_readers.read_rosbags):
        got = read(bag)
        assert [m.data for m in got["/chatter"]] == [f"msg {i}" for i in range(400)]


def test_bag_writer_refuses_non_empty_dir_and_bad_compression(tmp_path):
    (tmp_path / "bag").mkdir()
    (tmp_path / "bag" / "x").write_text("x")
    with pytest.raises(bag_writer.BagWriteError, match="not empty"):
        bag_writer.BagWriter(tmp_path / "bag")
    with pytest.raises(ValueError, match="compression"):
        bag_writer.BagWriter(tmp_path / "bag2", compression="gzip")
    w = bag_writer.BagWriter(tmp_path / "bag3")
    with pytest.raises(msgdefs.UnknownMessageType):
        w.add_topic("/x", "no_such_pkg/msg/Nope")
    w.close()


# -- RViz configuration -------------------------------------------------------------------
def test_rviz_config_shows_the_robot_and_its_sensors():
    import yaml

    from edgebot_testing import ROOT

    cfg = yaml.safe_load((ROOT / "config" / "edgebot.rviz").read_text())
    vm = cfg["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == "odom"
    displays = {}
    for d in vm["Displays"]:
        topic = d.get("Topic", d.get("Description Topic", {}))
        displays.setdefault(d["Class"], []).append(topic.get("Value") if topic else None)
    assert displays["rviz_default_plugins/RobotModel"] == ["/robot_description"]
    assert "rviz_default_plugins/TF" in displays
    assert set(displays["rviz_default_plugins/Image"]) == {"/camera/image_raw", "/detections/image"}
    assert displays["rviz_imu_plugin/Imu"] == ["/imu/data"]
    assert "/odom" in displays["rviz_default_plugins/Odometry"]
    assert displays["rviz_default_plugins/Range"] == ["/sonar/range"]
    robot = next(d for d in vm["Displays"] if d["Class"] == "rviz_default_plugins/RobotModel")
    assert robot["Description Topic"]["Durability Policy"] == "Transient Local"  # latched URDF


# -- bridge parameters (ROS-free module) ---------------------------------------------------
def test_bridge_params_defaults_validate_and_bad_patterns_are_named():
    from edgebot_common.params import ParameterError, validate_all
    from edgebot_viz.bridge_params import SPECS

    p = validate_all(SPECS, {})
    assert p["port"] == 8765 and p["topic_denylist"] == ["/parameter_events"]
    with pytest.raises(ParameterError, match="topic_allowlist"):
        validate_all(SPECS, {"topic_allowlist": ["("]})
    with pytest.raises(ParameterError, match="topic_rates"):
        validate_all(SPECS, {"topic_rates": ["/x=fast"]})


# -- draining a subscription's queue (ROS-free: a stand-in for rclpy's Subscription) --------
class _FakeHandle:
    def __init__(self, queue, fail_after=None):
        self.queue, self.fail_after, self.takes = queue, fail_after, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def take_message(self, msg_type, raw):
        assert raw is True and msg_type == "T"
        self.takes += 1
        if self.fail_after is not None and self.takes > self.fail_after:
            raise RuntimeError("InvalidHandle: destroyed")
        return (self.queue.pop(0), None) if self.queue else None


class _FakeSub:
    def __init__(self, queue, **kw):
        self.handle, self.msg_type, self.raw = _FakeHandle(queue, **kw), "T", True


def test_drain_takes_what_is_queued_up_to_the_limit_and_stops_cleanly():
    from edgebot_viz.drain import drain

    got = []
    assert drain(_FakeSub([b"a", b"b", b"c"]), got.append) == 3 and got == [b"a", b"b", b"c"]
    sub = _FakeSub([bytes([i]) for i in range(100)])
    assert drain(sub, lambda d: None, limit=10) == 9 and len(sub.handle.queue) == 91
    assert drain(_FakeSub([b"a", b"b"], fail_after=1), got.append) == 1  # destroyed: stop
    assert drain(_FakeSub([b"x", b"y"]), lambda d: False) == 1  # the handler says stop
    assert drain(None, got.append) == 0
