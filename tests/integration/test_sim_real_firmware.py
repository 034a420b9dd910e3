"""The simulator with the real StandardFirmata on the emulated AVR (arduino.firmware) driven by
the unchanged firmata_node: wheel commands become port writes and PWM on the firmware, the
emulated timers' duty drives the wheels, the rover drives toward the target, the wheel joints
turn the encoder pins (quadrature in emulated time) that firmata_node decodes into
wheel_states, and the wall in front shows up on the IR range sensor (sim ray cast -> volts on
A2 -> the firmware's ADC -> analog report -> sonar/range)."""

import json
import math

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState, Range
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_testing import ROOT, wait_for

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


def test_sim_runs_the_real_firmware(procs, ros, tmp_path):
    link = tmp_path / "arduino"
    pin_map = ROOT / "config" / "firmata_standard.yaml"
    # obstacle_stop: the rover at x = -1.5 facing +x, a low wall with its face at x = -0.1,
    # the target ball beyond it at x = 1.5
    sim = procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "scenario": "obstacle_stop",
            "seed": 0,
            "arduino.link": str(link),
            "arduino.pin_map": str(pin_map),
            "arduino.firmware": "StandardFirmata",
            "camera.enabled": False,
            "imu.enabled": False,
            "publish_wheel_states": False,
            "start.wait": True,
            "start.publishers": "sonar/range",
            "start.settle_period": 0.5,
        },
    )
    # the board first, then the driver (as with a USB board plugged in before the node starts)
    wait_for(lambda: link.exists() or not sim.running(), 120, what="the emulated board's pty")
    node = procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": str(link), "pin_map": str(pin_map), "use_sim_time": True},
    )

    sonar = ros.collect(Range, "sonar/range", qos.SENSOR_DATA)
    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)
    status = ros.collect(String, "sim/status", qos.LATCHED)
    wheels = ros.collect(JointState, "wheel_states", qos.SENSOR_DATA)  # firmata_node's encoders

    def started():
        assert sim.running(), sim.output()[-3000:]
        assert node.running(), node.output()[-3000:]
        return status and json.loads(status[-1].data)["holding"] is None and len(truth) > 5

    wait_for(started, 120, interval=0.2, what="the simulator's start gate to open")
    wait_for(lambda: sonar, 60, what="sonar/range (the IR sensor) from firmata_node")
    assert sonar[-1].radiation_type == Range.INFRARED and sonar[-1].header.frame_id == "sonar_link"
    assert math.isinf(sonar[-1].range) and sonar[-1].range > 0  # the wall is 1.4 m away
    x0 = truth[-1].pose.pose.position.x
    d0 = json.loads(status[-1].data)["target_distance"]

    pub = ros.publisher(JointState, "wheel_cmd", qos.COMMANDS)
    ros.wait_subscribers(pub, 1, timeout=30)

    def drive(v=6.0):
        pub.publish(JointState(name=["left_wheel_joint", "right_wheel_joint"], velocity=[v, v]))

    # forward until the IR sensor sees the wall (< 0.8 m): the real firmware moved the wheels
    wait_for(
        lambda: drive() or (sonar and math.isfinite(sonar[-1].range)),
        90,
        interval=0.05,
        what="the wall within the IR sensor's range while driving forward",
    )
    x1 = truth[-1].pose.pose.position.x
    assert x1 > x0 + 0.3, (x0, x1)  # 0.8 m from the wall: x ~ -1.0
    assert abs(truth[-1].pose.pose.position.y) < 0.1  # straight: both wheels alike
    ir = sonar[-1].range
    wall = -0.1 - (x1 + 0.125)  # sonar_link 0.125 m ahead
    assert abs(ir - wall) < 0.1, (ir, wall)
    # the encoders through the firmware: both wheels forward at about the commanded 6 rad/s
    wait_for(
        lambda: wheels and min(wheels[-1].velocity) > 3.0,
        30,
        what="wheel_states from the encoders showing both wheels forward",
    )
    assert list(wheels[-1].name) == ["left_wheel_joint", "right_wheel_joint"]
    assert max(wheels[-1].velocity) < 8.0, list(wheels[-1].velocity)
    # moved toward the target
    wait_for(
        lambda: json.loads(status[-1].data)["target_distance"] < d0 - 0.3,
        30,
        what="sim/status to show the target closer",
    )
    # no more commands: firmata_node's command timeout writes the safe outputs, the rover stops
    wait_for(
        lambda: abs(truth[-1].twist.twist.linear.x) < 0.02,
        30,
        what="the rover to stop after the command timeout",
    )
    assert sim.running() and node.running()
