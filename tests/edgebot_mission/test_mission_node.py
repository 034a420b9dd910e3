"""mission_node as a process (real rclpy and DDS): a bad mission file stops it at startup with
one line; inputs from the test node make it search, see, approach and report an object; it is
one more source under the real safety monitor, whose e-stop keeps priority over it."""

import json
import pathlib

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Range
from std_msgs.msg import String
from std_srvs.srv import SetBool

from edgebot_common import qos
from edgebot_interfaces.msg import Detection2D, Detection2DArray
from edgebot_testing import wait_for

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTROL = str(ROOT / "config" / "control.yaml")


def test_bad_mission_file_stops_the_node_with_one_line(procs, tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("find: [{class: duck}]\n")
    p = procs.node("edgebot_mission", "mission_node", params={"mission_file": str(bad)})
    assert p.wait(60) == 2
    out = p.output()
    assert f"{bad}: key 'find[0].class' = 'duck': unknown object class" in out, out[-2000:]
    p = procs.node("edgebot_mission", "mission_node", name="nofile")
    assert p.wait(60) == 2
    assert "parameter 'mission_file'" in p.output()


def test_mission_drives_through_the_safety_monitor_reports_and_the_estop_wins(procs, ros, tmp_path):
    mfile = tmp_path / "m.yaml"
    mfile.write_text(
        "find: [{class: ball}]\narea: {x: [-3.0, 3.0], y: [-3.0, 3.0]}\ntime_limit: 600.0\n"
    )
    procs.node("edgebot_mission", "mission_node", params={"mission_file": str(mfile)})
    mon = procs.node(
        "edgebot_control",
        "safety_monitor",
        "--params-file",
        CONTROL,
        params={"heartbeat_names": "[]"},
    )
    mon.wait_output("safety monitor ready", timeout=60)
    cmd = ros.collect(Twist, "cmd_vel")
    mcmd = ros.collect(Twist, "mission/cmd_vel")
    state = ros.collect(String, "mission/state", qos.LATCHED)
    found = ros.collect(String, "mission/found")
    odom_pub = ros.publisher(Odometry, "odom", qos.SENSOR_DATA)
    det_pub = ros.publisher(Detection2DArray, "detections", qos.LATEST_ONLY)
    rng_pub = ros.publisher(Range, "sonar/range", qos.SENSOR_DATA)
    info_pub = ros.publisher(CameraInfo, "camera/camera_info", qos.LATEST_ONLY)
    ball = {"on": False}

    def feed():
        o = Odometry()
        o.header.frame_id = "odom"
        o.pose.pose.orientation.w = 1.0
        odom_pub.publish(o)
        r = Range()
        r.range = 0.385 if ball["on"] else 3.0  # the ball's near side, straight ahead
        rng_pub.publish(r)
        d = Detection2DArray()
        d.image_width, d.image_height = 320, 240
        if ball["on"]:  # a 0.2 m ball centred 0.5 m from the camera: 277 * 0.2 / 0.5 px high
            d.detections = [
                Detection2D(
                    label="ball",
                    score=0.9,
                    center_x=160.0,
                    center_y=120.0,
                    size_x=110.0,
                    size_y=110.8,
                    track_id=4,
                )  # fmt: skip
            ]
        det_pub.publish(d)
        ci = CameraInfo()
        ci.width, ci.height = 320, 240
        ci.k = [277.1, 0.0, 160.0, 0.0, 277.1, 120.0, 0.0, 0.0, 1.0]
        info_pub.publish(ci)

    ros.node.create_timer(0.05, feed)
    # no ball: it searches (turns on the spot) and the monitor passes the mission's command
    wait_for(lambda: state and json.loads(state[-1].data)["state"] == "search", 60, what="search")
    wait_for(lambda: cmd and cmd[-1].angular.z > 0.1, 60, what="cmd_vel from the mission")
    # the e-stop holds zero while the mission keeps asking to turn
    assert ros.call(SetBool, "estop", SetBool.Request(data=True)).success
    wait_for(lambda: cmd and cmd[-1].angular.z == 0.0 and cmd[-1].linear.x == 0.0, 30, what="0")
    n = len(cmd)
    wait_for(lambda: len(cmd) > n + 10, 30, what="more cmd_vel")
    assert all(m.angular.z == 0.0 and m.linear.x == 0.0 for m in cmd[n:])
    assert mcmd[-1].angular.z > 0.1  # the mission still asks
    assert ros.call(SetBool, "estop", SetBool.Request(data=False)).success
    wait_for(lambda: cmd and cmd[-1].angular.z > 0.1, 30, what="released: the mission again")
    # a ball at the approach distance: found, reported once with its position, then home
    ball["on"] = True
    wait_for(lambda: found, 60, what="mission/found")
    f = json.loads(found[0].data)
    assert f["class"] == "ball" and f["frame_id"] == "odom" and f["track_id"] == 4
    # centred 0.61 m ahead of base_link: camera 0.11 + 0.5, = sonar 0.125 + 0.385 + radius 0.1
    assert abs(f["x"] - 0.61) < 0.02 and abs(f["y"]) < 0.02, f
    wait_for(lambda: json.loads(state[-1].data)["done"], 60, what="mission done")
    st = json.loads(state[-1].data)
    assert st["outcome"] == "complete" and len(st["found"]) == 1
    assert len(found) == 1
