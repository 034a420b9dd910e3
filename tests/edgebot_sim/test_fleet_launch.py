"""Two rovers in one simulated world (issue 21), end to end: launch/fleet.launch.yaml with
`edgebot launch` (one sim_node with robots:=2, each rover's firmata_node, camera_node,
yolo_node, base_controller, safety_monitor, target_follower, state publisher and mqtt_bridge
under rover1 / rover2; no IMU, to start faster) on a random ROS domain, reporting to a real mosquitto. Each rover
reaches its own ball; their topics and tf frames are apart (rover1/..., rover2/...); the broker
sees both under edgebot/<robot_id>/...

The scenario (config/scenarios/fleet_field.yaml) is the short one: each ball 1.3 m ahead."""

import json
import pathlib
import shutil
import sys

import pytest
from nav_msgs.msg import Odometry
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_testing import free_port, wait_for
from tf2_msgs.msg import TFMessage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "edgebot_mqtt"))
from mqtt_testing import Collector, Mosquitto

ROVERS = ("rover1", "rover2")


def _last_json(msgs):
    return json.loads(msgs[-1].data) if msgs else {}


@pytest.mark.timeout(600)
def test_two_rovers_reach_their_own_targets_apart_and_report_to_one_broker(procs, ros, tmp_path):
    broker = Mosquitto(procs, tmp_path / "mosquitto").start()
    mqtt = Collector(broker.port, ["edgebot/+/odom", "edgebot/+/status"])
    ports = {
        f"{r}_{dev}_port": free_port() for r in (*ROVERS, "rover3") for dev in ("camera", "imu")
    }
    status = {r: ros.collect(String, f"/{r}/sim/status", qos.LATCHED) for r in ROVERS}
    top = ros.collect(String, "/sim/status", qos.LATCHED)
    odom = {r: ros.collect(Odometry, f"/{r}/odom", qos.SENSOR_DATA) for r in ROVERS}
    tf = ros.collect(TFMessage, "/tf", qos.TF)
    tf_static = ros.collect(TFMessage, "/tf_static", qos.TF_STATIC)
    launch = procs.start(
        [
            shutil.which("edgebot"),
            "launch",
            "edgebot_bringup",
            "fleet.launch.yaml",
            "scenario:=fleet_field",
            "robots:=2",
            f"run_dir:={tmp_path}",
            f"mqtt_port:={broker.port}",
            "mqtt_embedded:=false",
            "imu:=false",  # two processes fewer to start (the IMU path: tests/integration)
            "start_publishers:=sonar/range,detections,cmd_vel,wheel_cmd",
            *[f"{k}:={v}" for k, v in ports.items()],
        ],
        name="fleet-launch",
    )

    def alive():
        if not launch.running():
            raise RuntimeError(f"the launch ended:\n{launch.output()[-4000:]}")
        return True

    wait_for(
        lambda: alive() and all(_last_json(status[r]).get("reached") for r in ROVERS),
        300,
        interval=0.5,
        what="both rovers to reach their balls",
    )
    st = {r: _last_json(status[r]) for r in ROVERS}
    # one world, one clock: the top-level status lists both rovers
    fleet = _last_json(top)["fleet"]
    assert [f["robot"] for f in fleet] == [1, 2] and fleet[0]["robots"] == 2
    # each reached its own ball, on its own side of the field (spawn rule: 1.8 m apart in y)
    assert st["rover1"]["target"]["y"] < 0 < st["rover2"]["target"]["y"]
    assert st["rover1"]["pose"][1] < 0 < st["rover2"]["pose"][1]
    for r in ROVERS:
        assert st[r]["target_distance"] <= st[r]["target"]["reach_distance"]
        assert st[r]["contact"] is False  # nobody drove into anybody
        assert st[r]["endpoints"]["arduino_link"] == str(tmp_path / f"arduino_{r}")

    # topics and frames apart: each rover's odometry in its own prefixed frames
    wait_for(lambda: all(odom[r] for r in ROVERS), 30, what="both rovers' odometry")
    for r in ROVERS:
        assert {(m.header.frame_id, m.child_frame_id) for m in odom[r]} == {
            (f"{r}/odom", f"{r}/base_link")
        }
        assert ros.node.count_publishers(f"/{r}/odom") == 1
        assert ros.node.count_publishers(f"/{r}/wheel_cmd") == 1

    def edges(msgs):
        return {(t.header.frame_id, t.child_frame_id) for m in list(msgs) for t in m.transforms}

    want = {("map", f"{r}/odom") for r in ROVERS} | {
        (f"{r}/odom", f"{r}/base_link") for r in ROVERS
    }
    wait_for(lambda: want <= edges(tf), 30, what=f"/tf edges {want}")
    wait_for(
        lambda: {(f"{r}/base_link", f"{r}/camera_link") for r in ROVERS} <= edges(tf_static),
        30,
        what="both rovers' fixed joints on /tf_static",
    )
    assert not {e for e in edges(tf) if "odom" in e[1] and "/" not in e[1]}, "an unprefixed odom"

    # one broker, each robot under its own robot_id
    def topics():
        with mqtt.lock:
            return {m.topic for m in mqtt.messages}

    wait_for(
        lambda: {f"edgebot/{r}/odom" for r in ROVERS} <= topics(),
        60,
        what="both robots' odometry on the broker",
    )
    assert {f"edgebot/{r}/status" for r in ROVERS} <= topics()
    assert alive()
    mqtt.close()
