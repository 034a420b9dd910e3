"""Two rovers in one simulated world (issue 21), end to end: launch/fleet.launch.yaml with
`edgebot launch` (one sim_node with robots:=2, each rover's firmata_node, camera_node,
yolo_node, base_controller, safety_monitor, target_follower, state publisher and mqtt_bridge
under rover1 / rover2; no IMU, to start faster) on a random ROS domain, reporting to a real mosquitto. Each rover
reaches its own ball; their topics and tf frames are apart (rover1/..., rover2/...); the broker
sees both under edgebot/<robot_id>/...

The follower run uses composed:=false (a process per node); the mission run the default (each
rover's light nodes in one process) with config/missions/fleet_field.yaml: each rover finds its own
ball (in its own odometry frame), reports it to the broker under edgebot/<robot_id>/mission/found
and comes back. The sonar's frame carries the rover's prefix (rover1/sonar_link) either way.

The scenario (config/scenarios/fleet_field.yaml) is the short one: each ball 1.3 m ahead."""

import json
import math
import pathlib
import shutil
import sys

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Range
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_sim import scenario as S
from edgebot_testing import ROOT, free_port, wait_for
from tf2_msgs.msg import TFMessage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "edgebot_mqtt"))
from mqtt_testing import Collector, Mosquitto

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")

ROVERS = ("rover1", "rover2")


def _last_json(msgs):
    return json.loads(msgs[-1].data) if msgs else {}


def _launch(procs, tmp_path, broker, *extra):
    ports = {
        f"{r}_{dev}_port": free_port() for r in (*ROVERS, "rover3") for dev in ("camera", "imu")
    }
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
            *[f"{k}:={v}" for k, v in ports.items()],
            *extra,
        ],
        name="fleet-launch",
    )

    def alive():
        if not launch.running():
            raise RuntimeError(f"the launch ended:\n{launch.output()[-4000:]}")
        return True

    return alive


def _sonar_frames(ros):
    """Each rover's Range.header.frame_id carries its prefix (firmata_node frame_prefix)."""
    return {r: ros.collect(Range, f"/{r}/sonar/range", qos.SENSOR_DATA) for r in ROVERS}


def _assert_sonar_frames(sonar):
    wait_for(lambda: all(sonar[r] for r in ROVERS), 30, what="both rovers' sonar")
    for r in ROVERS:
        assert {m.header.frame_id for m in list(sonar[r])} == {f"{r}/sonar_link"}


@pytest.mark.timeout(600)
def test_two_rovers_reach_their_own_targets_apart_and_report_to_one_broker(procs, ros, tmp_path):
    broker = Mosquitto(procs, tmp_path / "mosquitto").start()
    mqtt = Collector(broker.port, ["edgebot/+/odom", "edgebot/+/status"])
    status = {r: ros.collect(String, f"/{r}/sim/status", qos.LATCHED) for r in ROVERS}
    top = ros.collect(String, "/sim/status", qos.LATCHED)
    odom = {r: ros.collect(Odometry, f"/{r}/odom", qos.SENSOR_DATA) for r in ROVERS}
    tf = ros.collect(TFMessage, "/tf", qos.TF)
    tf_static = ros.collect(TFMessage, "/tf_static", qos.LATCHED_READER)
    sonar = _sonar_frames(ros)
    alive = _launch(
        procs,
        tmp_path,
        broker,
        "composed:=false",  # a process per node here; the mission run below is composed
        "start_publishers:=sonar/range,detections,cmd_vel,wheel_cmd",
    )

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
    _assert_sonar_frames(sonar)
    assert alive()
    mqtt.close()


def _rover_scenario(status):
    """The rover's own scenario: fleet_field resolved with the run's seed, shifted by the spawn
    rule (its start, where its odometry starts, and its ball)."""
    scen = S.load(str(ROOT / "config" / "scenarios" / "fleet_field.yaml"))
    return scen.resolved(status["seed"]).for_rover(status["robot"], status["robots"])


def _in_odom(s, x, y):
    """A map point in the rover's odometry frame (odometry starts at its start pose)."""
    dx, dy = x - s.start.x, y - s.start.y
    c, sn = math.cos(s.start.yaw), math.sin(s.start.yaw)
    return c * dx + sn * dy, -sn * dx + c * dy


def _report(payload):
    """A mission/found report from the bridge's envelope {"seq", "stamp", "data": {"data":
    "<the JSON text>"}} (or a batch of them: the last)."""
    d = json.loads(payload)
    return json.loads(d.get("batch", [d])[-1]["data"]["data"])


@pytest.mark.timeout(600)
def test_two_rovers_each_run_their_own_mission_and_report_to_one_broker(procs, ros, tmp_path):
    broker = Mosquitto(procs, tmp_path / "mosquitto").start()
    mqtt = Collector(broker.port, ["edgebot/+/mission/found", "edgebot/+/mission/state"])
    status = {r: ros.collect(String, f"/{r}/sim/status", qos.LATCHED) for r in ROVERS}
    state = {r: ros.collect(String, f"/{r}/mission/state", qos.LATCHED) for r in ROVERS}
    sonar = _sonar_frames(ros)
    alive = _launch(
        procs,
        tmp_path,
        broker,
        "mission:=true",  # composed (the default), one mission file for both rovers
        f"mission_file:={ROOT / 'config' / 'missions' / 'fleet_field.yaml'}",
        "start_publishers:=sonar/range,detections,cmd_vel,wheel_cmd,mission/cmd_vel",
    )
    wait_for(
        lambda: alive() and all(_last_json(state[r]).get("done") for r in ROVERS),
        300,
        interval=0.5,
        what="both rovers' missions to end",
    )

    def found_on_broker():
        with mqtt.lock:
            return {m.topic: _report(m.payload) for m in mqtt.messages if "found" in m.topic}

    wait_for(
        lambda: {f"edgebot/{r}/mission/found" for r in ROVERS} <= set(found_on_broker()),
        30,
        what="both rovers' reports on the broker",
    )
    for r in ROVERS:
        st = _last_json(state[r])
        assert st["outcome"] == "complete", (r, st)
        assert st["frame_id"] == f"{r}/odom" and len(st["found"]) == 1
        sim = _last_json(status[r])
        assert sim["contact"] is False
        s = _rover_scenario(sim)
        assert (sim["target"]["x"], sim["target"]["y"]) == (s.target.x, s.target.y)
        ox, oy = _in_odom(s, s.target.x, s.target.y)  # its own ball, in its own odometry frame
        f = found_on_broker()[f"edgebot/{r}/mission/found"]
        assert (f["class"], f["frame_id"]) == ("ball", f"{r}/odom")
        assert math.hypot(f["x"] - ox, f["y"] - oy) <= 0.3, (r, f, (ox, oy))
        # and it came back to where it started (return_home, home_tolerance 0.25 m; the status
        # comes once a wall second)
        wait_for(
            lambda: math.hypot(*_in_odom(s, *_last_json(status[r])["pose"][:2])) <= 0.4,
            20,
            what=f"{r} back at its start {s.start} (status {_last_json(status[r])['pose']})",
        )
    _assert_sonar_frames(sonar)
    assert alive()
    mqtt.close()
