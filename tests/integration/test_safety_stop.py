"""The obstacle scenario: driven straight at a low wall, the safety monitor (on the sonar that
firmata_node reads from the virtual Arduino) stops the rover before it touches the wall."""

import json
import time

import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from std_msgs.msg import String

from edgebot_common import qos
from edgebot_testing import ROOT, wait_for

# the whole stack (simulator, camera, detector, controllers): one such test at a time, never
# beside another (make test runs two pytest-xdist workers; see scripts/run_tests.sh)
pytestmark = pytest.mark.xdist_group("stack")


def test_safety_monitor_stops_before_contact(procs, ros, tmp_path):
    link = tmp_path / "arduino"
    pin_map = ROOT / "config" / "firmata.yaml"
    control = str(ROOT / "config" / "control.yaml")
    sim = procs.node(
        "edgebot_sim",
        "sim_node",
        params={
            "scenario": "obstacle_stop",
            "seed": 0,
            "arduino.link": str(link),
            "arduino.pin_map": str(pin_map),
            "camera.enabled": False,
            "imu.enabled": False,
            "start.wait": True,
            "start.publishers": "sonar/range,cmd_vel,wheel_cmd",
        },
    )
    procs.node(
        "edgebot_firmata",
        "firmata_node",
        params={"port": str(link), "pin_map": str(pin_map), "use_sim_time": True},
    )
    procs.node(
        "edgebot_control",
        "base_controller",
        "--params-file",
        control,
        params={"use_sim_time": True},
    )
    procs.node(
        "edgebot_control", "safety_monitor", "--params-file", control, params={"use_sim_time": True}
    )

    truth = ros.collect(Odometry, "sim/ground_truth", qos.RELIABLE)
    status = ros.collect(String, "sim/status", qos.LATCHED)
    wait_for(
        lambda: status and json.loads(status[-1].data)["holding"] is None and len(truth) > 5,
        120,
        interval=0.2,
        what="the simulator's start gate",
    )
    x0 = truth[-1].pose.pose.position.x
    assert x0 < -1.4

    pub = ros.publisher(Twist, "teleop/cmd_vel", qos.COMMANDS)
    ros.wait_subscribers(pub, 1, timeout=30)
    cmd = Twist()
    cmd.linear.x = 0.25
    moved = []

    def stopped_at_the_wall():
        assert sim.running(), sim.output()[-3000:]
        pub.publish(cmd)  # keeps driving forward, as a careless operator would
        x = truth[-1].pose.pose.position.x
        v = truth[-1].twist.twist.linear.x
        if x > x0 + 0.5:
            moved.append(x)
        return moved and abs(v) < 0.01 and x > x0 + 0.5

    wait_for(stopped_at_the_wall, 90, interval=0.05, what="the rover to drive up and stop")
    # keep pushing for a while: it must stay stopped, clear of the wall
    x_stop = truth[-1].pose.pose.position.x
    for _ in range(40):
        pub.publish(cmd)
        time.sleep(0.05)
    n = len(status)
    wait_for(lambda: len(status) > n, 10, what="a fresh status")
    st = json.loads(status[-1].data)
    clearance = st["min_obstacle_clearance"]
    assert clearance is not None and clearance > 0.02, st
    assert st["contact"] is False
    # it did approach: the front bumper (x + 0.12) got within half a metre of the wall face
    assert truth[-1].pose.pose.position.x + 0.12 > -0.1 - 0.5
    assert abs(truth[-1].twist.twist.linear.x) < 0.02
    assert abs(truth[-1].pose.pose.position.x - x_stop) < 0.03
    print(f"stopped at x={x_stop:.3f}, min clearance {clearance:.3f} m")
