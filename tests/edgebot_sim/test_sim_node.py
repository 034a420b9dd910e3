"""sim_node as a process: /clock, ground truth, wheel_states, wheel_cmd drive, MJPEG camera,
status, and one-line configuration errors."""

import json
import time

import cv2
import pytest
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_testing import free_port, wait_for


def start_sim(procs, **params):
    p = {
        "drive": "wheel_cmd",
        "arduino.enabled": False,
        "imu.enabled": False,
        "camera.port": free_port(),
        "scenario": "near_cone",
        "seed": 3,
    }
    p.update(params)
    return procs.node("edgebot_sim", "sim_node", params=p), p


def test_clock_truth_wheels_and_driving(procs, ros):
    sim, p = start_sim(procs, speed=2.0)
    clock = ros.collect(Clock, "/clock", qos.CLOCK)
    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)
    wheels = ros.collect(JointState, "wheel_states", qos.SENSOR_DATA)
    status = ros.collect(String, "sim/status", qos.LATCHED)
    wait_for(
        lambda: len(clock) > 20 and len(truth) > 5 and len(wheels) > 5,
        60,
        what="clock, ground truth and wheel states",
    )
    t = [m.clock.sec + m.clock.nanosec * 1e-9 for m in list(clock)]
    assert all(b >= a for a, b in zip(t, t[1:])) and t[-1] > t[0]
    assert truth[-1].header.frame_id == "map" and truth[-1].child_frame_id == "base_link"
    assert list(wheels[-1].name) == ["left_wheel_joint", "right_wheel_joint"]
    x0 = truth[-1].pose.pose.position.x

    pub = ros.publisher(JointState, "wheel_cmd", qos.COMMANDS)
    ros.wait_subscribers(pub, 1, timeout=30)

    moving = []

    def drive():
        pub.publish(JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[8.0, 8.0]))
        # read together, while still commanding: once the test stops publishing, the
        # wheel_cmd timeout stops the rover (a stalled test would see it slowing down)
        t = truth[-1]
        moving[:] = [t]
        return t.pose.pose.position.x > x0 + 0.3 and abs(wheels[-1].velocity[0]) > 6

    wait_for(drive, 60, interval=0.05, what="the rover to drive forward")
    assert abs(moving[0].twist.twist.linear.x) > 0.15  # body frame, forward
    # garbage commands are rejected, not obeyed (and the node survives them)
    for _ in range(5):
        pub.publish(JointState(name=["left_wheel_joint"], velocity=[1e9, 3.0]))
        pub.publish(
            JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[float("nan"), 1.0])
        )
    # no commands: the wheel_cmd timeout stops the wheels
    wait_for(
        lambda: all(abs(v) < 0.3 for v in wheels[-1].velocity),
        30,
        what="wheels stopped after the command timeout",
    )
    assert sim.running()
    wait_for(lambda: status and json.loads(status[-1].data)["sim_time"] > 1.0, 30, what="status")
    st = json.loads(status[-1].data)
    assert st["scenario"] == "near_cone" and st["seed"] == 3
    assert st["endpoints"]["camera_url"].endswith(f":{p['camera.port']}/stream.mjpg")
    assert st["error"] is None


def test_camera_stream_opens_in_opencv(procs):
    sim, p = start_sim(procs)
    cap = None
    url = f"http://127.0.0.1:{p['camera.port']}/stream.mjpg"

    def opened():
        nonlocal cap
        if not sim.running():
            raise RuntimeError(sim.output())
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        return cap.isOpened()

    wait_for(opened, 60, interval=0.5, what="MJPEG stream")
    frames = []
    deadline = time.monotonic() + 30
    while len(frames) < 3 and time.monotonic() < deadline:
        ok, img = cap.read()
        if ok:
            frames.append(img)
    cap.release()
    assert len(frames) == 3 and frames[0].shape == (240, 320, 3)
    # the orange cone (1.0, 0.45, 0.0) is in view ahead: strong red, no blue, BGR order
    img = frames[-1].astype(int)
    orange = (img[..., 2] > 170) & (img[..., 1] > 50) & (img[..., 1] < 170) & (img[..., 0] < 70)
    assert orange.sum() > 20


def test_bad_scenario_exits_2_with_one_line(procs, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: {class: duck, x: 1.0, y: 0.0}\n")
    sim, _ = start_sim(procs, scenario=str(bad))
    assert sim.wait(60) == 2
    out = [line for line in sim.output().splitlines() if "configuration error" in line]
    assert len(out) == 1
    assert f"{bad}: key 'target.class' = 'duck'" in out[0] and "missing model" in out[0]


def test_bad_parameter_exits_2(procs):
    sim, _ = start_sim(procs, speed=-1.0)
    assert sim.wait(60) == 2
    assert "parameter 'speed' = -1.0: must be >= 0.0" in sim.output()


def test_reset_starts_a_new_seeded_episode_without_turning_the_clock_back(procs, ros):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from std_srvs.srv import Trigger

    from edgebot_sim import scenario as S

    sim, _ = start_sim(procs, speed=2.0, **{"camera.enabled": False})
    clock = ros.collect(Clock, "/clock", qos.CLOCK)
    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)
    status = ros.collect(String, "sim/status", qos.LATCHED)
    wait_for(lambda: len(truth) > 5 and len(clock) > 5, 60, what="ground truth")
    req = SetParameters.Request(
        parameters=[
            Parameter(
                name="seed",
                value=ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=5),
            )
        ]
    )
    res = ros.call(SetParameters, "/sim_node/set_parameters", req, timeout=30)
    assert res.results[0].successful
    t_before = clock[-1].clock.sec + clock[-1].clock.nanosec * 1e-9
    res = ros.call(Trigger, "sim/reset", Trigger.Request(), timeout=60)
    assert res.success, res.message
    info = json.loads(res.message)
    expected = S.load("near_cone").resolved(5)
    assert info["episode"] == 1 and info["seed"] == 5
    assert info["start"] == [expected.start.x, expected.start.y, expected.start.yaw]
    n = len(truth)
    wait_for(lambda: len(truth) > n + 5, 30, what="ground truth after the reset")
    p = truth[-1].pose.pose.position
    assert abs(p.x - expected.start.x) < 0.02 and abs(p.y - expected.start.y) < 0.02
    t = [m.clock.sec + m.clock.nanosec * 1e-9 for m in list(clock)]
    assert all(b >= a for a, b in zip(t, t[1:])) and t[-1] > t_before
    wait_for(
        lambda: status and json.loads(status[-1].data)["episode"] == 1,
        30,
        what="status of episode 1",
    )
    st = json.loads(status[-1].data)
    assert st["seed"] == 5 and st["episode_start"] > 0 and st["reached"] is False


def test_map_to_odom_on_tf_joins_ground_truth_and_odometry(procs, ros):
    import math as m

    from edgebot_sim import scenario as S
    from edgebot_sim.frames import compose
    from tf2_msgs.msg import TFMessage

    sim, _ = start_sim(procs, **{"camera.enabled": False})
    tf = ros.collect(TFMessage, "/tf", qos.TF)
    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)

    def map_odom():
        return [
            t
            for msg in list(tf)
            for t in msg.transforms
            if t.header.frame_id == "map" and t.child_frame_id == "odom"
        ]

    wait_for(lambda: map_odom() and truth, 60, what="map -> odom on /tf")
    start = S.load("near_cone").resolved(3).start
    t0 = map_odom()[0].transform
    # no odometry yet: odom is where the rover started
    assert abs(t0.translation.x - start.x) < 0.02 and abs(t0.translation.y - start.y) < 0.02
    assert abs(2 * m.atan2(t0.rotation.z, t0.rotation.w) - start.yaw) < 0.02

    # an odometry that believes the rover is 0.4 m ahead, turned 0.2 rad
    pub = ros.publisher(Odometry, "odom", qos.RELIABLE)
    od = Odometry()
    od.header.frame_id, od.child_frame_id = "odom", "base_link"
    od.pose.pose.position.x = 0.4
    od.pose.pose.orientation.z, od.pose.pose.orientation.w = m.sin(0.1), m.cos(0.1)

    def corrected():
        od.header.stamp = truth[-1].header.stamp
        pub.publish(od)
        return [t for t in map_odom() if abs(t.transform.translation.x - start.x) > 0.2]

    t = wait_for(corrected, 60, interval=0.1, what="map -> odom after odometry")[-1]
    tr, q = t.transform.translation, t.transform.rotation
    base = compose(
        ((tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w)),
        ((0.4, 0.0, 0.0), (0.0, 0.0, m.sin(0.1), m.cos(0.1))),
    )
    p = truth[-1].pose.pose.position
    # map -> odom -> base_link lands on the true pose (the rover stands still)
    assert abs(base[0][0] - p.x) < 0.02 and abs(base[0][1] - p.y) < 0.02
    assert sim.running()


@pytest.mark.parametrize(
    "params, words",
    [
        ({"camera.fps": 5.0}, "renamed to 'camera.rate'"),
        ({"start.settle": 1.0}, "renamed to 'start.settle_period'"),
        (
            {"robots": 3, "fleet.imu_ports": "1234,1235"},
            "parameter 'fleet.imu_ports' = '1234,1235': must list 3",
        ),
        ({"robots": 4, "scenario": "near_ball"}, "key 'fleet.spacing' = 2.0: puts rover 1 of 4"),
    ],
)
def test_renamed_and_fleet_parameters_stop_the_node_naming_them(procs, params, words):
    sim, _ = start_sim(procs, **params)
    assert sim.wait(60) == 2
    assert words in sim.output(), sim.output()[-2000:]
